//! `mtkahypar`: Mt-KaHyPar (Gottesbüren, Heuer, Maas, Sanders and Schlag 2024, "Scalable High-Quality
//! Hypergraph Partitioning", ACM Trans. Algorithms 20(1)), the multilevel hypergraph partitioner behind
//! the best cuts issue 14 compares against, as an allocator: the on-chip blocks are split into the chips
//! [`chips_to_use`] gives, at most a chip's cores each, and the parts are mapped onto the mesh as METIS's
//! are ([`place_parts`]). The default allocator (`portfolio`) also uses it as one more start.
//!
//! It sits behind the cargo feature `mtkahypar` (the `mt-kahypar` crate statically links Mt-KaHyPar and
//! builds its vendored TBB and Boost with `cc`: no system packages, but a first build of about 13 minutes
//! on 2 cores). Without the feature, [`by_name`](crate::by_name) refuses the name with an error that
//! names the feature ([`AllocError::NotBuilt`]).
//!
//! What it is given:
//! - **Objective.** Under unicast traffic, the unicast graph ([`BlockGraph`]) as 2-pin hyperedges and
//!   the cut objective. Under multicast, the multicast nets ([`Nets`]) as hyperedges with the connectivity
//!   (lambda - 1) objective, which is the multicast cost exactly when a source sends the same spikes to
//!   every destination. When the pins of a net carry different spikes (the net costs, per other chip,
//!   the *largest* spikes to a pin there), the net is cut into levels: with the pins' spikes sorted
//!   `w1 >= w2 >= ...`, the hyperedge {source} + {pins with spikes >= wj} of weight `wj - w(j+1)` for each
//!   level j, whose connectivity costs add up to the multicast cost exactly. Mt-KaHyPar has no pin
//!   weights, so this is how they are represented; at most [`MAX_LEVELS`] levels per net (more distinct
//!   spike counts round down to the nearest kept level, an underestimate of at most the gap between two
//!   kept levels).
//! - **Capacity.** Mt-KaHyPar's balance constraint is `(1 + epsilon) * ceil(n / k)` blocks per part,
//!   rounded down; epsilon is chosen so that this is exactly a chip's cores. All chips have the same
//!   cores, so one epsilon does what per-part maximum weights
//!   (`mt_kahypar_set_individual_target_block_weights`, which the crate's safe API does not expose) would.
//!   Mt-KaHyPar may still return an overfull part at zero slack: [`fm::repair`] then moves the cheapest
//!   blocks out.
//! - **Weights.** Mt-KaHyPar's weights are 32-bit and it sums them: they are the graph's integer weights
//!   scaled down, as METIS's are, so that the whole objective stays below 2^30.
//! - **Determinism.** Mt-KaHyPar runs on one thread (its TBB pool is initialised with one thread before
//!   its first use) and its calls take a global lock, since its random generator is global
//!   (`mt_kahypar_set_seed`): the rayon thread count never reaches it, and the seed is set before every
//!   call. The `deterministic` preset ignores that seed (it uses its context's seed, which the C API
//!   does not set), so the vertices are also relabelled by a permutation drawn from the seed: every
//!   preset then depends on the seed and only on it. The other presets stop FM and flow searches that
//!   exceed a time limit relative to their own measured running times (FM: at least 5 s; a flow problem:
//!   at least 0.1 s and 8 times the average); on the nets measured here no search comes near them, but a
//!   machine stalled for that long could change the result, as the ILP's time limit does. The
//!   `deterministic` preset has no time limits.

use snn_graph::{Adjacency, Network};
use snn_hardware::{Topology, TrafficModel};
use snn_placement::{Nets, Placement};

use crate::fm;
use crate::mapping::place_parts;
use crate::partition::BlockGraph;
use crate::{chips_to_use, AllocError, Allocator, Ctx};

