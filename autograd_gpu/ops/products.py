"""Products beyond matmul: the BLAS-style fused forms (addmm, addmv, addr,
baddbmm, addbmm), outer/inner/vdot, tensordot, kron, cross, dist and cdist.

The fused forms and cross are nodes of their own (PyTorch's grad_fn names);
outer, inner, tensordot, kron, dist and cdist are composed of our
differentiable ops, as PyTorch composes most of them."""
import math

import numpy as np

from ..autograd.op import Op, device_mismatch
from ..tensor import Tensor
from .._dtype import result_type_of
from . import prims as P
from ._util import broadcastable, check_fits, half_rounded, int_arg, number, wrap_dim
from .linalg import Dot, matrix_transpose
from .shape import ReshapeCopy
from .tied import as_one_node
from .functions import tensor_function
from ..amp import cast_at_entry

_F16, _F32 = np.dtype(np.float16), np.dtype(np.float32)


# ---- argument checks shared by the family ----------------------------------------

def _tensors(op_name, args):
    """args: (name, value) pairs; each must be a Tensor, all on one device."""
    for pos, (name, v) in enumerate(args, 1):
        if not isinstance(v, Tensor):
            raise TypeError(f"{op_name}(): argument '{name}' (position {pos}) must be Tensor, not {type(v).__name__}")
    first = args[0][1]
    for _, v in args[1:]:
        if v._backend is not first._backend:
            raise device_mismatch(op_name, first, v)


def _same_dtype(op_name, *ts):
    for t in ts[1:]:
        if t.dtype is not ts[0].dtype:
            raise RuntimeError(f"{op_name}: expected all operands to have the same dtype, but got "
                               f"{', '.join(u.dtype.libtorch for u in ts)}")


def _no_bool(op_name, *ts):
    if any(t.dtype.np.kind == "b" for t in ts):
        raise NotImplementedError(f"{op_name}: \"{op_name}\" not implemented for 'Bool'")


def _check_expand(op_name, x, shape):
    """PyTorch expands the added input to the product's shape (it never grows the product)."""
    s = x.shape
    if len(s) > len(shape) or any(a != b and a != 1 for a, b in zip(s[::-1], shape[::-1])):
        raise RuntimeError(f"{op_name}: the input of shape {list(s)} cannot be expanded to the product's "
                           f"shape {list(shape)}")


def _shape_error(op_name, what, *ts):
    return RuntimeError(f"{op_name}: {what} (got shapes {', '.join(str(list(t.shape)) for t in ts)})")


# ---- beta * input + alpha * product: one node -----------------------------------

class _Fused(Op):
    """beta * input + alpha * product(a, b). At beta == 0 the input is not read
    (its NaN and inf do not propagate), as PyTorch's."""
    save_inputs = (1, 2)
    saved_for = ((2,), (1,))              # each operand only for the other's gradient
    blas_alpha0 = False     # PyTorch's BLAS call here reads neither a nor b when alpha == 0 (float32/64)
    blas_scales_a = False   # ... and scales an operand by alpha, not the product (alpha = inf: NaN, not inf)
    strict_scalars = False  # addr: refuses a float beta/alpha for integers, a bool one for non-bools
    half_range = False      # a beta/alpha beyond float16's range is an error (not inf) for a half result

    @staticmethod
    def result_dtype(x, a, b):
        return result_type_of((x, a, b)).np

    def forward(self, x, a, b, beta, alpha):
        self.beta, self.alpha = beta, alpha
        dt = self.result_dtype(x, a, b)
        if dt == _F16:                    # half: accumulate in float32, round once (PyTorch's opmath)
            x, a, b = (v.astype(_F32) for v in (x, a, b))
        elif a.dtype != dt or b.dtype != dt or x.dtype != dt:
            x, a, b = (v.astype(dt) for v in (x, a, b))
        blas = dt.kind == "f" and dt != _F16
        if blas and self.blas_alpha0 and alpha == 0:
            y = np.zeros_like(a, shape=self.product_shape(a.shape, b.shape))
        elif blas and self.blas_scales_a:
            y = self.product(a * alpha if alpha != 1 else a, b)
        else:
            y = self.product(a, b)
            if alpha != 1 and a.size and b.size:     # (an empty sum is 0 whatever alpha, inf and NaN too)
                y = y * alpha
        if beta != 0:
            y = y + (x if beta == 1 else x * beta)
        return y.astype(dt, copy=False)

    def backward(self, g, a, b):
        alpha = self.alpha
        gx = (g if self.beta == 1 else P.mul(g, self.beta)) if self.needs(0) else None
        ga = self.grad_a(g, b) if self.needs(1) else None
        gb = self.grad_b(g, a) if self.needs(2) else None
        if alpha != 1:
            ga = None if ga is None else P.mul(ga, alpha)
            gb = None if gb is None else P.mul(gb, alpha)
        return gx, ga, gb

    @staticmethod
    def product_shape(sa, sb):
        return sa[:-1] + sb[-1:]


