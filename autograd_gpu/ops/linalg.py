"""Matrix products: mm, bmm, dot, mv and matmul (which picks one of them, as
libtorch does). On the GPU these are CuPy's cuBLAS calls."""
import math

import numpy as np

from ..autograd.grad_mode import state as grad_state
from ..autograd.op import Op
from ..backend.cupy_backend import strides_allow_view
from ..tensor import Tensor
from . import prims as P
from .shape import SqueezeDim
from .tied import as_one_node
from ..amp import cast_at_entry


def matrix_transpose(a):
    """Swap the last two dims (array or Tensor)."""
    n = len(a.shape)
    return P.permute(a, tuple(range(n - 2)) + (n - 1, n - 2))


def _same_dtype(op_name, a, b):
    if a.dtype != b.dtype:
        from .._dtype import from_numpy_dtype
        raise RuntimeError(f"{op_name}: expected both operands to have the same dtype, but got: "
                           f"{from_numpy_dtype(a.dtype).libtorch} != {from_numpy_dtype(b.dtype).libtorch}")


def _batched_backward(self, g, a, b):
    """bmm/matmul: swap the last two dims (batch dims are summed back by the engine)."""
    return (P.matmul(g, matrix_transpose(b)) if self.needs(0) else None,
            P.matmul(matrix_transpose(a), g) if self.needs(1) else None)


class Mm(Op):
    _name, op_name = "MmBackward0", "mm"
    exact_grads = True
    save_inputs = (0, 1)
    saved_for = ((1,), (0,))          # each operand only for the other's gradient (as PyTorch saves)

    def forward(self, a, b):
        if a.ndim != 2 or b.ndim != 2:
            raise RuntimeError(f"mm: {'self' if a.ndim != 2 else 'mat2'} must be a matrix "
                               f"(got shapes {list(a.shape)} and {list(b.shape)})")
        if a.shape[1] != b.shape[0]:
            raise RuntimeError(f"mm: mat1 and mat2 shapes cannot be multiplied "
                               f"({a.shape[0]}x{a.shape[1]} and {b.shape[0]}x{b.shape[1]})")
        if a.dtype != b.dtype:
            _same_dtype("mm", a, b)
        return P.matmul(a, b)

    def backward(self, g, a, b):
        # .T is the transpose on NumPy and CuPy arrays and on Tensors alike
        nf = self.next_functions
        return (P.matmul(g, b.T) if nf[0][0] is not None else None,
                P.matmul(a.T, g) if nf[1][0] is not None else None)


class Addmm(Op):
    """bias + x @ w for a batch of rows x (M, K) and w (K, N): nn.Linear's one
    node (w is weight.t(), libtorch's addmm). The bias broadcasts, so the
    engine sums its gradient back to the bias's shape."""
    _name, op_name = "AddmmBackward0", "linear"
    save_inputs = (1, 2)
    saved_for = ((2,), (1,))          # x only for w's gradient, w only for x's

    def forward(self, bias, x, w):
        y = P.matmul(x, w)            # (nn.functional checked the shapes, dtypes and devices)
        y += bias                     # into the fresh product: no second (M, N) array
        return y

    def backward(self, g, x, w):
        nf = self.next_functions
        return (g if nf[0][0] is not None else None,
                P.matmul(g, w.T) if nf[1][0] is not None else None,
                P.matmul(x.T, g) if nf[2][0] is not None else None)


class Bmm(Op):
    _name, op_name = "BmmBackward0", "bmm"
    save_inputs = (0, 1)
    saved_for = ((1,), (0,))

    def forward(self, a, b):
        if a.ndim != 3 or b.ndim != 3:
            raise RuntimeError(f"bmm: batch1 and batch2 must be 3D tensors (got shapes {list(a.shape)} "
                               f"and {list(b.shape)})")
        if a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
            raise RuntimeError(f"bmm: expected size for first two dimensions of batch2 tensor to be: "
                               f"[{a.shape[0]}, {a.shape[2]}] but got: [{b.shape[0]}, {b.shape[1]}].")
        _same_dtype("bmm", a, b)
        return P.matmul(a, b)

    backward = _batched_backward


