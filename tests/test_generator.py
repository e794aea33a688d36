"""ag.Generator, ag.default_generator, ag.cuda.default_generators, ag.random
(fork_rng) and the generator= arguments of the random functions, samplers and
nn.init. The draws cannot match PyTorch's, so each generator= path is checked
against our own default generator seeded the same way, for independence from
the global state and from other generators, and for state round trips; the
Generator API, errors and the data-loading semantics against PyTorch 2.13."""
import copy
import pickle
import warnings

import numpy as np
import pytest

import autograd_gpu as ag
import autograd_gpu.nn as nn
import autograd_gpu.utils.data as D


def host(t):
    return np.asarray(t.detach().cpu().numpy(), dtype=np.float64)


def _cuda_or_skip():
    if not ag.cuda.is_available():
        pytest.skip("needs a CUDA device (real or emulated): the `device` fixture's cuda case has one")


# ---- every function with a generator= argument --------------------------------------------
# name -> f(device, generator): one call drawing from `generator` (None: the default generator)

def _fill(method, *args, dtype=ag.float32):
    return lambda d, g: getattr(ag.zeros(2, 3, dtype=dtype, device=d), method)(*args, generator=g)


def _init(name, *args, shape=(3, 4)):
    return lambda d, g: getattr(nn.init, name)(ag.empty(*shape, device=d), *args, generator=g)


DRAWS = {
    "rand": lambda d, g: ag.rand(2, 3, device=d, generator=g),
    "randn": lambda d, g: ag.randn(2, 3, dtype=ag.float64, device=d, generator=g),
    "randn float16": lambda d, g: ag.randn(5, dtype=ag.float16, device=d, generator=g),
    "randint": lambda d, g: ag.randint(-5, 5, (2, 3), device=d, generator=g),
    "randperm": lambda d, g: ag.randperm(7, device=d, generator=g),
    "rand_like": lambda d, g: ag.rand_like(ag.zeros(3, device=d), generator=g),
    "randn_like": lambda d, g: ag.randn_like(ag.zeros(3, device=d), generator=g),
    "randint_like": lambda d, g: ag.randint_like(ag.zeros(3, device=d), 3, 9, generator=g),
    "normal numbers": lambda d, g: ag.normal(1.0, 2.0, (4,), device=d, generator=g),
    "normal tensors": lambda d, g: ag.normal(ag.zeros(4, device=d), ag.ones(4, device=d), generator=g),
    "bernoulli": lambda d, g: ag.bernoulli(ag.full((6,), 0.5, device=d), generator=g),
    "bernoulli p": lambda d, g: ag.bernoulli(ag.zeros(6, device=d), 0.3, generator=g),
    "bernoulli_": _fill("bernoulli_", 0.4),
    "multinomial": lambda d, g: ag.multinomial(ag.ones(2, 5, device=d), 3, generator=g),
    "multinomial replacement": lambda d, g: ag.multinomial(ag.ones(5, device=d), 8, True, generator=g),
    "poisson": lambda d, g: ag.poisson(ag.tensor([0.5, 3.0, 20.0, 50.0], device=d), g),
    "random_": _fill("random_", 0, 100, dtype=ag.int64),
    "exponential_": _fill("exponential_", 2.0),
    "geometric_": _fill("geometric_", 0.3),
    "cauchy_": _fill("cauchy_"),
    "log_normal_": _fill("log_normal_"),
    "rrelu": lambda d, g: ag.rrelu(-ag.ones(6, device=d), training=True, generator=g),
    "rrelu_": lambda d, g: ag.rrelu_(-ag.ones(6, device=d), training=True, generator=g),
    "init.uniform_": _init("uniform_", -1.0, 1.0),
    "init.normal_": _init("normal_", 0.0, 2.0),
    "init.trunc_normal_": _init("trunc_normal_"),
    "init.xavier_uniform_": _init("xavier_uniform_"),
    "init.xavier_normal_": _init("xavier_normal_"),
    "init.kaiming_uniform_": _init("kaiming_uniform_"),
    "init.kaiming_normal_": _init("kaiming_normal_"),
    "init.orthogonal_": _init("orthogonal_"),
}
# nn.init.sparse_ draws its zeros' positions from the default generator (as PyTorch's): tested apart
# Tensor.normal_ / uniform_ (ops/inplace.py) take generator= once the edit in H42's report is applied
INPLACE_PENDING = {"normal_": _fill("normal_", 1.0, 2.0), "uniform_": _fill("uniform_", -1.0, 1.0)}


