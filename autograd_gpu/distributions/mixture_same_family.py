"""MixtureSameFamily(mixture_distribution, component_distribution): a mixture whose k components
are the rightmost batch dim of one distribution, weighted by a Categorical over k (no rsample:
the choice of component is discrete)."""
import autograd_gpu as _ag
from . import constraints
from .categorical import Categorical
from .distribution import Distribution

__all__ = ["MixtureSameFamily"]


class MixtureSameFamily(Distribution):
    arg_constraints = {}
    has_rsample = False

    def __init__(self, mixture_distribution, component_distribution, validate_args=None):
        if not isinstance(mixture_distribution, Categorical):
            raise ValueError(" The Mixture distribution needs to be an  instance of torch.distributions.Categorical")
        if not isinstance(component_distribution, Distribution):
            raise ValueError("The Component distribution needs to be an instance of torch.distributions.Distribution")
        mixture_batch, component_batch = mixture_distribution.batch_shape, component_distribution.batch_shape[:-1]
        for m, c in zip(reversed(mixture_batch), reversed(component_batch)):
            if m != 1 and c != 1 and m != c:
                raise ValueError(f"`mixture_distribution.batch_shape` ({mixture_batch}) is not compatible with "
                                 f"`component_distribution.batch_shape`({component_batch})")
        k_mixture = mixture_distribution.logits.shape[-1]
        if not component_distribution.batch_shape:
            raise IndexError("MixtureSameFamily(): component_distribution needs a batch dim indexing the components, "
                             "but its batch_shape is ()")
        k_component = component_distribution.batch_shape[-1]
        if k_mixture != k_component:
            raise ValueError(f"`mixture_distribution component` ({k_mixture}) does not equal "
                             f"`component_distribution.batch_shape[-1]` ({k_component})")
        self._mixture_distribution, self._component_distribution = mixture_distribution, component_distribution
        self._num_component = k_mixture
        self._event_ndims = len(component_distribution.event_shape)
        Distribution.__init__(self, component_batch, component_distribution.event_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(MixtureSameFamily, _instance)
        batch_shape = tuple(batch_shape)
        new._component_distribution = self._component_distribution.expand(batch_shape + (self._num_component,))
        new._mixture_distribution = self._mixture_distribution.expand(batch_shape)
        new._num_component, new._event_ndims = self._num_component, self._event_ndims
        Distribution.__init__(new, batch_shape, new._component_distribution.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property
    def support(self):
        return constraints.MixtureSameFamilyConstraint(self._component_distribution.support)

    @property
    def mixture_distribution(self):
        return self._mixture_distribution

    @property
    def component_distribution(self):
        return self._component_distribution

    def _pad(self, x):
        """x with a component dim of 1 before the event dims."""
        return x.unsqueeze(-1 - self._event_ndims)

    def _pad_mixture_dimensions(self, x):
        """Mixture weights (batch + (k,)) shaped to broadcast with the components' batch + (k,) + event."""
        batch_ndims, mixture_ndims = len(self._batch_shape), len(self._mixture_distribution.batch_shape)
        missing = 0 if mixture_ndims == 1 else batch_ndims - mixture_ndims
        shape = tuple(x.shape)
        return x.reshape(shape[:-1] + (1,) * missing + shape[-1:] + (1,) * self._event_ndims)

    @property
    def mean(self):
        probs = self._pad_mixture_dimensions(self._mixture_distribution.probs)
        return (probs * self._component_distribution.mean).sum(-1 - self._event_ndims)

    @property
    def variance(self):
        """Law of total variance: E[Var(x | component)] + Var(E[x | component])."""
        probs = self._pad_mixture_dimensions(self._mixture_distribution.probs)
        components = self._component_distribution
        mean_of_variances = (probs * components.variance).sum(-1 - self._event_ndims)
        variance_of_means = (probs * (components.mean - self._pad(self.mean)).pow(2.0)).sum(-1 - self._event_ndims)
        return mean_of_variances + variance_of_means

    def cdf(self, x):
        cdf_x = self._component_distribution.cdf(self._pad(x))
        return (cdf_x * self._mixture_distribution.probs).sum(-1)

    def log_prob(self, x):
        if self._validate_args:
            self._validate_sample(x)
        log_prob_x = self._component_distribution.log_prob(self._pad(x))          # [S, B, k]
        log_mix_prob = _ag.log_softmax(self._mixture_distribution.logits, dim=-1)  # [B, k]
        return _ag.logsumexp(log_prob_x + log_mix_prob, dim=-1)

    def sample(self, sample_shape=()):
        """A component index per draw, then that component's draw (gathered from a draw of every component)."""
        sample_shape = tuple(sample_shape)
        with _ag.no_grad():
            gather_dim = len(sample_shape) + len(self._batch_shape)
            event = self._event_shape
            # (a mixture batch that broadcasts against the components' is expanded to it)
            choice = self._mixture_distribution.sample(sample_shape)
            mixture_batch = self._mixture_distribution.batch_shape
            missing = (1,) * (len(self._batch_shape) - len(mixture_batch))
            choice = choice.reshape(sample_shape + missing + mixture_batch).expand(sample_shape + self._batch_shape)
            draws = self._component_distribution.sample(sample_shape)
            index = choice.reshape(tuple(choice.shape) + (1,) * (len(event) + 1))
            index = index.expand(tuple(choice.shape) + (1,) + event)
            return draws.gather(gather_dim, index).squeeze(gather_dim)

    def __repr__(self):
        return f"MixtureSameFamily(\n  {self._mixture_distribution},\n  {self._component_distribution})"
