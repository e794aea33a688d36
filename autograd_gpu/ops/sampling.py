"""Random sampling from tensors of parameters: bernoulli, multinomial, normal, poisson, randint_like and the in-place samplers (torch's), drawing from the library's generators.

Every draw goes through the backend's rand / randn / randint: from the
device's default generator (that ag.manual_seed seeds, on the CPU and on each
GPU), or within a drawing_from block from a generator= argument's stream, so
all of these repeat under a seed and run on NumPy and CuPy arrays alike. Only normal(mean, std)
passes gradient (mean + std * eps, PyTorch's reparametrisation); the others
pass none to their parameters (PyTorch's zero gradients)."""
import math

import numpy as np

from .. import _dtype
from ..tensor import Tensor
from ._util import number, int_arg, check_generator, generator_engine, drawing_from
from .functions import tensor_function
from .inplace import Overwrite, overwrite


# ---- shared pieces ----------------------------------------------------------------------

class ZeroGradDraw(Overwrite):
    """Draws shaped by a parameter tensor that pass it a zero gradient (PyTorch's
    BernoulliBackward0, PoissonBackward0); the draws are made before, outside."""
    op_name = "sampling"


def _tensor(v, op_name, arg):
    if not isinstance(v, Tensor):
        raise TypeError(f"{op_name}(): argument '{arg}' must be Tensor, not {type(v).__name__}")


def _floating(t, op_name, kernel):
    if t._data.dtype.kind != "f":
        raise NotImplementedError(f"{op_name}(): \"{kernel}\" not implemented for '{t.dtype.libtorch}'")


def _uniform(bk, shape):
    """Draws in [0, 1), float64 (exact enough for any parameter dtype)."""
    return bk.rand(tuple(shape), np.float64)


def _any(a):
    return bool(a.any()) if a.size else False


def _same_device(op_name, a, b):
    if a._backend is not b._backend:
        raise RuntimeError(f"{op_name}(): expected all tensors to be on the same device, but found {a.device} "
                           f"and {b.device}")


# ---- bernoulli --------------------------------------------------------------------------

def _probability(p, op_name):
    p = number(p, op_name, "p")
    if not 0 <= p <= 1:                                   # (False for NaN)
        raise RuntimeError(f"{op_name} expects p to be in [0, 1], but got p={p}")
    return p


def _check_probabilities(p, op_name):
    a = p._data
    if _any(~((a >= 0) & (a <= 1))):
        raise RuntimeError(f"{op_name}(): Expected p_in >= 0 && p_in <= 1 to be true, but got false "
                           f"(probabilities of shape {list(p.shape)} outside [0, 1] or NaN)")


_FROM_INPUT = object()      # bernoulli's p when not given: input's elements are the probabilities


def bernoulli(input, p=_FROM_INPUT, *, generator=None):
    """0/1 draws, each 1 with probability p (a number) or with the probability
    held by input's element (p not given), in input's dtype."""
    engine = generator_engine("bernoulli", generator, input._backend)
    if p is None:
        raise TypeError("bernoulli(): argument 'p' must be float, not NoneType")
    if isinstance(p, Tensor):
        raise TypeError("bernoulli(): argument 'p' must be float, not Tensor (use input.bernoulli_(p) for a "
                        "tensor of probabilities)")
    if p is _FROM_INPUT:
        _floating(input, "bernoulli", "bernoulli_tensor_cpu_p_")
        _check_probabilities(input, "bernoulli")
        prob = input._data
    else:
        prob = _probability(p, "bernoulli")
    bk = input._backend
    with drawing_from(bk, engine):
        values = (_uniform(bk, input.shape) < prob).astype(input._data.dtype)
    return ZeroGradDraw.apply1(input, "BernoulliBackward0" if p is _FROM_INPUT else "BernoulliBackward1", values)


