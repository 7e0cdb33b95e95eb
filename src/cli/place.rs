//! The default command: place a network, optionally save and emulate the placement.

use std::path::PathBuf;

use anyhow::anyhow;
use clap::Args;
use snn_place::alloc::ilp::{Backend, Objective, DEFAULT_WINDOW};
use snn_place::alloc::{Effort, MtkPreset};
use snn_place::graph::Network;
use snn_place::hardware::{Topology, DEFAULT_PRESET};
use snn_place::placement::{Placement, Report};
use snn_place::{Options, DEFAULT_ALLOCATOR};

use super::emulate::{emu_options, emulate, EmuArgs};
use super::output::{number, print_report, save_placement};
use super::{
    display, exit, load_net, load_topo, parse_objective, parse_solver, parse_time_limit,
    parse_window, Failure,
};

#[derive(Args)]
pub(crate) struct PlaceArgs {
    /// The network to place: an snn-net/1 file (JSON, or gzip-compressed JSON), or - for standard input.
    #[arg(value_name = "NET", required = true)]
    pub(crate) net: Option<PathBuf>,
    /// The allocator (`snn-place allocators` lists them), e.g. --allocator round-robin.
    #[arg(short, long, value_name = "NAME", default_value = DEFAULT_ALLOCATOR)]
    pub(crate) allocator: String,
    /// Refine the allocator's placement (`snn-place allocators` lists the refiners), e.g. --refine fm.
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    pub(crate) refine: Vec<String>,
    /// A preset (`snn-place topologies` lists them) or an snn-topology/1 file, e.g. --topology loihi.
    #[arg(short, long, value_name = "PRESET|FILE", default_value = DEFAULT_PRESET)]
    pub(crate) topology: String,
    /// Use at most N chips of the topology, chips 0..N (as nengo-loihi's n_chips), e.g. --chips 8.
    #[arg(long, value_name = "N")]
    pub(crate) chips: Option<u32>,
    /// Seeds the allocator; the same seed gives the same placement, e.g. --seed 7.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub(crate) seed: u64,
    /// What the placement minimises: interchip (spikes between chips; the hops are then lowered only
    /// where that costs no inter-chip traffic), hops (spikes x chip hops: portfolio refines its
    /// placement on the hops themselves, mtkahypar maps onto the chip mesh itself, the inter-chip
    /// spikes may rise; the ILP's model grows with the
    /// chips squared: small nets and windows only) or max-link (the busiest chip-to-chip link: ilp and
    /// --refine ilp only), e.g. --objective hops.
    #[arg(long, value_name = "NAME", default_value = "interchip", value_parser = parse_objective)]
    pub(crate) objective: Objective,
    /// Stop after S seconds with the best placement found (the ILP then prints its lower bound); 10 s by
    /// default for the ILP, none for the other allocators, e.g. --time-limit 30.
    #[arg(long, value_name = "S", value_parser = parse_time_limit, allow_negative_numbers = true)]
    pub(crate) time_limit: Option<f64>,
    /// Blocks per --refine ilp window (at least 1), e.g. --window 40.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_WINDOW, value_parser = parse_window)]
    pub(crate) window: usize,
    /// The ILP solver: microlp (built in) or highs (only in a build with `--features highs`), e.g.
    /// --solver highs.
    #[arg(long, value_name = "NAME", default_value = "microlp", value_parser = parse_solver)]
    pub(crate) solver: Backend,
    /// The Mt-KaHyPar preset of --allocator mtkahypar (only in a build with `--features mtkahypar`):
    /// deterministic, default, quality, highest-quality or large-k, e.g. --mtk-preset highest-quality.
    #[arg(long, value_name = "NAME", default_value = "quality", value_parser = MtkPreset::from_name)]
    pub(crate) mtk_preset: MtkPreset,
    /// How far portfolio refines the cut of nets above 32,000 blocks: default, or full (every flow
    /// region, up to 8 refinement turns and 8 V-cycles on each METIS try: on 98,000 blocks about 1%
    /// less inter-chip traffic in about 3x the time), e.g. --effort full.
    #[arg(long, value_name = "NAME", default_value = "default", value_parser = Effort::from_name)]
    pub(crate) effort: Effort,
    /// Also write the placement (snn-placement/1) to FILE, e.g. --out placement.json.
    #[arg(short, long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// Print an snn-report/1 JSON object instead of the table.
    #[arg(long)]
    pub(crate) json: bool,
    /// Also emulate the placement and report the time per timestep, e.g. --emulate --steps 500.
    #[arg(long)]
    pub(crate) emulate: bool,
    /// Spread the network over all usable chips (all of --chips N) instead of the fewest that hold it,
    /// as nengo-loihi's PartitionInterchip does; not with greedy or round-robin.
    #[arg(long)]
    pub(crate) spread: bool,
    /// Let several blocks share a core (summed limits, at most the topology's core.max_blocks),
    /// blocks that talk first; not with greedy or round-robin (nengo-loihi's one block per core).
    #[arg(long)]
    pub(crate) pack: bool,
    #[command(flatten)]
    pub(crate) emu: EmuArgs,
}

