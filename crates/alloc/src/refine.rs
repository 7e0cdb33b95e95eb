//! Refiners improve a placement another allocator made, behind the [`Refiner`] trait, and a [`Pipeline`]
//! (an allocator followed by refiners) is itself an [`Allocator`].

use snn_graph::{Adjacency, Network};
use snn_hardware::{Topology, TrafficModel};
use snn_placement::{Placement, Slot};

use crate::fm::{self, FmConfig};
use crate::hyper::{self, HyperGraph, HYPER_PASSES};
use crate::mapping::place_parts;
use crate::multilevel::{self, VCYCLES};
use crate::partition::BlockGraph;
use crate::{AllocError, Allocator, Ctx};
use rand::Rng;

/// What a refinement did to its objective.
#[derive(Clone, Debug, PartialEq)]
pub struct RefineStats {
    /// The objective (inter-chip spikes per timestep) before and after.
    pub before: f64,
    pub after: f64,
    /// Passes or windows tried.
    pub rounds: usize,
}

/// Improves a placement in place; never makes its objective worse.
pub trait Refiner: Send + Sync {
    /// Stable kebab-case name, used by `--refine` and in the placement's allocator name (`metis+fm`).
    fn name(&self) -> &'static str;
    fn refine(
        &self,
        net: &Network,
        topo: &Topology,
        placement: &mut Placement,
        ctx: &mut Ctx,
    ) -> Result<RefineStats, AllocError>;
}

/// k-way FM refinement of the chip assignment (see [`fm`]), then multilevel V-cycles of it (see
/// [`multilevel`]), then the mesh mapping again.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fm {
    pub config: FmConfig,
}

impl Refiner for Fm {
    fn name(&self) -> &'static str {
        "fm"
    }

    fn refine(
        &self,
        net: &Network,
        topo: &Topology,
        placement: &mut Placement,
        ctx: &mut Ctx,
    ) -> Result<RefineStats, AllocError> {
        let g = BlockGraph::new(net, &Adjacency::new(net));
        let k = ctx.rules.chips.min(topo.n_chips());
        let chip_of = |s: Slot| match s {
            Slot::Core { chip, .. } => chip.0,
            Slot::Host => unreachable!("BlockGraph holds on-chip blocks only"),
        };
        let mut part: Vec<u32> = g
            .blocks
            .iter()
            .map(|&b| chip_of(placement.slot(b)))
            .collect();
        let caps = vec![topo.cores_per_chip(); k as usize];
        let deadline = ctx.deadline;
        let expired = move || deadline.is_some_and(|d| std::time::Instant::now() >= d);
        let first = fm::refine(&g, &mut part, &caps, &self.config, &expired);
        let seed = ctx.rng.random::<u64>();
        let more = multilevel::vcycles(&g, &mut part, &caps, VCYCLES, seed, &self.config, &expired);
        let mut stats = fm::FmStats {
            passes: first.passes + more.passes,
            moves_kept: first.moves_kept + more.moves_kept,
            cut_before: first.cut_before,
            cut_after: more.cut_after,
        };
        // Under multicast, FM lowered the unicast cut (an upper bound); the local search then lowers the
        // multicast cut itself. The unicast FM may raise the multicast cut: keep the start then.
        if ctx.traffic == TrafficModel::Multicast {
            let h = HyperGraph::new(&g, &ctx.nets(net), net.n_blocks());
            let start: Vec<u32> = g
                .blocks
                .iter()
                .map(|&b| chip_of(placement.slot(b)))
                .collect();
            let before = h.cut(&start, caps.len());
            hyper::refine(&g, &h, &mut part, &caps, seed, HYPER_PASSES, &expired);
            let mut after = h.cut(&part, caps.len());
            if after > before {
                part = start;
                after = before;
            }
            stats = fm::FmStats {
                passes: stats.passes,
                moves_kept: usize::from(after < before),
                cut_before: before,
                cut_after: after,
            };
        }
        let name = format!("{}+{}", placement.allocator, self.name());
        if stats.moves_kept > 0 {
            *placement = place_parts(net, topo, &ctx.rules, &g, &part, k, &name, ctx.seed);
        } else {
            placement.allocator = name;
        }
        Ok(RefineStats {
            before: stats.cut_before as f64 / g.scale,
            after: stats.cut_after as f64 / g.scale,
            rounds: stats.passes,
        })
    }
}

/// An allocator followed by refiners, in order.
pub struct Pipeline {
    pub start: Box<dyn Allocator>,
    pub refiners: Vec<Box<dyn Refiner>>,
}

impl Allocator for Pipeline {
    fn name(&self) -> &'static str {
        self.start.name()
    }

    fn allocate(
        &self,
        net: &Network,
        topo: &Topology,
        ctx: &mut Ctx,
    ) -> Result<Placement, AllocError> {
        let mut p = self.start.allocate(net, topo, ctx)?;
        for r in &self.refiners {
            r.refine(net, topo, &mut p, ctx)?;
        }
        Ok(p)
    }
}
