#!/usr/bin/env bash
# Creates .venv with Python 3.10 and installs exactly requirements.lock plus this project.
# Called by make only when pyproject.toml or requirements.lock changed (stamp file).
set -eu
cd "$(dirname "$0")/.."
py=$(scripts/find_python310.sh) || exit 1
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))'; then
  rm -rf .venv
  echo "Creating .venv with $py"
  "$py" -m venv .venv
fi
# This machine's pip config may list extra local indexes; their "is ignored" warnings are noise.
pip_quiet() { .venv/bin/python -m pip "$@" 2> >(grep -v 'is ignored: it is neither' >&2); }
echo "Installing pinned dependencies into .venv (first time: about 2-3 minutes, 2.7 GB) ..."
pip_quiet install --quiet --disable-pip-version-check --upgrade "pip==24.0"
pip_quiet install --quiet --disable-pip-version-check -r requirements.lock
pip_quiet install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
touch .venv/.sigillo-installed
