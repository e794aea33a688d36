"""Regression tests: one per bug found by the reliability suites (random graphs
vs PyTorch, fuzzed bad input, NaN semantics, stability). Each test names the
bug it pins down and compares with PyTorch where PyTorch defines the answer."""
import numpy as np
import pytest

import autograd_gpu as ag


def val(t):
    return np.asarray(t.detach()._host())


# Bug: `x[[]]` raised IndexError ("tensors used as indices must be long...")
# because NumPy gives an empty list the dtype float64; PyTorch treats it as an
# empty integer index. (found by test_random_graphs)
def test_index_with_empty_list(torch):
    x = ag.zeros(0, dtype=ag.float64, requires_grad=True)
    y = x[[]]
    assert y.shape == torch.zeros(0)[[]].shape == (0,)
    z = ag.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    w = z[[]]
    assert w.shape == (0, 2)
    w.sum().backward()
    np.testing.assert_array_equal(val(z.grad), np.zeros((2, 2)))


# Bug: amax()/amin()/max()/min() of an empty tensor without a dim raised
# IndexError; PyTorch raises RuntimeError there (IndexError only for argmax/
# argmin, and for an empty dim given explicitly). (found by test_random_graphs)
def test_empty_reduction_without_dim_raises_like_pytorch(torch):
    for expr in ("x.amax()", "x.amin(())", "x.max()", "x.min()", "x.argmax()", "x.argmin()",
                 "x.amax(1)", "x.max(1)", "x.argmin(1)"):
        kinds = []
        for lib in (torch, ag):
            x = lib.zeros(2, 0)
            with pytest.raises((RuntimeError, IndexError), match=expr.split(".")[1].split("(")[0]) as e:
                eval(expr)
            kinds.append(e.type)
        assert kinds[0] is kinds[1], f"{expr}: torch raises {kinds[0].__name__}, we raise {kinds[1].__name__}"


# Bug: logsumexp over an empty dim, and softmax/log_softmax of a tensor with a
# zero-size dim, raised NumPy's "zero-size array to reduction operation maximum"
# (as RuntimeError); PyTorch gives -inf and empty results. (found by test_random_graphs)
def test_logsumexp_and_softmax_of_empty(torch):
    for expr in ("x.logsumexp(1)", "x.logsumexp(0)", "x.logsumexp((0, 1), keepdim=True)", "x.softmax(1)",
                 "x.log_softmax(0)", "x.softmax(-1)"):
        outs = []
        for lib in (torch, ag):
            x = lib.zeros((3, 0), dtype=lib.float64, requires_grad=True)
            y = eval(expr)
            (y * 2).sum().backward()
            outs.append((val(y) if lib is ag else y.detach().numpy(), x.grad))
        (a, ga), (b, gb) = outs[1], outs[0]
        np.testing.assert_array_equal(a, b, err_msg=expr)
        assert val(ga).shape == tuple(gb.shape), expr


# Bug: in-place ops on `t.expand(...)` to t's own shape (nothing broadcast)
# raised "more than one element of the written-to tensor refers to a single
# memory location"; PyTorch allows them (only stride-0 dims of size > 1
# overlap). Also: expand must stay a view of a one-element tensor (it must see
# later in-place writes to the base). (found by test_random_graphs)
def test_expand_is_a_view_and_writable_when_nothing_is_broadcast(torch):
    results = []
    for lib in (torch, ag):
        a = lib.ones(1)
        b = a.expand(3)
        with lib.no_grad():
            a.add_(1)
        x = lib.tensor([[0.5], [1.5]], dtype=lib.float64, requires_grad=True)
        y = x * 2
        y.expand(2, 1).add_(y)            # same shape: a plain view, writable
        y.sum().backward()
        with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
            (lib.ones(1) * 1).expand(3).add_(1)
        results.append((b.tolist(), y.tolist(), x.grad.tolist()))
    assert results[1] == results[0]


