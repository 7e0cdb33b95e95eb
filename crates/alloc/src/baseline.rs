//! nengo-loihi's two baseline allocators, with its semantics (`nengo_loihi/hardware/allocators.py`):
//! one block per core, host blocks on the host, on-chip blocks in file order.

use snn_graph::Network;
use snn_hardware::{ChipId, CoreId, Topology};
use snn_placement::{Placement, Slot};

use crate::{check_fits, AllocError, Allocator, Ctx};

/// Fills chip 0's cores in order, then chip 1's, and so on: the fewest chips, traffic ignored.
#[derive(Copy, Clone, Debug, Default)]
pub struct Greedy;

/// Puts on-chip block `i` (counting on-chip blocks in file order) on chip `i mod n_chips`, on that chip's
/// next free core: every usable chip is used, and neighbouring blocks land on different chips.
#[derive(Copy, Clone, Debug, Default)]
pub struct RoundRobin;

impl Allocator for Greedy {
    fn name(&self) -> &'static str {
        "greedy"
    }

    fn allocate(
        &self,
        net: &Network,
        topo: &Topology,
        ctx: &mut Ctx,
    ) -> Result<Placement, AllocError> {
        check_fits(net, topo, &ctx.rules)?;
        let per_chip = topo.cores_per_chip();
        Ok(place_in_order(net, self.name(), ctx, |i| {
            (ChipId(i / per_chip), CoreId(i % per_chip))
        }))
    }
}

impl Allocator for RoundRobin {
    fn name(&self) -> &'static str {
        "round-robin"
    }

    fn allocate(
        &self,
        net: &Network,
        topo: &Topology,
        ctx: &mut Ctx,
    ) -> Result<Placement, AllocError> {
        check_fits(net, topo, &ctx.rules)?;
        let n_chips = ctx.rules.chips.min(topo.n_chips());
        Ok(place_in_order(net, self.name(), ctx, |i| {
            (ChipId(i % n_chips), CoreId(i / n_chips))
        }))
    }
}

/// Places the `i`-th on-chip block (in file order) where `at(i)` says; host blocks on the host.
fn place_in_order(
    net: &Network,
    name: &str,
    ctx: &Ctx,
    at: impl Fn(u32) -> (ChipId, CoreId),
) -> Placement {
    let mut i = 0u32;
    let slots = net
        .blocks()
        .iter()
        .map(|b| {
            if b.host {
                return Slot::Host;
            }
            let (chip, core) = at(i);
            i += 1;
            Slot::Core { chip, core }
        })
        .collect();
    Placement::new(slots, name, ctx.seed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use snn_graph::{Block, BlockId, Edge};
    use snn_placement::{Metrics, Rules};

    fn run(alloc: &dyn Allocator, net: &Network, topo: &Topology, chips: u32) -> String {
        let rules = Rules {
            chips,
            packing: false,
        };
        match alloc.allocate(net, topo, &mut Ctx::new(1, rules)) {
            Ok(p) => {
                p.validate(net, topo, &rules).unwrap();
                p.slots()
                    .iter()
                    .map(|s| match s {
                        Slot::Host => "h".to_string(),
                        Slot::Core { chip, core } => format!("{}.{}", chip.0, core.0),
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            }
            Err(e) => e.to_string(),
        }
    }

    fn chain(n: usize) -> Network {
        let mut blocks = vec![Block::new("in", 1).on_host()];
        blocks.extend((0..n).map(|i| Block::new(format!("b{i}"), 1)));
        let edges = (0..n as u32)
            .map(|i| Edge::new(BlockId(i), BlockId(i + 1), 1.0))
            .collect();
        Network::new("chain", blocks, edges).unwrap()
    }

    fn tiny_board() -> Topology {
        use snn_hardware::{CoreLimits, CostModel, Grid};
        Topology::new(
            "tiny",
            Grid { x: 3, y: 1 },
            Grid { x: 1, y: 1 },
            2,
            CoreLimits::LOIHI,
            CostModel::default(),
        )
        .unwrap()
    }

    #[test]
    fn greedy_fills_chips_in_order() {
        let t = tiny_board();
        assert_eq!(run(&Greedy, &chain(5), &t, 3), "h 0.0 0.1 1.0 1.1 2.0");
        assert_eq!(
            run(&Greedy, &chain(7), &t, 3),
            "does not fit: needs 4 chips (7 on-chip blocks, 2 cores per chip), 3 available (tiny has 3)"
        );
        assert_eq!(
            run(&Greedy, &chain(5), &t, 2),
            "does not fit: needs 3 chips (5 on-chip blocks, 2 cores per chip), 2 available \
             (limited to 2 of tiny's 3 chips)"
        );
    }

    #[test]
    fn round_robin_cycles_over_the_usable_chips() {
        let t = tiny_board();
        assert_eq!(run(&RoundRobin, &chain(5), &t, 3), "h 0.0 1.0 2.0 0.1 1.1");
        assert_eq!(run(&RoundRobin, &chain(4), &t, 2), "h 0.0 1.0 0.1 1.1");
    }

    #[test]
    fn hand_worked_chain_traffic() {
        // A chain in -> b0 -> ... -> b4, 1 spike per edge, on 3 chips in a row of 2 cores each.
        let (t, net) = (tiny_board(), chain(5));
        let rules = Rules::for_topology(&t);
        let m = |a: &dyn Allocator| {
            let p = a.allocate(&net, &t, &mut Ctx::new(0, rules)).unwrap();
            Metrics::compute(&net, &t, &p)
        };
        let g = m(&Greedy);
        // Greedy: b1->b2 (chip 0->1) and b3->b4 (1->2) cross, one hop each.
        assert_eq!(
            (
                g.interchip_spikes,
                g.hop_spikes,
                g.max_link_spikes,
                g.host_spikes
            ),
            (2.0, 2.0, 1.0, 1.0)
        );
        let r = m(&RoundRobin);
        // Round-robin: chips 0,1,2,0,1: every on-chip edge crosses; 2->0 takes two hops west.
        assert_eq!(
            (
                r.interchip_spikes,
                r.hop_spikes,
                r.max_link_spikes,
                r.chips_used
            ),
            (4.0, 1.0 + 1.0 + 2.0 + 1.0, 2.0, 3)
        );
    }

    #[test]
    fn a_block_too_big_is_named() {
        let mut b = Block::new("fat", 2000);
        b.layer = Some("conv".into());
        let net = Network::new("n", vec![b], vec![]).unwrap();
        assert_eq!(
            run(&Greedy, &net, &tiny_board(), 3),
            "block \"fat\" does not fit one core: compartments 2000 exceeds the core limit 1024"
        );
    }
}
