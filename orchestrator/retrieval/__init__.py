"""Retrieval: parsing, chunking, indexing and search of files, and the file_search run tool."""
