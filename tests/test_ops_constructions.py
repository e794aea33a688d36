"""The constructions of autograd_gpu/ops/constructions.py against PyTorch CPU: values, gradients to second
order, Tensor.unfold's view semantics, factories, histogram, edge cases and bad input."""
import warnings

import numpy as np
import pytest

import autograd_gpu as ag
from oracle import case_tests, check, gradcheck, to_numpy

I3 = np.array([0, 2, 1])     # (integer constants: no gradient)

#      id                  fn(lib, *inputs)                                                   inputs        options
CASES = [
    ("meshgrid_ij",        lambda m, x, y: m.meshgrid(x, y, indexing="ij")[1],                [(3,), (2,)], dict(name=False)),
    ("meshgrid_xy",        lambda m, x, y, z: m.meshgrid([x, y, z], indexing="xy")[0],        [(3,), (2,), (2,)],
     dict(name=False)),
    ("meshgrid_0d",        lambda m, x, y: m.meshgrid(x, y, indexing="ij")[0],                [(), (3,)], dict(name=False)),
    ("cartesian_prod",     lambda m, x, y: m.cartesian_prod(x, y),                            [(3,), (2,)], dict(name=False)),
    ("combinations",       lambda m, x: m.combinations(x),                                    [(4,)],       dict(name=False)),
    ("combinations_r3_rep", lambda m, x: m.combinations(x, 3, with_replacement=True),         [(3,)],       dict(name=False)),
    ("block_diag",         lambda m, x, y, z: m.block_diag(x, y, z),                          [(), (2,), (2, 3)],
     dict(name=False)),
    ("diagflat",           lambda m, x: m.diagflat(x),                                        [(2, 2)],     dict(name=False)),
    ("diagflat_offset",    lambda m, x: x.diagflat(-1),                                       [(3,)],       dict(name=False)),
    ("cov",                lambda m, x: m.cov(x),                                             [(3, 5)],     dict(name=False)),
    ("cov_1d_corr0",       lambda m, x: x.cov(correction=0),                                  [(5,)],       dict(name=False)),
    ("cov_weights",        lambda m, x, f, a: m.cov(x, correction=2, fweights=f, aweights=a),
     [(2, 4), np.array([1, 2, 1, 3]), np.array([0.5, 1.0, 0.25, 2.0])],                                   dict(name=False)),
    ("cov_aweights_grad",  lambda m, x, a: m.cov(x, aweights=a.abs() + 0.5),                  [(2, 4), (4,)], dict(name=False)),
    ("corrcoef",           lambda m, x: m.corrcoef(x),                                        [(3, 6)],     dict(name=False)),
    ("trapezoid",          lambda m, y: m.trapezoid(y),                                       [(2, 5)],     dict(name=False)),
    ("trapezoid_dx",       lambda m, y: m.trapezoid(y, dx=0.5, dim=0),                        [(4, 3)],     dict(name=False)),
    ("trapezoid_x",        lambda m, y, x: m.trapezoid(y, x),                                 [(2, 4), (4,)], dict(name=False)),
    ("trapezoid_x_nd",     lambda m, y, x: m.trapezoid(y, x, dim=0),                          [(3, 2), (3, 2)], dict(name=False)),
    ("trapz",              lambda m, y: m.trapz(y, dx=2.0),                                   [(5,)],       dict(name=False)),
    ("cumulative_trapezoid", lambda m, y: m.cumulative_trapezoid(y, dim=0),                   [(4, 2)],     dict(name=False)),
    ("cumulative_trapezoid_x", lambda m, y, x: m.cumulative_trapezoid(y, x),                  [(2, 4), (4,)], dict(name=False)),
    ("chain_matmul",       lambda m, a, b, c: m.chain_matmul(a, b, c),                        [(2, 3), (3, 4), (4, 2)],
     dict(name=False)),
    ("renorm",             lambda m, x: m.renorm(x, 2, 0, 1.5),                               [(3, 4)],     {}),
    ("renorm_p1_dim1",     lambda m, x: x.renorm(1, 1, 2.0),                                  [(2, 3, 2)],  {}),
    ("renorm_p3_dim-1",    lambda m, x: x.renorm(3, -1, 0.5),                                 [(2, 3)],     {}),
    ("renorm_pinf",        lambda m, x: x.renorm(float("inf"), 0, 0.5),                       [(3, 2)],     {}),
    ("renorm_p0.5",        lambda m, x: x.renorm(0.5, 1, 2.0),                                [(2, 3)],     {}),
    ("unflatten",          lambda m, x: m.unflatten(x, 1, (2, -1)),                           [(3, 4)],     {}),
]
test_against_pytorch, test_gradcheck, test_second_order = case_tests(CASES)
pytestmark = pytest.mark.filterwarnings("ignore:torch.chain_matmul is deprecated")     # (ours warns as torch)