@pytest.mark.parametrize("name", list(DRAWS))
def test_generator_draws_as_the_default_generator_seeded_alike(device, name):
    draw = DRAWS[name]
    ag.manual_seed(321)
    want = host(draw(device, None))
    g = ag.Generator(device).manual_seed(321)
    np.testing.assert_array_equal(host(draw(device, g)), want)
    # and a second generator seeded alike gives the same draws: none depends on another's state
    np.testing.assert_array_equal(host(draw(device, ag.Generator(device).manual_seed(321))), want)


@pytest.mark.parametrize("name", list(DRAWS))
def test_generator_draws_leave_the_default_generator_alone(device, name):
    draw = DRAWS[name]
    ag.manual_seed(5)
    want = host(ag.rand(8, device=device))
    ag.manual_seed(5)
    g, h = ag.Generator(device).manual_seed(9), ag.Generator(device).manual_seed(9)
    first = host(draw(device, g))
    np.testing.assert_array_equal(host(ag.rand(8, device=device)), want)
    # g moved on (its next draw differs from its first); h, seeded alike, did not
    np.testing.assert_array_equal(host(draw(device, h)), first)
    assert g.get_state().tolist() == h.get_state().tolist()


@pytest.mark.parametrize("name", list(INPLACE_PENDING))
def test_tensor_normal_uniform_take_a_generator(device, name):
    draw = INPLACE_PENDING[name]
    ag.manual_seed(11)
    want = host(draw(device, None))
    ag.manual_seed(12)
    np.testing.assert_array_equal(host(draw(device, ag.Generator(device).manual_seed(11))), want)
    after = host(ag.rand(3, device=device))
    ag.manual_seed(12)
    np.testing.assert_array_equal(host(ag.rand(3, device=device)), after)      # the default was not drawn from


def test_init_sparse_takes_values_from_the_generator_positions_from_the_default(device):
    w = [ag.empty(6, 3, device=device) for _ in range(2)]
    for t in w:
        ag.manual_seed(4)
        nn.init.sparse_(t, 0.5, generator=ag.Generator(device).manual_seed(8))
    np.testing.assert_array_equal(host(w[0]), host(w[1]))
    assert ((host(w[0]) == 0).sum(0) == 3).all()
    ag.manual_seed(4)
    values = host(nn.init.normal_(ag.empty(6, 3, device=device), 0, 0.01, ag.Generator(device).manual_seed(8)))
    kept = host(w[0]) != 0
    np.testing.assert_array_equal(host(w[0])[kept], values[kept])


def test_generators_are_independent_streams(device):
    g, h = ag.Generator(device).manual_seed(1), ag.Generator(device).manual_seed(1)
    a = [host(ag.rand(5, device=device, generator=g)) for _ in range(2)]
    assert not np.array_equal(a[0], a[1])                    # g advances
    np.testing.assert_array_equal(host(ag.rand(5, device=device, generator=h)), a[0])   # h did not
    ag.manual_seed(1)                                         # nor does seeding the default move g or h
    ag.rand(5, device=device)
    np.testing.assert_array_equal(host(ag.rand(5, device=device, generator=h)), a[1])


# ---- the Generator object ---------------------------------------------------------------------

def test_generator_seed_api_as_torch(torch):
    for L in (torch, ag):
        g = L.Generator()
        assert str(g.device) == "cpu"
        assert g.initial_seed() == 67280421310721                       # libtorch's default seed
        assert g.manual_seed(3) is g and g.initial_seed() == 3
        assert g.manual_seed(-1).initial_seed() == 2 ** 64 - 1           # negative seeds wrap
        assert g.manual_seed(-2 ** 63).initial_seed() == 2 ** 63
        s = g.seed()
        assert g.initial_seed() == s
        for bad, kind in ((1.5, RuntimeError), ("3", RuntimeError), (True, RuntimeError), (2 ** 64, ValueError),
                          (-2 ** 63 - 1, ValueError)):
            with pytest.raises(kind):
                g.manual_seed(bad)
        assert g.initial_seed() == s                                     # a refused seed changes nothing
        for bad in (2 ** 64, -2 ** 63 - 1):
            with pytest.raises(ValueError):
                L.manual_seed(bad)
        assert L.manual_seed(1.7) is L.default_generator and L.initial_seed() == 1     # int() taken, as torch
    g = ag.Generator()
    with pytest.raises(RuntimeError, match="manual_seed expected a long, but got float"):
        g.manual_seed(1.5)
    with pytest.raises(ValueError, match="manual_seed"):
        g.manual_seed(2 ** 64)


