"""Mixed-effects models with crossed random intercepts for participant and photo.

Every participant sees every photo, so participant and stimulus are crossed
random factors; ignoring either inflates the false-positive rate of the side
effect (Judd, Westfall & Kenny 2012; Baayen, Davidson & Bates 2008). statsmodels
has no lme4-style crossed syntax: the documented way is one group spanning the
whole data set with each factor as a variance component (``vc_formula``).

Choices (also in docs/analysis.md):
- RT is modelled on the log scale (correct trials): RTs are right-skewed and
  effects are multiplicative; exp(coef) is the left/right RT ratio.
- Intensity (1–5 ratings, all trials) is treated as continuous, like the paper's t-test.
- Accuracy uses ``BinomialBayesMixedGLM`` fitted by variational Bayes: the only
  statsmodels logistic model with crossed random effects. Its posterior mean/SD
  give an approximate z and p. GEE (participant clusters only) is the fallback
  when the VB fit fails, and the result says which was used.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM
from threadpoolctl import threadpool_limits

RANDOM = {"participant": "0 + C(participant)", "photo": "0 + C(photo_id)"}


def _design(data: pd.DataFrame) -> pd.DataFrame:
    d = data[["participant", "photo_id", "visible_half"]].copy()
    # Coded 1 = left so the coefficient reads "left minus right", the paper's direction.
    d["left"] = (data["visible_half"] == "left").astype(float)
    d["one"] = 1
    return d


def _fit_lmm(d: pd.DataFrame, y: str) -> dict:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = smf.mixedlm(f"{y} ~ left", d, groups="one", re_formula="0", vc_formula=RANDOM)
        # Small dense solves: threaded BLAS only adds contention (2-4x slower on 2 shared cores).
        # Powell first: the gradient optimisers stall on the intensity model; lbfgs is the fallback.
        with threadpool_limits(1):
            res = model.fit(reml=True, method=["powell", "lbfgs"])
    ci = res.conf_int().loc["left"]
    vc = dict(zip(model.exog_vc.names, np.asarray(res.vcomp, dtype=float)))
    return {"coef": float(res.fe_params["left"]), "se": float(res.bse_fe["left"]),
            "z": float(res.tvalues["left"]), "p": float(res.pvalues["left"]),
            "ci_low": float(ci.iloc[0]), "ci_high": float(ci.iloc[1]),
            "intercept": float(res.fe_params["Intercept"]),
            "var_participant": vc.get("participant"), "var_photo": vc.get("photo"),
            "var_residual": float(res.scale), "n_obs": int(res.nobs), "converged": bool(res.converged),
            "warnings": sorted({str(w.message).splitlines()[0] for w in caught})}


def rt_mixed_model(data: pd.DataFrame) -> dict:
    """log(rt) ~ left + (1 | participant) + (1 | photo), correct trials, REML.

    ``ratio`` = exp(coef) is the left/right ratio of (geometric-mean) RTs.
    """
    sub = data[data["correct"] == 1]
    d = _design(sub)
    d["log_rt"] = np.log(sub["rt"].to_numpy(dtype=float))
    out = {"model": "MixedLM (REML)", "formula": "log(rt) ~ left + (1|participant) + (1|photo_id)",
           "subset": "correct trials"}
    out.update(_fit_lmm(d, "log_rt"))
    out.update({"ratio": float(np.exp(out["coef"])), "ratio_ci_low": float(np.exp(out["ci_low"])),
                "ratio_ci_high": float(np.exp(out["ci_high"]))})
    return out


def intensity_mixed_model(data: pd.DataFrame) -> dict:
    """intensity ~ left + (1 | participant) + (1 | photo), all trials, REML; coef in rating points."""
    d = _design(data)
    d["intensity"] = data["intensity"].to_numpy(dtype=float)
    out = {"model": "MixedLM (REML)", "formula": "intensity ~ left + (1|participant) + (1|photo_id)",
           "subset": "all trials"}
    out.update(_fit_lmm(d, "intensity"))
    return out


def accuracy_mixed_model(data: pd.DataFrame) -> dict:
    """logit P(correct) ~ left + (1 | participant) + (1 | photo), all trials.

    Fitted with ``BinomialBayesMixedGLM.fit_vb`` (variational Bayes, statsmodels'
    default priors: fixed effects N(0, 2²), log-SD of variance components N(0, 1)).
    z = posterior mean / posterior SD; p = 2·(1 − Φ(|z|)); odds ratio = exp(coef).
    Falls back to GEE (binomial, exchangeable, participant clusters) if VB fails.
    """
    d = _design(data)
    d["correct"] = data["correct"].to_numpy(dtype=float)
    out = {"formula": "logit(correct) ~ left + (1|participant) + (1|photo_id)", "subset": "all trials",
           "n_obs": int(len(d))}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = BinomialBayesMixedGLM.from_formula("correct ~ left", RANDOM, d)
            with threadpool_limits(1):
                res = model.fit_vb(fit_method="L-BFGS-B")
        i = list(model.exog_names).index("left")
        coef, sd = float(res.fe_mean[i]), float(res.fe_sd[i])
        if not (np.isfinite(coef) and np.isfinite(sd) and sd > 0):
            raise FloatingPointError("non-finite VB posterior")
        z = coef / sd
        out.update({"model": "BinomialBayesMixedGLM (variational Bayes)", "coef": coef, "se": sd, "z": z,
                    "p": float(2 * stats.norm.sf(abs(z))), "ci_low": coef - 1.96 * sd,
                    "ci_high": coef + 1.96 * sd,
                    "sd_participant": float(np.exp(res.vcp_mean[list(model.vcp_names).index("participant")])),
                    "sd_photo": float(np.exp(res.vcp_mean[list(model.vcp_names).index("photo")])),
                    "warnings": sorted({str(w.message).splitlines()[0] for w in caught})})
    except (np.linalg.LinAlgError, FloatingPointError, ValueError) as exc:
        import statsmodels.api as sm
        res = smf.gee("correct ~ left", "participant", d, family=sm.families.Binomial(),
                      cov_struct=sm.cov_struct.Exchangeable()).fit()
        ci = res.conf_int().loc["left"]
        out.update({"model": "GEE (binomial, exchangeable, participant clusters) - VB fit failed",
                    "fallback_reason": str(exc), "coef": float(res.params["left"]),
                    "se": float(res.bse["left"]), "z": float(res.tvalues["left"]),
                    "p": float(res.pvalues["left"]), "ci_low": float(ci.iloc[0]), "ci_high": float(ci.iloc[1]),
                    "warnings": []})
    out.update({"odds_ratio": float(np.exp(out["coef"])), "or_ci_low": float(np.exp(out["ci_low"])),
                "or_ci_high": float(np.exp(out["ci_high"]))})
    return out
