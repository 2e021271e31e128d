"""Coverage of the seed documents: the requirement list (requirements.yaml) and docs/coverage.md."""
