"""Hooks on the tensors a node saves for backward (torch.autograd.graph's
saved_tensors_hooks, save_on_cpu, disable_saved_tensors_hooks).

pack(tensor) runs when a node is recorded, once per tensor it saves, and
the node keeps only what pack returned; unpack(packed) runs each time
backward needs the tensor. Both run with grad mode off, as PyTorch's. As in
PyTorch the hooks are thread-local, the innermost pair wins, and a tensor
that went through hooks is not version-checked (what unpack returns is
what backward uses).

Recording pays one global test for this (`op._packing`, true while any
thread has hooks open); the work is all here."""
import contextlib
import functools
import threading
import weakref

from . import op as _op
from .grad_mode import no_grad

__all__ = ["saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks", "allow_mutation_on_saved_tensors"]


class _Local(threading.local):
    def __init__(self):
        self.stack = []          # (pack, unpack) of the open contexts, innermost last
        self.disabled = None     # disable_saved_tensors_hooks' message
        self.deferred = None     # nodes recorded inside an in-place op, packed after its write
        self.mutation = None     # the open allow_mutation_on_saved_tensors context


_local = _Local()
_open = {"_packing": 0, "_watching_writes": 0}     # contexts open in all threads, by the op.py flag they set
_open_lock = threading.Lock()


def _count_open(flag, delta):
    with _open_lock:
        _open[flag] += delta
        setattr(_op, flag, _open[flag] > 0)


class saved_tensors_hooks:
    """Context manager: `pack_hook(tensor) -> anything` when a tensor is saved
    for backward, `unpack_hook(packed) -> Tensor` when backward reads it."""

    def __init__(self, pack_hook, unpack_hook):
        self.pack_hook, self.unpack_hook = pack_hook, unpack_hook

    def __enter__(self):
        if _local.disabled is not None:
            raise RuntimeError(_local.disabled)
        _local.stack.append((self.pack_hook, self.unpack_hook))
        _count_open("_packing", 1)
        return self

    def __exit__(self, *exc):
        _local.stack.pop()
        _count_open("_packing", -1)
        return False


class save_on_cpu(saved_tensors_hooks):
    """Saved tensors are kept in host memory and moved back to their device when
    backward reads them (pin_memory is accepted: host memory is what NumPy has)."""

    def __init__(self, pin_memory=False, device_type="cuda"):
        def pack_to_cpu(t):
            if t._backend.is_cuda:
                return (t.device, t.cpu())
            return (t.device, t.clone())          # (PyTorch copies on the CPU too)

        def unpack_from_cpu(packed):
            device, t = packed
            return t.to(device)

        super().__init__(pack_to_cpu, unpack_from_cpu)
        self.pin_memory, self.device_type = pin_memory, device_type


class disable_saved_tensors_hooks:
    """Context manager in which opening saved_tensors_hooks raises
    RuntimeError(error_message); entering it while hooks are open raises too."""

    def __init__(self, error_message):
        self.error_message = error_message

    def __enter__(self):
        if _local.stack:
            raise RuntimeError(self.error_message)
        self.prev, _local.disabled = _local.disabled, self.error_message
        return self

    def __exit__(self, *exc):
        _local.disabled = self.prev
        return False


class _AllowMutationOnSavedContext:
    """What allow_mutation_on_saved_tensors keeps: each saved tensor under a
    handle, and a copy of it taken before the first write to its memory after
    the save. As PyTorch's, a write is matched to saves by (data pointer,
    version): writing through a view that starts where the saved tensor starts
    copies it; writing to the base of a saved view that starts elsewhere does not."""

    def __init__(self):
        self.original = {}       # handle -> the saved tensor
        self.cloned = {}         # handle -> its values when saved (once written since)
        self.handles = {}        # (id, data pointer, version) -> handle
        self.by_place = {}       # (data pointer, version) -> handles not yet copied
        self.closed = False

    def pack(self, t):
        place = (_op._address(t._data), t._vc[0])
        key = (id(t),) + place
        handle = self.handles.get(key)
        if handle is None:
            handle = self.handles[key] = len(self.handles)
            self.original[handle] = t      # (held: its id stays its own while the save lives)
            self.by_place.setdefault(place, []).append(handle)
        return handle

    def unpack(self, handle):
        if self.closed:
            raise AssertionError("Trying to backward outside of the 'allow_mutation_on_saved_tensors' context"
                                 "in which the graph was originally recorded.")
        return self.cloned.get(handle, self.original.get(handle))

    def before_write(self, t):
        handles = self.by_place.pop((_op._address(t._data), t._vc[0]), None)
        if handles:
            with no_grad():
                for handle in handles:
                    self.cloned[handle] = self.original[handle].clone()

    def clear(self):
        for store in (self.original, self.cloned, self.handles, self.by_place):
            store.clear()
        self.closed = True


