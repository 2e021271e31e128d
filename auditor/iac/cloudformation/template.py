"""A CloudFormation template as a file: recognising one, decoding it (auditor.iac.cfn_decode), the intrinsic
functions it may use, and the error an unresolvable value raises."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.fileio import MAX_EXPANDED_NODES, MAX_FLOW_DEPTH, check_depth, expanded_size, read_text, yaml_depth_exceeds
from auditor.iac import cfn_decode, cfn_language
from auditor.iac.model import (
    ParseProblem,
)

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
