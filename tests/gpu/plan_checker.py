"""A numpy 'plan checker': the launch plan must be consistent with itself and with the PTX."""

from __future__ import annotations

import json
import re

import numpy as np


def _buffers(entry: dict) -> dict[str, dict]:
    found = {}
    for role, key in (
        ("input", "inputs"),
        ("weight", "weights"),
        ("output", "outputs"),
        ("temp", "temporaries"),
        ("const", "constants"),
    ):
        for index, spec in enumerate(entry[key]):
            found[f"{role}:{index}"] = spec
    return found


def ptx_entries(ptx: str) -> dict[str, int]:
    """Kernel name -> number of .param of each `.entry` in the PTX text."""
    entries = {}
    for match in re.finditer(r"\.entry\s+(\w+)\s*\(([^)]*)\)", ptx):
        entries[match.group(1)] = match.group(2).count(".param")
    return entries


def check_plan(plan: dict, ptx: str) -> None:
    """Raises AssertionError naming the first inconsistency."""
    assert json.loads(json.dumps(plan)) == plan, "plan is not JSON round-trippable"
    kernels = ptx_entries(ptx)
    for name, entry in plan["entries"].items():
        buffers = _buffers(entry)
        written = set()
        for step_index, step in enumerate(entry["steps"]):
            where = f"{name} step {step_index}"
            if step["op"] == "copy":
                src, dst = buffers[step["src"]], buffers[step["dst"]]
                assert step["nbytes"] == _nbytes(src) == _nbytes(dst), f"{where}: copy sizes differ"
                written.add(step["dst"])
                continue
            assert step["kernel"] in kernels, f"{where}: kernel {step['kernel']} not in PTX"
            assert kernels[step["kernel"]] == len(step["args"]), (
                f"{where}: {step['kernel']} takes {kernels[step['kernel']]} params, "
                f"plan passes {len(step['args'])}"
            )
            assert len(step["grid"]) == 3 and all(g >= 1 for g in step["grid"]), where
            assert len(step["block"]) == 3 and all(b >= 1 for b in step["block"]), where
            assert int(np.prod(step["block"])) <= 1024, f"{where}: more than 1024 threads"
            for arg in step["args"]:
                if "scalar" in arg:
                    np.dtype(arg["scalar"])
                    continue
                spec = buffers[arg["buffer"]]
                assert arg["dtype"] == spec["dtype"], f"{where}: dtype of {arg['buffer']}"
                assert int(np.prod(arg["shape"])) == int(np.prod(spec["shape"])), (
                    f"{where}: {arg['buffer']} bound as {arg['shape']}, buffer is {spec['shape']}"
                )
                written.add(arg["buffer"])  # conservative: any binding may write
        for index in range(len(entry["outputs"])):
            assert f"output:{index}" in written, f"{name}: output {index} is never written"
        for index, spec in enumerate(entry["constants"]):
            assert len(spec["values"]) == int(np.prod(spec["shape"])), f"{name}: const {index}"


def _nbytes(spec) -> int:
    return int(np.prod(spec["shape"])) * np.dtype(spec["dtype"]).itemsize
