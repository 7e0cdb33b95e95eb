//! The `snn-place` command line: parses arguments, loads files, calls the library, prints, and picks the
//! exit code. Nothing else in the workspace touches the terminal or the environment.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Mutex, MutexGuard};

use anyhow::{anyhow, Context};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use snn_place::alloc::ilp::{Backend, Objective, DEFAULT_TIME_LIMIT_S, DEFAULT_WINDOW};
use snn_place::emu::{EmuOptions, Emulation};
use snn_place::frontend::{
    build_with, generate, keras_to_layers, parse_layers, AxonModel, GenKind, GenOptions,
    KerasOptions, Limits,
};
use snn_place::graph::{read_net_file, write_net, write_net_gz, Network};
use snn_place::hardware::{
    load_topology, topology_json, Topology, TrafficModel, DEFAULT_PRESET, PRESETS,
};
use snn_place::placement::{read_placement_file, write_placement, Placement, Report, Rules};
use snn_place::{Options, DEFAULT_ALLOCATOR};

/// Exit codes, as README.md documents them.
mod exit {
    /// The output could not be written, or a bug.
    pub const FAILURE: u8 = 1;
    /// Bad input or usage: a malformed file, an unknown name, a block too big for any core.
    pub const BAD_INPUT: u8 = 2;
    /// The network does not fit the topology (or the chips `--chips` allows).
    pub const DOES_NOT_FIT: u8 = 3;
    /// Interrupted by Ctrl-C (SIGINT), SIGTERM or SIGHUP: 128 + SIGINT, as shells report it.
    pub const INTERRUPTED: i32 = 130;
}

const EXAMPLES: &str = "\
Examples:
  snn-place fixtures/conv-residual.json
      Place a network on Nahuku32 with the default allocator (metis) and print the traffic figures.
  snn-place --allocator round-robin --topology pohoiki-beach --chips 8 --json net.json
      Round-robin over the first 8 chips of Pohoiki Beach; print an snn-report/1 object.
  snn-place --allocator metis --refine fm --topology board.json --out placement.json net.json.gz
      METIS then FM refinement on a custom board (snn-topology/1 file); save the placement.
  snn-place gen layered --blocks 4000 --seed 1 -o net.json
      Generate a conv-net-like network of 4,000 blocks.
  snn-place import keras model.json -o net.json
      Split a Keras 3 model (model.to_json()) into blocks that fit Nahuku32's cores, with their traffic.
  snn-place build layers.json --topology loihi -o net.json.gz
      The same from an snn-layers/1 layer description, written gzip-compressed.
  snn-place --emulate --steps 1000 net.json
      Place, then emulate 1,000 timesteps: time per step and what sets the pace.
  snn-place --pack --traffic multicast --emulate net.json
      Let blocks share cores, and place and emulate for routers that replicate spikes per chip.
  snn-place emulate net.json --placement placement.json --topology nahuku32 --precompute
      Emulate a saved placement, with input spikes sent ahead of the run.

Exit codes: 0 ok, 1 output not written, 2 bad input or usage, 3 the network does not fit,
130 interrupted (Ctrl-C, SIGTERM: no output file or temporary file is left).";

/// Decides where every block of a spiking neural network sits on multi-chip neuromorphic hardware
/// (Loihi-style boards), and reports the spike traffic that placement causes.
#[derive(Parser)]
#[command(
    name = "snn-place",
    version,
    after_help = EXAMPLES,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    place: PlaceArgs,
}

#[derive(Args)]
struct PlaceArgs {
    /// The network to place: an snn-net/1 file (JSON, or gzip-compressed JSON), or - for standard input.
    #[arg(value_name = "NET", required = true)]
    net: Option<PathBuf>,
    /// The allocator (`snn-place allocators` lists them), e.g. --allocator round-robin.
    #[arg(short, long, value_name = "NAME", default_value = DEFAULT_ALLOCATOR)]
    allocator: String,
    /// Refine the allocator's placement (`snn-place allocators` lists the refiners), e.g. --refine fm.
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    refine: Vec<String>,
    /// A preset (`snn-place topologies` lists them) or an snn-topology/1 file, e.g. --topology loihi.
    #[arg(short, long, value_name = "PRESET|FILE", default_value = DEFAULT_PRESET)]
    topology: String,
    /// Use at most N chips of the topology, chips 0..N (as nengo-loihi's n_chips), e.g. --chips 8.
    #[arg(long, value_name = "N")]
    chips: Option<u32>,
    /// Seeds the allocator; the same seed gives the same placement, e.g. --seed 7.
    #[arg(long, value_name = "S", default_value_t = 0)]
    seed: u64,
    /// What --allocator ilp and --refine ilp minimise: interchip (spikes between chips), hops (spikes x
    /// chip hops; its model grows with the chips squared: small nets and windows only) or max-link
    /// (the busiest chip-to-chip link), e.g. --objective max-link.
    #[arg(long, value_name = "NAME", default_value = "interchip", value_parser = parse_objective)]
    objective: Objective,
    /// Stop after S seconds with the best placement found (the ILP then prints its lower bound); 10 s by
    /// default for the ILP, none for the other allocators, e.g. --time-limit 30.
    #[arg(long, value_name = "S", value_parser = parse_time_limit, allow_negative_numbers = true)]
    time_limit: Option<f64>,
    /// Blocks per --refine ilp window (at least 1), e.g. --window 40.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_WINDOW, value_parser = parse_window)]
    window: usize,
    /// The ILP solver: microlp (built in) or highs (only in a build with `--features highs`), e.g.
    /// --solver highs.
    #[arg(long, value_name = "NAME", default_value = "microlp", value_parser = parse_solver)]
    solver: Backend,
    /// Also write the placement (snn-placement/1) to FILE, e.g. --out placement.json.
    #[arg(short, long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print an snn-report/1 JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// Also emulate the placement and report the time per timestep, e.g. --emulate --steps 500.
    #[arg(long)]
    emulate: bool,
    /// Let several blocks share a core (summed limits, at most the topology's core.max_blocks),
    /// blocks that talk first; not with greedy or round-robin (nengo-loihi's one block per core).
    #[arg(long)]
    pack: bool,
    #[command(flatten)]
    emu: EmuArgs,
}

