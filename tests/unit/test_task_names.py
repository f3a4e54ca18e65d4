"""Task names are written once, in orchestrator.jobs.Task: no literal copies elsewhere, the
sandbox's own two (it may not import orchestrator) equal to ours, every name registered."""

from __future__ import annotations

import ast

from orchestrator import jobs
from orchestrator.jobs import Task
from tests.support.source import modules

NAMES = {t.value for t in Task}


def test_no_task_name_literal_outside_the_jobs_module() -> None:
    found = [f"{mod.name}:{node.lineno} {node.value!r}" for mod in modules()
             if mod.name != "orchestrator.jobs" for node in ast.walk(mod.tree)
             if isinstance(node, ast.Constant) and node.value in NAMES]
    assert not found, "task names spelled out of orchestrator.jobs.Task: " + ", ".join(found)


def test_the_sandbox_task_names_equal_ours() -> None:
    from sandbox import tasks

    assert tasks.execute.name == Task.SANDBOX_EXECUTE
    assert tasks.reap.name == Task.SANDBOX_REAP
    spelled = {node.value for mod in modules(("sandbox",)) for node in ast.walk(mod.tree)
               if isinstance(node, ast.Constant) and node.value in NAMES}
    assert spelled == {Task.SANDBOX_EXECUTE.value, Task.SANDBOX_REAP.value}


def test_every_task_is_registered_routed_and_queued() -> None:
    from workers.celery_app import app

    app.loader.import_default_modules()
    for task in Task:
        assert task in app.tasks, task
        assert app.tasks[task].queue == jobs.QUEUES[task], task
        assert app.conf.task_routes[task] == {"queue": jobs.QUEUES[task]}
