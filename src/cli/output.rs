//! Output: the report and emulation tables, printing to standard output, atomic file writes through a
//! temporary file, and removing those temporary files on Ctrl-C, SIGTERM or SIGHUP.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use anyhow::Context;
use snn_place::emu::Emulation;
use snn_place::graph::Network;
use snn_place::hardware::Topology;
use snn_place::placement::{write_placement, Placement, Report};
// A figure with at most three decimals and no trailing zeros: the report crate's, which the HTML and
// markdown tables use too.
pub(crate) use snn_place::report::number;

use super::{exit, fail, Failure};

pub(crate) fn save_placement(
    out: &Path,
    p: &Placement,
    net: &Network,
    topo: &Topology,
) -> Result<(), Failure> {
    write_atomic(out, |w| write_placement(p, net, topo, w))
}

pub(crate) fn write_network(net: &Network, out: &Option<PathBuf>) -> Result<(), Failure> {
    let out = out.clone().unwrap_or_else(|| PathBuf::from("-"));
    write_atomic(&out, |w| snn_place::write_net_to(&out, net, w))
}

/// Writes `path` through a temporary file in the same folder, renamed into place once complete, so the
/// path never holds a half-written file. `-` is standard output.
pub(crate) fn write_atomic(
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
    let live = |tmp: &Path, live: bool| {
        let mut list = live_temps();
        if live {
            list.push(tmp.to_path_buf());
        } else {
            list.retain(|p| p != tmp);
        }
    };
    match snn_place::write_atomic_unless(path, &live, write, &|| SIGNALLED.load(Ordering::SeqCst)) {
        // A signal came in during the write: its handler thread removes what is left, says so and
        // exits with 130; this thread waits for it rather than carry on.
        Err(e) if e.kind() == io::ErrorKind::Interrupted && SIGNALLED.load(Ordering::SeqCst) => {
            loop {
                std::thread::park();
            }
        }
        r => r.with_context(context).map_err(fail(exit::FAILURE)),
    }
}

/// Set by the signal itself (not by the handler thread) once SIGINT, SIGTERM or SIGHUP arrives.
static SIGNALLED: LazyLock<Arc<AtomicBool>> = LazyLock::new(|| Arc::new(AtomicBool::new(false)));

/// The temporary files `write_atomic` is writing. On Ctrl-C or SIGTERM the handler removes them before the
/// process exits, as the `tempfile` guards that would otherwise remove them never run then.
pub(crate) static LIVE_TEMPS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

pub(crate) fn live_temps() -> MutexGuard<'static, Vec<PathBuf>> {
    // A panic while the list was held cannot leave it inconsistent: every change is one push or remove.
    LIVE_TEMPS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Ctrl-C (SIGINT), SIGTERM and SIGHUP: remove the temporary files being written, say so on one line and
/// exit with 130, so an interrupted run leaves neither a partial output nor a `.snn-place-*.tmp` file.
/// A signal the parent set to be ignored (nohup's SIGHUP, SIGINT in a script's background job) stays
/// ignored; the others are still handled.
pub(crate) fn on_interrupt_remove_temporary_files() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let handled: Vec<i32> = [SIGINT, SIGTERM, SIGHUP]
        .into_iter()
        .filter(|&s| !ignored(s))
        .collect();
    let Ok(mut signals) = signal_hook::iterator::Signals::new(&handled) else {
        return; // No handler: the signals keep their default action.
    };
    for &sig in &handled {
        // Without it a write that ends before the handler thread runs is kept: see `write_atomic`.
        let _ = signal_hook::flag::register(sig, Arc::clone(&SIGNALLED));
    }
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
pub(crate) fn ignored(sig: i32) -> bool {
    // SAFETY: sigaction with a null new action only reads the current disposition into `old`.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
    }
}

pub(crate) fn print(text: &str) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        // A closed pipe (`snn-place ... | head`) is not an error of ours.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        r => r
            .context("cannot write to standard output")
            .map_err(fail(exit::FAILURE)),
    }
}

pub(crate) fn print_report(
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

pub(crate) fn table(r: &Report, net: &Network, topo: &Topology) -> String {
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
pub(crate) fn ilp_row(ilp: &serde_json::Value) -> String {
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

pub(crate) fn emulation_table(em: &Emulation) -> String {
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
        ("phases", phases(em)),
        ("host", host_row(em)),
        ("energy per step", energy_row(em)),
    ];
    let mut s: String = rows.iter().map(|(k, v)| format!("{k:<18} {v}\n")).collect();
    if let Some(inf) = &em.per_inference {
        s += &format!(
            "{:<18} {} steps: {} us, {} uJ\n",
            "per inference",
            inf.steps,
            number(inf.time_us),
            number(inf.energy_uj)
        );
    }
    s
}

/// The step split as NxSDK's time probe splits it, and the phase that set the pace.
fn phases(em: &Emulation) -> String {
    let p = &em.phases_us;
    format!(
        "spiking {} us, inter-chip {} us, barrier {} us, host {} us (largest: {})",
        number(p.spiking),
        number(p.interchip),
        number(p.barrier),
        number(p.host),
        em.pace_phase
    )
}

/// What the host does every step.
fn host_row(em: &Emulation) -> String {
    let h = &em.host;
    let mut parts = Vec::new();
    if !h.in_loop.is_empty() {
        parts.push(format!(
            "in the loop: {} host block{} ({})",
            h.in_loop.len(),
            if h.in_loop.len() == 1 { "" } else { "s" },
            snn_place::emu::name_list(&h.in_loop, 3)
        ));
    }
    parts.push(if h.round_trip {
        "a round trip every step".to_string()
    } else {
        "no round trip".to_string()
    });
    parts.push(format!("{} probed values read every step", h.probed_values));
    parts.join("; ")
}

/// Mean energy per step and its split, and whose per-event energies priced it when not the chip's own.
fn energy_row(em: &Emulation) -> String {
    let e = &em.energy_per_step_uj;
    let mut s = format!(
        "{} uJ (neurons {}, spikes {}, messages {}, synops {}, mesh {}, inter-chip {}, host {})",
        number(e.mean),
        number(e.neurons),
        number(e.spikes),
        number(e.messages),
        number(e.synops),
        number(e.mesh),
        number(e.interchip),
        number(e.host)
    );
    if e.constants == Some("loihi1") {
        s += "; priced with Loihi 1's per-event energies (none are published for Loihi 2)";
    }
    s
}

pub(crate) fn per_step(x: f64) -> String {
    format!("{} /step", number(x))
}
