"""Build the Lambda package and render the least-privilege policy into the deploy templates.

    python deploy/build.py            policy + package: deploy/iam-policy.json, the templates' action
                                      lists, deploy/dist/ccme-audit-lambda.zip
    python deploy/build.py --policy   only the policy (no network)
    python deploy/build.py --check    exit 1 if the templates or iam-policy.json are not up to date

The read-only actions come from the same code path as `ccme-audit iam-policy`: the collectors'
declared calls for the resource types the shipped rule packs read (opt-in calls excluded: reading
secret values and Cost Explorer stay off in the scheduled check).

The package is `pip install --target` of ccme-audit (no dependencies) plus its runtime
dependencies minus boto3/botocore (the Lambda runtime provides them) and minus the CLI-only ones
(typer, click, rich): binary wheels for the Lambda platform, versions pinned to those installed
here, zipped deterministically (sorted entries, fixed timestamps and modes, no bytecode, no
install-location records), so the same inputs give the same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

TEMPLATES = (HERE / "template.yaml", HERE / "member-role.yaml")
POLICY_FILE = HERE / "iam-policy.json"
ZIP_FILE = HERE / "dist" / "ccme-audit-lambda.zip"
RUNTIME_DEPENDENCIES = ("jsonschema", "jinja2", "PyYAML", "jmespath", "z3-solver")
PYTHON_VERSION = "3.12"
# The python3.12 runtime is Amazon Linux 2023 (glibc 2.34): manylinux2014 wheels and z3-solver's
# manylinux_2_27 wheel both run there (pip matches only the tags given). x86_64 only: the template deploys x86_64.
PLATFORM = "manylinux2014_x86_64,manylinux_2_27_x86_64,manylinux_2_28_x86_64"
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_BLOCK = re.compile(
    r"(?P<indent>[ ]*)# BEGIN read-only actions[^\n]*\n(?P<body>.*?)(?P=indent)# END read-only actions",
    re.DOTALL,
)
_SKIP_PARTS = {"__pycache__"}
_SKIP_NAMES = {"direct_url.json", "INSTALLER", "REQUESTED"}


def audit_policy() -> dict[str, object]:
    """The read-only identity policy a scan of every shipped pack needs (`ccme-audit iam-policy`'s code path)."""
    from auditor.collect.plan import build_plan
    from auditor.collect.registry import iam_policy
    from auditor.config import load_config
    from auditor.data import data_dir
    from auditor.engine.rules import load_rules

    packs = sorted(p.name for p in data_dir("policies").iterdir() if p.is_dir())
    config = load_config(Path(os.devnull), [("packs", packs)])
    rules = load_rules(None, config.packs)
    plan = build_plan(rules, config, "000000000000")
    return iam_policy(plan.types, ())


def audit_actions() -> list[str]:
    statement = audit_policy()["Statement"]
    assert isinstance(statement, list)
    return list(statement[0]["Action"])


def render_actions(text: str, actions: list[str]) -> str:
    """Replace the generated action list between the BEGIN/END markers, keeping their indentation."""
    match = _BLOCK.search(text)
    if match is None:
        raise SystemExit("no '# BEGIN read-only actions' ... '# END read-only actions' block")
    indent = match.group("indent")
    body = "".join(f"{indent}- {action}\n" for action in actions)
    return text[: match.start("body")] + body + text[match.end("body"):]


def template_actions(text: str) -> list[str]:
    match = _BLOCK.search(text)
    if match is None:
        return []
    return [line.strip()[2:] for line in match.group("body").splitlines() if line.strip().startswith("- ")]


def policy_outputs() -> dict[Path, str]:
    """Every generated file's expected content."""
    policy = audit_policy()
    actions = audit_actions()
    out = {POLICY_FILE: json.dumps(policy, indent=2) + "\n"}
    for template in TEMPLATES:
        out[template] = render_actions(template.read_text(encoding="utf-8"), actions)
    return out


def write_policy() -> list[Path]:
    changed = []
    for path, text in policy_outputs().items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


def stale_policy() -> list[Path]:
    return [p for p, text in policy_outputs().items() if not p.exists() or p.read_text(encoding="utf-8") != text]


def deterministic_zip(source: Path, target: Path) -> None:
    """Zip a directory tree: sorted entries, fixed timestamp, 0644/0755 modes, no bytecode."""
    files = []
    for path in source.rglob("*"):
        rel = path.relative_to(source)
        if path.is_dir() or _SKIP_PARTS & set(rel.parts) or path.suffix == ".pyc" or path.name in _SKIP_NAMES:
            continue
        files.append((rel.as_posix(), path))
    files.sort()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, path in files:
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            mode = 0o755 if os.access(path, os.X_OK) and path.suffix in ("", ".so") else 0o644
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    tmp.replace(target)


def pinned(names: tuple[str, ...]) -> list[str]:
    out = []
    for name in names:
        try:
            out.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(name)
    return out


def build_package(target: Path = ZIP_FILE, *, python_version: str = PYTHON_VERSION, platform: str = PLATFORM) -> Path:
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    with tempfile.TemporaryDirectory(prefix="ccme-audit-build-") as tmp:
        work = Path(tmp)
        wheels, site = work / "wheels", work / "site"
        subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(ROOT)], check=True)
        [wheel] = wheels.glob("*.whl")
        subprocess.run([*pip, "install", "--no-compile", "--no-deps", "--target", str(site), str(wheel)], check=True)
        subprocess.run([*pip, "install", "--no-compile", "--target", str(site), "--only-binary=:all:",
                        *[arg for tag in platform.split(",") for arg in ("--platform", tag)],
                        "--implementation", "cp", "--python-version", python_version,
                        *pinned(RUNTIME_DEPENDENCIES)], check=True)
        for name in ("bin",):
            shutil.rmtree(site / name, ignore_errors=True)
        leaked = [p.name for p in site.iterdir() if p.name.split("-")[0].lower() in ("boto3", "botocore")]
        if leaked:
            raise SystemExit(f"boto3/botocore must not be packaged (the runtime provides them): {leaked}")
        deterministic_zip(site, target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policy", action="store_true", help="only render the policy (no package)")
    parser.add_argument("--check", action="store_true", help="exit 1 if generated files are stale")
    parser.add_argument("--output", type=Path, default=ZIP_FILE, help="the zip to write")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_policy()
        for path in stale:
            sys.stderr.write(f"stale: {path.relative_to(ROOT)} (run: python deploy/build.py --policy)\n")
        return 1 if stale else 0
    for path in write_policy():
        sys.stdout.write(f"updated {path.relative_to(ROOT)}\n")
    if args.policy:
        return 0
    package = build_package(args.output)
    digest = hashlib.sha256(package.read_bytes()).hexdigest()
    sys.stdout.write(f"{package}: {package.stat().st_size} bytes, sha256 {digest}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
