"""ag.autograd.functional (vjp, jvp, jacobian, hessian, hvp, vhp) against
torch.autograd.functional on the same functions: values, the nesting of the
results, dtypes, devices, requires_grad of the results (create_graph),
zeros for independent inputs, derivatives of the results (third order),
float64 finite differences, strict mode and bad input."""
import numpy as np
import pytest

import autograd_gpu as ag
import autograd_gpu.autograd.functional as AF
from oracle import TOL, to_numpy

# PyTorch's own vectorize / forward-mode paths warn about torch.jit.script
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")


def TF(torch):
    return torch.autograd.functional


def F(L):
    """This library's functional module, or PyTorch's."""
    return AF if L is ag else L.autograd.functional


# (id, make(L) -> function over tensors of library L, input shapes, whether the inputs are passed as one
# Tensor rather than a tuple)
JAC_CASES = [
    ("tensor_to_tensor", lambda L: lambda x: x.exp() * x.sin(), [(2, 3)], True),
    ("tuple_to_tensor", lambda L: lambda x, y: (x @ y).tanh(), [(2, 3), (3, 2)], False),
    ("tensor_to_tuple", lambda L: lambda x: (x ** 2, x.sum(), x.cos()[1:]), [(3,)], True),
    ("tuple_to_tuple_unused_input", lambda L: lambda x, y: (x * 2.0, (x.sin() * x).sum()), [(3,), (2,)], False),
    ("scalar_output", lambda L: lambda x: (x ** 3).sum(), [(2, 2)], True),
    ("zero_dim_input", lambda L: lambda x: L.stack([x.exp(), x * x]), [()], True),
    ("tuple_of_one", lambda L: lambda x: x.tanh(), [(2,)], False),
    ("output_without_grad", lambda L: lambda x: (L.zeros_like(x), x.sum()), [(2,)], True),
    ("identity", lambda L: lambda x, y: (x, y * x), [(2,), (2,)], False),
]

# functions returning one one-element Tensor (hessian, hvp, vhp)
SCALAR_CASES = [
    ("tensor", lambda L: lambda x: (x.pow(3) * x.sin()).sum(), [(2, 2)], True),
    ("tuple", lambda L: lambda x, y: (x.exp() @ y).tanh().sum(), [(2, 3), (3,)], False),
    ("linear_in_one_input", lambda L: lambda x, y: (x ** 3).sum() * 0.5 + y.sum(), [(2,), (3,)], False),
    ("quadratic", lambda L: lambda x, y: (x * y).sum() + (x * x).sum(), [(2,), (2,)], False),
    ("zero_dim", lambda L: lambda x: x ** 4, [()], True),
    ("one_element_output", lambda L: lambda x: (x.exp() * x).sum().reshape(1), [(3,)], True),
    ("unused_input", lambda L: lambda x, y: (x.sin() ** 2).sum(), [(2,), (2,)], False),
    ("tuple_of_one", lambda L: lambda x: (x.exp() * x).sum(), [(3,)], False),
]


def _arrays(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1.5, 1.5, s) for s in shapes]


def _both(torch, arrays, dtype, device, single, requires_grad=False):
    """The same arrays as our tensors and PyTorch's; one Tensor or a tuple."""
    ours = tuple(ag.tensor(a, dtype=dtype, device=device, requires_grad=requires_grad) for a in arrays)
    theirs = tuple(torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=requires_grad) for a in arrays)
    return (ours[0], theirs[0]) if single else (ours, theirs)


