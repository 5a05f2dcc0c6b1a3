#!/usr/bin/env bash
# Creates .venv/ in the repo root and installs cellc into it, editable, with the dev tools
# (pytest, lit, hypothesis, ruff) and the distributed extra (mpi4py, Open MPI's wheel).
# Idempotent: when nothing changed it only checks and returns.
#   PYTHON=python3.12 scripts/setup.sh     # choose the interpreter (CPython 3.11 or 3.12)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

supported() { "$1" -c 'import sys; sys.exit(sys.version_info[:2] not in ((3, 11), (3, 12)))' 2>/dev/null; }

if [ ! -x .venv/bin/python ]; then
    python="${PYTHON:-}"
    if [ -z "$python" ]; then
        for candidate in python3 python3.12 python3.11; do
            if command -v "$candidate" >/dev/null && supported "$candidate"; then
                python="$candidate"
                break
            fi
        done
    fi
    if [ -z "$python" ] || ! supported "$python"; then
        echo "setup: cellc needs CPython 3.11 or 3.12 (the MLIR wheels exist only for those);" \
             "set PYTHON=/path/to/python3.12" >&2
        exit 1
    fi
    echo "setup: creating .venv with $python"
    "$python" -m venv .venv
fi

# Reinstall when pyproject.toml changed since the last install, or when the install is broken.
stamp=.venv/.cellc-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] ||
    ! .venv/bin/python -c 'import cellc, cellc.cli.main, mlir.ir, lit, pytest, mpi4py' 2>/dev/null; then
    echo "setup: pip install -e '.[dev,distributed]'"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev,distributed]'
    touch "$stamp"
fi
echo "setup: .venv ready ($(.venv/bin/python --version))"
