"""Part 4 of the walkthrough: the blog's network rebuilt from modules, a loss
module and an optimizer (the series' next steps), instead of hand-made
weight tensors and hand-written updates."""
import sys


def part4(device, out=None, epochs=200, report_every=10, lr=0.08):
    """Train nn.Sequential(Linear(3, 32), ReLU(), Linear(32, 1)) with MSELoss
    and Adam on the blog's data (y = 0.2 x1 - 1.3 x2 - 0.5 x3 + noise),
    printing the loss every `report_every` epochs. Returns the list of losses."""
    import autograd_gpu as ag
    from autograd_gpu import nn, optim
    out = sys.stdout if out is None else out         # (read at call time: capture tools swap it)

    print(f"training on device: {device}", file=out)
    ag.manual_seed(777)
    n, d_in, d_hidden, d_out = 100, 3, 32, 1
    x = ag.randn(n, d_in, device=device)
    y = x[:, 0, None] * 0.2 - x[:, 1, None] * 1.3 - x[:, 2, None] * 0.5 + ag.randn(n, 1, device=device)

    model = nn.Sequential(nn.Linear(d_in, d_hidden), nn.ReLU(), nn.Linear(d_hidden, d_out)).to(device)
    loss_fn = nn.MSELoss()
    optimizer = optim.Adam(model.parameters(), lr=lr)
    print(model, file=out)

    losses = []
    for epoch in range(1, epochs + 1):
        optimizer.zero_grad()            # gradients accumulate otherwise
        loss = loss_fn(model(x), y)      # forward pass and loss
        loss.backward()                  # gradients of the loss w.r.t. every parameter
        optimizer.step()                 # one Adam update, in place, not recorded
        losses.append(loss.item())
        if epoch % report_every == 0:
            print(f"Epoch: {epoch:>3}   Loss: {losses[-1]:.4f}", file=out)
    return losses


if __name__ == "__main__":
    import autograd_gpu as _ag
    part4("cuda" if _ag.cuda.is_available() else "cpu")
