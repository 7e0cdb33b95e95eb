//! The multicast traffic model as a hypergraph: [`Nets`], one net per on-chip source block whose pins are
//! its destinations. When a router replicates a spike at the destination chip, a source sends one message
//! per other chip its destinations sit on, the largest pair total there: `multicast_spikes`
//! ([`Metrics`](crate::Metrics)), what the emulator sends under multicast, and what the allocators
//! minimise (`snn_alloc::hyper`).

use snn_graph::{BlockId, Network};
use snn_hardware::ChipId;

/// One net per on-chip source block that reaches another block on a chip: its source and its pins.
#[derive(Clone, Debug, PartialEq)]
pub struct Nets {
    /// The source of each net (a block of the network the nets were built for).
    pub src: Vec<BlockId>,
    /// Net `n`'s pins are `pins[xpins[n]..xpins[n + 1]]`. Invariant: `xpins.len() == src.len() + 1`.
    pub xpins: Vec<usize>,
    /// Destinations, ascending within a net, never the net's source, never a host block.
    pub pins: Vec<BlockId>,
    /// Spikes per timestep to each pin: parallel edges to one block add up; after packing, the largest
    /// of those totals among the blocks merged into the pin.
    pub spikes: Vec<f64>,
}

impl Nets {
    /// The nets of `net`, one per on-chip source block.
    pub fn new(net: &Network) -> Nets {
        let map: Vec<u32> = (0..net.n_blocks() as u32).collect();
        Nets::contracted(net, &map)
    }

    /// The nets of `net` after its blocks were merged: block `b` became block `map[b]` of the merged
    /// network. A net keeps its original source block's identity (two sources merged into one core still
    /// send their own messages); a pin's spikes are the largest pair total among the blocks merged into
    /// it; pins merged into the source disappear (their traffic never leaves the core).
    pub fn contracted(net: &Network, map: &[u32]) -> Nets {
        // (source block, merged pin, original destination, spikes), grouped by sorting; a stable sort
        // keeps edge order within a pair, so the pair sums are the same on every run.
        let host = |b: BlockId| net.block(b).host;
        let mut out: Vec<(BlockId, u32, BlockId, f64)> = net
            .edges()
            .iter()
            .filter(|e| !host(e.src) && !host(e.dst) && map[e.src.idx()] != map[e.dst.idx()])
            .map(|e| (e.src, map[e.dst.idx()], e.dst, e.spikes))
            .collect();
        out.sort_by_key(|t| (t.0, t.1, t.2));
        let mut nets = Nets {
            src: Vec::new(),
            xpins: vec![0],
            pins: Vec::new(),
            spikes: Vec::new(),
        };
        for per_src in out.chunk_by(|x, y| x.0 == y.0) {
            for per_pin in per_src.chunk_by(|x, y| x.1 == y.1) {
                let best = per_pin
                    .chunk_by(|x, y| x.2 == y.2)
                    .map(|pair| pair.iter().map(|t| t.3).sum::<f64>())
                    .fold(0.0, f64::max);
                nets.pins.push(BlockId(per_pin[0].1));
                nets.spikes.push(best);
            }
            nets.src.push(BlockId(map[per_src[0].0.idx()]));
            nets.xpins.push(nets.pins.len());
        }
        nets
    }

    pub fn len(&self) -> usize {
        self.src.len()
    }

    pub fn is_empty(&self) -> bool {
        self.src.is_empty()
    }

    /// The chips other than its source's that net `n` reaches, each with the largest pin spikes there,
    /// ascending by chip, into `out`, when block `b` sits on chip `chip_of(b)` (`None`: off chip; a
    /// source off chip reaches nothing, a pin off chip is not reached).
    pub fn remote(
        &self,
        n: usize,
        chip_of: &impl Fn(BlockId) -> Option<ChipId>,
        out: &mut Vec<(ChipId, f64)>,
    ) {
        out.clear();
        let Some(home) = chip_of(self.src[n]) else {
            return;
        };
        let mut per_chip: Vec<(ChipId, f64)> = (self.xpins[n]..self.xpins[n + 1])
            .filter_map(|i| {
                let c = chip_of(self.pins[i])?;
                (c != home).then_some((c, self.spikes[i]))
            })
            .collect();
        per_chip.sort_by_key(|t| t.0);
        for group in per_chip.chunk_by(|x, y| x.0 == y.0) {
            out.push((group[0].0, group.iter().map(|t| t.1).fold(0.0, f64::max)));
        }
    }

