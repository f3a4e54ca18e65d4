"""The Responses and Conversations API face: a response is a run, a conversation a thread.

It validates the `/v1/responses`, `/v1/conversations` and `/v1/containers` wire shapes, asks the
engine for runs (`RunRecord.face == "responses"`), renders the engine's events as `response.*`
stream events, shows threads and their messages as conversations and items, and keeps
containers (a code-interpreter session with its files). Imports the engine and the shared
components, never another face.
"""
