#!/usr/bin/env bash
# The benchmark behind `make bench`: the full `gep run` (26 counties + 470 townships + 7,541
# villages, extent + xie2015 valuation through the clcd crosswalk) against exactextract 0.3
# (per-zone class areas, best of its two strategies) and a plain GDAL decode of every block,
# at 30 m and 10 m, threads 1 and 2. Writes bench/RESULTS.md. Timings are figures, not assertions.
#
# Then (issue 12) the weighted tally: the land cover plus five Float32 continuous rasters
# (`xtask bench-aux`, generated when missing) over the same zones (`xtask tally-values`, 0 and
# 5 layers) against the decode floor of all six rasters; and gep's models (terrain + RUSLE +
# water-balance sums, `xtask models-willamette`) against InVEST 3.20.2 SDR + AWY on the
# Willamette inputs.
#
# Environment: BENCH_RES ("30 10"), BENCH_THREADS ("1 2"), BENCH_PY (bench/.venv/bin/python),
# BENCH_REPS_30 (3: best-of for gep and the floor at 30 m), BENCH_REPS_10 (2),
# BENCH_EE_STRATEGIES ("feature-sequential raster-sequential"), BENCH_OUT (bench/RESULTS.md),
# BENCH_AUX_RES (resolutions with the five-layer rows, default BENCH_RES),
# BENCH_ONLY ("" = everything; "aux" = only the five-layer and Willamette rows, written into
# their section of the existing RESULTS.md, the other rows kept as they are),
# BENCH_REPS_AUX_10 (1: repetitions of the 10 m five-layer rows), BENCH_WILLAMETTE
# (/work/shared/data/models/willamette; rows skipped when missing), BENCH_WILLAMETTE_AET (an
# actual-ET raster on that grid for water conservation, default InVEST AWY's
# /work/invest_full/awy/output/per_pixel/aet.tif when present), BENCH_INVEST_PY
# (/work/.venv-invest/bin/python; InVEST rows skipped when missing), BENCH_REPS_MODELS (3).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RES_LIST=${BENCH_RES:-"30 10"}
THREADS_LIST=${BENCH_THREADS:-"1 2"}
PY=${BENCH_PY:-bench/.venv/bin/python}
EE_STRATEGIES=${BENCH_EE_STRATEGIES:-"feature-sequential raster-sequential"}
OUT_MD=${BENCH_OUT:-bench/RESULTS.md}
DATA=bench/data
CARGO=${CARGO:-cargo}
mkdir -p "$DATA"
LOG="$DATA/bench.log"          # one line per measurement, parsed into RESULTS.md
CMDS="$DATA/commands.txt"      # the exact commands, in order
ONLY=${BENCH_ONLY:-}
AUX_RES=${BENCH_AUX_RES:-$RES_LIST}
if [ "$ONLY" = aux ]; then
  # Only the issue-12 rows: their own log; report.py replaces just their section of RESULTS.md.
  LOG="$DATA/bench_aux.log"
  CMDS="$DATA/commands_aux.txt"
fi
: >"$LOG"
: >"$CMDS"
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "bench: /usr/bin/time missing (apt-get install -y time)" >&2; exit 2; }
if [ "$ONLY" = aux ]; then
  [ -x "$PY" ] || PY=python3   # report.py is stdlib only; exactextract does not run
else
  [ -x "$PY" ] || { echo "bench: $PY missing (make bench creates it)" >&2; exit 2; }
fi

say() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }

# measure TOOL RES THREADS VARIANT -- command...: runs it under /usr/bin/time, appends one line
# `tool res threads variant wall_s maxrss_kb cpu_s exit inner_s load1` to the log.
measure() {
  local tool=$1 res=$2 threads=$3 variant=$4; shift 5
  local tf="$DATA/.time.$$" of="$DATA/.stdout.$$"
  local load1; load1=$(cut -d' ' -f1 /proc/loadavg)
  echo "$*" >>"$CMDS"
  set +e
  "$TIME" -f 'wall_s=%e maxrss_kb=%M user_s=%U sys_s=%S exit=%x' -o "$tf" "$@" >"$of"
  set -e
  local wall rss user sys ex inner
  wall=$(sed -n 's/.*wall_s=\([0-9.]*\).*/\1/p' "$tf" | tail -1)
  rss=$(sed -n 's/.*maxrss_kb=\([0-9]*\).*/\1/p' "$tf" | tail -1)
  user=$(sed -n 's/.*user_s=\([0-9.]*\).*/\1/p' "$tf" | tail -1)
  sys=$(sed -n 's/.*sys_s=\([0-9.]*\).*/\1/p' "$tf" | tail -1)
  ex=$(sed -n 's/.*exit=\([0-9]*\).*/\1/p' "$tf" | tail -1)
  inner=$( { sed -n 's/^[a-z_]*_seconds=\([0-9.]*\)$/\1/p' "$of"; sed -n 's/.*execute() took \([0-9.]*\) s.*/\1/p' "$of"; } | tail -1)
  local cpu; cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN{printf "%.2f", u+s}')
  echo "$tool $res $threads $variant $wall $rss $cpu ${ex:-?} ${inner:--} $load1" >>"$LOG"
  printf '   %-12s %3sm t%s %-20s wall %6ss  rss %7.1f MiB  cpu %6ss  exit %s  (load %s)\n' \
    "$tool" "$res" "$threads" "$variant" "$wall" "$(awk -v k="$rss" 'BEGIN{print k/1024}')" "$cpu" "$ex" "$load1" >&2
  rm -f "$tf" "$of"
}