def _bernoulli_values(t, p):
    """self.bernoulli_(p)'s draws: p a number or a floating tensor broadcast to t."""
    if isinstance(p, Tensor):
        _same_device("bernoulli_", t, p)
        _floating(p, "bernoulli_", "bernoulli_tensor_cpu_p_")
        try:
            if np.broadcast_shapes(p.shape, t.shape) != t.shape:
                raise ValueError
        except ValueError:
            raise RuntimeError(f"bernoulli_(): the probabilities of shape {list(p.shape)} do not expand to the "
                               f"tensor's shape {list(t.shape)}") from None
        _check_probabilities(p, "bernoulli_")
        prob = p._data
    else:
        prob = _probability(p, "bernoulli_")
    return lambda: (_uniform(t._backend, t.shape) < prob).astype(t._data.dtype)


def bernoulli_(self, p=0.5, *, generator=None):
    """Fill self with 0/1 draws, 1 with probability p (a number, or a tensor
    broadcast to self's shape)."""
    engine = generator_engine("bernoulli_", generator, self._backend)
    make = _bernoulli_values(self, p)
    node = "BernoulliBackward1" if isinstance(p, Tensor) else "BernoulliBackward2"
    with drawing_from(self._backend, engine):
        return overwrite(self, "bernoulli_", node, make)


# ---- multinomial ------------------------------------------------------------------------

def _check_multinomial(input, num_samples, replacement):
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"multinomial(): multinomial only supports floating-point dtypes for input, got: "
                           f"{input.dtype.libtorch}")
    if input.ndim not in (1, 2):
        raise RuntimeError(f"multinomial(): prob_dist must be 1 or 2 dim (got shape {list(input.shape)})")
    if num_samples <= 0:
        raise RuntimeError(f"multinomial(): cannot sample n_sample <= 0 samples (num_samples={num_samples})")
    categories = input.shape[-1]
    if not replacement and num_samples > categories:
        raise RuntimeError(f"multinomial(): cannot sample n_sample > prob_dist.size(-1) samples without "
                           f"replacement ({num_samples} > {categories})")
    a = input._data
    if _any(~((a >= 0) & (a < math.inf))):
        raise RuntimeError("multinomial(): probability tensor contains either `inf`, `nan` or element < 0")
    if categories == 0 and (input.ndim == 1 or input.shape[0] > 0):     # (no category to draw: sum 0)
        raise RuntimeError("multinomial(): invalid multinomial distribution (sum of probabilities <= 0)")
    if a.size and _any(a.astype(np.float64).sum(-1) <= 0):
        raise RuntimeError("multinomial(): invalid multinomial distribution (sum of probabilities <= 0)")


def _with_replacement(bk, w, n):
    """n draws per row of weights w (rows, k): the category whose cumulative
    weight first exceeds u * total (zero-weight categories are never hit)."""
    xp = bk.xp
    cdf = xp.cumsum(w, axis=1)
    u = _uniform(bk, (w.shape[0], n)) * cdf[:, -1:]
    idx = (cdf[:, None, :] <= u[:, :, None]).sum(-1)
    # (u * total may round up to total: the last category of nonzero weight then)
    last = w.shape[1] - 1 - xp.argmax((w > 0)[:, ::-1], axis=1)
    return xp.minimum(idx, last[:, None])


def _without_replacement(bk, w, n):
    """n distinct categories per row: the n smallest of E / w with E ~ Exp(1)
    (exponential races: the first to arrive is drawn with probability w / sum w,
    the next among the rest, ...); zero weights arrive last, never before."""
    xp = bk.xp
    e = -xp.log1p(-_uniform(bk, w.shape))
    keys = xp.where(w > 0, e / xp.where(w > 0, w, 1), math.inf)
    return xp.argsort(keys, axis=1, kind="stable")[:, :n]


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """num_samples category indices per row of input (1-d or 2-d weights),
    drawn in proportion to the weights; distinct unless replacement."""
    engine = generator_engine("multinomial", generator, input._backend)
    num_samples = int_arg(num_samples, "multinomial", "num_samples")
    if not isinstance(replacement, (bool, np.bool_)):
        raise TypeError(f"multinomial(): argument 'replacement' must be bool, not {type(replacement).__name__}")
    _check_multinomial(input, num_samples, replacement)
    bk = input._backend
    w = input._data.astype(np.float64).reshape(-1, input.shape[-1])
    if w.shape[0] == 0:
        idx = bk.xp.zeros((0, num_samples), dtype=np.int64)
    else:
        draw = _with_replacement if replacement else _without_replacement
        with drawing_from(bk, engine):
            idx = draw(bk, w, num_samples).astype(np.int64)
    return Tensor._make(idx.reshape(input.shape[:-1] + (num_samples,)), bk)


