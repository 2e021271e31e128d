"""Derived facts computed from a snapshot before evaluation (pure functions, no I/O)."""

from auditor.derive.topology import derive

__all__ = ["derive"]
