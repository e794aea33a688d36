"""ag.profiler: the op-level profiler, as torch.profiler.

    sched = ag.profiler.schedule(wait=1, warmup=1, active=2)
    with ag.profiler.profile(schedule=sched, on_trace_ready=ag.profiler.tensorboard_trace_handler("log")) as p:
        for batch in data:
            train_step(batch)
            p.step()

The recording is ag.autograd.profiler's (see its doc: events named by our op
names, only the entering thread recorded); this module adds PyTorch's
activities, the step schedule and the trace handler. CUDA activity times each
op on a CUDA tensor with CuPy events (its device time); where CUDA is not
available it is accepted and reports nothing, with PyTorch's warning."""
import enum
import os
import socket
import time
import warnings

from .autograd import profiler as _legacy
from .autograd.profiler import record_function

__all__ = ["profile", "ProfilerActivity", "ProfilerAction", "schedule", "supported_activities",
           "tensorboard_trace_handler", "record_function"]


class ProfilerActivity(enum.Enum):
    CPU = 0
    XPU = 1
    CUDA = 2
    HPU = 3
    MTIA = 4
    PrivateUse1 = 5


class ProfilerAction(enum.Enum):
    """What the profiler does during a step (a schedule's answer)."""
    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3
    DEVICE_STOPPED = 4


def supported_activities():
    """The activities this machine can profile: CPU, and CUDA where a CUDA device (or the emulator) is available."""
    acts = {ProfilerActivity.CPU}
    if _legacy._cuda_available():
        acts.add(ProfilerActivity.CUDA)
    return acts


