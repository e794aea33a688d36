"""Built-in ops: each op is a Node subclass whose `forward` (arrays in, arrays
out) and `backward` (grads and saved values in, input grads out) sit side by
side. Applying an op to tensors records the node when grad mode is on and an
input requires grad; this module is that recording, plus the bookkeeping of
views and in-place writes, in one place.

Backward formulas are written with the primitives of `ops/prims.py`, so the
same formula runs on arrays (the fast path) or on Tensors (under
`create_graph=True`, where the backward pass is itself recorded)."""
import weakref

import numpy as np

from .graph import Node, AccumulateGrad, FREED_MSG, version_error, next_sequence_nr as _next_seq
from .grad_mode import state as grad_state

Tensor = None              # bound by autograd_gpu.tensor
_ndarray = np.ndarray
_new = object.__new__
_wref = weakref.ref
NO_EDGE = (None, 0)
_packing = False           # saved-tensor hooks are open in some thread (saved_hooks sets it)
_watching_writes = False   # allow_mutation_on_saved_tensors is open in some thread (saved_hooks sets it)
_forward_ad = False        # a forward AD level is open (forward_ad sets it): in-place writes update tangents
_intercept = False         # some dispatch mode is on: forward AD, the profiler, autocast (dispatch.py sets it)


def _pack(node):
    from .saved_hooks import pack_node
    pack_node(node)


def _mode_for(cls, tensors):
    from .dispatch import mode_for
    return mode_for(cls, tensors)


def _any_tangent(tensors):
    for t in tensors:
        if getattr(t, "_fw", None) is not None or getattr(getattr(t, "_base", None), "_fw", None) is not None:
            return True          # (a view's tangent may be its base's, seen through it: forward_ad.tangent_of)
    return False


def edge(t):
    """The (node, output_nr) through which gradient reaches tensor `t`."""
    node = t._node
    if node is not None:
        if t._base is not None and t._vc[0] != t._view_ver:
            node = refresh_view(t)
        return (node, t._output_nr)
    if t._rg:
        ref = t._acc
        if ref is None:
            if t._base is not None:      # a view that is a leaf (never cached in _acc)
                return view_leaf_edge(t)
        else:
            acc = ref()
            if acc is not None:
                return (acc, 0)
        acc = AccumulateGrad(t)          # the leaf's first graph, or its last one died
        t._acc = _wref(acc)
        return (acc, 0)
    return NO_EDGE


def as_array(y, backend):
    # NumPy ufuncs return scalars for 0-d input; tensors always hold arrays.
    return y if type(y) is _ndarray or backend.is_cuda else np.asarray(y)


