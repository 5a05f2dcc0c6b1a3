"""`cellc inspect ARTIFACT`: what an artifact's manifest says, readably (or `--json`).

Reads the file with `cellc.runtime.artifact.read_artifact`, which checks the container and
its checksum but binds no code: an artifact for a target this machine cannot run (cuda on a
machine without a GPU) is inspected all the same. Imports neither MLIR nor the compiler.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from .errors import UserError

EPILOG = """\b
Examples:
  cellc inspect grad.cellc
  cellc inspect grad.cellc --json | python -m json.tool
"""


@click.command("inspect", epilog=EPILOG)
@click.argument("artifact", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
def inspect(artifact: Path, as_json: bool) -> None:
    """Show an artifact's entries, signatures, output meanings, gradient, target and versions.

    For each entry: its inputs (name, dtype, shape), the weights it reads, what each output
    means (e.g. 'd/d input 0 (x)', 'd/d Parameter net.z', or, for a hidden output, 'new value
    of Parameter net.bn.moving_mean', which the runtime writes back), how outputs nest into the
    value the model returns, and, for a GradOperation, its flags and sensitivity inputs.
    """
    manifest = read_manifest(artifact)
    if as_json:
        click.echo(json.dumps(manifest, indent=2))
    else:
        click.echo("\n".join(describe_manifest(manifest, str(artifact))))


def read_manifest(path: Path) -> dict:
    from cellc.runtime.artifact import ArtifactError, read_artifact

    try:
        return dict(read_artifact(path, code_only=True).manifest)
    except ArtifactError as error:
        raise UserError(str(error)) from None


def tensor_type(spec: dict) -> str:
    """`float32[2,3]`, as the runtime writes a tensor type."""
    return f"{spec['dtype']}[{','.join(str(d) for d in spec['shape'])}]"


def structure_text(structure: dict) -> str:
    """`output 0`, `(output 0, output 1)`, `((output 0,), (output 1,))`."""
    if "tensor" in structure:
        return f"output {structure['tensor']}"
    items = [structure_text(child) for child in structure["tuple"]]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def describe_manifest(manifest: dict, path: str) -> list[str]:
    """The lines `cellc inspect` prints."""
    target = manifest["target"]
    container = manifest.get("format", "cellc-artifact")
    versions = (
        f"cellc {manifest.get('cellc_version', '?')}, LLVM {manifest.get('llvm_version', '?')}"
    )
    lines = [
        f"{path}: {container} format_version {manifest.get('format_version', '?')}",
        f"  written by: {versions}",
        f"  target: {_target_text(target)}",
    ]
    parameters = manifest.get("parameters", [])
    if parameters:
        lines.append("  parameters:")
        lines += [f"    {p['name']}: {tensor_type(p)}{_random_text(p)}" for p in parameters]
    else:
        lines.append("  parameters: none")
    for entry in manifest["entries"]:
        lines += _entry_lines(entry)
    return lines


def _random_text(parameter: dict) -> str:
    """How a dropout mask is filled: the runtime draws one for every call."""
    keep = parameter.get("random")
    return "" if keep is None else f"  a fresh dropout mask every call (keep {keep})"


def _target_text(target: dict) -> str:
    kind = target.get("kind", "?")
    details = []
    for key in ("triple", "cpu", "chip", "ptx_features"):
        if target.get(key):
            details.append(f"{key} {target[key]}")
    if target.get("cpu_features"):
        details.append(f"needs CPU features {' '.join(target['cpu_features'])}")
    return kind + (f" ({'; '.join(details)})" if details else "")


def _entry_lines(entry: dict) -> list[str]:
    inputs = ", ".join(f"{i['name']}: {tensor_type(i)}" for i in entry["inputs"])
    lines = [f"  entry {entry['name']}({inputs})"]
    if entry["name"] != entry.get("symbol", entry["name"]):
        lines.append(f"    symbol: {entry['symbol']}")
    lines.append("    inputs:")
    lines += [f"      {i['name']}: {tensor_type(i)}" for i in entry["inputs"]] or ["      none"]
    lines.append(f"    weights: {', '.join(entry['weights']) or 'none'}")
    lines.append("    outputs:")
    for index, output in enumerate(entry["outputs"]):
        meaning = output.get("meaning") or f"output {index}"
        lines.append(f"      {index}: {tensor_type(output)}  {meaning}")
    lines.append(f"    returns: {structure_text(entry['structure'])}")
    lines += _gradient_lines(entry.get("gradient"))
    return lines


def _gradient_lines(gradient: dict | None) -> list[str]:
    if not gradient:
        return ["    gradient: none (a forward computation)"]
    flags = ", ".join(
        f"{flag}={bool(gradient.get(flag))}" for flag in ("get_all", "get_by_list", "sens_param")
    )
    lines = [f"    gradient: GradOperation({flags})"]
    sensitivity = gradient.get("sensitivity") or []
    if not gradient.get("sens_param"):
        lines.append("    sensitivity: ones for every output of the differentiated cell")
    else:
        lines.append(
            "    sensitivity (the last inputs, one per output of the differentiated cell):"
        )
        for index, sens in enumerate(sensitivity):
            name = sens.get("input") or f"sens{index}"
            lines.append(f"      {name}: {tensor_type(sens)}")
    return lines
