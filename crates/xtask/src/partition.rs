//! The seeded township/village partition of the 26 counties.
//!
//! No public source holds township or village boundaries for Zhejiang, only the code tables
//! (see `/work/shared/data/README.md`). This generator makes a synthetic but deterministic
//! hierarchy with the real codes and names:
//!
//! 1. each county is split into one Voronoi cell per township (`streetCode`), from seeded
//!    random sites inside the county, clipped to the county;
//! 2. each township is split the same way into one cell per village.
//!
//! Everything is computed in longitude/latitude directly. The Voronoi metric scales longitude
//! by cos(latitude of the county's centre) so the cells are not stretched east-west; this is an
//! affine metric, so bisectors stay straight lines in lon/lat. It is a synthetic partition: no
//! geodesic meaning is claimed for the cell shapes.
//!
//! Exact tiling is the point of the fixture, so after clipping (geo's `BooleanOps`, which
//! rounds to an internal integer grid) the children are repaired into a conforming mesh:
//! - every child vertex within `SNAP` of a parent vertex becomes that parent vertex, bit for bit;
//! - every other child vertex within `SNAP` of an earlier child vertex becomes that vertex, so
//!   neighbours share bit-identical vertices;
//! - a shared vertex lying on a parent edge is moved onto that edge (its orthogonal projection);
//! - finally, a vertex of any zone of the county lying on another zone's edge (a T-junction,
//!   e.g. where villages of two townships meet the same township edge at different points) is
//!   inserted into that edge, so every interior edge appears in both neighbours.
//!
//! The check then verifies that Σ children = parent area and that every edge is either shared
//! (present reversed in exactly one sibling) or lies on the county boundary.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Context, Result};
use geo::{Area, BooleanOps, BoundingRect, Contains, Orient, Validation};
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use rayon::prelude::*;

use crate::rng::SplitMix64;

/// Snapping distance in degrees (~1 cm). geo's boolean ops round to an integer grid of ~1e-9°,
/// and where a Voronoi edge crosses a county edge at a grazing angle the rounded crossing
/// points of the two neighbours can differ by 1e-8° and more; distinct vertices of the county
/// files (6 decimals) and of a random Voronoi partition are practically never this close.
const SNAP: f64 = 1e-7;
/// Distance in degrees within which a vertex counts as lying on an edge (T-junction repair).
const ON_EDGE: f64 = 1e-11;
/// Tag mixed into every seed: change it to get a different (still deterministic) partition.
const SEED_TAG: &str = "gep-partition-v1";

/// A zone of the generated hierarchy.
#[derive(Debug, Clone)]
pub struct Zone {
    /// Administrative code (9 digits for townships, 12 for villages).
    pub zone_id: String,
    /// Real Chinese name from the code table.
    pub name: String,
    /// Parent code (county adcode for townships, township code for villages).
    pub parent: String,
    /// Geometry in EPSG:4490 longitude/latitude.
    pub geom: MultiPolygon<f64>,
}

/// Tiling residuals measured on the generated partition.
#[derive(Debug, Default, Clone)]
pub struct Residuals {
    /// max over counties of |Σ townships − county| / county (planar lon/lat area).
    pub township_vs_county: f64,
    /// max over townships of |Σ villages − township| / township.
    pub village_vs_township: f64,
    /// max over counties of |Σ villages − county| / county.
    pub village_vs_county: f64,
    /// Edges (townships and villages) neither shared with a sibling nor on the county boundary.
    pub unmatched_edges: usize,
    /// max over counties of |length of unshared edges − county perimeter| / perimeter, villages.
    pub boundary_length: f64,
    /// Largest distance a vertex was moved by snapping (degrees).
    pub max_snap: f64,
    /// Number of T-junction vertices inserted.
    pub tjunctions: usize,
    /// Zones whose geometry is not OGC-valid.
    pub invalid: usize,
}

struct County {
    adcode: String,
    geom: MultiPolygon<f64>,
}

struct Township {
    code: String,
    name: String,
    county: String,
}

struct Village {
    code: String,
    name: String,
    township: String,
}

/// Result of a partition run.
pub struct Partition {
    /// Township zones in code order.
    pub townships: Vec<Zone>,
    /// Village zones in code order.
    pub villages: Vec<Zone>,
    /// Measured residuals.
    pub residuals: Residuals,
    /// Townships in the streets table that have no village (they get a township cell and no
    /// village cells).
    pub townships_without_villages: Vec<String>,
}

