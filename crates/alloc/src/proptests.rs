//! Property tests over every registered allocator: on random valid networks and boards, the one validator
//! accepts the placement, the same seed gives the same placement, and the traffic figures agree with a
//! brute-force recomputation that shares no code with `Metrics::compute` (its own routing walk, its own
//! multicast grouping).

use std::collections::BTreeMap;

use proptest::prelude::*;
use snn_graph::{Block, BlockId, Edge, Network};
use snn_hardware::{CoreLimits, CostModel, Grid, Topology, TrafficModel};
use snn_placement::{Metrics, Placement, Rules, Slot};

use crate::{by_name, pipeline, AllocError, Allocator, Ctx, Fm, Nets, Packed, Refiner, ALLOCATORS};

/// A board of `cx` x `cy` Loihi chips, each a row of `tiles` tiles of `cpt` cores.
fn board(name: &str, cx: u32, cy: u32, tiles: u32, cpt: u32) -> Topology {
    Topology::new(
        name,
        Grid { x: cx, y: cy },
        Grid { x: tiles, y: 1 },
        cpt,
        CoreLimits::LOIHI,
        CostModel::default(),
    )
    .unwrap()
}

fn arb_case() -> impl Strategy<Value = (Network, Topology, u32)> {
    (1u32..4, 1u32..4, 1u32..4, 1u32..4).prop_flat_map(|(cx, cy, tiles, cpt)| {
        let per_chip = (tiles * cpt) as usize;
        let max_blocks = per_chip * (cx * cy) as usize + 3;
        (
            prop::collection::vec((1u64..=1024, any::<bool>(), 0u8..10), 1..max_blocks.max(2)),
            prop::collection::vec(
                (
                    any::<prop::sample::Index>(),
                    any::<prop::sample::Index>(),
                    0.0f64..50.0,
                ),
                0..60,
            ),
            1..=cx * cy,
        )
            .prop_map(move |(blocks, edges, chips)| {
                let blocks: Vec<Block> = blocks
                    .iter()
                    .enumerate()
                    .map(|(i, &(c, host, r))| {
                        let mut b = Block::new(format!("b{i}"), c);
                        b.host = host && r < 3;
                        b.rate = r as f64 / 10.0;
                        b
                    })
                    .collect();
                let n = blocks.len();
                let edges = edges
                    .iter()
                    .map(|(s, d, w)| {
                        Edge::new(BlockId(s.index(n) as u32), BlockId(d.index(n) as u32), *w)
                    })
                    .collect();
                let topo = board("prop", cx, cy, tiles, cpt);
                (Network::new("prop", blocks, edges).unwrap(), topo, chips)
            })
    })
}

/// The figures recomputed the slow, obvious way.
fn brute_force(net: &Network, topo: &Topology, p: &Placement) -> Metrics {
    let chip_of = |b: BlockId| p.slot(b).chip();
    let xy = |c: u32| (c % topo.chips().x, c / topo.chips().x);
    let mut links: BTreeMap<(u32, u32), f64> = BTreeMap::new();
    let (mut inter, mut host, mut hops) = (0.0, 0.0, 0.0);
    for e in net.edges() {
        match (chip_of(e.src), chip_of(e.dst)) {
            (Some(a), Some(b)) if a != b => {
                inter += e.spikes;
                // Walk x first, then y, one chip at a time.
                let (mut x, mut y) = xy(a.0);
                let (tx, ty) = xy(b.0);
                while (x, y) != (tx, ty) {
                    let from = y * topo.chips().x + x;
                    if x != tx {
                        x = if x < tx { x + 1 } else { x - 1 };
                    } else {
                        y = if y < ty { y + 1 } else { y - 1 };
                    }
                    *links.entry((from, y * topo.chips().x + x)).or_default() += e.spikes;
                    hops += e.spikes;
                }
            }
            (Some(_), None) | (None, Some(_)) => host += e.spikes,
            _ => {}
        }
    }
    let mut pair: BTreeMap<(BlockId, BlockId), f64> = BTreeMap::new();
    for e in net.edges() {
        *pair.entry((e.src, e.dst)).or_default() += e.spikes;
    }
    let mut best: BTreeMap<(BlockId, u32), f64> = BTreeMap::new();
    for (&(s, d), &w) in &pair {
        if let (Some(a), Some(b)) = (chip_of(s), chip_of(d)) {
            if a != b {
                let v = best.entry((s, b.0)).or_default();
                *v = v.max(w);
            }
        }
    }
    let max_link = links.values().cloned().fold(0.0, f64::max);
    let on: Vec<Slot> = p
        .slots()
        .iter()
        .copied()
        .filter(|s| *s != Slot::Host)
        .collect();
    let mut chips: Vec<_> = on.iter().filter_map(|s| s.chip()).collect();
    chips.sort();
    chips.dedup();
    let mut cores = on.clone();
    cores.sort();
    cores.dedup();
    Metrics {
        chips_used: chips.len(),
        cores_used: cores.len(),
        interchip_spikes: inter,
        host_spikes: host,
        hop_spikes: hops,
        multicast_spikes: best.values().sum(),
        max_link_spikes: max_link,
        busiest_link: None,
    }
}

