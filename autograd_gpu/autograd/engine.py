"""The backward pass: run each node once all the gradients flowing into it
have arrived, taking nodes by decreasing sequence number (a node's number is
above those of the nodes its inputs came from), as PyTorch orders them.
Iterative (no recursion), so graphs of any depth work.

Saved tensors are freed node by node as the pass goes (unless retain_graph),
so memory peaks no higher than the forward pass left it. Accumulation into
`.grad` and retained grads are applied only once the whole pass succeeded: an
exception or KeyboardInterrupt halfway leaves no gradient half-accumulated,
and the graph either intact (retain_graph=True) or entirely freed, so that a
second backward raises the usual retain_graph error rather than half-working."""

import heapq
import threading

from . import op as _op
from . import anomaly_mode
from .graph import AccumulateGrad
from .grad_mode import state as grad_state
from ..ops import prims as P

_effects_lock = threading.RLock()      # (re-entrant: a post-accumulate hook may run a backward of its own)
_push, _pop = heapq.heappush, heapq.heappop


def _wrap(g, backend):
    return _op.Tensor._make(_op.as_array(g, backend), backend)


def _run_tensor_hooks(node, grads, create_graph, pending):
    """Hooks registered on tensors (by output), then retain_grad, as PyTorch orders them."""
    bk = node._backend
    if type(node) is AccumulateGrad:
        hooks = node.variable._hooks
        stores = {0: hooks} if hooks else {}
    else:
        stores = node._tensor_hooks or {}
    grads = list(grads)
    for nr, store in stores.items():
        g = grads[nr]
        if not store:
            continue
        if g is None:
            # an output that got no gradient while a sibling did: PyTorch calls its hooks with None
            for fn in list(store.values()):
                if fn(None) is not None:
                    raise RuntimeError("can't replace a None gradient with a non-None value")
            continue
        gt = g if create_graph else _wrap(g, bk)
        for fn in list(store.values()):
            r = fn(gt)
            if r is not None:
                _check_hook_result(fn, gt, r)
                gt = r
        grads[nr] = gt if create_graph else gt._data
    if node._retain:
        for nr, ref in node._retain.items():
            t = ref()
            if t is not None and grads[nr] is not None:
                pending.append((_retain, t, grads[nr]))
    return grads


def _check_hook_result(fn, g, r):
    """A tensor hook may replace the gradient, not change what it is (PyTorch's checks)."""
    if not isinstance(r, _op.Tensor):
        raise TypeError(f"expected Tensor, but hook returned '{type(r).__name__}'")
    name = getattr(fn, "__name__", type(fn).__name__)
    if r.shape != g.shape:
        raise RuntimeError(f"hook '{name}' has changed the size of value (was {list(g.shape)} got "
                           f"{list(r.shape)})")
    if r.dtype != g.dtype or r._backend is not g._backend:
        raise RuntimeError(f"hook '{name}' has changed the type of value (was {g.type()} got {r.type()})")


def _retain(t, g, create_graph):
    bk = t._backend
    if create_graph:
        t._grad = g if t._grad is None else t._grad + g
    elif t._grad is None:
        t._grad = _wrap(g.copy(), bk)
    else:
        t._grad = _wrap(t._grad._data + g, bk)


def _accumulate(var, g, create_graph, owned=False):
    """Add a gradient into a leaf's .grad, as AccumulateGrad does. An `owned`
    array (a sum the engine made, seen by nobody else) becomes .grad as is;
    any other may alias a user's tensor or another gradient, so it is copied."""
    cur = var._grad
    if create_graph:
        # a copy, recorded: g may be a user's tensor (x.backward(gy) passes gy through)
        var._grad = g.clone() if cur is None else cur + g
    elif cur is None:
        var._grad = _wrap(g if owned else g.copy(), var._backend)
    else:
        # in place, also into a .grad a create_graph pass left (as PyTorch: same object)
        cur._data += g
        cur._vc[0] += 1


def _accumulate_owned(var, g, create_graph):
    _accumulate_plain(var, g, create_graph, owned=True)


_accumulate_plain = _accumulate      # (the names the pass looks up are rebound while profiling: profile_passes)


