"""Egress allowlist: required endpoints as data, the probe."""
