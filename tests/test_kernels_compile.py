"""Every GPU kernel, compiled as CuPy compiles it on a GPU machine, without a GPU.

* NVRTC (the library CuPy loads, from the nvidia-cuda-nvrtc wheel), with CuPy's
  own headers (cupy/_core/include) and CUDA's (nvidia-cuda-runtime wheel) and
  the exact options of CuPy's compile_with_cache, for sm_80 and sm_90:
  - every pointwise kernel in every dtype, in the source CuPy's ElementwiseKernel
    generates (cupy_codegen.elementwise_code), for each argument form it is
    called with (array / Python scalar) as 1-d contiguous operands, plus
    3-d strided operands with 64-bit indexing;
  - the reduction RawModule of every dtype, as is.
  The pointwise kernels of one dtype are compiled as one translation unit: the
  generated sources one after another, each kernel's name made unique by a
  #define (CuPy compiles each alone; the code is otherwise unchanged and the
  shared preamble is include-guarded, so each kernel sees what it sees alone).
* nvcc (the machine's CUDA toolkit): the headers with every pointwise function
  in float, double and half-through-float, and all reduction kernels, for both
  architectures, warnings as errors (device and host side).

A kernel that would fail to compile on a GPU fails here. Successful builds are
remembered in tests/_build/ by a hash of source, options and compiler version.
With $CI set, a missing CuPy / NVRTC / nvcc fails instead of skipping.
"""
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from autograd_gpu.backend import kernel_source as ks
from test_kernels_host import print_summary
from conftest import unavailable

ARCHS = ("80", "90")
BUILD_DIR = Path(__file__).resolve().parent / "_build" / "compile"
COUNTS = {}


def _load_codegen():
    """cupy_codegen, or the reason NVRTC compiles cannot run here."""
    try:
        import cupy  # noqa: F401
    except Exception as e:
        return None, f"CuPy is not installed ({e}); pip install cupy-cuda13x nvidia-cuda-nvrtc nvidia-cuda-runtime"
    from autograd_gpu.backend import cupy_codegen
    try:
        cupy_codegen.nvrtc_version()
    except Exception as e:
        return None, f"NVRTC cannot be loaded ({e}); pip install nvidia-cuda-nvrtc"
    return cupy_codegen, None


@pytest.fixture(scope="module")
def codegen():
    cg, reason = _load_codegen()
    if cg is None:
        unavailable(reason)
    return cg


@pytest.fixture(scope="module", autouse=True)
def report_counts(request):
    yield
    if not COUNTS:
        return
    lines = ["kernel compile checks (compiled now, or found in tests/_build from an identical build):"]
    total = 0
    for what, (builds, dtypes, archs, units) in sorted(COUNTS.items()):
        lines.append(f"  {what}: {builds} kernel builds = {builds // len(archs)} per arch x {len(archs)} "
                     f"arch(s) (sm_{', sm_'.join(sorted(archs))}), {len(dtypes)} dtype(s), "
                     f"{units} translation units")
        total += builds
    lines.append(f"  total: {total} kernel builds")
    print_summary(request, "\n".join(lines))


def _count(what, builds, dtypes, archs, units):
    """Record `builds` kernel compilations (summed over the archs given)."""
    b, d, a, u = COUNTS.get(what, (0, set(), set(), 0))
    COUNTS[what] = (b + builds, d | set(dtypes), a | set(archs), u + units)


def _cached(key_parts):
    h = hashlib.sha256()
    for p in key_parts:
        h.update(str(p).encode())
        h.update(b"\0")
    return BUILD_DIR / (h.hexdigest()[:20] + ".ok")


def _mark_ok(marker):
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("compiled\n")


def _blame(log, spans):
    """Kernel labels of the lines NVRTC reports errors at."""
    bad = set()
    # an error's line, or the line of the kernel whose instantiation hit it
    for m in re.finditer(r"\((\d+)\): error|instantiation of .* at line (\d+)", log):
        line = int(m.group(1) or m.group(2))
        for first, last, label in spans:      # header spans come first
            if first <= line <= last:
                bad.add(label)
                break
    return sorted(bad)


# --- the translation units ---------------------------------------------------------------

