"""ag.autograd.profiler: the legacy profiler API, as torch.autograd.profiler.

    with ag.autograd.profiler.profile(record_shapes=True) as prof:
        with ag.autograd.profiler.record_function("step"):
            loss = model(x).sum()
        loss.backward()
    print(prof.key_averages().table(sort_by="self_cpu_time_total"))

What is recorded (one event each, timed with perf_counter_ns, nested as they
ran): every op application, named by its op (`mul`, `exp`: our op_name, where
PyTorch says `aten::mul`); every custom Function.apply, named by its class,
with the ops of its forward nested under it; every record_function range; and
in a backward pass, per node the engine runs, `autograd::engine::
evaluate_function: MulBackward0` with `MulBackward0` nested (and, under
create_graph, the ops of the node's backward nested in that). Only the thread
that entered the profiler is recorded (as PyTorch's profilers do); other
threads run unrecorded. One profiler at a time: entering a second while one
records raises RuntimeError (PyTorch lets the inner one silently take over).

Nothing is paid while no profiler is on: ops find the profiler through the
dispatch modes (one global test they make anyway), backward passes through
engine.profile_passes (the engine's module names rebound while profiling),
Function.apply through that same global test."""
import contextlib
import enum
import json
import os
import sys
import threading
import time
import warnings
from collections import defaultdict

from . import dispatch

__all__ = ["profile", "record_function", "EventList", "FunctionEvent", "FunctionEventAvg", "DeviceType",
           "Interval"]

_now_ns = time.perf_counter_ns
_get_ident = threading.get_ident
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EVALUATE_FUNCTION = "autograd::engine::evaluate_function: "
ACCUMULATE_GRAD = "torch::autograd::AccumulateGrad"


class DeviceType(enum.Enum):
    CPU = 0
    CUDA = 1

    def __str__(self):
        return f"DeviceType.{self.name}"


class Interval:
    """An event's span, in microseconds from the profiler's start."""

    def __init__(self, start, end):
        self.start, self.end = start, end

    def elapsed_us(self):
        return self.end - self.start


# ---- time formatting, as PyTorch prints it ------------------------------------------------

def _format_time(us):
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


def _format_in_unit(us, unit):
    """`us` in the table's forced unit ("s", "ms", "us"), or its own (None)."""
    scale = {"s": 1e6, "ms": 1e3, "us": 1.0}.get(unit)
    return _format_time(us) if scale is None else f"{us / scale:.3f}{unit}"


def _format_share(us, total_us):
    if total_us == 0:
        return "NaN"
    return f"{us * 100.0 / total_us:.2f}%"


def _format_memory(nbytes):
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if abs(nbytes) >= size:
            return f"{nbytes / size:.2f} {unit}"
    return f"{nbytes} B"


class _Times:
    """Averages and formatted times of an event or an average (needs count and the *_total fields)."""

    @property
    def cpu_time(self):
        return 0.0 if self.count == 0 else self.cpu_time_total / self.count

    @property
    def device_time(self):
        return 0.0 if self.count == 0 else self.device_time_total / self.count

    @property
    def cuda_time(self):
        warnings.warn("`cuda_time` is deprecated, please use `device_time` instead.", FutureWarning, stacklevel=2)
        return self.device_time

    cpu_time_str = property(lambda self: _format_time(self.cpu_time))
    device_time_str = property(lambda self: _format_time(self.device_time))
    cpu_time_total_str = property(lambda self: _format_time(self.cpu_time_total))
    device_time_total_str = property(lambda self: _format_time(self.device_time_total))
    self_cpu_time_total_str = property(lambda self: _format_time(self.self_cpu_time_total))
    self_device_time_total_str = property(lambda self: _format_time(self.self_device_time_total))


