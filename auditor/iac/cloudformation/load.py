"""Loading a CloudFormation template: Fn::ForEach expansion, SAM Globals, the names other resources refer
to, each resource through the mapping, and the nested stacks it follows (local TemplateURL)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.fileio import MAX_EXPANDED_NODES, expanded_size, read_text
from auditor.iac import cfn_decode, cfn_language
from auditor.iac.cloudformation.intrinsics import Resolver, _why
from auditor.iac.cloudformation.mapping import _map
from auditor.iac.cloudformation.names import _unexpanded
from auditor.iac.cloudformation.template import (
    _NO_VALUE,
    NESTED_STACK_TYPES,
    _line,
    _plain,
    _Unresolved,
    decode,
    is_cloudformation,
    unknown_intrinsic,
)
from auditor.iac.model import (
    CONDITIONAL_EXISTENCE,
    ParseProblem,
    TemplateResource,
)
from auditor.iac.suppress import comment_lines, inline_suppressions, metadata_suppressions
from auditor.snapshot import Location, is_unknown, unknown

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

    def _problem(self, logical: str, message: str, *, warning: bool = False, finding: bool = False,
                 unread: bool = False) -> _Unresolved:
        self.problems.append(
            ParseProblem(str(self.path), f"nested stack {logical}: {message}", self.body_lines.get(logical), warning,
                         finding, unread)
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
                    "resources are not checked and its outputs are unknown", warning=True, unread=True
                )
        else:
            where = props.get("TemplateURL")
        url = r.value(where)
        if not isinstance(url, str) or not url:
            reason = _why(url, "TemplateURL") if url is not None else "no TemplateURL"
            return self._problem(logical, f"the template location is not known ({reason}): its resources are not "
                                 "checked and its outputs are unknown", warning=True, unread=True)
        if url.lstrip().startswith("{{resolve:"):
            return self._problem(
                logical, f"the template location is a dynamic reference ({_printable(url)}), resolved only at "
                "deployment: its resources are not checked and its outputs are unknown", warning=True, unread=True
            )
        if _URL.match(url):
            return self._problem(
                logical, f"{_printable(url)} is not followed (only a local path is, as `aws cloudformation package` "
                "reads it): its resources are not checked and its outputs are unknown", warning=True, unread=True
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
                    "are not checked and its outputs are unknown", warning=True, unread=True
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


def _join(items: list[TemplateResource], region: str | None) -> None:
    """Attach the helper resources (policies, associations, routes) to the resources they concern."""
    from auditor.iac.joins import join

    join(items, region)
