"""The rest of nn.Module's API against torch.nn.Module's: get_buffer, set_submodule, extra state in state dicts,
to_empty, type, share_memory, the deprecated (non-full) backward hook, call_super_init and pickling. Each
scenario runs once on torch and once on us; what it returns must match."""
import copy
import pickle
import warnings

import numpy as np
import pytest

import autograd_gpu as ag


def _np(t):
    return None if t is None else t.detach().cpu().numpy().copy()     # (a snapshot: torch's grads accumulate in place)


def _both(torch, device, scenario):
    return scenario(ag, device), scenario(torch, "cpu")


def _assert_same(a, b, rtol=1e-6):
    if isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), (a, b)
        for x, y in zip(a, b):
            _assert_same(x, y, rtol)
    elif hasattr(a, "detach") or isinstance(a, np.ndarray):
        np.testing.assert_allclose(np.asarray(_np(a) if hasattr(a, "detach") else a),
                                   np.asarray(_np(b) if hasattr(b, "detach") else b), rtol=rtol, atol=1e-7)
    else:
        assert a == b, (a, b)


def _to(L, t):
    """A tensor of library L with t's values (from either library); other values as they are."""
    if not hasattr(t, "detach"):
        return t
    return L.tensor(_np(t))


def _convert(L, state_dict):
    return {k: _to(L, v) for k, v in state_dict.items()}


def _error(fn):
    try:
        fn()
    except Exception as e:          # (the exception itself is what the tests compare)
        return type(e).__name__, str(e)
    return None


# ---- get_buffer / set_submodule ----------------------------------------------------------------

def _net(L):
    return L.nn.Sequential(L.nn.Linear(2, 3), L.nn.Sequential(L.nn.BatchNorm1d(3), L.nn.ReLU()))


def test_get_buffer(torch, device):
    def scenario(L, dev):
        m = _net(L)
        m[1][0].register_buffer("absent", None)
        out = [_np(m.get_buffer("1.0.running_var")), m.get_buffer("1.0.absent"),
               m.get_buffer("1.0.num_batches_tracked").dtype == L.int64]
        for bad in ("1.0.weight", "1.0.nothing", "2.running_var", "0.bias", "1.1.x"):
            out.append(_error(lambda: m.get_buffer(bad))[0])
        return out
    ours, theirs = _both(torch, device, scenario)
    _assert_same(ours, theirs)
    m = _net(ag)
    assert "`weight` is not a buffer" in _error(lambda: m.get_buffer("1.0.weight"))[1]
    assert "has no attribute `nothing`" in _error(lambda: m.get_buffer("1.0.nothing"))[1]


def test_set_submodule(torch):
    def scenario(L, dev):
        m = _net(L)
        m.set_submodule("1.1", L.nn.Tanh())                        # replace
        m.set_submodule("1.extra", L.nn.Identity())                # add (not strict)
        m.set_submodule("0", L.nn.Linear(2, 3), strict=True)
        m.y = 3
        errors = [_error(lambda: m.set_submodule("1.new", L.nn.ReLU(), strict=True)),
                  _error(lambda: m.set_submodule("", L.nn.ReLU())),
                  _error(lambda: m.set_submodule("1.0", "not a module")),
                  _error(lambda: m.set_submodule("y", L.nn.ReLU())),
                  _error(lambda: m.set_submodule("5.a", L.nn.ReLU())),
                  _error(lambda: m.set_submodule("1.0.weight", L.nn.ReLU()))]
        names = [n for n, _ in m.named_modules()]
        kinds = [type(c).__name__ for c in m.modules()]
        return names, kinds, [e[0] for e in errors], m.y
    ours, theirs = _both(torch, "cpu", scenario)
    assert ours == theirs
    assert ours[2] == ["AttributeError", "ValueError", "ValueError", "AttributeError", "AttributeError",
                       "AttributeError"]


