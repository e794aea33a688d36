"""Custom ops: subclass `Function` with static `forward(ctx, ...)` and
`backward(ctx, *grads)`, call `MyFn.apply(...)`. Unlike built-in ops, both
halves work on Tensors; the node is named `MyFnBackward`. As in PyTorch 2,
forward may instead take only the inputs, with a static
`setup_context(ctx, inputs, output)` filling ctx."""
import functools
import inspect
import weakref

from .graph import Node, FREED_MSG
from .grad_mode import state as grad_state
from . import op as _op
from . import saved_hooks as _saved_hooks


class FunctionCtx:
    """The `ctx` passed to forward and backward."""

    def __init__(self):
        self._saved = None
        self._saved_versions = None
        self._freed = False
        self._non_diff = set()
        self._dirty = ()
        self.materialize_grads = True
        self.needs_input_grad = ()
        self._node_ref = None           # weak: node -> ctx is the strong direction
        self._saved_forward = ()        # save_for_forward's tensors
        self._in_jvp = False

    @property
    def _node(self):
        return self._node_ref() if self._node_ref is not None else None

    def save_for_backward(self, *tensors):
        # checked in Function.apply, as PyTorch: only where the call is recorded
        self._saved = tensors
        self._saved_versions = tuple(getattr(t, "_vc", (None,))[0] for t in tensors)

    @property
    def saved_tensors(self):
        if self._in_jvp:
            return self._saved_forward
        if self._freed:
            raise RuntimeError(FREED_MSG)
        if self._saved is None:
            return ()
        if _saved_hooks.is_packed(self._saved):
            return _saved_hooks.unpack_function_saved(self._saved)
        out = []
        for i, (t, ver) in enumerate(zip(self._saved, self._saved_versions)):
            if isinstance(t, _SavedOutput):
                if t.vc[0] != ver:
                    raise _op._version_error_for(self._node, t.data, t.index, ver, t.vc[0])
                t = _op.saved_output(self._node, t.data, t.index)
            elif t is not None and t._vc[0] != ver:
                raise _op.saved_input_version_error(t, ver)
            out.append(t)
        return tuple(out)

    def save_for_forward(self, *tensors):
        """Tensors jvp reads (as saved_tensors, while it runs)."""
        self._saved_forward = tensors

    def mark_non_differentiable(self, *tensors):
        self._non_diff.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors):
        self._dirty = tensors

    def set_materialize_grads(self, value):
        self.materialize_grads = bool(value)


class _SavedOutput:
    """An output saved for backward, held as data so the node does not keep
    its own output alive (no reference cycle)."""
    __slots__ = ("data", "vc", "index")

    def __init__(self, t, index):
        self.data, self.vc, self.index = t._data, t._vc, index


def _check_dirty(cls, dirty, outs, tensors_in, recording):
    """PyTorch's rules for inputs a Function marked as written in place."""
    for t in dirty:
        if not _op._any_is(outs, t):
            raise RuntimeError("Some elements marked as dirty during the forward method were not returned as "
                               "output. The inputs that are modified inplace must all be outputs of the Function.")
        if recording:
            _op.check_inplace(t, cls.__name__)
            err = _op.view_meta_error(t, cls.__name__) if t._base is not None and not t._rg else None
            if err is not None:          # (check_inplace checks the views that require grad)
                raise err
            if t._base is not None and len(outs) > 1:
                raise RuntimeError(f"{cls.__name__}: If your Function modifies inplace an input that is a view "
                                   "of another Tensor, your Function cannot return more than one Tensor. You "
                                   "should either make sure the input is not a view (using .clone() for "
                                   "example) or make your Function only return one Tensor.")


def _check_save_for_backward(saved, Tensor):
    """PyTorch's _save_variables: only tensors (or None) may be saved."""
    for i, t in enumerate(saved):
        if t is not None and not isinstance(t, Tensor):
            raise TypeError(f"save_for_backward can only save variables, but argument {i} is of type "
                            f"{type(t).__name__}")


