//! Allocators decide where each block of a [`Network`] sits on a [`Topology`]. All of them implement the
//! object-safe [`Allocator`] trait and are found by name in the registry ([`ALLOCATORS`], [`by_name`]).
//! They receive a [`Ctx`] with the seeded RNG, the chips that may be used and an optional deadline, and
//! return a [`Placement`] or an [`AllocError`].
//!
//! - [`Greedy`]: nengo-loihi's `Greedy`: blocks in file order fill chip 0's cores, then chip 1's, ...
//! - [`RoundRobin`]: nengo-loihi's `RoundRobin`: consecutive blocks go to consecutive chips.
//! - [`Ilp`], [`IlpRefine`]: an integer linear program of the chip assignment (`good_lp`, `microlp`):
//!   proven optima on small nets, window-by-window improvement on large ones (see [`ilp`]).
//! - [`MtKaHyPar`]: the Mt-KaHyPar hypergraph partitioner, behind the cargo feature `mtkahypar` (see
//!   [`mtkahypar`]); without it the name gives [`AllocError::NotBuilt`].
//!
//! Invariant: an allocator only decides placement. It does not check capacity itself beyond what it needs
//! to decide (the placement crate's validator is the judge), print, or read the clock or a global RNG
//! except through [`Ctx`]. Depends on graph, hardware and placement; never on the emulator.

mod baseline;
pub mod flow;
pub mod fm;
mod greedy_interchip;
pub mod hops;
pub mod hyper;
pub mod ilp;
pub mod mapping;
mod metis;
pub mod mtkahypar;
pub mod multilevel;
pub mod pack;
pub mod partition;
mod portfolio;
mod refine;

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use snn_graph::Network;
use snn_hardware::{Topology, TrafficModel};
use snn_placement::{check_blocks_fit, Placement, PlacementError, Rules};

pub use baseline::{Greedy, RoundRobin};
pub use greedy_interchip::GreedyInterchip;
pub use ilp::{Ilp, IlpConfig, IlpRefine, IlpStats, IlpStatus, Objective};
pub use metis::Metis;
pub use mtkahypar::{MtKaHyPar, MtkPreset};
pub use pack::{pack, Packed, Packing};
pub use portfolio::{Effort, Portfolio, EFFORTS};
pub use refine::{Fm, Pipeline, RefineStats, Refiner};
pub use snn_placement::Nets;

/// What an allocator gets besides the network and the topology.
pub struct Ctx {
    /// Seeded by the caller; the only source of randomness an allocator may use.
    pub rng: ChaCha8Rng,
    /// The seed `rng` started from, recorded in the placement.
    pub seed: u64,
    /// Which chips may be used and whether blocks may share cores.
    pub rules: Rules,
    /// When set, a long-running allocator stops improving at this instant and returns its best result.
    pub deadline: Option<Instant>,
    /// Filled by the ILP allocator and refiner: what the solver found and proved, for the report.
    pub ilp: Option<IlpStats>,
    /// The traffic model the traffic-aware allocators, refiners and the ILP minimise.
    pub traffic: TrafficModel,
    /// The multicast nets of the network being placed, when it is a packed network (see [`pack`]): one
    /// per original source block, so that the multicast objective stays exact. `None`: build them from
    /// the network ([`Ctx::nets`]).
    pub packed_nets: Option<Arc<Nets>>,
    /// Spread the network over every usable chip instead of the fewest that hold it (nengo-loihi's
    /// `PartitionInterchip`): more chips, each less full, can carry less traffic between them.
    pub spread: bool,
}

impl Ctx {
    pub fn new(seed: u64, rules: Rules) -> Ctx {
        Ctx {
            rng: ChaCha8Rng::seed_from_u64(seed),
            seed,
            rules,
            deadline: None,
            ilp: None,
            traffic: TrafficModel::Unicast,
            packed_nets: None,
            spread: false,
        }
    }

    /// The multicast nets of `net`: those of the packed network when [`Ctx::packed_nets`] has them.
    pub fn nets(&self, net: &Network) -> Arc<Nets> {
        self.packed_nets
            .clone()
            .unwrap_or_else(|| Arc::new(Nets::new(net)))
    }

    /// The time left before the deadline (zero once it has passed), or `None` without a deadline.
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// Whether the deadline, if any, has passed.
    pub fn expired(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

/// Why an allocator returned no placement.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AllocError {
    /// The network needs more chips than may be used: an outcome, not a bug.
    #[error(
        "does not fit: needs {needed} chips ({blocks} on-chip blocks, {cores_per_chip} cores per chip), \
         {available} available{why}"
    )]
    Infeasible {
        needed: u64,
        available: u32,
        blocks: usize,
        cores_per_chip: u32,
        /// Why fewer chips are available than the topology has, if they are (`--chips`).
        why: String,
    },
    /// A block is bad input for this topology (too big for any core).
    #[error(transparent)]
    Block(#[from] PlacementError),
    #[error("unknown allocator {name:?}; known: {known}")]
    Unknown { name: String, known: String },
    #[error("unknown refiner {name:?}; known: {known}")]
    UnknownRefiner { name: String, known: String },
    /// A partitioning or solver library failed.
    #[error("{name} failed: {message}")]
    Backend { name: &'static str, message: String },
    /// An allocator behind a cargo feature this build lacks.
    #[error(
        "the {name} allocator is not in this build: rebuild with `cargo build --release --features {feature}`"
    )]
    NotBuilt {
        name: &'static str,
        feature: &'static str,
    },
}

