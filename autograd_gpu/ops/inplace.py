"""In-place ops (`add_`, `zero_`, `copy_`, ...). Each is the out-of-place op
followed by a write into the tensor (`autograd/op.py: commit_inplace`), which
bumps the version counter and, when a graph is recorded, rebases the tensor's
history. Without a graph the write goes straight into the array."""
import operator

from .._dtype import as_torch_narrows
from ..autograd import op as _op
from ..autograd.op import Op, check_inplace, commit_inplace, check_no_partial_overlap
from ..autograd.saved_hooks import deferred
from ..autograd.grad_mode import state as grad_state
from ..tensor import Tensor
from . import prims as P
from ._util import number, check_fits, generator_engine
from .. import amp as _amp


def _recording(t, others=()):
    """Whether the write is computed out of place by ops (a graph, or tangents, to follow it)."""
    return (grad_state.enabled and (t._rg or any(isinstance(o, Tensor) and o._rg for o in others))) or (
        _op._forward_ad and _op._any_tangent((t,) + tuple(others)))


def _run(t, name, outplace, args, kwargs=None, composed=False):
    """Shared path: check, compute out of place, write back. `composed`: the
    out-of-place op is several nodes that may keep t (or views of it), which
    the write would make stale: recorded, it computes from a copy of t."""
    if _op._intercept and not _amp.suspended_here():      # autocast casts no in-place op (PyTorch's)
        with _amp.suspended():
            return _run(t, name, outplace, args, kwargs, composed)
    check_inplace(t, name)
    for o in (*args, *kwargs.values()) if kwargs else args:
        if isinstance(o, Tensor) and (o._base is not None or t._base is not None):
            check_no_partial_overlap(t, o, name)
    if _recording(t, args):
        if _op._packing:                 # saved-tensor hooks see t's old values (saved_hooks.deferred)
            with deferred():
                res = outplace(t.clone() if composed else t, *args, **(kwargs or {}))
                return commit_inplace(t, res, name)
        res = outplace(t.clone() if composed else t, *args, **(kwargs or {}))
    else:
        prev = grad_state.enabled
        grad_state.enabled = False
        try:
            res = outplace(t, *args, **(kwargs or {}))
        finally:
            grad_state.enabled = prev
    return commit_inplace(t, res, name)


def apply_in_place(t, name, fn, *args):
    """fn(t, *args) written into t as the in-place op `name`, for in-place forms
    outside the Tensor methods (nn.functional's activations): fn's node takes
    t's history, as for x.exp_()."""
    return _run(t, name, fn, args)


# Arithmetic without a graph writes straight into the array (no temporary for
# the result): the optimizer's `w.sub_(lr * w.grad)` under no_grad.
_DIRECT = {"add_": operator.iadd, "sub_": operator.isub, "mul_": operator.imul}


def _binary(name, outplace):
    direct = _DIRECT.get(name)

    def method(self, other, *args, **kwargs):
        if direct is not None and isinstance(other, Tensor) and not args and not kwargs:
            d, o = self._data, other._data
            if (o.shape == d.shape and other._backend is self._backend and o.dtype == d.dtype
                    and d.dtype.kind == "f" and not (grad_state.enabled and (self._rg or other._rg))
                    and not _op._forward_ad):
                check_inplace(self, name)
                if self._base is not None or other._base is not None:
                    check_no_partial_overlap(self, other, name)
                direct(d, o)
                self._vc[0] += 1
                return self
        return _run(self, name, outplace, (other,) + args, kwargs)
    method.__name__ = name
    return method


def _run_as(name, outplace, check=None, composed=False):
    """The in-place form of `outplace` (its arguments after self, as they come);
    `check(self, *args, **kwargs)`, when given, refuses what the in-place form
    cannot take that the out-of-place one can; `composed`: see _run."""
    def method(self, *args, **kwargs):
        if check is not None:
            check(self, *args, **kwargs)
        return _run(self, name, outplace, args, kwargs, composed)
    method.__name__ = name
    return method


class Composed:
    """An INPLACE entry (in place of a plain check) for an op composed of several
    nodes: its in-place form computes from a copy of self when recorded."""

    def __init__(self, check=None):
        self.check = check


def _compared_in_place(name, compare_fn, node):
    """x.eq_(y) and the like: x takes the comparison's result in its own dtype
    (1 and 0), with a history that gives the old values no gradient
    (EqBackward1 for a tensor operand, EqBackward0 for a number, as PyTorch's)."""
    def method(self, other):
        values = compare_fn(self, other)._data        # (refuses what the comparison refuses)
        if values.shape != self._data.shape:
            raise RuntimeError(f"{name}: output with shape {list(self.shape)} doesn't match the broadcast shape "
                               f"{list(values.shape)}")
        if not isinstance(other, Tensor):
            return overwrite(self, name, f"{node}Backward0", lambda: values.astype(self._data.dtype))
        check_inplace(self, name)
        values = values.astype(self._data.dtype)
        if _recording(self, (other,)):          # (recorded when either requires grad, as PyTorch's)
            res = OverwriteFrom.applyN((self, other), f"{node}Backward1", values)
        else:
            res = Tensor._make(values, self._backend)
        return commit_inplace(self, res, name)
    method.__name__ = name
    return method


