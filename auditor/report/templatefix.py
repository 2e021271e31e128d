"""A finding on a template is fixed in the template, not in the account: the file, the resource and the
property to change, as a unified diff (`git apply`). A live-account bundle (sh, CloudFormation, Terraform
stacks) is never built from a template's findings: their resource ids are `<file>#<logical id>`, not ids an
AWS API knows.

Only a property set on the resource itself, to one value that meets the rule, is patched (FIXES); a change
that needs judgement (a new key for a key spec, a bucket's logging target, a policy) is listed with its file
and line for a person to make. The patch edits the line that sets the property, or adds the property to the
resource's block with the indentation of its neighbours; it never rewrites anything else.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from auditor.engine.findings import Finding, Status


@dataclass(frozen=True)
class PropertyFix:
    """Set a property of a resource: CloudFormation (type, property, YAML value), Terraform (type, attribute,
    HCL value)."""

    cfn: tuple[str, str, str]
    tf: tuple[str, str, str] | None = None  # None: Terraform sets it in a resource of its own (a person's edit)


# The finding's evidence path -> the property that sets it, and the value that passes the rule.
FIXES = {
    "rotation_enabled": PropertyFix(("AWS::KMS::Key", "EnableKeyRotation", "true"),
                                    ("aws_kms_key", "enable_key_rotation", "true")),
    "key_state": PropertyFix(("AWS::KMS::Key", "Enabled", "true"), ("aws_kms_key", "is_enabled", "true")),
    "enable_dns_hostnames": PropertyFix(("AWS::EC2::VPC", "EnableDnsHostnames", "true"),
                                        ("aws_vpc", "enable_dns_hostnames", "true")),
    "enable_dns_support": PropertyFix(("AWS::EC2::VPC", "EnableDnsSupport", "true"),
                                      ("aws_vpc", "enable_dns_support", "true")),
    # A whole property (flow style), replacing what is written: the value is exactly what the rules ask.
    "versioning": PropertyFix(("AWS::S3::Bucket", "VersioningConfiguration", "{Status: Enabled}")),
    "public_access_block.": PropertyFix((
        "AWS::S3::Bucket", "PublicAccessBlockConfiguration",
        "{BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true}")),
    "encryption.": PropertyFix((
        "AWS::S3::Bucket", "BucketEncryption",
        "{ServerSideEncryptionConfiguration: [{ServerSideEncryptionByDefault: {SSEAlgorithm: AES256}}]}")),
}


def fix_for(path: object) -> PropertyFix | None:
    """The fix of an evidence path: by name, or by its prefix ending in '.'."""
    if not isinstance(path, str):
        return None
    return FIXES.get(path) or next((f for k, f in FIXES.items() if k.endswith(".") and path.startswith(k)), None)


def on_template(finding: Finding) -> bool:
    return bool(finding.location and finding.location.get("file")) or "#" in finding.resource_id


def split_template_findings(findings: Iterable[Finding]) -> tuple[list[Finding], list[Finding]]:
    """(findings for a live-account bundle, FAIL findings whose fix goes to templates). In a templates' report
    every FAIL is a template's, a resource none of them declares ("not found") included."""
    findings = list(findings)
    if not any(on_template(f) for f in findings):
        return findings, []
    live = [f for f in findings if f.status is not Status.FAIL]
    return live, [f for f in findings if f.status is Status.FAIL]


@dataclass(frozen=True)
class Edit:
    file: str
    logical: str | None  # None: the resource that starts at `line` (CloudFormation names buckets by name)
    prop: str
    value: str
    flavour: str  # cloudformation | terraform
    rule_id: str
    rtype: str = ""
    line: int | None = None


@dataclass(frozen=True)
class Plan:
    edits: tuple[Edit, ...]
    manual: tuple[tuple[Finding, str], ...]  # (finding, why it is not patched)


def plan(findings: Sequence[Finding]) -> Plan:
    edits: list[Edit] = []
    manual: list[tuple[Finding, str]] = []
    for finding in findings:
        file = str((finding.location or {}).get("file") or finding.resource_id.split("#", 1)[0])
        logical = finding.resource_id.split("#", 1)[1] if "#" in finding.resource_id else None
        line = (finding.location or {}).get("line")
        if logical is None and not finding.location:
            manual.append((finding, "no template declares it: add the resource to the templates"))
            continue
        terraform = file.endswith((".tf", ".tf.json"))
        fixes = [fix for fix in (fix_for(e.get("path")) for e in finding.evidence) if fix is not None]
        chosen = [(fix.tf if terraform else fix.cfn) for fix in dict.fromkeys(fixes)]
        if not chosen or any(c is None for c in chosen):
            manual.append((finding, "needs a person: no single property of this resource fixes this rule"))
            continue
        for rtype, prop, value in (c for c in chosen if c is not None):
            edits.append(Edit(file, logical, prop, value, "terraform" if terraform else "cloudformation",
                              finding.rule_id, rtype, line if isinstance(line, int) else None))
    return Plan(tuple(dict.fromkeys(edits)), tuple(manual))


