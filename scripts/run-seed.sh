#!/usr/bin/env bash
# Sets up .venv, then compiles and runs the seed tutorial (MindSpore's autograd example) with
# cellc: the first command of the README's quick start.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh
exec .venv/bin/cellc run examples/autograd_mindspore.py "$@"
