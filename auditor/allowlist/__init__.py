"""The egress allowlist's data model, below both of its users: the required endpoints (endpoints.yaml merged with
the configuration's egress section, endpoints.py) and the firewall decisions over them (decisions.py). The
derivation of egress.vpc_allowlist (auditor/derive/egress.py) and the live probe (auditor/egress) read it."""
