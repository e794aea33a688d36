"""autograd_gpu: reverse-mode automatic differentiation, PyTorch-style, on
NumPy (device "cpu") or CuPy (device "cuda") arrays.

    import autograd_gpu as ag
    x = ag.ones(2, 2, requires_grad=True)
    x.mean().backward()
    x.grad            # 0.25 everywhere
"""
import warnings as _warnings

from . import _dtype  # noqa: F401  (ag._dtype: promotion helpers)
from ._dtype import (dtype, bool_ as bool, uint8, int8, int16, int32, int64, float16, float32, float64)
from .backend import device
from .backend.device import set_default_device, get_default_device
from .tensor import Tensor
from .autograd.grad_mode import no_grad, enable_grad, set_grad_enabled, is_grad_enabled
from .ops import prims as _prims
from .ops import methods as _methods
from .ops.arith import neg
from .ops.pointwise import (exp, log, log1p, sqrt, rsqrt, square, abs, sign, sin, cos, tanh, sigmoid, relu, where,
                           floor, ceil, round, trunc, tan, asin, acos, atan, sinh, cosh, expm1, log2, log10,
                           reciprocal, erf, erfc, erfinv)
from .ops.reduction import (sum, mean, prod, var, std, amax, amin, max, min, argmax, argmin, logsumexp,
                            softmax, log_softmax, norm, all, any, median)
from .ops.shape import unsqueeze, cat, concat, stack, clone
# the functions whose methods take any first operand: behind a check that it is a Tensor
from .ops.functions import (add, sub, mul, div, pow, maximum, minimum, rsub, atan2, clamp, clamp_min, clamp_max, lerp,
                            matmul, mm, bmm, dot, mv, reshape, flatten, squeeze, transpose, t, permute, movedim,
                            chunk, split, unbind, eq, ne, lt, le, gt, ge, isnan, isfinite, isinf, logical_and,
                            logical_or, logical_not, logical_xor, isclose, allclose, equal, narrow, select, flip,
                            cumsum, remainder, floor_divide, sort, topk, tril, triu, gather, index_select, scatter,
                            scatter_add, index_add, diagonal, diag_embed, diag, trace, masked_select,
                            repeat_interleave, unique)
from .ops.einsum import einsum
for _family in _methods.SELF_LISTING:       # the families that list their own ag.<name> functions
    globals().update(_family.FUNCTIONS)
arctan2 = atan2                  # (PyTorch's NumPy-style alias)
from .creation import (tensor, as_tensor, from_numpy, from_dlpack, zeros, ones, empty, full, eye, arange,
                       linspace, randn, rand, randint, randperm, zeros_like, ones_like, empty_like, full_like,
                       randn_like, rand_like, manual_seed, initial_seed, seed, get_rng_state,
                       set_rng_state)
from .printing import set_printoptions, get_printoptions
from . import autograd
from . import cuda

float = float32
double = float64
half = float16
long = int64
int = int32
short = int16

_methods.install()
_prims._bind(Tensor, __import__(__name__))

# NumPy warns on IEEE events (log(0), 0/0, exp overflow) raised inside our
# ops; PyTorch returns inf/nan silently. Silence them for our modules only.
_warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"autograd_gpu(\.|$)")


def is_tensor(obj):
    return isinstance(obj, Tensor)


def numel(input):
    if not isinstance(input, Tensor):
        raise TypeError(f"numel(): argument 'input' must be Tensor, not {type(input).__name__}")
    return input.numel()


def get_default_dtype():
    return _dtype.get_default_float()


def detach(input):
    if not isinstance(input, Tensor):
        raise TypeError(f"detach(): argument 'input' must be Tensor, not {type(input).__name__}")
    return input.detach()


from . import nn, optim  # noqa: E402  (built on the public API above)
from . import viz  # noqa: E402  (ag.viz.draw_graph; graphviz itself is imported only when drawing)
from . import linalg, special, utils  # noqa: E402  (ag.linalg, ag.special, ag.utils.data)
from . import distributions  # noqa: E402  (ag.distributions, after torch.distributions)
from . import func  # noqa: E402  (ag.func, after torch.func: grad, vjp, jacrev, vmap, ...)
from .autograd.anomaly_mode import set_anomaly_enabled, is_anomaly_enabled, is_anomaly_check_nan_enabled  # noqa: E402,F401
from .serialization import save, load  # noqa: E402
from . import testing, profiler, amp, random  # noqa: E402  (ag.testing, ag.profiler, ag.amp, ag.random)
from .legacy_types import *  # noqa: E402,F401,F403  (ag.FloatTensor, ...: PyTorch's legacy tensor types)
from . import legacy_types as _legacy_types  # noqa: E402
for _module in (amp, random):     # torch.autocast, torch.Generator, torch.default_generator
    globals().update({_name: getattr(_module, _name) for _name in _module.TOP_LEVEL})

__version__ = "0.1.0"

__all__ = [  # the public names (API.md)
    "dtype", "bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64",
    "float", "double", "half", "long", "int", "short", "device", "set_default_device",
    "get_default_device", "Tensor",
    "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
    "add", "sub", "mul", "div", "pow", "neg", "maximum", "minimum", "rsub", "atan2", "arctan2",
    "exp", "log", "log1p", "sqrt", "rsqrt", "square", "abs", "sign", "sin", "cos", "tanh", "sigmoid",
    "relu", "clamp", "clamp_min", "clamp_max", "where", "lerp",
    "sum", "mean", "prod", "var", "std", "amax", "amin", "max", "min", "argmax", "argmin", "logsumexp",
    "softmax", "log_softmax", "norm", "all", "any",
    "matmul", "mm", "bmm", "dot", "mv",
    "reshape", "flatten", "squeeze", "unsqueeze", "transpose", "t", "permute", "movedim", "cat", "concat",
    "stack", "chunk", "split", "unbind", "clone",
    "eq", "ne", "lt", "le", "gt", "ge", "isnan", "isfinite", "isinf", "logical_and", "logical_or",
    "logical_not", "logical_xor", "isclose", "allclose", "equal", "narrow", "select", "flip", "cumsum",
    "remainder", "floor_divide", "sort", "topk", "tril", "triu", "gather", "index_select", "scatter",
    "scatter_add", "index_add", "diagonal", "diag_embed", "diag", "trace", "masked_select", "einsum",
    "repeat_interleave", "unique", "median",
    "floor", "ceil", "round", "trunc", "tan", "asin", "acos", "atan", "sinh", "cosh", "expm1", "log2", "log10",
    "reciprocal", "erf", "erfc", "erfinv",
    "tensor", "as_tensor", "from_numpy", "from_dlpack", "zeros", "ones", "empty", "full", "eye", "arange",
    "linspace", "randn", "rand", "randint", "randperm", "zeros_like", "ones_like", "empty_like",
    "full_like", "randn_like", "rand_like", "manual_seed", "initial_seed", "seed", "get_rng_state",
    "set_rng_state",
    "set_printoptions", "get_printoptions", "autograd", "cuda", "nn", "optim", "save", "load",
    "is_tensor", "numel", "get_default_dtype", "detach", "linalg", "special", "utils", "distributions", "func",
    "set_anomaly_enabled", "is_anomaly_enabled", "is_anomaly_check_nan_enabled",
    "testing", "profiler", "amp", "random",
]
__all__ += amp.TOP_LEVEL + random.TOP_LEVEL + _legacy_types.__all__
__all__ += [_name for _family in _methods.SELF_LISTING for _name in _family.FUNCTIONS]