def _variants(spec):
    """(form, ndim, c_contiguous, index_32_bits) of each code variant checked."""
    all_arrays = tuple("a" for _ in spec.params)
    return [(f, 1, True, True) for f in spec.forms] + [(all_arrays, 3, False, False)]


def pointwise_unit(codegen, dtype):
    """(source, spans, kernel builds): every pointwise kernel of `dtype` in all
    its variants, as ElementwiseKernel generates them."""
    parts, spans, line = [], [], 1 + len(codegen.module_source("", True).splitlines())
    for name, spec in ks.POINTWISE.items():
        d = ks.elementwise_definition(name, dtype)
        dtypes = [dtype if p.kind == "T" else "bool" for p in spec.params] + [dtype if spec.out == "T" else "bool"]
        for k, (form, ndim, contiguous, idx32) in enumerate(_variants(spec)):
            code = codegen.elementwise_code(d, dtypes, form, ndim, contiguous, idx32)
            text = f"#define {d.name} {d.name}_v{k}\n{code}\n#undef {d.name}\n"
            n = text.count("\n")
            if not spans:                        # the headers, in the first kernel's code
                first = line + text[:text.index(d.preamble)].count("\n")
                spans.append((first, first + d.preamble.count("\n"), "the headers (kernels/*.cuh)"))
            spans.append((line, line + n - 1, f"{d.name} form={''.join(form)} ndim={ndim}"))
            parts.append(text)
            line += n
    return codegen.module_source("".join(parts), True), spans, len(spans) - 1


def reduction_unit(codegen, dtype):
    return codegen.module_source(ks.reduction_module_source(dtype), False)      # RawModule: as is


def vector_unit(codegen, dtype):
    """Every pack kernel of `dtype` in one unit, as warmup() builds them
    (kernel_source.vector_module_source; on first use each is its own RawModule:
    the preamble and one kernel, vector_kernel_source)."""
    return codegen.module_source(ks.vector_module_source(dtype), False)


def nvcc_unit():
    """Every pointwise function for float, double and half (through float), every
    pack kernel and every reduction kernel."""
    lines = ['#include "pointwise.cuh"', '#include "reduction.cuh"', '#include "vector.cuh"']
    lines += [ks.vector_kernel_body(n, dt, f) for dt in ks.DTYPES for n, f in ks.VECTOR_KERNELS]
    for dt, c in (("float16", "__half"), ("float32", "float"), ("float64", "double")):
        lines.append(f"AG_REDUCTION_KERNELS({dt}, {c})")
    lines.append("AG_BOOL_REDUCTION_KERNELS")
    for dt, c in (("float16", "__half"), ("float32", "float"), ("float64", "double")):
        body = []
        for i, (name, spec) in enumerate(ks.POINTWISE.items()):
            binds = " ".join(f"const {'bool' if p.kind == 'bool' else c} {p.name} = "
                             f"{'flags_' if p.kind == 'bool' else 'in_'}[{j}];" for j, p in enumerate(spec.params))
            call = ks.pointwise_call(spec, dt)
            if spec.out == "bool":
                body.append(f"  {{ {binds} flags_[{i % 8}] = {call}; }}")
            else:
                body.append(f"  {{ {binds} out_[{i}] = ag::from_math<{c}>({call}); }}")
        lines.append(f'extern "C" __global__ void ag_all_pointwise_{dt}(const {c}* in_, {c}* out_, bool* flags_) {{\n'
                     + "\n".join(body) + "\n}")
    return "\n".join(lines) + "\n"


def _nvcc():
    for cand in (os.environ.get("NVCC"), shutil.which("nvcc"),
                 os.path.join(os.environ.get("CUDA_PATH", "/usr/local/cuda"), "bin", "nvcc")):
        if cand and os.path.isfile(cand):
            return cand
    return None


NVCC_FLAGS = ["-std=c++17", "--fmad=false", "-Werror", "all-warnings", "-Xcompiler", "-Wall,-Wextra,-Werror",
              *[f"-gencode=arch=compute_{a},code=sm_{a}" for a in ARCHS]]


def _nvrtc_job(source, options, name):
    """Compile in a worker process; the NVRTC log on failure, else None (plus
    the kernel names found in the cubin)."""
    from autograd_gpu.backend import cupy_codegen
    try:
        cubin = cupy_codegen.nvrtc_compile(source, options, name=name)
    except cupy_codegen.CompileError as e:
        return e.log, None
    return None, cubin


