"""HTTP layer: the FastAPI app that mounts the faces, and the request plumbing they share.

`app` and `routes/` (health, metrics, inspector pages) sit above the faces and may import them.
`deps`, `errors`, `uploads`, `idempotency*` and `surrogate_guard` (auth, tenant, session, pages,
the error envelope) sit below the faces, which use them: they import only the ground.
"""
