"""The ops of autograd_gpu/ops/inplace_functions.py against PyTorch CPU: torch's
in-place functions (ag.abs_(x) is x.abs_()), torch.fill/masked_fill, and the
Tensor methods that were missing (logical_*_, floor_divide_, the real-valued
complex helpers, angle, hardshrink, new, new_empty_strided, resize_,
apply_/map_/map2_, the memory queries, output_nr, dim_order, unsafe_split).
Values, grad_fn names, versions, gradients (gradcheck to second order), edge
cases and bad input."""
import math

import numpy as np
import pytest

import autograd_gpu as ag
from autograd_gpu.ops import inplace_functions as IF
from oracle import U, case_tests, to_numpy

NAN, INF = math.nan, math.inf


def pair(torch, a, device="cpu", dtype=None, rg=False):
    """The same data as our tensor on `device` and as PyTorch's."""
    a = np.asarray(a) if dtype is None else np.asarray(a, dtype=dtype)
    return ag.tensor(a, device=device, requires_grad=rg), torch.tensor(a, requires_grad=rg)


def same(ours, theirs):
    """Equal shape, dtype and values (NaN equal to NaN)."""
    assert tuple(ours.shape) == tuple(theirs.shape), (ours.shape, theirs.shape)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1], (ours.dtype, theirs.dtype)
    np.testing.assert_array_equal(to_numpy(ours), theirs.detach().numpy())


def state(t):
    return to_numpy(t).copy(), t._version, t.grad_fn, t.requires_grad, t.shape


def unchanged(t, before):
    after = state(t)
    np.testing.assert_array_equal(after[0], before[0])
    assert after[1:] == before[1:]


# ---- differentiable forms: values, grad_fn names and gradients against PyTorch ----------------

#      id                    fn(lib, *inputs)                                        inputs               options
CASES = [
    ("abs_",                 lambda m, x: m.abs_(x * 1),                             [(3, 4)],            {}),
    ("sigmoid_",             lambda m, x: m.sigmoid_(x * 1),                         [(3, 4)],            {}),
    ("tanh_",                lambda m, x: m.tanh_(x * 1),                            [(2, 3)],            {}),
    ("exp_",                 lambda m, x: m.exp_(x * 1),                             [(2, 3)],            {}),
    ("sqrt_",                lambda m, x: m.sqrt_(x * 1),                            [U((2, 3), 0.5, 2)], {}),
    ("log_",                 lambda m, x: m.log_(x * 1),                             [U((2, 3), 0.5, 2)], {}),
    ("relu_",                lambda m, x: m.relu_(x * 1),                            [(3, 4)],            {}),
    ("neg_",                 lambda m, x: m.neg_(x * 1),                             [(3,)],              {}),
    ("square_",              lambda m, x: m.square_(x * 1),                          [(3,)],              {}),
    ("clamp_",               lambda m, x: m.clamp_(x * 1, -0.5, 0.5),                [(3, 4)],            {}),
    ("clamp_min_",           lambda m, x: m.clamp_min_(x * 1, 0.25),                 [(3, 4)],            {}),
    ("logit_",               lambda m, x: m.logit_(x * 1),                           [U((2, 3), 0.1, 0.9)], {}),
    ("xlogy_",               lambda m, x, y: m.xlogy_(x * 1, y),                     [(2, 3), U((3,), 0.5, 2)], {}),
    ("addmv_",               lambda m, x, a, v: m.addmv_(x * 1, a, v),               [(2,), (2, 3), (3,)], {}),
    ("nan_to_num_",          lambda m, x: m.nan_to_num_(x * 1, 0.0),                 [(2, 3)],            {}),
    ("fill_",                lambda m, x: m.fill_(x * 1, 2.5),                       [(2, 3)],            {}),
    ("zero_",                lambda m, x: m.zero_(x * 1),                            [(2, 3)],            {}),
    ("conj_physical_",       lambda m, x: m.conj_physical_(x * 2),                   [(2, 3)],            {}),
    ("conj_physical_method", lambda m, x: (x * 2).conj_physical_(),                  [(2, 3)],            {}),
    ("fill",                 lambda m, x: m.fill(x, 2.5),                            [(2, 3)],            {}),
    ("fill_tensor",          lambda m, x, v: m.fill(x, v),                           [(2, 3), ()],        {}),
    ("masked_fill",          lambda m, x: m.masked_fill(x, x > 0, 1.5),              [(3, 4)],            {}),
    ("masked_fill_tensor",   lambda m, x, v: m.masked_fill(x, x > 0, v),             [(3, 4), ()],        {}),
    ("angle",                lambda m, x: m.angle(x),                                [(3, 4)],            {}),
    ("angle_method",         lambda m, x: x.angle(),                                 [(0, 2)],        {"fd": False}),
    ("hardshrink",           lambda m, x: m.hardshrink(x, 0.5),                      [(3, 4)],        {"name": False}),
    ("hardshrink_method",    lambda m, x: x.hardshrink(0.3),                         [(3, 4)],        {"name": False}),
    ("conj_physical",        lambda m, x: m.conj_physical(x.clone()),                [(2, 3)],            {}),
    ("resolve_neg_real",     lambda m, x: m.real(x.exp()).resolve_neg().conj(),      [(2, 3)],            {}),
    ("new_alias",            lambda m, x, y: x.new(y),                               [(2,), (3,)],        {}),
    ("unsafe_split",         lambda m, x: m.unsafe_split(x, 2, 1),                   [(3, 5)],            {}),
    ("unsafe_split_method",  lambda m, x: x.unsafe_split(1),                         [(3, 2)],            {}),
    ("unsafe_chunk",         lambda m, x: m.unsafe_chunk(x, 2, -1),                  [(3, 5)],            {}),
    ("unsafe_split_sizes",   lambda m, x: m.unsafe_split_with_sizes(x, [1, 2], 0),   [(3, 2)],            {}),
    ("unsafe_split_sizes_m", lambda m, x: x.unsafe_split_with_sizes([3, 0, 2], 1),   [(2, 5)],            {}),
]

