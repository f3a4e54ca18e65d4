"""The run lifecycle: statuses, the pure transition table, and the run service."""
