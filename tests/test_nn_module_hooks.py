"""Module hooks (forward pre/post, full backward pre/post, state-dict and load hooks, global hooks) against
torch.nn.Module's: each scenario runs once on torch and once on us, and what the hooks saw and did must match."""
import warnings

import numpy as np
import pytest

import autograd_gpu as ag
from autograd_gpu.nn import module_hooks


def _global(L):
    return ag.nn.module_hooks if L is ag else L.nn.modules.module


def _np(t):
    return None if t is None else t.detach().cpu().numpy()


def _linear(L, device):
    m = L.nn.Linear(3, 2)
    with L.no_grad():
        m.weight.copy_(L.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]]))
        m.bias.copy_(L.tensor([0.1, -0.2]))
    return m.to(device) if L is ag else m


def _x(L, device, rg=True):
    kw = {"device": device} if L is ag else {}
    return L.tensor([[1.0, 2.0, -1.0], [0.5, -0.5, 3.0]], requires_grad=rg, **kw)


def _both(torch, device, scenario):
    return scenario(ag, device), scenario(torch, "cpu")


def _assert_same(a, b):
    if isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), (a, b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    elif hasattr(a, "detach"):
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-6, atol=1e-7)
    else:
        assert a == b


# ---- forward hooks ------------------------------------------------------------------------

def test_forward_pre_and_post_hooks_change_inputs_and_outputs(torch, device):
    def scenario(L, dev):
        m, seen = _linear(L, dev), []
        m.register_forward_pre_hook(lambda mod, args: seen.append(("pre", _np(args[0]).sum())) or args[0] * 2)
        m.register_forward_pre_hook(lambda mod, args: seen.append(("first", len(args))), prepend=True)
        m.register_forward_pre_hook(lambda mod, args, kwargs: ((args[0] + 1,), kwargs), with_kwargs=True)
        m.register_forward_hook(lambda mod, args, out: out - 1)
        m.register_forward_hook(lambda mod, args, kwargs, out: seen.append(("post", kwargs, _np(out).round(4).tolist())),
                                with_kwargs=True)
        y = m(_x(L, dev))
        return seen, y
    (ours, y), (theirs, yt) = _both(torch, device, scenario)
    assert [s[0] for s in ours] == [s[0] for s in theirs] == ["first", "pre", "post"]
    assert ours[1][1] == pytest.approx(theirs[1][1]) and ours[2][2] == theirs[2][2]
    _assert_same(y, yt)


def test_removed_hooks_no_longer_run(torch, device):
    def scenario(L, dev):
        m, calls = _linear(L, dev), []
        h1 = m.register_forward_hook(lambda *a: calls.append("post"))
        with m.register_forward_pre_hook(lambda *a: calls.append("pre")):
            m(_x(L, dev))
        h1.remove()
        m(_x(L, dev))
        h1.remove()                                    # (twice: nothing happens)
        return calls
    ours, theirs = _both(torch, device, scenario)
    assert ours == theirs == ["pre", "post"]


def test_always_call_hook_runs_when_forward_raises(torch):
    def scenario(L, dev):
        calls = []

        class Failing(L.nn.Module):
            def forward(self, x):
                raise ValueError("boom")
        m = Failing()
        m.register_forward_hook(lambda mod, args, out: calls.append(("always", out)), always_call=True)
        m.register_forward_hook(lambda mod, args, out: calls.append("not"))
        with pytest.raises(ValueError, match="boom"):
            m(_x(L, dev))
        return calls
    ours, theirs = _both(torch, "cpu", scenario)
    assert ours == theirs == [("always", None)]


def test_bad_pre_hook_result_is_refused_as_pytorch(torch):
    for L in (ag, torch):
        m = L.nn.Linear(3, 2)
        m.register_forward_pre_hook(lambda mod, args, kwargs: "bad", with_kwargs=True)
        with pytest.raises(RuntimeError, match=r"forward pre-hook must return None or a tuple of \(new_args, "
                                               r"new_kwargs\), but got bad"):
            m(L.ones(1, 3))


def test_global_hooks_run_before_the_modules_own(torch, device):
    def scenario(L, dev):
        g, calls = _global(L), []
        m = L.nn.Sequential(_linear(L, dev), L.nn.ReLU())
        m[0].register_forward_hook(lambda mod, args, out: calls.append(("own", type(mod).__name__)))
        handles = [g.register_module_forward_pre_hook(lambda mod, args: calls.append(("gpre", type(mod).__name__))),
                   g.register_module_forward_hook(lambda mod, args, out: calls.append(("gpost", type(mod).__name__)))]
        try:
            m(_x(L, dev))
        finally:
            for h in handles:
                h.remove()
        m(_x(L, dev))
        return calls
    ours, theirs = _both(torch, device, scenario)
    assert ours == theirs


# ---- backward hooks -----------------------------------------------------------------------

def test_full_backward_hooks_see_and_replace_gradients(torch, device):
    def scenario(L, dev):
        m, seen = _linear(L, dev), []

        def pre(mod, grad_output):
            seen.append(("pre", grad_output))
            return (grad_output[0] * 3,)

        def post(mod, grad_input, grad_output):
            seen.append(("post", grad_input, grad_output))
            return (grad_input[0] + 1,)
        m.register_full_backward_pre_hook(pre)
        m.register_full_backward_hook(post)
        x = _x(L, dev)
        y = m(x)
        name = y.grad_fn.name()
        (y * L.tensor([1.0, -2.0], **({"device": dev} if L is ag else {}))).sum().backward()
        return seen, name, x.grad, m.weight.grad, m.bias.grad
    ours, theirs = _both(torch, device, scenario)
    assert ours[1] == theirs[1] == "BackwardHookFunctionBackward"
    assert [s[0] for s in ours[0]] == [s[0] for s in theirs[0]] == ["pre", "post"]
    _assert_same(ours[0][0][1], theirs[0][0][1])
    _assert_same(ours[0][1][1:], theirs[0][1][1:])
    _assert_same(ours[2:], theirs[2:])


