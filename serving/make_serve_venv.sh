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
# uv, as the Makefile uses for .venv (its pin, from the sources pip is configured with).
"$venv/bin/pip" install --quiet --disable-pip-version-check "$(sed -n 's/^UV_PIN := //p' "$here/../Makefile")"
uv=("$venv/bin/uv" pip install --quiet --python "$venv/bin/python" --compile-bytecode)
sources="$here/../tools/pip_sources.py"
# torch first, the CPU build of its exact pin (PyTorch's CPU index where it can be reached), as
# the Makefile does for .venv: torch pulled in by another package would be PyPI's CUDA build.
# shellcheck disable=SC2046  # the sources are separate options
"${uv[@]}" $("$venv/bin/python" "$sources" --torch) "$(grep -E '^torch==' "$here/requirements-serve.txt")"
# shellcheck disable=SC2046
"${uv[@]}" $("$venv/bin/python" "$sources") -r "$here/requirements-serve.txt"
"$venv/bin/python" -c "import mms, sagemaker_inference, sagemaker_huggingface_inference_toolkit, \
transformers, torch; print('serve venv ok: transformers', transformers.__version__, 'torch', \
torch.__version__)"
