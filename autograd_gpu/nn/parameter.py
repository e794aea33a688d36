"""`Parameter`: a leaf tensor that requires grad and that a `Module` registers
as one of its parameters when assigned as an attribute.

`ag.Tensor` cannot be constructed directly (it has `__slots__` and a guarded
`__init__`), so a Parameter is made from a detached alias of its data (same
array, same version counter, no history) whose class is switched to
`Parameter`. The subclass adds no slots, so the layout is the Tensor's and
every tensor operation works on it unchanged."""
from ..tensor import Tensor


class Parameter(Tensor):
    """A tensor that is a module parameter: `Parameter(data, requires_grad=True)`.

    Shares `data`'s memory, as in PyTorch; `isinstance(p, ag.Tensor)` holds."""
    __slots__ = ()

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            from ..creation import empty
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): data must be a Tensor, got {type(data).__name__}")
        if not isinstance(requires_grad, bool):
            raise TypeError(f"Parameter(): requires_grad must be a bool, got {type(requires_grad).__name__}")
        if requires_grad and not data.is_floating_point():
            raise RuntimeError(f"Parameter(): only Tensors of floating point dtype can require gradients "
                               f"(got {data.dtype.libtorch})")
        p = data.detach()
        p.__class__ = cls
        p.requires_grad_(requires_grad)
        return p

    def __init__(self, data=None, requires_grad=True):
        pass                    # everything happens in __new__ (Tensor.__init__ refuses)

    def __repr__(self):
        return "Parameter containing:\n" + Tensor.__repr__(self)

    __str__ = __repr__

    def __reduce__(self):
        # pickling / copy.deepcopy keep the class (Tensor's own reduce would not)
        return (_rebuild_parameter, (self._host(), str(self.device), self.dtype.name, self.requires_grad))


def _rebuild_parameter(array, device, dtype_name, requires_grad):
    from ..creation import tensor
    return Parameter(tensor(array, dtype=dtype_name, device=device), requires_grad)


class _BufferMeta(type):
    # a Buffer is a plain Tensor marked as one (so it computes as any tensor): isinstance asks the mark
    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.__dict__.get("_is_buffer", False)


class Buffer(metaclass=_BufferMeta):
    """`Buffer(data=None, *, persistent=True)`: a tensor that a Module registers
    as a buffer when assigned as an attribute (`self.mean = Buffer(t)` is
    `self.register_buffer("mean", t, persistent)`). Returns a detached alias of
    `data` (same memory) that keeps its requires_grad, as PyTorch's."""

    def __new__(cls, data=None, *, persistent=True):
        if data is None:
            from ..creation import empty
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Buffer(): data must be a Tensor, got {type(data).__name__}")
        if not isinstance(persistent, bool):
            raise TypeError(f"Buffer(): persistent must be a bool, got {type(persistent).__name__}")
        t = data.detach().requires_grad_(data.requires_grad)
        t.persistent = persistent
        t._is_buffer = True
        return t


# ---- workaround: the core's binary ops reject Tensor subclasses as the second
# operand (`ops/arith.py` tests `type(b) is Tensor`), so `x + p` and `p1 * p2`
# would raise TypeError. Two re-routings fix the operators (not the method and
# function forms, `x.add(p)`, `ag.add(x, p)`):
# * Python calls a subclass's reflected operator before the base class's
#   forward one when it differs, so re-binding Tensor's reflected operators on
#   Parameter sends `x + p` to `p.__radd__(x)`, which the core handles
#   (`x - p`, `x / p`, `x ** p` keep their order; `+` and `*` commute exactly);
# * a Parameter right operand of a Parameter is passed as a plain view of itself.
# Installed only while the core needs it (probed once at import).
def _core_rejects_subclass_operands():
    from ..creation import zeros

    class _Probe(Tensor):
        __slots__ = ()

    a = zeros(1)
    b = a.detach()
    b.__class__ = _Probe
    try:
        a + b
        b * b
    except TypeError:
        return True
    return False


def _reflected(name):
    base = getattr(Tensor, name)

    def op(self, other):
        return base(self, other)
    op.__name__ = name
    return op


def _forward(name):
    base = getattr(Tensor, name)

    def op(self, other):
        if isinstance(other, Parameter):
            other = other.view_as(other)
        return base(self, other)
    op.__name__ = name
    return op


if _core_rejects_subclass_operands():
    for _name in ("__radd__", "__rsub__", "__rmul__", "__rtruediv__", "__rpow__"):
        setattr(Parameter, _name, _reflected(_name))
    for _name in ("__add__", "__sub__", "__mul__", "__truediv__", "__pow__"):
        setattr(Parameter, _name, _forward(_name))
    del _name
