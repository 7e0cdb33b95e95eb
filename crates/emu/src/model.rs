//! The per-step time model of a placed network (the formulas are in the crate docs): [`Model`] reduces a
//! network, a topology and a placement to a few coefficients per source block, so one timestep costs one
//! pass over the sources and their merged targets (cores' message chains, links), whatever the draw.

use std::collections::BTreeMap;
use std::sync::Arc;

use rand::Rng;
use rand_distr::{Binomial, Distribution};
use snn_graph::{BlockId, Network};
use snn_hardware::{ChipId, CoreId, CostModel, Link, Topology, TrafficModel};
use snn_placement::{Nets, Placement, Slot};

use crate::binomial::BinomialTable;

/// How a block's firing count is drawn each step.
#[derive(Clone, Debug)]
pub(crate) enum Fire {
    /// An on-chip block with a rate strictly between 0 and 1: Binomial(compartments, rate), by table
    /// inversion (blocks with the same compartments and rate share the table).
    Table {
        table: Arc<BinomialTable>,
        mean: f64,
    },
    /// The same, by BTPE, when the table would be too wide (cores far larger than Loihi's).
    Binomial { dist: Binomial, mean: f64 },
    /// The same count every step: host blocks (whose edges carry their mean spikes every step) and
    /// on-chip blocks with rate 0 or at least 1 (no randomness to draw).
    Fixed(f64),
}

/// Binomial tables by (compartments, rate bits), so blocks of one layer share one.
type Tables = BTreeMap<(u64, u64), Option<Arc<BinomialTable>>>;

impl Fire {
    fn new(compartments: u64, rate: f64, tables: &mut Tables) -> Fire {
        let mean = compartments as f64 * rate;
        if rate > 0.0 && rate < 1.0 {
            let table = tables
                .entry((compartments, rate.to_bits()))
                .or_insert_with(|| BinomialTable::new(compartments, rate).map(Arc::new));
            if let Some(table) = table {
                return Fire::Table {
                    table: Arc::clone(table),
                    mean,
                };
            }
            if let Ok(dist) = Binomial::new(compartments, rate) {
                return Fire::Binomial { dist, mean };
            }
        }
        Fire::Fixed(mean)
    }

    /// The expected firing count.
    pub(crate) fn mean(&self) -> f64 {
        match self {
            Fire::Table { mean, .. } | Fire::Binomial { mean, .. } => *mean,
            Fire::Fixed(f) => *f,
        }
    }

    /// One step's firing count.
    pub(crate) fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            Fire::Table { table, .. } => table.sample(rng) as f64,
            Fire::Binomial { dist, .. } => dist.sample(rng) as f64,
            Fire::Fixed(f) => *f,
        }
    }
}

/// One block as a source of load.
#[derive(Clone, Debug)]
struct Source {
    fire: Fire,
    /// The dense index of the block's core, or `NO_CORE` for a host block.
    core: u32,
    /// Messages sent per unit of scale, priced: sum of `spikes x message_send_ns` over its out-edges.
    send_ns: f64,
    /// Messages over the host link per unit of scale.
    host_msgs: f64,
    /// Messages between different chips per unit of scale.
    interchip_msgs: f64,
    /// Energy per unit of scale of the events its messages cause, in pJ, by [`Energy`] component
    /// (messages, synops, mesh, inter-chip, host; neurons and spikes are counted apart).
    energy_pj: [f64; 5],
    /// Its targets in [`Model::targets`].
    targets: (u32, u32),
}

/// The energy components of a step, in the order of [`StepOut::energy_pj`].
pub(crate) const ENERGY_PARTS: [&str; 7] = [
    "neurons",
    "spikes",
    "messages",
    "synops",
    "mesh",
    "interchip",
    "host",
];

/// The time phases of a step, in the order of [`StepOut::phases_ns`], named as NxSDK's time probe names
/// them: spiking (the cores), inter-chip (links beyond the cores), barrier, host (management).
pub(crate) const PHASES: [&str; 4] = ["spiking", "interchip", "barrier", "host"];

