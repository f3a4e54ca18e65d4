"""The Assistants face's wire schemas (pydantic): requests, responses and list pages.

Imports only pydantic and its sibling schemas: no table model, no service.
"""
