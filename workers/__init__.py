"""Celery workers: run steps and sweeping; they import orchestrator, never the reverse."""
