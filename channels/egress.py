"""Where an adapter may connect: the guard against server-side request forgery.

A tenant may point a provider block with credentials of its own at an endpoint of its
choosing. Without a guard, the workers would then send requests, and read answers, inside
the platform's network (``http://127.0.0.1:6379/``, ``smtp://169.254.169.254:80``). So every
connection made for such a block goes through :class:`Egress`: the host is resolved, and
each address must be public (not private, loopback, link-local, shared, multicast or
reserved); the connection goes to an address that was checked, and the peer is checked
again once connected, so a name that resolves differently the second time (DNS rebinding)
gains nothing. The platform's own endpoints (``config/channels.yaml``) are trusted and do
not go through it.

Loopback is allowed only in development (``ORCHESTRATOR_ALLOW_LOOPBACK_PROVIDERS=1``, which
the settings refuse unless the service itself is served on loopback), so the sandbox on
127.0.0.1 can stand in for a tenant's provider in the demo and the tests.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import httpcore
import httpx

ALLOW_LOOPBACK_VARIABLE = "ORCHESTRATOR_ALLOW_LOOPBACK_PROVIDERS"
_TRUE = {"1", "true", "yes", "on"}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_LIMITS = httpx.Limits(max_connections=100)


@cache
def verified_tls() -> ssl.SSLContext:
    """httpx's own verifying TLS context (certifi's CAs, or ``SSL_CERT_FILE`` /
    ``SSL_CERT_DIR``), made once per process and shared by the clients made here and by
    the adapters': loading the CA bundle costs a tenth of a second of CPU or more each time,
    and an ``SSLContext`` is safe to share between clients and threads."""
    return httpx.create_ssl_context()


class EgressRefused(Exception):
    """A connection to an address a tenant's provider block may not reach; the message
    names the host, never what answered there.

    Attributes:
      unresolved: the name did not resolve at all (rather than to a refused address).
    """

    def __init__(self, message: str, *, unresolved: bool = False) -> None:
        super().__init__(message)
        self.unresolved = unresolved


def loopback_allowed(env: dict[str, str] | None = None) -> bool:
    """Whether development mode lets tenants' provider blocks reach loopback."""
    values = os.environ if env is None else env
    return values.get(ALLOW_LOOPBACK_VARIABLE, "").strip().lower() in _TRUE


def is_public(address: IPAddress) -> bool:
    """A globally routable unicast address (an IPv4-mapped IPv6 address as its IPv4)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


@dataclass(frozen=True, slots=True)
class Egress:
    """The connection policy for endpoints a tenant named.

    Parameters:
      allow_loopback: development only: loopback addresses are allowed too.
    """

    allow_loopback: bool = False

    @classmethod
    def from_environment(cls) -> Egress:
        return cls(allow_loopback=loopback_allowed())

    def allows(self, address: IPAddress) -> bool:
        return is_public(address) or (self.allow_loopback and address.is_loopback)

    def addresses(self, host: str, port: int) -> list[str]:
        """``host``'s addresses, each one allowed; :class:`EgressRefused` when any is not
        (a name with one internal address among public ones is refused as a whole)."""
        try:
            literal = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            literal = None
        if literal is not None:
            found = [literal]
        else:
            try:
                infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except OSError as exc:
                raise EgressRefused(
                    f"{host} does not resolve ({exc.strerror})", unresolved=True
                ) from None
            found = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
        refused = [a for a in found if not self.allows(a)]
        if refused or not found:
            raise EgressRefused(f"{host} is not a public address")
        return [str(a) for a in dict.fromkeys(found)]

    def check_peer(self, host: str, sock: Any) -> None:
        """The connected socket's peer must be allowed too."""
        peer = ipaddress.ip_address(str(sock.getpeername()[0]).split("%", 1)[0])
        if not self.allows(peer):
            raise EgressRefused(f"{host} is not a public address")

    def connect(self, host: str, port: int, timeout: float | None) -> socket.socket:
        """A TCP connection to ``host`` through a checked address, its peer checked."""
        last: OSError | None = None
        for address in self.addresses(host, port):
            try:
                sock = socket.create_connection((address, port), timeout=timeout)
            except OSError as exc:
                last = exc
                continue
            try:
                self.check_peer(host, sock)
            except EgressRefused:
                sock.close()
                raise
            return sock
        raise last or OSError(f"could not connect to {host}:{port}")


class _GuardedBackend(httpcore.NetworkBackend):
    """httpcore's network backend, connecting only where :class:`Egress` allows."""

    def __init__(self, egress: Egress) -> None:
        self.egress = egress
        self.inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        last: Exception | None = None
        for address in self.egress.addresses(host, port):
            try:
                stream = self.inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                last = exc
                continue
            try:
                self.egress.check_peer(host, stream.get_extra_info("socket"))
            except EgressRefused:
                stream.close()
                raise
            return stream
        raise last or httpcore.ConnectError(f"could not connect to {host}:{port}")

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise EgressRefused("a unix socket is not a provider endpoint")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """An httpx transport whose every connection goes through :class:`Egress` (TLS still
    verifies the certificate against the URL's host name). Proxies from the environment
    are not used: a proxy would resolve the name itself, out of the guard's sight."""

    def __init__(self, egress: Egress, *, limits: httpx.Limits = _LIMITS) -> None:
        super().__init__(limits=limits, verify=verified_tls())
        # httpx builds its connection pool in __init__ and offers no parameter for the
        # network backend; this pool is the same one with the guarded backend.
        self._pool = httpcore.ConnectionPool(
            ssl_context=verified_tls(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_GuardedBackend(egress),
        )


def guarded_client(egress: Egress, *, limits: httpx.Limits = _LIMITS) -> httpx.Client:
    """An HTTP client for endpoints a tenant named: every connection checked by ``egress``,
    no redirects followed, no proxy from the environment."""
    return httpx.Client(
        transport=GuardedTransport(egress, limits=limits),
        trust_env=False,
        follow_redirects=False,
    )