def test_failed_set_submodule_changes_nothing():
    m = _net(ag)
    before = [(n, id(c)) for n, c in m.named_modules()]
    for target, value, strict in (("1.new", ag.nn.ReLU(), True), ("1.0", 3, False), ("9.a", ag.nn.ReLU(), False)):
        with pytest.raises((AttributeError, ValueError)):
            m.set_submodule(target, value, strict=strict)
        assert [(n, id(c)) for n, c in m.named_modules()] == before


# ---- extra state ---------------------------------------------------------------------------------

def _extra_classes(L):
    class WithExtra(L.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("b", L.zeros(2))
            self.lin = L.nn.Linear(2, 2)
            self.note = {"count": 3}

        def get_extra_state(self):
            return dict(self.note)

        def set_extra_state(self, state):
            self.note = dict(state)

        def forward(self, x):
            return self.lin(x) + self.b

    class GetOnly(L.nn.Module):
        def get_extra_state(self):
            return "saved"

    class SetOnly(L.nn.Module):
        def __init__(self):
            super().__init__()
            self.got = None

        def set_extra_state(self, state):
            self.got = state
    return WithExtra, GetOnly, SetOnly


def _extra_net(L):
    WithExtra, GetOnly, SetOnly = _extra_classes(L)
    L.manual_seed(0)
    return L.nn.Sequential(WithExtra(), L.nn.ReLU(), GetOnly(), SetOnly())


def test_extra_state_keys_and_order(torch):
    def scenario(L, dev):
        m = _extra_net(L)
        sd = m.state_dict()
        return list(sd), sd["0._extra_state"], sd["2._extra_state"]
    ours, theirs = _both(torch, "cpu", scenario)
    assert ours == theirs
    assert ours[0] == ["0.b", "0._extra_state", "0.lin.weight", "0.lin.bias", "2._extra_state"]


@pytest.mark.parametrize("source", ["torch", "ag"])
def test_extra_state_loads_both_ways(torch, device, source):
    src_lib, dst_lib = (torch, ag) if source == "torch" else (ag, torch)
    src, dst = _extra_net(src_lib), _extra_net(dst_lib)
    if src_lib is ag:
        src.to(device)
    src[0].note = {"count": 7, "tag": "x"}
    sd = src.state_dict()
    sd["3._extra_state"] = [1, 2]                          # SetOnly's (it makes none)
    keys = dst.load_state_dict(_convert(dst_lib, {k: v for k, v in sd.items() if k != "2._extra_state"}),
                               strict=False)
    assert list(keys.missing_keys) == [] and list(keys.unexpected_keys) == []
    assert dst[0].note == {"count": 7, "tag": "x"} and dst[3].got == [1, 2]
    x = [[1.0, -2.0]]
    _assert_same(dst[0](dst_lib.tensor(x)), src[0](src_lib.tensor(x, **({"device": device} if src_lib is ag
                                                                          else {}))), rtol=1e-5)


def test_extra_state_missing_and_unexpected_keys(torch):
    def scenario(L, dev):
        m = _extra_net(L)
        sd = m.state_dict()
        del sd["0._extra_state"]                              # missing: WithExtra has set_extra_state
        sd["1._extra_state"] = 5                              # unexpected: ReLU has none
        sd["1.zzz"] = L.zeros(1)
        loose = m.load_state_dict(sd, strict=False)
        strict = _error(lambda: m.load_state_dict(sd))
        return list(loose.missing_keys), list(loose.unexpected_keys), strict[0]
    ours, theirs = _both(torch, "cpu", scenario)
    assert ours == theirs
    assert ours[:2] == (["0._extra_state", "3._extra_state"], ["1._extra_state", "1.zzz", "2._extra_state"])


def test_extra_state_unexpected_key_comes_first_in_its_module(torch):
    def scenario(L, dev):
        m = L.nn.Sequential(L.nn.Linear(1, 1))
        sd = {"0.weight": L.zeros(1, 1), "0.bias": L.zeros(1), "0.aaa": L.zeros(1), "0._extra_state": 1}
        return list(m.load_state_dict(sd, strict=False).unexpected_keys)
    ours, theirs = _both(torch, "cpu", scenario)
    assert ours == theirs == ["0._extra_state", "0.aaa"]


def test_failed_load_does_not_set_extra_state():
    # (kept divergence: PyTorch has already called set_extra_state of the modules before the bad one)
    m = _extra_net(ag)
    sd = m.state_dict()
    sd["0._extra_state"] = {"count": 99}
    sd["0.lin.weight"] = ag.zeros(3, 3)
    before = _np(m[0].lin.bias).copy()
    with pytest.raises(RuntimeError, match="size mismatch for 0.lin.weight"):
        m.load_state_dict(sd)
    assert m[0].note == {"count": 3}
    np.testing.assert_array_equal(_np(m[0].lin.bias), before)


def test_set_extra_state_that_raises_leaves_the_tensors():
    m = _extra_net(ag)
    sd = {k: (v + 1 if hasattr(v, "detach") else v) for k, v in m.state_dict().items() if k != "2._extra_state"}

    def refuse(state):
        raise ValueError("refused")
    m[0].set_extra_state = refuse
    type(m[3]).set_extra_state = lambda self, state: refuse(state)
    sd["3._extra_state"] = 0
    before = _np(m[0].lin.weight).copy()
    with pytest.raises(ValueError, match="refused"):
        m.load_state_dict(sd)
    np.testing.assert_array_equal(_np(m[0].lin.weight), before)


def test_base_extra_state_methods_raise(torch):
    for L in (ag, torch):
        m = L.nn.ReLU()
        with pytest.raises(RuntimeError, match="get_extra_state"):
            m.get_extra_state()
        with pytest.raises(RuntimeError, match="set_extra_state"):
            m.set_extra_state(1)


def test_extra_state_goes_through_state_dict_hooks(torch):
    def scenario(L, dev):
        m = _extra_net(L)
        seen = []
        m[0].register_state_dict_post_hook(lambda mod, sd, prefix, meta: seen.append(sorted(sd)))
        m.state_dict(keep_vars=True)
        return seen
    ours, theirs = _both(torch, "cpu", scenario)
    assert ours == theirs


# ---- to_empty / type / share_memory -----------------------------------------------------------------

def _described(m):
    return [(k, tuple(v.shape), str(v.dtype).split(".")[-1]) for k, v in m.state_dict().items()]


def test_to_empty(torch, device):
    def scenario(L, dev):
        m = _net(L)
        params = [id(p) for p in m.parameters()]
        out = m.to_empty(device=dev) is m
        return out, _described(m), params == [id(p) for p in m.parameters()], \
            {p.device.type for p in m.parameters()}, {b.device.type for b in m.buffers()}
    ours, theirs = _both(torch, device, scenario)
    assert ours[:3] == theirs[:3] and ours[1] == _described(_net(torch)) and ours[2]
    assert ours[3] == ours[4] == {ag.device(device).type}


def test_to_empty_without_recursion(torch, device):
    def scenario(L, dev):
        outer = L.nn.Module()
        outer.w = L.nn.Parameter(L.ones(2))
        outer.register_buffer("r", L.ones(2))
        outer.inner = L.nn.Linear(2, 2)
        outer.to_empty(device=dev, recurse=False)
        return outer.w.device.type, outer.r.device.type, outer.inner.weight.device.type
    ours, theirs = _both(torch, device, scenario)
    assert theirs == ("cpu", "cpu", "cpu")
    assert ours == (ag.device(device).type, ag.device(device).type, "cpu")


def test_to_empty_needs_a_keyword_device(torch):
    for L in (ag, torch):
        with pytest.raises(TypeError):
            L.nn.Linear(1, 1).to_empty("cpu")
        with pytest.raises(TypeError):
            L.nn.Linear(1, 1).to_empty()


def test_type_casts_every_tensor(torch, device):
    def scenario(L, dev):
        m = _net(L)
        if L is ag:
            m.to(dev)
        p = m[0].weight
        out = [m.type(L.float64) is m, _described(m), m[0].weight is p]
        m.type(L.float32)
        out.append(_described(m))
        return out
    ours, theirs = _both(torch, device, scenario)
    assert ours == theirs
    assert ("1.0.num_batches_tracked", (), "float64") in ours[1]     # integer buffers too, as PyTorch


def test_type_with_a_type_string_casts_as_pytorch(torch):
    # (Tensor.type took no "torch.DoubleTensor" strings here until the regression fix; PyTorch's does)
    for L in (ag, torch):
        m = _net(L)
        assert m.type("torch.DoubleTensor") is m
        assert {str(p.dtype).split(".")[-1] for p in m.parameters()} == {"float64"}
        with pytest.raises(ValueError, match="invalid type"):
            m.type("torch.Foo")


def test_share_memory_returns_self_and_keeps_values(torch, device):
    def scenario(L, dev):
        L.manual_seed(0)
        m = L.nn.Linear(2, 2)
        if L is ag:
            m.to(dev)
        w = _np(m.weight).copy()
        return m.share_memory() is m, bool(np.array_equal(w, _np(m.weight)))
    ours, theirs = _both(torch, device, scenario)
    assert ours == theirs == (True, True)


def test_share_memory_refuses_uninitialized_lazy_parameters(torch):
    for L in (ag, torch):
        with pytest.raises(RuntimeError, match="uninitialized"):
            L.nn.LazyLinear(2).share_memory()


# ---- the deprecated (non-full) backward hook ----------------------------------------------------------

def _scale_module(L):
    class Scale(L.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = L.nn.Parameter(L.tensor([2.0, -3.0]))

        def forward(self, x):
            return x * self.w
    return Scale()


def _record(seen, tag, replace=None):
    def hook(mod, grad_input, grad_output):
        seen.append((tag, type(mod).__name__, [_np(g) for g in grad_input], [_np(g) for g in grad_output]))
        return replace(grad_input) if replace else None
    return hook


def _warnings_of(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn()
    return out, [(w.category.__name__, str(w.message)) for w in caught]


def test_backward_hook_single_op_module(torch, device):
    def scenario(L, dev):
        kw = {"device": dev} if L is ag else {}
        m, seen = _scale_module(L), []
        if L is ag:
            m.to(dev)
        m.register_backward_hook(_record(seen, "a"))
        h = m.register_backward_hook(_record(seen, "b", lambda gi: (gi[0] * 10, gi[1])))
        leaf = L.tensor([1.0, 4.0], requires_grad=True, **kw)
        x = leaf * 1.0
        y, caught = _warnings_of(lambda: m(x))
        y.sum().backward()
        grads = [_np(leaf.grad), _np(m.w.grad)]
        h.remove()
        leaf.grad = None
        _warnings_of(lambda: m(leaf * 1.0))[0].sum().backward()
        return seen, grads, _np(leaf.grad), caught
    (seen, grads, g2, caught), (t_seen, t_grads, t_g2, t_caught) = _both(torch, device, scenario)
    assert [s[:2] for s in seen] == [s[:2] for s in t_seen] == [("a", "Scale"), ("b", "Scale"), ("a", "Scale")]
    for a, b in zip(seen, t_seen):
        _assert_same(a[2:], b[2:])
    _assert_same([grads, g2], [t_grads, t_g2])
    # (the parameter's AccumulateGrad is not an input's grad_fn: PyTorch warns here too)
    assert caught == t_caught and len(caught) == 1 and "multiple autograd Nodes" in caught[0][1]


def test_backward_hook_single_op_without_a_parameter(torch, device):
    def scenario(L, dev):
        kw = {"device": dev} if L is ag else {}
        m, seen = L.nn.Sigmoid(), []
        m.register_backward_hook(_record(seen, "s", lambda gi: (gi[0] * 2,)))
        leaf = L.tensor([0.5, -1.0, 2.0], requires_grad=True, **kw)
        y, caught = _warnings_of(lambda: m(leaf * 3.0))
        (y * L.tensor([1.0, 2.0, 3.0], **kw)).sum().backward()
        return seen, _np(leaf.grad), caught
    ours, theirs = _both(torch, device, scenario)
    _assert_same(ours[0][0][2:], theirs[0][0][2:])
    _assert_same(ours[1], theirs[1])
    assert ours[2] == theirs[2] == []


def _linear_scenario(bias):
    def scenario(L, dev):
        kw = {"device": dev} if L is ag else {}
        m, seen = L.nn.Linear(3, 2, bias=bias), []
        with L.no_grad():
            m.weight.copy_(L.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]]))
            if bias:
                m.bias.copy_(L.tensor([0.1, -0.2]))
        if L is ag:
            m.to(dev)
        m.register_backward_hook(_record(seen, "lin"))
        x = L.tensor([[1.0, 2.0, -1.0], [0.5, -0.5, 3.0]], requires_grad=True, **kw)
        y, caught = _warnings_of(lambda: m(x))
        y.pow(2).sum().backward()
        return seen, caught
    return scenario