def _validate(g, node, out, nxt, nr, create_graph):
    """Make a gradient match its input: undo broadcasting, restore the dtype.
    (`out`: all the node's input gradients, to name g's index in an error.)"""
    shape, dt = nxt._out_meta[nr]
    d = g._data if create_graph else g
    if d.shape != shape:
        try:
            g = P.sum_to_shape(g, shape)
        except (ValueError, RuntimeError):
            raise RuntimeError(f"Function {node.name()} returned an invalid gradient at index "
                               f"{_index_of(out, g)} - got {list(d.shape)} but expected shape compatible "
                               f"with {list(shape)}") from None
        d = g._data if create_graph else g
    if d.dtype != dt:
        g = P.astype(g, dt)
    return g


def _validated(node, out, create_graph):
    """All of a node's input gradients made to match their inputs (_validate)."""
    return tuple(g if g is None or nxt is None else _validate(g, node, out, nxt, nr, create_graph)
                 for (nxt, nr), g in zip(node.next_functions, out))


def _needed_nodes(roots, targets):
    """Nodes from which some target is reachable (only those need to run)."""
    needed = {}
    stack = [(n, False) for n in roots]
    while stack:
        n, expanded = stack.pop()
        if n in needed and not expanded:
            continue
        if not expanded:
            needed[n] = None          # in progress
            stack.append((n, True))
            for c, _ in n.next_functions:
                if c is not None and c not in needed:
                    stack.append((c, False))
        else:
            needed[n] = n in targets or any(c is not None and needed.get(c) for c, _ in n.next_functions)
    return {n for n, v in needed.items() if v}


def _check_saved(nodes):
    """Raise what the pass would raise unpacking the saved tensors of these nodes (a tensor modified in
    place since it was saved, a freed graph), in the order the pass runs them; change nothing."""
    for node in sorted(nodes, key=lambda n: -getattr(n, "_seq", 0)):
        unpack = getattr(node, "_unpack", None)
        if unpack is not None and (node._saved or node.save_result or node._freed) and _feeds(node, nodes):
            unpack(False)           # (a node that feeds nothing needed does not run: a target's own node)


def _graph_nodes(roots):
    """Every node reachable from `roots`, roots included."""
    seen = set(roots)
    stack = list(roots)
    while stack:
        for nxt, _ in stack.pop().next_functions:
            if nxt is not None and nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def _add(old, g):
    return g if old is None else P.add(old, g)