test_against_pytorch, test_gradcheck, test_second_order = case_tests(CASES)


# ---- the in-place functions: which exist, and that each is its method -----------------------

def torch_inplace_functions(torch):
    return [n for n in dir(torch) if n.endswith("_") and not n.startswith("_") and callable(getattr(torch, n))]


def test_the_static_list_is_torchs(torch):
    assert set(IF.TORCH_INPLACE_FUNCTIONS) == set(torch_inplace_functions(torch))


def test_every_torch_inplace_function_of_a_tensor_method_is_a_function_here(torch):
    names = [n for n in torch_inplace_functions(torch) if hasattr(ag.Tensor, n)]
    assert len(names) >= 60
    assert [n for n in names if not callable(getattr(ag, n, None))] == []
    for n in IF.FUNCTIONS:
        if n in IF.TORCH_INPLACE_FUNCTIONS:      # (ours: the method itself behind the Tensor check)
            assert getattr(ag, n).__wrapped__ is getattr(ag.Tensor, n), n
            assert n in ag.__all__
            with pytest.raises(TypeError, match=rf"{n}\(\): argument 'input' \(position 1\) must be Tensor, not int"):
                getattr(ag, n)(3)


# name: extra arguments (numbers) of the call
SAMPLE = {"abs_": (), "sigmoid_": (), "clamp_": (-0.5, 0.5), "clamp_max_": (0.1,), "clip_": (None, 0.2),
          "fill_": (2.0,),
          "zero_": (), "relu_": (), "neg_": (), "negative_": (), "exp_": (), "expm1_": (), "round_": (), "frac_": (),
          "trunc_": (), "fix_": (), "sinc_": (), "deg2rad_": (), "nan_to_num_": (0.0, 1.0, -1.0), "xlogy_": (2.0,),
          "atan_": (), "erf_": (), "conj_physical_": (), "detach_": ()}
# the methods' nodes that differ from PyTorch's: name -> ours
KNOWN_NODE_NAMES = {}


@pytest.mark.parametrize("name", list(SAMPLE))
def test_inplace_function_against_pytorch(torch, name, device):
    a = np.array([[0.3, -1.2, 2.5], [-0.4, 0.0, 1.7]])
    x, xt = pair(torch, a, device, rg=True)
    y, yt = x * 1, xt * 1
    v, vt = y._version, yt._version
    out, ref = getattr(ag, name)(y, *SAMPLE[name]), getattr(torch, name)(yt, *SAMPLE[name])
    assert out is y and ref is yt
    np.testing.assert_allclose(to_numpy(y), yt.detach().numpy(), rtol=1e-12, atol=1e-15)
    assert y._version - v == yt._version - vt
    assert (y.grad_fn and y.grad_fn.name()) == KNOWN_NODE_NAMES.get(name, yt.grad_fn and yt.grad_fn.name())
    if yt.grad_fn is not None:          # (detach_: no history left)
        g = np.arange(6.0).reshape(2, 3)
        y.backward(ag.tensor(g, device=device))
        yt.backward(torch.tensor(g))
        np.testing.assert_allclose(to_numpy(x.grad), xt.grad.numpy(), rtol=1e-12, atol=1e-15)
    if name != "detach_":               # a leaf that requires grad: refused by both, nothing changed
        before = state(x)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            getattr(ag, name)(x, *SAMPLE[name])
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            getattr(torch, name)(xt, *SAMPLE[name])
        unchanged(x, before)


