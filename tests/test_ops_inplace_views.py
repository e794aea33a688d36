"""The ops of autograd_gpu/ops/inplace_views.py against PyTorch CPU: as_strided (its gradient with
overlapping windows and self-overlapping inputs), as_strided_scatter, the *_copy forms of the view ops,
and the in-place metadata changes (transpose_, t_, swapaxes_, swapdims_, squeeze_, unsqueeze_,
as_strided_): shapes, strides, contiguity, grad_fn names, version counters, refusals, no_grad,
and gradients through the graph afterwards."""
import numpy as np
import pytest

import autograd_gpu as ag
from oracle import case_tests, to_numpy, assert_matches

# ---- values, grad_fn names, gradients (float64 and float32) and gradchecks to second order --------

#      id                          fn(lib, *inputs)                                              inputs   options
CASES = [
    ("as_strided",                 lambda m, x: m.as_strided(x, (2, 2), (1, 2)),                 [(2, 3)], {}),
    ("as_strided_offset",          lambda m, x: x.as_strided((2, 2), (3, 1), 1),                  [(2, 3)], {}),
    ("as_strided_overlapping",     lambda m, x: x.as_strided((3, 3), (1, 1)),                     [(6,)],   {}),
    ("as_strided_repeat",          lambda m, x: x.as_strided((2, 4), (0, 1), 2),                  [(8,)],   {}),
    ("as_strided_of_transposed",   lambda m, x: x.t().as_strided((2, 3), (1, 2)),                 [(3, 2)], {}),
    ("as_strided_of_slice",        lambda m, x: x[1:].as_strided((2, 2), (1, 1)),                 [(3, 2)], {}),
    # (an offset before the input's own elements: its values are read, but as PyTorch's, the gradient
    # reaches only the input's own elements, so no finite-difference check)
    ("as_strided_of_slice_offset", lambda m, x: x[1:].as_strided((2,), (2,), 0),              [(3, 2)], dict(fd=False)),
    ("as_strided_of_expanded",     lambda m, x: x.expand(2, 3).as_strided((2, 2), (1, 1)),        [(3,)],   {}),
    ("as_strided_0d",              lambda m, x: x.as_strided((), ()),                             [(3,)],   {}),
    ("as_strided_empty",           lambda m, x: x.as_strided((2, 0), (1, 1), 5),              [(3,)],   dict(fd=False)),
    ("as_strided_twice",           lambda m, x: x.as_strided((4,), (2,), 1).as_strided((2, 2), (4, 2)), [(12,)], {}),
    ("as_strided_copy",            lambda m, x: m.as_strided_copy(x, (2, 2), (1, 1)),             [(5,)],   {}),
    # as_strided_scatter: PyTorch 2.13's gradient for the input is wrong (g on the written part, where the
    # output does not depend on the input; its own gradcheck fails): compared with the right one, written
    # in PyTorch as clone + copy_ into the as_strided view (test_as_strided_scatter_input_gradient pins it)
    ("as_strided_scatter",         lambda m, x, s: m.as_strided_scatter(x, s, (2, 2), (1, 3)),    [(3, 3), (2, 2)],
     dict(torch_fn=lambda m, x, s: _scatter_reference(x, s, (2, 2), (1, 3), None), name=False)),
    ("as_strided_scatter_offset",  lambda m, x, s: x.as_strided_scatter(s, (3,), (2,), 1),        [(8,), (3,)],
     dict(torch_fn=lambda m, x, s: _scatter_reference(x, s, (3,), (2,), 1), name=False)),
    # in place, on a non-leaf: the tensor takes the view op's node (TBackward1, ...)
    ("t_",                         lambda m, x: (x * 1).t_(),                                     [(2, 3)], {}),
    ("t_1d",                       lambda m, x: (x * 1).t_(),                                     [(3,)],   {}),
    ("transpose_",                 lambda m, x: (x * 1).transpose_(0, 2),                         [(2, 3, 4)], {}),
    ("swapaxes_",                  lambda m, x: (x * 1).swapaxes_(-1, 0),                         [(2, 3)], {}),
    ("swapdims_",                  lambda m, x: (x * 1).swapdims_(1, 0),                          [(2, 3)], {}),
    ("squeeze_",                   lambda m, x: (x * 1).squeeze_(),                               [(1, 3, 1)], {}),
    ("squeeze_dim",                lambda m, x: (x * 1).squeeze_(2),                              [(1, 3, 1)], {}),
    ("squeeze_dims",               lambda m, x: (x * 1).squeeze_((0, 1)),                         [(1, 3, 1)], {}),
    ("squeeze_dim_not_one",        lambda m, x: (x * 1).squeeze_(1),                              [(1, 3, 1)], {}),
    ("unsqueeze_",                 lambda m, x: (x * 1).unsqueeze_(1),                            [(2, 3)], {}),
    ("unsqueeze_last",             lambda m, x: (x * 1).unsqueeze_(-1),                           [(2, 3)], {}),
    ("as_strided_",                lambda m, x: (x * 1).as_strided_((3, 2), (1, 3)),             [(2, 3)], {}),
    ("as_strided__offset",         lambda m, x: (x * 1).as_strided_((2,), (1,), 4),               [(2, 3)], {}),
    ("as_strided__function",       lambda m, x: m.as_strided_(x * 1, (2,), (2,)),                 [(2, 3)], {}),
    # the graph after the change: more ops, and an in-place write into the changed tensor
    ("t_then_mul",                 lambda m, x, w: (x * 1).t_() * w,                              [(2, 3), (3, 2)], {}),
    ("t_then_write",               lambda m, x, w: (x * 1).t_().mul_(w),                          [(2, 3), (3, 2)], {}),
    ("unsqueeze_then_write",       lambda m, x, w: (x * 1).unsqueeze_(0).add_(w),              [(2, 3), (1, 2, 3)], {}),
    ("as_strided__then_write",     lambda m, x, w: (x * 1).as_strided_((2, 2), (1, 2)).mul_(w),   [(2, 3), (2, 2)], {}),
    # a view changed in place, then its base written: the view's part of the gradient follows the view
    # (name=False: PyTorch regenerates such a view's node as AsStridedBackward0, we replay its view ops)
    ("view_t_then_base_write",     lambda m, x, w: _view_t_then_base_write(x, w),   [(2, 3), (2, 3)], dict(name=False)),
    ("view_t_then_view_write",     lambda m, x, w: _view_t_then_view_write(x, w),                 [(2, 3), (2, 2)], {}),
    ("view_squeeze_then_write",    lambda m, x, w: _view_squeeze_then_write(x, w),               [(2, 1, 3), (3,)], {}),
    # a view with a node of its own, taken before its base (or the view it came from) changed layout in
    # place: regenerated from its place in memory (AsStridedBackward0, as PyTorch), not by replaying its
    # view ops on the new layout
    ("old_view_t_square",          lambda m, x: _old_view(x, lambda y: y[0], lambda y: y.t_()),   [(3, 3)], {}),
    ("old_view_t_non_square",      lambda m, x: _old_view(x, lambda y: y[1], lambda y: y.t_()),   [(2, 3)], {}),
    ("old_view_column_t",          lambda m, x: _old_view(x, lambda y: y[:, 1], lambda y: y.t_()),  [(3, 2)], {}),
    ("old_view_transpose_3d",      lambda m, x: _old_view(x, lambda y: y[:, 1], lambda y: y.transpose_(0, 2)),
     [(2, 3, 4)], {}),
    ("old_view_squeeze_",          lambda m, x: _old_view(x, lambda y: y[1], lambda y: y.squeeze_(1)),
     [(3, 1, 3)], {}),
    ("old_view_unsqueeze_",        lambda m, x: _old_view(x, lambda y: y[:, 1], lambda y: y.unsqueeze_(0)),
     [(2, 3)], {}),
    ("old_view_as_strided_",       lambda m, x: _old_view(x, lambda y: y[0], lambda y: y.as_strided_((3, 3), (1, 3))),
     [(3, 3)], {}),
    # (the base now covers part of the view: as PyTorch's, the rest of the view's gradient reaches nothing)
    ("old_view_as_strided__part",
     lambda m, x: _old_view(x, lambda y: y[0], lambda y: y.as_strided_((2, 2), (3, 1), 1)), [(3, 3)], dict(fd=False)),
    ("old_view_chain_of_two",      lambda m, x: _old_view(x, lambda y: y[1:].t()[0], lambda y: y.t_()), [(3, 3)], {}),
    ("old_view_of_view_t",         lambda m, x: _old_view_of_view(x),                             [(3, 4)], {}),
    ("old_view_base_written",      lambda m, x, w: _old_view_base_written(x, w),                  [(3, 3), (3, 3)], {}),
    ("old_view_written",           lambda m, x, w: _old_view_written(x, w, lambda y: y.t_()),     [(3, 3), (3,)], {}),
    ("old_view_written_non_square", lambda m, x, w: _old_view_written(x, w, lambda y: y.t_()),    [(2, 3), (3,)], {}),
    ("old_view_written_squeeze_",  lambda m, x, w: _old_view_written(x, w, lambda y: y.squeeze_()), [(2, 1, 3), (1, 3)],
     {}),
    ("old_view_written_unsqueeze_", lambda m, x, w: _old_view_written(x, w, lambda y: y.unsqueeze_(1)), [(2, 3), (3,)],
     {}),
    ("old_view_written_as_strided_", lambda m, x, w: _old_view_written(x, w, lambda y: y.as_strided_((3, 3), (1, 3))),
     [(3, 3), (3,)], {}),
    ("old_view_written_twice",     lambda m, x, w: _old_view_written_twice(x, w),                 [(3, 3), (3,)], {}),
    # the *_copy forms: contiguous copies, nodes named <view node>_copy
    ("view_copy",                  lambda m, x: m.view_copy(x, (3, 2)),                           [(2, 3)], {}),
    ("t_copy",                     lambda m, x: m.t_copy(x),                                      [(2, 3)], {}),
    ("transpose_copy",             lambda m, x: m.transpose_copy(x, 0, 2),                        [(2, 3, 4)], {}),
    ("permute_copy",               lambda m, x: m.permute_copy(x, (2, 0, 1)),                     [(2, 3, 4)], {}),
    ("expand_copy",                lambda m, x: m.expand_copy(x, (2, 3, 4)),                      [(3, 1)], {}),
    ("squeeze_copy",               lambda m, x: m.squeeze_copy(x),                                [(1, 3, 1)], {}),
    ("squeeze_copy_dim",           lambda m, x: m.squeeze_copy(x, 0),                             [(1, 3, 1)], {}),
    ("squeeze_copy_dims",          lambda m, x: m.squeeze_copy(x, (0, 2)),                        [(1, 3, 1)], {}),
    ("unsqueeze_copy",             lambda m, x: m.unsqueeze_copy(x, 1),                           [(2, 3)], {}),
    ("diagonal_copy",              lambda m, x: m.diagonal_copy(x, 1, 0, 2),                      [(3, 2, 4)], {}),
    ("select_copy",                lambda m, x: m.select_copy(x, 1, -1),                          [(2, 3)], {}),
    ("slice_copy",                 lambda m, x: m.slice_copy(x, 1, 0, 3, 2),                      [(2, 4)], {}),
    ("slice_copy_defaults",        lambda m, x: m.slice_copy(x),                                  [(2, 4)], {}),
    ("split_copy",                 lambda m, x: m.split_copy(x, 2, 1),                            [(2, 3)], {}),
    ("split_with_sizes_copy",      lambda m, x: m.split_with_sizes_copy(x, [1, 2], 1),            [(2, 3)], {}),
    ("unbind_copy",                lambda m, x: m.unbind_copy(x, 1),                              [(2, 3)], {}),
    ("unfold_copy",                lambda m, x: m.unfold_copy(x, 1, 2, 1),                        [(2, 4)], {}),
    ("alias_copy",                 lambda m, x: m.alias_copy(x),                                  [(2, 3)], {}),
]


