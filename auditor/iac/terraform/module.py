"""A Terraform module instance: variables, locals, outputs, resources, calls to other modules, and the
names expressions refer to."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.fileio import read_text
from auditor.iac import canonical as C
from auditor.iac.model import (
    Link,
    ParseProblem,
    Pattern,
    ShapedUnknown,
)
from auditor.iac.terraform.expressions import Expressions
from auditor.iac.terraform.functions import _each_pairs, _index, _render_policy_document, _why
from auditor.iac.terraform.hcl import (
    MAX_MODULE_DEPTH,
    MAX_MODULE_INSTANCES,
    MODULE_META,
    NAME_ARGUMENT,
    Body,
    _children,
    _Evaluated,
    _is_local_source,
    _local_reference,
    _Missing,
    _ModuleProblem,
    _parse,
    _Run,
    _token_text,
    _unescape,
    _Unresolved,
    _unwrap,
)
from auditor.partitions import partition_of
from auditor.snapshot import is_unknown, unknown

try:
    from lark import Token, Tree
except ModuleNotFoundError:  # the `iac` extra is absent: plan JSON still loads, HCL cannot be parsed
    Token = Tree = type("_NotInstalled", (), {})  # type: ignore[assignment,misc]  # no tree exists to match


class Module(Expressions):
    """One instance of a module: a directory of .tf files with its variables, locals, resources, outputs, calls.

    The root module takes its variables from --param, tfvars and defaults; a called module from the
    arguments of its `module` block (evaluated in the caller, with the instance's count.index or
    each.key/each.value) and its own defaults. `prefix` is the instance's address (`module.a["k"].`),
    put before every resource address, as Terraform writes them.
    """

    def __init__(
        self,
        directory: Path,
        *,
        region: str | None,
        account: str | None,
        overrides: Mapping[str, str],
        run: _Run | None = None,
        prefix: str = "",
        call_path: tuple[str, ...] = (),
        caller: Module | None = None,
        inputs: Mapping[str, Tree] | None = None,
        input_scope: Mapping[str, Any] | None = None,
        ancestors: tuple[Path, ...] = (),
        errors: tuple[str, ...] = (),
    ):
        self.directory = directory
        self.region = region
        self.account = account
        self.overrides = overrides
        self.run = run or _Run(directory)
        self.prefix = prefix
        self.call_path = call_path
        self.caller = caller
        self.inputs = dict(inputs or {})
        self.input_scope = dict(input_scope or {})
        self.ancestors = (*ancestors, directory.resolve())
        self.errors = errors
        self.variables: dict[str, Any] = {}
        self.non_nullable: set[str] = set()
        self.locals: dict[str, Tree] = {}
        self.resources: dict[str, tuple[str, str, Body, str]] = {}  # address -> (type, name, body, file)
        self.outputs: dict[str, Tree] = {}
        self.data: dict[str, Body] = {}  # data sources, by type.name
        self.calls: dict[str, tuple[Body, str]] = {}  # module call name -> (block body, file)
        self.tfvars: dict[str, Any] = {}
        self._local_cache: dict[str, Any] = {}
        self._attr_cache: dict[tuple[str, str], Any] = {}
        self._input_cache: dict[str, Any] = {}
        self._output_cache: dict[str, Any] = {}
        self._instances: dict[str, dict[Any, Module] | _Unresolved] = {}
        self._stack = self.run.stack

    @property
    def name(self) -> str:
        return self.prefix[:-1] if self.prefix else "the root module"

    def read(self) -> list[tuple[Path, Body, list[str]]]:
        """Index the directory's blocks (parsed once per directory); the files, for the resource walk."""
        files = self.run.directory(self.directory).files
        for path, body, _lines in files:
            for kind, labels, inner in body.blocks:
                if kind == "variable" and labels:
                    if "default" in inner.attributes:
                        self.variables[labels[0]] = self.eval(inner.attributes["default"])
                    if "nullable" in inner.attributes and self.eval(inner.attributes["nullable"]) is False:
                        self.non_nullable.add(labels[0])
                elif kind == "locals":
                    self.locals.update(inner.attributes)
                elif kind == "resource" and len(labels) == 2:
                    self.resources[f"{labels[0]}.{labels[1]}"] = (labels[0], labels[1], inner, str(path))
                elif kind == "data" and len(labels) == 2:
                    self.data[f"{labels[0]}.{labels[1]}"] = inner
                elif kind == "output" and labels and "value" in inner.attributes:
                    self.outputs[labels[0]] = inner.attributes["value"]
                elif kind == "module" and labels:
                    self.calls[labels[0]] = (inner, str(path))
        return files

    # -- evaluation ----------------------------------------------------------------------
    def _traversal(self, tree: Tree, scope: Mapping[str, Any], depth: int) -> tuple[str | None, list[Any]]:
        steps: list[Any] = []
        node: Tree = tree
        while True:
            if node.data == "expr_term":
                node = _children(node)[0]
                continue
            if node.data == "get_attr_expr_term":
                base, attr = _children(node)
                steps.insert(0, _token_text(_children(attr)[0]))
                node = base
                continue
            if node.data == "index_expr_term":
                base, index = _children(node)
                index_tree = _children(index)[0] if _children(index) else None
                if index.data != "braces_index" or index_tree is None:
                    raise _Unresolved("splat and legacy index expressions are not evaluated by ccme-audit")
                steps.insert(0, self._eval(index_tree, scope, depth + 1))
                node = base
                continue
            if node.data == "identifier":
                return _token_text(node), steps
            if node.data in ("function_call", "tuple", "object", "for_tuple_expr", "for_object_expr", "conditional"):
                base_value = self._eval(node, scope, depth + 1)  # e.g. zipmap(...)["k"], [for ...][0]
                return None, [_Evaluated(base_value), *steps]
            raise _Unresolved(f"the {node.data.replace('_', ' ')} expression is not evaluated by ccme-audit")

    def _reference(self, root: str, steps: list[Any], scope: Mapping[str, Any]) -> Any:
        if root == "var" and steps:
            value = self.variable(str(steps[0]))
            return _index(value, steps[1:], f"var.{steps[0]}")
        if root == "local" and steps:
            return _index(self.local(str(steps[0])), steps[1:], f"local.{steps[0]}")
        if root in ("each", "count") and steps and f"{root}.{steps[0]}" in scope:
            return _index(scope[f"{root}.{steps[0]}"], steps[1:], f"{root}.{steps[0]}")
        if root in scope:
            return _index(scope[root], steps, root)
        if root == "data" and len(steps) >= 3 and steps[0] == "aws_iam_policy_document":
            return self._policy_document(str(steps[1]), steps[2:])
        if root == "data" and len(steps) >= 3:
            dtype, attr = steps[0], steps[2]
            if dtype == "aws_caller_identity" and attr == "account_id":
                if self.account:
                    return self.account
                raise _Unresolved("data.aws_caller_identity: the account is not set (set account in the config)")
            if dtype == "aws_region" and attr in ("name", "id", "region") and self.region:
                return self.region
            if dtype == "aws_partition" and attr in ("partition", "id"):
                return partition_of(self.region).name
            if dtype == "aws_partition" and attr == "dns_suffix":
                return partition_of(self.region).dns_suffix
            raise _Unresolved(f"data.{dtype}.{steps[1]} is read from the account at plan time")
        if root == "module" and steps:
            return self._module_reference(str(steps[0]), steps[1:])
        if root == "path":
            raise _Unresolved("path.* values depend on where Terraform runs")
        if steps:
            address = f"{root}.{steps[0]}"
            rest = steps[1:]
            if address in self.resources:
                body = self.resources[address][2]
                if rest and ("count" in body.attributes or "for_each" in body.attributes):
                    index = rest[0]
                    if isinstance(index, bool) or not isinstance(index, int | str):
                        raise _Unresolved(_why(index, f"index of {address}"))
                    instance = f"{address}[{index}]" if isinstance(index, int) else f'{address}["{index}"]'
                    instance_scope = self._instance_scope(address, body, index)
                    if len(rest) == 1:
                        return Link(self.prefix + instance)
                    attr = str(rest[1])
                    value = self.resource_attribute(address, attr, instance_scope, instance)
                    return _index(value, rest[2:], f"{instance}.{attr}")
                if not rest:
                    return self._whole_resource(address, body)
                return _index(self.resource_attribute(address, str(rest[0])), rest[1:], f"{address}.{rest[0]}")
        raise _Unresolved(f"reference {'.'.join([root, *map(str, steps)])} is not in {self.where()}")

    def _whole_resource(self, address: str, body: Body) -> Any:
        """A resource named without an index: itself, the list of its count instances, or the map of its
        for_each instances (each a Link, attributes read through _index)."""
        if "count" in body.attributes:
            count = self.eval(body.attributes["count"])
            if not isinstance(count, int) or isinstance(count, bool):
                raise _Unresolved(f"count of {self.prefix}{address}: {_why(count, 'count')}")
            return [Link(f"{self.prefix}{address}[{i}]") for i in range(count)]
        if "for_each" in body.attributes:
            pairs = _each_pairs(self.eval(body.attributes["for_each"]))
            if pairs is None:
                raise _Unresolved(f"for_each of {self.prefix}{address} cannot be evaluated")
            return {k: Link(f'{self.prefix}{address}["{k}"]') for k, _v in pairs}
        return Link(self.prefix + address)

    def _policy_document(self, name: str, steps: list[Any]) -> Any:
        """data.aws_iam_policy_document.x[.json]: the document the AWS provider renders from the blocks."""
        address = f"aws_iam_policy_document.{name}"
        body = self.data.get(address)
        if body is None:
            raise _Unresolved(f"data.{address} is not in {self.where()}")
        scope: dict[str, Any] = {}
        if "count" in body.attributes or "for_each" in body.attributes:
            if not steps:
                raise _Unresolved(f"data.{address} without an index")
            scope = self._instance_scope(address, body, steps[0])
            steps = steps[1:]
        marker = ("data", self.prefix, address, json.dumps(scope, default=str, sort_keys=True))
        if marker in self._stack:
            raise _Unresolved(f"data.{address} refers to itself")
        self._stack.add(marker)
        try:
            document = _render_policy_document(self.block_values(body, scope))
        finally:
            self._stack.discard(marker)
        if not steps or steps[0] not in ("json", "minified_json"):
            raise _Unresolved(f"data.{address}: only .json is evaluated by ccme-audit")
        return _index(document, steps[1:], f"data.{address}.json")

    def where(self) -> str:
        return "this directory" if not self.prefix else f"{self.name} ({self.directory})"

    def _instance_scope(self, address: str, body: Body, index: int | str) -> dict[str, Any]:
        """count.index / each.* of one instance; an index Terraform would reject is an error try() can catch."""
        if "count" in body.attributes:
            count = self.eval(body.attributes["count"])
            if (isinstance(count, int) and not isinstance(count, bool)) and (
                not isinstance(index, int) or not 0 <= index < count
            ):
                raise _Missing(f"{self.prefix}{address}[{index!r}] does not exist (count = {count})")
            return {"count.index": index}
        each = self.eval(body.attributes["for_each"])
        keys = _each_pairs(each)
        if keys is None:
            raise _Unresolved(f"for_each of {self.prefix}{address} cannot be evaluated: {_why(each, 'for_each')}")
        found = dict(keys)
        if str(index) not in found:
            raise _Missing(f'{self.prefix}{address}["{index}"] does not exist')
        return {"each.key": str(index), "each.value": found[str(index)]}

    # -- modules ---------------------------------------------------------------------------
    def instances(self, name: str) -> dict[Any, Module]:
        """The instances of `module "name"` (key None, a count index or a for_each key), created once."""
        cached = self._instances.get(name)
        if isinstance(cached, _Unresolved):
            raise cached
        if cached is not None:
            return cached
        marker = ("module", self.prefix, name)
        if marker in self._stack:
            body, file = self.calls[name]
            raise _ModuleProblem(f"module.{name}: its count, for_each or source depends on itself", file, body.line)
        self._stack.add(marker)
        try:
            made: dict[Any, Module] | _Unresolved = self._make_instances(name)
        except _Unresolved as exc:
            made = exc
        finally:
            self._stack.discard(marker)
        self._instances[name] = made
        if isinstance(made, _Unresolved):
            raise made
        return made

    def _make_instances(self, name: str) -> dict[Any, Module]:
        body, file = self.calls[name]
        where = f"{self.prefix}module.{name}"
        source = self.eval(body.attributes["source"]) if "source" in body.attributes else None
        if not isinstance(source, str):
            raise _ModuleProblem(f"{where}: the module source is not a literal string", file, body.line)
        call_path = (*self.call_path, name)
        if _is_local_source(source):
            directory = Path(os.path.normpath(self.directory / source))
        else:
            found = self.run.manifest().get(".".join(call_path))
            if found is None or not found.is_dir():  # never initialised, or .terraform was cleaned since
                self.run.not_downloaded.append(f"{where} ({source})")
                raise _Unresolved(
                    f"{where} comes from {source}, not downloaded: run terraform init, or scan the plan JSON"
                )
            directory = found
        if not directory.is_dir() or not any(directory.glob("*.tf")):
            raise _ModuleProblem(f"{where}: the module source {source} is not a directory of .tf files", file,
                                 body.line)
        if directory.resolve() in self.ancestors or len(self.ancestors) > MAX_MODULE_DEPTH:
            raise _ModuleProblem(f"{where}: module calls loop or nest deeper than {MAX_MODULE_DEPTH}", file,
                                 body.line)
        keys: list[tuple[Any, str, dict[str, Any]]]
        errors: tuple[str, ...] = self.errors
        if "count" in body.attributes:
            count = self.eval(body.attributes["count"])
            if isinstance(count, int) and not isinstance(count, bool):
                keys = [(i, f"{where}[{i}]", {"count.index": i}) for i in range(max(count, 0))]
            else:
                keys = [(None, where, {})]
                errors = (*errors, f"{where}: count cannot be evaluated: {_why(count, 'count')}")
        elif "for_each" in body.attributes:
            each = self.eval(body.attributes["for_each"])
            pairs = _each_pairs(each)
            if pairs is None:
                keys = [(None, where, {})]
                errors = (*errors, f"{where}: for_each cannot be evaluated: {_why(each, 'for_each')}")
            else:
                keys = [(k, f'{where}["{k}"]', {"each.key": k, "each.value": v}) for k, v in pairs]
        else:
            keys = [(None, where, {})]
        self.run.instances += len(keys)
        if self.run.instances > MAX_MODULE_INSTANCES:
            raise _ModuleProblem(f"{where}: more than {MAX_MODULE_INSTANCES} module instances, the rest are not read",
                                 file, body.line)
        out: dict[Any, Module] = {}
        inputs = {k: v for k, v in body.attributes.items() if k not in MODULE_META}
        for key, address, scope in keys:
            child = Module(
                directory, region=self.region, account=self.account, overrides={}, run=self.run,
                prefix=f"{address}.", call_path=call_path, caller=self, inputs=inputs, input_scope=scope,
                ancestors=self.ancestors, errors=errors,
            )
            child.read()
            out[key] = child
        return out

    def _module_reference(self, name: str, steps: list[Any]) -> Any:
        if name not in self.calls:
            raise _Unresolved(f"module.{name} is not called in {self.where()}")
        instances = self.instances(name)
        body = self.calls[name][0]
        if "count" in body.attributes or "for_each" in body.attributes:
            if None in instances:  # count / for_each unknown
                raise _Unresolved(instances[None].errors[-1])
            if not steps:
                objects = {k: instances[k].output_object() for k in instances}
                return list(objects.values()) if "count" in body.attributes else {str(k): v for k, v in
                                                                                 objects.items()}
            index = steps[0]
            if index not in instances:
                raise _Missing(f"module.{name}[{index!r}] does not exist")
            child, rest = instances[index], steps[1:]
        else:
            child, rest = instances[None], steps
        if child.errors:
            raise _Unresolved(child.errors[-1])
        if not rest:
            return child.output_object()
        output = str(rest[0])
        if output not in child.outputs:
            raise _Missing(f"{child.name} has no output {output}")
        return _index(child.output(output), rest[1:], f"{child.name}.{output}")

    def output(self, name: str) -> Any:
        if name in self._output_cache:
            return self._output_cache[name]
        marker = ("output", self.prefix, name)
        if marker in self._stack:
            raise _Unresolved(f"{self.name}.{name} refers to itself")
        self._stack.add(marker)
        try:
            value = self._value(self.outputs[name], {}, 0)
        finally:
            self._stack.discard(marker)
        self._output_cache[name] = value
        return value

    def output_object(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.outputs:
            try:
                out[name] = self.output(name)
            except _Missing as exc:
                out[name] = unknown(exc.reason)
        return out

    def variable(self, name: str) -> Any:
        if self.caller is not None:
            return self._input(name)
        if name in self.overrides:
            return self.overrides[name]
        if name in self.tfvars:
            return self.tfvars[name]
        if name in self.variables:
            return self.variables[name]
        raise _Unresolved(f"variable {name} has no default, no tfvars value and no --param value")

    def _input(self, name: str) -> Any:
        """A called module's variable: the module block's argument (in the caller's scope), else its default."""
        if name in self._input_cache:
            return self._input_cache[name]
        if name in self.inputs and self.caller is not None:
            marker = ("input", self.prefix, name)
            if marker in self._stack:
                raise _Unresolved(f"var.{name} of {self.name} refers to itself")
            self._stack.add(marker)
            try:
                value = self.caller.eval(self.inputs[name], self.input_scope)
            finally:
                self._stack.discard(marker)
            if value is None and name in self.non_nullable and name in self.variables:
                value = self.variables[name]
        elif name in self.variables:
            value = self.variables[name]
        else:
            raise _Unresolved(f"variable {name} of {self.name} is not set by the module call and has no default")
        self._input_cache[name] = value
        return value

    def local(self, name: str) -> Any:
        if name in self._local_cache:
            return self._local_cache[name]
        if name not in self.locals:
            raise _Unresolved(f"local.{name} is not defined")
        marker = ("local", self.prefix, name)
        if marker in self._stack:
            raise _Unresolved(f"local.{name} refers to itself")
        self._stack.add(marker)
        try:
            value = self.eval(self.locals[name])
        finally:
            self._stack.discard(marker)
        self._local_cache[name] = value
        return value

    def resource_attribute(
        self, address: str, attr: str, scope: Mapping[str, Any] | None = None, instance: str | None = None
    ) -> Any:
        """An attribute of a resource (of one count/for_each instance, with its scope): its argument, a
        value known from its arguments (a bucket's name and ARN, an alias's name), else a Link."""
        instance = instance or address
        key = (instance, attr)
        if key in self._attr_cache:
            return self._attr_cache[key]
        rtype, _name, body, _file = self.resources[address]
        value: Any
        marker = ("attr", self.prefix, instance, attr)
        if marker in self._stack:
            raise _Unresolved(f"{instance}.{attr} refers to itself")
        self._stack.add(marker)
        try:
            if attr in body.attributes:
                value = self.eval(body.attributes[attr], scope)
            elif rtype == "aws_s3_bucket" and attr in ("id", "bucket", "arn") and "bucket" in body.attributes:
                name = self.eval(body.attributes["bucket"], scope)
                if name is None:  # bucket = null: Terraform generates the name
                    value = Link(self.prefix + instance, attr)
                else:
                    arn = f"arn:{partition_of(self.region).name}:s3:::{name}"
                    value = (arn if isinstance(name, str) else name) if attr == "arn" else name
            elif rtype == "aws_kms_alias" and attr in ("id", "name") and "name" in body.attributes:
                value = self.eval(body.attributes["name"], scope)
            elif rtype == "random_pet" and attr == "id":
                value = self._random_pet(instance, body, scope)
            else:
                value = Link(self.prefix + instance, attr)
        finally:
            self._stack.discard(marker)
        self._attr_cache[key] = value
        return value

    def _random_pet(self, instance: str, body: Body, scope: Mapping[str, Any] | None) -> Any:
        """A random_pet's id: unknown until apply, but always `length` words of lowercase letters joined by
        `separator` after an optional `prefix` (the provider's petname lists), so a name holding a digit or a
        capital can never be one."""
        args = {k: self.eval(body.attributes[k], scope) if k in body.attributes else default
                for k, default in (("length", 2), ("separator", "-"), ("prefix", None))}
        length, separator, prefix = args["length"], args["separator"], args["prefix"]
        reason = f"{self.prefix}{instance}.id is generated at apply"
        if not (isinstance(length, int) and not isinstance(length, bool) and 1 <= length <= 64
                and isinstance(separator, str) and (prefix is None or isinstance(prefix, str))):
            return Link(self.prefix + instance, "id")
        word = "[a-z]+"
        regex = (re.escape(prefix + separator) if prefix is not None else "") + word \
            + (f"(?:{re.escape(separator)}{word}){{{length - 1}}}" if length > 1 else "")
        return ShapedUnknown(reason, [Pattern(regex)])

    def shape_names(self, rtype: str, body: Body, scope: Mapping[str, Any], values: dict[str, Any]) -> None:
        """A name argument written as fixed text around values known only at apply (`"logs-${random_pet.x.id}"`,
        `"${var.prefix}-data"` without a value) keeps the shape of its fixed text: a configured name that does
        not fit it is not this resource. Nothing fixed left: it stays unknown."""
        attr = NAME_ARGUMENT.get(rtype)
        if attr is None or not is_unknown(values.get(attr)) or attr not in body.attributes:
            return
        if isinstance(values[attr], ShapedUnknown):  # the shape came with the value (a variable, a local, an output)
            values[attr] = C.shaped_name(values[attr]["$unknown"], list(values[attr].pieces))
            return
        tree = self._unwrap(body.attributes[attr])
        seen: set[str] = set()
        while (name := _local_reference(tree)) is not None and name in self.locals and name not in seen:
            seen.add(name)  # `bucket = local.name`, the local holding the template (a module's scope only)
            tree, scope = self._unwrap(self.locals[name]), {}
        if not isinstance(tree, Tree) or tree.data != "string":
            return
        pieces: list[str | None] = []
        for part in _children(tree):
            if part.data != "string_part":
                continue
            inner = _children(part)
            if not inner:
                pieces.append(_unescape(_token_text(part)))
            elif inner[0].data == "interpolation":
                value = self.eval(_children(inner[0])[0], scope)
                known = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None
                pieces.append(known)
            else:
                return  # a template directive: no shape read here
        values[attr] = C.shaped_name(values[attr]["$unknown"], pieces)

    _unwrap = staticmethod(_unwrap)

    def block_values(self, body: Body, scope: Mapping[str, Any]) -> dict[str, Any]:
        """A body as Terraform's JSON shape: attributes as values, nested blocks as lists of objects."""
        out: dict[str, Any] = {k: self.eval(v, scope) for k, v in body.attributes.items()}
        for kind, labels, inner in body.blocks:
            if kind == "dynamic":
                self._dynamic(labels, inner, scope, out)
            elif kind not in ("lifecycle", "provisioner", "connection"):
                out.setdefault(kind, []).append(self.block_values(inner, scope))
        return out

    def _dynamic(self, labels: list[str], body: Body, scope: Mapping[str, Any], out: dict[str, Any]) -> None:
        """dynamic "x" { for_each = ...; iterator = it; content { ... } }: one x block per element."""
        label = labels[0] if labels else "dynamic"
        iterator = label
        if "iterator" in body.attributes:
            named = _children(body.attributes["iterator"])
            if named and named[0].data == "identifier":
                iterator = _token_text(named[0])
        content = next((inner for kind, _l, inner in body.blocks if kind == "content"), None)
        collection = self.eval(body.attributes["for_each"], scope) if "for_each" in body.attributes else None
        if content is None:
            return
        if isinstance(collection, dict) and not is_unknown(collection):
            pairs: list[tuple[Any, Any]] = list(collection.items())
        elif isinstance(collection, list):
            pairs = list(enumerate(collection))
        else:
            out.setdefault(label, []).append(
                unknown(f"dynamic {label}: {_why(collection, 'for_each')}" if collection is not None
                        else f"dynamic {label} has no for_each")
            )
            return
        for key, value in pairs:
            out.setdefault(label, []).append(self.block_values(content, {**scope, iterator: {"key": key,
                                                                                            "value": value}}))


def _tfvars(path: Path, module: Module) -> ParseProblem | None:
    if path.name.endswith(".json"):
        try:
            data = json.loads(read_text(path))
        except (InputError, json.JSONDecodeError) as exc:
            return ParseProblem(str(path), f"invalid tfvars JSON: {exc}"[:300])
        if isinstance(data, dict):
            module.tfvars.update(data)
        return None
    tree, problem = _parse(path)
    if tree is None:
        return problem
    body = Body(_children(tree)[0], None)
    for name, expr in body.attributes.items():
        module.tfvars[name] = module.eval(expr)
    return None
