"""The module-level functions whose methods do not check their first operand
(`ag.add(x, y)`, `ag.reshape(x, 2, 3)`, `ag.eq(x, 0)`, ...): the same code as
the methods, behind PyTorch's check that the input is a Tensor. A method needs
no check (its self always is one), so the methods' hot path stays as it is.

As in PyTorch, a Python number may come first in `add`, `sub`, `mul`, `div`
and `pow`: `ag.sub(1, x)` is `1 - x`, `ag.add(2, x, alpha=3)` is `2 + 3 * x`."""
from ..tensor import Tensor
from . import arith, compare, indexing, linalg, pointwise, reduction, shape, sorting
from . import diagonal as diagonal_ops, scatter as scatter_ops
from ._util import number


def _not_a_tensor(name, value):
    return TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(value).__name__}")


def tensor_function(name, method, number_first=None, second="other"):
    """ag.<name>(input, ...): method(input, ...) for a Tensor input; for a
    Python number and a Tensor (positional or the keyword `second`),
    number_first(tensor, number, ...)."""
    def function(input, *args, **kwargs):
        if isinstance(input, Tensor):
            out = method(input, *args, **kwargs)
            if out is NotImplemented:         # (the operator form's answer to a bad operand)
                bad = args[0] if args else kwargs.get(second)
                raise TypeError(f"{name}(): argument '{second}' must be Tensor or Number, not {type(bad).__name__}")
            return out
        if number_first is not None and arith._is_number(input):
            if not args and second in kwargs:
                args = (kwargs.pop(second),)
            if args and isinstance(args[0], Tensor):
                return number_first(args[0], number(input, name), *args[1:], **kwargs)
        raise _not_a_tensor(name, input)
    function.__name__ = function.__qualname__ = name
    function.__doc__ = method.__doc__
    function.__wrapped__ = method
    return function


def _number_plus(t, n, alpha=1):                 # n + alpha * t
    if alpha is arith._ONE:
        return arith.add_op(t, n)
    alpha = arith._alpha(t, n, alpha, "add")
    return arith.AddScaled.apply2(arith.wrapped_number(n, t), t, alpha)


def _number_minus(t, n, alpha=1):                # n - alpha * t
    if alpha is arith._ONE:
        return arith.rsub(t, n)
    alpha = arith._alpha(t, n, alpha, "sub")
    return arith.SubScaled.apply2(arith.wrapped_number(n, t), t, -alpha)


add = tensor_function("add", arith.add, _number_plus)
sub = tensor_function("sub", arith.sub, _number_minus)
mul = tensor_function("mul", arith.mul, arith.mul)
div = tensor_function("div", arith.div, arith.rdiv)
pow = tensor_function("pow", arith.pow, arith.rpow, second="exponent")


def _functions(module, names):
    return [tensor_function(name, getattr(module, name)) for name in names.split()]


maximum, minimum, rsub, atan2 = _functions(arith, "maximum minimum rsub atan2")
remainder = tensor_function("remainder", arith.remainder, arith.rremainder)
floor_divide = tensor_function("floor_divide", arith.floor_divide, arith.rfloor_divide)
clamp, clamp_min, clamp_max, lerp = _functions(pointwise, "clamp clamp_min clamp_max lerp")
matmul, mm, bmm, dot, mv = _functions(linalg, "matmul mm bmm dot mv")
reshape, flatten, squeeze, transpose, t, permute, movedim, chunk, split, unbind = _functions(
    shape, "reshape flatten squeeze transpose t permute movedim chunk split unbind")
eq, ne, lt, le, gt, ge, isnan, isfinite, isinf = _functions(compare, "eq ne lt le gt ge isnan isfinite isinf")
logical_and, logical_or, logical_not, logical_xor = _functions(
    compare, "logical_and logical_or logical_not logical_xor")
isclose, allclose, equal = _functions(compare, "isclose allclose equal")
narrow, select, tril, triu = _functions(shape, "narrow select tril triu")
repeat_interleave = tensor_function("repeat_interleave", shape.repeat_interleave)
flip = tensor_function("flip", shape.flip_function)
cumsum = tensor_function("cumsum", reduction.cumsum)
sort, topk, unique = _functions(sorting, "sort topk unique")
gather, index_select, masked_select = _functions(indexing, "gather index_select masked_select")
scatter, scatter_add, index_add = _functions(scatter_ops, "scatter scatter_add index_add")
diagonal, diag_embed, diag, trace = _functions(diagonal_ops, "diagonal diag_embed diag trace")
