"""einsum, as PyTorch's: an equation of subscripts ("ij,jk->ik", "...ij->...ji",
"ii") or the sublist form (einsum(a, [0, 1], b, [1, 2])). Composed of our
differentiable ops, as PyTorch composes it of its own: a subscript repeated in
one operand takes the diagonal, one no other operand or the output has is
summed away, and operands are contracted pairwise, left to right, by a batched
matrix product (a broadcast product where nothing is summed). Gradients (of any
order) come from those ops."""
import math
import string

from ..autograd.op import device_mismatch
from ..tensor import Tensor
from .diagonal import diagonal
from ..amp import cast_at_entry, casts_at_entry

_LETTERS = string.ascii_letters          # sublist integers 0-51 stand for a-z, A-Z


def _error(msg):
    return RuntimeError(f"einsum(): {msg}")


def _sublist_equation(args):
    """einsum(op0, sub0, op1, sub1, ..., [out]): the equation and the operands."""
    operands, subs = list(args[0::2]), list(args[1::2])
    out = operands.pop() if len(args) % 2 else None     # (an odd count: the last list is the output)

    def term(sub):
        text = ""
        for s in sub:
            if s is Ellipsis:
                text += "..."
            elif not isinstance(s, int):
                raise TypeError(f"einsum(): subscripts in a subscript list must be integers or Ellipsis, not "
                                f"{type(s).__name__}")
            elif not 0 <= s < len(_LETTERS):
                raise ValueError(f"einsum(): subscript in subscript list is not within the valid range [0, "
                                 f"{len(_LETTERS)}): {s}")
            else:
                text += _LETTERS[int(s)]
        return text
    equation = ",".join(term(sub) for sub in subs)
    return (equation if out is None else equation + "->" + term(out)), operands


def _parse_term(eq, start, end, what):
    """The labels of eq[start:end] (None for each dim of an ellipsis, once)."""
    labels, i, ellipsis = [], start, False
    while i < end:
        c = eq[i]
        if c == " ":
            i += 1
        elif c == ".":
            if eq[i:i + 3] != "..." or i + 3 > end:
                raise _error(f"found '.' for {what} that is not part of any ellipsis")
            if ellipsis:
                raise _error(f"found '.' for {what} for which an ellipsis was already found")
            ellipsis = True
            labels.append(None)
            i += 3
        elif c in _LETTERS:
            labels.append(c)
            i += 1
        else:
            raise _error(f"invalid subscript given at index {i} in the equation string, subscripts must be in "
                         "[a-zA-Z]")
    return labels


def _parse(equation, n_operands):
    arrow = equation.find("->")
    lhs_end = len(equation) if arrow < 0 else arrow
    terms, start = [], 0
    for k in range(lhs_end + 1):
        if k == lhs_end or equation[k] == ",":
            if len(terms) >= n_operands:
                raise _error("more operands were provided than specified in the equation")
            terms.append(_parse_term(equation, start, k, f"operand {len(terms)}"))
            start = k + 1
    if len(terms) < n_operands:
        raise _error("fewer operands were provided than specified in the equation")
    out = None if arrow < 0 else _parse_term(equation, arrow + 2, len(equation), "the output")
    return terms, out


def _dims_of(terms, operands):
    """Each operand's labels, one per dim: ellipsis dims become ("...", k),
    right-aligned across the operands so that they broadcast."""
    spans = []
    for k, (labels, t) in enumerate(zip(terms, operands)):
        named = len(labels) - (None in labels)
        if None in labels:
            if named > t.ndim:
                raise _error(f"the number of subscripts in the equation ({named}) is more than the number of "
                             f"dimensions ({t.ndim}) for operand {k}")
        elif named != t.ndim:
            raise _error(f"the number of subscripts in the equation ({named}) does not match the number of "
                         f"dimensions ({t.ndim}) for operand {k} and no ellipsis was given")
        spans.append(t.ndim - named)
    width = max(spans, default=0)
    dims = []
    for labels, span in zip(terms, spans):
        d = []
        for c in labels:
            d.extend([("...", width - span + j) for j in range(span)] if c is None else [c])
        dims.append(d)
    return dims, width


def _sizes(dims, operands):
    """The size of each label (1 broadcasts against any other)."""
    size = {}
    for k, (labels, t) in enumerate(zip(dims, operands)):
        mine = {}
        for c, n in zip(labels, t.shape):
            if c in mine and mine[c] != n:
                raise _error(f"subscript {c} is repeated for operand {k} but the sizes don't match, {n} != "
                             f"{mine[c]}")
            mine[c] = n
        for c, n in mine.items():
            seen = size.get(c)
            if seen is None or seen == 1:
                size[c] = n
            elif n != 1 and n != seen:
                name = "..." if isinstance(c, tuple) else c
                raise _error(f"subscript {name} has size {n} for operand {k} which does not broadcast with "
                             f"previously seen size {seen}")
    return size


def _output(out, dims, width):
    every = [c for labels in dims for c in labels]
    ellipsis = [("...", j) for j in range(width)]
    if out is None:                              # implicit: the ellipsis, then the labels used once, sorted
        return ellipsis + sorted(c for c in set(every) if not isinstance(c, tuple) and every.count(c) == 1)
    labels = []
    for c in out:
        if c is None:
            labels.extend(ellipsis)
            continue
        if c in labels:
            raise _error(f"output subscript {c} appears more than once in the output")
        if c not in every:
            raise _error(f"output subscript {c} does not appear in the equation for any input operand")
        labels.append(c)
    return labels


