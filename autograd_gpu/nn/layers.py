"""Layers beyond Linear: Dropout, LayerNorm, BatchNorm1d/2d, Embedding, Flatten,
Unflatten, Identity; and the containers ModuleList and ModuleDict."""
import math
import numbers

from .. import _dtype
from ..autograd.grad_mode import no_grad
from ..creation import empty, ones, tensor, zeros
from . import functional_layers as FL
from . import init
from .container import ModuleDict, ModuleList, ParameterDict, ParameterList
from .module import Module
from .parameter import Parameter

__all__ = ["Dropout", "LayerNorm", "BatchNorm1d", "BatchNorm2d", "Embedding", "Flatten", "Unflatten", "Identity",
           "ModuleList", "ModuleDict", "ParameterList", "ParameterDict", "Dropout1d", "Dropout2d", "Dropout3d",
           "AlphaDropout", "FeatureAlphaDropout", "Bilinear", "EmbeddingBag"]


def _count_arg(who, name, n):
    if not isinstance(n, numbers.Integral) or isinstance(n, bool):
        raise TypeError(f"{who}(): {name} must be an int, got {type(n).__name__}")
    if n < 0:
        raise ValueError(f"{who}(): {name} must be >= 0, got {n}")
    return int(n)


def affine_parameters(module, shape, affine, bias, device, dtype):
    """Register weight and bias of `shape` (bias only with `bias`; None when not affine)."""
    module.register_parameter("weight", Parameter(empty(*shape, device=device, dtype=dtype)) if affine else None)
    module.register_parameter("bias", Parameter(empty(*shape, device=device, dtype=dtype)) if affine and bias
                              else None)


def reset_affine(module):
    """A normalization's affine parameters back to the identity: weight 1, bias 0 (those it has)."""
    if module.weight is not None:
        init.ones_(module.weight)
    if getattr(module, "bias", None) is not None:
        init.zeros_(module.bias)


class Dropout(Module):
    """During training, zeroes each element with probability p and scales
    the others by 1/(1-p); in eval mode, the identity."""

    _fn = staticmethod(FL.dropout)

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        FL._check_p(type(self).__name__, p)
        self.p = p
        self.inplace = inplace

    def forward(self, input):
        return type(self)._fn(input, self.p, self.training, self.inplace)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(Dropout):
    """Zeroes whole channels of (N, C, L) or (C, L) input in training."""
    _fn = staticmethod(FL.dropout1d)


class Dropout2d(Dropout):
    """Zeroes whole channels of (N, C, H, W) or (C, H, W) input in training."""
    _fn = staticmethod(FL.dropout2d)


class Dropout3d(Dropout):
    """Zeroes whole channels of (N, C, D, H, W) or (C, D, H, W) input in training."""
    _fn = staticmethod(FL.dropout3d)


class AlphaDropout(Dropout):
    """Dropout that keeps a SELU network's mean and variance (F.alpha_dropout);
    `inplace` is accepted and, as in PyTorch, not used."""
    _fn = staticmethod(FL.alpha_dropout)

    def forward(self, input):
        return type(self)._fn(input, self.p, self.training)


class FeatureAlphaDropout(AlphaDropout):
    """Alpha dropout of whole channels (F.feature_alpha_dropout)."""
    _fn = staticmethod(FL.feature_alpha_dropout)


