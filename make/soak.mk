# Worlds at random, many of them (issue 10, item 5). Included by the main Makefile.
#
#   make soak                       run SOAK_EXAMPLES random worlds (default 300) through the real ASL on
#                                   the emulator, from a fresh seed each time; a failure is shrunk to a
#                                   minimal world and printed as a scenario (tests/worlds/)
#   make soak SOAK_EXAMPLES=2000    more
#
# `make test` runs the same test on a fixed, derandomized handful of worlds. Installs nothing beyond
# the project's venv. A failure prints `@reproduce_failure(...)` and the seed to replay it.

SOAK_EXAMPLES ?= 300

.PHONY: soak

soak: $(INSTALLED)
	MLPROMOTE_WORLDS_SOAK=1 MLPROMOTE_WORLDS_EXAMPLES=$(SOAK_EXAMPLES) \
		$(BIN)/pytest -n 0 -p no:cacheprovider tests/worlds/test_random_worlds.py \
		-k test_random_worlds_keep_every_invariant --hypothesis-show-statistics
