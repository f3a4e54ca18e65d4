"""Webhooks: endpoints, the outbox hook on run transitions, signed delivery, the SSRF guard."""
