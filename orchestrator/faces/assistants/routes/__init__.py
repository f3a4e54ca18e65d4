"""The Assistants API's HTTP routes; ROUTERS is the order the app mounts them in.

May import this face's services, schemas and mappers, the api's request plumbing (deps,
uploads), batches, webhooks, streaming and the ground.
"""

from __future__ import annotations

from orchestrator.faces.assistants.routes import (
    assistants,
    batches,
    files,
    messages,
    runs,
    steps,
    threads,
    vector_stores,
    webhook_endpoints,
)

# runs first: POST /threads/runs must not be taken for POST /threads/{thread_id}.
ROUTERS = [runs.router, steps.router, assistants.router, threads.router, messages.router,
           files.router, vector_stores.router, webhook_endpoints.router, batches.router]
