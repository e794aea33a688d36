"""`Module`: the base class of layers and models, after `torch.nn.Module`.

A module owns parameters, buffers and submodules, registered by assigning
them as attributes (`self.fc = Linear(3, 2)`, `self.w = Parameter(...)`) and
kept in three ordered dicts, so that `named_parameters()` and `state_dict()`
list them in the order they were assigned, recursively. Calling a module calls
its `forward`."""
import functools
import warnings
from collections import OrderedDict, namedtuple
from collections.abc import Mapping

from .. import _dtype
from ..autograd.grad_mode import no_grad
from ..autograd.graph import RemovableHandle
from ..backend import device as _device
from ..tensor import Tensor
from .parameter import Buffer, Parameter
from . import module_hooks


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What `load_state_dict` returns: the keys it did not find, and the ones it did not use."""

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _addindent(text, spaces):
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    pad = " " * spaces
    return lines[0] + "\n" + "\n".join(pad + line for line in lines[1:])


def _type_name(value):
    return type(value).__name__


class Module:
    """Base class of all neural-network modules. Subclasses call
    `super().__init__()` first, then assign parameters and submodules, and
    define `forward`."""

    # True: Module.__init__ passes its arguments on to the next class in the MRO (cooperative
    # multiple inheritance); False (PyTorch's default): Module.__init__ takes no arguments
    call_super_init = False

    def __init__(self, *args, **kwargs):
        if not self.call_super_init and kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got an unexpected keyword argument "
                            f"'{next(iter(kwargs))}'")
        if not self.call_super_init and args:
            raise TypeError(f"{type(self).__name__}.__init__() takes 1 positional argument but {len(args) + 1} "
                            "were given")
        # plain object attributes: __setattr__ below would route them otherwise
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        if self.call_super_init:
            super().__init__(*args, **kwargs)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    _hooked = False         # set when a hook is registered (on the module; on the class for global hooks)

    def __call__(self, *args, **kwargs):
        if self._hooked:
            return self._call_hooked(args, kwargs)
        return self.forward(*args, **kwargs)

    def _call_hooked(self, args, kwargs):
        result = module_hooks.call_with_hooks(self, args, kwargs)
        non_full = self.__dict__.get("_non_full_backward_hooks")
        if non_full:
            _attach_non_full_backward_hooks(self, list(non_full.values()), args, result)
        return result

    # ---- hooks (nn/module_hooks.py) ---------------------------------------------------
    def _add_hook(self, store, hook, prepend=False, extras=()):
        handle = RemovableHandle(getattr(self, store), extra_dict=[getattr(self, e) for e in extras])
        hooks = getattr(self, store)
        hooks[handle.id] = hook
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        object.__setattr__(self, "_hooked", True)
        return handle

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """hook(module, args) -> None or new args (a value or a tuple); with_kwargs:
        hook(module, args, kwargs) -> None or (new_args, new_kwargs). Runs before forward."""
        handle = self._add_hook("_forward_pre_hooks", hook, prepend, ("_forward_pre_hooks_with_kwargs",))
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs[handle.id] = True
        return handle

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False, always_call=False):
        """hook(module, args, output) (with_kwargs: hook(module, args, kwargs, output))
        -> None or a new output. Runs after forward (always_call: even when it raised)."""
        handle = self._add_hook("_forward_hooks", hook, prepend,
                                ("_forward_hooks_with_kwargs", "_forward_hooks_always_called"))
        if with_kwargs:
            self._forward_hooks_with_kwargs[handle.id] = True
        if always_call:
            self._forward_hooks_always_called[handle.id] = True
        return handle

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """hook(module, grad_output) -> None or a new grad_output, when the gradients
        with respect to the module's outputs are known."""
        return self._add_hook("_backward_pre_hooks", hook, prepend)

    def register_full_backward_hook(self, hook, prepend=False):
        """hook(module, grad_input, grad_output) -> None or a new grad_input, when the
        gradients with respect to the module's tensor inputs are known."""
        if self.__dict__.get("_non_full_backward_hooks"):
            raise RuntimeError(_MIXED_BACKWARD_HOOKS)
        return self._add_hook("_backward_hooks", hook, prepend)

    def register_backward_hook(self, hook):
        """Deprecated (PyTorch's non-full backward hook): hook(module, grad_input,
        grad_output) -> None or a new grad_input, registered on the grad_fn of the
        module's (first) output at each call. grad_input are the gradients of that
        node's inputs, grad_output of its outputs: the module's inputs and outputs
        only when forward is a single op (a FutureWarning says when not)."""
        if self.__dict__.get("_backward_hooks"):
            raise RuntimeError(_MIXED_BACKWARD_HOOKS)
        return self._add_hook("_non_full_backward_hooks", hook)

    def register_state_dict_pre_hook(self, hook):
        """hook(module, prefix, keep_vars), before the module's state_dict entries are made."""
        return self._add_hook("_state_dict_pre_hooks", hook)

    def register_state_dict_post_hook(self, hook):
        """hook(module, state_dict, prefix, local_metadata) -> None (may edit state_dict in place)."""
        return self._add_hook("_state_dict_hooks", hook)

    def register_load_state_dict_pre_hook(self, hook):
        """hook(module, state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs), before loading (may edit the state dict and lists)."""
        return self._add_hook("_load_state_dict_pre_hooks", hook)

    def register_load_state_dict_post_hook(self, hook):
        """hook(module, incompatible_keys) -> None (may edit its missing_keys and
        unexpected_keys in place), after loading."""
        return self._add_hook("_load_state_dict_post_hooks", hook)

    # ---- registration -----------------------------------------------------------
    def _check_new_name(self, name, kind):
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {_type_name(name)}")
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {kind} before Module.__init__() call")
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')
        if "." in name:
            raise KeyError(f'{kind} name can\'t contain ".", got "{name}"')

    def register_parameter(self, name, param):
        """Add a parameter (a `Parameter`, or None for a declared but absent one)."""
        self._check_new_name(name, "parameter")
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{_type_name(param)}' object to parameter '{name}' "
                            "(ag.nn.Parameter or None required)")
        if param is not None and not param.is_leaf:
            raise ValueError(f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must be "
                             f"created explicitly; to express '{name}' as a function of another Tensor, "
                             "compute the value in the forward() method.")
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Add a tensor that is state but not a parameter (saved in the state
        dict unless `persistent=False`; moved by `to()`)."""
        self._check_new_name(name, "buffer")
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{_type_name(tensor)}' object to buffer '{name}' "
                            "(ag.Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name, module):
        """Add a submodule (or None)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{_type_name(module)} is not a Module subclass")
        self._check_new_name(name, "module")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name, value):
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._forget(name, keep="_parameters")     # a reassigned parameter keeps its place
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{_type_name(value)}' as parameter '{name}' "
                                "(ag.nn.Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            if d.get("_modules") is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._forget(name, keep="_modules")
            self._modules[name] = value
        elif d.get("_modules") is not None and name in d["_modules"]:
            if value is not None:
                raise TypeError(f"cannot assign '{_type_name(value)}' as child module '{name}' "
                                "(ag.nn.Module or None expected)")
            d["_modules"][name] = None
        elif isinstance(value, Buffer):                  # (PyTorch's register_buffer checks and all)
            if d.get("_buffers") is None:
                raise AttributeError("cannot assign buffer before Module.__init__() call")
            self.register_buffer(name, value, value.persistent)
        elif d.get("_buffers") is not None and name in d["_buffers"]:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{_type_name(value)}' as buffer '{name}' "
                                "(ag.Tensor or None expected)")
            d["_buffers"][name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name, keep):
        """Remove `name` from the registries other than `keep` (it is being
        reassigned as a `keep` entry; there it keeps its place)."""
        self.__dict__.pop(name, None)
        for store in ("_parameters", "_buffers", "_modules"):
            if store != keep:
                self.__dict__[store].pop(name, None)
        self._non_persistent_buffers.discard(name)

    def __getattr__(self, name):
        # only called when normal lookup fails: look in the registries
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            reg = d.get(store)
            if reg is not None and name in reg:
                return reg[name]
        if name in _HOOK_STORES and "_parameters" in d:     # (made on first use: most modules have none)
            store = d[name] = OrderedDict()
            return store
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for store in ("_parameters", "_buffers", "_modules"):
            reg = self.__dict__.get(store)
            if reg is not None and name in reg:
                del reg[name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def __getstate__(self):
        return self.__dict__.copy()

    def __setstate__(self, state):
        """Unpickle, also a module pickled by a version without some registries:
        the hook registries are made on first use; the rest is filled in here."""
        self.__dict__.update(state)
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            d.setdefault(store, OrderedDict())
        d.setdefault("_non_persistent_buffers", set())
        d.setdefault("training", True)
        if any(d.get(store) for store in _HOOK_STORES):
            d["_hooked"] = True             # (the call flag, for a module pickled with hooks but without it)

    def __dir__(self):
        keys = set(super().__dir__())
        for store in ("_parameters", "_buffers", "_modules"):
            keys.update(self.__dict__.get(store, ()))
        return sorted(keys)

    # ---- traversal ----------------------------------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(name, module) for this module and every descendant, depth first."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, sub, remove_duplicate)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        """(name, module) for the direct submodules."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, store, prefix, recurse, remove_duplicate):
        seen = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [
            (prefix, self)]
        for mod_prefix, module in modules:
            for name, value in module.__dict__[store].items():
                if value is None:
                    continue
                if remove_duplicate:
                    if id(value) in seen:
                        continue
                    seen.add(id(value))
                yield mod_prefix + ("." if mod_prefix else "") + name, value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, parameter), in registration order, submodules after
        the module's own; a parameter shared by two modules is listed once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target):
        """The submodule at a dotted path ("" is the module itself)."""
        module = self
        if target == "":
            return module
        for part in target.split("."):
            sub = module._modules.get(part)
            if sub is None:
                raise AttributeError(f"{type(module).__name__} has no attribute `{part}` (looking up '{target}')")
            module = sub
        return module

    def set_submodule(self, target, module, strict=False):
        """Put `module` at a dotted path: replacing a submodule, or (unless strict)
        adding one to an existing parent."""
        if target == "":
            raise ValueError("Cannot set the submodule without a target name!")
        if not isinstance(module, Module):
            raise ValueError(f"`module` is not an nn.Module, found {type(module)}")
        parent_path, _, name = target.rpartition(".")
        parent = self.get_submodule(parent_path)
        if strict and not hasattr(parent, name):
            raise AttributeError(f"{parent._get_name()} has no attribute `{name}`")
        if hasattr(parent, name) and not isinstance(getattr(parent, name), Module):
            raise AttributeError(f"`{name}` is not an nn.Module")
        setattr(parent, name, module)

    def get_buffer(self, target):
        """The buffer at a dotted path (None for a declared but absent one)."""
        mod_path, _, name = target.rpartition(".")
        module = self.get_submodule(mod_path)
        if not hasattr(module, name):
            raise AttributeError(f"{module._get_name()} has no attribute `{name}`")
        if name not in module._buffers:
            raise AttributeError(f"`{name}` is not a buffer")
        return module._buffers[name]

    def get_parameter(self, target):
        mod_path, _, name = target.rpartition(".")
        module = self.get_submodule(mod_path)
        p = module._parameters.get(name)
        if p is None:
            raise AttributeError(f"{type(module).__name__} has no parameter `{name}`")
        return p

    def apply(self, fn):
        """Call fn on every submodule (children first) and on self; returns self."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ---- modes and gradients -------------------------------------------------------
    def train(self, mode=True):
        if not isinstance(mode, bool):
            raise ValueError(f"training mode is expected to be boolean, got {_type_name(mode)}")
        self.training = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Reset the gradients of all parameters: to None (default), or to zeros."""
        from .utils import zero_grads
        zero_grads(self.parameters(), set_to_none)

    # ---- moving between devices and dtypes ----------------------------------------------
    def to(self, *args, **kwargs):
        """Move (and/or cast) every parameter and buffer, in place:
        `to(device)`, `to(dtype)`, `to(device, dtype)`, `to(tensor)`,
        `to(device=..., dtype=...)`. Only floating tensors change dtype.
        Parameters stay the same objects, so an optimizer holding them keeps
        working. Returns self."""
        device, dtype = _parse_to(args, kwargs)

        def convert(t):
            return t.to(device=device, dtype=dtype if t.is_floating_point() else None)
        return self._apply(convert)

    def cuda(self, device=None):
        return self.to("cuda" if device is None else (device if not isinstance(device, int) else f"cuda:{device}"))

    def cpu(self):
        return self.to("cpu")

    def float(self):
        return self.to(_dtype.float32)

    def double(self):
        return self.to(_dtype.float64)

    def half(self):
        return self.to(_dtype.float16)

    def type(self, dst_type):
        """Cast every parameter and buffer (integer ones too, as PyTorch) to dst_type. Returns self."""
        return self._apply(lambda t: t.type(dst_type))

    def to_empty(self, *, device, recurse=True):
        """Replace every parameter and buffer (recurse=False: this module's own)
        by an uninitialized one of the same shape and dtype on `device` (None:
        where it is). Parameters stay the same objects. Returns self."""
        from ..creation import empty_like
        if device is not None:
            device = _device(device)
        return self._apply(lambda t: empty_like(t, device=device), recurse=recurse)

    def share_memory(self):
        """Calls share_memory_() on every parameter and buffer; returns self. Here that
        moves nothing: NumPy and CuPy arrays stay where they are (Tensor.share_memory_)."""
        return self._apply(lambda t: t.share_memory_())

    def _apply(self, fn, recurse=True):
        """Convert every parameter (with its grad) and buffer by fn (recurse=False:
        only this module's own); all conversions are computed before anything is
        replaced, so a failing one (an unusable device) leaves the module as it was."""
        plan = []          # (kind, module, name, old, new, new_grad)
        with no_grad():
            for module in (self.modules() if recurse else (self,)):
                for name, p in module._parameters.items():
                    if p is None:
                        continue
                    new = fn(p)
                    g = p.grad if p.is_leaf else None
                    new_g = fn(g) if g is not None else None
                    plan.append(("param", module, name, p, new, new_g))
                for name, b in module._buffers.items():
                    if b is not None:
                        plan.append(("buffer", module, name, b, fn(b), None))
        done = set()
        for kind, module, name, old, new, new_g in plan:
            if kind == "buffer":
                module._buffers[name] = new
                continue
            if id(old) in done:                  # shared parameter: converted once
                continue
            done.add(id(old))
            if new is not old:
                old.grad = None                  # re-set below, converted like the data
                old.data = new
            if new_g is not None:
                old.grad = new_g
        return self

    # ---- state dict -----------------------------------------------------------------------
    def get_extra_state(self):
        """Override (with set_extra_state) to keep more state in the state dict: what it
        returns is stored under "<prefix>_extra_state", after the module's buffers."""
        raise RuntimeError("Reached a code path in Module.get_extra_state() that should never be called: it is "
                           "only called for a subclass that overrides it.")

    def set_extra_state(self, state):
        """Override (with get_extra_state): load_state_dict passes it the "<prefix>_extra_state" entry."""
        raise RuntimeError("Reached a code path in Module.set_extra_state() that should never be called: it is "
                           "only called for a subclass that overrides it.")

    def _expected_keys(self, prefix=""):
        """The keys load_state_dict looks for, in PyTorch's order: module by module,
        root first; each module's parameters, persistent buffers, then extra state."""
        for key, _ in self._own_state_items(prefix):
            yield key
        if _overrides(self, "set_extra_state"):
            yield prefix + _EXTRA_STATE_KEY
        for name, module in self._modules.items():
            if module is not None:
                yield from module._expected_keys(prefix + name + ".")

    def _own_state_items(self, prefix):
        for name, p in self._parameters.items():
            if p is not None:
                yield prefix + name, p
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers:
                yield prefix + name, b

    def _state_items(self, prefix=""):
        """(key, tensor) of every parameter and persistent buffer, recursively."""
        yield from self._own_state_items(prefix)
        for name, module in self._modules.items():
            if module is not None:
                yield from module._state_items(prefix + name + ".")

    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """An ordered dict from dotted names to the parameters and persistent
        buffers (detached aliases, sharing memory, unless keep_vars); module by
        module, each with its state-dict hooks around its own entries."""
        if destination is None:
            destination = OrderedDict()
        d = self.__dict__
        for hook in list(d.get("_state_dict_pre_hooks", {}).values()):
            hook(self, prefix, keep_vars)
        for key, t in self._own_state_items(prefix):
            destination[key] = t if keep_vars else t.detach()
        if _overrides(self, "get_extra_state"):
            destination[prefix + _EXTRA_STATE_KEY] = self.get_extra_state()
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars)
        for hook in list(d.get("_state_dict_hooks", {}).values()):
            if hook(self, destination, prefix, {}) is not None:
                raise RuntimeError("state_dict post-hook must return None")
        return destination

    def _unexpected_keys(self, state_dict, prefix):
        """Keys under `prefix` that name nothing, in PyTorch's order: module by
        module, root first; each module claims its own state's names and the
        dotted keys of its children."""
        local = {key[len(prefix):] for key, _ in self._own_state_items(prefix)}
        extra_key = prefix + _EXTRA_STATE_KEY
        # (a module without set_extra_state lists an "_extra_state" entry first, as PyTorch's)
        out = [extra_key] if extra_key in state_dict and not _overrides(self, "set_extra_state") else []
        for key in state_dict:
            if key.startswith(prefix) and key != extra_key:
                head, dot, _ = key[len(prefix):].partition(".")
                if head not in (self._modules if dot else local):
                    out.append(key)
        for name, module in self._modules.items():
            if module is not None:
                out += module._unexpected_keys(state_dict, prefix + name + ".")
        return out

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy parameters and buffers from `state_dict` (any device / dtype:
        values are converted to the module's). With strict, missing or
        unexpected keys are an error. Every check runs before any value is
        written: a failed load changes nothing. Returns (missing_keys,
        unexpected_keys)."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        hooked = [(prefix, m) for prefix, m in self._named_modules_with_prefix_dot()
                  if m.__dict__.get("_load_state_dict_pre_hooks") or m.__dict__.get("_load_state_dict_post_hooks")]
        hook_missing, hook_unexpected, hook_errors = [], [], []
        if hooked:
            state_dict = OrderedDict(state_dict)     # (the pre-hooks may edit it, as PyTorch's: a copy)
            for prefix, m in hooked:
                for hook in list(m.__dict__.get("_load_state_dict_pre_hooks", {}).values()):
                    hook(m, state_dict, prefix, {}, strict, hook_missing, hook_unexpected, hook_errors)
        own = OrderedDict(self._state_items())
        missing = [k for k in self._expected_keys() if k not in state_dict] + hook_missing
        unexpected = self._unexpected_keys(state_dict, "") + hook_unexpected
        post_hooks = [(m, hook) for _, m in reversed(hooked)
                      for hook in list(m.__dict__.get("_load_state_dict_post_hooks", {}).values())]
        errors = []
        if strict and not post_hooks:    # (post-hooks may forgive keys: then judged after they ran)
            errors += _key_errors(missing, unexpected)
        errors += hook_errors
        updates = []
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            if not isinstance(value, Tensor):
                errors.append(f'While copying the parameter named "{key}", expected ag.Tensor from checkpoint '
                              f"but received {type(value)}")
                continue
            if value.shape != target.shape:
                errors.append(f"size mismatch for {key}: copying a param with shape {list(value.shape)} from "
                              f"checkpoint, the shape in current model is {list(target.shape)}.")
                continue
            updates.append((key, target, value))
        if errors:
            raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(
                type(self).__name__, "\n\t".join(errors)))
        # convert first (device moves can fail), then write
        with no_grad():
            converted = [(key, target, value if assign else value.to(device=target.device, dtype=target.dtype))
                         for key, target, value in updates]
            # extra state before the tensors: a set_extra_state that rejects its state leaves them unwritten
            for prefix, m in self._named_modules_with_prefix_dot():
                if prefix + _EXTRA_STATE_KEY in state_dict and _overrides(m, "set_extra_state"):
                    m.set_extra_state(state_dict[prefix + _EXTRA_STATE_KEY])
            if assign:
                for key, target, value in converted:
                    mod_path, _, name = key.rpartition(".")
                    module = self.get_submodule(mod_path)
                    if name in module._parameters:
                        setattr(module, name, Parameter(value.detach(), requires_grad=target.requires_grad))
                    else:
                        module._buffers[name] = value.detach()
            else:
                for key, target, value in converted:
                    target.copy_(value)
        result = _IncompatibleKeys(missing, unexpected)
        if post_hooks:
            # (as PyTorch's: after the values were written; a hook may edit the lists in place)
            for m, hook in post_hooks:
                if hook(m, result) is not None:
                    raise AssertionError("Hooks registered with ``register_load_state_dict_post_hook`` are not "
                                         "expected to return new values, if incompatible_keys need to be modified, "
                                         "it should be done inplace.")
            errors = _key_errors(missing, unexpected) if strict else []
            if errors:
                raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(
                    type(self).__name__, "\n\t".join(errors)))
        return result

    def _named_modules_with_prefix_dot(self, prefix=""):
        """(prefix with its trailing dot, module), root first, as load_state_dict's hooks see them."""
        yield prefix, self
        for name, module in self._modules.items():
            if module is not None:
                yield from module._named_modules_with_prefix_dot(prefix + name + ".")

    # ---- printing -------------------------------------------------------------------------
    def extra_repr(self):
        """The module's own settings, shown inside its repr's parentheses."""
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        children = [f"({name}): {_addindent(repr(m), 2)}" for name, m in self._modules.items()]
        body = lines + children
        if not body:
            return self._get_name() + "()"
        if len(lines) == 1 and not children:
            return f"{self._get_name()}({lines[0]})"
        return self._get_name() + "(\n  " + "\n  ".join(body) + "\n)"