const NO_CORE: u32 = u32::MAX;

/// What set a step's pace, as an index: cores first, then links, then the host link, then the barrier.
pub(crate) type PaceId = u32;

/// One step's figures.
#[derive(Copy, Clone, Debug, PartialEq)]
pub(crate) struct StepOut {
    pub time_ns: f64,
    pub pace: PaceId,
    pub interchip_msgs: f64,
    pub host_msgs: f64,
    /// The step's time by phase ([`PHASES`]); they sum to `time_ns`.
    pub phases_ns: [f64; 4],
    /// The step's energy by component ([`ENERGY_PARTS`]), in pJ.
    pub energy_pj: [f64; 7],
}

/// A step's working memory, reused across steps.
pub(crate) struct Scratch {
    neuron: Vec<f64>,
    /// Message chains of the cores, then messages per link.
    acc: Vec<f64>,
}

/// What one candidate for the pace is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum PaceOf {
    Core(ChipId, CoreId),
    Link(ChipId, ChipId),
    Host,
    Barrier,
}

/// The network, topology and placement reduced to per-step coefficients (see the module docs).
#[derive(Clone, Debug)]
pub(crate) struct Model {
    /// One per block, in block order (so draws happen in block order).
    sources: Vec<Source>,
    /// (target, coefficient) runs, one per source, sorted by target and merged: a target below
    /// `cores.len()` is a core's message chain (ns per unit of scale), above it a link's messages.
    targets: Vec<(u32, f64)>,
    /// The cores holding at least one block, sorted.
    cores: Vec<(ChipId, CoreId)>,
    /// Per core: compartments x (access + update), summed over its blocks.
    neuron_base: Vec<f64>,
    /// The (from, to) of each link that any inter-chip edge crosses, in link slot order.
    links: Vec<(ChipId, ChipId)>,
    spike_fire_ns: f64,
    link_message_ns: f64,
    host_message_ns: f64,
    /// The longest inter-chip route's hops x `link_hop_ns` (0 without inter-chip traffic).
    link_latency_ns: f64,
    /// The host phase's fixed part: `host_latency_ns`, `host_round_trip_ns` when a round trip is needed,
    /// and the probed values x `probe_value_ns`; 0 when the host exchanges nothing per step.
    host_fixed_ns: f64,
    /// Whether the host exchanges anything with the chips every step (so it has a phase, and is a
    /// candidate for the pace).
    has_host: bool,
    /// Whether every step needs a host round trip: the host is in the loop or inputs are not
    /// precomputed.
    round_trip: bool,
    /// Compartments the host reads every step (see [`crate::host::probed_blocks`]).
    probed_values: u64,
    spike_fire_pj: f64,
    /// Every on-chip compartment's access and update energy, per step.
    neuron_pj: f64,
    /// The longest tile route of an on-chip edge with traffic.
    noc_ns: f64,
    barrier_ns: f64,
}