# Bug: a leaf that requires grad but is a view of a tensor that does not
# (x = base.reshape(2, 2).requires_grad_()) could be modified in place: it got a
# grad_fn (ViewBackward0) and stopped being a leaf. PyTorch raises "a view of a
# leaf Variable that requires grad is being used in an in-place operation".
# (found by writing test_random_graphs' leaf construction)
def test_inplace_on_leaf_that_is_a_view_raises(torch):
    for lib in (torch, ag):
        x = lib.tensor([1.0, 2.0, 3.0, 4.0]).reshape(2, 2).requires_grad_()
        for op in (lambda: x.mul_(2), lambda: x.zero_(), lambda: x.__setitem__(0, 1.0),
                   lambda: x.copy_(lib.ones(2, 2))):
            with pytest.raises(RuntimeError, match="view of a leaf Variable that requires grad"):
                op()
        assert x.is_leaf and x.grad_fn is None and x.tolist() == [[1.0, 2.0], [3.0, 4.0]]
        with lib.no_grad():
            x.mul_(2)                        # allowed outside grad mode
        assert x.tolist() == [[2.0, 4.0], [6.0, 8.0]]


# Bug: retain_grad() followed by an in-place write kept the retained-grad entry
# on the tensor's OLD node as well as its new one, so `.grad` summed the
# gradients of the old and new values (doubled for `v.add_(2)`); for views and
# bases modified through views `.grad` came from the old history. PyTorch moves
# the retains_grad hook to the tensor's current grad_fn. (found by test_random_graphs)
RETAIN_THEN_INPLACE = {
    "inplace": ("b = x * 2; b.retain_grad(); b.add_(2)", "(b * w3).sum() + (x * 1).sum()", ["b"]),
    "view_written": ("b = x * 2; v = b[1:]; v.retain_grad(); v.mul_(3)", "(v * w2).sum() + (b * w3).sum()", ["v", "b"]),
    "base_written_through_view": ("b = x * 2; b.retain_grad(); b[1:].mul_(3)", "(b * w3).sum()", ["b"]),
    "view_of_written_base": ("b = x * 2; v = b[1:]; v.retain_grad(); b.mul_(3)", "(v * w2).sum() + (b * w3).sum()", ["v"]),
    "view_unused_after_write": ("b = x * 2; v = b[1:]; v.retain_grad(); v.mul_(3); b.retain_grad()", "(b * w3).sum()", ["v", "b"]),
}


@pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf")
@pytest.mark.parametrize("case", list(RETAIN_THEN_INPLACE))
def test_retained_grad_follows_inplace_writes(torch, case):
    setup, loss, names = RETAIN_THEN_INPLACE[case]
    grads = []
    for lib in (torch, ag):
        env = {"lib": lib, "x": lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True),
               "w2": lib.tensor([1.0, 2.0], dtype=lib.float64), "w3": lib.tensor([5.0, 7.0, 11.0], dtype=lib.float64)}
        exec(setup, env)
        eval(loss, env).backward()
        grads.append([None if env[n].grad is None else env[n].grad.tolist() for n in names] + [env["x"].grad.tolist()])
    assert grads[1] == grads[0]


# Bug: in-place writes (in grad mode, recorded) to an output of split/chunk/
# unbind, or to a view of one, were accepted; PyTorch refuses them ("This view
# is the output of a function that returns multiple views"). Without grad, or
# on pieces of a tensor that does not require grad, both allow them.
# (found by test_random_graphs)
@pytest.mark.parametrize("expr", ["x.split(1)[0].add_(1)", "x.chunk(2)[1].mul_(2)", "x.unbind(0)[1].zero_()",
                                  "x.split([1, 3])[1][0].add_(1)", "x.split(1)[0].view(-1).add_(1)",
                                  "x.split(1)[0].__setitem__(0, 1.0)"])