UNFOLD = [
    ("unfold",              lambda m, x: x.unfold(0, 3, 2),                                   [(8,)]),
    ("unfold_dim1_overlap", lambda m, x: x.unfold(1, 3, 1),                                   [(2, 5, 2)]),
    ("unfold_gap",          lambda m, x: x.unfold(-1, 2, 3),                                  [(3, 7)]),
    ("unfold_0d",           lambda m, x: x.unfold(0, 1, 1),                                   [()]),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", UNFOLD, ids=[c[0] for c in UNFOLD])
def test_unfold_against_pytorch(torch, case, dtype, device):
    check(torch, case[1], *case[2], dtype=dtype, device=device)


@pytest.mark.parametrize("case", UNFOLD, ids=[c[0] for c in UNFOLD])
def test_unfold_gradcheck(case, device):
    gradcheck(case[1], *case[2], device=device)


def test_meshgrid_warns_without_indexing(torch):
    x = ag.arange(3.0)
    with pytest.warns(UserWarning, match="indexing argument"):
        a, b = ag.meshgrid(x, ag.arange(2.0))
    assert a.shape == (3, 2) and b.shape == (3, 2)


def test_meshgrid_are_views_of_inputs():
    x = ag.arange(3.0)
    g = ag.meshgrid(x, x, indexing="ij")[0]
    x[0] = 7.0
    assert g[0].tolist() == [7.0, 7.0, 7.0]


def _same(torch, ours, ref):
    outs, refs = (ours, ref) if isinstance(ref, tuple) else ((ours,), (ref,))
    assert len(outs) == len(refs)
    for o, r in zip(outs, refs):
        assert str(o.dtype).split(".")[-1] == str(r.dtype).split(".")[-1], (o.dtype, r.dtype)
        assert o.shape == tuple(r.shape), (o.shape, r.shape)
        np.testing.assert_allclose(to_numpy(o).astype(float), r.numpy().astype(float), rtol=1e-6, atol=1e-6)


EDGES = [  # fn(lib): values and dtypes as PyTorch's (integer inputs, empty, 0-d, factories)
    lambda L: L.combinations(L.arange(3.0), 0),
    lambda L: L.combinations(L.arange(3.0), 4),
    lambda L: L.combinations(L.tensor([1, 2, 3]), 1),
    lambda L: L.combinations(L.arange(0.0)),
    lambda L: L.cartesian_prod(L.tensor([1, 2]), L.tensor([3, 4, 5])),
    lambda L: L.cartesian_prod(L.arange(3.0)),
    lambda L: L.block_diag(L.tensor(1), L.ones(2, dtype=L.float64), L.ones(2, 2, dtype=L.int32)),
    lambda L: L.block_diag(L.ones(0, 2), L.ones(1, 0)),
    lambda L: L.diagflat(L.tensor([1, 2])),
    lambda L: L.cov(L.tensor([1, 2, 4])),
    lambda L: L.cov(L.tensor([[1, 2, 4], [0, 1, 1]]), fweights=L.tensor([1, 0, 2])),
    lambda L: L.corrcoef(L.tensor([1, 2, 4])),
    lambda L: L.corrcoef(L.tensor([[1.0, 2.0, 4.0], [1.0, 1.0, 1.0]])),
    lambda L: L.trapezoid(L.tensor([1, 2, 3])),
    lambda L: L.trapezoid(L.ones(0)),
    lambda L: L.trapezoid(L.ones(2, 0), dim=1),
    lambda L: L.trapezoid(L.ones(2, 3), L.arange(3.0)),
    lambda L: L.cumulative_trapezoid(L.tensor([1, 2, 3])),
    lambda L: L.logspace(0, 2, 3),
    lambda L: L.logspace(-1, 3, 5, base=2, dtype=L.float64),
    lambda L: L.logspace(0, 3, 4, base=2, dtype=L.int64),
    lambda L: L.logspace(0, 2, 0),
    lambda L: L.unravel_index(L.tensor([4, 5, -1]), (2, 3)),
    lambda L: L.unravel_index(L.tensor(7), (2, 2, 2)),
    lambda L: L.unravel_index(L.tensor([[3, 1]], dtype=L.int32), 6),
    lambda L: L.histogram(L.arange(6.0), 4),
    lambda L: L.histogram(L.tensor([0.5, 1.0, 9.0, -1.0, 2.0]), L.tensor([0.0, 2.0, 10.0])),
    lambda L: L.histogram(L.arange(6.0, dtype=L.float64), 3, range=(1.0, 4.0), density=True),
    lambda L: L.histogram(L.arange(6.0), 2, weight=L.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])),
    lambda L: L.histogram(L.ones(0), 2),
    lambda L: L.histogram(L.ones(3), 2),
    lambda L: L.arange(6.0).reshape(2, 3).histogram(L.tensor([0.0, 2.0, 10.0]), density=True),
]


