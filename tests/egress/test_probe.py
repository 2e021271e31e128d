"""The egress probe against loopback servers only: DNS, TCP, TLS (CA bundle, SNI), HTTP HEAD, CONNECT proxy."""

from __future__ import annotations

import socket
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from auditor.allowlist.endpoints import Endpoint
from auditor.egress.probe import ProbeOptions, direct_connect, probe, probe_snapshot, proxy_from_env
from auditor.errors import InputError
from tests.egress.servers import CA, LOOPBACK, closed_port, connect_proxy, https_server, make_ca

_real_getaddrinfo = socket.getaddrinfo


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any name lookup other than a loopback literal fails the test: no traffic leaves 127.0.0.1."""

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        assert host in (LOOPBACK, "localhost"), f"unexpected lookup of {host!r}"
        return _real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[CA, Path]:
    directory = tmp_path_factory.mktemp("pki")
    return make_ca(directory), directory


@pytest.fixture(scope="module")
def servers(pki: tuple[CA, Path]) -> Iterator[dict[str, int]]:
    ca, directory = pki
    good = ca.issue(["good.test", "localhost"], directory, "good")
    wrong = ca.issue(["other.test"], directory, "wrong")
    with https_server(*good) as ok, https_server(*wrong) as bad, closed_port() as closed:
        yield {"good": ok.port, "wrong": bad.port, "closed": closed, "_sni": ok}  # type: ignore[dict-item]


class Net:
    """A stub resolver and a connector that record what they see and only ever reach 127.0.0.1."""

    def __init__(self, names: dict[str, str]):
        self.names = names
        self.lookups: list[str] = []
        self.connects: list[tuple[str, int]] = []

    def resolve(self, host: str, port: int) -> Sequence[str]:
        self.lookups.append(host)
        if host not in self.names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [self.names[host]]

    def connect(self, address: str, port: int, timeout: float) -> socket.socket:
        assert address == LOOPBACK, address
        self.connects.append((address, port))
        return direct_connect(address, port, timeout)


NAMES = {"good.test": LOOPBACK, "wrong.test": LOOPBACK, "closed.test": LOOPBACK, "proxy.test": LOOPBACK}


def ep(eid: str, host: str, port: int, url: str | None = None, family: str = "aws") -> Endpoint:
    return Endpoint(id=eid, host=host, port=port, url=url, family=family, purpose="test", source="test")


def options(pki: tuple[CA, Path], net: Net, env: dict[str, str] | None = None, **kw: Any) -> ProbeOptions:
    return ProbeOptions(timeout=3, concurrency=8, ca_bundle=pki[0].pem_path, resolver=net.resolve,
                        connect=net.connect, env=env or {}, **kw)


def test_every_status(pki: tuple[CA, Path], servers: dict[str, int]) -> None:
    net = Net(NAMES)
    good = servers["good"]
    endpoints = [
        ep("ok", "good.test", good),
        ep("ok-head", "good.test", good, url=f"https://good.test:{good}/NICE-GPG-KEY"),
        ep("http-404", "good.test", good, url=f"https://good.test:{good}/missing"),
        ep("nxdomain", "nx.test", good),
        ep("refused", "closed.test", servers["closed"]),
        ep("wrong-cert", "wrong.test", servers["wrong"]),
    ]
    results = {r.endpoint.id: r for r in probe(endpoints, options(pki, net))}
    assert [r for r in results] == [e.id for e in endpoints]
    got = {k: r.status for k, r in results.items()}
    assert got == {"ok": "reachable", "ok-head": "reachable", "http-404": "http-error", "nxdomain": "dns-failure",
                   "refused": "blocked", "wrong-cert": "tls-failure"}
    assert results["ok-head"].http_status == 200
    assert results["ok"].tls_version in ("TLSv1.2", "TLSv1.3")
    assert results["ok"].addresses == [LOOPBACK]
    assert results["nxdomain"].stage == "dns" and results["refused"].stage == "connect"
    assert "certificate" in (results["wrong-cert"].detail or "").lower()
    assert "404" in (results["http-404"].detail or "")
    assert {a for a, _ in net.connects} == {LOOPBACK}
    assert servers["_sni"].sni.count("good.test") >= 3  # type: ignore[attr-defined]


def test_untrusted_without_ca_bundle(pki: tuple[CA, Path], servers: dict[str, int]) -> None:
    net = Net(NAMES)
    opts = options(pki, net)
    opts.ca_bundle = None  # the system store does not know the test CA
    (result,) = probe([ep("ok", "good.test", servers["good"])], opts)
    assert result.status == "tls-failure"


def test_proxy_connect_tunnel(pki: tuple[CA, Path], servers: dict[str, int]) -> None:
    net = Net(NAMES)
    good = servers["good"]
    with connect_proxy(lambda h: NAMES.get(h), refuse={"closed.test"}) as proxy:
        env = {"HTTPS_PROXY": f"http://user:s3cret@proxy.test:{proxy.port}", "NO_PROXY": "direct.test,.internal.test"}
        names = {**NAMES, "direct.test": LOOPBACK}
        net = Net(names)
        endpoints = [
            ep("tunnel", "good.test", good, url=f"https://good.test:{good}/x"),
            ep("proxy-refuses", "closed.test", good),
            ep("proxy-cannot-resolve", "nx.test", good),
            ep("bypass", "direct.test", servers["wrong"]),
        ]
        results = {r.endpoint.id: r for r in probe(endpoints, options(pki, net, env))}
    assert results["tunnel"].status == "reachable" and results["tunnel"].http_status == 200
    assert results["tunnel"].via_proxy == f"proxy.test:{proxy.port}"
    assert results["proxy-refuses"].status == "blocked" and "403" in (results["proxy-refuses"].detail or "")
    assert results["proxy-cannot-resolve"].status == "blocked"
    assert results["bypass"].via_proxy is None and results["bypass"].status == "tls-failure"
    assert f"good.test:{good}" in proxy.connects and "direct.test" not in " ".join(proxy.connects)
    assert "good.test" not in net.lookups and "direct.test" in net.lookups  # the proxy resolves tunnelled names
    assert all(a and a.startswith("Basic ") for a in proxy.authorizations)
    snapshot = probe_snapshot(list(results.values()))
    assert "s3cret" not in str(snapshot.to_json())


def test_proxy_env_parsing() -> None:
    assert proxy_from_env({}) is None
    proxy = proxy_from_env({"https_proxy": "proxy.corp:3128"})
    assert proxy is not None and proxy.label == "proxy.corp:3128" and proxy.authorization is None
    lower_first = proxy_from_env({"https_proxy": "http://a:1", "HTTPS_PROXY": "http://b:2"})
    assert lower_first is not None and lower_first.host == "a"
    with pytest.raises(InputError):
        proxy_from_env({"HTTPS_PROXY": "socks5://p:1080"})


def test_bad_options() -> None:
    with pytest.raises(InputError, match="timeout"):
        probe([], ProbeOptions(timeout=0))
    with pytest.raises(InputError, match="concurrency"):
        probe([], ProbeOptions(concurrency=0))
    with pytest.raises(InputError, match="CA bundle"):
        probe([], ProbeOptions(ca_bundle=Path("/nonexistent/ca.pem")))


def test_concurrent_many(pki: tuple[CA, Path], servers: dict[str, int]) -> None:
    net = Net(NAMES)
    endpoints = [ep(f"e{i}", "good.test" if i % 2 else "closed.test", servers["good" if i % 2 else "closed"])
                 for i in range(40)]
    results = probe(endpoints, options(pki, net))
    assert [r.endpoint.id for r in results] == [e.id for e in endpoints]
    assert [r.status for r in results] == ["reachable" if i % 2 else "blocked" for i in range(40)]
