//! `advise`: the network emulated as given and with each remedy applied, the remedies ranked by the time
//! per step they save.

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use clap::Args;
use serde_json::json;
use snn_place::graph::{write_net, Network};
use snn_place::hardware::{Topology, DEFAULT_PRESET};
use snn_place::placement::{write_placement, Rules};
use snn_place::{Advice, AdviseOptions, Options, DEFAULT_ALLOCATOR};

use super::emulate::{emu_options, EmuArgs};
use super::output::{number, print, write_atomic};
use super::place::place_error_code;
use super::{display, exit, fail, load_net, load_placement, load_topo, Failure};

#[derive(Args)]
pub(crate) struct AdviseArgs {
    /// The network: an snn-net/1 file (JSON or gzip-compressed), or - for standard input.
    #[arg(value_name = "NET")]
    pub(crate) net: PathBuf,
    /// The placement as it runs (snn-placement/1); without it the network is placed with --allocator,
    /// e.g. --placement p.json.
    #[arg(short, long, value_name = "FILE")]
    pub(crate) placement: Option<PathBuf>,
    /// A preset or an snn-topology/1 file, e.g. --topology loihi.
    #[arg(short, long, value_name = "PRESET|FILE", default_value = DEFAULT_PRESET)]
    pub(crate) topology: String,
    /// The allocator that places the network when no --placement is given, and the remedied networks,
    /// e.g. --allocator greedy.
    #[arg(short, long, value_name = "NAME", default_value = DEFAULT_ALLOCATOR)]
    pub(crate) allocator: String,
    /// Seeds the allocators and the emulator's spike draws, e.g. --seed 7.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub(crate) seed: u64,
    #[command(flatten)]
    pub(crate) emu: EmuArgs,
    /// Also write each remedy's placement (and its network, when the remedy changes it) to DIR, as
    /// REMEDY.placement.json and REMEDY.net.json, so `emulate` can reproduce its figure, e.g. --save out.
    #[arg(long, value_name = "DIR")]
    pub(crate) save: Option<PathBuf>,
    /// Print the advice as one JSON object instead of the table.
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) fn run_advise(args: &AdviseArgs) -> Result<(), Failure> {
    let net = load_net(&args.net)?;
    let topo = load_topo(&args.topology)?;
    let placement = match &args.placement {
        Some(path) => {
            let p = load_placement(path, &net)?;
            let rules = Rules {
                chips: topo.n_chips(),
                packing: true,
            };
            p.validate(&net, &topo, &rules)
                .map_err(|e| anyhow!(e).context(display(path)))
                .map_err(fail(exit::BAD_INPUT))?;
            Some(p)
        }
        None => None,
    };
    let opts = AdviseOptions {
        emu: emu_options(&args.emu, args.seed, &topo),
        place: Options {
            allocator: args.allocator.clone(),
            seed: args.seed,
            traffic: args.emu.traffic(&topo),
            ..Options::default()
        },
    };
    let advice =
        snn_place::advise(&net, &topo, placement.as_ref(), &opts).map_err(|e| Failure {
            code: place_error_code(&e),
            error: anyhow!(e).context(display(&args.net)),
        })?;
    let files = match &args.save {
        Some(dir) => save(dir, &args.net, &net, &topo, &advice)?,
        None => vec![None; advice.remedies.len()],
    };
    let text = if args.json {
        let v = advice_json(&advice, &net, &topo, args, &opts, &files);
        serde_json::to_string_pretty(&v).expect("JSON values serialise") + "\n"
    } else {
        advice_table(&advice, &net, &topo, args)
    };
    print(&text)
}

/// Where a remedy's network and placement were saved.
type Saved = Option<(PathBuf, PathBuf)>;

