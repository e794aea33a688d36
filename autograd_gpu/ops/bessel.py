"""Bessel functions (J, Y, I, K; the scaled and spherical forms) and Airy's Ai, as torch.special has them.

The NumPy twins are array expressions (NumPy or CuPy arrays alike: every call goes
through NumPy's dispatch), computed in float64 and rounded once to the input's
float dtype; integer and bool inputs give float32, as PyTorch's. No branch is
taken per element: each region's formula runs on a clamped argument and
np.where picks (so the CUDA path is the same code).

* I0, I1 (and the e^-|x| scaled i0e, i1e): the power series (positive terms,
  in x^2/4 carried exactly) up to |x| = 20, then the asymptotic series of
  sqrt(2 pi x) e^-x I(x), whose error there is below e^-2x.
* K0, K1 (and the e^x scaled forms): up to x = 2 the series of DLMF 10.31.1
  (a log term times I plus an entire series in x^2/4); past 2 a Chebyshev fit
  of sqrt(x) e^x K(x) in 2/x.
* J0, J1, Y0, Y1: up to |x| = 5 Chebyshev fits in x^2 of J and of the entire
  part of Y (Y minus its log term); past 5 Hankel's form with fitted P and
  Q (functions of 25/x^2) and cos x, sin x of the exact argument (no x - pi/4
  rounding).
* Ai: fits on [-4, 0] (Ai itself) and on [0, 4] (Ai(w^2) e^(2w^3/3), w = sqrt x);
  past 4 the exponential form, below -4 the modulus form, both fitted in 1/zeta
  (zeta = 2/3 |x|^(3/2) carried to twice float64's precision: exp and sin
  would multiply its rounding by zeta).
All fits: Chebyshev coefficients computed with mpmath at 40 digits from 64
Chebyshev nodes, cut where they fall below 1e-18 of the largest
(tests/test_ops_bessel.py::test_fits_are_reproducible makes them again).

Derivatives as PyTorch's (derivatives.yaml): i0' = i1; i0e, i1 and i1e by
PyTorch's formulas (with its 0.5 at |x| <= eps for i1 and i1e), built from
these ops, so every order works. PyTorch gives the other functions no
derivative: their outputs never require grad (as its), so backward through
them alone raises the engine's "does not require grad" error."""
import math
from fractions import Fraction

import numpy as np

from ..autograd.op import Op
from ..tensor import Tensor
from . import prims as P
from .functions import tensor_function
from .gamma import _float_result, _in_float64

_PI = math.pi
_EULER = 0.57721566490153286061
_INV_SQRT_PI = 1 / math.sqrt(_PI)
_SQRT_HALF = math.sqrt(0.5)

# ---- Chebyshev fits (coefficients of T_0, T_1, ... on [-1, 1]; see the module docstring) ---------

K0_TAIL = (1.2201515410329777, -0.0314481013119645, 0.0015698838857300533, -0.00012849549581627802,
           1.39498137188765e-05, -1.8317555227191195e-06, 2.766813639445015e-07, -4.660489897687948e-08,
           8.574034017414225e-09, -1.6975345093890614e-09, 3.5773972814003283e-10, -7.957489244477396e-11,
           1.8559491149549264e-11, -4.514597883374519e-12, 1.1403405882073441e-12, -2.9800969231481784e-13,
           8.032890775068375e-14, -2.2275133267462965e-14, 6.340076476276646e-15, -1.848593377920907e-15,
           5.5120559994043335e-16, -1.6782311257549006e-16, 5.2103917776435543e-17, -1.6475805939842632e-17,
           5.3004337711773354e-18, -1.7331712005821001e-18)
K1_TAIL = (1.3603130952422213, 0.10392373657681724, -0.002857816859622779, 0.00019521551847135162,
           -1.936197974166083e-05, 2.406484947837217e-06, -3.5019606030878126e-07, 5.7410841254500495e-08,
           -1.0345762465678097e-08, 2.0150497551970347e-09, -4.1903547593419254e-10, 9.218315187605315e-11,
           -2.129967838427791e-11, 5.139639673482343e-12, -1.2891739609498229e-12, 3.348419666052243e-13,
           -8.976705182010146e-14, 2.4771544242195988e-14, -7.0198370892147685e-15, 2.038703166239861e-15,
           -6.057047270643018e-16, 1.8380935752430455e-16, -5.689462849193648e-17, 1.7940510478863572e-17,
           -5.7567444820733025e-18, 1.8778651901623268e-18)
