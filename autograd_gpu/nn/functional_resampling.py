"""Stateless resampling (torch.nn.functional's): interpolate/upsample, pixel and channel shuffles,
grid_sample and affine_grid.

Everything is composed of public Tensor ops (reshape/permute, index_select,
gather, where, mul, sum, matmul), so gradients of any order and the CUDA path
come with them.

interpolate is separable: each spatial dim in turn is resampled by "taps",
an (K, out) array of source indices and one of weights, computed once per
call on the host with PyTorch's CPU coordinate rules (in float32 for float32
and float16 data, float64 for float64, as its kernels' opmath type). Applying
the taps is one index_select, one multiplication and one sum over K; on NumPy
(float32, float64) the same arithmetic is one node, Resample, whose backward
scatters without the composite's index arrays and zero-filled copies.

grid_sample reads its sample positions from a Tensor: the integer corners are
found under no_grad on the device, the weights are differentiable functions of
the grid, and the input values are gathered."""
import math
import numbers

import numpy as np

from .. import _dtype
from ..autograd.grad_mode import no_grad
from ..autograd.op import Op
from ..ops.pointwise import where
from ..ops.shape import cat, stack
from ..ops.tied import as_one_node
from ..tensor import Tensor
from .functional import _same_device, _tensor_arg
from .functional_conv import _ADAPTIVE_AVG_POOL, _const, _index_tensor, _is_int, _pool_node, plane_mean
from .functional_layers import _wide
from ..amp import cast_at_entry
from .._warn import warn_at_caller

__all__ = ["pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle", "interpolate",
           "upsample", "upsample_nearest", "upsample_bilinear", "grid_sample", "affine_grid"]


def _int_arg(fn, value, name):
    if not _is_int(value):
        raise TypeError(f"{fn}(): argument '{name}' (position 2) must be int, not {type(value).__name__}")
    return int(value)


# ---- pixel and channel shuffles ---------------------------------------------------------------

