"""The C runtime (runtime/src/cellc_runtime.c) through the CMake package and examples/c:
the same artifact gives the same numbers as the Python loader, and the same refusals; an
exported training step trains from C alone (examples/c/train.c) as it does in Python, and
dropout masks are drawn afresh for every call."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from conftest import HOST_TRIPLE, SEED_X, SEED_Y, parse_outputs, run_program
from manifests import Target
from test_artifact_robustness import edit_manifest

from cellc import runtime
from cellc.compiler.package import code_only


def flatten(value) -> list[np.ndarray]:
    return (
        [leaf for item in value for leaf in flatten(item)] if isinstance(value, tuple) else [value]
    )


@pytest.mark.parametrize("entry", ["Net", "GradNetWrtX", "GradNetWrtXY", "GradNetAll"])
def test_c_matches_python(seed_program, make_artifact, entry):
    path = make_artifact()
    result = run_program(seed_program, path, entry)
    assert result.returncode == 0, result.stderr
    from_c = parse_outputs(result.stdout)
    from_python = flatten(runtime.load(path)[entry](SEED_X, SEED_Y))
    assert len(from_c) == len(from_python)
    for c_value, py_value in zip(from_c, from_python):
        np.testing.assert_allclose(c_value, py_value, rtol=1e-7)  # %.9g round-trips float32


def test_c_prints_meaning_and_structure(seed_program, make_artifact):
    result = run_program(seed_program, make_artifact(), "GradNetWrtX")
    assert "output 0 (d/d input 0 (x)) float32[2,3]:" in result.stdout
    structure = result.stdout.split("structure ", 1)[1].split("output 0")[0]
    assert json.loads(structure) == {"tensor": 0}


def test_c_missing_entry(seed_program, make_artifact):
    result = run_program(seed_program, make_artifact(), "Forward")
    assert result.returncode == 1 and "has no entry 'Forward'; entries: Net" in result.stderr


def refusal(program, path) -> str:
    result = run_program(program, path)
    assert result.returncode == 1
    return result.stderr


def test_c_refusals(seed_program, make_artifact, tmp_path):
    not_artifact = tmp_path / "plain.cellc"
    not_artifact.write_bytes(b"hello")
    assert "is not a cellc artifact" in refusal(seed_program, not_artifact)

    path = make_artifact()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert "truncated or corrupt" in refusal(seed_program, path)

    path = make_artifact()
    data = bytearray(path.read_bytes())
    data[data.index(b"\x7fELF") + 200] ^= 0xFF
    path.write_bytes(bytes(data))
    assert "checksum mismatch" in refusal(seed_program, path)

    path = make_artifact(target=Target(kind="cuda", triple="nvptx64-nvidia-cuda"))
    assert "targets 'cuda'" in refusal(seed_program, path)

    path = make_artifact(target=Target.cpu(HOST_TRIPLE, cpu_features=["imaginary_isa"]))
    assert "CPU features this machine lacks: imaginary_isa" in refusal(seed_program, path)


def test_c_refuses_a_cache_entry_without_weights(seed_program, make_artifact, tmp_path):
    """A disk-cache entry holds code only; the C loader says so instead of 'corrupt'."""
    entry = tmp_path / "entry.cellc"
    entry.write_bytes(code_only(make_artifact()))
    assert "stores no weights (a cellc cache entry holds code only)" in refusal(seed_program, entry)


def test_c_newer_format_version(seed_program, make_artifact):
    path = make_artifact()
    with zipfile.ZipFile(path) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w") as archive:
        for info, data in members:
            if info.filename == "manifest.json":
                data = data.replace(b'"format_version": 1', b'"format_version": 7')
            archive.writestr(info, data)
    assert "format_version 7; this runtime reads format_version 1: upgrade cellc" in refusal(
        seed_program, path
    )


# --- Training steps and dropout (examples/c/train.c) ----------------------------------------

RNG = np.random.default_rng(0)
TRAIN_X = RNG.normal(size=(8, 3)).astype(np.float32)
TRAIN_Y = (TRAIN_X @ np.ones((3, 2), np.float32)).astype(np.float32)
KEEP = 0.8


def export(cell, *inputs: np.ndarray, path: Path) -> Path:
    import cellc

    return Path(cellc.export(cell, *map(cellc.Tensor, inputs), file_name=str(path)))


@pytest.fixture(scope="module")
def training_step(tmp_path_factory) -> Path:
    """A Linear + MSELoss + Momentum TrainOneStepCell, exported (as tests/train does)."""
    from cellc import Parameter, Tensor, nn, ops

    class Linear(nn.Cell):
        def __init__(self):
            super().__init__()
            self.w = Parameter(Tensor(RNG.normal(size=(3, 2)).astype(np.float32)), name="w")
            self.b = Parameter(Tensor(RNG.normal(size=(2,)).astype(np.float32)), name="b")

        def construct(self, x):
            return ops.MatMul()(x, self.w) + self.b

    net = Linear()
    momentum = nn.Momentum(net.trainable_params(), learning_rate=0.05, momentum=0.9)
    train = nn.TrainOneStepCell(nn.WithLossCell(net, nn.MSELoss()), momentum)
    return export(train, TRAIN_X, TRAIN_Y, path=tmp_path_factory.mktemp("step") / "step")


@pytest.fixture(scope="module")
def dropout_net(tmp_path_factory) -> Path:
    """nn.Dropout in training mode on ones: the output is the mask itself."""
    from cellc import nn

    class DropoutNet(nn.Cell):
        def __init__(self):
            super().__init__()
            self.dropout = nn.Dropout(keep_prob=KEEP)

        def construct(self, x):
            return self.dropout(x)

    ones = np.ones((10, 20), np.float32)
    return export(DropoutNet().set_train(), ones, path=tmp_path_factory.mktemp("drop") / "drop")


def run_training(seed_program: Path, artifact: Path, steps: int, seed: int, *inputs: np.ndarray):
    """examples/c/train.c on `artifact`: each step's visible outputs, and the parameters after
    the last step by name."""
    paths = []
    for index, value in enumerate(inputs):
        paths.append(artifact.with_name(f"{artifact.stem}-input{index}.bin"))
        value.tofile(paths[-1])
    result = run_program(seed_program.parent / "cellc_train", artifact, steps, seed, *paths)
    assert result.returncode == 0, result.stderr
    outputs, parameters = [], {}
    for line in result.stdout.splitlines():
        head, _, values = line.partition(":")
        numbers = np.array(values.split(), np.float64)
        if head.startswith("step "):
            outputs.append(numbers)
        else:
            name, shape = re.fullmatch(r"parameter (\S+) \w+\[([\d,]*)\]", head).groups()
            parameters[name] = numbers.reshape([int(d) for d in shape.split(",") if d])
    assert len(outputs) == steps
    return outputs, parameters


def test_c_trains_as_python_does(seed_program, training_step):
    losses, trained = run_training(seed_program, training_step, 30, 0, TRAIN_X, TRAIN_Y)
    losses = [float(loss[0]) for loss in losses]  # the step's one visible output
    assert losses[-1] < 0.1 * losses[0], losses

    module = runtime.load(training_step)
    python_losses = [float(module.TrainOneStepCell(TRAIN_X, TRAIN_Y)) for _ in range(30)]
    np.testing.assert_allclose(losses, python_losses, rtol=1e-6)
    assert trained.keys() == module.parameters.keys()
    for name, value in module.parameters.items():
        np.testing.assert_allclose(trained[name], value, rtol=1e-6, err_msg=name)
    assert trained["global_step"].tolist() == [30]


def test_c_draws_fresh_dropout_masks(seed_program, dropout_net):
    ones = np.ones((10, 20), np.float32)
    masks, parameters = run_training(seed_program, dropout_net, 3, 7, ones)
    assert parameters == {}  # the mask is no weight to save
    for mask in masks:
        assert set(np.unique(mask)) <= {0.0, float(np.float32(1 / KEEP))}
    assert not np.array_equal(masks[0], masks[1]) and not np.array_equal(masks[1], masks[2])
    kept = np.count_nonzero(np.concatenate(masks)) / (3 * ones.size)
    assert 0.7 < kept < 0.9
    again, _ = run_training(seed_program, dropout_net, 3, 7, ones)  # the same seed
    np.testing.assert_array_equal(again, masks)
    other, _ = run_training(seed_program, dropout_net, 1, 8, ones)
    assert not np.array_equal(other[0], masks[0])


def update_target(output: int, target: str) -> Callable[[dict], None]:
    def edit(manifest: dict) -> None:
        manifest["entries"][0]["outputs"][output]["update"] = target

    return edit


def move_loss_last(manifest: dict) -> None:
    entry = manifest["entries"][0]
    entry["outputs"].append(entry["outputs"].pop(0))
    entry["structure"] = {"tensor": len(entry["outputs"]) - 1}


@pytest.mark.parametrize(
    "edit, message",
    [
        (update_target(2, "b"), "entry 'TrainOneStepCell' output 2 is not of parameter 'b''s type"),
        (update_target(2, "nowhere"), "output 2 updates 'nowhere', not one of its weights"),
    ],
    ids=["update-of-another-type", "update-of-no-weight"],
)
def test_c_refuses_bad_updates_as_python_does(seed_program, training_step, tmp_path, edit, message):
    case = tmp_path / "edited.cellc"
    case.write_bytes(edit_manifest(training_step.read_bytes(), edit))
    assert message in refusal(seed_program, case)
    with pytest.raises(runtime.ArtifactError, match=re.escape(message)):
        runtime.load(case)


def test_c_needs_the_updates_after_the_visible_outputs(seed_program, training_step, tmp_path):
    # cellc writes them last; the Python runtime takes any order, the C one refuses another
    case = tmp_path / "edited.cellc"
    case.write_bytes(edit_manifest(training_step.read_bytes(), move_loss_last))
    assert "returns output 5 after an output that updates a parameter" in refusal(
        seed_program, case
    )


def test_c_refuses_a_bad_keep_probability(seed_program, dropout_net, tmp_path):
    def edit(manifest: dict) -> None:
        manifest["parameters"][0]["random"] = 1.5

    case = tmp_path / "edited.cellc"
    case.write_bytes(edit_manifest(dropout_net.read_bytes(), edit))
    message = "invalid manifest: parameter 0 has random 1.5 (a keep probability in (0, 1])"
    assert message in refusal(seed_program, case)
    with pytest.raises(runtime.ArtifactError, match=re.escape(message)):
        runtime.load(case)


def test_c_refuses_masks_drawn_at_a_dynamic_batch(seed_program, tmp_path):
    # the Python runtime draws them (tests/e2e/test_dynamic_batch.py); the C one says it does not
    import cellc
    from cellc import Tensor, nn

    class DropoutNet(nn.Cell):
        def __init__(self):
            super().__init__()
            self.dropout = nn.Dropout(keep_prob=KEEP)

        def construct(self, x):
            return self.dropout(x) * 2.0

    described = Tensor(shape=[None, 20], dtype=cellc.float32)
    path = cellc.export(DropoutNet().set_train(), described, file_name=str(tmp_path / "d"))
    assert "parameter 'dropout_mask.0' is a dropout mask drawn at each call's batch size" in (
        refusal(seed_program, path)
    )


@pytest.mark.parametrize(
    "random, message",
    [
        (
            KEEP,
            "entry 'DropoutNet' uses weight 'dropout_mask.0' of a dynamic shape but has no "
            "dynamic batch",
        ),
        (None, "parameter 0 has shape [-1, 20] (expected a list of non-negative ints)"),
    ],
    ids=["mask-of-a-static-entry", "parameter-not-a-mask"],
)
def test_only_masks_of_dynamic_entries_have_a_dynamic_shape(dropout_net, tmp_path, random, message):
    def edit(manifest: dict) -> None:
        manifest["parameters"][0]["shape"] = [-1, 20]
        manifest["parameters"][0]["random"] = random

    case = tmp_path / "edited.cellc"
    case.write_bytes(edit_manifest(dropout_net.read_bytes(), edit))
    with pytest.raises(runtime.ArtifactError, match=re.escape(message)):
        runtime.load(case)


def test_c_runs_a_dynamic_batch_entry_as_python_does(seed_program, tmp_path):
    from support.cells import Grad

    import cellc
    from cellc import Parameter, Tensor, nn, ops

    class Net(nn.Cell):  # the seed network, its x of any batch size
        def __init__(self):
            super().__init__()
            self.z = Parameter(Tensor(np.array([1.0], np.float32)), name="z")

        def construct(self, x, y):
            return ops.matmul(x * self.z, y)

    grad = Grad(Net(), ops.GradOperation(get_all=True))
    described = Tensor(shape=[None, 3], dtype=cellc.float32)
    path = cellc.export(grad, described, Tensor(SEED_Y), file_name=str(tmp_path / "g"))
    result = run_program(seed_program, path)
    assert result.returncode == 0, result.stderr
    assert "float32[2,3]" in result.stdout  # the batch the example runs at, in place of -1
    from_python = flatten(runtime.load(path)["Grad"](SEED_X, SEED_Y))
    from_c = parse_outputs(result.stdout)
    assert len(from_c) == len(from_python) == 2
    for c_value, py_value in zip(from_c, from_python):
        np.testing.assert_allclose(c_value, py_value, rtol=1e-7)
