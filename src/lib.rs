//! `snn_place`: the library a compiler pipeline calls to place a spiking network on neuromorphic hardware
//! and learn what the placement costs.
//!
//! The main entry point is [`place`]: a [`Network`], a [`Topology`] and [`Options`] in, a validated
//! [`Placement`] and its [`Report`] out. The workspace crates are re-exported: [`graph`] (networks and
//! `snn-net/1`), [`hardware`] (topologies and presets), [`placement`] (placements, the validator and the
//! traffic figures), [`alloc`] (the allocators), [`emu`] (the emulator: time per timestep) and
//! [`frontend`] (layer specs, Keras and NIR import, generators). [`emulate`] runs the emulator and fills a report's time figures;
//! [`import_nir`] splits a NIR model into blocks that fit a topology's cores.
//!
//! ```
//! use snn_place::graph::{Block, BlockId, Edge, Network};
//! use snn_place::hardware::Topology;
//! use snn_place::{place, Options};
//!
//! // A host input feeding two layers of two blocks each, then a host probe.
//! let mut blocks = vec![Block::new("input", 784).on_host()];
//! for name in ["l1.0", "l1.1", "l2.0", "l2.1"] {
//!     blocks.push(Block::new(name, 512));
//! }
//! blocks.push(Block::new("probe", 10).on_host());
//! let e = |s, d, spikes| Edge::new(BlockId(s), BlockId(d), spikes);
//! let edges = vec![
//!     e(0, 1, 20.0), e(0, 2, 20.0),
//!     e(1, 3, 10.0), e(1, 4, 5.0), e(2, 3, 5.0), e(2, 4, 10.0),
//!     e(3, 5, 1.0), e(4, 5, 1.0),
//! ];
//! let net = Network::new("tiny", blocks, edges)?;
//!
//! // Kapoho Bay has two chips; round-robin puts l1.0 and l2.0 on chip 0, l1.1 and l2.1 on chip 1.
//! let topo = Topology::preset("kapoho-bay").unwrap();
//! let opts = Options { allocator: "round-robin".into(), ..Options::default() };
//! let (placement, report) = place(&net, &topo, &opts)?;
//! assert_eq!(report.chips_used, 2);
//! assert_eq!(report.interchip_spikes, 5.0 + 5.0);
//! assert_eq!(report.host_spikes, 20.0 + 20.0 + 1.0 + 1.0);
//! assert_eq!(placement.allocator, "round-robin");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::time::Instant;

mod advise;
mod write;

pub use advise::{advice_json, advise, moved_on_chip, Advice, AdviseOptions, Figures, Remedy};
pub use write::{write_atomic, write_atomic_unless, write_net_to};

pub use snn_alloc as alloc;
pub use snn_emu as emu;
pub use snn_frontend as frontend;
pub use snn_graph as graph;
pub use snn_hardware as hardware;
pub use snn_placement as placement;
pub use snn_report as report;

pub use snn_alloc::{AllocError, Allocator, Ctx};
pub use snn_graph::Network;
pub use snn_hardware::Topology;
pub use snn_placement::{Placement, PlacementError, Report, Rules};

/// How to place a network.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// The allocator's registry name (see [`alloc::ALLOCATORS`]).
    pub allocator: String,
    /// Refiners to run after the allocator, in order (see [`alloc::REFINERS`]), e.g. `["fm"]`.
    pub refine: Vec<String>,
    /// Seeds the allocator's RNG; the same seed gives the same placement.
    pub seed: u64,
    /// Use at most this many chips of the topology (nengo-loihi's `n_chips`); `None`: all of them.
    pub chips: Option<u32>,
    /// When set, allocators that improve over time stop at this instant with their best result.
    pub deadline: Option<Instant>,
    /// What the `ilp` allocator and refiner minimise.
    pub objective: alloc::Objective,
    /// Blocks per window of the `ilp` refiner (at least 1).
    pub window: usize,
    /// The solver behind the `ilp` allocator and refiner.
    pub solver: alloc::ilp::Backend,
    /// Several blocks may share a core (see [`alloc::pack`]): every allocator but `greedy` and
    /// `round-robin` (nengo-loihi's one block per core) then places packed cores.
    pub pack: bool,
    /// The traffic model the traffic-aware allocators, refiners and the ILP minimise.
    pub traffic: hardware::TrafficModel,
    /// Spread over every usable chip (all of `chips`) instead of the fewest that hold the network
    /// (nengo-loihi's `PartitionInterchip`); traffic-aware allocators only.
    pub spread: bool,
    /// The Mt-KaHyPar preset of the `mtkahypar` allocator (cargo feature `mtkahypar`).
    pub mtk_preset: alloc::MtkPreset,
    /// How far `portfolio` refines the cut of large nets ([`alloc::Effort`]).
    pub effort: alloc::Effort,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            allocator: DEFAULT_ALLOCATOR.into(),
            refine: Vec::new(),
            seed: 0,
            chips: None,
            deadline: None,
            objective: alloc::Objective::default(),
            window: alloc::ilp::DEFAULT_WINDOW,
            solver: alloc::ilp::Backend::Microlp,
            pack: false,
            traffic: hardware::TrafficModel::Unicast,
            spread: false,
            mtk_preset: alloc::MtkPreset::default(),
            effort: alloc::Effort::default(),
        }
    }
}

