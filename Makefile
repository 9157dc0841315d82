# kamsim — the two commands of the README live here:
#   make run    set up .venv and run the main job (shipped experiments, sensitivity
#               study, policy search, validation and their reports)
#   make test   set up .venv (with dev tools and Chromium) and run the whole test suite
# Each target creates or reuses the virtual environment by itself.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
OUT    ?= results

.PHONY: run test lint format benchmark notebooks lab sensitivity validate optimize clean help

help:
	@echo "make run        run the shipped experiments, the sensitivity study and the"
	@echo "                validation, and write their reports to $(OUT)/ (lists the reports last)"
	@echo "make test       run the whole test suite (installs what it needs)"
	@echo "make lint       ruff + mypy"
	@echo "make benchmark  batched engine vs Mesa face, printed as ratios"
	@echo "make lab        JupyterLab on the notebooks (installs kamsim[notebook])"
	@echo "make notebooks  regenerate the .ipynb files from their percent scripts"
	@echo "make sensitivity  the shipped global sensitivity study and its report"
	@echo "make validate   the stylized-facts check"
	@echo "make optimize   the shipped policy search (experiments/optimize.toml) and its report"

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "kamsim needs Python >= 3.12; set PYTHON=python3.12")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	$(PY) -c 'from kamsim.engine import warm_up; print(f"kamsim: compiled kernel ready in {warm_up():.1f} s")'
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

run: $(VENV)/.installed
	$(VENV)/bin/kamsim run experiments/portfolio_size.toml experiments/investment_policies.toml experiments/dependency_risk.toml experiments/policy_tournament.toml --out $(OUT)
	$(VENV)/bin/kamsim report $(OUT)
	$(VENV)/bin/kamsim sensitivity experiments/sensitivity.toml --out $(OUT)
	$(VENV)/bin/kamsim optimize experiments/optimize.toml --out $(OUT) --quiet
	$(VENV)/bin/kamsim validate --out $(OUT)/validation
	$(VENV)/bin/kamsim plan examples/portfolio.csv --budget 600 --out $(OUT)/plan --quiet
	@echo ""
	@echo "Reports (open them in a browser):"
	@ls -1 $(OUT)/*/report/report.html $(OUT)/plan/report.html $(OUT)/validation/validation.html

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

$(VENV)/.notebook-installed: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet -e '.[notebook]'
	touch $@

lab: $(VENV)/.notebook-installed
	$(VENV)/bin/jupyter lab notebooks/

notebooks: $(VENV)/.dev-installed
	$(VENV)/bin/jupytext --sync notebooks/*.py

sensitivity: $(VENV)/.installed
	$(VENV)/bin/kamsim sensitivity experiments/sensitivity.toml --out $(OUT)

validate: $(VENV)/.installed
	$(VENV)/bin/kamsim validate --out $(OUT)/validation

optimize: $(VENV)/.installed
	$(VENV)/bin/kamsim optimize experiments/optimize.toml --out $(OUT)

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .mypy_cache .ruff_cache
