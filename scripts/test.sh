#!/usr/bin/env bash
# Installs everything the tests need and runs them: Python packages into .venv (PyPI), the Kotlin
# compiler (npm package kotlin-compiler, into .cache/kotlin) and JUnit 4 (Debian's junit4) for the
# generated Kotlin's golden tests. Works on a fresh machine with Python 3.11, JDK 17, node/npm and
# apt (as root, or with sudo). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3.11}
command -v "$python" >/dev/null 2>&1 || python=python3
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"

# Kotlin compiler: the version the generated build uses (tflgen.render.KOTLIN_VERSION), cached.
kotlin_version=$(.venv/bin/python -c "from tflgen.render import KOTLIN_VERSION; print(KOTLIN_VERSION)")
kotlin_dir=.cache/kotlin
kotlinc=$kotlin_dir/node_modules/kotlin-compiler/bin/kotlinc
if ! grep -qs "\"version\": \"$kotlin_version\"" "$kotlin_dir/node_modules/kotlin-compiler/package.json"; then
    echo "Installing kotlin-compiler $kotlin_version into $kotlin_dir"
    mkdir -p "$kotlin_dir"
    npm install --silent --no-save --no-audit --no-fund --prefix "$kotlin_dir" "kotlin-compiler@$kotlin_version"
fi
test -x "$kotlinc"

# A JDK (kotlinc and the tests run on it) and JUnit 4 with Hamcrest from Debian (the tests look
# in /usr/share/java, or in $JUNIT_JARS).
apt_packages=()
command -v java >/dev/null 2>&1 || apt_packages+=(openjdk-17-jdk-headless)
[ -n "${JUNIT_JARS:-}" ] || [ -f /usr/share/java/junit4.jar ] || apt_packages+=(junit4)
if [ ${#apt_packages[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    echo "Installing ${apt_packages[*]} (apt)"
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_packages[@]}" >/dev/null
fi

# Lint first (pyproject.toml [tool.ruff]): unused arguments, long lines, likely bugs.
.venv/bin/python -m ruff check generator tests scripts benchmarks

# pytest exits 5 when it collects no test: that fails this script, as it should. pytest-xdist runs
# the tests in one worker per core (at most 4: each holds TensorFlow), a module's tests in one
# worker (--dist loadscope), so its module fixtures are built once. (Not --dist loadgroup: with pytest
# 9.2 it ignores xdist_group marks, pytest-dev/pytest-xdist#1386.)
exec .venv/bin/python -m pytest -n auto --maxprocesses 4 --dist loadscope "$@"
