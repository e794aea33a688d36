"""Anomaly detection (ag.autograd.detect_anomaly, set_detect_anomaly, ag.set_anomaly_enabled) against PyTorch's:
the same errors and warnings for the same programs, the mode's state after the same calls, and nothing left
behind once it is off."""
import math
import warnings

import numpy as np
import pytest

import autograd_gpu as ag
from autograd_gpu.autograd.graph import Node

ENABLED_WARNING = "Anomaly Detection has been enabled"


def _run(L, program, device="cpu", check_nan=True, anomaly_in_forward=True):
    """(error message or None, [warning messages], leaf grad) of program(L, leaf) under the mode."""
    kw = {"device": device} if L is ag else {}
    x = L.tensor([0.0, 1.0, 4.0], requires_grad=True, **kw)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if not anomaly_in_forward:
            loss = program(L, x)
        with L.autograd.detect_anomaly(check_nan=check_nan):
            if anomaly_in_forward:
                loss = program(L, x)
            try:
                loss.backward()
                err = None
            except RuntimeError as e:
                err = str(e)
    found = [str(w.message) for w in caught if w.category is UserWarning and ENABLED_WARNING not in str(w.message)]
    grad = None if x.grad is None else x.grad.detach().cpu().numpy()
    return err, found, grad


PROGRAMS = {
    "div 0/0": lambda L, x: (x / x).sum(),                        # DivBackward0's second output
    "sqrt at 0": lambda L, x: (x.sqrt() * 0).sum(),               # SqrtBackward0: 0 / 0
    "log then mul": lambda L, x: (x.log() * x).sum(),             # no NaN: 0 * -inf is a forward NaN only
    "pow 0.5 chain": lambda L, x: (x ** 0.5).exp().sum(),
    "clean": lambda L, x: (x * 2 + 1).tanh().sum(),
}


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_nan_check_names_the_node_as_pytorch(torch, device, name):
    ours, theirs = _run(ag, PROGRAMS[name], device), _run(torch, PROGRAMS[name])
    assert ours[0] == theirs[0]
    assert [w.split(".")[0] for w in ours[1]] == [w.split(".")[0] for w in theirs[1]]   # "Error detected in X"
    if theirs[0] is None:
        np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-5, equal_nan=True)
    else:
        assert ours[2] is None                   # (a failed pass accumulates nothing)


@pytest.mark.parametrize("name", ["div 0/0", "sqrt at 0"])
def test_check_nan_false_lets_nan_through(torch, device, name):
    ours, theirs = _run(ag, PROGRAMS[name], device, check_nan=False), _run(torch, PROGRAMS[name], check_nan=False)
    assert ours[0] is None and theirs[0] is None and ours[1] == [] == theirs[1]
    np.testing.assert_allclose(ours[2], theirs[2], equal_nan=True)


def test_the_warning_shows_the_forward_line_not_the_library(torch):
    err, found, _ = _run(ag, PROGRAMS["div 0/0"])
    assert err == "Function 'DivBackward0' returned nan values in its 1th output."
    assert len(found) == 1 and found[0].startswith("Error detected in DivBackward0. Traceback of forward call "
                                                   "that caused the error:\n")
    assert "test_anomaly_mode.py" in found[0] and "lambda L, x: (x / x).sum()" in found[0]
    assert "autograd_gpu" + "/ops/" not in found[0]              # (the op's own frames are left out)


def test_a_graph_recorded_before_the_mode_gets_the_check_but_no_stack(torch):
    for L in (ag, torch):
        err, found, _ = _run(L, PROGRAMS["div 0/0"], anomaly_in_forward=False)
        assert err == "Function 'DivBackward0' returned nan values in its 1th output."
        assert [w.split(" (Triggered")[0] for w in found] == [
            "Error detected in DivBackward0. No forward pass information available. Enable detect anomaly during "
            "forward pass for more information."]


