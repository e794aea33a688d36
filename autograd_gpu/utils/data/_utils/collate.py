"""torch.utils.data._utils.collate's default_collate and default_convert."""
from .. import default_collate, default_convert  # noqa: F401