/// Every registered allocator but `ilp`: its exact model on these nets of up to ~40 blocks and 9 chips
/// takes seconds each, and with a time limit its result depends on the machine's speed. `ilp.rs` checks
/// it against a brute-force enumeration instead, and `tests/it/ilp.rs` on the fixtures.
fn fast_allocators() -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    ALLOCATORS.iter().filter(|a| a.0 != "ilp")
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn every_allocator_gives_valid_placements_with_exact_figures((net, topo, chips) in arb_case(), seed in 0u64..4) {
        let rules = Rules { chips, packing: false };
        for (name, _) in fast_allocators() {
            let alloc = by_name(name).unwrap();
            let result = alloc.allocate(&net, &topo, &mut Ctx::new(seed, rules));
            let big = net.blocks().iter().any(|b| !b.host && b.compartments > 1024);
            let fits = net.n_on_chip() as u64 <= chips as u64 * topo.cores_per_chip() as u64;
            let p = match result {
                Ok(p) => p,
                Err(AllocError::Block(_)) if big => continue,
                Err(AllocError::Infeasible { .. }) if !fits && !big => continue,
                Err(e) => return Err(TestCaseError::fail(format!("{name}: {e}"))),
            };
            prop_assert!(fits && !big, "{name} placed a network that cannot fit");
            p.validate(&net, &topo, &rules).map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
            let again = alloc.allocate(&net, &topo, &mut Ctx::new(seed, rules)).unwrap();
            prop_assert_eq!(&again, &p);
            let m = Metrics::compute(&net, &topo, &p);
            let b = brute_force(&net, &topo, &p);
            prop_assert_eq!((m.chips_used, m.cores_used), (b.chips_used, b.cores_used));
            for (what, x, y) in [
                ("interchip", m.interchip_spikes, b.interchip_spikes),
                ("host", m.host_spikes, b.host_spikes),
                ("hops", m.hop_spikes, b.hop_spikes),
                ("multicast", m.multicast_spikes, b.multicast_spikes),
                ("max_link", m.max_link_spikes, b.max_link_spikes),
            ] {
                prop_assert!(close(x, y), "{name} {what}: {x} vs brute force {y}");
            }
        }
    }

    #[test]
    fn refinement_never_raises_traffic_and_runs_the_same_on_any_thread_count(
        (net, topo, chips) in arb_case(),
        seed in 0u64..4,
    ) {
        let rules = Rules { chips, packing: false };
        for (name, _) in fast_allocators() {
            let plain = match by_name(name).unwrap().allocate(&net, &topo, &mut Ctx::new(seed, rules)) {
                Ok(p) => p,
                Err(AllocError::Infeasible { .. }) => continue,
                Err(e) => return Err(TestCaseError::fail(format!("{name}: {e}"))),
            };
            let refined = pipeline(name, &["fm".to_string()]).unwrap();
            let run = |threads: usize| {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                pool.install(|| refined.allocate(&net, &topo, &mut Ctx::new(seed, rules)))
            };
            let one = run(1).map_err(|e| TestCaseError::fail(format!("{name}+fm: {e}")))?;
            let two = run(2).map_err(|e| TestCaseError::fail(format!("{name}+fm: {e}")))?;
            prop_assert_eq!(&one, &two, "{}+fm differs between 1 and 2 threads", name);
            one.validate(&net, &topo, &rules).map_err(|e| TestCaseError::fail(format!("{name}+fm: {e}")))?;
            let before = Metrics::compute(&net, &topo, &plain).interchip_spikes;
            let after = Metrics::compute(&net, &topo, &one).interchip_spikes;
            // Refiners work on traffic rounded to 1e-6 spikes (and count a zero-traffic edge as 1e-6):
            // allow that much per edge.
            let slack = 1e-6 * net.edges().len() as f64 + 1e-9;
            prop_assert!(after <= before + slack, "{name}+fm raised traffic: {before} -> {after}");
        }
    }
}

