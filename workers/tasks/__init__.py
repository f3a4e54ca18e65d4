"""Thin Celery tasks: ids in, one domain call."""
