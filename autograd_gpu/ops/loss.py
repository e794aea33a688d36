"""Losses as single nodes, as libtorch records them: `mse_loss` is one
MseLossBackward0, `nll_loss` one NllLossBackward0 (cross_entropy is
LogSoftmaxBackward0 then NllLossBackward0). One node instead of the five to
twelve small ops of the composed formula is most of a classifier's loss cost.

`nn.functional` checks the arguments (shapes, dtypes, devices, target range)
and lays the scores out as (C,) or (M, C); these ops only do the math. Their
backward formulas are primitives, so they also run on Tensors and
`create_graph=True` differentiates them again."""
import numpy as np

from ..autograd.op import Op
from ..tensor import Tensor
from . import blocked
from . import prims as P
from .tied import tie_gradient

_int64 = np.dtype(np.int64)


class MseLoss(Op):
    """(input - target) ** 2, reduced; target broadcasts against input (the
    engine sums each gradient back to its operand's shape)."""
    _name, op_name, promotes = "MseLossBackward0", "mse_loss", True
    save_inputs = (0, 1)

    def forward(self, x, t, reduction):
        self.reduction = reduction
        sq = P.square(P.sub(x, t))
        self.count = sq.size
        return _reduced(sq, reduction)

    def backward(self, g, x, t):
        # mse_loss_backward: norm * (input - target) * grad, norm = 2 / numel for the mean
        norm = 2.0 / self.count if self.reduction == "mean" and self.count else 2.0
        gx = P.mul(P.mul(P.sub(x, t), norm), g)
        return gx, (P.neg(gx) if self.needs(1) else None)

    @staticmethod
    def jvp(y, inputs, tangents, reduction):
        # PyTorch's forward formula, the tangents' terms reduced as the loss (the mean of none: NaN)
        (x, t), (tx, tt) = inputs, tangents
        return _reduced(2 * (x - t) * (tx - tt), reduction)


def _times(d, g):
    """d * g for a derivative d the loss just made (a fresh array): into d where it is a NumPy array
    and g a number or array of its type and shape (one full-size array less)."""
    if type(d) is np.ndarray and getattr(g, "dtype", None) == d.dtype and np.shape(g) in ((), d.shape):
        return np.multiply(d, g, out=d)
    return d * g


def _reduced(loss, reduction):
    """The elementwise loss reduced (arrays, or Tensors)."""
    if reduction == "mean":
        return P.mean(loss, None, False)
    return P.sum(loss, None, False) if reduction == "sum" else loss


class _PointwiseLoss(Op):
    """A loss of input x and target t elementwise, reduced, as one node saving both (PyTorch's
    SmoothL1LossBackward0, HuberLossBackward0, SoftMarginLossBackward0). `k` is beta, delta or None; the
    result takes `dtype` (huber's and soft_margin's: the input's). Subclasses give the loss and its
    derivative in x, both of arrays or Tensors."""
    promotes = True
    save_inputs = (0, 1)
    target_differentiable = True
    dloss_one_pass = False          # (else the derivative of large NumPy arrays is taken a chunk at a time)

    def forward(self, x, t, reduction, k, dtype):
        self.reduction, self.k = reduction, k
        # reduced: on large arrays summed a chunk at a time, no full-size array of losses
        summed = None if reduction == "none" else blocked.sum_in_chunks(self.loss, x, t, k)
        if summed is not None:
            total, self.count = summed
            loss = total / self.count if reduction == "mean" else total
        else:
            elementwise = self.loss(x, t, k)
            self.count = elementwise.size        # (the broadcast size)
            loss = _reduced(elementwise, reduction)
        return loss if loss.dtype == dtype else loss.astype(dtype)

    def backward(self, g, x, t):
        if self.reduction == "mean":
            g = g / self.count if self.count else g
        dloss = self.dloss if self.dloss_one_pass else blocked.in_chunks(self.dloss)
        gx = _times(dloss(x, t, self.k), g)
        return gx, (P.neg(gx) if self.target_differentiable and self.needs(1) else None)

    @classmethod
    def jvp(cls, y, inputs, tangents, reduction, k, dtype):
        # the derivative times the tangents, reduced as the loss (the mean of none: NaN, as PyTorch's)
        (x, t), (tx, tt) = inputs, tangents
        return _reduced(cls.dloss(x, t, k) * ((tx - tt) if cls.target_differentiable else tx), reduction)


class SmoothL1Loss(_PointwiseLoss):
    """0.5 d^2 / beta where |d| < beta, |d| - beta / 2 elsewhere (d = x - t); its derivative d / beta or
    sign(d): at |d| == beta the sign, so the second derivative there is 0, as PyTorch's double backward."""
    _name, op_name = "SmoothL1LossBackward0", "smooth_l1_loss"
    dloss_one_pass = True

    @staticmethod
    def loss(x, t, beta):
        d = P.sub(x, t)
        z = P.abs(d)
        return P.where(z < beta, d * d * (0.5 / beta), z - 0.5 * beta)

    @staticmethod
    def dloss(x, t, beta):
        d = P.sub(x, t)
        if type(d) is np.ndarray:       # (beta > 0: |d| >= beta gives |d / beta| >= 1) one pass, the same values
            return np.clip(np.divide(d, beta, out=d), -1, 1, out=d)
        return P.where(P.abs(d) < beta, d / beta, P.sign(d))


