#!/usr/bin/env bash
# Set up everything on a fresh machine (Python >= 3.10 and git) and run this project's tests.
# Usage: bash scripts/test.sh [pytest args...]
source "$(dirname "$0")/bootstrap.sh"
exec .venv/bin/python -m pytest -n 2 "$@"
