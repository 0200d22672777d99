# SAM / CloudFormation targets. Included by the main Makefile (`include make/sam.mk`).
#
# The tools live in their own venv (.tools/sam): aws-sam-cli pins its own boto3, which must not
# meet the project's pins in .venv. The venv is created on first use.
#
#   make sam-validate   sam validate --lint (offline, no credentials)
#   make sam-build      sam build into .aws-sam/ (the Makefile's python3.13 on PATH)
#   make cfn-lint       cfn-lint on every template, plus the ASL inlined into a temporary template
#   make templates      all three

SAM_TOOLS_DIR      ?= .tools/sam
SAM_TOOLS_PYTHON   ?= python3
SAM_CLI_VERSION    ?= 1.170.0
CFN_LINT_VERSION   ?= 1.58.0
SAM_REGION         ?= us-east-1

SAM      := $(SAM_TOOLS_DIR)/bin/sam
CFN_LINT := $(SAM_TOOLS_DIR)/bin/cfn-lint
SAM_TOOLS_STAMP := $(SAM_TOOLS_DIR)/.installed-sam-$(SAM_CLI_VERSION)-cfnlint-$(CFN_LINT_VERSION)

# Dummy credentials: validate and lint never call AWS, but botocore wants something to sign with.
SAM_OFFLINE_ENV := AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x AWS_DEFAULT_REGION=$(SAM_REGION) \
	SAM_CLI_TELEMETRY=0 SAM_CLI_CONTEXT=0

SAM_TEMPLATE    := template.yaml
CFN_TEMPLATES   := $(SAM_TEMPLATE) $(wildcard templates/*.yaml)
ASL_DEFINITION  := statemachines/promote_model.asl.json
ASL_TEMPLATE    := .aws-sam/lint/promote_model.asl.template.json

.PHONY: templates sam-validate sam-build cfn-lint sam-tools

templates: sam-validate cfn-lint sam-build

sam-tools: $(SAM_TOOLS_STAMP)

$(SAM_TOOLS_STAMP):
	rm -rf $(SAM_TOOLS_DIR)
	$(SAM_TOOLS_PYTHON) -m venv $(SAM_TOOLS_DIR)
	$(SAM_TOOLS_DIR)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_TOOLS_DIR)/bin/python -m pip install --quiet "aws-sam-cli==$(SAM_CLI_VERSION)" "cfn-lint==$(CFN_LINT_VERSION)"
	touch $@

sam-validate: $(SAM_TOOLS_STAMP)
	$(SAM_OFFLINE_ENV) $(SAM) validate --lint --region $(SAM_REGION) --template-file $(SAM_TEMPLATE)
	@# SAM's own transform: a deploy that changes only the shared layer publishes new function versions.
	$(SAM_OFFLINE_ENV) $(SAM_TOOLS_DIR)/bin/python tools/layer_publishes_versions.py $(SAM_TEMPLATE)

# The functions and the layer are python3.13; sam build needs that interpreter on PATH. The Makefile
# found it for the venv (tools/find_python.sh): its folder goes first on PATH.
sam-build: $(SAM_TOOLS_STAMP)
	@python="$(PYTHON)"; \
	if [ -z "$$python" ]; then tools/find_python.sh $(LAMBDA_PYTHON) >/dev/null; exit 1; fi; \
	set -x; \
	PATH="$$(dirname "$$(command -v "$$python")"):$$PATH" $(SAM_OFFLINE_ENV) $(SAM) build --template-file $(SAM_TEMPLATE) --build-dir .aws-sam/build
	test -d .aws-sam/build/SharedLayer/python/mlpromote
	@# The layer carries the AWS SDK whole (layers/requirements.txt): boto3 beside its botocore.
	test -d .aws-sam/build/SharedLayer/python/boto3 && test -d .aws-sam/build/SharedLayer/python/botocore

# cfn-lint does not follow a SAM DefinitionUri, so the ASL is also linted inlined into a
# generated AWS::StepFunctions::StateMachine.
cfn-lint: $(SAM_TOOLS_STAMP)
	$(CFN_LINT) --regions $(SAM_REGION) -- $(CFN_TEMPLATES)
	mkdir -p $(dir $(ASL_TEMPLATE))
	$(SAM_TOOLS_DIR)/bin/python tools/asl_as_template.py $(ASL_DEFINITION) > $(ASL_TEMPLATE)
	$(CFN_LINT) --regions $(SAM_REGION) -- $(ASL_TEMPLATE)
