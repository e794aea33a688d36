"""Array primitives: all the math of forward and backward passes, in one table.

Each primitive is one function over three kinds of operand, chosen by the type
of its first argument (primitives take their array operands first):

* a NumPy array: the NumPy twin below runs;
* a CuPy array: our CUDA kernel of the same name runs (`kernels/*.cuh`, wrapped
  by `backend/cupy_kernels.py`); primitives without a kernel there run their twin,
  whose `np.*` calls CuPy takes over through NumPy's dispatch protocols;
* a Tensor: the differentiable form runs, so a backward formula evaluated on
  Tensors (under `create_graph=True`) is itself recorded. For forward pieces
  that is the Tensor op; for backward pieces it is the twin's formula composed
  of Tensor ops, which is what makes higher-order gradients of fused kernels work.

Formulas follow PyTorch's `tools/autograd/derivatives.yaml`, including its
choices at 0, ties and NaN.
"""
import builtins
import math
import sys

import numpy as np

from .._dtype import from_numpy_dtype
from ._util import half_rounded
from . import blocked, special_math

_nd = np.ndarray
Tensor = None            # bound by autograd_gpu.tensor (import cycle)
_ag = None               # the autograd_gpu package, for Tensor-mode functions
_cuda = None             # backend.cupy_kernels, imported on first CuPy array


def _bind(tensor_cls, package):
    global Tensor, _ag
    Tensor, _ag = tensor_cls, package


def _cuda_impl(name):
    global _cuda
    if _cuda is None:
        from ..backend import cupy_kernels
        _cuda = cupy_kernels
    return _cuda.get(name)


_chunked = blocked.in_chunks          # (a pointwise chain's twin on large arrays: a chunk at a time)


def _prim(name, twin, tensor=None):
    """Make primitive `name` from its NumPy twin and its Tensor form (by default
    the twin itself, composed of Tensor ops)."""
    tensor = tensor or twin
    device = [None, None]                # the CuPy array class last seen, and its kernel

    def prim(*args):
        t = type(args[0])
        if t is _nd:
            return twin(*args)
        if t is device[0]:
            return device[1](*args)
        if t is Tensor:
            return tensor(*args)
        return _slow(prim, args)

    prim.__name__ = prim.__qualname__ = name
    prim.twin, prim.tensor, prim.device = twin, tensor, device
    return prim


def _slow(prim, args):
    a = args[0]
    if isinstance(a, Tensor):
        return prim.tensor(*args)
    if isinstance(a, (_nd, np.generic, int, float, bool)):
        return prim.twin(*args)
    k = _cuda_impl(prim.__name__)
    impl = prim.twin if k is None else k           # (no kernel: reshape, expand)
    # from now on this CuPy class goes straight to impl (a kernel is made per CuPy module: keyed by its class)
    cls = getattr(sys.modules.get("cupy"), "ndarray", None) if k is None else getattr(k, "ndarray", None)
    if type(a) is cls:
        prim.device[:] = cls, impl
    return impl(*args)


# Python-level forms used inside the twins: the same spelling works for arrays
# and Tensors, so a twin composes in either mode.
def _where(c, a, b):
    return np.where(c, a, b) if not isinstance(c, Tensor) else _ag.where(c, a, b)


_MASK_INT = {2: np.int16, 4: np.int32, 8: np.int64}
_i8 = np.dtype(np.int8)
_f16 = np.dtype(np.float16)


def _keep_mask(cond):
    """A freshly computed boolean condition in the form `_keep` reads fastest.
    On NumPy: bytes 0 / -1 (converted in place: True's byte negated), which
    bitwise AND sign-extends over a float of any width in one pass, with no
    temporary. Elsewhere the boolean itself."""
    if type(cond) is not _nd or cond.ndim == 0:
        return cond
    m = cond.view(_i8)
    return np.negative(m, out=m)


def _keep(mask, g):
    """g where mask, else +0 (np.where(mask, g, 0)): on NumPy arrays a bitwise
    AND of g's bits with an all-ones/all-zeros mask, which is exact for NaN,
    inf and -0 and several times faster than np.where. `mask` is a boolean or
    a `_keep_mask`; it is not modified."""
    # (0-d operands: NumPy's comparisons give a scalar mask, which has no out=)
    if type(g) is _nd and type(mask) is _nd and g.dtype.kind == "f" and g.shape == mask.shape:
        if mask.dtype != _i8:
            mask = np.negative(mask.view(_i8))
        return np.bitwise_and(g.view(_MASK_INT[g.itemsize]), mask).view(g.dtype)
    if getattr(mask, "dtype", None) == _i8:
        mask = mask != 0
    return where(mask, g, 0)


def _drop(mask, g):
    """+0 where mask, else g (np.where(mask, 0, g)), the same way."""
    if type(g) is _nd and type(mask) is _nd and g.dtype.kind == "f" and g.shape == mask.shape:
        keep = np.subtract(mask.view(_i8), 1)           # True -> 0, False -> -1
        return np.bitwise_and(g.view(_MASK_INT[g.itemsize]), keep).view(g.dtype)
    return where(mask, 0, g)


def _select(c, a, b):
    """np.where(c, a, b); on a large NumPy boolean c with float operands of one dtype (arrays no larger
    than c, or numbers), the bits of a and b picked by an all-ones/all-zeros mask: the same values (NaN
    payloads and -0 included), without np.where's branch per element, which mispredicts on a mask
    with no pattern (leaky_relu of 4M float32 normals: 18.9 -> 5.7 ms)."""
    if type(c) is _nd and c.size >= _SELECT_FROM and c.dtype == np.bool_:
        dt = np.result_type(a, b)
        if dt.kind == "f" and dt.itemsize in _MASK_INT and builtins.all(
                (type(v) is _nd and v.dtype == dt and np.broadcast_shapes(v.shape, c.shape) == c.shape)
                or isinstance(v, (int, float)) for v in (a, b)):
            bits = _MASK_INT[dt.itemsize]
            mask = c.view(np.uint8).astype(bits)
            np.negative(mask, out=mask)                     # True -> all ones
            out = np.bitwise_and(np.asarray(a, dt).view(bits), mask)
            np.invert(mask, out=mask)
            np.bitwise_or(out, np.bitwise_and(np.asarray(b, dt).view(bits), mask, out=mask), out=out)
            return out.view(dt)
    return np.where(c, a, b)


_SELECT_FROM = 4096


def _half_in_float32(f):
    """f computing float16 arrays in float32 and rounding once, as PyTorch's CPU
    (its opmath) and our kernels do: for multi-step row formulas, where rounding
    every step to half would cost several ulp."""
    def g(*args):
        if args[0].dtype != _f16:
            return f(*args)
        up = [a.astype(np.float32) if isinstance(a, _nd) and a.dtype == _f16 else a for a in args]
        return f(*up).astype(_f16)
    g.__name__ = f.__name__
    return g


# --- forward: pointwise -------------------------------------------------------

def _sigmoid(x):
    # PyTorch's formula 1 / (1 + exp(-x)): for very negative x, exp overflows to
    # inf and the result is exactly 0, as in PyTorch (the warning is silenced).
    # Computed in one buffer (large inputs: one allocation, not four). float16 in
    # float32, as PyTorch's CPU and our kernel: in half, exp(11.1) would already
    # overflow and sigmoid(-12) be 0 instead of 6.1e-6.
    if x.dtype == _f16:
        return _sigmoid(x.astype(np.float32)).astype(_f16)
    if x.ndim == 0:
        return 1 / (1 + np.exp(-x))
    e = np.negative(x)
    np.exp(e, out=e)
    e += 1
    return np.reciprocal(e, out=e)


