//! Multilevel refinement of an existing partition: V-cycles (Walshaw 2004, "Multilevel refinement for
//! combinatorial optimisation problems"; the "iterated multilevel" global search of KaHIP, Sanders and
//! Schulz 2011). Each cycle contracts the graph by heavy-edge matching restricted to pairs in the same
//! part, so the partition carries over to every coarser level unchanged, then refines with k-way FM from
//! the coarsest level back to the finest. At coarse levels one move shifts a whole cluster of blocks, which
//! escapes local minima that single-block moves cannot leave. The cut never rises: every level's FM keeps
//! only improving prefixes, and contraction preserves the cut exactly.

use rand::seq::SliceRandom;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::fm::{self, FmConfig, FmStats};
use crate::partition::BlockGraph;

/// V-cycles a refinement runs at most (it stops earlier once a cycle gains nothing).
pub const VCYCLES: usize = 8;

/// Heavy-edge matching within parts: vertices in a seeded random order take their unmatched neighbour in
/// the same part with the heaviest edge (ties to the lower id), if the pair weighs at most `max_weight`;
/// with `two_hop`, when that leaves the graph almost as large (see `vcycles_by`'s stop), vertices left
/// alone then pair with a vertex of their part that shares a neighbour ([`match_two_hop`]). Returns each
/// vertex's cluster, the number of clusters, and whether two-hop matching ran.
fn match_within_parts(
    g: &BlockGraph,
    part: &[u32],
    max_weight: u32,
    two_hop: bool,
    rng: &mut ChaCha8Rng,
) -> (Vec<u32>, usize, bool) {
    let n = g.n();
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.shuffle(rng);
    let mut mate = vec![u32::MAX; n];
    for &v in &order {
        let v = v as usize;
        if mate[v] != u32::MAX {
            continue;
        }
        let mut best: Option<(i64, usize)> = None;
        for (u, w) in g.neighbors(v) {
            if mate[u] == u32::MAX
                && part[u] == part[v]
                && g.vwgt[u] + g.vwgt[v] <= max_weight
                && best.is_none_or(|(bw, bu)| w > bw || (w == bw && u < bu))
            {
                best = Some((w, u));
            }
        }
        match best {
            Some((_, u)) => {
                mate[v] = u as u32;
                mate[u] = v as u32;
            }
            None => mate[v] = v as u32,
        }
    }
    // Only where heavy edges alone would leave the graph almost as large (see `vcycles_by`'s stop):
    // elsewhere heavy-edge clusters refine better (measured on `gen layered --blocks 3910`).
    let alone = (0..n).filter(|&v| mate[v] == v as u32).count();
    let stalled = two_hop && (alone + (n - alone) / 2) * 10 > n * 9;
    if stalled {
        match_two_hop(g, part, max_weight, &order, &mut mate);
    }
    let mut cluster = vec![u32::MAX; n];
    let mut n_clusters = 0;
    for v in 0..n {
        if cluster[v] == u32::MAX {
            cluster[v] = n_clusters;
            cluster[mate[v] as usize] = n_clusters;
            n_clusters += 1;
        }
    }
    (cluster, n_clusters as usize, stalled)
}

/// Two-hop matching (as Mt-KaHyPar coarsens vertices with few edges of their own): each vertex still
/// alone after heavy-edge matching, in `order`, pairs with the first vertex still alone in its part
/// that shares its heaviest neighbour, then its next heaviest, if the pair weighs at most
/// `max_weight`. On a chip whose blocks talk only to other chips (the dense ensemble array: every
/// ensemble's blocks feed the next array's) heavy-edge matching finds nothing, and V-cycles would have
/// no coarse level; blocks with the same partners then move together.
fn match_two_hop(g: &BlockGraph, part: &[u32], max_weight: u32, order: &[u32], mate: &mut [u32]) {
    let mut by_weight: Vec<(i64, usize)> = Vec::new();
    for &v in order {
        let v = v as usize;
        if mate[v] != v as u32 {
            continue;
        }
        by_weight.clear();
        by_weight.extend(g.neighbors(v).map(|(w, wt)| (wt, w)));
        by_weight.sort_by_key(|&(wt, w)| (std::cmp::Reverse(wt), w));
        let found = by_weight.iter().find_map(|&(_, hub)| {
            g.neighbors(hub).map(|(u, _)| u).find(|&u| {
                u != v
                    && mate[u] == u as u32
                    && part[u] == part[v]
                    && g.vwgt[u] + g.vwgt[v] <= max_weight
            })
        });
        if let Some(u) = found {
            mate[v] = u as u32;
            mate[u] = v as u32;
        }
    }
}

