"""layer_norm, group_norm and batch_norm in training as one node each, as
libtorch records them (NativeLayerNormBackward0, NativeGroupNormBackward0,
NativeBatchNormBackward0).

A large norm's passes are memory-bound, and in NumPy every full-size
temporary is a fresh allocation whose page faults cost as much as its
arithmetic: the composites (mean, variance, difference, scale, weight, bias,
and twice as many backward) made some twenty of them and held several until
backward. Here the forward works in one buffer and keeps each row's mean and
rstd, and the backward, PyTorch's formulas, works in three. nn.functional
checks the arguments; float16 keeps the composites (their float32 widening)."""
import numpy as np

from ..autograd.op import Op
from ..tensor import Tensor
from . import prims as P
from .blocked import row_blocks
from .tied import tie_gradient


def takes_one_node(input, weight, bias):
    """Whether a norm's node applies: float32 or float64, not empty, the parameters in the input's
    dtype (elsewhere the caller's composite)."""
    return input.dtype.np.kind == "f" and input.dtype.np.itemsize >= 4 and input.numel() and all(
        t is None or t.dtype is input.dtype for t in (weight, bias))


def one_node_norm(cls, input, weight, bias, rows_shape, dims, eps, affine_shape, stats=None):
    """cls's node over input (and weight, bias where given), or None where it does not apply."""
    if not takes_one_node(input, weight, bias):
        return None
    wb = [t for t in (weight, bias) if t is not None]
    return cls.applyN([input] + wb, rows_shape, dims, float(eps), affine_shape, weight is not None,
                      bias is not None, stats)


def _row_standardize(x, rows_shape, dims, eps, weight=None, bias=None):
    """x's rows (its trailing dims, flattened) less their mean, times rstd = 1 / sqrt(var + eps), then
    times weight and plus bias where given ((n,), along the rows), a block of rows at a time; the
    biased variance by the corrected two-pass sums, as P.var's, the row sums and the sum of squared
    deviations matrix-vector products (BLAS: no squared temporary). Returns mean and rstd in
    rows_shape's reduced form, and the result rows."""
    n = int(np.prod(rows_shape[dims[0]:]))
    rows = x.reshape(-1, n)
    out = np.empty(rows.shape, x.dtype)
    mean, rstd = np.empty(rows.shape[0], x.dtype), np.empty(rows.shape[0], x.dtype)
    ones = np.ones(n, x.dtype)
    # (the mean by NumPy's pairwise sum, as accurate as PyTorch's cascade where a dot product's float32
    # accumulators lose digits to a mean far from 0; the deviations' sum, a correction, as a dot product
    # for rows of up to 8k)
    short = n <= 8192
    for block in row_blocks(rows.shape[0], n):
        xs, o = rows[block], out[block]
        m = np.add.reduce(xs, 1, out=mean[block])
        m /= n
        np.subtract(xs, m[:, None], out=o)
        s1 = o @ ones if short else np.add.reduce(o, 1)
        var = np.matmul(o[:, None, :], o[:, :, None]).reshape(-1)   # (np.vecdot: NumPy 2 only)
        s1 *= s1
        s1 /= n
        var -= s1
        np.maximum(var, 0, out=var)
        var /= n
        var += eps
        r = np.sqrt(var, out=rstd[block])
        np.divide(1, r, out=r)
        o *= r[:, None]
        if weight is not None:
            o *= weight
        if bias is not None:
            o += bias
    kept = rows_shape[:dims[0]] + (1,) * len(dims)
    return mean.reshape(kept), rstd.reshape(kept), out