class FunctionEvent(_Times):
    """One recorded range: an op, a Function, a record_function, a backward node."""
    count = 1

    def __init__(self, id, name, thread, start_us, end_us=None, overload_name="", fwd_thread=None, input_shapes=None,
                 stack=None, scope=0, use_device=None, cpu_memory_usage=0, device_memory_usage=0, is_async=False,
                 is_remote=False, sequence_nr=-1, node_id=-1, device_type=DeviceType.CPU, device_index=0,
                 device_resource_id=None, is_legacy=False, flops=0, trace_name=None, concrete_inputs=None,
                 kwinputs=None, is_user_annotation=False):
        # (PyTorch's parameters, in its order; the ones about tracing we do not model are accepted and dropped)
        self.id, self.name, self.thread = id, name, thread
        self.time_range = Interval(start_us, start_us if end_us is None else end_us)   # (open: ends at its start)
        self.overload_name, self.fwd_thread, self.scope = overload_name, fwd_thread, scope
        self.input_shapes = input_shapes if input_shapes is not None else []
        self.stack = stack if stack is not None else []
        self.use_device = use_device
        self.is_async, self.is_remote, self.is_legacy = is_async, is_remote, is_legacy
        self.sequence_nr, self.node_id, self.flops = sequence_nr, node_id, flops
        self.device_type, self.device_index = device_type, device_index
        self.is_user_annotation = is_user_annotation
        self.trace_name = name if trace_name is None else trace_name
        if name.startswith("ProfilerStep#"):       # (PyTorch groups the steps under one key; the trace keeps #N)
            self.name = "ProfilerStep*"
        self.cpu_children = []
        self.cpu_parent = None
        self.kernels = []
        self.cpu_memory_usage = cpu_memory_usage
        self.device_memory_usage = device_memory_usage
        self.own_device_time_us = 0.0     # measured on the device for this op itself (CuPy events)

    @property
    def key(self):
        return self.name

    @property
    def cpu_time_total(self):
        return self.time_range.elapsed_us()

    @property
    def self_cpu_time_total(self):
        return self.cpu_time_total - sum(c.cpu_time_total for c in self.cpu_children)

    @property
    def device_time_total(self):
        return self.own_device_time_us + sum(c.device_time_total for c in self.cpu_children)

    @property
    def self_device_time_total(self):
        return self.own_device_time_us

    @property
    def cuda_time_total(self):
        warnings.warn("`cuda_time_total` is deprecated. Use `device_time_total` instead.", FutureWarning,
                      stacklevel=2)
        return self.device_time_total

    @property
    def self_cpu_memory_usage(self):
        return self.cpu_memory_usage - sum(c.cpu_memory_usage for c in self.cpu_children)

    @property
    def self_device_memory_usage(self):
        return self.device_memory_usage - sum(c.device_memory_usage for c in self.cpu_children)

    def __repr__(self):
        dev = str(self.use_device)
        return (f"<FunctionEvent id={self.id} name={self.name} overload_name={self.overload_name} "
                f"device_type={self.device_type} node_id={self.node_id} cpu_time={self.cpu_time_str} "
                f"start_us={self.time_range.start} end_us={self.time_range.end} "
                f"cpu_children={[c.id for c in self.cpu_children]} {dev}_time={self.device_time_str} "
                f"name={self.name} thread={self.thread} input_shapes={self.input_shapes} "
                f"cpu_memory_usage={self.cpu_memory_usage} {dev}_memory_usage={self.device_memory_usage} "
                f"is_async={self.is_async} is_remote={self.is_remote} seq_nr={self.sequence_nr} "
                f"is_legacy={self.is_legacy}>")


