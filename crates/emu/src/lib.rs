//! The emulator: given a network, a topology and a placement, [`emulate`] runs [`EmuOptions::steps`]
//! timesteps and returns an [`Emulation`], the `emulation` object of `snn-report/1`: the time per step
//! ([`TimeStats`]) and its split by phase as NxSDK's time probe splits it ([`Phases`]), the
//! expected-value (analytic) time beside it, what set the pace ([`Pace`]), what the host does every step
//! ([`HostIo`]: the host blocks in the loop, the round trip, the probed values), the energy per step by
//! component ([`EnergyStats`]), and the inter-chip, per-link ([`LinkLoad`]) and host traffic.
//! [`expected_time_us`] gives the analytic time alone; [`host_loop`] finds the host blocks in the loop.
//! Errors are [`EmuError`].
//!
//! # The model
//! Each step, every on-chip block `b` fires `f_b` spikes drawn from Binomial(`compartments`, `rate`)
//! (rates of 0 or at least 1 are not drawn: `f_b = compartments x rate`). Host blocks are not drawn: their
//! edges carry their mean `spikes` every step (inputs are given spike trains, not random ones). With
//! `scale_b = f_b / E[f_b]` (1 when the expected firing is 0), every edge from `b` carries
//! `spikes x scale_b` messages and `synops x scale_b` synaptic events. The constants are the topology's
//! [`CostModel`](snn_hardware::CostModel), each with its source there.
//!
//! - Core time: the slower of two chains that overlap, blocks sharing a core adding up. The neuron chain is
//!   `compartments x (compartment_access + compartment_update) + f x spike_fire + messages sent x
//!   message_send`; the message chain is `messages received x message_receive + synops x synop`.
//! - Link time: every message between chips is routed by [`Topology::route`](snn_hardware::Topology::route)
//!   (dimension order); the busiest link's messages x `link_message` + the longest inter-chip route's
//!   hops x `link_hop`.
//! - Host phase (NxSDK's host/management phase, after the chips' part of the step): in any step in which
//!   the host exchanges anything with the chips, `host_latency` (the management phase) + `host_round_trip`
//!   when a round trip is needed + the probed values x `probe_value` + the messages between host and
//!   on-chip blocks (either way) x `host_message`. A round trip is needed when the host is in the loop
//!   ([`host_loop`]: a host block reached from the chips that reaches them again, directly or through
//!   other host blocks) or inputs are not precomputed. The probed values are the compartments of the
//!   on-chip blocks with an edge to a host block ([`probed_blocks`]), read every step. With `precompute`,
//!   inputs (host to chip) are sent before the run and skip the host channel (they still reach their
//!   cores); a host loop makes `precompute` an error ([`EmuError::HostLoop`]).
//! - On-chip network delay: the longest tile route (dimension order on the tile mesh, `tile_hop_ew` and
//!   `tile_hop_ns` per hop) between two cores of one chip joined by an edge with traffic.
//! - Barrier: with one chip in use, by its tiles in use (`barrier_1_tile`, `barrier_2_3_tiles`,
//!   `barrier_4_28_tiles`, `barrier_29_tiles`); with more, `barrier_chips + barrier_chip_hop x` the mesh
//!   diameter of the chips in use, and never less than the one-chip barrier of the chip with most tiles.
//! - Step time = max(slowest core, link time) + network delay + barrier + host phase, split into the
//!   phases spiking (slowest core + network delay), inter-chip (what the links add beyond the slowest
//!   core), barrier and host. What set the pace is the largest of slowest core, link time and host phase
//!   (ties: core, then link, then host), or the barrier when it exceeds each of them.
//! - Energy per step (dynamic; SANA-FE's per-event energies of Loihi, after Davies et al. 2018): every
//!   on-chip compartment's access and update, each spike fired, each message sent and received, each
//!   synaptic event, each tile hop of a message between two cores (east-west and north-south priced
//!   apart; across chips, between the two cores' tile positions), each chip-to-chip link crossing, and
//!   each message through the host channel. Like SANA-FE's own figure, it is a sum of event counts x
//!   per-event energies.
//!
//! That is the Loihi 1 model. A topology whose runtime model is Loihi 2 ([`RuntimeModel::Loihi2`]: the
//! presets `loihi2`, `kapoho-point` and `hala-point`) has its chips' part priced by the max-affine model
//! of the `loihi2` module instead: the step is the largest of the cores' dendrite ops, synaptic ops,
//! synaptic-memory reads and NoC bits and the links' bits, + barrier + the same host phase as above.
//! Its phases split the same way (no on-chip network delay term). Its energy counts the same events but
//! prices them with Loihi 1's per-event energies, as no per-event energies of Loihi 2 are published:
//! [`EnergyStats::constants`] says so.
//!
//! The latencies (tile routes, chip hops, host latency) depend on which edges carry traffic at all, not
//! on the draw, so the step time is a convex function of the draws and its expectation is never below the
//! time with every draw at its mean, the analytic time (Jensen's inequality): the slowest of several
//! random loads is slower on average than the slowest of their means.
//!
//! # Determinism
//! Step `i` draws from its own ChaCha8 stream (`seed`, stream `i`); blocks are drawn in block order by
//! table inversion (only `+ * /` and comparisons; BTPE for distributions wider than 4,096 counts); and
//! per-step results are reduced in step order over chunks whose size depends only on the step count. So
//! the same seed gives the same [`Emulation`] at any thread count.
//!
//! Depends on the graph, hardware and placement crates, never on the allocators.

mod binomial;
mod host;
mod loihi2;
mod model;

pub use host::{host_loop, probed_blocks};
pub use loihi2::{MESSAGE_BITS, SYNAPSES_PER_READ};

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;
use snn_graph::Network;
use snn_hardware::{ChipId, RuntimeModel, Topology, TopologyError, TrafficModel};
use snn_placement::{Placement, PlacementError, Rules};

use model::{Fire, HostPhase, Model, PaceId, PaceOf, StepOut, ENERGY_PARTS, PHASES};

/// The most timesteps one emulation may run.
pub const MAX_STEPS: u32 = 10_000_000;

/// How to emulate.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct EmuOptions {
    /// Timesteps to emulate, 1 to [`MAX_STEPS`].
    pub steps: u32,
    /// The seed of every step's random draws.
    pub seed: u64,
    /// Input spikes (edges from host blocks to on-chip blocks) are sent before the run and cost nothing
    /// on the host link per step, as nengo-loihi's `precompute=True` does; probes still count.
    pub precompute: bool,
    /// How inter-chip messages are counted: one per edge (unicast, Loihi 1) or one per destination chip
    /// (multicast, replicated there).
    pub traffic: TrafficModel,
    /// Timesteps per inference (one input presented), when given: the report then adds the time and
    /// energy per inference.
    pub steps_per_inference: Option<u32>,
}

impl Default for EmuOptions {
    fn default() -> EmuOptions {
        EmuOptions {
            steps: 1000,
            seed: 0,
            precompute: false,
            traffic: TrafficModel::Unicast,
            steps_per_inference: None,
        }
    }
}

impl EmuOptions {
    /// Checks every option; errors name the field.
    pub fn check(&self) -> Result<(), EmuError> {
        if !(1..=MAX_STEPS).contains(&self.steps) {
            return Err(EmuError::BadOption {
                field: "steps",
                problem: format!("must be between 1 and {MAX_STEPS}, got {}", self.steps),
            });
        }
        if let Some(n) = self.steps_per_inference {
            if !(1..=MAX_STEPS).contains(&n) {
                return Err(EmuError::BadOption {
                    field: "steps_per_inference",
                    problem: format!("must be between 1 and {MAX_STEPS}, got {n}"),
                });
            }
        }
        Ok(())
    }
}

