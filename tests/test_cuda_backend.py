"""The CUDA backend: what can be checked without a GPU, and GPU tests.

Without a GPU:
* ag.cuda.is_available() / device_count() never raise; the reasons CUDA cannot
  work (CuPy missing, no driver, no device, index out of range) reach the user
  as RuntimeError with the fix, simulated with monkeypatch;
* the CuPy wrappers of cupy_kernels (dtype dispatch, scalar casts, fallbacks to
  the twin, reduction layouts and launch configuration) run end to end against
  a stand-in for CuPy whose ElementwiseKernel / RawModule execute the host build
  of the kernels (tests/test_kernels_host.py), and are compared with the twins.

With a GPU (@pytest.mark.gpu): every kernel on the device against the twin,
the backend's conversions and random state, warmup, and that cupy_codegen
reproduces the source CuPy really compiles.

Without a GPU, the CuPy emulator (tests/cupy_emulator.py) stands in for the
device: tests/conftest.py installs it as `cupy` for every `gpu` test (the
`cuda` param of the `device` fixture included), so the library's whole CuPy
code path (every op forward and backward on CuPy arrays, conversions, printing,
device checks, nn and optim) runs on every CI run. Its ndarray wraps a NumPy
array but follows CuPy's rules where NumPy's are looser (no implicit host
conversion, no host arrays in ufuncs, only the functions and methods CuPy has,
0-d arrays where NumPy gives scalars, wrapping integer indices, writable
broadcast views), and its ElementwiseKernel / RawModule run the host build of
our kernels. Tests of device-side behaviour (marked `real_gpu`: the CUDA math
library, NVRTC compilation, memory pools) still need a real GPU; they skip
saying so. AG_CUDA_EMULATOR=0 turns the emulator off (the cuda tests skip).
"""
import contextlib
import io
import math
import sys
import types

import numpy as np
import pytest

import autograd_gpu.cuda as ag_cuda
from autograd_gpu.backend import cupy_backend, cupy_kernels as ck, kernel_source as ks
from autograd_gpu.backend.device import device
from autograd_gpu.ops import prims
from autograd_gpu.optim import _fused

from conftest import needs_cuda as needs_gpu, unavailable      # needs_cuda: a real device, or the CuPy emulator


# --- availability and error messages -----------------------------------------------------

def _fake_cupy(count=None, error=None):
    """A cupy module whose runtime reports `count` devices or raises `error`."""
    def get_count():
        if error is not None:
            raise error
        return count

    runtime = types.SimpleNamespace(getDeviceCount=get_count, getDevice=lambda: 0)
    cuda = types.SimpleNamespace(runtime=runtime, Device=lambda i=0: contextlib.nullcontext())
    return types.SimpleNamespace(cuda=cuda, __name__="cupy")


class CUDARuntimeError(RuntimeError):
    pass


def test_availability_never_raises():
    assert isinstance(ag_cuda.is_available(), bool)
    assert isinstance(ag_cuda.device_count(), int)
    assert ag_cuda.device_count() >= 0
    assert ag_cuda.is_available() == (ag_cuda.device_count() > 0)


def test_cupy_not_installed(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)           # import cupy -> ImportError
    assert ag_cuda.is_available() is False
    assert ag_cuda.device_count() == 0
    with pytest.raises(RuntimeError, match="CuPy is not installed") as e:
        cupy_backend.CupyBackend(device("cuda:0"))
    assert "autograd_gpu[cuda12]" in str(e.value) and "autograd_gpu[cuda13]" in str(e.value)


def test_no_driver(monkeypatch):
    err = CUDARuntimeError("cudaErrorInsufficientDriver: CUDA driver version is insufficient for CUDA runtime version")
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(error=err))
    assert ag_cuda.device_count() == 0 and not ag_cuda.is_available()
    with pytest.raises(RuntimeError, match="no usable NVIDIA driver") as e:
        cupy_backend.CupyBackend(device("cuda"))
    assert "pip install" in str(e.value)


def test_cuda_libraries_missing(monkeypatch):
    err = RuntimeError("CuPy failed to load libcudart.so.12: OSError: libcudart.so.12: cannot open shared object file")
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(error=err))
    with pytest.raises(RuntimeError, match="cannot load a CUDA library"):
        cupy_backend.CupyBackend(device("cuda"))
    err = RuntimeError("CuPy failed to load libcuda.so.1: OSError: libcuda.so.1: cannot open shared object file")
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(error=err))
    with pytest.raises(RuntimeError, match="no usable NVIDIA driver"):
        cupy_backend.CupyBackend(device("cuda"))


