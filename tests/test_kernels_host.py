"""The GPU math, run on the host: every kernel of kernels/*.cuh against the
NumPy twin of ops/prims.py, without a GPU.

The headers are compiled with the host C++ compiler (-Wall -Wextra -Werror) into
a shared library of extern "C" batch functions, built once per source hash in
tests/_build/. Each pointwise batch function evaluates exactly the expression
the CuPy ElementwiseKernel evaluates (kernel_source.pointwise_call); each
reduction runs the shared row operation under HostBlockTeam, the host replay of
the GPU block schedule, so the summation order is the GPU's too.

Checked: every forward and backward kernel in float32 and float64 (bit for bit
where the formula uses only correctly rounded operations, within a few ulp where
it calls exp/log/sin/pow..., whose host and NumPy implementations differ), and
in float16 the way the GPU computes it (math in float, one rounding); random and
edge values (+-0, +-inf, NaN, denormals, 1e-38, 1e38); backward kernels against
central finite differences of the forward kernels in float64; reductions over
several layouts, axes and team sizes. Where the kernels follow PyTorch rather
than the twin (sign and abs' gradient at NaN) PyTorch is the oracle.

What this cannot show: the CUDA math library's own ulp errors (exp, log, sin,
pow, tanh on the device are not glibc's), fused multiply-add contraction by
NVRTC, and -ftz=true (CuPy flushes float32 denormals to zero on the GPU).
"""
import contextlib
import ctypes
import zlib
import math

import numpy as np
import pytest

from autograd_gpu.backend import kernel_source as ks
from autograd_gpu.backend import cupy_kernels as ck
from autograd_gpu.ops import prims
from conftest import build_host_library

# edge values overflow, divide by zero and make NaNs on purpose
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

HOST_TYPES = {"float32": "float", "float64": "double"}
INF, NAN = math.inf, math.nan


# --- the host library ----------------------------------------------------------------

def _pointwise_source():
    lines = []
    for name, spec in ks.POINTWISE.items():
        for dt, c in HOST_TYPES.items():
            params = ["long long n"]
            binds = []
            for p in spec.params:
                pc = c if p.kind == "T" else "bool"
                params.append(f"const {pc}* {p.name}_")
                binds.append(f"const {pc} {p.name} = {p.name}_[i];")
            oc = c if spec.out == "T" else "bool"
            params.append(f"{oc}* out_")
            lines.append(
                f"void pw_{name}_{dt}({', '.join(params)}) {{\n"
                f"  for (long long i = 0; i < n; ++i) {{ {' '.join(binds)} out_[i] = {ks.pointwise_call(spec, dt)}; }}\n}}")
    return lines


_ROW_ARGS = "long long rows, long long n, long long inner, int lanes"


def _reduction_source():
    lines = []
    for dt, c in list(HOST_TYPES.items()) + [("bool", "bool")]:
        names = ks.BOOL_REDUCTIONS if dt == "bool" else tuple(ks.REDUCTIONS) + ks.ROWWISE + (ks.SPLIT_SUM,)
        for name in names:
            out = {"index": "long long", "bool": "bool"}.get(ks.REDUCTIONS.get(name, ((), "T"))[1], c)
            if name.endswith("_bwd"):
                sig, call = f"const {c}* g, const {c}* y, {c}* gx", f"ag::red::{name}_row(g, y, gx, n, inner)"
            elif name == "var":
                sig, call = f"const {c}* x, {c}* y", "ag::red::var_row(x, y, n, inner, correction)"
            elif name == ks.SPLIT_SUM:
                sig, call = f"const {c}* x, {c}* y", f"ag::red::{name}_row(x, y, n, inner, total)"
            else:
                sig, call = f"const {c}* x, {out}* y", f"ag::red::{name}_row(x, y, n, inner)"
            extra = {"var": ", double correction", ks.SPLIT_SUM: ", long long total"}.get(name, "")
            lines.append(f"void red_{name}_{dt}({sig}, {_ROW_ARGS}{extra}) {{\n"
                         f"  ag::red::run_rows_host({call}, rows, n, inner, lanes);\n}}")
    return lines


def _vector_source():
    """The pack kernels' operations (kernel_source.vector_op_source, the text the
    GPU compiles) run by every thread of `nthreads` in turn: (structs, runners)."""
    structs, runners = [], []
    for name, form in ks.VECTOR_KERNELS:
        for dt in HOST_TYPES:
            k = ks.vector_kernel_name(name, dt, form)
            structs.append(ks.vector_op_source(name, dt, form))
            runners.append(f"void {k}({ks.vector_params(name, dt, form)}, long long nthreads) {{\n"
                           f"  const {k}_op op = {{{ks.vector_init(name, form)}}};\n"
                           f"  for (long long t = 0; t < nthreads; ++t) ag::vec::run<{k}_op::N>(op, n, t, nthreads);\n}}")
    return structs, runners


def host_source():
    structs, runners = _vector_source()
    return ('#include "pointwise.cuh"\n#include "reduction.cuh"\n#include "vector.cuh"\n\n'
            + "".join(structs) + '\nextern "C" {\n'
            + "\n".join(_pointwise_source() + _reduction_source() + runners) + '\n}  // extern "C"\n')


def seed(*parts):
    """A stable random seed (hash() of strings changes with every process)."""
    return zlib.crc32(repr(parts).encode())


def _build_library():
    kdir = ks.kernels_dir()
    return build_host_library("kernels_host", host_source(), kdir, [kdir / f for f in ks.HEADERS],
                              "the kernel headers")


_LIB = []
COUNTS = {"cases": 0, "values": 0}


def print_summary(request, text):
    """Print past pytest's output capture (the totals are for the reader)."""
    tr = request.config.pluginmanager.get_plugin("terminalreporter")
    cap = request.config.pluginmanager.get_plugin("capturemanager")
    if tr is None:
        return
    with cap.global_and_fixture_disabled() if cap else contextlib.nullcontext():
        tr.write_line("")
        tr.write_line(text)


@pytest.fixture(scope="module")
def lib(request):
    if not _LIB:
        _LIB.append(_build_library())
    yield _LIB[0]
    if COUNTS["cases"]:
        print_summary(request, f"host kernels: {COUNTS['cases']} cases, {COUNTS['values']} values checked")


def _ptr(a):
    return a.ctypes.data_as(ctypes.c_void_p)


def run_pointwise(lib, name, host_dtype, arrays):
    """Run pointwise kernel `name` in float32/float64 math on equal-length arrays."""
    spec = ks.POINTWISE[name]
    n = len(arrays[0])
    args = []
    for p, a in zip(spec.params, arrays):
        want = np.dtype(host_dtype) if p.kind == "T" else np.dtype(bool)
        a = np.ascontiguousarray(np.broadcast_to(np.asarray(a, dtype=want), (n,)))
        args.append(a)
    out = np.empty(n, dtype=host_dtype if spec.out == "T" else bool)
    fn = getattr(lib, f"pw_{name}_{host_dtype}")
    fn.restype = None
    fn(ctypes.c_longlong(n), *[_ptr(a) for a in args], _ptr(out))
    return out


