//! What the traffic-aware allocators share: the on-chip blocks as a compact undirected graph with integer
//! weights ([`BlockGraph`]), and the cut of a k-way partition of it.
//!
//! Weights are integers so that gains add up exactly: a refinement that sees a positive gain really lowers
//! the cut, whatever the order of the additions, and never raises it through rounding.

use snn_graph::{Adjacency, BlockId, Network};

/// The on-chip blocks (host blocks left out: they are never on a chip) as an undirected graph in
/// compressed sparse rows. Vertex `v` is block `blocks[v]`; edge weights are spikes per timestep times
/// [`BlockGraph::scale`], rounded, and at least 1 for any pair of blocks joined by an edge (as nengo-loihi
/// counts a connection with zero rate as a tiny positive activity). A vertex weighs the cores it takes.
///
/// The multilevel refinement contracts it into coarser graphs of the same type, whose vertices are
/// clusters of blocks: those have no `blocks` and weigh the cores of their members.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockGraph {
    /// Invariant: ascending block ids, exactly the network's on-chip blocks (empty in a coarse graph).
    pub blocks: Vec<BlockId>,
    /// Cores each vertex takes. Invariant: `vwgt.len()` is the number of vertices.
    pub vwgt: Vec<u32>,
    /// Invariant: `xadj.len() == blocks.len() + 1`, non-decreasing.
    pub xadj: Vec<usize>,
    /// Neighbours as vertex indices; no self-loops, no duplicates; each row sorted in a graph built from a
    /// network, in first-seen order in a contracted one (nothing depends on the order: ties break by id).
    pub adj: Vec<u32>,
    /// Invariant: every weight >= 1, and their total is at most [`MAX_TOTAL_WEIGHT`].
    pub weights: Vec<i64>,
    /// Integer weight units per spike per timestep.
    pub scale: f64,
}

/// The on-chip blocks in file order, and the edges between two distinct ones as (local source, local
/// destination, spikes), local ids indexing that list, in edge order. Host blocks and self-loops are
/// left out: their traffic never crosses a chip boundary.
pub fn on_chip_edges(net: &Network) -> (Vec<BlockId>, Vec<(u32, u32, f64)>) {
    let blocks: Vec<BlockId> = net.on_chip_blocks().collect();
    let mut local = vec![u32::MAX; net.n_blocks()];
    for (v, b) in blocks.iter().enumerate() {
        local[b.idx()] = v as u32;
    }
    let edges = net
        .edges()
        .iter()
        .filter_map(|e| {
            let (s, d) = (local[e.src.idx()], local[e.dst.idx()]);
            (s != u32::MAX && d != u32::MAX && s != d).then_some((s, d, e.spikes))
        })
        .collect();
    (blocks, edges)
}

/// The largest total of all edge weights (each edge counted from both ends): `2^40`, so every sum and
/// gain fits `i64` with room to spare, and a METIS-scaled copy still fits `i32` after dividing down.
pub const MAX_TOTAL_WEIGHT: i64 = 1 << 40;

impl BlockGraph {
    pub fn new(net: &Network, adjacency: &Adjacency) -> BlockGraph {
        let blocks: Vec<BlockId> = net.on_chip_blocks().collect();
        let mut local = vec![u32::MAX; net.n_blocks()];
        for (v, b) in blocks.iter().enumerate() {
            local[b.idx()] = v as u32;
        }
        let total: f64 = blocks
            .iter()
            .flat_map(|&b| adjacency.neighbors(b))
            .map(|nb| nb.spikes)
            .sum();
        // A million units per spike keeps six decimals of the traffic; fewer when the total would overflow.
        let scale = if total > 0.0 {
            (MAX_TOTAL_WEIGHT as f64 / 2.0 / total).min(1e6)
        } else {
            1e6
        };
        let mut xadj = Vec::with_capacity(blocks.len() + 1);
        let mut adj = Vec::new();
        let mut weights = Vec::new();
        xadj.push(0);
        for &b in &blocks {
            for nb in adjacency.neighbors(b) {
                let u = local[nb.block.idx()];
                if u != u32::MAX {
                    adj.push(u);
                    weights.push(((nb.spikes * scale).round() as i64).max(1));
                }
            }
            xadj.push(adj.len());
        }
        BlockGraph {
            vwgt: vec![1; blocks.len()],
            blocks,
            xadj,
            adj,
            weights,
            scale,
        }
    }

    /// Number of vertices (on-chip blocks, or clusters of them).
    pub fn n(&self) -> usize {
        self.vwgt.len()
    }

