"""ag.autograd: backward(), grad(), custom Functions, gradcheck, grad mode."""
import math

from .grad_mode import no_grad, enable_grad, set_grad_enabled, is_grad_enabled
from .graph import Node, AccumulateGrad, GradientEdge
from . import engine as _engine
from . import op as _op


def _as_tuple(x, what):
    if x is None:
        return None
    if isinstance(x, (list, tuple)) and not isinstance(x, GradientEdge):
        return tuple(x)
    return (x,)


def _root_grads(outputs, grad_outputs, create_graph, op_name):
    """Edges of the outputs and their starting gradients (ones for scalars)."""
    Tensor = _op.Tensor                  # bound by autograd_gpu.tensor (an import here costs ~1 us)
    edges, grads = [], []
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    for g in grad_outputs:              # (PyTorch checks the types before the count)
        if g is not None and not isinstance(g, Tensor):
            raise TypeError(f"{op_name}: gradients can be either Tensors or None, but got {type(g).__name__}")
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"{op_name}: got {len(grad_outputs)} gradients for {len(outputs)} outputs")
    for i, (t, g) in enumerate(zip(outputs, grad_outputs)):
        if isinstance(t, GradientEdge):
            edges.append((t.node, t.output_nr))
            grads.append(_edge_root_grad(t, g, i, create_graph))
            continue
        if not isinstance(t, Tensor):
            raise TypeError(f"{op_name}: expected a Tensor as output {i}, got {type(t).__name__}")
        e = _op.edge(t)
        if e[0] is None:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        if g is None:
            if t.numel() != 1:
                raise RuntimeError(f"grad can be implicitly created only for scalar outputs (output {i} "
                                   f"has shape {list(t.shape)})")
            g = _implicit_grad(t)
            g = Tensor._make(g, t._backend) if create_graph else g
        else:
            if g.shape != t.shape:
                raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {list(g.shape)} and "
                                   f"output[{i}] has a shape of {list(t.shape)}.")
            if g._backend is not t._backend:
                raise RuntimeError(f"invalid gradient at index {i} - expected device {t.device} but got "
                                   f"{g.device}")
            if g._data.dtype != t._data.dtype:
                g = g.to(t.dtype)
            g = g if create_graph else g._data
        edges.append(e)
        grads.append(g)
    return edges, grads


def _edge_root_grad(e, g, i, create_graph):
    """The starting gradient for a GradientEdge given as an output (its shape
    and dtype are those its node records for that output)."""
    shape, dtype = e.node._out_meta[e.output_nr]
    bk = e.node._backend
    if g is None:
        if math.prod(shape) != 1:
            raise RuntimeError(f"grad can be implicitly created only for scalar outputs (output {i} "
                               f"has shape {list(shape)})")
        g = bk.xp.ones(shape, dtype)
        return _op.Tensor._make(g, bk) if create_graph else g
    if tuple(g.shape) != tuple(shape):
        raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {list(g.shape)} and "
                           f"output[{i}] has a shape of {list(shape)}.")
    return g if create_graph else g._data


def _implicit_grad(t):
    """The gradient of a one-element output when none is given: ones."""
    d = t._data
    return t._backend.xp.ones(d.shape, d.dtype)     # (ones_like's Python wrapper costs more)


