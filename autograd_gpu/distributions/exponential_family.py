"""ExponentialFamily: the base of the families whose density is
p(x; theta) = exp(<t(x), theta> - F(theta) + k(x)) (torch.distributions.ExponentialFamily).

A family gives its natural parameters theta (_natural_params), its log normalizer F
(_log_normalizer) and E[k(x)] (_mean_carrier_measure); then the entropy and the KL between
two members of one family follow from F and its gradient (Bregman divergences, after
Nielsen and Nock, "Entropies and cross-entropies of exponential families"), computed with
ag.autograd.grad. Families with closed forms override entropy and register their KL pairs.
(kl.py registers the generic pair: kl imports the families, which import this module.)"""
import autograd_gpu as _ag
from .distribution import Distribution
from .utils import sum_rightmost

__all__ = ["ExponentialFamily"]


class ExponentialFamily(Distribution):
    @property
    def _natural_params(self):
        """The natural parameters theta, a tuple of tensors."""
        raise NotImplementedError

    def _log_normalizer(self, *natural_params):
        """F(theta), of the batch shape."""
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self):
        """E[k(x)], needed by the entropy."""
        raise NotImplementedError

    def entropy(self):
        """H = F(theta) - <theta, grad F(theta)> - E[k(x)]. As torch's, the natural parameters
        are detached first: the result has no gradient to the distribution's parameters. Each
        inner product sums its term's dims beyond the batch shape (torch reshapes the term to
        batch_shape + (-1,), which fails for an empty batch)."""
        carrier = self._mean_carrier_measure
        thetas = [theta.detach().requires_grad_() for theta in self._natural_params]
        log_normalizer = self._log_normalizer(*thetas)
        gradients = _ag.autograd.grad(log_normalizer.sum(), thetas, create_graph=True)
        result = log_normalizer - carrier
        for theta, g in zip(thetas, gradients):
            term = theta * g
            result = result - sum_rightmost(term, max(term.dim() - len(self._batch_shape), 0))
        return result


def kl_expfamily_expfamily(p, q):
    """KL(p || q) = F(theta_q) - F(theta_p) - <theta_q - theta_p, grad F(theta_p)> for p and q of
    one family; p's natural parameters are detached (no gradient to p's parameters, as torch's).
    Each inner product sums its term's own dims beyond the batch (torch sums len(event_shape)
    dims of every term, which for a batched Wishart also sums the df term over the batch)."""
    if type(p) is not type(q):
        raise NotImplementedError("The cross KL-divergence between different exponential families cannot be "
                                  "computed using Bregman divergences")
    p_thetas = [theta.detach().requires_grad_() for theta in p._natural_params]
    q_thetas = q._natural_params
    p_log_normalizer = p._log_normalizer(*p_thetas)
    gradients = _ag.autograd.grad(p_log_normalizer.sum(), p_thetas, create_graph=True)
    result = q._log_normalizer(*q_thetas) - p_log_normalizer
    for p_theta, q_theta, g in zip(p_thetas, q_thetas, gradients):
        term = (q_theta - p_theta) * g
        result = result - sum_rightmost(term, max(term.dim() - result.dim(), 0))
    return result
