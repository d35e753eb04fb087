//! Administrative zones (county, township, village) and how parents are resolved.

use crate::error::CoreError;
use geo_types::MultiPolygon;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The administrative level of a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// County-level unit (县/县级市/区), 6-digit code.
    County,
    /// Township-level unit (乡/镇/街道; "street" in the national code tables), 9-digit code.
    Township,
    /// Village-level unit (行政村/社区), 12-digit code.
    Village,
}

impl Level {
    /// The name used in files and configs.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::County => "county",
            Level::Township => "township",
            Level::Village => "village",
        }
    }

    /// Depth in the hierarchy: county 0, township 1, village 2.
    pub fn rank(self) -> u8 {
        match self {
            Level::County => 0,
            Level::Township => 1,
            Level::Village => 2,
        }
    }

    /// All levels from the top down.
    pub const ALL: [Level; 3] = [Level::County, Level::Township, Level::Village];
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Level {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Level, CoreError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "county" => Ok(Level::County),
            "township" | "street" | "town" => Ok(Level::Township),
            "village" => Ok(Level::Village),
            _ => Err(CoreError::UnknownLevel(s.to_string())),
        }
    }
}

/// One zone: an administrative unit with its boundary in the raster's CRS.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    /// Administrative code or other identifier, kept as text (leading zeros matter).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Level in the hierarchy.
    pub level: Level,
    /// Parent zone id, once resolved.
    pub parent: Option<String>,
    /// Boundary, in the coordinates of the grid it will be tallied on.
    pub geometry: MultiPolygon<f64>,
}

impl Zone {
    /// A zone without a parent yet (resolve parents with [`resolve_parents`], or set
    /// `parent` when the boundary file gives it).
    ///
    /// ```
    /// use gep_core::{geo_types::polygon, Level, Zone};
    /// let square = polygon![(x: 0.0, y: 0.0), (x: 30.0, y: 0.0), (x: 30.0, y: 30.0), (x: 0.0, y: 30.0)];
    /// let z = Zone::new("331123", "景宁畲族自治县", Level::County, square.into());
    /// assert_eq!(z.id, "331123");
    /// assert!(z.parent.is_none());
    /// ```
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        level: Level,
        geometry: MultiPolygon<f64>,
    ) -> Zone {
        Zone {
            id: id.into(),
            name: name.into(),
            level,
            parent: None,
            geometry,
        }
    }
}

/// Resolves and checks parent links in place.
///
/// A zone keeps its explicit parent when it has one (it must exist and be of a higher
/// level). Otherwise, when any zone of a higher level is loaded, its parent is the loaded
/// higher-level zone whose id is the **longest prefix** of its id (a village's parent is its
/// township when townships are loaded, else its county). Zones of the top loaded level have
/// no parent. Duplicate ids are errors.
///
/// # Errors
/// The first [`CoreError::OrphanZone`] in zone order (see [`resolve_parents_all`] for all
/// of them), [`CoreError::DuplicateZone`], [`CoreError::ParentLevel`].
pub fn resolve_parents(zones: &mut [Zone]) -> Result<(), CoreError> {
    match resolve_parents_all(zones)?.into_iter().next() {
        Some(orphan) => Err(orphan),
        None => Ok(()),
    }
}

/// [`resolve_parents`], going on past orphans: returns every [`CoreError::OrphanZone`], in
/// zone order (their parent links are left as given); the other zones are resolved. For a
/// batch run that fails only the counties with orphans, in one pass.
///
/// # Errors
/// [`CoreError::DuplicateZone`] and [`CoreError::ParentLevel`]: they stop the resolution.
pub fn resolve_parents_all(zones: &mut [Zone]) -> Result<Vec<CoreError>, CoreError> {
    let mut by_id: HashMap<String, Level> = HashMap::with_capacity(zones.len());
    for z in zones.iter() {
        if let Some(prev) = by_id.insert(z.id.clone(), z.level) {
            return Err(CoreError::DuplicateZone {
                id: z.id.clone(),
                first_level: prev.to_string(),
                second_level: z.level.to_string(),
            });
        }
    }
    let top = zones.iter().map(|z| z.level).min();
    let mut orphans = Vec::new();
    for z in zones.iter_mut() {
        if let Some(p) = &z.parent {
            match by_id.get(p) {
                Some(pl) if *pl < z.level => continue,
                Some(pl) => {
                    return Err(CoreError::ParentLevel {
                        id: z.id.clone(),
                        level: z.level.to_string(),
                        parent: p.clone(),
                        parent_level: pl.to_string(),
                    })
                }
                None => {
                    orphans.push(CoreError::OrphanZone {
                        id: z.id.clone(),
                        level: z.level.to_string(),
                        parent: Some(p.clone()),
                        expected: higher_levels(z.level),
                    });
                    continue;
                }
            }
        }
        if Some(z.level) == top {
            continue;
        }
        let found = (1..z.id.len())
            .rev()
            .filter(|&n| z.id.is_char_boundary(n))
            .map(|n| &z.id[..n])
            .find(|prefix| by_id.get(*prefix).is_some_and(|l| *l < z.level));
        match found {
            Some(p) => z.parent = Some(p.to_string()),
            None => orphans.push(CoreError::OrphanZone {
                id: z.id.clone(),
                level: z.level.to_string(),
                parent: None,
                expected: higher_levels(z.level),
            }),
        }
    }
    Ok(orphans)
}

