"""`save(obj, path)` / `load(path, map_location=None)`: state dicts (of modules
or optimizers) in a NumPy `.npz` file, without pickle.

The file holds one array per tensor (`t0`, `t1`, ...) and a JSON description
of the object's structure (`__structure__`): nested dicts, lists and tuples of
tensors, numbers, strings, booleans and None. Nothing in it is code, so
loading reads it with `allow_pickle=False` and cannot run anything. Each
tensor remembers its device, dtype (float16/32/64, integer and bool dtypes
are native .npz dtypes), requires_grad, and whether it was an
`nn.Parameter`."""
import json
import os
import tempfile
from collections import OrderedDict

import numpy as np

from . import _dtype
from .backend import device as _device
from .tensor import Tensor

FORMAT = "autograd_gpu.save/1"
_STRUCTURE = "__structure__"


def _encode(obj, arrays):
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"value": obj}
    if isinstance(obj, Tensor):
        from .nn.parameter import Parameter
        arrays.append(obj._host())
        return {"tensor": len(arrays) - 1, "device": str(obj.device), "requires_grad": obj.requires_grad,
                "parameter": isinstance(obj, Parameter)}
    if isinstance(obj, _dtype.dtype):
        return {"dtype": obj.name}
    if isinstance(obj, _device):
        return {"device_value": str(obj)}
    if isinstance(obj, (list, tuple)):
        return {"list" if isinstance(obj, list) else "tuple": [_encode(v, arrays) for v in obj]}
    if isinstance(obj, dict):
        kind = "odict" if isinstance(obj, OrderedDict) else "dict"
        items = []
        for k, v in obj.items():
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise TypeError(f"ag.save: dict keys must be str or int, got {type(k).__name__} ({k!r})")
            items.append([k, _encode(v, arrays)])
        return {kind: items}
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return {"value": obj.item()}
    raise TypeError(f"ag.save: cannot store an object of type {type(obj).__name__}; allowed are tensors, "
                    "numbers, strings, None, dtypes, devices, and lists / tuples / dicts of them")


def save(obj, f):
    """Write `obj` (typically a state dict) to `f`, a path or a binary file.
    A path is written atomically: a failed save leaves any existing file as it was."""
    arrays = []
    structure = json.dumps({"format": FORMAT, "root": _encode(obj, arrays)})
    payload = {f"t{i}": a for i, a in enumerate(arrays)}
    payload[_STRUCTURE] = np.array(structure)
    if hasattr(f, "write"):
        np.savez(f, **payload)
        return
    path = os.fspath(f)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".ag-save-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:            # a file object: np.savez adds no ".npz" suffix
            np.savez(out, **payload)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _target_device(saved, map_location):
    if map_location is None:
        return saved
    if isinstance(map_location, dict):
        return map_location.get(saved, saved)
    if isinstance(map_location, (str, _device)):
        return str(_device(map_location))
    raise TypeError(f"ag.load: map_location must be None, a device, a device string or a dict of device "
                    f"strings, got {type(map_location).__name__}")


def _decode(node, arrays, map_location):
    (kind, value), = ((k, v) for k, v in node.items() if k in _KINDS)
    if kind == "value":
        return value
    if kind == "tensor":
        from .creation import tensor
        from .nn.parameter import Parameter
        dev = _target_device(node["device"], map_location)
        try:
            t = tensor(arrays[f"t{value}"], device=dev)
        except RuntimeError as e:
            raise RuntimeError(f"ag.load: a tensor was saved on {node['device']}, which cannot be used here "
                               f"({e}); pass map_location='cpu' to load it on the CPU") from None
        if node.get("parameter"):
            return Parameter(t, requires_grad=node["requires_grad"])
        return t.requires_grad_(node["requires_grad"]) if node["requires_grad"] else t
    if kind == "dtype":
        return _dtype.as_dtype(value)
    if kind == "device_value":
        return _device(value)
    if kind in ("list", "tuple"):
        items = [_decode(v, arrays, map_location) for v in value]
        return items if kind == "list" else tuple(items)
    items = [(k, _decode(v, arrays, map_location)) for k, v in value]
    return OrderedDict(items) if kind == "odict" else dict(items)


_KINDS = ("value", "tensor", "dtype", "device_value", "list", "tuple", "dict", "odict")


def load(f, map_location=None):
    """Read an object written by `save`. Tensors go back to the device they
    were saved from, or to `map_location` (a device, or a dict mapping saved
    device strings to new ones, e.g. {"cuda:0": "cpu"})."""
    with np.load(f, allow_pickle=False) as z:
        if _STRUCTURE not in z.files:
            raise ValueError("ag.load: not a file written by ag.save (no structure record)")
        header = json.loads(str(z[_STRUCTURE]))
        if header.get("format") != FORMAT:
            raise ValueError(f"ag.load: unsupported format {header.get('format')!r} (expected {FORMAT})")
        arrays = {name: z[name] for name in z.files if name != _STRUCTURE}
    return _decode(header["root"], arrays, map_location)
