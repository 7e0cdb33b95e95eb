//! The built-in boards. Facts and their sources are in `shared/spec/topology-format.md`.

use crate::{CoreLimits, CostModel, Grid, Topology};

/// Each preset: name, chip grid (x, y), and a one-line description with its source.
pub const PRESETS: &[(&str, (u32, u32), &str)] = &[
    ("loihi", (1, 1), "one Loihi chip (Davies et al. 2018)"),
    ("kapoho-bay", (2, 1), "Kapoho Bay USB board, 2 chips (Intel)"),
    (
        "nahuku8",
        (2, 4),
        "Nahuku board, 8 chips (Intel; the 2x4 grid is an assumption)",
    ),
    (
        "nahuku32",
        (4, 8),
        "Nahuku board, 32 chips as 4x8 (Intel; the grid is inferred from Pohoiki Springs)",
    ),
    (
        "pohoiki-beach",
        (8, 8),
        "Pohoiki Beach, 64 chips: two Nahuku32 boards side by side (Intel; the grid is an assumption)",
    ),
    (
        "pohoiki-springs",
        (12, 64),
        "Pohoiki Springs, 768 chips as 12x64: 24 Nahuku32 boards (Frady et al. 2020)",
    ),
    // Loihi 2 (crates/hardware/src/loihi2.rs has the sources and builds them).
    (
        "loihi2",
        (1, 1),
        "one Loihi 2 chip (Intel Loihi 2 brief, 2021)",
    ),
    (
        "kapoho-point",
        (2, 4),
        "Kapoho Point, 8 Loihi 2 chips (Intel; the 2x4 grid is an assumption)",
    ),
    (
        "hala-point",
        (32, 36),
        "Hala Point, 1,152 Loihi 2 chips (Intel 2024; the 32x36 grid is an assumption)",
    ),
];

/// The default topology.
pub const DEFAULT_PRESET: &str = "nahuku32";

pub(crate) fn build(name: &str) -> Option<Topology> {
    let &(name, (x, y), _) = PRESETS.iter().find(|p| p.0 == name)?;
    if crate::loihi2::NAMES.contains(&name) {
        return Some(crate::loihi2::board(name, Grid { x, y }));
    }
    // Every preset is a Loihi board: 128 cores per chip on an 8x4 tile mesh (Davies et al. 2018; the tile
    // mesh as SANA-FE's arch/loihi.yaml models it).
    let topo = Topology::new(
        name,
        Grid { x, y },
        Grid { x: 8, y: 4 },
        4,
        CoreLimits::LOIHI,
        CostModel::default(),
    );
    Some(topo.expect("presets are valid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_have_the_published_sizes() {
        let sizes: Vec<(&str, u32, u64)> = PRESETS
            .iter()
            .map(|p| {
                let t = build(p.0).unwrap();
                (p.0, t.n_chips(), t.n_cores())
            })
            .collect();
        assert_eq!(
            sizes,
            [
                ("loihi", 1, 128),
                ("kapoho-bay", 2, 256),
                ("nahuku8", 8, 1024),
                ("nahuku32", 32, 4096),
                ("pohoiki-beach", 64, 8192),
                ("pohoiki-springs", 768, 98_304),
                ("loihi2", 1, 128),
                ("kapoho-point", 8, 1024),
                ("hala-point", 1152, 147_456),
            ]
        );
        assert!(build(DEFAULT_PRESET).is_some());
        assert!(build("hala-point-2").is_none());
        // Every Loihi 2 board is listed.
        for name in crate::loihi2::NAMES {
            assert!(PRESETS.iter().any(|p| p.0 == *name), "{name}");
        }
    }
}
