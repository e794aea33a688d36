"""Recurrent layers: RNN, LSTM, GRU and their cells, with PyTorch's parameter names.

Composed from differentiable ops (linear, sigmoid, tanh, stack), so gradients,
create_graph and the CUDA path come from them; an LSTM or GRU layer's step
runs its pointwise part as one node (LstmCell, GruCell). The input projection of a whole
sequence is one matmul, its steps one unbind; only the hidden-to-hidden step
loops over time. A float32 LSTM layer over a padded sequence on NumPy is one node
(LstmLayer), as PyTorch's CPU layer is.
A PackedSequence input runs the same steps on a batch that shrinks as
sequences end (it is sorted by decreasing length)."""
import math
import numbers
import warnings

import numpy as np

from .. import _dtype
from ..amp import casts_at_entry
from ..autograd.op import Op
from ..ops import prims as P
from ..creation import empty, zeros
from ..ops.shape import cat, stack
from ..ops.tied import composite_gradients
from ..tensor import Tensor
from . import functional as F
from . import functional_layers as FL
from . import init
from .module import Module
from .parameter import Parameter
from .utils.rnn import PackedSequence

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _size_arg(who, name, n):
    if not isinstance(n, numbers.Integral) or isinstance(n, bool):
        raise TypeError(f"{who}: {name} should be of type int, got: {type(n).__name__}")
    if n <= 0:
        raise ValueError(f"{who}: {name} must be greater than zero")
    return int(n)


def _nonlinearity(who, nonlinearity):
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"{who}: Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
    return nonlinearity


def _tensor(who, name, t):
    if not isinstance(t, Tensor):
        raise TypeError(f"{who}: {name} must be a Tensor, got {type(t).__name__}")


def _check_like(who, name, t, weight):
    """dtype and device of `t` against the layer's weights (up front: a matmul's error would not name the layer)."""
    _tensor(who, name, t)
    if t.dtype != weight.dtype and not casts_at_entry((t, weight)):      # (autocast: cast by the ops inside)
        raise ValueError(f"{who}: {name} dtype ({t.dtype}) does not match weight dtype ({weight.dtype}). "
                         f"Convert {name}: {name}.to({weight.dtype}), or convert model: model.to({t.dtype})")
    if t.device != weight.device:
        raise RuntimeError(f"{who}: {name} is on {t.device} but the weights are on {weight.device}")


def _reset_uniform(module):
    stdv = 1.0 / math.sqrt(module.hidden_size) if module.hidden_size > 0 else 0
    for w in module.parameters():
        init.uniform_(w, -stdv, stdv)


