"""One node on the output of an op composed here where PyTorch records one.

PyTorch's backward of a convolution, a pooling, a norm or a margin loss is
one op of the gradient and of the inputs it saved, so under create_graph each
gradient it returns requires grad where one of those inputs does, even one
that does not depend on them (a bias's, an average pool's): its derivative in
them is zero. Ours are composed of pieces linear in g, so a constant g gave
constant gradients, and differentiating one again raised "does not require
grad" where PyTorch gives zeros. `as_one_node(y, name, op_name, saved)` puts
a node named as PyTorch's on the composed output y, saving those inputs (a
write to one before backward is PyTorch's version error); under create_graph
it hands a constant g on as a node of g and them (unless tie=False: where
PyTorch's formulas keep a bias's gradient a function of g alone)."""
import functools

from ..autograd.grad_mode import state as grad_state
from ..tensor import Tensor
from ..autograd.op import Op
from . import prims as P


class _OneNode(Op):
    """The identity on y (input 0); inputs 1.. are saved, never differentiated here."""
    exact_grads = True

    def forward(self, y, *inputs):
        return y

    def backward(self, g, *inputs):
        if self.ties and type(g) is Tensor:          # (create_graph: Tensors)
            g = _tied(g, inputs, self.Gradient)
        return (g,) + (None,) * len(inputs)

    @staticmethod
    def jvp(out, inputs, tangents):
        return tangents[0]


class _TiedGradient(Op):
    """g, as a node of g and the inputs: the same in g, zero in the inputs
    (None in those PyTorch's double backward leaves undefined)."""
    exact_grads = True
    undefined = ()

    def forward(self, g, *inputs):
        return g

    def backward(self, gg, *inputs):
        zeros = tuple(P.zeros_like(t) if self.needs(i) and i not in self.undefined else None
                      for i, t in enumerate(inputs, 1))
        return (gg if self.needs(0) else None,) + zeros

    @staticmethod
    def jvp(out, inputs, tangents):
        return tangents[0]


@functools.lru_cache(maxsize=None)
def _gradient_class(name, op_name, n_inputs, undefined):
    return type(name + "Gradient", (_TiedGradient,), dict(
        _name=name.replace("Backward", "BackwardBackward"), op_name=op_name + "_backward",
        save_inputs=tuple(range(1, n_inputs + 1)), undefined=undefined))


@functools.lru_cache(maxsize=None)
def _node_class(name, op_name, n_saved, tie, undefined):
    return type(name, (_OneNode,), dict(_name=name, op_name=op_name, save_inputs=tuple(range(1, n_saved + 1)),
                                        Gradient=_gradient_class(name, op_name, n_saved, undefined), ties=tie))


def _tied(g, inputs, gradient):
    """g as a `gradient` node of g and `inputs` when g is a constant and one of them requires grad."""
    if g._rg or not any(t._rg for t in inputs):
        return g
    return gradient.applyN((g,) + tuple(inputs))


def tie_gradient(g, inputs, name, op_name):
    """For a one-node op's backward under create_graph: g as a node of g and
    `inputs` (Tensors) when g is a constant and one of them requires grad."""
    return _tied(g, inputs, _gradient_class(name, op_name, len(inputs), ()))


def as_one_node(y, name, op_name, saved=(), tie=True, undefined=()):
    """y, the output of an op composed here, as the output of one node `name`
    (PyTorch's, e.g. ConvolutionBackward0) saving the tensors in `saved` that
    PyTorch's node saves (None entries are skipped; none: a node for the name).
    undefined: those of them whose tied derivative is None (PyTorch's double
    backward gives none), not zeros."""
    if not (y._rg and grad_state.enabled) or y._node is None:      # (a leaf: the user's own tensor)
        return y
    saved = tuple(t for t in saved if t is not None)
    places = tuple(i for i, t in enumerate(saved, 1) if any(t is u for u in undefined))
    out = _node_class(name, op_name, len(saved), tie, places).applyN((y,) + saved)
    out._vc = y._vc        # (one array: a write through either is seen by whatever saved the other)
    return out


def composite_gradients(node, inputs, compose, grads):
    """A one-node op's backward under create_graph, by its composite: compose(*inputs) recomputed in
    Tensor ops on one alias of each input (two inputs may be one tensor, whose gradient is then one
    per place), differentiated with create_graph against the output gradients `grads` (None: that
    output unused). One gradient per input: None where the node needs none, zeros where unused."""
    from ..autograd import grad
    from ..autograd.grad_mode import enable_grad
    with enable_grad():
        aliases = [t.view_as(t) for t in inputs]
        outs = compose(*aliases)
    outs = outs if type(outs) is tuple else (outs,)
    pairs = [(o, g) for o, g in zip(outs, grads) if g is not None]
    wanted = [i for i in range(len(inputs)) if node.needs(i)]
    got = grad([o for o, _ in pairs], [aliases[i] for i in wanted], [g for _, g in pairs], create_graph=True,
               allow_unused=True)
    result = [None] * len(inputs)
    for i, g in zip(wanted, got):
        result[i] = g if g is not None else aliases[i].new_zeros(aliases[i].shape)
    return tuple(result)