def test_inplace_on_multi_output_view_raises(torch, expr):
    for lib in (torch, ag):
        x = lib.ones(4, 2, requires_grad=True) * 1
        with pytest.raises(RuntimeError, match="output of a function that returns multiple views"):
            eval(expr)
        assert x.tolist() == [[1.0, 1.0]] * 4
        with lib.no_grad():
            eval(expr)                       # allowed without grad mode
        x = lib.ones(4, 2)
        eval(expr)                           # and on pieces of a tensor without grad


# Bug: split/chunk of a 0-d tensor raised a bare IndexError ("tuple index out of
# range"; PyTorch: RuntimeError "split expects at least a 1-dimensional tensor"),
# unbind of a 0-d tensor the same bare error, and movedim(0, 0) of a 0-d tensor
# failed in NumPy's transpose; movedim's repeated or unequal dims were not
# checked. (found by test_random_graphs)
@pytest.mark.parametrize("expr", ["x.split(1)", "x.split([1])", "x.chunk(2)", "x.unbind()", "x.movedim(0, 0)",
                                  "x.movedim(-1, 0)", "y.movedim((0, 0), (1, 2))", "y.movedim((0, 1), (1, 1))",
                                  "y.movedim((0, 1), (1,))", "y.movedim(0.5, 1)", "y.movedim(3, 1)"])
def test_zero_dim_split_and_movedim(torch, expr):
    outcomes = []
    for lib in (torch, ag):
        x, y = lib.tensor(1.5), lib.zeros(2, 3, 4)
        try:
            r = eval(expr)
            outcomes.append(("ok", tuple(r.shape)))
        except (RuntimeError, IndexError, TypeError) as e:
            assert lib is torch or "movedim" in str(e) or expr.split(".")[1][:5] in str(e), str(e)
            outcomes.append((type(e).__name__,))
    assert outcomes[1] == outcomes[0]


# Bug: an in-place op whose backward needs the tensor's old value (pow_, mul_,
# div_, ...) on a tensor already at version > 0 made backward fail with a
# false "modified by an inplace operation ... is at version 0; expected version
# 1": the snapshot of the old value starts at version 0 but the node kept
# expecting the tensor's version. (found by test_random_graphs)
@pytest.mark.parametrize("op", ["v.pow_(2)", "v.div_(w)", "v.mul_(w)", "v.sigmoid_()", "v.abs_()"])
def test_inplace_needing_old_value_after_earlier_inplace(torch, op):
    grads = []
    for lib in (torch, ag):
        x = lib.tensor([0.5, -1.5], dtype=lib.float64, requires_grad=True)
        w = lib.tensor([2.0, 4.0], dtype=lib.float64, requires_grad=True)
        v = x + x
        with lib.no_grad():
            v.mul_(2)                      # version 1, outside the graph
        v.add_(1)                          # version 2
        eval(op)
        (v * lib.tensor([1.0, 3.0], dtype=lib.float64)).sum().backward()
        grads.append((x.grad.tolist(), w.grad.tolist() if w.grad is not None else None))
    np.testing.assert_allclose(np.array(grads[1][0]), np.array(grads[0][0]), rtol=1e-12)
    assert (grads[1][1] is None) == (grads[0][1] is None)


# Bug: backward of relu, tanh, sigmoid, clamp (and anything using the fused
# NumPy twins with out=) crashed on 0-d tensors with NumPy's "TypeError: return
# arrays must be of ArrayType": NumPy returns scalars for 0-d operands.
# (found by test_random_graphs, after the "Faster NumPy twins" change)
@pytest.mark.parametrize("op", ["relu", "tanh", "sigmoid", "abs", "exp", "sin", "sqrt", "square",
                                "clamp(0, 1)", "clamp(min=0.7)", "clamp(max=0.2)"])
@pytest.mark.parametrize("value", [0.5, 0.0, -1.5])
def test_pointwise_backward_on_zero_dim(torch, op, value):
    grads = []
    for lib in (torch, ag):
        x = lib.tensor(abs(value) if op == "sqrt" and value else value, dtype=lib.float64, requires_grad=True)
        y = eval(f"x.{op if '(' in op else op + '()'}")
        (g,) = lib.autograd.grad(y * 3, x, create_graph=True)
        grads.append([y.item(), g.item()])
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12)