/// The allocator used when none is named.
pub const DEFAULT_ALLOCATOR: &str = "portfolio";

/// Whether any of these allocator or candidate names (`metis+ilp`) runs the ILP, which always runs
/// against a clock.
pub fn uses_ilp<'a>(names: impl IntoIterator<Item = &'a str>) -> bool {
    names.into_iter().any(|n| n.split('+').any(|p| p == "ilp"))
}

/// When time-limited allocators stop: `time_limit` seconds from now, else the ILP's default limit
/// ([`alloc::ilp::DEFAULT_TIME_LIMIT_S`]) when one of `names` runs the ILP, else never.
pub fn deadline<'a>(
    time_limit: Option<f64>,
    names: impl IntoIterator<Item = &'a str>,
) -> Option<Instant> {
    let limit = time_limit.or(uses_ilp(names).then_some(alloc::ilp::DEFAULT_TIME_LIMIT_S));
    limit.map(|s| Instant::now() + std::time::Duration::from_secs_f64(s))
}

/// The per-core limits of `topo`, as the front ends (`build`, Keras and NIR import) split layers by them.
pub fn frontend_limits(topo: &Topology) -> frontend::Limits {
    let c = topo.core_limits();
    frontend::Limits {
        compartments: c.compartments,
        in_axons: c.in_axons,
        out_axons: c.out_axons,
        synapse_bits: c.synapse_bits,
    }
}

/// The network a saved placement (`snn-placement/1` text) names when that is not `net`: the usual
/// mistake behind a placement that does not match its network.
pub fn placement_names_other_net(text: &[u8], net: &Network) -> Option<String> {
    serde_json::from_slice::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v["network"].as_str().map(str::to_string))
        .filter(|name| *name != net.name)
}

/// `--time-limit`: more than 0 and at most a day.
pub fn check_time_limit(s: f64) -> Result<f64, String> {
    if s.is_finite() && s > 0.0 && s <= 86_400.0 {
        Ok(s)
    } else {
        Err(format!(
            "must be more than 0 and at most 86400 seconds (a day), got {s}"
        ))
    }
}

/// The report of a saved placement about to be emulated: the placement checked against `topo` (every
/// chip usable, cores may be shared), its traffic figures under `traffic`, and `pack` set when a core
/// holds several blocks.
pub fn saved_placement_report(
    net: &Network,
    topo: &Topology,
    placement: &Placement,
    traffic: hardware::TrafficModel,
) -> Result<Report, PlacementError> {
    let rules = Rules {
        chips: topo.n_chips(),
        packing: true,
    };
    placement.validate(net, topo, &rules)?;
    let mut report = Report::new(net, topo, placement, 0.0);
    report.traffic = traffic.name();
    // A core holding several blocks: fewer cores than on-chip blocks.
    report.pack = report.cores_used < net.n_on_chip();
    Ok(report)
}

