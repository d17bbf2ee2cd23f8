"""Where a run may send requests: the HTTP client every model and MCP connection of a run goes through.

A model's or MCP server's URL is chosen by whoever edits an agent, so it must not become a way into this network:
requests go over https to public addresses only. The check happens when a connection is opened: the host name is
resolved, every address it resolves to is checked, and the connection goes to an address that was checked, so a
name cannot resolve to a public address for the check and to a private one for the connection. A host (or
host:port) listed in AGENT_EGRESS_ALLOWED_HOSTS skips the check and may use http: a self-hosted model on the same
machine, or the tests' servers. Redirects are never followed: a 3xx answer fails the request.

(pydantic_ai._ssrf has similar address checks, for downloads; it is private to that library, which only
apps.agentic.runtime may import, and it rewrites URLs to the address rather than checking at connect time.)
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import weakref
from collections.abc import Iterable
from functools import cache
from typing import Any

import httpcore2
import httpx2
from django.conf import settings

# Cloud metadata endpoints: most lie in private or link-local ranges anyway; Azure's is a public address.
_METADATA = frozenset(
    ipaddress.ip_address(ip)
    for ip in ("169.254.169.254", "169.254.170.2", "168.63.129.16", "100.100.100.200", "fd00:ec2::254")
)


class EgressRefused(httpx2.ConnectError):
    """A request this installation does not send; `reason` says why, naming the host (never the URL's path or query,
    which may carry a key)."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"{host} {reason}")
        self.host, self.reason = host, reason


def is_allowed(host: str, port: int | None) -> bool:
    """Whether AGENT_EGRESS_ALLOWED_HOSTS lists the host, or the host with this port."""
    listed = {entry.strip().lower() for entry in settings.AGENT_EGRESS_ALLOWED_HOSTS if entry.strip()}
    host = host.lower().strip("[]")
    return host in listed or (port is not None and f"{host}:{port}" in listed)


def address_problem(address: str) -> str | None:
    """Why a connection to this IP address is refused; None when it is a public address."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in _METADATA:
        return "a cloud metadata address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global or ip.is_multicast:
        return "not a public address"
    return None


async def resolve(host: str, port: int) -> list[str]:
    """The addresses a host name resolves to (tests replace this to stand in for DNS)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class _CheckedBackend(httpcore2.AsyncNetworkBackend):
    """Opens TCP connections only to checked addresses. TLS still names the host (the connection pool passes the
    URL's host as the server name), so certificates are verified against the name, not the address."""

    def __init__(self) -> None:
        self._inner = httpcore2.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        if is_allowed(host, port):
            return await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        try:
            addresses = await resolve(host, port)
        except OSError:
            raise EgressRefused(host, "could not be resolved") from None
        for address in addresses:
            problem = address_problem(address)
            if problem is not None:
                raise EgressRefused(host, f"resolves to {problem} ({address}), which runs may not reach")
        error: Exception = EgressRefused(host, "resolves to no address")
        for address in addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore2.ConnectError as exc:
                error = exc
        raise error

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore2.AsyncNetworkStream:
        raise EgressRefused(path, "is a local socket, which runs may not reach")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


@cache
def _ssl_context() -> ssl.SSLContext:
    # Loading the system's certificates takes milliseconds: once per process, not once per run.
    return ssl.create_default_context()


class CheckedTransport(httpx2.AsyncBaseTransport):
    """httpx2's transport with the checked connections, refusing plain http to unlisted hosts and every redirect."""

    def __init__(self) -> None:
        # No proxy from the environment: a proxy would open the connection to the target itself, unchecked.
        self._inner = httpx2.AsyncHTTPTransport(verify=_ssl_context(), trust_env=False)
        self._inner._pool = httpcore2.AsyncConnectionPool(ssl_context=_ssl_context(), network_backend=_CheckedBackend())

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        host, port = request.url.host, request.url.port
        if request.url.scheme != "https" and not is_allowed(host, port):
            raise EgressRefused(
                host, "must be reached over https (only hosts in AGENT_EGRESS_ALLOWED_HOSTS may use http)"
            )
        response = await self._inner.handle_async_request(request)
        if 300 <= response.status_code < 400 and "location" in response.headers:
            await response.aclose()
            raise EgressRefused(
                host, f"answered with a redirect (HTTP {response.status_code}), which runs do not follow"
            )
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class _Lent(httpx2.AsyncBaseTransport):
    """A shared pool of checked connections, lent to one client: closing the client leaves the pool open."""

    def __init__(self, pool: CheckedTransport) -> None:
        self._pool = pool

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        return await self._pool.handle_async_request(request)

    async def aclose(self) -> None:
        pass


# The event loops whose clients share one pool of connections (weakly held: a closed loop's pool goes with it).
_shared_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, CheckedTransport] = weakref.WeakKeyDictionary()


def share_connections(loop: asyncio.AbstractEventLoop) -> None:
    """Let every client made in `loop` use one pool of connections, kept open between runs: a worker's next run to
    the same model or MCP server reuses a connection instead of opening one (a TCP and TLS handshake per run).
    Only for a loop that lives as long as its process (apps.agentic.runner): a pool's connections are never closed
    but with it."""
    _shared_pools.setdefault(loop, CheckedTransport())


def shares_connections() -> bool:
    """Whether the running loop shares its connections (share_connections): what is built on them may be kept."""
    try:
        return asyncio.get_running_loop() in _shared_pools
    except RuntimeError:
        return False


def http_client(*, timeout: float, headers: dict[str, str] | None = None) -> httpx2.AsyncClient:
    """An httpx2 client for one run's model or MCP server, every request checked as above; in a loop that shares
    its connections (share_connections), the client borrows the loop's pool."""
    try:
        pool = _shared_pools.get(asyncio.get_running_loop())
    except RuntimeError:
        pool = None
    return httpx2.AsyncClient(
        transport=CheckedTransport() if pool is None else _Lent(pool),
        timeout=httpx2.Timeout(timeout),
        headers=headers,
        follow_redirects=False,
        trust_env=False,
    )


def refusal_in(exc: BaseException) -> EgressRefused | None:
    """The EgressRefused behind an error the model SDKs or the MCP client wrapped it in, if any."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, EgressRefused):
            return current
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
    return None
