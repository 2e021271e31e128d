"""A machine-readable record of the reliability suites' cases, for bench/reliability.py.

When CCME_RELIABILITY_RECORD names a file, each recorded case appends one JSON line to it (whole lines,
under a lock: the suites may run cases on threads); otherwise recording does nothing. The tests' own
assertions never depend on it.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

ENV = "CCME_RELIABILITY_RECORD"
_lock = threading.Lock()


def enabled() -> bool:
    return bool(os.environ.get(ENV))


def record(suite: str, **data: Any) -> None:
    path = os.environ.get(ENV)
    if not path:
        return
    line = json.dumps({"suite": suite, **data}, default=str, sort_keys=True) + "\n"
    with _lock, open(path, "a", encoding="utf-8") as handle:
        handle.write(line)
