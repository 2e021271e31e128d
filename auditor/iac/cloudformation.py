"""CloudFormation templates (YAML with short-form intrinsics, or JSON) into canonical resources.

Parsing is auditor.iac.cfn_decode (libyaml with CloudFormation's short-form tags, or JSON; lines kept). Intrinsics are
resolved here: Ref, GetAtt, Sub, Join, Select, Split, If with Conditions, FindInMap, Base64,
parameters (defaults, `--param` overrides) and pseudo parameters (AWS::Region from the audit
configuration, AWS::AccountId from it when set). Whatever cannot be resolved becomes
unknown(reason) and turns the rules reading it into ERROR.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.fileio import MAX_EXPANDED_NODES, MAX_FLOW_DEPTH, check_depth, expanded_size, read_text, yaml_depth_exceeds
from auditor.iac import canonical as C
from auditor.iac import cfn_decode, cfn_language
from auditor.iac.model import (
    CONDITIONAL_EXISTENCE,
    Link,
    ParseProblem,
    TemplateResource,
    contains_unknown,
    text_or_unknown,
)
from auditor.iac.suppress import comment_lines, inline_suppressions, metadata_suppressions
from auditor.partitions import partition_of
from auditor.snapshot import Location, is_unknown, unknown

KNOWN_INTRINSICS = frozenset(
    {
        "Ref",
        "Condition",
        "Fn::GetAtt",
        "Fn::Sub",
        "Fn::Join",
        "Fn::Select",
        "Fn::If",
        "Fn::Equals",
        "Fn::And",
        "Fn::Or",
        "Fn::Not",
        "Fn::FindInMap",
        "Fn::Base64",
        "Fn::GetAZs",
        "Fn::ImportValue",
        "Fn::Split",
        "Fn::Cidr",
        "Fn::Length",
        "Fn::ToJsonString",
        "Fn::Transform",
        "Fn::ForEach",
        "Fn::GetStackOutput",
    }
)
_NO_VALUE = object()
NESTED_STACK_TYPES = frozenset({"AWS::CloudFormation::Stack", "AWS::Serverless::Application"})


class _Unresolved(Exception):
    def __init__(self, reason: str):
        self.reason = reason


_RESOURCE_TYPE = re.compile(r"^(?:[A-Za-z0-9]+::[A-Za-z0-9]+::[A-Za-z0-9]+(?:::[A-Za-z0-9]+)?|Custom::[\w@-]+)$")
_SECTIONS = frozenset(
    {
        "AWSTemplateFormatVersion",
        "Description",
        "Metadata",
        "Parameters",
        "Rules",
        "Mappings",
        "Conditions",
        "Transform",
        "Resources",
        "Outputs",
        "Hooks",
        "Globals",
    }
)


def is_cloudformation(doc: Any) -> bool:
    """A CloudFormation (or SAM) template: AWSTemplateFormatVersion, a CloudFormation Transform, or a
    Resources mapping whose entries are resources (a Type like AWS::S3::Bucket or Custom::X, or an
    Fn::ForEach loop); an empty Resources counts when every top-level key is a template section."""
    if not isinstance(doc, dict):
        return False
    if "AWSTemplateFormatVersion" in doc:
        return True
    if any(t.startswith("AWS::") for t in cfn_language.transforms(doc)):
        return True
    resources = doc.get("Resources")
    if not isinstance(resources, dict):
        return False
    if not resources:
        return all(isinstance(k, str) and k in _SECTIONS for k in doc) and len(doc) > 1
    return any(
        (isinstance(key, str) and key.startswith(cfn_language.FOREACH))
        or (isinstance(body, dict) and isinstance(body.get("Type"), str) and bool(_RESOURCE_TYPE.match(body["Type"])))
        for key, body in resources.items()
    )


def decode(path: Path) -> tuple[Any, ParseProblem | None]:
    """Decode a template (auditor.iac.cfn_decode); a problem names the file and line."""
    try:
        text = read_text(path)
    except InputError as exc:
        return None, ParseProblem(str(path), exc.what)
    if yaml_depth_exceeds(text):
        return None, ParseProblem(str(path), f"nested deeper than {MAX_FLOW_DEPTH} levels")
    as_json = path.suffix.lower() == ".json" or text.lstrip().startswith("{")
    try:
        try:
            template = cfn_decode.decode_json(text) if as_json else None
        except cfn_decode.DecodeError:
            if path.suffix.lower() == ".json":
                raise
            as_json = False  # a .template in YAML flow style
        if not as_json:
            template = cfn_decode.decode_yaml(text)
    except cfn_decode.DecodeError as exc:
        return None, ParseProblem(str(path), f"invalid template: {exc.message}"[:300], exc.line)
    except RecursionError:
        return None, ParseProblem(str(path), "nested too deeply")
    if template is None:
        return None, ParseProblem(str(path), "invalid template: not a YAML or JSON document")
    # Aliases share their anchor's value: count the expansion before anything walks the tree whole.
    if expanded_size(template) > MAX_EXPANDED_NODES:
        return None, ParseProblem(str(path), f"expands to more than {MAX_EXPANDED_NODES} nodes "
                                  "(an alias bomb, or an alias inside its own anchor?)")
    try:
        check_depth(template, file=str(path))
    except InputError as exc:
        return None, ParseProblem(str(path), exc.what)
    return template, None


def _plain(value: Any) -> Any:
    """Decoded values (mappings with lines) as plain Python values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value


def _line(node: Any) -> int | None:
    return node.line if isinstance(node, cfn_decode.Mapping) else None


def unknown_intrinsic(template: Any) -> tuple[str, int | None] | None:
    """The first Fn:: function ccme-audit does not know, outside Rules (whose functions
    cfn_language.check_rules validates); Fn::ForEach::Name loop keys are known."""
    stack: list[tuple[Any, Any]] = [
        (value, template) for key, value in (template.items() if isinstance(template, dict) else []) if key != "Rules"
    ]
    while stack:
        node, parent = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if (
                    isinstance(key, str)
                    and key.startswith("Fn::")
                    and key not in KNOWN_INTRINSICS
                    and not key.startswith(cfn_language.FOREACH)
                    and len(node) == 1
                ):
                    return key, _line(node) or _line(parent)
                stack.append((value, node))
        elif isinstance(node, list):
            stack.extend((v, node) for v in node)
    return None