def _view_t_then_base_write(x, w):
    y = x * 1
    v = y[:, :2]
    v.t_()
    y.mul_(w)
    return v


def _old_view(x, take, change):
    y = x * 1
    v = take(y)
    change(y)
    return v


def _old_view_of_view(x):
    y = x * 1
    u = y[1:]
    v = u[:, 1]                 # taken from u, whose own layout then changes
    u.t_()
    return v * v


def _old_view_base_written(x, w):
    y = x * 1
    v = y[0]
    y.t_()
    y.mul_(w)
    return v


def _old_view_written(x, w, change):
    y = x * 1
    v = y[0]
    change(y)
    v.mul_(w)                   # a write through the old view: its elements, not those of y[0] now
    return y, v


def _old_view_written_twice(x, w):
    y = x * 1
    v = y[:, 1]
    y.t_()
    v.mul_(w)
    y.mul_(3.0)
    v.add_(w)
    return y, v


def _scatter_reference(x, s, size, stride, offset):
    y = x.clone()
    y.as_strided(size, stride, offset).copy_(s)
    return y


def _view_t_then_view_write(x, w):
    y = x * 1
    v = y[:, 1:]
    v.t_()
    v.mul_(w)
    return y


def _view_squeeze_then_write(x, w):
    y = x * 1
    v = y[1]
    v.squeeze_(0)
    v.add_(w)
    return y


