"""Runs queued tasks: claims rows from the tasks table and starts workers for them."""