# --- comparing -----------------------------------------------------------------------

def _ordered(a):
    """Float bits as integers ordered like the values (+0 and -0 both 0)."""
    it = {2: np.int16, 4: np.int32, 8: np.int64}[a.dtype.itemsize]
    i = a.view(it).astype(np.int64)
    mag = i & ((1 << (8 * a.dtype.itemsize - 1)) - 1)
    return np.where(i < 0, -mag, mag)


def ulp_distance(a, b):
    return np.abs(_ordered(a) - _ordered(b))


def _agree(got, want, ulps, floor):
    gn, wn = np.isnan(got), np.isnan(want)
    same = (got == want) | (gn & wn)
    if ulps:
        with np.errstate(invalid="ignore"):
            close = ~gn & ~wn & (ulp_distance(got, want) <= ulps)
            if floor is not None:
                close |= np.isfinite(want) & (np.abs(got.astype(np.float64) - want) <= floor)
        same |= close
    return same


def assert_matches(got, want, ulps, what, inputs=(), floor=None, alt=None):
    """NaN where `want` is NaN, else equal values (+-0 alike) or within `ulps`
    (or, where given, within an absolute `floor`); values agreeing so with `alt`,
    where given, pass too."""
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype}, twin gives {want.dtype}"
    assert got.shape == want.shape, f"{what}: shape {got.shape}, twin gives {want.shape}"
    COUNTS["cases"] += 1
    COUNTS["values"] += got.size
    if got.dtype == bool or got.dtype.kind in "iu":
        bad = got != want
    else:
        same = _agree(got, want, ulps, floor)
        if alt is not None:
            same |= _agree(got, alt.astype(got.dtype), ulps, floor)
        bad = ~same
    if bad.any():
        idx = np.flatnonzero(bad)[:8]
        rows = []
        for i in idx:
            ins = ", ".join(f"{np.ravel(v)[i] if np.ndim(v) else v!r}" for v in inputs)
            rows.append(f"  [{i}] inputs ({ins}): kernel {got.ravel()[i]!r}, expected {want.ravel()[i]!r}"
                        + (f" (or {alt.ravel()[i]!r})" if alt is not None else ""))
        pytest.fail(f"{what}: {bad.sum()} of {bad.size} differ (tolerance {ulps} ulp):\n" + "\n".join(rows))


# --- inputs --------------------------------------------------------------------------

EDGES = {
    "float16": [0.0, -0.0, INF, -INF, NAN, 6.1e-05, -6.1e-05, 6e-08, -3e-07, 65504.0, -65504.0,
                1.0, -1.0, 0.5, 2.0, -2.0, 3.0, -0.75, 11.0, -17.0, 1e-3, 0.1],
    "float32": [0.0, -0.0, INF, -INF, NAN, 1e-38, -1e-38, 1e-40, -1.4e-45, 1e38, -1e38, 3.4e38,
                1.0, -1.0, 0.5, 2.0, -2.0, 3.0, -0.75, 1e-7, 88.7, -87.0, -104.0, 1e5, math.pi],
    "float64": [0.0, -0.0, INF, -INF, NAN, 1e-308, -1e-308, 5e-324, -1e-310, 1e308, -1e308, 1.7e308,
                1.0, -1.0, 0.5, 2.0, -2.0, 3.0, -0.75, 1e-16, 709.7, -708.0, -745.0, 1e5, math.pi],
}

# tolerance (ulp) for kernels that call the math library (exp, log, sin, pow...):
# host glibc and NumPy's own vectorized versions differ in the last bits.
# Everything else is bit exact.
LIBM_ULPS = {"exp": 4, "log": 4, "log1p": 4, "sin": 4, "cos": 4, "tanh": 4, "sigmoid": 4,
             "pow": 4, "pow_scalar": 4, "rpow": 4, "sin_bwd": 4, "cos_bwd": 4, "pow_bwd": 8, "pow_bwd_base": 8,
             "pow_bwd_exp": 8, "logsumexp_bwd": 8, "tan": 4, "asin": 4, "acos": 4, "atan": 4, "sinh": 4, "cosh": 4,
             "expm1": 4, "log2": 4, "log10": 4, "sinh_bwd": 4, "cosh_bwd": 4, "atan2": 4,
             # erf/erfc/erfinv: glibc's (the host build's erfinv: ours) against our NumPy twin's
             # (special_math.py: float64 within 2, 6 and 16 ulp of the true values; float32 within 1)
             "erf": 8, "erfc": 16, "erfinv": 32, "erf_bwd": 4, "erfc_bwd": 4, "erfinv_bwd": 64,
             "gelu": 8, "gelu_bwd": 8, "gelu_tanh": 4, "gelu_tanh_bwd": 8,
             "elu": 4, "elu_bwd": 4, "softplus": 8, "softplus_bwd": 8, "logsigmoid": 8, "logsigmoid_bwd": 8,
             "silu": 4, "silu_bwd": 8, "mish": 8, "mish_bwd": 8, "bce_logits": 8, "bce_logits_bwd": 4}

# the scalar arguments each call form is tried with (per parameter name)
SCALARS = {
    "clamp": [(-1.0, 1.0), (None, 0.5), (-0.5, None), (2.0, -2.0), (0.0, 0.0), (-INF, INF), (NAN, 1.0)],
    "rsub": [(2.0,), (-0.0,), (1e30,), (INF,), (NAN,), (3,)],
    "rpow": [(2.0,), (0.5,), (-2.0,), (0.0,), (1.0,), (INF,), (10,), (math.e,)],
    "add_scaled": [(1.0,), (-2.5,), (0.0,), (3,)],
    "pow_bwd": [(2.0,), (0.5,), (-1.0,), (3,), (1.5,), (-0.5,), (1.0,), (4.0,), (-1.0,), (0.25,)],
    "pow_scalar": [(2,), (3.0,), (0.5,), (-0.5,), (-1.0,), (-2,), (1.5,), (0.0,), (1.0,), (4.0,), (-3.0,),
                   (2.5,), (-0.25,)],
}
SCALARS["clamp_bwd"] = SCALARS["clamp"]
# activations: elu's (neg_coef, scale, input_scale) for elu (alpha 1, 2, -0.5), selu and celu (alpha 0.5, -0.5)
_ELU = [(1.0, 1.0, 1.0), (2.0, 1.0, 1.0), (-0.5, 1.0, 1.0), (1.7580993408473766, 1.0507009873554805, 1.0),
        (0.5, 1.0, 2.0), (-0.5, 1.0, -2.0)]
