"""SSRF guard: which addresses a webhook may reach, URL checks, and name resolution."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]

# Cloud metadata services: refused even when private targets are allowed.
METADATA = frozenset({ipaddress.ip_address("169.254.169.254"),
                      ipaddress.ip_address("fd00:ec2::254"),
                      ipaddress.ip_address("100.100.100.200")})
NAT64 = ipaddress.ip_network("64:ff9b::/96")
SHARED = ipaddress.ip_network("100.64.0.0/10")
MAX_URL = 2048


class UnsafeTarget(Exception):
    """The URL or an address it resolves to is not allowed."""


def embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, compatible, 6to4, NAT64, Teredo)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if int(ip) >> 32 == 0 and int(ip) > 1:  # deprecated IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def refusal(ip: IP, allow_private: bool, allowed: Networks = ()) -> str | None:
    """Why `ip` may not be contacted, or None when it may (`allowed`: an operator's own
    networks, reachable whatever their class, except cloud metadata addresses)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return "a scoped IPv6 address"
        inner = embedded_v4(ip)
        if inner is not None:
            why = refusal(inner, allow_private, allowed)
            return f"an IPv6 form of {inner} ({why})" if why else None
    if ip in METADATA:
        return "a cloud metadata address"
    if any(ip in net for net in allowed):
        return None
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_loopback:
        return None if allow_private else "a loopback address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in SHARED:
        return None if allow_private else "a shared (100.64.0.0/10) address"
    if ip.is_private:
        # is_private covers RFC 1918 and ULA but also reserved/documentation blocks.
        private = any(ip in n for n in _PRIVATE)
        if private and allow_private:
            return None
        return "a private address" if private else "a reserved address"
    if ip.is_reserved or not ip.is_global:
        return "a reserved address"
    return None


_PRIVATE = [ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")]


def check_url(url: str) -> tuple[str, str, int]:
    """Syntax of a webhook URL: (scheme, host, port); raises UnsafeTarget."""
    if len(url) > MAX_URL:
        raise UnsafeTarget(f"URL is longer than {MAX_URL} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeTarget(f"URL is malformed ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeTarget("URL must start with https:// or http://")
    if not parts.hostname:
        raise UnsafeTarget("URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget("URL must not contain credentials")
    if any(c.isspace() for c in url):
        raise UnsafeTarget("URL must not contain whitespace")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def resolve(host: str, port: int, allow_private: bool, allowed: Networks = ()) -> list[str]:
    """Every address of `host`, each checked; raises UnsafeTarget if any is refused."""
    try:
        literal: IP | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        infos = [str(literal)]
    else:
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise UnsafeTarget(f"host '{host}' does not resolve ({exc})") from None
        infos = list(dict.fromkeys(str(info[4][0]) for info in found))
    if not infos:
        raise UnsafeTarget(f"host '{host}' has no address")
    for address in infos:
        why = refusal(ipaddress.ip_address(address), allow_private, allowed)
        if why:
            raise UnsafeTarget(f"host '{host}' resolves to {address}, {why}")
    return infos


def validate(url: str, allow_private: bool, allowed: Networks = ()) -> None:
    """Registration-time check: syntax, then resolve and check every address."""
    _scheme, host, port = check_url(url)
    resolve(host, port, allow_private, allowed)
