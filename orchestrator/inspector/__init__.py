"""The run inspector: server-rendered pages to look inside threads, runs and steps, and
responses and conversations (each rendered by its own face's mappers).

May import the faces (to read and render what they show), streaming, the engine and the
ground; mounted by api/routes/inspector.py.
"""