impl Model {
    /// Builds the model. The placement must have one valid slot per block (the caller validates it).
    pub(crate) fn new(
        net: &Network,
        topo: &Topology,
        p: &Placement,
        precompute: bool,
        traffic: TrafficModel,
        in_loop: bool,
    ) -> Model {
        let cost = &topo.cost;
        let probed_values: u64 = crate::host::probed_blocks(net)
            .iter()
            .map(|&b| net.block(b).compartments)
            .sum();
        let inputs = net
            .edges()
            .iter()
            .any(|e| net.block(e.src).host && !net.block(e.dst).host);
        let round_trip = in_loop || (inputs && !precompute);
        let has_host = round_trip || probed_values > 0;
        let slots = p.slots();
        let mut cores: Vec<(ChipId, CoreId)> = slots
            .iter()
            .filter_map(|s| match *s {
                Slot::Core { chip, core } => Some((chip, core)),
                Slot::Host => None,
            })
            .collect();
        cores.sort_unstable();
        cores.dedup();
        let core_idx = |s: Slot| match s {
            Slot::Core { chip, core } => cores
                .binary_search(&(chip, core))
                .map_or(NO_CORE, |i| i as u32),
            Slot::Host => NO_CORE,
        };

        // The links any inter-chip edge with traffic crosses, numbered densely in slot order.
        let mut link_idx = vec![u32::MAX; topo.n_link_slots()];
        for e in net.edges().iter().filter(|e| e.spikes > 0.0) {
            if let (Some(a), Some(b)) = (slots[e.src.idx()].chip(), slots[e.dst.idx()].chip()) {
                for l in topo.route(a, b) {
                    link_idx[l.slot()] = 0;
                }
            }
        }
        let mut links = Vec::new();
        for (slot, idx) in link_idx.iter_mut().enumerate() {
            if *idx == 0 {
                *idx = links.len() as u32;
                let l = Link::from_slot(slot);
                links.push((l.from, topo.link_target(l)));
            }
        }

        let mut out_edges: Vec<Vec<usize>> = vec![Vec::new(); net.n_blocks()];
        for (i, e) in net.edges().iter().enumerate() {
            out_edges[e.src.idx()].push(i);
        }

        let n_cores = cores.len() as u32;
        let mut neuron_base = vec![0.0; cores.len()];
        let mut sources = Vec::with_capacity(net.n_blocks());
        let mut targets: Vec<(u32, f64)> = Vec::with_capacity(net.edges().len());
        let mut run: Vec<(u32, f64)> = Vec::new();
        // This source's messages to other chips: (destination chip, spikes per unit of scale).
        let mut remote: Vec<(ChipId, f64)> = Vec::new();
        // Under multicast, one per destination chip, the largest pair total there (replicated at the
        // chip), as `Metrics` counts them: the nets' per-chip maxima. Nets come in source order.
        let nets = (traffic == TrafficModel::Multicast).then(|| Nets::new(net));
        let mut next_net = 0;
        let chip_of = |x: BlockId| slots[x.idx()].chip();
        let (mut max_hops, mut noc_ns, mut neuron_pj) = (0u32, 0.0f64, 0.0f64);
        let mut tables = Tables::new();
        for (b, block) in net.blocks().iter().enumerate() {
            let src_slot = slots[b];
            let core = core_idx(src_slot);
            if core != NO_CORE {
                neuron_base[core as usize] += block.compartments as f64
                    * (cost.compartment_access_ns + cost.compartment_update_ns);
                neuron_pj += block.compartments as f64
                    * (cost.compartment_access_pj + cost.compartment_update_pj);
            }
            let fire = if block.host {
                Fire::Fixed(0.0)
            } else {
                Fire::new(block.compartments, block.rate, &mut tables)
            };
            let (mut send_ns, mut host_msgs, mut interchip_msgs) = (0.0, 0.0, 0.0);
            // Messages, synops, mesh, inter-chip, host: as `Source::energy_pj`.
            let mut energy = [0.0f64; 5];
            run.clear();
            remote.clear();
            for &i in &out_edges[b] {
                let e = &net.edges()[i];
                let dst_slot = slots[e.dst.idx()];
                let crosses =
                    matches!((src_slot.chip(), dst_slot.chip()), (Some(a), Some(c)) if a != c);
                // Multicast sends one message per other chip: counted below, per chip.
                if core != NO_CORE && !(crosses && traffic == TrafficModel::Multicast) {
                    send_ns += e.spikes * cost.message_send_ns;
                    energy[0] += e.spikes * cost.message_send_pj;
                }
                let dst_core = core_idx(dst_slot);
                if dst_core != NO_CORE {
                    let coef = e.spikes * cost.message_receive_ns + e.synops() * cost.synop_ns;
                    run.push((dst_core, coef));
                    energy[0] += e.spikes * cost.message_receive_pj;
                    energy[1] += e.synops() * cost.synop_pj;
                }
                if let (Slot::Core { core: ca, .. }, Slot::Core { core: cb, .. }) =
                    (src_slot, dst_slot)
                {
                    // Tile hops from the source's tile to the destination's (on another chip: between
                    // the same tile positions, an approximation of the routes to and from the chip's edge).
                    energy[2] += e.spikes * tile_route_pj(topo, cost, ca, cb);
                }
                match (src_slot, dst_slot) {
                    (Slot::Core { chip: a, core: ca }, Slot::Core { chip: b, core: cb }) => {
                        if a != b {
                            if traffic == TrafficModel::Unicast {
                                remote.push((b, e.spikes));
                            }
                        } else if e.spikes > 0.0 {
                            noc_ns = noc_ns.max(tile_route_ns(topo, cost, ca, cb));
                        }
                    }
                    (Slot::Host, Slot::Host) => {}
                    // With precompute, input spikes are sent before the run (nengo-loihi's
                    // `precompute=True`); they still reach their cores, but not over the host link.
                    (Slot::Host, Slot::Core { .. }) if precompute => {}
                    _ => host_msgs += e.spikes,
                }
            }
            if let Some(nets) = &nets {
                if nets.src.get(next_net) == Some(&BlockId(b as u32)) {
                    nets.remote(next_net, &chip_of, &mut remote);
                    next_net += 1;
                }
            }
            if let Some(a) = src_slot.chip() {
                for &(b, spikes) in &remote {
                    interchip_msgs += spikes;
                    if traffic == TrafficModel::Multicast {
                        send_ns += spikes * cost.message_send_ns;
                        energy[0] += spikes * cost.message_send_pj;
                    }
                    energy[3] += spikes * topo.chip_hops(a, b) as f64 * cost.link_message_pj;
                    if spikes > 0.0 {
                        max_hops = max_hops.max(topo.chip_hops(a, b));
                        for l in topo.route(a, b) {
                            run.push((n_cores + link_idx[l.slot()], spikes));
                        }
                    }
                }
            }
            // A stable sort keeps edge order within a target, so the merged sums are the same every run.
            run.sort_by_key(|t| t.0);
            let start = targets.len() as u32;
            for group in run.chunk_by(|x, y| x.0 == y.0) {
                let coef: f64 = group.iter().map(|t| t.1).sum();
                if coef != 0.0 {
                    targets.push((group[0].0, coef));
                }
            }
            energy[4] = host_msgs * cost.host_message_pj;
            sources.push(Source {
                fire,
                core,
                send_ns,
                host_msgs,
                interchip_msgs,
                energy_pj: energy,
                targets: (start, targets.len() as u32),
            });
        }
        Model {
            sources,
            targets,
            barrier_ns: barrier_ns(topo, &cores),
            cores,
            neuron_base,
            links,
            spike_fire_ns: cost.spike_fire_ns,
            link_message_ns: cost.link_message_ns,
            host_message_ns: cost.host_message_ns,
            link_latency_ns: max_hops as f64 * cost.link_hop_ns,
            host_fixed_ns: if has_host {
                cost.host_latency_ns
                    + if round_trip {
                        cost.host_round_trip_ns
                    } else {
                        0.0
                    }
                    + probed_values as f64 * cost.probe_value_ns
            } else {
                0.0
            },
            has_host,
            round_trip,
            probed_values,
            spike_fire_pj: cost.spike_fire_pj,
            neuron_pj,
            noc_ns,
        }
    }

