"""`python -m analysis.power LOGDIR`: power of the recommended tests for more participants,
simulated from the mixed models fitted to pilot logs (the approach of R's simr;
Green & MacLeod 2016, Methods Ecol. Evol. 7:493).

For each planned number of participants N and each of ``sims`` replications, a
new data set is drawn from the fitted models — N new participants and the same
number of photos (or ``--photos``), both halves of every photo, fresh random
intercepts and side slopes from the fitted variance components, the fitted fixed
effects — and the recommended tests are run on it: the participant-level paired
tests and the mixed models for RT (log, correct trials), intensity and accuracy.
Power = proportion of replications with p < α, with a Clopper-Pearson 95% CI.

Outcomes are drawn independently given the random effects: accuracy from the
logistic model, log RT and intensity from the linear models (intensity is not
rounded to the 1-5 scale, as simr simulates from the fitted model as it is).
Power at the *observed* effect of a small pilot inherits that estimate's error
(Albers & Lakens 2018): prefer ``--effect-*`` with the smallest effect you care about.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from halfface import execution
from halfface.cli import CommandFailed, UserError, output_dir, run_main

from . import mixed_models, participant_level, registry

# Outcome -> (mixed-model function, column the participant-level test averages, subset, unit of b).
OUTCOMES = {
    "rt": (mixed_models.rt_mixed_model, "rt", "correct trials", "log RT"),
    "intensity": (mixed_models.intensity_mixed_model, "intensity", "all trials", "rating points"),
    "accuracy": (mixed_models.accuracy_mixed_model, "correct", "all trials", "log-odds"),
}
LABELS = {"rt": "RT", "intensity": "intensity", "accuracy": "accuracy"}


@dataclass(frozen=True)
class FittedModel:
    """Fixed effects and random-effect SDs of one outcome's side model."""

    intercept: float
    side: float
    sd: dict                # (group, term) -> SD; group "participant" | "photo_id" | "residual"

    @classmethod
    def from_result(cls, res: dict) -> "FittedModel":
        return cls(float(res["intercept"]), float(res["coef"]),
                   {(r["group"], r["term"]): float(r["sd"]) for r in res["random_effects"]})

    def linear_predictor(self, rng, participant: np.ndarray, photo: np.ndarray, side: np.ndarray,
                         n_participants: int, n_photos: int) -> np.ndarray:
        """Xβ + Zb with b drawn afresh: intercepts and side slopes per participant and photo."""
        eta = self.intercept + self.side * side
        for group, index, n in (("participant", participant, n_participants), ("photo_id", photo, n_photos)):
            for term, x in (("intercept", 1.0), ("side", side)):
                b = rng.normal(0.0, self.sd.get((group, term), 0.0), n)
                eta = eta + b[index] * x
        return eta


def fit_pilot(trials: pd.DataFrame) -> dict[str, FittedModel]:
    """The three side models fitted to the pilot trials (RT: those within the RT window, as in the report)."""
    rt_ok = trials[~trials["rt_trimmed"]] if "rt_trimmed" in trials else trials
    return {k: FittedModel.from_result(fn(rt_ok if k == "rt" else trials)) for k, (fn, *_) in OUTCOMES.items()}


def simulate_from_fit(models: dict[str, FittedModel], n_participants: int, n_photos: int,
                      rng: np.random.Generator) -> pd.DataFrame:
    """One synthetic data set (log columns the tests use) from the fitted models."""
    participant = np.repeat(np.arange(n_participants), 2 * n_photos)
    photo = np.tile(np.repeat(np.arange(n_photos), 2), n_participants)
    side = np.tile([0.5, -0.5], n_participants * n_photos)
    args = (participant, photo, side, n_participants, n_photos)
    eta = models["accuracy"].linear_predictor(rng, *args)
    correct = (rng.random(len(side)) < 1 / (1 + np.exp(-eta))).astype(int)
    rt_model, int_model = models["rt"], models["intensity"]
    log_rt = rt_model.linear_predictor(rng, *args) + rng.normal(0, rt_model.sd[("residual", "")], len(side))
    intensity = int_model.linear_predictor(rng, *args) + rng.normal(0, int_model.sd[("residual", "")], len(side))
    return pd.DataFrame({"participant": [f"S{i:03d}" for i in participant],
                         "photo_id": [f"ph{j:03d}" for j in photo],
                         "visible_half": np.where(side > 0, "left", "right"), "emotion": "others",
                         "correct": correct, "rt": np.exp(log_rt), "intensity": intensity})