class Op(Node):
    """Base of built-in ops. Class attributes describe the op:

    _name          libtorch's grad_fn name (MulBackward0)
    op_name        the user-facing name, for error messages (mul)
    save_inputs    indices of the inputs that backward receives
    save_result    whether backward receives the output
    is_view        the output shares memory with input 0
    differentiable False for ops whose output never requires grad
    nondiff_outputs  for ops returning a tuple: indices of outputs without grad
    saved_for      optional, per saved input: the inputs whose gradient needs it
                   (Mul: ((1,), (0,))). A saved input that no needed gradient
                   uses is neither version-checked nor passed (None): PyTorch
                   does not save it, so modifying it in place is no error.
                   (Outputs are always saved, as PyTorch saves them.)
    jvp            optional: jvp(out, inputs, tangents, *attrs), the outputs' tangents
                   by PyTorch's forward formula, made of differentiable ops (tangents:
                   zeros for inputs without one). Only where that formula and the
                   transpose of PyTorch's backward (the default JVP) disagree: at
                   ties, NaNs, zeros and empty reductions.

    forward returns an array, or a tuple of arrays for several outputs.
    """
    op_name = "op"
    save_inputs = ()
    save_result = False
    is_view = False
    differentiable = True
    nondiff_outputs = ()
    saved_for = None
    jvp = None
    _result_ver = 0      # the version of the saved output when saved
    _aux = None          # arrays derived in forward for backward (set with _saved = ())
    _kept = ()           # tensors backward reads that are attributes, not inputs (see keep)
    _kept_versions = ()
    _freed = False

    # ---- recording ----------------------------------------------------------
    # Every op class gets its own apply1/apply2 (made by _make_apply1/2 when the
    # class is defined), with the class's flags baked in: the per-op hot path
    # is one Python frame plus the op's forward.

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not hasattr(cls, "forward"):          # an abstract family base (Unary, Reduction)
            return
        cls.apply1 = staticmethod(_make_apply1(cls))
        cls.apply2 = staticmethod(_make_apply2(cls))

    @classmethod
    def applyN(cls, inputs, *attrs):
        """Apply to any number of tensor inputs (a sequence)."""
        inputs = tuple(inputs)
        if _intercept:
            mode = _mode_for(cls, inputs)
            if mode is not None:
                n = len(inputs)
                return mode.run(lambda *args: cls.applyN(args[:n], *args[n:]), cls, inputs, attrs)
        bk = inputs[0]._backend
        rg = False
        for t in inputs:
            if t._backend is not bk:
                raise device_mismatch(cls.op_name, inputs[0], t)
            rg = rg or t._rg
        node = _new(cls)
        try:
            y = node.forward(*[t._data for t in inputs], *attrs)
        except (ValueError, TypeError, IndexError, OverflowError, MemoryError) as e:
            raise node._error(e, inputs) from None
        if type(y) is tuple:
            return node._wrap_many(y, inputs, attrs)
        out = Tensor._make(as_array(y, bk), bk)
        if cls.is_view:
            _mark_view(out, inputs[0], cls, attrs)
        if rg and grad_state.enabled and cls.differentiable:
            node.next_functions = tuple([edge(t) for t in inputs])
            node._seq = _next_seq()
            node._record(out, inputs)
            if _packing:
                _pack(node)
        return out

    promotes = False     # apply2 casts both inputs to PyTorch's result dtype (cls.promote)
    moves_device = False  # forward sets self.out_backend (the output lives elsewhere: .to(device))
    out_backend = None

    def _record(self, out, inputs):
        d = out._data
        self._out_meta = ((d.shape, d.dtype),)
        self._backend = out._backend
        out._node = self
        out._rg = True
        si = self.save_inputs
        if si:
            if len(si) == 1:
                t = inputs[si[0]]
                self._saved = (t,)
                self._versions = (t._vc[0],)
            else:
                self._saved = saved = tuple([inputs[i] for i in si])
                self._versions = tuple([t._vc[0] for t in saved])
        if self.save_result:
            self._result = d
            self._result_vc = out._vc          # its version was 0 when saved

    def _wrap_many(self, ys, inputs, attrs):
        bk = inputs[0]._backend
        outs = tuple(Tensor._make(as_array(y, bk), bk) for y in ys)
        self.n_outputs = len(outs)
        if len(outs) > 1:
            self._slow = True                # (a list of grads: the engine's slow path)
        if self.is_view:
            # output i re-derives from its base as the i-th piece: OutputOf(cls, attrs, i)
            for i, o in enumerate(outs):
                _mark_view(o, inputs[0], _Piece, (type(self), attrs, i))
        if grad_state.enabled and self.differentiable and any(t._rg for t in inputs):
            self.next_functions = tuple(edge(t) for t in inputs)
            self._seq = _next_seq()
            self._out_meta = tuple((o._data.shape, o._data.dtype) for o in outs)
            self._backend = bk
            nd = self.nondiff_outputs
            for i, o in enumerate(outs):
                if i not in nd:
                    o._node, o._output_nr, o._rg = self, i, True
            si = self.save_inputs
            if si:                     # (a node that saves nothing is never freed: split walks again)
                self._saved = tuple(inputs[i] for i in si)
                self._versions = tuple(t._vc[0] for t in self._saved)
            if self.save_result:
                self._result = tuple(o._data for o in outs)
                self._result_vc = tuple(o._vc for o in outs)
                self._result_ver = tuple(o._vc[0] for o in outs)
            if _packing:
                _pack(self)
        return outs

    def _error(self, exc, inputs):
        """Turn a NumPy/CuPy error in forward into PyTorch's exception type,
        naming the op and the shapes involved."""
        msg = str(exc)
        shapes = ", ".join(str(list(t.shape)) for t in inputs)
        if isinstance(exc, IndexError):
            return IndexError(f"{self.op_name}: {msg}")
        if "broadcast" in msg or "shape" in msg or "size" in msg or "dimension" in msg:
            return RuntimeError(f"{self.op_name}: {msg} (input shapes: {shapes})")
        kind = TypeError if isinstance(exc, TypeError) else RuntimeError
        return kind(f"{self.op_name}: {msg} (input shapes: {shapes})")

    # ---- backward ------------------------------------------------------------
    @property
    def needs_input_grad(self):
        return tuple(n is not None for n, _ in self.next_functions)

    def needs(self, i):
        return self.next_functions[i][0] is not None

    def _unpack(self, create_graph):
        """The saved values backward receives: arrays, or Tensors under
        create_graph. Raises if the graph was freed or a saved tensor was
        modified in place since it was saved."""
        if self._freed:
            if self._saved_nothing():
                return [None] * len(self.save_inputs)       # (nothing was freed: PyTorch walks again)
            raise RuntimeError(FREED_MSG)
        vals = []
        saved = self._saved
        if saved:
            versions = self._versions
            saved_for = self.saved_for
            nf = self.next_functions
            for i in range(len(saved)):
                t = saved[i]
                if saved_for is not None:
                    for j in saved_for[i]:
                        if nf[j][0] is not None:
                            break
                    else:
                        vals.append(None)        # not saved by PyTorch: no version check
                        continue
                if t._vc[0] != versions[i]:
                    raise saved_input_version_error(t, versions[i])
                vals.append(t if create_graph else t._data)
        if self.save_result:
            if self.n_outputs == 1:
                if self._result_vc[0] != self._result_ver:
                    raise _version_error_for(self, self._result, 0, self._result_ver, self._result_vc[0])
                r = self._result
                vals.append(_with_result_tangent(self, saved_output(self, r, 0), 0) if create_graph else r)
            else:
                for i, (r, vc, ver) in enumerate(zip(self._result, self._result_vc, self._result_ver)):
                    if vc[0] != ver:
                        raise _version_error_for(self, r, i, ver, vc[0])
                    vals.append(_with_result_tangent(self, Tensor._make_output(r, self, i), i) if create_graph
                                else r)
        return vals

    def _saved_nothing(self):
        """Whether PyTorch's node saved nothing here: its generated code saves an input that one gradient
        formula alone reads only when that gradient is needed (MulBackward0 with no input taking a
        gradient saves neither), the others always, and outputs always."""
        sf = self.saved_for
        if sf is None or self.save_result:
            return False
        nf = self.next_functions
        return all(len(s) == 1 and nf[s[0]][0] is None for s in sf)

    def _apply(self, g, create_graph):
        saved = self._saved
        if create_graph or self._freed or self.n_outputs != 1:
            vals = self._unpack(create_graph) if (saved or self.save_result or self._freed) else ()
            r = self.backward(g, *vals)
        elif not saved:                          # None, or () when only _aux was kept
            if self.save_result:                 # the common "backward reads the output" case
                if self._result_vc[0] != self._result_ver:
                    self._unpack(False)          # raises the version error
                r = self.backward(g, self._result)
            else:
                r = self.backward(g)
        elif len(saved) == 1 and not self.save_result:
            t = saved[0]
            if t._vc[0] != self._versions[0]:
                self._unpack(False)
            r = self.backward(g, t._data)
        else:
            r = self.backward(g, *self._unpack(False))
        return r if type(r) is tuple else (r,)

    def keep(self, tensors):
        """Save attribute tensors backward reads (where's condition, index
        tensors), as PyTorch saves them: a later in-place write to one is a
        version error, and once the graph is freed a second backward raises
        the retain_graph error. (They stay referenced until the node dies,
        like the arrays it holds.)"""
        if self._saved is None:
            self._saved = ()                      # so the engine releases us
        self._kept = tensors
        self._kept_versions = tuple([t._vc[0] for t in tensors])

    def check_kept(self):
        """In backward: raise if a kept tensor was written in place since."""
        for t, v in zip(self._kept, self._kept_versions):
            if t._vc[0] != v:
                raise saved_input_version_error(t, v)

    def _release(self):
        if self._saved is not None or self._result is not None:
            self._saved = None
            self._result = None
            self._aux = None
            self._freed = True


