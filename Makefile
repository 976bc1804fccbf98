# discmot developer entry points. `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.discmot-installed

.PHONY: install test test-slow test-oldest bench lint demo clean

install: $(STAMP)

# torch first: `torch==2.13.0` resolves to the local CPU wheel; a bare `torch` would pull CUDA builds.
# Where no local wheel exists, PyPI's Linux torch carries CUDA (GBs): TORCH_INDEX picks PyTorch's own
# index instead, e.g. `make demo TORCH_INDEX=https://download.pytorch.org/whl/cpu` for the CPU build.
# trackeval is only the reference for tests and benchmarks, installed without its heavy dependencies.
TORCH_INDEX ?=
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) -m pip install -q --no-deps trackeval==1.3.0
	touch $(STAMP)

test: install
	$(PY) -m pytest -q -m "not slow" -p no:cacheprovider

test-slow: install
	$(PY) -m pytest -q -m slow -p no:cacheprovider

# The suite on the oldest versions pyproject.toml allows (tests/oldest-versions.txt), in its own
# environment. torch stays 2.13.0 (the local CPU wheel) unless OLDEST_TORCH names another:
# `make test-oldest OLDEST_TORCH=2.3.1` (the floor) takes PyPI's build, whose CUDA packages and triton
# 2.3 come along (about 3 GB; the tests run on the CPU). Not part of CI: old wheels exist for few Pythons.
OLDEST := .venv-oldest
OLDEST_TORCH ?= 2.13.0
test-oldest:
	test -x $(OLDEST)/bin/python || $(PYTHON) -m venv $(OLDEST)
	$(OLDEST)/bin/python -m pip install -q --upgrade pip
	$(OLDEST)/bin/python -m pip install -q torch==$(OLDEST_TORCH) $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(OLDEST)/bin/python -m pip install -q -r tests/oldest-versions.txt
	$(OLDEST)/bin/python -m pip install -q --no-deps trackeval==1.3.0
	$(OLDEST)/bin/python -m pip install -q --no-deps --no-build-isolation -e .
	$(OLDEST)/bin/python -m pytest -q -m "not slow" -p no:cacheprovider

# make bench ONLY="demo track" runs only those sections (names: the benchmarks/bench_<name>.py files).
bench: install
	$(PY) benchmarks/run_all.py $(if $(ONLY),--only $(ONLY))

lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy

demo: install
	$(VENV)/bin/discmot demo

clean:
	rm -rf $(VENV) $(OLDEST) build dist src/*.egg-info .pytest_cache
