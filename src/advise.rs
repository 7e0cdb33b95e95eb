//! `advise`: what to change to make a placed network's timestep faster, and by how much. The network is
//! emulated as given, then with each remedy applied, and the remedies are ranked by the time per step
//! they save. Every "after" figure is an emulation of the remedied network and placement with the same
//! options, so `emulate` on them gives the same figure.
//!
//! The remedies: precompute the inputs (or, when the host is in the loop, move the host blocks in the
//! loop on chip, which makes precomputing possible); the best allocator of [`compare`](crate::compare)
//! instead of the one given; core packing; fewer chips; fewer probed values.

use snn_emu::{host_loop, probed_blocks, EmuOptions, Emulation};
use snn_graph::{Block, BlockId, Edge, Network};
use snn_hardware::{Topology, TrafficModel};
use snn_placement::{Placement, Report};

use crate::{compare, emulate, place, CompareOptions, Error, Options, AUTO_CANDIDATES};

/// What [`advise`] runs.
#[derive(Clone, Debug, PartialEq)]
pub struct AdviseOptions {
    /// How every emulation runs (steps, seed, traffic model). `precompute` says how the network runs as
    /// given; a host loop makes it an error, as in `emulate`.
    pub emu: EmuOptions,
    /// How remedies that place again place (seed, chips, deadline); its `allocator` places the network
    /// when no placement is given and the remedied networks.
    pub place: Options,
}

/// One emulated configuration: its figures.
#[derive(Clone, Debug, PartialEq)]
pub struct Figures {
    pub time_us: f64,
    pub energy_uj: f64,
    pub chips: usize,
    pub cores: usize,
    /// The phase that set the pace (`"spiking"`, `"interchip"`, `"barrier"`, `"host"`).
    pub pace_phase: &'static str,
}

impl Figures {
    fn of(em: &Emulation, r: &Report) -> Figures {
        Figures {
            time_us: em.time_per_step_us.mean,
            energy_uj: em.energy_per_step_uj.mean,
            chips: r.chips_used,
            cores: r.cores_used,
            pace_phase: em.pace_phase,
        }
    }
}

/// One remedy and what it gives.
#[derive(Clone, Debug, PartialEq)]
pub struct Remedy {
    /// A stable kebab-case name: `host-loop`, `precompute`, `allocator`, `pack`, `fewer-chips`, `probes`.
    pub name: &'static str,
    /// What to do, e.g. "move host layer conv3 (1 block, 4,096 compartments) on chip: 4 more cores".
    pub action: String,
    /// Why it helps, e.g. "host round trip every step: 1 host layer in the loop".
    pub reason: String,
    /// The remedied configuration's figures, or why it could not be placed.
    pub after: Result<Figures, String>,
    /// The remedied network, when the remedy changes it (else the network as given).
    pub network: Option<Network>,
    /// The remedied placement (empty when `after` is an error).
    pub placement: Option<Placement>,
    /// Whether `after` was emulated with precomputed inputs.
    pub precompute: bool,
}

impl Remedy {
    /// Microseconds per step saved (negative: slower); `None` when the remedy could not be placed.
    pub fn saved_us(&self, before: &Figures) -> Option<f64> {
        self.after.as_ref().ok().map(|a| before.time_us - a.time_us)
    }
}

/// The network as given and every remedy, most time saved first (ties by name; remedies that could not
/// be placed last).
#[derive(Clone, Debug, PartialEq)]
pub struct Advice {
    /// The allocator of the placement as given.
    pub allocator: String,
    pub before: Figures,
    /// The emulation as given.
    pub emulation: Emulation,
    pub remedies: Vec<Remedy>,
}

