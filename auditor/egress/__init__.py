"""The egress probe: connect to every required endpoint (auditor/allowlist) from this host."""
