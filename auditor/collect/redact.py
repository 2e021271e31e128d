"""Keep secret values out of botocore's debug log.

botocore logs every response body at DEBUG (`botocore.parsers`: "Response body: ..."). With DEBUG on
(a root logger at DEBUG, `boto3.set_stream_logger`, a Lambda at log level DEBUG), the answer to
GetSecretValue (with --read-secret-values), or ListFunctions' environment variables, would be written to
the log in clear. The secret canary test (tests/reliability/test_secret_canary.py) found exactly that.

`withhold_sensitive_bodies(client)`: before a response is parsed, the client marks the current thread
when the operation's output shape holds a member the service model flags `sensitive` (SecretString,
SecretBinary, Lambda environment variable values, SSM parameter values, ...); a filter on the
`botocore.parsers` logger then replaces that one body with its size. Parsing happens on the thread
that made the call, right after `before-parse`, so the mark is exact per call; other bodies are logged
unchanged.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

PARSER_LOGGER = "botocore.parsers"
_state = threading.local()
_cache: dict[tuple[str, str], bool] = {}
_install_lock = threading.Lock()


def holds_sensitive(shape: Any, seen: set[str] | None = None) -> bool:
    """Whether a botocore shape, or any shape nested in it, carries the `sensitive` trait."""
    if shape is None:
        return False
    seen = set() if seen is None else seen
    if shape.name in seen:
        return False
    seen.add(shape.name)
    if shape.metadata.get("sensitive"):
        return True
    kind = shape.type_name
    if kind == "structure":
        return any(holds_sensitive(member, seen) for member in shape.members.values())
    if kind == "list":
        return holds_sensitive(shape.member, seen)
    if kind == "map":
        return holds_sensitive(shape.key, seen) or holds_sensitive(shape.value, seen)
    return False


def sensitive_output(operation_model: Any) -> bool:
    key = (operation_model.service_model.service_name, operation_model.name)
    if key not in _cache:
        _cache[key] = holds_sensitive(operation_model.output_shape)
    return _cache[key]


class WithholdSensitiveBodies(logging.Filter):
    """Replaces the "Response body" record of a call marked sensitive with the body's size."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(_state, "operation", None) or not str(record.msg).startswith("Response body"):
            return True
        body = record.args[0] if isinstance(record.args, tuple) and record.args else b""
        size = len(body) if isinstance(body, bytes | str) else 0
        record.msg = "Response body withheld: the %s answer may hold a secret value (%d bytes)"
        record.args = (_state.operation, size)
        _state.operation = None
        return True


_FILTER = WithholdSensitiveBodies()


def install() -> None:
    """Attach the filter to botocore's parser logger (once)."""
    logger = logging.getLogger(PARSER_LOGGER)
    with _install_lock:
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def withhold_sensitive_bodies(client: Any) -> Any:
    """Register the per-call mark on this client and make sure the log filter is installed."""
    install()

    def mark(operation_model: Any, **_: Any) -> None:
        _state.operation = operation_model.name if sensitive_output(operation_model) else None

    client.meta.events.register_first("before-parse", mark)
    return client