class NativeLayerNorm(Op):
    """Rows of x (x viewed as `rows_shape`, each row its `dims`) standardised by their mean and
    biased variance (as var computes them, or given as `stats`), rstd = 1 / sqrt(var + eps), then, in x's shape,
    times the weight and plus the bias (both viewed as `affine_shape` against x): the composite's
    operations in its order. Inputs: x, then weight and bias where given. Backward, PyTorch's: x:
    rstd (g w - mean(g w) - xhat mean(g w xhat)) over each row; weight: sum(g xhat), bias: sum(g),
    over what they broadcast against. Under create_graph the same formulas in Tensor ops on the
    statistics recomputed from x, so they differentiate again; the bias's gradient, a function of g
    alone, is tied to x and the weight where PyTorch's is (layer_norm: its own derivative
    undefined), not for group_norm (PyTorch's stays a function of g)."""
    _name, op_name = "NativeLayerNormBackward0", "native_layer_norm"
    save_inputs = (0,)                  # (set per node in forward: which of x, weight, bias PyTorch saves)
    saves_bias = ties_bias = True

    def forward(self, x, *args):
        *wb, rows_shape, dims, eps, affine_shape, has_weight, has_bias, stats = args   # (weight, bias; attrs)
        self.save_inputs = tuple(range(1 + len(wb) - (has_bias and not self.saves_bias)))
        self.rows_shape, self.dims, self.eps, self.affine_shape = rows_shape, dims, eps, affine_shape
        self.has_weight, self.has_bias = has_weight, has_bias
        self.param_shape = wb[0].shape if wb else None      # (weight's and bias's: one shape)
        # (on NumPy, rows that are x's trailing dims are a matrix: the statistics by BLAS, below)
        by_rows = (type(x) is np.ndarray and stats is None and dims == tuple(range(dims[0], len(rows_shape))))
        # (a layer_norm's weight and bias lie along the rows: applied block by block there too)
        along = by_rows and affine_shape == tuple(rows_shape[dims[0]:])
        if by_rows:
            mean, rstd, out = _row_standardize(x, rows_shape, dims, eps, wb[0].reshape(-1) if has_weight and along
                                               else None, wb[-1].reshape(-1) if has_bias and along else None)
        else:
            rows = x.reshape(rows_shape)
            mean, var = stats if stats is not None else (P.mean(rows, dims, True), P.var(rows, dims, True, 0))
            rstd = P.rsqrt(P.add(var, eps))
            out = np.subtract(rows, mean)
            out *= rstd
        out = out.reshape(x.shape)
        if has_weight and not along:
            out *= wb[0].reshape(affine_shape)
        if has_bias and not along:
            out += wb[-1].reshape(affine_shape)
        self._aux = (mean, rstd)
        return out

    def backward(self, g, x, *wb):
        weight = wb[0] if self.has_weight else None
        if type(g) is Tensor:
            return self._backward_tensors(g, x, weight)
        mean, rstd = self._aux
        dims = self.dims
        if type(x) is np.ndarray:           # (PyTorch's CPU form, by each norm's layout: below)
            return self._numpy_backward(g, x, weight, mean, rstd)
        xhat = np.subtract(x.reshape(self.rows_shape), mean)
        xhat *= rstd
        xhat = xhat.reshape(x.shape)
        spare = None                    # (one more full-size buffer, reused for g w xhat)
        grads = [None]
        if self.has_weight:
            if self.needs(1):
                spare = np.multiply(g, xhat)
                grads.append(self._sum_to_parameter(spare))
            else:
                grads.append(None)
        if self.has_bias:
            grads.append(self._sum_to_parameter(g) if self.needs(len(grads)) else None)
        if self.needs(0):
            gw = np.multiply(g, weight.reshape(self.affine_shape)) if weight is not None else g.copy()
            gw = gw.reshape(self.rows_shape)
            xhat = xhat.reshape(self.rows_shape)
            m1 = P.mean(gw, dims, True)
            gwx = np.multiply(gw, xhat, out=spare.reshape(self.rows_shape)) if spare is not None else gw * xhat
            m2 = P.mean(gwx, dims, True)
            gw -= m1
            xhat *= m2
            gw -= xhat
            gw *= rstd
            grads[0] = gw.reshape(x.shape)
        return tuple(grads)

    def _numpy_backward(self, g, x, weight, mean, rstd):
        """layer_norm's backward on NumPy, x and g as (rows, n) matrices, PyTorch's CPU form, a block
        of rows at a time (blocked.py): dx = rstd g w + b x + c per row, whose row sums sum(g w)
        and sum(g w (x - mean)) are matrix-vector products (BLAS), as is the weight's column sum of
        g (x - mean) rstd. One full-size buffer, dx, and a block's."""
        n = int(np.prod(self.rows_shape[self.dims[0]:]))
        rows, g = x.reshape(-1, n), g.reshape(-1, n)   # (g keeps its strides: zero where expanded from sum)
        mean, rstd = mean.reshape(-1), rstd.reshape(-1)
        ones = np.ones(n, x.dtype)
        w = weight.reshape(n) if weight is not None else ones
        need_x, need_weight = self.needs(0), self.has_weight and self.needs(1)
        dx = np.empty(rows.shape, x.dtype) if need_x else None
        dw = np.zeros(n, x.dtype) if need_weight else None
        blocks = row_blocks(rows.shape[0], n) if need_x or need_weight else []
        spare = np.empty((min(blocks[0].stop, rows.shape[0]), n), x.dtype) if blocks else None   # (a block's)
        for block in blocks:
            xs, gs, ms, rs = rows[block], g[block], mean[block], rstd[block]
            centred_g = np.subtract(xs, ms[:, None], out=spare[:xs.shape[0]])       # (x - mean) g
            centred_g *= gs
            if need_weight:
                dw += rs @ centred_g
            if need_x:
                d = np.multiply(gs, w, out=dx[block])
                sum_gw, sum_gwc = d @ ones, centred_g @ w
                b = rs ** 3 * sum_gwc / -n              # (PyTorch's b x + c: of the order of the forward's own error)
                d *= rs[:, None]
                d += np.multiply(xs, b[:, None], out=centred_g)
                d -= (b * ms + rs * sum_gw / n)[:, None]
        grads = [None]
        if self.has_weight:
            grads.append(dw.reshape(self.param_shape) if need_weight else None)
        if self.has_bias:
            grads.append(np.add.reduce(g, 0).reshape(self.param_shape) if self.needs(len(grads)) else None)
        grads[0] = dx.reshape(x.shape) if need_x else None
        return tuple(grads)

    def _sum_to_parameter(self, t):
        """t (x's shape) summed over the dims a parameter viewed as affine_shape broadcasts along."""
        lead = t.ndim - len(self.affine_shape)
        axes = tuple(i for i in range(t.ndim) if i < lead or self.affine_shape[i - lead] == 1)
        summed = P.sum(t, axes, True) if axes else (t.copy() if type(t) is not Tensor else t)
        return summed.reshape(self.param_shape)

    def _backward_tensors(self, g, x, weight):
        rows = x.reshape(self.rows_shape)
        dims = self.dims
        mean = rows.mean(dims, keepdim=True)
        rstd = (rows.var(dims, correction=0, keepdim=True) + self.eps).rsqrt()
        xhat = ((rows - mean) * rstd).reshape(x.shape)
        grads = [None]
        if self.has_weight:
            grads.append(self._sum_to_parameter(g * xhat) if self.needs(1) else None)
        if self.has_bias:
            if self.needs(len(grads)):
                gb = self._sum_to_parameter(g)
                grads.append(tie_gradient(gb, (x,) if weight is None else (x, weight), self._name, self.op_name)
                             if self.ties_bias else gb)
            else:
                grads.append(None)
        if self.needs(0):
            gw = (g * weight.reshape(self.affine_shape) if weight is not None else g).reshape(self.rows_shape)
            xhat = xhat.reshape(self.rows_shape)
            grads[0] = ((gw - gw.mean(dims, keepdim=True) - xhat * (gw * xhat).mean(dims, keepdim=True))
                        * rstd).reshape(x.shape)
        return tuple(grads)