def recommended_p_values(data: pd.DataFrame) -> dict[str, float]:
    """p of every recommended side test on one data set (keys: '<outcome> <level>').

    The tests' results are stored under their results.json keys and their p values read from their rows of
    the report's tidy table (``analysis.registry.find``): a test that could not be computed (e.g. no
    variance) is NaN and left out of the power, a test whose p value is missing raises.
    """
    results = {"participant_level": {}, "mixed_models": {}}
    # no glmer sensitivity refit of the accuracy model: no recommended test reads it (a third of a data set's time)
    with mixed_models.glmer_sensitivity(False):
        for key, (fn, column, subset, _) in OUTCOMES.items():
            sub = data[data["correct"] == 1] if subset == "correct trials" else data
            results["participant_level"][key] = participant_level.paired_side_test(sub, column)
            results["mixed_models"][key] = fn(data)
    return {f"{key} {level}": registry.find(results, f"{entry}.{key}.p")["p"]
            for key in OUTCOMES for level, entry in ((registry.PARTICIPANT, "participant_level"),
                                                     (registry.MIXED, "mixed_models"))}


def _one_replication(key, seed: int, models: dict[str, FittedModel], n_photos: int) -> dict:
    """One task of ``halfface.execution``: key (N, replication number) -> p of every test."""
    n_participants, _ = key
    data = simulate_from_fit(models, n_participants, n_photos, np.random.default_rng(seed))
    return {"n_participants": n_participants, **recommended_p_values(data)}


