# mlpromote. On a fresh machine, `make demo` and `make test` install everything they need.

# The Lambdas run python3.13 (template.yaml's Runtime), and so do the venv, the tests, mypy and ruff
# (pyproject.toml). tools/find_python.sh finds it: python3.13 on PATH, else pyenv's 3.13.x.
LAMBDA_PYTHON := 3.13
PYTHON ?= $(shell tools/find_python.sh $(LAMBDA_PYTHON) 2>/dev/null)
VENV   := .venv
BIN    := $(VENV)/bin
# The stamp names the version, so a venv made on another Python is made again.
INSTALLED := $(VENV)/.installed-python$(LAMBDA_PYTHON)

comma := ,

.PHONY: demo test install lint typecheck pytest check-no-emulator-imports clean

demo: $(INSTALLED)
	$(BIN)/mlpromote demo

# Every test and check. CI runs exactly this.
test: lint typecheck templates examples-lint security pytest faults concurrency

install: $(INSTALLED)

$(INSTALLED): pyproject.toml
	@if [ -z "$(PYTHON)" ]; then tools/find_python.sh $(LAMBDA_PYTHON) >/dev/null; exit 1; fi
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != ($(subst .,$(comma),$(LAMBDA_PYTHON))))' || \
		{ echo "$(PYTHON) is not Python $(LAMBDA_PYTHON), the Lambdas' Python: unset PYTHON or point it at python$(LAMBDA_PYTHON)" >&2; exit 1; }
	@if [ -x $(BIN)/python ] && ! $(BIN)/python -c 'import sys; sys.exit(sys.version_info[:2] != ($(subst .,$(comma),$(LAMBDA_PYTHON))))'; then \
		echo "$(VENV) runs another Python: making it again on $(LAMBDA_PYTHON)"; rm -rf $(VENV); fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

lint: $(INSTALLED)
	$(BIN)/ruff check layers functions src tests tools bench
	$(BIN)/ruff format --check layers functions src tests tools bench

typecheck: $(INSTALLED)
	$(BIN)/mypy

pytest: $(INSTALLED)
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .tools .aws-sam

include make/sam.mk

# Benchmarks report; they never gate. See docs/benchmarks.md.
.PHONY: bench
bench: $(INSTALLED)
	$(BIN)/python bench/run.py

# 1,000 accounts promoted, rolled back and compensated within half of Step Functions' quotas
# (README "Scale"); minutes of emulator, so not part of `make test`, which runs it at 60 accounts.
.PHONY: scale
scale: $(INSTALLED)
	MLPROMOTE_SCALE_ACCOUNTS=1000 $(BIN)/pytest -n 0 -s tests/workflow/test_thousand_accounts.py

include make/faults.mk
include make/concurrency.mk
include make/security.mk
include make/authorization.mk

include make/soak.mk
include make/examples.mk
