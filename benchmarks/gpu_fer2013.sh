#!/usr/bin/env bash
# FER2013 on one GPU, in one go (issue 6): the throughput benchmark, the paper's Table 6 ablation
# (baseline, attention, relabel, hsaw) and Table 3 (left half only vs right half only), then a
# markdown table of ours beside the paper's numbers.
#
#   benchmarks/gpu_fer2013.sh OUT_DIR            # quick: fits one 10-minute device call on an H200
#   benchmarks/gpu_fer2013.sh OUT_DIR --full     # the paper's 50 epochs at 224 px (about half an hour)
#
# Data, prepared beforehand in the checkout (data/ is git-ignored; never commit FER2013 or anything
# computed per image from it):
#   mkdir -p data && cp ../shared/data/* data/            # fer2013-trainval.npz + fer2013_npz.py (49 MB)
#   python3 data/fer2013_npz.py --csv data/fer2013.csv    # optional: this script does it when missing
#   python -m recognition.landmarks --dataset fer2013 --data data/fer2013.csv --workers 8
#       # -> data/hsaw_midlines.npz, on a CPU machine with dlib (GPU machines usually lack it); the
#       #    fingerprint ties it to the images, so a csv re-made from the same npz matches it
#
# Settings (environment overrides; the defaults are in the two blocks below):
#   quick: 112 px (V stays 121-d), 12 epochs, batch 256, re-labelling from epoch 5 (the paper's 20/50),
#          eager bf16, the six training runs concurrently on the one GPU (their wall times overlap).
#   full:  224 px, 50 epochs, batch 128 (Table 5), re-labelling from epoch 20, torch.compile, one run
#          at a time.
#   IMAGE_SIZE EPOCHS BATCH RELABEL_START COMPILE(1/0) PARALLEL(1/0) PRETRAINED(path) MIDLINE=center
#   BENCH_ARGS (extra arguments for recognition.bench) PYTHON DATA_DIR RUNS ("baseline attention ...";
#          also "all": Table 3's plain ResNet18 on the whole face, not in the default set)
#   DEADLINE_S: seconds after the start by which training is stopped (quick: 540, so the table is
#          still written inside a 10-minute call; full: none). A stopped run keeps its last epoch's
#          checkpoint; the table shows it as partial, and re-running the script resumes it.
# Re-running with the same OUT_DIR skips finished runs and resumes killed ones.
set -euo pipefail

usage="usage: benchmarks/gpu_fer2013.sh OUT_DIR [--full]"
OUT=${1:?$usage}
MODE=quick
if [ "${2:-}" = "--full" ]; then MODE=full; elif [ -n "${2:-}" ]; then echo "$usage" >&2; exit 2; fi

cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
DATA=${DATA_DIR:-data}
if [ "$MODE" = full ]; then
  IMAGE_SIZE=${IMAGE_SIZE:-224}; EPOCHS=${EPOCHS:-50}; BATCH=${BATCH:-128}; RELABEL_START=${RELABEL_START:-20}
  COMPILE=${COMPILE:-1}; PARALLEL=${PARALLEL:-0}; DEADLINE_S=${DEADLINE_S:-0}
else
  IMAGE_SIZE=${IMAGE_SIZE:-112}; EPOCHS=${EPOCHS:-12}; BATCH=${BATCH:-256}; RELABEL_START=${RELABEL_START:-5}
  COMPILE=${COMPILE:-0}; PARALLEL=${PARALLEL:-1}; DEADLINE_S=${DEADLINE_S:-540}
fi
RUNS=${RUNS:-"baseline attention relabel hsaw left right"}
mkdir -p "$OUT/runs"
OUT=$(cd "$OUT" && pwd)
log() { echo "[$(date +%T)] $*" | tee -a "$OUT/script.log"; }
T0=$(date +%s)

# --- data -------------------------------------------------------------------------------------------------
CSV="$DATA/fer2013.csv"
if [ ! -f "$CSV" ]; then
  if [ -f "$DATA/fer2013-trainval.npz" ] && [ -f "$DATA/fer2013_npz.py" ]; then
    log "writing $CSV from $DATA/fer2013-trainval.npz"
    "$PY" "$DATA/fer2013_npz.py" --npz "$DATA/fer2013-trainval.npz" --csv "$CSV"
  elif [ -f ../shared/data/fer2013-trainval.npz ]; then
    log "writing $CSV from ../shared/data"
    mkdir -p "$DATA"
    "$PY" ../shared/data/fer2013_npz.py --csv "$CSV"
  else
    echo "error: no $CSV and no $DATA/fer2013-trainval.npz; see the header of $0" >&2; exit 2
  fi
fi
MID="$DATA/hsaw_midlines.npz"
MIDARGS=(--midlines "$MID")
if [ "${MIDLINE:-}" = center ]; then
  MIDARGS=(--midline center)
  log "MIDLINE=center: every face is split at the image centre (reported in each run's summary)"
