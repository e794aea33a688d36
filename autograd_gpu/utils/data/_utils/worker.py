"""torch.utils.data._utils.worker's WorkerInfo and get_worker_info."""
from .. import get_worker_info  # noqa: F401
from ...data_workers import ExceptionWrapper, WorkerInfo  # noqa: F401
