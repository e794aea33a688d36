"""The fused optimizer kernels (kernels/optim.cuh), checked without a GPU.

1. Host build: the header is compiled by the host C++ compiler (-Wall -Wextra
   -Werror -ffp-contract=off) into a shared library of extern "C" loops that
   call each update function exactly as the CuPy kernel's operation does
   (in-place elements loaded into the math type, updated, stored back). The
   results must equal the NumPy twins of autograd_gpu/optim/_fused.py bit for
   bit, in float32 and float64, on random and edge values (+-0, +-inf, NaN,
   denormals, 1e38), for every flag combination; float16 data the way the GPU
   computes it (math in float, one rounding). Built once per source hash in
   tests/_build/.
2. Device build: the exact source CuPy generates for each ElementwiseKernel
   (the header as preamble, CuPy's own headers) compiled by nvcc for sm_80 and
   sm_90, and by the NVRTC CuPy loads, in float16 / float32 / float64.

What this cannot show: contraction into fused multiply-adds by the device
compiler, -ftz=true on the device, and the launch itself (owed to a GPU run:
tests/test_optim_oracle.py on a CUDA device).

With the environment variable CI set, a missing g++, nvcc or CuPy fails
instead of skipping."""
import ctypes
import itertools
import shutil
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

from autograd_gpu.optim import _fused
from conftest import build_host_library, unavailable

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")    # edge values overflow on purpose

HOST_TYPES = {"float32": "float", "float64": "double"}
ARCHS = (80, 90)


# ---- 1. the host library ---------------------------------------------------------------------

def _host_function(name, dt):
    """extern "C" loop over n elements calling ag::optim::<name><M> as the CuPy operation does."""
    spec = _fused.KERNELS[name]
    c = HOST_TYPES[dt]
    params = (["long long n"] + [f"{c}* {a}" for a in spec.inplace] + [f"const {c}* {a}" for a in spec.arrays]
              + [f"{c if kind == 'M' else 'bool'} {s}" for s, kind in spec.scalars])
    loads = " ".join(f"{c} {a}_m = {a}[i];" for a in spec.inplace)
    args = ", ".join([f"{a}_m" for a in spec.inplace] + [f"{a}[i]" for a in spec.arrays]
                     + [s for s, _ in spec.scalars])
    stores = " ".join(f"{a}[i] = {a}_m;" for a in spec.inplace)
    return (f"void host_{name}_{dt}({', '.join(params)}) {{\n"
            f"  for (long long i = 0; i < n; ++i) {{ {loads} ag::optim::{name}<{c}>({args}); {stores} }}\n}}")


def host_source():
    body = "\n".join(_host_function(n, dt) for n in _fused.KERNELS for dt in HOST_TYPES)
    return f'#include "{_fused.HEADER}"\n\nextern "C" {{\n{body}\n}}  // extern "C"\n'


def build_host_lib():
    """The host build of kernels/optim.cuh, its functions' ctypes signatures set
    (also run by the CuPy emulator, tests/cupy_emulator.py)."""
    kdir = _fused._kernels_dir()
    lib = build_host_library("optim_host", host_source(), kdir, sorted(kdir.glob("*.cuh")),
                             f"kernels/{_fused.HEADER}")
    for name, spec in _fused.KERNELS.items():
        for dt, c in HOST_TYPES.items():
            scalar = ctypes.c_float if c == "float" else ctypes.c_double
            fn = getattr(lib, f"host_{name}_{dt}")
            fn.restype = None
            fn.argtypes = ([ctypes.c_longlong] + [ctypes.c_void_p] * (len(spec.inplace) + len(spec.arrays))
                           + [scalar if kind == "M" else ctypes.c_bool for _, kind in spec.scalars])
    return lib


@pytest.fixture(scope="module")
def host_lib():
    return build_host_lib()


def run_host(lib, name, inplace, arrays, scalars):
    """The host build of update `name` on float32/float64 arrays (in place)."""
    dt = inplace[0].dtype.name
    for a in inplace + arrays:
        assert a.dtype.name == dt and a.flags.c_contiguous
    getattr(lib, f"host_{name}_{dt}")(inplace[0].size, *[a.ctypes.data for a in inplace + arrays], *scalars)


