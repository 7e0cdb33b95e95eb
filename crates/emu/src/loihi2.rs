//! The Loihi 2 time model: the max-affine lower bound of Timcheck, Pierro and Shrestha, "A Compute and
//! Communication Runtime Model for Loihi 2" (arXiv 2601.10035, 2026). A step lasts as long as its most
//! loaded resource, each priced by one constant, plus the barrier:
//!
//! ```text
//! T = max( max over cores of dendrite ops       x dendop_ns,
//!          max over cores of synaptic ops        x loihi2_synop_ns,
//!          max over cores of synaptic-mem reads  x synmem_read_ns,
//!          max over cores' NoC ports of bits     x noc_bit_ns,
//!          max over chip-to-chip links of bits   x chip_link_bit_ns + hop latency )
//!     + barrier + host phase
//! ```
//!
//! The paper fits these on microbenchmarks and reports a Pearson correlation of at least 0.97 with the
//! measured runtime of linear layers and a QUBO solver. Its fitted constants could not be read here; the
//! defaults in [`snn_hardware::CostModel`] are Intel's published peak rates for Hala Point divided per
//! core (lower bounds, as the model is), and a topology file's `cost` object overrides them. How
//! snn-place counts each term:
//!
//! - Dendrite ops: every neuron (compartment) of the core's blocks is updated every step.
//! - Synaptic ops: the `synops` of the edges into the core, scaled by their source's draw.
//! - Synaptic-memory reads: per spike message received one read (its axon's synapse list) and one per
//!   [`SYNAPSES_PER_READ`] synapses (an assumption: 8-bit weights packed in 64-bit words with their
//!   indices; the paper counts reads with the chip's profiler).
//! - NoC bits: [`MESSAGE_BITS`] per spike message (an assumption: an address-event message without
//!   payload) through the sending core's port, the receiving core's port, and every chip-to-chip link on
//!   the dimension-order route; a link also pays its route's hop latency (`link_hop_ns`). Under the
//!   multicast traffic model a source sends one message per destination chip, as in [`crate::model`].
//! - Barrier: the same function as Loihi 1's (its constants are Loihi 1's, marked as such in the cost
//!   model: the paper's barrier figure could not be read here).
//! - Host phase: the same as Loihi 1's (the crate docs), after the chips' part of the step: the host's
//!   management phase, round trip, probed values and host messages. Its constants were fitted to
//!   nengo-loihi on Loihi 1; none are published for Loihi 2's host interface.
//! - Phases: spiking (the slowest core term), inter-chip (what the busiest link adds beyond it), barrier
//!   and host, as for Loihi 1 (this model has no separate on-chip network delay).
//! - Energy: the same events as Loihi 1's model counts (compartments, spikes fired, messages, synaptic
//!   events, tile hops, link crossings, host messages), priced with the cost model's per-event energies,
//!   which are Loihi 1's (SANA-FE): no per-event energies of Loihi 2 are published. The report marks
//!   it (`energy_per_step_uj.constants` is `"loihi1"`), so it is a rough guide, not a Loihi 2 figure.
//!
//! Pace ids: each core's four terms (so the report says which one set the pace, e.g. `chip 0 core 3
//! (synmem reads)`), then links, the host and the barrier as in [`crate::model`].

use snn_graph::{BlockId, Network};
use snn_hardware::{ChipId, CoreId, Topology, TrafficModel};
use snn_placement::{Nets, Placement, Slot};

use crate::model::{
    add_energy, barrier_ns, edge_energy_pj, merge_run, neuron_pj_of, pace_of, phases,
    remote_energy_pj, used_cores, used_links, Fire, HostPhase, PaceId, PaceOf, StepOut, Tables,
};
use crate::StepModel;

/// Bits of one spike message on the network-on-chip (an assumption; see the module docs).
pub const MESSAGE_BITS: f64 = 32.0;
/// Synapses one synaptic-memory read delivers (an assumption; see the module docs).
pub const SYNAPSES_PER_READ: f64 = 4.0;

/// Accumulators per core, in this order.
const SYN: usize = 0;
const READS: usize = 1;
const BITS_IN: usize = 2;
const BITS_OUT: usize = 3;
const PER_CORE: usize = 4;
/// A core's four terms, in pace-id order, as the report names them.
const TERMS: [&str; PER_CORE] = ["dendrite ops", "synops", "synmem reads", "NoC bits"];

