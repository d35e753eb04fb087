#!/usr/bin/env bash
# The benchmark behind `make bench`: the full `gep run` (26 counties + 470 townships + 7,541
# villages, extent + xie2015 valuation through the clcd crosswalk) against exactextract 0.3
# (per-zone class areas, best of its two strategies) and a plain GDAL decode of every block,
# at 30 m and 10 m, threads 1 and 2. Writes bench/RESULTS.md. Timings are figures, not assertions.
#
# Environment: BENCH_RES ("30 10"), BENCH_THREADS ("1 2"), BENCH_PY (bench/.venv/bin/python),
# BENCH_REPS_30 (3: best-of for gep and the floor at 30 m), BENCH_REPS_10 (2),
# BENCH_EE_STRATEGIES ("feature-sequential raster-sequential"), BENCH_OUT (bench/RESULTS.md).
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
: >"$LOG"
: >"$CMDS"
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "bench: /usr/bin/time missing (apt-get install -y time)" >&2; exit 2; }
[ -x "$PY" ] || { echo "bench: $PY missing (make bench creates it)" >&2; exit 2; }

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
  inner=$(sed -n 's/^[a-z_]*_seconds=\([0-9.]*\)$/\1/p' "$of" | tail -1)
  local cpu; cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN{printf "%.2f", u+s}')
  echo "$tool $res $threads $variant $wall $rss $cpu ${ex:-?} ${inner:--} $load1" >>"$LOG"
  printf '   %-12s %3sm t%s %-20s wall %6ss  rss %7.1f MiB  cpu %6ss  exit %s  (load %s)\n' \
    "$tool" "$res" "$threads" "$variant" "$wall" "$(awk -v k="$rss" 'BEGIN{print k/1024}')" "$cpu" "$ex" "$load1" >&2
  rm -f "$tf" "$of"
}

say "building gep and xtask (release)"
$CARGO build --release -p gep-cli -p xtask
GEP=target/release/gep
XTASK=target/release/xtask

for r in $RES_LIST; do
  if [ ! -s "$DATA/clcd_zj26_epsg4549_${r}m.tif" ]; then
    say "generating the ${r} m raster"
    $CARGO run --release -p xtask -- bench-data --res "$r"
  fi
done

say "reprojecting the boundaries to EPSG:4549 for exactextract (it does not reproject)"
ZONES_GPKG="$DATA/zj26_zones_epsg4549.gpkg"
if [ ! -s "$ZONES_GPKG" ] || [ fixtures/zj26_villages_generated.geojson -nt "$ZONES_GPKG" ]; then
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

say "writing $OUT_MD"
"$PY" bench/report.py --log "$LOG" --commands "$CMDS" --data "$DATA" --out "$OUT_MD" \
  --threads "$THREADS_LIST" --res "$RES_LIST" --strategies "$EE_STRATEGIES"
cat "$OUT_MD"
