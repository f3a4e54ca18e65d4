"""Run events: the transactional outbox the engine writes to, and the Redis relay to streams.

Below the engine (it records the engine's events): may import only the ground.
"""
