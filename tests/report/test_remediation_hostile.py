"""Remediation bundles are programs: hostile values from an account, a report or a snapshot must stay data.

Every shell, CloudFormation and Terraform template is rendered with hypothesis-generated hostile values
(`$(...)`, backticks, quotes, newlines, `}`, `#`, non-ASCII) in every attribute, parameter and identifier
the sample findings carry. The shell bundle passes `bash -n` and, run with a stub `aws` that records its
argv, runs nothing else (no file appears) and receives each hostile value whole; the CloudFormation bundle
reads back as YAML and the Terraform bundle as HCL.
"""

from __future__ import annotations

import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.report.remediation import RemediationKind, render_bundle
from tests.report.shell_stub import run_shell
from tests.report.test_remediation import HEADER, samples, used_refs

PIECES = ["$(touch PWNED1)", "`touch PWNED2`", "'", '"', "\n", "}", "{", "#", "é", "中", " ", "\\", ";", "&&",
          "${HOME}", "-", "*", "\r", "\t"]
# Each hostile value carries a marker, so the stub's argv can be searched for it.
HOSTILE = st.lists(st.sampled_from(PIECES), min_size=1, max_size=5).map(lambda parts: "zq" + "".join(parts))
KEEP = {"region", "account", "regions", "kms_prefix", "rule_id", "status", "resource_type", "remediation"}
# Values the operator gives (the script stops without them): set, so every later command runs too.
OPERATOR = {name: "x" for name in (
    "CCME_DIRECTORY_SECRET", "BBP_API_STAGE", "CCME_CERTIFICATE_ARN", "BBP_ENDPOINT_SECURITY_GROUP_ID",
    "CCME_NAT_SUBNET_ID", "CCME_INTERNET_GATEWAY_ID", "CCME_NAT_GATEWAY_ID", "ENDPOINT_SUBNET_IDS",
    "CCME_FRONTEND_SUBNET_CIDR", "CCME_FRONTEND_SUBNET_AZ", "CCME_BACKEND_SUBNET_CIDR", "CCME_BACKEND_SUBNET_AZ",
    "BBP_LOG_RETENTION_DAYS")}
# An example draws a pool of hostile values and deals them to every string leaf of the sample findings (a drawn
# offset decides which leaf gets which), rather than one draw per leaf: ~500 leaves drawn one by one overran
# hypothesis's buffer on 559 of 560 attempts (95 s for 2 examples). The default run tries a few examples,
# derandomized (the same on every run); --runslow tries many more, random.
POOL = st.lists(HOSTILE, min_size=4, max_size=12, unique=True)
SETTINGS = settings(max_examples=8, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))
SLOW_SETTINGS = settings(max_examples=60, deadline=None, derandomize=False, database=None,
                         suppress_health_check=list(HealthCheck))


@cache
def _sample_findings() -> tuple[dict[str, Any], ...]:
    return tuple(f for ref in sorted(used_refs()) for f in samples(ref))


def _findings() -> list[dict[str, Any]]:
    return list(_sample_findings())


def _poison(value: Any, deal: Any, used: list[str], key: str = "") -> Any:
    """Every string leaf (but the ones a bundle cannot be made without) becomes a hostile value."""
    if key in KEEP:
        return value
    if isinstance(value, dict):
        return {k: _poison(v, deal, used, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_poison(v, deal, used, key) for v in value]
    if isinstance(value, str) and not value.startswith("arn:aws:kms"):
        hostile = str(deal())
        used.append(hostile)
        return hostile
    return value


@st.composite
def hostile_findings(draw: Any) -> tuple[list[dict[str, Any]], list[str], str]:
    pool = draw(POOL)
    turn = iter(range(draw(st.integers(0, len(pool) - 1)), 1 << 30))
    used: list[str] = []
    findings = [_poison(f, lambda: pool[next(turn) % len(pool)], used) for f in _findings()]
    source = str(draw(HOSTILE))
    return findings, used, source


@SETTINGS
@given(case=hostile_findings())
def test_hostile_values_stay_data_in_every_bundle(tmp_path_factory: Any, case: Any) -> None:
    check_bundles(tmp_path_factory, case)


@pytest.mark.slow
@SLOW_SETTINGS
@given(case=hostile_findings())
def test_hostile_values_stay_data_in_every_bundle_many(tmp_path_factory: Any, case: Any) -> None:
    check_bundles(tmp_path_factory, case)


def check_bundles(tmp_path_factory: Any, case: Any) -> None:
    findings, used, source = case
    header = {**HEADER, "source": source, "account": "111122223333"}
    tmp = Path(tmp_path_factory.mktemp("hostile"))
    script = render_bundle(findings, RemediationKind.SH, header)
    checked = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    ran = run_shell(script, tmp, fast=True, env=OPERATOR)
    assert not list(tmp.glob("PWNED*")), ran.stderr[-2000:]
    assert "command not found" not in ran.stderr, ran.stderr[-2000:]
    # Each argument carrying a hostile value carries it whole (never split, re-quoted or expanded): as it is, or
    # as a string of the JSON document (a policy, --ip-permissions) or JMESPath literal (--query) it is part of.
    for call in ran.calls:
        for arg in call:
            if "zq" in arg:
                assert any(value in text for text in _texts(arg) for value in used), (arg, call)
    yaml.safe_load(render_bundle(findings, RemediationKind.CLOUDFORMATION, header))
    hcl2.loads(render_bundle(findings, RemediationKind.TERRAFORM, header))


def _texts(arg: str) -> list[str]:
    """The argument, and the strings it holds when it is a JSON document or a JMESPath expression."""
    import contextlib
    import json
    import warnings

    import jmespath

    out = [arg]

    def strings(node: Any) -> None:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                strings(key)
                strings(value)
        elif isinstance(node, list):
            for value in node:
                strings(value)

    with contextlib.suppress(ValueError):
        strings(json.loads(arg))
    with warnings.catch_warnings():  # most arguments are no JMESPath: its lexer warns on what it guesses at
        warnings.simplefilter("ignore")
        with contextlib.suppress(jmespath.exceptions.JMESPathError):
            strings(jmespath.compile(arg).parsed)
    return out


GOLDEN_REPORT = Path(__file__).resolve().parents[1] / "golden" / "expected" / "report.json"


def test_remediate_checks_a_reports_attributes_against_the_schema(tmp_path: Path) -> None:
    import json
    import sys

    good = tmp_path / "report.json"
    good.write_text(GOLDEN_REPORT.read_text(encoding="utf-8"))
    done = subprocess.run([sys.executable, "-m", "auditor", "remediate", str(good), "--format", "sh"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    doc = json.loads(GOLDEN_REPORT.read_text(encoding="utf-8"))
    index, finding = next((i, f) for i, f in enumerate(doc["findings"])
                          if f["resource_type"] == "s3.bucket" and (f.get("context") or {}).get("attributes"))
    finding["context"]["attributes"]["name"] = ["$(touch PWNED)"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    done = subprocess.run([sys.executable, "-m", "auditor", "remediate", str(bad), "--format", "sh"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 2 and f"/findings/{index}/context/attributes" in done.stderr, done.stderr
    assert not done.stdout and not list(tmp_path.glob("PWNED*"))