def _int_power(a, e):
    """Integer a ** e where a tensor exponent may hold negatives: PyTorch's integer
    pow gives 1 for a base of 1, +-1 for -1, and 0 otherwise (NumPy refuses).
    A negative Python exponent is still refused, as in PyTorch."""
    if type(e) is not np.ndarray or e.dtype.kind != "i" or not (e < 0).any():
        return np.power(a, e)
    neg = e < 0
    r = np.power(a, np.where(neg, 0, e))
    at_neg = np.where(a == 1, 1, np.where(a == -1, 1 - 2 * (e & 1), 0))
    return np.where(neg, at_neg, r).astype(r.dtype, copy=False)


def _pow(a, b):
    # PyTorch's pow_tensor_scalar: common Python exponents by multiplication or
    # sqrt (as the CUDA kernel pow_scalar does)
    if type(b) is not float and type(b) is not int or a.dtype.kind != "f":
        return _int_power(a, b) if a.dtype.kind in "iu" else np.power(a, b)
    if b == 2:
        return np.square(a)
    if a.dtype.char == "e":
        # PyTorch's CPU takes half powers in float32 by pow itself, no shortcuts (-0 ** 0.5
        # is 0, -inf ** 0.5 inf), the exponent rounded to half; a full exponent array
        # keeps NumPy off its scalar-0.5 sqrt
        a32 = a.astype(np.float32)
        return np.power(a32, np.full_like(a32, half_rounded(b))).astype(np.float16)
    if b == 3:
        return a * a * a
    if b == 0.5:
        return np.sqrt(a)
    if b == -0.5:
        return np.reciprocal(np.sqrt(a))
    if b == -1:
        return np.reciprocal(a)
    if b == -2:
        return np.reciprocal(np.square(a))
    return np.power(a, b)


def _clamp(x, lo, hi):
    # floats between number bounds: NumPy's clip ufunc (not np.clip's Python wrapper), x unless beyond
    # a bound, as PyTorch's: x's own signed zero where it equals a bound of 0 (np.maximum(-0.0, 0.0) is
    # +0.0), NaN kept; one pass (1M float32: 0.15 ms, maximum then minimum 0.9; 100 x 32: 2.4 us, 2.9)
    if type(x) is _nd and x.dtype.kind == "f" and type(lo) in _BOUNDS and type(hi) in _BOUNDS:
        return _clip(x, _NO_LOWER if lo is None else lo, _NO_UPPER if hi is None else hi)
    if lo is not None:
        x = np.maximum(x, lo)
    return x if hi is None else np.minimum(x, hi)


_BOUNDS = (int, float, type(None))
_NO_LOWER, _NO_UPPER = -math.inf, math.inf
_clip = np._core.umath.clip


neg = _prim("neg", np.negative, lambda x: -x)
exp = _prim("exp", np.exp, lambda x: x.exp())
log = _prim("log", np.log, lambda x: x.log())
log1p = _prim("log1p", np.log1p, lambda x: x.log1p())
sqrt = _prim("sqrt", np.sqrt, lambda x: x.sqrt())
rsqrt = _prim("rsqrt", lambda x: 1 / np.sqrt(x), lambda x: x.rsqrt())
square = _prim("square", np.square, lambda x: x.square())
abs = _prim("abs", np.abs, lambda x: x.abs())
# PyTorch: sign(nan) == 0 (NumPy gives nan)
sign = _prim("sign", lambda x: x.copy() if x.dtype == np.bool_ else             # (sign of bool: itself)
             np.where(x == x, np.sign(x), 0).astype(x.dtype, copy=False), lambda x: x.sign())
sin = _prim("sin", np.sin, lambda x: x.sin())
cos = _prim("cos", np.cos, lambda x: x.cos())
tanh = _prim("tanh", np.tanh, lambda x: x.tanh())
sigmoid = _prim("sigmoid", _sigmoid, lambda x: x.sigmoid())
# (floats: the clip ufunc, which keeps -0.0 as PyTorch's relu does; np.maximum gives +0.0)
relu = _prim("relu", lambda x: _clip(x, 0, _NO_UPPER) if x.dtype.kind == "f" else np.maximum(x, 0), lambda x: x.relu())
clamp = _prim("clamp", _clamp, lambda x, lo, hi: x.clamp(lo, hi))
floor = _prim("floor", np.floor, lambda x: x.floor())
ceil = _prim("ceil", np.ceil, lambda x: x.ceil())
round = _prim("round", np.rint, lambda x: x.round())          # half to even, as PyTorch
trunc = _prim("trunc", np.trunc, lambda x: x.trunc())
tan = _prim("tan", np.tan, lambda x: x.tan())
asin = _prim("asin", np.arcsin, lambda x: x.asin())
acos = _prim("acos", np.arccos, lambda x: x.acos())
atan = _prim("atan", np.arctan, lambda x: x.atan())
sinh = _prim("sinh", np.sinh, lambda x: x.sinh())
cosh = _prim("cosh", np.cosh, lambda x: x.cosh())
expm1 = _prim("expm1", np.expm1, lambda x: x.expm1())
log2 = _prim("log2", np.log2, lambda x: x.log2())
log10 = _prim("log10", np.log10, lambda x: x.log10())
reciprocal = _prim("reciprocal", lambda x: 1 / x, lambda x: x.reciprocal())
erf = _prim("erf", special_math.erf, lambda x: x.erf())             # (NumPy has none: special_math.py)
erfc = _prim("erfc", special_math.erfc, lambda x: x.erfc())
erfinv = _prim("erfinv", special_math.erfinv, lambda x: x.erfinv())


add = _prim("add", np.add, lambda a, b: a + b)
sub = _prim("sub", np.subtract, lambda a, b: a - b)
rsub = _prim("rsub", lambda x, s: np.subtract(s, x), lambda x, s: s - x)          # s - x
mul = _prim("mul", np.multiply, lambda a, b: a * b)
div = _prim("div", np.true_divide, lambda a, b: a / b)
pow = _prim("pow", _pow, lambda a, b: a ** b)
# (an integer base as a NumPy scalar of e's dtype: a 0-d NumPy array would be a host
# operand, which CuPy refuses next to a device array)
rpow = _prim("rpow", lambda e, base: _int_power(e.dtype.type(base), e) if e.dtype.kind in "iu"
             else np.power(base, e), lambda e, base: base ** e)
maximum = _prim("maximum", np.maximum, lambda a, b: _ag.maximum(a, b))
minimum = _prim("minimum", np.minimum, lambda a, b: _ag.minimum(a, b))
atan2 = _prim("atan2", np.arctan2, lambda a, b: _ag.atan2(a, b))


def _lerp(a, b, w):
    # PyTorch's formula: from whichever end the weight is nearer; half in float32, rounded once
    if a.dtype == _f16:
        return _lerp(a.astype(np.float32), b.astype(np.float32),
                     w if not isinstance(w, _nd) else w.astype(np.float32)).astype(_f16)
    d = b - a
    if not isinstance(w, _nd):
        return a + w * d if builtins.abs(w) < 0.5 else b - d * (1 - w)
    return np.where(np.abs(w) < 0.5, a + w * d, b - d * (1 - w))


lerp = _prim("lerp", _lerp, lambda a, b, w: _ag.lerp(a, b, w))
def _add_scaled(a, b, alpha):
    if a.dtype == _f16 and b.dtype == _f16:
        # as PyTorch's CPU and our kernel: in float32, alpha rounded to half, one rounding
        return (a.astype(np.float32) + b.astype(np.float32) * np.float32(half_rounded(alpha))).astype(_f16)
    return a + b * alpha


