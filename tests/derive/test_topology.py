"""The subnet classifier, the topology matcher and the other derived facts (auditor.derive.topology)."""

from __future__ import annotations

import copy
import datetime as dt
import functools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.config import AuditConfig, load_config
from auditor.derive.topology import (
    CLASSES,
    TOPOLOGIES,
    classify_subnets,
    derive,
    domain_matches,
    topology,
)
from auditor.snapshot import (
    CollectionError,
    Resource,
    Snapshot,
    is_unknown,
    snapshot_from_json,
    validate_resource,
)
from tests.fixtures import network as fx

TODAY = dt.date(2026, 11, 22)
FE, BE = [fx.FE1, fx.FE2], [fx.BE1, fx.BE2]


def config(**network: Any) -> AuditConfig:
    net = {
        "vpc_id": None,
        "vpc_name": "VPC-CCME",
        "frontend_subnets": FE,
        "backend_subnets": BE,
        "cluster_vpc_id": None,
        "cluster_subnets": [],
    }
    net.update(network)
    return load_config(None, [("network", net), ("certificate_domain", fx.DOMAIN)])


def snap(data: dict[str, Any]) -> Snapshot:
    return snapshot_from_json(data, file="<test>")


def derived(data: dict[str, Any], cfg: AuditConfig | None = None) -> Snapshot:
    return derive(snap(data), cfg or config(), today=TODAY)


def attrs(snapshot: Snapshot, rtype: str, rid: str) -> dict[str, Any]:
    return dict(next(r for r in snapshot.resources if r.type == rtype and r.id == rid).attributes)


def classes(snapshot: Snapshot) -> dict[str, Any]:
    return {
        r.id: ("unknown" if is_unknown(r.attributes["classification"]) else r.attributes["classification"])
        for r in snapshot.resources
        if r.type == "ec2.subnet"
    }


# --- every subnet of every fixture ----------------------------------------------------------