def _make_apply1(cls):
    """cls.apply1(x, *attrs): run the op on one tensor, recording the node when
    x requires grad and grad mode is on."""
    forward, view, moves = cls.forward, cls.is_view, cls.moves_device
    diff, save_x, save_y = cls.differentiable, bool(cls.save_inputs), cls.save_result

    def apply1(input, *attrs):
        if _intercept:
            mode = _mode_for(cls, (input,))
            if mode is not None:
                return mode.run(apply1, cls, (input,), attrs)
        node = cls()
        try:
            y = forward(node, input._data, *attrs)
        except (ValueError, TypeError, IndexError, OverflowError, MemoryError) as e:
            raise node._error(e, (input,)) from None
        except AttributeError:
            if not isinstance(input, Tensor):        # ag.exp("a"): PyTorch's TypeError, naming the op
                raise TypeError(f"{cls.op_name}(): argument 'input' (position 1) must be Tensor, not "
                                f"{type(input).__name__}") from None
            raise
        b = node.out_backend if moves else input._backend
        if type(y) is not _ndarray and type(y) is not b.array_type:     # (a CuPy array: as is)
            if type(y) is tuple:
                return node._wrap_many(y, (input,), attrs)
            y = as_array(y, b)
        # Tensor._make, inlined: this runs once per op (one call frame less)
        out = _new(Tensor)
        out._data = y
        out._backend = b
        out._vc = [0]
        if view:
            out._node = None
            out._rg = False                      # (_mark_view may set it: a view made under no_grad)
            _mark_view(out, input, cls, attrs)
        if diff and input._rg and grad_state.enabled:
            node.next_functions = (edge(input),)
            node._seq = _next_seq()
            node._out_meta = ((y.shape, y.dtype),)
            node._backend = b
            if save_x:
                node._saved = (input,)
                node._versions = (input._vc[0],)
            if save_y:
                node._result = y
                node._result_vc = out._vc
            out._node = node
            out._rg = True
            if _packing:
                _pack(node)
        elif not view:
            out._node = None
            out._rg = False
        return out
    apply1.__qualname__ = cls.__name__ + ".apply1"
    return apply1


