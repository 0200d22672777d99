# The authorization matrix (issue 5, item 4). Included by the main Makefile.
#
# tools/authorization_matrix.py evaluates who may do what, by any chain of roles, over the policies
# the templates and the workflow produce (principalmapper's local IAM evaluation, a dev dependency
# in pyproject.toml). `make pytest` (so `make test`) checks every cell and prints the matrix
# (tests/security/test_authorization_matrix.py), and checks that docs/security.md shows it.
#
#   make authorization-matrix   regenerate docs/security.md's "## Authorization matrix" section (~2 s)

.PHONY: authorization-matrix

authorization-matrix: $(INSTALLED)
	$(BIN)/python tools/authorization_matrix.py --write