/// Writes every placed remedy's placement, and its network when it changed, into `dir`.
fn save(
    dir: &Path,
    net_path: &Path,
    net: &Network,
    topo: &Topology,
    advice: &Advice,
) -> Result<Vec<Saved>, Failure> {
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow!(e).context(format!("cannot create {}", dir.display())))
        .map_err(fail(exit::FAILURE))?;
    let mut out = Vec::new();
    for r in &advice.remedies {
        let Some(p) = &r.placement else {
            out.push(None);
            continue;
        };
        let net_file = match &r.network {
            Some(n) => {
                let f = dir.join(format!("{}.net.json", r.name));
                write_atomic(&f, |w| write_net(n, w))?;
                f
            }
            None => net_path.to_path_buf(),
        };
        let the_net = r.network.as_ref().unwrap_or(net);
        let f = dir.join(format!("{}.placement.json", r.name));
        write_atomic(&f, |w| write_placement(p, the_net, topo, w))?;
        out.push(Some((net_file, f)));
    }
    Ok(out)
}

/// The `emulate` arguments that reproduce a remedy's figure.
fn emulate_args(
    args: &AdviseArgs,
    topo: &Topology,
    files: &Saved,
    precompute: bool,
) -> Option<String> {
    let (net, placement) = files.as_ref()?;
    let mut s = format!(
        "emulate {} --placement {} --topology {} --steps {} --seed {} --traffic {}",
        net.display(),
        placement.display(),
        args.topology,
        args.emu.steps,
        args.seed,
        args.emu.traffic(topo).name()
    );
    if precompute {
        s += " --precompute";
    }
    Some(s)
}

fn advice_table(advice: &Advice, net: &Network, topo: &Topology, args: &AdviseArgs) -> String {
    let b = &advice.before;
    let hosts = net.blocks().iter().filter(|b| b.host).count();
    let mut s = format!(
        "{:<10} {}: {} blocks ({hosts} on the host) on {}\n",
        "network",
        net.name,
        net.n_blocks(),
        topo.name
    );
    s += &format!(
        "{:<10} {} us per step, {} uJ per step ({}, {} chip{}, {} cores, {}{} sets the pace)\n",
        "as given",
        number(b.time_us),
        number(b.energy_uj),
        advice.allocator,
        b.chips,
        if b.chips == 1 { "" } else { "s" },
        b.cores,
        if args.emu.precompute {
            "inputs precomputed, "
        } else {
            ""
        },
        b.pace_phase
    );
    if advice.remedies.is_empty() {
        s += "remedies   none: nothing to change\n";
        return s;
    }
    s += "remedies, most time per step saved first (us per step: as given -> remedied):\n";
    let width = advice
        .remedies
        .iter()
        .map(|r| r.name.len())
        .max()
        .unwrap_or(0);
    for (i, r) in advice.remedies.iter().enumerate() {
        let figures = match &r.after {
            Ok(a) => {
                let saved = b.time_us - a.time_us;
                let pct = if b.time_us > 0.0 {
                    100.0 * saved / b.time_us
                } else {
                    0.0
                };
                // Under half a percent is no gain a run would show.
                let verdict = if pct.abs() < 0.5 {
                    "no real change:"
                } else if saved >= 0.0 {
                    "saves"
                } else {
                    "costs"
                };
                format!(
                    "{} -> {} us ({verdict} {} us, {pct:.1}%)",
                    number(b.time_us),
                    number(a.time_us),
                    number(saved.abs())
                )
            }
            Err(e) => format!("not possible: {e}"),
        };
        s += &format!(
            "{:>2}. {:<width$}  {figures}  {}; do: {}\n",
            i + 1,
            r.name,
            r.reason,
            r.action
        );
    }
    s
}

fn advice_json(
    advice: &Advice,
    net: &Network,
    topo: &Topology,
    args: &AdviseArgs,
    opts: &AdviseOptions,
    files: &[Saved],
) -> serde_json::Value {
    let mut v = snn_place::advice_json(advice, net, topo, opts);
    let remedies = v["remedies"].as_array_mut().expect("advice has remedies");
    for ((r, remedy), f) in remedies.iter_mut().zip(&advice.remedies).zip(files) {
        if let Some((n, p)) = f {
            r["network_file"] = json!(n.display().to_string());
            r["placement_file"] = json!(p.display().to_string());
            r["emulate"] = json!(emulate_args(args, topo, f, remedy.precompute));
        }
    }
    v
}
