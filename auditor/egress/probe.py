"""Probe the required egress endpoints from inside the target network.

Per endpoint, in order: DNS (through an injectable resolver), TCP connect, TLS handshake with
certificate verification and SNI, then an HTTP HEAD when the endpoint names a URL. A proxy from the
standard environment variables (https_proxy / HTTPS_PROXY, no_proxy / NO_PROXY) is honoured with
CONNECT tunnelling; the proxy then resolves the name. Endpoints are probed concurrently on threads,
each step bounded by the timeout. Statuses: reachable, dns-failure, blocked (refused, timed out,
reset during the handshake, or the proxy refused the tunnel), tls-failure, http-error.

The probe never prints proxy credentials: `via_proxy` holds host:port only.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import socket
import ssl
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.allowlist.endpoints import Endpoint
from auditor.errors import InputError
from auditor.snapshot import Resource, Snapshot

Resolver = Callable[[str, int], Sequence[str]]
Connector = Callable[[str, int, float], socket.socket]
MAX_HEAD = 64 * 1024


def system_resolver(host: str, port: int) -> list[str]:
    """Addresses of host (IPv4 first), or OSError."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    out: list[str] = []
    for family, _, _, _, sockaddr in sorted(infos, key=lambda i: i[0] != socket.AF_INET):
        address = str(sockaddr[0])
        if address not in out and family in (socket.AF_INET, socket.AF_INET6):
            out.append(address)
    return out


