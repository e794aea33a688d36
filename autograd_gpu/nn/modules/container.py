"""torch.nn.modules.container's names."""
from ..compat import Container
from ..container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential

__all__ = ["Container", "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"]
