"""Bessel functions, the incomplete gamma functions and Hurwitz's zeta (torch.special's), with their twins on both devices."""

METHODS = {}
FUNCTIONS = {}
INPLACE = {}

# {torch.special name: function} for ag.special
SPECIAL = {}
