"""A policy finding on a template is fixed by merging the CCME statements into the policy the template declares.

The statements are the ones the live fixes merge (auditor.report.remediation: the seed's TLS denies and log
delivery for a bucket, the seed's key policy for a key, each with a fixed Sid). They are compared with the
declared document as the template resolves it (the finding's attributes): a statement meaning the same is
not added twice; a declared statement reusing a CCME Sid with other content stops the fix, as does a document
that is not literal (an unresolved reference, a `file()` call, a form this module does not edit). Every other
statement is kept as written: the patch adds lines, it never rewrites the declared ones.

Written forms: CloudFormation YAML (a block KeyPolicy / PolicyDocument with a block Statement list) and JSON
(statements inserted after the last declared one); a missing KeyPolicy or AWS::S3::BucketPolicy is added.
Terraform: `policy = jsonencode({...})` with a `Statement = [` list, a `data "aws_iam_policy_document"` the
policy names, a heredoc of JSON; a missing `policy` or aws_s3_bucket_policy is added. Added values name the
template's own resources and pseudo parameters where it can (`!GetAtt Bucket.Arn`, `${AWS::AccountId}`,
`aws_s3_bucket.b.arn`, `data.aws_caller_identity.x`).
"""

from __future__ import annotations

import json
import json.decoder
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auditor.engine.findings import Finding
from auditor.partitions import partition_of
from auditor.report.hcltext import direct as _direct
from auditor.report.hcltext import nested as _nested
from auditor.report.hcltext import tf_resources as _tf_resources
from auditor.report.remediation import (
    RemediationError,
    _normal,
    bucket_plan,
    bucket_policy_statements,
    fix_context,
    hcl,
    kms_plan,
    to_yaml,
    with_sids,
)
from auditor.snapshot import UNKNOWN_KEY

# Requirements whose fix is adding the CCME statements; the others (outside access, over-strict TLS) need a
# statement removed: a person's call, unless the resource declares no policy at all.
ADDS = frozenset({"s3-deny-insecure-transport", "s3-deny-tls-below-1.2", "s3-allow-log-delivery",
                  "kms-root-full-access", "kms-dcv-proxy-autoscaling", "kms-cloudwatch-logs"})
NO_POLICY_ADDS = frozenset({"kms-no-outside-access"})  # a key without a policy: the seed's policy grants nobody outside


class Refused(Exception):
    """The policy cannot be merged as written: the reason, for a person."""


@dataclass(frozen=True)
class PolicyEdit:
    """Add `statements` to the policy of a key or a bucket declared in `file` (None: the resource declares no
    policy, the whole `document` is added)."""

    file: str
    logical: str  # the key's or the bucket's logical id / Terraform address
    kind: str  # key | bucket
    statements: tuple[str, ...]  # JSON of each statement to add (hashable)
    document: str | None  # JSON of the whole document when none is declared
    rule_id: str
    names: tuple[tuple[str, str], ...]  # (literal, what it names): bucket ARN, account, partition, region
    line: int | None = None
    flavour: str = ""

    @property
    def prop(self) -> str:
        return "KeyPolicy" if self.kind == "key" else "bucket policy"

    @property
    def value(self) -> str:
        sids = [json.loads(s).get("Sid") for s in self.statements]
        return "the statements " + ", ".join(json.dumps(s) for s in sids)


def requirement_of(finding: Finding) -> str | None:
    for evidence in finding.evidence:
        check = str(evidence.get("check", ""))
        match = re.fullmatch(r"a policy meeting ([a-z0-9.-]+) is attached", check) or re.fullmatch(r"([a-z0-9.-]+)",
                                                                                                   check)
        if match:
            return match.group(1)
        if evidence.get("requirement"):
            return str(evidence["requirement"])
    return None


def is_policy_finding(finding: Finding) -> bool:
    return any(e.get("path") == "policy" for e in finding.evidence) and finding.resource_type in ("kms.key",
                                                                                                   "s3.bucket")


def _unknowns(value: Any) -> list[str]:
    if isinstance(value, Mapping):
        if UNKNOWN_KEY in value and len(value) == 1:
            return [str(value[UNKNOWN_KEY])]
        return [u for v in value.values() for u in _unknowns(v)]
    if isinstance(value, list):
        return [u for v in value for u in _unknowns(v)]
    return []


