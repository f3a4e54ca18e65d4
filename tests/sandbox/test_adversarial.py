"""Hostile code: each attack is contained, comes back as output, and a harmless job still works."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from typing import Any

import openai
import pytest

from tests.sandbox.conftest import (
    SandboxStack,
    logs_of,
    run_code,
    script_code,
    start_code_run,
)

HARMLESS = "print(6 * 7)"


def attack(sdk: openai.OpenAI, box: SandboxStack, assistant: Any, code: str,
           answer: str = "Result: {tool}") -> tuple[str, Any, Any]:
    """Run the attack and then a harmless job in the same thread; the attack's logs."""
    thread = sdk.beta.threads.create()
    run, step, msg = run_code(sdk, box.st, assistant.id, code, thread_id=thread.id,
                              answer=answer)
    assert run.status == "completed", (run.last_error, box.log())
    assert step.status == "completed"
    after, step2, _ = run_code(sdk, box.st, assistant.id, HARMLESS, thread_id=thread.id)
    assert after.status == "completed" and "42" in logs_of(step2), box.log()
    assert box.proc is not None and box.proc.poll() is None, "the sandbox worker died"
    return logs_of(step), step, msg


def test_fork_bomb(sdk: openai.OpenAI, sandboxed: SandboxStack, tutor: Any) -> None:
    code = ("import os\nn = 0\nwhile True:\n    try:\n        os.fork()\n        n += 1\n"
            "    except OSError as e:\n        print('fork refused:', e.strerror); break")
    logs, _, _ = attack(sdk, sandboxed, tutor, code)
    assert "fork refused" in logs or "timed out" in logs or "died" in logs, logs


def test_memory_bomb(sdk: openai.OpenAI, sandboxed: SandboxStack, tutor: Any) -> None:
    logs, _, _ = attack(sdk, sandboxed, tutor, "blocks = []\nwhile True:\n"
                        "    blocks.append(bytearray(50 * 2**20))")
    assert "MemoryError" in logs or "out of memory" in logs, logs


def test_disk_fill(sdk: openai.OpenAI, sandboxed: SandboxStack, tutor: Any) -> None:
    code = ("import errno\nfor where in ('/mnt/data/fill', '/tmp/fill'):\n"
            "    try:\n        with open(where, 'wb') as f:\n"
            "            while True:\n                f.write(b'x' * 2**20); f.flush()\n"
            "    except OSError as e:\n        print(where, errno.errorcode[e.errno])")
    logs, _, _ = attack(sdk, sandboxed, tutor, code)
    assert "/mnt/data/fill ENOSPC" in logs and "/tmp/fill ENOSPC" in logs, logs
    assert (os.statvfs("/").f_bavail * os.statvfs("/").f_frsize) > 2**30  # the host is fine


def test_infinite_loop_times_out(sdk: openai.OpenAI, sandboxed: SandboxStack,
                                 tutor: Any) -> None:
    start = time.monotonic()
    logs, _, _ = attack(sdk, sandboxed, tutor, "x = 1\nwhile True:\n    x += 1")
    assert "timed out after 6 s" in logs, logs
    assert time.monotonic() - start < 30


def test_huge_output_is_capped(sdk: openai.OpenAI, sandboxed: SandboxStack,
                               tutor: Any) -> None:
    logs, _, _ = attack(sdk, sandboxed, tutor, "for i in range(200000):\n    print('y' * 100)")
    assert "[output truncated at 20000 characters]" in logs
    assert len(logs) < 21000


def test_no_network(sdk: openai.OpenAI, sandboxed: SandboxStack, tutor: Any) -> None:
    code = ("import socket, os\nprint(sorted(os.listdir('/sys/class/net')))\n"
            "for host in ('1.1.1.1', '172.17.0.1', '127.0.0.1'):\n    try:\n"
            "        socket.create_connection((host, 6379), timeout=2); print('CONNECTED', host)\n"
            "    except OSError as e:\n        print('blocked', host, type(e).__name__)")
    logs, _, _ = attack(sdk, sandboxed, tutor, code)
    assert "['lo']" in logs and "CONNECTED" not in logs, logs
    assert logs.count("blocked") == 3


