"""Fault injection shared by the reliability suites: one botocore operation answers badly.

Kinds: `deny` (AccessDenied in the protocol's own error shape), `throttle` (persistent throttling),
`timeout` (a read timeout raised where the HTTP request would be sent) and `malformed` (a 200 whose
body botocore cannot parse: XML protocols raise a parser error, JSON protocols read it as an object
missing every field, so it also stands for "a required field is missing").
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError

KINDS = ("deny", "throttle", "timeout", "malformed")
XML_PROTOCOLS = ("query", "ec2", "rest-xml")


class _Raw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


def _error(protocol: str, service: str, url: str, kind: str, message: str) -> AWSResponse:
    if kind == "deny":
        code, status = {"ec2": ("UnauthorizedOperation", 403)}.get(service, ("AccessDenied", 403))
        if protocol in ("json", "rest-json"):
            code, status = "AccessDeniedException", 400
    else:
        code, status = {
            "s3": ("SlowDown", 503),
            "s3control": ("SlowDown", 503),
            "ec2": ("RequestLimitExceeded", 503),
        }.get(service, ("Throttling", 400))
        if protocol in ("json", "rest-json"):
            code = "ThrottlingException"
    if protocol == "ec2":
        body = (
            f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
            "<RequestID>1</RequestID></Response>"
        )
        return AWSResponse(url, status, {"Content-Type": "text/xml"}, _Raw(body.encode()))
    if protocol == "rest-xml":
        body = f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>1</RequestId></Error>"
        return AWSResponse(url, status, {"Content-Type": "application/xml"}, _Raw(body.encode()))
    if protocol == "query":
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            "<RequestId>1</RequestId></ErrorResponse>"
        )
        return AWSResponse(url, status, {"Content-Type": "text/xml"}, _Raw(body.encode()))
    payload = json.dumps({"__type": code, "message": message}).encode()
    headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code}
    return AWSResponse(url, status, headers, _Raw(payload))


def _malformed(protocol: str, url: str) -> AWSResponse:
    if protocol in XML_PROTOCOLS:
        return AWSResponse(url, 200, {"Content-Type": "text/xml"}, _Raw(b"<?xml version='1.0'?><Truncated"))
    return AWSResponse(url, 200, {"Content-Type": "application/x-amz-json-1.1"}, _Raw(b'{"truncated": '))


class Fault:
    """A client hook making one service:Operation fail with `kind` on every request."""

    def __init__(self, service: str, operation: str, kind: str, message: str = "injected fault"):
        assert kind in KINDS, kind
        self.service, self.operation, self.kind, self.message = service, operation, kind, message
        self.sent = 0
        self._lock = threading.Lock()

    @property
    def key(self) -> str:
        return f"{self.service}:{self.operation}"

    def __call__(self, client: Any, service: str) -> None:
        if service != self.service:
            return
        model = client.meta.service_model
        protocol = str(model.protocol)
        event = f"before-send.{model.service_id.hyphenize()}.{self.operation}"

        def answer(request: Any, **_: Any) -> AWSResponse:
            with self._lock:
                self.sent += 1
            if self.kind == "timeout":
                raise ReadTimeoutError(endpoint_url=request.url)
            if self.kind == "malformed":
                return _malformed(protocol, request.url)
            return _error(protocol, self.service, request.url, self.kind, self.message)

        client.meta.events.register_first(event, answer)