class HuberLoss(_PointwiseLoss):
    """0.5 d^2 where |d| < delta, delta (|d| - delta / 2) elsewhere; derivative d or delta sign(d)."""
    _name, op_name = "HuberLossBackward0", "huber_loss"
    dloss_one_pass = True

    @staticmethod
    def loss(x, t, delta):
        d = P.sub(x, t)
        z = P.abs(d)
        return P.where(z < delta, d * d * 0.5, (z - 0.5 * delta) * delta)

    @staticmethod
    def dloss(x, t, delta):
        d = P.sub(x, t)
        if type(d) is np.ndarray:       # d inside, +-delta outside, NaN as NaN: one pass, the same values
            return np.clip(d, -delta, delta, out=d)
        return P.where(P.abs(d) < delta, d, P.sign(d) * delta)


class SoftMarginLoss(_PointwiseLoss):
    """log(1 + exp(-t x)), PyTorch's formula (it overflows where PyTorch's does); no gradient to t."""
    _name, op_name = "SoftMarginLossBackward0", "soft_margin_loss"
    target_differentiable = False

    @staticmethod
    def loss(x, t, _):
        return P.log1p(P.exp(P.neg(P.mul(t, x))))

    @staticmethod
    def dloss(x, t, _):
        z = P.exp(P.neg(P.mul(t, x)))
        return P.neg(t) * z / (z + 1)


class BceWithLogitsLoss(_PointwiseLoss):
    """binary_cross_entropy_with_logits without weights: (1 - t) x - log_sigmoid(x), reduced, one
    primitive each way (a kernel each on the GPU); the gradients are PyTorch's, (sigmoid(x) - t) g
    for the input and -x g for the target."""
    _name, op_name = "BinaryCrossEntropyWithLogitsBackward0", "binary_cross_entropy_with_logits"

    @staticmethod
    def jvp(y, inputs, tangents, reduction, k, dtype):
        # PyTorch's forward formula, reduced as the loss (the mean of none: NaN, as PyTorch's)
        (x, t), (tx, tt) = inputs, tangents
        return _reduced((x.sigmoid() - t) * tx - x * tt, reduction)

    @staticmethod
    def loss(x, t, _):
        return P.bce_logits(x, t)

    def backward(self, g, x, t):
        if self.reduction == "mean":
            g = g / self.count if self.count else g
        return (P.bce_logits_bwd(g, x, t) if self.needs(0) else None,
                P.mul(P.neg(x), g) if self.needs(1) else None)


class NllLoss(Op):
    """-logp[i, target[i]] (times the target's class weight), reduced. logp is
    (C,) with a 0-d target or (M, C) with an (M,) target; target and weight
    are arrays (libtorch differentiates neither); ignore_index may be None."""
    _name, op_name = "NllLossBackward0", "nll_loss"
    save_inputs = (0,)                  # (as PyTorch's: a write to it before backward is a version error)
    total_weight = None

    def forward(self, logp, target, weight, ignore_index, reduction, xp):
        self.shape, self.reduction = logp.shape, reduction
        lp = logp.reshape(1, -1) if logp.ndim == 1 else logp
        m, c = lp.shape
        t = target.reshape(m)
        if t.dtype != _int64:
            t = t.astype(_int64)                     # (a uint8 target against ignore_index -100)
        self.rows = rows = xp.arange(m)
        valid = None if ignore_index is None else t != ignore_index
        self.valid = valid
        self.cols = t if valid is None else xp.where(valid, t, 0)    # ignored rows read class 0
        picked = lp[rows, self.cols] if c else xp.zeros(m, lp.dtype)   # (no class: every row ignored)
        w = None if weight is None else weight[self.cols]
        losses = P.neg(picked) if w is None else P.neg(P.mul(picked, w))
        if valid is not None:                       # ignored rows count 0, even against -inf scores
            losses = P.where(valid, losses, 0)
            if w is not None:
                w = P.where(valid, w, 0)
        self.w = w
        if reduction == "none":
            return losses.reshape(target.shape)
        total = P.sum(losses, None, False)
        if reduction == "sum":
            return total
        # the summed weight of the counted rows (their number, unweighted), kept for backward
        if w is not None:
            tw = P.sum(w, None, False)
        else:
            tw = m if valid is None else xp.count_nonzero(valid)
        self.total_weight = tw = xp.asarray(tw, lp.dtype)
        if w is None and valid is None and m:
            return P.div(total, tw)
        # no weight counted (every row ignored, or zero weights): 0/0, nan as PyTorch's
        with np.errstate(divide="ignore", invalid="ignore"):
            return P.div(total, tw)

    def backward(self, g, logp):
        # nll_loss_backward: grad_input[i, target[i]] = w[target[i]] * -(grad / total_weight) (the mean)
        w, valid, tw = self.w, self.valid, self.total_weight
        if isinstance(g, Tensor):                  # create_graph: the constants as Tensors
            w, valid, tw = (None if a is None else Tensor._make(a, g._backend) for a in (w, valid, tw))
            g = tie_gradient(g, (logp,), self._name, self.op_name)     # (PyTorch's: a node of the input too)
        m = self.rows.shape[0]
        if self.reduction == "mean":
            with np.errstate(divide="ignore", invalid="ignore"):
                s = P.neg(P.div(g, tw))
        else:
            s = P.neg(P.reshape(g, (m,)) if self.reduction == "none" else g)
        vals = s if w is None else P.mul(w, s)
        if valid is not None:
            vals = P.where(valid, vals, 0)           # ignored rows: exactly 0, whatever the grad
        elif w is None and isinstance(vals, Tensor):
            vals = P.expand(vals, (m,))              # (on arrays the one value is written to every row)
        gx = P.scatter_rows(vals, self.rows, self.cols, (m, self.shape[-1]))
        return P.reshape(gx, self.shape) if len(self.shape) == 1 else gx
