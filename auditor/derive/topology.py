"""Subnet routing classifier, CCME topology matcher, and the other facts derived before evaluation.

Everything here is a pure function of a Snapshot (and, for the configuration-dependent facts, the
audit configuration). A fact whose inputs could not be collected becomes `unknown(reason)`, so the
rules reading it are ERROR, never PASS.

Subnet classes (from the default route of the subnet's route table, 0.0.0.0/0, else ::/0):
  public         igw-* target (the internet gateway attached to the VPC)
  private-nat    NAT gateway target; the NAT sits in a public subnet and is available
  private-other  transit gateway, ENI, instance, virtual private gateway, peering, egress-only IGW...
  isolated       no default route
  broken         blackhole default route, NAT in a non-public subnet or not available, no route table

CCME topologies (seed 000, "Virtual Private Cloud"):
  1  front-end and back-end subnets public
  2  front-end public, back-end private through a NAT gateway in a front-end subnet
  3  front-end and back-end private through a NAT gateway in an extra public subnet, in an AZ already used
  isolated  the seed 003 shape: no internet gateway attached, the (cluster) subnets isolated
  none      none of the above; `reason` says why
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from auditor.snapshot import (
    CollectionError,
    Resource,
    Snapshot,
    generated_clash,
    is_generated,
    is_unknown,
    unknown,
    unknown_reason,
)

if TYPE_CHECKING:
    from auditor.config import AuditConfig

CLASSES = ("public", "private-nat", "private-other", "isolated", "broken")
TOPOLOGIES = ("1", "2", "3", "isolated", "none")
DEFAULT_V4 = "0.0.0.0/0"
DEFAULT_V6 = "::/0"
_OTHER_TARGETS = (
    ("transit_gateway_id", "transit gateway"),
    ("network_interface_id", "network interface"),
    ("instance_id", "instance"),
    ("vpc_peering_connection_id", "VPC peering connection"),
    ("local_gateway_id", "local gateway"),
    ("carrier_gateway_id", "carrier gateway"),
    ("core_network_arn", "Cloud WAN core network"),
    ("egress_only_internet_gateway_id", "egress-only internet gateway (IPv6 only)"),
)
_TARGET_FIELDS = ("gateway_id", "nat_gateway_id", *(f for f, _ in _OTHER_TARGETS))
_FRONTEND_NAME = re.compile(r"front[-_ ]?end", re.IGNORECASE)
_BACKEND_NAME = re.compile(r"back[-_ ]?end", re.IGNORECASE)
_LIVE_KINDS = ("live", "fixture")
_UNDECIDED = "\0undecided"


class _Unknown(Exception):  # a signal carrying the reason
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Routing:
    """How one subnet reaches (or does not reach) the internet."""

    subnet_id: str
    classification: str | None  # one of CLASSES, or None when unknown
    reason: str
    route_table_id: str | None = None
    route_table_source: str | None = None  # explicit | main
    target: str | None = None  # the default route's target id
    nat_gateway_id: str | None = None
    nat_subnet_id: str | None = None
    route_table_known: bool = True

    @property
    def known(self) -> bool:
        return self.classification is not None


@dataclass(frozen=True)
class Topology:
    vpc_id: str
    topology: str | None  # one of TOPOLOGIES, or None when unknown
    reason: str
    frontend_classes: Mapping[str, Any] = field(default_factory=dict)
    backend_classes: Mapping[str, Any] = field(default_factory=dict)
    cluster_classes: Mapping[str, Any] = field(default_factory=dict)
    internet_gateway_ids: Any = ()


# --- reading the snapshot, with collection errors applied -----------------------------------


class _View:
    """Resources by type with per-resource collection errors applied, and type-level errors."""

    def gateway_endpoints(self, vpc_id: str) -> dict[Any, list[dict[str, Any]]]:
        """The VPC's gateway endpoints by route table id, built once per VPC (linear, not per subnet)."""
        cached = self._gateway_cache.get(vpc_id)
        if cached is None:
            try:
                table_map: dict[Any, list[dict[str, Any]]] = defaultdict(list)
                for endpoint in self.endpoints_by_vpc.get(vpc_id, []):
                    kind = _value(endpoint, "vpc_endpoint_type")
                    if kind is not None and str(kind).lower() != "gateway":
                        continue
                    entry = {
                        "vpc_endpoint_id": _ident(endpoint, "vpc_endpoint_id"),
                        "service_name": _value(endpoint, "service_name"),
                        "state": _value(endpoint, "state"),
                    }
                    for table in _value(endpoint, "route_table_ids") or []:
                        if isinstance(table, str):
                            table_map[table].append(entry)
                cached = table_map
            except _Unknown as exc:
                cached = exc
            self._gateway_cache[vpc_id] = cached
        if isinstance(cached, _Unknown):
            raise cached
        return cached

    def __init__(self, snapshot: Snapshot):
        self.snapshot = snapshot
        self.by_type: dict[str, list[Resource]] = defaultdict(list)
        self.type_errors: dict[str, list[CollectionError]] = defaultdict(list)
        resource_errors: dict[tuple[str, str], list[CollectionError]] = defaultdict(list)
        for error in snapshot.errors:
            if error.resource_id is None:
                self.type_errors[error.resource_type].append(error)
            else:
                resource_errors[(error.resource_type, error.resource_id)].append(error)
        for resource in snapshot.resources:
            errors = resource_errors.get((resource.type, resource.id))
            self.by_type[resource.type].append(_overlay(resource, errors) if errors else resource)
        self.subnets = {_ident(r, "subnet_id"): r for r in self.by_type["ec2.subnet"]}
        self.vpcs = {_ident(r, "vpc_id"): r for r in self.by_type["ec2.vpc"]}
        self.nats = {_ident(r, "nat_gateway_id"): r for r in self.by_type["ec2.nat_gateway"]}
        self.subnets_by_vpc: dict[Any, list[str]] = defaultdict(list)
        for sid, subnet in self.subnets.items():
            vpc_id = subnet.attributes.get("vpc_id")
            if isinstance(vpc_id, str):
                self.subnets_by_vpc[vpc_id].append(sid)
        # Route tables by VPC; a table whose VPC is unknown could be any VPC's.
        self.tables_by_vpc: dict[Any, list[Resource]] = defaultdict(list)
        self.tables_unknown_vpc: list[Resource] = []
        for table in sorted(self.by_type["ec2.route_table"], key=lambda t: t.id):
            vpc_id = table.attributes.get("vpc_id")
            if isinstance(vpc_id, str):
                self.tables_by_vpc[vpc_id].append(table)
            else:
                self.tables_unknown_vpc.append(table)
        self.igws = {_ident(g, "internet_gateway_id"): g for g in self.by_type["ec2.internet_gateway"]}
        self.igws_by_vpc: dict[str, list[str]] = defaultdict(list)
        self.igws_unknown: str | None = None  # an attachment nobody can read could be any VPC's
        for igw_id, gateway in sorted(self.igws.items()):
            attachments = gateway.attributes.get("attachments")
            if is_unknown(attachments):
                self.igws_unknown = self.igws_unknown or (
                    f"the attachments of {igw_id} are unknown: {unknown_reason(attachments)}"
                )
                continue
            for attachment in attachments if isinstance(attachments, list) else []:
                target = attachment.get("vpc_id") if isinstance(attachment, Mapping) else None
                if is_unknown(target):
                    self.igws_unknown = self.igws_unknown or f"the attachments of {igw_id} are unknown"
                elif isinstance(target, str) and igw_id not in self.igws_by_vpc[target]:
                    self.igws_by_vpc[target].append(igw_id)
        self.endpoints_by_vpc: dict[Any, list[Resource]] = defaultdict(list)
        for endpoint in self.by_type["ec2.vpc_endpoint"]:
            self.endpoints_by_vpc[str(endpoint.attributes.get("vpc_id"))].append(endpoint)
        self._gateway_cache: dict[str, dict[Any, list[dict[str, Any]]] | _Unknown] = {}
        self._explicit: dict[str, dict[str, Any]] | None = None

    def explicit(self, vpc_id: str) -> dict[str, Any]:
        """subnet id -> its explicitly associated table, or the reason it cannot be told, for one VPC."""
        if self._explicit is None:
            self._explicit = {}
        found = self._explicit.get(vpc_id)
        if found is not None:
            return found
        found = {}
        undecided: str | None = None
        for table in self.tables_unknown_vpc:
            undecided = undecided or f"the VPC of route table {table.id} is unknown"
        for table in self.tables_by_vpc.get(vpc_id, []):
            associations = table.attributes.get("associations")
            if is_unknown(associations):
                undecided = undecided or (f"the associations of {table.id} are unknown: {unknown_reason(associations)}")
                continue
            for association in associations if isinstance(associations, list) else []:
                target = association.get("subnet_id") if isinstance(association, Mapping) else None
                if is_unknown(target):
                    undecided = undecided or f"an association of {table.id} is unknown: {unknown_reason(target)}"
                elif isinstance(target, str):
                    found.setdefault(target, table)
        if undecided:
            found[_UNDECIDED] = undecided
        self._explicit[vpc_id] = found
        return found

    def errors_for(self, rtype: str, region: str | None) -> list[CollectionError]:
        errors = self.type_errors.get(rtype)
        if not errors:
            return []
        return [e for e in errors if region is None or e.region in (None, region)]

    def require(self, rtype: str, region: str | None) -> None:
        errors = self.errors_for(rtype, region)
        if errors:
            first = errors[0]
            raise _Unknown(f"{rtype} could not be collected: {first.code} on {first.operation}: {first.message}")


