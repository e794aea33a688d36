"""ag.testing: assert_close, make_tensor and the deprecated assert_allclose, as torch.testing (PyTorch 2.13).

assert_close pairs up its inputs as PyTorch does (None, bools, Python/NumPy numbers, tensor-likes, and
sequences/mappings of them, recursively), checks each pair's attributes, then its values on the host, and
raises the first failure with PyTorch's message text. Our objects print as ours: a shape is a tuple,
`(2, 3)` where PyTorch prints `torch.Size([2, 3])`, and a dtype `autograd_gpu.float32`."""
import cmath
import collections.abc
import contextlib
import math
import warnings

import numpy as np

from . import _dtype
from .tensor import Tensor

__all__ = ["assert_close", "make_tensor", "assert_allclose"]

# {dtype: (rtol, atol)}; other dtypes compare exactly
_TOLERANCES = {_dtype.float16: (1e-3, 1e-5), _dtype.float32: (1.3e-6, 1e-5), _dtype.float64: (1e-7, 1e-7)}
# Python number types take the tolerances of the dtype PyTorch gives them (int64, float64, complex128)
_NUMBER_TOLERANCES = {int: (0.0, 0.0), float: (1e-7, 1e-7), complex: (1e-7, 1e-7)}
_ALLCLOSE_TOLERANCES = {_dtype.float16: (1e-3, 1e-3), _dtype.float32: (1e-4, 1e-5), _dtype.float64: (1e-5, 1e-8)}
_INTEGRAL = (_dtype.uint8, _dtype.int8, _dtype.int16, _dtype.int32, _dtype.int64)
_FLOATING = (_dtype.float16, _dtype.float32, _dtype.float64)
_F16, _F32, _I64 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.int64)


class _Mismatch(Exception):
    """A failed check: the exception type to raise, PyTorch's text, and where in the nested inputs it happened."""

    def __init__(self, kind, text, path=()):
        super().__init__(text)
        self.kind, self.text, self.path = kind, text, path

    def error(self, msg=None):
        """The exception for the user: `msg` replaces the text (a str) or rewrites it (a callable)."""
        if isinstance(msg, str):
            return self.kind(msg)
        text = self.text
        if self.path:
            text += f"\n\nThe failure occurred for item {_path_str(self.path)}"
        return self.kind(msg(text) if callable(msg) else text)


class _Unsupported(Exception):
    """This kind of pair does not take these inputs: the next kind is tried."""


def _path_str(path):
    return "".join(str([item]) for item in path)


def _tolerances(kinds, rtol, atol, path, table=_TOLERANCES):
    """(rtol, atol): the given pair, or the loosest defaults in `table` of `kinds` (dtypes, or Python
    number types); both or neither must be given."""
    if (rtol is None) != (atol is None):
        raise _Mismatch(ValueError, "Both 'rtol' and 'atol' must be either specified or omitted, but got no "
                                    f"{'rtol' if rtol is None else 'atol'}.", path)
    if rtol is not None:
        return rtol, atol
    pairs = [table.get(k, (0.0, 0.0)) for k in kinds]
    return max(p[0] for p in pairs), max(p[1] for p in pairs)


# ---- messages ----

def _mismatch_text(identifier, extra, diffs, rtol, atol):
    """PyTorch's report: header, `extra`, then the absolute and relative differences
    (`diffs`: ((value, index or None), (value, index or None)))."""
    equality = rtol == 0 and atol == 0
    lines = [f"{identifier} are not {'equal' if equality else 'close'}!", "", extra]
    for kind, (diff, index), tol in zip(("absolute", "relative"), diffs, (atol, rtol)):
        line = (f"{kind.title()} difference: {diff}" if index is None
                else f"Greatest {kind} difference: {diff} at index {index}")
        lines.append(line if equality else f"{line} (up to {tol} allowed)")
    return "\n".join(lines)


def _scalar_text(actual, expected, rtol, atol):
    abs_diff = abs(actual - expected)
    rel_diff = float("inf") if expected == 0 else abs_diff / abs(expected)
    return _mismatch_text("Scalars", f"Expected {expected} but got {actual}.",
                          ((abs_diff, None), (rel_diff, None)), rtol, atol)


