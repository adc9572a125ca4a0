"""``python -m experiment audit``: the balance of the counterbalancing, as a methods section reports it.

For the first N participant numbers (1..N) the orders are re-created with
``design.trial_order`` (no window, no files read but the manifest) and
tabulated (tidy tables, one row per count):

- ``block_versions``: per participant, pass and block, how often each version
  is shown (bound: the versions differ by at most 1, step 3 of the scheme);
- ``runs``: per participant, the longest run of one version, of one
  ``visible_half`` and of one ``visible_image_side`` (bound: ``MAX_RUN`` for
  the columns the order bounds, step 5);
- ``first_trials``: each participant's first trial and its Latin-square group
  (participants 1..L, L+1..2L, ... that together complete the block square;
  bound: the first versions of a complete group differ by at most 1);
- ``photo_first``: how often each photo shows each version first (bound:
  differ by at most 1 over consecutive participants);
- ``serial_positions``: mean trial number of each photo and of each version;
- ``carryover``: how often emotion B follows emotion A (summed over participants).

Exit 0 when every guaranteed bound holds, 1 when one is broken (a bug to
report, with the CSVs), 2 for a user mistake. Pure tabulation lives in
:func:`audit`; the CLI only loads, calls, prints and writes.
"""

import sys
from collections import Counter
from pathlib import Path

import pandas as pd

from experiment import design
from halfface.cli import CommandFailed

EXIT_BOUND_BROKEN = 1
TABLES = ("block_versions", "runs", "first_trials", "photo_first", "serial_positions", "carryover")


def version_label(trial, design_name) -> str:
    """``left``/``right`` (paper: the version is the half); ``left/right`` = half/image side (crossed)."""
    if design_name == "crossed":
        return f"{trial['visible_half']}/{trial['visible_image_side']}"
    return str(trial["visible_half"])


def _spread(counts: Counter, labels) -> int:
    values = [counts.get(v, 0) for v in labels]
    return max(values) - min(values) if values else 0


def audit(rows, n_participants: int, design_name: str = design.DEFAULT_DESIGN, n_blocks: int = design.DEFAULT_BLOCKS,
          session: int = 1) -> tuple[dict, dict]:
    """Orders of participant numbers 1..N tabulated; returns ``(tables, checks)``.

    ``tables`` maps each name of ``TABLES`` to a DataFrame; ``checks`` maps a
    bound's name to ``{"worst": value, "bound": value, "ok": bool, "what": text}``.
    """
    if n_participants < 1:
        raise ValueError(f"--participants must be >= 1, got {n_participants}")
    orders = {p: design.trial_order(rows, p, session, n_blocks, design_name) for p in range(1, n_participants + 1)}
    info = orders[1][1]
    labels = sorted({version_label(t, design_name) for t in orders[1][0]})
    square_rows = info["latin_square_rows"]

    block_rows, run_rows, first_rows, pos_rows, carry = [], [], [], [], Counter()
    photo_first = Counter()
    for p, (trials, p_info) in orders.items():
        cells = Counter((t["presentation"], t["block"], version_label(t, design_name)) for t in trials)
        for presentation in sorted({t["presentation"] for t in trials}):
            for block in sorted({t["block"] for t in trials}):
                for label in labels:
                    block_rows.append({"participant_number": p, "presentation": presentation, "block": block,
                                       "version": label, "n": cells.get((presentation, block, label), 0)})
        run_rows.append({"participant_number": p,
                         "version": design.longest_run(version_label(t, design_name) for t in trials),
                         "visible_half": design.longest_run(t["visible_half"] for t in trials),
                         "visible_image_side": design.longest_run(t["visible_image_side"] for t in trials),
                         "bounded_columns": " ".join(p_info["run_bounded_columns"])})
        first_rows.append({"participant_number": p, "latin_square_group": (p - 1) // square_rows + 1,
                           "latin_square_row": p_info["latin_square_row"], "photo_id": trials[0]["photo_id"],
                           "emotion": trials[0]["emotion"], "version": version_label(trials[0], design_name)})
        seen = set()
        for t in trials:
            if t["photo_id"] not in seen:
                seen.add(t["photo_id"])
                photo_first[(t["photo_id"], version_label(t, design_name))] += 1
            pos_rows.append({"participant_number": p, "photo_id": t["photo_id"], "emotion": t["emotion"],
                             "version": version_label(t, design_name), "trial": t["trial"]})
        carry.update((a["emotion"], b["emotion"]) for a, b in zip(trials, trials[1:]))

    photos = sorted({t["photo_id"] for t in orders[1][0]})
    tables = {
        "block_versions": pd.DataFrame(block_rows),
        "runs": pd.DataFrame(run_rows),
        "first_trials": pd.DataFrame(first_rows),
        "photo_first": pd.DataFrame([{"photo_id": ph, "version": label, "n_first": photo_first.get((ph, label), 0)}
                                     for ph in photos for label in labels]),
        "serial_positions": _serial_positions(pd.DataFrame(pos_rows)),
        "carryover": pd.DataFrame([{"from_emotion": a, "to_emotion": b, "n": n}
                                   for (a, b), n in sorted(carry.items())]),
    }
    smallest_block = min(len(members) for members in info["blocks"].values())
    return tables, _checks(tables, labels, square_rows, n_participants,
                           first_guaranteed=smallest_block >= info["versions_per_photo"])


