"""Run generated shell remediation with a stub `aws` that records its argv and answers the policy reads.

The stub never reaches AWS: `get-bucket-policy` / `get-key-policy` answer the document given for that
bucket or key (None: the bucket has no policy, NoSuchBucketPolicy; DENIED: AccessDenied), every other
command prints a fake id. Each call's argv is recorded as one JSON line, so a test can compare each
argument with the value it was given.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DENIED = "<denied>"
# A faster stub for scripts with many calls: no policy documents (buckets have none, keys an empty one);
# each call's arguments NUL-terminated, calls separated by an RS byte.
BASH_STUB = r"""#!/bin/bash
printf '%s\0' "$@" >> "$CCME_STUB_LOG"
printf '\036' >> "$CCME_STUB_LOG"
for a in "$@"; do
  case "$a" in
    get-bucket-policy) echo 'An error occurred (NoSuchBucketPolicy)' >&2; exit 254 ;;
    get-key-policy) echo '{"Version":"2012-10-17","Statement":[]}'; exit 0 ;;
    *State*) echo available; exit 0 ;;
  esac
done
echo fake-id
"""
STUB = """
import json, os, sys
args = sys.argv[1:]
with open(os.environ["CCME_STUB_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
if "get-bucket-policy" in args or "get-key-policy" in args:
    name = args[args.index("--bucket") + 1] if "--bucket" in args else args[args.index("--key-id") + 1]
    with open(os.environ["CCME_STUB_POLICIES"]) as f:
        policies = json.load(f)
    value = policies.get(name)
    if value == "<denied>":
        sys.stderr.write("An error occurred (AccessDenied) when calling the GetPolicy operation: denied\\n")
        sys.exit(254)
    if value is None:
        sys.stderr.write("An error occurred (NoSuchBucketPolicy) when calling the GetBucketPolicy operation\\n")
        sys.exit(254)
    print(value if isinstance(value, str) else json.dumps(value))
else:
    print("fake-key-id")
"""


@dataclass
class Ran:
    returncode: int
    stderr: str
    calls: list[list[str]]

    def put_policy(self) -> dict[str, Any] | None:
        """The --policy document of the last put-bucket-policy / put-key-policy call, if one was made."""
        puts = [c for c in self.calls if "put-bucket-policy" in c or "put-key-policy" in c]
        return json.loads(puts[-1][puts[-1].index("--policy") + 1]) if puts else None


def run_shell(script: str, tmp_path: Path, policies: dict[str, Any] | None = None, *,
              python3: bool = True, fast: bool = False, env: dict[str, str] | None = None,
              merge_function: bool = True) -> Ran:
    """Run `script` with bash -euo pipefail and the stub `aws` first on PATH. A single fix (not a bundle)
    gets the policy merge function a bundle defines, unless `merge_function` is false."""
    from auditor.report.remediation import MERGE_FUNCTION, MERGE_PROGRAM, sh

    if merge_function and f"{MERGE_FUNCTION}()" not in script:
        script = f'{MERGE_FUNCTION}() {{ python3 -c {sh(MERGE_PROGRAM)} "$@"; }}\n' + script
    bin_dir = tmp_path / "stub-bin"
    bin_dir.mkdir(exist_ok=True)
    aws = bin_dir / "aws"
    aws.write_text(BASH_STUB if fast else f"#!{sys.executable}\n{STUB}")
    aws.chmod(0o755)
    if fast:  # polling loops do not wait
        (bin_dir / "sleep").write_text("#!/bin/bash\nexit 0\n")
        (bin_dir / "sleep").chmod(0o755)
    path = [str(bin_dir)]
    if python3:
        (bin_dir / "python3").unlink(missing_ok=True)
        (bin_dir / "python3").symlink_to(sys.executable)
        path.append("/usr/bin:/bin")
    else:
        for tool in ("bash", "cat", "printf", "echo"):
            found = next((Path(d) / tool for d in ("/usr/bin", "/bin") if (Path(d) / tool).exists()), None)
            if found is not None:
                (bin_dir / tool).unlink(missing_ok=True)
                (bin_dir / tool).symlink_to(found)
    log = tmp_path / "aws-argv.jsonl"
    log.unlink(missing_ok=True)
    (tmp_path / "policies.json").write_text(json.dumps(policies or {}))
    environ = {"PATH": ":".join(path), "CCME_STUB_LOG": str(log), "CCME_STUB_POLICIES": str(tmp_path / "policies.json"),
               "HOME": str(tmp_path), "LANG": os.environ.get("LANG", "C.UTF-8"), **(env or {})}
    done = subprocess.run(["bash", "-c", "set -euo pipefail\n" + script], cwd=tmp_path, env=environ,
                          capture_output=True, text=True, timeout=60)
    if not log.exists():
        calls: list[list[str]] = []
    elif fast:
        raw = log.read_bytes().decode("utf-8", "surrogateescape")
        calls = [[a for a in record.split("\0")[:-1]] for record in raw.split("\x1e") if record]
    else:
        calls = [json.loads(line) for line in log.read_text().splitlines()]
    return Ran(done.returncode, done.stderr, calls)
