"""The aliases and Tensor utilities of autograd_gpu/ops/aliases.py against PyTorch CPU: values, grad_fn names
(an alias is its op's node), gradients to second order, attributes, edge cases and bad input."""
import warnings

import numpy as np
import pytest

import autograd_gpu as ag
from oracle import U, case_tests, to_numpy

#      id                 fn(lib, *inputs)                                                  inputs          options
CASES = [
    ("absolute",          lambda m, x: m.absolute(x),                                       [(2, 3)],       {}),
    ("arccos",            lambda m, x: m.arccos(x),                                         [U((4,), -.9, .9)], {}),
    ("arcsin_method",     lambda m, x: x.arcsin(),                                          [U((4,), -.9, .9)], {}),
    ("arctan",            lambda m, x: m.arctan(x),                                         [(3,)],         {}),
    ("clip",              lambda m, x: m.clip(x, -0.5, 0.5),                                [(2, 3)],       {}),
    ("divide",            lambda m, x, y: m.divide(x, y),                                   [(2, 3), U((3,), 1, 2)], {}),
    ("divide_floor",      lambda m, x, y: m.divide(x, y, rounding_mode="floor"),            [(2, 3), U((3,), 1, 2)],
     dict(fd=False)),
    ("divide_trunc_num",  lambda m, x: x.divide(0.7, rounding_mode="trunc"),                [(2, 3)],       dict(fd=False)),
    ("true_divide",       lambda m, x, y: m.true_divide(x, y),                              [(3,), U((3,), 1, 2)], {}),
    ("multiply",          lambda m, x, y: m.multiply(x, y),                                 [(2, 3), (3,)], {}),
    ("subtract_alpha",    lambda m, x, y: m.subtract(x, y, alpha=2),                        [(2, 3), (2, 3)], {}),
    ("negative",          lambda m, x: m.negative(x),                                       [(3,)],         {}),
    ("positive",          lambda m, x: m.positive(x) * 2,                                   [(3,)],         dict(name=False)),
    ("fix",               lambda m, x: m.fix(x * 3),                                        [(3,)],         dict(fd=False)),
    ("swapaxes",          lambda m, x: m.swapaxes(x, 0, 2),                                 [(2, 3, 4)],    {}),
    ("swapdims_method",   lambda m, x: x.swapdims(-1, 0),                                   [(2, 3)],       {}),
    ("moveaxis",          lambda m, x: m.moveaxis(x, 0, -1),                                [(2, 3, 4)],    {}),
    ("concatenate",       lambda m, x, y: m.concatenate([x, y], 1),                         [(2, 3), (2, 1)], {}),
    ("adjoint",           lambda m, x: m.adjoint(x),                                        [(2, 3, 4)],    {}),
    ("mH",                lambda m, x: x.mH,                                                [(2, 3)],       {}),
    ("H",                 lambda m, x: x.H,                                                 [(2, 3)],       {}),
    ("sum_to_size_keep",  lambda m, x: x.sum_to_size(1, 3),                                 [(2, 3)],       {}),
    ("sum_to_size_lead",  lambda m, x: x.sum_to_size(3),                                    [(2, 3)],       {}),
    ("sum_to_size_tuple", lambda m, x: x.sum_to_size((2, 1, 1)),                            [(4, 2, 3, 5)], {}),
    ("split_with_sizes",  lambda m, x: x.split_with_sizes([1, 2], 1)[1],                    [(2, 3)],       {}),
    ("split_with_sizes_f", lambda m, x: m.split_with_sizes(x, (2, 1))[0],                   [(3, 2)],       {}),
    ("narrow_copy",       lambda m, x: x.narrow_copy(1, 1, 2),                              [(2, 4)],       {}),
    ("narrow_copy_f",     lambda m, x: m.narrow_copy(x, 0, -2, 1),                          [(3, 2)],       {}),
    ("type_as",           lambda m, x, y: x.type_as(y) * y,                                 [(3,), (3,)],   dict(name=False)),
]
test_against_pytorch, test_gradcheck, test_second_order = case_tests(CASES)


def test_an_alias_is_the_op_itself():
    assert ag.Tensor.absolute is ag.Tensor.abs and ag.Tensor.arccos is ag.Tensor.acos
    assert ag.Tensor.swapaxes is ag.Tensor.transpose and ag.Tensor.clip is ag.Tensor.clamp
    assert ag.concatenate([ag.ones(1)], 0).tolist() == [1.0]
    assert ag.greater.__wrapped__ is ag.Tensor.gt and ag.fix.__wrapped__.__name__ == "fix"