def _overlay(resource: Resource, errors: Sequence[CollectionError]) -> Resource:
    attributes = dict(resource.attributes)
    for error in errors:
        reason = f"{error.code} on {error.operation}: {error.message}"
        if error.code == "Conditional" and error.operation == "iac:resolve":
            continue  # only whether it is created is unknown (the rules say so); its settings are as written
        if error.attribute:
            if not is_unknown(attributes.get(error.attribute)):
                attributes[error.attribute] = unknown(reason)
        else:
            keep = {
                "subnet_id",
                "vpc_id",
                "route_table_id",
                "nat_gateway_id",
                "internet_gateway_id",
                "vpc_endpoint_id",
                "arn",
                "name",
                "service",
            }
            attributes = {k: (v if k in keep else unknown(reason)) for k, v in attributes.items()}
    return replace(resource, attributes=attributes)


def _ident(resource: Resource, key: str) -> str:
    value = resource.attributes.get(key)
    return value if isinstance(value, str) else resource.id


def _value(resource: Resource | Mapping[str, Any], key: str) -> Any:
    attributes = resource.attributes if isinstance(resource, Resource) else resource
    value = attributes.get(key)
    if is_unknown(value):
        owner = resource.id if isinstance(resource, Resource) else "a route"
        raise _Unknown(f"{key} of {owner} is unknown: {unknown_reason(value)}")
    return value


