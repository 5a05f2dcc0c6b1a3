"""A loaded artifact: the `Module` users hold and the target-independent half of an `Entry`.

An `Entry` knows its signature from the manifest, converts and checks arguments on the slow
path, and nests flat outputs into the Python structure the model returns. The backend (cpu.py,
later cuda.py) subclasses it with the call itself.

State: an output marked `"update": "NAME"` in the manifest is hidden (outside the returned
structure): it is the new value of parameter NAME, which the module writes into that
parameter's array after the call (`Module.write_updates`), so the next call, and whoever shares
the array (`share_parameter`), sees it; an entry that updates parameters is a training step and
must not run on two threads at once. A parameter marked `"random": KEEP` is a dropout mask: a
fresh one, 1/KEEP with probability KEEP and 0 otherwise, is drawn from `module.random_generator`
for every call (`Module.random_masks`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from .artifact import Artifact, describe, frozen_copy
from .errors import DTypeMismatchError, ShapeMismatchError


@dataclass(frozen=True)
class Slot:
    """One input, output, sensitivity or parameter of an entry, as the manifest describes it:
    its name, shape, numpy dtype and (for outputs) what it means."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    meaning: str = ""

    @classmethod
    def from_manifest(cls, spec: Mapping[str, Any], name: str = "") -> Slot:
        return cls(
            name=spec.get("name", name),
            shape=tuple(spec["shape"]),
            dtype=np.dtype(spec["dtype"]),
            meaning=spec.get("meaning", ""),
        )

    def __str__(self) -> str:
        return describe(self.dtype, self.shape)


def build_structure(structure: Mapping[str, Any]) -> Callable[[list], Any]:
    """A function nesting the flat output list as `structure` says.

    `{"tensor": i}` is output i itself, `{"tuple": [...]}` a tuple of its children -- the
    MindSpore GradOperation shapes: a bare tensor, a tuple, or (inputs_part, weights_part).
    `{"constant": value}` is a Python constant the model returns as it is (`x.ndim`), and
    `{"dtype": name}` a dtype, as a numpy dtype.
    """
    if "tensor" in structure:
        index = structure["tensor"]
        return lambda outputs: outputs[index]
    if "constant" in structure or "dtype" in structure:
        value = structure["constant"] if "constant" in structure else np.dtype(structure["dtype"])
        return lambda outputs: value
    children = [build_structure(child) for child in structure["tuple"]]
    return lambda outputs: tuple(child(outputs) for child in children)


def as_array(value: Any, spec: Slot, what: str) -> np.ndarray:
    """`value` as a C-contiguous aligned array of exactly `spec`'s dtype and shape.

    numpy arrays and cellc Tensors (anything with `.asnumpy()`) must already have the right
    dtype: a float64 array is refused, not rounded behind the caller's back. Python lists and
    scalars have no dtype of their own, so they are converted (same kind only: floats never
    become ints).
    """
    if hasattr(value, "asnumpy") and not isinstance(value, np.ndarray):
        value = value.asnumpy()
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
        if not array.dtype.isnative and array.dtype.newbyteorder("=") == spec.dtype:
            # big-endian data (from a file, say): the same values in the machine's order
            array = array.astype(spec.dtype)
        if array.dtype != spec.dtype:
            raise DTypeMismatchError(
                f"{what} expects {spec}, got {describe(array.dtype, array.shape)}"
            )
    else:
        try:
            array = np.asarray(value)
        except (ValueError, TypeError) as error:
            raise DTypeMismatchError(
                f"{what} expects {spec}, got {type(value).__name__}: {error}"
            ) from None
        if array.dtype.kind not in "biuf" or not np.can_cast(
            array.dtype, spec.dtype, casting="same_kind"
        ):
            raise DTypeMismatchError(
                f"{what} expects {spec}, got a {type(value).__name__} of "
                f"{describe(array.dtype, array.shape)}"
            )
        array = array.astype(spec.dtype)
    if array.shape != spec.shape:
        raise ShapeMismatchError(f"{what} expects {spec}, got {describe(array.dtype, array.shape)}")
    return np.require(array, requirements="CA")


