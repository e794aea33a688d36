"""ag.distributions, after torch.distributions: probability distributions with
sample / rsample (reparametrized draws from the library's generator, so
ag.manual_seed repeats them), log_prob, cdf / icdf, entropy, moments, expand,
parameter and value validation, and kl_divergence with register_kl."""
from . import constraints
from .bernoulli import Bernoulli
from .beta import Beta
from .binomial import Binomial
from .categorical import Categorical
from .cauchy import Cauchy
from .dirichlet import Dirichlet
from .distribution import Distribution
from .exponential import Exponential
from .gamma import Chi2, Gamma
from .geometric import Geometric
from .gumbel import Gumbel
from .independent import Independent
from .kl import kl_divergence, register_kl
from .laplace import Laplace
from .log_normal import LogNormal
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .one_hot_categorical import OneHotCategorical, OneHotCategoricalStraightThrough
from .poisson import Poisson
from .studentT import StudentT
from .uniform import Uniform
from . import (constraint_registry, continuous_bernoulli, exponential_family, fishersnedecor, generalized_pareto,
               half_cauchy, half_normal, inverse_gamma, kumaraswamy,
               lkj_cholesky, logistic_normal, lowrank_multivariate_normal, mixture_same_family, multinomial,
               negative_binomial, pareto, relaxed_bernoulli, relaxed_categorical, transformed_distribution,
               transforms, von_mises, weibull, wishart)

__all__ = ["Bernoulli", "Beta", "Binomial", "Categorical", "Cauchy", "Chi2", "Dirichlet", "Distribution", "Exponential",
           "Gamma", "Geometric", "Gumbel", "Independent", "LogNormal", "Laplace", "MultivariateNormal", "Normal",
           "OneHotCategorical", "OneHotCategoricalStraightThrough", "Poisson", "StudentT", "Uniform", "constraints",
           "kl_divergence", "register_kl", "transforms"]

# Families and helpers in their own modules publish themselves through their __all__.
for _module in (constraint_registry, continuous_bernoulli, exponential_family, fishersnedecor, generalized_pareto,
                half_cauchy, half_normal, inverse_gamma, kumaraswamy,
                lkj_cholesky, logistic_normal, lowrank_multivariate_normal, mixture_same_family, multinomial,
                negative_binomial, pareto, relaxed_bernoulli, relaxed_categorical, transformed_distribution,
                transforms, von_mises, weibull, wishart):
    globals().update({_name: getattr(_module, _name) for _name in _module.__all__})
    __all__ += [_name for _name in _module.__all__ if _name not in __all__]
del _module