/// The allocators `--pack` applies to (not nengo-loihi's one-block-per-core greedy and round-robin).
fn packable() -> impl Iterator<Item = &'static str> {
    fast_allocators()
        .map(|a| a.0)
        .filter(|a| !["greedy", "round-robin"].contains(a))
}

/// Whether every on-chip source reaches each other chip through one edge at most.
fn one_edge_per_remote_chip(net: &Network, p: &Placement) -> bool {
    let mut seen: BTreeMap<(BlockId, u32), usize> = BTreeMap::new();
    for e in net.edges() {
        if let (Some(a), Some(b)) = (p.slot(e.src).chip(), p.slot(e.dst).chip()) {
            if a != b {
                *seen.entry((e.src, b.0)).or_default() += 1;
            }
        }
    }
    seen.values().all(|&n| n == 1)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn packed_placements_validate_and_never_use_more_cores(
        (net, topo, chips) in arb_case(),
        seed in 0u64..4,
        multicast in any::<bool>(),
    ) {
        let packed_rules = Rules { chips, packing: true };
        let plain_rules = Rules { chips, packing: false };
        let traffic = if multicast { TrafficModel::Multicast } else { TrafficModel::Unicast };
        let big = net.blocks().iter().any(|b| !b.host && b.compartments > 1024);
        for name in packable() {
            let mut ctx = Ctx::new(seed, packed_rules);
            ctx.traffic = traffic;
            let packed = Packed { inner: by_name(name).unwrap() }.allocate(&net, &topo, &mut ctx);
            let mut ctx = Ctx::new(seed, plain_rules);
            ctx.traffic = traffic;
            let plain = by_name(name).unwrap().allocate(&net, &topo, &mut ctx);
            let p = match (packed, &plain) {
                (Ok(p), _) => p,
                (Err(AllocError::Block(_)), _) if big => continue,
                // Packing needs no more cores than one block per core: it fits whenever that fits.
                (Err(e), Ok(_)) => return Err(TestCaseError::fail(format!("{name}+pack: {e}"))),
                (Err(AllocError::Infeasible { .. }), Err(_)) => continue,
                (Err(e), Err(_)) => return Err(TestCaseError::fail(format!("{name}+pack: {e}"))),
            };
            p.validate(&net, &topo, &packed_rules)
                .map_err(|e| TestCaseError::fail(format!("{name}+pack: {e}")))?;
            prop_assert_eq!(&p.allocator, &format!("{name}+pack"));
            let m = Metrics::compute(&net, &topo, &p);
            let b = brute_force(&net, &topo, &p);
            prop_assert_eq!(m.cores_used, b.cores_used);
            prop_assert!(close(m.interchip_spikes, b.interchip_spikes));
            prop_assert!(close(m.multicast_spikes, b.multicast_spikes));
            if let Ok(plain) = &plain {
                let unpacked = Metrics::compute(&net, &topo, plain);
                prop_assert!(m.cores_used <= unpacked.cores_used,
                    "{name}: packed {} cores, unpacked {}", m.cores_used, unpacked.cores_used);
            }
        }
    }

    #[test]
    fn multicast_is_at_most_unicast_and_equal_with_one_edge_per_remote_chip(
        (net, topo, chips) in arb_case(),
        seed in 0u64..4,
    ) {
        let rules = Rules { chips, packing: false };
        let Ok(p) = by_name("round-robin").unwrap().allocate(&net, &topo, &mut Ctx::new(seed, rules)) else {
            return Ok(());
        };
        let m = Metrics::compute(&net, &topo, &p);
        prop_assert!(m.multicast_spikes <= m.interchip_spikes + 1e-9 * (1.0 + m.interchip_spikes));
        if one_edge_per_remote_chip(&net, &p) {
            prop_assert!(close(m.multicast_spikes, m.interchip_spikes));
        }
        // The hypergraph the allocators optimise counts exactly what the report does.
        let nets = Nets::new(&net);
        let cost = nets.cost(|b| p.slot(b).chip());
        prop_assert!(close(cost, m.multicast_spikes), "nets {cost} vs report {}", m.multicast_spikes);
    }

    #[test]
    fn multicast_refinement_never_raises_multicast_traffic(
        (net, topo, chips) in arb_case(),
        seed in 0u64..4,
    ) {
        let rules = Rules { chips, packing: false };
        for name in packable() {
            let mut ctx = Ctx::new(seed, rules);
            let plain = match by_name(name).unwrap().allocate(&net, &topo, &mut ctx) {
                Ok(p) => p,
                Err(_) => continue,
            };
            let mut ctx = Ctx::new(seed, rules);
            ctx.traffic = TrafficModel::Multicast;
            let mut refined = plain.clone();
            Fm::default().refine(&net, &topo, &mut refined, &mut ctx)
                .map_err(|e| TestCaseError::fail(format!("{name}+fm: {e}")))?;
            refined.validate(&net, &topo, &rules)
                .map_err(|e| TestCaseError::fail(format!("{name}+fm: {e}")))?;
            let before = Metrics::compute(&net, &topo, &plain).multicast_spikes;
            let after = Metrics::compute(&net, &topo, &refined).multicast_spikes;
            let slack = 1e-6 * net.edges().len() as f64 + 1e-9;
            prop_assert!(after <= before + slack, "{name}+fm raised multicast: {before} -> {after}");
        }
    }
}