fn read_counties(path: &Path) -> Result<Vec<County>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let feats = v["features"].as_array().context("no features array")?;
    let mut out = Vec::new();
    for f in feats {
        let adcode = f["properties"]["adcode"]
            .as_str()
            .context("feature without adcode")?
            .to_string();
        let g = &f["geometry"];
        let polys: Vec<Vec<Vec<Vec<f64>>>> = match g["type"].as_str() {
            Some("MultiPolygon") => serde_json::from_value(g["coordinates"].clone())?,
            Some("Polygon") => vec![serde_json::from_value(g["coordinates"].clone())?],
            other => bail!("county {adcode}: unsupported geometry type {other:?}"),
        };
        let mp = MultiPolygon::new(
            polys
                .into_iter()
                .map(|rings| {
                    let mut rings = rings.into_iter().map(|r| {
                        LineString::new(r.into_iter().map(|c| Coord { x: c[0], y: c[1] }).collect())
                    });
                    let ext = rings.next().unwrap_or_else(|| LineString::new(vec![]));
                    Polygon::new(ext, rings.collect())
                })
                .collect(),
        );
        out.push(County { adcode, geom: mp });
    }
    out.sort_by(|a, b| a.adcode.cmp(&b.adcode));
    Ok(out)
}

fn read_csv(path: &Path) -> Result<Vec<HashMap<String, String>>> {
    let mut rdr =
        csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    let headers = rdr.headers()?.clone();
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec?;
        rows.push(
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect(),
        );
    }
    Ok(rows)
}

/// Seeded sites uniformly inside `parent` (rejection sampling in its bounding box).
fn sites_in(parent: &MultiPolygon<f64>, n: usize, key: &str) -> Vec<Coord<f64>> {
    let bb = parent.bounding_rect().expect("non-empty parent");
    let mut rng = SplitMix64::from_key(&format!("{SEED_TAG}:{key}"));
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let c = Coord {
            x: bb.min().x + rng.next_f64() * bb.width(),
            y: bb.min().y + rng.next_f64() * bb.height(),
        };
        if parent.contains(&geo_types::Point(c)) {
            out.push(c);
        }
    }
    out
}

/// Clip a convex polygon (open ring) by the half-plane a·x + b·y ≤ c.
fn clip_half_plane(poly: &[Coord<f64>], a: f64, b: f64, c: f64) -> Vec<Coord<f64>> {
    let mut out = Vec::with_capacity(poly.len() + 1);
    let n = poly.len();
    for i in 0..n {
        let p = poly[i];
        let q = poly[(i + 1) % n];
        let fp = a * p.x + b * p.y - c;
        let fq = a * q.x + b * q.y - c;
        if fp <= 0.0 {
            out.push(p);
        }
        if (fp < 0.0 && fq > 0.0) || (fp > 0.0 && fq < 0.0) {
            let t = fp / (fp - fq);
            out.push(Coord {
                x: p.x + t * (q.x - p.x),
                y: p.y + t * (q.y - p.y),
            });
        }
    }
    out
}

/// Voronoi cells (as convex polygons covering `parent`'s box) of `sites`, each intersected with
/// `parent`, then repaired into a conforming mesh against `parent`.
fn voronoi_clip(
    parent: &MultiPolygon<f64>,
    sites: &[Coord<f64>],
    max_snap: &mut f64,
) -> Vec<MultiPolygon<f64>> {
    let bb = parent.bounding_rect().expect("non-empty parent");
    let (w, h) = (bb.width(), bb.height());
    let (x0, x1) = (bb.min().x - 0.1 * w, bb.max().x + 0.1 * w);
    let (y0, y1) = (bb.min().y - 0.1 * h, bb.max().y + 0.1 * h);
    let lat = 0.5 * (bb.min().y + bb.max().y);
    let k2 = lat.to_radians().cos().powi(2);
    let mut cells = Vec::with_capacity(sites.len());
    for (i, si) in sites.iter().enumerate() {
        let mut cell = vec![
            Coord { x: x0, y: y0 },
            Coord { x: x1, y: y0 },
            Coord { x: x1, y: y1 },
            Coord { x: x0, y: y1 },
        ];
        for (j, sj) in sites.iter().enumerate() {
            if i == j {
                continue;
            }
            // k²(xj−xi)·x + (yj−yi)·y ≤ (k²(xj²−xi²) + (yj²−yi²)) / 2: closer to i than to j.
            let a = k2 * (sj.x - si.x);
            let b = sj.y - si.y;
            let c = 0.5 * (k2 * (sj.x * sj.x - si.x * si.x) + (sj.y * sj.y - si.y * si.y));
            cell = clip_half_plane(&cell, a, b, c);
            if cell.is_empty() {
                break;
            }
        }
        let mut ring = cell;
        if let Some(first) = ring.first().copied() {
            ring.push(first);
        }
        let vpoly = Polygon::new(LineString::new(ring), vec![]);
        cells.push(parent.intersection(&MultiPolygon::new(vec![vpoly])));
    }
    conform(parent, cells, max_snap)
}

