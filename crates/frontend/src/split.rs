//! Splitting populations into blocks that fit one core, and the spike traffic between the blocks.
//!
//! Each on-chip population of shape height x width x channels is tiled into `th x tw x tc` tiles (the
//! last tile along an axis may be smaller): the layer's `block_shape` if it gives one (every block is
//! then checked against the core limits), else the splitter's choice. Tile sizes along an axis are the
//! balanced ones, `ceil(len / n)` for `n = 1..len`; among the tilings whose worst tile fits the core
//! limits (compartments, input axons and synapse memory, summed over the incoming connections), the
//! splitter takes the one with the fewest blocks, then the fewest input axons, then the squarest tile
//! (`|th - tw|`), then the most channels per tile. Output axons depend on the next populations'
//! tilings, so they are checked afterwards: a population whose block needs too many has its
//! compartment cap lowered in proportion and is tiled again, until every block fits.
//!
//! The input axons, output axons and synapse memory follow an [`AxonModel`] (also in
//! `docs/layers-format.md`): by default nengo-loihi 1.1's, every linear path a connection of its own,
//! population axons for convolutions and discrete ones for dense connections, with nengo-loihi's weight
//! tables ([`crate::loihi`]); or `Discrete`, snn-place's earlier model: one axon per source neuron in the
//! receptive field (paths from one source merged), one shared copy per block of the kernel slice it uses
//! at [`BITS_PER_SYNAPSE`] bits, one output axon per source neuron and destination block.

use std::collections::BTreeMap;

use snn_graph::{Block, BlockId, Edge, Network};

use crate::layers::{lower, ChanMap, DimMap, LayerSpec, Lowered, Op1, Pop, PopKind, Term};
use crate::loihi::{discrete_cost, pop_cost, AxisAxon, AxonModel, Interner, POP32_SLOTS};
use crate::FrontendError;

/// The discrete model's synapse memory per synapse: an 8-bit weight (Loihi's largest weight precision).
/// Shared convolution weights are stored once per core for the kernel slice the block uses.
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

/// Builds the network a layer description describes, every on-chip block fitting `limits`, with
/// nengo-loihi's resource model ([`AxonModel::Population`]).
pub fn build(spec: &LayerSpec, limits: &Limits) -> Result<Network, FrontendError> {
    build_with(spec, limits, AxonModel::default())
}

