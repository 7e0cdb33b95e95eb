//! The `snn-report/1` object that `--json` prints.

use serde::Serialize;
use snn_graph::Network;
use snn_hardware::Topology;

use crate::{Metrics, Placement};

/// The format tag of a report.
pub const REPORT_FORMAT: &str = "snn-report/1";

/// One run's report, in the key order of `shared/spec/report-format.md`, plus `version`,
/// `busiest_link` and `emulation` (extensions the format allows).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub format: &'static str,
    pub version: &'static str,
    pub network: String,
    pub topology: String,
    pub allocator: String,
    pub seed: u64,
    /// The traffic model the allocator minimised: `"unicast"` or `"multicast"` (an extension).
    pub traffic: &'static str,
    /// Whether blocks could share cores (`--pack`; an extension).
    pub pack: bool,
    pub blocks: usize,
    pub edges: usize,
    pub chips_used: usize,
    pub cores_used: usize,
    pub interchip_spikes: f64,
    pub host_spikes: f64,
    pub hop_spikes: f64,
    pub multicast_spikes: f64,
    pub max_link_spikes: f64,
    /// The busiest link as `[from_chip, to_chip]`, or `null` when no spike crosses a chip boundary.
    pub busiest_link: Option<[u32; 2]>,
    pub elapsed_s: f64,
    /// The emulated mean time per timestep, when the emulator ran.
    pub time_per_step_us: Option<f64>,
    /// The emulated mean energy per timestep in microjoules, when the emulator ran (an extension; its
    /// split by component is in `emulation`).
    pub energy_per_step_uj: Option<f64>,
    /// The emulator's report (`snn-report/1`'s `emulation` object), when it ran. Kept as JSON so that
    /// this crate does not depend on the emulator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emulation: Option<serde_json::Value>,
    /// What the ILP allocator or refiner found (objective, status, start and result values, lower bound,
    /// gap, windows), when one ran. Kept as JSON, like `emulation`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ilp: Option<serde_json::Value>,
}

impl Report {
    /// The report of placement `p`, with its metrics computed here.
    pub fn new(net: &Network, topo: &Topology, p: &Placement, elapsed_s: f64) -> Report {
        let m = Metrics::compute(net, topo, p);
        Report {
            format: REPORT_FORMAT,
            version: env!("CARGO_PKG_VERSION"),
            network: net.name.clone(),
            topology: topo.name.clone(),
            allocator: p.allocator.clone(),
            seed: p.seed,
            traffic: "unicast",
            pack: false,
            blocks: net.n_blocks(),
            edges: net.edges().len(),
            chips_used: m.chips_used,
            cores_used: m.cores_used,
            interchip_spikes: m.interchip_spikes,
            host_spikes: m.host_spikes,
            hop_spikes: m.hop_spikes,
            multicast_spikes: m.multicast_spikes,
            max_link_spikes: m.max_link_spikes,
            busiest_link: m.busiest_link.map(|(a, b)| [a.0, b.0]),
            elapsed_s,
            time_per_step_us: None,
            energy_per_step_uj: None,
            emulation: None,
            ilp: None,
        }
    }
}