@pytest.fixture(scope="module")
def builds():
    """Every unit compiled once (in parallel: worker processes for NVRTC, nvcc
    as a subprocess alongside); -> {unit: (log or None, cubin or None, info)},
    "nvcc": its output on failure, and "nvrtc missing": why NVRTC cannot run."""
    nvcc_run = _start_nvcc()
    codegen, reason = _load_codegen()
    results = {"nvrtc missing": reason}
    if codegen is None:
        results["nvcc"] = _finish_nvcc(nvcc_run)
        return results
    jobs = {}
    for dtype in ks.DTYPES:
        source, spans, n = pointwise_unit(codegen, dtype)
        for arch in ARCHS:
            jobs[("pointwise", dtype, arch)] = (source, codegen.nvrtc_options(ks.OPTIONS, arch), (spans, n))
    for dtype in ks.REDUCTION_DTYPES:
        source = reduction_unit(codegen, dtype)
        for arch in ARCHS:
            jobs[("reduction", dtype, arch)] = (source, codegen.nvrtc_options(ks.OPTIONS, arch), None)
    for dtype in ks.DTYPES:
        source = vector_unit(codegen, dtype)
        for arch in ARCHS:
            jobs[("vector", dtype, arch)] = (source, codegen.nvrtc_options(ks.OPTIONS, arch), None)
    todo = {}
    for key, (source, options, info) in jobs.items():
        marker = _cached(["nvrtc", key[0], source, options, codegen.nvrtc_version()])
        if marker.exists():
            results[key] = (None, None, info)
        else:
            todo[key] = marker

    if todo:
        import concurrent.futures as cf
        import multiprocessing as mp
        workers = min(len(todo), os.cpu_count() or 1)
        ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
        with cf.ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            futs = {key: pool.submit(_nvrtc_job, jobs[key][0], jobs[key][1], f"ag_{'_'.join(key)}.cu")
                    for key in todo}
            for key, fut in futs.items():
                log, cubin = fut.result()
                results[key] = (log, cubin, jobs[key][2])
                if log is None:
                    _mark_ok(todo[key])
    results["nvcc"] = _finish_nvcc(nvcc_run)
    return results