add_scaled = _prim("add_scaled", _add_scaled, lambda a, b, alpha: a + b * alpha)
where = _prim("where", _select, lambda c, a, b: _ag.where(c, a, b))

eq = _prim("eq", np.equal, lambda a, b: a == b)
ne = _prim("ne", np.not_equal, lambda a, b: a != b)
lt = _prim("lt", np.less, lambda a, b: a < b)
le = _prim("le", np.less_equal, lambda a, b: a <= b)
gt = _prim("gt", np.greater, lambda a, b: a > b)
ge = _prim("ge", np.greater_equal, lambda a, b: a >= b)
isnan = _prim("isnan", np.isnan, lambda x: x.isnan())
isfinite = _prim("isfinite", np.isfinite, lambda x: x.isfinite())


# --- backward: pointwise steps (each ONE fused kernel on the GPU) --------------

exp_bwd = _prim("exp_bwd", lambda g, y: g * y)
log_bwd = _prim("log_bwd", lambda g, x: g / x)
log1p_bwd = _prim("log1p_bwd", lambda g, x: g / (x + 1))
sqrt_bwd = _prim("sqrt_bwd", lambda g, y: g / (y * 2))
rsqrt_bwd = _prim("rsqrt_bwd", lambda g, y: g * (y * y * y) * -0.5)
square_bwd = _prim("square_bwd", lambda g, x: g * (x * 2))
abs_bwd = _prim("abs_bwd", lambda g, x: g * sign(x))
sin_bwd = _prim("sin_bwd", lambda g, x: g * cos(x))
cos_bwd = _prim("cos_bwd", lambda g, x: g * -sin(x))
# derivatives.yaml's formulas, operation for operation as the kernels
tan_bwd = _prim("tan_bwd", lambda g, y: g * (1 + y * y))
asin_bwd = _prim("asin_bwd", lambda g, x: g * (1 / sqrt(-x * x + 1)))
acos_bwd = _prim("acos_bwd", lambda g, x: g * -(1 / sqrt(-x * x + 1)))
atan_bwd = _prim("atan_bwd", lambda g, x: g / (x * x + 1))
sinh_bwd = _prim("sinh_bwd", lambda g, x: g * cosh(x))
cosh_bwd = _prim("cosh_bwd", lambda g, x: g * sinh(x))
expm1_bwd = _prim("expm1_bwd", lambda g, y: g * (y + 1))
log2_bwd = _prim("log2_bwd", lambda g, x: g / (x * 0.6931471805599453))
log10_bwd = _prim("log10_bwd", lambda g, x: g / (x * 2.302585092994046))
reciprocal_bwd = _prim("reciprocal_bwd", lambda g, y: -g * (y * y))
# 2 / sqrt(pi) * exp(-x^2) * grad (erfc: the negative); erfinv: sqrt(pi) / 2 * exp(erfinv(x)^2) * grad,
# from the input, which PyTorch saves (not the result)
erf_bwd = _prim("erf_bwd", lambda g, x: g * (exp(-x * x) * 1.1283791670955126))
erfc_bwd = _prim("erfc_bwd", lambda g, x: g * (exp(-x * x) * -1.1283791670955126))
erfinv_bwd = _prim("erfinv_bwd", lambda g, x: g * (exp(square(erfinv(x))) * 0.886226925452758))


def _tanh_bwd(g, y):
    t = y * y                        # g * (1 - y*y) in one buffer
    if type(t) is not _nd:           # 0-d: NumPy gives a scalar, which has no out=
        return g * (1 - t)
    np.subtract(1, t, out=t)
    return np.multiply(g, t, out=t) if type(g) is _nd and g.shape == t.shape else g * t


def _sigmoid_bwd(g, y):
    t = 1 - y                        # g * ((1 - y) * y) in one buffer
    if type(t) is not _nd:           # 0-d: NumPy gives a scalar, which has no out=
        return g * (t * y)
    t *= y
    return np.multiply(g, t, out=t) if type(g) is _nd and g.shape == t.shape else g * t


tanh_bwd = _prim("tanh_bwd", _tanh_bwd, lambda g, y: g * (1 - y * y))
sigmoid_bwd = _prim("sigmoid_bwd", _sigmoid_bwd, lambda g, y: g * ((1 - y) * y))
# threshold_backward: zero where result <= 0 (a NaN result lets the gradient through)
# (under create_graph threshold_backward's node, which takes y: the gradient requires grad, as PyTorch's)
relu_bwd = _prim("relu_bwd", lambda g, y: _drop(y <= 0, g),
                 lambda g, y: _ag.ops.pointwise.Threshold.Gradient.apply2(g, y, 0))

# gelu: x * Phi(x), Phi the standard normal CDF; "tanh": PyTorch's approximation of it.
# The backward formulas are PyTorch's GeluBackward0, operation for operation as the kernels.
_SQRT1_2, _GELU_PDF = 0.7071067811865476, 0.3989422804014327            # 1/sqrt(2), 1/sqrt(2 pi)
_GELU_K, _GELU_C = 0.7978845608028654, 0.044715                          # sqrt(2/pi), the cubic's weight


def _gelu_tanh_bwd(g, x):
    t = tanh((x + x * x * x * _GELU_C) * _GELU_K)
    return g * ((t + 1) * 0.5 + x * 0.5 * ((-t * t + 1) * ((x * x * (3 * _GELU_C) + 1) * _GELU_K)))


gelu = _prim("gelu", _chunked(lambda x: x * 0.5 * (erf(x * _SQRT1_2) + 1)), lambda x: _ag.nn.functional.gelu(x))
gelu_bwd = _prim("gelu_bwd", _chunked(
    lambda g, x: g * ((erf(x * _SQRT1_2) + 1) * 0.5 + x * (exp(x * x * -0.5) * _GELU_PDF))))
gelu_tanh = _prim("gelu_tanh", _chunked(lambda x: x * 0.5 * (tanh((x + x * x * x * _GELU_C) * _GELU_K) + 1)),
                  lambda x: _ag.nn.functional.gelu(x, approximate="tanh"))
gelu_tanh_bwd = _prim("gelu_tanh_bwd", _chunked(_gelu_tanh_bwd))


# elu (and selu, celu): scale * x where x > 0, else neg_coef * expm1(x * input_scale), neg_coef =
# alpha * scale. PyTorch's EluBackward0 takes the exp side at the kink and at NaN the linear one
# (x <= 0), neg_slope = neg_coef * input_scale; the derivative's own derivative (elu_double_backward)
# lives where x < 0 only: 0 at the kink. The branch not taken sees 0.
def _elu(x, neg_coef, scale, input_scale):
    neg = le(x, 0)
    return where(neg, mul(expm1(mul(where(neg, x, 0), input_scale)), neg_coef), mul(x, scale))


def _elu_bwd(g, x, neg_slope, scale, input_scale):
    neg = le(x, 0)
    return mul(g, where(neg, mul(exp(mul(where(neg, x, 0), input_scale)), neg_slope), scale))


def _elu_bwd_tensor(g, x, neg_slope, scale, input_scale):
    below = x < 0
    linear = where(x == 0, neg_slope, _ag.full_like(x, scale))     # (x's dtype: two numbers would give float32)
    return g * where(below, exp(where(below, x, 0) * input_scale) * neg_slope, linear)


elu = _prim("elu", _chunked(_half_in_float32(_elu)))
elu_bwd = _prim("elu_bwd", _chunked(_half_in_float32(_elu_bwd)), _elu_bwd_tensor)


