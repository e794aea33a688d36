"""Random programs (tests/test_random_graphs.py's) under forward AD and under
autocast, against PyTorch CPU (Hypothesis).

Forward AD: the program's float64 leaves are dual tensors (make_dual, inside
one dual_level on each library) with tangents drawn once per leaf; constants
have none. After every statement the primal and the tangent (unpack_dual) of
what it made or wrote are compared with torch.autograd.forward_ad's, and at
the end those of every value (in-place writes through views move other
values' tangents). A statement PyTorch refuses for want of a forward formula
(NotImplementedError) is skipped, on our side too; one PyTorch runs and we
refuse fails the test. All statement kinds of the harness run: in-place ops,
views, writes through views, no_grad blocks.

Autocast: the same programs on float32 leaves inside
ag.autocast("cpu", dtype=ag.float16) and torch.autocast("cpu",
dtype=torch.float16). Each result's dtype must be PyTorch's exactly; its
values agree within float16 tolerance (relative 1e-2, absolute 1e-2 of the
larger of 1 and the result's magnitude). A result further off is checked
against PyTorch's statement run on *our* operands: when that agrees, the
difference came from operands already apart by float16 rounding (an
ill-conditioned statement, or a near tie that went the other way), and the
value is dropped from the program as the harness drops values whose ties
differ; when it does not, the test fails. Results that overflow float16 on one
side only are dropped too. After the program (outside autocast, as PyTorch
advises) a projection of some outputs is backpropagated and the leaves'
gradients compared: dtypes exactly, values within 5e-2.

Statement kinds that meet a bug of ours are left out where they meet it and
counted (einsum_bug says what the bug is).

Examples: AG_HYPOTHESIS_EXAMPLES / 6 each (500 by default); random seeds with
AG_HYPOTHESIS_RANDOM=1, as for the harness.
"""
import collections
import contextlib
import math
import re

import numpy as np
import pytest
from hypothesis import given, note, settings, strategies as st

import autograd_gpu as ag
import test_random_graphs as RG
from conftest import report_at_end

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning",
                                       "ignore:`torch.jit.script` is deprecated:DeprecationWarning")