# ---- normal -----------------------------------------------------------------------------

def _check_std_tensor(std):
    a = std._data
    if _any(~(a >= 0)):
        raise RuntimeError(f"normal(): normal expects all elements of std >= 0.0 (std of shape {list(std.shape)} "
                           f"has negative or NaN elements)")


def _check_std_number(std):
    if not std >= 0:                                      # (True for NaN)
        raise RuntimeError(f"normal(): normal expects std >= 0.0, but found std {std}")


def _normal_tensors(mean, std, generator):
    """mean + std * eps, broadcast; the dtype is mean's (a number mean: std's)."""
    t = mean if isinstance(mean, Tensor) else std
    _floating(t, "normal", "normal_kernel_cpu")
    shapes = [v.shape for v in (mean, std) if isinstance(v, Tensor)]
    if len(shapes) == 2:
        _same_device("normal", mean, std)
    try:
        shape = np.broadcast_shapes(*shapes)
    except ValueError:
        raise RuntimeError(f"normal(): the shapes of mean {list(shapes[0])} and std {list(shapes[1])} do not "
                           f"broadcast") from None
    if isinstance(std, Tensor):
        _check_std_tensor(std)
    else:
        _check_std_number(std)
    bk, npd = t._backend, t._data.dtype
    eps = Tensor._make(bk.randn(shape, np.float64, generator_engine("normal", generator, bk)).astype(npd), bk)
    if isinstance(std, Tensor) and std._data.dtype != npd:
        std = std.to(t.dtype)
    return (mean + std * eps) if isinstance(std, Tensor) else (mean + eps * std)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None, requires_grad=False,
           out=None, layout=None, pin_memory=False):
    """Normal draws: with tensor mean and/or std, one per element of their
    broadcast shape (differentiable: mean + std * eps); with two numbers, a
    tensor of `size` (dtype, device, requires_grad as the factories)."""
    check_generator("normal", generator)
    if out is not None:
        raise TypeError("normal(): out= is not supported")
    tensors = isinstance(mean, Tensor) or isinstance(std, Tensor)
    if tensors:
        if size is not None or dtype is not None or device is not None or requires_grad:
            raise TypeError("normal(): size, dtype, device and requires_grad go only with a number mean and std "
                            "(with tensors the result takes their shape)")
        if not isinstance(mean, Tensor):
            mean = number(mean, "normal", "mean")
        if not isinstance(std, Tensor):
            std = number(std, "normal", "std")
        return _normal_tensors(mean, std, generator)
    if size is None:
        raise TypeError("normal(): with a number mean and std, size is required (normal(mean, std, size))")
    mean, std = number(mean, "normal", "mean"), number(std, "normal", "std")
    from ..creation import _size, backend_for, _finish
    shape = _size((size,) if not isinstance(size, (tuple, list)) else (tuple(size),), "normal")
    dt = _dtype.as_dtype(dtype, "normal") or _dtype.get_default_float()
    if not dt.is_floating_point:
        raise NotImplementedError(f"normal(): \"normal_kernel_cpu\" not implemented for '{dt.libtorch}'")
    _check_std_number(std)
    bk = backend_for(device if device is not None else "cpu")     # (not one of PyTorch's factories: no default device)
    values = (bk.randn(shape, np.float64, generator_engine("normal", generator, bk)) * std + mean).astype(dt.np)
    return _finish(values, bk, requires_grad, "normal")


