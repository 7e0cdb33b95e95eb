//! `metis`: METIS partitioning (Karypis and Kumar 1998, "A fast and high quality multilevel scheme for
//! partitioning irregular graphs", SIAM J. Sci. Comput. 20(1)) of the on-chip blocks into chips, made to
//! respect the hard per-chip capacity by a repair pass, optionally refined (k-way FM, then multilevel
//! V-cycles), tried with several seeds, best cut kept, then mapped onto the chip mesh. Even tries use
//! METIS's k-way scheme, odd ones its recursive bisection: on conv-like layered nets recursive bisection
//! starts about 4% lower (measured on `gen layered --blocks 3910`: 14,785 against 15,416 inter-chip spikes
//! before refinement), on others k-way does; trying both costs nothing at 2 or more tries. Above
//! [`ALL_RECURSIVE`] blocks every try is a recursive bisection.
//!
//! The bundled METIS 5.2.1 (the `metis` crate's vendored build) keeps its random-number state in a global:
//! two calls at once would race on it. METIS calls therefore take a global lock; the repair and refinement
//! of the tries run in parallel. Each call reseeds METIS, so a try's result depends only on its seed, and
//! the best try is chosen by (cut, try index): the same seed gives the same placement at any thread count.

use std::sync::Mutex;

use rand::Rng;
use rayon::prelude::*;
use snn_graph::{Adjacency, Edge, Network};
use snn_hardware::{Topology, TrafficModel};
use snn_placement::{Nets, Placement};

use crate::fm::{self, FmConfig};
use crate::hyper::{self, HyperGraph, HYPER_PASSES};
use crate::mapping::place_parts;
use crate::multilevel::{self, VCYCLES};
use crate::partition::BlockGraph;
use crate::{chips_to_use, AllocError, Allocator, Ctx};

/// Serialises calls into METIS (see the module docs).
static METIS_LOCK: Mutex<()> = Mutex::new(());

/// See the module docs.
#[derive(Clone, Debug, PartialEq)]
pub struct Metis {
    /// Independent METIS runs (different seeds); the lowest cut wins.
    pub tries: u32,
    /// k-way FM refinement of every try, when set.
    pub refine: Option<FmConfig>,
    /// The V-cycles after FM on each try above [`FEWER_VCYCLES_NET`] blocks ([`FEWER_VCYCLES`] by
    /// default; [`VCYCLES`] below that size). The portfolio's `--effort full` runs [`VCYCLES`]: the
    /// cycles of a try run in the same order whatever their number, so each try ends no higher than
    /// with fewer.
    pub large_vcycles: usize,
}

impl Default for Metis {
    fn default() -> Metis {
        Metis {
            tries: 4,
            refine: None,
            large_vcycles: FEWER_VCYCLES,
        }
    }
}

/// Above this many on-chip blocks METIS runs at most 2 tries (one k-way, one recursive bisection):
/// METIS calls are serialised (see the module docs), and on `gen layered --blocks 1000000` 4 tries took
/// 72 s, three times as long as reading and validating the 851 MB file (BENCHMARKS.md).
pub const LARGE_NET: usize = 250_000;

/// Above this many on-chip blocks `--refine fm` runs [`FEWER_VCYCLES`] V-cycles after FM on each try
/// rather than [`VCYCLES`].
pub const FEWER_VCYCLES_NET: usize = 32_000;

/// The V-cycles of a try above [`FEWER_VCYCLES_NET`] blocks. Measured (seed 1, 2 threads; `metis
/// --refine fm` and the default, which refines the best try with V-cycles of its own): on `gen layered
/// --blocks 97983` (766 chips) 8 / 4 / 2 / 0 cycles gave the default 644,820 / 644,930 / 644,946 /
/// 644,815 inter-chip spikes in 19.7 / 18.4 / 16.7 / 15.6 s and `metis --refine fm` 654,723 (8, 11.2 s)
/// / 657,324 (2, 8.2 s) / 661,163 (0, 7.3 s); on `gen random --blocks 40000` (310 chips) the default
/// 93,858 / 93,861 / 93,888 / 93,920 in 52.6 / 45.8 / 48.3 / 95.7 s (without them the default's own,
/// serial, refinement has the more to do).
pub const FEWER_VCYCLES: usize = 4;

