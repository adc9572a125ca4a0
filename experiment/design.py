"""Counterbalanced trial order: pure functions of the participant number (no window).

Scheme (documented in docs/experiment.md):

0. Design. ``paper`` (the default, §3.1.2): each photo's two halves, as
   photographed, so the poser's half fixes the side of the image it is on.
   ``crossed``: each half also as the builder's mirror copy, i.e. on the other
   side of the image, so ``visible_half`` (poser's half) and
   ``visible_image_side`` (viewer's visual field) are crossed within
   participants and photos (Levy et al. 1983: the left-perceptual bias would
   otherwise masquerade as a half-face effect).
1. Photos are the unique ``photo_id`` values; each has k *versions* (its
   rows in the design: 2 halves in ``paper``, 2 halves x 2 image sides in
   ``crossed``), sorted by ``visible_half`` then ``visible_image_side``.
2. The order in which a photo's versions are shown is a row of a Williams
   balanced Latin square over the k versions: photo i of participant p uses
   row ``(p + i) mod R``. With two halves this alternates by parity, so half
   the photos are left-first and each photo is left-first for every second
   participant; with four versions, across 4 consecutive participants every
   version of a photo is in every pass once.
3. Presentation *passes*: pass 1 shows one version of every photo, pass 2 the
   next version, ... so the two halves of a photo are far apart.
4. Photos are dealt into ``n_blocks`` blocks after sorting by emotion, so every
   block mixes emotions. Every pass presents the blocks in the order given by
   row ``p mod rows`` of a balanced Latin square (Williams design): over a full
   cycle of participants every block is in every position equally often and
   follows every other block equally often.
5. Within each block and pass the photo order is shuffled with
   ``random.Random(seed)``, ``seed = 1000 * p + session``.
6. No two consecutive trials show the same photo: guaranteed by construction
   when there are >= 2 blocks (a photo lives in one block and consecutive
   passes meet at different blocks); otherwise repaired by the smallest swap,
   and an impossible manifest raises ValueError.
"""

import random
from collections import defaultdict

from experiment.conditions import DESIGNS, is_mirror_copy
from stimuli.labels import EMOTIONS

DEFAULT_BLOCKS = 4
DEFAULT_DESIGN = "paper"
VERSION_ORDER_RULE = ("photo i of participant p shows its k versions in the order of row (p + i) mod R of a "
                      "Williams balanced Latin square over k (R = k for even k); versions sorted by visible_half, "
                      "visible_image_side, stimulus")
SCHEME = "versions-in-williams-order-by-participant+passes+williams-latin-square-blocks+seeded-shuffle"


def balanced_latin_square(n: int) -> list[list[int]]:
    """Williams design over ``n`` conditions (0..n-1).

    Even n: n rows; odd n: 2n rows (the square plus its mirror), the minimum for
    first-order carry-over balance.
    """
    if n < 1:
        raise ValueError(f"a Latin square needs n >= 1, got {n}")
    first, low, high = [0], 1, n - 1
    while len(first) < n:
        first.append(low)
        low += 1
        if len(first) < n:
            first.append(high)
            high -= 1
    rows = [[(c + r) % n for c in first] for r in range(n)]
    if n % 2 == 1:
        rows += [list(reversed(row)) for row in rows]
    return rows


def seed_for(participant_number: int, session: int = 1) -> int:
    """Shuffle seed: readable, so an auditor can re-create the order by hand."""
    return 1000 * participant_number + session


def _emotion_rank(emotion: str) -> int:
    return EMOTIONS.index(emotion) if emotion in EMOTIONS else len(EMOTIONS)


def design_rows(rows, design: str = DEFAULT_DESIGN) -> list:
    """The manifest rows a design shows: ``paper`` leaves out the builder's mirror copies."""
    if design not in DESIGNS:
        raise ValueError(f"design {design!r} is not one of {', '.join(DESIGNS)}")
    return [r for r in rows if design == "crossed" or not is_mirror_copy(r)]


def group_versions(rows) -> dict:
    """photo_id -> its rows, in a fixed order (left half before right, then image side left before right)."""
    photos = defaultdict(list)
    for row in rows:
        photos[str(row["photo_id"])].append(row)
    for versions in photos.values():
        versions.sort(key=lambda r: (str(r.get("visible_half", "")), str(r.get("visible_image_side", "")),
                                     str(r["stimulus"])))
    return dict(sorted(photos.items()))


def assign_blocks(photos: dict, n_blocks: int) -> list[list[str]]:
    """Deal photos (sorted by emotion, then id) round-robin into ``n_blocks`` blocks."""
    ordered = sorted(photos, key=lambda pid: (_emotion_rank(str(photos[pid][0].get("emotion"))), pid))
    blocks = [[] for _ in range(n_blocks)]
    for k, photo_id in enumerate(ordered):
        blocks[k % n_blocks].append(photo_id)
    return blocks


def has_consecutive_repeat(trials) -> bool:
    return any(a["photo_id"] == b["photo_id"] for a, b in zip(trials, trials[1:]))


def _swap_ok(seq, i, j) -> bool:
    swapped = list(seq)
    swapped[i], swapped[j] = swapped[j], swapped[i]
    for pos in {i, j}:
        for nb in (pos - 1, pos + 1):
            if 0 <= nb < len(swapped) and swapped[nb]["photo_id"] == swapped[pos]["photo_id"]:
                return False
    return True


