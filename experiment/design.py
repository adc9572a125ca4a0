"""Counterbalanced trial order: pure functions of the participant number (no window).

Scheme (documented in docs/experiment.md). Nothing in it looks at photo names
or at the order of the manifest's rows: everything is decided for *slots*
(emotion, rank within emotion), and only then are photos put into the slots, so
renaming or shuffling the photos changes which photo fills a slot and nothing
else (the sequence of emotion, version and block per trial stays the same).

0. Design. ``paper`` (the default, §3.1.2): each photo's two halves, as
   photographed, so the poser's half fixes the side of the image it is on.
   ``crossed``: each half also as the builder's mirror copy, i.e. on the other
   side of the image, so ``visible_half`` (poser's half) and
   ``visible_image_side`` (viewer's visual field) are crossed within
   participants and photos (Levy et al. 1983: the left-perceptual bias would
   otherwise masquerade as a half-face effect).
1. Slots. Photos are the unique ``photo_id`` values; each has k *versions*
   (its rows in the design: 2 halves in ``paper``, 2 halves x 2 image sides in
   ``crossed``), numbered after sorting by ``visible_half`` then
   ``visible_image_side``. Photos are sorted by emotion (the order of
   ``halfface.schema.EMOTIONS``) and then by ``photo_id``; position j in this
   list is slot j. Only the emotions of the slots enter steps 2-6; the
   ``photo_id`` merely decides which photo of an emotion fills which slot.
2. Blocks. Slot j goes to block ``j mod n_blocks``, so every block mixes the
   emotions (each emotion's photos are spread over the blocks within ±1).
   Block membership is the same for every participant.
3. Versions. The slots are numbered again block by block (block 1's slots,
   then block 2's, ...): slot number c. The photo in slot c shows its versions,
   pass after pass, in the order of row ``(p + c) mod k`` of a Williams
   balanced Latin square over k symbols (Williams 1949), symbol s meaning the
   version with half ``s mod 2`` and image side ``s // 2`` (k = 4; for k = 2,
   s is the half). Consecutive rows of a Williams square continue each column
   cyclically, so in every pass any run of consecutive c holds every version
   equally often ±1 — hence every block in every pass, and the whole pass, is
   balanced ±1, whatever the emotions or names; with the symbol mapping the
   half alternates along c, so the half alone is balanced ±1 in the crossed
   design too (the image side there within ±2). Over any k consecutive
   participants each photo shows each version in each pass exactly once (each
   version first once), and each version follows each other equally often.
4. Passes and block order. Pass 1 shows one version of every photo, pass 2
   the next, ... so the versions of a photo are far apart. Every pass presents
   the blocks in the order of row ``p mod L`` of a Williams square over the
   blocks (L = n_blocks rows, 2 n_blocks when odd): over L consecutive
   participants every block is in every position equally often and follows
   every other block equally often.
5. Order within a block and pass (seed ``1000 * p + session``,
   ``random.Random``). First the sequence of versions is drawn at random,
   weighted by what is left, under the bound: never more than ``MAX_RUN``
   (= 4) trials in a row with the same ``visible_half`` (in ``crossed`` also
   with the same ``visible_image_side``; so never more than 4 of one version
   in a row), across block and pass boundaries too. A version is only drawn
   when the rest of the session can still be completed within the bound (an
   exact search, memoised over group, counts left and run state;
   ``BoundedOrder``). Only when blocks hold one or two photos (a handful of
   photos in the crossed design) can the image-side bound be impossible; then
   the half alone is bounded (``info["run_bounded_columns"]`` says which).
   The session's very first trial shows version ``symbol(p mod k)`` (when
   the first block holds it: always when every block has >= k photos), so over
   any k consecutive participants (every group that completes the block
   square when k divides L) each version comes first equally often (±1
   otherwise), and the first half alternates between consecutive
   participants. Then the block's photos of each version are shuffled into
   that version's places.
6. No two consecutive trials show the same photo: guaranteed by construction
   when there are >= 2 blocks (a photo lives in one block and consecutive
   passes meet at different blocks); with one block the first place of a pass
   avoids the photo just shown, else the smallest swap repairs it. The bound
   of step 5 is then checked on the finished order; a manifest too small to
   keep it raises ValueError (a few photos at most; audit with
   ``python -m experiment audit``).
"""

import random
from collections import defaultdict

from experiment.conditions import DESIGNS, is_mirror_copy
from halfface.schema import EMOTIONS

DEFAULT_BLOCKS = 4
DEFAULT_DESIGN = "paper"
MAX_RUN = 4  # most trials in a row with the same visible_half (crossed: or visible_image_side); step 5
RUN_COLUMNS = ("visible_half", "visible_image_side")
VERSION_ORDER_RULE = ("slots sorted by emotion then photo_id, renumbered block by block (c); the photo in slot c of "
                      "participant p shows its k versions in the order of row (p + c) mod k of a Williams balanced "
                      "Latin square over k, symbol s = version with half s mod 2 and image side s // 2; versions "
                      "sorted by visible_half, visible_image_side")
