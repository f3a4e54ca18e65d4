"""Self-hosted OpenAI Assistants API: the service, the run engine and its API faces.

Owns the ground (config, db, jobs, ids, errors, storage/, models/), the engine, the faces, the
engines of their own (retrieval, webhooks, batches, inspector), the app and the CLI. Never
imports `workers` or `sandbox`, except the CLI entry module, which sits above both. The layers
are the import-linter contracts in pyproject.toml.
"""
