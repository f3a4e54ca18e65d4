"""Retrieval: parsing, chunking, indexing and search of files, and vector-store records.

A tool of the engine (orchestrator.engine.file_search calls it): may import only the ground;
never the engine, a face or the api.
"""
