"""Optimizer hooks against torch.optim's: step pre/post hooks (per optimizer and global), state-dict and
load-state-dict pre/post hooks, prepend, handle removal, pickling. Each scenario runs once on torch and once
on us; what the hooks saw and the results must match."""
import copy
import importlib
import pickle

import numpy as np
import pytest

import autograd_gpu as ag
from autograd_gpu.optim import optimizer as ag_optimizer

OPTIMIZERS = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "NAdam", "RAdam", "Adadelta", "ASGD",
              "Rprop", "LBFGS"]


def _globals(L):
    return ag_optimizer if L is ag else importlib.import_module("torch.optim.optimizer")


def _np(t):
    return t.detach().cpu().numpy().copy()


def _both(torch, device, scenario):
    return scenario(ag, device), scenario(torch, "cpu")


def _problem(L, dev):
    """Two parameters and a closure computing a small loss (it zeroes the grads first)."""
    kw = {"device": dev} if L is ag else {}
    w = L.tensor([[0.5, -1.0], [1.5, 0.25]], requires_grad=True, **kw)
    b = L.tensor([0.1, -0.2], requires_grad=True, **kw)
    x = L.tensor([[1.0, 2.0], [-0.5, 3.0]], **kw)

    def closure():
        w.grad = b.grad = None
        loss = ((x @ w + b) ** 2).sum()
        loss.backward()
        return loss
    return [w, b], closure


def _describe(args, kwargs, opt):
    """What a step hook saw, comparable across libraries."""
    return ([a is opt if i == 0 else type(a).__name__ for i, a in enumerate(args)],
            sorted(kwargs), {k: type(v).__name__ for k, v in kwargs.items()})


# ---- step hooks -----------------------------------------------------------------------------------

def test_step_hooks_see_args_and_replace_them(torch, device):
    def scenario(L, dev):
        params, closure = _problem(L, dev)
        opt = L.optim.SGD(params, lr=0.1, momentum=0.9)
        seen, losses = [], []

        def pre(o, args, kwargs):
            seen.append(("pre",) + _describe(args, kwargs, opt))
            if "closure" not in kwargs:                    # pass our own closure, by keyword
                def logged():
                    losses.append(float(closure().detach()))
                    return losses[-1]
                return args[:1], {"closure": logged}
            return None
        opt.register_step_pre_hook(pre)
        opt.register_step_post_hook(lambda o, args, kwargs: seen.append(("post",) + _describe(args, kwargs, opt)))
        closure()
        out = [opt.step(), opt.step(None)]
        return seen, losses, out, [_np(p) for p in params]
    (seen, losses, out, ps), (t_seen, t_losses, t_out, t_ps) = _both(torch, device, scenario)
    assert seen == t_seen
    assert seen[0] == ("pre", [True], [], {}) and seen[1] == ("post", [True], ["closure"], {"closure": "function"})
    np.testing.assert_allclose(losses, t_losses, rtol=1e-5)
    np.testing.assert_allclose(out, t_out, rtol=1e-5)
    for a, b in zip(ps, t_ps):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_pre_hook_returning_something_else_is_refused(torch):
    for L in (ag, torch):
        params, closure = _problem(L, "cpu")
        opt = L.optim.SGD(params, lr=0.1)
        opt.register_step_pre_hook(lambda o, args, kwargs: "bad")
        closure()
        before = [_np(p) for p in params]
        with pytest.raises(RuntimeError, match=r"must return None or a tuple of \(new_args, new_kwargs\), but got "
                                               r"bad"):
            opt.step()
        for p, b in zip(params, before):
            np.testing.assert_array_equal(_np(p), b)