EDGE = [0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 1e-40, -1e-45, 1e-310, 1e38, -1e38, 3e-39, 0.5, 2.0]


def _values(dtype, n, rng, edge):
    a = rng.standard_normal(n) * np.exp(rng.uniform(-8, 8, n))
    if edge:
        picks = rng.integers(0, len(EDGE), n)
        use = rng.random(n) < 0.5
        a = np.where(use, np.array(EDGE)[picks], a)
    return a.astype(dtype)


def _state_values(dtype, n, rng, edge, non_negative=False):
    a = _values(dtype, n, rng, edge)
    return np.abs(a) if non_negative else a


def _same_bits(got, want, what):
    """Equal values, NaN where NaN, and the same sign of zero."""
    assert got.dtype == want.dtype
    nan_g, nan_w = np.isnan(got), np.isnan(want)
    bad = (nan_g != nan_w) | (~nan_w & ((got != want) | (np.signbit(got) != np.signbit(want))))
    if bad.any():
        i = np.flatnonzero(bad)[:5]
        raise AssertionError(f"{what}: {bad.sum()} of {got.size} elements differ; e.g. at {i.tolist()}: "
                             f"host {got[i].tolist()} vs twin {want[i].tolist()}")


SCALAR_SETS = {
    "sgd": [dict(lr=0.1, weight_decay=0.0), dict(lr=1e-3, weight_decay=0.01), dict(lr=3.0, weight_decay=1e-4)],
    "sgd_momentum": [dict(lr=0.1, weight_decay=0.0, momentum=0.9, keep=1.0),
                     dict(lr=0.05, weight_decay=0.01, momentum=0.5, keep=0.7),
                     dict(lr=1e-3, weight_decay=0.1, momentum=0.99, keep=1.0)],
    "adam": [],
    "adam_amsgrad": [],
}


def _adam_scalars(lr, beta1, beta2, eps, weight_decay, step):
    bc1, bc2 = 1 - beta1 ** step, 1 - beta2 ** step
    return dict(neg_step_size=-lr / bc1, beta1_weight=1 - beta1, beta2=beta2, beta2_weight=1 - beta2, eps=eps,
                bc2_sqrt=bc2 ** 0.5, weight_decay=weight_decay)


for _name in ("adam", "adam_amsgrad"):
    SCALAR_SETS[_name] = [_adam_scalars(1e-3, 0.9, 0.999, 1e-8, 0.0, 1),
                          _adam_scalars(0.01, 0.9, 0.999, 1e-8, 0.1, 7),
                          _adam_scalars(0.1, 0.3, 0.9, 1e-6, 0.0, 100),      # lerp's large-weight branch
                          _adam_scalars(0.02, 0.0, 0.0, 0.0, 1e-3, 2)]


def _adamw_scalars(lr, beta1, beta2, eps, weight_decay, step):
    sc = _adam_scalars(lr, beta1, beta2, eps, 0.0, step)
    del sc["weight_decay"]
    return dict(sc, decay_keep=1 - lr * weight_decay)


for _name in ("adamw", "adamw_amsgrad"):
    SCALAR_SETS[_name] = [_adamw_scalars(1e-3, 0.9, 0.999, 1e-8, 1e-2, 1),
                          _adamw_scalars(0.01, 0.9, 0.999, 1e-8, 0.0, 7),       # no decay: decay_keep == 1
                          _adamw_scalars(0.1, 0.3, 0.9, 1e-6, 0.5, 100)]


def _rmsprop_scalars(lr, alpha, eps, weight_decay, momentum=None):
    sc = dict(neg_lr=-lr, alpha=alpha, alpha_weight=1 - alpha, eps=eps, weight_decay=weight_decay)
    return sc if momentum is None else dict(sc, momentum=momentum)


