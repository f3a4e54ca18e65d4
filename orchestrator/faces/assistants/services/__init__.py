"""The Assistants face's resource services: take its request schemas, change records.

May import this face's schemas and mappers, the engine, retrieval, streaming, webhooks and the
ground; raise domain errors (orchestrator.errors), never HTTPException.
"""
