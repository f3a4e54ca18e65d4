"""Record -> wire converters of the Assistants face: a table row in, a wire schema out.

May import this face's schemas and services, the engine, retrieval and the ground.
"""