def _check_shuffle_input(fn, input, factor, name):
    _tensor_arg(input, fn, "input")
    r = _int_arg(fn, factor, name)
    if input.dim() < 3:
        raise RuntimeError(f"{fn}(): {fn} expects input to have at least 3 dimensions, but got input with "
                           f"{input.dim()} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"{fn}(): {fn} expects a positive {name}, but got {r}")
    return r


def pixel_shuffle(input, upscale_factor):
    """(*, C r^2, H, W) -> (*, C, H r, W r): each group of r^2 channels fills an r x r patch."""
    r = _check_shuffle_input("pixel_shuffle", input, upscale_factor, "upscale_factor")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle(): pixel_shuffle expects its input's 'channel' dimension to be divisible "
                           f"by the square of upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    k = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)        # (*, C, H, r, W, r)
    return _shuffled(x.reshape(*lead, c // (r * r), h * r, w * r), "PixelShuffleBackward0", "pixel_shuffle")


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H r, W r) -> (*, C r^2, H, W): pixel_shuffle's inverse."""
    r = _check_shuffle_input("pixel_unshuffle", input, downscale_factor, "downscale_factor")
    *lead, c, h, w = input.shape
    for what, d, n in (("height", -2, h), ("width", -1, w)):
        if n % r:
            raise RuntimeError(f"pixel_unshuffle(): pixel_unshuffle expects {what} to be divisible by "
                               f"downscale_factor, but input.size({d})={n} is not divisible by {r}")
    k = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)        # (*, C, r, r, H/r, W/r)
    return _shuffled(x.reshape(*lead, c * r * r, h // r, w // r), "PixelUnshuffleBackward0", "pixel_unshuffle")


def _shuffled(y, name, op_name):
    """A shuffle's result as PyTorch's: new memory (a factor of 1 gave a view of the input here, so
    writing the result wrote the input), out of one node named as PyTorch's."""
    return as_one_node(y.clone() if y._base is not None else y, name, op_name)


def _channel_shuffle(fn, input, groups):
    _tensor_arg(input, fn, "input")
    g = _int_arg(fn, groups, "groups")
    if input.dim() <= 2:
        raise RuntimeError(f"{fn}(): channel_shuffle expects input with > 2 dims, but got input with sizes "
                           f"{list(input.shape)}")
    if g <= 0:
        raise RuntimeError(f"{fn}(): Number of groups to divide channels in must be positive. Value of groups:{g}")
    n, c, *rest = input.shape
    if c % g:
        raise RuntimeError(f"{fn}(): Number of channels must be divisible by groups. Got {c} channels and {g} "
                           "groups.")
    return input.reshape(n, g, c // g, *rest).transpose(1, 2).reshape(*input.shape)


def channel_shuffle(input, groups):
    """(N, C, *): the channels, seen as (groups, C / groups), transposed to (C / groups, groups)."""
    return _shuffled(_channel_shuffle("channel_shuffle", input, groups), "ChannelShuffleBackward0", "channel_shuffle")


def native_channel_shuffle(input, groups):
    """channel_shuffle (PyTorch's kernel-level twin, recording no node of its own)."""
    y = _channel_shuffle("native_channel_shuffle", input, groups)
    return y.clone() if y._base is not None else y


# ---- interpolate: arguments ----------------------------------------------------------------------

_MODES_TEXT = "nearest | linear | bilinear | bicubic | trilinear | lanczos | area | nearest-exact"
_NEEDS_DIMS = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5, "lanczos": 4}
_SELECTING = ("nearest", "nearest-exact", "area")
_CUBIC_A = -0.75            # PyTorch's bicubic kernel (interpolate and grid_sample)


def _is_integer(x):
    return _is_int(x) or isinstance(x, Tensor) and x.dim() == 0 and not x.is_floating_point() and \
        x.dtype is not _dtype.bool_


def _size_list(size, spatial):
    """An int or a sequence of len(spatial) ints, as a list."""
    if not isinstance(size, (list, tuple)):
        if not _is_integer(size):
            raise TypeError(f"interpolate(): argument 'size' must be an int or a tuple of ints, not "
                            f"{type(size).__name__}")
        return [int(size)] * len(spatial)
    if len(size) != len(spatial):
        raise ValueError(f"interpolate(): Input and output must have the same number of spatial dimensions, but got "
                         f"input with spatial dimensions of {spatial} and output size of {size}. Please provide input "
                         "tensor in (N, C, d1, d2, ...,dK) format and output size in (o1, o2, ...,oK) format.")
    if not all(_is_integer(s) for s in size):
        raise TypeError("interpolate(): expected size to be one of int or Tuple[int] or Tuple[int, int] or "
                        f"Tuple[int, int, int], but got size with types {[type(s) for s in size]}")
    return [int(s) for s in size]


def _scale_list(scale_factor, spatial):
    """A number or a sequence of len(spatial) numbers, as a list of floats."""
    if isinstance(scale_factor, (list, tuple)):
        if len(scale_factor) != len(spatial):
            raise ValueError(f"interpolate(): Input and scale_factor must have the same number of spatial dimensions, "
                             f"but got input with spatial dimensions of {spatial} and scale_factor of shape "
                             f"{scale_factor}. Please provide input tensor in (N, C, d1, d2, ...,dK) format and "
                             "scale_factor in (s1, s2, ...,sK) format.")
        scales = list(scale_factor)
    else:
        scales = [scale_factor] * len(spatial)
    if not all(isinstance(s, numbers.Real) and not isinstance(s, bool) for s in scales):
        raise TypeError(f"interpolate(): argument 'scale_factor' must be a float or a tuple of floats, got "
                        f"{[type(s).__name__ for s in scales]}")
    return [float(s) for s in scales]


def _sizes_and_scales(input, size, scale_factor, recompute_scale_factor):
    """(output sizes or None, scale factors or None), exactly one of them set, as PyTorch's Python layer."""
    spatial = list(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("interpolate(): only one of size or scale_factor should be defined")
    if size is not None:
        sizes, scales = _size_list(size, spatial), None
    elif scale_factor is not None:
        sizes, scales = None, _scale_list(scale_factor, spatial)
    else:
        raise ValueError("interpolate(): either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("interpolate(): recompute_scale_factor is not meaningful with an explicit size.")
    return sizes, scales


def _sizes_from_scales(input, scales):
    """Output sizes from scale factors: in * scale truncated, as libtorch's."""
    out = []
    for n, s in zip(input.shape[2:], scales):
        if not math.isfinite(n * s) or abs(n * s) >= 2.0 ** 63:
            raise RuntimeError(f"interpolate(): value cannot be converted to type int64_t without overflow (scale "
                               f"factor {s} for a dimension of size {n})")
        out.append(int(n * s))
    return out


def _check_mode(input, mode, align_corners, antialias):
    """PyTorch's checks of mode against align_corners, antialias and the input's dims."""
    d = input.dim()
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and d == 4):
        raise ValueError("interpolate(): Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and "
                         "requires a 4-D tensor as input")
    if mode in _SELECTING and d in (3, 4, 5) or _NEEDS_DIMS.get(mode) == d:
        if mode == "lanczos":
            if align_corners:
                raise ValueError("interpolate(): Lanczos mode does not support align_corners=True")
            if not antialias:
                raise ValueError("interpolate(): Lanczos mode requires antialias=True")
            raise NotImplementedError("interpolate(): mode 'lanczos' is not implemented")
        return
    needed = _NEEDS_DIMS.get(mode)
    if needed is not None and mode != "bicubic" and mode != "lanczos" and d in (3, 4, 5):
        raise NotImplementedError(f"interpolate(): Got {d}D input, but {mode} mode needs {needed}D input")
    raise NotImplementedError(f"interpolate(): Input Error: Only 3D, 4D and 5D input Tensors supported (got {d}D) for "
                              f"the modes: {_MODES_TEXT} (got {mode})")


def _check_sizes(input, mode, out_sizes):
    spatial = list(input.shape[2:])
    if mode == "area":
        if any(n == 0 for n in spatial):
            bad = 2 + spatial.index(0)
            raise RuntimeError(f"interpolate(): adaptive_avg_pool: Expected input to have non-zero size for non-batch "
                               f"dimensions, but input has sizes {list(input.shape)} with dimension {bad} being empty")
        if any(n < 0 for n in out_sizes):
            raise RuntimeError(f"interpolate(): adaptive_avg_pool: output size must be non-negative, got {out_sizes}")
        return
    if any(n <= 0 for n in spatial + out_sizes):
        labels = "DHW"[3 - len(spatial):]
        show = lambda sizes: ", ".join(f"{a}: {n}" for a, n in zip(labels, sizes))      # noqa: E731
        raise RuntimeError(f"interpolate(): Input and output sizes should be greater than 0, but got input "
                           f"({show(spatial)}) and output ({show(out_sizes)})")
    if input.numel() == 0 and math.prod(input.shape[1:]) == 0:
        raise RuntimeError(f"interpolate(): Non-empty {input.dim()}D data tensor expected but got a tensor with sizes "
                           f"{list(input.shape)}")


def _check_dtype(input, mode, antialias):
    kind = input._data.dtype.kind
    if antialias and input.dtype is _dtype.float16:
        raise NotImplementedError("interpolate(): antialias: \"compute_index_ranges_weights\" not implemented for "
                                  "'Half'")
    if kind == "f" or mode in ("nearest", "nearest-exact") and input.dtype is _dtype.uint8:
        return
    if input.dtype is _dtype.uint8 and mode in ("bilinear", "bicubic"):
        # (PyTorch's uint8 kernels use fixed-point weights and their own rounding)
        raise NotImplementedError(f"interpolate(): mode '{mode}'{' with antialias' if antialias else ''} is not "
                                  "implemented for uint8 ('Byte') input; convert it to a floating dtype first")
    raise NotImplementedError(f"interpolate(): \"{mode}\" not implemented for '{input.dtype.libtorch}'")


# ---- interpolate: taps along one dim ---------------------------------------------------------------

def _scale(n_in, n_out, align_corners, scale, ft):
    """Source pixels per output pixel (libtorch's area_pixel_compute_scale)."""
    if align_corners:
        return ft(n_in - 1) / ft(n_out - 1) if n_out > 1 else ft(0)
    if scale is not None and scale > 0:
        return ft(1.0 / scale)
    return ft(n_in) / ft(n_out)


def _source(scale, n_out, align_corners, cubic, ft):
    """Each output pixel's position in input pixels (half-pixel centres unless align_corners)."""
    dst = np.arange(n_out, dtype=ft)
    if align_corners:
        return scale * dst
    src = scale * (dst + ft(0.5)) - ft(0.5)
    return src if cubic else np.maximum(src, ft(0))


def _floor_index(src, n_in):
    """libtorch's guard: floorf (through float32) and at most n_in - 1."""
    return np.minimum(np.floor(src.astype(np.float32)).astype(np.int64), n_in - 1)


def _nearest_taps(n_in, n_out, scale, exact, ft):
    s = _scale(n_in, n_out, False, scale, ft)
    if exact:                           # the nearest centre: floor(src + 0.5), src half-pixel
        src = _source(s, n_out, False, False, ft) + ft(0.5)
    else:                               # OpenCV's INTER_NEAREST: floor(dst * scale)
        src = s * np.arange(n_out, dtype=ft)
    return _floor_index(src, n_in)[None], None


def _linear_taps(n_in, n_out, scale, align_corners, ft):
    if n_out == n_in:                   # a copy (with a zero-weight second tap, as libtorch)
        i = np.arange(n_in)
        return np.stack([i, i]), np.stack([np.ones(n_in, ft), np.zeros(n_in, ft)])
    src = _source(_scale(n_in, n_out, align_corners, scale, ft), n_out, align_corners, False, ft)
    i0 = _floor_index(src, n_in)
    l1 = np.clip(src - i0.astype(ft), 0, 1).astype(ft)
    i1 = i0 + (i0 < n_in - 1)
    return np.stack([i0, i1]), np.stack([ft(1) - l1, l1])


def _cubic_weights(t, a):
    """Keys' cubic convolution weights of the 4 taps around a point at fraction t (array or Tensor)."""
    near = lambda x: ((a + 2) * x - (a + 3)) * x * x + 1                 # noqa: E731  |x| <= 1
    far = lambda x: ((a * x - 5 * a) * x + 8 * a) * x - 4 * a            # noqa: E731  1 < |x| < 2
    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _cubic_taps(n_in, n_out, scale, align_corners, ft):
    src = _source(_scale(n_in, n_out, align_corners, scale, ft), n_out, align_corners, True, ft)
    i0 = _floor_index(src, n_in)
    t = np.clip(src - i0.astype(ft), 0, 1).astype(ft)
    idx = np.clip(i0[None] + np.arange(-1, 3)[:, None], 0, n_in - 1)
    return idx, np.stack(_cubic_weights(t, ft(_CUBIC_A))).astype(ft)


def _area_taps(n_in, n_out):
    """Adaptive average pooling's windows [floor(i n_in / n_out), ceil((i + 1) n_in / n_out)); unused
    taps point at index n_in, a zero row the caller appends."""
    i = np.arange(n_out)
    start, stop = i * n_in // n_out, ((i + 1) * n_in + n_out - 1) // n_out
    k = int((stop - start).max()) if n_out else 1
    idx = start[None] + np.arange(k)[:, None]
    used = idx < stop[None]
    return np.where(used, idx, n_in), np.where(used, 1.0 / (stop - start)[None], 0.0)


def _aa_filter(mode):
    if mode == "bilinear":
        return 2, lambda x: np.maximum(1 - np.abs(x), 0)
    a = -0.5                                        # (antialiased bicubic uses Keys' a = -0.5)

    def cubic(x):
        x = np.abs(x)
        return np.where(x < 1, ((a + 2) * x - (a + 3)) * x * x + 1,
                        np.where(x < 2, (((x - 5) * x + 8) * x - 4) * a, 0))
    return 4, cubic


def _antialias_taps(n_in, n_out, scale, align_corners, mode, ft):
    """PyTorch's antialiased weights: the filter widened by the scale when downsampling, normalised per output."""
    interp_size, filt = _aa_filter(mode)
    s = _scale(n_in, n_out, align_corners, scale, ft)
    support = interp_size * 0.5 * s if s >= 1 else interp_size * 0.5
    k = int(math.ceil(support)) * 2 + 1
    center = s * (np.arange(n_out, dtype=ft) + ft(0.5))
    lo = np.maximum((center - support + 0.5).astype(np.int64), 0)
    count = np.clip(np.minimum((center + support + 0.5).astype(np.int64), n_in) - lo, 0, k)
    j = np.arange(k)[:, None]
    used = j < count[None]
    w = np.where(used, filt((j + lo[None] - center[None] + 0.5) * (1 / s if s >= 1 else 1.0)), 0)
    total = w.sum(0)
    w = np.where(total != 0, w / np.where(total != 0, total, 1), w)
    return np.where(used, lo[None] + j, n_in), w.astype(ft)


def _taps(mode, n_in, n_out, scale, align_corners, antialias, ft):
    """(indices (K, n_out), weights (K, n_out) or None for a plain selection) along one dim."""
    if mode in ("nearest", "nearest-exact"):
        return _nearest_taps(n_in, n_out, scale, mode == "nearest-exact", ft)
    if mode == "area":
        return _area_taps(n_in, n_out)
    if antialias:
        return _antialias_taps(n_in, n_out, scale, align_corners, mode, ft)
    if mode == "bicubic":
        return _cubic_taps(n_in, n_out, scale, align_corners, ft)
    return _linear_taps(n_in, n_out, scale, align_corners, ft)


def _apply_taps(x, d, idx, w):
    """sum_k x[..., idx[k, j], ...] * w[k, j] along dim d."""
    if (idx >= x.shape[d]).any():                   # taps reading zeros (area, antialias)
        shape = list(x.shape)
        shape[d] = 1
        x = cat([x, _const(x, np.zeros(shape))], d)
    picked = x.index_select(d, _index_tensor(x, idx.reshape(-1)))
    if w is None:
        return picked
    k, n_out = idx.shape
    shape = list(x.shape)
    shape[d:d + 1] = [k, n_out]
    weights = _const(x, w.reshape((k, n_out) + (1,) * (x.dim() - 1 - d)))
    return (picked.reshape(*shape) * weights).sum(d)


class Resample(Op):
    """interpolate on NumPy as one node, as libtorch's (Upsample...Backward0): each spatial dim in
    turn, sum_k x[..., idx[k, j], ...] w[k, j] (the composite's taps, products and sums in its
    order: the same values), and backward each dim's transpose in reverse: g w[k] added back at
    idx[k] by plain fancy-index adds over groups of distinct places (a monotone coordinate map,
    as every mode's, has about `scale` of them). Under create_graph the transposes are
    index_add of Tensors, so the gradient differentiates again (it is linear in g)."""
    op_name = "interpolate"

    def forward(self, x, plan, name):
        self._name, self.plan, self.in_sizes = name, plan, []
        for d, idx, w in plan:
            self.in_sizes.append(x.shape[d])
            if idx.max() >= x.shape[d]:                 # (taps reading a zero: area, antialias)
                x = np.concatenate([x, np.zeros_like(x, shape=x.shape[:d] + (1,) + x.shape[d + 1:])], d)
            out = None
            for k in range(idx.shape[0]):
                part = np.take(x, idx[k], d)
                if w is not None:
                    part *= w[k].reshape((-1,) + (1,) * (x.ndim - 1 - d))
                out = part if out is None else np.add(out, part, out=out)
            x = out
        return x

    @staticmethod
    def jvp(y, inputs, tangents, plan, name):
        return Resample.apply1(tangents[0], plan, name)        # (linear: the same map of the tangent)

    def backward(self, g):
        for (d, idx, w), n_in in zip(reversed(self.plan), reversed(self.in_sizes)):
            g = _taps_transposed(g, d, idx, w, n_in + (idx.max() >= n_in))
            if g.shape[d] != n_in:
                g = g[(slice(None),) * d + (slice(0, n_in),)]
        return g


def _taps_transposed(g, d, idx, w, n_in):
    """The sum over taps k of g w[k] added back at positions idx[k] along dim d (n_in of them)."""
    tensors = type(g) is Tensor
    shape = g.shape[:d] + (n_in,) + g.shape[d + 1:]
    out = g.new_zeros(shape) if tensors else np.zeros_like(g, shape=shape)
    for k in range(idx.shape[0]):
        gk = g
        if w is not None:
            wk = w[k].reshape((-1,) + (1,) * (g.ndim - 1 - d))
            gk = g * (_const(g, wk) if tensors else wk)
        if tensors:
            out = out.index_add(d, _index_tensor(g, idx[k]), gk)
        else:
            for sel, at in _distinct_runs(idx[k]):
                out[(slice(None),) * d + (at,)] += gk[(slice(None),) * d + (sel,)]
    return out


def _distinct_runs(index):
    """index's positions split into groups that each hit distinct places (plain fancy-index adds
    then sum repeats correctly): the r-th position of every run of equal values, for each r. A
    monotone map has few, long groups (an upsampling by s: about s of them); (positions, places)."""
    pos = np.arange(len(index))
    run_start = np.maximum.accumulate(np.where(np.concatenate(([True], index[1:] != index[:-1])), pos, 0))
    rank = pos - run_start
    if len(np.unique(index)) != len(np.unique(run_start)):      # (not monotone: a value recurs in later runs)
        order = np.argsort(index, kind="stable")
        return [(order[sel], at) for sel, at in _distinct_runs(index[order])]
    return [(sel, index[sel]) for sel in (np.flatnonzero(rank == r) for r in range(int(rank.max()) + 1))]


@cast_at_entry
def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None, recompute_scale_factor=None,
                antialias=False):
    """Resample the spatial dims of (N, C, *spatial) to `size`, or by `scale_factor` (output size
    floor(in * scale); the factor itself sets the coordinate mapping unless recompute_scale_factor).
    Modes: nearest, nearest-exact, area (3-5D), linear (3D), bilinear, bicubic (4D), trilinear (5D);
    align_corners maps the corner pixels' centres onto each other (interpolating modes only)."""
    _tensor_arg(input, "interpolate", "input")
    if mode in _SELECTING:
        if align_corners is not None:
            raise ValueError("interpolate(): align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    sizes, scales = _sizes_and_scales(input, size, scale_factor, recompute_scale_factor)
    _check_mode(input, mode, align_corners, antialias)
    out_sizes = sizes if sizes is not None else _sizes_from_scales(input, scales)
    if recompute_scale_factor or mode == "area":
        scales = None                   # the coordinate mapping from the sizes alone
    _check_sizes(input, mode, out_sizes)
    _check_dtype(input, mode, antialias)
    if mode == "area" and all(n == 1 for n in out_sizes):
        return plane_mean(input, len(out_sizes))
    x = input if input.dtype is _dtype.uint8 else _wide(input)
    ft = np.float64 if x.dtype is _dtype.float64 else np.float32
    plan = []
    for i, n_out in enumerate(out_sizes):
        scale = None if scales is None else scales[i]
        plan.append((2 + i, *_taps(mode, input.shape[2 + i], n_out, scale, align_corners, antialias, ft)))
    nd = input.dim() - 2
    name = f"Upsample{_UPSAMPLE.get(mode)}{nd}D{'Aa' if antialias else ''}Backward0"
    if mode != "area" and type(input._data) is np.ndarray and input.dtype in (_dtype.float32, _dtype.float64) \
            and input.numel():
        return Resample.apply1(input, plan, name)
    for d, idx, w in plan:
        x = _apply_taps(x, d, idx, w)
    if mode == "area":          # (PyTorch's is adaptive_avg_pool's node)
        return _pool_node(x.to(input.dtype), input, nd, _ADAPTIVE_AVG_POOL)
    return as_one_node(x.to(input.dtype), name, f"upsample_{mode.replace('-', '_')}{nd}d")


_UPSAMPLE = {"nearest": "Nearest", "nearest-exact": "NearestExact", "linear": "Linear", "bilinear": "Bilinear",
             "bicubic": "Bicubic", "trilinear": "Trilinear"}


def _deprecated(name):
    warn_at_caller(f"`nn.functional.{name}` is deprecated. Use `nn.functional.interpolate` instead.", UserWarning)


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated: interpolate (with PyTorch's warning)."""
    _deprecated("upsample")
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """Deprecated: interpolate(mode="nearest") (with PyTorch's warning)."""
    _deprecated("upsample_nearest")
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Deprecated: interpolate(mode="bilinear", align_corners=True) (with PyTorch's warning)."""
    _deprecated("upsample_bilinear")
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ---- grid_sample and affine_grid -------------------------------------------------------------------

_ALIGN_WARNING = ("Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. "
                  "Please specify align_corners=True if the old behavior is desired. See the documentation of "
                  "grid_sample for details.")


def _default_align_corners(align_corners):
    if align_corners is None:
        warn_at_caller(_ALIGN_WARNING, UserWarning)
        return False
    return align_corners


def _check_grid_sample(input, grid, mode):
    _tensor_arg(input, "grid_sample", "input")
    _tensor_arg(grid, "grid_sample", "grid")
    shapes = f"input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}"
    if input.dim() not in (4, 5) or grid.dim() != input.dim():
        raise RuntimeError(f"grid_sample(): expected 4D or 5D input and grid with the same number of dimensions, but "
                           f"got {shapes}")
    if input.shape[0] != grid.shape[0]:
        raise RuntimeError(f"grid_sample(): expected grid and input to have same batch size, but got {shapes}")
    nd = input.dim() - 2
    if grid.shape[-1] != nd:
        raise RuntimeError(f"grid_sample(): expected grid to have size {nd} in last dimension, but got grid with "
                           f"sizes {list(grid.shape)}")
    for d in range(2, input.dim()):
        if input.shape[d] == 0:
            raise RuntimeError(f"grid_sample(): expected input to have non-empty spatial dimensions, but input has "
                               f"sizes {list(input.shape)} with dimension {d} being empty")
    _same_device("grid_sample", input, grid, "input", "grid")
    if not input.is_floating_point():
        raise NotImplementedError(f"grid_sample(): \"grid_sampler\" not implemented for '{input.dtype.libtorch}'")
    if grid.dtype is not input.dtype:
        raise RuntimeError(f"grid_sample(): expected grid to have the input's dtype {input.dtype.libtorch}, but "
                           f"found {grid.dtype.libtorch}")
    if mode == "bicubic" and nd != 2:
        raise RuntimeError("grid_sample(): bicubic interpolation only supports 4D input")


def _all_true(x):
    """A True condition broadcasting against x: where(_all_true(x), a, b) is a, b only receiving a zero gradient."""
    return Tensor._make(x._backend.from_host(np.ones((1,) * x.dim(), dtype=bool)), x._backend)


def _unnormalize(g, size, align_corners):
    """[-1, 1] to pixel coordinates: the corner pixels' centres (align_corners) or their outer edges."""
    if align_corners:
        return (g + 1) * ((size - 1) / 2)
    return ((g + 1) * size - 1) / 2


def _clip(c, size):
    """c within [0, size - 1]; no gradient where clipped, boundaries included, and NaN read as 0
    (as grid_sampler's clip_coordinates)."""
    return where((c > 0).logical_not(), 0.0, where(c >= size - 1, float(size - 1), c))


def _reflect(c, twice_low, twice_high):
    """c reflected off the bounds twice_low / 2 and twice_high / 2 until inside; gradient +-1."""
    if twice_low == twice_high:
        return where(_all_true(c), 0.0, c)          # (0, and a zero gradient)
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    d = c - low
    with no_grad():
        sign = where(d < 0, -1.0, 1.0).to(d.dtype)
        flips = (d * sign / span).floor()
        odd = flips.remainder(2) == 1
    extra = d * sign - flips * span                  # fmod(|d|, span)
    return where(odd, span - extra + low, extra + low)


def _source_coord(c, size, padding_mode, align_corners):
    """A sampling coordinate after the padding mode (grid_sampler_compute_source_index)."""
    if padding_mode == "border":
        return _clip(c, size)
    if padding_mode == "reflection":
        bounds = (0, 2 * (size - 1)) if align_corners else (-1, 2 * size - 1)
        return _clip(_reflect(c, *bounds), size)
    return c


def _broadcast_dim(t, i, nd):
    """(N, K, L) -> (N, 1.., K, ..1, L) with K at position 1 + i of nd tap dims (for outer products)."""
    n, k, length = t.shape
    return t.reshape(n, *((1,) * i), k, *((1,) * (nd - 1 - i)), length)


def _gather_taps(flat, positions, weights, sizes):
    """sum over taps of flat (N, C, prod(sizes)) at the integer positions, zero outside the input.
    Per spatial dim: positions (N, K_d, L), float, no grad; weights (N, K_d, L) or None (one tap).
    The taps of all dims combine as an outer product, gathered in one go: (N, C, L)."""
    nd = len(sizes)
    with no_grad():
        inside, linear = None, None
        for i, (p, n) in enumerate(zip(positions, sizes)):
            ok = (p >= 0) & (p <= n - 1)
            p = _broadcast_dim(where(ok, p, 0.0).long(), i, nd)     # a valid index; masked below if not ok
            ok = _broadcast_dim(ok, i, nd)
            inside = ok if inside is None else inside & ok
            linear = p if linear is None else linear * n + p
        n_batch, length = flat.shape[0], positions[0].shape[-1]
        taps = math.prod(p.shape[1] for p in positions)
        inside, linear = inside.reshape(n_batch, taps, length), linear.reshape(n_batch, taps, length)
    c = flat.shape[1]
    index = linear.reshape(n_batch, 1, taps * length).expand(n_batch, c, taps * length)
    values = where(inside.unsqueeze(1), flat.gather(2, index).reshape(n_batch, c, taps, length), 0.0)
    if weights is None:
        return values.reshape(n_batch, c, length)
    w = None
    for i, wd in enumerate(weights):
        wd = _broadcast_dim(wd, i, nd)
        w = wd if w is None else w * wd
    return (values * w.reshape(n_batch, 1, taps, length)).sum(2)


def _linear_taps_at(c):
    """The two pixels around each coordinate c (N, L) and their weights (1 - frac, frac)."""
    with no_grad():
        base = c.floor()
    frac = c - base
    return stack([base, base + 1], 1), stack([1 - frac, frac], 1)


def _cubic_taps_at(c, size, padding_mode, align_corners):
    """The four pixels around c (padded each, as grid_sampler's bicubic) and Keys' weights (a = -0.75)."""
    with no_grad():
        base = c.floor()
        positions = stack([_source_coord(base + (k - 1), size, padding_mode, align_corners).trunc()
                            for k in range(4)], 1)
    return positions, stack(_cubic_weights(c - base, _CUBIC_A), 1)


def _sample(flat, coords, sizes, mode, padding_mode, align_corners):
    if mode == "bicubic":       # padding applies to each tap, not to the coordinate
        taps = [_cubic_taps_at(c, n, padding_mode, align_corners) for c, n in zip(coords, sizes)]
        return _gather_taps(flat, [p for p, _ in taps], [w for _, w in taps], sizes)
    coords = [_source_coord(c, n, padding_mode, align_corners) for c, n in zip(coords, sizes)]
    if mode == "bilinear":
        taps = [_linear_taps_at(c) for c in coords]
        return _gather_taps(flat, [p for p, _ in taps], [w for _, w in taps], sizes)
    with no_grad():             # nearest: ties to even, as nearbyint
        positions = [c.round().unsqueeze(1) for c in coords]
    out = _gather_taps(flat, positions, None, sizes)
    return where(_all_true(out), out, coords[0].unsqueeze(1))    # the grid gets a zero gradient, as PyTorch's


@cast_at_entry
def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """Sample input (N, C, H, W) at grid (N, Ho, Wo, 2) points (x, y in [-1, 1]), or (N, C, D, H, W) at
    (N, Do, Ho, Wo, 3) points: out (N, C, Ho, Wo) / (N, C, Do, Ho, Wo). mode bilinear (trilinear for 5-D),
    nearest or bicubic (4-D); padding_mode zeros, border or reflection for points outside."""
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', but "
                         f"got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    align_corners = _default_align_corners(align_corners)
    _check_grid_sample(input, grid, mode)
    x, g = _wide(input), _wide(grid)
    n, c, *sizes = x.shape
    out_shape = tuple(grid.shape[1:-1])
    flat = x.reshape(n, c, math.prod(sizes))
    g = g.reshape(n, math.prod(out_shape), len(sizes))
    # grid's last dim lists x (the last spatial dim) first
    coords = [_unnormalize(g[..., len(sizes) - 1 - i], size, align_corners) for i, size in enumerate(sizes)]
    out = _sample(flat, coords, sizes, mode, padding_mode, align_corners).reshape(n, c, *out_shape)
    nd = len(sizes)
    return as_one_node(out.to(input.dtype), f"GridSampler{nd}DBackward0", f"grid_sampler_{nd}d", (input, grid),
                       undefined=(input,) if mode == "nearest" else ())


def _affine_size(theta, size):
    try:
        size = [int(s) for s in size] if all(_is_integer(s) for s in size) else None
    except TypeError:
        size = None
    if size is None:
        raise TypeError("affine_grid(): argument 'size' must be a sequence of ints")
    if len(size) == 4:
        expected, what = (2, 3), "2D affine matrices of shape Nx2x3"
    elif len(size) == 5:
        expected, what = (3, 4), "3D affine matrices of shape Nx3x4"
    else:
        raise NotImplementedError("affine_grid(): affine_grid only supports 4D and 5D sizes, for 2D and 3D affine "
                                  f"transforms, respectively. Got size {tuple(size)}.")
    if theta.dim() != 3 or tuple(theta.shape[1:]) != expected:
        raise ValueError(f"affine_grid(): Expected a batch of {what} for size {tuple(size)}. Got "
                         f"{list(theta.shape)}.")
    return size


def _base_coords(n, align_corners):
    """n points spanning [-1, 1] (pixel centres: shrunk by (n - 1) / n without align_corners); 0 for n = 1."""
    if n <= 1:
        return np.zeros(max(n, 0))
    r = np.linspace(-1.0, 1.0, n)
    return r if align_corners else r * (n - 1) / n


def affine_grid(theta, size, align_corners=None):
    """The sampling grid of the affine maps theta (N, 2, 3) or (N, 3, 4) over an output of
    size (N, C, H, W) or (N, C, D, H, W): grid (N, H, W, 2) or (N, D, H, W, 3), for grid_sample."""
    align_corners = _default_align_corners(align_corners)
    _tensor_arg(theta, "affine_grid", "theta")
    if not theta.is_floating_point():
        raise ValueError(f"affine_grid(): Expected theta to have floating point type, but got {theta.dtype}")
    size = _affine_size(theta, size)
    spatial = size[2:]
    if align_corners and min(spatial) == 1:
        warn_at_caller("Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
                       "align_corners=True. This is not an intended use case of affine_grid. See the documentation "
                       "of affine_grid for details.", UserWarning)
    elif min(size) <= 0:
        raise ValueError(f"affine_grid(): Expected non-zero, positive output size. Got {tuple(size)}")
    if theta.shape[0] != size[0]:
        raise RuntimeError(f"affine_grid(): theta holds {theta.shape[0]} matrices but size asks for a batch of "
                           f"{size[0]} (theta {list(theta.shape)}, size {tuple(size)})")
    # homogeneous base points (x, y[, z], 1) over the output, x along the last dim
    mesh = np.meshgrid(*[_base_coords(s, align_corners) for s in spatial], indexing="ij")[::-1]
    base = np.stack([*mesh, np.ones(tuple(spatial))], -1).reshape(1, -1, len(spatial) + 1)
    grid = _const(theta, base).matmul(theta.transpose(1, 2))
    return as_one_node(grid.reshape(size[0], *spatial, len(spatial)), "AffineGridGeneratorBackward0",
                       "affine_grid_generator")
