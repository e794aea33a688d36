"""Pointwise ops of one tensor, and clamp / where.

The unary ops are one table, as in derivatives.yaml: name, libtorch node,
forward primitive, backward primitive (a fused kernel on the GPU), and what the
backward reads: the input x or the result y."""
import numpy as np

from ..autograd.grad_mode import state as grad_state
from ..autograd.op import Op
from ..tensor import Tensor
from . import prims as P
from ._util import broadcastable, number, promote_for_scalar, check_fits
from .indexing import checked_mask


class Unary(Op):
    """A one-input pointwise op; subclasses come from the table below."""
    exact_grads = True


def _square(x):
    # bool squares as int64, as in PyTorch (NumPy would keep bool)
    return P.square(x if x.dtype.kind != "b" else x.astype(np.int64))


def _sign_bwd(g, saved):
    return P.zeros_like(g)


def _rounding(prim, name):
    """floor/ceil/round/trunc: floats rounded, integers copied (already whole),
    bool refused, as PyTorch's CPU."""
    def forward(x):
        if x.dtype.kind == "f":
            return prim(x)
        if x.dtype.kind == "b":
            raise NotImplementedError(f'{name}: "{name}_vml_cpu" not implemented for \'Bool\'')
        return x.copy()
    return forward


#   method      libtorch node       forward       backward         backward reads  float-only
UNARY = [
    ("exp",     "ExpBackward0",     P.exp,        P.exp_bwd,       "result", True),
    ("log",     "LogBackward0",     P.log,        P.log_bwd,       "input",  True),
    ("log1p",   "Log1PBackward0",   P.log1p,      P.log1p_bwd,     "input",  True),
    ("sqrt",    "SqrtBackward0",    P.sqrt,       P.sqrt_bwd,      "result", True),
    ("rsqrt",   "RsqrtBackward0",   P.rsqrt,      P.rsqrt_bwd,     "result", True),
    ("square",  "PowBackward0",     _square,      P.square_bwd,    "input",  False),
    ("abs",     "AbsBackward0",     P.abs,        P.abs_bwd,       "input",  False),
    ("sign",    "SignBackward0",    P.sign,       _sign_bwd,       None,     False),
    ("sin",     "SinBackward0",     P.sin,        P.sin_bwd,       "input",  True),
    ("cos",     "CosBackward0",     P.cos,        P.cos_bwd,       "input",  True),
    ("tanh",    "TanhBackward0",    P.tanh,       P.tanh_bwd,      "result", True),
    ("sigmoid", "SigmoidBackward0", P.sigmoid,    P.sigmoid_bwd,   "result", True),
    ("relu",    "ReluBackward0",    P.relu,       P.relu_bwd,      "result", False),
    ("tan",     "TanBackward0",     P.tan,        P.tan_bwd,       "result", True),
    ("asin",    "AsinBackward0",    P.asin,       P.asin_bwd,      "input",  True),
    ("acos",    "AcosBackward0",    P.acos,       P.acos_bwd,      "input",  True),
    ("atan",    "AtanBackward0",    P.atan,       P.atan_bwd,      "input",  True),
    ("sinh",    "SinhBackward0",    P.sinh,       P.sinh_bwd,      "input",  True),
    ("cosh",    "CoshBackward0",    P.cosh,       P.cosh_bwd,      "input",  True),
    ("expm1",   "Expm1Backward0",   P.expm1,      P.expm1_bwd,     "result", True),
    ("log2",    "Log2Backward0",    P.log2,       P.log2_bwd,      "input",  True),
    ("log10",   "Log10Backward0",   P.log10,      P.log10_bwd,     "input",  True),
    ("reciprocal", "ReciprocalBackward0", P.reciprocal, P.reciprocal_bwd, "result", True),
    ("erf",     "ErfBackward0",     P.erf,        P.erf_bwd,       "input",  True),
    ("erfc",    "ErfcBackward0",    P.erfc,       P.erfc_bwd,      "input",  True),
    ("erfinv",  "ErfinvBackward0",  P.erfinv,     P.erfinv_bwd,    "input",  True),
    # whole numbers: the gradient is zero (except at the jumps, where PyTorch too says 0)
    ("floor",   "FloorBackward0",   _rounding(P.floor, "floor"), _sign_bwd, None, False),
    ("ceil",    "CeilBackward0",    _rounding(P.ceil, "ceil"),   _sign_bwd, None, False),
    ("round",   "RoundBackward0",   _rounding(P.round, "round"), _sign_bwd, None, False),
    ("trunc",   "TruncBackward0",   _rounding(P.trunc, "trunc"), _sign_bwd, None, False),
]