@pytest.mark.parametrize("name,tname", [("greater", "gt"), ("greater_equal", "ge"), ("less", "lt"),
                                        ("less_equal", "le"), ("not_equal", "ne")])
def test_comparison_aliases(torch, device, name, tname):
    a = np.array([1.0, 2.0, np.nan, 4.0])
    for other in (np.array([2.0, 2.0, 1.0, 3.0]), 2):
        b, tb = (ag.tensor(other, device=device), torch.tensor(other)) if isinstance(other, np.ndarray) else (other,) * 2
        x, tx = ag.tensor(a, device=device), torch.tensor(a)
        for ours in (getattr(ag, name)(x, b), getattr(x, name)(b)):
            assert ours.dtype is ag.bool and ours.device == ag.device(device)
            np.testing.assert_array_equal(to_numpy(ours), getattr(torch, tname)(tx, tb).numpy())


@pytest.mark.parametrize("mode", ["trunc", "floor"])
def test_divide_rounding_integers_and_zero_grad(torch, device, mode):
    a, b = np.array([-7, 7, -8, 3, 0]), np.array([2, -2, 3, 5, 4])
    ours = ag.divide(ag.tensor(a, device=device), ag.tensor(b, device=device), rounding_mode=mode)
    ref = torch.divide(torch.tensor(a), torch.tensor(b), rounding_mode=mode)
    assert ours.dtype is ag.int64
    np.testing.assert_array_equal(to_numpy(ours), ref.numpy())
    assert to_numpy(ag.divide(-7, ag.tensor([2.0, -3.0], device=device), rounding_mode=mode)).tolist() == \
        torch.divide(-7, torch.tensor([2.0, -3.0]), rounding_mode=mode).tolist()
    x = ag.tensor([-1.5, 2.5], device=device, requires_grad=True)
    y = x.divide(2, rounding_mode=mode)
    assert y.grad_fn.name() == "DivBackward2"
    y.sum().backward()
    assert to_numpy(x.grad).tolist() == [0.0, 0.0]


