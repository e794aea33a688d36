"""Fuzz specs (tests/test_fuzz_bad_input.py) of the ops in autograd_gpu/ops/composite_pointwise.py."""
import math

from autograd_gpu.ops import composite_pointwise as cp

UNARY = ("deg2rad", "rad2deg", "exp2", "logit", "frac", "nan_to_num", "sinc", "sgn", "signbit", "isneginf",
         "isposinf", "isreal")
ALIASED = {"asinh": "arcsinh", "acosh": "arccosh", "atanh": "arctanh"}
BINARY = ("logaddexp", "logaddexp2", "hypot", "fmax", "fmin", "heaviside")
WITH_NUMBERS = ("xlogy", "copysign", "float_power")
INPLACE = set(cp.INPLACE)


def _forms(name):
    forms = [(f"ag.{name}", lambda L, *a, n=name: getattr(L, n)(*a)),
             (f"Tensor.{name}", lambda L, x, *a, n=name: getattr(x, n)(*a))]
    if name in INPLACE:
        forms.append((f"Tensor.{name}_", lambda L, x, *a, n=name + "_": getattr(x.clone(), n)(*a)))
    return forms


def specs(f):
    """{op: f.S(...)}; `f` is the fuzz test module (its S, T, Lst, pools: TENSORS, DIM1, ...)."""
    special = [f.T("float64", (2, 3), data="special", rg=True), f.T("float32", (3,), data="special", rg=True)]
    tensors = f.TENSORS + special
    out = {u: f.S(_forms(u), tensors + f.JUNK[:2]) for u in UNARY}
    out.update({a: f.S(_forms(a) + _forms(b), tensors + f.JUNK[:2], msg=(a, b)) for a, b in ALIASED.items()})
    out.update({b: f.S(_forms(b), tensors, tensors + f.JUNK[:3] + [2.5]) for b in BINARY})
    out.update({b: f.S(_forms(b), tensors + [2, 1.5], f.OPERANDS + special,
                       msg=(b, "pow", "must be Tensor")) for b in WITH_NUMBERS})
    out["logit(eps)"] = f.S([("ag.logit(eps)", lambda L, x, e: L.logit(x, eps=e)),
                             ("Tensor.logit(eps)", lambda L, x, e: x.logit(e)),
                             ("Tensor.logit_(eps)", lambda L, x, e: x.clone().logit_(e))],
                            # (no NaN eps: PyTorch's gradient then depends on the tensor's length:
                            # test_logit_nan_gradients_follow_the_scalar_loop)
                            tensors, [0.1, 0.0, -1.0, 0.7, 1, True, "a", f.T("float32", ())], msg="logit")
    out["nan_to_num(values)"] = f.S(
        [("ag.nan_to_num(values)", lambda L, x, n, p, m: L.nan_to_num(x, n, p, m)),
         ("Tensor.nan_to_num(values)", lambda L, x, n, p, m: x.nan_to_num(nan=n, posinf=p, neginf=m)),
         ("Tensor.nan_to_num_(values)", lambda L, x, n, p, m: x.clone().nan_to_num_(nan=n, posinf=p, neginf=m))],
        tensors, [0.0, 2, -1.5, 1e10, math.inf, "a", None], [None, 1e5, 3, True], [None, -1e300, "a"],
        msg="nan_to_num")
    addc = [T for T in tensors if T.dtype != "bool" or T.shape == (2, 3)]
    for name in ("addcmul", "addcdiv"):
        out[name] = f.S([(f"ag.{name}", lambda L, s, a, b, v, n=name: getattr(L, n)(s, a, b, value=v)),
                         (f"Tensor.{name}", lambda L, s, a, b, v, n=name: getattr(s, n)(a, b, value=v)),
                         (f"Tensor.{name}_", lambda L, s, a, b, v, n=name + "_": getattr(s.clone(), n)(a, b, value=v))],
                        [f.T("float32", (2, 3), rg=True)] + addc + [2],
                        [f.T("float32", (2, 3), rg=True)] + addc + [1.5, "a"],
                        [f.T("float64", (3,), rg=True)] + addc + [None],
                        # (no huge values: PyTorch's backward overflows tensor1 * value in a narrower factor's own
                        # dtype (float32 next to float64, float16); ours computes in the result dtype:
                        # test_addcmul_value_overflow_in_backward)
                        [1, 0.5, -2, True, math.nan, 100.0, "a", None])
    return out
