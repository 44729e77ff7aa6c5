#!/usr/bin/env bash
# Set up everything on a fresh machine (Python >= 3.10 and git) and run the main job on the
# bundled example service: a red checklist for a change without a test, then a green one.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
exec .venv/bin/python examples/user-service/demo.py "$@"
