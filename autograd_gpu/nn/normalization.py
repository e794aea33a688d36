"""Normalization layers beyond LayerNorm and BatchNorm1d/2d (after torch.nn): GroupNorm, InstanceNorm1d/2d/3d,
BatchNorm3d, RMSNorm, LocalResponseNorm, CrossMapLRN2d."""
import warnings

from ..creation import empty
from . import functional_layers as FL
from . import functional_norms as FN
from .layers import affine_parameters, _BatchNorm, reset_affine
from .module import Module
from .parameter import Parameter

__all__ = ["BatchNorm3d", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "RMSNorm",
           "LocalResponseNorm", "CrossMapLRN2d"]


class BatchNorm3d(_BatchNorm):
    """Batch normalisation of (N, C, D, H, W) input."""
    _dims = (5,)


class GroupNorm(Module):
    """Normalises groups of channels of each sample (F.group_norm), then a
    learnt per-channel scale (weight, ones) and shift (bias, zeros)."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        FN._int_arg("GroupNorm", "num_groups", num_groups)
        FN._int_arg("GroupNorm", "num_channels", num_channels)
        if num_groups == 0:
            raise ZeroDivisionError("GroupNorm: integer modulo by zero (num_groups=0)")
        if num_channels % num_groups != 0:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        affine_parameters(self, (num_channels,), affine, bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self):
        reset_affine(self)

    def forward(self, input):
        return FN.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class _InstanceNorm(_BatchNorm):
    """Per-sample, per-channel normalisation over the spatial dims
    (F.instance_norm). PyTorch's defaults: no affine parameters, no running
    statistics; with track_running_stats they are updated in training and
    used in eval (num_batches_tracked is kept but, as in PyTorch, never
    counted). Accepts unbatched input (one dim fewer)."""

    _dims = ()          # (unbatched, batched) input dims

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False, device=None,
                 dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)

    def _get_no_batch_dim(self):
        """The dims of unbatched input (PyTorch's hook, with _check_input_dim)."""
        return self._dims[0]

    def _check_input_dim(self, input):
        if input.dim() not in self._dims:
            raise ValueError(f"{type(self).__name__}: expected {self._dims[0]}D or {self._dims[1]}D input (got "
                             f"{input.dim()}D input)")

    def forward(self, input):
        name = type(self).__name__
        self._check_input_dim(FL._tensor_arg(input, name, "input"))
        no_batch = self._get_no_batch_dim()
        feature_dim = input.dim() - no_batch
        if input.shape[feature_dim] != self.num_features:
            if self.affine:
                raise ValueError(f"{name}: expected input's size at dim={feature_dim} to match num_features "
                                 f"({self.num_features}), but got: {input.shape[feature_dim]}.")
            warnings.warn(f"{name}: input's size at dim={feature_dim} does not match num_features. You can silence "
                          "this warning by not passing in num_features, which is not used because affine=False",
                          UserWarning, stacklevel=3)
        unbatched = input.dim() == no_batch
        batch = input.unsqueeze(0) if unbatched else input
        out = FN._instance_norm(name, batch, self.running_mean, self.running_var, self.weight, self.bias,
                                self.training or not self.track_running_stats,
                                0.0 if self.momentum is None else self.momentum, self.eps)
        return out.squeeze(0) if unbatched else out


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of (N, C, L) or (C, L) input."""
    _dims = (2, 3)


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of (N, C, H, W) or (C, H, W) input."""
    _dims = (3, 4)


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation of (N, C, D, H, W) or (C, D, H, W) input."""
    _dims = (4, 5)


class RMSNorm(Module):
    """Divides by the root mean square over the trailing normalized_shape
    dims (F.rms_norm), then a learnt elementwise scale (weight, ones).
    eps=None: the machine epsilon of the computing type."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None, dtype=None):
        super().__init__()
        self.normalized_shape = FL._normalized_shape("RMSNorm", normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        weight = Parameter(empty(*self.normalized_shape, device=device, dtype=dtype)) if elementwise_affine else None
        self.register_parameter("weight", weight)
        self.reset_parameters()

    def reset_parameters(self):
        reset_affine(self)

    def forward(self, input):
        return FN.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class _ResponseNorm(Module):
    """The settings of a local response normalisation across channels."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class LocalResponseNorm(_ResponseNorm):
    """F.local_response_norm over the channels (dim 1) of (N, C, *) input."""

    def forward(self, input):
        return FN.local_response_norm(input, self.size, self.alpha, self.beta, self.k)


class CrossMapLRN2d(_ResponseNorm):
    """PyTorch's legacy cross-channel LRN of (N, C, H, W) input, its window
    included (see functional_norms._cross_map_window)."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1):
        super().__init__(size, alpha, beta, k)

    def forward(self, input):
        return FN._cross_map_lrn2d(input, self.size, self.alpha, self.beta, self.k)
