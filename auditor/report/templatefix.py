"""A finding on a template is fixed in the template, not in the account: the file, the resource and the
property to change, as a unified diff (`git apply`). A live-account bundle (sh, CloudFormation, Terraform
stacks) is never built from a template's findings: their resource ids are `<file>#<logical id>`, not ids an
AWS API knows.

Only a property set on the resource itself, to one value that meets the rule, is patched (FIXES); in
Terraform a bucket's versioning, public access block, default encryption and access logging live in resources
of their own (aws_s3_bucket_versioning, ...) that name the bucket: changed there, or added after the bucket
(SPLIT_FIXES). A change that needs judgement (a new key for a key spec, a CloudFormation bucket's logging
target) is listed with its file and line for a person to make. The patch edits the line that sets the
property, or adds the property to the resource's block with the indentation of its neighbours; it never
rewrites anything else.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from auditor.engine.findings import Finding, Status
from auditor.report.hcltext import direct as _direct
from auditor.report.hcltext import nested as _nested
from auditor.report.hcltext import tf_resources as _tf_resources
from auditor.report.remediation import hcl

if TYPE_CHECKING:
    from auditor.report.policyfix import PolicyEdit


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


@dataclass(frozen=True)
class SplitFix:
    """Terraform (AWS provider 4+): a bucket setting lives in a resource of its own that names the bucket
    (`bucket = aws_s3_bucket.NAME.id`). Settings are (nested blocks, attribute, HCL value); `drop` removes
    attributes that would contradict them; `inline` is the aws_s3_bucket block of the older provider that
    would fight the resource (the patch refuses when it is there)."""

    rtype: str
    settings: tuple[tuple[tuple[str, ...], str, str], ...]
    drop: tuple[tuple[tuple[str, ...], str], ...] = ()
    inline: str | None = None


_SSE = ("rule", "apply_server_side_encryption_by_default")
SPLIT_FIXES = {
    "versioning": SplitFix("aws_s3_bucket_versioning", ((("versioning_configuration",), "status", '"Enabled"'),),
                           inline="versioning"),
    "public_access_block.": SplitFix("aws_s3_bucket_public_access_block", tuple(
        ((), name, "true") for name in ("block_public_acls", "block_public_policy", "ignore_public_acls",
                                        "restrict_public_buckets"))),
    "encryption.": SplitFix("aws_s3_bucket_server_side_encryption_configuration",
                            ((_SSE, "sse_algorithm", '"AES256"'),), drop=((_SSE, "kms_master_key_id"),),
                            inline="server_side_encryption_configuration"),
}


def split_fix_for(evidence: Mapping[str, Any]) -> SplitFix | None:
    """The Terraform resource and settings that fix one evidence item of a bucket, or None."""
    path = evidence.get("path")
    if not isinstance(path, str):
        return None
    if path in ("logging.target_bucket", "logging.target_prefix"):
        expected = evidence.get("expected")
        if not isinstance(expected, str) or not expected:
            return None
        return SplitFix("aws_s3_bucket_logging", (((), path.split(".", 1)[1], hcl(expected)),), inline="logging")
    return SPLIT_FIXES.get(path) or next(
        (f for k, f in SPLIT_FIXES.items() if k.endswith(".") and path.startswith(k)), None)


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
class SplitEdit:
    """Terraform: settings of the bucket resource `logical` (aws_s3_bucket.NAME) in the resource of their own
    (`fix.rtype`) that names it: changed there, or that resource added after the bucket's."""

    file: str
    logical: str
    fix: SplitFix
    rule_id: str
    line: int | None = None
    flavour: str = "terraform"

    @property
    def prop(self) -> str:
        return self.fix.rtype

    @property
    def value(self) -> str:
        return ", ".join(".".join((*blocks, name)) + f" = {value}" for blocks, name, value in self.fix.settings)


AnyEdit = Union[Edit, SplitEdit, "PolicyEdit"]


@dataclass(frozen=True)
class Plan:
    edits: tuple[AnyEdit, ...]
    manual: tuple[tuple[Finding, str], ...]  # (finding, why it is not patched)


