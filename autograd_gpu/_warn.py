"""Warnings that point at the user's call: the first frame outside the
library, whatever chain of library calls lies between (shared helpers, and
autocast's entry casts: amp.cast_at_entry). What Python 3.12's
skip_file_prefixes does; a fixed stacklevel is right for one caller only."""
import sys
import warnings


def warn_at_caller(message, category=UserWarning):
    frame, level = sys._getframe(1), 2          # (stacklevel 2: the frame that called this function)
    while frame is not None and (frame.f_globals.get("__name__") or "").startswith("autograd_gpu"):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
