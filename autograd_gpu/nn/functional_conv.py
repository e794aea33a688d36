"""ag.nn.functional's convolution and pooling forms, and unfold / fold
(re-exported by functional.py).

All are sliding windows (ops/windows.py) and Tensor ops, one code path for
1, 2 and 3 spatial dims: a matrix product then for convolution, max or sum
over the window for pooling; a transposed convolution is the matrix product
first, then the windows summed back (fold), the adjoint of convolution.
Adaptive pooling uses PyTorch's windows [floor(i L / o), ceil((i + 1) L / o)):
averages as products with averaging matrices, maxima over gathered windows.
Max unpooling scatters into zeros; LP pooling is PyTorch's composition of an
average pool."""
import math
import numbers

import numpy as np

from ..creation import zeros
from ..ops.linalg import saving_operands
from ..autograd.grad_mode import state as grad_state
from ..autograd.op import Op
from ..ops import prims as P
from ..ops.tied import as_one_node, composite_gradients, tie_gradient
from ..ops.windows import fold_windows, interior, make_geometry, offsets, padded_array, windows
from ..tensor import Tensor
from .functional import _same_device, _tensor_arg
from ..amp import cast_at_entry

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
           "max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices", "max_pool2d_with_indices",
           "max_pool3d_with_indices", "avg_pool1d", "avg_pool2d", "avg_pool3d",
           "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
           "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d", "adaptive_max_pool1d_with_indices",
           "adaptive_max_pool2d_with_indices", "adaptive_max_pool3d_with_indices",
           "max_unpool1d", "max_unpool2d", "max_unpool3d", "lp_pool1d", "lp_pool2d", "lp_pool3d", "unfold", "fold"]


# ---- arguments ------------------------------------------------------------------------

def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _ntuple(v, n, fn, name):
    """An int, or a list/tuple of 1 or n ints, as a tuple of n ints."""
    if _is_int(v):
        return (int(v),) * n
    if isinstance(v, (tuple, list)) and all(_is_int(e) for e in v):
        if len(v) == n:
            return tuple(int(e) for e in v)
        if len(v) == 1:
            return (int(v[0]),) * n
        raise RuntimeError(f"{fn}(): expected {name} to be a single integer value or a list of {n} values, "
                           f"but got {name}={list(v)}")
    raise TypeError(f"{fn}(): argument '{name}' must be int or tuple of ints, not {type(v).__name__}")


def _positive(fn, name, vals, least=1):
    if any(v < least for v in vals):
        what = "greater than zero" if least == 1 else "non-negative"
        raise RuntimeError(f"{fn}(): {name} must be {what}, but got {name}={vals}")


def _spatial_input(fn, input, nd, kinds="f"):
    """input as a batch (N, C, *spatial), and whether it came unbatched;
    its dtype must be of `kinds` (NumPy's kind letters), as PyTorch's kernels."""
    _tensor_arg(input, fn, "input")
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"{fn}(): Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input, but got input "
                           f"of size: {list(input.shape)}")
    _check_kind(fn, input, kinds)
    batched = input.dim() == nd + 2
    return (input if batched else input.unsqueeze(0)), batched


def _check_kind(fn, input, kinds):
    if input._data.dtype.kind not in kinds:
        raise NotImplementedError(f"{fn}(): \"{fn}\" not implemented for '{input.dtype.libtorch}'")


def _const(x, a):
    """A constant array as a Tensor of x's dtype on x's device."""
    return Tensor._make(x._backend.from_host(np.ascontiguousarray(a, dtype=x._data.dtype)), x._backend)


def _index_tensor(x, a):
    return Tensor._make(x._backend.from_host(np.ascontiguousarray(a, dtype=np.int64)), x._backend)


# ---- convolution ----------------------------------------------------------------------

