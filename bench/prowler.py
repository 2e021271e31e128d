"""Prowler and ccme-audit on the same emulated account: wall time, API requests, verdicts on tricky buckets.

    python bench/prowler.py [--json FILE] [--cap-minutes 20] [--no-install]

1. Prowler goes into its own virtual environment, bench/out/prowler-venv (it pins its own boto3: never
   into the project's environment); installed with pip from the package index unless --no-install.
2. moto_server on 127.0.0.1, behind a counting reverse proxy (also on 127.0.0.1) that counts each
   request by the service named in its SigV4 credential scope. Both tools get AWS_ENDPOINT_URL = the
   proxy, fake credentials, and HTTP(S)_PROXY = a refusing proxy on 127.0.0.1 (NO_PROXY for 127.0.0.1):
   any attempt to reach anything else is refused and recorded, nothing leaves the machine.
3. The demo CCME account (auditor.demo.account.seed_ccme_account, with its planted faults) plus buckets
   with deliberately tricky policies (docs: /work/shared/design/policy-semantics.md cases): a deny on
   s3:PutObject only; an Allow conditioned on aws:SecureTransport and no deny; a TLS deny comparing
   versions as 1.10; Principal "*" instead of {"AWS": "*"}; aws:SecureTransport as a JSON boolean; a
   deny that misses the object ARN.
4. `prowler aws` limited to its S3 and KMS checks, and `ccme-audit scan` limited to the ccme pack's S3
   and KMS rules (a rule directory holding policies/ccme/s3.yaml and kms.yaml); then, for verdicts on
   the tricky buckets, more ccme-audit scans with those buckets configured as the CCME buckets.
Prints a side-by-side table: per tricky bucket the truth (what AWS does), Prowler's verdict, ccme-audit's;
wall time and requests of each. Everything is capped at --cap-minutes overall. If Prowler cannot run
offline the script says precisely why and records it; no figure is invented.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import venv
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._common import start_moto_server, write_json  # noqa: E402

REGION = "eu-west-1"
VENV = ROOT / "bench" / "out" / "prowler-venv"
PROWLER_CHECKS = [
    "s3_bucket_secure_transport_policy",
    "s3_bucket_default_encryption",
    "s3_bucket_kms_encryption",
    "s3_bucket_level_public_access_block",
    "s3_account_level_public_access_blocks",
    "s3_bucket_object_versioning",
    "s3_bucket_server_access_logging_enabled",
    "s3_bucket_public_access",
    "s3_bucket_policy_public_write_access",
    "kms_cmk_rotation_enabled",
    "kms_key_not_publicly_accessible",
    "kms_cmk_are_used",
    "kms_cmk_not_deleted_unintentionally",
]
# Prowler check -> the ccme rule (by tag suffix) that looks at the same thing.
CHECK_TO_RULE = {
    "s3_bucket_secure_transport_policy": "CCME-S3-POLICY-SECURETRANSPORT",
    "s3_bucket_default_encryption": "CCME-S3-SSE-AES256",
    "s3_bucket_level_public_access_block": "CCME-S3-PAB",
    "s3_bucket_object_versioning": "CCME-S3-VERSIONING",
    "s3_bucket_server_access_logging_enabled": "CCME-S3-ACCESS-LOGGING",
}
ROLES = ("logging", "internals", "userdata")
TAGS = {"logging": "LOGGING", "internals": "INTERNALS", "userdata": "USERDATA"}


# ---------------------------------------------------------------------------------------------------------------------
# the tricky buckets: (name suffix, what it is, policy statements, truth for deny-insecure-transport, truth TLS >= 1.2)


def _arns(bucket: str) -> list[str]:
    return [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]


def _deny(bucket: str, condition: dict[str, Any], **extra: Any) -> dict[str, Any]:
    statement = {
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "*",
        "Resource": _arns(bucket),
        "Condition": condition,
    }
    statement.update(extra)
    return statement


def tricky_cases() -> list[dict[str, Any]]:
    http_deny = {"Bool": {"aws:SecureTransport": "false"}}
    tls_deny = {"NumericLessThan": {"s3:TlsVersion": "1.2"}}
    cases: list[tuple[str, str, Any, str, str]] = [
        (
            "put-only",
            "HTTP deny on s3:PutObject only (plus a correct TLS deny)",
            lambda b: [_deny(b, tls_deny), _deny(b, http_deny, Action="s3:PutObject")],
            "FAIL",
            "PASS",
        ),
        (
            "allow-tls",
            "Allow s3:* to anyone when aws:SecureTransport is true; no deny for HTTP (plus a TLS deny)",
            lambda b: [
                _deny(b, tls_deny),
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": _arns(b),
                    "Condition": {"Bool": {"aws:SecureTransport": "true"}},
                },
            ],
            "FAIL",
            "PASS",
        ),
        (
            "tls-1-10",
            "TLS deny written NumericLessThan 1.10 (a version compared as text; 1.10 = 1.1 as a number)",
            lambda b: [_deny(b, {"NumericLessThan": {"s3:TlsVersion": "1.10"}}), _deny(b, http_deny)],
            "PASS",
            "FAIL",
        ),
        (
            "star-principal",
            'the seed policy with Principal "*" instead of {"AWS": "*"} (the same to AWS)',
            lambda b: [dict(_deny(b, tls_deny), Principal="*"), dict(_deny(b, http_deny), Principal="*")],
            "PASS",
            "PASS",
        ),
        (
            "bool-unquoted",
            "the seed policy with aws:SecureTransport false and TlsVersion 1.2 as JSON literals",
            lambda b: [
                _deny(b, {"NumericLessThan": {"s3:TlsVersion": 1.2}}),
                _deny(b, {"Bool": {"aws:SecureTransport": False}}),
            ],
            "PASS",
            "PASS",
        ),
        (
            "bucket-arn-only",
            "the seed policy on the bucket ARN only: objects (bucket/*) not covered",
            lambda b: [
                dict(_deny(b, tls_deny), Resource=f"arn:aws:s3:::{b}"),
                dict(_deny(b, http_deny), Resource=f"arn:aws:s3:::{b}"),
            ],
            "FAIL",
            "FAIL",
        ),
    ]
    return [
        {"suffix": s, "case": what, "statements": make, "truth": truth, "truth_tls": tls}
        for s, what, make, truth, tls in cases
    ]


# ---------------------------------------------------------------------------------------------------------------------
# a counting reverse proxy in front of moto_server, and a refusing forward proxy for everything else


class Counts:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_service: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()

    def take(self) -> tuple[dict[str, int], dict[str, int]]:
        with self.lock:
            out = dict(self.by_service), dict(self.refused)
            self.by_service.clear()
            self.refused.clear()
            return out


def service_of(authorization: str) -> str:
    # AWS4-HMAC-SHA256 Credential=AKID/20261122/eu-west-1/s3/aws4_request, ...
    for part in authorization.replace(",", " ").split():
        if part.startswith("Credential="):
            scope = part.split("=", 1)[1].split("/")
            if len(scope) >= 4:
                return scope[3]
    return "unsigned"


def start_counting_proxy(target: str, counts: Counts) -> tuple[ThreadingHTTPServer, str]:
    host, port = target.removeprefix("http://").split(":")

    class Forward(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_: Any) -> None:
            return

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            with counts.lock:
                counts.by_service[service_of(self.headers.get("Authorization", ""))] += 1
            conn = http.client.HTTPConnection(host, int(port), timeout=120)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
            conn.request(self.command, self.path, body=body, headers=headers)
            answer = conn.getresponse()
            data = answer.read()
            self.send_response(answer.status, answer.reason)
            for key, value in answer.getheaders():
                if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            conn.close()

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _forward

    server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def start_refusing_proxy(counts: Counts) -> tuple[ThreadingHTTPServer, str]:
    class Refuse(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            return

        def _refuse(self) -> None:
            with counts.lock:
                counts.refused[self.path.split("/")[2] if "://" in self.path else self.path] += 1
            self.send_error(403, "offline benchmark: only 127.0.0.1 is reachable")

        do_CONNECT = do_GET = do_POST = do_PUT = do_HEAD = _refuse

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


# ---------------------------------------------------------------------------------------------------------------------
# Prowler


def prowler_exe(install: bool, deadline: float) -> tuple[Path | None, str]:
    exe = VENV / "bin" / "prowler"
    if exe.exists():
        return exe, ""
    if not install:
        return None, f"Prowler is not installed in {VENV.relative_to(ROOT)} (run without --no-install)"
    if not (VENV / "bin" / "python").exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    try:
        done = subprocess.run(
            [str(VENV / "bin" / "pip"), "install", "-q", "prowler"],
            capture_output=True,
            text=True,
            timeout=max(60.0, deadline - time.monotonic()),
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, "installing Prowler with pip did not finish within the cap"
    if done.returncode != 0 or not exe.exists():
        last = [line for line in done.stderr.splitlines() if "is ignored" not in line][-3:]
        return None, "pip install prowler failed: " + " / ".join(last)
    return exe, ""


def prowler_version(exe: Path) -> str:
    done = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=False, timeout=120)
    return (done.stdout or done.stderr).strip().splitlines()[-1] if (done.stdout or done.stderr).strip() else "?"


def available_checks(exe: Path, env: dict[str, str], wanted: list[str]) -> list[str]:
    done = subprocess.run(
        [str(exe), "aws", "--list-checks"], capture_output=True, text=True, env=env, check=False, timeout=300
    )
    text = done.stdout + done.stderr
    return [c for c in wanted if c in text]


def prowler_verdicts(output_dir: Path) -> dict[tuple[str, str], str]:
    """(check id, resource name or ARN) -> status, from Prowler's JSON-OCSF output."""
    verdicts: dict[tuple[str, str], str] = {}
    for path in output_dir.rglob("*.ocsf.json"):
        for item in json.loads(path.read_text(encoding="utf-8") or "[]"):
            check = (item.get("metadata") or {}).get("event_code") or (item.get("finding_info") or {}).get("uid", "")
            status = item.get("status_code") or item.get("status")
            for resource in item.get("resources") or []:
                for key in (resource.get("name"), resource.get("uid")):
                    if key:
                        verdicts[(check, key)] = status
    return verdicts