struct Source {
    fire: Fire,
    /// Whether the block is on a core (so its spikes cost energy).
    on_chip: bool,
    /// Energy per unit of scale of the events its messages cause, in pJ (as Loihi 1's model counts them).
    energy_pj: [f64; 5],
    host_msgs: f64,
    interchip_msgs: f64,
    /// Its (accumulator, coefficient) run in [`Model::targets`].
    targets: (u32, u32),
}

/// The placed network reduced to per-source coefficients for the max-affine model.
pub(crate) struct Model {
    sources: Vec<Source>,
    /// Accumulator below `PER_CORE x cores`: a core's counter; above: a link's messages.
    targets: Vec<(u32, f64)>,
    cores: Vec<(ChipId, CoreId)>,
    /// Per core: its compartments x `dendop_ns`, the same every step.
    dend_ns: Vec<f64>,
    links: Vec<(ChipId, ChipId)>,
    synop_ns: f64,
    read_ns: f64,
    /// A message's bits through a core's port.
    message_ns: f64,
    /// A message's bits over a chip-to-chip link.
    link_message_ns: f64,
    link_latency_ns: f64,
    host: HostPhase,
    /// Every on-chip compartment's access and update energy, per step.
    neuron_pj: f64,
    spike_fire_pj: f64,
    barrier_ns: f64,
}

/// One step's counters.
pub(crate) struct Scratch {
    acc: Vec<f64>,
    n_core_acc: usize,
}

impl Model {
    /// Builds the model. The placement must be valid for the network and topology (the caller checks).
    pub(crate) fn new(
        net: &Network,
        topo: &Topology,
        p: &Placement,
        precompute: bool,
        traffic: TrafficModel,
        in_loop: bool,
    ) -> Model {
        let cost = &topo.cost;
        let slots = p.slots();
        let cores = used_cores(slots);
        let core_idx = |s: Slot| match s {
            Slot::Core { chip, core } => cores.binary_search(&(chip, core)).ok(),
            Slot::Host => None,
        };
        let n_core_acc = cores.len() * PER_CORE;

        let mut dend_ns = vec![0.0; cores.len()];
        let mut out_edges: Vec<Vec<usize>> = vec![Vec::new(); net.n_blocks()];
        for (i, e) in net.edges().iter().enumerate() {
            out_edges[e.src.idx()].push(i);
        }
        let nets = (traffic == TrafficModel::Multicast).then(|| Nets::new(net));
        let mut next_net = 0;
        let chip_of = |x: BlockId| slots[x.idx()].chip();
        let (link_idx, links) = used_links(net, topo, slots);
        let mut targets: Vec<(u32, f64)> = Vec::new();
        let mut sources = Vec::with_capacity(net.n_blocks());
        let mut tables = Tables::new();
        let (mut max_hops, mut neuron_pj) = (0u32, 0.0f64);
        let mut remote: Vec<(ChipId, f64)> = Vec::new();
        for (b, block) in net.blocks().iter().enumerate() {
            let src_slot = slots[b];
            let src_core = core_idx(src_slot);
            if let Some(c) = src_core {
                dend_ns[c] += block.compartments as f64 * cost.dendop_ns;
                neuron_pj += neuron_pj_of(cost, block.compartments);
            }
            let fire = if block.host {
                Fire::Fixed(0.0)
            } else {
                Fire::new(block.compartments, block.rate, &mut tables)
            };
            let mut run: Vec<(u32, f64)> = Vec::new();
            let (mut host_msgs, mut interchip_msgs) = (0.0, 0.0);
            let mut energy = [0.0f64; 5];
            remote.clear();
            for &i in &out_edges[b] {
                let e = &net.edges()[i];
                let dst_slot = slots[e.dst.idx()];
                let crosses =
                    matches!((src_slot.chip(), dst_slot.chip()), (Some(a), Some(c)) if a != c);
                let sends = src_core.is_some() && !(crosses && traffic == TrafficModel::Multicast);
                edge_energy_pj(topo, e, (src_slot, dst_slot), sends, &mut energy);
                if let Some(d) = core_idx(dst_slot) {
                    run.push(((d * PER_CORE + SYN) as u32, e.synops()));
                    run.push((
                        (d * PER_CORE + READS) as u32,
                        e.spikes + e.synops() / SYNAPSES_PER_READ,
                    ));
                    run.push(((d * PER_CORE + BITS_IN) as u32, e.spikes));
                }
                match (src_slot.chip(), dst_slot.chip()) {
                    (Some(a), Some(c)) if a != c => {
                        if traffic == TrafficModel::Unicast {
                            remote.push((c, e.spikes));
                        }
                    }
                    (Some(_), Some(_)) => {
                        if let Some(s) = src_core {
                            run.push(((s * PER_CORE + BITS_OUT) as u32, e.spikes));
                        }
                    }
                    (None, None) => {}
                    (None, Some(_)) if precompute => {}
                    _ => {
                        host_msgs += e.spikes;
                        if let Some(s) = src_core {
                            run.push(((s * PER_CORE + BITS_OUT) as u32, e.spikes));
                        }
                    }
                }
            }
            if let Some(nets) = &nets {
                if nets.src.get(next_net) == Some(&BlockId(b as u32)) {
                    nets.remote(next_net, &chip_of, &mut remote);
                    next_net += 1;
                }
            }
            if let (Some(a), Some(s)) = (src_slot.chip(), src_core) {
                for &(c, spikes) in &remote {
                    interchip_msgs += spikes;
                    remote_energy_pj(topo, traffic, (a, c), spikes, &mut energy);
                    run.push(((s * PER_CORE + BITS_OUT) as u32, spikes));
                    if spikes > 0.0 {
                        max_hops = max_hops.max(topo.chip_hops(a, c));
                        for l in topo.route(a, c) {
                            run.push((n_core_acc as u32 + link_idx[l.slot()], spikes));
                        }
                    }
                }
            }
            energy[4] = host_msgs * cost.host_message_pj;
            sources.push(Source {
                fire,
                on_chip: src_core.is_some(),
                energy_pj: energy,
                host_msgs,
                interchip_msgs,
                targets: merge_run(&mut run, &mut targets),
            });
        }
        Model {
            sources,
            targets,
            barrier_ns: barrier_ns(topo, &cores),
            cores,
            dend_ns,
            links,
            synop_ns: cost.loihi2_synop_ns,
            read_ns: cost.synmem_read_ns,
            message_ns: MESSAGE_BITS * cost.noc_bit_ns,
            link_message_ns: MESSAGE_BITS * cost.chip_link_bit_ns,
            link_latency_ns: max_hops as f64 * cost.link_hop_ns,
            host: HostPhase::new(net, cost, precompute, in_loop),
            neuron_pj,
            spike_fire_pj: cost.spike_fire_pj,
        }
    }
}