# Bug: backward through split/chunk/unbind that produced ONE piece (chunk(1),
# split(n) of a dim of size <= n) crashed with NumPy's "zero-dimensional arrays
# cannot be concatenated": the engine hands a one-output node its gradient
# alone, not in a tuple. (found by test_random_graphs)
@pytest.mark.parametrize("expr", ["x.chunk(1, 0)[0]", "x.split(5)[0]", "x.split([2])[0]", "x.unbind(0)[0]",
                                  "x.chunk(3, 1)[0]"])
def test_backward_through_single_piece_split(torch, expr):
    grads = []
    for lib in (torch, ag):
        x = lib.tensor([[0.5, -1.0]], dtype=lib.float64, requires_grad=True).expand(2, 2) * 1 if "unbind" not in expr \
            else lib.tensor([[0.5, -1.0]], dtype=lib.float64, requires_grad=True) * 1
        x.retain_grad()
        y = eval(expr)
        (g,) = lib.autograd.grad((y * 3).sum(), x, create_graph=True)
        (y * 2).sum().backward()
        grads.append((g.tolist(), x.grad.tolist()))
    assert grads[1] == grads[0]


# Bug: `leaf[bad basic index] = v` raised the in-place-on-leaf RuntimeError
# where PyTorch raises the IndexError of the index (PyTorch checks a basic index
# first, the in-place rules next, an advanced index last). (found by test_random_graphs)
@pytest.mark.parametrize("stmt", ["x[5] = 1.0", "x[[5]] = 1.0", "x[0, 0, 0] = 1.0", "x[x > 0] = 1.0",
                                  "x[lib.tensor([0.5])] = 1.0", "x[::-1] = 1.0", "x[0, 0, :, :] = 2.0"])
def test_setitem_error_order_matches_pytorch(torch, stmt):
    kinds = []
    for lib in (torch, ag):
        x = lib.ones(2, 2, requires_grad=True)
        with pytest.raises((IndexError, RuntimeError, ValueError)) as e:
            exec(stmt, {"x": x, "lib": lib})
        kinds.append(e.type)
        assert x.tolist() == [[1.0, 1.0], [1.0, 1.0]] and x._version == 0
    assert kinds[1] is kinds[0]


# norm(p=0) sent a zero gradient; PyTorch sends none (a retained grad upstream
# stays None). (found by test_random_graphs)
def test_norm_p0_sends_no_gradient(torch):
    out = {}
    for lib in (torch, ag):
        x = lib.tensor([0.5, 0.0, -1.0], dtype=lib.float64, requires_grad=True)
        v = x * 1
        v.retain_grad()
        (v.norm(p=0) * 2 + (x * 3).sum()).backward()
        out[lib.__name__] = (v.grad, x.grad.tolist())
    assert out["torch"][0] is None and out["autograd_gpu"][0] is None
    assert out["autograd_gpu"][1] == out["torch"][1]


# Bug: backward of var/std with no degrees of freedom (a dim of size 1 with the
# default correction=1, or an empty reduction) raised a bare ZeroDivisionError;
# PyTorch gives NaN gradients (2 / 0 = inf, times x - mean = 0). (found by test_random_graphs)
@pytest.mark.filterwarnings("ignore:.*degrees of freedom")
@pytest.mark.parametrize("expr", ["x.var(1)", "x.std(1)", "x.var(1, unbiased=False)", "x.var(0, correction=2)",
                                  "e.var(0, unbiased=False)", "e.std(1)", "x[:, :1].var()"])