class FunctionEventAvg(_Times):
    """The events of one key added up (key_averages, total_average)."""

    def __init__(self):
        self.key = None
        self.count = 0
        self.node_id = 0
        self.is_async = self.is_remote = self.is_legacy = self.is_user_annotation = False
        self.use_device = None
        self.cpu_time_total = self.device_time_total = 0
        self.self_cpu_time_total = self.self_device_time_total = 0
        self.input_shapes = None
        self.overload_name = None
        self.stack = None
        self.scope = None
        self.cpu_memory_usage = self.device_memory_usage = 0
        self.self_cpu_memory_usage = self.self_device_memory_usage = 0
        self.cpu_children = None
        self.cpu_parent = None
        self.device_type = DeviceType.CPU
        self.flops = 0

    def add(self, other):
        if self.key is None:             # the first event added gives the group its description
            for name in ("key", "node_id", "is_async", "is_remote", "cpu_parent", "cpu_children", "overload_name",
                         "input_shapes", "stack", "scope", "device_type", "is_legacy", "use_device",
                         "is_user_annotation"):
                setattr(self, name, getattr(other, name))
        if not isinstance(other, (FunctionEvent, FunctionEventAvg)):
            raise AssertionError("Expected other to be a FunctionEvent or FunctionEventAvg")
        if other.key != self.key:
            raise AssertionError(f"Expected keys to match, but got {other.key} vs {self.key}")
        for name in ("cpu_time_total", "device_time_total", "self_cpu_time_total", "self_device_time_total",
                     "cpu_memory_usage", "device_memory_usage", "self_cpu_memory_usage",
                     "self_device_memory_usage", "count", "flops"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self

    def __iadd__(self, other):
        return self.add(other)

    def __repr__(self):
        dev = "cuda" if not self.use_device else self.use_device
        return (f"<FunctionEventAvg key={self.key} self_cpu_time={self.self_cpu_time_total_str} "
                f"cpu_time={self.cpu_time_str}  self_{dev}_time={self.self_device_time_total_str} "
                f"{dev}_time={self.device_time_str} input_shapes={self.input_shapes} "
                f"cpu_memory_usage={self.cpu_memory_usage} {dev}_memory_usage={self.device_memory_usage}>")


class EventList(list):
    """A list of FunctionEvents (or of averages) with the reports PyTorch gives."""

    def __init__(self, *args, use_device=None, profile_memory=False, with_flops=False):
        super().__init__(*args)
        self._use_device, self._profile_memory, self._with_flops = use_device, profile_memory, with_flops
        self._tree_built = True          # (our events know their parents as they are recorded)

    def __str__(self):
        return self.table()

    @property
    def self_cpu_time_total(self):
        return sum(e.self_cpu_time_total for e in self)

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75, max_name_column_width=55,
              max_shapes_column_width=80, header=None, top_level_events_only=False, time_unit=None):
        """The events as PyTorch's text table (columns Name, Self CPU %, Self CPU,
        CPU total %, CPU total, CPU time avg[, device columns][, memory], # of Calls
        [, Input Shapes][, Source Location]); sort_by: an attribute, largest first."""
        return _Table(self, max_name_column_width, max_shapes_column_width, max_src_column_width,
                      self._profile_memory, time_unit).render(sort_by, row_limit, header, top_level_events_only)

    def key_averages(self, group_by_input_shapes=False, group_by_stack_n=0, group_by_overload_name=False):
        """One FunctionEventAvg per key (and input shapes, and top stack entries, when asked)."""
        groups = defaultdict(FunctionEventAvg)
        for e in self:
            key = (e.key, e.node_id, str(e.device_type), e.is_legacy, e.is_user_annotation)
            if group_by_input_shapes:
                key += (str(e.input_shapes),)
            if group_by_stack_n > 0:
                key += tuple(e.stack[:group_by_stack_n])
            groups[key].add(e)
        out = EventList(groups.values(), use_device=self._use_device, profile_memory=self._profile_memory,
                        with_flops=self._with_flops)
        for avg in out:
            avg.stack = avg.stack[:group_by_stack_n]
            if not group_by_input_shapes:
                avg.input_shapes = ""
            if not group_by_overload_name:
                avg.overload_name = ""
        return out

    def total_average(self):
        """All the events added up, under the key "Total"."""
        total = FunctionEventAvg()
        for e in self:
            total.add(e)
            total.key = None             # (so that the next key is accepted)
        total.key = "Total"
        return total

    def export_chrome_trace(self, path):
        """The events as a Chrome trace (a JSON list of complete events, as PyTorch's EventList writes)."""
        events = [{"name": e.trace_name, "ph": "X", "ts": e.time_range.start, "dur": e.time_range.elapsed_us(),
                   "tid": e.thread, "pid": "CPU functions", "args": {}} for e in self if e.trace_name is not None]
        with open(path, "w") as f:
            json.dump(events, f)

    def export_stacks(self, path, metric):
        """One line per event with a stack: its frames, outermost first, and `metric` (an integer)."""
        metrics = ["self_cpu_time_total", "self_cuda_time_total", "self_xpu_time_total",
                   "self_privateuse1_time_total"]
        if metric not in metrics:
            raise ValueError("metric should be one of: " + str(metrics))
        attr = metric.replace("cuda", "device").replace("xpu", "device").replace("privateuse1", "device")
        spaces = str.maketrans(" ;\t\n", "____")
        with open(path, "w") as f:
            for e in self:
                value = int(getattr(e, attr))
                if e.stack and value > 0:
                    f.write(";".join(s.translate(spaces) for s in reversed(e.stack)) + f" {value}\n")


