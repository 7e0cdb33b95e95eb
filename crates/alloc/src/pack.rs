//! Core packing (`--pack`): several blocks share one core when the core's limits hold for their sums and
//! at most `max_blocks` of them share it. nengo-loihi gives every block a core of its own; real models are
//! full of small blocks (decoders, probes), so packing them needs far fewer cores, and with them fewer
//! chips, less traffic between chips and a shorter barrier.
//!
//! [`pack`] decides the cores, traffic first: block pairs in order of the spikes they exchange (both
//! directions), heaviest first, share a core when both sides' cores fit together (Kruskal-style
//! agglomeration, as in the heavy-edge clustering of multilevel partitioners: Karypis and Kumar 1998);
//! the cores that are left are then merged first-fit-decreasing (Johnson 1974) by their fullest resource,
//! so small blocks without traffic between them still share cores. [`Packed`] wraps any allocator: it
//! packs, hands the allocator a network whose blocks are the packed cores (summed limits, the edges
//! between them; edges inside a core disappear), and gives each block its core's slot. Under the multicast
//! model the wrapped allocator also gets the original sources' nets ([`Nets::contracted`]), so its
//! objective stays exact.

use std::sync::Arc;

use snn_graph::{Block, BlockId, Edge, Network};
use snn_hardware::{CoreLimits, Topology, TrafficModel};
use snn_placement::{check_blocks_fit, Nets, Placement};

use crate::partition::on_chip_edges;
use crate::{AllocError, Allocator, Ctx};

/// The cores [`pack`] chose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packing {
    /// The packed core of each block (`u32::MAX` for host blocks). Cores are numbered in the order of
    /// their first block.
    pub core_of: Vec<u32>,
    pub n_cores: usize,
}

/// How many of the most recently opened cores the first-fit stage tries; older ones are closed. Keeps
/// packing linear in the number of blocks.
const OPEN_CORES: usize = 256;

/// A core's summed resources: compartments, input axons, output axons, synapse bits, blocks.
type Load = [u64; 5];

fn load_of(b: &Block) -> Load {
    [b.compartments, b.in_axons, b.out_axons, b.synapse_bits, 1]
}

fn limits_of(l: &CoreLimits) -> Load {
    [
        l.compartments,
        l.in_axons,
        l.out_axons,
        l.synapse_bits,
        l.max_blocks as u64,
    ]
}

fn fits(a: &Load, b: &Load, limit: &Load) -> bool {
    (0..5).all(|i| a[i].saturating_add(b[i]) <= limit[i])
}

/// The fullest resource of `a`, as a fraction of its limit.
fn fullness(a: &Load, limit: &Load) -> f64 {
    (0..5)
        .map(|i| a[i] as f64 / limit[i] as f64)
        .fold(0.0, f64::max)
}

/// Union-find over the on-chip blocks with each root's summed load.
struct Cores {
    parent: Vec<u32>,
    load: Vec<Load>,
}

impl Cores {
    fn find(&mut self, v: u32) -> u32 {
        let mut root = v;
        while self.parent[root as usize] != root {
            root = self.parent[root as usize];
        }
        let mut v = v;
        while self.parent[v as usize] != root {
            let next = self.parent[v as usize];
            self.parent[v as usize] = root;
            v = next;
        }
        root
    }

    /// Merges the cores of roots `a` and `b` into the lower id.
    fn merge(&mut self, a: u32, b: u32) -> u32 {
        let (keep, gone) = (a.min(b), a.max(b));
        self.parent[gone as usize] = keep;
        let add = self.load[gone as usize];
        for (x, y) in self.load[keep as usize].iter_mut().zip(add) {
            *x += y;
        }
        keep
    }
}

