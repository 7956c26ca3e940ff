#!/usr/bin/env bash
# Create .venv-serve: the serving side of notebook 04, mirroring the SageMaker Hugging Face DLC
# (transformers 4.x, multi-model-server, sagemaker-inference, the HF inference toolkit). It is kept
# apart from .venv because the toolkit needs transformers<5 and numpy<2.
# Usage: bash serving/make_serve_venv.sh [VENV_DIR]   (default .venv-serve; PYTHON picks the base)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${1:-.venv-serve}"
python="${PYTHON:-python3}"
"$python" -m venv "$venv"
pip=("$venv/bin/pip" install --quiet --disable-pip-version-check)
# torch first, from its exact pin, as the Makefile does for .venv: a looser request lets pip
# pull the multi-GB CUDA build.
"${pip[@]}" "$(grep -E '^torch==' "$here/requirements-serve.txt")"
"${pip[@]}" -r "$here/requirements-serve.txt"
"$venv/bin/python" -c "import mms, sagemaker_inference, sagemaker_huggingface_inference_toolkit, \
transformers, torch; print('serve venv ok: transformers', transformers.__version__, 'torch', \
torch.__version__)"
