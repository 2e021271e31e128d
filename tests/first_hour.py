"""Regenerate docs/first-hour.md: the terminal transcript of `scan`, `iac` and `remediate` on the examples.

    python -m tests.first_hour --write     # run every command again and rewrite the transcript
    python -m tests.first_hour             # print the transcript, write nothing

Each command runs as a new user would run it: from the root of a fresh clone of this repository (so that
`git apply` works on the examples), with a moto_server on 127.0.0.1 (the README's "Without an AWS account"),
fake credentials, NO_COLOR=1, stdout and stderr together. The server's port is shown as 5000, as the README
starts it. The page's text above the transcript is kept as it is.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.motoserver import moto_server

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "first-hour.md"
SHOWN_URL = "http://127.0.0.1:5000"
CONFIG = "-c examples/config/ccme-prerequisites.yaml"
CFN = "examples/cloudformation/ccme-prerequisites-broken.yaml"
TF = "examples/terraform/ccme-prerequisites-broken"

COMMANDS = [
    f"ccme-audit demo --seed-into {SHOWN_URL} --output-dir emulated",
    f"ccme-audit scan --endpoint-url {SHOWN_URL} --config emulated/ccme-audit.yaml",
    f"ccme-audit scan --endpoint-url {SHOWN_URL} --config emulated/ccme-audit.yaml --format json,html "
    "--output-dir report",
    "ccme-audit remediate report/report.json --format sh --output fix.sh",
    'grep -v "^#" fix.sh | grep -m 6 "aws "',
    f"ccme-audit iac {CFN} {CONFIG}",
    f"ccme-audit iac {CFN} {CONFIG} --format json --output iac.json --quiet",
    "ccme-audit remediate iac.json --format patch --output fix.patch",
    "cat fix.patch",
    "git apply --check fix.patch && git apply fix.patch",
    f"ccme-audit iac {CFN} {CONFIG} --quiet",
    f"ccme-audit iac {TF} {CONFIG} --format json --output iac-tf.json --quiet",
    "ccme-audit remediate iac-tf.json --format patch --output fix-tf.patch",
    "git apply --check fix-tf.patch && git apply --stat fix-tf.patch && git apply fix-tf.patch",
    f"ccme-audit iac {TF} {CONFIG} --quiet",
]


def transcript() -> str:
    """Every command's output and exit code, in a fresh clone, against a fresh moto_server."""
    bin_dir = Path(tempfile.mkdtemp(prefix="ccme-first-hour-bin-"))
    work = Path(tempfile.mkdtemp(prefix="ccme-first-hour-"))
    try:
        # `ccme-audit` is this checkout's code, whatever is installed.
        launcher = bin_dir / "ccme-audit"
        launcher.write_text(f'#!/bin/sh\nPYTHONPATH="{ROOT}" exec "{sys.executable}" -m auditor "$@"\n')
        launcher.chmod(0o755)
        clone = work / "ccme-audit"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CCME_AUDIT_"))}
        env.update(NO_COLOR="1", AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                   AWS_DEFAULT_REGION="eu-west-1", PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
                   COLUMNS="200")
        parts = []
        with moto_server() as url:
            for command in COMMANDS:
                proc = subprocess.run(["bash", "-c", command.replace(SHOWN_URL, url)], cwd=clone, env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
                out = proc.stdout.replace(url, SHOWN_URL)
                out = out if not out or out.endswith("\n") else out + "\n"
                parts.append(f"$ {command}\n{out}[exit {proc.returncode}]\n")
        return "\n".join(parts)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(bin_dir, ignore_errors=True)


def page(text: str) -> str:
    """The page with its transcript block replaced by `text`."""
    current = PAGE.read_text(encoding="utf-8")
    head, fence, _ = current.partition("```\n")
    if not fence:
        raise SystemExit(f"{PAGE}: no ``` block to replace")
    return f"{head}```\n{text}```\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"rewrite {PAGE.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    new = page(transcript())
    if args.write:
        tmp = PAGE.with_suffix(".md.tmp")
        tmp.write_text(new, encoding="utf-8")
        tmp.replace(PAGE)
        sys.stderr.write(f"wrote {PAGE}\n")
    else:
        sys.stdout.write(new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