def test_inplace_function_of_an_integer_tensor(torch, device):
    x, xt = pair(torch, [[3, -7], [0, 5]], device)
    for name, args in (("abs_", ()), ("neg_", ()), ("clamp_", (-1, 4)), ("fill_", (9,)), ("zero_", ()),
                       ("gcd_", (ag.tensor([6, 4], device=device),)), ("lcm_", (ag.tensor([6, 4], device=device),))):
        targs = tuple(torch.tensor(to_numpy(a)) if isinstance(a, ag.Tensor) else a for a in args)
        same(getattr(ag, name)(x, *args), getattr(torch, name)(xt, *targs))
    with pytest.raises(RuntimeError, match="sqrt_: result type Float can't be cast to the desired output type Long"):
        ag.sqrt_(x)
    with pytest.raises(RuntimeError, match="result type Float can't be cast"):
        torch.sqrt_(xt)


def test_fill_and_masked_fill_functions(torch, device):
    a = np.array([[1.5, -2.0, NAN], [0.0, INF, -0.5]])
    x, xt = pair(torch, a, device)
    same(ag.fill(x, 3), torch.fill(xt, 3))
    same(ag.fill(x, ag.tensor(2.0, device=device)), torch.fill(xt, torch.tensor(2.0)))
    same(ag.fill(ag.tensor([1, 2], device=device), True), torch.fill(torch.tensor([1, 2]), True))
    same(ag.fill(ag.zeros(0, 2, device=device), 1.0), torch.fill(torch.zeros(0, 2), 1.0))
    same(ag.masked_fill(x, x > 0, -1.0), torch.masked_fill(xt, xt > 0, -1.0))
    same(ag.fill(x.half(), 65504), torch.fill(xt.half(), 65504))
    v, vt = pair(torch, 2.0, device, rg=True)
    out, ref = ag.fill(x.float(), v), torch.fill(xt.float(), vt)
    assert out.grad_fn.name() == ref.grad_fn.name() == "FillBackward1"
    out.sum().backward()
    ref.sum().backward()
    assert v.grad.item() == vt.grad.item() == 6.0 and v.grad.dtype == ag.float64


# ---- logical_*_ and floor_divide_ in place ------------------------------------------------

@pytest.mark.parametrize("op", ["logical_and_", "logical_or_", "logical_xor_"])
@pytest.mark.parametrize("dtype", ["float32", "int64", "bool", "float16"])
def test_logical_in_place(torch, op, dtype, device):
    a = np.array([[1.5, 0.0, -2.0], [0.0, NAN, 3.0]])
    x, xt = pair(torch, np.nan_to_num(a).astype(dtype) if dtype != "bool" else a != 0, device)
    o, ot = pair(torch, [1, 0, 0])
    o = o.to(device)
    v = x._version
    assert getattr(x, op)(o) is x
    getattr(xt, op)(ot)
    same(x, xt)
    assert x._version == v + 1


def test_logical_in_place_keeps_the_history_as_pytorch(torch, device):
    # (no derivative: the write leaves the tensor's grad_fn as it was, as PyTorch's does)
    x, xt = pair(torch, [[0.5, 0.0], [-1.0, 2.0]], device, rg=True)
    y, yt = x.clone(), xt.clone()
    y.logical_not_()
    yt.logical_not_()
    same(y, yt)
    assert y.grad_fn.name() == yt.grad_fn.name() == "CloneBackward0" and y._version == yt._version == 1
    y.sum().backward()
    yt.sum().backward()
    same(x.grad, xt.grad)