SCALARS.update({
    "elu": _ELU, "elu_bwd": [(c * i, s, i) for c, s, i in _ELU], "elu_bwd_result": _ELU,
    "softplus": [(1.0, 20.0), (2.0, 10.0), (0.5, 1.0), (-1.0, 3.0)],
    "threshold": [(0.5, -1.0), (0.0, 0.0), (-1.0, 2.0)], "threshold_bwd": [(0.5,), (0.0,), (-1.0,)],
    "hardtanh": [(-1.0, 1.0), (0.0, 6.0), (-0.5, 2.0)],
    "leaky_relu": [(0.01,), (0.1,), (-0.5,), (1.5,)],
    "softshrink": [(0.5,), (0.0,), (2.0,)],
})
SCALARS["softplus_bwd"] = SCALARS["softplus"]
SCALARS["hardtanh_bwd"] = SCALARS["hardtanh"]
SCALARS["leaky_relu_bwd"] = SCALARS["leaky_relu"]
SCALARS["hardshrink"] = SCALARS["shrink_bwd"] = SCALARS["softshrink"]


def _random_values(rng, n, dtype):
    parts = [rng.standard_normal(n), rng.standard_normal(n) * 30, rng.uniform(-4, 4, n),
             rng.standard_normal(n) * 1e-3, rng.uniform(0, 3, n)]
    v = np.concatenate(parts)
    return v.astype(dtype).astype(np.float64)   # representable in `dtype`


def pointwise_inputs(name, dtype, rng):
    """{param: float64 values representable in dtype} for the array parameters,
    plus the list of scalar tuples to try."""
    spec = ks.POINTWISE[name]
    arrays = [p for p in spec.params if p.form != "s"]
    edges = np.array(EDGES[dtype], dtype=dtype).astype(np.float64)    # representable in dtype
    rand = _random_values(rng, 400, dtype)
    T = [p for p in arrays if p.kind == "T"]
    # every pair of edge values for the first two array operands, then random values
    if len(T) >= 2:
        a, b = np.meshgrid(edges, edges, indexing="ij")
        cols = {T[0].name: np.concatenate([a.ravel(), rand]),
                T[1].name: np.concatenate([b.ravel(), rng.permutation(rand)])}
    else:
        cols = {T[0].name: np.concatenate([edges, rand])} if T else {}
    n = len(next(iter(cols.values())))
    pool = np.concatenate([edges, rand])
    for p in arrays:
        if p.name in cols:
            continue
        if p.kind == "bool":
            cols[p.name] = rng.random(n) < 0.5
        elif p.name == "count":                       # tie counts: small positive integers
            cols[p.name] = rng.integers(1, 5, n).astype(np.float64)
        else:
            cols[p.name] = rng.choice(pool, n)
    return cols, SCALARS.get(name, [()])


# --- pointwise kernels vs the twins --------------------------------------------------------

def _twin_args(spec, cols, scalars, dtype):
    """Arguments of the twin (arrays of `dtype`, Python scalars as given) and of
    the kernel (arrays; scalars cast to `dtype` first, as the CuPy wrapper does)."""
    twin, kern, it = [], [], iter(scalars)
    for p in spec.params:
        if p.form == "s":
            if p.name == "em1":                       # pow_bwd: the wrapper passes e - 1
                s = twin[-1] - 1
                kern.append(np.float64(np.dtype(dtype).type(s)))
                continue
            s = next(it)
            twin.append(s)
            if s is None:                             # clamp: None bounds are -inf / +inf
                s = -INF if p.name == "lo" else INF
            kern.append(np.float64(np.dtype(dtype).type(s)))
        else:
            v = cols[p.name]
            twin.append(v.astype(dtype) if p.kind == "T" else v)
            kern.append(v)
    return twin, kern


def _pytorch_overrides(name, twin_args, want):
    """The kernels follow PyTorch where the twin does not (see kernels/pointwise.cuh)."""
    if name == "sign":
        want = np.where(np.isnan(twin_args[0]), want.dtype.type(0), want)
    elif name == "abs_bwd":
        g, x = twin_args
        want = np.where(np.isnan(x), (g * 0).astype(want.dtype), want)
    elif name in ("pow_scalar", "pow_bwd"):
        # x ** -0.5 is 1 / sqrt(x) in PyTorch: NaN at -inf, -inf at -0 (NumPy's power: 0, inf)
        x, e = twin_args[-2], twin_args[-1]
        if (e if name == "pow_scalar" else e - 1) == -0.5:
            with np.errstate(all="ignore"):
                p = np.where(x == -INF, NAN, np.where((x == 0) & np.signbit(x), -INF, 0)).astype(want.dtype)
                fix = (x == -INF) | ((x == 0) & np.signbit(x))
                if name == "pow_bwd":
                    p = twin_args[0] * (p * want.dtype.type(e))
                want = np.where(fix, p, want)
    return want


def _denormal_floor(spec, args, dtype, ulps):
    """An absolute tolerance for results computed from a denormal intermediate
    (e.g. pow(x, e) underflowing, then scaled by g * e): a few denormal steps,
    times the factors applied after the library call."""
    scale = np.ones(len(args[0]))
    for p, a in zip(spec.params, args):
        if p.kind == "T":
            with np.errstate(all="ignore"):
                scale = scale * np.maximum(1, np.abs(np.broadcast_to(a, scale.shape)))
    step = float(np.finfo(dtype).smallest_subnormal)
    return ulps * step * np.minimum(np.nan_to_num(scale, nan=1, posinf=1e6), 1e6)


# Kernels whose result is a difference of terms of about |g| (1 + |x|) in size, which
# cancel: gelu's 1 + erf(x / sqrt 2) or 1 + tanh(...) at negative x, and its slope
# Phi(x) + x phi(x) around x = -0.75, where it is 0 (PyTorch's formulas, kept as they
# are). The kernel's erf / tanh and the twin's differ in their last bits, which the
# difference shows in full; so an absolute tolerance in ulps of the terms' size.
# (silu_bwd: 1 + x (1 - s) near x = -1.28; bce_logits: (1 - t) x - log_sigmoid(x), bce_logits_bwd: sigmoid(x) - t)
CANCELLING = {"gelu", "gelu_tanh", "gelu_bwd", "gelu_tanh_bwd", "silu_bwd", "mish_bwd", "bce_logits", "bce_logits_bwd"}


def _cancellation_floor(name, k_args, dtype):
    g = np.abs(k_args[0]) if len(k_args) == 2 or name.endswith("_bwd") else 1.0      # (a backward's g: first)
    with np.errstate(all="ignore"):
        return 16 * float(np.finfo(dtype).eps) * g * (1 + np.abs(k_args[-1]))


