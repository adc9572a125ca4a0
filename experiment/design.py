"""Counterbalanced trial order: pure functions of the participant number (no window).

Scheme (documented in docs/experiment.md):

1. Photos are the unique ``photo_id`` values; each has several *versions* (its
   manifest rows: normally the left and right half, maybe mirrored variants).
2. Which version of a photo comes first rotates with participant number and
   photo index: photo i of participant p starts with version ``(p + i) mod k``
   (k = number of versions). With two halves this alternates by parity, so
   half the photos are left-first and each photo is left-first for every
   second participant.
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

from stimuli.labels import EMOTIONS

DEFAULT_BLOCKS = 4
SCHEME = "versions-rotated-by-participant+passes+williams-latin-square-blocks+seeded-shuffle"


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


def group_versions(rows) -> dict:
    """photo_id -> its manifest rows, in a fixed order (left before right, unmirrored first)."""
    photos = defaultdict(list)
    for row in rows:
        photos[str(row["photo_id"])].append(row)
    for versions in photos.values():
        versions.sort(key=lambda r: (str(r.get("visible_half", "")), str(r.get("mirrored", "0")),
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


def trial_order(rows, participant_number: int, session: int = 1, n_blocks: int = DEFAULT_BLOCKS):
    """Counterbalanced trial list for one participant session.

    ``rows`` are the manifest rows (dicts with at least ``photo_id``,
    ``stimulus``, ``visible_half``, ``emotion``). Returns ``(trials, info)``:
    ``trials`` are copies of the rows with ``trial`` (1..N), ``block`` and
    ``presentation`` (pass number) added; ``info`` holds everything needed to
    audit the order (Latin-square row, block order and contents, seed).
    """
    if participant_number < 0:
        raise ValueError(f"participant number must be >= 0, got {participant_number}")
    photos = group_versions(rows)
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
                first = (participant_number + photo_index[photo_id]) % len(versions)
                row = dict(versions[(first + presentation) % len(versions)])
                row["block"] = b + 1
                row["presentation"] = presentation + 1
                trials.append(row)
    trials = separate_repeats(trials)
    for number, row in enumerate(trials, start=1):
        row["trial"] = number
    info = {
        "scheme": SCHEME,
        "participant_number": participant_number,
        "session": session,
        "seed": seed,
        "n_blocks": n_blocks,
        "latin_square_row": square_row,
        "latin_square_rows": len(square),
        "block_order": [b + 1 for b in block_order],
        "blocks": {str(b + 1): members for b, members in enumerate(blocks)},
        "first_version_rule": "photo i of participant p starts with version (p + i) mod k; "
                              "versions sorted by visible_half, mirrored, stimulus",
        "n_trials": len(trials),
    }
    return trials, info


def practice_trials(rows, n: int, participant_number: int, session: int = 1) -> list:
    """``n`` practice trials drawn from the manifest, no photo twice in a row (not logged).

    Uses its own seed so adding practice never changes the main order.
    """
    if n <= 0:
        return []
    rng = random.Random(seed_for(participant_number, session) + 500)
    picked = []
    while len(picked) < n:
        pool = list(rows)
        rng.shuffle(pool)
        picked += pool
    trials = separate_repeats([dict(r, block=0, presentation=0) for r in picked[:n]])
    for k, t in enumerate(trials, start=1):
        t["trial"] = f"practice{k}"
    return trials
