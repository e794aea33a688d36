"""torch.utils.checkpoint: activation checkpointing (recompute a segment's
forward during backward instead of keeping its activations).

Two variants, as PyTorch's:

- use_reentrant=True: a custom Function. Its forward runs the segment under
  no_grad and keeps only the inputs; its backward reruns the segment with grad
  on and calls backward() inside the backward pass (re-entering the engine),
  which also accumulates into the parameters the segment used.
- use_reentrant=False: the segment first runs with grad on, to find the tensors
  its graph starts from (inputs, parameters, tensors it closed over); then that
  graph is dropped (its intermediates die as soon as the segment returns) and
  the outputs hang from one node whose edges lead to those tensors. Its
  backward reruns the segment, wires the new graph's edges to those tensors to
  capture points, and runs the engine on it, so autograd.grad, backward(inputs=)
  and create_graph work as without checkpointing.

Both restore the random generators to their state at the forward before the
rerun (preserve_rng_state), so dropout draws the same mask."""
import contextlib
import warnings

from ..autograd import engine as _engine
from ..autograd import op as _op
from ..autograd import saved_hooks
from ..autograd.function import Function
from ..autograd.graph import AccumulateGrad, FREED_MSG, Node, next_sequence_nr
from ..autograd.grad_mode import enable_grad, no_grad, state as _grad_state
from ..tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential", "CheckpointError", "CheckpointFunction", "detach_variable",
           "check_backward_validity", "noop_context_fn"]

_DETERMINISM_CHECKS = ("default", "none")


class CheckpointError(RuntimeError):
    """The rerun of a checkpointed segment did not match its forward."""


def noop_context_fn():
    return contextlib.nullcontext(), contextlib.nullcontext()


def detach_variable(inputs):
    """Each tensor of the tuple `inputs` detached, keeping its requires_grad."""
    if not isinstance(inputs, tuple):
        raise RuntimeError(f"Only tuple of tensors is supported. Got Unsupported input type: "
                           f"{type(inputs).__name__}")
    return tuple(_detached(a) for a in inputs)


def _detached(a):
    if not isinstance(a, Tensor):
        return a
    d = a.detach()
    if a.requires_grad:
        d.requires_grad_(True)
    return d


def check_backward_validity(inputs):
    if not any(a.requires_grad for a in inputs if isinstance(a, Tensor)):
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None", stacklevel=2)


# ---- random generator states -------------------------------------------------------------------

class _RngStates:
    """The CPU generator's state and those of the GPUs `devices` (names)."""

    def __init__(self, devices):
        import autograd_gpu as ag
        self.cpu = ag.get_rng_state()
        self.devices = list(devices)
        self.gpu = [ag.cuda.get_rng_state(d) for d in self.devices]

    @classmethod
    def of(cls, tensors):
        """The states the draws of a segment on `tensors` come from."""
        return cls(sorted({str(t.device) for t in tensors if t.is_cuda}))

    def restore(self):
        import autograd_gpu as ag
        ag.set_rng_state(self.cpu)
        for d, s in zip(self.devices, self.gpu):
            ag.cuda.set_rng_state(s, d)


class _ForwardState:
    """What a segment's forward ran under, which its recompute runs under again (as PyTorch's checkpoint
    re-enters them): the random states (when preserved), autocast's state, the default device."""

    def __init__(self, tensors, preserve_rng_state):
        from .. import amp
        from ..backend.device import default_device, CPU
        self.rng = _RngStates.of(tensors) if preserve_rng_state else None
        self.autocast = [(dev, amp.is_autocast_enabled(dev), amp.get_autocast_dtype(dev)) for dev in ("cpu", "cuda")]
        self.cache = amp.is_autocast_cache_enabled()
        self.device = default_device() or CPU

    @contextlib.contextmanager
    def entered(self):
        from .. import amp
        with contextlib.ExitStack() as stack:
            stack.enter_context(_forked_rng(self.rng))
            for dev, enabled, dtype in self.autocast:
                stack.enter_context(amp.autocast(dev, dtype=dtype, enabled=enabled, cache_enabled=self.cache))
            stack.enter_context(self.device)
            yield


@contextlib.contextmanager
def _forked_rng(saved):
    """Run with the generators as `saved` has them, then put back the current states."""
    if saved is None:
        yield
        return
    current = _RngStates(saved.devices)
    saved.restore()
    try:
        yield
    finally:
        current.restore()


# ---- pytrees (the nesting of a segment's outputs) ----------------------------------------------

