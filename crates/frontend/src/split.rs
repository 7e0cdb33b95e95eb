//! Splitting populations into blocks that fit one core, and the spike traffic between the blocks.
//!
//! The rule (also in `docs/layers-format.md`): each on-chip population of shape height x width x
//! channels is tiled into equal tiles of `th x tw x tc` (the last tile along an axis may be smaller).
//! Tile sizes along an axis are the balanced ones, `ceil(len / n)` for `n = 1..len`. Among the tilings
//! whose every tile fits the core limits (compartments `th * tw * tc`; input axons, the receptive
//! field's source neurons with padding borders clipped; synapse memory, one copy per block of the kernel
//! slice it uses at [`BITS_PER_SYNAPSE`] bits), the splitter takes the one with the fewest blocks, then
//! the fewest input axons, then the squarest tile (`|th - tw|`), then the most channels per tile. Output
//! axons (one per source neuron and destination block it reaches) depend on the next populations'
//! tilings, so they are checked afterwards: a population whose block needs too many has its compartment
//! cap lowered in proportion and is tiled again, until every block fits.

use std::collections::BTreeMap;

use snn_graph::{Block, BlockId, Edge, Network};

use crate::layers::{lower, ChanMap, DimMap, LayerSpec, Lowered, Op1, Pop, PopKind, Term};
use crate::FrontendError;

/// The synapse memory one synapse takes: an 8-bit weight (Loihi's largest weight precision). Shared
/// convolution weights are stored once per core for the kernel slice the block uses.
pub const BITS_PER_SYNAPSE: u64 = 8;
/// The most blocks a built network may have, so that a huge model fails with an error.
pub const MAX_BUILD_BLOCKS: usize = 1 << 24;

/// The per-core limits a block must respect: the caller passes its topology's (the frontend does not
/// depend on the hardware crate).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    pub compartments: u64,
    pub in_axons: u64,
    pub out_axons: u64,
    pub synapse_bits: u64,
}

impl Limits {
    /// Loihi's per-core limits (nengo-loihi `nengo_loihi/block.py`): 1,024 compartments, 4,096 input
    /// and 4,096 output axons, 16,384 x 64 bits of synapse memory.
    pub const LOIHI: Limits = Limits {
        compartments: 1024,
        in_axons: 4096,
        out_axons: 4096,
        synapse_bits: 16_384 * 64,
    };
}

/// Builds the network a layer description describes, every on-chip block fitting `limits`.
pub fn build(spec: &LayerSpec, limits: &Limits) -> Result<Network, FrontendError> {
    let lowered = lower(spec)?;
    Ok(split(&lowered, limits)?.0)
}

/// A population's tiling: tile sizes `t`, tile counts `n`, and the population's extents `len`, along
/// height, width and channels.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Tiling {
    pub t: [usize; 3],
    pub n: [usize; 3],
    pub len: [usize; 3],
}

impl Tiling {
    fn new(t: [usize; 3], len: [usize; 3]) -> Tiling {
        Tiling {
            t,
            n: [0, 1, 2].map(|d| len[d].div_ceil(t[d])),
            len,
        }
    }

    fn n_blocks(&self) -> usize {
        self.n[0] * self.n[1] * self.n[2]
    }

    /// The index range along axis `d` of tile `i`.
    pub fn range(&self, d: usize, i: usize) -> (usize, usize) {
        (i * self.t[d], ((i + 1) * self.t[d]).min(self.len[d]))
    }

    /// The tile coordinates of block `b` (blocks run height-major, channels fastest).
    pub fn coords(&self, b: usize) -> [usize; 3] {
        [
            b / (self.n[1] * self.n[2]),
            b / self.n[2] % self.n[1],
            b % self.n[2],
        ]
    }
}

fn extents(pop: &Pop) -> [usize; 3] {
    [pop.shape.h, pop.shape.w, pop.shape.c].map(|v| v as usize)
}