/// The advice as an `snn-advice/1` object: the run as given (its figures and emulation) and every
/// remedy, ranked, with its figures after or why it could not be placed. `opts` are the options
/// [`advise`] ran with (they give the seed, steps and `precompute`).
pub fn advice_json(
    advice: &Advice,
    net: &Network,
    topo: &Topology,
    opts: &AdviseOptions,
) -> serde_json::Value {
    use serde_json::json;
    let b = &advice.before;
    let remedies: Vec<serde_json::Value> = advice
        .remedies
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut v = json!({
                "rank": i + 1,
                "name": r.name,
                "action": r.action,
                "reason": r.reason,
                "precompute": r.precompute,
                "before_us": b.time_us,
            });
            match &r.after {
                Ok(a) => {
                    v["after_us"] = json!(a.time_us);
                    v["saved_us"] = json!(b.time_us - a.time_us);
                    v["after_energy_uj"] = json!(a.energy_uj);
                    v["chips"] = json!(a.chips);
                    v["cores"] = json!(a.cores);
                    v["pace_phase"] = json!(a.pace_phase);
                }
                Err(e) => v["error"] = json!(e),
            }
            v
        })
        .collect();
    json!({
        "format": "snn-advice/1",
        "version": env!("CARGO_PKG_VERSION"),
        "network": net.name,
        "topology": topo.name,
        "allocator": advice.allocator,
        "seed": opts.emu.seed,
        "steps": opts.emu.steps,
        "precompute": opts.emu.precompute,
        "before": {
            "time_per_step_us": b.time_us,
            "energy_per_step_uj": b.energy_uj,
            "chips_used": b.chips,
            "cores_used": b.cores,
            "pace_phase": b.pace_phase,
        },
        "emulation": serde_json::to_value(&advice.emulation).expect("an emulation serialises"),
        "remedies": remedies,
    })
}

