"""Benchmark autograd_gpu against hand-written NumPy and PyTorch.

    python -m benchmarks.run                       # everything, CPU (and CUDA when present)
    python -m benchmarks.run --quick --workloads W1,W4
    python -m benchmarks.run --device cuda --json out.json

Each framework runs in its own process (benchmarks/worker.py) per workload;
repetitions are interleaved round-robin across the processes, and medians are
reported. Before timing, every implementation's loss and gradients from the
first iteration are checked against the hand-written NumPy reference."""
import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile

import numpy as np

if __package__ in (None, ""):            # `python benchmarks/run.py`
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from benchmarks.workloads import WORKLOADS, FRAMEWORKS, w5_backward_bytes
else:
    from .workloads import WORKLOADS, FRAMEWORKS, w5_backward_bytes

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE = "numpy"
MiB = 1 << 20


# ---- machine description ----------------------------------------------------------------------

def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return platform.processor() or platform.machine()


def git_state():
    """The commit benchmarked, and whether the package differs from it."""
    def git(*a):
        r = subprocess.run(["git", *a], cwd=REPO_ROOT, capture_output=True, text=True, timeout=30)
        return r.stdout.strip() if r.returncode == 0 else None
    try:
        commit = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--", "autograd_gpu")        # (the kernels live inside it)
    except (OSError, subprocess.SubprocessError):
        return None
    if commit is None:
        return None
    return commit + (" + uncommitted changes to autograd_gpu" if dirty else "")


def load_average():
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def cuda_present():
    """Whether CuPy sees a CUDA device (asked in a subprocess, so this process never loads CUDA)."""
    code = "import cupy; print(cupy.cuda.runtime.getDeviceCount())"
    try:
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        return r.returncode == 0 and int(r.stdout.strip() or 0) > 0
    except (OSError, subprocess.SubprocessError, ValueError):
        return False


# ---- workers ----------------------------------------------------------------------------------

