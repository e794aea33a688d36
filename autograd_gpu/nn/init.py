"""Weight initialisation (`ag.nn.init`), as PyTorch's `torch.nn.init`: each
function fills a tensor in place without recording a graph and returns it;
generator= (an ag.Generator of the tensor's device type) gives the draws
their own stream instead of the device's default generator."""
import math
import warnings

import numpy as np

from ..autograd.grad_mode import no_grad
from ..creation import as_tensor, empty, eye as _eye, randperm
from ..ops._util import check_generator, drawing_from, generator_engine

_LINEAR_GAINS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                 "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity (PyTorch's table)."""
    if nonlinearity in _LINEAR_GAINS:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor):
    if tensor.dim() < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions "
                         f"(got shape {list(tensor.shape)})")
    receptive = 1
    for n in tensor.shape[2:]:
        receptive *= n
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fan(tensor, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _drawing(op_name, tensor, generator):
    """A block whose draws on tensor's device come from generator (None: the default one)."""
    check_generator(op_name, generator)
    backend = getattr(tensor, "_backend", None)          # (not a tensor: its fill method refuses it)
    engine = None if generator is None or backend is None else generator_engine(op_name, generator, backend)
    return drawing_from(backend, engine)


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with draws from U(a, b)."""
    with no_grad(), _drawing("uniform_", tensor, generator):
        return tensor.uniform_(a, b)


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with draws from N(mean, std^2)."""
    with no_grad(), _drawing("normal_", tensor, generator):
        return tensor.normal_(mean, std)


def constant_(tensor, val):
    with no_grad():
        return tensor.fill_(val)


def zeros_(tensor):
    with no_grad():
        return tensor.zero_()


def ones_(tensor):
    with no_grad():
        return tensor.fill_(1.0)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He initialisation: U(-bound, bound), bound = gain * sqrt(3 / fan)."""
    fan = _fan(tensor, mode)
    if fan == 0:
        return tensor                 # PyTorch warns and leaves a 0-element tensor alone
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """Glorot initialisation: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(6.0 / float(fan_in + fan_out))
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """Glorot initialisation: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)), generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He initialisation: N(0, std^2), std = gain / sqrt(fan)."""
    if 0 in tuple(tensor.shape):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _fan(tensor, mode)
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan), generator)


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """N(mean, std^2) truncated to [a, b], by the inverse CDF of a uniform draw."""
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                      "The distribution of values may be incorrect.", stacklevel=2)
    cdf = lambda x: (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0  # noqa: E731
    lo, hi = cdf((a - mean) / std), cdf((b - mean) / std)
    with no_grad():
        uniform_(tensor, 2 * lo - 1, 2 * hi - 1, generator)
        tensor.erfinv_()
        tensor.mul_(std * math.sqrt(2.0))
        tensor.add_(mean)
        return tensor.clamp_(min=a, max=b)


def orthogonal_(tensor, gain=1, generator=None):
    """A (semi-)orthogonal matrix over the dims after the first, times gain:
    the Q of a Gaussian matrix's QR with R's diagonal made positive."""
    if tensor.dim() < 2:
        raise ValueError(f"orthogonal_: Only tensors with 2 or more dimensions are supported "
                         f"(got shape {list(tensor.shape)})")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    with no_grad():
        draw = normal_(empty(rows, cols, dtype=tensor.dtype, device=tensor.device), 0, 1, generator)
        flat = draw.cpu().numpy().astype(np.float64)
        flat = flat.T if rows < cols else flat
        q, r = np.linalg.qr(flat)          # host QR: a one-off at initialisation
        q = q * np.sign(np.diag(r))
        q = q.T if rows < cols else q
        q = as_tensor(np.ascontiguousarray(q * gain), dtype=tensor.dtype, device=tensor.device)
        return tensor.copy_(q.reshape(tensor.shape))


def eye_(tensor):
    """The identity matrix (2-D only)."""
    if tensor.dim() != 2:
        raise ValueError(f"eye_: Only tensors with 2 dimensions are supported (got shape {list(tensor.shape)})")
    with no_grad():
        return tensor.copy_(_eye(tensor.shape[0], tensor.shape[1], dtype=tensor.dtype, device=tensor.device))


def dirac_(tensor, groups=1):
    """The Dirac delta at each kernel's centre (3-, 4- or 5-D): a convolution
    that keeps as many input channels as it can, in each of `groups` groups."""
    if tensor.dim() not in (3, 4, 5):
        raise ValueError(f"dirac_: Only tensors with 3, 4, or 5 dimensions are supported "
                         f"(got shape {list(tensor.shape)})")
    if tensor.shape[0] % groups != 0:
        raise ValueError(f"dirac_: dim 0 must be divisible by groups (got {tensor.shape[0]} and groups={groups})")
    per_group = tensor.shape[0] // groups
    centre = tuple(n // 2 for n in tensor.shape[2:])
    values = np.zeros(tuple(tensor.shape))
    for g in range(groups):
        for d in range(min(per_group, tensor.shape[1])):
            values[(g * per_group + d, d) + centre] = 1
    with no_grad():
        return tensor.copy_(as_tensor(values, dtype=tensor.dtype, device=tensor.device))


def sparse_(tensor, sparsity, std=0.01, generator=None):
    """N(0, std^2) with ceil(sparsity * rows) zeros in each column (2-D only)."""
    if tensor.dim() != 2:
        raise ValueError(f"sparse_: Only tensors with 2 dimensions are supported (got shape {list(tensor.shape)})")
    rows, cols = tensor.shape
    num_zeros = int(math.ceil(sparsity * rows))
    with no_grad():
        normal_(tensor, 0, std, generator)
        for c in range(cols):               # (PyTorch's zeros come from the default generator, not generator)
            tensor[randperm(rows, device=tensor.device)[:num_zeros], c] = 0
        return tensor


# ---- PyTorch's deprecated names without the trailing underscore ------------------------------------

def _deprecated_alias(fill):
    new_name = fill.__name__
    old_name = new_name[:-1]

    def deprecated_init(*args, **kwargs):
        warnings.warn(f"`nn.init.{old_name}` is now deprecated in favor of `nn.init.{new_name}`.",
                      FutureWarning, stacklevel=2)
        return fill(*args, **kwargs)

    deprecated_init.__name__ = deprecated_init.__qualname__ = old_name
    deprecated_init.__doc__ = f"{old_name}(...): deprecated, use nn.init.{new_name} (same arguments)."
    return deprecated_init


uniform = _deprecated_alias(uniform_)
normal = _deprecated_alias(normal_)
constant = _deprecated_alias(constant_)
dirac = _deprecated_alias(dirac_)
xavier_uniform = _deprecated_alias(xavier_uniform_)
xavier_normal = _deprecated_alias(xavier_normal_)
kaiming_uniform = _deprecated_alias(kaiming_uniform_)
kaiming_normal = _deprecated_alias(kaiming_normal_)
orthogonal = _deprecated_alias(orthogonal_)
sparse = _deprecated_alias(sparse_)
eye = _deprecated_alias(eye_)