def _tensor_text(actual, expected, matches, rtol, atol):
    """The report for host arrays of one dtype: mismatch count, greatest differences among the mismatches."""
    total = matches.size
    wrong = total - int(np.count_nonzero(matches))
    extra = f"Mismatched elements: {wrong} / {total} ({wrong / total:.1%})"
    a, e, ok = actual.ravel(), expected.ravel(), matches.ravel()
    if a.dtype.kind != "f":
        a, e = a.astype(_I64), e.astype(_I64)
    with np.errstate(all="ignore"):
        abs_diff = np.abs(a - e)
        abs_diff[ok] = 0
        if a.dtype.kind != "f":            # integer division gives the default float dtype, as PyTorch's
            default = _dtype.get_default_float().np
            rel_diff = abs_diff.astype(default) / np.abs(e).astype(default)
        else:
            rel_diff = abs_diff / np.abs(e)
        rel_diff[ok] = 0
    diffs = []
    for d in (abs_diff, rel_diff):
        flat = int(np.argmax(d))            # the first greatest; a NaN counts as the greatest, as torch.max
        diffs.append((d[flat].item(), tuple(int(i) for i in np.unravel_index(flat, matches.shape))))
    return _mismatch_text("Tensor-likes", extra, diffs, rtol, atol)


# ---- closeness of host arrays (torch.isclose) ----

def _isclose(actual, expected, rtol, atol, equal_nan):
    """torch.isclose on two host arrays of one dtype, with PyTorch's arithmetic: bool and integer values
    are compared in the default float dtype; float16 steps are computed in float32 and rounded to float16
    (atol rounded to float16 first, as PyTorch's add takes it)."""
    if rtol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol}")
    if atol < 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol}")
    close = actual == expected
    if equal_nan and actual.dtype.kind == "f":
        close |= np.isnan(actual) & np.isnan(expected)
    if rtol == 0 and atol == 0:
        return close
    if actual.dtype.kind != "f":
        default = _dtype.get_default_float().np
        actual, expected = actual.astype(default), expected.astype(default)
    dt = actual.dtype
    work = _F32 if dt == _F16 else dt
    with np.errstate(all="ignore"):
        scaled = np.abs((work.type(rtol) * expected.astype(work)).astype(dt))
        allowed = (work.type(dt.type(atol)) + scaled.astype(work)).astype(dt)
        error = np.abs(actual - expected)
    return close | (np.isfinite(error) & (error <= allowed))


# ---- pairs: each maker returns a check (a callable raising _Mismatch) or raises _Unsupported ----

def _none_pair(actual, expected, path, opts):
    if actual is not None and expected is not None:
        raise _Unsupported

    def check():
        if not (actual is None and expected is None):
            raise _Mismatch(AssertionError, f"None mismatch: {actual} is not {expected}", path)
    return check


def _bool_pair(actual, expected, path, opts):
    if not all(isinstance(x, (bool, np.bool_)) for x in (actual, expected)):
        raise _Unsupported
    a, e = bool(actual), bool(expected)

    def check():
        if a is not e:
            raise _Mismatch(AssertionError, f"Booleans mismatch: {a} is not {e}", path)
    return check


def _number_pair(actual, expected, path, opts):
    if not all(isinstance(x, (int, float, complex, np.number)) for x in (actual, expected)):
        raise _Unsupported
    a, e = (x.item() if isinstance(x, np.number) else x for x in (actual, expected))
    if isinstance(a, bool) or isinstance(e, bool):
        # PyTorch has no tolerance for a bool next to a number and fails unexpectedly (RuntimeError) too
        raise RuntimeError(f"assert_close(): a bool compares only with a bool, but got {type(a).__name__}() {a} "
                           f"and {type(e).__name__}() {e}"
                           + (f" at item {_path_str(path)}" if path else ""))
    rtol, atol = _tolerances([type(a), type(e)], opts["rtol"], opts["atol"], path, _NUMBER_TOLERANCES)

    def check():
        if opts["check_dtype"] and type(a) is not type(e):
            raise _Mismatch(AssertionError, f"The (d)types do not match: {type(a)} != {type(e)}.", path)
        if a == e or (opts["equal_nan"] and cmath.isnan(a) and cmath.isnan(e)):
            return
        diff = abs(a - e)
        if cmath.isfinite(diff) and diff <= atol + rtol * abs(e):
            return
        raise _Mismatch(AssertionError, _scalar_text(a, e, rtol, atol), path)
    return check


