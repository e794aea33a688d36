"""The CuPy emulator (tests/cupy_emulator.py) follows CuPy's rules, not NumPy's.

The rules and where they come from are in the emulator's docstring. Here each
one is checked on the emulator, on every machine; on a machine with a GPU, the
same probes also run on the real CuPy, and the two must agree (outcome kind,
exception type, result type, shape, dtype and values).
"""
import sys

import numpy as np
import pytest

import cupy_emulator
from autograd_gpu.backend import kernel_source as ks
from conftest import CUDA, IN_CI

if not cupy_emulator.available():
    if IN_CI:                           # a missing test dependency fails CI
        raise ImportError("the CuPy emulator checks names against the cupy package, which is not installed")
    pytest.skip("the CuPy emulator checks names against the cupy package, which is not installed",
                allow_module_level=True)
emu = cupy_emulator.module


def _outcome(fn, xp):
    """What fn(xp) does, in comparable terms."""
    try:
        r = fn(xp)
    except Exception as e:               # noqa: BLE001 - the kind of failure is the outcome
        return ("raises", type(e).__name__ if not isinstance(e, (TypeError, ValueError, IndexError,
                                                                  AttributeError, RuntimeError)) else
                [t for t in (TypeError, ValueError, IndexError, AttributeError, RuntimeError)
                 if isinstance(e, t)][0].__name__)
    if isinstance(r, xp.ndarray):
        return ("device array", r.shape, r.dtype.str, r.get().tolist())
    if isinstance(r, np.ndarray):
        return ("host array", r.shape, r.dtype.str, r.tolist())
    if isinstance(r, np.generic):
        return ("numpy scalar", type(r).__name__)
    return ("python", type(r).__name__, r if isinstance(r, (bool, int, float, str, tuple)) else None)


def _setitem(xp, key, value):
    a = xp.zeros((2, 3), dtype=np.float32)
    a[key] = value
    return a


def _add_at(xp, dtype):
    a = xp.zeros(3, dtype=dtype)
    xp.add.at(a, xp.asarray([0, 0, 2]), xp.ones(3, dtype=dtype))
    return a


def _broadcast_write(xp):
    base = xp.zeros((1, 3), dtype=np.float32)
    v = xp.broadcast_to(base, (2, 3))
    v[1, 1] = 5
    return base


a23 = lambda xp: xp.arange(6, dtype=np.float32).reshape(2, 3)      # noqa: E731


def _kernel(xp, name="neg", dtype="float32"):
    """Our ElementwiseKernel of pointwise primitive `name` (neg: exact on any device)."""
    d = ks.elementwise_definition(name, dtype)
    return xp.ElementwiseKernel(d.in_params, d.out_params, d.operation, d.name, preamble=d.preamble,
                                options=d.options)


def _kernel_into(xp, out, *args, name="neg"):
    r = _kernel(xp, name)(*args, out)
    return r is out, r.strides, r.get().tolist()

