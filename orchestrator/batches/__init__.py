"""Batches of runs (OpenAI Batch API shape): input validation, admission-controlled feed, output.

May import the engine, retrieval, streaming and the ground; never a face (a face renders the
output lines), the app or workers.
"""
