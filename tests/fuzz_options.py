"""pytest options of the gradient fuzzer (tests/fuzz): `--fuzz-budget N`, `--fuzz-avoid A,B`.

A plugin loaded by `-p fuzz_options` in pyproject.toml's addopts (`pythonpath` puts tests/ on
sys.path first), so the options exist however pytest is started (`pytest`, `pytest tests/fuzz`,
one file). It is not tests/conftest.py: that would be one more module named `conftest`, the
name tests/runtime and tests/cli import their own conftest by. Where the plugin is not loaded,
tests/fuzz reads the environment variables CELLC_FUZZ_BUDGET and CELLC_FUZZ_AVOID instead.

`pytest_configure` runs before collection, so the test module reads `budget` / `avoid` when it
is imported and its @given tests are plain (hypothesis reports their statistics).
"""

import os

budget: int | None = (
    int(os.environ["CELLC_FUZZ_BUDGET"]) if os.environ.get("CELLC_FUZZ_BUDGET") else None
)
avoid: str = os.environ.get("CELLC_FUZZ_AVOID", "")


def pytest_addoption(parser):
    group = parser.getgroup("fuzz", "the gradient fuzzer (tests/fuzz)")
    group.addoption(
        "--fuzz-budget",
        type=int,
        default=None,
        metavar="N",
        help="fuzz N random networks (about 15%% of them at second order) and shrink each "
        "failure; default: a few, unshrunk, for CI (env: CELLC_FUZZ_BUDGET)",
    )
    group.addoption(
        "--fuzz-avoid",
        default=None,
        metavar="AREAS",
        help="comma-separated known-bug areas the fuzzer does not generate, so that a long run "
        "looks past them: 0d-params, stop-gradient, single-param, 0d-reduce "
        "(env: CELLC_FUZZ_AVOID)",
    )


def pytest_configure(config):
    global budget, avoid
    if config.getoption("fuzz_budget") is not None:
        budget = config.getoption("fuzz_budget")
    if config.getoption("fuzz_avoid") is not None:
        avoid = config.getoption("fuzz_avoid")
