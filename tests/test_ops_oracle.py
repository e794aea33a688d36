"""Every op form against PyTorch CPU: forward values, the grad_fn name, every
input's gradient (float64 tight, float32 loose), and finite-difference
gradcheck in float64, second derivatives included. One line per case."""
import math

import numpy as np
import pytest

import autograd_gpu as ag
from oracle import U, case_tests

A = torch_ops = None   # placeholder names for readability below
POS = lambda *s: U(s, 0.5, 2.0)        # noqa: E731  strictly positive inputs
AWAY = lambda *s: U(s, 0.3, 1.5)       # noqa: E731  away from zero (sign chosen by the op)


def aten(name):
    """The ATen Scalar overload, the oracle for Python-number operands."""
    def f(torch, *args):
        return getattr(torch.ops.aten, name.split(".")[0]).__getattr__(name.split(".")[1])(*args)
    return f


#      id                 fn(lib, *inputs)                                   inputs                   options
CASES = [
    # ---- arithmetic, tensor (op) tensor, with broadcasting ----
    ("add",              lambda m, a, b: a + b,                            [(3, 4), (4,)],          {}),
    ("add_alpha",        lambda m, a, b: a.add(b, alpha=2.5),              [(3, 4), (3, 1)],        {}),
    ("sub",              lambda m, a, b: a - b,                            [(2, 3), (1, 3)],        {}),
    ("sub_alpha",        lambda m, a, b: m.sub(a, b, alpha=0.5),           [(2, 3), (2, 3)],        {}),
    ("mul",              lambda m, a, b: a * b,                            [(2, 1, 3), (4, 1)],     {}),
    ("div",              lambda m, a, b: a / b,                            [(3, 4), AWAY(3, 4)],    {}),
    ("div_bcast",        lambda m, a, b: m.div(a, b),                      [(3, 4), AWAY(4)],       {}),
    ("pow_tt",           lambda m, a, b: a ** b,                           [POS(3, 4), (3, 4)],     {}),
    ("maximum",          lambda m, a, b: m.maximum(a, b),                  [(3, 4), (4,)],          {}),
    ("minimum",          lambda m, a, b: m.minimum(a, b),                  [(3, 4), (3, 4)],        {}),
    ("atan2",            lambda m, a, b: m.atan2(a, b),                    [(3, 4), AWAY(4)],       {}),
    ("atan2_method_bcast", lambda m, a, b: a.atan2(b),                     [(2, 1, 3), AWAY(4, 1)], {}),
    ("lerp",             lambda m, a, b: m.lerp(a, b, 0.3),                [(3, 4), (4,)],          {}),
    ("lerp_far_weight",  lambda m, a, b: a.lerp(b, -1.5),                  [(3, 4), (3, 1)],        {}),
    ("lerp_tensor",      lambda m, a, b, w: m.lerp(a, b, w),               [(2, 1, 3), (4, 1), (3,)], {}),
    ("zero_dim_operand", lambda m, a, b: a * b,                            [(3,), ()],              {}),
    # ---- Python numbers: the Scalar overloads ----
    ("add_scalar",       lambda m, x: x + 2,                               [(3, 2)],  dict(torch_fn=lambda t, x: aten("add.Scalar")(t, x, 2))),
    ("radd_scalar",      lambda m, x: 2 + x,                               [(3, 2)],  dict(torch_fn=lambda t, x: aten("add.Scalar")(t, x, 2))),
    ("sub_scalar",       lambda m, x: x - 5,                               [(3, 2)],  dict(torch_fn=lambda t, x: aten("sub.Scalar")(t, x, 5))),
    ("rsub_scalar",      lambda m, x: 1 - x,                               [(3, 2)],  dict(torch_fn=lambda t, x: aten("rsub.Scalar")(t, x, 1))),
    ("mul_scalar",       lambda m, x: x * 3,                               [(3, 2)],  dict(torch_fn=lambda t, x: aten("mul.Scalar")(t, x, 3))),
    ("rmul_scalar",      lambda m, x: 0.5 * x,                             [(3, 2)],  dict(torch_fn=lambda t, x: aten("mul.Scalar")(t, x, 0.5))),
    ("div_scalar",       lambda m, x: x / 2,                               [(3, 2)],  dict(torch_fn=lambda t, x: aten("div.Scalar")(t, x, 2))),
    ("rdiv_scalar",      lambda m, x: 2 / x,                               [AWAY(3, 2)], dict(torch_fn=lambda t, x: t.div(t.tensor(2.0, dtype=x.dtype), x))),
    ("pow_scalar",       lambda m, x: x ** 2,                              [(3, 2)],  dict(torch_fn=lambda t, x: aten("pow.Tensor_Scalar")(t, x, 2))),
    ("pow_scalar_half",  lambda m, x: x.pow(0.5),                          [POS(4)],  dict(torch_fn=lambda t, x: aten("pow.Tensor_Scalar")(t, x, 0.5))),
    ("pow_scalar_neg",   lambda m, x: x ** -1.5,                           [POS(4)],  dict(torch_fn=lambda t, x: aten("pow.Tensor_Scalar")(t, x, -1.5))),
    ("pow_scalar_zero",  lambda m, x: x ** 0,                              [(4,)],    dict(torch_fn=lambda t, x: aten("pow.Tensor_Scalar")(t, x, 0))),
    ("rpow_scalar",      lambda m, x: 2 ** x,                              [(3, 2)],  dict(torch_fn=lambda t, x: aten("pow.Scalar")(t, 2, x))),
    ("neg",              lambda m, x: -x,                                  [(3, 2)],  {}),
    ("remainder",        lambda m, a, b: a % b,                            [(3, 4), AWAY(3, 4)], {}),
    ("remainder_fn",     lambda m, a, b: m.remainder(a, b),                [(3, 4), AWAY(4)], {}),
    ("remainder_scalar", lambda m, x: x % 0.7,                             [(3, 2)],  dict(torch_fn=lambda t, x: aten("remainder.Scalar")(t, x, 0.7))),
    # ---- pointwise ----
    ("exp",              lambda m, x: x.exp(),                             [(3, 4)],  {}),
    ("log",              lambda m, x: m.log(x),                            [POS(3, 4)], {}),
    ("log1p",            lambda m, x: x.log1p(),                           [U((3, 4), -0.5, 2)], {}),
    ("sqrt",             lambda m, x: x.sqrt(),                            [POS(3, 4)], {}),
    ("rsqrt",            lambda m, x: x.rsqrt(),                           [POS(3, 4)], {}),
    ("square",           lambda m, x: x.square(),                          [(3, 4)],  {}),
    ("abs",              lambda m, x: x.abs(),                             [(3, 4)],  {}),
    ("sign",             lambda m, x: x.sign(),                            [(3, 4)],  dict(second_order=False)),
    ("tan",              lambda m, x: x.tan(),                             [U((3, 4), -1.2, 1.2)], {}),
    ("asin",             lambda m, x: x.asin(),                            [U((3, 4), -0.9, 0.9)], {}),
    ("acos",             lambda m, x: m.acos(x),                           [U((3, 4), -0.9, 0.9)], {}),
    ("atan",             lambda m, x: x.atan(),                            [(3, 4)],  {}),
    ("sinh",             lambda m, x: x.sinh(),                            [(3, 4)],  {}),
    ("cosh",             lambda m, x: m.cosh(x),                           [(3, 4)],  {}),
    ("expm1",            lambda m, x: x.expm1(),                           [(3, 4)],  {}),
    ("log2",             lambda m, x: x.log2(),                            [POS(3, 4)], {}),
    ("log10",            lambda m, x: m.log10(x),                          [POS(3, 4)], {}),
    ("reciprocal",       lambda m, x: x.reciprocal(),                      [AWAY(3, 4)], {}),
    ("erf",              lambda m, x: x.erf(),                             [U((3, 4), -3, 3)], {}),
    ("erfc",             lambda m, x: m.erfc(x),                           [U((3, 4), -3, 3)], {}),
    ("erfinv",           lambda m, x: x.erfinv(),                          [U((3, 4), -0.9, 0.9)], {}),
    ("floor",            lambda m, x: x.floor(),                           [(3, 4)],  {}),
    ("ceil",             lambda m, x: m.ceil(x),                           [(3, 4)],  {}),
    ("round",            lambda m, x: x.round(),                           [(3, 4)],  {}),
    ("round_decimals",   lambda m, x: m.round(x, decimals=1),              [(3, 4)],  {}),
    ("trunc",            lambda m, x: x.trunc(),                           [(3, 4)],  {}),
    ("sin",              lambda m, x: x.sin(),                             [(3, 4)],  {}),
    ("cos",              lambda m, x: m.cos(x),                            [(3, 4)],  {}),
    ("tanh",             lambda m, x: x.tanh(),                            [(3, 4)],  {}),
    ("sigmoid",          lambda m, x: x.sigmoid(),                         [(3, 4)],  {}),
    ("relu",             lambda m, x: x.relu(),                            [(3, 4)],  {}),
    ("clamp_min",        lambda m, x: x.clamp(min=0),                      [(3, 4)],  {}),
    ("clamp_both",       lambda m, x: x.clamp(-0.5, 0.5),                  [(3, 4)],  {}),
    ("clamp_max",        lambda m, x: m.clamp(x, max=1),                   [(3, 4)],  {}),
    ("clamp_tensor",     lambda m, x, lo, hi: x.clamp(lo, hi),             [(3, 4), U((4,), -1, -0.2), U((3, 1), 0.2, 1)], {}),
    ("where",            lambda m, x, y: m.where(x > 0, x, y),             [(3, 4), (4,)], {}),
    ("where_scalar",     lambda m, x: m.where(x > 0, x, 0.0),              [(3, 4)],  {}),
    # (masked_fill is a where here: WhereBackward0, PyTorch's MaskedFillBackward0/1)
    ("masked_fill",      lambda m, x: x.masked_fill(x > 0.5, -1.0),        [(3, 4)],  {"name": False}),
    ("masked_fill_t",    lambda m, x, v: x.masked_fill(x > 0, v),          [(3, 4), ()], {"name": False}),
    ("masked_fill_",     lambda m, x, v: (x * 1).masked_fill_(x[0] > 0, v), [(3, 4), ()], {"name": False}),
    # ---- reductions ----
    ("sum",              lambda m, x: x.sum(),                             [(3, 4)],  {}),
    ("sum_dim",          lambda m, x: x.sum(1),                            [(3, 4)],  {}),
    ("sum_dims_keep",    lambda m, x: x.sum((0, 2), keepdim=True),         [(2, 3, 4)], {}),
    ("sum_neg_dim",      lambda m, x: m.sum(x, -1),                        [(2, 3, 4)], {}),
    ("mean",             lambda m, x: x.mean(),                            [(3, 4)],  {}),
    ("mean_dim",         lambda m, x: x.mean(-1),                          [(3, 4)],  {}),
    ("mean_dims",        lambda m, x: x.mean((0, 1), keepdim=True),        [(2, 3, 4)], {}),
    ("prod",             lambda m, x: x.prod(),                            [AWAY(2, 3)], {}),
    ("prod_dim",         lambda m, x: x.prod(1),                           [(3, 4)],  {}),
    ("prod_zeros",       lambda m, x: (x * (x > 0.5)).prod(1),             [(3, 4)],  dict(low=0.0, high=1.0, fd=False)),
    ("var",              lambda m, x: x.var(),                             [(3, 4)],  {}),
    ("var_dim",          lambda m, x: x.var(1),                            [(3, 4)],  {}),
    ("var_biased",       lambda m, x: x.var(0, unbiased=False, keepdim=True), [(3, 4)], {}),
    ("var_correction",   lambda m, x: x.var((0, 1), correction=0),         [(2, 3, 4)], {}),
    ("std",              lambda m, x: x.std(),                             [(3, 4)],  {}),
    ("std_dim",          lambda m, x: x.std(1, keepdim=True),              [(3, 4)],  {}),
    ("amax",             lambda m, x: x.amax(),                            [(3, 4)],  {}),
    ("amax_dim",         lambda m, x: x.amax(1),                           [(3, 4)],  {}),
    ("amin_dims",        lambda m, x: x.amin((0, 1)),                      [(2, 3, 4)], {}),
    ("max_all",          lambda m, x: x.max(),                             [(3, 4)],  {}),
    ("min_all",          lambda m, x: m.min(x),                            [(3, 4)],  {}),
    ("max_dim",          lambda m, x: x.max(1),                            [(3, 4)],  {}),
    ("min_dim_keep",     lambda m, x: x.min(0, keepdim=True),              [(3, 4)],  {}),
    ("logsumexp",        lambda m, x: x.logsumexp(1),                      [(3, 4)],  {}),
    ("logsumexp_keep",   lambda m, x: m.logsumexp(x, (0, 1), keepdim=True), [(2, 3, 4)], {}),
    ("softmax",          lambda m, x: x.softmax(1),                        [(3, 4)],  {}),
    ("softmax_dim0",     lambda m, x: m.softmax(x, 0),                     [(3, 4)],  {}),
    ("log_softmax",      lambda m, x: x.log_softmax(-1),                   [(3, 4)],  {}),
    ("norm",             lambda m, x: x.norm(),                            [(3, 4)],  {}),
    ("norm_dim",         lambda m, x: x.norm(dim=1),                       [(3, 4)],  {}),
    ("norm_p1",          lambda m, x: x.norm(p=1),                         [(3, 4)],  {}),
    ("norm_p3",          lambda m, x: x.norm(p=3, dim=0, keepdim=True),    [(3, 4)],  {}),
    ("norm_inf",         lambda m, x: x.norm(p=math.inf),                  [(3, 4)],  {}),
    ("norm_nuc",         lambda m, x: x.norm(p="nuc"),                     [(3, 4)],  dict(name=False)),
    ("norm_nuc_tall",    lambda m, x: m.norm(x, p="nuc"),                  [(5, 2)],  dict(name=False)),
    ("norm_nuc_dims",    lambda m, x: x.norm(p="nuc", dim=(2, 0), keepdim=True), [(3, 2, 4)], dict(name=False)),
    # ---- matrix products ----
    ("mm",               lambda m, a, b: a.mm(b),                          [(3, 4), (4, 5)], {}),
    ("mm_column",        lambda m, a, b: a.mm(b),                          [(3, 4), (4, 1)], {}),
    ("mm_outer",         lambda m, a, b: a.mm(b),                          [(5, 1), (1, 4)], {}),
    ("matmul_2d",        lambda m, a, b: a @ b,                            [(3, 4), (4, 2)], {}),
    ("matmul_outer_bcast", lambda m, a, b: a @ b,                          [(2, 3, 1), (1, 4)], dict(name=False)),
    ("matmul_dot",       lambda m, a, b: a @ b,                            [(4,), (4,)], {}),
    ("matmul_mv",        lambda m, a, b: m.matmul(a, b),                   [(3, 4), (4,)], {}),
    ("matmul_vm",        lambda m, a, b: a @ b,                            [(4,), (4, 3)], dict(name=False)),
    ("matmul_batched",   lambda m, a, b: a @ b,                            [(2, 3, 4), (2, 4, 5)], dict(name=False)),
    ("matmul_bcast",     lambda m, a, b: a @ b,                            [(2, 3, 4), (4, 5)], dict(name=False)),
    ("matmul_bcast4",    lambda m, a, b: a @ b,                            [(2, 1, 3, 4), (5, 4, 2)], dict(name=False)),
    ("matmul_batch_vec", lambda m, a, b: a @ b,                            [(2, 3, 4), (4,)], dict(name=False)),
    ("bmm",              lambda m, a, b: m.bmm(a, b),                      [(2, 3, 4), (2, 4, 5)], {}),
    ("dot",              lambda m, a, b: a.dot(b),                         [(5,), (5,)], {}),
    ("mv",               lambda m, a, b: a.mv(b),                          [(3, 5), (5,)], {}),
    # ---- shape ----
    ("reshape",          lambda m, x: x.reshape(4, 3),                     [(3, 4)],  {}),
    ("reshape_copy",     lambda m, x: x.t().reshape(-1),                   [(3, 4)],  dict(name=False)),
    ("view",             lambda m, x: x.view(2, -1),                       [(3, 4)],  {}),
    ("flatten",          lambda m, x: x.flatten(),                         [(2, 3, 4)], {}),
    ("flatten_1",        lambda m, x: m.flatten(x, 1),                     [(2, 3, 4)], {}),
    ("squeeze",          lambda m, x: x.squeeze(),                         [(3, 1, 4, 1)], {}),
    ("squeeze_dim",      lambda m, x: x.squeeze(1),                        [(3, 1, 4)], {}),
    ("unsqueeze",        lambda m, x: x.unsqueeze(1),                      [(3, 4)],  {}),
    ("transpose",        lambda m, x: x.transpose(0, 2),                   [(2, 3, 4)], {}),
    ("t",                lambda m, x: x.t(),                               [(3, 4)],  {}),
    ("T",                lambda m, x: x.T,                                 [(3, 4)],  {}),
    ("permute",          lambda m, x: x.permute(2, 0, 1),                  [(2, 3, 4)], {}),
    ("expand",           lambda m, x: x.expand(3, 4),                      [(1, 4)],  {}),
    ("expand_new_dim",   lambda m, x: x.expand(2, 3, -1),                  [(3, 4)],  {}),
    ("repeat",           lambda m, x: x.repeat(2, 3),                      [(3, 4)],  {}),
    ("repeat_new_dim",   lambda m, x: x.repeat(2, 1, 1),                   [(3, 4)],  {}),
    ("cat",              lambda m, a, b: m.cat([a, b], 1),                 [(3, 2), (3, 4)], {}),
    ("stack",            lambda m, a, b: m.stack([a, b], 1),               [(3, 4), (3, 4)], {}),
    ("chunk",            lambda m, x: x.chunk(2)[1] * 2,                   [(5, 3)],  dict(name=False)),
    ("split_sizes",      lambda m, x: x.split([1, 3], 1)[1],               [(2, 4)],  {}),
    ("split_all",        lambda m, x: sum(p.sum() for p in x.split(2)),    [(5, 3)],  dict(name=False)),
    ("unbind",           lambda m, x: x.unbind(1)[2],                      [(3, 4)],  {}),
    ("movedim",          lambda m, x: x.movedim(0, 2),                     [(2, 3, 4)], {}),
    ("contiguous",       lambda m, x: x.t().contiguous(),                  [(3, 4)],  {}),
    ("clone",            lambda m, x: x.clone(),                           [(3, 4)],  {}),
    ("narrow",           lambda m, x: x.narrow(1, 1, 2),                   [(3, 4)],  {}),
    ("narrow_fn_neg",    lambda m, x: m.narrow(x, -1, -3, 2),              [(2, 3, 4)], {}),
    ("select_method",    lambda m, x: x.select(1, -1),                     [(3, 4)],  {}),
    ("select_fn",        lambda m, x: m.select(x, 0, 2),                   [(3, 4)],  {}),
    ("flip",             lambda m, x: x.flip(0, 2),                        [(2, 3, 4)], {}),
    ("flip_fn_list",     lambda m, x: m.flip(x, [-1]),                     [(3, 4)],  {}),
    ("flip_0d",          lambda m, x: x.flip(()),                          [()],      {}),
    ("cumsum",           lambda m, x: x.cumsum(1),                         [(3, 4)],  {}),
    ("tril",             lambda m, x: x.tril(),                            [(3, 4)],  {}),
    ("triu_fn_batched",  lambda m, x: m.triu(x, -1),                       [(2, 3, 4)], {}),
    ("tril_k",           lambda m, x: m.tril(x, diagonal=2),               [(4, 3)],  {}),
    ("cumsum_fn_neg",    lambda m, x: m.cumsum(x, -3),                     [(2, 3, 4)], {}),
    ("cumsum_0d",        lambda m, x: x.cumsum(0),                         [()],      {}),
    ("sort",             lambda m, x: x.sort(1).values,                    [(3, 4)],  {}),
    ("sort_desc_fn",     lambda m, x: m.sort(x, 0, descending=True)[0],    [(3, 4)],  {}),
    ("topk",             lambda m, x: x.topk(2).values,                    [(3, 4)],  {}),
    ("topk_smallest_fn", lambda m, x: m.topk(x, 2, 0, largest=False)[0],   [(3, 2, 2)], {}),
    # ---- indexing ----
    ("select",           lambda m, x: x[1],                                [(3, 4)],  {}),
    ("select_col",       lambda m, x: x[:, 1],                             [(3, 4)],  {}),
    ("slice",            lambda m, x: x[1:3],                              [(4, 4)],  {}),
    ("slice_step",       lambda m, x: x[..., ::2],                         [(3, 5)],  {}),
    ("index_none",       lambda m, x: x[None],                             [(3, 4)],  {}),
    ("index_compound",   lambda m, x: x[1, 1:3],                           [(3, 4)],  dict(name=False)),
    ("index_list",       lambda m, x: x[[0, 2]],                           [(3, 4)],  {}),
    ("index_repeat",     lambda m, x: x[[0, 0, 2, 0]],                     [(3, 4)],  {}),
    ("index_tensor",     lambda m, x, i: x[i],                             [(5, 2), np.array([4, 0, 4])], {}),
    ("index_bool",       lambda m, x: x[x > 0],                            [(3, 4)],  {}),
    ("index_cols",       lambda m, x: x[:, [1, 3, 1]],                     [(3, 4)],  {}),
    ("index_pairs",      lambda m, x: x[[0, 1, 1], [2, 0, 2]],             [(3, 4)],  {}),
    ("gather",           lambda m, x, i: x.gather(1, i),                   [(3, 4), np.array([[0, 0, 3], [1, 2, 1], [3, 3, 3]])], {}),
    ("gather_fn_dim0",   lambda m, x, i: m.gather(x, 0, i),                [(3, 4), np.array([[2, 0, 1, 2], [2, 2, 2, 0]])], {}),
    ("index_select",     lambda m, x, i: x.index_select(1, i),             [(3, 4), np.array([3, 0, 3])], {}),
    ("index_select_fn",  lambda m, x, i: m.index_select(x, 0, i),          [(3, 4), np.array([2, 2])], {}),
    ("median",           lambda m, x: x.median(),                          [(3, 4)],  {}),
    ("median_dim",       lambda m, x: m.median(x, 1).values,               [(3, 4)],  {}),
    ("median_dim_keep",  lambda m, x: x.median(dim=0, keepdim=True)[0],    [(2, 3)],  {}),
    ("masked_select",    lambda m, x: x.masked_select(x > 0),              [(3, 4)],  {}),
    ("masked_select_fn_bcast", lambda m, x, k: m.masked_select(x, k),      [(3, 1), np.array([[True, False], [False, False], [True, True]])], {}),
    ("masked_select_mask_bcast", lambda m, x, k: x.masked_select(k),       [(2, 3), np.array([False, True, True])], {}),
    # ---- einsum (composite: PyTorch's nodes differ) ----
    ("einsum_mm",        lambda m, a, b: m.einsum("ij,jk->ik", a, b),     [(2, 3), (3, 4)], dict(name=False)),
    ("einsum_batch_bcast", lambda m, a, b: m.einsum("bij,bjk", a, b),     [(2, 2, 3), (1, 3, 4)], dict(name=False)),
    ("einsum_trace_diag", lambda m, a: m.einsum("iij->j", a),             [(3, 3, 2)], dict(name=False)),
    ("einsum_ellipsis",  lambda m, a, b: m.einsum("...ij,...jk", [a, b]), [(2, 2, 3), (3, 4)], dict(name=False)),
    ("einsum_three",     lambda m, a, b, c: m.einsum("bn,anm,bm->ba", a, b, c), [(2, 3), (4, 3, 5), (2, 5)], dict(name=False)),
    ("einsum_outer_sum", lambda m, a, b: m.einsum("i,jk->ik", a, b),      [(2,), (3, 4)], dict(name=False)),
    ("einsum_sublist",   lambda m, a, b: m.einsum(a, [0, 1], b, [1, 2], [2, 0]), [(2, 3), (3, 4)], dict(name=False)),
    ("einsum_bcast_inner", lambda m, a, b: m.einsum("ij,jk->ik", a, b),   [(2, 1), (3, 4)], dict(name=False)),
    ("repeat_interleave", lambda m, x: x.repeat_interleave(2),             [(2, 3)],  {}),
    ("repeat_interleave_dim", lambda m, x: m.repeat_interleave(x, 3, dim=-1), [(2, 2)], {}),
    ("repeat_interleave_counts", lambda m, x, r: x.repeat_interleave(r, dim=0), [(3, 2), np.array([2, 0, 1])], {}),
    # ---- diagonals ----
    ("diagonal",         lambda m, x: x.diagonal(),                        [(3, 4)],  {}),
    ("diagonal_fn_neg",  lambda m, x: m.diagonal(x, -1),                   [(3, 4)],  {}),
    ("diagonal_3d",      lambda m, x: x.diagonal(1, 2, 0),                 [(2, 3, 4)], {}),
    ("diagonal_empty",   lambda m, x: x.diagonal(5) * 2,                   [(3, 4)],  dict(name=False)),
    ("diag_embed",       lambda m, x: m.diag_embed(x, 1),                  [(2, 3)],  {}),
    ("diag_embed_dims",  lambda m, x: x.diag_embed(-1, 0, 2),              [(2, 3)],  {}),
    ("diag_vector",      lambda m, x: m.diag(x, 1),                        [(3,)],    {}),
    ("diag_matrix",      lambda m, x: x.diag(-1),                          [(3, 4)],  {}),
    ("trace",            lambda m, x: x.trace(),                           [(3, 4)],  {}),
    ("trace_fn",         lambda m, x: m.trace(x),                          [(4, 2)],  {}),
    ("scatter",          lambda m, x, s, i: x.scatter(1, i, s),            [(3, 4), (3, 2), np.array([[0, 3], [2, 1], [3, 0]])], {}),
    ("scatter_value",    lambda m, x, i: x.scatter(0, i, 1.5),             [(3, 4), np.array([[2, 0, 1, 2]])], {}),
    ("scatter_fn_3d",    lambda m, x, s, i: m.scatter(x, -1, i, src=s),    [(2, 2, 3), (2, 2, 2), np.array([[[2, 0], [1, 2]], [[0, 1], [2, 1]]])], {}),
    ("scatter_add",      lambda m, x, s, i: x.scatter_add(0, i, s),        [(3, 4), (2, 4), np.array([[0, 1, 2, 0], [0, 0, 2, 2]])], {}),
    ("scatter_add_fn",   lambda m, x, s, i: m.scatter_add(x, 1, i, s),     [(2, 3), (2, 4), np.array([[2, 2, 2, 0], [1, 0, 1, 0]])], {}),
    ("index_add",        lambda m, x, s, i: x.index_add(0, i, s),          [(3, 4), (4, 4), np.array([0, 2, 0, 1])], {}),
    ("index_add_alpha",  lambda m, x, s, i: m.index_add(x, 1, i, s, alpha=-1.5), [(3, 4), (3, 2), np.array([3, 3])], {}),
    # ---- in-place ops on non-leaves (history is rebased) ----
    ("add_",             lambda m, x, y: (x * 1).add_(y),                  [(3, 4), (4,)], {}),
    ("sub_alpha_",       lambda m, x, y: (x * 1).sub_(y, alpha=2),         [(3, 4), (3, 4)], {}),
    ("mul_",             lambda m, x, y: (x * 1).mul_(y),                  [(3, 4), (3, 4)], {}),
    ("div_",             lambda m, x, y: (x + 0).div_(y),                  [(3, 4), AWAY(3, 4)], dict(name=False)),
    ("pow_",             lambda m, x: (x * 1).pow_(3),                     [(3, 4)],  dict(name=False)),
    ("clamp_",           lambda m, x: (x * 1).clamp_(min=0),               [(3, 4)],  {}),
    ("copy_",            lambda m, x, y: (x * 1).copy_(y),                 [(3, 4), (4,)], {}),
    ("zero_",            lambda m, x: (x * 2).zero_() + x,                 [(3, 4)],  dict(name=False)),
    ("fill_",            lambda m, x: (x * 2).fill_(3.0) * x,              [(3, 4)],  dict(name=False)),
    ("setitem_basic",    lambda m, x, y: _setitem(x * 1, (slice(0, 2),), y), [(3, 4), (4,)], {}),
    ("setitem_index",    lambda m, x, y: _setitem(x * 1, ([0, 2],), y),    [(3, 4), (2, 4)], {}),
    ("setitem_scalar",   lambda m, x: _setitem(x * 1, (1, 2), 5.0),        [(3, 4)],  {}),
    ("view_inplace",     lambda m, x: _view_mul(x * 1),                    [(3, 4)],  dict(name=False)),
    ("diagonal_inplace", lambda m, x: _diagonal_mul(x * 1),                [(3, 4)],  dict(name=False)),
    ("atan2_",           lambda m, x, y: (x * 1).atan2_(y),                [(3, 4), AWAY(4)], {}),
    ("lerp_",            lambda m, x, y, w: (x * 1).lerp_(y, w),           [(3, 4), (4,), (3, 1)], {}),
    ("scatter_",         lambda m, x, s, i: (x * 1).scatter_(1, i, s),     [(3, 4), (3, 2), np.array([[0, 3], [2, 1], [3, 0]])], {}),
    ("scatter_value_",   lambda m, x, i: (x * 1).scatter_(1, i, -2.0),     [(3, 4), np.array([[0], [3], [3]])], {}),
    ("scatter_add_",     lambda m, x, s, i: (x * 1).scatter_add_(0, i, s), [(3, 4), (2, 4), np.array([[0, 1, 2, 0], [0, 0, 2, 2]])], {}),
    ("index_add_",       lambda m, x, s, i: (x * 1).index_add_(1, i, s, alpha=2), [(3, 4), (3, 3), np.array([1, 1, 0])], {}),
    ("addcmul_",         lambda m, x, a, b: (x * 1).addcmul_(a, b, value=0.5), [(3, 4), (4,), (3, 1)], {}),
    ("addcdiv_",         lambda m, x, a, b: (x * 1).addcdiv_(a, b, value=-2), [(3, 4), (3, 4), AWAY(4)], {}),
    ("addmm_",           lambda m, x, a, b: (x * 1).addmm_(a, b, beta=0.5, alpha=2), [(2, 4), (2, 3), (3, 4)], {}),
    ("cumprod_",         lambda m, x: (x * 1).cumprod_(1),                 [(3, 4)],  {}),
    ("logit_",           lambda m, x: (x * 1).logit_(0.1),                 [U((3, 4), 0.05, 0.95)], {}),
    ("xlogy_",           lambda m, x, y: (x * 1).xlogy_(y),                [(3, 4), POS(4)], {}),
]