def _backward_scalar(t, retain_graph):
    """loss.backward(), the everyday call: one tensor with a grad_fn and one
    element, no gradient given. What backward() below does for it, without
    its general checks (a tuple, a list of gradients, their shapes)."""
    if t._data.size != 1:
        return backward(t, None, retain_graph)            # (raises its error)
    _engine.execute([_op.edge(t)], [_implicit_grad(t)], retain_graph, False)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, grad_variables=None,
             inputs=None):
    """Accumulate gradients of `tensors` into the .grad of the leaves (or of
    `inputs` only, when given)."""
    tensors = _as_tuple(tensors, "tensors")
    grad_tensors = _as_tuple(grad_tensors if grad_tensors is not None else grad_variables, "grad_tensors")
    if retain_graph is None:
        retain_graph = create_graph
    edges, grads = _root_grads(tensors, grad_tensors, create_graph, "backward")
    targets = None
    if inputs is not None:
        inputs = _as_tuple(inputs, "inputs")
        if not inputs:
            raise RuntimeError("backward: 'inputs' argument to backward() cannot be empty.")
        targets = _engine.Targets([_input_edge(t, i, "backward") for i, t in enumerate(inputs)], inputs)
        for t in inputs:
            if not isinstance(t, GradientEdge) and t._node is not None:
                t.retain_grad()         # as PyTorch: a non-leaf input gets (and keeps) its .grad
    _engine.execute(edges, grads, retain_graph, create_graph, targets=targets, accumulate=True)


def _input_edge(t, i, op_name):
    from ..tensor import Tensor
    if isinstance(t, GradientEdge):
        return (t.node, t.output_nr)
    if not isinstance(t, Tensor):
        raise TypeError(f"{op_name}: expected Tensors as inputs, got {type(t).__name__} at index {i}")
    if not t._rg:
        raise RuntimeError(f"One of the differentiated Tensors does not require grad (input {i})")
    return _op.edge(t)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """The gradients of `outputs` with respect to `inputs`, returned (not
    accumulated into .grad)."""
    from ..tensor import Tensor
    outputs = _as_tuple(outputs, "outputs")
    inputs = _as_tuple(inputs, "inputs")
    if not inputs:
        raise RuntimeError("grad: `inputs` argument to `grad()` cannot be empty.")
    grad_outputs = _as_tuple(grad_outputs, "grad_outputs")
    if allow_unused is None:
        allow_unused = materialize_grads
    if retain_graph is None:
        retain_graph = create_graph
    edges, grads = _root_grads(outputs, grad_outputs, create_graph, "grad")
    targets = _engine.Targets([_input_edge(t, i, "grad") for i, t in enumerate(inputs)], inputs,
                              all_used=not allow_unused)
    captured = _engine.execute(edges, grads, retain_graph, create_graph, targets=targets, accumulate=False)
    result = []
    for i, (t, g) in enumerate(zip(inputs, captured)):
        if g is None:
            if materialize_grads and isinstance(t, GradientEdge):
                raise RuntimeError("materialize_grads cannot be used when the given input is a GradientEdge")
            if materialize_grads:
                from ..creation import zeros_like
                result.append(zeros_like(t))
                continue
            if not allow_unused:                # reached, but no gradient came (a None from a backward)
                raise _engine.unused_input_error(i)
            result.append(None)
        elif create_graph:
            result.append(g)
        else:
            bk = t.node._backend if isinstance(t, GradientEdge) else t._backend
            result.append(Tensor._make(_op.as_array(g, bk), bk))
    return tuple(result)


from .function import Function, FunctionCtx  # noqa: E402
from .gradcheck import gradcheck, gradgradcheck  # noqa: E402
from .anomaly_mode import detect_anomaly, set_detect_anomaly  # noqa: E402
from . import functional  # noqa: E402,F401  (ag.autograd.functional: jacobian, hessian, vjp, jvp, hvp, vhp)
from . import forward_ad  # noqa: E402,F401  (ag.autograd.forward_ad: dual tensors)
from . import profiler  # noqa: E402,F401  (ag.autograd.profiler: the legacy profiler API)
from . import variable as _variable  # noqa: E402  (torch.autograd's legacy and process-wide names)

__all__ = ["backward", "grad", "Function", "FunctionCtx", "gradcheck", "gradgradcheck", "no_grad",
           "enable_grad", "set_grad_enabled", "is_grad_enabled", "Node", "AccumulateGrad", "detect_anomaly",
           "set_detect_anomaly"]
globals().update({_name: getattr(_variable, _name) for _name in _variable.__all__})
__all__ += _variable.__all__
