"""Evaluation: metrics as pure functions (metrics.py); tasks and the harness build on them."""