/// How to emulate.
#[derive(Args)]
struct EmuArgs {
    /// Timesteps to emulate (with --emulate or `emulate`), e.g. --steps 1000.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    steps: u32,
    /// Send input spikes ahead of the run (nengo-loihi's precompute=True): inputs cost nothing per step;
    /// probe outputs still do.
    #[arg(long)]
    precompute: bool,
    /// How spikes reach other chips: unicast (one message per destination core, Loihi 1) or multicast
    /// (one per destination chip, replicated there: Loihi 2, SpiNNaker). The traffic-aware allocators,
    /// refiners and the ILP minimise it; the emulator counts messages by it, e.g. --traffic multicast.
    #[arg(long, value_name = "MODEL", default_value = "unicast", value_parser = parse_traffic)]
    traffic: TrafficModel,
}

#[derive(Args)]
struct EmulateArgs {
    /// The network: an snn-net/1 file (JSON or gzip-compressed), or - for standard input.
    #[arg(value_name = "NET")]
    net: PathBuf,
    /// The placement to emulate (snn-placement/1, as --out writes it), e.g. --placement p.json.
    #[arg(short, long, value_name = "FILE")]
    placement: PathBuf,
    /// A preset or an snn-topology/1 file, e.g. --topology loihi.
    #[arg(short, long, value_name = "PRESET|FILE", default_value = DEFAULT_PRESET)]
    topology: String,
    /// Seeds the emulator's spike draws; the same seed gives the same report, e.g. --seed 7.
    #[arg(long, value_name = "S", default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    emu: EmuArgs,
    /// Print an snn-report/1 JSON object (with the emulation object) instead of the table.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum Command {
    /// List the topology presets with their sizes, e.g. `snn-place topologies`.
    Topologies {
        /// Print each preset as an snn-topology/1 object (one JSON array).
        #[arg(long)]
        json: bool,
    },
    /// List the allocators with their trade-offs, e.g. `snn-place allocators`.
    Allocators,
    /// Generate a seeded network, e.g. `snn-place gen layered --blocks 4000 --seed 1 -o net.json`.
    Gen(GenArgs),
    /// Emulate a placed network: time per timestep, what sets the pace, traffic per link, e.g.
    /// `snn-place emulate net.json --placement p.json --steps 1000`.
    Emulate(EmulateArgs),
    /// Build a network from an snn-layers/1 layer description, e.g.
    /// `snn-place build layers.json -o net.json`.
    Build(BuildArgs),
    /// Import a model from another framework, e.g. `snn-place import keras model.json -o net.json`.
    Import(ImportArgs),
    /// Place a network with several allocators, emulate each placement and rank them by time per
    /// step, e.g. `snn-place compare net.json --allocators all --html report.html`.
    Compare(CompareArgs),
}

