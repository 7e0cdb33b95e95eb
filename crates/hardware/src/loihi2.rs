//! The Loihi 2 boards: one chip, Kapoho Point and Hala Point. Every limit below has its source or is
//! marked an assumption; `shared/spec/topology-format.md`'s table lists them with the Loihi 1 facts.
//!
//! - Chip: 128 neuro cores and 6 embedded x86 (Lakemont) cores, up to 1 million neurons and 120 million
//!   synapses (Intel, "Taking Neuromorphic Computing to the Next Level with Loihi 2", technology brief,
//!   2021, as open-neuromorphic.org's Loihi 2 page quotes it). Up to 8,192 neurons and 192 KB of memory
//!   per core, shared between neuron state, synapses and routing tables, are the brief's per-core
//!   figures as issue 17 quotes them; not checked against the brief here.
//! - The neuron/synapse trade: Loihi 2 cores partition their memory freely. snn-place's limits are fixed
//!   per core, so the presets take one point of the trade (an assumption): 8,192 neurons at 64 bits of
//!   state each (64 KB) leave 128 KB = 1,048,576 bits for synapses, 131,072 synapses at 8 bits, the same
//!   synapse memory as a Loihi 1 core. A net that needs more synapses per core and fewer neurons can use
//!   an `snn-topology/1` file with another split (`loihi2` as its `runtime`, `multicast` as its
//!   `traffic`).
//! - Input and output axons per core: not published; 8,192 each (an assumption: one per neuron, twice
//!   Loihi 1's 4,096).
//! - Tile mesh: the 128 cores as 8x4 tiles of 4, as Loihi 1 (an assumption; the runtime model prices
//!   each core's network port, not tile hops).
//! - Boards: Kapoho Point is 8 Loihi 2 chips on one stackable board (Intel, 2022), taken as a 2x4 mesh
//!   (an assumption); Hala Point is 1,152 Loihi 2 chips with 140,544 neuro cores and 1.15 billion
//!   neurons (Intel, April 2024), taken as a 32x36 mesh of full 128-core chips (an assumption: Intel
//!   describes a three-dimensional chassis, which snn-place's 2D mesh approximates, and its core count
//!   means about 122 usable cores per chip).
//! - Spike routing: multicast, one message per destination chip fanned out there. This is the
//!   project's reading of Loihi 2 (the `TrafficModel` docs); no primary source found here confirms or
//!   measures it, so it is an assumption, and `--traffic unicast` overrides it.
//! - Time model: the max-affine runtime model of Timcheck, Pierro and Shrestha (arXiv 2601.10035, 2026),
//!   [`RuntimeModel::Loihi2`]; its constants are in [`crate::CostModel`] (`dendop_ns`,
//!   `loihi2_synop_ns`, `synmem_read_ns`, `noc_bit_ns`, `chip_link_bit_ns`): the paper's fitted values
//!   could not be read here, so they are Intel's published Hala Point peak rates divided per core (or
//!   per link), and the barrier, hop latency and host link are Loihi 1's, each marked.

use crate::{CoreLimits, CostModel, Grid, RuntimeModel, Topology, TrafficModel};

impl CoreLimits {
    /// A Loihi 2 neuro core (see the module docs for sources and the assumed neuron/synapse split).
    pub const LOIHI2: CoreLimits = CoreLimits {
        compartments: 8192,
        in_axons: 8192,
        out_axons: 8192,
        synapse_bits: 1 << 20,
        max_blocks: 16,
    };
}

/// The Loihi 2 presets in [`crate::PRESETS`] (which gives their grids and descriptions).
pub(crate) const NAMES: &[&str] = &["loihi2", "kapoho-point", "hala-point"];

/// A Loihi 2 board of `chips`: Loihi 2 cores, multicast routing, the Loihi 2 runtime model.
pub(crate) fn board(name: &str, chips: Grid) -> Topology {
    let mut topo = Topology::new(
        name,
        chips,
        Grid { x: 8, y: 4 },
        4,
        CoreLimits::LOIHI2,
        CostModel::default(),
    )
    .expect("presets are valid");
    topo.traffic = TrafficModel::Multicast;
    topo.runtime = RuntimeModel::Loihi2;
    topo
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_have_the_published_sizes() {
        let got: Vec<(u32, u64, u64)> = NAMES
            .iter()
            .map(|name| {
                let t = Topology::preset(name).unwrap();
                let neurons = t.n_cores() * t.core_limits().compartments;
                (t.n_chips(), t.n_cores(), neurons)
            })
            .collect();
        // Hala Point: 1,152 chips, 147,456 cores here against Intel's 140,544 (122 usable per chip on
        // average: some cores are reserved); 1.2 billion neurons against Intel's 1.15 billion.
        assert_eq!(
            got,
            [
                (1, 128, 1_048_576),
                (8, 1024, 8_388_608),
                (1152, 147_456, 1_207_959_552)
            ]
        );
        let t = Topology::preset("hala-point").unwrap();
        assert_eq!(t.traffic, TrafficModel::Multicast);
        assert_eq!(t.runtime, RuntimeModel::Loihi2);
        // The assumed split fills the 192 KB: 8,192 x 64 bits of state + 2^20 bits of synapses.
        let c = CoreLimits::LOIHI2;
        assert_eq!(c.compartments * 64 + c.synapse_bits, 192 * 1024 * 8);
    }
}