class Resolver:
    """Resolves intrinsic functions of one template."""

    def __init__(
        self,
        template: Mapping[str, Any],
        *,
        region: str | None,
        account: str | None,
        overrides: Mapping[str, str],
        names: dict[str, Any],
        passed: Mapping[str, Any] | None = None,
        prefix: str = "",
        origin: str = "",
    ):
        """passed: the parameter values a parent stack gives a nested stack (then overrides do not
        apply); prefix: put before every logical id (a nested stack's `Parent/`)."""
        self.template = template
        self.region = region
        self.account = account
        self.prefix = prefix
        self.resources: Mapping[str, Any] = template.get("Resources") or {}
        self.names = names  # logical id -> resolved name (bucket name, alias name) when the template sets it
        self.stack_outputs: Any = None  # logical id of a nested stack -> its outputs (set by load)
        self.parameters: dict[str, Any] = {}
        for name, spec in (template.get("Parameters") or {}).items():
            value: Any
            if passed is not None and name in passed:
                value = passed[name]
            elif passed is None and name in overrides:
                value = overrides[name]
            elif isinstance(spec, dict) and "Default" in spec:
                value = spec["Default"]
            elif passed is not None:
                value = unknown(f"parameter {name} of nested stack {origin} has no default and its parent passes none")
            else:
                value = unknown(f"parameter {name} has no default and no --param value")
            if (
                isinstance(spec, dict)
                and isinstance(value, str)
                and str(spec.get("Type", "")).startswith(("CommaDelimitedList", "List<"))
            ):
                value = [v.strip() for v in value.split(",")]
            self.parameters[name] = value
        # `--param AWS::StackName=NAME` gives the stack's name (a root template only: a nested stack has its own).
        self.stack_name = overrides.get("AWS::StackName") if passed is None else None
        self.conditions: Mapping[str, Any] = template.get("Conditions") or {}
        self._condition_cache: dict[str, Any] = {}

    # -- conditions ----------------------------------------------------------------------
    def condition(self, name: str, depth: int = 0) -> bool:
        if name in self._condition_cache:
            cached = self._condition_cache[name]
            if isinstance(cached, _Unresolved):
                raise cached
            return bool(cached)
        if name not in self.conditions or depth > 50:
            raise _Unresolved(f"condition {name} is not defined")
        try:
            value = self._truth(self.conditions[name], depth + 1)
        except _Unresolved as exc:
            self._condition_cache[name] = exc
            raise
        self._condition_cache[name] = value
        return value

    def _truth(self, node: Any, depth: int) -> bool:
        if isinstance(node, bool):
            return node
        if isinstance(node, str) and node.lower() in ("true", "false"):
            return node.lower() == "true"
        if isinstance(node, dict) and len(node) == 1:
            ((fn, args),) = node.items()
            if fn == "Condition":
                return self.condition(str(args), depth)
            if fn == "Fn::Equals" and isinstance(args, list) and len(args) == 2:
                left, right = (self.value(a) for a in args)
                for side in (left, right):
                    if is_unknown(side) or isinstance(side, Link):
                        raise _Unresolved(
                            f"Fn::Equals compares a value unknown before deployment "
                            f"({side['$unknown'] if is_unknown(side) else side.describe()})"
                        )
                return _scalar_text(left) == _scalar_text(right)
            if fn == "Fn::Not" and isinstance(args, list) and len(args) == 1:
                return not self._truth(args[0], depth)
            if fn in ("Fn::And", "Fn::Or") and isinstance(args, list):
                values = [self._truth(a, depth) for a in args]
                return all(values) if fn == "Fn::And" else any(values)
        raise _Unresolved(f"cannot evaluate condition {node!r}"[:200])

    # -- values --------------------------------------------------------------------------
    def value(self, node: Any) -> Any:
        """Resolve intrinsics inside node; unresolvable parts become unknown(reason)."""
        try:
            return self._value(node, 0)
        except _Unresolved as exc:
            return unknown(exc.reason)

    def _value(self, node: Any, depth: int) -> Any:
        if depth > 100:
            raise _Unresolved("intrinsic functions nested too deeply")
        if isinstance(node, dt.date | dt.datetime):
            return node.isoformat()  # `Version: 2012-10-17` unquoted in YAML stays the policy version string
        if isinstance(node, list):
            out = []
            for item in node:
                value = self._value_or_unknown(item, depth + 1)
                if value is not _NO_VALUE:
                    out.append(value)
            return out
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, args),) = node.items()
            if key == "Ref" or (isinstance(key, str) and key.startswith("Fn::")):
                return self._intrinsic(key, args, depth + 1)
        out_map = {}
        for key, item in node.items():
            value = self._value_or_unknown(item, depth + 1)
            if value is not _NO_VALUE:
                out_map[str(key)] = value
        return out_map

    def _value_or_unknown(self, node: Any, depth: int) -> Any:
        try:
            return self._value(node, depth)
        except _Unresolved as exc:
            return unknown(exc.reason)

    def _intrinsic(self, fn: str, args: Any, depth: int) -> Any:
        if fn == "Ref":
            return self.ref(str(args))
        if fn == "Fn::GetAtt":
            if isinstance(args, str):
                args = args.split(".", 1)
            if not isinstance(args, list) or len(args) != 2:
                raise _Unresolved(f"malformed Fn::GetAtt {args!r}"[:200])
            return self.get_att(str(args[0]), str(self._value(args[1], depth)))
        if fn == "Fn::Sub":
            return self._sub(args, depth)
        if fn == "Fn::Join":
            if not isinstance(args, list) or len(args) != 2:
                raise _Unresolved("malformed Fn::Join")
            delimiter = self._value(args[0], depth)
            items = self._value(args[1], depth)
            if not isinstance(items, list):
                raise _Unresolved(_why(items, "Fn::Join list"))
            return str(delimiter).join(self._text(i, "Fn::Join") for i in items)
        if fn == "Fn::Select":
            if not isinstance(args, list) or len(args) != 2:
                raise _Unresolved("malformed Fn::Select")
            index, items = self._value(args[0], depth), self._value(args[1], depth)
            if not isinstance(items, list):
                raise _Unresolved(_why(items, "Fn::Select list"))
            try:
                return items[int(index)]
            except (ValueError, TypeError, IndexError):
                raise _Unresolved(f"Fn::Select index {index!r} out of range"[:200]) from None
        if fn == "Fn::Split":
            if not isinstance(args, list) or len(args) != 2:
                raise _Unresolved("malformed Fn::Split")
            text = self._text(self._value(args[1], depth), "Fn::Split")
            return text.split(str(self._value(args[0], depth)))
        if fn == "Fn::If":
            if not isinstance(args, list) or len(args) != 3:
                raise _Unresolved("malformed Fn::If")
            chosen = args[1] if self.condition(str(args[0])) else args[2]
            return self._value(chosen, depth)
        if fn == "Fn::FindInMap":
            if not isinstance(args, list) or len(args) not in (3, 4):
                raise _Unresolved("malformed Fn::FindInMap")
            keys = [self._text(self._value(a, depth), "Fn::FindInMap") for a in args[:3]]
            try:
                return self._value(self.template["Mappings"][keys[0]][keys[1]][keys[2]], depth)
            except (KeyError, TypeError):
                if len(args) == 4 and isinstance(args[3], dict) and "DefaultValue" in args[3]:
                    return self._value(args[3]["DefaultValue"], depth)
                raise _Unresolved(f"Fn::FindInMap {'/'.join(keys)} is not in Mappings") from None
        if fn == "Fn::Base64":
            import base64

            return base64.b64encode(self._text(self._value(args, depth), "Fn::Base64").encode()).decode()
        if fn in ("Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not", "Condition"):
            return self._truth({fn: args}, depth)
        if fn == "Fn::Length":
            items = self._value(args, depth)
            if not isinstance(items, list):
                raise _Unresolved(_why(items, "Fn::Length list"))
            return len(items)
        if fn == "Fn::ToJsonString":
            import json

            document = self._value(args, depth)
            reason = contains_unknown(document)
            if reason:
                raise _Unresolved(f"Fn::ToJsonString: {reason}")
            return json.dumps(document, separators=(",", ":"))
        if fn == "Fn::GetAZs":
            raise _Unresolved("Fn::GetAZs: the Availability Zones are known only in the deployment account")
        if fn == "Fn::ImportValue":
            raise _Unresolved("Fn::ImportValue: an export of another stack")
        raise _Unresolved(f"{fn} is not evaluated by ccme-audit")

    def _text(self, value: Any, what: str) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        raise _Unresolved(_why(value, what))

    def _sub(self, args: Any, depth: int) -> Any:
        variables: dict[str, Any] = {}
        if isinstance(args, list):
            if len(args) != 2 or not isinstance(args[1], dict):
                raise _Unresolved("malformed Fn::Sub")
            text = args[0]
            variables = {k: v for k, v in args[1].items()}
        else:
            text = args
        if not isinstance(text, str):
            raise _Unresolved("Fn::Sub needs a string")
        whole = re.fullmatch(r"\$\{([^}!][^}]*)\}", text)
        if whole and whole.group(1).strip() not in variables:
            # "${SnsKey}" alone is the same reference as !Ref SnsKey (or !GetAtt for "${Key.Arn}"): a resource's
            # id resolves (to its Link) the same way whichever form names it.
            token = whole.group(1).strip()
            if "." in token and not token.startswith("AWS::"):
                logical, attribute = token.split(".", 1)
                value = self.get_att(logical, attribute)
            else:
                value = self.ref(token)
            if isinstance(value, str | Link) or is_unknown(value):
                return value
            return self._text(value, f"Fn::Sub ${{{token}}}")

        def replace(match: re.Match[str]) -> str:
            token = match.group(1)
            if token.startswith("!"):
                return "${" + token[1:] + "}"
            token = token.strip()
            if token in variables:
                return self._text(self._value(variables[token], depth), f"Fn::Sub ${{{token}}}")
            if "." in token and not token.startswith("AWS::"):
                logical, attribute = token.split(".", 1)
                return self._text(self.get_att(logical, attribute), f"Fn::Sub ${{{token}}}")
            return self._text(self.ref(token), f"Fn::Sub ${{{token}}}")

        return re.sub(r"\$\{([^}]*)\}", replace, text)

    def ref(self, name: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name == "AWS::Region":
            if self.region:
                return self.region
            raise _Unresolved("AWS::Region is not set (give --region)")
        if name == "AWS::AccountId":
            if self.account:
                return self.account
            raise _Unresolved("AWS::AccountId is not set (set account in ccme-audit.yaml or --set account=...)")
        if name == "AWS::Partition":
            return partition_of(self.region).name
        if name == "AWS::URLSuffix":
            return partition_of(self.region).dns_suffix
        if name == "AWS::StackName" and self.stack_name:
            return self.stack_name
        if name.startswith("AWS::"):
            raise _Unresolved(f"{name} is known only at deployment (give AWS::StackName with --param)"
                              if name == "AWS::StackName" else f"{name} is known only at deployment")
        if name in self.resources:
            known = self.names.get(name)
            if isinstance(known, str):
                return known
            return Link(self.prefix + name)
        raise _Unresolved(f"Ref to {name}, which is neither a parameter nor a resource")

    def get_att(self, logical: str, attribute: str) -> Any:
        if logical not in self.resources:
            raise _Unresolved(f"Fn::GetAtt on {logical}, which is not a resource of the template")
        rtype = self.resources[logical].get("Type") if isinstance(self.resources[logical], dict) else None
        rtype = rtype if isinstance(rtype, str) else None
        name = self.names.get(logical)
        if rtype == "AWS::S3::Bucket" and isinstance(name, str):
            partition = partition_of(self.region)
            if attribute == "Arn":
                return f"arn:{partition.name}:s3:::{name}"
            if attribute == "DomainName":
                return f"{name}.s3.{partition.dns_suffix}"
        if rtype in NESTED_STACK_TYPES and attribute.startswith("Outputs."):
            if self.stack_outputs is None:
                raise _Unresolved(f"{logical}.{attribute}: the nested stack is not followed")
            return self.stack_outputs(logical, attribute.split(".", 1)[1])
        return Link(self.prefix + logical, attribute)


def _scalar_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _why(value: Any, what: str) -> str:
    if is_unknown(value):
        return str(value["$unknown"])
    if isinstance(value, Link):
        return f"{what}: {value.describe()} is known only after deployment"
    return f"{what}: cannot use a {type(value).__name__} here"


# --- mapping to canonical types --------------------------------------------------------------

_NAME_PROPERTY = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::KMS::Alias": "AliasName",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Serverless::Function": "FunctionName",
    "AWS::EC2::KeyPair": "KeyName",
    "AWS::SSM::Parameter": "Name",
    "AWS::RDS::DBInstance": "DBInstanceIdentifier",
    "AWS::RDS::DBSubnetGroup": "DBSubnetGroupName",
}


