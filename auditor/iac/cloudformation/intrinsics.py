"""CloudFormation intrinsics and conditions: Ref, GetAtt, Sub, Join, Select, Split, If with Conditions,
FindInMap, Base64, Cidr, GetAZs, ... over parameters (defaults, `--param`, what a parent passes) and pseudo
parameters. Whatever cannot be resolved is unknown(reason)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from auditor.iac.cloudformation.template import _NO_VALUE, NESTED_STACK_TYPES, _Unresolved
from auditor.iac.model import (
    Link,
    contains_unknown,
)
from auditor.partitions import partition_of
from auditor.snapshot import is_unknown, unknown


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