pub(crate) fn run_place(args: &PlaceArgs) -> Result<(), Failure> {
    let net_path = args.net.as_deref().expect("clap requires NET");
    let net = load_net(net_path)?;
    let topo = load_topo(&args.topology)?;
    // A host loop makes --precompute impossible: say so before placing (and writing --out).
    if args.emulate {
        snn_place::check_precompute(&net, &emu_options(&args.emu, args.seed, &topo)).map_err(
            |e| Failure {
                code: exit::BAD_INPUT,
                error: anyhow!(e).context(display(net_path)),
            },
        )?;
    }
    // The ILP always runs against a clock; other allocators only when --time-limit is given.
    let names = std::iter::once(&args.allocator).chain(&args.refine);
    let opts = Options {
        allocator: args.allocator.clone(),
        refine: args.refine.clone(),
        seed: args.seed,
        chips: args.chips,
        deadline: snn_place::deadline(args.time_limit, names.map(String::as_str)),
        objective: args.objective,
        window: args.window,
        solver: args.solver,
        pack: args.pack,
        traffic: args.emu.traffic(&topo),
        spread: args.spread,
        mtk_preset: args.mtk_preset,
        effort: args.effort,
    };
    let placed = if args.allocator == "auto" {
        place_auto(&net, &topo, opts, args)
    } else {
        snn_place::place(&net, &topo, &opts)
    };
    let (placement, report) = placed.map_err(|e| Failure {
        code: place_error_code(&e),
        error: anyhow!(e).context(display(net_path)),
    })?;
    if let Some(out) = &args.out {
        save_placement(out, &placement, &net, &topo)?;
    }
    let mut report = report;
    let em = if args.emulate {
        Some(emulate(
            &net,
            &topo,
            &placement,
            &args.emu,
            args.seed,
            args.json,
            &mut report,
        )?)
    } else {
        None
    };
    print_report(&report, em.as_ref(), &net, &topo, args.json)
}

/// The exit code of a failed placement: 3 does not fit, 1 a bug (an invalid placement), 2 bad input.
pub(crate) fn place_error_code(e: &snn_place::Error) -> u8 {
    match e {
        _ if e.is_infeasible() => exit::DOES_NOT_FIT,
        snn_place::Error::Invalid { .. } => exit::FAILURE,
        _ => exit::BAD_INPUT,
    }
}

/// `--allocator auto`: the facade runs the candidates and keeps the fastest; say which on stderr.
pub(crate) fn place_auto(
    net: &Network,
    topo: &Topology,
    opts: Options,
    args: &PlaceArgs,
) -> Result<(Placement, Report), snn_place::Error> {
    let copts = snn_place::CompareOptions {
        candidates: Vec::new(),
        place: opts,
        emu: emu_options(&args.emu, args.seed, topo),
        pack: false,
    };
    let (placement, report, rows) = snn_place::place_auto(net, topo, &copts)?;
    let others = rows
        .iter()
        .skip(1)
        .map(|r| match r.placed() {
            Some(p) => format!("{} {}", r.allocator, number(p.time_mean_us)),
            None => format!("{} failed", r.allocator),
        })
        .collect::<Vec<_>>()
        .join(", ");
    eprintln!(
        "snn-place: auto chose {} ({} us per step; {others})",
        rows[0].allocator,
        number(report.time_per_step_us.unwrap_or(0.0)),
    );
    Ok((placement, report))
}