/// Above this many on-chip blocks every try is a recursive bisection: there it gave the best try on every
/// net measured, and k-way is the slower call (both serialised). Measured (seed 1, k-way's best try
/// against recursive bisection's, cut after FM and V-cycles, in METIS's integer weights): `gen layered
/// --blocks 16000` 38.81e9 against 37.07e9, `gen random --blocks 16000` 38.66e9 against 38.59e9, `gen
/// layered --blocks 97983` (766 chips) 38.76e9 against 37.42e9, its METIS calls 0.85 s (k-way) against
/// 0.4 s; with only recursive bisection above it, `metis` on that net gives the same partition 1.1 s sooner
/// and `portfolio` 1-2 s sooner, and on `gen layered --blocks 300000` (2 tries) the same in 8.6 s
/// against 10.1 s. Below it k-way sometimes wins (`gen random --blocks 3900`).
pub const ALL_RECURSIVE: usize = 32_000;

/// METIS's weights are 32-bit and it sums them: scale so that all of them together stay below 2^30.
pub(crate) fn metis_weights(g: &BlockGraph) -> Vec<i32> {
    let total: i64 = g.weights.iter().sum();
    let factor = if total > 1 << 30 {
        (1u64 << 30) as f64 / total as f64
    } else {
        1.0
    };
    g.weights
        .iter()
        .map(|&w| ((w as f64 * factor).round() as i32).max(1))
        .collect()
}

/// One METIS run, k-way or recursive bisection: the part of each vertex.
fn metis_kway(
    g: &BlockGraph,
    adjwgt: &[i32],
    k: u32,
    imbalance_permille: i32,
    seed: i32,
    recursive: bool,
) -> Result<Vec<u32>, AllocError> {
    let n = g.n();
    // METIS refuses more parts than vertices (and prints so): the extra chips stay empty.
    let k = k.min(n as u32);
    if k <= 1 {
        return Ok(vec![0; n]);
    }
    let too_large = |_| AllocError::Backend {
        name: "metis",
        message: format!(
            "the graph ({n} blocks, {} edges) is too large for METIS's 32-bit indices",
            g.adj.len() / 2
        ),
    };
    let xadj: Vec<i32> = g
        .xadj
        .iter()
        .map(|&x| i32::try_from(x))
        .collect::<Result<_, _>>()
        .map_err(too_large)?;
    let adjncy: Vec<i32> = g.adj.iter().map(|&u| u as i32).collect();
    let mut part = vec![0i32; n];
    let backend = |e: &dyn std::fmt::Display| AllocError::Backend {
        name: "metis",
        message: e.to_string(),
    };
    {
        // A poisoned lock only means another METIS call panicked; METIS itself is reseeded below.
        let _guard = METIS_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let graph = metis::Graph::new(1, k as i32, &xadj, &adjncy)
            .map_err(|e| backend(&e))?
            .set_adjwgt(adjwgt)
            .set_option(metis::option::Seed(seed))
            .set_option(metis::option::UFactor(imbalance_permille));
        if recursive {
            graph.part_recursive(&mut part).map_err(|e| backend(&e))?;
        } else {
            graph.part_kway(&mut part).map_err(|e| backend(&e))?;
        }
    }
    Ok(part.into_iter().map(|p| p as u32).collect())
}

impl Metis {
    /// The partition (chip of each on-chip block, in `BlockGraph` order) into `k` parts of at most
    /// `cap` blocks: the best of `tries` seeded runs.
    pub fn partition(
        &self,
        graphs: &[&BlockGraph],
        k: u32,
        cap: u32,
        h: Option<&HyperGraph>,
        ctx: &mut Ctx,
    ) -> Result<Vec<u32>, AllocError> {
        let tries = self.partition_tries(graphs, k, cap, h, ctx)?;
        Ok(best_try(tries.iter().map(|t| (t.0, &t.1)))
            .cloned()
            .unwrap_or_default())
    }