def test_global_and_own_hooks_order_and_removal(torch, device):
    def scenario(L, dev):
        g, calls = _globals(L), []
        params, closure = _problem(L, dev)
        opt = L.optim.Adam(params, lr=0.01)
        other = L.optim.SGD([L.zeros(1, requires_grad=True)], lr=0.1)
        own = [opt.register_step_pre_hook(lambda o, a, k: calls.append(("own pre", type(o).__name__))),
               opt.register_step_post_hook(lambda o, a, k: calls.append(("own post", type(o).__name__)))]
        handles = [g.register_optimizer_step_pre_hook(lambda o, a, k: calls.append(("global pre", type(o).__name__))),
                   g.register_optimizer_step_post_hook(lambda o, a, k: calls.append(("global post",
                                                                                     type(o).__name__)))]
        try:
            closure()
            opt.step()
            other.step()
        finally:
            for h in handles:
                h.remove()
        calls.append("removed global")
        opt.step()
        other.step()
        for h in own:
            h.remove()
        h.remove()                                       # (twice: nothing happens)
        calls.append("removed own")
        opt.step()
        return calls, [_np(p) for p in params]
    (calls, ps), (t_calls, t_ps) = _both(torch, device, scenario)
    assert calls == t_calls
    assert calls[:4] == [("global pre", "Adam"), ("own pre", "Adam"), ("own post", "Adam"), ("global post", "Adam")]
    for a, b in zip(ps, t_ps):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_the_call_flag_falls_back_when_hooks_are_removed():
    params, closure = _problem(ag, "cpu")
    opt = ag.optim.SGD(params, lr=0.1)
    assert not opt._step_hooked
    h = opt.register_step_post_hook(lambda *a: None)
    g = ag_optimizer.register_optimizer_step_pre_hook(lambda *a: None)
    assert opt._step_hooked and ag.optim.Optimizer._step_hooked
    h.remove()
    g.remove()
    closure()
    opt.step()                                   # (the hooked path notices nothing is left)
    assert not opt._step_hooked and not ag.optim.Optimizer._step_hooked


def _make(L, name, params):
    cls = getattr(L.optim, name)
    return cls(params, lr=0.5) if name == "LBFGS" else cls(params)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_runs_the_step_hooks(torch, name):
    def scenario(L, dev):
        params, closure = _problem(L, dev)
        opt, calls = _make(L, name, params), []
        opt.register_step_pre_hook(lambda o, a, k: calls.append(("pre", len(a), sorted(k))))
        opt.register_step_post_hook(lambda o, a, k: calls.append(("post", len(a), sorted(k))))
        handle = _globals(L).register_optimizer_step_post_hook(lambda o, a, k: calls.append(("global", len(a))))
        try:
            for _ in range(2):
                if name == "LBFGS":
                    opt.step(closure)
                else:
                    closure()
                    opt.step()
        finally:
            handle.remove()
        return calls, [_np(p) for p in params]
    (calls, ps), (t_calls, t_ps) = _both(torch, "cpu", scenario)
    assert calls == t_calls and len(calls) == 6
    for a, b in zip(ps, t_ps):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_hooks_run_once_when_a_subclass_step_calls_super():
    # (kept divergence: PyTorch may run them twice, once per patched class on the way)
    class Logged(ag.optim.SGD):
        def step(self, closure=None):
            self.logged = True
            return super().step(closure)
    params, closure = _problem(ag, "cpu")
    opt, calls = Logged(params, lr=0.1), []
    opt.register_step_pre_hook(lambda *a: calls.append("pre"))
    opt.register_step_post_hook(lambda *a: calls.append("post"))
    closure()
    opt.step()
    assert calls == ["pre", "post"] and opt.logged


def test_step_hooks_with_an_lr_scheduler(torch):
    def scenario(L, dev):
        params, closure = _problem(L, dev)
        opt, calls = L.optim.SGD(params, lr=0.1), []
        opt.register_step_pre_hook(lambda o, a, k: calls.append(o.param_groups[0]["lr"]))
        sched = L.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
        for _ in range(3):
            closure()
            opt.step()
            sched.step()
        return calls
    ours, theirs = _both(torch, "cpu", scenario)
    assert ours == pytest.approx(theirs) and len(ours) == 3


# ---- state-dict hooks --------------------------------------------------------------------------

def test_state_dict_hooks(torch, device):
    def scenario(L, dev):
        params, closure = _problem(L, dev)
        opt, calls = L.optim.SGD(params, lr=0.1, momentum=0.5), []
        closure()
        opt.step()
        opt.register_state_dict_pre_hook(lambda o: calls.append(("pre", type(o).__name__)))
        opt.register_state_dict_pre_hook(lambda o: calls.append(("pre first",)), prepend=True)

        def add_key(o, sd):
            calls.append(("post", sorted(sd)))
            sd["extra"] = 1

        def replace(o, sd):
            calls.append(("replace", sd.get("extra")))
            return {"replaced": True, **sd}
        opt.register_state_dict_post_hook(add_key)
        h = opt.register_state_dict_post_hook(replace)
        opt.register_state_dict_post_hook(lambda o, sd: calls.append(("post first", sorted(sd))), prepend=True)
        sd = opt.state_dict()
        h.remove()
        sd2 = opt.state_dict()
        return calls, sorted(sd), sorted(sd2), sd["param_groups"][0]["params"]
    ours, theirs = _both(torch, device, scenario)
    assert ours == theirs
    assert ours[1] == ["extra", "param_groups", "replaced", "state"]


