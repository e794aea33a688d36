"""The CUDA source of every GPU kernel, in one place.

The math lives in the headers of `kernels/` (shipped in the wheel as
`autograd_gpu/kernels/`). This module reads them and states, for each primitive
and dtype, exactly what the CuPy wrappers (`cupy_kernels.py`) build:

* pointwise primitives: the arguments of a `cupy.ElementwiseKernel`
  (`elementwise_definition`), whose operation calls the header's device
  function, e.g. ``out = float16(ag::exp<float>(float(x)))``;
* the same pointwise primitives over contiguous operands of one shape: a
  `cupy.RawModule` per primitive, dtype and argument form
  (`vector_kernel_source`), a 16-byte pack of elements per step;
* reductions and softmax: the source of a `cupy.RawModule` per dtype
  (`reduction_module_source`) holding extern "C" kernels ``ag_<name>_<dtype>``.

The compile tests build these same strings, so what passes there is what CuPy
compiles on a GPU. Nothing here imports CuPy.
"""
import functools
import os
import re
from collections import namedtuple
from pathlib import Path

HEADERS = ("common.cuh", "pointwise.cuh", "reduction.cuh", "vector.cuh")

# Floating dtypes with kernels; other dtypes fall back to the NumPy twin
# (which CuPy runs).
DTYPES = ("float16", "float32", "float64")
# the math type of each storage dtype (half is computed in float, as PyTorch)
MATH_TYPE = {"float16": "float", "float32": "float", "float64": "double"}
# the element type of the storage dtype in RawModule kernels
CUDA_TYPE = {"float16": "__half", "float32": "float", "float64": "double", "bool": "bool"}

# Options of every kernel build (CuPy adds its own include paths, -ftz=true,
# the architecture and --device-as-default-execution-space). No contraction of
# a * b + c into an FMA (NVRTC's default): each operation rounds, as in the NumPy
# twins and the host build (-ffp-contract=off). With contraction, add_scaled's
# a + b * alpha differed from the twin by up to 3 ulp where it cancels, and gave
# inf where b * alpha overflows and a is inf of the other sign (the twin: NaN);
# measured on an H200, 2026-12-04.
OPTIONS = ("--std=c++17", "--fmad=false")


# --- the headers ----------------------------------------------------------------

def kernels_dir():
    """The directory of the CUDA headers: $AUTOGRAD_GPU_KERNELS_DIR, the wheel's
    autograd_gpu/kernels/, or the source tree's kernels/."""
    here = Path(__file__).resolve().parent.parent          # autograd_gpu/
    candidates = [here / "kernels", here.parent / "kernels"]
    env = os.environ.get("AUTOGRAD_GPU_KERNELS_DIR")
    if env:
        candidates.insert(0, Path(env))
    for d in candidates:
        if (d / "pointwise.cuh").is_file():
            return d
    raise FileNotFoundError("autograd_gpu: CUDA kernel headers not found; looked in "
                            + ", ".join(str(d) for d in candidates))


_LOCAL_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"\s*$', re.M)


def inline_headers(names):
    """Headers `names` as one self-contained text: local #includes inlined,
    each header once (NVRTC sees a single source)."""
    root = kernels_dir()
    done = set()

    def inline(name):
        if name in done:
            return ""
        done.add(name)
        text = (root / name).read_text()
        return _LOCAL_INCLUDE.sub(lambda m: inline(m.group(1)), text)

    return "".join(inline(h) for h in names)


@functools.lru_cache(maxsize=None)
def preamble():
    """All headers as one self-contained text. It is the preamble of every
    kernel, so CuPy's on-disk cache key, which hashes the source, changes
    whenever a header does."""
    return inline_headers(HEADERS)


# --- pointwise primitives: ElementwiseKernel definitions ------------------------------

# A kernel parameter: its name, kind ("T": the compute dtype, "bool") and usual
# form in a call: "a" array, "s" Python scalar, "e" either. The forms decide
# which code variants warmup() and the compile tests build (CuPy generates
# different code for a scalar and an array argument).
Param = namedtuple("Param", "name kind form")