def test_create_graph_results_are_checked_too(torch, device):
    def grad_of(L, **kw):
        x = L.tensor([0.0, 1.0], requires_grad=True, **kw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with L.autograd.detect_anomaly():
                with pytest.raises(RuntimeError) as e:
                    L.autograd.grad((x.sqrt() * 0).sum(), x, create_graph=True)
        return str(e.value)
    assert grad_of(ag, device=device) == grad_of(torch) == "Function 'SqrtBackward0' returned nan values in its 0th output."


def test_a_nan_root_gradient_is_reported_by_the_first_node(torch):
    def run(L):
        x = L.tensor([1.0, 2.0], requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with L.autograd.detect_anomaly():
                with pytest.raises(RuntimeError) as e:
                    x.exp().backward(L.tensor([math.nan, 1.0]))
        return str(e.value)
    assert run(ag) == run(torch)


def test_a_failing_hook_is_attributed_to_its_node(torch):
    def run(L):
        x = L.tensor([1.0, 2.0], requires_grad=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with L.autograd.detect_anomaly():
                y = x.exp()
                y.register_hook(lambda g: 1 / 0)
                with pytest.raises(ZeroDivisionError):
                    y.sum().backward()
        return [str(w.message).split(".")[0] for w in caught
                if w.category is UserWarning and ENABLED_WARNING not in str(w.message)]
    assert run(ag) == run(torch) == ["Error detected in ExpBackward0"]


def test_version_error_hint_is_pytorchs_in_anomaly_mode(torch):
    def hint(L, mode):
        a = L.ones(2, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with L.autograd.set_detect_anomaly(mode):
                b = a.exp()
                b.add_(1)
                with pytest.raises(RuntimeError) as e:
                    b.sum().backward()
        return str(e.value).split("Hint: ")[1]
    assert hint(ag, True) == hint(torch, True)
    assert hint(ag, False) != hint(ag, True)


def test_the_mode_state_follows_the_same_calls(torch):
    def states(L):
        seen = []
        note = lambda: seen.append((L.is_anomaly_enabled(), L.is_anomaly_check_nan_enabled()))  # noqa: E731
        note()
        L.autograd.set_detect_anomaly(True)                 # a plain call sets the mode
        note()
        with L.autograd.set_detect_anomaly(False, check_nan=False):
            note()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with L.autograd.detect_anomaly(check_nan=True):
                    note()
            note()
        note()                                              # restored to the plain call's
        L.set_anomaly_enabled(False)
        note()
        L.set_anomaly_enabled(True, False)
        note()
        L.set_anomaly_enabled(False)
        note()
        return seen
    assert states(ag) == states(torch)


def test_off_leaves_nothing_behind():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with ag.autograd.detect_anomaly():
            inside = (ag.ones(2, requires_grad=True) * 2).grad_fn
    after = (ag.ones(2, requires_grad=True) * 2).grad_fn
    assert "_forward_stack" in vars(inside) and "_forward_stack" not in vars(after)
    assert "_seq" not in Node.__dict__                       # (the recording descriptor is gone)
    assert not ag.is_anomaly_enabled()


def test_detect_anomaly_warns_on_construction(torch):
    for L in (ag, torch):
        with pytest.warns(UserWarning, match="Anomaly Detection has been enabled. This mode will increase the "
                                             "runtime and should only be enabled for debugging."):
            L.autograd.detect_anomaly()


@pytest.mark.parametrize("call", [
    lambda L: L.autograd.set_detect_anomaly("yes"),
    lambda L: L.autograd.set_detect_anomaly(True, check_nan=1),
    lambda L: L.set_anomaly_enabled(None),
    lambda L: L.set_anomaly_enabled(True, "no"),
])
def test_bad_arguments_raise_as_pytorch_and_change_nothing(torch, call):
    for L in (ag, torch):
        before = (L.is_anomaly_enabled(), L.is_anomaly_check_nan_enabled())
        with pytest.raises(TypeError) as e:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                call(L)
        assert (L.is_anomaly_enabled(), L.is_anomaly_check_nan_enabled()) == before
        if L is ag:
            assert "anomaly" in str(e.value)


def test_detect_anomaly_refuses_a_non_bool_check_nan():
    # a kept divergence: PyTorch's detect_anomaly takes any value (and treats it as a truth value)
    with pytest.raises(TypeError, match="detect_anomaly"):
        ag.autograd.detect_anomaly(check_nan="no")
    assert not ag.is_anomaly_enabled()