def execute(root_edges, root_grads, retain_graph, create_graph, targets=None, accumulate=True):
    """Run backward from `root_edges` [(node, nr)] with `root_grads` (arrays, or
    Tensors under create_graph). `targets` maps (node, nr) -> indices of grads
    to capture; returns the captured list. With `accumulate`, leaves reached
    (all of them, or only target leaves when targets are given) accumulate .grad.

    A node receives its gradient as such when it has one output, as a list
    (one entry per output, None where nothing arrived) when it has several.

    Nodes run by decreasing sequence number (graph.next_sequence_nr): the nodes
    that consume a node's outputs have higher numbers, so when it is the highest
    still waiting, every gradient it will get has arrived. No dependency count
    is needed, and the order is PyTorch's, but for leaves: PyTorch runs an
    AccumulateGrad as soon as it is ready, we when its number comes."""
    roots = []
    for n, _ in root_edges:
        if n not in roots:
            roots.append(n)
    target_nodes = needed = captured = None
    if targets is not None:
        narrowed = []       # nodes told to compute only the gradients this pass needs (undone at the end)
        target_nodes = {n for n, _ in targets}
        needed = _needed_nodes(roots, target_nodes)
        if targets.all_used:
            unreached = [min(idx) for (n, _), idx in targets.items() if n not in needed]
            if unreached:
                _check_saved(needed)      # (PyTorch runs the pass first: its errors come before this one)
                raise unused_input_error(min(unreached))     # (before any node ran: nothing freed)
        captured = [None] * len(targets.tensors)

    # `buffers` holds the gradient summed so far for each node that some edge
    # has reached (a list per output for a node of several); `waiting` is those
    # nodes, as a heap keyed by minus the sequence number.
    buffers = {}
    for (n, nr), g in zip(root_edges, root_grads):
        if n.n_outputs == 1:
            buffers[n] = _add(buffers.get(n), g)
        else:
            buf = buffers.setdefault(n, [None] * n.n_outputs)
            buf[nr] = _add(buf[nr], g)
    waiting = [(-n._seq, n) for n in roots if needed is None or n in needed]
    heapq.heapify(waiting)
    pending = []            # user-visible effects, applied once the pass succeeded
    owned = set()           # ids of engine-made sums bound for a leaf (alive until the end)

    prev_mode = grad_state.enabled
    grad_state.enabled = create_graph
    enclosing = grad_state.running_pass
    grad_state.running_pass = [roots, needed, targets, None, enclosing]     # (current_pass reads it)
    pop, push = _pop, _push
    anomaly = anomaly_mode.state.enabled
    slow_all = target_nodes is not None or anomaly       # (anomaly mode checks every node, on the slow path)
    node = None
    try:
        while waiting:
            node = pop(waiting)[1]
            grad = buffers.pop(node)
            slow = node._slow
            if slow or slow_all:
                # the uncommon cases: hooks, retained grads, leaves, captured inputs, several outputs
                # (an output's hooks are called with None when no gradient reached it)
                grad = _before_apply(node, grad, create_graph, pending, targets, target_nodes, captured,
                                     accumulate, owned)
                if grad is _DONE or (needed is not None and not _feeds(node, needed)):
                    continue
                if needed is not None:
                    _ask_only_needed(node, needed, narrowed)
                if grad.__class__ is list and not _any_grad(grad):
                    grad = None                 # (a node of several outputs gets None, not [None, None])
                slow = True
            nf = node.next_functions
            if grad is None:
                out = (None,) * len(nf)
            else:
                out = node._apply(grad, create_graph)
                if slow:
                    if anomaly and anomaly_mode.state.check_nan:
                        anomaly_mode.check_nan_outputs(node, out)     # (before post hooks, as PyTorch)
                    if node._post_hooks:     # (they see the gradients shaped as the inputs, as PyTorch's)
                        out = _call_post_hooks(node, _validated(node, out, create_graph), grad, create_graph)
                if not retain_graph and (node._saved is not None or node._result is not None):
                    node._release()           # free saved tensors now: memory peaks no higher
            exact = node.exact_grads
            for (nxt, nr), g in zip(nf, out):
                if nxt is None or (needed is not None and nxt not in needed):
                    continue
                if g is not None and not exact:
                    meta = nxt._out_meta[nr]
                    if g.shape != meta[0] or g.dtype != meta[1]:
                        g = _validate(g, node, out, nxt, nr, create_graph)
                if nxt.n_outputs == 1:
                    if nxt not in buffers:               # the first gradient to reach nxt
                        buffers[nxt] = g
                        push(waiting, (-nxt._seq, nxt))
                    elif g is not None:
                        old = buffers[nxt]
                        if old is not None:
                            g = P.add(old, g)          # (on cuda our kernel, not CuPy's ufunc)
                            if not create_graph and nxt.__class__ is AccumulateGrad:
                                owned.discard(id(old))   # (a sum of ours that dies now)
                                owned.add(id(g))
                        buffers[nxt] = g
                else:
                    buf = buffers.get(nxt)
                    if buf is None:
                        buf = buffers[nxt] = [None] * nxt.n_outputs
                        push(waiting, (-nxt._seq, nxt))
                    if g is not None:
                        buf[nr] = _add(buf[nr], g)
    except BaseException:
        if anomaly:
            anomaly_mode.warn_failed_node(node)
        if not retain_graph:             # leave the graph entirely freed, not half
            for node in _graph_nodes(roots):
                node._release()
        raise
    finally:
        grad_state.enabled = prev_mode
        grad_state.running_pass = enclosing
        if needed is not None:
            for node in narrowed:
                del node.needs
    # the pass succeeded: make its effects visible (under a lock: backward passes
    # in several threads may accumulate into the same leaves, as in PyTorch)
    if pending:
        with _effects_lock:
            if not post_accumulate_hooks.registered:       # (the usual case: no per-leaf check)
                for fn, t, g in pending:
                    fn(t, g, create_graph)
            else:
                for fn, t, g in pending:
                    fn(t, g, create_graph)
                    if t._post_acc_hooks and fn is not _retain:
                        _run_post_accumulate_hooks(t, create_graph)
    return captured


_plain_execute = execute
_plain_accumulate_owned = _accumulate_owned