def test_generator_state_round_trips(device):
    g = ag.Generator(device).manual_seed(42)
    ag.rand(3, device=device, generator=g)
    state = g.get_state()
    assert state.dtype == ag.uint8 and state.device.type == "cpu" and state.dim() == 1
    a = host(ag.rand(4, device=device, generator=g))
    g.manual_seed(0)
    assert g.set_state(state) is g
    np.testing.assert_array_equal(host(ag.rand(4, device=device, generator=g)), a)
    assert g.initial_seed() == 42                              # the seed travels with the state
    h = ag.Generator(device).set_state(state.clone())          # into another generator: the same stream
    np.testing.assert_array_equal(host(ag.rand(4, device=device, generator=h)), a)
    # clone_state: a new generator in the same state, independent afterwards
    g.set_state(state)
    c = g.clone_state()
    assert c is not g and c.device == g.device and c.initial_seed() == 42
    np.testing.assert_array_equal(host(ag.rand(4, device=device, generator=c)), a)
    np.testing.assert_array_equal(host(ag.rand(4, device=device, generator=g)), a)
    # pickle / deepcopy: a generator in the same state (as torch's)
    g.set_state(state)
    for twin in (pickle.loads(pickle.dumps(g)), copy.deepcopy(g)):
        assert twin is not g and twin.device == g.device
        np.testing.assert_array_equal(host(ag.rand(4, device=device, generator=twin)), a)


def test_set_state_errors_as_torch_and_change_nothing(torch, device):
    g = ag.Generator(device).manual_seed(6)
    before = g.get_state().tolist()
    for bad, kind in ((ag.zeros(3), TypeError), ([1, 2], TypeError), (ag.zeros(3, dtype=ag.uint8), RuntimeError)):
        with pytest.raises(kind, match="set_state"):
            g.set_state(bad)
    if device == "cuda":                                       # a cpu state into a cuda generator
        with pytest.raises(RuntimeError, match="not a cuda RNG state"):
            g.set_state(ag.Generator().get_state())
    assert g.get_state().tolist() == before
    t = torch.Generator()
    for bad, kind in ((torch.zeros(3), TypeError), ([1, 2], TypeError),
                      (torch.zeros(3, dtype=torch.uint8), RuntimeError)):
        with pytest.raises(kind):
            t.set_state(bad)


def test_a_state_saved_before_the_seed_was_kept_still_loads():
    # ag.get_rng_state's CPU bytes used to hold PCG64's state alone (no seed): such a tensor still loads
    import json
    ag.manual_seed(13)
    legacy = {"device": "cpu", "state": ag.default_generator._engine.rng.bit_generator.state}
    want = host(ag.rand(3))
    ag.manual_seed(0)
    ag.set_rng_state(ag.tensor(list(json.dumps(legacy, sort_keys=True).encode()), dtype=ag.uint8))
    np.testing.assert_array_equal(host(ag.rand(3)), want)


def test_offset_cpu_refuses_cuda_counts_draws(torch, device):
    if device == "cpu":
        for L in (torch, ag):
            with pytest.raises(RuntimeError, match="CPU Generator does not use offset"):
                L.Generator().get_offset()
            with pytest.raises(RuntimeError, match="CPU Generator does not use offset"):
                L.Generator().set_offset(0)
        return
    g = ag.Generator(device).manual_seed(2)
    assert g.get_offset() == 0
    first = host(ag.rand(3, device=device, generator=g))
    second = host(ag.rand(3, device=device, generator=g))
    assert g.get_offset() == 2
    assert g.set_offset(1) is g
    np.testing.assert_array_equal(host(ag.rand(3, device=device, generator=g)), second)
    g.set_offset(0)
    np.testing.assert_array_equal(host(ag.rand(3, device=device, generator=g)), first)
    with pytest.raises(RuntimeError, match="set_offset"):
        g.set_offset(-1)


