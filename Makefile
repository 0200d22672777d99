# mlpromote. On a fresh machine, `make demo` and `make test` install everything they need.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: demo test install lint typecheck pytest check-no-emulator-imports clean

demo: $(INSTALLED)
	$(BIN)/mlpromote demo

# Every test and check. CI runs exactly this.
test: lint typecheck templates examples-lint security pytest faults concurrency

install: $(INSTALLED)

$(INSTALLED): pyproject.toml
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

include make/faults.mk
include make/concurrency.mk
include make/security.mk
include make/authorization.mk

include make/soak.mk
include make/examples.mk
