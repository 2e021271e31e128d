"""The retry budget: how long one API call may keep retrying, and how long the scan waited.

botocore decides whether a failed attempt is retried and how long to sleep first (its standard
conditions: throttling codes, 5xx, transient codes, connection errors), and, in adaptive mode, its
client-side rate limiter spaces the requests of a client that was throttled. Alone it would retry
a 500 that never goes away as often as a throttle, with the same growing back-off: tens of seconds
per operation. This module replaces the decision (the `needs-retry` handler botocore registers for
the client's retry mode) with one that keeps botocore's conditions and back-off but bounds them:

- server errors and failed connections: at most `error_attempts` attempts and `error_seconds`
  seconds for one call, attempts included;
- throttling: more patience, still bounded: `throttle_attempts` attempts and `throttle_seconds`;
- once a call of an operation (in a region) has used up its budget, further calls of that operation
  are not retried until one of them answers: a persistent failure costs the scan one budget per
  operation, not one per call.

A call that gives up carries a note (in the response metadata, or on the exception) that
`classify` appends to the failure's message, so the finding says the retry budget ran out.
Every sleep is accounted per operation (back-off, and the adaptive rate limiter's waits), for the
scan's summary.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.retries import standard

NOTE_KEY = "CcmeRetryBudget"  # in ResponseMetadata of the final failed response
NOTE_ATTR = "ccme_retry_budget"  # on the exception of a call that got no response
_STARTED = "ccme_retry_started"
RATE_LIMIT_NOISE = 0.02  # shorter stalls in before-send are thread scheduling, not the rate limiter


@dataclass(frozen=True)
class RetryPolicy:
    """The limits; every field is settable in the config file's `retry:` section or with --set."""

    error_attempts: int = 3
    error_seconds: float = 4.0
    throttle_attempts: int = 8
    throttle_seconds: float = 20.0
    connect_timeout: float = 5.0
    read_timeout: float = 30.0

    @classmethod
    def from_config(cls, data: Mapping[str, Any] | None) -> RetryPolicy:
        values = dict(data or {})
        return cls(
            error_attempts=int(values.get("error_attempts", cls.error_attempts)),
            error_seconds=float(values.get("error_seconds", cls.error_seconds)),
            throttle_attempts=int(values.get("throttle_attempts", cls.throttle_attempts)),
            throttle_seconds=float(values.get("throttle_seconds", cls.throttle_seconds)),
            connect_timeout=float(values.get("connect_timeout", cls.connect_timeout)),
            read_timeout=float(values.get("read_timeout", cls.read_timeout)),
        )

    def limits(self, throttled: bool) -> tuple[int, float, str]:
        if throttled:
            return self.throttle_attempts, self.throttle_seconds, "throttling (retry.throttle_seconds)"
        return self.error_attempts, self.error_seconds, "server errors and failed connections (retry.error_seconds)"


@dataclass
class OperationWait:
    """What one operation (in one region) cost in waiting."""

    retries: int = 0
    throttled: int = 0
    seconds: float = 0.0
    gave_up: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "retries": self.retries,
            "throttled": self.throttled,
            "seconds": round(self.seconds, 3),
            "gave_up": self.gave_up,
        }