class _Table:
    """PyTorch's profiler table layout: columns of fixed widths separated by two
    spaces, dashed rules above and below the header and at the end, then the
    totals."""
    WIDTH = 12

    def __init__(self, events, max_name, max_shapes, max_src, profile_memory, time_unit):
        self.events, self.max_name, self.profile_memory, self.unit = events, max_name, profile_memory, time_unit
        self.use_device = events[0].use_device if events else None
        self.has_device_time = any(e.self_device_time_total > 0 for e in events)
        self.has_device_mem = any(e.self_device_memory_usage > 0 for e in events)
        self.has_shapes = any(e.input_shapes is not None and len(e.input_shapes) > 0 for e in events)
        stacks = [e.stack for e in events if e.stack]
        self.has_stack = bool(stacks)
        name_w = max((len(e.key) for e in events), default=0) + 4
        self.name_w = min(name_w, max_name) if max_name is not None else name_w
        shapes_w = max((len(str(e.input_shapes)) for e in events), default=0) + 4
        self.shapes_w = min(shapes_w, max_shapes) if max_shapes is not None else shapes_w
        src_w = max((len(s) for st in stacks for s in st), default=0) + 4
        self.src_w = min(src_w, max_src) if max_src is not None else src_w

    def _columns(self):
        """[(header, width, align)] in PyTorch's order."""
        w, dev = self.WIDTH, (self.use_device.upper() if self.use_device else "None")
        cols = [("Name", self.name_w, ">")]
        cols += [(h, w, ">") for h in ("Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg")]
        if self.has_device_time:
            cols += [(h, w, ">") for h in (f"Self {dev}", f"Self {dev} %", f"{dev} total", f"{dev} time avg")]
        if self.profile_memory:
            cols += [("CPU Mem", w, ">"), ("Self CPU Mem", w, ">")]
            if self.use_device and self.has_device_mem:
                cols += [(f"{dev} Mem", w, ">"), (f"Self {dev} Mem", w, ">")]
        cols.append(("# of Calls", w, ">"))
        if self.has_shapes:
            cols.append(("Input Shapes", self.shapes_w, ">"))
        if self.has_stack:
            cols.append(("Source Location", self.src_w, "<"))
        return cols

    def _row(self, e, self_cpu_sum, self_dev_sum):
        t = lambda us: _format_in_unit(us, self.unit)      # noqa: E731
        name = e.key
        if self.max_name is not None and len(name) >= self.max_name - 3:
            name = name[:self.max_name - 3] + "..."
        row = [name, _format_share(e.self_cpu_time_total, self_cpu_sum), t(e.self_cpu_time_total),
               _format_share(e.cpu_time_total, self_cpu_sum) if not e.is_async else 0,
               t(e.cpu_time_total), t(e.cpu_time)]
        if self.has_device_time:
            row += [t(e.self_device_time_total), _format_share(e.self_device_time_total, self_dev_sum),
                    t(e.device_time_total), t(e.device_time)]
        if self.profile_memory:
            row += [_format_memory(e.cpu_memory_usage), _format_memory(e.self_cpu_memory_usage)]
            if self.use_device and self.has_device_mem:
                row += [_format_memory(e.device_memory_usage), _format_memory(e.self_device_memory_usage)]
        row.append(e.count)
        if self.has_shapes:
            row.append(str(e.input_shapes)[:self.shapes_w])
        if self.has_stack:
            row.append(self._trim(e.stack[0]) if e.stack else "")
        return row

    def _trim(self, path):
        if len(path) > self.src_w:
            path = path[len(path) - self.src_w:]
            if len(path) > 3:
                path = "..." + path[3:]
        return path

    def render(self, sort_by, row_limit, header, top_level_only):
        events = self.events
        if not events:
            return ""
        if self.has_device_time and not self.use_device:
            raise RuntimeError("use_device is None, but there is device performance data.")
        if sort_by is not None:
            attr = sort_by.replace("cuda", "device").replace("xpu", "device").replace("privateuse1", "device")
            events = sorted(events, key=lambda e: getattr(e, attr), reverse=True)
        cols = self._columns()
        fmt = "".join("{: " + align + str(width) + "}  " for _, width, align in cols)
        rule = "".join("-" * width + "  " for _, width, _ in cols)
        line_length = sum(width + 2 for _, width, _ in cols) - 2
        self_cpu_sum = sum(e.self_cpu_time_total for e in events)
        self_dev_sum = sum(e.self_device_time_total for e in events)
        lines = []
        if header is not None:
            lines += ["=" * line_length, header]
        if top_level_only:
            lines += ["=" * line_length, "This report only display top-level ops statistics"]
        lines += [rule, fmt.format(*[h for h, _, _ in cols]), rule]
        shown = 0
        for e in events:
            if shown == row_limit:
                break
            if top_level_only and e.cpu_parent is not None:
                continue
            shown += 1
            lines.append(fmt.format(*self._row(e, self_cpu_sum, self_dev_sum)))
            if self.has_stack:
                blank = [""] * (len(cols) - 1)
                lines += [fmt.format(*blank, self._trim(s)) for s in e.stack[1:]]
                lines.append(fmt.format(*blank, ""))
        lines += [rule, f"Self CPU time total: {_format_in_unit(self_cpu_sum, self.unit)}"]
        if self.has_device_time:
            dev = self.use_device.upper() if self.use_device else "None"
            lines.append(f"Self {dev} time total: {_format_in_unit(self_dev_sum, self.unit)}")
        return "\n".join(lines) + "\n"


