#!/usr/bin/env bash
# Set up everything on a fresh machine (Python >= 3.10 and git) and run the main job on the
# bundled example service: a red checklist for a change without a test, then a green one.
source "$(dirname "$0")/bootstrap.sh"
exec .venv/bin/python examples/user-service/demo.py "$@"