/// Uniform grid of points for "anything within d of here?" queries.
struct PointGrid {
    h: f64,
    cells: HashMap<(i64, i64), Vec<usize>>,
    pts: Vec<Coord<f64>>,
}

impl PointGrid {
    fn new(h: f64) -> Self {
        Self {
            h,
            cells: HashMap::new(),
            pts: Vec::new(),
        }
    }
    fn key(&self, c: Coord<f64>) -> (i64, i64) {
        ((c.x / self.h).floor() as i64, (c.y / self.h).floor() as i64)
    }
    fn insert(&mut self, c: Coord<f64>) -> usize {
        let k = self.key(c);
        self.pts.push(c);
        let id = self.pts.len() - 1;
        self.cells.entry(k).or_default().push(id);
        id
    }
    /// The earliest inserted point within `d` of `c` (d ≤ h).
    fn find(&self, c: Coord<f64>, d: f64) -> Option<usize> {
        let (kx, ky) = self.key(c);
        let mut best: Option<usize> = None;
        for dx in -1..=1 {
            for dy in -1..=1 {
                if let Some(ids) = self.cells.get(&(kx + dx, ky + dy)) {
                    for &id in ids {
                        let p = self.pts[id];
                        if (p.x - c.x).hypot(p.y - c.y) <= d && best.is_none_or(|b| id < b) {
                            best = Some(id);
                        }
                    }
                }
            }
        }
        best
    }
}

fn rings_of(mp: &MultiPolygon<f64>) -> impl Iterator<Item = &LineString<f64>> {
    mp.0.iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors().iter()))
}

/// Distance from c to segment pq and the orthogonal projection of c on it.
fn project(c: Coord<f64>, p: Coord<f64>, q: Coord<f64>) -> (f64, Coord<f64>, f64) {
    let (dx, dy) = (q.x - p.x, q.y - p.y);
    let l2 = dx * dx + dy * dy;
    if l2 == 0.0 {
        return ((c.x - p.x).hypot(c.y - p.y), p, 0.0);
    }
    let t = ((c.x - p.x) * dx + (c.y - p.y) * dy) / l2;
    let t = t.clamp(0.0, 1.0);
    let pr = Coord {
        x: p.x + t * dx,
        y: p.y + t * dy,
    };
    ((c.x - pr.x).hypot(c.y - pr.y), pr, t)
}