def direct_connect(address: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to a numeric address (no name lookup)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect((address, port))
    except BaseException:
        sock.close()
        raise
    return sock


@dataclass(frozen=True)
class Proxy:
    host: str
    port: int
    authorization: str | None = None  # the Proxy-Authorization header value; never reported

    @property
    def label(self) -> str:
        return f"{self.host}:{self.port}"


def proxy_from_env(env: Mapping[str, str]) -> Proxy | None:
    """The HTTPS proxy of the standard variables (lower case first, as curl does), or None."""
    raw = env.get("https_proxy") or env.get("HTTPS_PROXY")
    if not raw:
        return None
    parsed = urllib.parse.urlsplit(raw if "://" in raw else f"http://{raw}")
    if parsed.scheme != "http" or not parsed.hostname:
        raise InputError(f"unsupported proxy URL scheme '{parsed.scheme}'", place="HTTPS_PROXY",
                         fix="use an http://HOST:PORT proxy (CONNECT tunnelling)")
    try:
        port = parsed.port or 80
    except ValueError:
        raise InputError("the proxy port is not a number", place="HTTPS_PROXY", fix="write http://HOST:PORT") from None
    auth = None
    if parsed.username is not None:
        user = urllib.parse.unquote(parsed.username)
        password = urllib.parse.unquote(parsed.password or "")
        auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    return Proxy(host=parsed.hostname, port=port, authorization=auth)


def bypasses_proxy(host: str, env: Mapping[str, str]) -> bool:
    no_proxy = env.get("no_proxy") or env.get("NO_PROXY") or ""
    bypass = getattr(urllib.request, "proxy_bypass_environment")  # noqa: B009 - missing from typeshed
    return bool(no_proxy) and bool(bypass(host, {"no": no_proxy}))


@dataclass
class ProbeOptions:
    timeout: float = 5.0
    concurrency: int = 16
    ca_bundle: Path | None = None
    resolver: Resolver = system_resolver
    connect: Connector = direct_connect
    env: Mapping[str, str] | None = None  # default: os.environ


@dataclass
class ProbeResult:
    endpoint: Endpoint
    status: str
    stage: str
    addresses: list[str] = field(default_factory=list)
    via_proxy: str | None = None
    http_status: int | None = None
    tls_version: str | None = None
    detail: str | None = None
    elapsed_ms: float | None = None

    def attributes(self) -> dict[str, Any]:
        out = self.endpoint.to_json()
        out.update({
            "status": self.status, "stage": self.stage, "addresses": self.addresses, "via_proxy": self.via_proxy,
            "http_status": self.http_status, "tls_version": self.tls_version, "detail": self.detail,
            "elapsed_ms": self.elapsed_ms,
        })
        return out


class _Stop(Exception):
    def __init__(self, status: str, stage: str, detail: str):
        super().__init__(detail)
        self.status = status
        self.stage = stage
        self.detail = detail


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(f"{type(exc).__name__}: {text}".split())[:300]


def _read_head(sock: socket.socket | ssl.SSLSocket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
        if len(data) > MAX_HEAD:
            break
    return data


def _status_code(head: bytes) -> int | None:
    line = head.split(b"\r\n", 1)[0].decode("latin-1", "replace")
    parts = line.split()
    if len(parts) >= 2 and parts[0].startswith("HTTP/") and parts[1].isdigit():
        return int(parts[1])
    return None


def _connect_any(addresses: Sequence[str], port: int, options: ProbeOptions, what: str) -> socket.socket:
    last: BaseException | None = None
    for address in addresses:
        try:
            return options.connect(address, port, options.timeout)
        except OSError as exc:  # refused, unreachable, timed out
            last = exc
    raise _Stop("blocked", "connect", f"{what}: {_describe(last) if last else 'no address'}")


def _resolve(host: str, port: int, options: ProbeOptions, status: str, what: str) -> list[str]:
    try:
        addresses = list(options.resolver(host, port))
    except (OSError, UnicodeError) as exc:
        raise _Stop(status, "dns", f"{what} does not resolve: {_describe(exc)}") from None
    if not addresses:
        raise _Stop(status, "dns", f"{what} resolves to no address")
    return addresses


def _tunnel(endpoint: Endpoint, proxy: Proxy, options: ProbeOptions) -> tuple[socket.socket, list[str]]:
    addresses = _resolve(proxy.host, proxy.port, options, "blocked", f"the proxy {proxy.label}")
    sock = _connect_any(addresses, proxy.port, options, f"the proxy {proxy.label}")
    request = f"CONNECT {endpoint.host}:{endpoint.port} HTTP/1.1\r\nHost: {endpoint.host}:{endpoint.port}\r\n"
    if proxy.authorization:
        request += f"Proxy-Authorization: {proxy.authorization}\r\n"
    request += "User-Agent: ccme-audit\r\n\r\n"
    try:
        sock.sendall(request.encode("ascii"))
        head = _read_head(sock)
    except OSError as exc:
        sock.close()
        raise _Stop("blocked", "proxy",
                    f"the proxy {proxy.label} did not answer the CONNECT: {_describe(exc)}") from None
    code = _status_code(head)
    if code != 200:
        sock.close()
        line = head.split(b"\r\n", 1)[0].decode("latin-1", "replace")[:120]
        raise _Stop("blocked", "proxy", f"the proxy {proxy.label} refused CONNECT {endpoint.host}:{endpoint.port}: "
                                        f"{line or 'no answer'}")
    return sock, []


def _tls(sock: socket.socket, endpoint: Endpoint, options: ProbeOptions) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=str(options.ca_bundle) if options.ca_bundle else None)
    try:
        tls = context.wrap_socket(sock, server_hostname=endpoint.host)
    except ssl.SSLError as exc:
        sock.close()
        raise _Stop("tls-failure", "tls", _describe(exc)) from None
    except (ConnectionResetError, ConnectionAbortedError, TimeoutError, BrokenPipeError) as exc:
        sock.close()  # SNI filtering firewalls reset or drop the ClientHello
        raise _Stop("blocked", "tls", f"the connection was cut during the TLS handshake: {_describe(exc)}") from None
    except OSError as exc:
        sock.close()
        raise _Stop("tls-failure", "tls", _describe(exc)) from None
    return tls


def _head(tls: ssl.SSLSocket, endpoint: Endpoint) -> int:
    assert endpoint.url is not None
    parsed = urllib.parse.urlsplit(endpoint.url)
    path = (parsed.path or "/") + (f"?{parsed.query}" if parsed.query else "")
    host = endpoint.host if endpoint.port == 443 else f"{endpoint.host}:{endpoint.port}"
    request = (f"HEAD {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: ccme-audit\r\nAccept: */*\r\n"
               "Connection: close\r\n\r\n")
    try:
        tls.sendall(request.encode("ascii", "strict"))
        head = _read_head(tls)
    except (OSError, UnicodeError) as exc:
        raise _Stop("http-error", "http", f"HEAD {endpoint.url}: {_describe(exc)}") from None
    code = _status_code(head)
    if code is None:
        raise _Stop("http-error", "http", f"HEAD {endpoint.url}: the answer is not HTTP")
    if code >= 400:
        raise _Stop("http-error", "http", f"HEAD {endpoint.url} answered {code}")
    return code


def probe_one(endpoint: Endpoint, options: ProbeOptions, proxy: Proxy | None, env: Mapping[str, str]) -> ProbeResult:
    start = time.monotonic()
    result = ProbeResult(endpoint=endpoint, status="reachable", stage="done")
    use_proxy = proxy if proxy is not None and not bypasses_proxy(endpoint.host, env) else None
    sock: socket.socket | None = None
    try:
        if use_proxy is not None:
            result.via_proxy = use_proxy.label
            sock, result.addresses = _tunnel(endpoint, use_proxy, options)
        else:
            result.addresses = _resolve(endpoint.host, endpoint.port, options, "dns-failure", endpoint.host)
            sock = _connect_any(result.addresses, endpoint.port, options, f"{endpoint.host}:{endpoint.port}")
        tls = _tls(sock, endpoint, options)
        sock = tls
        result.tls_version = tls.version()
        if endpoint.url:
            result.http_status = _head(tls, endpoint)
    except _Stop as stop:
        result.status, result.stage, result.detail = stop.status, stop.stage, stop.detail
    finally:
        if sock is not None:
            sock.close()
    result.elapsed_ms = round((time.monotonic() - start) * 1000, 1)
    return result


def probe(endpoints: Sequence[Endpoint], options: ProbeOptions | None = None) -> list[ProbeResult]:
    """Probe every endpoint concurrently; results in the endpoints' order."""
    options = options or ProbeOptions()
    if options.timeout <= 0:
        raise InputError(f"timeout {options.timeout} is not positive", place="--timeout", fix="give seconds > 0")
    if options.concurrency < 1:
        raise InputError(f"concurrency {options.concurrency} is below 1", place="--concurrency", fix="give 1 or more")
    if options.ca_bundle is not None and not Path(options.ca_bundle).is_file():
        raise InputError("no such CA bundle", file=str(options.ca_bundle), place="--ca-bundle",
                         fix="name a PEM file of trusted certificates")
    env = dict(os.environ if options.env is None else options.env)
    proxy = proxy_from_env(env)
    if not endpoints:
        return []
    with ThreadPoolExecutor(max_workers=min(options.concurrency, len(endpoints))) as pool:
        return list(pool.map(lambda e: probe_one(e, options, proxy, env), endpoints))


def probe_snapshot(results: Sequence[ProbeResult], *, regions: Sequence[str] = ()) -> Snapshot:
    """The canonical snapshot of egress.endpoint_probe resources."""
    resources = tuple(
        Resource(type="egress.endpoint_probe", id=r.endpoint.id, name=r.endpoint.host, region=r.endpoint.region,
                 attributes=r.attributes())
        for r in results
    )
    return Snapshot(
        kind="live", resources=resources, regions=tuple(regions),
        collected_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        options={"origin": "egress probe", "hostname": socket.gethostname()},
    )