MAX_NESTING = 8  # nested stack levels below a template
MAX_NESTED_TEMPLATES = 200  # nested templates loaded for one top-level template, all levels together
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass
class _Nest:
    """What the loads of one top-level template and its nested stacks share."""

    chain: tuple[Path, ...]  # resolved template files from the top-level one down to this one
    followed: set[Path]  # every local nested template followed
    budget: list[int]  # nested templates that may still be loaded


def load(
    path: Path,
    template: Any,
    *,
    region: str | None,
    account: str | None,
    overrides: Mapping[str, str],
    read_secret_values: bool = False,
    followed: set[Path] | None = None,
) -> tuple[list[TemplateResource], list[ParseProblem]]:
    """Canonical resources of a template and of the nested stacks it follows (local TemplateURL);
    `followed` receives the resolved paths of those nested templates."""
    nest = _Nest((path.resolve(),), followed if followed is not None else set(), [MAX_NESTED_TEMPLATES])
    items, problems, _outputs = _load(
        path,
        template,
        region=region,
        account=account,
        overrides=overrides,
        passed=None,
        prefix="",
        nest=nest,
        read_secret_values=read_secret_values,
    )
    _join(items, region)
    return items, problems


def _apply_globals(resources: dict[str, Any], globals_: Any) -> None:
    """SAM Globals: each section (Function, Api, ...) under the properties of every resource of
    that AWS::Serverless:: type; the resource's own properties win, mappings merge."""
    if not isinstance(globals_, dict):
        return

    def merge(base: Any, own: Any) -> Any:
        if isinstance(base, dict) and isinstance(own, dict):
            return {**base, **{k: merge(base.get(k), v) for k, v in own.items()}}
        return own if own is not None else base

    for body in resources.values():
        rtype = body.get("Type") if isinstance(body, dict) else None
        if isinstance(rtype, str) and rtype.startswith("AWS::Serverless::"):
            section = globals_.get(rtype.split("::")[2])
            if isinstance(section, dict) and isinstance(body.get("Properties", {}), dict):
                body["Properties"] = merge(section, body.get("Properties") or {})