def _profiled_execute(root_edges, root_grads, retain_graph, create_graph, targets=None, accumulate=True):
    """execute, recording each node it runs for the profiler of this thread
    (PyTorch's "autograd::engine::evaluate_function: ..." events): the loop is
    execute's own, each node's _apply replaced for the pass by an instance
    attribute that records it and calls the node's own (its class's, or the
    instance's of a node packed by saved-tensor hooks); a node already wrapped
    by an enclosing pass keeps that wrapper."""
    from . import profiler
    session = profiler.session_here()
    if session is None:
        return _plain_execute(root_edges, root_grads, retain_graph, create_graph, targets, accumulate)
    wrapped = []
    for node in _graph_nodes([n for n, _ in root_edges]):
        if node.__class__ is AccumulateGrad:
            continue
        own = node.__dict__.get("_apply")          # (a node packed by saved-tensor hooks has its own)
        if getattr(own, "profiled", False):         # (wrapped by an enclosing pass)
            continue
        node._apply = session.node_apply(node, own)
        wrapped.append((node, own))
    try:
        return _plain_execute(root_edges, root_grads, retain_graph, create_graph, targets, accumulate)
    finally:
        for node, own in wrapped:
            if own is None:
                del node._apply
            else:
                node._apply = own


def _profiled_accumulate(var, g, create_graph):
    from .profiler import accumulate_event
    accumulate_event(_accumulate_plain, var, g, create_graph)


def _profiled_accumulate_owned(var, g, create_graph):
    from .profiler import accumulate_event
    accumulate_event(_plain_accumulate_owned, var, g, create_graph)


def profile_passes(on):
    """Backward passes record their nodes for the profiler (on) or not: the
    module names the callers and the pass look up (execute, and the leaf
    accumulations) are rebound, so that a pass pays nothing when no profiler is on."""
    global execute, _accumulate, _accumulate_owned
    if on:
        execute, _accumulate, _accumulate_owned = _profiled_execute, _profiled_accumulate, _profiled_accumulate_owned
    else:
        execute, _accumulate, _accumulate_owned = _plain_execute, _accumulate_plain, _plain_accumulate_owned


class GraphTask:
    """The backward pass running on this thread, as hooks may ask about it
    (PyTorch's graph task): one object per pass, alive while the pass runs."""
    __slots__ = ("roots", "needed", "targets", "_nodes", "__weakref__")

    def __init__(self, roots, needed, targets):
        self.roots, self.needed, self.targets, self._nodes = roots, needed, targets, None

    def will_execute(self, node):
        """Whether this pass runs `node` (PyTorch's _will_engine_execute_node):
        under grad()/backward(inputs=), the nodes leading to an input; else
        every node reachable from the outputs."""
        if self.needed is not None:
            return node in self.needed
        if self._nodes is None:
            self._nodes = _graph_nodes(self.roots)
        return node in self._nodes


def current_pass():
    """The innermost backward pass running on this thread (a GraphTask), or None."""
    record = grad_state.running_pass
    if record is None:
        return None
    if record[3] is None:
        record[3] = GraphTask(record[0], record[1], record[2])
    return record[3]


class post_accumulate_hooks:
    """registered: set once any tensor has had a post-accumulate hook (Tensor.register_post_accumulate_grad_hook)."""
    registered = False


def _run_post_accumulate_hooks(t, create_graph):
    """A leaf's register_post_accumulate_grad_hook hooks, right after its .grad
    was accumulated, in the pass's grad mode (each gets the tensor and must
    return None; PyTorch's exception types otherwise)."""
    prev = grad_state.enabled
    grad_state.enabled = create_graph
    try:
        for fn in list(t._post_acc_hooks.values()):
            r = fn(t)
            if r is None or r is t:             # (PyTorch lets a hook return the tensor it was given)
                continue
            if isinstance(r, _op.Tensor):
                raise RuntimeError("register_post_accumulate_grad_hook: a hook returned a Tensor; post accumulate "
                                   "grad hooks should return None")
            raise TypeError(f"register_post_accumulate_grad_hook: a hook must return None, but hook returned "
                            f"'{type(r).__name__}'")
    finally:
        grad_state.enabled = prev


_DONE = object()


def _index_of(out, g):
    """Which input a gradient is for (error messages only)."""
    for i, h in enumerate(out):
        if h is g:
            return i
    return -1


def _any_grad(grads):
    for g in grads:
        if g is not None:
            return True
    return False