def _as_tensor(x):
    if isinstance(x, Tensor):
        return x
    from .creation import tensor
    try:
        return tensor(x)
    except Exception:
        raise _Unsupported from None


def _tensor_pair(actual, expected, path, opts):
    related = isinstance(actual, type(expected)) or isinstance(expected, type(actual))
    if not related or (not opts["allow_subclasses"] and type(actual) is not type(expected)):
        raise _Unsupported
    a, e = _as_tensor(actual), _as_tensor(expected)
    rtol, atol = _tolerances([a.dtype, e.dtype], opts["rtol"], opts["atol"], path)
    return lambda: _compare_tensors(a, e, rtol, atol, opts, path)


def _compare_tensors(a, e, rtol, atol, opts, path):
    def differ(attribute, x, y):
        raise _Mismatch(AssertionError, f"The values for attribute '{attribute}' do not match: {x} != {y}.", path)

    if tuple(a.shape) != tuple(e.shape):
        differ("shape", tuple(a.shape), tuple(e.shape))
    if opts["check_stride"] and a.stride() != e.stride():
        differ("stride()", a.stride(), e.stride())
    if opts["check_device"] and a.device != e.device:
        differ("device", a.device, e.device)
    if opts["check_dtype"] and a.dtype != e.dtype:
        differ("dtype", a.dtype, e.dtype)
    dt = a.dtype if a.dtype == e.dtype else _dtype.promote_pair(a.dtype, e.dtype)
    x, y = (_host(t, dt) for t in (a, e))
    matches = _isclose(x, y, rtol, atol, opts["equal_nan"])
    if matches.all():
        return
    text = (_scalar_text(x.item(), y.item(), rtol, atol) if x.ndim == 0
            else _tensor_text(x, y, matches, rtol, atol))
    raise _Mismatch(AssertionError, text, path)


def _host(t, dt):
    """The values of `t` as a NumPy array of dtype `dt` (converted as Tensor.to converts)."""
    t = t.detach()
    if t.dtype != dt:
        t = t.to(dt)
    return np.asarray(t.cpu().numpy())


_PAIR_MAKERS = (_none_pair, _bool_pair, _number_pair, _tensor_pair)


def _is_sequence(x):
    return isinstance(x, collections.abc.Sequence) and not isinstance(x, str)


