//! Units of work: a top-level zone (county) and everything below it, in a fixed order.

use gep_core::{ExtentTable, Zone};
use std::collections::{BTreeMap, HashMap};

/// One county (or other top-level zone) and its descendants, as indices into a zone list.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// Index of the unit's root zone.
    pub root: usize,
    /// Indices of all its zones: root first, then by level, then in input order.
    pub members: Vec<usize>,
}

/// Groups `zones` (parents resolved) into units, in the order of their roots.
pub fn group_units(zones: &[Zone]) -> Vec<Unit> {
    let index: HashMap<&str, usize> = zones
        .iter()
        .enumerate()
        .map(|(i, z)| (z.id.as_str(), i))
        .collect();
    let root_of = |mut i: usize| -> usize {
        while let Some(p) = zones[i].parent.as_deref().and_then(|p| index.get(p)) {
            i = *p;
        }
        i
    };
    let mut by_root: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..zones.len() {
        by_root.entry(root_of(i)).or_default().push(i);
    }
    by_root
        .into_iter()
        .map(|(root, mut members)| {
            members.sort_by_key(|&i| (zones[i].level, i));
            Unit { root, members }
        })
        .collect()
}

/// The zones of `units`, in unit order.
pub fn unit_zones(zones: &[Zone], units: &[&Unit]) -> Vec<Zone> {
    units
        .iter()
        .flat_map(|u| u.members.iter().map(|&i| zones[i].clone()))
        .collect()
}

/// Keeps the zones (and their tallies) of the units that did not fail.
pub fn drop_failed(zones: Vec<Zone>, table: &mut ExtentTable, failed: &[String]) -> Vec<Zone> {
    if failed.is_empty() {
        return zones;
    }
    let keep = keep_flags(&zones, failed);
    let mut k = keep.iter();
    table.retain(|_| *k.next().unwrap_or(&false));
    zones
        .into_iter()
        .zip(keep)
        .filter_map(|(z, k)| k.then_some(z))
        .collect()
}

/// Per zone: whether its root is not among `failed`.
fn keep_flags(zones: &[Zone], failed: &[String]) -> Vec<bool> {
    let parents: HashMap<&str, &str> = zones
        .iter()
        .filter_map(|z| z.parent.as_deref().map(|p| (z.id.as_str(), p)))
        .collect();
    zones
        .iter()
        .map(|z| {
            let mut id = z.id.as_str();
            while let Some(p) = parents.get(id) {
                id = p;
            }
            !failed.iter().any(|f| f == id)
        })
        .collect()
}