impl StepModel for Model {
    type Scratch = Scratch;

    fn scratch(&self) -> Scratch {
        let n_core_acc = self.cores.len() * PER_CORE;
        Scratch {
            acc: vec![0.0; n_core_acc + self.links.len()],
            n_core_acc,
        }
    }

    fn step(&self, fire: &mut dyn FnMut(&Fire) -> f64, s: &mut Scratch) -> StepOut {
        s.acc.fill(0.0);
        let (mut interchip, mut host) = (0.0, 0.0);
        let mut energy = [0.0f64; 7];
        energy[0] = self.neuron_pj;
        for src in &self.sources {
            let f = fire(&src.fire);
            let mean = src.fire.mean();
            let scale = if mean > 0.0 { f / mean } else { 1.0 };
            let fired = src.on_chip.then_some(f * self.spike_fire_pj);
            add_energy(&mut energy, fired, scale, &src.energy_pj);
            if scale == 0.0 {
                continue;
            }
            interchip += scale * src.interchip_msgs;
            host += scale * src.host_msgs;
            for &(t, coef) in &self.targets[src.targets.0 as usize..src.targets.1 as usize] {
                s.acc[t as usize] += scale * coef;
            }
        }
        // Every term of every core (pace id `PER_CORE x core + term`), then the busiest link and the
        // host phase.
        let cores = s.acc[..s.n_core_acc]
            .chunks_exact(PER_CORE)
            .zip(&self.dend_ns)
            .flat_map(|(acc, &dend)| {
                [
                    dend,
                    acc[SYN] * self.synop_ns,
                    acc[READS] * self.read_ns,
                    acc[BITS_IN].max(acc[BITS_OUT]) * self.message_ns,
                ]
            });
        let (phases_ns, pace) = phases(
            cores,
            &s.acc[s.n_core_acc..],
            (self.link_message_ns, self.link_latency_ns),
            self.host.time_ns(host),
            0.0,
            self.barrier_ns,
        );
        StepOut {
            time_ns: phases_ns.iter().sum(),
            pace,
            interchip_msgs: interchip,
            host_msgs: host,
            phases_ns,
            energy_pj: energy,
        }
    }