/// Mt-KaHyPar's presets, ranked by quality and time (see the module docs on determinism).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum MtkPreset {
    /// Deterministic coarsening and label propagation, no FM or flows: the fastest, the weakest, and
    /// the same result whatever the machine's load.
    Deterministic,
    /// Multilevel with FM refinement.
    Default,
    /// Default plus flow-based refinement (Mt-KaHyPar-Q-F): what issue 14 measured.
    #[default]
    Quality,
    /// n-level coarsening with flows: the slowest.
    HighestQuality,
    /// Tuned for thousands of parts.
    LargeK,
}

/// The preset names `--mtk-preset` takes, in [`MtkPreset`] order.
pub const MTK_PRESETS: &[&str] = &[
    "deterministic",
    "default",
    "quality",
    "highest-quality",
    "large-k",
];

impl MtkPreset {
    pub fn name(self) -> &'static str {
        match self {
            MtkPreset::Deterministic => "deterministic",
            MtkPreset::Default => "default",
            MtkPreset::Quality => "quality",
            MtkPreset::HighestQuality => "highest-quality",
            MtkPreset::LargeK => "large-k",
        }
    }

    /// The preset called `name`, or an error listing the known ones.
    pub fn from_name(name: &str) -> Result<MtkPreset, String> {
        match name {
            "deterministic" => Ok(MtkPreset::Deterministic),
            "default" => Ok(MtkPreset::Default),
            "quality" => Ok(MtkPreset::Quality),
            "highest-quality" => Ok(MtkPreset::HighestQuality),
            "large-k" => Ok(MtkPreset::LargeK),
            _ => Err(format!(
                "unknown Mt-KaHyPar preset {name:?}; known: {}",
                MTK_PRESETS.join(", ")
            )),
        }
    }
}

/// At most this many levels (hyperedges) per multicast net (see the module docs).
pub const MAX_LEVELS: usize = 4;

/// See the module docs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MtKaHyPar {
    pub preset: MtkPreset,
}

/// Whether this build has Mt-KaHyPar (the cargo feature `mtkahypar`).
pub const BUILT: bool = cfg!(feature = "mtkahypar");

/// The error for a build without the feature.
pub fn not_built() -> AllocError {
    AllocError::NotBuilt {
        name: "mtkahypar",
        feature: "mtkahypar",
    }
}

impl Allocator for MtKaHyPar {
    fn name(&self) -> &'static str {
        "mtkahypar"
    }

    fn allocate(
        &self,
        net: &Network,
        topo: &Topology,
        ctx: &mut Ctx,
    ) -> Result<Placement, AllocError> {
        let k = chips_to_use(net, topo, ctx)?.max(1);
        let g = BlockGraph::new(net, &Adjacency::new(net));
        let nets = (ctx.traffic == TrafficModel::Multicast).then(|| ctx.nets(net));
        let caps = vec![topo.cores_per_chip(); k as usize];
        let mut part = partition(
            &g,
            nets.as_deref(),
            net.n_blocks(),
            &caps,
            self.preset,
            ctx.seed,
        )?;
        fm::repair(&g, &mut part, &caps);
        Ok(place_parts(
            net,
            topo,
            &ctx.rules,
            &g,
            &part,
            k,
            self.name(),
            ctx.seed,
        ))
    }
}

/// The hypergraph Mt-KaHyPar partitions, over the vertices of a [`BlockGraph`]: hyperedge `e`'s pins
/// are `pins[xpins[e]..xpins[e + 1]]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Hyperedges {
    pub xpins: Vec<usize>,
    pub pins: Vec<usize>,
    /// Invariant: every weight >= 1, and the largest objective (each weight times its hyperedge's
    /// pins less one, at most `k - 1`) sums to at most 2^30.
    pub weights: Vec<i32>,
}

/// The largest objective the weights may add up to, in Mt-KaHyPar's 32-bit weights.
const MAX_OBJECTIVE: f64 = (1u64 << 30) as f64;