# the ELU family from its result (the in-place forms, EluBackward1 / CeluBackward1: the input is gone):
# g * input_scale * (y + neg_coef) where y <= 0, else g * scale. Its own derivative in y (PyTorch's
# elu_double_backward with is_result) lives where y < 0 only: at y == 0 the slope is a constant.
def _elu_bwd_result(g, y, neg_coef, scale, input_scale):
    return mul(g, where(le(y, 0), mul(add(y, neg_coef), input_scale), scale))


def _elu_bwd_result_tensor(g, y, neg_coef, scale, input_scale):
    linear = where(y == 0, neg_coef * input_scale, _ag.full_like(y, scale))     # (y's dtype, as above)
    return g * where(y < 0, (y + neg_coef) * input_scale, linear)


elu_bwd_result = _prim("elu_bwd_result", _chunked(_half_in_float32(_elu_bwd_result)), _elu_bwd_result_tensor)


# silu and mish, PyTorch's formulas: x / (1 + exp(-x)) and x * tanh(log1p(exp(x))); SiluBackward0
# g * s * (1 + x * (1 - s)) and MishBackward0 g * (t + x * s * (1 - t * t)), s = 1 / (1 + exp(-x)),
# t = tanh(log1p(exp(x))) (exp overflowing to inf gives s = 0, t = 1: the limits). Under create_graph
# the same formulas of Tensors, whose derivatives are PyTorch's double backwards.
def _silu_bwd(g, x):
    s = reciprocal(add(exp(neg(x)), 1))
    return mul(mul(g, s), add(mul(x, rsub(s, 1)), 1))


def _silu_bwd_tensor(g, x):
    s = x.sigmoid()
    return g * s * (1 + x * (1 - s))


def _mish_tanh(x):
    return tanh(log1p(exp(x)))


def _mish_bwd(g, x):
    s, t = reciprocal(add(exp(neg(x)), 1)), _mish_tanh(x)
    return mul(g, add(t, mul(mul(x, s), rsub(mul(t, t), 1))))


def _mish_bwd_tensor(g, x):
    t = _ag.nn.functional.softplus(x).tanh()          # (softplus's threshold: no inf in the graph)
    return g * (t + x * x.sigmoid() * (1 - t * t))


silu = _prim("silu", _chunked(_half_in_float32(lambda x: div(x, add(exp(neg(x)), 1)))),
             lambda x: _ag.nn.functional.silu(x))
silu_bwd = _prim("silu_bwd", _chunked(_half_in_float32(_silu_bwd)), _silu_bwd_tensor)
mish = _prim("mish", _chunked(_half_in_float32(lambda x: mul(x, _mish_tanh(x)))), lambda x: _ag.nn.functional.mish(x))
mish_bwd = _prim("mish_bwd", _chunked(_half_in_float32(_mish_bwd)), _mish_bwd_tensor)


# softplus: log1p(exp(beta x)) / beta, x itself where beta x > threshold. PyTorch's SoftplusBackward0:
# g * z / (z + 1), z = exp(beta x), and g where beta x > threshold; the derivative's own derivative
# (softplus_double_backward) only where beta x < threshold: 0 at beta x == threshold.
def _softplus(x, beta, threshold):
    xb = mul(x, beta)
    over = gt(xb, threshold)
    return where(over, x, div(log1p(exp(where(over, 0, xb))), beta))


def _softplus_slope(x, beta, threshold):
    xb = mul(x, beta)
    z = exp(where(gt(xb, threshold), 0, xb))
    return xb, div(z, add(z, 1))


def _softplus_bwd(g, x, beta, threshold):
    xb, s = _softplus_slope(x, beta, threshold)
    return mul(g, where(gt(xb, threshold), 1, s))


def _softplus_bwd_tensor(g, x, beta, threshold):
    xb, s = _softplus_slope(x, beta, threshold)
    return g * where(xb > threshold, 1, where(xb == threshold, s.detach(), s))


softplus = _prim("softplus", _chunked(_half_in_float32(_softplus)))
softplus_bwd = _prim("softplus_bwd", _chunked(_half_in_float32(_softplus_bwd)), _softplus_bwd_tensor)


# hardsigmoid, hardswish: relu6(x + 3) / 6 and x * relu6(x + 3) / 6, PyTorch's operations (x * 6 / 6
# is not always x); their derivatives strictly inside (-3, 3) (NaN: hardswish's passes g, hardsigmoid's
# 0). HardsigmoidBackward0 multiplies by 1/6 rounded to float32 in every dtype. PyTorch has no second
# derivative of hardsigmoid (0 here); hardswish's Tensor form is its twin: derivative g / 3 inside.
_SIXTH_F32 = float(np.float32(1.0 / 6.0))


def _relu6_shifted(x):
    t = add(x, 3)
    return where(lt(t, 0), 0, where(gt(t, 6), 6, t))


hardsigmoid = _prim("hardsigmoid", _chunked(_half_in_float32(lambda x: div(_relu6_shifted(x), 6))))
hardsigmoid_bwd = _prim("hardsigmoid_bwd", _chunked(_half_in_float32(
    lambda g, x: where(gt(x, -3) & lt(x, 3), mul(g, _SIXTH_F32), 0))))
hardswish = _prim("hardswish", _chunked(_half_in_float32(lambda x: div(mul(x, _relu6_shifted(x)), 6))))
hardswish_bwd = _prim("hardswish_bwd", _chunked(_half_in_float32(
    lambda g, x: where(le(x, -3), 0, where(lt(x, 3), mul(g, add(div(x, 3), 0.5)), g)))))


# logsigmoid: min(x, 0) - log1p(exp(-|x|)); LogSigmoidBackward0: g * (1 - q) below 0, g * q from 0 on,
# q = z / (z + 1), z = exp(-|x|). Under create_graph g * sigmoid(-x), whose derivative is PyTorch's
# log_sigmoid_double_backward, (sigmoid(x) - 1) sigmoid(x) (also at 0, where |x| has none).
def _logsigmoid(x):
    below = lt(x, 0)
    return sub(where(below, x, 0), log1p(exp(where(below, x, neg(x)))))


def _logsigmoid_bwd(g, x):
    below = lt(x, 0)
    z = exp(where(below, x, neg(x)))
    q = div(z, add(z, 1))
    return mul(g, where(below, rsub(q, 1), q))


logsigmoid = _prim("logsigmoid", _chunked(_half_in_float32(_logsigmoid)))
logsigmoid_bwd = _prim("logsigmoid_bwd", _chunked(_half_in_float32(_logsigmoid_bwd)),
                        lambda g, x: g * (-x).sigmoid())


# binary_cross_entropy_with_logits without pos_weight, element by element: PyTorch's loss
# (1 - t) * x - log_sigmoid(x), and its gradients (sigmoid(x) - t) * g for the input (its
# binary_cross_entropy_with_logits_backward) and -x * g for the target
# (float16 in float32, rounded once, as the kernels; the loss takes it only in float32 and float64).
# On NumPy arrays the same operations in two buffers (each pass of a large loss is memory-bound).
def _bce_logits(x, t):
    if type(x) is not _nd or type(t) is not _nd or x.shape != t.shape or x.ndim == 0:
        return sub(mul(rsub(t, 1), x), _logsigmoid(x))
    ls = np.abs(x)                                   # log_sigmoid(x) = min(x, 0) - log1p(exp(-|x|))
    np.negative(ls, out=ls)
    np.exp(ls, out=ls)
    np.log1p(ls, out=ls)
    np.subtract(np.minimum(x, 0), ls, out=ls)
    out = np.subtract(1, t)
    out *= x
    out -= ls
    return out


