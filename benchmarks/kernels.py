"""Kernel-only timings on the GPU with CUDA events: W5's kernels and W3's
bias-gradient sum, the achieved memory bandwidth of each against the device's
peak and against a plain device-to-device copy, with PyTorch CUDA's own
kernels beside them; then whether W5's whole step is bound by the host (its
time with the launches only queued against its synchronized time), and the
host's cost per launch.

    python -m benchmarks.kernels                   # 10M float32 elements, as W5
    python -m benchmarks.kernels --numel 1000000 --reps 50 --w3-rows 10000

`benchmarks.run` times W5's backward from Python over the whole phase (the
engine's walk, allocations, launches): this times the kernels alone. Each case
is launched `reps` times back to back between two events, after a warm-up, and
the median of `rounds` such blocks is reported. Bytes moved = the arrays each
kernel reads and writes, once each. Exit status 2 when CuPy sees no GPU."""
import argparse
import statistics
import sys

import numpy as np

# nominal memory bandwidth (bytes/s) by device name, where the driver's memory
# clock is not reported (CUDA 13 dropped cudaDeviceProp.memoryClockRate)
NOMINAL_BANDWIDTH = {"H200": 4.8e12, "H100 SXM": 3.35e12, "H100 NVL": 3.9e12, "H100 PCIe": 2.0e12,
                     "A100-SXM4-80GB": 2.039e12, "A100-SXM4-40GB": 1.555e12, "A100-PCIE-40GB": 1.555e12,
                     "A100 80GB PCIe": 1.935e12, "L40S": 0.864e12, "L4": 0.3e12}


def peak_bandwidth(cupy):
    """(bytes/s, how it was found) of the current device, or (None, why not)."""
    dev = cupy.cuda.runtime.getDevice()
    props = cupy.cuda.runtime.getDeviceProperties(dev)
    name = props.get("name", b"")
    name = name.decode() if isinstance(name, bytes) else str(name)
    clock_khz, width_bits = props.get("memoryClockRate"), props.get("memoryBusWidth")
    if clock_khz and width_bits:
        return 2 * clock_khz * 1e3 * width_bits / 8, f"{name}: memory clock x bus width (driver)"
    for key, bw in NOMINAL_BANDWIDTH.items():
        if key in name:
            return bw, f"{name}: nominal {bw / 1e12:.2f} TB/s (datasheet)"
    return None, f"{name}: unknown peak"


def _time_events(event, elapsed_ms, fn, reps, rounds):
    """Median seconds per launch of fn(), over `rounds` blocks of `reps` between
    two events (event(): a new timing event; elapsed_ms(start, end))."""
    for _ in range(3):
        fn()
    start, end = event(), event()
    per = []
    for _ in range(rounds):
        start.record()
        for _ in range(reps):
            fn()
        end.record()
        end.synchronize()
        per.append(elapsed_ms(start, end) / 1e3 / reps)
    return statistics.median(per)


def time_kernel(cupy, fn, reps, rounds):
    return _time_events(cupy.cuda.Event, cupy.cuda.get_elapsed_time, fn, reps, rounds)


def time_torch(torch, fn, reps, rounds):
    return _time_events(lambda: torch.cuda.Event(enable_timing=True), lambda a, b: a.elapsed_time(b),
                        fn, reps, rounds)


def w5_cases(cupy, n):
    """(label, fn, bytes moved) for our W5 kernels and the reference copy."""
    from autograd_gpu.backend import cupy_kernels as ck
    rng = np.random.default_rng(20201005)
    x = cupy.asarray(rng.standard_normal(n, dtype=np.float32))
    t, s, g = cupy.tanh(x), 1 / (1 + cupy.exp(-x)), cupy.asarray(rng.standard_normal(n, dtype=np.float32))
    p, out = t * s, cupy.empty_like(x)
    b = 4 * n                                                   # one float32 array
    tanh, sigmoid, mul, total = ck.get("tanh"), ck.get("sigmoid"), ck.get("mul"), ck.get("sum")
    tanh_bwd, sigmoid_bwd, add = ck.get("tanh_bwd"), ck.get("sigmoid_bwd"), ck.get("add")
    repeated = cupy.broadcast_to(g[:1], (n,))                   # sum's backward: one element, expanded
    return [
        ("copy (CuPy, the reference)", lambda: cupy.copyto(out, x), 2 * b),
        ("tanh", lambda: tanh(x), 2 * b),
        ("sigmoid", lambda: sigmoid(x), 2 * b),
        ("mul", lambda: mul(t, s), 3 * b),
        ("sum (full)", lambda: total(p, None, False), b),
        ("tanh_bwd (fused: g * (1 - y*y))", lambda: tanh_bwd(g, t), 3 * b),
        ("sigmoid_bwd (fused: g * (1 - y) * y)", lambda: sigmoid_bwd(g, s), 3 * b),
        ("tanh_bwd as an ElementwiseKernel (the fallback)", lambda: tanh_bwd.kernel(g.dtype)(g, t), 3 * b),
        ("mul by an expanded element (MulBackward0 of sum's gradient)", lambda: mul(repeated, s), 2 * b),
        ("add (the gradients' sum)", lambda: add(g, t), 3 * b),
        ("add, CuPy's ufunc (what the gradients' sum used before)", lambda: cupy.add(g, t, out=out), 3 * b),
    ]