def _conv_padding(fn, padding, nd, kernel, dilation, stride):
    """(padding before, after) per dim, for ints or "valid" / "same"."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0,) * nd, (0,) * nd
        if padding != "same":
            raise RuntimeError(f"{fn}(): Invalid padding string: '{padding}'")
        if any(s != 1 for s in stride):
            raise RuntimeError(f"{fn}(): padding='same' is not supported for strided convolutions")
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        lo = tuple(t // 2 for t in total)           # the odd one out goes after, as PyTorch's
        return lo, tuple(t - a for t, a in zip(total, lo))
    p = _ntuple(padding, nd, fn, "padding")
    if any(v < 0 for v in p):
        raise RuntimeError(f"{fn}(): negative padding is not supported, got padding={list(p)}")
    return p, p


def _conv_args(fn, nd, input, weight, bias, stride, dilation, groups):
    """The checks convolution and its transpose share, in PyTorch's order:
    argument types, stride, dilation, groups, weight's number of dims.
    Returns (stride, dilation) as tuples."""
    _tensor_arg(input, fn, "input")
    _tensor_arg(weight, fn, "weight")
    if bias is not None:
        _tensor_arg(bias, fn, "bias")
    stride = _ntuple(stride, nd, fn, "stride")
    dilation = _ntuple(dilation, nd, fn, "dilation")
    if not _is_int(groups):
        raise TypeError(f"{fn}(): argument 'groups' must be int, not {type(groups).__name__}")
    _positive(fn, "stride", stride)
    _positive(fn, "dilation", dilation)
    if groups < 1:
        raise RuntimeError(f"{fn}(): non-positive groups is not supported, got groups={groups}")
    if weight.dim() != nd + 2:
        raise RuntimeError(f"{fn}(): expected weight to be {nd + 2}-dimensional, but got weight of size "
                           f"{list(weight.shape)}")
    return stride, dilation


def _same_as_input(fn, input, weight, bias):
    """weight and bias on input's device with input's dtype."""
    for other, what in ((weight, "weight"), (bias, "bias")):
        if other is not None:
            _same_device(fn, input, other, "input", what)
            if other.dtype is not input.dtype:
                raise RuntimeError(f"{fn}(): Input type ({input.dtype.libtorch}) and {what} type "
                                   f"({other.dtype.libtorch}) should be the same")


def _check_bias(fn, bias, weight, n, transposed=False):
    if bias is not None and (bias.dim() != 1 or bias.shape[0] != n):
        raise RuntimeError(f"{fn}(): Given {'transposed=1, ' if transposed else ''}weight of size "
                           f"{list(weight.shape)}, expected bias to be 1-dimensional with {n} elements, but got "
                           f"bias of size {list(bias.shape)} instead")


def _add_bias(y, bias, nd):
    return y if bias is None else y + bias.reshape(bias.shape[0], *(1,) * nd)


def _conv(fn, nd, input, weight, bias, stride, padding, dilation, groups):
    stride, dilation = _conv_args(fn, nd, input, weight, bias, stride, dilation, groups)
    kernel = tuple(weight.shape[2:])
    lo, hi = _conv_padding(fn, padding, nd, kernel, dilation, stride)
    x, batched = _spatial_input(fn, input, nd, kinds="fiu")
    _same_as_input(fn, input, weight, bias)
    cout, cin_g = weight.shape[0], weight.shape[1]
    if cout % groups:
        raise RuntimeError(f"{fn}(): Given groups={groups}, expected weight to be divisible by {groups} at "
                           f"dimension 0, but got weight of size {list(weight.shape)} instead")
    if x.shape[1] != cin_g * groups:
        raise RuntimeError(f"{fn}(): Given groups={groups}, weight of size {list(weight.shape)}, expected "
                           f"input{list(x.shape)} to have {cin_g * groups} channels, but got {x.shape[1]} "
                           "channels instead")
    _check_bias(fn, bias, weight, cout)
    sizes = tuple(x.shape[2:])
    padded = tuple(n + a + b for n, a, b in zip(sizes, lo, hi))
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(p < s for p, s in zip(padded, span)):
        raise RuntimeError(f"{fn}(): Calculated padded input size per channel: ({' x '.join(map(str, padded))}). "
                           f"Kernel size: ({' x '.join(map(str, span))}). Kernel size can't be greater than "
                           "actual input size")
    geo = make_geometry(sizes, kernel, dilation, lo, hi, stride)
    if cin_g == 1 and groups > 1 and type(x._data) is np.ndarray and x._data.dtype in _DEPTHWISE_DTYPES:
        y = DepthwiseConv.applyN((x, weight) if bias is None else (x, weight, bias), geo)
        return y if batched else y.squeeze(0)
    # (padding "same" that is uneven: PyTorch pads the input first and its node saves that copy)
    saved_input = x if lo == hi else x.clone() if x._rg and grad_state.enabled else None
    y = as_one_node(_conv_composite(x, weight, bias, geo, groups), "ConvolutionBackward0", "convolution",
                    (saved_input, weight))
    return y if batched else y.squeeze(0)


def _conv_composite(x, weight, bias, geo, groups):
    """The convolution of a batch in Tensor ops: the windows (im2col) times the weight, per group."""
    n, cout, k = x.shape[0], weight.shape[0], weight.shape[1] * math.prod(geo.kernel)
    cols = windows(x, geo).reshape(n, groups, k, math.prod(geo.out))
    # (one product saving the weight itself, as PyTorch's convolution node does)
    y = saving_operands(weight.reshape(groups, cout // groups, k), cols).reshape(n, cout, *geo.out)
    return _add_bias(y, bias, len(geo.sizes))


_DEPTHWISE_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class DepthwiseConv(Op):
    """A depthwise convolution (groups = input channels, each giving m = C_out / C_in) of a float32/64
    NumPy batch, as PyTorch's one node, without a windows array (im2col is k times the input, and its
    batched products of 1 x k matrices run NumPy's small-matrix loop): per kernel offset, the strided
    view of the padded input times that offset's weights, added up; backward the same way round, the
    input's gradient added back through the views and the weight's summed per channel. Under
    create_graph the composite is recomputed in Tensor ops and differentiated."""
    _name, op_name = "ConvolutionBackward0", "convolution"
    save_inputs = (0, 1)

    def forward(self, x, w, *rest):
        *b, geo = rest
        n, c = x.shape[:2]
        self.geo, self.m, self.has_bias = geo, w.shape[0] // c, bool(b)
        y = np.zeros((n, c, self.m) + geo.out, x.dtype)
        if y.size:
            xpad, product = padded_array(x, geo, 0, np), np.empty_like(y)
            for offs, src in offsets(geo):
                y += np.multiply(xpad[(_ALL, _ALL, None) + src], self._tap(w, offs), out=product)
        if b:
            y += b[0].reshape((c, self.m) + (1,) * len(geo.out))
        return y.reshape((n, c * self.m) + geo.out)

    def _tap(self, w, offs):
        """The weights at one kernel offset, shaped (C_in, m, 1, ...) against (N, C_in, m, *out)."""
        return w[(_ALL, 0) + offs].reshape((-1, self.m) + (1,) * len(self.geo.out))

    def backward(self, g, x, w):
        geo, m = self.geo, self.m
        n, c = x.shape[:2]
        spatial = tuple(range(2, 2 + len(geo.out)))
        if type(g) is Tensor:           # (the bias's gradient a node of the inputs too, as PyTorch's)
            g = tie_gradient(g, (x, w), self._name, self.op_name)
        gb = None
        if self.has_bias and self.needs(2):
            gb = g.sum((0,) + spatial) if type(g) is Tensor else np.add.reduce(g, (0,) + spatial)
        if type(g) is Tensor:
            gx, gw = composite_gradients(self, [x, w], lambda a, b: _conv_composite(a, b, None, geo, c), (g,))
            return (gx, gw, gb) if self.has_bias else (gx, gw)
        gy = g.reshape((n, c, m) + geo.out)
        gx = gw = None
        if self.needs(0):
            gxpad = np.zeros((n, c) + tuple(k + lo + hi for k, lo, hi in zip(geo.sizes, geo.pad_lo, geo.pad_hi)),
                             g.dtype)
        if self.needs(1):
            gw, xpad = np.zeros_like(w), padded_array(x, geo, 0, np)
        product = np.empty(gy.shape, g.dtype)
        if gy.size:
            for offs, src in offsets(geo):
                if self.needs(1):
                    np.multiply(gy, xpad[(_ALL, _ALL, None) + src], out=product)
                    gw[(_ALL, 0) + offs] = np.add.reduce(product, (0,) + tuple(a + 1 for a in spatial)).reshape(-1)
                if self.needs(0):
                    np.multiply(gy, self._tap(w, offs), out=product)
                    gxpad[(_ALL, _ALL) + src] += product[:, :, 0] if m == 1 else np.add.reduce(product, 2)
        if self.needs(0):
            gx = np.ascontiguousarray(gxpad[(_ALL, _ALL) + interior(geo)])
        return (gx, gw, gb) if self.has_bias else (gx, gw)


_ALL = slice(None)


@cast_at_entry
def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution (cross-correlation) of (N, C_in, L) or (C_in, L) input
    with weight (C_out, C_in / groups, k); padding an int or "valid" / "same"."""
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