def _flatten(obj, out):
    """The tensors of obj (tuples, lists and dicts, recursively) appended to out; a spec to rebuild it."""
    if isinstance(obj, Tensor):
        out.append(obj)
        return ("T",)
    if isinstance(obj, (tuple, list)):
        return (type(obj), [_flatten(o, out) for o in obj])
    if isinstance(obj, dict):
        return (type(obj), [(k, _flatten(v, out)) for k, v in obj.items()])
    return ("V", obj)


def _unflatten(spec, it):
    if spec[0] == "T":
        return next(it)
    if spec[0] == "V":
        return spec[1]
    kind, items = spec
    if issubclass(kind, dict):
        return kind((k, _unflatten(s, it)) for k, s in items)
    values = [_unflatten(s, it) for s in items]
    return kind(*values) if hasattr(kind, "_fields") else kind(values)


# ---- use_reentrant=True -------------------------------------------------------------------------

class _SegmentTargets(_engine.Targets):
    """The targets of the pass a non-reentrant checkpoint runs on its recomputed
    segment (that pass is not the user's: _in_grad_call looks past it)."""


def _in_grad_call():
    """Whether the backward pass now running is one of autograd.grad() or
    backward(inputs=...): the innermost pass on this thread (the engine's
    record of it), past the passes of non-reentrant checkpoints, has targets."""
    record = _grad_state.running_pass
    while record is not None and isinstance(record[2], _SegmentTargets):
        record = record[4]
    return record is not None and record[2] is not None


class CheckpointFunction(Function):
    """checkpoint(use_reentrant=True): PyTorch's CheckpointFunction."""

    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, *args):
        check_backward_validity(args)
        ctx.run_function = run_function
        ctx.state = _ForwardState([a for a in args if isinstance(a, Tensor)], preserve_rng_state)
        ctx.inputs = [None if isinstance(a, Tensor) else a for a in args]
        ctx.tensor_indices = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.save_for_backward(*(a for a in args if isinstance(a, Tensor)))
        with no_grad():
            return run_function(*args)

    @staticmethod
    def backward(ctx, *grads):
        import autograd_gpu as ag
        if _in_grad_call():
            raise RuntimeError("When use_reentrant=True, torch.utils.checkpoint is incompatible with .grad() or "
                               "passing an `inputs` parameter to .backward(). To resolve this error, you can "
                               "either set use_reentrant=False, or call .backward() without passing the `inputs` "
                               "argument.")
        inputs = list(ctx.inputs)
        for i, t in zip(ctx.tensor_indices, ctx.saved_tensors):
            inputs[i] = t
        with ctx.state.entered():
            detached = detach_variable(tuple(inputs))
            with enable_grad():
                outputs = ctx.run_function(*detached)
        if isinstance(outputs, Tensor):
            outputs = (outputs,)
        pairs = [(o, g) for o, g in zip(outputs, grads) if isinstance(o, Tensor) and o.requires_grad]
        if not pairs:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is not necessary")
        ag.autograd.backward([o for o, _ in pairs], [g for _, g in pairs])
        return (None, None) + tuple(a.grad if isinstance(a, Tensor) else None for a in detached)


# ---- use_reentrant=False ------------------------------------------------------------------------

class _Cut(Node):
    """Where the rerun graph's edge to a boundary tensor now ends: the nested
    backward captures the gradient here (and goes no further: nothing it
    needs lies beyond), while graphs built later (create_graph) pass through
    it, an identity, to the boundary tensor."""
    _name = "CheckpointBoundary"

    def __init__(self, edge):
        node, nr = edge
        self.next_functions = (edge,)
        self._out_meta = (node._out_meta[nr],)
        self._backend = node._backend
        self._seq = next_sequence_nr()

    def _apply(self, grad, create_graph):
        return (grad,)


def _boundary_key(node, nr, arg_keys):
    if type(node) is AccumulateGrad:
        return arg_keys.get(id(node.variable), ("leaf", id(node.variable)))
    return ("node", id(node), nr)


def _walk(output_edges, start_seq, arg_keys, on_boundary):
    """Visit the graph made since sequence number start_seq, from output_edges;
    on_boundary(key, holder, index, node, nr) for each edge that leaves it
    (holder: the node whose next_functions hold it, or None for an output's own edge).
    Returns the internal nodes."""
    def internal(n):
        return type(n) is not AccumulateGrad and getattr(n, "_seq", -1) >= start_seq
    seen, stack = set(), []
    for j, (n, nr) in enumerate(output_edges):
        if n is None:
            continue
        if internal(n):
            if n not in seen:
                seen.add(n)
                stack.append(n)
        else:
            on_boundary(_boundary_key(n, nr, arg_keys), None, j, n, nr)
    nodes = []
    while stack:
        n = stack.pop()
        nodes.append(n)
        for k, (c, nr) in enumerate(n.next_functions):
            if c is None:
                continue
            if internal(c):
                if c not in seen:
                    seen.add(c)
                    stack.append(c)
            else:
                on_boundary(_boundary_key(c, nr, arg_keys), n, k, c, nr)
    return nodes


