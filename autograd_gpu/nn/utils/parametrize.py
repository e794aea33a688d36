"""torch.nn.utils.parametrize: register_parametrization and its kin (parameters computed from others).

As PyTorch does it: registering a parametrization on `module.weight` moves the tensor into
`module.parametrizations.weight` (a ParametrizationList: `.original`, or `.original0`, `.original1`, ...
when the first parametrization's right_inverse returns several tensors), swaps the module's class for a
subclass `Parametrized<Class>` (one per module), and gives that subclass a property `weight` that
evaluates the parametrizations on each read (or once per `cached()` block) and calls their right_inverse
on assignment. State-dict keys are therefore torch's (`parametrizations.weight.original`)."""
import copy
import copyreg
from collections.abc import Sequence
from contextlib import contextmanager

from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from ..container import ModuleDict, ModuleList
from ..module import Module
from ..parameter import Parameter

__all__ = ["register_parametrization", "remove_parametrizations", "is_parametrized", "cached",
           "type_before_parametrizations", "transfer_parametrizations_and_params", "ParametrizationList"]

# the names ag.nn.utils itself exports from this module (as torch.nn.utils does: none)
EXPORTS = {}

_cache_enabled = 0          # depth of nested cached() blocks
_cache = {}                 # (id(module), tensor name) -> the parametrized tensor, inside cached()


@contextmanager
def cached():
    """Inside this block each parametrized tensor is computed once, on first read, and reused (the
    cache is dropped when the outermost block exits)."""
    global _cache_enabled, _cache
    _cache_enabled += 1
    try:
        yield
    finally:
        _cache_enabled -= 1
        if not _cache_enabled:
            _cache = {}


def _maybe_set(dest, src):
    """Make `dest` hold `src`'s data (PyTorch's set_): the tensor object stays, so an optimizer
    holding it keeps working."""
    with no_grad():
        dest.data = src


def _register_parameter_or_buffer(module, name, value):
    if isinstance(value, Parameter):
        module.register_parameter(name, value)
    else:
        module.register_buffer(name, value)