_f32 = np.dtype(np.float32)
_F32_MAX = float(np.finfo(np.float32).max)


def _unary_class(method, node, fwd, bwd, reads, floating):
    if floating:        # integer inputs compute in float32 (exp of an int tensor)
        def forward(self, x):
            return fwd(x if x.dtype.kind == "f" else x.astype(_f32))
    else:
        def forward(self, x):
            return fwd(x)
    if reads is None:
        def backward(self, g):
            return bwd(g, None)
    else:
        def backward(self, g, saved):
            return bwd(g, saved)
    twin = getattr(bwd, "twin", bwd)

    def _apply(self, g, create_graph):
        # the engine's call, specialised: one frame to the NumPy twin on the CPU
        if create_graph or self._freed or type(g) is not np.ndarray:
            return Op._apply(self, g, create_graph)
        if reads == "result":
            if self._result_vc[0] != self._result_ver:
                self._unpack(False)              # raises the version error
            return (twin(g, self._result),)
        if reads == "input":
            t = self._saved[0]
            if t._vc[0] != self._versions[0]:
                self._unpack(False)
            return (twin(g, t._data),)
        return (twin(g, None),)
    return type(node, (Unary,), dict(
        _name=node, op_name=method, forward=forward, backward=backward, _apply=_apply,
        save_inputs=(0,) if reads == "input" else (), save_result=reads == "result"))


UNARY_OPS = {m: _unary_class(*row) for row in UNARY for m in row[:1]}
UNARY_NAMES = tuple(UNARY_OPS)        # each a Tensor method, an ag.* function and an in-place method


# The functions (and Tensor methods) are the op classes' apply1 themselves:
# `x.tanh()` is one call into the recording code.
(exp, log, log1p, sqrt, rsqrt, square, abs, sign, sin, cos, tanh, sigmoid, relu, tan, asin, acos, atan, sinh, cosh,
 expm1, log2, log10, reciprocal, erf, erfc, erfinv, floor, ceil, _round0, trunc) = (
    UNARY_OPS[row[0]].apply1 for row in UNARY)


class Gelu(Op):
    """nn.functional.gelu: x * Phi(x), or (approximate) PyTorch's tanh form of it."""
    _name, op_name = "GeluBackward0", "gelu"
    save_inputs = (0,)
    exact_grads = True

    def forward(self, x, approximate):
        self.approximate = approximate
        return P.gelu_tanh(x) if approximate else P.gelu(x)

    def backward(self, g, x):
        return P.gelu_tanh_bwd(g, x) if self.approximate else P.gelu_bwd(g, x)


class Elu(Op):
    """nn.functional.elu, selu and celu: scale * (x if x > 0 else alpha * (exp(x * input_scale) - 1)),
    one node saving the input, as PyTorch's."""
    _name, op_name = "EluBackward0", "elu"
    save_inputs = (0,)
    exact_grads = True

    def forward(self, x, alpha, scale, input_scale):
        neg_coef = alpha * scale
        self.slopes = neg_coef * input_scale, scale, input_scale
        return P.elu(x, neg_coef, scale, input_scale)

    def backward(self, g, x):
        return P.elu_bwd(g, x, *self.slopes)


class Celu(Elu):
    _name, op_name = "CeluBackward0", "celu"


class _SavesInput(Op):
    """An activation recorded as PyTorch records it: one node saving the input; value(x, *params)
    and grad(g, x, *params) are one primitive each (a kernel each on the GPU)."""
    save_inputs = (0,)
    exact_grads = True

    def forward(self, x, *params):
        self.params = params
        return self.value(x, *params)

    def backward(self, g, x):
        return self.grad(g, x, *self.params)


def _saves_input(name, op_name, value, grad):
    """The _SavesInput op `name` (node name+Backward0) of primitives value and grad."""
    return type(name, (_SavesInput,), dict(_name=name + "Backward0", op_name=op_name, value=staticmethod(value),
                                           grad=staticmethod(grad)))


