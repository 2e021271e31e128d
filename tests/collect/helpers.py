"""Shared helpers for the collector tests: moto accounts, fault injection, scans."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from auditor.collect.runner import scan
from auditor.config import load_config
from auditor.demo.run import offline_guard

REGION = "eu-west-1"
FAKE = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
}


@contextmanager
def fake_env() -> Iterator[None]:
    """Fake credentials, no endpoint override (it would also redirect in-process moto)."""
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("AWS_ENDPOINT_URL") or key in ("AWS_PROFILE", "AWS_CONFIG_FILE"):
                mp.delenv(key)
        for key, value in FAKE.items():
            mp.setenv(key, value)
        yield


@contextmanager
def moto_account() -> Iterator[boto3.Session]:
    from moto import mock_aws

    with fake_env(), mock_aws():
        yield boto3.Session(region_name=REGION)


def config(sets: dict[str, Any] | None = None) -> Any:
    """The audit configuration from defaults plus `sets` (never ./ccme-audit.yaml)."""
    return load_config(Path(os.devnull), list((sets or {}).items()))


class _Raw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


def error_response(service: str, url: str, code: str, status: int, message: str) -> AWSResponse:
    if service in ("s3", "s3control"):
        body = f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>1</RequestId></Error>"
        return AWSResponse(url, status, {"Content-Type": "application/xml"}, _Raw(body.encode()))
    payload = json.dumps({"__type": code, "message": message}).encode()
    return AWSResponse(url, status, {"Content-Type": "application/x-amz-json-1.1"}, _Raw(payload))


THROTTLE = {"s3": ("SlowDown", 503), "s3control": ("SlowDown", 503)}
DENY = {"s3": ("AccessDenied", 403), "s3control": ("AccessDenied", 403)}


class Injector:
    """A client hook answering one operation with an error, always or for its first `times` requests."""

    def __init__(self, service: str, operation: str, kind: str, times: int | None = None, message: str = "injected"):
        self.service, self.operation, self.kind, self.times, self.message = (
            service,
            operation,
            kind,
            times,
            message,
        )
        self.sent = 0
        self._lock = threading.Lock()

    def __call__(self, client: Any, service: str) -> None:
        if service != self.service:
            return
        event = f"before-send.{client.meta.service_model.service_id.hyphenize()}.{self.operation}"
        client.meta.events.register_first(event, self._answer)

    def _answer(self, request: Any, **_: Any) -> AWSResponse | None:
        with self._lock:
            self.sent += 1
            if self.times is not None and self.sent > self.times:
                return None
        if self.kind == "deny":
            code, status = DENY.get(self.service, ("AccessDeniedException", 400))
        else:
            code, status = THROTTLE.get(self.service, ("ThrottlingException", 400))
        return error_response(self.service, request.url, code, status, self.message)


def run_scan(session: boto3.Session, cfg: Any, rules: Any = (), **kwargs: Any) -> Any:
    """A scan in-process; a request moto does not handle is refused, never sent to the network."""
    kwargs.setdefault("progress", False)
    kwargs["client_hooks"] = [*kwargs.get("client_hooks", ()), offline_guard]
    return scan(cfg, rules, session=session, **kwargs)