class Dot(Op):
    _name, op_name = "DotBackward0", "dot"
    save_inputs = (0, 1)
    saved_for = ((1,), (0,))

    def forward(self, a, b):
        name = self.op_name                  # (dot, or vdot: a subclass)
        if a.ndim != 1 or b.ndim != 1:
            raise RuntimeError(f"{name}: 1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
        if a.shape[0] != b.shape[0]:
            raise RuntimeError(f"{name}: inconsistent tensor size, expected tensor [{a.shape[0]}] and src "
                               f"[{b.shape[0]}] to have the same number of elements, but got "
                               f"{a.shape[0]} and {b.shape[0]} elements respectively")
        _same_dtype(name, a, b)
        return P.matmul(a, b)

    def backward(self, g, a, b):
        return (P.mul(g, b) if self.needs(0) else None), (P.mul(g, a) if self.needs(1) else None)


class Mv(Op):
    _name, op_name = "MvBackward0", "mv"
    save_inputs = (0, 1)
    saved_for = ((1,), (0,))

    def forward(self, m, v):
        if m.ndim != 2 or v.ndim != 1:
            raise RuntimeError(f"mv: vector + matrix @ vector expected, got {m.ndim}D and {v.ndim}D")
        if m.shape[1] != v.shape[0]:
            raise RuntimeError(f"mv: size mismatch, got input ({m.shape[0]}), mat "
                               f"({m.shape[0]}x{m.shape[1]}), vec ({v.shape[0]})")
        _same_dtype("mv", m, v)
        return P.matmul(m, v)

    def backward(self, g, m, v):
        gm = P.reshape(g, (-1, 1)) * P.reshape(v, (1, -1)) if self.needs(0) else None
        return gm, (P.matmul(matrix_transpose(m), g) if self.needs(1) else None)


class Matmul(Op):
    """Broadcast batched product of two >= 2-d operands; batch dims broadcast,
    so the engine sums each gradient back to its operand's shape."""
    _name, op_name = "MatmulBackward0", "matmul"
    save_inputs = (0, 1)
    saved_for = ((1,), (0,))

    def forward(self, a, b):
        if a.shape[-1] != b.shape[-2]:
            raise RuntimeError(f"matmul: shapes {list(a.shape)} and {list(b.shape)} cannot be multiplied "
                               f"({a.shape[-1]} != {b.shape[-2]})")
        _same_dtype("matmul", a, b)
        return P.matmul(a, b)

    backward = _batched_backward


def _check(b, op_name, arg="other"):
    if not isinstance(b, Tensor):
        raise TypeError(f"{op_name}(): argument '{arg}' must be Tensor, not {type(b).__name__}")


def mm(input, mat2):
    _check(mat2, "mm", "mat2")
    return Mm.apply2(input, mat2)


def bmm(input, mat2):
    _check(mat2, "bmm", "mat2")
    return Bmm.apply2(input, mat2)


def dot(input, tensor):
    _check(tensor, "dot", "tensor")
    return Dot.apply2(input, tensor)


def mv(input, vec):
    _check(vec, "mv", "vec")
    return Mv.apply2(input, vec)


class _SqueezeResult(SqueezeDim):
    """Drops the dim matmul added to a 1-d operand. Its input is matmul's own
    temporary, so the result is no view (as in PyTorch): an in-place write to it,
    or retain_grad, must not reach through to the hidden temporary."""
    is_view = False


class _SqueezeMmResult(_SqueezeResult):
    _name = "SqueezeBackward4"


def _squeezed(r, dim):
    return _SqueezeResult.apply1(r, (dim % r.ndim,))


# ---- which operand PyTorch's batched matmul saves as a copy ---------------------------
# PyTorch's matmul of a >= 3-d operand folds it into a matrix (mm) or expands both operands
# to the common batch and flattens it (bmm); where that reshape cannot be a view it copies,
# and its backward then saves the copy: an in-place write to that operand before backward
# is no error there. Our Matmul broadcasts without copying, so it saves a copy of exactly
# those operands, found by the same rules on shapes and strides (in elements); the same rules
# name the node PyTorch's result comes out of (there is no MatmulBackward0 in PyTorch).

def _layout(t):
    d = t._data
    return d.shape, tuple(s // d.itemsize for s in d.strides)


def _mT(shape, strides):
    return shape[:-2] + shape[:-3:-1], strides[:-2] + strides[:-3:-1]


def _folds(s1, t1, other_rg, dim_a):
    """PyTorch's should_fold, given that the larger operand (its shape s1 and strides t1,
    transposed if it is the second) has >= 3 dims and the other <= 2."""
    if other_rg:
        return True                    # (folding keeps the other's gradient from a batch-sized copy)
    if dim_a == 2:
        return False
    return 0 in s1 or all(t1[i] == t1[i + 1] * s1[i + 1] for i in range(len(s1) - 2))


def _expanded(shape, strides, to):
    """The strides of `shape`/`strides` expanded to `to` (new and broadcast dims: stride 0)."""
    out, k = [], len(to) - len(shape)
    for i, n in enumerate(to):
        j = i - k
        out.append(strides[j] if j >= 0 and shape[j] == n else 0)
    return tuple(to), tuple(out)


def _as_pytorch(sa, ta, ra, sb, tb, rb):
    """(a copied, b copied, the name of the result's node) for PyTorch's matmul of operands with
    shapes s, strides t and requires_grad r, one of them >= 3-d: a fold into a matrix product gives
    an _unsafe_view of its result, transposed back (a contiguous copy, or a view where that already
    is contiguous) when the second operand was the folded one; bmm gives an _unsafe_view."""
    da, db = len(sa), len(sb)
    larger = da >= db
    s1, t1 = (sa, ta) if larger else _mT(sb, tb)
    if len(s1) >= 3 and min(da, db) <= 2 and _folds(s1, t1, rb if larger else ra, da):
        copied = not strides_allow_view(s1, t1, (math.prod(s1[:-1]), s1[-1]))
        if larger:
            return copied, False, "UnsafeViewBackward0"
        name = "UnsafeViewBackward0" if da == 1 else \
            "TransposeBackward0" if sa[-2] <= 1 or sb[-1] <= 1 or 0 in sb[:-2] else "CloneBackward0"
        return False, copied, name
    if da == 3 and db == 3 and sa[0] != sb[0]:           # a batch of one with grad: squeezed first
        if sa[0] == 1 and ra:
            return _as_pytorch(sa[1:], ta[1:], ra, sb, tb, rb)
        if sb[0] == 1 and rb:
            return _as_pytorch(sa, ta, ra, sb[1:], tb[1:], rb)
    try:
        batch = tuple(np.broadcast_shapes(sa[:-2], sb[:-2]))
    except ValueError:
        return False, False, None                        # (Matmul raises PyTorch's error)
    n_batch = math.prod(batch)
    rows = batch + ((sa[-2] if da > 1 else 1), sa[-1])
    copied_a = not strides_allow_view(*_expanded(sa, ta, rows), (n_batch,) + rows[-2:])
    cols = batch + (sb[-2:] if db > 1 else sb)
    copied_b = not strides_allow_view(*_expanded(sb, tb, cols), (n_batch,) + cols[len(batch):])
    return copied_a, copied_b, "UnsafeViewBackward0"


def saving_operands(a, b):
    """a @ b for >= 2-d operands as one node that saves both operands themselves: for ops composed
    here of a product where PyTorch's one node saves its inputs (convolution)."""
    return Matmul.apply2(a, b)


def _saving_as_pytorch(a, b):
    """a and b, each cloned where PyTorch's matmul would save a copy of it, and the name of PyTorch's
    result node (None when no graph is recorded)."""
    if not (grad_state.enabled and (a._rg or b._rg)):
        return a, b, None
    copied_a, copied_b, name = _as_pytorch(*_layout(a), a._rg, *_layout(b), b._rg)
    return (a.clone() if copied_a else a), (b.clone() if copied_b else b), name


@cast_at_entry
def matmul(input, other):
    """a @ b with NumPy/PyTorch semantics for 1-d and batched operands."""
    _check(other, "matmul")
    da, db = input.ndim, other.ndim
    if da == 0 or db == 0:
        raise RuntimeError(f"matmul: both arguments to matmul need to be at least 1D, but they are "
                           f"{da}D and {db}D")
    if da == 1 and db == 1:
        return Dot.apply2(input, other)
    if da == 2 and db == 1:
        return Mv.apply2(input, other)
    if da == 1 and db == 2:             # (PyTorch's: an in-place squeeze_ of mm's result)
        return _SqueezeMmResult.apply1(Mm.apply2(input.unsqueeze(0), other), (0,))
    if da == 2 and db == 2:
        return Mm.apply2(input, other)
    input, other, name = _saving_as_pytorch(input, other)
    if da == 1:
        y = _squeezed(Matmul.apply2(input.unsqueeze(0), other), -2)
    elif db == 1:
        y = _squeezed(Matmul.apply2(input, other.unsqueeze(-1)), -1)
    else:
        y = Matmul.apply2(input, other)
    return y if name is None else as_one_node(y, name, "matmul")


# ---- the nuclear norm: the sum of the singular values -----------------------------

class Svd(Op):
    """Reduced SVD of the last two dims, a = U diag(S) Vh (linalg_svd with
    full_matrices=False). Its backward is the real case of derivatives.yaml's
    svd_backward, written in differentiable ops, so norm(p='nuc') has second
    derivatives too. As in PyTorch, gradients through U or Vh are finite only
    for distinct nonzero singular values; through S alone, always."""
    _name, op_name = "LinalgSvdBackward0", "svd"
    save_result = True

    def forward(self, a):
        import numpy as np
        # Non-finite input: NumPy's SVD raises LinAlgError, CuPy's returns NaNs.
        # As PyTorch on both devices: NaN raises; inf gives NaN singular values
        # (one pass over a, next to an O(n^3) SVD)
        if not bool(np.isfinite(a).all()):
            if bool(np.isnan(a).any()):
                from .decompositions import LinAlgError      # (decompositions builds on this module)
                raise LinAlgError("linalg.svd: The algorithm failed to converge because the input matrix "
                                  "contained non-finite values.")
            k = min(a.shape[-2:])
            nan = np.full_like(a, np.nan, shape=a.shape[:-2] + (k,))
            return (np.full_like(a, np.nan, shape=a.shape[:-1] + (k,)), nan,
                    np.full_like(a, np.nan, shape=a.shape[:-2] + (k, a.shape[-1])))
        u, s, vh = np.linalg.svd(a, full_matrices=False)      # CuPy's on CUDA arrays (NEP 18)
        return u, s, vh

    def backward(self, grads, u, s, vh):
        g_u, g_s, g_vh = grads
        if g_u is None and g_vh is None:
            return P.matmul(u * g_s[..., None, :], vh)                         # U diag(gS) Vh
        k, m, n = s.shape[-1], u.shape[-2], vh.shape[-1]
        eye = eye_like(s, k)
        s2 = s * s
        # F_ij = 1 / (s_j^2 - s_i^2) off the diagonal, 0 on it
        f = P.where(eye, 0, 1 / P.where(eye, 1, s2[..., None, :] - s2[..., :, None]))
        inner = 0 if g_s is None else g_s[..., :, None] * eye                   # diag(gS)
        if g_u is not None:
            utgu = P.matmul(matrix_transpose(u), g_u)
            inner = inner + f * (utgu - matrix_transpose(utgu)) * s[..., None, :]
        if g_vh is not None:
            vtgv = P.matmul(vh, matrix_transpose(g_vh))
            inner = inner + s[..., :, None] * (f * (vtgv - matrix_transpose(vtgv)))
        g_a = P.matmul(P.matmul(u, inner), vh)
        if g_u is not None and m > k:          # the part of gU outside U's columns
            g_a = g_a + P.matmul((g_u - P.matmul(u, utgu)) / s[..., None, :], vh)
        if g_vh is not None and n > k:         # the part of gVh outside Vh's rows
            g_a = g_a + P.matmul(u, (g_vh - P.matmul(matrix_transpose(vtgv), vh)) / s[..., :, None])
        return g_a


def eye_like(s, k):
    """A k x k boolean identity on s's device (a constant Tensor when s is one)."""
    from ..backend import of_array
    if isinstance(s, Tensor):
        return Tensor._make(s._backend.xp.eye(k, dtype=bool), s._backend)
    return of_array(s).xp.eye(k, dtype=bool)


def nuclear_norm(x, dim=None, keepdim=False):
    """norm(p='nuc'): the sum of the singular values of the matrices over the
    two dims `dim` (by default those of a 2-d x)."""
    from ._util import wrap_dims, keepdim_shape
    if x.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    dims = wrap_dims(tuple(range(x.ndim)) if dim is None else dim, x.ndim, "norm")
    if len(dims) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(map(str, dims))}")
    kind = x._data.dtype.kind
    if kind != "f":
        raise RuntimeError(f"linalg.matrix_norm: Expected a floating point or complex tensor as input. "
                           f"Got {x.dtype.libtorch}")
    if x._data.dtype.itemsize < 4:
        raise RuntimeError(f"linalg.matrix_norm: Low precision dtypes not supported. Got {x.dtype.libtorch}")
    rest = [d for d in range(x.ndim) if d not in dims]
    a = x.permute(*rest, *dims) if dims != (x.ndim - 2, x.ndim - 1) else x
    try:
        out = Svd.apply1(a)[1].sum(-1)
    except RuntimeError as e:
        raise RuntimeError(f"linalg.matrix_norm: {e}") from None
    return out.reshape(keepdim_shape(x.shape, dims)) if keepdim else out
