"""Graph nodes: a `Node` is a tensor's `grad_fn`. It holds edges to the nodes of
its inputs (`next_functions`), what its backward needs (saved tensors with
their versions) and hooks. Nodes never hold their outputs strongly, so a graph
is freed as soon as the last tensor referring to it goes away."""
import itertools
import weakref

FREED_MSG = ("Trying to backward through the graph a second time (or directly access saved "
             "tensors after they have already been freed). Saved intermediate values of the graph "
             "are freed when you call .backward() or autograd.grad(). Specify retain_graph=True if "
             "you need to backward through the graph a second time or if you need to access saved "
             "tensors after calling backward.")


# A tensor's version counter is a one-element list, [n], shared by the tensor
# and its views and bumped by every in-place write (a list is the cheapest
# mutable cell to create: one per op output).


def version_error(node, index, shape, dtype_name, device_prefix, now, expected):
    """`node`/`index`: the modified tensor's producer and its output number
    (None for a leaf: PyTorch then names none)."""
    from .anomaly_mode import state as anomaly
    dims = "x".join(str(s) for s in shape)
    which = f", which is output {index} of {node.name()}," if node is not None else ""
    hint = ("the backtrace further above shows the operation that failed to compute its gradient. The variable "
            "in question was changed in there or anywhere later. Good luck!" if anomaly.enabled else
            "the backtrace further above can be found by enabling anomaly detection... or, more simply, "
            "avoid modifying in place a tensor that backward needs.")
    return RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [{device_prefix}{dtype_name}Type [{dims}]]{which} is at version {now}; expected "
        f"version {expected} instead. Hint: {hint}")


# A node's sequence number is drawn when its edges are set, so after the nodes
# they lead to exist (a leaf's AccumulateGrad and a regenerated view's node are
# made while the edges are taken): every node's number is higher than those of
# the nodes its edges lead to. The engine runs nodes by decreasing number, as
# PyTorch's ready queue orders them by sequence_nr.
next_sequence_nr = itertools.count().__next__


class RemovableHandle:
    """Returned by register_hook; `.remove()` unregisters the hook (from
    `hooks_dict` and from `extra_dict`, a dict or a list of dicts that may
    hold the hook's id too: a module's with_kwargs and always_call marks)."""
    _ids = itertools.count()

    def __init__(self, hooks_dict, *, extra_dict=None):
        self.id = next(RemovableHandle._ids)
        self._hooks_ref = weakref.ref(hooks_dict) if hooks_dict is not None else None
        extras = () if extra_dict is None else extra_dict if isinstance(extra_dict, list) else [extra_dict]
        self._extra_refs = tuple(weakref.ref(d) for d in extras)

    def remove(self):
        for ref in (self._hooks_ref, *self._extra_refs):
            hooks = ref() if ref is not None else None
            if hooks is not None:
                hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class HookDict(dict):
    """A dict that can be weakly referenced (handles point at it weakly)."""
    __slots__ = ("__weakref__",)


def add_hook(store, fn):
    handle = RemovableHandle(store)
    store[handle.id] = fn
    return handle


class Node:
    """Base of all graph nodes. Subclasses set `_name` (the libtorch name) and
    implement `_apply(grad, create_graph)`: the output grad in (a list of them
    for nodes with several outputs), a tuple of input grads out (one per entry
    of `next_functions`, None where there is none)."""
    _name = "Node"
    n_outputs = 1
    next_functions = ()
    exact_grads = False         # input grads always have the inputs' shape and dtype (no check)
    _slow = False               # hooks, retained grads, a leaf, or several outputs: the engine's slow path
    _saved = None               # what backward needs (released after backward)
    _result = None
    _copy_slices = None         # weakref to the CopySlices that runs this node (an in-place write on a view)
    _out_meta = ()              # ((shape, numpy dtype), ...) per output
    _backend = None
    _hooked = False             # any hook or retained grad
    _tensor_hooks = None        # {output_nr: HookDict} registered by tensors
    _retain = None              # {output_nr: weakref to the tensor retaining grad}
    _pre_hooks = None
    _post_hooks = None
    _metadata = None

    def name(self):
        return self._name

    def __repr__(self):
        return self._name

    @property
    def metadata(self):
        if self._metadata is None:
            self._metadata = {}
        return self._metadata

    def register_hook(self, fn):
        """fn(grad_inputs, grad_outputs) -> None or replacement grad_inputs."""
        if self._post_hooks is None:
            self._post_hooks = HookDict()
        self._hooked = self._slow = True
        return add_hook(self._post_hooks, fn)

    def register_prehook(self, fn):
        """fn(grad_outputs) -> None or replacement grad_outputs."""
        if self._pre_hooks is None:
            self._pre_hooks = HookDict()
        self._hooked = self._slow = True
        return add_hook(self._pre_hooks, fn)

    def _tensor_hook_store(self, output_nr):
        if self._tensor_hooks is None:
            self._tensor_hooks = {}
        self._hooked = self._slow = True
        store = self._tensor_hooks.get(output_nr)
        if store is None:
            store = self._tensor_hooks[output_nr] = HookDict()
        return store

    def _release(self):
        """Free what backward saved (after a backward without retain_graph)."""

    def _apply(self, grads, create_graph):
        raise NotImplementedError


class AccumulateGrad(Node):
    """The node of a leaf that requires grad: its backward adds into `.grad`."""
    _name = "torch::autograd::AccumulateGrad"
    _slow = True

    def __init__(self, variable):
        self._seq = next_sequence_nr()
        self.variable = variable
        d = variable._data
        self._out_meta = ((d.shape, d.dtype),)
        self._backend = variable._backend