    /// The multicast spikes per timestep (`multicast_spikes`) when block `b` sits on chip `chip_of(b)`:
    /// over the nets, over the chips each reaches ([`Nets::remote`]), the largest pin spikes there.
    pub fn cost(&self, chip_of: impl Fn(BlockId) -> Option<ChipId>) -> f64 {
        let mut total = 0.0;
        let mut out = Vec::new();
        for n in 0..self.len() {
            self.remote(n, &chip_of, &mut out);
            total += out.iter().map(|t| t.1).sum::<f64>();
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use snn_graph::{Block, Edge};

    fn net(n: u32, edges: &[(u32, u32, f64)], host: &[u32]) -> Network {
        let blocks = (0..n)
            .map(|b| {
                let block = Block::new(format!("b{b}"), 1);
                if host.contains(&b) {
                    block.on_host()
                } else {
                    block
                }
            })
            .collect();
        let edges = edges
            .iter()
            .map(|&(s, d, w)| Edge::new(BlockId(s), BlockId(d), w))
            .collect();
        Network::new("t", blocks, edges).unwrap()
    }

    #[test]
    fn nets_merge_parallel_edges_and_drop_host_blocks() {
        // 0 -> 1 twice (2 + 3), 0 -> 2 (4), 0 -> host 3, host 3 -> 1, 2 -> 1 (1).
        let n = net(
            4,
            &[
                (0, 1, 2.0),
                (0, 2, 4.0),
                (0, 1, 3.0),
                (0, 3, 9.0),
                (3, 1, 9.0),
                (2, 1, 1.0),
            ],
            &[3],
        );
        let nets = Nets::new(&n);
        assert_eq!(nets.src, [BlockId(0), BlockId(2)]);
        assert_eq!(nets.xpins, [0, 2, 3]);
        assert_eq!(nets.pins, [BlockId(1), BlockId(2), BlockId(1)]);
        assert_eq!(nets.spikes, [5.0, 4.0, 1.0]);
        // 0 on chip 0, 1 and 2 on chip 1: net 0 costs max(5, 4); net 1 is inside chip 1.
        let chips = [0, 1, 1, 0];
        assert_eq!(nets.cost(|b| Some(ChipId(chips[b.idx()]))), 5.0);
        // Merging 0 and 1 into one core: net 0 keeps only pin 2, net 1's pin becomes the merged core.
        let merged = Nets::contracted(&n, &[0, 0, 1, 2]);
        assert_eq!(merged.src, [BlockId(0), BlockId(1)]);
        assert_eq!(merged.pins, [BlockId(1), BlockId(0)]);
        assert_eq!(merged.spikes, [4.0, 1.0]);
    }

    #[test]
    fn contraction_keeps_each_source_apart() {
        // Sources 0 and 1 share a core; 0 -> 2 (3 spikes), 1 -> 3 (5 spikes); 2 and 3 share another.
        let n = net(4, &[(0, 2, 3.0), (1, 3, 5.0), (0, 3, 1.0)], &[]);
        let merged = Nets::contracted(&n, &[0, 0, 1, 1]);
        // Two nets from core 0 to core 1: 0's largest pair total (3) and 1's (5).
        assert_eq!(merged.src, [BlockId(0), BlockId(0)]);
        assert_eq!(merged.spikes, [3.0, 5.0]);
        assert_eq!(merged.cost(|b| Some(ChipId(b.0))), 8.0);
        assert_eq!(Nets::new(&n).cost(|b| Some(ChipId(b.0 / 2))), 8.0);
    }
}
