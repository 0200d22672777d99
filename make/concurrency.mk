# Concurrency campaign (issue 15). Included by the main Makefile (`include make/concurrency.mk`).
#
#   make concurrency   run each scenario family (two or three promotions at once: a swap, a shared
#                      new version with a failure in one, one environment with its lock throttled,
#                      a rollback beside a promotion, three environments) under CONCURRENCY_SEEDS
#                      seeds of the emulator's scheduler, each a different interleaving; every
#                      invariant must hold after every run (tests/concurrency/interleavings.py).
#                      Two worker processes.
#
#   make concurrency CONCURRENCY_SEEDS=50   more interleavings (5 per family by default)
#
# Installs nothing beyond the project's venv.

CONCURRENCY_SEEDS ?= 5
CONCURRENCY_WORKERS ?= 2

.PHONY: concurrency

concurrency: $(INSTALLED)
	$(BIN)/python -m tests.concurrency.interleavings --seeds $(CONCURRENCY_SEEDS) --workers $(CONCURRENCY_WORKERS)