def _name_of(resource: Resource) -> Any:
    name = resource.attributes.get("name")
    if is_unknown(name) or is_generated(name):
        return name
    if isinstance(name, str):
        return name
    tags = resource.attributes.get("tags")
    if is_unknown(tags):
        return tags
    if isinstance(tags, Mapping) and isinstance(tags.get("Name"), str):
        return tags["Name"]
    return resource.name


# --- the classifier -------------------------------------------------------------------------


def classify_subnets(snapshot: Snapshot) -> dict[str, Routing]:
    """Route table, source and class of every ec2.subnet in the snapshot, keyed by subnet id."""
    return _classify(_View(snapshot))


def _classify(view: _View) -> dict[str, Routing]:
    base = {sid: _base_routing(view, subnet) for sid, subnet in view.subnets.items()}
    return {sid: _check_nat(view, routing, base) for sid, routing in base.items()}


def _base_routing(view: _View, subnet: Resource) -> Routing:
    sid = _ident(subnet, "subnet_id")
    try:
        vpc_id = _value(subnet, "vpc_id")
        view.require("ec2.route_table", subnet.region)
        table, source = _find_table(view, sid, vpc_id)
        if table is None:
            if view.snapshot.kind in _LIVE_KINDS:
                return Routing(
                    sid,
                    "broken",
                    f"no route table: {sid} has no explicit association and {vpc_id} "
                    "has no main route table in the snapshot",
                )
            raise _Unknown(
                f"{sid} has no explicit route table association and the source does not declare "
                f"the main route table of {vpc_id}"
            )
        table_id = _ident(table, "route_table_id")
        try:
            return _from_routes(view, sid, vpc_id, table, table_id, source)
        except _Unknown as exc:
            return Routing(sid, None, exc.reason, table_id, source)
    except _Unknown as exc:
        return Routing(sid, None, exc.reason, route_table_known=False)


def _find_table(view: _View, subnet_id: str, vpc_id: str) -> tuple[Resource | None, str | None]:
    explicit = view.explicit(vpc_id)
    if subnet_id in explicit:
        return explicit[subnet_id], "explicit"
    if _UNDECIDED in explicit:
        raise _Unknown(str(explicit[_UNDECIDED]))
    for table in view.tables_by_vpc.get(vpc_id, []):
        if _is_main(table):
            return table, "main"
    return None, None


def _is_main(table: Resource) -> bool:
    main = table.attributes.get("main")
    if is_unknown(main):
        raise _Unknown(f"whether {table.id} is the main route table is unknown: {unknown_reason(main)}")
    if main is True:
        return True
    associations = table.attributes.get("associations")
    return isinstance(associations, list) and any(
        isinstance(a, Mapping) and a.get("main") is True for a in associations
    )


def _from_routes(view: _View, sid: str, vpc_id: str, table: Resource, table_id: str, source: str | None) -> Routing:
    routes = _value(table, "routes") or []
    if not isinstance(routes, list):
        raise _Unknown(f"the routes of {table_id} are not a list")
    default4: Mapping[str, Any] | None = None
    default6: Mapping[str, Any] | None = None
    for route in routes:
        if not isinstance(route, Mapping):
            raise _Unknown(f"a route of {table_id} is unreadable")
        dest4, dest6 = route.get("destination_cidr_block"), route.get("destination_ipv6_cidr_block")
        if is_unknown(dest4) or is_unknown(dest6):
            raise _Unknown(f"a route destination of {table_id} is unknown")
        if dest4 == DEFAULT_V4 and default4 is None:
            default4 = route
        if dest6 == DEFAULT_V6 and default6 is None:
            default6 = route
    via = f"{table_id} ({source})"
    route = default4 if default4 is not None else default6
    if route is None:
        return Routing(sid, "isolated", f"no default route (0.0.0.0/0 or ::/0) in route table {via}", table_id, source)
    destination = DEFAULT_V4 if route is default4 else DEFAULT_V6
    for key in (*_TARGET_FIELDS, "state"):
        if is_unknown(route.get(key)):
            raise _Unknown(f"the {destination} route of {table_id} has an unknown {key}: {unknown_reason(route[key])}")
    target = next((str(route[k]) for k in _TARGET_FIELDS if route.get(k)), None)
    here = f"the {destination} route of {via}"
    if route.get("state") == "blackhole":
        return Routing(
            sid,
            "broken",
            f"{here} targets {target or 'a deleted target'}, which no longer exists (blackhole)",
            table_id,
            source,
            target,
        )
    gateway = route.get("gateway_id")
    if isinstance(gateway, str) and gateway.startswith("igw-"):
        problem = _igw_problem(view, gateway, vpc_id)
        if problem:
            return Routing(sid, "broken", f"{here} targets {problem}", table_id, source, target)
        return Routing(sid, "public", f"{here} targets the internet gateway {gateway}", table_id, source, target)
    nat = route.get("nat_gateway_id")
    if nat:
        return Routing(
            sid,
            "private-nat",
            f"{here} targets the NAT gateway {nat}",
            table_id,
            source,
            target,
            nat_gateway_id=str(nat),
        )
    if isinstance(gateway, str) and gateway.startswith("vgw-"):
        return Routing(
            sid,
            "private-other",
            f"{here} targets the virtual private gateway {gateway}",
            table_id,
            source,
            target,
        )
    for key, label in _OTHER_TARGETS:
        if route.get(key):
            return Routing(sid, "private-other", f"{here} targets the {label} {route[key]}", table_id, source, target)
    if gateway:
        return Routing(
            sid,
            "private-other",
            f"{here} targets {gateway} (not an internet gateway)",
            table_id,
            source,
            target,
        )
    return Routing(sid, "broken", f"{here} has no target", table_id, source)


