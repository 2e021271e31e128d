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
    tf: tuple[str, str, str]


# The finding's evidence path -> the property that sets it, and the value that passes the rule.
FIXES = {
    "rotation_enabled": PropertyFix(("AWS::KMS::Key", "EnableKeyRotation", "true"),
                                    ("aws_kms_key", "enable_key_rotation", "true")),
    "key_state": PropertyFix(("AWS::KMS::Key", "Enabled", "true"), ("aws_kms_key", "is_enabled", "true")),
    "enable_dns_hostnames": PropertyFix(("AWS::EC2::VPC", "EnableDnsHostnames", "true"),
                                        ("aws_vpc", "enable_dns_hostnames", "true")),
    "enable_dns_support": PropertyFix(("AWS::EC2::VPC", "EnableDnsSupport", "true"),
                                      ("aws_vpc", "enable_dns_support", "true")),
}


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
    logical: str
    prop: str
    value: str
    flavour: str  # cloudformation | terraform
    rule_id: str


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
        paths = [e.get("path") for e in finding.evidence if e.get("path") in FIXES]
        if logical is None and not finding.location:
            manual.append((finding, "no template declares it: add the resource to the templates"))
            continue
        if logical is None:
            manual.append((finding, "needs a person: no single property fixes this rule"))
            continue
        if not paths:
            manual.append((finding, "needs a person: no single property fixes this rule"))
            continue
        terraform = file.endswith((".tf", ".tf.json"))
        for path in dict.fromkeys(paths):
            fix = FIXES[str(path)]
            _, prop, value = fix.tf if terraform else fix.cfn
            edits.append(Edit(file, logical, prop, value, "terraform" if terraform else "cloudformation",
                              finding.rule_id))
    return Plan(tuple(dict.fromkeys(edits)), tuple(manual))


def _block_cfn(lines: list[str], logical: str) -> tuple[int, int] | None:
    """(first line of Properties' body, end) of a CloudFormation YAML resource (block style)."""
    head = next((i for i, line in enumerate(lines) if re.match(rf"^(\s+){re.escape(logical)}:\s*$", line)), None)
    if head is None:
        return None
    indent = len(lines[head]) - len(lines[head].lstrip())
    end = next((j for j in range(head + 1, len(lines))
                if lines[j].strip() and len(lines[j]) - len(lines[j].lstrip()) <= indent), len(lines))
    props = next((j for j in range(head + 1, end) if re.match(r"^\s+Properties:\s*$", lines[j])), None)
    if props is None:
        return None
    pindent = len(lines[props]) - len(lines[props].lstrip())
    body_end = next((j for j in range(props + 1, end)
                     if lines[j].strip() and len(lines[j]) - len(lines[j].lstrip()) <= pindent), end)
    return props + 1, body_end


def _block_tf(lines: list[str], logical: str) -> tuple[int, int] | None:
    """(first body line, closing brace line) of `resource "TYPE" "NAME" {`."""
    rtype, _, name = logical.partition(".")
    head = next((i for i, line in enumerate(lines)
                 if re.match(rf'^resource\s+"{re.escape(rtype)}"\s+"{re.escape(name)}"\s*\{{\s*$', line)), None)
    if head is None:
        return None
    close = next((j for j in range(head + 1, len(lines)) if lines[j].rstrip() == "}"), None)
    return (head + 1, close) if close is not None else None


def _apply(lines: list[str], edit: Edit) -> bool:
    block = _block_tf(lines, edit.logical) if edit.flavour == "terraform" else _block_cfn(lines, edit.logical)
    if block is None:
        return False
    start, end = block
    body = [j for j in range(start, end) if lines[j].strip()]
    terraform = edit.flavour == "terraform"
    pattern = re.compile(rf"^(\s*){re.escape(edit.prop)}(\s*)" + ("=" if terraform else ":") + r"\s*\S.*$")
    for j in body:
        match = pattern.match(lines[j].rstrip("\n"))
        if match:  # the property is set: change its value, keep its indentation (and Terraform's alignment)
            sep = f"{match.group(2)}= " if terraform else ": "
            lines[j] = f"{match.group(1)}{edit.prop}{sep}{edit.value}\n"
            return True
    if not body:
        return False
    first = lines[body[0]]
    indent = first[: len(first) - len(first.lstrip())]
    lines.insert(body[-1] + 1, f"{indent}{edit.prop}{' = ' if terraform else ': '}{edit.value}\n")
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
        for edit in group:
            if not _apply(lines, edit):
                missed.append(edit)
        if lines != original:
            name = Path(file).as_posix()
            out.extend(difflib.unified_diff(original, lines, fromfile=f"a/{name}", tofile=f"b/{name}"))
    return "".join(out), missed