elif [ ! -f "$MID" ]; then
  if "$PY" -c "import dlib" 2>/dev/null; then
    log "building $MID with dlib"
    "$PY" -m recognition.landmarks --dataset fer2013 --data "$CSV" --out "$MID" --workers "$(nproc)" \
      2>&1 | tee -a "$OUT/script.log"
  else
    echo "error: $MID missing and no dlib here; build it on a CPU machine:" \
         "python -m recognition.landmarks --dataset fer2013 --data $CSV (or run with MIDLINE=center)" >&2
    exit 2
  fi
fi

# --- what ran where ---------------------------------------------------------------------------------------
"$PY" - "$OUT/env.json" "$MODE" "$IMAGE_SIZE" "$EPOCHS" "$BATCH" "$RELABEL_START" "$COMPILE" "$PARALLEL" <<'EOF'
import json, platform, subprocess, sys, torch
out, mode, size, epochs, batch, rs, comp, par = sys.argv[1:]
try:
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip() or None
except OSError:
    commit = None
json.dump({"mode": mode, "image_size": int(size), "epochs": int(epochs), "batch_size": int(batch),
           "relabel_start": int(rs), "compile": comp == "1", "parallel": par == "1",
           "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
           "torch": torch.__version__, "python": platform.python_version(), "commit": commit},
          open(out, "w"), indent=2)
EOF
log "mode $MODE: ${IMAGE_SIZE} px, $EPOCHS epochs, batch $BATCH, relabel from $RELABEL_START, compile $COMPILE, parallel $PARALLEL, deadline ${DEADLINE_S}s"

failed=0
# --- 1. throughput ----------------------------------------------------------------------------------------
if [ -f "$OUT/bench.json" ]; then
  log "bench: $OUT/bench.json exists, kept"
else
  log "bench"
  # shellcheck disable=SC2086
  "$PY" -m recognition.bench --image-size 224 --reduced-size 112 --batch-size 512 --steps 20 \
    --json "$OUT/bench.json" ${BENCH_ARGS:-} 2>&1 | tee "$OUT/bench.log" || { log "bench FAILED"; failed=1; }
fi

# --- 2. Table 6 ablation and Table 3 halves ---------------------------------------------------------------
COMMON=(--dataset fer2013 --data "$CSV" "${MIDARGS[@]}" --epochs "$EPOCHS" --batch-size "$BATCH"
        --image-size "$IMAGE_SIZE" --relabel-start "$RELABEL_START")
if [ "$COMPILE" = 1 ]; then COMMON+=(--compile); else COMMON+=(--no-compile); fi
if [ -n "${PRETRAINED:-}" ]; then COMMON+=(--pretrained "$PRETRAINED"); fi

train_one() {  # name -> runs/<name>/, runs/<name>.log, runs/<name>.time
  local name=$1 dir="$OUT/runs/$1" args
  case $name in
    left|right) args=(--half "$name") ;;          # plain pooled ResNet18 on one half (Table 3)
    all) args=(--arch resnet18) ;;                 # plain pooled ResNet18, whole face (Table 3)
    *) args=(--variant "$name") ;;
  esac
  if [ -f "$dir/summary.json" ]; then echo "$name: finished earlier, kept"; return 0; fi
  local start rc=0 limit=() left; start=$(date +%s.%N)
  if [ "$DEADLINE_S" -gt 0 ]; then
    left=$(( DEADLINE_S - ($(date +%s) - T0) ))
    if [ "$left" -le 0 ]; then echo "$name: no time left before DEADLINE_S=$DEADLINE_S"; return 124; fi
    limit=(timeout --signal=TERM --kill-after=10 "$left")
  fi
  if [ -f "$dir/checkpoint_last.pt" ]; then
    "${limit[@]}" "$PY" -m recognition.train --resume "$dir" >> "$OUT/runs/$name.log" 2>&1 || rc=$?
  else
    "${limit[@]}" "$PY" -m recognition.train "${COMMON[@]}" "${args[@]}" --out "$dir" > "$OUT/runs/$name.log" 2>&1 || rc=$?
  fi
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then echo "$name: stopped at DEADLINE_S=$DEADLINE_S (resumable)"; fi
  echo "{\"start\": $start, \"end\": $(date +%s.%N), \"exit_code\": $rc}" > "$OUT/runs/$name.time"
  return $rc
}

if [ "$PARALLEL" = 1 ]; then
  declare -A pids
  for name in $RUNS; do log "train $name (background)"; train_one "$name" & pids[$name]=$!; done
  for name in $RUNS; do
    if wait "${pids[$name]}"; then log "$name done"; else log "$name FAILED (see runs/$name.log)"; failed=1; fi
  done
else
  for name in $RUNS; do
    log "train $name"
    if train_one "$name"; then log "$name done"; else log "$name FAILED (see runs/$name.log)"; failed=1; fi
  done
fi

# --- 3. the table -----------------------------------------------------------------------------------------
"$PY" benchmarks/collect_results.py "$OUT" | tee "$OUT/results.md" || failed=1
log "all done in $(( $(date +%s) - T0 )) s; results in $OUT/results.md"
exit $failed