/// An allocator: see the crate docs for what it may and may not do.
pub trait Allocator: Send + Sync {
    /// Stable kebab-case name, used by the CLI and reports.
    fn name(&self) -> &'static str;
    fn allocate(
        &self,
        net: &Network,
        topo: &Topology,
        ctx: &mut Ctx,
    ) -> Result<Placement, AllocError>;
}

/// The registry: each allocator's name and its one-line trade-off, in the order `allocators` lists them.
pub const ALLOCATORS: &[(&str, &str)] = &[
    (
        "portfolio",
        "the default: METIS + FM and GreedyInterchip's chips, each refined by FM, V-cycles, flows \
         (min cuts between pairs of chips) and annealing of block clusters, least traffic kept; never \
         worse than either; --objective hops refines the mapped chips on spikes x hops; --effort \
         full refines nets above 32,000 blocks further",
    ),
    (
        "greedy",
        "nengo-loihi's Greedy: fills chips in file order; fast, ignores traffic",
    ),
    (
        "round-robin",
        "nengo-loihi's RoundRobin: spreads blocks over all chips; spreads traffic too",
    ),
    (
        "greedy-interchip",
        "nengo-loihi 1.1's default: grows each chip around its most connected blocks; fast, myopic",
    ),
    (
        "metis",
        "METIS k-way over the fewest chips, capacity repaired, best of 4 seeds (2 above 250,000 blocks), mapped onto the mesh; \
         add --refine fm for less traffic",
    ),
    (
        "ilp",
        "exact ILP (good_lp + microlp) of the whole net when small: the optimum, or at --time-limit the \
         best found and a lower bound; larger nets: METIS then ILP windows",
    ),
    #[cfg(feature = "mtkahypar")]
    (
        "mtkahypar",
        "Mt-KaHyPar (--mtk-preset, quality by default) over the fewest chips, capacity repaired, mapped \
         onto the mesh (--objective hops: its own mapping onto the mesh, Steiner-tree objective); one \
         thread; built with --features mtkahypar",
    ),
];

/// The refiners `--refine` takes, with their trade-offs.
pub const REFINERS: &[(&str, &str)] = &[
    (
        "fm",
        "k-way Fiduccia-Mattheyses moves and swaps under hard capacities; never raises the traffic",
    ),
    (
        "ilp",
        "ILP windows (--window blocks on two chips that talk) solved exactly until --time-limit or \
         no window improves; never raises the --objective",
    ),
];

fn names(list: &[(&str, &str)]) -> String {
    list.iter().map(|a| a.0).collect::<Vec<_>>().join(", ")
}

/// The allocator named `name`, with its default configuration.
pub fn by_name(name: &str) -> Result<Box<dyn Allocator>, AllocError> {
    by_name_with(name, &IlpConfig::default())
}

/// The allocator named `name`; the ILP takes `ilp` as its configuration.
pub fn by_name_with(name: &str, ilp: &IlpConfig) -> Result<Box<dyn Allocator>, AllocError> {
    by_name_configured(name, ilp, MtkPreset::default(), Effort::default())
}

/// The allocator named `name`; the ILP takes `ilp` as its configuration, Mt-KaHyPar the preset `mtk`,
/// `portfolio` the effort `effort`.
pub fn by_name_configured(
    name: &str,
    ilp: &IlpConfig,
    mtk: MtkPreset,
    effort: Effort,
) -> Result<Box<dyn Allocator>, AllocError> {
    match name {
        "mtkahypar" if mtkahypar::BUILT => Ok(Box::new(MtKaHyPar {
            preset: mtk,
            hops: ilp.objective == Objective::Hops,
        })),
        "mtkahypar" => Err(mtkahypar::not_built()),
        "ilp" => Ok(Box::new(Ilp {
            config: ilp.clone(),
        })),
        "greedy" => Ok(Box::new(Greedy)),
        "round-robin" => Ok(Box::new(RoundRobin)),
        "greedy-interchip" => Ok(Box::new(GreedyInterchip)),
        "metis" => Ok(Box::new(Metis::default())),
        "portfolio" => Ok(Box::new(Portfolio {
            // Portfolio minimises the hops or the traffic between chips (max-link: see the CLI's check).
            objective: match ilp.objective {
                Objective::Hops => Objective::Hops,
                _ => Objective::Interchip,
            },
            effort,
            ..Portfolio::default()
        })),
        _ => Err(AllocError::Unknown {
            name: name.to_string(),
            known: names(ALLOCATORS),
        }),
    }
}

/// The refiner named `name`, with its default configuration.
pub fn refiner_by_name(name: &str) -> Result<Box<dyn Refiner>, AllocError> {
    refiner_by_name_with(name, &IlpConfig::default())
}