def assert_same(ours, theirs, dtype, device, what="result"):
    """Same nesting (tuples where PyTorch has tuples), and per tensor the same
    shape, dtype, requires_grad and values; ours on `device`."""
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple), f"{what}: a {type(ours).__name__}, PyTorch's is a tuple"
        assert len(ours) == len(theirs), f"{what}: {len(ours)} entries, PyTorch's {len(theirs)}"
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_same(a, b, dtype, device, f"{what}[{i}]")
        return
    assert isinstance(ours, ag.Tensor), f"{what}: a {type(ours).__name__}, PyTorch's is a Tensor"
    assert ours.dtype == getattr(ag, str(theirs.dtype).replace("torch.", "")), f"{what}: dtype {ours.dtype}"
    assert ours.device == ag.device(device), f"{what}: on {ours.device}"
    assert ours.requires_grad == theirs.requires_grad, f"{what}: requires_grad {ours.requires_grad}"
    a, b = to_numpy(ours), theirs.detach().numpy()
    assert a.shape == b.shape, f"{what}: shape {a.shape}, PyTorch's {b.shape}"
    np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), err_msg=what, **TOL[dtype])


def _vectors_like(torch, refs, dtype, device, single, seed=7):
    """Random v of the shapes of `refs` (PyTorch tensors, one or a tuple) for both libraries."""
    shapes = [tuple(r.shape) for r in (refs if isinstance(refs, tuple) else (refs,))]
    return _both(torch, _arrays(shapes, seed), dtype, device, single)


@pytest.mark.parametrize("name", AF.__all__)
def test_signatures_are_pytorchs(torch, name):
    import inspect
    assert inspect.signature(getattr(AF, name)) == inspect.signature(getattr(TF(torch), name))


# ---- values against PyTorch ----------------------------------------------------------------------

