"""`Optimizer`: the base class of `SGD` and `Adam`, after `torch.optim.Optimizer`.

It holds parameter groups (a list of dicts: "params" plus the group's
hyperparameters, filled from the defaults) and per-parameter state, and gives
`zero_grad`, `state_dict` / `load_state_dict` and `add_param_group`.
Subclasses define `_check_hyperparameters(group)` and `_update(group)`; the
update writes the parameters in place without recording a graph, bumping
their version counters as an in-place op does."""
import copy
import numbers
from collections import defaultdict
import warnings

from ..autograd.grad_mode import no_grad, enable_grad
from ..creation import tensor as _tensor
from ..tensor import Tensor


def bump_version(t):
    """Record an in-place write to t's array made outside the op machinery."""
    t._vc[0] += 1           # the core's version counter: a one-element list shared with views


class Optimizer:
    def __init__(self, params, defaults):
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
        zero_grads((p for group in self.param_groups for p in group["params"]), set_to_none)

    # ---- state dict ------------------------------------------------------------------------------
    def state_dict(self):
        """{"state": {index: per-parameter state}, "param_groups": [group with
        "params" as indices]}: parameters are numbered in group order, as
        in PyTorch. State tensors are the optimizer's own (not copies)."""
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


def check_number(name, value, low=0.0, high=None, high_open=True, message=None):
    """Hyperparameter check with PyTorch's messages: a number in [low, high)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    # `not low <= value`: NaN fails it, as in PyTorch's Adam (its SGD lets NaN through; we do not)
    if not low <= value or (high is not None and (value >= high if high_open else value > high)):
        raise ValueError(message or f"Invalid {name} value: {value}")
