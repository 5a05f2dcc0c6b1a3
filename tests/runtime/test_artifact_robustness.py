"""A damaged or edited artifact is refused with a reason, or gives the right answer: never a crash.

A real compiled artifact (a GradOperation of a cell with one Parameter) is damaged in many ways:
bytes flipped at many offsets, truncated at many lengths, and its manifest edited (checksum
recomputed, so only the code's own signature can tell) to drop an input, an output or a weight,
to shrink or grow a shape, to change a dtype. Each case is loaded and called by the Python
runtime and by the C runtime (examples/c) in subprocesses, so a crash fails its case instead of
killing the suite: the Python cases run in one worker process, restarted after the case that
crashed it, so that every crash is attributed to its case.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from conftest import SEED_X, SEED_Y, parse_outputs, run_program

from cellc import runtime
from cellc.runtime.artifact import CHECKSUM_MEMBER, MANIFEST_MEMBER, checksum_of

WORKER = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import cellc.runtime as runtime

    x = np.array([[0.8, 0.6, 0.2], [1.8, 1.3, 1.1]], np.float32)
    y = np.array([[0.11, 3.3, 1.1], [1.1, 0.2, 1.4], [1.1, 2.2, 0.3]], np.float32)

    def leaves(value):
        if isinstance(value, tuple):
            return [leaf for item in value for leaf in leaves(item)]
        return [value.tolist()]

    for path in sys.argv[1:]:
        print("BEGIN", path, flush=True)
        try:
            entry = runtime.load(path).Grad
            # the inputs the manifest asks for: an edited manifest gets what it claims
            seeds = [x, y]
            args = [
                seeds[i] if i < 2 and seeds[i].shape == spec.shape else np.ones(spec.shape)
                for i, spec in enumerate(entry.inputs)
            ]
            args = [np.asarray(arg, spec.dtype) for arg, spec in zip(args, entry.inputs)]
            result = {"outputs": leaves(entry(*args))}
        except runtime.ArtifactError as error:
            result = {"refused": str(error)}
        print("END", json.dumps(result), flush=True)
    """
)


def compile_grad_cell() -> bytes:
    import cellc.nn as nn
    import cellc.ops as ops
    from cellc import Parameter, ParameterTuple, Tensor
    from cellc.frontend import compile as compile_cell

    class Net(nn.Cell):
        def __init__(self):
            super().__init__()
            self.z = Parameter(Tensor(np.array([1.5], np.float32)), name="z")

        def construct(self, x, y):
            return ops.MatMul()(x * self.z, y)

    class Grad(nn.Cell):
        def __init__(self, net):
            super().__init__()
            self.net = net
            self.params = ParameterTuple(net.trainable_params())
            self.grad = ops.GradOperation(get_all=True, get_by_list=True)

        def construct(self, x, y):
            return self.grad(self.net, self.params)(x, y)

    return compile_cell(Grad(Net()), Tensor(SEED_X), Tensor(SEED_Y)).artifact


@pytest.fixture(scope="module")
def artifact(tmp_path_factory) -> tuple[Path, list[np.ndarray]]:
    """The compiled artifact and the outputs of its entry on the seed inputs."""
    path = tmp_path_factory.mktemp("compiled") / "grad.cellc"
    path.write_bytes(compile_grad_cell())
    module = runtime.load(path)
    dx, dy, dz = (leaf for part in module.Grad(SEED_X, SEED_Y) for leaf in part)
    return path, [dx, dy, dz]