test_against_pytorch, test_gradcheck, test_second_order = case_tests(CASES)


# ---- layout, version counter and grad_fn after an in-place metadata change ----------------------

LAYOUT = [
    ("t_", lambda x: x.t_()), ("t_1d", lambda x: x[0].t_()), ("transpose_", lambda x: x.transpose_(0, 1)),
    ("transpose_same", lambda x: x.transpose_(1, 1)), ("swapaxes_", lambda x: x.swapaxes_(0, -1)),
    ("swapdims_", lambda x: x.swapdims_(-1, 0)), ("squeeze_", lambda x: x.reshape(1, 2, 1, 3).squeeze_()),
    ("squeeze_dim", lambda x: x.reshape(2, 1, 3).squeeze_(1)),
    ("squeeze_dims", lambda x: x.reshape(1, 2, 1, 3).squeeze_((0, 2))),
    ("squeeze_0d", lambda x: x[0, 0].squeeze_()), ("unsqueeze_", lambda x: x.unsqueeze_(0)),
    ("unsqueeze_mid", lambda x: x.unsqueeze_(1)), ("unsqueeze_end", lambda x: x.unsqueeze_(2)),
    ("unsqueeze_of_slice", lambda x: x[:, 1:].unsqueeze_(1)),
    ("unsqueeze_of_transposed", lambda x: x.t().unsqueeze_(1)),
    ("unsqueeze_of_transposed_end", lambda x: x.t().unsqueeze_(2)), ("unsqueeze_0d", lambda x: x[0, 0].unsqueeze_(0)),
    ("as_strided_", lambda x: x.as_strided_((3, 2), (1, 3))),
    ("as_strided__offset", lambda x: x.as_strided_((2,), (2,), 1)),
    ("as_strided__of_slice", lambda x: x[1:].as_strided_((2,), (1,))),
    ("as_strided", lambda x: x.as_strided((2, 2), (1, 2), 1)),
    ("as_strided_of_slice", lambda x: x[:, 1:].as_strided((2,), (1,))),
]