SCHEME = ("slots-by-emotion+versions-williams-by-slot-within-blocks+passes+williams-latin-square-blocks"
          "+run-bounded-seeded-order")


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


def version_key(row) -> tuple:
    """What a version is: (visible_half, visible_image_side); versions are numbered in this sort order."""
    return str(row.get("visible_half", "")), str(row.get("visible_image_side", ""))


def group_versions(rows) -> dict:
    """photo_id -> its rows, in a fixed order (left half before right, then image side left before right)."""
    photos = defaultdict(list)
    for row in rows:
        photos[str(row["photo_id"])].append(row)
    for versions in photos.values():
        versions.sort(key=lambda r: (version_key(r), str(r["stimulus"])))
    return dict(sorted(photos.items()))


def slots(photos: dict) -> list[str]:
    """Step 1: photo ids in slot order, by emotion then id (only the emotions shape the design)."""
    return sorted(photos, key=lambda pid: (_emotion_rank(str(photos[pid][0].get("emotion"))), pid))


def assign_blocks(photos: dict, n_blocks: int) -> list[list[str]]:
    """Step 2: slot j goes to block j mod ``n_blocks`` (each block's members in slot order)."""
    blocks = [[] for _ in range(n_blocks)]
    for j, photo_id in enumerate(slots(photos)):
        blocks[j % n_blocks].append(photo_id)
    return blocks


def version_square(k: int) -> list[list[int]]:
    """Orders of a photo's k versions: the rows of a Williams square (k = 2: [0, 1] and [1, 0])."""
    return balanced_latin_square(k)


def version_of_symbol(symbol: int, k: int) -> int:
    """Step 3's mapping: with 4 versions, symbol s is half s mod 2 and image side s // 2, so halves alternate."""
    if k == 4:
        return (symbol % 2) * 2 + symbol // 2
    return symbol


def version_orders(k: int) -> list[list[int]]:
    """The rows of :func:`version_square` as version numbers (what a photo shows in pass 1, 2, ...)."""
    return [[version_of_symbol(s, k) for s in row] for row in version_square(k)]


def first_version(participant_number: int, k: int) -> int:
    """Step 5: the version of the session's first trial (balanced over any k consecutive participants)."""
    return version_of_symbol(participant_number % k, k)


def has_consecutive_repeat(trials) -> bool:
    return any(a["photo_id"] == b["photo_id"] for a, b in zip(trials, trials[1:]))


def longest_run(values) -> int:
    """Length of the longest run of equal consecutive values (0 for none)."""
    best = run = 0
    previous = object()
    for value in values:
        run = run + 1 if value == previous else 1
        previous = value
        best = max(best, run)
    return best


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


def _advance(state, attributes, max_run):
    """Run state after showing a version with ``attributes`` (one value per RUN_COLUMN); None if over the bound."""
    out = []
    for (last, run), value in zip(state, attributes):
        run = run + 1 if value == last else 1
        if run > max_run:
            return None
        out.append((value, run))
    return tuple(out)


class BoundedOrder:
    """Step 5: random version sequences for a row of groups (block x pass), no run over ``max_run``.

    ``group_counts[g][v]`` is how often version v is shown in group g;
    ``attributes[v]`` are version v's values of RUN_COLUMNS. A place is drawn
    only from the versions that still let the rest of the *session* be
    completed within the bound (an exact search, memoised over the group, the
    counts left and the run state), weighted by how many of each are left.
    """

    def __init__(self, group_counts, attributes, max_run=MAX_RUN):
        self.groups = [tuple(c) for c in group_counts]
        self.attributes = [tuple(a) for a in attributes]
        self.max_run = max_run
        self._memo = {}

    def _moves(self, g, left, state):
        """(version, next state, next group, counts left) for each legal next trial."""
        for v, n in enumerate(left):
            if n:
                nxt = _advance(state, self.attributes[v], self.max_run)
                if nxt is not None:
                    rest = left[:v] + (n - 1,) + left[v + 1:]
                    if not any(rest) and g + 1 < len(self.groups):
                        yield v, nxt, g + 1, self.groups[g + 1]
                    else:
                        yield v, nxt, g, rest

    def completable(self, g, left, state) -> bool:
        # explicit stack instead of recursion: a session can have hundreds of trials
        stack = [(g, left, state)]
        while stack:
            key = stack[-1]
            if key in self._memo:
                stack.pop()
                continue
            kg, kleft, kstate = key
            if not any(kleft):
                self._memo[key] = True
                stack.pop()
                continue
            pending, found = [], False
            for _, nxt, ng, nleft in self._moves(kg, kleft, kstate):
                child = (ng, nleft, nxt)
                if self._memo.get(child) is True:
                    found = True
                    break
                if child not in self._memo:
                    pending.append(child)
            if found or not pending:
                self._memo[key] = found
                stack.pop()
            else:
                stack.append(pending[0])  # depth first: the first child that completes settles it
        return self._memo[(g, left, state)]

    def draw(self, g, state, rng, first=None, avoid_first=()):
        """Group g's version sequence from run ``state``; returns (sequence, state) or None if the bound cannot hold.

        ``first`` forces the first place where it can; ``avoid_first`` are
        versions the first place should not take if another can.
        """
        left = self.groups[g]
        if not self.completable(g, left, state):
            return None
        sequence = []
        while any(left):
            options = [(v, nxt, left[:v] + (left[v] - 1,) + left[v + 1:])
                       for v, nxt, ng, nleft in self._moves(g, left, state) if self.completable(ng, nleft, nxt)]
            if not sequence:
                options = ([o for o in options if o[0] == first] or [o for o in options if o[0] not in avoid_first]
                           or options)
            v, state, left = rng.choices(options, weights=[left[o[0]] for o in options])[0]
            sequence.append(v)
        return sequence, state


