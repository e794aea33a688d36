"""Muon (torch.optim.Muon): SGD momentum whose update of a 2-d parameter is
orthogonalised by a quintic Newton–Schulz iteration, run in bfloat16 as
PyTorch's. We have no bfloat16 dtype: the iteration runs in float32 with
every intermediate rounded to bfloat16 (round to nearest even), which is
what PyTorch's bfloat16 kernels do (float32 math, one rounding per op)."""
import numbers

import numpy as np

from ..creation import zeros_like
from . import _fused
from ._updates import params_with_grad
from .adamax import ArrayOptimizer, run_array_update
from .optimizer import check_number

__all__ = ["Muon"]

# Keller Jordan's coefficients and defaults, as PyTorch's
EPS = 1e-7
DEFAULT_A, DEFAULT_B, DEFAULT_C = 3.4445, -4.7750, 2.0315
DEFAULT_NS_STEPS = 5
_ADJUST_LR_FNS = (None, "original", "match_rms_adamw")


def _round_bf16(x):
    """float32 array x rounded in place to bfloat16 values (nearest even; NaN stays NaN)."""
    bits = x.view(np.uint32)
    nan = np.isnan(x)
    bias = np.bitwise_and(np.right_shift(bits, 16), np.uint32(1))
    bias += np.uint32(0x7FFF)
    bits += bias
    np.bitwise_and(bits, np.uint32(0xFFFF0000), out=bits)
    if nan.any():
        x[nan] = np.nan
    return x


def _bf16(x):
    """x as a new float32 array of bfloat16 values (a double goes through float32 first, as PyTorch's cast)."""
    return _round_bf16(x.astype(np.float32))


def zeropower_via_newtonschulz(grad, ns_coefficients, ns_steps, eps):
    """PyTorch's `_zeropower_via_newtonschulz` on a 2-d array: X = G / max(||G||_F, eps), then
    ns_steps times X = a X + (b A + c A A) X with A = X X^T (on G^T when G has more rows
    than columns), in bfloat16 arithmetic. Returns float32 bfloat16 values."""
    a, b, c = (float(v) for v in ns_coefficients)
    x = _bf16(grad)
    tall = x.shape[0] > x.shape[1]
    if tall:
        x = x.T.copy()          # (C order: rounded through a uint32 view)
    norm = _round_bf16(np.sqrt(np.sum(np.multiply(x, x), keepdims=True)))
    np.maximum(norm, float(_bf16(np.array([eps]))[0]), out=norm)
    x /= norm
    _round_bf16(x)
    for _ in range(ns_steps):
        gram = _round_bf16(np.matmul(x, x.T))
        gram_update = np.matmul(gram, gram)
        gram_update *= np.float32(c)
        gram *= np.float32(b)
        gram_update += gram
        _round_bf16(gram_update)
        x_next = np.matmul(gram_update, x)
        x *= np.float32(a)
        x_next += x
        x = _round_bf16(x_next)
    return x.T if tall else x


def adjust_lr(lr, adjust_lr_fn, shape):
    """lr scaled for a (A, B) parameter: sqrt(max(1, A / B)) ("original", the default)
    or 0.2 * sqrt(max(A, B)) ("match_rms_adamw")."""
    rows, cols = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        return lr * max(1, rows / cols) ** 0.5
    if adjust_lr_fn == "match_rms_adamw":
        return lr * 0.2 * max(rows, cols) ** 0.5
    return lr


class Muon(ArrayOptimizer):
    """For each (2-d) parameter p with gradient g:

        B = lerp(B, g, 1 - momentum)
        U = lerp(g, B, momentum) if nesterov else B
        O = NS(U)   (Newton–Schulz orthogonalisation, bfloat16 arithmetic)
        p *= 1 - lr * weight_decay;   p -= adjust_lr(lr, shape) * O

    State per parameter: "momentum_buffer" (B). Parameters other than 2-d
    are refused (ValueError), as PyTorch's; so are ns_steps >= 100 and
    ns_coefficients not of length 3 (PyTorch: at the first step, after the
    momentum buffer moved; we: when the group is made)."""

    def __init__(self, params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                 ns_coefficients=(DEFAULT_A, DEFAULT_B, DEFAULT_C), eps=EPS, ns_steps=DEFAULT_NS_STEPS,
                 adjust_lr_fn=None):
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                        ns_coefficients=ns_coefficients, eps=eps, ns_steps=ns_steps, adjust_lr_fn=adjust_lr_fn)
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        lr, momentum, wd = group["lr"], group["momentum"], group["weight_decay"]
        check_number("lr", lr, message=f"Learning rate should be >= 0 but is: {lr}")
        check_number("momentum", momentum, message=f"momentum should be >= 0 but is: {momentum}")
        check_number("weight_decay", wd, message=f"weight decay should be >= 0 but is: {wd}")
        if group["adjust_lr_fn"] not in _ADJUST_LR_FNS:
            raise ValueError(f"Adjust learning rate function {group['adjust_lr_fn']} is not supported")
        steps = group["ns_steps"]
        if isinstance(steps, bool) or not isinstance(steps, numbers.Integral):
            raise TypeError(f"Muon: ns_steps must be an int, got {steps!r}")
        if steps >= 100:
            raise ValueError("Number of steps must be less than 100 for computational efficiency")
        if len(group["ns_coefficients"]) != 3:
            raise ValueError("Coefficients must be a tuple of exactly 3 values")
        check_number("eps", group["eps"], low=float("-inf"))       # (PyTorch does not bound it)
        if not isinstance(group["nesterov"], bool):
            raise TypeError(f"nesterov must be a bool, got {type(group['nesterov']).__name__}")
        for p in group.get("params", ()):
            if p.dim() != 2:
                raise ValueError("Muon only supports 2D parameters whereas we found a parameter with size: "
                                 f"{list(p.shape)}")

    def _update(self, group):
        for p in params_with_grad(group):
            state = self.state[p]
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = zeros_like(p)
            run_array_update(p, [state["momentum_buffer"]],
                             lambda p_, buf, g: self._update_arrays(group, p_, buf, g))

    def _update_arrays(self, group, p, buf, g):
        lr, wd, momentum = float(group["lr"]), float(group["weight_decay"]), float(group["momentum"])
        _fused._lerp(buf, g, 1 - momentum, np.empty_like(buf))
        if group["nesterov"]:
            update = g.copy()
            _fused._lerp(update, buf, momentum, np.empty_like(buf))
        else:
            update = buf
        ortho = zeropower_via_newtonschulz(update, group["ns_coefficients"], int(group["ns_steps"]),
                                           float(group["eps"]))
        p *= 1 - lr * wd
        step = ortho.astype(p.dtype)
        step *= -adjust_lr(lr, group["adjust_lr_fn"], p.shape)
        p += step