    /// Every try of [`Metis::partition`], in order, with its cut (the multicast cut under multicast).
    /// The seeds are drawn from `ctx.rng` in order, so the first `n` tries of a run with more tries are
    /// the tries of a run with `n`.
    pub fn partition_tries(
        &self,
        graphs: &[&BlockGraph],
        k: u32,
        cap: u32,
        h: Option<&HyperGraph>,
        ctx: &mut Ctx,
    ) -> Result<Vec<Try>, AllocError> {
        let n = graphs[0].n();
        let caps = vec![cap; k as usize];
        // The slack the capacity leaves, as METIS's allowed imbalance (per mille, at most its default 30).
        let slack = (k as f64 * cap as f64 / n.max(1) as f64 - 1.0) * 1000.0;
        let ufactor = (slack.floor() as i32).clamp(1, 30);
        let adjwgt: Vec<Vec<i32>> = graphs.iter().map(|g| metis_weights(g)).collect();
        let tries = if n > LARGE_NET {
            self.tries.min(2)
        } else {
            self.tries
        };
        let seeds: Vec<i32> = (0..tries.max(1))
            .map(|_| ctx.rng.random_range(0..i32::MAX))
            .collect();
        let deadline = ctx.deadline;
        let expired = move || deadline.is_some_and(|d| std::time::Instant::now() >= d);
        let tries: Vec<Result<(i64, Vec<u32>), AllocError>> = seeds
            .par_iter()
            .enumerate()
            .map(|(t, &seed)| {
                // Tries alternate k-way and recursive bisection, and every two tries the graph.
                let m = (t / 2) % graphs.len();
                let g = graphs[m];
                let recursive = t % 2 == 1 || n > ALL_RECURSIVE;
                let mut part = metis_kway(g, &adjwgt[m], k, ufactor, seed, recursive)?;
                fm::repair(g, &mut part, &caps);
                if let Some(cfg) = &self.refine {
                    fm::refine(g, &mut part, &caps, cfg, &expired);
                    let cycles = if n > FEWER_VCYCLES_NET {
                        self.large_vcycles
                    } else {
                        VCYCLES
                    };
                    multilevel::vcycles(g, &mut part, &caps, cycles, seed as u64, cfg, &expired);
                }
                // Under multicast, METIS and FM lowered the unicast cut, an upper bound of the
                // multicast one; the local search now works on the multicast cut itself.
                if let Some(h) = h {
                    hyper::refine(g, h, &mut part, &caps, seed as u64, HYPER_PASSES, &expired);
                    return Ok((h.cut(&part, caps.len()), part));
                }
                Ok((g.cut(&part), part))
            })
            .collect();
        tries.into_iter().collect()
    }
}

/// One METIS try: its cut and the part of each vertex.
pub type Try = (i64, Vec<u32>);

/// The partition with the lowest cut, ties to the earlier try.
pub fn best_try<'a>(tries: impl Iterator<Item = (i64, &'a Vec<u32>)>) -> Option<&'a Vec<u32>> {
    let mut best: Option<(i64, &Vec<u32>)> = None;
    for (cut, part) in tries {
        if best.is_none_or(|(b, _)| cut < b) {
            best = Some((cut, part));
        }
    }
    best.map(|b| b.1)
}

