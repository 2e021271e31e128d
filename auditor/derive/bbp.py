"""Reachability facts of the seed 003 cluster network (pack bbp), derived after auditor.derive.topology.

Pure functions over a snapshot whose subnets already carry `roles` and `classification`:

- ec2.vpc_endpoint (Interface, in network.cluster_vpc_id): `cluster_azs_uncovered`, the AZs of the cluster
  subnets where the endpoint has no subnet; `cluster_https_uncovered`, the cluster subnets whose CIDR no
  TCP 443 ingress source of the endpoint's security groups covers;
- rds.db_instance: `cluster_port_uncovered`, the cluster subnets its security groups do not admit on its
  port (3306 when unknown); `world_port_ingress`, the rules admitting that port from 0.0.0.0/0 or ::/0;
- ec2.vpc_peering_connection: `route_gaps`, each side (requester, accepter) without an active route through
  the peering whose destination covers the other side's CIDR;
- ec2.security_group (in network.cluster_vpc_id): `foreign_ingress`, the ingress rules admitting a source
  outside the cluster VPC and the VPCs actively peered with it (a CIDR not inside their CIDRs, a group of
  another VPC); `ssh_outside_sources`, the rules admitting TCP 22 from outside the cluster VPC and the main
  VPC (bbp.main_vpc_id, where seed 003's Workflow Service reaches the clusters from). A prefix-list source,
  or a referenced group the snapshot does not describe, makes them unknown;
- fsx.file_system: `dra_buckets`, the distinct S3 buckets its data repository associations target (seed 003:
  "two S3-DRA mount points targetting two separate S3 buckets"); unknown when a repository path is;
  `private_dra_shared_with`, the other Lustre file systems (other clusters, hence other Projects) whose
  /project/private association reaches an S3 location overlapping its own (the same bucket, one prefix
  containing the other): seed 003's private assets "not visible among Projects nor Virtual Labs".

The cluster subnets are network.cluster_subnets (role 'cluster'); when none is configured, the isolated
subnets of the cluster VPC. An ingress source covers a cluster subnet when its IPv4 CIDR contains the
subnet's CIDR, or when it references a security group of the cluster VPC (the groups the cluster's
instances carry are not known before deployment: any group of the dedicated cluster VPC counts).
Anything these facts rest on that the snapshot lacks makes them unknown (rules reading them are ERROR).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from auditor.snapshot import Resource, Snapshot, is_unknown, unknown, unknown_reason

if TYPE_CHECKING:
    from auditor.config import AuditConfig

__all__ = ["covers", "derive", "port_admits"]

WORLD = ("0.0.0.0/0", "::/0")
MYSQL_PORT = 3306
HTTPS_PORT = 443
SSH_PORT = 22


class Unknown(Exception):
    """A fact rests on evidence the snapshot lacks."""


@dataclass(frozen=True)
class ClusterSubnet:
    subnet_id: str
    availability_zone: str
    cidr: str


def covers(outer: str, inner: str) -> bool:
    """Whether CIDR `outer` contains CIDR `inner` (False for malformed or mixed-family values)."""
    try:
        a, b = ipaddress.ip_network(outer, strict=False), ipaddress.ip_network(inner, strict=False)
    except ValueError:
        return False
    return a.version == b.version and b.subnet_of(a)  # type: ignore[arg-type]


def port_admits(rule: Mapping[str, Any], port: int) -> bool:
    """Whether a security group ingress rule admits TCP `port` (all traffic included)."""
    protocol = str(rule.get("protocol"))
    if protocol in ("-1", "all"):
        return True
    if protocol not in ("tcp", "6"):
        return False
    low, high = rule.get("from_port"), rule.get("to_port")
    if low is None and high is None:
        return True
    if not isinstance(low, int) or not isinstance(high, int):
        return False
    return low <= port <= high


class _View:
    def __init__(self, snapshot: Snapshot):
        self.by_type: dict[str, dict[str, Resource]] = {}
        for resource in snapshot.resources:
            self.by_type.setdefault(resource.type, {})[resource.id] = resource
        self.type_errors = {e.resource_type for e in snapshot.errors if e.resource_id is None}
        self.resource_errors = {(e.resource_type, e.resource_id) for e in snapshot.errors if e.resource_id}

    def all(self, rtype: str) -> list[Resource]:
        if rtype in self.type_errors:
            raise Unknown(f"{rtype} could not be collected")
        return list(self.by_type.get(rtype, {}).values())

    def one(self, rtype: str, rid: str) -> Resource:
        found = self.by_type.get(rtype, {}).get(rid)
        if found is None:
            if rtype in self.type_errors:
                raise Unknown(f"{rtype} could not be collected")
            raise Unknown(f"{rtype} {rid} is not in the snapshot")
        if (rtype, rid) in self.resource_errors:
            raise Unknown(f"{rtype} {rid} could not be read completely")
        return found


def _known(value: Any, what: str) -> Any:
    if is_unknown(value):
        raise Unknown(f"{what} is unknown: {unknown_reason(value)}")
    return value


def cluster_subnets(view: _View, cluster_vpc: str) -> list[ClusterSubnet]:
    """The cluster subnets (role 'cluster', else the isolated subnets of the cluster VPC), with AZ and CIDR."""
    subnets = view.all("ec2.subnet")
    chosen = [s for s in subnets if isinstance(s.attributes.get("roles"), list) and "cluster" in s.attributes["roles"]]
    if not chosen:
        in_vpc = [s for s in subnets if s.attributes.get("vpc_id") == cluster_vpc]
        for s in in_vpc:
            _known(s.attributes.get("classification"), f"the classification of {s.id}")
        chosen = [s for s in in_vpc if s.attributes.get("classification") == "isolated"]
    if not chosen:
        raise Unknown(f"no cluster subnet: network.cluster_subnets is empty and {cluster_vpc} has no isolated subnet")
    out = []
    for s in chosen:
        az = _known(s.attributes.get("availability_zone"), f"the availability zone of {s.id}")
        cidr = _known(s.attributes.get("cidr_block"), f"the CIDR of {s.id}")
        if not az or not cidr:
            raise Unknown(f"the availability zone or CIDR of {s.id} is not recorded")
        out.append(ClusterSubnet(s.id, str(az), str(cidr)))
    return sorted(out, key=lambda c: c.subnet_id)


def _cluster_groups(view: _View, cluster_vpc: str) -> set[str]:
    return {g.id for g in view.all("ec2.security_group") if g.attributes.get("vpc_id") == cluster_vpc}


def _ingress(view: _View, group_ids: Sequence[str]) -> list[tuple[str, Mapping[str, Any]]]:
    rules: list[tuple[str, Mapping[str, Any]]] = []
    for gid in group_ids:
        group = view.one("ec2.security_group", gid)
        ingress = _known(group.attributes.get("ingress"), f"the ingress rules of {gid}")
        if not isinstance(ingress, list):
            raise Unknown(f"the ingress rules of {gid} are not recorded")
        rules.extend((gid, r) for r in ingress if isinstance(r, Mapping))
    return rules


def uncovered_subnets(
    view: _View, group_ids: Any, port: int, subnets: Sequence[ClusterSubnet], cluster_vpc: str
) -> list[str]:
    """The cluster subnets that no ingress rule of `group_ids` admits on TCP `port`."""
    groups = _known(group_ids, "the security groups")
    if not isinstance(groups, list):
        raise Unknown("the security groups are not recorded")
    rules = [r for _, r in _ingress(view, [str(g) for g in groups]) if port_admits(r, port)]
    if any(r.get("referenced_group_id") for r in rules):
        cluster_groups = _cluster_groups(view, cluster_vpc)
        if any(r.get("referenced_group_id") in cluster_groups for r in rules):
            return []
    return [s.subnet_id for s in subnets
            if not any(isinstance(r.get("cidr_ipv4"), str) and covers(r["cidr_ipv4"], s.cidr) for r in rules)]


def world_ingress(view: _View, group_ids: Any, port: int) -> list[dict[str, Any]]:
    """The ingress rules of `group_ids` admitting TCP `port` from 0.0.0.0/0 or ::/0, with their group."""
    groups = _known(group_ids, "the security groups")
    if not isinstance(groups, list):
        raise Unknown("the security groups are not recorded")
    found = []
    for gid, rule in _ingress(view, [str(g) for g in groups]):
        if (rule.get("cidr_ipv4") in WORLD or rule.get("cidr_ipv6") in WORLD) and port_admits(rule, port):
            found.append({"group_id": gid, **{k: rule.get(k) for k in (
                "protocol", "from_port", "to_port", "cidr_ipv4", "cidr_ipv6")}})
    return found


def _endpoint_facts(view: _View, endpoint: Resource, cluster_vpc: str) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    try:
        subnets = cluster_subnets(view, cluster_vpc)
    except Unknown as exc:
        return {"cluster_azs_uncovered": unknown(str(exc)), "cluster_https_uncovered": unknown(str(exc))}
    try:
        ids = _known(endpoint.attributes.get("subnet_ids"), f"the subnets of {endpoint.id}") or []
        azs = {str(_known(view.one("ec2.subnet", sid).attributes.get("availability_zone"),
                          f"the availability zone of {sid}")) for sid in ids}
        facts["cluster_azs_uncovered"] = sorted({s.availability_zone for s in subnets} - azs)
    except Unknown as exc:
        facts["cluster_azs_uncovered"] = unknown(str(exc))
    try:
        facts["cluster_https_uncovered"] = uncovered_subnets(
            view, endpoint.attributes.get("security_group_ids"), HTTPS_PORT, subnets, cluster_vpc)
    except Unknown as exc:
        facts["cluster_https_uncovered"] = unknown(str(exc))
    return facts


def _rds_facts(view: _View, db: Resource, cluster_vpc: str | None) -> dict[str, Any]:
    port = db.attributes.get("endpoint_port")
    port = port if isinstance(port, int) else MYSQL_PORT
    groups = db.attributes.get("vpc_security_group_ids")
    facts: dict[str, Any] = {}
    try:
        facts["world_port_ingress"] = world_ingress(view, groups, port)
    except Unknown as exc:
        facts["world_port_ingress"] = unknown(str(exc))
    try:
        if not cluster_vpc:
            raise Unknown("network.cluster_vpc_id is not set")
        facts["cluster_port_uncovered"] = uncovered_subnets(
            view, groups, port, cluster_subnets(view, cluster_vpc), cluster_vpc)
    except Unknown as exc:
        facts["cluster_port_uncovered"] = unknown(str(exc))
    return facts


def _vpc_cidrs(view: _View, vpc_id: str) -> list[str]:
    vpc = view.one("ec2.vpc", vpc_id)
    blocks = _known(vpc.attributes.get("cidr_blocks"), f"the CIDR blocks of {vpc_id}") or []
    main = _known(vpc.attributes.get("cidr_block"), f"the CIDR of {vpc_id}")
    return sorted({*(str(b) for b in blocks), *([str(main)] if main else [])})


def _route_gaps(view: _View, pcx: Resource) -> list[str]:
    """The missing directions; unknown when none is missing on the sides the snapshot describes but a side's
    VPC (another account's, say) is not in it."""
    a = pcx.attributes
    gaps = []
    unseen: str | None = None
    for side, other in (("requester", "accepter"), ("accepter", "requester")):
        vpc_id, peer_vpc = a.get(f"{side}_vpc_id"), a.get(f"{other}_vpc_id")
        if not vpc_id or not peer_vpc or is_unknown(vpc_id) or is_unknown(peer_vpc):
            raise Unknown(f"the {side} or {other} VPC of {pcx.id} is not recorded")
        if vpc_id not in view.by_type.get("ec2.vpc", {}):
            unseen = f"the {side} VPC {vpc_id} of {pcx.id} is not in the snapshot: its route tables are unknown"
            continue
        peer_cidrs = _known(a.get(f"{other}_cidr_blocks"), f"the {other} CIDR blocks of {pcx.id}") or \
            _vpc_cidrs(view, str(peer_vpc))
        if not peer_cidrs:
            raise Unknown(f"the CIDR of the {other} VPC {peer_vpc} is not recorded")
        destinations: list[str] = []
        for table in view.all("ec2.route_table"):
            if table.attributes.get("vpc_id") != vpc_id:
                continue
            routes = _known(table.attributes.get("routes"), f"the routes of {table.id}") or []
            destinations += [str(r["destination_cidr_block"]) for r in routes
                             if isinstance(r, Mapping) and r.get("vpc_peering_connection_id") == pcx.id
                             and r.get("state") in ("active", None) and r.get("destination_cidr_block")]
        for cidr in peer_cidrs:
            if not any(covers(dest, str(cidr)) for dest in destinations):
                seen = f" (routes through it: {', '.join(sorted(destinations))})" if destinations else ""
                gaps.append(f"{side} {vpc_id} has no active route to {other} {cidr} through {pcx.id}{seen}")
    if unseen and not gaps:
        raise Unknown(unseen)
    return gaps


def _peered_vpcs(view: _View, vpc_id: str) -> dict[str, list[str]]:
    """The VPCs actively peered with vpc_id, with their CIDR blocks."""
    out: dict[str, list[str]] = {}
    for pcx in view.all("ec2.vpc_peering_connection"):
        a = pcx.attributes
        if _known(a.get("status"), f"the status of {pcx.id}") != "active":
            continue
        for side, other in (("requester", "accepter"), ("accepter", "requester")):
            if a.get(f"{side}_vpc_id") == vpc_id:
                peer = _known(a.get(f"{other}_vpc_id"), f"the {other} VPC of {pcx.id}")
                cidrs = _known(a.get(f"{other}_cidr_blocks"), f"the {other} CIDR blocks of {pcx.id}") or \
                    _vpc_cidrs(view, str(peer))
                out.setdefault(str(peer), []).extend(str(c) for c in cidrs)
    return out


def _outside(view: _View, group: Resource, allowed: Mapping[str, Sequence[str]], port: int | None) -> list[dict]:
    """The ingress rules of `group` (admitting TCP `port`, or any traffic when None) whose source is outside the
    `allowed` VPCs (VPC id -> CIDR blocks)."""
    cidrs = [c for blocks in allowed.values() for c in blocks]
    found = []
    for _, rule in _ingress(view, [group.id]):
        for key in ("protocol", "from_port", "to_port"):
            _known(rule.get(key), f"the {key} of an ingress rule of {group.id}")
        if port is not None and not port_admits(rule, port):
            continue
        if rule.get("prefix_list_id"):
            raise Unknown(f"{group.id} admits the prefix list {rule['prefix_list_id']}, whose CIDRs are not collected")
        source: str | None = None
        for key in ("cidr_ipv4", "cidr_ipv6"):
            cidr = _known(rule.get(key), f"an ingress source of {group.id}")
            if cidr and not any(covers(c, str(cidr)) for c in cidrs):
                source = str(cidr)
        ref = _known(rule.get("referenced_group_id"), f"an ingress source of {group.id}")
        if ref:
            referenced = view.by_type.get("ec2.security_group", {}).get(str(ref))
            if referenced is None:
                raise Unknown(f"{group.id} admits the security group {ref}, which the snapshot does not describe")
            ref_vpc = _known(referenced.attributes.get("vpc_id"), f"the VPC of the security group {ref}")
            if ref_vpc not in allowed:
                source = f"{ref} (in {ref_vpc})"
        if source:
            found.append({"source": source, **{k: rule.get(k) for k in ("protocol", "from_port", "to_port")}})
    return found


def _group_facts(view: _View, group: Resource, cluster_vpc: str, main_vpc: str | None) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    try:
        allowed = {cluster_vpc: _vpc_cidrs(view, cluster_vpc), **_peered_vpcs(view, cluster_vpc)}
        facts["foreign_ingress"] = _outside(view, group, allowed, None)
    except Unknown as exc:
        facts["foreign_ingress"] = unknown(str(exc))
    try:
        if not main_vpc:
            raise Unknown("bbp.main_vpc_id is not set: where the Workflow Service reaches the clusters from "
                          "is not known")
        ssh_allowed = {cluster_vpc: _vpc_cidrs(view, cluster_vpc), main_vpc: _vpc_cidrs(view, main_vpc)}
        facts["ssh_outside_sources"] = _outside(view, group, ssh_allowed, SSH_PORT)
    except Unknown as exc:
        facts["ssh_outside_sources"] = unknown(str(exc))
    return facts


def dra_buckets(fs: Resource) -> Any:
    """The distinct S3 buckets of a file system's data repository associations (unknown when a path is)."""
    try:
        associations = _known(fs.attributes.get("data_repository_associations"),
                              f"the data repository associations of {fs.id}") or []
        buckets = set()
        for association in associations:
            path = _known(association.get("data_repository_path") if isinstance(association, Mapping) else None,
                          f"a data repository path of {fs.id}")
            if path is None:
                continue
            if not isinstance(path, str):
                raise Unknown(f"a data repository path of {fs.id} is not resolved: {path!r}")
            if path.startswith("s3://"):
                buckets.add(path[len("s3://"):].split("/", 1)[0])
        return sorted(buckets)
    except Unknown as exc:
        return unknown(str(exc))


_PRIVATE_DIR = "/project/private"


def private_locations(fs: Resource) -> Any:
    """The S3 locations (bucket/prefix/, with a trailing slash) its /project/private associations reach."""
    associations = _known(fs.attributes.get("data_repository_associations"),
                          f"the data repository associations of {fs.id}") or []
    out = []
    for association in associations:
        if not isinstance(association, Mapping):
            continue
        mount = _known(association.get("file_system_path"), f"a file system path of {fs.id}")
        if not isinstance(mount, str) or mount.rstrip("/") != _PRIVATE_DIR:
            continue
        path = _known(association.get("data_repository_path"), f"the private repository path of {fs.id}")
        if not isinstance(path, str) or not path.startswith("s3://"):
            raise Unknown(f"the private repository path of {fs.id} is not an S3 path: {path!r}")
        out.append(path[len("s3://"):].rstrip("/") + "/")
    return out


def private_shared(file_systems: Sequence[Resource]) -> dict[str, Any]:
    """file system id -> the other file systems whose private S3 location overlaps its own (or unknown)."""
    located: dict[str, Any] = {}
    for fs in file_systems:
        try:
            located[fs.id] = private_locations(fs)
        except Unknown as exc:
            located[fs.id] = unknown(str(exc))
    out: dict[str, Any] = {}
    for fs in file_systems:
        mine = located[fs.id]
        if is_unknown(mine):
            out[fs.id] = mine
            continue
        blind = [other for other, theirs in located.items() if other != fs.id and is_unknown(theirs)]
        if mine and blind:
            out[fs.id] = unknown(f"the private repository of {blind[0]} cannot be read: whether it reaches the "
                                 f"private assets of {fs.id} cannot be told")
            continue
        out[fs.id] = sorted(other for other, theirs in located.items() if other != fs.id and not is_unknown(theirs)
                            and any(a.startswith(b) or b.startswith(a) for a in mine for b in theirs))
    return out


def _with(resource: Resource, extra: Mapping[str, Any]) -> Resource:
    return replace(resource, attributes={**resource.attributes, **extra})


def derive(snapshot: Snapshot, config: AuditConfig | None) -> Snapshot:
    """The snapshot with the reachability facts above; unchanged without a configuration."""
    if config is None:
        return snapshot
    network = config.data.get("network") or {}
    cluster_vpc = network.get("cluster_vpc_id") if isinstance(network, Mapping) else None
    bbp = config.data.get("bbp") or {}
    main_vpc = bbp.get("main_vpc_id") if isinstance(bbp, Mapping) else None
    view = _View(snapshot)
    shared = private_shared([r for r in snapshot.resources if r.type == "fsx.file_system"
                             and r.attributes.get("file_system_type") == "LUSTRE"])
    out: list[Resource] = []
    for resource in snapshot.resources:
        if (resource.type == "ec2.vpc_endpoint" and cluster_vpc and resource.attributes.get("vpc_id") == cluster_vpc
                and resource.attributes.get("vpc_endpoint_type") == "Interface"):
            resource = _with(resource, _endpoint_facts(view, resource, cluster_vpc))
        elif resource.type == "ec2.security_group" and cluster_vpc and resource.attributes.get("vpc_id") == cluster_vpc:
            resource = _with(resource, _group_facts(view, resource, cluster_vpc, main_vpc))
        elif resource.type == "fsx.file_system":
            resource = _with(resource, {"dra_buckets": dra_buckets(resource)})
            if resource.id in shared:
                resource = _with(resource, {"private_dra_shared_with": shared[resource.id]})
        elif resource.type == "rds.db_instance":
            resource = _with(resource, _rds_facts(view, resource, cluster_vpc))
        elif resource.type == "ec2.vpc_peering_connection":
            try:
                gaps: Any = _route_gaps(view, resource)
            except Unknown as exc:
                gaps = unknown(str(exc))
            resource = _with(resource, {"route_gaps": gaps})
        out.append(resource)
    return replace(snapshot, resources=tuple(out))
