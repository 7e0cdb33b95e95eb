//! Comparison reports: one [`Row`] per allocator (its [`Report`], its emulated time per step and what
//! set the pace, or why it failed), ranked by [`rank`], and written as a text [`table`], [`markdown`],
//! [`csv`], [`json`] (an array of `snn-report/1` objects) or one self-contained [`html`] page with a
//! drawing of each placement on the board's chip mesh.
//!
//! The rows are filled by the facade (`snn_place::compare`), which runs the allocators and the emulator:
//! this crate depends on graph, hardware and placement only, never on the allocators or the emulator.

mod html;

pub use html::html;

use snn_graph::Network;
use snn_hardware::{Link, Topology};
use snn_placement::{Placement, Report, Slot};

/// One allocator's line of a comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The candidate's name as asked for: an allocator, or `allocator+refiner+...`.
    pub allocator: String,
    pub outcome: Outcome,
    /// Set by [`rank`]: the fastest placed row (the first of equals in the requested order).
    pub best: bool,
    /// Set by [`rank`]: this row's mean time per step over the best row's (1 for the best).
    pub ratio_to_best: Option<f64>,
}

/// A placement and its figures, or why there is none.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Placed(Box<Placed>),
    /// The error message (does not fit, time limit, a failing backend).
    Failed(String),
}

/// A validated and emulated placement.
#[derive(Clone, Debug, PartialEq)]
pub struct Placed {
    pub placement: Placement,
    /// Its `snn-report/1`, with `time_per_step_us` and `emulation` filled.
    pub report: Report,
    /// Emulated time per step in microseconds: the mean and the 99th percentile.
    pub time_mean_us: f64,
    pub time_p99_us: f64,
    /// Emulated mean energy per step in microjoules (the chips' dynamic energy and the host channel's).
    pub energy_uj: f64,
    /// What set the pace most often, e.g. `"chip 0 core 3"`, `"chip 0 -> chip 1"`, `"host"`.
    pub pace: String,
    /// In how many of the emulated steps it did, as a fraction.
    pub pace_share: f64,
}

impl Row {
    pub fn placed(&self) -> Option<&Placed> {
        match &self.outcome {
            Outcome::Placed(p) => Some(p),
            Outcome::Failed(_) => None,
        }
    }
}

/// Sorts the rows by mean time per step, then p99, then inter-chip spikes (equal times say nothing about
/// traffic, and less of it leaves more headroom); stable, so full ties keep the requested order; failed
/// rows last. Then it marks the best and sets every placed row's ratio to it.
pub fn rank(rows: &mut [Row]) {
    rows.sort_by(|a, b| {
        let key = |r: &Row| {
            r.placed()
                .map(|p| (p.time_mean_us, p.time_p99_us, traffic(&p.report)))
        };
        match (key(a), key(b)) {
            (Some(x), Some(y)) => {
                x.0.total_cmp(&y.0)
                    .then(x.1.total_cmp(&y.1))
                    .then(x.2.total_cmp(&y.2))
            }
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }
    });
    let best = rows
        .first()
        .and_then(|r| r.placed())
        .map(|p| p.time_mean_us);
    for (i, r) in rows.iter_mut().enumerate() {
        r.best = i == 0 && best.is_some();
        r.ratio_to_best = match (r.placed(), best) {
            (Some(p), Some(b)) if b > 0.0 => Some(p.time_mean_us / b),
            (Some(_), Some(_)) => Some(1.0),
            _ => None,
        };
    }
}

/// The inter-chip traffic under the model the allocator optimised: `interchip_spikes`, or
/// `multicast_spikes` when the report's `traffic` is multicast.
pub fn traffic(r: &snn_placement::Report) -> f64 {
    if r.traffic == "multicast" {
        r.multicast_spikes
    } else {
        r.interchip_spikes
    }
}

/// Whether the rows were placed under the multicast model (the traffic column then shows it).
fn multicast(rows: &[Row]) -> bool {
    rows.iter()
        .filter_map(|r| r.placed())
        .any(|p| p.report.traffic == "multicast")
}

/// What the text formats show.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Style {
    /// Show the allocator's seconds (off for reproducible output: the only figure that varies by run).
    pub timing: bool,
}

impl Default for Style {
    fn default() -> Style {
        Style { timing: true }
    }
}