def test_backward_hook_on_a_linear_without_bias(torch, device):
    (seen, caught), (t_seen, t_caught) = _both(torch, device, _linear_scenario(False))
    # MmBackward0's grad_input: (input, weight.T) gradients, as PyTorch's
    _assert_same([s[2:] for s in seen], [s[2:] for s in t_seen])
    assert caught == t_caught and [c[0] for c in caught] == ["FutureWarning"]
    assert "multiple autograd Nodes" in caught[0][1]


def test_backward_hook_on_a_linear_with_bias(torch):
    # (a node's post-hooks got its input gradients before the broadcast reduction: the bias gradient was
    # seen with shape [2, 2], not [2]; fixed in the engine)
    (seen, _), (t_seen, _) = _both(torch, "cpu", _linear_scenario(True))
    _assert_same([s[2:] for s in seen], [s[2:] for s in t_seen])


def test_backward_hook_warnings_as_pytorch(torch):
    def scenario(L, dev):
        class TwoOps(L.nn.Module):
            def forward(self, x):
                return (x * 2).exp()

        class TwoOutputs(L.nn.Module):
            def forward(self, x):
                return x * 2, x + 1

        class NotATensor(L.nn.Module):
            def forward(self, x):
                return [x * 2]

        class ListInput(L.nn.Module):
            def forward(self, xs):
                return xs[0] * 2
        out = []
        for module, arg in ((TwoOps(), None), (TwoOutputs(), None), (NotATensor(), None), (ListInput(), "list")):
            module.register_backward_hook(lambda *a: None)
            x = L.tensor([1.0, 2.0], requires_grad=True) * 1.0
            _, caught = _warnings_of(lambda: module([x] if arg else x))
            out.append(caught)
        return out
    ours, theirs = _both(torch, "cpu", scenario)
    assert ours == theirs
    assert all(len(c) == 1 and c[0][0] == "FutureWarning" for c in ours)