/// A board whose chips the on-chip blocks fill exactly (no free core: single moves are impossible), with
/// random traffic between them.
fn arb_full_board() -> impl Strategy<Value = (Network, Topology)> {
    (1u32..4, 1u32..3, 1u32..3, 1u32..5).prop_flat_map(|(cx, cy, tiles, cpt)| {
        let n = (cx * cy * tiles * cpt) as usize;
        prop::collection::vec(
            (
                any::<prop::sample::Index>(),
                any::<prop::sample::Index>(),
                0.0f64..50.0,
            ),
            0..4 * n + 1,
        )
        .prop_map(move |edges| {
            let blocks = (0..n).map(|i| Block::new(format!("b{i}"), 10)).collect();
            let edges = edges
                .iter()
                .map(|(s, d, w)| {
                    Edge::new(BlockId(s.index(n) as u32), BlockId(d.index(n) as u32), *w)
                })
                .collect();
            let topo = board("full", cx, cy, tiles, cpt);
            (Network::new("full", blocks, edges).unwrap(), topo)
        })
    })
}

/// The objective a run minimised: inter-chip spikes, or the multicast cut.
fn objective(net: &Network, topo: &Topology, p: &Placement, traffic: TrafficModel) -> f64 {
    let m = Metrics::compute(net, topo, p);
    match traffic {
        TrafficModel::Multicast => m.multicast_spikes,
        _ => m.interchip_spikes,
    }
}

