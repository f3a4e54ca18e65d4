"""Wire types: request bodies and response objects, mirroring openai-python's types."""
