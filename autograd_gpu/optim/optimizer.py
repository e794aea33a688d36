"""`Optimizer`: the base class of `SGD` and `Adam`, after `torch.optim.Optimizer`.

It holds parameter groups (a list of dicts: "params" plus the group's
hyperparameters, filled from the defaults) and per-parameter state, and gives
`zero_grad`, `state_dict` / `load_state_dict` and `add_param_group`.
Subclasses define `_check_hyperparameters(group)` and `_update(group)`; the
update writes the parameters in place without recording a graph, bumping
their version counters as an in-place op does.

Hooks, as PyTorch's: step pre/post hooks per optimizer and global ones
(`register_optimizer_step_pre_hook`), state-dict and load-state-dict pre/post
hooks. Every class's `step` is wrapped once (`__init_subclass__`); with no step
hook about, the wrapper tests one flag (`_step_hooked`) and calls straight on."""
import copy
import functools
import numbers
from collections import OrderedDict, defaultdict
import warnings

from ..autograd import op as _op
from ..autograd.graph import RemovableHandle
from ..autograd.grad_mode import no_grad, enable_grad
from ..creation import tensor as _tensor
from ..tensor import Tensor


def bump_version(t):
    """Record an in-place write to t's array made outside the op machinery."""
    t._vc[0] += 1           # the core's version counter: a one-element list shared with views


# the global step hooks (register_optimizer_step_*_hook), around every optimizer's step
_global_optimizer_pre_hooks = OrderedDict()
_global_optimizer_post_hooks = OrderedDict()

# the per-optimizer hook registries, PyTorch's names
_HOOK_STORES = ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks", "_optimizer_state_dict_pre_hooks",
                "_optimizer_state_dict_post_hooks", "_optimizer_load_state_dict_pre_hooks",
                "_optimizer_load_state_dict_post_hooks")


def register_optimizer_step_pre_hook(hook):
    """hook(optimizer, args, kwargs) -> None or (new_args, new_kwargs), before every
    optimizer's step (before its own pre-hooks). args start with the optimizer."""
    return _register_global(_global_optimizer_pre_hooks, hook)


def register_optimizer_step_post_hook(hook):
    """hook(optimizer, args, kwargs) -> None, after every optimizer's step (after its own post-hooks)."""
    return _register_global(_global_optimizer_post_hooks, hook)


def _register_global(store, hook):
    handle = RemovableHandle(store)
    store[handle.id] = hook
    Optimizer._step_hooked = True       # (every optimizer now takes the hooked path)
    return handle


def _with_step_hooks(step):
    """`step` behind one flag test: the hooked path only when a step hook is registered."""
    @functools.wraps(step)
    def hooked_step(self, *args, **kwargs):
        if _op._intercept and _profiling():
            with _profiled_range(self, "step"):
                return _call_step_with_hooks(self, step, args, kwargs) if self._step_hooked else \
                    step(self, *args, **kwargs)
        if self._step_hooked:
            return _call_step_with_hooks(self, step, args, kwargs)
        return step(self, *args, **kwargs)
    hooked_step.step_hooks_wrapped = True
    return hooked_step


def _profiling():
    from ..autograd.profiler import session_here
    return session_here() is not None


def _profiled_range(self, what):
    """PyTorch's profiler range around an optimizer's step or zero_grad: "Optimizer.step#SGD.step"."""
    from ..autograd.profiler import record_function
    return record_function(f"Optimizer.{what}#{type(self).__name__}.{what}")


def _call_step_with_hooks(self, step, args, kwargs):
    """PyTorch's hooked step: global then own pre-hooks (each may return new
    (args, kwargs); args start with the optimizer), step, own then global post-hooks."""
    d = self.__dict__
    own_pre, own_post = d.get("_optimizer_step_pre_hooks"), d.get("_optimizer_step_post_hooks")
    if not (_global_optimizer_pre_hooks or _global_optimizer_post_hooks):
        Optimizer._step_hooked = False          # (the global hooks are all removed)
    if not (own_pre or own_post):
        d.pop("_step_hooked", None)
    if d.get("_in_hooked_step"):                # a subclass's step calling super().step(): hooks ran once
        return step(self, *args, **kwargs)
    args = (self, *args)
    for hook in (*_global_optimizer_pre_hooks.values(), *(own_pre or {}).values()):
        result = hook(self, args, kwargs)
        if result is not None:
            if not (isinstance(result, tuple) and len(result) == 2):
                raise RuntimeError(f"{step} must return None or a tuple of (new_args, new_kwargs), but got "
                                   f"{result}.")
            args, kwargs = result
    d["_in_hooked_step"] = True
    try:
        out = step(*args, **kwargs)
    finally:
        d.pop("_in_hooked_step", None)
    for hook in (*(own_post or {}).values(), *_global_optimizer_post_hooks.values()):
        hook(self, args, kwargs)
    return out


