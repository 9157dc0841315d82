# kamsim — the two commands of the README live here:
#   make run    set up .venv and run the main job (shipped experiments + reports)
#   make test   set up .venv (with dev tools and Chromium) and run the whole test suite
# Each target creates or reuses the virtual environment by itself.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
OUT    ?= results

.PHONY: run test lint format benchmark notebooks clean help

help:
	@echo "make run        run the shipped experiments and write their reports to $(OUT)/"
	@echo "make test       run the whole test suite (installs what it needs)"
	@echo "make lint       ruff + mypy"
	@echo "make benchmark  batched engine vs Mesa face, printed as ratios"

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "kamsim needs Python >= 3.12; set PYTHON=python3.12")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

run: $(VENV)/.installed
	$(VENV)/bin/kamsim run experiments/portfolio_size.toml experiments/investment_policies.toml experiments/dependency_risk.toml experiments/policy_tournament.toml --out $(OUT)
	$(VENV)/bin/kamsim report $(OUT)

test: $(VENV)/.dev-installed
	bash scripts/ensure_chromium.sh
	$(PY) -m pytest -n 2 --dist loadfile

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check kamsim tests benchmarks
	$(VENV)/bin/ruff format --check kamsim tests benchmarks
	$(VENV)/bin/mypy

format: $(VENV)/.dev-installed
	$(VENV)/bin/ruff format kamsim tests benchmarks
	$(VENV)/bin/ruff check --fix kamsim tests benchmarks

benchmark: $(VENV)/.installed
	$(PY) benchmarks/bench_engine.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .mypy_cache .ruff_cache
