"""Thin Celery tasks: ids in, one domain call (the run engine, retrieval, webhooks, batches).

May import workers.celery_app, orchestrator and sandbox.
"""