def test_backward_hook_nested_output(torch):
    def scenario(L, dev):
        class Nested(L.nn.Module):
            def forward(self, x):
                return {"a": x.sigmoid(), "b": x * 3}
        m, seen = Nested(), []
        m.register_backward_hook(_record(seen, "n"))
        x = L.tensor([0.5, -1.0], requires_grad=True) * 1.0
        out, caught = _warnings_of(lambda: m(x))
        (out["a"].sum() + out["b"].sum()).backward()
        seen.append(caught)
        return seen
    ours, theirs = _both(torch, "cpu", scenario)
    assert len(ours) == len(theirs) == 2
    _assert_same(ours[0][2:], theirs[0][2:])
    assert ours[1] == theirs[1] and "does not return a single Tensor" in ours[1][0][1]


def test_backward_hook_and_full_backward_hook_do_not_mix(torch):
    for L in (ag, torch):
        m = L.nn.ReLU()
        m.register_backward_hook(lambda *a: None)
        with pytest.raises(RuntimeError, match="Cannot use both regular backward hooks and full backward hooks"):
            m.register_full_backward_hook(lambda *a: None)
        m = L.nn.ReLU()
        m.register_full_backward_hook(lambda *a: None)
        with pytest.raises(RuntimeError, match="Cannot use both regular backward hooks and full backward hooks"):
            m.register_backward_hook(lambda *a: None)


