//! A compact undirected adjacency (compressed sparse rows) that traffic-aware allocators share.

use crate::{BlockId, Network};

/// One neighbour of a block and the spikes per timestep exchanged with it, both directions summed.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Neighbor {
    pub block: BlockId,
    pub spikes: f64,
}

/// The network's traffic as an undirected graph in compressed sparse rows: `a -> b` and `b -> a` edges
/// and parallel edges are merged into one entry on each side, self-loops are dropped (their traffic never
/// leaves the core). Host blocks are included; an allocator that ignores them skips them.
#[derive(Clone, Debug, PartialEq)]
pub struct Adjacency {
    /// Invariant: `offsets.len() == n_blocks + 1`, non-decreasing, `offsets[n_blocks] == entries.len()`.
    offsets: Vec<usize>,
    /// Invariant: each row sorted by block id, without duplicates.
    entries: Vec<Neighbor>,
}

impl Adjacency {
    pub fn new(net: &Network) -> Adjacency {
        let n = net.n_blocks();
        let mut degree = vec![0usize; n + 1];
        for e in net.edges().iter().filter(|e| e.src != e.dst) {
            degree[e.src.idx()] += 1;
            degree[e.dst.idx()] += 1;
        }
        let mut offsets = Vec::with_capacity(n + 1);
        let mut total = 0;
        for d in &degree {
            offsets.push(total);
            total += d;
        }
        let mut fill = offsets.clone();
        let mut entries = vec![
            Neighbor {
                block: BlockId(0),
                spikes: 0.0
            };
            total
        ];
        for e in net.edges().iter().filter(|e| e.src != e.dst) {
            for (a, b) in [(e.src, e.dst), (e.dst, e.src)] {
                entries[fill[a.idx()]] = Neighbor {
                    block: b,
                    spikes: e.spikes,
                };
                fill[a.idx()] += 1;
            }
        }
        // Sort each row and merge duplicates in place, then compact.
        let mut out = 0;
        let mut new_offsets = Vec::with_capacity(n + 1);
        for v in 0..n {
            new_offsets.push(out);
            let row = &mut entries[offsets[v]..offsets[v + 1]];
            row.sort_by_key(|nb| nb.block);
            let (start, end) = (offsets[v], offsets[v + 1]);
            let mut i = start;
            while i < end {
                let mut merged = entries[i];
                i += 1;
                while i < end && entries[i].block == merged.block {
                    merged.spikes += entries[i].spikes;
                    i += 1;
                }
                entries[out] = merged;
                out += 1;
            }
        }
        new_offsets.push(out);
        entries.truncate(out);
        entries.shrink_to_fit();
        Adjacency {
            offsets: new_offsets,
            entries,
        }
    }

    pub fn n_blocks(&self) -> usize {
        self.offsets.len() - 1
    }

    /// The neighbours of `b`, sorted by id.
    pub fn neighbors(&self, b: BlockId) -> &[Neighbor] {
        &self.entries[self.offsets[b.idx()]..self.offsets[b.idx() + 1]]
    }

    /// Total spikes per timestep `b` exchanges with other blocks.
    pub fn weighted_degree(&self, b: BlockId) -> f64 {
        self.neighbors(b).iter().map(|nb| nb.spikes).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Block, Edge};

    fn check(edges: &[(u32, u32, f64)], expect: &[&[(u32, f64)]]) {
        let blocks = (0..expect.len())
            .map(|i| Block::new(format!("b{i}"), 1))
            .collect();
        let edges = edges
            .iter()
            .map(|&(s, d, w)| Edge::new(BlockId(s), BlockId(d), w))
            .collect();
        let adj = Adjacency::new(&Network::new("t", blocks, edges).unwrap());
        let got: Vec<Vec<(u32, f64)>> = (0..expect.len() as u32)
            .map(|b| {
                adj.neighbors(BlockId(b))
                    .iter()
                    .map(|nb| (nb.block.0, nb.spikes))
                    .collect()
            })
            .collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn merges_directions_and_parallel_edges_and_drops_self_loops() {
        check(
            &[
                (0, 1, 1.0),
                (1, 0, 2.0),
                (0, 1, 0.5),
                (2, 2, 9.0),
                (2, 0, 4.0),
            ],
            &[&[(1, 3.5), (2, 4.0)], &[(0, 3.5)], &[(0, 4.0)]],
        );
    }

    #[test]
    fn empty_graph_has_empty_rows() {
        check(&[], &[&[], &[]]);
    }
}