def plan_policy(finding: Finding, file: str, logical: str | None, line: int | None) -> PolicyEdit:
    """The edit merging the CCME statements into the declared policy; Refused with the reason otherwise."""
    requirement = requirement_of(finding)
    ctx = fix_context(finding)
    declared = ctx.attributes.get("policy") if ctx.attributes is not None else None
    if "TLS-OVERSTRICT" in finding.rule_id:
        raise Refused("the policy denies TLS versions the seed allows: removing a deny is a person's call")
    if requirement not in ADDS and not (requirement in NO_POLICY_ADDS and declared is None):
        raise Refused("the policy grants what it must not: removing a grant is a person's call")
    if not logical:
        raise Refused("the resource's logical id is unknown")
    unknown = _unknowns(declared)
    if unknown:
        raise Refused(f"the declared policy is not literal ({unknown[0]}): add the CCME statements by hand")
    try:
        partition = partition_of(ctx.region).name
        if finding.resource_type == "kms.key":
            key = kms_plan(ctx)
            required = [{"Sid": s["Sid"], **s} for s in with_sids(key["policy"]["Statement"], "kms")]
            whole = {**key["policy"], "Statement": required}
            names = [(ctx.account, "account")]
        else:
            bucket = bucket_plan(ctx)
            required = with_sids(bucket_policy_statements(bucket["name"], logging_target=bucket["role"] == "logging",
                                                          account=ctx.account, partition=partition), "s3")
            whole = {"Version": "2012-10-17", "Statement": required}
            names = [(f"arn:{partition}:s3:::{bucket['name']}", "bucket_arn"), (ctx.account, "account")]
        names += [(f"arn:{partition}:", "partition"), (f".{ctx.region}.amazonaws.com", "region")]
    except RemediationError as exc:
        raise Refused(str(exc)) from None
    if declared is not None and not isinstance(declared, Mapping):
        raise Refused("the declared policy is not a JSON object: add the CCME statements by hand")
    statements = declared.get("Statement") if declared is not None else []
    statements = [statements] if isinstance(statements, Mapping) else statements
    if not isinstance(statements, list) or not all(isinstance(s, Mapping) for s in statements):
        raise Refused("the declared policy's Statement is not a list of statements")
    present = {repr(_normal(s)) for s in statements}
    by_sid = {s.get("Sid"): s for s in statements if s.get("Sid")}
    add = []
    for statement in required:
        held = by_sid.get(statement["Sid"])
        if held is not None:
            if repr(_normal(held)) != repr(_normal(statement)):
                raise Refused(f"its statement {json.dumps(statement['Sid'])} has other content than the CCME "
                              "statement of that Sid: rename or remove it, then fix again")
            continue
        if repr(_normal(statement)) not in present:
            add.append(statement)
    if declared is not None and not add:
        raise Refused("every CCME statement is there: another statement defeats them, a person's call")
    kind = "key" if finding.resource_type == "kms.key" else "bucket"
    add = [{"Sid": s["Sid"], **s} for s in add]  # the Sid first, as people write it
    return PolicyEdit(file, logical, kind, tuple(json.dumps(s) for s in add),
                      json.dumps(whole) if declared is None else None, finding.rule_id, tuple(names), line,
                      "terraform" if file.endswith(".tf") else "cloudformation")


# ---------------------------------------------------------------------------------------------- references
@dataclass(frozen=True)
class Raw:
    """An expression written as is (a CloudFormation tag, a Terraform reference)."""

    text: str


def _cfn_value(value: str, edit: PolicyEdit, bucket: str | None) -> str | Raw:
    text = value
    for literal, what in edit.names:
        if what == "bucket_arn" and bucket:
            text = text.replace(literal, "${" + bucket + ".Arn}")
        elif what == "account":
            text = text.replace(literal, "${AWS::AccountId}")
        elif what == "partition":
            text = text.replace(literal, "arn:${AWS::Partition}:")
        elif what == "region":
            text = text.replace(literal, ".${AWS::Region}.amazonaws.com")
    if text == value:
        return value
    if bucket and text == "${" + bucket + ".Arn}":
        return Raw(f"!GetAtt {bucket}.Arn")
    if text == "${AWS::AccountId}":
        return Raw('!Ref "AWS::AccountId"')
    return Raw("!Sub " + json.dumps(text))