def _pairs(actual, expected, path, opts):
    """The checks of every leaf pair of the (possibly nested) inputs, in order; a structural mismatch raises."""
    if _is_sequence(actual) and _is_sequence(expected):
        if len(actual) != len(expected):
            raise _Mismatch(AssertionError, f"The length of the sequences mismatch: {len(actual)} != "
                                            f"{len(expected)}", path)
        return [c for i in range(len(actual)) for c in _pairs(actual[i], expected[i], (*path, i), opts)]
    if isinstance(actual, collections.abc.Mapping) and isinstance(expected, collections.abc.Mapping):
        keys, expected_keys = set(actual.keys()), set(expected.keys())
        if keys != expected_keys:
            raise _Mismatch(AssertionError, "The keys of the mappings do not match:\n"
                                            f"Missing keys in the actual mapping: {sorted(expected_keys - keys)}\n"
                                            f"Additional keys in the actual mapping: {sorted(keys - expected_keys)}",
                            path)
        with contextlib.suppress(Exception):       # a deterministic order where the keys sort
            keys = sorted(keys)
        return [c for k in keys for c in _pairs(actual[k], expected[k], (*path, k), opts)]
    for make in _PAIR_MAKERS:
        try:
            return [make(actual, expected, path, opts)]
        except _Unsupported:
            continue
    raise _Mismatch(TypeError, f"No comparison pair was able to handle inputs of type {type(actual)} and "
                               f"{type(expected)}.", path)


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None, equal_nan=False,
                 check_device=True, check_dtype=True, check_layout=True, check_stride=False, msg=None):
    """Assert that `actual` and `expected` are close: |actual - expected| <= atol + rtol * |expected|
    elementwise, infinities equal, NaNs equal only with equal_nan; same shape, and (when checked) same
    device, dtype and strides. Tensors, Python and NumPy numbers, NumPy arrays, None, and sequences and
    mappings of these (compared element by element). Default tolerances per dtype: float16 (1e-3, 1e-5),
    float32 (1.3e-6, 1e-5), float64 (1e-7, 1e-7), exact otherwise; the loosest of the two inputs.
    check_dtype=False compares in the promoted dtype; CUDA tensors are compared on the host; gradients are
    not compared. `msg`: a str replacing the message, or a callable rewriting it. Raises AssertionError
    on a mismatch, TypeError for inputs that cannot be paired, ValueError when only one of rtol/atol is
    given. (All tensors here are strided: check_layout has nothing to check.)"""
    __tracebackhide__ = True
    opts = dict(allow_subclasses=allow_subclasses, rtol=rtol, atol=atol, equal_nan=equal_nan,
                check_device=check_device, check_dtype=check_dtype, check_stride=check_stride)
    try:
        checks = _pairs(actual, expected, (), opts)
    except _Mismatch as failure:            # a structural failure: msg does not apply, as in PyTorch
        raise failure.error() from None
    first = None
    for check in checks:                    # every pair is checked; the first failure is reported
        try:
            check()
        except _Mismatch as failure:
            first = first or failure
    if first is not None:
        raise first.error(msg) from None


def assert_allclose(actual, expected, rtol=None, atol=None, equal_nan=True, msg=""):
    """Deprecated (FutureWarning, as PyTorch since 1.12): assert_close with check_dtype=False, NaNs equal by
    default, non-tensors made tensors (expected in actual's dtype), and the older default tolerances:
    float16 (1e-3, 1e-3), float32 (1e-4, 1e-5), float64 (1e-5, 1e-8)."""
    warnings.warn("`autograd_gpu.testing.assert_allclose()` is deprecated since 1.12 and will be removed in a "
                  "future release. Please use `autograd_gpu.testing.assert_close()` instead. You can find detailed "
                  "upgrade instructions in https://github.com/pytorch/pytorch/issues/61844.",
                  FutureWarning, stacklevel=2)
    from .creation import tensor
    if not isinstance(actual, Tensor):
        actual = tensor(actual)
    if not isinstance(expected, Tensor):
        expected = tensor(expected, dtype=actual.dtype)
    if rtol is None and atol is None:
        rtol, atol = _tolerances([actual.dtype, expected.dtype], None, None, (), _ALLCLOSE_TOLERANCES)
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan, check_device=True,
                 check_dtype=False, check_stride=False, msg=msg or None)


# ---- make_tensor ----

def _value_range(dtype, low, high):
    """[low, high) for make_tensor: the dtype's default where not given, checked, clamped to what the dtype
    holds; integer bounds rounded up (high stays exclusive)."""
    from .ops.functional_aliases import finfo, iinfo
    if dtype is _dtype.bool_:
        lowest, highest, default = 0, 2, (0, 2)
    elif dtype in _INTEGRAL:
        info = iinfo(dtype)
        # randint cannot draw int64's largest value: its bounds are int64
        lowest, highest, default = info.min, info.max + (dtype is not _dtype.int64), (-9, 10)
    else:
        info = finfo(dtype)
        lowest, highest, default = info.min, info.max, (-9, 9)
    low = default[0] if low is None else low
    high = default[1] if high is None else high
    if any(isinstance(v, float) and math.isnan(v) for v in (low, high)):
        raise ValueError(f"`low` and `high` cannot be NaN, but got {low=} and {high=}")
    if low == high and dtype in _FLOATING:
        warnings.warn("Passing `low==high` to `autograd_gpu.testing.make_tensor` for floating or complex types "
                      "is deprecated since 2.1 and will be removed in 2.3. Use `autograd_gpu.full(...)` instead.",
                      FutureWarning, stacklevel=3)
    elif low >= high:
        raise ValueError(f"`low` must be less than `high`, but got {low} >= {high}")
    elif high < lowest or low >= highest:
        raise ValueError(f"The value interval specified by `low` and `high` is [{low}, {high}), but {dtype} only "
                         f"supports [{lowest}, {highest})")
    low, high = min(max(low, lowest), highest), min(max(high, lowest), highest)
    if dtype in _FLOATING:
        return low, high
    return math.ceil(low), math.ceil(high)