def _make_apply2(cls):
    """cls.apply2(a, b, *attrs): the same for two tensors on one device."""
    forward, diff, promotes, promote = cls.forward, cls.differentiable, cls.promotes, cls.promote
    si, save_y = cls.save_inputs, cls.save_result

    def apply2(a, b, *attrs):
        if _intercept:
            mode = _mode_for(cls, (a, b))
            if mode is not None:
                return mode.run(apply2, cls, (a, b), attrs)
        bk = a._backend
        if b._backend is not bk:
            raise device_mismatch(cls.op_name, a, b)
        node = cls()
        da = a._data
        db = b._data
        if promotes and da.dtype != db.dtype:
            da, db = promote(a, b)
        try:
            y = forward(node, da, db, *attrs)
        except (ValueError, TypeError, IndexError, OverflowError, MemoryError) as e:
            raise node._error(e, (a, b)) from None
        if type(y) is not _ndarray and type(y) is not bk.array_type:
            if type(y) is tuple:
                return node._wrap_many(y, (a, b), attrs)
            y = as_array(y, bk)
        # Tensor._make, inlined: this runs once per op (one call frame less)
        out = _new(Tensor)
        out._data = y
        out._backend = bk
        out._vc = [0]
        if diff and (a._rg or b._rg) and grad_state.enabled:
            node.next_functions = (edge(a), edge(b))
            node._seq = _next_seq()
            node._out_meta = ((y.shape, y.dtype),)
            node._backend = bk
            if si:
                if si == (0, 1):
                    node._saved = (a, b)
                    node._versions = (a._vc[0], b._vc[0])
                else:
                    t = b if si == (1,) else a
                    node._saved = (t,)
                    node._versions = (t._vc[0],)
            if save_y:
                node._result = y
                node._result_vc = out._vc
            out._node = node
            out._rg = True
            if _packing:
                _pack(node)
        else:
            out._node = None
            out._rg = False
        return out
    apply2.__qualname__ = cls.__name__ + ".apply2"
    return apply2


def _version_error_for(node, t_or_array, index, expected, now=None):
    """The error for a saved value modified in place: `t_or_array` is output
    `index` of `node` (None for a leaf: the message then names no node)."""
    if now is None:
        now = t_or_array._vc[0]
    is_tensor = Tensor is not None and isinstance(t_or_array, Tensor)
    arr = t_or_array._data if is_tensor else t_or_array
    from .._dtype import from_numpy_dtype
    bk = t_or_array._backend if is_tensor else node._backend
    prefix = bk.type_prefix if bk is not None else "CPU"
    return version_error(node, index, arr.shape, from_numpy_dtype(arr.dtype).libtorch, prefix, now, expected)


def saved_input_version_error(t, expected):
    # as PyTorch: it names the tensor's own producer now, not the node that saved it
    return _version_error_for(t.grad_fn, t, t._output_nr, expected)


def device_mismatch(op_name, a, b):
    return RuntimeError(
        f"{op_name}: expected all tensors to be on the same device, but found at least two "
        f"devices, {a.device} and {b.device}!")


def promote_arrays(a, b):
    """Cast the data of two tensors to PyTorch's result dtype."""
    from .._dtype import result_type_of
    da, db = a._data, b._data
    r = result_type_of((da, db)).np
    return (da if da.dtype == r else da.astype(r)), (db if db.dtype == r else db.astype(r))


Op.promote = staticmethod(promote_arrays)    # an op may check its operands' dtypes first (Sub: no bool)


# ---- views ----------------------------------------------------------------------

class _Piece:
    """Replays output i of a multi-output view op (split/chunk/unbind)."""

    def __new__(cls):
        return object.__new__(cls)

    def forward(self, x, op_cls, attrs, i):
        return op_cls.__new__(op_cls).forward(x, *attrs)[i]

    @staticmethod
    def apply1(x, op_cls, attrs, i):
        return op_cls.apply1(x, *attrs)[i]


def _mark_view(out, src, cls, attrs):
    """`out` shares memory with `src`: share its version counter and remember
    how to re-derive it from the base (to rebase history after in-place ops).
    A view that gets no node here (its source needs no grad, or grad mode is
    off) is remembered by its base: as in PyTorch, it requires grad whenever
    the base does, and takes the base's history once the base is written."""
    out._vc = src._vc
    base = src._base
    if base is None:
        base = src
    out._base = base
    out._view_of = (src, cls, attrs)
    out._view_ver = src._vc[0]
    if not grad_state.enabled:
        out._nograd = True
        out._rg = base._rg
    elif src._rg:
        return                           # (it gets its node)
    views = base._views
    if views is None or len(views) >= views.cap:
        views = _views_of(base)
    views.append(_wref(out))


