"""ag.func (grad, grad_and_value, vjp, jvp, jacrev, jacfwd, hessian, vmap,
functional_call, linearize, stack_module_state, replace_all_batch_norm_modules_) against torch.func on the
same functions: values, pytree structure of the results, dtypes, devices,
requires_grad of the results, compositions (grad of grad, jacrev of grad,
vmap of grad: per-sample gradients), vmap's in_dims/out_dims/randomness,
and bad input (PyTorch's exception type and message)."""
from collections import namedtuple

import numpy as np
import pytest

import autograd_gpu as ag
import autograd_gpu.func as AF
from oracle import TOL, to_numpy

# PyTorch's jvp warns about torch.jit.script, its linearize about an FX constant-folding detail
pytestmark = [pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:Attempted to insert a get_attr Node:UserWarning")]
Pair = namedtuple("Pair", "first second")


def T(L):
    """This library's func module, or PyTorch's."""
    return AF if L is ag else L.func


def _arrays(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1.5, 1.5, s) for s in shapes]


def _inputs(L, arrays, dtype, device, requires_grad=False):
    if L is ag:
        return [ag.tensor(a, dtype=dtype, device=device, requires_grad=requires_grad) for a in arrays]
    return [L.tensor(a, dtype=getattr(L, dtype), requires_grad=requires_grad) for a in arrays]


def assert_same(ours, theirs, dtype, device, what="result"):
    """Same pytree (tuple/list/dict nesting, dict keys) and, per tensor, the
    same shape, dtype, requires_grad and values; ours on `device`."""
    if isinstance(theirs, (tuple, list)):
        assert type(ours) is type(theirs), f"{what}: a {type(ours).__name__}, PyTorch's is a {type(theirs).__name__}"
        assert len(ours) == len(theirs), f"{what}: {len(ours)} entries, PyTorch's {len(theirs)}"
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_same(a, b, dtype, device, f"{what}[{i}]")
        return
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) and list(ours) == list(theirs), f"{what}: keys {list(ours)}"
        for k in theirs:
            assert_same(ours[k], theirs[k], dtype, device, f"{what}[{k!r}]")
        return
    if not hasattr(theirs, "detach"):
        assert ours == theirs, f"{what}: {ours!r} != {theirs!r}"
        return
    assert isinstance(ours, ag.Tensor), f"{what}: a {type(ours).__name__}, PyTorch's is a Tensor"
    dtype_name = str(theirs.dtype).replace("torch.", "")
    assert ours.dtype == getattr(ag, dtype_name), f"{what}: dtype {ours.dtype}, PyTorch's {theirs.dtype}"
    assert ours.device == ag.device(device), f"{what}: on {ours.device}"
    assert ours.requires_grad == theirs.requires_grad, f"{what}: requires_grad {ours.requires_grad}"
    a, b = to_numpy(ours), theirs.detach().numpy()
    assert a.shape == b.shape, f"{what}: shape {a.shape}, PyTorch's {b.shape}"
    tol = TOL[dtype] if dtype in TOL else TOL["float64"]
    np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), err_msg=what, equal_nan=True, **tol)