#[derive(Args)]
struct CompareArgs {
    /// The network: an snn-net/1 file (JSON or gzip-compressed), or - for standard input.
    #[arg(value_name = "NET")]
    net: PathBuf,
    /// A preset or an snn-topology/1 file, e.g. --topology loihi.
    #[arg(short, long, value_name = "PRESET|FILE", default_value = DEFAULT_PRESET)]
    topology: String,
    /// Comma-separated candidates: allocator names, `allocator+refiner` (e.g. metis+fm), or `all`
    /// (every allocator and metis+fm); by default the `auto` candidates (all but ilp), e.g.
    /// --allocators greedy,metis,metis+fm.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    allocators: Vec<String>,
    /// Use at most N chips of the topology, chips 0..N, e.g. --chips 8.
    #[arg(long, value_name = "N")]
    chips: Option<u32>,
    /// Seeds every allocator and the emulator, e.g. --seed 7.
    #[arg(long, value_name = "S", default_value_t = 0)]
    seed: u64,
    /// Stop time-limited allocators after S seconds (the ILP: 10 s by default), e.g. --time-limit 30.
    #[arg(long, value_name = "S", value_parser = parse_time_limit, allow_negative_numbers = true)]
    time_limit: Option<f64>,
    #[command(flatten)]
    emu: EmuArgs,
    /// How to print the comparison: table, markdown, csv or json (an array of snn-report/1 objects).
    #[arg(long, value_name = "FORMAT", default_value = "table", value_parser = ["table", "markdown", "csv", "json"])]
    format: String,
    /// Also write a self-contained HTML report (board drawings, bar chart, table) to FILE, e.g.
    /// --html report.html.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Leave out the allocator seconds (the one figure that changes from run to run), for reproducible
    /// output.
    #[arg(long)]
    no_timing: bool,
    /// Also run each candidate that can pack (all but greedy and round-robin) with --pack, as a
    /// `<candidate>+pack` row beside it; a candidate can also be named so, e.g. metis+fm+pack.
    #[arg(long)]
    pack: bool,
}

#[derive(Args)]
struct BuildArgs {
    /// The layer description (snn-layers/1 JSON), or - for standard input.
    #[arg(value_name = "LAYERS")]
    layers: PathBuf,
    #[command(flatten)]
    out: FrontendOut,
}

#[derive(Args)]
struct ImportArgs {
    /// The source format; `keras` reads a Keras 3 `model.to_json()` architecture file.
    #[arg(value_name = "FORMAT", value_parser = ["keras"])]
    format: String,
    /// The model file, or - for standard input.
    #[arg(value_name = "MODEL")]
    model: PathBuf,
    /// Mean spikes per neuron per timestep of every neuron layer, e.g. --rate 0.05.
    #[arg(long, value_name = "R", default_value_t = snn_place::frontend::DEFAULT_RATE)]
    rate: f64,
    /// Mean spikes per input value per timestep, e.g. --input-rate 0.2.
    #[arg(long, value_name = "R", default_value_t = snn_place::frontend::DEFAULT_RATE)]
    input_rate: f64,
    #[command(flatten)]
    out: FrontendOut,
}

/// Where `build` and `import` write, and whose core limits the blocks must fit.
#[derive(Args)]
struct FrontendOut {
    /// Where to write the network (.json, or .json.gz to compress; - or omitted: standard output).
    #[arg(short, long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Take the per-core limits from this preset or snn-topology/1 file, e.g. --topology loihi.
    #[arg(short, long, value_name = "PRESET|FILE", default_value = DEFAULT_PRESET)]
    topology: String,
    /// How blocks' axons and synapse memory are counted: population (nengo-loihi 1.1's: pop32 axons
    /// for convolutions) or discrete (one axon per source neuron, snn-place's earlier model).
    #[arg(long, value_name = "MODEL", default_value = "population", value_parser = ["population", "discrete"])]
    axons: String,
}

#[derive(Args)]
struct GenArgs {
    /// `layered` (conv-net-like layers of spatial tiles with residual skips, host input and probes) or
    /// `random` (power-law degrees).
    #[arg(value_name = "KIND")]
    kind: GenKind,
    /// How many blocks, host blocks included, e.g. --blocks 100000.
    #[arg(long, value_name = "N")]
    blocks: usize,
    /// The generator's seed; the same seed gives the same file, e.g. --seed 1.
    #[arg(long, value_name = "S", default_value_t = 0)]
    seed: u64,
    /// Where to write the network (.json, or .json.gz to compress; - or omitted: standard output).
    #[arg(short, long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// An error with the exit code it deserves.
struct Failure {
    code: u8,
    error: anyhow::Error,
}

fn fail(code: u8) -> impl FnOnce(anyhow::Error) -> Failure {
    move |error| Failure { code, error }
}

fn main() -> ExitCode {
    on_interrupt_remove_temporary_files();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version to stdout (exit 0) and usage errors to stderr (exit 2).
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::BAD_INPUT } else { 0 });
        }
    };
    let result = match cli.command {
        Some(Command::Topologies { json }) => list_topologies(json),
        Some(Command::Allocators) => list_allocators(),
        Some(Command::Gen(args)) => gen(&args),
        Some(Command::Emulate(args)) => run_emulate(&args),
        Some(Command::Build(args)) => run_build(&args),
        Some(Command::Import(args)) => run_import(&args),
        Some(Command::Compare(args)) => run_compare(&args),
        None => run_place(&cli.place),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("snn-place: error: {:#}", f.error);
            ExitCode::from(f.code)
        }
    }
}

