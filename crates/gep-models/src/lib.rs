//! # gep-models
//!
//! Terrain and per-cell model pieces of the GEP (Gross Ecosystem Product, 生态系统生产总值)
//! engine's regulating services. Pure Rust: it reads and writes
//! [`ValueGrid`](gep_core::ValueGrid)s and [`ValueSource`](gep_core::ValueSource)s from
//! `gep-core`, never files.
//!
//! ## Modules
//!
//! - [`terrain`](mod@terrain): one algorithm per file —
//!   [`slope_percent`](terrain::slope_percent) (Horn 1981, percent),
//!   [`fill_pits`](terrain::fill_pits), [`flow_direction_d8`](terrain::flow_direction_d8),
//!   [`flow_accumulation_d8`](terrain::flow_accumulation_d8) (reproducing
//!   `pygeoprocessing.routing` 2.4.11 as InVEST 3.20.2 SDR runs it), and the LS factor; plus
//!   [`terrain()`](terrain::terrain), which chains them like InVEST's SDR.
//! - [`derived`]: [`DerivedLayer`], a `ValueSource` computed cell-wise from other sources on
//!   one grid, window by window (e.g. `rkls = R · K · LS`).
//! - [`rusle`]: vegetation cover from NDVI ([`NdviCover`]) and Cai's C from cover
//!   ([`cai_c_factor`]).
//! - [`water_conservation`], [`soil_retention`], [`carbon_oxygen`], [`climate_regulation`]:
//!   the physical quantities by zone × class from the tally's weighted sums.
//! - [`area_services`]: flood regulation, water and air purification (capped at the county's
//!   discharges and emissions) and negative air ions, from class areas and user tables.
//! - [`services`]: those quantities valued with a parameter set — quantity (unit) × price
//!   (unit, price year, source) = 元/a, units checked (GEP-METHOD §7, Garzé 2017).
//!
//! ## LS algorithms and their names
//!
//! The LS algorithm changes soil retention by 30-50 % (GEP-METHOD §2), so it is chosen by
//! name and the name goes into manifests ([`LsAlgorithm::name`](terrain::LsAlgorithm::name)):
//!
//! | name | what | defined in |
//! |---|---|---|
//! | `invest_d8` | InVEST 3.20.2 SDR: Desmet & Govers (1996) with A = √((FA − 1)·D²), S = 10.8 sin θ + 0.03 below 9 %, 16.8 sin θ − 0.50 from 9 %, m by slope class / Oliveira's β above 9 %, L capped at `l_max` | [`ls_cell_invest`](terrain::ls_cell_invest) |
//! | `chinese` | S = 10.8 sin θ + 0.03 (θ < 5°), 16.8 sin θ − 0.50 (5-10°), 21.91 sin θ − 0.96 (≥ 10°); L = (λ/22.13)^m, m = 0.5/0.4/0.3/0.2 at ≥ 5 / 3-5 / 1-3 / < 1 %; λ = FA · D capped at `lambda_max_m` | [`ls_cell_chinese`](terrain::ls_cell_chinese) |
//! | `supplied` | an LS raster from elsewhere, checked to lie in 0..=2000 | [`ls_supplied`](terrain::ls_supplied) |
//!
//! Slope is the same for all three: Horn's 3 × 3 weights in percent, which is also what
//! InVEST's `pygeoprocessing.calculate_slope` computes.
//!
//! ## What matches InVEST
//!
//! On the 128 × 128 Willamette window (`fixtures/models/`), checked by
//! `tests/invest_conformance.rs` against InVEST 3.20.2 SDR (D8) outputs: the filled DEM, flow
//! direction, flow accumulation and slope (its Float32 raster) are identical in every cell; LS
//! is within 7.5e-7 relative (max |diff| 5.9e-6), RKLS within 7.7e-7. The same holds on the
//! whole 1145 × 496 Willamette SDR run (5 × 2 blocks of 256, no data outside the watersheds:
//! routing identical, LS within 7.7e-7; the ignored test `invest_full_workspace`). LS cannot
//! be bit-identical: InVEST computes parts of it in float32 with numpy's SIMD math library,
//! whose last-bit results depend on the CPU ([`ls_cell_invest`](terrain::ls_cell_invest)).
//! Known differences by design:
//!
//! - no data is `None` here; pygeoprocessing compares with the nodata value by
//!   `|x − nodata| ≤ 1e-8 + 1e-5·|nodata|`, so a valid elevation within that distance of the
//!   file's nodata value would count as no data there and not here;
//! - pit filling computes pygeoprocessing's result by Priority-Flood (Barnes et al. 2014)
//!   instead of its pit-by-pit search, which revisits a basin once per pit merged into it (13 s
//!   against 0.46 s on a 1500 × 1500 test DEM); the surface is the same, checked against a
//!   line-by-line port on random DEMs and on the fixtures ([`fill_pits`](terrain::fill_pits));
//! - geographic grids and non-square cells are refused ([`ModelError::GeographicGrid`],
//!   [`ModelError::NonSquareCells`]); InVEST requires a projected DEM as well.
//!
//! ## How routing scales
//!
//! Pit filling and routing need the whole DEM at once (a plateau or a pit can span any part of
//! it). [`terrain()`](terrain::terrain) holds everything in memory and needs about
//! [`ROUTING_BYTES_PER_CELL`](terrain::ROUTING_BYTES_PER_CELL) = 120 bytes per cell: the input
//! DEM (16 B as `Option<f64>`), the five results (filled DEM, slope, direction, accumulation,
//! LS: 5 × 16 B) and working arrays (elevations `f64`, directions `u8`, plateau distances `f64`,
//! visited masks: ~18 B). Queues that follow the terrain (Priority-Flood's open cells, the
//! largest flat region, the longest flow path) come on top.
//!
//! | area | cells | memory |
//! |---|---|---|
//! | a county, ~2,000 km² at 30 m | ~2.2 M | ~0.26 GB |
//! | Zhejiang, ~105,000 km² at 30 m | ~117 M | ~14 GB |
//! | Zhejiang at 10 m | ~1.05 G | ~126 GB |
//!
//! Time is about linear in cells: a 1500 × 1500 DEM (2.25 M cells, a county at 30 m) takes
//! ~1.4 s in a release build on one core (fill 0.46 s, slope 0.09 s, direction 0.29 s,
//! accumulation 0.17 s, LS 0.39 s), so Zhejiang at 30 m would take minutes, if the memory were
//! there. The caller passes a memory budget; beyond it [`terrain()`](terrain::terrain)
//! refuses before allocating, with [`ModelError::OverMemoryBudget`] naming the DEM's size, the
//! per-cell estimate and the total. Route by county or by watershed (with a margin so that
//! flow paths are not cut at the border: a cut path lowers the accumulation downstream), or
//! coarsen the DEM. Tiled routing (as pygeoprocessing does with its block cache on disk) is not
//! implemented.
//!
//! ```
//! use gep_core::{CrsInfo, Grid, LayerInfo, ValueGrid};
//! use gep_models::terrain::{terrain, LsAlgorithm};
//! let g = Grid::new(0.0, 90.0, 30.0, 30.0, 3, 3, CrsInfo::projected("EPSG:32610")).unwrap();
//! let dem = ValueGrid::from_fn(g, LayerInfo::new("dem", "m"), |r, _| Some(100.0 - 3.0 * r as f64));
//! let t = terrain(&dem, &LsAlgorithm::Chinese { lambda_max_m: 300.0 }, 1 << 30).unwrap();
//! assert_eq!(t.algorithm.name(), "chinese");
//! assert_eq!(t.flow_accumulation.get(2, 1), Some(3.0));
//! ```
#![deny(missing_docs)]

pub mod area_services;
pub mod carbon_oxygen;
pub mod class_table;
pub mod climate_regulation;
pub mod derived;
pub mod error;
pub mod quantity;
pub mod rusle;
pub mod services;
pub mod soil_retention;
pub mod terrain;
pub mod water_conservation;

pub use derived::DerivedLayer;
pub use error::ModelError;
pub use quantity::Quantity;
pub use rusle::{cai_c_factor, NdviCover, CAI_FULL_COVER_PERCENT};
pub use terrain::{terrain, LsAlgorithm, Terrain};
