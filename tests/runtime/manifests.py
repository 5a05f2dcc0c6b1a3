"""Hand-written manifests for the runtime tests' C library (seed_model.c), typed so that a test
reads like the signature it describes. The compiler writes its manifests from the traced
program and the IR (`cellc.compiler.manifest`); these describe code no tracer produced.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from cellc.runtime.artifact import FORMAT, FORMAT_VERSION, cpuinfo_flags_from_llvm_features


@dataclass(frozen=True)
class TensorSig:
    """A named input or parameter: `{name, shape, dtype}`."""

    name: str
    shape: Sequence[int]
    dtype: str = "float32"


@dataclass(frozen=True)
class OutputSig:
    """An output: `{shape, dtype, meaning}`, meaning e.g. "d/d input 0 (x)", "output 0"."""

    shape: Sequence[int]
    dtype: str = "float32"
    meaning: str = ""


@dataclass(frozen=True)
class SensitivitySig:
    shape: Sequence[int]
    dtype: str = "float32"


@dataclass(frozen=True)
class Gradient:
    """How an entry came from GradOperation; `sensitivity` lists the trailing sens inputs."""

    get_all: bool = False
    get_by_list: bool = False
    sens_param: bool = False
    sensitivity: Sequence[SensitivitySig] = ()


@dataclass(frozen=True)
class EntryPoint:
    """One exported function. `structure` nests outputs: {"tensor": i} | {"tuple": [...]}."""

    name: str
    symbol: str
    inputs: Sequence[TensorSig]
    weights: Sequence[str]
    outputs: Sequence[OutputSig]
    structure: Mapping[str, Any]
    gradient: Gradient | None = None


@dataclass(frozen=True)
class Target:
    """What the code runs on. cpu_features are /proc/cpuinfo flag names."""

    kind: str
    triple: str
    cpu_features: Sequence[str] = ()
    chip: str | None = None  # cuda: "sm_90"
    ptx_version: str | None = None  # cuda: "8.0"

    @classmethod
    def cpu(cls, triple: str, cpu_features: Sequence[str] = (), llvm_features: str = ""):
        """A CPU target; `llvm_features` ("+avx2,+fma", llc's -mattr) is converted to flags."""
        flags = set(cpu_features) | set(cpuinfo_flags_from_llvm_features(llvm_features))
        return cls(kind="cpu", triple=triple, cpu_features=sorted(flags))


@dataclass(frozen=True)
class Manifest:
    target: Target
    entries: Sequence[EntryPoint]
    parameters: Sequence[TensorSig] = ()
    cellc_version: str | None = None  # filled by write_artifact when None
    llvm_version: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The manifest as the plain JSON object the artifact stores."""
        target = {k: v for k, v in asdict(self.target).items() if v is not None}
        target["cpu_features"] = list(self.target.cpu_features)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "target": target,
            "entries": [_plain(asdict(entry)) for entry in self.entries],
            "parameters": [_plain(asdict(parameter)) for parameter in self.parameters],
            **self.extra,
        }
        if self.cellc_version is not None:
            manifest["cellc_version"] = self.cellc_version
        if self.llvm_version is not None:
            manifest["llvm_version"] = self.llvm_version
        return manifest


def _plain(value: Any) -> Any:
    """Tuples -> lists, recursively, so the JSON does not depend on how the caller built it."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value
