"""Two sandbox hosts on one stack: a thread's cells stay with the host holding its session;
when that host is lost, the next cell starts a fresh session elsewhere and says so."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest
import redis

from tests.sandbox.conftest import SandboxStack, containers_under, logs_of, run_code
from tests.support.servers import BIN

HEARTBEAT = 1.5  # the hosts' ORCH_SANDBOX_HEARTBEAT_SECONDS: a lost host's key lapses in 5 s
READ_BACK = "print('kept is', globals().get('kept', 'lost'))"


class Host:
    """One `orchestrator sandbox-worker` with a host name and a state folder of its own."""

    def __init__(self, box: SandboxStack, name: str) -> None:
        self.box, self.name = box, name
        self.state = box.st.workdir / f"state-{name}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        """Start the worker (see ready())."""
        self.log = self.box.st.workdir / f"sandbox-{self.name}-{self.starts}.log"
        self.starts += 1
        self.proc = subprocess.Popen(
            [str(BIN / "orchestrator"), "sandbox-worker", "--concurrency", "1"],
            env={**self.box.st.env, "ORCH_SANDBOX_HOST": self.name,
                 "ORCH_SANDBOX_STATE_DIR": str(self.state), "ORCH_SANDBOX_POOL_SIZE": "1",
                 "ORCH_SANDBOX_HEARTBEAT_SECONDS": str(HEARTBEAT)},
            cwd=self.box.st.workdir, stdout=self.log.open("wb"), stderr=subprocess.STDOUT,
            start_new_session=True)

    def ready(self) -> None:
        """Wait until the worker consumes its queues."""
        assert self.proc is not None
        deadline = time.monotonic() + 60
        while " ready." not in self.log.read_text(errors="replace"):
            assert self.proc.poll() is None and time.monotonic() < deadline, self.text()
            time.sleep(0.2)

    def alive(self) -> bool:
        """Whether the worker process runs."""
        return self.proc is not None and self.proc.poll() is None

    def holds(self, thread_id: str) -> bool:
        """Whether one of this host's sandboxes is bound to the thread's session (the binding
        the worker writes next to each kernel's sockets)."""
        return any(p.read_text().endswith(f":{thread_id}")
                   for p in self.state.glob("*/*/session"))

    def lose(self) -> None:
        """What a lost host looks like: its worker SIGKILLed, its containers and disk gone."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        names = containers_under(str(self.state))
        if names:
            # The other host's reaper may be removing them too (their owner is dead): then
            # `docker rm` fails for those names, and what counts is that none is left.
            gone = subprocess.run(["docker", "rm", "-f", *names], capture_output=True, text=True)
            deadline = time.monotonic() + 20
            while (left := containers_under(str(self.state))) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert not left, (left, gone.stderr)
            subprocess.run(["docker", "volume", "rm", "-f", *names], capture_output=True)
        shutil.rmtree(self.state)  # and its disk

    def stop(self) -> None:
        """Stop the worker gracefully (it removes its containers)."""
        if self.alive():
            assert self.proc is not None
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def text(self) -> str:
        """The end of its log (for failure messages)."""
        return self.log.read_text(errors="replace")[-3000:]


class Hosts:
    """Sandbox hosts `host-a` and `host-b`, the only sandbox workers of the stack."""

    def __init__(self, box: SandboxStack) -> None:
        self.box = box
        self.all = [Host(box, "host-a"), Host(box, "host-b")]
        self.redis = redis.Redis.from_url(box.st.env["ORCH_REDIS_URL"])

    def both_up(self) -> None:
        """Restart whichever host is down (its name's old key lapses first, within 5 s)."""
        down = [host for host in self.all if not host.alive()]
        for host in down:
            host.start()
        for host in down:
            host.ready()

    def holder(self, thread_id: str) -> Host:
        """The one host holding the thread's session."""
        holding = [h for h in self.all if h.holds(thread_id)]
        assert len(holding) == 1, [h.name for h in holding]
        return holding[0]

    def other(self, host: Host) -> Host:
        """The host that is not `host`."""
        return next(h for h in self.all if h is not host)

    def announced(self, host: Host) -> bool:
        """Whether the host's liveness key is in Redis."""
        return bool(self.redis.exists(f"orch:sandbox:alive:{host.name}"))

    def queued_for(self, host: Host) -> int:
        """Messages waiting on the host's own queue."""
        return int(self.redis.llen(f"sandbox.{host.name}"))


@pytest.fixture(scope="module")
def hosts(sandboxed: SandboxStack) -> Iterator[Hosts]:
    """The stack's own sandbox worker stopped, two named hosts in its place."""
    sandboxed.stop()
    two = Hosts(sandboxed)
    try:
        two.both_up()
        yield two
    finally:
        for host in two.all:
            host.stop()
        sandboxed.start_sandbox()


def _session(sdk: openai.OpenAI, hosts: Hosts, tutor: Any) -> tuple[str, Host]:
    """A thread whose session (holding `kept`) is on one of the hosts; that host."""
    hosts.both_up()
    thread = sdk.beta.threads.create()
    run, step, _ = run_code(sdk, hosts.box.st, tutor.id, "kept = 'yes'\nprint('set')",
                            thread_id=thread.id)
    assert run.status == "completed" and "set" in logs_of(step)
    return thread.id, hosts.holder(thread.id)


@pytest.mark.slow
def test_cells_of_a_thread_stay_on_the_host_holding_its_session(
        sdk: openai.OpenAI, hosts: Hosts, tutor: Any) -> None:
    thread_id, holder = _session(sdk, hosts, tutor)
    for n in range(1, 4):  # both hosts serve the shared queue: chance alone keeps 1 in 8
        run, step, _ = run_code(sdk, hosts.box.st, tutor.id,
                                f"kept += '!'\nprint('kept is', kept, {n})",
                                thread_id=thread_id)
        logs = logs_of(step)
        assert run.status == "completed" and f"kept is yes{'!' * n} {n}" in logs, logs
        assert "new Python session" not in logs
        assert hosts.holder(thread_id) is holder


@pytest.mark.slow
def test_a_lost_host_means_a_fresh_session_on_the_other_and_says_so(
        sdk: openai.OpenAI, hosts: Hosts, tutor: Any) -> None:
    thread_id, lost = _session(sdk, hosts, tutor)
    other = hosts.other(lost)
    lost.lose()
    deadline = time.monotonic() + 3 * HEARTBEAT + 3
    while hosts.announced(lost):  # its key lapses: the engine knows the host is gone
        assert time.monotonic() < deadline
        time.sleep(0.2)
    began = time.monotonic()
    run, step, answer = run_code(sdk, hosts.box.st, tutor.id, READ_BACK, thread_id=thread_id)
    logs = logs_of(step)
    assert run.status == "completed", (run.status, run.last_error, other.text())
    assert "This is a new Python session" in logs, logs
    assert f"sandbox host '{lost.name}', which is unreachable" in logs, logs
    assert "attached files are in /mnt/data again" in logs
    assert "kept is lost" in logs  # earlier variables are gone, as the note says
    assert answer is not None and "kept is lost" in answer.content[0].text.value
    assert other.holds(thread_id) and not lost.alive()
    assert time.monotonic() - began < 10  # sent to a live host at once, no lease to wait out
    again, step, _ = run_code(sdk, hosts.box.st, tutor.id, "kept = 2\nprint(kept * 21)",
                              thread_id=thread_id)
    assert again.status == "completed" and "42" in logs_of(step)
    assert "new Python session" not in logs_of(step)  # said once, then the session goes on


@pytest.mark.slow
def test_a_job_queued_for_a_host_that_is_gone_is_rerouted(
        sdk: openai.OpenAI, hosts: Hosts, tutor: Any) -> None:
    thread_id, lost = _session(sdk, hosts, tutor)
    other = hosts.other(lost)
    waiting = hosts.queued_for(lost)
    lost.lose()  # its key lives a few seconds more: the next job is sent to its queue
    # Meanwhile (the job's lease lapses in 15 s) a second worker under the surviving host's
    # name refuses to start: two consumers of one host's queue would split its sessions.
    twin = Host(hosts.box, other.name)
    twin.state = hosts.box.st.workdir / "state-twin"
    twin.start()
    run, step, _ = run_code(sdk, hosts.box.st, tutor.id, READ_BACK, thread_id=thread_id)
    logs = logs_of(step)
    assert twin.proc is not None and twin.proc.wait(timeout=60) != 0
    assert (f"another sandbox worker is alive as host '{other.name}': give each one its own "
            "ORCH_SANDBOX_HOST") in twin.text()
    assert hosts.queued_for(lost) == waiting + 1, "the job should have waited for the lost host"
    assert run.status == "completed", (run.status, run.last_error, other.text())
    assert f"sandbox host '{lost.name}', which is unreachable" in logs, logs
    assert "kept is lost" in logs and other.holds(thread_id)
    # The host comes back under its name: the job it finds on its queue was answered
    # elsewhere, so it is dropped, not run a second time.
    lost.start()
    lost.ready()
    deadline = time.monotonic() + 30
    while "1 call(s): cancelled" not in lost.text():  # what it says of a job it drops
        assert time.monotonic() < deadline, lost.text()
        time.sleep(0.2)
    assert hosts.queued_for(lost) == 0
    assert not lost.holds(thread_id) and other.holds(thread_id)
    steps = sdk.beta.threads.runs.steps.list(thread_id=thread_id, run_id=run.id).data
    assert [s.type for s in steps].count("tool_calls") == 1
    assert logs_of(next(s for s in steps if s.type == "tool_calls")) == logs