def _bce_logits_bwd(g, x, t):
    if type(x) is not _nd or type(t) is not _nd or x.shape != t.shape or x.ndim == 0:
        return mul(sub(_sigmoid(x), t), g)
    s = _sigmoid(x)
    s -= t
    return np.multiply(s, g, out=s) if np.shape(g) == s.shape or np.ndim(g) == 0 else s * g


bce_logits = _prim("bce_logits", _half_in_float32(_bce_logits))
bce_logits_bwd = _prim("bce_logits_bwd", _half_in_float32(_bce_logits_bwd), lambda g, x, t: (x.sigmoid() - t) * g)


# activations made of linear pieces (ops/pointwise.py's _PiecewiseLinear: under create_graph their
# gradients are nodes of their own, so the Tensor forms here are the twins, unused)
def _in_band(x, lambd):
    return ge(x, -lambd) & le(x, lambd)


def _shrink_bwd(g, x, lambd):
    return where(_in_band(x, lambd), 0, g)


threshold = _prim("threshold", _chunked(lambda x, th, value: where(le(x, th), value, x)))
threshold_bwd = _prim("threshold_bwd", _chunked(lambda g, x, th: where(le(x, th), 0, g)))
# (x itself unless beyond a bound, as PyTorch's clamp: -0.0 stays -0.0 at a bound of 0)
hardtanh = _prim("hardtanh", _chunked(lambda x, lo, hi: where(lt(x, lo), lo, where(gt(x, hi), hi, x))))
hardtanh_bwd = _prim("hardtanh_bwd", _chunked(lambda g, x, lo, hi: where(le(x, lo) | ge(x, hi), 0, g)))
leaky_relu = _prim("leaky_relu", _chunked(_half_in_float32(lambda x, slope: where(gt(x, 0), x, mul(x, slope)))))
leaky_relu_bwd = _prim("leaky_relu_bwd", _chunked(_half_in_float32(
    lambda g, x, slope: where(gt(x, 0), g, mul(g, slope)))))
# (x * 0 in the band: PyTorch's signed zero; NaN is outside the band)
softshrink = _prim("softshrink", _chunked(_half_in_float32(lambda x, lambd: where(_in_band(x, lambd), mul(x, 0), where(
    gt(x, lambd), sub(x, lambd), add(x, lambd))))))
hardshrink = _prim("hardshrink", _chunked(lambda x, lambd: where(_in_band(x, lambd), 0, x)))
shrink_bwd = _prim("shrink_bwd", _chunked(_shrink_bwd))


def _clamp_bwd(g, x, lo, hi):
    # clamp_backward: the gradient passes where lo <= x <= hi (NaN x: blocked)
    if lo is None:
        return _keep(x <= hi, g)
    if hi is None:
        return _keep(x >= lo, g)
    return _keep((x >= lo) & (x <= hi), g)


clamp_bwd = _prim("clamp_bwd", _clamp_bwd)


def _clamp_mask(x, lo, hi):
    # where clamp lets the gradient through: lo <= x <= hi (NaN x: nowhere)
    if lo is None:
        return _keep_mask(x <= hi)
    if hi is None:
        return _keep_mask(x >= lo)
    return _keep_mask((x >= lo) & (x <= hi))


clamp_mask = _prim("clamp_mask", _clamp_mask)
# g where the saved mask holds, else 0 (clamp's backward from its mask)
mask_bwd = _prim("mask_bwd", lambda g, mask: _keep(mask, g))
# pow_backward with a Python exponent (e != 0; e == 0 gives zeros, in the op)
pow_bwd = _prim("pow_bwd", lambda g, x, e: g * (x * 2.0) if e == 2 else g * (pow(x, e - 1) * e))
# pow_backward_self with a tensor exponent
pow_bwd_base = _prim("pow_bwd_base", lambda g, x, e: _where(e == 0, 0, g * (e * pow(x, e - 1))))
# pow_backward_exponent: 0 where base == 0 and exponent >= 0, else grad * result * log(base)
pow_bwd_exp = _prim("pow_bwd_exp", lambda g, x, e, y: g * _where((x == 0) & (e >= 0), 0, y * log(x)))
div_bwd_a = _prim("div_bwd_a", lambda g, b: g / b)
div_bwd_b = _prim("div_bwd_b", lambda g, a, b: -g * ((a / b) / b))


def _atan2_recip(a, b):
    # 1 / d computed everywhere and masked after, as PyTorch's: recorded (create_graph), the
    # masked 1 / 0 makes the second derivative at the origin NaN there and here alike
    d = a * a + b * b
    if isinstance(d, Tensor):
        return _where(d == 0, 0, 1 / d)
    with np.errstate(divide="ignore"):
        return np.where(d == 0, 0, 1 / d)


# atan2_backward: grad * b * recip and grad * -a * recip, recip = 1 / (a * a + b * b) but 0
# where that sum is 0 (at the origin, or underflowed), as PyTorch's
atan2_bwd_a = _prim("atan2_bwd_a", lambda g, a, b: g * b * _atan2_recip(a, b))
atan2_bwd_b = _prim("atan2_bwd_b", lambda g, a, b: g * -a * _atan2_recip(a, b))
# maximum/minimum: the larger (smaller) input takes the gradient, a tie splits it
maximum_bwd = _prim("maximum_bwd", lambda g, a, b: _where(a < b, 0, _where(a == b, g * 0.5, g)))
minimum_bwd = _prim("minimum_bwd", lambda g, a, b: _where(a > b, 0, _where(a == b, g * 0.5, g)))
logsumexp_bwd = _prim("logsumexp_bwd", lambda g, x, r: g * exp(x - r))
var_bwd = _prim("var_bwd", lambda g, x, mean, scale: (x - mean) * (g * scale))
# scale_grad_by_count: ties in amax/amin (and norm(p=inf)) share the gradient evenly, as
# PyTorch's (grad / count) * mask: a NaN or infinite gradient reaches every element (x * 0)
select_bwd = _prim("select_bwd", lambda g, mask, count: (g / count) * mask)


# --- reductions -----------------------------------------------------------------

def _sum_t(x, axis, keepdims):
    return x.sum(axis, keepdim=keepdims) if axis is not None else x.sum()


def _f16_safe(f):
    # NumPy accumulates float16 in float16; PyTorch in float32. Match PyTorch.
    def g(x, axis, keepdims, *rest):
        if x.dtype == np.float16:
            return f(x.astype(np.float32), axis, keepdims, *rest).astype(np.float16)
        return f(x, axis, keepdims, *rest)
    return g


def _sum(x, axis, keepdims):
    # ufunc.reduce rather than np.sum: the same pairwise sum without np.sum's
    # Python wrapper; float16 accumulates in float32 as in PyTorch
    if x.dtype.char == "e":
        return np.add.reduce(x, axis=axis, dtype=np.float32, keepdims=keepdims).astype(np.float16)
    return np.add.reduce(x, axis=axis, keepdims=keepdims)


sum = _prim("sum", _sum, _sum_t)
def _mean(x, axis, keepdims):
    if x.size == 0:          # NaN as PyTorch, without NumPy's "Mean of empty slice" warning
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.divide(np.add.reduce(x, axis=axis, keepdims=keepdims), 0)
    return np.mean(x, axis=axis, keepdims=keepdims)


mean = _prim("mean", _f16_safe(_mean),
             lambda x, axis, keepdims: x.mean(axis, keepdim=keepdims) if axis is not None else x.mean())
