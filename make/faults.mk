# Fault-injection campaign (issue 4, item 6). Included by the main Makefile (`include make/faults.mk`).
#
#   make faults   run a reference promotion on the emulator, then rerun it once per control-plane call
#                 with a non-retryable and with a transient fault injected into that call; every
#                 invariant must hold after every run (tests/faults/campaign.py). Two worker processes.
#
# Installs nothing beyond the project's venv.

FAULTS_WORKERS ?= 2

.PHONY: faults

faults: $(INSTALLED)
	$(BIN)/python -m tests.faults.campaign --workers $(FAULTS_WORKERS)