def test_var_std_backward_without_degrees_of_freedom(torch, expr):
    grads = []
    for lib in (torch, ag):
        x = lib.tensor([[0.5], [1.5]], dtype=lib.float64, requires_grad=True)
        e = lib.zeros((0, 2), dtype=lib.float64, requires_grad=True)
        with np.errstate(all="ignore"):
            y = eval(expr)
            (y * 2).sum().backward()
        src = e if expr.startswith("e") else x
        grads.append((val(y) if lib is ag else y.detach().numpy(), val(src.grad) if lib is ag else src.grad.numpy()))
    for a, b in zip(grads[1], grads[0]):
        np.testing.assert_array_equal(a, b)


# Bug: modifying the result of prod() in place before backward went unnoticed:
# PyTorch's ProdBackward saves its result and raises the version error; ours
# did not save it, so the same program ran on one library and failed on the
# other. (found by test_random_graphs)
@pytest.mark.parametrize("expr", ["x.prod()", "x.prod(0)", "x.prod(1, keepdim=True)"])
def test_prod_result_modified_in_place_raises(torch, expr):
    for lib in (torch, ag):
        x = lib.tensor([[0.5, 2.0], [3.0, -1.0]], dtype=lib.float64, requires_grad=True)
        y = eval(expr)
        y.add_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()
        assert x.grad is None


# Bug: a piece of split/chunk/unbind whose base (or the piece itself, under
# no_grad) was modified in place was silently given a regenerated history when
# used again; PyTorch refuses ("its base or another view of its base has been
# modified inplace ... output of a function that returns multiple views").
# (found by test_random_graphs)
@pytest.mark.parametrize("write", ["with lib.no_grad():\n    p.mul_(2)", "b.add_(1)", "with lib.no_grad():\n    b[0] = 3.0"])
def test_multi_output_view_used_after_its_base_changed(torch, write):
    for lib in (torch, ag):
        x = lib.ones(2, 2, requires_grad=True)
        b = x + x
        p = b.unbind(0)[0]
        q = b.chunk(2)[1] * 1            # used before the write: fine
        exec(write, {"lib": lib, "p": p, "b": b})
        with pytest.raises(RuntimeError, match="output of a function that returns multiple views"):
            p * 2
        q.sum().backward()
        assert x.grad.tolist() == [[0.0, 0.0], [2.0, 2.0]]


# Bug: advanced indexing with a leading slice (x[:, [0, 0]]) gave a result laid
# out transposed by NumPy, so a later .view() (of it, or of values computed from
# it elementwise) raised "view size is not compatible with input tensor's size
# and stride" where PyTorch's contiguous result views fine. (found by test_random_graphs)
@pytest.mark.parametrize("idx", ["[:, [0, 0]]", "[:, :, [0, 1]]", "[..., [1, 0]]", "[:, [0, 1], :]"])
def test_advanced_index_result_is_contiguous(torch, idx):
    shapes = []
    for lib in (torch, ag):
        x = lib.ones(2, 2, 2, dtype=lib.float64, requires_grad=True) * 1
        y = eval(f"x{idx}")
        assert y.is_contiguous()
        z = (y + y).view(-1)
        z.sum().backward()
        shapes.append(tuple(z.shape))
    assert shapes[0] == shapes[1]


# Bug: x * c, x / c, x @ W, dot, mv, bmm (c, W not requiring grad) always saved
# both operands, so modifying x in place afterwards made backward fail with a
# version error; PyTorch saves an operand only for the other operand's gradient
# (mul_tensor_backward), so the same program works there. (Outputs, as pow's,
# PyTorch saves always.) (found by test_random_graphs)
@pytest.mark.parametrize("expr", ["x * c", "c * x", "x / c", "c / x", "x @ m", "m @ x", "x.dot(c)", "m.mv(x)",
                                  "lib.bmm(x.reshape(1, 1, 2), m.reshape(1, 2, 2))", "(x + 1) ** c",
                                  "lib.matmul(x.reshape(1, 1, 2), m)"])