for _name in ("rmsprop", "rmsprop_centered", "rmsprop_momentum", "rmsprop_centered_momentum"):
    _mom = (0.9, 0.0, 0.5) if _name.endswith("momentum") else (None,) * 3
    SCALAR_SETS[_name] = [_rmsprop_scalars(1e-2, 0.99, 1e-8, 0.0, _mom[0]),
                          _rmsprop_scalars(0.1, 0.3, 1e-6, 0.1, _mom[1]),    # lerp's large-weight branch
                          _rmsprop_scalars(1e-3, 0.9, 0.0, 0.0, _mom[2])]
SCALAR_SETS["adagrad"] = [dict(neg_clr=-1e-2, eps=1e-10, weight_decay=0.0),
                          dict(neg_clr=-0.1 / (1 + 4 * 0.01), eps=1e-6, weight_decay=0.1),
                          dict(neg_clr=-1.0, eps=0.0, weight_decay=0.0)]


def _cases(name):
    spec = _fused.KERNELS[name]
    flags = [s for s, kind in spec.scalars if kind == "bool"]
    for i, values in enumerate(SCALAR_SETS[name]):
        for bits in itertools.product([False, True], repeat=len(flags)):
            chosen = dict(zip(flags, bits))
            if chosen.get("nesterov") and values.get("keep", 1.0) != 1.0:
                continue                       # the optimizer never asks for Nesterov with dampening
            yield i, {**values, **chosen}


CASES = [(n, i, s) for n in _fused.KERNELS for i, s in _cases(n)]


def _ordered(name, scalars):
    return tuple(scalars[s] for s, _ in _fused.KERNELS[name].scalars)


def _inputs(name, dtype, rng, edge, n=4096):
    spec = _fused.KERNELS[name]
    inplace = [_state_values(dtype, n, rng, edge, non_negative=a in ("v", "v_max", "sq", "sum")) for a in spec.inplace]
    arrays = [_values(dtype, n, rng, edge) for _ in spec.arrays]
    return inplace, arrays


@pytest.mark.parametrize("dtype", list(HOST_TYPES))
@pytest.mark.parametrize("edge", [False, True], ids=["random", "edge"])
@pytest.mark.parametrize("name,set_index,scalars", CASES,
                         ids=[f"{n}-{i}-" + "-".join(k for k, v in s.items() if v is True) for n, i, s in CASES])
def test_host_build_matches_numpy_twin(host_lib, name, set_index, scalars, edge, dtype):
    rng = np.random.default_rng(zlib.crc32(repr((name, set_index, edge, dtype, scalars)).encode()))
    inplace, arrays = _inputs(name, dtype, rng, edge)
    host_inplace = [a.copy() for a in inplace]
    twin_inplace = [a.copy() for a in inplace]
    ordered = _ordered(name, scalars)
    run_host(host_lib, name, host_inplace, [a.copy() for a in arrays], ordered)
    _fused.TWINS[name](*twin_inplace, *arrays, *ordered)
    for label, got, want in zip(_fused.KERNELS[name].inplace, host_inplace, twin_inplace):
        _same_bits(got, want, f"{name} {dtype} {label}")


@pytest.mark.parametrize("name", list(_fused.KERNELS))
def test_float16_update_is_float_math_rounded_once(host_lib, name):
    """update() on half data == the float instantiation on the widened values, rounded to half."""
    rng = np.random.default_rng(7)
    _, scalars = next(iter(_cases(name)))
    inplace, arrays = _inputs(name, np.float16, rng, edge=True, n=2048)
    ordered = _ordered(name, scalars)
    ours = [a.copy() for a in inplace]
    _fused.update(name, ours, arrays, ordered, is_cuda=False)
    wide = [a.astype(np.float32) for a in inplace]
    run_host(host_lib, name, wide, [a.astype(np.float32) for a in arrays], ordered)
    for label, got, want in zip(_fused.KERNELS[name].inplace, ours, wide):
        _same_bits(got, want.astype(np.float16), f"{name} float16 {label}")