/// The receptive field along one axis of a range of destination indices: for every source index, how
/// many destination indices of the range read it (0: outside the field), how many source indices are in
/// the field, and the synapses this axis contributes (kernel taps used when the weights are shared,
/// source x destination indices when they are not).
#[derive(Clone, Debug)]
pub(crate) struct DimRf {
    pub cnt: Vec<u32>,
    pub size: u64,
    pub syn: u64,
}

fn rf_dim(map: &DimMap, a: usize, b: usize, src_len: usize) -> DimRf {
    let ops = match map {
        DimMap::Full => {
            return DimRf {
                cnt: vec![(b - a) as u32; src_len],
                size: src_len as u64,
                syn: (src_len * (b - a)) as u64,
            }
        }
        DimMap::Chain(ops) => ops,
    };
    let (s_eff, p_eff) = effective(ops);
    let mut cnt = vec![0u32; src_len];
    // The kernel offsets used: source index minus the window's start.
    let mut taps: Vec<i128> = Vec::new();
    let mut cur = Vec::new();
    let mut next = Vec::new();
    for d in a..b {
        cur.clear();
        cur.push(d);
        for op in ops.iter().rev() {
            next.clear();
            for &y in &cur {
                for t in 0..op.k {
                    let i = y * op.s + t;
                    if i >= op.p && i - op.p < op.in_len {
                        next.push(i - op.p);
                    }
                }
            }
            next.sort_unstable();
            next.dedup();
            std::mem::swap(&mut cur, &mut next);
        }
        for &s in &cur {
            if s < src_len {
                cnt[s] += 1;
                taps.push(s as i128 + p_eff as i128 - d as i128 * s_eff as i128);
            }
        }
    }
    taps.sort_unstable();
    taps.dedup();
    DimRf {
        size: cnt.iter().filter(|&&c| c > 0).count() as u64,
        syn: taps.len() as u64,
        cnt,
    }
}

/// The composed stride and padding before of a chain (source first): output `d` reads from source
/// index `d * stride - padding` on. Saturating: a chain that long has a source of length 1 anyway.
fn effective(ops: &[Op1]) -> (u64, u64) {
    let (mut s, mut p) = (1u64, 0u64);
    for op in ops.iter().rev() {
        p = p.saturating_mul(op.s as u64).saturating_add(op.p as u64);
        s = s.saturating_mul(op.s as u64);
    }
    (s, p)
}

fn rf_chan(map: ChanMap, a: usize, b: usize, src_len: usize) -> DimRf {
    match map {
        ChanMap::Full => DimRf {
            cnt: vec![(b - a) as u32; src_len],
            size: src_len as u64,
            syn: (src_len * (b - a)) as u64,
        },
        ChanMap::Div(m) => {
            let mut cnt = vec![0u32; src_len];
            for d in a..b {
                if let Some(c) = cnt.get_mut(d / m.max(1)) {
                    *c += 1;
                }
            }
            DimRf {
                size: cnt.iter().filter(|&&c| c > 0).count() as u64,
                syn: (b - a) as u64,
                cnt,
            }
        }
    }
}

/// The receptive field of one term for the destination tile `r` (ranges along the three axes).
fn rf_term(term: &Term, src: [usize; 3], r: [(usize, usize); 3]) -> [DimRf; 3] {
    [
        rf_dim(&term.rows, r[0].0, r[0].1, src[0]),
        rf_dim(&term.cols, r[1].0, r[1].1, src[1]),
        rf_chan(term.chan, r[2].0, r[2].1, src[2]),
    ]
}

/// Distinct balanced tile sizes along an axis of `len`, largest first.
fn candidates(len: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (1..=len).map(|n| len.div_ceil(n)).collect();
    v.dedup();
    v
}

