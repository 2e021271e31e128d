"""`ccme-audit demo`: an in-process moto account, seeded, then scanned by the real scan code path."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from auditor.demo.gaps import EMULATOR_GAPS
from auditor.errors import InputError

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
}
@contextmanager
def offline_account(region: str) -> Iterator[Any]:
    """A moto account in this process: fake credentials, no endpoint override, no network."""
    try:
        from moto import mock_aws
    except ImportError:
        raise InputError("the demo needs moto", place="ccme-audit demo", fix="pip install 'ccme-audit[demo]'") from None
    import boto3

    saved = {k: os.environ.get(k) for k in (*FAKE_CREDENTIALS, "AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_DEFAULT_REGION")}
    for key in list(os.environ):
        if key.startswith("AWS_ENDPOINT_URL"):
            saved.setdefault(key, os.environ[key])
            del os.environ[key]
    os.environ.pop("AWS_PROFILE", None)
    os.environ.update(FAKE_CREDENTIALS)
    os.environ["AWS_DEFAULT_REGION"] = region
    try:
        with mock_aws():
            yield boto3.Session(region_name=region)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _stub_not_mocked(client: Any, service: str) -> None:
    """Answer the operations moto does not implement with an empty response (asked of moto, see auditor.demo.gaps)."""
    EMULATOR_GAPS.hook(client, service)


def offline_guard(client: Any, service: str) -> None:
    """Answer any request the in-process moto does not handle with an error, never the network."""
    from botocore.awsrequest import AWSResponse

    protocol = client.meta.service_model.protocol

    def refuse(request: Any, **_: Any) -> AWSResponse:
        message = f"{service} is not implemented by moto; the demo never reaches the network"
        if protocol in ("json", "rest-json"):
            body = json.dumps({"__type": "NotImplemented", "message": message}).encode()
            headers = {"Content-Type": "application/x-amz-json-1.1"}
        else:
            body = (
                f"<ErrorResponse><Error><Code>NotImplemented</Code><Message>{message}</Message></Error></ErrorResponse>"
            ).encode()
            headers = {"Content-Type": "text/xml"}
        return AWSResponse(request.url, 501, headers, _Raw(body))

    client.meta.events.register_last("before-send", refuse)


class _Raw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


def run_demo(
    *,
    packs: Sequence[str] | None,
    output_dir: Path,
    formats: Sequence[str] | None,
    region: str,
    stats: bool = False,
) -> bool:
    """Seed, scan, report; True when the scan found exactly the planted faults (the demo is a self-test)."""
    from auditor.app.pipeline import collect, evaluate, report
    from auditor.config import load_config
    from auditor.demo.account import ADVISORIES, FAULT_RULES, FAULTS, seed_ccme_account
    from auditor.engine.rules import load_rules
    from auditor.report import Format, parse_formats, render

    chosen = parse_formats(formats or [f.value for f in Format])  # every format
    hooks: list[Any] = [_stub_not_mocked, offline_guard]
    faults: dict[str, str] = FAULTS
    planted = {rule for rules_of in FAULT_RULES.values() for rule in rules_of}
    advisories: dict[str, str] = dict(ADVISORIES)
    with offline_account(region) as session:
        if list(packs or []) == ["bbp"]:  # the seed 003 provisioner account (auditor/demo/bbp.py)
            from auditor.demo.bbp import IMPLIED, seed_bbp_account, stub_associations

            sys.stderr.write(f"demo: seeding a ParallelCluster provisioner account in moto ({region})...\n")
            provisioner = seed_bbp_account(session, region, faults=True)
            overrides: list[tuple[str, Any]] = provisioner.config_overrides()
            hooks.insert(0, stub_associations(provisioner.associations))
            faults = provisioner.faults
            planted = set(faults) | set(IMPLIED)  # and the rules the planted faults make fail too
            advisories = {}
        else:
            sys.stderr.write(f"demo: seeding a CCME environment in an in-process moto account ({region})...\n")
            overrides = seed_ccme_account(session, region, faults=True).config_overrides()
        if packs:
            overrides.append(("packs", list(packs)))
        config = load_config(Path(os.devnull), overrides)
        rules = load_rules(None, config.packs)
        result = collect(config, rules, session=session, client_hooks=hooks, progress=False)
    if stats:
        sys.stderr.write("\n".join(result.stats.lines()) + "\n")
    evaluation = evaluate(result.snapshot, rules, config)
    result.snapshot.dump(Path(output_dir) / "snapshot.json")
    written = report(evaluation, chosen, output_dir=Path(output_dir))
    sys.stdout.write(render(evaluation, Format.TEXT, color=sys.stdout.isatty() and not os.environ.get("NO_COLOR")))
    sys.stdout.write("\nplanted faults:\n" + "".join(f"  - {text}\n" for text in faults.values()))
    selected = {rule.id for rule in rules}
    shown = {rule: text for rule, text in advisories.items() if rule in selected}
    if shown:
        sys.stdout.write("expected from the seed itself:\n" + "".join(f"  - {t}\n" for t in shown.values()))
    stubbed = sorted(EMULATOR_GAPS.answered)
    if stubbed:
        gaps = ", ".join(stubbed)
        sys.stdout.write(f"(moto does not implement {gaps}: the demo answered them with an empty response)\n")
    sys.stdout.write("reports: " + ", ".join(str(p) for p in [Path(output_dir) / "snapshot.json", *written]) + "\n")
    return self_test(evaluation, planted, set(shown))


def self_test(evaluation: Any, planted: set[str], advisories: set[str] | None = None) -> bool:
    """One line on stdout: did the scan find exactly the planted faults (of the rules selected) and the advisories
    the seed's own documents draw, and no ERROR?"""
    from auditor.engine.findings import Status

    selected = {rule.id for rule in evaluation.rules}
    advisories = advisories or set()
    expected = (planted | advisories) & selected
    failed = {f.rule_id for f in evaluation.findings if f.status is Status.FAIL}
    errors = sorted({f.rule_id for f in evaluation.findings if f.status is Status.ERROR})
    missed, unexpected = sorted(expected - failed), sorted(failed - expected)
    if not (missed or unexpected or errors):
        drawn = len(advisories & selected)
        told = {0: "", 1: " and the advisory the seed draws"}.get(drawn, f" and the {drawn} advisories the seed draws")
        sys.stdout.write(f"self-test: passed: the scan found exactly the {len(expected - advisories)} rules the "
                         f"planted faults fail{told}, and no error (exit 0)\n")
        return True
    parts = [f"{label}: {', '.join(ids)}" for label, ids in
             (("missed", missed), ("unexpected FAIL", unexpected), ("ERROR", errors)) if ids]
    sys.stdout.write("self-test: FAILED: " + "; ".join(parts) + " (exit 1)\n")
    return False