# ---- poisson ----------------------------------------------------------------------------

_LOG_FACTORIALS = np.array([math.lgamma(k + 1) for k in range(16)])


def _log_factorial(xp, k):
    """log(k!) of non-negative integer-valued floats: a table below 16,
    Stirling's series above (NumPy's loggam; error under 1e-13 there)."""
    x = xp.maximum(k, 15) + 1
    stirling = (x - 0.5) * xp.log(x) - x + 0.5 * math.log(2 * math.pi) + 1 / (12 * x) - 1 / (360 * x ** 3) \
        + 1 / (1260 * x ** 5)
    table = xp.asarray(_LOG_FACTORIALS)[xp.clip(k, 0, 15).astype(np.int64)]
    return xp.where(k < 16, table, stirling)


def _poisson_small(bk, lam):
    """Knuth's method (rate under 10): the number of uniforms whose running
    product stays above exp(-rate)."""
    xp = bk.xp
    limit = xp.exp(-lam)
    count = xp.zeros_like(lam)
    prod = _uniform(bk, lam.shape)
    active = prod > limit
    while _any(active):
        count = count + active
        prod = xp.where(active, prod * _uniform(bk, lam.shape), prod)
        active = active & (prod > limit)
    return count


def _poisson_large(bk, lam):
    """Hörmann's transformed rejection (PTRS, rate 10 and up), every element
    retrying until accepted."""
    xp = bk.xp
    slam, loglam = xp.sqrt(lam), xp.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2)
    out = xp.zeros_like(lam)
    todo = xp.ones(lam.shape, dtype=bool)
    while _any(todo):
        u = _uniform(bk, lam.shape) - 0.5
        v = _uniform(bk, lam.shape)
        us = 0.5 - xp.abs(u)
        k = xp.floor((2 * a / us + b) * u + lam + 0.43)
        quick = (us >= 0.07) & (v <= vr)
        ok_k = (k >= 0) & ~((us < 0.013) & (v > us))
        with np.errstate(divide="ignore", invalid="ignore"):
            bound = -lam + k * loglam - _log_factorial(xp, xp.maximum(k, 0))
            slow = ok_k & (xp.log(v) + xp.log(invalpha) - xp.log(a / (us * us) + b) <= bound)
        take = todo & (quick | slow)
        out = xp.where(take, k, out)
        todo = todo & ~take
    return out


def poisson(input, generator=None):
    """A Poisson draw for each element's rate, in input's dtype (an infinite
    rate gives inf)."""
    engine = generator_engine("poisson", generator, input._backend)
    _floating(input, "poisson", "poisson_cpu")
    lam = input._data.astype(np.float64)
    if _any(~(lam >= 0)):
        raise RuntimeError(f"poisson(): invalid Poisson rate, expected rate to be non-negative (rates of shape "
                           f"{list(input.shape)} have negative or NaN elements)")
    bk, xp = input._backend, input._backend.xp
    finite = xp.where(lam < math.inf, lam, 0)
    small = xp.where(finite < 10, finite, 0)
    large = xp.where(finite >= 10, finite, 10)
    with drawing_from(bk, engine):
        values = xp.where(finite < 10, _poisson_small(bk, small), _poisson_large(bk, large))
    values = xp.where(lam < math.inf, values, math.inf).astype(input._data.dtype)
    return ZeroGradDraw.apply1(input, "PoissonBackward0", values)


# ---- integers: randint_like, random_ ------------------------------------------------------