class Addmm(_Fused):
    _name, op_name = "AddmmBackward0", "addmm"
    blas_alpha0 = blas_scales_a = True
    product = staticmethod(P.matmul)

    def grad_a(self, g, b):
        return P.matmul(g, b.T)

    def grad_b(self, g, a):
        return P.matmul(a.T, g)

    @staticmethod
    def check(x, a, b):
        for name, m in (("mat1", a), ("mat2", b)):
            if m.ndim != 2:
                raise _shape_error("addmm", f"{name} must be a matrix, got {m.ndim}-D tensor", a, b)
        if a.shape[1] != b.shape[0]:
            raise RuntimeError(f"addmm: mat1 and mat2 shapes cannot be multiplied ({a.shape[0]}x{a.shape[1]} "
                               f"and {b.shape[0]}x{b.shape[1]})")
        return (a.shape[0], b.shape[1])


class Baddbmm(Addmm):
    _name, op_name = "BaddbmmBackward0", "baddbmm"
    blas_alpha0 = blas_scales_a = False     # (PyTorch's own kernel for small matrices: 0 * NaN is NaN)

    def grad_a(self, g, b):
        return P.matmul(g, matrix_transpose(b))

    def grad_b(self, g, a):
        return P.matmul(matrix_transpose(a), g)

    @classmethod
    def check(cls, x, a, b):
        for name, m, least in (("batch1", a, 2), ("batch2", b, 3)):
            if m.ndim < least:          # (PyTorch first reads the result's sizes from them: IndexError)
                raise IndexError(f"{cls.op_name}: Dimension out of range ({name} must be a 3D tensor, got "
                                 f"{m.ndim}-D)")
        for name, m in (("batch1", a), ("batch2", b)):
            if m.ndim != 3:
                raise _shape_error(cls.op_name, f"{name} must be a 3D tensor", a, b)
        if cls is Baddbmm and (b.shape[0] != a.shape[0] or b.shape[1] != a.shape[2]):
            raise RuntimeError(f"baddbmm: Expected size for first two dimensions of batch2 tensor to be: "
                               f"[{a.shape[0]}, {a.shape[2]}] but got: [{b.shape[0]}, {b.shape[1]}].")
        return (a.shape[0], a.shape[1], b.shape[2])


class Addbmm(Baddbmm):
    """The batch of products summed: one matrix product over (batch, k) together."""
    _name, op_name = "AddbmmBackward0", "addbmm"
    blas_alpha0 = blas_scales_a = True

    @staticmethod
    def product(a, b):
        n, p = a.shape[1], b.shape[2]
        return P.matmul(P.reshape(P.permute(a, (1, 0, 2)), (n, -1)), P.reshape(b, (-1, p)))

    @staticmethod
    def product_shape(sa, sb):
        return (sa[1], sb[2])

    @classmethod
    def check(cls, x, a, b):
        Baddbmm.check.__func__(cls, x, a, b)
        if a.shape[0] != b.shape[0]:
            raise RuntimeError(f"addbmm: batch1 and batch2 must have same number of batches, got {a.shape[0]} "
                               f"and {b.shape[0]}")
        if a.shape[2] != b.shape[1]:
            raise RuntimeError(f"addbmm: Incompatible matrix sizes for bmm ({a.shape[1]}x{a.shape[2]} and "
                               f"{b.shape[1]}x{b.shape[2]})")
        return (a.shape[1], b.shape[2])


