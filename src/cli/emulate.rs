//! `emulate`: a saved placement's time per timestep; also the emulator's options and run for `--emulate`
//! and `compare`.

use std::io::{self, IsTerminal};
use std::path::PathBuf;

use anyhow::anyhow;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use snn_place::emu::{EmuOptions, Emulation};
use snn_place::graph::Network;
use snn_place::hardware::{Topology, TrafficModel, DEFAULT_PRESET};
use snn_place::placement::{Placement, Report};

use super::output::print_report;
use super::{display, exit, fail, load_net, load_placement, load_topo, parse_traffic, Failure};

/// How to emulate.
#[derive(Args)]
pub(crate) struct EmuArgs {
    /// Timesteps to emulate (with --emulate or `emulate`), e.g. --steps 1000.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub(crate) steps: u32,
    /// Send input spikes ahead of the run (nengo-loihi's precompute=True): no host round trip per step,
    /// inputs cost nothing per step; probe reads still do. An error when the host is in the loop.
    #[arg(long)]
    pub(crate) precompute: bool,
    /// Timesteps per inference (each input presented this long): also report the time and energy per
    /// inference, e.g. --steps-per-inference 30.
    #[arg(long, value_name = "N")]
    pub(crate) steps_per_inference: Option<u32>,
    /// How spikes reach other chips: unicast (one message per destination core, Loihi 1) or multicast
    /// (one per destination chip, replicated there: Loihi 2, SpiNNaker). The traffic-aware allocators,
    /// refiners and the ILP minimise it; the emulator counts messages by it. Default: the topology's
    /// (multicast on the Loihi 2 boards, unicast on the others), e.g. --traffic multicast.
    #[arg(long, value_name = "MODEL", value_parser = parse_traffic)]
    pub(crate) traffic: Option<TrafficModel>,
}

impl EmuArgs {
    /// `--traffic`, or the topology's own model when the flag is not given.
    pub(crate) fn traffic(&self, topo: &Topology) -> TrafficModel {
        self.traffic.unwrap_or(topo.traffic)
    }
}

#[derive(Args)]
pub(crate) struct EmulateArgs {
    /// The network: an snn-net/1 file (JSON or gzip-compressed), or - for standard input.
    #[arg(value_name = "NET")]
    pub(crate) net: PathBuf,
    /// The placement to emulate (snn-placement/1, as --out writes it), e.g. --placement p.json.
    #[arg(short, long, value_name = "FILE")]
    pub(crate) placement: PathBuf,
    /// A preset or an snn-topology/1 file, e.g. --topology loihi.
    #[arg(short, long, value_name = "PRESET|FILE", default_value = DEFAULT_PRESET)]
    pub(crate) topology: String,
    /// Seeds the emulator's spike draws; the same seed gives the same report, e.g. --seed 7.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub(crate) seed: u64,
    #[command(flatten)]
    pub(crate) emu: EmuArgs,
    /// Print an snn-report/1 JSON object (with the emulation object) instead of the table.
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) fn run_emulate(args: &EmulateArgs) -> Result<(), Failure> {
    let net = load_net(&args.net)?;
    let topo = load_topo(&args.topology)?;
    let placement = load_placement(&args.placement, &net)?;
    // The placement must fit this topology before any figure is computed from it.
    let mut report =
        snn_place::saved_placement_report(&net, &topo, &placement, args.emu.traffic(&topo))
            .map_err(|e| anyhow!(e).context(display(&args.placement)))
            .map_err(fail(exit::BAD_INPUT))?;
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
pub(crate) fn emu_options(args: &EmuArgs, seed: u64, topo: &Topology) -> EmuOptions {
    EmuOptions {
        steps: args.steps,
        seed,
        precompute: args.precompute,
        traffic: args.traffic(topo),
        steps_per_inference: args.steps_per_inference,
    }
}

/// Runs the emulator with a progress bar on standard error when it is a terminal and the output is not
/// JSON, and fills the report.
pub(crate) fn emulate(
    net: &Network,
    topo: &Topology,
    placement: &Placement,
    args: &EmuArgs,
    seed: u64,
    json: bool,
    report: &mut Report,
) -> Result<Emulation, Failure> {
    let opts = emu_options(args, seed, topo);
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