@pytest.mark.parametrize("fake", [dict(count=0), dict(error=CUDARuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected"))])
def test_no_device(monkeypatch, fake):
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(**fake))
    assert ag_cuda.device_count() == 0
    with pytest.raises(RuntimeError, match="no CUDA device"):
        cupy_backend.CupyBackend(device("cuda:0"))


def test_device_index_out_of_range(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(count=2))
    assert ag_cuda.device_count() == 2
    with pytest.raises(RuntimeError, match=r"cuda:3 is out of range.*2 CUDA device\(s\), cuda:0 to cuda:1"):
        cupy_backend.CupyBackend(device("cuda:3"))


def test_cuda_functions_say_why(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)
    for fn in (ag_cuda.current_device, ag_cuda.warmup, ag_cuda.synchronize):
        with pytest.raises(RuntimeError, match="CuPy is not installed"):
            fn()


def test_manual_seed_without_device_is_remembered(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)
    monkeypatch.setattr(cupy_backend, "pending_seeds", {})
    monkeypatch.setattr(cupy_backend, "pending_seed_all", [None])
    ag_cuda.manual_seed(123)
    assert cupy_backend.pending_seeds == {0: 123}
    ag_cuda.manual_seed_all(7)
    assert cupy_backend.pending_seeds == {} and cupy_backend.pending_seed_all == [7]


def test_get_returns_a_callable_or_none():
    for name in ks.POINTWISE:
        assert callable(ck.get(name))
    for name in list(ks.REDUCTIONS) + list(ks.ROWWISE):
        assert callable(ck.get(name))
    for name in ("reshape", "expand", "getitem", "matmul", "sum_to_shape", "prod_others", "index_add"):
        assert ck.get(name) is None                  # the twin serves
    assert ck.get("exp") is ck.get("exp")           # cached


def test_launch_config():
    for rows, n, inner in [(1, 10**6, 1), (1000, 17, 1), (10, 16, 1), (5, 300, 7), (10**8, 3, 1)]:
        grid, block, mode = ck._launch_config(rows, n, inner)
        assert 1 <= grid <= 1 << 16
        if mode:
            assert inner == 1 and block & (block - 1) == 0 and 32 <= block <= 256
        else:
            assert block == 128 and grid * block >= min(rows, (1 << 16) * 128)


def test_normalize_axes():
    assert ck._normalize_axes(None, 3) == (0, 1, 2)
    assert ck._normalize_axes(-1, 3) == (2,)
    assert ck._normalize_axes((2, 0), 3) == (0, 2)
    assert ck._normalize_axes((), 3) == ()
    assert ck._normalize_axes(None, 0) == ()
    for bad in (3, -4, (0, 0), (0, -3), 1.0, True, "0"):
        assert ck._normalize_axes(bad, 3) is None
    assert ck._normalize_axes(0, 0) is None


# --- the wrappers, end to end on the host ---------------------------------------------------

@pytest.fixture
def host_cupy(monkeypatch):
    """The CuPy emulator as `cupy`, whose ElementwiseKernel / RawModule run the
    host build of our kernels; `host_cupy.calls` lists the kernels launched."""
    import cupy_emulator
    if not cupy_emulator.available():
        unavailable("the CuPy emulator checks names against the cupy package, which is not installed")
    monkeypatch.setitem(sys.modules, "cupy", cupy_emulator.module)
    monkeypatch.setattr(ck, "_impls", {})
    monkeypatch.setattr(ck, "_modules", ck._Modules())
    monkeypatch.setattr(cupy_emulator.kernels, "launches", [])
    monkeypatch.setattr(cupy_emulator.kernels, "row_launches", [])
    return types.SimpleNamespace(calls=cupy_emulator.kernels.launches,
                                 row_launches=cupy_emulator.kernels.row_launches)


def _fake(a):
    """A device copy of host array `a` (on the emulator)."""
    return sys.modules["cupy"].asarray(a)


def _host(a):
    """A device array's (or a scalar's) values on the host."""
    return a.get() if isinstance(a, sys.modules["cupy"].ndarray) else np.asarray(a)


def _assert_like_twin(got, want, ulps, what):
    from test_kernels_host import assert_matches
    assert isinstance(got, sys.modules["cupy"].ndarray), f"{what}: result is not a device array"
    assert_matches(_host(got), np.asarray(want), ulps, what)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_pointwise_wrappers_on_host(host_cupy, dtype):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((3, 4)).astype(dtype)
    b = rng.standard_normal((4,)).astype(dtype)                     # broadcast
    c = rng.standard_normal((4, 3)).astype(dtype).T                 # non-contiguous
    pos = np.abs(a) + 0.5
    mask = rng.random((3, 4)) < 0.5
    tol = 0 if dtype != "float16" else 1
    cases = [
        ("exp", (a,)), ("neg", (c,)), ("add", (a, b)), ("mul", (a, 2.5)), ("sub", (a, c)),
        ("div", (a, 3)), ("pow", (pos, 2)), ("pow", (pos, 0.5)), ("pow", (pos, b)), ("rpow", (a, 2.0)),
        ("rsub", (a, 1.0)), ("clamp", (a, -0.5, None)), ("clamp", (a, None, 0.25)), ("clamp", (a, -0.1, 0.1)),
        ("maximum", (a, c)), ("add_scaled", (a, b, -2.0)), ("where", (mask, a, 0.0)), ("where", (mask, 1, b)),
        ("lt", (a, b)), ("ge", (a, 0.0)), ("isnan", (a,)), ("exp_bwd", (a, c)), ("tanh_bwd", (b, a)),
        ("clamp_bwd", (a, c, -0.5, None)), ("pow_bwd", (a, pos, 3)), ("pow_bwd", (a, pos, 0.5)),
        ("pow_bwd_base", (a, pos, c)), ("pow_bwd_exp", (a, pos, c, pos ** c)), ("div_bwd_b", (a, c, pos)),
        ("maximum_bwd", (a, a, c)), ("var_bwd", (a, c, b, 0.5)), ("select_bwd", (a, mask, 2)),
        ("select_bwd", (a, mask, np.full((3, 1), 2, dtype=np.int64))), ("logsumexp_bwd", (a, c, b)),
    ]
    for name, args in cases:
        fargs = [_fake(v) if isinstance(v, np.ndarray) else v for v in args]
        targs = list(args)
        if name == "select_bwd":
            targs[2] = np.asarray(args[2]).astype(dtype)             # the twin would promote int counts
        twin = getattr(prims, name).twin
        with np.errstate(all="ignore"):
            if dtype == "float16":                                   # the GPU computes half in float
                t32 = [v.astype(np.float32) if isinstance(v, np.ndarray) and v.dtype == np.float16 else v
                       for v in targs]
                want = np.asarray(twin(*t32))
                want = want.astype(np.float16) if want.dtype == np.float32 else want
            else:
                want = twin(*targs)
            host_cupy.calls.clear()
            got = ck.get(name)(*fargs)
        assert host_cupy.calls, f"{name}{args!r}: no kernel ran"
        ulps = max(tol, 4 if name in ("exp", "rpow", "pow", "pow_bwd", "pow_bwd_base", "pow_bwd_exp",
                                      "logsumexp_bwd") else 0)
        _assert_like_twin(got, want, ulps, f"{name} {dtype}")


def test_pointwise_wrappers_fall_back_to_the_twin(host_cupy):
    a32 = _fake(np.arange(6, dtype=np.float32).reshape(2, 3))
    a64 = _fake(np.arange(6, dtype=np.float64).reshape(2, 3))
    i64 = _fake(np.arange(6, dtype=np.int64))
    for name, args in [("add", (i64, 1)),                     # integer dtype: no kernel
                       ("add", (a32, a64)),                   # mixed dtypes: the twin promotes
                       ("mul", (a32, np.float64(2.0))),       # a strong NumPy scalar promotes
                       ("add", (a32, np.zeros(3, np.float32))),  # a host array
                       ("clamp", (a32, None, None))]:
        host_cupy.calls.clear()
        twin = getattr(prims, name).twin
        try:
            want = twin(*args)
        except Exception as e:                                # the twin's own error must surface
            with pytest.raises(type(e)):
                ck.get(name)(*args)
        else:
            got = ck.get(name)(*args)
            np.testing.assert_array_equal(_host(got), _host(want))
            assert _host(got).dtype == _host(want).dtype
        assert not host_cupy.calls, f"{name}: a kernel ran for {args!r}"
    # a Python scalar stays weak: float32 stays float32
    host_cupy.calls.clear()
    assert ck.get("mul")(a32, 2.5).dtype == np.float32 and host_cupy.calls == ["ag_mul_float32_vas"]
    assert ck.get("pow")(a32, 2).dtype == np.float32 and host_cupy.calls[-1] == "ag_pow_scalar_float32_vas"


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_reduction_wrappers_on_host(host_cupy, dtype):
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((4, 5, 60)) * 2).astype(dtype)
    xt = x.transpose(2, 0, 1)                                  # non-contiguous
    eps = float(np.finfo(dtype).eps)
    for name in ks.REDUCTIONS:
        for arr in (x, xt):
            for axis in (None, 0, -1, (0, 2), (1,), ()):
                if name in ("argmax", "argmin") and isinstance(axis, tuple):
                    continue
                for keepdims in (False, True):
                    rest = (1,) if name == "var" else ()
                    inp = arr > 1 if name in ("any", "all") and axis == 0 else arr       # bool data too
                    src = inp.astype(np.float32) if inp.dtype == np.float16 else inp
                    want = np.asarray(getattr(prims, name).twin(src, axis, keepdims, *rest))
                    if dtype == "float16" and want.dtype == np.float32:
                        want = want.astype(np.float16)
                    host_cupy.calls.clear()
                    got = ck.get(name)(_fake(inp), axis, keepdims, *rest)
                    what = f"{name} {dtype} {arr.shape} axis={axis} keepdims={keepdims}"
                    assert host_cupy.calls, what
                    assert got.shape == want.shape and got.dtype == want.dtype, what
                    if want.dtype.kind in "biu" or name in ("amax", "amin"):
                        np.testing.assert_array_equal(_host(got), want, err_msg=what)
                    else:
                        tol = 2 * float(np.finfo(np.float16).eps) if dtype == "float16" else 64 * eps
                        np.testing.assert_allclose(_host(got).astype(np.float64), want.astype(np.float64),
                                                   rtol=tol, atol=tol * 60, err_msg=what)
    # zero-size input and bad axes: the twin (and its errors)
    host_cupy.calls.clear()
    assert ck.get("sum")(_fake(np.zeros((0, 3), dtype)), 0, False).shape == (3,)
    with pytest.raises(Exception):
        ck.get("sum")(_fake(x), 5, False)
    with pytest.raises(Exception):
        ck.get("amax")(_fake(np.zeros((0,), dtype)), None, False)
    assert not host_cupy.calls


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_pack_path_gives_the_elementwise_kernels_result(host_cupy, dtype):
    """Pointwise.fast, the pack kernel's one-pass path (contiguous arrays of one
    shape, a bias row, one element; numbers and NumPy scalars of the dtype),
    gives what the ElementwiseKernel gives on operands() arguments, with the
    same scalar conversion (a number rounded to the dtype, then the math type:
    1e5 is inf in half), bit for bit; anything else it leaves to the
    ElementwiseKernel, whose result is the twin's."""
    from test_kernels_host import assert_matches
    rng = np.random.default_rng(11)
    x, y = (_fake((rng.standard_normal((3, 8)) * 2).astype(dtype)) for _ in range(2))
    mask = _fake(rng.random((3, 8)) < 0.5)
    v = _fake(rng.standard_normal(40).astype(dtype))
    g = sys.modules["cupy"].broadcast_to(v[3], (40,))               # sum's expanded gradient
    width = 16 // np.dtype(dtype).itemsize
    m = _fake(rng.standard_normal((5, 2 * width)).astype(dtype))   # with a bias row: x @ w + b
    calls = [("mul", (x, y)), ("mul", (x, 1e5)), ("add", (x, 3)), ("tanh_bwd", (x, y)), ("where", (mask, x, y)),
             ("pow_scalar", (x, 0.5)), ("sub", (x, 0.1)), ("eq", (x, y)), ("sigmoid", (x,)),
             ("mul", (g, v)), ("mul", (v, g)), ("add", (g, v)), ("sub", (v, g)), ("tanh_bwd", (v, v)),
             ("tanh_bwd", (g, v)), ("pow_bwd", (g, v, 2, 1)),         # a backward's gradient from a sum
             ("add", (m, m[1])), ("add", (m, m[2:3])), ("mul", (m, m[0])), ("sub", (m, m[0])),
             ("mul", (x, x[1:2, 3:4])), ("mul", (x, np.dtype(dtype).type(2.5))), ("mul", (x, True)),
             ("add", (m[:, :1].copy(), m[:1, :1].copy()))]                # a bias of one: one element
    for name, args in calls:
        impl = ck.get(name)
        fast = impl.fast(args)
        general = impl.operands(args)
        assert general is not None and not general[3], name
        want = impl.kernel(general[0])(*general[2])
        assert fast is not None and fast.dtype == want.dtype and fast.shape == want.shape, (name, args)
        shapes = [a.shape for a in args if hasattr(a, "shape")]
        assert_matches(_host(fast), _host(want), 0, f"fast {name} {dtype} {shapes}")
    for name, args in [("tanh_bwd", (v, g)), ("sub", (g, v)), ("mul", (g, g))]:
        assert ck.get(name).fast(args) is None, name
    col = _fake(rng.standard_normal((2 * width, 1)).astype(dtype))
    for args in [(m, m[0, :width]), (m[:, :width].copy(), m[0, :width + 1][1:]), (m[0], m), (m.T.copy(), col),
                 (m[:, :3].copy(), m[0, :3].copy())]:          # (a row of 3: not whole packs)
        assert ck.get("add").fast(args) is None, [a.shape for a in args]
    mul = ck.get("mul")
    strong = np.float64(2) if dtype != "float64" else np.float32(2)            # the twin's promotion
    for args in [(x[:, 1:], x[:, 1:]), (x.T, x.T), (x, x[:, :1]), (x, strong),
                 (x, _fake(np.ones((3, 8), "float64" if dtype != "float64" else "float32"))),
                 (_fake(np.zeros((0, 8), dtype)),) * 2, (x.reshape(-1)[1:-7].reshape(2, 8), x[:2])]:
        assert mul.fast(args) is None, args
        want = mul.twin(*[_host(a) if isinstance(a, sys.modules["cupy"].ndarray) else a for a in args])
        np.testing.assert_array_equal(_host(mul(*args)), want)          # the general path's result


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_a_losss_backward_runs_pack_kernels(host_cupy, dtype):
    """A loss ending in a sum or a mean hands the pointwise backwards before it
    their gradient expanded (a view repeating one element): they still run
    pack kernels (form "1"), no ElementwiseKernel, and give PyTorch's gradients."""
    import autograd_gpu as ag
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x0, t0 = (rng.standard_normal((6, 16)).astype(dtype) for _ in range(2))
    losses = [lambda m, x, t: ((x.tanh() - t) ** 2).sum(), lambda m, x, t: (m.sigmoid(x) * x).mean()]
    for loss in losses:
        x = ag.tensor(x0, device="cuda", requires_grad=True)
        out = loss(ag, x, ag.tensor(t0, device="cuda"))
        host_cupy.calls.clear()
        out.backward()
        pointwise = [k for k in host_cupy.calls if k.split("_" + dtype)[0][3:] in ks.POINTWISE]
        assert pointwise and all(k.rsplit("_", 1)[-1].startswith("v") for k in pointwise), host_cupy.calls
        xt = torch.tensor(x0.astype(np.float64), requires_grad=True)
        loss(torch, xt, torch.tensor(t0.astype(np.float64))).backward()
        tol = 4e-3 if dtype == "float16" else 1e-5
        np.testing.assert_allclose(x.grad.cpu().numpy().astype(np.float64), xt.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("n", [1 << 16, (1 << 17) + 3 * 4096 + 7, 17 * 4096 + 1, 40000])
def test_long_sums_are_split_into_chunks(host_cupy, dtype, n):
    """A full sum or mean of >= 65,536 elements runs as partial sums of 4,096
    elements, then the partials (one block for all of it left an H200 idle:
    3.2 ms for 10M floats); shorter arrays keep one launch. Half is summed in
    float32, as its kernel accumulates."""
    x = np.random.default_rng(n).standard_normal(n).astype(dtype)
    want = x.astype(np.float64).sum()
    # (axis None: Reduction.total, the lean path; an axis: run())
    for name, axis, keepdims in [("sum", None, False), ("mean", 0, True), ("sum", (0,), True), ("mean", None, True)]:
        host_cupy.calls.clear()
        got = ck.get(name)(_fake(x), axis, keepdims)
        split = n >= 1 << 16
        assert len(host_cupy.calls) == (2 if split else 1), (name, host_cupy.calls)     # (no tail launch)
        assert got.shape == ((1,) if keepdims else ()) and _host(got).dtype == np.dtype(dtype)
        ref = want / n if name == "mean" else want
        scale = np.abs(x.astype(np.float64)).sum() / (n if name == "mean" else 1)
        tol = 1e-3 if dtype == "float16" else 1e-6 if dtype == "float32" else 1e-13
        assert abs(float(_host(got).reshape(())) - ref) <= tol * scale, (name, dtype, n)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("shape, axis", [((100_000, 1024), 0),        # W3's bias gradient
                                         ((4, 25_000, 1024), (0, 1)), ((70_001, 3), 0),
                                         ((300, 2, 1500), (0, 1)), ((2000, 40), 0), ((255, 512), 0),
                                         ((40, 3000), 0), ((5, 3000, 7), 1)])
def test_sums_over_leading_axes_keep_the_gpu_busy(host_cupy, dtype, shape, axis):
    """A sum or mean whose few outputs would each be a thread folding a long
    strided column (W3's bias gradient: 1,024 threads, 100,000 elements each) is
    split into chunks: no thread or lane of a launch folds more than 1,024
    elements unless the launch has 65,536 threads. Accuracy against float64."""
    x = np.random.default_rng(len(shape)).standard_normal(shape).astype(dtype)
    n = math.prod(shape[a] for a in np.atleast_1d(axis))
    for name in ("sum", "mean"):
        host_cupy.row_launches.clear()
        got = _host(ck.get(name)(_fake(x), axis, True))
        want = x.astype(np.float64).sum(axis, keepdims=True) / (n if name == "mean" else 1)
        scale = np.abs(x.astype(np.float64)).sum(axis, keepdims=True) / (n if name == "mean" else 1)
        assert got.shape == want.shape and got.dtype == np.dtype(dtype)
        tol = 2e-3 if dtype == "float16" else 1e-6 if dtype == "float32" else 1e-13
        assert np.all(np.abs(got - want) <= tol * scale), (name, shape, axis)
        for i, (kname, threads, elements) in enumerate(host_cupy.row_launches):
            assert threads >= min(1 << 16, elements / 1024), (name, shape, host_cupy.row_launches)
            if i:                                       # split: half's partials are float32
                assert kname.endswith("float64" if dtype == "float64" else "float32")


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_rowwise_wrappers_on_host(host_cupy, dtype):
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((3, 300, 4)) * 3).astype(dtype)         # axis 1: moved last
    g = rng.standard_normal((3, 300, 4)).astype(dtype)
    tol = 2 * float(np.finfo(np.float16).eps) if dtype == "float16" else 64 * float(np.finfo(dtype).eps)
    up = (lambda v: v.astype(np.float32)) if dtype == "float16" else (lambda v: v)
    for axis in (0, 1, 2, -1):
        for arr in (x, x.transpose(1, 0, 2)):
            for name in ("softmax", "log_softmax"):
                want = getattr(prims, name).twin(up(arr), axis)
                got = ck.get(name)(_fake(arr), axis)
                assert got.shape == arr.shape and got.dtype == arr.dtype
                np.testing.assert_allclose(_host(got).astype(np.float64), want.astype(arr.dtype).astype(np.float64),
                                           rtol=tol, atol=tol, err_msg=f"{name} axis={axis}")
        for name, yy in (("softmax_bwd", prims.softmax.twin(x, axis)),
                         ("log_softmax_bwd", prims.log_softmax.twin(x, axis))):
            gb = np.broadcast_to(g[:1], x.shape)                                  # a broadcast upstream gradient
            want = getattr(prims, name).twin(up(gb), up(yy), axis)
            got = ck.get(name)(_fake(gb), _fake(yy), axis)
            np.testing.assert_allclose(_host(got).astype(np.float64), want.astype(x.dtype).astype(np.float64),
                                       rtol=tol, atol=tol * 10, err_msg=f"{name} axis={axis}")


# --- on a GPU ----------------------------------------------------------------------------------

@pytest.mark.gpu
@needs_gpu
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("dtype", ks.DTYPES)
def test_pack_kernels_match_the_elementwise_kernels(dtype):
    """Contiguous operands of one shape take the pack kernels (kernels/vector.cuh);
    on the device they give what the ElementwiseKernel of the same primitive
    gives, bit for bit, at lengths around the pack width (the loads and stores of
    16-byte packs, bool masks and results alongside, rows repeated over the
    leading dimensions, and the tail). The views the pack kernels refuse
    (offset, strided, broadcast other than a row) fall back to the
    ElementwiseKernel."""
    import cupy
    dt = np.dtype(dtype)
    rng = np.random.default_rng(7)
    from test_kernels_host import assert_matches
    # one module for them all, as warmup() builds it (one NVRTC run, not one per kernel); one kernel
    # also built alone, as on first use
    assert ck.compile_pack_kernels(dtype) == len(ks.VECTOR_KERNELS)
    ck.get("tanh_bwd").pack_kernels.pop((cupy.cuda.runtime.getDevice(), dt, "aa"))
    cases = []                            # (label, the pack kernel's result, ElementwiseKernel, operands)
    for name, form in ks.VECTOR_KERNELS:
        impl = ck.get(name)
        impl = impl.array if isinstance(impl, ck.Pow) else impl
        spec = ks.POINTWISE[name]
        width = 16 // dt.itemsize
        shapes = ([(n,) for n in (1, 7, 8, 9, 1000, 4099)] + [(5, 3)] * ("1" in form) if "r" not in form
                  else [(3, width), (129, 4 * width)])
        for shape in shapes:
            def operand(p, f):
                if f == "s":
                    return dt.type(0.75)
                if f == "1":                      # a 0-d array, or a view repeating one element (a
                    one = cupy.asarray(dt.type(-1.25))      # backward's g: always, as sum's backward expands it)
                    keep_0d = (len(shape) > 1 or shape[0] % 2) and p.name != "g"
                    return one if keep_0d else cupy.broadcast_to(one, shape)
                sh = shape if f == "a" else shape[-1:]
                if p.kind == "bool":
                    return cupy.asarray(rng.random(sh) < 0.5)
                return cupy.asarray((rng.standard_normal(sh) * 2).astype(dt))
            ops = [operand(p, f) for p, f in zip(spec.params, form)]
            got = impl.fast(ops)
            assert got is not None, (name, form, shape)
            cases.append((f"pack {name} {dtype} {form} n={shape}", got, impl.kernel(dt), ops))
    # the ElementwiseKernels' results on threads, one job per kernel (its forms and shapes in turn, so
    # no two threads build the same one): their NVRTC builds are most of this test's time on a
    # device, and NVRTC runs without the GIL
    jobs = [[]]
    for case in cases:
        if jobs[-1] and jobs[-1][-1][2] is not case[2]:
            jobs.append([])
        jobs[-1].append(case)
    wants = ck.in_parallel([lambda job=job: [k(*ops) for _, _, k, ops in job] for job in jobs])
    for job, job_wants in zip(jobs, wants):
        for (label, got, _, _), want in zip(job, job_wants):
            assert_matches(cupy.asnumpy(got), cupy.asnumpy(want), 0, label)
    x = cupy.asarray(rng.standard_normal(17).astype(dt))
    width = 16 // dt.itemsize
    m = cupy.asarray(rng.standard_normal((3, 2 * width)).astype(dt))
    for refused in ([x[1:], x[1:]], [x[::2], x[::2]], [x[:6].reshape(2, 3), x[:3]],
                    [m, m[:1, :width]], [m[:, :1], m[0]], [m[0], m], [m, m[:, :1]]):
        assert ck.get("mul").fast(refused) is None
    assert ck.get("mul").fast([m, m[:1]]) is not None and ck.get("mul").fast([m, m[0]]) is not None
    # one element: an array of one, or a repeating view, also first for mul and add (they commute)
    g = cupy.broadcast_to(x[3], (17,))
    for name, ops in (("mul", [x, x[3]]), ("mul", [x, x[3:4]]), ("mul", [g, x]), ("add", [x, g]),
                      ("add", [g, x]), ("tanh_bwd", [x, x]), ("sub", [x, g]), ("tanh_bwd", [g, x])):
        got = ck.get(name).fast(ops)
        assert got is not None, (name, ops)
        assert_matches(cupy.asnumpy(got), cupy.asnumpy(ck.get(name).kernel(dt)(*ops)), 0, f"pack {name} one element")
    for name, ops in (("tanh_bwd", [x, g]), ("sub", [g, x]), ("mul", [x[3], x]), ("mul", [g, g])):
        assert ck.get(name).fast(ops) is None, (name, ops)        # forms without a pack kernel


@pytest.mark.gpu
@needs_gpu
def test_backend_conversions_and_random_state():
    import cupy
    b = cupy_backend.CupyBackend(device("cuda:0"))
    assert b.type_prefix == "CUDA" and b.is_cuda and b.xp is cupy and b.device == device("cuda:0")
    a = b.asarray([[1.0, 2.0], [3.0, 4.0]], np.float32)
    assert isinstance(a, cupy.ndarray) and a.dtype == np.float32
    assert cupy_backend.array_device_index(a) == 0
    np.testing.assert_array_equal(b.to_host(b.from_host(np.arange(4.0))), np.arange(4.0))
    assert b.is_writable(a)
    b.manual_seed(5)
    s = b.get_rng_state()
    r1 = b.to_host(b.randn((100,), np.float32))
    r2 = b.to_host(b.randn((100,), np.float32))
    assert not np.array_equal(r1, r2)
    b.set_rng_state(s)
    np.testing.assert_array_equal(b.to_host(b.randn((100,), np.float32)), r1)
    assert b.rand((10,), np.float16).dtype == np.float16
    assert b.randint(0, 5, (10,), np.int64).dtype == np.int64
    assert sorted(b.to_host(b.randperm(10, np.int64))) == list(range(10))
    b.synchronize()


@pytest.mark.gpu
@pytest.mark.real_gpu("the CUDA math library's ulps and -ftz (the host build: tests/test_kernels_host.py)")
@needs_gpu
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("dtype", ks.DTYPES)
def test_pointwise_kernels_on_gpu(dtype):
    """Every pointwise kernel on the device against the twin, the expectation of
    the host test (test_kernels_host: float16 computed in float, PyTorch's choices
    where NumPy differs). Tolerances cover the CUDA math library (a few ulp) and
    CuPy's -ftz=true, which it appends to every build (denormal float32 inputs are
    skipped, denormal results are 0). Values the twin itself gives when run on the
    device pass too: with a denormal intermediate flushed (pow(1e38, -1.05) * g:
    NaN for g = inf, where the host's denormal gives -inf) or CUDA's exp(-745.0004)
    rounding to 0 instead of the smallest denormal (H200, 2026-12-04)."""
    import cupy
    from test_kernels_host import pointwise_inputs, _twin_args, kernel_expectation, LIBM_ULPS, assert_matches
    tiny = np.finfo(np.float32).tiny
    for name, spec in ks.POINTWISE.items():
        rng = np.random.default_rng(5)
        cols, scalar_sets = pointwise_inputs(name, dtype, rng)
        if dtype == "float32":                                  # -ftz: no denormal inputs
            denormal = [(c != 0) & (np.abs(c) < tiny) for c in cols.values() if c.dtype != bool]
            keep = ~np.any(denormal, axis=0)
            cols = {k: v[keep] for k, v in cols.items()}
        for scalars in scalar_sets:
            t_args, _ = _twin_args(spec, cols, scalars, dtype)
            call = [cupy.asarray(a) if isinstance(a, np.ndarray) else a for a in t_args]
            impl = ck.get(ks.KERNEL_OF.get(name, name))
            want = kernel_expectation(name, t_args, dtype)
            on_device = kernel_expectation(name, t_args, dtype, device=cupy)
            got = cupy.asnumpy(impl(*call))
            want = want.astype(got.dtype)
            if dtype == "float32" and got.dtype.kind == "f":        # -ftz: denormal results are 0
                want = np.where((got == 0) & (np.abs(want) < tiny), got, want)
            ulps = 2 + 2 * LIBM_ULPS.get(name, 0) if dtype != "float16" else 2
            inputs = [a for a in t_args if isinstance(a, np.ndarray)]
            assert_matches(got, want, ulps, f"GPU {name} {dtype} {scalars}", inputs, alt=on_device)


@pytest.mark.gpu
@pytest.mark.real_gpu("the device's reduction results (the host replay: test_reduction_wrappers_on_host)")
@needs_gpu
@pytest.mark.parametrize("dtype", ks.DTYPES)
def test_reductions_on_gpu(dtype):
    import cupy
    rng = np.random.default_rng(6)
    x = rng.standard_normal((4, 33, 300)).astype(dtype)
    tol = 1e-2 if dtype == "float16" else 1e-5 if dtype == "float32" else 1e-12
    for name in ks.REDUCTIONS:
        for axis in (None, 0, 1, 2, (0, 2)):
            if name in ("argmax", "argmin") and isinstance(axis, tuple):
                continue
            rest = (1,) if name == "var" else ()
            want = np.asarray(getattr(prims, name).twin(x.astype(np.float32) if dtype == "float16" else x,
                                                        axis, True, *rest))
            got = cupy.asnumpy(ck.get(name)(cupy.asarray(x), axis, True, *rest))
            assert got.shape == want.shape, name
            np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=tol, atol=tol * 30,
                                       err_msg=f"{name} axis={axis}")
    for name in ks.ROWWISE:
        args = [cupy.asarray(x)] if not name.endswith("_bwd") else [cupy.asarray(x), cupy.asarray(x)]
        for axis in (0, 1, 2):
            want = getattr(prims, name).twin(*[cupy.asnumpy(a).astype(np.float64) for a in args], axis)
            got = cupy.asnumpy(ck.get(name)(*args, axis))
            np.testing.assert_allclose(got.astype(np.float64), want, rtol=tol, atol=tol * 10, err_msg=name)