class Addmv(_Fused):
    _name, op_name = "AddmvBackward0", "addmv"
    blas_alpha0 = True
    half_range = True
    product = staticmethod(P.matmul)

    def grad_a(self, g, v):
        return P.reshape(g, (-1, 1)) * P.reshape(v, (1, -1))

    def grad_b(self, g, m):
        return P.matmul(m.T, g)

    @staticmethod
    def product_shape(sa, sb):
        return sa[:1]

    @staticmethod
    def check(x, m, v):
        if x.ndim > 1 or m.ndim != 2 or v.ndim != 1:
            raise _shape_error("addmv", f"vector + matrix @ vector expected, got {x.ndim}, {m.ndim}, {v.ndim}",
                               x, m, v)
        if m.shape[1] != v.shape[0] or (x.ndim and x.shape[0] not in (1, m.shape[0])):
            raise RuntimeError(f"addmv: size mismatch, got input ({x.shape[0] if x.ndim else 1}), mat "
                               f"({m.shape[0]}x{m.shape[1]}), vec ({v.shape[0]})")
        return (m.shape[0],)


class Addr(_Fused):
    """beta * input + alpha * outer(vec1, vec2), with type promotion (bools:
    `or` of `and`s)."""
    _name, op_name = "AddrBackward0", "addr"
    strict_scalars = half_range = True

    @staticmethod
    def product(a, b):
        return P.reshape(a, (-1, 1)) * P.reshape(b, (1, -1))

    @staticmethod
    def product_shape(sa, sb):
        return sa + sb

    def grad_a(self, g, b):
        return P.matmul(g, b)

    def grad_b(self, g, a):
        return P.matmul(g.T, a)

    @staticmethod
    def result_dtype(x, a, b):
        # the input counts as dimensioned (PyTorch expands it to the product's shape before promoting)
        return result_type_of((x.reshape(1) if x.ndim == 0 else x, a, b)).np

    @staticmethod
    def check(x, a, b):
        for name, v in (("vec1", a), ("vec2", b)):
            if v.ndim != 1:
                raise _shape_error("addr", f"Expected 1-D argument {name}, but got {v.ndim}-D", a, b)
        return (a.shape[0], b.shape[0])


def _scalar(cls, v, arg, dt):
    """beta or alpha as the result dtype `dt` takes it: integers truncate a
    float (addr refuses it), an int32 or (addmv, addr) half result refuses one
    beyond its range."""
    if isinstance(v, Tensor) and v.ndim == 0:
        v = v.item()
    op_name = cls.op_name
    v = number(v, op_name, arg)
    k = dt.kind
    if cls.strict_scalars:
        if type(v) is bool and k != "b":
            raise RuntimeError(f"{op_name}: Boolean {arg} only supported for Boolean results.")
        if type(v) is float and k in "biu":
            raise RuntimeError(f"{op_name}: For integral input tensors, argument {arg} must not be a floating "
                               "point number.")
    if k == "b":
        return bool(v)
    if k in "iu":
        return int(check_fits(v, dt, op_name))
    if dt == _F16:
        if cls.half_range:
            check_fits(v, dt, op_name)
        return half_rounded(v)
    return int(v) if type(v) is bool else v


def _fused(cls, names, input, a, b, beta, alpha):
    _tensors(cls.op_name, tuple(zip(names, (input, a, b))))
    shape = cls.check(input, a, b)
    if cls is not Addr:
        _same_dtype(cls.op_name, input, a, b)
        _no_bool(cls.op_name, input, a, b)
    _check_expand(cls.op_name, input, shape)
    dt = cls.result_dtype(input._data, a._data, b._data)
    beta, alpha = _scalar(cls, beta, "beta", dt), _scalar(cls, alpha, "alpha", dt)
    return cls.applyN((input, a, b), beta, alpha)


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """beta * input + alpha * (mat1 @ mat2); input broadcasts to the product's shape."""
    return _fused(Addmm, ("input", "mat1", "mat2"), input, mat1, mat2, beta, alpha)