PUBLIC4 = {fx.FE1: "public", fx.FE2: "public", fx.BE1: "public", fx.BE2: "public"}
CASES: dict[str, tuple[dict[str, str], str]] = {
    "network-topology1": (PUBLIC4, "1"),
    "network-topology2": (
        {fx.FE1: "public", fx.FE2: "public", fx.BE1: "private-nat", fx.BE2: "private-nat"},
        "2",
    ),
    "network-topology3": (
        {
            fx.FE1: "private-nat",
            fx.FE2: "private-nat",
            fx.BE1: "private-nat",
            fx.BE2: "private-nat",
            fx.PUB: "public",
        },
        "3",
    ),
    "network-isolated": (
        {
            fx.FE1: "isolated",
            fx.FE2: "isolated",
            fx.BE1: "isolated",
            fx.BE2: "isolated",
            "subnet-0c1a5e0000000001": "isolated",
            "subnet-0c1a5e0000000002": "isolated",
        },
        "isolated",
    ),
    "network-broken": ({fx.FE1: "public", fx.FE2: "public", fx.BE1: "private-nat", fx.BE2: "broken"}, "none"),
    "network-main-fallback": (
        {fx.FE1: "public", fx.FE2: "public", fx.BE1: "private-nat", fx.BE2: "isolated"},
        "none",
    ),
    "network-nat-private": ({fx.FE1: "public", fx.FE2: "public", fx.BE1: "broken", fx.BE2: "broken"}, "none"),
    "network-us-east-1": (PUBLIC4, "1"),
    "network-cert-pending": (PUBLIC4, "1"),
    "network-denied": (
        {fx.FE1: "unknown", fx.FE2: "unknown", fx.BE1: "unknown", fx.BE2: "unknown"},
        "unknown",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_fixture_subnet_class_and_topology(name: str) -> None:
    expected_classes, expected_topology = CASES[name]
    out = derived(fx.BUILDERS[name](), config(cluster_vpc_id=fx.CLUSTER_VPC))
    assert classes(out) == expected_classes
    topo = attrs(out, "ec2.topology", fx.VPC)
    got = "unknown" if is_unknown(topo["topology"]) else topo["topology"]
    assert got == expected_topology, topo["reason"]
    assert topo["role"] == "ccme" and topo["reason"]


def test_fixtures_cover_every_class_and_topology() -> None:
    seen_classes = {c for cls, _ in CASES.values() for c in cls.values()}
    seen_topologies = {t for _, t in CASES.values()}
    # private-other (transit gateway, ENI, peering...) is proven by test_default_route_targets.
    assert set(CLASSES) - {"private-other"} | {"unknown"} == seen_classes
    assert set(TOPOLOGIES) | {"unknown"} == seen_topologies


def test_main_route_table_fallback() -> None:
    out = derived(fx.main_fallback())
    be2 = attrs(out, "ec2.subnet", fx.BE2)
    assert (be2["route_table_id"], be2["route_table_source"]) == (fx.RT_MAIN, "main")
    assert "no default route" in be2["classification_reason"]
    be1 = attrs(out, "ec2.subnet", fx.BE1)
    assert (be1["route_table_id"], be1["route_table_source"]) == (fx.RT_PRIVATE, "explicit")
    assert be2["gateway_endpoints"] == []  # the endpoint serves the private table only
    assert [e["vpc_endpoint_id"] for e in be1["gateway_endpoints"]] == [fx.S3_ENDPOINT]


def test_blackhole_and_nat_reasons() -> None:
    broken = attrs(derived(fx.broken()), "ec2.subnet", fx.BE2)
    assert "blackhole" in broken["classification_reason"]
    assert broken["default_route_target"] == "nat-0deleted00000001"
    nat = attrs(derived(fx.nat_private()), "ec2.subnet", fx.BE2)
    assert "must sit in a public subnet" in nat["classification_reason"]


def test_isolated_cluster_vpc_is_the_003_shape() -> None:
    out = derived(fx.isolated(), config(cluster_vpc_id=fx.CLUSTER_VPC))
    cluster = attrs(out, "ec2.topology", fx.CLUSTER_VPC)
    assert cluster["role"] == "cluster" and cluster["topology"] == "isolated"
    assert cluster["internet_gateway_ids"] == []
    assert set(cluster["cluster_classes"].values()) == {"isolated"}


def test_topology_3_warns_on_single_public_az_only() -> None:
    topo = attrs(derived(fx.topology3()), "ec2.topology", fx.VPC)
    assert topo["public_azs"] == [fx.AZ_A]
    assert attrs(derived(fx.topology2()), "ec2.topology", fx.VPC)["public_azs"] == [fx.AZ_A, fx.AZ_B]


# --- topology() on hand-made variants -------------------------------------------------------


def _with(data: dict[str, Any], rtype: str, rid: str, **changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(data)
    next(r for r in data["resources"] if r["type"] == rtype and r["id"] == rid)["attributes"].update(changes)
    return data


def test_topology_2_needs_the_nat_in_a_front_end_subnet() -> None:
    data = fx.topology3()  # FE/BE private-nat through PUB: make FE public instead
    data = _with(
        data,
        "ec2.route_table",
        fx.RT_PUBLIC,
        associations=[{"subnet_id": s, "gateway_id": None, "main": False} for s in (fx.PUB, fx.FE1, fx.FE2)],
    )
    data = _with(
        data,
        "ec2.route_table",
        fx.RT_PRIVATE,
        associations=[{"subnet_id": s, "gateway_id": None, "main": False} for s in (fx.BE1, fx.BE2)],
    )
    result = topology(snap(data), fx.VPC, FE, BE)
    assert result.topology == "none"
    assert fx.PUB in result.reason and "not a front-end subnet" in result.reason


def test_topology_3_needs_the_public_subnet_in_a_used_az() -> None:
    data = _with(fx.topology3(), "ec2.subnet", fx.PUB, availability_zone="eu-west-1c")
    result = topology(snap(data), fx.VPC, FE, BE)
    assert result.topology == "none" and "eu-west-1c" in result.reason


def test_topology_without_configured_subnets_in_a_vpc_with_an_igw() -> None:
    result = topology(snap(fx.topology1()), fx.VPC, [], [])
    assert result.topology == "none" and fx.IGW in result.reason


def test_topology_names_a_missing_or_foreign_subnet() -> None:
    assert "not in the snapshot" in topology(snap(fx.topology1()), fx.VPC, ["subnet-0nope", fx.FE2], BE).reason
    data = _with(fx.topology1(), "ec2.subnet", fx.FE2, vpc_id="vpc-0123456789abcdef0")
    assert "vpc-0123456789abcdef0" in topology(snap(data), fx.VPC, FE, BE).reason


def test_subnet_roles_fall_back_to_name_tags() -> None:
    out = derived(fx.topology2(), config(frontend_subnets=[], backend_subnets=[]))
    topo = attrs(out, "ec2.topology", fx.VPC)
    assert topo["subnet_roles_from"] == "name" and topo["topology"] == "2"
    assert attrs(out, "ec2.subnet", fx.BE1)["roles"] == ["backend"]


def test_layout_problems() -> None:
    topo = attrs(derived(fx.broken()), "ec2.topology", fx.VPC)
    assert topo["frontend_azs"] == [fx.AZ_A]
    assert any("10.9.4.0/24" in p for p in topo["backend_problems"])
    out = derived(fx.topology1(), config(frontend_subnets=[fx.FE1, "subnet-0missing"]))
    assert attrs(out, "ec2.topology", fx.VPC)["frontend_problems"] == ["subnet-0missing not found"]


# --- route targets, one by one --------------------------------------------------------------


def _one_subnet(
    route: dict[str, Any] | None,
    *,
    extra: list[dict[str, Any]] | None = None,
    kind: str = "fixture",
    main: bool = False,
) -> Any:
    """One subnet whose table holds `route` as its default route; returns its Routing."""
    resources = [
        fx.resource("ec2.vpc", fx.VPC, {"vpc_id": fx.VPC, "cidr_block": "10.0.0.0/16"}),
        fx.subnet(fx.FE1, "10.0.1.0/24", fx.AZ_A, "s"),
        fx.subnet(fx.PUB, "10.0.5.0/24", fx.AZ_A, "public"),
        fx.route_table(fx.RT_PUBLIC, [fx.PUB], [fx.default_route(gateway_id=fx.IGW)]),
        *(extra or []),
    ]
    if route is not None or main:
        resources.append(fx.route_table(fx.RT_PRIVATE, [] if main else [fx.FE1], [route] if route else [], main=main))
    if kind not in ("fixture", "live"):  # a template's resources say where they are written
        resources = [{**r, "location": {"file": "template.yaml", "line": n + 1}} for n, r in enumerate(resources)]
    data = {
        "schema_version": 1,
        "source": {"kind": kind, "regions": [fx.REGION]},
        "resources": resources,
        "errors": [],
    }
    return classify_subnets(snap(data))[fx.FE1]


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ({"gateway_id": fx.IGW}, "public"),
        ({"transit_gateway_id": "tgw-0123"}, "private-other"),
        ({"network_interface_id": "eni-0123"}, "private-other"),
        ({"instance_id": "i-0123"}, "private-other"),
        ({"gateway_id": "vgw-0123"}, "private-other"),
        ({"vpc_peering_connection_id": "pcx-0123"}, "private-other"),
        ({}, "broken"),
    ],
)
def test_default_route_targets(target: dict[str, str], expected: str) -> None:
    routing = _one_subnet(fx.default_route(**target))
    assert routing.classification == expected, routing.reason


def test_ipv6_default_route() -> None:
    v6 = {"destination_ipv6_cidr_block": "::/0", "state": "active"}
    assert _one_subnet({**v6, "gateway_id": fx.IGW}).classification == "public"
    assert _one_subnet({**v6, "egress_only_internet_gateway_id": "eigw-0123"}).classification == "private-other"


def test_nat_gateway_checks() -> None:
    nat_route = fx.default_route(nat_gateway_id=fx.NAT)
    assert _one_subnet(nat_route, extra=[fx.nat_gateway(fx.PUB)]).classification == "private-nat"
    pending = _one_subnet(nat_route, extra=[fx.nat_gateway(fx.PUB, state="pending")])
    assert pending.classification == "broken" and "pending" in pending.reason
    assert _one_subnet(nat_route).classification == "broken"  # the NAT is not in the snapshot
    private = fx.nat_gateway(fx.PUB)
    private["attributes"]["connectivity_type"] = "private"
    assert _one_subnet(nat_route, extra=[private]).classification == "private-other"


def test_detached_internet_gateway_is_broken() -> None:
    igw = fx.resource("ec2.internet_gateway", fx.IGW, {"internet_gateway_id": fx.IGW, "attachments": []})
    routing = _one_subnet(fx.default_route(gateway_id=fx.IGW), extra=[igw])
    assert routing.classification == "broken" and "not attached" in routing.reason


def test_no_route_table_is_broken_live_and_unknown_in_iac() -> None:
    assert _one_subnet(None).classification == "broken"
    iac = _one_subnet(None, kind="cloudformation")
    assert iac.classification is None and "main route table" in iac.reason
    assert _one_subnet(None, main=True).classification == "isolated"


def test_unknown_inputs_give_unknown_classes() -> None:
    route = {"destination_cidr_block": "0.0.0.0/0", "gateway_id": {"$unknown": "unresolved !Ref"}}
    assert _one_subnet(route).classification is None
    data = fx.topology1()
    table = next(r for r in data["resources"] if r["id"] == fx.RT_PUBLIC)
    table["attributes"]["routes"] = {"$unknown": "AccessDenied"}
    out = derived(data)
    assert classes(out)[fx.FE1] == "unknown"
    # The table itself is known (explicit association): which endpoints serve it still is.
    assert [e["vpc_endpoint_id"] for e in attrs(out, "ec2.subnet", fx.FE1)["gateway_endpoints"]] == [fx.S3_ENDPOINT]
    data["errors"].append(
        {
            "resource_type": "ec2.route_table",
            "resource_id": None,
            "region": fx.REGION,
            "account": fx.ACCOUNT,
            "operation": "ec2:DescribeRouteTables",
            "code": "AccessDenied",
            "message": "no",
        }
    )
    assert is_unknown(attrs(derived(data), "ec2.subnet", fx.FE1)["gateway_endpoints"])


def test_per_resource_collection_error_makes_the_table_unknown() -> None:
    data = fx.topology1()
    data["errors"].append(
        {
            "resource_type": "ec2.route_table",
            "resource_id": fx.RT_PUBLIC,
            "attribute": "routes",
            "region": fx.REGION,
            "account": fx.ACCOUNT,
            "operation": "ec2:DescribeRouteTables",
            "code": "AccessDenied",
            "message": "no",
        }
    )
    assert classes(derived(data))[fx.FE1] == "unknown"


def test_vpc_type_error_becomes_a_topology_type_error() -> None:
    data = fx.topology1()
    data["resources"] = [r for r in data["resources"] if r["type"] != "ec2.vpc"]
    data["errors"].append(
        {
            "resource_type": "ec2.vpc",
            "resource_id": None,
            "region": fx.REGION,
            "account": fx.ACCOUNT,
            "operation": "ec2:DescribeVpcs",
            "code": "AccessDenied",
            "message": "no",
        }
    )
    out = derived(data)
    assert any(e.resource_type == "ec2.topology" and e.resource_id is None for e in out.errors)


# --- preservation, roles, certificates, probes ----------------------------------------------


def test_present_derived_values_are_kept_when_inputs_are_absent() -> None:
    data = fx.topology1()
    data["resources"] = [r for r in data["resources"] if r["type"] not in ("ec2.route_table", "ec2.vpc_endpoint")]
    for r in data["resources"]:
        if r["type"] == "ec2.subnet":
            r["attributes"].update(
                classification="public",
                classification_reason="from the fixture",
                route_table_id="rtb-0given",
                route_table_source="explicit",
                gateway_endpoints=[],
            )
    out = derived(data)
    fe1 = attrs(out, "ec2.subnet", fx.FE1)
    assert (fe1["classification"], fe1["classification_reason"], fe1["route_table_id"]) == (
        "public",
        "from the fixture",
        "rtb-0given",
    )
    assert attrs(out, "ec2.topology", fx.VPC)["topology"] == "1"


def test_derive_does_not_change_its_input() -> None:
    original = snap(fx.topology2())
    before = original.to_json()
    derive(original, config(), today=TODAY)
    assert original.to_json() == before


def test_vpc_role_prefers_the_id_and_falls_back_to_the_name() -> None:
    by_name = derived(fx.topology1(), config())
    assert attrs(by_name, "ec2.vpc", fx.VPC)["ccme_role"] == "ccme"
    by_id = derived(fx.topology1(), config(vpc_id="vpc-0123456789abcdef0"))
    assert attrs(by_id, "ec2.vpc", fx.VPC)["ccme_role"] is None  # the id wins over a matching name
    data = _with(fx.topology1(), "ec2.vpc", fx.VPC, name={"$unknown": "DescribeTags denied"})
    assert is_unknown(attrs(derived(data), "ec2.vpc", fx.VPC)["ccme_role"])


def test_certificate_expiry_is_counted_from_the_given_day() -> None:
    cert = attrs(derive(snap(fx.topology1()), today=dt.date(2027, 5, 30)), "acm.certificate", fx.CERT)
    assert cert["days_to_expiry"] == 2 and "matches_domain" not in cert  # no configuration: no domain match
    data = _with(fx.topology1(), "acm.certificate", fx.CERT, not_after={"$unknown": "denied"})
    assert is_unknown(attrs(derived(data), "acm.certificate", fx.CERT)["days_to_expiry"])


@pytest.mark.parametrize(
    ("pattern", "domain", "ok"),
    [
        ("ccme.example.com", "ccme.example.com", True),
        ("CCME.example.com.", "ccme.example.com", True),
        ("*.example.com", "ccme.example.com", True),
        ("*.example.com", "a.b.example.com", False),
        ("*.example.com", "example.com", False),
        ("other.example.com", "ccme.example.com", False),
    ],
)
def test_domain_matches(pattern: str, domain: str, ok: bool) -> None:
    assert domain_matches(pattern, domain) is ok


def test_probe_usability() -> None:
    out = derived(fx.denied())
    assert is_unknown(attrs(out, "service.probe", "sns")["usability"])  # IAM denial: cannot tell
    assert is_unknown(attrs(out, "service.probe", "ce")["usability"])  # not probed
    assert attrs(out, "service.probe", "kms")["usability"] == "usable"
    assert attrs(derived(fx.broken()), "service.probe", "kms")["usability"] == "blocked-by-organization"


@pytest.mark.parametrize("name", sorted(fx.BUILDERS))
def test_derived_resources_follow_their_schemas(name: str) -> None:
    out = derived(fx.BUILDERS[name](), config(cluster_vpc_id=fx.CLUSTER_VPC))
    for index, resource in enumerate(out.resources):
        validate_resource(resource.to_json(), file=name, index=index)


# --- property: arbitrary route tables never crash the classifier ----------------------------

UNKNOWN = {"$unknown": "not collected"}
SUBNETS = ["subnet-0a", "subnet-0b", "subnet-0c"]
TARGET_IDS = st.sampled_from(
    [
        "igw-0a",
        "igw-0z",
        "nat-0a",
        "nat-0z",
        "tgw-0a",
        "eni-0a",
        "vgw-0a",
        "pcx-0a",
        "local",
        "i-0a",
        "eigw-0a",
    ]
)
maybe = lambda s: st.one_of(st.none(), s, st.just(UNKNOWN))  # noqa: E731


@st.composite
def routes(draw: st.DrawFn) -> dict[str, Any]:
    route: dict[str, Any] = {
        "destination_cidr_block": draw(maybe(st.sampled_from(["0.0.0.0/0", "10.0.0.0/16", "192.168.0.0/24"]))),
        "destination_ipv6_cidr_block": draw(maybe(st.just("::/0"))),
        "state": draw(maybe(st.sampled_from(["active", "blackhole"]))),
    }
    key = draw(
        st.sampled_from(
            [
                "gateway_id",
                "nat_gateway_id",
                "transit_gateway_id",
                "network_interface_id",
                "vpc_peering_connection_id",
                "instance_id",
                "egress_only_internet_gateway_id",
            ]
        )
    )
    route[key] = draw(maybe(TARGET_IDS))
    return route


@st.composite
def network_snapshots(draw: st.DrawFn) -> Snapshot:
    vpc = "vpc-0a"
    resources = [Resource("ec2.vpc", vpc, {"vpc_id": vpc, "cidr_block": "10.0.0.0/16"}, region="eu-west-1")]
    for index, sid in enumerate(SUBNETS):
        resources.append(
            Resource(
                "ec2.subnet",
                sid,
                {
                    "subnet_id": sid,
                    "vpc_id": vpc,
                    "cidr_block": f"10.0.{index}.0/24",
                    "availability_zone": draw(maybe(st.sampled_from(["eu-west-1a", "eu-west-1b"]))),
                },
                region="eu-west-1",
            )
        )
    for index in range(draw(st.integers(0, 3))):
        associations = draw(
            st.one_of(
                st.just(UNKNOWN),
                st.lists(
                    st.fixed_dictionaries({"subnet_id": maybe(st.sampled_from(SUBNETS)), "main": st.booleans()}),
                    max_size=3,
                ),
            )
        )
        resources.append(
            Resource(
                "ec2.route_table",
                f"rtb-0{index}",
                {
                    "route_table_id": f"rtb-0{index}",
                    "vpc_id": vpc,
                    "main": draw(st.one_of(st.booleans(), st.just(UNKNOWN))),
                    "associations": associations,
                    "routes": draw(st.one_of(st.just(UNKNOWN), st.lists(routes(), max_size=4))),
                },
                region="eu-west-1",
            )
        )
    for nat in draw(st.lists(st.sampled_from(["nat-0a", "nat-0z"]), unique=True)):
        resources.append(
            Resource(
                "ec2.nat_gateway",
                nat,
                {
                    "nat_gateway_id": nat,
                    "subnet_id": draw(maybe(st.sampled_from([*SUBNETS, "subnet-0gone"]))),
                    "state": draw(maybe(st.sampled_from(["available", "pending", "failed"]))),
                    "connectivity_type": draw(maybe(st.sampled_from(["public", "private"]))),
                },
                region="eu-west-1",
            )
        )
    if draw(st.booleans()):
        resources.append(
            Resource(
                "ec2.internet_gateway",
                "igw-0a",
                {
                    "internet_gateway_id": "igw-0a",
                    "attachments": draw(
                        st.one_of(
                            st.just(UNKNOWN),
                            st.lists(
                                st.fixed_dictionaries(
                                    {
                                        "vpc_id": maybe(st.sampled_from([vpc, "vpc-0other"])),
                                        "state": maybe(st.just("available")),
                                    }
                                ),
                                max_size=2,
                            ),
                        )
                    ),
                },
                region="eu-west-1",
            )
        )
    errors = tuple(
        CollectionError(rtype, "ec2:Describe", "AccessDenied", "no", region="eu-west-1")
        for rtype in draw(
            st.lists(
                st.sampled_from(["ec2.route_table", "ec2.nat_gateway", "ec2.internet_gateway", "ec2.vpc_endpoint"]),
                unique=True,
                max_size=2,
            )
        )
    )
    kind = draw(st.sampled_from(["live", "cloudformation"]))
    return Snapshot(kind=kind, resources=tuple(resources), errors=errors, regions=("eu-west-1",))


@functools.cache
def _property_config(frontend: tuple[str, ...], backend: tuple[str, ...]) -> AuditConfig:
    return config(vpc_id="vpc-0a", frontend_subnets=list(frontend), backend_subnets=list(backend))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    network_snapshots(),
    st.lists(st.sampled_from(SUBNETS), max_size=2, unique=True),
    st.lists(st.sampled_from(SUBNETS), max_size=2, unique=True),
)
def test_classification_never_raises_and_stays_in_the_enum(
    snapshot: Snapshot, frontend: list[str], backend: list[str]
) -> None:
    for routing in classify_subnets(snapshot).values():
        assert routing.classification in (*CLASSES, None)
        assert isinstance(routing.reason, str) and routing.reason
    result = topology(snapshot, "vpc-0a", frontend, backend)
    assert result.topology in (*TOPOLOGIES, None) and result.reason
    out = derive(snapshot, _property_config(tuple(frontend), tuple(backend)), today=TODAY)
    for index, resource in enumerate(out.resources):
        if resource.type == "ec2.subnet":
            value = resource.attributes["classification"]
            assert value in CLASSES or is_unknown(value)
        if resource.type == "ec2.topology":
            assert resource.attributes["topology"] in TOPOLOGIES or is_unknown(resource.attributes["topology"])
        if resource.type in ("ec2.subnet", "ec2.topology"):  # the derived shapes follow their schemas
            validate_resource(resource.to_json(), file="<hypothesis>", index=index)