# (id, run(L, T, *inputs) -> result pytree, input shapes). L is ag or torch, T its func module.
CASES = [
    # grad / grad_and_value
    ("grad", lambda L, T, x: T.grad(lambda x: (x.sin() * x).sum())(x), [(2, 3)]),
    ("grad_argnums_1", lambda L, T, x, y: T.grad(lambda x, y: (x.exp() * y).sum(), argnums=1)(x, y), [(3,), (3,)]),
    ("grad_argnums_tuple", lambda L, T, x, y: T.grad(lambda x, y: (x.exp() @ y).tanh().sum(), argnums=(0, 1))(x, y),
     [(2, 3), (3,)]),
    ("grad_argnums_negative", lambda L, T, x, y: T.grad(lambda x, y: (x * y.cos()).sum(), argnums=-1)(x, y),
     [(3,), (3,)]),
    ("grad_unused_input_is_zero", lambda L, T, x, y: T.grad(lambda x, y: (y ** 2).sum())(x, y), [(3,), (3,)]),
    ("grad_constant_output_is_zero", lambda L, T, x: T.grad(lambda x: L.zeros((), dtype=x.dtype))(x), [(3,)]),
    ("grad_zero_dim_input", lambda L, T, x: T.grad(lambda x: x.sin() * x)(x), [()]),
    ("grad_empty_input", lambda L, T, x, y: T.grad(lambda x, y: x.sum() + (y * y).sum())(x, y), [(0, 2), (2,)]),
    ("grad_dict_input", lambda L, T, x, y: T.grad(lambda d: (d["a"].sin() * d["b"]).sum())({"a": x, "b": y}),
     [(3,), (3,)]),
    ("grad_nested_pytree", lambda L, T, x, y: T.grad(lambda p: (p[0] * p[1]["w"][0].exp()).sum())(
        (x, {"w": [y]})), [(2,), (2,)]),
    ("grad_list_input", lambda L, T, x, y: T.grad(lambda p: (p[0] * p[1]).sum())([x, y]), [(2,), (2,)]),
    ("grad_has_aux", lambda L, T, x: T.grad(lambda x: ((x ** 3).sum(), {"aux": x.cos(), "n": [x.sum()]}),
                                            has_aux=True)(x), [(3,)]),
    ("grad_kwargs_not_differentiated", lambda L, T, x, y: T.grad(lambda x, scale: (x * scale).sum())(x, scale=y),
     [(3,), (3,)]),
    ("grad_and_value", lambda L, T, x: T.grad_and_value(lambda x: (x.sin() ** 2).sum())(x), [(2, 2)]),
    ("grad_and_value_has_aux", lambda L, T, x: T.grad_and_value(lambda x: ((x * x).sum(), x.exp()), has_aux=True)(x),
     [(3,)]),
    ("grad_of_grad", lambda L, T, x: T.grad(lambda x: T.grad(lambda x: (x.sin() ** 3).sum())(x).sum())(x), [(3,)]),
    ("grad_of_grad_closure", lambda L, T, x: T.grad(lambda x: T.grad(lambda y: (x * y * y).sum())(x).sum())(x),
     [(3,)]),
    ("third_order", lambda L, T, x: T.grad(T.grad(T.grad(lambda x: x.sin() * x.exp())))(x), [()]),
    # vjp
    ("vjp", lambda L, T, x, v: (lambda o, fn: (o, fn(v)))(*T.vjp(lambda x: x.sin() * x.sum(), x)), [(3,), (3,)]),
    ("vjp_two_primals", lambda L, T, x, y, v: (lambda o, fn: (o, fn(v), fn(v * 2)))(
        *T.vjp(lambda x, y: x @ y, x, y)), [(2, 3), (3,), (2,)]),
    ("vjp_pytree_output", lambda L, T, x, u, v: (lambda o, fn: (o, fn({"a": u, "b": (v,)})))(
        *T.vjp(lambda x: {"a": x.exp(), "b": (x[:2].sin(),)}, x)), [(3,), (3,), (2,)]),
    ("vjp_pytree_primal", lambda L, T, x, y, v: (lambda o, fn: fn(v))(
        *T.vjp(lambda d: d["p"] * d["q"].tanh(), {"p": x, "q": y})), [(3,), (3,), (3,)]),
    ("vjp_has_aux", lambda L, T, x, v: (lambda o, fn, aux: (o, fn(v), aux))(
        *T.vjp(lambda x: (x.exp(), x.sum()), x, has_aux=True)), [(3,), (3,)]),
    ("vjp_unused_primal", lambda L, T, x, y, v: T.vjp(lambda x, y: x.cos(), x, y)[1](v), [(3,), (2,), (3,)]),
    # jvp (double backward trick)
    ("jvp", lambda L, T, x, t: T.jvp(lambda x: x.sin() * x.sum(), (x,), (t,)), [(3,), (3,)]),
    ("jvp_two_primals", lambda L, T, x, y, s, t: T.jvp(lambda x, y: (x @ y).tanh(), (x, y), (s, t)),
     [(2, 3), (3,), (2, 3), (3,)]),
    ("jvp_pytree_output", lambda L, T, x, t: T.jvp(lambda x: (x.exp(), {"s": x.sum()}), (x,), (t,)), [(3,), (3,)]),
    ("jvp_pytree_primal", lambda L, T, x, y, s, t: T.jvp(lambda d: d["a"] * d["b"], ({"a": x, "b": y},),
                                                         ({"a": s, "b": t},)), [(3,), (3,), (3,), (3,)]),
    ("jvp_has_aux", lambda L, T, x, t: T.jvp(lambda x: (x ** 2, x.cos()), (x,), (t,), has_aux=True), [(3,), (3,)]),
    ("jvp_output_independent_of_input", lambda L, T, x, t: T.jvp(lambda x: x.new_ones(2), (x,), (t,)),
     [(3,), (3,)]),
    ("jvp_zero_dim", lambda L, T, x, t: T.jvp(lambda x: x.exp() * x, (x,), (t,)), [(), ()]),
    ("jvp_of_grad", lambda L, T, x, t: T.jvp(T.grad(lambda x: (x.sin() * x).sum()), (x,), (t,)), [(3,), (3,)]),
    ("linearize", lambda L, T, x, t: (lambda o, fn: (o, fn(t), fn(t * 3)))(*T.linearize(lambda x: x.sin() * x, x)),
     [(3,), (3,)]),
    # jacrev / jacfwd / hessian
    ("jacrev", lambda L, T, x: T.jacrev(lambda x: x.exp() * x.sum())(x), [(3,)]),
    ("jacrev_matrix", lambda L, T, x: T.jacrev(lambda x: (x @ x.T).sin())(x), [(2, 3)]),
    ("jacrev_argnums_tuple", lambda L, T, x, y: T.jacrev(lambda x, y: x * y.sum(), argnums=(0, 1))(x, y),
     [(2,), (3,)]),
    ("jacrev_pytree_output", lambda L, T, x: T.jacrev(lambda x: {"e": x.exp(), "s": (x.sum(), x[1:] * 2)})(x),
     [(3,)]),
    ("jacrev_pytree_input", lambda L, T, x, y: T.jacrev(lambda d: d["a"] * d["b"].sum())({"a": x, "b": y}),
     [(2,), (3,)]),
    ("jacrev_has_aux", lambda L, T, x: T.jacrev(lambda x: (x.sin(), x.cos()), has_aux=True)(x), [(3,)]),
    ("jacrev_chunk_size", lambda L, T, x: T.jacrev(lambda x: x.tanh() * x, chunk_size=1)(x), [(4,)]),
    ("jacrev_empty_output", lambda L, T, x: T.jacrev(lambda x: x[:0] * 2)(x), [(3,)]),
    ("jacrev_of_grad", lambda L, T, x: T.jacrev(T.grad(lambda x: (x.sin() * x.prod()).sum()))(x), [(3,)]),
    ("jacrev_of_jacrev", lambda L, T, x: T.jacrev(T.jacrev(lambda x: x.sin() * x.sum()))(x), [(2,)]),
    ("jacfwd", lambda L, T, x: T.jacfwd(lambda x: x.exp() * x.sum())(x), [(3,)]),
    ("jacfwd_argnums_tuple", lambda L, T, x, y: T.jacfwd(lambda x, y: (x * y).tanh(), argnums=(0, 1))(x, y),
     [(3,), (3,)]),
    ("jacfwd_has_aux", lambda L, T, x: T.jacfwd(lambda x: (x.sin(), {"a": x}), has_aux=True)(x), [(3,)]),
    ("hessian", lambda L, T, x: T.hessian(lambda x: (x.sin() * x.prod()).sum())(x), [(3,)]),
    ("hessian_matrix_input", lambda L, T, x: T.hessian(lambda x: (x.exp() @ x.T).trace())(x), [(2, 2)]),
    ("hessian_argnums_tuple", lambda L, T, x, y: T.hessian(lambda x, y: (x.sin() * y ** 2).sum(), argnums=(0, 1))(
        x, y), [(2,), (2,)]),
    # vmap
    ("vmap", lambda L, T, x: T.vmap(lambda x: x.sin() * x.sum())(x), [(4, 3)]),
    ("vmap_in_dims_none", lambda L, T, x, y: T.vmap(lambda x, y: x @ y, in_dims=(0, None))(x, y), [(4, 3), (3,)]),
    ("vmap_in_dim_1", lambda L, T, x, y: T.vmap(lambda x, y: x * y, in_dims=(1, 0))(x, y), [(3, 4), (4, 3)]),
    ("vmap_negative_in_dim", lambda L, T, x: T.vmap(lambda x: x.cumsum(0), in_dims=-1)(x), [(3, 4)]),
    ("vmap_out_dims", lambda L, T, x: T.vmap(lambda x: x.exp(), out_dims=1)(x), [(4, 3)]),
    ("vmap_negative_out_dims", lambda L, T, x: T.vmap(lambda x: x.exp(), out_dims=-1)(x), [(4, 3, 2)]),
    ("vmap_pytree_in_dims", lambda L, T, x, y, z: T.vmap(lambda d, z: d["a"] * d["b"] + z, in_dims=({"a": 0, "b": 1},
                                                                                                  None))(
        {"a": x, "b": y}, z), [(4, 3), (3, 4), (3,)]),
    ("vmap_pytree_out_dims", lambda L, T, x: T.vmap(lambda x: (x, {"s": x.sum(), "e": [x.exp()]}),
                                                   out_dims=(1, {"s": 0, "e": [0]}))(x), [(4, 3)]),
    ("vmap_out_dims_none", lambda L, T, x, y: T.vmap(lambda x, y: (x * 2, y), in_dims=(0, None),
                                                     out_dims=(0, None))(x, y), [(4, 3), (3,)]),
    ("vmap_kwargs_not_mapped", lambda L, T, x, y: T.vmap(lambda x, scale: x * scale)(x, scale=y), [(4, 3), (3,)]),
    ("vmap_scalar_elements", lambda L, T, x: T.vmap(lambda x: x * x + 1)(x), [(5,)]),
    ("vmap_empty_batch", lambda L, T, x: T.vmap(lambda x: (x * 2, x.sum()))(x), [(0, 3)]),
    ("vmap_nested", lambda L, T, x, y: T.vmap(T.vmap(lambda a, b: a * b, in_dims=(0, None)), in_dims=(None, 0))(x, y),
     [(3,), (2,)]),
    ("vmap_of_grad", lambda L, T, x, y: T.vmap(T.grad(lambda x, y: (x.sin() * y).sum()), in_dims=(0, None))(x, y),
     [(4, 3), (3,)]),
    ("vmap_of_jacrev", lambda L, T, x: T.vmap(T.jacrev(lambda x: x.sin() * x.sum()))(x), [(2, 3)]),
    ("vmap_of_vjp", lambda L, T, x, v: T.vmap(lambda x, v: T.vjp(lambda x: x.exp() * x, x)[1](v))(x, v),
     [(4, 3), (4, 3)]),
    ("vmap_of_jvp", lambda L, T, x, t: T.vmap(lambda x, t: T.jvp(lambda x: x.sin(), (x,), (t,))[1])(x, t),
     [(4, 3), (4, 3)]),
    ("vmap_of_hessian", lambda L, T, x: T.vmap(T.hessian(lambda x: (x ** 3).sum()))(x), [(2, 3)]),
    ("vmap_chunk_size", lambda L, T, x: T.vmap(lambda x: x.exp().sum(), chunk_size=2)(x), [(5, 3)]),
    ("vmap_namedtuple_output", lambda L, T, x: T.vmap(lambda x: Pair(x, x.sum()))(x), [(4, 3)]),
    ("vmap_namedtuple_input", lambda L, T, x, y: T.vmap(lambda p: p.first * p.second)(Pair(x, y)), [(4, 3), (4, 3)]),
    ("identity_jvp_vjp_jacrev", lambda L, T, x, t: (T.jvp(lambda x: x, (x,), (t,)), T.vjp(lambda x: x, x)[1](t),
                                                    T.jacrev(lambda x: x)(x)), [(3,), (3,)]),
    ("grad_of_vmap", lambda L, T, x: T.grad(lambda x: T.vmap(lambda r: r.sin().sum())(x).prod())(x), [(3, 2)]),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_against_torch_func(torch, case, dtype, device):
    _, run, shapes = case
    arrays = _arrays(shapes)
    ours = run(ag, AF, *_inputs(ag, arrays, dtype, device))
    theirs = run(torch, torch.func, *_inputs(torch, arrays, dtype, device))
    assert_same(ours, theirs, dtype, device)


# the same with inputs that require grad: results keep the graph to them (as PyTorch's do), and
# backpropagating a random upstream through the results gives PyTorch's input gradients
GRAPH_CASES = ["grad", "grad_argnums_tuple", "grad_dict_input", "grad_has_aux", "grad_of_grad", "vjp",
               "vjp_two_primals", "jvp", "jvp_two_primals", "jacrev", "jacrev_argnums_tuple", "hessian",
               "vmap", "vmap_in_dims_none", "vmap_of_grad", "vmap_pytree_out_dims", "grad_and_value", "jacfwd"]


def _leaves(tree):
    return [t for t in AF.tree_flatten(tree)[0] if hasattr(t, "requires_grad") and t.requires_grad]


@pytest.mark.parametrize("name", GRAPH_CASES)
def test_results_differentiable_with_respect_to_inputs(torch, name, device):
    _, run, shapes = next(c for c in CASES if c[0] == name)
    arrays = _arrays(shapes)
    ours_in = _inputs(ag, arrays, "float64", device, requires_grad=True)
    theirs_in = _inputs(torch, arrays, "float64", device, requires_grad=True)
    ours, theirs = run(ag, AF, *ours_in), run(torch, torch.func, *theirs_in)
    assert_same(ours, theirs, "float64", device)
    ours_l, theirs_l = _leaves(ours), [t for t in torch.utils._pytree.tree_leaves(theirs)
                                       if hasattr(t, "requires_grad") and t.requires_grad]
    rng = np.random.default_rng(1)
    ups = [rng.standard_normal(tuple(t.shape)) for t in theirs_l]
    loss_t = sum((t * torch.tensor(u)).sum() for t, u in zip(theirs_l, ups))
    loss_o = sum((t * ag.tensor(u, device=device)).sum() for t, u in zip(ours_l, ups))
    g_t = torch.autograd.grad(loss_t, theirs_in, allow_unused=True, materialize_grads=True)
    g_o = ag.autograd.grad(loss_o, ours_in, allow_unused=True, materialize_grads=True)
    for i, (a, b) in enumerate(zip(g_o, g_t)):
        np.testing.assert_allclose(to_numpy(a), b.numpy(), err_msg=f"input {i}", **TOL["float64"])


def test_closed_over_parameter_keeps_graph(torch, device):
    """A result depending on a closed-over tensor that requires grad requires
    grad (PyTorch's transforms compose with ordinary autograd)."""
    a, b = _arrays([(3,), (3,)])
    w, x = ag.tensor(a, device=device, requires_grad=True), ag.tensor(b, device=device)
    tw, tx = torch.tensor(a, requires_grad=True), torch.tensor(b)
    for make in (lambda L, T, w, x: T.grad(lambda x: (w * x.sin()).sum())(x),
                 lambda L, T, w, x: T.jacrev(lambda x: w * x.exp())(x),
                 lambda L, T, w, x: T.jvp(lambda x: w * x.cos(), (x,), (x,))[1],
                 lambda L, T, w, x: T.vmap(lambda r: w * r)(x.reshape(3, 1))):
        ours, theirs = make(ag, AF, w, x), make(torch, torch.func, tw, tx)
        assert_same(ours, theirs, "float64", device)
        (g,), (tg,) = ag.autograd.grad(ours.sum(), w), torch.autograd.grad(theirs.sum(), tw)
        np.testing.assert_allclose(to_numpy(g), tg.numpy(), **TOL["float64"])


def test_transforms_ignore_outer_no_grad(torch, device):
    """Under no_grad the transforms still differentiate; results have no graph."""
    a, = _arrays([(3,)])
    w = ag.tensor(a, device=device, requires_grad=True)
    tw = torch.tensor(a, requires_grad=True)
    with ag.no_grad(), torch.no_grad():
        ours = AF.grad(lambda x: (w * x.sin()).sum())(w)
        theirs = torch.func.grad(lambda x: (tw * x.sin()).sum())(tw)
        assert_same(ours, theirs, "float64", device)
        assert_same(AF.hessian(lambda x: x.sin().sum())(w), torch.func.hessian(lambda x: x.sin().sum())(tw),
                    "float64", device)


def _half_detached(L):
    def f(x):
        with L.no_grad():
            frozen = x.exp()
        return (frozen * x).sum()
    return f


def test_no_grad_inside_function_is_respected(torch, device):
    """A no_grad block inside the function hides that part from the transform
    (its gradient is zero there), as in PyTorch."""
    a, = _arrays([(3,)])
    assert_same(AF.grad(_half_detached(ag))(ag.tensor(a, device=device)),
                torch.func.grad(_half_detached(torch))(torch.tensor(a)), "float64", device)
    assert_same(AF.jacrev(_half_detached(ag))(ag.tensor(a, device=device)),
                torch.func.jacrev(_half_detached(torch))(torch.tensor(a)), "float64", device)


def test_functional_call_is_the_stateless_one():
    from autograd_gpu.nn.utils.stateless import func_functional_call
    assert AF.functional_call is func_functional_call


def test_vjp_fn_create_graph_and_retain(torch, device):
    a, v = _arrays([(3,), (3,)])
    x, tx = ag.tensor(a, device=device), torch.tensor(a)
    out, fn = AF.vjp(lambda x: x.exp() * x, x)
    tout, tfn = torch.func.vjp(lambda x: x.exp() * x, tx)
    for _ in range(3):                  # vjp_fn may run again (retain_graph=True by default)
        assert_same(fn(ag.tensor(v, device=device)), tfn(torch.tensor(v)), "float64", device)
    cot = ag.tensor(v, device=device, requires_grad=True)
    tcot = torch.tensor(v, requires_grad=True)
    assert_same(fn(cot, create_graph=True), tfn(tcot, create_graph=True), "float64", device)
    assert_same(fn(cot, create_graph=False), tfn(tcot, create_graph=False), "float64", device)


def test_gradcheck_through_transforms(device):
    """float64 finite differences (first and second order) of functions of a
    closed-over tensor built from grad, jacrev and vmap."""
    x = ag.tensor(_arrays([(2, 3)], seed=3)[0], device=device)

    def fn(w):
        per_row = AF.vmap(AF.grad(lambda r: (w * r.sin()).sum() ** 2))(x)
        return per_row.sum(0) + AF.jacrev(lambda v: (w * v).tanh())(w[0] * 1.0).sum(0)

    w = ag.tensor(_arrays([(3,)], seed=4)[0], device=device, requires_grad=True)
    assert ag.autograd.gradcheck(fn, (w,))
    assert ag.autograd.gradgradcheck(fn, (w,))


def test_float16(torch, device):
    a, t = _arrays([(4,), (4,)])
    ours_in = _inputs(ag, [a, t], "float16", device)
    theirs_in = _inputs(torch, [a, t], "float16", device)
    for run in (lambda L, T, x, t: T.grad(lambda x: (x * x * 0.5).sum())(x),
                lambda L, T, x, t: T.vmap(lambda x: x * 3)(x),
                lambda L, T, x, t: T.jvp(lambda x: x * x, (x,), (t,))):
        assert_same(run(ag, AF, *ours_in), run(torch, torch.func, *theirs_in), "float16", device)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_nan_inf_propagate(torch, device):
    a = np.array([0.0, -1.0, 2.0])
    for run in (lambda L, T, x: T.grad(lambda x: x.log().sum())(x),
                lambda L, T, x: T.jacrev(lambda x: x.sqrt())(x),
                lambda L, T, x: T.vmap(lambda x: x.log())(x)):
        assert_same(run(ag, AF, ag.tensor(a, device=device)), run(torch, torch.func, torch.tensor(a)),
                    "float64", device)


# ---- per-sample gradients (vmap of grad of functional_call) ------------------------------------------

def _torch_model(torch):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()


def _our_model(tmodel, device):
    model = ag.nn.Sequential(ag.nn.Linear(3, 4), ag.nn.Tanh(), ag.nn.Linear(4, 2)).to(device).double()
    model.load_state_dict({k: ag.tensor(v.detach().numpy()) for k, v in tmodel.state_dict().items()})
    return model


def test_per_sample_gradients(torch, device):
    tmodel = _torch_model(torch)
    model = _our_model(tmodel, device)
    xs, ys = _arrays([(5, 3), (5, 2)], seed=7)

    def per_sample(L, T, model, x, y):
        params = {k: v.detach() for k, v in model.named_parameters()}

        def loss(params, x, y):
            out = T.functional_call(model, params, (x.unsqueeze(0),))
            return ((out - y.unsqueeze(0)) ** 2).mean()
        return T.vmap(T.grad(loss), in_dims=(None, 0, 0))(params, x, y)

    ours = per_sample(ag, AF, model, *_inputs(ag, [xs, ys], "float64", device))
    theirs = per_sample(torch, torch.func, tmodel.double(), *_inputs(torch, [xs, ys], "float64", device))
    assert_same(ours, theirs, "float64", device)
    # their mean over the batch is the ordinary batch gradient
    model.double()
    loss = ((model(ag.tensor(xs, device=device)) - ag.tensor(ys, device=device)) ** 2).mean(1).mean()
    loss.backward()
    for name, p in model.named_parameters():
        np.testing.assert_allclose(to_numpy(ours[name].mean(0)), to_numpy(p.grad), **TOL["float64"])


def test_per_sample_gradient_norm_penalty(torch, device):
    """Per-sample gradients taken at parameters that require grad keep their
    graph: the gradient of a penalty on them (a second-order quantity) is
    PyTorch's."""
    tmodel = _torch_model(torch)
    model = _our_model(tmodel, device)
    xs, ys = _arrays([(4, 3), (4, 2)], seed=8)

    def penalty_grads(L, T, model, x, y):
        params = dict(model.named_parameters())

        def loss(params, x, y):
            return ((T.functional_call(model, params, (x,)) - y) ** 2).sum()
        per_sample = T.vmap(T.grad(loss), in_dims=(None, 0, 0))(params, x, y)
        penalty = sum((g ** 2).sum() for g in per_sample.values())
        return dict(zip(params, L.autograd.grad(penalty, list(params.values()))))

    assert_same(penalty_grads(ag, AF, model, *_inputs(ag, [xs, ys], "float64", device)),
                penalty_grads(torch, torch.func, tmodel, *_inputs(torch, [xs, ys], "float64", device)),
                "float64", device)


def test_functional_call_is_func_functional_call(torch, device):
    tmodel = _torch_model(torch).double()
    model = _our_model(tmodel, device).double()
    x, = _arrays([(2, 3)])
    params = {k: ag.tensor(v.detach().numpy() * 2, device=device) for k, v in tmodel.named_parameters()}
    tparams = {k: v.detach() * 2 for k, v in tmodel.named_parameters()}
    assert_same(AF.functional_call(model, params, (ag.tensor(x, device=device),)),
                torch.func.functional_call(tmodel, tparams, (torch.tensor(x),)), "float64", device)


def test_stack_module_state_ensemble(torch, device):
    tmodels = [_torch_model(torch).double() for _ in range(3)]
    for i, m in enumerate(tmodels):
        with torch.no_grad():
            for p in m.parameters():
                p.mul_(1 + i)
    models = [_our_model(m, device).double() for m in tmodels]
    params, buffers = AF.stack_module_state(models)
    tparams, tbuffers = torch.func.stack_module_state(tmodels)
    assert_same(params, tparams, "float64", device)
    assert_same(buffers, tbuffers, "float64", device)
    x, = _arrays([(2, 3)])

    def ensemble(T, base, params, x):
        return T.vmap(lambda p: T.functional_call(base, p, (x,)))(params)
    assert_same(ensemble(AF, models[0], params, ag.tensor(x, device=device)),
                ensemble(torch.func, tmodels[0], tparams, torch.tensor(x)), "float64", device)


def test_replace_all_batch_norm_modules_(torch, device):
    def build(L):
        return L.nn.Sequential(L.nn.Linear(3, 4), L.nn.BatchNorm1d(4), L.nn.Sequential(L.nn.BatchNorm1d(4)),
                               L.nn.InstanceNorm1d(4, track_running_stats=True), L.nn.BatchNorm1d(4, momentum=None))
    tm = build(torch).double()
    m = build(ag).to(device).double()
    m.load_state_dict({k: ag.tensor(v.numpy(), device=device) for k, v in tm.state_dict().items()})
    assert AF.replace_all_batch_norm_modules_(m) is m
    torch.func.replace_all_batch_norm_modules_(tm)
    assert sorted(m.state_dict()) == sorted(tm.state_dict())
    for ours, theirs in zip(m.modules(), tm.modules()):
        assert getattr(ours, "track_running_stats", None) == getattr(theirs, "track_running_stats", None)
        assert (getattr(ours, "running_mean", None) is None) == (getattr(theirs, "running_mean", None) is None)
    x, = _arrays([(5, 4, 3)])
    m.eval(), tm.eval()          # batch statistics now, in eval too
    assert_same(m[1:](ag.tensor(x, device=device)), tm[1:](torch.tensor(x)), "float64", device)


# ---- vmap randomness ---------------------------------------------------------------------------------

def test_vmap_randomness(device):
    x = ag.zeros(4, 3, device=device)
    # "same": every element draws the same numbers; the generator advances as after one draw
    ag.manual_seed(0)
    same = AF.vmap(lambda r: r + ag.rand(3, device=device), randomness="same")(x)
    ag.manual_seed(0)
    once = ag.rand(3, device=device)
    after_once = ag.rand(1, device=device)
    ag.manual_seed(0)
    AF.vmap(lambda r: r + ag.rand(3, device=device), randomness="same")(x)
    np.testing.assert_array_equal(to_numpy(ag.rand(1, device=device)), to_numpy(after_once))
    for row in to_numpy(same):
        np.testing.assert_array_equal(row, to_numpy(once))
    # "different": the elements differ
    diff = to_numpy(AF.vmap(lambda r: r + ag.rand(3, device=device), randomness="different")(x))
    assert len({tuple(r) for r in diff}) == 4
    # "error": raises, and the generator is as before the call
    ag.manual_seed(1)
    expected = to_numpy(ag.rand(2, device=device))
    ag.manual_seed(1)
    with pytest.raises(RuntimeError, match="vmap: called random operation while in randomness error mode"):
        AF.vmap(lambda r: r * ag.rand(3, device=device))(x)
    np.testing.assert_array_equal(to_numpy(ag.rand(2, device=device)), expected)


def test_vmap_out_dims_none_checks_by_value(device):
    """Divergence kept: an out_dims=None output is accepted when it has the same
    value for every element (PyTorch rejects any output computed from a batched
    input, e.g. x * 0, even when its values agree)."""
    x = ag.tensor(_arrays([(3, 2)])[0], device=device)
    out = AF.vmap(lambda r: r * 0, out_dims=None)(x)
    assert out.shape == (2,)
    with pytest.raises(ValueError, match="can not return a BatchedTensor when out_dim is None"):
        AF.vmap(lambda r: r * 2, out_dims=None)(x)


# ---- bad input: PyTorch's exception type, its message (where the same text), nothing changed ---------

def _x(L, device="cpu"):
    return ag.ones(3, dtype=ag.float64, device=device) if L is ag else L.ones(3, dtype=L.float64)


BAD = [
    ("grad_nonscalar_output", lambda L, T, x: T.grad(lambda x: x * 2)(x), "grad_and_value(f)(*args)"),
    ("grad_one_element_1d_output", lambda L, T, x: T.grad(lambda x: x.sum().reshape(1))(x), "to return a scalar"),
    ("grad_non_tensor_output", lambda L, T, x: T.grad(lambda x: 3.0)(x), "to return a Tensor"),
    ("grad_has_aux_not_pair", lambda L, T, x: T.grad(lambda x: x.sum(), has_aux=True)(x), "(output, aux)"),
    ("grad_argnum_out_of_range", lambda L, T, x: T.grad(lambda x: x.sum(), argnums=1)(x),
     "Got argnum=1, but only 1 positional inputs"),
    ("grad_argnums_empty", lambda L, T, x: T.grad(lambda x: x.sum(), argnums=())(x), "argnums must be non-empty"),
    ("grad_argnums_repeated", lambda L, T, x: T.grad(lambda x, y: x.sum(), argnums=(0, 0))(x, x),
     "argnums elements must be unique"),
    ("grad_argnums_float", lambda L, T, x: T.grad(lambda x: x.sum(), argnums=0.0)(x), "argnums must be int"),
    ("grad_non_tensor_input", lambda L, T, x: T.grad(lambda x: x * 1.0)(2.0),
     "Thing passed to transform API must be Tensor"),
    ("grad_integer_input", lambda L, T, x: T.grad(lambda x: x.sum())(x.long()), "floating point"),
    ("grad_aux_not_tensors", lambda L, T, x: T.grad(lambda x: (x.sum(), {"n": 3}), has_aux=True)(x),
     "Expected tensors, got unsupported type"),
    ("vjp_has_aux_not_pair", lambda L, T, x: T.vjp(lambda x: x, x, has_aux=True), "vjp(f, *primals)"),
    ("vjp_integer_output", lambda L, T, x: T.vjp(lambda x: x.long(), x), "vjp(f, ...)"),
    ("vjp_non_tensor_output", lambda L, T, x: T.vjp(lambda x: (x, 1), x), "vjp(f, *primals)"),
    ("vjp_wrong_cotangent_structure", lambda L, T, x: T.vjp(lambda x: (x, x), x)[1](x),
     "Expected pytree structure of cotangents"),
    ("jvp_primals_not_tuple", lambda L, T, x: T.jvp(lambda x: x, x, (x,)), "jvp(f, primals, tangents)"),
    ("jvp_structure_mismatch", lambda L, T, x: T.jvp(lambda x, y: x, (x, x), (x,)), "jvp(f, primals, tangents)"),
    ("jvp_tangent_not_tensor", lambda L, T, x: T.jvp(lambda x: x, (x,), (1.0,)), "jvp(f, primals, tangents)"),
    ("jvp_has_aux_not_pair", lambda L, T, x: T.jvp(lambda x: x, (x,), (x,), has_aux=True),
     "jvp(f, primals, tangents)"),
    ("jvp_strict_independent", lambda L, T, x: T.jvp(lambda x: x.new_ones(2), (x,), (x,), strict=True),
     "jvp(f, primals, tangents, strict=True)"),
    ("jacrev_chunk_size_zero", lambda L, T, x: T.jacrev(lambda x: x, chunk_size=0)(x), "jacrev"),
    ("jacrev_integer_output", lambda L, T, x: T.jacrev(lambda x: x.long())(x), "vjp(f, ...)"),
    ("jacfwd_bad_randomness", lambda L, T, x: T.jacfwd(lambda x: x, randomness="x")(x), "randomness"),
    ("hessian_argnum_out_of_range", lambda L, T, x: T.hessian(lambda x: x.sum(), argnums=2)(x), "argnum=2"),
    ("vmap_no_inputs", lambda L, T, x: T.vmap(lambda: x)(), "vmap(<lambda>)(<inputs>): got no inputs"),
    ("vmap_in_dims_list", lambda L, T, x: T.vmap(lambda x: x, in_dims=[0])(x), "expected `in_dims` to be int"),
    ("vmap_in_dims_structure", lambda L, T, x: T.vmap(lambda x: x, in_dims=(0, 1))(x), "in_dims is not compatible"),
    ("vmap_in_dim_out_of_range", lambda L, T, x: T.vmap(lambda x: x, in_dims=1)(x), "Got in_dim=1 for some input"),
    ("vmap_in_dim_float", lambda L, T, x: T.vmap(lambda x: x, in_dims=(0.5,))(x), "in_dim must be either"),
    ("vmap_non_tensor_mapped", lambda L, T, x: T.vmap(lambda x, y: x, in_dims=(0, 0))(x, 2.0),
     "We cannot vmap over non-Tensor arguments"),
    ("vmap_nothing_mapped", lambda L, T, x: T.vmap(lambda x: x, in_dims=(None,))(x),
     "vmap: Expected at least one Tensor to vmap over"),
    ("vmap_batch_size_mismatch", lambda L, T, x: T.vmap(lambda x, y: x * y)(x, x[:2]),
     "vmap: Expected all tensors to have the same size in the mapped dimension"),
    ("vmap_non_tensor_output", lambda L, T, x: T.vmap(lambda x: 3)(x), "must only return Tensors"),
    ("vmap_out_dims_structure", lambda L, T, x: T.vmap(lambda x: (x, x), out_dims=(0, 0, 0))(x),
     "out_dims is not compatible"),
    ("vmap_out_dims_float", lambda L, T, x: T.vmap(lambda x: x, out_dims=0.5)(x), "`out_dims` must be an int"),
    ("vmap_out_dims_none_batched", lambda L, T, x: T.vmap(lambda r: r, out_dims=None)(x.cumsum(0)),
     "can not return a BatchedTensor when out_dim is None"),
    ("vmap_out_dim_out_of_range", lambda L, T, x: T.vmap(lambda r: r, out_dims=1)(x), "Dimension out of range"),
    ("jvp_tangent_shape", lambda L, T, x: T.jvp(lambda x: x, (x,), (x[:2],)), "forward gradient is of size [2]"),
    ("vjp_cotangent_shape", lambda L, T, x: T.vjp(lambda x: x * 2, x)[1](x[:2]), "Mismatch in shape"),
    ("vmap_bad_randomness", lambda L, T, x: T.vmap(lambda x: x, randomness="sometimes")(x),
     "Only allowed values for randomness"),
    ("vmap_chunk_size_zero", lambda L, T, x: T.vmap(lambda x: x, chunk_size=0)(x), "vmap: chunk_size"),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_input(torch, case, device):
    _, run, text = case
    with pytest.raises(Exception) as theirs:
        run(torch, torch.func, _x(torch))
    x = _x(ag, device)
    with pytest.raises(theirs.type) as ours:
        run(ag, AF, x)
    assert text in str(theirs.value), f"PyTorch's message changed: {theirs.value}"
    assert text in str(ours.value), f"our message {ours.value!r} lacks {text!r}"
    assert not x.requires_grad and x.grad is None
    np.testing.assert_array_equal(to_numpy(x), np.ones(3))


# jvp and jacfwd by forward-mode AD, as PyTorch's: at ties and NaNs they follow the ops' forward formulas
# (where those differ from the transposed backward), and forward over reverse (hessian, jvp of grad) carries
# tangents through saved outputs (exp, tanh, prod keep their result for backward)
_TIE = np.array([0.0, 1.0, np.nan, 1.0])
_OTHER = np.array([0.0, 1.0, 1.0, np.nan])
_T1, _T2 = np.array([1.0, -0.5, 2.0, 0.25]), np.array([0.5, 3.0, -1.0, 1.5])
FORWARD_CASES = [
    ("jvp_maximum_ties_and_nans", lambda L, T, x, y, s, t: T.jvp(L.maximum, (x, y), (s, t)), [_TIE, _OTHER, _T1, _T2]),
    ("jvp_clamp_tensor_bounds", lambda L, T, x, y, s, t: T.jvp(lambda a, b: a.clamp(min=b), (x, y), (s, t)),
     [_TIE, _OTHER, _T1, _T2]),
    ("jvp_amax_nan_tangent", lambda L, T, x, s: T.jvp(lambda a: a.amax(), (x,), (s,)),
     [np.array([1.0, 3.0, 3.0]), np.array([np.nan, 1.0, 2.0])]),
    ("jacfwd_atan2_at_zero", lambda L, T, x: T.jacfwd(lambda z: L.atan2(z, z + 1) + L.atan2(z, z))(x),
     [np.array([0.0, 1.0])]),
    ("jacfwd_argnums_pytree", lambda L, T, x, y: T.jacfwd(lambda a, d: (a * d["b"]).sin(), argnums=(0, 1))(
        x, {"b": y}), [_T1, _T2]),
    ("hessian_saved_outputs", lambda L, T, x: T.hessian(lambda z: z.exp().prod() + z.tanh().sum() +
                                                        z.sigmoid().pow(2).sum())(x), [_T1]),
    ("jvp_of_grad_saved_outputs", lambda L, T, x, s: T.jvp(T.grad(lambda z: (z.exp() * z.softmax(0)).sum()),
                                                           (x,), (s,)), [_T1, _T2]),
    ("jvp_of_jvp", lambda L, T, x, s: T.jvp(lambda z: T.jvp(lambda w: w.exp().sum(), (z,), (s,))[1], (x,), (s,)),
     [_T1, _T2]),
    ("jacfwd_of_jacrev_in_place", lambda L, T, x: T.jacfwd(T.jacrev(lambda z: (z * 1).mul_(z).sin_()))(x), [_T1]),
]


@pytest.mark.parametrize("case", FORWARD_CASES, ids=[c[0] for c in FORWARD_CASES])
def test_forward_transforms_against_torch_func(torch, case, device):
    _, run, arrays = case
    ours = run(ag, AF, *_inputs(ag, arrays, "float64", device))
    theirs = run(torch, torch.func, *_inputs(torch, arrays, "float64", device))
    assert_same(ours, theirs, "float64", device)


def test_transforms_on_dual_inputs_keep_their_tangents(torch, device):
    # grad inside the user's own dual level: the gradient carries the tangent (forward over reverse), as
    # PyTorch's, without a graph
    got = []
    for lib in (torch, ag):
        kw = {"device": device} if lib is ag else {}
        F = lib.autograd.forward_ad
        with F.dual_level():
            d = F.make_dual(lib.tensor([0.5, -1.0], dtype=lib.float64, **kw),
                            lib.tensor([1.0, 2.0], dtype=lib.float64, **kw))
            g = lib.func.grad(lambda z: (z.exp() * z).sum())(d)
            got.append((g.requires_grad, to_numpy(F.unpack_dual(g).primal), to_numpy(F.unpack_dual(g).tangent)))
    assert got[0][0] is got[1][0] is False
    for a, b in zip(got[0][1:], got[1][1:]):
        np.testing.assert_allclose(b, a, rtol=1e-12)