@pytest.mark.parametrize("case", LAYOUT, ids=[c[0] for c in LAYOUT])
def test_layout_and_version_as_pytorch(torch, device, case):
    """shape, stride(), is_contiguous(), storage_offset(), values and _version as PyTorch's, on a tensor
    without history (the grad_fn names are checked by the table above)."""
    _, fn = case
    a = np.arange(6.0).reshape(2, 3)
    ours, theirs = ag.tensor(a, device=device), torch.tensor(a)
    o, r = fn(ours), fn(theirs)
    assert o.shape == tuple(r.shape)
    assert o.stride() == r.stride()
    assert o.is_contiguous() == r.is_contiguous()
    assert o._version == r._version and ours._version == theirs._version
    np.testing.assert_array_equal(to_numpy(o), r.numpy())
    if device == "cpu":                 # (CuPy views keep no .base chain: see the report)
        assert o.storage_offset() == r.storage_offset()


def test_returns_self_and_shares_memory(device):
    x = ag.arange(6.0, device=device).reshape(2, 3)
    for fn in (lambda t: t.t_(), lambda t: t.unsqueeze_(0), lambda t: t.squeeze_(), lambda t: t.transpose_(0, 1),
               lambda t: t.as_strided_((6,), (1,))):
        ptr = x.data_ptr()
        assert fn(x) is x and x.data_ptr() == ptr
    x[0] = 7.0
    assert to_numpy(x)[0] == 7.0


def test_grad_fn_chain_as_pytorch(torch):
    """The changed tensor's node leads to its old one (TBackward1 -> MulBackward0), as PyTorch's."""
    for lib in (ag, torch):
        a = lib.ones(2, 3, requires_grad=True)
        y = a * a
        y.t_()
        assert y.grad_fn.name() == "TBackward1"
        assert y.grad_fn.next_functions[0][0].name() == "MulBackward0"
        assert not y.is_leaf and y._version == 1


def test_requires_grad_stays_on_a_tensor_without_history(torch):
    for lib in (ag, torch):
        x = lib.ones(2, 3)
        x.t_()
        assert x.grad_fn is None and not x.requires_grad and x.is_leaf