impl Hyperedges {
    /// The unicast graph: one 2-pin hyperedge per edge of `g`, its weight scaled as METIS's are.
    pub fn unicast(g: &BlockGraph) -> Hyperedges {
        let w = crate::metis::metis_weights(g);
        let mut h = Hyperedges {
            xpins: vec![0],
            ..Hyperedges::default()
        };
        for v in 0..g.n() {
            let r = g.xadj[v]..g.xadj[v + 1];
            for (&u, &w) in g.adj[r.clone()].iter().zip(&w[r]) {
                if u as usize > v {
                    h.pins.extend([v, u as usize]);
                    h.xpins.push(h.pins.len());
                    h.weights.push(w);
                }
            }
        }
        h
    }

    /// The multicast nets over `g`'s vertices (`nets` over the blocks of the network `g` was built
    /// from, `n_blocks` of them), each cut into at most [`MAX_LEVELS`] levels, for `k` parts.
    pub fn multicast(g: &BlockGraph, nets: &Nets, n_blocks: usize, k: usize) -> Hyperedges {
        let mut local = vec![usize::MAX; n_blocks];
        for (v, b) in g.blocks.iter().enumerate() {
            local[b.idx()] = v;
        }
        // (pins incl. the source, weight in the graph's integer units) per level, before scaling.
        let mut levels: Vec<(Vec<usize>, i64)> = Vec::new();
        let mut pins: Vec<(i64, usize)> = Vec::new();
        for n in 0..nets.len() {
            let r = nets.xpins[n]..nets.xpins[n + 1];
            pins.clear();
            pins.extend(
                nets.pins[r.clone()]
                    .iter()
                    .zip(&nets.spikes[r])
                    .map(|(b, &s)| (((s * g.scale).round() as i64).max(1), local[b.idx()])),
            );
            // Heaviest first, ties by vertex: the order fixes the hyperedges, not the run.
            pins.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            let mut distinct: Vec<i64> = pins.iter().map(|p| p.0).collect();
            distinct.dedup();
            // The levels kept: all when few, else evenly spaced ranks, always the lightest (so that
            // every pin is in the last hyperedge) and the heaviest.
            let kept: Vec<i64> = if distinct.len() <= MAX_LEVELS {
                distinct
            } else {
                let last = distinct.len() - 1;
                (0..MAX_LEVELS)
                    .map(|j| distinct[j * last / (MAX_LEVELS - 1)])
                    .collect()
            };
            let src = local[nets.src[n].idx()];
            for (j, &t) in kept.iter().enumerate() {
                let next = kept.get(j + 1).copied().unwrap_or(0);
                let mut e = vec![src];
                e.extend(pins.iter().take_while(|p| p.0 >= t).map(|p| p.1));
                levels.push((e, t - next));
            }
        }
        let most: f64 = levels
            .iter()
            .map(|(e, w)| *w as f64 * (e.len().min(k).max(1) - 1) as f64)
            .sum();
        let factor = if most > MAX_OBJECTIVE {
            MAX_OBJECTIVE / most
        } else {
            1.0
        };
        let mut h = Hyperedges {
            xpins: vec![0],
            ..Hyperedges::default()
        };
        for (e, w) in levels {
            h.pins.extend(e);
            h.xpins.push(h.pins.len());
            h.weights.push(((w as f64 * factor).round() as i32).max(1));
        }
        h
    }
}

/// Mt-KaHyPar's partition of `g`'s vertices into `caps.len()` parts of at most `caps[0]` vertices
/// (all capacities equal), minimising the unicast cut or, with `nets`, the multicast cut (see the module
/// docs). Parts may come back over capacity: the caller repairs them ([`fm::repair`]).
pub fn partition(
    g: &BlockGraph,
    nets: Option<&Nets>,
    n_blocks: usize,
    caps: &[u32],
    preset: MtkPreset,
    seed: u64,
) -> Result<Vec<u32>, AllocError> {
    let n = g.n();
    // Mt-KaHyPar, as METIS, wants fewer parts than vertices: the extra chips stay empty.
    let k = caps.len().min(n);
    if k <= 1 {
        return Ok(vec![0; n]);
    }
    let h = match nets {
        Some(nets) => Hyperedges::multicast(g, nets, n_blocks, k),
        None => Hyperedges::unicast(g),
    };
    if h.weights.is_empty() {
        // No traffic between on-chip blocks: any partition that fits is optimal, and an even one fits
        // (the caller checked that `k` chips hold the blocks).
        return Ok((0..n).map(|v| (v * k / n) as u32).collect());
    }
    let cap = caps.iter().copied().min().unwrap_or(0);
    let mut part = run(g, &h, k as u32, cap, preset, seed, nets.is_some())?;
    fm::fill_empty(g, &mut part, k);
    Ok(part)
}