def kernel_expectation(name, t_args, dtype, device=None):
    """What kernel `name` should give for the twin's arguments: the twin with
    PyTorch's choices where it differs (_pytorch_overrides). float16: the GPU
    loads half into float, computes in float and rounds once, so the twin runs in
    float32 on the same (exact) values and its result is rounded to half.
    `device`: the cupy module, to run the twin on the device (its libm, its -ftz)."""
    spec = ks.POINTWISE[name]
    twin = getattr(prims, ks.KERNEL_OF.get(name, name)).twin
    half = dtype == "float16"
    if half:
        t_args = [a.astype(np.float32) if isinstance(a, np.ndarray) and a.dtype == np.float16 else
                  (float(np.float16(a)) if isinstance(a, float) else a) for a in t_args]
    run_args = t_args if device is None else [device.asarray(a) if isinstance(a, np.ndarray) else a
                                               for a in t_args]
    with np.errstate(all="ignore"):
        want = twin(*run_args)
        want = np.asarray(want if device is None else device.asnumpy(want))
        want = _pytorch_overrides(name, t_args, want)
        if half and spec.out == "T":
            want = want.astype(np.float16)
    return want


POINTWISE_CASES = [(n, dt) for n in ks.POINTWISE for dt in ("float32", "float64", "float16")]


@pytest.mark.parametrize("name,dtype", POINTWISE_CASES, ids=[f"{n}-{d}" for n, d in POINTWISE_CASES])
def test_pointwise_kernel_matches_twin(lib, name, dtype):
    spec = ks.POINTWISE[name]
    twin = getattr(prims, ks.KERNEL_OF.get(name, name)).twin
    rng = np.random.default_rng(seed(name, dtype))
    cols, scalar_sets = pointwise_inputs(name, dtype, rng)
    half = dtype == "float16"
    math_dtype = "float32" if half else dtype
    for scalars in scalar_sets:
        t_args, k_args = _twin_args(spec, cols, scalars, dtype)
        want = kernel_expectation(name, t_args, dtype)
        with np.errstate(all="ignore"):
            got = run_pointwise(lib, name, math_dtype, k_args)
            if half and spec.out == "T":
                got = got.astype(np.float16)
        ulps = LIBM_ULPS.get(name, 0)
        if half and ulps:
            ulps = 1        # float results a few float-ulp apart may round to neighbouring halves
        floor = _denormal_floor(spec, k_args, math_dtype, ulps) if ulps else None
        if name in CANCELLING:
            floor = np.maximum(floor, _cancellation_floor(name, k_args, math_dtype))
        assert_matches(got, want, ulps, f"{name} {dtype} scalars={scalars}", k_args, floor=floor)
    # a Python scalar in an array-or-scalar parameter: cast to the dtype, like NumPy's weak scalars
    for i, p in enumerate(spec.params):
        if p.form == "e" and not half:
            t_args, k_args = _twin_args(spec, cols, scalar_sets[0], dtype)
            t_args[i] = 2.5
            k_args[i] = np.float64(np.dtype(dtype).type(2.5))
            with np.errstate(all="ignore"):
                want = _pytorch_overrides(name, t_args, np.asarray(twin(*t_args)))
                got = run_pointwise(lib, name, dtype, k_args)
            assert_matches(got, want, LIBM_ULPS.get(name, 0), f"{name} {dtype} {p.name}=2.5", k_args)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_kernels_follow_pytorch_where_twin_differs(lib, dtype):
    """sign(NaN) is 0 in PyTorch (NaN in NumPy), so abs' gradient at NaN is 0."""
    torch = pytest.importorskip("torch")
    x = np.array(EDGES[dtype], dtype=dtype)
    g = np.full_like(x, 3.0)
    tx = torch.tensor(x, requires_grad=True)
    tx.abs().backward(torch.tensor(g))
    assert_matches(run_pointwise(lib, "sign", dtype, [x]), torch.sign(torch.tensor(x)).numpy(), 0,
                   "sign vs torch", [x])
    assert_matches(run_pointwise(lib, "abs_bwd", dtype, [g, x]), tx.grad.numpy(), 0, "abs_bwd vs torch", [x])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_relu_clamp_hardtanh_kernels_keep_signed_zeros_as_pytorch(lib, dtype):
    """relu, clamp and hardtanh return x itself unless it is beyond a bound: -0.0 stays -0.0 at a bound
    of 0, as PyTorch's (NumPy's maximum, and <= in hardtanh, gave +0.0); NaN stays NaN."""
    torch = pytest.importorskip("torch")
    x = np.array([-0.0, 0.0, -1.0, 1.0, np.nan, -np.inf, np.inf], dtype=dtype)
    want = torch.relu(torch.tensor(x)).numpy()
    got = run_pointwise(lib, "relu", dtype, [x])
    assert np.array_equal(got, want, equal_nan=True) and np.array_equal(np.signbit(got), np.signbit(want))
    for lo, hi in ((0.0, 1.0), (-1.0, -0.0), (0.0, np.inf), (-np.inf, 0.0)):
        want = torch.clamp(torch.tensor(x), lo, hi).numpy()
        for name in ("clamp", "hardtanh"):
            got = run_pointwise(lib, name, dtype, [x, lo, hi])
            assert np.array_equal(got, want, equal_nan=True) and np.array_equal(np.signbit(got), np.signbit(want)), \
                (name, lo, hi)


def test_float16_kernels_round_once(lib):
    """A fused float16 kernel rounds once, from float (PyTorch's opmath); the
    twin run in float16 rounds after every step. Here: tanh_bwd near |y| = 1,
    where the twin's 1 - y*y loses the result."""
    y = np.array([0.999, -0.9995, 0.998], dtype=np.float16)
    g = np.ones_like(y)
    exact = (1 - y.astype(np.float64) ** 2).astype(np.float16)
    got = run_pointwise(lib, "tanh_bwd", "float32", [g.astype(np.float32), y.astype(np.float32)]).astype(np.float16)
    assert_matches(got, exact, 0, "tanh_bwd float16 vs exact")


# --- backward kernels vs finite differences of the forward kernels (float64) --------------

def _fd(f, x, h):
    return (f(x + h) - f(x - h)) / (2 * h)


def _check_grad(got, want, what):
    COUNTS["cases"] += 1
    COUNTS["values"] += got.size
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-9, err_msg=what)