# --- property: unknown evidence anywhere never crashes derive nor passes for known ----------


@st.composite
def fixtures_with_unknowns(draw: st.DrawFn) -> dict[str, Any]:
    """A network fixture with a few attributes (top level or one level down) replaced by unknown markers."""
    data = fx.BUILDERS[draw(st.sampled_from(sorted(fx.BUILDERS)))]()
    network = [r for r in data["resources"] if r["type"].startswith(("ec2.", "acm.", "service.", "elbv2."))]
    for _ in range(draw(st.integers(1, 4))):
        resource = draw(st.sampled_from(network))
        attributes = resource["attributes"]
        key = draw(st.sampled_from(sorted(attributes)))
        value = attributes[key]
        if isinstance(value, list) and value and isinstance(value[0], dict) and draw(st.booleans()):
            item = draw(st.sampled_from(value))
            item[draw(st.sampled_from(sorted(item)))] = UNKNOWN
        else:
            attributes[key] = UNKNOWN
    return data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fixtures_with_unknowns())
def test_unknown_evidence_never_crashes_derive(data: dict[str, Any]) -> None:
    snapshot = Snapshot(
        kind="fixture",
        resources=tuple(
            Resource(r["type"], r["id"], r["attributes"], r.get("name"), r.get("region"), r.get("account"))
            for r in data["resources"]
        ),
        regions=(fx.REGION,),
    )
    out = derive(snapshot, _property_config(tuple(FE), tuple(BE)), today=TODAY)
    for resource in out.resources:
        if resource.type == "ec2.subnet":
            value = resource.attributes["classification"]
            assert value in CLASSES or is_unknown(value)
        if resource.type == "ec2.topology":
            value = resource.attributes["topology"]
            assert value in TOPOLOGIES or is_unknown(value)


