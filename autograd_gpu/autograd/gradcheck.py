"""gradcheck: analytical gradients (backward) against central finite
differences, in float64. gradgradcheck: the same for second derivatives."""
import numpy as np



class GradcheckError(RuntimeError):
    pass


def _tuple(x):
    return tuple(x) if isinstance(x, (list, tuple)) else (x,)


def _outputs(fn, inputs):
    from ..tensor import Tensor
    out = [o for o in _tuple(fn(*inputs)) if isinstance(o, Tensor)]
    return out


def _eval_flat(fn, inputs):
    return [o._host().astype(np.float64).ravel() for o in _outputs(fn, inputs)]


def _numerical_jacobians(fn, inputs, eps):
    """J[i] (n_out_total x numel(input i)) by central differences. The input
    arrays are perturbed in place, element by element (any strides)."""
    from ..tensor import Tensor
    jac = []
    for t in inputs:
        if not (isinstance(t, Tensor) and t._rg):
            jac.append(None)
            continue
        data = t._data
        cols = []
        for k in range(data.size):
            idx = np.unravel_index(k, data.shape)
            orig = data[idx].item()
            data[idx] = orig + eps
            plus = _eval_flat(fn, inputs)
            data[idx] = orig - eps
            minus = _eval_flat(fn, inputs)
            data[idx] = orig
            cols.append(np.concatenate([(p - m) / (2 * eps) for p, m in zip(plus, minus)])
                        if plus else np.zeros(0))
        # (an empty input: no columns, but a row per output element still)
        jac.append(np.stack(cols, axis=1) if cols else np.zeros((sum(map(len, _eval_flat(fn, inputs))), 0)))
    return jac


def _analytical_jacobians(fn, inputs):
    from ..tensor import Tensor
    from . import grad
    from ..creation import zeros_like
    diff_inputs = [t for t in inputs if isinstance(t, Tensor) and t._rg]
    outs = _outputs(fn, inputs)
    rows = {id(t): [] for t in diff_inputs}
    for o in outs:
        for k in range(o.numel()):
            go = zeros_like(o)
            go._data.reshape(-1)[k] = 1
            if o._rg:
                gs = grad(o, diff_inputs, go, retain_graph=True, allow_unused=True)
            else:
                gs = (None,) * len(diff_inputs)
            for t, g in zip(diff_inputs, gs):
                row = np.zeros(t.numel()) if g is None else g._host().astype(np.float64).ravel()
                rows[id(t)].append(row)
    jac = []
    for t in inputs:
        if isinstance(t, Tensor) and t._rg:
            r = rows[id(t)]
            jac.append(np.stack(r, axis=0) if r else np.zeros((0, t.numel())))
        else:
            jac.append(None)
    return jac


def gradcheck(func, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, **_ignored):
    """True if func's backward agrees with finite differences for every input
    that requires grad; otherwise raises GradcheckError listing the mismatches."""
    from ..tensor import Tensor
    inputs = _tuple(inputs)
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t._rg and t._data.dtype != np.float64:
            import warnings
            warnings.warn(f"gradcheck: input {i} is {t.dtype.libtorch}, not float64; finite differences "
                          "will be inaccurate", UserWarning, stacklevel=2)
    num = _numerical_jacobians(func, inputs, eps)
    ana = _analytical_jacobians(func, inputs)
    for i, (n, a) in enumerate(zip(num, ana)):
        if n is None:
            continue
        if n.shape != a.shape or not np.allclose(a, n, atol=atol, rtol=rtol, equal_nan=True):
            if not raise_exception:
                return False
            bad = np.argwhere(~np.isclose(a, n, atol=atol, rtol=rtol, equal_nan=True)) if n.shape == a.shape else []
            lines = [f"  output element {r}, input element {c}: numerical {n[r, c]:.6g}, analytical {a[r, c]:.6g}"
                     for r, c in bad[:10]]
            raise GradcheckError(f"Jacobian mismatch for output with respect to input {i} "
                                 f"({len(bad)} of {n.size} entries differ),\n" + "\n".join(lines) +
                                 f"\nnumerical:{n}\nanalytical:{a}\n")
    return True


def gradgradcheck(func, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, seed=0):
    """Check second derivatives: gradcheck of (inputs, grad_outputs) -> grad(func(inputs), inputs, grad_outputs)."""
    from ..tensor import Tensor
    from ..creation import tensor as make
    from . import grad
    inputs = _tuple(inputs)
    outs = [o for o in _outputs(func, inputs) if o._rg]
    if grad_outputs is None:
        rng = np.random.default_rng(seed)
        grad_outputs = tuple(make(rng.standard_normal(o.shape), dtype=o.dtype, device=o.device,
                                  requires_grad=True) for o in outs)
    grad_outputs = _tuple(grad_outputs)
    n_in = len(inputs)
    diff_idx = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t._rg]

    def first_grads(*args):
        ins, gos = args[:n_in], args[n_in:]
        o = [x for x in _outputs(func, ins) if x._rg]
        gs = grad(o, [ins[i] for i in diff_idx], list(gos[:len(o)]), create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_grads, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