def _ask_only_needed(node, needed, narrowed):
    """Under grad() / backward(inputs=...), a node's backward is asked only for
    the gradients that lead to a target (PyTorch's task_should_compute_output):
    Op.needs(i) answers from this pass's set until the pass ends."""
    wanted = tuple(c is not None and c in needed for c, _ in node.next_functions)
    if isinstance(node, _op.Op) and not all(w or c is None for w, (c, _) in zip(wanted, node.next_functions)):
        node.needs = wanted.__getitem__
        narrowed.append(node)


def _feeds(node, needed):
    for c, _ in node.next_functions:
        if c is not None and c in needed:
            return True
    return False


def _before_apply(node, grad, create_graph, pending, targets, target_nodes, captured, accumulate, owned):
    """Hooks, retained grads, captured inputs and leaves. Returns the grad to
    apply, or _DONE when the node has nothing more to do (a leaf)."""
    if node.__class__ is AccumulateGrad and target_nodes is None:
        var = node.variable
        if not (node._hooked or var._hooks):          # the common leaf: straight to its .grad
            if accumulate and grad is not None and var._rg:
                pending.append((_accumulate_owned if id(grad) in owned else _accumulate, var, grad))
            return _DONE
    single = node.n_outputs == 1
    grads = [grad] if single else grad
    is_acc = node.__class__ is AccumulateGrad
    if node._hooked or (is_acc and node.variable._hooks):
        grads = _run_tensor_hooks(node, grads, create_graph, pending)
        if node._pre_hooks:
            grads = _call_pre_hooks(node, grads, create_graph)
    if target_nodes is not None and node in target_nodes:
        for nr, g in enumerate(grads):
            idxs = targets.get((node, nr))
            if idxs:
                for idx in idxs:
                    captured[idx] = g
    if is_acc:                      # (a leaf with hooks, or under grad()/inputs=: its gradient may
        g = grads[0]                # be a hook's or a user's tensor, never one the engine owns)
        if accumulate and g is not None and node.variable._rg and (target_nodes is None or node in target_nodes):
            pending.append((_accumulate, node.variable, g))
        return _DONE
    return grads[0] if single else grads


class Targets(dict):
    """(node, nr) -> indices into `tensors` (the inputs of grad(), or of
    backward(inputs=...), whose non-leaf members get their .grad populated).
    `all_used`: grad() without allow_unused, which refuses a target that the
    outputs do not reach, before anything runs."""

    def __init__(self, edges, tensors, all_used=False):
        super().__init__()
        self.tensors, self.all_used = tensors, all_used
        for i, e in enumerate(edges):
            self.setdefault(e, []).append(i)


def unused_input_error(index):
    return RuntimeError(f"The differentiated Tensor at index {index} appears to not have been used in the graph. "
                        "Set allow_unused=True if this is the desired behavior.")


def _checked_hook_result(fn, r, grads):
    """What a node hook returned in place of `grads`, checked as PyTorch checks it."""
    if type(r) is not tuple:
        raise TypeError(f"expected tuple, but hook returned '{type(r).__name__}'")
    if len(r) != len(grads):
        raise RuntimeError(f"hook '{getattr(fn, '__name__', fn)}' has returned an incorrect number of values "
                           f"(got {len(r)}, but expected {len(grads)})")
    for old, new in zip(grads, r):
        if old is None and new is not None:
            raise RuntimeError("can't replace a None gradient with a non-None value")
    return r


def _call_pre_hooks(node, grads, create_graph):
    bk = node._backend
    gt = [g if (g is None or create_graph) else _wrap(g, bk) for g in grads]
    for fn in list(node._pre_hooks.values()):
        r = fn(tuple(gt))
        if r is not None:
            gt = list(_checked_hook_result(fn, r, gt))
    return [g if (g is None or create_graph) else g._data for g in gt]


def _call_post_hooks(node, out, grads, create_graph):
    bk = node._backend
    if node.n_outputs == 1:
        grads = [grads]
    wrap = (lambda g: g) if create_graph else (lambda g: None if g is None else _wrap(g, bk))
    gi = tuple(wrap(g) for g in out)
    go = tuple(wrap(g) for g in grads)
    for fn in list(node._post_hooks.values()):
        r = fn(gi, go)
        if r is not None:
            gi = _checked_hook_result(fn, r, gi)
    return tuple(g if (g is None or create_graph) else g._data for g in gi)
