"""The face-neutral run engine: run moves, the transition table, the step loop, tools, events.

Owns compare-and-set status moves, the step loop (one recorded step per task), the model client,
the code-interpreter and file-search tools, leases, heartbeats, the sweeper and the domain
events (events.py) every face renders. May import retrieval, streaming and the ground; never a
face, the api, FastAPI/Starlette, webhooks, the inspector, the CLI or workers (import-linter
contracts in pyproject.toml).
"""