def test_logical_in_place_bad_input(torch, device):
    x, xt = pair(torch, np.ones((2, 1)), device)
    before = state(x)
    with pytest.raises(RuntimeError, match=r"logical_and_: output with shape \[2, 1\] doesn't match the broadcast"):
        x.logical_and_(ag.ones(2, 2, device=device))
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        xt.logical_and_(torch.ones(2, 2))
    with pytest.raises(TypeError, match=r"logical_or_\(\): argument 'other' \(position 1\) must be Tensor, not int"):
        x.logical_or_(2)
    with pytest.raises(TypeError):
        xt.logical_or_(2)
    unchanged(x, before)


def test_floor_divide_in_place(torch, device):
    x, xt = pair(torch, [5.0, -7.0, 0.5, INF], device)
    same(x.floor_divide_(ag.tensor([2.0, 2.0, 0.0, 3.0], device=device)),
         xt.floor_divide_(torch.tensor([2.0, 2.0, 0.0, 3.0])))
    i, it = pair(torch, [5, -7, 9], device)
    same(i.floor_divide_(2), it.floor_divide_(2))
    before = state(i)
    with pytest.raises(RuntimeError, match="floor_divide_: result type Float can't be cast to the desired output "
                                           "type Long"):
        i.floor_divide_(2.5)
    with pytest.raises(RuntimeError, match="result type Float can't be cast"):
        it.floor_divide_(2.5)
    unchanged(i, before)
    w, wt = pair(torch, [1.0, 2.0], device, rg=True)
    y, yt = w * 3, wt * 3
    y.floor_divide_(2)
    yt.floor_divide_(2)
    assert y.grad_fn.name() == yt.grad_fn.name() == "torch::autograd::NotImplemented"
    with pytest.raises(RuntimeError, match="floor_divide"):
        y.sum().backward()
    with pytest.raises(RuntimeError, match="derivative for aten::floor_divide_ is not implemented"):
        yt.sum().backward()


# ---- the complex helpers, real-valued ----------------------------------------------------------

def test_real_valued_complex_helpers(torch, device):
    x, xt = pair(torch, [[1.5, -2.0]], device, rg=True)
    for name in ("conj", "conj_physical", "resolve_conj", "resolve_neg"):
        assert getattr(x, name)() is x and getattr(ag, name)(x) is x
        assert getattr(xt, name)() is xt
    assert x.real is x and ag.real(x) is x and xt.real is xt
    for name in ("is_conj", "is_neg", "is_complex", "is_inference"):
        assert getattr(x, name)() is False and getattr(ag, name)(x) is False
        assert getattr(xt, name)() is False and getattr(torch, name)(xt) is False
    for imag in (lambda t: t.imag, lambda t: ag.imag(t)):
        with pytest.raises(RuntimeError, match="imag is not implemented for tensors with non-complex dtypes"):
            imag(x)
    with pytest.raises(RuntimeError, match="imag is not implemented for tensors with non-complex dtypes"):
        xt.imag
    with pytest.raises(TypeError, match=r"is_conj\(\): argument 'input' \(position 1\) must be Tensor, not int"):
        ag.is_conj(2)


def test_conj_physical_in_place_records_a_write(torch, device):
    x, xt = pair(torch, [1.5, -2.0], device, rg=True)
    y, yt = x * 1, xt * 1
    assert y.conj_physical_() is y and yt.conj_physical_() is yt
    assert y._version == yt._version == 1
    assert y.grad_fn.name() == yt.grad_fn.name() == "ConjPhysicalBackward1"
    i, it = pair(torch, [1, -2], device)
    same(i.conj_physical_(), it.conj_physical_())
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.conj_physical_()


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "int64", "int32", "bool"])
def test_angle_values(torch, dtype, device):
    a = np.array([1.5, -2.0, 0.0, -0.0, NAN, INF, -INF, -1e-30])
    if dtype in ("int64", "int32"):
        a = np.array([3, -2, 0, -7])
    x, xt = pair(torch, a.astype(dtype) if dtype != "bool" else a > 0, device)
    out, ref = ag.angle(x), torch.angle(xt)
    assert str(out.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1]
    np.testing.assert_array_equal(to_numpy(out), ref.numpy())


def test_angle_gradient_is_zero_even_at_nan_and_zero(torch, device):
    x, xt = pair(torch, [0.0, -0.0, NAN, -INF, 2.0], device, rg=True)
    ag.angle(x).sum().backward()
    torch.angle(xt).sum().backward()
    same(x.grad, xt.grad)


