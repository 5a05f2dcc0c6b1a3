"""`cellc exec ARTIFACT [ENTRY] --arg x.npy ...`: run an entry of an artifact on .npy files.

Works where only the runtime is installed: this module imports click, numpy and cellc.runtime,
never MLIR nor cellc.compiler (`cellc.cli.main` loads commands lazily, so `cellc exec` does not
load them either).

Outputs are printed with numpy's str, one per output with what it means, or saved with
`--out DIR` as DIR/output0.npy, DIR/output1.npy, ...: the index is the output's position in the
manifest's flat `outputs` list (what `cellc inspect` numbers), whatever tuples the model returns.
"""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from cellc.runtime.artifact import describe

from .errors import UserError

EPILOG = """\b
Examples:
  cellc exec grad.cellc --arg x.npy --arg y.npy
  cellc exec grad.cellc GradNetWrtX --arg x.npy --arg y.npy --out results/
      # writes results/output0.npy, results/output1.npy, ... (numbered as `cellc inspect` shows)

\b
Make an argument file with numpy: np.save("x.npy", np.array(..., np.float32)); its dtype and
shape must be the entry's (see `cellc inspect ARTIFACT`).
"""


@click.command("exec", epilog=EPILOG)
@click.argument("artifact", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("entry", required=False)
@click.option(
    "--arg",
    "-a",
    "args",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE.npy",
    help="An input, as a .npy file; repeat, one per input in order.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Save the outputs as DIR/output0.npy, output1.npy, ... instead of printing them.",
)
@click.option(
    "--ckpt",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE.ckpt",
    help="Set the artifact's parameters from a MindSpore checkpoint (matched by name) first.",
)
def exec_(
    artifact: Path, entry: str | None, args: tuple[Path, ...], out: Path | None, ckpt: Path | None
) -> None:
    """Run ENTRY of a compiled ARTIFACT on .npy inputs and print its outputs.

    ENTRY defaults to the artifact's first (usually only) entry. Needs only cellc.runtime
    (and, with --ckpt, protobuf to read the checkpoint).
    """
    from cellc import runtime

    try:
        module = runtime.load(artifact)
    except runtime.ArtifactError as error:
        raise UserError(str(error)) from None
    if ckpt is not None:
        _load_checkpoint(module, ckpt)
    function = _entry(module, entry)
    arrays = _arguments(function, args)
    flat = flatten_outputs(function.structure, function(*arrays), len(function.outputs))

    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for index, (value, spec) in enumerate(zip(flat, function.outputs)):
            path = out / f"output{index}.npy"
            np.save(path, value)
            click.echo(f"{path}: {_type(value, spec)}  {spec.meaning or f'output {index}'}")
        return
    for index, (value, spec) in enumerate(zip(flat, function.outputs)):
        click.echo(f"output {index}: {_type(value, spec)}  {spec.meaning or f'output {index}'}")
        click.echo(str(value))


def _type(value, spec) -> str:
    """An output's dtype and shape as computed (a dynamic batch's -1 made the call's size)."""
    return describe(spec.dtype, np.shape(value))


def _load_checkpoint(module, path: Path) -> None:
    """Sets every parameter of `module` that the checkpoint holds; a checkpoint that holds
    none of them, or a value of another shape or dtype, is refused before anything is set."""
    from cellc.serialization import read_checkpoint

    values = read_checkpoint(path)
    found = {name: values[name] for name in module.parameters if name in values}
    if module.parameters and not found:
        raise UserError(
            f"--ckpt: '{path}' holds none of the artifact's parameters "
            f"({', '.join(module.parameters)}); it holds {', '.join(values) or 'nothing'}"
        )
    for name, value in found.items():
        expected = module.parameters[name]
        if value.shape != expected.shape or value.dtype != expected.dtype:
            raise UserError(
                f"--ckpt: parameter '{name}' is {value.dtype}{list(value.shape)} in '{path}' "
                f"but {expected.dtype}{list(expected.shape)} in the artifact"
            )
    for name, value in found.items():
        module.set_parameter(name, value)


def _entry(module, name: str | None):
    if name is None:
        return next(iter(module.entries.values()))
    if name not in module:
        raise UserError(
            f"'{module.path}' has no entry '{name}'; entries: {', '.join(module.entries)}"
        )
    return module[name]


def _arguments(function, paths: tuple[Path, ...]) -> list[np.ndarray]:
    if len(paths) != len(function.inputs):
        raise UserError(
            f"{function.signature()} takes {len(function.inputs)} inputs, got {len(paths)} "
            "--arg; give one .npy file per input, in order"
        )
    arrays = []
    for index, path in enumerate(paths):
        try:
            value = np.load(path, allow_pickle=False)
        except FileNotFoundError:
            raise UserError(f"--arg: no such file '{path}'") from None
        except (OSError, ValueError) as error:
            raise UserError(f"--arg: cannot read '{path}' as a numpy .npy file: {error}") from None
        try:
            arrays.append(function.convert_input(index, value))
        except (TypeError, ValueError) as error:
            raise UserError(f"--arg {path}: {error}") from None
    return arrays


def flatten_outputs(structure: dict, result, count: int) -> list[np.ndarray]:
    """The model's (possibly nested) result as the manifest's flat output list."""
    flat: list = [None] * count

    def walk(node, value):
        if "tensor" in node:
            flat[node["tensor"]] = value
        else:
            for child, item in zip(node["tuple"], value):
                walk(child, item)

    walk(structure, result)
    return flat
