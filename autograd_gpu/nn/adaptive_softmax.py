"""AdaptiveLogSoftmaxWithLoss (torch.nn): a head over frequent classes and clusters of the rare ones."""
from collections import namedtuple

import numpy as np

from ..creation import zeros
from ..ops.shape import cat
from ..tensor import Tensor
from . import functional as F
from .container import ModuleList, Sequential
from .linear import Linear
from .module import Module

__all__ = ["AdaptiveLogSoftmaxWithLoss"]

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])

_NAME = "AdaptiveLogSoftmaxWithLoss"


def _check_cutoffs(cutoffs, n_classes):
    if len(cutoffs) == 0:
        raise ValueError(f"{_NAME}: cutoffs should be a sequence of length larger than 0")
    if (cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > n_classes - 1
            or len(set(cutoffs)) != len(cutoffs) or any(int(c) != c for c in cutoffs)):
        raise ValueError(f"{_NAME}: cutoffs should be a sequence of unique, positive integers sorted in an "
                         f"increasing order, where each value is between 1 and n_classes-1 (got cutoffs={cutoffs}, "
                         f"n_classes={n_classes})")


class AdaptiveLogSoftmaxWithLoss(Module):
    """Efficient softmax approximation (Grave et al.): the `head` Linear scores
    the cutoffs[0] most frequent classes and one entry per cluster; cluster i
    (classes cutoffs[i] to cutoffs[i + 1]) scores its classes through
    `tail[i]`, a Sequential of two bias-free Linears narrowing to
    in_features // div_value ** (i + 1). A class's log-probability is its
    head log-probability, or its cluster's plus its own within the cluster.
    forward(input, target) returns (output, loss): each row's target
    log-probability and the mean negative of them."""

    def __init__(self, in_features, n_classes, cutoffs, div_value=4.0, head_bias=False, device=None, dtype=None):
        super().__init__()
        cutoffs = list(cutoffs)
        _check_cutoffs(cutoffs, n_classes)
        self.in_features, self.n_classes = in_features, n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value, self.head_bias = div_value, head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = Linear(in_features, self.head_size, bias=head_bias, device=device, dtype=dtype)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hidden = int(in_features // (div_value ** (i + 1)))
            size = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(Linear(in_features, hidden, bias=False, device=device, dtype=dtype),
                                        Linear(hidden, size, bias=False, device=device, dtype=dtype)))

    def reset_parameters(self):
        self.head.reset_parameters()
        for i2h, h2o in self.tail:
            i2h.reset_parameters()
            h2o.reset_parameters()

    # ---- forward ------------------------------------------------------------------------

    def _check_forward(self, input, target):
        for what, t in (("input", input), ("target", target)):
            if not isinstance(t, Tensor):
                raise TypeError(f"{_NAME}.forward(): argument '{what}' must be Tensor, not {type(t).__name__}")
        if target.dim() == 1:
            if input.dim() == 0 or input.shape[0] != target.shape[0]:
                raise RuntimeError(f"{_NAME}: Input and target should have the same size in the batch dimension "
                                   f"(input {list(input.shape)}, target {list(target.shape)}).")
            if input.dim() != 2:
                raise RuntimeError(f"{_NAME}: 1D target tensor expects 2D input tensors, but found inputs with "
                                   f"size {list(input.shape)}")
        elif target.dim() == 0:
            if input.dim() != 1:
                raise RuntimeError(f"{_NAME}: 0D target tensor expects 1D input tensors, but found inputs with "
                                   f"size {list(input.shape)}")
        else:
            raise RuntimeError(f"{_NAME}: 0D or 1D target tensor expected, multi-target not supported (got target "
                               f"of size {list(target.shape)})")
        if target.dtype.libtorch not in ("Int", "Long"):
            raise RuntimeError(f"{_NAME}: gather(): Expected dtype int32/int64 for index, got target of dtype "
                               f"{target.dtype.libtorch}")
        if target.device != input.device:
            raise RuntimeError(f"{_NAME}: expected all tensors to be on the same device, but input is on "
                               f"{input.device} and target on {target.device}")

    def _target_on_host(self, target):
        """The targets as a NumPy int64 array, after PyTorch's range check (which reads them back too)."""
        t = np.asarray(target._host(), dtype=np.int64).reshape(-1)
        if t.size and (t.min() < 0 or t.max() > self.n_classes - 1):
            raise RuntimeError(f"{_NAME}: Target values should be in [0, {self.n_classes - 1}], but values in "
                               f"range [{t.min()}, {t.max()}] were found. ")
        return t

    def _index(self, like, a):
        return Tensor._make(like._backend.from_host(np.ascontiguousarray(a, dtype=np.int64)), like._backend)

    def forward(self, input, target):
        self._check_forward(input, target)
        batched = target.dim() == 1
        x = input if batched else input.unsqueeze(0)
        t = self._target_on_host(target)
        head_column = np.minimum(t, self.shortlist_size)        # shortlist classes, or their cluster's entry
        rows, local = [], []
        for i in range(self.n_clusters):
            low, high = self.cutoffs[i], self.cutoffs[i + 1]
            in_cluster = np.flatnonzero((t >= low) & (t < high))
            if in_cluster.size == 0:
                continue
            head_column[in_cluster] = self.shortlist_size + i
            idx = self._index(x, in_cluster)
            logprob = F.log_softmax(self.tail[i](x.index_select(0, idx)), dim=1)
            local.append(logprob.gather(1, self._index(x, t[in_cluster] - low)[:, None]).squeeze(1))
            rows.append(idx)
        head_logprob = F.log_softmax(self.head(x), dim=1)
        output = head_logprob.gather(1, self._index(x, head_column)[:, None]).squeeze(1)
        if local:
            # each row in at most one cluster: scattered into zeros, added once (PyTorch's order of sums)
            tails = zeros(x.shape[0], dtype=output.dtype, device=output.device).scatter(0, cat(rows), cat(local))
            output = tails + output
        loss = (-output).mean()
        return _ASMoutput(output if batched else output.squeeze(0), loss)

    # ---- full distribution --------------------------------------------------------------

    def _check_rows(self, fn, input):
        if not isinstance(input, Tensor):
            raise TypeError(f"{_NAME}.{fn}(): argument 'input' must be Tensor, not {type(input).__name__}")
        if input.dim() != 2:
            err = IndexError if input.dim() < 2 else RuntimeError       # (PyTorch's reads a dim 1 a 1-D lacks)
            raise err(f"{_NAME}.{fn}(): expected a 2D input (batch, in_features), but got input of size "
                      f"{list(input.shape)}")

    def _full_log_prob(self, input, head_output):
        head_logprob = F.log_softmax(head_output, dim=1)
        parts = [head_logprob[:, :self.shortlist_size]]
        for i in range(self.n_clusters):
            cluster_logprob = F.log_softmax(self.tail[i](input), dim=1)
            parts.append(cluster_logprob + head_logprob[:, self.shortlist_size + i].unsqueeze(1))
        return cat(parts, dim=1)

    def log_prob(self, input):
        """Log-probabilities of all n_classes classes for each row of (N, in_features): (N, n_classes)."""
        self._check_rows("log_prob", input)
        return self._full_log_prob(input, self.head(input))

    def predict(self, input):
        """The most probable class of each row of (N, in_features) (log_prob(input).argmax(1), computing
        the clusters only for rows whose head's best entry is a cluster)."""
        self._check_rows("predict", input)
        head_output = self.head(input)
        output = head_output.argmax(dim=1)
        in_cluster = np.flatnonzero(np.asarray(output._host()) >= self.shortlist_size)
        if in_cluster.size == 0:
            return output
        if in_cluster.size == output.shape[0]:
            return self._full_log_prob(input, head_output).argmax(dim=1)
        rows = self._index(input, in_cluster)
        best = self._full_log_prob(input.index_select(0, rows), head_output.index_select(0, rows)).argmax(dim=1)
        return output.scatter(0, rows, best)
