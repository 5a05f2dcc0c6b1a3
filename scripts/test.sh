#!/usr/bin/env bash
# Sets up .venv (scripts/setup.sh), then runs both test suites: pytest and lit.
# Both always run; the script fails if either fails.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh

status=0
echo "== pytest"
.venv/bin/pytest -q || status=1
echo "== lit"
.venv/bin/lit -v tests/lit || status=1

if [ "$status" -ne 0 ]; then
    echo "test.sh: FAILED (see above)" >&2
fi
exit "$status"