def _start_nvcc():
    nvcc = _nvcc()
    if nvcc is None:
        return None
    source = nvcc_unit()
    kdir = ks.kernels_dir()
    version = subprocess.run([nvcc, "--version"], capture_output=True, text=True).stdout
    marker = _cached(["nvcc", source, NVCC_FLAGS, version, *[(kdir / h).read_text() for h in ks.HEADERS]])
    if marker.exists():
        return ("cached", marker)
    tmp = tempfile.TemporaryDirectory()
    cu = Path(tmp.name) / "ag_headers.cu"
    cu.write_text(source)
    proc = subprocess.Popen([nvcc, *NVCC_FLAGS, f"-I{kdir}", "-c", str(cu), "-o", str(Path(tmp.name) / "ag.o")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return ("running", marker, proc, tmp)


def _finish_nvcc(run):
    if run is None:
        return "missing"
    if run[0] == "cached":
        return None
    _, marker, proc, tmp = run
    out, _ = proc.communicate()
    tmp.cleanup()
    if proc.returncode != 0:
        return out
    _mark_ok(marker)
    return None


# --- the tests ---------------------------------------------------------------------------

@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("dtype", ks.DTYPES)
def test_pointwise_kernels_compile_with_nvrtc(builds, dtype, arch):
    if builds["nvrtc missing"]:
        unavailable(builds["nvrtc missing"])
    log, _, (spans, n) = builds[("pointwise", dtype, arch)]
    if log is not None:
        pytest.fail(f"pointwise kernels ({dtype}, sm_{arch}) do not compile with NVRTC; failing: "
                    f"{_blame(log, spans)}\n{log[-8000:]}")
    _count("NVRTC pointwise (ElementwiseKernel sources)", n, [dtype], [arch], 1)


def _check_raw_modules(builds, kind, dtype, arch, names, what):
    if builds["nvrtc missing"]:
        unavailable(builds["nvrtc missing"])
    log, cubin, _ = builds[(kind, dtype, arch)]
    if log is not None:
        pytest.fail(f"{what} ({dtype}, sm_{arch}) do not compile with NVRTC:\n{log[-8000:]}")
    if cubin is not None:      # freshly built: it exports the names cupy_kernels asks for
        missing = [k for k in names if k.encode() not in cubin]
        assert not missing, f"{what} missing from the {dtype} unit: {missing}"
    _count(f"NVRTC {what} (RawModule sources)", len(names), [dtype], [arch], 1)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("dtype", ks.REDUCTION_DTYPES)
def test_reduction_module_compiles_with_nvrtc(builds, dtype, arch):
    _check_raw_modules(builds, "reduction", dtype, arch, ks.reduction_kernels(dtype), "reductions")


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("dtype", ks.DTYPES)
def test_pack_kernels_compile_with_nvrtc(builds, dtype, arch):
    names = [ks.vector_kernel_name(n, dtype, f) for n, f in ks.VECTOR_KERNELS]
    _check_raw_modules(builds, "vector", dtype, arch, names, "pack kernels")


def test_headers_compile_with_nvcc(builds):
    out = builds["nvcc"]
    if out == "missing":
        unavailable("nvcc not found (set $NVCC or $CUDA_PATH, or put nvcc on PATH)")
    if out is not None:
        pytest.fail(f"the kernel headers do not compile with nvcc:\n{out[-8000:]}")
    n = (3 * len(ks.POINTWISE) + sum(len(ks.reduction_kernels(d)) for d in ks.REDUCTION_DTYPES)
         + len(ks.DTYPES) * len(ks.VECTOR_KERNELS))
    _count("nvcc (headers: pointwise functions x 3 types + pack and reduction kernels)", n * len(ARCHS),
           ks.REDUCTION_DTYPES, ARCHS, 1)


def test_every_primitive_has_a_kernel():
    """The primitives of the contract, pointwise forward and backward and reductions."""
    forward = ("neg exp log log1p sqrt rsqrt square abs sign sin cos tanh sigmoid relu clamp add sub rsub "
               "mul div pow rpow maximum minimum add_scaled where eq ne lt le gt ge isnan isfinite").split()
    backward = ("exp_bwd log_bwd log1p_bwd sqrt_bwd rsqrt_bwd square_bwd abs_bwd sin_bwd cos_bwd tanh_bwd "
                "sigmoid_bwd relu_bwd clamp_bwd pow_bwd pow_bwd_base pow_bwd_exp div_bwd_a div_bwd_b "
                "maximum_bwd minimum_bwd logsumexp_bwd var_bwd select_bwd").split()
    reductions = ("sum mean prod var amax amin argmax argmin any all logsumexp softmax log_softmax "
                  "softmax_bwd log_softmax_bwd").split()
    assert set(forward + backward) <= set(ks.POINTWISE)
    assert set(reductions) == set(ks.REDUCTIONS) | set(ks.ROWWISE)
    kernels = {(n, dt) for n, dt, _ in ks.all_kernels()}
    assert {(n, dt) for n in forward + backward + reductions for dt in ks.DTYPES} <= kernels


def test_cupy_accepts_the_kernel_definitions(codegen):
    """CuPy parses every ElementwiseKernel definition (no compile, no GPU)."""
    import cupy
    for name in ks.POINTWISE:
        for dt in ks.DTYPES:
            d = ks.elementwise_definition(name, dt)
            cupy.ElementwiseKernel(d.in_params, d.out_params, d.operation, d.name,
                                   preamble=d.preamble, options=d.options)


def test_benchmark_experiment_compiles_with_nvrtc():
    """benchmarks/kernels.py's RawKernel variants of tanh_bwd compile as CuPy
    would build them for an H100/H200 (a device session must not lose its
    minutes to a compile error)."""
    codegen, reason = _load_codegen()
    if codegen is None:
        unavailable(reason)
    from benchmarks import kernels
    source = codegen.module_source(kernels.experiment_source(), False)
    try:
        cubin = codegen.nvrtc_compile(source, codegen.nvrtc_options(ks.OPTIONS, "90"), name="experiment.cu")
    except codegen.CompileError as e:
        pytest.fail(f"benchmarks.kernels' experiment does not compile with NVRTC:\n{e.log[-8000:]}")
    assert all(k.encode() in cubin for k in kernels.EXPERIMENT_KERNELS)