class Pointwise(namedtuple("Pointwise", "name params out")):
    """A pointwise primitive: ``out = ag::<name><M>(params...)``; out is "T" or "bool"."""

    @property
    def forms(self):
        """Argument forms to build: "e" parameters as arrays, then each as a scalar."""
        base = ["s" if p.form == "s" else "a" for p in self.params]
        forms = [tuple(base)]
        for i, p in enumerate(self.params):
            if p.form == "e":
                f = list(base)
                f[i] = "s"
                forms.append(tuple(f))
        return forms


def _pw(name, params, out="T"):
    ps = []
    for spec in params.split():
        pname, _, form = spec.partition(":")        # "x", "b:e", "c:bool"
        if form == "bool":
            ps.append(Param(pname, "bool", "a"))
        else:
            ps.append(Param(pname, "T", form or "a"))
    return Pointwise(name, tuple(ps), out)


_UNARY = ("neg exp log log1p sqrt rsqrt square abs sign sin cos tanh sigmoid relu floor ceil round trunc "
          "tan asin acos atan sinh cosh expm1 log2 log10 reciprocal erf erfc erfinv gelu gelu_tanh").split()
_BINARY = "add sub mul div maximum minimum".split()
_COMPARE = "eq ne lt le gt ge".split()

POINTWISE = {}
for _n in _UNARY:
    POINTWISE[_n] = _pw(_n, "x")
POINTWISE["clamp"] = _pw("clamp", "x lo:s hi:s")
for _n in _BINARY:
    POINTWISE[_n] = _pw(_n, "a b:e")
# pow(a, b) runs "pow" for an array exponent and "pow_scalar" for a Python one
# (as NumPy and PyTorch, which special-case scalar exponents such as 0.5)
POINTWISE["pow"] = _pw("pow", "a b")
POINTWISE["pow_scalar"] = _pw("pow_scalar", "x e:s")
POINTWISE["rsub"] = _pw("rsub", "x s:s")
POINTWISE["rpow"] = _pw("rpow", "e base:s")
POINTWISE["add_scaled"] = _pw("add_scaled", "a b alpha:s")
POINTWISE["atan2"] = _pw("atan2", "a b")
POINTWISE["lerp"] = _pw("lerp", "a b w:e")
POINTWISE["where"] = _pw("where", "c:bool a:e b:e")
for _n in _COMPARE:
    POINTWISE[_n] = _pw(_n, "a b:e", out="bool")
POINTWISE["isnan"] = _pw("isnan", "x", out="bool")
POINTWISE["isfinite"] = _pw("isfinite", "x", out="bool")
# fused backward steps
for _n, _p in [("exp_bwd", "g y"), ("log_bwd", "g x"), ("log1p_bwd", "g x"), ("sqrt_bwd", "g y"),
               ("rsqrt_bwd", "g y"), ("square_bwd", "g x"), ("abs_bwd", "g x"), ("sin_bwd", "g x"),
               ("cos_bwd", "g x"), ("tanh_bwd", "g y"), ("sigmoid_bwd", "g y"), ("relu_bwd", "g y"),
               ("clamp_bwd", "g x lo:s hi:s"), ("pow_bwd", "g x e:s em1:s"), ("pow_bwd_base", "g x e"),
               ("pow_bwd_exp", "g x e y"), ("div_bwd_a", "g b:e"), ("div_bwd_b", "g a b"),
               ("maximum_bwd", "g a b"), ("minimum_bwd", "g a b"), ("logsumexp_bwd", "g x r"),
               ("var_bwd", "g x mean scale:e"), ("select_bwd", "g mask:bool count:e"),
               ("tan_bwd", "g y"), ("asin_bwd", "g x"), ("acos_bwd", "g x"), ("atan_bwd", "g x"),
               ("sinh_bwd", "g x"), ("cosh_bwd", "g x"), ("expm1_bwd", "g y"), ("log2_bwd", "g x"),
               ("log10_bwd", "g x"), ("reciprocal_bwd", "g y"), ("atan2_bwd_a", "g a b"), ("atan2_bwd_b", "g a b"),
               ("erf_bwd", "g x"), ("erfc_bwd", "g x"), ("erfinv_bwd", "g x"),
               ("gelu_bwd", "g x"), ("gelu_tanh_bwd", "g x")]:
    POINTWISE[_n] = _pw(_n, _p)