# ---- recording ----------------------------------------------------------------------------

_session = None          # the _Session recording now (one at a time), or None


def session_here():
    """The profiler session recording on this thread, free to record (not inside an op's own run), or None."""
    s = _session
    if s is not None and s.tid == _get_ident() and not s.busy:
        return s
    return None


class recording_user_code:
    """Around user code an op calls while it runs (saved-tensor pack hooks): the ops it applies are recorded,
    nested under that op's event, as PyTorch's (the session is busy during the op otherwise)."""

    def __enter__(self):
        s = _session
        self.session = s if s is not None and s.busy and s.tid == _get_ident() else None
        if self.session is not None:
            self.session.busy = False
        return self

    def __exit__(self, *exc):
        if self.session is not None:
            self.session.busy = True
        return False


def _python_stack():
    """The Python frames outside the library, innermost first, as PyTorch writes them ("file.py(12): fn")."""
    out = []
    f = sys._getframe(2)
    while f is not None:
        path = f.f_code.co_filename
        if not os.path.abspath(path).startswith(_PACKAGE_DIR + os.sep):
            out.append(f"{path}({f.f_lineno}): {f.f_code.co_name}")
        f = f.f_back
    return out


def _shapes(values):
    return [list(v.shape) if hasattr(v, "shape") else [] for v in values]


def _nbytes(out):
    if isinstance(out, (tuple, list)):
        return sum(_nbytes(o) for o in out)
    data = getattr(out, "_data", None)
    return int(getattr(data, "nbytes", 0))


