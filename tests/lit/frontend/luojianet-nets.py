# RUN: %python %s | FileCheck %s
# LuoJiaNET's spellings (nn.Module with `call`) trace like nn.Cell; stop_gradient stays one op
# in the `ms` IR until the autodiff pass removes it. Locations point into the example script.

from pathlib import Path

import numpy as np

from cellc import compat
from cellc.frontend import trace

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "autograd_luojianet.py"


def run(f):
    print(f"TEST: {f.__name__}")
    f()
    return f


def classes_of_the_example():
    """Executes the example's definitions only (not its top-level calls)."""
    compat.install()
    source = EXAMPLE.read_text()
    definitions = "\n".join(
        line if not line.startswith(("x = ", "y = ", "output = ", "print(")) else ""
        for line in source.splitlines()
    )
    namespace = {}
    exec(compile(definitions, str(EXAMPLE), "exec"), namespace)
    return namespace


ns = classes_of_the_example()
Tensor = ns["Tensor"]
x = Tensor(np.array([[0.8, 0.6, 0.2], [1.8, 1.3, 1.1]], np.float32))
y = Tensor(np.array([[0.11, 3.3, 1.1], [1.1, 0.2, 1.4], [1.1, 2.2, 0.3]], np.float32))


def printed(module):
    return module.operation.get_asm(enable_debug_info=True)


# CHECK-LABEL: TEST: module_with_call
# CHECK: func.func @Net({{.*}}) -> tensor<2x3xf32> attributes {ms.entry}
# CHECK: "ms.mul"{{.*}}loc(#[[MUL:.*]])
# CHECK: "ms.matmul"{{.*}}loc(#[[MATMUL:.*]])
# CHECK-DAG: #[[MUL]] = loc("{{.*}}autograd_luojianet.py":{{[0-9]+}}:
# CHECK-DAG: #[[MATMUL]] = loc("{{.*}}autograd_luojianet.py":{{[0-9]+}}:
@run
def module_with_call():
    print(printed(trace(ns["Net"](), x, y)))


# CHECK-LABEL: TEST: stop_gradient_net
# CHECK: func.func @GradMyNetWrtX(
# CHECK: "ms.grad"({{.*}}) {callee = @MyNet, get_all = false, get_by_list = false,
# CHECK: func.func private @MyNet(%[[X:.*]]: tensor<2x3xf32> {{.*}}, %[[Y:.*]]: tensor<3x3xf32>
# CHECK: %[[OUT1:.*]] = "ms.matmul"(%[[X]], %[[Y]])
# CHECK: %[[OUT2:.*]] = "ms.matmul"(%[[X]], %[[Y]])
# CHECK: %[[STOPPED:.*]] = "ms.stop_gradient"(%[[OUT2]])
# CHECK: "ms.add"(%[[OUT1]], %[[STOPPED]])
@run
def stop_gradient_net():
    print(printed(trace(ns["GradMyNetWrtX"](ns["MyNet"]()), x, y)))