    fn link_msgs<'a>(&self, s: &'a Scratch) -> &'a [f64] {
        &s.acc[s.n_core_acc..]
    }

    fn n_links(&self) -> usize {
        self.links.len()
    }

    fn links(&self) -> &[(ChipId, ChipId)] {
        &self.links
    }

    fn barrier_ns(&self) -> f64 {
        self.barrier_ns
    }

    fn host(&self) -> &HostPhase {
        &self.host
    }

    fn energy_constants(&self) -> Option<&'static str> {
        Some("loihi1")
    }

    fn pace_of(&self, id: PaceId) -> PaceOf {
        let i = id as usize;
        if i < self.cores.len() * PER_CORE {
            let (chip, core) = self.cores[i / PER_CORE];
            return PaceOf::CoreTerm(chip, core, TERMS[i % PER_CORE]);
        }
        // Past the cores' terms, the ids are those of a model with one id per core.
        let shift = (self.cores.len() * (PER_CORE - 1)) as PaceId;
        pace_of(&self.cores, &self.links, id - shift)
    }
}

#[cfg(test)]
mod tests {
    use crate::{emulate, expected_time_us, EmuOptions, PaceKind};
    use snn_graph::{Block, BlockId, Edge, Network};
    use snn_hardware::{ChipId, CoreId, Topology, TrafficModel};
    use snn_placement::{Placement, Slot};

    fn core(chip: u32, core: u32) -> Slot {
        Slot::Core {
            chip: ChipId(chip),
            core: CoreId(core),
        }
    }

    fn block(name: &str, compartments: u64, rate: f64) -> Block {
        let mut b = Block::new(name, compartments);
        b.rate = rate;
        b
    }

    fn edge(src: u32, dst: u32, spikes: f64, synops: f64) -> Edge {
        let mut e = Edge::new(BlockId(src), BlockId(dst), spikes);
        e.synops = Some(synops);
        e
    }

    /// The analytic time per step (us) and what set the pace.
    fn check(net: &Network, slots: Vec<Slot>, traffic: TrafficModel) -> (f64, String) {
        let mut topo = Topology::preset("kapoho-point").unwrap();
        // Round constants, so that the expected times below can be worked out by hand (the presets'
        // own are Hala Point's peak rates: `presets_price_hala_points_peak_rates`).
        for (key, v) in [
            ("dendop_ns", 9.7),
            ("loihi2_synop_ns", 3.8),
            ("synmem_read_ns", 16.0),
            ("noc_bit_ns", 0.3125),
            ("chip_link_bit_ns", 0.3125),
        ] {
            assert!(topo.cost.set(key, v));
        }
        let p = Placement::new(slots, "t", 0);
        let opts = EmuOptions {
            steps: 8,
            seed: 1,
            precompute: false,
            traffic,
            steps_per_inference: None,
        };
        let e = emulate(net, &topo, &p, &opts, None).unwrap();
        assert_eq!(
            e.analytic_time_per_step_us,
            expected_time_us(net, &topo, &p, &opts).unwrap()
        );
        let pace = &e.pace[0];
        let kind = match pace.what {
            PaceKind::Core => "core",
            PaceKind::Link => "link",
            PaceKind::Host => "host",
            PaceKind::Barrier => "barrier",
        };
        (
            (e.analytic_time_per_step_us * 1e6).round() / 1e6,
            format!("{kind} {}", pace.name),
        )
    }

    #[test]
    fn the_largest_term_sets_the_step() {
        // 64 neurons firing every step (rate 1: no draw) into 32 neurons, densely: 64 messages and 2,048
        // synaptic ops reach core 1. Its terms: 32 x 9.7 = 310.4 ns of dendrite ops, 2,048 x 3.8 = 7,782.4
        // ns of synaptic ops, (64 + 2,048 / 4) x 16 = 9,216 ns of memory reads, 64 x 32 bits x 0.3125 =
        // 640 ns through its port. Reads win; with the one-tile barrier (600 ns): 9.816 us.
        let net = Network::new(
            "two",
            vec![block("a", 64, 1.0), block("b", 32, 1.0)],
            vec![edge(0, 1, 64.0, 2048.0)],
        )
        .unwrap();
        let got = check(&net, vec![core(0, 0), core(0, 1)], TrafficModel::Unicast);
        assert_eq!(
            got,
            (9.816, "core chip 0 core 1 (synmem reads)".to_string())
        );
        // On another chip (1 hop east): the link carries 64 messages (640 ns + 96 ns of hop latency),
        // still below the reads; the barrier becomes 1,800 + 192.3 x 1 hop: 9.216 + 1.9923 = 11.2083 us.
        let got = check(&net, vec![core(0, 0), core(1, 0)], TrafficModel::Unicast);
        assert_eq!(
            got,
            (11.2083, "core chip 1 core 0 (synmem reads)".to_string())
        );
    }