def _setitem(t, idx, v):
    t[idx] = v
    return t


def _diagonal_mul(t):
    t.diagonal(1).mul_(3)  # in place through a diagonal: a view of t
    return t


def _view_mul(t):
    t[1:].mul_(2)          # in place through a view: the base's history is rebased
    return t


test_against_pytorch, test_gradcheck, test_second_order = case_tests(CASES)


# Bug (fixed; found by the fuzz test with 3000 calls): the nuclear norm of a matrix holding NaN or
# inf raised "svd: SVD did not converge" on the CPU (NumPy's LinAlgError), naming neither norm nor the
# cause, and CuPy's SVD returns NaNs without a word. PyTorch raises for NaN and gives NaN for inf
# (its gradient then is whatever LAPACK left in U and Vh; ours is NaN)
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_norm_nuc_of_non_finite_input(torch, device, bad):
    import autograd_gpu as ag
    rows = [[bad, 1.0, 2.0], [3.0, 4.0, 5.0]]
    x = ag.tensor(rows, device=device, requires_grad=True)
    if math.isnan(bad):
        with pytest.raises(RuntimeError, match="contained non-finite values"):
            torch.tensor(rows).norm(p="nuc")
        with pytest.raises(RuntimeError, match=r"^linalg\.matrix_norm: .*contained non-finite values"):
            x.norm(p="nuc")
    else:
        assert math.isnan(torch.tensor(rows).norm(p="nuc").item())
        n = x.norm(p="nuc")
        assert math.isnan(n.item())
        n.backward()
        assert x.grad.shape == x.shape


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_large_two_norms_by_dot_products(torch, device, dtype):
    """The 2-norm of a large array (128k elements or more) over all dims or trailing ones sums its
    squares by dot products on NumPy (ops/blocked.py): against PyTorch's float64 norm (float32 within
    a few ulp: PyTorch's own float32 norm of 1M elements is off by ~1e-5) and PyTorch's gradients,
    keepdim or not, a size that leaves a tail, NaN and inf where they are; other dims take the
    general form, the same answers."""
    rng = np.random.default_rng(9)
    cases = [((1024, 257), None, False), ((3, 70001), None, True), ((300, 1000), 1, False),
             ((30, 10, 1000), (1, 2), True), ((200, 3, 1000), 0, False), ((140001,), None, False),
             ((40, 4000), 1, False)]
    for shape, dim, keepdim in cases:
        a = rng.standard_normal(shape).astype(dtype)
        if shape == (40, 4000):
            a[3, 5], a[7, 9], a[9, 2:4] = np.nan, np.inf, [-np.inf, np.nan]
        x = ag.tensor(a, requires_grad=True, device=device)
        t = torch.tensor(a, requires_grad=True)
        y, ty = x.norm(dim=dim, keepdim=keepdim), t.norm(dim=dim, keepdim=keepdim)
        exact = torch.tensor(a, dtype=torch.float64).norm(dim=dim, keepdim=keepdim).numpy()
        assert tuple(y.shape) == tuple(ty.shape), (shape, dim)
        tol = dict(rtol=1e-6, atol=0) if dtype == "float32" else dict(rtol=1e-14, atol=0)
        np.testing.assert_allclose(y.detach().cpu().numpy(), exact, err_msg=str((shape, dim)), **tol)
        w = rng.standard_normal(tuple(ty.shape)).astype(dtype)
        y.backward(ag.tensor(w, device=device))
        ty.backward(torch.tensor(w))
        np.testing.assert_allclose(x.grad.cpu().numpy(), t.grad.numpy(), err_msg=str((shape, dim)),
                                   **(dict(rtol=1e-4, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12)))