def _take_diagonals(t, labels):
    """A label repeated within one operand: its diagonal (moved last)."""
    labels = list(labels)
    for c in dict.fromkeys(labels):
        while labels.count(c) > 1:
            i = labels.index(c)
            j = labels.index(c, i + 1)
            t = diagonal(t, 0, i, j)
            labels = [x for k, x in enumerate(labels) if k not in (i, j)] + [c]
    return t, labels


def _sum_out(t, labels, keep):
    """Sum over the labels not in `keep`."""
    gone = [i for i, c in enumerate(labels) if c not in keep]
    if not gone:
        return t, labels
    return t.sum(tuple(gone)), [c for c in labels if c in keep]


def _permuted(t, labels, order):
    if labels == order:
        return t
    return t.permute([labels.index(c) for c in order])


def _contract(a, la, b, lb, keep, size, out):
    """a and b contracted over their shared labels not in `keep` (one batched
    matrix product, or a broadcast product when none is summed); returns the
    result and its labels (`out`: the output's labels, to lay a product out)."""
    # a shared label one side has as size 1 broadcasts: under contraction the other side sums it first
    for c in [c for c in la if c in lb and c not in keep]:
        na, nb = a.shape[la.index(c)], b.shape[lb.index(c)]
        if na == 1 and nb != 1:
            b = b.sum(lb.index(c), keepdim=True)
        elif nb == 1 and na != 1:
            a = a.sum(la.index(c), keepdim=True)
    batch = [c for c in la if c in lb and c in keep]
    inner = [c for c in la if c in lb and c not in keep]
    left = [c for c in la if c not in lb]
    right = [c for c in lb if c not in la]
    if not inner:
        # nothing summed: a broadcast product laid out in the output's order, as PyTorch's (a
        # MulBackward0, not a view of a matmul's result: that matters to writes through its views)
        order = sorted(batch + left + right, key=lambda c: out.index(c) if c in out else len(out))

        def spread(t, labels):
            mine = [c for c in order if c in labels]
            t = _permuted(t, labels, mine)
            return t.reshape(tuple(t.shape[mine.index(c)] if c in labels else 1 for c in order))
        return spread(a, la) * spread(b, lb), order

    def grid(t, labels, order):          # permuted to `order`, batch dims broadcast to their full size
        t = _permuted(t, labels, order)
        want = tuple(size[c] if c in batch else n for c, n in zip(order, t.shape))
        return t if tuple(t.shape) == want else t.expand(want)

    a = grid(a, la, batch + left + inner)
    b = grid(b, lb, batch + inner + right)
    k, kl, ki = len(batch), len(batch) + len(left), len(batch) + len(inner)
    nb, nl, ni, nr = (math.prod(a.shape[:k]), math.prod(a.shape[k:kl]), math.prod(a.shape[kl:]),
                      math.prod(b.shape[ki:]))
    out_shape = tuple(a.shape[:kl]) + tuple(b.shape[ki:])
    c = a.reshape(nb, nl, ni).matmul(b.reshape(nb, ni, nr))
    return c.reshape(out_shape), batch + left + right


@cast_at_entry
def einsum(*args):
    """Sum of products over subscripts: einsum("ij,jk->ik", a, b) is a @ b,
    einsum("ii", a) its trace, einsum("bij->bji", a) a transpose, ... Without
    "->", the output is the ellipsis dims then the subscripts used once, in
    alphabetical order (upper case first)."""
    if not args:
        raise TypeError("einsum(): missing the equation and the operands")
    if isinstance(args[0], str):
        equation, operands = args[0], list(args[1:])
        if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
            operands = list(operands[0])
    elif isinstance(args[0], Tensor):
        equation, operands = _sublist_equation(args)
    else:
        raise TypeError(f"einsum(): argument 'equation' (position 1) must be str, not {type(args[0]).__name__}")
    for k, t in enumerate(operands):
        if not isinstance(t, Tensor):
            raise TypeError(f"einsum(): expected Tensor as element {k} of the operands, but got "
                            f"{type(t).__name__}")
    terms, out = _parse(equation, len(operands))
    for t in operands[1:]:
        if t._backend is not operands[0]._backend:
            raise device_mismatch("einsum", operands[0], t)
        if t.dtype is not operands[0].dtype and not casts_at_entry((operands[0], t)):   # (autocast casts inside)
            raise RuntimeError(f"einsum(): expected scalar type {operands[0].dtype.libtorch} but found "
                               f"{t.dtype.libtorch}")
    dims, width = _dims_of(terms, operands)
    size = _sizes(dims, operands)
    out = _output(out, dims, width)
    ts, summed = [], False
    for k, (t, labels) in enumerate(zip(operands, dims)):
        t, labels = _take_diagonals(t, labels)
        elsewhere = set(out).union(*(dims[j] for j in range(len(dims)) if j != k))
        ts.append(_sum_out(t, labels, elsewhere))
        summed = summed or len(ts[-1][1]) < len(labels)
    # one operand, nothing summed: PyTorch's result is a permutation of it (a view, PermuteBackward0),
    # even the identity one, never the operand itself
    permutes = len(operands) == 1 and not summed
    result, labels = ts[0]
    for k in range(1, len(ts)):
        keep = set(out).union(*(ts[j][1] for j in range(k + 1, len(ts))))
        result, labels = _contract(result, labels, ts[k][0], ts[k][1], keep, size, out)
    result, labels = _sum_out(result, labels, set(out))
    result = result.permute([labels.index(c) for c in out]) if permutes else _permuted(result, labels, out)
    want = tuple(size[c] for c in out)
    return result if tuple(result.shape) == want else result.expand(want)
