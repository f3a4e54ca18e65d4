"""The Assistants face (v1 and v2): routes, wire schemas, record -> wire mappers, rendering.

Owns every wire shape of the Assistants API generation: its routers (`ROUTERS`, mounted under
/v1 by the app), request/response schemas, mappers, the resource services that take its
request schemas, and the renderers that turn the engine's domain events into
`thread.run.*` stream events, webhook payloads and batch output lines. Imports the engine and
the ground; never another face.
"""