def test_hardshrink_method_edges(torch, device):
    x, xt = pair(torch, [NAN, 0.5, -0.5, 0.50001, -INF, 0.0], device)
    same(x.hardshrink(), xt.hardshrink())
    same(ag.hardshrink(x, 0), torch.hardshrink(xt, 0))
    with pytest.raises(NotImplementedError, match="hardshrink"):
        ag.tensor([1, 2], device=device).hardshrink()
    with pytest.raises(NotImplementedError):
        torch.tensor([1, 2]).hardshrink()


# ---- constructors: new, new_empty_strided ------------------------------------------------------

def test_new_forms(torch, device):
    x, xt = pair(torch, np.ones((2, 2), dtype=np.float32), device)
    for args in [(), (2, 3), (0,), (1, 0, 2)]:
        o, r = x.new(*args), xt.new(*args)
        assert o.shape == tuple(r.shape) and o.dtype == ag.float32 and o.device == x.device and not o.requires_grad
    for data in ([1, 2], [[1.5, 2], [3, 4]], (1, 2), [], [True, False]):
        same(x.new(data), xt.new(data))
    i, it = pair(torch, [1, 2], device)
    same(i.new([1.7, -2.2]), it.new([1.7, -2.2]))
    assert x.new(size=(2,)).shape == tuple(xt.new(size=(2,)).shape) == (2,)
    assert x.new(3).device == x.device and x.new(device="cpu").device == ag.device("cpu")


def test_new_of_a_tensor_is_an_alias(torch, device):
    x, xt = pair(torch, np.ones(2, dtype=np.float32), device)
    src, srct = pair(torch, np.array([1.0, 2.0], dtype=np.float32), device, rg=True)
    a, at = x.new(src), xt.new(srct)
    assert a.data_ptr() == src.data_ptr() and at.data_ptr() == srct.data_ptr()
    assert a.requires_grad and a.grad_fn.name() == at.grad_fn.name() == "AliasBackward0"
    assert a._base is src and at._base is srct


@pytest.mark.parametrize("bad, kind", [
    (lambda L, x: x.new(2.5), TypeError), (lambda L, x: x.new("a"), TypeError),
    (lambda L, x: x.new(-1), RuntimeError), (lambda L, x: x.new(L.tensor([1, 2])), TypeError),
    (lambda L, x: x.new(2, 3, dtype=L.float64), TypeError), (lambda L, x: x.new([1, "a"]), TypeError),
])
def test_new_bad_input(torch, bad, kind):
    x, xt = pair(torch, np.ones(2, dtype=np.float32))
    before = state(x)
    with pytest.raises(kind, match=r"new\("):
        bad(ag, x)
    with pytest.raises(kind):
        bad(torch, xt)
    unchanged(x, before)


@pytest.mark.parametrize("size, stride", [((2, 3), (1, 2)), ((2, 3), (3, 1)), ((2, 3), (0, 0)), ((4,), (3,)),
                                          ((0, 3), (1, 5)), ((), ()), ((2, 1, 3), (1, 7, 2))])
def test_new_empty_strided(torch, size, stride, device):
    x, xt = pair(torch, np.ones(1), device)
    o, r = x.new_empty_strided(size, stride), xt.new_empty_strided(size, stride)
    # (no element: Tensor.stride() gives contiguous strides, PyTorch's the ones asked for)
    strides = r.stride() if r.numel() else torch.empty(size).stride()
    assert o.shape == tuple(r.shape) and o.stride() == strides and o.dtype == ag.float64 and o.device == x.device
    o2 = x.new_empty_strided(size, stride, dtype=ag.int32, requires_grad=False)
    assert o2.dtype == ag.int32 and o2.stride() == strides


def test_new_empty_strided_requires_grad_and_bad_input(torch):
    x, xt = pair(torch, np.ones(1))
    o = x.new_empty_strided((2, 3), (3, 1), requires_grad=True)
    assert o.requires_grad and o.is_leaf
    for args, kind in ((((2, 3), (1,)), RuntimeError), (((2, 3), (-1, 2)), RuntimeError),
                       (((-2, 3), (1, 2)), RuntimeError), (((2, "a"), (1, 2)), TypeError)):
        with pytest.raises(kind, match="new_empty_strided"):
            x.new_empty_strided(*args)
        with pytest.raises(kind):
            xt.new_empty_strided(*args)


# ---- resize_, resize_as_ --------------------------------------------------------------------