J0_SMALL = (0.0023409898253245504, -0.49420509340952434, 0.39793736723207573, -0.09383145879659378,
            0.010887531648681012, -0.0007606267657733754, 3.569483646356939e-05, -1.2060697061368316e-06,
            3.079038572034392e-08, -6.154405541206829e-10, 9.89883306235983e-12, -1.3093862877228934e-13,
            1.449925455546083e-15, -1.3640331632027614e-17)
J1_SMALL = (0.12472176826504336, -0.2686845684799195, 0.09129790663903893, -0.014004653451391028,
            0.001219706194308904, -6.861294107933131e-05, 2.7033690715030914e-06, -7.885506927808829e-08,
            1.7729297565883533e-09, -3.168183400785992e-11, 4.609607207864301e-13, -5.568208308467139e-15,
            5.674750797163287e-17, -4.945591701810024e-19)
Y0_SMALL = (0.20708558773104574, -0.3482536985767724, -0.1162964211804867, 0.0612777592111658,
            -0.009474805742806541, 0.0007808203004993907, -4.102414780282299e-05, 1.5084665388838522e-06,
            -4.11773998328759e-08, 8.696444600569773e-10, -1.4653619542964564e-11, 2.0177025994638334e-13,
            -2.314260428897327e-15, 2.2462456311285304e-17)
Y1_SMALL = (0.10814356944253686, 0.023331746910030052, -0.04805615183492803, 0.010931259695855651,
            -0.001167564040130863, 7.498061541188042e-05, -3.2521563506031377e-06, 1.0219630562978181e-07,
            -2.4405409262765277e-09, 4.586506000171005e-11, -6.966878761583555e-13, 8.73709659647942e-15,
            -9.203817494483837e-17, 8.261763168130851e-19)
P0 = (0.9986523398776954, -0.00132937162125028, 1.761305551290559e-05, -6.319367118733069e-07,
      3.948825587093808e-08, -3.5409678948019087e-09, 4.103246366872386e-10, -5.765747662655223e-11,
      9.423105578391987e-12, -1.7401405706283885e-12, 3.5557750052411783e-13, -7.914641501338115e-14,
      1.8959456362961828e-14, -4.841483019175697e-15, 1.3078555195901338e-15, -3.714050821413154e-16,
      1.103023177871277e-16, -3.410936210498114e-17, 1.0942187869810236e-17, -3.629905673795297e-18,
      1.2418028891673288e-18)
Q0 = (-0.12364702582167493, 0.0013190194049922607, -3.218799121266175e-05, 1.6237093205642789e-06,
      -1.2743289742032805e-07, 1.3513032763134409e-08, -1.785075905119705e-09, 2.79085713479036e-10,
      -4.988908027652833e-11, 9.950713667806645e-12, -2.1751206043008833e-12, 5.140127162427605e-13,
      -1.2993242656059178e-13, 3.4837635776889786e-14, -9.84005757254373e-15, 2.9115274918592e-15,
      -8.982151171303344e-16, 2.877768906557925e-16, -9.542905011731343e-17, 3.2658161943648366e-17,
      -1.150518178532616e-17, 4.16320426537859e-18, -1.544369143900366e-18, 5.8629592355191775e-19,
      -2.2743642238250536e-19)
P1 = (1.00226762068534, 0.0022437352958079985, -2.3071018862548286e-05, 7.639181732533905e-07,
      -4.589685232343401e-08, 4.020515478419001e-09, -4.586773977170972e-10, 6.373158962859246e-11,
      -1.0327344567640412e-11, 1.8943274995111034e-12, -3.849703387824105e-13, 8.529914525779044e-14,
      -2.03544697865723e-14, 5.180421738900549e-15, -1.3953502148258493e-15, 3.9523601713314257e-16,
      -1.171117080126803e-16, 3.614078564738109e-17, -1.1572356053251518e-17, 3.832473906744907e-18,
      -1.3090769675043101e-18)