class NativeGroupNorm(NativeLayerNorm):
    """group_norm: rows (N, G, C / G * spatial), the parameters per channel; PyTorch's node saves
    the input and the weight, not the bias."""
    _name, op_name = "NativeGroupNormBackward0", "native_group_norm"
    saves_bias = ties_bias = False

    def _numpy_backward(self, g, x, weight, mean, rstd):
        """group_norm's backward on NumPy, x and g as (N, G, C / G, S), PyTorch's CPU form: per sample
        and channel the sums of g and of g x (einsum's, also over an expanded g), then per group
        dx = g rstd w + b x + c; the weight's gradient from the channel sums (PyTorch's
        sum(g x) - mean sum(g), times rstd). Six full-size passes and two buffers."""
        n, groups, _ = self.rows_shape
        channels = self.affine_shape[1]
        rows, g = x.reshape(n, groups, channels // groups, -1), g.reshape(n, groups, channels // groups, -1)
        count = rows.shape[2] * rows.shape[3]
        mean, rstd = mean.reshape(n, groups, 1), rstd.reshape(n, groups, 1)
        sum_gx = np.einsum("ngcs,ngcs->ngc", g, rows)
        sum_g = np.add.reduce(g, 3)
        grads = [None]
        if self.has_weight:
            grads.append(np.add.reduce((sum_gx - sum_g * mean) * rstd, 0).reshape(self.param_shape)
                         if self.needs(1) else None)
        if self.has_bias:
            grads.append(np.add.reduce(sum_g, 0).reshape(self.param_shape) if self.needs(len(grads)) else None)
        if self.needs(0):
            w = weight.reshape(1, groups, -1) if weight is not None else np.ones((1, groups, 1), x.dtype)
            sum_gw, sum_gwx = np.add.reduce(sum_g * w, 2, keepdims=True), np.add.reduce(sum_gx * w, 2, keepdims=True)
            b = (sum_gw * mean - sum_gwx) * rstd ** 3 / count
            c = -b * mean - sum_gw * rstd / count
            dx = np.multiply(g, (rstd * w)[..., None])
            dx += np.multiply(rows, b[..., None])
            dx += c[..., None]
            grads[0] = dx.reshape(x.shape)
        return tuple(grads)


class NativeBatchNorm(NativeLayerNorm):
    """batch_norm in training: rows (N, C, spatial) normalised over dims (0, 2), one row per channel,
    the batch's statistics given (the running ones are updated from them outside); PyTorch's node
    saves the input and the weight, and ties the bias's create_graph gradient."""
    _name, op_name = "NativeBatchNormBackward0", "native_batch_norm"
    saves_bias = False

    def _numpy_backward(self, g, x, weight, mean, rstd):
        """batch_norm's backward on NumPy, x and g as (N, C, S), PyTorch's CPU form: per channel the
        sums of g and of g (x - mean) (one pass each: einsum's, also over an expanded g), then
        dx = g k1 + (x - mean) k2 + k3; seven full-size passes and two buffers where the general
        form takes thirteen and three."""
        n, c, s = self.rows_shape
        count = n * s
        rows, g = x.reshape(n, c, s), g.reshape(n, c, s)
        mean, rstd = mean.reshape(1, c, 1), rstd.reshape(c)
        sum_g = np.add.reduce(g, (0, 2))
        centred = np.subtract(rows, mean)
        dot = np.einsum("ncs,ncs->c", centred, g)       # sum of g (x - mean) per channel
        grads = [None]
        if self.has_weight:
            grads.append((dot * rstd).reshape(self.param_shape) if self.needs(1) else None)
        if self.has_bias:
            grads.append(sum_g.reshape(self.param_shape) if self.needs(len(grads)) else None)
        if self.needs(0):
            scale = rstd * weight.reshape(c) if weight is not None else rstd
            dx = np.multiply(g, scale[None, :, None])
            centred *= (dot * rstd * rstd * scale / -count)[None, :, None]
            dx += centred
            dx -= (sum_g * scale / count)[None, :, None]
            grads[0] = dx.reshape(x.shape)
        return tuple(grads)