# softplus: log(1 + exp(beta x)) / beta, x itself where beta x > threshold (params: beta, threshold)
Softplus = _saves_input("Softplus", "softplus", P.softplus, P.softplus_bwd)
Hardswish = _saves_input("Hardswish", "hardswish", P.hardswish, P.hardswish_bwd)
LogSigmoid = _saves_input("LogSigmoid", "log_sigmoid", P.logsigmoid, P.logsigmoid_bwd)
Silu = _saves_input("Silu", "silu", P.silu, P.silu_bwd)
Mish = _saves_input("Mish", "mish", P.mish, P.mish_bwd)


# ---- activations made of linear pieces -------------------------------------------------------
# threshold (relu's gradient too), hardtanh (relu6), leaky_relu, rrelu in evaluation, softshrink and
# hardshrink: one node each saving the input, as PyTorch's. Under create_graph the gradient, g times
# the piece's slope, is a node of its own taking g and the input (PyTorch's *BackwardBackward0), so
# it requires grad and reaches the input (with derivative zero there), as PyTorch's does.

class _PiecewiseLinear(_SavesInput):
    """grad takes params[:n_grad_params]; under create_graph it is the Gradient node."""
    n_grad_params = None

    def backward(self, g, x):
        params = self.params[:self.n_grad_params]
        return self.Gradient.apply2(g, x, *params) if type(g) is Tensor else self.grad(g, x, *params)


class _SlopeTimes(Op):
    """grad(g, x, *params) as a node of g and x: the same in g, zero in x."""
    save_inputs = (1,)
    exact_grads = True

    def forward(self, g, x, *params):
        self.params = params
        return self.grad(g, x, *params)

    def backward(self, gg, x):
        zeros = P.zeros_like(x) if self.needs(1) else None
        if not self.needs(0):
            return None, zeros
        return (self.apply2(gg, x, *self.params) if type(gg) is Tensor else self.grad(gg, x, *self.params)), zeros


def _piecewise_linear(name, op_name, value, grad, n_grad_params=None):
    gradient = type(name + "Gradient", (_SlopeTimes,), dict(
        _name=name + "BackwardBackward0", op_name=op_name + "_backward", grad=staticmethod(grad)))
    return type(name, (_PiecewiseLinear,), dict(
        _name=name + "Backward0", op_name=op_name, Gradient=gradient, n_grad_params=n_grad_params,
        value=staticmethod(value), grad=staticmethod(grad)))


Threshold = _piecewise_linear("Threshold", "threshold", P.threshold, P.threshold_bwd, 1)
Hardtanh = _piecewise_linear("Hardtanh", "hardtanh", P.hardtanh, P.hardtanh_bwd)
LeakyRelu = _piecewise_linear("LeakyRelu", "leaky_relu", P.leaky_relu, P.leaky_relu_bwd)
RreluWithNoise = _piecewise_linear("RreluWithNoise", "rrelu_with_noise", P.leaky_relu, P.leaky_relu_bwd)
Softshrink = _piecewise_linear("Softshrink", "softshrink", P.softshrink, P.shrink_bwd)
Hardshrink = _piecewise_linear("Hardshrink", "hardshrink", P.hardshrink, P.shrink_bwd)
Hardsigmoid = _piecewise_linear("Hardsigmoid", "hardsigmoid", P.hardsigmoid, P.hardsigmoid_bwd)


# the in-place forms that PyTorch records as one node saving the result (elu_, selu_, celu_,
# leaky_relu_, rrelu_): the result has overwritten the input, so backward reads it, and writing it
# again is a version error. (threshold_, hardtanh_ and the smooth ones keep their input's old
# values instead: their out-of-place node, which the in-place write gives a snapshot of it.)
# From the result alone a negative slope leaves the input's sign unknown: PyTorch refuses that
# backward when it runs.
_NEGATIVE_SLOPE = ("In-place {} backward calculation is triggered with a negative slope which is not supported. "
                   "This is caused by calling in-place forward function with a negative slope, please call "
                   "out-of-place version instead.")


class _KeepsResult(Op):
    """value(x, *params) and gradient(g, y, *params); params[0] is the slope PyTorch checks."""
    save_result = True
    exact_grads = True
    refused_as = None          # the function's name in PyTorch's refusal of a negative slope

    def forward(self, x, *params):
        self.params = params
        return self.value(x, *params)

    def backward(self, g, y):
        if self.refused_as is not None and self.params[0] < 0:
            raise RuntimeError(_NEGATIVE_SLOPE.format(self.refused_as))
        return self.gradient(g, y, *self.params)