@pytest.mark.parametrize("i", range(len(EDGES)))
def test_edge_cases(torch, device, i):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, ref = EDGES[i](ag), EDGES[i](torch)
    ours = tuple(ours) if isinstance(ours, tuple) else ours
    ref = tuple(ref) if isinstance(ref, tuple) else ref
    _same(torch, ours, ref)


def test_range_is_inclusive_and_warns(torch):
    for args, kw in (((0, 3), {}), ((1, 2, 0.25), {}), ((3, -1, -1), {"dtype": "float64"}), ((0, 4, 2), {"dtype": "int64"})):
        with pytest.warns(UserWarning, match="deprecated"):
            ours = ag.range(*args, **{k: getattr(ag, v) for k, v in kw.items()})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = torch.range(*args, **{k: getattr(torch, v) for k, v in kw.items()})
        _same(torch, ours, ref)


def test_chain_matmul_warns(torch):
    with pytest.warns(UserWarning, match="deprecated"):
        assert ag.chain_matmul(ag.ones(2, 3)).shape == (2, 3)


def test_unfold_is_a_view(torch, device):
    x = ag.arange(10.0, device=device)
    u = x.unfold(0, 3, 2)
    assert u._base is x and u._version == x._version
    x[2] = 100.0
    assert to_numpy(u)[0, 2] == 100.0 and to_numpy(u)[1, 0] == 100.0
    tx = torch.arange(10.0)
    assert u.stride() == tx.unfold(0, 3, 2).stride()


@pytest.mark.parametrize("make", [lambda L: L.tensor([[1, 2], [3, 4]]).unfold(0, 2, 1),
                                  lambda L: L.ones(2, 5).unfold(1, 0, 2), lambda L: L.ones(0, 3).unfold(1, 2, 1)])
def test_unfold_edges(torch, make):
    _same(torch, make(ag), make(torch))


def test_unfold_write_through_reaches_the_base_gradient(torch):
    def leaf_grad(L):
        leaf = L.ones(6, requires_grad=True)
        b = leaf * 2
        b.unfold(0, 2, 2).mul_(L.arange(2.0) + 1)      # (windows that do not overlap: PyTorch allows the write)
        b.sum().backward()
        return leaf.grad.tolist()
    assert leaf_grad(ag) == leaf_grad(torch)


def test_histogram_records_no_formula(torch):
    x = ag.randn(5, requires_grad=True)
    h, e = ag.histogram(x, 3)
    assert h.requires_grad and e.requires_grad          # (as PyTorch's: a NotImplemented node)
    with pytest.raises(RuntimeError, match="histogram"):
        h.sum().backward()