FD_UNARY = {   # backward kernel: (forward kernel, saved value "x" or "y", sampling of x)
    "exp_bwd": ("exp", "y", lambda r, n: r.uniform(-5, 5, n)),
    "log_bwd": ("log", "x", lambda r, n: r.uniform(0.1, 10, n)),
    "log1p_bwd": ("log1p", "x", lambda r, n: r.uniform(-0.9, 10, n)),
    "sqrt_bwd": ("sqrt", "y", lambda r, n: r.uniform(0.1, 10, n)),
    "rsqrt_bwd": ("rsqrt", "y", lambda r, n: r.uniform(0.1, 10, n)),
    "square_bwd": ("square", "x", lambda r, n: r.uniform(-5, 5, n)),
    "abs_bwd": ("abs", "x", lambda r, n: r.uniform(-5, 5, n)),
    "sin_bwd": ("sin", "x", lambda r, n: r.uniform(-5, 5, n)),
    "cos_bwd": ("cos", "x", lambda r, n: r.uniform(-5, 5, n)),
    "tanh_bwd": ("tanh", "y", lambda r, n: r.uniform(-3, 3, n)),
    "sigmoid_bwd": ("sigmoid", "y", lambda r, n: r.uniform(-8, 8, n)),
    "relu_bwd": ("relu", "y", lambda r, n: r.uniform(-5, 5, n)),
    "tan_bwd": ("tan", "y", lambda r, n: r.uniform(-1.3, 1.3, n)),
    "asin_bwd": ("asin", "x", lambda r, n: r.uniform(-0.95, 0.95, n)),
    "acos_bwd": ("acos", "x", lambda r, n: r.uniform(-0.95, 0.95, n)),
    "atan_bwd": ("atan", "x", lambda r, n: r.uniform(-5, 5, n)),
    "sinh_bwd": ("sinh", "x", lambda r, n: r.uniform(-4, 4, n)),
    "cosh_bwd": ("cosh", "x", lambda r, n: r.uniform(-4, 4, n)),
    "expm1_bwd": ("expm1", "y", lambda r, n: r.uniform(-5, 5, n)),
    "log2_bwd": ("log2", "x", lambda r, n: r.uniform(0.1, 10, n)),
    "log10_bwd": ("log10", "x", lambda r, n: r.uniform(0.1, 10, n)),
    "reciprocal_bwd": ("reciprocal", "y", lambda r, n: r.uniform(0.2, 5, n) * r.choice([-1, 1], n)),
    "erf_bwd": ("erf", "x", lambda r, n: r.uniform(-4, 4, n)),
    "erfc_bwd": ("erfc", "x", lambda r, n: r.uniform(-4, 4, n)),
    "erfinv_bwd": ("erfinv", "x", lambda r, n: r.uniform(-0.95, 0.95, n)),
    "gelu_bwd": ("gelu", "x", lambda r, n: r.uniform(-6, 6, n)),
    "gelu_tanh_bwd": ("gelu_tanh", "x", lambda r, n: r.uniform(-6, 6, n)),
    "hardsigmoid_bwd": ("hardsigmoid", "x", lambda r, n: r.uniform(-6, 6, n)),
    "hardswish_bwd": ("hardswish", "x", lambda r, n: r.uniform(-6, 6, n)),
    "logsigmoid_bwd": ("logsigmoid", "x", lambda r, n: r.uniform(-30, 30, n)),
    "silu_bwd": ("silu", "x", lambda r, n: r.uniform(-30, 30, n)),
    "mish_bwd": ("mish", "x", lambda r, n: r.uniform(-30, 30, n)),
}


@pytest.mark.parametrize("name", sorted(FD_UNARY))
def test_unary_backward_matches_finite_differences(lib, name):
    fwd, saved, sample = FD_UNARY[name]
    rng = np.random.default_rng(7)
    x = sample(rng, 500)
    x = x[np.abs(x) > 1e-3]                              # away from kinks at 0
    g = rng.standard_normal(x.size)
    h = 1e-6 * np.maximum(1, np.abs(x))
    f = lambda v: run_pointwise(lib, fwd, "float64", [v])
    s = x if saved == "x" else f(x)
    _check_grad(run_pointwise(lib, name, "float64", [g, s]), g * _fd(f, x, h), name)


# the activations' backward kernels: (forward kernel, its scalars -> the backward's, sampling of x)
FD_ACTIVATIONS = {
    "elu_bwd": ("elu", lambda c, s, i: (c * i, s, i), lambda r, n: r.uniform(-5, 5, n)),
    "softplus_bwd": ("softplus", lambda b, t: (b, t), lambda r, n: r.uniform(-30, 30, n)),
    "threshold_bwd": ("threshold", lambda th, v: (th,), lambda r, n: r.uniform(-3, 3, n)),
    "hardtanh_bwd": ("hardtanh", lambda lo, hi: (lo, hi), lambda r, n: r.uniform(-8, 8, n)),
    "leaky_relu_bwd": ("leaky_relu", lambda a: (a,), lambda r, n: r.uniform(-5, 5, n)),
    "shrink_bwd": ("softshrink", lambda a: (a,), lambda r, n: r.uniform(-5, 5, n)),
}


@pytest.mark.parametrize("name", sorted(FD_ACTIVATIONS))
def test_activation_backward_matches_finite_differences(lib, name):
    fwd, bwd_scalars, sample = FD_ACTIVATIONS[name]
    rng = np.random.default_rng(9)
    for scalars in SCALARS[fwd]:
        x = sample(rng, 500)
        kinks = [0.0] + [v for v in scalars if abs(v) < 100] + [-v for v in scalars if abs(v) < 100]
        if fwd == "softplus":
            kinks = [scalars[1] / scalars[0]]
        x = x[np.min(np.abs(x[:, None] - np.array(kinks)[None, :]), axis=1) > 1e-3]   # away from the kinks
        g = rng.standard_normal(x.size)
        h = 1e-6 * np.maximum(1, np.abs(x))
        f = lambda v: run_pointwise(lib, fwd, "float64", [v, *scalars])
        _check_grad(run_pointwise(lib, name, "float64", [g, x, *bwd_scalars(*scalars)]), g * _fd(f, x, h),
                    f"{name} {scalars}")


def test_elu_backward_from_the_result_matches_finite_differences(lib):
    """EluBackward1's kernel (the in-place forms) reads the result: the derivative of elu at x, from elu(x)."""
    rng = np.random.default_rng(10)
    for scalars in _ELU:
        if scalars[0] < 0:
            continue                    # (PyTorch refuses that backward: the result hides the input's sign)
        x = rng.uniform(-5, 5, 500)
        x = x[np.abs(x) > 1e-3]
        g = rng.standard_normal(x.size)
        f = lambda v: run_pointwise(lib, "elu", "float64", [v, *scalars])
        _check_grad(run_pointwise(lib, "elu_bwd_result", "float64", [g, f(x), *scalars]),
                    g * _fd(f, x, 1e-6 * np.maximum(1, np.abs(x))), f"elu_bwd_result {scalars}")