/// Checks the default allocator against `greedy-interchip` and `metis --refine fm` with the same seed,
/// traffic model and spread: valid, and never more of the objective.
fn check_portfolio(
    net: &Network,
    topo: &Topology,
    rules: Rules,
    seed: u64,
    traffic: TrafficModel,
    spread: bool,
) -> Result<(), TestCaseError> {
    let ctx = || {
        let mut c = Ctx::new(seed, rules);
        c.traffic = traffic;
        c.spread = spread;
        c
    };
    let p = match by_name("portfolio")
        .unwrap()
        .allocate(net, topo, &mut ctx())
    {
        Ok(p) => p,
        Err(AllocError::Infeasible { .. }) | Err(AllocError::Block(_)) => return Ok(()),
        Err(e) => return Err(TestCaseError::fail(format!("portfolio: {e}"))),
    };
    p.validate(net, topo, &rules)
        .map_err(|e| TestCaseError::fail(format!("portfolio: {e}")))?;
    let ours = objective(net, topo, &p, traffic);
    for (name, refine) in [
        ("greedy-interchip", vec![]),
        ("metis", vec!["fm".to_string()]),
    ] {
        let other = pipeline(name, &refine)
            .unwrap()
            .allocate(net, topo, &mut ctx())
            .unwrap();
        let theirs = objective(net, topo, &other, traffic);
        prop_assert!(
            ours <= theirs + 1e-9 * (1.0 + theirs),
            "portfolio {ours} > {name} {theirs} ({traffic:?}, spread {spread})"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn portfolio_is_never_worse_than_greedy_interchip_or_metis_fm(
        (net, topo, chips) in arb_case(),
        seed in 0u64..4,
        multicast in any::<bool>(),
        spread in any::<bool>(),
    ) {
        let traffic = if multicast { TrafficModel::Multicast } else { TrafficModel::Unicast };
        check_portfolio(&net, &topo, Rules { chips, packing: false }, seed, traffic, spread)?;
    }

    #[test]
    fn portfolio_is_never_worse_on_boards_without_a_free_core(
        (net, topo) in arb_full_board(),
        seed in 0u64..4,
        multicast in any::<bool>(),
    ) {
        let traffic = if multicast { TrafficModel::Multicast } else { TrafficModel::Unicast };
        check_portfolio(&net, &topo, Rules::for_topology(&topo), seed, traffic, false)?;
    }
}

/// `portfolio` with `--objective hops` against `portfolio` itself (interchip, without the cut's
/// annealing, as `--objective hops` runs it) with the same seed: a valid placement, no more chips (as
/// many under `--spread`), and never more hop-spikes (the nets here are below `SMALL` blocks, where
/// that holds; see `Portfolio::least_hops`).
fn check_hops(
    net: &Network,
    topo: &Topology,
    rules: Rules,
    seed: u64,
    spread: bool,
) -> Result<(), TestCaseError> {
    let run = |objective| {
        let mut ctx = Ctx::new(seed, rules);
        ctx.spread = spread;
        crate::Portfolio {
            objective,
            cut_anneal: 0,
            ..crate::Portfolio::default()
        }
        .allocate(net, topo, &mut ctx)
    };
    let base = match run(crate::Objective::Interchip) {
        Ok(p) => p,
        Err(AllocError::Infeasible { .. }) | Err(AllocError::Block(_)) => return Ok(()),
        Err(e) => return Err(TestCaseError::fail(format!("portfolio: {e}"))),
    };
    let hops = run(crate::Objective::Hops)
        .map_err(|e| TestCaseError::fail(format!("portfolio --objective hops: {e}")))?;
    hops.validate(net, topo, &rules)
        .map_err(|e| TestCaseError::fail(format!("portfolio --objective hops: {e}")))?;
    let (ours, theirs) = (
        Metrics::compute(net, topo, &hops),
        Metrics::compute(net, topo, &base),
    );
    prop_assert!(
        ours.hop_spikes <= theirs.hop_spikes + 1e-9 * (1.0 + theirs.hop_spikes),
        "hops {} > interchip's {}",
        ours.hop_spikes,
        theirs.hop_spikes
    );
    // The same chips, or fewer where refinement emptied one; all of them under --spread.
    if spread {
        prop_assert_eq!(ours.chips_used, theirs.chips_used);
    } else {
        prop_assert!(ours.chips_used <= theirs.chips_used);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn portfolio_for_hops_never_has_more_hops_than_for_interchip(
        (net, topo, chips) in arb_case(),
        seed in 0u64..4,
        spread in any::<bool>(),
    ) {
        check_hops(&net, &topo, Rules { chips, packing: false }, seed, spread)?;
    }

    #[test]
    fn portfolio_for_hops_works_on_boards_without_a_free_core(
        (net, topo) in arb_full_board(),
        seed in 0u64..4,
    ) {
        check_hops(&net, &topo, Rules::for_topology(&topo), seed, false)?;
    }
}