BAD = [  # (call(lib), PyTorch's exception type, a word our message has)
    (lambda L: L.meshgrid([], indexing="ij"), RuntimeError, "meshgrid"),
    (lambda L: L.meshgrid(L.ones(2), L.ones(2, 2), indexing="ij"), RuntimeError, "meshgrid"),
    (lambda L: L.meshgrid(L.ones(2), L.ones(2, dtype=L.float64), indexing="ij"), RuntimeError, "meshgrid"),
    (lambda L: L.meshgrid(L.ones(2), indexing="ab"), RuntimeError, "meshgrid"),
    (lambda L: L.cartesian_prod(L.ones(2, 2)), RuntimeError, "cartesian_prod"),
    (lambda L: L.combinations(L.ones(2, 2)), RuntimeError, "combinations"),
    (lambda L: L.combinations(L.ones(3), -1), RuntimeError, "combinations"),
    (lambda L: L.block_diag(L.ones(2, 2, 2)), RuntimeError, "block_diag"),
    (lambda L: L.cov(L.ones(2, 2, 2)), RuntimeError, "cov"),
    (lambda L: L.cov(L.ones(3), fweights=L.ones(3)), RuntimeError, "cov"),
    (lambda L: L.cov(L.ones(3), fweights=L.tensor([1, -2, 3])), RuntimeError, "cov"),
    (lambda L: L.cov(L.ones(3), aweights=L.tensor([1.0, -2.0, 3.0])), RuntimeError, "cov"),
    (lambda L: L.cov(L.ones(3), aweights=L.tensor([1, 2, 3])), RuntimeError, "cov"),
    (lambda L: L.cov(L.ones(3), aweights=L.ones(2)), RuntimeError, "cov"),
    (lambda L: L.trapezoid(L.ones(2, 3), L.arange(2.0)), RuntimeError, "trapezoid"),
    (lambda L: L.trapezoid(L.tensor(2.0)), IndexError, "trapezoid"),
    (lambda L: L.trapezoid(L.ones(3), dim=2), IndexError, "trapezoid"),
    (lambda L: L.logspace(0, 2, -1), RuntimeError, "logspace"),
    (lambda L: L.range(0, 3, 0), RuntimeError, "range"),
    (lambda L: L.range(3, 0), RuntimeError, "range"),
    (lambda L: L.unravel_index(L.tensor(1.0), (2, 3)), TypeError, "unravel_index"),
    (lambda L: L.unravel_index(L.tensor(1), (2, -3)), ValueError, "unravel_index"),
    (lambda L: L.chain_matmul(), RuntimeError, "chain_matmul"),
    (lambda L: L.chain_matmul(L.ones(3)), RuntimeError, "chain_matmul"),
    (lambda L: L.ones(3).renorm(2, 0, 1), RuntimeError, "renorm"),
    (lambda L: L.ones(2, 3).renorm(2, 0, -1), RuntimeError, "renorm"),
    (lambda L: L.ones(2, 3).renorm(-1, 0, 1), RuntimeError, "renorm"),
    (lambda L: L.ones(2, 3).renorm(2, 2, 1), IndexError, "renorm"),
    (lambda L: L.histogram(L.tensor([1, 2]), 3), NotImplementedError, "histogram"),
    (lambda L: L.histogram(L.ones(3), 0), RuntimeError, "histogram"),
    (lambda L: L.histogram(L.ones(3), 3, range=(2.0, 1.0)), RuntimeError, "histogram"),
    (lambda L: L.arange(10.0).unfold(0, 11, 1), RuntimeError, "unfold"),
    (lambda L: L.arange(10.0).unfold(0, 3, 0), RuntimeError, "unfold"),
    (lambda L: L.arange(10.0).unfold(1, 3, 1), IndexError, "unfold"),
    (lambda L: L.unflatten(L.ones(2, 6), 1, (4, -1)), RuntimeError, "unflatten"),
]


@pytest.mark.parametrize("i", range(len(BAD)))
def test_bad_input(torch, i):
    call, kind, word = BAD[i]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(kind):
            call(torch)
        with pytest.raises(kind, match=word):
            call(ag)


def test_renorm_saves_its_input_as_pytorch(torch):
    """One RenormBackward0 node that saves the input: writing the input in place later is a version error
    at backward (ours was composed of where/norm nodes that did not keep it: found by the random programs)."""
    outcomes = []
    for lib in (torch, ag):
        x = lib.tensor([[0.5, 1.5], [2.0, -1.0]], dtype=lib.float64, requires_grad=True) + 0
        y = x.renorm(1, 0, 0.5)
        x.add_(1)
        try:
            y.sum().backward()
            outcomes.append("ran")
        except RuntimeError as e:
            outcomes.append("modified by an inplace operation" in str(e))
    assert outcomes == [True, True]