def separate_repeats(trials: list) -> list:
    """Break up consecutive same-photo trials with the nearest legal swap.

    Candidates in the same pass and block are tried first so the design moves
    as little as possible. Raises ValueError when no order can satisfy the rule
    (one photo has more versions than all others together, plus one).
    """
    seq = list(trials)
    for i in range(1, len(seq)):
        if seq[i]["photo_id"] != seq[i - 1]["photo_id"]:
            continue
        same_group = lambda j: (seq[j]["presentation"], seq[j]["block"]) == (seq[i]["presentation"], seq[i]["block"])
        candidates = sorted((j for j in range(len(seq)) if j != i),
                            key=lambda j: (not same_group(j), j < i, abs(j - i)))
        for j in candidates:
            if _swap_ok(seq, i, j):
                seq[i], seq[j] = seq[j], seq[i]
                break
        else:
            raise ValueError(
                f"cannot order the trials without showing photo {seq[i]['photo_id']!r} twice in a row: "
                "it has too many versions compared with the other photos"
            )
    if has_consecutive_repeat(seq):  # a later swap cannot re-create an earlier repeat, but check
        raise ValueError("could not separate consecutive repeats of the same photo")
    return seq


def trial_order(rows, participant_number: int, session: int = 1, n_blocks: int = DEFAULT_BLOCKS,
                design: str = DEFAULT_DESIGN):
    """Counterbalanced trial list for one participant session.

    ``rows`` are the manifest rows (dicts with at least ``photo_id``,
    ``stimulus``, ``visible_half``, ``visible_image_side``, ``emotion``);
    ``design`` picks which of them are shown (:func:`design_rows`). Returns ``(trials, info)``:
    ``trials`` are copies of the rows with ``trial`` (1..N), ``block`` and
    ``presentation`` (pass number) added; ``info`` holds everything needed to
    audit the order (Latin-square row, block order and contents, seed).
    """
    if participant_number < 0:
        raise ValueError(f"participant number must be >= 0, got {participant_number}")
    photos = group_versions(design_rows(rows, design))
    if len(photos) < 2:
        raise ValueError(f"counterbalancing needs at least 2 different photo_id values, got {len(photos)}")
    if n_blocks < 1:
        raise ValueError(f"number of blocks must be >= 1, got {n_blocks}")
    n_blocks = min(n_blocks, len(photos))
    blocks = assign_blocks(photos, n_blocks)
    square = balanced_latin_square(n_blocks)
    square_row = participant_number % len(square)
    block_order = square[square_row]
    photo_index = {pid: i for i, pid in enumerate(photos)}
    seed = seed_for(participant_number, session)
    rng = random.Random(seed)

    n_passes = max(len(v) for v in photos.values())
    trials = []
    for presentation in range(n_passes):
        for b in block_order:
            members = list(blocks[b])
            rng.shuffle(members)
            for photo_id in members:
                versions = photos[photo_id]
                if presentation >= len(versions):
                    continue
                orders = version_square(len(versions))
                order = orders[(participant_number + photo_index[photo_id]) % len(orders)]
                row = dict(versions[order[presentation]])
                row["block"] = b + 1
                row["presentation"] = presentation + 1
                trials.append(row)
    trials = separate_repeats(trials)
    for number, row in enumerate(trials, start=1):
        row["trial"] = number
    info = {
        "scheme": SCHEME,
        "design": design,
        "versions_per_photo": n_passes,
        "participant_number": participant_number,
        "session": session,
        "seed": seed,
        "n_blocks": n_blocks,
        "latin_square_row": square_row,
        "latin_square_rows": len(square),
        "block_order": [b + 1 for b in block_order],
        "blocks": {str(b + 1): members for b, members in enumerate(blocks)},
        "version_order_rule": VERSION_ORDER_RULE,
        "first_version_rule": VERSION_ORDER_RULE,  # its earlier name (kept for readers of old sidecars)
        "n_trials": len(trials),
    }
    return trials, info


def version_square(k: int) -> list[list[int]]:
    """Orders of a photo's k versions: the rows of a Williams square (k = 2: [0, 1] and [1, 0])."""
    return balanced_latin_square(k)


def practice_trials(rows, n: int, participant_number: int, session: int = 1, design: str = DEFAULT_DESIGN) -> list:
    """``n`` practice trials drawn from the *practice* manifest's rows, no photo twice in a row.

    The rows must come from separate practice stimuli (``--practice-conditions``;
    ``conditions.check_practice_separate`` refuses test photos). Photos take turns
    (round robin, each round in a new order that never starts with the photo just
    shown), so that even two practice photos never repeat back to back; each photo's
    versions are used up before any repeats. Uses its own seed so adding practice
    never changes the main order.
    """
    if n <= 0:
        return []
    rng = random.Random(seed_for(participant_number, session) + 500)
    photos = group_versions(design_rows(rows, design))
    if len(photos) < 2 and n > 1:
        raise ValueError(f"{n} practice trials need at least 2 practice photos (there is {len(photos)}), "
                         "or the same photo would be shown twice in a row")
    unused = {p: [] for p in photos}
    picked, last = [], None
    while len(picked) < n:
        order = list(photos)
        rng.shuffle(order)
        if order[0] == last:
            order.append(order.pop(0))
        for photo in order[: n - len(picked)]:
            if not unused[photo]:
                unused[photo] = list(photos[photo])
                rng.shuffle(unused[photo])
            picked.append(dict(unused[photo].pop(), block=0, presentation=0))
        last = picked[-1]["photo_id"]
    for k, t in enumerate(picked, start=1):
        t["trial"] = f"practice{k}"
    return picked
