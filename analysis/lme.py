"""Linear and logistic mixed models with crossed random effects, fitted as lme4 fits them.

Why not statsmodels here: its only crossed-effects route (one group spanning the
data, each factor a variance component) took 4-8 s per fit of the maximal side
model on 18 × 140 trials on our 2-core machines, and its L-BFGS path stopped at a
different optimum than Powell on the same data (SE of the side effect 0.0273 vs
0.0243; lme4 0.0243). Its logistic counterpart (``BinomialBayesMixedGLM``, variational
Bayes) rejected a true null in 14-28 % of simulated data sets (docs/analysis.md). The
formulation below is lme4's (Bates, Mächler, Bolker & Walker 2015, J. Stat.
Softw. 67(1)); a test checks its numbers against stored lme4 1.1 output.

Model: y = Xβ + Z Λ(θ) u + ε with u ~ N(0, σ²I) (linear) or
logit P(y = 1) = Xβ + Z Λ(θ) u with u ~ N(0, I) (logistic). Λ(θ) is diagonal:
each random term (a grouping factor times 1 or a covariate) has one scale θ_k,
so terms are uncorrelated (lme4's ``||``).

- Linear, REML (Bates et al. 2015, eq. 41): for fixed θ the penalised least
  squares problem gives β̂(θ), û(θ) and r²(θ) in closed form through the Cholesky
  factor L of Λ'Z'ZΛ + I; the profiled criterion
  d(θ) = log|L|² + log|R_X|² + (n − p)(1 + log(2π r²/(n − p))) is minimised over θ ≥ 0.
  Var(β̂) = σ̂² (R_X'R_X)⁻¹, σ̂² = r²/(n − p). Denominator df by Satterthwaite
  (1946) as in lmerTest (Kuznetsova, Brockhoff & Christensen 2017):
  ν = 2 (c'Vc)² / (g'Ag), g = ∂(c'Vc)/∂(θ, σ), A = 2 H⁻¹ with H the Hessian of the
  REML deviance in (θ, σ).
- Logistic, Laplace approximation (glmer's nAGQ = 1): for fixed (θ, β), penalised
  IRLS finds the conditional mode û; the deviance
  −2 log p(y | û) + ‖û‖² + log|Λ'Z'WZΛ + I| is minimised over (θ ≥ 0, β).
  Var(β̂) is the β block of 2 H⁻¹, H the finite-difference Hessian of that
  deviance in (θ, β) (glmer's default since lme4 1.1); Wald z and p.

A fit is *singular* when some θ_k < 1e-4 (lme4's ``isSingular`` tolerance).

Linear algebra (why the fits scale): Z is sparse (one entry per row and term), and
Λ'Z'WZΛ + I is factored by a block Cholesky that keeps lme4's sparsity
(``_CrossedCholesky``): the columns of the grouping factor with the most columns
(participants in a large study, photos in a small one) come first, level by level,
so their block is block-diagonal (one m × m block per level) and produces no fill;
only the remaining factor's columns form a dense Schur complement. This is the
supernodal Cholesky CHOLMOD finds for two crossed factors (Bates et al. 2015,
§3.4), in numpy: per evaluation O(levels · m³ + levels · m · r² + r³) instead of
O((levels · m + r)³) for the dense factor (r = the other factor's columns). On the
report's side × valence model at 200 participants the dense factor was 900 × 900.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.linalg as sla
import scipy.sparse as sp
from scipy import optimize, stats
from threadpoolctl import threadpool_limits

SINGULAR_TOL = 1e-4
GTOL = 1e-3  # BFGS stops here; _newton polishes to a step of 1e-7
FD_STEP = 1e-3  # relative step of the finite-difference Hessians: balances truncation (h²) and rounding (1/h²)


@dataclass(frozen=True)
class RandomTerm:
    """One variance component: ``group`` levels times 1 (``covariate=None``) or a column."""

    group: str
    covariate: str | None = None

    @property
    def label(self) -> str:
        return f"(1|{self.group})" if self.covariate is None else f"(0 + {self.covariate}|{self.group})"


@dataclass
class MixedFit:
    """A fitted model: ``fixed`` and ``random`` are tidy tables; the rest is diagnostics."""

    family: str                      # "gaussian" or "binomial"
    fixed: pd.DataFrame              # term, coef, se, df, stat, p, ci_low, ci_high
    random: pd.DataFrame             # group, term, variance, sd (+ residual row for gaussian)
    terms: list[RandomTerm]
    theta: np.ndarray
    deviance: float                  # REML criterion (gaussian) or Laplace deviance (binomial)
    converged: bool
    singular: bool
    n_obs: int
    n_levels: dict = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)

    def row(self, term: str) -> dict:
        return self.fixed.set_index("term").loc[term].to_dict()


def _design(data: pd.DataFrame, fixed: list[str], terms: list[RandomTerm]):
    """X, Z (sparse), levels per term, and Z as (column, value) per row and term."""
    n = len(data)
    X = np.column_stack([np.ones(n)] + [data[c].to_numpy(dtype=float) for c in fixed])
    cols, vals, sizes, n_levels, offset = [], [], [], {}, 0
    for t in terms:
        levels, idx = np.unique(data[t.group].astype(str).to_numpy(), return_inverse=True)
        cols.append(offset + idx)
        vals.append(np.ones(n) if t.covariate is None else data[t.covariate].to_numpy(dtype=float))
        sizes.append(len(levels))
        n_levels[t.group] = len(levels)
        offset += len(levels)
    cols = np.column_stack(cols) if terms else np.zeros((n, 0), int)
    vals = np.column_stack(vals) if terms else np.zeros((n, 0))
    Z = sp.csr_matrix((vals.ravel(), (np.repeat(np.arange(n), len(terms)), cols.ravel())), shape=(n, offset))
    return X, Z, np.array(sizes, dtype=int), n_levels, cols, vals


def _check_rank(X: np.ndarray, names: list[str]) -> None:
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ValueError(f"fixed effects {names} are not estimable from these data (a factor has one level, "
                         "or two columns are collinear)")


class _CrossedCholesky:
    """Cholesky factor of H = Λ'Z'WZΛ + I in the order [block-diagonal factor | the rest].

    ``cols``/``vals``: Z as (column, value) per row and term, columns numbered term by term
    (``_design``). The grouping factor with the most columns is ``s`` (n_s levels × m_s
    terms); its columns are renumbered level-major so that its part of Z'WZ is n_s
    blocks of m_s × m_s. H = [[A, B], [B', C]] = L L' with
    L = [[L_A, 0], [W', L_C]], L_A = chol(A) blockwise, W = L_A⁻¹ B, L_C = chol(C − W'W).
    Vectors passed in and out are in the original column order.
    """

    def __init__(self, cols: np.ndarray, vals: np.ndarray, sizes: np.ndarray, terms: list[RandomTerm]):
        offsets = np.r_[0, np.cumsum(sizes)[:-1]]
        by_group: dict[str, list[int]] = {}
        for i, t in enumerate(terms):
            by_group.setdefault(t.group, []).append(i)
        s_terms = max(by_group.values(), key=lambda ts: len(ts) * sizes[ts[0]])
        r_terms = [i for i in range(len(terms)) if i not in s_terms]
        self.n_s, self.m_s = int(sizes[s_terms[0]]), len(s_terms)
        self.q_a = self.n_s * self.m_s
        self.r = int(sum(sizes[i] for i in r_terms))
        self.q = self.q_a + self.r
        # perm[new] = old column
        level = np.arange(self.n_s)
        perm_a = (offsets[s_terms][None, :] + level[:, None]).ravel()
        perm_r = np.concatenate([offsets[i] + np.arange(sizes[i]) for i in r_terms]) if r_terms else np.zeros(0, int)
        self.perm = np.r_[perm_a, perm_r].astype(int)
        n, m_s = len(cols), self.m_s
        lev = cols[:, s_terms[0]] - offsets[s_terms[0]]                 # level of s per row
        rest = np.zeros_like(cols[:, r_terms]) if r_terms else np.zeros((n, 0), int)
        for j, i in enumerate(r_terms):                                   # position among the rest columns
            rest[:, j] = np.searchsorted(perm_r, cols[:, i])
        vs, vr = vals[:, s_terms], vals[:, r_terms]
        # Every entry of Z'WZ that can be non-zero is a weighted sum over rows, Σ_i w_i z_ia z_ib:
        # one sparse matrix P (entries × rows) maps w to all of them in one product. Entries:
        # the upper triangles of the n_s diagonal blocks (A), all of B, the upper triangle of C.
        a, b = np.triu_indices(m_s)
        ai, ci = np.repeat(np.arange(m_s), len(r_terms)), np.tile(np.arange(len(r_terms)), m_s)
        c, d = np.triu_indices(len(r_terms))
        self._sizes = (self.n_s * m_s * m_s, self.q_a * self.r, self.r * self.r)
        slots = [lev[:, None] * m_s * m_s + a * m_s + b,
                 self._sizes[0] + (lev[:, None] * m_s + ai) * self.r + rest[:, ci],
                 self._sizes[0] + self._sizes[1] + rest[:, c] * self.r + rest[:, d]]
        values = [vs[:, a] * vs[:, b], vs[:, ai] * vr[:, ci], vr[:, c] * vr[:, d]]
        rows = [np.broadcast_to(np.arange(n)[:, None], x.shape) for x in slots]
        self._pattern = sp.csr_matrix((np.concatenate([v.ravel() for v in values]),
                                       (np.concatenate([x.ravel() for x in slots]),
                                        np.concatenate([x.ravel() for x in rows]))), shape=(sum(self._sizes), n))

    def cross(self, w: np.ndarray | None = None):
        """Z'WZ (W = diag(w), identity when None) as (A blocks, B, C), unscaled by Λ."""
        flat = self._pattern @ (np.ones(self._pattern.shape[1]) if w is None else w)
        m, r = self.m_s, self.r
        A = flat[:self._sizes[0]].reshape(self.n_s, m, m)
        A = A + np.triu(A, 1).transpose(0, 2, 1)
        B = flat[self._sizes[0]:self._sizes[0] + self._sizes[1]].reshape(self.q_a, r)
        # C from its upper triangle in term order: an off-diagonal pair of two terms can land on either
        # side of the diagonal, so symmetrise the whole sum, then halve the doubled diagonal.
        Cu = flat[self._sizes[0] + self._sizes[1]:].reshape(r, r)
        C = Cu + Cu.T
        C[np.diag_indices(r)] /= 2
        return A, B, C

    def factor(self, lam: np.ndarray, A0, B0, C0) -> "_CrossedCholesky":
        """Factor Λ (A0, B0, C0) Λ + I for ``lam`` (one λ per column, original order); returns self."""
        lp = lam[self.perm]
        la, lr = lp[:self.q_a].reshape(self.n_s, self.m_s), lp[self.q_a:]
        A = la[:, :, None] * A0 * la[:, None, :]
        A[:, np.arange(self.m_s), np.arange(self.m_s)] += 1.0
        self.LAinv = np.linalg.inv(np.linalg.cholesky(A))               # n_s small lower triangles
        B = lp[:self.q_a, None] * B0 * lr[None, :]
        self.W = (self.LAinv @ B.reshape(self.n_s, self.m_s, self.r)).reshape(self.q_a, self.r)
        S = lr[:, None] * C0 * lr[None, :] - self.W.T @ self.W
        S[np.diag_indices(self.r)] += 1.0
        self.LC = np.linalg.cholesky(S)
        self.logdet = 2 * (-np.log(np.diagonal(self.LAinv, axis1=1, axis2=2)).sum() + np.log(np.diag(self.LC)).sum())
        return self

    def forward(self, b: np.ndarray) -> np.ndarray:
        """L⁻¹ b (b: q or q × k, original order); result in the factor's order."""
        bp = b[self.perm]
        shape, k = bp.shape, (1 if b.ndim == 1 else b.shape[1])
        y1 = (self.LAinv @ bp[:self.q_a].reshape(self.n_s, self.m_s, k)).reshape(self.q_a, k)
        y2 = sla.solve_triangular(self.LC, bp[self.q_a:].reshape(self.r, k) - self.W.T @ y1, lower=True)
        return np.vstack([y1, y2]).reshape(shape)

    def solve(self, b: np.ndarray) -> np.ndarray:
        """H⁻¹ b for a vector b in the original order."""
        y = self.forward(b)
        x2 = sla.solve_triangular(self.LC, y[self.q_a:], lower=True, trans="T")
        x1 = np.einsum("lji,lj->li", self.LAinv, (y[:self.q_a] - self.W @ x2).reshape(self.n_s, self.m_s)).ravel()
        out = np.empty(self.q)
        out[self.perm] = np.r_[x1, x2]
        return out


def _zt(cols: np.ndarray, vals: np.ndarray, r: np.ndarray, q: int) -> np.ndarray:
    """Z' r with Z given as (column, value) per row and term."""
    return np.bincount(cols.ravel(), (vals * r[:, None]).ravel(), q)


class _Lmm:
    """Profiled REML for y = Xβ + ZΛu + ε (all cross-products formed once)."""

    def __init__(self, y, X, cols, vals, sizes, terms):
        self.n, self.p = X.shape
        self.sizes = sizes
        self.chol = _CrossedCholesky(cols, vals, sizes, terms)
        self.ZtZ = self.chol.cross()
        q = int(np.sum(sizes))
        self.ZtX = np.column_stack([_zt(cols, vals, X[:, j], q) for j in range(self.p)])
        self.Zty = _zt(cols, vals, y, q)
        self.XtX, self.Xty, self.yty = X.T @ X, X.T @ y, float(y @ y)

    def solve(self, theta):
        lam = np.repeat(theta, self.sizes)
        L = self.chol.factor(lam, *self.ZtZ)
        cu = L.forward(lam * self.Zty)
        RZX = L.forward(lam[:, None] * self.ZtX)
        XtX = self.XtX - RZX.T @ RZX
        RX = np.linalg.cholesky(XtX)
        beta = sla.cho_solve((RX, True), self.Xty - RZX.T @ cu)
        # r² = ‖y − Xβ‖² − ‖cu − R_ZX β‖²  (the penalised residual sum of squares)
        pwrss = self.yty - 2 * beta @ self.Xty + beta @ self.XtX @ beta - np.sum((cu - RZX @ beta) ** 2)
        return beta, max(pwrss, 1e-300), L.logdet, 2 * np.log(np.diag(RX)).sum(), XtX

    def profiled(self, theta):
        _, pwrss, ldL, ldRX, _ = self.solve(np.abs(theta))
        nmp = self.n - self.p
        return ldL + ldRX + nmp * (1 + np.log(2 * np.pi * pwrss / nmp))

    def full(self, par):
        """REML deviance in (θ, σ): for the Hessian used by Satterthwaite's df."""
        theta, sigma = par[:-1], par[-1]
        _, pwrss, ldL, ldRX, _ = self.solve(np.abs(theta))
        return ldL + ldRX + (self.n - self.p) * np.log(2 * np.pi * sigma ** 2) + pwrss / sigma ** 2

    def vcov(self, par):
        theta, sigma = par[:-1], par[-1]
        *_, XtX = self.solve(np.abs(theta))
        return sigma ** 2 * np.linalg.inv(XtX)


def _hessian(f, x, h):
    """Central-difference Hessian (h per coordinate)."""
    k = len(x)
    H = np.zeros((k, k))
    f0 = f(x)
    for i in range(k):
        ei = np.zeros(k)
        ei[i] = h[i]
        H[i, i] = (f(x + ei) - 2 * f0 + f(x - ei)) / h[i] ** 2
        for j in range(i):
            ej = np.zeros(k)
            ej[j] = h[j]
            H[i, j] = H[j, i] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (4 * h[i] * h[j])
    return H


def _gradient(f, x, h):
    out = np.zeros(len(x))
    for i in range(len(x)):
        e = np.zeros(len(x))
        e[i] = h[i]
        out[i] = (f(x + e) - f(x - e)) / (2 * h[i])
    return out


def _newton(fun, x, fx):
    """Newton polish of a smooth minimum from a nearby point, with finite-difference derivatives.

    One Hessian H at the start, then steps −H⁻¹g with central-difference gradients g (a new H
    only when a step fails to decrease ``fun``) until the step is below 1e-7 of the scale
    of x (or the Newton decrement g'H⁻¹g, twice the expected remaining decrease, is at the
    rounding level, 1e-12). Inside the quadratic region (decrement < 1e-8) a step is taken
    without a line search: the change in ``fun`` is then below its rounding noise. Returns
    (x, fun(x), converged).
    """
    step_of = lambda z: FD_STEP * np.maximum(np.abs(z), 1e-1)  # noqa: E731
    L, dec = None, np.inf
    for _ in range(12):
        h = step_of(x)
        if L is None:
            try:
                L = np.linalg.cholesky(_hessian(fun, x, h))
            except np.linalg.LinAlgError:
                return x, fx, False
        g = _gradient(fun, x, h)
        step = -sla.cho_solve((L, True), g)
        dec = -g @ step
        if np.max(np.abs(step) / np.maximum(np.abs(x), 1e-1)) < 1e-7 or dec < 1e-12:
            return x, fx, True
        if dec < 1e-8:
            x = x + step
            fx = fun(x)
            continue
        for t in (1.0, 0.5, 0.25, 0.125):
            f_new = fun(x + t * step)
            if f_new < fx:
                x, fx = x + t * step, f_new
                break
        else:
            L = None  # the Hessian from an earlier point no longer points downhill: recompute it
    return x, fx, bool(dec < 1e-9)


def _minimise(fun, x0, n_theta):
    """Minimise over (θ, β) with θ unconstrained: the deviance depends on θ only through
    θ², so no bound at 0 is needed, and a bounded optimiser would be trapped there (the
    derivative in θ_k vanishes at θ_k = 0). BFGS, whose forward-difference gradients stop
    it short of a tight tolerance on deviances of 10³-10⁴; then a Newton polish from its end
    point (``_newton``); if that fails (Hessian not positive definite, no descent), a
    Nelder-Mead polish (lme4 also ends derivative-free). Returns (x with |θ|, fun,
    converged, message)."""
    best = optimize.minimize(fun, x0, method="BFGS", options={"gtol": GTOL})
    x, fx, converged = _newton(fun, best.x, float(best.fun))
    msg = ""
    if not converged:
        polish = optimize.minimize(fun, x, method="Nelder-Mead",
                                   options={"xatol": 1e-7, "fatol": 1e-9, "maxfev": 400 * (len(x0) + 1)})
        converged = bool(polish.success)
        msg = "" if converged else f"optimiser did not converge ({polish.message})"
        if polish.fun <= fx:
            x, fx = polish.x, float(polish.fun)
    x = x.copy()
    x[:n_theta] = np.abs(x[:n_theta])
    return x, fx, converged, msg


def _random_table(terms, variances, residual=None):
    rows = [{"group": t.group, "term": "intercept" if t.covariate is None else t.covariate,
             "variance": float(v), "sd": float(np.sqrt(v))} for t, v in zip(terms, variances)]
    if residual is not None:
        rows.append({"group": "residual", "term": "", "variance": float(residual), "sd": float(np.sqrt(residual))})
    return pd.DataFrame(rows, columns=["group", "term", "variance", "sd"])


def _fixed_table(names, coef, se, df):
    stat = coef / se
    if df is None:  # Wald z
        p = 2 * stats.norm.sf(np.abs(stat))
        q = stats.norm.ppf(0.975)
        df_col = np.full(len(coef), np.inf)
    else:
        df_col = np.asarray(df, dtype=float)
        p = 2 * stats.t.sf(np.abs(stat), df_col)
        q = stats.t.ppf(0.975, df_col)
    return pd.DataFrame({"term": names, "coef": coef, "se": se, "df": df_col, "stat": stat, "p": p,
                         "ci_low": coef - q * se, "ci_high": coef + q * se})


def fit_lmm(data: pd.DataFrame, dv: str, fixed: list[str], terms: list[RandomTerm]) -> MixedFit:
    """REML linear mixed model ``dv ~ 1 + fixed + random terms``; t tests with Satterthwaite df.

    ``fixed`` are numeric columns (code factors ±0.5 so that the intercept is the grand
    mean and uncorrelated slopes are meaningful). Reference: Bates et al. (2015);
    Kuznetsova et al. (2017) for the df.
    """
    X, Z, sizes, n_levels, cols, vals = _design(data, fixed, terms)
    names = ["Intercept", *fixed]
    _check_rank(X, names)
    y = data[dv].to_numpy(dtype=float)
    n, p = X.shape
    with threadpool_limits(1):
        if not terms:  # ordinary least squares: exact t tests, df = n − p
            beta, *_ = np.linalg.lstsq(X, y, rcond=None)
            s2 = float(np.sum((y - X @ beta) ** 2) / (n - p))
            se = np.sqrt(np.diag(s2 * np.linalg.inv(X.T @ X)))
            return MixedFit("gaussian", _fixed_table(names, beta, se, np.full(p, n - p)),
                            _random_table([], [], s2), [], np.zeros(0), float("nan"), True, False, n, {})
        m = _Lmm(y, X, cols, vals, sizes, terms)
        theta, dev, converged, msg = _minimise(m.profiled, np.ones(len(terms)), len(terms))
        beta, pwrss, *_ = m.solve(theta)
        sigma = np.sqrt(pwrss / (n - p))
        par = np.r_[theta, sigma]
        V = m.vcov(par)
        se = np.sqrt(np.diag(V))
        # Satterthwaite: θ components at the boundary carry no information; fix them.
        free = np.r_[theta > SINGULAR_TOL, True]
        h = FD_STEP * np.maximum(np.abs(par), 1e-2)
        A = 2 * np.linalg.pinv(_hessian(lambda q: m.full(_put(par, free, q)), par[free], h[free]))
        df = []
        for i in range(p):
            g = _gradient(lambda q, i=i: m.vcov(_put(par, free, q))[i, i], par[free], h[free])
            df.append(float(np.clip(2 * V[i, i] ** 2 / max(g @ A @ g, 1e-300), 1.0, n - p)))
    variances = sigma ** 2 * theta ** 2
    return MixedFit("gaussian", _fixed_table(names, beta, se, df), _random_table(terms, variances, sigma ** 2),
                    list(terms), theta, dev, converged, bool(np.any(theta < SINGULAR_TOL)), n, n_levels,
                    [msg] if msg else [])


def _put(par, free, q):
    out = par.copy()
    out[free] = q
    return out


class _Glmm:
    """Laplace deviance of a logistic mixed model; û is warm-started between calls.

    Z has exactly one entry per row and random term, so Z'WZ is accumulated with
    ``bincount`` over precomputed (column, column) pairs of the block structure
    (``_CrossedCholesky.cross``): ~20× faster than a sparse product, and the optimiser
    calls this a few hundred times per fit.
    """

    def __init__(self, y, X, Z, cols, vals, sizes, terms):
        self.y, self.X, self.Z, self.Zt, self.sizes = y, X, Z.tocsr(), Z.T.tocsr(), sizes
        self.chol = _CrossedCholesky(cols, vals, sizes, terms)
        self.u = np.zeros(Z.shape[1])

    def _z(self, b):  # Z @ b
        return self.Z @ b

    def _zt(self, r):  # Z' @ r
        return self.Zt @ r

    def _penalised(self, off, lam, u):
        eta = off + self._z(lam * u)
        return float(np.sum(self.y * eta - np.logaddexp(0, eta)) - 0.5 * u @ u), eta

    def _factor(self, lam, eta):
        mu = 1 / (1 + np.exp(-eta))
        return self.chol.factor(lam, *self.chol.cross(mu * (1 - mu)))

    def deviance(self, par):
        k = len(self.sizes)
        lam, beta = np.repeat(np.abs(par[:k]), self.sizes), par[k:]
        off = self.X @ beta
        u = self.u.copy()
        f, eta = self._penalised(off, lam, u)
        for _ in range(100):  # penalised IRLS (Newton on u) with step halving
            mu = 1 / (1 + np.exp(-eta))
            step = self._factor(lam, eta).solve(lam * self._zt(self.y - mu) - u)
            t = 1.0
            while True:
                f_new, eta_new = self._penalised(off, lam, u + t * step)
                if f_new >= f - 1e-10 or t < 1e-10:
                    break
                t /= 2
            u, gain, f, eta = u + t * step, f_new - f, f_new, eta_new
            if abs(gain) < 1e-12:
                break
        self.u = u
        return -2 * f + self._factor(lam, eta).logdet


def fit_glmer(data: pd.DataFrame, dv: str, fixed: list[str], terms: list[RandomTerm],
              sd_prior_shape: float | None = None) -> MixedFit:
    """Logistic mixed model ``logit P(dv = 1) ~ 1 + fixed + random terms`` by Laplace; Wald z tests.

    Reference: Bates et al. (2015); the same criterion as ``lme4::glmer(..., nAGQ = 1)``.
    ``sd_prior_shape = a`` maximises the likelihood times a gamma(a, rate 0) density on each
    random-effect SD, i.e. minimises deviance − 2(a − 1)·Σ log σ_k (Chung, Rabe-Hesketh,
    Dorie, Gelman & Liu 2013, Psychometrika 78:685; ``blme::bglmer(cov.prior = gamma(a, 0))``).
    With a = 2 the SD estimates stay off 0, where maximum likelihood often puts a slope
    variance and then understates the SE of the fixed effect; SEs come from the Hessian of
    the penalised deviance, as in blme.
    """
    X, Z, sizes, n_levels, cols, vals = _design(data, fixed, terms)
    names = ["Intercept", *fixed]
    _check_rank(X, names)
    y = data[dv].to_numpy(dtype=float)
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError(f"{dv} must be 0/1 for a logistic model")
    k, p = len(terms), X.shape[1]
    with threadpool_limits(1):
        # Start β at the ordinary logistic fit (Newton from 0), θ at 1 (lme4's start).
        beta0 = np.zeros(p)
        for _ in range(25):
            mu = 1 / (1 + np.exp(-(X @ beta0)))
            beta0 = beta0 + np.linalg.solve(X.T @ (X * (mu * (1 - mu))[:, None]) + 1e-9 * np.eye(p), X.T @ (y - mu))
        if not terms:  # ordinary logistic regression: Wald z from the Fisher information
            mu = 1 / (1 + np.exp(-(X @ beta0)))
            se = np.sqrt(np.diag(np.linalg.inv(X.T @ (X * (mu * (1 - mu))[:, None]))))
            dev = float(-2 * np.sum(y * (X @ beta0) - np.logaddexp(0, X @ beta0)))
            return MixedFit("binomial", _fixed_table(names, beta0, se, None), _random_table([], []), [],
                            np.zeros(0), dev, True, False, len(y), {})
        m = _Glmm(y, X, Z, cols, vals, sizes, terms)
        penalty = 0.0 if sd_prior_shape is None else 2 * (sd_prior_shape - 1)
        objective = lambda q: m.deviance(q) - penalty * np.sum(np.log(np.abs(q[:k])))  # noqa: E731
        par, _, converged, msg = _minimise(objective, np.r_[np.ones(k), beta0], k)
        dev = m.deviance(par)
        theta = par[:k]
        free = np.r_[theta > SINGULAR_TOL, np.ones(p, bool)]
        h = FD_STEP * np.maximum(np.abs(par), 1e-1)
        H = _hessian(lambda q: objective(_put(par, free, q)), par[free], h[free])
        m.deviance(par)
        try:
            V = 2 * np.linalg.inv(H)
            if np.any(np.diag(V) <= 0):
                raise np.linalg.LinAlgError("Hessian not positive definite")
            V = V[-p:, -p:]
        except np.linalg.LinAlgError:
            # glmer's fallback: the conditional covariance given θ, from the IRLS weights.
            converged = False
            msg = (msg + "; " if msg else "") + "Hessian not positive definite: SEs conditional on θ"
            V = 2 * np.linalg.inv(_hessian(lambda b: objective(np.r_[theta, b]), par[k:], h[k:]))
    se = np.sqrt(np.diag(V))
    return MixedFit("binomial", _fixed_table(names, par[k:], se, None), _random_table(terms, theta ** 2),
                    list(terms), theta, dev, converged, bool(np.any(theta < SINGULAR_TOL)), len(y), n_levels,
                    [msg] if msg else [])
