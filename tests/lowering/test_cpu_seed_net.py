"""The seed network of the tutorials, `matmul(x * z, y)`, and its hand-derived gradient graph,
through the CPU back end; plus the ABI rules (private functions are not exported; ms.grad is
rejected)."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
from cpu_harness import Function, build_module, compile_functions, spec
from mlir import ir
from mlir.dialects import func

from cellc.compiler import lowering
from cellc.dialects import ms


def _net(x, y, z):
    return ms.matmul(ms.mul(x, z), y)


def _net_grad(x, y, z):
    """GradOperation(get_all=True, get_by_list=True) of _net, sensitivity = ones:
    dx = (s @ y.T) * z, dy = (x * z).T @ s, dz = sum((s @ y.T) * x)."""
    s = ms.constant(1.0, spec((2, 3)))
    ds_y = ms.matmul(s, y, transpose_b=True)
    dx = ms.mul(ds_y, z)
    dy = ms.matmul(ms.mul(x, z), s, transpose_a=True)
    dz = ms.reshape(ms.reduce_sum(ms.mul(ds_y, x), axes=(0, 1)), (1,))
    return dx, dy, dz


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    args = [spec((2, 3)), spec((3, 3)), spec((1,))]
    return compile_functions(
        [Function("net", args, _net), Function("net_grad", args, _net_grad)],
        tmp_path_factory.mktemp("seed"),
    )


def _seed_inputs():
    x = np.array([[0.8, 0.6, 0.2], [1.8, 1.3, 1.1]], dtype=np.float32)
    y = np.array([[0.11, 3.3, 1.1], [1.1, 0.2, 1.4], [1.1, 2.2, 0.3]], dtype=np.float32)
    z = np.array([1.0], dtype=np.float32)
    return x, y, z


def test_seed_forward(seed):
    x, y, z = _seed_inputs()
    (out,) = seed("net", x, y, z)
    np.testing.assert_allclose(out, (x * z) @ y, rtol=1e-6)


def test_seed_gradient(seed):
    x, y, z = _seed_inputs()
    dx, dy, dz = seed("net_grad", x, y, z)
    s = np.ones((2, 3), np.float32)
    np.testing.assert_allclose(dx, (s @ y.T) * z, rtol=1e-6)
    np.testing.assert_allclose(dy, (x * z).T @ s, rtol=1e-6)
    np.testing.assert_allclose(dz, [np.sum((s @ y.T) * x)], rtol=1e-6)
    # MindSpore's documented values for this tutorial.
    np.testing.assert_allclose(dx, [[4.51, 2.7, 3.6], [4.51, 2.7, 3.6]], rtol=1e-5)
    np.testing.assert_allclose(dz, [21.536], rtol=1e-5)


def test_private_functions_are_called_not_exported(tmp_path):
    ctx = ms.make_context()
    with ctx, ir.Location.unknown():
        t = ms.tensor_type(spec((4,)))
        module = ir.Module.create()
        with ir.InsertionPoint(module.body):

            @func.FuncOp.from_py_func(t, name="helper")
            def helper(x):
                return ms.exp(x)

            @func.FuncOp.from_py_func(t, name="main")
            def main(x):
                return ms.add(func.CallOp(helper.func_op, [x]).result, x)

        helper.func_op.attributes["sym_visibility"] = ir.StringAttr.get("private")
    lowering.convert_ms_to_linalg(module)
    lowering.lower_linalg_to_llvm(module)
    assert "llvm.func @main(%arg0: !llvm.ptr, %arg1: !llvm.ptr)" in str(module)
    lowering.emit_shared_library(module, tmp_path / "lib.so")
    lib = ctypes.CDLL(str(tmp_path / "lib.so"))
    assert not hasattr(lib, "helper")
    x = np.linspace(-1, 1, 4, dtype=np.float32)
    out = np.zeros(4, np.float32)
    lib.main(ctypes.c_void_p(x.ctypes.data), ctypes.c_void_p(out.ctypes.data))
    np.testing.assert_allclose(out, np.exp(x) + x, rtol=1e-6)


def test_grad_is_illegal():
    args = [spec((2, 3)), spec((3, 3)), spec((1,))]
    module, _ = build_module([Function("net", args, _net)])
    with module.context, ir.Location.unknown(), ir.InsertionPoint(module.body):

        @func.FuncOp.from_py_func(*[ms.tensor_type(s) for s in args], name="g")
        def g(x, y, z):
            return ms.grad("net", ms.GradMode(), [x, y, z], [spec((2, 3))])[0]

    with pytest.raises(lowering.LoweringError, match="'ms.grad' op must be expanded"):
        lowering.convert_ms_to_linalg(module)
    assert '"ms.mul"' in str(module)  # the module is left as it was


def test_stages_print_as_mlir():
    module, _ = build_module([Function("net", [spec((2, 3)), spec((3, 3)), spec((1,))], _net)])
    lowering.convert_ms_to_linalg(module)
    text = str(module)
    assert "linalg.matmul" in text and "ms." not in text
    lowering.lower_linalg_to_llvm(module)
    text = str(module)
    assert "llvm.func @net" in text and "memref" not in text
    assert "define void @net(ptr" in lowering.llvm_ir(module)


def test_llvm_ir_keeps_the_llvm_argument_attributes_and_drops_the_frontends():
    """`ms.weight` names an argument for the manifest; LLVM IR has no place for it (and the
    translation went 10x slower with it), while `llvm.readonly` and `llvm.noalias` are kept."""
    text = """
    llvm.func @f(%a: !llvm.ptr {llvm.noalias, llvm.readonly, ms.weight = "w"},
                 %b: !llvm.ptr {ms.update = "w"}) {
      llvm.return
    }"""
    with ms.make_context():
        module = ir.Module.parse(text)
        translated = lowering.llvm_ir(module)
    assert "define void @f(ptr noalias readonly %0, ptr %1)" in translated
    assert "ms." not in str(module)