def _detach_args(args, kwargs):
    """Detached leaves for the top-level tensor arguments, and their boundary keys by id."""
    keys = {}

    def leaf(a, key):
        if not isinstance(a, Tensor):
            return a
        d = _detached(a)
        keys[id(d)] = key
        return d
    new_args = tuple(leaf(a, ("arg", i)) for i, a in enumerate(args))
    new_kwargs = {k: leaf(v, ("kwarg", k)) for k, v in kwargs.items()}
    return new_args, new_kwargs, keys


def _meta(t):
    return (tuple(t.shape), t.dtype, str(t.device), bool(t.requires_grad))


class CheckpointBackward(Node):
    """The node a non-reentrant checkpoint's outputs hang from; its edges lead
    to the tensors the segment's graph starts from."""
    _name = "CheckpointBackward"

    def _apply(self, grads, create_graph):
        if self._freed:
            raise RuntimeError(FREED_MSG)
        if self.n_outputs == 1:
            grads = [grads]
        cuts = [_Cut(e) for e in self.next_functions]
        outputs, edges = self._recompute(cuts)
        roots, root_grads = [], []
        for e, g in zip(edges, grads):
            if e is not None and g is not None:
                roots.append(e)
                root_grads.append(g)
        if not roots:
            return (None,) * len(self.next_functions)
        targets = _SegmentTargets([(c, 0) for c in cuts], cuts)
        captured = _engine.execute(roots, root_grads, create_graph, create_graph, targets=targets,
                                   accumulate=False)
        del outputs
        return tuple(captured)

    def _recompute(self, cuts):
        """Rerun the segment; the edges of its outputs, into a graph whose
        boundary edges end at `cuts`."""
        args, kwargs = self._inputs
        index = self._boundary_index
        if self._packed is None:
            self._check_versions()
            values = {}
        else:                    # (saved through the user's hooks, which own the values: no version check)
            inputs = [a for a in (*args, *kwargs.values()) if isinstance(a, Tensor)]
            values = {id(a): u for a, u in zip(inputs, saved_hooks.unpack_now(self._packed))}

        def attached(a, key):
            """The input as the rerun sees it: a tensor whose node is the input's cut (so that
            graphs built from the rerun's saved tensors reach the input's history)."""
            pos = index.get(key)
            if not isinstance(a, Tensor) or pos is None:
                return _detached(values.get(id(a), a))
            src = values.get(id(a), a)
            t = Tensor._make(src._data, src._backend)
            t._vc, t._node, t._output_nr, t._rg = src._vc, cuts[pos], 0, True
            return t
        new_args = tuple(attached(a, ("arg", i)) for i, a in enumerate(args))
        new_kwargs = {k: attached(v, ("kwarg", k)) for k, v in kwargs.items()}
        start = next_sequence_nr()
        with self._state.entered(), saved_hooks.suspended():       # (the segment's saves are its own)
            with enable_grad(), self._recompute_context:
                result = self._fn(*new_args, **new_kwargs)
        flat = []
        _flatten(result, flat)
        self._check_outputs(flat)
        out_edges = [_op.edge(t) if t.requires_grad else (None, 0) for t in flat]
        roots = list(out_edges)

        def rewire(key, holder, k, node, nr):
            if type(node) is _Cut:               # (an input: already attached to its cut)
                return
            pos = index.get(key)
            edge = (cuts[pos], 0) if pos is not None else (None, 0)
            if holder is None:
                roots[k] = edge
            else:
                nf = list(holder.next_functions)
                nf[k] = edge
                holder.next_functions = tuple(nf)
        _walk(out_edges, start, {}, rewire)
        return flat, [e if e[0] is not None else None for e in roots]

    def _check_versions(self):
        """The inputs as the forward saw them: one written in place since raises PyTorch's error."""
        args, kwargs = self._inputs
        for t, v in zip([a for a in (*args, *kwargs.values()) if isinstance(a, Tensor)], self._versions):
            if t._vc[0] != v:
                raise _op.saved_input_version_error(t, v)

    def _check_outputs(self, flat):
        if not self._check:
            return
        got = [_meta(t) for t in flat]
        if got != self._out_metas:
            raise CheckpointError(
                "torch.utils.checkpoint: Recomputed values for the following tensors have different metadata than "
                f"during the forward pass.\noutputs (shape, dtype, device, requires_grad) in the forward: "
                f"{self._out_metas}\nin the recomputation: {got}")

    def _release(self):
        self._inputs = self._packed = None
        self._freed = True