/// Emulates `net` placed as `placement` (or placed with `opts.place` when `None`) and with every remedy
/// applied, and ranks the remedies. Errors: bad options, a placement that does not match the network or
/// the topology, a network that does not fit, `precompute` with a host loop.
pub fn advise(
    net: &Network,
    topo: &Topology,
    placement: Option<&Placement>,
    opts: &AdviseOptions,
) -> Result<Advice, Error> {
    opts.emu.check()?;
    let (placement, mut report) = match placement {
        Some(p) => {
            let mut r = Report::new(net, topo, p, 0.0);
            r.traffic = opts.emu.traffic.name();
            (p.clone(), r)
        }
        None => place(net, topo, &opts.place)?,
    };
    let emu = EmuOptions {
        traffic: opts.place.traffic,
        ..opts.emu
    };
    let em = emulate(net, topo, &placement, &emu, &mut report, None)?;
    let before = Figures::of(&em, &report);
    let mut remedies = Vec::new();

    let in_loop = host_loop(net);
    let inputs = net
        .edges()
        .iter()
        .any(|e| net.block(e.src).host && !net.block(e.dst).host);
    if !in_loop.is_empty() {
        remedies.push(move_on_chip(net, topo, &in_loop, &emu, &opts.place));
    } else if inputs && !emu.precompute {
        let n_inputs = host_inputs(net);
        let after = run(
            net,
            topo,
            &placement,
            &EmuOptions {
                precompute: true,
                ..emu
            },
        );
        remedies.push(Remedy {
            name: "precompute",
            action: "precompute the inputs (--precompute; nengo-loihi's precompute=True)".into(),
            reason: format!(
                "host round trip every step: {n_inputs} host input block{} streamed step by step",
                plural(n_inputs)
            ),
            after,
            network: None,
            placement: Some(placement.clone()),
            precompute: true,
        });
    }
    remedies.extend(placement_remedies(net, topo, &before, &report, &emu, opts));
    if let Some(r) = fewer_probes(net, topo, &placement, &in_loop, &emu) {
        remedies.push(r);
    }

    remedies.sort_by(|a, b| {
        let (sa, sb) = (a.saved_us(&before), b.saved_us(&before));
        match (sa, sb) {
            (Some(x), Some(y)) => y.total_cmp(&x).then_with(|| a.name.cmp(b.name)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.name.cmp(b.name),
        }
    });
    Ok(Advice {
        allocator: placement.allocator.clone(),
        before,
        emulation: em,
        remedies,
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Host blocks with an edge to an on-chip block.
fn host_inputs(net: &Network) -> usize {
    let mut is = vec![false; net.n_blocks()];
    for e in net.edges() {
        if net.block(e.src).host && !net.block(e.dst).host {
            is[e.src.idx()] = true;
        }
    }
    is.iter().filter(|&&b| b).count()
}

/// Emulates a placement; the figures, or the error as text.
fn run(
    net: &Network,
    topo: &Topology,
    placement: &Placement,
    emu: &EmuOptions,
) -> Result<Figures, String> {
    let mut r = Report::new(net, topo, placement, 0.0);
    let em = emulate(net, topo, placement, emu, &mut r, None).map_err(|e| e.to_string())?;
    Ok(Figures::of(&em, &r))
}

/// The layer a block belongs to (its `layer`, else its name).
fn layer_of(b: &Block) -> &str {
    b.layer.as_deref().unwrap_or(&b.name)
}

/// The network with the host blocks `moved` on chip, each split evenly into as many blocks as its
/// compartments need cores (its axons and synapse memory split evenly too; its edges' spikes and
/// synaptic events shared evenly among the parts). Returns the network and the cores added.
pub fn moved_on_chip(net: &Network, topo: &Topology, moved: &[BlockId]) -> (Network, usize) {
    let limits = topo.core_limits();
    let mut parts_of: Vec<Vec<BlockId>> = vec![Vec::new(); net.n_blocks()];
    let mut blocks: Vec<Block> = Vec::with_capacity(net.n_blocks());
    let mut is_moved = vec![false; net.n_blocks()];
    for &b in moved {
        is_moved[b.idx()] = true;
    }
    let mut added = 0;
    for (i, b) in net.blocks().iter().enumerate() {
        if !is_moved[i] {
            parts_of[i].push(BlockId(blocks.len() as u32));
            blocks.push(b.clone());
            continue;
        }
        let need = |x: u64, limit: u64| x.div_ceil(limit.max(1));
        let k = need(b.compartments, limits.compartments)
            .max(need(b.in_axons, limits.in_axons))
            .max(need(b.out_axons, limits.out_axons))
            .max(need(b.synapse_bits, limits.synapse_bits))
            .max(1);
        added += k as usize;
        let share = |x: u64, j: u64| x / k + u64::from(j < x % k);
        for j in 0..k {
            parts_of[i].push(BlockId(blocks.len() as u32));
            blocks.push(Block {
                name: if k == 1 {
                    b.name.clone()
                } else {
                    format!("{}.{j}", b.name)
                },
                layer: Some(layer_of(b).to_string()),
                compartments: share(b.compartments, j).max(1),
                in_axons: share(b.in_axons, j),
                out_axons: share(b.out_axons, j),
                synapse_bits: share(b.synapse_bits, j),
                rate: b.rate,
                host: false,
            });
        }
    }
    let mut edges = Vec::with_capacity(net.edges().len());
    for e in net.edges() {
        let (src, dst) = (&parts_of[e.src.idx()], &parts_of[e.dst.idx()]);
        let n = (src.len() * dst.len()) as f64;
        for &s in src {
            for &d in dst {
                edges.push(Edge {
                    src: s,
                    dst: d,
                    spikes: e.spikes / n,
                    synops: e.synops.map(|x| x / n),
                });
            }
        }
    }
    // Splitting keeps names unique unless a split name is taken already: then suffix the parts.
    let net2 = match Network::new(net.name.clone(), blocks.clone(), edges.clone()) {
        Ok(n) => n,
        Err(_) => {
            for (i, b) in blocks.iter_mut().enumerate() {
                if net
                    .find(&b.name)
                    .is_none_or(|id| parts_of[id.idx()].len() != 1)
                {
                    b.name = format!("{}~{i}", b.name);
                }
            }
            Network::new(net.name.clone(), blocks, edges).expect("unique names")
        }
    };
    (net2, added)
}

/// The `host-loop` remedy: the host blocks in the loop moved on chip, placed again, emulated with
/// precomputed inputs (nengo-loihi precomputes whenever the host is not in the loop).
fn move_on_chip(
    net: &Network,
    topo: &Topology,
    in_loop: &[BlockId],
    emu: &EmuOptions,
    place_opts: &Options,
) -> Remedy {
    let mut layers: Vec<(&str, usize, u64)> = Vec::new();
    for &b in in_loop {
        let block = net.block(b);
        match layers.iter_mut().find(|l| l.0 == layer_of(block)) {
            Some(l) => {
                l.1 += 1;
                l.2 += block.compartments;
            }
            None => layers.push((layer_of(block), 1, block.compartments)),
        }
    }
    let (remedied, added) = moved_on_chip(net, topo, in_loop);
    let names = layers
        .iter()
        .map(|(l, n, c)| format!("{l} ({n} block{}, {c} compartments)", plural(*n)))
        .collect::<Vec<_>>()
        .join(", ");
    let n_layers = layers.len();
    let reason = format!(
        "host round trip every step: {n_layers} host layer{} in the loop (chip -> host -> chip), so \
         the inputs cannot be precomputed",
        plural(n_layers)
    );
    let action = format!(
        "move the host layer{} in the loop on chip: {names}: {added} more core{} (by compartments); \
         then precompute the inputs",
        plural(n_layers),
        plural(added)
    );
    let precompute = remedied
        .edges()
        .iter()
        .any(|e| remedied.block(e.src).host && !remedied.block(e.dst).host);
    let emu2 = EmuOptions { precompute, ..*emu };
    let placed = place(&remedied, topo, place_opts);
    let (after, placement) = match placed {
        Ok((p, _)) => (run(&remedied, topo, &p, &emu2), Some(p)),
        Err(e) => (Err(e.to_string()), None),
    };
    Remedy {
        name: "host-loop",
        action,
        reason,
        after,
        network: Some(remedied),
        placement,
        precompute,
    }
}

/// The `allocator`, `pack` and `fewer-chips` remedies, from one comparison.
fn placement_remedies(
    net: &Network,
    topo: &Topology,
    before: &Figures,
    report: &Report,
    emu: &EmuOptions,
    opts: &AdviseOptions,
) -> Vec<Remedy> {
    let mut candidates: Vec<String> = AUTO_CANDIDATES.iter().map(|s| s.to_string()).collect();
    candidates.push("metis+pack".into());
    // The default minimising the hops instead: fewer spikes x hops load the chip links less. One
    // message per edge only: under multicast `--objective hops` has no meaning.
    if opts.place.traffic != TrafficModel::Multicast {
        candidates.push("portfolio+hops".into());
    }
    let copts = CompareOptions {
        candidates,
        place: opts.place.clone(),
        emu: *emu,
        pack: false,
    };
    let rows = match compare(net, topo, &copts, None) {
        Ok(rows) => rows,
        Err(e) => {
            return vec![Remedy {
                name: "allocator",
                action: "place with another allocator".into(),
                reason: "compare failed".into(),
                after: Err(e.to_string()),
                network: None,
                placement: None,
                precompute: emu.precompute,
            }]
        }
    };
    let placed: Vec<(&str, &crate::report::Placed)> = rows
        .iter()
        .filter_map(|r| r.placed().map(|p| (r.allocator.as_str(), p)))
        .collect();
    let figures = |p: &crate::report::Placed| Figures {
        time_us: p.time_mean_us,
        energy_uj: p.energy_uj,
        chips: p.report.chips_used,
        cores: p.report.cores_used,
        pace_phase: p
            .report
            .emulation
            .as_ref()
            .and_then(|e| e["pace_phase"].as_str())
            .map(phase_name)
            .unwrap_or("spiking"),
    };
    let remedy = |name, action: String, reason: String, p: &crate::report::Placed| Remedy {
        name,
        action,
        reason,
        after: Ok(figures(p)),
        network: None,
        placement: Some(p.placement.clone()),
        precompute: emu.precompute,
    };
    let mut out = Vec::new();
    let pace = report
        .emulation
        .as_ref()
        .and_then(|e| e["pace"][0]["name"].as_str())
        .unwrap_or("-")
        .to_string();
    if let Some((name, p)) = placed.iter().find(|(n, _)| !n.ends_with("+pack")) {
        out.push(remedy(
            "allocator",
            format!("place with {name} instead of {}", report.allocator),
            format!(
                "placement: {} sets the pace as placed; {name} is the fastest of compare's \
                 candidates",
                pace
            ),
            p,
        ));
    }
    if let Some((name, p)) = placed.iter().find(|(n, _)| n.ends_with("+pack")) {
        out.push(remedy(
            "pack",
            format!("pack blocks onto shared cores ({name}: --pack)"),
            format!(
                "cores: {} cores as placed, {} packed",
                before.cores, p.report.cores_used
            ),
            p,
        ));
    }
    let fewest = placed
        .iter()
        .min_by(|a, b| {
            a.1.report
                .chips_used
                .cmp(&b.1.report.chips_used)
                .then(a.1.time_mean_us.total_cmp(&b.1.time_mean_us))
        })
        .filter(|(_, p)| p.report.chips_used < before.chips);
    if let Some((name, p)) = fewest {
        out.push(remedy(
            "fewer-chips",
            format!(
                "use {} chip{} instead of {} ({name})",
                p.report.chips_used,
                plural(p.report.chips_used),
                before.chips
            ),
            format!("barrier and links: {} chips in use as placed", before.chips),
            p,
        ));
    }
    out
}

/// The static phase name a report's JSON gives.
fn phase_name(s: &str) -> &'static str {
    match s {
        "interchip" => "interchip",
        "barrier" => "barrier",
        "host" => "host",
        _ => "spiking",
    }
}

/// The `probes` remedy: the network without the edges from the chips to host blocks outside the loop
/// (the per-step probe reads), on the same placement.
fn fewer_probes(
    net: &Network,
    topo: &Topology,
    placement: &Placement,
    in_loop: &[BlockId],
    emu: &EmuOptions,
) -> Option<Remedy> {
    let probed: u64 = probed_blocks(net)
        .iter()
        .map(|&b| net.block(b).compartments)
        .sum();
    if probed == 0 {
        return None;
    }
    let mut keep = vec![false; net.n_blocks()];
    for &b in in_loop {
        keep[b.idx()] = true;
    }
    let edges: Vec<Edge> = net
        .edges()
        .iter()
        .filter(|e| !(!net.block(e.src).host && net.block(e.dst).host && !keep[e.dst.idx()]))
        .cloned()
        .collect();
    if edges.len() == net.edges().len() {
        return None;
    }
    let remedied = Network::new(net.name.clone(), net.blocks().to_vec(), edges)
        .expect("a subset of a valid network's edges");
    let left: u64 = probed_blocks(&remedied)
        .iter()
        .map(|&b| remedied.block(b).compartments)
        .sum();
    let after = run(&remedied, topo, placement, emu);
    Some(Remedy {
        name: "probes",
        action: format!(
            "read fewer values every step: {} probed values outside the loop (probe decoded outputs \
             or fewer neurons, or read them at the end of the run)",
            probed - left
        ),
        reason: if probed - left == probed {
            format!("probe reads: {probed} values read every step")
        } else {
            format!(
                "probe reads: {} of the {probed} values read every step are probes outside the loop",
                probed - left
            )
        },
        after,
        network: Some(remedied),
        placement: Some(placement.clone()),
        precompute: emu.precompute,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chain `in -> a -> hconv -> b -> out` with `hconv` (3,000 compartments) on the host: a loop.
    fn looped() -> Network {
        let mut a = Block::new("a", 500);
        a.rate = 0.1;
        let mut b = Block::new("b", 500);
        b.rate = 0.1;
        let mut hconv = Block::new("hconv", 3000).on_host();
        hconv.layer = Some("conv3".into());
        let blocks = vec![
            Block::new("in", 100).on_host(),
            a,
            hconv,
            b,
            Block::new("out", 10).on_host(),
        ];
        let e = |s, d, x| Edge::new(BlockId(s), BlockId(d), x);
        let edges = vec![e(0, 1, 10.0), e(1, 2, 50.0), e(2, 3, 300.0), e(3, 4, 50.0)];
        Network::new("looped", blocks, edges).unwrap()
    }

    #[test]
    fn moving_a_host_block_on_chip_splits_it_by_core_limits() {
        let net = looped();
        let topo = Topology::preset("loihi").unwrap();
        let (moved, added) = moved_on_chip(&net, &topo, &[BlockId(2)]);
        // 3,000 compartments: 3 cores of 1,000.
        assert_eq!(added, 3);
        let names: Vec<&str> = moved.blocks().iter().map(|b| b.name.as_str()).collect();
        assert_eq!(
            names,
            ["in", "a", "hconv.0", "hconv.1", "hconv.2", "b", "out"]
        );
        assert!(moved.blocks()[2..5]
            .iter()
            .all(|b| !b.host && b.compartments == 1000));
        // Every edge's spikes are kept in total.
        let total = |n: &Network| n.edges().iter().map(|e| e.spikes).sum::<f64>();
        assert!((total(&moved) - total(&net)).abs() < 1e-9);
        assert!(host_loop(&moved).is_empty());
    }

    #[test]
    fn advice_on_a_host_loop_names_the_loop_first() {
        let net = looped();
        let topo = Topology::preset("loihi").unwrap();
        let opts = AdviseOptions {
            emu: EmuOptions {
                steps: 50,
                ..EmuOptions::default()
            },
            place: Options::default(),
        };
        let advice = advise(&net, &topo, None, &opts).unwrap();
        let first = &advice.remedies[0];
        assert_eq!(first.name, "host-loop");
        assert!(
            first.reason.contains("1 host layer in the loop"),
            "{}",
            first.reason
        );
        assert!(first
            .action
            .contains("conv3 (1 block, 3000 compartments): 3 more cores"));
        // Before: a round trip every step (over 8 ms); after: precomputed, only the probes' reads.
        assert!(advice.before.time_us > 8_000.0);
        let after = first.after.as_ref().unwrap();
        assert!(after.time_us < 2_000.0, "{}", after.time_us);
        // The after figure is an emulation of the remedied network: emulate gives the same.
        let mut r = Report::new(
            first.network.as_ref().unwrap(),
            &topo,
            first.placement.as_ref().unwrap(),
            0.0,
        );
        let em = emulate(
            first.network.as_ref().unwrap(),
            &topo,
            first.placement.as_ref().unwrap(),
            &EmuOptions {
                precompute: first.precompute,
                ..opts.emu
            },
            &mut r,
            None,
        )
        .unwrap();
        assert_eq!(em.time_per_step_us.mean, after.time_us);
        // Precompute is refused on the loop, as in emulate.
        let bad = AdviseOptions {
            emu: EmuOptions {
                precompute: true,
                ..opts.emu
            },
            ..opts
        };
        let err = advise(&net, &topo, None, &bad).unwrap_err().to_string();
        assert!(err.starts_with("inputs cannot be precomputed"), "{err}");
    }
}
