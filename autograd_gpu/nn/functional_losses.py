"""ag.nn.functional's losses beyond mse_loss, nll_loss and cross_entropy
(re-exported by functional.py), and the distances they use
(cosine_similarity, pairwise_distance).

Each is composed of public Tensor ops (gradients, create_graph and the CUDA
path come with them); binary_cross_entropy alone is a custom Function, for
PyTorch's gradient where the input is exactly 0 or 1, and ctc_loss one node
whose recursions run on arrays (its create_graph gradient is the Tensor-op
recursion's). Arguments are checked before any computation; errors name the
function."""
import math

import numpy as np

from .. import _dtype
from ..autograd.function import Function
from ..autograd.grad_mode import enable_grad, is_grad_enabled, no_grad
from ..autograd.op import Op
from ..ops import prims as P
from ..ops._util import broadcastable
from ..ops.loss import BceWithLogitsLoss, HuberLoss, SmoothL1Loss, SoftMarginLoss
from ..ops.pointwise import where
from ..ops.shape import cat, stack
from ..ops.products import inf_distance
from ..ops.tied import as_one_node
from ..tensor import Tensor
from .functional import _check_reduction, _legacy_reduction, _reduce, _same_device, _tensor_arg
from ..amp import cast_at_entry
from .._warn import warn_at_caller

__all__ = ["l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
           "kl_div", "soft_margin_loss", "margin_ranking_loss", "hinge_embedding_loss", "cosine_embedding_loss",
           "cosine_similarity", "pairwise_distance", "gaussian_nll_loss", "poisson_nll_loss",
           "multilabel_soft_margin_loss", "triplet_margin_loss", "multi_margin_loss", "multilabel_margin_loss",
           "triplet_margin_with_distance_loss", "ctc_loss", "pdist"]


# ---- argument checks -----------------------------------------------------------------------

def _tensors(fn, **named):
    """Each named argument (None skipped) is a Tensor, all on one device."""
    first = None
    for name, t in named.items():
        if t is None:
            continue
        _tensor_arg(t, fn, name)
        if first is None:
            first = (name, t)
        else:
            _same_device(fn, first[1], t, first[0], name)


def _broadcast(fn, **named):
    """The shapes broadcast together, else a RuntimeError naming them."""
    shapes = {n: tuple(t.shape) for n, t in named.items() if t is not None}
    if not broadcastable(*shapes.values()):
        desc = ", ".join(f"{n} {list(s)}" for n, s in shapes.items())
        raise RuntimeError(f"{fn}: the sizes of {desc} do not match and cannot be broadcast")


def _pointwise_args(fn, input, target, reduction, warn=True):
    """input and target Tensors on one device whose shapes broadcast (with
    PyTorch's warning when they differ, for the regression losses)."""
    _tensor_arg(input, fn, "input")
    _tensor_arg(target, fn, "target")           # (required: _tensors skips a None)
    _tensors(fn, input=input, target=target)
    _check_reduction(reduction)
    if input.shape != target.shape:
        _broadcast(fn, input=input, target=target)
        if warn:
            warn_at_caller(f"Using a target size ({list(target.shape)}) that is different to the input size "
                           f"({list(input.shape)}). This will likely lead to incorrect results due to "
                           "broadcasting. Please ensure they have the same size.", UserWarning)


def _check_number(fn, name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{fn}(): argument '{name}' must be float, not {type(value).__name__}")
    return float(value)


def _weight_like_input(fn, weight, input):
    """l1_loss / huber_loss: the weight must have the input's shape."""
    if weight is not None and weight.shape != input.shape:
        raise ValueError(f"{fn}: Weights and input must have the same size (weight {list(weight.shape)}, input "
                         f"{list(input.shape)}).")


def _weighted(loss, weight, reduction, mean_by_weight):
    if weight is None:
        return _reduce(loss, reduction)
    loss = loss * weight
    if reduction == "mean" and mean_by_weight:
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction)


def _not_differentiable(fn, **named):
    """PyTorch refuses, rather than ignore, these arguments requiring grad."""
    if not is_grad_enabled():
        return
    for name, t in named.items():
        if t is not None and t.requires_grad:
            raise RuntimeError(f"The function '{fn}' is not differentiable with respect to argument '{name}'. "
                               "This input cannot have requires_grad True.")


def _floating(fn, t, what="input"):
    if not t.is_floating_point():
        raise RuntimeError(f"{fn}: expected a floating point {what}, got {t.dtype.libtorch}")


# ---- regression losses ---------------------------------------------------------------------

@cast_at_entry
def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """|input - target|, reduced; with `weight` (input's shape) the 'mean' is
    divided by weight.sum(), as PyTorch."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _pointwise_args("l1_loss", input, target, reduction)
    _tensors("l1_loss", input=input, weight=weight)
    _weight_like_input("l1_loss", weight, input)
    return _weighted((input - target).abs(), weight, reduction, True)


@cast_at_entry
def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """0.5 d^2 / beta where |d| < beta, |d| - beta / 2 elsewhere (d = input - target);
    beta = 0 is l1_loss."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _pointwise_args("smooth_l1_loss", input, target, reduction)
    beta = _check_number("smooth_l1_loss", "beta", beta)
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss does not support negative values for beta (got {beta}).")
    if not input.is_floating_point():
        raise NotImplementedError(f"smooth_l1_loss: \"smooth_l1\" not implemented for '{input.dtype.libtorch}'")
    if beta == 0:
        return _reduce((input - target).abs(), reduction)
    return SmoothL1Loss.apply2(input, target, reduction, beta, _dtype.promote_pair(input.dtype, target.dtype).np)


@cast_at_entry
def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """0.5 d^2 where |d| < delta, delta (|d| - delta / 2) elsewhere; with
    `weight` (input's shape) multiplied in before an ordinary mean."""
    _pointwise_args("huber_loss", input, target, reduction)
    delta = _check_number("huber_loss", "delta", delta)
    if not delta > 0:
        raise RuntimeError(f"huber_loss does not support non-positive values for delta (got {delta}).")
    _tensors("huber_loss", input=input, weight=weight)
    _weight_like_input("huber_loss", weight, input)
    if not input.is_floating_point():
        raise NotImplementedError(f"huber_loss: \"huber\" not implemented for '{input.dtype.libtorch}'")
    if weight is None:
        return HuberLoss.apply2(input, target, reduction, delta, input._data.dtype)
    return _weighted(HuberLoss.apply2(input, target, "none", delta, input._data.dtype), weight, reduction, False)