if [ "$ONLY" = aux ]; then
  say "building xtask (release)"
  $CARGO build --release -p xtask
else
  say "building gep and xtask (release)"
  $CARGO build --release -p gep-cli -p xtask
fi
GEP=target/release/gep
XTASK=target/release/xtask

for r in $(echo $RES_LIST $AUX_RES | tr ' ' '\n' | sort -un); do
  if [ ! -s "$DATA/clcd_zj26_epsg4549_${r}m.tif" ]; then
    say "generating the ${r} m raster"
    $CARGO run --release -p xtask -- bench-data --res "$r"
  fi
done

ZONES_GPKG="$DATA/zj26_zones_epsg4549.gpkg"
if [ "$ONLY" != aux ] && { [ ! -s "$ZONES_GPKG" ] || [ fixtures/zj26_villages_generated.geojson -nt "$ZONES_GPKG" ]; }; then
  say "reprojecting the boundaries to EPSG:4549 for exactextract (it does not reproject)"
  rm -f "$ZONES_GPKG"
  # One layer `zones` (zone_id, level): counties, townships, villages — the same 8,037 zones as gep.
  ogr2ogr -f GPKG -t_srs EPSG:4549 -nln zones -dialect OGRSQL "$ZONES_GPKG" \
    fixtures/zj26_counties_cgcs2000.geojson -sql "SELECT adcode AS zone_id, 'county' AS level FROM zj26_counties_cgcs2000"
  for l in townships villages; do
    lvl=${l%s}; [ "$lvl" = townships ] && lvl=township
    ogr2ogr -f GPKG -append -update -t_srs EPSG:4549 -nln zones -dialect OGRSQL "$ZONES_GPKG" \
      "fixtures/zj26_${l}_generated.geojson" -sql "SELECT zone_id, '${lvl}' AS level FROM zj26_${l}_generated"
  done
fi

for r in $RES_LIST; do
  [ "$ONLY" = aux ] && continue
  TIF="$DATA/clcd_zj26_epsg4549_${r}m.tif"
  CFG="$DATA/gep_${r}m.toml"
  cat >"$CFG" <<TOML
# Written by bench/run.sh: the full run over the ${r} m benchmark raster.
year = 2020

[landcover]
path = "clcd_zj26_epsg4549_${r}m.tif"

[[zones]]
path = "../../fixtures/zj26_counties_cgcs2000.geojson"
level = "county"
id_field = "adcode"
name_field = "name"

[[zones]]
path = "../../fixtures/zj26_townships_generated.geojson"
level = "township"
id_field = "zone_id"
name_field = "name"
parent_field = "parent"

[[zones]]
path = "../../fixtures/zj26_villages_generated.geojson"
level = "village"
id_field = "zone_id"
name_field = "name"
parent_field = "parent"

[valuation]
coefficients = "xie2015"
crosswalk = "clcd"

[output]
dir = "out_${r}m"
TOML
  # The same zones, extent only: per-zone class areas, sum checks and the three CSV tables —
  # what exactextract computes, plus the conservation sums.
  ECFG="$DATA/gep_${r}m_extent.toml"
  sed -e '/^\[valuation\]/,/^crosswalk/d' -e 's/^dir = .*/dir = "out_'"${r}"'m_extent"\nreport = false/' \
    -e 's/^# Written by bench\/run.sh: the full run/# Written by bench\/run.sh: extent only (no valuation, geometry or reports)/' "$CFG" >"$ECFG"
  printf '\n[checks]\ngeometry = false\n' >>"$ECFG"
  if [ "$r" = 30 ]; then reps=${BENCH_REPS_30:-3}; else reps=${BENCH_REPS_10:-2}; fi

  say "${r} m: decode floor (GDAL block decode, one dataset per thread)"
  for t in $THREADS_LIST; do
    for ((i = 0; i < reps; i++)); do
      measure floor "$r" "$t" decode -- "$XTASK" decode-floor "$TIF" --threads "$t"
    done
  done

  # full-run: extent + checks + valuation + every output; extent-only: class areas by zone
  # and sum checks (8,037 zones both).
  for variant in full-run extent-only; do
    if [ "$variant" = full-run ]; then cfg=$CFG; suffix=""; else cfg=$ECFG; suffix="_extent"; fi
    say "${r} m: gep run, ${variant}"
    for t in $THREADS_LIST; do
      for ((i = 0; i < reps; i++)); do
        measure gep "$r" "$t" "$variant" -- "$GEP" -q run "$cfg" --threads "$t" --out "$DATA/out_${r}m_t${t}${suffix}"
      done
    done
  done

  say "${r} m: exactextract 0.3 (unique, frac, area)"
  for s in $EE_STRATEGIES; do
    measure exactextract "$r" 1 "$s" -- "$PY" bench/exactextract_bench.py "$TIF" "$ZONES_GPKG" "$s" "$DATA/exactextract_${r}m_${s}.csv"
  done
