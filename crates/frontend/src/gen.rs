//! Seeded network generators for tests and benchmarks: a conv-net-like [`GenKind::Layered`] network and
//! a power-law [`GenKind::Random`] one, both with exactly the requested number of blocks.
//!
//! Every generated block fits one Loihi core on its own (1,024 compartments, 4,096 input and 4,096 output
//! axons, 16,384 x 64 bits of synapse memory, as in nengo-loihi's `nengo_loihi/block.py`), host blocks
//! included, so a generated network is always placeable given enough cores. The limits are repeated here
//! rather than taken from the hardware crate because this crate depends only on the graph crate.
//!
//! Determinism: one [`ChaCha8Rng`] seeded with [`GenOptions::seed`] drives everything, draws happen in a
//! fixed order, and the only floating-point operations are `+ - * /`, `sqrt` and rounding (no `exp`, `ln`
//! or `powf`, whose results may differ between platform maths libraries), so the same options give the same bytes
//! through [`snn_graph::write_net`] on every platform.

use std::fmt;
use std::str::FromStr;

use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use snn_graph::{Block, BlockId, Edge, GraphError, Network};

/// Loihi's compartments per core.
const MAX_COMPARTMENTS: u64 = 1024;
/// Loihi's input axons per core.
const MAX_IN_AXONS: u64 = 4096;
/// Loihi's output axons per core.
const MAX_OUT_AXONS: u64 = 4096;
/// Loihi's synapse memory per core: 16,384 words of 64 bits.
const MAX_SYNAPSE_BITS: u64 = 16_384 * 64;
/// The synapse memory one synapse is assumed to take (a weight plus its share of the entry overhead).
const BITS_PER_SYNAPSE: u64 = 8;
/// Rates of on-chip blocks lie in this range (mean spikes per compartment per timestep).
const MIN_RATE: f64 = 0.01;
const MAX_RATE: f64 = 0.2;

/// Which generator to run.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum GenKind {
    /// A conv-net-like network: layers of spatial tiles whose grid shrinks with depth.
    Layered,
    /// A Chung-Lu random graph with power-law degrees.
    Random,
}

impl GenKind {
    /// Every kind, in the order the CLI lists them.
    pub const ALL: [GenKind; 2] = [GenKind::Layered, GenKind::Random];

    /// The kind's stable name, as parsed by [`FromStr`].
    pub fn name(self) -> &'static str {
        match self {
            GenKind::Layered => "layered",
            GenKind::Random => "random",
        }
    }
}

impl fmt::Display for GenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for GenKind {
    type Err = GenError;

    fn from_str(s: &str) -> Result<GenKind, GenError> {
        GenKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| GenError::UnknownKind {
                found: s.to_string(),
            })
    }
}

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenOptions {
    pub kind: GenKind,
    /// The exact number of blocks of the result, host blocks included.
    pub blocks: usize,
    /// Seeds the generator's [`ChaCha8Rng`]; the same options always give the same network.
    pub seed: u64,
}

/// The fewest blocks a generated network may have: the layered network needs an input, two layers and a
/// probe, and the random one two host blocks and two on-chip blocks (so that an edge is never a self-loop).
pub const MIN_GEN_BLOCKS: usize = 4;
/// The most blocks a generated network may have. A block with its name, layer and name-index entry takes
/// roughly 200 bytes and its ten or so edges another 320, so this bound keeps a request within a few tens
/// of gigabytes instead of failing halfway through on memory.
pub const MAX_GEN_BLOCKS: usize = 50_000_000;

/// Why no network was generated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenError {
    #[error("a generated network needs at least {min} blocks, got {blocks}")]
    TooFewBlocks { blocks: usize, min: usize },
    #[error("a generated network may have at most {max} blocks, got {blocks}")]
    TooManyBlocks { blocks: usize, max: usize },
    #[error("unknown generator {found:?}, expected \"layered\" or \"random\"")]
    UnknownKind { found: String },
    /// The generator built a network that [`Network::new`] rejects: a bug in the generator.
    #[error("the generator built an invalid network (a bug): {0}")]
    Invalid(#[from] GraphError),
}

