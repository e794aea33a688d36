"""Forward-mode AD (torch.autograd.forward_ad): dual tensors carry a tangent,
and every op gives its output the Jacobian-vector product of its inputs'.

One level at a time, as PyTorch's (`dual_level`, or enter_dual_level /
exit_dual_level); leaving it drops every tangent. Ops need no forward
formulas of their own: the JVP of an op is the transpose of its VJP, which
its backward already gives. With u a dummy output gradient, backward computes
g(u) = J^T u, linear in u, so J t = d/du <g(u), t>: one backward with
create_graph and one more pass through that small graph. The op runs once
for its result and once more (same random state) on inputs that require
grad, for the graph its JVP is read from. Costly, and exact for every op
whose backward is differentiable, to any order.

Recording finds this module through the dispatch modes (dispatch.py) while a
level is open; the work is all here. As PyTorch's, the tangent of a view is the same view of
its input's tangent, and in-place writes update tangents in place."""
import collections
import weakref

from . import op as _op
from . import dispatch
from .grad_mode import enable_grad, no_grad, set_grad_enabled, state as grad_state

__all__ = ["dual_level", "enter_dual_level", "exit_dual_level", "make_dual", "unpack_dual", "UnpackedDualTensor"]

UnpackedDualTensor = collections.namedtuple("UnpackedDualTensor", ["primal", "tangent"])

_level = None                    # the open level (0), or None
_holders = {}                    # id -> weakref of the tensors holding a tangent at that level


def enter_dual_level():
    """Open the forward AD level (0); returns it."""
    global _level
    if _level is not None:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    _level = 0
    _op._forward_ad = True
    dispatch.push(_MODE)
    return _level


def exit_dual_level(*, level=None):
    """Close the level: every tangent made in it is dropped."""
    global _level
    if level is None:
        level = _level if _level is not None else -1
    if level < 0:
        raise RuntimeError("Dual level must be a positive number.")
    if level != _level:
        raise RuntimeError(f"Trying to exit a forward AD level ({level}) that was not the last one entered "
                           f"({_level}).")
    for ref in list(_holders.values()):
        t = ref()
        if t is not None:
            t.__dict__.pop("_fw", None)
    _holders.clear()
    _level = None
    _op._forward_ad = False
    dispatch.remove(_MODE)


class dual_level:
    """Context manager: the forward AD level, closed on exit."""

    def __enter__(self):
        return enter_dual_level()

    def __exit__(self, *exc):
        exit_dual_level()
        return False


def _check_level(level):
    if level is not None and level != _level:
        raise RuntimeError(f"Invalid dual level {level}: the open level is {_level}")


def tangent_of(t):
    """t's tangent: its own, or for a view without one whose base has one, that view of the base's tangent
    (made when read, as PyTorch's: a view taken before its base had a tangent sees the base's later one)."""
    own = t.__dict__.get("_fw")
    if own is not None or t._base is None:
        return own
    whole = t._base.__dict__.get("_fw")
    if whole is None:
        return None
    from .op import current_view_chain, replay_view
    with set_grad_enabled(grad_state.enabled and whole.requires_grad):
        return replay_view(whole, current_view_chain(t))


def set_tangent(t, tangent):
    t.__dict__["_fw"] = tangent
    _holders[id(t)] = weakref.ref(t, lambda _, key=id(t): _holders.pop(key, None))


def make_dual(tensor, tangent, *, level=None):
    """A view of `tensor` whose tangent is `tangent` (same shape)."""
    from ..tensor import Tensor
    if _level is None:
        raise RuntimeError("Trying to create a dual Tensor for forward AD but no level exists, make sure to "
                           "enter_dual_level() first.")
    _check_level(level)
    for name, t in (("primal", tensor), ("tangent", tangent)):
        if not isinstance(t, Tensor):
            raise TypeError(f"make_dual(): expected {name} to be a Tensor, got {type(t).__name__}")
        if not t.dtype.is_floating_point:
            raise ValueError(f"Expected {name} to be floating point or complex, but got: torch.{t.dtype.name}")
    if tuple(tangent.shape) != tuple(tensor.shape):
        raise RuntimeError("Trying to set a forward gradient that has a different size than that of the original "
                           f"Tensor, this is not supported. Tensor is of size {list(tensor.shape)} while the given "
                           f"forward gradient is of size {list(tangent.shape)}.")
    if tangent.device != tensor.device:
        raise RuntimeError(f"make_dual(): the tangent is on {tangent.device} and the primal on {tensor.device}")
    if tangent.dtype != tensor.dtype:
        tangent = tangent.to(tensor.dtype)
    dual = _without_tangents((tensor,), lambda: tensor.view_as(tensor))
    set_tangent(dual, tangent)
    return dual


