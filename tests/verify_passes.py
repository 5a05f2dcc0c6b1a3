"""Makes the CPU back end verify the IR after every pass while the tests run, as mlir-opt does
(`CELLC_VERIFY_EACH_PASS=1`, compiler.toolchain.VERIFY_EACH_PASS): a pass that leaves invalid IR
fails where it does, not later. A plugin loaded by `-p verify_passes` in pyproject.toml's
addopts; it sets the variable when pytest loads it, before any test imports the compiler, and
the processes that tests start inherit it."""

import os

os.environ.setdefault("CELLC_VERIFY_EACH_PASS", "1")