# ---- torch.autograd.graph's helpers ------------------------------------------------
# GradientEdge / get_gradient_edge, register_multi_grad_hook, increment_version.

import threading  # noqa: E402
import typing  # noqa: E402


class GradientEdge(typing.NamedTuple):
    """Where the gradient of a tensor is computed: output `output_nr` of `node`
    (a leaf's AccumulateGrad, output 0). Holding it keeps that node alive.
    `ownership_token` is always None here: our nodes are Python objects that
    hold their graph themselves (PyTorch needs a token for Python nodes only)."""
    node: Node
    output_nr: int
    ownership_token: typing.Optional[Node] = None


def _grad_fn_or_grad_acc(t):
    """The node through which gradient reaches `t` (a leaf: its AccumulateGrad)."""
    if isinstance(t, GradientEdge):
        return t.node
    from .op import edge
    node = edge(t)[0]
    if node is None:
        raise AssertionError("Expected gradient function to be set")     # (PyTorch's exception)
    return node


def get_gradient_edge(tensor):
    """The GradientEdge for `tensor`: grad(loss, get_gradient_edge(x)) equals grad(loss, x)."""
    if not tensor.requires_grad:
        raise RuntimeError("It is not possible to get the gradient edge for a Tensor that does not require "
                           "gradients")
    from .op import edge
    node, output_nr = edge(tensor)
    return GradientEdge(node, output_nr)


def increment_version(tensor):
    """Bump the version counter of `tensor` (or of each tensor of an iterable),
    to tell autograd about an in-place write it did not see (a custom kernel
    writing into the array). Views share the counter of their base."""
    from .op import Tensor
    if isinstance(tensor, Tensor):
        tensor = (tensor,)
    try:
        tensors = tuple(tensor)
    except TypeError:
        raise RuntimeError("increment_version expect a Iterable[Tensor] as input") from None
    for t in tensors:             # (all checked before any is bumped: a failed call changes nothing)
        if not isinstance(t, Tensor):
            raise RuntimeError("increment_version expects each element of the iterable to be a tensor")
    for t in tensors:
        t._vc[0] += 1


# A backward pass is identified by a token stored in the local variables of
# its engine.execute frame: the token lives exactly as long as that pass (its
# frame), so per-pass state kept in weak dictionaries keyed by the token goes
# away with the pass, also when the pass failed halfway. Nested passes (a hook
# running its own backward) and passes in other threads have their own frames.
def _current_graph_task():
    """The innermost backward pass running on this thread (None outside backward)."""
    from .engine import current_pass
    return current_pass()


class _MultiHandle(RemovableHandle):
    """register_multi_grad_hook's handle: removes the hook from every tensor."""

    def __init__(self, handles):
        self.handles = tuple(handles)

    def remove(self):
        for handle in self.handles:
            handle.remove()


def _task_in_backward():
    task = _current_graph_task()
    if task is None:
        raise AssertionError("expected this hook to be called inside a backward call")
    return task


def _all_grads_hook(tensors, fn):
    """mode="all": call fn once per pass, once every tensor whose node the pass
    runs got its gradient, with the list of gradients (None where none came)."""
    grad_fns = [_grad_fn_or_grad_acc(t) for t in tensors]     # (held: a leaf's AccumulateGrad stays the same)
    per_task = weakref.WeakKeyDictionary()        # task -> [hooks still to come, gradients]
    lock = threading.Lock()

    def make_inner(idx):
        def inner_hook(grad):
            task = _task_in_backward()
            with lock:
                state = per_task.get(task)
                if state is None:
                    expected = sum(map(task.will_execute, grad_fns))
                    state = per_task[task] = [expected, [None] * len(grad_fns)]
                state[1][idx] = grad
                state[0] -= 1
                done = state[0] == 0
                if done:
                    del per_task[task]
            if done:
                fn(state[1])
        return inner_hook

    return _MultiHandle(t.register_hook(make_inner(i)) for i, t in enumerate(tensors))


def _any_grad_hook(tensors, fn):
    """mode="any": call fn once per pass, with the first gradient computed
    among the tensors' (tensors not requiring grad are ignored)."""
    ran = weakref.WeakSet()
    lock = threading.Lock()

    def wrapped_fn(grad):
        task = _task_in_backward()
        with lock:
            first = task not in ran
            ran.add(task)
        if first:
            fn(grad)

    return _MultiHandle(t.register_hook(wrapped_fn) for t in tensors if t.requires_grad)


def register_multi_grad_hook(tensors, fn, *, mode="all"):
    """Register `fn` on several tensors at once. mode="all": fn(grads) after
    the gradients of all those tensors that the pass computes arrived (None for
    the others); mode="any": fn(grad) with the first of them. Once per backward
    pass (passes in other threads, or nested in a hook, count apart). fn
    returns None. Returns a handle whose .remove() unregisters it."""
    supported_modes = ("all", "any")
    if mode not in supported_modes:
        raise ValueError(f"Expects mode to be one of {supported_modes} but got {mode}")
    tensors = tuple(tensors)
    if mode == "all":
        return _all_grads_hook(tensors, fn)
    return _any_grad_hook(tensors, fn)


_SAVED_HOOKS = ("saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks", "allow_mutation_on_saved_tensors")


def __getattr__(name):
    # the saved-tensor hooks live in saved_hooks, which imports op, which imports this module
    if name in _SAVED_HOOKS:
        from . import saved_hooks
        return getattr(saved_hooks, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SAVED_HOOKS))
