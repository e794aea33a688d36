"""What CuPy compiles for our kernels: the generated CUDA source of an
ElementwiseKernel and the NVRTC options of CuPy's compile_with_cache, obtained
without a GPU. Used by the compile tests; the runtime path (cupy_kernels) uses
only CuPy's public API.

This is the one module that relies on CuPy internals: the code generator
`cupy._core._kernel._get_elementwise_kernel_code`, `_ArgInfo`, `_TypeMap`,
`_get_param_info`, and `cupy._core.core.assemble_cupy_compiler_options` /
`_cupy_header_list`, plus the options that `cupy.cuda.compiler` appends
(-ftz=true, -arch=sm_XX, --device-as-default-execution-space).
Checked against CuPy 13.6 and 14.2: keep CuPy within >=13.6,<15.
"""
import numpy as np

# cupy._core._kernel._ArgKind
_ARG_NDARRAY, _ARG_INDEXER, _ARG_SCALAR = 1, 2, 3


def _cupy():
    import cupy
    from cupy._core import _kernel, _carray, _scalar, core
    return cupy, _kernel, _carray, _scalar, core


def elementwise_code(defn, dtypes, form, ndim=1, c_contiguous=True, index_32_bits=True):
    """The CUDA code CuPy generates for ElementwiseKernel `defn` (a
    kernel_source.ElementwiseDefinition) called with arguments of numpy dtypes
    `dtypes` (inputs then output) in `form` ("a" array / "s" scalar per input).

    Arrays are described by ndim, contiguity and index width as CuPy sees them
    after broadcasting and dimension reduction: same-shape contiguous operands
    become 1-d contiguous; broadcast or strided ones keep their dimensions."""
    cupy, K, carray, scalar, _ = _cupy()
    params = (K._get_param_info(defn.in_params, True) + K._get_param_info(defn.out_params, False)
              + K._get_param_info("CIndexer _ind", False))

    def array(dt, contiguous):
        return K._ArgInfo(_ARG_NDARRAY, cupy.ndarray, np.dtype(dt), ndim, contiguous, index_32_bits)

    infos = []
    for dt, f in zip(dtypes[:-1], form):
        if f == "s":
            infos.append(K._ArgInfo(_ARG_SCALAR, scalar.CScalar, np.dtype(dt), 0, True, True))
        else:
            infos.append(array(dt, c_contiguous))
    infos.append(array(dtypes[-1], True))                       # the output CuPy allocates
    infos.append(K._ArgInfo(_ARG_INDEXER, carray.Indexer, None, ndim, True, index_32_bits))
    # parameters have concrete dtypes, so there are no type placeholders to map
    return K._get_elementwise_kernel_code(tuple(infos), K._TypeMap(()), params, defn.operation,
                                          defn.name, defn.preamble)


def module_source(code, prepend_cupy_headers):
    """The source compile_with_cache hands to NVRTC (ElementwiseKernel: True,
    RawModule: False)."""
    _, _, _, _, core = _cupy()
    if not prepend_cupy_headers:
        return code
    return "".join("#include <%s>\n" % h for h in core._cupy_header_list) + code


def nvrtc_options(options, arch):
    """The NVRTC options CuPy uses for a kernel built with `options` for sm_`arch`."""
    _, _, _, _, core = _cupy()
    return tuple(core.assemble_cupy_compiler_options(tuple(options))) + (
        "-ftz=true", f"-arch=sm_{arch}", "--device-as-default-execution-space")


class CompileError(RuntimeError):
    def __init__(self, log, source, options):
        super().__init__(log)
        self.log, self.source, self.options = log, source, options


def nvrtc_compile(source, options, name="kernel.cu"):
    """Compile with the NVRTC CuPy loads (no GPU needed); returns the cubin or
    raises CompileError with the compiler's log."""
    from cupy.cuda import nvrtc
    prog = nvrtc.createProgram(source, name, (), ())
    try:
        try:
            nvrtc.compileProgram(prog, tuple(options))
        except nvrtc.NVRTCError:
            raise CompileError(nvrtc.getProgramLog(prog), source, options) from None
        return nvrtc.getCUBIN(prog)
    finally:
        nvrtc.destroyProgram(prog)


def nvrtc_version():
    from cupy.cuda import nvrtc
    return nvrtc.getVersion()
