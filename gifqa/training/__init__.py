"""Multi-task training under HF Accelerate: config (config.py), data mixture (data.py), the loop (loop.py)."""
