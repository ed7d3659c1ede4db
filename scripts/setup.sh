#!/usr/bin/env bash
# Create .venv/ in the repository root and install gifqa into it (editable) with the
# extras this machine needs.  Safe to run again: it does nothing when the installed set is
# current (a stamp file holds the hash of pyproject.toml and this script).
#
#   bash scripts/setup.sh            # auto: CUDA if `nvidia-smi -L` finds a GPU, else CPU
#   GIFQA_DEVICE=cpu bash scripts/setup.sh
#   GIFQA_DEVICE=cuda bash scripts/setup.sh
#
# CPU machines get torch==2.13.0, the CPU build: a looser pin would pull several GB of
# CUDA wheels.  GPU machines get the default (CUDA) torch wheel from PyPI and faiss-gpu.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
TORCH_CPU_PIN=${GIFQA_TORCH_CPU:-torch==2.13.0}
device=${GIFQA_DEVICE:-auto}
if [ "$device" = auto ]; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then device=cuda; else device=cpu; fi
fi
case "$device" in
  cpu) torch_spec=$TORCH_CPU_PIN; extras="model,cpu,qagen,dev" ;;
  cuda) torch_spec=${GIFQA_TORCH_CUDA:-torch}; extras="model,gpu,qagen,dev" ;;
  *) echo "setup: GIFQA_DEVICE must be auto, cpu or cuda (got '$device')" >&2; exit 2 ;;
esac

stamp_hash=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
stamp=.venv/.gifqa-setup-$device-$stamp_hash
if [ -f "$stamp" ]; then
  exit 0
fi

echo "setup: installing gifqa into .venv ($device, torch: $torch_spec)" >&2
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
pip=(.venv/bin/python -m pip install -qq --disable-pip-version-check)
"${pip[@]}" --upgrade pip
# torch first, so that the extras' `torch>=...` requirement is already satisfied.
"${pip[@]}" "$torch_spec"
"${pip[@]}" -e ".[$extras]"
rm -f .venv/.gifqa-setup-*
touch "$stamp"
echo "setup: done; the CLI is .venv/bin/gifqa" >&2