class Entry:
    """One entry point of a module: `entry(*inputs)` returns numpy arrays nested per structure."""

    def __init__(self, module: Module, manifest: Mapping[str, Any]):
        self.module = module
        self.name: str = manifest["name"]
        self.symbol: str = manifest["symbol"]
        self.inputs = tuple(Slot.from_manifest(spec) for spec in manifest["inputs"])
        self.weights: tuple[str, ...] = tuple(manifest["weights"])
        self.outputs = tuple(
            Slot.from_manifest(spec, name=f"output {i}")
            for i, spec in enumerate(manifest["outputs"])
        )
        self.structure: Mapping[str, Any] = manifest["structure"]
        self.updates: tuple[tuple[int, str], ...] = tuple(
            (index, spec["update"])
            for index, spec in enumerate(manifest["outputs"])
            if spec.get("update") is not None
        )
        """(output index, parameter name) of each hidden output holding a new value."""
        self.random_weights: tuple[tuple[int, str], ...] = tuple(
            (position, name)
            for position, name in enumerate(self.weights)
            if name in module.random_parameters
        )
        """(weight position, parameter name) of each dropout mask drawn for every call."""
        self.gradient: Mapping[str, Any] | None = manifest.get("gradient")
        self.manifest = manifest
        self._nest = build_structure(self.structure)

    def convert_input(self, index: int, value: Any) -> np.ndarray:
        """The slow path for one argument: convert or refuse with a message naming it."""
        spec = self.inputs[index]
        return as_array(value, spec, f"input '{spec.name}' of '{self.name}'")

    def wrong_argument_count(self, args: tuple) -> TypeError:
        names = ", ".join(spec.name for spec in self.inputs)
        return TypeError(
            f"'{self.name}' takes {len(self.inputs)} inputs ({names}), got {len(args)}"
        )

    def signature(self) -> str:
        inputs = ", ".join(f"{spec.name}: {spec}" for spec in self.inputs)
        hidden = {index for index, _ in self.updates}
        outputs = ", ".join(str(s) for i, s in enumerate(self.outputs) if i not in hidden)
        return f"{self.name}({inputs}) -> ({outputs})"

    def __repr__(self) -> str:
        return f"<cellc entry {self.signature()} of '{self.module.path}'>"

    def __call__(self, *args: Any) -> Any:  # pragma: no cover - backends override
        raise NotImplementedError

    def _parameters_changed(self) -> None:
        """Called by Module.set_parameter; backends refresh what they precomputed."""