EXAMPLES = max(1, RG.EXAMPLES // 6)
TANGENTS = [1.0, -0.5, 2.0, 0.25, -1.5, 0.0, 3.0, -2.0, 0.75]   # exact in float64: tangents stay exact sums
CAST_RTOL, CAST_ATOL = 1e-2, 1e-2
GRAD_TOL = 5e-2
FP16_MAX = 65504.0

STATS = collections.Counter()
FAILED_OPS = collections.Counter()
TORCH_REFUSED = collections.Counter()
DTYPES = collections.Counter()

# the harness's counters these programs move (its run() counts into RG.STATS): moved into ours
_RG_COUNTS = ("statements", "step_errors", "tie_ambiguous", "layout_rejected", "torch_asserted")


@contextlib.contextmanager
def own_counts():
    """Count what RG.Program.run counts into our STATS, not the harness's summary."""
    before = {k: RG.STATS[k] for k in _RG_COUNTS}
    failed = RG.STATS["failed_ops"].copy()
    try:
        yield
    finally:
        for k in _RG_COUNTS:
            STATS[k] += RG.STATS[k] - before[k]
            RG.STATS[k] = before[k]
        FAILED_OPS.update(RG.STATS["failed_ops"] - failed)
        RG.STATS["failed_ops"] = failed


def _tensor_code(values, shape, dtype="float64"):
    if math.prod(shape) == 0:
        return f"lib.zeros({shape!r}, dtype=lib.{dtype})"
    return f"lib.tensor({np.array(values, dtype=np.float64).reshape(shape).tolist()!r}, dtype=lib.{dtype})"


# ---- forward AD --------------------------------------------------------------------

_REFUSED = re.compile(r"succeeded where torch raised NotImplementedError: .*forward AD", re.S)


def _tangent(env, name):
    t = env[name]
    if not isinstance(t, (ag.Tensor, env["lib"].Tensor)):
        return None
    return env["lib"].autograd.forward_ad.unpack_dual(t).tangent


class DualProgram(RG.Program):
    """A harness program whose leaves are dual tensors (they do not require grad; with `leaves_rg`, each is
    a leaf that requires grad and the program reads its dual view, for forward over reverse)."""
    leaves_rg = False

    def __init__(self, torch, data):
        super().__init__(torch, data)
        self.duals = []

    def new_tensor(self, shape, requires_grad=True, halves=None):
        leaf = super().new_tensor(shape, requires_grad=self.leaves_rg and requires_grad, halves=halves)
        name = self.fresh() if self.leaves_rg and requires_grad else leaf
        if requires_grad and leaf in self.vals:
            n = math.prod(shape)
            tangent = self.draw(st.lists(st.sampled_from(TANGENTS), min_size=n, max_size=n))
            self.run(f"{name} = lib.autograd.forward_ad.make_dual({leaf}, {_tensor_code(tangent, shape)})",
                     (name,), (leaf,), "make_dual", "forward AD")
            self.duals.append(name)
        return name

    def run(self, code, new=(), inputs=(), op=None, family=None):
        try:
            ok = super().run(code, new, inputs, op, family)
        except AssertionError as e:
            if not _REFUSED.search(str(e)):
                raise
            # PyTorch has no forward formula for it (we do: every op's JVP is the transpose of its
            # backward): not comparable. What it wrote on our side only is dropped.
            TORCH_REFUSED[f"{family}: {op}"] += 1
            STATS["torch_refused"] += 1
            for n in new:
                if n in self.theirs and n in self.vals:
                    self.drop(n)
            return False
        if ok:
            for n in new:
                if n in self.unreliable:
                    continue
                self.check_tangent(n, f"tangent of {n} after: {code}")
        return ok

    def check_tangent(self, n, what):
        if RG.poisoned(self, n):
            return          # (a piece of split/chunk whose base was written in place: unpack_dual raises on both)
        ot, tt = _tangent(self.ours, n), _tangent(self.theirs, n)
        assert (ot is None) == (tt is None), \
            f"{what}: ours is {'None' if ot is None else 'a tensor'}, torch's " \
            f"{'None' if tt is None else 'a tensor'}\n{self.text()}"
        if tt is not None:
            RG._close(ot, tt, what, self)
            STATS["tangents"] += 1
        else:
            STATS["no_tangent"] += 1


def forward_ad_program(torch, data):
    fw_t, fw_o = torch.autograd.forward_ad, ag.autograd.forward_ad
    with own_counts(), fw_t.dual_level(), fw_o.dual_level():
        p = DualProgram(torch, data)
        RG.build(p, 12)
        note(p.text())
        STATS["fwd_programs"] += 1
        RG.check_values(p)
        for n in p.vals:
            if n not in p.unreliable:
                p.check_tangent(n, f"final tangent of {n}")


@settings(max_examples=EXAMPLES, **RG.SETTINGS)
@given(data=st.data())
def test_random_programs_forward_ad(torch, data):
    forward_ad_program(torch, data)


class ForwardOverReverseProgram(DualProgram):
    leaves_rg = True


def forward_over_reverse_program(torch, data):
    """A program on dual views of leaves that require grad; then the gradient of a projection of its outputs
    in the leaves, with create_graph, and that gradient's tangents (a Hessian-vector product) against
    PyTorch's."""
    fw_t, fw_o = torch.autograd.forward_ad, ag.autograd.forward_ad
    with own_counts(), fw_t.dual_level(), fw_o.dual_level():
        p = ForwardOverReverseProgram(torch, data)
        RG.build(p, 10)
        outs = RG.outputs(p)
        note(p.text())
        STATS["for_programs"] += 1
        RG.check_values(p)
        if not outs or not p.leaves or not p.run(f"loss = {RG.projection(p, outs)}", (), outs):
            return
        leaves = ", ".join(p.leaves)
        if not p.run(f"g1 = lib.autograd.grad(loss, [{leaves}], create_graph=True, allow_unused=True)", (), ()):
            STATS["for_backward_errors"] += 1
            return
        for i, (a, b) in enumerate(zip(p.ours["g1"], p.theirs["g1"])):
            assert (a is None) == (b is None), f"gradient {i}: None on one side only\n{p.text()}"
            if b is None:
                continue
            RG._close(a, b, f"gradient of {p.leaves[i]}", p)
            ta, tb = fw_o.unpack_dual(a).tangent, fw_t.unpack_dual(b).tangent
            if tb is None and ta is None:
                continue
            if tb is None or ta is None:
                assert not np.any(RG._np(tb if ta is None else ta)), \
                    f"tangent of the gradient of {p.leaves[i]}: only one side has one\n{p.text()}"
                continue
            RG._close(ta, tb, f"tangent of the gradient of {p.leaves[i]}", p)
            STATS["hvp_compared"] += 1


@settings(max_examples=EXAMPLES, **RG.SETTINGS)
@given(data=st.data())
def test_random_programs_forward_over_reverse(torch, data):
    forward_over_reverse_program(torch, data)


# ---- autocast ----------------------------------------------------------------------

def _fp16_overflow(a, b):
    """Whether one side overflowed float16 (or came near) where the other did not."""
    big = lambda x: ~np.isfinite(x) | (np.abs(np.nan_to_num(x)) > FP16_MAX / 2)  # noqa: E731
    return bool(np.any(big(a) != big(b)))


def _cast_close(a, b):
    if a.shape != b.shape:
        return False
    if a.dtype.kind != "f":
        return np.array_equal(a, b)
    fin = np.isfinite(b)
    scale = max(1.0, float(np.abs(b[fin]).max())) if fin.any() else 1.0
    a, b = a.astype(np.float64), b.astype(np.float64)
    return bool(np.allclose(a, b, rtol=CAST_RTOL, atol=CAST_ATOL * scale, equal_nan=True))


class CastProgram(RG.Program):
    """A harness program on float32 leaves, run inside autocast on both libraries."""
    made_half = False          # whether some statement made a float16 value


    def run(self, code, new=(), inputs=(), op=None, family=None):
        code = code.replace("lib.float64", "lib.float32")
        if op == "einsum" and self.einsum_bug(inputs):
            STATS["known_bug"] += 1
            return False
        floats = [self.t(n) for n in inputs if n in self.theirs and self.is_float(n)]
        if len({t.dtype for t in floats}) > 1:
            # Known divergence: with operands of two dtypes (float16 from a matmul, float32) ours
            # saves the promoted copies for backward, PyTorch the operands themselves: writing one in
            # place later is a version error in PyTorch's backward only (clamp(v16, v16, v32), then
            # v16.add_(2)). Not written in place then (the harness's `frozen`).
            self.frozen.update(t.untyped_storage().data_ptr() for t in floats)
        self.lines.append(code)
        STATS["statements"] += 1
        ambiguous = RG.TIE_SENSITIVE.search(code) is not None and self.ties_differ(code)
        operands = {n: RG._np(self.ours[n]).copy() for n in set(re.findall(r"\bv\d+\b", code)) if n in self.ours}
        if not self.both_ran(code, op, family):
            return False
        if op is not None:
            self.ops[(family, op)] += 1
        d = max((self.depth.get(n, 0) for n in inputs), default=0) + 1
        for n in new:
            if n not in self.depth:
                self.vals.append(n)
            self.depth[n] = d
            if ambiguous:
                self.drop(n)
                continue
            self.compare(n, code, operands)
            t = self.theirs[n]
            if n not in self.dead and t.dtype.is_floating_point and t.numel() and (
                    not bool(t.detach().isfinite().all()) or self.maxabs(n) > RG.BIG):
                self.dead.add(n)
        return True

    def einsum_bug(self, inputs):
        """Left out, a path difference: with a size-1 dim PyTorch's einsum squeezes instead of calling bmm,
        so under autocast its result stays float32 (einsum('i,i') of shape (1,)), ours is float16."""
        return any(1 in self.t(n).shape for n in inputs)

    def both_ran(self, code, op, family):
        """Run on both; True when both succeeded, False when both failed alike."""
        errors = []
        for env in (self.theirs, self.ours):
            try:
                exec(code, env)
                errors.append(None)
            except Exception as e:          # compared below
                errors.append(e)
        te, oe = errors
        if te is None and oe is None:
            return True
        RG.reject_incomparable(code, te, oe, STATS)
        assert te is not None, f"autograd_gpu raised {type(oe).__name__}: {oe}\nwhere torch succeeded\n{self.text()}"
        assert oe is not None, f"autograd_gpu succeeded where torch raised {type(te).__name__}: {te}\n{self.text()}"
        assert RG._exc_kind(oe) is RG._exc_kind(te), (
            f"autograd_gpu raised {type(oe).__name__}: {oe}\ntorch raised {type(te).__name__}: {te}\n{self.text()}")
        STATS["step_errors"] += 1
        if op is not None:
            FAILED_OPS[f"{family}: {op}"] += 1
        return False

    def compare(self, n, code, operands):
        ours, theirs = RG._np(self.ours[n]), RG._np(self.theirs[n])
        assert ours.dtype == theirs.dtype, f"value {n} after: {code}: dtype {ours.dtype} != torch's " \
                                           f"{theirs.dtype}\n{self.text()}"
        assert ours.shape == theirs.shape, f"value {n} after: {code}: shape {ours.shape} != torch's " \
                                           f"{theirs.shape}\n{self.text()}"
        DTYPES[str(theirs.dtype)] += 1
        self.made_half = self.made_half or theirs.dtype == np.float16
        if _cast_close(ours, theirs):
            STATS["cast_compared"] += 1
            return
        if ours.dtype == np.float16 and _fp16_overflow(ours, theirs):
            STATS["fp16_overflow"] += 1
            self.drop(n)
            return
        same_operands = RG._np(self.torch_on(code, n, operands))
        assert _cast_close(ours, same_operands), (
            f"value {n} after: {code}\nours:\n{ours}\ntorch's:\n{theirs}\ntorch's on our operands:\n"
            f"{same_operands}\n{self.text()}")
        STATS["ill_conditioned"] += 1
        self.drop(n)

    def torch_on(self, code, n, operands):
        """PyTorch's result of `code` run on our values of its operands (inside autocast)."""
        torch = self.theirs["lib"]
        env = {"lib": torch, "inf": math.inf}
        env.update({k: torch.from_numpy(v.copy()) for k, v in operands.items()})
        exec(code, env)
        return env[n]


def autocast_program(torch, data):
    with own_counts():
        p = CastProgram(torch, data)
        with torch.autocast("cpu", dtype=torch.float16), ag.autocast("cpu", dtype=ag.float16):
            RG.build(p, 12)
            outs = RG.outputs(p)
        note(p.text())
        STATS["cast_programs"] += 1
        if not outs or not p.run(f"loss = {RG.projection(p, outs)}", (), outs):
            return
        if not p.run("loss.backward()", (), ()):
            STATS["backward_errors"] += 1
            return
        rounding = RG._gradient_rounding(p)
        for n in p.leaves:
            if n in p.unreliable:
                continue
            tg, og = p.theirs[n].grad, p.ours[n].grad
            assert (og is None) == (tg is None), f"grad of {n}: None on one side only\n{p.text()}"
            if tg is None:
                continue
            a, b = RG._np(og), RG._np(tg)
            assert a.dtype == b.dtype, f"grad of {n}: dtype {a.dtype} != torch's {b.dtype}\n{p.text()}"
            if p.made_half and _fp16_overflow(a, b):
                # not comparable: a float16 step of one backward overflowed where the other's did not (PyTorch's
                # atan2 backward takes 1 / (x*x + y*y) in float16 first: inf for |y| < 2.5e-4, then 0 * inf)
                STATS["grad_fp16_overflow"] += 1
                continue
            scale = max(1.0, float(np.abs(b[np.isfinite(b)]).max(initial=0.0)))
            np.testing.assert_allclose(a, b, rtol=GRAD_TOL, atol=max(GRAD_TOL * scale, rounding), equal_nan=True,
                                       err_msg=f"grad of {n}\n{p.text()}")
            STATS["grads_compared"] += 1


@settings(max_examples=EXAMPLES, **RG.SETTINGS)
@given(data=st.data())
def test_random_programs_autocast_cpu_float16(torch, data):
    autocast_program(torch, data)


# ---- the summary -------------------------------------------------------------------

def _summary_lines():
    if not (STATS["fwd_programs"] or STATS["cast_programs"] or STATS["for_programs"]):
        return []
    return [
        f"programs: {STATS['fwd_programs']} under forward AD, {STATS['cast_programs']} under autocast; "
        f"{STATS['statements']} statements; {STATS['step_errors']} failed on both; "
        f"{STATS['torch_refused']} skipped (PyTorch has no forward formula); {STATS['known_bug']} left out "
        f"(einsum_bug); {STATS['tie_ambiguous']} skipped "
        f"(ties rounded differently); {STATS['layout_rejected']} programs rejected (view() of a result laid "
        f"out differently), {STATS['torch_asserted']} (PyTorch's own failure)",
        f"forward over reverse: {STATS['for_programs']} programs, {STATS['hvp_compared']} tangents of gradients "
        f"compared, {STATS['for_backward_errors']} backward passes failed on both",
        f"forward AD: {STATS['tangents']} tangents compared, {STATS['no_tangent']} values without a tangent "
        "on both",
        f"autocast: {STATS['cast_compared']} values compared, {STATS['ill_conditioned']} dropped as "
        f"ill-conditioned (torch on our operands agreed), {STATS['fp16_overflow']} overflowed float16 on one "
        f"side; {STATS['grads_compared']} leaf gradients compared ({STATS['grad_fp16_overflow']} not: a float16 "
        f"step of one backward overflowed), {STATS['backward_errors']} backward passes "
        f"failed on both; result dtypes: " + ", ".join(f"{d} {c}" for d, c in DTYPES.most_common()),
        "PyTorch refused (no forward formula): " + ", ".join(f"{o} {c}" for o, c in TORCH_REFUSED.most_common()),
        "failed on both: " + ", ".join(f"{o} {c}" for o, c in FAILED_OPS.most_common()),
    ]


@pytest.fixture(scope="module", autouse=True)
def _report(request):
    report_at_end(request, "random programs under forward AD and autocast vs PyTorch", _summary_lines)