Q1 = (0.37308734621468637, -0.0018705189681051477, 4.0056994520460306e-05, -1.914402839085632e-06,
      1.458816510742199e-07, -1.5183398644673165e-08, 1.979922260589517e-09, -3.065981449437696e-10,
      5.440233592059753e-11, -1.0786652192538468e-11, 2.346352831758894e-12, -5.522046856541826e-13,
      1.390972848139383e-13, -3.7181516752164614e-14, 1.0474063117829167e-14, -3.091784202917912e-15,
      9.518051831081499e-16, -3.0436450667050517e-16, 1.0075487579997493e-16, -3.4426306619813246e-17,
      1.2110503970221687e-17, -4.376388902428328e-18, 1.6214444005747313e-18, -6.1484941486086215e-19)
AIRY_NEGMID = (0.11447758651998736, -0.42127788420449913, -0.027734597101387943, 0.23365796110601145,
               0.06939559564577408, -0.024461772007139792, -0.014766437693581868, -0.0008023889779525898,
               0.0010230295738488458, 0.0002514931206909262, -1.2152476924968542e-05, -1.4468912917662048e-05,
               -1.865453687423982e-06, 2.599357801871398e-07, 1.0341710658801066e-07, 6.957126687005273e-09,
               -1.951709352397157e-09, -4.440109838536824e-10, -1.1398870033140025e-11, 8.370115586923187e-12,
               1.2611082165186202e-12, -1.0125908288303646e-14, -2.379952365410891e-14, -2.5144316602653423e-15,
               1.0116342805635523e-16, 4.852103290649533e-17, 3.647606575795266e-18)
AIRY_POSMID = (0.27249158621450187, -0.08421601278662964, 0.006444942107909474, 0.004362338850880349,
               -0.0027159634724499325, 0.0008889777915367823, -0.0001722641012256739, 3.3410312638390127e-06,
               1.1948814618645077e-05, -5.17162905897916e-06, 1.2191769499850079e-06, -1.2036710573734958e-07,
               -3.5125894987769145e-08, 2.0864212213793467e-08, -5.443604367454966e-09, 6.90839166554939e-10,
               7.665702898186757e-11, -6.600107567744152e-11, 1.8170250450146645e-11, -2.4938474222613496e-12,
               -1.4192770196512324e-13, 1.7525089436334675e-13, -4.887497683749781e-14, 6.7322369579079224e-15,
               2.7752154600593915e-16, -4.058630935856596e-16, 1.1030318550492375e-16, -1.4501469517933404e-17,
               -6.623605673964014e-19, 8.356238200738642e-19)
AIRY_POS = (0.9939156471208415, -0.005951682172853521, 0.0001274938119525643, -4.894874499654238e-06,
            2.6272119491152297e-07, -1.773298261745699e-08, 1.42042295392101e-09, -1.302155351703022e-10,
            1.3330073810572014e-11, -1.4970901449937875e-12, 1.8203436185566892e-13, -2.371883033299006e-14,
            3.2849509195621373e-15, -4.803859779328941e-16, 7.3775022574558e-17, -1.1844121511715052e-17,
            1.980109526565348e-18)
AIRY_NEG_F = (0.9995276946111581, -0.000625365577764684, -0.00014990980351676085, 3.4830039929577474e-06,
              2.9860601537386784e-07, -3.416671795574718e-08, 2.337743804850133e-10, 3.4532565441492147e-10,
              -4.3557666747543475e-11, 7.022018049049115e-14, 8.74979967947299e-13, -1.5546527089795704e-13,
              6.653840217825032e-15, 3.2748470834773104e-15, -9.701821030823647e-16, 1.1786823026802962e-16,
              7.77146643949025e-18, -7.17167161370806e-18, 1.7208334579617816e-18)
AIRY_NEG_G = (0.06897650499011908, -0.0006157426217073732, -0.0001420188689420398, 6.303157242382485e-06,
              4.347952247421009e-07, -8.23321648457882e-08, 2.7736792109658437e-09, 8.716215390200892e-10,
              -1.6677415402204735e-10, 7.45410033992196e-12, 2.7827694260673247e-12, -7.453573275705715e-13,
              7.070528744039567e-14, 9.527819363699402e-15, -4.998875325208827e-15, 9.141681346309048e-16,
              -3.230006670906525e-17, -3.3653298424884955e-17, 1.1866578547159526e-17, -1.9880161815280986e-18,
              -6.113450613461312e-21, 1.1901427945830413e-19)
