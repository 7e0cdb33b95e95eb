//! nengo-loihi 1.1's default allocator, `GreedyInterchip`, reimplemented from its semantics
//! (`nengo_loihi/hardware/allocators.py`): fill one chip at a time; start each chip with the first
//! unplaced block that receives no traffic from another on-chip block (else the first unplaced block);
//! then keep adding the unplaced block with the largest connection to a block already on this chip, where
//! a connection's size is the traffic of one direction between one pair of blocks (nengo-loihi compares
//! `block_conns_out[i][j]` and `block_conns_in[i][j]` separately and takes the largest single value, not a
//! sum), and any connection, even one with zero traffic, beats no connection. Ties go to the lower block
//! id (nengo-loihi's set iteration order, made explicit).
//!
//! A max-heap of candidates keyed by (connection size, lower id first) with lazy invalidation makes each
//! step O(log E) instead of nengo-loihi's rescan of every placed block's neighbours.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use snn_graph::{Adjacency, Network};
use snn_hardware::Topology;
use snn_placement::Placement;

use crate::mapping::place_parts;
use crate::partition::{on_chip_edges, BlockGraph};
use crate::{chips_to_use, fill_per_chip, AllocError, Allocator, Ctx};

/// See the module docs.
#[derive(Copy, Clone, Debug, Default)]
pub struct GreedyInterchip;

/// A connection's size: its traffic plus a tiny constant, as nengo-loihi's `1e-16` default, so that a
/// connection with zero traffic still outranks no connection. Stored as the bits of a non-negative f64,
/// whose order is the numbers' order.
fn key(spikes: f64) -> u64 {
    (spikes + 1e-16).to_bits()
}

impl GreedyInterchip {
    /// The chip (0, 1, ...) of each on-chip block, in `BlockGraph` vertex order.
    pub fn assign(net: &Network, cores_per_chip: u32) -> Vec<u32> {
        // Directed pair totals between distinct on-chip blocks, then per undirected pair the larger
        // direction: a placed block i ranks j by max(out[i][j], in[i][j]).
        let (on_chip, mut pairs) = on_chip_edges(net);
        let n = on_chip.len();
        pairs.sort_by_key(|&(s, d, _)| (s, d));
        let mut directed: Vec<(u32, u32, f64)> = Vec::with_capacity(pairs.len());
        for &(s, d, w) in &pairs {
            match directed.last_mut() {
                Some(last) if (last.0, last.1) == (s, d) => last.2 += w,
                _ => directed.push((s, d, w)),
            }
        }
        let mut has_pre = vec![false; n];
        let mut rows: Vec<Vec<(u32, u64)>> = vec![Vec::new(); n];
        for &(s, d, w) in &directed {
            has_pre[d as usize] = true;
            rows[s as usize].push((d, key(w)));
            rows[d as usize].push((s, key(w)));
        }
        // Merge the two directions of a pair into its larger one.
        for row in rows.iter_mut() {
            row.sort_unstable();
            row.dedup_by(|later, earlier| {
                later.0 == earlier.0 && {
                    earlier.1 = earlier.1.max(later.1);
                    true
                }
            });
        }

        let cap = cores_per_chip as usize;
        let mut chip_of = vec![u32::MAX; n];
        // Invariant: `score[v]` is v's best connection to the current chip when `epoch[v] == chip`.
        let mut score = vec![0u64; n];
        let mut epoch = vec![u32::MAX; n];
        let mut heap: BinaryHeap<(u64, Reverse<u32>)> = BinaryHeap::new();
        let no_pre: Vec<u32> = (0..n as u32).filter(|&v| !has_pre[v as usize]).collect();
        let (mut next_no_pre, mut next_any) = (0usize, 0usize);
        let (mut chip, mut on_this_chip) = (0u32, 0usize);
        for _ in 0..n {
            let mut pick = None;
            if on_this_chip > 0 {
                while let Some((s, Reverse(v))) = heap.pop() {
                    let vi = v as usize;
                    if chip_of[vi] == u32::MAX && epoch[vi] == chip && score[vi] == s {
                        pick = Some(vi);
                        break;
                    }
                }
            }
            let v = match pick {
                Some(v) => v,
                None => {
                    // A new chip, or nothing on this chip connects to an unplaced block.
                    while next_no_pre < no_pre.len()
                        && chip_of[no_pre[next_no_pre] as usize] != u32::MAX
                    {
                        next_no_pre += 1;
                    }
                    if next_no_pre < no_pre.len() {
                        no_pre[next_no_pre] as usize
                    } else {
                        while chip_of[next_any] != u32::MAX {
                            next_any += 1;
                        }
                        next_any
                    }
                }
            };
            chip_of[v] = chip;
            on_this_chip += 1;
            if on_this_chip == cap {
                chip += 1;
                on_this_chip = 0;
                heap.clear();
                continue;
            }
            for &(u, w) in &rows[v] {
                let ui = u as usize;
                if chip_of[ui] != u32::MAX {
                    continue;
                }
                if epoch[ui] != chip || w > score[ui] {
                    epoch[ui] = chip;
                    score[ui] = w;
                    heap.push((w, Reverse(u)));
                }
            }
        }
        chip_of
    }
}