def test_backward_hook_when_no_input_needs_grad(torch, device):
    def scenario(L, dev):
        m, seen = _linear(L, dev), []
        m.register_full_backward_hook(lambda mod, gi, go: seen.append((gi, go)))
        with pytest.warns(UserWarning, match="Full backward hook is firing when gradients are computed with "
                                             "respect to module outputs since no inputs require gradients"):
            m(_x(L, dev, rg=False)).sum().backward()
        return seen, m.weight.grad
    ours, theirs = _both(torch, device, scenario)
    assert len(ours[0]) == len(theirs[0]) == 1 and ours[0][0][0] == theirs[0][0][0] == (None,)
    _assert_same(ours[0][0][1], theirs[0][0][1])
    _assert_same(ours[1], theirs[1])


def test_backward_hook_with_a_wrong_count_is_refused(torch):
    for L in (ag, torch):
        m = L.nn.Linear(3, 2)
        m.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
        y = m(L.ones(1, 3, requires_grad=True))
        with pytest.raises(RuntimeError, match="Backward hook returned an invalid number of grad_input, got 2, "
                                               "but expected 1"):
            y.sum().backward()


def test_module_output_of_another_kind_warns(torch):
    for L in (ag, torch):
        class Dict(L.nn.Module):
            def forward(self, x):
                return {"y": x * 2}
        m = Dict()
        m.register_full_backward_hook(lambda *a: None)
        with pytest.warns(UserWarning, match="module output should be a Tensor or a tuple of Tensors"):
            m(L.ones(2, requires_grad=True))


def test_hooks_under_no_grad_do_not_wrap(torch, device):
    def scenario(L, dev):
        m = _linear(L, dev)
        m.register_full_backward_hook(lambda *a: None)
        with L.no_grad():
            y = m(_x(L, dev))
        return y.grad_fn, y.requires_grad
    assert _both(torch, device, scenario)[0] == (None, False)


# ---- state-dict hooks ---------------------------------------------------------------------

def test_state_dict_hooks_are_called_per_module_as_pytorchs(torch):
    def scenario(L, dev):
        calls = []
        m = L.nn.Sequential(L.nn.Linear(2, 2), L.nn.Sequential(L.nn.Linear(2, 1)))
        for name, sub in m.named_modules():
            sub.register_state_dict_pre_hook(lambda mod, prefix, keep_vars, n=name: calls.append(("pre", n, prefix)))

            def post(mod, sd, prefix, meta, n=name):
                calls.append(("post", n, prefix, list(sd)))
                sd.pop(prefix + "bias", None)
            sub.register_state_dict_post_hook(post)
        keys = list(m.state_dict())
        return calls, keys
    ours, theirs = _both(torch, "cpu", scenario)
    assert ours == theirs


def test_load_state_dict_hooks_rename_keys_and_forgive(torch):
    def scenario(L, dev):
        m, calls = L.nn.Linear(2, 1), []

        def rename(mod, sd, prefix, meta, strict, missing, unexpected, errors):
            calls.append(("pre", prefix, sorted(sd)))
            if prefix + "w_old" in sd:
                sd[prefix + "weight"] = sd.pop(prefix + "w_old")

        def forgive(mod, incompatible):
            calls.append(("post", list(incompatible.missing_keys), list(incompatible.unexpected_keys)))
            incompatible.unexpected_keys.clear()
        m.register_load_state_dict_pre_hook(rename)
        m.register_load_state_dict_post_hook(forgive)
        sd = {"w_old": L.tensor([[2.0, 3.0]]), "bias": L.tensor([0.5]), "extra": L.tensor([1.0])}
        result = m.load_state_dict(sd)
        return calls, _np(m.weight), list(result.missing_keys), list(result.unexpected_keys), sorted(sd)
    ours, theirs = _both(torch, "cpu", scenario)
    assert ours[0] == theirs[0]
    np.testing.assert_array_equal(ours[1], theirs[1])
    assert ours[2:] == theirs[2:]


def test_load_pre_hook_error_messages_fail_the_load(torch):
    for L in (ag, torch):
        m = L.nn.Linear(2, 1)
        m.register_load_state_dict_pre_hook(
            lambda mod, sd, prefix, meta, strict, missing, unexpected, errors: errors.append("nope"))
        with pytest.raises(RuntimeError, match="nope"):
            m.load_state_dict(m.state_dict())


def test_a_post_hook_returning_a_value_is_refused(torch):
    for L in (ag, torch):
        m = L.nn.Linear(2, 1)
        m.register_load_state_dict_post_hook(lambda mod, keys: keys)
        with pytest.raises(AssertionError, match="not expected to return new values"):
            m.load_state_dict(m.state_dict())
        m2 = L.nn.Linear(2, 1)
        m2.register_state_dict_post_hook(lambda mod, sd, prefix, meta: sd)
        with pytest.raises(RuntimeError, match="state_dict post-hook must return None"):
            m2.state_dict()


def test_hook_registries_exist_empty_and_cost_nothing_until_used():
    m = ag.nn.Linear(2, 1)
    assert "_forward_hooks" not in vars(m) and "_hooked" not in vars(m)
    assert len(m._forward_hooks) == 0 and len(m._backward_hooks) == 0          # (made on first use)
    h = m.register_forward_hook(lambda *a: None)
    assert m._hooked and list(m._forward_hooks) == [h.id]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m(ag.ones(1, 2))
    assert not ag.nn.Linear(2, 1)._hooked and not module_hooks._global_forward_hooks   # (global flag reset)