_EXTRA_STATE_KEY = "_extra_state"
_MIXED_BACKWARD_HOOKS = ("Cannot use both regular backward hooks and full backward hooks on a single Module. "
                         "Please use only one of them.")


def _overrides(module, method):
    """Whether the module's class defines its own get_extra_state / set_extra_state."""
    return getattr(type(module), method) is not getattr(Module, method)


def _attach_non_full_backward_hooks(module, hooks, args, result):
    """PyTorch's deprecated backward hooks: on the grad_fn of the first tensor found
    in the output (first entries of tuples/lists, first tensor value of dicts)."""
    var = result
    while not isinstance(var, Tensor):
        if isinstance(var, dict):
            var = next(v for v in var.values() if isinstance(v, Tensor))
        else:
            var = var[0]
    grad_fn = var.grad_fn
    if grad_fn is None:
        return
    for hook in hooks:
        grad_fn.register_hook(functools.partial(hook, module))
    _warn_non_full_backward_hook(args, result, grad_fn)


def _warn_non_full_backward_hook(inputs, result, grad_fn):
    """The FutureWarning PyTorch gives where the node's gradients are not the module's."""
    def tensors(x):
        return (x,) if isinstance(x, Tensor) else (
            x if isinstance(x, tuple) and all(isinstance(t, Tensor) for t in x) else None)
    outs, ins = tensors(result), tensors(inputs)
    if outs is None or ins is None:
        what = "return a single Tensor or a tuple of Tensors" if outs is None else \
            "take as input a single Tensor or a tuple of Tensors"
        part = "grad_output" if outs is None else "grad_input"
        message = (f"Using non-full backward hooks on a Module that does not {what} is deprecated and will be "
                   f"removed in future versions. This hook will be missing some of the {part}. Please use "
                   "register_full_backward_hook to get the documented behavior.")
    else:
        out_fns = {r.grad_fn for r in outs if r.grad_fn is not None}
        if not out_fns or (len(out_fns) == 1 and grad_fn not in out_fns):
            message = ("Using a non-full backward hook when outputs are nested in python data structure is "
                       "deprecated and will be removed in future versions. This hook will be missing some "
                       "grad_output.")
        elif len(out_fns) > 1:
            message = ("Using a non-full backward hook when outputs are generated by different autograd Nodes is "
                       "deprecated and will be removed in future versions. This hook will be missing some "
                       "grad_output. Please use register_full_backward_hook to get the documented behavior.")
        elif {i.grad_fn for i in ins if i.grad_fn is not None} != {n for n, _ in grad_fn.next_functions}:
            message = ("Using a non-full backward hook when the forward contains multiple autograd Nodes is "
                       "deprecated and will be removed in future versions. This hook will be missing some "
                       "grad_input. Please use register_full_backward_hook to get the documented behavior.")
        else:
            return
    warnings.warn(message, FutureWarning, stacklevel=5)     # (at the module's caller)