    pub(crate) fn scratch(&self) -> Scratch {
        Scratch {
            neuron: vec![0.0; self.cores.len()],
            acc: vec![0.0; self.cores.len() + self.links.len()],
        }
    }

    pub(crate) fn n_links(&self) -> usize {
        self.links.len()
    }

    pub(crate) fn links(&self) -> &[(ChipId, ChipId)] {
        &self.links
    }

    pub(crate) fn barrier_ns(&self) -> f64 {
        self.barrier_ns
    }

    pub(crate) fn round_trip(&self) -> bool {
        self.round_trip
    }

    pub(crate) fn probed_values(&self) -> u64 {
        self.probed_values
    }

    pub(crate) fn pace_of(&self, id: PaceId) -> PaceOf {
        let (n_cores, n_links) = (self.cores.len(), self.links.len());
        let i = id as usize;
        if i < n_cores {
            let (chip, core) = self.cores[i];
            PaceOf::Core(chip, core)
        } else if i < n_cores + n_links {
            let (a, b) = self.links[i - n_cores];
            PaceOf::Link(a, b)
        } else if i == n_cores + n_links {
            PaceOf::Host
        } else {
            PaceOf::Barrier
        }
    }

    /// The expected firing counts' step: every draw replaced by its mean.
    pub(crate) fn expected_step(&self, s: &mut Scratch) -> StepOut {
        self.step(|f| f.mean(), s)
    }