def _make_methods():
    from . import arith, compare, pointwise, reduction, scatter, shape
    m = {
        "add_": _binary("add_", arith.add),
        "sub_": _binary("sub_", arith.sub),
        "mul_": _binary("mul_", arith.mul),
        "div_": _binary("div_", arith.div),
        "pow_": _binary("pow_", arith.pow),
        "clamp_": lambda self, min=None, max=None: _run(self, "clamp_", pointwise.clamp, (), {"min": min, "max": max}),
        "clamp_min_": _run_as("clamp_min_", pointwise.clamp_min),
        "clamp_max_": _run_as("clamp_max_", pointwise.clamp_max),
        "neg_": _run_as("neg_", arith.neg),
        "masked_fill_": masked_fill_,
        "atan2_": _run_as("atan2_", arith.atan2), "arctan2_": _run_as("arctan2_", arith.atan2),
        "lerp_": _run_as("lerp_", pointwise.lerp),
        "scatter_": _run_as("scatter_", scatter.scatter),
        "scatter_add_": _run_as("scatter_add_", scatter.scatter_add),
        "index_add_": _run_as("index_add_", scatter.index_add),
    }
    m.update(remainder_=_run_as("remainder_", arith.remainder), cumsum_=_run_as("cumsum_", reduction.cumsum),
             tril_=_run_as("tril_", shape.tril), triu_=_run_as("triu_", shape.triu))
    for names, fn, node in ((("eq_",), compare.eq, "Eq"), (("ne_", "not_equal_"), compare.ne, "Ne"),
                            (("lt_", "less_"), compare.lt, "Lt"), (("le_", "less_equal_"), compare.le, "Le"),
                            (("gt_", "greater_"), compare.gt, "Gt"), (("ge_", "greater_equal_"), compare.ge, "Ge")):
        for name in names:
            m[name] = _compared_in_place(name, fn, node)
    for meth in pointwise.UNARY_NAMES:
        fn = getattr(pointwise, meth)
        m[meth + "_"] = (lambda fn, n: lambda self: _run(self, n, fn, ()))(fn, meth + "_")
    from .methods import SELF_LISTING
    for family in SELF_LISTING:        # (their INPLACE: PyTorch's x.<name>_)
        for meth, check in getattr(family, "INPLACE", {}).items():
            composed = isinstance(check, Composed)
            m[meth + "_"] = _run_as(meth + "_", family.METHODS[meth], check.check if composed else check, composed)
    return m


def masked_fill_(self, mask, value):
    # (a mask that would broadcast self: commit_inplace refuses the larger result, PyTorch's words)
    from .pointwise import masked_fill
    return _run(self, "masked_fill_", masked_fill, (mask, value))


# ---- writes that ignore the old values -------------------------------------------

class Overwrite(Op):
    """The history of a tensor whose values were all replaced by constants:
    the old values get zero gradient (ZeroBackward0, FillBackward2, ...)."""
    op_name = "fill_"

    def forward(self, x, name, values):
        self._name = name
        return values

    def backward(self, g):
        return P.zeros_like(g)


class OverwriteFrom(Op):
    """The same for values computed from another tensor (x.eq_(y)): neither gets a gradient."""
    op_name = "compare"

    def forward(self, x, other, name, values):
        self._name = name
        return values

    def backward(self, g):
        z = P.zeros_like(g)
        return z, z                 # (the engine sums and casts the other's to its shape and dtype)


def overwrite(t, name, node_name, make_values):
    check_inplace(t, name)
    values = make_values()
    if _recording(t):
        res = Overwrite.apply1(t, node_name, values)
    else:
        res = Tensor._make(values, t._backend)
    return commit_inplace(t, res, name)


def zero_(t):
    d = t._data
    if not (grad_state.enabled and t._rg) and not _op._forward_ad:     # (_recording(t), inlined: optimizers)
        check_inplace(t, "zero_")
        d.fill(0)
        t._vc[0] += 1
        return t
    return overwrite(t, "zero_", "ZeroBackward0", lambda: t._backend.xp.zeros_like(d))