@contextlib.contextmanager
def allow_mutation_on_saved_tensors():
    """Tensors saved for backward may be written in place: the first write after
    a save copies them first, and backward reads the copy (both forward and
    backward must run inside; the state is cleared on exit)."""
    if _local.mutation is not None:
        raise RuntimeError("allow_mutation_on_saved_tensors contexts cannot be nested")
    ctx = _AllowMutationOnSavedContext()
    _local.mutation = ctx
    _count_open("_watching_writes", 1)
    try:
        with saved_tensors_hooks(ctx.pack, ctx.unpack):
            yield ctx
    finally:
        ctx.clear()
        _local.mutation = None
        _count_open("_watching_writes", -1)


def before_write(t):
    """Called by check_inplace while some thread has allow_mutation_on_saved_tensors open."""
    ctx = _local.mutation
    if ctx is not None:
        ctx.before_write(t)


class suspended:
    """No saved-tensor hooks in this thread for a while (forward AD's inner graphs are its own)."""

    def __enter__(self):
        self.stack, _local.stack = _local.stack, []
        return self

    def __exit__(self, *exc):
        _local.stack = self.stack
        return False


def pack_now(tensors):
    """`tensors` packed with this thread's innermost hooks, as (unpack, packs); None without hooks.
    (A non-reentrant checkpoint saves its inputs this way, once, as PyTorch's.)"""
    if not _local.stack:
        return None
    pack, unpack = _local.stack[-1]
    return unpack, _run_pack(pack, tensors)


def unpack_now(saved):
    unpack, packs = saved
    return [_run_unpack(unpack, p) for p in packs]


# ---- recording: called by op.py and function.py when op._packing is set -----------

def pack_node(node):
    """Pack what `node` (just recorded) saved, with this thread's innermost hooks."""
    loc = _local
    if not loc.stack:
        return                               # (another thread's hooks are open)
    if loc.deferred is not None:
        loc.deferred.append(node)
        return
    pack, unpack = loc.stack[-1]
    if isinstance(node, _op.Op):
        _pack_op(node, pack, unpack)
    else:
        _pack_function(node, pack, unpack)


class deferred:
    """Around an in-place op: the nodes it records are packed after its write,
    once a saved input about to be overwritten has been replaced by a snapshot
    of its old values (PyTorch's pack hooks see that copy, not the new values)."""

    def __enter__(self):
        self.active = bool(_local.stack) and _local.deferred is None
        if self.active:
            _local.deferred = []
        return self

    def __exit__(self, exc_type, *exc):
        if self.active:
            nodes, _local.deferred = _local.deferred, None
            if exc_type is None:
                for node in nodes:
                    pack_node(node)
        return False


class _Packed:
    """What a node keeps of its saved tensors once they went through pack."""
    __slots__ = ("unpack", "inputs", "edges", "result", "kept")


_NOT_SAVED = object()                        # a saved input PyTorch does not save (see Op.saved_for)


def _edge_of(t):
    return _op.edge(t) if t._rg else None


def _run_pack(pack, tensors):
    """pack(t) for each tensor, grad mode off; refuses a pack that writes to its input."""
    out = []
    with no_grad(), _user_code():
        for t in tensors:
            version = t._vc[0]
            out.append(pack(t))
            if t._vc[0] != version:
                raise RuntimeError("A saved tensor pack hook is modifying its input in place. Tensors provided as "
                                   "input to pack hook cannot be modified by in-place operations as this can lead "
                                   "to unexpected side-effects. Please open an issue if you need to perform "
                                   "in-place operations on the input to a pack hook.")
    return out


def _user_code():
    """The profiler records the ops of a hook run inside an op (only while a dispatch mode is on)."""
    if _op._intercept:
        from .profiler import recording_user_code
        return recording_user_code()
    return contextlib.nullcontext()


def _run_unpack(unpack, packed):
    with no_grad():
        t = unpack(packed)
    if not isinstance(t, _op.Tensor):
        raise TypeError("Output of saved tensor unpack_hook expected to be a Tensor but got result of type "
                        f"{type(t).__name__}")
    return t


def _at_place(t, edge):
    """The unpacked tensor at the saved tensor's place in the graph (for create_graph)."""
    a = _op.Tensor._make(t._data, t._backend)
    if edge is not None:
        node, nr = edge
        if node.__class__ is _op.AccumulateGrad:
            a._rg, a._acc = True, weakref.ref(node)
        else:
            a._node, a._output_nr, a._rg = node, nr, True
    return a