FITS = {name: globals()[name] for name in (
    "K0_TAIL", "K1_TAIL", "J0_SMALL", "J1_SMALL", "Y0_SMALL", "Y1_SMALL", "P0", "Q0", "P1", "Q1",
    "AIRY_NEGMID", "AIRY_POSMID", "AIRY_POS", "AIRY_NEG_F", "AIRY_NEG_G")}


def _cheb(c, t):
    """sum_k c[k] T_k(t) by Clenshaw's recurrence."""
    b1, b2 = np.zeros_like(t) + c[-1], np.zeros_like(t)
    t2 = 2 * t
    for ck in c[-2:0:-1]:
        b1, b2 = t2 * b1 - b2 + ck, b1
    return t * b1 - b2 + c[0]


def _horner(coefs, z):
    """sum_k coefs[k] z^k (coefs lowest power first)."""
    r = np.zeros_like(z) + coefs[-1]
    for c in coefs[-2::-1]:
        r = r * z + c
    return r


def _split(v):
    """Dekker's split: v = hi + lo exactly, each of 26 bits, so products of halves are exact."""
    c = 134217729.0 * v
    hi = c - (c - v)
    return hi, v - hi


def _two_product(a, b):
    """a * b = p + e exactly (Dekker)."""
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


# ---- series (exact rational coefficients, rounded once) -------------------------------------------

_I_SMALL = 20.0          # |x| up to here: the power series; past it the asymptotic series (error < e^-2x)
_SERIES_TERMS = 42       # (x/2)^2k / (k! (k+nu)!) at x = 20, k = 42: below 1e-25 of the sum
_K_SMALL = 2.0           # x up to here: the series of K (x^2/4 <= 1)
_K_TERMS = 22


def _harmonic(k):
    return sum((Fraction(1, j) for j in range(1, k + 1)), Fraction(0))


_I_SERIES = [[float(Fraction(1, math.factorial(k) * math.factorial(k + nu))) for k in range(_SERIES_TERMS)]
             for nu in (0, 1, 2)]
# K0: sum_k psi(k+1) u^k / k!^2;  K1: sum_k (psi(k+1) + psi(k+2)) u^k / (k! (k+1)!)   (u = x^2/4, DLMF 10.31.1)
_K_SERIES = [[float(_harmonic(k) / math.factorial(k) ** 2) - _EULER / math.factorial(k) ** 2
              for k in range(_K_TERMS)],
             [float((_harmonic(k) + _harmonic(k + 1)) / (math.factorial(k) * math.factorial(k + 1)))
              - 2 * _EULER / (math.factorial(k) * math.factorial(k + 1)) for k in range(_K_TERMS)]]


def _asymptotic_coefs(nu, x0=_I_SMALL):
    """(-1)^k a_k(nu), a_k(nu) = prod_{j<=k} (4 nu^2 - (2j-1)^2) / (k! 8^k) (DLMF 10.40.1), up to the
    smallest term at x0 (the series diverges past it)."""
    out, a = [1.0], Fraction(1)
    for k in range(1, 200):
        a = a * (4 * nu * nu - (2 * k - 1) ** 2) / (8 * k)
        if abs(float(a)) / x0 ** k < 1e-19 or abs(float(a)) / x0 ** k > abs(out[-1]) / x0 ** (k - 1):
            break
        out.append(float((-1) ** k * a))
    return out


_I_ASYMPTOTIC = [_asymptotic_coefs(0), _asymptotic_coefs(1)]


# ---- I ---------------------------------------------------------------------------------------------

def _i_series(nu, a):
    """I_nu(a) for 0 <= a <= 20: (a/2)^nu S_nu(a^2/4), S_nu(u) = sum_k u^k / (k! (k+nu)!). I is as
    sensitive to u's rounding as u d log(S)/du ~ a/2: u is taken as exact a^2/4 = u + u_lo, with
    S_nu(u + u_lo) = S_nu(u) + S_nu+1(u) u_lo (S_nu' = S_nu+1)."""
    sq, sq_err = _two_product(a, a)
    u, u_lo = sq / 4, sq_err / 4
    s = _horner(_I_SERIES[nu], u) + _horner(_I_SERIES[nu + 1], u) * u_lo
    return s if nu == 0 else s * (a / 2)


def _i_tail(nu, a):
    """e^-a I_nu(a) for a >= 20 (0 at inf)."""
    return _horner(_I_ASYMPTOTIC[nu], 1 / a) / np.sqrt(2 * _PI * a)


