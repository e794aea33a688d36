"""The orthogonal polynomial families of torch.special (Chebyshev, Hermite, Laguerre, Legendre), evaluated by recurrence."""

METHODS = {}
FUNCTIONS = {}
INPLACE = {}

# {torch.special name: function} for ag.special
SPECIAL = {}
