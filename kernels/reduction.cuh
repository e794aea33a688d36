// Reductions of the GPU path: sum mean prod var amax amin argmax argmin any all
// logsumexp, and the row-wise softmax / log_softmax forward and backward.
//
// Every reduction works on "rows": the caller lays the input out as
// (outer, n, inner) with the reduced elements of row r = (o, i) at
// x[(o * n + j) * inner + i], j < n (a C-contiguous array reduced over a run of
// adjacent axes, or a transposed copy with inner == 1). Row r writes output r.
//
// A row is processed by a *team*: the threads of a block (BlockTeam, for
// inner == 1: coalesced loads) or a single thread (SerialTeam, for strided rows).
// Lane t of a team folds elements t, t + lanes, t + 2 lanes, ... in order, then
// the lanes' partials are combined by a pairwise tree. HostBlockTeam runs the
// same schedule on the host, so the host tests check the exact GPU summation
// order, not merely the formula.
//
// The row operations (SumRow, SoftmaxRow, ...) are shared by device and host:
// the same code runs in both.
#ifndef AG_REDUCTION_CUH
#define AG_REDUCTION_CUH

#include "common.cuh"
#include "pointwise.cuh"

#define AG_MAX_LANES 256

namespace ag {
namespace red {

// ---- combine operators: identity and an associative combine -------------------

template <typename A> struct Sum {
    typedef A acc_t;
    AG_HD static A identity() { return A(0); }
    AG_HD static A combine(A a, A b) { return a + b; }
};
template <typename A> struct Prod {
    typedef A acc_t;
    AG_HD static A identity() { return A(1); }
    AG_HD static A combine(A a, A b) { return a * b; }
};
// NaN propagates (np.amax, torch.amax)
template <typename A> struct Max {
    typedef A acc_t;
    AG_HD static A identity() { return -inf<A>(); }
    AG_HD static A combine(A a, A b) { return max_nan(a, b); }
};
template <typename A> struct Min {
    typedef A acc_t;
    AG_HD static A identity() { return inf<A>(); }
    AG_HD static A combine(A a, A b) { return min_nan(a, b); }
};
template <typename A> struct Or {
    typedef bool acc_t;
    AG_HD static bool identity() { return false; }
    AG_HD static bool combine(bool a, bool b) { return a || b; }
};
template <typename A> struct And {
    typedef bool acc_t;
    AG_HD static bool identity() { return true; }
    AG_HD static bool combine(bool a, bool b) { return a && b; }
};

// a value and its index along the row (plain data: it lives in shared memory)
template <typename A> struct ValIdx {
    A v;
    index_t i;
};
const index_t NO_INDEX = 0x7fffffffffffffffLL;

// argmax / argmin: a NaN wins (the first NaN), then the larger (smaller) value,
// ties go to the smaller index: the first occurrence, as NumPy and PyTorch.
// The order is total, so the result does not depend on the combine order.
template <typename A> struct ArgMax {
    typedef ValIdx<A> acc_t;
    AG_HD static acc_t identity() { acc_t r; r.v = -inf<A>(); r.i = NO_INDEX; return r; }
    AG_HD static acc_t combine(acc_t a, acc_t b) {
        bool an = math::isnan(a.v), bn = math::isnan(b.v);
        if (an != bn) return an ? a : b;
        if (!an && a.v != b.v) return a.v > b.v ? a : b;
        return a.i <= b.i ? a : b;
    }
};
template <typename A> struct ArgMin {
    typedef ValIdx<A> acc_t;
    AG_HD static acc_t identity() { acc_t r; r.v = inf<A>(); r.i = NO_INDEX; return r; }
    AG_HD static acc_t combine(acc_t a, acc_t b) {
        bool an = math::isnan(a.v), bn = math::isnan(b.v);
        if (an != bn) return an ? a : b;
        if (!an && a.v != b.v) return a.v < b.v ? a : b;
        return a.i <= b.i ? a : b;
    }
};

// ---- maps: element j of a row, as the combine operator's value ---------------------

template <typename T> struct Load {          // x_j in math precision
    typedef typename opmath<T>::type M;
    const T* x; index_t s;
    AG_HD M operator()(index_t j) const { return to_math(x[j * s]); }
};
template <typename T> struct LoadIndexed {   // (x_j, j)
    typedef typename opmath<T>::type M;
    const T* x; index_t s;
    AG_HD ValIdx<M> operator()(index_t j) const { ValIdx<M> r; r.v = to_math(x[j * s]); r.i = j; return r; }
};
AG_HD bool truthy(bool b) { return b; }
template <typename M> AG_HD bool truthy(M v) { return v != M(0); }   // NaN counts as true
template <typename T> struct Truthy {
    const T* x; index_t s;
    AG_HD bool operator()(index_t j) const { return truthy(to_math(x[j * s])); }
};
template <typename T> struct Deviation {          // x_j - mean
    typedef typename opmath<T>::type M;
    const T* x; index_t s; M mean;
    AG_HD M operator()(index_t j) const { return to_math(x[j * s]) - mean; }
};
template <typename T> struct SquaredDeviation {   // (x_j - mean)^2
    typedef typename opmath<T>::type M;
    const T* x; index_t s; M mean;
    AG_HD M operator()(index_t j) const { M d = to_math(x[j * s]) - mean; return d * d; }
};
template <typename T> struct ExpShifted {         // exp(x_j - m)
    typedef typename opmath<T>::type M;
    const T* x; index_t s; M m;
    AG_HD M operator()(index_t j) const { return math::exp(to_math(x[j * s]) - m); }
};
template <typename T> struct Product2 {           // g_j * y_j
    typedef typename opmath<T>::type M;
    const T* g; const T* y; index_t s;
    AG_HD M operator()(index_t j) const { return to_math(g[j * s]) * to_math(y[j * s]); }
};

template <class Op, class Map>
AG_HD typename Op::acc_t lane_fold(const Map& map, index_t n, index_t lane, index_t lanes) {
    typename Op::acc_t a = Op::identity();
    for (index_t j = lane; j < n; j += lanes) a = Op::combine(a, map(j));
    return a;
}

// ---- teams ------------------------------------------------------------------------

// One thread per row.
struct SerialTeam {
    template <class Op, class Map>
    AG_HD typename Op::acc_t reduce(const Map& map, index_t n) const { return lane_fold<Op>(map, n, 0, 1); }
    AG_HD index_t first() const { return 0; }
    AG_HD index_t step() const { return 1; }
    AG_HD bool leader() const { return true; }
};

#if AG_CUDA
// The threads of a block (blockDim.x: a power of two <= AG_MAX_LANES), all
// calling reduce() together.
struct BlockTeam {
    template <class Op, class Map>
    __device__ typename Op::acc_t reduce(const Map& map, index_t n) const {
        typedef typename Op::acc_t A;
        __shared__ __align__(16) unsigned char raw[AG_MAX_LANES * 16];
        static_assert(sizeof(A) <= 16, "reduction state larger than the shared buffer slot");
        A* sh = reinterpret_cast<A*>(raw);
        const int t = threadIdx.x;
        sh[t] = lane_fold<Op>(map, n, t, blockDim.x);
        __syncthreads();
        for (int s = blockDim.x / 2; s > 0; s >>= 1) {
            if (t < s) sh[t] = Op::combine(sh[t], sh[t + s]);
            __syncthreads();
        }
        A r = sh[0];
        __syncthreads();   // sh is reused by the next reduce() of this type
        return r;
    }
    __device__ index_t first() const { return threadIdx.x; }
    __device__ index_t step() const { return blockDim.x; }
    __device__ bool leader() const { return threadIdx.x == 0; }
};
#else
// BlockTeam's schedule, run by one host thread: lane partials, then the tree.
struct HostBlockTeam {
    int lanes;
    template <class Op, class Map>
    typename Op::acc_t reduce(const Map& map, index_t n) const {
        typename Op::acc_t sh[AG_MAX_LANES];
        for (int t = 0; t < lanes; ++t) sh[t] = lane_fold<Op>(map, n, t, lanes);
        for (int s = lanes / 2; s > 0; s >>= 1)
            for (int t = 0; t < s; ++t) sh[t] = Op::combine(sh[t], sh[t + s]);
        return sh[0];
    }
    index_t first() const { return 0; }
    index_t step() const { return 1; }
    bool leader() const { return true; }
};
#endif

// ---- row operations ---------------------------------------------------------------
// Each: operator()(team, base, r) processes the row starting at element `base`
// (stride `s` = inner) and writes output r (or the row's outputs).

// identity maps of a reduced value to the output
template <typename T> struct Store {
    template <typename M> AG_HD T operator()(M a, index_t) const { return from_math<T>(a); }
};
template <typename T> struct StoreMean {
    template <typename M> AG_HD T operator()(M a, index_t n) const { return from_math<T>(a / M(n)); }
};
struct StoreIndex {
    template <typename V> AG_HD index_t operator()(V a, index_t) const { return a.i; }
};
struct StoreBool {
    AG_HD bool operator()(bool a, index_t) const { return a; }
};

template <class Op, class Map, class Out, class Fin> struct FoldRow {
    Map map;  // x and stride; its x is advanced to the row's base
    Out* y; index_t n; Fin fin;
    template <class Team> AG_HD void operator()(const Team& team, index_t base, index_t r) const {
        Map m = map;
        m.x += base;
        typename Op::acc_t a = team.template reduce<Op>(m, n);
        if (team.leader()) y[r] = fin(a, n);
    }
};

template <class Op, class Map, class Out, class Fin>
AG_HD FoldRow<Op, Map, Out, Fin> fold_row(Map map, Out* y, index_t n, Fin fin) {
    FoldRow<Op, Map, Out, Fin> f;
    f.map = map; f.y = y; f.n = n; f.fin = fin;
    return f;
}

template <typename T> struct VarRow {          // as the twin: corrected two-pass (Chan, Golub & LeVeque)
    typedef typename opmath<T>::type M;
    const T* x; T* y; index_t n, s; double correction;
    template <class Team> AG_HD void operator()(const Team& team, index_t base, index_t r) const {
        Load<T> load = {x + base, s};
        M mean = team.template reduce<Sum<M> >(load, n) / M(n);
        Deviation<T> off = {x + base, s, mean};
        SquaredDeviation<T> dev = {x + base, s, mean};
        M s1 = team.template reduce<Sum<M> >(off, n);           // the mean's rounding error, times n
        M m2 = team.template reduce<Sum<M> >(dev, n) - s1 * s1 / M(n);   // a constant row gives exactly 0
        if (m2 < M(0)) m2 = M(0);                               // (rounding; NaN stays NaN)
        M dof = M(double(n) - correction);
        if (team.leader()) y[r] = from_math<T>(m2 / (dof > M(0) ? dof : M(0)));
    }
};

template <typename T> struct LogSumExpRow {    // the max shift is skipped when the max is not finite
    typedef typename opmath<T>::type M;
    const T* x; T* y; index_t n, s;
    template <class Team> AG_HD void operator()(const Team& team, index_t base, index_t r) const {
        Load<T> load = {x + base, s};
        M m = team.template reduce<Max<M> >(load, n);
        if (!math::isfinite(m)) m = M(0);
        ExpShifted<T> e = {x + base, s, m};
        M sum = team.template reduce<Sum<M> >(e, n);
        if (team.leader()) y[r] = from_math<T>(math::log(sum) + m);
    }
};

template <typename T> struct SoftmaxRow {      // exp(x - max) / sum(exp(x - max))
    typedef typename opmath<T>::type M;
    const T* x; T* y; index_t n, s;
    template <class Team> AG_HD void operator()(const Team& team, index_t base, index_t) const {
        Load<T> load = {x + base, s};
        M m = team.template reduce<Max<M> >(load, n);
        ExpShifted<T> e = {x + base, s, m};
        M sum = team.template reduce<Sum<M> >(e, n);
        for (index_t j = team.first(); j < n; j += team.step())
            y[base + j * s] = from_math<T>(e(j) / sum);
    }
};

template <typename T> struct LogSoftmaxRow {   // (x - max) - log(sum(exp(x - max)))
    typedef typename opmath<T>::type M;
    const T* x; T* y; index_t n, s;
    template <class Team> AG_HD void operator()(const Team& team, index_t base, index_t) const {
        Load<T> load = {x + base, s};
        M m = team.template reduce<Max<M> >(load, n);
        ExpShifted<T> e = {x + base, s, m};
        M lse = math::log(team.template reduce<Sum<M> >(e, n));
        for (index_t j = team.first(); j < n; j += team.step())
            y[base + j * s] = from_math<T>((load(j) - m) - lse);
    }
};

template <typename T> struct SoftmaxBwdRow {   // y * (g - sum(g * y))
    typedef typename opmath<T>::type M;
    const T* g; const T* y; T* gx; index_t n, s;
    template <class Team> AG_HD void operator()(const Team& team, index_t base, index_t) const {
        Product2<T> gy = {g + base, y + base, s};
        M dot = team.template reduce<Sum<M> >(gy, n);
        for (index_t j = team.first(); j < n; j += team.step()) {
            index_t k = base + j * s;
            gx[k] = from_math<T>(to_math(y[k]) * (to_math(g[k]) - dot));
        }
    }
};

template <typename T> struct LogSoftmaxBwdRow {   // g - exp(y) * sum(g)
    typedef typename opmath<T>::type M;
    const T* g; const T* y; T* gx; index_t n, s;
    template <class Team> AG_HD void operator()(const Team& team, index_t base, index_t) const {
        Load<T> load = {g + base, s};
        M sum = team.template reduce<Sum<M> >(load, n);
        for (index_t j = team.first(); j < n; j += team.step()) {
            index_t k = base + j * s;
            gx[k] = from_math<T>(to_math(g[k]) - math::exp(to_math(y[k])) * sum);
        }
    }
};

// Chunk o of column i of a long sum (the caller's split, see cupy_kernels._split_sum):
// elements [o n, min((o + 1) n, total)) of x seen as (total, s), into y[r] in the
// math type (half's partial sums stay float). The last chunk may be shorter, so
// one launch covers a sum whose length is no multiple of the chunk.
template <typename T> struct SumChunkRow {
    typedef typename opmath<T>::type M;
    const T* x; M* y; index_t n, s, total;
    template <class Team> AG_HD void operator()(const Team& team, index_t base, index_t r) const {
        const index_t left = total - r / s * n;
        Load<T> load = {x + base, s};
        M a = team.template reduce<Sum<M> >(load, left < n ? left : n);
        if (team.leader()) y[r] = a;
    }
};

// The first element of row r.
AG_HD index_t row_base(index_t r, index_t n, index_t inner) {
    index_t o = r / inner;
    return o * n * inner + (r - o * inner);
}

#if AG_CUDA
// block_mode: a block per row (rows of adjacent elements); else a thread per row.
template <class RowOp>
__device__ void run_rows(const RowOp& op, index_t rows, index_t n, index_t inner, int block_mode) {
    if (block_mode) {
        BlockTeam team;
        for (index_t r = blockIdx.x; r < rows; r += gridDim.x) op(team, row_base(r, n, inner), r);
    } else {
        SerialTeam team;
        index_t stride = (index_t)gridDim.x * blockDim.x;
        for (index_t r = (index_t)blockIdx.x * blockDim.x + threadIdx.x; r < rows; r += stride)
            op(team, row_base(r, n, inner), r);
    }
}
#else
// The host twin of run_rows: lanes > 1 replays a block per row, lanes == 1 a
// thread per row.
template <class RowOp>
void run_rows_host(const RowOp& op, index_t rows, index_t n, index_t inner, int lanes) {
    HostBlockTeam team = {lanes};
    for (index_t r = 0; r < rows; ++r) op(team, row_base(r, n, inner), r);
}
#endif

// ---- the row operation of each reduction primitive (used by kernels and host tests) ----

template <typename T> AG_HD FoldRow<Sum<typename opmath<T>::type>, Load<T>, T, Store<T> >
sum_row(const T* x, T* y, index_t n, index_t s) {
    Load<T> m = {x, s};
    return fold_row<Sum<typename opmath<T>::type> >(m, y, n, Store<T>());
}
template <typename T> AG_HD FoldRow<Sum<typename opmath<T>::type>, Load<T>, T, StoreMean<T> >
mean_row(const T* x, T* y, index_t n, index_t s) {
    Load<T> m = {x, s};
    return fold_row<Sum<typename opmath<T>::type> >(m, y, n, StoreMean<T>());
}
template <typename T> AG_HD FoldRow<Prod<typename opmath<T>::type>, Load<T>, T, Store<T> >
prod_row(const T* x, T* y, index_t n, index_t s) {
    Load<T> m = {x, s};
    return fold_row<Prod<typename opmath<T>::type> >(m, y, n, Store<T>());
}
template <typename T> AG_HD FoldRow<Max<typename opmath<T>::type>, Load<T>, T, Store<T> >
amax_row(const T* x, T* y, index_t n, index_t s) {
    Load<T> m = {x, s};
    return fold_row<Max<typename opmath<T>::type> >(m, y, n, Store<T>());
}
template <typename T> AG_HD FoldRow<Min<typename opmath<T>::type>, Load<T>, T, Store<T> >
amin_row(const T* x, T* y, index_t n, index_t s) {
    Load<T> m = {x, s};
    return fold_row<Min<typename opmath<T>::type> >(m, y, n, Store<T>());
}
template <typename T> AG_HD FoldRow<ArgMax<typename opmath<T>::type>, LoadIndexed<T>, index_t, StoreIndex>
argmax_row(const T* x, index_t* y, index_t n, index_t s) {
    LoadIndexed<T> m = {x, s};
    return fold_row<ArgMax<typename opmath<T>::type> >(m, y, n, StoreIndex());
}
template <typename T> AG_HD FoldRow<ArgMin<typename opmath<T>::type>, LoadIndexed<T>, index_t, StoreIndex>
argmin_row(const T* x, index_t* y, index_t n, index_t s) {
    LoadIndexed<T> m = {x, s};
    return fold_row<ArgMin<typename opmath<T>::type> >(m, y, n, StoreIndex());
}
template <typename T> AG_HD FoldRow<Or<bool>, Truthy<T>, bool, StoreBool>
any_row(const T* x, bool* y, index_t n, index_t s) {
    Truthy<T> m = {x, s};
    return fold_row<Or<bool> >(m, y, n, StoreBool());
}
template <typename T> AG_HD FoldRow<And<bool>, Truthy<T>, bool, StoreBool>
all_row(const T* x, bool* y, index_t n, index_t s) {
    Truthy<T> m = {x, s};
    return fold_row<And<bool> >(m, y, n, StoreBool());
}
template <typename T> AG_HD SumChunkRow<T> sum_chunks_row(const T* x, typename opmath<T>::type* y, index_t n,
                                                          index_t s, index_t total) {
    SumChunkRow<T> r = {x, y, n, s, total};
    return r;
}
template <typename T> AG_HD VarRow<T> var_row(const T* x, T* y, index_t n, index_t s, double correction) {
    VarRow<T> r = {x, y, n, s, correction};
    return r;
}
template <typename T> AG_HD LogSumExpRow<T> logsumexp_row(const T* x, T* y, index_t n, index_t s) {
    LogSumExpRow<T> r = {x, y, n, s};
    return r;
}
template <typename T> AG_HD SoftmaxRow<T> softmax_row(const T* x, T* y, index_t n, index_t s) {
    SoftmaxRow<T> r = {x, y, n, s};
    return r;
}
template <typename T> AG_HD LogSoftmaxRow<T> log_softmax_row(const T* x, T* y, index_t n, index_t s) {
    LogSoftmaxRow<T> r = {x, y, n, s};
    return r;
}
template <typename T> AG_HD SoftmaxBwdRow<T> softmax_bwd_row(const T* g, const T* y, T* gx, index_t n, index_t s) {
    SoftmaxBwdRow<T> r = {g, y, gx, n, s};
    return r;
}
template <typename T> AG_HD LogSoftmaxBwdRow<T> log_softmax_bwd_row(const T* g, const T* y, T* gx, index_t n, index_t s) {
    LogSoftmaxBwdRow<T> r = {g, y, gx, n, s};
    return r;
}

}  // namespace red
}  // namespace ag