def _tf_value(value: str, edit: PolicyEdit, bucket: str | None, data: Mapping[str, str]) -> str | Raw:
    text = hcl(value)[1:-1]  # the HCL string body, ${ escaped
    parts = {"bucket_arn": f"{bucket}.arn" if bucket else None,
             "account": f"data.aws_caller_identity.{data['aws_caller_identity']}.account_id"
             if "aws_caller_identity" in data else None,
             "partition": f"data.aws_partition.{data['aws_partition']}.partition" if "aws_partition" in data else None,
             "region": f"data.aws_region.{data['aws_region']}.name" if "aws_region" in data
             else "var.region" if "variable" in data else None}
    for literal, what in edit.names:
        expr = parts.get(what)
        if not expr:
            continue
        if what == "partition":
            text = text.replace(literal, "arn:${" + expr + "}:")
        elif what == "region":
            text = text.replace(literal, ".${" + expr + "}.amazonaws.com")
        else:
            text = text.replace(literal, "${" + expr + "}")
    whole = re.fullmatch(r"\$\{([^${}]+)\}", text)
    if whole:
        return Raw(whole.group(1))
    return Raw(f'"{text}"')


def _mapped(node: Any, leaf: Any) -> Any:
    if isinstance(node, Mapping):
        return {k: _mapped(v, leaf) for k, v in node.items()}
    if isinstance(node, list):
        return [_mapped(v, leaf) for v in node]
    if isinstance(node, str):
        return leaf(node)
    return node


# ---------------------------------------------------------------------------------------------- CloudFormation
def _yaml(value: Any, indent: int) -> list[str]:
    """Block YAML of `value` at `indent`, Raw leaves written as they are."""
    raws: list[str] = []

    def hold(node: Any) -> Any:
        if isinstance(node, Raw):
            raws.append(node.text)
            return f"__ccme_raw_{len(raws) - 1}__"
        if isinstance(node, Mapping):
            return {k: hold(v) for k, v in node.items()}
        if isinstance(node, list):
            return [hold(v) for v in node]
        return node

    text = to_yaml(hold(value), indent)
    text = re.sub(r"[\"']?__ccme_raw_(\d+)__[\"']?", lambda m: raws[int(m.group(1))], text)
    return [line + "\n" for line in text.split("\n")]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _cfn_resources(lines: list[str]) -> dict[str, tuple[int, int]]:
    """logical id -> (head, end) of each resource under `Resources:` (block style)."""
    top = next((i for i, line in enumerate(lines) if re.match(r"^Resources:\s*$", line)), None)
    if top is None:
        return {}
    body = [i for i in range(top + 1, len(lines)) if lines[i].strip() and not lines[i].lstrip().startswith("#")]
    if not body:
        return {}
    level = _indent(lines[body[0]])
    end_all = next((i for i in body if _indent(lines[i]) == 0), len(lines))
    heads = [i for i in body if i < end_all and _indent(lines[i]) == level
             and re.match(r"^\s+[A-Za-z0-9]+:\s*$", lines[i])]
    out = {}
    for n, head in enumerate(heads):
        end = heads[n + 1] if n + 1 < len(heads) else end_all
        while end > head + 1 and not lines[end - 1].strip():
            end -= 1
        out[lines[head].strip()[:-1]] = (head, end)
    return out


def _child(lines: list[str], start: int, end: int, key: str) -> tuple[int, int, str] | None:
    """(line, end of its nested lines, the text after `key:`) of a direct child key in lines[start:end]."""
    body = [i for i in range(start, end) if lines[i].strip()]
    if not body:
        return None
    level = _indent(lines[body[0]])
    for i in body:
        match = re.match(rf"^\s{{{level}}}{re.escape(key)}:(.*)$", lines[i].rstrip("\n"))
        if match and _indent(lines[i]) == level:
            stop = next((j for j in range(i + 1, end) if lines[j].strip() and _indent(lines[j]) <= level
                         and not (lines[j].lstrip().startswith("- ") and _indent(lines[j]) == level
                                  and key == "Statement")), end)
            while stop > i + 1 and not lines[stop - 1].strip():
                stop -= 1
            return i, stop, match.group(1).strip()
    return None