def _results_of(node):
    """The node's saved outputs as tensors (what PyTorch's pack hooks receive)."""
    make = _op.Tensor._make_output
    if node.n_outputs == 1:
        t = make(node._result, node, 0)
        t._vc = node._result_vc
        return [t]
    outs = []
    for i, (r, vc) in enumerate(zip(node._result, node._result_vc)):
        t = make(r, node, i)
        t._vc = vc
        outs.append(t)
    return outs


def _pack_op(node, pack, unpack):
    saved = node._saved or ()
    nf, saved_for = node.next_functions, node.saved_for
    really = [saved_for is None or any(nf[j][0] is not None for j in saved_for[i]) for i in range(len(saved))]
    ins = [t for t, r in zip(saved, really) if r]
    results = _results_of(node) if node.save_result and node._result is not None else []
    kept = list(node._kept)
    if not (ins or results or kept):
        return                                   # (nothing saved: the node stays as it is)
    packed = _run_pack(pack, ins + results + kept)
    p = _Packed()
    p.unpack = unpack
    it = iter(packed[:len(ins)])
    p.inputs = tuple(next(it) if r else _NOT_SAVED for r in really)
    p.edges = tuple(_edge_of(t) if r else None for t, r in zip(saved, really))
    p.result = tuple(packed[len(ins):len(ins) + len(results)])
    p.kept = tuple(packed[len(ins) + len(results):])
    node._saved, node._result, node._kept = p, None, ()     # the originals go: only the packs stay
    node._apply = functools.partial(_apply_packed, weakref.ref(node))


def _apply_packed(node_ref, g, create_graph):
    """A packed node's _apply: unpack into the node's usual fields, run its own
    _apply, and put the packs back (a retained graph unpacks again, as PyTorch)."""
    node = node_ref()
    p = node._saved
    cls_apply = type(node)._apply
    if type(p) is not _Packed:               # released: the node's own error
        return cls_apply(node, g, create_graph)
    ins = tuple(None if q is _NOT_SAVED else _run_unpack(p.unpack, q) for q in p.inputs)
    if create_graph:
        ins = tuple(None if t is None else _at_place(t, e) for t, e in zip(ins, p.edges))
    node._saved = ins
    node._versions = tuple(0 if t is None else t._vc[0] for t in ins)
    if p.result:
        rs = [_run_unpack(p.unpack, q) for q in p.result]
        if node.n_outputs == 1:
            node._result, node._result_vc, node._result_ver = rs[0]._data, rs[0]._vc, rs[0]._vc[0]
        else:
            node._result = tuple(r._data for r in rs)
            node._result_vc = tuple(r._vc for r in rs)
            node._result_ver = tuple(r._vc[0] for r in rs)
    if p.kept:
        node._kept = tuple(_run_unpack(p.unpack, q) for q in p.kept)
        node._kept_versions = tuple(t._vc[0] for t in node._kept)
    try:
        return cls_apply(node, g, create_graph)
    finally:
        node._saved, node._result = p, None
        if p.kept:
            node._kept = ()


# ---- custom Functions: ctx.saved_tensors unpacks -------------------------------

def _pack_function(node, pack, unpack):
    ctx = getattr(node, "ctx", None)
    if ctx is None or not ctx._saved or type(ctx._saved) is _Packed:
        return
    from .function import _SavedOutput
    tensors = []
    for t in ctx._saved:
        if type(t) is _SavedOutput:
            out = _op.Tensor._make_output(t.data, node, t.index)
            out._vc = t.vc
            tensors.append(out)
        else:
            tensors.append(t)
    present = [t for t in tensors if t is not None]
    packed = iter(_run_pack(pack, present))
    p = _Packed()
    p.unpack = unpack
    p.inputs = tuple(None if t is None else next(packed) for t in tensors)
    p.edges = tuple(None if t is None else _edge_of(t) for t in tensors)
    p.result = p.kept = ()
    ctx._saved = p


def unpack_function_saved(p):
    """ctx.saved_tensors of a packed custom Function: unpacked each time it is read."""
    out = []
    for q, e in zip(p.inputs, p.edges):
        if q is None:
            out.append(None)
            continue
        t = _run_unpack(p.unpack, q)
        out.append(_at_place(t, e) if e is not None else t)     # (in any grad mode: PyTorch's keep requires_grad)
    return tuple(out)


def is_packed(saved):
    return type(saved) is _Packed
