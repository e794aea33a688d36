"""Fuzz specs (tests/test_fuzz_bad_input.py) of the later indexed writes in autograd_gpu/ops/scatter.py
(scatter, scatter_add and index_add have theirs in test_fuzz_bad_input.py itself)."""


def specs(f):
    """{op: f.S(...)}; `f` is the fuzz test module (its S, T, Lst, pools: TENSORS, DIM1, ...)."""
    return {}
