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
echo "Installing pinned dependencies into .venv (first time: about 2-3 minutes, 2.7 GB) ..."
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade "pip==24.0"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
touch .venv/.sigillo-installed