    /// A linear layer: `n` inputs firing every step into `n` outputs split into `k` blocks on `k` cores of
    /// one chip; the time per step (us) and the pace.
    fn linear_layer(n: u64, k: u64) -> (f64, String) {
        let mut blocks = vec![block("in", n, 1.0)];
        let mut edges = Vec::new();
        for b in 0..k {
            blocks.push(block(&format!("out.{b}"), n / k, 1.0));
            edges.push(edge(0, 1 + b as u32, n as f64, (n * n / k) as f64));
        }
        let net = Network::new("linear", blocks, edges).unwrap();
        let slots = (0..=k as u32).map(|c| core(0, c)).collect();
        check(&net, slots, TrafficModel::Unicast)
    }

    #[test]
    fn linear_layer_trades_area_for_runtime() {
        // The paper's area-runtime trade-off for a linear layer (Section V): spreading the outputs over
        // more cores cuts each core's synaptic work (here its memory reads, n (1 + n / 4k) x 16 ns) but
        // the input core's port sends one message per output core (k n x 32 bits x 0.3125 ns), so the
        // time falls until the two meet (k = 29.4 for n = 2,048) and then rises linearly in k.
        let times: Vec<(u64, f64, String)> = [4, 8, 16, 32, 64, 127]
            .iter()
            .map(|&k| {
                let (t, pace) = linear_layer(2048, k);
                (k, t, pace)
            })
            .collect();
        // The barrier by tiles in use (4 cores a tile, k + 1 cores): Loihi 1's figures.
        let barrier = |k: f64| match ((k as u64 + 1).div_ceil(4)) as usize {
            1 => 0.6,
            2..=3 => 1.0,
            4..=28 => 1.4,
            _ => 1.8,
        };
        let expect = |k: f64| {
            let n = 2048.0;
            (n * (1.0 + n / (4.0 * k)) * 16.0).max(k * n * 10.0) / 1000.0 + barrier(k)
        };
        for (k, t, pace) in &times {
            assert!(
                (t - expect(*k as f64)).abs() < 1e-6,
                "k {k}: {t} vs {}",
                expect(*k as f64)
            );
            let input_bound = *k as f64 * 10.0 > 16.0 * (1.0 + 2048.0 / (4.0 * *k as f64));
            let want = if input_bound {
                "core chip 0 core 0 (NoC bits)"
            } else {
                "core chip 0 core 1 (synmem reads)"
            };
            assert_eq!(pace, want, "k {k}");
        }
        let best = times.iter().min_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
        assert_eq!(best.0, 32);
    }

    #[test]
    fn multicast_sends_one_message_per_chip() {
        // One source on chip 0 reaching 4 blocks on chip 1: unicast sends 4 x 512 messages over the link,
        // multicast 512, replicated on chip 1.
        let mut blocks = vec![block("src", 512, 1.0)];
        let mut edges = Vec::new();
        for b in 0..4 {
            blocks.push(block(&format!("dst.{b}"), 8, 1.0));
            edges.push(edge(0, 1 + b, 512.0, 512.0));
        }
        let net = Network::new("fan", blocks, edges).unwrap();
        let slots = vec![core(0, 0), core(1, 0), core(1, 1), core(1, 2), core(1, 3)];
        let (uni, pace) = check(&net, slots.clone(), TrafficModel::Unicast);
        // 2,048 messages x 10 ns through the source's port (the link's 20.48 us + 96 ns latency is larger).
        assert_eq!(
            (uni, pace.as_str()),
            (20.576 + 1.9923, "link chip 0 -> chip 1")
        );
        // Multicast: 512 messages over the link (5.216 us); each destination's memory reads, (512 + 512 / 4)
        // x 16 ns = 10.24 us, set the pace.
        let (multi, pace) = check(&net, slots, TrafficModel::Multicast);
        assert_eq!(
            (multi, pace.as_str()),
            (12.2323, "core chip 1 core 0 (synmem reads)")
        );
    }