def large_cases(cupy, n):
    """tanh_bwd on `n` elements: at 10x W5's size the launch's fixed costs weigh
    a tenth as much, so this shows the kernel's streaming rate itself."""
    from autograd_gpu.backend import cupy_kernels as ck
    g = cupy.full(n, 0.5, dtype=np.float32)
    y = cupy.full(n, 0.25, dtype=np.float32)
    tanh_bwd = ck.get("tanh_bwd")
    return [(f"tanh_bwd (fused) on {n:,} elements", lambda: tanh_bwd(g, y), 12 * n)]


def w3_sum_cases(cupy, rows):
    """W3's bias gradient: a (rows, 1024) float32 gradient summed over axis 0 (a
    strided reduction with few outputs: split into chunks since 2026-12-04)."""
    from autograd_gpu.backend import cupy_kernels as ck
    g = cupy.asarray(np.random.default_rng(3).standard_normal((rows, 1024), dtype=np.float32))
    total = ck.get("sum")

    def split_over(threads):               # the split sum with another thread count (experiment)
        def run():
            kept, ck._SPLIT_THREADS = ck._SPLIT_THREADS, threads
            try:
                total(g, 0, True)
            finally:
                ck._SPLIT_THREADS = kept
        return run
    return [("sum over axis 0 of (rows, 1024): W3's bias gradient", lambda: total(g, 0, True), 4 * g.size),
            ("the same sum, CuPy's own", lambda: g.sum(0, keepdims=True), 4 * g.size)] + [
            (f"the same sum split over {t:,} threads (experiment)", split_over(t), 4 * g.size)
            for t in (1 << 17, 1 << 19) if t != ck._SPLIT_THREADS]


def torch_cases(torch, n):
    gen = torch.Generator(device="cuda").manual_seed(20201005)
    x = torch.randn(n, device="cuda", generator=gen)
    g = torch.randn(n, device="cuda", generator=gen)
    t, s = x.tanh(), x.sigmoid()
    p, out = t * s, torch.empty_like(x)
    b = 4 * n
    aten = torch.ops.aten
    return [
        ("copy", lambda: out.copy_(x), 2 * b),
        ("tanh", lambda: torch.tanh(x), 2 * b),
        ("sigmoid", lambda: torch.sigmoid(x), 2 * b),
        ("mul", lambda: torch.mul(t, s), 3 * b),
        ("sum (full)", lambda: p.sum(), b),
        ("tanh_backward", lambda: aten.tanh_backward(g, t), 3 * b),
        ("sigmoid_backward", lambda: aten.sigmoid_backward(g, s), 3 * b),
        ("add", lambda: torch.add(g, t, out=out), 3 * b),
    ]


def torch_w3_sum_cases(torch, rows):
    g = torch.randn(rows, 1024, device="cuda")
    return [("sum over axis 0 of (rows, 1024): W3's bias gradient", lambda: g.sum(0, keepdim=True), 4 * g.numel())]