/// Why [`place`] returned no placement.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The options are wrong (an unknown allocator, more chips than the topology has).
    #[error("{0}")]
    Options(String),
    /// The allocator could not place the network: see [`AllocError`] (`Infeasible` means "does not fit").
    #[error(transparent)]
    Alloc(#[from] AllocError),
    /// The allocator returned a placement the validator rejects: a bug in that allocator.
    #[error("allocator {allocator} made an invalid placement (a bug): {source}")]
    Invalid {
        allocator: String,
        #[source]
        source: PlacementError,
    },
    /// The emulator could not run (a bad option such as `steps` 0, a bad cost model).
    #[error(transparent)]
    Emu(#[from] emu::EmuError),
}

impl Error {
    /// Whether the error means the network does not fit the (usable part of the) topology.
    pub fn is_infeasible(&self) -> bool {
        matches!(self, Error::Alloc(AllocError::Infeasible { .. }))
    }
}

/// The validator's rules for these options on this topology.
pub fn rules(topo: &Topology, opts: &Options) -> Result<Rules, Error> {
    let chips = match opts.chips {
        None => topo.n_chips(),
        Some(0) => return Err(Error::Options("--chips must be at least 1".into())),
        Some(n) if n > topo.n_chips() => {
            return Err(Error::Options(format!(
                "--chips {n} is more than {} has ({})",
                topo.name,
                topo.n_chips()
            )))
        }
        Some(n) => n,
    };
    Ok(Rules {
        chips,
        packing: opts.pack,
    })
}

/// The allocators bound to nengo-loihi's one block per core, which `--pack` leaves as they are.
pub const UNPACKABLE: &[&str] = &["greedy", "round-robin"];

/// The allocator of `opts`: its pipeline, wrapped in [`alloc::Packed`] with `pack`.
fn build_allocator(opts: &Options) -> Result<Box<dyn Allocator>, Error> {
    let objective = opts.objective.under(opts.traffic).map_err(Error::Options)?;
    let ilp = alloc::IlpConfig {
        objective,
        window: opts.window,
        backend: opts.solver,
        ..alloc::IlpConfig::default()
    };
    let allocator = alloc::pipeline_configured(
        &opts.allocator,
        &opts.refine,
        &ilp,
        opts.mtk_preset,
        opts.effort,
    )
    .map_err(|e| Error::Options(e.to_string()))?;
    // Only `portfolio` has an effort to set.
    if opts.effort != alloc::Effort::default() && opts.allocator != "portfolio" {
        return Err(Error::Options(format!(
            "--effort {} is run by --allocator portfolio only, not {}",
            opts.effort.name(),
            opts.allocator
        )));
    }
    // What honours --objective: the ILP (allocator or refiner), and portfolio for `hops`.
    let honoured = opts.allocator == "ilp"
        || opts.refine.iter().any(|r| r == "ilp")
        || (["portfolio", "mtkahypar"].contains(&opts.allocator.as_str())
            && objective == alloc::Objective::Hops);
    if !honoured
        && !matches!(
            objective,
            alloc::Objective::Interchip | alloc::Objective::Multicast
        )
    {
        return Err(Error::Options(format!(
            "--objective {} is not minimised by --allocator {}: use portfolio or mtkahypar (hops) \
             or ilp, or --refine ilp (hops, max-link)",
            objective.name(),
            opts.allocator
        )));
    }
    if opts.allocator == "mtkahypar"
        && objective == alloc::Objective::Hops
        && opts.mtk_preset == alloc::MtkPreset::LargeK
    {
        return Err(Error::Options(
            "--objective hops is not minimised by --mtk-preset large-k: Mt-KaHyPar maps onto the mesh \
             with its other presets only"
                .to_string(),
        ));
    }
    if opts.spread && UNPACKABLE.contains(&opts.allocator.as_str()) {
        return Err(Error::Options(format!(
            "--spread does not apply to {}: it fixes the chip order itself (spread with portfolio, \
             greedy-interchip, metis or ilp)",
            opts.allocator
        )));
    }
    if !opts.pack {
        return Ok(allocator);
    }
    if UNPACKABLE.contains(&opts.allocator.as_str()) {
        return Err(Error::Options(format!(
            "--pack does not apply to {}: it keeps nengo-loihi's one block per core (pack with \
             portfolio, greedy-interchip, metis or ilp)",
            opts.allocator
        )));
    }
    Ok(Box::new(alloc::Packed { inner: allocator }))
}

/// Places `net` on `topo` with the allocator `opts` names, checks the result with the one validator, and
/// computes the traffic report (`time_per_step_us` is left empty: that is the emulator's figure).
pub fn place(net: &Network, topo: &Topology, opts: &Options) -> Result<(Placement, Report), Error> {
    if opts.window == 0 {
        return Err(Error::Options("--window must be at least 1 block".into()));
    }
    let allocator = build_allocator(opts)?;
    let rules = rules(topo, opts)?;
    let mut ctx = Ctx::new(opts.seed, rules);
    ctx.deadline = opts.deadline;
    ctx.traffic = opts.traffic;
    ctx.spread = opts.spread;
    let start = Instant::now();
    let placement = allocator.allocate(net, topo, &mut ctx)?;
    let elapsed = start.elapsed().as_secs_f64();
    placement
        .validate(net, topo, &rules)
        .map_err(|source| Error::Invalid {
            allocator: allocator.name().to_string(),
            source,
        })?;
    let mut report = Report::new(net, topo, &placement, elapsed);
    report.traffic = opts.traffic.name();
    report.pack = opts.pack;
    report.ilp = ctx.ilp.as_ref().map(ilp_json);
    Ok((placement, report))
}

/// The report's `ilp` object: the objective, how the run ended, the start and result values, the
/// lower bound and gap (whole-network model only) and the windows tried and kept.
fn ilp_json(s: &alloc::IlpStats) -> serde_json::Value {
    serde_json::json!({
        "objective": s.objective.name(),
        "status": s.status.name(),
        "start": s.start,
        "value": s.value,
        "bound": s.bound,
        "gap": s.gap(),
        "windows_tried": s.windows_tried,
        "windows_improved": s.windows_improved,
    })
}

/// Emulates `opts.steps` timesteps of `placement` (see [`emu::emulate`]) and fills `report`'s
/// `time_per_step_us` and `emulation` object with the result, which it also returns.
pub fn emulate(
    net: &Network,
    topo: &Topology,
    placement: &Placement,
    opts: &emu::EmuOptions,
    report: &mut Report,
    progress: Option<&(dyn Fn(u64) + Sync)>,
) -> Result<emu::Emulation, emu::EmuError> {
    let em = emu::emulate(net, topo, placement, opts, progress)?;
    report.time_per_step_us = Some(em.time_per_step_us.mean);
    report.energy_per_step_uj = Some(em.energy_per_step_uj.mean);
    report.emulation = Some(serde_json::to_value(&em).expect("an emulation serialises"));
    Ok(em)
}

/// What [`compare`] and [`place_auto`] run.
#[derive(Clone, Debug, PartialEq)]
pub struct CompareOptions {
    /// Candidates in the order asked for: an allocator name, or `allocator+refiner+...` (e.g.
    /// `metis+fm`), with `+pack` for `--pack` and `+hops` for `--objective hops` (`portfolio+hops`).
    /// Empty: [`AUTO_CANDIDATES`].
    pub candidates: Vec<String>,
    /// The placement options every candidate shares (seed, chips, deadline, ILP settings); its
    /// `allocator` and `refine` are ignored.
    pub place: Options,
    /// How every placement is emulated (its `traffic` is `place.traffic`'s).
    pub emu: emu::EmuOptions,
    /// Also run every candidate that can pack (not [`UNPACKABLE`]) with `--pack`, as `<candidate>+pack`
    /// right after it, so packed and unpacked rows sit side by side.
    pub pack: bool,
}

/// The candidates `--allocator auto` tries, and `compare` without `--allocators`: every allocator but the
/// ILP (slow by design), and METIS with FM refinement.
pub const AUTO_CANDIDATES: &[&str] = &[
    "portfolio",
    "greedy",
    "round-robin",
    "greedy-interchip",
    "metis",
    "metis+fm",
];

/// Imports the NIR file at `path` (the Neuromorphic Intermediate Representation, as snnTorch, Norse,
/// Sinabs, Rockpool, Spyx and lava-dl export it), each population split into blocks that fit one core of
/// `topo`. The network is named after the file's stem.
pub fn import_nir(
    path: &std::path::Path,
    topo: &Topology,
    opts: &frontend::NirOptions,
) -> Result<frontend::NirImport, frontend::FrontendError> {
    let name = path
        .file_stem()
        .map_or_else(|| "nir".to_string(), |s| s.to_string_lossy().into_owned());
    frontend::import_nir(path, &name, &frontend_limits(topo), opts)
}

/// Every registered allocator, then `metis+fm`: what `--allocators all` expands to.
pub fn all_candidates() -> Vec<String> {
    let mut v: Vec<String> = alloc::ALLOCATORS.iter().map(|a| a.0.to_string()).collect();
    v.push("metis+fm".into());
    v
}

/// The candidates as asked for: `all` alone expands to [`all_candidates`]; nothing, to the default
/// ([`AUTO_CANDIDATES`], chosen by [`compare`]).
pub fn candidates(asked: &[String]) -> Result<Vec<String>, Error> {
    if !asked.iter().any(|a| a == "all") {
        return Ok(asked.to_vec());
    }
    if asked.len() > 1 {
        return Err(Error::Options(
            "--allocators all cannot be combined with other names".into(),
        ));
    }
    Ok(all_candidates())
}

/// When no candidate of a comparison placed the network: `Some(true)` when every one failed because
/// it does not fit, `Some(false)` for other failures; `None` when one placed it.
pub fn none_placed(rows: &[report::Row]) -> Option<bool> {
    if rows.iter().any(|r| r.placed().is_some()) {
        return None;
    }
    Some(rows.iter().all(|r| match &r.outcome {
        report::Outcome::Failed(e) => e.starts_with("does not fit"),
        report::Outcome::Placed(_) => false,
    }))
}

/// A candidate of [`compare`] taken apart: `metis+fm+pack` is METIS, the refiner `fm`, packed;
/// `portfolio+hops` is `portfolio` with `--objective hops`.
struct Candidate {
    allocator: String,
    refine: Vec<String>,
    pack: bool,
    hops: bool,
}

impl Candidate {
    fn parse(name: &str) -> Candidate {
        let mut parts = name.split('+').map(str::to_string);
        let allocator = parts.next().unwrap_or_default();
        let (mut pack, mut hops, mut refine) = (false, false, Vec::new());
        for p in parts {
            match p.as_str() {
                "pack" => pack = true,
                "hops" => hops = true,
                _ => refine.push(p),
            }
        }
        Candidate {
            allocator,
            refine,
            pack,
            hops,
        }
    }

    /// The placement options of this candidate: `base`'s with its allocator, refiners, packing and
    /// objective; `base`'s effort for `portfolio` only (the others have none to set).
    fn options(self, base: &Options) -> Options {
        let effort = if self.allocator == "portfolio" {
            base.effort
        } else {
            alloc::Effort::default()
        };
        Options {
            effort,
            allocator: self.allocator,
            refine: self.refine,
            pack: self.pack,
            objective: if self.hops {
                alloc::Objective::Hops
            } else {
                base.objective
            },
            ..base.clone()
        }
    }
}

/// The candidates [`compare`] runs, in order (with `pack`, each one that can pack followed by its
/// `+pack` twin), after checking the options before anything runs: known names (an unknown one lists
/// the known ones), no duplicates, emulator options in range.
pub fn compare_candidates(opts: &CompareOptions) -> Result<Vec<String>, Error> {
    opts.emu.check()?;
    let asked: Vec<String> = if opts.candidates.is_empty() {
        AUTO_CANDIDATES.iter().map(|s| s.to_string()).collect()
    } else {
        opts.candidates.clone()
    };
    let mut names = Vec::with_capacity(asked.len() * 2);
    for name in asked {
        let c = Candidate::parse(&name);
        let also = opts.pack && !c.pack && !UNPACKABLE.contains(&c.allocator.as_str());
        names.push(name.clone());
        if also {
            names.push(format!("{name}+pack"));
        }
    }
    for (i, name) in names.iter().enumerate() {
        build_allocator(&Candidate::parse(name).options(&opts.place))?;
        if names[..i].contains(name) {
            return Err(Error::Options(format!(
                "allocator {name:?} is listed twice"
            )));
        }
    }
    Ok(names)
}

/// `precompute` with the host in the loop is an error before anything is placed (the emulator would
/// refuse every candidate alike).
pub fn check_precompute(net: &Network, emu: &emu::EmuOptions) -> Result<(), Error> {
    if emu.precompute {
        let in_loop = emu::host_loop(net);
        if !in_loop.is_empty() {
            let blocks = in_loop.iter().map(|&b| net.block(b).name.clone()).collect();
            return Err(Error::Emu(emu::EmuError::HostLoop { blocks }));
        }
    }
    Ok(())
}

/// Places, validates and emulates one candidate.
fn run_candidate(
    net: &Network,
    topo: &Topology,
    name: &str,
    opts: &CompareOptions,
) -> Result<report::Placed, Error> {
    let place_opts = Candidate::parse(name).options(&opts.place);
    let (placement, mut rep) = place(net, topo, &place_opts)?;
    let emu_opts = emu::EmuOptions {
        traffic: opts.place.traffic,
        ..opts.emu
    };
    // The emulator's own progress is not reported: the candidates are the unit of progress here.
    let em = emulate(net, topo, &placement, &emu_opts, &mut rep, None)?;
    let (pace, share) = em
        .pace
        .first()
        .map(|p| (p.name.clone(), p.steps as f64 / em.steps.max(1) as f64))
        .unwrap_or_else(|| ("-".into(), 0.0));
    Ok(report::Placed {
        placement,
        report: rep,
        time_mean_us: em.time_per_step_us.mean,
        time_p99_us: em.time_per_step_us.p99,
        energy_uj: em.energy_per_step_uj.mean,
        pace,
        pace_share: share,
    })
}

/// Runs every candidate in parallel (rayon), each validated by the one validator and emulated, and
/// returns one row per candidate ranked by [`report::rank`]: fastest mean time per step first, the best
/// marked, each with its ratio to the best; a candidate that fails (does not fit, a backend error) gets
/// a row saying why. `progress`, when given, is called from worker threads with each finished
/// candidate's name. Errors only for bad options (an unknown name, `steps` 0, more chips than the
/// topology has).
pub fn compare(
    net: &Network,
    topo: &Topology,
    opts: &CompareOptions,
    progress: Option<&(dyn Fn(&str) + Sync)>,
) -> Result<Vec<report::Row>, Error> {
    Ok(compare_inner(net, topo, opts, progress)?.0)
}

/// [`compare`], and the first failure's error of every candidate, by candidate order.
#[allow(clippy::type_complexity)]
fn compare_inner(
    net: &Network,
    topo: &Topology,
    opts: &CompareOptions,
    progress: Option<&(dyn Fn(&str) + Sync)>,
) -> Result<(Vec<report::Row>, Option<Error>), Error> {
    use rayon::prelude::*;
    let names = compare_candidates(opts)?;
    rules(topo, &opts.place)?;
    check_precompute(net, &opts.emu)?;
    // Results come back in candidate order whatever the scheduling; ranking then sorts stably.
    let results: Vec<Result<report::Placed, Error>> = names
        .par_iter()
        .map(|name| {
            let r = run_candidate(net, topo, name, opts);
            if let Some(p) = progress {
                p(name);
            }
            r
        })
        .collect();
    let mut first_error = None;
    let mut rows = Vec::with_capacity(names.len());
    for (name, r) in names.into_iter().zip(results) {
        let outcome = match r {
            Ok(p) => report::Outcome::Placed(Box::new(p)),
            Err(e) => {
                let msg = e.to_string();
                first_error.get_or_insert(e);
                report::Outcome::Failed(msg)
            }
        };
        rows.push(report::Row {
            allocator: name,
            outcome,
            best: false,
            ratio_to_best: None,
        });
    }
    report::rank(&mut rows);
    Ok((rows, first_error))
}

/// The `auto` allocator: runs the candidates as [`compare`] does and returns the placement with the best
/// emulated mean time per step (ties: the first candidate), named `auto:<candidate>` in the placement and
/// its report (which carries the emulation), with every row of the comparison. When every candidate
/// fails, the first candidate's error (so "does not fit" stays [`Error::is_infeasible`]). Refiners
/// (`opts.place.refine`) are an error: the candidates name their own.
pub fn place_auto(
    net: &Network,
    topo: &Topology,
    opts: &CompareOptions,
) -> Result<(Placement, Report, Vec<report::Row>), Error> {
    if !opts.place.refine.is_empty() {
        return Err(Error::Options(
            "--refine does not apply to --allocator auto (its candidates include metis+fm)".into(),
        ));
    }
    let (rows, first_error) = compare_inner(net, topo, opts, None)?;
    let best = rows.iter().find(|r| r.best).and_then(|r| r.placed());
    match best {
        Some(p) => {
            let name = format!("auto:{}", rows[0].allocator);
            let mut placement = p.placement.clone();
            placement.allocator = name.clone();
            let mut rep = p.report.clone();
            rep.allocator = name;
            Ok((placement, rep, rows))
        }
        None => Err(first_error.unwrap_or_else(|| Error::Options("no candidates".into()))),
    }
}