def _i_array(nu, scaled, x, kernel=np.dtype(np.float64)):
    """I_nu(x), or e^-|x| I_nu(x); PyTorch's choices: NaN at +-inf (its e^x times 0) and,
    unscaled, inf where its kernel's exp(|x|) overflows (past 709.78, float32: 88.72)."""
    with np.errstate(all="ignore"):
        a = np.abs(x)
        small = _i_series(nu, np.minimum(a, _I_SMALL))
        tail = _i_tail(nu, np.maximum(a, _I_SMALL))
        if scaled:
            r = np.where(a <= _I_SMALL, np.exp(-a) * small, tail)
        else:
            r = np.where(a <= _I_SMALL, small, np.exp(a) * tail)
            if kernel != np.float64:
                r = np.where(np.isinf(np.exp(a.astype(np.float32))) & (a != np.inf), np.inf, r)
        return r if nu == 0 else np.where(x < 0, -r, r)


def i0_array(x, kernel=np.dtype(np.float64)):
    return _i_array(0, False, x, kernel)


def i0e_array(x):
    return _i_array(0, True, x)


def i1_array(x, kernel=np.dtype(np.float64)):
    return _i_array(1, False, x, kernel)


def i1e_array(x):
    return _i_array(1, True, x)


# ---- K ---------------------------------------------------------------------------------------------

def _k_small(nu, x):
    """K_nu(x) for 0 < x <= 2 (DLMF 10.31.1)."""
    log_half = np.log(x / 2)
    u = x * x / 4
    if nu == 0:
        return -log_half * _i_series(0, x) + _horner(_K_SERIES[0], u)
    return 1 / x + log_half * _i_series(1, x) - (x / 4) * _horner(_K_SERIES[1], u)


def _k_array(nu, scaled, x):
    """K_nu(x) or e^x K_nu(x): inf at 0, NaN below 0, 0 at inf (PyTorch's)."""
    with np.errstate(all="ignore"):
        xs = np.clip(x, 0, _K_SMALL)
        small = _k_small(nu, xs)
        xt = np.maximum(x, _K_SMALL)
        fit = _cheb(FITS[f"K{nu}_TAIL"], 4 / xt - 1) / np.sqrt(xt)      # sqrt(x) e^x K(x), in 2/x
        if scaled:
            r = np.where(x <= _K_SMALL, np.exp(xs) * small, fit)
        else:
            half = np.exp(-xt / 2)                  # (two factors: one rounding into the subnormals)
            r = np.where(x <= _K_SMALL, small, half * fit * half)
        r = np.where(x == 0, np.inf, r)
        return np.where(x < 0, np.nan, r)


def k0_array(x):
    return _k_array(0, False, x)


def k1_array(x):
    return _k_array(1, False, x)


def k0e_array(x):
    return _k_array(0, True, x)


def k1e_array(x):
    return _k_array(1, True, x)


# ---- J and Y ---------------------------------------------------------------------------------------

_HANKEL = 5.0            # |x| past here: Hankel's form; below it the fits in x^2 on [0, 25]


def _hankel(nu, a):
    """For a >= 5: (P + Q) / sqrt(pi a), (P - Q) / sqrt(pi a), cos a, sin a, with
    J_nu = sqrt(2 / (pi a)) (P cos th - Q sin th), Y_nu = sqrt(2 / (pi a)) (P sin th + Q cos th),
    th = a - (2 nu + 1) pi / 4 (expanded in cos a and sin a: no rounding of th)."""
    t = 2 * (_HANKEL * _HANKEL) / (a * a) - 1
    p = _cheb(FITS[f"P{nu}"], t)
    q = _cheb(FITS[f"Q{nu}"], t) / a
    k = 1 / np.sqrt(_PI * a)
    return k * (p + q), k * (p - q), np.cos(a), np.sin(a)


def _small_t(x):
    return np.minimum(x * x, _HANKEL * _HANKEL) * (2 / (_HANKEL * _HANKEL)) - 1


def j0_array(x):
    with np.errstate(all="ignore"):
        a = np.abs(x)
        small = _cheb(FITS["J0_SMALL"], _small_t(a))
        s, d, c, sn = _hankel(0, np.maximum(a, _HANKEL))
        return np.where(a <= _HANKEL, small, s * c + d * sn)


