"""The in-place function forms of torch (ag.abs_(x) is x.abs_()), and the in-place methods that were missing."""

METHODS = {}
FUNCTIONS = {}
INPLACE = {}
