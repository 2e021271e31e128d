"""Operations the in-process emulator (moto) does not implement, found by asking it, answered empty.

The demo account and the tests that scan it run against moto, which does not emulate every call a
scan makes. Which calls those are changes from one moto release to the next, so it is never written
down here: the first time a scan client makes an operation, the emulator itself is asked, and its
own markers of a missing emulation decide:

- no emulated endpoint answers the URL at all (moto lets the request through to the network);
- moto answers HTTP 404 with the body ``Not yet implemented`` (no backend pattern matched);
- moto raises ``NotImplementedError`` (the service is emulated, the action is not).

Such an operation is answered with an empty, valid response built from botocore's output shape (each
list and map member present and empty), and recorded in :data:`EMULATOR_GAPS`, so that the demo can
say which answers it made up and tests can leave the verdicts that depend on them out of any
comparison. Nothing here is ever installed on a scan of a live account: the hook answers nothing
unless moto's in-process mock is active or the endpoint is a moto_server on loopback (asked through
the same moto package, in process, at the AWS address), and a live scan does not install it (there,
a 404 keeps its meaning: the service is unavailable).

Asking costs one extra dispatch of an implemented operation, the first time it is seen in the
process; the scan's calls are read-only, so that dispatch changes nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

NOT_IMPLEMENTED_BODY = "Not yet implemented"


class EmulatorGaps:
    """What the emulator answered for each (service, operation) asked so far, and which were made up."""

    def __init__(self) -> None:
        self._decided: dict[tuple[str, str], bool] = {}
        self._answered: set[str] = set()
        self._lock = threading.Lock()

    @property
    def answered(self) -> frozenset[str]:
        """Operations ('service:Operation') this process answered with a made-up empty response."""
        with self._lock:
            return frozenset(self._answered)

    def is_gap(self, service: str, operation: str, request_dict: Mapping[str, Any]) -> bool:
        """Whether moto lacks the operation, asking it once per (service, operation)."""
        key = (service, operation)
        with self._lock:
            known = self._decided.get(key)
        if known is None:
            known = ask_emulator(request_dict)
            with self._lock:
                self._decided[key] = known
        return known

    def hook(self, client: Any, service: str) -> None:
        """A scan client hook (``client_hooks``): answer the emulator's gaps before the request is sent."""
        service_id = client.meta.service_model.service_id.hyphenize()
        client.meta.events.register_first(f"before-call.{service_id}", self._before_call)

    def _before_call(
        self, model: Any, params: Mapping[str, Any], context: Mapping[str, Any] | None = None, **_: Any
    ) -> tuple[Any, dict[str, Any]] | None:
        url = str(params.get("url", ""))
        if emulator_active():
            asked = params
        elif _on_loopback(url):  # moto_server on this machine: ask the same moto, in process, at AWS's address
            region = (context or {}).get("client_region") or "us-east-1"
            asked = {**params, "url": _aws_url(url, model.service_model.endpoint_prefix, region)}
        else:
            return None  # a live account: nothing is made up
        service = model.service_model.service_name
        if not self.is_gap(service, model.name, asked):
            return None
        with self._lock:
            self._answered.add(f"{model.service_model.signing_name}:{model.name}")
        return _empty_response(str(params.get("url", ""))), empty_result(model.output_shape)


def emulator_active() -> bool:
    try:
        from moto.core.models import botocore_stubber
    except ImportError:
        return False
    return bool(botocore_stubber.enabled)


def _on_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host == "localhost" or host == "::1" or host.startswith("127.")


def _aws_url(url: str, endpoint_prefix: str, region: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(("https", f"{endpoint_prefix}.{region}.amazonaws.com", parts.path, parts.query, ""))


def ask_emulator(request_dict: Mapping[str, Any]) -> bool:
    """True when moto has no emulation for this request (its own markers, see the module docstring)."""
    from botocore.awsrequest import create_request_object
    from moto.core.models import botocore_stubber

    request = create_request_object(dict(request_dict)).prepare()
    try:
        answer = botocore_stubber.process_request(request)
    except NotImplementedError:
        return True
    except Exception:  # noqa: BLE001 - any other failure is the emulator's answer, given on the real call
        return False
    if answer is None:
        return True
    status, _, body = answer
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    return bool(status == 404 and body == NOT_IMPLEMENTED_BODY)


def empty_result(shape: Any) -> dict[str, Any]:
    """A parsed response with every list and map member of the output shape present and empty."""
    out: dict[str, Any] = {}
    for name, member in (shape.members.items() if shape is not None else ()):
        if member.serialization.get("location") in ("header", "headers", "statusCode"):
            continue
        if member.type_name == "list":
            out[name] = []
        elif member.type_name == "map":
            out[name] = {}
    out["ResponseMetadata"] = {"HTTPStatusCode": 200, "HTTPHeaders": {}, "RetryAttempts": 0}
    return out


def _empty_response(url: str) -> Any:
    from botocore.awsrequest import AWSResponse

    return AWSResponse(url, 200, {}, _Raw(b""))


class _Raw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


def probe_findings_on_gaps(findings: Iterable[Any], gaps: Iterable[str]) -> set[str]:
    """Rule ids of the service-probe findings whose only evidence is a made-up answer (left out of comparisons)."""
    made_up = set(gaps)
    out: set[str] = set()
    for finding in findings:
        attributes = ((getattr(finding, "context", None) or {}).get("attributes")) or {}
        if getattr(finding, "resource_type", None) == "service.probe" and attributes.get("operation") in made_up:
            out.add(finding.rule_id)
    return out


EMULATOR_GAPS = EmulatorGaps()