def _split_edits(finding: Finding, file: str, logical: str | None, line: object) -> list[SplitEdit] | None:
    """The Terraform companion-resource edits that fix a bucket finding, or None when some evidence has none."""
    if not logical or not logical.startswith("aws_s3_bucket."):
        return None
    fixes = [split_fix_for(e) for e in finding.evidence if e.get("path") is not None]
    if not fixes or any(f is None for f in fixes):
        return None
    by_type: dict[str, SplitFix] = {}
    for fix in (f for f in fixes if f is not None):
        held = by_type.get(fix.rtype)
        by_type[fix.rtype] = fix if held is None else SplitFix(
            fix.rtype, tuple(dict.fromkeys(held.settings + fix.settings)), tuple(dict.fromkeys(held.drop + fix.drop)),
            fix.inline)
    return [SplitEdit(file, logical, fix, finding.rule_id, line if isinstance(line, int) else None)
            for fix in by_type.values()]


def plan(findings: Sequence[Finding]) -> Plan:
    from auditor.report.policyfix import is_policy_finding, plan_all

    edits: list[AnyEdit] = []
    manual: list[tuple[Finding, str]] = []
    policies: list[tuple[Finding, str, str | None, int | None]] = []
    for finding in findings:
        file = str((finding.location or {}).get("file") or finding.resource_id.split("#", 1)[0])
        logical = finding.resource_id.split("#", 1)[1] if "#" in finding.resource_id else None
        line = (finding.location or {}).get("line")
        if logical is None and not finding.location:
            manual.append((finding, "no template declares it: add the resource to the templates"))
            continue
        if is_policy_finding(finding):
            named = (finding.location or {}).get("logical_id") or logical
            policies.append((finding, file, named if isinstance(named, str) else None,
                             line if isinstance(line, int) else None))
            continue
        terraform = file.endswith((".tf", ".tf.json"))
        fixes = [fix for fix in (fix_for(e.get("path")) for e in finding.evidence) if fix is not None]
        chosen = [(fix.tf if terraform else fix.cfn) for fix in dict.fromkeys(fixes)]
        if terraform and file.endswith(".tf") and (not chosen or any(c is None for c in chosen)):
            named = logical or (finding.location or {}).get("logical_id")
            split = _split_edits(finding, file, named if isinstance(named, str) else None, line)
            if split:
                edits.extend(split)
                continue
        if not chosen or any(c is None for c in chosen):
            manual.append((finding, "needs a person: no single property of this resource fixes this rule"))
            continue
        for rtype, prop, value in (c for c in chosen if c is not None):
            edits.append(Edit(file, logical, prop, value, "terraform" if terraform else "cloudformation",
                              finding.rule_id, rtype, line if isinstance(line, int) else None))
    merged, refused = plan_all(policies)
    edits.extend(merged)
    manual.extend((finding, f"the policy is not merged: {why}") for finding, why in refused)
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


# ---------------------------------------------------------------------------------------------- Terraform blocks
def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _render_blocks(settings: Sequence[tuple[tuple[str, ...], str, str]], indent: str) -> list[str]:
    """HCL lines for settings under nested blocks (attributes first, then blocks in first-seen order)."""
    out = [f"{indent}{name} = {value}\n" for blocks, name, value in settings if not blocks]
    groups: dict[str, list[tuple[tuple[str, ...], str, str]]] = {}
    for blocks, name, value in settings:
        if blocks:
            groups.setdefault(blocks[0], []).append((blocks[1:], name, value))
    for block, inner in groups.items():
        out += [f"{indent}{block} {{\n", *_render_blocks(inner, indent + "  "), f"{indent}}}\n"]
    return out


def _set_in(lines: list[str], start: int, close: int, settings: Sequence[tuple[tuple[str, ...], str, str]],
            drop: Sequence[tuple[tuple[str, ...], str]]) -> None:
    """Apply settings (and drops) inside the block whose body is lines[start:close]; lines only grow or shrink
    inside that block, so the caller re-reads positions after each call."""
    for blocks, name, value in settings:
        s, c = start, close
        for depth, block in enumerate(blocks):
            found = _nested(lines, s, c, block)
            if found is None:
                indent = _indent_of(lines[c]) + "  "
                new = _render_blocks([(blocks[depth:], name, value)], indent)
                lines[c:c] = new
                close += len(new)
                break
            s, c = found[0] + 1, found[1]
        else:
            at = _direct(lines, s, c, name)
            if at is None:
                indent = _indent_of(lines[c]) + "  "
                lines.insert(c, f"{indent}{name} = {value}\n")
                close += 1
            else:
                match = re.match(rf"^(\s*{re.escape(name)}\s*=\s*)(.*?)(\s*)$", lines[at].rstrip("\n"))
                assert match is not None
                lines[at] = f"{match.group(1)}{value}\n"
    for blocks, name in drop:
        s, c = start, close
        for block in blocks:
            found = _nested(lines, s, c, block)
            if found is None:
                break
            s, c = found[0] + 1, found[1]
        else:
            at = _direct(lines, s, c, name)
            if at is not None:
                del lines[at]
                close -= 1


