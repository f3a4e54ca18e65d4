"""API faces: one package per wire API generation (assistants; responses next) on one engine.

A face owns its routes, wire schemas, record -> wire mappers and renderers of domain events. It
may import the engine, batches, webhooks, retrieval, streaming, the api's request plumbing and
the ground; never another face (import-linter: every `orchestrator.faces.*` is independent).
"""