def j1_array(x):
    """J1: odd (J1(-0) = -0, as PyTorch's)."""
    with np.errstate(all="ignore"):
        a = np.abs(x)
        small = np.clip(x, -_HANKEL, _HANKEL) * _cheb(FITS["J1_SMALL"], _small_t(a))
        s, d, c, sn = _hankel(1, np.maximum(a, _HANKEL))
        big = s * sn - d * c
        return np.where(a <= _HANKEL, small, np.where(x < 0, -big, big))


def _y_array(nu, x):
    """Y_nu(x): -inf at 0, NaN below 0 and at +inf (PyTorch's)."""
    with np.errstate(all="ignore"):
        xs = np.clip(x, 0, _HANKEL)
        t = _small_t(xs)
        log_term = (2 / _PI) * np.log(xs / 2)
        if nu == 0:
            small = _cheb(FITS["Y0_SMALL"], t) + log_term * j0_array(xs)
        else:
            small = -2 / (_PI * xs) + log_term * j1_array(xs) + xs * _cheb(FITS["Y1_SMALL"], t)
        s, d, c, sn = _hankel(nu, np.maximum(x, _HANKEL))
        big = s * sn - d * c if nu == 0 else -(d * sn + s * c)
        r = np.where(x <= _HANKEL, small, big)
        r = np.where(x == 0, -np.inf, r)
        return np.where(x < 0, np.nan, r)


def y0_array(x):
    return _y_array(0, x)


def y1_array(x):
    return _y_array(1, x)


def spherical_j0_array(x):
    """sin(x) / x: 1 at 0, 0 at +-inf (PyTorch's)."""
    with np.errstate(all="ignore"):
        r = np.where(x == 0, 1.0, np.sin(x) / x)
        return np.where(np.isinf(x), 0.0, r)


# ---- Airy Ai ---------------------------------------------------------------------------------------

_AIRY_MID = 4.0
_ZETA_MID = 2 / 3 * _AIRY_MID ** 1.5         # zeta = 2/3 |x|^(3/2) at |x| = 4
_AIRY_ZERO_FROM = 103.892                      # PyTorch's Ai is 0 past here (its underflow guard)


def _zeta(a):
    """zeta = 2/3 a^(3/2) as hi + lo (a >= 0): exp(-zeta) and sin(zeta) amplify zeta's rounding by zeta,
    so it is carried to about twice float64's precision."""
    big = a > 1e200                              # (zeta overflows there anyway; the split would)
    a = np.where(big, 1.0, a)
    s = np.sqrt(a)
    ss, ss_err = _two_product(s, s)
    s_lo = ((a - ss) - ss_err) / (2 * s)         # sqrt(a) = s + s_lo
    p, p_err = _two_product(a, s)
    p_lo = p_err + a * s_lo                      # a^(3/2) = p + p_lo
    q = p / 3
    q3, q3_err = _two_product(q, np.full_like(q, 3.0))
    q_lo = ((p - q3) - q3_err + p_lo) / 3        # a^(3/2) / 3 = q + q_lo
    return 2 * q, 2 * q_lo, big


