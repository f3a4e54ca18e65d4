"""The run inspector: server-rendered pages to look inside threads, runs and steps."""