class Worker:
    """A worker process (one framework, one workload, one device)."""

    def __init__(self, workload, framework, device, args, snapshot_dir, warmup):
        self.framework, self.device = framework, device
        env = dict(os.environ)
        env["PYTHONPATH"] = REPO_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        if args.threads:
            # BLAS and PyTorch's intra-op pools read these at import
            for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
                env[var] = str(args.threads)
        cmd = [sys.executable, "-m", "benchmarks.worker", "--workload", workload, "--framework", framework,
               "--device", device, "--scale", repr(args.scale), "--snapshot-dir", snapshot_dir]
        if warmup is not None:
            cmd += ["--warmup", str(warmup)]
        if args.package_path and framework == "autograd_gpu":
            cmd += ["--package-path", args.package_path]
        self.proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)
        self.ready = None
        self.error = None

    def receive(self):
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            raise RuntimeError(f"{self.framework} worker exited (status {self.proc.returncode}) "
                               "without answering; see its stderr above")
        msg = json.loads(line)
        if msg.get("status") == "error":
            raise RuntimeError(msg["error"])
        return msg

    def ask(self, **cmd):
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return self.receive()

    def close(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def compare_snapshot(ref_files, files, rtol):
    """Largest error of any array, relative to that reference array's largest
    magnitude; None plus a reason where the arrays can't be compared."""
    worst = 0.0
    for key, ref_path in ref_files.items():
        if key not in files:
            return None, f"{key} missing"
        ref = np.load(ref_path).astype(np.float64)
        got = np.load(files[key]).astype(np.float64)
        if got.shape != ref.shape:
            return None, f"{key}: shape {got.shape}, expected {ref.shape}"
        if not np.all(np.isfinite(got)):
            return None, f"{key}: non-finite values"
        scale = max(float(np.max(np.abs(ref))) if ref.size else 0.0, 1e-30)
        err = float(np.max(np.abs(got - ref))) / scale if ref.size else 0.0
        worst = max(worst, err)
    return worst, None


def paired_ratio(samples, ref_samples):
    """The median over rounds of the ratio within a round: the two blocks of a
    round ran back to back, so drifting load cancels better than in a ratio of medians."""
    return statistics.median(a / b for a, b in zip(samples, ref_samples))


def run_workload(workload, device, frameworks, args, snapshot_dir, log):
    """Run all frameworks of one workload on one device; a dict of results per framework."""
    rounds = 2 if args.quick else (args.rounds or workload.rounds)
    warmup = 1 if args.quick else None
    workers = [Worker(workload.name, f, device, args, snapshot_dir, warmup) for f in frameworks]
    results = {}
    try:
        live = []
        for w in workers:              # they set up in parallel; collect in order
            r = results[w.framework] = {"framework": w.framework, "device": device}
            try:
                msg = w.receive()
            except RuntimeError as e:
                r["status"], r["error"] = "error", str(e)
                log(f"  {w.framework}/{device}: ERROR\n{e}")
                continue
            if msg["status"] == "unavailable":
                r["status"], r["reason"] = "unavailable", msg["reason"]
                log(f"  {w.framework}/{device}: unavailable ({msg['reason']})")
                continue
            r.update(status="ok", version=msg["version"], python=msg["python"], numpy=msg["numpy"],
                     snapshot=msg["snapshot"])
            live.append(w)

        def fail(w, e):
            results[w.framework].update(status="error", error=str(e))
            log(f"  {w.framework}/{device}: ERROR\n{e}")
            live.remove(w)

        inner = {}
        for w in list(live):
            try:
                inner[w] = 1 if args.quick else w.ask(cmd="calibrate", block_s=args.block_ms / 1000)["inner"]
            except RuntimeError as e:
                fail(w, e)
        samples = {w: [] for w in live}
        for rnd in range(rounds):
            order = live[rnd % len(live):] + live[:rnd % len(live)] if live else []
            for w in order:            # round-robin, starting one further each round
                try:
                    samples[w].append(w.ask(cmd="run", inner=inner[w]))
                except RuntimeError as e:
                    fail(w, e)
        for w in list(live):
            try:
                mem = w.ask(cmd="finish")
            except RuntimeError as e:
                fail(w, e)
                continue
            s = samples[w]
            r = results[w.framework]
            r.update(mem, inner=inner[w], rounds=len(s), samples=[x["total"] for x in s])
            for phase in ("total", "forward", "backward", "update", "faults", "sys"):
                r[phase] = statistics.median(x[phase] for x in s)
            if len(s) >= 4:
                q = statistics.quantiles(r["samples"], n=4)
                r["iqr_rel"] = (q[2] - q[0]) / r["total"]
    finally:
        for w in workers:
            w.close()

    ref = results.get(REFERENCE)
    if ref and ref.get("samples"):
        for r in results.values():
            if r.get("samples"):
                r["ratio"] = paired_ratio(r["samples"], ref["samples"])
                r["ratio_of_medians"] = r["total"] / ref["total"]
    # on cuda the targets are against PyTorch CUDA
    ours, torch_r = results.get("autograd_gpu"), results.get("torch")
    if device == "cuda" and ours and ours.get("samples") and torch_r and torch_r.get("samples"):
        ours["ratio_to_torch"] = paired_ratio(ours["samples"], torch_r["samples"])

    # correctness: first-iteration loss and gradients against the NumPy reference
    for f, r in results.items():
        if r.get("status") != "ok":
            continue
        if f == REFERENCE:
            r["check"] = "reference"
            continue
        if not ref or ref.get("status") != "ok":
            r["check"] = "unchecked (no NumPy reference)"
            continue
        err, why = compare_snapshot(ref["snapshot"], r["snapshot"], workload.rtol)
        r["max_rel_err"] = err
        if why is not None:
            r["check"], r["status"] = f"WRONG ({why})", "wrong"
        elif err > workload.rtol:
            r["check"], r["status"] = f"WRONG (max rel err {err:.1e} > {workload.rtol:.0e})", "wrong"
        else:
            r["check"] = f"ok ({err:.0e})"
    for r in results.values():
        r.pop("snapshot", None)
    return results


# ---- report -----------------------------------------------------------------------------------

def _fmt_time(seconds, unit):
    if seconds is None:
        return "—"
    v = seconds * (1e6 if unit == "µs" else 1e3)
    return f"{v:.3g}" if v < 100 else f"{v:.0f}"


def _fmt_mib(b):
    return "—" if b is None else f"{b / MiB:.0f}"


def time_unit(workload, results):
    ref = results.get(REFERENCE, {})
    t = ref.get("total") or next((r["total"] for r in results.values() if r.get("total")), 1.0)
    if workload.per_op:
        t /= workload.per_op
    return "µs" if t < 1e-3 else "ms"


def table(report):
    """The Markdown results table."""
    head = ("| Workload | Framework | Device | Time | Ratio to NumPy | Target | Forward | Backward | Update "
            "| IQR | Faults/iter | Sys | Peak RSS MiB | Peak Δ MiB | Δ ratio | Check |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for entry in report["results"]:
        wl = WORKLOADS[entry["workload"]]
        res = entry["frameworks"]
        unit = time_unit(wl, res)
        div = wl.per_op or 1
        per = f"{unit}/op" if wl.per_op else f"{unit}/iter"
        ref = res.get(REFERENCE, {})
        for f, r in res.items():
            name = f"{wl.name} {wl.title}"
            if r.get("total") is None:
                why = r.get("reason") or (r.get("error", "").strip().splitlines() or ["error"])[-1]
                lines.append(f"| {name} | {f} | {r['device']} | — | — | — | — | — | — | — | — | — | — | — | — "
                             f"| {r.get('status')}: {why} |")
                continue
            t = r["total"] / div
            ratio = r.get("ratio")
            target = "—"
            if f == "autograd_gpu":
                target = _target(wl, r)
            dratio = "—"
            if ref.get("peak_increase") and r.get("peak_increase") is not None and ref["peak_increase"] >= 10 * MiB:
                d = r["peak_increase"] / ref["peak_increase"]
                dratio = f"{d:.2f}×"
                if f == "autograd_gpu" and wl.mem_target:
                    dratio += f" (≤ {wl.mem_target}× {'✓' if d <= wl.mem_target else '✗'})"
            iqr = "—" if r.get("iqr_rel") is None else f"{100 * r['iqr_rel']:.0f}%"
            faults = "—" if r.get("faults") is None else f"{r['faults']:.0f}"
            sys_share = "—" if r.get("sys") is None else f"{100 * r['sys'] / r['total']:.0f}%"
            lines.append(
                f"| {name} | {f} | {r['device']} | {_fmt_time(t, unit)} {per} | "
                f"{'—' if ratio is None else f'{ratio:.2f}×'} | {target} | "
                f"{_fmt_time(r['forward'] / div, unit)} | {_fmt_time(r['backward'] / div, unit)} | "
                f"{_fmt_time(r['update'] / div, unit)} | "
                f"{iqr} | {faults} | {sys_share} | "
                f"{_fmt_mib(r.get('peak_rss'))} | {_fmt_mib(r.get('peak_increase'))} | {dratio} | "
                f"{r.get('check', '')} |")
    return "\n".join(lines)


def _target(wl, r):
    """The Target cell of our row: on the CPU against NumPy; on cuda against
    PyTorch CUDA (the ratio of the two, per round), where the workload has a GPU target."""
    if r["device"] == "cuda":
        if not wl.gpu_target:
            return "—"
        t = r.get("ratio_to_torch")
        if t is None:
            return f"≤ {wl.gpu_target}× of PyTorch: no PyTorch CUDA run"
        return f"{t:.2f}× of PyTorch (≤ {wl.gpu_target}× {'✓' if t <= wl.gpu_target else '✗'})"
    ratio = r.get("ratio")
    if not wl.target or ratio is None:
        return "—"
    return f"≤ {wl.target}× {'✓' if ratio <= wl.target else '✗'}"


def bandwidth_lines(report):
    out = []
    for entry in report["results"]:
        if entry["workload"] != "W5":
            continue
        numel = entry["sizes"]["numel"]
        for f, r in entry["frameworks"].items():
            if r.get("backward"):
                gbs = w5_backward_bytes(numel) / r["backward"] / 1e9
                r["w5_backward_GBps"] = gbs
                out.append(f"- W5 backward, {f} on {r['device']}: {gbs:.1f} GB/s "
                           f"({w5_backward_bytes(numel) / 1e6:.3g} MB: read tanh(x) and sigmoid(x), "
                           f"write x.grad; {r['backward'] * 1e3:.2f} ms)")
    return out


# ---- main -------------------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workloads", default=",".join(WORKLOADS),
                   help="comma-separated subset of " + ",".join(WORKLOADS) + " (default: all)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                   help="auto (default): cpu, plus cuda when CuPy sees a device")
    p.add_argument("--frameworks", default=",".join(FRAMEWORKS),
                   help="comma-separated subset of " + ",".join(FRAMEWORKS) + "; numpy always runs "
                        "(it is the reference)")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 2 rounds of 1 iteration, 1 warm-up iteration (timings meaningless)")
    p.add_argument("--scale", type=float, default=1.0,
                   help="multiply the large sizes (rows of W2/W3, elements of W5) by this factor")
    p.add_argument("--rounds", type=int, default=None, help="round-robin rounds (default: per workload)")
    p.add_argument("--block-ms", type=float, default=50.0,
                   help="target duration of one timed block of iterations (default 50)")
    p.add_argument("--threads", type=int, default=None,
                   help="threads for BLAS and PyTorch in every worker (default: the libraries' own, "
                        "usually one per core)")
    p.add_argument("--package-path", metavar="DIR", default=None,
                   help="import autograd_gpu from DIR instead of this checkout (e.g. an exported "
                        "older commit, to compare before/after)")
    p.add_argument("--json", metavar="PATH", help="also write all figures, samples included, as JSON")
    args = p.parse_args(argv)
    names = [w.strip().upper() for w in args.workloads.split(",") if w.strip()]
    bad = [w for w in names if w not in WORKLOADS]
    if bad:
        p.error(f"unknown workload(s) {', '.join(bad)}; choose from {', '.join(WORKLOADS)}")
    args.workload_names = names
    fws = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    bad = [f for f in fws if f not in FRAMEWORKS]
    if bad:
        p.error(f"unknown framework(s) {', '.join(bad)}; choose from {', '.join(FRAMEWORKS)}")
    args.framework_names = [REFERENCE] + [f for f in FRAMEWORKS if f in fws and f != REFERENCE]
    if args.scale <= 0:
        p.error("--scale must be positive")
    if args.threads is not None and args.threads < 1:
        p.error("--threads must be at least 1")
    if args.package_path:
        args.package_path = os.path.abspath(args.package_path)
        if not os.path.isfile(os.path.join(args.package_path, "autograd_gpu", "__init__.py")):
            p.error(f"--package-path: no autograd_gpu package in {args.package_path}")
    return args


def main(argv=None):
    args = parse_args(argv)

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    if args.device == "auto":
        devices = ["cpu"] + (["cuda"] if cuda_present() else [])
    else:
        devices = [args.device]
        if args.device == "cuda" and not cuda_present():
            log("--device cuda: CuPy does not see a CUDA device on this machine")
            return 2

    report = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(), "numpy": np.__version__,
                    "load_before": load_average()},
        "git": git_state() if not args.package_path else f"autograd_gpu from {args.package_path}",
        "settings": {"quick": args.quick, "scale": args.scale, "devices": devices,
                     "block_ms": args.block_ms, "rounds": args.rounds, "threads": args.threads,
                     "package_path": args.package_path},
        "results": [],
    }
    snapshot_dir = tempfile.mkdtemp(prefix="ag-bench-")
    try:
        for name in args.workload_names:
            wl = WORKLOADS[name]
            for device in devices:
                log(f"{name} ({wl.describe(args.scale)}) on {device} ...")
                res = run_workload(wl, device, args.framework_names, args, snapshot_dir, log)
                report["results"].append({"workload": name, "device": device, "title": wl.title,
                                          "description": wl.describe(args.scale),
                                          "sizes": wl.sizes_at(args.scale), "frameworks": res})
                for f in os.listdir(snapshot_dir):
                    os.unlink(os.path.join(snapshot_dir, f))
    finally:
        shutil.rmtree(snapshot_dir, ignore_errors=True)

    report["machine"]["load_after"] = load_average()
    versions = {}
    for entry in report["results"]:
        for f, r in entry["frameworks"].items():
            if r.get("version"):
                versions.setdefault(f, r["version"])
    report["versions"] = versions
    bw = bandwidth_lines(report)
    m = report["machine"]
    print(f"# autograd_gpu benchmarks — {report['date']}")
    print(f"CPU: {m['cpu']}, {m['cores']} cores; Python {m['python']}, "
          + ", ".join(f"{f} {v}" for f, v in versions.items())
          + f"; devices: {', '.join(devices)}; threads {args.threads or 'default'}; scale {args.scale}{'; QUICK (timings meaningless)' if args.quick else ''}")
    load = (m["load_before"], m["load_after"])
    print(f"Code: {report['git'] or 'not a git checkout'}; 1-min load average before/after: "
          + "/".join("?" if v is None else f"{v:.2f}" for v in load))
    print()
    print(table(report))
    print()
    print("Forward/Backward/Update: medians of the phases, in the unit of the Time column. Ratio: median "
          "over rounds of the per-round ratio to NumPy. Target: on the CPU that ratio's; on cuda our time "
          "over PyTorch CUDA's, the median of the same per-round ratio. Faults/iter: minor page faults per iteration (memory "
          "the allocator gave back to the OS and takes again); Sys: system CPU time as a share of the "
          "time. Peak Δ: peak RSS above the process's baseline (inputs and parameters allocated).")
    if bw:
        print()
        print("\n".join(bw))
    bad = [(e["workload"], f, r.get("status")) for e in report["results"]
           for f, r in e["frameworks"].items() if r.get("status") in ("error", "wrong")]
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=1, ensure_ascii=False)
    if bad:
        print()
        print("FAILED: " + "; ".join(f"{w} {f}: {s}" for w, f, s in bad))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