# ---- binary cross-entropy --------------------------------------------------------------------

class _BinaryCrossEntropy(Function):
    """-w (t log x + (1 - t) log(1 - x)), each log clamped at -100; backward
    is PyTorch's, w (x - t) / max(x (1 - x), 1e-12), finite at x = 0 and 1
    (the clamped logs' own derivative is not). Its formulas are Tensor ops,
    so under create_graph they are differentiated in turn."""
    jvp_from_backward = True

    @staticmethod
    def forward(ctx, input, target, weight):
        ctx.save_for_backward(input, target, weight)
        loss = -(target * input.log().clamp(min=-100) + (1 - target) * (-input).log1p().clamp(min=-100))
        return loss if weight is None else loss * weight

    @staticmethod
    def backward(ctx, grad):
        x, t, w = ctx.saved_tensors
        if w is not None:
            grad = grad * w
        gx = gt = None
        if ctx.needs_input_grad[0]:
            gx = grad * (x - t) / (x * (1 - x)).clamp(min=1e-12)
        if ctx.needs_input_grad[1]:
            gt = grad * ((-x).log1p() - x.log())
        return gx, gt, None


def _check_probabilities(fn, t, what):
    """Every element in [0, 1] (NaN fails, as in PyTorch); one host sync on cuda."""
    with no_grad():
        bad = ((t >= 0) & (t <= 1)).logical_not().any()
    if bool(bad.item()):
        raise RuntimeError(f"{fn}: all elements of {what} should be between 0 and 1")


def _check_weight_broadcasts(fn, weight, input, what="weight"):
    """A weight that broadcasts to the input's shape (not beyond it)."""
    if weight is None:
        return
    if not broadcastable(tuple(weight.shape), tuple(input.shape)) or _bshape(weight, input) != tuple(input.shape):
        raise RuntimeError(f"{fn}: {what} of shape {list(weight.shape)} does not broadcast to the input's shape "
                           f"{list(input.shape)}")


def _bshape(a, b):
    return tuple(np.broadcast_shapes(tuple(a.shape), tuple(b.shape)))


@cast_at_entry
def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """Binary cross-entropy of probabilities `input` against `target` in [0, 1]
    (same shape); `weight` broadcasts to it. Logs are clamped at -100, as PyTorch."""
    fn = "binary_cross_entropy"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _tensors(fn, input=input, target=target, weight=weight)
    _check_reduction(reduction)
    if target.shape != input.shape:
        raise ValueError(f"{fn}: Using a target size ({list(target.shape)}) that is different to the input size "
                         f"({list(input.shape)}) is deprecated. Please ensure they have the same size.")
    _floating(fn, input)
    for name, t in (("target", target), ("weight", weight)):
        if t is not None and t.dtype is not input.dtype:
            raise RuntimeError(f"{fn}: Found dtype {t.dtype.libtorch} but expected {input.dtype.libtorch} "
                               f"(the {name}'s dtype must be the input's)")
    _check_weight_broadcasts(fn, weight, input)
    _check_probabilities(fn, input, "input")
    _check_probabilities(fn, target, "target")
    _not_differentiable(fn, weight=weight)
    return as_one_node(_reduce(_BinaryCrossEntropy.apply(input, target, weight), reduction),
                       "BinaryCrossEntropyBackward0", fn, (input, target, weight))


def _log_sigmoid(x):
    """log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)), no overflow; |x| is
    written as a where so that its derivative at 0 is +-1, not sign(0) = 0
    (which would give log_sigmoid'(0) = 0 instead of 1/2)."""
    neg = x < 0
    return where(neg, x, 0.0) - where(neg, x, -x).exp().log1p()


@cast_at_entry
def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """Binary cross-entropy of logits, (1 - t) x - (1 + (pos_weight - 1) t) log_sigmoid(x),
    the stable form; `weight` and `pos_weight` broadcast to the input's shape."""
    fn = "binary_cross_entropy_with_logits"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _tensors(fn, input=input, target=target, weight=weight, pos_weight=pos_weight)
    _check_reduction(reduction)
    if target.shape != input.shape:
        raise ValueError(f"{fn}: Target size ({list(target.shape)}) must be the same as input size "
                         f"({list(input.shape)})")
    _floating(fn, input)
    _floating(fn, target, "target")
    _check_weight_broadcasts(fn, weight, input)
    _check_weight_broadcasts(fn, pos_weight, input, "pos_weight")
    _not_differentiable(fn, weight=weight, pos_weight=pos_weight)
    if weight is None and pos_weight is None and target.dtype is input.dtype and input.dtype in _ONE_NODE_DTYPES:
        return BceWithLogitsLoss.apply2(input, target, reduction, None, input._data.dtype)
    log_sig = _log_sigmoid(input)
    if pos_weight is not None:
        log_sig = log_sig * ((pos_weight - 1) * target + 1)
    loss = (1 - target) * input - log_sig
    return as_one_node(_reduce(loss if weight is None else loss * weight, reduction),
                       "BinaryCrossEntropyWithLogitsBackward0", fn, (input, target, weight, pos_weight))


_ONE_NODE_DTYPES = (_dtype.float32, _dtype.float64)       # (float16: the composite's per-op rounding, PyTorch's)


# ---- divergences and margins -------------------------------------------------------------------

@cast_at_entry
def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """KL divergence of `target` from log-probabilities `input`: target (log
    target - input), or exp(target) (target - input) with log_target.
    'batchmean' divides the sum by the batch size (PyTorch warns for 'mean')."""
    fn = "kl_div"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _tensors(fn, input=input, target=target)
    if reduction == "mean":
        warn_at_caller("reduction: 'mean' divides the total loss by both the batch size and the support size."
                       "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                       "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                       UserWarning)
    if reduction != "batchmean":
        _check_reduction(reduction)
    if not (input.is_floating_point() and target.is_floating_point()):
        raise RuntimeError(f"kl_div: Integral inputs not supported (input {input.dtype.libtorch}, target "
                           f"{target.dtype.libtorch}).")
    _broadcast(fn, input=input, target=target)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = target.xlogy(target) - target * input
    if reduction != "batchmean":
        return _reduce(loss, reduction)
    total = loss.sum()
    return total / input.shape[0] if input.dim() else total