def _serial_positions(positions: pd.DataFrame) -> pd.DataFrame:
    by_photo = (positions.groupby("photo_id")["trial"].mean().rename("mean_trial").reset_index()
                .assign(unit="photo").rename(columns={"photo_id": "name"}))
    by_version = (positions.groupby("version")["trial"].mean().rename("mean_trial").reset_index()
                  .assign(unit="version").rename(columns={"version": "name"}))
    return pd.concat([by_version, by_photo], ignore_index=True)[["unit", "name", "mean_trial"]]


def _checks(tables, labels, square_rows, n_participants, first_guaranteed=True) -> dict:
    cells = tables["block_versions"]
    per_cell = cells.groupby(["participant_number", "presentation", "block"])["n"].agg(lambda n: n.max() - n.min())
    per_pass = (cells.groupby(["participant_number", "presentation", "version"])["n"].sum()
                .groupby(["participant_number", "presentation"]).agg(lambda n: n.max() - n.min()))
    runs = tables["runs"]
    side_bounded = [r["visible_image_side"] for _, r in runs.iterrows()
                    if "visible_image_side" in r["bounded_columns"].split()]
    firsts = tables["first_trials"]
    complete = firsts[firsts["latin_square_group"] <= n_participants // square_rows]
    group_spread = max((_spread(Counter(g["version"]), labels) for _, g in complete.groupby("latin_square_group")),
                       default=0)
    photo_spread = tables["photo_first"].groupby("photo_id")["n_first"].agg(lambda n: n.max() - n.min()).max()
    checks = {
        "block_versions": {"worst": int(per_cell.max()), "bound": 1,
                           "what": "versions within each block and pass differ by at most"},
        "pass_versions": {"worst": int(per_pass.max()), "bound": 1,
                          "what": "versions within each pass differ by at most"},
        "version_run": {"worst": int(runs["version"].max()), "bound": design.MAX_RUN,
                        "what": "longest run of one version"},
        "half_run": {"worst": int(runs["visible_half"].max()), "bound": design.MAX_RUN,
                     "what": "longest run of one visible_half"},
        "first_trial": {"worst": int(group_spread), "bound": 1,
                        "what": f"first-trial versions in each complete Latin-square group ({square_rows} "
                                "participants) differ by at most"},
        "photo_first": {"worst": int(photo_spread), "bound": 1,
                        "what": "a photo's version-first counts differ by at most"},
    }
    if side_bounded:  # the crossed design; the paper design's image side follows each photo's mirroring
        checks["side_run"] = {"worst": int(max(side_bounded)), "bound": design.MAX_RUN,
                              "what": "longest run of one visible_image_side"}
    for check in checks.values():
        check["ok"] = check["worst"] <= check["bound"]
    if not first_guaranteed:  # a block of fewer than k photos may lack the version due first (design step 5)
        checks["first_trial"]["ok"] = None
        checks["first_trial"]["note"] = " (not guaranteed: a block has fewer photos than versions)"
    return checks


def summary(tables, checks, *, conditions, design_name, n_participants, info) -> str:
    """The one-screen text: what was audited, each bound with its worst case, then descriptive balance."""
    first = Counter(tables["first_trials"]["version"])
    positions = tables["serial_positions"]
    per_version = positions[positions["unit"] == "version"]
    per_photo = positions[positions["unit"] == "photo"]["mean_trial"]
    carry = tables["carryover"]
    same = carry.loc[carry["from_emotion"] == carry["to_emotion"], "n"].sum()
    lines = [
        f"counterbalancing audit: {conditions}, design {design_name}, {info['n_blocks']} blocks, participant numbers "
        f"1-{n_participants}, session {info['session']}",
        f"{info['n_trials']} trials per participant; {info['versions_per_photo']} versions per photo; block Latin "
        f"square of {info['latin_square_rows']} rows; scheme {info['scheme']}",
        "",
        "guaranteed bounds (worst case over all participants):",
    ]
    for check in checks.values():
        verdict = {True: "ok    ", False: "BROKEN", None: "n/a   "}[check["ok"]]
        lines.append(f"  {verdict} {check['what']} {check['bound']}: worst {check['worst']}{check.get('note', '')}")
    lines += [
        "",
        "first trial's version: " + ", ".join(f"{v} {n}" for v, n in sorted(first.items())),
        "mean trial number by version: " + ", ".join(f"{r['name']} {r['mean_trial']:.1f}"
                                                      for _, r in per_version.iterrows()),
        f"mean trial number by photo: {per_photo.min():.1f} to {per_photo.max():.1f}",
        f"same emotion on consecutive trials: {same} of {carry['n'].sum()} transitions "
        f"({100 * same / max(1, carry['n'].sum()):.1f} %)",
    ]
    return "\n".join(lines) + "\n"


def cmd_audit(args) -> int:
    from experiment.conditions import load_conditions

    rows = load_conditions(args.conditions, args.design, warn=None)
    if args.out is not None:
        if args.out.exists() and not args.out.is_dir():
            raise ValueError(f"--out {args.out} is a file: give a folder for the audit's CSV files")
        # A file higher up (--out notes.txt/audit) would make mkdir raise NotADirectoryError after the work.
        parent = next((p for p in Path(args.out).absolute().parents if p.exists()), None)
        if parent is not None and not parent.is_dir():
            raise ValueError(f"--out {args.out} lies under {parent}, which is a file: give a folder path")
    tables, checks = audit(rows, args.participants, args.design, args.blocks, args.session)
    info = design.trial_order(rows, 1, args.session, args.blocks, args.design)[1]
    text = summary(tables, checks, conditions=args.conditions, design_name=args.design,
                   n_participants=args.participants, info=info)
    if args.out is not None:
        try:
            args.out.mkdir(parents=True, exist_ok=True)
        except OSError as err:  # permissions, a read-only disk: the user's to fix, not a bug
            raise ValueError(f"--out {args.out}: cannot create the folder ({err.strerror}); give a writable "
                             "folder") from None
        for name in TABLES:
            tables[name].to_csv(args.out / f"{name}.csv", index=False)
        (args.out / "summary.txt").write_text(text, encoding="utf-8")
        text += f"tables: {', '.join(f'{name}.csv' for name in TABLES)} in {Path(args.out)}\n"
    sys.stdout.write(text)
    broken = [name for name, check in checks.items() if check["ok"] is False]
    if broken:
        raise CommandFailed(f"bound(s) broken: {', '.join(broken)}; please report this with the CSV files",
                            EXIT_BOUND_BROKEN)
    return 0
