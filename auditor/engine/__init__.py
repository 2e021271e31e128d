"""The rule engine: pure evaluation of rule packs over a canonical snapshot."""