    #[test]
    fn host_phase_and_energy_as_loihi_1_counts_them() {
        // A host input (16 spikes a step, 1,024 synaptic events) into 64 neurons firing every step, read
        // by a host probe, on Kapoho Point with its own constants. The chips' part: core 0's largest term,
        // 1,024 synaptic ops x 0.370 ns, then the one-tile barrier (600 ns). The host
        // phase follows as on Loihi 1: management 778 us + a round trip 7,222 us (the input is not
        // precomputed) + 64 probed values x 1.5 us + 80 host messages x 0.1 us = 8,104 us.
        let input = Block::new("in", 16).on_host();
        let net = Network::new(
            "probed",
            vec![
                input,
                block("a", 64, 1.0),
                Block::new("probe", 64).on_host(),
            ],
            vec![edge(0, 1, 16.0, 1024.0), edge(1, 2, 64.0, 0.0)],
        )
        .unwrap();
        let topo = Topology::preset("kapoho-point").unwrap();
        let p = Placement::new(vec![Slot::Host, core(0, 0), Slot::Host], "t", 0);
        let opts = EmuOptions {
            steps: 10,
            ..EmuOptions::default()
        };
        let e = emulate(&net, &topo, &p, &opts, None).unwrap();
        assert!(e.host.round_trip && e.host.in_loop.is_empty());
        assert_eq!(e.host.probed_values, 64);
        let ph = e.phases_us;
        assert!((ph.host - 8_104.0).abs() < 1e-6, "{}", ph.host);
        assert!((ph.barrier - 0.6).abs() < 1e-9 && ph.interchip == 0.0);
        let sum = ph.spiking + ph.interchip + ph.barrier + ph.host;
        assert!((sum - e.time_per_step_us.mean).abs() < 1e-9);
        assert_eq!((e.pace_phase, e.pace[0].what), ("host", PaceKind::Host));
        // Energy: the Loihi 1 model's events at its per-event energies, marked as such. 64 compartments
        // x (51.2 + 21.6) pJ; 64 spikes x 69.3 pJ; 16 messages received (0 pJ) and 64 sent x 111 pJ;
        // 1,024 synaptic events x 35.5 pJ; 80 host messages x 5,000 pJ.
        let en = e.energy_per_step_uj;
        assert_eq!(en.constants, Some("loihi1"));
        let want = [4_659.2, 4_435.2, 7_104.0, 36_352.0, 0.0, 0.0, 400_000.0];
        let got = [
            en.neurons,
            en.spikes,
            en.messages,
            en.synops,
            en.mesh,
            en.interchip,
            en.host,
        ];
        for (g, w) in got.iter().zip(want) {
            assert!((g * 1e6 - w).abs() < 1e-6, "{got:?}");
        }
        // Precomputed: no round trip, and the input no longer crosses the host channel.
        let e = emulate(
            &net,
            &topo,
            &p,
            &EmuOptions {
                precompute: true,
                ..opts
            },
            None,
        )
        .unwrap();
        assert!((e.phases_us.host - (778.0 + 96.0 + 6.4)).abs() < 1e-6);
    }

    #[test]
    fn presets_price_hala_points_peak_rates() {
        // Intel's Hala Point figures (April 2024): 1,152 chips, 140,544 cores; per second 240e12 neuron
        // operations, 380e12 synaptic operations, 16 PB of memory reads, 3.5 PB between cores, 5 TB
        // between chips (over the 2 x (31 x 36 + 32 x 35) = 4,472 directed links of the 32x36 mesh).
        let topo = Topology::preset("hala-point").unwrap();
        let cores = topo.n_chips() as f64 * 122.0; // 140,544 / 1,152 = 122 usable cores a chip
        assert_eq!(cores, 140_544.0);
        let links = 2.0 * (31.0 * 36.0 + 32.0 * 35.0);
        let ns = |per_s: f64| 1e9 / per_s;
        let c = &topo.cost;
        for (got, want) in [
            (c.dendop_ns, ns(240e12 / cores)),
            (c.loihi2_synop_ns, ns(380e12 / cores)),
            (c.synmem_read_ns, ns(16e15 / 8.0 / cores)),
            (c.noc_bit_ns, ns(3.5e15 * 8.0 / cores)),
            (c.chip_link_bit_ns, ns(5e12 * 8.0 / links)),
        ] {
            assert!((got / want - 1.0).abs() < 0.01, "{got} vs {want}");
        }
    }
}
