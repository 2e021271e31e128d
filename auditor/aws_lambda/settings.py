"""The Lambda's settings, from environment variables, and its audit configuration.

    CCME_AUDIT_CONFIG_JSON   the audit configuration (ccme-audit.yaml as JSON), or
    CCME_AUDIT_CONFIG_S3     s3://bucket/key of it (YAML or JSON by suffix; '{account}' in the key is replaced)
    REPORT_BUCKET            where reports go (required; expected versioned)
    REPORT_PREFIX            key prefix (default ccme-audit)
    REPORT_SSE               aws:kms (default) or AES256
    REPORT_KMS_KEY_ID        the KMS key for aws:kms (default: the bucket's default key)
    SNS_TOPIC_ARN            where changes are published (optional: no notification without it)
    PACKS, REGIONS           comma-separated overrides of the configuration
    MEMBER_ROLE_NAME         the role assumed in an event's account other than the function's own
    MEMBER_EXTERNAL_ID       its ExternalId (optional)
    METRICS                  "false" turns the CloudWatch metrics off (default on)
    SECURITY_HUB             "true" imports the findings into Security Hub in the function's account and
                             archives resolved ones (default off: a write, needing the two actions
                             deploy/template.yaml grants only when ImportToSecurityHub is true). Security
                             Hub takes an account's findings from that account only: an invocation
                             scanning a member account fails with them reported as not imported.
    HISTORY_REPORTS          N > 0: report.html shows when each rule last changed state, from the N newest
                             dated reports under the account's prefix (default 0: off; at most 500)
    ATTRIBUTE_CHANGES        "true": who changed each resource that went from PASS to FAIL since the previous
                             run, from CloudTrail (cloudtrail:LookupEvents in the scanned account; default off)
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.config import AuditConfig, load_config
from auditor.errors import InputError
from auditor.fileio import MAX_INPUT_BYTES, parse_json, parse_yaml

SSE_MODES = ("aws:kms", "AES256")
_PREFIX = re.compile(r"^[A-Za-z0-9!_.*'()/-]{0,200}$")


@dataclass(frozen=True)
class Settings:
    bucket: str
    prefix: str = "ccme-audit"
    sse: str = "aws:kms"
    kms_key_id: str | None = None
    topic_arn: str | None = None
    config_json: str | None = None
    config_s3: str | None = None
    packs: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    member_role_name: str | None = None
    member_external_id: str | None = None
    metrics: bool = True
    security_hub: bool = False
    attribute_changes: bool = False
    history_reports: int = 0


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (value or "").split(",") if p.strip())


def settings_from_env(env: Mapping[str, str]) -> Settings:
    bucket = env.get("REPORT_BUCKET", "").strip()
    if not bucket:
        raise InputError("REPORT_BUCKET is not set", place="environment", fix="set REPORT_BUCKET to the report bucket")
    prefix = env.get("REPORT_PREFIX", "ccme-audit").strip().strip("/")
    if not _PREFIX.match(prefix):
        raise InputError(f"REPORT_PREFIX '{prefix}' is not a safe key prefix", place="environment",
                         fix="use letters, digits and !_.*'()/-")
    sse = env.get("REPORT_SSE", "aws:kms").strip() or "aws:kms"
    if sse not in SSE_MODES:
        raise InputError(f"REPORT_SSE '{sse}' is not supported", place="environment", fix="use aws:kms or AES256")
    config_json = env.get("CCME_AUDIT_CONFIG_JSON") or None
    config_s3 = env.get("CCME_AUDIT_CONFIG_S3") or None
    if config_json and config_s3:
        raise InputError("both CCME_AUDIT_CONFIG_JSON and CCME_AUDIT_CONFIG_S3 are set", place="environment",
                         fix="set one of them")
    if config_s3 and not re.match(r"^s3://[a-z0-9.-]{3,63}/.+", config_s3):
        raise InputError(f"CCME_AUDIT_CONFIG_S3 '{config_s3}' is not s3://bucket/key", place="environment",
                         fix="write s3://BUCKET/KEY")
    history = env.get("HISTORY_REPORTS", "0").strip() or "0"
    if not history.isdigit() or int(history) > 500:
        raise InputError(f"HISTORY_REPORTS '{history}' is not a number of reports from 0 to 500",
                         place="environment", fix="set HISTORY_REPORTS=30, or 0 to turn the history off")
    return Settings(
        bucket=bucket,
        prefix=prefix,
        sse=sse,
        kms_key_id=env.get("REPORT_KMS_KEY_ID") or None,
        topic_arn=env.get("SNS_TOPIC_ARN") or None,
        config_json=config_json,
        config_s3=config_s3,
        packs=_split(env.get("PACKS")),
        regions=_split(env.get("REGIONS")),
        member_role_name=env.get("MEMBER_ROLE_NAME") or None,
        member_external_id=env.get("MEMBER_EXTERNAL_ID") or None,
        metrics=env.get("METRICS", "true").strip().lower() not in ("false", "0", "no", "off"),
        security_hub=_flag(env, "SECURITY_HUB"),
        attribute_changes=_flag(env, "ATTRIBUTE_CHANGES"),
        history_reports=int(history),
    )


def _flag(env: Mapping[str, str], name: str) -> bool:
    """An opt-in switch: true/false (1/0, yes/no, on/off); anything else is a configuration error."""
    value = env.get(name, "").strip().lower()
    if value in ("", "false", "0", "no", "off"):
        return False
    if value in ("true", "1", "yes", "on"):
        return True
    raise InputError(f"{name} '{env.get(name)}' is not true or false", place="environment", fix=f"set {name}=true")


def flatten(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Dotted overrides from a nested mapping (mappings merge into the defaults, other values replace)."""
    out: list[tuple[str, Any]] = []
    for key, value in data.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            out.extend(flatten(value, dotted))  # an empty mapping keeps the defaults
        else:
            out.append((dotted, value))
    return out


def config_document(settings: Settings, s3: Any, account: str | None) -> tuple[Any, str]:
    """The configuration document and a label naming where it came from."""
    if settings.config_json:
        return parse_json(settings.config_json, file="CCME_AUDIT_CONFIG_JSON"), "CCME_AUDIT_CONFIG_JSON"
    if settings.config_s3:
        from botocore.exceptions import BotoCoreError, ClientError

        url = settings.config_s3.replace("{account}", account or "")
        bucket, key = url[len("s3://"):].split("/", 1)
        try:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read(MAX_INPUT_BYTES + 1)
        except (ClientError, BotoCoreError) as exc:
            raise InputError(f"cannot read the configuration: {exc}", file=url,
                             fix="check CCME_AUDIT_CONFIG_S3 and s3:GetObject on it") from None
        if len(body) > MAX_INPUT_BYTES:
            raise InputError("the configuration is too large", file=url, fix="shorten it")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("the configuration is not UTF-8", file=url, fix="save it as UTF-8") from None
        parse = parse_json if key.lower().endswith(".json") else parse_yaml
        return parse(text, file=url), url
    return {}, "<defaults>"


def build_config(document: Any, label: str, overrides: list[tuple[str, Any]]) -> AuditConfig:
    if document is None:
        document = {}
    if not isinstance(document, Mapping):
        raise InputError("the configuration must be a mapping", file=label, place="/",
                         fix="write key: value pairs (see README, 'Configuration')")
    try:
        return load_config(Path(os.devnull), [*flatten(document), *overrides])
    except InputError as exc:
        raise InputError(exc.what, file=label, place=exc.place, fix=exc.fix) from None