def _load(
    path: Path,
    template: Any,
    *,
    region: str | None,
    account: str | None,
    overrides: Mapping[str, str],
    passed: Mapping[str, Any] | None,
    prefix: str,
    nest: _Nest,
    read_secret_values: bool,
) -> tuple[list[TemplateResource], list[ParseProblem], dict[str, Any]]:
    file = str(path)
    problems: list[ParseProblem] = []
    bad = unknown_intrinsic(template)
    if bad:
        return [], [ParseProblem(file, f"unknown intrinsic function {bad[0]}", bad[1])], {}
    try:
        cfn_language.check_rules(template.get("Rules"))
    except cfn_language.LanguageError as exc:
        return [], [ParseProblem(file, f"Rules: {exc.message}", exc.line)], {}
    if not isinstance(template.get("Resources"), dict):
        return [], [ParseProblem(file, "Resources is not a mapping")], {}
    for section in ("Parameters", "Mappings", "Conditions", "Outputs", "Globals"):
        if template.get(section) is not None and not isinstance(template[section], dict):
            return [], [ParseProblem(file, f"{section} is not a mapping")], {}
    transforms = cfn_language.transforms(template)
    macros = cfn_language.unexpanded_transforms(template)
    uncertain: dict[str, str] = {}
    loop_line = cfn_language.uses_foreach(template)
    if loop_line is not None:
        if cfn_language.LANGUAGE_EXTENSIONS not in transforms:
            problem = ParseProblem(file, "Fn::ForEach needs Transform: AWS::LanguageExtensions", loop_line or None)
            return [], [problem], {}
        before = Resolver(
            _plain(template), region=region, account=account, overrides=overrides, names={}, passed=passed,
            origin=file,
        )
        try:
            expansion = cfn_language.expand_foreach(template, before.value)
        except cfn_language.LanguageError as exc:
            return [], [ParseProblem(file, exc.message, exc.line)], {}
        template, uncertain = expansion.template, expansion.uncertain
        if expanded_size(template) > MAX_EXPANDED_NODES:
            return [], [ParseProblem(file, f"Fn::ForEach expands to more than {MAX_EXPANDED_NODES} nodes")], {}
    resources = template["Resources"]
    key_lines = resources.key_lines if isinstance(resources, cfn_decode.Mapping) else {}
    body_lines = {str(k): key_lines.get(k) or _line(v) for k, v in resources.items()}
    raw_rules = template.get("Rules")  # with its lines, for the warnings
    template = _plain(template)
    resources = template["Resources"]
    if cfn_language.SERVERLESS in transforms:
        _apply_globals(resources, template.get("Globals"))
    names: dict[str, Any] = {}
    resolver = Resolver(
        template, region=region, account=account, overrides=overrides, names=names, passed=passed, prefix=prefix,
        origin=file,
    )
    for violation in cfn_language.evaluate_rules(raw_rules, lambda n: resolver.value({"Ref": n})):
        problems.append(
            ParseProblem(
                file,
                f"rule {violation.rule}: CloudFormation would refuse these parameter values ({violation.description})",
                violation.line,
                warning=True,
            )
        )
    # First the names other resources refer to (BucketName, AliasName), so Ref and GetAtt can use them;
    # then again, with the nested stacks' outputs, the names that needed them (the nested stacks are
    # loaded then, with the names of the parent's resources known).
    stacks = _NestedStacks(path, resolver, body_lines, nest, uncertain, region=region, account=account,
                           read_secret_values=read_secret_values)
    for with_stacks in (False, True):
        resolver.stack_outputs = stacks.output if with_stacks else None
        for logical, body in resources.items():
            if isinstance(body, dict) and isinstance(body.get("Type"), str) and body["Type"] in _NAME_PROPERTY:
                props_ = body.get("Properties") or {}
                prop = props_.get(_NAME_PROPERTY[body["Type"]]) if isinstance(props_, dict) else None
                if prop is not None and (not with_stacks or is_unknown(names.get(logical))):
                    names[logical] = resolver.value(prop)
                    if names[logical] is _NO_VALUE:  # !Ref AWS::NoValue: no name, CloudFormation generates one
                        del names[logical]
    try:
        text = read_text(path)
        lines = comment_lines(text, "json" if text.lstrip().startswith("{") else "yaml")
    except InputError:
        lines = []
    out: list[TemplateResource] = []
    for logical, body in resources.items():
        if not isinstance(body, dict) or not isinstance(body.get("Type"), str):
            problems.append(ParseProblem(file, f"resource {logical} has no Type", body_lines.get(str(logical))))
            continue
        errors: list[str] = []
        if str(logical) in uncertain:
            errors.append(uncertain[str(logical)])
        condition = body.get("Condition")
        if condition is not None:
            try:
                if not resolver.condition(str(condition)):
                    continue
            except _Unresolved as exc:
                errors.append(f"{CONDITIONAL_EXISTENCE} condition {condition}: {exc.reason}")
        props = body.get("Properties") or {}
        if not isinstance(props, dict):
            problems.append(
                ParseProblem(file, f"resource {logical}: Properties is not a mapping", body_lines.get(str(logical)))
            )
            continue
        if body["Type"] in NESTED_STACK_TYPES:
            stacks.load(str(logical))
            continue
        location = Location(file=file, line=body_lines.get(str(logical)), logical_id=prefix + str(logical))
        built = _map(body["Type"], str(logical), props, resolver, location, read_secret_values)
        if macros:
            built = [_unexpanded(item, macros) for item in built]
        for item in built:
            item.errors.extend(errors)
            item.suppressions.extend(inline_suppressions(lines, location.line))
            item.suppressions.extend(metadata_suppressions(body.get("Metadata")))
            item.region = region
            item.account = account
        out.extend(built)
    out.extend(stacks.items)
    problems.extend(stacks.problems)
    outputs: dict[str, Any] = {}
    for name, spec in (template.get("Outputs") or {}).items():
        if not isinstance(spec, dict) or "Value" not in spec:
            outputs[str(name)] = spec if is_unknown(spec) else unknown(f"output {name} has no Value")
            continue
        try:
            if spec.get("Condition") is not None and not resolver.condition(str(spec["Condition"])):
                outputs[str(name)] = unknown(f"output {name} is not created (condition {spec['Condition']} is false)")
                continue
        except _Unresolved as exc:
            outputs[str(name)] = unknown(f"whether output {name} exists depends on a condition: {exc.reason}")
            continue
        outputs[str(name)] = resolver.value(spec["Value"])
    return out, problems, outputs


class _NestedStacks:
    """The nested stacks of one template (AWS::CloudFormation::Stack, AWS::Serverless::Application):
    a local TemplateURL is loaded with the parameters the parent passes, its resources prefixed
    `Parent/`, its outputs readable by Fn::GetAtt Parent.Outputs.X; an URL is not followed."""

    def __init__(
        self,
        path: Path,
        resolver: Resolver,
        body_lines: Mapping[str, int | None],
        nest: _Nest,
        uncertain: Mapping[str, str],
        *,
        region: str | None,
        account: str | None,
        read_secret_values: bool,
    ):
        self.uncertain = uncertain
        self.path = path
        self.resolver = resolver
        self.body_lines = body_lines
        self.nest = nest
        self.region = region
        self.account = account
        self.read_secret_values = read_secret_values
        self.items: list[TemplateResource] = []
        self.problems: list[ParseProblem] = []
        self.outputs: dict[str, dict[str, Any] | _Unresolved] = {}
        self.loading: set[str] = set()

    def output(self, logical: str, name: str) -> Any:
        outputs = self.load(logical)
        if isinstance(outputs, _Unresolved):
            raise outputs
        if name not in outputs:
            raise _Unresolved(f"nested stack {logical} has no output {name}")
        return outputs[name]

    def _problem(self, logical: str, message: str, *, warning: bool = False, finding: bool = False) -> _Unresolved:
        self.problems.append(
            ParseProblem(str(self.path), f"nested stack {logical}: {message}", self.body_lines.get(logical), warning,
                         finding)
        )
        return _Unresolved(f"nested stack {logical}: {message}")

    def load(self, logical: str) -> dict[str, Any] | _Unresolved:
        if logical in self.outputs:
            return self.outputs[logical]
        if logical in self.loading:
            return _Unresolved(f"nested stack {logical} depends on its own outputs (a circular dependency)")
        self.loading.add(logical)
        try:
            result = self._load(logical)
        finally:
            self.loading.discard(logical)
        self.outputs[logical] = result
        return result

    def _load(self, logical: str) -> dict[str, Any] | _Unresolved:
        r = self.resolver
        body = r.resources[logical]
        props = body.get("Properties") or {}
        errors = [self.uncertain[logical]] if logical in self.uncertain else []
        condition = body.get("Condition")
        if condition is not None:
            try:
                if not r.condition(str(condition)):
                    return _Unresolved(f"nested stack {logical} is not created (condition {condition} is false)")
            except _Unresolved as exc:
                errors.append(f"whether nested stack {logical} is created depends on condition {condition}: "
                              f"{exc.reason}")
        if body["Type"] == "AWS::Serverless::Application":
            where = props.get("Location")
            if isinstance(where, dict) and "ApplicationId" in where:
                return self._problem(
                    logical, "an application of the Serverless Application Repository is not followed: its "
                    "resources are not checked and its outputs are unknown", warning=True
                )
        else:
            where = props.get("TemplateURL")
        url = r.value(where)
        if not isinstance(url, str) or not url:
            reason = _why(url, "TemplateURL") if url is not None else "no TemplateURL"
            return self._problem(logical, f"the template location is not known ({reason}): its resources are not "
                                 "checked and its outputs are unknown", warning=True)
        if url.lstrip().startswith("{{resolve:"):
            return self._problem(
                logical, f"the template location is a dynamic reference ({_printable(url)}), resolved only at "
                "deployment: its resources are not checked and its outputs are unknown", warning=True
            )
        if _URL.match(url):
            return self._problem(
                logical, f"{_printable(url)} is not followed (only a local path is, as `aws cloudformation package` "
                "reads it): its resources are not checked and its outputs are unknown", warning=True
            )
        shown = Path(os.path.normpath(self.path.parent / url))  # as the parent's path is given: in findings
        try:
            child = shown.resolve()
            child.is_file()
        except (OSError, RuntimeError, ValueError) as exc:  # a symlink loop, a NUL byte
            return self._problem(logical, f"TemplateURL {_printable(url)} cannot be read ({exc.__class__.__name__})")
        if child in self.nest.chain:
            chain = " -> ".join(p.name for p in (*self.nest.chain, child))
            return self._problem(logical, f"the nested stacks form a cycle ({chain})")
        if len(self.nest.chain) > MAX_NESTING:
            return self._problem(logical, f"nested stacks go deeper than {MAX_NESTING} levels")
        if self.nest.budget[0] <= 0:
            return self._problem(logical, f"more than {MAX_NESTED_TEMPLATES} nested templates")
        self.nest.budget[0] -= 1
        if not child.is_file():
            if not isinstance(where, str):  # computed (!Sub "${AWS::Region}/..."): a location, not a file of this tree
                return self._problem(
                    logical, f"the computed template location {_printable(url)} is not a file here: its resources "
                    "are not checked and its outputs are unknown", warning=True
                )
            return self._problem(logical, f"TemplateURL {_printable(url)}: no such file (relative to "
                                 f"{self.path.name}): the parent cannot be packaged or deployed as it stands",
                                 finding=True)
        template, problem = decode(shown)
        if problem is not None:
            self.problems.append(problem)
            return _Unresolved(f"nested stack {logical}: {problem.message}")
        if not is_cloudformation(template):
            return self._problem(logical, f"TemplateURL {_printable(url)} is not a CloudFormation template")
        self.nest.followed.add(child)
        declared = template.get("Parameters") if isinstance(template.get("Parameters"), dict) else {}
        given = r.value(props.get("Parameters") or {})
        passed: dict[str, Any]
        if is_unknown(given) or not isinstance(given, dict):
            why = given if is_unknown(given) else unknown(f"the Parameters of nested stack {logical} are not a mapping")
            passed = {str(name): why for name in declared}
        else:
            extra = sorted(str(k) for k in given if k not in declared)
            if extra:
                return self._problem(logical, f"passes parameter {extra[0]}, which {_printable(url)} does not declare")
            passed = {str(k): _passed_value(v) for k, v in given.items()}
        items, problems, outputs = _load(
            shown,
            template,
            region=self.region,
            account=self.account,
            overrides={},
            passed=passed,
            prefix=f"{r.prefix}{logical}/",
            nest=_Nest((*self.nest.chain, child), self.nest.followed, self.nest.budget),
            read_secret_values=self.read_secret_values,
        )
        for item in items:
            item.errors.extend(errors)
        self.items.extend(items)
        self.problems.extend(problems)
        return outputs