impl Allocator for GreedyInterchip {
    fn name(&self) -> &'static str {
        "greedy-interchip"
    }

    fn allocate(
        &self,
        net: &Network,
        topo: &Topology,
        ctx: &mut Ctx,
    ) -> Result<Placement, AllocError> {
        let k = chips_to_use(net, topo, ctx)?;
        let part = GreedyInterchip::assign(net, fill_per_chip(net, topo, ctx, k));
        let g = BlockGraph::new(net, &Adjacency::new(net));
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

#[cfg(test)]
mod tests {
    use super::*;
    use snn_graph::{Block, BlockId, Edge};

    fn check(n: usize, host: &[usize], edges: &[(u32, u32, f64)], cap: u32, expect: &[u32]) {
        let blocks = (0..n)
            .map(|i| {
                let b = Block::new(format!("b{i}"), 1);
                if host.contains(&i) {
                    b.on_host()
                } else {
                    b
                }
            })
            .collect();
        let edges = edges
            .iter()
            .map(|&(s, d, w)| Edge::new(BlockId(s), BlockId(d), w))
            .collect();
        let net = Network::new("t", blocks, edges).unwrap();
        assert_eq!(GreedyInterchip::assign(&net, cap), expect);
    }

    #[test]
    fn follows_the_largest_single_connection() {
        // 0 -> 1 (1), 0 -> 2 (5), 2 -> 3 (4), 1 -> 3 (4.5), two cores per chip. Only 0 receives
        // nothing, so chip 0 starts with it and takes 2 (5 beats 1). Chip 1 starts with the first
        // unplaced block, 1, and takes 3 (4.5).
        check(
            4,
            &[],
            &[(0, 1, 1.0), (0, 2, 5.0), (2, 3, 4.0), (1, 3, 4.5)],
            2,
            &[0, 1, 0, 1],
        );
    }

    #[test]
    fn compares_directions_separately_not_their_sum() {
        // Block 1 exchanges 3 + 3 with block 0; block 2 sends 4 to it. nengo-loihi ranks by the largest
        // single direction, so 2 (4) goes before 1 (3), though 1's total (6) is larger.
        check(
            3,
            &[],
            &[(0, 1, 3.0), (1, 0, 3.0), (0, 2, 4.0)],
            2,
            &[0, 1, 0],
        );
    }

    #[test]
    fn starts_chips_with_blocks_that_receive_nothing() {
        // 2 and 3 receive nothing from on-chip blocks (3's input is a host block): chip 0 starts with 2,
        // takes 0 (its target); chip 1 starts with 3, then the rest.
        check(
            5,
            &[4],
            &[(2, 0, 1.0), (1, 0, 1.0), (4, 3, 9.0), (0, 1, 0.5)],
            2,
            &[0, 1, 0, 1],
        );
    }

    #[test]
    fn a_zero_traffic_connection_beats_none() {
        // 0 -> 2 carries nothing but is a connection; 1 is unconnected and lower in id.
        check(3, &[], &[(0, 2, 0.0)], 2, &[0, 1, 0]);
    }

    #[test]
    fn ties_go_to_the_lower_id() {
        check(
            4,
            &[],
            &[(0, 3, 2.0), (0, 2, 2.0), (0, 1, 1.0)],
            2,
            &[0, 1, 0, 1],
        );
    }
}
