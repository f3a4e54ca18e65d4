"""Batches of runs (OpenAI Batch API shape): input validation, admission-controlled feed, output.

Face-neutral: each endpoint's lines are checked, started and rendered by the handler its face
registers (batches.lines, through orchestrator.wiring.install).
May import the engine, retrieval, streaming and the ground; never a face (a face renders the
output lines), the app or workers.
"""
