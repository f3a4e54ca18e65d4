"""The app's own routes (health, metrics, inspector pages); the faces own their API routes.

May import the faces, the inspector, metrics, the api's request plumbing and the ground.
"""
