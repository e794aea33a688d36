"""Recurrent layers: RNN, LSTM, GRU and their cells, with PyTorch's parameter names.

Composed from differentiable ops (linear, sigmoid, tanh, stack), so gradients,
create_graph and the CUDA path come from them. The input projection of a
whole sequence is one matmul; only the hidden-to-hidden step loops over time."""
import math
import numbers
import warnings

from ..creation import empty, zeros
from ..ops.shape import cat, stack
from ..tensor import Tensor
from . import functional as F
from . import functional_layers as FL
from . import init
from .module import Module
from .parameter import Parameter

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
    if t.dtype != weight.dtype:
        raise ValueError(f"{who}: {name} dtype ({t.dtype}) does not match weight dtype ({weight.dtype}). "
                         f"Convert {name}: {name}.to({weight.dtype}), or convert model: model.to({t.dtype})")
    if t.device != weight.device:
        raise RuntimeError(f"{who}: {name} is on {t.device} but the weights are on {weight.device}")


def _reset_uniform(module):
    stdv = 1.0 / math.sqrt(module.hidden_size) if module.hidden_size > 0 else 0
    for w in module.parameters():
        init.uniform_(w, -stdv, stdv)


def _step(mode, x_proj, h, c, w_hh, b_hh):
    """One time step from the precomputed input projection: (h', c')."""
    hh = F.linear(h, w_hh, b_hh)
    if mode == "RNN_TANH":
        return (x_proj + hh).tanh(), None
    if mode == "RNN_RELU":
        return (x_proj + hh).relu(), None
    if mode == "LSTM":
        i, f, g, o = (x_proj + hh).chunk(4, -1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        return o.sigmoid() * c.tanh(), c
    xr, xz, xn = x_proj.chunk(3, -1)
    hr, hz, hn = hh.chunk(3, -1)
    r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
    n = (xn + r * hn).tanh()
    return n + z * (h - n), None         # (1 - z) * n + z * h


class RNNBase(Module):
    """The multi-layer, optionally bidirectional recurrence shared by RNN, LSTM and GRU."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        who = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(mode, mode)
        if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError(f"{who}: dropout should be a number in range [0, 1] representing the probability "
                             "of an element being zeroed")
        input_size = _size_arg(who, "input_size", input_size) if input_size != 0 else 0
        hidden_size = _size_arg(who, "hidden_size", hidden_size)
        num_layers = _size_arg(who, "num_layers", num_layers)
        if proj_size != 0:
            raise ValueError(f"{who}: proj_size is not supported (got {proj_size})")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                          UserWarning, stacklevel=2)
        self.mode, self._who = mode, who
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        gate_size = _GATES[mode] * hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * directions
            for suffix in ("", "_reverse")[:directions]:
                shapes = [("weight_ih", (gate_size, layer_input)), ("weight_hh", (gate_size, hidden_size))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                for kind, shape in shapes:
                    name = f"{kind}_l{layer}{suffix}"
                    setattr(self, name, Parameter(empty(*shape, device=device, dtype=dtype)))
                    self._flat_weights_names.append(name)
        self.reset_parameters()

    def reset_parameters(self):
        _reset_uniform(self)

    def flatten_parameters(self):
        """A no-op kept for PyTorch code (which calls it for cuDNN's weight layout)."""

    @property
    def all_weights(self):
        per = 4 if self.bias else 2
        ws = [getattr(self, n) for n in self._flat_weights_names]
        return [ws[i:i + per] for i in range(0, len(ws), per)]

    def _layer_weights(self, layer, reverse):
        suffix = f"_l{layer}{'_reverse' if reverse else ''}"
        get = lambda kind: getattr(self, kind + suffix) if self.bias or kind.startswith("weight") else None  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")

    def _check_hidden(self, h, expected, label, batched):
        _check_like(self._who, "hx", h, self.weight_ih_l0)
        got = tuple(h.shape) if batched else tuple(h.shape[:1]) + (1,) + tuple(h.shape[1:])
        if got != expected:
            shown = list(h.shape) if batched else [expected[0]] + list(h.shape[1:])
            raise RuntimeError(f"{self._who}: Expected {label} size {expected}, got {shown}")

    def forward(self, input, hx=None):
        who, lstm = self._who, self.mode == "LSTM"
        _check_like(who, "input", input, self.weight_ih_l0)
        if input.dim() not in (2, 3):
            tail = " tensor" if who == "RNN" else ""
            raise ValueError(f"{who}: Expected input to be 2D or 3D, got {input.dim()}D{tail} instead")
        batched = input.dim() == 3
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{who}: input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                               f"got {input.shape[-1]}")
        if input.shape[1 if batched and self.batch_first else 0] == 0:
            raise RuntimeError(f"{who}: Expected sequence length to be larger than 0 in RNN")
        directions = 2 if self.bidirectional else 1
        x = input if batched else input.unsqueeze(1)
        if batched and self.batch_first:
            x = x.transpose(0, 1)
        expected = (self.num_layers * directions, x.shape[1], self.hidden_size)
        if hx is None:
            h0 = zeros(*expected, dtype=input.dtype, device=input.device)
            c0 = h0 if lstm else None
        else:
            h0, c0 = self._initial_states(hx, batched, expected)
        out, h_n, c_n = self._run(x, h0, c0, directions)
        if batched and self.batch_first:
            out = out.transpose(0, 1)
        if not batched:
            out, h_n = out.squeeze(1), h_n.squeeze(1)
            c_n = c_n.squeeze(1) if lstm else None
        return (out, (h_n, c_n)) if lstm else (out, h_n)

    def _initial_states(self, hx, batched, expected):
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
            for i, t in enumerate(hx):
                self._check_hidden(t, expected, f"hidden[{i}]", batched)
            h0, c0 = hx
        else:
            _tensor(self._who, "hx", hx)
            if hx.dim() != want:
                raise RuntimeError(f"{self._who}: For {kind} input, hx should also be {want}-D but got "
                                   f"{hx.dim()}-D tensor")
            self._check_hidden(hx, expected, "hidden", batched)
            h0, c0 = hx, None
        if not batched:
            h0, c0 = h0.unsqueeze(1), (c0.unsqueeze(1) if c0 is not None else None)
        return h0, c0

    def _run(self, x, h0, c0, directions):
        """The stacked layers over x (T, B, I): output (T, B, D*H), h_n and c_n (L*D, B, H)."""
        hs, cs = [], []
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0 and self.training:
                x = FL.dropout(x, self.dropout, True)
            outs = []
            for d in range(directions):
                k = layer * directions + d
                w_ih, w_hh, b_ih, b_hh = self._layer_weights(layer, d == 1)
                proj = F.linear(x, w_ih, b_ih)              # every time step's input projection at once
                h, c = h0[k], (c0[k] if c0 is not None else None)
                steps = range(x.shape[0] - 1, -1, -1) if d == 1 else range(x.shape[0])
                seq = [None] * x.shape[0]
                for t in steps:
                    h, c = _step(self.mode, proj[t], h, c, w_hh, b_hh)
                    seq[t] = h
                outs.append(stack(seq))
                hs.append(h)
                cs.append(c)
            x = outs[0] if directions == 1 else cat(outs, -1)
        return x, stack(hs), (stack(cs) if self.mode == "LSTM" else None)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
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
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        mode = "RNN_TANH" if _nonlinearity("RNN", nonlinearity) == "tanh" else "RNN_RELU"
        self.nonlinearity = nonlinearity
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)


class LSTM(RNNBase):
    """Long short-term memory; gates in PyTorch's order i, f, g, o. Returns (output, (h_n, c_n))."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit; gates r, z, n with n = tanh(W_in x + b_in + r * (W_hn h + b_hn))."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None):
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