def _printable(text: str) -> str:
    """A template's string as a message shows it: at most 200 characters, no control characters."""
    return "".join(ch if ch.isprintable() else "?" for ch in text[:200])


def _passed_value(value: Any) -> Any:
    """A parameter value as a nested stack receives it: a string (numbers and booleans as text);
    unknowns and references to resources stay what they are."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _prop(props: Mapping[str, Any], resolver: Resolver, *path: str) -> Any:
    node: Any = props
    for key in path:
        node = (
            resolver.value(node)
            if isinstance(node, dict)
            and len(node) == 1
            and ("Ref" in node or any(str(k).startswith("Fn::") for k in node))
            else node
        )
        if is_unknown(node):
            return node
        if not isinstance(node, dict):
            return None
        node = node.get(key)
        if node is None:
            return None
    value = resolver.value(node)
    return None if value is _NO_VALUE else value  # a property set to AWS::NoValue is absent


def _map(
    rtype: str,
    logical: str,
    props: Mapping[str, Any],
    r: Resolver,
    location: Location,
    read_secret_values: bool,
) -> list[TemplateResource]:
    p = lambda *path: _prop(props, r, *path)  # noqa: E731
    res = lambda t, attrs, name=None, rid=None: TemplateResource(  # noqa: E731
        type=t, key=r.prefix + logical, attributes=attrs, location=location, name=name, id=rid
    )
    tag_map = C.tags(p("Tags"))
    if rtype == "AWS::KMS::Key":
        return [
            res(
                "kms.key",
                {
                    **C.kms_key(
                        key_id=logical,
                        description=p("Description"),
                        key_spec=p("KeySpec"),
                        key_usage=p("KeyUsage"),
                        enabled=p("Enabled"),
                        multi_region=p("MultiRegion"),
                        origin=p("Origin"),
                        policy=p("KeyPolicy"),
                        rotation=p("EnableKeyRotation"),
                        aliases=[],
                        tag_map=tag_map,
                    )
                },
            )
        ]
    if rtype == "AWS::KMS::ReplicaKey":
        return []
    if rtype == "AWS::KMS::Alias":
        name = text_or_unknown(p("AliasName"), "AliasName")
        if is_unknown(name):
            name = _name_shape(r, props.get("AliasName"), str(name["$unknown"]))
        return [
            res(
                "kms.alias",
                {
                    "name": name,
                    "arn": unknown("the alias ARN is assigned at deployment"),
                    "target_key_id": p("TargetKeyId"),
                },
                name=name,
                rid=name if isinstance(name, str) else None,
            )
        ]
    if rtype == "AWS::S3::Bucket":
        name = _named(r, logical, "BucketName", "bucket", s3=True)
        versioning = C.versioning_status(p("VersioningConfiguration", "Status"))
        log_cfg = p("LoggingConfiguration")
        logging_value: Any = None
        if is_unknown(log_cfg):
            logging_value = log_cfg
        elif isinstance(log_cfg, dict):
            target = log_cfg.get("DestinationBucketName")
            logging_value = {
                "target_bucket": target if target is not None else name,
                "target_prefix": log_cfg.get("LogFilePrefix", ""),
            }
        enc = p("BucketEncryption", "ServerSideEncryptionConfiguration")
        encryption: Any = None
        if is_unknown(enc):
            encryption = enc
        elif isinstance(enc, list):
            encryption = {
                "rules": [
                    C.encryption_rule(
                        (e.get("ServerSideEncryptionByDefault") or {}).get("SSEAlgorithm"),
                        (e.get("ServerSideEncryptionByDefault") or {}).get("KMSMasterKeyID"),
                        e.get("BucketKeyEnabled"),
                    )
                    for e in enc
                    if isinstance(e, dict)
                ]
            }
        pab = p("PublicAccessBlockConfiguration")
        flags = (
            None
            if pab is None
            else (
                pab
                if is_unknown(pab)
                else {
                    "block_public_acls": pab.get("BlockPublicAcls"),
                    "ignore_public_acls": pab.get("IgnorePublicAcls"),
                    "block_public_policy": pab.get("BlockPublicPolicy"),
                    "restrict_public_buckets": pab.get("RestrictPublicBuckets"),
                }
            )
        )
        ownership_rules = p("OwnershipControls", "Rules")
        ownership = None
        if isinstance(ownership_rules, list) and ownership_rules and isinstance(ownership_rules[0], dict):
            ownership = text_or_unknown(ownership_rules[0].get("ObjectOwnership"), "ObjectOwnership")
        attrs = C.s3_bucket(
            name=name,
            region=r.region,
            versioning=versioning,
            logging=logging_value,
            encryption=encryption,
            pab=flags,
            policy=None,
            ownership=ownership,
            tag_map=tag_map,
        )
        return [res("s3.bucket", attrs, name=name, rid=name if isinstance(name, str) else None)]
    if rtype == "AWS::S3::BucketPolicy":
        return [
            res(
                "iac.s3_bucket_policy",
                {"bucket": p("Bucket"), "policy": C.policy_document(p("PolicyDocument"), "PolicyDocument")},
            )
        ]
    if rtype == "AWS::EC2::VPC":
        cidr = p("CidrBlock")
        vpc_name = _name_tag(r, props, p("Tags"))
        return [
            res(
                "ec2.vpc",
                {
                    "vpc_id": logical,
                    "name": vpc_name,
                    "cidr_block": cidr,
                    "cidr_blocks": [cidr] if cidr is not None else [],
                    "ipv6_cidr_blocks": [],
                    "instance_tenancy": p("InstanceTenancy") or "default",
                    "enable_dns_support": C.bool_or_unknown(p("EnableDnsSupport"), True, "EnableDnsSupport"),
                    "enable_dns_hostnames": C.bool_or_unknown(p("EnableDnsHostnames"), False, "EnableDnsHostnames"),
                    "dhcp_options_id": unknown(
                        "no DHCP options association in the template: the VPC gets the account's default options set"
                    ),
                    "is_default": False,
                    "tags": tag_map,
                },
                name=vpc_name if isinstance(vpc_name, str) else None,
            )
        ]
    if rtype == "AWS::EC2::VPCCidrBlock":
        return [
            res(
                "iac.vpc_cidr",
                {
                    "vpc": p("VpcId"),
                    "ipv6": bool(p("AmazonProvidedIpv6CidrBlock"))
                    or p("Ipv6CidrBlock") is not None
                    or p("Ipv6Pool") is not None,
                    "cidr": p("CidrBlock"),
                    "ipv6_cidr": p("Ipv6CidrBlock"),
                },
            )
        ]
    if rtype == "AWS::EC2::DHCPOptions":
        return [
            res(
                "ec2.dhcp_options",
                {
                    "dhcp_options_id": logical,
                    "domain_name": C.split_names(p("DomainName")),
                    "domain_name_servers": C.split_names(p("DomainNameServers")),
                    "ntp_servers": C.split_names(p("NtpServers")),
                    "tags": tag_map,
                },
                name=tag_map.get("Name"),
            )
        ]
    if rtype == "AWS::EC2::VPCDHCPOptionsAssociation":
        return [res("iac.dhcp_association", {"vpc": p("VpcId"), "dhcp": p("DhcpOptionsId")})]
    if rtype == "AWS::EC2::Subnet":
        return [
            res(
                "ec2.subnet",
                {
                    "subnet_id": logical,
                    "vpc_id": p("VpcId"),
                    "name": tag_map.get("Name"),
                    "cidr_block": p("CidrBlock"),
                    "availability_zone": p("AvailabilityZone")
                    if p("AvailabilityZone") is not None
                    else unknown("no AvailabilityZone: AWS picks one at deployment"),
                    "availability_zone_id": p("AvailabilityZoneId"),
                    "map_public_ip_on_launch": C.bool_or_unknown(
                        p("MapPublicIpOnLaunch"), False, "MapPublicIpOnLaunch"
                    ),
                    "tags": tag_map,
                },
                name=tag_map.get("Name"),
            )
        ]
    if rtype == "AWS::EC2::RouteTable":
        return [
            res(
                "ec2.route_table",
                {
                    "route_table_id": logical,
                    "vpc_id": p("VpcId"),
                    "main": False,
                    "name": tag_map.get("Name"),
                    "associations": [],
                    "routes": [],
                    "tags": tag_map,
                },
                name=tag_map.get("Name"),
            )
        ]
    if rtype == "AWS::EC2::Route":
        target_field, target = None, None
        for cfn, field in (
            ("GatewayId", "gateway_id"),
            ("NatGatewayId", "nat_gateway_id"),
            ("TransitGatewayId", "transit_gateway_id"),
            ("NetworkInterfaceId", "network_interface_id"),
            ("VpcPeeringConnectionId", "vpc_peering_connection_id"),
            ("InstanceId", "instance_id"),
            ("EgressOnlyInternetGatewayId", "egress_only_internet_gateway_id"),
            ("VpcEndpointId", "gateway_id"),
        ):
            if props.get(cfn) is not None:
                target_field, target = field, p(cfn)
        return [
            res(
                "iac.route",
                {
                    "table": p("RouteTableId"),
                    "route": C.route(p("DestinationCidrBlock"), target_field, target, p("DestinationIpv6CidrBlock")),
                },
            )
        ]
    if rtype == "AWS::EC2::SubnetRouteTableAssociation":
        return [res("iac.rt_association", {"table": p("RouteTableId"), "subnet": p("SubnetId")})]
    if rtype == "AWS::EC2::InternetGateway":
        return [
            res(
                "ec2.internet_gateway",
                {"internet_gateway_id": logical, "attachments": [], "tags": tag_map},
                name=tag_map.get("Name"),
            )
        ]
    if rtype == "AWS::EC2::VPCGatewayAttachment":
        return [res("iac.igw_attachment", {"igw": p("InternetGatewayId"), "vpc": p("VpcId")})]
    if rtype == "AWS::EC2::NatGateway":
        return [
            res(
                "ec2.nat_gateway",
                {
                    "nat_gateway_id": logical,
                    "vpc_id": None,
                    "subnet_id": p("SubnetId"),
                    "state": "available",
                    "connectivity_type": p("ConnectivityType") or "public",
                    "tags": tag_map,
                },
                name=tag_map.get("Name"),
            )
        ]
    if rtype == "AWS::EC2::VPCEndpoint":
        service = p("ServiceName")
        return [
            res(
                "ec2.vpc_endpoint",
                {
                    "vpc_endpoint_id": logical,
                    "vpc_id": p("VpcId"),
                    "service_name": service,
                    "vpc_endpoint_type": p("VpcEndpointType") or "Gateway",
                    "state": "available",
                    "route_table_ids": p("RouteTableIds") or [],
                    "subnet_ids": p("SubnetIds") or [],
                    "private_dns_enabled": C.bool_or_unknown(p("PrivateDnsEnabled"), False, "PrivateDnsEnabled"),
                    "security_group_ids": p("SecurityGroupIds") or [],
                    "policy": C.policy_document(p("PolicyDocument"), "PolicyDocument"),
                    "tags": tag_map,
                },
                name=tag_map.get("Name"),
            )
        ]
    if rtype == "AWS::SecretsManager::Secret":
        name = _named(r, logical, "Name", "secret")
        value_format: Any = unknown("the secret's format is read only with --read-secret-values")
        if read_secret_values:
            value_format = _secret_format(p("SecretString"), p("GenerateSecretString"))
        return [
            res(
                "secretsmanager.secret",
                {
                    "name": name,
                    "arn": unknown("the secret ARN is assigned at deployment"),
                    "kms_key_id": p("KmsKeyId"),
                    "deleted_date": None,
                    "value_format": value_format,
                    "tags": tag_map,
                },
                name=name,
                rid=name if isinstance(name, str) else None,
            )
        ]
    if rtype == "AWS::CertificateManager::Certificate":
        domain = p("DomainName")
        sans = p("SubjectAlternativeNames") or []
        return [
            res(
                "acm.certificate",
                {
                    "arn": logical,
                    "domain_name": domain,
                    "subject_alternative_names": sans,
                    "status": unknown("a requested certificate is issued only after validation, at deployment"),
                    "cert_type": "AMAZON_ISSUED" if p("CertificateAuthorityArn") is None else "PRIVATE",
                    "key_algorithm": p("KeyAlgorithm") or "RSA_2048",
                    "not_after": unknown("the expiry is set when the certificate is issued"),
                    "in_use_by": [],
                    "tags": tag_map,
                },
                name=domain if isinstance(domain, str) else None,
            )
        ]
    if rtype in ("AWS::Serverless::Function", "AWS::Serverless::Api"):
        return _map_serverless(rtype, logical, p, r, res, tag_map)
    return _map_provisioner(rtype, logical, p, r, res, tag_map)


def _lambda_function(
    r: Resolver, logical: str, p: Any, res: Any, tag_map: dict[str, str], *, image_uri: Any
) -> list[Any]:
    """AWS::Lambda::Function and SAM's AWS::Serverless::Function (the image URI sits in Code for the former)."""
    name = _named(r, logical, "FunctionName", "function")
    attrs = C.lambda_function(name=name, package_type=p("PackageType"), runtime=p("Runtime"), role=p("Role"),
                              image_uri=image_uri, vpc=p("VpcConfig") is not None, tag_map=tag_map)
    return [res("lambda.function", attrs, name=name, rid=name if isinstance(name, str) else None)]