def test_backward_hook_without_grad_does_nothing(torch):
    def scenario(L, dev):
        m, seen = _scale_module(L), []
        m.register_backward_hook(_record(seen, "x"))
        with L.no_grad():
            y = m(L.tensor([1.0, 2.0]))
        return seen, y.requires_grad
    ours, theirs = _both(torch, "cpu", scenario)
    assert ours == theirs == ([], False)


# ---- call_super_init -------------------------------------------------------------------------------

def test_call_super_init(torch):
    def scenario(L, dev):
        class Mixin:
            def __init__(self, *args, **kwargs):
                self.mixin_got = (args, kwargs)

        class Cooperative(L.nn.Module, Mixin):
            call_super_init = True

            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)

        class Plain(L.nn.Module, Mixin):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
        c = Cooperative(1, a=2)
        plain = Plain()
        return (L.nn.Module.call_super_init, c.mixin_got, c.training, hasattr(plain, "mixin_got"),
                _error(lambda: Plain(1)), _error(lambda: Plain(a=1)))
    ours, theirs = _both(torch, "cpu", scenario)
    assert ours == theirs
    assert ours[4] == ("TypeError", "Plain.__init__() takes 1 positional argument but 2 were given")


# ---- pickling -----------------------------------------------------------------------------------

def _double_output(mod, args, out):
    return out * 2