class Module:
    """A loaded artifact. Entries are found by name: `module.NAME(...)` or `module["NAME"]`."""

    def __init__(self, artifact: Artifact, make_entry: Callable[[Module, dict], Entry]):
        self.path = artifact.path
        self.manifest: Mapping[str, Any] = artifact.manifest
        self._parameter_specs = {
            spec["name"]: Slot.from_manifest(spec) for spec in artifact.manifest["parameters"]
        }
        self._parameters: dict[str, np.ndarray] = dict(artifact.parameters)
        self.random_parameters: Mapping[str, float] = MappingProxyType(
            {
                spec["name"]: float(spec["random"])
                for spec in artifact.manifest["parameters"]
                if spec.get("random") is not None
            }
        )
        """The dropout masks among the parameters, with their keep probabilities."""
        self._random_generator = None
        entries = {spec["name"]: make_entry(self, spec) for spec in artifact.manifest["entries"]}
        self._entries = entries
        self.entries: Mapping[str, Entry] = MappingProxyType(entries)
        # Entries whose names do not shadow Module's own attributes become instance attributes:
        # a plain attribute lookup is the cheapest way to reach them on every call.
        for name, entry in entries.items():
            if name.isidentifier() and not hasattr(type(self), name) and name not in vars(self):
                setattr(self, name, entry)

    @property
    def random_generator(self) -> np.random.Generator:
        """Where dropout masks are drawn from (replace it to seed them); a fresh, unseeded
        one until then (made on first use: importing numpy.random costs a cache hit ~10 ms)."""
        if self._random_generator is None:
            self._random_generator = np.random.default_rng()
        return self._random_generator

    @random_generator.setter
    def random_generator(self, generator: np.random.Generator) -> None:
        self._random_generator = generator

    @property
    def parameters(self) -> Mapping[str, np.ndarray]:
        """Parameter values by name (read-only arrays; use set_parameter to change one)."""
        return MappingProxyType(self._parameters)

    def set_parameter(self, name: str, value: Any) -> None:
        """Replace a parameter's value (same shape and dtype); every entry uses it from now on."""
        if name not in self._parameter_specs:
            raise KeyError(
                f"module '{self.path}' has no parameter '{name}'; parameters: "
                f"{', '.join(self._parameter_specs) or '(none)'}"
            )
        spec = self._parameter_specs[name]
        array = as_array(value, spec, f"parameter '{name}' of '{self.path}'")
        self._parameters[name] = frozen_copy(array)
        for entry in self._entries.values():
            entry._parameters_changed()

    def share_parameter(self, name: str, array: np.ndarray) -> None:
        """Use the caller's array as a parameter's value, without a copy: every call reads it,
        so writes into it are seen (as MindSpore's `Parameter.asnumpy()` shares its storage).
        It must have exactly the parameter's dtype and shape and be C-contiguous and aligned,
        and the caller keeps it alive; `set_parameter` takes a private copy instead."""
        if name not in self._parameter_specs:
            raise KeyError(
                f"module '{self.path}' has no parameter '{name}'; parameters: "
                f"{', '.join(self._parameter_specs) or '(none)'}"
            )
        spec = self._parameter_specs[name]
        what = f"parameter '{name}' of '{self.path}'"
        if not isinstance(array, np.ndarray) or as_array(array, spec, what) is not array:
            raise ValueError(
                f"{what}: share_parameter needs a C-contiguous, aligned numpy array of exactly "
                f"{spec}; use set_parameter to have it converted and copied"
            )
        self._parameters[name] = array
        for entry in self._entries.values():
            entry._parameters_changed()

    def write_updates(self, updates: tuple[tuple[int, str], ...], outputs: list) -> None:
        """Makes each `outputs[index]` the value of its parameter: copied into the parameter's
        array when it is writable (a shared array: its owner sees the update; or one the
        module already owns), else the output itself becomes the parameter's array."""
        replaced = False
        for index, name in updates:
            current = self._parameters[name]
            if current.flags.writeable:
                np.copyto(current, outputs[index])
            else:
                self._parameters[name] = outputs[index]  # a fresh array only the module holds
                replaced = True
        if replaced:
            for entry in self._entries.values():
                entry._parameters_changed()

    def random_masks(self, entry: Entry, batch: int = 1) -> list[tuple[int, np.ndarray]]:
        """A fresh dropout mask for each of `entry`'s random weights: (position, mask). The
        dims -1 of a mask (an entry compiled for a dynamic batch) are `batch`."""
        masks = []
        for position, name in entry.random_weights:
            spec = self._parameter_specs[name]
            keep = self.random_parameters[name]
            shape = tuple(batch if d == -1 else d for d in spec.shape)
            kept = self.random_generator.random(shape) < keep
            masks.append((position, (kept / np.float64(keep)).astype(spec.dtype)))
        return masks

    def _missing(self, name: str) -> str:
        return f"module '{self.path}' has no entry '{name}'; entries: {', '.join(self._entries)}"

    def __getitem__(self, name: str) -> Entry:
        try:
            return self._entries[name]
        except KeyError:
            raise KeyError(self._missing(name)) from None

    def __getattr__(self, name: str) -> Entry:
        # Only reached when normal lookup fails: unknown names, and entries that shadow methods.
        if name.startswith("__") or name == "_entries":
            raise AttributeError(name)
        if name in self._entries:
            return self._entries[name]
        raise AttributeError(self._missing(name))

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._entries))

    def __repr__(self) -> str:
        target = self.manifest["target"]["kind"]
        return f"<cellc module '{self.path}' ({target}) entries: {', '.join(self._entries)}>"

    def describe(self) -> str:
        """A readable summary: entries with their signatures and what each output means."""
        lines = [repr(self)]
        for entry in self._entries.values():
            lines.append("  " + entry.signature())
            for index, spec in enumerate(entry.outputs):
                lines.append(f"    output {index}: {spec}  {spec.meaning}")
            for name in entry.random_weights:
                lines.append(f"    weight {name[1]}: a fresh dropout mask every call")
            lines.append(f"    structure: {json.dumps(entry.structure)}")
        return "\n".join(lines)
