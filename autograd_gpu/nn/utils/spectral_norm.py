"""torch.nn.utils.spectral_norm (the old, hook-based form): weight = weight_orig / sigma, sigma the
largest singular value of weight_orig (as a matrix, `dim` first) estimated by power iteration with
the buffers weight_u and weight_v; one step of it per forward call in training mode only, run by a
forward pre-hook. State-dict keys weight_orig, weight_u, weight_v, and version 1, as PyTorch's."""
from ...autograd.grad_mode import no_grad
from ..parameter import Parameter

# the names ag.nn.utils itself exports from this module (as torch.nn.utils does)
EXPORTS = {}


def _normalized(x, eps):
    from ..functional import normalize
    return normalize(x, dim=0, eps=eps)


class SpectralNorm:
    """The forward pre-hook that recomputes module.<name> = <name>_orig / sigma."""
    _version = 1            # 1: weight_v is stored (version 0 state dicts stored the weight instead)

    def __init__(self, name="weight", n_power_iterations=1, dim=0, eps=1e-12):
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.name = name
        self.dim = dim
        self.n_power_iterations = n_power_iterations
        self.eps = eps

    def reshape_weight_to_matrix(self, weight):
        if self.dim != 0:
            weight = weight.permute(self.dim, *[d for d in range(weight.dim()) if d != self.dim])
        return weight.reshape(weight.shape[0], -1)

    def compute_weight(self, module, do_power_iteration):
        weight = getattr(module, self.name + "_orig")
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        weight_mat = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:
            # u and v are updated in place (the buffers); the clones keep the ones used below out of
            # reach of the next call's in-place update (backward needs them)
            with no_grad():
                for _ in range(self.n_power_iterations):
                    v.copy_(_normalized(weight_mat.t().mv(u), self.eps))
                    u.copy_(_normalized(weight_mat.mv(v), self.eps))
                u, v = u.clone(), v.clone()
        sigma = u.dot(weight_mat.mv(v))
        return weight / sigma

    def remove(self, module):
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        for suffix in ("", "_u", "_v", "_orig"):
            delattr(module, self.name + suffix)
        module.register_parameter(self.name, Parameter(weight.detach()))

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute_weight(module, do_power_iteration=module.training))

    def _solve_v_and_rescale(self, weight_mat, u, target_sigma):
        """The v with u^T W v = target_sigma (for converting a version-0 state dict)."""
        from ... import pinverse
        from ...linalg import multi_dot
        v = multi_dot([pinverse(weight_mat.t().mm(weight_mat)), weight_mat.t(), u.unsqueeze(1)]).squeeze(1)
        return v.mul_(target_sigma / u.dot(weight_mat.mv(v)))

    @staticmethod
    def apply(module, name, n_power_iterations, dim, eps):
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, SpectralNorm) and hook.name == name:
                raise RuntimeError(f"Cannot register two spectral_norm hooks on the same parameter {name}")
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        weight = module._parameters[name]
        from .weight_norm import _named_errors, _refuse_uninitialized
        _refuse_uninitialized(weight, "SpectralNorm", "spectral")
        with no_grad(), _named_errors("spectral_norm"):
            weight_mat = fn.reshape_weight_to_matrix(weight)
            h, w = weight_mat.shape
            u = _normalized(weight.new_empty(h).normal_(0, 1), fn.eps)
            v = _normalized(weight.new_empty(w).normal_(0, 1), fn.eps)
        delattr(module, name)
        module.register_parameter(name + "_orig", weight)
        # a plain attribute until the first forward call (PyTorch's: the weight's data)
        setattr(module, name, weight.data)
        module.register_buffer(name + "_u", u)
        module.register_buffer(name + "_v", v)
        module.register_forward_pre_hook(fn)
        module.register_state_dict_post_hook(SpectralNormStateDictHook(fn))
        module.register_load_state_dict_pre_hook(SpectralNormLoadStateDictPreHook(fn))
        return fn


class SpectralNormLoadStateDictPreHook:
    """Converts a version-0 state dict (weight_orig, weight, weight_u) to the current keys."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, module, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                 error_msgs):
        fn = self.fn
        version = local_metadata.get("spectral_norm", {}).get(fn.name + ".version", None)
        if version is not None and version >= 1:
            return
        weight_key = prefix + fn.name
        if (version is None and all(weight_key + s in state_dict for s in ("_orig", "_u", "_v"))
                and weight_key not in state_dict):
            return          # a current state dict without its metadata
        missing = [weight_key + s for s in ("_orig", "", "_u") if weight_key + s not in state_dict]
        if missing:
            if strict:
                missing_keys.extend(missing)
            return
        with no_grad():
            weight_orig = state_dict[weight_key + "_orig"]
            weight = state_dict.pop(weight_key)
            sigma = (weight_orig / weight).mean()
            weight_mat = fn.reshape_weight_to_matrix(weight_orig)
            state_dict[weight_key + "_v"] = fn._solve_v_and_rescale(weight_mat, state_dict[weight_key + "_u"], sigma)


class SpectralNormStateDictHook:
    """Records the version in the state dict's metadata, as PyTorch's:
    state_dict._metadata[module prefix]["spectral_norm"]["<name>.version"] = 1."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, module, state_dict, prefix, local_metadata):
        key = self.fn.name + ".version"
        stores = [local_metadata]
        # (Module.state_dict here keeps no _metadata of its own: the version also goes on the dict,
        # where torch's load_state_dict looks for it; a plain dict destination cannot hold it)
        metadata = getattr(state_dict, "_metadata", None)
        if metadata is None and hasattr(state_dict, "__dict__"):
            metadata = state_dict._metadata = {}
        if metadata is not None and metadata.get(prefix[:-1]) is not local_metadata:
            stores.append(metadata.setdefault(prefix[:-1], {}))
        for store in stores:
            versions = store.setdefault("spectral_norm", {})
            if key in versions and store is local_metadata:
                raise RuntimeError(f"Unexpected key in metadata['spectral_norm']: {key}")
            versions[key] = self.fn._version


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Reparametrize module.<name> as <name>_orig / sigma, sigma its largest singular value
    estimated by `n_power_iterations` steps of power iteration per forward call in training mode
    (u and v kept in the buffers <name>_u and <name>_v, started random). dim (default 0, 1 for
    ConvTranspose) is the output dimension. Returns the module."""
    if dim is None:
        from ..conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) else 0
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps)
    return module


def remove_spectral_norm(module, name="weight"):
    """Undo spectral_norm: <name> becomes a parameter again, holding weight_orig / sigma with the
    current u and v (no power iteration). Returns the module."""
    hooks = module._forward_pre_hooks
    key = next((k for k, h in hooks.items() if isinstance(h, SpectralNorm) and h.name == name), None)
    if key is None:
        raise ValueError(f"spectral_norm of '{name}' not found in {module}")
    hooks[key].remove(module)
    del hooks[key]
    for store, kind in (("_state_dict_hooks", SpectralNormStateDictHook),
                        ("_load_state_dict_pre_hooks", SpectralNormLoadStateDictPreHook)):
        hooks = getattr(module, store)
        key = next((k for k, h in hooks.items() if isinstance(h, kind) and h.fn.name == name), None)
        if key is not None:
            del hooks[key]
    return module


EXPORTS.update(spectral_norm=spectral_norm, remove_spectral_norm=remove_spectral_norm)