/// Why an emulation could not run. Each variant names the offending item.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmuError {
    #[error("option \"{field}\" {problem}")]
    BadOption {
        field: &'static str,
        problem: String,
    },
    /// The placement does not match the network or the topology (the validator's verdict).
    #[error("the placement is invalid: {0}")]
    Placement(#[from] PlacementError),
    /// A cost constant is not a finite number in 0..=1e9 ns.
    #[error("the topology's cost model is invalid: {0}")]
    Topology(#[from] TopologyError),
    /// `precompute` asked of a network whose host is in the loop (see [`host_loop`]): its inputs depend on
    /// what the chips send, so they cannot be sent ahead of the run.
    #[error(
        "inputs cannot be precomputed: the host is in the loop: {} host block{} ({}) take{} spikes \
         from the chips and send{} spikes back to them, so the network runs one step at a time (leave \
         out --precompute, or move these blocks on chip)",
        .blocks.len(), if .blocks.len() == 1 { "" } else { "s" }, name_list(.blocks, 5),
        if .blocks.len() == 1 { "s" } else { "" }, if .blocks.len() == 1 { "s" } else { "" }
    )]
    HostLoop { blocks: Vec<String> },
}

/// `"a", "b", "c"`, or the first `most` and how many more.
pub fn name_list(names: &[String], most: usize) -> String {
    let mut s = names
        .iter()
        .take(most)
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > most {
        s += &format!(" and {} more", names.len() - most);
    }
    s
}

/// Time per step in microseconds, over the emulated steps.
#[derive(Copy, Clone, Debug, PartialEq, Serialize)]
pub struct TimeStats {
    pub mean: f64,
    /// The median (nearest rank).
    pub p50: f64,
    /// The 99th percentile (nearest rank).
    pub p99: f64,
    pub max: f64,
}

/// What kind of thing set a step's pace.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PaceKind {
    /// A core's compute (the slower of its two chains).
    Core,
    /// A chip-to-chip link (its messages and the longest route's latency).
    Link,
    /// The host link.
    Host,
    /// The barrier, when it took longer than each of the others.
    Barrier,
}

/// Mean time per step by phase, in microseconds, as NxSDK's time probe splits a step: the cores' spiking
/// phase (the slowest core and the on-chip network delay), what the chip-to-chip links add beyond the
/// cores, the end-of-step barrier, and the host's management phase. They sum to the mean step time.
#[derive(Copy, Clone, Debug, PartialEq, Serialize)]
pub struct Phases {
    pub spiking: f64,
    pub interchip: f64,
    pub barrier: f64,
    pub host: f64,
}

/// Mean energy per step in microjoules, in total and by component: `neurons` (every on-chip compartment's
/// access and update), `spikes` (spikes fired), `messages` (spike messages sent and received),
/// `synops` (synaptic events), `mesh` (tile hops on the chips' meshes), `interchip` (chip-to-chip link
/// crossings) and `host` (messages through the host channel). Dynamic energy only: the chips' static
/// power is not in it.
#[derive(Copy, Clone, Debug, PartialEq, Serialize)]
pub struct EnergyStats {
    pub mean: f64,
    pub neurons: f64,
    pub spikes: f64,
    pub messages: f64,
    pub synops: f64,
    pub mesh: f64,
    pub interchip: f64,
    pub host: f64,
    /// Whose per-event energies priced the events, when not the runtime model's own chip: on a Loihi 2
    /// topology, `"loihi1"` (no per-event energies of Loihi 2 are published, so its events are priced
    /// with the cost model's Loihi 1 figures, from SANA-FE). Absent on Loihi 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constants: Option<&'static str>,
}

/// What the host does every step.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HostIo {
    /// The host blocks in the loop (see [`host_loop`]), in id order; empty when there is no loop.
    pub in_loop: Vec<String>,
    /// Whether every step pays a host round trip (a loop, or inputs not precomputed).
    pub round_trip: bool,
    /// Compartments the host reads every step (see [`probed_blocks`]).
    pub probed_values: u64,
}

/// Time and energy per inference, with `steps_per_inference` steps each.
#[derive(Copy, Clone, Debug, PartialEq, Serialize)]
pub struct PerInference {
    pub steps: u32,
    pub time_us: f64,
    pub energy_uj: f64,
}

/// One thing that set the pace, and in how many steps.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Pace {
    pub what: PaceKind,
    /// `"chip 3 core 17"`, `"chip 0 -> chip 1"`, `"host"` or `"barrier"`.
    pub name: String,
    pub steps: u64,
}

/// Mean messages per step on one directed chip-to-chip link.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LinkLoad {
    pub from: u32,
    pub to: u32,
    pub messages: f64,
}

/// How many of the busiest links an [`Emulation`] lists.
pub const BUSIEST_LINKS: usize = 10;

/// The result of [`emulate`]: the `emulation` object of `snn-report/1`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Emulation {
    pub steps: u32,
    pub seed: u64,
    pub precompute: bool,
    pub time_per_step_us: TimeStats,
    /// The step time with every draw replaced by its mean; never above `time_per_step_us.mean`.
    pub analytic_time_per_step_us: f64,
    /// The end-of-step barrier, part of every step's time.
    pub barrier_us: f64,
    /// Mean time per step by phase; the phases sum to `time_per_step_us.mean`.
    pub phases_us: Phases,
    /// The phase with the largest mean: `"spiking"`, `"interchip"`, `"barrier"` or `"host"`.
    pub pace_phase: &'static str,
    /// What the host does every step.
    pub host: HostIo,
    /// Mean energy per step, in total and by component.
    pub energy_per_step_uj: EnergyStats,
    /// Time and energy per inference, when `steps_per_inference` was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_inference: Option<PerInference>,
    /// What set the pace, most steps first (ties by name).
    pub pace: Vec<Pace>,
    /// Mean messages per step between blocks on different chips (each message counted once).
    pub interchip_messages_per_step: f64,
    /// The [`BUSIEST_LINKS`] links with the most mean messages per step, most first (ties by link).
    pub busiest_links: Vec<LinkLoad>,
    /// Mean messages per step over the host link (inputs excluded with `precompute`).
    pub host_messages_per_step: f64,
}

/// A time model reduced to per-step coefficients: Loihi 1's ([`model`]) or Loihi 2's ([`loihi2`]),
/// chosen by the topology's [`RuntimeModel`].
pub(crate) trait StepModel: Sync {
    type Scratch;
    fn scratch(&self) -> Self::Scratch;
    /// One step with the firing counts `fire` gives, asked of each block in block order.
    fn step(&self, fire: &mut dyn FnMut(&Fire) -> f64, s: &mut Self::Scratch) -> StepOut;
    /// The last step's messages per link, in [`StepModel::links`] order.
    fn link_msgs<'a>(&self, s: &'a Self::Scratch) -> &'a [f64];
    fn n_links(&self) -> usize;
    fn links(&self) -> &[(ChipId, ChipId)];
    fn barrier_ns(&self) -> f64;
    fn host(&self) -> &HostPhase;
    fn pace_of(&self, id: PaceId) -> PaceOf;
    /// What [`EnergyStats::constants`] says of the per-event energies, when they are not the model's own.
    fn energy_constants(&self) -> Option<&'static str> {
        None
    }
}

impl StepModel for Model {
    type Scratch = model::Scratch;

    fn scratch(&self) -> model::Scratch {
        Model::scratch(self)
    }

    fn step(&self, fire: &mut dyn FnMut(&Fire) -> f64, s: &mut model::Scratch) -> StepOut {
        Model::step(self, fire, s)
    }

