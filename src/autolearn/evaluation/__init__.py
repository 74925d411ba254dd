"""Metrics and evaluation reports for each scenario."""