def test_resize_values_as_pytorch(torch, device):
    x, xt = pair(torch, np.arange(6.0).reshape(2, 3), device)
    assert x.resize_(4) is x and xt.resize_(4) is xt
    same(x, xt)
    assert x._version == xt._version == 1
    x.resize_(2, 2)
    xt.resize_(2, 2)
    same(x, xt)
    x.resize_((2, 2))                   # the same shape: no write, no version bump
    xt.resize_((2, 2))
    assert x._version == xt._version == 2
    t, tt = pair(torch, np.arange(6.0).reshape(2, 3), device)
    same(t.t().resize_(3), tt.t().resize_(3))      # memory order, as PyTorch's storage
    g, gt = pair(torch, np.arange(3.0), device)
    g.resize_(2, 3)
    gt.resize_(2, 3)
    np.testing.assert_array_equal(to_numpy(g).ravel()[:3], gt.numpy().ravel()[:3])  # (the tail: uninitialized)
    e, et = pair(torch, np.arange(4.0), device)
    same(e.resize_as_(ag.ones(2, 1, device=device)), et.resize_as_(torch.ones(2, 1)))
    same(ag.resize_as_(e, ag.ones(0, device=device)), torch.resize_as_(et, torch.ones(0)))


def test_resize_shrinking_a_contiguous_tensor_keeps_sharing_memory(torch):
    x, xt = pair(torch, np.arange(6.0))
    view, viewt = x[:], xt[:]
    x.resize_(2)
    xt.resize_(2)
    x.fill_(7.0)
    xt.fill_(7.0)
    same(view, viewt)


def test_resize_bad_input(torch, device):
    x, xt = pair(torch, np.arange(3.0), device, rg=True)
    for fn, tfn in ((lambda: x.resize_(4), lambda: xt.resize_(4)),
                    (lambda: (x * 1).resize_(3), lambda: (xt * 1).resize_(3)),
                    (lambda: x.resize_as_(x), lambda: xt.resize_as_(xt))):
        before = state(x)
        with pytest.raises(RuntimeError, match="cannot resize variables that require grad"):
            fn()
        with pytest.raises(RuntimeError, match="cannot resize variables that require grad"):
            tfn()
        unchanged(x, before)
    y, yt = pair(torch, np.arange(3.0), device)
    for args, kind in (((-1,), RuntimeError), ((2.5,), TypeError), (("a",), TypeError), ((), TypeError)):
        before = state(y)
        with pytest.raises(kind, match="resize_"):
            y.resize_(*args)
        with pytest.raises(kind):
            yt.resize_(*args)
        unchanged(y, before)
    with pytest.raises(TypeError, match=r"resize_as_\(\): argument 'the_template' \(position 1\) must be Tensor"):
        y.resize_as_(3)


# ---- apply_, map_, map2_ ---------------------------------------------------------------------

def test_apply_map_map2_as_pytorch(torch):
    x, xt = pair(torch, [1.5, -2.0, 0.0])
    assert x.apply_(lambda v: v * 2 + 1) is x
    xt.apply_(lambda v: v * 2 + 1)
    same(x, xt)
    assert x._version == xt._version == 0      # (PyTorch's element loop does not bump the version)
    same(x.map_(ag.tensor([1.0], dtype=ag.float64), lambda a, b: a - b),
         xt.map_(torch.tensor([1.0], dtype=torch.float64), lambda a, b: a - b))
    ones, twos = np.ones(3), np.array([[2.0, 3.0, 4.0]])
    same(x.map2_(ag.tensor(ones), ag.tensor(twos)[0], lambda a, b, c: a * b + c),
         xt.map2_(torch.tensor(ones), torch.tensor(twos)[0], lambda a, b, c: a * b + c))
    i, it = pair(torch, [1, -3, 5])
    same(i.apply_(lambda v: v / 2), it.apply_(lambda v: v / 2))        # (a float into an int: truncated)
    b, bt = pair(torch, [True, False])
    same(b.apply_(lambda v: not v), bt.apply_(lambda v: not v))
    s, st = pair(torch, 2.0)
    same(s.apply_(lambda v: v + 1), st.apply_(lambda v: v + 1))
    e, et = pair(torch, np.zeros((0, 2)))
    same(e.apply_(lambda v: 1 / 0), et.apply_(lambda v: 1 / 0))