def _checkpoint_without_reentrant(function, preserve, context_fn, determinism_check, debug, args, kwargs):
    if determinism_check not in _DETERMINISM_CHECKS:
        raise ValueError(f"determinism_check should be one of {list(_DETERMINISM_CHECKS)}, but got "
                         f"{determinism_check}")
    if debug and context_fn is not noop_context_fn:
        raise ValueError("debug=True is incompatible with non-default context_fn")
    forward_context, recompute_context = context_fn()
    if not _grad_state.enabled or (_op._forward_ad and _op._any_tangent((*args, *kwargs.values()))):
        # (dual inputs: run the segment as it is, so its outputs carry their tangents; nothing is saved
        # for a recompute)
        with forward_context:
            return function(*args, **kwargs)
    tensors = [a for a in (*args, *kwargs.values()) if isinstance(a, Tensor)]
    state = _ForwardState(tensors, preserve)
    start = next_sequence_nr()
    new_args, new_kwargs, arg_keys = _detach_args(args, kwargs)
    with forward_context, saved_hooks.suspended():      # (the user's hooks see the inputs only, below)
        result = function(*new_args, **new_kwargs)
    flat = []
    spec = _flatten(result, flat)
    out_edges = [_op.edge(t) if t.requires_grad else (None, 0) for t in flat]
    boundary, index = [], {}

    def collect(key, holder, k, node, nr):
        if key not in index:
            index[key] = len(boundary)
            boundary.append((key, node, nr))
    _walk(out_edges, start, arg_keys, collect)
    if not boundary:                  # nothing the segment computed needs a gradient
        return result
    original = {("arg", i): a for i, a in enumerate(args)}
    original.update({("kwarg", k): v for k, v in kwargs.items()})
    node = CheckpointBackward()
    node.next_functions = tuple(_op.edge(original[key]) if key in original else (n, nr)
                                for key, n, nr in boundary)
    node._boundary_index = index
    node._seq = next_sequence_nr()
    node._fn, node._inputs, node._state = function, (args, dict(kwargs)), state
    node._versions = [t._vc[0] for t in tensors]
    node._packed = saved_hooks.pack_now(tensors)        # the inputs, once, through the user's hooks
    node._recompute_context, node._check = recompute_context, determinism_check == "default"
    node._freed, node._saved = False, True
    node._out_metas = [_meta(t) for t in flat]
    node.n_outputs = len(flat)
    node._slow = len(flat) > 1
    node._backend = flat[0]._backend
    node._out_meta = tuple((t._data.shape, t._data.dtype) for t in flat)
    fresh = []
    for i, t in enumerate(flat):
        f = Tensor._make(t._data, t._backend)
        if t.requires_grad:
            f._node, f._output_nr, f._rg = node, i, True
        fresh.append(f)
    return _unflatten(spec, iter(fresh))


# ---- the public functions --------------------------------------------------------------------------

def checkpoint(function, *args, use_reentrant=None, context_fn=noop_context_fn, determinism_check="default",
               debug=False, early_stop=True, **kwargs):
    """function(*args, **kwargs), keeping none of its intermediate results for
    backward: they are recomputed when backward reaches the segment.
    preserve_rng_state=True (a keyword) reruns it with the same random draws.
    early_stop is accepted and has no effect (the rerun always runs whole)."""
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. Starting in "
            "PyTorch 2.9, calling checkpoint without use_reentrant will raise an exception. use_reentrant=False "
            "is recommended, but if you need to preserve the current default behavior, you can pass "
            "use_reentrant=True. Refer to docs for more details on the differences between the two variants.",
            stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs and use_reentrant:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if use_reentrant:
        if context_fn is not noop_context_fn or debug is not False:
            raise ValueError("Passing `context_fn` or `debug` is only supported when use_reentrant=False.")
        return CheckpointFunction.apply(function, preserve, *args)
    return _checkpoint_without_reentrant(function, preserve, context_fn, determinism_check, debug, args, kwargs)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Run `functions` (a Sequential or a list of callables) in order on `input`,
    in `segments` chunks; every chunk but the last is checkpointed."""
    from ..nn.container import Sequential
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should be passed "
            "explicitly. In version 2.9 we will raise an exception if use_reentrant is not passed. "
            "use_reentrant=False is recommended, but if you need to preserve the current default behavior, you "
            "can pass use_reentrant=True. Refer to docs for more details on the differences between the two "
            "variants.", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if isinstance(functions, Sequential):
        functions = list(functions.children())

    def run(start, end):
        def forward(x):
            for j in range(start, end + 1):
                x = functions[j](x)
            return x
        return forward
    size = len(functions) // segments
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant, preserve_rng_state=preserve)
    return run(end + 1, len(functions) - 1)(input)