def unpack_dual(tensor, *, level=None):
    """(primal, tangent): a view of `tensor` without its tangent, and the tangent (None if it has none)."""
    _check_level(level)
    tangent = tangent_of(tensor) if _level is not None else None
    if tangent is None:
        return UnpackedDualTensor(tensor, None)
    return UnpackedDualTensor(_without_tangents((tensor,), lambda: tensor.view_as(tensor)), tangent)


def _without_tangents(tensors, fn):
    """fn() with the tensors' tangents, and their bases', set aside (so its ops do not propagate them)."""
    holders = list(tensors) + [b for b in (getattr(t, "_base", None) for t in tensors) if b is not None]
    kept = [t.__dict__.pop("_fw", None) for t in holders]
    try:
        return fn()
    finally:
        for t, tangent in zip(holders, kept):
            if tangent is not None:
                t.__dict__["_fw"] = tangent


# ---- ops: called by op.py's apply functions when an input has a tangent ------------

class _DualMode(dispatch.Mode):
    """The ops with an input carrying a tangent (inner to the profiler and autocast: they see the op once)."""
    order = 20

    def wants(self, cls, tensors):
        return _op._any_tangent(tensors)

    def run(self, apply, cls, tensors, attrs):
        return dual_apply(apply, tensors, attrs, cls.jvp)


_MODE = _DualMode()


def dual_apply(apply, tensors, attrs, formula=None):
    """apply(*tensors, *attrs), its outputs given the JVP of the inputs' tangents (by the op's own
    forward formula where it has one)."""
    tangents = [tangent_of(t) for t in tensors]
    rng = tensors[0]._backend.get_rng_state()
    out = _without_tangents(tensors, lambda: apply(*tensors, *attrs))
    outs = out if type(out) is tuple else (out,)
    first = outs[0]
    if first._base is not None and first._view_of is not None and first._view_of[0] is tensors[0]:
        # a view op: its tangent is the same view of the input's tangent (writes through either show in both)
        return _view_tangents(out, outs, tangents[0])
    if formula is not None:
        out_tangents = _without_tangents(tensors, lambda: _by_formula(formula, outs, tensors, tangents, attrs))
    else:
        out_tangents = _without_tangents(tensors, lambda: _jvp_same_draws(apply, tensors, tangents, attrs, rng))
    for i, (o, tangent) in enumerate(zip(outs, out_tangents)):
        if tangent is not None:
            set_tangent(o, _writable(tangent))
            if getattr(o._node, "save_result", False):
                _remember_result_tangent(o._node, i, o.__dict__["_fw"])
    return out


def _remember_result_tangent(node, i, tangent):
    """A node that saves its output keeps the output's tangent too: a recorded backward unpacks that output
    as a new tensor (op.saved_output), which must carry it (forward-over-reverse through exp, prod, ...)."""
    kept = node.__dict__.get("_fw")
    if kept is None:
        kept = node.__dict__["_fw"] = {}
        _holders[id(node)] = weakref.ref(node, lambda _, key=id(node): _holders.pop(key, None))
    kept[i] = tangent


def saved_result_tangent(node, i):
    """The tangent of node's saved output i (None if it has none at the open level)."""
    kept = node.__dict__.get("_fw")
    return None if kept is None else kept.get(i)