# --- an experiment: the same fused math as a plain RawKernel --------------------------------
# Contiguous operands take our pack kernels (kernels/vector.cuh: 16-byte packs,
# the run() loop); the rest an ElementwiseKernel (one element per thread). These
# hand-written variants of tanh_bwd over contiguous float32 separate the effect of
# the pack width from that of the launch path and the generated code, and try what
# might pass 80% of the peak (the H200 run of 2026-12-04: ours and PyTorch's at
# 78%, the 4-per-thread variant 79%): two packs in flight per thread, streaming
# cache hints (__ldcs / __stcs: data used once), a grid of 4 blocks per SM.
# (name, elements per thread per step, grid: "n" covers n once, "sm" 4 blocks per SM)
EXPERIMENTS = (("exp_tanh_bwd_f1", 1, "n"), ("exp_tanh_bwd_f4", 4, "n"), ("exp_tanh_bwd_f8", 8, "n"),
               ("exp_tanh_bwd_f4cs", 4, "n"), ("exp_tanh_bwd_f4", 4, "sm"))
EXPERIMENT_KERNELS = tuple(dict.fromkeys(name for name, _, _ in EXPERIMENTS))


def experiment_source():
    from autograd_gpu.backend import kernel_source as ks
    return ks.preamble() + r"""
__device__ __forceinline__ float4 tanh_bwd4(float4 a, float4 b) {
    float4 r;
    r.x = ag::tanh_bwd<float>(a.x, b.x);
    r.y = ag::tanh_bwd<float>(a.y, b.y);
    r.z = ag::tanh_bwd<float>(a.z, b.z);
    r.w = ag::tanh_bwd<float>(a.w, b.w);
    return r;
}
extern "C" __global__ void exp_tanh_bwd_f1(const float* g, const float* y, float* out, long long n) {
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += stride)
        out[i] = ag::tanh_bwd<float>(g[i], y[i]);
}
// one float4 per step; Streaming: loads and stores with the evict-first hint
template <bool Streaming>
__device__ void tanh_bwd_f4(const float* g, const float* y, float* out, long long n) {
    long long stride = (long long)gridDim.x * blockDim.x, n4 = n / 4;
    const float4* g4 = reinterpret_cast<const float4*>(g);
    const float4* y4 = reinterpret_cast<const float4*>(y);
    float4* o4 = reinterpret_cast<float4*>(out);
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n4; i += stride) {
        if (Streaming) __stcs(o4 + i, tanh_bwd4(__ldcs(g4 + i), __ldcs(y4 + i)));
        else o4[i] = tanh_bwd4(g4[i], y4[i]);
    }
    for (long long i = 4 * n4 + blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += stride)
        out[i] = ag::tanh_bwd<float>(g[i], y[i]);
}
extern "C" __global__ void exp_tanh_bwd_f4(const float* g, const float* y, float* out, long long n) {
    tanh_bwd_f4<false>(g, y, out, n);
}
extern "C" __global__ void exp_tanh_bwd_f4cs(const float* g, const float* y, float* out, long long n) {
    tanh_bwd_f4<true>(g, y, out, n);
}
extern "C" __global__ void exp_tanh_bwd_f8(const float* g, const float* y, float* out, long long n) {
    // two packs per step, both loaded before either is computed: 64 bytes in flight per thread
    long long threads = (long long)gridDim.x * blockDim.x, n4 = n / 4;
    const float4* g4 = reinterpret_cast<const float4*>(g);
    const float4* y4 = reinterpret_cast<const float4*>(y);
    float4* o4 = reinterpret_cast<float4*>(out);
    long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    for (; i + threads < n4; i += 2 * threads) {
        float4 a0 = g4[i], b0 = y4[i], a1 = g4[i + threads], b1 = y4[i + threads];
        o4[i] = tanh_bwd4(a0, b0);
        o4[i + threads] = tanh_bwd4(a1, b1);
    }
    if (i < n4) o4[i] = tanh_bwd4(g4[i], y4[i]);
    for (long long j = 4 * n4 + blockIdx.x * (long long)blockDim.x + threadIdx.x; j < n; j += threads)
        out[j] = ag::tanh_bwd<float>(g[j], y[j]);
}
"""