# ---- refusals (PyTorch's exception types; our messages name the op) -----------------------------

def _leaf(lib):
    return lib.ones(2, 3, requires_grad=True)


def _view_of_leaf(lib):
    return lib.ones(2, 3, requires_grad=True)[:, :2]


def _no_grad_view(lib):
    a = lib.ones(2, 3, requires_grad=True) * 1
    with lib.no_grad():
        return a[:, :2]


def _piece(lib):
    return (lib.ones(2, 3, requires_grad=True) * 1).split(1)[0]


REFUSED = [
    ("leaf", _leaf, "a leaf Variable that requires grad"),
    ("view_of_leaf", _view_of_leaf, "a view of a leaf Variable"),
    ("no_grad_view", _no_grad_view, "A view was created in no_grad mode"),
    ("piece_of_split", _piece, "function that returns multiple views"),
]
OPS = [("t_", lambda x: x.t_()), ("transpose_", lambda x: x.transpose_(0, 1)),
       ("swapaxes_", lambda x: x.swapaxes_(0, 1)),
       ("swapdims_", lambda x: x.swapdims_(0, 1)), ("squeeze_", lambda x: x.squeeze_()),
       ("unsqueeze_", lambda x: x.unsqueeze_(0)), ("as_strided_", lambda x: x.as_strided_((2,), (1,)))]


@pytest.mark.parametrize("op", OPS, ids=[o[0] for o in OPS])
@pytest.mark.parametrize("case", REFUSED, ids=[c[0] for c in REFUSED])
def test_refused_as_pytorch(torch, case, op):
    _, make, words = case
    name, fn = op
    with pytest.raises(RuntimeError, match=words):
        fn(make(torch))
    x = make(ag)
    before = (x.shape, x.stride(), x._version, x.grad_fn)
    with pytest.raises(RuntimeError, match=words) as e:
        fn(x)
    assert name.rstrip("_") in str(e.value).split(":")[0]
    assert (x.shape, x.stride(), x._version, x.grad_fn) == before


def test_leaf_under_no_grad_as_pytorch(torch):
    """Under no_grad a leaf that requires grad may change its layout (and stays a leaf)."""
    for lib in (ag, torch):
        a = lib.ones(2, 3, requires_grad=True)
        with lib.no_grad():
            a.t_()
        assert a.shape == (3, 2) and a.is_leaf and a.requires_grad and a._version == 1
        (a * lib.ones(3, 2)).sum().backward()
        assert a.grad.shape == (3, 2)