/// Snap children onto the parent's vertices and onto each other, and put boundary vertices on
/// the parent's edges (see the module docs).
fn conform(
    parent: &MultiPolygon<f64>,
    children: Vec<MultiPolygon<f64>>,
    max_snap: &mut f64,
) -> Vec<MultiPolygon<f64>> {
    let mut grid = PointGrid::new(1e-6);
    for r in rings_of(parent) {
        for c in r.0.iter() {
            if grid.find(*c, 0.0).is_none() {
                grid.insert(*c);
            }
        }
    }
    let n_parent = grid.pts.len();
    let parent_edges: Vec<(Coord<f64>, Coord<f64>)> = rings_of(parent)
        .flat_map(|r| r.lines().map(|l| (l.start, l.end)))
        .collect();
    // canonical id -> final coordinate (projection computed once per canonical vertex).
    let mut fixed: HashMap<usize, Coord<f64>> = HashMap::new();
    let mut snap_one = |c: Coord<f64>, grid: &mut PointGrid| -> Coord<f64> {
        let id = match grid.find(c, SNAP) {
            Some(id) => {
                let p = grid.pts[id];
                *max_snap = max_snap.max((p.x - c.x).hypot(p.y - c.y));
                id
            }
            None => grid.insert(c),
        };
        if id < n_parent {
            return grid.pts[id];
        }
        *fixed.entry(id).or_insert_with(|| {
            let p = grid.pts[id];
            let mut best = (f64::INFINITY, p);
            for &(a, b) in &parent_edges {
                let (d, pr, _) = project(p, a, b);
                if d < best.0 {
                    best = (d, pr);
                }
            }
            if best.0 <= SNAP {
                best.1
            } else {
                p
            }
        })
    };
    children
        .into_iter()
        .map(|mp| {
            let polys =
                mp.0.iter()
                    .filter_map(|poly| {
                        let mut fix = |ls: &LineString<f64>| -> Option<LineString<f64>> {
                            let mut v: Vec<Coord<f64>> = Vec::with_capacity(ls.0.len());
                            for c in ls.0.iter() {
                                let s = snap_one(*c, &mut grid);
                                if v.last() != Some(&s) {
                                    v.push(s);
                                }
                            }
                            if v.len() > 1 && v.first() == v.last() {
                                v.pop();
                            }
                            if v.len() < 3 {
                                return None;
                            }
                            v.push(v[0]);
                            let ls = LineString::new(v);
                            (Polygon::new(ls.clone(), vec![]).unsigned_area() > 0.0).then_some(ls)
                        };
                        let ext = fix(poly.exterior())?;
                        let holes = poly.interiors().iter().filter_map(&mut fix).collect();
                        Some(Polygon::new(ext, holes))
                    })
                    .collect();
            MultiPolygon::new(polys)
        })
        .collect()
}

/// Insert every zone vertex that lies on another zone's edge into that edge (T-junctions).
///
/// `parent` vertices are inserted too (within `SNAP`): geo's boolean ops drop parent vertices
/// that become collinear on their integer grid.
fn fix_tjunctions(zones: &mut [MultiPolygon<f64>], parents: &[MultiPolygon<f64>]) -> usize {
    let mut grid = PointGrid::new(2e-3);
    for r in parents.iter().flat_map(rings_of) {
        for c in r.0.iter() {
            if grid.find(*c, 0.0).is_none() {
                grid.insert(*c);
            }
        }
    }
    let n_parent = grid.pts.len();
    for z in zones.iter() {
        for r in rings_of(z) {
            for c in r.0.iter() {
                if grid.find(*c, 0.0).is_none() {
                    grid.insert(*c);
                }
            }
        }
    }
    let mut inserted = 0;
    for z in zones.iter_mut() {
        for poly in z.0.iter_mut() {
            let fix = |ls: &mut LineString<f64>, inserted: &mut usize| {
                let mut out = Vec::with_capacity(ls.0.len());
                for l in ls.lines() {
                    out.push(l.start);
                    let (p, q) = (l.start, l.end);
                    let (kx0, ky0) = grid.key(Coord {
                        x: p.x.min(q.x),
                        y: p.y.min(q.y),
                    });
                    let (kx1, ky1) = grid.key(Coord {
                        x: p.x.max(q.x),
                        y: p.y.max(q.y),
                    });
                    let mut on: Vec<(f64, Coord<f64>)> = Vec::new();
                    for kx in kx0 - 1..=kx1 + 1 {
                        for ky in ky0 - 1..=ky1 + 1 {
                            if let Some(ids) = grid.cells.get(&(kx, ky)) {
                                for &id in ids {
                                    let c = grid.pts[id];
                                    if c == p || c == q {
                                        continue;
                                    }
                                    let (d, _, t) = project(c, p, q);
                                    let tol = if id < n_parent { SNAP } else { ON_EDGE };
                                    if d <= tol && t > 0.0 && t < 1.0 {
                                        on.push((t, c));
                                    }
                                }
                            }
                        }
                    }
                    on.sort_by(|a, b| a.0.total_cmp(&b.0));
                    *inserted += on.len();
                    out.extend(on.into_iter().map(|(_, c)| c));
                }
                if let Some(first) = out.first().copied() {
                    out.push(first);
                }
                *ls = LineString::new(out);
            };
            let mut ext = poly.exterior().clone();
            fix(&mut ext, &mut inserted);
            let mut holes = poly.interiors().to_vec();
            for h in holes.iter_mut() {
                fix(h, &mut inserted);
            }
            *poly = Polygon::new(ext, holes);
        }
    }
    inserted
}