def test_operand_saved_only_when_needed(torch, expr):
    outcomes = []
    for lib in (torch, ag):
        w = lib.tensor([0.5, -1.5], dtype=lib.float64, requires_grad=True)
        c = lib.tensor([2.0, 4.0], dtype=lib.float64)
        m = lib.tensor([[1.0, 2.0], [3.0, -1.0]], dtype=lib.float64)
        x = w * 1
        y = eval(expr)
        z = y.clone() if "**" not in expr else y
        x.mul_(3)                               # x is not needed by y's backward (c, m need no grad)
        if "**" in expr:
            y.add_(1)                           # the result: needed only for the exponent's gradient
        try:
            (z * 2).sum().backward()
            outcomes.append(w.grad.tolist())
        except RuntimeError as e:
            outcomes.append(type(e).__name__)
    assert outcomes[1] == outcomes[0]
    # and when the other operand does need a gradient, the write is caught on both
    for lib in (torch, ag):
        w = lib.tensor([0.5, -1.5], dtype=lib.float64, requires_grad=True)
        c = lib.tensor([2.0, 4.0], dtype=lib.float64, requires_grad=True)
        m = lib.tensor([[1.0, 2.0], [3.0, -1.0]], dtype=lib.float64, requires_grad=True)
        x = w * 1
        y = eval(expr)
        x.mul_(3)
        if "**" in expr:
            y.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


# Bug: matmul with a 1-d operand (v @ M, v @ batch, batch @ v) returned a VIEW
# (squeeze) of its hidden temporary, so an in-place write through the result or
# a view of it rebased the hidden temporary: the result's retained grad missed
# the written part's gradient. PyTorch's matmul result is no view. (found by test_random_graphs)
@pytest.mark.parametrize("shapes", [((1,), (2, 1, 1)), ((2,), (2, 3)), ((2, 2, 3), (3,))])
def test_matmul_with_vector_returns_no_view(torch, shapes):
    results = []
    for lib in (torch, ag):
        a = lib.ones(*shapes[0], dtype=lib.float64, requires_grad=True)
        b = lib.full(shapes[1], 2.5, dtype=lib.float64, requires_grad=True)
        r = a @ b
        r.retain_grad()
        late = r + 2
        r.flatten()[0].add_(2)                        # a write through a view of the result
        w = lib.arange(r.numel(), dtype=lib.float64).reshape(r.shape) + 1
        ((r * w).sum() + (late * w * 100).sum() + r.flatten()[0] * 1000).backward()
        results.append((r._base is None if lib is ag else r._base is None, r.grad.tolist(), a.grad.tolist(), b.grad.tolist()))
    assert results[1] == results[0]


# Bug: cat dropped 1-d empty inputs from the graph (PyTorch's legacy rule skips
# them only in the shape checks), so such a leaf got no .grad (None, PyTorch: an
# empty tensor) and a retained one stayed None; their dtype also did not take
# part in type promotion. (found by test_random_graphs)
def test_cat_keeps_legacy_empty_inputs_in_the_graph(torch):
    results = []
    for lib in (torch, ag):
        a = lib.ones(2, 2, requires_grad=True)
        e = lib.zeros(0, dtype=lib.float64, requires_grad=True)
        f = e * 1
        f.retain_grad()
        r = lib.cat([a, f, e], 1)
        (r * 2).sum().backward()
        results.append((str(r.dtype).split(".")[-1], tuple(r.shape), tuple(e.grad.shape), tuple(f.grad.shape),
                        a.grad.tolist()))
    assert results[1] == results[0]