def _check_backward_result(node, res, Tensor):
    """PyTorch's PyNode::apply checks of what a custom backward returned, all
    made before any gradient flows on: one gradient per forward argument
    (extra trailing Nones are dropped), each a Tensor or None, None for every
    argument that was not a tensor."""
    n = node.n_args
    if len(res) > n and all(g is None for g in res[n:]):
        res = res[:n]
    if len(res) != n:
        raise RuntimeError(f"function {node._name} returned an incorrect number of gradients "
                           f"(expected {n}, got {len(res)})")
    positions = node.tensor_positions
    for i, g in enumerate(res):
        if g is None:
            continue
        if i not in positions:
            raise RuntimeError(f"function {node._name} returned a gradient different than None at position "
                               f"{i + 1}, but the corresponding forward input was not a Variable")
        if not isinstance(g, Tensor):
            raise RuntimeError(f"function {node._name}: expected Variable or None (got {type(g).__name__}) "
                               f"as the gradient of input {i}")


class BackwardFunction(Node):
    """The node of a custom Function call."""

    def _apply(self, grads, create_graph):
        from ..tensor import Tensor
        if self.n_outputs == 1:
            grads = [grads]
        ctx = self.ctx
        bk = self._backend
        gt = []
        for g, (shape, dt) in zip(grads, self._out_meta):
            if g is None:
                g = Tensor._make(bk.xp.zeros(shape, dtype=dt), bk) if ctx.materialize_grads else None
            elif not create_graph:
                g = Tensor._make(_op.as_array(g, bk), bk)
            gt.append(g)
        res = self.fn_cls.backward(ctx, *gt)
        if not isinstance(res, tuple):
            res = (res,)
        _check_backward_result(self, res, Tensor)
        out = []
        for pos in self.tensor_positions:
            g = res[pos]
            out.append(g if (g is None or create_graph) else g._data)
        return tuple(out)

    def _release(self):
        self._saved = None
        if self.ctx._saved:
            self.ctx._saved = None
            self.ctx._freed = True


class FunctionMeta(type):
    def __init__(cls, name, bases, ns):
        super().__init__(name, bases, ns)
        cls._backward_cls = type(name + "Backward", (BackwardFunction,),
                                 {"_name": name + "Backward", "fn_cls": cls})