def edit_manifest(
    blob: bytes, edit: Callable[[dict], None], edit_code: Callable[[bytes], bytes] = bytes
) -> bytes:
    """The artifact with its manifest (and code) edited and its checksum recomputed (what
    someone who edits a manifest on purpose does)."""
    import io

    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        members = [(info.filename, archive.read(info)) for info in archive.infolist()]
    manifest = json.loads(dict(members)[MANIFEST_MEMBER])
    edit(manifest)
    edited = {MANIFEST_MEMBER: json.dumps(manifest).encode()}
    members = [
        (name, edited.get(name, edit_code(data) if name == "code.so" else data))
        for name, data in members
        if name != CHECKSUM_MEMBER
    ]
    members.append((CHECKSUM_MEMBER, checksum_of(members).encode()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in members:
            archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
    return out.getvalue()


def entry(manifest: dict) -> dict:
    return manifest["entries"][0]


def drop_last_output(manifest: dict) -> None:
    entry(manifest)["outputs"].pop()
    entry(manifest)["structure"] = {"tuple": [{"tensor": 0}, {"tensor": 1}]}


def drop_weight_and_parameter(manifest: dict) -> None:
    entry(manifest)["weights"] = []
    manifest["parameters"] = []


def set_field(where: Callable[[dict], dict], key: str, value) -> Callable[[dict], None]:
    return lambda manifest: where(manifest).__setitem__(key, value)


MANIFEST_EDITS = {
    "drop-input": (
        lambda m: entry(m)["inputs"].pop(0),
        "lists 2 arguments (inputs, weights) (input 'y' float32[3,3], weight 'net.z' "
        "float32[1]), the code takes 3",
    ),
    "drop-output": (drop_last_output, "lists 2 outputs"),
    "drop-weight": (set_field(entry, "weights", []), "lists 2 arguments"),
    "drop-weight-and-parameter": (drop_weight_and_parameter, "lists 2 arguments"),
    "shrink-output": (
        set_field(lambda m: entry(m)["outputs"][1], "shape", [1, 3]),
        "output 1 is float32[1,3] in the manifest, float32[3,3] in the code",
    ),
    "grow-output": (
        set_field(lambda m: entry(m)["outputs"][0], "shape", [20, 30]),
        "output 0 is float32[20,30] in the manifest, float32[2,3] in the code",
    ),
    "output-dtype": (
        set_field(lambda m: entry(m)["outputs"][2], "dtype", "float64"),
        "output 2 is float64[1] in the manifest, float32[1] in the code",
    ),
    "input-dtype": (
        set_field(lambda m: entry(m)["inputs"][0], "dtype", "float64"),
        "input 'x' is float64[2,3] in the manifest, float32[2,3] in the code",
    ),
    "shrink-input": (
        set_field(lambda m: entry(m)["inputs"][1], "shape", [3, 1]),
        "input 'y' is float32[3,1] in the manifest, float32[3,3] in the code",
    ),
}
C_MESSAGES = {"drop-input": "the manifest says float32[3,3] float32[1] -> "}


def damaged_copies(blob: bytes) -> dict[str, bytes]:
    """Bytes flipped at many offsets (every one of the first 64, then spread over the file)
    and truncations at many lengths."""
    cases = {}
    offsets = sorted(set(range(64)) | set(range(64, len(blob), max(1, len(blob) // 160))))
    for offset in offsets:
        damaged = bytearray(blob)
        damaged[offset] ^= 0xFF
        cases[f"flip-{offset}"] = bytes(damaged)
    for length in sorted(set(range(0, len(blob), max(1, len(blob) // 60))) | {len(blob) - 1}):
        cases[f"truncate-{length}"] = blob[:length]
    return cases


def run_python_cases(paths: list[Path]) -> dict[str, dict]:
    """Each case's result from the worker: {"outputs"}, {"refused"} or {"crashed"}."""
    results: dict[str, dict] = {}
    pending = [str(path) for path in paths]
    while pending:
        process = subprocess.run(
            [sys.executable, "-c", WORKER, *pending],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        current = None
        for line in process.stdout.splitlines():
            kind, _, rest = line.partition(" ")
            if kind == "BEGIN":
                current = rest
            elif kind == "END":
                results[current] = json.loads(rest)
                current = None
        if current is None and process.returncode != 0:
            current = next(path for path in pending if path not in results)
        if current is not None:
            results[current] = {
                "crashed": f"exit {process.returncode}: {process.stderr.strip()[-500:]}"
            }
        pending = [path for path in pending if path not in results]
    return {Path(path).stem: result for path, result in results.items()}


def assert_refused_or_correct(name: str, result: dict, expected: list[np.ndarray]) -> None:
    assert "crashed" not in result, f"{name} crashed the loader: {result['crashed']}"
    if "refused" in result:
        assert ".cellc" in result["refused"], f"{name}: the refusal names no file"
        return
    for actual, wanted in zip(result["outputs"], expected, strict=True):
        np.testing.assert_allclose(np.array(actual, np.float32), wanted, rtol=1e-6, err_msg=name)


def test_python_runtime_refuses_damage_and_edits(artifact, tmp_path):
    path, expected = artifact
    blob = path.read_bytes()
    cases = damaged_copies(blob)
    cases.update({name: edit_manifest(blob, edit) for name, (edit, _) in MANIFEST_EDITS.items()})
    paths = []
    for name, data in cases.items():
        paths.append(tmp_path / f"{name}.cellc")
        paths[-1].write_bytes(data)
    results = run_python_cases(paths)
    assert len(results) == len(cases)
    for name, result in results.items():
        assert_refused_or_correct(name, result, expected)
    for name, (_, message) in MANIFEST_EDITS.items():
        refusal = results[name].get("refused", "")
        assert "does not match its code: entry 'Grad'" in refusal, (name, results[name])
        assert message in refusal, (name, refusal)
    refused = sum("refused" in result for result in results.values())
    assert refused > len(cases) // 2  # almost every flip and every truncation is caught


def test_c_runtime_refuses_damage_and_edits(artifact, tmp_path, seed_program):
    path, expected = artifact
    blob = path.read_bytes()
    cases = damaged_copies(blob)
    cases.update({name: edit_manifest(blob, edit) for name, (edit, _) in MANIFEST_EDITS.items()})
    for name, data in cases.items():
        case = tmp_path / f"{name}.cellc"
        case.write_bytes(data)
        result = run_program(seed_program, case)
        assert result.returncode in (0, 1), f"{name} crashed the C loader: {result.returncode}"
        if result.returncode == 1:
            assert result.stderr.startswith("error: '") and ".cellc" in result.stderr, name
            if name in MANIFEST_EDITS:
                assert "does not match its code: entry 'Grad'" in result.stderr, name
                assert C_MESSAGES.get(name, "") in result.stderr, name
            continue
        assert name not in MANIFEST_EDITS, f"{name} was not refused"
        outputs = parse_outputs(result.stdout)
        for actual, wanted in zip(outputs, expected, strict=True):
            np.testing.assert_allclose(actual, wanted, rtol=1e-6, err_msg=name)


def test_code_without_a_signature_is_refused(artifact, tmp_path, seed_program):
    """Code written before signatures (or not by cellc): refused, not trusted."""
    path, _ = artifact
    edited = edit_manifest(
        path.read_bytes(),
        lambda manifest: None,
        lambda code: code.replace(b"cellc_signature_Grad", b"cellc_signaturX_Grad"),
    )
    case = tmp_path / "unsigned.cellc"
    case.write_bytes(edited)
    with pytest.raises(runtime.ArtifactError, match="carries no signature.*recompile the model"):
        runtime.load(case)
    assert "carries no signature ('cellc_signature_Grad')" in run_program(seed_program, case).stderr


def test_cuda_manifest_is_checked_against_the_launch_plan(tmp_path):
    """Without a GPU: an edited manifest of a CUDA artifact is refused before the driver is
    touched, because the launch plan (which sizes the device buffers) disagrees with it."""
    import cellc.nn as nn
    import cellc.ops as ops
    from cellc import Tensor
    from cellc.compiler.pipeline import CompileOptions
    from cellc.frontend import compile as compile_cell

    class Net(nn.Cell):
        def construct(self, x, y):
            return ops.MatMul()(x, y)

    options = CompileOptions(target="cuda")
    blob = compile_cell(Net(), Tensor(SEED_X), Tensor(SEED_Y), options=options).artifact
    case = tmp_path / "cuda.cellc"
    case.write_bytes(
        edit_manifest(blob, set_field(lambda m: entry(m)["outputs"][0], "shape", [2, 2]))
    )
    with pytest.raises(
        runtime.ArtifactError,
        match=r"entry 'Net': output 0 is float32\[2,2\] in the manifest, float32\[2,3\]",
    ):
        runtime.load(case)
