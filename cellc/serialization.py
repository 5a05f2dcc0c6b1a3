"""Checkpoints in MindSpore's own format: `save_checkpoint`, `load_checkpoint`,
`load_param_into_net`.

A `.ckpt` file is the protobuf `Checkpoint` message of MindSpore's `checkpoint.proto`:

    message Checkpoint {
      message Value {
        required string tag = 1;                  // the parameter's name
        oneof value { TensorProto tensor = 2; MapTensorProto maptensor = 3; }
      }
      repeated Value value = 1;
    }
    message TensorProto {
      repeated int64 dims = 1;                    // empty for a 0-d tensor
      required string tensor_type = 2;            // MindSpore's dtype name: "Float32", "Bool"
      required bytes tensor_content = 3;          // C order, little-endian
    }

The messages are built from that schema with the protobuf library (no generated code), so a
checkpoint written by MindSpore or LuoJiaNET loads here and the reverse, byte for byte.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

from cellc import runtime
from cellc.compiler.pipeline import atomic_write
from cellc.frontend import export  # noqa: F401  (mindspore.train.serialization.export)
from cellc.runtime.dtypes import ELEMENT_TYPES
from cellc.runtime.errors import UnsupportedError

from .errors import CellcError
from .parameter import Parameter
from .tensor import Tensor

_BY_MINDSPORE = {row.mindspore: row for row in ELEMENT_TYPES}


def _checkpoint_message():
    """The `Checkpoint` message class of MindSpore's checkpoint.proto."""
    F = descriptor_pb2.FieldDescriptorProto
    proto = descriptor_pb2.FileDescriptorProto(name="cellc_checkpoint.proto", syntax="proto2")

    def message(name, fields, parent=None):
        target = (parent.nested_type if parent is not None else proto.message_type).add()
        target.name = name
        for number, (field, label, kind, type_name) in enumerate(fields, start=1):
            entry = target.field.add(name=field, number=number, label=label, type=kind)
            if type_name:
                entry.type_name = type_name
        return target

    message(
        "TensorProto",
        [
            ("dims", F.LABEL_REPEATED, F.TYPE_INT64, None),
            ("tensor_type", F.LABEL_REQUIRED, F.TYPE_STRING, None),
            ("tensor_content", F.LABEL_REQUIRED, F.TYPE_BYTES, None),
        ],
    )
    message("MapTensorProto", [("tensor", F.LABEL_REPEATED, F.TYPE_MESSAGE, ".TensorProto")])
    checkpoint = message(
        "Checkpoint", [("value", F.LABEL_REPEATED, F.TYPE_MESSAGE, ".Checkpoint.Value")]
    )
    value = message(
        "Value",
        [
            ("tag", F.LABEL_REQUIRED, F.TYPE_STRING, None),
            ("tensor", F.LABEL_OPTIONAL, F.TYPE_MESSAGE, ".TensorProto"),
            ("maptensor", F.LABEL_OPTIONAL, F.TYPE_MESSAGE, ".MapTensorProto"),
        ],
        parent=checkpoint,
    )
    value.oneof_decl.add(name="value")
    value.field[1].oneof_index = 0
    value.field[2].oneof_index = 0
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("Checkpoint"))


Checkpoint = _checkpoint_message()


class CheckpointError(CellcError, ValueError):
    """A checkpoint that cannot be read or does not fit the network; the message names the
    file and the parameter."""


def _ckpt_path(name) -> Path:
    path = Path(os.fspath(name))
    return path if path.suffix == ".ckpt" else path.with_name(path.name + ".ckpt")


def _named_values(save_obj) -> list[tuple[str, np.ndarray]]:
    """(name, value) pairs of what `save_checkpoint` saves: a Cell's parameters (MindSpore's
    order), a list of {"name", "data"} dicts, or a dict of name -> Tensor/Parameter."""
    if hasattr(save_obj, "parameters_dict"):  # by Parameter name, as MindSpore saves them
        return [(name, p.asnumpy()) for name, p in save_obj.parameters_dict().items()]
    if isinstance(save_obj, dict):
        return [(name, np.asarray(_array(value))) for name, value in save_obj.items()]
    if isinstance(save_obj, (list, tuple)):
        return [(item["name"], np.asarray(_array(item["data"]))) for item in save_obj]
    raise TypeError(
        "For 'save_checkpoint', save_obj must be a Cell, a list of {'name': ..., 'data': ...} "
        f"dicts or a dict, got {type(save_obj).__name__}"
    )


def _array(value) -> np.ndarray:
    return value.asnumpy() if isinstance(value, Tensor) else np.asarray(value)


def save_checkpoint(save_obj, ckpt_file_name, integrated_save=True, async_save=False,
                    append_dict=None, **kwargs) -> None:  # fmt: skip
    """Writes `save_obj`'s parameters to `ckpt_file_name` (`.ckpt` appended when missing) in
    MindSpore's checkpoint format; `append_dict` adds name -> number/Tensor entries. The file is
    replaced atomically: a reader sees the old checkpoint or the new one, never half."""
    values = _named_values(save_obj)
    for name, value in (append_dict or {}).items():
        values.append((name, np.asarray(_array(value))))
    message = Checkpoint()
    for name, value in values:
        row = _row_of(value.dtype, name)
        entry = message.value.add(tag=name)
        entry.tensor.dims.extend(value.shape)
        entry.tensor.tensor_type = row.mindspore
        entry.tensor.tensor_content = np.ascontiguousarray(
            value, dtype=np.dtype(row.numpy).newbyteorder("<")
        ).tobytes()
    atomic_write(_ckpt_path(ckpt_file_name), message.SerializeToString())