class EluInPlace(_KeepsResult):
    """elu_ and selu_ (params: neg_coef, scale, input_scale, as the primitives take them)."""
    _name, op_name, refused_as = "EluBackward1", "elu_", "elu"
    value, gradient = staticmethod(P.elu), staticmethod(P.elu_bwd_result)


class CeluInPlace(EluInPlace):
    _name, op_name = "CeluBackward1", "celu_"


class LeakyReluInPlace(_KeepsResult):
    """leaky_relu_ (params: the slope); y > 0 exactly where x > 0. Under create_graph the
    gradient is leaky_relu's gradient node, of g and y."""
    _name, op_name, refused_as = "LeakyReluBackward1", "leaky_relu_", "leakyReLu"
    value = staticmethod(P.leaky_relu)
    of = LeakyRelu

    def gradient(self, g, y, slope):
        return self.of.Gradient.apply2(g, y, slope) if type(g) is Tensor else P.leaky_relu_bwd(g, y, slope)


class RreluWithNoiseInPlace(LeakyReluInPlace):
    """rrelu_ in evaluation: leaky_relu_ with the mean slope."""
    _name, op_name = "RreluWithNoiseBackward1", "rrelu_with_noise_"
    of = RreluWithNoise


_NoiseTimes = type("RreluWithNoiseTrainingGradient", (_SlopeTimes,), dict(
    _name="RreluWithNoiseBackwardBackward0", op_name="rrelu_with_noise_backward",
    grad=staticmethod(lambda g, y, noise: P.mul(g, noise))))


class RreluWithNoiseTrainingInPlace(_KeepsResult):
    """rrelu_ in training (params: the noise, an array: the drawn slope where x <= 0, 1 elsewhere,
    as PyTorch's); the gradient is g * noise, under create_graph a node of g and y."""
    _name, op_name = "RreluWithNoiseBackward1", "rrelu_with_noise_"
    value = staticmethod(P.mul)

    def gradient(self, g, y, noise):
        return _NoiseTimes.apply2(g, y, noise) if type(g) is Tensor else P.mul(g, noise)


class ThresholdInPlace(Threshold):
    _name = "ThresholdBackward1"


class RoundDecimals(Op):
    """round(x, decimals=d) for d != 0: x * 10**d rounded half to even, then
    divided back (NumPy's and PyTorch's method); zero gradient."""
    _name, op_name = "RoundBackward1", "round"
    exact_grads = True

    def forward(self, x, decimals):
        if x.dtype.kind != "f":
            raise NotImplementedError(f'round: "round_cpu" not implemented for \'{_dtype_name(x)}\' '
                                      "(decimals needs a floating tensor)")
        return np.round(x, decimals)

    def backward(self, g):
        return P.zeros_like(g)


def _dtype_name(x):
    from .._dtype import from_numpy_dtype
    return from_numpy_dtype(x.dtype).libtorch


def round(input, *, decimals=0):
    """Half to even; with decimals, to that many digits (negative: tens, hundreds...)."""
    from ._util import int_arg
    decimals = int_arg(decimals, "round", "decimals")
    return _round0(input) if decimals == 0 else RoundDecimals.apply1(input, decimals)


def _clamped(x, lo, hi):
    if x.dtype.kind != "f":              # PyTorch's promotion: int tensor, float bound -> float32
        for s in (lo, hi):
            if s is not None:
                x = promote_for_scalar(x, s)
    return P.clamp(x, lo, hi)


class Clamp(Op):
    """clamp with Python bounds. Backward needs only where lo <= x <= hi, so
    the node keeps that mask (1 byte an element) instead of the input:
    in an MLP that is one hidden-layer array less held through backward."""
    _name, op_name = "ClampBackward1", "clamp"
    exact_grads = True

    def forward(self, x, lo, hi):
        # the result first: it then takes the memory its input's producer just freed
        # (in an MLP, the mm output consumed by the bias add), the small mask goes elsewhere
        y = _clamped(x, lo, hi)
        if grad_state.enabled:           # (the mask is only needed if recorded)
            self._saved = ()
            self._aux = P.clamp_mask(x, lo, hi)
        return y

    def backward(self, g):
        mask = self._aux
        if isinstance(g, Tensor):        # a recorded backward: the mask as a boolean tensor
            mask = Tensor._make(mask != 0 if mask.dtype == np.int8 else mask, g._backend)
        return P.mask_bwd(g, mask)