def _by_formula(formula, outs, tensors, tangents, attrs):
    """The op's forward formula (Op.jvp), in the outputs' dtypes; with a graph where grad mode and
    the primals or tangents ask for one (forward-over-reverse)."""
    from ..creation import zeros_like
    filled = [zeros_like(t) if tg is None else tg for t, tg in zip(tensors, tangents)]
    got = formula(outs[0] if len(outs) == 1 else outs, tensors, filled, *attrs)
    got = got if type(got) is tuple else (got,)
    return [None if g is None or not o.dtype.is_floating_point else g if g.dtype == o.dtype else g.to(o.dtype)
            for o, g in zip(outs, got)]


def _writable(tangent):
    """A tangent the transposed backward left as a broadcast (expanded or read-only) view, as memory
    of its own: a later in-place op on the result writes into its tangent."""
    arr = tangent._data
    writeable = getattr(arr.flags, "writeable", True)        # (CuPy's arrays always are)
    if writeable and not any(st == 0 and k > 1 for st, k in zip(arr.strides, arr.shape)):
        return tangent
    return tangent.clone()


def _view_tangents(out, outs, tangent):
    from .op import replay_view
    with set_grad_enabled(grad_state.enabled and tangent.requires_grad):
        for o in outs:
            _, cls, attrs = o._view_of
            set_tangent(o, replay_view(tangent, [(cls, attrs)]))
    return out


def _jvp_same_draws(apply, tensors, tangents, attrs, rng):
    """_jvp, its run of the op drawing what the first run drew (the generator left as that run left it),
    with no saved-tensor hooks."""
    from .saved_hooks import suspended
    backend = tensors[0]._backend
    after = backend.get_rng_state()
    backend.set_rng_state(rng)
    try:
        with suspended():                # (the graph it reads the JVP from is not the user's: no pack hooks)
            return _jvp(apply, tensors, tangents, attrs)
    finally:
        backend.set_rng_state(after)


def _jvp(apply, tensors, tangents, attrs):
    """J t for each output of apply at tensors, by the transpose of the op's VJP."""
    from .. import autograd
    from ..creation import zeros_like
    outer_grad = grad_state.enabled
    with enable_grad():
        # one graph input per position (x * x: two), differentiable in t where t requires grad
        # (so the tangent is too: forward-over-reverse)
        xs = [t if tg is None else t.view_as(t) if t._rg else t.detach().requires_grad_()
              for t, tg in zip(tensors, tangents)]
        ys = apply(*xs, *attrs)
        ys = ys if type(ys) is tuple else (ys,)
        floating = [i for i, y in enumerate(ys) if y.dtype.is_floating_point and y.requires_grad]
        result = [None] * len(ys)
        if not floating:
            return result
        us = [zeros_like(ys[i]).requires_grad_() for i in floating]
        wrt = [x for x, tg in zip(xs, tangents) if tg is not None]
        gs = autograd.grad([ys[i] for i in floating], wrt, grad_outputs=us, create_graph=True, allow_unused=True)
        total = None
        for g, tg in zip(gs, [tg for tg in tangents if tg is not None]):
            if g is not None:
                term = (g * tg).sum()
                total = term if total is None else total + term
        keep_graph = outer_grad and (any(t.requires_grad for t in tensors) or
                                     any(tg is not None and tg.requires_grad for tg in tangents))
        if total is not None and total.requires_grad:
            js = autograd.grad(total, us, allow_unused=True, create_graph=keep_graph)
        else:
            js = [None] * len(us)
        for i, u, j in zip(floating, us, js):
            result[i] = (zeros_like(u) if j is None else j if keep_graph else j.detach())
    return result