def test_non_leaf_under_no_grad_keeps_its_node(torch):
    """As PyTorch: the node is not changed (it still describes the old layout). (A non-square one: PyTorch's
    engine then refuses the gradient's shape; ours checks no gradient shapes against the node, see the report.)"""
    grads = []
    for lib in (ag, torch):
        a = lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        y = a * a
        with lib.no_grad():
            y.t_()
        assert y.grad_fn.name() == "MulBackward0" and y._version == 1
        (y * lib.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
        grads.append(a.grad)
    assert_matches(grads[0], grads[1])


def test_expanded_and_read_only_tensors_may_change_layout(torch):
    """No element is written: an expanded tensor (or one over a read-only array) is fine, as in PyTorch."""
    for lib in (ag, torch):
        e = lib.ones(3).expand(2, 3)
        e.t_()
        assert e.shape == (3, 2) and e.stride() == (1, 0)
    a = np.arange(4.0)
    a.flags.writeable = False
    with pytest.warns(UserWarning, match="not writable"):
        t = ag.from_numpy(a)
    t.unsqueeze_(0)
    assert t.shape == (1, 4)


BAD = [
    # (id, fn(lib), exception, words our message holds besides the op name)
    ("t__3d", lambda L: L.ones(2, 2, 2).t_(), RuntimeError, "t_"),
    ("transpose__dim", lambda L: L.ones(2, 2).transpose_(0, 2), IndexError, "transpose_"),
    ("transpose__type", lambda L: L.ones(2, 2).transpose_(0, "a"), TypeError, "transpose_"),
    ("squeeze__dim", lambda L: L.ones(2, 2).squeeze_(3), IndexError, "squeeze_"),
    ("squeeze__dup", lambda L: L.ones(1, 2).squeeze_((0, 0)), RuntimeError, "squeeze_"),
    ("unsqueeze__dim", lambda L: L.ones(2, 2).unsqueeze_(3), IndexError, "unsqueeze_"),
    ("as_strided_negative_stride", lambda L: L.ones(4).as_strided((2,), (-1,)), RuntimeError, "as_strided"),
    ("as_strided_out_of_bounds", lambda L: L.ones(4).as_strided((3,), (2,)), RuntimeError, "as_strided"),
    ("as_strided_offset_out_of_bounds", lambda L: L.ones(4).as_strided((2,), (1,), 3), RuntimeError, "as_strided"),
    ("as_strided_negative_offset", lambda L: L.ones(4).as_strided((1,), (1,), -1), RuntimeError, "as_strided"),
    ("as_strided_lengths", lambda L: L.ones(4).as_strided((1, 2), (1,)), RuntimeError, "as_strided"),
    ("as_strided_negative_size", lambda L: L.ones(4).as_strided((-1,), (1,)), RuntimeError, "as_strided"),
    ("as_strided_int_size", lambda L: L.ones(4).as_strided(2, 1), TypeError, "as_strided"),
    ("as_strided_float_size", lambda L: L.ones(4).as_strided((2.0,), (1,)), TypeError, "as_strided"),
    ("as_strided__out_of_bounds", lambda L: L.ones(4).as_strided_((3,), (2,)), RuntimeError, "as_strided_"),
    ("as_strided_function_not_tensor", lambda L: L.as_strided([1.0], (1,), (1,)), TypeError, "as_strided"),
    ("as_strided_scatter_src_size", lambda L: L.ones(2, 3).as_strided_scatter(L.ones(3), (2,), (1,)), RuntimeError,
     "as_strided_scatter"),
    ("as_strided_scatter_overlap", lambda L: L.zeros(4).as_strided_scatter(L.ones(2), (2,), (0,)), RuntimeError,
     "as_strided_scatter"),
    ("as_strided_scatter_non_contiguous_grad",
     lambda L: L.ones(3, 2, requires_grad=True).t().as_strided_scatter(L.ones(2), (2,), (1,)), RuntimeError,
     "as_strided_scatter"),
    ("view_copy_size", lambda L: L.view_copy(L.ones(2, 3), (4,)), RuntimeError, "view"),
    ("select_copy_index", lambda L: L.select_copy(L.ones(2, 3), 1, 5), IndexError, "select"),
    ("slice_copy_step", lambda L: L.slice_copy(L.ones(2, 3), 1, 0, 2, 0), (RuntimeError, ValueError), "slice"),
    ("t_copy_3d", lambda L: L.t_copy(L.ones(2, 2, 2)), RuntimeError, "t"),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_input_as_pytorch(torch, case):
    _, fn, kind, name = case
    with pytest.raises(kind):
        fn(torch)
    with pytest.raises(kind) as e:
        fn(ag)
    assert name in str(e.value)


def test_failed_as_strided__changes_nothing():
    x = ag.arange(4.0) * 1
    before = (x.shape, x.stride(), x._version, x.grad_fn)
    with pytest.raises(RuntimeError, match="as_strided_"):
        x.as_strided_((3,), (2,))
    assert (x.shape, x.stride(), x._version, x.grad_fn) == before


# ---- views of a tensor whose layout changed --------------------------------------------------------

def test_views_without_node_follow_a_base_whose_layout_changed(torch):
    """A view made before its base's layout change (no node: the base needed no grad then) still
    takes the right part of the base's later history."""
    grads = []
    for lib in (ag, torch):
        a = lib.tensor(np.arange(6.0).reshape(2, 3), dtype=lib.float64)
        w = lib.tensor(np.arange(1.0, 7.0).reshape(3, 2), dtype=lib.float64, requires_grad=True)
        v = a[0]                 # (no node)
        a.t_()
        a.mul_(w)                # now a has a history, and v takes it
        assert v.grad_fn is not None
        v.sum().backward()
        grads.append(w.grad)
        np.testing.assert_array_equal(to_numpy(v) if lib is ag else v.detach().numpy(), [0.0, 3.0, 10.0])
    assert_matches(grads[0], grads[1])


def test_views_with_node_of_a_base_whose_layout_changed(torch):
    grads = []
    for lib in (ag, torch):
        a = lib.tensor(np.arange(9.0).reshape(3, 3), dtype=lib.float64, requires_grad=True)
        y = a * 1
        v = y[0]                 # (a node of its own)
        y.t_()
        (v * lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64)).sum().backward()
        grads.append(a.grad)
    assert_matches(grads[0], grads[1])


def test_old_view_regenerated_only_when_its_ops_no_longer_give_it(torch):
    """A view whose view ops still give its elements after its base was written replays them (SelectBackward0;
    PyTorch names every regenerated view AsStridedBackward0: the kept naming divergence of
    view_t_then_base_write); one whose base changed layout since is regenerated from its place in memory,
    AsStridedBackward0 as PyTorch's."""
    y = ag.ones(3, 3, requires_grad=True) * 1
    v = y[0]
    y.mul_(2.0)
    assert v.grad_fn.name() == "SelectBackward0"
    for lib in (ag, torch):
        y = lib.ones(3, 3, requires_grad=True) * 1
        u = y[1]
        y.t_()
        assert u.grad_fn.name() == "AsStridedBackward0"


def test_old_view_written_before_its_base_start_divergence(torch):
    """Kept divergence: a write through an old view whose first element now lies before its base's (the base
    moved on by as_strided_ with an offset). PyTorch's backward raises (invalid storage offset -1); ours gives
    the base's elements their gradient and the view's other elements none."""
    def run(lib):
        x = lib.tensor(np.arange(1.0, 10.0).reshape(3, 3), dtype=lib.float64, requires_grad=True)
        y = x * 1
        v = y[0]
        y.as_strided_((2, 2), (3, 1), 1)           # y: the elements 1, 2, 4, 5 of x
        v.mul_(lib.tensor([10.0, 20.0, 30.0], dtype=lib.float64))
        y.sum().backward()
        return x.grad
    with pytest.raises(RuntimeError, match="storage offset"):
        run(torch)
    np.testing.assert_array_equal(to_numpy(run(ag)), [[0.0, 20.0, 30.0], [0.0, 1.0, 1.0], [0.0, 0.0, 0.0]])


# ---- dtypes, empty, and the devices ---------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float16", "int64", "bool"])
def test_as_strided_dtypes(torch, device, dtype):
    a = (np.arange(12) % 3).astype(dtype)
    o = ag.tensor(a, device=device).as_strided((3, 3), (2, 1), 1)
    r = torch.tensor(a).as_strided((3, 3), (2, 1), 1)
    np.testing.assert_array_equal(to_numpy(o), r.numpy())
    assert str(o.dtype).split(".")[-1] == dtype


def test_as_strided_float16_gradient(torch, device):
    a = np.linspace(-1, 1, 6)
    x, tx = ag.tensor(a, dtype=ag.float16, device=device, requires_grad=True), \
        torch.tensor(a, dtype=torch.float16, requires_grad=True)
    for lib, t in ((ag, x), (torch, tx)):
        t.as_strided((3, 2), (1, 1)).sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), tx.grad.numpy())


