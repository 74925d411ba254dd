"""The training engine: one loop, a trainer with callbacks, and the data pipeline."""
