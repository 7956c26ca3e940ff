# rerank-lab: `make run` executes the course, `make test` checks it. `make help` lists targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The serving side (notebook 04) mirrors the SageMaker Hugging Face image: transformers 4.x.
SERVE_STAMP := .venv-serve/.installed

# Committed and checked outputs must not contain progress bars; learners keep theirs. The one
# place that sets it, with conftest.py for a bare `pytest`.
test test-perturbed notebooks rehearse: export HF_HUB_DISABLE_PROGRESS_BARS := 1

# ranx compiles its numba functions on first use (about 45 s on 2 cores) into .venv, which a
# clean clone builds anew: they are kept with the model cache instead, keyed by .venv's path.
export NUMBA_CACHE_DIR ?= $(HOME)/.cache/rerank-lab/numba
# The corpus mirror that tests and CI use, when this checkout sits beside ../shared.
MIRROR := $(wildcard $(abspath ..)/shared/data)
ifneq ($(MIRROR),)
export RERANK_DATA_MIRROR ?= $(MIRROR)
endif

.PHONY: help venv venvs serve-venv check data models run serve bench test test-perturbed rehearse lint format lab notebooks clean

help: ## Show this list
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "} {printf "  make %-15s %s\n", $$1, $$2}'

# uv installs the pinned set from its cache in seconds where pip unpacks every wheel again
# (.venv: 36 s against pip's 175 s, warm caches), from the sources pip is configured with.
# Byte-compiled, as pip does: Python 3.12+ would otherwise print third-party SyntaxWarnings
# into a learner's first notebook run, and where PYTHONDONTWRITEBYTECODE is set (this machine, many
# CI images) every process would compile each module it imports again: make test took 1,432 s
# against 1,148 (2f4b495, reverted). $(1): the environment; $(2): --torch for the torch step
# (PyTorch's CPU index, where it can be reached: PyPI's Linux torch is the 3 GB CUDA build).
UV_PIN := uv==0.13.9
uv_install = $(1)/bin/uv pip install --quiet --python $(1)/bin/python --compile-bytecode \
	$$($(1)/bin/python tools/pip_sources.py $(2))

