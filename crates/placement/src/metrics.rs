//! The traffic figures of `snn-report/1`, computed from the network's expected `spikes`, the topology's
//! dimension-order routing and a placement.

use snn_graph::Network;
use snn_hardware::{ChipId, Link, Topology};

use crate::{Nets, Placement, Slot};

/// What a placement costs in spike traffic per timestep (expected values). See
/// `shared/spec/report-format.md` for each figure's definition.
#[derive(Clone, Debug, PartialEq)]
pub struct Metrics {
    pub chips_used: usize,
    pub cores_used: usize,
    /// Spikes on edges whose two blocks sit on different chips (host blocks excluded).
    pub interchip_spikes: f64,
    /// Spikes between host blocks and on-chip blocks.
    pub host_spikes: f64,
    /// Over edges between chips, spikes x chip-mesh hops.
    pub hop_spikes: f64,
    /// Inter-chip traffic when spikes are replicated at the destination chip: over every on-chip source
    /// block and every other chip its destinations sit on, the largest spikes it sends to one block there.
    pub multicast_spikes: f64,
    /// Spikes on the busiest directed chip-to-chip link under dimension-order routing.
    pub max_link_spikes: f64,
    /// That link, when any link carries traffic (ties: the lowest link slot).
    pub busiest_link: Option<(ChipId, ChipId)>,
}

impl Metrics {
    /// Computes every figure in one pass over the edges (plus one over the sources, for multicast). The
    /// placement must have one slot per block on chips the topology has (capacity does not matter here):
    /// validate a placement read from a file first.
    pub fn compute(net: &Network, topo: &Topology, p: &Placement) -> Metrics {
        let slots = p.slots();
        let mut chips = vec![false; topo.n_chips() as usize];
        let mut cores: Vec<Slot> = slots.iter().copied().filter(|s| *s != Slot::Host).collect();
        for s in &cores {
            if let Some(c) = s.chip() {
                chips[c.idx()] = true;
            }
        }
        cores.sort_unstable();
        cores.dedup();

        let mut links = vec![0.0f64; topo.n_link_slots()];
        let (mut interchip, mut host, mut hops) = (0.0, 0.0, 0.0);
        for e in net.edges() {
            match (slots[e.src.idx()].chip(), slots[e.dst.idx()].chip()) {
                (Some(a), Some(b)) if a != b => {
                    interchip += e.spikes;
                    hops += e.spikes * topo.chip_hops(a, b) as f64;
                    for l in topo.route(a, b) {
                        links[l.slot()] += e.spikes;
                    }
                }
                (Some(_), None) | (None, Some(_)) => host += e.spikes,
                _ => {}
            }
        }
        let (mut max_link, mut busiest) = (0.0, None);
        for (slot, &load) in links.iter().enumerate() {
            if load > max_link {
                max_link = load;
                busiest = Some(slot);
            }
        }
        let busiest_link = busiest.map(|s| {
            let l = Link::from_slot(s);
            (l.from, topo.link_target(l))
        });
        Metrics {
            chips_used: chips.iter().filter(|&&u| u).count(),
            cores_used: cores.len(),
            interchip_spikes: interchip,
            host_spikes: host,
            hop_spikes: hops,
            multicast_spikes: multicast(net, slots),
            max_link_spikes: max_link,
            busiest_link,
        }
    }
}

/// Multicast traffic (see [`Nets`]): parallel edges between one pair of blocks add up first; then, per
/// on-chip source and per other chip, the largest pair total counts once.
fn multicast(net: &Network, slots: &[Slot]) -> f64 {
    Nets::new(net).cost(|b| slots[b.idx()].chip())
}

#[cfg(test)]
mod tests {
    use super::*;
    use snn_graph::{Block, BlockId, Edge};
    use snn_hardware::CoreId;

    fn core(chip: u32, core: u32) -> Slot {
        Slot::Core {
            chip: ChipId(chip),
            core: CoreId(core),
        }
    }

    #[test]
    fn worked_example_on_nahuku32() {
        // in(host) -> a(chip 0) -> b(chip 0), a -> c(chip 5), a -> d(chip 5), c -> probe(host),
        // a -> c again (parallel), d -> a.
        let blocks = vec![
            Block::new("in", 4).on_host(),
            Block::new("a", 10),
            Block::new("b", 10),
            Block::new("c", 10),
            Block::new("d", 10),
            Block::new("probe", 1).on_host(),
        ];
        let e = |s, d, w| Edge::new(BlockId(s), BlockId(d), w);
        let edges = vec![
            e(0, 1, 2.0),
            e(1, 2, 8.0),
            e(1, 3, 3.0),
            e(1, 4, 4.0),
            e(3, 5, 1.0),
            e(1, 3, 2.0),
            e(4, 1, 0.5),
        ];
        let net = Network::new("t", blocks, edges).unwrap();
        let topo = Topology::preset("nahuku32").unwrap();
        let slots = vec![
            Slot::Host,
            core(0, 0),
            core(0, 1),
            core(5, 0),
            core(5, 1),
            Slot::Host,
        ];
        let m = Metrics::compute(&net, &topo, &Placement::new(slots, "t", 0));
        // Chip 0 is (0,0), chip 5 is (1,1): 2 hops, east then north.
        assert_eq!(
            m,
            Metrics {
                chips_used: 2,
                cores_used: 4,
                interchip_spikes: 3.0 + 4.0 + 2.0 + 0.5,
                host_spikes: 2.0 + 1.0,
                hop_spikes: 2.0 * 9.5,
                // a reaches chip 5 with pair totals c: 5, d: 4 -> 5; d reaches chip 0 with 0.5.
                multicast_spikes: 5.5,
                // a's 9 spikes go 0 -E-> 1 -N-> 5; d's 0.5 go 5 -W-> 4 -S-> 0.
                max_link_spikes: 9.0,
                busiest_link: Some((ChipId(0), ChipId(1))),
            }
        );
    }
}
