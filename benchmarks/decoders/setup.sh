#!/usr/bin/env bash
# Install the decoders the benchmark compares but gifqa does not use. decord and decord2 both
# install a module named `decord`, so each goes into its own folder under .bench/.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/setup.sh
py=.venv/bin/python
$py -m pip install -q --disable-pip-version-check opencv-python-headless
[ -d .bench/decord ] || $py -m pip install -q --disable-pip-version-check --no-deps --target .bench/decord decord==0.6.0
[ -d .bench/decord2 ] || $py -m pip install -q --disable-pip-version-check --no-deps --target .bench/decord2 decord2==3.4.0