# The oldest Python the pins install on (pyproject's requires-python; tests/test_project.py).
PYTHON_MIN := 3.11

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -c 'import sys; sys.exit(sys.version_info < tuple(map(int, "$(PYTHON_MIN)".split("."))))' || { \
		echo "rerank-lab needs Python $(PYTHON_MIN) or newer (the pinned numpy, transformers and langchain require it);" >&2; \
		echo "$(PYTHON) is $$($(PYTHON) -V 2>&1). Install Python $(PYTHON_MIN) and run: make PYTHON=python$(PYTHON_MIN) $(or $(GOALS),$(MAKECMDGOALS))" >&2; \
		exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet $(UV_PIN)
	# torch first, the CPU build of its exact pin: torch pulled in by another package would be
	# PyPI's, the CUDA build on Linux.
	$(call uv_install,$(VENV),--torch) "$$(grep -E '^torch==' requirements.txt)"
	$(call uv_install,$(VENV)) -r requirements.txt
	$(call uv_install,$(VENV)) --no-deps -e .
	touch $@

venv: $(STAMP) ## Create .venv and install the pinned dependencies

# Each build has single-core steps (the venv, pip installing uv, resolving): two fit two cores.
# GOALS: what the user asked make for, for the Python-version message.
venvs: ## Create .venv and .venv-serve side by side (what make test does first)
	@$(MAKE) --no-print-directory -j2 --output-sync=target GOALS="$(MAKECMDGOALS)" $(STAMP) $(SERVE_STAMP)

$(SERVE_STAMP): serving/requirements-serve.txt serving/make_serve_venv.sh
	PYTHON=$(PYTHON) bash serving/make_serve_venv.sh .venv-serve
	touch $@

serve-venv: $(SERVE_STAMP) ## Create .venv-serve, the local SageMaker serving stack (MMS)

check: $(STAMP) ## Print an environment table (packages, models, threads, GPU, Java, AWS)
	$(BIN)/python -m helpers.envcheck

data: $(STAMP) ## Fetch and verify the corpus (uses RERANK_DATA_MIRROR if set)
	$(BIN)/python -c "from helpers.data import corpus_path; print(corpus_path())"

models: data ## Prepare the active profile's models (builds the offline reranker if needed)
	$(BIN)/python -m tools.prepare_models

run: models $(SERVE_STAMP) ## Execute every notebook headless into build/, one row per notebook
	$(BIN)/python -m tools.notebooks --out build

# Two passes (tests/test_project.py checks them). First what times the CPU, alone on it:
# tests/test_bench.py runs the quick bench into build/bench-quick, then notebook 05 reads it
# (python -m tools.bench --reuse 12; without it, the notebook measures again: minutes). Then every
# other test and notebook, TEST_WORKERS pytest-xdist workers side by side (a notebook's cells stay
# in one worker), one torch thread each. One process alone leaves the 2 cores idle about a third of
# the time (model servers starting, timeouts running out); two processes of two threads on two
# cores are slower than one (their OpenMP threads spin). Both passes print their slowest items.
TEST_WORKERS ?= 2
# RERANK_THREADS for the course's set_cpu_threads; OMP_NUM_THREADS for the rest (model servers);
# OMP_WAIT_POLICY=PASSIVE for a cell that asks for two threads anyway (notebook 02's threads table):
# a thread waiting for the core the other process holds sleeps instead of spinning on it (a batch-1
# predict with a process beside it: 2.9 s spinning, 1.1 s asleep).
ONE_THREAD := RERANK_THREADS=1 OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
TIMED := tests/test_bench.py notebooks/05_make_it_fast.ipynb
test: venvs lint ## Lint, then run unit tests and nbval over notebooks/ (offline profile)
	RERANK_PROFILE=offline $(MAKE) --no-print-directory models
	start=$$SECONDS; RERANK_PROFILE=offline $(BIN)/pytest --durations=10 $(TIMED); timed=$$?; \
	echo "make test: the quick bench and notebook 05, alone: $$((SECONDS - start)) s"; \
	start=$$SECONDS; RERANK_PROFILE=offline $(ONE_THREAD) \
		$(BIN)/pytest -n $(TEST_WORKERS) --dist loadscope --durations=15 \
		$(addprefix --ignore ,$(TIMED)) tests notebooks; rest=$$?; \
	echo "make test: the other tests and notebooks, $(TEST_WORKERS) at a time: $$((SECONDS - start)) s"; \
	exit $$((timed || rest))

# The same recipe trained so that only the last bits of the weights move, as on another CPU
# (README, Contributing: the nbval rule); its own cache, so the normal build stays untouched.
PERTURBED := RERANK_PROFILE=offline RERANK_CACHE_DIR=$(HOME)/.cache/rerank-lab-perturbed \
	RERANK_TRAIN_PERTURBATION=threads1
test-perturbed: venvs lint ## nbval over notebooks/ against an offline reranker trained with a last-bits perturbation
	$(PERTURBED) $(MAKE) --no-print-directory models
	$(PERTURBED) $(BIN)/pytest notebooks

# The default profile's models as a stand-in Hub cache (real layout, files and configs, random
# weights): every notebook and the serving path run as `make run` would run them, with no Hub.
# No timing here is a result (random weights): the serving tests and TEST_WORKERS notebooks run
# side by side, one torch thread each, as make test's second pass does.
REHEARSAL := $(abspath build/rehearse)
rehearse: data $(SERVE_STAMP) ## Run every notebook in the default profile on a stand-in Hub cache (offline)
	rm -rf $(REHEARSAL) && mkdir -p $(REHEARSAL)
	start=$$SECONDS; \
	$(ONE_THREAD) $(BIN)/pytest -p no:cacheprovider -m rehearsal \
		tests/test_rehearsal.py > $(REHEARSAL)/serving.log 2>&1 & serving_pid=$$!; \
	$(BIN)/python -m tools.hub_rehearsal $(REHEARSAL)/hub && \
	env -u RERANK_EMBEDDING_MODEL -u RERANK_RERANKER_MODEL RERANK_PROFILE=default \
		HF_HUB_OFFLINE=1 HF_HUB_CACHE=$(REHEARSAL)/hub RERANK_CACHE_DIR=$(REHEARSAL)/cache \
		$(ONE_THREAD) $(BIN)/python -m tools.notebooks --jobs $(TEST_WORKERS) --out $(REHEARSAL)/notebooks; \
	notebooks=$$?; \
	wait $$serving_pid; serving=$$?; cat $(REHEARSAL)/serving.log; \
	echo "make rehearse: $$((SECONDS - start)) s (outputs discarded: random weights, not results)"; \
	exit $$((notebooks || serving))

lint: $(STAMP) ## Ruff over the .py files and the notebooks
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

notebooks: models $(SERVE_STAMP) ## Re-execute notebooks in place (offline profile) to refresh committed outputs
	RERANK_PROFILE=offline $(BIN)/python -m tools.notebooks --in-place

serve: models $(SERVE_STAMP) ## Package MODEL=dir (default: the active reranker) and serve it on :8080
	$(BIN)/python -m tools.aws serve $(MODEL)

bench: models $(SERVE_STAMP) ## Benchmark every CPU backend, LangChain, latency, HTTP, threads; build/bench/ (fails if a part breaks)
	$(BIN)/python -m tools.bench --out build/bench

# Kernels over Unix sockets in Jupyter's private runtime folder, as `make run` does: over TCP,
# any local user can read the code and outputs (ipykernel 7 warns "susceptible to eavesdropping").
lab: models ## Open JupyterLab on the notebooks
	$(BIN)/jupyter lab --KernelManager.transport=ipc notebooks/

clean: ## Remove build outputs (keeps .venv and the model cache)
	rm -rf build .pytest_cache .ruff_cache