# ---------------------------------------------------------------------------------------------- CloudFormation JSON
def _json_spans(text: str) -> dict[tuple[Any, ...], tuple[int, int]]:
    """(start, end) offset of every value of a JSON document, by its path (keys and list indexes)."""
    scanstring = json.decoder.scanstring  # type: ignore[attr-defined]
    spans: dict[tuple[Any, ...], tuple[int, int]] = {}
    scalar = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?|true|false|null")

    def ws(i: int) -> int:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        return i

    def value(i: int, path: tuple[Any, ...]) -> int:
        i = ws(i)
        start = i
        if text[i] == "{":
            i = ws(i + 1)
            while text[i] != "}":
                key, i = scanstring(text, i + 1)
                i = ws(i)
                i = ws(value(i + 1, (*path, key)))  # past ':'
                if text[i] == ",":
                    i = ws(i + 1)
            end = i + 1
        elif text[i] == "[":
            i, n = ws(i + 1), 0
            while text[i] != "]":
                i = ws(value(i, (*path, n)))
                n += 1
                if text[i] == ",":
                    i = ws(i + 1)
            end = i + 1
        elif text[i] == '"':
            end = scanstring(text, i + 1)[1]
        else:
            match = scalar.match(text, i)
            if match is None:
                raise Refused("the template is not JSON")
            end = match.end()
        spans[path] = (start, end)
        return end

    value(0, ())
    return spans


def _cfn_json_value(value: str, edit: PolicyEdit, bucket: str | None) -> Any:
    """The JSON form of _cfn_value: {"Fn::GetAtt": [...]}, {"Ref": ...}, {"Fn::Sub": ...}."""
    raw = _cfn_value(value, edit, bucket)
    if not isinstance(raw, Raw):
        return raw
    if raw.text.startswith("!GetAtt "):
        return {"Fn::GetAtt": raw.text.removeprefix("!GetAtt ").split(".", 1)}
    if raw.text.startswith("!Ref "):
        return {"Ref": json.loads(raw.text.removeprefix("!Ref "))}
    return {"Fn::Sub": json.loads(raw.text.removeprefix("!Sub "))}


def _cfn_json_apply(lines: list[str], edit: PolicyEdit) -> None:
    text = "".join(lines)
    try:
        template = json.loads(text)
        spans = _json_spans(text)
    except (ValueError, IndexError):
        raise Refused(f"{edit.file} is not JSON") from None
    resources = template.get("Resources") if isinstance(template, dict) else None
    if not isinstance(resources, dict) or edit.logical not in resources:
        raise Refused(f"resource {edit.logical} is not in {edit.file}'s Resources")
    step = 4 if re.search(r'\n {4}"Resources"', text) else 2
    bucket = edit.logical if edit.kind == "bucket" else None

    def leaf(v: str) -> Any:
        return _cfn_json_value(v, edit, bucket)

    def insert_after(path: tuple[Any, ...], key: str | None, node: Any) -> str:
        """Text after the value at `path` (a member `"key": node`, or a list item), indented like it."""
        start, end = spans[path]
        line_start = text.rfind("\n", 0, start) + 1
        indent = re.match(r"[ \t]*", text[line_start:]).group(0)  # type: ignore[union-attr]
        body = json.dumps(node, indent=step).replace("\n", "\n" + indent)
        member = f"{json.dumps(key)}: {body}" if key is not None else body
        return text[:end] + ",\n" + indent + member + text[end:]

    if edit.kind == "key":
        owner, prop = edit.logical, "KeyPolicy"
    else:
        owners = [name for name, res in resources.items() if isinstance(res, dict)
                  and res.get("Type") == "AWS::S3::BucketPolicy"
                  and (res.get("Properties") or {}).get("Bucket") == {"Ref": bucket}]
        if len(owners) > 1:
            raise Refused(f"more than one AWS::S3::BucketPolicy names {bucket}: keep one, then fix again")
        if not owners:
            if edit.document is None:
                raise Refused(f'the policy of {bucket} is not declared as "Bucket": {{"Ref": "{bucket}"}}')
            name = f"{bucket}Policy"
            while name in resources:
                name += "Ccme"
            document = _mapped(json.loads(edit.document), leaf)
            new = {"Type": "AWS::S3::BucketPolicy",
                   "Properties": {"Bucket": {"Ref": bucket}, "PolicyDocument": document}}
            lines[:] = insert_after(("Resources", bucket), name, new).splitlines(keepends=True)
            return
        owner, prop = owners[0], "PolicyDocument"
    props = resources[owner].get("Properties") if isinstance(resources[owner], dict) else None
    if not isinstance(props, dict) or not props:
        raise Refused(f"{owner} has no Properties object")
    policy = props.get(prop)
    if policy is None:
        if edit.document is None:
            raise Refused(f"{owner} declares no {prop}")
        last = list(props)[-1]
        document = _mapped(json.loads(edit.document), leaf)
        lines[:] = insert_after(("Resources", owner, "Properties", last), prop, document).splitlines(keepends=True)
        return
    statements = policy.get("Statement") if isinstance(policy, dict) else None
    if not isinstance(statements, list) or not statements:
        raise Refused(f"{owner}'s {prop} has no list of statements written in the template: add the CCME "
                      "statements by hand")
    for statement in (json.loads(s) for s in edit.statements):
        path = ("Resources", owner, "Properties", prop, "Statement", len(statements) - 1)
        text = insert_after(path, None, _mapped(statement, leaf))
        spans = _json_spans(text)
        statements.append(statement)
    lines[:] = text.splitlines(keepends=True)


