//! `compare`: every candidate placed, emulated and ranked.

use std::io::{self, IsTerminal};
use std::path::PathBuf;

use anyhow::anyhow;
use clap::Args;
use snn_place::alloc::Effort;
use snn_place::hardware::DEFAULT_PRESET;
use snn_place::Options;

use super::emulate::{emu_options, EmuArgs};
use super::output::{print, write_atomic};
use super::place::place_error_code;
use super::{display, exit, load_net, load_topo, parse_time_limit, Failure};

#[derive(Args)]
pub(crate) struct CompareArgs {
    /// The network: an snn-net/1 file (JSON or gzip-compressed), or - for standard input.
    #[arg(value_name = "NET")]
    pub(crate) net: PathBuf,
    /// A preset or an snn-topology/1 file, e.g. --topology loihi.
    #[arg(short, long, value_name = "PRESET|FILE", default_value = DEFAULT_PRESET)]
    pub(crate) topology: String,
    /// Comma-separated candidates: allocator names, `allocator+refiner` (e.g. metis+fm), or `all`
    /// (every allocator and metis+fm); by default the `auto` candidates (all but ilp), e.g.
    /// --allocators greedy,metis,metis+fm.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub(crate) allocators: Vec<String>,
    /// Use at most N chips of the topology, chips 0..N, e.g. --chips 8.
    #[arg(long, value_name = "N")]
    pub(crate) chips: Option<u32>,
    /// Seeds every allocator and the emulator, e.g. --seed 7.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub(crate) seed: u64,
    /// Stop time-limited allocators after S seconds (the ILP: 10 s by default), e.g. --time-limit 30.
    #[arg(long, value_name = "S", value_parser = parse_time_limit, allow_negative_numbers = true)]
    pub(crate) time_limit: Option<f64>,
    #[command(flatten)]
    pub(crate) emu: EmuArgs,
    /// How to print the comparison: table, markdown, csv or json (an array of snn-report/1 objects).
    #[arg(long, value_name = "FORMAT", default_value = "table", value_parser = ["table", "markdown", "csv", "json"])]
    pub(crate) format: String,
    /// Also write a self-contained HTML report (board drawings, bar chart, table) to FILE, e.g.
    /// --html report.html.
    #[arg(long, value_name = "FILE")]
    pub(crate) html: Option<PathBuf>,
    /// Leave out the allocator seconds (the one figure that changes from run to run), for reproducible
    /// output.
    #[arg(long)]
    pub(crate) no_timing: bool,
    /// Also run each candidate that can pack (all but greedy and round-robin) with --pack, as a
    /// `<candidate>+pack` row beside it; a candidate can also be named so, e.g. metis+fm+pack.
    #[arg(long)]
    pub(crate) pack: bool,
    /// How far the portfolio rows refine nets above 32,000 blocks, as `snn-place --effort` (the other
    /// candidates have no effort to set), e.g. --effort full.
    #[arg(long, value_name = "NAME", default_value = "default", value_parser = Effort::from_name)]
    pub(crate) effort: Effort,
}

/// `compare`: every candidate placed, emulated and ranked; printed in `--format`, and `--html` written.
pub(crate) fn run_compare(args: &CompareArgs) -> Result<(), Failure> {
    use snn_place::report;
    let net = load_net(&args.net)?;
    let topo = load_topo(&args.topology)?;
    let candidates = snn_place::candidates(&args.allocators).map_err(|e| Failure {
        code: exit::BAD_INPUT,
        error: anyhow!(e),
    })?;
    let deadline = snn_place::deadline(args.time_limit, candidates.iter().map(String::as_str));
    let opts = snn_place::CompareOptions {
        candidates,
        place: Options {
            seed: args.seed,
            chips: args.chips,
            deadline,
            traffic: args.emu.traffic(&topo),
            effort: args.effort,
            ..Options::default()
        },
        emu: emu_options(&args.emu, args.seed, &topo),
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
    match snn_place::none_placed(&rows) {
        None => Ok(()),
        Some(infeasible) => Err(Failure {
            code: if infeasible {
                exit::DOES_NOT_FIT
            } else {
                exit::BAD_INPUT
            },
            error: anyhow!("no allocator placed {}", display(&args.net)),
        }),
    }
}