def _igw_problem(view: _View, igw_id: str, vpc_id: str) -> str | None:
    """Why an igw-* target cannot carry traffic (detached), or None; unknown when unreadable."""
    gateway = view.igws.get(igw_id)
    if gateway is None:
        return None  # not collected on its own: the route's active state is the evidence
    attachments = _value(gateway, "attachments") or []
    for attachment in attachments:
        if not isinstance(attachment, Mapping):
            continue
        if is_unknown(attachment.get("vpc_id")) or is_unknown(attachment.get("state")):
            raise _Unknown(f"the attachments of {igw_id} are unknown")
        if attachment.get("vpc_id") == vpc_id and attachment.get("state") in ("available", "attached", None):
            return None
    return f"the internet gateway {igw_id}, which is not attached to {vpc_id}"


def _check_nat(view: _View, routing: Routing, base: Mapping[str, Routing]) -> Routing:
    if routing.classification != "private-nat" or routing.nat_gateway_id is None:
        return routing
    nat_id = routing.nat_gateway_id
    subnet = view.subnets.get(routing.subnet_id)
    try:
        view.require("ec2.nat_gateway", subnet.region if subnet else None)
        nat = view.nats.get(nat_id)
        if nat is None:
            return replace(
                routing,
                classification="broken",
                reason=f"{routing.reason}, which is not in the snapshot (deleted?)",
            )
        state = _value(nat, "state")
        if state not in ("available", None):
            return replace(routing, classification="broken", reason=f"{routing.reason}, which is {state}")
        if _value(nat, "connectivity_type") == "private":
            return replace(
                routing,
                classification="private-other",
                reason=f"{routing.reason}, a private NAT gateway (no internet egress)",
            )
        nat_subnet = _value(nat, "subnet_id")
        where = base.get(nat_subnet) if isinstance(nat_subnet, str) else None
        if where is None:
            return replace(
                routing,
                classification="broken",
                nat_subnet_id=nat_subnet,
                reason=f"{routing.reason}, whose subnet {nat_subnet} is not in the snapshot",
            )
        if where.classification is None:
            raise _Unknown(f"{routing.reason}; the class of its subnet {nat_subnet} is unknown: {where.reason}")
        if where.classification != "public":
            return replace(
                routing,
                classification="broken",
                nat_subnet_id=nat_subnet,
                reason=f"{routing.reason}, which sits in {nat_subnet}, a {where.classification} "
                "subnet: a NAT gateway must sit in a public subnet",
            )
        return replace(routing, nat_subnet_id=nat_subnet, reason=f"{routing.reason} in the public subnet {nat_subnet}")
    except _Unknown as exc:
        return replace(routing, classification=None, reason=exc.reason)


# --- topologies -----------------------------------------------------------------------------


def topology(
    snapshot: Snapshot,
    vpc_id: str,
    frontend: Sequence[str],
    backend: Sequence[str],
    cluster: Sequence[str] = (),
) -> Topology:
    """Which of seed 000's topologies (or the seed 003 isolated shape) the VPC matches, or why none."""
    view = _View(snapshot)
    return _topology(view, _classify(view), vpc_id, frontend, backend, cluster)