PROBES = {
    "np.asarray refuses": lambda xp: np.asarray(a23(xp)),
    "np.array refuses": lambda xp: np.array(a23(xp)),
    "ufunc with a host array": lambda xp: np.add(a23(xp), np.ones(3, np.float32)),
    "operator with a host array": lambda xp: a23(xp) + np.ones(3, np.float32),
    "reflected operator with a host array": lambda xp: np.ones(3, np.float32) * a23(xp),
    "ufunc with a 0-d host array": lambda xp: np.multiply(a23(xp), np.array(2.0)),
    "comparison with a 0-d host array": lambda xp: a23(xp) > np.array(2.0),
    "ufunc with a NumPy scalar": lambda xp: np.multiply(a23(xp), np.float32(2)),
    "ufunc with a Python scalar": lambda xp: a23(xp) * 2.5,
    "ufunc reduce": lambda xp: np.add.reduce(a23(xp), axis=1, keepdims=True),
    "ufunc reduce, a NumPy-only keyword": lambda xp: np.add.reduce(a23(xp), axis=1, initial=1.0),
    "ufunc, a NumPy-only keyword": lambda xp: np.add(a23(xp), 1, where=True),
    "np.add.at with a tuple index": lambda xp: np.add.at(xp.zeros((2, 3)), (xp.asarray([0, 0]), xp.asarray([1, 1])),
                                                          xp.ones(2)),
    "cupy.add.at float32": lambda xp: _add_at(xp, np.float32),
    "cupy.add.at int64": lambda xp: _add_at(xp, np.int64),
    "array function CuPy has": lambda xp: np.concatenate([a23(xp), a23(xp)]),
    "array function mixing host and device": lambda xp: np.concatenate([a23(xp), np.zeros((1, 3), np.float32)]),
    "array function CuPy lacks": lambda xp: np.insert(a23(xp), 1, 0.0),
    "array function, a NumPy-only keyword": lambda xp: np.amax(a23(xp), axis=0, initial=0.0),
    "sum gives a 0-d device array": lambda xp: a23(xp).sum(),
    "np.sum gives a 0-d device array": lambda xp: np.sum(a23(xp)),
    "count_nonzero gives a 0-d device array": lambda xp: np.count_nonzero(a23(xp)),
    "int index of a 1-d array": lambda xp: xp.arange(3)[1],
    "int index is a view": lambda xp: (lambda a: (a[1].__setitem__((), 7), a)[1])(xp.arange(3)),
    "int index out of bounds": lambda xp: a23(xp)[5],
    "int array index out of bounds wraps": lambda xp: a23(xp)[[0, 3]],
    "list index": lambda xp: a23(xp)[[1, 0]],
    "host array index": lambda xp: a23(xp)[np.array([1, 0])],
    "host mask index": lambda xp: a23(xp)[np.array([True, False])],
    "setitem of a host array": lambda xp: _setitem(xp, 0, np.ones(3, np.float32)),
    "setitem of a list": lambda xp: _setitem(xp, (slice(None), 1), [1.0, 2.0]),
    "writable broadcast view": _broadcast_write,
    "method CuPy lacks": lambda xp: a23(xp).setflags(write=False),
    "attribute CuPy lacks": lambda xp: a23(xp).__array_interface__,
    "method keyword CuPy lacks": lambda xp: a23(xp).sum(where=True),
    "method keyword CuPy has": lambda xp: a23(xp).sum(axis=0, keepdims=True),
    "reshape": lambda xp: a23(xp).T.reshape(6),
    "astype copy=False": lambda xp: a23(xp).astype(np.float32, copy=False),
    "item": lambda xp: a23(xp)[1, 2].item(),
    "float of a 0-d array": lambda xp: float(a23(xp)[1, 2]),
    "operator.index refuses": lambda xp: range(xp.asarray(3)),
    "len of a 0-d array": lambda xp: len(xp.asarray(3.0)),
    "iteration gives 0-d arrays": lambda xp: next(iter(xp.arange(3))),
    "asnumpy": lambda xp: xp.asnumpy(a23(xp)),
    "get": lambda xp: a23(xp).get(),
    "cuda_array_interface strides": lambda xp: a23(xp).T.__cuda_array_interface__["strides"],
    "dlpack device": lambda xp: a23(xp).__dlpack_device__(),
    "device id": lambda xp: a23(xp).data.device_id + a23(xp).device.id,
    "object dtype refused": lambda xp: xp.asarray([object()]),
    "zeros_like": lambda xp: np.zeros_like(a23(xp), shape=(2,)),
    "where": lambda xp: np.where(a23(xp) > 2, a23(xp), 0),
    "integer power, negative exponents": lambda xp: xp.asarray([1, -1, -1, 2, 3]) ** xp.asarray([-1, -1, -2, -1, 2]),
    "integer power, a negative Python exponent": lambda xp: xp.asarray([1, -1, 2]) ** -1,
    # layouts: fresh elementwise results in C order; astype keeps the layout
    "ufunc result of a transposed array": lambda xp: (a23(xp).T * 2).strides,
    "ufunc result, out= keeps its layout": lambda xp: np.negative(a23(xp).T, out=xp.zeros((2, 3), np.float32).T).strides,
    "where result of transposed arrays": lambda xp: np.where(a23(xp).T > 2, a23(xp).T, 0).strides,
    "clip result of a transposed array": lambda xp: np.clip(a23(xp).T, 1, 4).strides,
    "astype of a transposed array": lambda xp: a23(xp).T.astype(np.float64).strides,
    "empty_like of a transposed array": lambda xp: np.empty_like(a23(xp).T).strides,
    "kernel result of a transposed array": lambda xp: _kernel(xp)(a23(xp).T).strides,
    "kernel writes into out": lambda xp: _kernel_into(xp, xp.zeros((2, 3), np.float32).T, a23(xp).T),
    "kernel out, bool": lambda xp: _kernel_into(xp, xp.zeros((2, 3), bool), a23(xp), np.float32(2), name="gt"),
    "kernel out broadcasts the inputs": lambda xp: _kernel_into(xp, xp.zeros((2, 3), np.float32), xp.arange(
        3, dtype=np.float32)),
    "kernel out of another dtype": lambda xp: _kernel(xp)(a23(xp), xp.zeros((2, 3), np.float64)),
    "kernel out of another shape": lambda xp: _kernel(xp)(a23(xp), xp.zeros((3, 2), np.float32)),
    "kernel out, a host array": lambda xp: _kernel(xp)(a23(xp), np.zeros((2, 3), np.float32)),
    "kernel, too many arguments": lambda xp: _kernel(xp)(a23(xp), a23(xp), a23(xp)),
    # float -> unsigned: the GPU's cvt saturates (PTX ISA); NumPy wraps
    "astype float -> uint8": lambda xp: xp.asarray([-1.5, -1.0, -0.5, 0.5, 254.9, 255.5, 300.0, 1e3]).astype(
        np.uint8),
    "astype float32 -> uint8": lambda xp: xp.asarray([-1.5, 300.0], dtype=np.float32).astype(np.uint8),
    "astype float -> int64": lambda xp: xp.asarray([-1.5, 300.0]).astype(np.int64),
}