def test_first_sgd_momentum_step_copies_the_direction(host_lib):
    """buf = d on the first step, whatever buf held (the optimizer allocates it as zeros)."""
    p = np.array([1.0, 2.0, -3.0], np.float64)
    buf = np.array([np.nan, 5.0, -7.0])
    g = np.array([0.5, -1.0, 2.0])
    run_host(host_lib, "sgd_momentum", [p, buf], [g], (0.1, 0.0, 0.9, 0.7, False, False, True))
    np.testing.assert_array_equal(buf, g)
    np.testing.assert_allclose(p, [1.0 - 0.05, 2.0 + 0.1, -3.0 - 0.2])


def test_zero_weight_decay_ignores_the_parameter(host_lib):
    """weight_decay == 0 adds nothing (PyTorch skips it): an infinite parameter keeps a finite step."""
    p = np.array([np.inf, -np.inf], np.float32)
    g = np.array([1.0, 1.0], np.float32)
    run_host(host_lib, "sgd", [p], [g], (0.1, 0.0, False))
    assert np.isinf(p).all()
    buf = np.zeros(2, np.float32)
    q = np.array([np.inf, 1.0], np.float32)
    run_host(host_lib, "sgd_momentum", [q, buf], [g], (0.1, 0.0, 0.9, 1.0, False, False, True))
    assert buf.tolist() == [1.0, 1.0]


# ---- 2. the device build ----------------------------------------------------------------------

def _cupy():
    try:
        import cupy
        from cupy._core import _kernel, _carray, _scalar, core   # noqa: F401
    except ImportError:
        unavailable("CuPy is needed to generate the ElementwiseKernel source")
    return cupy


def cupy_kernel_code(name, dtype):
    """The CUDA code cupy.ElementwiseKernel generates for update `name` on
    contiguous 1-d arrays of `dtype`, several outputs included (CuPy's code
    generator, as backend/cupy_codegen.elementwise_code, which handles one
    output only)."""
    cupy = _cupy()
    from cupy._core import _kernel as K, _carray, _scalar
    d = _fused.kernel_definition(name, dtype)
    spec = _fused.KERNELS[name]
    ins = K._get_param_info(d.in_params, True)
    outs = K._get_param_info(d.out_params, False)
    params = ins + outs + K._get_param_info("CIndexer _ind", False)
    ndarray, indexer, scalar = 1, 2, 3            # cupy._core._kernel._ArgKind
    infos = [K._ArgInfo(ndarray, cupy.ndarray, p.dtype, 1, True, True) if p.name in spec.arrays
             else K._ArgInfo(scalar, _scalar.CScalar, p.dtype, 0, True, True) for p in ins]
    infos += [K._ArgInfo(ndarray, cupy.ndarray, p.dtype, 1, True, True) for p in outs]
    infos.append(K._ArgInfo(indexer, _carray.Indexer, None, 1, True, True))
    return K._get_elementwise_kernel_code(tuple(infos), K._TypeMap(()), params, d.operation, d.name,
                                          d.preamble)


def module_source(dtype):
    """One translation unit holding every optimizer kernel of `dtype`, as CuPy compiles them."""
    from autograd_gpu.backend import cupy_codegen
    return "".join(cupy_codegen.module_source(cupy_kernel_code(n, dtype), True) for n in _fused.KERNELS)