prod = _prim("prod", lambda x, axis, keepdims: np.prod(x, axis=axis, keepdims=keepdims),
             lambda x, axis, keepdims: x.prod(axis, keepdim=keepdims) if axis is not None else x.prod())
def _var(x, axis, keepdims, correction):
    # The corrected two-pass algorithm (Chan, Golub & LeVeque): the squared
    # deviations from the mean, less what the mean's own rounding error adds,
    # (sum d)^2 / n. One pass more than np.var, and a slice of equal values has
    # variance exactly 0, as PyTorch's Welford gives, not a rounding residue
    # (std 7e-14, whose gradient is huge where PyTorch's is 0).
    axes = range(x.ndim) if axis is None else (axis,) if isinstance(axis, int) else axis
    n = 1
    for a in axes:
        n *= x.shape[a]
    d = x - _mean(x, axis, True)          # (an empty slice: NaN, without NumPy's warning)
    if isinstance(d, np.generic):         # NumPy's 0-d result: a scalar, which has no out=
        d = np.asarray(d)
    s1 = np.add.reduce(d, axis=axis, keepdims=keepdims)
    s2 = np.add.reduce(np.multiply(d, d, out=d), axis=axis, keepdims=keepdims)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):   # no degrees of freedom: inf, or NaN for 0/0
        return np.divide(np.maximum(s2 - s1 * s1 / n, 0), max(n - correction, 0))


var = _prim("var", _f16_safe(_var),
            lambda x, axis, keepdims, correction: x.var(axis, correction=correction, keepdim=keepdims))
amax = _prim("amax", lambda x, axis, keepdims: np.amax(x, axis=axis, keepdims=keepdims),
             lambda x, axis, keepdims: x.amax(axis if axis is not None else (), keepdim=keepdims))
amin = _prim("amin", lambda x, axis, keepdims: np.amin(x, axis=axis, keepdims=keepdims),
             lambda x, axis, keepdims: x.amin(axis if axis is not None else (), keepdim=keepdims))
argmax = _prim("argmax", lambda x, axis, keepdims: np.argmax(x, axis=axis, keepdims=keepdims))
argmin = _prim("argmin", lambda x, axis, keepdims: np.argmin(x, axis=axis, keepdims=keepdims))
any = _prim("any", lambda x, axis, keepdims: np.any(x, axis=axis, keepdims=keepdims))
all = _prim("all", lambda x, axis, keepdims: np.all(x, axis=axis, keepdims=keepdims))


def _logsumexp(x, axis, keepdims):
    if x.size == 0:
        m = 0                                 # nothing to shift (amax has no identity): log(0) = -inf
    else:
        m = np.amax(x, axis=axis, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)    # all -inf (or inf) rows: no shift
    s = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return s if keepdims else np.squeeze(s, axis=axis)


def _softmax(x, axis):
    if x.size == 0:
        return x.copy()
    if type(x) is _nd and x.ndim:    # NumPy: by blocks of rows when large, else the ufuncs' reduce, in place
        if x.size >= _ROW_BLOCK:
            rows = blocked.rows_of(x, axis)
            if rows is not None:
                return blocked.softmax(rows).reshape(x.shape)
        e = np.exp(np.subtract(x, np.maximum.reduce(x, axis=axis, keepdims=True)))
        return np.divide(e, np.add.reduce(e, axis=axis, keepdims=True), out=e)
    e = np.exp(x - np.amax(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _log_softmax(x, axis):
    if x.size == 0:
        return x.copy()
    if type(x) is _nd and x.ndim:
        if x.size >= _ROW_BLOCK:
            rows = blocked.rows_of(x, axis)
            if rows is not None:
                return blocked.log_softmax(rows).reshape(x.shape)
        s = np.subtract(x, np.maximum.reduce(x, axis=axis, keepdims=True))
        return np.subtract(s, np.log(np.add.reduce(np.exp(s), axis=axis, keepdims=True)), out=s)
    s = x - np.amax(x, axis=axis, keepdims=True)
    return s - np.log(np.sum(np.exp(s), axis=axis, keepdims=True))


_ROW_BLOCK = blocked.BLOCK            # (checked here first: small arrays skip the call)


def _row_blocked_bwd(form, g, y, axis):
    """form(g rows, y rows) in y's shape where y (a large NumPy array) takes the row-blocked forms
    (g, an array of its dtype, broadcast to it), else None."""
    rows = blocked.rows_of(y, axis)
    if rows is None or type(g) is not _nd or g.dtype != y.dtype:
        return None
    return form(np.broadcast_to(g, y.shape).reshape(rows.shape), rows).reshape(y.shape)


def _softmax_bwd(g, y, axis):
    if type(y) is _nd and y.size >= _ROW_BLOCK:       # (Tensors, under create_graph: the formula)
        out = _row_blocked_bwd(blocked.softmax_bwd, g, y, axis)
        if out is not None:
            return out
    return y * (g - sum(g * y, axis, True))


def _log_softmax_bwd(g, y, axis):
    if type(y) is _nd and y.size >= _ROW_BLOCK:
        out = _row_blocked_bwd(blocked.log_softmax_bwd, g, y, axis)
        if out is not None:
            return out
    return g - exp(y) * sum(g, axis, True)


logsumexp = _prim("logsumexp", _logsumexp, lambda x, axis, keepdims: x.logsumexp(axis, keepdim=keepdims))
softmax = _prim("softmax", _half_in_float32(_softmax), lambda x, axis: x.softmax(axis))
log_softmax = _prim("log_softmax", _half_in_float32(_log_softmax), lambda x, axis: x.log_softmax(axis))
softmax_bwd = _prim("softmax_bwd", _half_in_float32(_softmax_bwd), _softmax_bwd)
log_softmax_bwd = _prim("log_softmax_bwd", _half_in_float32(_log_softmax_bwd), _log_softmax_bwd)


def _prod_others(x, axis):
    """For each element, the product of the others along `axis` (exact with
    zeros): exclusive cumulative products from both ends."""
    x = np.moveaxis(x, axis, -1)
    ones = np.ones_like(x[..., :1])
    left = np.cumprod(np.concatenate([ones, x[..., :-1]], axis=-1), axis=-1)
    right = np.flip(np.cumprod(np.flip(np.concatenate([x[..., 1:], ones], axis=-1), -1), axis=-1), -1)
    return np.moveaxis(left * right, -1, axis)


def _prod_others_t(x, axis):
    # Differentiable form (create_graph): replace each element in turn by 1
    # and take the product; O(n^2) along `axis`, used only for higher orders.
    n = x.shape[axis]
    xm = x.movedim(axis, -1)
    eye = _ag.eye(n, dtype=_ag.bool, device=x.device)
    rows = _ag.where(eye, 1.0, xm.unsqueeze(-2).expand(*xm.shape[:-1], n, n))
    return rows.prod(-1).movedim(-1, axis)


prod_others = _prim("prod_others", _prod_others, _prod_others_t)


# --- structure: reshaping, broadcasting, indexing ---------------------------------

_REDUCE_PLAN = {}


def _reduce_plan(gshape, shape):
    """The axes to sum to undo broadcasting gshape -> shape (leading dims, then
    size-1 dims), and whether a reshape follows. Cached: a training loop asks
    the same question every step."""
    key = (gshape, shape)
    plan = _REDUCE_PLAN.get(key)
    if plan is None:
        lead = len(gshape) - len(shape)
        axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape)
                                           if n == 1 and gshape[i + lead] != 1)
        plan = _REDUCE_PLAN[key] = (axes, lead > 0)
        if len(_REDUCE_PLAN) > 4096:
            _REDUCE_PLAN.clear()
    return plan