def _cfn_apply(lines: list[str], edit: PolicyEdit) -> None:
    if edit.file.endswith(".json") or "".join(lines).lstrip().startswith("{"):
        _cfn_json_apply(lines, edit)
        return
    resources = _cfn_resources(lines)
    if edit.kind == "key":
        if edit.logical not in resources:
            raise Refused(f"resource {edit.logical} is not written in block style in {edit.file}")
        owner, prop, bucket = edit.logical, "KeyPolicy", None
    else:
        bucket = edit.logical
        if bucket not in resources:
            raise Refused(f"resource {bucket} is not written in block style in {edit.file}")
        ref = re.compile(rf"^\s+Bucket:\s*(!Ref\s+{re.escape(bucket)}|\{{\s*Ref:\s*{re.escape(bucket)}\s*\}})\s*$")
        owners = [name for name, (h, e) in resources.items() if any(ref.match(lines[j]) for j in range(h, e))
                  and any(re.match(r"^\s+Type:\s*['\"]?AWS::S3::BucketPolicy", lines[j]) for j in range(h, e))]
        if len(owners) > 1:
            raise Refused(f"more than one AWS::S3::BucketPolicy names {bucket}: keep one, then fix again")
        if not owners:
            if edit.document is None:
                raise Refused(f"the policy of {bucket} is not declared as `Bucket: !Ref {bucket}`")
            head, end = resources[bucket]
            level = _indent(lines[head])
            name = f"{bucket}Policy"
            while name in resources:
                name += "Ccme"
            document = _mapped(json.loads(edit.document), lambda v: _cfn_value(v, edit, bucket))
            block = {name: {"Type": "AWS::S3::BucketPolicy",
                            "Properties": {"Bucket": Raw(f"!Ref {bucket}"), "PolicyDocument": document}}}
            lines[end:end] = _yaml(block, level)
            return
        owner, prop = owners[0], "PolicyDocument"
    head, end = resources[owner]
    props = _child(lines, head + 1, end, "Properties")
    if props is None or props[2]:
        raise Refused(f"{owner}'s Properties are not written as a block mapping")
    found = _child(lines, props[0] + 1, props[1], prop)
    if found is None:
        if edit.document is None:
            raise Refused(f"{owner} declares no {prop} as a block")
        document = _mapped(json.loads(edit.document), lambda v: _cfn_value(v, edit, bucket))
        level = _indent(next(lines[j] for j in range(props[0] + 1, props[1]) if lines[j].strip()))
        lines[props[1]:props[1]] = _yaml({prop: document}, level)
        return
    if found[2]:
        raise Refused(f"{owner}'s {prop} is not written as a YAML block mapping ({found[2][:40]}): add the CCME "
                      "statements by hand")
    statement = _child(lines, found[0] + 1, found[1], "Statement")
    if statement is None or statement[2]:
        raise Refused(f"{owner}'s {prop} has no block list of statements: add the CCME statements by hand")
    items = [j for j in range(statement[0] + 1, statement[1]) if lines[j].lstrip().startswith("- ")]
    level = _indent(lines[items[0]]) if items else _indent(lines[statement[0]]) + 2
    new = [_mapped(json.loads(s), lambda v: _cfn_value(v, edit, bucket)) for s in edit.statements]
    lines[statement[1]:statement[1]] = _yaml(new, level)