def fill_diagonal_(t, fill_value, wrap=False):
    """Fill the main diagonal (all dims equal, or a 2-D matrix; a tall one with
    wrap=True starts again every columns + 1 rows, as NumPy's fill_diagonal),
    by writing through diagonal views as PyTorch does (CopySlices)."""
    import builtins
    from .arith import _is_number
    if isinstance(fill_value, Tensor) or not _is_number(fill_value):
        raise TypeError(f"fill_diagonal_(): argument 'fill_value' (position 1) must be Number, not "
                        f"{type(fill_value).__name__}")
    shape = t.shape
    if len(shape) < 2:
        raise RuntimeError(f"fill_diagonal_: dimensions must larger than 1 (got a {len(shape)}-D tensor)")
    if len(shape) > 2 and len(set(shape)) != 1:
        raise RuntimeError(f"fill_diagonal_: all dimensions of input must be of equal length, got {list(shape)}")
    check_inplace(t, "fill_diagonal_")
    check_fits(number(fill_value, "fill_diagonal_", "fill_value"), t._data.dtype, "fill_diagonal_")
    if len(shape) > 2:                          # (one index per dim: every dim's i-th position)
        from ..creation import arange
        i = arange(shape[0], device=t.device)
        t[(i,) * len(shape)] = fill_value
        return t
    rows, cols = shape
    block = cols + 1 if wrap and rows > cols else max(rows, 1)      # (a wrapped tall matrix: a diagonal per block)
    for start in builtins.range(0, rows, block):
        t[start:start + block].diagonal().fill_(fill_value)
    return t


def fill_(t, value):
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                               f"{value.ndim} dimensions.")
        value = value.item()
    v = check_fits(number(value, "fill_", "value"), t._data.dtype, "fill_")
    d = t._data
    return overwrite(t, "fill_", "FillBackward2", lambda: t._backend.xp.full_like(d, v))


def normal_(t, mean=0.0, std=1.0, generator=None):
    engine = generator_engine("normal_", generator, t._backend)
    mean, std = number(mean, "normal_", "mean"), number(std, "normal_", "std")
    if std < 0:
        raise RuntimeError(f"normal_ expects std >= 0.0, but found std {std}")
    d = t._data
    _float_only(t, "normal_")
    return overwrite(t, "normal_", "NormalBackward0",
                      lambda: (t._backend.randn(d.shape, d.dtype, engine) * std + mean).astype(d.dtype, copy=False))


def uniform_(t, a=0.0, b=1.0, generator=None):
    engine = generator_engine("uniform_", generator, t._backend)
    a, b = number(a, "uniform_", "from"), number(b, "uniform_", "to")
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={a} > to={b}")
    d = t._data
    _float_only(t, "uniform_")
    return overwrite(t, "uniform_", "UniformBackward0", lambda: _uniform(t._backend, d, a, b, engine))


def _uniform(backend, d, a, b, engine):
    """Draws in [a, b) in d's dtype: a + (b - a) u rounds to b itself where the range is narrow next to the
    dtype's spacing (1 + 2^-20 in float32); those become the largest value below b, as PyTorch's stay below."""
    xp = backend.xp
    v = (backend.rand(d.shape, d.dtype, engine) * (b - a) + a).astype(d.dtype, copy=False)
    if a < b:
        top = d.dtype.type(b)
        below = xp.nextafter(top, d.dtype.type(a)) if top > d.dtype.type(a) else d.dtype.type(a)
        v = xp.where(v >= top, below, v)
    return v


def _float_only(t, name):
    if t._data.dtype.kind != "f":           # (PyTorch's kernels exist for floating types only)
        raise NotImplementedError(f"{name}: expected a floating point tensor, got {t.dtype.libtorch}")


# ---- copy_ ------------------------------------------------------------------

class CopyFrom(Op):
    """t.copy_(src) out of place: src's values broadcast to t's shape and cast
    to t's dtype. t's old values get zero gradient."""
    _name, op_name = "torch::autograd::CopyBackwards", "copy_"

    def forward(self, t, src):
        return as_torch_narrows(P.expand(src, t.shape), t.dtype).astype(t.dtype)

    def backward(self, g):
        return (P.zeros_like(g) if self.needs(0) else None), g   # the engine sums g to src's shape


def copy_(t, src, non_blocking=False):
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_(): argument 'src' must be Tensor, not {type(src).__name__}")
    check_inplace(t, "copy_")
    if src._backend is not t._backend:
        src = src.to(t.device)               # copy_ is the one op that crosses devices: explicitly
    elif src._base is not None or t._base is not None:
        check_no_partial_overlap(t, src, "copy_")
    try:
        import numpy as np
        if np.broadcast_shapes(src.shape, t.shape) != t.shape:
            raise ValueError
    except ValueError:
        raise RuntimeError(f"copy_: the size of src {list(src.shape)} does not broadcast to the "
                           f"destination size {list(t.shape)}") from None
    if _recording(t, (src,)) and t._data.dtype.kind == "f":   # (an integer t has no gradient)
        res = CopyFrom.apply2(t, src)
        return commit_inplace(t, res, "copy_")
    d = src._data
    if type(d) is not np.ndarray and d.dtype.kind == "f" and t._data.dtype == np.uint8:
        d = d.astype(np.int64)               # floats to uint8 through int64, as PyTorch (cupy_backend.astype)
    t._data[...] = as_torch_narrows(d, t._data.dtype)
    t._vc[0] += 1
    return t