del _n, _p

# activations of nn.functional (ops/pointwise.py's Elu, Softplus, the piecewise-linear ones, ...)
for _n, _p in [("elu", "x neg_coef:s scale:s input_scale:s"), ("elu_bwd", "g x neg_slope:s scale:s input_scale:s"),
               ("softplus", "x beta:s threshold:s"), ("softplus_bwd", "g x beta:s threshold:s"),
               ("threshold", "x th:s value:s"), ("threshold_bwd", "g x th:s"),
               ("hardtanh", "x min_val:s max_val:s"), ("hardtanh_bwd", "g x min_val:s max_val:s"),
               ("leaky_relu", "x slope:s"), ("leaky_relu_bwd", "g x slope:s"),
               ("softshrink", "x lambd:s"), ("hardshrink", "x lambd:s"), ("shrink_bwd", "g x lambd:s"),
               ("hardsigmoid", "x"), ("hardsigmoid_bwd", "g x"), ("hardswish", "x"), ("hardswish_bwd", "g x"),
               ("logsigmoid", "x"), ("logsigmoid_bwd", "g x"), ("silu", "x"), ("silu_bwd", "g x"),
               ("mish", "x"), ("mish_bwd", "g x"),
               ("elu_bwd_result", "g y neg_coef:s scale:s input_scale:s"),
               ("bce_logits", "x t"), ("bce_logits_bwd", "g x t")]:
    POINTWISE[_n] = _pw(_n, _p)
del _n, _p

ElementwiseDefinition = namedtuple(
    "ElementwiseDefinition", "in_params out_params operation name preamble options")


def pointwise_call(spec, dtype):
    """The C++ expression of the kernel body, e.g. ``ag::exp<float>(float(x))``;
    shared by the CuPy operation and the host tests."""
    m = MATH_TYPE[dtype]
    args = ", ".join(p.name if p.kind == "bool" else f"{m}({p.name})" for p in spec.params)
    return f"ag::{spec.name}<{m}>({args})"


def elementwise_definition(name, dtype):
    """The cupy.ElementwiseKernel arguments of pointwise primitive `name` in `dtype`."""
    spec = POINTWISE[name]
    in_params = ", ".join(f"{dtype if p.kind == 'T' else 'bool'} {p.name}" for p in spec.params)
    call = pointwise_call(spec, dtype)
    if spec.out == "bool":
        out_params, operation = "bool out", f"out = {call}"
    else:
        # float16 is CuPy's half class: built from the float result (round to nearest)
        store = "float16" if dtype == "float16" else ""
        out_params, operation = f"{dtype} out", f"out = {store}({call})"
    return ElementwiseDefinition(in_params, out_params, operation, f"ag_{name}_{dtype}",
                                 preamble(), OPTIONS)


# --- pointwise primitives over contiguous operands: a pack per step ----------------------
# (kernels/vector.cuh). A "form" says per parameter whether it is an array of the
# result's shape ("a"), a scalar ("s", passed in the math type: float for half and
# float32), or a row ("r": an array-or-scalar parameter given as one row of the
# result's last dimension, repeated over the others, as a bias in x @ w + b; its
# length, a multiple of the pack width, is passed after it), or one element ("1":
# an array-or-scalar parameter given as an array of one element, or a view that
# repeats one, as sum's backward expands its gradient; read once per pack).