def addmv(input, mat, vec, *, beta=1, alpha=1):
    """beta * input + alpha * (mat @ vec)."""
    return _fused(Addmv, ("input", "mat", "vec"), input, mat, vec, beta, alpha)


def addr(input, vec1, vec2, *, beta=1, alpha=1):
    """beta * input + alpha * outer(vec1, vec2) (dtypes promote)."""
    return _fused(Addr, ("input", "vec1", "vec2"), input, vec1, vec2, beta, alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """beta * input + alpha * (batch1 @ batch2), matrix by matrix of the batch."""
    return _fused(Baddbmm, ("input", "batch1", "batch2"), input, batch1, batch2, beta, alpha)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """beta * input + alpha * the sum over the batch of batch1[i] @ batch2[i]."""
    return _fused(Addbmm, ("input", "batch1", "batch2"), input, batch1, batch2, beta, alpha)


# ---- vector products -----------------------------------------------------------

class Vdot(Dot):
    """The dot product (conjugating the first operand: nothing, for real data)."""
    _name, op_name = "VdotBackward0", "vdot"      # (Dot's forward and backward, named vdot)


def vdot(input, other):
    """sum(input * other) of two vectors of one dtype."""
    _tensors("vdot", (("input", input), ("other", other)))
    _same_dtype("vdot", input, other)
    _no_bool("vdot", input, other)
    return Vdot.apply2(input, other)


def outer(input, vec2):
    """input[i] * vec2[j] (dtypes promote)."""
    _tensors("outer", (("input", input), ("vec2", vec2)))
    for name, v in (("self", input), ("vec2", vec2)):
        if v.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {v.ndim}-D")
    return input.reshape(-1, 1) * vec2


def inner(input, other):
    """The sum over the last dims of input[..., k] * other[..., k]; a 0-d operand
    multiplies."""
    _tensors("inner", (("input", input), ("other", other)))
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got shapes "
                           f"{list(input.shape)} and {list(other.shape)}")
    return _contract("inner", input, other, [input.ndim - 1], [other.ndim - 1])


_DIMS_FORMS = "int or tuple[list[int], list[int]] or list[list[int]] containing two lists"


def _dim_list(v, pos):
    name = ("dims_self", "dims_other")[pos]
    if not isinstance(v, (list, tuple)):
        raise TypeError(f"tensordot(): argument '{name}' (position {pos + 3}) must be tuple of ints, not "
                        f"{type(v).__name__}")
    for i, d in enumerate(v):
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
            raise TypeError(f"tensordot(): argument '{name}' (position {pos + 3}) must be tuple of ints, but "
                            f"found element of type {type(d).__name__} at pos {i}")
    return list(v)


def _tensordot_dims(dims, a, b):
    """dims as the two lists of contracted dims."""
    if isinstance(dims, Tensor):
        if dims.ndim == 1:
            raise TypeError("tensordot(): argument 'dims_self' (position 3) must be tuple of ints, not int")
        dims = int(dims.item()) if dims.ndim == 0 else dims.tolist()
    if type(dims) in (int, bool):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > a.ndim or dims > b.ndim:
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        return list(range(a.ndim - dims, a.ndim)), list(range(dims))
    if not isinstance(dims, (list, tuple)):
        raise RuntimeError(f"tensordot expects dims to be {_DIMS_FORMS}, but got dims={dims}")
    if len(dims) != 2:
        raise ValueError(f"tensordot expects dims to be {_DIMS_FORMS}, but got {len(dims)} lists")
    da, db = _dim_list(dims[0], 0), _dim_list(dims[1], 1)
    if len(da) != len(db):
        raise RuntimeError("tensordot: both dimension lists should have same length")
    return da, db