def schedule(*, wait, warmup, active, repeat=0, skip_first=0, skip_first_wait=0):
    """A step -> ProfilerAction function: skip `skip_first` steps, then cycles of
    `wait` idle, `warmup` warming and `active` recording steps (the last one
    RECORD_AND_SAVE), `repeat` times (0: forever); `skip_first_wait` drops the
    first cycle's wait."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise AssertionError(
            f"Invalid profiler schedule arguments. Got wait={wait} (need >= 0), warmup={warmup} (need >= 0), "
            f"active={active} (need > 0), repeat={repeat} (need >= 0), skip_first={skip_first} (need >= 0).")
    if warmup == 0:
        warnings.warn("Profiler won't be using warmup, this can skew profiler results", stacklevel=2)
    cycle = wait + warmup + active

    def action(step):
        if step < 0:
            raise AssertionError(f"Step must be non-negative. Got {step}.")
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait:
            step += wait                 # (the first cycle starts at its warmup)
        if repeat > 0 and step // cycle >= repeat:
            return ProfilerAction.NONE
        phase = step % cycle
        if phase < wait:
            return ProfilerAction.NONE
        if phase < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if phase < cycle - 1 else ProfilerAction.RECORD_AND_SAVE
    return action


def _always_record(step):
    return ProfilerAction.RECORD


def tensorboard_trace_handler(dir_name, worker_name=None, use_gzip=False, use_python_export=False):
    """An on_trace_ready handler writing each trace to dir_name/<worker>.<ns>.pt.trace.json[.gz]."""
    def handler(prof):
        nonlocal worker_name
        try:
            os.makedirs(dir_name, exist_ok=True)
        except OSError as e:
            raise RuntimeError("Can't create directory: " + dir_name) from e
        if not worker_name:
            worker_name = f"{socket.gethostname()}_{os.getpid()}"
        name = f"{worker_name}.{time.time_ns()}.pt.trace.json" + (".gz" if use_gzip else "")
        prof.export_chrome_trace(os.path.join(dir_name, name))
    return handler


class profile:
    """Context manager (or start()/stop()) recording ops, Functions,
    record_function ranges and backward nodes, for the steps the schedule
    says (default: every step); step() marks a step's end. Results of the
    last recorded cycle: events(), key_averages(), export_chrome_trace()."""

    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None, record_shapes=False,
                 profile_memory=False, with_stack=False, with_flops=False, with_modules=False,
                 experimental_config=None, execution_trace_observer=None, acc_events=False, use_cuda=None,
                 custom_trace_id_callback=None, post_processing_timeout_s=None):
        acts = set(activities) if activities is not None else supported_activities()
        if use_cuda is not None:
            warnings.warn("`use_cuda` is deprecated, use `activities` argument instead", FutureWarning,
                          stacklevel=2)
            (acts.add if use_cuda else acts.discard)(ProfilerActivity.CUDA)
        if not acts:
            raise AssertionError("No valid profiler activities found")
        self.activities = acts
        self.use_device = "cuda" if ProfilerActivity.CUDA in acts else None
        self.record_shapes, self.profile_memory, self.with_stack = record_shapes, profile_memory, with_stack
        self.with_flops, self.with_modules, self.acc_events = with_flops, with_modules, acc_events
        self.schedule = schedule if schedule else _always_record
        self.record_steps = bool(schedule)
        self.on_trace_ready = on_trace_ready
        self.profiler = None             # the ag.autograd.profiler.profile of the current cycle
        self.step_num = 0
        self.step_rec_fn = None
        first = self.schedule(0)
        if first == ProfilerAction.DEVICE_STOPPED:
            raise ValueError("ProfilerAction.DEVICE_STOPPED is set internally by the profiler and must not be "
                             "returned by a user-provided schedule")
        self.current_action = first

    # ---- the trace's life: prepared (warmup), started (recording), stopped
    def prepare_trace(self):
        if self.profiler is None or not self.acc_events:
            self.profiler = _legacy.profile(use_device=self.use_device, record_shapes=self.record_shapes,
                                            with_flops=self.with_flops, profile_memory=self.profile_memory,
                                            with_stack=self.with_stack, with_modules=self.with_modules,
                                            use_kineto=True, acc_events=self.acc_events,
                                            use_cpu=ProfilerActivity.CPU in self.activities)
            self.profiler.entered = False

    def start_trace(self):
        if self.profiler is None:
            raise AssertionError("Profiler must be initialized before starting trace")
        self.profiler.entered = False     # (one profile object serves each cycle)
        self.profiler.__enter__()

    def stop_trace(self):
        if self.profiler is None:
            raise AssertionError("Profiler must be initialized before stopping trace")
        self.profiler.__exit__(None, None, None)

    def _trace_ready(self):
        if self.on_trace_ready:
            self.on_trace_ready(self)

    def _transitions(self, prev, cur):
        """What moving from action `prev` to `cur` does (cur None: the end), as PyTorch's action map."""
        A = ProfilerAction
        save = [self.stop_trace, self._trace_ready]
        if prev == A.NONE:
            if cur in (None, A.NONE):
                return []
            return [self.prepare_trace] if cur == A.WARMUP else [self.prepare_trace, self.start_trace]
        if prev == A.WARMUP:
            if cur == A.NONE:
                return [lambda: warnings.warn("Incorrect schedule: WARMUP followed by NONE"), self.start_trace,
                        self.stop_trace]
            if cur is None:
                return [self.start_trace, self.stop_trace]
            return [] if cur == A.WARMUP else [self.start_trace]
        if prev == A.RECORD:
            if cur in (A.NONE, A.WARMUP):
                msg = f"Incorrect schedule: RECORD followed by {cur.name}"
                return [lambda: warnings.warn(msg), self.stop_trace]
            return save if cur is None else []
        if prev == A.RECORD_AND_SAVE:
            if cur in (None, A.NONE):
                return save
            return save + ([self.prepare_trace] if cur == A.WARMUP else [self.prepare_trace, self.start_trace])
        return []

    def _transit(self, prev, cur):
        for act in self._transitions(prev, cur):
            act()

    def start(self):
        self._transit(ProfilerAction.NONE, self.current_action)
        if self.record_steps:
            self._open_step()

    def stop(self):
        self._close_step()
        self._transit(self.current_action, None)

    def step(self):
        """The current step ended: act on the schedule's answer for the next."""
        self._close_step()
        prev = self.current_action
        nxt = self.schedule(self.step_num + 1)
        if nxt == ProfilerAction.DEVICE_STOPPED:
            raise ValueError("ProfilerAction.DEVICE_STOPPED is set internally by the profiler and must not be "
                             "returned by a user-provided schedule")
        self.step_num += 1
        self.current_action = nxt
        self._transit(prev, nxt)
        if self.record_steps:
            self._open_step()

    def _open_step(self):
        self.step_rec_fn = record_function("ProfilerStep#" + str(self.step_num))
        self.step_rec_fn.__enter__()

    def _close_step(self):
        if self.record_steps and self.step_rec_fn is not None:
            self.step_rec_fn.__exit__(None, None, None)
            self.step_rec_fn = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.stop()
        return False

    # ---- results
    def events(self):
        if self.profiler is None:
            raise AssertionError("Profiler must be initialized before accessing events")
        return self.profiler.function_events

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0, group_by_overload_name=False):
        if self.profiler is None:
            raise AssertionError("Profiler must be initialized before getting key averages")
        return self.profiler.key_averages(group_by_input_shape, group_by_stack_n, group_by_overload_name)

    def export_chrome_trace(self, path, use_python_export=False):
        """The last cycle's trace as Chrome trace JSON (gzipped when path ends in .gz)."""
        if self.profiler is None:
            raise AssertionError("Profiler must be initialized before exporting chrome trace")
        if str(path).endswith(".gz"):
            import gzip
            import tempfile
            with tempfile.TemporaryDirectory() as d:
                tmp = os.path.join(d, "trace.json")
                self.profiler.export_chrome_trace(tmp)
                with open(tmp, "rb") as src, gzip.open(path, "wb") as dst:
                    dst.write(src.read())
            return
        self.profiler.export_chrome_trace(path)

    def export_stacks(self, path, metric="self_cpu_time_total"):
        if self.profiler is None:
            raise AssertionError("Profiler must be initialized before exporting stacks")
        return self.profiler.export_stacks(path, metric)