    fn link_msgs<'a>(&self, s: &'a model::Scratch) -> &'a [f64] {
        s.link_msgs()
    }

    fn n_links(&self) -> usize {
        Model::n_links(self)
    }

    fn links(&self) -> &[(ChipId, ChipId)] {
        Model::links(self)
    }

    fn barrier_ns(&self) -> f64 {
        Model::barrier_ns(self)
    }

    fn host(&self) -> &HostPhase {
        Model::host(self)
    }

    fn pace_of(&self, id: PaceId) -> PaceOf {
        Model::pace_of(self, id)
    }
}

/// Checks the inputs and finds the host blocks in the loop (an error with `precompute`).
fn check_inputs(
    net: &Network,
    topo: &Topology,
    placement: &Placement,
    precompute: bool,
) -> Result<Vec<String>, EmuError> {
    topo.cost.check()?;
    let rules = Rules {
        chips: topo.n_chips(),
        packing: true,
    };
    placement.validate(net, topo, &rules)?;
    let in_loop: Vec<String> = host_loop(net)
        .iter()
        .map(|&b| net.block(b).name.clone())
        .collect();
    if precompute && !in_loop.is_empty() {
        return Err(EmuError::HostLoop { blocks: in_loop });
    }
    Ok(in_loop)
}

/// The expected-value time per step in microseconds: the step time with every block firing its mean
/// (`opts.steps` and `opts.seed` do not matter).
pub fn expected_time_us(
    net: &Network,
    topo: &Topology,
    placement: &Placement,
    opts: &EmuOptions,
) -> Result<f64, EmuError> {
    fn expected<M: StepModel>(model: &M) -> f64 {
        model.step(&mut |f| f.mean(), &mut model.scratch()).time_ns / 1000.0
    }
    let in_loop = check_inputs(net, topo, placement, opts.precompute)?;
    let (precompute, traffic, looped) = (opts.precompute, opts.traffic, !in_loop.is_empty());
    Ok(match topo.runtime {
        RuntimeModel::Loihi => expected(&Model::new(
            net, topo, placement, precompute, traffic, looped,
        )),
        RuntimeModel::Loihi2 => expected(&loihi2::Model::new(
            net, topo, placement, precompute, traffic, looped,
        )),
    })
}

/// Steps per chunk: at least 64, and at most 256 chunks. It depends on the step count only, so the
/// reduction order (and with it every floating-point sum) is the same at any thread count.
fn chunk_len(steps: u32) -> u32 {
    steps.div_ceil(256).max(64)
}

/// What one chunk of consecutive steps gives: every step's time, and sums and counts over the chunk.
struct Chunk {
    times_ns: Vec<f64>,
    /// Steps per pace id, sparse: a chunk sees few of them.
    pace_counts: BTreeMap<PaceId, u64>,
    interchip_msgs: f64,
    host_msgs: f64,
    link_msgs: Vec<f64>,
    phases_ns: [f64; 4],
    energy_pj: [f64; 7],
}

/// Emulates `opts.steps` timesteps in parallel (rayon). `progress`, when given, is called from worker
/// threads with the number of steps just finished (an increment, not a total). Memory grows by 8 bytes
/// per step (the step times, for the percentiles).
pub fn emulate(
    net: &Network,
    topo: &Topology,
    placement: &Placement,
    opts: &EmuOptions,
    progress: Option<&(dyn Fn(u64) + Sync)>,
) -> Result<Emulation, EmuError> {
    opts.check()?;
    let in_loop = check_inputs(net, topo, placement, opts.precompute)?;
    let (precompute, traffic, looped) = (opts.precompute, opts.traffic, !in_loop.is_empty());
    Ok(match topo.runtime {
        RuntimeModel::Loihi => {
            let model = Model::new(net, topo, placement, precompute, traffic, looped);
            run(&model, opts, progress, in_loop)
        }
        RuntimeModel::Loihi2 => {
            let model = loihi2::Model::new(net, topo, placement, precompute, traffic, looped);
            run(&model, opts, progress, in_loop)
        }
    })
}

/// Runs the steps of any time model in parallel chunks and summarises them.
fn run<M: StepModel>(
    model: &M,
    opts: &EmuOptions,
    progress: Option<&(dyn Fn(u64) + Sync)>,
    in_loop: Vec<String>,
) -> Emulation {
    let chunk = chunk_len(opts.steps);
    let chunks: Vec<Chunk> = (0..opts.steps.div_ceil(chunk))
        .into_par_iter()
        .map(|c| {
            let (start, end) = (c * chunk, opts.steps.min((c + 1) * chunk));
            let mut scratch = model.scratch();
            let mut out = Chunk {
                times_ns: Vec::with_capacity((end - start) as usize),
                pace_counts: BTreeMap::new(),
                interchip_msgs: 0.0,
                host_msgs: 0.0,
                link_msgs: vec![0.0; model.n_links()],
                phases_ns: [0.0; 4],
                energy_pj: [0.0; 7],
            };
            for step in start..end {
                let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
                rng.set_stream(step as u64);
                let s = model.step(&mut |f| f.sample(&mut rng), &mut scratch);
                out.times_ns.push(s.time_ns);
                *out.pace_counts.entry(s.pace).or_default() += 1;
                out.interchip_msgs += s.interchip_msgs;
                out.host_msgs += s.host_msgs;
                for (sum, &t) in out.phases_ns.iter_mut().zip(&s.phases_ns) {
                    *sum += t;
                }
                for (sum, &e) in out.energy_pj.iter_mut().zip(&s.energy_pj) {
                    *sum += e;
                }
                for (sum, &m) in out.link_msgs.iter_mut().zip(model.link_msgs(&scratch)) {
                    *sum += m;
                }
            }
            if let Some(p) = progress {
                p((end - start) as u64);
            }
            out
        })
        .collect();
    let analytic = model.step(&mut |f| f.mean(), &mut model.scratch());
    summarise(model, opts, chunks, analytic, in_loop)
}

