"""Retrieval: parsing, chunking, indexing and search of files, and vector-store records."""
