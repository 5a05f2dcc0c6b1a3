"""linalg_to_llvm.run_pipeline verifies what it is given before any upstream pass runs, with or
without the per-pass verifier (toolchain.VERIFY_EACH_PASS, off outside the tests): invalid IR
from one of cellc's own passes is a LoweringError naming the stage, not a crash in the pass
after it."""

from __future__ import annotations

import pytest
from mlir import ir
from mlir.dialects import func

from cellc.compiler.lowering import LoweringError, linalg_to_llvm

VALID = """
func.func @answer() -> i32 {
  %c = arith.constant 42 : i32
  return %c : i32
}
"""


def _returning_nothing() -> ir.Module:
    """@answer with its `return` replaced by one of no value: what a faulty Python pass could
    leave (the parser would refuse it as text)."""
    module = ir.Module.parse(VALID, ir.Context())
    with module.context, ir.Location.unknown():
        body = module.body.operations[0].regions[0].blocks[0]
        old_return = body.operations[1]
        with ir.InsertionPoint(old_return):
            func.ReturnOp([])
        old_return.operation.erase()
    return module


@pytest.mark.parametrize("each_pass", [False, True])
def test_invalid_input_names_the_stage(monkeypatch, each_pass):
    monkeypatch.setattr(linalg_to_llvm, "VERIFY_EACH_PASS", each_pass)
    module = _returning_nothing()
    message = r"(?s)stage 'some-stage' failed: .*'func.return' op has 0 operands"
    with pytest.raises(LoweringError, match=message):
        linalg_to_llvm.run_pipeline(module, "builtin.module(canonicalize)", "some-stage")


@pytest.mark.parametrize("each_pass", [False, True])
def test_valid_input_runs(monkeypatch, each_pass):
    monkeypatch.setattr(linalg_to_llvm, "VERIFY_EACH_PASS", each_pass)
    module = ir.Module.parse(VALID, ir.Context())
    linalg_to_llvm.run_pipeline(
        module, "builtin.module(convert-arith-to-llvm,convert-func-to-llvm)", "to-llvm"
    )
    assert "llvm.func @answer" in str(module)
    assert "llvm.mlir.constant(42 : i32)" in str(module)
