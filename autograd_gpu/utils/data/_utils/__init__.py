"""torch.utils.data._utils' submodules ported code imports from: collate
(default_collate, default_convert) and worker (WorkerInfo, get_worker_info)."""
from ...data_workers import ExceptionWrapper  # noqa: F401  (as torch's _utils has it)
from . import collate, worker