    /// One step with the firing counts `fire` gives, asked of each block in block order. Afterwards
    /// [`Scratch::link_msgs`] holds the step's messages per link.
    pub(crate) fn step(&self, mut fire: impl FnMut(&Fire) -> f64, s: &mut Scratch) -> StepOut {
        let n_cores = self.cores.len();
        s.neuron.copy_from_slice(&self.neuron_base);
        s.acc.fill(0.0);
        let (mut interchip, mut host) = (0.0, 0.0);
        let mut energy = [0.0f64; 7];
        energy[0] = self.neuron_pj;
        for src in &self.sources {
            let f = fire(&src.fire);
            let mean = src.fire.mean();
            let scale = if mean > 0.0 { f / mean } else { 1.0 };
            if src.core != NO_CORE {
                s.neuron[src.core as usize] += f * self.spike_fire_ns + scale * src.send_ns;
                energy[1] += f * self.spike_fire_pj;
            }
            if scale == 0.0 {
                continue;
            }
            interchip += scale * src.interchip_msgs;
            host += scale * src.host_msgs;
            for (sum, &e) in energy[2..].iter_mut().zip(&src.energy_pj) {
                *sum += scale * e;
            }
            for &(t, coef) in &self.targets[src.targets.0 as usize..src.targets.1 as usize] {
                s.acc[t as usize] += scale * coef;
            }
        }

        // The slowest core, then the busiest link; ties go to the lowest index.
        let mut best: Option<(f64, PaceId)> = None;
        let mut consider = |t: f64, id: usize| {
            if best.is_none_or(|(b, _)| t > b) {
                best = Some((t, id as PaceId));
            }
        };
        let mut slowest_core = 0.0f64;
        for (i, (&n, &m)) in s.neuron.iter().zip(&s.acc[..n_cores]).enumerate() {
            slowest_core = slowest_core.max(n.max(m));
            consider(n.max(m), i);
        }
        let mut link_ns = 0.0;
        let mut busiest: Option<(f64, usize)> = None;
        for (i, &m) in s.acc[n_cores..].iter().enumerate() {
            if busiest.is_none_or(|(b, _)| m > b) {
                busiest = Some((m, i));
            }
        }
        if let Some((m, i)) = busiest {
            link_ns = m * self.link_message_ns + self.link_latency_ns;
            consider(link_ns, n_cores + i);
        }
        let host_id = n_cores + self.links.len();
        // The host's management phase follows the chips' (NxSDK's time probe reports it apart): its fixed
        // part plus every message through the host channel, either way.
        let host_ns = if self.has_host {
            self.host_fixed_ns + host * self.host_message_ns
        } else {
            0.0
        };
        if self.has_host {
            consider(host_ns, host_id);
        }
        let pace = match best {
            Some((t, id)) if t >= self.barrier_ns => id,
            _ => host_id as PaceId + 1,
        };
        // The links overlap the cores' work: only the time they add beyond the slowest core is theirs.
        let phases_ns = [
            slowest_core + self.noc_ns,
            (link_ns - slowest_core).max(0.0),
            self.barrier_ns,
            host_ns,
        ];
        StepOut {
            time_ns: phases_ns.iter().sum(),
            pace,
            interchip_msgs: interchip,
            host_msgs: host,
            phases_ns,
            energy_pj: energy,
        }
    }
}

