"""layer_norm as one node, as libtorch records it (NativeLayerNormBackward0).

A large norm's passes are memory-bound, and in NumPy every full-size
temporary is a fresh allocation whose page faults cost as much as its
arithmetic: the composite (mean, variance, difference, scale, weight, bias,
and twice as many backward) made some twenty of them. Here the forward works
in one buffer and the backward in three, with PyTorch's formulas.
nn.functional checks the arguments; float16 keeps the composite (its
float32 widening)."""
import numpy as np

from ..autograd.op import Op
from ..tensor import Tensor
from . import prims as P
from .tied import tie_gradient


class NativeLayerNorm(Op):
    """(x - mean) * rstd * weight + bias over each row of the last `n` dims (mean and biased
    variance as var computes them, rstd = 1 / sqrt(var + eps), the composite's operations in its
    order). Inputs: x, then weight and bias where given (has_weight, has_bias). Backward, PyTorch's:
    x: rstd (g w - mean(g w) - xhat mean(g w xhat)), weight: sum(g xhat), bias: sum(g), over the
    rows. Under create_graph the same formulas in Tensor ops on the statistics recomputed from x, so
    they differentiate again; the bias's gradient, a function of g alone, is tied to x and the
    weight (its own derivative undefined, as PyTorch's)."""
    _name, op_name = "NativeLayerNormBackward0", "native_layer_norm"
    save_inputs = (0,)                  # (all the inputs: set per node in forward)

    def forward(self, x, *args):
        *wb, n, eps, has_weight, has_bias = args              # (the weight and bias arrays, then the attrs)
        self.save_inputs = tuple(range(1 + len(wb)))
        self.n, self.eps, self.has_weight, self.has_bias = n, eps, has_weight, has_bias
        dims = tuple(range(x.ndim - n, x.ndim))
        mean = P.mean(x, dims, True)
        rstd = P.rsqrt(P.add(P.var(x, dims, True, 0), eps))
        out = np.subtract(x, mean)
        out *= rstd
        if has_weight:
            out *= wb[0]
        if has_bias:
            out += wb[-1]
        self._aux = (mean, rstd)
        return out

    def backward(self, g, x, *wb):
        weight = wb[0] if self.has_weight else None
        if type(g) is Tensor:
            return self._backward_tensors(g, x, weight)
        mean, rstd = self._aux
        dims = tuple(range(x.ndim - self.n, x.ndim))
        rows = tuple(range(x.ndim - self.n))
        xhat = np.subtract(x, mean)
        xhat *= rstd
        spare = None                    # (one more full-size buffer, reused for g w xhat)
        grads = [None]
        if self.has_weight:
            if self.needs(1):
                spare = np.multiply(g, xhat)
                grads.append(P.sum(spare, rows, False) if rows else spare.copy())
            else:
                grads.append(None)
        if self.has_bias:
            grads.append((P.sum(g, rows, False) if rows else g.copy()) if self.needs(len(grads))
                         else None)
        if self.needs(0):
            gw = np.multiply(g, weight) if weight is not None else g.copy()
            m1 = P.mean(gw, dims, True)
            m2 = P.mean(np.multiply(gw, xhat, out=spare) if spare is not None else np.multiply(gw, xhat), dims, True)
            gw -= m1
            xhat *= m2
            gw -= xhat
            gw *= rstd
            grads[0] = gw
        return tuple(grads)

    def _backward_tensors(self, g, x, weight):
        dims = tuple(range(x.ndim - self.n, x.ndim))
        rows = tuple(range(x.ndim - self.n))
        mean = x.mean(dims, keepdim=True)
        rstd = (x.var(dims, correction=0, keepdim=True) + self.eps).rsqrt()
        xhat = (x - mean) * rstd
        over_rows = (lambda t: t.sum(rows)) if rows else (lambda t: t)     # (sum(()) would sum everything)
        grads = [None]
        if self.has_weight:
            grads.append(over_rows(g * xhat) if self.needs(1) else None)
        if self.has_bias:
            gb = over_rows(g)
            grads.append(tie_gradient(gb, (x,) if weight is None else (x, weight), self._name, self.op_name)
                         if self.needs(len(grads)) else None)
        if self.needs(0):
            gw = g * weight if weight is not None else g
            grads[0] = (gw - gw.mean(dims, keepdim=True) - xhat * (gw * xhat).mean(dims, keepdim=True)) * rstd
        return tuple(grads)