def test_pickle_keeps_hooks_and_state(torch):
    def scenario(L, dev):
        L.manual_seed(0)
        m = L.nn.Sequential(L.nn.Linear(2, 2), L.nn.BatchNorm1d(2))
        m[0].register_forward_hook(_double_output)
        m.eval()
        x = L.tensor([[1.0, 2.0], [3.0, -1.0]])
        restored = pickle.loads(pickle.dumps(m))
        copied = copy.deepcopy(m)
        return _np(m(x)), _np(restored(x)), _np(copied(x)), restored.training, list(restored.state_dict())
    ours, theirs = _both(torch, "cpu", scenario)
    _assert_same(ours[0], ours[1])
    _assert_same(ours[0], ours[2])
    assert ours[3:] == theirs[3:]


def test_unpickling_a_module_saved_without_registries():
    m = ag.nn.Linear(2, 2)
    state = {k: v for k, v in m.__getstate__().items() if k in ("_parameters", "_modules")}
    old = ag.nn.Linear.__new__(ag.nn.Linear)
    old.__setstate__({**state, "in_features": 2, "out_features": 2})
    x = ag.ones(1, 2)
    _assert_same(old(x), m(x))
    assert list(old.state_dict()) == ["weight", "bias"] and old.training
    calls = []
    old.register_forward_hook(lambda *a: calls.append(1))
    old.register_buffer("extra", ag.zeros(1), persistent=False)
    old(x)
    assert calls == [1] and list(old.state_dict()) == ["weight", "bias"]


def test_unpickling_sets_the_call_flag_of_a_module_with_hooks():
    m = ag.nn.Linear(2, 2)
    m.register_forward_hook(_double_output)
    state = m.__getstate__()
    del state["_hooked"]                        # (pickled by a version without the flag)
    old = ag.nn.Linear.__new__(ag.nn.Linear)
    old.__setstate__(state)
    x = ag.ones(1, 2)
    _assert_same(old(x), m(x))
    _assert_same(old(x), m.forward(x) * 2)