/// Runs up to `cycles` V-cycles on `part` (capacities `cap`), stopping after a cycle that gains nothing or
/// when `expired` says so. Returns the FM statistics summed over all levels and cycles.
pub fn vcycles(
    g: &BlockGraph,
    part: &mut [u32],
    cap: &[u32],
    cycles: usize,
    seed: u64,
    cfg: &FmConfig,
    expired: &(dyn Fn() -> bool + Sync),
) -> FmStats {
    let mut stats = FmStats::default();
    // Invariant: the cut of the partition the next level's refiners start from.
    let mut cut = g.cut(part);
    let (before, after) = vcycles_by(
        g,
        part,
        cap,
        cycles,
        seed,
        // Two-hop matching left out: on the dense ensemble array it gave 8,918 inter-chip spikes
        // against 8,916, and elsewhere it would change what `metis --refine fm` has always computed.
        false,
        &|g, part| g.cut(part),
        &mut |graph, p, _| {
            // Contraction and projection keep the cut exactly, and the refiners' statistics are
            // exact: the cut at every level is the last refiner's, never swept again.
            let s = fm::refine_with_cut(graph, p, cap, cut, cfg, expired);
            cut = s.cut_after;
            stats.passes += s.passes;
            stats.moves_kept += s.moves_kept;
        },
        expired,
    );
    stats.cut_before = before;
    stats.cut_after = after;
    stats
}

/// What [`vcycles_by`] calls on every level: the level's graph, its partition, and the cluster maps
/// from the finest graph down to it.
pub(crate) type RefineLevel<'a> = dyn FnMut(&BlockGraph, &mut [u32], &[Vec<u32>]) + 'a;

