"""Batches of runs (OpenAI Batch API shape): input validation, admission-controlled feed, output."""