/// A directed edge.
type Edge = (Coord<f64>, Coord<f64>);
/// A directed edge by the bits of its end points.
type EdgeKey = ((u64, u64), (u64, u64));

/// Count edges of `zones` not present reversed in another zone, and their total length.
fn unshared_edges(zones: &[MultiPolygon<f64>]) -> (usize, f64, Vec<Edge>) {
    let key = |c: Coord<f64>| (c.x.to_bits(), c.y.to_bits());
    let mut count: HashMap<EdgeKey, i32> = HashMap::new();
    for z in zones {
        for r in rings_of(z) {
            for l in r.lines() {
                *count.entry((key(l.start), key(l.end))).or_default() += 1;
            }
        }
    }
    let mut n = 0;
    let mut len = 0.0;
    let mut edges = Vec::new();
    for z in zones {
        for r in rings_of(z) {
            for l in r.lines() {
                if !count.contains_key(&(key(l.end), key(l.start))) {
                    n += 1;
                    len += (l.end.x - l.start.x).hypot(l.end.y - l.start.y);
                    edges.push((l.start, l.end));
                }
            }
        }
    }
    (n, len, edges)
}

fn perimeter(mp: &MultiPolygon<f64>) -> f64 {
    rings_of(mp)
        .flat_map(|r| r.lines())
        .map(|l| (l.end.x - l.start.x).hypot(l.end.y - l.start.y))
        .sum()
}

/// Whether an edge lies on the county boundary (within ON_EDGE at both ends).
fn on_boundary(e: (Coord<f64>, Coord<f64>), county: &[(Coord<f64>, Coord<f64>)]) -> bool {
    county
        .iter()
        .any(|&(a, b)| project(e.0, a, b).0 <= ON_EDGE && project(e.1, a, b).0 <= ON_EDGE)
}

struct CountyResult {
    townships: Vec<Zone>,
    villages: Vec<Zone>,
    res: Residuals,
}

fn relative(sum: f64, whole: f64) -> f64 {
    (sum - whole).abs() / whole
}

fn partition_county(
    county: &County,
    towns: &[&Township],
    villages: &BTreeMap<&str, Vec<&Village>>,
) -> CountyResult {
    let mut res = Residuals::default();
    let sites = sites_in(&county.geom, towns.len(), &county.adcode);
    let mut tgeoms = voronoi_clip(&county.geom, &sites, &mut res.max_snap);
    res.tjunctions += fix_tjunctions(&mut tgeoms, std::slice::from_ref(&county.geom));
    let tgeoms: Vec<MultiPolygon<f64>> = tgeoms
        .into_iter()
        .map(|g| g.orient(geo::orient::Direction::Default))
        .collect();
    let county_area = county.geom.unsigned_area();
    res.township_vs_county = relative(tgeoms.iter().map(|g| g.unsigned_area()).sum(), county_area);

    let mut vzones: Vec<Zone> = Vec::new();
    let mut all_v: Vec<MultiPolygon<f64>> = Vec::new();
    let mut vparent: Vec<usize> = Vec::new();
    for (ti, (t, tg)) in towns.iter().zip(&tgeoms).enumerate() {
        let Some(vs) = villages.get(t.code.as_str()) else {
            continue;
        };
        let vsites = sites_in(tg, vs.len(), &t.code);
        let vg = voronoi_clip(tg, &vsites, &mut res.max_snap);
        for (v, g) in vs.iter().zip(vg) {
            vzones.push(Zone {
                zone_id: v.code.clone(),
                name: v.name.clone(),
                parent: t.code.clone(),
                geom: g.clone(),
            });
            all_v.push(g);
            vparent.push(ti);
        }
    }
    res.tjunctions += fix_tjunctions(&mut all_v, &tgeoms);
    let all_v: Vec<MultiPolygon<f64>> = all_v
        .into_iter()
        .map(|g| g.orient(geo::orient::Direction::Default))
        .collect();
    for (z, g) in vzones.iter_mut().zip(&all_v) {
        z.geom = g.clone();
    }
    for (ti, tg) in tgeoms.iter().enumerate() {
        let s: f64 = all_v
            .iter()
            .zip(&vparent)
            .filter(|(_, &p)| p == ti)
            .map(|(g, _)| g.unsigned_area())
            .sum();
        if s > 0.0 {
            res.village_vs_township = res.village_vs_township.max(relative(s, tg.unsigned_area()));
        }
    }
    res.village_vs_county = relative(all_v.iter().map(|g| g.unsigned_area()).sum(), county_area);

    let county_edges: Vec<(Coord<f64>, Coord<f64>)> = rings_of(&county.geom)
        .flat_map(|r| r.lines().map(|l| (l.start, l.end)))
        .collect();
    for level in [&tgeoms, &all_v] {
        let (_, len, edges) = unshared_edges(level);
        res.unmatched_edges += edges
            .iter()
            .filter(|e| !on_boundary(**e, &county_edges))
            .count();
        res.boundary_length = res
            .boundary_length
            .max(relative(len, perimeter(&county.geom)));
    }
    res.invalid = tgeoms
        .iter()
        .chain(all_v.iter())
        .filter(|g| !g.is_valid())
        .count();

    let townships = towns
        .iter()
        .zip(tgeoms)
        .map(|(t, g)| Zone {
            zone_id: t.code.clone(),
            name: t.name.clone(),
            parent: t.county.clone(),
            geom: g,
        })
        .collect();
    CountyResult {
        townships,
        villages: vzones,
        res,
    }
}