/// The V-cycle loop, for any objective that contraction within parts preserves (the cut, the hops of
/// [`crate::hops`], the multicast cut of a [`crate::hyper::HyperGraph`] contracted along the maps):
/// up to `cycles` cycles, each coarsening `g` by matching within parts and calling `refine_level` on
/// every level from the coarsest back to `g` (with `two_hop`, the matching pairs
/// blocks with a common neighbour too: see [`match_two_hop`]), stopping after a cycle that lowers
/// `cost` by nothing or when `expired` says so. `refine_level` must never raise `cost`. Returns the cost
/// before and after.
#[allow(clippy::too_many_arguments)]
pub(crate) fn vcycles_by(
    g: &BlockGraph,
    part: &mut [u32],
    cap: &[u32],
    cycles: usize,
    seed: u64,
    two_hop: bool,
    cost: &dyn Fn(&BlockGraph, &[u32]) -> i64,
    refine_level: &mut RefineLevel,
    expired: &(dyn Fn() -> bool + Sync),
) -> (i64, i64) {
    let k = cap.len();
    let before = cost(g, part);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Clusters stay small enough to move between chips: an eighth of the smallest capacity of a usable
    // chip (a chip of capacity 0 takes nothing).
    let smallest = cap.iter().copied().filter(|&c| c > 0).min().unwrap_or(1);
    let max_weight = (smallest / 8).max(2);
    // Invariant: the cost of `part`, swept once per cycle.
    let mut current = before;
    for _ in 0..cycles {
        if expired() {
            break;
        }
        let cycle_start = current;
        // Coarsen: each level keeps the graph, the partition and the map to the next level.
        let mut graphs: Vec<BlockGraph> = Vec::new();
        let mut maps: Vec<Vec<u32>> = Vec::new();
        let mut parts: Vec<Vec<u32>> = vec![part.to_vec()];
        let mut two_hop_at_finest = false;
        loop {
            let (fine, fine_part) = (graphs.last().unwrap_or(g), parts.last().expect("a level"));
            if fine.n() <= 8 * k.max(1) {
                break;
            }
            // Two-hop matching on every level when the finest level needed it (a graph whose chips
            // hold blocks with no edge between them: the dense ensemble array, 30,904 hop-spikes
            // against 32,076 with two-hop matching at the finest level only), else on none: where heavy
            // edges stop deeper down because the clusters reach `max_weight`, it made the hop
            // refinement worse (`gen layered`: 19,209 against 18,850).
            let allow = two_hop && (graphs.is_empty() || two_hop_at_finest);
            let (cluster, n_clusters, used) =
                match_within_parts(fine, fine_part, max_weight, allow, &mut rng);
            if graphs.is_empty() {
                two_hop_at_finest = used;
            }
            // Matching that shrinks the graph by less than a tenth is not worth another level.
            if n_clusters * 10 > fine.n() * 9 {
                break;
            }
            let mut coarse_part = vec![0u32; n_clusters];
            for (v, &c) in cluster.iter().enumerate() {
                coarse_part[c as usize] = fine_part[v];
            }
            let coarse = fine.contract(&cluster, n_clusters);
            graphs.push(coarse);
            maps.push(cluster);
            parts.push(coarse_part);
        }
        // Refine from the coarsest level back to the finest, projecting each result down.
        for level in (0..parts.len()).rev() {
            let graph = if level == 0 { g } else { &graphs[level - 1] };
            let mut p = std::mem::take(&mut parts[level]);
            refine_level(graph, &mut p, &maps[..level]);
            if level == 0 {
                part.copy_from_slice(&p);
            } else {
                let map = &maps[level - 1];
                let finer = &mut parts[level - 1];
                for (v, &c) in map.iter().enumerate() {
                    finer[v] = p[c as usize];
                }
            }
        }
        current = cost(g, part);
        if current >= cycle_start {
            break;
        }
    }
    (before, current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use snn_graph::{Adjacency, Block, BlockId, Edge, Network};

    /// A ring of `k` cliques of `size` blocks, linked by light edges; returns the graph.
    fn ring_of_cliques(k: u32, size: u32) -> BlockGraph {
        let id = |c: u32, i: u32| BlockId(c * size + i);
        let blocks = (0..k * size)
            .map(|b| Block::new(format!("b{b}"), 1))
            .collect();
        let mut edges = Vec::new();
        for c in 0..k {
            for i in 0..size {
                for j in i + 1..size {
                    edges.push(Edge::new(id(c, i), id(c, j), 3.0));
                }
            }
            edges.push(Edge::new(id(c, size - 1), id((c + 1) % k, 0), 1.0));
        }
        let net = Network::new("ring", blocks, edges).unwrap();
        BlockGraph::new(&net, &Adjacency::new(&net))
    }

    #[test]
    fn recovers_clusters_from_a_scrambled_start_and_never_raises_the_cut() {
        let (k, size) = (6u32, 16u32);
        let g = ring_of_cliques(k, size);
        // Each clique on its own chip, then a third of the blocks of cliques 0, 2, 4 swapped with those
        // of cliques 1, 3, 5: every chip full (no slack at all) and every clique spread over two chips.
        let mut part: Vec<u32> = (0..k * size).map(|v| v / size).collect();
        for c in (0..k).step_by(2) {
            for i in (0..size).step_by(3) {
                let (a, b) = (
                    (c * size + i) as usize,
                    (((c + 1) % k) * size + (i + 1) % size) as usize,
                );
                part.swap(a, b);
            }
        }
        let cap = vec![size; k as usize];
        let before = g.cut(&part);
        let stats = vcycles(&g, &mut part, &cap, 8, 1, &FmConfig::default(), &|| false);
        assert_eq!(stats.cut_after, g.cut(&part));
        assert!(g.part_sizes(&part, k).iter().all(|&s| s <= size));
        // The optimum cuts only the k light ring edges.
        assert!(before > 100 * stats.cut_after);
        assert_eq!(stats.cut_after, k as i64 * 1_000_000, "{part:?}");
    }

    /// `metis::Metis::large_vcycles` relies on it: with the same seed, a run of more cycles repeats
    /// the shorter run's cycles first, so it never ends higher.
    #[test]
    fn more_cycles_never_end_higher() {
        use crate::partition::test_graph;
        use rand::Rng;
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let n = 240;
        let edges: Vec<(u32, u32, f64)> = (0..1_200)
            .map(|_| {
                let a = rng.random_range(0..n as u32);
                // Mostly near neighbours, as in a layered net, so that there is structure to find.
                let b = (a + rng.random_range(1..12)) % n as u32;
                (a, b, rng.random_range(0.1..5.0))
            })
            .collect();
        let g = test_graph(n, &edges);
        let (k, cap) = (8u32, 30u32);
        let start: Vec<u32> = (0..n as u32).map(|v| (v * 7 + v / 5) % k).collect();
        let cuts: Vec<i64> = (0..6)
            .map(|cycles| {
                let mut part = start.clone();
                fm::repair(&g, &mut part, &vec![cap; k as usize]);
                vcycles(
                    &g,
                    &mut part,
                    &vec![cap; k as usize],
                    cycles,
                    3,
                    &FmConfig::default(),
                    &|| false,
                );
                g.cut(&part)
            })
            .collect();
        assert!(cuts.windows(2).all(|w| w[1] <= w[0]), "{cuts:?}");
        // Not trivially: the second and third cycles still gain here.
        assert!(cuts[3] < cuts[1], "{cuts:?}");
    }

    #[test]
    fn matching_stays_inside_parts_and_under_the_weight_limit() {
        let g = ring_of_cliques(2, 4);
        let part = [0, 0, 1, 1, 0, 0, 1, 1];
        let (cluster, n, _) =
            match_within_parts(&g, &part, 2, false, &mut ChaCha8Rng::seed_from_u64(0));
        assert!(n >= 4);
        for u in 0..8 {
            for v in 0..8 {
                if u != v && cluster[u] == cluster[v] {
                    assert_eq!(part[u], part[v]);
                }
            }
        }
        let coarse = g.contract(&cluster, n);
        assert!(coarse.vwgt.iter().all(|&w| w <= 2));
    }

    #[test]
    fn two_hop_matching_pairs_blocks_that_share_a_partner_where_heavy_edges_stall() {
        use crate::partition::test_graph;
        // A star per part: blocks 1, 2, 3, 4 (part 0) talk only to hub 0 (part 1), as an ensemble's
        // blocks talk only to the next array's on other chips. Heavy edges inside parts: none.
        let g = test_graph(5, &[(0, 1, 4.0), (0, 2, 3.0), (0, 3, 2.0), (0, 4, 1.0)]);
        let part = [1, 0, 0, 0, 0];
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let (_, n, used) = match_within_parts(&g, &part, 4, false, &mut rng);
        assert_eq!((n, used), (5, false));
        let (cluster, n, used) = match_within_parts(&g, &part, 4, true, &mut rng);
        assert_eq!((n, used), (3, true));
        // Pairs stay inside part 0; the hub stays alone.
        assert!((1..5).all(|v| cluster[v] != cluster[0]));
        let mut sizes = vec![0; n];
        for &c in &cluster {
            sizes[c as usize] += 1;
        }
        sizes.sort_unstable();
        assert_eq!(sizes, [1, 2, 2]);
    }
}
