//! The `snn-place` command line: parses arguments, dispatches to a command in `cli/`, and picks the exit
//! code. Nothing else in the workspace touches the terminal or the environment.

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use cli::advise::AdviseArgs;
use cli::build::BuildArgs;
use cli::compare::CompareArgs;
use cli::emulate::EmulateArgs;
use cli::gen::GenArgs;
use cli::import::ImportArgs;
use cli::place::PlaceArgs;
use cli::{exit, output};

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
  snn-place advise net.json --placement placement.json
      What to change to shorten the timestep (precompute, host layers in the loop, allocator, packing,
      chips, probes), ranked by the time per step each saves.

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
    /// Emulate a network as given and with each remedy applied (precompute or move the host layers in
    /// the loop on chip, another allocator, packing, fewer chips, fewer probed values), ranked by the
    /// time per step they save, e.g. `snn-place advise net.json --placement p.json`.
    Advise(AdviseArgs),
}

fn main() -> ExitCode {
    output::on_interrupt_remove_temporary_files();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version to stdout (exit 0) and usage errors to stderr (exit 2).
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::BAD_INPUT } else { 0 });
        }
    };
    let result = match cli.command {
        Some(Command::Topologies { json }) => cli::listings::list_topologies(json),
        Some(Command::Allocators) => cli::listings::list_allocators(),
        Some(Command::Gen(args)) => cli::gen::gen(&args),
        Some(Command::Emulate(args)) => cli::emulate::run_emulate(&args),
        Some(Command::Build(args)) => cli::build::run_build(&args),
        Some(Command::Import(args)) => cli::import::run_import(&args),
        Some(Command::Compare(args)) => cli::compare::run_compare(&args),
        Some(Command::Advise(args)) => cli::advise::run_advise(&args),
        None => cli::place::run_place(&cli.place),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("snn-place: error: {:#}", f.error);
            ExitCode::from(f.code)
        }
    }
}