@pytest.mark.gpu
@pytest.mark.real_gpu("CuPy's own kernel compilation (cupy.cuda.compiler and NVRTC)")
@needs_gpu
def test_codegen_reproduces_what_cupy_compiles(monkeypatch):
    """cupy_codegen (used by the compile tests) yields the source and options
    CuPy really hands to its compiler."""
    import cupy
    from cupy.cuda import compiler
    from autograd_gpu.backend import cupy_codegen
    seen = []
    real = compiler._compile_module_with_cache

    def spy(source, options=(), *args, **kwargs):
        seen.append((source, options))
        return real(source, options, *args, **kwargs)

    monkeypatch.setattr(compiler, "_compile_module_with_cache", spy)
    monkeypatch.setenv("CUPY_CACHE_IN_MEMORY", "1")
    # a preamble of its own, so that CuPy's in-process memo cannot skip the compile
    d = ks.elementwise_definition("add", "float32")
    d = d._replace(preamble=d.preamble + f"// codegen check {id(seen)}\n")
    k = cupy.ElementwiseKernel(d.in_params, d.out_params, d.operation, d.name, preamble=d.preamble,
                               options=d.options)
    k(cupy.ones(7, dtype=np.float32), np.float32(2.0))
    code = cupy_codegen.elementwise_code(d, ["float32", "float32", "float32"], ("a", "s"))
    assert cupy_codegen.module_source(code, True) in [src for src, _ in seen]


