"""Lazy modules (torch.nn.LazyLinear and friends): parameters whose shapes come from the first input.

An `UninitializedParameter` / `UninitializedBuffer` is a Tensor subclass
holding an empty array that ops must not see. The class shadows the Tensor's
`_data` slot with a property that raises PyTorch's ValueError, so every op,
which reads `t._data`, refuses it without any change to the op path; the
few uses PyTorch allows (size, dtype, to, copy_, ...) run with the class
switched to the initialized one for the call. `materialize(shape)` gives the
tensor a real array and its final class, keeping the object (so optimizers
and references made before the first forward stay valid).

A lazy module (`LazyModuleMixin`) infers the shapes in its first call, then
becomes its non-lazy class (LazyLinear -> Linear). Loading a state dict
materializes its uninitialized parameters from the checkpoint's shapes."""
import contextlib
import sys

from ..autograd.grad_mode import no_grad
from ..creation import empty, tensor as _tensor
from .. import _dtype
from ..tensor import Tensor
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .layers import BatchNorm1d, BatchNorm2d
from .linear import Linear
from .normalization import BatchNorm3d, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d
from .parameter import Parameter

__all__ = ["UninitializedParameter", "UninitializedBuffer", "LazyModuleMixin", "LazyLinear", "LazyConv1d",
           "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d",
           "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyInstanceNorm1d", "LazyInstanceNorm2d",
           "LazyInstanceNorm3d"]

_DATA = Tensor.__dict__["_data"]       # the Tensor's own slot, under the property that guards it

_SHAPE_MSG = ("Can't access the shape of an uninitialized parameter or buffer. This error usually happens in "
              "`load_state_dict` when trying to load an uninitialized parameter into an initialized one. Call "
              "`forward` to initialize the parameters before accessing their attributes.")


def _entry_point():
    """The name of the library function the user called (the outermost
    autograd_gpu frame of the current call), for the error message."""
    frame, name = sys._getframe(2), "<unknown>"
    while frame is not None and frame.f_globals.get("__name__", "").startswith("autograd_gpu"):
        name = _function_name(frame) or name
        frame = frame.f_back
    return name


def _function_name(frame):
    code = frame.f_code
    if code.co_name.startswith("<"):            # a comprehension or lambda: its function is further out
        return None
    if frame.f_globals.get("__name__") == "autograd_gpu.amp":      # autocast's entry cast: the function within
        return None
    qualname = getattr(code, "co_qualname", code.co_name)
    if "<locals>" in qualname and "name" in code.co_freevars:
        named = frame.f_locals.get("name")       # ops made by a factory carry their public name
        if isinstance(named, str):
            return named
    return qualname


def _use_error(cls_name, func):
    return ValueError(f"Attempted to use an uninitialized parameter in {func}. This error happens when you are "
                      f"using a `LazyModule` or explicitly manipulating `ag.nn.{cls_name}` objects. When using "
                      "LazyModules Call `forward` with a dummy batch to initialize the parameters before calling "
                      "torch functions")


def is_lazy(t):
    return isinstance(t, UninitializedTensorMixin)


@contextlib.contextmanager
def _revealed(t):
    """t as its initialized class for the block (its Tensor methods read the array)."""
    cls = type(t)
    t.__class__ = cls.cls_to_become
    try:
        yield t
    finally:
        t.__class__ = cls


def _as_initialized(name):
    """A method PyTorch allows on an uninitialized tensor: the Tensor's own,
    run on the revealed tensor. A buffer's tensor results stay uninitialized
    buffers (PyTorch's conversion of subclass results)."""
    def method(self, *args, **kwargs):
        cls = type(self)
        with _revealed(self):
            out = getattr(self, name)(*args, **kwargs)
        if out is not self and type(out) is Tensor and cls._results_stay_uninitialized:
            out.__class__ = cls
        return out
    method.__name__ = name
    return method


