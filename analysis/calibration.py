"""Type-I error and power of every test in the report, on simulated studies.

    python -m analysis.calibration --datasets 500 --power-datasets 200 --jobs 2
    python -m analysis.calibration --datasets 40 --power-datasets 0        # a quick look

(``benchmarks/calibration.py`` runs the same.)

Each simulated study is the paper's design (18 participants × 70 photos × both
halves, ``analysis.simulate``) with random intercepts *and* by-participant and
by-photo side slopes. It is written as session logs, read back with
``analysis.load`` and analysed by ``analysis.report.compute_results``, the same
code path as ``python -m analysis.report``, and the p value of every test is kept.

- Null studies: no left/right effect on any outcome, no RT difference between
  positive and negative emotions, no side × valence interaction. The rejection
  rate at α = .05 is each test's type-I error, with a Clopper-Pearson 95% CI.
- Power studies: effects of the size the paper's statistics imply (``paper_targets``,
  ``PAPER_EFFECTS``).

Every study is one task of ``halfface.execution`` (key: kind and the study's seed), so
``--jobs N`` local processes, ``--scheduler tcp://HOST:PORT`` (a Dask cluster) or
``--cluster slurm`` give the same p values (docs/cluster.md). Every finished study is
appended to ``OUT/tasks_null.jsonl`` (``..._power.jsonl``) at once, so a killed run
continues where it stopped when started again with the same ``--out``; at the end all
studies are written to ``OUT/pvalues_null.csv`` (``..._power.csv``). The table printed
at the end is what benchmarks/RESULTS.md holds.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from halfface import execution
from halfface.cli import output_dir, run_main

from . import mixed_models, registry
from .load import load_logs
from .paper import PAPER
from .report import compute_results
from .simulate import simulate_trials, write_logs

ALPHA = 0.05
GOAL = (0.03, 0.07)
NULL = {"accuracy": 0.0, "rt": 0.0, "intensity": 0.0, "rt_valence": 0.0, "accuracy_side_by_valence": 0.0}


def calibrated_tests() -> list[tuple[str, str, str]]:
    """(path of the p value in results.json, level, label) of every calibrated test: analysis.registry's
    list, read when a run starts, so a test added there is calibrated too."""
    return [(t.id, t.level, t.test) for t in registry.TESTS if t.calibrated]


def recommended_tests() -> set[str]:
    """The calibrated tests the report tells readers to trust (registry: ``recommended=True``)."""
    return {t.id for t in registry.TESTS if t.calibrated and t.recommended}


def paper_targets() -> dict:
    """The marginal differences the paper's §3.1.4 statistics imply (left − right unless noted).

    - accuracy, all trials: Pearson χ² = 10.552 on 2520 trials → φ = √(χ²/N); with equal
      rows, p_left − p_right = 2φ√(p̄(1 − p̄)) = 6.3 points at p̄ = .62;
    - accuracy, happiness: χ² = 13.425 on 360 trials at p ≈ .9 → 11.6 points;
    - accuracy, negative: χ² = 3.318 on 1440 trials at p ≈ .53 → 4.8 points;
    - intensity: Welch t = 6.773 → t·s·√(2/1260) with s ≈ 1.05 → 0.28 rating points;
    - log RT: t = −0.619 on ≈ 904 correct trials → d = t·√(4/904), × log-RT SD 0.4 → −0.016;
    - log RT positive − negative: t = −11.686, df 521; the most balanced split of 523 trials
      (the smallest |d| the df allows) → d = t·√(4/523) → × 0.4 → −0.41.
    """
    def diff(chi2, n, p):
        return 2 * math.sqrt(chi2 / n) * math.sqrt(p * (1 - p))
    return {"accuracy_all": diff(PAPER["accuracy_left_vs_right"]["chi2"], 2520, 0.62),
            "accuracy_positive": diff(PAPER["accuracy_positive_left_vs_right"]["chi2"], 360, 0.9),
            "accuracy_negative": diff(PAPER["accuracy_negative_left_vs_right"]["chi2"], 1440, 0.53),
            "intensity": PAPER["intensity_left_vs_right"]["t"] * 1.05 * math.sqrt(2 / 1260),
            "log_rt": PAPER["rt_left_vs_right"]["t"] * math.sqrt(4 / 904) * 0.4,
            "log_rt_valence": PAPER["rt_positive_vs_negative"]["t"] * math.sqrt(4 / 523) * 0.4}


# Simulator effects (analysis.simulate units) for the power studies: the accuracy side effect (at
# valence 0) and the side × valence interaction that reproduce the paper's all-trials and happiness
# differences, and the latent intensity effect that survives rounding to 1-5 as 0.28 points, found
# by averaging 16 simulated studies of 100 participants (one Newton step from a first guess; they
# gave 6.7 and 11.4 accuracy points and 0.27-0.30 rating points). One side effect and one
# interaction cannot also give the negative-trial difference: it comes out near 2-3 points, not 4.8
# (the paper's numbers are not all consistent with each other; docs/analysis.md).
PAPER_EFFECTS = {"accuracy": 0.70, "accuracy_side_by_valence": 1.22, "intensity": 0.30, "rt": -0.016,
                 "rt_valence": -0.41}


def one_study(job: tuple, glmer_sensitivity: bool = True) -> dict:
    """Simulate, write, read back and analyse one study; p of every test in ``calibrated_tests()``.

    ``glmer_sensitivity=False`` skips the glmer sensitivity refits of the logistic models (their p
    values are NaN): the recommended tests come out the same, at about 40 % of the time (the tests use it).
    """
    kind, seed, effects = job
    trials = simulate_trials(18, photos_per_emotion=10, effect=0.0, seed=seed, effects=effects)
    with mixed_models.glmer_sensitivity(glmer_sensitivity), tempfile.TemporaryDirectory() as tmp:
        write_logs(trials, tmp)
        results, _ = compute_results(load_logs(tmp, include_simulated=True))
    row = {"kind": kind, "seed": seed}
    # Columns of the tidy table, by id: a registered test missing from the results raises
    # (registry.MissingTestError) instead of becoming a NaN that would pass for "not significant".
    p = registry.table(results).set_index("id")["p"]
    row.update({path: float(p[path]) for path, *_ in calibrated_tests()})
    row.update({f"{k}.converged": bool(v.get("converged", False)) for k, v in results["mixed_models"].items()})
    row.update({f"{k}.simplified": len(v.get("simplifications", [])) for k, v in results["mixed_models"].items()})
    return row


def _study_task(key, _seed: int, effects: dict, glmer_sensitivity: bool = True) -> dict:
    """One task of ``halfface.execution``: the study's own seed is its key's second part."""
    kind, seed = key
    return one_study((kind, seed, effects), glmer_sensitivity)


def run(kind: str, n: int, effects: dict, out: Path | None, jobs: int = 1, first_seed: int = 0,
        backend: execution.Backend | None = None, glmer_sensitivity: bool = True) -> pd.DataFrame:
    """``n`` studies of ``kind`` ('null' or 'power') with seeds ``first_seed``, ``first_seed + 1``, ...

    With ``out``, continues ``out/tasks_<kind>.jsonl`` (studies found there are not computed again) and
    writes every study's p values to ``out/pvalues_<kind>.csv``, in seed order. ``glmer_sensitivity=False``:
    see ``one_study`` (not offered on the command line, which calibrates every test).
    """
    backend = backend or execution.Backend(jobs=jobs, progress=False)
    store = None
    if out:
        settings = {"task": "analysis.calibration study", "kind": kind, "effects": effects,
                    "design": "18 participants x 10 photos per emotion (analysis.simulate)"}
        if not glmer_sensitivity:  # only then: the task files of a default run stay readable
            settings["glmer_sensitivity"] = False
        store = execution.TaskStore(out / f"tasks_{kind}.jsonl", settings)
    keys = [(kind, s) for s in range(first_seed, first_seed + n)]
    outcome = execution.run_tasks(_study_task, keys, args=(effects, glmer_sensitivity), store=store,
                                  backend=backend, desc=f"{kind} studies")
    print(f"  {kind}: {outcome.summary()}", file=sys.stderr)
    frame = pd.DataFrame(list(outcome.results.values()))
    if out:
        frame.to_csv(out / f"pvalues_{kind}.csv", index=False)
    return frame


def rejection_table(pvalues: pd.DataFrame, alpha: float = ALPHA) -> pd.DataFrame:
    """Rejection rate at ``alpha`` with a Clopper-Pearson 95% CI, one row per test."""
    rows, recommended = [], recommended_tests()
    for path, level, label in calibrated_tests():
        p = pvalues[path].dropna() if path in pvalues else pd.Series(dtype=float)
        k, m = int((p < alpha).sum()), int(len(p))
        lo, hi = proportion_confint(k, m, alpha=0.05, method="beta") if m else (np.nan, np.nan)
        rows.append({"test": label, "level": level, "path": path, "recommended": path in recommended,
                     "n": m, "rate": k / m if m else np.nan, "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows)


def markdown(null: pd.DataFrame, power: pd.DataFrame | None) -> str:
    lines = ["| level | test | recommended | type-I error (95% CI) | " +
             ("power at the paper's effects (95% CI) |" if power is not None else ""),
             "|---|---|---|---|" + ("---|" if power is not None else "")]
    for i, r in null.iterrows():
        cell = f"{r.rate:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}] (n = {r.n})"
        flag = "yes" if r.recommended else ""
        row = f"| {r.level} | {r.test} | {flag} | {cell} |"
        if power is not None:
            q = power.iloc[i]
            row += f" {q.rate:.3f} [{q.ci_low:.3f}, {q.ci_high:.3f}] (n = {q.n}) |"
        lines.append(row)
    return "\n".join(lines)


@run_main(interrupted="interrupted; the finished studies are kept in OUT/tasks_*.jsonl: rerun the same "
                      "command to compute only the rest")
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.calibration", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", type=int, default=500, help="null studies (default 500)")
    parser.add_argument("--power-datasets", type=int, default=200, help="studies at the paper's effects (default 200)")
    parser.add_argument("--seed", type=int, default=100_000, help="first seed (default 100000)")
    parser.add_argument("--out", default="out/calibration", help="folder for the p values (default out/calibration)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    execution.add_arguments(parser, jobs_default=None, what="simulated studies")  # --jobs default: all cores
    args = parser.parse_args(argv)
    backend = execution.backend_from_args(args, progress=not args.no_progress)  # ExecutionError: a UserError
    out = output_dir(args.out)
    started = time.time()
    null_p = run("null", args.datasets, NULL, out, first_seed=args.seed, backend=backend)
    power_p = None
    if args.power_datasets:
        print(f"effects at the paper's size: {PAPER_EFFECTS}", file=sys.stderr)
        power_p = run("power", args.power_datasets, PAPER_EFFECTS, out, first_seed=args.seed + 10**6,
                      backend=backend)
    null = rejection_table(null_p)
    power = rejection_table(power_p) if power_p is not None else None
    null.to_csv(out / "type1_error.csv", index=False)
    if power is not None:
        power.to_csv(out / "power.csv", index=False)
    print(markdown(null, power))
    rec = null[null["recommended"]]
    bad = rec[(rec["rate"] < GOAL[0]) | (rec["rate"] > GOAL[1])]
    print(f"\n{len(rec) - len(bad)}/{len(rec)} recommended tests within [{GOAL[0]}, {GOAL[1]}]; "
          f"wall time {time.time() - started:.0f} s on {backend.describe()}")
    for r in bad.itertuples():
        print(f"outside the goal: {r.test}: {r.rate:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