fn run_place(args: &PlaceArgs) -> Result<(), Failure> {
    let net_path = args.net.as_deref().expect("clap requires NET");
    let net = load_net(net_path)?;
    let topo = load_topo(&args.topology)?;
    // The ILP always runs against a clock; other allocators only when --time-limit is given.
    let uses_ilp = args.allocator == "ilp" || args.refine.iter().any(|r| r == "ilp");
    let limit = args.time_limit.or(uses_ilp.then_some(DEFAULT_TIME_LIMIT_S));
    let opts = Options {
        allocator: args.allocator.clone(),
        refine: args.refine.clone(),
        seed: args.seed,
        chips: args.chips,
        deadline: limit.map(|s| std::time::Instant::now() + std::time::Duration::from_secs_f64(s)),
        objective: args.objective,
        window: args.window,
        solver: args.solver,
        pack: args.pack,
        traffic: args.emu.traffic,
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
fn place_error_code(e: &snn_place::Error) -> u8 {
    match e {
        _ if e.is_infeasible() => exit::DOES_NOT_FIT,
        snn_place::Error::Invalid { .. } => exit::FAILURE,
        _ => exit::BAD_INPUT,
    }
}

/// `--allocator auto`: the facade runs the candidates and keeps the fastest; say which on stderr.
fn place_auto(
    net: &Network,
    topo: &Topology,
    opts: Options,
    args: &PlaceArgs,
) -> Result<(Placement, Report), snn_place::Error> {
    if !args.refine.is_empty() {
        return Err(snn_place::Error::Options(
            "--refine does not apply to --allocator auto (its candidates include metis+fm)".into(),
        ));
    }
    let copts = snn_place::CompareOptions {
        candidates: Vec::new(),
        place: opts,
        emu: emu_options(&args.emu, args.seed),
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

/// `compare`: every candidate placed, emulated and ranked; printed in `--format`, and `--html` written.
fn run_compare(args: &CompareArgs) -> Result<(), Failure> {
    use snn_place::report;
    let net = load_net(&args.net)?;
    let topo = load_topo(&args.topology)?;
    let candidates = if args.allocators.iter().any(|a| a == "all") {
        if args.allocators.len() > 1 {
            return Err(Failure {
                code: exit::BAD_INPUT,
                error: anyhow!("--allocators all cannot be combined with other names"),
            });
        }
        snn_place::all_candidates()
    } else {
        args.allocators.clone()
    };
    let uses_ilp = candidates.iter().any(|c| c.split('+').any(|p| p == "ilp"));
    let limit = args.time_limit.or(uses_ilp.then_some(DEFAULT_TIME_LIMIT_S));
    let opts = snn_place::CompareOptions {
        candidates,
        place: Options {
            seed: args.seed,
            chips: args.chips,
            deadline: limit
                .map(|s| std::time::Instant::now() + std::time::Duration::from_secs_f64(s)),
            traffic: args.emu.traffic,
            ..Options::default()
        },
        emu: emu_options(&args.emu, args.seed),
        pack: args.pack,
    };
    let verbose = io::stderr().is_terminal();
    let tick = |name: &str| {
        if verbose {
            eprintln!("snn-place: {name} done");
        }
    };
    let rows = snn_place::compare(&net, &topo, &opts, Some(&tick)).map_err(|e| Failure {
        code: place_error_code(&e),
        error: anyhow!(e).context(display(&args.net)),
    })?;
    let style = report::Style {
        timing: !args.no_timing,
    };
    if let Some(path) = &args.html {
        let page = report::html(&rows, &net, &topo, style);
        write_atomic(path, |w| w.write_all(page.as_bytes()))?;
    }
    let text = match args.format.as_str() {
        "markdown" => report::markdown(&rows, style),
        "csv" => report::csv(&rows, style),
        "json" => {
            let v = report::json(&rows, &net, &topo, args.seed, style);
            serde_json::to_string_pretty(&v).expect("JSON values serialise") + "\n"
        }
        _ => report::table(&rows, style),
    };
    print(&text)?;
    // Every candidate failing is the command failing; the table above says why for each.
    match rows.iter().any(|r| r.placed().is_some()) {
        true => Ok(()),
        false => {
            let infeasible = rows.iter().all(|r| match &r.outcome {
                report::Outcome::Failed(e) => e.starts_with("does not fit"),
                report::Outcome::Placed(_) => false,
            });
            Err(Failure {
                code: if infeasible {
                    exit::DOES_NOT_FIT
                } else {
                    exit::BAD_INPUT
                },
                error: anyhow!("no allocator placed {}", display(&args.net)),
            })
        }
    }
}

fn run_emulate(args: &EmulateArgs) -> Result<(), Failure> {
    let net = load_net(&args.net)?;
    let topo = load_topo(&args.topology)?;
    let placement = read_placement_file(&args.placement, &net)
        .map_err(|e| anyhow!(e).context(display(&args.placement)))
        .map_err(fail(exit::BAD_INPUT))?;
    // The placement must fit this topology before any figure is computed from it.
    let rules = Rules {
        chips: topo.n_chips(),
        packing: true,
    };
    placement
        .validate(&net, &topo, &rules)
        .map_err(|e| anyhow!(e).context(display(&args.placement)))
        .map_err(fail(exit::BAD_INPUT))?;
    let mut report = Report::new(&net, &topo, &placement, 0.0);
    report.traffic = args.emu.traffic.name();
    // A core holding several blocks: fewer cores than on-chip blocks.
    report.pack = report.cores_used < net.n_on_chip();
    let em = emulate(
        &net,
        &topo,
        &placement,
        &args.emu,
        args.seed,
        args.json,
        &mut report,
    )?;
    print_report(&report, Some(&em), &net, &topo, args.json)
}

/// The emulator's options from the command line.
fn emu_options(args: &EmuArgs, seed: u64) -> EmuOptions {
    EmuOptions {
        steps: args.steps,
        seed,
        precompute: args.precompute,
        traffic: args.traffic,
    }
}

/// Runs the emulator with a progress bar on standard error when it is a terminal and the output is not
/// JSON, and fills the report.
fn emulate(
    net: &Network,
    topo: &Topology,
    placement: &Placement,
    args: &EmuArgs,
    seed: u64,
    json: bool,
    report: &mut Report,
) -> Result<Emulation, Failure> {
    let opts = emu_options(args, seed);
    let bar = if !json && io::stderr().is_terminal() && args.steps >= 1000 {
        let bar = ProgressBar::new(args.steps as u64);
        bar.set_style(
            ProgressStyle::with_template("emulating {bar:40} {pos}/{len} steps ({eta})")
                .expect("a valid template"),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let tick = |n: u64| bar.inc(n);
    let em = snn_place::emulate(net, topo, placement, &opts, report, Some(&tick)).map_err(|e| {
        Failure {
            code: exit::BAD_INPUT,
            error: anyhow!(e),
        }
    })?;
    bar.finish_and_clear();
    Ok(em)
}

fn print_report(
    report: &Report,
    em: Option<&Emulation>,
    net: &Network,
    topo: &Topology,
    json: bool,
) -> Result<(), Failure> {
    let text = if json {
        serde_json::to_string_pretty(report).expect("reports serialise") + "\n"
    } else {
        let mut t = table(report, net, topo);
        if let Some(em) = em {
            t += &emulation_table(em);
        }
        t
    };
    print(&text)
}

fn emulation_table(em: &Emulation) -> String {
    let t = &em.time_per_step_us;
    let pace = em
        .pace
        .iter()
        .take(3)
        .map(|p| {
            format!(
                "{} ({:.0}% of steps)",
                p.name,
                100.0 * p.steps as f64 / em.steps as f64
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let links = em
        .busiest_links
        .iter()
        .take(3)
        .map(|l| format!("chip {} -> chip {}: {}", l.from, l.to, number(l.messages)))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = [
        (
            "time per step",
            format!(
                "{} us mean, {} p50, {} p99, {} max ({} steps, seed {}{})",
                number(t.mean),
                number(t.p50),
                number(t.p99),
                number(t.max),
                em.steps,
                em.seed,
                if em.precompute {
                    ", inputs precomputed"
                } else {
                    ""
                }
            ),
        ),
        (
            "expected loads",
            format!(
                "{} us (every block firing its mean)",
                number(em.analytic_time_per_step_us)
            ),
        ),
        ("pace set by", pace),
        ("barrier", format!("{} us", number(em.barrier_us))),
        ("inter-chip msgs", per_step(em.interchip_messages_per_step)),
        (
            "busiest links",
            if links.is_empty() {
                "none".into()
            } else {
                links
            },
        ),
        ("host msgs", per_step(em.host_messages_per_step)),
    ];
    rows.iter().map(|(k, v)| format!("{k:<18} {v}\n")).collect()
}

fn display(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "<stdin>".into()
    } else {
        path.display().to_string()
    }
}

fn load_net(path: &Path) -> Result<Network, Failure> {
    read_net_file(path)
        .map_err(|e| anyhow!(e).context(display(path)))
        .map_err(fail(exit::BAD_INPUT))
}

fn load_topo(spec: &str) -> Result<Topology, Failure> {
    load_topology(spec)
        .map_err(|e| {
            if Topology::preset(spec).is_none() && Path::new(spec).exists() {
                anyhow!(e).context(spec.to_string())
            } else {
                anyhow!(e)
            }
        })
        .map_err(fail(exit::BAD_INPUT))
}

fn save_placement(
    out: &Path,
    p: &Placement,
    net: &Network,
    topo: &Topology,
) -> Result<(), Failure> {
    write_atomic(out, |w| write_placement(p, net, topo, w))
}

/// Writes `path` through a temporary file in the same folder, renamed into place once complete, so the
/// path never holds a half-written file. `-` is standard output.
fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), Failure> {
    let context = || format!("cannot write {}", path.display());
    if path.as_os_str() == "-" {
        let mut out = io::stdout().lock();
        return write(&mut out)
            .and_then(|()| out.flush())
            .with_context(context)
            .map_err(fail(exit::FAILURE));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let result = (|| -> anyhow::Result<()> {
        let mut tmp = tempfile::Builder::new()
            .prefix(".snn-place-")
            .suffix(".tmp")
            .permissions(output_permissions(path))
            .tempfile_in(dir)?;
        let _live = LiveTemp::register(tmp.path());
        write(tmp.as_file_mut())?;
        tmp.as_file().sync_all()?;
        tmp.persist(path)?;
        Ok(())
    })();
    result.with_context(context).map_err(fail(exit::FAILURE))
}

/// The temporary files `write_atomic` is writing. On Ctrl-C or SIGTERM the handler removes them before the
/// process exits, as the `tempfile` guards that would otherwise remove them never run then.
static LIVE_TEMPS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn live_temps() -> MutexGuard<'static, Vec<PathBuf>> {
    // A panic while the list was held cannot leave it inconsistent: every change is one push or remove.
    LIVE_TEMPS.lock().unwrap_or_else(|e| e.into_inner())
}

/// A temporary file listed in [`LIVE_TEMPS`] while it lives: registered once created, unlisted when
/// renamed into place or dropped (the `tempfile` guard removes the file itself).
struct LiveTemp(PathBuf);

impl LiveTemp {
    fn register(path: &Path) -> LiveTemp {
        live_temps().push(path.to_path_buf());
        LiveTemp(path.to_path_buf())
    }
}

impl Drop for LiveTemp {
    fn drop(&mut self) {
        live_temps().retain(|p| p != &self.0);
    }
}

/// Ctrl-C (SIGINT), SIGTERM and SIGHUP: remove the temporary files being written, say so on one line and
/// exit with 130, so an interrupted run leaves neither a partial output nor a `.snn-place-*.tmp` file.
/// A signal the parent set to be ignored (nohup's SIGHUP, SIGINT in a script's background job) stays
/// ignored; the others are still handled.
fn on_interrupt_remove_temporary_files() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let handled: Vec<i32> = [SIGINT, SIGTERM, SIGHUP]
        .into_iter()
        .filter(|&s| !ignored(s))
        .collect();
    let Ok(mut signals) = signal_hook::iterator::Signals::new(&handled) else {
        return; // No handler: the signals keep their default action.
    };
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            // Holding the list until exit: no write_atomic registers another file after this. (An
            // output renamed into place just before is complete; its temporary file is already gone.)
            let live = live_temps();
            for path in live.iter() {
                let _ = std::fs::remove_file(path);
            }
            eprintln!("snn-place: error: interrupted; unfinished output files removed");
            std::process::exit(exit::INTERRUPTED);
        }
    });
}

/// Whether signal `sig` is set to be ignored (inherited from the parent).
fn ignored(sig: i32) -> bool {
    // SAFETY: sigaction with a null new action only reads the current disposition into `old`.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
    }
}

/// An output file keeps the permissions of the file it replaces; a new one is readable by all (0644), as
/// a file the shell creates would be under the usual umask. (The temporary file alone would be 0600.)
fn output_permissions(path: &Path) -> std::fs::Permissions {
    match std::fs::metadata(path) {
        Ok(m) => m.permissions(),
        Err(_) => {
            use std::os::unix::fs::PermissionsExt;
            std::fs::Permissions::from_mode(0o644)
        }
    }
}

fn print(text: &str) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        // A closed pipe (`snn-place ... | head`) is not an error of ours.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        r => r
            .context("cannot write to standard output")
            .map_err(fail(exit::FAILURE)),
    }
}