def airy_ai_array(x, kernel=np.dtype(np.float64)):
    """Ai(x): NaN at +-inf, 0 past 103.892 (PyTorch's); for a float32 `kernel`, NaN also where
    PyTorch's float kernel's 2 |x| sqrt|x| overflows (below about -3e25)."""
    with np.errstate(all="ignore"):
        neg_mid = _cheb(FITS["AIRY_NEGMID"], np.clip(-x, 0, _AIRY_MID) / 2 - 1)
        w = np.sqrt(np.clip(x, 0, _AIRY_MID))
        pos_mid = np.exp(-2 / 3 * w * w * w) * _cheb(FITS["AIRY_POSMID"], w - 1)
        xp = np.clip(x, _AIRY_MID, _AIRY_ZERO_FROM)
        zp, zp_lo, _ = _zeta(xp)
        pos = np.exp(-zp) * (1 - zp_lo) * _cheb(FITS["AIRY_POS"], 2 * _ZETA_MID / zp - 1) / (
            2 * np.sqrt(_PI * np.sqrt(xp)))
        xn = np.maximum(-x, _AIRY_MID)
        zn, zn_lo, huge = _zeta(xn)
        zn = np.where(huge, 2 / 3 * xn * np.sqrt(xn), zn)
        t = 2 * _ZETA_MID / zn - 1
        f, g = _cheb(FITS["AIRY_NEG_F"], t), _cheb(FITS["AIRY_NEG_G"], t) / zn
        sz, cz = np.sin(zn), np.cos(zn)
        sz, cz = sz + np.where(huge, 0.0, zn_lo) * cz, cz - np.where(huge, 0.0, zn_lo) * sz     # (zeta's low part)
        # Ai(-a) = a^(-1/4) / sqrt(pi) (sin(zeta + pi/4) F - cos(zeta + pi/4) G)
        neg = (_SQRT_HALF * _INV_SQRT_PI) * ((sz + cz) * f - (cz - sz) * g) / np.sqrt(np.sqrt(xn))
        r = np.where(x < -_AIRY_MID, neg, np.where(x <= 0, neg_mid, np.where(x <= _AIRY_MID, pos_mid, pos)))
        r = np.where(x > _AIRY_ZERO_FROM, 0.0, r)
        if kernel != np.float64:
            a32 = np.abs(x).astype(np.float32)
            r = np.where((x < 0) & np.isinf(2 * a32 * np.sqrt(a32)), np.nan, r)
        return np.where(np.isinf(x), np.nan, r)


# ---- the ops ---------------------------------------------------------------------------------------

def _eps(dtype):
    return float(np.finfo(dtype if dtype.kind == "f" else np.float32).eps)


def _i0_of(x):
    return I0.apply1(x) if isinstance(x, Tensor) else _in_float64(i0_array, x, kernel=True)


def _i1_of(x):
    return SpecialI1.apply1(x) if isinstance(x, Tensor) else _in_float64(i1_array, x, kernel=True)


def _i0e_of(x):
    return SpecialI0e.apply1(x) if isinstance(x, Tensor) else _in_float64(i0e_array, x)


def _i1e_of(x):
    return SpecialI1e.apply1(x) if isinstance(x, Tensor) else _in_float64(i1e_array, x)


class I0(Op):
    _name, op_name = "I0Backward0", "i0"
    save_inputs = (0,)

    def forward(self, x):
        return _in_float64(i0_array, x, kernel=True)

    def backward(self, g, x):
        return P.mul(g, _i1_of(x))


class SpecialI0e(Op):
    _name, op_name = "SpecialI0EBackward0", "special_i0e"
    save_inputs, save_result = (0,), True

    def forward(self, x):
        return _in_float64(i0e_array, x)

    def backward(self, g, x, y):
        # i0e' = i1e(x) - sgn(x) i0e(x)
        return P.mul(g, P.sub(_i1e_of(x), P.mul(P.sign(x), y)))


def _no_half_backward(op, dtype):
    """PyTorch's i1_backward and i1e_backward have no Half kernel: the same NotImplementedError, at backward."""
    if dtype == np.float16:
        raise NotImplementedError(f'{op.op_name}: "{op.op_name.removeprefix("special_")}_backward" not implemented '
                                  "for 'Half'")


def _tiny_safe(x, eps):
    """PyTorch's guard at |x| <= eps, where the formulas divide by x: (mask of the other lanes, x with eps there)."""
    not_tiny = P.gt(P.abs(x), eps)
    return not_tiny, P.where(not_tiny, x, eps)


class SpecialI1(Op):
    _name, op_name = "SpecialI1Backward0", "special_i1"
    save_inputs, save_result = (0,), True

    def forward(self, x):
        self.eps, self.dtype = _eps(x.dtype), x.dtype
        return _in_float64(i1_array, x, kernel=True)

    def backward(self, g, x, y):
        _no_half_backward(self, self.dtype)
        # i1' = i0(x) - i1(x) / x, and 0.5 at |x| <= eps (PyTorch's i1_backward)
        not_tiny, safe = _tiny_safe(x, self.eps)
        d = P.sub(_i0_of(safe), P.div(y, safe))
        return P.mul(g, P.where(not_tiny, d, 0.5))


