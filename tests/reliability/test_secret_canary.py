"""The secret canary: a recognisable secret planted in the emulated account never reaches any output or log.

A random `CANARY-<hex>` is planted (in-process moto, fake credentials) wherever the demo accounts keep
secret values: the CCME directory secret's SecretString, an SSM SecureString parameter, a Lambda
environment variable, the bbp Slurm database secret's password and the ED25519 key pair's private key
material stored in Secrets Manager. Then every door that can see the account runs with logging at DEBUG
(the root logger through caplog, and botocore's own stream logger, which logs every response body):
`scan` (ccme and bbp packs, every --format into --output-dir, --snapshot-out, --stats), `collect --out`,
`evaluate`, `report` and `remediate` (sh, CloudFormation, Terraform) from what the scan wrote, and the
Lambda handler (its S3 objects, SNS notification and stdout). Every file written, stdout, stderr, the
log records and the botocore stream are searched for the canary: raw (its alphabet makes the JSON-,
XML-, HTML-, URL- and repr-escaped forms the same bytes), base64 (both alphabets, every alignment) and
hex. Without --read-secret-values (through `collect`, which shares scan's collection code),
GetSecretValue is never called; with it (through `scan` and the offline doors after it, and the Lambda),
GetSecretValue is called, the plaintext check runs and classifies the value, and the canary still
appears nowhere.

Controls, so the test can fail: the canary is readable back from the emulated account, botocore's
"Response body" records are captured for the other operations, and the detector finds every encoded
form embedded in surrounding bytes.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.collect.helpers import REGION, moto_account

CANARY = f"CANARY-{uuid.uuid4().hex}"
FORMATS = "text,json,html,junit,sarif,markdown"
SSM_PARAMETER = "/ccme/canary/directory-password"
CANARY_FUNCTION = "ccme-canary-function"


def needles(secret: str) -> list[bytes]:
    """Byte strings whose presence means the secret leaked: raw, hex, base64 at every alignment."""
    raw = secret.encode()
    out = {raw, raw.hex().encode(), raw.hex().upper().encode()}
    for pad in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * pad + raw)
            # Only the characters whose 6 bits all come from the secret, whatever surrounds it.
            first, last = -(-8 * pad // 6), (8 * (pad + len(raw))) // 6
            out.add(encoded[first:last])
    return sorted(out)


NEEDLES = needles(CANARY)


def leaks(data: bytes | str) -> list[str]:
    blob = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    return [n.decode() for n in NEEDLES if n in blob]


@dataclass
class Sink:
    """Everything a door produced: files, streams and log text, by label."""

    outputs: dict[str, bytes] = field(default_factory=dict)

    def add(self, label: str, data: bytes | str) -> None:
        blob = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
        self.outputs[label] = self.outputs.get(label, b"") + blob

    def add_tree(self, root: Path) -> None:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                self.add(str(path.relative_to(root)), path.read_bytes())

    def found(self) -> dict[str, list[str]]:
        return {label: hits for label, data in self.outputs.items() if (hits := leaks(data))}

    def verdict(self) -> None:
        """Fail naming where the canary was found and in which form, never quoting it."""
        found = self.found()
        if found:
            kinds = {label: len(hits) for label, hits in found.items()}
            pytest.fail(f"the canary leaked into {len(found)} outputs (label: forms found): {kinds}", pytrace=False)



class Capture:
    """Logging at DEBUG everywhere: the root logger (through caplog) and botocore's own stream logger."""

    def __init__(self, caplog: pytest.LogCaptureFixture):
        self.caplog = caplog
        self.stream = io.StringIO()

    @contextmanager
    def on(self) -> Iterator[None]:
        handler = logging.StreamHandler(self.stream)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s [%(levelname)s] %(message)s"))
        handler.setLevel(logging.DEBUG)
        botocore_log = logging.getLogger("botocore")
        previous = botocore_log.level
        botocore_log.addHandler(handler)  # what boto3.set_stream_logger("botocore", DEBUG) installs
        botocore_log.setLevel(logging.DEBUG)
        try:
            with self.caplog.at_level(logging.DEBUG):
                yield
        finally:
            botocore_log.removeHandler(handler)
            botocore_log.setLevel(previous)

    def into(self, sink: Sink) -> None:
        for record in self.caplog.records:
            sink.add(f"log {record.name}", record.getMessage() + (record.exc_text or ""))
        sink.add("caplog text", self.caplog.text)
        sink.add("botocore stream log", self.stream.getvalue())

    def response_bodies(self) -> int:
        return sum(1 for r in self.caplog.records if r.name == "botocore.parsers" and "Response body" in r.msg)