def _contract(op_name, a, b, da, db):
    """Sum over the paired dims da of a and db of b (a size-1 dim broadcasts
    against its partner): a's other dims, then b's."""
    _same_dtype(op_name, a, b)
    _no_bool(op_name, a, b)
    for t, ds in ((a, da), (b, db)):
        if t.ndim == 0 and ds:
            raise IndexError(f"{op_name}: Dimension specified as {ds[0]} but tensor has no dimensions")
    da = [wrap_dim(d, a.ndim, op_name) for d in da]
    db = [wrap_dim(d, b.ndim, op_name) for d in db]
    for ds in (da, db):
        if len(set(ds)) != len(ds):
            raise RuntimeError(f"{op_name}: dim {ds} appears multiple times in the list of dims")
    for i, j in zip(da, db):
        n, m = a.shape[i], b.shape[j]
        if n != m and n != 1 and m != 1:
            raise RuntimeError(f"{op_name}: contracted dimensions need to match, but first has size {n} "
                               f"in dim {i} and second has size {m} in dim {j}")
    # A size-1 dim against its partner: the partner is summed right away, as PyTorch does (the
    # summed operand is then a new tensor, which a later in-place write to the input does not reach)
    for i, j in zip(da, db):
        if b.shape[j] == 1:
            a = a.sum(i, keepdim=True, dtype=a.dtype)
        elif a.shape[i] == 1:
            b = b.sum(j, keepdim=True, dtype=b.dtype)
    sa, sb = a.shape, b.shape
    fa = [d for d in range(a.ndim) if d not in da]
    fb = [d for d in range(b.ndim) if d not in db]
    k = math.prod(sa[d] for d in da)
    out = [sa[d] for d in fa] + [sb[d] for d in fb]
    ma = _permuted(a, fa + da).reshape(math.prod(sa[d] for d in fa), k)
    mb = _permuted(b, db + fb).reshape(k, math.prod(sb[d] for d in fb))
    return ma.mm(mb).reshape(out)


def _permuted(t, order):
    return t if order == list(range(t.ndim)) else t.permute(*order)


@cast_at_entry
def tensordot(a, b, dims=2, out=None):
    """The sum over the last `dims` dims of a and the first of b, or over the
    dims listed in dims = (dims_a, dims_b)."""
    if out is not None:
        raise TypeError("tensordot(): out= is not supported")
    _tensors("tensordot", (("a", a), ("b", b)))
    da, db = _tensordot_dims(dims, a, b)
    return _contract("tensordot", a, b, da, db)


def kron(input, other):
    """The Kronecker product: every entry of input times all of other, in
    blocks (dims padded with leading 1s to the same number)."""
    _tensors("kron", (("input", input), ("other", other)))
    n = max(input.ndim, other.ndim)
    sa = (1,) * (n - input.ndim) + tuple(input.shape)
    sb = (1,) * (n - other.ndim) + tuple(other.shape)
    pairs = (input.reshape([s for d in sa for s in (d, 1)]) * other.reshape([s for d in sb for s in (1, d)]))
    # (PyTorch's _unsafe_view: a new tensor, not a view of the product, which nothing else sees)
    return ReshapeCopy.apply1(pairs, tuple(i * j for i, j in zip(sa, sb)))


# ---- cross -----------------------------------------------------------------------

def _cross(a, b, axis):
    """a x b along `axis` (arrays, or Tensors: then differentiable)."""
    def part(t, order):
        return P.getitem(t, (slice(None),) * axis + (order,))
    return P.sub(P.mul(part(a, [1, 2, 0]), part(b, [2, 0, 1])), P.mul(part(a, [2, 0, 1]), part(b, [1, 2, 0])))


class Cross(Op):
    """The cross product of 3-vectors along `axis` (operands broadcast)."""
    _name, op_name = "LinalgCrossBackward0", "cross"
    save_inputs = (0, 1)
    saved_for = ((1,), (0,))

    def forward(self, a, b, axis):
        self.axis = axis
        return _cross(a, b, axis)

    def backward(self, g, a, b):
        return (_cross(b, g, self.axis) if self.needs(0) else None,
                _cross(g, a, self.axis) if self.needs(1) else None)