/// Generates the network `opts` describe. The result has exactly `opts.blocks` blocks, every block fits
/// one Loihi core, and the same options always give the same network.
pub fn generate(opts: &GenOptions) -> Result<Network, GenError> {
    if opts.blocks < MIN_GEN_BLOCKS {
        return Err(GenError::TooFewBlocks {
            blocks: opts.blocks,
            min: MIN_GEN_BLOCKS,
        });
    }
    if opts.blocks > MAX_GEN_BLOCKS {
        return Err(GenError::TooManyBlocks {
            blocks: opts.blocks,
            max: MAX_GEN_BLOCKS,
        });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let (blocks, edges) = match opts.kind {
        GenKind::Layered => layered(opts.blocks, &mut rng),
        GenKind::Random => random(opts.blocks, &mut rng),
    };
    let name = format!("{}-n{}-seed{}", opts.kind, opts.blocks, opts.seed);
    Ok(Network::new(name, blocks, edges)?)
}

// ---------------------------------------------------------------------------------------------------------
// Layered

/// Layers per stage before the remainder is added: two, like a ResNet basic block, so that every stage has
/// a residual edge.
const LAYERS_PER_STAGE: u64 = 2;
/// Input axons a layer-0 tile needs for its share of the image: an 8 x 8 pixel tile plus the one-pixel
/// halo a 3 x 3 kernel reads, times 3 colour channels.
const INPUT_AXONS_PER_TILE: f64 = 10.0 * 10.0 * 3.0;
/// The pixels of an 8 x 8 tile of a colour image, which the host input block streaming it holds.
const INPUT_PIXELS_PER_TILE: u64 = 8 * 8 * 3;
/// The share of a source tile a destination reads, by how far the destination is from the source's
/// position in the next layer's grid. The same position reads the whole tile; a side neighbour reads the
/// one-pixel border strip a 3 x 3 kernel crosses into (one of 8 rows of an 8 x 8 pixel tile); a diagonal
/// neighbour reads one corner pixel of 64.
const CENTRE_SHARE: f64 = 1.0;
const SIDE_SHARE: f64 = 1.0 / 8.0;
const CORNER_SHARE: f64 = 1.0 / 64.0;
/// The share a residual edge carries: the whole tile for an identity shortcut, a quarter for a strided
/// 1 x 1 shortcut, which samples every second pixel in each direction.
const RESIDUAL_SHARE: f64 = 1.0;
const STRIDED_RESIDUAL_SHARE: f64 = 0.25;

/// One layer of the layered network: a `side` x `side` grid of tiles, one block each.
struct Layer {
    side: u64,
    /// The index of the layer's first block; tile `(row, col)` is block `first + row * side + col`.
    first: usize,
    /// Compartments of each of the layer's blocks (the tile's pixels times its channels).
    compartments: u64,
    /// Synapses per input axon the layer's blocks would like (kernel taps times reachable output
    /// channels), before the synapse memory limit caps it.
    fanout: u64,
}

impl Layer {
    fn block(&self, row: u64, col: u64) -> usize {
        self.first + (row * self.side + col) as usize
    }
}

/// How the layered network's blocks are split: host inputs, the grid side of each layer, host probes.
#[derive(Debug, PartialEq)]
struct LayeredPlan {
    n_inputs: usize,
    n_probes: usize,
    /// The grid side of each layer, non-increasing, ending in 1.
    sides: Vec<u64>,
    /// The stage (number of halvings) of each layer.
    stages: Vec<u32>,
}

/// Grid sides of the stages that start at `side`: each stage halves the side (rounding up, as a strided
/// 'same' convolution does) until it reaches 1.
fn stage_sides(side: u64) -> Vec<u64> {
    let mut sides = vec![side.max(1)];
    while let Some(&s) = sides.last().filter(|&&s| s > 1) {
        sides.push(s.div_ceil(2));
    }
    sides
}

/// On-chip blocks of a network whose first stage has grid side `side`, with [`LAYERS_PER_STAGE`] layers
/// per stage.
fn base_blocks(side: u64) -> u64 {
    LAYERS_PER_STAGE * stage_sides(side).iter().map(|s| s * s).sum::<u64>()
}

/// Splits `n_blocks` (at least [`MIN_GEN_BLOCKS`]) into hosts and layers so that they add up exactly.
///
/// The first stage's side is the largest whose base network (two layers per stage) fits; the few blocks
/// left over become extra layers, given greedily to the widest stage they fill (a stage with side `s`
/// takes `s * s` blocks per extra layer). The last stage has side 1, so any remainder is used up. Each
/// stage's remainder is smaller than the previous stage's layer, which is at most four times larger, so
/// no stage gets more than three extra layers (except in networks of fewer than 30 blocks).
fn plan_layered(n_blocks: usize) -> LayeredPlan {
    // The image is streamed in from the host in horizontal bands, more of them for larger networks; the
    // output (class scores) is small, so probes grow more slowly.
    let n_inputs = 1 + n_blocks / 100_000;
    let n_probes = 1 + n_blocks / 1_000_000;
    let on_chip = n_blocks.saturating_sub(n_inputs + n_probes) as u64;
    // base_blocks is non-decreasing in the side and base_blocks(1) = 2 <= on_chip, so binary search finds
    // the largest fitting side.
    let (mut lo, mut hi) = (1u64, on_chip.max(1));
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if base_blocks(mid) <= on_chip {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let mut left = on_chip.saturating_sub(base_blocks(lo));
    let (mut sides, mut stages) = (Vec::new(), Vec::new());
    for (stage, side) in stage_sides(lo).into_iter().enumerate() {
        let extra = left / (side * side);
        left -= extra * side * side;
        for _ in 0..LAYERS_PER_STAGE + extra {
            sides.push(side);
            stages.push(stage as u32);
        }
    }
    LayeredPlan {
        n_inputs,
        n_probes,
        sides,
        stages,
    }
}

/// A conv-net-like network: host inputs, then layers of `side` x `side` tiles, then host probes.
///
/// Each tile feeds the 3 x 3 neighbourhood of its position in the next layer's grid, which is what a
/// 'same'-padded 3 x 3 convolution does across tile borders (scaled down where the next layer is strided).
/// Every second layer starts a residual block: layer `l` also feeds layer `l + 2` at the matching
/// position. Channels, and so compartments per tile, grow with depth while the grid shrinks.
fn layered(n_blocks: usize, rng: &mut ChaCha8Rng) -> (Vec<Block>, Vec<Edge>) {
    let plan = plan_layered(n_blocks);
    let mut blocks = Vec::with_capacity(n_blocks);
    for i in 0..plan.n_inputs {
        // The compartments are set below, from the pixels of the band the input streams.
        let mut b = Block::new(format!("input.{i}"), 1).on_host();
        b.layer = Some("input".into());
        b.rate = round4(rng.random_range(0.05..MAX_RATE));
        blocks.push(b);
    }
    let last_stage = plan.stages.last().copied().unwrap_or(0);
    let mut layers = Vec::with_capacity(plan.sides.len());
    for (k, (&side, &stage)) in plan.sides.iter().zip(&plan.stages).enumerate() {
        // 256 compartments (8 x 8 pixels x 4 channels) in the first stage, twice the channels after it,
        // and a full core in the last (1 x 1) stage. Tiles stay at 512 before the last stage so that a
        // strided layer's input axons (four source tiles and their borders, 6.25 tiles, plus a strided
        // shortcut) stay within 4,096.
        let full = if stage == last_stage {
            MAX_COMPARTMENTS
        } else if stage == 0 {
            256
        } else {
            512
        };
        let compartments = ((full * 3 / 4) + rng.random_range(0..=full / 4)).max(1);
        let rate: f64 = rng.random_range(0.02..0.15);
        let fanout = rng.random_range(9..=64);
        let layer = Layer {
            side,
            first: blocks.len(),
            compartments,
            fanout,
        };
        let name = format!("l{k}");
        for t in 0..side * side {
            let mut b = Block::new(format!("l{k}.t{t}"), compartments);
            b.layer = Some(name.clone());
            b.rate = round4((rate * rng.random_range(0.8..1.2)).clamp(MIN_RATE, MAX_RATE));
            blocks.push(b);
        }
        layers.push(layer);
    }
    let probes_first = blocks.len();
    for i in 0..plan.n_probes {
        let mut b = Block::new(format!("probe.{i}"), 1).on_host();
        b.layer = Some("probe".into());
        blocks.push(b);
    }

    let mut traffic = Traffic::new(blocks.len());
    let mut edges = Vec::new();
    // The host streams the image in horizontal bands: input `i` feeds the tile rows that map to it. There
    // are far fewer inputs than rows, so every input gets at least one row.
    if let Some(l0) = layers.first() {
        let mut pixels = vec![0u64; plan.n_inputs];
        for row in 0..l0.side {
            let input = (row as usize * plan.n_inputs) / l0.side as usize;
            for col in 0..l0.side {
                pixels[input] += INPUT_PIXELS_PER_TILE;
                let spikes = INPUT_AXONS_PER_TILE * blocks[input].rate;
                traffic.add_host_src(
                    &mut edges,
                    input,
                    l0.block(row, col),
                    spikes,
                    INPUT_AXONS_PER_TILE,
                );
            }
        }
        // An input's compartments are its band's pixels, capped at a core's worth although the host has
        // no cores to fit, so that every generated block fits one.
        for (b, p) in blocks.iter_mut().zip(pixels) {
            b.compartments = p.clamp(1, MAX_COMPARTMENTS);
        }
    }
    for (k, layer) in layers.iter().enumerate() {
        let next = layers.get(k + 1);
        let skip = layers.get(k + 2).filter(|_| k % 2 == 0);
        for row in 0..layer.side {
            for col in 0..layer.side {
                let src = layer.block(row, col);
                let (c, rate) = (layer.compartments as f64, blocks[src].rate);
                if let Some(next) = next {
                    let (r, q) = (scale(row, layer, next), scale(col, layer, next));
                    for dr in -1i64..=1 {
                        for dc in -1i64..=1 {
                            let (Some(r2), Some(q2)) = (shift(r, dr, next), shift(q, dc, next))
                            else {
                                continue;
                            };
                            let share = match dr.abs() + dc.abs() {
                                0 => CENTRE_SHARE,
                                1 => SIDE_SHARE,
                                _ => CORNER_SHARE,
                            };
                            let dst = next.block(r2, q2);
                            traffic.add(&mut edges, src, dst, share * c * rate, share * c);
                        }
                    }
                }
                if let Some(skip) = skip {
                    let share = if skip.side == layer.side {
                        RESIDUAL_SHARE
                    } else {
                        STRIDED_RESIDUAL_SHARE
                    };
                    let dst = skip.block(scale(row, layer, skip), scale(col, layer, skip));
                    traffic.add(&mut edges, src, dst, share * c * rate, share * c);
                }
            }
        }
    }
    // The probes split the output layer's compartments between them.
    if let Some(out) = layers.last() {
        let n_out = (out.side * out.side) as usize;
        let n = n_out.max(plan.n_probes);
        for i in 0..n {
            let src = out.first + i % n_out;
            let per_src = n.div_ceil(n_out) as f64;
            let share = 1.0 / per_src;
            let c = out.compartments as f64;
            let dst = probes_first + i % plan.n_probes;
            traffic.add(
                &mut edges,
                src,
                dst,
                share * c * blocks[src].rate,
                share * c,
            );
        }
    }

    let mut fanout = vec![0u64; blocks.len()];
    for layer in &layers {
        let n = (layer.side * layer.side) as usize;
        fanout[layer.first..layer.first + n].fill(layer.fanout);
    }
    traffic.finish(&mut blocks, &mut edges, &fanout);
    (blocks, edges)
}

/// The position in `to`'s grid that position `x` of `from`'s grid maps to (the same position when the
/// grids match, half of it across a stride).
fn scale(x: u64, from: &Layer, to: &Layer) -> u64 {
    x * to.side / from.side
}

/// `x + d` when it lies inside `layer`'s grid.
fn shift(x: u64, d: i64, layer: &Layer) -> Option<u64> {
    x.checked_add_signed(d).filter(|&y| y < layer.side)
}

// ---------------------------------------------------------------------------------------------------------
// Random

/// Edges sampled per on-chip block: 6 directed edges each give every block 12 edges on average, in and
/// out together.
const EDGES_PER_BLOCK: usize = 6;
/// Edges each host block has: inputs send this many, probes receive this many.
const EDGES_PER_HOST: usize = 6;
/// The largest Chung-Lu weight in large networks, 128 times the mean of 2 (smaller networks have a
/// smaller cap, see [`random`]). Without a cap the Pareto tail gives the heaviest
/// block about `sqrt(n) / 2` times the mean degree, thousands of edges in a large network, far more input
/// axons than a core has; with it the heaviest have roughly 1,500 edges, still a heavy tail.
const MAX_WEIGHT: f64 = 256.0;
/// The smallest spikes an edge carries; edge spikes are Pareto with tail index 4/3 above it (mean 1).
const MIN_EDGE_SPIKES: f64 = 0.25;

/// A Chung-Lu random graph (Chung and Lu 2002, "Connected components in random graphs with given
/// expected degree sequences", Annals of Combinatorics 6): each on-chip block gets a weight from a Pareto
/// distribution with tail index 2 (degree exponent 3, as in scale-free networks), and each edge picks both
/// endpoints with probability proportional to their weights, so a block's expected degree is proportional
/// to its weight. About 1% of the blocks are host inputs and probes. Self-loops are resampled, and a pair
/// drawn more than once gets one edge (removing the repeats sorts the edges by source, then destination).
fn random(n_blocks: usize, rng: &mut ChaCha8Rng) -> (Vec<Block>, Vec<Edge>) {
    let n_host = (n_blocks / 100).max(2);
    let n_inputs = n_host / 2;
    // At least 2, since n_blocks >= MIN_GEN_BLOCKS: there is always a second block to resample to.
    let on_chip = n_blocks - n_host;
    let mut blocks = Vec::with_capacity(n_blocks);
    let mut weights = Vec::with_capacity(on_chip);
    // Chung and Lu require the expected degrees d to satisfy max(d)^2 <= sum(d), so that no pair expects
    // more than one edge. Here d = 6 w (12 edge ends per block over a mean weight of 2), which makes the
    // condition w <= sqrt(n / 3). Above 3 * MAX_WEIGHT^2 blocks the fixed cap is the tighter one.
    let max_weight = (on_chip as f64 / 3.0).sqrt().clamp(1.0, MAX_WEIGHT);
    let mut fanout = Vec::with_capacity(n_blocks);
    for i in 0..on_chip {
        let mut b = Block::new(format!("n{i}"), rng.random_range(128..=MAX_COMPARTMENTS));
        b.rate = round4(rng.random_range(MIN_RATE..MAX_RATE));
        fanout.push(rng.random_range(9..=64));
        blocks.push(b);
        // 1 / sqrt(u) for u uniform in (0, 1] is Pareto with tail index 2 and minimum 1.
        let u = 1.0 - rng.random::<f64>();
        weights.push((1.0 / u.sqrt()).min(max_weight));
    }
    // Host blocks have no synapses, so no synapses per input axon either.
    fanout.resize(n_blocks, 0);
    for h in 0..n_host {
        let mut b =
            Block::new(format!("host.{h}"), rng.random_range(64..=MAX_COMPARTMENTS)).on_host();
        if h < n_inputs {
            b.layer = Some("input".into());
            b.rate = round4(rng.random_range(0.05..MAX_RATE));
        } else {
            b.layer = Some("probe".into());
        }
        blocks.push(b);
    }

    let alias = Alias::new(&weights);
    let n_keys = on_chip * EDGES_PER_BLOCK + n_host * EDGES_PER_HOST;
    let mut keys = Vec::with_capacity(n_keys);
    let key = |src: usize, dst: usize| ((src as u64) << 32) | dst as u64;
    for _ in 0..on_chip * EDGES_PER_BLOCK {
        let src = alias.sample(rng);
        let mut dst = alias.sample(rng);
        // Resampling keeps the weighted choice; the fallback only matters when one block holds nearly all
        // the weight, and it bounds the loop.
        for _ in 0..8 {
            if dst != src {
                break;
            }
            dst = alias.sample(rng);
        }
        if dst == src {
            dst = (src + 1) % on_chip;
        }
        keys.push(key(src, dst));
    }
    for h in 0..n_host {
        for _ in 0..EDGES_PER_HOST {
            let other = alias.sample(rng);
            keys.push(if h < n_inputs {
                key(on_chip + h, other)
            } else {
                key(other, on_chip + h)
            });
        }
    }
    keys.sort_unstable();
    keys.dedup();

    let mut traffic = Traffic::new(n_blocks);
    let mut edges = Vec::with_capacity(keys.len());
    for k in keys {
        let (src, dst) = ((k >> 32) as usize, (k & u64::from(u32::MAX)) as usize);
        let (c, rate) = (blocks[src].compartments as f64, blocks[src].rate);
        // u^(-3/4) for u uniform in (0, 1] is Pareto with tail index 4/3, computed with square roots only.
        let u = 1.0 - rng.random::<f64>();
        let pareto = 1.0 / (u.sqrt() * u.sqrt().sqrt());
        // A block cannot send more messages than it has firing compartments.
        let spikes = (MIN_EDGE_SPIKES * pareto).min(c * rate);
        // The source compartments with an axon into the destination: enough to carry the spikes.
        let axons = if rate > 0.0 {
            (spikes / rate).ceil().min(c)
        } else {
            0.0
        };
        if blocks[src].host {
            traffic.add_host_src(&mut edges, src, dst, spikes, axons);
        } else {
            traffic.add(&mut edges, src, dst, spikes, axons);
        }
    }
    traffic.finish(&mut blocks, &mut edges, &fanout);
    (blocks, edges)
}

/// Walker's alias method (Vose's variant, "A linear algorithm for generating random numbers with a given
/// distribution", IEEE TSE 17(9), 1991): O(n) to build, then each weighted draw costs two random numbers
/// and one memory access, which keeps sampling millions of edges fast.
struct Alias {
    /// For each column, the probability of keeping it rather than taking its alias, and the alias. They
    /// sit side by side because a draw reads both, from a random column of a table larger than the cache.
    columns: Vec<(f64, u32)>,
}

impl Alias {
    /// Requires at least one weight, all finite and positive.
    fn new(weights: &[f64]) -> Alias {
        let n = weights.len();
        let total: f64 = weights.iter().sum();
        let mut scaled: Vec<f64> = weights.iter().map(|w| w * n as f64 / total).collect();
        let mut columns: Vec<(f64, u32)> = (0..n as u32).map(|i| (1.0, i)).collect();
        let (mut small, mut large): (Vec<u32>, Vec<u32>) =
            (0..n as u32).partition(|&i| scaled[i as usize] < 1.0);
        while let (Some(&s), Some(&l)) = (small.last(), large.last()) {
            small.pop();
            columns[s as usize] = (scaled[s as usize], l);
            scaled[l as usize] = (scaled[l as usize] + scaled[s as usize]) - 1.0;
            if scaled[l as usize] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        // Whatever is left has (up to rounding) probability 1 and keeps its own column.
        Alias { columns }
    }

    fn sample(&self, rng: &mut ChaCha8Rng) -> usize {
        let i = rng.random_range(0..self.columns.len() as u32) as usize;
        let (keep, alias) = self.columns[i];
        if rng.random::<f64>() < keep {
            i
        } else {
            alias as usize
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Shared

/// Collects edges and the axons they need at each end, then derives the blocks' axon and synapse fields.
struct Traffic {
    in_axons: Vec<f64>,
    out_axons: Vec<f64>,
}

impl Traffic {
    fn new(n_blocks: usize) -> Traffic {
        Traffic {
            in_axons: vec![0.0; n_blocks],
            out_axons: vec![0.0; n_blocks],
        }
    }

    /// An edge from an on-chip block: `axons` source compartments need an output axon entry to `dst`,
    /// and `dst` an input axon for each.
    fn add(&mut self, edges: &mut Vec<Edge>, src: usize, dst: usize, spikes: f64, axons: f64) {
        self.out_axons[src] += axons;
        self.add_host_src(edges, src, dst, spikes, axons);
    }

    /// An edge from the host, which keeps no routing table on a core.
    fn add_host_src(
        &mut self,
        edges: &mut Vec<Edge>,
        src: usize,
        dst: usize,
        spikes: f64,
        axons: f64,
    ) {
        self.in_axons[dst] += axons;
        edges.push(Edge::new(
            BlockId(src as u32),
            BlockId(dst as u32),
            round4(spikes),
        ));
    }

    /// Sets each on-chip block's axons and synapse memory from its edges, within Loihi's limits, and each
    /// edge's synaptic events from its destination's synapses per input axon (`fanout`, capped so that
    /// the synapses fit). Host blocks keep zero axons and synapses, and edges into them no synops (the
    /// format's default of one event per message).
    ///
    /// The counts are clamped to the core limits rather than the layer split further: the generators
    /// model traffic, not an exact connectome, and the layered generator's sizes stay within the limits
    /// before clamping anyway.
    fn finish(self, blocks: &mut [Block], edges: &mut [Edge], fanout: &[u64]) {
        let mut per_axon = vec![0u64; blocks.len()];
        for (i, b) in blocks.iter_mut().enumerate() {
            if b.host {
                continue;
            }
            b.in_axons = (self.in_axons[i].ceil() as u64).min(MAX_IN_AXONS);
            b.out_axons = (self.out_axons[i].ceil() as u64).min(MAX_OUT_AXONS);
            let fits = MAX_SYNAPSE_BITS / BITS_PER_SYNAPSE / b.in_axons.max(1);
            per_axon[i] = fanout[i].min(fits).max(1);
            b.synapse_bits = b.in_axons * per_axon[i] * BITS_PER_SYNAPSE;
        }
        for e in edges {
            let f = per_axon[e.dst.idx()];
            if f > 0 {
                e.synops = Some(round4(e.spikes * f as f64));
            }
        }
    }
}

/// `x` rounded to 4 decimals, so that files stay short and readable (`0.3`, not `0.30000000000000004`).
fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

#[cfg(test)]
mod tests {
    use super::*;
    use snn_graph::write_net;

    /// Generates a network and checks the invariants every generated network has: exactly `n_blocks`
    /// blocks, each within Loihi's per-core limits, on-chip rates in range, and no self-loops.
    fn check(kind: GenKind, n_blocks: usize, seed: u64) -> Network {
        let opts = GenOptions {
            kind,
            blocks: n_blocks,
            seed,
        };
        let net = generate(&opts).unwrap_or_else(|e| panic!("{kind} {n_blocks}: {e}"));
        assert_eq!(net.n_blocks(), n_blocks, "{kind}");
        for b in net.blocks() {
            let what = format!("{kind} {n_blocks}: {b:?}");
            assert!((1..=MAX_COMPARTMENTS).contains(&b.compartments), "{what}");
            assert!(b.in_axons <= MAX_IN_AXONS, "{what}");
            assert!(b.out_axons <= MAX_OUT_AXONS, "{what}");
            assert!(b.synapse_bits <= MAX_SYNAPSE_BITS, "{what}");
            if !b.host {
                assert!((MIN_RATE..=MAX_RATE).contains(&b.rate), "{what}");
            }
        }
        for e in net.edges() {
            assert_ne!(e.src, e.dst, "{kind} {n_blocks}: self-loop");
            assert!(
                e.spikes > 0.0 && e.synops() > 0.0,
                "{kind} {n_blocks}: {e:?}"
            );
        }
        net
    }

    fn bytes(kind: GenKind, n_blocks: usize, seed: u64) -> Vec<u8> {
        let mut out = Vec::new();
        write_net(&check(kind, n_blocks, seed), &mut out).unwrap();
        out
    }

    /// Edges per on-chip block, counting only edges between on-chip blocks.
    fn on_chip_out_degree(net: &Network) -> f64 {
        let on_chip = |id: BlockId| !net.block(id).host;
        let n = net
            .edges()
            .iter()
            .filter(|e| on_chip(e.src) && on_chip(e.dst));
        n.count() as f64 / net.n_on_chip() as f64
    }

    #[test]
    fn block_counts_are_exact() {
        for kind in GenKind::ALL {
            for n in (4..=300).chain([1000, 3910, 12_345, 65_537]) {
                check(kind, n, 7);
            }
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes_and_another_seed_differs() {
        for kind in GenKind::ALL {
            for n in [4, 100, 3910] {
                assert_eq!(bytes(kind, n, 1), bytes(kind, n, 1), "{kind} {n}");
                assert_ne!(bytes(kind, n, 1), bytes(kind, n, 2), "{kind} {n}");
            }
        }
    }

    #[test]
    fn layered_has_inputs_probes_a_shrinking_grid_and_residuals() {
        let net = check(GenKind::Layered, 3910, 3);
        let layer = |id: BlockId| net.block(id).layer.as_deref().unwrap_or("");
        let depth = |id: BlockId| {
            layer(id)
                .strip_prefix('l')
                .and_then(|k| k.parse::<usize>().ok())
        };
        let inputs: Vec<_> = net.block_ids().filter(|&b| layer(b) == "input").collect();
        let probes: Vec<_> = net.block_ids().filter(|&b| layer(b) == "probe").collect();
        assert!(!inputs.is_empty() && !probes.is_empty());
        assert!(inputs.iter().chain(&probes).all(|&b| net.block(b).host));
        assert_eq!(net.blocks().iter().filter(|b| b.host).count(), 2);
        for e in net.edges() {
            if inputs.contains(&e.src) {
                assert_eq!(depth(e.dst), Some(0), "{e:?}");
            }
        }
        let n_layers = net.block_ids().filter_map(depth).max().unwrap() + 1;
        let width = |k: usize| net.block_ids().filter(|&b| depth(b) == Some(k)).count();
        assert!(width(0) > 100 * width(n_layers - 1), "the grid shrinks");
        let into_probes = net.edges().iter().filter(|e| probes.contains(&e.dst));
        assert!(into_probes
            .clone()
            .all(|e| depth(e.src) == Some(n_layers - 1)));
        assert!(into_probes.count() >= probes.len());
        let skips = net
            .edges()
            .iter()
            .filter(|e| match (depth(e.src), depth(e.dst)) {
                (Some(a), Some(b)) => b == a + 2,
                _ => false,
            });
        assert!(skips.count() > 100, "residual edges");
        assert_eq!(net.find("l0.t0").map(|b| net.block(b).host), Some(false));
    }

    #[test]
    fn layered_traffic_is_largest_to_the_same_position() {
        let net = check(GenKind::Layered, 1000, 5);
        let plan = plan_layered(1000);
        let (side, side2) = (plan.sides[0], plan.sides[2]);
        assert_eq!(
            plan.sides[1], side,
            "the first stage has two layers on one grid"
        );
        let src = net.find(&format!("l0.t{}", side + 1)).unwrap();
        let out: Vec<_> = net.edges().iter().filter(|e| e.src == src).collect();
        let names: Vec<_> = out.iter().map(|e| net.block(e.dst).name.clone()).collect();
        // Tile (1, 1) feeds rows 0-2, columns 0-2 of the next layer, then layer 2 at its position.
        let mut expect: Vec<_> = [0, 1, 2, side, side + 1, side + 2]
            .iter()
            .chain(&[2 * side, 2 * side + 1, 2 * side + 2])
            .map(|t| format!("l1.t{t}"))
            .collect();
        let p = side2 / side;
        expect.push(format!("l2.t{}", p * side2 + p));
        assert_eq!(names, expect);
        let spikes: Vec<_> = out.iter().map(|e| e.spikes).collect();
        assert!(
            spikes[4] > 4.0 * spikes[1] && spikes[1] > 4.0 * spikes[0],
            "{spikes:?}"
        );
        assert!(spikes[9] <= spikes[4], "{spikes:?}");
    }

    #[test]
    fn degrees_are_in_the_intended_range() {
        for seed in [1, 2] {
            let d = on_chip_out_degree(&check(GenKind::Layered, 10_000, seed));
            assert!((8.5..=12.0).contains(&d), "layered out-degree {d}");
            let net = check(GenKind::Random, 10_000, seed);
            let d = 2.0 * net.edges().len() as f64 / net.n_blocks() as f64;
            assert!((10.0..=15.0).contains(&d), "random degree {d}");
        }
    }

    #[test]
    fn random_degrees_are_heavy_tailed() {
        let net = check(GenKind::Random, 3910, 11);
        let mut degree = vec![0usize; net.n_blocks()];
        for e in net.edges() {
            degree[e.src.idx()] += 1;
            degree[e.dst.idx()] += 1;
        }
        let mean = degree.iter().sum::<usize>() as f64 / degree.len() as f64;
        let max = *degree.iter().max().unwrap() as f64;
        assert!(max > 8.0 * mean, "max degree {max}, mean {mean}");
        let hosts = net.blocks().iter().filter(|b| b.host).count();
        assert_eq!(hosts, 39);
    }

    #[test]
    fn rejects_sizes_out_of_range_and_unknown_kinds() {
        let err = |kind, blocks| {
            let opts = GenOptions {
                kind,
                blocks,
                seed: 0,
            };
            generate(&opts).unwrap_err().to_string()
        };
        for kind in GenKind::ALL {
            for n in 0..MIN_GEN_BLOCKS {
                let expect = format!("a generated network needs at least 4 blocks, got {n}");
                assert_eq!(err(kind, n), expect);
            }
            assert_eq!(
                err(kind, MAX_GEN_BLOCKS + 1),
                "a generated network may have at most 50000000 blocks, got 50000001"
            );
        }
        assert_eq!(
            "mesh".parse::<GenKind>().unwrap_err().to_string(),
            "unknown generator \"mesh\", expected \"layered\" or \"random\""
        );
        for kind in GenKind::ALL {
            assert_eq!(kind.to_string().parse::<GenKind>().unwrap(), kind);
        }
    }

    #[test]
    fn plans_add_up_for_every_size() {
        for n in (4..5000).chain([99_999, 100_000, 1_000_000, MAX_GEN_BLOCKS]) {
            let plan = plan_layered(n);
            let on_chip: u64 = plan.sides.iter().map(|s| s * s).sum();
            assert_eq!(plan.n_inputs + plan.n_probes + on_chip as usize, n, "{n}");
            assert_eq!(plan.sides.last(), Some(&1), "{n}");
            assert!(plan.sides.windows(2).all(|w| w[0] >= w[1]), "{n}");
            assert!(plan.n_inputs as u64 <= plan.sides[0], "{n}");
        }
    }
}
