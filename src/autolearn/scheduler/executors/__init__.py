"""Executors start the one worker entrypoint somewhere (local subprocess; Ray later)."""
