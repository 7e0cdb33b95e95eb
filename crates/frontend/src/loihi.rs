//! nengo-loihi 1.1's resource model of one connection into one block: input axons, output axon slots
//! and synapse memory as nengo-loihi counts them (`nengo_loihi/builder/connection.py`
//! `build_conv2d_connection`, `nengo_loihi/conv.py` `conv2d_loihi_weights`, `nengo_loihi/block.py`
//! `Synapse.bits`, `Synapse.idx_bits`, `Axon.axon_slots`, `nengo_loihi/builder/split_blocks.py`
//! `split_synapse`, `set_new_synapse_weights`).
//!
//! - A convolution (any connection whose source is an image and whose rows and columns follow a chain
//!   of windows: conv, pooling, padding, 1x1 shortcuts) uses **population axons** (`pop32`): one input
//!   axon per source *position* (row, column) in the block's receptive field, the source's channels
//!   carried as atoms, and [`POP32_SLOTS`] output-axon slots per axon and destination block. Its
//!   weights are one table per distinct (row taps, column taps, compartment base / 256) an axon uses in
//!   the block (`split_synapse` shares identical tables), each holding every source channel x the
//!   block's compartments the axon reaches.
//! - Any other connection (a dense layer, anything read from a vector) uses **discrete axons**: one per
//!   source neuron that reaches the block, one output-axon slot per neuron and destination block, and
//!   one weight per synapse, without index bits (`set_weights`: compression 3).
//!
//! Every weight takes [`WEIGHT_BITS`] bits plus, for population weights, the synapse's index bits;
//! weights are stored in runs of [`SYNAPSES_PER_RUN`] with [`RUN_HEADER_BITS`] of header, each run
//! rounded up to [`MEMORY_UNIT_BITS`] (`SynapseConfig.bits_per_axon`).

use std::collections::BTreeMap;

/// nengo-loihi's weights are 8-bit (`_set_weights_indices` formats `weight_bits=7`, and
/// `WEIGHT_BITS_MAP[7] = 8`); no delay or tag bits.
pub const WEIGHT_BITS: u64 = 8;
/// Weights per run of synapse memory: `n_synapses=63`, plus one (`SynapseConfig.bits_per_axon`).
pub const SYNAPSES_PER_RUN: u64 = 64;
/// The header of every run: `synapse_idx_bits = 4` plus `n_synapses_bits = 6`.
pub const RUN_HEADER_BITS: u64 = 10;
/// Synapse memory is allocated in words of 64 bits (`bits_per_memunit`).
pub const MEMORY_UNIT_BITS: u64 = 64;
/// The index widths a synapse can use (`SynapseConfig.INDEX_BITS_MAP`).
pub const INDEX_BITS_MAP: [u64; 8] = [0, 6, 7, 8, 9, 10, 11, 12];
/// Output-axon slots per population axon: a `pop32` axon takes two (`Axon.slots_per_axon`).
pub const POP32_SLOTS: u64 = 2;
/// An axon's compartment base is stored modulo 256; the rest goes into the weights' indices, so
/// axons whose bases differ in `base / 256` need their own weight tables (`conv2d_loihi_weights`).
pub const COMPARTMENT_BASE_LIMIT: u64 = 256;

/// How the front end counts a connection's axons and synapse memory.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum AxonModel {
    /// nengo-loihi 1.1's model (the default): population axons for convolutions, discrete axons
    /// for dense connections, synapse memory as nengo-loihi allocates it, no output axons to the host.
    #[default]
    Population,
    /// One discrete axon per source neuron for every connection, one shared copy of a
    /// convolution's kernel slice per block at 8 bits per synapse, output axons to the host counted
    /// (snn-place's model before nengo-loihi's; kept for comparison with earlier figures).
    Discrete,
}

impl AxonModel {
    /// The name `--axons` takes.
    pub fn name(self) -> &'static str {
        match self {
            AxonModel::Population => "population",
            AxonModel::Discrete => "discrete",
        }
    }

    /// The model named `name` (`population` or `discrete`).
    pub fn from_name(name: &str) -> Option<AxonModel> {
        [AxonModel::Population, AxonModel::Discrete]
            .into_iter()
            .find(|m| m.name() == name)
    }
}

/// The synapse memory of one axon's weight table of `n_weights` weights at `bits_per_weight` bits.
pub fn bits_per_axon(n_weights: u64, bits_per_weight: u64) -> u64 {
    let run = |n: u64| {
        n.saturating_mul(bits_per_weight)
            .saturating_add(RUN_HEADER_BITS)
            .div_ceil(MEMORY_UNIT_BITS)
            .saturating_mul(MEMORY_UNIT_BITS)
    };
    let (full, rest) = (n_weights / SYNAPSES_PER_RUN, n_weights % SYNAPSES_PER_RUN);
    let last = if rest > 0 { run(rest) } else { 0 };
    full.saturating_mul(run(SYNAPSES_PER_RUN))
        .saturating_add(last)
}