def test_load_state_dict_hooks(torch, device):
    def scenario(L, dev):
        params, closure = _problem(L, dev)
        opt, calls = L.optim.SGD(params, lr=0.1, momentum=0.5), []
        closure()
        opt.step()
        saved = opt.state_dict()
        saved_groups = [dict(g) for g in saved["param_groups"]]
        given = []

        def pre(o, sd):
            given.append(sd)
            calls.append(("pre", sd is saved, o.param_groups[0]["lr"]))
            sd["param_groups"] = [dict(g, lr=0.25) for g in sd["param_groups"]]

        def replace(o, sd):
            calls.append(("replace", sd["param_groups"][0]["lr"]))
            return dict(sd, param_groups=[dict(g, momentum=0.75) for g in sd["param_groups"]])
        opt.register_load_state_dict_pre_hook(pre)
        opt.register_load_state_dict_pre_hook(replace)
        opt.register_load_state_dict_pre_hook(lambda o, sd: calls.append(("pre first",)), prepend=True)
        opt.register_load_state_dict_post_hook(lambda o: calls.append(("post", o.param_groups[0]["lr"],
                                                                       o.param_groups[0]["momentum"])))
        h = opt.register_load_state_dict_post_hook(lambda o: calls.append(("post first",)), prepend=True)
        opt.load_state_dict(saved)
        h.remove()
        opt.load_state_dict(saved)
        # the caller's dict is untouched (the hooks got a shallow copy)
        return calls, saved["param_groups"] == saved_groups, sorted(opt.state_dict()["state"])
    ours, theirs = _both(torch, device, scenario)
    assert ours == theirs
    assert ours[0][:4] == [("pre first",), ("pre", False, 0.1), ("replace", 0.25), ("post first",)]


def test_failed_load_runs_no_post_hook(torch):
    for L in (ag, torch):
        params, _ = _problem(L, "cpu")
        opt, calls = L.optim.SGD(params, lr=0.1), []
        opt.register_load_state_dict_post_hook(lambda o: calls.append("post"))
        bad = {"state": {}, "param_groups": []}
        with pytest.raises(ValueError):
            opt.load_state_dict(bad)
        assert calls == [] and opt.param_groups[0]["lr"] == 0.1


# ---- pickling ----------------------------------------------------------------------------------------

def test_copies_drop_hooks_as_pytorch(torch):
    def scenario(L, dev):
        params, closure = _problem(L, dev)
        opt, calls = L.optim.SGD(params, lr=0.1), []
        opt.register_step_pre_hook(lambda *a: calls.append("pre"))
        opt.register_state_dict_pre_hook(lambda *a: calls.append("sd"))
        copied = copy.deepcopy(opt)
        closure()
        copied.step()
        copied.state_dict()
        copied.register_step_post_hook(lambda *a: calls.append("copy post"))
        copied.step()
        return calls, [len(getattr(copied, s)) for s in ag_optimizer._HOOK_STORES]
    ours, theirs = _both(torch, "cpu", scenario)
    assert ours == theirs == (["copy post"], [0, 1, 0, 0, 0, 0])


def test_pickle_round_trip_with_a_scheduler_and_hooks():
    params, closure = _problem(ag, "cpu")
    opt = ag.optim.Adam(params, lr=0.1)
    ag.optim.lr_scheduler.StepLR(opt, step_size=1)          # (wraps opt.step on the instance)
    opt.register_step_pre_hook(lambda *a: None)
    closure()
    opt.step()
    restored = pickle.loads(pickle.dumps(opt))
    assert not restored._step_hooked and all(len(getattr(restored, s)) == 0 for s in ag_optimizer._HOOK_STORES)
    assert sorted(restored.state_dict()["state"]) == [0, 1]


def test_unpickling_an_optimizer_saved_without_registries():
    params, closure = _problem(ag, "cpu")
    opt = ag.optim.SGD(params, lr=0.1)
    state = {k: v for k, v in opt.__dict__.items() if k in ("defaults", "state", "param_groups")}
    old = ag.optim.SGD.__new__(ag.optim.SGD)
    old.__setstate__(state)
    calls = []
    old.register_step_post_hook(lambda *a: calls.append("post"))
    old.register_load_state_dict_post_hook(lambda *a: calls.append("load"))
    closure()
    old.step()
    old.load_state_dict(old.state_dict())
    assert calls == ["post", "load"]
