// Optimizer updates of the GPU path: the per-element math of each fused
// optimizer kernel (autograd_gpu/optim/_fused.py), one function per kernel.
// A function updates one element of a parameter and of its optimizer state in
// place; the kernel wrapper loads the element into the math type M (float for
// half and float data, double for double), calls it and rounds once on store.
//
// Formulas are PyTorch's single-tensor updates (torch/optim/sgd.py, adam.py,
// rmsprop.py, adagrad.py),
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

// a moving average of squares: v = beta * v + (weight * d) * d (PyTorch's addcmul order)
template <typename M> AG_HD void ema_square(M& v, M d, M beta, M weight) {
    v = v * beta + (weight * d) * d;
}

// p += (k * x) / denom: PyTorch's addcdiv_(x, denom, value=k)
template <typename M> AG_HD void addcdiv_step(M& p, M x, M k, M denom) {
    p = p + (k * x) / denom;
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
    ema_square(v, d, beta2, beta2_weight);
    return d;
}

// the step p += -step_size * m / (sqrt(v_hat) / sqrt(bias_correction2) + eps)
template <typename M> AG_HD void adam_step(M& p, M m, M v_hat, M neg_step_size, M eps, M bc2_sqrt) {
    addcdiv_step(p, m, neg_step_size, math::sqrt(v_hat) / bc2_sqrt + eps);
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

// AdamW: the decoupled weight decay p *= 1 - lr * weight_decay (decay_keep,
// exactly 1 without decay), then Adam's step without L2 decay.
template <typename M>
AG_HD void adamw(M& p, M& m, M& v, M g, M decay_keep, M neg_step_size, M beta1_weight, M beta2,
                 M beta2_weight, M eps, M bc2_sqrt, bool maximize) {
    p = p * decay_keep;
    adam(p, m, v, g, neg_step_size, beta1_weight, beta2, beta2_weight, eps, bc2_sqrt, M(0), maximize);
}

template <typename M>
AG_HD void adamw_amsgrad(M& p, M& m, M& v, M& v_max, M g, M decay_keep, M neg_step_size, M beta1_weight,
                         M beta2, M beta2_weight, M eps, M bc2_sqrt, bool maximize) {
    p = p * decay_keep;
    adam_amsgrad(p, m, v, v_max, g, neg_step_size, beta1_weight, beta2, beta2_weight, eps, bc2_sqrt, M(0),
                 maximize);
}

// RMSprop's denominator: sqrt(square_avg) + eps, with square_avg = alpha * square_avg
// + (1 - alpha) * d * d (alpha_weight = 1 - alpha). Centered, it subtracts the square
// of grad_avg = lerp(grad_avg, d, 1 - alpha) under the root.
template <typename M> AG_HD M rmsprop_denom(M& sq, M d, M alpha, M alpha_weight, M eps) {
    ema_square(sq, d, alpha, alpha_weight);
    return math::sqrt(sq) + eps;
}

template <typename M> AG_HD M rmsprop_centered_denom(M& sq, M& ga, M d, M alpha, M alpha_weight, M eps) {
    ema_square(sq, d, alpha, alpha_weight);
    ga = lerp(ga, d, alpha_weight);
    return math::sqrt(sq - ga * ga) + eps;
}

// with momentum: buf = momentum * buf + d / denom, then p -= lr * buf
template <typename M> AG_HD void rmsprop_momentum_step(M& p, M& buf, M d, M denom, M neg_lr, M momentum) {
    buf = buf * momentum + d / denom;
    p = p + neg_lr * buf;
}

// RMSprop without momentum: p -= lr * d / denom
template <typename M>
AG_HD void rmsprop(M& p, M& sq, M g, M neg_lr, M alpha, M alpha_weight, M eps, M weight_decay, bool maximize) {
    M d = decayed_grad(g, p, weight_decay, maximize);
    addcdiv_step(p, d, neg_lr, rmsprop_denom(sq, d, alpha, alpha_weight, eps));
}

template <typename M>
AG_HD void rmsprop_centered(M& p, M& sq, M& ga, M g, M neg_lr, M alpha, M alpha_weight, M eps, M weight_decay,
                            bool maximize) {
    M d = decayed_grad(g, p, weight_decay, maximize);
    addcdiv_step(p, d, neg_lr, rmsprop_centered_denom(sq, ga, d, alpha, alpha_weight, eps));
}

template <typename M>
AG_HD void rmsprop_momentum(M& p, M& sq, M& buf, M g, M neg_lr, M alpha, M alpha_weight, M eps,
                            M weight_decay, M momentum, bool maximize) {
    M d = decayed_grad(g, p, weight_decay, maximize);
    rmsprop_momentum_step(p, buf, d, rmsprop_denom(sq, d, alpha, alpha_weight, eps), neg_lr, momentum);
}

template <typename M>
AG_HD void rmsprop_centered_momentum(M& p, M& sq, M& ga, M& buf, M g, M neg_lr, M alpha, M alpha_weight, M eps,
                                     M weight_decay, M momentum, bool maximize) {
    M d = decayed_grad(g, p, weight_decay, maximize);
    M denom = rmsprop_centered_denom(sq, ga, d, alpha, alpha_weight, eps);
    rmsprop_momentum_step(p, buf, d, denom, neg_lr, momentum);
}

// Adagrad: sum += d * d, p -= clr * d / (sqrt(sum) + eps), with
// neg_clr = -lr / (1 + (step - 1) * lr_decay) computed on the host.
template <typename M>
AG_HD void adagrad(M& p, M& sum, M g, M neg_clr, M eps, M weight_decay, bool maximize) {
    M d = decayed_grad(g, p, weight_decay, maximize);
    sum = sum + d * d;
    addcdiv_step(p, d, neg_clr, math::sqrt(sum) + eps);
}

}  // namespace optim
}  // namespace ag

#endif  // AG_OPTIM_CUH