def _cupy_include_dirs():
    _cupy()
    from autograd_gpu.backend import cupy_codegen
    opts = cupy_codegen.nvrtc_options(_fused.OPTIONS, ARCHS[0])
    # nvcc brings its own CUDA headers: the runtime wheel's would not match its version
    return [o for o in opts if o.startswith("-I") and "nvidia" not in o]


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("dtype", _fused.DTYPES)
def test_kernels_compile_with_nvcc(tmp_path, dtype, arch):
    nvcc = shutil.which("nvcc") or ("/usr/local/bin/nvcc" if Path("/usr/local/bin/nvcc").exists() else None)
    if nvcc is None:
        unavailable("nvcc is needed to compile the optimizer kernels")
    cu = tmp_path / f"optim_{dtype}.cu"
    cu.write_text(module_source(dtype))
    out = tmp_path / f"optim_{dtype}_sm{arch}.cubin"
    r = subprocess.run([nvcc, "-cubin", f"-arch=sm_{arch}", "--std=c++17", "-ftz=true", "--fmad=false",
                        *_cupy_include_dirs(),
                        "-Werror", "all-warnings", "-o", str(out), str(cu)], capture_output=True, text=True)
    assert r.returncode == 0, f"nvcc sm_{arch} {dtype}:\n{r.stderr[-4000:]}"
    assert out.stat().st_size > 0
    names = subprocess.run([shutil.which("cuobjdump") or "cuobjdump", "-symbols", str(out)],
                           capture_output=True, text=True).stdout if shutil.which("cuobjdump") else ""
    for name in _fused.KERNELS:
        assert not names or f"ag_optim_{name}_{dtype}" in names


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("dtype", _fused.DTYPES)
def test_kernels_compile_with_nvrtc_as_cupy_does(dtype, arch):
    _cupy()
    from autograd_gpu.backend import cupy_codegen
    try:
        cupy_codegen.nvrtc_version()
    except Exception as e:                       # noqa: BLE001 - the library may be absent
        unavailable(f"NVRTC cannot be loaded: {e}")
    for name in _fused.KERNELS:
        src = cupy_codegen.module_source(cupy_kernel_code(name, dtype), True)
        try:
            cubin = cupy_codegen.nvrtc_compile(src, cupy_codegen.nvrtc_options(_fused.OPTIONS, arch))
        except cupy_codegen.CompileError as e:
            pytest.fail(f"NVRTC sm_{arch} {name} {dtype}:\n{e.log}", pytrace=False)
        assert len(cubin) > 0


def test_kernel_definitions_are_well_formed():
    for name, spec in _fused.KERNELS.items():
        for dtype in _fused.DTYPES:
            d = _fused.kernel_definition(name, dtype)
            assert d.name == f"ag_optim_{name}_{dtype}"
            assert d.out_params == ", ".join(f"{dtype} {a}" for a in spec.inplace)
            assert f"ag::optim::{name}<" in d.operation
            assert "AG_OPTIM_CUH" in d.preamble and "AG_COMMON_CUH" in d.preamble
            assert '#include "' not in d.preamble            # NVRTC gets one self-contained text


def test_gpu_launch_binds_arguments_to_the_kernel_parameters(monkeypatch):
    """The launch passes gradient, scalars and in-place arrays in the order of
    the ElementwiseKernel's parameters (CuPy binds them by position), on the
    parameter's device. Checked with a stand-in kernel: no GPU needed."""
    cupy = _cupy()
    calls = []

    class FakeKernel:
        def __init__(self, d):
            self.names = [p.split()[-1] for p in (d.in_params + ", " + d.out_params).split(",")]

        def __call__(self, *args):
            assert len(args) == len(self.names)
            calls.append((cupy.cuda.runtime.getDevice(), dict(zip(self.names, args))))

    class FakeArray:
        def __init__(self, dev):
            self.dtype = np.dtype(np.float32)
            self.device = type("Dev", (), {"id": dev})()

    current = [0]

    class FakeDevice:
        def __init__(self, i):
            self.i = i

        def __enter__(self):
            self.prev, current[0] = current[0], self.i

        def __exit__(self, *exc):
            current[0] = self.prev

    monkeypatch.setattr(_fused, "_cuda_kernel", lambda n, dt: FakeKernel(_fused.kernel_definition(n, dt)))
    monkeypatch.setattr(cupy.cuda.runtime, "getDevice", lambda: current[0])
    monkeypatch.setattr(cupy.cuda, "Device", FakeDevice)
    for name, spec in _fused.KERNELS.items():
        for dev in (0, 1):
            inplace = [FakeArray(dev) for _ in spec.inplace]
            arrays = [FakeArray(dev) for _ in spec.arrays]
            scalars = tuple(range(len(spec.scalars)))
            calls.clear()
            _fused.update(name, inplace, arrays, scalars, is_cuda=True)
            (ran_on, bound), = calls
            assert ran_on == dev and current[0] == 0
            for a, arr in zip(spec.inplace + spec.arrays, inplace + arrays):
                assert bound[a] is arr, (name, a)
            assert [bound[s] for s, _ in spec.scalars] == list(scalars)