class Optimizer:
    _step_hooked = False    # set on an optimizer when a step hook is registered (on the class for global ones)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "step_hooks_wrapped", False):
            cls.step = _with_step_hooks(step)

    def __init__(self, params, defaults):
        for store in _HOOK_STORES:
            setattr(self, store, OrderedDict())
        self.defaults = dict(defaults)
        self._check_hyperparameters(self.defaults)
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            f"but got {params.type()}")
        if isinstance(params, dict):
            params = [params]
        try:
            groups = list(params)
        except TypeError:
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            f"but got {type(params).__name__}") from None
        if not groups:
            raise ValueError(f"{type(self).__name__}: optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        self.state = defaultdict(dict)          # as PyTorch: state[p] of a new parameter is {}
        self.param_groups = []
        for g in groups:
            self.add_param_group(g)

    # ---- hooks for subclasses -----------------------------------------------------------
    def _check_hyperparameters(self, group):
        """Raise ValueError for an invalid hyperparameter of a group (or of the defaults)."""

    def _update(self, group):
        raise NotImplementedError

    # ---- hooks ----------------------------------------------------------------------------------
    def _add_hook(self, store, hook, prepend=False):
        hooks = self.__dict__.get(store)
        if hooks is None:                       # (a subclass that skipped Optimizer.__init__)
            hooks = self.__dict__[store] = OrderedDict()
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    def register_step_pre_hook(self, hook):
        """hook(optimizer, args, kwargs) -> None or (new_args, new_kwargs), before step;
        args start with the optimizer."""
        handle = self._add_hook("_optimizer_step_pre_hooks", hook)
        self._step_hooked = True
        return handle

    def register_step_post_hook(self, hook):
        """hook(optimizer, args, kwargs) -> None, after step."""
        handle = self._add_hook("_optimizer_step_post_hooks", hook)
        self._step_hooked = True
        return handle

    def register_state_dict_pre_hook(self, hook, prepend=False):
        """hook(optimizer) -> None, before state_dict builds its dict."""
        return self._add_hook("_optimizer_state_dict_pre_hooks", hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend=False):
        """hook(optimizer, state_dict) -> None or a state dict that replaces it."""
        return self._add_hook("_optimizer_state_dict_post_hooks", hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend=False):
        """hook(optimizer, state_dict) -> None or a state dict that replaces it; it gets
        a shallow copy of the dict given to load_state_dict."""
        return self._add_hook("_optimizer_load_state_dict_pre_hooks", hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend=False):
        """hook(optimizer) -> None, after a load."""
        return self._add_hook("_optimizer_load_state_dict_post_hooks", hook, prepend)

    def __getstate__(self):
        # as PyTorch's: hooks are not pickled (nor deep-copied), nor is an lr scheduler's
        # wrapper of this optimizer's step (an instance attribute "step")
        state = self.__dict__.copy()
        for key in (*_HOOK_STORES, "_step_hooked", "_in_hooked_step", "step"):
            state.pop(key, None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        for store in _HOOK_STORES:
            self.__dict__.setdefault(store, OrderedDict())

    # ---- parameter groups ------------------------------------------------------------------
    def add_param_group(self, param_group):
        """Add a group: {"params": [...], and any hyperparameter overriding the defaults}.
        Checked completely before it is added."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group.get("params")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering "
                            "of tensors in sets will change between runs. Please use a list instead.")
        elif params is None:
            raise ValueError("param_group must have a 'params' entry")
        else:
            params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
            if not p.is_floating_point():
                raise TypeError(f"optimizer can only optimize floating point Tensors, got {p.type()}")
        group = dict(param_group)
        group["params"] = params
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self._check_hyperparameters(group)
        if len({id(p) for p in params}) != len(params):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, this will "
                          "cause an error", UserWarning, stacklevel=3)
        taken = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in taken for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    # ---- the step ----------------------------------------------------------------------------
    def step(self, closure=None):
        """One update of every parameter that has a gradient. `closure`, if
        given, re-evaluates the model and returns the loss (run with grad on)."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                self._update(group)
        return loss

    def zero_grad(self, set_to_none=True):
        """Reset the gradients of all parameters: to None (default), or to zeros."""
        from ..nn.utils import zero_grads
        if _op._intercept and _profiling():
            with _profiled_range(self, "zero_grad"):
                return zero_grads((p for group in self.param_groups for p in group["params"]), set_to_none)
        zero_grads((p for group in self.param_groups for p in group["params"]), set_to_none)

    # ---- state dict ------------------------------------------------------------------------------
    def state_dict(self):
        """{"state": {index: per-parameter state}, "param_groups": [group with
        "params" as indices]}: parameters are numbered in group order, as
        in PyTorch. State tensors are the optimizer's own (not copies)."""
        pre_hooks, post_hooks = self.__dict__.get("_optimizer_state_dict_pre_hooks"), \
            self.__dict__.get("_optimizer_state_dict_post_hooks")
        for hook in list((pre_hooks or {}).values()):
            hook(self)
        state_dict = self._build_state_dict()
        for hook in list((post_hooks or {}).values()):
            result = hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    def _build_state_dict(self):
        index = {}
        groups = []
        for g in self.param_groups:
            packed = {k: v for k, v in g.items() if k != "params"}
            ids = []
            for p in g["params"]:
                if id(p) not in index:
                    index[id(p)] = len(index)
                ids.append(index[id(p)])
            packed["params"] = ids
            groups.append(packed)
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Load state saved by `state_dict()` (possibly from another device or
        dtype: state tensors are copied to each parameter's device and dtype).
        Every check runs before anything changes."""
        pre_hooks, post_hooks = self.__dict__.get("_optimizer_load_state_dict_pre_hooks"), \
            self.__dict__.get("_optimizer_load_state_dict_post_hooks")
        if pre_hooks:
            state_dict = state_dict.copy()      # (as PyTorch's: the hooks may edit a shallow copy)
            for hook in list(pre_hooks.values()):
                result = hook(self, state_dict)
                if result is not None:
                    state_dict = result
        self._load_state_dict(state_dict)
        for hook in list((post_hooks or {}).values()):
            hook(self)

    def _load_state_dict(self, state_dict):
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError("optimizer state_dict must be a dict with 'state' and 'param_groups' entries")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has a different number of parameter groups "
                             f"({len(saved_groups)} vs {len(self.param_groups)})")
        for i, (g, s) in enumerate(zip(self.param_groups, saved_groups)):
            if len(g["params"]) != len(s["params"]):
                raise ValueError(f"loaded state dict contains a parameter group that doesn't match the size of "
                                 f"optimizer's group (group {i}: {len(s['params'])} vs {len(g['params'])} "
                                 "parameters)")
        id_map = {}
        for g, s in zip(self.param_groups, saved_groups):
            id_map.update(zip(s["params"], g["params"]))
        new_groups = []
        for g, s in zip(self.param_groups, saved_groups):
            group = {k: copy.deepcopy(v) for k, v in s.items() if k != "params"}
            group["params"] = g["params"]
            for key, value in self.defaults.items():
                group.setdefault(key, value)
            self._check_hyperparameters(group)
            new_groups.append(group)
        new_state = defaultdict(dict)
        with no_grad():
            for key, saved in state_dict["state"].items():
                p = id_map.get(key)
                if p is None:
                    continue
                if not isinstance(saved, dict):
                    raise ValueError(f"optimizer state of parameter {key} must be a dict, got "
                                     f"{type(saved).__name__}")
                new_state[p] = {name: self._restore(p, name, value, key) for name, value in saved.items()}
        self.param_groups[:] = new_groups
        self.state = new_state

    @staticmethod
    def _restore(param, name, value, key):
        """A private copy of one state entry, on the parameter's device; floating
        tensors take its dtype, except "step" (a float32 CPU counter, as PyTorch)."""
        if name == "step":
            if isinstance(value, Tensor):
                return _tensor(value.item(), dtype="float32")
            if isinstance(value, numbers.Real):
                return _tensor(float(value), dtype="float32")
        if isinstance(value, Tensor):
            if value.shape != param.shape:
                raise ValueError(f"loaded optimizer state {name!r} of parameter {key} has shape "
                                 f"{list(value.shape)}, but the parameter has shape {list(param.shape)}")
            dtype = param.dtype if value.is_floating_point() else None
            out = value.to(device=param.device, dtype=dtype)
            return out.clone() if out is value else out.detach()
        return copy.deepcopy(value)

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(g):
                if k != "params":
                    lines.append(f"    {k}: {g[k]}")
        lines.append(")")
        return "\n".join(lines)


Optimizer.step = _with_step_hooks(Optimizer.step)


def check_number(name, value, low=0.0, high=None, high_open=True, message=None):
    """Hyperparameter check with PyTorch's messages: a number in [low, high)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    # `not low <= value`: NaN fails it, as in PyTorch's Adam (its SGD lets NaN through; we do not)
    if not low <= value or (high is not None and (value >= high if high_open else value > high)):
        raise ValueError(message or f"Invalid {name} value: {value}")