class _Views(list):
    """Weak references to the views of a base made without a node of their own."""
    __slots__ = ("cap",)


def _views_of(base):
    """base._views, made or, when full, rid of dead views (amortised O(1) per view)."""
    views = base._views
    if views is None:
        base._views = views = _Views()
    else:
        views[:] = [r for r in views if r() is not None]
    views.cap = max(32, 2 * len(views))
    return views


def views_follow_base(base):
    """`base` now requires grad, or no longer does: its views without a node
    follow it (PyTorch: a view requires grad when it does itself, has a
    grad_fn, or its base requires grad). Those whose base was written since
    they were made take its history when next used (edge, grad_fn).
    (Callers check that base._views is set.)"""
    rg = base._rg
    for r in base._views:
        v = r()
        if v is not None and v._node is None:
            v._rg = rg or v._own_rg


def view_leaf_edge(t):
    """edge() of a view that is a leaf requiring grad. Written since it was
    made (through its base or another view), it takes the base's history.
    Otherwise, as in PyTorch: its own AccumulateGrad where requires_grad_()
    was set on the view itself, none where it requires grad only through its
    base (a view taken under no_grad): the gradient stops there."""
    if t._vc[0] != t._view_ver and t._base._rg:
        return (refresh_view(t), t._output_nr)
    if not t._own_rg:
        return NO_EDGE
    ref = t._view_acc
    acc = ref() if ref is not None else None
    if acc is None:
        acc = AccumulateGrad(t)
        t._view_acc = _wref(acc)
    return (acc, 0)


def view_node(t):
    """grad_fn of view t, whose version moved since its node was derived."""
    if t._node is None and not t._base._rg:
        return None                      # nothing to take from the base
    return refresh_view(t)


def _creation_meta(t):
    """PyTorch's CreationMeta of view t: "no_grad" (made in no_grad mode),
    "multi" (an output of an op returning several views: split, chunk,
    unbind) or None. A view of such a view keeps it unless it has its own
    (the newest counts, as PyTorch propagates it)."""
    while t._base is not None and t._view_of is not None:
        if t._nograd:
            return "no_grad"
        src, cls, _ = t._view_of
        if cls is _Piece:
            return "multi"
        t = src
    return None


def view_meta_error(t, op_name=None):
    """PyTorch's error for writing in place (op_name given) a view it cannot
    rebase, or for a view whose base or sibling view was written (None when
    t may be rebased)."""
    meta = _creation_meta(t)
    if meta is None:
        return None
    what = "is being" if op_name else "its base or another view of its base has been"
    node = t._node
    if node is None:     # (also a multi-output view without a node: made where nothing required grad)
        msg = f"A view was created in no_grad mode and {what} modified inplace with grad mode enabled."
    else:
        who = f"Output {t._output_nr} of {_short_name(node)} is a view"
        if meta == "no_grad":
            msg = (f"{who} of a view which was created in no_grad mode and {what} modified inplace with grad "
                   "mode enabled.")
        else:
            msg = f"{who} and {what} modified inplace."
    if meta == "multi":
        msg += (" This view is the output of a function that returns multiple views. Such functions do not "
                "allow the output views to be modified inplace. You should replace the inplace operation by "
                "an out-of-place one.")
    else:
        msg += (" Given that this use case is ambiguous and error-prone, it is forbidden. You can clarify your "
                "code by moving both the view and the inplace either both inside the no_grad block (if you "
                "don't want the inplace to be tracked) or both outside (if you want the inplace to be tracked).")
    return RuntimeError(f"{op_name}: {msg}" if op_name else msg)


def _short_name(node):
    # PyTorch names the node without its Backward suffix here (Output 0 of Split ...)
    name = node.name()
    i = name.rfind("Backward")
    return name[:i] if i > 0 else name


def view_chain(t):
    """[(cls, attrs), ...] leading from t's base to t."""
    chain = []
    while t._base is not None and t._view_of is not None:
        src, cls, attrs = t._view_of
        chain.append((cls, attrs))
        t = src
    chain.reverse()
    return chain


def current_view_chain(t):
    """view_chain(t), or, where replaying it on the base no longer gives t's
    elements (the base, or a view t was taken from, changed its layout in
    place since: v = y[0]; y.t_()), t's place in the base's memory as one
    view op (StorageView: PyTorch regenerates such a view as as_strided of its
    base). The chain is checked on arrays: no node is made."""
    chain = view_chain(t)
    base, d = t._base._data, t._data
    try:
        v = replay_view(base, chain)
    except (IndexError, ValueError, RuntimeError, TypeError):
        v = None
    if v is not None and _same_elements(v, d):
        return chain
    if d.dtype != base.dtype or (d.size and not np.may_share_memory(d, base)):
        return chain                     # (not in the base's memory: its data was replaced, .data = ...)
    from ..ops.inplace_views import storage_view_chain
    return storage_view_chain(d, base)