def test_binary_backward_matches_finite_differences(lib):
    rng = np.random.default_rng(8)
    n = 500
    a, b = rng.uniform(0.2, 4, n), rng.uniform(0.2, 4, n) * rng.choice([-1, 1], n)
    g = rng.standard_normal(n)
    h = 1e-6 * np.maximum(1, np.abs(a))
    hb = 1e-6 * np.maximum(1, np.abs(b))
    pw = lambda name, *args: run_pointwise(lib, name, "float64", list(args))
    # div
    _check_grad(pw("div_bwd_a", g, b), g * _fd(lambda v: pw("div", v, b), a, h), "div_bwd_a")
    _check_grad(pw("div_bwd_b", g, a, b), g * _fd(lambda v: pw("div", a, v), b, hb), "div_bwd_b")
    # atan2, both operands (b of either sign: across the branch cut's two sides, off it)
    _check_grad(pw("atan2_bwd_a", g, a, b), g * _fd(lambda v: pw("atan2", v, b), a, h), "atan2_bwd_a")
    _check_grad(pw("atan2_bwd_b", g, a, b), g * _fd(lambda v: pw("atan2", a, v), b, hb), "atan2_bwd_b")
    # maximum / minimum away from ties, and ties split the gradient
    c = a + np.where(rng.random(n) < 0.5, 0.5, -0.5)
    for name, fwd in (("maximum_bwd", "maximum"), ("minimum_bwd", "minimum")):
        _check_grad(pw(name, g, a, c), g * _fd(lambda v: pw(fwd, v, c), a, h), name)
        _check_grad(pw(name, g, a, a), g * 0.5, name + " at ties")
    # pow: base (Python and tensor exponent) and exponent
    e = rng.uniform(-2, 3, n)
    _check_grad(pw("pow_bwd_base", g, a, e), g * _fd(lambda v: pw("pow", v, e), a, h), "pow_bwd_base")
    _check_grad(pw("pow_bwd_exp", g, a, e, pw("pow", a, e)),
                g * _fd(lambda v: pw("pow", a, v), e, 1e-6 * np.maximum(1, np.abs(e))), "pow_bwd_exp")
    for ex in (2.0, 0.5, -1.5, 3.0):
        _check_grad(pw("pow_bwd", g, a, ex, ex - 1), g * _fd(lambda v: pw("pow", v, ex), a, h), f"pow_bwd e={ex}")
    # binary_cross_entropy_with_logits' input gradient (t anywhere: PyTorch takes soft targets)
    t = rng.uniform(-0.5, 1.5, n)
    x = rng.uniform(-8, 8, n)
    _check_grad(pw("bce_logits_bwd", g, x, t), g * _fd(lambda v: pw("bce_logits", v, t), x,
                                                      1e-6 * np.maximum(1, np.abs(x))), "bce_logits_bwd")
    # clamp, away from the bounds
    x = rng.uniform(-3, 3, n)
    x = x[np.minimum(np.abs(x + 1), np.abs(x - 1.5)) > 1e-3]
    gx = g[:x.size]
    _check_grad(pw("clamp_bwd", gx, x, -1.0, 1.5), gx * _fd(lambda v: pw("clamp", v, -1.0, 1.5), x, 1e-6), "clamp_bwd")


# --- reductions --------------------------------------------------------------------------

def run_rows(lib, name, dtype, arrays, rows, n, inner, lanes, out_dtype, correction=None, total=None):
    fn = getattr(lib, f"red_{name}_{dtype}")
    fn.restype = None
    if name in ks.ROWWISE:
        out = np.empty_like(arrays[-1])
    else:
        out = np.empty(rows, dtype=out_dtype)
    args = [_ptr(a) for a in arrays] + [_ptr(out), ctypes.c_longlong(rows), ctypes.c_longlong(n),
                                         ctypes.c_longlong(inner), ctypes.c_int(lanes)]
    if correction is not None:
        args.append(ctypes.c_double(correction))
    if total is not None:
        args.append(ctypes.c_longlong(total))
    fn(*args)
    return out


def host_reduce(lib, name, x, axis, keepdims, *rest, lanes=None, math_dtype=None):
    """What the CuPy wrapper computes (same layout and launch choice), on the host."""
    axes = ck._normalize_axes(axis, x.ndim)
    xs, outer, n, inner = ck._layout(x, axes, np)
    rows = outer * inner
    if lanes is None:
        _, block, mode = ck._launch_config(rows, n, inner)
        lanes = block if mode else 1
    kind = ks.REDUCTIONS[name][1]
    dt = math_dtype or x.dtype.name
    out_dtype = {"T": dt, "index": np.int64, "bool": bool}[kind]
    xs = np.ascontiguousarray(xs, dtype=dt if x.dtype != bool else bool)
    y = run_rows(lib, name, dt, [xs], rows, n, inner, lanes, out_dtype,
                 correction=float(rest[0]) if name == "var" else None)
    return y.reshape(ck._out_shape(x.shape, axes, keepdims))


def host_rowwise(lib, name, arrays, axis, lanes=None, math_dtype=None):
    shape = arrays[-1].shape
    a = axis % len(shape)
    outer, n, inner = math.prod(shape[:a]), shape[a], math.prod(shape[a + 1:])
    rows = outer * inner
    if lanes is None:
        _, block, mode = ck._launch_config(rows, n, inner)
        lanes = block if mode else 1
    dt = math_dtype or arrays[-1].dtype.name
    arrays = [np.ascontiguousarray(v, dtype=dt) for v in arrays]
    return run_rows(lib, name, dt, arrays, rows, n, inner, lanes, None)


REDUCE_SHAPES = [((3, 40, 5), 1), ((3, 40, 5), (0, 2)), ((3, 40, 5), None), ((7, 300), 1), ((7, 300), 0),
                 ((2, 3, 4, 5), (1, 2)), ((2, 3, 4, 5), (0, 3)), ((1000,), 0), ((5, 1), 1), ((), None),
                 ((4, 6), ()), ((2, 600), 1), ((600, 3), 0)]