/// Per term and axis, for every candidate tile size: the largest field size and synapse count of any
/// tile.
fn axis_stats(pop: &Pop, pops: &[Pop], d: usize, cands: &[usize]) -> Vec<Vec<(u64, u64)>> {
    let len = extents(pop)[d];
    pop.terms
        .iter()
        .map(|term| {
            let src = extents(&pops[term.src])[d];
            cands
                .iter()
                .map(|&t| {
                    let mut worst = (0, 0);
                    for i in 0..len.div_ceil(t) {
                        let (a, b) = (i * t, ((i + 1) * t).min(len));
                        let rf = match d {
                            0 => rf_dim(&term.rows, a, b, src),
                            1 => rf_dim(&term.cols, a, b, src),
                            _ => rf_chan(term.chan, a, b, src),
                        };
                        worst = (worst.0.max(rf.size), worst.1.max(rf.syn));
                    }
                    worst
                })
                .collect()
        })
        .collect()
}

/// How a tiling ranks (smaller is better): blocks, input axons, |th - tw|, channels per tile (more is
/// better).
type Score = (usize, u64, usize, std::cmp::Reverse<usize>);

/// Chooses the tiling of an on-chip population (see the module docs), with at most `cap` neurons per
/// block.
fn choose_tiling(
    pop: &Pop,
    pops: &[Pop],
    limits: &Limits,
    cap: u64,
) -> Result<Tiling, FrontendError> {
    let len = extents(pop);
    let cands = len.map(candidates);
    let stats: Vec<_> = (0..3)
        .map(|d| axis_stats(pop, pops, d, &cands[d]))
        .collect();
    let cost = |i: [usize; 3]| -> (u64, u64) {
        let mut in_axons = 0u64;
        let mut syn = 0u64;
        for (rows, (cols, chans)) in stats[0].iter().zip(stats[1].iter().zip(&stats[2])) {
            let s = [rows[i[0]], cols[i[1]], chans[i[2]]];
            in_axons =
                in_axons.saturating_add(s[0].0.saturating_mul(s[1].0).saturating_mul(s[2].0));
            syn = syn.saturating_add(s[0].1.saturating_mul(s[1].1).saturating_mul(s[2].1));
        }
        (in_axons, syn.saturating_mul(BITS_PER_SYNAPSE))
    };
    let mut best: Option<(Score, Tiling)> = None;
    for (ih, &th) in cands[0].iter().enumerate() {
        for (iw, &tw) in cands[1].iter().enumerate() {
            for (ic, &tc) in cands[2].iter().enumerate() {
                if (th * tw * tc) as u64 > cap.min(limits.compartments) {
                    continue;
                }
                let (in_axons, syn) = cost([ih, iw, ic]);
                if in_axons > limits.in_axons || syn > limits.synapse_bits {
                    continue;
                }
                let tiling = Tiling::new([th, tw, tc], len);
                let score = (
                    tiling.n_blocks(),
                    in_axons,
                    th.abs_diff(tw),
                    std::cmp::Reverse(tc),
                );
                if best.as_ref().is_none_or(|(s, _)| score < *s) {
                    best = Some((score, tiling));
                }
            }
        }
    }
    if let Some((_, t)) = best {
        return Ok(t);
    }
    // Not even one neuron per block fits: name the limit a single neuron exceeds.
    let last = [0, 1, 2].map(|d| cands[d].len() - 1);
    let (in_axons, syn) = cost(last);
    let (field, needed, limit) = if in_axons > limits.in_axons {
        ("in_axons", in_axons, limits.in_axons)
    } else if syn > limits.synapse_bits {
        ("synapse_bits", syn, limits.synapse_bits)
    } else {
        ("compartments", 1, cap.min(limits.compartments))
    };
    Err(FrontendError::DoesNotFit {
        layer: pop.layer.clone(),
        field,
        needed,
        limit,
    })
}

/// Traffic from one block to another: source neurons in the destination's receptive field, and the
/// synapses (destination neurons) they reach, summed over those neurons.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Wire {
    pub src: usize,
    pub dst: usize,
    pub overlap: u64,
    pub synapses: u64,
}

/// Per block (global index): input axons, synapses; and every wire.
pub(crate) struct Wiring {
    pub in_axons: Vec<u64>,
    pub synapses: Vec<u64>,
    pub wires: Vec<Wire>,
}

