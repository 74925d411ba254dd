"""Training tasks: the form (TaskSpec), statuses and the task service."""