def test_as_strided_nan_inf_gradients(torch):
    """Overlapping windows of an input holding NaN and inf: the values through, the gradients summed."""
    a = np.array([np.nan, np.inf, -np.inf, 1.0, 2.0])
    x, tx = ag.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    o, r = x.as_strided((3, 3), (1, 1)), tx.as_strided((3, 3), (1, 1))
    np.testing.assert_array_equal(to_numpy(o), r.detach().numpy())
    o.sum().backward()
    r.sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), tx.grad.numpy())


def test_copies_do_not_alias(torch, device):
    x = ag.arange(6.0, device=device).reshape(2, 3)
    for c in (ag.t_copy(x), ag.view_copy(x, (6,)), ag.as_strided_copy(x, (2,), (1,)), ag.alias_copy(x),
              ag.detach_copy(x), *ag.unbind_copy(x), ag.expand_copy(x[:1], (2, 3))):
        assert c.is_contiguous()
        assert c.data_ptr() != x.data_ptr()


def test_detach_copy_as_pytorch(torch):
    """PyTorch 2.13's detach_copy of a tensor requiring grad requires grad, with a node whose backward refuses."""
    for lib in (ag, torch):
        x = lib.ones(2, requires_grad=True)
        r = lib.detach_copy(x)
        assert r.grad_fn.name() == "torch::autograd::NotImplemented" and r.requires_grad
        with pytest.raises(RuntimeError, match="detach_copy"):
            r.sum().backward()
        with lib.no_grad():
            assert not lib.detach_copy(x).requires_grad
        assert not lib.detach_copy(lib.ones(2)).requires_grad