/// The product, saturating at `u64::MAX` (figures that large fail the limits anyway).
fn sat_product(xs: impl IntoIterator<Item = u64>) -> u64 {
    xs.into_iter().fold(1, u64::saturating_mul)
}

fn connect_all(pops: &[Pop], tilings: &[Tiling], offsets: &[usize]) -> Wiring {
    let total = offsets[pops.len()];
    let mut w = Wiring {
        in_axons: vec![0; total],
        synapses: vec![0; total],
        wires: Vec::new(),
    };
    for (p, pop) in pops.iter().enumerate() {
        let mut groups: BTreeMap<usize, Vec<&Term>> = BTreeMap::new();
        for t in &pop.terms {
            groups.entry(t.src).or_default().push(t);
        }
        let til = &tilings[p];
        for b in 0..til.n_blocks() {
            let c = til.coords(b);
            let r = [0, 1, 2].map(|d| til.range(d, c[d]));
            let dst = offsets[p] + b;
            for (&src, terms) in &groups {
                let src_len = extents(&pops[src]);
                let mut rfs = terms.iter().map(|t| rf_term(t, src_len, r));
                let mut merged = rfs.next().expect("a group has a term");
                let mut syn = sat_product(merged.iter().map(|x| x.syn));
                for more in rfs {
                    syn = syn.saturating_add(sat_product(more.iter().map(|x| x.syn)));
                    for d in 0..3 {
                        for (m, x) in merged[d].cnt.iter_mut().zip(&more[d].cnt) {
                            *m = (*m).max(*x);
                        }
                        merged[d].size = merged[d].cnt.iter().filter(|&&c| c > 0).count() as u64;
                    }
                }
                w.in_axons[dst] =
                    w.in_axons[dst].saturating_add(sat_product(merged.iter().map(|x| x.size)));
                w.synapses[dst] = w.synapses[dst].saturating_add(syn);
                // Per axis, the source tiles the field touches with (neurons in the field, synapses).
                let st = &tilings[src];
                let per_axis: [Vec<(usize, u64, u64)>; 3] = [0, 1, 2].map(|d| {
                    let cnt = &merged[d].cnt;
                    let Some(lo) = cnt.iter().position(|&c| c > 0) else {
                        return Vec::new();
                    };
                    let hi = cnt.iter().rposition(|&c| c > 0).expect("lo exists");
                    (lo / st.t[d]..=hi / st.t[d])
                        .filter_map(|i| {
                            let (a, b) = st.range(d, i);
                            let n = cnt[a..b].iter().filter(|&&c| c > 0).count() as u64;
                            let s = cnt[a..b].iter().map(|&c| c as u64).sum::<u64>();
                            (n > 0).then_some((i, n, s))
                        })
                        .collect()
                });
                for &(i0, n0, s0) in &per_axis[0] {
                    for &(i1, n1, s1) in &per_axis[1] {
                        for &(i2, n2, s2) in &per_axis[2] {
                            let sb = (i0 * st.n[1] + i1) * st.n[2] + i2;
                            w.wires.push(Wire {
                                src: offsets[src] + sb,
                                dst,
                                overlap: sat_product([n0, n1, n2]),
                                synapses: sat_product([s0, s1, s2]),
                            });
                        }
                    }
                }
            }
        }
    }
    w
}

