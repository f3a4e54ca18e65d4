"""The Responses and Conversations API face: a response is a run, a conversation a thread.

It validates the `/v1/responses` and `/v1/conversations` wire shapes, asks the engine for runs
(`RunRecord.face == "responses"`), renders the engine's events as `response.*` stream events,
and shows threads and their messages as conversations and items. Imports the engine and the
shared components, never another face.
"""
