"""torch.nn.modules.module's names: Module and the global module hooks."""
from ..module import Module, _addindent, _IncompatibleKeys  # noqa: F401  (private names ported code imports)
from ..module_hooks import (register_module_forward_hook, register_module_forward_pre_hook,
                            register_module_full_backward_hook, register_module_full_backward_pre_hook)

__all__ = ["register_module_forward_pre_hook", "register_module_forward_hook",
           "register_module_full_backward_pre_hook", "register_module_full_backward_hook", "Module"]
