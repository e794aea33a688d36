"""Random sampling from tensors of parameters: bernoulli, multinomial, normal, poisson, randint_like and the in-place samplers (torch's), drawing from the library's generator."""

# the Tensor methods, ag functions and in-place forms (x.<name>_) this family adds
METHODS = {}
FUNCTIONS = {}
INPLACE = {}
