"""The blog walkthrough "Introducing torch autograd", in Python (parts 1-3),
and its follow-up with modules and an optimizer (part 4):

    python -m autograd_gpu.walkthrough [--device cpu|cuda] [--part N]

Each step echoes its code and prints what it returns, as an interactive
session would. It runs on CUDA when a GPU is usable, else on the CPU."""
import argparse
import sys
import warnings


class Session:
    """Echo a line of code, run it, print the value of an expression."""

    def __init__(self, namespace, out=None):
        self.ns = namespace
        self.out = sys.stdout if out is None else out

    def __call__(self, *lines):
        for src in lines:
            print(">>> " + src, file=self.out)
            try:
                code = compile(src, "<walkthrough>", "eval")
            except SyntaxError:
                exec(compile(src, "<walkthrough>", "exec"), self.ns)
                continue
            value = eval(code, self.ns)
            if value is not None:
                print(repr(value), file=self.out)

    def say(self, text):
        print(f"\n# {text}", file=self.out)


def part1(ag, device, out=None):
    """Autograd basics: requires_grad, grad_fn, backward, grad."""
    run = Session({"ag": ag, "device": device}, out)
    run.say("a tensor with respect to which gradients are computed")
    run("x = ag.ones(2, 2, requires_grad=True, device=device)")
    run.say("an operation on it records how to differentiate it")
    run("y = x.mean()", "y.grad_fn")
    run.say("backward() computes the gradient of y with respect to x")
    run("y.backward()", "x.grad")


def part2(ag, device, out=None):
    """Digging deeper: the graph behind a computation, retained gradients."""
    run = Session({"ag": ag, "device": device}, out)
    run.say("a small graph: x1, x2 -> y -> z -> out")
    run("x1 = ag.ones(2, 2, requires_grad=True, device=device)",
        "x2 = ag.tensor([1.1], requires_grad=True, device=device)",
        "y = x1 * (x2 + 2)",
        "y.retain_grad()",
        "z = y.pow(2) * 3",
        "z.retain_grad()",
        "out = z.mean()")
    run.say("walking the backward graph from the output down to the leaves")
    run("out.grad_fn",
        "out.grad_fn.next_functions[0][0]",
        "out.grad_fn.next_functions[0][0].next_functions[0][0]",
        "out.grad_fn.next_functions[0][0].next_functions[0][0].next_functions[0][0]",
        "[f for f, _ in out.grad_fn.next_functions[0][0].next_functions[0][0].next_functions[0][0].next_functions]",
        "out.grad_fn.next_functions[0][0].next_functions[0][0].next_functions[0][0].next_functions[1][0].next_functions[0][0]")
    run.say("after backward(), every tensor that asked for it holds its gradient")
    run("out.backward()", "z.grad", "y.grad", "x2.grad", "x1.grad")

    run.say("the book's example: f(x1, x2) = 0.2 x1^2 + 0.2 x2^2 - 5 at (2, 2)")
    run("x1 = ag.tensor([2.0], requires_grad=True, device=device)",
        "x2 = ag.tensor([2.0], requires_grad=True, device=device)",
        "x3 = x1.square()", "x5 = x3 * 0.2", "x4 = x2.square()", "x6 = x4 * 0.2",
        "x7 = x5 + x6 - 5", "x7", "x7.requires_grad",
        "x7.backward()", "x1.grad", "x2.grad")
    run.say("intermediate gradients are not kept: reading one warns and gives None")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run("x3.grad")
    for w in caught:
        print(f"UserWarning: {w.message}", file=out)
    run.say("unless retain_grad() asks for them")
    run("x3 = x1.square()", "x3.retain_grad()", "x5 = x3 * 0.2", "x5.retain_grad()",
        "x4 = x2.square()", "x4.retain_grad()", "x6 = x4 * 0.2", "x6.retain_grad()",
        "x7 = x5 + x6 - 5", "x7.backward()",
        "x3.grad", "x4.grad", "x5.grad", "x6.grad",
        "x3.grad_fn", "x4.grad_fn", "x5.grad_fn", "x6.grad_fn")


def part3(ag, device, out=None, epochs=200, report_every=10):
    """The simple network, trained with autograd (weights still updated by hand).
    Returns the list of losses."""
    out = sys.stdout if out is None else out
    ag.manual_seed(777)
    d_in, d_out, n, d_hidden = 3, 1, 100, 32
    x = ag.randn(n, d_in, device=device)
    y = x[:, 0, None] * 0.2 - x[:, 1, None] * 1.3 - x[:, 2, None] * 0.5 + ag.randn(n, 1, device=device)
    w1 = ag.randn(d_in, d_hidden, requires_grad=True, device=device)
    w2 = ag.randn(d_hidden, d_out, requires_grad=True, device=device)
    b1 = ag.zeros(1, d_hidden, requires_grad=True, device=device)
    b2 = ag.zeros(1, d_out, requires_grad=True, device=device)
    learning_rate = 1e-4
    losses = []
    for t in range(1, epochs + 1):
        y_pred = x.mm(w1).add(b1).clamp(min=0).mm(w2).add(b2)      # forward pass
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        if t % report_every == 0:
            print(f"Epoch: {t:>3}   Loss: {loss.item():.4f}", file=out)
        loss.backward()                                            # backpropagation
        with ag.no_grad():                                         # updates are not recorded
            for w in (w1, w2, b1, b2):
                w.sub_(learning_rate * w.grad)
                w.grad.zero_()                                     # gradients accumulate otherwise
    return losses


def pick_device(ag, requested=None):
    if requested:
        return requested
    return "cuda" if ag.cuda.is_available() else "cpu"


def main(argv=None):
    import autograd_gpu as ag
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda when available, else cpu")
    p.add_argument("--part", type=int, choices=[1, 2, 3, 4], action="append",
                   help="run only this part (repeatable)")
    args = p.parse_args(argv)
    device = pick_device(ag, args.device)
    parts = args.part or [1, 2, 3, 4]
    print(f"autograd_gpu walkthrough on device: {device}")
    if 1 in parts:
        print("\n=== Part 1: autograd basics ===")
        part1(ag, device)
    if 2 in parts:
        print("\n=== Part 2: digging deeper into the graph ===")
        part2(ag, device)
    if 3 in parts:
        print("\n=== Part 3: the simple network, now using autograd ===")
        losses = part3(ag, device)
        print(f"loss fell from {losses[0]:.4f} to {losses[-1]:.4f}")
    if 4 in parts:
        from .walkthrough_modules import part4
        print("\n=== Part 4: the same network with modules, a loss and an optimizer ===")
        losses = part4(device)
        print(f"loss fell from {losses[0]:.4f} to {losses[-1]:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
