//! A valuation tool's use of the engine: assess a run plan (the TOML `gep run` reads) and
//! print each county's GEP per hectare, the failed counties and the totals with their price
//! year — no files written, nothing printed by the library.
//!
//! ```sh
//! cargo run -p gep-engine --example county_values -- fixtures/demo/gep.toml
//! ```

use gep_core::{Level, NoProgress};
use gep_engine::plan::{assess, Plan};
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: county_values PLAN.toml");
        return ExitCode::from(2);
    };
    let plan = match Plan::from_file(path.as_ref()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let a = match assess(&plan, &NoProgress) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let Some(accounts) = &a.accounts else {
        eprintln!("error: the plan has no [valuation]: nothing to value");
        return ExitCode::from(2);
    };
    println!(
        "{:<8} {:<14} {:>14} {:>12}",
        "code", "name", "GEP (亿元)", "元/ha"
    );
    for ((z, t), g) in a.zones.iter().zip(&a.extent.zones).zip(&accounts.gep) {
        if z.level != Level::County {
            continue;
        }
        let ha = t.total().to_m2() / 1e4;
        println!(
            "{:<8} {:<14} {:>14.2} {:>12.0}",
            z.id,
            z.name,
            g.gep_yuan / 1e8,
            g.gep_yuan / ha
        );
    }
    for f in &a.failures {
        println!("failed: {} {}: {}", f.unit_id, f.name, f.reason_text());
    }
    for w in &a.warnings {
        println!("warning: {w}");
    }
    if let Some(t) = &a.totals {
        println!(
            "total over {} counties: {:.2} 亿元 at {} prices ({})",
            t.zones,
            t.gep_yuan / 1e8,
            t.price_year.map_or("–".to_string(), |y| y.to_string()),
            t.method
        );
    }
    ExitCode::from(if a.failures.is_empty() { 0 } else { 1 })
}