def _class_map(ids: Iterable[str], routing: Mapping[str, Routing]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for sid in ids:
        r = routing.get(sid)
        out[sid] = None if r is None else (r.classification if r.known else unknown(r.reason))
    return out


def _attached_igws(view: _View, vpc_id: str, region: str | None) -> list[str]:
    view.require("ec2.internet_gateway", region)
    if view.igws_unknown:
        raise _Unknown(view.igws_unknown)
    return view.igws_by_vpc.get(vpc_id, [])


def _topology(
    view: _View,
    routing: Mapping[str, Routing],
    vpc_id: str,
    frontend: Sequence[str],
    backend: Sequence[str],
    cluster: Sequence[str],
) -> Topology:
    vpc = view.vpcs.get(vpc_id)
    region = vpc.region if vpc else None
    fe_map, be_map = _class_map(frontend, routing), _class_map(backend, routing)
    members = list(cluster) or list(view.subnets_by_vpc.get(vpc_id, []))
    cl_map = _class_map(members, routing)
    try:
        igws: Any = _attached_igws(view, vpc_id, region)
    except _Unknown as exc:
        igws = unknown(exc.reason)
    result = Topology(vpc_id, None, "", fe_map, be_map, cl_map, igws)
    try:
        if not view.subnets_by_vpc.get(vpc_id):
            view.require("ec2.subnet", region)  # no subnet seen: unknown when the subnets could not be listed
        if not frontend and not backend:
            missing = [sid for sid in members if sid not in routing]
            if missing:
                # A configured cluster subnet the snapshot does not hold: absent when the subnets were listed
                # completely, unknown when they were not. Either way it has no class to match.
                view.require("ec2.subnet", region)
                return replace(result, topology="none", reason=f"the subnet {missing[0]} is not in the snapshot")
            name, reason = _isolated_shape(vpc_id, members, routing, igws)
        else:
            name, reason = _ccme_shape(view, vpc_id, frontend, backend, routing, igws)
        return replace(result, topology=name, reason=reason)
    except _Unknown as exc:
        return replace(result, reason=exc.reason)


def _isolated_shape(vpc_id: str, members: Sequence[str], routing: Mapping[str, Routing], igws: Any) -> tuple[str, str]:
    if is_unknown(igws):
        raise _Unknown(unknown_reason(igws))
    if not members:
        return "none", f"{vpc_id} has no subnets and no front-end or back-end subnets are configured"
    classes = _known_classes(members, routing)
    if igws:
        return "none", (
            f"the internet gateway {', '.join(igws)} is attached to {vpc_id}, and no front-end or "
            "back-end subnets are configured (set network.frontend_subnets and backend_subnets)"
        )
    not_isolated = [sid for sid in members if classes[sid] != "isolated"]
    if not_isolated:
        sid = not_isolated[0]
        return "none", f"no internet gateway, but {sid} is {classes[sid]}: {routing[sid].reason}"
    return "isolated", f"no internet gateway attached to {vpc_id}; subnets {', '.join(members)} are isolated"


def _known_classes(ids: Sequence[str], routing: Mapping[str, Routing]) -> dict[str, str]:
    out = {}
    for sid in ids:
        r = routing.get(sid)
        if r is None:
            out[sid] = "missing"
            continue
        if not r.known:
            raise _Unknown(f"the class of {sid} is unknown: {r.reason}")
        out[sid] = str(r.classification)
    return out


def _ccme_shape(
    view: _View,
    vpc_id: str,
    frontend: Sequence[str],
    backend: Sequence[str],
    routing: Mapping[str, Routing],
    igws: Any,
) -> tuple[str, str]:
    if not frontend:
        return "none", "no front-end subnets (set network.frontend_subnets, or tag them Name=*FrontEnd*)"
    if not backend:
        return "none", "no back-end subnets (set network.backend_subnets, or tag them Name=*BackEnd*)"
    for sid in (*frontend, *backend):
        subnet = view.subnets.get(sid)
        if subnet is None:
            return "none", f"the subnet {sid} is not in the snapshot"
        if subnet.attributes.get("vpc_id") != vpc_id:
            return "none", f"the subnet {sid} is in {subnet.attributes.get('vpc_id')}, not in {vpc_id}"
    fe, be = _known_classes(frontend, routing), _known_classes(backend, routing)
    broken = [sid for sid in (*frontend, *backend) if routing[sid].classification == "broken"]
    if broken:
        return "none", f"{broken[0]} is broken: {routing[broken[0]].reason}"
    fe_set, be_set = set(fe.values()), set(be.values())
    if not is_unknown(igws) and not igws and fe_set | be_set <= {"isolated"}:
        return "isolated", (
            f"no internet gateway attached to {vpc_id} and every front-end and back-end subnet "
            "is isolated (the seed 003 shape, not a CCME topology)"
        )
    nat_subnets = {
        sid: routing[sid].nat_subnet_id for sid in (*frontend, *backend) if routing[sid].classification == "private-nat"
    }
    if fe_set == {"public"} and be_set == {"public"}:
        return "1", "front-end and back-end subnets are public"
    if fe_set == {"public"} and be_set == {"private-nat"}:
        outside = sorted({n for n in nat_subnets.values() if n not in frontend}, key=str)
        if outside:
            return "none", (
                f"the back-end subnets are private through a NAT gateway in {', '.join(map(str, outside))}, "
                "which is not a front-end subnet (topology 2 puts it in a front-end subnet)"
            )
        return (
            "2",
            "front-end subnets public; back-end subnets private through a NAT gateway in a front-end subnet",
        )
    if fe_set == {"private-nat"} and be_set == {"private-nat"}:
        used = [(sid, view.subnets[sid].attributes.get("availability_zone")) for sid in (*frontend, *backend)]
        for sid, az in used:
            if is_unknown(az):
                raise _Unknown(f"the availability zone of {sid} is unknown: {unknown_reason(az)}")
        used_azs = {az for _, az in used}
        for nat_subnet in sorted({str(n) for n in nat_subnets.values()}):
            if nat_subnet in frontend or nat_subnet in backend:
                return "none", f"the NAT gateway sits in {nat_subnet}, a front-end or back-end subnet"
            az = view.subnets[nat_subnet].attributes.get("availability_zone")
            if is_unknown(az):
                raise _Unknown(f"the availability zone of {nat_subnet} is unknown")
            if az not in used_azs:
                return "none", (
                    f"the NAT gateway's public subnet {nat_subnet} is in {az}, an availability zone "
                    "no front-end or back-end subnet uses (topology 3 puts it in one already used)"
                )
        return "3", (
            "front-end and back-end subnets private through a NAT gateway in an extra public subnet "
            f"({', '.join(sorted({str(n) for n in nat_subnets.values()}))})"
        )
    return "none", (
        f"front-end subnets are {_describe(fe)} and back-end subnets are {_describe(be)}: "
        "topology 1 needs both public, 2 front-end public and back-end private-nat, 3 both "
        "private-nat through an extra public subnet"
    )


def _describe(classes: Mapping[str, str]) -> str:
    return ", ".join(f"{sid} {cls}" for sid, cls in classes.items())


# --- layout facts for the rules -------------------------------------------------------------


def _layout(view: _View, vpc: Resource, ids: Sequence[str]) -> tuple[Any, Any]:
    """(distinct availability zones, problems) of the configured subnets of one role."""
    vpc_id = _ident(vpc, "vpc_id")
    try:
        cidrs = _vpc_cidrs(vpc)
        azs: set[str] = set()
        problems: list[str] = []
        for sid in ids:
            subnet = view.subnets.get(sid)
            if subnet is None:
                view.require("ec2.subnet", vpc.region)
                problems.append(f"{sid} not found")
                continue
            if _value(subnet, "vpc_id") != vpc_id:
                problems.append(f"{sid} is in {subnet.attributes.get('vpc_id')}, not in {vpc_id}")
                continue
            cidr = _value(subnet, "cidr_block")
            if cidr is not None and not _inside(cidr, cidrs):
                problems.append(f"{sid} CIDR {cidr} is not inside the VPC CIDR(s) {', '.join(cidrs)}")
            az = _value(subnet, "availability_zone")
            if az:
                azs.add(str(az))
        return sorted(azs), problems
    except _Unknown as exc:
        return unknown(exc.reason), unknown(exc.reason)


def _vpc_cidrs(vpc: Resource) -> list[str]:
    blocks = _value(vpc, "cidr_blocks") or []
    main = _value(vpc, "cidr_block")
    return sorted({str(c) for c in [*blocks, main] if c})


def _inside(cidr: str, cidrs: Sequence[str]) -> bool:
    try:
        network = ipaddress.ip_network(cidr, strict=False)
        return any(
            network.version == outer.version and network.subnet_of(outer)  # type: ignore[arg-type]
            for outer in (ipaddress.ip_network(c, strict=False) for c in cidrs)
        )
    except ValueError:
        return False


def _public_azs(view: _View, vpc_id: str, routing: Mapping[str, Routing]) -> Any:
    azs: set[str] = set()
    vpc = view.vpcs.get(vpc_id)
    if not view.subnets_by_vpc.get(vpc_id) and view.errors_for("ec2.subnet", vpc.region if vpc else None):
        return unknown(f"the subnets of {vpc_id} could not be listed")
    for sid in view.subnets_by_vpc.get(vpc_id, []):
        subnet = view.subnets[sid]
        r = routing[sid]
        if not r.known:
            return unknown(f"the class of {sid} is unknown: {r.reason}")
        if r.classification == "public":
            az = subnet.attributes.get("availability_zone")
            if is_unknown(az):
                return unknown(f"the availability zone of {sid} is unknown")
            if az:
                azs.add(str(az))
    return sorted(azs)


# --- configuration-dependent roles ----------------------------------------------------------


def _network(config: AuditConfig | None) -> Mapping[str, Any]:
    if config is None:
        return {}
    network = config.data.get("network") or {}
    return network if isinstance(network, Mapping) else {}


def vpc_role(vpc: Resource, network: Mapping[str, Any]) -> Any:
    """'ccme' for network.vpc_id (or, when it is null, the VPC named network.vpc_name), 'cluster' for
    network.cluster_vpc_id, else None; unknown when the name decides and is unknown."""
    vid = _ident(vpc, "vpc_id")
    if network.get("vpc_id"):
        if vid == network["vpc_id"]:
            return "ccme"
    elif network.get("vpc_name"):
        name = _name_of(vpc)
        if is_unknown(name):
            return unknown(f"the name of {vid} is unknown: {unknown_reason(name)}")
        if is_generated(name):  # fixed text around unknown parts: in scope only if the configured name fits
            clash = generated_clash(name, network["vpc_name"])
            return None if clash is None else unknown(f"the name of {vid} is not known: {clash}")
        if name == network["vpc_name"]:
            return "ccme"
    if network.get("cluster_vpc_id") and vid == network["cluster_vpc_id"]:
        return "cluster"
    return None


def _roles_of(view: _View, vpc_id: str, network: Mapping[str, Any]) -> tuple[list[str], list[str], str]:
    """Front-end and back-end subnet ids of the CCME VPC: configured, else by Name tag."""
    frontend = list(network.get("frontend_subnets") or [])
    backend = list(network.get("backend_subnets") or [])
    if frontend or backend:
        return frontend, backend, "config"
    in_vpc = sorted(
        (sid, _name_of(view.subnets[sid]))
        for sid in view.subnets_by_vpc.get(vpc_id, [])
        if not is_unknown(_name_of(view.subnets[sid]))
    )
    frontend = [sid for sid, name in in_vpc if isinstance(name, str) and _FRONTEND_NAME.search(name)]
    backend = [sid for sid, name in in_vpc if isinstance(name, str) and _BACKEND_NAME.search(name)]
    return frontend, backend, "name" if frontend or backend else "none"


# --- certificates and service probes --------------------------------------------------------


def domain_matches(pattern: str, domain: str) -> bool:
    """Whether a certificate name (possibly '*.example.com') covers `domain` (one label for '*')."""
    pattern, domain = pattern.lower().rstrip("."), domain.lower().rstrip(".")
    if pattern == domain:
        return True
    if pattern.startswith("*."):
        head, _, rest = domain.partition(".")
        return bool(head) and rest == pattern[2:]
    return False


def _certificate(resource: Resource, today: dt.date, domain: str | None, configured: bool) -> dict[str, Any]:
    attributes = dict(resource.attributes)
    not_after = attributes.get("not_after")
    if is_unknown(not_after):
        attributes["days_to_expiry"] = unknown(f"not_after is unknown: {unknown_reason(not_after)}")
    elif isinstance(not_after, str):
        try:
            when = dt.datetime.fromisoformat(not_after)
            attributes["days_to_expiry"] = (when.date() - today).days
        except ValueError:
            attributes["days_to_expiry"] = unknown(f"not_after {not_after!r} is not an ISO 8601 date")
    elif "days_to_expiry" not in attributes:
        attributes["days_to_expiry"] = None
    if configured:
        if domain is None:
            attributes["matches_domain"] = True
        else:
            names = [attributes.get("domain_name"), *(attributes.get("subject_alternative_names") or [])]
            unknowns = [n for n in names if is_unknown(n)] + (
                [attributes["subject_alternative_names"]]
                if is_unknown(attributes.get("subject_alternative_names"))
                else []
            )
            matched = any(isinstance(n, str) and domain_matches(n, domain) for n in names if not is_unknown(n))
            attributes["matches_domain"] = (
                True
                if matched
                else (
                    unknown(f"the certificate's names are unknown: {unknown_reason(unknowns[0])}")
                    if unknowns
                    else False
                )
            )
    return attributes


_USABILITY = {
    "usable": "usable",
    "blocked-by-organization": "blocked-by-organization",
    "unavailable": "unavailable",
}


def _probe(resource: Resource) -> dict[str, Any]:
    attributes = dict(resource.attributes)
    status = attributes.get("status")
    detail = attributes.get("detail")
    if is_unknown(status):
        attributes["usability"] = status
    elif status in _USABILITY:
        attributes["usability"] = _USABILITY[status]
    elif status == "access-denied":
        attributes["usability"] = unknown(
            "the probe was denied to the auditor by IAM (not by a service control policy), so whether the "
            f"service is usable cannot be told{': ' + str(detail) if detail else ''}"
        )
    else:
        attributes["usability"] = unknown(f"the service was not probed{': ' + str(detail) if detail else ''}")
    return attributes


# --- derive ---------------------------------------------------------------------------------


def _subnet_attributes(view: _View, subnet: Resource, routing: Routing, roles: list[str] | None) -> dict[str, Any]:
    attributes = dict(subnet.attributes)
    inputs_absent = _routing_inputs_absent(view, subnet)
    if not inputs_absent:
        attributes["route_table_id"] = routing.route_table_id
        attributes["route_table_source"] = routing.route_table_source
        attributes["classification"] = routing.classification if routing.known else unknown(routing.reason)
        attributes["classification_reason"] = routing.reason
        attributes["default_route_target"] = routing.target
    endpoints_absent = (
        not view.by_type["ec2.vpc_endpoint"]
        and not view.errors_for("ec2.vpc_endpoint", subnet.region)
        and "gateway_endpoints" in attributes
    )
    if not endpoints_absent:
        table = attributes.get("route_table_id")
        attributes["gateway_endpoints"] = _gateway_endpoints(view, subnet, table, routing, inputs_absent)
    if roles is not None:
        attributes["roles"] = roles
    return attributes


def _routing_inputs_absent(view: _View, subnet: Resource) -> bool:
    """The snapshot holds no route table of the subnet's VPC (and no error) but the subnet has a class."""
    return (
        not view.tables_by_vpc.get(str(subnet.attributes.get("vpc_id")))
        and not view.errors_for("ec2.route_table", subnet.region)
        and "classification" in subnet.attributes
    )


def _preserved_routing(view: _View, subnet: Resource) -> Routing:
    """The Routing a source already recorded on the subnet (kept when the route tables are absent)."""
    attributes = subnet.attributes
    sid = _ident(subnet, "subnet_id")
    value = attributes.get("classification")
    reason = attributes.get("classification_reason")
    reason = reason if isinstance(reason, str) and reason else "recorded by the source"
    if is_unknown(value) or value not in CLASSES:
        why = unknown_reason(value) if is_unknown(value) else f"unrecognised class {value!r}"
        return Routing(sid, None, why, route_table_known=False)
    target = attributes.get("default_route_target")
    target = target if isinstance(target, str) else None
    nat_subnet = None
    if target and target.startswith("nat-") and target in view.nats:
        found = view.nats[target].attributes.get("subnet_id")
        nat_subnet = found if isinstance(found, str) else None
    table = attributes.get("route_table_id")
    source = attributes.get("route_table_source")
    return Routing(
        sid,
        str(value),
        reason,
        table if isinstance(table, str) else None,
        source if isinstance(source, str) else None,
        target,
        nat_gateway_id=target if target and target.startswith("nat-") else None,
        nat_subnet_id=nat_subnet,
    )


def _gateway_endpoints(view: _View, subnet: Resource, table: Any, routing: Routing, preserved: bool) -> Any:
    try:
        view.require("ec2.vpc_endpoint", subnet.region)
        if not preserved and not routing.route_table_known:
            raise _Unknown(f"the route table of {subnet.id} is unknown: {routing.reason}")
        if is_unknown(table):
            raise _Unknown(f"the route table of {subnet.id} is unknown")
        by_table = view.gateway_endpoints(str(subnet.attributes.get("vpc_id")))
        found = list(by_table.get(table, ())) if table is not None and not isinstance(table, dict) else []
        return sorted(found, key=lambda e: str(e["vpc_endpoint_id"]))
    except _Unknown as exc:
        return unknown(exc.reason)


def _topology_resource(
    view: _View, vpc: Resource, routing: Mapping[str, Routing], network: Mapping[str, Any], role: Any
) -> Resource:
    vpc_id = _ident(vpc, "vpc_id")
    frontend: list[str] = []
    backend: list[str] = []
    source = "none"
    cluster: list[str] = []
    if role == "ccme":
        frontend, backend, source = _roles_of(view, vpc_id, network)
    elif role == "cluster":
        cluster = list(network.get("cluster_subnets") or [])
    result = _topology(view, routing, vpc_id, frontend, backend, cluster)
    fe_azs, fe_problems = _layout(view, vpc, frontend)
    be_azs, be_problems = _layout(view, vpc, backend)
    attributes: dict[str, Any] = {
        "vpc_id": vpc_id,
        "role": role,
        "topology": result.topology if result.topology is not None else unknown(result.reason),
        "reason": result.reason,
        "subnet_roles_from": source,
        "frontend_classes": result.frontend_classes,
        "backend_classes": result.backend_classes,
        "cluster_classes": result.cluster_classes,
        "frontend_azs": fe_azs,
        "backend_azs": be_azs,
        "frontend_problems": fe_problems,
        "backend_problems": be_problems,
        "public_azs": _public_azs(view, vpc_id, routing),
        "internet_gateway_ids": result.internet_gateway_ids
        if is_unknown(result.internet_gateway_ids)
        else list(result.internet_gateway_ids),
    }
    # The derived resource's name carries the verdict, so that rule messages ({resource.name}) show why.
    name = _name_of(vpc)
    label = name if isinstance(name, str) and name else vpc_id
    return Resource(
        type="ec2.topology",
        id=vpc_id,
        attributes=attributes,
        name=f"{label}: {result.reason}" if result.reason else label,
        region=vpc.region,
        account=vpc.account,
        location=vpc.location,
    )


def derive(snapshot: Snapshot, config: AuditConfig | None = None, *, today: dt.date | None = None) -> Snapshot:
    """A new Snapshot with the derived facts filled in.

    - ec2.subnet: route_table_id, route_table_source, classification, classification_reason,
      default_route_target, gateway_endpoints (and roles, with a configuration);
    - ec2.vpc: ccme_role (with a configuration); one ec2.topology resource per VPC;
    - acm.certificate: days_to_expiry (against `today`), matches_domain (with a configuration);
    - service.probe: usability (access-denied and not-probed become unknown).
    Values already present are kept when their inputs are absent from the snapshot.
    """
    today = today or dt.datetime.now(dt.UTC).date()
    view = _View(snapshot)
    routing = _classify(view)
    for sid, subnet in view.subnets.items():
        if _routing_inputs_absent(view, subnet):
            routing[sid] = _preserved_routing(view, subnet)
    network = _network(config)
    roles: dict[str, Any] = {}
    if config is not None:
        roles = {vid: vpc_role(vpc, network) for vid, vpc in view.vpcs.items()}
    subnet_roles: dict[str, list[str]] = defaultdict(list)
    if config is not None:
        for vid, role in roles.items():
            if role == "ccme":
                fe, be, _ = _roles_of(view, vid, network)
                for sid in fe:
                    subnet_roles[sid].append("frontend")
                for sid in be:
                    subnet_roles[sid].append("backend")
        for sid in network.get("cluster_subnets") or []:
            subnet_roles[sid].append("cluster")
    domain = config.data.get("certificate_domain") if config is not None else None
    topologies: dict[str, Resource] = {}
    for vid, vpc in view.vpcs.items():
        topologies[vid] = _topology_resource(view, vpc, routing, network, roles.get(vid))
    out: list[Resource] = []
    for resource in snapshot.resources:
        if resource.type == "ec2.topology" and resource.id in topologies:
            continue
        if resource.type == "ec2.subnet":
            sid = _ident(resource, "subnet_id")
            merged = view.subnets.get(sid, resource)
            attributes = _subnet_attributes(
                view,
                merged,
                routing[sid],
                sorted(set(subnet_roles.get(sid, []))) if config is not None else None,
            )
            resource = _with_attributes(resource, _keep_original_unknowns(resource.attributes, attributes))
        elif resource.type == "ec2.vpc" and config is not None:
            vid = _ident(resource, "vpc_id")
            resource = _with_attributes(resource, {**resource.attributes, "ccme_role": roles.get(vid)})
        elif resource.type == "acm.certificate":
            resource = _with_attributes(resource, _certificate(resource, today, domain, config is not None))
        elif resource.type == "service.probe":
            resource = _with_attributes(resource, _probe(resource))
        out.append(resource)
    out.extend(topologies.values())
    errors = list(snapshot.errors)
    for rtype in ("ec2.vpc", "ec2.subnet"):
        for error in view.type_errors.get(rtype, []):
            errors.append(
                replace(
                    error,
                    resource_type="ec2.topology",
                    message=f"{rtype} could not be collected: {error.message}",
                )
            )
    return replace(snapshot, resources=tuple(out), errors=tuple(errors))


def _with_attributes(resource: Resource, attributes: Mapping[str, Any]) -> Resource:
    return Resource(
        type=resource.type,
        id=resource.id,
        attributes=attributes,
        name=resource.name,
        region=resource.region,
        account=resource.account,
        location=resource.location,
    )


def _keep_original_unknowns(original: Mapping[str, Any], derived: dict[str, Any]) -> dict[str, Any]:
    """The subnet's own collected attributes stay as collected (the engine re-applies its errors)."""
    for key, value in original.items():
        if key not in (
            "route_table_id",
            "route_table_source",
            "classification",
            "classification_reason",
            "default_route_target",
            "gateway_endpoints",
            "roles",
        ):
            derived[key] = value
    return derived
