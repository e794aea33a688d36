"""Helpers shared by modules and optimizers."""
from ..autograd.grad_mode import no_grad


def zero_grads(params, set_to_none=True):
    """Reset the gradients of `params`: to None (default), or to zeros in place
    (detached from any graph a create_graph backward gave them)."""
    for p in params:
        g = p.grad
        if g is None:
            continue
        if set_to_none:
            p.grad = None
        else:
            if g.grad_fn is not None:
                g.detach_()
            else:
                g.requires_grad_(False)
            with no_grad():
                g.zero_()