@pytest.mark.gpu
@needs_gpu
def test_warmup_compiles_everything():
    n = ag_cuda.warmup(progress=False)
    assert n >= len(ks.POINTWISE) * len(ks.DTYPES)
    ag_cuda.synchronize()
    bar = io.StringIO()
    forms = sum(len(spec.forms) for spec in ks.POINTWISE.values())
    n = ck.warmup(dtypes=("float32",), file=bar, workers=3)
    assert n == (len(ks.VECTOR_KERNELS) + forms + len(ks.reduction_kernels("float32"))
                 + len(ks.reduction_kernels("bool")) + len(_fused.KERNELS))
    jobs = 1 + 2 + forms + len(_fused.KERNELS)           # the pack module, two reduction modules, ...
    lines = bar.getvalue().split("\r")
    assert len(lines) == jobs + 1 and lines[-1].startswith(f"autograd_gpu warmup [{'#' * 30}] {jobs}/{jobs} ")
    assert lines[-1].endswith("\n") and "\n" not in "".join(lines[:-1])


@pytest.mark.gpu
@needs_gpu
def test_in_parallel_keeps_the_order_and_raises_the_first_error():
    """ck.in_parallel (warmup's and the pack test's builds on threads): results in
    the calls' order, each completion told once, on the caller's device; an
    error cancels what has not started and is raised."""
    import threading
    import cupy
    started, told = [], []
    barrier = threading.Barrier(4)

    def call(i):
        started.append(i)
        if i < 4:
            barrier.wait(timeout=10)      # four threads at once: they do run side by side
        return i, cupy.cuda.runtime.getDevice()

    out = ck.in_parallel([lambda i=i: call(i) for i in range(12)], workers=4,
                         done=lambda i, k: told.append((i, k)))
    assert out == [(i, cupy.cuda.runtime.getDevice()) for i in range(12)]
    assert sorted(i for i, _ in told) == list(range(1, 13)) and sorted(k for _, k in told) == list(range(12))
    started.clear()
    gate = threading.Event()

    def fails():
        raise ValueError("bad kernel")

    def waits(i):
        started.append(i)
        gate.wait(timeout=10)

    calls = [fails] + [lambda i=i: waits(i) for i in range(1, 40)]
    timer = threading.Timer(0.5, gate.set)
    timer.start()
    with pytest.raises(ValueError, match="bad kernel"):
        ck.in_parallel(calls, workers=2)
    timer.cancel()
    gate.set()
    assert len(started) < 39               # the calls not yet started were cancelled