def test_no_host_environment_or_secrets(sdk: openai.OpenAI, sandboxed: SandboxStack,
                                        tutor: Any) -> None:
    code = ("import os\nprint(sorted(os.environ))\n"
            "print('pid1', open('/proc/1/environ').read().replace(chr(0), ' '))\n"
            "for p in ('/var/run/docker.sock', '/run/docker.sock', '/etc/shadow'):\n"
            "    try:\n        open(p, 'rb').read(); print('READ', p)\n"
            "    except OSError as e:\n        print('denied', p, type(e).__name__)")
    logs, _, _ = attack(sdk, sandboxed, tutor, code)
    assert "ORCH_" not in logs and "sk-" not in logs, logs
    assert "READ" not in logs and logs.count("denied") == 3, logs
    for key in sandboxed.st.api.keys:
        assert key not in logs


def test_symlink_escape_exports_nothing(sdk: openai.OpenAI, sandboxed: SandboxStack,
                                        tutor: Any) -> None:
    secret = sandboxed.st.workdir / "host-secret.txt"
    secret.write_text("host secret")
    code = (f"import os\nos.symlink({str(secret)!r}, '/mnt/data/leak.txt')\n"
            "os.symlink('/etc/passwd', '/mnt/data/passwd.txt')\n"
            "os.link('/etc/hostname', '/mnt/data/hard.txt') if False else None\nprint('planted')")
    before = {f.id for f in sdk.files.list(purpose="assistants_output")}
    logs, _, msg = attack(sdk, sandboxed, tutor, code,
                          answer="See sandbox:/mnt/data/leak.txt and sandbox:/mnt/data/passwd.txt")
    assert "planted" in logs
    new = [f for f in sdk.files.list(purpose="assistants_output") if f.id not in before]
    assert new == []
    assert msg.content[-1].text.annotations == []


def test_writing_outside_is_refused(sdk: openai.OpenAI, sandboxed: SandboxStack,
                                    tutor: Any) -> None:
    code = ("for p in ('/etc/evil', '/usr/lib/python3/dist-packages/evil.py', '/evil', "
            "'/run/kernel/evil', '/home/sandbox/evil'):\n    try:\n"
            "        open(p, 'w').write('x'); print('WROTE', p)\n"
            "    except OSError as e:\n        print('refused', p, e.strerror)")
    logs, _, _ = attack(sdk, sandboxed, tutor, code)
    assert "WROTE" not in logs and logs.count("refused") == 5, logs


def test_no_privilege_escalation(sdk: openai.OpenAI, sandboxed: SandboxStack,
                                 tutor: Any) -> None:
    code = ("import os, subprocess\nprint('uid', os.getuid(), os.geteuid())\n"
            "st = dict(l.split(':\\t', 1) for l in open('/proc/self/status').read().splitlines()"
            " if ':\\t' in l)\nprint('caps', st['CapEff'].strip(), st['CapBnd'].strip())\n"
            "print('nnp', st['NoNewPrivs'].strip(), 'seccomp', st['Seccomp'].strip())\n"
            "try:\n    os.setuid(0); print('ROOT')\n"
            "except OSError as e:\n    print('setuid', e.strerror)\n"
            "print('suid', subprocess.run('find / -xdev -perm -4000 -type f 2>/dev/null | wc -l',"
            " shell=True, capture_output=True, text=True).stdout.strip())")
    logs, _, _ = attack(sdk, sandboxed, tutor, code)
    assert "uid 1000 1000" in logs and "ROOT" not in logs, logs
    assert "caps 0000000000000000 0000000000000000" in logs
    assert "nnp 1 seccomp 2" in logs
    assert "suid 0" in logs