class ClampSavingInput(Clamp):
    """clamp with Python bounds on a device array (ClampBackward1, as PyTorch
    saves it: the input). The mask would cost the GPU a pass of its own in the
    forward (read x, write the mask) and one more operand in the backward, where
    clamp_bwd reads g and x in one fused pass."""
    save_inputs = (0,)

    def forward(self, x, lo, hi):
        self.lo, self.hi = lo, hi
        return _clamped(x, lo, hi)

    def backward(self, g, x):
        return P.clamp_bwd(g, x, self.lo, self.hi)


class ClampTensor(Op):
    """clamp with tensor bounds (ClampBackward0); inputs x, lo, hi (a missing
    bound is its dtype's extreme, and has_lo/has_hi say which were given)."""
    _name, op_name = "ClampBackward0", "clamp"
    save_inputs = (0, 1, 2)

    def forward(self, x, lo, hi, has_lo=True, has_hi=True):
        return P.minimum(P.maximum(x, lo), hi)

    def backward(self, g, x, lo, hi):
        # clamp_backward and clamp_backward_min_max of derivatives.yaml
        return (P.where((x >= lo) & (x <= hi), g, 0) if self.needs(0) else None,
                P.where((x < lo) & (lo < hi), g, 0) if self.needs(1) else None,
                P.where((x > hi) | (hi < lo), g, 0) if self.needs(2) else None)

    @staticmethod
    def jvp(y, inputs, tangents, has_lo=True, has_hi=True):
        # PyTorch's forward formula (clamp_jvp): at ties a given bound's tangent where the backward
        # sends no gradient to it (x == lo == hi, or a bound alone)
        (x, lo, hi), (tx, tlo, thi) = inputs, tangents
        if not has_hi:
            return tx.where(x > lo, tlo)
        if not has_lo:
            return tx.where(x < hi, thi)
        return thi.where(lo > hi, tlo.where(x < lo, thi.where(x > hi, tx)))


# clamp_min and clamp_max are clamp with one bound under nodes of their own names, as PyTorch's
class ClampMin(Clamp):
    _name = "ClampMinBackward0"


class ClampMinSavingInput(ClampSavingInput):
    _name = "ClampMinBackward0"


class ClampMinTensor(ClampTensor):
    _name = "ClampMinBackward1"

    @staticmethod
    def jvp(y, inputs, tangents, *given):
        (x, lo, _), (tx, tlo, _) = inputs, tangents
        return tx.where(x >= lo, tlo)          # (clamp_min's formula: x's tangent at ties, unlike clamp's)


class ClampMax(Clamp):
    _name = "ClampMaxBackward0"


class ClampMaxSavingInput(ClampSavingInput):
    _name = "ClampMaxBackward0"


class ClampMaxTensor(ClampTensor):
    _name = "ClampMaxBackward1"

    @staticmethod
    def jvp(y, inputs, tangents, *given):
        (x, _, hi), (tx, _, thi) = inputs, tangents
        return tx.where(x <= hi, thi)


# (number bounds on NumPy, on a device array; tensor bounds) by the function called
def _clamp_with(on_host, on_device, with_tensors):
    """clamp(input, min, max) recording these nodes: number bounds on a NumPy
    array, on a device array, and tensor bounds (clamp's, clamp_min's and
    clamp_max's own names). A closure, so clamp itself costs no extra call."""
    def clamp(input, min=None, max=None):
        if min is None and max is None:
            raise RuntimeError("clamp: At least one of 'min' or 'max' must not be None")
        if isinstance(min, Tensor) or isinstance(max, Tensor):
            lo, hi = _tensor_bounds(input, min, max)
            return with_tensors.applyN(_promoted_all((input, lo, hi)), min is not None, max is not None)
        lo = None if min is None else number(min, "clamp", "min")
        hi = None if max is None else number(max, "clamp", "max")
        c = input._data.dtype.char
        # bounds must fit x's type, as PyTorch checks (uint8 takes -1 as 255; float32 refuses 1e300)
        if c != "d" and (c != "f" or not (lo is None or -_F32_MAX <= lo <= _F32_MAX)
                         or not (hi is None or -_F32_MAX <= hi <= _F32_MAX)):
            lo, hi = (_bound_in(input._data.dtype, v) for v in (lo, hi))
        return (on_host if type(input._data) is np.ndarray else on_device).apply1(input, lo, hi)
    return clamp