#if AG_CUDA
// The kernels of one element type, extern "C" with the dtype in the name
// (ag_sum_float32, ...). Arguments: input(s), output, rows, n, inner, block_mode.
#define AG_ROWS_ARGS ag::index_t rows, ag::index_t n, ag::index_t inner, int block_mode
#define AG_RUN(ROWOP) ag::red::run_rows(ROWOP, rows, n, inner, block_mode)

#define AG_REDUCTION_KERNELS(SUFFIX, T)                                                              \
extern "C" __global__ void ag_sum_##SUFFIX(const T* x, T* y, AG_ROWS_ARGS) { AG_RUN(ag::red::sum_row(x, y, n, inner)); } \
extern "C" __global__ void ag_mean_##SUFFIX(const T* x, T* y, AG_ROWS_ARGS) { AG_RUN(ag::red::mean_row(x, y, n, inner)); } \
extern "C" __global__ void ag_sum_chunks_##SUFFIX(const T* x, ag::opmath<T>::type* y, AG_ROWS_ARGS,                 \
                                                  ag::index_t total) {                                               \
    AG_RUN(ag::red::sum_chunks_row(x, y, n, inner, total)); }                                                          \
extern "C" __global__ void ag_prod_##SUFFIX(const T* x, T* y, AG_ROWS_ARGS) { AG_RUN(ag::red::prod_row(x, y, n, inner)); } \
extern "C" __global__ void ag_var_##SUFFIX(const T* x, T* y, AG_ROWS_ARGS, double correction) {                          \
    AG_RUN(ag::red::var_row(x, y, n, inner, correction)); }                                                             \