def _check_same(what, name, expected, got, label_expected, label_got, unsafe_hint):
    """ValueError when a parametrization changed the dtype or shape of the tensor."""
    if got != expected:
        raise ValueError(f"{what} may not change the {name} of the tensor{unsafe_hint}.\n"
                         f"{label_expected}: {expected}\n{label_got}: {got}")


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, applied in order, and the unconstrained tensor(s) they
    are applied to: `original` (right_inverse gave one tensor) or `original0`, `original1`, ...
    Made by register_parametrization."""

    def __init__(self, modules, original, unsafe=False):
        if len(modules) == 0:
            raise ValueError("ParametrizationList requires one or more modules.")
        super().__init__(modules)
        self.unsafe = unsafe
        shape, dtype = original.shape, original.dtype
        new = self._initial_value(original)
        if not isinstance(new, (Tensor, Sequence)):
            raise ValueError("'right_inverse' must return a Tensor or a Sequence of tensors (list, tuple...). "
                             f"Got {type(new).__name__}")
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        saved = original.detach()       # (restored if a check below fails: a failed call changes nothing)
        if self.is_tensor:
            if new.dtype != dtype:
                raise ValueError("When `right_inverse` outputs one tensor, it may not change the dtype.\n"
                                 f"original.dtype: {dtype}\nright_inverse(original).dtype: {new.dtype}")
            _maybe_set(original, new)
            _register_parameter_or_buffer(self, "original", original)
        else:
            self._register_originals(new, original)
        if not unsafe:
            try:
                self._check_consistent(shape, dtype)
            except BaseException:
                _maybe_set(original, saved)
                raise

    def _initial_value(self, original):
        """right_inverse of each parametrization, last first (identity where one has none or
        raises NotImplementedError)."""
        with no_grad():
            new = original
            for module in reversed(list(self)):
                if hasattr(module, "right_inverse"):
                    try:
                        new = module.right_inverse(new)
                    except NotImplementedError:
                        pass
        return new

    def _register_originals(self, tensors, original):
        for i, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise ValueError("'right_inverse' must return a Tensor or a Sequence of tensors (list, tuple...). "
                                 f"Got element {i} of the sequence with type {type(t).__name__}.")
        for i, t in enumerate(tensors):
            if isinstance(original, Parameter):
                t = Parameter(t, original.requires_grad)
            t.requires_grad_(original.requires_grad)
            _register_parameter_or_buffer(self, f"original{i}", t)

    def _check_consistent(self, shape, dtype):
        """forward(right_inverse(original)) must be a tensor of the original's shape and dtype."""
        z = self()
        if not isinstance(z, Tensor):
            raise ValueError(f"A parametrization must return a tensor. Got {type(z).__name__}.")
        hint = ", unless `unsafe` flag is enabled"
        _check_same("Registering a parametrization", "dtype", dtype, z.dtype,
                    "unparametrized dtype", "parametrized dtype", hint)
        _check_same("Registering a parametrization", "shape", shape, z.shape,
                    "unparametrized shape", "parametrized shape", hint)

    def right_inverse(self, value):
        """Set the original tensor(s) so that the parametrized tensor is `value`: the
        parametrizations' right_inverse, last first, then stored in place (same tensor objects)."""
        with no_grad():
            for module in reversed(list(self)):
                if not hasattr(module, "right_inverse"):
                    raise RuntimeError(f"parametrization {type(module).__name__} does not implement right_inverse.")
                value = module.right_inverse(value)
            if self.is_tensor:
                self._check_one(value, self.original, "`right_inverse` should return a tensor. "
                                f"Got {type(value).__name__}", "The tensor returned by `right_inverse`", "`original`")
                _maybe_set(self.original, value)
                return
            if not isinstance(value, Sequence):
                raise ValueError(f"'right_inverse' must return a sequence of tensors. Got {type(value).__name__}.")
            if len(value) != self.ntensors:
                raise ValueError(f"'right_inverse' must return a sequence of tensors of length {self.ntensors}. "
                                 f"Got a sequence of length {len(value)}.")
            originals = [getattr(self, f"original{i}") for i in range(self.ntensors)]
            for i, (t, orig) in enumerate(zip(value, originals)):
                self._check_one(t, orig, "`right_inverse` must return a sequence of tensors. Got element "
                                f"{i} of type {type(t).__name__}", f"Tensor {i} returned by `right_inverse`",
                                f"`original{i}`")
            for t, orig in zip(value, originals):
                _maybe_set(orig, t)

    @staticmethod
    def _check_one(value, original, not_tensor, returned, stored):
        if not isinstance(value, Tensor):
            raise ValueError(not_tensor)
        if value.dtype != original.dtype:
            raise ValueError(f"{returned} has dtype {value.dtype} while {stored} has dtype {original.dtype}")

    def forward(self):
        modules = list(self)
        if self.is_tensor:
            x = modules[0](self.original)
        else:
            x = modules[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for module in modules[1:]:
            x = module(x)
        return x


# ---- the class swap and the property ----------------------------------------------------------------

def _deepcopy_module(self, memo):
    # the parametrized class refuses __getstate__ (pickling), which copy.deepcopy's default would call
    if id(self) in memo:
        return memo[id(self)]
    replica = self.__new__(type(self))
    memo[id(self)] = replica
    replica.__dict__ = copy.deepcopy(self.__dict__, memo)
    for slot in copyreg._slotnames(type(self)):
        if hasattr(self, slot):
            setattr(replica, slot, copy.deepcopy(getattr(self, slot), memo))
    return replica


def _refuse_pickling(self):
    raise RuntimeError("Serialization of parametrized modules is only supported through state_dict(). See:\n"
                       "https://pytorch.org/tutorials/beginner/saving_loading_models.html"
                       "#saving-loading-a-general-checkpoint-for-inference-and-or-resuming-training")


def _inject_new_class(module):
    """Give the module a class of its own, Parametrized<Class>, to hold the properties."""
    cls = type(module)
    namespace = {"__getstate__": _refuse_pickling}
    if not hasattr(cls, "__deepcopy__"):
        namespace["__deepcopy__"] = _deepcopy_module
    module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), namespace)


def _inject_property(module, tensor_name):
    if hasattr(module, tensor_name):
        raise AssertionError(f"Module already has an attribute named '{tensor_name}'")

    def get_parametrized(self):
        parametrization = self.parametrizations[tensor_name]
        if not _cache_enabled:
            return parametrization()
        key = (id(self), tensor_name)
        value = _cache.get(key)
        if value is None:
            value = _cache[key] = parametrization()
        return value

    def set_original(self, value):
        self.parametrizations[tensor_name].right_inverse(value)

    setattr(type(module), tensor_name, property(get_parametrized, set_original))


# ---- the public functions ---------------------------------------------------------------------------