def experiment_cases(cupy, n):
    """(label, fn, bytes) of the RawKernel variants of tanh_bwd, checked against ours first."""
    from autograd_gpu.backend import cupy_kernels as ck
    from autograd_gpu.backend import kernel_source as ks
    mod = cupy.RawModule(code=experiment_source(), options=ks.OPTIONS)
    rng = np.random.default_rng(1)
    g = cupy.asarray(rng.standard_normal(n, dtype=np.float32))
    y = cupy.tanh(cupy.asarray(rng.standard_normal(n, dtype=np.float32)))
    out, want = cupy.empty_like(g), ck.get("tanh_bwd")(g, y)
    sms = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.runtime.getDevice())["multiProcessorCount"]
    cases = []
    for name, per_thread, grid_rule in EXPERIMENTS:
        f = mod.get_function(name)
        grid = max(1, min(-(-n // (256 * per_thread)), 1 << 20)) if grid_rule == "n" else 4 * sms
        args = (g, y, out, np.int64(n))

        def launch(f=f, grid=grid, args=args):
            f((grid,), (256,), args)
        out.fill(0)
        launch()
        if not bool((out == want).all()):
            raise AssertionError(f"{name} disagrees with the ElementwiseKernel tanh_bwd")
        how = {"exp_tanh_bwd_f4cs": ", streaming loads and stores"}.get(name, "")
        how += f", {grid} blocks (4 per SM)" if grid_rule == "sm" else ""
        cases.append((f"tanh_bwd as a RawKernel, {per_thread} per thread{how} (experiment)", launch, 12 * n))
    return cases


def launch_overheads(cupy, reps):
    """Microseconds per call on 16 elements, where the GPU waits for the host:
    our pack kernel and ElementwiseKernel paths, CuPy's own ufunc, and the
    RawKernel above."""
    from autograd_gpu.backend import cupy_kernels as ck
    a, b = cupy.ones(16, dtype=np.float32), cupy.ones(16, dtype=np.float32)
    tanh_bwd = ck.get("tanh_bwd")
    long = cupy.ones(1 << 16, dtype=np.float32)
    total = ck.get("sum")
    fns = [("autograd_gpu tanh_bwd (pack kernel, from Python)", lambda: tanh_bwd(a, b)),
           ("autograd_gpu sum of 65,536 elements (split: two launches)", lambda: total(long, None, False)),
           ("autograd_gpu tanh_bwd (ElementwiseKernel)", lambda: tanh_bwd.kernel(a.dtype)(a, b)),
           ("CuPy multiply (ufunc)", lambda: cupy.multiply(a, b))]
    try:
        from autograd_gpu.backend import kernel_source as ks
        f = cupy.RawModule(code=experiment_source(), options=ks.OPTIONS).get_function(EXPERIMENT_KERNELS[0])
        out = cupy.empty_like(a)
        fns.append(("RawKernel tanh_bwd (experiment)", lambda: f((1,), (256,), (a, b, out, np.int64(16)))))
    except Exception as e:                      # the emulator runs only our own modules
        print(f"(RawKernel launch overhead not measured: {type(e).__name__}: {e})")
    rows = []
    for label, fn in fns:
        rows.append((label, time_kernel(cupy, fn, reps, 5) * 1e6))
    return rows


def host_bound(label, step, sync, reps, rounds):
    """Is a step bound by the host? Seconds per step with the launches only
    queued (no synchronization inside the block: the host's time, as long as the
    GPU keeps up) and with the block synchronized at its end (the wall time):
    equal when the host is the bottleneck. Medians over `rounds` blocks."""
    import time
    for _ in range(3):
        step()
    sync()
    host, wall = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(reps):
            step()
        t1 = time.perf_counter()
        sync()
        t2 = time.perf_counter()
        host.append((t1 - t0) / reps)
        wall.append((t2 - t0) / reps)
    return label, statistics.median(host), statistics.median(wall)


def w5_steps(cupy, n, reps, rounds):
    """W5's whole step, forward and backward, ours and PyTorch's (when it has CUDA)."""
    import autograd_gpu as ag
    x = ag.tensor(np.random.default_rng(5).standard_normal(n, dtype=np.float32), device="cuda", requires_grad=True)

    def ours():
        (x.tanh() * x.sigmoid()).sum().backward()
        x.grad = None
    rows = [host_bound("autograd_gpu", ours, cupy.cuda.runtime.deviceSynchronize, reps, rounds)]
    try:
        import torch
        if torch.cuda.is_available():
            xt = torch.tensor(np.random.default_rng(5).standard_normal(n, dtype=np.float32), device="cuda",
                              requires_grad=True)

            def theirs():
                (xt.tanh() * xt.sigmoid()).sum().backward()
                xt.grad = None
            rows.append(host_bound("torch", theirs, torch.cuda.synchronize, reps, rounds))
    except ImportError:
        pass
    return rows


FUSED_BACKWARD = ("tanh_bwd (fused", "sigmoid_bwd (fused")     # W5's fused backward kernels (labels)
BANDWIDTH_TARGET = 0.80                                          # of the peak


def bandwidth_target(timed, peak):
    """The W5 target line: each of our fused backward kernels at W5's size
    against 80% of the peak."""
    rates = [(label.split(" ")[0], nbytes / sec / peak) for fw, label, sec, nbytes in timed
             if fw == "autograd_gpu" and label.startswith(FUSED_BACKWARD) and " on " not in label]
    verdict = "✓" if rates and all(r >= BANDWIDTH_TARGET for _, r in rates) else "✗"
    return (f"W5's fused backward kernels, target ≥ {BANDWIDTH_TARGET:.0%} of the peak: "
            + ", ".join(f"{name} {100 * r:.1f}%" for name, r in rates) + f" {verdict}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--numel", type=int, default=10_000_000)
    ap.add_argument("--reps", type=int, default=20, help="launches per timed block")
    ap.add_argument("--rounds", type=int, default=7, help="timed blocks (the median is reported)")
    ap.add_argument("--w3-rows", type=int, default=100_000, help="rows of W3's bias-gradient sum")
    args = ap.parse_args(argv)
    if min(args.numel, args.reps, args.rounds, args.w3_rows) < 1:
        ap.error("--numel, --reps, --rounds and --w3-rows must be positive")
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() < 1:
            raise RuntimeError("no CUDA device")
    except Exception as e:                  # ImportError, CUDARuntimeError, no device
        print(f"benchmarks.kernels: no GPU ({type(e).__name__}: {e})", file=sys.stderr)
        return 2
    peak, how = peak_bandwidth(cupy)
    print(f"# W5's kernels, {args.numel:,} float32 elements, CUDA events "
          f"({args.rounds} blocks of {args.reps} launches, median)")
    print(f"peak memory bandwidth: {peak / 1e9:,.0f} GB/s ({how})" if peak else f"peak: {how}")
    rows = [("autograd_gpu", *c) for c in w5_cases(cupy, args.numel) + w3_sum_cases(cupy, args.w3_rows)
            + large_cases(cupy, 10 * args.numel)]
    timed = [(fw, label, time_kernel(cupy, fn, args.reps, args.rounds), nbytes) for fw, label, fn, nbytes in rows]
    try:
        import torch
        ok = torch.cuda.is_available()
    except ImportError:
        ok = False
    if ok:
        timed += [("torch", label, time_torch(torch, fn, args.reps, args.rounds), nbytes)
                  for label, fn, nbytes in torch_cases(torch, args.numel) + torch_w3_sum_cases(torch, args.w3_rows)]
    try:
        timed += [("experiment", label, time_kernel(cupy, fn, args.reps, args.rounds), nbytes)
                  for label, fn, nbytes in experiment_cases(cupy, args.numel)]
    except Exception as e:                      # the emulator runs only our own modules
        print(f"(experiment not run: {type(e).__name__}: {e})")
    copy_bw = timed[0][3] / timed[0][2]
    print("\n| framework | kernel | µs | MB moved | GB/s | % of peak | % of copy |")
    print("|---|---|---|---|---|---|---|")
    for fw, label, sec, nbytes in timed:
        bw = nbytes / sec
        of_peak = f"{100 * bw / peak:.1f}%" if peak else "—"
        print(f"| {fw} | {label} | {sec * 1e6:,.1f} | {nbytes / 1e6:,.0f} | {bw / 1e9:,.0f} | "
              f"{of_peak} | {100 * bw / copy_bw:.0f}% |")
    if peak:
        print("\n" + bandwidth_target(timed, peak))
    print(f"\n| W5 step ({args.numel:,} elements, fwd+bwd) | host µs per step (launches queued) | "
          "wall µs per step (synchronized) | host / wall |")
    print("|---|---|---|---|")
    for label, host, wall in w5_steps(cupy, args.numel, args.reps, args.rounds):
        print(f"| {label} | {host * 1e6:,.1f} | {wall * 1e6:,.1f} | {host / wall:.0%} |")
    print("\n| launch (the host's cost per call; 16 elements unless named) | µs per call |")
    print("|---|---|")
    for label, us in launch_overheads(cupy, 200):
        print(f"| {label} | {us:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