def function_apply(cls, ctx, args, kwargs):
    """A custom Function on dual inputs: forward sees the primals, and cls.jvp(ctx, *tangents) gives the
    outputs' tangents (zeros for a tensor input without one, None for other arguments), as PyTorch's."""
    from ..tensor import Tensor
    from ..creation import zeros_like
    tensors = [a for a in args if isinstance(a, Tensor)]
    if cls.jvp_from_backward:
        return _function_by_transpose(cls, args, kwargs)
    if cls.jvp is _function_base().jvp:
        _function_base().jvp(ctx)                      # (PyTorch's NotImplementedError)
    tangents = [tangent_of(a) if isinstance(a, Tensor) else None for a in args]
    tangents = [zeros_like(a) if tangent is None and isinstance(a, Tensor) else tangent
                for a, tangent in zip(args, tangents)]
    out = _without_tangents(tensors, lambda: cls._apply_with(ctx, args, kwargs))
    ctx._in_jvp = True
    try:
        out_tangents = cls.jvp(ctx, *tangents)
    finally:
        ctx._in_jvp = False
    outs = out if type(out) is tuple else (out,)
    out_tangents = out_tangents if type(out_tangents) is tuple else (out_tangents,)
    if len(out_tangents) != len(outs):
        raise RuntimeError(f"{cls.__name__}.jvp: returned {len(out_tangents)} tangents for {len(outs)} outputs")
    for o, tangent in zip(outs, out_tangents):
        if isinstance(o, Tensor) and tangent is not None:
            set_tangent(o, tangent)
    return out


def _function_by_transpose(cls, args, kwargs):
    """The library's own Functions (jvp_from_backward: their backward is made of differentiable ops):
    the JVP by the transpose of that backward, as for any op."""
    from ..tensor import Tensor
    from .function import FunctionCtx
    positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]

    def run(*tensors):
        full = list(args)
        for i, t in zip(positions, tensors):
            full[i] = t
        return cls._apply_with(FunctionCtx(), tuple(full), kwargs)
    return dual_apply(run, [args[i] for i in positions], ())


def _function_base():
    from .function import Function
    return Function


def check_inplace_write(t, res):
    """An in-place write of `res` into `t` under forward AD: t's tangent takes res's tangent's values in
    place, as PyTorch's (the views of that tangent see it, and the tangent of a view is a view of its
    base's); a view without a tangent of its own writes into its base's (made zeros if it has none)."""
    tangent = res.__dict__.get("_fw")
    own = t.__dict__.get("_fw")
    base = t._base
    if tangent is None and own is None and (base is None or base.__dict__.get("_fw") is None):
        return
    graph = tangent is not None and tangent.requires_grad
    if own is not None and not own.requires_grad and not graph:
        _write(own, tangent)
        return
    if own is not None and own.grad_fn is None and own.requires_grad:
        take_tangent(t, res)             # (a tangent the user made a leaf requiring grad is replaced)
        return
    if own is not None:
        # written in place, so the views of this tangent (and, for a view, its base's) see it, as PyTorch's;
        # replacing it would part them. Recorded where the tangent has a graph to take the write and grad mode
        # is on (a tangent made without one, or a view of such, takes the values: its gradient then misses
        # the new part)
        from ..creation import zeros_like
        with enable_grad() if own.grad_fn is not None and grad_state.enabled else no_grad():
            own.copy_(zeros_like(own) if tangent is None else tangent)
        return
    if base is None:
        take_tangent(t, res)
        return
    whole = base.__dict__.get("_fw")
    from ..creation import zeros_like
    if whole is None:
        whole = zeros_like(base)
        set_tangent(base, whole)
    from .op import current_view_chain, replay_view
    # (recorded: the base's tangent takes the write's history; a leaf tangent requiring grad refuses it with
    # PyTorch's error for a view of a leaf)
    recorded = (graph or whole.requires_grad) and grad_state.enabled      # (a write under no_grad records none)
    with enable_grad() if recorded else no_grad():
        region = replay_view(whole, current_view_chain(t))
        region.copy_(zeros_like(region) if tangent is None else tangent)
    set_tangent(t, region)


def tangent_before_write(t):
    """A copy of t's tangent as it stands (None if it has none): what the copy of t's old values saved for
    backward carries."""
    tangent = tangent_of(t)
    return None if tangent is None else tangent.clone()


def _write(target, tangent):
    """target[...] = tangent (zeros for None), recorded nowhere."""
    with no_grad():
        target.zero_() if tangent is None else target.copy_(tangent)


def take_tangent(t, res):
    """t (changed in place into res's values or layout) takes res's tangent."""
    tangent = res.__dict__.get("_fw")
    if tangent is None:
        t.__dict__.pop("_fw", None)
    else:
        set_tangent(t, tangent)