class RetryBudget:
    """One per scan: attach() to every client the scan builds."""

    def __init__(self, policy: RetryPolicy | None = None, *, max_attempts: int | None = None):
        self.policy = policy or RetryPolicy()
        # The caller's cap on attempts (botocore's total_max_attempts), on top of the policy's.
        self.max_attempts = max_attempts
        self.waits: dict[tuple[str, str], OperationWait] = {}
        self._spent: set[tuple[str, str]] = set()  # operations whose budget ran out, until one answers
        self._lock = threading.Lock()
        self._local = threading.local()
        self._adapter = standard.RetryEventAdapter()
        self._conditions = standard.StandardRetryConditions(max_attempts=1 << 30)
        self._throttling = standard.ThrottlingErrorDetector(self._adapter)

    # --- wiring ------------------------------------------------------------------------------

    def attach(self, client: Any, service: str, region: str) -> None:
        """Replace botocore's retry decision on `client`; call right after the client is built."""
        events = client.meta.events
        event_id = client.meta.service_model.service_id.hyphenize()
        events.unregister(f"needs-retry.{event_id}", unique_id=f"retry-config-{event_id}")
        backoff = standard.ExponentialBackoff(service_name=event_id, throttling_detector=self._throttling)
        total = client.meta.config.retries.get("total_max_attempts")
        cap = min(x for x in (self.max_attempts, total) if x is not None) if (self.max_attempts or total) else None

        def needs_retry(**kwargs: Any) -> float | None:
            return self._needs_retry(service, region, backoff, cap, kwargs)

        def started(context: dict[str, Any], model: Any, **_: Any) -> None:
            context[_STARTED] = time.monotonic()
            self._local.operation = model.name  # the whole call runs in this thread

        def answered(http_response: Any, model: Any, **_: Any) -> None:
            if http_response is not None and http_response.status_code < 300:
                with self._lock:
                    self._spent.discard((f"{service}:{model.name}", region))

        def send_started(**_: Any) -> None:
            self._local.sent = time.monotonic()

        def send_cleared(**_: Any) -> None:
            # The time botocore's own before-send handlers took: the adaptive rate limiter's wait
            # (the token bucket blocks the thread once the client has been throttled).
            began = getattr(self._local, "sent", None)
            if began is None:
                return
            waited = time.monotonic() - began
            if waited >= RATE_LIMIT_NOISE:
                self._add(f"{service}:{getattr(self._local, 'operation', '?')}", region, seconds=waited)

        events.register(f"needs-retry.{event_id}", needs_retry, unique_id=f"ccme-retry-budget-{event_id}")
        events.register_first(f"before-call.{event_id}", started)
        events.register(f"after-call.{event_id}", answered)
        events.register_first("before-send", send_started)
        events.register("before-send", send_cleared)  # after the rate limiter (registered with the client)

    # --- the decision ------------------------------------------------------------------------

    def _needs_retry(
        self, service: str, region: str, backoff: Any, cap: int | None, kwargs: dict[str, Any]
    ) -> float | None:
        context = self._adapter.create_retry_context(**kwargs)
        if not self._conditions.is_retryable(context):
            return None
        key = (f"{service}:{context.operation_model.name}", region)
        throttled = bool(self._throttling.is_throttling_error_from_context(context))
        attempts_limit, seconds_limit, what = self.policy.limits(throttled)
        if cap is not None:
            attempts_limit = min(attempts_limit, cap)
        attempt = int(context.attempt_number)
        started = float(context.request_context.get(_STARTED) or time.monotonic())
        elapsed = time.monotonic() - started
        delay = max(0.0, float(backoff.delay_amount(context)))
        with self._lock:
            spent = key in self._spent
        reason = None
        if spent:
            reason = (f"not retried: the retry budget for {what} of this operation ran out on an earlier call "
                      "and it has not answered since")
        elif attempt >= attempts_limit or elapsed + delay > seconds_limit:
            reason = (f"gave up after {attempt} attempt{'s' if attempt != 1 else ''} in {elapsed:.1f} s: "
                      f"the retry budget for {what}, {attempts_limit} attempts or {seconds_limit:g} s a call, "
                      "ran out")
        if reason is not None:
            with self._lock:
                self._spent.add(key)
            self._add(*key, gave_up=1)
            self._note(context, kwargs, reason)
            return None
        self._add(*key, seconds=delay, retries=1, throttled=int(throttled))
        return delay

    @staticmethod
    def _note(context: Any, kwargs: dict[str, Any], reason: str) -> None:
        if context.parsed_response is not None:
            context.parsed_response.setdefault("ResponseMetadata", {})[NOTE_KEY] = reason
        exc = kwargs.get("caught_exception")
        if exc is not None:
            setattr(exc, NOTE_ATTR, reason)  # botocore's exceptions are plain classes

    def _add(self, operation: str, region: str, *, seconds: float = 0.0, retries: int = 0, throttled: int = 0,
             gave_up: int = 0) -> None:
        with self._lock:
            wait = self.waits.setdefault((operation, region), OperationWait())
            wait.seconds += seconds
            wait.retries += retries
            wait.throttled += throttled
            wait.gave_up += gave_up

    # --- the summary -------------------------------------------------------------------------

    def total_seconds(self) -> float:
        with self._lock:
            return sum(w.seconds for w in self.waits.values())

    def summary(self) -> dict[str, Any]:
        """The scan's waiting, for the snapshot and the reports (operations by time waited)."""
        with self._lock:
            rows = sorted(self.waits.items(), key=lambda kv: (-kv[1].seconds, kv[0]))
            return {
                "wait_seconds": round(sum(w.seconds for _, w in rows), 3),
                "operations": [{"operation": op, "region": region, **w.to_json()} for (op, region), w in rows],
            }


def note(exc: Exception) -> str | None:
    """The retry budget's note on a failed call, if it gave up on the budget."""
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        meta = response.get("ResponseMetadata") or {}
        if isinstance(meta, Mapping) and meta.get(NOTE_KEY):
            return str(meta[NOTE_KEY])
    value = getattr(exc, NOTE_ATTR, None)
    return str(value) if value else None
