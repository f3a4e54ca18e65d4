"""Alembic migrations of the tables in orchestrator.models; imports only the ground."""
