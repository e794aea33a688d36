"""ag.autograd.functional: whole-function derivatives (PyTorch's
torch.autograd.functional): vjp, jvp, jacobian, hessian, hvp, vhp.

Every one runs the user's function once on fresh tensor objects for the inputs (so a
function that also closes over the originals is differentiated only through
its arguments), then calls ag.autograd.grad. jvp and hvp use the double
backward trick, as PyTorch does: the backward of a backward is linear in its
upstream gradient, so differentiating it with respect to that gradient gives a
forward-mode product. strategy="forward-mode" (PyTorch's: with vectorize=True)
computes the Jacobian a column per input element by forward-mode AD
(ag.autograd.forward_ad; the hessian's outer Jacobian so: forward over reverse).
vectorize=True is accepted and computes the reverse-mode Jacobian row by row,
as vectorize=False does (same values)."""
from .grad_mode import enable_grad, set_grad_enabled, is_grad_enabled

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]

_STRATEGIES = ("forward-mode", "reverse-mode")


# ---- argument handling -------------------------------------------------------------------------

def _tensor_tuple(x, arg_name, fn_name):
    """(whether x was a tuple, x as a tuple of Tensors). A list is not a
    tuple of Tensors here, as in PyTorch."""
    from ..tensor import Tensor
    was_tuple = isinstance(x, tuple)
    items = x if was_tuple else (x,)
    for i, el in enumerate(items):
        if not isinstance(el, Tensor):
            where = f"the value at index {i}" if was_tuple else f"the given {arg_name}"
            raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of Tensors "
                            f"but {where} has type {type(el)}.")
    return was_tuple, items


def _fresh_inputs(inputs, create_graph, need_graph, fn_name):
    """New tensor objects for the inputs: views (still attached to the caller's
    graph) when create_graph keeps the result differentiable with respect to
    them, detached copies otherwise."""
    fresh = []
    for i, t in enumerate(inputs):
        if create_graph and t.requires_grad:
            fresh.append(t.view_as(t))
            continue
        if need_graph and not t.dtype.is_floating_point:
            raise RuntimeError(f"{fn_name}: only Tensors of floating point dtype can require gradients "
                               f"(input {i} has dtype {t.dtype})")
        fresh.append(t.detach().requires_grad_(need_graph))
    return tuple(fresh)


def _check_v(v, refs, refs_was_tuple, fn_name):
    if len(v) != len(refs):
        if refs_was_tuple:
            raise RuntimeError(f"{fn_name}: v is a tuple of invalid length: should be {len(refs)} but got "
                               f"{len(v)}.")
        raise RuntimeError(f"{fn_name}: The given v should contain a single Tensor.")
    for i, (a, ref) in enumerate(zip(v, refs)):
        entry = f"Entry {i} in " if refs_was_tuple else ""
        if a.shape != ref.shape:
            raise RuntimeError(f"{fn_name}: {entry}v has invalid size: should be {list(ref.shape)} but got "
                               f"{list(a.shape)}.")
        if a.device != ref.device:
            raise RuntimeError(f"{fn_name}: {entry}v is on {a.device} but should be on {ref.device}.")


def _prepared_v(v, refs, refs_was_tuple, create_graph, fn_name, none_ok_message):
    """v as a tuple of fresh tensors checked against `refs`; None only where
    `refs` is one tensor with one element (then the grad call uses ones)."""
    if v is None:
        if len(refs) != 1 or refs[0].numel() != 1:
            raise RuntimeError(f"{fn_name}: {none_ok_message}")
        return None
    _, v = _tensor_tuple(v, "v", fn_name)
    v = _fresh_inputs(v, create_graph, False, fn_name)
    _check_v(v, refs, refs_was_tuple, fn_name)
    return v


_V_NONE_OUTPUT = ("The vector v can only be None if the user-provided function returns a single Tensor with a "
                  "single element.")
_V_NONE_INPUT = ("The vector v can only be None if the input to the user-provided function is a single "
                 "Tensor with a single element.")