    /// The neighbours of `v` with the weights of the edges to them.
    pub fn neighbors(&self, v: usize) -> impl Iterator<Item = (usize, i64)> + '_ {
        let r = self.xadj[v]..self.xadj[v + 1];
        self.adj[r.clone()]
            .iter()
            .zip(&self.weights[r])
            .map(|(&u, &w)| (u as usize, w))
    }

    /// The total weight of edges whose ends are in different parts.
    pub fn cut(&self, part: &[u32]) -> i64 {
        let mut cut = 0;
        for v in 0..self.n() {
            for (u, w) in self.neighbors(v) {
                if u > v && part[u] != part[v] {
                    cut += w;
                }
            }
        }
        cut
    }

    /// The weight (cores) in each of `k` parts.
    pub fn part_sizes(&self, part: &[u32], k: u32) -> Vec<u32> {
        let mut sizes = vec![0u32; k as usize];
        for (&p, &w) in part.iter().zip(&self.vwgt) {
            sizes[p as usize] += w;
        }
        sizes
    }

    /// The graph with vertex `v` merged into cluster `cluster[v]` (clusters `0..n_clusters`): cluster
    /// weights add up, edges between clusters add up, edges inside one disappear.
    pub fn contract(&self, cluster: &[u32], n_clusters: usize) -> BlockGraph {
        // The members of each cluster in ascending order, as compressed rows (a counting sort): one
        // allocation rather than one per cluster, which took a third of the contraction's time.
        let mut vwgt = vec![0u32; n_clusters];
        let mut first = vec![0usize; n_clusters + 1];
        for (v, &c) in cluster.iter().enumerate() {
            first[c as usize + 1] += 1;
            vwgt[c as usize] += self.vwgt[v];
        }
        for c in 0..n_clusters {
            first[c + 1] += first[c];
        }
        let mut members = vec![0u32; cluster.len()];
        let mut fill = first.clone();
        for (v, &c) in cluster.iter().enumerate() {
            members[fill[c as usize]] = v as u32;
            fill[c as usize] += 1;
        }
        // Invariant: `slot[c]` is c's position in the row being built, or usize::MAX.
        let mut slot = vec![usize::MAX; n_clusters];
        let mut xadj = Vec::with_capacity(n_clusters + 1);
        // Contraction never adds edges: the rows fit in the fine graph's length without growing.
        let mut adj = Vec::with_capacity(self.adj.len());
        let mut weights = Vec::with_capacity(self.adj.len());
        xadj.push(0);
        for c in 0..n_clusters {
            let vs = &members[first[c]..first[c + 1]];
            let start = adj.len();
            for &v in vs {
                for (u, w) in self.neighbors(v as usize) {
                    let cu = cluster[u];
                    if cu as usize == c {
                        continue;
                    }
                    if slot[cu as usize] == usize::MAX {
                        slot[cu as usize] = adj.len();
                        adj.push(cu);
                        weights.push(0);
                    }
                    weights[slot[cu as usize]] += w;
                }
            }
            for &cu in &adj[start..] {
                slot[cu as usize] = usize::MAX;
            }
            xadj.push(adj.len());
        }
        BlockGraph {
            blocks: Vec::new(),
            vwgt,
            xadj,
            adj,
            weights,
            scale: self.scale,
        }
    }
}

/// Random edges between `n` vertices for the refiners' property-style unit tests: `n` to `4n` draws of
/// two ends (self-loops dropped), weights 1 to 8.
#[cfg(test)]
pub(crate) fn random_edges(rng: &mut rand_chacha::ChaCha8Rng, n: usize) -> Vec<(u32, u32, f64)> {
    use rand::Rng;
    let mut edges = Vec::new();
    for _ in 0..rng.random_range(n..4 * n) {
        let (x, y) = (rng.random_range(0..n as u32), rng.random_range(0..n as u32));
        if x != y {
            edges.push((x, y, rng.random_range(1..9) as f64));
        }
    }
    edges
}

/// A graph from weighted undirected edges between `n` on-chip blocks of one compartment: what the
/// refiners' unit tests build their cases from.
#[cfg(test)]
pub(crate) fn test_graph(n: usize, edges: &[(u32, u32, f64)]) -> BlockGraph {
    use snn_graph::{Block, Edge};
    let blocks = (0..n).map(|i| Block::new(format!("b{i}"), 1)).collect();
    let edges = edges
        .iter()
        .map(|&(a, b, w)| Edge::new(BlockId(a), BlockId(b), w))
        .collect();
    let net = Network::new("t", blocks, edges).expect("a valid test network");
    BlockGraph::new(&net, &Adjacency::new(&net))
}

#[cfg(test)]
mod tests {
    use super::*;
    use snn_graph::{Block, Edge};

    #[test]
    fn leaves_host_blocks_out_and_scales_weights() {
        let blocks = vec![
            Block::new("in", 1).on_host(),
            Block::new("a", 1),
            Block::new("b", 1),
            Block::new("c", 1),
        ];
        let e = |s, d, w| Edge::new(BlockId(s), BlockId(d), w);
        let net = Network::new(
            "t",
            blocks,
            vec![e(0, 1, 5.0), e(1, 2, 1.5), e(2, 1, 0.5), e(2, 3, 0.0)],
        )
        .unwrap();
        let g = BlockGraph::new(&net, &Adjacency::new(&net));
        assert_eq!(g.blocks, [BlockId(1), BlockId(2), BlockId(3)]);
        assert_eq!(g.scale, 1e6);
        let rows: Vec<Vec<(usize, i64)>> = (0..3).map(|v| g.neighbors(v).collect()).collect();
        assert_eq!(
            rows,
            [
                vec![(1, 2_000_000)],
                vec![(0, 2_000_000), (2, 1)],
                vec![(1, 1)]
            ]
        );
        assert_eq!(g.cut(&[0, 0, 1]), 1);
        assert_eq!(g.cut(&[0, 1, 1]), 2_000_000);
        assert_eq!(g.part_sizes(&[0, 1, 1], 3), [1, 2, 0]);
        // Merging a and b leaves one edge of weight 1 to c; the cluster weighs 2.
        let c = g.contract(&[0, 0, 1], 2);
        assert_eq!(c.vwgt, [2, 1]);
        assert_eq!(c.neighbors(0).collect::<Vec<_>>(), [(1, 1)]);
        assert_eq!(c.cut(&[0, 1]), g.cut(&[0, 0, 1]));
    }
}