@pytest.mark.parametrize("bad, kind, words", [
    (lambda L, x: x.apply_(lambda v: "s"), TypeError, "must be real number"),
    (lambda L, x: x.apply_(3), TypeError, "apply_"),
    (lambda L, x: x.map_(L.ones(2), lambda a, b: a), RuntimeError, "map_"),
    (lambda L, x: x.map_(L.ones(3, dtype=L.int64), lambda a, b: a), TypeError, "map_"),
    (lambda L, x: x.map_(2, lambda a, b: a), TypeError, "map_"),
    (lambda L, x: x.map_(L.ones(3, requires_grad=True), lambda a, b: a), RuntimeError, "map_"),
    (lambda L, x: x.map2_(L.ones(3), L.ones(1, 3), lambda a, b, c: a), RuntimeError, "map2_"),
    (lambda L, x: x.requires_grad_().apply_(lambda v: v), RuntimeError, "Can't call apply_() on Variable"),
])
def test_element_loops_bad_input(torch, bad, kind, words):
    x, xt = pair(torch, np.array([1.0, 2.0, 3.0], dtype=np.float32))
    before = state(x)
    with pytest.raises(kind, match=re_escape(words)):
        bad(ag, x)
    with pytest.raises(kind):
        bad(torch, xt)
    if not x.requires_grad:
        unchanged(x, before)


def re_escape(s):
    import re
    return re.escape(s)


def test_element_loops_are_cpu_only(device):
    x = ag.ones(3, device=device)
    if device == "cpu":
        assert x.apply_(lambda v: v + 1).tolist() == [2.0, 2.0, 2.0]
        return
    # (PyTorch's words: apply_ is only implemented on CPU tensors)
    for call in (lambda: x.apply_(lambda v: v), lambda: x.map_(x, lambda a, b: a),
                 lambda: x.map2_(x, x, lambda a, b, c: a)):
        with pytest.raises(TypeError, match="is only implemented on CPU tensors"):
            call()
    assert x.tolist() == [1.0, 1.0, 1.0] and x._version == 0


# ---- memory queries, output_nr, layout, dim_order -----------------------------------------------

def test_pinned_and_shared_memory(torch, device):
    x = ag.tensor([1.0, 2.0], device=device, requires_grad=True)
    xt = torch.tensor([1.0, 2.0])
    assert x.is_pinned() is False and xt.is_pinned() is False
    assert x.share_memory_() is x
    # kept divergences: our memory is never pinned nor moved to shared memory (pin_memory gives an
    # ordinary copy; PyTorch's CPU-only build raises without an accelerator); CUDA tensors count as shared
    assert x.is_shared() is (device == "cuda")
    xt.share_memory_()
    assert xt.is_shared() is True
    if device == "cpu":
        p = x.pin_memory()
        assert p is not x and p.tolist() == [1.0, 2.0] and p.is_pinned() is False and p.requires_grad
        with pytest.raises(RuntimeError):
            xt.pin_memory()
    else:
        with pytest.raises(RuntimeError, match="pin_memory: cannot pin 'CUDAFloatType' only dense CPU tensors"):
            x.pin_memory()


def test_output_nr_and_layout(torch):
    x, xt = pair(torch, np.ones((2, 3)), rg=True)
    y, yt = x * 1, xt * 1
    assert x.output_nr == xt.output_nr == 0 and y.output_nr == yt.output_nr == 0
    assert [p.output_nr for p in y.split(1)] == [p.output_nr for p in yt.split(1)] == [0, 1]
    assert [p.output_nr for p in ag.unsafe_chunk(y, 3, 1)] == [p.output_nr for p in torch.unsafe_chunk(yt, 3, 1)]
    assert [p.output_nr for p in y.unbind()] == [p.output_nr for p in yt.unbind()] == [0, 1]     # (one node)
    assert x.layout is ag.strided and repr(x.layout) == repr(xt.layout) == "torch.strided"


@pytest.mark.parametrize("make", [
    lambda L: L.ones(2, 3), lambda L: L.ones(2, 3).t(), lambda L: L.ones(2, 3, 4).permute(2, 0, 1),
    lambda L: L.ones(2, 3, 4, 5).permute(0, 2, 3, 1), lambda L: L.ones(1, 3), lambda L: L.ones(3, 1).t(),
    lambda L: L.ones(2, 1).expand(2, 3), lambda L: L.ones(4)[::2], lambda L: L.ones(()), lambda L: L.ones(0, 2),
    lambda L: L.ones(3, 4)[:, ::2].t(), lambda L: L.ones(2, 3, 4).transpose(0, 2)[1:],
])
@pytest.mark.parametrize("check", [False, True, []])
def test_dim_order(torch, make, check):
    theirs = ours = None
    try:
        theirs = make(torch).dim_order(ambiguity_check=check)
    except RuntimeError:
        with pytest.raises(RuntimeError, match="dim_order: The tensor does not have unique dim order"):
            make(ag).dim_order(ambiguity_check=check)
        return
    ours = make(ag).dim_order(ambiguity_check=check)
    assert ours == theirs


