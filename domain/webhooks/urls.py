"""Endpoint URL validation and SSRF guard.

``validate_url`` is for registration time (-> 422 on ``UnsafeURLError``).
``resolve_target`` is for delivery time: it re-resolves the host and re-checks
every address (defeats DNS rebinding); the delivery then connects to
``ResolvedTarget.ip`` rather than resolving the name again.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
ALLOWED_SCHEMES = ("http", "https")
METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS/GCP/Azure/OpenStack
        ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
        ipaddress.ip_address("fd00:ec2::254"),  # AWS IPv6 IMDS
    }
)
BLOCKED_HOSTNAMES = frozenset({"metadata", "metadata.google.internal", "metadata.goog"})
_NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")

Resolver = Callable[..., list]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeURLError(ValueError):
    """A webhook URL that must not be used.

    ``code`` is one of: ``invalid_url``, ``unsupported_scheme``, ``missing_host``,
    ``credentials_in_url``, ``unresolvable_host``, ``forbidden_address``.
    """

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass(frozen=True)
class ResolvedTarget:
    url: str
    scheme: str
    host: str  # hostname as in the URL, lower-case, no brackets
    port: int
    addresses: tuple[str, ...]  # every resolved address, all vetted

    @property
    def ip(self) -> str | None:
        """The address to connect to (first vetted one)."""
        return self.addresses[0] if self.addresses else None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    out: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        out.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        out.append(ip.sixtofour)
    if ip.teredo is not None:
        out.append(ip.teredo[1])
    if ip in _NAT64_PREFIX:
        out.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return out


def forbidden_reason(address: str | IPAddress) -> str | None:
    """Why an address must not be called (``None`` if it is a public unicast one)."""
    try:
        ip = ipaddress.ip_address(str(address).split("%", 1)[0])  # drop IPv6 zone id
    except ValueError:
        return "not an IP address"
    if ip in METADATA_ADDRESSES:
        return "cloud metadata address"
    if isinstance(ip, ipaddress.IPv6Address):
        for v4 in _embedded_ipv4(ip):
            reason = forbidden_reason(v4)
            if reason:
                return f"{reason} (embedded in IPv6 {ip})"
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("non-global", not ip.is_global),
    )
    for name, hit in checks:
        if hit:
            return f"{name} address"
    return None


def _parse(url: object) -> tuple[str, str, str, int]:
    """(url, scheme, host, port) after syntax-only checks."""
    if not isinstance(url, str) or not url.strip():
        raise UnsafeURLError("invalid_url", "URL must be a non-empty string")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeURLError("invalid_url", f"URL longer than {MAX_URL_LENGTH} characters")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise UnsafeURLError("invalid_url", "URL contains whitespace or control characters")
    if "://" not in url:
        raise UnsafeURLError("invalid_url", "not an absolute URL (expected http(s)://host/...)")
    try:
        parts = urlsplit(url)
        port = parts.port
        hostname = parts.hostname
    except ValueError as exc:
        raise UnsafeURLError("invalid_url", f"malformed URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise UnsafeURLError(
            "unsupported_scheme", f"scheme {scheme or '(none)'!r} not allowed; use http or https"
        )
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        raise UnsafeURLError("credentials_in_url", "URL must not contain user name or password")
    if not hostname:
        raise UnsafeURLError("missing_host", "URL has no host")
    hostname = hostname.rstrip(".").lower()
    if not hostname:
        raise UnsafeURLError("missing_host", "URL has no host")
    if port == 0:
        raise UnsafeURLError("invalid_url", "port 0 is not allowed")
    if not _is_ip_literal(hostname):
        try:
            hostname.encode("idna")
        except UnicodeError:
            raise UnsafeURLError("invalid_url", f"invalid host name {hostname!r}") from None
        if any(not (c.isalnum() or c in "-._") for c in hostname):
            raise UnsafeURLError("invalid_url", f"invalid host name {hostname!r}")
    if port is None:
        port = 443 if scheme == "https" else 80
    return url, scheme, hostname, port


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def _resolve(host: str, port: int, resolver: Resolver) -> tuple[str, ...]:
    if _is_ip_literal(host):
        return (host,)
    try:
        infos = resolver(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:  # socket.gaierror is an OSError
        raise UnsafeURLError("unresolvable_host", f"cannot resolve {host!r}: {exc}") from None
    addrs = [str(info[4][0]).split("%", 1)[0] for info in infos or ()]
    if not addrs:
        raise UnsafeURLError("unresolvable_host", f"{host!r} has no addresses")
    return tuple(dict.fromkeys(addrs))


def _vet(host: str, addresses: tuple[str, ...]) -> None:
    if host in BLOCKED_HOSTNAMES:
        raise UnsafeURLError("forbidden_address", f"{host!r} is a metadata host name")
    for addr in addresses:
        reason = forbidden_reason(addr)
        if reason:
            raise UnsafeURLError(
                "forbidden_address", f"{host!r} resolves to {addr}, a {reason}; not allowed"
            )


def resolve_target(
    url: str, *, allow_private: bool, resolver: Resolver = socket.getaddrinfo
) -> ResolvedTarget:
    """Parse, resolve and vet ``url`` (delivery-time check).

    Always resolves; unless ``allow_private`` every resolved address must be a
    public unicast one (if any one is not, the URL is refused).
    """
    url, scheme, host, port = _parse(url)
    if not allow_private and host in BLOCKED_HOSTNAMES:
        _vet(host, ())
    addresses = _resolve(host, port, resolver)
    if not allow_private:
        _vet(host, addresses)
    return ResolvedTarget(url=url, scheme=scheme, host=host, port=port, addresses=addresses)


def validate_url(
    url: str, *, allow_private: bool, resolver: Resolver = socket.getaddrinfo
) -> str:
    """Registration-time check; returns the (stripped) URL or raises ``UnsafeURLError``.

    With ``allow_private`` only the syntax checks run (no DNS lookup).
    """
    if allow_private:
        return _parse(url)[0]
    return resolve_target(url, allow_private=False, resolver=resolver).url