@pytest.mark.parametrize("name,args,kwargs", [
    ("absolute_", (), {}), ("arccos_", (), {}), ("arcsin_", (), {}), ("arctan_", (), {}), ("fix_", (), {}),
    ("negative_", (), {}), ("clip_", (-0.2, 0.3), {}), ("divide_", (2.0,), {"rounding_mode": "floor"}),
    ("true_divide_", (3.0,), {}), ("multiply_", (2.0,), {}), ("subtract_", (1.0,), {"alpha": 2}),
])
def test_inplace_forms(torch, device, name, args, kwargs):
    a = np.array([[0.3, -0.6, 0.9], [-0.1, 0.25, -0.95]])
    x, tx = ag.tensor(a, device=device), torch.tensor(a)
    v = x._version
    assert getattr(x, name)(*args, **kwargs) is x and x._version == v + 1
    getattr(tx, name)(*args, **kwargs)
    np.testing.assert_allclose(to_numpy(x), tx.numpy(), rtol=1e-12)
    leaf = ag.tensor(a, device=device, requires_grad=True)
    y = leaf * 1
    getattr(y, name)(*args, **kwargs)
    tl = torch.tensor(a, requires_grad=True)
    ty = tl * 1
    getattr(ty, name)(*args, **kwargs)
    if not args:     # (a Python-number operand: API.md's Scalar-overload names, where PyTorch's binding wraps it)
        assert y.grad_fn.name() == ty.grad_fn.name()
    g = np.arange(6.0).reshape(2, 3)
    y.backward(ag.tensor(g, device=device))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(to_numpy(leaf.grad), tl.grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int32", "int64", "bool", "uint8", "int8"])
def test_attributes(torch, device, dtype):
    a = np.arange(6).reshape(2, 3).astype(dtype)
    x, tx = ag.tensor(a, device=device), torch.tensor(a)
    assert x.itemsize == tx.itemsize and x.nbytes == tx.nbytes and x.is_signed() == tx.is_signed()
    assert x.is_cpu == (device == "cpu")
    assert x[:1].expand(4, 3).nbytes == tx[:1].expand(4, 3).nbytes
    assert x.is_same_size(x * 0 if dtype != "bool" else x) and not x.is_same_size(x[0])


def test_storage_offset(torch, device):
    x, tx = ag.arange(24.0, device=device).reshape(4, 6), torch.arange(24.0).reshape(4, 6)
    for f in (lambda t: t, lambda t: t[1:], lambda t: t[2, 3:], lambda t: t.t()[1], lambda t: t[1:, 2:][1:],
              lambda t: t.narrow(1, 2, 3), lambda t: t.split(2)[1], lambda t: t.reshape(-1)[5:], lambda t: t * 1):
        assert f(x).storage_offset() == f(tx).storage_offset()


def test_is_nonzero_and_scalar_tensor(torch, device):
    for v in (0.0, 2.5, -1):
        assert ag.tensor([v], device=device).is_nonzero() == torch.tensor([v]).is_nonzero()
    for dtype in (None, ag.float64, ag.int64, ag.bool):
        for s in (2, 1.5, True):
            ours = ag.scalar_tensor(s, dtype=dtype, device=device)
            ref = torch.scalar_tensor(s, dtype=None if dtype is None else getattr(torch, str(dtype).split(".")[-1]))
            assert ours.shape == () and str(ours.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1]
            assert ours.item() == ref.item() and ours.device == ag.device(device)
    assert ag.scalar_tensor(1.0, requires_grad=True).requires_grad


def test_type_as_and_sum_to_size_identity(device):
    x = ag.ones(2, 3, device=device)
    assert x.type_as(ag.zeros(1, dtype=ag.float64, device=device)).dtype is ag.float64
    assert x.type_as(ag.zeros(1, dtype=ag.int32, device=device)).dtype is ag.int32
    assert x.sum_to_size(2, 3) is x and x.positive() is x
    e = ag.ones(0, 3, device=device, requires_grad=True)
    assert e.sum_to_size(1, 3).tolist() == [[0.0, 0.0, 0.0]]


def test_zero_dim_adjoint_and_H_warn(torch):
    x = ag.tensor(2.5, requires_grad=True)
    for f in (lambda t: t.H, lambda t: t.adjoint()):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            assert f(x).item() == 2.5
        assert "deprecated on 0-D tensors" in str(w[0].message)


BAD = [  # (call(lib), PyTorch's exception type, a word our message has)
    (lambda L: L.ones(3).mH, RuntimeError, "mH"),
    (lambda L: L.ones(3).H, RuntimeError, "H"),
    (lambda L: L.ones(2, 2, 2).H, RuntimeError, "H"),
    (lambda L: L.ones(3).adjoint(), RuntimeError, "adjoint"),
    (lambda L: L.ones(2, 3).sum_to_size(2, 2), RuntimeError, "sum_to_size"),
    (lambda L: L.ones(2, 3).sum_to_size(1, 2, 3), RuntimeError, "sum_to_size"),
    (lambda L: L.ones(2).is_nonzero(), RuntimeError, "is_nonzero"),
    (lambda L: L.ones(0).is_nonzero(), RuntimeError, "is_nonzero"),
    (lambda L: L.tensor([True]).positive(), RuntimeError, "positive"),
    (lambda L: L.ones(2, 3).split_with_sizes([1, 1, 1]), RuntimeError, "split_with_sizes"),
    (lambda L: L.ones(2, 3).narrow_copy(1, 2, 2), RuntimeError, "narrow"),
    (lambda L: L.ones(2).divide(2, rounding_mode="x"), RuntimeError, "div"),
    (lambda L: L.tensor([1, 2]).divide(0, rounding_mode="floor"), RuntimeError, "div"),
    (lambda L: L.tensor([True]).divide(L.tensor([True]), rounding_mode="trunc"), NotImplementedError, "div"),
    (lambda L: L.ones(2).type_as(3), TypeError, "type_as"),
    (lambda L: L.swapaxes(L.ones(2), 0, 3), IndexError, "transpose"),
    (lambda L: L.absolute([1.0]), TypeError, "absolute"),
]


@pytest.mark.parametrize("i", range(len(BAD)))
def test_bad_input(torch, i):
    call, kind, word = BAD[i]
    with pytest.raises(kind):
        call(torch)
    x = ag.ones(2, requires_grad=True)
    with pytest.raises(kind, match=word):
        call(ag)
    assert x._version == 0 and x.grad is None


def test_failed_inplace_changes_nothing():
    x = ag.tensor([1, 2])
    with pytest.raises(RuntimeError):
        x.divide_(0, rounding_mode="floor")
    assert x.tolist() == [1, 2] and x._version == 0


def test_narrow_copy_divergences(torch):
    # kept on purpose: a negative start takes the gradient at the narrowed entries (PyTorch 2.13's
    # NarrowCopyBackward0 gives zeros there), and a dim out of range is IndexError as for narrow
    # (PyTorch: an internal-assert RuntimeError)
    x = ag.ones(2, 3, requires_grad=True)
    x.narrow_copy(0, -1, 1).sum().backward()
    assert x.grad.tolist() == [[0.0] * 3, [1.0] * 3]
    with pytest.raises(IndexError, match="narrow"):
        x.narrow_copy(2, 0, 1)
    with pytest.raises(RuntimeError):
        torch.ones(2, 3).narrow_copy(2, 0, 1)


# ---- in-place forms kept in ops/inplace.py: comparisons, tril_/triu_/cumsum_/remainder_, fill_diagonal_ ----

COMPARED_IN_PLACE = ["eq_", "ne_", "lt_", "le_", "gt_", "ge_", "greater_", "greater_equal_", "less_", "less_equal_",
                     "not_equal_"]


def _in_place_program(lib, device):
    out = []
    x = lib.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    y = lib.tensor([2.0], dtype=lib.float64, device=device, requires_grad=True)
    for name in COMPARED_IN_PLACE:
        a, b = x * 1, lib.tensor([1.0, 2.0, 3.0], device=device)
        r = getattr(a, name)(lib.tensor([2.0, 2.0, 2.0], device=device))
        r2 = getattr(x * 1, name)(2.0)
        getattr(b, name)(y)                      # only the operand requires grad: recorded all the same
        (r * 3 + r2 + b).sum().backward()
        out.append([name, r.grad_fn.name(), r2.grad_fn.name(), b.grad_fn.name(), r.tolist(), x.grad.tolist(),
                    y.grad.tolist()])
        x.grad = y.grad = None
    i = lib.tensor([1, 5], device=device)
    i.lt_(3)
    out.append(["int lt_", i.tolist(), str(i.dtype).split(".")[-1]])
    m = (x * 1).reshape(3, 1) @ (x * 1).reshape(1, 3)
    m.tril_(-1)
    u = (x * 1).reshape(3, 1) @ (x * 1).reshape(1, 3)
    u.triu_(1)
    c = x * 1
    c.cumsum_(0)
    r = x * 1
    r.remainder_(lib.tensor([2.0, 2.0, 2.0], device=device))
    (m.sum() + (u * u).sum() + (c * c).sum() + (r * x).sum()).backward()
    out.append([c.grad_fn.name(), r.grad_fn.name(), m.tolist(), u.tolist(), c.tolist(), r.tolist(), x.grad.tolist()])
    for bad in (lambda: (x * 1).eq_(lib.ones(2, device=device)), lambda: lib.ones(2, device=device).eq_(
            lib.ones(2, 2, device=device)), lambda: x.eq_(1.0)):
        try:
            bad()
            out.append("no error")
        except RuntimeError as e:
            out.append(type(e).__name__)
    return out


def test_in_place_comparisons_and_friends_match_pytorch(torch, device):
    assert _in_place_program(ag, device) == _in_place_program(torch, "cpu")


def _fill_diagonal_program(lib, device):
    out = []
    x = lib.arange(12.0, device=device).reshape(4, 3).requires_grad_()
    y = x * 1
    y.fill_diagonal_(7, wrap=True)
    y.sum().backward()
    out.append([y.grad_fn.name(), y.tolist(), x.grad.tolist()])
    for shape, wrap in (((7, 3), True), ((7, 3), False), ((8, 3), True), ((3, 7), True), ((2, 2, 2), False),
                        ((0, 0), False)):
        z = lib.zeros(*shape, device=device)
        z.fill_diagonal_(1, wrap=wrap)
        out.append(z.tolist())
    for bad in (lambda: lib.zeros(3, device=device).fill_diagonal_(1),
                lambda: lib.zeros(2, 3, 2, device=device).fill_diagonal_(1),
                lambda: lib.zeros(2, 2, device=device).fill_diagonal_(lib.ones(1, device=device)),
                lambda: lib.zeros(2, 2, device=device, requires_grad=True).fill_diagonal_(1),
                lambda: lib.zeros(2, 2, dtype=lib.int8, device=device).fill_diagonal_(1000)):
        try:
            bad()
            out.append("no error")
        except (RuntimeError, TypeError) as e:
            out.append(type(e).__name__)
    return out


def test_fill_diagonal_matches_pytorch(torch, device):
    assert _fill_diagonal_program(ag, device) == _fill_diagonal_program(torch, "cpu")