class Function(metaclass=FunctionMeta):
    """Base class of custom autograd ops."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement the backward function for custom autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError("setup_context is not implemented.")

    jvp_from_backward = False    # (the library's own Functions: forward AD by the transpose of backward)

    @staticmethod
    def jvp(ctx, *grad_inputs):
        raise NotImplementedError("You must implement the jvp function for custom autograd.Function to use it with "
                                  "forward mode AD.")

    @classmethod
    def apply(cls, *args, **kwargs):
        if _op._intercept:               # (a dispatch mode is on: a profiler records the call as one event)
            from .profiler import function_call
            return function_call(cls, cls._apply_unprofiled, args, kwargs)
        return cls._apply_unprofiled(args, kwargs)

    @classmethod
    def _apply_unprofiled(cls, args, kwargs):
        ctx = FunctionCtx()
        if _op._forward_ad and _op._any_tangent(args):
            from .forward_ad import function_apply
            return function_apply(cls, ctx, args, kwargs)
        return cls._apply_with(ctx, args, kwargs)

    @classmethod
    def _apply_with(cls, ctx, args, kwargs):
        from ..tensor import Tensor
        separate = cls.setup_context is not Function.setup_context
        if separate:                  # inputs as forward's signature binds them, defaults included (PyTorch's)
            bound = inspect.signature(cls.forward).bind(*args, **kwargs)
            bound.apply_defaults()
            args, kwargs = tuple(bound.args), {}
        tensor_positions = tuple(i for i, a in enumerate(args) if isinstance(a, Tensor))
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a._rg for a in args)
        prev = grad_state.enabled
        grad_state.enabled = False
        try:
            if separate:
                outputs = cls.forward(*args)
                cls.setup_context(ctx, args, outputs)
            else:
                outputs = cls.forward(ctx, *args, **kwargs)
        finally:
            grad_state.enabled = prev
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        tensors_in = [args[i] for i in tensor_positions]
        recording = prev and any(t._rg for t in tensors_in)
        if ctx._saved:
            if recording:
                _check_save_for_backward(ctx._saved, Tensor)
            else:                         # as PyTorch: nothing is kept (saved_tensors is ())
                ctx._saved = ctx._saved_versions = None
        dirty = ctx._dirty
        if dirty:
            _check_dirty(cls, dirty, outs, tensors_in, recording)
            for t in dirty:               # as PyTorch: marking bumps the version once more
                t._vc[0] += 1
        # an output that is an input (or a view of one) gets a fresh tensor object,
        # unless the Function wrote it in place: then it is the input itself where
        # it has no history to lose or takes the node's (PyTorch's _wrap_outputs)
        fresh = []
        for o in outs:
            if dirty and _op._any_is(dirty, o) and (
                    not o._rg or (recording and id(o) not in ctx._non_diff and o._data.dtype.kind == "f")):
                pass
            elif isinstance(o, Tensor) and (any(o is args[i] for i in tensor_positions) or o._node is not None
                                            or o._rg):
                d = Tensor._make(o._data, o._backend)
                d._vc = o._vc
                o = d
            fresh.append(o)
        outs = tuple(fresh)
        if recording:
            node = cls._backward_cls()
            node.ctx = ctx
            ctx._node_ref = weakref.ref(node)
            node.n_args = len(args)
            node.tensor_positions = tensor_positions
            node.next_functions = tuple(_op.edge(t) for t in tensors_in)
            node._seq = _op._next_seq()
            node.n_outputs = len(outs)
            if len(outs) > 1:
                node._slow = True            # (a list of grads: the engine's slow path)
            node._backend = tensors_in[0]._backend
            meta, written = [], []
            for i, o in enumerate(outs):
                if isinstance(o, Tensor):
                    meta.append((o._data.shape, o._data.dtype))
                    if id(o) not in ctx._non_diff and o._data.dtype.kind == "f":
                        if _op._any_is(dirty, o):
                            written.append((o, i))
                        else:
                            o._node, o._output_nr, o._rg = node, i, True
                else:
                    meta.append(((), None))
            node._out_meta = tuple(meta)
            for o, i in written:
                # the input written in place takes the node as its history (a view: its base a CopySlices)
                k = next(j for j, t in enumerate(tensors_in) if t is o)
                _op.rebase_history(o, node, i, view_input=k)
            if ctx._saved:
                node._saved = True              # tells the engine to release it after backward
                out_index = {id(o): i for i, o in enumerate(outs)}
                ctx._saved = tuple(_SavedOutput(t, out_index[id(t)]) if id(t) in out_index else t
                                   for t in ctx._saved)
                # versions as the call returns (PyTorch saves then), after the writes' bumps
                ctx._saved_versions = tuple(None if t is None else t.vc[0] if type(t) is _SavedOutput
                                            else t._vc[0] for t in ctx._saved)
                if _op._packing:
                    _op._pack(node)
        return outs[0] if single else outs


class _DelayedError(Function):
    """Passes a value on; differentiating through it raises (once_differentiable's results)."""

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("trying to differentiate twice a function that was marked with @once_differentiable")


def once_differentiable(backward):
    """Decorates a Function's backward that is not itself differentiable: it
    runs without recording, and under create_graph its results refuse a
    second differentiation (PyTorch's torch.autograd.function.once_differentiable)."""
    from ..tensor import Tensor

    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        recording = grad_state.enabled and any(isinstance(g, Tensor) and g._rg for g in grads)
        prev = grad_state.enabled
        grad_state.enabled = False
        try:
            out = backward(ctx, *grads)
        finally:
            grad_state.enabled = prev
        if not recording:
            return out
        single = not isinstance(out, tuple)
        # (each result a leaf that requires grad behind an error node, so that only differentiating it fails)
        marked = tuple(_DelayedError.apply(r.detach().requires_grad_()) if isinstance(r, Tensor)
                       and r._data.dtype.kind == "f" else r for r in ((out,) if single else out))
        return marked[0] if single else marked
    return wrapper
