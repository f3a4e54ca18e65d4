"""Domain services: load, check, change, record; raise domain errors, never HTTP ones."""