def _lstm_cell(gates, c):
    """(h', c') of an LSTM step from its summed projections (N, 4H), in Tensor ops (PyTorch's
    LSTMCell on the CPU: h' a MulBackward0, c' an AddBackward0)."""
    i, f, g, o = gates.chunk(4, -1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c.tanh(), c


def _lstm_parts(gates, c):
    """The LSTM step's values of arrays or Tensors (P's primitives take either): the gates'
    activations, c' and tanh(c')."""
    n = gates.shape[-1] // 4
    i, f, g, o = gates[..., :n], gates[..., n:2 * n], gates[..., 2 * n:3 * n], gates[..., 3 * n:]
    si, sf, tg, so = P.sigmoid(i), P.sigmoid(f), P.tanh(g), P.sigmoid(o)
    c = P.add(P.mul(sf, c), P.mul(si, tg))
    return si, sf, tg, so, c, P.tanh(c)


class LstmCell(Op):
    """_lstm_cell as one node, for the LSTM layer's steps (PyTorch's layer is one node itself): the
    same operations, so the same values bit for bit, in one node instead of eleven, its backward
    the composite's formulas. Under create_graph the step's values are recomputed from the inputs in
    Tensor ops and the same formulas run on them: the gradient is a function of the inputs (and each
    input's own partial derivative: no path through another input), so it differentiates again."""
    _name, op_name = "LstmCellBackward0", "lstm_cell"
    save_inputs = (0, 1)

    def forward(self, gates, c):
        si, sf, tg, so, c, tc = _lstm_parts(gates, c)
        self._aux = (si, sf, tg, so, tc)
        return P.mul(so, tc), c

    def backward(self, grads, gates, c):
        gh, gc = grads
        if type(gh) is Tensor or type(gc) is Tensor:
            si, sf, tg, so, _, tc = _lstm_parts(gates, c)
        else:
            si, sf, tg, so, tc = self._aux
        dc, d_so = gc, None
        if gh is not None:                  # (h' = so * tanh(c'); the two gradients of c' add up)
            d_so = P.mul(gh, tc)
            d_tc = P.tanh_bwd(P.mul(gh, so), tc)
            dc = d_tc if dc is None else P.add(dc, d_tc)
        d_gates = None
        if self.needs(0):
            d_gates = P.concatenate([P.sigmoid_bwd(P.mul(dc, tg), si), P.sigmoid_bwd(P.mul(dc, c), sf),
                                     P.tanh_bwd(P.mul(dc, si), tg),
                                     P.zeros_like(so) if d_so is None else P.sigmoid_bwd(d_so, so)], -1)
        return d_gates, (P.mul(dc, sf) if self.needs(1) else None)


def _gru_cell(x_proj, hh, h):
    """h' of a GRU step from its input's and its state's projections (N, 3H), in Tensor ops
    (PyTorch's GRUCell on the CPU)."""
    xr, xz, xn = x_proj.chunk(3, -1)
    hr, hz, hn = hh.chunk(3, -1)
    r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
    n = (xn + r * hn).tanh()
    return n + z * (h - n)               # (1 - z) * n + z * h


def _gru_parts(x_proj, hh, h):
    """The GRU step's values of arrays or Tensors: r, z, n, the state's share of n's input, h - n."""
    k = x_proj.shape[-1] // 3
    r = P.sigmoid(P.add(x_proj[..., :k], hh[..., :k]))
    z = P.sigmoid(P.add(x_proj[..., k:2 * k], hh[..., k:2 * k]))
    hn = hh[..., 2 * k:]
    n = P.tanh(P.add(x_proj[..., 2 * k:], P.mul(r, hn)))
    return r, z, n, hn, P.sub(h, n)


class GruCell(Op):
    """_gru_cell as one node, for the GRU layer's steps, as LstmCell for the LSTM's: the same
    operations and formulas (the same values bit for bit); under create_graph the same formulas on
    the step's values recomputed in Tensor ops (hh is a function of h: differentiating the composite
    for both would count that path twice)."""
    _name, op_name = "GruCellBackward0", "gru_cell"
    save_inputs = (0, 1, 2)

    def forward(self, x_proj, hh, h):
        r, z, n, hn, h_n = _gru_parts(x_proj, hh, h)
        self._aux = (r, z, n, hn, h_n)
        return P.add(n, P.mul(z, h_n))

    def backward(self, g, x_proj, hh, h):
        r, z, n, hn, h_n = _gru_parts(x_proj, hh, h) if type(g) is Tensor else self._aux
        gz_h = P.mul(g, z)                                  # (z * (h - n): to h, and minus to n)
        d_pre_n = P.tanh_bwd(P.add(g, P.neg(gz_h)), n)
        d_pre_r = P.sigmoid_bwd(P.mul(d_pre_n, hn), r)
        d_pre_z = P.sigmoid_bwd(P.mul(g, h_n), z)
        return (P.concatenate([d_pre_r, d_pre_z, d_pre_n], -1) if self.needs(0) else None,
                P.concatenate([d_pre_r, d_pre_z, P.mul(d_pre_n, r)], -1) if self.needs(1) else None,
                gz_h if self.needs(2) else None)


def _step(mode, x_proj, h, c, w_hh, b_hh, w_hr=None, fused=False):
    """One time step from the precomputed input projection: (h', c'). w_hr projects an LSTM's h'.
    fused: an LSTM's or a GRU's pointwise part as one node (LstmCell, GruCell), as the layers run it."""
    hh = F.linear(h, w_hh, b_hh)
    if mode == "RNN_TANH":
        return (x_proj + hh).tanh(), None
    if mode == "RNN_RELU":
        return (x_proj + hh).relu(), None
    if mode == "LSTM":
        h, c = LstmCell.apply2(x_proj + hh, c) if fused else _lstm_cell(x_proj + hh, c)
        return (h if w_hr is None else F.linear(h, w_hr)), c
    return (GruCell.applyN((x_proj, hh, h)) if fused else _gru_cell(x_proj, hh, h)), None


class LstmLayer(Op):
    """An LSTM layer and direction over a padded (T, B, I) sequence as one node, as PyTorch's CPU
    float32 layer (MkldnnRnnLayerBackward0). Inputs: x, w_ih, w_hh, (b_ih, b_hh), h0, c0; outputs:
    every step's h (T, B, H), the last h and c. Forward: all steps' input projections in one matmul,
    then per step the state's projection and the cell, LstmCell's arithmetic in the same order (the
    same values), each step's activations kept in (T, B, .) arrays. Backward: the cell's local
    derivatives for all steps at once, then per step only what the recurrence needs (a few ops and
    one matmul), and the weights' and the input's gradients one matmul each over all steps. Under
    create_graph the layer is recomputed in Tensor ops (its LstmCell steps) and differentiated."""
    _name, op_name = "MkldnnRnnLayerBackward0", "lstm"
    save_result = True                  # (the steps' h: writing the output before backward is the version error)

    def forward(self, x, w_ih, w_hh, *rest):
        *arrays, has_bias, reverse = rest
        b_ih, b_hh, h0, c0 = arrays if has_bias else (None, None, *arrays)
        self.save_inputs, self.has_bias, self.reverse = tuple(range(3 + len(arrays))), has_bias, reverse
        steps, batch, hidden = x.shape[0], x.shape[1], w_hh.shape[1]
        proj = np.matmul(x, w_ih.T)                         # (F.linear's x @ w_ih^T + b_ih)
        if has_bias:
            proj += b_ih
        acts = np.empty(proj.shape, x.dtype)                # sigmoid(i), sigmoid(f), tanh(g), sigmoid(o)
        cs, tcs, out = (np.empty((steps, batch, hidden), x.dtype) for _ in range(3))
        h, c, w_hh_t = h0, c0, np.ascontiguousarray(w_hh.T)    # (OpenBLAS: 8x64 @ a transposed view 3.5x slower)
        si, sf, tg, so = (slice(k * hidden, (k + 1) * hidden) for k in range(4))
        with np.errstate(over="ignore"):                   # (sigmoid: exp(-x) overflows to inf, giving 0)
            for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
                a = acts[t]
                np.matmul(h, w_hh_t, out=a)                  # (h @ w_hh^T + b_hh, then + the input's part)
                if has_bias:
                    a += b_hh
                np.add(proj[t], a, out=a)
                g_part = np.tanh(a[:, tg])
                np.negative(a, out=a)                       # (P.sigmoid's 1 / (1 + exp(-x)), in place)
                np.exp(a, out=a)
                a += 1
                np.reciprocal(a, out=a)
                a[:, tg] = g_part
                c_new, h_new = cs[t], out[t]
                np.multiply(a[:, sf], c, out=c_new)
                c_new += np.multiply(a[:, si], g_part, out=g_part)
                np.tanh(c_new, out=tcs[t])
                np.multiply(a[:, so], tcs[t], out=h_new)
                h, c = h_new, c_new
        self._aux = (acts, cs, tcs)
        return out, h.copy(), c.copy()

    def backward(self, grads, x, w_ih, w_hh, *rest):
        *rest, out, _, _ = rest                             # (the inputs, then the outputs)
        if any(type(g) is Tensor for g in grads):
            return composite_gradients(self, [x, w_ih, w_hh] + rest, self._composite, grads)
        h0, c0 = rest[-2:]
        acts, cs, tcs = self._aux
        g_out, g_h, g_c = grads
        steps, batch, hidden = out.shape
        si, sf, tg, so = (acts[..., k * hidden:(k + 1) * hidden] for k in range(4))
        # the states each step started from, in the order of time (a reversed layer's comes from t + 1)
        before = (lambda first, seq: np.concatenate([seq[1:], first[None]])) if self.reverse else \
            (lambda first, seq: np.concatenate([first[None], seq[:-1]]))
        c_prev = before(c0, cs)
        # the cell's local derivatives, all steps at once: dc = dc' + dh * so (1 - tc^2); the gates'
        # pre-activations: [dc tg si (1 - si), dc c_prev sf (1 - sf), dc si (1 - tg^2)], dh tc so (1 - so)
        dc_by_dh = so * (1 - tcs * tcs)
        do_by_dh = tcs * so * (1 - so)
        ifg_by_dc = np.stack([tg * si * (1 - si), c_prev * sf * (1 - sf), si * (1 - tg * tg)], 2)
        d_gates = np.empty(acts.shape, acts.dtype)
        dh = np.zeros_like(h0) if g_h is None else g_h.copy()
        dc = np.zeros_like(c0) if g_c is None else g_c.copy()
        for t in (range(steps) if self.reverse else range(steps - 1, -1, -1)):
            if g_out is not None:
                dh += g_out[t]
            dc += dh * dc_by_dh[t]
            d = d_gates[t]
            np.multiply(dh, do_by_dh[t], out=d[:, 3 * hidden:])
            np.multiply(ifg_by_dc[t], dc[:, None, :], out=d.reshape(batch, 4, hidden)[:, :3])
            np.matmul(d, w_hh, out=dh)
            dc *= sf[t]
        flat = d_gates.reshape(steps * batch, -1)
        result = [np.matmul(d_gates, w_ih) if self.needs(0) else None,
                  flat.T @ x.reshape(steps * batch, -1) if self.needs(1) else None,
                  flat.T @ before(h0, out).reshape(steps * batch, -1) if self.needs(2) else None]
        if self.has_bias:
            db = np.add.reduce(flat, 0) if self.needs(3) or self.needs(4) else None
            result += [db if self.needs(3) else None, db.copy() if self.needs(4) else None]
        return tuple(result) + (dh if self.needs(len(result)) else None, dc if self.needs(len(result) + 1) else None)

    def _composite(self, x, w_ih, w_hh, *rest):
        """The layer in Tensor ops (its LstmCell steps): (every step's h, the last h, the last c)."""
        b_ih, b_hh, h0, c0 = rest if self.has_bias else (None, None, *rest)
        steps = list(F.linear(x, w_ih, b_ih).unbind(0))
        seq, h, c = (_reverse_pass if self.reverse else _forward_pass)("LSTM", steps, h0, c0,
                                                                       (w_ih, w_hh, b_ih, b_hh, None))
        return stack(seq), h, c


def _proj_size_arg(who, proj_size, hidden_size):
    if not isinstance(proj_size, numbers.Integral) or isinstance(proj_size, bool):
        raise TypeError(f"{who}: proj_size should be of type int, got: {type(proj_size).__name__}")
    if proj_size < 0:
        raise ValueError(f"{who}: proj_size should be a positive integer or zero to disable projections "
                         f"(got {proj_size})")
    if proj_size >= hidden_size:
        raise ValueError(f"{who}: proj_size has to be smaller than hidden_size (got proj_size={proj_size}, "
                         f"hidden_size={hidden_size})")
    return int(proj_size)


def _bool_arg(who, name, value):
    if not isinstance(value, bool):
        raise TypeError(f"{who}: {name} should be of type bool, got: {type(value).__name__}")
    return value


def _no_projection(who, kwargs):
    """RNN and GRU: PyTorch's ValueError for proj_size, Python's TypeError for any other unknown keyword."""
    if "proj_size" in kwargs:
        raise ValueError(f"{who}: proj_size argument is only supported for LSTM, not RNN or GRU")
    if kwargs:
        raise TypeError(f"{who}.__init__() got an unexpected keyword argument '{next(iter(kwargs))}'")


def _rows(t, n):
    """The first n rows of t (t itself when it has n)."""
    return t if t is None or t.shape[0] == n else t[:n]


def _time_steps(proj, sizes):
    """The rows of each time step: proj[t] of a padded (T, B, G) projection, or the consecutive blocks of
    sizes[t] rows of a packed (N, G) one."""
    if sizes is None:
        return list(proj.unbind(0))          # (one node: its backward stacks the steps' gradients once)
    return list(proj.split(sizes, 0))


def _forward_pass(mode, steps, h, c, weights):
    """Left to right over the steps. The batch is sorted by decreasing length, so a sequence that has ended
    is a last row of the state: it leaves the batch and its state is final. Returns (outputs, h_n, c_n)."""
    _, w_hh, _, b_hh, w_hr = weights
    outputs, ended_h, ended_c = [], [], []
    for x_t in steps:
        n = x_t.shape[0]
        if n < h.shape[0]:
            ended_h.append(h[n:])
            ended_c.append(None if c is None else c[n:])
            h, c = h[:n], _rows(c, n)
        h, c = _step(mode, x_t, h, c, w_hh, b_hh, w_hr, fused=True)
        outputs.append(h)
    rejoin = lambda last, ended: cat([last] + ended[::-1]) if ended else last  # noqa: E731
    return outputs, rejoin(h, ended_h), (None if c is None else rejoin(c, ended_c))


def _reverse_pass(mode, steps, h0, c0, weights):
    """Right to left: a sequence joins the batch at its own last step, from its initial state."""
    _, w_hh, _, b_hh, w_hr = weights
    outputs = [None] * len(steps)
    n = steps[-1].shape[0] if steps else h0.shape[0]
    h, c = _rows(h0, n), _rows(c0, n)
    for t in range(len(steps) - 1, -1, -1):
        n = steps[t].shape[0]
        if n > h.shape[0]:
            h = cat([h, h0[h.shape[0]:n]])
            c = None if c is None else cat([c, c0[c.shape[0]:n]])
        h, c = _step(mode, steps[t], h, c, w_hh, b_hh, w_hr, fused=True)
        outputs[t] = h
    return outputs, h, c


class RNNBase(Module):
    """The multi-layer, optionally bidirectional recurrence shared by RNN, LSTM and GRU."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        who = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(mode, mode)
        if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError(f"{who}: dropout should be a number in range [0, 1] representing the probability "
                             "of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                          UserWarning, stacklevel=2)
        _bool_arg(who, "bias", bias)
        _bool_arg(who, "batch_first", batch_first)
        input_size = _size_arg(who, "input_size", input_size)
        hidden_size = _size_arg(who, "hidden_size", hidden_size)
        num_layers = _size_arg(who, "num_layers", num_layers)
        proj_size = _proj_size_arg(who, proj_size, hidden_size)
        self.mode, self._who = mode, who
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        self._make_parameters(device, dtype)
        self.reset_parameters()

    def _make_parameters(self, device, dtype):
        """PyTorch's parameters, names and order: per layer and direction w_ih, w_hh, [b_ih, b_hh], [w_hr]."""
        gate_size, real_hidden = _GATES[self.mode] * self.hidden_size, self.proj_size or self.hidden_size
        directions = 2 if self.bidirectional else 1
        self._flat_weights_names, self._all_weights = [], []
        for layer in range(self.num_layers):
            layer_input = self.input_size if layer == 0 else real_hidden * directions
            for suffix in ("", "_reverse")[:directions]:
                shapes = [("weight_ih", (gate_size, layer_input)), ("weight_hh", (gate_size, real_hidden))]
                if self.bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if self.proj_size:
                    shapes.append(("weight_hr", (self.proj_size, self.hidden_size)))
                names = [f"{kind}_l{layer}{suffix}" for kind, _ in shapes]
                for name, (_, shape) in zip(names, shapes):
                    setattr(self, name, Parameter(empty(*shape, device=device, dtype=dtype)))
                self._all_weights.append(names)
                self._flat_weights_names.extend(names)

    def reset_parameters(self):
        _reset_uniform(self)

    def flatten_parameters(self):
        """A no-op kept for PyTorch code (which calls it for cuDNN's weight layout)."""

    @property
    def all_weights(self):
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def _layer_weights(self, layer, reverse):
        """(w_ih, w_hh, b_ih, b_hh, w_hr) of one layer and direction, None for those it does not have."""
        suffix = f"_l{layer}{'_reverse' if reverse else ''}"
        return tuple(getattr(self, kind + suffix, None)
                     for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"))

    def _state_shapes(self, batch):
        """Expected shapes of h_0 (proj_size wide when projecting) and c_0."""
        layers = self.num_layers * (2 if self.bidirectional else 1)
        return (layers, batch, self.proj_size or self.hidden_size), (layers, batch, self.hidden_size)

    def _zero_states(self, h_shape, c_shape, like):
        h0 = zeros(*h_shape, dtype=like.dtype, device=like.device)
        if self.mode != "LSTM":
            return h0, None
        return h0, (h0 if c_shape == h_shape else zeros(*c_shape, dtype=like.dtype, device=like.device))

    def _result(self, output, h_n, c_n):
        return (output, (h_n, c_n)) if self.mode == "LSTM" else (output, h_n)

    def _check_hidden(self, h, expected, label, batched):
        _check_like(self._who, "hx", h, self.weight_ih_l0)
        got = tuple(h.shape) if batched else tuple(h.shape[:1]) + (1,) + tuple(h.shape[1:])
        if got != expected:
            shown = list(h.shape) if batched else [expected[0]] + list(h.shape[1:])
            raise RuntimeError(f"{self._who}: Expected {label} size {expected}, got {shown}")

    def _check_input_size(self, input):
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{self._who}: input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]}")

    def forward(self, input, hx=None):
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        who = self._who
        _check_like(who, "input", input, self.weight_ih_l0)
        if input.dim() not in (2, 3):
            tail = " tensor" if who == "RNN" else ""
            raise ValueError(f"{who}: Expected input to be 2D or 3D, got {input.dim()}D{tail} instead")
        batched = input.dim() == 3
        self._check_input_size(input)
        if input.shape[1 if batched and self.batch_first else 0] == 0:
            raise RuntimeError(f"{who}: Expected sequence length to be larger than 0 in RNN")
        x = input if batched else input.unsqueeze(1)
        if batched and self.batch_first:
            x = x.transpose(0, 1)
        h_shape, c_shape = self._state_shapes(x.shape[1])
        if hx is None:
            h0, c0 = self._zero_states(h_shape, c_shape, input)
        else:
            h0, c0 = self._initial_states(hx, batched, h_shape, c_shape)
        out, h_n, c_n = self._run(x, None, h0, c0)
        if batched and self.batch_first:
            out = out.transpose(0, 1)
        if not batched:
            out, h_n = out.squeeze(1), h_n.squeeze(1)
            c_n = c_n.squeeze(1) if c_n is not None else None
        return self._result(out, h_n, c_n)

    def _forward_packed(self, packed, hx):
        """A PackedSequence in, one out (same batch_sizes and indices); h_n (and c_n) hold each sequence's
        state at its own last step, in the original batch order."""
        who = self._who
        data, batch_sizes, sorted_indices, unsorted_indices = packed
        _check_like(who, "input", data, self.weight_ih_l0)
        if data.dim() != 2:
            raise RuntimeError(f"{who}: input must have 2 dimensions, got {data.dim()}")
        self._check_input_size(data)
        sizes = batch_sizes.tolist() if batch_sizes.dim() == 1 else None
        if (not sizes or sum(sizes) != data.shape[0] or sizes[-1] <= 0
                or any(a < b for a, b in zip(sizes, sizes[1:]))):
            raise RuntimeError(f"{who}: batch_sizes {sizes if sizes is not None else list(batch_sizes.shape)} "
                               f"does not describe a packed batch of {data.shape[0]} rows (positive, "
                               "non-increasing sizes summing to the rows)")
        h_shape, c_shape = self._state_shapes(sizes[0])
        if hx is None:
            h0, c0 = self._zero_states(h_shape, c_shape, data)
        else:
            h0, c0 = self._initial_states(hx, True, h_shape, c_shape)
            if sorted_indices is not None:          # the user's states are in the original batch order
                h0 = h0.index_select(1, sorted_indices)
                c0 = None if c0 is None else c0.index_select(1, sorted_indices)
        out, h_n, c_n = self._run(data, sizes, h0, c0)
        if unsorted_indices is not None:
            h_n = h_n.index_select(1, unsorted_indices)
            c_n = None if c_n is None else c_n.index_select(1, unsorted_indices)
        return self._result(PackedSequence(out, batch_sizes, sorted_indices, unsorted_indices), h_n, c_n)

    def _initial_states(self, hx, batched, h_shape, c_shape):
        """(h0, c0) from the user's hx, checked, with a batch dim of 1 added to unbatched ones."""
        want = 3 if batched else 2
        kind = "batched 3-D" if batched else "unbatched 2-D"
        if self.mode == "LSTM":
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"LSTM: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
            for name, t in zip(("h_0", "c_0"), hx):
                _tensor("LSTM", name, t)
            if hx[0].dim() != want or hx[1].dim() != want:
                raise RuntimeError(f"LSTM: For {kind} input, hx and cx should also be {want}-D but got "
                                   f"({hx[0].dim()}-D, {hx[1].dim()}-D) tensors")
            for i, (t, shape) in enumerate(zip(hx, (h_shape, c_shape))):
                self._check_hidden(t, shape, f"hidden[{i}]", batched)
            h0, c0 = hx
        else:
            _tensor(self._who, "hx", hx)
            if hx.dim() != want:
                raise RuntimeError(f"{self._who}: For {kind} input, hx should also be {want}-D but got "
                                   f"{hx.dim()}-D tensor")
            self._check_hidden(hx, h_shape, "hidden", batched)
            h0, c0 = hx, None
        if not batched:
            h0, c0 = h0.unsqueeze(1), (c0.unsqueeze(1) if c0 is not None else None)
        return h0, c0

    def _run(self, x, sizes, h0, c0):
        """The stacked layers over x, padded (T, B, I) when sizes is None, else packed (N, I) with sizes[t]
        rows at step t. Returns the output in x's layout (last dim D*H, or D*proj_size) and h_n, c_n."""
        directions = 2 if self.bidirectional else 1
        hs, cs = [], []
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0 and self.training:
                x = FL.dropout(x, self.dropout, True)
            outs = []
            for d in range(directions):
                k = layer * directions + d
                weights = self._layer_weights(layer, d == 1)
                if self._one_layer_node(x, sizes, weights):
                    biases = list(weights[2:4]) if weights[2] is not None else []
                    seq, h, c = LstmLayer.applyN([x, weights[0], weights[1]] + biases + [h0[k], c0[k]],
                                                 bool(biases), d == 1)
                    outs += [seq]
                    hs.append(h)
                    cs.append(c)
                    continue
                proj = F.linear(x, weights[0], weights[2])          # every step's input projection at once
                steps = _time_steps(proj, sizes)
                run = _reverse_pass if d == 1 else _forward_pass
                seq, h, c = run(self.mode, steps, h0[k], (c0[k] if c0 is not None else None), weights)
                outs.append(stack(seq) if sizes is None else cat(seq))
                hs.append(h)
                cs.append(c)
            x = outs[0] if directions == 1 else cat(outs, -1)
        return x, stack(hs), (stack(cs) if self.mode == "LSTM" else None)

    def _one_layer_node(self, x, sizes, weights):
        """Whether a layer and direction runs as one LstmLayer node: where PyTorch's CPU LSTM is one
        node (float32, padded, no projection), on NumPy, and not under autocast."""
        return (self.mode == "LSTM" and sizes is None and weights[4] is None and x.dtype is _dtype.float32
                and type(x._data) is np.ndarray and x.shape[0] and x.shape[1] and weights[0].dtype is x.dtype
                and not casts_at_entry((x, weights[0])))

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = tanh (or relu)(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh)."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None, **kwargs):
        _no_projection("RNN", kwargs)
        mode = "RNN_TANH" if _nonlinearity("RNN", nonlinearity) == "tanh" else "RNN_RELU"
        self.nonlinearity = nonlinearity
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)


