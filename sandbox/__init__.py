"""The code-interpreter executor: Docker containers running a Jupyter kernel, one per session.

Imports nothing of ours but its own modules (protocol.py is its interface; its Celery task is
configured with callables by workers/sandbox_worker.py): never orchestrator or workers.
"""
