#!/usr/bin/env bash
# Prints the path of a working Python 3.10 interpreter, or one line saying what to install.
# Rasa 3.6 needs exactly 3.10 (its TensorFlow 2.12 has no wheels for 3.11+).
set -u
candidates=(python3.10)
[ -n "${PYENV_ROOT:-}" ] && candidates+=("$PYENV_ROOT"/versions/3.10*/bin/python3.10)
candidates+=("$HOME"/.pyenv/versions/3.10*/bin/python3.10 /usr/local/bin/python3.10 /usr/bin/python3.10 /opt/homebrew/bin/python3.10)
if command -v pyenv >/dev/null 2>&1; then
  for v in $(pyenv versions --bare 2>/dev/null | grep '^3\.10'); do
    candidates+=("$(pyenv root)/versions/$v/bin/python3.10")
  done
fi
for c in "${candidates[@]}"; do
  # A pyenv shim exists on PATH even when 3.10 is not selected; run it to be sure it works.
  if "$c" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 10))' >/dev/null 2>&1; then
    "$c" -c 'import sys; print(sys.executable)'
    exit 0
  fi
done
echo "Sigillo needs Python 3.10 (Rasa 3.6 does not run on 3.11+): install it, e.g. 'pyenv install 3.10' or 'apt-get install python3.10 python3.10-venv', then run make again." >&2
exit 1