def cross(input, other, dim=None):
    """The cross product along dim; dim=None (deprecated in PyTorch) takes
    input's first dim of size 3."""
    _tensors("cross", (("input", input), ("other", other)))
    if dim is None:
        dim = next((d for d, n in enumerate(input.shape) if n == 3), None)
        if dim is None:
            raise RuntimeError(f"cross: no dimension of size 3 in input (shape {list(input.shape)})")
    dim = int_arg(dim, "cross", "dim")
    if input.ndim != other.ndim:
        raise _shape_error("linalg.cross", "inputs must have the same number of dimensions", input, other)
    if input.ndim == 0:
        raise IndexError(f"cross: Dimension specified as {dim} but tensor has no dimensions")
    axis = wrap_dim(dim, input.ndim, "cross")
    if input.shape[axis] != 3 or other.shape[axis] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{input.shape[axis]} and {other.shape[axis]}")
    if not broadcastable(input.shape, other.shape):
        raise _shape_error("cross", "the shapes cannot be broadcast together", input, other)
    _same_dtype("cross", input, other)
    _no_bool("cross", input, other)
    return Cross.apply2(input, other, axis)


# ---- distances ---------------------------------------------------------------------

def _float_p(p, op_name, kind="Number"):
    if isinstance(p, Tensor) and p.ndim == 0 and kind == "Number":
        p = p.item()
    if isinstance(p, (bool, int, float, np.integer, np.floating)):
        return float(p)
    raise TypeError(f"{op_name}(): argument 'p' (position 3) must be {kind}, not {type(p).__name__}")


@cast_at_entry
def dist(input, other, p=2):
    """The p-norm of input - other (broadcast)."""
    _tensors("dist", (("input", input), ("other", other)))
    p = _float_p(p, "dist")
    if input.dtype.np.kind == "b" or other.dtype.np.kind == "b":
        raise RuntimeError("dist: subtraction, the `-` operator, with a bool tensor is not supported")
    dt = result_type_of((input._data, other._data))
    if not dt.is_floating_point:
        raise RuntimeError(f"dist: norm(): input dtype should be either floating point or complex. Got "
                           f"{dt.libtorch} instead.")
    if not broadcastable(input.shape, other.shape):
        raise _shape_error("dist", "the shapes cannot be broadcast together", input, other)
    if (p < 0 or p == math.inf) and 0 in np.broadcast_shapes(input.shape, other.shape):
        raise RuntimeError(f"dist: linalg.vector_norm cannot compute the {p} norm on an empty tensor because "
                           "the operation does not have an identity")
    return as_one_node((input - other).norm(p), "DistBackward0", "dist", (input, other))


def inf_distance(diff):
    """max |diff| over the last dim, each tied maximum taking the whole gradient, as PyTorch's cdist
    and pdist kernels give it (norm's backward, which dist and pairwise_distance use, splits it among
    the ties)."""
    a = diff.abs()
    top = a.amax(-1, keepdim=True).detach()
    return top.squeeze(-1) + ((a - top) * (a == top)).sum(-1)


class EuclideanDist(Op):
    """cdist's p = 2 as PyTorch computes it for many rows (_euclidean_dist): one matrix product of
    [-2 x1, |x1|^2, 1] and [x2, 1, |x2|^2], clamped at 0, square-rooted; memory P R, where the
    differences of every pair take P R M. Backward (PyTorch's _euclidean_dist_backward): with
    ratio = g / d (0 where d is 0), x1 * rowsum(ratio) - ratio @ x2 and its mirror for x2; under
    create_graph in Tensor ops, so it differentiates again."""
    _name, op_name = "EuclideanDistBackward0", "_euclidean_dist"
    save_inputs = (0, 1)
    save_result = True
    exact_grads = True

    def forward(self, x1, x2):
        n1, n2 = P.sum(P.mul(x1, x1), -1, True), P.sum(P.mul(x2, x2), -1, True)
        a = P.concatenate([P.mul(x1, -2), n1, np.ones_like(n1)], -1)      # (np.ones_like: CuPy's for CuPy)
        b = P.concatenate([x2, np.ones_like(n2), n2], -1)
        return P.sqrt(P.clamp(P.matmul(a, b.swapaxes(-1, -2)), 0, None))

    def backward(self, g, x1, x2, d):
        if type(g) is Tensor:
            ratio = (g / d).masked_fill(d == 0, 0)
            ratio_t = ratio.transpose(-1, -2)
        else:
            ratio = P.where(d == 0, 0, P.div(g, d))
            ratio_t = ratio.swapaxes(-1, -2)
        g1 = P.sub(P.mul(x1, P.sum(ratio, -1, True)), P.matmul(ratio, x2)) if self.needs(0) else None
        g2 = P.sub(P.mul(x2, P.sum(ratio_t, -1, True)), P.matmul(ratio_t, x1)) if self.needs(1) else None
        return g1, g2