def pack_forms(spec):
    """The forms of `spec` with pack kernels, as strings ("aa", "as", "a1"): its
    usual forms, each array-or-scalar parameter as a row and as one element, and
    a backward's incoming gradient `g` as one element (the gradient of a sum or
    a mean arrives expanded: ((y_pred - y) ** 2).sum()'s pow_bwd)."""
    base = ["s" if p.form == "s" else "a" for p in spec.params]
    return ["".join(f) for f in spec.forms] + ["".join(base[:i] + [f] + base[i + 1:]) for f in ("r", "1")
                                               for i, p in enumerate(spec.params)
                                               if p.kind == "T" and (p.form == "e" or f == "1" and p.name == "g")]


VECTOR_KERNELS = tuple((n, f) for n, spec in POINTWISE.items() for f in pack_forms(spec))


def vector_kernel_name(name, dtype, form):
    return f"ag_{name}_{dtype}_v{''.join(form)}"


def _vector_decls(name, dtype, form):
    """(type, name) of the kernel's operands in order, which are also the members
    of its operation struct: an array's pointer, a row's pointer and length, a
    scalar in the math type; then the output."""
    spec = POINTWISE[name]
    ptype = {"T": CUDA_TYPE[dtype], "bool": "bool"}
    decls = []
    for p, f in zip(spec.params, form):
        if f == "s":
            decls.append((MATH_TYPE[dtype], p.name))
            continue
        decls.append((f"const {ptype[p.kind]}*", p.name))
        if f == "r":
            decls.append(("long long", f"{p.name}_cols"))
    return decls + [(f"{ptype[spec.out]}*", "out")]


def vector_op_source(name, dtype, form):
    """The operation struct of kernel (name, dtype, form): pack(i) and one(i).
    Plain C++ over the headers, so the host tests compile the same text."""
    spec = POINTWISE[name]
    t, m = CUDA_TYPE[dtype], MATH_TYPE[dtype]
    ptype = {"T": t, "bool": "bool"}
    o = ptype[spec.out]
    members = " ".join(f"{ty} {n};" for ty, n in _vector_decls(name, dtype, form))
    loads = " ".join(
        f"const {m} one_{p.name} = ag::to_math({p.name}[0]);" if f == "1" else
        f"const ag::vec::Pack<{ptype[p.kind]}, N> pk_{p.name} = "
        f"ag::vec::load<N>({p.name}, {'i' if f == 'a' else f'i * N % {p.name}_cols / N'});"   # a row: the pack in its row
        for p, f in zip(spec.params, form) if f != "s")

    def value(p, f, at):               # a parameter's value in the math type (bool as is)
        if f == "s":
            return p.name
        if f == "1":
            return f"one_{p.name}" if at is lane_at else f"ag::to_math({p.name}[0])"
        return at(p, f) if p.kind == "bool" else f"ag::to_math({at(p, f)})"

    def result(args):
        call = f"ag::{name}<{m}>({args})"
        return call if spec.out == "bool" else f"ag::from_math<{t}>({call})"

    def lane_at(p, f):
        return f"pk_{p.name}.v[k]"

    lane = ", ".join(value(p, f, lane_at) for p, f in zip(spec.params, form))
    elem = ", ".join(value(p, f, lambda p, f: f"{p.name}[i]" if f == "a" else f"{p.name}[i % {p.name}_cols]")
                     for p, f in zip(spec.params, form))
    return (f"struct {vector_kernel_name(name, dtype, form)}_op {{\n"
            f"    {members}\n"
            f"    enum {{ N = ag::vec::Width<{t}>::value }};\n"
            f"    AG_HD void pack(ag::index_t i) const {{\n"
            f"        {loads}\n"
            f"        ag::vec::Pack<{o}, N> pk_out;\n"
            f"        for (int k = 0; k < N; ++k) pk_out.v[k] = {result(lane)};\n"
            f"        ag::vec::store<N>(out, i, pk_out);\n"
            f"    }}\n"
            f"    AG_HD void one(ag::index_t i) const {{ out[i] = {result(elem)}; }}\n"
            f"}};\n")


