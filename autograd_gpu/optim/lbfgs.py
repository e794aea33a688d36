"""L-BFGS (torch.optim.LBFGS): limited-memory BFGS on the flattened
parameters, with a fixed step or a strong-Wolfe line search. The math is
Tensor ops (run under no_grad), so it runs wherever the parameters live;
the scalars (curvatures, step lengths) are 0-d tensors as in PyTorch, and
the state has PyTorch's entries."""
from ..autograd.grad_mode import enable_grad, no_grad
from ..creation import zeros
from ..ops.shape import cat
from ..tensor import Tensor
from .optimizer import Optimizer, check_number


def _cubic_minimum(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes
    g1, g2, clamped to `bounds` (default: [x1, x2]); their midpoint when the
    cubic has no minimum."""
    lo, hi = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if not d2_square >= 0:                 # (NaN too)
        return (lo + hi) / 2.0
    d2 = d2_square.sqrt() if isinstance(d2_square, Tensor) else d2_square ** 0.5
    if x1 <= x2:
        at = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        at = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(at, lo), hi)


class _Bracket:
    """The line search's points: step lengths, losses, gradients, directional derivatives."""

    def __init__(self, t, f, g, gtd):
        self.t, self.f, self.g, self.gtd = list(t), list(f), list(g), list(gtd)

    def set(self, i, t, f, g, gtd):
        self.t[i], self.f[i], self.g[i], self.gtd[i] = t, f, g, gtd

    def low_high(self):
        return (0, 1) if self.f[0] <= self.f[-1] else (1, 0)


def _strong_wolfe(evaluate, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """Line search along d from loss f, gradient g (directional derivative gtd)
    for a step t meeting the strong Wolfe conditions (Moré–Thuente style
    bracketing, then zoom by cubic interpolation). Returns (loss, flat grad,
    t, evaluations)."""
    d_norm = d.abs().max()
    g = g.clone()
    f_new, g_new = evaluate(t)
    evals, ls_iter, done = 1, 0, False
    gtd_new = g_new.dot(d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    bracket = None
    # bracketing: grow t until an interval holds a point meeting the conditions
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket = _Bracket([t_prev, t], [f_prev, f_new], [g_prev, g_new.clone()], [gtd_prev, gtd_new])
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, done = _Bracket([t], [f_new], [g_new], [gtd_new]), True
            break
        if gtd_new >= 0:
            bracket = _Bracket([t_prev, t], [f_prev, f_new], [g_prev, g_new.clone()], [gtd_prev, gtd_new])
            break
        t_next = _cubic_minimum(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(t + 0.01 * (t - t_prev), t * 10))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new.clone(), gtd_new
        t = t_next
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket = _Bracket([0, t], [f, f_new], [g, g_new], [None, None])
    low, high = bracket.low_high()
    # zoom: shrink the bracket until a point meets the conditions
    insufficient = False
    while not done and ls_iter < max_ls:
        if abs(bracket.t[1] - bracket.t[0]) * d_norm < tolerance_change:
            break
        t = _cubic_minimum(bracket.t[0], bracket.f[0], bracket.gtd[0], bracket.t[1], bracket.f[1], bracket.gtd[1])
        t, insufficient = _keep_off_the_ends(t, bracket.t, insufficient)
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket.f[low]:
            bracket.set(high, t, f_new, g_new.clone(), gtd_new)
            low, high = (0, 1) if bracket.f[0] <= bracket.f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket.t[high] - bracket.t[low]) >= 0:
                bracket.set(high, bracket.t[low], bracket.f[low], bracket.g[low], bracket.gtd[low])
            bracket.set(low, t, f_new, g_new.clone(), gtd_new)
    return bracket.f[low], bracket.g[low], bracket.t[low], evals


def _keep_off_the_ends(t, ends, insufficient):
    """A trial step too close to an end of the bracket (twice in a row, or
    outside it) moves to a tenth of the bracket's length from that end."""
    top, bottom = max(ends), min(ends)
    margin = 0.1 * (top - bottom)
    if not min(top - t, t - bottom) < margin:
        return t, False
    if not (insufficient or t >= top or t <= bottom):
        return t, True
    return (top - margin if abs(t - top) < abs(t - bottom) else bottom + margin), False


class LBFGS(Optimizer):
    """L-BFGS: each `step(closure)` runs up to max_iter iterations, each a
    quasi-Newton direction d from the last history_size curvature pairs
    (s, y) and a step t along it (t = lr, the first ever min(1, 1/|g|_1) * lr;
    or a strong-Wolfe line search). It stops early when the largest |g| is
    at most tolerance_grad, or when the step or the loss change is below
    tolerance_change. One parameter group only.

    State (PyTorch's, held under the first parameter): "func_evals",
    "n_iter", "d", "t", "old_dirs", "old_stps", "ro", "H_diag",
    "prev_flat_grad", "prev_loss" and "al"."""

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
                 history_size=100, line_search_fn=None):
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                        tolerance_change=tolerance_change, history_size=history_size,
                        line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    def add_param_group(self, param_group):
        if getattr(self, "param_groups", None):
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        super().add_param_group(param_group)

    def _check_hyperparameters(self, group):
        check_number("lr", group["lr"], message=f"Invalid learning rate: {group['lr']}")
        for name in ("max_iter", "max_eval", "history_size", "tolerance_grad", "tolerance_change"):
            check_number(name, group[name], low=float("-inf"))      # PyTorch does not bound them

    @staticmethod
    def _restore(param, name, value, key):
        """Tensors (also inside the history lists) move to the parameter's
        device and floating dtype; flat vectors and 0-d scalars keep their shapes."""
        if isinstance(value, (list, tuple)):
            return type(value)(LBFGS._restore(param, name, v, key) for v in value)
        if isinstance(value, Tensor):
            out = value.to(device=param.device, dtype=param.dtype if value.is_floating_point() else None)
            return out.clone() if out is value else out.detach()
        return Optimizer._restore(param, name, value, key)

    # ---- flat views of the parameters ----------------------------------------------------
    def _flat_grad(self):
        return cat([p.grad.reshape(-1) if p.grad is not None else zeros(p.numel(), dtype=p.dtype, device=p.device)
                    for p in self._params], 0)

    def _move(self, t, d):
        """p += t * d (d flat, split over the parameters)."""
        offset = 0
        for p in self._params:
            n = p.numel()
            p.add_(d[offset:offset + n].view_as(p), alpha=float(t))
            offset += n

    def _evaluate_at(self, closure, x, t, d):
        """Loss and flat gradient at x + t d; the parameters are put back to x."""
        self._move(t, d)
        loss = float(closure())
        flat = self._flat_grad()
        for p, saved in zip(self._params, x):
            p.copy_(saved)
        return loss, flat

    def step(self, closure):
        """Minimise the loss that `closure` computes (it must zero the
        gradients, compute the loss, call backward and return the loss).
        Returns the closure's first loss."""
        group = self.param_groups[0]
        if group["line_search_fn"] not in (None, "strong_wolfe"):
            raise RuntimeError("only 'strong_wolfe' is supported")
        with no_grad():
            return self._minimise(self._with_grad(closure), group)

    @staticmethod
    def _with_grad(closure):
        def run():
            with enable_grad():
                return closure()
        return run

    def _minimise(self, closure, group):
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]     # (an int lr stays one, as t)
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history_size = group["history_size"]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        orig_loss = closure()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if flat_grad.abs().max() <= tol_grad:
            return orig_loss
        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        H_diag, prev_flat_grad, prev_loss = state.get("H_diag"), state.get("prev_flat_grad"), state.get("prev_loss")
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d, old_dirs, old_stps, ro, H_diag = flat_grad.neg(), [], [], [], 1
            else:
                H_diag = self._remember(flat_grad.sub(prev_flat_grad), d.mul(t), old_dirs, old_stps, ro, H_diag,
                                        history_size)
                d = self._direction(state, flat_grad, old_dirs, old_stps, ro, H_diag, history_size)
            if prev_flat_grad is None:
                prev_flat_grad = flat_grad.clone()
            else:
                prev_flat_grad.copy_(flat_grad)
            prev_loss = loss
            t = min(1.0, 1.0 / flat_grad.abs().sum()) * lr if state["n_iter"] == 1 else lr
            gtd = flat_grad.dot(d)
            if gtd > -tol_change:           # not a descent direction (any more)
                break
            if group["line_search_fn"] is not None:
                x = [p.clone() for p in self._params]
                loss, flat_grad, t, ls_evals = _strong_wolfe(
                    lambda step: self._evaluate_at(closure, x, step, d), t, d, loss, flat_grad, gtd,
                    max_ls=max_eval - current_evals)
                self._move(t, d)
                opt_cond = flat_grad.abs().max() <= tol_grad
            else:
                self._move(t, d)
                ls_evals, opt_cond = 0, False
                if n_iter != max_iter:      # the last iteration's loss is not needed
                    loss = float(closure())
                    flat_grad = self._flat_grad()
                    opt_cond = flat_grad.abs().max() <= tol_grad
                    ls_evals = 1
            current_evals += ls_evals
            state["func_evals"] += ls_evals
            if (n_iter == max_iter or current_evals >= max_eval or opt_cond
                    or d.mul(t).abs().max() <= tol_change or abs(loss - prev_loss) < tol_change):
                break
        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=H_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss

    @staticmethod
    def _remember(y, s, old_dirs, old_stps, ro, H_diag, history_size):
        """Add the curvature pair (y, s) when y.s > 1e-10 (dropping the oldest
        beyond history_size); returns the new initial Hessian scale."""
        ys = y.dot(s)
        if ys > 1e-10:
            if len(old_dirs) == history_size:
                old_dirs.pop(0)
                old_stps.pop(0)
                ro.pop(0)
            old_dirs.append(y)
            old_stps.append(s)
            ro.append(1.0 / ys)
            H_diag = ys / y.dot(y)
        return H_diag

    @staticmethod
    def _direction(state, flat_grad, old_dirs, old_stps, ro, H_diag, history_size):
        """-H g by the two-loop recursion over the history."""
        if "al" not in state:
            state["al"] = [None] * history_size
        al = state["al"]
        q = flat_grad.neg()
        for i in range(len(old_dirs) - 1, -1, -1):
            al[i] = old_stps[i].dot(q) * ro[i]
            q.add_(old_dirs[i], alpha=-float(al[i]))
        r = q * H_diag
        for i in range(len(old_dirs)):
            be_i = old_dirs[i].dot(r) * ro[i]
            r.add_(old_stps[i], alpha=float(al[i] - be_i))
        return r