class _Session(dispatch.Mode):
    """What one profile records: the events, opened and closed as they nest.
    As the outermost dispatch mode (order 0) it sees each op application once;
    `busy` while the op runs, so its own re-entry (and anything it applies
    inside) is not recorded again."""
    order = 0

    def __init__(self, record_shapes, profile_memory, with_stack, use_device):
        self.tid, self.thread = _get_ident(), threading.get_native_id()
        self.record_shapes, self.profile_memory, self.with_stack = record_shapes, profile_memory, with_stack
        self.use_device = use_device
        self.events, self.open, self.timed = [], [], []
        self.busy = False
        self.t0 = _now_ns()

    # -- dispatch.Mode
    def wants(self, cls, tensors):
        return not self.busy and _get_ident() == self.tid

    def run(self, apply, cls, tensors, attrs):
        ev = self.begin(cls.op_name, tensors)
        timer = self._device_timer(tensors)
        self.busy = True
        try:
            out = apply(*tensors, *attrs)
        finally:
            self.busy = False
            if timer is not None:
                timer[1].record()
                self.timed.append((ev, timer))
            self.end(ev)
        if self.profile_memory:
            if tensors and tensors[0]._backend.is_cuda:
                ev.device_memory_usage = _nbytes(out)
            else:
                ev.cpu_memory_usage = _nbytes(out)
        return out

    def _device_timer(self, tensors):
        """CuPy events around an op on a CUDA tensor, when CUDA activity is profiled."""
        if self.use_device != "cuda" or not tensors or not tensors[0]._backend.is_cuda:
            return None
        cuda = tensors[0]._backend.xp.cuda
        start, end = cuda.Event(), cuda.Event()
        start.record()
        return start, end, cuda.get_elapsed_time

    # -- events
    def begin(self, name, inputs=(), annotation=False):
        now = (_now_ns() - self.t0) / 1e3
        ev = FunctionEvent(len(self.events) + 1, name, self.thread, now,
                           input_shapes=_shapes(inputs) if self.record_shapes else [],
                           stack=_python_stack() if self.with_stack else [], use_device=self.use_device,
                           is_user_annotation=annotation)
        if self.open:
            parent = self.open[-1]
            ev.cpu_parent = parent
            parent.cpu_children.append(ev)
        self.events.append(ev)
        self.open.append(ev)
        return ev

    def end(self, ev):
        ev.time_range.end = (_now_ns() - self.t0) / 1e3
        if self.open and self.open[-1] is ev:
            self.open.pop()
        elif ev in self.open:             # (a range closed out of order)
            self.open.remove(ev)

    def around(self, names, inputs, fn, *args):
        """fn(*args) inside nested events `names` (outermost first)."""
        evs = [self.begin(n, inputs if i == len(names) - 1 else ()) for i, n in enumerate(names)]
        try:
            return fn(*args)
        finally:
            for ev in reversed(evs):
                self.end(ev)

    def node_apply(self, node, own=None):
        """A replacement for node._apply recording the engine's evaluation of it; `own`: the node's
        instance-level _apply to call (else its class's)."""
        apply = type(node)._apply if own is None else (lambda _node, grad, create_graph: own(grad, create_graph))
        name = node.name()
        names = (EVALUATE_FUNCTION + name, name)

        def traced(grad, create_graph):
            if session_here() is not self:
                return apply(node, grad, create_graph)
            grads = grad if isinstance(grad, list) else [grad]
            return self.around(names, [g for g in grads if g is not None], apply, node, grad, create_graph)
        traced.profiled = True
        return traced

    def finish(self):
        """Close what is still open, read the device timers: the events, in start order."""
        for ev in reversed(self.open):
            ev.time_range.end = (_now_ns() - self.t0) / 1e3
        self.open = []
        for ev, (start, end, elapsed) in self.timed:
            end.synchronize()
            ev.own_device_time_us = elapsed(start, end) * 1e3
        self.timed = []
        return self.events