def vector_params(name, dtype, form):
    """The C parameter list of the kernel (and of the host tests' runner)."""
    return ", ".join([f"{ty} {n}" for ty, n in _vector_decls(name, dtype, form)] + ["long long n"])


def vector_init(name, form):
    """The operation struct's initializer: its members in order."""
    return ", ".join(n for _, n in _vector_decls(name, "float32", form))


def vector_kernel_body(name, dtype, form):
    """The operation struct and its extern "C" kernel (no headers)."""
    k = vector_kernel_name(name, dtype, form)
    return (vector_op_source(name, dtype, form)
            + f'extern "C" __global__ void {k}({vector_params(name, dtype, form)}) {{\n'
            f"    const {k}_op op = {{{vector_init(name, form)}}};\n"
            f"    ag::vec::run<{k}_op::N>(op, n, blockIdx.x * (long long)blockDim.x + threadIdx.x,\n"
            f"                            (long long)gridDim.x * blockDim.x);\n"
            f"}}\n")


def vector_kernel_source(name, dtype, form):
    """The cupy.RawModule source of one pointwise kernel over contiguous operands."""
    return preamble() + "\n" + vector_kernel_body(name, dtype, form)


def vector_module_source(dtype):
    """Every pack kernel of `dtype` in one cupy.RawModule source (warmup: one NVRTC
    run instead of one per kernel)."""
    return preamble() + "\n" + "".join(vector_kernel_body(n, dtype, f) for n, f in VECTOR_KERNELS)


# --- reductions: one RawModule per dtype ------------------------------------------------

# name -> (extra kernel arguments after block_mode, output: "T", "bool" or "index")
REDUCTIONS = {
    "sum": ((), "T"), "mean": ((), "T"), "prod": ((), "T"), "var": (("correction",), "T"),
    "amax": ((), "T"), "amin": ((), "T"), "argmax": ((), "index"), "argmin": ((), "index"),
    "any": ((), "bool"), "all": ((), "bool"), "logsumexp": ((), "T"),
}
# row-wise along one axis, output shaped like the input
ROWWISE = ("softmax", "log_softmax", "softmax_bwd", "log_softmax_bwd")
# the first pass of a long sum or mean, split into chunks (cupy_kernels._split_sum):
# one partial sum per chunk, in the math type, the last chunk shorter
SPLIT_SUM = "sum_chunks"
# the storage dtypes of the reduction modules; bool data has any / all only
REDUCTION_DTYPES = DTYPES + ("bool",)
BOOL_REDUCTIONS = ("any", "all")


def reduction_kernel_name(name, dtype):
    return f"ag_{name}_{dtype}"


def reduction_kernels(dtype):
    """Names of the kernels in the module of `dtype`."""
    names = BOOL_REDUCTIONS if dtype == "bool" else tuple(REDUCTIONS) + ROWWISE + (SPLIT_SUM,)
    return tuple(reduction_kernel_name(n, dtype) for n in names)


def reduction_module_source(dtype):
    """The cupy.RawModule source holding every reduction kernel of `dtype`."""
    if dtype == "bool":
        body = "AG_BOOL_REDUCTION_KERNELS\n"
    else:
        body = f"AG_REDUCTION_KERNELS({dtype}, {CUDA_TYPE[dtype]})\n"
    return preamble() + "\n" + body


# kernels that are not primitives of their own: kernel -> the primitive it serves
KERNEL_OF = {"pow_scalar": "pow"}


# --- the list the tests and warmup() iterate over ---------------------------------------

def all_kernels():
    """(primitive, dtype, kind) for every kernel: kind "elementwise" or "reduction"."""
    out = [(n, dt, "elementwise") for n in POINTWISE for dt in DTYPES]
    for dt in REDUCTION_DTYPES:
        names = BOOL_REDUCTIONS if dt == "bool" else tuple(REDUCTIONS) + ROWWISE
        out += [(n, dt, "reduction") for n in names]
    return out