# ---------------------------------------------------------------------------------------------- Terraform
def _hcl(node: Any, depth: int) -> str:
    pad, end = "  " * (depth + 1), "  " * depth
    if isinstance(node, Raw):
        return node.text
    if isinstance(node, Mapping):
        if not node:
            return "{}"
        return "{\n" + "\n".join(f"{pad}{k} = {_hcl(v, depth + 1)}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k)
                                 else f"{pad}{hcl(k)} = {_hcl(v, depth + 1)}" for k, v in node.items()) + f"\n{end}}}"
    if isinstance(node, list):
        if not node:
            return "[]"
        return "[\n" + "".join(f"{pad}{_hcl(v, depth + 1)},\n" for v in node) + f"{end}]"
    return hcl(node)


def _tf_data(lines: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in lines:
        match = re.match(r'^data\s+"(aws_caller_identity|aws_partition|aws_region)"\s+"([^"]+)"', line)
        if match:
            out.setdefault(match.group(1), match.group(2))
        if re.match(r'^variable\s+"region"\s*\{', line):
            out["variable"] = "region"  # the deployment Region as the template names it
    return out


def _tf_policy_document_block(statement: Mapping[str, Any], leaf: Any, indent: str) -> list[str]:
    """A `statement { ... }` block of data "aws_iam_policy_document" for one JSON statement."""
    def values(v: Any) -> str:
        return "[" + ", ".join(_hcl(leaf(str(x)), 0) for x in (v if isinstance(v, list) else [v])) + "]"

    inner = indent + "  "
    out = [f"{indent}statement {{\n"]
    names = {"Sid": "sid", "Effect": "effect", "Action": "actions", "NotAction": "not_actions",
             "Resource": "resources", "NotResource": "not_resources"}
    for key, value in statement.items():
        if key in ("Sid", "Effect"):
            out.append(f"{inner}{names[key]} = {hcl(value)}\n")
        elif key in names:
            out.append(f"{inner}{names[key]} = {values(value)}\n")
        elif key in ("Principal", "NotPrincipal"):
            block = "principals" if key == "Principal" else "not_principals"
            kinds = value.items() if isinstance(value, Mapping) else [("AWS", value)]
            for kind, ids in kinds:
                out += [f"{inner}{block} {{\n", f"{inner}  type        = {hcl(kind)}\n",
                        f"{inner}  identifiers = {values(ids)}\n", f"{inner}}}\n"]
        elif key == "Condition":
            for test, pairs in value.items():
                for variable, vals in pairs.items():
                    out += [f"{inner}condition {{\n", f"{inner}  test     = {hcl(test)}\n",
                            f"{inner}  variable = {hcl(variable)}\n", f"{inner}  values   = {values(vals)}\n",
                            f"{inner}}}\n"]
        else:
            raise Refused(f"a statement key {key} has no aws_iam_policy_document form")
    return [*out, f"{indent}}}\n"]


def _tf_apply(lines: list[str], edit: PolicyEdit) -> None:
    resources = _tf_resources(lines)
    data = _tf_data(lines)
    rtype, _, name = edit.logical.partition(".")
    own = next(((h, c) for t, n, h, c in resources if t == rtype and n == name), None)
    if own is None:
        raise Refused(f"resource {edit.logical} is not written as `resource \"{rtype}\" \"{name}\" {{`")
    bucket = edit.logical if edit.kind == "bucket" else None

    def leaf(v: str) -> Any:
        return _tf_value(v, edit, bucket, data)

    if edit.kind == "key":
        owner = own
    else:
        if _direct(lines, own[0] + 1, own[1], "policy") is not None:
            raise Refused(f"{edit.logical} sets `policy` inline (AWS provider 3 style): move it to an "
                          "aws_s3_bucket_policy by hand")
        ref = re.compile(rf"^\s*bucket\s*=\s*{re.escape(edit.logical)}\.(id|bucket)\s*$")
        owners = [(h, c) for t, _n, h, c in resources
                  if t == "aws_s3_bucket_policy" and any(ref.match(lines[j]) for j in range(h + 1, c))]
        if len(owners) > 1:
            raise Refused(f"more than one aws_s3_bucket_policy names {edit.logical}: keep one, then fix again")
        if not owners:
            if edit.document is None:
                raise Refused(f"the policy of {edit.logical} is not declared as `bucket = {edit.logical}.id`")
            taken = {n for t, n, _h, _c in resources if t == "aws_s3_bucket_policy"}
            new_name = name if name not in taken else f"{name}_ccme"
            document = _mapped(json.loads(edit.document), leaf)
            block = ["\n", f'resource "aws_s3_bucket_policy" "{new_name}" {{\n', f"  bucket = {edit.logical}.id\n",
                     f"  policy = jsonencode({_hcl(document, 1)})\n", "}\n"]
            lines[own[1] + 1:own[1] + 1] = block
            return
        owner = owners[0]
    at = _direct(lines, owner[0] + 1, owner[1], "policy")
    if at is None:
        if edit.document is None:
            raise Refused(f"{edit.logical} declares no policy attribute")
        document = _mapped(json.loads(edit.document), leaf)
        lines.insert(owner[1], f"  policy = jsonencode({_hcl(document, 1)})\n")
        return
    value = lines[at].split("=", 1)[1].strip()
    new = [json.loads(s) for s in edit.statements]
    if value == "jsonencode({":
        close = next((j for j in range(at + 1, owner[1]) if lines[j].strip() == "})"), None)
        if close is None:
            raise Refused("the jsonencode({...}) of the policy is not closed by `})` on a line of its own")
        found = _direct(lines, at + 1, close, "Statement")
        if found is None:
            raise Refused("the policy's jsonencode has no `Statement =` list")
        indent = lines[found][: _indent(lines[found])]
        rest = lines[found].split("=", 1)[1].strip()
        rendered = [f"{indent}  {_hcl(_mapped(s, leaf), len(indent) // 2 + 1)},\n" for s in new]
        if rest == "[":
            end = next((j for j in range(found + 1, close) if lines[j].rstrip() == f"{indent}]"), None)
            if end is None:
                raise Refused("the policy's Statement list is not closed by `]` at its indentation")
            if end > found + 1 and not lines[end - 1].rstrip().endswith((",", "[")):
                lines[end - 1] = lines[end - 1].rstrip("\n") + ",\n"
            lines[end:end] = rendered
        elif rest.startswith("[") and rest.endswith("]") and "#" not in rest and "//" not in rest:
            items = rest[1:-1].strip().rstrip(",")
            head = lines[found].split("=", 1)[0]
            lines[found:found + 1] = [f"{head}= [\n", *([f"{indent}  {items},\n"] if items else []), *rendered,
                                      f"{indent}]\n"]
        else:
            raise Refused(f"the policy's Statement is not a list written in the template ({rest[:40]})")
        return
    heredoc = re.fullmatch(r"<<-?([A-Z_a-z]+)", value)
    if heredoc:
        marker = heredoc.group(1)
        end = next((j for j in range(at + 1, owner[1]) if lines[j].strip() == marker), None)
        if end is None:
            raise Refused(f"the policy heredoc is not closed by {marker}")
        try:
            document = json.loads("".join(lines[at + 1:end]))
        except ValueError:
            raise Refused("the policy heredoc is not JSON: add the CCME statements by hand") from None
        if not isinstance(document, dict) or not isinstance(document.get("Statement"), list):
            raise Refused("the policy heredoc has no Statement list")
        body = "".join(lines[at + 1:end])
        close = _statement_list_end(body)
        item = re.search(r"\n([ \t]*)\S[^\n]*\Z", body[:close].rstrip())
        indent = item.group(1) if item else "  "
        added = ",\n".join(indent + json.dumps(_mapped(s, lambda v: _heredoc_value(v, edit, bucket, data)),
                                               indent=2).replace("\n", "\n" + indent) for s in new)
        head = body[:close].rstrip()
        head += ("" if head.endswith("[") else ",") + "\n" + added
        tail = body[close:]
        lines[at + 1:end] = (head + "\n" + indent[:-2] + tail.lstrip(" \t")).splitlines(keepends=True)
        return
    source = re.fullmatch(r"data\.aws_iam_policy_document\.([A-Za-z0-9_-]+)\.json", value)
    if source:
        start = next((i for i, line in enumerate(lines)
                      if re.match(rf'^data\s+"aws_iam_policy_document"\s+"{re.escape(source.group(1))}"\s*\{{\s*$',
                                  line)), None)
        close = next((j for j in range(start + 1, len(lines)) if lines[j].rstrip() == "}"), None) \
            if start is not None else None
        if start is None or close is None:
            raise Refused(f"data.aws_iam_policy_document.{source.group(1)} is not written in {edit.file}")
        if _nested(lines, start + 1, close, "dynamic") is not None:
            raise Refused(f"data.aws_iam_policy_document.{source.group(1)} builds statements dynamically")
        blocks: list[str] = []
        for statement in new:
            blocks += _tf_policy_document_block(statement, leaf, "  ")
        lines[close:close] = blocks
        return
    raise Refused(f"the policy is not written in the template ({value[:40]}): add the CCME statements by hand")


def _statement_list_end(text: str) -> int:
    """The offset of the `]` closing the top-level "Statement" array of a JSON document (parsed before)."""
    depth, i, key_at_top = 0, 0, False
    while i < len(text):
        ch = text[i]
        if ch == '"':
            j = i + 1
            while text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if depth == 1 and text[i + 1:j] == "Statement" and re.match(r"\s*:\s*\[", text[j + 1:]):
                key_at_top = True
            i = j + 1
            continue
        if ch in "{[":
            depth += 1
            if key_at_top and ch == "[" and depth == 2:
                start_depth = depth
                k = i + 1
                while k < len(text):
                    c = text[k]
                    if c == '"':
                        k += 1
                        while text[k] != '"':
                            k += 2 if text[k] == "\\" else 1
                    elif c in "{[":
                        start_depth += 1
                    elif c in "}]":
                        if start_depth == 2:
                            return k
                        start_depth -= 1
                    k += 1
                break
        elif ch in "}]":
            depth -= 1
        i += 1
    raise Refused("the policy heredoc's Statement is not a list")


def _heredoc_value(value: str, edit: PolicyEdit, bucket: str | None, data: Mapping[str, str]) -> str:
    """A JSON string in a heredoc: Terraform interpolates ${...} in it."""
    raw = _tf_value(value, edit, bucket, data)
    assert isinstance(raw, Raw)
    text = raw.text
    return text[1:-1] if text.startswith('"') else "${" + text + "}"


def apply(lines: list[str], edit: PolicyEdit) -> str | None:
    """Merge in place; None when done, else why not (lines unchanged)."""
    before = list(lines)
    try:
        (_tf_apply if edit.flavour == "terraform" else _cfn_apply)(lines, edit)
    except Refused as exc:
        lines[:] = before
        return str(exc)
    lines[:] = "".join(lines).splitlines(keepends=True)  # inserted blocks are one string each
    return None


def plan_all(findings: Sequence[tuple[Finding, str, str | None, int | None]]) -> tuple[list[PolicyEdit],
                                                                                         list[tuple[Finding, str]]]:
    """One edit per policy (the statements of every finding on it, once), and the findings refused."""
    edits: dict[tuple[str, str, str], PolicyEdit] = {}
    refused: list[tuple[Finding, str]] = []
    for finding, file, logical, line in findings:
        try:
            edit = plan_policy(finding, file, logical, line)
        except Refused as exc:
            refused.append((finding, str(exc)))
            continue
        key = (edit.file, edit.logical, edit.kind)
        held = edits.get(key)
        if held is None:
            edits[key] = edit
            continue
        if held.document is not None:
            continue  # the whole document is added: it carries every statement
        statements = tuple(dict.fromkeys(held.statements + edit.statements))
        edits[key] = PolicyEdit(held.file, held.logical, held.kind, statements, edit.document, held.rule_id,
                                tuple(dict.fromkeys(held.names + edit.names)), held.line, held.flavour)
    return list(edits.values()), refused