#[cfg(not(feature = "mtkahypar"))]
fn run(
    _g: &BlockGraph,
    _h: &Hyperedges,
    _k: u32,
    _cap: u32,
    _preset: MtkPreset,
    _seed: u64,
    _km1: bool,
) -> Result<Vec<u32>, AllocError> {
    Err(not_built())
}

/// Serialises calls into Mt-KaHyPar (see the module docs).
#[cfg(feature = "mtkahypar")]
static MTK_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[cfg(feature = "mtkahypar")]
fn run(
    g: &BlockGraph,
    h: &Hyperedges,
    k: u32,
    cap: u32,
    preset: MtkPreset,
    seed: u64,
    km1: bool,
) -> Result<Vec<u32>, AllocError> {
    use mt_kahypar as mtk;
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    let n = g.n();
    // Vertex v is Mt-KaHyPar's vertex label[v].
    let mut label: Vec<usize> = (0..n).collect();
    label.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let pins: Vec<usize> = h.pins.iter().map(|&v| label[v]).collect();
    let mut vwgt = vec![0i32; n];
    for (v, &w) in g.vwgt.iter().enumerate() {
        vwgt[label[v]] = w as i32;
    }
    // Mt-KaHyPar's part limit is floor((1 + epsilon) * ceil(total / k)): half a block above `cap`
    // makes it `cap` whatever the rounding.
    let total: u64 = g.vwgt.iter().map(|&w| w as u64).sum();
    let perfect = total.div_ceil(k as u64).max(1);
    let epsilon = ((cap as f64 + 0.5) / perfect as f64 - 1.0).max(0.0);
    let backend = |e: mtk::Error| AllocError::Backend {
        name: "mtkahypar",
        message: e.to_string(),
    };
    let raw = {
        // A poisoned lock only means another call panicked; Mt-KaHyPar is reseeded below.
        let _guard = MTK_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        // One thread (see the module docs); only the first call in the process initialises.
        mtk::initialize(1, false);
        let ctx = mtk::Context::builder()
            .preset(match preset {
                MtkPreset::Deterministic => mtk::Preset::Deterministic,
                MtkPreset::Default => mtk::Preset::Default,
                MtkPreset::Quality => mtk::Preset::Quality,
                MtkPreset::HighestQuality => mtk::Preset::HighestQuality,
                MtkPreset::LargeK => mtk::Preset::LargeK,
            })
            .k(k as i32)
            .epsilon(epsilon)
            .objective(if km1 {
                mtk::Objective::Km1
            } else {
                mtk::Objective::Cut
            })
            // Mt-KaHyPar's generator takes an int.
            .seed((seed & 0x7fff_ffff) as usize)
            .verbose(false)
            .build()
            .map_err(backend)?;
        let hg = mtk::Hypergraph::from_adjacency(
            &ctx,
            n,
            &h.xpins,
            &pins,
            Some(&h.weights),
            Some(&vwgt),
        )
        .map_err(backend)?;
        let phg = hg.partition().map_err(backend)?;
        phg.extract_partition()
    };
    let mut part = vec![0u32; n];
    for v in 0..n {
        let p = raw[label[v]];
        if p < 0 || p as u32 >= k {
            return Err(AllocError::Backend {
                name: "mtkahypar",
                message: format!("vertex {v} in part {p} of {k}"),
            });
        }
        part[v] = p as u32;
    }
    Ok(part)
}

#[cfg(test)]
mod tests {
    use super::*;
    use snn_graph::{Block, BlockId, Edge};