fn table(r: &Report, net: &Network, topo: &Topology) -> String {
    let hosts = net.blocks().iter().filter(|b| b.host).count();
    let busiest = match r.busiest_link {
        Some([a, b]) => format!("  (chip {a} -> chip {b})"),
        None => String::new(),
    };
    let rows = [
        (
            "network",
            format!(
                "{}: {} blocks ({hosts} on the host), {} edges",
                r.network, r.blocks, r.edges
            ),
        ),
        (
            "topology",
            format!(
                "{}: {} chips x {} cores",
                r.topology,
                topo.n_chips(),
                topo.cores_per_chip()
            ),
        ),
        (
            "allocator",
            format!("{} (seed {}, {:.3} s)", r.allocator, r.seed, r.elapsed_s),
        ),
        ("chips used", r.chips_used.to_string()),
        ("cores used", r.cores_used.to_string()),
        ("inter-chip spikes", per_step(r.interchip_spikes)),
        ("hop spikes", per_step(r.hop_spikes)),
        ("busiest link", per_step(r.max_link_spikes) + &busiest),
        ("multicast spikes", per_step(r.multicast_spikes)),
        ("host spikes", per_step(r.host_spikes)),
    ];
    let mut s = String::new();
    for (k, v) in rows {
        s += &format!("{k:<18} {v}\n");
    }
    if let Some(ilp) = &r.ilp {
        s += &format!("{:<18} {}\n", "ilp", ilp_row(ilp));
    }
    s
}

