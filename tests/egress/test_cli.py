"""ccme-audit egress probe|list: loopback endpoints from the configuration, every report format, exit codes."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor.allowlist.endpoints import FAMILIES, load_data, required_endpoints
from auditor.cli import main
from auditor.config import load_config
from auditor.report import EXTENSIONS, Format
from tests.egress.servers import LOOPBACK, closed_port, https_server, make_ca

_real_getaddrinfo = socket.getaddrinfo


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        assert host in (LOOPBACK, "localhost"), f"unexpected lookup of {host!r}"
        return _real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    for name in ("HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


def _config(path: Path, endpoints: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump({"regions": ["eu-west-1"], "egress": {"extra_endpoints": endpoints}}))
    return path


EVERY_FORMAT = [f for f in Format if f is not Format.ASFF]


def test_probe_reports_every_format(tmp_path: Path) -> None:
    ca = make_ca(tmp_path)
    cert = ca.issue(["localhost"], tmp_path, "leaf")
    with https_server(*cert) as server, closed_port() as closed:
        cfg = _config(tmp_path / "ccme-audit.yaml", [
            {"id": "local-ok", "host": "localhost", "port": server.port, "family": "tools", "purpose": "test",
             "url": f"https://localhost:{server.port}/key"},
            {"id": "local-closed", "host": "localhost", "port": closed, "family": "aws", "purpose": "test"},
        ])
        out = tmp_path / "out"
        code = main(["egress", "probe", "--from-config", str(cfg), "--ca-bundle", str(ca.pem_path), "--timeout", "3",
                     "--format", ",".join(f.value for f in EVERY_FORMAT), "--output-dir", str(out),
                     "--snapshot-out", str(tmp_path / "snap.json")])
        assert code == 1  # the closed port fails EGRESS-REACH-AWS
        report = json.loads((out / EXTENSIONS[Format.JSON]).read_text())
        by_id = {(f["rule_id"], f["resource_id"]): f["status"] for f in report["findings"]}
        # No EF Portal host is configured (the seed names none): that rule says so instead of vanishing.
        assert by_id == {("EGRESS-REACH-TOOLS", "local-ok"): "PASS", ("EGRESS-REACH-AWS", "local-closed"): "FAIL",
                         ("EGRESS-REACH-EF-PORTAL", "ef-portal"): "SKIPPED"}
        for fmt in EVERY_FORMAT:
            assert (out / EXTENSIONS[fmt]).stat().st_size > 0
        # ASFF names an AWS account, and a probe from a host has none: one line, exit 2, nothing written.
        assert main(["report", str(out / EXTENSIONS[Format.JSON]), "--format", "asff",
                     "--output", str(out / "r.asff")]) == 2
        assert not (out / "r.asff").exists()
        snap = json.loads((tmp_path / "snap.json").read_text())
        assert {r["attributes"]["status"] for r in snap["resources"]} == {"reachable", "blocked"}
        only_ok = _config(tmp_path / "ok.yaml", [
            {"id": "local-ok", "host": "localhost", "port": server.port, "family": "tools", "purpose": "test"}])
        assert main(["egress", "probe", "--from-config", str(only_ok), "--ca-bundle", str(ca.pem_path),
                     "--output", str(tmp_path / "r.txt")]) == 0


@pytest.mark.parametrize("args, needle", [
    (["--timeout", "0"], "--timeout"),
    (["--ca-bundle", "/nonexistent.pem"], "--ca-bundle"),
    (["--set", "egress.extra_endpoints=[{id: x, host: h, family: nope, purpose: ppp}]"], "family"),
])
def test_probe_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], needle: str) -> None:
    cfg = _config(tmp_path / "c.yaml", [])
    assert main(["egress", "probe", "--from-config", str(cfg), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0]


def test_list_and_data(capsys: pytest.CaptureFixture[str]) -> None:
    data = load_data()
    assert set(data["families"]) == set(FAMILIES)
    assert all(e["source"] for e in data["endpoints"])
    cfg = load_config(None, [("regions", ["eu-west-1", "us-east-1"]), ("egress.remove", ["github", "pypi*"]),
                             ("egress.extra_endpoints", [{"id": "ef", "host": "ef.example.com", "family": "ef-portal",
                                                          "purpose": "EF Portal"}])])
    endpoints = required_endpoints(cfg)
    hosts = {e.host for e in endpoints}
    assert "eu-west-1-aws-parallelcluster.s3.eu-west-1.amazonaws.com" in hosts
    assert "us-east-1-aws-parallelcluster.s3.us-east-1.amazonaws.com" in hosts
    assert "github.com" not in hosts and "pypi.org" not in hosts and "ef.example.com" in hosts
    assert not any("{" in h for h in hosts)
    assert main(["egress", "list", "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {e["family"] for e in listed} >= {"parallelcluster", "aws", "nvidia", "dcv-enginframe", "tools", "redhat"}


def test_duplicate_extra_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _config(tmp_path / "c.yaml", [{"id": "github", "host": "x.example.com", "family": "tools", "purpose": "dup"}])
    assert main(["egress", "list", "--config", str(cfg)]) == 2
    assert "extra_endpoints/0/id" in capsys.readouterr().err
