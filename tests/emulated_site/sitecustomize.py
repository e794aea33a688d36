"""With this folder on PYTHONPATH, every Python process starts with the CuPy
emulator (tests/cupy_emulator.py) as `cupy`: the benchmark suite's workers and
.ci/gpu_check's steps then take their CUDA paths on a machine without a GPU
(a dry run of the GPU checks: tests/test_benchmarks_smoke.py)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import cupy_emulator  # noqa: E402

sys.modules["cupy"] = cupy_emulator.module