@pytest.mark.parametrize("required", [False, True])
def test_missing_ccme_vpc_is_one_finding_on_ccme_vpc(required: bool) -> None:
    # Seed 000 makes a pre-created VPC optional: a failure only when the configuration requires one.
    from auditor.app.pipeline import evaluate
    from auditor.engine.rules import load_rules

    rules = [r for r in load_rules(packs=["ccme"]) if r.file.endswith("network.yaml")]
    cfg = load_config(None, [("network", {"vpc_name": "VPC-CCME-PROD", "require_vpc": required})])
    result = evaluate(snap(fx.topology1()), rules, cfg, today=TODAY)
    assert [(f.rule_id, f.resource_id, f.status.value) for f in result.findings] == [
        ("CCME-VPC-EXISTS", "ccme-vpc", "FAIL" if required else "SKIPPED")
    ]


def test_a_configured_cluster_subnet_missing_from_the_snapshot_is_named_not_a_crash() -> None:
    # Found by the shape fuzz: a cluster subnet the configuration names but DescribeSubnets did not list
    # raised KeyError in the isolated-shape matcher.
    cfg = config(cluster_vpc_id=fx.CLUSTER_VPC, cluster_subnets=["subnet-0unlisted000000"])
    cluster = attrs(derived(fx.isolated(), cfg), "ec2.topology", fx.CLUSTER_VPC)
    assert cluster["topology"] == "none"
    assert "subnet-0unlisted000000 is not in the snapshot" in cluster["reason"]
    data = fx.isolated()
    data["errors"].append(
        {
            "resource_type": "ec2.subnet",
            "resource_id": None,
            "region": fx.REGION,
            "account": fx.ACCOUNT,
            "operation": "ec2:DescribeSubnets",
            "code": "AccessDenied",
            "message": "no",
        }
    )
    # The subnets could not all be listed: the missing one may exist, so the topology is unknown, never "none".
    assert is_unknown(attrs(derived(data, cfg), "ec2.topology", fx.CLUSTER_VPC)["topology"])