    fn net(edges: &[(u32, u32, f64)], n: u32) -> Network {
        let blocks = (0..n).map(|b| Block::new(format!("b{b}"), 1)).collect();
        let edges = edges
            .iter()
            .map(|&(s, d, w)| Edge::new(BlockId(s), BlockId(d), w))
            .collect();
        Network::new("t", blocks, edges).unwrap()
    }

    #[test]
    fn presets_round_trip() {
        for name in MTK_PRESETS {
            assert_eq!(MtkPreset::from_name(name).unwrap().name(), *name);
        }
        assert!(MtkPreset::from_name("fast")
            .unwrap_err()
            .contains("known: deterministic, default"));
    }

    #[test]
    fn unicast_hyperedges_are_the_edges_once() {
        let net = net(&[(0, 1, 2.0), (1, 0, 1.0), (1, 2, 0.5)], 3);
        let g = BlockGraph::new(&net, &Adjacency::new(&net));
        let h = Hyperedges::unicast(&g);
        assert_eq!(h.xpins, [0, 2, 4]);
        assert_eq!(h.pins, [0, 1, 1, 2]);
        assert_eq!(h.weights, [3_000_000, 500_000]);
    }

    #[test]
    fn multicast_levels_add_up_to_the_largest_spikes() {
        // Block 0 sends 3 spikes to 1, 1 to 2 and 3: two levels, {0, 1} of weight 2 and {0, 1, 2, 3}
        // of weight 1. With 1 alone on another chip the net costs 3 = 2 + 1; with 2 alone, 1.
        let net = net(&[(0, 1, 3.0), (0, 2, 1.0), (0, 3, 1.0)], 4);
        let g = BlockGraph::new(&net, &Adjacency::new(&net));
        let h = Hyperedges::multicast(&g, &Nets::new(&net), 4, 2);
        assert_eq!(h.xpins, [0, 2, 6]);
        assert_eq!(h.pins, [0, 1, 0, 1, 2, 3]);
        assert_eq!(h.weights, [2_000_000, 1_000_000]);
    }

    #[test]
    fn multicast_keeps_at_most_max_levels() {
        let edges: Vec<(u32, u32, f64)> = (1..10).map(|d| (0, d, d as f64)).collect();
        let net = net(&edges, 10);
        let g = BlockGraph::new(&net, &Adjacency::new(&net));
        let h = Hyperedges::multicast(&g, &Nets::new(&net), 10, 4);
        assert_eq!(h.weights.len(), MAX_LEVELS);
        // The last level holds the source and every pin.
        assert_eq!(h.xpins[MAX_LEVELS] - h.xpins[MAX_LEVELS - 1], 10);
    }

    #[cfg(not(feature = "mtkahypar"))]
    #[test]
    fn without_the_feature_it_names_the_feature() {
        let net = net(&[(0, 1, 1.0), (2, 3, 1.0)], 4);
        let g = BlockGraph::new(&net, &Adjacency::new(&net));
        let e = partition(&g, None, 4, &[2, 2], MtkPreset::Quality, 1).unwrap_err();
        assert!(e.to_string().contains("--features mtkahypar"), "{e}");
    }

    #[cfg(feature = "mtkahypar")]
    #[test]
    fn finds_the_obvious_cut_at_zero_slack() {
        // Two 4-cliques joined by one light edge, on 2 chips of 4 cores.
        let mut edges = Vec::new();
        for c in 0..2u32 {
            for i in 0..4 {
                for j in i + 1..4 {
                    edges.push((c * 4 + i, c * 4 + j, 10.0));
                }
            }
        }
        edges.push((0, 4, 0.1));
        let net = net(&edges, 8);
        let g = BlockGraph::new(&net, &Adjacency::new(&net));
        for preset in [MtkPreset::Deterministic, MtkPreset::Quality] {
            for nets in [None, Some(Nets::new(&net))] {
                let part = partition(&g, nets.as_ref(), 8, &[4, 4], preset, 3).unwrap();
                assert_eq!(g.part_sizes(&part, 2), [4, 4], "{preset:?}");
                assert_eq!(g.cut(&part), 100_000, "{preset:?}");
            }
        }
    }
}
