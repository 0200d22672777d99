# Static security checks (issue 5, item 5). Included by the main Makefile (`include make/security.mk`).
#
# The tools live in their own venv (.tools/security): checkov pins its own boto3, which must not meet
# the project's pins in .venv. The venv is created on first use (about 20 s); then:
#
#   make policy-lint   parliament on every policy: the SCPs (policies/scp/), every policy in template.yaml
#                      and templates/*.yaml, and the policies the code writes (the access role's grants,
#                      the hardened trust policy). tools/policies.py exports them (project venv);
#                      tools/lint_policies.py lints them and fails on any finding it does not justify. <5 s
#   make checkov       checkov on template.yaml and templates/*.yaml, offline (--skip-download). Checks
#                      skipped for every Lambda function, with the reason, are in .checkov.yaml; any
#                      other suppression sits on its resource (Metadata: checkov: skip: id + comment). ~3 s
#   make security      both
#
# A new function or resource that checkov flags needs the fix, or a skip with a comment saying why.

SECURITY_TOOLS_DIR    ?= .tools/security
SECURITY_TOOLS_PYTHON ?= python3
CHECKOV_VERSION       ?= 3.3.30
PARLIAMENT_VERSION    ?= 1.6.4

CHECKOV := $(SECURITY_TOOLS_DIR)/bin/checkov
SECURITY_TOOLS_STAMP := $(SECURITY_TOOLS_DIR)/.installed-checkov-$(CHECKOV_VERSION)-parliament-$(PARLIAMENT_VERSION)
POLICY_EXPORT_DIR := .aws-sam/security/policies
SECURITY_TEMPLATES := template.yaml $(wildcard templates/*.yaml)

.PHONY: security policy-lint checkov security-tools

security: policy-lint checkov

security-tools: $(SECURITY_TOOLS_STAMP)

$(SECURITY_TOOLS_STAMP):
	rm -rf $(SECURITY_TOOLS_DIR)
	$(SECURITY_TOOLS_PYTHON) -m venv $(SECURITY_TOOLS_DIR)
	$(SECURITY_TOOLS_DIR)/bin/python -m pip install --quiet --upgrade pip
	$(SECURITY_TOOLS_DIR)/bin/python -m pip install --quiet "checkov==$(CHECKOV_VERSION)" "parliament==$(PARLIAMENT_VERSION)"
	touch $@

policy-lint: $(INSTALLED) $(SECURITY_TOOLS_STAMP)
	$(BIN)/python tools/policies.py --out $(POLICY_EXPORT_DIR)
	$(SECURITY_TOOLS_DIR)/bin/python tools/lint_policies.py $(POLICY_EXPORT_DIR)

# --skip-download: no network (checkov otherwise fetches guidelines from Prisma Cloud).
checkov: $(SECURITY_TOOLS_STAMP)
	$(CHECKOV) --config-file .checkov.yaml --framework cloudformation --quiet --compact --skip-download \
		$(foreach template,$(SECURITY_TEMPLATES),-f $(template))