/// Build the partition from the shared data directory.
pub fn build(data: &Path) -> Result<Partition> {
    let counties = read_counties(&data.join("zj26_counties_cgcs2000.geojson"))?;
    let towns: Vec<Township> = read_csv(&data.join("zj26_streets.csv"))?
        .into_iter()
        .map(|r| Township {
            code: r["code"].clone(),
            name: r["name"].clone(),
            county: r["areaCode"].clone(),
        })
        .collect();
    let vils: Vec<Village> = read_csv(&data.join("zj26_villages.csv"))?
        .into_iter()
        .map(|r| Village {
            code: r["code"].clone(),
            name: r["name"].clone(),
            township: r["streetCode"].clone(),
        })
        .collect();

    let mut by_county: BTreeMap<&str, Vec<&Township>> = BTreeMap::new();
    for t in &towns {
        by_county.entry(t.county.as_str()).or_default().push(t);
    }
    for ts in by_county.values_mut() {
        ts.sort_by(|a, b| a.code.cmp(&b.code));
    }
    let mut by_town: BTreeMap<&str, Vec<&Village>> = BTreeMap::new();
    for v in &vils {
        by_town.entry(v.township.as_str()).or_default().push(v);
    }
    for vs in by_town.values_mut() {
        vs.sort_by(|a, b| a.code.cmp(&b.code));
    }
    // Deliberate handling of table inconsistencies: a village whose township is not in the
    // streets table cannot be placed (its parent cell does not exist), so it is an error that
    // names it; a township without villages keeps its township cell and simply has no
    // village cells (then Σ villages < county for that county, and the report says so).
    let known: std::collections::BTreeSet<&str> = towns.iter().map(|t| t.code.as_str()).collect();
    let orphans: Vec<&str> = vils
        .iter()
        .filter(|v| !known.contains(v.township.as_str()))
        .map(|v| v.code.as_str())
        .collect();
    if !orphans.is_empty() {
        bail!(
            "{} villages have a streetCode missing from zj26_streets.csv, e.g. {}",
            orphans.len(),
            orphans[0]
        );
    }
    let townships_without_villages: Vec<String> = towns
        .iter()
        .filter(|t| !by_town.contains_key(t.code.as_str()))
        .map(|t| t.code.clone())
        .collect();
    for c in &counties {
        if !by_county.contains_key(c.adcode.as_str()) {
            bail!("county {} has no township in zj26_streets.csv", c.adcode);
        }
    }

    let results: Vec<CountyResult> = counties
        .par_iter()
        .map(|c| partition_county(c, &by_county[c.adcode.as_str()], &by_town))
        .collect();

    let mut townships = Vec::new();
    let mut villages = Vec::new();
    let mut r = Residuals::default();
    for cr in results {
        townships.extend(cr.townships);
        villages.extend(cr.villages);
        r.township_vs_county = r.township_vs_county.max(cr.res.township_vs_county);
        r.village_vs_township = r.village_vs_township.max(cr.res.village_vs_township);
        r.village_vs_county = r.village_vs_county.max(cr.res.village_vs_county);
        r.unmatched_edges += cr.res.unmatched_edges;
        r.boundary_length = r.boundary_length.max(cr.res.boundary_length);
        r.max_snap = r.max_snap.max(cr.res.max_snap);
        r.tjunctions += cr.res.tjunctions;
        r.invalid += cr.res.invalid;
    }
    townships.sort_by(|a, b| a.zone_id.cmp(&b.zone_id));
    villages.sort_by(|a, b| a.zone_id.cmp(&b.zone_id));
    Ok(Partition {
        townships,
        villages,
        residuals: r,
        townships_without_villages,
    })
}

