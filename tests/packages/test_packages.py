"""ccme-audit packages: the seed's lists rendered from dependencies.yaml, checked in directories and in S3 (moto)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor.cli import main
from auditor.errors import InputError
from auditor.packages.check import files_snapshot, list_s3
from auditor.packages.render import load_lists, required_files

DATA = Path(__file__).parent / "data"
DEPS = DATA / "dependencies.yaml"


def deps() -> dict[str, Any]:
    return dict(yaml.safe_load(DEPS.read_text()))


def test_lists_as_the_seed_writes_them() -> None:
    lists = {spec["id"]: spec for spec in load_lists()}
    assert [len(lists[i]["files"]) for i in ("management-host", "clusters-multi-arch", "clusters-x86_64",
                                             "clusters-aarch64")] == [7, 8, 15, 14]
    assert "enginframe-${enginframe.version.}-r${enginframe.revision}.jar" in lists["clusters-multi-arch"]["files"]


def test_render_quirks() -> None:
    paths = {f.path: f for f in required_files(deps(), file="d.yaml")}
    assert "CCME/pkgs/deps/enginframe-2024.0-r1.0.jar" in paths  # stray dot in ${enginframe.version.}
    assert "CCME/pkgs/deps/galera-26.4.16-1.el8.x86_64.rpm" in paths  # ${galera.os.arch} = galera[os][arch]
    assert "CCME/pkgs/deps/galera-26.4.16-1.el8.aarch64.rpm" in paths  # aarch64 adds .${arch}
    assert "CCME/pkgs/deps/MariaDB-server-10.6.17-1.el8.x86_64.rpm" in paths
    assert "CCME/pkgs/deps/MariaDB-server-10.6.17-1.el8.centos.aarch64.rpm" in paths  # aarch64 names differ
    assert "CCME/pkgs/deps/s3fs-fuse-1.94-1.el8.aarch64.rpm" in paths
    assert not any("s3fs-fuse" in p and "x86_64" in p for p in paths)
    assert paths["CCME/pkgs/deps/amazon-ssm-agent.rpm"].signature_required
    assert paths["management/pkgs/deps/amazon-ssm-agent.rpm"].signature_required
    assert [p for p, f in paths.items() if f.signature_required] == [
        "management/pkgs/deps/amazon-ssm-agent.rpm", "CCME/pkgs/deps/amazon-ssm-agent.rpm"]
    assert not any("${" in p for p in paths)
    only_x86 = {f.path for f in required_files(deps(), file="d.yaml", arches=["x86_64"])}
    assert not any("aarch64" in p for p in only_x86)


def test_two_oses() -> None:
    d = deps()
    d["galera"]["el7"] = {"x86_64": "25.3.37-1.el7.centos.x86_64", "aarch64": "25.3.37-1.el7"}
    d["mariadb"]["el7"] = {"x86_64": "10.6.17-1.el7.centos", "aarch64": "10.6.17-1"}
    paths = {f.path for f in required_files(d, file="d.yaml")}
    assert "CCME/pkgs/deps/nice-xdcv-2023.1.565-1.el7.x86_64.rpm" in paths
    assert "CCME/pkgs/deps/nice-xdcv-2023.1.565-1.el8.aarch64.rpm" in paths
    with pytest.raises(InputError) as exc:
        required_files(d, file="d.yaml", oses=["el9"])
    assert exc.value.place == "/galera/el9"


@pytest.mark.parametrize("mutate, place", [
    (lambda d: d.pop("slurm"), "/slurm"),
    (lambda d: d["mariadb"]["el8"].pop("aarch64"), "/mariadb/el8/aarch64"),
    (lambda d: d["dcv"].update(gl=1.10), "/dcv/gl"),
    (lambda d: d.update(enginframe="2024.0"), "/enginframe"),
    (lambda d: d["dcvsm"].update(version={"a": 1}), "/dcvsm/version"),
])
def test_malformed_dependencies(mutate: Any, place: str) -> None:
    d = deps()
    mutate(d)
    with pytest.raises(InputError) as exc:
        required_files(d, file="dependencies.yaml")
    assert exc.value.place == place and exc.value.fix and exc.value.file == "dependencies.yaml"


def _populate(root: Path, skip: set[str]) -> None:
    for item in required_files(deps(), file="d.yaml"):
        if item.name not in skip:
            path = root / item.path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"x")


def test_check_directory_every_format(tmp_path: Path) -> None:
    root = tmp_path / "release"
    _populate(root, {"slurm-23.11.7.tar.gz", "amazon-ssm-agent.rpm.sig"})
    out = tmp_path / "out"
    code = main(["packages", "check", str(root), "--dependencies", str(DEPS), "--format",
                 "text,json,html,junit,sarif,markdown", "--output-dir", str(out)])
    assert code == 1
    report = json.loads((out / "report.json").read_text())
    bad = sorted((f["rule_id"], f["resource_id"]) for f in report["findings"] if f["status"] != "PASS")
    assert bad == [
        ("PKG-FILE-PRESENT", "CCME/pkgs/deps/amazon-ssm-agent.rpm.sig"),
        ("PKG-FILE-PRESENT", "CCME/pkgs/deps/slurm-23.11.7.tar.gz"),
        ("PKG-FILE-PRESENT", "management/pkgs/deps/amazon-ssm-agent.rpm.sig"),
        ("PKG-RPM-SIGNATURE", "CCME/pkgs/deps/amazon-ssm-agent.rpm"),
        ("PKG-RPM-SIGNATURE", "management/pkgs/deps/amazon-ssm-agent.rpm"),
    ]
    assert len(list(out.iterdir())) == 6
    complete = tmp_path / "complete"
    _populate(complete, set())
    assert main(["packages", "check", str(complete), "-d", str(DEPS), "--output", str(tmp_path / "r.txt")]) == 0


@pytest.mark.parametrize("text, needle", [
    (None, "no such file"),
    ("- a\n- b\n", "must be a mapping"),
    ("slurm: [unclosed\n", "dependencies.yaml"),
    ("slurm: '1'\n", "missing key 'ansible_collection"),
])
def test_cli_bad_dependencies(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str | None,
                              needle: str) -> None:
    path = tmp_path / "dependencies.yaml"
    if text is not None:
        path.write_text(text)
    assert main(["packages", "check", str(tmp_path), "--dependencies", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0] and "fix" in err[0]
    assert not list(tmp_path.glob("report*"))


def test_cli_bad_target_and_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["packages", "check", str(tmp_path / "nope"), "-d", str(DEPS)]) == 2
    assert main(["packages", "check", str(tmp_path), "-d", str(DEPS), "--arch", "sparc"]) == 2
    assert main(["packages", "check", str(tmp_path), "-d", str(DEPS), "--os", "ubuntu"]) == 2
    assert main(["packages", "check", "s3://", "-d", str(DEPS)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 4


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Any:
    moto = pytest.importorskip("moto")
    import boto3

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "eu-west-1"}.items():
        monkeypatch.setenv(key, value)
    with moto.mock_aws():
        yield boto3.client("s3", region_name="eu-west-1")


def test_check_s3_prefix(s3: Any, tmp_path: Path) -> None:
    s3.create_bucket(Bucket="ccme-release", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    required = required_files(deps(), file="d.yaml")
    for item in required:
        if item.name != "nice-xdcv-2023.1.565-1.el8.aarch64.rpm":
            s3.put_object(Bucket="ccme-release", Key=f"v1/{item.path}", Body=b"x")
    s3.put_object(Bucket="ccme-release", Key="v1/CCME/pkgs/deps/sub/nested.rpm", Body=b"x")
    for i in range(1100):  # more than one ListObjectsV2 page
        s3.put_object(Bucket="ccme-release", Key=f"v1/CCME/pkgs/deps/extra-{i}.txt", Body=b"")
    listing = list_s3("s3://ccme-release/v1/", sorted({r.directory for r in required}), client=s3)
    snap = files_snapshot(required, listing)
    missing = [r.id for r in snap.resources if not r.attributes["present"]]
    assert missing == ["CCME/pkgs/deps/nice-xdcv-2023.1.565-1.el8.aarch64.rpm"]
    assert "CCME/pkgs/deps/extra-1099.txt" in listing.sizes
    out = tmp_path / "r.json"
    assert main(["packages", "check", "s3://ccme-release/v1", "-d", str(DEPS), "-f", "json", "-o", str(out)]) == 1
    failing = [f["resource_id"] for f in json.loads(out.read_text())["findings"] if f["status"] == "FAIL"]
    assert failing == ["CCME/pkgs/deps/nice-xdcv-2023.1.565-1.el8.aarch64.rpm"]
    # An unreadable location is ERROR on every rule, never PASS.
    assert main(["packages", "check", "s3://no-such-bucket/v1", "-d", str(DEPS), "-f", "json", "-o", str(out)]) == 1
    statuses = {f["status"] for f in json.loads(out.read_text())["findings"]}
    assert statuses == {"ERROR"}
