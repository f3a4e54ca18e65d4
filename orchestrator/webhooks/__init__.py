"""Webhooks: endpoints, the event names they may subscribe to (each face registers its own),
the outbox hook on run transitions, signed delivery, the SSRF guard.

A listener of the engine's events: may import the engine, streaming and the ground; never a face
(a face renders the payloads), the app or workers.
"""