@cast_at_entry
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation) of (N, C_in, H, W) or (C_in, H, W)
    input with weight (C_out, C_in / groups, kH, kW)."""
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


@cast_at_entry
def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution (cross-correlation) of (N, C_in, D, H, W) or
    (C_in, D, H, W) input with weight (C_out, C_in / groups, kD, kH, kW)."""
    return _conv("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


def _transposed_padding(fn, nd, padding, output_padding, stride, dilation):
    """padding and output_padding as tuples, after PyTorch's checks (an
    output_padding must be below the stride or the dilation: beyond both it
    would reach past every window)."""
    pad = _ntuple(padding, nd, fn, "padding")
    out_pad = _ntuple(output_padding, nd, fn, "output_padding")
    if any(v < 0 for v in pad):
        raise RuntimeError(f"{fn}(): negative padding is not supported, got padding={list(pad)}")
    if any(v < 0 for v in out_pad):
        raise RuntimeError(f"{fn}(): negative output_padding is not supported, got output_padding={list(out_pad)}")
    if any(o >= s and o >= d for o, s, d in zip(out_pad, stride, dilation)):
        raise RuntimeError(f"{fn}(): output padding must be smaller than either stride or dilation, but got "
                           f"output_padding={list(out_pad)}, stride={list(stride)} and dilation={list(dilation)}")
    return pad, out_pad


def _conv_transpose(fn, nd, input, weight, bias, stride, padding, output_padding, groups, dilation):
    """The adjoint of convolution: each input position spreads its weighted
    values over a window of the output, overlaps summing (fold of the
    weight-multiplied input; its gradient is the convolution)."""
    stride, dilation = _conv_args(fn, nd, input, weight, bias, stride, dilation, groups)
    pad, out_pad = _transposed_padding(fn, nd, padding, output_padding, stride, dilation)
    x, batched = _spatial_input(fn, input, nd, kinds="fi")
    if x._data.dtype.kind == "i" and x._data.dtype.itemsize != 8:      # (integers: int64 only, as PyTorch's)
        _check_kind(fn, x, "f")
    _same_as_input(fn, input, weight, bias)
    cin, cout_g, kernel = weight.shape[0], weight.shape[1], tuple(weight.shape[2:])
    if weight.numel() == 0:
        raise RuntimeError(f"{fn}(): non-empty {nd + 2}D weight tensor expected, but got: {list(weight.shape)}")
    if cin % groups:
        raise RuntimeError(f"{fn}(): Given groups={groups}, expected weight to be divisible by {groups} at "
                           f"dimension 0, but got weight of size {list(weight.shape)} instead")
    if x.shape[1] != cin:
        raise RuntimeError(f"{fn}(): Given transposed=1, weight of size {list(weight.shape)}, expected "
                           f"input{list(x.shape)} to have {cin} channels, but got {x.shape[1]} channels instead")
    _check_bias(fn, bias, weight, cout_g * groups, transposed=True)
    sizes = tuple(x.shape[2:])
    if 0 in sizes:
        raise RuntimeError(f"{fn}(): Only zero batch or zero channel inputs are supported, but got input shape: "
                           f"{list(input.shape)}")
    out = tuple((n - 1) * s - 2 * p + d * (k - 1) + o + 1
                for n, s, p, d, k, o in zip(sizes, stride, pad, dilation, kernel, out_pad))
    if any(o < 1 for o in out):
        raise RuntimeError(f"{fn}(): Given input size per channel: ({' x '.join(map(str, sizes))}). Calculated "
                           f"output size per channel: ({' x '.join(map(str, out))}). Output size is too small")
    # the convolution of an `out`-sized input with these windows has `sizes` positions
    geo = make_geometry(out, kernel, dilation, pad, pad, stride, sizes)
    n, cin_g = x.shape[0], cin // groups
    w = weight.reshape(groups, cin_g, cout_g * math.prod(kernel)).transpose(1, 2)
    cols = saving_operands(w, x.reshape(n, groups, cin_g, math.prod(sizes)))
    y = fold_windows(cols.reshape(n, groups * cout_g, *kernel, *sizes), geo)
    y = as_one_node(_add_bias(y, bias, nd), "ConvolutionBackward0", "convolution", (x, weight))
    return y if batched else y.squeeze(0)


@cast_at_entry
def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """1-D transposed convolution of (N, C_in, L) or (C_in, L) input with
    weight (C_in, C_out / groups, k): the gradient of conv1d with respect to
    its input. output_padding adds positions at the end of the output."""
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


@cast_at_entry
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """2-D transposed convolution of (N, C_in, H, W) or (C_in, H, W) input
    with weight (C_in, C_out / groups, kH, kW)."""
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


@cast_at_entry
def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """3-D transposed convolution of (N, C_in, D, H, W) or (C_in, D, H, W)
    input with weight (C_in, C_out / groups, kD, kH, kW)."""
    return _conv_transpose("conv_transpose3d", 3, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


# ---- pooling --------------------------------------------------------------------------

def _pool_geometry(fn, x, nd, kernel_size, stride, padding, dilation, ceil_mode, max_pool):
    """The windows of a max or average pool, after PyTorch's checks: out
    counts with ceil_mode's rule (a last window must start inside the input
    or its left padding)."""
    kernel = _ntuple(kernel_size, nd, fn, "kernel_size")
    stride = kernel if stride is None or (isinstance(stride, (list, tuple)) and not stride) else \
        _ntuple(stride, nd, fn, "stride")
    pad = _ntuple(padding, nd, fn, "padding")
    dil = _ntuple(dilation, nd, fn, "dilation")
    _positive(fn, "kernel_size", kernel)
    _positive(fn, "stride", stride)
    _positive(fn, "dilation", dil)
    _positive(fn, "padding", pad, least=0)
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dil))
    if any(p > (s // 2 if max_pool else k // 2) for p, s, k in zip(pad, span, kernel)):
        what = "effective kernel size" if max_pool else "kernel size"
        raise RuntimeError(f"{fn}(): pad should be at most half of {what}, but got pad={list(pad)}, "
                           f"kernel_size={list(kernel)} and dilation={list(dil)}")
    sizes, out = tuple(x.shape[2:]), []
    for n, p, s, w in zip(sizes, pad, stride, span):
        o = (n + 2 * p - w + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (o - 1) * s >= n + p:
            o -= 1
        out.append(o)
    if any(o < 1 for o in out) or x.shape[1] == 0 or any(n == 0 for n in sizes):
        raise RuntimeError(f"{fn}(): Given input size: ({'x'.join(map(str, x.shape[1:]))}). Calculated output "
                           f"size: ({'x'.join(map(str, [x.shape[1]] + out))}). Output size is too small")
    hi = tuple(max((o - 1) * s + w - n - p, 0) for o, s, w, n, p in zip(out, stride, span, sizes, pad))
    return make_geometry(sizes, kernel, dil, pad, hi, stride, tuple(out))


def _flat_indices(x, am, tables, sizes):
    """Positions in the flattened input (h * W + w) of each window's maximum,
    from its place `am` (an array) in the flattened window; tables[i][o, k] is
    the input position of window o's k-th element along dim i. A maximum in
    the padding (a window of -inf) reports the window's first position inside
    the input, as PyTorch's."""
    xp = x._backend.xp
    kernel = [t.shape[1] for t in tables]
    ks = []
    for k in reversed(kernel):
        ks.append(am % k)
        am = am // k
    nd, idx, first, outside = len(tables), 0, 0, False
    for i, (t, k, n) in enumerate(zip(tables, reversed(ks), sizes)):
        o = xp.arange(t.shape[0]).reshape([-1] + [1] * (nd - 1 - i))
        pos = xp.asarray(t)[o, k]
        inside = np.where(t >= 0, t, n).min(axis=1)         # each window's first position inside
        idx, first = idx * n + pos, first * n + xp.asarray(inside)[o]
        outside = outside | (pos < 0) | (pos >= n)
    idx = xp.where(outside, first, idx)
    return Tensor._make(xp.ascontiguousarray(idx, dtype=np.int64), x._backend)


def _window_argmax(w, xp):
    """Each window's place of its maximum (an array), PyTorch's kernels' rule:
    the first of equal maxima, but the last NaN where there are NaNs."""
    a = w._data
    if type(a) is np.ndarray and 1 < a.shape[-1] <= 16 and a.size:
        return _short_argmax(a)
    am = a.argmax(axis=-1)
    if a.dtype.kind == "f":
        nan = xp.isnan(a)
        if nan.any():                   # (else the NaN rule's second argmax, as costly as the first, is moot)
            last_nan = a.shape[-1] - 1 - nan[..., ::-1].argmax(axis=-1)
            am = xp.where(nan.any(axis=-1), last_nan, am)
    return am


def _short_argmax(a):
    """_window_argmax's rule along a short last axis of a NumPy array, by passes over its columns
    (NumPy's argmax goes row by row: 511k windows of 3, 11 ms -> 1.5): a later element takes the
    place where it is greater, or NaN."""
    best = a[..., 0].copy()
    place = np.zeros(best.shape, np.intp)
    later = np.empty_like(place)
    for j in range(1, a.shape[-1]):
        v = a[..., j]
        better = v > best
        if a.dtype.kind == "f":
            better |= np.isnan(v)
        np.maximum(place, np.multiply(better, j, out=later), out=place)      # (j: above every place before)
        np.maximum(best, v, out=best)                                        # (NaN wherever either is)
    return place


def _pool_node(y, saved, nd, family):
    """y as the output of PyTorch's pooling node, which saves `saved` (the
    input; an unpool's indices); a 1-d pool: its 2-d node under a squeeze, as
    PyTorch computes those."""
    if not (y._rg and grad_state.enabled):
        return y
    if nd == 1:
        return _pool_node(y.unsqueeze(-2), saved.unsqueeze(-2), 2, family).squeeze(-2)
    name, op_name = family
    return as_one_node(y, name.format(nd), op_name.format(nd), (saved,))


_MAX_POOL = ("MaxPool{}DWithIndicesBackward0", "max_pool{}d_with_indices")
_AVG_POOL = ("AvgPool{}DBackward0", "avg_pool{}d")
_ADAPTIVE_AVG_POOL = ("AdaptiveAvgPool{}DBackward0", "adaptive_avg_pool{}d")
_ADAPTIVE_MAX_POOL = ("AdaptiveMaxPool{}DBackward0", "adaptive_max_pool{}d")
_MAX_UNPOOL = ("MaxUnpool{}DBackward0", "max_unpool{}d")


def _window_max(x, w, tables, sizes, batched, return_indices, family, from_input=False):
    """Maxima of windows w (N, C, *out, K), picked at _window_argmax's places (where the gradient
    goes). from_input (w made without a graph): picked from x itself at the input positions of those
    places, the indices PyTorch returns, so that the gradient is one scatter of g (PyTorch's backward)
    rather than a windows-sized array summed back through the windows' gather (adaptive pooling's
    windows are a gather, whose backward adds element by element: 16 x 64 x 32 x 32 to 7 x 7,
    forward and backward, 43 -> 13 ms)."""
    xp = x._backend.xp
    am = _window_argmax(w, xp)
    idx = _flat_indices(x, am, tables, sizes) if return_indices or from_input else None
    if from_input:
        lead = x.shape[:2]
        vals = x.reshape(*lead, math.prod(x.shape[2:])).gather(-1, idx.reshape(*lead, math.prod(idx.shape[2:])))
        vals = vals.reshape(idx.shape)
    else:
        place = Tensor._make(xp.ascontiguousarray(am[..., None], dtype=np.int64), x._backend)
        vals = w.gather(-1, place).squeeze(-1)
    vals = _pool_node(vals, x, len(tables), family) if batched else \
        _pool_node(vals.squeeze(0), x.squeeze(0), len(tables), family)
    if not return_indices:
        return vals
    return vals, (idx if batched else idx.squeeze(0))


class MaxPoolTiles(Op):
    """max_pool2d over windows that tile the input (stride = kernel, no padding or dilation) on NumPy,
    as one node, PyTorch's: the maximum of each window's k elements by k - 1 passes over strided views
    of the input (no copy of the windows), its place by PyTorch's kernels' rule (the first of equal
    maxima, the last NaN where there are NaNs); backward writes g at those places (the windows do not
    overlap: no sums). Under create_graph the gradient is a scatter_add of g, which differentiates
    again, tied to the input as PyTorch's."""
    _name, op_name = "MaxPool2DWithIndicesBackward0", "max_pool2d_with_indices"
    save_inputs = (0,)

    def forward(self, x, kh, kw):
        self.kernel = kh, kw
        tiles = self._tiles(x)
        best = tiles[..., 0, :, 0].copy()
        place = np.zeros(best.shape, np.uint8 if kh * kw < 256 else np.int32)
        later = np.empty_like(place)
        floating = x.dtype.kind == "f"
        # (no np.where or masked writes: each is ~6x slower than these passes)
        for j in range(1, kh * kw):
            v = tiles[..., j // kw, :, j % kw]
            better = v > best
            if floating:
                better |= np.isnan(v)
            np.maximum(place, np.multiply(better, place.dtype.type(j), out=later), out=place)   # (j: above all before)
            # the value: NaN wherever either is; of equal values NumPy's maximum returns its second
            # argument, the earlier one, as PyTorch's kernel keeps (-0.0 before 0.0: tested)
            np.maximum(v, best, out=best)
        self.place = place
        return best

    def _tiles(self, a):
        """a's tiled part as (..., out_h, kh, out_w, kw): a view."""
        kh, kw = self.kernel
        oh, ow = a.shape[-2] // kh, a.shape[-1] // kw
        return a[..., :oh * kh, :ow * kw].reshape(a.shape[:-2] + (oh, kh, ow, kw))

    def backward(self, g, x):
        if type(g) is Tensor:
            return MaxPoolTilesGradient.applyN((g, x), self)
        return self.scatter(g, x)

    def scatter(self, g, x):
        """g written at the maxima's places of an array of zeros shaped as x."""
        kh, kw = self.kernel
        covered = x.shape[-2] % kh == 0 and x.shape[-1] % kw == 0
        gx = np.empty_like(x) if covered else np.zeros_like(x)
        tiles = self._tiles(gx)
        finite = g.dtype.kind != "f" or np.isfinite(g).all()
        for j in range(kh * kw):
            mask = self.place == j
            if finite:                      # (g * mask, + 0.0 turning -0.0 into PyTorch's 0: twice np.where's speed)
                np.add(np.multiply(g, mask, out=tiles[..., j // kw, :, j % kw]), 0, out=tiles[..., j // kw, :, j % kw])
            else:                           # (inf * 0 would be NaN)
                tiles[..., j // kw, :, j % kw] = np.where(mask, g, np.zeros((), g.dtype))
        return gx

    def flat_places(self, width):
        """The maxima's places in the flattened (H * W) input, (..., out_h * out_w)."""
        kh, kw = self.kernel
        oh, ow = self.place.shape[-2:]
        rows = np.arange(oh)[:, None] * kh + self.place // kw
        cols = np.arange(ow)[None, :] * kw + self.place % kw
        return (rows * width + cols).reshape(self.place.shape[:-2] + (-1,))


class MaxPoolTilesGradient(Op):
    """MaxPoolTiles's gradient under create_graph, PyTorch's MaxPool2DWithIndicesBackwardBackward0 of
    (g, input): its own gradient picks gg at the maxima's places for g, zeros for the input."""
    _name, op_name = "MaxPool2DWithIndicesBackwardBackward0", "max_pool2d_with_indices_backward"

    def forward(self, g, x, pool):
        self.pool, self.x_shape = pool, x.shape
        return pool.scatter(g, x)

    def backward(self, gg):
        lead, width = self.x_shape[:-2], self.x_shape[-1]
        flat = self.pool.flat_places(width)
        if type(gg) is Tensor:
            picked = gg.reshape(*lead, -1).gather(-1, _index_tensor(gg, flat))
        else:
            picked = np.take_along_axis(gg.reshape(lead + (-1,)), flat, -1)
        return picked.reshape(self.pool.place.shape), (P.zeros_like(gg) if self.needs(1) else None)


def _tiles_the_input(x, geo, return_indices):
    """Whether max_pool2d's windows tile x (MaxPoolTiles applies)."""
    return (len(geo.kernel) == 2 and not return_indices and type(x._data) is np.ndarray and geo.stride == geo.kernel
            and not any(geo.pad_lo) and all(d == 1 for d in geo.dilation)
            and tuple(geo.out) == tuple(n // k for n, k in zip(geo.sizes, geo.kernel)))


def _max_pool(fn, nd, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    x, batched = _spatial_input(fn, input, nd, "f" if nd == 1 else "fiu")
    geo = _pool_geometry(fn, x, nd, kernel_size, stride, padding, dilation, ceil_mode, True)
    if _tiles_the_input(x, geo, return_indices):
        return MaxPoolTiles.apply1(input, *geo.kernel)
    k = math.prod(geo.kernel)
    npd = x._data.dtype
    w = windows(x, geo, float("-inf") if npd.kind == "f" else np.iinfo(npd).min).reshape(*x.shape[:2], k, *geo.out)
    w = w.permute(0, 1, *range(3, 3 + nd), 2)
    tables = [np.arange(o)[:, None] * s - p + np.arange(kk)[None, :] * d
              for o, s, p, kk, d in zip(geo.out, geo.stride, geo.pad_lo, geo.kernel, geo.dilation)]
    return _window_max(x, w, tables, geo.sizes, batched, return_indices, _MAX_POOL)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """The maximum of each window along the last dim of (N, C, L) or (C, L)."""
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """The maximum of each window over the last two dims; with return_indices
    also its position in the flattened (H * W) input."""
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


@cast_at_entry
def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """The maximum of each window over the last three dims of (N, C, D, H, W)
    or (C, D, H, W); indices are positions in the flattened (D * H * W) input."""
    return _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


# PyTorch's forms that always return (values, indices); return_indices is ignored, as there
def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    return _max_pool("max_pool1d_with_indices", 1, input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    return _max_pool("max_pool2d_with_indices", 2, input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    return _max_pool("max_pool3d_with_indices", 3, input, kernel_size, stride, padding, dilation, ceil_mode, True)


def _avg_divisor(geo, count_include_pad):
    """Per output position, the number avg_pool divides by (PyTorch's rule:
    the window clipped to the padded input, or to the input itself)."""
    div = np.ones((), dtype=np.int64)
    for n, k, p, s, o in zip(geo.sizes, geo.kernel, geo.pad_lo, geo.stride, geo.out):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, n)
        div = np.multiply.outer(div, end - start)
    return np.maximum(div, 1)           # (an empty window sums to 0: divide by 1)


def _avg_pool(fn, nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    if nd == 2 and isinstance(input, Tensor) and input.dim() < 3:     # (PyTorch's reads a dim it lacks)
        raise IndexError(f"{fn}(): Dimension out of range: expected 3D (unbatched) or 4D (batched) input, but got "
                         f"input of size: {list(input.shape)}")
    x, batched = _spatial_input(fn, input, nd, "fi")
    if x._data.dtype.kind == "i" and x._data.dtype.itemsize != 8:     # (integers: int64 only, as PyTorch's)
        _check_kind(fn, x, "f")
    if divisor_override is not None:
        if not _is_int(divisor_override):
            raise TypeError(f"{fn}(): argument 'divisor_override' must be int, not "
                            f"{type(divisor_override).__name__}")
        if divisor_override == 0:
            raise RuntimeError(f"{fn}(): divisor must be not zero")
    geo = _pool_geometry(fn, x, nd, kernel_size, stride, padding, 1, ceil_mode, False)
    if nd == 3 and any(n < k for n, k in zip(geo.sizes, geo.kernel)):     # (PyTorch checks this for 3-d only)
        raise RuntimeError(f"{fn}(): input image (T: {geo.sizes[0]} H: {geo.sizes[1]} W: {geo.sizes[2]}) smaller "
                           f"than kernel size (kT: {geo.kernel[0]} kH: {geo.kernel[1]} kW: {geo.kernel[2]})")
    k = math.prod(geo.kernel)
    total = windows(x, geo).reshape(*x.shape[:2], k, *geo.out).sum(dim=2)
    div = divisor_override if divisor_override is not None else _avg_divisor(geo, count_include_pad)
    if x._data.dtype.kind != "f":       # integers: C's division, truncating (no gradient to keep)
        t, xp = total._data, x._backend.xp
        q = xp.abs(t) // xp.abs(xp.asarray(div)) * xp.sign(t) * xp.sign(xp.asarray(div))
        y = Tensor._make(xp.ascontiguousarray(q, dtype=t.dtype), x._backend)
    else:
        y = total / (div if divisor_override is not None else _const(x, div))
    return _pool_node(y if batched else y.squeeze(0), input, nd, _AVG_POOL)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """The mean of each window along the last dim of (N, C, L) or (C, L)."""
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """The mean of each window over the last two dims (or the sum divided by
    divisor_override)."""
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


@cast_at_entry
def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """The mean of each window over the last three dims (or the sum divided
    by divisor_override)."""
    return _avg_pool("avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def _adaptive_args(fn, input, nd, output_size):
    x, batched = _spatial_input(fn, input, nd)
    if output_size is None or _is_int(output_size):
        output_size = (output_size,) * nd
    if not isinstance(output_size, (tuple, list)) or len(output_size) != nd or \
            not all(o is None or _is_int(o) for o in output_size):
        raise TypeError(f"{fn}(): output_size must be an int or a tuple of {nd} ints (or None), got "
                        f"{output_size!r}")
    sizes = tuple(x.shape[2:])
    out = tuple(n if o is None else int(o) for o, n in zip(output_size, sizes))
    if any(o < 0 for o in out):
        raise RuntimeError(f"{fn}(): elements of output_size must be greater than or equal to 0 but received "
                           f"{list(out)}")
    if any(n == 0 for n in input.shape[-nd - 1:]):
        raise RuntimeError(f"{fn}(): Expected input to have non-zero size for non-batch dimensions, but input "
                           f"has sizes {list(input.shape)} with dimension {input.dim() - nd - 1} being empty")
    return x, batched, sizes, out


def _ranges(n, o):
    """PyTorch's adaptive windows: [floor(i n / o), ceil((i + 1) n / o))."""
    i = np.arange(o)
    return (i * n) // o, -((-(i + 1) * n) // o)


def plane_mean(input, nd):
    """An adaptive average pool to one element per plane as PyTorch's: a mean
    over the spatial dims (MeanBackward1, saving nothing; 1-d through 2-d)."""
    if nd == 1:
        return input.unsqueeze(-2).mean((-2, -1), keepdim=True).squeeze(-2)
    return input.mean(tuple(range(-nd, 0)), keepdim=True)


def _adaptive_avg(fn, nd, input, output_size):
    x, batched, sizes, out = _adaptive_args(fn, input, nd, output_size)
    if all(o == 1 for o in out):
        return plane_mean(input, nd)
    y = x
    for i in reversed(range(nd)):
        start, end = _ranges(sizes[i], out[i])
        cols = np.arange(sizes[i])
        mat = _const(x, ((cols >= start[:, None]) & (cols < end[:, None])) / (end - start)[:, None])
        if i == nd - 1:
            y = y @ mat.T
        elif i == nd - 2:
            y = mat @ y
        else:                       # (bring the dim next to last for the product, then back)
            y = (mat @ y.transpose(2 + i, -2)).transpose(2 + i, -2)
    return _pool_node(y if batched else y.squeeze(0), input, nd, _ADAPTIVE_AVG_POOL)


def adaptive_avg_pool1d(input, output_size):
    """Means over output_size windows of the last dim, as even as they can be."""
    return _adaptive_avg("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input, output_size):
    """Means over output_size (an int, or (h, w) where None keeps the input's
    size) windows of the last two dims."""
    return _adaptive_avg("adaptive_avg_pool2d", 2, input, output_size)


@cast_at_entry
def adaptive_avg_pool3d(input, output_size):
    """Means over output_size (an int, or (d, h, w) where None keeps the
    input's size) windows of the last three dims."""
    return _adaptive_avg("adaptive_avg_pool3d", 3, input, output_size)


def _adaptive_max(fn, nd, input, output_size, return_indices):
    x, batched, sizes, out = _adaptive_args(fn, input, nd, output_size)
    tables = []
    for n, o in zip(sizes, out):
        start, end = _ranges(n, o)
        k = int((end - start).max()) if o else 1
        # shorter windows repeat their last element: it never beats its first occurrence
        tables.append(np.minimum(start[:, None] + np.arange(k)[None, :], end[:, None] - 1).clip(0))
    # one index per dim, shaped to broadcast into (N, C, o0, k0, o1, k1, ...)
    index = []
    for i, t in enumerate(tables):
        shape = [1] * (2 * nd)
        shape[2 * i:2 * i + 2] = t.shape
        index.append(_index_tensor(x, t.reshape(shape)))
    w = x.detach()[(Ellipsis, *index)]
    if nd > 1:                      # windows' elements last: (N, C, o0, o1, ..., k0, k1, ...)
        w = w.permute(0, 1, *range(2, 2 + 2 * nd, 2), *range(3, 3 + 2 * nd, 2))
    w = w.reshape(*x.shape[:2], *out, math.prod(t.shape[1] for t in tables))
    return _window_max(x, w, tables, sizes, batched, return_indices, _ADAPTIVE_MAX_POOL, from_input=True)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Maxima over output_size windows of the last dim."""
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Maxima over output_size windows of the last two dims."""
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)


@cast_at_entry
def adaptive_max_pool3d(input, output_size, return_indices=False):
    """Maxima over output_size windows of the last three dims."""
    return _adaptive_max("adaptive_max_pool3d", 3, input, output_size, return_indices)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=False):
    return _adaptive_max("adaptive_max_pool1d_with_indices", 1, input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=False):
    return _adaptive_max("adaptive_max_pool2d_with_indices", 2, input, output_size, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=False):
    return _adaptive_max("adaptive_max_pool3d_with_indices", 3, input, output_size, True)


# ---- max unpooling --------------------------------------------------------------------

def _unpool_sizes(fn, input, kernel, stride, padding, output_size):
    """The output's spatial sizes: output_size (nd values, or nd + 2 with
    the batch and channel sizes first), within a stride of the default
    (n - 1) * stride + kernel - 2 * padding, as PyTorch's."""
    nd = len(kernel)
    if input.dim() < nd:
        raise IndexError(f"{fn}(): expected an input with at least {nd} dims, got input of size "
                         f"{list(input.shape)}")
    default = [(n - 1) * s + k - 2 * p for n, s, k, p in zip(input.shape[-nd:], stride, kernel, padding)]
    sizes = default
    if output_size is not None:
        if not isinstance(output_size, (tuple, list)) or not all(_is_int(v) for v in output_size):
            raise TypeError(f"{fn}(): output_size must be a tuple of ints, got {output_size!r}")
        sizes = [int(v) for v in output_size]
        if len(sizes) == nd + 2:
            sizes = sizes[2:]
        if len(sizes) != nd:
            raise ValueError(f"{fn}(): output_size should be a sequence containing {nd} or {nd + 2} elements, but "
                             f"it has a length of '{len(output_size)}'")
        for d, (o, s) in enumerate(zip(sizes, stride)):
            if not default[d] - s < o < default[d] + s:
                raise ValueError(f"{fn}(): invalid output_size \"{tuple(output_size)}\" (dim {d} must be between "
                                 f"{default[d] - s} and {default[d] + s})")
    for d, o in enumerate(sizes):
        if o < 0:
            raise ValueError(f"{fn}(): output_size must contain non-negative spatial dimensions, but got "
                             f"output_size[{d}]={o}")
    return tuple(sizes)


def _check_unpool_input(fn, nd, input, indices):
    if indices.dtype.libtorch != "Long":
        raise RuntimeError(f"{fn}(): elements in indices should be type int64 but got: {indices.dtype.libtorch}")
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"{fn}(): Input should be a {nd + 1}d or {nd + 2}d Tensor, but got a tensor with "
                           f"{input.dim()} dimensions.")
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"{fn}(): Expected shape of indices to be same as that of the input tensor "
                           f"({list(input.shape)}) but got indices tensor with shape: {list(indices.shape)}")
    empty = [d for d in range(input.dim() - nd - 1, input.dim()) if input.shape[d] == 0]
    if empty:
        raise RuntimeError(f"{fn}(): Expected input to have non-zero size for non-batch dimensions, but got "
                           f"{list(input.shape)} with dimension {empty[0]} being empty.")
    _check_kind(fn, input, "f")
    _same_device(fn, input, indices, "input", "indices")


def _check_unpool_indices(fn, idx, sizes):
    """Every index inside the output plane (read back to the host, as PyTorch's CPU check)."""
    a = idx._data
    bad = (a < 0) | (a >= math.prod(sizes))
    if a.size and bool(bad.any()):
        first = int(a.reshape(-1)[int(bad.reshape(-1).argmax())])
        raise RuntimeError(f"{fn}(): Found an invalid max index: {first} (output volumes are of size "
                           f"{'x'.join(map(str, sizes))})")


def _max_unpool(fn, nd, input, indices, kernel_size, stride, padding, output_size):
    _tensor_arg(input, fn, "input")
    _tensor_arg(indices, fn, "indices")
    kernel = _ntuple(kernel_size, nd, fn, "kernel_size")
    stride = kernel if stride is None else _ntuple(stride, nd, fn, "stride")
    sizes = _unpool_sizes(fn, input, kernel, stride, _ntuple(padding, nd, fn, "padding"), output_size)
    _check_unpool_input(fn, nd, input, indices)
    batched = input.dim() == nd + 2
    x, idx = (input, indices) if batched else (input.unsqueeze(0), indices.unsqueeze(0))
    n, c = x.shape[:2]
    k = math.prod(x.shape[2:])
    flat, idx = x.reshape(n, c, k), idx.reshape(n, c, k)
    if math.prod(sizes) == 0:       # an empty plane: nothing to write (nor to check, as PyTorch's)
        y = flat[..., :0].reshape(n, c, *sizes)
    else:
        _check_unpool_indices(fn, idx, sizes)
        y = zeros((n, c, math.prod(sizes)), dtype=x.dtype, device=x.device).scatter(2, idx, flat)
        y = y.reshape(n, c, *sizes)
    return _pool_node(y if batched else y.squeeze(0), indices, nd, _MAX_UNPOOL)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """max_pool1d's partial inverse: each value written at its index in a
    zero output of (n - 1) * stride + kernel_size - 2 * padding (or output_size)."""
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding, output_size)


@cast_at_entry
def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """max_pool2d's partial inverse: values written at their flat (h * W + w)
    indices into a zero (N, C, H, W) output."""
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding, output_size)


@cast_at_entry
def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """max_pool3d's partial inverse over the last three dims."""
    return _max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding, output_size)


# ---- power-average pooling ------------------------------------------------------------

def _lp_pool(fn, nd, input, norm_type, kernel_size, stride, ceil_mode):
    """(sum of x^p over each window)^(1/p), PyTorch's composition: the
    average pool of x^p times the window size, through sign * relu(abs)
    before the root, so a window summing to 0 gives 0 with gradient 0 (one
    summing below 0, odd p, gives 0 with a NaN gradient, as PyTorch's).
    p = +-inf: the max of |x| (min for -inf)."""
    _tensor_arg(input, fn, "input")
    if not isinstance(norm_type, (numbers.Real, Tensor)):
        raise TypeError(f"{fn}(): norm_type must be a number, not {type(norm_type).__name__}")
    if isinstance(norm_type, numbers.Real) and math.isinf(norm_type):
        if norm_type > 0:
            return _max_pool(fn, nd, input.abs(), kernel_size, stride, 0, 1, ceil_mode, False)
        return -_max_pool(fn, nd, -input.abs(), kernel_size, stride, 0, 1, ceil_mode, False)
    if isinstance(norm_type, numbers.Real) and norm_type == 0:
        # (PyTorch's 1.0 / norm_type raises ZeroDivisionError: a bad value is a ValueError here)
        raise ValueError(f"{fn}(): norm_type must not be 0 (the root taken is 1 / norm_type)")
    k = math.prod(_ntuple(kernel_size, nd, fn, "kernel_size"))
    out = _avg_pool(fn, nd, input.pow(norm_type), kernel_size, stride, 0, ceil_mode, True, None)
    return (out.sign() * out.abs().relu()).mul(k).pow(1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """The p-norm of each window along the last dim (kernel_size an int, as PyTorch's)."""
    if not _is_int(kernel_size):
        raise TypeError(f"lp_pool1d(): kernel_size must be an int, not {type(kernel_size).__name__}")
    return _lp_pool("lp_pool1d", 1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """The p-norm of each window over the last two dims."""
    return _lp_pool("lp_pool2d", 2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """The p-norm of each window over the last three dims."""
    return _lp_pool("lp_pool3d", 3, input, norm_type, kernel_size, stride, ceil_mode)


# ---- unfold / fold --------------------------------------------------------------------

def _block_args(fn, kernel_size, dilation, padding, stride):
    k = _ntuple(kernel_size, 2, fn, "kernel_size")
    d = _ntuple(dilation, 2, fn, "dilation")
    p = _ntuple(padding, 2, fn, "padding")
    s = _ntuple(stride, 2, fn, "stride")
    _positive(fn, "kernel_size", k)
    _positive(fn, "dilation", d)
    _positive(fn, "padding", p, least=0)
    _positive(fn, "stride", s)
    return k, d, p, s


def _geometry_of_blocks(fn, sizes, k, d, p, s):
    geo = make_geometry(sizes, k, d, p, p, s)
    if any(o < 1 for o in geo.out):
        raise RuntimeError(f"{fn}(): Given input with spatial size {tuple(sizes)}, kernel_size={k}, "
                           f"dilation={d}, padding={p}, calculated shape of the array of sliding blocks as "
                           f"{geo.out}, but its components must be at least one.")
    return geo


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding blocks of (N, C, H, W) (or (C, H, W)) as columns:
    (N, C * kH * kW, L), L the number of blocks."""
    _tensor_arg(input, "unfold", "input")
    if input.dim() not in (3, 4):           # (PyTorch's reads a dim a 2-D input lacks: IndexError)
        raise IndexError(f"unfold(): Input Error: Only 3D or 4D input Tensors are supported (got {input.dim()}D)")
    _check_kind("unfold", input, "f")
    args = _block_args("unfold", kernel_size, dilation, padding, stride)
    batched = input.dim() == 4
    x = input if batched else input.unsqueeze(0)
    geo = _geometry_of_blocks("unfold", x.shape[2:], *args)
    y = windows(x, geo).reshape(x.shape[0], x.shape[1] * math.prod(geo.kernel), math.prod(geo.out))
    return as_one_node(y if batched else y.squeeze(0), "Im2ColBackward0", "im2col")


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """unfold's adjoint: columns (N, C * kH * kW, L) (or unbatched) summed
    back into (N, C, *output_size), overlapping blocks adding up."""
    _tensor_arg(input, "fold", "input")
    if input.dim() not in (2, 3):
        raise RuntimeError(f"fold(): Expected 2D or 3D (batch mode) tensor for input, but got: "
                           f"{list(input.shape)}")
    _check_kind("fold", input, "f")
    size = _ntuple(output_size, 2, "fold", "output_size")
    args = _block_args("fold", kernel_size, dilation, padding, stride)
    batched = input.dim() == 3
    x = input if batched else input.unsqueeze(0)
    geo = _geometry_of_blocks("fold", size, *args)
    k, blocks = math.prod(geo.kernel), math.prod(geo.out)
    if x.shape[1] % k:
        raise RuntimeError(f"fold(): Expected size of input's dimension 1 to be divisible by the product of "
                           f"kernel_size, but got input.size(1)={x.shape[1]} and kernel_size={geo.kernel}")
    if x.shape[2] != blocks:
        raise RuntimeError(f"fold(): Given output_size={size}, kernel_size={geo.kernel}, dilation={geo.dilation}, "
                           f"padding={geo.pad_lo}, stride={geo.stride}, expected size of input's dimension 2 to "
                           f"match the calculated number of sliding blocks {' * '.join(map(str, geo.out))} = "
                           f"{blocks}, but got input.size(2)={x.shape[2]}.")
    y = fold_windows(x.reshape(x.shape[0], x.shape[1] // k, *geo.kernel, *geo.out), geo)
    return as_one_node(y if batched else y.squeeze(0), "Col2ImBackward0", "col2im")