def _key_errors(missing, unexpected):
    errors = []
    if missing:
        errors.append("Missing key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in missing)))
    if unexpected:
        errors.append("Unexpected key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in unexpected)))
    return errors


# the hook registries a module makes on first use (module.__getattr__), PyTorch's names
_HOOK_STORES = frozenset(("_forward_pre_hooks", "_forward_pre_hooks_with_kwargs", "_forward_hooks",
                          "_forward_hooks_with_kwargs", "_forward_hooks_always_called", "_backward_pre_hooks",
                          "_backward_hooks", "_state_dict_pre_hooks", "_state_dict_hooks",
                          "_load_state_dict_pre_hooks", "_load_state_dict_post_hooks", "_non_full_backward_hooks"))


def _parse_to(args, kwargs):
    """(device, dtype) from the arguments of Module.to, either may be None."""
    device = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    kwargs.pop("non_blocking", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, Tensor):
            device, dtype = a.device, a.dtype
        elif isinstance(a, _dtype.dtype):
            dtype = a
        elif isinstance(a, _device) or (isinstance(a, int) and not isinstance(a, bool)):
            device = a
        elif isinstance(a, str):
            try:
                device = _device(a)
            except ValueError:
                dtype = _dtype.as_dtype(a)
        else:
            try:
                dtype = _dtype.as_dtype(a)
            except TypeError:
                raise TypeError(f"to() received an invalid argument {a!r}: expected a device, a dtype "
                                "or a Tensor") from None
    if device is not None:
        device = _device(device)
    dtype = _dtype.as_dtype(dtype)
    if dtype is not None and not dtype.is_floating_point:
        raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got desired dtype={dtype}")
    return device, dtype