def _with_edges(rng, shape, dtype, edges=True):
    x = rng.standard_normal(shape) * 3
    if edges and x.size >= 8:
        flat = x.reshape(-1)
        k = rng.choice(flat.size, max(1, flat.size // 50), replace=False)
        flat[k] = rng.choice([INF, -INF, NAN, 0.0, -0.0], k.size)
    return x.astype(dtype)


def _reduce_tolerance(name, x32, axis, dtype):
    """Absolute tolerance of a sum-like reduction: a few ulp of sum(|x|)."""
    eps = np.finfo(dtype).eps
    with np.errstate(all="ignore"):
        scale = np.sum(np.abs(x32.astype(np.float64)), axis=axis)
    return 8 * eps * scale


def _close(got, want, atol, rtol, what):
    COUNTS["cases"] += 1
    COUNTS["values"] += np.size(got)
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    gn, wn = np.isnan(got), np.isnan(want)
    assert (gn == wn).all(), f"{what}: NaN at different places:\n{got}\n{want}"
    fin = ~gn & np.isfinite(want)
    assert (got[~gn & ~fin] == want[~gn & ~fin]).all(), f"{what}: infinities differ"
    atol = np.broadcast_to(atol, got.shape)
    err = np.abs(got - want)
    bad = fin & ~(err <= atol + rtol * np.abs(want))
    if bad.any():
        i = np.flatnonzero(bad.ravel())[:6]
        pytest.fail(f"{what}: {bad.sum()} of {bad.size} beyond atol + rtol*|want| (rtol {rtol}):\n"
                    + "\n".join(f"  [{k}] got {got.ravel()[k]!r} want {want.ravel()[k]!r} atol {atol.ravel()[k]!r}"
                                 for k in i))


@pytest.mark.parametrize("name", sorted(ks.REDUCTIONS))
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_reduction_kernel_matches_twin(lib, name, dtype):
    twin = getattr(prims, name).twin
    rng = np.random.default_rng(seed(name, dtype))
    eps = float(np.finfo(dtype).eps)
    for shape, axis in REDUCE_SHAPES:
        if name in ("argmax", "argmin") and isinstance(axis, tuple):
            continue
        for keepdims in (False, True):
            x = _with_edges(rng, shape, dtype, edges=name not in ("prod",))
            if name == "prod":
                x = (rng.uniform(0.5, 1.5, shape) * rng.choice([-1, 1], shape)).astype(dtype)
            rests = [(0,), (1,), (2,)] if name == "var" else [()]
            for rest in rests:
                what = f"{name} {dtype} shape={shape} axis={axis} keepdims={keepdims} {rest}"
                # float16 is reduced in float, as on the GPU: the expectation is the twin in float32
                xe = x.astype(np.float32) if dtype == "float16" else x
                with np.errstate(all="ignore"):
                    want = np.asarray(twin(xe, axis, keepdims, *rest))
                    got = host_reduce(lib, name, xe, axis, keepdims, *rest)
                if dtype == "float16" and want.dtype == np.float32:
                    want, got = want.astype(np.float16), got.astype(np.float16)
                assert got.shape == want.shape, what
                if want.dtype == bool or want.dtype.kind in "iu" or name in ("amax", "amin"):
                    assert_matches(got, want.astype(got.dtype), 0, what)
                    continue
                with np.errstate(all="ignore"):
                    if dtype == "float16":
                        _close(got, want, 0, float(np.finfo(np.float16).eps), what)   # 1 ulp of half
                    elif name in ("sum", "mean"):
                        atol = _reduce_tolerance(name, x, axis, dtype)
                        if name == "mean":
                            atol = atol / max(1, x.size // max(1, np.size(want)))
                        _close(got, want, np.reshape(atol, np.shape(want)) if np.ndim(atol) else atol, 0, what)
                    elif name == "prod":
                        _close(got, want, 0, 4 * shape_n(shape, axis) * eps, what)
                    else:       # var, logsumexp
                        _close(got, want, 16 * eps, 16 * eps * math.sqrt(shape_n(shape, axis) + 1), what)


def shape_n(shape, axis):
    axes = ck._normalize_axes(axis, len(shape))
    return math.prod(shape[a] for a in axes)


def test_argmax_ties_nan_and_team_sizes(lib):
    """The first occurrence wins ties, the first NaN wins over everything, for
    every team size (the combine order must not matter)."""
    x = np.array([[1, 3, 3, 2], [NAN, 5, NAN, 1], [-INF, -INF, -INF, -INF], [2, 2, 2, 2],
                  [0.0, -0.0, 0.0, -1]], dtype=np.float64)
    x = np.repeat(x, 20, axis=1)                          # rows of 80: several elements per lane
    for lanes in (1, 2, 32, 64, 256):
        for name in ("argmax", "argmin"):
            got = host_reduce(lib, name, x, 1, False, lanes=lanes)
            want = getattr(prims, name).twin(x, 1, False)
            assert_matches(got, want.astype(np.int64), 0, f"{name} lanes={lanes}")


def test_any_all_bool_and_float(lib):
    rng = np.random.default_rng(3)
    xb = rng.random((6, 50)) < 0.02
    xb[0] = False
    xb[1] = True
    xf = np.where(rng.random((6, 50)) < 0.5, 0.0, NAN)
    xf[2] = -0.0
    for x in (xb, xf, xf.astype(np.float32)):
        for name in ("any", "all"):
            for axis in (0, 1, None):
                got = host_reduce(lib, name, x, axis, False)
                want = np.asarray(getattr(prims, name).twin(x, axis, False))
                assert_matches(got, want, 0, f"{name} {x.dtype} axis={axis}")


def test_reductions_edge_rows(lib):
    """logsumexp of all -inf / with +inf / with NaN rows; var with a single
    element; softmax of rows with -inf entries."""
    x = np.array([[-INF, -INF, -INF], [1.0, INF, 2.0], [1.0, NAN, 2.0], [0.0, -INF, 0.0], [1e308, 1e308, 0]])
    with np.errstate(all="ignore"):
        _close(host_reduce(lib, "logsumexp", x, 1, False), prims.logsumexp.twin(x, 1, False), 0, 1e-15,
               "logsumexp edge rows")
        one = np.array([[2.0], [NAN]])
        for c in (0, 1, 2):
            _close(host_reduce(lib, "var", one, 1, False, c), prims.var.twin(one, 1, False, c), 0, 0,
                   f"var of one element, correction {c}")
        s = np.array([[0.0, -INF, 1.0], [-INF, -INF, 2.0]])
        _close(host_rowwise(lib, "softmax", [s], 1), prims.softmax.twin(s, 1), 1e-16, 1e-15, "softmax -inf")
        _close(host_rowwise(lib, "log_softmax", [s], 1), prims.log_softmax.twin(s, 1), 1e-16, 1e-15,
               "log_softmax -inf")


def test_var_of_constant_rows_is_exactly_zero(lib):
    """A constant row has variance exactly 0 (as PyTorch's Welford), in the
    kernel (one lane and a team of lanes) and in the twin: the mean is
    corrected by the mean deviation from it. Plain two-pass, for these rows,
    leaves a rounding residue (std ~1e-14 and more)."""
    vals = np.exp(np.linspace(-3, 7, 24))           # full mantissas: sum / n rarely gives the value back
    for dt in ("float64", "float32"):
        x = np.repeat(vals[:, None], 7, axis=1).astype(dt)
        naive = ((x - x.mean(1, keepdims=True)) ** 2).sum(1)
        assert np.count_nonzero(naive) > 0, "the rows must be ones where plain two-pass leaves a residue"
        for c in (0, 1):
            assert not np.any(prims.var.twin(x, (1,), False, c)), f"twin {dt}"
            for lanes in (1, 4, 32):
                got = host_reduce(lib, "var", x, 1, False, c, lanes=lanes)
                assert not np.any(got), f"kernel {dt}, {lanes} lanes, correction {c}"


@pytest.mark.parametrize("name", ks.ROWWISE)
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_rowwise_kernel_matches_twin(lib, name, dtype):
    twin = getattr(prims, name).twin
    rng = np.random.default_rng(seed(name, dtype))
    eps = float(np.finfo(dtype).eps)
    for shape, axis in [((4, 37), 1), ((4, 37), 0), ((3, 5, 300), 2), ((3, 300, 5), 1), ((2, 3, 4), -1),
                        ((1000,), 0), ((6, 8), 1)]:
        x = (rng.standard_normal(shape) * 4).astype(dtype)
        xe = x.astype(np.float32) if dtype == "float16" else x
        if name.endswith("_bwd"):
            y = prims.softmax.twin(xe, axis) if name == "softmax_bwd" else prims.log_softmax.twin(xe, axis)
            g = rng.standard_normal(shape).astype(xe.dtype)
            if dtype == "float16":           # the saved values are halves
                y, g = y.astype(np.float16).astype(np.float32), g.astype(np.float16).astype(np.float32)
            args = [g, y]
        else:
            args = [xe]
        with np.errstate(all="ignore"):
            want = np.asarray(twin(*args, axis))
        got = host_rowwise(lib, name, args, axis)
        what = f"{name} {dtype} shape={shape} axis={axis}"
        if dtype == "float16":
            _close(got.astype(np.float16), want.astype(np.float16), float(np.finfo(np.float16).eps) / 4,
                   float(np.finfo(np.float16).eps), what)
        else:
            scale = np.max(np.abs(want)) + np.max(np.abs(args[0]))
            _close(got, want, 16 * eps * scale, 16 * eps, what)


@pytest.mark.parametrize("lanes", [1, 32, 256])
def test_reduction_backward_matches_finite_differences(lib, lanes):
    """logsumexp_bwd, var_bwd and select_bwd (pointwise) and softmax_bwd /
    log_softmax_bwd (rowwise) against central differences of the forward
    reduction kernels, float64."""
    rng = np.random.default_rng(11 + lanes)
    n = 41
    x = rng.standard_normal((3, n))
    g = rng.standard_normal((3, 1))
    h = 1e-6
    red = lambda name, v, *r: host_reduce(lib, name, v, 1, True, *r, lanes=lanes)

    def fd_rows(f):
        out = np.empty_like(x)
        for j in range(n):
            e = np.zeros_like(x)
            e[:, j] = h
            out[:, j] = ((f(x + e) - f(x - e)) / (2 * h)).reshape(-1)
        return out

    pw = lambda name, *args: run_pointwise(lib, name, "float64", [np.broadcast_to(a, x.shape).ravel()
                                                                  if np.ndim(a) else a for a in args]).reshape(x.shape)
    lse = red("logsumexp", x)
    _check_grad(pw("logsumexp_bwd", g, x, lse), g * fd_rows(lambda v: red("logsumexp", v)), "logsumexp_bwd")
    for c in (0, 1):
        mean = x.mean(axis=1, keepdims=True)
        _check_grad(pw("var_bwd", g, x, mean, 2.0 / (n - c)), g * fd_rows(lambda v: red("var", v, c)),
                    f"var_bwd correction={c}")
    mx = red("amax", x)
    mask = x == mx
    _check_grad(pw("select_bwd", g, mask, mask.sum(axis=1, keepdims=True).astype(np.float64)),
                g * fd_rows(lambda v: red("amax", v)), "select_bwd (amax)")
    gy = rng.standard_normal(x.shape)
    for name, fwd in (("softmax_bwd", "softmax"), ("log_softmax_bwd", "log_softmax")):
        y = host_rowwise(lib, fwd, [x], 1, lanes=lanes)
        got = host_rowwise(lib, name, [gy, y], 1, lanes=lanes)
        want = fd_rows(lambda v: np.sum(gy * host_rowwise(lib, fwd, [v], 1, lanes=lanes), axis=1))
        _check_grad(got, want, name)


def _aligned(values, dtype):
    """A 16-byte aligned copy of `values` (as the GPU's allocations are)."""
    n = len(values)
    raw = np.empty(n + 16, dtype=dtype)
    skip = (-raw.ctypes.data % 16) // raw.itemsize
    a = raw[skip:skip + n]
    a[:] = values
    return a


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pack_kernels_cover_every_element_once(lib, dtype):
    """kernels/vector.cuh, the pack kernels of contiguous operands: for every
    primitive and argument form, lengths around the pack width and any number of
    threads, each element equals the one-element kernel's (bit for bit, NaN
    alike) and nothing past n is written. A row operand ("r") is tried at every
    row length, a multiple of the pack width, that divides n; a one-element
    operand ("1") stands for n copies of its element."""
    c_scalar = ctypes.c_float if dtype == "float32" else ctypes.c_double
    width = 16 // np.dtype(dtype).itemsize
    rng = np.random.default_rng(seed("packs", dtype))
    cases = 0
    for name, form in ks.VECTOR_KERNELS:
        spec = ks.POINTWISE[name]
        fn = getattr(lib, ks.vector_kernel_name(name, dtype, form))
        fn.restype = None
        out_dtype = bool if spec.out == "bool" else dtype
        shapes = ([(n, None) for n in (0, 1, 3, 4, 5, 8, 17, 64, 131)] if "r" not in form else
                  [(n, c) for n in (0, 8, 24, 64) for c in range(width, max(n, width) + 1, width) if n % c == 0])
        for n, cols in shapes:
            cols_list, args = [], []
            for p, f in zip(spec.params, form):
                if f == "s":
                    v = float(rng.choice([0.75, -1.5, 2.0]))
                    cols_list.append(np.full(n, v, dtype=dtype))
                    args.append(c_scalar(v))
                    continue
                length = n if f == "a" else cols if f == "r" else 1
                v = rng.random(length) < 0.5 if p.kind == "bool" else _random_values(rng, length, dtype)[:length]
                v = _aligned(v, bool if p.kind == "bool" else dtype)
                cols_list.append(v if f == "a" else np.tile(v, n // cols) if f == "r" else np.repeat(v, n))
                args.append(_ptr(v))
                if f == "r":
                    args.append(ctypes.c_longlong(cols))
            want = run_pointwise(lib, name, dtype, cols_list) if n else np.empty(0, out_dtype)
            for nthreads in (1, 2, 3, 7, 64):
                sentinel = _aligned(rng.random(n + 5) < 0.5 if out_dtype is bool else rng.random(n + 5), out_dtype)
                out = _aligned(sentinel, out_dtype)
                fn(*args, _ptr(out), ctypes.c_longlong(n), ctypes.c_longlong(nthreads))
                assert_matches(out[:n], want, 0, f"{name} {dtype} form={form} n={n} cols={cols} threads={nthreads}")
                assert (out[n:] == sentinel[n:]).all(), f"{name}: written past n = {n}"
                cases += 1
    assert cases >= len(ks.VECTOR_KERNELS) * 5 * 5