def nested(overrides: list[tuple[str, Any]]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for dotted, value in overrides:
        node = doc
        *parents, last = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return doc


def _config_file(path: Path, overrides: list[tuple[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump(nested(overrides)), encoding="utf-8")
    return path


def _plant_common(session: Any) -> None:
    """The SSM SecureString and a Lambda function with the canary in its environment."""
    session.client("ssm").put_parameter(Name=SSM_PARAMETER, Type="SecureString", Value=CANARY)
    iam = session.client("iam")
    role = iam.create_role(RoleName="ccme-canary-role", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    session.client("lambda").create_function(
        FunctionName=CANARY_FUNCTION, PackageType="Image", Role=role, Environment={"Variables": {"PASSWORD": CANARY}},
        Code={"ImageUri": f"123456789012.dkr.ecr.{REGION}.amazonaws.com/canary:v1"})


@dataclass
class World:
    session: Any
    overrides: list[tuple[str, Any]]
    hooks: list[Any]
    secrets: list[str]  # the secrets holding the canary; the first is the one the rules select


@contextmanager
def ccme_world() -> Iterator[World]:
    from auditor.demo.account import SECRET_NAME, seed_ccme_account
    from auditor.demo.run import _stub_not_mocked

    with moto_account() as session:
        seeded = seed_ccme_account(session, REGION, faults=True)
        session.client("secretsmanager").put_secret_value(SecretId=SECRET_NAME, SecretString=CANARY)
        _plant_common(session)
        yield World(session, seeded.config_overrides(), [_stub_not_mocked], [SECRET_NAME])


@contextmanager
def bbp_world() -> Iterator[World]:
    from auditor.demo.bbp import CLUSTER, DB_SECRET, FUNCTION, seed_bbp_account, stub_associations
    from auditor.demo.run import _stub_not_mocked

    with moto_account() as session:
        provisioner = seed_bbp_account(session, REGION, faults=True)
        sm = session.client("secretsmanager")
        key = f"-----BEGIN OPENSSH PRIVATE KEY-----\n{CANARY}\n-----END OPENSSH PRIVATE KEY-----\n"
        sm.put_secret_value(SecretId=CLUSTER, SecretString=key)
        sm.put_secret_value(SecretId=DB_SECRET, SecretString=json.dumps({"username": "slurm", "password": CANARY}))
        session.client("lambda").update_function_configuration(
            FunctionName=FUNCTION, Environment={"Variables": {"SLURM_DB_PASSWORD": CANARY}})
        _plant_common(session)
        # Both packs, the directory secret pointed at the key pair's private key: with the opt-in, the
        # plaintext check reads exactly the private key material.
        overrides = [*provisioner.config_overrides(), ("packs", ["bbp", "ccme"]), ("secret_name", CLUSTER)]
        yield World(session, overrides, [stub_associations(provisioner.associations), _stub_not_mocked],
                    [CLUSTER, DB_SECRET])


WORLDS = {"ccme": ccme_world, "bbp": bbp_world}


def _planted(world: World) -> None:
    """Control: the canary is really in the emulated account, where the doors can reach it."""
    sm = world.session.client("secretsmanager")
    for name in world.secrets:
        assert CANARY in sm.get_secret_value(SecretId=name)["SecretString"]
    ssm = world.session.client("ssm")
    assert ssm.get_parameter(Name=SSM_PARAMETER, WithDecryption=True)["Parameter"]["Value"] == CANARY
    functions = world.session.client("lambda").list_functions()["Functions"]
    assert any(CANARY in json.dumps(f.get("Environment") or {}) for f in functions)


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str], sink: Sink, label: str) -> int:
    from auditor.cli import main

    code = main(argv)
    out, err = capsys.readouterr()
    sink.add(f"{label} stdout", out)
    sink.add(f"{label} stderr", err)
    assert code in (0, 1), f"{label}: exit {code}: {err[-1000:]}"
    return code


def _patch_scan(mp: pytest.MonkeyPatch, world: World) -> None:
    import auditor.collect.runner as runner
    from auditor.demo.run import offline_guard

    real = runner.scan

    def scan(cfg: Any, rules: Any, **kwargs: Any) -> Any:
        return real(cfg, rules, **{**kwargs, "client_hooks": [*world.hooks, offline_guard], "progress": False})

    mp.setattr(runner, "scan", scan)


def _value_formats(snapshot_file: Path) -> dict[str, Any]:
    snapshot = json.loads(snapshot_file.read_text(encoding="utf-8"))
    return {r["attributes"]["name"]: r["attributes"]["value_format"] for r in snapshot["resources"]
            if r["type"] == "secretsmanager.secret"}


def _scan_doors(world: World, tmp: Path, capsys: pytest.CaptureFixture[str], capture: Capture, sink: Sink,
                read: bool) -> Path:
    """Without the opt-in: collect --out (--stats). With it: scan (every format, --snapshot-out, --stats),
    then evaluate, report and remediate (sh, CloudFormation, Terraform; to a file and to stdout) from what
    scan wrote. scan and collect share the collection code; each runs in the mode the other does not."""
    label = "read" if read else "metadata"
    opt_in = ["--read-secret-values"] if read else []
    cfg = str(_config_file(tmp / "ccme-audit.yaml", world.overrides))
    out = tmp / label
    with capture.on():
        if not read:
            _cli(["collect", "--config", cfg, "--stats", "--out", str(out / "snapshot.json")], capsys, sink,
                 f"{label} collect")
            stats = sink.outputs[f"{label} collect stderr"].decode()
            assert "secretsmanager:GetSecretValue" not in stats and "secretsmanager:ListSecrets" in stats, stats
            return out
        _cli(["scan", "--config", cfg, *opt_in, "--stats", "--format", FORMATS, "--output-dir", str(out / "scan"),
              "--snapshot-out", str(out / "snapshot.json")], capsys, sink, f"{label} scan")
        stats = sink.outputs[f"{label} scan stderr"].decode()
        assert "secretsmanager:GetSecretValue" in stats, stats  # the opt-in call is made
        _cli(["evaluate", str(out / "snapshot.json"), "--config", cfg, "--format", FORMATS, "--output-dir",
              str(out / "evaluate")], capsys, sink, f"{label} evaluate")
        _cli(["report", str(out / "scan" / "report.json"), "--format", FORMATS, "--output-dir", str(out / "report")],
             capsys, sink, f"{label} report")
        for kind in ("sh", "cloudformation", "terraform"):
            _cli(["remediate", str(out / "snapshot.json"), "--config", cfg, "-f", kind, "-o", str(out / f"fix.{kind}")],
                 capsys, sink, f"{label} remediate {kind}")
            _cli(["remediate", str(out / "scan" / "report.json"), "-f", kind], capsys, sink,
                 f"{label} remediate {kind} stdout")
    return out


def _lambda_door(world: World, capsys: pytest.CaptureFixture[str], capture: Capture, sink: Sink) -> None:
    """The scheduled Lambda with the opt-in, in the same account: its S3 objects, SNS notification, stdout."""
    from auditor.aws_lambda.handler import run
    from auditor.demo.run import offline_guard

    bucket, session = "ccme-audit-reports-canary", world.session
    s3 = session.client("s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    topic = session.client("sns").create_topic(Name="ccme-audit")["TopicArn"]
    sqs = session.client("sqs")
    queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    session.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    env = {
        "CCME_AUDIT_CONFIG_JSON": json.dumps(nested([*world.overrides, ("options.read_secret_values", True)])),
        "REPORT_BUCKET": bucket, "REPORT_PREFIX": "audits", "REPORT_SSE": "AES256", "SNS_TOPIC_ARN": topic,
        "PACKS": "ccme",
    }
    with capture.on():
        summary = run({}, env, session=session, client_hooks=[*world.hooks, offline_guard])
    out, err = capsys.readouterr()
    sink.add("lambda stdout", out)
    sink.add("lambda stderr", err)
    sink.add("lambda summary", json.dumps(summary, default=str))
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    for key in keys:
        sink.add(f"s3://{bucket}/{key}", s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    for item in messages:
        sink.add("lambda sns notification", item["Body"])
    assert summary["notified"] and messages, "the first run notifies"
    assert {k.rsplit("/", 1)[1] for k in keys} == {"snapshot.json", "report.json", "report.html", "changes.json"}
    snapshot = json.loads(sink.outputs[next(f"s3://{bucket}/{k}" for k in keys if k.endswith("/snapshot.json"))])
    secret = next(r for r in snapshot["resources"] if r["type"] == "secretsmanager.secret")
    assert secret["attributes"]["value_format"] == "plaintext"  # the opt-in check ran


@pytest.mark.parametrize("pack", ["ccme", "bbp"])
def test_no_door_shows_the_canary(pack: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  caplog: pytest.LogCaptureFixture) -> None:
    """Every door, without and with --read-secret-values (and, for ccme, the Lambda handler)."""
    sink, capture = Sink(), Capture(caplog)
    with WORLDS[pack]() as world, pytest.MonkeyPatch.context() as mp:
        _planted(world)
        _patch_scan(mp, world)
        metadata = _scan_doors(world, tmp_path, capsys, capture, sink, read=False)
        read = _scan_doors(world, tmp_path, capsys, capture, sink, read=True)
        if pack == "ccme":
            _lambda_door(world, capsys, capture, sink)
    capture.into(sink)
    sink.add_tree(tmp_path)
    assert capture.response_bodies() > 20, "botocore's response-body debug records were not captured"
    assert all(isinstance(v, dict) and "$unknown" in v for v in _value_formats(metadata / "snapshot.json").values())
    # With the opt-in, the plaintext check ran on the canary the rules select.
    assert _value_formats(read / "snapshot.json")[world.secrets[0]] == "plaintext"
    sink.verdict()
    withheld = [r.getMessage() for r in caplog.records if r.name == "botocore.parsers" and "withheld" in r.getMessage()]
    assert any("GetSecretValue" in m for m in withheld), "GetSecretValue's body was not withheld"
    if pack == "bbp":  # the Lambda environment variables come with the function listing
        assert any("ListFunctions" in m for m in withheld), "ListFunctions' body was not withheld"


@pytest.mark.parametrize(("service", "operation", "sensitive"), [
    ("secretsmanager", "GetSecretValue", True), ("lambda", "ListFunctions", True), ("lambda", "GetFunction", True),
    ("ssm", "GetParameter", True), ("secretsmanager", "ListSecrets", False), ("s3", "GetBucketPolicy", False),
    ("kms", "GetKeyPolicy", False), ("ssm", "DescribeParameters", False), ("ec2", "DescribeKeyPairs", False),
])
def test_sensitive_outputs_follow_the_service_model(service: str, operation: str, sensitive: bool) -> None:
    """The bodies withheld from botocore's debug log: outputs with a member the model flags sensitive."""
    import botocore.session

    from auditor.collect.redact import sensitive_output

    model = botocore.session.get_session().get_service_model(service)
    assert sensitive_output(model.operation_model(operation)) is sensitive


def test_the_detector_finds_every_encoded_form() -> None:
    """Control: the needles catch the canary raw, JSON- and repr-escaped, base64 (any alignment) and hex."""
    raw = CANARY.encode()
    for prefix in (b"", b"x", b"xy", b"xyz"):
        assert leaks(base64.b64encode(prefix + raw + b"tail")), prefix
        assert leaks(base64.urlsafe_b64encode(prefix + raw)), prefix
    assert leaks(json.dumps({"SecretString": CANARY}))
    assert leaks(repr(json.dumps({"password": CANARY}).encode()))
    assert leaks(("pre" + raw.hex() + "post").encode())
    assert not leaks(CANARY[:-1]) and not leaks(base64.b64encode(raw[:-2]))
    sink = Sink()
    sink.add("a", b"nothing here")
    sink.add("b", b"..." + raw + b"...")
    assert sorted(sink.found()) == ["b"]