/// Splits the lowered populations into blocks: the network and each population's tiling.
pub(crate) fn split(
    lowered: &Lowered,
    limits: &Limits,
) -> Result<(Network, Vec<Tiling>), FrontendError> {
    let pops = &lowered.pops;
    let mut caps = vec![limits.compartments; pops.len()];
    let mut tilings = Vec::with_capacity(pops.len());
    for pop in pops {
        tilings.push(match pop.kind {
            PopKind::Host => {
                let len = extents(pop);
                Tiling::new(len, len)
            }
            PopKind::Neurons => choose_tiling(pop, pops, limits, limits.compartments)?,
        });
    }
    loop {
        let mut offsets = vec![0usize; pops.len() + 1];
        for (p, t) in tilings.iter().enumerate() {
            offsets[p + 1] = offsets[p] + t.n_blocks();
        }
        if offsets[pops.len()] > MAX_BUILD_BLOCKS {
            return Err(FrontendError::TooManyBlocks {
                blocks: offsets[pops.len()],
                max: MAX_BUILD_BLOCKS,
            });
        }
        let wiring = connect_all(pops, &tilings, &offsets);
        let mut out_axons = vec![0u64; offsets[pops.len()]];
        for wire in &wiring.wires {
            out_axons[wire.src] = out_axons[wire.src].saturating_add(wire.overlap);
        }
        let mut retiled = false;
        for (p, pop) in pops.iter().enumerate() {
            if pop.kind == PopKind::Host {
                continue;
            }
            let worst = out_axons[offsets[p]..offsets[p + 1]]
                .iter()
                .copied()
                .max()
                .unwrap_or(0);
            if worst <= limits.out_axons {
                continue;
            }
            let cur = tilings[p].t.iter().product::<usize>() as u64;
            if cur <= 1 {
                return Err(FrontendError::DoesNotFit {
                    layer: pop.layer.clone(),
                    field: "out_axons",
                    needed: worst,
                    limit: limits.out_axons,
                });
            }
            caps[p] = (cur * limits.out_axons / worst).clamp(1, cur - 1);
            tilings[p] = choose_tiling(pop, pops, limits, caps[p])?;
            retiled = true;
        }
        if !retiled {
            let net = assemble(lowered, &tilings, &offsets, &wiring, &out_axons)?;
            return Ok((net, tilings));
        }
    }
}