def power_table(p_values: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Power per test and N: proportion p < α with a Clopper-Pearson 95% CI (tidy)."""
    long = p_values.melt(id_vars="n_participants", var_name="test", value_name="p").dropna()
    rows = []
    for (test, n), grp in long.groupby(["test", "n_participants"], sort=True):
        k, m = int((grp["p"] < alpha).sum()), len(grp)
        lo, hi = proportion_confint(k, m, alpha=0.05, method="beta")
        outcome, level = test.split(" ", 1)
        rows.append({"outcome": outcome, "test": level, "n_participants": int(n), "n_sims": m,
                     "rejections": k, "power": k / m, "ci_low": float(lo), "ci_high": float(hi)})
    return pd.DataFrame(rows)


def required_participants(table: pd.DataFrame, target: float = 0.8) -> pd.DataFrame:
    """Smallest simulated N whose power reaches ``target``, per outcome and test (NaN if none)."""
    rows = []
    for (outcome, test), grp in table.groupby(["outcome", "test"], sort=False):
        ok = grp[grp["power"] >= target]
        rows.append({"outcome": outcome, "test": test,
                     "n_required": int(ok["n_participants"].min()) if len(ok) else np.nan,
                     "max_simulated": int(grp["n_participants"].max()),
                     "power_at_max": float(grp.loc[grp["n_participants"].idxmax(), "power"])})
    return pd.DataFrame(rows)


def sentences(required: pd.DataFrame, models: dict[str, FittedModel], target: float = 0.8) -> list[str]:
    """One plain sentence per recommended test."""
    out = []
    for r in required.itertuples():
        b, unit = models[r.outcome].side, OUTCOMES[r.outcome][3]
        what = (f"the observed left - right difference in {LABELS[r.outcome]} (b = {b:+.3f} {unit}) "
                f"with {target:.0%} power")
        if np.isnan(r.n_required):
            out.append(f"To detect {what} by the {r.test} test you need more than {r.max_simulated} participants "
                       f"(power at {r.max_simulated}: {r.power_at_max:.0%}).")
        else:
            out.append(f"To detect {what} by the {r.test} test you need {int(r.n_required)} participants "
                       "(the smallest simulated size that reached it).")
    return out


def power_figure(table: pd.DataFrame, target: float = 0.8):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(OUTCOMES), figsize=(4 * len(OUTCOMES), 3.4), sharey=True)
    for ax, outcome in zip(np.atleast_1d(axes), OUTCOMES):
        sub = table[table["outcome"] == outcome]
        # Dodge the two tests a little so that their intervals do not hide each other.
        step = 0.012 * (sub["n_participants"].max() - sub["n_participants"].min() or 10)
        for i, (test, grp) in enumerate(sub.groupby("test")):
            ax.errorbar(grp["n_participants"] + (i - 0.5) * step, grp["power"],
                        yerr=[grp["power"] - grp["ci_low"], grp["ci_high"] - grp["power"]],
                        marker="o", capsize=3, label=test)
        ax.axhline(target, color="grey", linestyle="--", linewidth=1)
        ax.set_title(f"{LABELS[outcome]}: left vs right")
        ax.set_xlabel("participants")
        ax.set_ylim(0, 1.02)
    np.atleast_1d(axes)[0].set_ylabel("power (95% CI)")
    np.atleast_1d(axes)[0].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def run_power(models: dict[str, FittedModel], participants: list[int], n_photos: int, sims: int,
              seed: int = 0, jobs: int = 1, progress: bool = True, backend=None, store_path=None) -> pd.DataFrame:
    """p values of every test for ``sims`` replications per N (one row per replication, N then number).

    Replication i of size N is the task (N, i) of ``halfface.execution``: its seed comes from ``seed`` and
    (N, i) alone, so the p values do not depend on ``jobs``, on the cluster or on the other sizes asked
    for. ``store_path``: a JSON-lines file of finished replications that a rerun continues.
    """
    outcome = power_tasks(models, participants, n_photos, sims, seed,
                          backend or execution.Backend(jobs=jobs, progress=progress), store_path)
    return p_value_frame(outcome)


def power_tasks(models, participants, n_photos, sims, seed, backend, store_path=None) -> "execution.Outcome":
    keys = [(int(n), i) for n in participants for i in range(sims)]
    store = execution.TaskStore(store_path, store_settings(models, n_photos, seed)) if store_path else None
    return execution.run_tasks(_one_replication, keys, base_seed=seed, args=(models, n_photos), store=store,
                               backend=backend, desc="simulating")


def store_settings(models: dict[str, FittedModel], n_photos: int, seed: int) -> dict:
    """What a replication's p values depend on besides its key: a rerun into the same --out must match."""
    return {"task": "analysis.power replication", "seed": seed, "n_photos": n_photos,
            "models": {k: {"intercept": m.intercept, "side": m.side,
                           "sd": sorted([g, t, v] for (g, t), v in m.sd.items())} for k, m in models.items()}}


def p_value_frame(outcome) -> pd.DataFrame:
    return pd.DataFrame(list(outcome.results.values()))


def _int_list(text: str) -> list[int]:
    try:
        values = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give whole numbers separated by commas, e.g. 12,18,24")
    if not values or values[0] < 3:
        raise argparse.ArgumentTypeError(f"{text!r}: every size must be >= 3 participants")
    return values


@run_main(interrupted="interrupted; the finished data sets are kept in OUT/power_tasks.jsonl: rerun the same "
                      "command to compute only the rest")
def main(argv=None) -> int:
    from .load import load_logs

    parser = argparse.ArgumentParser(
        prog="python -m analysis.power",
        description="Power of the recommended left/right tests for more participants, simulated from the "
                    "mixed models fitted to pilot logs (like R's simr). Writes power.csv, power_pvalues.csv "
                    "and power.png, and prints how many participants reach the target power.",
        epilog="example: python -m analysis.power logs/ --participants 12,18,24,36 --sims 200 --jobs 2\n"
               "on a Dask cluster: ... --sims 1000 --scheduler tcp://HOST:8786 (docs/cluster.md). Every finished "
               "data set is kept in OUT/power_tasks.jsonl: rerunning with the same --out computes only the missing ones.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("logdir", help="folder with the pilot session logs")
    parser.add_argument("--participants", type=_int_list, default=[12, 18, 24, 36],
                        help="participant numbers to simulate, comma-separated (default 12,18,24,36)")
    parser.add_argument("--photos", type=int, default=None,
                        help="photos per simulated session, each shown as both halves (default: as in the pilot)")
    parser.add_argument("--sims", type=int, default=200, help="replications per size (default 200)")
    parser.add_argument("--alpha", type=float, default=0.05, help="significance level (default .05)")
    parser.add_argument("--target", type=float, default=0.8, help="target power for the sentence (default .8)")
    for key, unit in (("rt", "log RT"), ("intensity", "rating points"), ("accuracy", "log-odds")):
        parser.add_argument(f"--effect-{key}", type=float, default=None,
                            help=f"side effect (left - right) in {unit} to simulate instead of the observed one")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", default=None, help="output folder (default LOGDIR/power)")
    parser.add_argument("--include-simulated", action="store_true",
                        help="also use sessions whose sidecar says simulated: true (e.g. the demo's)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    execution.add_arguments(parser, jobs_default=1, what="simulated data sets")
    args = parser.parse_args(argv)
    if args.sims < 1 or args.seed < 0 or not 0 < args.alpha < 1 or not 0 < args.target < 1 or \
            (args.photos is not None and args.photos < 2):
        raise UserError("need --sims >= 1, --seed >= 0, 0 < --alpha, --target < 1 and --photos >= 2")
    backend = execution.backend_from_args(args, progress=not args.no_progress)  # ExecutionError: a UserError
    trials = load_logs(args.logdir, include_simulated=args.include_simulated).trials  # LogError: a UserError
    if trials["participant"].nunique() < 3:
        raise UserError(f"{args.logdir}: the pilot has {trials['participant'].nunique()} participant(s); fitting "
                        "the variance components needs at least 3")
    out = output_dir(args.out if args.out else Path(args.logdir) / "power")
    models = fit_pilot(trials)
    for key in OUTCOMES:
        effect = getattr(args, f"effect_{key}")
        if effect is not None:
            m = models[key]
            models[key] = FittedModel(m.intercept, effect, m.sd)
    n_photos = args.photos or int(trials["photo_id"].nunique())
    outcome = power_tasks(models, args.participants, n_photos, args.sims, args.seed, backend,
                          out / "power_tasks.jsonl")
    print(outcome.summary(), file=sys.stderr)
    if not outcome.results:
        raise CommandFailed(f"every simulated data set failed; the reasons are in {out / 'power_tasks.jsonl'}")
    p_values = p_value_frame(outcome)
    table = power_table(p_values, args.alpha)
    required = required_participants(table, args.target)
    p_values.to_csv(out / "power_pvalues.csv", index=False)
    table.to_csv(out / "power.csv", index=False)
    fig = power_figure(table, args.target)
    fig.savefig(out / "power.png", dpi=100)
    lines = sentences(required, models, args.target)
    (out / "power.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"pilot: {trials['participant'].nunique()} participants, {len(trials)} trials; simulated "
          f"{args.sims} data sets per size with {n_photos} photos x 2 halves")
    for line in lines:
        print(line)
    if outcome.failures:
        print(f"{len(outcome.failures)} simulated data set(s) failed after {backend.retries} retries and are left "
              f"out of the power (n_sims in power.csv); reasons in {out / 'power_tasks.jsonl'}; a rerun with the "
              "same --out tries them again")
    print(f"power curves: {(out / 'power.png').resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
