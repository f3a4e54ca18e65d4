"""Self-hosted OpenAI Assistants API: intake service and domain."""