/// The ILP's line of the table: the objective, how the run ended, start -> result, and the lower bound
/// and gap or the windows tried.
fn ilp_row(ilp: &serde_json::Value) -> String {
    let f = |k: &str| ilp[k].as_f64().map(number).unwrap_or_else(|| "-".into());
    let mut s = format!(
        "{} {}: {} -> {}",
        ilp["objective"].as_str().unwrap_or("?"),
        ilp["status"].as_str().unwrap_or("?"),
        f("start"),
        f("value")
    );
    if let Some(gap) = ilp["gap"].as_f64() {
        s += &format!(", lower bound {} (gap {:.1}%)", f("bound"), 100.0 * gap);
    }
    s += &format!(
        ", {} of {} windows improved",
        ilp["windows_improved"], ilp["windows_tried"]
    );
    s
}

/// `--solver`: a backend this build has.
fn parse_solver(s: &str) -> Result<Backend, String> {
    Backend::from_name(s)
}

/// `--objective`: a name from the ILP's list.
fn parse_objective(s: &str) -> Result<Objective, String> {
    Objective::from_name(s)
}

fn parse_traffic(s: &str) -> Result<TrafficModel, String> {
    TrafficModel::from_name(s)
}

/// `--time-limit`: seconds, more than 0 and at most a day.
fn parse_time_limit(s: &str) -> Result<f64, String> {
    let x: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if x.is_finite() && x > 0.0 && x <= 86_400.0 {
        Ok(x)
    } else {
        Err(format!(
            "must be more than 0 and at most 86400 seconds (a day), got {s}"
        ))
    }
}