class LayerNorm(Module):
    """Normalises over the trailing `normalized_shape` dims, then applies a
    learnt elementwise scale (weight, ones) and shift (bias, zeros)."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        self.normalized_shape = FL._normalized_shape("LayerNorm", normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        affine_parameters(self, self.normalized_shape, elementwise_affine, bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self):
        reset_affine(self)

    def forward(self, input):
        return FL.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class _BatchNorm(Module):
    """Per-channel (dim 1) normalisation by the batch's statistics in
    training and by running statistics in eval. Buffers running_mean,
    running_var and num_batches_tracked (if track_running_stats); momentum
    None makes the running statistics a cumulative average."""

    _dims = ()          # the input dims a subclass accepts

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None,
                 dtype=None, *, bias=True):
        super().__init__()
        self.num_features = _count_arg(type(self).__name__, "num_features", num_features)
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        kw = dict(device=device, dtype=dtype)
        affine_parameters(self, (num_features,), affine, bias, device, dtype)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, **kw))
            self.register_buffer("running_var", ones(num_features, **kw))
            self.register_buffer("num_batches_tracked", tensor(0, dtype=_dtype.int64, device=device))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)
        self.reset_parameters()

    def reset_running_stats(self):
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1)
                self.num_batches_tracked.zero_()

    def reset_parameters(self):
        self.reset_running_stats()
        reset_affine(self)

    def _check_input_dim(self, input):
        """The input dims a subclass accepts (its _dims): PyTorch's hook, which a subclass may override."""
        if input.dim() not in self._dims:
            want = " or ".join(f"{d}D" for d in self._dims)
            raise ValueError(f"{type(self).__name__}: expected {want} input (got {input.dim()}D input)")

    def forward(self, input):
        name = type(self).__name__
        self._check_input_dim(FL._tensor_arg(input, name, "input"))
        # batch statistics in training, or when there are no running ones
        use_batch = self.training or self.running_mean is None
        stats = (None, None) if self.training and not self.track_running_stats else (
            self.running_mean, self.running_var)
        FL._check_batch_norm(name, input, *stats, self.weight, self.bias, use_batch, self.eps)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / int(self.num_batches_tracked)
        return FL._batch_norm(input, *stats, self.weight, self.bias, use_batch, factor, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) input."""
    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) input."""
    _dims = (4,)