def _integer_range(np_dtype, low, high, op_name):
    """Check [low, high) against what np_dtype holds (PyTorch's 'from'/'to - 1'
    bounds; floats hold the integers up to 2 ** mantissa digits)."""
    if low >= high:
        raise RuntimeError(f"{op_name} expects 'from' to be less than 'to', but got from={low} >= to={high}")
    if np_dtype.kind == "b":
        lo_ok, hi_ok = 0 <= low <= 1, 0 <= high - 1 <= 1
    elif np_dtype.kind in "iu":
        info = np.iinfo(np_dtype)
        lo_ok, hi_ok = info.min <= low <= info.max, info.min <= high - 1 <= info.max
    else:
        info = np.finfo(np_dtype)
        lo_ok, hi_ok = info.min <= low <= info.max, info.min <= high - 1 <= info.max
    name = _dtype.from_numpy_dtype(np_dtype).libtorch
    if not lo_ok:
        raise RuntimeError(f"{op_name}: from is out of bounds for {name} (from={low})")
    if not hi_ok:
        raise RuntimeError(f"{op_name}: to - 1 is out of bounds for {name} (to={high})")


def _randint_values(bk, low, high, shape, np_dtype):
    if high - 1 > np.iinfo(np.int64).max:               # (int64's full range: drawn as uint64)
        return bk.randint(low, high, shape, np.uint64).astype(np_dtype)
    return bk.randint(low, high, shape, np.int64).astype(np_dtype)


def randint_like(input, low=0, high=None, *, generator=None, dtype=None, device=None, requires_grad=False,
                 layout=None, memory_format=None):
    """Integers drawn uniformly from [low, high) (randint_like(x, high): from
    0), in input's shape, dtype and device unless told."""
    _tensor(input, "randint_like", "input")
    if high is None:
        low, high = 0, low
    low, high = int_arg(low, "randint_like", "low"), int_arg(high, "randint_like", "high")
    dt = _dtype.as_dtype(dtype, "randint_like") or input.dtype
    _integer_range(dt.np, low, high, "randint_like")
    if requires_grad and not dt.is_floating_point:       # (refused before anything is drawn)
        raise RuntimeError(f"randint_like: Only Tensors of floating point and complex dtype can require gradients "
                           f"(got {dt.libtorch})")
    from ..creation import backend_for, _finish
    bk = backend_for(device) if device is not None else input._backend
    with drawing_from(bk, generator_engine("randint_like", generator, bk)):
        values = _randint_values(bk, low, high, tuple(input.shape), dt.np)
    return _finish(values, bk, requires_grad, "randint_like")


def _default_top(np_dtype):
    """random_()'s range end: 2 ** mantissa digits (inclusive) for floats, the largest value for integers."""
    if np_dtype.kind == "f":
        return 2 ** (np.finfo(np_dtype).nmant + 1) + 1
    if np_dtype.kind == "b":
        return 2
    return int(np.iinfo(np_dtype).max) + 1


def _random_range(npd, args, kwargs):
    """random_'s overloads: (), (to), (from, to=None); returns (low, high, node name)."""
    if len(args) > 2:
        raise TypeError(f"random_(): takes at most 2 arguments (from, to), got {len(args)}")
    given = dict(zip(("from", "to"), args))
    for k, v in kwargs.items():
        if k not in ("from", "to") or k in given:
            raise TypeError(f"random_(): got an unexpected or repeated keyword argument {k!r}")
        given[k] = v
    if not given:
        return 0, _default_top(npd), "RandomBackward2"
    if "from" not in given or (len(args) == 1 and not kwargs):     # random_(to)
        return 0, int_arg(given.get("to", given.get("from")), "random_", "to"), "RandomBackward1"
    low = int_arg(given["from"], "random_", "from")
    to = given.get("to")
    return low, (_default_top(npd) if to is None else int_arg(to, "random_", "to")), "RandomBackward0"


def random_(self, *args, generator=None, **kwargs):
    """Fill self with integers from [from, to): random_() the dtype's default
    range (floats: 0 to 2 ** mantissa digits), random_(to) from 0,
    random_(from, None) up to the dtype's largest."""
    engine = generator_engine("random_", generator, self._backend)
    npd = self._data.dtype
    low, high, node = _random_range(npd, args, kwargs)
    _integer_range(npd, low, high, "random_")
    with drawing_from(self._backend, engine):
        return overwrite(self, "random_", node, lambda: _randint_values(self._backend, low, high, self.shape, npd))


