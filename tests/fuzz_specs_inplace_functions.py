"""Fuzz specs (tests/test_fuzz_bad_input.py) of the ops in autograd_gpu/ops/inplace_functions.py."""


def specs(f):
    """{op: f.S(...)}; `f` is the fuzz test module (its S, T, Lst, pools: TENSORS, DIM1, ...)."""
    return {}