def test_generator_devices(torch, device):
    if device == "cuda":
        _cuda_or_skip()
        g = ag.Generator("cuda")
        assert g.device == ag.device("cuda:0") and ag.Generator(ag.device("cuda", 0)).device == g.device
        n = ag.cuda.device_count()
        with pytest.raises(RuntimeError, match=f"cuda:{n} is out of range"):
            ag.Generator(f"cuda:{n}")
    else:
        assert ag.Generator(ag.device("cpu")).device == ag.device("cpu") == ag.Generator(None).device
        if not ag.cuda.is_available():            # as CPU-only PyTorch: no CUDA generator without CUDA
            for L in (torch, ag):
                with pytest.raises(RuntimeError):
                    L.Generator("cuda")
    for L in (torch, ag):
        with pytest.raises(RuntimeError, match="META device type not an accelerator"):
            L.Generator("meta")


# ---- the default generators -------------------------------------------------------------------

def test_default_generator_is_the_global_state(torch):
    assert isinstance(ag.default_generator, ag.Generator) and ag.random.default_generator is ag.default_generator
    assert isinstance(torch.default_generator, torch.Generator)
    assert ag.manual_seed(10) is ag.default_generator and ag.default_generator.initial_seed() == 10 == ag.initial_seed()
    a = host(ag.randn(4))
    ag.default_generator.manual_seed(10)
    np.testing.assert_array_equal(host(ag.randn(4)), a)              # the same stream as ag.manual_seed's
    ag.default_generator.manual_seed(10)
    np.testing.assert_array_equal(host(ag.randn(4, generator=ag.default_generator)), a)
    assert ag.default_generator.get_state().tolist() == ag.get_rng_state().tolist()
    ag.set_rng_state(ag.Generator().manual_seed(10).get_state())
    np.testing.assert_array_equal(host(ag.randn(4)), a)
    assert ag.seed() == ag.default_generator.initial_seed()
    # manual_seed(0) still gives the numbers it always gave (NumPy's PCG64 from the seed)
    ag.manual_seed(0)
    np.testing.assert_array_equal(host(ag.rand(3, dtype=ag.float64)), np.random.Generator(np.random.PCG64(0)).random(3))


def test_cuda_default_generators(torch, device):
    if device == "cpu":
        if not ag.cuda.is_available():
            assert ag.cuda.default_generators == () == torch.cuda.default_generators
        return
    _cuda_or_skip()
    gens = ag.cuda.default_generators
    assert isinstance(gens, tuple) and len(gens) == ag.cuda.device_count()
    assert gens[0] is ag.cuda.default_generators[0] and gens[0].device == ag.device("cuda:0")
    ag.manual_seed(17)                                        # ag.manual_seed seeds it
    assert gens[0].initial_seed() == 17
    a = host(ag.rand(3, device="cuda"))
    gens[0].manual_seed(17)
    np.testing.assert_array_equal(host(ag.rand(3, device="cuda")), a)
    ag.cuda.manual_seed(17)
    np.testing.assert_array_equal(host(ag.rand(3, device="cuda", generator=gens[0])), a)
    assert gens[0].get_state().tolist() == ag.cuda.get_rng_state().tolist()
    gens[0].set_state(ag.Generator("cuda").manual_seed(17).get_state())
    np.testing.assert_array_equal(host(ag.rand(3, device="cuda")), a)


# ---- errors -------------------------------------------------------------------------------------

