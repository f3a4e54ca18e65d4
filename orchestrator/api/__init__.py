"""HTTP layer: the FastAPI app, dependencies and one router per resource."""
