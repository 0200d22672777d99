#!/bin/sh
# Prints the path of a Python VERSION (e.g. 3.13) interpreter, or fails saying how to get one.
# The venv and the tests run on the Lambdas' Python (template.yaml's Runtime), so a fresh machine
# must find it without setup: `pythonVERSION` on PATH first, if it runs (a pyenv shim is on PATH
# even when pyenv's global version is another one, and then it fails), else pyenv's newest VERSION.*.
set -u
version="${1:?usage: find_python.sh VERSION (e.g. 3.13)}"
wanted="import sys; sys.exit(sys.version_info[:2] != tuple(int(p) for p in '$version'.split('.')))"

candidate="$(command -v "python$version" 2>/dev/null || true)"
if [ -n "$candidate" ] && "$candidate" -c "$wanted" >/dev/null 2>&1; then
    if [ "${candidate#*/shims/}" != "$candidate" ]; then
        # A pyenv shim runs whatever version pyenv selects in the caller's directory: pin the real one.
        candidate="$("$candidate" -c 'import sys; print(sys.executable)')"
    fi
    echo "$candidate"
    exit 0
fi

if command -v pyenv >/dev/null 2>&1; then
    for prefix in $(pyenv versions --bare 2>/dev/null | grep -E "^$version\.[0-9]+$" | sort -t. -k3,3nr); do
        root="$(pyenv root)/versions/$prefix"
        if [ -x "$root/bin/python$version" ] && "$root/bin/python$version" -c "$wanted" >/dev/null 2>&1; then
            echo "$root/bin/python$version"
            exit 0
        fi
    done
fi

echo "Python $version not found: the Lambdas run python$version and so do the venv and the tests." >&2
echo "Put python$version on PATH, or install it with pyenv (pyenv install $version), or pass PYTHON=/path/to/python$version." >&2
exit 1