/// Packs the on-chip blocks of `net` into cores of `limits` (see the module docs). Every block must fit
/// a core on its own (`check_blocks_fit`); one that does not gets a core of its own.
pub fn pack(net: &Network, limits: &CoreLimits) -> Packing {
    let limit = limits_of(limits);
    let (blocks, edges) = on_chip_edges(net);
    let n = blocks.len();
    let mut cores = Cores {
        parent: (0..n as u32).collect(),
        load: blocks.iter().map(|&b| load_of(net.block(b))).collect(),
    };

    // Pair weights, both directions summed; a stable sort keeps edge order within a pair.
    let mut directed: Vec<(u32, u32, f64)> = edges
        .into_iter()
        .map(|(s, d, w)| (s.min(d), s.max(d), w))
        .collect();
    directed.sort_by_key(|t| (t.0, t.1));
    let mut pairs: Vec<(u32, u32, f64)> = Vec::new();
    for group in directed.chunk_by(|x, y| (x.0, x.1) == (y.0, y.1)) {
        pairs.push((group[0].0, group[0].1, group.iter().map(|t| t.2).sum()));
    }
    pairs.sort_by(|a, b| b.2.total_cmp(&a.2).then((a.0, a.1).cmp(&(b.0, b.1))));
    for &(u, v, _) in &pairs {
        let (ru, rv) = (cores.find(u), cores.find(v));
        if ru != rv && fits(&cores.load[ru as usize], &cores.load[rv as usize], &limit) {
            cores.merge(ru, rv);
        }
    }

    // First-fit decreasing over what is left, fullest first (ties: lowest id).
    let mut roots: Vec<u32> = (0..n as u32).filter(|&v| cores.find(v) == v).collect();
    let key = |c: &Cores, r: u32| fullness(&c.load[r as usize], &limit);
    roots.sort_by(|&a, &b| key(&cores, b).total_cmp(&key(&cores, a)).then(a.cmp(&b)));
    let mut open: std::collections::VecDeque<u32> = Default::default();
    for r in roots {
        let mut r = r;
        let found = open
            .iter()
            .position(|&o| fits(&cores.load[o as usize], &cores.load[r as usize], &limit));
        if let Some(i) = found {
            let o = open.remove(i).expect("index from position");
            r = cores.merge(o, r);
            // The merged core goes back where it was, under its (possibly new) root id.
            open.insert(i, r);
        } else {
            open.push_back(r);
            if open.len() > OPEN_CORES {
                open.pop_front();
            }
        }
    }

    let mut core_of = vec![u32::MAX; net.n_blocks()];
    let mut id_of_root = vec![u32::MAX; n];
    let mut n_cores = 0;
    for (v, &b) in blocks.iter().enumerate() {
        let r = cores.find(v as u32) as usize;
        if id_of_root[r] == u32::MAX {
            id_of_root[r] = n_cores;
            n_cores += 1;
        }
        core_of[b.idx()] = id_of_root[r];
    }
    Packing {
        core_of,
        n_cores: n_cores as usize,
    }
}

/// The network whose on-chip blocks are `packing`'s cores (at the position of each core's first block;
/// limits summed; rate the compartment-weighted mean; named after the first block, with `(+N)` for the
/// N others), host blocks as they were, and the edges between different cores or the host; and the
/// index of each original block's block in it.
pub fn contract(net: &Network, packing: &Packing) -> Result<(Network, Vec<u32>), AllocError> {
    let mut members: Vec<Vec<BlockId>> = vec![Vec::new(); packing.n_cores];
    for b in net.on_chip_blocks() {
        members[packing.core_of[b.idx()] as usize].push(b);
    }
    let mut map = vec![u32::MAX; net.n_blocks()];
    let mut new_id = vec![u32::MAX; packing.n_cores];
    let mut blocks = Vec::with_capacity(packing.n_cores + net.n_blocks() - net.n_on_chip());
    for (b, block) in net.blocks().iter().enumerate() {
        if block.host {
            map[b] = blocks.len() as u32;
            blocks.push(block.clone());
            continue;
        }
        let c = packing.core_of[b] as usize;
        if new_id[c] == u32::MAX {
            new_id[c] = blocks.len() as u32;
            let m = &members[c];
            let mut merged = block.clone();
            if m.len() > 1 {
                merged.name = format!("{} (+{})", block.name, m.len() - 1);
                let parts = || m.iter().map(|&x| net.block(x));
                merged.compartments = parts().map(|x| x.compartments).sum();
                merged.in_axons = parts().map(|x| x.in_axons).sum();
                merged.out_axons = parts().map(|x| x.out_axons).sum();
                merged.synapse_bits = parts().map(|x| x.synapse_bits).sum();
                let spikes: f64 = parts().map(|x| x.compartments as f64 * x.rate).sum();
                merged.rate = spikes / merged.compartments as f64;
            }
            blocks.push(merged);
        }
        map[b] = new_id[c];
    }
    let edges = net
        .edges()
        .iter()
        .filter(|e| {
            let host = net.block(e.src).host || net.block(e.dst).host;
            host || map[e.src.idx()] != map[e.dst.idx()]
        })
        .map(|e| Edge {
            src: BlockId(map[e.src.idx()]),
            dst: BlockId(map[e.dst.idx()]),
            ..e.clone()
        })
        .collect();
    let packed =
        Network::new(net.name.clone(), blocks, edges).map_err(|e| AllocError::Backend {
            name: "pack",
            message: e.to_string(),
        })?;
    Ok((packed, map))
}

/// Any allocator, on packed cores: see the module docs. The placement's allocator name gets `+pack`.
pub struct Packed {
    pub inner: Box<dyn Allocator>,
}

