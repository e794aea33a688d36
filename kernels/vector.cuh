// Pointwise kernels over contiguous operands of one shape, a 16-byte pack of
// the compute dtype per step (4 floats, 2 doubles, 8 halves; bool operands and
// results move as many elements). CuPy's ElementwiseKernel gives each
// thread one element: on an H200 the bytes in flight per thread, 4, are too few
// to keep ~4.8 TB/s busy (Little's law: 132 SMs x 2048 threads x 4 B is about
// 1 MB, the latency-bandwidth product about 3 MB). A pack per load moves four
// times as much per memory instruction, as PyTorch's vectorized loops do.
//
// The kernel source (kernel_source.vector_kernel_source) defines, per primitive
// and argument form, an operation with pack(i) (pack i of every array operand
// to pack i of the output) and one(i) (element i); run() hands out the packs,
// then the n % N trailing elements. The host tests run the same run() and
// operations with every thread count, so the index math is checked too.
#ifndef AG_VECTOR_CUH
#define AG_VECTOR_CUH

#include "common.cuh"

namespace ag {
namespace vec {

template <typename T> struct Width { enum { value = 16 / sizeof(T) }; };   // elements per pack

// N elements of T (the compute dtype's width, also for bool masks and results:
// 4 bools next to 4 floats), aligned to their size
template <typename T, int N> struct alignas(sizeof(T) * N) Pack { T v[N]; };

template <int N, typename T> AG_HD Pack<T, N> load(const T* p, index_t i) {
    return reinterpret_cast<const Pack<T, N>*>(p)[i];
}
template <int N, typename T> AG_HD void store(T* p, index_t i, const Pack<T, N>& v) {
    reinterpret_cast<Pack<T, N>*>(p)[i] = v;
}

// thread `tid` of `nthreads`: packs tid, tid + nthreads, ..., then the tail elements
template <int N, class Op> AG_HD void run(const Op& op, index_t n, index_t tid, index_t nthreads) {
    const index_t packs = n / N;
    for (index_t i = tid; i < packs; i += nthreads) op.pack(i);
    for (index_t i = packs * N + tid; i < n; i += nthreads) op.one(i);
}

}  // namespace vec
}  // namespace ag

#endif  // AG_VECTOR_CUH