/// `--window`: at least one block.
fn parse_window(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1 block, got 0".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{s:?} is not a number of blocks")),
    }
}

fn per_step(x: f64) -> String {
    format!("{} /step", number(x))
}

/// A figure with at most three decimals and no trailing zeros.
fn number(x: f64) -> String {
    let s = format!("{x:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

fn list_topologies(json: bool) -> Result<(), Failure> {
    let topos: Vec<Topology> = PRESETS
        .iter()
        .map(|p| Topology::preset(p.0).expect("listed presets exist"))
        .collect();
    if json {
        let all: Vec<_> = topos.iter().map(topology_json).collect();
        return print(&(serde_json::to_string_pretty(&all).expect("JSON values serialise") + "\n"));
    }
    let mut s = format!(
        "{:<16} {:>6} {:>6} {:>8}  {}\n",
        "preset", "chips", "grid", "cores", "description"
    );
    for (t, p) in topos.iter().zip(PRESETS) {
        let grid = format!("{}x{}", t.chips().x, t.chips().y);
        let default = if t.name == DEFAULT_PRESET {
            " (default)"
        } else {
            ""
        };
        s += &format!(
            "{:<16} {:>6} {:>6} {:>8}  {}{default}\n",
            t.name,
            t.n_chips(),
            grid,
            t.n_cores(),
            p.2
        );
    }
    let t = &topos[0];
    let c = t.core_limits();
    s += &format!(
        "Every preset's chip: {} cores on a {}x{} tile mesh; each core: {} compartments, {} input axons, \
         {} output axons, {} synapse bits.\n",
        t.cores_per_chip(),
        t.tiles().x,
        t.tiles().y,
        c.compartments,
        c.in_axons,
        c.out_axons,
        c.synapse_bits
    );
    print(&s)
}

fn list_allocators() -> Result<(), Failure> {
    let mut s = String::from("Allocators (--allocator NAME):\n");
    for (name, what) in snn_place::alloc::ALLOCATORS {
        let default = if *name == DEFAULT_ALLOCATOR {
            " (default)"
        } else {
            ""
        };
        s += &format!("  {name:<18} {what}{default}\n");
    }
    s += "Refiners (--refine NAME, after any allocator):\n";
    for (name, what) in snn_place::alloc::REFINERS {
        s += &format!("  {name:<18} {what}\n");
    }
    print(&s)
}

fn gen(args: &GenArgs) -> Result<(), Failure> {
    let opts = GenOptions {
        kind: args.kind,
        blocks: args.blocks,
        seed: args.seed,
    };
    let net = generate(&opts).map_err(|e| Failure {
        code: exit::BAD_INPUT,
        error: anyhow!(e),
    })?;
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("-"));
    let gz = out.extension().is_some_and(|e| e == "gz");
    write_atomic(&out, |w| {
        if gz {
            write_net_gz(&net, w)
        } else {
            write_net(&net, w)
        }
    })
}

/// The largest layer description or Keras file read: they are read whole (the largest Keras fixture,
/// ResNet-50, is 256 KB), so a cap keeps a wrong file from filling memory.
const MAX_TEXT_BYTES: u64 = 64 << 20;

/// Reads a text file of at most [`MAX_TEXT_BYTES`], or standard input for `-`.
fn read_text(path: &Path) -> Result<String, Failure> {
    let too_big =
        || anyhow!("the file is larger than {MAX_TEXT_BYTES} bytes (64 MiB), the most read");
    // One byte past the cap tells a file at the cap from a bigger one.
    let read = |r: &mut dyn io::Read| {
        let mut s = String::new();
        io::Read::read_to_string(&mut io::Read::take(r, MAX_TEXT_BYTES + 1), &mut s).map(|_| s)
    };
    let text = if path.as_os_str() == "-" {
        read(&mut io::stdin())
    } else {
        match std::fs::metadata(path) {
            // A regular file says its size: no need to read 64 MiB to refuse it.
            Ok(m) if m.is_file() && m.len() > MAX_TEXT_BYTES => {
                return Err(Failure {
                    code: exit::BAD_INPUT,
                    error: too_big().context(display(path)),
                })
            }
            _ => std::fs::File::open(path).and_then(|mut f| read(&mut f)),
        }
    };
    let text = text
        .map_err(|e| anyhow!(e).context(display(path)))
        .map_err(fail(exit::BAD_INPUT))?;
    if text.len() as u64 > MAX_TEXT_BYTES {
        return Err(Failure {
            code: exit::BAD_INPUT,
            error: too_big().context(display(path)),
        });
    }
    Ok(text)
}

/// The per-core limits of `--topology`, as the frontend takes them.
fn frontend_limits(spec: &str) -> Result<Limits, Failure> {
    let topo = load_topo(spec)?;
    let c = topo.core_limits();
    Ok(Limits {
        compartments: c.compartments,
        in_axons: c.in_axons,
        out_axons: c.out_axons,
        synapse_bits: c.synapse_bits,
    })
}

/// `--axons`: clap has checked the name.
fn axon_model(out: &FrontendOut) -> AxonModel {
    AxonModel::from_name(&out.axons).unwrap_or_default()
}

fn write_network(net: &Network, out: &Option<PathBuf>) -> Result<(), Failure> {
    let out = out.clone().unwrap_or_else(|| PathBuf::from("-"));
    let gz = out.extension().is_some_and(|e| e == "gz");
    write_atomic(&out, |w| {
        if gz {
            write_net_gz(net, w)
        } else {
            write_net(net, w)
        }
    })
}

fn run_build(args: &BuildArgs) -> Result<(), Failure> {
    let limits = frontend_limits(&args.out.topology)?;
    let text = read_text(&args.layers)?;
    let net = parse_layers(&text)
        .and_then(|spec| build_with(&spec, &limits, axon_model(&args.out)))
        .map_err(|e| anyhow!(e).context(display(&args.layers)))
        .map_err(fail(exit::BAD_INPUT))?;
    write_network(&net, &args.out.out)
}

fn run_import(args: &ImportArgs) -> Result<(), Failure> {
    let limits = frontend_limits(&args.out.topology)?;
    let text = read_text(&args.model)?;
    let opts = KerasOptions {
        rate: args.rate,
        input_rate: args.input_rate,
    };
    let (net, notes) = keras_to_layers(&text, &opts)
        .and_then(|import| {
            let net = build_with(&import.spec, &limits, axon_model(&args.out))?;
            Ok((net, import.notes))
        })
        .map_err(|e| anyhow!(e).context(display(&args.model)))
        .map_err(fail(exit::BAD_INPUT))?;
    // Approximations are worth a line only once they are in a network.
    for note in &notes {
        eprintln!("snn-place: note: {}: {note}", display(&args.model));
    }
    write_network(&net, &args.out.out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `read_text` on a file of `len` bytes (sparse: nothing is written): the text's length or the error.
    fn check(len: u64, expect: &str) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.json");
        std::fs::File::create(&path).unwrap().set_len(len).unwrap();
        let got = match read_text(&path) {
            Ok(text) => text.len().to_string(),
            Err(f) => format!("{} {:#}", f.code, f.error),
        };
        assert_eq!(got.replace(&*dir.path().to_string_lossy(), "DIR"), expect);
    }

    #[test]
    fn text_inputs_are_capped_at_64_mib() {
        check(3, "3");
        check(
            MAX_TEXT_BYTES + 1,
            "2 DIR/model.json: the file is larger than 67108864 bytes (64 MiB), the most read",
        );
    }
}