extern "C" __global__ void ag_amax_##SUFFIX(const T* x, T* y, AG_ROWS_ARGS) { AG_RUN(ag::red::amax_row(x, y, n, inner)); } \
extern "C" __global__ void ag_amin_##SUFFIX(const T* x, T* y, AG_ROWS_ARGS) { AG_RUN(ag::red::amin_row(x, y, n, inner)); } \
extern "C" __global__ void ag_argmax_##SUFFIX(const T* x, ag::index_t* y, AG_ROWS_ARGS) {                                \
    AG_RUN(ag::red::argmax_row(x, y, n, inner)); }                                                                      \
extern "C" __global__ void ag_argmin_##SUFFIX(const T* x, ag::index_t* y, AG_ROWS_ARGS) {                                \
    AG_RUN(ag::red::argmin_row(x, y, n, inner)); }                                                                      \
extern "C" __global__ void ag_any_##SUFFIX(const T* x, bool* y, AG_ROWS_ARGS) { AG_RUN(ag::red::any_row(x, y, n, inner)); } \
extern "C" __global__ void ag_all_##SUFFIX(const T* x, bool* y, AG_ROWS_ARGS) { AG_RUN(ag::red::all_row(x, y, n, inner)); } \
extern "C" __global__ void ag_logsumexp_##SUFFIX(const T* x, T* y, AG_ROWS_ARGS) {                                      \
    AG_RUN(ag::red::logsumexp_row(x, y, n, inner)); }                                                                   \