@pytest.mark.parametrize("name", list(PROBES))
def test_probe_on_the_emulator(name, monkeypatch):
    """Every probe runs, and the ones whose CuPy outcome the source fixes give it."""
    monkeypatch.setitem(sys.modules, "cupy", emu)
    got = _outcome(PROBES[name], emu)
    want = EXPECTED.get(name)
    if want is not None:
        assert got[:len(want)] == want, (name, got)


# outcomes CuPy's source decides (core.pyx, _routines_indexing.pyx, _kernel.pyx): see the emulator's docstring
EXPECTED = {
    "np.asarray refuses": ("raises", "TypeError"),
    "np.array refuses": ("raises", "TypeError"),
    "ufunc with a host array": ("raises", "TypeError"),
    "operator with a host array": ("raises", "TypeError"),
    "reflected operator with a host array": ("raises", "TypeError"),
    "ufunc with a 0-d host array": ("raises", "TypeError"),
    "comparison with a 0-d host array": ("device array", (2, 3), "|b1"),
    "ufunc with a NumPy scalar": ("device array", (2, 3), "<f4"),
    "ufunc with a Python scalar": ("device array", (2, 3), "<f4"),
    "ufunc reduce": ("device array", (2, 1), "<f4", [[3.0], [12.0]]),
    "ufunc reduce, a NumPy-only keyword": ("raises", "TypeError"),
    "ufunc, a NumPy-only keyword": ("raises", "TypeError"),
    "np.add.at with a tuple index": ("raises", "TypeError"),
    "cupy.add.at float32": ("device array", (3,), "<f4", [2.0, 0.0, 1.0]),
    "cupy.add.at int64": ("device array", (3,), "<i8", [2, 0, 1]),
    "array function CuPy has": ("device array", (4, 3), "<f4"),
    "array function mixing host and device": ("raises", "TypeError"),
    "array function CuPy lacks": ("raises", "TypeError"),
    "array function, a NumPy-only keyword": ("raises", "TypeError"),
    "sum gives a 0-d device array": ("device array", (), "<f4", 15.0),
    "np.sum gives a 0-d device array": ("device array", (), "<f4", 15.0),
    "count_nonzero gives a 0-d device array": ("device array", ()),
    "int index of a 1-d array": ("device array", ()),
    "int index is a view": ("device array", (3,), "<i8", [0, 7, 2]),
    "int index out of bounds": ("raises", "IndexError"),
    "int array index out of bounds wraps": ("device array", (2, 3), "<f4", [[0, 1, 2], [3, 4, 5]]),
    "list index": ("device array", (2, 3)),
    "host array index": ("device array", (2, 3)),
    "host mask index": ("device array", (1, 3)),
    "setitem of a host array": ("raises", "ValueError"),
    "setitem of a list": ("raises", "ValueError"),
    "writable broadcast view": ("device array", (1, 3), "<f4", [[0, 5, 0]]),
    "method CuPy lacks": ("raises", "AttributeError"),
    "attribute CuPy lacks": ("raises", "AttributeError"),
    "method keyword CuPy lacks": ("raises", "TypeError"),
    "method keyword CuPy has": ("device array", (1, 3)),
    "item": ("python", "float", 5.0),
    "float of a 0-d array": ("python", "float", 5.0),
    "operator.index refuses": ("raises", "TypeError"),
    "len of a 0-d array": ("raises", "TypeError"),
    "iteration gives 0-d arrays": ("device array", ()),
    "asnumpy": ("host array", (2, 3)),
    "get": ("host array", (2, 3)),
    "cuda_array_interface strides": ("python", "tuple", (4, 12)),
    "dlpack device": ("python", "tuple", (2, 0)),
    "device id": ("python", "int", 0),
    "object dtype refused": ("raises", "ValueError"),
    # CuPy's integral_power (_routines_math.pyx) where NumPy raises ValueError
    "integer power, negative exponents": ("device array", (5,), "<i8", [1, -1, 1, 0, 9]),
    "integer power, a negative Python exponent": ("device array", (3,), "<i8", [1, -1, 0]),
    # _kernel.pyx: ufunc and ElementwiseKernel outputs are allocated C-contiguous (_ndarray_init);
    # core.pyx: astype(order="K") and empty_like keep the layout (_get_strides_for_order_K)
    "ufunc result of a transposed array": ("python", "tuple", (8, 4)),
    "ufunc result, out= keeps its layout": ("python", "tuple", (4, 12)),
    "where result of transposed arrays": ("python", "tuple", (8, 4)),
    "clip result of a transposed array": ("python", "tuple", (8, 4)),
    "astype of a transposed array": ("python", "tuple", (8, 24)),
    "empty_like of a transposed array": ("python", "tuple", (4, 12)),
    "kernel result of a transposed array": ("python", "tuple", (8, 4)),
    # ElementwiseKernel.__call__: outputs after the inputs (_decide_params_type_core, _get_out_args_with_params)
    "kernel writes into out": ("python", "tuple", (True, (4, 12), [[-0.0, -3.0], [-1.0, -4.0], [-2.0, -5.0]])),
    "kernel out, bool": ("python", "tuple", (True, (3, 1), [[False, False, False], [True, True, True]])),
    "kernel out broadcasts the inputs": ("python", "tuple", (True, (12, 4), [[-0.0, -1.0, -2.0]] * 2)),
    "kernel out of another dtype": ("raises", "TypeError"),
    "kernel out of another shape": ("raises", "ValueError"),
    "kernel out, a host array": ("raises", "TypeError"),
    "kernel, too many arguments": ("raises", "TypeError"),
    # the C cast of a float to an unsigned char: cvt.rzi.u8 clamps to [0, 255] (PTX ISA, cvt)
    "astype float -> uint8": ("device array", (8,), "|u1", [0, 0, 0, 0, 254, 255, 44, 232]),
    "astype float32 -> uint8": ("device array", (2,), "|u1", [0, 44]),
    "astype float -> int64": ("device array", (2,), "<i8", [-1, 300]),
}