impl Allocator for Metis {
    fn name(&self) -> &'static str {
        if self.refine.is_some() {
            "metis+fm"
        } else {
            "metis"
        }
    }

    fn allocate(
        &self,
        net: &Network,
        topo: &Topology,
        ctx: &mut Ctx,
    ) -> Result<Placement, AllocError> {
        let (g, part, k) = self.parts(net, topo, ctx)?;
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

impl Metis {
    /// The partition `allocate` maps onto the board: the graph of the on-chip blocks, the part of each
    /// of its vertices, and the number of parts.
    pub fn parts(
        &self,
        net: &Network,
        topo: &Topology,
        ctx: &mut Ctx,
    ) -> Result<(BlockGraph, Vec<u32>, u32), AllocError> {
        let (g, tries, k) = self.parts_tries(net, topo, ctx)?;
        let part = best_try(tries.iter().map(|t| (t.0, &t.1)))
            .cloned()
            .unwrap_or_default();
        Ok((g, part, k))
    }

    /// [`Metis::parts`] with every try (see [`Metis::partition_tries`]) instead of the best.
    #[allow(clippy::type_complexity)]
    pub fn parts_tries(
        &self,
        net: &Network,
        topo: &Topology,
        ctx: &mut Ctx,
    ) -> Result<(BlockGraph, Vec<Try>, u32), AllocError> {
        // `--chips N` is a ceiling, as nengo-loihi's `n_chips` and the other allocators treat it: the
        // fewest chips that hold the network keep the most traffic on chip; the mapping then uses only
        // chips 0..N. With `--spread`, all N.
        let k = chips_to_use(net, topo, ctx)?.max(1);
        let g = BlockGraph::new(net, &Adjacency::new(net));
        // Under multicast, half the tries partition the unicast graph and half the graph with the
        // destinations of each small net joined too (see `multicast_graph`): neither wins on every
        // net (measured on `gen layered` and `gen random`), and the multicast cut picks the best try.
        let (clique, h) = if ctx.traffic == TrafficModel::Multicast {
            let nets = ctx.nets(net);
            let h = HyperGraph::new(&g, &nets, net.n_blocks());
            (Some(multicast_graph(net, &nets)?), Some(h))
        } else {
            (None, None)
        };
        let mut graphs = vec![&g];
        graphs.extend(clique.as_ref());
        let tries = self.partition_tries(&graphs, k, topo.cores_per_chip(), h.as_ref(), ctx)?;
        Ok((g, tries, k))
    }
}

/// The largest net whose pins are joined pairwise in [`multicast_graph`]; larger ones keep their star.
const CLIQUE_PINS: usize = 16;

/// The second graph METIS partitions under multicast: each net's source joined to each pin by the pin's
/// spikes (the unicast graph), and the pins of a net of at most [`CLIQUE_PINS`] pins joined pairwise by
/// the larger of their spikes over the pin count (after the clique net model, Lengauer 1990,
/// "Combinatorial algorithms for integrated circuit layout"): destinations of one source then tend to
/// share a chip, which multicast charges once.
fn multicast_graph(net: &Network, nets: &Nets) -> Result<BlockGraph, AllocError> {
    let mut edges = Vec::new();
    for n in 0..nets.len() {
        let r = nets.xpins[n]..nets.xpins[n + 1];
        let pins = &nets.pins[r.clone()];
        let spikes = &nets.spikes[r];
        let d = pins.len() as f64;
        for (i, (&p, &w)) in pins.iter().zip(spikes).enumerate() {
            edges.push(Edge::new(nets.src[n], p, w));
            if pins.len() <= CLIQUE_PINS {
                for (&q, &x) in pins[i + 1..].iter().zip(&spikes[i + 1..]) {
                    edges.push(Edge::new(p, q, w.max(x) / d));
                }
            }
        }
    }
    let model = Network::new(net.name.clone(), net.blocks().to_vec(), edges).map_err(|e| {
        AllocError::Backend {
            name: "metis",
            message: e.to_string(),
        }
    })?;
    Ok(BlockGraph::new(&model, &Adjacency::new(&model)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use snn_graph::{Block, BlockId, Edge};
    use snn_placement::{Metrics, Rules};

    /// `k` clusters of `size` blocks, dense inside (every pair, 10 spikes), joined in a ring by one light
    /// edge (0.1 spikes) between consecutive clusters; block ids interleave the clusters so that file
    /// order tells nothing.
    fn clusters(k: u32, size: u32) -> Network {
        let id = |c: u32, i: u32| BlockId(i * k + c);
        let blocks = (0..k * size)
            .map(|b| Block::new(format!("b{b}"), 100))
            .collect();
        let mut edges = Vec::new();
        for c in 0..k {
            for i in 0..size {
                for j in i + 1..size {
                    edges.push(Edge::new(id(c, i), id(c, j), 10.0));
                }
            }
            edges.push(Edge::new(id(c, 0), id((c + 1) % k, 1), 0.1));
        }
        Network::new("clusters", blocks, edges).unwrap()
    }

    fn cluster_board(chips: u32, cores: u32) -> Topology {
        use snn_hardware::{CoreLimits, CostModel, Grid};
        Topology::new(
            "board",
            Grid { x: chips, y: 1 },
            Grid { x: cores, y: 1 },
            1,
            CoreLimits::LOIHI,
            CostModel::default(),
        )
        .unwrap()
    }

    #[test]
    fn finds_obvious_clusters() {
        for refine in [None, Some(FmConfig::default())] {
            let net = clusters(6, 10);
            let topo = cluster_board(6, 10);
            let rules = Rules::for_topology(&topo);
            let alloc = Metis {
                tries: 2,
                refine,
                ..Metis::default()
            };
            let p = alloc
                .allocate(&net, &topo, &mut Ctx::new(1, rules))
                .unwrap();
            p.validate(&net, &topo, &rules).unwrap();
            let m = Metrics::compute(&net, &topo, &p);
            // Only the six light ring edges cross chips.
            assert!(
                (m.interchip_spikes - 0.6).abs() < 1e-9,
                "{refine:?}: {}",
                m.interchip_spikes
            );
            assert_eq!(m.chips_used, 6);
        }
    }

    #[test]
    fn same_seed_same_placement_at_any_thread_count() {
        let net = clusters(8, 12);
        let topo = cluster_board(8, 13);
        let rules = Rules::for_topology(&topo);
        let alloc = Metis {
            refine: Some(FmConfig::default()),
            ..Metis::default()
        };
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                alloc
                    .allocate(&net, &topo, &mut Ctx::new(7, rules))
                    .unwrap()
            })
        };
        assert_eq!(run(1), run(2));
    }

    #[test]
    fn respects_hard_capacity_with_almost_no_slack() {
        // 5 clusters of 13 on 5 chips of 13 cores: zero slack, METIS's 1.001 balance must be repaired.
        let net = clusters(5, 13);
        let topo = cluster_board(5, 13);
        let rules = Rules::for_topology(&topo);
        let p = Metis::default()
            .allocate(&net, &topo, &mut Ctx::new(3, rules))
            .unwrap();
        p.validate(&net, &topo, &rules).unwrap();
    }
}