# ---- continuous in-place samplers ---------------------------------------------------------

def _continuous(t, op_name, kind_error):
    """The floating check of exponential_ and cauchy_ (PyTorch's words); the others' is _floating."""
    if t._data.dtype.kind != "f":
        raise RuntimeError(f"{op_name}(): {kind_error} distribution is a continuous probability distribution. "
                           f"dtype must be a floating point but you specified {t.dtype.libtorch}")


def _fill(t, op_name, node, draw, engine):
    """Overwrite t with draw(backend, shape) (float64 values, from engine's stream), in t's dtype."""
    npd = t._data.dtype
    with drawing_from(t._backend, engine):
        return overwrite(t, op_name, node, lambda: draw(t._backend, tuple(t.shape)).astype(npd))


def exponential_(self, lambd=1.0, *, generator=None):
    """Fill self with exponential draws of rate lambd (mean 1 / lambd)."""
    engine = generator_engine("exponential_", generator, self._backend)
    lambd = number(lambd, "exponential_", "lambd")
    _continuous(self, "exponential_", "Exponential")
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    return _fill(self, "exponential_", "ExponentialBackward0",
                 lambda bk, shape: -bk.xp.log1p(-_uniform(bk, shape)) / lambd, engine)


def geometric_(self, p, *, generator=None):
    """Fill self with the number of Bernoulli(p) trials up to the first success (1, 2, ...)."""
    engine = generator_engine("geometric_", generator, self._backend)
    p = number(p, "geometric_", "p")
    if self._data.dtype.kind == "b":
        raise NotImplementedError("geometric_(): \"geometric_cpu\" not implemented for 'Bool'")
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    npd = self._data.dtype
    top = float(np.iinfo(npd).max) if npd.kind in "iu" else math.inf

    def draw(bk, shape):
        xp = bk.xp
        trials = xp.ceil(xp.log1p(-_uniform(bk, shape)) / math.log1p(-p))
        return xp.clip(trials, 1, top)                    # (u = 0 gives 0 trials: the first one succeeds)
    return _fill(self, "geometric_", "GeometricBackward0", draw, engine)


def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    """Fill self with Cauchy draws: median + sigma * tan(pi * (u - 1/2))."""
    engine = generator_engine("cauchy_", generator, self._backend)
    median, sigma = number(median, "cauchy_", "median"), number(sigma, "cauchy_", "sigma")
    _continuous(self, "cauchy_", "Cauchy")
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
    return _fill(self, "cauchy_", "CauchyBackward0",
                 lambda bk, shape: median + sigma * bk.xp.tan(math.pi * (_uniform(bk, shape) - 0.5)), engine)


def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    """Fill self with exp(N(mean, std ** 2)) draws."""
    engine = generator_engine("log_normal_", generator, self._backend)
    mean, std = number(mean, "log_normal_", "mean"), number(std, "log_normal_", "std")
    _floating(self, "log_normal_", "log_normal_cpu")
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    return _fill(self, "log_normal_", "LogNormalBackward0",
                 lambda bk, shape: bk.xp.exp(mean + std * bk.randn(shape, np.float64)), engine)


# the Tensor methods, ag functions and in-place forms (x.<name>_) this family adds;
# the in-place samplers are methods of their own (their arguments are not the
# out-of-place op's: x.bernoulli_() draws with p = 0.5, not with x's values)
METHODS = {"bernoulli": bernoulli, "multinomial": multinomial, "bernoulli_": bernoulli_, "random_": random_,
           "exponential_": exponential_, "geometric_": geometric_, "cauchy_": cauchy_, "log_normal_": log_normal_}
FUNCTIONS = {name: tensor_function(name, METHODS[name]) for name in ("bernoulli", "multinomial")}
FUNCTIONS.update(normal=normal, poisson=tensor_function("poisson", poisson), randint_like=randint_like)
INPLACE = {}