/// Reduces the chunks, in step order, into the report.
fn summarise<M: StepModel>(
    model: &M,
    opts: &EmuOptions,
    chunks: Vec<Chunk>,
    analytic: StepOut,
    in_loop: Vec<String>,
) -> Emulation {
    let n = opts.steps as f64;
    let (mut total, mut interchip, mut host) = (0.0, 0.0, 0.0);
    let (mut phases, mut energy) = ([0.0f64; 4], [0.0f64; 7]);
    let mut pace_counts: BTreeMap<PaceId, u64> = BTreeMap::new();
    let mut link_msgs = vec![0.0; model.n_links()];
    let mut times = Vec::with_capacity(opts.steps as usize);
    for c in chunks {
        total += c.times_ns.iter().sum::<f64>();
        interchip += c.interchip_msgs;
        host += c.host_msgs;
        for (sum, &t) in phases.iter_mut().zip(&c.phases_ns) {
            *sum += t;
        }
        for (sum, &e) in energy.iter_mut().zip(&c.energy_pj) {
            *sum += e;
        }
        for (id, count) in c.pace_counts {
            *pace_counts.entry(id).or_default() += count;
        }
        for (sum, &s) in link_msgs.iter_mut().zip(&c.link_msgs) {
            *sum += s;
        }
        times.extend(c.times_ns.iter().map(|t| t / 1000.0));
    }
    times.sort_unstable_by(f64::total_cmp);
    // Nearest rank: the smallest time with at least q of the steps at or below it.
    let rank = |q: f64| times[((q * n).ceil() as usize).clamp(1, times.len()) - 1];

    let mut pace: Vec<Pace> = pace_counts
        .into_iter()
        .map(|(id, steps)| {
            let (what, name) = match model.pace_of(id) {
                PaceOf::Core(chip, core) => {
                    (PaceKind::Core, format!("chip {} core {}", chip.0, core.0))
                }
                PaceOf::CoreTerm(chip, core, term) => (
                    PaceKind::Core,
                    format!("chip {} core {} ({term})", chip.0, core.0),
                ),
                PaceOf::Link(a, b) => (PaceKind::Link, format!("chip {} -> chip {}", a.0, b.0)),
                PaceOf::Host => (PaceKind::Host, "host".to_string()),
                PaceOf::Barrier => (PaceKind::Barrier, "barrier".to_string()),
            };
            Pace { what, name, steps }
        })
        .collect();
    pace.sort_by(|a, b| b.steps.cmp(&a.steps).then_with(|| a.name.cmp(&b.name)));

    let mut busiest: Vec<LinkLoad> = model
        .links()
        .iter()
        .zip(&link_msgs)
        .filter(|(_, &s)| s > 0.0)
        .map(|(&(a, b), &s)| LinkLoad {
            from: a.0,
            to: b.0,
            messages: s / n,
        })
        .collect();
    busiest.sort_by(|a, b| {
        b.messages
            .total_cmp(&a.messages)
            .then_with(|| (a.from, a.to).cmp(&(b.from, b.to)))
    });
    busiest.truncate(BUSIEST_LINKS);

    // Means: phases in us, energies in uJ (1 uJ = 1e6 pJ).
    let p = phases.map(|t| t / n / 1000.0);
    let e = energy.map(|x| x / n / 1e6);
    // The largest phase; ties go to the first in NxSDK's order.
    let pace_phase = (0..PHASES.len()).fold(0, |best, i| if p[i] > p[best] { i } else { best });
    let energy_mean: f64 = e.iter().sum();
    debug_assert_eq!(ENERGY_PARTS.len(), e.len());
    let mean = (total / n / 1000.0).clamp(times[0], times[times.len() - 1]);
    Emulation {
        steps: opts.steps,
        seed: opts.seed,
        precompute: opts.precompute,
        time_per_step_us: TimeStats {
            // Rounding must not put the mean outside the times it averages.
            mean,
            p50: rank(0.5),
            p99: rank(0.99),
            max: times.last().copied().unwrap_or(0.0),
        },
        analytic_time_per_step_us: analytic.time_ns / 1000.0,
        barrier_us: model.barrier_ns() / 1000.0,
        phases_us: Phases {
            spiking: p[0],
            interchip: p[1],
            barrier: p[2],
            host: p[3],
        },
        pace_phase: PHASES[pace_phase],
        host: HostIo {
            in_loop,
            round_trip: model.host().round_trip,
            probed_values: model.host().probed_values,
        },
        energy_per_step_uj: EnergyStats {
            mean: energy_mean,
            neurons: e[0],
            spikes: e[1],
            messages: e[2],
            synops: e[3],
            mesh: e[4],
            interchip: e[5],
            host: e[6],
            constants: model.energy_constants(),
        },
        per_inference: opts.steps_per_inference.map(|k| PerInference {
            steps: k,
            time_us: mean * k as f64,
            energy_uj: energy_mean * k as f64,
        }),
        pace,
        interchip_messages_per_step: interchip / n,
        busiest_links: busiest,
        host_messages_per_step: host / n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;
    use snn_graph::{Block, BlockId, Edge};
    use snn_hardware::{ChipId, CoreId};
    use snn_placement::Slot;

    /// A network, a board and a placement.
    type Case = (Network, Topology, Placement);

    fn core(chip: u32, core: u32) -> Slot {
        Slot::Core {
            chip: ChipId(chip),
            core: CoreId(core),
        }
    }

    fn opts(steps: u32, seed: u64) -> EmuOptions {
        EmuOptions {
            steps,
            seed,
            precompute: false,
            traffic: TrafficModel::Unicast,
            steps_per_inference: None,
        }
    }

    /// The figures a test compares, rounded so that the expected line can be checked by hand.
    fn summary(e: &Emulation) -> String {
        let t = &e.time_per_step_us;
        let pace: Vec<String> = e
            .pace
            .iter()
            .take(3)
            .map(|p| format!("{} x{}", p.name, p.steps))
            .collect();
        let links: Vec<String> = e
            .busiest_links
            .iter()
            .take(2)
            .map(|l| format!("{}->{} {:.1}", l.from, l.to, l.messages))
            .collect();
        format!(
            "analytic {:.2} mean {:.2} p50 {:.2} p99 {:.2} max {:.2} barrier {:.2} | pace {} | \
             interchip {:.1} links [{}] host {:.1}",
            e.analytic_time_per_step_us,
            t.mean,
            t.p50,
            t.p99,
            t.max,
            e.barrier_us,
            pace.join(", "),
            e.interchip_messages_per_step,
            links.join(", "),
            e.host_messages_per_step,
        )
    }

    /// Emulates `case` and compares its summary with `expect`; returns the emulation for further checks.
    fn check(case: &Case, opts: EmuOptions, expect: &str) -> Emulation {
        let (net, topo, p) = case;
        let e = emulate(net, topo, p, &opts, None).unwrap();
        assert_eq!(summary(&e), expect);
        let expected = expected_time_us(net, topo, p, &opts).unwrap();
        assert_eq!(expected, e.analytic_time_per_step_us);
        let t = &e.time_per_step_us;
        assert!(t.p50 <= t.p99 && t.p99 <= t.max && t.mean <= t.max);
        e
    }

    fn within(got: f64, want: f64, tolerance: f64) {
        assert!(
            (got - want).abs() <= tolerance * want,
            "{got} is not within {}% of {want}",
            tolerance * 100.0
        );
    }

    /// SANA-FE's feed-forward case on the `loihi` preset: two layers of 1024 neurons, `per_core` neurons
    /// per block at `rate`, every neuron connected to each next-layer neuron with probability 0.1, mapped
    /// compactly (layer 1 on cores 0.., layer 2 right after it). A firing neuron sends one message to a
    /// destination core when it has at least one synapse there (probability 1 - 0.9^per_core), and causes
    /// per_core x 0.1 synaptic events there on average.
    fn feed_forward(per_core: u64, rate: f64) -> Case {
        let firing = per_core as f64 * rate;
        let spikes = firing * (1.0 - 0.9f64.powi(per_core as i32));
        let synops = firing * per_core as f64 * 0.1;
        two_layers("ff", per_core, rate, spikes, synops)
    }

    /// Two layers of 1024 neurons, `per_core` per block on Loihi core after core (layer 1 on cores
    /// 0.., layer 2 right after it), every block of the first sending `spikes` messages and `synops`
    /// synaptic events per step to every block of the second.
    fn two_layers(name: &str, per_core: u64, rate: f64, spikes: f64, synops: f64) -> Case {
        let n = 1024 / per_core;
        let mut blocks = Vec::new();
        for layer in 0..2 {
            for i in 0..n {
                let mut b = Block::new(format!("l{layer}.{i}"), per_core);
                b.rate = rate;
                blocks.push(b);
            }
        }
        let mut edges = Vec::new();
        for s in 0..n {
            for d in 0..n {
                let mut e = Edge::new(BlockId(s as u32), BlockId((n + d) as u32), spikes);
                e.synops = Some(synops);
                edges.push(e);
            }
        }
        let net = Network::new(name, blocks, edges).unwrap();
        let slots = (0..2 * n).map(|i| core(0, i as u32)).collect();
        let topo = Topology::preset("loihi").unwrap();
        (net, topo, Placement::new(slots, "compact", 0))
    }

    #[test]
    fn sana_fe_64_neurons_per_core_at_20_percent() {
        // 16 + 16 blocks on cores 0..32 = tiles 0..8 (x 0..7, y 0): barrier 1.4 us (4-28 tiles).
        // Per edge: spikes 12.8 x (1 - 0.9^64) = 12.785, synops 12.8 x 6.4 = 81.92.
        // A layer-2 core's message chain: 16 x 12.785 = 204.56 messages x 16 = 3272.9 ns, plus
        // 16 x 81.92 = 1310.72 synops x 3.8 = 4980.7 ns: 8253.6 ns. Its neuron chain is 64 x 9.7 + 12.8 x
        // 30 = 1004.8 ns; a layer-1 core's is 620.8 + 384 + 204.56 x 5.1 = 2048.0 ns. The longest tile
        // route is core 0 (tile x 0) to core 31 (tile x 7): 7 x 4.1 = 28.7 ns.
        // Expected: 8253.6 + 28.7 + 1400 = 9682.3 ns. SANA-FE: 9.86 us (simple), 10.41 us (detailed).
        // Every layer-2 core receives the same messages, so all tie and the lowest, core 16, is named.
        let e = check(
            &feed_forward(64, 0.2),
            opts(1000, 1),
            "analytic 9.68 mean 9.71 p50 9.73 p99 10.86 max 11.42 barrier 1.40 | \
             pace chip 0 core 16 x1000 | interchip 0.0 links [] host 0.0",
        );
        within(e.analytic_time_per_step_us, 9.86, 0.10);
        within(e.time_per_step_us.mean, 10.41, 0.15);
        // The step time is linear in the layer's total firing here (one core sets the pace, its load a
        // sum of draws), so the emulated mean equals the expected time up to sampling noise: the step
        // time's spread is 40.3 ns x sd(Binomial(1024, 0.2)) = 40.3 x 12.8 = 516 ns, whose standard
        // error over 1000 steps is 16 ns.
        assert!(e.time_per_step_us.mean >= e.analytic_time_per_step_us - 0.065);
    }

    #[test]
    fn sana_fe_1024_neurons_per_core() {
        // One block per layer, cores 0 and 1 of tile 0: barrier 0.6 us, no tile hop.
        // Edge: spikes 204.8 (1 - 0.9^1024 = 1), synops 204.8 x 102.4 = 20971.52.
        // Core 1's message chain: 204.8 x 16 = 3276.8 ns + 20971.52 x 3.8 = 79691.8 ns: 82968.6 ns; with
        // the barrier 83568.6 ns. SANA-FE: 83.7 us.
        let e = check(
            &feed_forward(1024, 0.2),
            opts(1000, 1),
            "analytic 83.57 mean 83.77 p50 83.65 p99 95.40 max 98.64 barrier 0.60 | \
             pace chip 0 core 1 x1000 | interchip 0.0 links [] host 0.0",
        );
        within(e.analytic_time_per_step_us, 83.7, 0.05);
        within(e.time_per_step_us.mean, 83.7, 0.05);
    }

    #[test]
    fn sana_fe_64_neurons_per_core_at_1_percent() {
        // Per edge: spikes 0.64 x 0.99882 = 0.63925, synops 0.64 x 6.4 = 4.096.
        // A layer-1 core's neuron chain: 620.8 + 0.64 x 30 + 16 x 0.63925 x 5.1 = 692.2 ns, the largest
        // expected load (a layer-2 message chain is 163.6 + 249.0 = 412.7 ns), but below the 1.4 us
        // barrier: expected 692.2 + 28.7 + 1400 = 2120.9 ns.
        // Per step, each layer-1 core costs 620.8 + f x 111.5 ns with f ~ Binomial(64, 0.01); the largest
        // f of 16 cores averages about 2.3 (P(max >= 2) = 0.90, >= 3: 0.35, >= 4: 0.06), so a step
        // takes about 620.8 + 2.3 x 111.5 + 28.7 + 1400 = 2306 ns. SANA-FE: 2.35 us. The barrier is
        // always the largest single part.
        let e = check(
            &feed_forward(64, 0.01),
            opts(1000, 1),
            "analytic 2.12 mean 2.31 p50 2.27 p99 2.50 max 2.72 barrier 1.40 | \
             pace barrier x1000 | interchip 0.0 links [] host 0.0",
        );
        within(e.time_per_step_us.mean, 2.35, 0.20);
        // Here the maximum of 16 independent loads sets the time: the mean lies well above the
        // expected-load time (Jensen's inequality).
        assert!(e.time_per_step_us.mean > e.analytic_time_per_step_us + 0.1);
    }

    /// Nahuku32's calibration workload (see `link_message_ns`): every core holds a block of 64
    /// compartments at `rate`, sending to the blocks on the next 8 cores of its chip and to the block on
    /// the same core of each neighbouring chip.
    fn board32(rate: f64) -> Case {
        let topo = Topology::preset("nahuku32").unwrap();
        let (mut blocks, mut slots, mut edges) = (Vec::new(), Vec::new(), Vec::new());
        let firing = 64.0 * rate;
        for chip in 0..32u32 {
            let (x, y) = topo.chip_xy(ChipId(chip));
            for k in 0..128u32 {
                let mut b = Block::new(format!("c{chip}.{k}"), 64);
                b.rate = rate;
                blocks.push(b);
                slots.push(core(chip, k));
                let mut dsts: Vec<u32> = (1..=8).map(|j| chip * 128 + (k + j) % 128).collect();
                for (dx, dy) in [(1i32, 0i32), (-1, 0), (0, 1), (0, -1)] {
                    let (nx, ny) = (x as i32 + dx, y as i32 + dy);
                    if (0..4).contains(&nx) && (0..8).contains(&ny) {
                        dsts.push(topo.chip_at(nx as u32, ny as u32).0 * 128 + k);
                    }
                }
                for d in dsts {
                    let spikes = firing * (1.0 - 0.9f64.powi(64));
                    let mut e = Edge::new(BlockId(chip * 128 + k), BlockId(d), spikes);
                    e.synops = Some(firing * 6.4);
                    edges.push(e);
                }
            }
        }
        let net = Network::new("board32", blocks, edges).unwrap();
        (net, topo, Placement::new(slots, "t", 0))
    }

    #[test]
    fn the_32_chip_calibration_gives_the_published_timestep() {
        // 32 chips on a 4x8 mesh, diameter 3 + 7 = 10: barrier 1800 + 10 x 192.3 = 3723 ns.
        // Each directed pair of neighbouring chips (3 x 8 + 4 x 7 = 52 pairs, 104 directed) carries 128
        // blocks x 1.28 x 0.99882 = 163.65 messages per step on average, over the one link between them:
        // 104 x 163.65 = 17019.5 inter-chip messages. With per-step draws the busiest of the 104 links
        // carries about 190, so the link time is about 190 x 10 + 96 ns = 2.0 us, above every core's
        // (about 1.3 us), and the step about 2.0 + 0.04 (tile route) + 3.72 = 5.8 us.
        // Frady et al. 2020: 5.8 us per unthrottled step on 32 chips.
        let e = check(
            &board32(0.02),
            opts(200, 1),
            "analytic 5.50 mean 5.78 p50 5.77 p99 5.95 max 5.95 barrier 3.72 | pace barrier x200 | \
             interchip 17027.5 links [0->1 166.7, 0->4 166.7] host 0.0",
        );
        within(e.time_per_step_us.mean, 5.8, 0.05);
    }

    /// Blocks `a0..a3` on chip 0 each send 50 spikes per step to each of `b0..b3` on chip `to_chip`.
    fn four_to_four(preset: &str, to_chip: u32) -> Case {
        let mut blocks = Vec::new();
        for name in ["a", "b"] {
            for i in 0..4 {
                let mut b = Block::new(format!("{name}{i}"), 100);
                b.rate = 0.5;
                blocks.push(b);
            }
        }
        let mut edges = Vec::new();
        for s in 0..4 {
            for d in 4..8 {
                edges.push(Edge::new(BlockId(s), BlockId(d), 50.0));
            }
        }
        let net = Network::new("4x4", blocks, edges).unwrap();
        let slots = (0..8)
            .map(|i| core(if i < 4 { 0 } else { to_chip }, i % 4))
            .collect();
        (
            net,
            Topology::preset(preset).unwrap(),
            Placement::new(slots, "t", 0),
        )
    }

    #[test]
    fn a_chip_to_chip_link_sets_the_pace() {
        // Link 0 -> 1 carries 16 edges x 50 = 800 messages: 800 x 10 + 96 = 8096 ns. A b core receives
        // 4 x 50 = 200 messages and synops (one per message): 200 x (16 + 3.8) = 3960 ns; an a core's
        // neuron chain is 100 x 9.7 + 50 x 30 + 200 x 5.1 = 3490 ns. Each chip uses one tile; the two
        // chips are 1 hop apart: barrier max(600, 1800 + 192.3) = 1992.3 ns. Expected: 10088.3 ns.
        // Per step the link's load is 4 x the sum of 4 draws of Binomial(100, 0.5) (sd 10 x 4 x 10 ns =
        // 400 ns), never near the cores': the link sets the pace in every step.
        check(
            &four_to_four("kapoho-bay", 1),
            opts(500, 7),
            "analytic 10.09 mean 10.08 p50 10.09 p99 11.13 max 11.33 barrier 1.99 | \
             pace chip 0 -> chip 1 x500 | interchip 799.1 links [0->1 799.1] host 0.0",
        );
        // Chip 3 of nahuku32 is 3 hops east: the three links carry the same load and tie, so the first
        // (lowest slot) is named; the latency is 3 x 96 ns and the barrier 1800 + 3 x 192.3 = 2376.9 ns.
        // Expected: 8000 + 288 + 2376.9 = 10664.9 ns.
        check(
            &four_to_four("nahuku32", 3),
            opts(500, 7),
            "analytic 10.66 mean 10.66 p50 10.66 p99 11.70 max 11.90 barrier 2.38 | \
             pace chip 0 -> chip 1 x500 | interchip 799.1 links [0->1 799.1, 1->2 799.1] host 0.0",
        );
    }

    #[test]
    fn multicast_sends_one_message_per_destination_chip() {
        // Each a sends its 50 spikes once to chip 1, replicated there to the four b cores: the link
        // carries 4 x 50 = 200 messages (2,096 ns), an a core's neuron chain is 970 + 1500 + 50 x 5.1 =
        // 2,725 ns, a b core still receives 200 messages (3,960 ns) and sets the pace. Expected:
        // 3,960 + barrier 1,992.3 = 5,952.3 ns.
        let case = four_to_four("kapoho-bay", 1);
        let (net, topo, p) = &case;
        let multicast = EmuOptions {
            traffic: TrafficModel::Multicast,
            ..opts(200, 7)
        };
        let analytic = expected_time_us(net, topo, p, &multicast).unwrap();
        assert!((analytic - 5.9523).abs() < 1e-9, "{analytic}");
        let m = emulate(net, topo, p, &multicast, None).unwrap();
        let u = emulate(net, topo, p, &opts(200, 7), None).unwrap();
        // The same draws: every source sends a quarter of its unicast messages between chips.
        let ratio = u.interchip_messages_per_step / m.interchip_messages_per_step;
        assert!((ratio - 4.0).abs() < 1e-12, "{ratio}");
        assert_eq!(m.busiest_links.len(), 1);
        assert!((m.busiest_links[0].messages - m.interchip_messages_per_step).abs() < 1e-9);
        assert_eq!(m.pace[0].name, "chip 1 core 0");
    }

    /// `in` (host) sends 100 spikes per step to `a` (core 0), which sends its firing to `probe` (host).
    fn host_io() -> Case {
        let mut a = Block::new("a", 100);
        a.rate = 0.1;
        let blocks = vec![
            Block::new("in", 100).on_host(),
            a,
            Block::new("probe", 1).on_host(),
        ];
        let edges = vec![
            Edge::new(BlockId(0), BlockId(1), 100.0),
            Edge::new(BlockId(1), BlockId(2), 10.0),
        ];
        let net = Network::new("io", blocks, edges).unwrap();
        let slots = vec![Slot::Host, core(0, 0), Slot::Host];
        (
            net,
            Topology::preset("loihi").unwrap(),
            Placement::new(slots, "t", 0),
        )
    }

    #[test]
    fn host_traffic_with_and_without_precompute() {
        // Core 0: neuron chain 100 x 9.7 + 10 x 30 + 10 x 5.1 = 1321 ns; message chain 100 x (16 + 3.8)
        // = 1980 ns. One tile: barrier 600 ns. The host phase follows: the management phase 778,000 ns,
        // a round trip 7,222,000 ns (the input is not precomputed), a's 100 compartments probed x 1,500 =
        // 150,000 ns and 110 messages x 100 = 11,000 ns: 8,161,000 ns. Expected: 8,163,580 ns. The input
        // is not drawn, so only the probe's 10 vary (sd 3 x 100 ns).
        let e = check(
            &host_io(),
            opts(500, 3),
            "analytic 8163.58 mean 8163.58 p50 8163.58 p99 8164.28 max 8164.48 barrier 0.60 | \
             pace host x500 | interchip 0.0 links [] host 110.0",
        );
        assert!(e.host.round_trip && e.host.in_loop.is_empty());
        assert_eq!(e.host.probed_values, 100);
        assert_eq!(e.pace_phase, "host");
        // With precompute the input costs nothing on the host link (its messages still reach core 0)
        // and no round trip is needed: 778,000 + 150,000 + 10 x 100 = 929,000 ns. Expected: 931,580 ns.
        let e = check(
            &host_io(),
            EmuOptions {
                precompute: true,
                ..opts(500, 3)
            },
            "analytic 931.58 mean 931.58 p50 931.58 p99 932.28 max 932.48 barrier 0.60 | \
             pace host x500 | interchip 0.0 links [] host 10.0",
        );
        assert!(!e.host.round_trip);
        // The phases sum to the step: spiking 1.98 + barrier 0.6 + host 929.0 (+ the probe's noise).
        let p = e.phases_us;
        assert_eq!(p.interchip, 0.0);
        assert!((p.spiking - 1.98).abs() < 1e-9 && (p.barrier - 0.6).abs() < 1e-9);
        let sum = p.spiking + p.interchip + p.barrier + p.host;
        assert!((sum - e.time_per_step_us.mean).abs() < 1e-9, "{sum}");
    }

    /// `host_io` with the probe feeding a host block that sends back to `a`: the host is in the loop.
    fn host_loop_case() -> Case {
        let (net, topo, _) = host_io();
        let mut blocks = net.blocks().to_vec();
        blocks.push(Block::new("offchip", 10).on_host());
        let mut edges = net.edges().to_vec();
        edges.push(Edge::new(BlockId(2), BlockId(3), 10.0));
        edges.push(Edge::new(BlockId(3), BlockId(1), 10.0));
        let net = Network::new("loop", blocks, edges).unwrap();
        let slots = vec![Slot::Host, core(0, 0), Slot::Host, Slot::Host];
        (net, topo, Placement::new(slots, "t", 0))
    }

    #[test]
    fn a_host_loop_pays_a_round_trip_every_step_and_cannot_be_precomputed() {
        let (net, topo, p) = host_loop_case();
        check_err(
            &(net.clone(), topo.clone(), p.clone()),
            EmuOptions {
                precompute: true,
                ..opts(10, 0)
            },
            "inputs cannot be precomputed: the host is in the loop: 2 host blocks (\"probe\", \
             \"offchip\") take spikes from the chips and send spikes back to them, so the network runs \
             one step at a time (leave out --precompute, or move these blocks on chip)",
        );
        let e = emulate(&net, &topo, &p, &opts(100, 0), None).unwrap();
        assert_eq!(e.host.in_loop, vec!["probe", "offchip"]);
        assert!(e.host.round_trip);
        // The management phase 778 us, the round trip 7,222 us, a's 100 probed compartments x 1.5 us and
        // about 130 host messages x 0.1 us: about 8,163 us.
        assert!(
            e.phases_us.host > 8_150.0 && e.phases_us.host < 8_180.0,
            "{}",
            e.phases_us.host
        );
    }

    #[test]
    fn energy_is_sana_fe_counts_times_per_event_energies() {
        // SANA-FE's energy is a sum of event counts x the per-event energies of its Loihi architecture
        // file (the defaults of the cost model). On the 1024-per-core case, by hand: 2048 compartments x
        // (51.2 + 21.6) = 149,094.4 pJ; 2 x 204.8 spikes fired x 69.3 = 28,385.28 pJ; 204.8 messages
        // sent x 111 = 22,732.8 pJ (received: 0 pJ); 20,971.52 synaptic events x 35.5 = 744,488.96 pJ;
        // cores 0 and 1 share tile 0, so no tile hop. Total: 944,701.44 pJ = 0.9447 uJ per step.
        let (net, topo, p) = feed_forward(1024, 0.2);
        let e = emulate(&net, &topo, &p, &opts(2000, 1), None).unwrap();
        let en = e.energy_per_step_uj;
        within(en.neurons, 0.1490944, 1e-9);
        // The draws vary the rest: within 1% of the expected counts (relative tolerances).
        within(en.spikes, 0.02838528, 0.01);
        within(en.messages, 0.0227328, 0.01);
        within(en.synops, 0.74448896, 0.01);
        assert_eq!((en.mesh, en.interchip, en.host), (0.0, 0.0, 0.0));
        within(en.mean, 0.94470144, 0.01);
        let parts = en.neurons + en.spikes + en.messages + en.synops;
        assert!((parts - en.mean).abs() < 1e-12);
        // Per inference: the mean times the steps.
        let e = emulate(
            &net,
            &topo,
            &p,
            &EmuOptions {
                steps_per_inference: Some(30),
                ..opts(100, 1)
            },
            None,
        )
        .unwrap();
        let inf = e.per_inference.unwrap();
        assert_eq!(inf.steps, 30);
        assert!((inf.energy_uj - 30.0 * e.energy_per_step_uj.mean).abs() < 1e-9);
        assert!((inf.time_us - 30.0 * e.time_per_step_us.mean).abs() < 1e-9);
    }

    /// The network `benches/sanafe/energy.py` runs in SANA-FE, as SANA-FE counted its events: two layers
    /// of 1024 neurons, `per_core` per block, each firing 339,968 times in 2,048,000 neuron-steps
    /// (rate 0.166); `packets` messages and 17,434.648 synaptic events per step between the layers, spread
    /// evenly over the block pairs.
    fn sana_fe_run(per_core: u64, packets: f64) -> Case {
        let n = 1024 / per_core;
        let pairs = (n * n) as f64;
        let rate = 339_968.0 / 2_048_000.0;
        two_layers(
            "sanafe",
            per_core,
            rate,
            packets / pairs,
            17_434.648 / pairs,
        )
    }

    #[test]
    fn energy_agrees_with_sana_fe() {
        // SANA-FE 2.2.9 (`benches/sanafe/energy.py`, 1000 steps, its Loihi architecture): 1024 neurons
        // per core: 810.45 uJ in total, 0.8105 uJ per step (synapse 0.6189, soma 0.1727, network
        // 0.0189); 64 per core: 1.1156 uJ per step (network 0.3240, with 2,717.088 packets per step).
        for (per_core, packets, sana_fe) in [(1024, 169.984, 0.8104524), (64, 2717.088, 1.1155969)]
        {
            let (net, topo, p) = sana_fe_run(per_core, packets);
            let e = emulate(&net, &topo, &p, &opts(2000, 1), None).unwrap();
            // Within 2%: the draws (SANA-FE's neurons fire on a fixed schedule, ours by Binomial draws)
            // and, at 64 per core, the tile layout: SANA-FE numbers tiles down its mesh's columns (tile
            // 4 is at x 1), this topology along its rows (tile 4 at x 4), so our messages make 4 east
            // hops on average (12 pJ) where SANA-FE's make 1 east and 1.25 north-south (8.25 pJ).
            within(e.energy_per_step_uj.mean, sana_fe, 0.02);
        }
    }

    #[test]
    fn tile_hops_and_chip_links_cost_energy() {
        // four_to_four on Kapoho Bay: 16 edges x 50 spikes cross 1 chip hop: 800 x 320 pJ = 0.256 uJ.
        // Cores 0..3 share tile 0 on both chips: no tile hop.
        let (net, topo, p) = four_to_four("kapoho-bay", 1);
        let e = emulate(&net, &topo, &p, &opts(400, 1), None).unwrap();
        let en = e.energy_per_step_uj;
        within(en.interchip, 0.256, 0.02);
        assert_eq!(en.mesh, 0.0);
        // Everything on chip 0, the b blocks on tile 1 (cores 4..7): 800 messages x 1 east hop x 3 pJ.
        let slots = (0..8).map(|i| core(0, i)).collect();
        let e = emulate(
            &net,
            &topo,
            &Placement::new(slots, "t", 0),
            &opts(400, 1),
            None,
        )
        .unwrap();
        within(e.energy_per_step_uj.mesh, 0.0024, 0.02);
        assert_eq!(e.energy_per_step_uj.interchip, 0.0);
    }

    /// A seeded random network on `preset`: `n` blocks of 16 to 1024 compartments at rates up to 0.3,
    /// every tenth a host input of 4 compartments, each sending its firing to 4 random on-chip blocks;
    /// on-chip block i on chip i % chips, core i / chips.
    fn random_case(seed: u64, n: u32, preset: &str) -> Case {
        use rand::SeedableRng;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let topo = Topology::preset(preset).unwrap();
        let (mut blocks, mut slots, mut edges) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..n {
            let mut b = Block::new(format!("b{i}"), rng.random_range(16..=1024));
            b.rate = rng.random_range(0.0..0.3);
            if i % 10 == 9 {
                b.compartments = 4;
                b = b.on_host();
                slots.push(Slot::Host);
            } else {
                slots.push(core(i % topo.n_chips(), i / topo.n_chips()));
            }
            let firing = b.compartments as f64 * b.rate;
            blocks.push(b);
            for _ in 0..4 {
                let dst = rng.random_range(0..n);
                let dst = if dst % 10 == 9 { dst - 1 } else { dst };
                let mut e = Edge::new(BlockId(i), BlockId(dst), firing);
                e.synops = Some(firing * rng.random_range(1.0..20.0));
                edges.push(e);
            }
        }
        let net = Network::new("random", blocks, edges).unwrap();
        (net, topo, Placement::new(slots, "t", 0))
    }

    #[test]
    fn same_seed_same_emulation_at_1_and_2_threads() {
        let (net, topo, p) = random_case(5, 300, "nahuku8");
        // Precomputed inputs: no host phase, so cores and links compete for the pace.
        let o = |seed| EmuOptions {
            precompute: true,
            ..opts(3000, seed)
        };
        let run = |threads, seed| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| emulate(&net, &topo, &p, &o(seed), None).unwrap())
        };
        let one = run(1, 11);
        let two = run(2, 11);
        assert_eq!(one, two);
        let json = |e: &Emulation| serde_json::to_string(e).unwrap();
        assert_eq!(json(&one), json(&two));
        assert_ne!(one, run(2, 12));
        // Links and cores both set the pace in some steps on this net.
        assert!(one.pace.len() > 1, "{:?}", one.pace);
        assert!(!one.busiest_links.is_empty());
    }

    #[test]
    fn progress_counts_every_step() {
        use std::sync::atomic::{AtomicU64, Ordering};
        let (net, topo, p) = random_case(1, 50, "kapoho-bay");
        let done = AtomicU64::new(0);
        let progress = |n: u64| {
            done.fetch_add(n, Ordering::Relaxed);
        };
        emulate(&net, &topo, &p, &opts(1000, 1), Some(&progress)).unwrap();
        assert_eq!(done.load(Ordering::Relaxed), 1000);
    }

    /// The standard deviation of `xs`.
    fn sd(xs: &[f64]) -> f64 {
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (xs.len() - 1) as f64).sqrt()
    }

    #[test]
    fn the_mean_converges_and_stays_above_the_expected_time() {
        for case in [feed_forward(64, 0.01), random_case(2, 200, "nahuku8")] {
            let (net, topo, p) = &case;
            let analytic = expected_time_us(net, topo, p, &EmuOptions::default()).unwrap();
            let means = |steps| -> Vec<f64> {
                (0..8)
                    .map(|seed| {
                        let e = emulate(net, topo, p, &opts(steps, seed), None).unwrap();
                        e.time_per_step_us.mean
                    })
                    .collect()
            };
            let (short, long) = (means(100), means(1600));
            // 16 times the steps: a quarter of the spread, in expectation.
            assert!(sd(&long) < sd(&short) / 2.0, "{short:?} {long:?}");
            // The step time is convex in the draws (a maximum of linear loads plus constants), so its
            // expectation is at least the expected-load time (Jensen); a finite run's mean can fall
            // below it only by sampling noise, when one load dominates.
            for m in [&short, &long] {
                let noise = 4.0 * sd(m);
                assert!(
                    m.iter().all(|&m| m >= analytic - noise),
                    "{m:?} < {analytic}"
                );
            }
        }
        // On the 1%-rate SANA-FE case the maximum of 16 independent loads sets the time: every mean lies
        // clearly above.
        let (net, topo, p) = feed_forward(64, 0.01);
        let analytic = expected_time_us(&net, &topo, &p, &EmuOptions::default()).unwrap();
        for seed in 0..8 {
            let e = emulate(&net, &topo, &p, &opts(100, seed), None).unwrap();
            assert!(e.time_per_step_us.mean > analytic + 0.1);
        }
    }

    /// Emulates and compares the error message with `expect`.
    fn check_err(case: &Case, opts: EmuOptions, expect: &str) {
        let (net, topo, p) = case;
        let got = emulate(net, topo, p, &opts, None).map(|_| ());
        assert_eq!(got.map_err(|e| e.to_string()), Err(expect.to_string()));
    }

    #[test]
    fn bad_input_is_an_error_naming_the_item() {
        let (net, topo, _) = host_io();
        let place = |slots| (net.clone(), topo.clone(), Placement::new(slots, "t", 0));
        check_err(
            &place(vec![Slot::Host]),
            opts(10, 0),
            "the placement is invalid: the placement has 1 entries for a network of 3 blocks",
        );
        check_err(
            &place(vec![Slot::Host, core(0, 128), Slot::Host]),
            opts(10, 0),
            "the placement is invalid: block \"a\" is placed on core 128 of chip 0, but a chip has \
             cores 0..128",
        );
        check_err(
            &place(vec![Slot::Host, core(1, 0), Slot::Host]),
            opts(10, 0),
            "the placement is invalid: block \"a\" is placed on chip 1, but only chips 0..1 may be used",
        );
        check_err(
            &place(vec![core(0, 1), core(0, 0), Slot::Host]),
            opts(10, 0),
            "the placement is invalid: block \"in\" is a host block but is placed on chip 0, core 1",
        );
        check_err(
            &host_io(),
            opts(0, 0),
            "option \"steps\" must be between 1 and 10000000, got 0",
        );
        check_err(
            &host_io(),
            opts(MAX_STEPS + 1, 0),
            "option \"steps\" must be between 1 and 10000000, got 10000001",
        );
        let (net, mut topo, p) = host_io();
        topo.cost.link_hop_ns = f64::NAN;
        check_err(
            &(net, topo, p),
            opts(10, 0),
            "the topology's cost model is invalid: field \"cost.link_hop_ns\" must be a finite \
             number >= 0 and at most 1e9 ns (a second), got NaN",
        );
    }

    proptest::proptest! {
        /// Any network and any placement, valid or not: an error or a consistent emulation, no panic.
        #[test]
        fn never_panics(
            blocks in proptest::collection::vec((1u64..1500, 0.0f64..1.5, proptest::bool::ANY), 1..10),
            edges in proptest::collection::vec((0u32..10, 0u32..10, 0.0f64..50.0), 0..20),
            slots in proptest::collection::vec(proptest::option::of((0u32..3, 0u32..130)), 1..11),
            steps in 1u32..40,
            precompute in proptest::bool::ANY,
            corrupt in proptest::bool::weighted(0.2),
        ) {
            let n = blocks.len() as u32;
            let blocks: Vec<Block> = blocks
                .iter()
                .enumerate()
                .map(|(i, &(c, rate, host))| {
                    let mut b = Block::new(format!("b{i}"), c);
                    b.rate = rate;
                    if host { b.on_host() } else { b }
                })
                .collect();
            let edges = edges
                .iter()
                .map(|&(s, d, w)| Edge::new(BlockId(s % n), BlockId(d % n), w))
                .collect();
            let net = Network::new("p", blocks, edges).unwrap();
            // Mostly a placement of the right kind (each block on the host or a core as it should be, on
            // existing chips and cores); sometimes the raw slots, of any length.
            let slots: Vec<Slot> = if corrupt {
                slots
                    .iter()
                    .map(|s| s.map_or(Slot::Host, |(chip, k)| core(chip, k)))
                    .collect()
            } else {
                net.blocks()
                    .iter()
                    .zip(slots.iter().cycle())
                    .map(|(b, s)| match (b.host, s) {
                        (true, _) => Slot::Host,
                        (false, Some((chip, k))) => core(chip % 2, k % 128),
                        (false, None) => core(0, 0),
                    })
                    .collect()
            };
            let topo = Topology::preset("kapoho-bay").unwrap();
            let p = Placement::new(slots, "t", 0);
            let o = EmuOptions { steps, seed: 1, precompute, ..EmuOptions::default() };
            let got = emulate(&net, &topo, &p, &o, None);
            // Right-kind placements fail only on a core's capacity (compartments or blocks per core).
            if let (false, Err(e)) = (corrupt, &got) {
                proptest::prop_assert!(
                    matches!(
                        e,
                        EmuError::Placement(
                            PlacementError::CoreOverflow { .. } | PlacementError::BlockTooBig { .. }
                        ) | EmuError::HostLoop { .. }
                    ),
                    "{e}"
                );
            }
            if let Ok(e) = got {
                let t = e.time_per_step_us;
                proptest::prop_assert!(t.p50 <= t.p99 && t.p99 <= t.max && t.mean <= t.max);
                proptest::prop_assert!(e.analytic_time_per_step_us.is_finite());
                proptest::prop_assert_eq!(e.pace.iter().map(|p| p.steps).sum::<u64>(), steps as u64);
                let p = e.phases_us;
                let sum = p.spiking + p.interchip + p.barrier + p.host;
                proptest::prop_assert!((sum - t.mean).abs() <= 1e-9 * t.mean.max(1.0), "{} {}", sum, t.mean);
                proptest::prop_assert!(e.energy_per_step_uj.mean.is_finite() && e.energy_per_step_uj.mean >= 0.0);
            }
        }
    }
}