def _map_serverless(rtype: str, logical: str, p: Any, r: Resolver, res: Any, tag_map: dict[str, str]) -> list[Any]:
    """SAM (Transform AWS::Serverless-2016-10-31): a function is a Lambda function, an Api a REST API
    whose methods SAM generates from the functions' events (not evaluated here: unknown). SAM's Tags
    are a plain mapping (C.tags reads both forms); Globals are already merged into the properties."""
    if rtype == "AWS::Serverless::Function":
        return _lambda_function(r, logical, p, res, tag_map, image_uri=p("ImageUri"))
    name = p("Name")
    endpoint = p("EndpointConfiguration")
    endpoint_types = endpoint.get("Type") if isinstance(endpoint, dict) else endpoint
    attrs = C.rest_api(
        name=name,
        policy=None,
        endpoint_types=[endpoint_types] if isinstance(endpoint_types, str) else ["EDGE"],
        disable_execute=p("DisableExecuteApiEndpoint"),
        tag_map=tag_map,
    )
    if p("Auth", "ResourcePolicy") is not None:
        attrs["policy"] = unknown("SAM builds the API's resource policy from Auth.ResourcePolicy: not evaluated")
    attrs["methods"] = unknown("SAM generates the API's methods from the functions' events: not evaluated")
    return [res("apigateway.rest_api", attrs, name=name if isinstance(name, str) else None)]


