"""Celery workers: the app, thin tasks (ids in, one engine call), the sandbox worker.

Imports orchestrator and sandbox; orchestrator never imports workers, except its CLI entry
module (orchestrator/cli.py), which starts them and sits above both.
"""