def _start(session):
    global _session
    from . import engine
    if _session is not None:
        here = _session.tid == _get_ident()
        raise RuntimeError("Profiler is already enabled on this thread" if here else
                           "Profiler is already enabled on another thread (one profiler at a time)")
    _session = session
    dispatch.push(session)
    engine.profile_passes(True)


def _stop(session):
    global _session
    from . import engine
    if _session is session:
        dispatch.remove(session)
        engine.profile_passes(False)
        _session = None
    return session.finish()


def _checked_device(use_device):
    """use_device as PyTorch keeps it: None (with PyTorch's warning) when invalid or unavailable."""
    if use_device is None:
        return None
    if use_device not in ("cuda", "xpu", "mtia", "hpu"):
        warnings.warn(f"The {use_device} is not a valid device option.", stacklevel=3)
        return None
    if use_device != "cuda" or not _cuda_available():
        warnings.warn(f"{use_device.upper()} is not available, disabling {use_device.upper()} profiling",
                      stacklevel=3)
        return None
    return use_device


def _cuda_available():
    from .. import cuda
    return cuda.is_available()


class profile:
    """Context manager recording the ops, Functions, record_function ranges and
    backward nodes run inside it (see the module's doc). The results:
    function_events, key_averages(), table(), total_average(),
    self_cpu_time_total, export_chrome_trace()."""

    def __init__(self, enabled=True, *, use_cuda=False, use_device=None, record_shapes=False, with_flops=False,
                 profile_memory=False, with_stack=False, with_modules=False, use_kineto=False, use_cpu=True,
                 experimental_config=None, acc_events=False, custom_trace_id_callback=None,
                 post_processing_timeout_s=None, activity_filters=None):
        self.enabled = enabled
        if not enabled:
            return
        self.use_cuda = use_cuda
        if use_cuda:
            warnings.warn("The attribute `use_cuda` will be deprecated soon, please use ``use_device = 'cuda'`` "
                          "instead.", FutureWarning, stacklevel=2)
            use_device = "cuda"
        self.use_device = _checked_device(use_device)
        if self.use_device is None:
            self.use_cuda = False
        self.record_shapes = record_shapes or with_flops
        self.with_flops, self.profile_memory, self.with_stack = with_flops, profile_memory, with_stack
        self.with_modules, self.use_cpu, self.acc_events = with_modules, use_cpu, acc_events
        if not use_cpu and not use_kineto:
            raise AssertionError("Device-only events supported only with Kineto (use_kineto=True)")
        self.entered = False
        self._session = None
        self._function_events = None
        self._start_ns = self._end_ns = 0

    def __enter__(self):
        if not self.enabled:
            return None
        if self.entered:
            raise RuntimeError("Profiler context manager is not reentrant")
        self.entered = True
        session = _Session(self.record_shapes, self.profile_memory, self.with_stack, self.use_device)
        _start(session)
        self._session, self._start_ns = session, session.t0
        if not self.acc_events:
            self._function_events = None
        return self

    def __exit__(self, exc_type, exc, tb):
        if not self.enabled:
            return False
        if self.use_device == "cuda":
            from .. import cuda
            cuda.synchronize()
        events = _stop(self._session)
        self._end_ns = _now_ns()
        kept = list(self._function_events) if (self.acc_events and self._function_events) else []
        self._function_events = EventList(kept + events, use_device=self.use_device,
                                          profile_memory=self.profile_memory, with_flops=self.with_flops)
        return False

    def _events(self):
        if self._function_events is None:
            if self._session is not None and _session is self._session:
                return EventList()        # (still recording: PyTorch's results come at exit)
            self._function_events = EventList(use_device=getattr(self, "use_device", None))
        return self._function_events

    def __repr__(self):
        if self._function_events is None:
            return "<unfinished torch.autograd.profile>"
        return repr(self._function_events)

    def __str__(self):
        if self._function_events is None:
            return "<unfinished torch.autograd.profile>"
        return str(self._function_events)

    @property
    def function_events(self):
        return self._events()

    def events(self):
        return self._events()

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75, max_name_column_width=55,
              max_shapes_column_width=80, header=None, top_level_events_only=False):
        return self._events().table(sort_by=sort_by, row_limit=row_limit,
                                    max_src_column_width=max_src_column_width,
                                    max_name_column_width=max_name_column_width,
                                    max_shapes_column_width=max_shapes_column_width, header=header,
                                    top_level_events_only=top_level_events_only)

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0, group_by_overload_name=False):
        return self._events().key_averages(group_by_input_shape, group_by_stack_n, group_by_overload_name)

    def total_average(self):
        return self._events().total_average()

    @property
    def self_cpu_time_total(self):
        return self._events().self_cpu_time_total

    def export_stacks(self, path, metric="self_cpu_time_total"):
        if not self.with_stack:
            raise AssertionError("export_stacks() requires with_stack=True")
        return self._events().export_stacks(path, metric)

    def export_chrome_trace(self, path, metadata=None, use_python_export=False):
        """The trace as PyTorch's (Kineto's) Chrome trace JSON: {"traceEvents": [...]}
        with one complete ("ph": "X") event per recorded range (ts, dur in us)."""
        pid = os.getpid()
        base_us = self._start_ns / 1e3
        trace = []
        tids = sorted({e.thread for e in self._events()})
        trace.append({"ph": "M", "name": "process_name", "ts": base_us, "pid": pid, "tid": 0,
                      "args": {"name": "python"}})
        trace += [{"ph": "M", "name": "thread_name", "ts": base_us, "pid": pid, "tid": t,
                   "args": {"name": f"thread {t} (python)"}} for t in tids]
        for i, e in enumerate(self._events()):
            args = {"External id": e.id, "Record function id": 0, "Ev Idx": i}
            if e.input_shapes:
                args["Input Dims"] = e.input_shapes
            if e.own_device_time_us:
                args["device_duration_us"] = e.own_device_time_us
            trace.append({"ph": "X", "cat": "user_annotation" if e.is_user_annotation else "cpu_op",
                          "name": e.trace_name, "pid": pid, "tid": e.thread, "ts": base_us + e.time_range.start,
                          "dur": e.time_range.elapsed_us(), "args": args})
        doc = {"schemaVersion": 1, "deviceProperties": [], "displayTimeUnit": "ms",
               "baseTimeNanoseconds": time.time_ns() - _now_ns() + self._start_ns, "traceEvents": trace,
               "traceName": str(path)}
        if metadata:
            doc.update(metadata)
        with open(path, "w") as f:
            json.dump(doc, f)


