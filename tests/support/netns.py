"""Hosts for a multi-host test: network namespaces on one private bridge, made and removed as root.

Each host is a network namespace with its own addresses from 198.18.0.0/24 (RFC 2544's range for
such tests) on a veth whose other end is on a bridge in a switch namespace. No namespace has a
default route, so nothing leaves the test network. The test's own process is the client host: a
veth from the root namespace to the bridge gives it CLIENT_ADDR and a route to the /24 only.
Processes are started with `ip netns exec` and a host name of their own; the file system, the PID
namespace and the Docker socket stay shared (a sandbox host reaches the engine through its socket).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

NET = "198.18.0"
CLIENT_ADDR = f"{NET}.254"


def available() -> str | None:
    """None when namespaces can be made here, else why not (an external resource missing)."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool in ("ip", "iptables"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed"
    probe = f"orchprobe{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True)
    if made.returncode != 0:
        return "cannot create a network namespace: " + made.stderr.decode().strip()
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@dataclass
class Host:
    """One namespace: its addresses, the processes started in it, its link to the bridge."""

    name: str  # the namespace
    hostname: str  # what its processes' gethostname() says (each runs in its own UTS namespace)
    addrs: list[str]
    switch_port: str  # the veth end on the bridge, in the switch namespace
    switch_ns: str
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def addr(self) -> str:
        """The host's first address."""
        return self.addrs[0]

    def start(self, argv: list[str], env: dict[str, str], log: Path,
              cwd: Path | None = None, user: str | None = None) -> subprocess.Popen[bytes]:
        """Run argv in this host's namespace (as `user` when given), output to `log`."""
        prefix = ["ip", "netns", "exec", self.name, "unshare", "--uts", "--", "sh", "-c",
                  'hostname "$0" && exec "$@"', self.hostname]
        if user:
            prefix += ["runuser", "-u", user, "--"]
        with log.open("ab") as out:
            proc = subprocess.Popen([*prefix, *argv], env=env, cwd=cwd, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def run(self, argv: list[str], env: dict[str, str] | None = None) -> str:
        """Run argv in the namespace to completion; its output."""
        done = subprocess.run(["ip", "netns", "exec", self.name, *argv], env=env,
                              capture_output=True, text=True, check=True)
        return done.stdout

    def pids(self) -> list[int]:
        """Every process in the namespace."""
        out = subprocess.run(["ip", "netns", "pids", self.name], capture_output=True,
                             text=True).stdout
        return [int(p) for p in out.split()]

    def kill_all(self) -> int:
        """SIGKILL every process of the host, as a power cut would; how many there were."""
        pids = self.pids()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        return len(pids)

    def link_down(self) -> None:
        """Unplug the host from the bridge."""
        _ip("-n", self.switch_ns, "link", "set", self.switch_port, "down")

    def partition_from(self, addr: str) -> None:
        """Silently drop every packet between this host and addr (both ways)."""
        for rule in (["OUTPUT", "-d", addr], ["INPUT", "-s", addr]):
            self.run(["iptables", "-I", rule[0], rule[1], f"{rule[2]}/32", "-j", "DROP"])

    def heal_from(self, addr: str) -> None:
        """Undo partition_from(addr)."""
        for rule in (["OUTPUT", "-d", addr], ["INPUT", "-s", addr]):
            self.run(["iptables", "-D", rule[0], rule[1], f"{rule[2]}/32", "-j", "DROP"])

    def stop(self) -> None:
        """Stop what runs here: SIGTERM, then SIGKILL whatever is left."""
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while self.pids() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.kill_all()


class Network:
    """A bridge and the hosts on it; everything is removed by close()."""

    def __init__(self) -> None:
        self.tag = f"{os.getpid() % 100000}"
        self.switch = f"orchsw{self.tag}"
        self.hosts: dict[str, Host] = {}
        self._client_veth = f"oc{self.tag}"
        _ip("netns", "add", self.switch)
        _ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
        _ip("-n", self.switch, "link", "set", "br0", "up")
        # The client host (this process): a veth from the root namespace to the bridge.
        _ip("link", "add", self._client_veth, "type", "veth", "peer", "name", "pc")
        _ip("link", "set", "pc", "netns", self.switch)
        _ip("-n", self.switch, "link", "set", "pc", "master", "br0", "up")
        _ip("addr", "add", f"{CLIENT_ADDR}/24", "dev", self._client_veth)
        _ip("link", "set", self._client_veth, "up")

    def add(self, name: str, *last_octets: int) -> Host:
        """A new host with addresses 198.18.0.<octet>, plugged into the bridge."""
        ns = f"orch{self.tag}-{name}"
        index = len(self.hosts)
        inner, outer = f"oh{self.tag}x{index}", f"op{index}"
        _ip("netns", "add", ns)
        _ip("-n", ns, "link", "set", "lo", "up")
        _ip("link", "add", inner, "type", "veth", "peer", "name", outer)
        _ip("link", "set", inner, "netns", ns)
        _ip("link", "set", outer, "netns", self.switch)
        _ip("-n", self.switch, "link", "set", outer, "master", "br0", "up")
        addrs = [f"{NET}.{octet}" for octet in last_octets]
        for addr in addrs:
            _ip("-n", ns, "addr", "add", f"{addr}/24", "dev", inner)
        _ip("-n", ns, "link", "set", inner, "up")
        host = Host(ns, name, addrs, outer, self.switch)
        self.hosts[name] = host
        return host

    def wait_reachable(self, addr: str, port: int, timeout: float = 30) -> None:
        """Wait until addr:port accepts a TCP connection from the client host."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection((addr, port), timeout=1):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def close(self) -> None:
        """Stop every host's processes and remove the namespaces and links."""
        for host in self.hosts.values():
            with contextlib.suppress(Exception):
                host.stop()
        for host in self.hosts.values():
            subprocess.run(["ip", "netns", "del", host.name], capture_output=True)
        subprocess.run(["ip", "link", "del", self._client_veth], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.switch], capture_output=True)


@contextlib.contextmanager
def network() -> Iterator[Network]:
    """A test network for the duration of the block."""
    net = Network()
    try:
        yield net
    finally:
        net.close()