BAD_CALLS = {   # name -> f(L, device, generator), run with a non-Generator
    "randn": lambda L, d, g: L.randn(3, device=d, generator=g),
    "randint": lambda L, d, g: L.randint(0, 3, (2,), device=d, generator=g),
    "randperm": lambda L, d, g: L.randperm(3, device=d, generator=g),
    "multinomial": lambda L, d, g: L.multinomial(L.ones(3, device=d), 1, generator=g),
    "poisson": lambda L, d, g: L.poisson(L.ones(3, device=d), generator=g),
    "normal": lambda L, d, g: L.normal(0.0, 1.0, (2,), device=d, generator=g),
    "exponential_": lambda L, d, g: L.zeros(3, device=d).exponential_(generator=g),
    "bernoulli_": lambda L, d, g: L.zeros(3, device=d).bernoulli_(generator=g),
    "uniform_": lambda L, d, g: L.nn.init.xavier_uniform_(L.zeros(2, 2, device=d), generator=g),
    "normal_": lambda L, d, g: L.nn.init.orthogonal_(L.zeros(2, 2, device=d), generator=g),
    "rrelu": lambda L, d, g: L.rrelu(L.zeros(3, device=d), training=True, generator=g),
}


@pytest.mark.parametrize("name", list(BAD_CALLS))
def test_a_non_generator_is_a_type_error_as_torch(torch, device, name):
    call = BAD_CALLS[name]
    with pytest.raises(TypeError):
        call(torch, "cpu", 5)
    for bad in (5, np.random.default_rng(0), torch.Generator()):
        with pytest.raises(TypeError, match=rf"{name}\(\): argument 'generator' must be Generator, not"):
            call(ag, device, bad)


@pytest.mark.gpu
@pytest.mark.parametrize("device, other", [("cpu", "cuda"), ("cuda", "cpu")],
                         ids=["gen_cuda_draw_cpu", "gen_cpu_draw_cuda"])   # (no "[cpu": emulated)
def test_a_generator_of_another_device_type_is_refused(device, other):
    g = ag.Generator(other)
    before = g.get_state().tolist()
    t = ag.zeros(3, device=device)
    calls = {"rand": lambda: ag.rand(3, device=device, generator=g),
             "randperm": lambda: ag.randperm(3, device=device, generator=g),
             "bernoulli": lambda: ag.bernoulli(t, generator=g),
             "normal": lambda: ag.normal(t, 1.0, generator=g),
             "exponential_": lambda: t.exponential_(generator=g),
             "xavier_normal_": lambda: nn.init.xavier_normal_(ag.zeros(2, 2, device=device), generator=g)}
    for name, call in calls.items():
        shown = "normal_" if name == "xavier_normal_" else name
        with pytest.raises(RuntimeError, match=rf"{shown}\(\): Expected a '{device}' device type for generator but "
                                               rf"found '{other}'"):
            call()
    assert t._version == 0 and host(t).tolist() == [0, 0, 0] and g.get_state().tolist() == before


def test_failed_draws_leave_the_generator_alone(device):
    g = ag.Generator(device).manual_seed(3)
    before = g.get_state().tolist()
    t = ag.tensor([0.25, 0.5], device=device)
    for bad in (lambda: t.bernoulli_(2.0, generator=g), lambda: t.exponential_(-1, generator=g),
                lambda: ag.multinomial(ag.ones(3, device=device), 5, generator=g),
                lambda: ag.randint(3, 1, (2,), device=device, generator=g)):
        with pytest.raises(RuntimeError):
            bad()
    assert g.get_state().tolist() == before and t._version == 0


# ---- ag.random ---------------------------------------------------------------------------------

def test_random_module_names(torch):
    assert set(torch.random.__all__) <= set(ag.random.__all__)
    assert {"Generator", "default_generator"} <= set(ag.random.__all__)
    for name in ("manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state"):
        assert getattr(ag.random, name) is getattr(ag, name)
    assert ag.random.thread_safe_generator() is None is torch.random.thread_safe_generator()


def test_fork_rng_restores_the_states(torch, device):
    for L in (torch, ag):
        L.manual_seed(2)
        with L.random.fork_rng(devices=[0] if L is ag and device == "cuda" else []):
            L.rand(3)
            L.manual_seed(99)
        a = L.rand(3)
        L.manual_seed(2)
        assert L.rand(3).tolist() == a.tolist()
        with L.random.fork_rng(enabled=False):
            L.manual_seed(99)
        b = L.rand(3)
        L.manual_seed(99)
        assert L.rand(3).tolist() == b.tolist()
        with L.random.fork_rng(devices=[], device_type="meta"):
            pass
    if device == "cuda":
        _cuda_or_skip()
        ag.manual_seed(2)
        want = host(ag.rand(3, device="cuda"))
        ag.manual_seed(2)
        with pytest.raises(KeyError):
            with ag.random.fork_rng():                       # (devices=None: every CUDA device)
                ag.rand(3, device="cuda")
                raise KeyError("restored on the way out too")
        np.testing.assert_array_equal(host(ag.rand(3, device="cuda")), want)
    with pytest.raises(RuntimeError, match="fork_rng"):
        with ag.random.fork_rng(device_type="xpu"):
            pass


