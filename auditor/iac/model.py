"""What every IaC loader shares: links between resources, template resources, parse problems."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from auditor.snapshot import Location, Resource, is_generated, is_unknown, unknown

PARSE_RULE_ID = "IAC-PARSE"


@dataclass(frozen=True)
class Link:
    """A reference to another template resource whose value exists only after deployment.

    Placed where the canonical shape holds a resource id (an alias's target key, a subnet's VPC),
    it becomes the canonical id of the target; anywhere else (inside a string) it is unknown.
    """

    target: str
    attribute: str | None = None

    def describe(self) -> str:
        return f"{self.target}.{self.attribute}" if self.attribute else self.target


@dataclass(frozen=True)
class ParseProblem:
    """A template that cannot be used: bad input (exit 2 from `ccme-audit iac`, an IAC-PARSE ERROR
    finding from the library). With warning=True, a remark that does not stop the run (a nested stack
    at an URL that is not followed, a template Rule the parameter values break): one stderr line."""

    file: str
    message: str
    line: int | None = None
    warning: bool = False
    # An ERROR finding on a template that can be read, not bad input: a nested stack's literal local
    # TemplateURL that does not exist (CloudFormation would refuse to deploy the parent as it stands).
    finding: bool = False
    # A nested stack that is not read (an URL, a dynamic or computed location, an application of the Serverless
    # Application Repository): a complete run cannot say that a resource it might hold is missing.
    unread: bool = False

    def text(self) -> str:
        where = f":{self.line}" if self.line else ""
        return f"{self.file}{where}: {self.message}"


@dataclass
class TemplateResource:
    """A canonical resource still holding Links; `finalize` turns it into a snapshot Resource."""

    type: str
    key: str  # the template-local key Links name (logical id, or Terraform address)
    attributes: dict[str, Any]
    location: Location
    name: Any = None
    id: str | None = None
    region: str | None = None
    account: str | None = None
    suppressions: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # Settings written on the resource itself that a separate resource may also write (Terraform's legacy
    # inline `versioning {}` / `policy` of aws_s3_bucket): attribute -> the inline value (joins.py).
    inline: dict[str, Any] = field(default_factory=dict)


# The start of an item error that says only whether the resource exists is unknown (its attributes are as written).
CONDITIONAL_EXISTENCE = "whether the resource is created depends on"
CONDITIONAL_CODE = "Conditional"


class UnresolvedError(Exception):
    """A value that cannot be computed from the template: becomes unknown(reason)."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Pattern:
    """A piece of a shaped name known only as a regular expression (the words of a random_pet id)."""

    regex: str


class ShapedUnknown(dict[str, str]):
    """An unknown text (it is `unknown(reason)` to every reader) whose fixed pieces are known: a template such as
    `"logs-${random_pet.this.id}"`, kept as ["logs-", None] so that the shape survives variables, locals and
    outputs and a name argument fed by it keeps the shape of its fixed text (canonical.shaped_name)."""

    def __init__(self, reason: str, pieces: list[str | Pattern | None]):
        super().__init__({"$unknown": reason})
        self.pieces = tuple(pieces)

    def __reduce__(self) -> Any:  # keep the pieces across worker processes
        return (ShapedUnknown, (str(self["$unknown"]), list(self.pieces)))


def shape_pieces(value: Any) -> list[str | Pattern | None] | None:
    """The fixed pieces of a text: [value] for a known one, the pieces of a ShapedUnknown, else None."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, ShapedUnknown):
        return list(value.pieces)
    return None


def contains_unknown(value: Any) -> str | None:
    """The reason of the first unknown (or unresolved Link) inside value, else None."""
    stack = [value]
    while stack:
        item = stack.pop()
        if is_unknown(item):
            return str(item["$unknown"])
        if isinstance(item, Link):
            return f"{item.describe()} is known only after deployment"
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def whole_or_unknown(value: Any) -> Any:
    """A document (a policy) with any unknown part is unknown as a whole, never half-read."""
    reason = contains_unknown(value)
    return unknown(reason) if reason else value


def text_or_unknown(value: Any, what: str) -> Any:
    if value is None or is_unknown(value) or is_generated(value) or isinstance(value, str):
        return value
    if isinstance(value, Link):
        return unknown(f"{what}: {value.describe()} is known only after deployment")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return unknown(f"{what}: expected a string, found {type(value).__name__}")


def bool_or_unknown(value: Any, default: bool | None, what: str) -> Any:
    if value is None:
        return default
    if is_unknown(value):
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if isinstance(value, Link):
        return unknown(f"{what}: {value.describe()} is known only after deployment")
    return unknown(f"{what}: expected a boolean, found {value!r}"[:200])


def finalize(
    items: list[TemplateResource], ids: Mapping[str, str], unresolved: Callable[[Link], str]
) -> list[Resource]:
    """Replace Links by the ids of their targets (or unknown) and build snapshot Resources."""

    def fix(value: Any) -> Any:
        if isinstance(value, Link):
            target = ids.get(value.target)
            if target is not None and value.attribute in (
                None,
                "id",
                "Id",
                "key_id",
                "KeyId",
                "arn",
                "Arn",
                "bucket",
                "name",
                "RouteTableId",
                "SubnetId",
                "VpcId",
                "GroupId",
                "AllocationId",
            ):
                return target
            return unknown(unresolved(value))
        if isinstance(value, dict):
            return {k: fix(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fix(v) for v in value]
        return value

    out = []
    for item in items:
        name = fix(item.name)
        out.append(
            Resource(
                type=item.type,
                id=item.id or item.key,
                attributes=fix(item.attributes),
                name=name if isinstance(name, str) else None,
                region=item.region,
                account=item.account,
                location=item.location,
            )
        )
    return out