class LSTM(RNNBase):
    """Long short-term memory; gates in PyTorch's order i, f, g, o. Returns (output, (h_n, c_n)).
    With proj_size > 0, h_t = W_hr (o_t * tanh(c_t)) is proj_size wide (weight_hr_l{k})."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit; gates r, z, n with n = tanh(W_in x + b_in + r * (W_hn h + b_hn))."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None, **kwargs):
        _no_projection("GRU", kwargs)
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)


class RNNCellBase(Module):
    """One step of a recurrence: weight_ih, weight_hh, bias_ih, bias_hh."""

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        who = type(self).__name__
        self.input_size = _size_arg(who, "input_size", input_size) if input_size != 0 else 0
        self.hidden_size = _size_arg(who, "hidden_size", hidden_size)
        self.bias = bias
        self.weight_ih = Parameter(empty(num_chunks * hidden_size, input_size, device=device, dtype=dtype))
        self.weight_hh = Parameter(empty(num_chunks * hidden_size, hidden_size, device=device, dtype=dtype))
        for name in ("bias_ih", "bias_hh"):
            self.register_parameter(name, Parameter(empty(num_chunks * hidden_size, device=device, dtype=dtype))
                                    if bias else None)
        self.reset_parameters()

    def reset_parameters(self):
        _reset_uniform(self)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _prepare(self, input, hx, hidden_label):
        """Checks; returns (input, hx list) with a batch dim, and whether the input had one."""
        who = type(self).__name__
        _check_like(who, "input", input, self.weight_ih)
        if input.dim() not in (1, 2):
            raise ValueError(f"{who}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{who}: input has inconsistent input_size: got {input.shape[-1]} expected "
                               f"{self.input_size}")
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)
        states = []
        for i, h in enumerate(hx):
            if h is None:
                states.append(zeros(x.shape[0], self.hidden_size, dtype=input.dtype, device=input.device))
                continue
            _check_like(who, "hx", h, self.weight_ih)
            if h.dim() not in (1, 2):
                raise ValueError(f"{who}: Expected {hidden_label[i]} to be 1D or 2D, got {h.dim()}D instead")
            h = h if h.dim() == 2 else h.unsqueeze(0)
            if h.dim() != x.dim() or h.shape[0] != x.shape[0]:
                raise RuntimeError(f"{who}: Input batch size {x.shape[0]} doesn't match hidden{i} batch size "
                                   f"{h.shape[0]}")
            if h.shape[1] != self.hidden_size:
                raise RuntimeError(f"{who}: hidden{i} has inconsistent hidden_size: got {h.shape[1]}, expected "
                                   f"{self.hidden_size}")
            states.append(h)
        if batched and any(h is not None and h.dim() == 1 for h in hx):
            raise RuntimeError(f"{who}: Input batch size {x.shape[0]} doesn't match hidden0 batch size 1")
        return x, states, batched

    def _cell(self, mode, input, hx, labels):
        x, states, batched = self._prepare(input, hx, labels)
        proj = F.linear(x, self.weight_ih, self.bias_ih)
        h, c = _step(mode, proj, states[0], states[1] if len(states) > 1 else None, self.weight_hh, self.bias_hh)
        if not batched:
            h, c = h.squeeze(0), (c.squeeze(0) if c is not None else None)
        return (h, c) if mode == "LSTM" else h


class RNNCell(RNNCellBase):
    """h' = tanh (or relu)(W_ih x + b_ih + W_hh h + b_hh)."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        self.nonlinearity = nonlinearity        # checked when called, as PyTorch does
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)

    def forward(self, input, hx=None):
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"RNNCell: Unknown nonlinearity: {self.nonlinearity}")
        mode = "RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU"
        return self._cell(mode, input, [hx], ("hidden",))


class LSTMCell(RNNCellBase):
    """One LSTM step: returns (h', c')."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        if hx is None:
            hx = (None, None)
        elif not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise TypeError(f"LSTMCell: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
        return self._cell("LSTM", input, list(hx), ("hx[0]", "hx[1]"))


class GRUCell(RNNCellBase):
    """One GRU step (gates r, z, n)."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        return self._cell("GRU", input, [hx], ("hidden",))
