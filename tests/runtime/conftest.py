"""Fixtures for the runtime tests: the seed model as a hand-written C library in the cellc
CPU ABI (seed_model.c), packaged into artifacts with cellc.compiler.package."""

from __future__ import annotations

import platform
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from manifests import (
    EntryPoint,
    Gradient,
    Manifest,
    OutputSig,
    SensitivitySig,
    Target,
    TensorSig,
)

from cellc.compiler.package import write_artifact

HERE = Path(__file__).parent
HOST_TRIPLE = f"{platform.machine()}-unknown-linux-gnu"
SEED_X = np.array([[0.8, 0.6, 0.2], [1.8, 1.3, 1.1]], np.float32)
SEED_Y = np.array([[0.11, 3.3, 1.1], [1.1, 0.2, 1.4], [1.1, 2.2, 0.3]], np.float32)
SEED_Z = np.array([1.0], np.float32)

X, Y = TensorSig("x", (2, 3)), TensorSig("y", (3, 3))
DX = OutputSig((2, 3), meaning="d/d input 0 (x)")
DY = OutputSig((3, 3), meaning="d/d input 1 (y)")
DZ = OutputSig((1,), meaning="d/d Parameter z")


def seed_entries() -> list[EntryPoint]:
    """The entries of seed_model.c, with MindSpore's GradOperation return structures."""
    return [
        EntryPoint(
            "Net", "Net", [X, Y], ["z"], [OutputSig((2, 3), meaning="output 0")], {"tensor": 0}
        ),
        EntryPoint("GradNetWrtX", "GradNetWrtX", [X, Y], ["z"], [DX], {"tensor": 0}, Gradient()),
        EntryPoint(
            "GradNetWrtXSens",
            "GradNetWrtXSens",
            [X, Y, TensorSig("sens", (2, 3))],
            ["z"],
            [DX],
            {"tensor": 0},
            Gradient(sens_param=True, sensitivity=[SensitivitySig((2, 3))]),
        ),
        EntryPoint(
            "GradNetWrtXY",
            "GradNetWrtXY",
            [X, Y],
            ["z"],
            [DX, DY],
            {"tuple": [{"tensor": 0}, {"tensor": 1}]},
            Gradient(get_all=True),
        ),
        EntryPoint(
            "GradNetAll",
            "GradNetAll",
            [X, Y],
            ["z"],
            [DX, DY, DZ],
            {"tuple": [{"tuple": [{"tensor": 0}, {"tensor": 1}]}, {"tuple": [{"tensor": 2}]}]},
            Gradient(get_all=True, get_by_list=True),
        ),
    ]


def reference(name: str, x, y, z, sens=None):
    """numpy's answer for each entry of seed_model.c."""
    ones = np.ones((2, 3), np.float32)
    dx = (ones if sens is None else sens) @ y.T * z
    dy = (x * z).T @ ones
    return {
        "Net": (x * z) @ y,
        "GradNetWrtX": dx,
        "GradNetWrtXSens": dx,
        "GradNetWrtXY": (dx, dy),
        "GradNetAll": ((dx, dy), (np.array([np.sum(x @ y)], np.float32),)),
    }[name]


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Extracted libraries go to a per-test cache, never to ~/.cache."""
    monkeypatch.setenv("CELLC_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="session")
def seed_library(tmp_path_factory) -> bytes:
    compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if compiler is None:
        pytest.skip("no C compiler to build the stand-in model library")
    output = tmp_path_factory.mktemp("seed") / "seed_model.so"
    subprocess.run(
        [compiler, "-O2", "-shared", "-fPIC", str(HERE / "seed_model.c"), "-o", str(output)],
        check=True,
    )
    return output.read_bytes()


@pytest.fixture
def make_artifact(tmp_path, seed_library):
    """make_artifact(name="model.cellc", **manifest_overrides) -> path of a seed artifact."""

    def make(name: str = "model.cellc", target: Target | None = None, z=SEED_Z) -> Path:
        manifest = Manifest(
            target=target or Target.cpu(triple=HOST_TRIPLE),
            entries=seed_entries(),
            parameters=[TensorSig("z", (1,))],
        )
        path = tmp_path / name
        write_artifact(path, manifest.to_json(), seed_library, {"z": z})
        return path

    return make


REPO = HERE.resolve().parents[1]


@pytest.fixture(scope="session")
def seed_program(tmp_path_factory) -> Path:
    """examples/c built with `find_package(cellc)` against cmake/cellcConfig.cmake."""
    if shutil.which("cmake") is None or (shutil.which("cc") or shutil.which("gcc")) is None:
        pytest.skip("cmake or a C compiler is missing")
    build = tmp_path_factory.mktemp("example-build")
    configure = [
        "cmake",
        "-S",
        str(REPO / "examples" / "c"),
        "-B",
        str(build),
        f"-Dcellc_DIR={REPO / 'cmake'}",
        "-DCMAKE_BUILD_TYPE=Release",
        "-DCMAKE_C_FLAGS=-Wall -Wextra -Werror",
    ]
    for command in (configure, ["cmake", "--build", str(build)]):
        result = subprocess.run(command, check=False, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
    return build / "cellc_seed"


def run_program(program: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(program), *map(str, args)], check=False, capture_output=True, text=True
    )


def parse_outputs(stdout: str) -> list[np.ndarray]:
    """The example's "output I (MEANING) DTYPE[SHAPE]:" blocks as arrays."""
    outputs = []
    blocks = re.split(r"^output \d+ \(.*\) \w+\[([\d,]*)\]:\n", stdout, flags=re.MULTILINE)
    for shape, values in zip(blocks[1::2], blocks[2::2]):
        dims = [int(d) for d in shape.split(",") if d]
        outputs.append(np.array(values.split(), dtype=np.float64).reshape(dims))
    return outputs