def _named(r: Resolver, logical: str, prop: str, what: str, *, s3: bool = False) -> Any:
    """The name a template sets; without one, the name CloudFormation generates at deployment; a name
    built around parts known only at deployment keeps the shape of its fixed parts (see _name_shape)."""
    name = r.names.get(logical)
    if name is None:
        return C.cfn_generated_name(what, prop, s3=s3)
    name = text_or_unknown(name, prop)
    if is_unknown(name):
        body = r.resources.get(logical)
        raw = (body.get("Properties") or {}).get(prop) if isinstance(body, dict) else None
        return _name_shape(r, raw, str(name["$unknown"]))
    return name


def _unexpanded(item: TemplateResource, macros: list[str]) -> TemplateResource:
    """A resource of a template whose Transform macro ccme-audit cannot run: the macro may rewrite anything in
    it (its name, its settings), so every attribute is unknown, saying to scan the processed template."""
    why = unknown(
        f"the template's Transform {', '.join(macros)} is a macro ccme-audit cannot expand, and it may change "
        "this resource: scan the processed template instead (aws cloudformation get-template --stack-name STACK "
        "--template-stage Processed)"
    )
    item.attributes = {k: why for k in item.attributes}  # the loader sets the resource's own id field again
    item.name = None
    item.id = None
    return item


def _name_tag(r: Resolver, props: Mapping[str, Any], tags: Any) -> Any:
    """The Name tag (canonical.name_tag); one built around parts known only at deployment keeps its shape."""
    name = C.name_tag(tags)
    if not is_unknown(name):
        return name
    raw = props.get("Tags")
    node = next((t.get("Value") for t in raw if isinstance(t, dict) and t.get("Key") == "Name"), None) \
        if isinstance(raw, list) else None
    return _name_shape(r, node, str(name["$unknown"])) if node is not None else name


def _name_shape(r: Resolver, raw: Any, reason: str) -> Any:
    """`!Sub "${AWS::StackName}-logs"`, `!Join ["-", [!Ref Env, data]]`: a name whose fixed text is known
    and whose other parts (AWS::StackName, an unset parameter or account, another resource's id) are not.
    Any text can stand for an unknown part, so a configured name that does not fit the fixed text can never
    be this one; one that fits cannot be told apart. Nothing fixed left: unknown, as before."""
    pieces = _shape_pieces(r, raw)
    return unknown(reason) if pieces is None else C.shaped_name(reason, pieces)


def _shape_pieces(r: Resolver, raw: Any) -> list[str | None] | None:
    """The name as literal pieces and unknown parts (None); None when its form is not one read here."""

    def known(node: Any) -> str | None:
        value = _scalar_text(r.value(node))
        return value if isinstance(value, str) else None

    if isinstance(raw, dict) and len(raw) == 1:
        ((fn, args),) = raw.items()
        if fn == "Fn::Sub":
            text, variables = (args[0], args[1]) if isinstance(args, list) and len(args) == 2 else (args, {})
            if not isinstance(text, str) or not isinstance(variables, dict):
                return None
            pieces: list[str | None] = []
            for position, part in enumerate(re.split(r"\$\{([^}]*)\}", text)):
                if position % 2 == 0:
                    pieces.append(part)
                elif part.startswith("!"):
                    pieces.append("${" + part[1:] + "}")
                else:
                    token = part.strip()
                    node: Any = variables.get(token)
                    if node is None:
                        node = ({"Fn::GetAtt": token.split(".", 1)} if "." in token and not token.startswith("AWS::")
                                else {"Ref": token})
                    pieces.append(known(node))
            return pieces
        if fn == "Fn::Join":
            if not (isinstance(args, list) and len(args) == 2 and isinstance(args[0], str)
                    and isinstance(args[1], list)):
                return None
            pieces = []
            for position, item in enumerate(args[1]):
                if position:
                    pieces.append(args[0])
                pieces.append(known(item))
            return pieces
    return None


def _sg_rules(entries: Any, egress: bool) -> Any:
    if entries is None:
        return None
    if is_unknown(entries) or not isinstance(entries, list):
        return entries if is_unknown(entries) else unknown("the security group rules are not a list")
    return [_sg_rule(e, egress) for e in entries]


def _sg_rule(e: Any, egress: bool) -> Any:
    if is_unknown(e) or not isinstance(e, dict):
        return e if is_unknown(e) else unknown("a security group rule is not a mapping")
    prefix = "Destination" if egress else "Source"
    return C.sg_rule(
        protocol_value=e.get("IpProtocol"),
        from_port=e.get("FromPort"),
        to_port=e.get("ToPort"),
        cidr_ipv4=e.get("CidrIp"),
        cidr_ipv6=e.get("CidrIpv6"),
        referenced_group_id=e.get(f"{prefix}SecurityGroupId") or e.get("SourceSecurityGroupName"),
        prefix_list_id=e.get(f"{prefix}PrefixListId"),
        description=e.get("Description"),
    )