# ---------------------------------------------------------------------------------------------------------------------
# ccme-audit


def ccme_config(path: Path, overrides: list[tuple[str, Any]], buckets: dict[str, str] | None = None) -> None:
    config: dict[str, Any] = {}
    for dotted, value in overrides:
        node = config
        *parents, last = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    if buckets:
        config["buckets"] = dict(buckets)
    path.write_text(json.dumps(config), encoding="utf-8")


def ccme_scan(env: dict[str, str], rules: Path, config: Path, out: Path, timeout: float) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "auditor",
            "scan",
            "-c",
            str(config),
            "--rules",
            str(rules),
            "--pack",
            "ccme",
            "-f",
            "json",
            "-o",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    wall = time.perf_counter() - start
    if not out.exists():
        raise RuntimeError(f"ccme-audit scan wrote no report (exit {done.returncode}): {done.stderr.strip()[-400:]}")
    return wall, done.returncode


def ccme_verdicts(report: Path) -> dict[tuple[str, str], str]:
    data = json.loads(report.read_text(encoding="utf-8"))
    return {(f["rule_id"], f["resource_id"]): f["status"] for f in data["findings"]}


# ---------------------------------------------------------------------------------------------------------------------


def seed(endpoint: str) -> tuple[Any, list[dict[str, Any]], str]:
    import boto3

    from auditor.collect.runner import local_s3control
    from auditor.demo.account import seed_ccme_account

    cache: dict[str, Any] = {}

    def clients(service: str) -> Any:
        if service not in cache:
            client = boto3.client(
                service,
                region_name=REGION,
                endpoint_url=endpoint,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
            cache[service] = local_s3control(client) if service == "s3control" else client
        return cache[service]

    seeded = seed_ccme_account(clients, REGION, faults=True)
    s3 = clients("s3")
    cases = tricky_cases()
    for case in cases:
        bucket = f"ucit-tricky-{case['suffix']}-{REGION}"
        case["bucket"] = bucket
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        policy = {"Version": "2012-10-17", "Statement": case.pop("statements")(bucket)}
        case["policy"] = policy
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    account = clients("sts").get_caller_identity()["Account"]
    return seeded, cases, account


def tool_env(endpoint: str, refusing_proxy: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_") and k.lower() not in ("http_proxy", "https_proxy", "no_proxy", "all_proxy")
    }
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        AWS_ENDPOINT_URL=endpoint,
        HTTP_PROXY=refusing_proxy,
        HTTPS_PROXY=refusing_proxy,
        http_proxy=refusing_proxy,
        https_proxy=refusing_proxy,
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here as JSON")
    parser.add_argument("--cap-minutes", type=float, default=20.0)
    parser.add_argument("--no-install", action="store_true")
    args = parser.parse_args()
    deadline = time.monotonic() + args.cap_minutes * 60
    figures: dict[str, Any] = {"prowler_ran": False, "tools": [], "notes": [], "tricky": [], "ccme_buckets": []}

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 5:
            raise TimeoutError(f"the {args.cap_minutes:g}-minute cap was reached")
        return remaining

    exe, reason = prowler_exe(not args.no_install, deadline)
    if exe is None:
        figures["reason"] = reason
        print(f"Prowler: {reason}")
        write_json(args.json, figures)
        return 1
    start = time.perf_counter()
    figures["prowler_version"] = prowler_version(exe)
    figures["notes"].append(f"`prowler --version` alone takes {time.perf_counter() - start:.1f} s (its start-up)")
    counts = Counts()
    tmp = Path(tempfile.mkdtemp(prefix="ccme-prowler-"))
    proc, moto = start_moto_server(tmp / "moto.log")
    proxy, proxy_url = start_counting_proxy(moto, counts)
    refusing, refusing_url = start_refusing_proxy(counts)
    try:
        seeded, cases, account = seed(moto)
        env = tool_env(proxy_url, refusing_url)
        print(f"seeded the CCME account and {len(cases)} tricky buckets on {moto} (proxy {proxy_url})")
        checks = available_checks(exe, env, PROWLER_CHECKS)
        missing = sorted(set(PROWLER_CHECKS) - set(checks))
        figures["prowler_checks"] = checks
        if missing:
            figures["notes"].append("Prowler checks not in this version: " + ", ".join(missing))
        counts.take()

        # Prowler
        out_dir = tmp / "prowler-out"
        command = [
            str(exe),
            "aws",
            "--checks",
            *checks,
            "-f",
            REGION,
            "--output-formats",
            "json-ocsf",
            "--output-directory",
            str(out_dir),
            "--no-banner",
            "--ignore-exit-code-3",
        ]
        start = time.perf_counter()
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=left(), check=False)
            prowler_s, prowler_exit, prowler_err = (
                time.perf_counter() - start,
                done.returncode,
                done.stdout + done.stderr,
            )
        except subprocess.TimeoutExpired:
            prowler_s, prowler_exit, prowler_err = time.perf_counter() - start, None, "timed out"
        requests, refused = counts.take()
        verdicts = prowler_verdicts(out_dir) if out_dir.exists() else {}
        summary: dict[str, Counter[str]] = {}
        for (check, key), status in verdicts.items():
            if not key.startswith("arn:"):
                summary.setdefault(check, Counter())[status] += 1
        for check, counter in sorted(summary.items()):
            if check.startswith("kms_"):
                figures["notes"].append(f"Prowler {check}: {dict(sorted(counter.items()))}")
        shown = " ".join(["prowler", *command[1:]]).replace(str(out_dir), "<tmp>/prowler-out")
        figures["tools"].append(
            {
                "tool": figures["prowler_version"],
                "command": shown,
                "wall_s": prowler_s,
                "exit": prowler_exit,
                "requests": requests,
                "requests_total": sum(requests.values()),
                "refused": refused,
            }
        )
        errors = [line.strip() for line in prowler_err.splitlines() if "ERROR" in line or "Traceback" in line][:8]
        if not verdicts:
            figures["reason"] = (
                f"Prowler gave no findings (exit {prowler_exit}, {sum(requests.values())} requests "
                f"reached moto_server, refused outside hosts: {refused or 'none'}); its errors: "
                + (" / ".join(errors) or prowler_err.strip()[-400:])
            )
        else:
            figures["prowler_ran"] = True
            if errors:
                figures["notes"].append("Prowler logged errors: " + " / ".join(e[:200] for e in errors))
        if refused:
            figures["notes"].append(f"Prowler tried to reach (refused, offline): {refused}")

        # ccme-audit: the S3 and KMS rules of the ccme pack, on the configured CCME buckets
        rules = tmp / "rules"
        (rules / "ccme").mkdir(parents=True)
        for name in ("s3.yaml", "kms.yaml"):
            shutil.copy(ROOT / "policies" / "ccme" / name, rules / "ccme" / name)
        config = tmp / "ccme.json"
        ccme_config(config, seeded.config_overrides())
        report = tmp / "ccme.json.report"
        ours_s, ours_exit = ccme_scan(env, rules, config, report, left())
        requests, refused = counts.take()
        figures["tools"].append(
            {
                "tool": "ccme-audit",
                "command": "ccme-audit scan -c <tmp>/ccme.json --rules <tmp>/rules --pack ccme -f json "
                "-o <tmp>/report.json (<tmp>/rules/ccme/ = policies/ccme/s3.yaml + kms.yaml)",
                "wall_s": ours_s,
                "exit": ours_exit,
                "requests": requests,
                "requests_total": sum(requests.values()),
                "refused": refused,
            }
        )
        ours = ccme_verdicts(report)
        for role in ROLES:
            bucket = seeded.buckets[role]
            for check, rule in CHECK_TO_RULE.items():
                figures["ccme_buckets"].append(
                    {
                        "bucket": bucket,
                        "check": check,
                        "prowler": verdicts.get((check, bucket), "no finding"),
                        "rule": f"{rule}-{TAGS[role]}",
                        "ccme_audit": ours.get((f"{rule}-{TAGS[role]}", bucket), "no finding")
                        if not (role == "logging" and rule == "CCME-S3-ACCESS-LOGGING")
                        else "no rule (the seed exempts the log bucket itself)",
                    }
                )
        # ccme-audit verdicts on the tricky buckets: configure them as the three CCME buckets, three at a time
        for group_start in range(0, len(cases), 3):
            group = cases[group_start : group_start + 3]
            buckets = {role: case["bucket"] for role, case in zip(ROLES, group, strict=False)}
            for role in ROLES[len(group) :]:
                buckets[role] = seeded.buckets[role]
            ccme_config(config, seeded.config_overrides(), buckets)
            ccme_scan(env, rules, config, report, left())
            group_verdicts = ccme_verdicts(report)
            for role, case in zip(ROLES, group, strict=False):
                case["ccme_audit"] = group_verdicts.get(
                    (f"CCME-S3-POLICY-SECURETRANSPORT-{TAGS[role]}", case["bucket"]), "no finding"
                )
                case["ccme_audit_tls"] = group_verdicts.get(
                    (f"CCME-S3-POLICY-TLS12-{TAGS[role]}", case["bucket"]), "no finding"
                )
        counts.take()
        for case in cases:
            case["prowler"] = verdicts.get(("s3_bucket_secure_transport_policy", case["bucket"]), "no finding")
            case["prowler_tls"] = "no such check"
        # the demo's own buckets, as further cases: userdata's TLS denies cover bucket/* only (a planted fault)
        for role in ROLES:
            bucket = seeded.buckets[role]
            faulty = role == "userdata"
            cases.append(
                {
                    "suffix": role,
                    "bucket": bucket,
                    "case": f"demo {role} bucket"
                    + (" (planted fault: denies cover bucket/* only)" if faulty else " (seed policy)"),
                    "truth": "FAIL" if faulty else "PASS",
                    "truth_tls": "FAIL" if faulty else "PASS",
                    "prowler": verdicts.get(("s3_bucket_secure_transport_policy", bucket), "no finding"),
                    "prowler_tls": "no such check",
                    "ccme_audit": ours.get((f"CCME-S3-POLICY-SECURETRANSPORT-{TAGS[role]}", bucket), "no finding"),
                    "ccme_audit_tls": ours.get((f"CCME-S3-POLICY-TLS12-{TAGS[role]}", bucket), "no finding"),
                }
            )
        figures["tricky"] = cases
        figures["account"] = account
    except (TimeoutError, subprocess.TimeoutExpired) as exc:
        figures["reason"] = figures.get("reason") or f"stopped: {exc}"
        figures["notes"].append(f"stopped: {exc}")
    finally:
        proxy.shutdown()
        refusing.shutdown()
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
    report_table(figures)
    write_json(args.json, figures)
    return 0 if figures["prowler_ran"] else 1


def report_table(figures: dict[str, Any]) -> None:
    print()
    for tool in figures["tools"]:
        print(
            f"{tool['tool']:<28} wall {tool['wall_s']:7.2f} s  exit {tool['exit']}  requests "
            f"{tool['requests_total']:>5} {dict(sorted(tool['requests'].items()))}"
        )
    if not figures["prowler_ran"]:
        print(f"Prowler could not be compared: {figures.get('reason')}")
    if figures["tricky"]:
        print(
            f"\n{'bucket':<36} {'truth':>6} {'Prowler':>10} {'ccme-audit':>11}   "
            f"{'TLS truth':>9} {'ccme-audit':>10}  case"
        )
        for c in figures["tricky"]:
            print(
                f"{c['bucket']:<36} {c['truth']:>6} {c['prowler']:>10} {c['ccme_audit']:>11}   "
                f"{c['truth_tls']:>9} {c['ccme_audit_tls']:>10}  {c['case']}"
            )
    for note in figures["notes"]:
        print(f"note: {note}")


if __name__ == "__main__":
    sys.exit(main())