/// The refiner named `name`; the ILP refiner takes `ilp` as its configuration.
pub fn refiner_by_name_with(name: &str, ilp: &IlpConfig) -> Result<Box<dyn Refiner>, AllocError> {
    match name {
        "ilp" => Ok(Box::new(IlpRefine {
            config: ilp.clone(),
        })),
        "fm" => Ok(Box::new(Fm::default())),
        _ => Err(AllocError::UnknownRefiner {
            name: name.to_string(),
            known: names(REFINERS),
        }),
    }
}

/// The allocator `name` followed by the refiners `refine`, as one allocator. METIS refines each of its
/// tries with FM before it picks the best, which finds lower cuts than refining only the winner.
pub fn pipeline(name: &str, refine: &[String]) -> Result<Box<dyn Allocator>, AllocError> {
    pipeline_with(name, refine, &IlpConfig::default())
}

/// [`pipeline`] with the ILP allocator and refiner configured by `ilp`.
pub fn pipeline_with(
    name: &str,
    refine: &[String],
    ilp: &IlpConfig,
) -> Result<Box<dyn Allocator>, AllocError> {
    pipeline_configured(name, refine, ilp, MtkPreset::default(), Effort::default())
}

/// [`pipeline_with`] with Mt-KaHyPar's preset `mtk` and `portfolio`'s effort `effort`.
pub fn pipeline_configured(
    name: &str,
    refine: &[String],
    ilp: &IlpConfig,
    mtk: MtkPreset,
    effort: Effort,
) -> Result<Box<dyn Allocator>, AllocError> {
    let start = by_name_configured(name, ilp, mtk, effort)?;
    let mut refiners = refine
        .iter()
        .map(|r| refiner_by_name_with(r, ilp))
        .collect::<Result<Vec<_>, _>>()?;
    if refiners.is_empty() {
        return Ok(start);
    }
    if name == "metis" && refine[0] == "fm" {
        refiners.remove(0);
        let metis = Metis {
            refine: Some(fm::FmConfig::default()),
            ..Metis::default()
        };
        if refiners.is_empty() {
            return Ok(Box::new(metis));
        }
        return Ok(Box::new(Pipeline {
            start: Box::new(metis),
            refiners,
        }));
    }
    Ok(Box::new(Pipeline { start, refiners }))
}

/// How many chips a traffic-aware allocator partitions into: the fewest that hold the network
/// ([`check_fits`]), or with [`Ctx::spread`] every usable chip.
pub fn chips_to_use(net: &Network, topo: &Topology, ctx: &Ctx) -> Result<u32, AllocError> {
    let fewest = check_fits(net, topo, &ctx.rules)?;
    Ok(if ctx.spread {
        ctx.rules.chips.min(topo.n_chips()).max(fewest)
    } else {
        fewest
    })
}

/// The blocks per chip a greedy chip-filling start uses for `k` chips: a full chip, or under
/// [`Ctx::spread`] an even share, so that it fills all `k`.
pub fn fill_per_chip(net: &Network, topo: &Topology, ctx: &Ctx, k: u32) -> u32 {
    if ctx.spread {
        (net.n_on_chip() as u64)
            .div_ceil(k.max(1) as u64)
            .clamp(1, topo.cores_per_chip() as u64) as u32
    } else {
        topo.cores_per_chip()
    }
}

/// The checks every allocator makes first: each on-chip block fits one core, and (one block per core) the
/// usable chips have enough cores. Returns the fewest chips that can hold the network.
pub fn check_fits(net: &Network, topo: &Topology, rules: &Rules) -> Result<u32, AllocError> {
    check_blocks_fit(net, topo)?;
    let blocks = net.n_on_chip();
    let per_chip = topo.cores_per_chip();
    let needed = (blocks as u64).div_ceil(per_chip as u64);
    let available = rules.chips.min(topo.n_chips());
    if needed > available as u64 {
        let why = if available < topo.n_chips() {
            format!(
                " (limited to {available} of {}'s {} chips)",
                topo.name,
                topo.n_chips()
            )
        } else {
            format!(" ({} has {})", topo.name, topo.n_chips())
        };
        return Err(AllocError::Infeasible {
            needed,
            available,
            blocks,
            cores_per_chip: per_chip,
            why,
        });
    }
    Ok(needed as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_builds_every_listed_allocator() {
        for (name, _) in ALLOCATORS {
            assert_eq!(by_name(name).unwrap().name(), *name);
        }
        assert_eq!(
            by_name("metis-ish").err().unwrap().to_string(),
            if mtkahypar::BUILT {
                "unknown allocator \"metis-ish\"; known: portfolio, greedy, round-robin, greedy-interchip, metis, ilp, mtkahypar"
            } else {
                "unknown allocator \"metis-ish\"; known: portfolio, greedy, round-robin, greedy-interchip, metis, ilp"
            }
        );
        if !mtkahypar::BUILT {
            assert_eq!(
                by_name("mtkahypar").err().unwrap().to_string(),
                "the mtkahypar allocator is not in this build: rebuild with `cargo build --release --features mtkahypar`"
            );
        }
    }
}

#[cfg(test)]
mod proptests;