@pytest.mark.parametrize("create_graph", [False, True], ids=["plain", "create_graph"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", JAC_CASES, ids=[c[0] for c in JAC_CASES])
def test_jacobian_vjp_jvp(torch, case, dtype, device, create_graph):
    _, make, shapes, single = case
    x, tx = _both(torch, _arrays(shapes), dtype, device, single)
    ref = TF(torch).jacobian(make(torch), tx, create_graph=create_graph)
    assert_same(AF.jacobian(make(ag), x, create_graph=create_graph), ref, dtype, device, "jacobian")

    t_out = make(torch)(*(tx if isinstance(tx, tuple) else (tx,)))
    v, tv = _vectors_like(torch, t_out, dtype, device, not isinstance(t_out, tuple))
    ref = TF(torch).vjp(make(torch), tx, tv, create_graph=create_graph)
    assert_same(AF.vjp(make(ag), x, v, create_graph=create_graph), ref, dtype, device, "vjp")

    v, tv = _vectors_like(torch, tx, dtype, device, single)
    ref = TF(torch).jvp(make(torch), tx, tv, create_graph=create_graph)
    assert_same(AF.jvp(make(ag), x, v, create_graph=create_graph), ref, dtype, device, "jvp")


@pytest.mark.parametrize("create_graph", [False, True], ids=["plain", "create_graph"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", SCALAR_CASES, ids=[c[0] for c in SCALAR_CASES])
def test_hessian_hvp_vhp(torch, case, dtype, device, create_graph):
    _, make, shapes, single = case
    x, tx = _both(torch, _arrays(shapes), dtype, device, single)
    ref = TF(torch).hessian(make(torch), tx, create_graph=create_graph)
    assert_same(AF.hessian(make(ag), x, create_graph=create_graph), ref, dtype, device, "hessian")
    v, tv = _vectors_like(torch, tx, dtype, device, single)
    for name in ("hvp", "vhp"):
        ref = getattr(TF(torch), name)(make(torch), tx, tv, create_graph=create_graph)
        assert_same(getattr(AF, name)(make(ag), x, v, create_graph=create_graph), ref, dtype, device, name)


@pytest.mark.parametrize("case", JAC_CASES[:4], ids=[c[0] for c in JAC_CASES[:4]])
def test_vectorize_gives_the_same_values(torch, case, device):
    """vectorize=True (PyTorch: one batched backward) computes row by row here."""
    _, make, shapes, single = case
    x, tx = _both(torch, _arrays(shapes), "float64", device, single)
    ref = TF(torch).jacobian(make(torch), tx, vectorize=True)
    assert_same(AF.jacobian(make(ag), x, vectorize=True), ref, "float64", device, "jacobian")
    case = SCALAR_CASES[1]
    x, tx = _both(torch, _arrays(case[2]), "float64", device, case[3])
    ref = TF(torch).hessian(case[1](torch), tx, vectorize=True)
    assert_same(AF.hessian(case[1](ag), x, vectorize=True), ref, "float64", device, "hessian")


def test_v_may_be_omitted_for_one_element(torch, device):
    """v=None means ones: vjp of a one-element output, jvp/hvp/vhp at a one-element input."""
    for L in (ag, torch):
        x = L.tensor([0.7], dtype=L.float64) if L is torch else ag.tensor([0.7], dtype="float64", device=device)
        got = [F(L).vjp(lambda t: (t ** 3).sum(), x), F(L).jvp(lambda t: t.exp() * 2.0, x),
               F(L).hvp(lambda t: (t ** 4).sum(), x), F(L).vhp(lambda t: (t.sin() * t).sum(), x)]
        if L is ag:
            ours = got
        else:
            theirs = got
    assert_same(tuple(ours), tuple(theirs), "float64", device)


# ---- create_graph: results differentiable again ----------------------------------------------------

def test_hessian_with_create_graph_gives_third_derivatives(torch, device):
    fn = lambda L: lambda x, y: (x.sin() * (x * y).exp()).sum()     # noqa: E731
    (x, y), (tx, ty) = _both(torch, _arrays([(3,), (3,)]), "float64", device, False, requires_grad=True)
    h = AF.hessian(fn(ag), (x, y), create_graph=True)
    th = TF(torch).hessian(fn(torch), (tx, ty), create_graph=True)
    assert_same(h, th, "float64", device, "hessian")
    w = np.random.default_rng(3).standard_normal((3, 3))
    loss = sum((h[i][j] * ag.tensor(w, device=device)).sum() for i in range(2) for j in range(2))
    t_loss = sum((th[i][j] * torch.tensor(w)).sum() for i in range(2) for j in range(2))
    assert_same(ag.autograd.grad(loss, (x, y)), torch.autograd.grad(t_loss, (tx, ty)), "float64", device, "d3")


def test_hvp_and_jvp_with_create_graph_differentiate_again(torch, device):
    fn = lambda L: lambda x: (x ** 3 * x.cos()).sum()       # noqa: E731
    x, tx = _both(torch, _arrays([(4,)]), "float64", device, True, requires_grad=True)
    v, tv = _both(torch, _arrays([(4,)], seed=1), "float64", device, True, requires_grad=True)
    _, hv = AF.hvp(fn(ag), x, v, create_graph=True)
    _, thv = TF(torch).hvp(fn(torch), tx, tv, create_graph=True)
    assert_same(ag.autograd.grad((hv ** 2).sum(), (x, v)), torch.autograd.grad((thv ** 2).sum(), (tx, tv)),
                "float64", device, "d(hvp)")
    g = lambda L: lambda x: x.exp() * x.sin()         # noqa: E731
    _, jv = AF.jvp(g(ag), x, v, create_graph=True)
    _, tjv = TF(torch).jvp(g(torch), tx, tv, create_graph=True)
    assert_same(ag.autograd.grad(jv.sum(), (x, v)), torch.autograd.grad(tjv.sum(), (tx, tv)), "float64",
                device, "d(jvp)")


def test_without_create_graph_the_inputs_are_left_alone(torch, device):
    """Inputs that require grad: results detached, no .grad written, versions unchanged."""
    fn = lambda L: lambda x: (x.exp() * x).sum()       # noqa: E731
    x, tx = _both(torch, _arrays([(3,)]), "float64", device, True, requires_grad=True)
    ours = [getattr(AF, n)(fn(ag), x, *([x.detach()] if n in ("hvp", "vhp", "jvp") else [])) for n in
            ("jacobian", "hessian", "hvp", "vhp", "jvp")]
    theirs = [getattr(TF(torch), n)(fn(torch), tx, *([tx.detach()] if n in ("hvp", "vhp", "jvp") else [])) for n
              in ("jacobian", "hessian", "hvp", "vhp", "jvp")]
    assert_same(tuple(ours), tuple(theirs), "float64", device)
    assert x.grad is None and x._version == 0 and x.requires_grad and x.is_leaf


def test_only_the_arguments_are_differentiated(torch, device):
    """A function that also closes over the original input tensor: its use
    there is a constant (PyTorch passes fresh tensors to the function)."""
    x, tx = _both(torch, _arrays([(3,)]), "float64", device, True, requires_grad=True)
    ours = AF.jacobian(lambda t: t * x, x, create_graph=True)
    theirs = TF(torch).jacobian(lambda t: t * tx, tx, create_graph=True)
    assert_same(ours, theirs, "float64", device)


def test_works_under_no_grad(torch, device):
    fn = lambda L: lambda x: (x.sin() ** 2).sum()       # noqa: E731
    x, tx = _both(torch, _arrays([(3,)]), "float64", device, True)
    with ag.no_grad():
        ours = (AF.jacobian(fn(ag), x), AF.vjp(fn(ag), x), AF.hessian(fn(ag), x), AF.vhp(fn(ag), x, x))
        assert not ag.is_grad_enabled()
    with torch.no_grad():
        theirs = (TF(torch).jacobian(fn(torch), tx), TF(torch).vjp(fn(torch), tx), TF(torch).hessian(fn(torch), tx),
                  TF(torch).vhp(fn(torch), tx, tx))
    assert_same(ours, theirs, "float64", device)


# ---- finite differences ----------------------------------------------------------------------------

def _numeric_jacobian(f, x, eps=1e-6):
    """Central differences of f (numpy array -> numpy array) at x: shape f(x).shape + x.shape."""
    cols = []
    for k in range(x.size):
        d = np.zeros(x.size)
        d[k] = eps
        d = d.reshape(x.shape)
        cols.append((f(x + d) - f(x - d)) / (2 * eps))
    return np.moveaxis(np.array(cols), 0, -1).reshape(np.shape(f(x)) + x.shape)


def test_jacobian_and_hessian_match_finite_differences(device):
    x0 = _arrays([(2, 3)], seed=5)[0]
    on_device = lambda a: ag.tensor(a, dtype="float64", device=device)      # noqa: E731
    fn = lambda t: (t.exp() * t.sum(1, keepdim=True)).tanh()               # noqa: E731
    numeric = _numeric_jacobian(lambda a: to_numpy(fn(on_device(a))), x0)
    np.testing.assert_allclose(to_numpy(AF.jacobian(fn, on_device(x0))), numeric, rtol=1e-6, atol=1e-8)

    scalar = lambda t: (t.sin() * t.pow(2).sum()).sum()                     # noqa: E731
    grad = lambda a: to_numpy(AF.vjp(scalar, on_device(a))[1])               # noqa: E731
    numeric = _numeric_jacobian(grad, x0)
    np.testing.assert_allclose(to_numpy(AF.hessian(scalar, on_device(x0))), numeric, rtol=1e-6, atol=1e-8)


# ---- divergences kept ------------------------------------------------------------------------------

def test_empty_output_gives_an_empty_jacobian(torch):
    """PyTorch fails stacking no rows (RuntimeError); the Jacobian of an empty output is empty."""
    with pytest.raises(RuntimeError):
        TF(torch).jacobian(lambda t: t * 2, torch.zeros(0, 3))
    j = AF.jacobian(lambda t: t * 2, ag.zeros(0, 3, dtype=ag.float64))
    assert j.shape == (0, 3, 0, 3) and j.dtype == ag.float64
    assert AF.hessian(lambda t: t.sum(), ag.zeros(0, 2)).shape == (0, 2, 0, 2)


def test_hessian_of_a_power_two_is_constant(torch):
    """PyTorch's pow backward keeps x ** 0 in the graph, so with create_graph the Hessian of x ** 2
    requires grad there (and strict mode accepts it); ours is a constant, as for x * x in both."""
    fn = lambda t: (t ** 2).sum()       # noqa: E731
    assert TF(torch).hessian(fn, torch.ones(2, dtype=torch.float64), create_graph=True).requires_grad
    TF(torch).hessian(fn, torch.ones(2, dtype=torch.float64), create_graph=True, strict=True)
    h = AF.hessian(fn, ag.ones(2, dtype=ag.float64), create_graph=True)
    assert not h.requires_grad and to_numpy(h).tolist() == [[2, 0], [0, 2]]
    with pytest.raises(RuntimeError, match="hessian: The jacobian .* independent of input 0"):
        AF.hessian(fn, ag.ones(2, dtype=ag.float64), create_graph=True, strict=True)


FORWARD_MODE_CASES = [
    # (id, fn(L, x, y), kind): ties, NaN-free singular points and saved outputs, where forward mode
    # follows the ops' forward formulas and carries tangents through saved results
    ("jacobian_atan2_at_zero", lambda L, x, y: L.atan2(x, x) + x.exp() * y.sum(), "jacobian"),
    ("jacobian_maximum_ties", lambda L, x, y: L.maximum(x, y).clamp(max=y), "jacobian"),
    ("jacobian_two_outputs", lambda L, x, y: (x.sigmoid() * y, (x * y).prod().reshape(1)), "jacobian"),
    ("hessian_saved_outputs", lambda L, x, y: (x.exp().prod() + (x * y).tanh().sum()).reshape(()), "hessian"),
    ("hessian_softmax", lambda L, x, y: (x.softmax(0) * y).sum(), "hessian"),
]


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")
@pytest.mark.parametrize("case", FORWARD_MODE_CASES, ids=[c[0] for c in FORWARD_MODE_CASES])
def test_forward_mode_strategy(torch, case, device):
    """strategy="forward-mode" (vectorize=True): PyTorch's values, by forward-mode AD on both sides."""
    _, fn, kind = case
    x0, y0 = np.array([0.0, 1.0, 2.0]), np.array([0.0, 2.0, 2.0])
    results = []
    for lib in (torch, ag):
        kw = {"device": device} if lib is ag else {}
        x, y = (lib.tensor(a, dtype=lib.float64, **kw) for a in (x0, y0))
        if kind == "jacobian":
            got = F(lib).jacobian(lambda a, b: fn(lib, a, b), (x, y), vectorize=True, strategy="forward-mode")
        else:
            got = F(lib).hessian(lambda a: fn(lib, a, y), x, vectorize=True, outer_jacobian_strategy="forward-mode")
        results.append(got)
    theirs, ours = results
    # (PyTorch's forward mode hands back lists where its reverse mode has tuples, and a hessian with a
    # graph: compared by values)
    flat_t, flat_o = _flat(theirs), _flat(ours)
    assert len(flat_t) == len(flat_o)
    for t, o in zip(flat_t, flat_o):
        assert tuple(o.shape) == tuple(t.shape) and not o.requires_grad
        np.testing.assert_allclose(to_numpy(o), t.detach().numpy(), rtol=1e-12, atol=1e-12, equal_nan=True)


def _flat(r):
    return [t for x in r for t in _flat(x)] if isinstance(r, (tuple, list)) else [r]


# ---- strict mode and bad input -----------------------------------------------------------------

def _x(L, *shape):
    return (L.ones(*shape, dtype=L.float64) if shape else L.tensor(1.5, dtype=L.float64)) * 0.5


LIN = lambda L: lambda x, y: x * 2.0        # noqa: E731  (independent of y; linear in x)

# name: (function name our message must contain, call(L) running the failing call in library L)
BAD = {
    "vjp strict unused input": ("vjp", lambda L: F(L).vjp(LIN(L), (_x(L, 2), _x(L, 2)), _x(L, 2), strict=True)),
    "vjp strict constant output": ("vjp", lambda L: F(L).vjp(lambda x: L.zeros_like(x), _x(L, 2), _x(L, 2),
                                                             strict=True)),
    "jvp strict unused input": ("jvp", lambda L: F(L).jvp(LIN(L), (_x(L, 2), _x(L, 2)), (_x(L, 2), _x(L, 2)),
                                                          strict=True)),
    "jacobian strict unused input": ("jacobian", lambda L: F(L).jacobian(LIN(L), (_x(L, 2), _x(L, 2)),
                                                                         strict=True)),
    "jacobian strict create_graph linear": ("jacobian", lambda L: F(L).jacobian(
        lambda x: x * 2.0, _x(L, 2), strict=True, create_graph=True)),
    "jacobian strict vectorize": ("jacobian", lambda L: F(L).jacobian(L.sin, _x(L, 2), strict=True,
                                                                      vectorize=True)),
    "hessian strict linear": ("hessian", lambda L: F(L).hessian(lambda x: x.sum(), _x(L, 2), strict=True)),
    "hessian strict unused input": ("hessian", lambda L: F(L).hessian(lambda x, y: (x ** 2).sum(),
                                                                      (_x(L, 2), _x(L, 2)), strict=True)),
    "hvp strict linear": ("hvp", lambda L: F(L).hvp(lambda x: x.sum(), _x(L, 2), _x(L, 2), strict=True)),
    "vhp strict linear": ("vhp", lambda L: F(L).vhp(lambda x: x.sum(), _x(L, 2), _x(L, 2), strict=True)),
    "vhp strict unused input": ("vhp", lambda L: F(L).vhp(lambda x, y: (x ** 3).sum(), (_x(L, 2), _x(L, 2)),
                                                          (_x(L, 2), _x(L, 2)), strict=True)),
    "jacobian strategy": ("jacobian", lambda L: F(L).jacobian(L.sin, _x(L, 2), strategy="backward")),
    "jacobian forward-mode": ("jacobian", lambda L: F(L).jacobian(L.sin, _x(L, 2), strategy="forward-mode")),
    "jacobian forward-mode create_graph": ("jacobian", lambda L: F(L).jacobian(
        L.sin, _x(L, 2), strategy="forward-mode", create_graph=True, vectorize=True)),
    "jacobian forward-mode strict": ("jacobian", lambda L: F(L).jacobian(
        L.sin, _x(L, 2), strategy="forward-mode", strict=True, vectorize=True)),
    "hessian strategy": ("hessian", lambda L: F(L).hessian(lambda x: x.sum(), _x(L, 2),
                                                           outer_jacobian_strategy="x")),
    "hessian forward-mode": ("hessian", lambda L: F(L).hessian(lambda x: (x ** 2).sum(), _x(L, 2),
                                                               outer_jacobian_strategy="forward-mode")),
    "inputs a list": ("jacobian", lambda L: F(L).jacobian(L.sin, [_x(L, 2)])),
    "inputs with a number": ("vjp", lambda L: F(L).vjp(lambda a, b: a * b, (_x(L, 2), 2.0), _x(L, 2))),
    "outputs a list": ("jvp", lambda L: F(L).jvp(lambda x: [x * 2], _x(L, 2), _x(L, 2))),
    "hessian outputs a list": ("hessian", lambda L: F(L).hessian(lambda x: [x.sum()], _x(L, 2))),
    "v a number": ("vjp", lambda L: F(L).vjp(lambda x: x * 2, _x(L, 2), 1.0)),
    "vjp v shape": ("vjp", lambda L: F(L).vjp(lambda x: x * 2, _x(L, 2), _x(L, 3))),
    "vjp v tuple length": ("vjp", lambda L: F(L).vjp(lambda x: (x, x * 2), _x(L, 2), (_x(L, 2),))),
    "vjp v tuple for one output": ("vjp", lambda L: F(L).vjp(lambda x: x * 2, _x(L, 2), (_x(L, 2), _x(L, 2)))),
    "vjp v tuple entry shape": ("vjp", lambda L: F(L).vjp(lambda x: (x, x * 2), _x(L, 2),
                                                          (_x(L, 2), _x(L, 1)))),
    "jvp v shape": ("jvp", lambda L: F(L).jvp(lambda x: x * 2, _x(L, 2), _x(L, 2, 1))),
    "hvp v shape": ("hvp", lambda L: F(L).hvp(lambda x: x.sum(), _x(L, 2), _x(L, 3))),
    "vjp v None": ("vjp", lambda L: F(L).vjp(lambda x: x * 2, _x(L, 2))),
    "jvp v None": ("jvp", lambda L: F(L).jvp(lambda x: x * 2, _x(L, 2))),
    "hvp v None": ("hvp", lambda L: F(L).hvp(lambda x: x.sum(), _x(L, 2))),
    "vhp v None": ("vhp", lambda L: F(L).vhp(lambda x: x.sum(), _x(L, 2))),
    "hessian tuple output": ("hessian", lambda L: F(L).hessian(lambda x: (x.sum(),), _x(L, 2))),
    "hessian non-scalar output": ("hessian", lambda L: F(L).hessian(lambda x: x ** 2, _x(L, 2))),
    "hvp tuple output": ("hvp", lambda L: F(L).hvp(lambda x: (x.sum(),), _x(L, 2), _x(L, 2))),
    "vhp non-scalar output": ("vhp", lambda L: F(L).vhp(lambda x: x ** 2, _x(L, 2), _x(L, 2))),
    "integer input": ("jacobian", lambda L: F(L).jacobian(lambda x: x * 2, L.tensor([1, 2]))),
}


def _raised(call):
    try:
        call()
    except Exception as e:          # noqa: BLE001 - the exception is what is compared
        return e
    return None


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_raises_like_pytorch(torch, name):
    who, call = BAD[name]
    theirs, ours = _raised(lambda: call(torch)), _raised(lambda: call(ag))
    assert theirs is not None, f"{name}: PyTorch raised nothing"
    assert type(ours) is type(theirs), f"{name}: ours {type(ours).__name__}: {ours}; PyTorch's " \
                                       f"{type(theirs).__name__}: {theirs}"
    assert who in str(ours), f"{name}: message does not name {who}: {ours}"


def test_a_failed_call_changes_nothing(device):
    x = ag.tensor([0.5, 1.0], dtype="float64", device=device, requires_grad=True)
    y = ag.tensor([2.0, 3.0], dtype="float64", device=device)
    for call in (lambda: AF.vjp(lambda a, b: a * 2.0, (x, y), x.detach(), strict=True),
                 lambda: AF.hessian(lambda a, b: a.sum() + b.sum(), (x, y), strict=True, create_graph=True),
                 lambda: AF.jvp(lambda a, b: a * b, (x, y), x.detach())):
        with pytest.raises(RuntimeError):
            call()
        assert x.grad is None and y.grad is None and x._version == 0 and y._version == 0
        assert x.requires_grad and not y.requires_grad and x.is_leaf
    assert ag.is_grad_enabled()


def test_v_on_another_device_is_refused(fake_cuda):
    """Not comparable with PyTorch CPU: v must be on the device of what it multiplies."""
    x = ag.ones(2, dtype=ag.float64)
    v = ag.ones(2, dtype=ag.float64, device="cuda")
    for name in ("vjp", "jvp", "hvp", "vhp"):
        with pytest.raises(RuntimeError, match=f"{name}: v is on cuda:0 but should be on cpu"):
            getattr(AF, name)(lambda t: (t ** 2).sum() if name in ("hvp", "vhp") else t * 2, x, v)