def test_dim_order_bad_argument(torch):
    for bad in (1, None, "a"):
        with pytest.raises(TypeError, match="dim_order"):
            ag.ones(2, 2).dim_order(ambiguity_check=bad)
        with pytest.raises(TypeError):
            torch.ones(2, 2).dim_order(ambiguity_check=bad)


# ---- unsafe_split and friends: pieces sharing memory, not views ------------------------------

def test_unsafe_pieces_are_not_views(torch, device):
    x, xt = pair(torch, np.arange(12.0).reshape(3, 4), device, rg=True)
    y, yt = x * 1, xt * 1
    pieces, tpieces = ag.unsafe_split(y, 2, 1), torch.unsafe_split(yt, 2, 1)
    assert all(p._base is None for p in pieces) and not any(p._is_view() for p in tpieces)
    assert pieces[0].data_ptr() == y.data_ptr() and tpieces[0].data_ptr() == yt.data_ptr()
    pieces[1].exp_()                    # a split piece would refuse this (multi-output view)
    tpieces[1].exp_()
    assert pieces[1].grad_fn.name() == tpieces[1].grad_fn.name() == "ExpBackward0"
    same(y, yt)                         # (the shared memory changed, unrecorded)
    (pieces[0].sum() + pieces[1].sum()).backward()
    (tpieces[0].sum() + tpieces[1].sum()).backward()
    same(x.grad, xt.grad)
    with pytest.raises(RuntimeError, match="modified inplace"):
        y.split(2, 1)[1].exp_()


@pytest.mark.parametrize("call, kind", [
    (lambda L, x: L.unsafe_split(x, [1, 2]), TypeError), (lambda L, x: L.unsafe_split(x, -1), RuntimeError),
    (lambda L, x: L.unsafe_chunk(x, 0), RuntimeError), (lambda L, x: L.unsafe_chunk(x, 2, 5), IndexError),
    (lambda L, x: L.unsafe_split_with_sizes(x, [1, 1]), RuntimeError),
    (lambda L, x: L.unsafe_split_with_sizes(x, 2), TypeError), (lambda L, x: L.unsafe_split(x[0, 0], 1), RuntimeError),
])
def test_unsafe_split_bad_input(torch, call, kind):
    x, xt = pair(torch, np.ones((3, 2)), rg=True)
    before = state(x)
    with pytest.raises(kind, match="split|chunk"):
        call(ag, x)
    with pytest.raises(kind):
        call(torch, xt)
    unchanged(x, before)


def test_unsafe_split_empty_and_float16(torch):
    x, xt = pair(torch, np.zeros((0, 4), dtype=np.float16))
    for o, r in zip(ag.unsafe_split(x, 3, 1), torch.unsafe_split(xt, 3, 1)):
        same(o, r)
    for o, r in zip(ag.unsafe_chunk(x, 2, 0), torch.unsafe_chunk(xt, 2, 0)):
        same(o, r)


# ---- kept divergences, pinned --------------------------------------------------------------

def test_resize_growing_gives_new_memory_that_views_do_not_follow(torch):
    # PyTorch grows the storage that its views share; NumPy arrays cannot grow in place
    x, xt = pair(torch, np.arange(3.0))
    view, viewt = x[:], xt[:]
    x.resize_(8)
    xt.resize_(8)
    assert to_numpy(x).tolist() == [0.0, 1.0, 2.0] + [0.0] * 5     # (the grown tail: zeros here, uninitialized there)
    x.fill_(1.0)
    xt.fill_(1.0)
    assert viewt.tolist() == [1.0, 1.0, 1.0] and view.tolist() == [0.0, 1.0, 2.0]


def test_new_of_a_shape_tuple_is_data(torch):
    # ag's shapes are tuples, and new() takes a tuple as data, as PyTorch does for any sequence but torch.Size
    y, yt = ag.ones(2, 3), torch.ones(2, 3)
    assert y.new(y.shape).tolist() == [2.0, 3.0] and tuple(yt.new(yt.shape).shape) == (2, 3)
    assert y.new(*y.shape).shape == (2, 3)