def _apply_split(lines: list[str], edit: SplitEdit) -> str | None:
    """None when applied, else why not."""
    rtype, _, name = edit.logical.partition(".")
    resources = _tf_resources(lines)
    bucket = next(((h, c) for t, n, h, c in resources if t == rtype and n == name), None)
    if bucket is None:
        return f"resource {edit.logical} is not written as `resource \"{rtype}\" \"{name}\" {{` in {edit.file}"
    if edit.fix.inline and _nested(lines, bucket[0] + 1, bucket[1], edit.fix.inline) is not None:
        return (f"{edit.logical} sets `{edit.fix.inline}` inline (AWS provider 3 style), which would fight a "
                f"{edit.fix.rtype}: move it to a {edit.fix.rtype} resource by hand")
    ref = re.compile(rf"^\s*bucket\s*=\s*{re.escape(edit.logical)}\.(id|bucket)\s*$")
    companions = [(h, c) for t, _n, h, c in resources
                  if t == edit.fix.rtype and any(ref.match(lines[j]) for j in range(h + 1, c))]
    if len(companions) > 1:
        return f"more than one {edit.fix.rtype} names {edit.logical}: keep one, then fix it"
    if companions:
        head, close = companions[0]
        _set_in(lines, head + 1, close, edit.fix.settings, edit.fix.drop)
        return None
    taken = {n for t, n, _h, _c in resources if t == edit.fix.rtype}
    new_name = name if name not in taken else next(f"{name}_ccme{i or ''}" for i in range(100)
                                                   if f"{name}_ccme{i or ''}" not in taken)
    block = ["\n", f'resource "{edit.fix.rtype}" "{new_name}" {{\n', f"  bucket = {edit.logical}.id\n",
             *_render_blocks(edit.fix.settings, "  "), "}\n"]
    lines[bucket[1] + 1:bucket[1] + 1] = block
    return None


def _apply_any(lines: list[str], edit: AnyEdit) -> str | None:
    from auditor.report.policyfix import PolicyEdit, apply

    if isinstance(edit, SplitEdit):
        return _apply_split(lines, edit)
    if isinstance(edit, PolicyEdit):
        why = apply(lines, edit)
        return None if why is None else f"the policy is not merged: {why}"
    if _apply(lines, edit):
        return None
    return (f"the resource or its property block is not written as expected; set {edit.prop} to {edit.value} "
            "by hand")


def patch_files(edits: Sequence[AnyEdit], root: Path | None = None) -> tuple[str, list[tuple[AnyEdit, str]]]:
    """The patch of every edit (one diff per file, paths as the findings name them), and the edits that could
    not be placed, each with the reason."""
    root = root or Path.cwd()
    out: list[str] = []
    missed: list[tuple[AnyEdit, str]] = []
    by_file: dict[str, list[AnyEdit]] = {}
    for edit in edits:
        by_file.setdefault(edit.file, []).append(edit)
    for file, group in sorted(by_file.items()):
        path = Path(file) if Path(file).is_absolute() else root / file
        try:
            original = path.read_text(encoding="utf-8").splitlines(keepends=True)
        except OSError as exc:
            missed.extend((edit, f"cannot read {file}: {exc.strerror or exc}") for edit in group)
            continue
        lines = list(original)
        # Edits that find their resource by line go first, from the bottom up, so no edit moves another's line;
        # the others find theirs by name.
        for edit in sorted(group, key=lambda e: (not isinstance(e, Edit) or e.logical is not None, -(e.line or 0))):
            why = _apply_any(lines, edit)
            if why is not None:
                missed.append((edit, why))
        if lines != original:
            name = Path(file).as_posix()
            out.extend(difflib.unified_diff(original, lines, fromfile=f"a/{name}", tofile=f"b/{name}"))
    return "".join(out), missed


def unified_diff(edits: Sequence[AnyEdit], root: Path | None = None) -> tuple[str, list[AnyEdit]]:
    """patch_files without the reasons."""
    patch, missed = patch_files(edits, root)
    return patch, [edit for edit, _why in missed]
