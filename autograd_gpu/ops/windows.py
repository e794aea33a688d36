"""Sliding windows over the last dims (unfold) and their adjoint, summing
windows back (fold): what convolution and pooling are made of.

`windows(x, geo)` turns (..., *sizes) into (..., *kernel, *out): one strided
slice copy per kernel offset. Its adjoint `fold_windows` adds each offset's
slice back. Each op's backward is the other (both are linear), so gradients of
any order follow."""
from collections import namedtuple
from itertools import product

from ..autograd.op import Op
from ..tensor import Tensor

# METHODS / FUNCTIONS: none (F.unfold / F.fold live in nn.functional_conv)
METHODS = {}
FUNCTIONS = {}

# per spatial dim: size in, kernel, dilation, padding before and after, stride, size out
Geometry = namedtuple("Geometry", "sizes kernel dilation pad_lo pad_hi stride out")


def out_size(size, k, d, lo, hi, s):
    """The number of window positions along one dim (may be <= 0)."""
    return (size + lo + hi - d * (k - 1) - 1) // s + 1


def make_geometry(sizes, kernel, dilation, pad_lo, pad_hi, stride, out=None):
    """A Geometry (all per-dim tuples); the caller checked the values. `out`
    (pooling's ceil_mode count) may be given: then padding only needs to
    reach the last window."""
    if out is None:
        out = tuple(out_size(*a) for a in zip(sizes, kernel, dilation, pad_lo, pad_hi, stride))
    return Geometry(tuple(sizes), tuple(kernel), tuple(dilation), tuple(pad_lo), tuple(pad_hi), tuple(stride), out)


def offsets(geo):
    """(kernel offset, the slices of the padded input it reads) for each offset."""
    for offs in product(*[range(k) for k in geo.kernel]):
        yield offs, tuple(slice(o * d, o * d + s * (n - 1) + 1, s)
                          for o, d, s, n in zip(offs, geo.dilation, geo.stride, geo.out))


def interior(geo):
    """The slices of a padded array that hold the input."""
    return tuple(slice(lo, lo + n) for lo, n in zip(geo.pad_lo, geo.sizes))


def padded_array(x, geo, fill, xp):
    """x (..., *sizes) padded as geo says with `fill` (x itself where there is no padding)."""
    padded = tuple(n + lo + hi for n, lo, hi in zip(geo.sizes, geo.pad_lo, geo.pad_hi))
    if padded == geo.sizes:
        return x
    xpad = xp.full(x.shape[:x.ndim - len(geo.sizes)] + padded, fill, dtype=x.dtype)
    xpad[(Ellipsis,) + interior(geo)] = x
    return xpad


def unfold_array(x, geo, fill, xp):
    """(..., *sizes) -> (..., *kernel, *out), padding read as `fill`; xp is
    the array module (NumPy or CuPy)."""
    nd = len(geo.sizes)
    lead = x.shape[:x.ndim - nd]
    xpad = padded_array(x, geo, fill, xp)
    out = xp.empty(lead + geo.kernel + tuple(max(n, 0) for n in geo.out), dtype=x.dtype)
    if out.size:
        rest = (slice(None),) * nd
        for offs, src in offsets(geo):
            out[(Ellipsis,) + offs + rest] = xpad[(Ellipsis,) + src]
    return out


def fold_array(g, geo, xp):
    """The adjoint: (..., *kernel, *out) -> (..., *sizes), overlaps summed."""
    nd = len(geo.sizes)
    lead = g.shape[:g.ndim - 2 * nd]
    padded = tuple(n + lo + hi for n, lo, hi in zip(geo.sizes, geo.pad_lo, geo.pad_hi))
    acc = xp.zeros(lead + padded, dtype=g.dtype)
    if g.size:
        rest = (slice(None),) * nd
        for offs, src in offsets(geo):
            # one offset's slices never overlap themselves: a plain += is exact
            acc[(Ellipsis,) + src] += g[(Ellipsis,) + offs + rest]
    return xp.ascontiguousarray(acc[(Ellipsis,) + interior(geo)])


class Unfold(Op):
    """Windows of the last dims laid out as (..., *kernel, *out)."""
    _name, op_name = "Im2ColBackward0", "unfold"

    def forward(self, x, geo, fill, xp):
        self.geo, self.xp = geo, xp
        return unfold_array(x, geo, fill, xp)

    def backward(self, g):
        return Fold.apply1(g, self.geo, self.xp) if isinstance(g, Tensor) else fold_array(g, self.geo, self.xp)


class Fold(Op):
    """Windows (..., *kernel, *out) summed back into (..., *sizes)."""
    _name, op_name = "Col2ImBackward0", "fold"

    def forward(self, g, geo, xp):
        self.geo, self.xp = geo, xp
        return fold_array(g, geo, xp)

    def backward(self, g):
        if isinstance(g, Tensor):
            return Unfold.apply1(g, self.geo, 0, self.xp)
        return unfold_array(g, self.geo, 0, self.xp)


def windows(x, geo, fill=0):
    """x's windows (a Tensor (..., *kernel, *out)); padding reads as `fill`."""
    return Unfold.apply1(x, geo, fill, x._backend.xp)


def fold_windows(w, geo):
    """Windows (..., *kernel, *out) summed back into a Tensor (..., *sizes)."""
    return Fold.apply1(w, geo, w._backend.xp)