class UninitializedTensorMixin:
    """What UninitializedParameter and UninitializedBuffer share: the guarded
    array, the allowed methods, materialize, and the repr."""
    __slots__ = ()
    cls_to_become = None
    _results_stay_uninitialized = False

    # every op reads t._data: reading it here is the use PyTorch refuses
    @property
    def _data(self):
        raise _use_error(type(self).__name__, _entry_point())

    @_data.setter
    def _data(self, value):
        _DATA.__set__(self, value)

    @property
    def shape(self):
        # asked by an op (which then computes with it): the use error, as PyTorch's op would give;
        # asked by the user or by Module.load_state_dict: PyTorch's shape error
        caller = sys._getframe(1).f_globals.get("__name__", "")
        if caller.startswith("autograd_gpu") and caller != "autograd_gpu.nn.module":
            raise _use_error(type(self).__name__, _entry_point())
        raise RuntimeError(_SHAPE_MSG)

    @property
    def dtype(self):
        return _dtype.from_numpy_dtype(_DATA.__get__(self).dtype)

    @property
    def ndim(self):
        return _DATA.__get__(self).ndim

    @property
    def requires_grad(self):
        return self._rg

    @requires_grad.setter
    def requires_grad(self, value):
        with _revealed(self):
            self.requires_grad = value

    def requires_grad_(self, requires_grad=True):
        raise _use_error(type(self).__name__, "requires_grad_")

    @property
    def data(self):
        return _as_initialized("detach")(self)

    @data.setter
    def data(self, value):
        if is_lazy(value):
            value = value._alias()
        Tensor.data.fset(self, value)

    def _alias(self):
        """A plain tensor on the same (empty) array."""
        t = Tensor._make(_DATA.__get__(self), self._backend)
        t._vc = self._vc
        return t

    def detach(self):
        # PyTorch raises here; returning the tensor lets Module.state_dict keep
        # uninitialized entries (it detaches every value) without a core hook
        return self

    def materialize(self, shape, device=None, dtype=None):
        """Give the tensor an (uninitialized) array of `shape`, on its device
        and dtype unless given, and its final class (Parameter / Tensor)."""
        device = self.device if device is None else device
        dtype = self.dtype if dtype is None else dtype
        self.data = empty(shape, device=device, dtype=dtype)
        self.__class__ = self.cls_to_become

    def share_memory_(self):
        raise RuntimeError("Can't share memory on an uninitialized parameter or buffer. Call `forward` to "
                           "initialize the parameters before calling `module.share_memory()`.")

    def __repr__(self):
        return f"<{type(self).__name__}>"

    __str__ = __repr__

    def _rebuild_args(self):
        return (self.requires_grad, str(self.device), self.dtype.name)

    def __reduce_ex__(self, protocol):
        return (type(self), self._rebuild_args())

    def __deepcopy__(self, memo):
        if id(self) not in memo:
            memo[id(self)] = type(self)(*self._rebuild_args())
        return memo[id(self)]


# the methods PyTorch's UninitializedTensorMixin lets through
for _name in ("size", "copy_", "is_complex", "is_floating_point", "half", "float", "double", "char", "short", "int",
              "long", "cuda", "cpu", "to", "get_device"):
    setattr(UninitializedTensorMixin, _name, _as_initialized(_name))
del _name


def _empty_leaf(who, requires_grad, device, dtype):
    if not isinstance(requires_grad, bool):
        raise TypeError(f"{who}(): requires_grad must be a bool, got {type(requires_grad).__name__}")
    return empty(0, device=device, dtype=dtype).requires_grad_(requires_grad)


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A Parameter whose shape is not known yet: `UninitializedParameter(
    requires_grad=True, device=None, dtype=None)`; `materialize(shape)` makes
    it a Parameter (the same object)."""
    __slots__ = ()
    cls_to_become = Parameter

    def __new__(cls, requires_grad=True, device=None, dtype=None):
        p = _empty_leaf("UninitializedParameter", requires_grad, device, dtype)
        p.__class__ = cls
        return p

    def __init__(self, *args, **kwargs):
        pass                    # everything happens in __new__


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer whose shape is not known yet: `UninitializedBuffer(
    requires_grad=False, device=None, dtype=None, persistent=True)`;
    `materialize(shape)` makes it a plain Tensor (the same object)."""
    __slots__ = ()
    cls_to_become = Tensor
    _results_stay_uninitialized = True

    def __new__(cls, requires_grad=False, device=None, dtype=None, persistent=True):
        t = _empty_leaf("UninitializedBuffer", requires_grad, device, dtype)
        t.__class__ = cls
        t.persistent = persistent
        t._is_buffer = True         # (assigning it to a module attribute registers a buffer, as nn.Buffer)
        return t

    def __init__(self, *args, **kwargs):
        pass

    def _rebuild_args(self):
        return super()._rebuild_args() + (getattr(self, "persistent", True),)


# ---- modules ----------------------------------------------------------------------------------