@cast_at_entry
def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """log(1 + exp(-target * input)), PyTorch's formula (it overflows where PyTorch's does)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _pointwise_args("soft_margin_loss", input, target, reduction, warn=False)
    _not_differentiable("soft_margin_loss", target=target)
    if not input.is_floating_point():
        return _reduce((-target * input).exp().log1p(), reduction)
    return SoftMarginLoss.apply2(input, target, reduction, None, input._data.dtype)    # (the input's dtype)


@cast_at_entry
def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    """max(0, -target (input1 - input2) + margin); the three have one number of dims."""
    fn = "margin_ranking_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _tensors(fn, input1=input1, input2=input2, target=target)
    _check_reduction(reduction)
    if not input1.dim() == input2.dim() == target.dim():
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
                           f"input1: {list(input1.shape)}, input2: {list(input2.shape)}, target: "
                           f"{list(target.shape)}")
    _broadcast(fn, input1=input1, input2=input2, target=target)
    margin = _check_number(fn, "margin", margin)
    return _reduce((-target * (input1 - input2) + margin).clamp_min(0), reduction)


@cast_at_entry
def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"):
    """input where target != -1, plus max(0, margin - input) where target != 1."""
    fn = "hinge_embedding_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _pointwise_args(fn, input, target, reduction, warn=False)
    margin = _check_number(fn, "margin", margin)
    return _reduce(where(target != 1, (margin - input).clamp_min(0), 0.0) + where(target != -1, input, 0.0),
                   reduction)


@cast_at_entry
def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    """1 - cos(input1, input2) where target == 1, max(0, cos - margin) where
    target == -1; inputs (D,) with a 0-d target or (N, D) with an (N,) target."""
    fn = "cosine_embedding_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _tensors(fn, input1=input1, input2=input2, target=target)
    _check_reduction(reduction)
    margin = _check_number(fn, "margin", margin)
    tdim = target.dim()
    if tdim > 1:
        raise RuntimeError(f"{fn}: 0D or 1D target tensor expected, multi-target not supported (target shape "
                           f"{list(target.shape)})")
    if input1.dim() != tdim + 1 or input2.dim() != tdim + 1:
        raise RuntimeError(f"{fn}: {tdim}D target tensor expects {tdim + 1}D input tensors, but found inputs with "
                           f"sizes {list(input1.shape)} and {list(input2.shape)}.")
    _broadcast(fn, input1=input1, input2=input2)
    batch = _bshape(input1, input2)[:tdim]
    if not broadcastable(tuple(batch), tuple(target.shape)):
        raise RuntimeError(f"{fn}: the target's size {list(target.shape)} does not match the batch size "
                           f"{list(batch)} of the inputs")
    eps = 1e-12             # PyTorch's, added to each squared magnitude
    prod = (input1 * input2).sum(tdim)
    mag = ((input1 * input1).sum(tdim) + eps) * ((input2 * input2).sum(tdim) + eps)
    cos = prod / mag.sqrt()
    loss = where(target == 1, 1 - cos, 0.0) + where(target == -1, (cos - margin).clamp_min(0), 0.0)
    return _reduce(loss, reduction)


# ---- distances ---------------------------------------------------------------------------------

class _ClampMinStraight(Function):
    """max(x, eps) whose gradient is the identity: PyTorch clamps these norms
    and variances in place under no_grad, so its gradient ignores the clamp."""
    jvp_from_backward = True

    @staticmethod
    def forward(ctx, x, eps):
        return x.clamp(min=eps)

    @staticmethod
    def backward(ctx, grad):
        return grad, None


def _check_dim(fn, dim, ndim):
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"{fn}(): argument 'dim' must be int, not {type(dim).__name__}")
    lo, hi = -max(ndim, 1), max(ndim, 1) - 1
    if not lo <= dim <= hi:
        raise IndexError(f"{fn}: Dimension out of range (expected to be in range of [{lo}, {hi}], but got {dim})")


@cast_at_entry
def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """Sum over `dim` of (x1 / max(|x1|, eps)) * (x2 / max(|x2|, eps)), the
    inputs broadcast together (PyTorch's normalise-first form)."""
    fn = "cosine_similarity"
    _tensors(fn, x1=x1, x2=x2)
    _broadcast(fn, x1=x1, x2=x2)
    if not (x1.is_floating_point() or x2.is_floating_point()):
        raise RuntimeError(f"{fn}: expected common dtype to be floating point, yet common dtype is "
                           f"{x1.dtype.libtorch} / {x2.dtype.libtorch}")
    eps = _check_number(fn, "eps", eps)
    if eps < 0:
        raise RuntimeError(f"{fn}: eps must be non-negative, got: {eps:g}")
    shape = _bshape(x1, x2)
    _check_dim(fn, dim, len(shape))
    x1, x2 = x1.broadcast_to(shape), x2.broadcast_to(shape)
    n1 = _ClampMinStraight.apply(x1.norm(2, dim, keepdim=True), eps)
    n2 = _ClampMinStraight.apply(x2.norm(2, dim, keepdim=True), eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """p-norm of x1 - x2 + eps over the last dimension."""
    fn = "pairwise_distance"
    _tensors(fn, x1=x1, x2=x2)
    _broadcast(fn, x1=x1, x2=x2)
    p = _check_number(fn, "p", p)
    eps = _check_number(fn, "eps", eps)
    return (x1 - x2 + eps).norm(p, max(x1.dim(), x2.dim()) - 1, keepdim=keepdim)


@cast_at_entry
def pdist(input, p=2):
    """The p-norm distances between the rows of input (N, M), for each pair
    i < j in row-major order: N (N - 1) / 2 values."""
    _tensor_arg(input, "pdist", "input")
    if input.dim() != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.dim()}D")
    _floating("pdist", input)
    p = _check_number("pdist", "p", p)
    if p < 0:
        raise RuntimeError(f"pdist only supports non-negative p values, got {p}")
    if (p == 2 and input.shape[0] > 1 and input.shape[1] and type(input._data) is np.ndarray
            and input._data.dtype in (np.float32, np.float64)):
        return Pdist2.apply1(input)
    return as_one_node(_pdist_composite(input, p), "PdistBackward0", "_pdist_forward", (input,))


def _pdist_composite(input, p):
    """pdist in Tensor ops: both rows of every pair gathered, their difference's p-norm."""
    first, second = np.triu_indices(input.shape[0], 1)
    from ..creation import tensor
    rows_i = input.index_select(0, tensor(first, device=input.device))
    rows_j = input.index_select(0, tensor(second, device=input.device))
    if input.shape[1] == 0:
        p = 1.0                 # (rows of no columns are 0 apart for every p, inf too, as PyTorch's kernel)
    diff = rows_i - rows_j
    return inf_distance(diff) if p == math.inf else diff.norm(p, 1)


class Pdist2(Op):
    """pdist(x, 2) of a float32/64 NumPy matrix as PyTorch's one node, by blocks of rows (the composite
    gathered both rows of every pair at once, N^2 M / 2 elements three times over: 500 rows of 32,
    48 MB; 5,000 rows, 4.8 GB): a block of rows minus every row after the block's first (a broadcast,
    no gather; the few pairs below the diagonal are computed and left out), squared and summed; its
    rows' runs of pairs are the output's. Backward the same blocks: g / d (0 where d is 0, as
    PyTorch's) times each difference, summed into the block's rows and taken from the later rows.
    Under create_graph the composite is differentiated."""
    _name, op_name = "PdistBackward0", "_pdist_forward"
    save_inputs = (0,)
    save_result = True

    def forward(self, x):
        n = x.shape[0]
        d = np.empty(n * (n - 1) // 2, x.dtype)
        ones = np.ones(x.shape[1], x.dtype)
        for r0, r1, diff in self._blocks(x):
            diff *= diff
            block = np.sqrt(diff @ ones)          # (r1 - r0, n - r0 - 1): row i against r0 + 1, ...; sums by BLAS
            d[self._start(r0, n):self._start(r1, n)] = block[self._upper(block.shape)]
        return d

    @staticmethod
    def _upper(shape):
        """A block's pairs above the diagonal (row k of the block against columns k, k + 1, ...), in the
        output's order (C order)."""
        return np.arange(shape[1])[None, :] >= np.arange(shape[0])[:, None]

    @staticmethod
    def _start(i, n):
        """Where row i's pairs (i, i + 1), (i, i + 2), ... begin in the output."""
        return i * n - i * (i + 1) // 2

    def _blocks(self, x):
        """(r0, r1, x[r0:r1] - x[r0 + 1:] broadcast) for blocks of about 256k differences."""
        n, m = x.shape
        step = max(1, (1 << 18) // max(n * m, 1))
        for r0 in range(0, n - 1, step):
            r1 = min(r0 + step, n - 1)
            yield r0, r1, x[r0:r1, None, :] - x[None, r0 + 1:, :]

    def backward(self, g, x, d):
        if type(g) is Tensor:
            from ..ops.tied import composite_gradients
            return composite_gradients(self, [x], lambda t: _pdist_composite(t, 2), (g,))[0]
        n = x.shape[0]
        gx = np.zeros_like(x)
        for r0, r1, diff in self._blocks(x):
            run = slice(self._start(r0, n), self._start(r1, n))
            w = np.zeros(diff.shape[:2], x.dtype)             # g / d at each pair, 0 below the diagonal
            w[self._upper(w.shape)] = np.divide(g[run], d[run], out=np.zeros(d[run].shape, x.dtype),
                                                where=d[run] != 0)
            diff *= w[:, :, None]
            gx[r0:r1] += np.ones(diff.shape[1], x.dtype) @ diff       # (BLAS: 5x NumPy's reduce over the middle)
            gx[r0 + 1:] -= np.add.reduce(diff, 0)
        return gx


def _check_triplet(fn, anchor, positive, negative, margin, reduction):
    """The checks both triplet losses make; returns the margin as a number."""
    _tensors(fn, anchor=anchor, positive=positive, negative=negative)
    _check_reduction(reduction)
    margin = _check_number(fn, "margin", margin)
    if margin <= 0:
        raise ValueError(f"{fn}: margin must be greater than 0, got {margin:g}")
    dims = (anchor.dim(), positive.dim(), negative.dim())
    if len(set(dims)) != 1:
        raise RuntimeError(f"{fn}: The anchor, positive, and negative tensors are expected to have the same "
                           f"number of dimensions, but got: anchor {dims[0]}D, positive {dims[1]}D, and negative "
                           f"{dims[2]}D inputs")
    return margin


@cast_at_entry
def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, size_average=None,
                        reduce=None, reduction="mean"):
    """max(0, margin + d(anchor, positive) - d(anchor, negative)), d the
    pairwise distance; swap: the smaller of d(a, n) and d(p, n)."""
    fn = "triplet_margin_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    margin = _check_triplet(fn, anchor, positive, negative, margin, reduction)
    _broadcast(fn, anchor=anchor, positive=positive, negative=negative)
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = d_neg.minimum(pairwise_distance(positive, negative, p, eps))
    return _reduce((d_pos - d_neg + margin).clamp_min(0), reduction)


# ---- likelihoods --------------------------------------------------------------------------------

def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """0.5 (log var + (input - target)^2 / var) (+ 0.5 log 2 pi with full);
    var is the input's shape, one dim short of it, or 1 in one of its dims, or
    a float; it is clamped at eps (the clamp passes gradients, as PyTorch's)."""
    fn = "gaussian_nll_loss"
    _tensors(fn, input=input, target=target)
    if isinstance(var, float):
        if var < 0:
            raise ValueError(f"{fn}: var has negative entry/entries ({var})")
        var = input.new_full(tuple(input.shape), var)
    else:
        if not isinstance(var, Tensor):
            raise TypeError(f"{fn}(): argument 'var' must be Tensor or float, not {type(var).__name__}")
        _tensors(fn, input=input, var=var)
        with no_grad():
            negative = bool((var < 0).any().item())
        if negative:
            raise ValueError(f"{fn}: var has negative entry/entries")
    if var.shape != input.shape:
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif not (input.dim() == var.dim() and
                  sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1):
            raise ValueError(f"{fn}: var is of incorrect size (var {list(var.shape)}, input "
                             f"{list(input.shape)})")
    _check_reduction(reduction)
    _broadcast(fn, input=input, target=target, var=var)
    var = _ClampMinStraight.apply(var, _check_number(fn, "eps", eps))
    loss = 0.5 * (var.log() + (input - target).square() / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


@cast_at_entry
def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                     reduction="mean"):
    """exp(input) - target input (log_input), or input - target log(input + eps);
    full adds Stirling's approximation of log(target!) where target > 1."""
    fn = "poisson_nll_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _pointwise_args(fn, input, target, reduction, warn=False)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + _check_number(fn, "eps", eps)).log()
    if full:
        stirling = target * target.log() - target + 0.5 * (2 * math.pi * target).log()
        loss = loss + where(target <= 1, 0.0, stirling)
    return _reduce(loss, reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """-(t log_sigmoid(x) + (1 - t) log_sigmoid(-x)), times weight, averaged
    over the last (class) dimension, then reduced over the rest."""
    fn = "multilabel_soft_margin_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _tensors(fn, input=input, target=target, weight=weight)
    _check_reduction(reduction)
    if input.dim() == 0:
        raise IndexError(f"{fn}: input must have a class dimension (its last), got a 0-d tensor")
    _broadcast(fn, input=input, target=target, weight=weight)
    loss = -(target * _log_sigmoid(input) + (1 - target) * _log_sigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.dim() - 1
    return _reduce(loss.sum(class_dim) / input.shape[class_dim], reduction)


# ---- multi-class margins ---------------------------------------------------------------------

def _class_scores(fn, input, target, target_shape):
    """input (C,) or (N, C), floating, non-empty classes; target int64 of target_shape(input) on its device.
    Returns input and target with a batch dim (and whether it was added)."""
    _tensors(fn, input=input, target=target)
    if input.dim() not in (1, 2) or input.shape[-1] == 0:
        raise RuntimeError(f"{fn}: Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
                           f"{list(input.shape)}")
    _floating(fn, input)
    if target.dtype.is_floating_point or target.dtype.libtorch not in ("Long", "Int"):
        raise RuntimeError(f"{fn}: expected target of dtype Long, got {target.dtype.libtorch}")
    want = target_shape(input)
    if tuple(target.shape) != want:
        raise RuntimeError(f"{fn}: inconsistent target size: {list(target.shape)} for input of size "
                           f"{list(input.shape)} (expected {list(want)})")
    unbatched = input.dim() == 1
    return (input.unsqueeze(0), target.reshape(1, -1)) if unbatched else (input, target), unbatched


def _unbatch(loss, unbatched, reduction):
    if unbatched and reduction == "none":
        return loss.squeeze(0)
    return _reduce(loss, reduction)


def _hinge(d):
    """max(d, 0) whose gradient at d = 0 is 0, as PyTorch's margin kernels (they test d > 0)."""
    return where(d > 0, d, 0.0)


@cast_at_entry
def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                      reduction="mean"):
    """sum over j != y of weight[y] max(0, margin - x[y] + x[j])^p, divided by
    the number of classes; input (C,) or (N, C), target the class indices."""
    fn = "multi_margin_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if p not in (1, 2):
        raise ValueError(f"{fn}: only p == 1 and p == 2 supported, got p={p}")
    margin = _check_number(fn, "margin", margin)
    (x, t), unbatched = _class_scores(fn, input, target, lambda i: tuple(i.shape[:-1]))
    n_classes = x.shape[1]
    if weight is not None:
        _tensors(fn, input=input, weight=weight)
        if tuple(weight.shape) != (n_classes,):
            raise RuntimeError(f"{fn}: weight must be a 1D tensor of {n_classes} elements (one per class), got "
                               f"{list(weight.shape)}")
        _not_differentiable(fn, weight=weight)
    if t.numel():
        lo, hi = int(t.min()), int(t.max())
        if lo < 0 or hi >= n_classes:
            raise RuntimeError(f"{fn}: target out of range (target {lo if lo < 0 else hi}, {n_classes} classes)")
    t = t.reshape(-1, 1).long()
    d = _hinge(margin - x.gather(1, t) + x)
    if p == 2:
        d = d * d
    if weight is not None:
        d = d * weight.index_select(0, t.reshape(-1)).unsqueeze(1)
    classes = _class_row(n_classes, x)
    loss = where(classes == t, 0.0, d).sum(1) / n_classes
    return as_one_node(_unbatch(loss, unbatched, reduction), "MultiMarginLossBackward0", fn, (input, target, weight))


def _class_row(n, like):
    """(1, n): the class numbers, on like's device."""
    from ..creation import arange
    return arange(n, device=like.device).reshape(1, -1)


@cast_at_entry
def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """For each listed target class j (target's entries up to the first -1)
    and each class i not listed: max(0, 1 - (x[j] - x[i])), summed and divided
    by the number of classes; input and target (C,) or (N, C)."""
    fn = "multilabel_margin_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    (x, t), unbatched = _class_scores(fn, input, target, lambda i: tuple(i.shape))
    n_classes = x.shape[1]
    if t.numel():
        lo, hi = int(t.min()), int(t.max())
        if lo < -1 or hi >= n_classes:
            raise RuntimeError(f"{fn}: argument #2 'target' is out of range (target {lo if lo < -1 else hi}, "
                               f"{n_classes} classes)")
    t = t.long()
    listed = (t < 0).long().cumsum(1) == 0                    # entries before the first -1
    classes = _class_row(n_classes, x).unsqueeze(0)         # (1, 1, C)
    is_target = ((t.unsqueeze(-1) == classes) & listed.unsqueeze(-1)).any(1)          # (N, C)
    x_target = x.gather(1, t.clamp(min=0))                     # (N, K)
    d = _hinge(1 - x_target.unsqueeze(-1) + x.unsqueeze(1))    # (N, K, C)
    pairs = listed.unsqueeze(-1) & is_target.logical_not().unsqueeze(1)
    loss = where(pairs, d, 0.0).sum((1, 2)) / n_classes
    return as_one_node(_unbatch(loss, unbatched, reduction), "MultilabelMarginLossBackward0", fn, (input, target))


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin=1.0,
                                      swap=False, reduction="mean"):
    """max(0, margin + d(anchor, positive) - d(anchor, negative)), d the given
    distance function (pairwise_distance by default); swap: the smaller of
    d(a, n) and d(p, n)."""
    fn = "triplet_margin_with_distance_loss"
    margin = _check_triplet(fn, anchor, positive, negative, margin, reduction)
    dist = pairwise_distance if distance_function is None else distance_function
    d_pos = dist(anchor, positive)
    d_neg = dist(anchor, negative)
    if swap:
        d_neg = d_neg.minimum(dist(positive, negative))
    return _reduce((margin + d_pos - d_neg).clamp_min(0), reduction)


# ---- connectionist temporal classification --------------------------------------------------

def _lengths(fn, name, lengths, batch, device):
    """Sequence lengths (a Tensor, list, tuple or int) as a host int array of `batch` entries."""
    if isinstance(lengths, Tensor):
        if lengths.is_floating_point():
            raise RuntimeError(f"{fn}: {name} must be integral, got {lengths.dtype.libtorch}")
        values = np.asarray(lengths.detach().cpu().numpy(), dtype=np.int64).reshape(-1)
    else:
        try:
            values = np.asarray(lengths, dtype=np.int64).reshape(-1)
        except (TypeError, ValueError):
            raise TypeError(f"{fn}(): argument '{name}' must be a Tensor or a sequence of ints, not "
                            f"{type(lengths).__name__}") from None
    if values.size != batch:
        raise RuntimeError(f"{fn}: Expected {name} to have {batch} entries (the batch size), got {values.size}")
    return values


def _log_add(parts, dim):
    """logsumexp over dim with no NaN where every term is -inf: the result is
    then -inf and the gradient 0 (the plain formula would give NaN)."""
    peak = parts.detach().amax(dim, keepdim=True)
    peak = where(peak.isfinite(), peak, 0.0)
    total = (parts - peak).exp().sum(dim, keepdim=True)
    some = total > 0
    out = where(some, where(some, total, 1.0).log() + peak, -math.inf)
    return out.squeeze(dim)


def _host_tensor(array, device):
    from ..creation import tensor
    return tensor(array, device=device)


def _shift_right(alpha, by):
    """alpha's columns moved `by` places right, -inf coming in (the states by steps back)."""
    fill = alpha.new_full((alpha.shape[0], by), -math.inf)
    return cat([fill, alpha[:, :alpha.shape[1] - by]], 1)


@cast_at_entry
def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean", zero_infinity=False):
    """The negative log-likelihood of each target sequence summed over all its
    CTC alignments: log_probs (T, N, C) or (T, C) (log-softmax output), targets
    padded (N, S) or concatenated (sum(target_lengths),); 'mean' divides each
    loss by its target length before averaging. One node (CtcNll) runs the
    recursions in log space on arrays."""
    fn = "ctc_loss"
    _tensors(fn, log_probs=log_probs, targets=targets)
    _check_reduction(reduction)
    if log_probs.dim() not in (2, 3):
        raise RuntimeError(f"{fn}: log_probs must be (T, N, C) or (T, C), got {list(log_probs.shape)}")
    _floating(fn, log_probs, "log_probs")
    unbatched = log_probs.dim() == 2
    lp = log_probs.unsqueeze(1) if unbatched else log_probs
    steps, batch, n_classes = lp.shape
    if not isinstance(blank, int) or not 0 <= blank < n_classes:
        raise RuntimeError(f"{fn}: blank must be in label range (blank {blank}, {n_classes} classes)")
    in_len = _lengths(fn, "input_lengths", input_lengths, batch, lp.device)
    tgt_len = _lengths(fn, "target_lengths", target_lengths, batch, lp.device)
    if targets.is_floating_point() or targets.dtype.libtorch == "Bool":
        raise RuntimeError(f"{fn}: targets must be integral, got {targets.dtype.libtorch}")
    labels = np.asarray(targets.detach().cpu().numpy(), dtype=np.int64)
    for name, values, most in (("input_lengths", in_len, steps), ("target_lengths", tgt_len, None)):
        if values.size and values.min() < 0:
            raise RuntimeError(f"{fn}: Expected {name} to be non-negative, got {values.tolist()}")
        if most is not None and values.size and values.max() > most:
            raise RuntimeError(f"{fn}: Expected input_lengths to have value at most {most}, but got value "
                               f"{values.max()}")
    longest = int(tgt_len.max()) if tgt_len.size else 0
    table = np.full((batch, longest), blank, dtype=np.int64)
    if labels.ndim == 2:                # (padded: an unbatched input's as one row, as PyTorch's)
        if labels.shape[0] != batch or labels.shape[1] < longest:
            raise RuntimeError(f"{fn}: Expected targets of shape ({batch}, >= {longest}) (padded) or a 1-D "
                               f"concatenation, got {list(labels.shape)}")
        for b in range(batch):
            table[b, :tgt_len[b]] = labels[b, :tgt_len[b]]
    elif labels.ndim == 1:
        # concatenated (an unbatched input's too): exactly sum(target_lengths) labels, as PyTorch checks
        if labels.size != tgt_len.sum():
            raise RuntimeError(f"{fn}: concatenated targets hold {labels.size} labels but target_lengths sum "
                               f"to {tgt_len.sum()}")
        starts = np.concatenate([[0], np.cumsum(tgt_len)[:-1]])
        for b in range(batch):
            table[b, :tgt_len[b]] = labels[starts[b]:starts[b] + tgt_len[b]]
    else:
        raise RuntimeError(f"{fn}: targets must be (N, S) or 1-D, got {list(labels.shape)}")
    used = table[np.arange(longest)[None, :] < tgt_len[:, None]]
    if used.size and (used.min() < 0 or used.max() >= n_classes):
        raise RuntimeError(f"{fn}: target labels must be in [0, {n_classes}), got {used.min()}..{used.max()}")
    if used.size and (used == blank).any():
        raise RuntimeError(f"{fn}: target labels must not be the blank ({blank})")
    loss = _ctc_nll(lp, table, in_len, tgt_len, blank)
    if zero_infinity:
        loss = where(loss.isinf(), 0.0, loss)
    if reduction == "mean":
        divisor = np.maximum(tgt_len, 1).astype(np.float64)
        return (loss / _host_tensor(divisor, loss.device).to(loss.dtype)).mean()
    if reduction == "sum":
        return loss.sum()
    return loss.squeeze(0) if unbatched else loss


def _ctc_nll(lp, table, in_len, tgt_len, blank):
    """-log p(target | log_probs) for each sequence (N,): one node (CtcNll) over (T, N, C)
    log_probs with at least one time step, else the recursion in Tensor ops."""
    if lp.shape[0] == 0:
        return _ctc_nll_composed(lp, table, in_len, tgt_len, blank)
    ext, skip = _extended_labels(table, blank)
    with_beta = lp.requires_grad and is_grad_enabled()        # (the backward's beta, run beside alpha)
    return CtcNll.apply1(lp, ext, skip, table, in_len, tgt_len, blank, with_beta)


def _extended_labels(table, blank):
    """The extended label sequence blank, l1, blank, l2, ..., blank of each target (N, 2 S + 1),
    and where a state may be reached from two back (a label that does not repeat the one before)."""
    batch, width = table.shape[0], 2 * table.shape[1] + 1
    ext = np.full((batch, width), blank, dtype=np.int64)
    ext[:, 1::2] = table
    skip = np.zeros((batch, width), dtype=bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    return ext, skip


def _logsumexp3(a, b, c):
    """log(e^a + e^b + e^c) of arrays, -inf where all three are."""
    top = np.maximum(np.maximum(a, b), c)
    top = np.where(top == -math.inf, 0, top)
    return np.log(np.exp(a - top) + np.exp(b - top) + np.exp(c - top)) + top


def _alpha_steps(first, emit, skip, live):
    """The forward recursion on NumPy from alpha[0] = first: alpha (T, N, S') is a view of a buffer
    whose first two columns stay -inf, so step t reads alpha[t - 1] and its shifts by one and two
    as views and writes alpha[t] in place; log(e^a + e^b + e^c) is two logaddexp (four NumPy calls
    a step: PyTorch's loop is C++)."""
    steps, batch, width = emit.shape
    padded = np.full((steps, batch, width + 2), -math.inf, emit.dtype)
    alpha = padded[:, :, 2:]
    alpha[0] = first
    barred = np.where(skip, 0, -math.inf).astype(emit.dtype)    # (-inf: no skip into that state)
    two_back = np.empty((batch, width), emit.dtype)
    dead = ~live[:, :, 0]
    some_dead = dead.any(axis=1)
    for t in range(1, steps):
        prev, cur = padded[t - 1], alpha[t]
        np.add(prev[:, :width], barred, out=two_back)
        np.logaddexp(prev[:, 2:], prev[:, 1:width + 1], out=cur)
        np.logaddexp(cur, two_back, out=cur)
        cur += emit[t]
        if some_dead[t]:                                # (sequences past their length keep their state)
            np.copyto(cur, prev[:, 2:], where=dead[t][:, None])
    return alpha


def _recursions(emit, skip, start, live, in_len, tgt_len, alpha=True, beta=True):
    """CTC's alpha and beta (T, N, S') on NumPy, None for the one not asked for: beta as the alpha
    of the mirrored problem, both in one loop over a batch of 2N when both are asked for."""
    batch = emit.shape[1]
    problems = ([(emit, skip)] if alpha else []) + ([(_mirror(emit, in_len, tgt_len), _mirror_skip(skip, tgt_len))]
                                                    if beta else [])
    emits = np.concatenate([e for e, _ in problems], 1)
    first = np.where(np.concatenate([start] * len(problems)), emits[0], -math.inf)
    out = _alpha_steps(first, emits, np.concatenate([k for _, k in problems]), np.concatenate([live] * len(problems), 1))
    return (out[:, :batch] if alpha else None), (_mirror(out[:, -batch:], in_len, tgt_len) if beta else None)


def _mirror(a, in_len, tgt_len):
    """a (T, N, S') read backwards in time from each sequence's last step and in states from its
    last state: b[t, n, s] = a[in_len - 1 - t, n, 2 tgt_len - s], -inf outside. The beta
    recursion is the alpha recursion of the mirrored emissions (so one loop can run both), and
    mirroring that alpha gives beta; the map is its own inverse."""
    steps, batch, width = a.shape
    t = in_len[None, :] - 1 - np.arange(steps)[:, None]                 # (T, N)
    s = 2 * tgt_len[:, None] - np.arange(width)[None, :]                # (N, S')
    inside = (t >= 0)[:, :, None] & (s >= 0)[None]
    taken = a[np.clip(t, 0, steps - 1)[:, :, None], np.arange(batch)[None, :, None], np.clip(s, 0, width - 1)[None]]
    return np.where(inside, taken, -math.inf)


def _mirror_skip(skip, tgt_len):
    """Where the mirrored recursion may skip into a state: from s + 2 to s backwards."""
    width = skip.shape[1]
    s = 2 * tgt_len[:, None] - np.arange(width)[None, :] + 2
    return np.where((s >= 2) & (s < width), np.take_along_axis(skip, np.clip(s, 0, width - 1), 1), False)


def _alpha_by_shifts(first, emit, skip, live):
    """The forward recursion on CuPy (whole-state shifted copies a step) from alpha[0] = first."""
    alpha = np.empty_like(emit)
    alpha[0] = a = first
    for t in range(1, emit.shape[0]):
        new = _logsumexp3(a, _shifted(a, 1), np.where(skip, _shifted(a, 2), -math.inf)) + emit[t]
        a = np.where(live[t], new, a)
        alpha[t] = a
    return alpha


def _beta_by_shifts(emit, skip, in_len, tgt_len):
    """The backward recursion on CuPy: a sequence joins at its last step from its end states; before
    it has joined its row stays -inf."""
    steps, _, width = emit.shape
    states = np.arange(width)[None, :]
    last_state = 2 * tgt_len[:, None]
    end = _on_device((states == last_state) | ((states == last_state - 1) & (tgt_len[:, None] > 0)), emit)
    last = _on_device(in_len[:, None] - 1, emit)             # (each sequence's last step)
    skip_ahead = _shifted(skip, -2, False)
    beta, b = np.empty_like(emit), np.full_like(emit[0], -math.inf)
    for t in range(steps - 1, -1, -1):
        cont = _logsumexp3(b, _shifted(b, -1), np.where(skip_ahead, _shifted(b, -2), -math.inf)) + emit[t]
        b = np.where(last == t, np.where(end, emit[t], -math.inf), np.where(last > t, cont, -math.inf))
        beta[t] = b
    return beta


def _shifted(a, by, fill=-math.inf):
    """a's columns moved `by` places right (left for by < 0), `fill` coming in."""
    out = np.full_like(a, fill)
    if by > 0:
        out[:, by:] = a[:, :a.shape[1] - by]
    else:
        out[:, :by] = a[:, -by:]
    return out


class CtcNll(Op):
    """CTC's negative log-likelihood of each target, PyTorch's CtcLossBackward0: the forward (alpha)
    recursion over the extended labels in log space on arrays, a few array operations per time step
    for the whole batch; backward the beta recursion, and the gradient for log_probs[t, n, c]
    -exp(log sum over states s of class c of alpha_t(s) beta_t(s) / y_t(c), + nll[n]): the true
    derivative (PyTorch's adds exp(log_probs), the logits' gradient under log_softmax), 0 for a
    target that cannot be aligned. Under create_graph the gradient is that of the same recursion in
    Tensor ops (_ctc_nll_composed), so it differentiates again (PyTorch's does not)."""
    _name, op_name = "CtcLossBackward0", "ctc_loss"
    save_inputs = (0,)

    def forward(self, lp, ext, skip, table, in_len, tgt_len, blank, with_beta):
        self.table, self.in_len, self.tgt_len, self.blank = table, in_len, tgt_len, blank
        xp_ext = _on_device(ext, lp)
        self.ext, self.skip = xp_ext, _on_device(skip, lp)
        steps, batch, _ = lp.shape
        width = ext.shape[1]
        emit = np.take_along_axis(lp, np.broadcast_to(xp_ext[None], (steps, batch, width)), axis=2)
        live = _on_device(np.arange(steps)[:, None] < in_len[None, :], lp)[:, :, None]     # (T, N, 1)
        start = np.zeros((batch, width), dtype=bool)
        start[:, 0] = True
        start[:, 1] = tgt_len > 0
        self._start, self._live = start, live
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if type(lp) is np.ndarray:                  # (beta rides along when a backward will need it)
                alpha, self._beta = _recursions(emit, skip, start, live, in_len, tgt_len, beta=with_beta)
            else:
                alpha, self._beta = _alpha_by_shifts(np.where(_on_device(start, lp), emit[0], -math.inf), emit,
                                                     self.skip, live), None
            a = alpha[steps - 1]
            rows = _on_device(np.arange(batch), lp)
            last = a[rows, _on_device(2 * tgt_len, lp)]
            before = np.where(_on_device(tgt_len > 0, lp), a[rows, _on_device(np.maximum(2 * tgt_len - 1, 0), lp)],
                              -math.inf)
            ll = np.logaddexp(last, before)
        # a sequence of no time steps has probability 1 for the empty target only
        empty = _on_device(in_len == 0, lp)
        ll = np.where(empty, np.where(_on_device(tgt_len == 0, lp), 0.0, -math.inf), ll).astype(lp.dtype)
        self._aux = (alpha, emit, -ll)
        return -ll

    def backward(self, g, lp):
        if type(g) is Tensor:
            from ..autograd import grad
            with enable_grad():
                nll = _ctc_nll_composed(lp, self.table, self.in_len, self.tgt_len, self.blank)
            return grad(nll, lp, g, create_graph=True)[0]
        alpha, emit, nll = self._aux
        steps, batch, _ = alpha.shape
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            beta = self._beta
            if beta is None and type(alpha) is np.ndarray:     # (a forward that expected no backward)
                _, beta = _recursions(emit, self.skip, self._start, self._live, self.in_len, self.tgt_len,
                                      alpha=False)
            elif beta is None:
                beta = _beta_by_shifts(emit, self.skip, self.in_len, self.tgt_len)
            through = np.exp(alpha + beta - emit + nll[None, :, None])      # (each <= 1: a share of p)
        possible = np.isfinite(nll)[None, :, None]
        shares = np.where(possible, through, 0) * -g[None, :, None]
        out = np.zeros_like(lp)
        P.add_at(out, (_on_device(np.arange(steps)[:, None, None], lp), _on_device(np.arange(batch)[None, :, None], lp),
                       self.ext[None]), shares.astype(lp.dtype))
        return out


def _on_device(host, like):
    """A host array on `like`'s device (itself for NumPy)."""
    from ..backend import of_array
    return host if type(like) is np.ndarray else of_array(like).xp.asarray(host)


def _ctc_nll_composed(lp, table, in_len, tgt_len, blank):
    """-log p(target | log_probs) for each sequence: the CTC forward (alpha) recursion over the
    extended label sequence blank, l1, blank, l2, ..., blank, in Tensor ops."""
    steps, batch, _ = lp.shape
    width = 2 * table.shape[1] + 1
    ext = np.full((batch, width), blank, dtype=np.int64)
    ext[:, 1::2] = table
    # a label may follow the one two places back (skipping a blank) unless it repeats it
    skip = np.zeros((batch, width), dtype=bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    dev = lp.device
    ext_t = _host_tensor(ext, dev)
    emit = lp.gather(2, ext_t.unsqueeze(0).expand(steps, batch, width)).unbind(0)  # T of (N, S'): one node
    neg_inf = -math.inf
    start = np.full((batch, width), False)
    start[:, :2] = True
    start[:, 1] &= tgt_len > 0
    alpha = where(_host_tensor(start, dev), emit[0], neg_inf) if steps else None
    skip_t = _host_tensor(skip, dev)
    for t in range(1, steps):
        prev2 = where(skip_t, _shift_right(alpha, 2), neg_inf) if width > 2 else alpha.new_full(alpha.shape, neg_inf)
        new = _log_add(stack([alpha, _shift_right(alpha, 1), prev2], -1), -1) + emit[t]
        alpha = where(_host_tensor((t < in_len)[:, None], dev), new, alpha)
    if alpha is None:
        return lp.new_zeros((batch,)) + math.inf
    last = _host_tensor(2 * tgt_len, dev).unsqueeze(1)
    before = _host_tensor(np.maximum(2 * tgt_len - 1, 0), dev).unsqueeze(1)
    ends = stack([alpha.gather(1, last).squeeze(1),
                  where(_host_tensor(tgt_len > 0, dev), alpha.gather(1, before).squeeze(1), neg_inf)], -1)
    ll = _log_add(ends, -1)
    # a sequence of no time steps has probability 1 for the empty target only
    empty = _host_tensor(in_len == 0, dev)
    ll = where(empty, where(_host_tensor(tgt_len == 0, dev), 0.0, neg_inf), ll)
    return -ll