impl Scratch {
    /// The last step's messages per link, in [`Model::links`] order.
    pub(crate) fn link_msgs(&self) -> &[f64] {
        &self.acc[self.neuron.len()..]
    }
}

/// The delay of a route between two cores of one chip: dimension-order on the tile mesh, east-west and
/// north-south hops priced apart (Davies et al. 2018 Table 2).
fn tile_route_ns(topo: &Topology, cost: &CostModel, a: CoreId, b: CoreId) -> f64 {
    let (ax, ay) = topo.tile_xy(a);
    let (bx, by) = topo.tile_xy(b);
    ax.abs_diff(bx) as f64 * cost.tile_hop_ew_ns + ay.abs_diff(by) as f64 * cost.tile_hop_ns_ns
}

/// The energy of a message's tile hops between two cores' tiles (as [`tile_route_ns`], SANA-FE's energy
/// per hop).
fn tile_route_pj(topo: &Topology, cost: &CostModel, a: CoreId, b: CoreId) -> f64 {
    let (ax, ay) = topo.tile_xy(a);
    let (bx, by) = topo.tile_xy(b);
    ax.abs_diff(bx) as f64 * cost.tile_hop_ew_pj + ay.abs_diff(by) as f64 * cost.tile_hop_ns_pj
}

/// The one-chip barrier by tiles in use.
fn one_chip_barrier_ns(cost: &CostModel, tiles: usize) -> f64 {
    match tiles {
        0 => 0.0,
        1 => cost.barrier_1_tile_ns,
        2..=3 => cost.barrier_2_3_tiles_ns,
        4..=28 => cost.barrier_4_28_tiles_ns,
        _ => cost.barrier_29_tiles_ns,
    }
}