def _call(func, inputs, strict, fn_name):
    """Run the user's function; its outputs as (was a tuple, tuple of Tensors)."""
    was_tuple, outputs = _tensor_tuple(func(*inputs), "outputs of the user-provided function", fn_name)
    if strict:
        for i, out in enumerate(outputs):
            if not out.requires_grad:
                raise RuntimeError(f"{fn_name}: Output {i} of the user-provided function does not require "
                                   "gradients. The outputs must be computed in a differentiable manner from "
                                   "the input when running in strict mode.")
    return was_tuple, outputs


def _single_element_output(was_tuple, outputs, fn_name):
    if was_tuple:
        raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
    if outputs[0].numel() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {fn_name} should contain a single "
                           "element")


# ---- gradients ---------------------------------------------------------------------------------

def _grad_or_none(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None):
    """ag.autograd.grad over the outputs that require grad (entries may be
    None); None for every input when none does."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    kept = [(o, g) for o, g in zip(outputs, grad_outputs) if o is not None and o.requires_grad]
    if not kept:
        return (None,) * len(inputs)
    outs, grads = zip(*kept)
    from . import grad as _grad          # (at call time: the package imports this module while it loads)
    return _grad(outs, inputs, grads, retain_graph=retain_graph, create_graph=create_graph, allow_unused=True)


# Why a gradient can be missing, by where it was taken (the text of PyTorch's strict-mode errors).
_MISSING = {
    "back": "The output of the user-provided function is independent of input {i}. This is not allowed in "
            "strict mode.",
    "back_trick": "The gradient with respect to the input is independent of entry {i} in the grad_outputs "
                  "when using the double backward trick to compute forward mode gradients. This is not "
                  "allowed in strict mode.",
    "double_back": "The jacobian of the user-provided function is independent of input {i}. This is not "
                   "allowed in strict mode.",
    "double_back_trick": "The hessian of the user-provided function is independent of entry {i} in the "
                         "grad_jacobian. This is not allowed in strict mode as it prevents from using the "
                         "double backward trick to replace forward mode AD.",
}


def _zeros_for_missing(grads, refs, strict, create_graph, stage, fn_name):
    """Zeros (shaped as refs[i]) for the gradients that are None, or, in
    strict mode, the error saying which is missing or constant."""
    from ..creation import zeros_like
    filled = []
    for i, (g, ref) in enumerate(zip(grads, refs)):
        if g is None:
            if strict:
                raise RuntimeError(f"{fn_name}: " + _MISSING[stage].format(i=i))
            g = zeros_like(ref)
        elif strict and create_graph and not g.requires_grad:
            what = "hessian" if stage.startswith("double") else "jacobian"
            raise RuntimeError(f"{fn_name}: The {what} of the user-provided function is independent of input "
                               f"{i}. This is not allowed in strict mode when create_graph=True.")
        filled.append(g)
    return tuple(filled)


def _check_grads_depend(grads, stage, strict, fn_name):
    """Strict mode: every gradient exists and depends on the inputs (stage
    'grad_inputs': jvp's first backward; 'jacobian': a Hessian's gradient)."""
    if not strict:
        return
    for i, g in enumerate(grads):
        if g is None:
            raise RuntimeError(f"{fn_name}: The output of the user-provided function is independent of input "
                               f"{i}. This is not allowed in strict mode.")
        if g.requires_grad:
            continue
        if stage == "grad_inputs":
            raise RuntimeError(f"{fn_name}: The gradient with respect to input {i} is independent of the inputs "
                               "of the user-provided function. This is not allowed in strict mode.")
        raise RuntimeError(f"{fn_name}: While computing the hessian, found that the jacobian of the "
                           f"user-provided function with respect to input {i} is independent of the input. "
                           "This is not allowed in strict mode. You should ensure that your function is "
                           "twice differentiable and that the jacobian depends on the inputs (this would "
                           "be violated by a linear function for example).")


# ---- results -----------------------------------------------------------------------------------

def _detached(results, create_graph):
    """Results without history unless create_graph (nested tuples kept)."""
    if create_graph:
        return results
    return tuple(_detached(r, False) if isinstance(r, tuple) else r.detach() for r in results)


def _untuple(results, was_tuple):
    """Undo the tupling of a single Tensor argument: `was_tuple` is one flag,
    or (outer, inner) for a tuple of tuples."""
    if isinstance(was_tuple, tuple):
        outer, inner = was_tuple
        if not inner:
            results = tuple(r[0] for r in results)
        return results if outer else results[0]
    return results if was_tuple else results[0]


# ---- public functions --------------------------------------------------------------------------

def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(*inputs), v^T J): the vector-Jacobian product, shaped as the
    inputs. v may be None when func returns one one-element Tensor."""
    with enable_grad():
        inputs_were_tuple, inputs = _tensor_tuple(inputs, "inputs", "vjp")
        inputs = _fresh_inputs(inputs, create_graph, True, "vjp")
        outputs_were_tuple, outputs = _call(func, inputs, strict, "vjp")
        v = _prepared_v(v, outputs, outputs_were_tuple, create_graph, "vjp", _V_NONE_OUTPUT)
    with set_grad_enabled(create_graph or is_grad_enabled()):
        grads = _grad_or_none(outputs, inputs, v, create_graph=create_graph)
        result = _zeros_for_missing(grads, inputs, strict, create_graph, "back", "vjp")
    return (_untuple(_detached(outputs, create_graph), outputs_were_tuple),
            _untuple(_detached(result, create_graph), inputs_were_tuple))


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(*inputs), J v): the Jacobian-vector product, shaped as the
    outputs, by the double backward trick. v may be None when the input is
    one one-element Tensor."""
    from ..creation import zeros_like
    with enable_grad():
        inputs_were_tuple, inputs = _tensor_tuple(inputs, "inputs", "jvp")
        inputs = _fresh_inputs(inputs, create_graph, True, "jvp")
        v = _prepared_v(v, inputs, inputs_were_tuple, create_graph, "jvp", _V_NONE_INPUT)
        outputs_were_tuple, outputs = _call(func, inputs, strict, "jvp")
        # The backward is linear in its upstream gradient u, so the value of u
        # never enters d(J^T u)/du = J: zeros do (finite, unlike empty memory).
        upstream = tuple(zeros_like(out, requires_grad=True) for out in outputs)
        grad_inputs = _grad_or_none(outputs, inputs, upstream, create_graph=True)
        _check_grads_depend(grad_inputs, "grad_inputs", strict, "jvp")
    with set_grad_enabled(create_graph or is_grad_enabled()):
        grads = _grad_or_none(grad_inputs, upstream, v, create_graph=create_graph)
        result = _zeros_for_missing(grads, outputs, strict, create_graph, "back_trick", "jvp")
    return (_untuple(_detached(outputs, create_graph), outputs_were_tuple),
            _untuple(_detached(result, create_graph), outputs_were_tuple))


def _check_strategy(strategy, create_graph, strict, vectorize, fn_name, arg_name="strategy"):
    """PyTorch's checks of the strategy argument, in its order (forward mode only with vectorize=True, and
    neither create_graph nor strict)."""
    if strategy not in _STRATEGIES:
        raise AssertionError(f'{fn_name}: Expected {arg_name} to be either "forward-mode" or "reverse-mode". '
                             'Hint: If your function has more outputs than inputs, "forward-mode" tends to be '
                             'more performant. Otherwise, prefer to use "reverse-mode".')
    if strategy == "reverse-mode":
        return
    if create_graph:
        raise NotImplementedError(f'{fn_name}: `create_graph=True` and `strategy="forward-mode"` are not '
                                  'supported together (yet). Please either set `create_graph=False` or '
                                  '`strategy="reverse-mode"`.')
    if strict:
        raise RuntimeError(f'{fn_name}: `strict=True` and `strategy="forward-mode"` are not supported '
                           'together (yet). Please either set `strict=False` or `strategy="reverse-mode"`.')
    if not vectorize:
        raise NotImplementedError(f"{fn_name}: Computing Jacobian using forward-AD or forward-over-reverse "
                                  "Hessian is only implemented for `vectorize=True`.")


def _jacobian_rows(out, i, inputs, create_graph, strict, fn_name):
    """d out / d inputs[j] for every j, shaped out.shape + inputs[j].shape:
    one backward per element of `out`."""
    from ..creation import zeros, zeros_like
    from ..ops.shape import stack
    rows = tuple([] for _ in inputs)
    flat = out.reshape(-1)
    for k in range(out.numel()):
        grads = _grad_or_none((flat[k],), inputs, retain_graph=True, create_graph=create_graph)
        for j, g in enumerate(grads):
            if g is None:
                if strict:
                    raise RuntimeError(f"{fn_name}: Output {i} of the user-provided function is independent of "
                                       f"input {j}. This is not allowed in strict mode.")
                g = zeros_like(inputs[j])
            elif strict and create_graph and not g.requires_grad:
                raise RuntimeError(f"{fn_name}: The jacobian of the user-provided function is independent of "
                                   f"input {j}. This is not allowed in strict mode when create_graph=True.")
            rows[j].append(g)
    # An empty output has an empty Jacobian (PyTorch fails stacking no rows).
    return tuple(stack(r).reshape(out.shape + x.shape) if r else
                 zeros(out.shape + x.shape, dtype=x.dtype, device=x.device) for r, x in zip(rows, inputs))


def columns_by_basis(inputs, column):
    """(the first call's result, Jacobian blocks [output i][input j] shaped out_i.shape + in_j.shape): one
    call column(tangents) per element of the inputs, with that element's basis tangent (zeros elsewhere),
    returning (result, output tensors, their tangents); with no element at all, one call with zeros."""
    from ..creation import zeros, zeros_like
    from ..ops.shape import stack
    columns, first = [[] for _ in inputs], None
    for basis in [(j, k) for j, x in enumerate(inputs) for k in range(x.numel())] or [None]:
        tangents = [zeros_like(x) for x in inputs]
        if basis is not None:
            tangents[basis[0]].view(-1)[basis[1]] = 1
        result, outputs, got = column(tangents)
        first = first or (result, outputs)
        if basis is not None:
            columns[basis[0]].append(got)
    result, outputs = first
    return result, [[stack([col[i] for col in columns[j]], -1).reshape(o.shape + x.shape) if columns[j] else
                     zeros(o.shape + x.shape, dtype=o.dtype, device=o.device) for j, x in enumerate(inputs)]
                    for i, o in enumerate(outputs)]


def _jacobian_columns(func, inputs, fn_name):
    """(outputs were a tuple, the Jacobian blocks), a column per input element by forward-mode AD."""
    from . import forward_ad
    from ..creation import zeros_like
    leaves = tuple(x.detach().requires_grad_() for x in inputs)    # (a hessian's gradient inside needs a graph)

    def column(tangents):
        with forward_ad.dual_level():
            was_tuple, outputs = _call(func, tuple(map(forward_ad.make_dual, leaves, tangents)), False, fn_name)
            got = [forward_ad.unpack_dual(o).tangent for o in outputs]
        return was_tuple, outputs, [zeros_like(o) if t is None else t.detach() for o, t in zip(outputs, got)]
    was_tuple, blocks = columns_by_basis(leaves, column)
    return was_tuple, tuple(tuple(row) for row in blocks)


def _jacobian(func, inputs, create_graph, strict, vectorize, strategy, fn_name):
    _check_strategy(strategy, create_graph, strict, vectorize, fn_name)
    from . import forward_ad
    if strategy == "forward-mode" and forward_ad._level is None:     # (in an open level: by rows)
        with enable_grad():
            inputs_were_tuple, inputs = _tensor_tuple(inputs, "inputs", fn_name)
            _fresh_inputs(inputs, False, True, fn_name)                # (its checks)
            outputs_were_tuple, result = _jacobian_columns(func, inputs, fn_name)
        return _untuple(_detached(result, False), (outputs_were_tuple, inputs_were_tuple))
    with enable_grad():
        inputs_were_tuple, inputs = _tensor_tuple(inputs, "inputs", fn_name)
        inputs = _fresh_inputs(inputs, create_graph, True, fn_name)
        outputs_were_tuple, outputs = _call(func, inputs, strict, fn_name)
        if vectorize and strict:
            raise RuntimeError(f"{fn_name}: `strict=True` and `vectorized=True` are not supported together. "
                               "Please either set `strict=False` or `vectorize=False`.")
        result = tuple(_jacobian_rows(out, i, inputs, create_graph, strict, fn_name)
                       for i, out in enumerate(outputs))
        return _untuple(_detached(result, create_graph), (outputs_were_tuple, inputs_were_tuple))


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """The Jacobian of func at inputs: a Tensor of shape out.shape + in.shape
    for one input and one output; a tuple over the inputs or the outputs
    where one of them is a tuple; a tuple (over outputs) of tuples (over
    inputs) where both are. vectorize=True gives the same values, computed
    row by row here; strategy="forward-mode" (with vectorize=True), column by
    column by forward-mode AD."""
    return _jacobian(func, inputs, create_graph, strict, vectorize, strategy, "jacobian")


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a function returning one one-element Tensor: shape
    in.shape + in.shape for one input, a tuple of tuples (H[i][j] of shape
    inputs[i].shape + inputs[j].shape) for a tuple of inputs."""
    inputs_were_tuple, inputs = _tensor_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in _STRATEGIES:
        raise AssertionError('hessian: Expected strategy to be either "forward-mode" or "reverse-mode".')

    def scalar_func(*xs):
        was_tuple, out = _call(func, xs, strict, "hessian")
        _single_element_output(was_tuple, out, "hessian")
        return out[0].squeeze()

    def gradient(*xs):
        jac = _jacobian(scalar_func, xs, True, False, False, "reverse-mode", "hessian")
        _check_grads_depend(jac, "jacobian", strict, "hessian")
        return jac

    result = _jacobian(gradient, inputs, create_graph, strict, vectorize, outer_jacobian_strategy, "hessian")
    return _untuple(result, (inputs_were_tuple, inputs_were_tuple))


def _gradient_of_scalar(func, inputs, v, create_graph, strict, fn_name):
    """Shared start of vhp and hvp: fresh inputs, checked v, the outputs and
    their gradient with respect to the inputs (kept differentiable)."""
    inputs_were_tuple, inputs = _tensor_tuple(inputs, "inputs", fn_name)
    inputs = _fresh_inputs(inputs, create_graph, True, fn_name)
    v = _prepared_v(v, inputs, inputs_were_tuple, create_graph, fn_name, _V_NONE_INPUT)
    outputs_were_tuple, outputs = _call(func, inputs, strict, fn_name)
    _single_element_output(outputs_were_tuple, outputs, fn_name)
    jac = _grad_or_none(outputs, inputs, create_graph=True)
    _check_grads_depend(jac, "jacobian", strict, fn_name)
    return inputs_were_tuple, inputs, v, outputs, jac


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(*inputs), v^T H) for a function returning one one-element Tensor."""
    with enable_grad():
        inputs_were_tuple, inputs, v, outputs, jac = _gradient_of_scalar(func, inputs, v, create_graph, strict,
                                                                          "vhp")
    with set_grad_enabled(create_graph or is_grad_enabled()):
        grads = _grad_or_none(jac, inputs, v, create_graph=create_graph)
        result = _zeros_for_missing(grads, inputs, strict, create_graph, "double_back", "vhp")
    return _detached(outputs, create_graph)[0], _untuple(_detached(result, create_graph), inputs_were_tuple)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(*inputs), H v) for a function returning one one-element Tensor,
    by the double backward trick (equal to vhp for a twice continuously
    differentiable function, whose Hessian is symmetric)."""
    from ..creation import zeros_like
    with enable_grad():
        inputs_were_tuple, inputs, v, outputs, jac = _gradient_of_scalar(func, inputs, v, create_graph, strict,
                                                                          "hvp")
        upstream = tuple(zeros_like(x, requires_grad=True) for x in inputs)
        double_back = _grad_or_none(jac, inputs, upstream, create_graph=True)
    with set_grad_enabled(create_graph or is_grad_enabled()):
        grads = _grad_or_none(double_back, upstream, v, create_graph=create_graph)
        result = _zeros_for_missing(grads, inputs, strict, create_graph, "double_back_trick", "hvp")
    return _detached(outputs, create_graph)[0], _untuple(_detached(result, create_graph), inputs_were_tuple)
