"""The code-interpreter sandbox executor (not built yet; such runs fail with a clear error)."""
