"""Grad mode: whether ops record the graph. Thread-local, as in PyTorch."""
import functools
import inspect
import threading


class _State(threading.local):
    enabled = True          # class attribute: every new thread starts enabled
    # the innermost backward pass running on this thread, as the engine records it:
    # [roots, needed, targets, its GraphTask once asked for, the enclosing pass's record]
    running_pass = None


state = _State()


def is_grad_enabled():
    return state.enabled


class _GradModeContext:
    """Base of no_grad / enable_grad / set_grad_enabled: a context manager that
    is also a decorator (PyTorch's _DecoratorContextManager)."""
    _mode = True

    def __enter__(self):
        self._prev = state.enabled
        state.enabled = self._mode

    def __exit__(self, *exc):
        state.enabled = self._prev
        return False

    def __call__(self, fn):
        mode = self._mode
        if inspect.isgeneratorfunction(fn):
            return _wrap_generator(fn, mode)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = state.enabled
            state.enabled = mode
            try:
                return fn(*args, **kwargs)
            finally:
                state.enabled = prev
        return wrapper


def _wrap_generator(fn, mode):
    """A decorated generator function: the mode holds while the generator's
    body runs (around each resume: send, throw, close) and the caller's mode
    is back at each yield, as PyTorch's torch.utils._contextlib._wrap_generator."""

    def resume(method, arg):
        prev = state.enabled
        state.enabled = mode
        try:
            return method(arg)
        finally:
            state.enabled = prev

    @functools.wraps(fn)
    def generator_context(*args, **kwargs):
        gen = fn(*args, **kwargs)
        try:
            response = resume(gen.send, None)
            while True:
                try:
                    request = yield response
                except GeneratorExit:
                    resume(lambda _: gen.close(), None)
                    raise
                except BaseException as e:
                    response = resume(gen.throw, e)
                else:
                    response = resume(gen.send, request)
        except StopIteration as e:
            return e.value
    return generator_context


class _NoParamGradModeContext(_GradModeContext):
    """no_grad / enable_grad also decorate without parentheses: `@ag.no_grad`
    (PyTorch's _NoParamDecoratorContextManager)."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)


class no_grad(_NoParamGradModeContext):
    """Disable graph recording: `with ag.no_grad():`, `@ag.no_grad()` or `@ag.no_grad`."""
    _mode = False


class enable_grad(_NoParamGradModeContext):
    """Enable graph recording inside a no_grad region."""
    _mode = True


class set_grad_enabled(_GradModeContext):
    """Set grad mode to `mode`: immediately when called (like PyTorch), and
    restored on leaving the `with` block."""

    def __init__(self, mode):
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled(): mode must be a bool, got {type(mode).__name__}")
        self._prev = state.enabled
        self._mode = mode
        state.enabled = mode

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        state.enabled = self._prev
        return False

    def __call__(self, fn):
        state.enabled = self._prev   # as decorator: don't leave the mode changed
        return _GradModeContext.__call__(self, fn)


class _InferenceState(threading.local):
    enabled = False


_inference = _InferenceState()


def is_inference_mode_enabled():
    return _inference.enabled


class inference_mode(_NoParamGradModeContext):
    """torch.inference_mode(mode=True), as a context manager or decorator (also bare: @inference_mode): here
    it is no_grad (mode=False: grad mode on, as torch's), and is_inference_mode_enabled() says whether it is
    on. Tensors made inside are ordinary ones (torch's inference tensors refuse autograd later; ours do not)."""

    def __new__(cls, mode=True):
        if isinstance(mode, bool):
            return object.__new__(cls)
        return cls()(mode)               # @inference_mode without parentheses (torch: anything not a bool)

    def __init__(self, mode=True):
        self._mode = not mode            # the grad mode it sets
        self._inference_mode = mode

    def __enter__(self):
        self._prev_inference = _inference.enabled
        _inference.enabled = self._inference_mode
        super().__enter__()

    def __exit__(self, *exc):
        _inference.enabled = self._prev_inference
        return super().__exit__(*exc)

    def __call__(self, fn):
        wrapped = super().__call__(fn)
        if inspect.isgeneratorfunction(fn):
            return wrapped               # (grad mode only around a generator's steps)
        inference = self._inference_mode

        @functools.wraps(fn)
        def with_flag(*args, **kwargs):
            prev = _inference.enabled
            _inference.enabled = inference
            try:
                return wrapped(*args, **kwargs)
            finally:
                _inference.enabled = prev
        return with_flag