def _check_chained(module, tensor_name, parametrization):
    """A parametrization added to a parametrized tensor must map module.<name>'s space to itself
    (forward and right_inverse keep its dtype and shape)."""
    y = getattr(module, tensor_name)
    x = parametrization(y)
    if not isinstance(x, Tensor):
        raise ValueError(f"A parametrization must return a tensor. Got {type(x).__name__}.")
    hint = ", unless the `unsafe` flag is enabled"
    what = "Registering a parametrization"
    _check_same(what, "dtype", y.dtype, x.dtype, f"module.{tensor_name}.dtype",
                f"parametrization(module.{tensor_name}).dtype", hint)
    _check_same(what, "shape", y.shape, x.shape, f"module.{tensor_name}.shape",
                f"parametrization(module.{tensor_name}).shape", hint)
    if not hasattr(parametrization, "right_inverse"):
        return
    try:
        z = parametrization.right_inverse(x)
    except NotImplementedError:
        return
    if not isinstance(z, Tensor):
        raise ValueError(f"parametrization.right_inverse must return a tensor. Got: {type(z).__name__}")
    for name, expected, got in (("dtype", y.dtype, z.dtype), ("shape", y.shape, z.shape)):
        if got != expected:
            raise ValueError(f"The tensor returned by parametrization.right_inverse must have the same {name} "
                             f"as module.{tensor_name}, unless the `unsafe` flag is enabled.\n"
                             f"module.{tensor_name}.{name}: {expected}\nreturned {name}: {got}")


def register_parametrization(module, tensor_name, parametrization, *, unsafe=False):
    """Make `module.<tensor_name>` the output of `parametrization` (a Module) applied to the original
    parameter or buffer, now stored under module.parametrizations.<tensor_name>.original (or
    original0, original1, ... when its right_inverse returns several tensors). Registering again on
    the same name chains the parametrizations. unsafe=True skips the dtype/shape consistency checks.
    Returns the module."""
    if not isinstance(parametrization, Module):      # (PyTorch fails on .train: AttributeError)
        raise AttributeError(f"register_parametrization: the parametrization must be an nn.Module, "
                             f"got '{type(parametrization).__name__}' object, which has no attribute 'train'")
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        if not unsafe:
            _check_chained(module, tensor_name, parametrization)
        plist = module.parametrizations[tensor_name]
        plist.append(parametrization)
        plist.unsafe |= unsafe          # (once unsafe, the list stays unsafe)
    elif tensor_name in module._buffers or tensor_name in module._parameters:
        original = getattr(module, tensor_name)
        plist = ParametrizationList([parametrization], original, unsafe=unsafe)   # (raises before any change)
        delattr(module, tensor_name)
        if not is_parametrized(module):
            _inject_new_class(module)
            module.parametrizations = ModuleDict()
        _inject_property(module, tensor_name)
        module.parametrizations[tensor_name] = plist
    else:
        raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a parametrized element "
                         f"with name '{tensor_name}'")
    return module


def is_parametrized(module, tensor_name=None):
    """Whether the module has a parametrization on `tensor_name` (on anything, when None)."""
    parametrizations = getattr(module, "parametrizations", None)
    if not isinstance(parametrizations, ModuleDict):
        return False
    if tensor_name is None:
        return len(parametrizations) > 0
    return tensor_name in parametrizations


def remove_parametrizations(module, tensor_name, leave_parametrized=True):
    """Undo the parametrizations on `tensor_name`: it becomes a plain parameter or buffer again,
    holding its current parametrized value (leave_parametrized) or the original tensor. With a
    single original tensor the same tensor object is kept. Restores the module's class when
    nothing is parametrized any more. Returns the module."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    plist = module.parametrizations[tensor_name]
    if plist.is_tensor:
        original = plist.original
        if leave_parametrized:
            with no_grad():
                value = getattr(module, tensor_name)
            _maybe_set(original, value)
    elif leave_parametrized:
        value = getattr(module, tensor_name)      # (grad mode on: does any original require grad?)
        original = Parameter(value.detach(), value.requires_grad) if value.requires_grad else value.detach()
    else:
        raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a tensor that is parametrized "
                         "in terms of a sequence of tensors.")
    delattr(type(module), tensor_name)
    del module.parametrizations[tensor_name]
    _register_parameter_or_buffer(module, tensor_name, original)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        module.__class__ = type(module).__bases__[0]
    return module


def type_before_parametrizations(module):
    """The module's class before any parametrization swapped it."""
    return type(module).__bases__[0] if is_parametrized(module) else type(module)


def transfer_parametrizations_and_params(from_module, to_module, tensor_name=None):
    """Register from_module's parametrizations (all, or those of `tensor_name`) on to_module, creating
    the parameter there if missing, and make to_module's original tensors the same objects as
    from_module's. Returns to_module."""
    if not is_parametrized(from_module):
        return to_module
    names = list(from_module.parametrizations) if tensor_name is None else [tensor_name]
    for name in names:
        if not hasattr(to_module, name):
            setattr(to_module, name, Parameter(getattr(from_module, name)))
        source = from_module.parametrizations[name]
        for parametrization in source:
            register_parametrization(to_module, name, parametrization)
        target = to_module.parametrizations[name]
        if hasattr(source, "original"):
            target.original = source.original
        else:
            i = 0
            while hasattr(source, f"original{i}"):
                setattr(target, f"original{i}", getattr(source, f"original{i}"))
                i += 1
    return to_module
