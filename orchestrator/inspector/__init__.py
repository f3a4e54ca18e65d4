"""The run inspector: server-rendered pages to look inside threads, runs and steps.

May import the faces' services (to read what they show), streaming, the engine and the ground;
mounted by api/routes/inspector.py.
"""