def _euclidean_dist(x1, x2):
    """EuclideanDist over the broadcast batch dims, as PyTorch's cdist lays it out: the inputs as
    (batch, rows, M), the result viewed back (ViewBackward0 over EuclideanDistBackward0)."""
    batch = tuple(np.broadcast_shapes(x1.shape[:-2], x2.shape[:-2]))
    (p, m), r = x1.shape[-2:], x2.shape[-2]
    if batch:
        x1 = x1.expand(*batch, p, m).reshape(-1, p, m)
        x2 = x2.expand(*batch, r, m).reshape(-1, r, m)
    return EuclideanDist.apply2(x1, x2).view(*batch, p, r)


_COMPUTE_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist")


@cast_at_entry
def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """The p-norm distance of each row of x1 to each row of x2, over batch dims
    that broadcast: (..., P, M) and (..., R, M) give (..., P, R). For p = 2 over
    more than 25 rows (compute_mode's default) a matrix product, as PyTorch's
    (EuclideanDist), else the differences of every pair."""
    _tensors("cdist", (("x1", x1), ("x2", x2)))
    p = _float_p(p, "cdist", "float")
    if compute_mode not in _COMPUTE_MODES:
        raise ValueError(f"cdist(): {compute_mode} is not a valid value for compute_mode")
    for name, x in (("X1", x1), ("X2", x2)):
        if x.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: {x.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"cdist: X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} "
                           f"X2: {x2.shape[-1]}")
    for name, x in (("X1", x1), ("X2", x2)):
        if not x.dtype.is_floating_point:
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: {x.dtype.libtorch}")
    if x1.dtype.np == _F16:
        raise NotImplementedError("cdist: \"cdist\" not implemented for 'Half'")
    _same_dtype("cdist", x1, x2)
    if not p >= 0:
        raise RuntimeError(f"cdist only supports non-negative p values (got {p})")
    if not broadcastable(x1.shape[:-2], x2.shape[:-2]):
        raise _shape_error("cdist", "the batch dims cannot be broadcast together", x1, x2)
    if x1.shape[-1] == 0:
        p = 2.0                          # (no columns: every distance is 0, for any p)
    mode = _COMPUTE_MODES.index(compute_mode)
    if p == 2 and (mode == 1 or mode == 0 and (x1.shape[-2] > 25 or x2.shape[-2] > 25)):
        return _euclidean_dist(x1, x2)
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    d = inf_distance(diff) if p == math.inf else diff.norm(p, dim=-1)
    if p == 0:                           # (PyTorch's count of nonzeros is NaN where a difference is)
        d = d.masked_fill(diff.isnan().any(-1), math.nan)
    return as_one_node(d, "CdistBackward0", "_cdist_forward", (x1, x2))


# the methods that have an in-place form, x.<name>_ (ops/inplace.py makes them), with a check of what
# the in-place form refuses (none here)
INPLACE = dict.fromkeys(("addmm", "addmv", "addr", "baddbmm", "addbmm"))

# Tensor methods this module adds (attached by ops/methods.py)
METHODS = {
    "addmm": addmm, "addmv": addmv, "addr": addr, "baddbmm": baddbmm, "addbmm": addbmm, "outer": outer,
    "ger": outer, "inner": inner, "vdot": vdot, "kron": kron, "cross": cross, "dist": dist,
}
# ag.<name> functions this module adds (exported by autograd_gpu/__init__.py); those
# whose first operand must be a Tensor go through functions.tensor_function
FUNCTIONS = {name: tensor_function(name, fn) for name, fn in {**METHODS, "tensordot": tensordot,
                                                              "cdist": cdist}.items()}