def _block_cfn(lines: list[str], edit: Edit) -> tuple[int, int] | None:
    """(first line of Properties' body, end) of a CloudFormation YAML resource in block style, of the type the
    fix is for."""
    if edit.logical is not None:
        head = next((i for i, line in enumerate(lines)
                     if re.match(rf"^(\s+){re.escape(edit.logical)}:\s*$", line)), None)
    else:
        head = edit.line - 1 if edit.line and 0 < edit.line <= len(lines) else None
        if head is not None and not re.match(r"^\s+[A-Za-z0-9]+:\s*$", lines[head]):
            head = None
    if head is None:
        return None
    indent = len(lines[head]) - len(lines[head].lstrip())
    end = next((j for j in range(head + 1, len(lines))
                if lines[j].strip() and len(lines[j]) - len(lines[j].lstrip()) <= indent), len(lines))
    typed = re.compile(rf"^\s+Type:\s*['\"]?{re.escape(edit.rtype)}['\"]?\s*$")
    if not any(typed.match(lines[j]) for j in range(head + 1, end)):
        return None
    props = next((j for j in range(head + 1, end) if re.match(r"^\s+Properties:\s*$", lines[j])), None)
    if props is None:
        return None
    pindent = len(lines[props]) - len(lines[props].lstrip())
    body_end = next((j for j in range(props + 1, end)
                     if lines[j].strip() and len(lines[j]) - len(lines[j].lstrip()) <= pindent), end)
    return props + 1, body_end


def _block_tf(lines: list[str], edit: Edit) -> tuple[int, int] | None:
    """(first body line, closing brace line) of `resource "TYPE" "NAME" {`, of the type the fix is for."""
    rtype, _, name = (edit.logical or "").partition(".")
    if rtype != edit.rtype:
        return None
    head = next((i for i, line in enumerate(lines)
                 if re.match(rf'^resource\s+"{re.escape(rtype)}"\s+"{re.escape(name)}"\s*\{{\s*$', line)), None)
    if head is None:
        return None
    close = next((j for j in range(head + 1, len(lines)) if lines[j].rstrip() == "}"), None)
    return (head + 1, close) if close is not None else None


def _apply(lines: list[str], edit: Edit) -> bool:
    terraform = edit.flavour == "terraform"
    block = _block_tf(lines, edit) if terraform else _block_cfn(lines, edit)
    if block is None:
        return False
    start, end = block
    body = [j for j in range(start, end) if lines[j].strip()]
    if not body:
        return False
    first = lines[body[0]]
    indent = first[: len(first) - len(first.lstrip())]
    pattern = re.compile(rf"^({re.escape(indent)}){re.escape(edit.prop)}(\s*)" + ("=" if terraform else ":") + r"(.*)$")
    for j in body:
        match = pattern.match(lines[j].rstrip("\n"))
        if not match:
            continue
        # The property is set: its value (and, in YAML, the nested lines under it) become the fixed value.
        nested = j + 1
        while not terraform and nested < end and (
                not lines[nested].strip() or len(lines[nested]) - len(lines[nested].lstrip()) > len(indent)
                or lines[nested].startswith(indent + "- ")):  # a block sequence may sit at the key's indentation
            nested += 1
        while nested > j + 1 and not lines[nested - 1].strip():
            nested -= 1  # keep the blank lines that follow the property
        sep = f"{match.group(2)}= " if terraform else ": "
        lines[j:nested] = [f"{indent}{edit.prop}{sep}{edit.value}\n"]
        return True
    lines.insert(body[-1] + 1 if terraform else end, f"{indent}{edit.prop}{' = ' if terraform else ': '}{edit.value}\n")
    return True


def unified_diff(edits: Sequence[Edit], root: Path | None = None) -> tuple[str, list[Edit]]:
    """The patch of every edit (one diff per file, paths as the findings name them), and the edits that could
    not be placed (the resource or its property block was not found as written)."""
    root = root or Path.cwd()
    out: list[str] = []
    missed: list[Edit] = []
    by_file: dict[str, list[Edit]] = {}
    for edit in edits:
        by_file.setdefault(edit.file, []).append(edit)
    for file, group in sorted(by_file.items()):
        path = Path(file) if Path(file).is_absolute() else root / file
        try:
            original = path.read_text(encoding="utf-8").splitlines(keepends=True)
        except OSError:
            missed.extend(group)
            continue
        lines = list(original)
        # Edits that find their resource by line go first, from the bottom up, so no edit moves another's line;
        # the others find theirs by name.
        for edit in sorted(group, key=lambda e: (e.logical is not None, -(e.line or 0))):
            if not _apply(lines, edit):
                missed.append(edit)
        if lines != original:
            name = Path(file).as_posix()
            out.extend(difflib.unified_diff(original, lines, fromfile=f"a/{name}", tofile=f"b/{name}"))
    return "".join(out), missed