fn higher_levels(level: Level) -> String {
    Level::ALL
        .iter()
        .filter(|l| **l < level)
        .map(|l| l.as_str())
        .collect::<Vec<_>>()
        .join(" or ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn z(id: &str, level: Level, parent: Option<&str>) -> Zone {
        Zone {
            id: id.into(),
            name: id.into(),
            level,
            parent: parent.map(Into::into),
            geometry: MultiPolygon::new(vec![]),
        }
    }

    #[test]
    fn longest_prefix_wins() {
        let mut zs = vec![
            z("331123", Level::County, None),
            z("331123100", Level::Township, None),
            z("331123100201", Level::Village, None),
            z("331123999201", Level::Village, None),
        ];
        // 331123999201 has no township loaded: it falls back to the county.
        resolve_parents(&mut zs).unwrap();
        assert_eq!(zs[0].parent, None);
        assert_eq!(zs[1].parent.as_deref(), Some("331123"));
        assert_eq!(zs[2].parent.as_deref(), Some("331123100"));
        assert_eq!(zs[3].parent.as_deref(), Some("331123"));
    }

    #[test]
    fn orphan_and_duplicate_are_errors() {
        let mut zs = vec![
            z("331123", Level::County, None),
            z("330100001001", Level::Village, None),
        ];
        let e = resolve_parents(&mut zs).unwrap_err().to_string();
        assert!(e.contains("330100001001"), "{e}");
        let mut zs = vec![z("1", Level::County, None), z("1", Level::Village, None)];
        assert!(matches!(
            resolve_parents(&mut zs),
            Err(CoreError::DuplicateZone { .. })
        ));
        let mut zs = vec![
            z("1", Level::County, None),
            z("2", Level::Village, Some("9")),
        ];
        assert!(matches!(
            resolve_parents(&mut zs),
            Err(CoreError::OrphanZone { .. })
        ));
        let mut zs = vec![
            z("1", Level::Village, None),
            z("2", Level::Village, Some("1")),
        ];
        assert!(matches!(
            resolve_parents(&mut zs),
            Err(CoreError::ParentLevel { .. })
        ));
    }

    #[test]
    fn only_villages_are_roots() {
        let mut zs = vec![z("330100001001", Level::Village, None)];
        resolve_parents(&mut zs).unwrap();
        assert_eq!(zs[0].parent, None);
    }

    #[test]
    fn level_names() {
        assert_eq!("street".parse::<Level>().unwrap(), Level::Township);
        assert!("province".parse::<Level>().is_err());
    }

    #[test]
    fn all_orphans_at_once_and_the_rest_resolved() {
        let mut zones = vec![
            z("33", Level::County, None),
            z("3301", Level::Township, None),
            z("330101", Level::Village, None),
            z("34x", Level::Village, None),
            z("330102", Level::Village, Some("3399")),
            z("330103", Level::Village, None),
        ];
        let orphans = resolve_parents_all(&mut zones).unwrap();
        let ids: Vec<String> = orphans
            .iter()
            .map(|e| match e {
                CoreError::OrphanZone { id, .. } => id.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(ids, ["34x", "330102"]);
        assert_eq!(zones[2].parent.as_deref(), Some("3301"));
        assert_eq!(zones[5].parent.as_deref(), Some("3301"));
        // resolve_parents stops at the first.
        let err = resolve_parents(&mut zones).unwrap_err();
        assert!(
            matches!(err, CoreError::OrphanZone { ref id, .. } if id == "34x"),
            "{err:?}"
        );
    }
}
