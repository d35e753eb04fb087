#!/usr/bin/env python3
"""exactextract 0.3 reference for `make bench`: per-zone class areas over the benchmark raster.

Usage: exactextract_bench.py RASTER ZONES.gpkg STRATEGY OUT.csv

ZONES.gpkg holds one layer with `zone_id` and `level` (the boundaries already reprojected to the
raster's CRS, EPSG:4549 — exactextract does not reproject). The area of class c in a zone is
frac(c) × area, with area = count(coverage_weight=area_cartesian), as in /work/shared/CONTRACTS.md.
Prints `exactextract_seconds=…` (the exact_extract call only, the interpreter start-up and the
CSV writing excluded) on stdout; the wall time and peak RSS of the whole process are measured
outside with /usr/bin/time -v.
"""
import csv
import sys
import time

from exactextract import exact_extract


def main():
    raster, zones, strategy, out = sys.argv[1:5]
    t0 = time.perf_counter()
    feats = exact_extract(
        raster,
        zones,
        ["unique", "frac", "area=count(coverage_weight=area_cartesian)"],
        include_cols=["zone_id", "level"],
        strategy=strategy,
        output="geojson",
    )
    secs = time.perf_counter() - t0
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["zone_id", "zone_level", "class", "area_m2"])
        for feat in feats:
            p = feat["properties"]
            for c, fr in zip(p["unique"], p["frac"]):
                w.writerow([p["zone_id"], p["level"], int(c), repr(float(fr) * p["area"])])
    print(f"exactextract_seconds={secs:.4f}")
    print(f"exactextract: {len(feats)} zones, strategy {strategy}", file=sys.stderr)


if __name__ == "__main__":
    main()
