# RUN: %python %s | FileCheck %s
# The `ms` IR of each seed network, traced from the seed documents themselves: the code blocks
# are compiled with the document's own line numbers, so locations point into the seed file.

import re
from pathlib import Path

from cellc import compat
from cellc.frontend import trace

SEEDS = Path(__file__).resolve().parents[3].parent / "shared" / "seeds"
MARKDOWN = SEEDS / "000_5f45188c2df3d7b3.txt"


def run(f):
    print(f"TEST: {f.__name__}")
    f()
    return f


def load_markdown_blocks():
    """Executes the document's Python blocks with their line numbers in the document."""
    compat.install()
    text = MARKDOWN.read_text()
    namespace = {}
    for match in re.finditer(r"```python\n(.*?)```", text, re.DOTALL):
        body = match.group(1)
        if "s1, s2" in body or "print(" in body:
            continue
        first_line = text.count("\n", 0, match.start(1)) + 1
        code = "\n" * (first_line - 1) + body
        exec(compile(code, str(MARKDOWN), "exec"), namespace)
    return namespace


def printed(module):
    return module.operation.get_asm(enable_debug_info=True)


ns = load_markdown_blocks()
x = ns["Tensor"]([[0.8, 0.6, 0.2], [1.8, 1.3, 1.1]], dtype=ns["mstype"].float32)
y = ns["Tensor"]([[0.11, 3.3, 1.1], [1.1, 0.2, 1.4], [1.1, 2.2, 0.3]], dtype=ns["mstype"].float32)


# CHECK-LABEL: TEST: seed_net
# CHECK: func.func @Net(%{{.*}}: tensor<2x3xf32> {{.*}}, %{{.*}}: tensor<3x3xf32> {{.*}}, %[[Z:.*]]: tensor<1xf32> {ms.weight = "z"}{{.*}}) -> tensor<2x3xf32> attributes {ms.entry}
# CHECK: %[[XZ:.*]] = "ms.mul"(%{{.*}}, %[[Z]]) : (tensor<2x3xf32>, tensor<1xf32>) -> tensor<2x3xf32> loc(#[[MUL:.*]])
# CHECK: "ms.matmul"(%[[XZ]], %{{.*}}) {transpose_a = false, transpose_b = false} {{.*}} loc(#[[MATMUL:.*]])
# CHECK-DAG: #[[MUL]] = loc("{{.*}}000_5f45188c2df3d7b3.txt":36:
# CHECK-DAG: #[[MATMUL]] = loc("{{.*}}000_5f45188c2df3d7b3.txt":37:
@run
def seed_net():
    print(printed(trace(ns["Net"](), x, y)))


# CHECK-LABEL: TEST: seed_grad_wrt_weight
# CHECK: func.func @GradNetWrtX({{.*}}%[[Z:.*]]: tensor<1xf32> {ms.weight = "net.z"}{{.*}}) -> tensor<1xf32> attributes {ms.entry}
# CHECK: "ms.grad"(%{{.*}}, %{{.*}}, %[[Z]]) {callee = @Net, get_all = false, get_by_list = true, {{.*}}sens_param = false, weights = array<i64: 2>}
# CHECK: func.func private @Net(
@run
def seed_grad_wrt_weight():
    print(printed(trace(ns["GradNetWrtX"](ns["Net"]()), x, y)))