class record_function(contextlib.ContextDecorator):
    """A named range in the profile (context manager or decorator; ranges nest).
    Outside a profiler it does nothing."""

    def __init__(self, name, args=None):
        self.name, self.args = name, args
        self.run_callbacks_on_exit = True
        self._open = []                   # (session, event) per entry (a decorated function may recurse)

    def __enter__(self):
        s = session_here()
        self._open.append((s, s.begin(self.name, annotation=True) if s is not None else None))
        return self

    def __exit__(self, exc_type, exc, tb):
        s, ev = self._open.pop()
        if ev is not None and _session is s:
            s.end(ev)
        return False


def function_call(cls, run, args, kwargs):
    """Function.apply under a profiler: an event named by the Function, its forward's ops inside."""
    s = session_here()
    if s is None:
        return run(args, kwargs)
    tensors = [a for a in args if hasattr(a, "_backend")]
    return s.around((cls.__name__,), tensors, run, args, kwargs)


def accumulate_event(add, var, grad, create_graph):
    """A leaf's gradient accumulation in a profiled backward pass, as PyTorch's AccumulateGrad node."""
    s = session_here()
    if s is None:
        return add(var, grad, create_graph)
    return s.around((EVALUATE_FUNCTION + ACCUMULATE_GRAD, ACCUMULATE_GRAD), [grad], add, var, grad, create_graph)