def seed_endpoint(url: str, region: str, output_dir: Path) -> Path:
    """Seed the demo's CCME environment (planted faults included) into the emulator at `url` (moto_server), and
    write the configuration a scan of it needs to output_dir/ccme-audit.yaml. Fake credentials unless some are
    set. Returns the configuration file."""
    import boto3
    import yaml

    from auditor.demo.account import seed_ccme_account
    from auditor.fileio import write_text_atomic

    os.environ["AWS_ENDPOINT_URL"] = url
    for key, value in FAKE_CREDENTIALS.items():
        if key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            os.environ.setdefault(key, value)
    from auditor.collect.runner import local_s3control

    session = boto3.Session(region_name=region)
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = local_s3control(session.client(service, region_name=region))
        return clients[service]

    sys.stderr.write(f"demo: seeding a CCME environment into {url} ({region})...\n")
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        seeded = seed_ccme_account(client, region, faults=True)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise InputError(f"the emulator refused {exc.operation_name}: {error.get('Code')}: {error.get('Message')}",
                         place="--seed-into", fix="seed a fresh emulator (restart moto_server)") from None
    except BotoCoreError as exc:
        raise InputError(f"cannot seed {url}: {exc}", place="--seed-into",
                         fix="start the emulator first: moto_server -p PORT") from None
    data: dict[str, Any] = {}
    for dotted, value in seeded.config_overrides():
        *parents, leaf = dotted.split(".")
        node = data
        for name in parents:
            node = node.setdefault(name, {})
        node[leaf] = value
    data["account"] = seeded.account
    path = Path(output_dir) / "ccme-audit.yaml"
    write_text_atomic(path, "# The configuration of the demo environment seeded into " + url + "\n"
                      + yaml.safe_dump(data, sort_keys=False))
    return path