# Bug: after an in-place write through a view (v12 = v11[None]; v12.add_(2)), the
# base's CopySlices node reached the base's old history THROUGH the view's old
# nodes, so another view on that path (v11, which retains grad) received a
# gradient where PyTorch's CopySlices sends the view's part straight into the
# base (v11.grad is None in PyTorch). (found by test_random_graphs)
def test_copyslices_bypasses_the_written_views_old_nodes(torch):
    results = []
    for lib in (torch, ag):
        x = lib.tensor([0.5, -1.5], dtype=lib.float64, requires_grad=True)
        w = lib.tensor(3.0, dtype=lib.float64, requires_grad=True)
        base = x * lib.tensor([[1.0], [2.0]], dtype=lib.float64)
        v11 = base.reshape(4)
        v11.retain_grad()
        v12 = v11[None]
        v12.mul_(w)
        loss = (v12 * lib.tensor([[1.0, 2, 3, 4]], dtype=lib.float64)).sum() + (base * 10).sum()
        (gx,) = lib.autograd.grad(loss, x, create_graph=True, retain_graph=True)
        s = (gx * lib.tensor([1.0, -1.0], dtype=lib.float64)).sum()
        second = [None if h is None else h.tolist() for h in lib.autograd.grad(s, [x, w], allow_unused=True)]
        loss.backward()
        results.append((v11.grad, x.grad.tolist(), w.grad.tolist(), second))
        with pytest.raises(RuntimeError, match="retain_graph=True"):
            loss.backward()                  # the write's saved tensors were freed with CopySlices
    assert results[0][0] is None and results[1][0] is None
    assert results[1][1:] == results[0][1:]


# Bug: an in-place write through a view of a 0-d base (v = s.unsqueeze(0);
# v.add_(2)) lost the view's gradient: CopySlices wrote it into a NumPy scalar
# (0-d arithmetic gives scalars, not arrays). (found by test_random_graphs)
@pytest.mark.parametrize("view", ["s.unsqueeze(0)", "s.view(1, 1)", "s[None]", "s.reshape(1)", "s.flatten()"])
def test_inplace_through_view_of_zero_dim_base(torch, view):
    grads = []
    for lib in (torch, ag):
        x = lib.tensor([0.5], dtype=lib.float64, requires_grad=True)
        s = (x @ x) * 3
        v = eval(view)
        v.mul_(x[0])
        (s * 2 + v.sum()).backward()
        grads.append(x.grad.tolist())
    assert grads[1] == grads[0]


# Bug: an in-place op whose backward reads its output (exp_, sigmoid_, tanh_,
# sqrt_, ...) applied to a VIEW kept checking the version of a temporary, so a
# later write to the view or its base went unnoticed and backward used stale
# values silently; PyTorch raises the version error. (found by test_random_graphs)
@pytest.mark.parametrize("op", ["exp_", "sigmoid_", "tanh_", "relu_"])
@pytest.mark.parametrize("later", ["v.add_(v)", "b.mul_(2)", "b[0].zero_()"])
def test_inplace_op_saving_output_on_view_then_written_again(torch, op, later):
    for lib in (torch, ag):
        x = lib.tensor([[0.5, -1.5]], dtype=lib.float64, requires_grad=True)
        b = x * 1
        v = b.reshape(2)
        getattr(v, op)()
        exec(later, {"v": v, "b": b})
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            b.sum().backward()


# Bug: a 0-d integer tensor index (x[x.argmax()]) was an advanced index (a copy);
# PyTorch indexes with it as with an int, giving a VIEW: in-place writes through
# it reach x (and on a leaf requiring grad they raise). (found by test_random_graphs)
def test_zero_dim_integer_tensor_index_is_a_view(torch):
    results = []
    for lib in (torch, ag):
        x = lib.tensor([0.5, 2.5, -1.0], dtype=lib.float64, requires_grad=True)
        with pytest.raises(RuntimeError, match="view of a leaf Variable"):
            x[x.argmax()].add_(2)
        y = x * 1
        y[lib.tensor(1)].mul_(10)
        z = lib.zeros(2, 3)
        w = z[lib.tensor(1), lib.tensor([0, 2])]          # mixed with an advanced index: a copy
        y.sum().backward()
        results.append((y.tolist(), x.grad.tolist(), tuple(x[lib.tensor(0)].shape), tuple(w.shape),
                        tuple(x[lib.tensor(True)].shape)))
    assert results[1] == results[0]