done

# --- Issue 12: land cover + five continuous rasters, and the models against InVEST ---------
AUX_NAMES="precipitation aet npp erosivity ndvi"
for r in $AUX_RES; do
  TIF="$DATA/clcd_zj26_epsg4549_${r}m.tif"
  missing=0
  for n in $AUX_NAMES; do [ -s "$DATA/aux_${n}_zj26_epsg4549_${r}m.tif" ] || missing=1; done
  if [ "$missing" = 1 ]; then
    say "${r} m: generating the five continuous rasters (xtask bench-aux)"
    measure bench-aux "$r" 2 generate -- "$XTASK" bench-aux --res "$r"
  fi
  AUX=()
  for n in $AUX_NAMES; do AUX+=("$DATA/aux_${n}_zj26_epsg4549_${r}m.tif"); done
  if [ "$r" = 30 ]; then reps=${BENCH_REPS_30:-3}; else reps=${BENCH_REPS_AUX_10:-1}; fi
  say "${r} m: decode floor of the land cover + five Float32 rasters"
  for t in $THREADS_LIST; do
    for ((i = 0; i < reps; i++)); do
      measure floor-all "$r" "$t" decode-6-rasters -- "$XTASK" decode-floor "$TIF" "${AUX[@]}" --threads "$t"
    done
  done
  say "${r} m: tally_values, 0 and 5 layers (xtask tally-values)"
  for layers in 0 5; do
    if [ "$layers" = 0 ]; then variant=extent-only; else variant=five-layers; fi
    for t in $THREADS_LIST; do
      for ((i = 0; i < reps; i++)); do
        measure tally-values "$r" "$t" "$variant" -- "$XTASK" tally-values --res "$r" --layers "$layers" --threads "$t" --json "$DATA/tally_values_${r}m_t${t}_${layers}.json"
      done
    done
  done
done

WIL=${BENCH_WILLAMETTE:-/work/shared/data/models/willamette}
if [ -s "$WIL/dem.tif" ]; then
  AET=${BENCH_WILLAMETTE_AET-/work/invest_full/awy/output/per_pixel/aet.tif}
  aet_arg=()
  [ -n "$AET" ] && [ -s "$AET" ] && aet_arg=(--aet "$AET")
  mreps=${BENCH_REPS_MODELS:-3}
  say "Willamette: gep models (terrain + RUSLE + water-balance sums)"
  for t in $THREADS_LIST; do
    for ((i = 0; i < mreps; i++)); do
      measure gep-models 30 "$t" willamette -- "$XTASK" models-willamette --data "$WIL" "${aet_arg[@]}" --threads "$t" --json "$DATA/models_willamette_t${t}.json"
    done
  done
  IPY=${BENCH_INVEST_PY:-/work/.venv-invest/bin/python}
  if [ -x "$IPY" ]; then
    say "Willamette: InVEST 3.20.2 SDR (D8) and AWY, fresh workspaces in /tmp"
    WS=$(mktemp -d /tmp/gep-bench-invest.XXXXXX)
    # The imports alone (≈ 3 s of each process), to tell them from execute().
    for ((i = 0; i < mreps; i++)); do
      measure invest 30 1 import-only -- "$IPY" -c "import natcap.invest.sdr.sdr, natcap.invest.annual_water_yield.annual_water_yield"
    done
    for ((i = 0; i < mreps; i++)); do
      for m in sdr awy; do
        if [ "$m" = sdr ]; then v=sdr-d8; else v=awy; fi
        measure invest 30 1 "$v" -- "$IPY" fixtures/models/make_reference.py "$m" --data "$WIL" --watersheds watersheds.shp --workspace "$WS/${m}_$i"
        rm -rf "${WS:?}/${m}_$i"
      done
    done
    rm -rf "$WS"
  fi
fi

say "writing $OUT_MD"
only=()
[ "$ONLY" = aux ] && only=(--only-aux)
"$PY" bench/report.py --log "$LOG" --commands "$CMDS" --data "$DATA" --out "$OUT_MD" \
  --threads "$THREADS_LIST" --res "$RES_LIST" --aux-res "$AUX_RES" --strategies "$EE_STRATEGIES" "${only[@]}"
cat "$OUT_MD"
