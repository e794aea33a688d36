"""ag.nn.grad (the convolutions' input and weight gradients) against torch.nn.grad: values, their own
gradients (second order), and bad input."""
import numpy as np
import pytest

import autograd_gpu as ag

# (dims, input shape, weight shape, stride, padding, dilation, groups)
CASES = [
    (1, (2, 3, 9), (4, 3, 3), 1, 0, 1, 1),
    (1, (1, 4, 10), (6, 2, 2), 2, 1, 2, 2),
    (2, (2, 2, 7, 6), (3, 2, 3, 2), 1, 1, 1, 1),
    (2, (1, 4, 8, 9), (4, 1, 3, 3), (2, 1), (0, 2), (1, 2), 4),
    (2, (1, 2, 5, 5), (2, 2, 2, 2), 3, 0, 1, 1),        # stride leaves input rows unread: their gradient is 0
    (3, (1, 2, 4, 5, 4), (2, 2, 2, 3, 2), 1, (1, 0, 1), 1, 1),
    (3, (1, 2, 5, 4, 6), (4, 1, 2, 2, 3), 2, 0, (1, 1, 2), 2),
]


def _tensors(torch, device, case, seed):
    dims, xs, ws, stride, padding, dilation, groups = case
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    out = getattr(torch.nn.functional, f"conv{dims}d")(torch.tensor(x), torch.tensor(w), None, stride, padding,
                                                         dilation, groups)
    g = rng.standard_normal(tuple(out.shape))
    return x, w, g, (stride, padding, dilation, groups)


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}d-{i}" for i, c in enumerate(CASES)])
def test_values_and_second_order_as_pytorch(torch, device, case):
    dims = case[0]
    x, w, g, args = _tensors(torch, device, case, dims)
    for which in ("input", "weight"):
        name = f"conv{dims}d_{which}"
        tx, tw, tg = (torch.tensor(a, requires_grad=True) for a in (x, w, g))
        ax, aw, ag_ = (ag.tensor(a, device=device, requires_grad=True) for a in (x, w, g))
        if which == "input":
            theirs = getattr(torch.nn.grad, name)(tx.shape, tw, tg, *args)
            ours = getattr(ag.nn.grad, name)(ax.shape, aw, ag_, *args)
            t_wrt, a_wrt = (tw, tg), (aw, ag_)
        else:
            theirs = getattr(torch.nn.grad, name)(tx, tw.shape, tg, *args)
            ours = getattr(ag.nn.grad, name)(ax, aw.shape, ag_, *args)
            t_wrt, a_wrt = (tx, tg), (ax, ag_)
        np.testing.assert_allclose(ours.detach().cpu().numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
        r = np.random.default_rng(7).standard_normal(tuple(theirs.shape))
        t_grads = torch.autograd.grad((theirs * torch.tensor(r)).sum(), t_wrt)
        a_grads = ag.autograd.grad((ours * ag.tensor(r, device=device)).sum(), a_wrt)
        for a, t in zip(a_grads, t_grads):
            np.testing.assert_allclose(a.cpu().numpy(), t.numpy(), rtol=1e-10, atol=1e-12)


def test_float32_and_no_graph_without_grad(torch, device):
    x, w, g, args = _tensors(torch, device, CASES[2], 0)
    ours = ag.nn.grad.conv2d_weight(ag.tensor(x, dtype=ag.float32, device=device), w.shape,
                                    ag.tensor(g, dtype=ag.float32, device=device), *args)
    theirs = torch.nn.grad.conv2d_weight(torch.tensor(x, dtype=torch.float32), w.shape,
                                         torch.tensor(g, dtype=torch.float32), *args)
    assert ours.dtype is ag.float32 and not ours.requires_grad and ours.grad_fn is None
    np.testing.assert_allclose(ours.cpu().numpy(), theirs.numpy(), rtol=1e-4, atol=1e-5)


def test_bad_input_raises_naming_the_function(torch, device):
    x, w, g, args = _tensors(torch, device, CASES[2], 0)
    aw, ag_ = ag.tensor(w, device=device), ag.tensor(g, device=device)
    with pytest.raises(RuntimeError):
        torch.nn.grad.conv2d_input((2, 2, 7, 6), torch.tensor(w), torch.tensor(g)[:, :, :2], *args)
    with pytest.raises(RuntimeError, match="conv2d_input"):
        ag.nn.grad.conv2d_input((2, 2, 7, 6), aw, ag_[:, :, :2], *args)
    with pytest.raises(TypeError, match="conv2d_weight.*weight_size"):
        ag.nn.grad.conv2d_weight(ag.tensor(x, device=device), 3, ag_, *args)
    assert not aw.requires_grad and aw.grad is None
