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

use crate::flow::{self, FlowConfig};
use crate::fm::{self, FmConfig, FmStats};
use crate::partition::BlockGraph;

/// V-cycles a refinement runs at most (it stops earlier once a cycle gains nothing).
pub const VCYCLES: usize = 8;

/// Heavy-edge matching within parts: vertices in a seeded random order take their unmatched neighbour in
/// the same part with the heaviest edge (ties to the lower id), if the pair weighs at most `max_weight`.
/// Returns each vertex's cluster and the number of clusters.
fn match_within_parts(
    g: &BlockGraph,
    part: &[u32],
    max_weight: u32,
    rng: &mut ChaCha8Rng,
) -> (Vec<u32>, usize) {
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
    let mut cluster = vec![u32::MAX; n];
    let mut n_clusters = 0;
    for v in 0..n {
        if cluster[v] == u32::MAX {
            cluster[v] = n_clusters;
            cluster[mate[v] as usize] = n_clusters;
            n_clusters += 1;
        }
    }
    (cluster, n_clusters as usize)
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
    vcycles_with_flows(g, part, cap, cycles, seed, cfg, None, expired)
}

/// [`vcycles`] that also runs flow refinement ([`crate::flow`]) after FM at every level when `flows` is
/// set, as KaHyPar-MF and Mt-KaHyPar do while uncoarsening: at a coarse level a minimum cut moves whole
/// clusters between two chips.
#[allow(clippy::too_many_arguments)]
pub fn vcycles_with_flows(
    g: &BlockGraph,
    part: &mut [u32],
    cap: &[u32],
    cycles: usize,
    seed: u64,
    cfg: &FmConfig,
    flows: Option<&FlowConfig>,
    expired: &(dyn Fn() -> bool + Sync),
) -> FmStats {
    let k = cap.len();
    let before = g.cut(part);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Clusters stay small enough to move between chips: an eighth of the smallest capacity.
    let max_weight = (cap.iter().copied().min().unwrap_or(1) / 8).max(2);
    let mut stats = FmStats {
        cut_before: before,
        cut_after: before,
        ..FmStats::default()
    };
    // Invariant: the cut of the partition being refined, at whatever level: contraction and projection
    // keep it exactly, and the refiners' statistics are exact, so it is never swept again.
    let mut cut = before;
    for _ in 0..cycles {
        if expired() {
            break;
        }
        let cycle_start = cut;
        // Coarsen: each level keeps the graph, the partition and the map to the next level.
        let mut graphs: Vec<BlockGraph> = Vec::new();
        let mut maps: Vec<Vec<u32>> = Vec::new();
        let mut parts: Vec<Vec<u32>> = vec![part.to_vec()];
        loop {
            let (fine, fine_part) = (graphs.last().unwrap_or(g), parts.last().expect("a level"));
            if fine.n() <= 8 * k.max(1) {
                break;
            }
            let (cluster, n_clusters) = match_within_parts(fine, fine_part, max_weight, &mut rng);
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
            let s = fm::refine_with_cut(graph, &mut p, cap, cut, cfg, expired);
            cut = s.cut_after;
            if let Some(f) = flows {
                cut = flow::refine(graph, &mut p, cap, f, expired).cut_after;
            }
            stats.passes += s.passes;
            stats.moves_kept += s.moves_kept;
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
        debug_assert_eq!(cut, g.cut(part));
        if cut >= cycle_start {
            break;
        }
    }
    stats.cut_after = cut;
    stats
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

    #[test]
    fn matching_stays_inside_parts_and_under_the_weight_limit() {
        let g = ring_of_cliques(2, 4);
        let part = [0, 0, 1, 1, 0, 0, 1, 1];
        let (cluster, n) = match_within_parts(&g, &part, 2, &mut ChaCha8Rng::seed_from_u64(0));
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
}