impl Allocator for Packed {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn allocate(
        &self,
        net: &Network,
        topo: &Topology,
        ctx: &mut Ctx,
    ) -> Result<Placement, AllocError> {
        check_blocks_fit(net, topo)?;
        let packing = pack(net, topo.core_limits());
        let (packed, map) = contract(net, &packing)?;
        let (rules, nets) = (ctx.rules, ctx.packed_nets.take());
        ctx.rules.packing = false;
        if ctx.traffic == TrafficModel::Multicast {
            ctx.packed_nets = Some(Arc::new(Nets::contracted(net, &map)));
        }
        let result = self.inner.allocate(&packed, topo, ctx);
        ctx.rules = rules;
        ctx.packed_nets = nets;
        let p = result.map_err(|e| match e {
            AllocError::Infeasible {
                needed,
                available,
                blocks,
                cores_per_chip,
                why,
            } => AllocError::Infeasible {
                needed,
                available,
                blocks: net.n_on_chip(),
                cores_per_chip,
                why: format!("{why}; packed into {blocks} cores"),
            },
            e => e,
        })?;
        let slots = map.iter().map(|&m| p.slots()[m as usize]).collect();
        Ok(Placement::new(
            slots,
            format!("{}+pack", p.allocator),
            p.seed,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use snn_placement::{Metrics, Rules};

    fn block(name: &str, compartments: u64, in_axons: u64) -> Block {
        let mut b = Block::new(name, compartments);
        b.in_axons = in_axons;
        b
    }

    fn limits(compartments: u64, max_blocks: u32) -> CoreLimits {
        CoreLimits {
            compartments,
            max_blocks,
            ..CoreLimits::LOIHI
        }
    }

    #[test]
    fn talkers_share_a_core_first_then_the_rest_fill_up() {
        // a <-> b exchange most; c -> d less; e has no traffic. Cores of 100 compartments.
        let blocks = vec![
            block("a", 60, 0),
            block("c", 30, 0),
            block("b", 40, 0),
            block("d", 50, 0),
            block("e", 20, 0),
            Block::new("probe", 1).on_host(),
        ];
        let e = |s, d, w| Edge::new(BlockId(s), BlockId(d), w);
        let net = Network::new(
            "t",
            blocks,
            vec![
                e(0, 2, 9.0),
                e(2, 0, 1.0),
                e(1, 3, 5.0),
                e(0, 1, 2.0),
                e(3, 5, 1.0),
            ],
        )
        .unwrap();
        let p = pack(&net, &limits(100, 16));
        // {a, b} fill a core (100); c and d share one (80), e joins them (100).
        assert_eq!(p.core_of, [0, 1, 0, 1, 1, u32::MAX]);
        assert_eq!(p.n_cores, 2);
        let (packed, map) = contract(&net, &p).unwrap();
        assert_eq!(map, [0, 1, 0, 1, 1, 2]);
        let names: Vec<&str> = packed.blocks().iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["a (+1)", "c (+2)", "probe"]);
        assert_eq!(packed.block(BlockId(1)).compartments, 100);
        // Left: a -> c (2 spikes) and d -> probe.
        let left: Vec<(u32, u32, f64)> = packed
            .edges()
            .iter()
            .map(|e| (e.src.0, e.dst.0, e.spikes))
            .collect();
        assert_eq!(left, [(0, 1, 2.0), (1, 2, 1.0)]);
    }

    #[test]
    fn every_limit_and_max_blocks_hold() {
        // Ten blocks of 10 compartments and 1,000 input axons, all talking to each other.
        let blocks = (0..10).map(|i| block(&format!("b{i}"), 10, 1000)).collect();
        let mut edges = Vec::new();
        for i in 0..10 {
            for j in 0..10 {
                if i != j {
                    edges.push(Edge::new(BlockId(i), BlockId(j), 1.0));
                }
            }
        }
        let net = Network::new("t", blocks, edges).unwrap();
        // 4,096 input axons per core: four blocks at most.
        let p = pack(&net, &limits(1024, 16));
        assert_eq!(p.n_cores, 3);
        // Three blocks per core at most by max_blocks.
        let p = pack(&net, &limits(1024, 3));
        assert_eq!(p.n_cores, 4);
    }

    #[test]
    fn packed_placement_validates_and_keeps_traffic_inside_cores() {
        let blocks = (0..40).map(|i| block(&format!("b{i}"), 100, 0)).collect();
        let edges = (0..39)
            .map(|i| Edge::new(BlockId(i), BlockId(i + 1), 1.0 + i as f64))
            .collect();
        let net = Network::new("chain", blocks, edges).unwrap();
        let topo = Topology::preset("kapoho-bay").unwrap();
        let rules = Rules {
            chips: 2,
            packing: true,
        };
        let alloc = Packed {
            inner: crate::by_name("metis").unwrap(),
        };
        let p = alloc
            .allocate(&net, &topo, &mut Ctx::new(1, rules))
            .unwrap();
        assert_eq!(p.allocator, "metis+pack");
        p.validate(&net, &topo, &rules).unwrap();
        let m = Metrics::compute(&net, &topo, &p);
        // 40 blocks of 100 compartments: ten per core, four cores, one chip.
        assert_eq!((m.cores_used, m.chips_used), (4, 1));
        assert_eq!(m.interchip_spikes, 0.0);
    }
}