def trial_order(rows, participant_number: int, session: int = 1, n_blocks: int = DEFAULT_BLOCKS,
                design: str = DEFAULT_DESIGN):
    """Counterbalanced trial list for one participant session (the scheme in the module docstring).

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
    seed = seed_for(participant_number, session)
    rng = random.Random(seed)

    n_passes = max(len(v) for v in photos.values())
    # step 3: the order of versions of the photo in slot number c (block by block)
    slot_number = {pid: c for c, pid in enumerate(pid for members in blocks for pid in members)}

    def version_in_pass(photo_id, presentation):
        versions = photos[photo_id]
        if presentation >= len(versions):
            return None
        orders = version_orders(len(versions))
        return orders[(participant_number + slot_number[photo_id]) % len(orders)][presentation]

    groups = []  # step 4: (block, pass, {version: photos}) in presentation order
    for presentation in range(n_passes):
        for b in block_order:
            by_version = defaultdict(list)
            for photo_id in blocks[b]:
                v = version_in_pass(photo_id, presentation)
                if v is not None:
                    by_version[v].append(photo_id)
            if by_version:
                groups.append((b, presentation, by_version))
    counts = [[len(by_version.get(v, [])) for v in range(n_passes)] for _, _, by_version in groups]
    attributes = _attributes(photos, n_passes)
    # The paper design's version is the half (the image side follows from each photo's own mirroring);
    # the crossed design's is half x image side, both bounded where the manifest allows. With blocks of one
    # or two photos the image side may not fit, and then only the half (the factor under study) is.
    bounded = RUN_COLUMNS if design == "crossed" else RUN_COLUMNS[:1]
    planner = BoundedOrder(counts, [a[:len(bounded)] for a in attributes])
    if not planner.completable(0, planner.groups[0], _start_state(bounded)):
        bounded = RUN_COLUMNS[:1]
        planner = BoundedOrder(counts, [a[:1] for a in attributes])
        if not planner.completable(0, planner.groups[0], _start_state(bounded)):
            raise ValueError(f"{len(photos)} photos in {n_blocks} block(s) are too few to keep the order within "
                             f"{MAX_RUN} trials in a row of one half: use more photos or fewer --blocks")
    state = _start_state(bounded)
    trials = []
    for g, (b, presentation, by_version) in enumerate(groups):
        last_photo = trials[-1]["photo_id"] if trials else None
        first = first_version(participant_number, n_passes) if not trials else None
        avoid = {v for v, members in by_version.items() if members == [last_photo]}
        drawn = planner.draw(g, state, rng, first=first, avoid_first=avoid)
        sequence, state = drawn  # never None: the start was completable, and each draw keeps it so
        for members in by_version.values():
            rng.shuffle(members)
        if last_photo is not None:  # step 6, one block: do not open the pass with the photo just shown
            opening = by_version[sequence[0]]
            if opening[0] == last_photo and len(opening) > 1:
                opening.append(opening.pop(0))
        for v in sequence:
            row = dict(photos[by_version[v].pop(0)][v])
            row["block"] = b + 1
            row["presentation"] = presentation + 1
            trials.append(row)
    trials = separate_repeats(trials)
    for column in bounded:  # step 6's check (swaps for repeats could in principle lengthen a run)
        run = longest_run(t[column] for t in trials)
        if run > MAX_RUN:
            raise ValueError(f"{len(photos)} photos in {n_blocks} block(s) are too few to keep the order within "
                             f"{MAX_RUN} trials in a row of one {column} ({run} for participant number "
                             f"{participant_number}): use more photos or fewer --blocks")
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
        "first_trial_version_rule": "version of symbol (p mod k) (step 5)",
        "max_run": MAX_RUN,
        "run_bounded_columns": list(bounded),
        "n_trials": len(trials),
    }
    return trials, info


def _start_state(columns):
    return tuple((None, 0) for _ in columns)


def _attributes(photos, k):
    """Each version number's (visible_half, visible_image_side): the same for every complete photo."""
    return next([version_key(v) for v in versions] for versions in photos.values() if len(versions) == k)


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
