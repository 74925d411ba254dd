"""The HTTP face of the platform (FastAPI): the same services the CLI calls, over REST."""
