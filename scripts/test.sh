#!/usr/bin/env bash
# Installs everything the tests need into .venv (Python packages from PyPI) and runs them.
# Works on a fresh machine with Python 3.11. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3.11}
command -v "$python" >/dev/null 2>&1 || python=python3
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"

# pytest exits 5 when it collects no test: that fails this script, as it should.
exec .venv/bin/python -m pytest "$@"