clamp = _clamp_with(Clamp, ClampSavingInput, ClampTensor)
_clamp_min = _clamp_with(ClampMin, ClampMinSavingInput, ClampMinTensor)
_clamp_max = _clamp_with(ClampMax, ClampMaxSavingInput, ClampMaxTensor)


def _bound_in(np_dtype, v):
    if v is None or (type(v) is float and np_dtype.kind != "f"):
        return v                               # (a float bound promotes an integer x to float32)
    return check_fits(v, np_dtype, "clamp")


def _tensor_bounds(x, min, max):
    """Both bounds as tensors, of PyTorch's result dtype of x and the bounds
    given (a missing bound is the dtype's extreme and does not promote)."""
    import math
    from .._dtype import result_type_of, scalar_kind
    given = [t._data for t in (x, min, max) if isinstance(t, Tensor)]
    nums = [number(v, "clamp", n) for v, n in ((min, "min"), (max, "max")) if v is not None and not isinstance(v, Tensor)]
    rt = result_type_of(given, [scalar_kind(v) for v in nums])
    if rt.is_floating_point:
        extremes = (-math.inf, math.inf)
    elif rt.kind == 0:
        extremes = (False, True)
    else:
        extremes = (np.iinfo(rt.np).min, np.iinfo(rt.np).max)
    bk = x._backend

    def bound(v, extreme):
        if isinstance(v, Tensor):
            return v
        return Tensor._make(bk.from_host(np.asarray(extreme if v is None else v, dtype=rt.np)), bk)
    return bound(min, extremes[0]), bound(max, extremes[1])


def _promoted_all(tensors):
    """The tensors cast to PyTorch's result dtype of all of them (0-d ones count
    only when of a higher category)."""
    from .._dtype import result_type_of
    rt = result_type_of([t._data for t in tensors])
    return tuple(t if t._data.dtype == rt.np else t.to(rt) for t in tensors)


class Lerp(Op):
    """input + weight * (end - input), weight a number (LerpBackward0)."""
    _name, op_name = "LerpBackward0", "lerp"

    def forward(self, a, b, w):
        self.w = w
        return P.lerp(a, b, w)

    def backward(self, g):
        w = self.w
        return (P.mul(g, 1 - w) if self.needs(0) else None), (P.mul(g, w) if self.needs(1) else None)


class LerpTensor(Op):
    """The same with a tensor weight (LerpBackward1), all three broadcast."""
    _name, op_name = "LerpBackward1", "lerp"
    save_inputs = (0, 1, 2)
    # the ends only for the weight's gradient; the weight enters both ends' formulas, so PyTorch saves
    # (and version-checks) it whatever needs a gradient
    saved_for = ((2,), (2,), (0, 1, 2))

    def forward(self, a, b, w):
        return P.lerp(a, b, w)

    def backward(self, g, a, b, w):
        return (P.mul(g, P.rsub(w, 1)) if self.needs(0) else None,
                P.mul(g, w) if self.needs(1) else None,
                P.mul(g, P.sub(b, a)) if self.needs(2) else None)


def lerp(input, end, weight):
    """input + weight * (end - input), all broadcast; weight a number or a tensor."""
    if not isinstance(end, Tensor):
        raise TypeError(f"lerp(): argument 'end' (position 1) must be Tensor, not {type(end).__name__}")
    for name, t in (("end", end), ("weight", weight)):
        # a 0-d weight may have any dtype; asked by name, since end and weight may be one tensor
        if isinstance(t, Tensor) and t.dtype is not input.dtype and not (name == "weight" and t.dim() == 0):
            raise RuntimeError(f"lerp(): expected dtype {input.dtype.name} for `{name}` but got dtype "
                               f"{t.dtype.name}")
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f"lerp(): \"lerp_kernel\" not implemented for '{input.dtype.libtorch}'")
    shapes = [tuple(t.shape) for t in (input, end, weight) if isinstance(t, Tensor)]
    if not broadcastable(*shapes):
        raise RuntimeError(f"lerp(): the shapes {', '.join(str(list(s)) for s in shapes)} do not broadcast")
    if isinstance(weight, Tensor):
        if weight.dtype is not input.dtype:
            # a 0-d weight of any dtype, as PyTorch's (its gradient in its own); the result's dtype is the
            # three's result type, which the weight decides when all three are 0-d (lerp(half, half, float) is float)
            return LerpTensor.applyN(_promoted_all((input, end, weight)))
        return LerpTensor.applyN((input, end, weight))
    w = check_fits(number(weight, "lerp", "weight"), input._data.dtype, "lerp")
    return Lerp.apply2(input, end, float(w))