fn assemble(
    lowered: &Lowered,
    tilings: &[Tiling],
    offsets: &[usize],
    wiring: &Wiring,
    out_axons: &[u64],
) -> Result<Network, FrontendError> {
    let pops = &lowered.pops;
    let mut blocks = Vec::with_capacity(offsets[pops.len()]);
    let mut rates = Vec::with_capacity(offsets[pops.len()]);
    for (p, pop) in pops.iter().enumerate() {
        let til = &tilings[p];
        for b in 0..til.n_blocks() {
            let c = til.coords(b);
            let size: usize = (0..3)
                .map(|d| {
                    let (a, z) = til.range(d, c[d]);
                    z - a
                })
                .product();
            let g = offsets[p] + b;
            let host = pop.kind == PopKind::Host;
            let mut block = Block::new(
                if host {
                    pop.name.clone()
                } else {
                    format!("{}.{b}", pop.name)
                },
                size as u64,
            );
            block.layer = Some(pop.layer.clone());
            block.rate = pop.rate;
            block.host = host;
            if !host {
                block.in_axons = wiring.in_axons[g];
                block.out_axons = out_axons[g];
                block.synapse_bits = wiring.synapses[g].saturating_mul(BITS_PER_SYNAPSE);
            }
            blocks.push(block);
            rates.push(pop.rate);
        }
    }
    let mut edges: Vec<Edge> = wiring
        .wires
        .iter()
        .map(|w| Edge {
            src: BlockId(w.src as u32),
            dst: BlockId(w.dst as u32),
            spikes: w.overlap as f64 * rates[w.src],
            synops: Some(w.synapses as f64 * rates[w.src]),
        })
        .collect();
    edges.sort_by_key(|e| (e.src, e.dst));
    let name = if lowered.name.is_empty() {
        "layers".to_string()
    } else {
        lowered.name.clone()
    };
    Network::new(name, blocks, edges).map_err(FrontendError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::parse_layers;
    use proptest::prelude::*;

    fn limits(compartments: u64) -> Limits {
        Limits {
            compartments,
            ..Limits::LOIHI
        }
    }

    fn spec(layers: &str) -> LayerSpec {
        parse_layers(&format!(
            r#"{{"format": "snn-layers/1", "name": "t", "rate": 0.1, "layers": [{layers}]}}"#
        ))
        .unwrap()
    }

    /// Builds `layers` and compares every block as (name, compartments, in_axons, out_axons,
    /// synapse_bits) and every edge as (src, dst, spikes, synops).
    fn check(
        layers: &str,
        compartments: u64,
        blocks: &[(&str, u64, u64, u64, u64)],
        edges: &[(&str, &str, f64, f64)],
    ) {
        let net = build(&spec(layers), &limits(compartments)).unwrap();
        let got: Vec<_> = net
            .blocks()
            .iter()
            .map(|b| {
                (
                    b.name.as_str(),
                    b.compartments,
                    b.in_axons,
                    b.out_axons,
                    b.synapse_bits,
                )
            })
            .collect();
        assert_eq!(got, blocks);
        let round = |x: f64| (x * 1e6).round() / 1e6;
        let got: Vec<_> = net
            .edges()
            .iter()
            .map(|e| {
                (
                    net.block(e.src).name.as_str(),
                    net.block(e.dst).name.as_str(),
                    round(e.spikes),
                    round(e.synops()),
                )
            })
            .collect();
        assert_eq!(got, edges);
    }

    #[test]
    fn same_3x3_conv_counts_padding_borders() {
        // 8x8x1 -> 'same' 3x3 conv with 4 filters: 8x8x4 = 256 neurons. With 64 compartments per core the
        // fewest blocks is 4; 4x4x4 tiles need the fewest input axons: output rows 0..4 read input rows
        // -1..5, of which 0..5 exist (5 rows), so 5 x 5 x 1 = 25 input axons, not 6 x 6 = 36. Every tile
        // uses all 9 taps of its 4 filters: 36 synapses x 8 bits. Each neuron reaches the probe: 64 out
        // axons. Synapses reached from the input, per axis: rows 0..5 feed 2, 3, 3, 2, 1 output rows
        // (11), so 11 x 11 x 4 filters = 484 synaptic events per step at rate 1.
        let b = |n| (n, 64, 25, 64, 288);
        check(
            r#"{"name": "in", "type": "input", "shape": [8, 8, 1]},
               {"name": "c", "type": "conv2d", "filters": 4, "kernel": [3, 3], "padding": "same"}"#,
            64,
            &[
                ("in", 64, 0, 0, 0),
                b("c.0"),
                b("c.1"),
                b("c.2"),
                b("c.3"),
                ("c.probe", 256, 0, 0, 0),
            ],
            &[
                ("in", "c.0", 2.5, 48.4),
                ("in", "c.1", 2.5, 48.4),
                ("in", "c.2", 2.5, 48.4),
                ("in", "c.3", 2.5, 48.4),
                ("c.0", "c.probe", 6.4, 6.4),
                ("c.1", "c.probe", 6.4, 6.4),
                ("c.2", "c.probe", 6.4, 6.4),
                ("c.3", "c.probe", 6.4, 6.4),
            ],
        );
    }

    #[test]
    fn valid_3x3_conv() {
        // 8x8x1 -> 'valid' 3x3 conv with 4 filters: 6x6x4 = 144 neurons, 36 per core: 4 blocks of
        // 3x3x4 (6x6x1 tiles would need 8 x 8 = 64 input axons, 6x3x2 ones 8 x 5 = 40). Output rows
        // 0..3 read input rows 0..5: 25 input axons. Input rows 0..5 feed 1, 2, 3, 2, 1 output rows of
        // the tile (9), so 9 x 9 x 4 = 324 synaptic events at rate 1. The linear readout is a probe.
        let b = |n| (n, 36, 25, 36, 288);
        check(
            r#"{"name": "in", "type": "input", "shape": [8, 8, 1]},
               {"name": "c", "type": "conv2d", "filters": 4, "kernel": [3, 3]}"#,
            36,
            &[
                ("in", 64, 0, 0, 0),
                b("c.0"),
                b("c.1"),
                b("c.2"),
                b("c.3"),
                ("c.probe", 144, 0, 0, 0),
            ],
            &[
                ("in", "c.0", 2.5, 32.4),
                ("in", "c.1", 2.5, 32.4),
                ("in", "c.2", 2.5, 32.4),
                ("in", "c.3", 2.5, 32.4),
                ("c.0", "c.probe", 3.6, 3.6),
                ("c.1", "c.probe", 3.6, 3.6),
                ("c.2", "c.probe", 3.6, 3.6),
                ("c.3", "c.probe", 3.6, 3.6),
            ],
        );
    }

    #[test]
    fn same_stride_2_pads_bottom_and_right() {
        // 8x8 -> 'same' 3x3 stride 2: 4x4 outputs, one row and column of padding, at the bottom and
        // right (Keras). With 4 neurons per core, 1x4 strips (at most 3 x 8 = 24 input axons) beat 2x2
        // tiles (5 x 5 = 25). Output row 0 reads input rows 0..3 (no padding on top), row 1 rows 2..5,
        // row 2 rows 4..7, and row 3 rows 6..9, of which 6..8 exist: 2 x 8 = 16.
        let net = build(
            &spec(
                r#"{"name": "in", "type": "input", "shape": [8, 8, 1]},
                   {"name": "c", "type": "conv2d", "filters": 1, "kernel": [3, 3], "strides": [2, 2],
                    "padding": "same"}"#,
            ),
            &limits(4),
        )
        .unwrap();
        let ins: Vec<_> = net.blocks()[1..5].iter().map(|b| b.in_axons).collect();
        assert_eq!(ins, [24, 24, 24, 16]);
    }

    #[test]
    fn residual_add_joins_both_inputs() {
        // relu(conv(x) + x): the add's neurons read the conv's 3x3 field and x's own neuron.
        let net = build(
            &spec(
                r#"{"name": "in", "type": "input", "shape": [4, 4, 2]},
                   {"name": "x", "type": "relu"},
                   {"name": "c", "type": "conv2d", "filters": 2, "kernel": [3, 3], "padding": "same",
                    "activation": "linear"},
                   {"name": "a", "type": "add", "inputs": ["c", "x"]}"#,
            ),
            &Limits::LOIHI,
        )
        .unwrap();
        let a = net.find("a.0").unwrap();
        let x = net.find("x.0").unwrap();
        // One block of 32: the conv's field is all of x (32), the shortcut's too, merged: 32 axons.
        assert_eq!(net.block(a).in_axons, 32);
        let e: Vec<_> = net.edges().iter().filter(|e| e.dst == a).collect();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].src, x);
        assert!((e[0].spikes - 3.2).abs() < 1e-9);
    }

    #[test]
    fn bad_shapes_are_errors() {
        let err = |layers: &str| {
            build(&spec(layers), &Limits::LOIHI)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(r#"{"name": "in", "type": "input", "shape": [2, 8, 1]},
                   {"name": "c", "type": "conv2d", "filters": 1, "kernel": [3, 3]}"#),
            "layer \"c\": the kernel's height 3 is larger than the 'valid' input's height 2"
        );
        assert_eq!(
            err(r#"{"name": "in", "type": "input", "shape": [4, 4, 1]},
                   {"name": "c", "type": "conv2d", "filters": 2, "kernel": [1, 1]},
                   {"name": "a", "type": "add", "inputs": ["c", "in"]}"#),
            "layer \"a\": the shape does not compute: cannot add inputs of shapes [4, 4, 2] and [4, 4, 1]"
        );
        assert_eq!(
            err(r#"{"name": "in", "type": "input", "shape": [4]},
                   {"name": "c", "type": "conv2d", "filters": 2, "kernel": [1, 1]}"#),
            "layer \"c\": the shape does not compute: conv2d needs a height x width x channels input, \
             got a vector of 4"
        );
        assert_eq!(
            err(r#"{"name": "c", "type": "dense", "units": 2}"#),
            "the model has no input layer"
        );
        assert_eq!(
            err(r#"{"name": "in", "type": "input", "shape": [4]},
                   {"name": "d", "type": "dense", "units": 2, "inputs": ["nope"]}"#),
            "layer \"d\" takes input from \"nope\", which is not a layer before it"
        );
        assert_eq!(
            err(r#"{"name": "in", "type": "input", "shape": [4]},
                   {"name": "d", "type": "dense", "units": 2, "kernel": [1, 1]}"#),
            "layer \"d\": field \"kernel\" does not apply to a dense layer"
        );
        // A neuron reading 64 x 64 = 4,096 + 1 inputs cannot fit 4,096 input axons.
        assert_eq!(
            err(r#"{"name": "in", "type": "input", "shape": [4097]},
                   {"name": "d", "type": "dense", "units": 2}"#),
            "layer \"d\" cannot be split to fit one core: a block of one neuron needs 4097 in_axons, \
             the core limit is 4096"
        );
    }

    /// The source tiles of `conv` (k, s, padding before) along one axis that output range `a..b` reads.
    fn reads(r: usize, k: usize, s: usize, pt: usize, a: usize, b: usize) -> bool {
        (a..b).any(|y| y * s <= r + pt && r + pt < y * s + k)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The spikes leaving a layer's blocks equal its neurons' firing times the number of
        /// destination blocks each reaches, counted by brute force, and its blocks' output axons.
        #[test]
        fn traffic_is_conserved(
            h in 1usize..10, w in 1usize..10, c in 1usize..4, f in 1usize..5,
            k in 1usize..4, s in 1usize..3, same in any::<bool>(), cap in 2u64..40,
        ) {
            prop_assume!(same || (k <= h && k <= w));
            let pad = if same { "same" } else { "valid" };
            let spec = spec(&format!(
                r#"{{"name": "in", "type": "input", "shape": [{h}, {w}, {c}]}},
                   {{"name": "a", "type": "conv2d", "filters": {c}, "kernel": [1, 1]}},
                   {{"name": "b", "type": "conv2d", "filters": {f}, "kernel": [{k}, {k}],
                     "strides": [{s}, {s}], "padding": "{pad}"}}"#
            ));
            let lowered = lower(&spec).unwrap();
            let (net, tilings) = split(&lowered, &limits(cap)).unwrap();
            let (ta, tb) = (tilings[1], tilings[2]);
            let (oh, ow) = (tb.len[0], tb.len[1]);
            let pt = if same { ((oh - 1) * s + k).saturating_sub(h) / 2 } else { 0 };
            let pl = if same { ((ow - 1) * s + k).saturating_sub(w) / 2 } else { 0 };
            // Brute force: for every neuron of a, the blocks of b whose field holds it.
            let mut fanout = 0u64;
            for r in 0..h {
                for col in 0..w {
                    for bb in 0..tb.n_blocks() {
                        let co = tb.coords(bb);
                        let (ya, yb) = tb.range(0, co[0]);
                        let (xa, xb) = tb.range(1, co[1]);
                        if reads(r, k, s, pt, ya, yb) && reads(col, k, s, pl, xa, xb) {
                            fanout += c as u64;
                        }
                    }
                }
            }
            let a_blocks: Vec<BlockId> = (0..ta.n_blocks()).map(|i| net.find(&format!("a.{i}")).unwrap()).collect();
            let b_first = net.find("b.0").unwrap();
            let spikes: f64 = net.edges().iter()
                .filter(|e| a_blocks.contains(&e.src) && e.dst >= b_first && net.block(e.dst).layer.as_deref() == Some("b"))
                .map(|e| e.spikes).sum();
            prop_assert!((spikes - 0.1 * fanout as f64).abs() < 1e-6, "{spikes} vs {fanout}");
            let out_axons: u64 = a_blocks.iter().map(|&b| net.block(b).out_axons).sum();
            prop_assert_eq!(out_axons, fanout);
            // Every block fits, and every layer holds exactly its neurons.
            for b in net.blocks().iter().filter(|b| !b.host) {
                prop_assert!(b.compartments <= cap && b.in_axons <= 4096 && b.out_axons <= 4096);
            }
            let n_b: u64 = net.blocks().iter().filter(|x| x.layer.as_deref() == Some("b")).map(|x| x.compartments).sum();
            prop_assert_eq!(n_b, (oh * ow * f) as u64);
        }
    }
}
