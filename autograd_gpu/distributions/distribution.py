"""Distribution: the base of every distribution (torch.distributions.Distribution).

A distribution holds parameters broadcast to batch_shape; each draw has
event_shape. Subclasses give arg_constraints, support and the methods they
have; the rest raise NotImplementedError as torch's."""
import warnings

import autograd_gpu as _ag
from ..tensor import Tensor
from . import constraints
from .utils import is_all_true, lazy_property

__all__ = ["Distribution"]


def _format_parameter(value):
    """A parameter in repr: its value when it has one element, else its shape (torch's form)."""
    if value.numel() == 1:
        return str(value.item()) if value.dim() == 0 else repr(value.tolist())
    return f"torch.Size({list(value.shape)})"


class Distribution:
    has_rsample = False
    has_enumerate_support = False
    _validate_args = __debug__
    _expand_names = ()              # the tensor parameters expand() broadcasts to a new batch shape

    @staticmethod
    def set_default_validate_args(value):
        """Turn argument and sample validation on or off for distributions built later without validate_args."""
        if value not in (True, False):
            raise ValueError(f"set_default_validate_args(): value must be True or False, got {value!r}")
        Distribution._validate_args = value

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape, self._event_shape = tuple(batch_shape), tuple(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            self._check_parameters()

    def _check_parameters(self):
        try:
            arg_constraints = self.arg_constraints
        except NotImplementedError:
            arg_constraints = {}
            warnings.warn(f"{self.__class__} does not define `arg_constraints`. Please set `arg_constraints = {{}}` "
                          f"or initialize the distribution with `validate_args=False` to turn off validation.")
        for param, constraint in arg_constraints.items():
            if constraints.is_dependent(constraint):
                continue
            if param not in self.__dict__ and isinstance(getattr(type(self), param, None), lazy_property):
                continue                    # (a derived parameter not built yet)
            value = getattr(self, param)
            if not is_all_true(constraint.check(value)):
                raise ValueError(f"Expected parameter {param} ({type(value).__name__} of shape "
                                 f"{tuple(value.shape)}) of distribution {self!r} to satisfy the constraint "
                                 f"{constraint!r}, but found invalid values:\n{value}")

    # ---- shapes -------------------------------------------------------------------------
    @property
    def batch_shape(self):
        return self._batch_shape

    @property
    def event_shape(self):
        return self._event_shape

    def _extended_shape(self, sample_shape=()):
        return tuple(sample_shape) + self._batch_shape + self._event_shape

    def _get_checked_instance(self, cls, _instance=None):
        if _instance is None and type(self).__init__ != cls.__init__:
            raise NotImplementedError(f"Subclass {self.__class__.__name__} of {cls.__name__} that defines a custom "
                                      f"__init__ method must also define a custom .expand() method.")
        return self.__new__(type(self)) if _instance is None else _instance

    def expand(self, batch_shape, _instance=None):
        """A view of this distribution with parameters broadcast to batch_shape (no copy)."""
        new = self._get_checked_instance(type(self), _instance)
        batch_shape = tuple(batch_shape)
        kept = len(self._batch_shape)
        for name, value in self.__dict__.items():
            if name in self._expand_names:
                value = value.expand(batch_shape + tuple(value.shape[kept:]))
            elif isinstance(value, Distribution) and name in ("base_dist", "_categorical"):
                value = value.expand(batch_shape)
            new.__dict__.setdefault(name, value)
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    # ---- what subclasses give -------------------------------------------------------------
    @property
    def arg_constraints(self):
        raise NotImplementedError

    @property
    def support(self):
        raise NotImplementedError

    @property
    def mean(self):
        raise NotImplementedError(f"{self.__class__} does not implement mean")

    @property
    def mode(self):
        raise NotImplementedError(f"{self.__class__} does not implement mode")

    @property
    def variance(self):
        raise NotImplementedError(f"{self.__class__} does not implement variance")

    @property
    def stddev(self):
        return self.variance.sqrt()

    def sample(self, sample_shape=()):
        """A draw (no gradient) of shape sample_shape + batch_shape + event_shape."""
        with _ag.no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=()):
        raise NotImplementedError

    def sample_n(self, n):
        warnings.warn("sample_n will be deprecated. Use .sample((n,)) instead", UserWarning)
        return self.sample((n,))

    def log_prob(self, value):
        raise NotImplementedError

    def cdf(self, value):
        raise NotImplementedError

    def icdf(self, value):
        raise NotImplementedError

    def enumerate_support(self, expand=True):
        raise NotImplementedError

    def entropy(self):
        raise NotImplementedError

    def perplexity(self):
        return _ag.exp(self.entropy())

    # ---- validation --------------------------------------------------------------------
    def _validate_sample(self, value):
        """value must be a tensor whose rightmost dims are event_shape, broadcastable with
        batch_shape + event_shape, and inside the support."""
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        shape, event = tuple(value.shape), self._event_shape
        if shape[len(shape) - len(event):] != event:
            raise ValueError(f"The right-most size of value must match event_shape: {shape} vs {event}.")
        expected = self._batch_shape + event
        for i, j in zip(reversed(shape), reversed(expected)):
            if i != 1 and j != 1 and i != j:
                raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: {shape} vs "
                                 f"{expected}.")
        support = self.support
        if not is_all_true(support.check(value)):
            raise ValueError(f"Expected value argument ({type(value).__name__} of shape {shape}) to be within the "
                             f"support ({support!r}) of the distribution {self!r}, but found invalid values:\n"
                             f"{value}")

    def __repr__(self):
        try:
            names = [k for k in self.arg_constraints if k in self.__dict__]
        except NotImplementedError:
            names = []
        args = ", ".join(f"{p}: {_format_parameter(self.__dict__[p])}" for p in names)
        return f"{self.__class__.__name__}({args})"


def init_broadcast(dist, names, values, validate_args, event_shape=()):
    """Set dist's parameters `names` to `values` broadcast together (numbers become
    tensors); the batch shape is theirs, () when all were numbers."""
    from .utils import broadcast_all, all_numbers
    tensors = broadcast_all(*values)
    for name, t in zip(names, tensors):
        dist.__dict__[name] = t
    batch_shape = () if all_numbers(*values) else tuple(tensors[0].shape)
    Distribution.__init__(dist, batch_shape, event_shape, validate_args=validate_args)


class LocationScale(Distribution):
    """What the real-line location-scale families share (Normal, Laplace,
    Cauchy, Gumbel): their parameters, support and reparametrization."""
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True
    _expand_names = ("loc", "scale")

    def __init__(self, loc, scale, validate_args=None):
        init_broadcast(self, ("loc", "scale"), (loc, scale), validate_args)

    @property
    def mode(self):
        return self.loc