def _same_elements(a, b):
    """Whether arrays a and b are the same elements of memory, in the same order."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if not a.size:
        return True
    if _address(a) != _address(b):
        return False
    for sa, sb, n in zip(a.strides, b.strides, a.shape):
        if n > 1 and sa != sb:
            return False
    return True


def replay_view(base, chain):
    """Re-derive a view from `base` (a Tensor or an array) by re-running its view ops."""
    v = base
    for cls, attrs in chain:
        if isinstance(v, Tensor):
            v = cls.apply1(v, *attrs)
        else:
            v = cls.__new__(cls).forward(v, *attrs)
    return v


def refresh_view(t):
    """A view whose base was modified in place takes its history from the base's
    new history (PyTorch regenerates a view's grad_fn the same way), unless it
    is one PyTorch refuses to rebase (made under no_grad, or one of several
    views returned by one op)."""
    if t._base._rg:
        err = view_meta_error(t)
        if err is not None:
            raise err
    chain = current_view_chain(t)
    prev = grad_state.enabled
    grad_state.enabled = True
    try:
        fresh = replay_view(t._base, chain)
    finally:
        grad_state.enabled = prev
    old, old_nr = t._node, t._output_nr
    t._node, t._output_nr = fresh._node, fresh._output_nr
    t._rg = fresh._rg or t._own_rg
    t._view_ver = t._vc[0]
    if t._retains_grad:
        _move_retain(t, old, old_nr)
    return t._node


def _move_retain(t, old_node, old_nr):
    """t's grad_fn changed (an in-place write, a regenerated view): its retained
    grad now comes from the new node only (PyTorch moves the retains_grad hook)."""
    r = old_node._retain if old_node is not None else None
    if r:
        ref = r.get(old_nr)
        if ref is not None and ref() is t:
            del r[old_nr]
    t._retains_grad = False
    if t._node is not None and t._rg:
        t.retain_grad()


# ---- in-place writes --------------------------------------------------------------

def check_inplace(t, op_name, written=None):
    """Raise before anything changes if `t` may not be written in place;
    `written`: the part of t's array written, when not all of it (x[0] = v)."""
    if grad_state.enabled:
        b = t._base
        if b is not None:
            if t._rg:
                _check_view_inplace(t, b, op_name)
        elif t._node is None and t._rg:
            raise RuntimeError(f"{op_name}: a leaf Variable that requires grad is being used in an in-place "
                               "operation.")
    d = t._data if written is None else written
    if 0 in d.strides and d.size and any(s == 0 and n > 1 for s, n in zip(d.strides, d.shape)):
        raise RuntimeError(f"{op_name}: unsupported operation: more than one element of the written-to "
                           "tensor refers to a single memory location (an expanded tensor?). Please "
                           "clone() the tensor before performing the operation.")
    if not t._backend.is_writable(d):
        raise RuntimeError(f"{op_name}: the tensor's memory is a read-only NumPy array (shared through "
                           "from_numpy); clone() the tensor before writing to it in place.")
    if _watching_writes:
        from .saved_hooks import before_write
        before_write(t)


def check_no_partial_overlap(t, src, op_name, written=None, full_too=False):
    """Raise, as PyTorch does, when an in-place write into `t` (or its part
    `written`, an array) reads a tensor `src` whose memory partly overlaps what
    is written: a.mul_(a[0]), a.add_(a.t()), a[1:] = a[:-1]. The same memory
    (a.add_(a)) is fine, unless `full_too` (index_put_: t[[0, 1]] = t); so are
    operands that are not dense (a[::2]), which PyTorch does not judge either.
    Only tensors sharing a base can overlap."""
    root = t._base if t._base is not None else t
    if (src._base if src._base is not None else src) is not root:
        return
    a, b = (t._data if written is None else written), src._data
    if not a.size or not b.size or not _dense(a) or not _dense(b):
        return
    a0, b0 = _address(a), _address(b)
    a1, b1 = a0 + a.nbytes, b0 + b.nbytes
    if a1 <= b0 or b1 <= a0 or (not full_too and a0 == b0 and a1 == b1 and a.strides == b.strides):
        return                                          # none in common, or the same elements
    raise RuntimeError(f"{op_name}: unsupported operation: some elements of the input tensor and the written-to "
                       "tensor refer to a single memory location. Please clone() the tensor before performing "
                       "the operation.")


def _dense(a):
    """Whether a's elements fill one block of memory, each once (PyTorch's
    is_non_overlapping_and_dense). Our arrays never have negative strides."""
    step = a.itemsize
    for stride, n in sorted([(s, n) for s, n in zip(a.strides, a.shape) if n > 1]):
        if stride != step:
            return False
        step *= n
    return True


def _address(a):
    return a.__array_interface__["data"][0] if type(a) is _ndarray else a.data.ptr


def _check_view_inplace(t, b, op_name):
    """check_inplace for a view requiring grad, in PyTorch's order."""
    err = view_meta_error(t, op_name)
    if err is not None:
        raise err
    if b._node is None:
        raise RuntimeError(f"{op_name}: a view of a leaf Variable that requires grad is being used in an "
                           "in-place operation.")
    if t._node is None:
        # (as PyTorch: the view's own grad_fn as it stands, not re-derived from a base
        # written since. Reading grad_fn or is_leaf, or using the view in an op, derives it)
        raise RuntimeError(f"{op_name}: a leaf Variable that requires grad is being used in an in-place "
                           "operation.")


def commit_inplace(t, res, op_name):
    """Write the out-of-place result `res` into `t` and give `t` its history."""
    if res._rg and t._base is not None and not t._rg:
        # recorded through a view that had no history: it must be one PyTorch can rebase
        err = view_meta_error(t, op_name)
        if err is not None:
            raise err
    d = res._data
    if d.shape != t._data.shape:
        raise RuntimeError(f"{op_name}: output with shape {list(t.shape)} doesn't match the "
                           f"broadcast shape {list(d.shape)}")
    from .._dtype import from_numpy_dtype
    if d.dtype != t._data.dtype:
        rt, tt = from_numpy_dtype(d.dtype), from_numpy_dtype(t._data.dtype)
        if rt.kind > tt.kind:
            raise RuntimeError(f"{op_name}: result type {rt.libtorch} can't be cast to the desired "
                               f"output type {tt.libtorch}")
    node = res._node
    saves_t = node is not None and type(node._saved) is tuple and _any_is(node._saved, t)    # (not packed: hooks)
    before = None
    if _forward_ad:                      # (after the checks: a failed write leaves t's tangent too)
        from .forward_ad import check_inplace_write, tangent_before_write
        before = tangent_before_write(t) if saves_t else None
        check_inplace_write(t, res)
    if saves_t:
        # backward needs the values t had before this write (x.mul_(y) needs x):
        # keep a snapshot, with t's old place in the graph (and its old tangent)
        # (a snapshot starts at version 0: set the versions before replacing t)
        saved = node._saved
        node._versions = tuple(0 if s is t else v for s, v in zip(saved, node._versions))
        node._saved = tuple(_snapshot(s, before) if s is t else s for s in saved)
    t._data[...] = d
    t._vc[0] += 1
    if res._rg:
        node = res._node
        rebase_history(t, node, res._output_nr, getattr(node, "_result_vc", None) is res._vc)
    return t


def rebase_history(t, node, output_nr, saves_result=False, view_input=0):
    """`t` was just written in place by output `output_nr` of `node`: t takes
    that history or, when t is a view, its base takes a CopySlices that runs
    `node` for the view's part. `saves_result`: node saved that output (then
    held as t's data, version-checked against t). `view_input`: which input
    of node t was (built-in in-place ops: 0; a custom Function may write any
    of its tensor arguments)."""
    if t._base is None:
        old, old_nr, had_rg = t._node, t._output_nr, t._rg
        t._node, t._output_nr, t._rg = node, output_nr, True
        if saves_result:
            node._result, node._result_vc, node._result_ver = t._data, t._vc, t._vc[0]
        if t._retains_grad:
            _move_retain(t, old, old_nr)
        if not had_rg and t._views is not None:
            views_follow_base(t)
        return
    base = t._base
    cs = CopySlices.__new__(CopySlices)
    cs.chain = current_view_chain(t)
    # As PyTorch: CopySlices runs the write's node `fn` itself and sends its
    # gradient for the view straight into the base's old history at the view's
    # place, so the view's old nodes are not visited.
    cs.fn, cs.view_input = node, view_input
    nf = node.next_functions
    cs.next_functions = nf[:view_input] + (edge(base),) + nf[view_input + 1:]
    cs._seq = _next_seq()
    if saves_result:
        # that output is now the view t: a later write to t (or its base) must raise when node runs
        node._result, node._result_vc, node._result_ver = t._data, t._vc, t._vc[0]
    # node runs only inside cs, never as a node of its own (cs's release frees
    # it): its saved output, unpacked, is the view t with the history
    # regenerated from cs (saved_output). Weakly held: cs holds node.
    node._copy_slices = weakref.ref(cs)
    bd = base._data
    cs._out_meta = ((bd.shape, bd.dtype),)
    # gradient buffers of the base are laid out as the base, so that the view
    # ops replay on them as views (NumPy's reshape of an F-ordered array copies)
    cs.order = "F" if bd.flags.f_contiguous and not bd.flags.c_contiguous else "C"
    cs._backend = base._backend
    old, old_nr, had_rg = base._node, base._output_nr, base._rg
    base._node, base._output_nr, base._rg = cs, 0, True
    if base._retains_grad:
        _move_retain(base, old, old_nr)
    if not had_rg and base._views is not None:
        # its other views (and those t was taken from: x in x[1:].add_(v)) now require grad
        views_follow_base(base)
    refresh_view(t)


def _with_result_tangent(node, t, i):
    """t, node's saved output i, with that output's tangent under forward AD."""
    if _forward_ad:
        from .forward_ad import saved_result_tangent, set_tangent
        tangent = saved_result_tangent(node, i)
        if tangent is not None:
            set_tangent(t, tangent)
    return t


def saved_output(node, data, output_nr):
    """A saved output of `node` as a tensor at its place in the graph (under
    create_graph): node's output or, when node wrote a view in place, that
    view with its history regenerated from the base's CopySlices."""
    cs = node._copy_slices() if node._copy_slices is not None else None
    if cs is None:
        return Tensor._make_output(data, node, output_nr)
    shape, dtype = cs._out_meta[0]
    base = Tensor._make_output(cs._backend.xp.empty(shape, dtype), cs, 0)   # only its shape is used
    prev = grad_state.enabled
    grad_state.enabled = True            # (a custom Function's saved_tensors, read in any mode)
    try:
        v = replay_view(base, cs.chain)
    finally:
        grad_state.enabled = prev
    return Tensor._make_output(data, v._node, v._output_nr)


def _any_is(seq, obj):
    for s in seq:
        if s is obj:
            return True
    return False


def _snapshot(t, tangent=None):
    s = Tensor._make(t._data.copy(), t._backend)
    s._node, s._output_nr, s._rg = t._node, t._output_nr, t._rg
    if tangent is not None:
        from .forward_ad import set_tangent
        set_tangent(s, tangent)
    return s


class CopySlices(Node):
    """History of a base whose view was written in place (PyTorch's CopySlices).
    Edges: fn's, with the view's (input `view_input` of the write's node fn;
    0 for built-in in-place ops) replaced by the base's old history. The base's
    old values get the gradient outside the view, plus under the view what fn
    gives the view's old values; fn's other inputs get fn's gradients for them."""
    _name = "torch::autograd::CopySlices"
    _saved = ()                          # so the engine releases fn's saved tensors with us
    view_input = 0
    order = "C"                          # the base's layout, for its gradient buffers

    _freed = False

    def _release(self):
        self.fn._release()
        self._freed = True               # as PyTorch (its fn is dropped): a second pass raises

    def _outside(self, gd, put):
        """A bool mask of the base's shape, laid out as the base: True where the view does not reach."""
        if put is None:
            mask = np.ones_like(gd, dtype=bool, order=self.order)     # CuPy arrays take this over (NEP 18)
            _write_view(mask, self.chain, False)
            return mask
        attrs = self.chain[0][1]                          # a StorageView: the view's places in the base, by position
        return put(self._backend.xp.ones(attrs[0], gd.dtype), attrs) == 0

    def _apply(self, g, create_graph):
        if self._freed:
            raise RuntimeError(FREED_MSG)
        fn, chain = self.fn, self.chain
        gd = g._data if create_graph else g
        put = getattr(chain[0][0], "put", None) if len(chain) == 1 else None
        attrs = chain[0][1]
        g_view = replay_view(g, chain)
        dt = fn._out_meta[0][1]
        if (g_view._data if create_graph else g_view).dtype != dt:
            from ..ops import prims as P
            g_view = P.astype(g_view, dt)
        res = fn._apply(g_view, create_graph)
        k = self.view_input
        g_old = res[k] if res else None
        # the base's gradient is g outside the view and zero under it, by selection, not a product with a
        # mask: a NaN or inf of g under the view must not leak (0 * NaN)
        if create_graph:
            from ..creation import zeros_like
            from ..ops import prims as P
            g_base = P.where(Tensor._make(self._outside(gd, put), g._backend), g, 0)
            if g_old is not None:
                if put is not None:
                    g_base = g_base + put(g_old, attrs)     # (zero under the view: a sum writes it)
                else:
                    z = zeros_like(g)
                    replay_view(z, chain).copy_(g_old)      # recorded: differentiable in g_old
                    g_base = g_base + z
        elif put is None:
            g_base = np.empty_like(gd, order=self.order)    # (CuPy arrays take this over: NEP 18)
            g_base[...] = gd
            _write_view(g_base, chain, 0 if g_old is None else g_old)
        else:
            g_base = gd * 1                                  # (a copy: g may be another node's too)
            g_base[~self._outside(gd, put)] = 0
            if g_old is not None:
                g_base += put(g_old, attrs)
        return tuple(res[:k]) + (g_base,) + tuple(res[k + 1:])


def _write_view(a, chain, value):
    """a[the view] = value, on an array laid out as the base."""
    v = replay_view(a, chain)
    if v.size and not np.may_share_memory(v, a):    # a copy: the write would be lost (a layout we did not mirror)
        raise RuntimeError("CopySlices: the view of an in-place write could not be re-derived as a view "
                           f"of its base's gradient (base shape {list(a.shape)}, strides {list(a.strides)})")
    v[...] = value