extern "C" __global__ void ag_softmax_##SUFFIX(const T* x, T* y, AG_ROWS_ARGS) {                                        \
    AG_RUN(ag::red::softmax_row(x, y, n, inner)); }                                                                     \
extern "C" __global__ void ag_log_softmax_##SUFFIX(const T* x, T* y, AG_ROWS_ARGS) {                                    \
    AG_RUN(ag::red::log_softmax_row(x, y, n, inner)); }                                                                 \
extern "C" __global__ void ag_softmax_bwd_##SUFFIX(const T* g, const T* y, T* gx, AG_ROWS_ARGS) {                       \
    AG_RUN(ag::red::softmax_bwd_row(g, y, gx, n, inner)); }                                                             \
extern "C" __global__ void ag_log_softmax_bwd_##SUFFIX(const T* g, const T* y, T* gx, AG_ROWS_ARGS) {                   \
    AG_RUN(ag::red::log_softmax_bwd_row(g, y, gx, n, inner)); }

// any / all over bool data
#define AG_BOOL_REDUCTION_KERNELS                                                                                        \
extern "C" __global__ void ag_any_bool(const bool* x, bool* y, AG_ROWS_ARGS) { AG_RUN(ag::red::any_row(x, y, n, inner)); } \
extern "C" __global__ void ag_all_bool(const bool* x, bool* y, AG_ROWS_ARGS) { AG_RUN(ag::red::all_row(x, y, n, inner)); }
#endif  // AG_CUDA

#endif  // AG_REDUCTION_CUH