def test_fork_rng_warns_once_for_several_devices(monkeypatch):
    from autograd_gpu import random as agr
    monkeypatch.setattr(agr, "_fork_rng_warned_already", [False])
    monkeypatch.setattr(ag.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(ag.cuda, "get_rng_state", lambda d: d)
    restored = []
    monkeypatch.setattr(ag.cuda, "set_rng_state", lambda s, d: restored.append((s, d)))
    with pytest.warns(UserWarning, match="you have used fork_rng without explicitly specifying which devices"):
        with ag.random.fork_rng():
            pass
    assert restored == [(0, 0), (1, 1)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with ag.random.fork_rng():
            pass
        agr._fork_rng_warned_already[0] = False
        with ag.random.fork_rng(devices=[0, 1]):              # given devices: no warning
            pass


# ---- utils.data -----------------------------------------------------------------------------------

def _passes(make, seed, n=2):
    """n passes of a sampler made from a generator seeded `seed`; also returns whether the default state moved."""
    ag.manual_seed(0)
    before = ag.get_rng_state().tolist()
    s = make(ag.Generator().manual_seed(seed))
    out = [list(s) for _ in range(n)]
    return out, ag.get_rng_state().tolist() != before


@pytest.mark.parametrize("kind", ["random", "random replacement", "random num_samples", "subset", "weighted",
                                  "weighted no replacement", "batch"])
def test_samplers_repeat_with_a_seeded_generator(torch, kind):
    makers = {
        "random": lambda L, g: L.utils.data.RandomSampler(range(10), generator=g),
        "random replacement": lambda L, g: L.utils.data.RandomSampler(range(10), True, 15, generator=g),
        "random num_samples": lambda L, g: L.utils.data.RandomSampler(range(4), False, 10, generator=g),
        "subset": lambda L, g: L.utils.data.SubsetRandomSampler([3, 5, 7, 9, 11], g),
        "weighted": lambda L, g: L.utils.data.WeightedRandomSampler([0.1, 0.5, 0.0, 2.0], 12, generator=g),
        "weighted no replacement": lambda L, g: L.utils.data.WeightedRandomSampler([1.0, 2.0, 3.0, 4.0], 3, False,
                                                                                    generator=g),
        "batch": lambda L, g: L.utils.data.BatchSampler(L.utils.data.RandomSampler(range(7), generator=g), 3, False),
    }
    for L in (torch, ag):
        make = makers[kind]
        if L is ag:
            first, moved = _passes(lambda g: make(ag, g), 4)
            again, _ = _passes(lambda g: make(ag, g), 4)
        else:
            first = [list(s) for s in [make(torch, torch.Generator().manual_seed(4))] for _ in range(2)]
            again = [list(s) for s in [make(torch, torch.Generator().manual_seed(4))] for _ in range(2)]
            moved = False
        assert first == again                                  # a generator seeded alike: the same passes
        assert first[0] != first[1] or kind == "weighted no replacement"    # each pass draws afresh
        assert not moved                                       # the default generator is not drawn from


def test_random_split_with_a_generator(torch):
    for L in (torch, ag):
        splits = [[list(s) for s in L.utils.data.random_split(range(10), [0.3, 0.7],
                                                              generator=L.Generator().manual_seed(42))]
                  for _ in range(2)]
        assert splits[0] == splits[1] and sorted(splits[0][0] + splits[0][1]) == list(range(10))
    g = ag.Generator().manual_seed(42)
    want = ag.randperm(10, generator=g).tolist()
    assert splits[0][0] + splits[0][1] == want               # the split is one randperm from the generator


def test_dataloader_draws_base_seed_then_order_from_its_generator(torch):
    # PyTorch: each pass draws the workers' base seed from the loader's generator, then the sampler's permutation
    t_loader = torch.utils.data.DataLoader(range(8), batch_size=8, shuffle=True,
                                           generator=torch.Generator().manual_seed(5))
    tg = torch.Generator().manual_seed(5)
    torch.empty((), dtype=torch.int64).random_(generator=tg)
    assert next(iter(t_loader)).tolist() == torch.randperm(8, generator=tg).tolist()
    g = ag.Generator().manual_seed(5)
    ag.manual_seed(0)
    before = ag.get_rng_state().tolist()
    loader = D.DataLoader(range(8), batch_size=8, shuffle=True, generator=g)
    first = [b.tolist() for b in loader]
    second = [b.tolist() for b in loader]
    assert ag.get_rng_state().tolist() == before
    ref = ag.Generator().manual_seed(5)
    ag.randint(0, 2 ** 63 - 1, (), generator=ref)
    assert first == [ag.randperm(8, generator=ref).tolist()]
    ag.randint(0, 2 ** 63 - 1, (), generator=ref)
    assert second == [ag.randperm(8, generator=ref).tolist()]
    g.manual_seed(5)
    assert [b.tolist() for b in loader] == first


class _WorkerSeeds(D.Dataset):
    def __getitem__(self, i):
        info = D.get_worker_info()
        return ag.tensor([info.seed, info.id])

    def __len__(self):
        return 4


def test_dataloader_worker_seeds_come_from_its_generator():
    from autograd_gpu.utils import data_workers
    ref = ag.Generator().manual_seed(7)
    base = data_workers.draw_base_seed(ref)
    assert base == ag.randint(0, 2 ** 63 - 1, (), generator=ag.Generator().manual_seed(7)).item()
    loader = D.DataLoader(_WorkerSeeds(), batch_size=None, num_workers=2, generator=ag.Generator().manual_seed(7))
    rows = {tuple(int(v) for v in t.tolist()) for t in loader}
    assert rows == {(base, 0), (base + 1, 1)}                  # seed = base_seed + worker_id (PyTorch's rule)
    with pytest.raises(TypeError, match="generator"):
        data_workers.draw_base_seed(5)


@pytest.mark.parametrize("dtype,a,b", [("float32", 1.0, 1 + 2 ** -20), ("float16", 0.0, 1e-7), ("float64", -1.0, 1.0),
                                       ("float32", 2.0, 2.0)])
def test_uniform_stays_below_its_upper_bound_as_pytorch(torch, device, dtype, a, b):
    # a + (b - a) u rounds up to b where the range is narrow next to the dtype's spacing
    ours = ag.empty(200_000, dtype=getattr(ag, dtype), device=device).uniform_(a, b)
    theirs = torch.empty(200_000, dtype=getattr(torch, dtype)).uniform_(a, b)
    o, t = np.unique(host(ours)), np.unique(theirs.numpy())
    assert o.min() >= np.asarray(a, dtype) and t.min() >= np.asarray(a, dtype)
    assert o.max() < np.asarray(b, dtype) if a < b else o.max() == np.float32(a)
    assert set(o.tolist()) <= set(t.tolist()) or len(o) > 100            # the narrow ranges: the same values


def test_a_generator_block_redirects_only_its_own_threads_draws(device):
    # nn.init / sampling ops built of other ops draw from generator= through ops._util.drawing_from
    import threading
    from autograd_gpu.ops._util import drawing_from, generator_engine
    backend = ag.zeros(1, device=device)._backend
    g = ag.Generator(device).manual_seed(5)
    ag.manual_seed(3)
    want_default = host(ag.rand(4, device=device))
    want_g = host(ag.rand(4, device=device, generator=ag.Generator(device).manual_seed(5)))
    ag.manual_seed(3)
    seen = {}
    with drawing_from(backend, generator_engine("test", g, backend)):
        other = threading.Thread(target=lambda: seen.update(other=host(ag.rand(4, device=device))))
        other.start()
        other.join()
        seen["here"] = host(ag.rand(4, device=device))
    np.testing.assert_array_equal(seen["other"], want_default)      # the other thread drew from the default
    np.testing.assert_array_equal(seen["here"], want_g)
