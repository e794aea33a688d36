// Optimizer updates of the GPU path: the per-element math of each fused
// optimizer kernel (autograd_gpu/optim/_fused.py), one function per kernel.
// A function updates one element of a parameter and of its optimizer state in
// place; the kernel wrapper loads the element into the math type M (float for
// half and float data, double for double), calls it and rounds once on store.
//
// Formulas are PyTorch's single-tensor updates (torch/optim/sgd.py, adam.py),
// operation for operation, in the same order as the NumPy twins in _fused.py,
// so a host build without contraction (-ffp-contract=off) matches the twins
// bit for bit. Scalars arrive already in M: host-side arithmetic on the
// hyperparameters (1 - dampening, bias corrections, step size) is done in
// double on the host, as PyTorch does in Python, and rounded once.
#ifndef AG_OPTIM_CUH
#define AG_OPTIM_CUH

#include "pointwise.cuh"

namespace ag {
namespace optim {

// The direction an update follows: the gradient, negated to maximize, plus
// L2 weight decay (grad + weight_decay * param). A zero weight decay adds
// nothing, not 0 * param (which is NaN for an infinite parameter).
template <typename M> AG_HD M decayed_grad(M g, M p, M weight_decay, bool maximize) {
    if (maximize) g = -g;
    if (weight_decay != M(0)) g = g + weight_decay * p;
    return g;
}

// torch.lerp with a scalar weight: exact at both ends of [a, b]
template <typename M> AG_HD M lerp(M a, M b, M w) {
    return math::fabs(w) < M(0.5) ? a + w * (b - a) : b - (b - a) * (M(1) - w);
}

// SGD without momentum: p -= lr * d
template <typename M> AG_HD void sgd(M& p, M g, M lr, M weight_decay, bool maximize) {
    M d = decayed_grad(g, p, weight_decay, maximize);
    p = p + (-lr) * d;
}

// SGD with momentum: buf = momentum * buf + (1 - dampening) * d (buf = d on
// the first step), then a step along buf, or along d + momentum * buf (Nesterov).
// keep = 1 - dampening.
template <typename M>
AG_HD void sgd_momentum(M& p, M& buf, M g, M lr, M weight_decay, M momentum, M keep, bool nesterov,
                        bool maximize, bool first) {
    M d = decayed_grad(g, p, weight_decay, maximize);
    buf = first ? d : buf * momentum + keep * d;
    M step = nesterov ? d + momentum * buf : buf;
    p = p + (-lr) * step;
}

// Adam's moments: m = lerp(m, d, 1 - beta1), v = beta2 * v + (1 - beta2) * d * d
template <typename M>
AG_HD M adam_moments(M& m, M& v, M g, M p, M beta1_weight, M beta2, M beta2_weight, M weight_decay,
                     bool maximize) {
    M d = decayed_grad(g, p, weight_decay, maximize);
    m = lerp(m, d, beta1_weight);
    v = v * beta2 + (beta2_weight * d) * d;
    return d;
}

// the step p += -step_size * m / (sqrt(v_hat) / sqrt(bias_correction2) + eps)
template <typename M> AG_HD void adam_step(M& p, M m, M v_hat, M neg_step_size, M eps, M bc2_sqrt) {
    M denom = math::sqrt(v_hat) / bc2_sqrt + eps;
    p = p + (neg_step_size * m) / denom;
}

// Adam. beta1_weight = 1 - beta1, beta2_weight = 1 - beta2,
// neg_step_size = -lr / (1 - beta1^t), bc2_sqrt = sqrt(1 - beta2^t).
template <typename M>
AG_HD void adam(M& p, M& m, M& v, M g, M neg_step_size, M beta1_weight, M beta2, M beta2_weight, M eps,
                M bc2_sqrt, M weight_decay, bool maximize) {
    adam_moments(m, v, g, p, beta1_weight, beta2, beta2_weight, weight_decay, maximize);
    adam_step(p, m, v, neg_step_size, eps, bc2_sqrt);
}

// AMSGrad: the step normalises by the running maximum of v (NaN propagates, as torch.maximum)
template <typename M>
AG_HD void adam_amsgrad(M& p, M& m, M& v, M& v_max, M g, M neg_step_size, M beta1_weight, M beta2,
                        M beta2_weight, M eps, M bc2_sqrt, M weight_decay, bool maximize) {
    adam_moments(m, v, g, p, beta1_weight, beta2, beta2_weight, weight_decay, maximize);
    v_max = max_nan(v_max, v);
    adam_step(p, m, v_max, neg_step_size, eps, bc2_sqrt);
}

}  // namespace optim
}  // namespace ag

#endif  // AG_OPTIM_CUH