def _uniform(shape, dtype, device, low, high):
    from .creation import empty
    from .ops.functional_aliases import finfo
    t = empty(shape, dtype=dtype, device=device)
    if high - low >= finfo(dtype).max:       # the width overflows the dtype: draw half of it, then double
        return t.uniform_(low / 2, high / 2).mul_(2)
    return t.uniform_(low, high)


def _with_memory_format(t, memory_format):
    """A copy of `t` laid out in `memory_format` (a torch.memory_format or its name)."""
    from .nn.utils.compat import _FORMATS, _format_name
    name = _format_name("make_tensor", memory_format)
    rank, order = _FORMATS[name]
    if order is None:
        return t.clone().contiguous() if name == "contiguous_format" else t.clone()
    if t.dim() != rank:
        raise RuntimeError(f"required rank {rank} tensor to use {name} format")
    return t.permute(*order).contiguous().permute(*[order.index(d) for d in range(rank)])


def make_tensor(*shape, dtype, device, low=None, high=None, requires_grad=False, noncontiguous=False,
                exclude_zero=False, memory_format=None):
    """A tensor of `shape` with values drawn uniformly from [low, high), as torch.testing.make_tensor.
    Defaults: bool [0, 2), uint8 [0, 10), signed integers [-9, 10), floating [-9, 9); bounds outside the
    dtype's range are clamped to it (integer bounds rounded up). noncontiguous: a strided view (every other
    element of a doubled last dimension; ignored below two elements). exclude_zero: zeros become 1
    (bool, integers) or the dtype's smallest normal number. memory_format: a torch.memory_format or its name
    ("channels_last", ...). ValueError for NaN bounds, low >= high, a range the dtype cannot hold,
    requires_grad with a bool or integer dtype, or noncontiguous with memory_format; TypeError for a dtype
    this function does not make."""
    if len(shape) == 1 and isinstance(shape[0], collections.abc.Sequence):
        shape = shape[0]
    shape = tuple(shape)
    if noncontiguous and memory_format is not None:
        raise ValueError("The parameters `noncontiguous` and `memory_format` are mutually exclusive, but got "
                         f"{noncontiguous=} and {memory_format=}")
    exact = dtype is _dtype.bool_ or dtype in _INTEGRAL
    if requires_grad and exact:
        raise ValueError(f"`requires_grad=True` is not supported for boolean and integral dtypes, but got {dtype=}")
    if not exact and dtype not in _FLOATING:
        raise TypeError(f"The requested dtype '{dtype}' is not supported by autograd_gpu.testing.make_tensor().")
    noncontiguous = noncontiguous and math.prod(shape) > 1
    if noncontiguous:                       # twice the last dim, so the view skips real values
        shape = (*shape[:-1], 2 * shape[-1])
    low, high = _value_range(dtype, low, high)
    if exact:
        from .creation import randint
        result = randint(low, high, shape, dtype=dtype, device=device)
    else:
        result = _uniform(shape, dtype, device, low, high)
    if noncontiguous:
        result = result[..., 1::2]          # (from offset 1, to catch offset bugs too)
    elif memory_format is not None:
        result = _with_memory_format(result, memory_format)
    if exclude_zero:
        from .ops.functional_aliases import finfo
        result[result == 0] = 1 if exact else finfo(dtype).tiny
    if not exact:
        result.requires_grad = requires_grad
    return result
