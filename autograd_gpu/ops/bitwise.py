"""Bitwise and integer arithmetic, and float decomposition: bitwise_and/or/xor/not/shifts, gcd, lcm, fmod, ldexp, frexp, nextafter (torch's)."""

# the Tensor methods, ag functions and in-place forms (x.<name>_) this family adds
METHODS = {}
FUNCTIONS = {}
INPLACE = {}
