# The two quick-start commands (see README.md).  Both set up .venv/ first (idempotent).
.PHONY: setup demo test test-all bench

setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/gifqa ask examples/shapes_blue_circle_blink.gif "what shape is blue ?" --model checkpoints/gifqa-shapes

test: setup
	.venv/bin/python -m pytest -q

# Everything, the slow tests too.
test-all: setup
	.venv/bin/python -m pytest -q -m "not gpu and not network"
