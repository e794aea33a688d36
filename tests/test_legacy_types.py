"""PyTorch's legacy tensor types (ag.FloatTensor, ...) against torch's: construction, isinstance, casts."""
import numpy as np
import pytest

import autograd_gpu as ag
from autograd_gpu import legacy_types

NAMES = sorted(legacy_types.CPU_TYPES)
ARGS = [(), (2, 3), ([1, 2],), ([[1.5, -2.0]],), ((2, 3),), (np.ones(2),), (0,), (2.5,), ("a",), ([1, "a"],),
        (-1,), (2, None)]


def _both(torch, name):
    return getattr(torch, name), getattr(ag, name)


def _outcome(make, sizes):
    try:
        t = make()
    except (TypeError, RuntimeError, ValueError) as e:
        return type(e)
    values = None if sizes else np.asarray(t.tolist(), dtype=float).round(6).tolist()   # (sizes: uninitialized)
    return str(t.dtype).split(".")[-1], tuple(t.shape), values


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("args", ARGS, ids=repr)
def test_construction_as_pytorch(torch, name, args):
    torch_type, ag_type = _both(torch, name)
    sizes = all(type(a) is int for a in args)
    assert _outcome(lambda: ag_type(*args), sizes) == _outcome(lambda: torch_type(*args), sizes)


@pytest.mark.parametrize("name", NAMES)
def test_a_tensor_of_the_type_is_aliased_and_another_refused(torch, name):
    torch_type, ag_type = _both(torch, name)
    t = ag.zeros(3, dtype=ag_type.dtype)
    alias = ag_type(t)
    assert alias is not t and alias.data_ptr() == t.data_ptr()
    other = ag.float64 if ag_type.dtype is not ag.float64 else ag.float32
    with pytest.raises(TypeError):
        torch_type(torch.zeros(3, dtype=getattr(torch, other.name)))
    with pytest.raises(TypeError):
        ag_type(ag.zeros(3, dtype=other))


@pytest.mark.parametrize("name", NAMES)
def test_isinstance_and_attributes_as_pytorch(torch, name):
    torch_type, ag_type = _both(torch, name)
    for dt in ("float32", "float64", "int64", "bool", "uint8", "float16"):
        ours, theirs = ag.zeros(2, dtype=getattr(ag, dt)), torch.zeros(2, dtype=getattr(torch, dt))
        assert isinstance(ours, ag_type) == isinstance(theirs, torch_type), dt
    assert isinstance(ag.zeros(2, dtype=ag_type.dtype).requires_grad_(ag_type.dtype.is_floating_point), ag_type)
    assert not isinstance(np.zeros(2), ag_type) and not issubclass(ag_type, ag.Tensor)
    assert (ag_type.dtype.name, ag_type.is_cuda, ag_type.is_sparse) == (
        str(torch_type.dtype).split(".")[-1], torch_type.is_cuda, torch_type.is_sparse)
    assert repr(ag_type) == repr(torch_type).replace("torch.", "autograd_gpu.")


@pytest.mark.parametrize("name", NAMES)
def test_type_casts_to_a_legacy_type(torch, name):
    torch_type, ag_type = _both(torch, name)
    x = [0.0, 1.5, -2.0]
    ours, theirs = ag.tensor(x).type(ag_type), torch.tensor(x).type(torch_type)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    assert ours.tolist() == theirs.tolist()


def test_a_cpu_type_refuses_a_cuda_device(torch):
    for lib in (torch, ag):
        with pytest.raises(RuntimeError, match="legacy constructor expects device type: cpu but device type: cuda"):
            lib.FloatTensor(2, device="cuda")


def test_the_cuda_types_make_cuda_tensors(device):
    assert all(getattr(ag.cuda, n) is t for n, t in legacy_types.CUDA_TYPES.items())
    assert repr(ag.cuda.FloatTensor) == "<class 'autograd_gpu.cuda.FloatTensor'>"
    kind = legacy_types.CUDA_TYPES if device == "cuda" else legacy_types.CPU_TYPES
    t = kind["DoubleTensor"]([1.0, 2.0])
    assert t.device.type == device and t.dtype is ag.float64
    assert isinstance(t, kind["DoubleTensor"]) and not isinstance(t, kind["FloatTensor"])
    other = legacy_types.CPU_TYPES if device == "cuda" else legacy_types.CUDA_TYPES
    assert not isinstance(t, other["DoubleTensor"])
    assert ag.zeros(2, device=device).type(kind["LongTensor"]).dtype is ag.int64