/// Builds the network a layer description describes under the resource model `model`.
pub fn build_with(
    spec: &LayerSpec,
    limits: &Limits,
    model: AxonModel,
) -> Result<Network, FrontendError> {
    let lowered = lower(spec)?;
    Ok(split(&lowered, limits, model)?.0)
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
    let mut reader = ChainReader::default();
    for d in a..b {
        for &s in reader.reads(ops, d) {
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

/// The source indices a destination index reads through a chain of windows (each step's borders
/// clipped), with its buffers kept between calls.
#[derive(Default)]
struct ChainReader {
    cur: Vec<usize>,
    next: Vec<usize>,
}

impl ChainReader {
    fn reads(&mut self, ops: &[Op1], d: usize) -> &[usize] {
        self.cur.clear();
        self.cur.push(d);
        for op in ops.iter().rev() {
            self.next.clear();
            for &y in &self.cur {
                for t in 0..op.k {
                    let i = y * op.s + t;
                    if i >= op.p && i - op.p < op.in_len {
                        self.next.push(i - op.p);
                    }
                }
            }
            self.next.sort_unstable();
            self.next.dedup();
            std::mem::swap(&mut self.cur, &mut self.next);
        }
        &self.cur
    }
}

/// The source indices along one spatial axis in the field of destination range `a..b`, in order, each
/// with the kernel taps it meets (nengo-loihi's weights for the axon at that index; see
/// [`crate::loihi`]).
fn rf_axons(map: &DimMap, a: usize, b: usize, src_len: usize) -> Vec<AxisAxon> {
    let ops = match map {
        DimMap::Full => {
            return (0..src_len)
                .map(|_| AxisAxon {
                    key: 0,
                    n: (b - a) as u32,
                    first: 0,
                    last: (b - a - 1) as u32,
                })
                .collect()
        }
        DimMap::Chain(ops) => ops,
    };
    let (s_eff, p_eff) = effective(ops);
    let mut hits: Vec<(usize, u32, i64)> = Vec::new();
    let mut reader = ChainReader::default();
    for d in a..b {
        for &s in reader.reads(ops, d) {
            if s < src_len {
                let tap = s as i128 + p_eff as i128 - d as i128 * s_eff as i128;
                hits.push((
                    s,
                    (d - a) as u32,
                    tap.clamp(i64::MIN as i128, i64::MAX as i128) as i64,
                ));
            }
        }
    }
    hits.sort_unstable();
    let mut interner = Interner::default();
    let mut out = Vec::new();
    for group in hits.chunk_by(|x, y| x.0 == y.0) {
        let first = group[0].1;
        let last = group[group.len() - 1].1;
        let pattern = group.iter().map(|&(_, d, t)| (d - first, t)).collect();
        out.push(AxisAxon {
            key: interner.id(pattern),
            n: group.len() as u32,
            first,
            last,
        });
    }
    out
}

/// The source channels in the field of destination channels `a..b`, each with the number of them
/// that read it (the channel axis of a discrete connection).
fn rf_chan_axons(map: ChanMap, a: usize, b: usize, src_len: usize) -> Vec<AxisAxon> {
    let axon = |n: u32| AxisAxon {
        key: 0,
        n,
        first: 0,
        last: n - 1,
    };
    match map {
        ChanMap::Full => vec![axon((b - a) as u32); src_len],
        ChanMap::Div(m) => {
            // Destination channel d reads source channel d / m: runs of equal sources.
            let sources: Vec<usize> = (a..b)
                .map(|d| d / m.max(1))
                .filter(|&s| s < src_len)
                .collect();
            sources
                .chunk_by(|x, y| x == y)
                .map(|run| axon(run.len() as u32))
                .collect()
        }
    }
}

/// True when a term is a convolution in nengo-loihi's sense (population axons): its source is an
/// image and its rows and columns follow windows. A term from a vector, or after a flatten, is dense.
fn is_pop_term(term: &Term, src: &Pop) -> bool {
    !src.shape.flat
        && matches!(term.rows, DimMap::Chain(_))
        && matches!(term.cols, DimMap::Chain(_))
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

/// The distinct tiles along one axis for one tile size: each tile's length and the source indices in
/// its field (population model).
type AxisTiles = Vec<(usize, Vec<AxisAxon>)>;

/// Per term and candidate tile size along axis `d`: the distinct tiles (population model). The channel
/// axis of a convolution needs only the tile lengths.
fn pop_axis_tiles(pop: &Pop, pops: &[Pop], d: usize, cands: &[usize]) -> Vec<Vec<AxisTiles>> {
    let len = extents(pop)[d];
    pop.terms
        .iter()
        .map(|term| {
            let src_pop = &pops[term.src];
            let src = extents(src_pop)[d];
            let conv = is_pop_term(term, src_pop);
            cands
                .iter()
                .map(|&t| {
                    let mut tiles: AxisTiles = (0..len.div_ceil(t))
                        .map(|i| {
                            let (a, b) = (i * t, ((i + 1) * t).min(len));
                            let field = match d {
                                0 => rf_axons(&term.rows, a, b, src),
                                1 => rf_axons(&term.cols, a, b, src),
                                _ if conv => Vec::new(),
                                _ => rf_chan_axons(term.chan, a, b, src),
                            };
                            (b - a, field)
                        })
                        .collect();
                    tiles.sort_unstable();
                    tiles.dedup();
                    tiles
                })
                .collect()
        })
        .collect()
}

/// One term's (input axons, synapse bits) in a tile of rows `r`, cols `c` and channels `ch`, under
/// nengo-loihi's model; `whole` when the tile is the whole population (nengo-loihi then keeps the
/// connection's axon for every source position, used or not). `None`: the weights' indices do not fit
/// nengo-loihi's widest index.
fn term_cost(
    term: &Term,
    src: &Pop,
    r: &(usize, Vec<AxisAxon>),
    c: &(usize, Vec<AxisAxon>),
    ch: &(usize, Vec<AxisAxon>),
    whole: bool,
) -> Option<(u64, u64)> {
    if is_pop_term(term, src) {
        let (axons, bits) = pop_cost(&r.1, &c.1, c.0 as u64, ch.0 as u64, src.shape.c)?;
        Some((
            if whole {
                src.shape.h * src.shape.w
            } else {
                axons
            },
            bits,
        ))
    } else {
        Some(discrete_cost([&r.1, &c.1, &ch.1]))
    }
}

/// Chooses the tiling of an on-chip population (see the module docs), with at most `cap` neurons per
/// block.
fn choose_tiling(
    pop: &Pop,
    pops: &[Pop],
    limits: &Limits,
    cap: u64,
    model: AxonModel,
) -> Result<Tiling, FrontendError> {
    let len = extents(pop);
    let cands = len.map(candidates);
    // Per candidate (row, col, channel size indices): the input axons and synapse bits of the worst
    // tile, summed over terms (an upper bound: the blocks built are counted exactly).
    let cost: Box<dyn Fn([usize; 3]) -> (u64, u64)> = match model {
        AxonModel::Discrete => {
            let stats: Vec<_> = (0..3)
                .map(|d| axis_stats(pop, pops, d, &cands[d]))
                .collect();
            Box::new(move |i: [usize; 3]| {
                let mut in_axons = 0u64;
                let mut syn = 0u64;
                for (rows, (cols, chans)) in stats[0].iter().zip(stats[1].iter().zip(&stats[2])) {
                    let s = [rows[i[0]], cols[i[1]], chans[i[2]]];
                    in_axons = in_axons
                        .saturating_add(s[0].0.saturating_mul(s[1].0).saturating_mul(s[2].0));
                    syn = syn.saturating_add(s[0].1.saturating_mul(s[1].1).saturating_mul(s[2].1));
                }
                (in_axons, syn.saturating_mul(BITS_PER_SYNAPSE))
            })
        }
        AxonModel::Population => {
            let tiles: Vec<_> = (0..3)
                .map(|d| pop_axis_tiles(pop, pops, d, &cands[d]))
                .collect();
            let cands = cands.clone();
            Box::new(move |i: [usize; 3]| {
                let whole = (0..3).all(|d| cands[d][i[d]] == len[d]);
                let (mut in_axons, mut bits) = (0u64, 0u64);
                for (t, term) in pop.terms.iter().enumerate() {
                    let (mut worst_in, mut worst_bits) = (0u64, 0u64);
                    for r in &tiles[0][t][i[0]] {
                        for c in &tiles[1][t][i[1]] {
                            for ch in &tiles[2][t][i[2]] {
                                let (a, b) = term_cost(term, &pops[term.src], r, c, ch, whole)
                                    .unwrap_or((u64::MAX, u64::MAX));
                                worst_in = worst_in.max(a);
                                worst_bits = worst_bits.max(b);
                            }
                        }
                    }
                    in_axons = in_axons.saturating_add(worst_in);
                    bits = bits.saturating_add(worst_bits);
                }
                (in_axons, bits)
            })
        }
    };
    let mut best: Option<(Score, Tiling)> = None;
    for (ih, &th) in cands[0].iter().enumerate() {
        for (iw, &tw) in cands[1].iter().enumerate() {
            for (ic, &tc) in cands[2].iter().enumerate() {
                if (th * tw * tc) as u64 > cap.min(limits.compartments) {
                    continue;
                }
                let tiling = Tiling::new([th, tw, tc], len);
                // A tiling with more blocks than the best cannot win: skip its cost.
                if best.as_ref().is_some_and(|(s, _)| tiling.n_blocks() > s.0) {
                    continue;
                }
                let (in_axons, syn) = cost([ih, iw, ic]);
                if in_axons > limits.in_axons || syn > limits.synapse_bits {
                    continue;
                }
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
    let dense =
        model == AxonModel::Population && pop.terms.iter().any(|t| !is_pop_term(t, &pops[t.src]));
    if field == "in_axons" && dense {
        return Err(FrontendError::DenseFanIn {
            layer: pop.layer.clone(),
            needed,
            limit,
        });
    }
    Err(FrontendError::DoesNotFit {
        layer: pop.layer.clone(),
        field,
        needed,
        limit,
    })
}

/// Traffic from one block to another: source neurons in the destination's receptive field, the
/// synapses (destination neurons) they reach, summed over those neurons, and the output-axon slots the
/// source block spends on the destination.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Wire {
    pub src: usize,
    pub dst: usize,
    pub overlap: u64,
    pub synapses: u64,
    pub axons: u64,
}

/// Per block (global index): input axons, synapse bits, output axons no wire carries; and every wire.
pub(crate) struct Wiring {
    pub in_axons: Vec<u64>,
    pub synapse_bits: Vec<u64>,
    pub out_axons: Vec<u64>,
    pub wires: Vec<Wire>,
}

/// The product, saturating at `u64::MAX` (figures that large fail the limits anyway).
fn sat_product(xs: impl IntoIterator<Item = u64>) -> u64 {
    xs.into_iter().fold(1, u64::saturating_mul)
}

/// How a wire's output-axon slots follow from the source neurons in the field.
#[derive(Copy, Clone)]
enum OutAxons {
    /// None on the wire: the destination is on the host (nengo-loihi reads it through a probe), or
    /// the caller counts them.
    None,
    /// One per source neuron in the field (discrete axons).
    Neurons,
    /// [`POP32_SLOTS`] per source position in the field (population axons).
    Positions,
}

/// Pushes the wires from the blocks of the source tiling `st` (blocks from `src_offset`) to block
/// `dst`, whose field is `field` (per axis, how many destination indices read each source index).
fn push_wires(
    wires: &mut Vec<Wire>,
    field: &[DimRf; 3],
    st: &Tiling,
    src_offset: usize,
    dst: usize,
    out: OutAxons,
) {
    // Per axis, the source tiles the field touches with (tile, neurons in the field, synapses).
    let per_axis: [Vec<(usize, u64, u64)>; 3] = [0, 1, 2].map(|d| {
        let cnt = &field[d].cnt;
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
                let axons = match out {
                    OutAxons::None => 0,
                    OutAxons::Neurons => sat_product([n0, n1, n2]),
                    OutAxons::Positions => POP32_SLOTS * n0 * n1,
                };
                wires.push(Wire {
                    src: src_offset + sb,
                    dst,
                    overlap: sat_product([n0, n1, n2]),
                    synapses: sat_product([s0, s1, s2]),
                    axons,
                });
            }
        }
    }
}

/// The discrete model's wiring: per destination block and source population, the terms' fields merged
/// (a source neuron read twice takes one axon), shared kernel slices at [`BITS_PER_SYNAPSE`].
fn connect_discrete(pops: &[Pop], tilings: &[Tiling], offsets: &[usize]) -> Wiring {
    let total = offsets[pops.len()];
    let mut w = Wiring {
        in_axons: vec![0; total],
        synapse_bits: vec![0; total],
        out_axons: vec![0; total],
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
                w.synapse_bits[dst] =
                    w.synapse_bits[dst].saturating_add(syn.saturating_mul(BITS_PER_SYNAPSE));
                push_wires(
                    &mut w.wires,
                    &merged,
                    &tilings[src],
                    offsets[src],
                    dst,
                    OutAxons::Neurons,
                );
            }
        }
    }
    w
}

/// nengo-loihi's wiring ([`crate::loihi`]): every term is a connection of its own (its own synapse,
/// input axons and output axons), a convolution through population axons, anything else through
/// discrete ones; nothing spends output axons on the host.
fn connect_population(pops: &[Pop], tilings: &[Tiling], offsets: &[usize]) -> Wiring {
    let total = offsets[pops.len()];
    let mut w = Wiring {
        in_axons: vec![0; total],
        synapse_bits: vec![0; total],
        out_axons: vec![0; total],
        wires: Vec::new(),
    };
    for (p, pop) in pops.iter().enumerate() {
        let til = &tilings[p];
        let host = pop.kind == PopKind::Host;
        let whole = til.n_blocks() == 1;
        // Blocks of one population that share their row and column tiles and channel count (a
        // convolution's cost does not depend on which channels) cost the same: counted once.
        let mut costs: BTreeMap<(usize, [usize; 3], usize), (u64, u64)> = BTreeMap::new();
        for b in 0..til.n_blocks() {
            let c = til.coords(b);
            let r = [0, 1, 2].map(|d| til.range(d, c[d]));
            let dst = offsets[p] + b;
            for (t, term) in pop.terms.iter().enumerate() {
                let src = &pops[term.src];
                let src_len = extents(src);
                let conv = is_pop_term(term, src);
                if !host {
                    let key = (
                        t,
                        [c[0], c[1], if conv { 0 } else { c[2] }],
                        r[2].1 - r[2].0,
                    );
                    let (axons, bits) = *costs.entry(key).or_insert_with(|| {
                        let axes = [
                            (
                                r[0].1 - r[0].0,
                                rf_axons(&term.rows, r[0].0, r[0].1, src_len[0]),
                            ),
                            (
                                r[1].1 - r[1].0,
                                rf_axons(&term.cols, r[1].0, r[1].1, src_len[1]),
                            ),
                            (
                                r[2].1 - r[2].0,
                                if conv {
                                    Vec::new()
                                } else {
                                    rf_chan_axons(term.chan, r[2].0, r[2].1, src_len[2])
                                },
                            ),
                        ];
                        term_cost(term, src, &axes[0], &axes[1], &axes[2], whole)
                            .unwrap_or((u64::MAX, u64::MAX))
                    });
                    w.in_axons[dst] = w.in_axons[dst].saturating_add(axons);
                    w.synapse_bits[dst] = w.synapse_bits[dst].saturating_add(bits);
                }
                let out = match (host, conv, whole) {
                    (true, _, _) => OutAxons::None,
                    (false, false, _) => OutAxons::Neurons,
                    (false, true, false) => OutAxons::Positions,
                    (false, true, true) => {
                        // A destination population in one block keeps an axon for every source
                        // position, in its field or not (nengo-loihi splits no synapse then): every
                        // source block spends POP32_SLOTS per position, wire or no wire.
                        let st = &tilings[term.src];
                        for sb in 0..st.n_blocks() {
                            let sc = st.coords(sb);
                            let len = |d: usize| {
                                let (a, z) = st.range(d, sc[d]);
                                (z - a) as u64
                            };
                            let g = offsets[term.src] + sb;
                            w.out_axons[g] =
                                w.out_axons[g].saturating_add(POP32_SLOTS * len(0) * len(1));
                        }
                        OutAxons::None
                    }
                };
                // A convolution's weight tables hold every source channel (its atoms), zeros included
                // (a depthwise, pooling or identity map is a convolution whose kernel is zero off its
                // diagonal): every source channel block reaches the block through its axons.
                let field = if conv {
                    let full = Term {
                        chan: ChanMap::Full,
                        ..term.clone()
                    };
                    rf_term(&full, src_len, r)
                } else {
                    rf_term(term, src_len, r)
                };
                push_wires(
                    &mut w.wires,
                    &field,
                    &tilings[term.src],
                    offsets[term.src],
                    dst,
                    out,
                );
            }
        }
    }
    // Two terms from one source block (e.g. two linear convolutions added) are two connections: their
    // wires between the same blocks add up.
    w.wires.sort_by_key(|x| (x.src, x.dst));
    w.wires.dedup_by(|next, kept| {
        let same = next.src == kept.src && next.dst == kept.dst;
        if same {
            kept.overlap = kept.overlap.saturating_add(next.overlap);
            kept.synapses = kept.synapses.saturating_add(next.synapses);
            kept.axons = kept.axons.saturating_add(next.axons);
        }
        same
    });
    w
}

/// The block shape a layer asked for, as its `[rows, cols, channels]` or `[n]`.
fn shape_of(pop: &Pop, t: [usize; 3]) -> Vec<u64> {
    if pop.shape.flat {
        vec![t[2] as u64]
    } else {
        t.iter().map(|&v| v as u64).collect()
    }
}

/// Splits the lowered populations into blocks: the network and each population's tiling.
pub(crate) fn split(
    lowered: &Lowered,
    limits: &Limits,
    model: AxonModel,
) -> Result<(Network, Vec<Tiling>), FrontendError> {
    let pops = &lowered.pops;
    let mut caps = vec![limits.compartments; pops.len()];
    let mut tilings = Vec::with_capacity(pops.len());
    for pop in pops {
        let len = extents(pop);
        tilings.push(match (pop.kind, pop.block_shape) {
            (PopKind::Host, _) => Tiling::new(len, len),
            (PopKind::Neurons, Some(t)) => Tiling::new([0, 1, 2].map(|d| t[d].min(len[d])), len),
            (PopKind::Neurons, None) => {
                choose_tiling(pop, pops, limits, limits.compartments, model)?
            }
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
        let wiring = match model {
            AxonModel::Discrete => connect_discrete(pops, &tilings, &offsets),
            AxonModel::Population => connect_population(pops, &tilings, &offsets),
        };
        let mut out_axons = wiring.out_axons.clone();
        for wire in &wiring.wires {
            out_axons[wire.src] = out_axons[wire.src].saturating_add(wire.axons);
        }
        check_block_shapes(pops, &tilings, &offsets, &wiring, &out_axons, limits)?;
        let mut retiled = false;
        for (p, pop) in pops.iter().enumerate() {
            if pop.kind == PopKind::Host || pop.block_shape.is_some() {
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
            tilings[p] = choose_tiling(pop, pops, limits, caps[p], model)?;
            retiled = true;
        }
        if !retiled {
            let net = assemble(lowered, &tilings, &offsets, &wiring, &out_axons)?;
            return Ok((net, tilings));
        }
    }
}

/// Every block of a layer with a `block_shape` must fit one core: the first that does not is an error
/// naming the layer, the shape, the block, the resource, the figure and the limit.
fn check_block_shapes(
    pops: &[Pop],
    tilings: &[Tiling],
    offsets: &[usize],
    wiring: &Wiring,
    out_axons: &[u64],
    limits: &Limits,
) -> Result<(), FrontendError> {
    for (p, pop) in pops.iter().enumerate() {
        if pop.kind == PopKind::Host || pop.block_shape.is_none() {
            continue;
        }
        let til = &tilings[p];
        for b in 0..til.n_blocks() {
            let g = offsets[p] + b;
            let c = til.coords(b);
            let size: u64 = (0..3)
                .map(|d| {
                    let (a, z) = til.range(d, c[d]);
                    (z - a) as u64
                })
                .product();
            let figures = [
                ("compartments", size, limits.compartments),
                ("in_axons", wiring.in_axons[g], limits.in_axons),
                ("out_axons", out_axons[g], limits.out_axons),
                ("synapse_bits", wiring.synapse_bits[g], limits.synapse_bits),
            ];
            if let Some(&(field, needed, limit)) = figures.iter().find(|f| f.1 > f.2) {
                return Err(FrontendError::BlockShapeDoesNotFit {
                    layer: pop.layer.clone(),
                    shape: shape_of(pop, pop.block_shape.expect("checked above")),
                    block: format!("{}.{b}", pop.name),
                    field,
                    needed,
                    limit,
                });
            }
        }
    }
    Ok(())
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
                block.synapse_bits = wiring.synapse_bits[g];
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

    /// Builds `layers` under the discrete model and compares every block as (name, compartments,
    /// in_axons, out_axons, synapse_bits) and every edge as (src, dst, spikes, synops).
    fn check(
        layers: &str,
        compartments: u64,
        blocks: &[(&str, u64, u64, u64, u64)],
        edges: &[(&str, &str, f64, f64)],
    ) {
        let net = build_with(&spec(layers), &limits(compartments), AxonModel::Discrete).unwrap();
        assert_eq!(block_figures(&net, |_| true), blocks);
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
        let net = build_with(
            &spec(
                r#"{"name": "in", "type": "input", "shape": [8, 8, 1]},
                   {"name": "c", "type": "conv2d", "filters": 1, "kernel": [3, 3], "strides": [2, 2],
                    "padding": "same"}"#,
            ),
            &limits(4),
            AxonModel::Discrete,
        )
        .unwrap();
        let ins: Vec<_> = net.blocks()[1..5].iter().map(|b| b.in_axons).collect();
        assert_eq!(ins, [24, 24, 24, 16]);
    }

    #[test]
    fn residual_add_joins_both_inputs() {
        // relu(conv(x) + x): the add's neurons read the conv's 3x3 field and x's own neuron.
        let net = build_with(
            &spec(
                r#"{"name": "in", "type": "input", "shape": [4, 4, 2]},
                   {"name": "x", "type": "relu"},
                   {"name": "c", "type": "conv2d", "filters": 2, "kernel": [3, 3], "padding": "same",
                    "activation": "linear"},
                   {"name": "a", "type": "add", "inputs": ["c", "x"]}"#,
            ),
            &Limits::LOIHI,
            AxonModel::Discrete,
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
            "layer \"d\" cannot be split to fit one core: each of its neurons reads 4097 source neurons \
             through a dense connection, one discrete input axon each, more than the core limit 4096 \
             (nengo-loihi fails here too; snn-place does not split the fan-in through relay blocks because \
             relay neurons would rectify negative partial sums and add a timestep of delay, changing what \
             the network computes: reduce the fan-in, e.g. with pooling before the dense layer)"
        );
        // The discrete model names the figure alone.
        assert_eq!(
            build_with(
                &spec(
                    r#"{"name": "in", "type": "input", "shape": [4097]},
                       {"name": "d", "type": "dense", "units": 2}"#
                ),
                &Limits::LOIHI,
                AxonModel::Discrete
            )
            .unwrap_err()
            .to_string(),
            "layer \"d\" cannot be split to fit one core: a block of one neuron needs 4097 in_axons, \
             the core limit is 4096"
        );
    }

    /// Builds `layers` under nengo-loihi's model and compares the on-chip blocks as (name,
    /// compartments, in_axons, out_axons, synapse_bits).
    fn check_pop(layers: &str, blocks: &[(&str, u64, u64, u64, u64)]) {
        let net = build(&spec(layers), &Limits::LOIHI).unwrap();
        assert_eq!(block_figures(&net, |b| !b.host), blocks);
    }

    /// Name, compartments, input and output axons and synapse bits of the blocks `keep` accepts.
    fn block_figures(
        net: &Network,
        keep: impl Fn(&Block) -> bool,
    ) -> Vec<(&str, u64, u64, u64, u64)> {
        net.blocks()
            .iter()
            .filter(|b| keep(b))
            .map(|b| {
                (
                    b.name.as_str(),
                    b.compartments,
                    b.in_axons,
                    b.out_axons,
                    b.synapse_bits,
                )
            })
            .collect()
    }

    #[test]
    fn population_axons_at_same_borders() {
        // 8x8x1 -> 'same' 3x3 conv, 4 filters, in 4x4x4 blocks. Output rows 0..4 read input rows 0..5:
        // 5 x 5 = 25 population axons (positions), not 6 x 6. Per axis the positions meet 4 weight
        // patterns: row 0 reaches outputs 0, 1 (taps 1, 0), rows 1 and 2 three outputs (taps 2, 1, 0),
        // row 3 two (taps 2, 1), row 4 one (tap 2): 4 x 4 = 16 tables, all with compartment bases
        // below 256. The largest index is 43 (an axon reaching rows and cols 0..2 of the 4x4x4 block:
        // (2 * 4 + 2) * 4 + 3), so 6 index bits, 14 bits per weight; the table of n x m positions holds
        // n * m * 4 weights, one run each: sum over n, m in [2, 3, 2, 1] of ceil((16 n m * 14 / 16 + 10)
        // / 64) words = 4,160 bits. The probe is on the host: no output axons.
        let b = |n| (n, 64, 25, 0, 4160);
        check_pop(
            r#"{"name": "in", "type": "input", "shape": [8, 8, 1]},
               {"name": "c", "type": "conv2d", "filters": 4, "kernel": [3, 3], "padding": "same",
                "block_shape": [4, 4, 4]}"#,
            &[b("c.0"), b("c.1"), b("c.2"), b("c.3")],
        );
    }

    #[test]
    fn population_axons_with_stride_2() {
        // 8x8 -> 'same' 3x3 stride 2: 4x4 outputs, the one padding row at the bottom. Outputs 0..2 read
        // input rows 0..5 (5), outputs 2..4 rows 4..8 (4): 2x2 blocks read 25, 20, 20 and 16 positions.
        let net = build(
            &spec(
                r#"{"name": "in", "type": "input", "shape": [8, 8, 1]},
                   {"name": "c", "type": "conv2d", "filters": 1, "kernel": [3, 3], "strides": [2, 2],
                    "padding": "same", "block_shape": [2, 2, 1]}"#,
            ),
            &Limits::LOIHI,
        )
        .unwrap();
        let ins: Vec<_> = net.blocks()[1..5].iter().map(|b| b.in_axons).collect();
        assert_eq!(ins, [25, 20, 20, 16]);
    }

    #[test]
    fn population_axons_of_a_1x1_shortcut_and_a_whole_layer() {
        // x: 4x4x2 neurons in one block; a 1x1 stride-2 conv into 2x2x2 neurons in 1x1x2 blocks: each
        // block reads one position (its two channels are atoms), and x spends 2 slots (pop32) per block:
        // 8. Each block's one table: 1 position x 2 filters x 2 channels = 4 weights, index 1 -> 6 bits,
        // 4 * 14 + 10 = 66 bits, two words: 128.
        check_pop(
            r#"{"name": "in", "type": "input", "shape": [4, 4, 2]},
               {"name": "x", "type": "relu"},
               {"name": "s", "type": "conv2d", "filters": 2, "kernel": [1, 1], "strides": [2, 2],
                "padding": "same", "block_shape": [1, 1, 2]}"#,
            &[
                // x reads the input through an identity map (a 1x1 convolution): all 16 positions use
                // one table (2 channels x 2 atoms, indices 0..1, bases below 256): 128 bits.
                ("x.0", 32, 16, 8, 128),
                ("s.0", 2, 1, 0, 128),
                ("s.1", 2, 1, 0, 128),
                ("s.2", 2, 1, 0, 128),
                ("s.3", 2, 1, 0, 128),
            ],
        );
        // A 'valid' 3x3 stride-2 conv of 8x8 gives 3x3 outputs and never reads row or column 7; in one
        // block nengo-loihi still keeps an axon for every position: 64 in, and x spends 2 x 64 slots.
        let net = build(
            &spec(
                r#"{"name": "in", "type": "input", "shape": [8, 8, 1]},
                   {"name": "x", "type": "relu"},
                   {"name": "c", "type": "conv2d", "filters": 1, "kernel": [3, 3], "strides": [2, 2]}"#,
            ),
            &Limits::LOIHI,
        )
        .unwrap();
        let x = net.block(net.find("x.0").unwrap());
        let c = net.block(net.find("c.0").unwrap());
        assert_eq!((x.out_axons, c.in_axons), (128, 64));
        // The same holds for a source block the one-block layer never reads: x's 4 rows in 4 blocks, a
        // 'same' 2x1 stride-3 conv reads rows 0, 1 and 3 (2 outputs, the padding row at the bottom),
        // yet x.2 spends its 2 slots too.
        let net = build(
            &spec(
                r#"{"name": "in", "type": "input", "shape": [4, 1, 1]},
                   {"name": "x", "type": "relu", "block_shape": [1, 1, 1]},
                   {"name": "c", "type": "conv2d", "filters": 1, "kernel": [2, 1], "strides": [3, 1],
                    "padding": "same"}"#,
            ),
            &Limits::LOIHI,
        )
        .unwrap();
        let outs: Vec<u64> = (0..4)
            .map(|i| net.block(net.find(&format!("x.{i}")).unwrap()).out_axons)
            .collect();
        assert_eq!(outs, [2, 2, 2, 2]);
        assert!(!net
            .edges()
            .iter()
            .any(|e| e.src == net.find("x.2").unwrap()));
    }

    #[test]
    fn bad_block_shapes_are_errors() {
        let err = |layer: &str| {
            build(
                &spec(&format!(
                    r#"{{"name": "in", "type": "input", "shape": [16, 16, 64]}}, {layer}"#
                )),
                &Limits::LOIHI,
            )
            .unwrap_err()
            .to_string()
        };
        let conv = |shape: &str| {
            err(&format!(
                r#"{{"name": "c", "type": "conv2d", "filters": 64, "kernel": [3, 3], "padding": "same",
                     "block_shape": {shape}}}"#
            ))
        };
        assert_eq!(
            conv("[8, 8]"),
            "layer \"c\": field \"block_shape\" must have 3 numbers ([rows, cols, channels]) for the \
             layer's output shape [16, 16, 64], got 2"
        );
        assert_eq!(
            conv("[8, 0, 8]"),
            "layer \"c\": field \"block_shape\" must be at least 1 along every axis, got [8, 0, 8]"
        );
        assert_eq!(
            conv("[32, 32, 64]"),
            "layer \"c\": field \"block_shape\" [32, 32, 64] (65536 neurons) is larger than the layer's \
             output shape [16, 16, 64] (16384 neurons)"
        );
        assert_eq!(
            conv("[8, 8, 32]"),
            "layer \"c\": block_shape [8, 8, 32] does not fit one core: block \"c.0\" needs 2048 \
             compartments, the core limit is 1024"
        );
        assert_eq!(
            conv("[4, 4, 64]"),
            "layer \"c\": block_shape [4, 4, 64] does not fit one core: block \"c.0\" needs 6848512 \
             synapse_bits, the core limit is 1048576"
        );
        assert_eq!(
            conv("[18446744073709551615, 18446744073709551615, 2]"),
            "layer \"c\": field \"block_shape\" [18446744073709551615, 18446744073709551615, 2] (more than \
             18446744073709551615 neurons) is larger than the layer's output shape [16, 16, 64] (16384 \
             neurons)"
        );
        // One neuron per block of a 4096x4096x2 layer: counted against the cap before any block is made.
        assert_eq!(
            build(
                &spec(
                    r#"{"name": "in", "type": "input", "shape": [4096, 4096, 2]},
                       {"name": "r", "type": "relu", "block_shape": [1, 1, 1]}"#
                ),
                &Limits::LOIHI
            )
            .unwrap_err()
            .to_string(),
            "the network would have 33554434 blocks; at most 16777216 are supported"
        );
        assert_eq!(
            err(r#"{"name": "f", "type": "flatten"}, {"name": "d", "type": "dense", "units": 10,
                    "block_shape": [4, 4]}"#),
            "layer \"d\": field \"block_shape\" must have 1 number ([n]) for the layer's output shape \
             [10], got 2"
        );
        assert_eq!(
            err(r#"{"name": "p", "type": "avg_pool", "kernel": [2, 2], "block_shape": [4, 4, 4]}"#),
            "layer \"p\": field \"block_shape\" applies only to an on-chip layer with neurons; \"p\" has \
             none (a linear layer folds into the next connection)"
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
            let (net, tilings) = split(&lowered, &limits(cap), AxonModel::Discrete).unwrap();
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