@pytest.mark.slow
def test_sandbox_worker_killed_mid_job(sdk: openai.OpenAI, sandboxed: SandboxStack,
                                       tutor: Any) -> None:
    thread, run = start_code_run(sdk, sandboxed.st, tutor.id,
                                 "import time\ntime.sleep(2)\nprint('survived')")
    dead = sandboxed.proc
    assert dead is not None
    os.killpg(dead.pid, signal.SIGKILL)
    dead.wait(timeout=10)
    assert sandboxed.containers(dead.pid), "the killed worker's containers should be left over"
    sandboxed.start_sandbox()  # reaps what the dead worker left, then serves again
    assert sandboxed.containers(dead.pid) == []
    vols = subprocess.run(["docker", "volume", "ls", "-q", "--filter",
                           f"label=orchestrator.sandbox.pid={dead.pid}"],
                          capture_output=True, text=True, check=True).stdout.split()
    assert vols == []
    done = sdk.beta.threads.runs.poll(run.id, thread_id=thread.id, poll_interval_ms=200)
    assert done.status == "completed", (done.last_error, sandboxed.log())
    steps = sdk.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id).data
    code_steps = [s for s in steps if s.type == "tool_calls"]
    assert len(code_steps) == 1 and "survived" in logs_of(code_steps[0])
    msgs = sdk.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data
    assert len(msgs) == 1  # exactly one answer


@pytest.mark.slow
def test_no_sandbox_worker_fails_the_run_clearly(sdk: openai.OpenAI, sandboxed: SandboxStack,
                                                 tutor: Any) -> None:
    stopped = sandboxed.proc
    assert stopped is not None
    sandboxed.stop()
    # A graceful stop removes its sandboxes (only its own: the engine may be shared).
    assert sandboxed.containers(stopped.pid) == []
    try:
        marker = script_code(sandboxed.st, HARMLESS)
        thread = sdk.beta.threads.create()
        sdk.beta.threads.messages.create(thread_id=thread.id, role="user", content=marker)
        run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=tutor.id,
                                                    poll_interval_ms=250)
        assert run.status == "failed"
        assert "sandbox-worker" in run.last_error.message  # type: ignore[union-attr]
        step = sdk.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id).data[0]
        assert step.status == "failed"
        assert len(sandboxed.st.model.requests()) > 0
    finally:
        sandboxed.start_sandbox()
    # The job left in the queue runs on the new worker, but changes nothing any more.
    time.sleep(2)
    again = sdk.beta.threads.runs.retrieve(thread_id=thread.id, run_id=run.id)
    assert again.status == "failed"
    assert sdk.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data == []


@pytest.mark.slow
def test_a_sandbox_backlog_longer_than_the_lease_still_completes(
        sdk: openai.OpenAI, sandboxed: SandboxStack, tutor: Any) -> None:
    # 18 cells of 4 s on a worker running 2 at a time: the last wait about 34 s in the queue,
    # more than two job leases (15 s here); they are re-sent, never failed or run twice.
    runs = []
    for _ in range(18):
        marker = script_code(sandboxed.st, "import time\ntime.sleep(4)\nprint('slept once')")
        thread = sdk.beta.threads.create(messages=[{"role": "user", "content": marker}])
        runs.append(sdk.beta.threads.runs.create(thread_id=thread.id, assistant_id=tutor.id))
    for run in runs:
        done = sdk.beta.threads.runs.poll(run.id, thread_id=run.thread_id, poll_interval_ms=250)
        assert done.status == "completed", (done.last_error, sandboxed.log())
        steps = sdk.beta.threads.runs.steps.list(thread_id=run.thread_id, run_id=run.id).data
        code = [s for s in steps if s.type == "tool_calls"]
        assert len(code) == 1 and logs_of(code[0]).count("slept once") == 1
        assert len(sdk.beta.threads.messages.list(thread_id=run.thread_id,
                                                  run_id=run.id).data) == 1