class LazyModuleMixin:
    """Makes a module lazy: its first call runs `initialize_parameters(*args,
    **kwargs)` (which materializes every uninitialized parameter and buffer
    from the input), then the module becomes `cls_to_become` (when set).
    `load_state_dict` on the module first materializes its uninitialized
    entries to the checkpoint's shapes (a failed load restores them)."""
    cls_to_become = None

    def _still_lazy(self):
        # after initialization a module without cls_to_become keeps this class: a flag marks it done
        return not self.__dict__.get("_lazy_initialized", False)

    def __call__(self, *args, **kwargs):
        if self._still_lazy():
            self._infer_parameters(self, args, kwargs)
        if isinstance(self, LazyModuleMixin):
            return super().__call__(*args, **kwargs)
        return self(*args, **kwargs)             # now the non-lazy class

    def initialize_parameters(self, *args, **kwargs):
        raise NotImplementedError(f"initialize_parameters is not implemented for {type(self).__name__}")

    def has_uninitialized_params(self):
        """Whether any of the module's own parameters or buffers is still uninitialized."""
        return any(is_lazy(t) for t in (*self._parameters.values(), *self._buffers.values()))

    def _infer_parameters(self, module, args, kwargs=None):
        module.initialize_parameters(*args, **(kwargs or {}))
        if module.has_uninitialized_params():
            raise RuntimeError(f"module {module._get_name()} has not been fully initialized")
        if module.cls_to_become is not None:
            module.__class__ = module.cls_to_become
        else:
            module._lazy_initialized = True

    def _lazy_load_hook(self, state_dict, prefix):
        """Materialize each uninitialized entry that the checkpoint gives a real tensor for."""
        for name, t in (*self._parameters.items(), *self._buffers.items()):
            value = state_dict.get(prefix + name) if t is not None else None
            if is_lazy(t) and isinstance(value, Tensor) and not is_lazy(value):
                with no_grad():
                    t.materialize(value.shape)

    def _unexpected_keys(self, state_dict, prefix):
        # Module.load_state_dict calls this on every submodule before it compares
        # shapes: the one place a nested lazy module sees the checkpoint first
        if self._still_lazy():
            self._lazy_load_hook(state_dict, prefix)
        return super()._unexpected_keys(state_dict, prefix)

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Module.load_state_dict, after materializing the uninitialized entries
        that the checkpoint has tensors for; an uninitialized checkpoint entry
        loads into an uninitialized one as nothing. A failed load leaves every
        entry as it was."""
        if not self._still_lazy() or not hasattr(state_dict, "get"):
            return super().load_state_dict(state_dict, strict, assign)
        own = dict(self._state_items())
        saved = [(t, type(t), _DATA.__get__(t), t._backend) for t in own.values() if is_lazy(t)]
        # lazy into lazy: both shown as their (empty) initialized selves, so the shapes compare equal
        pairs = [key for key, t in own.items() if is_lazy(t) and is_lazy(state_dict.get(key)) and not assign]
        shown = [own[key] for key in pairs] + [state_dict[key] for key in pairs]
        try:
            with contextlib.ExitStack() as stack:
                for t in {id(t): t for t in shown}.values():
                    stack.enter_context(_revealed(t))
                return super().load_state_dict(state_dict, strict, assign)
        except BaseException:
            for t, cls, array, backend in saved:
                _DATA.__set__(t, array)
                t._backend = backend
                t.__class__ = cls
            raise


class LazyLinear(LazyModuleMixin, Linear):
    """Linear whose in_features is inferred from the first input's last dim:
    `LazyLinear(out_features, bias=True, device=None, dtype=None)`."""
    cls_to_become = Linear

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        super().__init__(0, 0, False)         # no bias yet: it would be replaced at once
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.out_features = out_features
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input):
        if self.has_uninitialized_params():
            in_features = input.shape[-1]
            with no_grad():
                self.weight.materialize((self.out_features, in_features))
                if self.bias is not None:
                    self.bias.materialize((self.out_features,))
                self.in_features = in_features
                self.reset_parameters()
        if self.in_features == 0:       # materialized by load_state_dict: in_features comes from the weight
            if input.shape[-1] != self.weight.shape[-1]:
                raise AssertionError(f"The in_features inferred from input: {input.shape[-1]} is not equal to "
                                     f"in_features from self.weight: {self.weight.shape[-1]}")
            self.in_features = input.shape[-1]


class _LazyConvXdMixin(LazyModuleMixin):
    """in_channels from the first input's channel dim (dim 1, or 0 unbatched)."""

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def initialize_parameters(self, input, *args, **kwargs):
        if not self.has_uninitialized_params():
            return
        in_channels = self._get_in_channels(input)
        if in_channels % self.groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if self.transposed:
            shape = (in_channels, self.out_channels // self.groups, *self.kernel_size)
        else:
            shape = (self.out_channels, in_channels // self.groups, *self.kernel_size)
        with no_grad():
            self.weight.materialize(shape)
            if self.bias is not None:
                self.bias.materialize((self.out_channels,))
            self.in_channels = in_channels
            self.reset_parameters()

    def _get_in_channels(self, input):
        unbatched = self._get_num_spatial_dims() + 1
        if not isinstance(input, Tensor) or input.dim() not in (unbatched, unbatched + 1):
            got = f"input of size: {list(input.shape)}" if isinstance(input, Tensor) else type(input).__name__
            raise RuntimeError(f"Expected {unbatched}D (unbatched) or {unbatched + 1}D (batched) input to "
                               f"{type(self).__name__}, but got {got}")
        return input.shape[1] if input.dim() == unbatched + 1 else input.shape[0]

    def _get_num_spatial_dims(self):
        return self._nd


def _lazy_conv_init(self, out_channels, bias, device, dtype):
    self.weight = UninitializedParameter(device=device, dtype=dtype)
    self.out_channels = out_channels
    if bias:
        self.bias = UninitializedParameter(device=device, dtype=dtype)


class _LazyConv(_LazyConvXdMixin):
    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        super().__init__(0, 0, kernel_size, stride, padding, dilation, groups, False, padding_mode, device, dtype)
        _lazy_conv_init(self, out_channels, bias, device, dtype)


class _LazyConvTranspose(_LazyConvXdMixin):
    def __init__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1, bias=True,
                 dilation=1, padding_mode="zeros", device=None, dtype=None):
        super().__init__(0, 0, kernel_size, stride, padding, output_padding, groups, False, dilation, padding_mode,
                         device, dtype)
        _lazy_conv_init(self, out_channels, bias, device, dtype)


class LazyConv1d(_LazyConv, Conv1d):
    """Conv1d with in_channels from the first input; Conv1d's arguments without in_channels."""
    cls_to_become = Conv1d


class LazyConv2d(_LazyConv, Conv2d):
    """Conv2d with in_channels from the first input; Conv2d's arguments without in_channels."""
    cls_to_become = Conv2d


class LazyConv3d(_LazyConv, Conv3d):
    """Conv3d with in_channels from the first input; Conv3d's arguments without in_channels."""
    cls_to_become = Conv3d


class LazyConvTranspose1d(_LazyConvTranspose, ConvTranspose1d):
    """ConvTranspose1d with in_channels from the first input."""
    cls_to_become = ConvTranspose1d


class LazyConvTranspose2d(_LazyConvTranspose, ConvTranspose2d):
    """ConvTranspose2d with in_channels from the first input."""
    cls_to_become = ConvTranspose2d


class LazyConvTranspose3d(_LazyConvTranspose, ConvTranspose3d):
    """ConvTranspose3d with in_channels from the first input."""
    cls_to_become = ConvTranspose3d


class _LazyNormBase(LazyModuleMixin):
    """num_features from the first input's dim 1 (as PyTorch's, also for an
    unbatched instance-norm input). PyTorch's defaults, the instance norms'
    included: affine=True, track_running_stats=True."""

    def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None, dtype=None, *,
                 bias=True):
        super().__init__(0, eps, momentum, False, False, device, dtype, bias=False)
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = UninitializedParameter(device=device, dtype=dtype)
            if bias:
                self.bias = UninitializedParameter(device=device, dtype=dtype)
        if track_running_stats:
            self.running_mean = UninitializedBuffer(device=device, dtype=dtype)
            self.running_var = UninitializedBuffer(device=device, dtype=dtype)
            self.num_batches_tracked = _tensor(0, dtype=_dtype.int64, device=device)

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input):
        if not self.has_uninitialized_params():
            return
        num_features = input.shape[1]
        with no_grad():
            for t in (self.weight, self.bias, self.running_mean, self.running_var):
                if t is not None:
                    t.materialize((num_features,))
            self.num_features = num_features
            self.reset_parameters()


class LazyBatchNorm1d(_LazyNormBase, BatchNorm1d):
    """BatchNorm1d with num_features from the first input."""
    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyNormBase, BatchNorm2d):
    """BatchNorm2d with num_features from the first input."""
    cls_to_become = BatchNorm2d


class LazyBatchNorm3d(_LazyNormBase, BatchNorm3d):
    """BatchNorm3d with num_features from the first input."""
    cls_to_become = BatchNorm3d


class LazyInstanceNorm1d(_LazyNormBase, InstanceNorm1d):
    """InstanceNorm1d with num_features from the first input."""
    cls_to_become = InstanceNorm1d


class LazyInstanceNorm2d(_LazyNormBase, InstanceNorm2d):
    """InstanceNorm2d with num_features from the first input."""
    cls_to_become = InstanceNorm2d


class LazyInstanceNorm3d(_LazyNormBase, InstanceNorm3d):
    """InstanceNorm3d with num_features from the first input."""
    cls_to_become = InstanceNorm3d