/// GeoJSON text for zones: EPSG:4490 `crs` member, one feature per line, shortest round-trip
/// f64 formatting (full precision).
pub fn to_geojson(zones: &[Zone], level: &str) -> String {
    let mut s = String::new();
    s.push_str("{\"type\":\"FeatureCollection\",\"crs\":{\"type\":\"name\",\"properties\":{\"name\":\"urn:ogc:def:crs:EPSG::4490\"}},\"features\":[\n");
    for (i, z) in zones.iter().enumerate() {
        let _ = write!(
            s,
            "{{\"type\":\"Feature\",\"properties\":{{\"zone_id\":{},\"name\":{},\"parent\":{},\"level\":{}}},\"geometry\":{{\"type\":\"MultiPolygon\",\"coordinates\":[",
            serde_json::Value::from(z.zone_id.as_str()),
            serde_json::Value::from(z.name.as_str()),
            serde_json::Value::from(z.parent.as_str()),
            serde_json::Value::from(level),
        );
        for (pi, p) in z.geom.0.iter().enumerate() {
            s.push_str(if pi > 0 { ",[" } else { "[" });
            for (ri, r) in std::iter::once(p.exterior())
                .chain(p.interiors())
                .enumerate()
            {
                s.push_str(if ri > 0 { ",[" } else { "[" });
                for (ci, c) in r.0.iter().enumerate() {
                    // `{:?}` on f64 is the shortest text that parses back to the same bits.
                    let _ = write!(s, "{}[{:?},{:?}]", if ci > 0 { "," } else { "" }, c.x, c.y);
                }
                s.push(']');
            }
            s.push(']');
        }
        s.push_str("]}}");
        s.push_str(if i + 1 < zones.len() { ",\n" } else { "\n" });
    }
    s.push_str("]}\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
    }

    /// The committed partition is exactly what the generator produces (same bytes), and it tiles.
    #[test]
    fn regenerating_the_partition_gives_identical_bytes() {
        let p = build(&fixtures()).unwrap();
        for (zones, level, file) in [
            (&p.townships, "township", "zj26_townships_generated.geojson"),
            (&p.villages, "village", "zj26_villages_generated.geojson"),
        ] {
            let committed = std::fs::read_to_string(fixtures().join(file)).unwrap();
            assert!(
                to_geojson(zones, level) == committed,
                "{file} differs from the generator output"
            );
        }
        assert_eq!(p.townships.len(), 470);
        assert_eq!(p.villages.len(), 7541);
        let r = &p.residuals;
        assert!(r.township_vs_county < 1e-12, "{r:?}");
        assert!(r.village_vs_township < 1e-12, "{r:?}");
        assert!(r.village_vs_county < 1e-12, "{r:?}");
        assert_eq!(r.unmatched_edges, 0);
        assert_eq!(r.invalid, 0);
    }

    #[test]
    fn half_plane_clip_of_unit_square() {
        let sq = [
            Coord { x: 0.0, y: 0.0 },
            Coord { x: 1.0, y: 0.0 },
            Coord { x: 1.0, y: 1.0 },
            Coord { x: 0.0, y: 1.0 },
        ];
        // x ≤ 0.25 keeps a quarter of the square.
        let c = clip_half_plane(&sq, 1.0, 0.0, 0.25);
        let mut ring = c.clone();
        ring.push(c[0]);
        assert_eq!(
            Polygon::new(LineString::new(ring), vec![]).unsigned_area(),
            0.25
        );
    }
}