@pytest.mark.gpu
@pytest.mark.skipif(not CUDA, reason="compares the emulator with the real CuPy: needs a real GPU")
@pytest.mark.parametrize("name", list(PROBES))
def test_probe_agrees_with_real_cupy(name):
    real = cupy_emulator._real
    assert _outcome(PROBES[name], emu) == _outcome(PROBES[name], real)


def test_namespace_is_cupys():
    """The module and the ndarray have the names CuPy has, and refuse others."""
    for name in ("exp", "add", "concatenate", "float32", "take_along_axis", "zeros_like"):
        assert hasattr(emu, name) and hasattr(cupy_emulator._real, name)
    for name in ("errstate", "insert", "not_a_function"):
        assert not hasattr(cupy_emulator._real, name)
        with pytest.raises(AttributeError):
            getattr(emu, name)
    a = emu.zeros(3)
    assert not isinstance(a, np.ndarray) and type(a).__name__ == "ndarray"
    for name in ("setflags", "itemset", "tostring", "__array_interface__", "to_device"):
        assert not hasattr(cupy_emulator._real.ndarray, name)
        assert not hasattr(a, name)


def test_devices_and_random():
    assert emu.cuda.runtime.getDeviceCount() == 1
    with emu.cuda.Device(0):
        assert emu.cuda.runtime.getDevice() == 0
    with pytest.raises(emu.cuda.runtime.CUDARuntimeError, match="invalid device ordinal"):
        with emu.cuda.Device(1):
            pass
    rs = emu.random.RandomState(seed=5, method=emu.cuda.curand.CURAND_RNG_PSEUDO_PHILOX4_32_10)
    assert rs.standard_normal((4,), dtype=np.float32).dtype == np.float32
    with pytest.raises(TypeError):
        rs.standard_normal((4,), dtype=np.float16)         # cuRAND: float32/float64 only
    again = emu.random.RandomState(seed=5, method=emu.cuda.curand.CURAND_RNG_PSEUDO_PHILOX4_32_10)
    np.testing.assert_array_equal(again.random_sample(3).get(), emu.random.RandomState(seed=5).random_sample(3).get())
