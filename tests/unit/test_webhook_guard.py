"""SSRF guard: every non-global address class refused, pinned connections, no redirects."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator

import httpx
import pytest

from orchestrator.config import Settings
from orchestrator.webhooks.guard import UnsafeTarget, check_url, refusal, resolve, validate
from orchestrator.webhooks.sender import GuardedTransport
from tests.support.receiver import Answer, Receiver, receiver

REFUSED_ALWAYS = {
    "0.0.0.0": "unspecified",
    "::": "unspecified",
    "169.254.169.254": "metadata",
    "169.254.10.1": "link-local",
    "fe80::1": "link-local",
    "224.0.0.1": "multicast",
    "239.255.255.250": "multicast",
    "ff02::1": "multicast",
    "240.0.0.1": "reserved",
    "255.255.255.255": "reserved",
    "192.0.2.10": "reserved",  # documentation (TEST-NET-1)
    "198.18.0.1": "reserved",  # benchmarking
    "2001:db8::1": "reserved",
    "fd00:ec2::254": "metadata",
    "::ffff:169.254.169.254": "metadata",
    "64:ff9b::a9fe:a9fe": "metadata",  # NAT64 form of 169.254.169.254
}
PRIVATE = {
    "127.0.0.1": "loopback",
    "127.8.9.10": "loopback",
    "::1": "loopback",
    "10.1.2.3": "private",
    "172.16.0.1": "private",
    "172.31.255.255": "private",
    "192.168.1.1": "private",
    "fc00::1": "private",
    "fd12:3456::1": "private",
    "100.64.0.1": "shared",
    "100.127.255.254": "shared",
    "::ffff:127.0.0.1": "loopback",  # IPv4-mapped
    "::ffff:10.0.0.1": "private",
    "::127.0.0.1": "loopback",  # deprecated IPv4-compatible
    "2002:7f00:1::": "loopback",  # 6to4 of 127.0.0.1
    "2002:c0a8:101::": "private",  # 6to4 of 192.168.1.1
    "64:ff9b::7f00:1": "loopback",  # NAT64 of 127.0.0.1
}
GLOBAL = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111",
          "::ffff:8.8.8.8", "172.32.0.1", "100.128.0.1", "11.0.0.1"]


@pytest.mark.parametrize(("address", "why"), sorted(REFUSED_ALWAYS.items()))
def test_refused_even_with_private_allowed(address: str, why: str) -> None:
    ip = ipaddress.ip_address(address)
    assert why in (refusal(ip, allow_private=False) or "")
    assert why in (refusal(ip, allow_private=True) or "")


@pytest.mark.parametrize(("address", "why"), sorted(PRIVATE.items()))
def test_private_classes_refused_unless_allowed(address: str, why: str) -> None:
    ip = ipaddress.ip_address(address)
    assert why in (refusal(ip, allow_private=False) or "")
    assert refusal(ip, allow_private=True) is None


@pytest.mark.parametrize("address", GLOBAL)
def test_global_unicast_allowed(address: str) -> None:
    assert refusal(ipaddress.ip_address(address), allow_private=False) is None


def test_an_operators_own_networks_are_allowed_but_metadata_never() -> None:
    """ORCH_WEBHOOK_ALLOW_NETWORKS: a reserved range an operator runs (198.18.0.0/15 here) is
    reachable, its neighbours are not, and a metadata address inside it stays refused."""
    own = (ipaddress.ip_network("198.18.0.0/15"), ipaddress.ip_network("169.254.0.0/16"))
    assert refusal(ipaddress.ip_address("198.18.0.254"), False, own) is None
    assert refusal(ipaddress.ip_address("::ffff:198.19.1.1"), False, own) is None
    assert "reserved" in (refusal(ipaddress.ip_address("198.51.100.1"), True, own) or "")
    assert "metadata" in (refusal(ipaddress.ip_address("169.254.169.254"), True, own) or "")
    assert resolve("198.18.3.4", 80, False, own) == ["198.18.3.4"]
    with pytest.raises(UnsafeTarget, match="reserved"):
        validate("http://198.18.3.4/hook", True)


def test_allow_networks_setting_is_checked() -> None:
    assert Settings(webhook_allow_networks="198.18.0.0/15, 10.1.0.0/16").webhook_allowed_networks \
        == (ipaddress.ip_network("198.18.0.0/15"), ipaddress.ip_network("10.1.0.0/16"))
    with pytest.raises(ValueError, match="not a network"):
        Settings(webhook_allow_networks="198.18.0.0/33")


@pytest.mark.parametrize(("url", "words"), [
    ("ftp://example.com/", "https:// or http://"),
    ("http:///nohost", "no host"),
    ("http://u:p@example.com/", "credentials"),
    ("http://example.com:99999/", "malformed"),
    ("http://exa mple.com/", "whitespace"),
    ("https://" + "a" * 2050 + ".com/", "longer than"),
])
def test_malformed_urls(url: str, words: str) -> None:
    with pytest.raises(UnsafeTarget, match=words):
        check_url(url)


def test_names_resolving_to_loopback_are_refused() -> None:
    assert "127.0.0.1" in {i[4][0] for i in socket.getaddrinfo("localhost", 80)}
    with pytest.raises(UnsafeTarget, match=r"resolves to .* loopback"):
        resolve("localhost", 80, allow_private=False)
    with pytest.raises(UnsafeTarget, match="loopback"):
        validate("http://localhost:8080/hook", allow_private=False)
    with pytest.raises(UnsafeTarget, match="loopback"):
        validate("http://2130706433/hook", allow_private=False)  # 127.0.0.1 as one integer
    with pytest.raises(UnsafeTarget, match="loopback"):
        validate("http://[::ffff:7f00:1]/hook", allow_private=False)
    assert "127.0.0.1" in resolve("localhost", 80, allow_private=True)


@pytest.fixture()
def rx() -> Iterator[Receiver]:
    """A loopback receiver."""
    with receiver() as r:
        yield r


def test_connection_to_loopback_refused_at_connect_time(rx: Receiver) -> None:
    with httpx.Client(transport=GuardedTransport(allow_private=False)) as c, \
            pytest.raises(UnsafeTarget, match="loopback"):
        c.post(rx.url, content=b"{}")
    assert rx.received == []
    with httpx.Client(transport=GuardedTransport(allow_private=False)) as c, \
            pytest.raises(UnsafeTarget, match="loopback"):
        c.post(rx.url.replace("127.0.0.1", "localhost"), content=b"{}")
    assert rx.received == []


def test_pinned_connection_keeps_host_header(rx: Receiver) -> None:
    with httpx.Client(transport=GuardedTransport(allow_private=True)) as c:
        r = c.post(rx.url.replace("127.0.0.1", "localhost"), content=b"{}")
    assert r.status_code == 200
    assert rx.received[0].headers["host"] == f"localhost:{rx.port}"


def test_redirect_to_private_address_is_not_followed(rx: Receiver) -> None:
    with receiver() as inner:
        rx.script(Answer(302, headers={"Location": inner.url}),
                  Answer(301, headers={"Location": "http://169.254.169.254/latest/meta-data"}))
        with httpx.Client(transport=GuardedTransport(allow_private=True),
                          follow_redirects=False) as c:
            first = c.post(rx.url, content=b"{}")
            second = c.post(rx.url, content=b"{}")
        assert (first.status_code, second.status_code) == (302, 301)
        assert inner.received == [] and len(rx.received) == 2
        with httpx.Client(transport=GuardedTransport(allow_private=True),
                          follow_redirects=True) as c:
            rx.script(Answer(302, headers={"Location": "http://169.254.169.254/x"}))
            with pytest.raises(UnsafeTarget, match="metadata"):
                c.post(rx.url, content=b"{}")  # even a following client cannot get there