def _row_of(dtype: np.dtype, name: str):
    for row in ELEMENT_TYPES:
        if np.dtype(row.numpy) == dtype.newbyteorder("="):
            return row
    raise CheckpointError(f"cannot save '{name}': cellc has no checkpoint dtype for {dtype}")


def load_checkpoint(ckpt_file_name, net=None, strict_load=False, filter_prefix=None,
                    **kwargs) -> dict[str, Parameter]:  # fmt: skip
    """The parameters stored in a MindSpore checkpoint, by name (as Parameters); with `net`,
    also loads them into it (`load_param_into_net`). `filter_prefix` (a string or tuple)
    skips the names that start with it."""
    values = read_checkpoint(ckpt_file_name, filter_prefix)
    parameters = {name: Parameter(Tensor(value), name=name) for name, value in values.items()}
    if net is not None:
        load_param_into_net(net, parameters, strict_load=strict_load)
    return parameters


def read_checkpoint(ckpt_file_name, filter_prefix=None) -> dict[str, np.ndarray]:
    """The values stored in a MindSpore checkpoint, by name, as numpy arrays (what
    `cellc exec --ckpt` gives a loaded artifact)."""
    path = Path(os.fspath(ckpt_file_name))
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CheckpointError(f"cannot read checkpoint '{path}': {error.strerror}") from None
    message = Checkpoint()
    try:
        message.ParseFromString(data)
    except DecodeError:
        raise CheckpointError(
            f"checkpoint '{path}' is corrupt or truncated: it is not a MindSpore checkpoint "
            "(protobuf Checkpoint message)"
        ) from None
    prefixes = (filter_prefix,) if isinstance(filter_prefix, str) else tuple(filter_prefix or ())
    values: dict[str, np.ndarray] = {}
    for entry in message.value:
        if any(entry.tag.startswith(prefix) for prefix in prefixes):
            continue
        if entry.WhichOneof("value") != "tensor":
            raise CheckpointError(
                f"checkpoint '{path}': '{entry.tag}' is a {entry.WhichOneof('value')}, which "
                "cellc does not load"
            )
        values[entry.tag] = _tensor_value(entry, path)
    return values


def _tensor_value(entry, path: Path) -> np.ndarray:
    tensor = entry.tensor
    row = _BY_MINDSPORE.get(tensor.tensor_type)
    if row is None:
        raise CheckpointError(
            f"checkpoint '{path}': parameter '{entry.tag}' has dtype {tensor.tensor_type!r}, "
            f"which cellc does not support ({', '.join(_BY_MINDSPORE)})"
        )
    dtype = np.dtype(row.numpy).newbyteorder("<")
    shape = tuple(tensor.dims)
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(tensor.tensor_content) != expected:
        raise CheckpointError(
            f"checkpoint '{path}' is corrupt: parameter '{entry.tag}' ({tensor.tensor_type} "
            f"{list(shape)}) holds {len(tensor.tensor_content)} bytes, not {expected}"
        )
    return np.frombuffer(tensor.tensor_content, dtype=dtype).reshape(shape).astype(row.numpy)


def load_param_into_net(net, parameter_dict, strict_load=False, **kwargs):
    """Sets `net`'s parameters from `parameter_dict` (name -> Parameter or Tensor); returns
    `(param_not_load, ckpt_not_load)`: the net's parameters the dict lacks, and the dict's
    entries the net lacks. Every shape and dtype is checked before anything is set, so a
    mismatched checkpoint loads nothing."""
    if not isinstance(parameter_dict, dict):
        raise TypeError(
            "For 'load_param_into_net', the argument 'parameter_dict' should be a dict, "
            f"but got {type(parameter_dict).__name__}"
        )
    own = dict(net.parameters_dict())  # by Parameter name, as MindSpore matches them
    updates = []
    for name, param in own.items():
        if name not in parameter_dict:
            continue
        value = _array(parameter_dict[name])
        if value.shape != param.shape:
            raise CheckpointError(
                f"For 'load_param_into_net', {name} in the argument 'net' should have the same "
                f"shape as {name} in the argument 'parameter_dict'. But got its shape "
                f"{param.shape} in the argument 'net' and shape {value.shape} in the argument "
                "'parameter_dict'"
            )
        if value.dtype != param.asnumpy().dtype:
            raise CheckpointError(
                f"For 'load_param_into_net', {name} is {param.dtype} in the net but "
                f"{value.dtype} in the checkpoint"
            )
        updates.append((param, value))
    for param, value in updates:
        np.copyto(param.asnumpy(), value)  # in place: compiled programs share the array
    param_not_load = [name for name in own if name not in parameter_dict]
    ckpt_not_load = [name for name in parameter_dict if name not in own]
    return param_not_load, ckpt_not_load


def load(file_name, **kwargs):
    """MindSpore's `mindspore.load(file_name)`: the graph a `mindspore.export(...,
    file_format="MINDIR")` wrote, which `nn.GraphCell(graph)` runs. In cellc that file is a
    cellc artifact, and the graph is its loaded `cellc.runtime.Module`; an encrypted file
    (`dec_key`) cannot be one."""
    if kwargs.get("dec_key") is not None:
        raise UnsupportedError("cellc.load: encrypted graphs (dec_key) are not supported")
    if not os.path.isfile(file_name):
        raise ValueError(f"load: the file '{file_name}' does not exist")
    return runtime.load(file_name)