def _map_provisioner(rtype: str, logical: str, p: Any, r: Resolver, res: Any, tag_map: dict[str, str]) -> list[Any]:
    """Seed 003 provisioner resources (pack bbp): network security, storage, database, services."""
    if rtype == "AWS::EC2::SecurityGroup":
        egress = _sg_rules(p("SecurityGroupEgress"), True)
        return [
            res(
                "ec2.security_group",
                C.security_group(
                    name=p("GroupName"),
                    vpc_id=p("VpcId") if p("VpcId") is not None else unknown("no VpcId: the default VPC"),
                    description=p("GroupDescription"),
                    ingress=_sg_rules(p("SecurityGroupIngress"), False) or [],
                    egress=[dict(C.DEFAULT_EGRESS)] if egress is None else egress,
                    tag_map=tag_map,
                ),
                name=p("GroupName") if isinstance(p("GroupName"), str) else tag_map.get("Name"),
            )
        ]
    if rtype in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"):
        egress = rtype.endswith("Egress")
        group = p("GroupId") if p("GroupId") is not None else p("GroupName")
        entry = {k: p(k) for k in ("IpProtocol", "FromPort", "ToPort", "CidrIp", "CidrIpv6", "Description",
                                   "SourceSecurityGroupId", "SourceSecurityGroupName", "SourcePrefixListId",
                                   "DestinationSecurityGroupId", "DestinationPrefixListId")}
        return [res("iac.sg_rule", {"group": group, "egress": egress, "rule": _sg_rule(entry, egress)})]
    if rtype == "AWS::EC2::VPCPeeringConnection":
        owner, peer_region = p("PeerOwnerId"), p("PeerRegion")
        cross = (owner is not None and owner != r.account) or (peer_region is not None and peer_region != r.region)
        return [
            res(
                "ec2.vpc_peering_connection",
                C.peering_connection(
                    requester_vpc=p("VpcId"),
                    accepter_vpc=p("PeerVpcId"),
                    # CloudFormation accepts a same-account, same-Region peering itself; another account or
                    # Region accepts it (PeerRoleArn) at deployment.
                    status=unknown("a peering with another account or Region is accepted at deployment")
                    if cross
                    else "active",
                    account=r.account,
                    region=r.region,
                    peer_owner=owner,
                    peer_region=peer_region,
                    tag_map=tag_map,
                ),
                name=tag_map.get("Name"),
            )
        ]
    if rtype == "AWS::EC2::KeyPair":
        name = _named(r, logical, "KeyName", "key pair")
        return [
            res(
                "ec2.key_pair",
                C.key_pair(name=name, key_type=C.key_type_of(p("KeyType"), p("PublicKeyMaterial")), tag_map=tag_map),
                name=name,
                rid=name if isinstance(name, str) else None,
            )
        ]
    if rtype == "AWS::EFS::FileSystem":
        efs_tags = C.tags(p("FileSystemTags"))
        return [
            res(
                "efs.file_system",
                C.efs_file_system(
                    name=efs_tags.get("Name"),
                    encrypted=p("Encrypted"),
                    kms_key_id=p("KmsKeyId"),
                    performance_mode=p("PerformanceMode"),
                    throughput_mode=p("ThroughputMode"),
                    tag_map=efs_tags,
                ),
                name=efs_tags.get("Name"),
            )
        ]
    if rtype == "AWS::FSx::FileSystem":
        fs_type = p("FileSystemType")
        lustre = p("LustreConfiguration") if fs_type == "LUSTRE" else None
        lustre = lustre if isinstance(lustre, dict) else {}
        return [
            res(
                "fsx.file_system",
                C.fsx_file_system(
                    name=tag_map.get("Name"),
                    file_system_type=fs_type,
                    deployment_type=lustre.get("DeploymentType", "SCRATCH_1" if fs_type == "LUSTRE" else None),
                    kms_key_id=p("KmsKeyId"),
                    subnet_ids=p("SubnetIds"),
                    import_path=lustre.get("ImportPath"),
                    export_path=lustre.get("ExportPath"),
                    tag_map=tag_map,
                ),
                name=tag_map.get("Name"),
            )
        ]
    if rtype == "AWS::FSx::DataRepositoryAssociation":
        s3 = p("S3")
        s3 = s3 if isinstance(s3, dict) else {}
        return [
            res(
                "iac.fsx_dra",
                {
                    "file_system": p("FileSystemId"),
                    "association": C.data_repository_association(
                        file_system_path=p("FileSystemPath"),
                        data_repository_path=p("DataRepositoryPath"),
                        import_events=(s3.get("AutoImportPolicy") or {}).get("Events"),
                        export_events=(s3.get("AutoExportPolicy") or {}).get("Events"),
                    ),
                },
            )
        ]
    if rtype == "AWS::RDS::DBSubnetGroup":
        name = r.names.get(logical)
        return [res("iac.db_subnet_group", {"name": name, "subnet_ids": p("SubnetIds") or []}, name=name)]
    if rtype == "AWS::RDS::DBInstance":
        name = _named(r, logical, "DBInstanceIdentifier", "DB instance")
        groups = p("VPCSecurityGroups")
        return [
            res(
                "rds.db_instance",
                C.db_instance(
                    identifier=name,
                    engine=p("Engine"),
                    engine_version=p("EngineVersion"),
                    publicly_accessible=C.bool_or_unknown(p("PubliclyAccessible"), None, "PubliclyAccessible"),
                    storage_encrypted=p("StorageEncrypted"),
                    kms_key_id=p("KmsKeyId"),
                    port=p("Port"),
                    subnet_group=p("DBSubnetGroupName"),
                    master_username=p("MasterUsername"),
                    managed_secret=p("ManageMasterUserPassword"),
                    security_groups=groups,
                    multi_az=p("MultiAZ"),
                    tag_map=tag_map,
                ),
                name=name,
                rid=name if isinstance(name, str) else None,
            )
        ]
    if rtype == "AWS::Logs::LogGroup":
        name = _named(r, logical, "LogGroupName", "log group")
        return [
            res(
                "logs.log_group",
                C.log_group(name=name, retention=p("RetentionInDays"), kms_key_id=p("KmsKeyId")),
                name=name,
                rid=name if isinstance(name, str) else None,
            )
        ]
    if rtype == "AWS::Lambda::Function":
        return _lambda_function(r, logical, p, res, tag_map, image_uri=p("Code", "ImageUri"))
    if rtype == "AWS::Lambda::Permission":
        return [
            res(
                "iac.lambda_permission",
                {
                    "function": p("FunctionName"),
                    "statement": C.permission_statement(
                        sid=logical,
                        principal=p("Principal"),
                        action=p("Action"),
                        source_arn=p("SourceArn"),
                        source_account=p("SourceAccount"),
                    ),
                },
            )
        ]
    if rtype == "AWS::ApiGateway::RestApi":
        name = p("Name")
        attrs = C.rest_api(
            name=name,
            policy=p("Policy"),
            endpoint_types=p("EndpointConfiguration", "Types"),
            disable_execute=p("DisableExecuteApiEndpoint"),
            tag_map=tag_map,
        )
        if p("Body") is not None or p("BodyS3Location") is not None:
            attrs["methods"] = unknown("the methods come from an OpenAPI definition, not evaluated by ccme-audit")
        return [res("apigateway.rest_api", attrs, name=name if isinstance(name, str) else None)]
    if rtype == "AWS::ApiGateway::Resource":
        return [res("iac.api_resource", {"api": p("RestApiId"), "parent": p("ParentId"), "part": p("PathPart")})]
    if rtype == "AWS::ApiGateway::Method":
        return [
            res(
                "iac.api_method",
                {
                    "api": p("RestApiId"),
                    "resource": p("ResourceId"),
                    "method": C.api_method(
                        http_method=p("HttpMethod"),
                        authorization=p("AuthorizationType"),
                        authorizer_id=p("AuthorizerId"),
                        api_key_required=p("ApiKeyRequired"),
                    ),
                },
            )
        ]
    if rtype == "AWS::SSM::Parameter":
        name = _named(r, logical, "Name", "parameter")
        return [
            res(
                "ssm.parameter",
                C.ssm_parameter(name=name, type_=p("Type"), key_id=None, tier=p("Tier")),
                name=name,
                rid=name if isinstance(name, str) else None,
            )
        ]
    return []


def _secret_format(secret_string: Any, generate: Any) -> Any:
    """plaintext or json, judged from the template; the value itself is never kept."""
    if secret_string is not None:
        if not isinstance(secret_string, str):
            return unknown("the secret string is known only at deployment")
        import json

        try:
            return "json" if isinstance(json.loads(secret_string), dict) else "plaintext"
        except json.JSONDecodeError:
            return "plaintext" if secret_string else "empty"
    if isinstance(generate, dict):
        return "json" if generate.get("SecretStringTemplate") is not None else "plaintext"
    return "empty"


def _join(items: list[TemplateResource], region: str | None) -> None:
    """Attach the helper resources (policies, associations, routes) to the resources they concern."""
    from auditor.iac.joins import join

    join(items, region)