class Embedding(Module):
    """A lookup table of num_embeddings vectors of size embedding_dim
    (weight, drawn from N(0, 1); the padding_idx row starts at zero and
    gets no gradient)."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, sparse=False, _weight=None, _freeze=False, device=None, dtype=None):
        super().__init__()
        self.num_embeddings = _count_arg("Embedding", "num_embeddings", num_embeddings)
        self.embedding_dim = _count_arg("Embedding", "embedding_dim", embedding_dim)
        self.padding_idx = FL._padding_idx("Embedding", padding_idx, num_embeddings)
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.sparse = sparse
        if _weight is None:
            self.weight = Parameter(empty(num_embeddings, embedding_dim, device=device, dtype=dtype),
                                    requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise AssertionError(f"Embedding: Shape of weight does not match num_embeddings and embedding_dim "
                                     f"(weight {list(_weight.shape)}, expected [{num_embeddings}, {embedding_dim}])")
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx].fill_(0)

    def forward(self, input):
        return FL.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                            self.scale_grad_by_freq, self.sparse)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, sparse=False):
        """An Embedding holding `embeddings` (2-D) as its weight; frozen by default."""
        if embeddings.dim() != 2:
            raise AssertionError("Embedding.from_pretrained: Embeddings parameter is expected to be 2-dimensional, "
                                 f"got shape {list(embeddings.shape)}")
        rows, cols = embeddings.shape
        return cls(rows, cols, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse, _weight=embeddings,
                   _freeze=freeze)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        if self.sparse is not False:
            s += ", sparse=True"
        return s


class Bilinear(Module):
    """y = x1^T A x2 + b: weight (out_features, in1_features, in2_features) and
    bias (out_features,), both drawn from U(-1/sqrt(in1_features), 1/sqrt(in1_features))."""

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in1_features = _count_arg("Bilinear", "in1_features", in1_features)
        self.in2_features = _count_arg("Bilinear", "in2_features", in2_features)
        self.out_features = _count_arg("Bilinear", "out_features", out_features)
        kw = dict(device=device, dtype=dtype)
        self.weight = Parameter(empty(out_features, in1_features, in2_features, **kw))
        self.register_parameter("bias", Parameter(empty(out_features, **kw)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.weight.shape[1]) if self.weight.shape[1] else 0.0
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        return FL.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class EmbeddingBag(Module):
    """Sums, means or maxima of bags of rows of an embedding table (weight
    drawn from N(0, 1); the padding_idx row starts at zero and is left out of
    every bag)."""

    def __init__(self, num_embeddings, embedding_dim, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
                 mode="mean", sparse=False, _weight=None, include_last_offset=False, padding_idx=None, device=None,
                 dtype=None):
        super().__init__()
        self.num_embeddings = _count_arg("EmbeddingBag", "num_embeddings", num_embeddings)
        self.embedding_dim = _count_arg("EmbeddingBag", "embedding_dim", embedding_dim)
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.padding_idx = FL._padding_idx("EmbeddingBag", padding_idx, num_embeddings)
        if mode not in FL._BAG_MODES:
            raise ValueError(f"EmbeddingBag: mode has to be one of sum, mean or max, got {mode!r}")
        self.mode = mode
        self.sparse = sparse
        self.include_last_offset = include_last_offset
        if _weight is None:
            self.weight = Parameter(empty(num_embeddings, embedding_dim, device=device, dtype=dtype))
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise AssertionError("EmbeddingBag: Shape of weight does not match num_embeddings and embedding_dim "
                                     f"(weight {list(_weight.shape)}, expected [{num_embeddings}, {embedding_dim}])")
            self.weight = Parameter(_weight)

    reset_parameters = Embedding.reset_parameters

    def forward(self, input, offsets=None, per_sample_weights=None):
        return FL.embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type, self.scale_grad_by_freq,
                                self.mode, self.sparse, per_sample_weights, self.include_last_offset,
                                self.padding_idx)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
                        mode="mean", sparse=False, include_last_offset=False, padding_idx=None):
        """An EmbeddingBag holding `embeddings` (2-D) as its weight; frozen by default."""
        if embeddings.dim() != 2:
            raise AssertionError("EmbeddingBag.from_pretrained: Embeddings parameter is expected to be "
                                 f"2-dimensional, got shape {list(embeddings.shape)}")
        rows, cols = embeddings.shape
        bag = cls(rows, cols, max_norm, norm_type, scale_grad_by_freq, mode, sparse, embeddings,
                  include_last_offset, padding_idx)
        bag.weight.requires_grad_(not freeze)
        return bag

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        s += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s


class _ShapeModule(Module):
    """A Tensor shape method applied with the module's settings (named in _args, shown in the repr)."""
    _method, _args = "", ()

    def forward(self, input):
        return getattr(input, self._method)(*(getattr(self, a) for a in self._args))

    def extra_repr(self):
        return ", ".join(f"{a}={getattr(self, a)}" for a in self._args)


class Flatten(_ShapeModule):
    """input.flatten(start_dim, end_dim)."""
    _method, _args = "flatten", ("start_dim", "end_dim")

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim


class Unflatten(_ShapeModule):
    """input.unflatten(dim, unflattened_size): one dim split into several."""
    _method, _args = "unflatten", ("dim", "unflattened_size")

    def __init__(self, dim, unflattened_size):
        super().__init__()
        if not isinstance(dim, int) or isinstance(dim, bool):
            raise TypeError(f"Unflatten: invalid argument type for dim parameter: {type(dim).__name__} (expected int)")
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError(f"Unflatten: unflattened_size must be a tuple of ints, but found type "
                            f"{type(unflattened_size).__name__}")
        for i, n in enumerate(unflattened_size):
            if not isinstance(n, int) or isinstance(n, bool):
                raise TypeError(f"Unflatten: unflattened_size must be tuple of ints, but found element of type "
                                f"{type(n).__name__} at pos {i}")
        self.dim = dim
        self.unflattened_size = unflattened_size


class Identity(Module):
    """Returns its input; takes (and ignores) any arguments."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input