/// A figure with at most three decimals and no trailing zeros.
pub fn number(x: f64) -> String {
    let s = format!("{x:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

/// The column of the pace (and of a failed row's reason): left-aligned.
pub(crate) const PACE_COLUMN: usize = 12;

const HEADERS: [&str; 14] = [
    "",
    "allocator",
    "chips",
    "cores",
    "inter-chip",
    "hops",
    "max link",
    "host",
    "us/step",
    "p99",
    "uJ/step",
    "x best",
    "pace",
    "seconds",
];

/// The cells of one row, in [`HEADERS`] order (the failure reason in the `pace` column).
fn cells(r: &Row, style: Style) -> Vec<String> {
    let mark = if r.best { "*" } else { "" }.to_string();
    let mut c = match r.placed() {
        Some(p) => {
            let m = &p.report;
            vec![
                mark,
                r.allocator.clone(),
                m.chips_used.to_string(),
                m.cores_used.to_string(),
                number(traffic(m)),
                number(m.hop_spikes),
                number(m.max_link_spikes),
                number(m.host_spikes),
                number(p.time_mean_us),
                number(p.time_p99_us),
                number(p.energy_uj),
                r.ratio_to_best
                    .map(|x| format!("{x:.2}"))
                    .unwrap_or_default(),
                format!("{} ({:.0}%)", p.pace, 100.0 * p.pace_share),
                format!("{:.3}", m.elapsed_s),
            ]
        }
        None => {
            let why = match &r.outcome {
                Outcome::Failed(e) => format!("failed: {e}"),
                Outcome::Placed(_) => String::new(),
            };
            let mut v = vec![mark, r.allocator.clone()];
            v.extend(vec!["-".to_string(); 10]);
            v.push(why);
            v.push("-".into());
            v
        }
    };
    if !style.timing {
        c.pop();
    }
    c
}

/// The headers and every row's cells, as the table formats show them.
pub(crate) fn all_cells(rows: &[Row], style: Style) -> (Vec<&'static str>, Vec<Vec<String>>) {
    (
        headers(rows, style),
        rows.iter().map(|r| cells(r, style)).collect(),
    )
}

fn headers(rows: &[Row], style: Style) -> Vec<&'static str> {
    let n = if style.timing { 14 } else { 13 };
    let mut h = HEADERS[..n].to_vec();
    if multicast(rows) {
        h[4] = "multicast";
    }
    h
}

/// A plain-text table, numbers right-aligned, the best row marked `*`; figures are per timestep
/// (spikes) and microseconds.
pub fn table(rows: &[Row], style: Style) -> String {
    let head = headers(rows, style);
    let body: Vec<Vec<String>> = rows.iter().map(|r| cells(r, style)).collect();
    let mut width: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for row in &body {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    // The pace column and the failure reason it holds are left-aligned, as is the name (1).
    let left = |i: usize| i == 1 || i == PACE_COLUMN || i == 0;
    let line = |cells: Vec<String>| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(&width).enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            let pad = w - c.chars().count();
            let last = i + 1 == cells.len();
            if left(i) {
                s.push_str(c);
                if !last {
                    s.push_str(&" ".repeat(pad));
                }
            } else {
                s.push_str(&" ".repeat(pad));
                s.push_str(c);
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut s = line(head.iter().map(|h| h.to_string()).collect());
    for row in body {
        s += &line(row);
    }
    s
}

/// A GitHub-flavoured Markdown table with the same columns as [`table`].
pub fn markdown(rows: &[Row], style: Style) -> String {
    let head = headers(rows, style);
    let esc = |c: &str| c.replace('|', "\\|");
    let mut s = format!("| {} |\n", head.join(" | "));
    s += &format!(
        "|{}|\n",
        head.iter()
            .enumerate()
            .map(|(i, _)| if i == 1 || i == PACE_COLUMN || i == 0 {
                "---"
            } else {
                "---:"
            })
            .collect::<Vec<_>>()
            .join("|")
    );
    for r in rows {
        let c: Vec<String> = cells(r, style).iter().map(|c| esc(c)).collect();
        s += &format!("| {} |\n", c.join(" | "));
    }
    s
}

/// The CSV header; [`csv`] writes one line per row under it.
pub const CSV_HEADER: &str = "rank,best,allocator,status,chips_used,cores_used,interchip_spikes,\
hop_spikes,max_link_spikes,host_spikes,time_per_step_us,time_p99_us,ratio_to_best,pace,pace_share,\
elapsed_s,error,energy_per_step_uj";

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Comma-separated values (RFC 4180 quoting), full precision, empty cells where a row has no figure.
/// Without `style.timing`, `elapsed_s` is left empty.
pub fn csv(rows: &[Row], style: Style) -> String {
    let mut s = String::from(CSV_HEADER);
    s.push('\n');
    for (i, r) in rows.iter().enumerate() {
        let f: Vec<String> = match &r.outcome {
            Outcome::Placed(p) => {
                let m = &p.report;
                vec![
                    (i + 1).to_string(),
                    r.best.to_string(),
                    r.allocator.clone(),
                    "ok".into(),
                    m.chips_used.to_string(),
                    m.cores_used.to_string(),
                    m.interchip_spikes.to_string(),
                    m.hop_spikes.to_string(),
                    m.max_link_spikes.to_string(),
                    m.host_spikes.to_string(),
                    p.time_mean_us.to_string(),
                    p.time_p99_us.to_string(),
                    r.ratio_to_best.map(|x| x.to_string()).unwrap_or_default(),
                    p.pace.clone(),
                    p.pace_share.to_string(),
                    if style.timing {
                        m.elapsed_s.to_string()
                    } else {
                        String::new()
                    },
                    String::new(),
                    p.energy_uj.to_string(),
                ]
            }
            Outcome::Failed(e) => {
                let mut v = vec![
                    (i + 1).to_string(),
                    "false".into(),
                    r.allocator.clone(),
                    "failed".into(),
                ];
                v.extend(vec![String::new(); 12]);
                v.push(e.clone());
                v.push(String::new());
                v
            }
        };
        let f: Vec<String> = f.iter().map(|x| csv_field(x)).collect();
        s += &f.join(",");
        s.push('\n');
    }
    s
}

/// One `snn-report/1` object per row, in rank order, each with `rank`, `best` and `ratio_to_best`
/// added; a failed row has the report's identifying keys and `error` instead of figures. Without
/// `style.timing`, `elapsed_s` is 0.
pub fn json(
    rows: &[Row],
    net: &Network,
    topo: &Topology,
    seed: u64,
    style: Style,
) -> serde_json::Value {
    use serde_json::{json, Value};
    let all = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut v = match &r.outcome {
                Outcome::Placed(p) => {
                    let mut v = serde_json::to_value(&p.report).expect("reports serialise");
                    if !style.timing {
                        v["elapsed_s"] = json!(0.0);
                    }
                    v
                }
                Outcome::Failed(e) => json!({
                    "format": snn_placement::REPORT_FORMAT,
                    "version": env!("CARGO_PKG_VERSION"),
                    "network": net.name,
                    "topology": topo.name,
                    "allocator": r.allocator,
                    "seed": seed,
                    "blocks": net.n_blocks(),
                    "edges": net.edges().len(),
                    "error": e,
                }),
            };
            if let Value::Object(m) = &mut v {
                m.insert("rank".into(), json!(i + 1));
                m.insert("best".into(), json!(r.best));
                m.insert("ratio_to_best".into(), json!(r.ratio_to_best));
            }
            v
        })
        .collect();
    Value::Array(all)
}

/// Expected spikes per timestep on every directed chip-to-chip link (indexed by [`Link::slot`]) under
/// dimension-order routing, as `Metrics` counts them. The placement must have been validated.
pub fn link_loads(net: &Network, topo: &Topology, p: &Placement) -> Vec<f64> {
    let slots = p.slots();
    let mut links = vec![0.0f64; topo.n_link_slots()];
    for e in net.edges() {
        if let (Some(a), Some(b)) = (slots[e.src.idx()].chip(), slots[e.dst.idx()].chip()) {
            if a != b {
                for l in topo.route(a, b) {
                    links[l.slot()] += e.spikes;
                }
            }
        }
    }
    links
}

/// Cores in use on every chip, indexed by chip id.
pub fn cores_per_chip(topo: &Topology, p: &Placement) -> Vec<u32> {
    let mut cores: Vec<Slot> = p
        .slots()
        .iter()
        .copied()
        .filter(|s| *s != Slot::Host)
        .collect();
    cores.sort_unstable();
    cores.dedup();
    let mut n = vec![0u32; topo.n_chips() as usize];
    for s in cores {
        if let Some(c) = s.chip() {
            n[c.idx()] += 1;
        }
    }
    n
}

/// The link a slot index names, and the chip it leads to.
pub(crate) fn link_ends(topo: &Topology, slot: usize) -> (Link, snn_hardware::ChipId) {
    let l = Link::from_slot(slot);
    (l, topo.link_target(l))
}

#[cfg(test)]
mod tests;