def _sum_to_shape(g, shape):
    """Undo broadcasting: sum `g` down to `shape`."""
    gshape = tuple(g.shape)
    shape = tuple(shape)
    if gshape == shape:
        return g
    axes, reshape_after = _reduce_plan(gshape, shape)
    if axes:
        g = sum(g, axes, True)
    if reshape_after or tuple(g.shape) != shape:
        g = reshape(g, shape)
    return g


sum_to_shape = _prim("sum_to_shape", _sum_to_shape)
reshape = _prim("reshape", lambda a, shape: a.reshape(shape), lambda a, shape: a.reshape(shape))


def _expand(a, shape):
    # np.broadcast_to costs microseconds of Python; for small results a filled
    # array is cheaper, for large ones the zero-copy view wins.
    if a.size == 1 and isinstance(a, np.ndarray) and len(shape) and _numel(shape) <= 4096:
        out = np.empty(shape, a.dtype)
        out[...] = a
        return out
    return np.broadcast_to(a, shape)


def _numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


expand = _prim("expand", _expand, lambda a, shape: a.expand(shape))
flip = _prim("flip", lambda a, axes: np.flip(a, axes).copy(), lambda a, axes: a.flip(axes))


def _constant_pad(a, amounts, value):
    """a padded with `value` by amounts (left, right) per dim from the last; negative amounts crop."""
    crop, place, shape = [slice(None)] * a.ndim, [slice(None)] * a.ndim, list(a.shape)
    for i in range(len(amounts) // 2):
        d, left, right = a.ndim - 1 - i, amounts[2 * i], amounts[2 * i + 1]
        crop[d] = slice(max(-left, 0), a.shape[d] - max(-right, 0))
        shape[d] = a.shape[d] + left + right
        place[d] = slice(max(left, 0), shape[d] - max(right, 0))
    out = np.full_like(a, value, shape=tuple(shape))       # (a CuPy array: CuPy's, by NEP 18)
    out[tuple(place)] = a[tuple(crop)]
    return out


def _constant_pad_t(a, amounts, value):
    from .shape import ConstantPadNd
    return ConstantPadNd.apply1(a, amounts, value)


constant_pad = _prim("constant_pad", _constant_pad, _constant_pad_t)
# the lower / upper triangle of the last two dims (the rest zeros), from diagonal k
tril = _prim("tril", lambda a, k: np.tril(a, k), lambda a, k: a.tril(k))
triu = _prim("triu", lambda a, k: np.triu(a, k), lambda a, k: a.triu(k))



def _diagonal(a, offset, a1, a2):
    """The diagonal of `a` over axes a1, a2 (the others first, in order, the
    diagonal last): a view one can write through, as PyTorch's and CuPy's
    (NumPy marks its own read-only)."""
    d = a.diagonal(offset, a1, a2)
    if type(a) is _nd and a.flags.writeable:
        d.flags.writeable = True
    return d


def _embed_diagonal(g, shape, offset, a1, a2):
    out = np.zeros_like(g, shape=shape)
    _diagonal(out, offset, a1, a2)[...] = g
    return out


def _embed_diagonal_t(g, shape, offset, a1, a2):
    from .diagonal import EmbedDiagonal
    return EmbedDiagonal.apply1(g, shape, offset, a1, a2)


# a diagonal (a view), and zeros of `shape` with g on that diagonal: each the other's gradient
diagonal = _prim("diagonal", _diagonal, lambda a, offset, a1, a2: a.diagonal(offset, a1, a2))
embed_diagonal = _prim("embed_diagonal", _embed_diagonal, _embed_diagonal_t)

def _cumsum(a, axis):
    # integers and bools sum in int64, float16 in float32 rounded once per entry, as PyTorch's CPU
    k = a.dtype.kind
    acc = np.int64 if k in "biu" else (np.float32 if a.dtype == _f16 else a.dtype)
    if a.ndim == 0:
        return a.astype(np.int64 if k in "biu" else a.dtype)
    if axis is None:
        a, axis = a.reshape(-1), 0
    out = np.add.accumulate(a, axis, dtype=acc)     # (not np.cumsum: see statistics.Cumprod.forward)
    return out.astype(_f16) if a.dtype == _f16 else out


# running sums along `axis` (None for a 0-d array)
cumsum = _prim("cumsum", _cumsum, lambda a, axis: a.cumsum(0 if axis is None else axis))
permute = _prim("permute", lambda a, axes: a.transpose(axes), lambda a, axes: a.permute(axes))
def _getitem(a, idx):
    if (type(idx) is tuple and len(idx) == a.ndim > 1 and type(a) is _nd
            and builtins.all(type(i) is _nd and i.dtype.kind in "iu" for i in idx)
            and builtins.max(i.size for i in idx) >= 4096):
        # an integer array per dim (a gather's grid, x[rows, cols]): a 1-d take by flat positions, where
        # NumPy's n-d fancy index goes element by element ((1000, 500) of (1000, 1000): 2.7 -> 0.5 ms)
        memory = _strided_memory(a)
        rows = None if memory is None else _flat_rows(idx, a.shape, memory[1])
        if rows is not None:
            if rows.size and not builtins.any(rows.strides):     # (every index at one place: an expanded sum's
                return np.full(rows.shape, memory[0][rows.flat[0]])   # gradient read)
            return np.take(memory[0], rows)
    try:
        return a[idx]
    except IndexError:
        # an out-of-range index into an empty result reads nothing (the backward
        # of such an index_put): as the forward, no error
        from .indexing import empty_result_shape
        shape = empty_result_shape(a, idx)
        if shape is None:
            raise
        return np.empty_like(a, shape=shape)


def _strided_memory(a):
    """(a 1-d view of the memory a spans, a's strides in elements), for non-negative strides (an
    expanded array too, whose span is small); else None."""
    size = a.itemsize
    if builtins.any(st < 0 or st % size for st in a.strides) or a.size == 0:
        return None
    strides = [st // size for st in a.strides]
    span = builtins.sum((n - 1) * st for n, st in zip(a.shape, strides)) + 1
    return np.lib.stride_tricks.as_strided(a, (span,), (size,)), strides


getitem = _prim("getitem", _getitem, lambda a, idx: a[idx])
astype = _prim("astype", lambda a, np_dtype: a.astype(np_dtype), lambda a, np_dtype: a.to(from_numpy_dtype(np_dtype)))


def _matmul(a, b):
    # Over an inner dimension of 1 a product is an outer product, which NumPy's
    # matmul runs in its non-BLAS loop (100x1 @ 1x32: 9 us, multiply: 1-3 us;
    # 10000x1 @ 1x512: 11.9 ms, multiply: 2.6 ms) and whose -0.0 it turns into
    # +0.0 where PyTorch keeps it. One product per element: the values are the same.
    if a.ndim >= 2 and b.ndim >= 2 and a.shape[-1] == 1 and b.shape[-2] == 1:
        return np.multiply(a, b)
    return np.matmul(a, b)


matmul = _prim("matmul", _matmul, lambda a, b: a.matmul(b))


def concatenate(xs, axis):
    """Join arrays (or Tensors) along an existing axis."""
    if isinstance(xs[0], Tensor):
        return _ag.cat(xs, axis)
    return c_order(np.concatenate(xs, axis))      # CuPy arrays: NEP 18 dispatch


def stack(xs, axis):
    """Join arrays (or Tensors) along a new axis."""
    if isinstance(xs[0], Tensor):
        return _ag.stack(xs, axis)
    return c_order(np.stack(xs, axis))


def c_order(a):
    """a, or a C-ordered copy of it: PyTorch's cat and stack lay their result out
    so, where NumPy follows its inputs' layout (transposed or broadcast inputs
    give a transposed result, which a reshape would then copy, not view)."""
    return a if a.flags.c_contiguous else a.copy(order="C")


def add_at(out, idx, v):
    """out[idx] += v in place, repeated positions of an integer index adding up.
    (CuPy's __array_ufunc__ takes no tuple operand, so np.add.at cannot dispatch
    to it: cupy.add.at directly.)"""
    if builtins.any(getattr(i, "ndim", None) is not None and i.dtype.kind != "b" for i in idx):
        if type(out) is not _nd:
            sys.modules["cupy"].add.at(out, idx, v)
        elif not _add_at_flat(out, idx, v):
            np.add.at(out, idx, v)
    else:
        out[idx] += v


def _add_at_flat(out, idx, v):
    """np.add.at(out, idx, v) for integer index arrays on consecutive axes after
    full slices (x[idx], x[:, idx], x[i, j]: the backward of indexing, gather,
    index_select, scatter_add), as one 1-d np.add.at over flat positions, which
    NumPy runs in its fast loop (its n-d form goes element by element: 4-6x
    slower): the same sums in the same order. False (nothing done) for any other
    index or layout, or an index out of range (np.add.at raises)."""
    s = 0
    while s < len(idx) and type(idx[s]) is slice and idx[s] == _ALL:
        s += 1
    arrays = idx[s:]
    if not (arrays and out.flags.c_contiguous and type(v) is _nd and v.dtype == out.dtype
            and s + len(arrays) <= out.ndim and builtins.all(type(i) is _nd and i.dtype.kind in "iu" for i in arrays)):
        return False
    k = len(arrays)
    sizes = out.shape[s:s + k]
    rows = _flat_rows(arrays, sizes)
    if rows is None:
        return False
    d = math.prod(out.shape[s + k:])
    if d > 1 and _distinct(rows, math.prod(sizes)):
        # each place once (a gather's backward: pack_padded_sequence, a permutation): a plain indexed add,
        # the same single sums without np.add.at or the flat index of every element
        view = out.reshape(out.shape[:s] + (math.prod(sizes),) + out.shape[s + k:])   # (not -1: a dim may be 0)
        view[(_ALL,) * s + (rows,)] += v
        return True
    # (one element a place: np.add.at's 1-d loop is as fast as an indexed add, no check for repeats)
    values = np.broadcast_to(v, out.shape[:s] + rows.shape + out.shape[s + k:]).reshape(-1)
    target = out.reshape(-1)
    # an even run of float32/float64 per place: added as complex pairs, half the elements for np.add.at's
    # loop (a complex add is the two float adds: the same bits; (12800, 64) into (10000, 64): 1.71 -> 0.94 ms)
    pairs = d % 2 == 0 and out.dtype in _PAIRED
    if pairs:
        d //= 2
        target, values = target.view(_PAIRED[out.dtype]), np.ascontiguousarray(values).view(_PAIRED[out.dtype])
    flat = rows.reshape(-1, 1) * d + np.arange(d) if d != 1 else rows
    if s:                               # the sliced axes: one block of the rest each
        block = math.prod(out.shape[s:]) // (2 if pairs else 1)
        flat = np.arange(math.prod(out.shape[:s])).reshape(-1, 1) * block + flat.reshape(1, -1)
    np.add.at(target, flat.reshape(-1), values)
    return True


def _flat_rows(arrays, sizes, strides=None):
    """The flat positions of integer index arrays (broadcast together), one per dim of a block of
    `sizes` laid out in C order or with `strides` (in elements); None if some index is out of
    [-n, n) (negative ones count from the end). A sum of index times stride: 6x ravel_multi_index's
    speed, and it takes any strides."""
    shape = np.broadcast_shapes(*(i.shape for i in arrays))
    if strides is None:
        strides = [math.prod(sizes[d + 1:]) for d in range(len(sizes))]
    rows, owned = np.zeros((), np.intp), False      # (owned: an array made here, to add into)
    for i, n, stride in zip(arrays, sizes, strides):
        negative = False
        if math.prod(shape):
            lo, hi = int(i.min()), int(i.max())         # (on the arrays themselves, not their broadcasts)
            if lo < -n or hi >= n:
                return None
            negative = lo < 0
        if stride == 0:                                 # (an expanded dim: every index reads one place)
            continue
        i = i.astype(np.intp, copy=False)              # (int8/int32/uint8 plus n or times a stride: no overflow)
        if negative:
            i = np.where(i < 0, i + n, i)
        term = i if stride == 1 else i * stride
        if owned and rows.shape == np.broadcast_shapes(rows.shape, term.shape):
            rows += term
        else:
            rows, owned = rows + term, True
    return rows if rows.shape == shape else np.broadcast_to(rows, shape)


_PAIRED = {np.dtype(np.float32): np.dtype(np.complex64), np.dtype(np.float64): np.dtype(np.complex128)}


_ALL = slice(None)


def _distinct(places, n):
    """Whether no value repeats among `places` (integers in [0, n)): a count where they are dense
    among the n, a sort where they are few."""
    m = places.size
    if m < 2:
        return True
    if n <= 8 * m:
        return int(np.bincount(places.reshape(-1), minlength=n).max()) <= 1
    ordered = np.sort(places, axis=None)
    return not (ordered[1:] == ordered[:-1]).any()


def _index_add(g, idx, shape):
    out = np.zeros_like(g, shape=shape)
    if g.size == 0:
        return out                      # (nothing to add; the index values may be out of range then)
    add_at(out, idx, g)
    return out


def _index_add_t(g, idx, shape):
    from .indexing import IndexAddZeros
    return IndexAddZeros.apply1(g, idx, tuple(shape))


# scatter `g` into zeros of `shape` at `idx`, summing repeated positions
index_add = _prim("index_add", _index_add, _index_add_t)
zeros_like = _prim("zeros_like", np.zeros_like, lambda a: _ag.zeros_like(a))


def _scatter_rows(vals, rows, cols, shape):
    out = np.zeros_like(vals, shape=shape)
    if shape[1]:                        # (no column: nothing was picked)
        out[rows, cols] = vals          # one place per row: no repeats to sum
    return out


def _scatter_rows_t(vals, rows, cols, shape):
    if not shape[1]:
        return _ag.zeros(shape, dtype=vals.dtype, device=vals.device)
    return _index_add_t(vals, (rows, cols), shape)


# zeros of a 2-d `shape` with vals[i] at (rows[i], cols[i]): the gradient of picking one entry per row
scatter_rows = _prim("scatter_rows", _scatter_rows, _scatter_rows_t)


def _scatter_along(g, idx, axis, shape):
    out = np.zeros_like(g, shape=shape)
    np.put_along_axis(out, idx, g, axis)        # (distinct indices along the axis: nothing to sum)
    return out


def _scatter_along_t(g, idx, axis, shape):
    from .sorting import ScatterAlong
    return ScatterAlong.apply1(g, idx, axis, shape)


def _take_along_t(a, idx, axis):
    from .sorting import TakeAlong
    return TakeAlong.apply1(a, idx, axis)


# zeros of `shape` with g placed at idx (an index array) along `axis`: the gradient of
# sort and topk; take_along is its transpose (the pick itself)
scatter_along = _prim("scatter_along", _scatter_along, _scatter_along_t)
take_along = _prim("take_along", lambda a, idx, axis: np.take_along_axis(a, idx, axis), _take_along_t)