/// The end-of-step barrier: on one chip by its tiles in use; across chips `barrier_chips_ns +
/// barrier_chip_hop_ns x` the used chips' mesh diameter, never below the one-chip barrier of the chip with
/// the most tiles in use. No chip in use, no barrier.
fn barrier_ns(topo: &Topology, cores: &[(ChipId, CoreId)]) -> f64 {
    let cost = &topo.cost;
    // Tiles in use per chip: `cores` is sorted by chip, then core, so tiles come in order within a chip.
    let (mut chips, mut most_tiles) = (Vec::new(), 0usize);
    for per_chip in cores.chunk_by(|a, b| a.0 == b.0) {
        let mut tiles: Vec<u32> = per_chip
            .iter()
            .map(|c| c.1 .0 / topo.cores_per_tile())
            .collect();
        tiles.dedup();
        most_tiles = most_tiles.max(tiles.len());
        chips.push(topo.chip_xy(per_chip[0].0));
    }
    let one_chip = one_chip_barrier_ns(cost, most_tiles);
    if chips.len() <= 1 {
        return one_chip;
    }
    // The Manhattan diameter of a point set: the larger spread of x + y and of x - y.
    let spread = |key: &dyn Fn(&(u32, u32)) -> i64| {
        let (lo, hi) = chips
            .iter()
            .map(key)
            .fold((i64::MAX, i64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
        hi - lo
    };
    let diameter = spread(&|c| c.0 as i64 + c.1 as i64).max(spread(&|c| c.0 as i64 - c.1 as i64));
    one_chip.max(cost.barrier_chips_ns + cost.barrier_chip_hop_ns * diameter as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The barrier of `preset` with blocks on `cores` (chip, core), against `expect` ns.
    fn check(preset: &str, cores: &[(u32, u32)], expect: f64) {
        let topo = Topology::preset(preset).unwrap();
        let mut cores: Vec<(ChipId, CoreId)> =
            cores.iter().map(|&(c, k)| (ChipId(c), CoreId(k))).collect();
        cores.sort_unstable();
        let got = barrier_ns(&topo, &cores);
        assert!((got - expect).abs() < 1e-9, "{got} != {expect}");
    }

    #[test]
    fn one_chip_barrier_by_tiles_in_use() {
        check("loihi", &[], 0.0);
        // Cores 0-3 share tile 0.
        check("loihi", &[(0, 0), (0, 3)], 600.0);
        check("loihi", &[(0, 0), (0, 4)], 1000.0);
        check("loihi", &[(0, 0), (0, 4), (0, 8)], 1000.0);
        check("loihi", &[(0, 0), (0, 4), (0, 8), (0, 12)], 1400.0);
        let tiles = |n: u32| (0..n).map(|t| (0, 4 * t)).collect::<Vec<_>>();
        check("loihi", &tiles(28), 1400.0);
        check("loihi", &tiles(29), 1800.0);
        check("loihi", &tiles(32), 1800.0);
    }

    #[test]
    fn multi_chip_barrier_by_mesh_diameter() {
        // Kapoho Bay's two chips are 1 hop apart: 1800 + 192.3.
        check("kapoho-bay", &[(0, 0), (1, 0)], 1992.3);
        // Nahuku32 (4x8): chips 0 (0,0) and 31 (3,7) are 10 hops apart: 1800 + 1923 = 3723.
        check("nahuku32", &[(0, 0), (31, 5)], 3723.0);
        // Chips 3 (3,0) and 28 (0,7): the diameter is over x - y as well.
        check("nahuku32", &[(3, 0), (28, 0)], 3723.0);
        // A 4x64 column of Pohoiki Springs (12x64): chips (0,0) and (3,63), 66 hops: 14491.8 ns,
        // against Frady et al. 2020's 14.3 us; the whole system, (0,0) to (11,63), 74 hops: 16030.2 ns
        // against 16.2 us.
        check("pohoiki-springs", &[(0, 0), (63 * 12 + 3, 0)], 14_491.8);
        check("pohoiki-springs", &[(0, 0), (767, 0)], 16_030.2);
    }

    #[test]
    fn tile_routes_price_each_direction() {
        let topo = Topology::preset("loihi").unwrap();
        let route = |a, b| tile_route_ns(&topo, &topo.cost, CoreId(a), CoreId(b));
        // Core 127 is on tile 31 = (7, 3): 7 x 4.1 + 3 x 6.5.
        assert!((route(0, 127) - 48.2).abs() < 1e-9);
        assert_eq!(route(0, 3), 0.0);
        assert!((route(4, 0) - 4.1).abs() < 1e-9);
    }

    #[test]
    fn rates_outside_zero_to_one_are_not_drawn() {
        let mut t = Tables::new();
        assert!(matches!(Fire::new(10, 0.0, &mut t), Fire::Fixed(f) if f == 0.0));
        assert!(matches!(Fire::new(10, 1.0, &mut t), Fire::Fixed(f) if f == 10.0));
        assert!(matches!(Fire::new(10, 1.5, &mut t), Fire::Fixed(f) if f == 15.0));
        assert!(matches!(Fire::new(10, 0.5, &mut t), Fire::Table { mean, .. } if mean == 5.0));
        assert!(matches!(
            Fire::new(1 << 40, 0.5, &mut t),
            Fire::Binomial { .. }
        ));
        // Blocks with the same size and rate share a table.
        let (a, b) = (Fire::new(64, 0.2, &mut t), Fire::new(64, 0.2, &mut t));
        match (a, b) {
            (Fire::Table { table: a, .. }, Fire::Table { table: b, .. }) => {
                assert!(Arc::ptr_eq(&a, &b))
            }
            other => panic!("{other:?}"),
        }
    }
}
