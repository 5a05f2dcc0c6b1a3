"""Imports go one way (DESIGN.md, Layers), read from the sources' syntax trees:

    cli -> user API (cellc: tensor, parameter, dtype, nn, ops) -> frontend -> compiler
        -> dialects -> runtime

A module may import its own layer and the layers below it, never one above. An import inside a
function is for MLIR on the compile path only (a module that loads `mlir`), never to dodge a
cycle; the command line, which loads its commands lazily to start fast, is exempt.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Package -> folder, lowest layer first. The user API is `cellc` itself, minus the others.
LAYERS = [
    ("cellc.runtime", "runtime"),
    ("cellc.dialects", "dialects"),
    ("cellc.compiler", "compiler"),
    ("cellc.frontend", "frontend"),
    ("cellc", "cellc"),
    ("cellc.cli", "cli"),
]
RANK = {package: rank for rank, (package, _) in enumerate(LAYERS)}


def _module_name(package: str, folder: str, path: Path) -> str:
    parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([package, *parts])


def _sources() -> dict[str, Path]:
    return {
        _module_name(package, folder, path): path
        for package, folder in LAYERS
        for path in sorted((ROOT / folder).rglob("*.py"))
    }


SOURCES = _sources()


def layer_of(module: str) -> str | None:
    """The layer of a cellc module (the longest matching package), None outside cellc."""
    for package, _ in sorted(LAYERS, key=lambda layer: -len(layer[0])):
        if module == package or module.startswith(package + "."):
            return package
    return None


def _absolute(module: str, node: ast.ImportFrom | ast.Import) -> list[str]:
    """The modules an import statement names, made absolute."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    package = module if SOURCES[module].name == "__init__.py" else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    base = ".".join(p for p in (package if node.level else "", node.module or "") if p)
    # `from cellc import ops` names the module cellc.ops; `from x import name` names x
    names = [f"{base}.{alias.name}" for alias in node.names]
    return [name for name in names if name in SOURCES] or [base]


def imports(module: str) -> list[tuple[str, bool, int]]:
    """(imported module, inside a function?, line) for every import in `module`."""
    tree = ast.parse(SOURCES[module].read_text())
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.extend((name, in_function, child.lineno) for name in _absolute(module, child))
            function = isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            visit(child, in_function or function)

    visit(tree, False)
    return found


def _loads_mlir(module: str, seen: set[str] | None = None) -> bool:
    """True when importing `module` imports `mlir` (directly or through cellc modules)."""
    seen = seen if seen is not None else set()
    if module in seen or module not in SOURCES:
        return False
    seen.add(module)
    for name, in_function, _ in imports(module):
        if in_function:
            continue
        if name == "mlir" or name.startswith("mlir."):
            return True
        if _loads_mlir(name, seen):
            return True
    return False


@pytest.mark.parametrize("module", sorted(SOURCES))
def test_imports_go_one_way(module):
    here = layer_of(module)
    against = [
        f"{SOURCES[module].relative_to(ROOT)}:{line}: {module} ({here}) imports {name} ({there})"
        for name, _, line in imports(module)
        if (there := layer_of(name)) is not None and RANK[there] > RANK[here]
    ]
    assert not against, "\n".join(against)


@pytest.mark.parametrize("module", sorted(m for m in SOURCES if layer_of(m) != "cellc.cli"))
def test_imports_inside_functions_are_for_mlir_only(module):
    dodges = [
        f"{SOURCES[module].relative_to(ROOT)}:{line}: {name} imported inside a function"
        for name, in_function, line in imports(module)
        if in_function and layer_of(name) is not None and not _loads_mlir(name)
    ]
    assert not dodges, "\n".join(dodges)


def test_the_checker_sees_an_arrow_against_the_order():
    # compiler -> frontend would be against the order; runtime -> runtime is not
    assert RANK[layer_of("cellc.frontend.tracing")] > RANK[layer_of("cellc.compiler.program")]
    assert layer_of("cellc.runtime.errors") == "cellc.runtime"
    assert layer_of("cellc.tensor") == "cellc"
    assert layer_of("numpy") is None
    assert _loads_mlir("cellc.dialects.ms") and not _loads_mlir("cellc.dialects.ms_ops")


def test_eager_ops_load_no_mlir_and_the_runtime_loads_alone():
    import subprocess
    import sys

    script = (
        "import sys, numpy as np\n"
        "import cellc.runtime\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('cellc.') "
        "and not m.startswith('cellc.runtime'))\n"
        "assert not loaded, loaded\n"
        "from cellc import Tensor, ops\n"
        "x = Tensor(np.ones((2, 3), np.float32))\n"
        "y = ops.MatMul()(x + x, Tensor(np.ones((3, 1), np.float32))).sum()\n"
        "assert float(y) == 12.0, y\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'mlir']\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