/// The index bits a synapse whose largest weight index is `max_index` uses (`Synapse.idx_bits`):
/// the smallest width of [`INDEX_BITS_MAP`] holding `ceil(log2(max_index + 1))` bits, or `None` when
/// none does (nengo-loihi cannot build it).
pub fn index_bits(max_index: u64) -> Option<u64> {
    let needed = u64::from(u64::BITS - max_index.leading_zeros());
    INDEX_BITS_MAP.iter().copied().find(|&v| v >= needed)
}

/// One source index in the receptive field of a destination range along one axis.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AxisAxon {
    /// The weight pattern along this axis: the kernel taps this index meets, interned per range
    /// (equal keys in one range mean equal weights).
    pub key: u32,
    /// How many destination indices of the range read this index.
    pub n: u32,
    /// The first and last of them, relative to the range's start.
    pub first: u32,
    pub last: u32,
}

/// Interns per-axon tap patterns: `(destination index - first, tap offset)` lists.
#[derive(Default)]
pub(crate) struct Interner(BTreeMap<Vec<(u32, i64)>, u32>);

impl Interner {
    pub fn id(&mut self, pattern: Vec<(u32, i64)>) -> u32 {
        let next = self.0.len() as u32;
        *self.0.entry(pattern).or_insert(next)
    }
}

/// A population (`pop32`) connection's cost in one block: the source positions in its field along
/// rows and columns, the block's width `tw` and channels `tc`, and the source's channels (the atoms).
/// Returns (input axons, synapse bits), or `None` when the weight indices need more than 12 bits.
pub fn pop_cost(
    rows: &[AxisAxon],
    cols: &[AxisAxon],
    tw: u64,
    tc: u64,
    src_channels: u64,
) -> Option<(u64, u64)> {
    let mut tables: Vec<(u32, u32, u64, u64)> = Vec::with_capacity(rows.len() * cols.len());
    let mut max_index = 0u64;
    for r in rows {
        for c in cols {
            // `split_synapse`: the axon's compartments in the block are (row, col, channel) in
            // row-major order; the lowest is the base, stored modulo 256, the rest in the indices.
            let base = (u64::from(r.first) * tw + u64::from(c.first)) * tc;
            let top = (u64::from(r.last) * tw + u64::from(c.last)) * tc + tc - 1;
            max_index = max_index.max(top - base % COMPARTMENT_BASE_LIMIT);
            let weights = u64::from(r.n) * u64::from(c.n) * tc;
            tables.push((r.key, c.key, base / COMPARTMENT_BASE_LIMIT, weights));
        }
    }
    tables.sort_unstable();
    tables.dedup();
    let bits_per_weight = WEIGHT_BITS + index_bits(max_index)?;
    let bits = tables.iter().fold(0u64, |acc, t| {
        acc.saturating_add(bits_per_axon(
            t.3.saturating_mul(src_channels),
            bits_per_weight,
        ))
    });
    Some(((rows.len() * cols.len()) as u64, bits))
}

/// A discrete connection's cost in one block: one axon per source neuron in the field, each with one
/// weight per destination neuron it reaches (no index bits). Returns (input axons, synapse bits).
pub fn discrete_cost(axes: [&[AxisAxon]; 3]) -> (u64, u64) {
    let hist = |v: &[AxisAxon]| {
        let mut h: BTreeMap<u32, u64> = BTreeMap::new();
        for a in v {
            *h.entry(a.n).or_default() += 1;
        }
        h
    };
    let [h0, h1, h2] = axes.map(hist);
    let mut bits = 0u64;
    for (&n0, &m0) in &h0 {
        for (&n1, &m1) in &h1 {
            for (&n2, &m2) in &h2 {
                let per = bits_per_axon(u64::from(n0) * u64::from(n1) * u64::from(n2), WEIGHT_BITS);
                bits = bits.saturating_add(per.saturating_mul(m0 * m1 * m2));
            }
        }
    }
    let axons = axes.iter().map(|a| a.len() as u64).product();
    (axons, bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_round_up_to_memory_words() {
        // 64 weights of 18 bits: 1,152 + 10 = 1,162 bits, 19 words = 1,216 bits.
        assert_eq!(bits_per_axon(64, 18), 1216);
        // 65 weights: a full run and a run of one (18 + 10 = 28 bits, one word).
        assert_eq!(bits_per_axon(65, 18), 1216 + 64);
        assert_eq!(bits_per_axon(0, 18), 0);
        // A dense axon reaching 50 neurons at 8 bits: 410 bits, 7 words.
        assert_eq!(bits_per_axon(50, 8), 448);
    }

    #[test]
    fn index_bits_follow_the_map() {
        assert_eq!(index_bits(0), Some(0));
        assert_eq!(index_bits(1), Some(6));
        assert_eq!(index_bits(63), Some(6));
        assert_eq!(index_bits(64), Some(7));
        assert_eq!(index_bits(575), Some(10));
        assert_eq!(index_bits(4095), Some(12));
        assert_eq!(index_bits(4096), None);
    }

    #[test]
    fn names_round_trip() {
        for m in [AxonModel::Population, AxonModel::Discrete] {
            assert_eq!(AxonModel::from_name(m.name()), Some(m));
        }
        assert_eq!(AxonModel::from_name("pop16"), None);
    }
}
