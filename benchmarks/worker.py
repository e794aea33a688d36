"""One framework on one workload, in its own process, driven by benchmarks.run.

Protocol: JSON lines. The worker sets up, runs and saves the first iteration
(for the correctness check), warms up, then says {"status": "ready"} and
answers commands read from stdin:

    {"cmd": "calibrate", "block_s": 0.05}  -> {"inner": n}   iterations per timed block
    {"cmd": "run", "inner": n}             -> seconds per iteration, total and per phase;
                                              minor page faults and system CPU seconds per iteration
    {"cmd": "finish"}                      -> memory figures; the worker exits

Anything the libraries print goes to stderr: stdout carries only the protocol."""
import argparse
import gc
import json
import os
import resource
import sys
import time
import traceback

import numpy as np

from .workloads import WORKLOADS, Unavailable, make_runner


# ---- memory: current RSS, and the peak since a reset ----------------------------------------

def current_rss():
    """Resident set size now, in bytes (None where it can't be read)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        try:
            import psutil
            return psutil.Process().memory_info().rss
        except ImportError:
            return None


def peak_rss():
    """Peak RSS in bytes: Linux's VmHWM (resettable), else getrusage's maxrss."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r if sys.platform == "darwin" else r * 1024          # macOS reports bytes, Linux KiB


def reset_peak():
    """Restart peak-RSS tracking from the current RSS (Linux >= 4.0); False where impossible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


# ---- timing -----------------------------------------------------------------------------------

def run_block(runner, inner):
    """Run `inner` iterations; seconds per iteration, in total and by phase."""
    impl, sync = runner.impl, runner.sync
    clock = time.perf_counter
    t_fwd = t_bwd = t_upd = 0.0
    # page faults and kernel time: memory the allocator returned to the OS and takes back
    # shows here (not in the phases' split), so the report can tell it from our own CPU time
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    for _ in range(inner):
        t0 = clock()
        state = impl.forward()
        if sync is not None:
            sync()
        t1 = clock()
        impl.backward(state)
        if sync is not None:
            sync()
        t2 = clock()
        impl.update()
        state = None                # free the graph / saved arrays inside the timed step
        if sync is not None:
            sync()
        t3 = clock()
        t_fwd += t1 - t0
        t_bwd += t2 - t1
        t_upd += t3 - t2
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    return {"total": (t_fwd + t_bwd + t_upd) / inner, "forward": t_fwd / inner,
            "backward": t_bwd / inner, "update": t_upd / inner,
            "faults": (r1.ru_minflt - r0.ru_minflt) / inner, "sys": (r1.ru_stime - r0.ru_stime) / inner}


def calibrate(runner, block_s):
    """Iterations per block so that one block lasts about `block_s` seconds."""
    n = 1
    while True:
        per_iter = run_block(runner, n)["total"]
        if per_iter * n >= block_s / 4 or n >= 1 << 16:
            return max(1, min(1 << 20, round(block_s / per_iter)))
        n *= 4


# ---- main -------------------------------------------------------------------------------------

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--workload", required=True, choices=sorted(WORKLOADS))
    p.add_argument("--framework", required=True)
    p.add_argument("--device", required=True, choices=("cpu", "cuda"))
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--warmup", type=int, default=None)
    p.add_argument("--snapshot-dir", required=True)
    p.add_argument("--package-path", default=None,
                   help="import autograd_gpu from this directory (to compare two versions)")
    args = p.parse_args(argv)
    if args.package_path:
        sys.path.insert(0, args.package_path)

    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def send(msg):
        proto.write(json.dumps(msg) + "\n")
        proto.flush()

    workload = WORKLOADS[args.workload]
    try:
        data = workload.make_data(args.scale)
        runner = make_runner(workload, args.framework, args.device, data)
        del data
        gc.collect()
        baseline = current_rss()
        lifetime_peak_so_far = peak_rss()
        peak_was_reset = reset_peak()

        # the first iteration, kept for the correctness check
        impl = runner.impl
        state = impl.forward()
        impl.backward(state)
        snapshot = runner.snapshot(state)
        files = {}
        for key, arr in snapshot.items():
            path = os.path.join(args.snapshot_dir,
                                f"{args.workload}-{args.framework}-{args.device}-{key}.npy")
            np.save(path, arr)
            files[key] = path
        del snapshot
        impl.update()
        state = None

        for _ in range(workload.warmup if args.warmup is None else args.warmup):
            run_block(runner, 1)
        version = runner.version
        if args.framework == "autograd_gpu":
            version += f" ({os.path.dirname(os.path.dirname(os.path.abspath(sys.modules['autograd_gpu'].__file__)))})"
        send({"status": "ready", "version": version, "snapshot": files,
              "python": sys.version.split()[0], "numpy": np.__version__})
    except Unavailable as e:
        send({"status": "unavailable", "reason": str(e)})
        return 0
    except Exception:
        send({"status": "error", "error": traceback.format_exc()})
        return 1

    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            if cmd["cmd"] == "calibrate":
                send({"inner": calibrate(runner, cmd["block_s"])})
            elif cmd["cmd"] == "run":
                send(run_block(runner, cmd["inner"]))
            elif cmd["cmd"] == "finish":
                peak = peak_rss()
                send({"baseline_rss": baseline,
                      "peak_rss": max(peak, lifetime_peak_so_far),
                      # only meaningful when the peak could be reset at the baseline
                      "peak_increase": (peak - baseline) if peak_was_reset and baseline else None})
                return 0
        except Exception:
            send({"status": "error", "error": traceback.format_exc()})
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