def clamp_min(input, min):
    if min is None:
        raise TypeError("clamp_min(): argument 'min' must be Number or Tensor, not NoneType")
    return _clamp_min(input, min, None)


def clamp_max(input, max):
    if max is None:
        raise TypeError("clamp_max(): argument 'max' must be Number or Tensor, not NoneType")
    return _clamp_max(input, None, max)


class Where(Op):
    """where(cond, a, b): the condition is an attribute, not an input (as in
    libtorch, whose node has edges to a and b only)."""
    _name, op_name, promotes = "WhereBackward0", "where", True
    save_inputs = ()

    def forward(self, a, b, cond):
        self.cond = cond
        return P.where(cond, a, b)

    def backward(self, g):
        self.check_kept()
        c = self.cond
        if isinstance(g, Tensor):
            c = Tensor._make(c, g._backend)
        return (P.where(c, g, 0) if self.needs(0) else None,
                P.where(c, 0, g) if self.needs(1) else None)


def where(condition, input=None, other=None):
    """Elementwise choice: `input` where `condition` holds, else `other`
    (either may be a Python number)."""
    from ..creation import scalar_tensor
    if input is None and other is None:
        return condition.nonzero(as_tuple=True)
    if not isinstance(condition, Tensor):
        raise TypeError(f"where(): argument 'condition' must be Tensor, not {type(condition).__name__}")
    if condition._data.dtype.kind != "b":
        raise RuntimeError(f"where: expected condition to be a boolean tensor, but got a tensor with "
                           f"dtype {condition.dtype.libtorch}")
    like = input if isinstance(input, Tensor) else other
    if not isinstance(like, Tensor):
        like = condition
        a = scalar_tensor(number(input, "where", "input"), like, float_default=True)
        b = scalar_tensor(number(other, "where", "other"), like, float_default=True)
    else:
        a = input if isinstance(input, Tensor) else scalar_tensor(number(input, "where", "input"), like, op_name="where")
        b = other if isinstance(other, Tensor) else scalar_tensor(number(other, "where", "other"), like, op_name="where")
    if condition._backend is not a._backend:
        from ..autograd.op import device_mismatch
        raise device_mismatch("where", condition, a)
    out = Where.apply2(a, b, condition._data)
    if out._node is not None:
        out._node.keep((condition,))
    return out


def masked_fill(input, mask, value):
    """input with `value` where the bool `mask` holds (mask broadcasts). value is
    a number or a 0-d tensor (its gradient is the sum over the filled places),
    taken in input's dtype, as PyTorch's."""
    m = checked_mask("masked_fill", input, mask, "masked_fill_ only supports boolean masks")
    # input as the node's first input: masked_fill_ rebases a view's history on input 0
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value.ndim} dimension(s).")
        out = MaskedFillTensor.apply2(input, value.to(device=input.device, dtype=input.dtype), m)
    else:
        npd = input._data.dtype
        n = check_fits(number(value, "masked_fill", "value"), npd, "masked_fill")
        out = MaskedFill.apply1(input, m, input._backend.from_host(np.asarray(n).astype(npd)))
    if out._node is not None:
        out._node.keep((mask,))
    return out


class MaskedFill(Op):
    """input with a number where the bool mask holds (MaskedFillBackward0:
    one edge; the mask and the value are attributes, as in libtorch)."""
    _name, op_name = "MaskedFillBackward0", "masked_fill"

    def forward(self, x, mask, value):
        self.mask = mask
        return P.where(mask, value, x)

    def _mask_like(self, g):
        self.check_kept()
        return Tensor._make(self.mask, g._backend) if isinstance(g, Tensor) else self.mask

    def backward(self, g):
        return P.where(self._mask_like(g), 0, g)


class MaskedFillTensor(MaskedFill):
    """The same with a 0-d tensor value (MaskedFillBackward1: edges to input
    and value; the value's gradient is the sum over the filled places, which
    the engine takes when it reduces the broadcast value back to 0-d)."""
    _name = "MaskedFillBackward1"

    def forward(self, x, value, mask):
        return MaskedFill.forward(self, x, mask, value)

    def backward(self, g):
        m = self._mask_like(g)
        return (P.where(m, 0, g) if self.needs(0) else None,
                P.where(m, g, 0) if self.needs(1) else None)