class SpecialI1e(Op):
    _name, op_name = "SpecialI1EBackward0", "special_i1e"
    save_inputs, save_result = (0,), True

    def forward(self, x):
        self.eps, self.dtype = _eps(x.dtype), x.dtype
        return _in_float64(i1e_array, x)

    def backward(self, g, x, y):
        _no_half_backward(self, self.dtype)
        # i1e' = i0e(x) - i1e(x) (sgn(x) + 1 / x), and 0.5 at |x| <= eps (PyTorch's i1e_backward)
        not_tiny, safe = _tiny_safe(x, self.eps)
        d = P.sub(_i0e_of(safe), P.mul(y, P.add(P.sign(safe), P.reciprocal(safe))))
        return P.mul(g, P.where(not_tiny, d, 0.5))


def _without_derivative(name, fn, kernel=False):
    """An op whose output never requires grad: PyTorch defines no derivative for it."""
    def forward(self, x):
        return _in_float64(fn, x, kernel=kernel)
    return type(f"Special{name.title().replace('_', '')}", (Op,),
                {"_name": f"special_{name}", "op_name": f"special_{name}", "differentiable": False,
                 "forward": forward})


_NO_DERIVATIVE = {
    "modified_bessel_i0": (i0_array, True), "modified_bessel_i1": (i1_array, True),
    "modified_bessel_k0": (k0_array, False), "modified_bessel_k1": (k1_array, False),
    "scaled_modified_bessel_k0": (k0e_array, False), "scaled_modified_bessel_k1": (k1e_array, False),
    "bessel_j0": (j0_array, False), "bessel_j1": (j1_array, False), "bessel_y0": (y0_array, False),
    "bessel_y1": (y1_array, False), "spherical_bessel_j0": (spherical_j0_array, False),
    "airy_ai": (airy_ai_array, True),
}
_NO_DERIVATIVE_OPS = {name: _without_derivative(name, fn, kernel) for name, (fn, kernel) in _NO_DERIVATIVE.items()}


def _public(op, name, doc):
    """The function `name`(input) applying `op` (PyTorch's TypeError for a non-Tensor input; its
    NotImplementedError for float16 where its CPU kernel has no Half)."""
    def function(input):
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
        if not op.differentiable and input._data.dtype == np.float16:
            raise NotImplementedError(f'{name}: "{name}" not implemented for \'Half\'')
        return op.apply1(input)
    function.__name__, function.__qualname__, function.__doc__ = name.removeprefix("special_"), name, doc
    return function


i0 = _public(I0, "i0", "The modified Bessel function of the first kind of order 0, I0 (derivative: i1).")

_DOCS = {
    "i0e": "e^-|x| I0(x).", "i1": "I1(x), the modified Bessel function of the first kind of order 1.",
    "i1e": "e^-|x| I1(x).", "modified_bessel_i0": "I0(x) (no derivative, as PyTorch's).",
    "modified_bessel_i1": "I1(x) (no derivative).",
    "modified_bessel_k0": "K0(x), the modified Bessel function of the second kind (inf at 0, NaN below; "
                          "no derivative).",
    "modified_bessel_k1": "K1(x) (inf at 0, NaN below; no derivative).",
    "scaled_modified_bessel_k0": "e^x K0(x) (no derivative).",
    "scaled_modified_bessel_k1": "e^x K1(x) (no derivative).",
    "bessel_j0": "J0(x), the Bessel function of the first kind (no derivative).",
    "bessel_j1": "J1(x) (no derivative).",
    "bessel_y0": "Y0(x), the Bessel function of the second kind (-inf at 0, NaN below; no derivative).",
    "bessel_y1": "Y1(x) (-inf at 0, NaN below; no derivative).",
    "spherical_bessel_j0": "sin(x) / x, the spherical Bessel function j0 (no derivative).",
    "airy_ai": "Ai(x), the Airy function of the first kind (no derivative).",
}
_DIFFERENTIABLE = {"i0e": SpecialI0e, "i1": SpecialI1, "i1e": SpecialI1e}

METHODS = {"i0": i0}
FUNCTIONS = {"i0": tensor_function("i0", i0)}
INPLACE = {"i0": _float_result("i0")}

# {torch.special name: function} for ag.special
SPECIAL = {"i0": i0}
SPECIAL.update({name: _public(op, f"special_{name}", _DOCS[name]) for name, op in _DIFFERENTIABLE.items()})
SPECIAL.update({name: _public(op, f"special_{name}", _DOCS[name]) for name, op in _NO_DERIVATIVE_OPS.items()})
