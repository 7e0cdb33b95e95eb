//! `portfolio`, the default allocator: several starting partitions, each refined as far as the
//! refiners go, the one with the least traffic kept, then mapped onto the chip mesh.
//!
//! No single start wins on every net. METIS (k-way and recursive bisection, the best of its tries after
//! FM and V-cycles: exactly what `metis --refine fm` computes with the same seed) is best on most
//! generated nets; nengo-loihi's `GreedyInterchip` grows chips around whole clusters and wins on models
//! made of dense clusters that do not divide evenly into chips, such as nengo-loihi ensemble arrays with
//! dense transforms (measured: 10,020 inter-chip spikes against METIS's 13,588 on 2,176 blocks filling
//! 17 chips exactly). Every start is then refined in turns by k-way FM, V-cycles, flow refinement
//! ([`crate::flow`], which re-splits pairs of full chips where single moves cannot) and simulated
//! annealing of the cut at the coarse levels of a V-cycle ([`crate::hops::vcycles`], which moves whole
//! clusters of blocks where FM and flows are stuck), until a turn gains nothing. Under multicast the
//! multicast cut itself is then refined (the hypergraph local search, flows on the hypergraph,
//! [`flow::refine_multicast`], and V-cycles with annealing of the multicast cut at the coarse levels,
//! [`hyper::anneal`]), and every start is also refined on it alone, in parallel with its turns: the
//! unicast turns can take a start away from a low multicast cut. In a build with the cargo feature
//! `mtkahypar`, Mt-KaHyPar's partition ([`crate::mtkahypar`], `quality` preset) is one more start.
//!
//! The winner is mapped onto the chip mesh ([`crate::mapping`]); then, outside multicast, its blocks
//! move nearer the chips they talk to where that costs no inter-chip traffic: moves and swaps
//! ([`crate::hops::refine`]) and flows between mesh neighbours with the cut first and the hops second
//! ([`flow::refine_hops`], [`CUT_HOP_FLOWS`]). Where the chips are (almost) full, one more
//! candidate, the recut ([`Portfolio::recut`]): the mapped chips refined on the hops, lightly, then on
//! the cut again, in two rounds above [`SMALL`] blocks (an iterated local search, [`RECUT_ROUNDS`]).
//!
//! The unrefined starts stay candidates too, and the winner is chosen by the exact objective in spikes
//! per timestep (`interchip_spikes`, or `multicast_spikes` under multicast), ties to the earlier
//! candidate. So the result is never worse than `greedy-interchip` nor than `metis --refine fm` with the
//! same seed, whatever the rounding of the integer weights the refiners use. The starts run in parallel;
//! each draws from its own RNG seeded by the caller's seed, so the result is the same at any thread count.

use snn_graph::{Adjacency, Network};
use snn_hardware::{ChipId, Topology, TrafficModel};
use snn_placement::{Nets, Placement};

use crate::flow::{self, FlowConfig, HopWeights};
use crate::fm::{self, FmConfig};
use crate::hops::{self, Metric};
use crate::hyper::{self, HyperGraph, HYPER_PASSES};
use crate::mapping::{place_parts, place_parts_on_chips};
use crate::multilevel::{self, VCYCLES};
use crate::partition::{on_chip_edges, BlockGraph};
use rayon::prelude::*;

use crate::metis::{self, best_try};
use crate::{
    chips_to_use, fill_per_chip, AllocError, Allocator, Ctx, GreedyInterchip, Metis, Objective,
};

/// See the module docs.
#[derive(Clone, Debug, PartialEq)]
pub struct Portfolio {
    pub fm: FmConfig,
    pub flow: FlowConfig,
    /// The region shares flow refinement runs with, in turn (see [`FlowConfig::region`]): a small region
    /// finds more cuts that fit, a large one cuts further from today's boundary.
    pub regions: Vec<f64>,
    /// Refinement turns (FM, V-cycles, flows, annealing) per start at most.
    pub turns: usize,
    /// Annealing proposals per vertex at each coarse level of the cut's annealing V-cycle, up to
    /// [`SMALL`] blocks (a tenth of it up to [`LARGE`], a 300th above; 0: no annealing). Not run for
    /// `--objective hops`, whose hop refinement starts better from the partition before it (see
    /// [`Portfolio::least_hops`]).
    pub cut_anneal: usize,
    /// What the placement minimises: `Interchip` (the inter-chip spikes, or under multicast the
    /// multicast cut; the hops are then lowered only where that costs no inter-chip traffic) or `Hops`
    /// (spikes x chip-mesh hops, whatever the inter-chip figure: see [`Portfolio::least_hops`]).
    pub objective: Objective,
    /// How long the cut's refinement may run on large nets (see [`Effort`]).
    pub effort: Effort,
}

/// How far [`Portfolio`] refines the cut of nets above [`LARGE`] blocks (`--effort`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Effort {
    /// Above [`LARGE`] blocks one refinement turn, or [`LARGE_TURNS_FEW_PAIRS`] with every flow
    /// region where few pairs of chips exchange traffic (see `Portfolio::refine`), after METIS tries
    /// with [`metis::FEWER_VCYCLES`]: 98,000 blocks in about 10.5x the time of reading the net and
    /// placing it with `greedy`.
    #[default]
    Default,
    /// Above [`LARGE`] blocks every flow region and up to [`FULL_TURNS`] turns, while they gain (the
    /// unicast cut's refinement; the annealing and the multicast refinement keep their schedule),
    /// after METIS tries with [`VCYCLES`] V-cycles each. Measured on `gen layered --blocks 97983`
    /// (766 chips, 2 threads): seed 1 630,372 inter-chip spikes in 70-75 s against the default's
    /// 635,904 in 20.5 s (two turns, [`LARGE_TURNS_FEW_PAIRS`]; one turn 638,707; Mt-KaHyPar
    /// QUALITY: 631,560); four turns 632,436 in 48.7 s (one region by
    /// default then). Where every pair of chips exchanges traffic it pays far more for less: `gen
    /// random --blocks 40000` (310 chips) 93,284 in 340 s against the default's 93,861 in 42.9 s. Up to [`LARGE`] the default's
    /// schedule is already the heavier one, with the recut where chips are full, and more turns
    /// there led elsewhere: `gen layered --blocks 16000` seed 1 100,562 in 67 s against 100,197 in
    /// 34 s, so there it is the default.
    Full,
}

/// The names `--effort` takes, in [`Effort`] order.
pub const EFFORTS: &[&str] = &["default", "full"];

impl Effort {
    /// Every effort, in [`EFFORTS`] order.
    const ALL: [Effort; 2] = [Effort::Default, Effort::Full];

    pub fn name(self) -> &'static str {
        EFFORTS[self as usize]
    }

    /// The effort called `name`, or an error listing the known ones.
    pub fn from_name(name: &str) -> Result<Effort, String> {
        match EFFORTS.iter().position(|&e| e == name) {
            Some(i) => Ok(Effort::ALL[i]),
            None => Err(format!(
                "unknown effort {name:?}; known: {}",
                EFFORTS.join(", ")
            )),
        }
    }
}

/// Refinement turns at most under [`Effort::Full`].
const FULL_TURNS: usize = 8;

/// Refinement turns at most above [`LARGE`] blocks under [`Effort::Default`] where few pairs of chips
/// exchange traffic ([`few_pairs`]; one turn elsewhere). Measured on `gen layered --blocks 97983`
/// (766 chips, 2 threads; inter-chip spikes, seconds): seed 1 one turn 638,707.3 in 19.7 s, two
/// 635,904.5 in 24.1 s, three 633,927.7 in 27.8 s (Mt-KaHyPar QUALITY 631,560.2; `--effort full`
/// 630,372.5 in 70 s); seed 2 646,138.2 in 18.0 s against 643,867.5 in 21.1 s with two. Each turn
/// about 0.3-0.45% for 3-4 s more: two keep the default near 10x `greedy`.
const LARGE_TURNS_FEW_PAIRS: usize = 2;

impl Default for Portfolio {
    fn default() -> Portfolio {
        Portfolio {
            fm: FmConfig::default(),
            flow: FlowConfig::default(),
            // Measured on the 2,176-block ensemble array at zero slack: 0.5 alone 8,978 inter-chip
            // spikes, 0.75 alone 9,262, 0.5 then 0.9 8,948-8,998; on `gen layered`/`gen random` nets the
            // second region adds little and costs about a third more time.
            regions: vec![0.5, 0.9],
            turns: 4,
            cut_anneal: CUT_ANNEAL,
            objective: Objective::Interchip,
            effort: Effort::Default,
        }
    }
}

/// Up to this many on-chip blocks refinement runs its full schedule; up to [`LARGE`], two turns with
/// one flow region; above, one turn, or [`LARGE_TURNS_FEW_PAIRS`] where few pairs of chips exchange
/// traffic (see `refine`).
const SMALL: usize = 8_000;
const LARGE: usize = 32_000;

/// How far GreedyInterchip's cut may be above METIS's for it to be refined as a second start. On the
/// nengo-loihi ensemble array at zero slack it starts 26% below METIS's and wins after refinement.
const GREEDY_START: f64 = 1.05;

/// Without the full schedule ([`full_schedule`]), multicast flows re-split at most this many pairs of
/// chips per chip in a round, the heaviest.
const MULTICAST_PAIRS_PER_PART: usize = 4;

/// Multicast V-cycles at most (see `refine_multicast`): each stops the loop when it gains nothing.
/// Measured on the 25^3 grid (123 chips, 15,625 blocks, with the V-cycles allowed there for the
/// measurement): 3 cycles 12,564 multicast spikes, 6 cycles 12,540 (the start: 12,656; Mt-KaHyPar's KM1
/// partition 12,535).
const MULTICAST_VCYCLES: usize = 6;

/// Multicast V-cycles at most above [`SMALL`] blocks (under the full schedule, [`full_schedule`]), to keep
/// 16,000 blocks under 20 s: measured with 6 cycles, the 25^3 grid 12,525 multicast spikes in 11.0 s and
/// `gen layered --blocks 16000` (125 chips) 80,082 in 21.6 s; with 3, 12,581 in 7.2 s and 80,201 in
/// 14.8 s (before the multicast V-cycles and flows: 12,642 in 3.5 s; 81,442 in 4.7 s).
const MULTICAST_VCYCLES_LARGE: usize = 3;

/// Annealing proposals per vertex at each coarse level of the multicast V-cycles. Measured on the grid
/// (three cycles, as above): 30 gave 12,578 multicast spikes in 2.2 s more, 100 12,557 in 7.2 s, 300 12,549 in
/// 20.8 s; on `gen random --blocks 3900` 30 took 7,361 to 7,352 in 2.5 s.
const MULTICAST_ANNEAL: usize = 30;

/// METIS tries refined as starts beside the best one, up to [`SMALL`] blocks, where the chips leave at
/// most 1% of their cores free ([`tight`]): there single moves are (almost) impossible, the refiners
/// keep to the basin of their start, and which of several near-equal partitions a start leads to is
/// what decides. The next two tries by cut, measured on the dense ensemble array at zero slack (17 full
/// chips; inter-chip spikes, seeds 1 / 2 / 3): 8,914 / 8,904 / 8,908 against 8,926 / 8,914 / 8,964 with
/// the best try alone, in 1.6x the time (2.7-3.0 s -> 4.5-4.6 s, 2 threads); on `gen layered --blocks
/// 3910` and `gen random --blocks 3900` (1.5% and 2.8% free) the same placements in 2.5-3x the time,
/// so they keep one METIS start. Not under multicast, where the ensemble array's figure stayed 5,298
/// multicast spikes in 1.5x the time, nor under `--objective hops`, whose start they changed: 32,258
/// hop-spikes against 30,904 (seed 1; seeds 2 and 3 unchanged).
const TIGHT_STARTS: usize = 2;

/// Whether chips of `caps` cores, holding `n` blocks, leave at most 1% of `n` cores free.
fn tight(n: usize, caps: &[u32]) -> bool {
    let total: usize = caps.iter().map(|&c| c as usize).sum();
    total.saturating_sub(n) * 100 <= n
}

/// The flows between mesh neighbours after `--objective hops`'s V-cycles ([`flow::refine_hops`]):
/// four times the hops plus the cut, the hops never rising. Measured (seed 1; hop-spikes / inter-chip
/// spikes): on the dense ensemble array (17 x 1) 30,904 / 8,950 before, 29,314 / 9,966 with these
/// weights, 29,330 / 11,702 on the hops alone (seeds 2 and 3: 28,862 / 9,582 and 31,004 / 10,276,
/// against 28,862 / 11,410 and 31,330 / 11,748 before); the 25^3 grid (16 x 8) 29,928 -> 29,622
/// (hops alone 29,628); `gen layered --blocks 16000` 152,929 -> 149,617 (16.2 -> 18.8 s); `gen layered
/// --blocks 3910` and `gen random --blocks 3900` unchanged (17,597; 25,375 -> 25,371), `gen random
/// --blocks 16000` 213,605 -> 213,496 in 74 -> 87 s.
const HOP_FLOWS: HopWeights = HopWeights { hops: 4, cut: 1 };

/// The flows between mesh neighbours after the default's mapping and hop moves: the cut sixteen
/// times the hops, the cut never rising, so they lower the hops only where that costs no inter-chip
/// traffic, and sometimes the cut too (a pair of mesh neighbours re-split on its own). Measured (seed
/// 1, hop-spikes / inter-chip spikes): `gen layered --blocks 3910` 19,951 / 13,343.0 -> 19,687 /
/// 13,328.7; the 25^3 grid 33,796 / 16,798 -> 33,624 / 16,790; the ensemble array, `gen random` 3,900
/// and 16,000 and `gen layered --blocks 16000` unchanged, in up to 1.4 s more; weights 4 and 64 gave
/// the same. On `gen layered --blocks 97983` (766 chips) they took the cut from 644,818 to 642,636 and
/// the hops from 1,140,393 to 1,135,427, in 5.8 s more (7.9 -> 13.7 s): above [`LARGE`] they are not
/// run.
const CUT_HOP_FLOWS: HopWeights = HopWeights { hops: 1, cut: 16 };

/// The hop runs of the default's recut ([`Portfolio::recut`]): annealing proposals per vertex at each
/// coarse level and V-cycles, lighter than `--objective hops`'s ([`HOP_MOVES`] and 4), since the cut's
/// refinement follows and the hops only steer it. The recut, measured (2 threads; inter-chip spikes /
/// hop-spikes, means over seeds): the dense ensemble array (17 x 1, seeds 0-5) 8,908.3 / 37,211 in
/// 4.7-5.6 s without it, 8,905.3 / 33,886 in 6.8-9.7 s with it (300 proposals and 4 V-cycles: 8,905.0
/// / 33,958 in 7.2-8.8 s; 3,000 and 4 the same in 9.4-14.4 s); `gen layered --blocks 3968` (31 full
/// chips, 4 x 8, seeds 1-3) 14,172 in 6.9-8.3 s without, 13,792 in 13.7-16.0 s with it (the cut's
/// annealing does it there: without annealing in the recut, no gain; with 300 proposals, 14,127); `gen
/// random --blocks 3968` (seed 1) unchanged at 8,717.2 in 45.5 s against 20.2 s. Above [`SMALL`]
/// blocks the hop runs have no flows (with them the recut of `gen layered --blocks 16000` took twice as
/// long), there were four of them (now two rounds of two: [`RECUT_ROUNDS`]), and the recut runs only up to [`LARGE`] blocks where few pairs of
/// chips exchange traffic ([`few_pairs`]): `gen layered --blocks 16000` (125 chips, at most 1% free;
/// seeds 1 / 2) 105,097.7 / 105,746.1 -> 103,433.1 / 102,946.3 inter-chip spikes (two runs: 104,216.5
/// / 103,524.0 in 10.2-11.6 s), hop-spikes 178,601 / 192,633 -> 174,627 / 208,897, in 14.4-14.6 s
/// against 4.5-5.5 s; the 25^3 grid (123 chips) unchanged in 6.1 s against 2.8 s; `gen random --blocks
/// 16000` (every pair of chips) not run; on the 98k net (766 chips) the recut took 200 s and gave
/// 652,910 against 644,820.
/// Above [`SMALL`] one V-cycle (the third figure), since the refinement there now flows at both region
/// sizes where few pairs of chips exchange traffic (see `Portfolio::refine`): `gen layered --blocks
/// 16000` seeds 1-5, 101,617 / 101,030 / 101,805 / 101,979 / 101,249 inter-chip spikes (mean 101,536)
/// in 24-25 s, against 101,887 / 100,612 / 102,836 / 102,091 / 102,344 (mean 101,954) in 25-31 s with
/// two (hop runs 4.3 s against 9 s); 100 proposals and two cycles mean 102,032 over seeds 1-3, 1,000
/// and one 100,974 in 33-36 s (a slower day than the figures above: the same build took 19-25 s where
/// it took 14.5 s).
const RECUT_HOPS: (usize, usize, usize) = (300, 2, 1);

/// Rounds of the recut above [`SMALL`] blocks ([`Portfolio::recut`]): two hop runs and the cut's
/// refinement of each, the next round starting from the best so far (an iterated local search).
/// Measured on `gen layered --blocks 16000` (seeds 1-5, inter-chip spikes): two rounds 100,197.4 /
/// 100,462.3 / 100,435.9 / 99,127.1 / 101,249.2 (mean 100,294; Mt-KaHyPar QUALITY's mean 101,116,
/// HIGHEST_QUALITY's over seeds 1-3 100,273) against four runs from the default's chips in one round,
/// the same work, 101,616.7 / 101,029.5 / 101,805.0 / 101,978.5 / 101,249.2 (mean 101,536).
const RECUT_ROUNDS: usize = 2;

/// The default [`Portfolio::cut_anneal`].
const CUT_ANNEAL: usize = 3_000;

/// Annealing proposals per vertex at each coarse level of the hop refinement (`--objective hops`) up to
/// [`SMALL`] blocks; fewer above, in proportion (see `least_hops`).
const HOP_MOVES: usize = 3_000;

/// METIS tries the portfolio's METIS start runs: more on small nets, where a try is cheap and the
/// spread between seeds is a few percent (measured on `gen layered --blocks 3910`: 14,309 inter-chip
/// spikes with 4 tries, 14,120 with 16), never fewer than `metis --refine fm`'s 4, whose tries are
/// the first ones.
fn metis_tries(n: usize) -> u32 {
    match n {
        0..=8_000 => 16,
        8_001..=32_000 => 8,
        _ => Metis::default().tries,
    }
}

impl Portfolio {
    /// The flow refinements, one per region: every region where `all`, else the first.
    fn flows(&self, all: bool) -> Vec<FlowConfig> {
        let regions = if all {
            &self.regions[..]
        } else {
            &self.regions[..1]
        };
        regions
            .iter()
            .map(|&region| FlowConfig {
                region,
                ..self.flow
            })
            .collect()
    }

    /// `refine`'s schedule on `n` blocks: (turns at most, whether every flow region runs, annealing
    /// proposals per vertex), from the proposals `anneal` and whether the heavier schedule applies
    /// (`heavy`, see [`full_schedule`]; above `LARGE` every region where few pairs of chips exchange
    /// traffic, see `refine`, and [`LARGE_TURNS_FEW_PAIRS`] turns). `--effort full` ([`Effort::Full`]) above
    /// [`LARGE`]: every region and [`FULL_TURNS`] turns, the annealing as by size (on the 98k net it
    /// adds nothing, see `refine`).
    fn turns_for(&self, n: usize, heavy: bool, anneal: usize) -> (usize, bool, usize) {
        let all_regions = n <= SMALL || heavy;
        match n {
            0..=SMALL => (self.turns, all_regions, anneal),
            n if n <= LARGE => (self.turns.min(2), all_regions, anneal / 10),
            _ if self.effort == Effort::Full => (self.turns.max(FULL_TURNS), true, anneal / 300),
            _ if heavy => (LARGE_TURNS_FEW_PAIRS, all_regions, anneal / 300),
            _ => (1, all_regions, anneal / 300),
        }
    }

    /// Refines `part` in turns of FM, V-cycles and flows until a turn gains nothing (never raises the
    /// integer cut), then, under multicast, on the multicast cut ([`Portfolio::refine_multicast`]).
    fn refine(
        &self,
        g: &BlockGraph,
        h: Option<&HyperGraph>,
        part: &mut [u32],
        caps: &[u32],
        seed: u64,
        expired: &(dyn Fn() -> bool + Sync),
    ) {
        // Larger nets get fewer turns and one region: on `gen layered --blocks 97983` (766 chips) the
        // full schedule took 133 s against `metis --refine fm`'s 21 s, for 2.1% less traffic, and on
        // `gen random --blocks 16000` 75 s against 11 s.
        // Annealing of the cut at the coarse levels of V-cycles ([`hops::vcycles`] with
        // [`Metric::Cut`]) after the flows, with fewer proposals per vertex on larger nets: on `gen
        // layered --blocks 3910` 3,000 proposals took the portfolio from 13,824 inter-chip spikes to
        // 13,354 (0.67 to 6.1 s, 2 threads; 1,000: 13,687), on `gen random --blocks 3900` from 8,545 to
        // 8,538; on 16,000 blocks 300 proposals gained 1.9% (layered) and 0.2% (random) for 3-7 s more,
        // 1,000 no more. On 97,981 blocks (766 chips) 5 to 300 proposals all reach 644,819 from
        // 650,332 (the V-cycle's own FM levels do it, the annealing adds nothing there) in 9.1 to 13.7 s
        // against 8.7 s: 10.
        let anneal = match self.objective {
            Objective::Hops => 0,
            _ => self.cut_anneal,
        };
        // Every region under the heavier schedules ([`full_schedule`]: up to `SMALL` blocks, and up to
        // `LARGE` where few pairs of chips exchange traffic), else the first. Measured (seed 1, 2 threads, with the recut's one
        // V-cycle above `SMALL`, see `RECUT_HOPS`): `gen layered --blocks 16000` (125 chips, at most 1%
        // free) 103,433.1 -> 101,616.7 inter-chip spikes (seeds 1-5: mean 103,086 -> 101,536; Mt-KaHyPar
        // QUALITY 101,886.1), the first turn alone 34.91e9 -> 34.52e9 in the graph's units; the 25^3
        // grid 16,790 / 33,624 hop-spikes -> 16,784 / 33,530 in 9.2 -> 10.7 s; under multicast `gen
        // layered --blocks 16000` 80,200.5 -> 78,844.4 multicast spikes in 24.6 -> 27.8 s; `gen random
        // --blocks 16000` (every pair of chips) not run.
        // Not for `--objective hops` (above `SMALL` blocks, where it decides), whose hop refinement
        // started worse from there: 149,419 / 149,799 hop-spikes -> 150,184 / 152,483 on `gen layered
        // --blocks 16000` (seeds 1 / 2; measured again 2026-12-02).
        // Above `LARGE` as well where few pairs of chips exchange traffic, paid for in part by fewer
        // V-cycles in the METIS tries there (`metis::FEWER_VCYCLES`): on the 98k net (seed 1, 2
        // threads) 644,930 -> 638,707 inter-chip spikes (1.011 of Mt-KaHyPar QUALITY) in 18.4 -> 23.1
        // s (see BENCHMARKS.md for seeds 2 and 3); `gen random --blocks 40000` (every pair of chips)
        // keeps one.
        // So: `full_schedule` at any size, `few_pairs` deciding above `SMALL`.
        let heavy = self.objective == Objective::Interchip
            && (g.n() <= SMALL || few_pairs(g, part, chips_with_cores(caps)));
        let (turns, all_regions, anneal) = self.turns_for(g.n(), heavy, anneal);
        let regions = self.flows(all_regions);
        for turn in 0..turns {
            if expired() {
                break;
            }
            let before = g.cut(part);
            fm::refine(g, part, caps, &self.fm, expired);
            multilevel::vcycles(
                g,
                part,
                caps,
                VCYCLES,
                seed.wrapping_add(turn as u64),
                &self.fm,
                expired,
            );
            for cfg in &regions {
                flow::refine(g, part, caps, cfg, expired);
            }
            // One V-cycle per turn (the turns repeat it): two gave 13,354 and 8,528 inter-chip spikes on
            // the layered and random nets above against one's 13,343 and 8,523, in 1.3-2x the time.
            if anneal > 0 {
                let seed = seed.wrapping_add(turn as u64);
                let fm = &self.fm;
                hops::vcycles(g, part, caps, Metric::Cut, 1, seed, anneal, fm, expired);
            }
            if g.cut(part) >= before {
                break;
            }
        }
        if let Some(h) = h {
            let full = full_schedule(g, part, caps.len());
            self.refine_multicast(g, h, part, caps, seed, full, expired);
        }
    }

    /// Under multicast, the multicast cut itself: the hypergraph local search, then flows on the
    /// hypergraph ([`flow::refine_multicast`], the first region) and the local search again, while the
    /// flows gain (as many times as `refine` has turns under the full schedule, `full`, see
    /// [`full_schedule`]; else once up to [`LARGE`] blocks, on the heaviest pairs of chips), then,
    /// under the full schedule, V-cycles with annealing at the coarse levels. Never raises the multicast cut. One
    /// region: measured on `gen random --blocks 3900` (31 chips), 0.5 took the multicast cut from 7,490
    /// to 7,369 spikes in 1.8 s, 0.5 then 0.9 to 7,338 in 11.9 s. The limits: on `gen random --blocks
    /// 16000` (125 chips) the full schedule took 248 s against 27 s before it (35,195 multicast spikes;
    /// 34,707 after), the limited one 33 s (35,055).
    #[allow(clippy::too_many_arguments)]
    fn refine_multicast(
        &self,
        g: &BlockGraph,
        h: &HyperGraph,
        part: &mut [u32],
        caps: &[u32],
        seed: u64,
        full: bool,
        expired: &(dyn Fn() -> bool + Sync),
    ) {
        // Flow rounds: none above `LARGE` blocks (on `gen layered --blocks 97983`, 766 chips, one round
        // on the heaviest pairs took 19.6 s to 44.8 s for 0.6% less multicast traffic).
        let turns = match g.n() {
            _ if full => self.turns,
            n if n <= LARGE => 1,
            _ => 0,
        };
        // Else the heaviest pairs of chips only: a pair's network holds every net that reaches its
        // region, and on nets without locality nearly every pair of chips exchanges traffic (measured
        // on `gen random --blocks 16000`, 125 chips: 8,100 pairs, 37 s for the first round).
        let cfg = FlowConfig {
            region: self.regions[0],
            pairs_per_part: (!full).then_some(MULTICAST_PAIRS_PER_PART),
            ..self.flow
        };
        // Up to `SMALL` blocks where few pairs of chips exchange traffic, a larger region first (see
        // `LOCAL_REGIONS`); else the first region alone.
        let regions: &[f64] = if full && g.n() <= SMALL && few_pairs(g, part, caps.len()) {
            &LOCAL_REGIONS
        } else {
            &self.regions[..1]
        };
        hyper::refine(g, h, part, caps, seed, HYPER_PASSES, expired);
        for _ in 0..turns {
            let mut gained = false;
            for &region in regions {
                let cfg = FlowConfig { region, ..cfg };
                let stats = flow::refine_multicast(g, h, part, caps, &cfg, expired);
                gained |= stats.cut_after < stats.cut_before;
            }
            if !gained || expired() {
                break;
            }
            hyper::refine(g, h, part, caps, seed, HYPER_PASSES, expired);
        }
        // Then V-cycles on the multicast cut: the hypergraph contracted with the graph, within chips
        // (the multicast cut of every partition unchanged, see `HyperGraph::contract`), annealed at the
        // coarse levels, where a proposal moves a cluster, and searched locally at every level. Only
        // under the full schedule: on `gen random --blocks 16000` a V-cycle took 6-20 s for 0.6%.
        if !full {
            return;
        }
        let k = caps.len();
        let finest = g.n();
        // The contracted hypergraphs of the current cycle, finest first; rebuilt at each cycle's
        // coarsest level (the levels come coarsest first, so a level no finer than the last starts a
        // cycle).
        let mut levels: Vec<HyperGraph> = Vec::new();
        let mut last = 0;
        multilevel::vcycles_by(
            g,
            part,
            caps,
            if g.n() <= SMALL {
                MULTICAST_VCYCLES
            } else {
                MULTICAST_VCYCLES_LARGE
            },
            seed,
            false,
            &|_, part| h.cut(part, k),
            &mut |graph, p, maps| {
                if maps.len() >= last {
                    levels.clear();
                    for m in maps {
                        let n = m.iter().max().map_or(0, |&c| c as usize + 1);
                        let next = levels.last().unwrap_or(h).contract(m, n);
                        levels.push(next);
                    }
                }
                last = maps.len();
                let level = maps.len().checked_sub(1).map_or(h, |l| &levels[l]);
                if graph.n() < finest {
                    // Each level's annealing draws its own stream, derived from the seed and its size.
                    let seed = seed ^ (graph.n() as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93);
                    let moves = MULTICAST_ANNEAL * graph.n();
                    hyper::anneal(graph, level, p, caps, moves, seed, expired);
                }
                hyper::refine(graph, level, p, caps, seed, HYPER_PASSES, expired);
            },
            expired,
        );
    }

    /// The default's candidate where the chips are (almost) full (up to [`SMALL`] blocks; up to
    /// [`LARGE`] where few pairs of chips exchange traffic): `chip`, the default's mapped chips,
    /// refined on the hops as `--objective hops` refines them (two runs of [`Portfolio::hop_runs`],
    /// lighter: [`RECUT_HOPS`]), each run then refined on the cut again ([`Portfolio::refine`] on the
    /// chips `used` gives cores) and moved where that costs no inter-chip traffic ([`hops::refine`]),
    /// the chips staying where the hop refinement put them; above [`SMALL`] a second round of two runs
    /// starts from the first's best ([`RECUT_ROUNDS`]); the run with the least inter-chip traffic,
    /// then the fewest hops, is returned. At zero slack the cut's refiners keep to the basin
    /// of their start and many partitions carry about the same traffic: from the hop refinement's
    /// placement they reach one that also lies well on the mesh, and sometimes one with less traffic.
    #[allow(clippy::too_many_arguments)]
    fn recut(
        &self,
        net: &Network,
        topo: &Topology,
        ctx: &Ctx,
        g: &BlockGraph,
        chip: &[u32],
        used: &[u32],
        edges: &[(u32, u32, f64)],
        expired: &(dyn Fn() -> bool + Sync),
    ) -> Vec<u32> {
        let width = topo.chips().x;
        let start = chip.to_vec();
        // Above `SMALL` the runs have no flows and one V-cycle, and a second round starts from the
        // first's best (see `RECUT_ROUNDS`).
        let rounds = if g.n() > SMALL { RECUT_ROUNDS } else { 1 };
        let mut best: Option<(CutHops, Vec<u32>)> = None;
        for round in 0..rounds as u64 {
            if expired() {
                break;
            }
            let from = best.as_ref().map_or(&start, |b| &b.1);
            // Each round's own seeds, derived from the caller's (the first round's are the caller's).
            let seed = ctx.seed ^ round.wrapping_mul(0xA24B_AED4_963E_E407);
            let runs = self.hop_runs(g, topo, ctx, from, &[], true, seed, expired);
            let recut: Vec<(CutHops, Vec<u32>)> = runs
                .into_par_iter()
                .map(|mut alt| {
                    self.refine(g, None, &mut alt, used, seed, expired);
                    hops::refine(g, &mut alt, used, width);
                    (cut_hops(net, g, &alt, edges, width), alt)
                })
                .collect();
            // Ties keep the earlier run.
            for run in recut {
                if best.as_ref().is_none_or(|b| run.0.below(&b.0)) {
                    best = Some(run);
                }
            }
        }
        best.map_or(start, |(_, alt)| alt)
    }

    /// The hop refinement's runs (see [`Portfolio::least_hops`]): two seeds from `start`, then two
    /// from each of `others`, in that order, each on the chips its start uses.
    #[allow(clippy::too_many_arguments)]
    fn hop_runs(
        &self,
        g: &BlockGraph,
        topo: &Topology,
        ctx: &Ctx,
        start: &Vec<u32>,
        others: &[Vec<u32>],
        light: bool,
        seed: u64,
        expired: &(dyn Fn() -> bool + Sync),
    ) -> Vec<Vec<u32>> {
        let n_usable = ctx.rules.chips.min(topo.n_chips());
        let (width, per_chip) = (topo.chips().x, topo.cores_per_chip());
        // Each run keeps to the chips its start uses.
        let cap_of = |chip: &[u32]| {
            let mut cap = vec![0; n_usable as usize];
            for &c in chip {
                cap[c as usize] = per_chip;
            }
            cap
        };
        // Effort by size (the annealing dominates): measured on `gen layered --blocks 3910` on a 4 x 8
        // mesh (2 threads), 1,000 proposals per vertex and 4 cycles gave 21,473 hop-spikes in 6.3 s,
        // 3,000 and 4 cycles 19,540 in 13.5 s (Mt-KaHyPar's mapping: 19,867), 8 cycles no lower.
        // `light` (the recut's runs, see `RECUT_HOPS`) takes fewer of both, and no flows and one
        // V-cycle above `SMALL`.
        let n = g.n().max(1);
        let flow_regions = self.flows(n <= SMALL);
        let (moves, cycles, flow_turns) = match n {
            _ if light => {
                let (flow_turns, cycles) = if n <= SMALL {
                    (self.turns, RECUT_HOPS.1)
                } else {
                    (0, RECUT_HOPS.2)
                };
                (RECUT_HOPS.0, cycles, flow_turns)
            }
            0..=SMALL => (HOP_MOVES, 4, self.turns),
            _ => ((HOP_MOVES * SMALL / n).max(100), 2, 1),
        };
        // Two seeds from `start`, then two from each of `others`.
        let runs: Vec<&Vec<u32>> = [start, start]
            .into_iter()
            .chain(others.iter().flat_map(|s| [s, s]))
            .collect();
        (0..runs.len() as u64)
            .into_par_iter()
            .map(|i| {
                let mut chip = runs[i as usize].clone();
                let cap = cap_of(&chip);
                let seed = seed ^ (i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                hops::vcycles(
                    g,
                    &mut chip,
                    &cap,
                    Metric::Mesh { width },
                    cycles,
                    seed,
                    moves,
                    &self.fm,
                    expired,
                );
                // Then flows between mesh neighbours on the hops, with FM after each gain.
                for _ in 0..flow_turns {
                    let mut gained = false;
                    for cfg in &flow_regions {
                        let st =
                            flow::refine_hops(g, &mut chip, &cap, width, HOP_FLOWS, cfg, expired);
                        gained |= st.cut_after < st.cut_before;
                    }
                    if !gained || expired() {
                        break;
                    }
                    hops::fm(
                        g,
                        &mut chip,
                        &cap,
                        Metric::Mesh { width },
                        &self.fm,
                        expired,
                    );
                }
                chip
            })
            .collect()
    }

    /// `--objective hops`: `start`, the chips of `interchip`'s placement without the cut's annealing
    /// (the partition with the least traffic, mapped onto the mesh, then moved where that costs no
    /// inter-chip traffic), is refined on the hop cost itself by V-cycles with annealing at the coarse
    /// levels and FM ([`hops::vcycles`]) and then flows between mesh neighbours ([`HOP_FLOWS`]), from
    /// two seeds in parallel, on the chips `start` uses; and
    /// each of `others` (GreedyInterchip's chips, mapped, where they were close enough to METIS's
    /// cut to be refined as a start; with the feature `mtkahypar`, Mt-KaHyPar's own mapping onto the
    /// mesh, [`mtk_map`]), from two more seeds on its own chips. The fewest spikes x hops
    /// (exact, in spikes) of the start, `recut` (the default's [`Portfolio::recut`], where it ran
    /// and would replace the start) and the runs is placed, so up to [`SMALL`] blocks the hops are
    /// never above those of `Portfolio { cut_anneal: 0, .. }` with the same seed (the same starts,
    /// tight ones included, and the same turns; above, `start` comes from one flow region where the
    /// cut gets both, see [`Portfolio::refine`], and the hops measured lower from there). The second start: on the dense ensemble
    /// array (17 x 1, seeds 1-5) 30,904 / 28,862 / 31,330 / 32,180 / 30,234 hop-spikes against 30,904
    /// / 33,968 / 31,900 / 32,180 / 33,120 without it (mean 30,702 against 32,414; Mt-KaHyPar's mapping
    /// 30,132), in 6.5-10.8 s against 4.1-5.6 s; nets where GreedyInterchip starts further behind than
    /// [`GREEDY_START`] (the generated ones) do not run it. The cut's annealing is left out
    /// because the hop refinement starts better without it: measured from it, 20,880 / 33,452
    /// hop-spikes on `gen layered --blocks 3910` (4 x 8 mesh) and the dense ensemble array (17 x 1),
    /// against 18,850 / 30,904 from the partition before it.
    /// The inter-chip spikes may rise: blocks move to chips nearer their partners even where that cuts
    /// an edge, as in Mt-KaHyPar's Steiner-tree mapping.
    #[allow(clippy::too_many_arguments)]
    fn least_hops(
        &self,
        net: &Network,
        topo: &Topology,
        ctx: &Ctx,
        g: &BlockGraph,
        start: Vec<u32>,
        others: Vec<Vec<u32>>,
        recut: Option<Vec<u32>>,
        edges: &[(u32, u32, f64)],
        expired: &(dyn Fn() -> bool + Sync),
    ) -> Placement {
        let n_usable = ctx.rules.chips.min(topo.n_chips());
        let width = topo.chips().x;
        let hop_spikes = |chip: &[u32]| edge_cost(edges, chip, Metric::Mesh { width });
        let refined = self.hop_runs(g, topo, ctx, &start, &others, false, ctx.seed, expired);
        // Ties keep the earlier: the start (`interchip`'s chips), then the seeds in order. A refined
        // assignment may empty a chip (fewer chips, fine), except under `--spread`, which uses them all.
        let mut best = (hop_spikes(&start), &start);
        for chip in recut.iter().chain(&refined) {
            let cost = hop_spikes(chip);
            if cost < best.0 && (!ctx.spread || chips_used(chip) == chips_used(&start)) {
                best = (cost, chip);
            }
        }
        place_parts_on_chips(net, topo, g, best.1, n_usable, self.name(), ctx.seed)
    }
}

/// A placement's exact inter-chip spikes (unicast) and its hops in the graph's units, compared in
/// that order ([`CutHops::below`]).
struct CutHops(f64, i64);

impl CutHops {
    /// Fewer inter-chip spikes, or as many and fewer hops.
    fn below(&self, other: &CutHops) -> bool {
        self.0 < other.0 || (self.0 == other.0 && self.1 < other.1)
    }
}

/// [`CutHops`] of `chip` on a mesh `width` chips wide.
fn cut_hops(
    net: &Network,
    g: &BlockGraph,
    chip: &[u32],
    edges: &[(u32, u32, f64)],
    width: u32,
) -> CutHops {
    let cut = objective(net, g, chip, edges, None);
    CutHops(cut, hops::hop_cost(g, chip, width))
}

/// How many chips of `caps` have a core (the chips a refinement may use).
fn chips_with_cores(caps: &[u32]) -> usize {
    caps.iter().filter(|&&c| c > 0).count()
}

/// How many distinct chips `chip` uses.
fn chips_used(chip: &[u32]) -> usize {
    let mut used: Vec<u32> = chip.to_vec();
    used.sort_unstable();
    used.dedup();
    used.len()
}

/// The chip of each vertex of `g` in `placed` (0 for a block without one: none, as `g` holds only
/// on-chip blocks).
fn chips_of(g: &BlockGraph, placed: &Placement) -> Vec<u32> {
    g.blocks
        .iter()
        .map(|&b| placed.slot(b).chip().map_or(0, |c| c.0))
        .collect()
}

/// Whether `part` (on `k` chips) gets the heavier schedules: up to [`SMALL`] blocks, and up to
/// [`LARGE`] where few pairs of chips exchange traffic (at most [`LOCAL_PAIRS`] per chip), since a flow
/// round's and an annealing proposal's cost grow with the nets spread over many chips. They are
/// [`Portfolio::refine_multicast`]'s full schedule, both flow regions in [`Portfolio::refine`] (under
/// `--objective interchip`, which asks [`few_pairs`] above [`LARGE`] too) and the recut
/// ([`Portfolio::recut`], where the chips are full). Measured
/// for the multicast schedule: on the 25^3 grid (15,625 blocks, 123 chips, a few pairs per
/// chip) it took the multicast cut from 12,642 to 12,581 (7.2 s against 3.5 s); `gen random --blocks
/// 16000` (125 chips, about 60 pairs per chip) took 248 s with it (6 V-cycles), 33 s without.
fn full_schedule(g: &BlockGraph, part: &[u32], k: usize) -> bool {
    match g.n() {
        0..=SMALL => true,
        n if n <= LARGE => few_pairs(g, part, k),
        _ => false,
    }
}

/// Whether at most [`LOCAL_PAIRS`] pairs of chips per chip exchange traffic under `part` (on `k`
/// chips).
fn few_pairs(g: &BlockGraph, part: &[u32], k: usize) -> bool {
    let mut pairs: Vec<(u32, u32)> = (0..g.n())
        .flat_map(|v| g.neighbors(v).map(move |(u, _)| (part[v], part[u])))
        .filter(|&(p, q)| p < q)
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    pairs.len() <= LOCAL_PAIRS * k
}

/// See [`full_schedule`].
const LOCAL_PAIRS: usize = 8;

/// The multicast flows' regions, in turn, up to [`SMALL`] blocks where few pairs of chips exchange
/// traffic ([`few_pairs`]): a region of 0.9 finds re-splits further from the boundary where single
/// moves are stuck. Measured on the dense ensemble array at zero slack (17 chips; multicast spikes):
/// 0.5 alone 5,322, 0.5 then 0.9 5,304, 0.9 then 0.5 5,298 (Mt-KaHyPar KM1 5,222), 0.4 s more; on
/// `gen layered --blocks 3910` the same 10,655.4 in 1 s more. `gen random --blocks 3900`, where every
/// pair of its 31 chips exchanges traffic, would get 7,352 -> 7,315 in 50 s against 22 s, and the 25^3
/// grid (15,625 blocks) 12,581 -> 12,530 in 17 s against 9 s: both keep one region.
const LOCAL_REGIONS: [f64; 2] = [0.9, 0.5];

/// The Mt-KaHyPar start (cargo feature `mtkahypar`): its `quality` preset's partition, capacity
/// repaired, refined afterwards like the other starts. Run while METIS's tries run.
#[cfg(feature = "mtkahypar")]
fn mtk_start(
    g: &BlockGraph,
    nets: Option<&Nets>,
    n_blocks: usize,
    caps: &[u32],
    seed: u64,
) -> Result<Option<Vec<u32>>, AllocError> {
    use crate::mtkahypar::{partition, MtkPreset};
    let mut part = partition(g, nets, n_blocks, caps, MtkPreset::Quality, seed)?;
    fm::repair(g, &mut part, caps);
    Ok(Some(part))
}

/// The Mt-KaHyPar start of `--objective hops` (cargo feature `mtkahypar`), up to [`SMALL`] blocks: its
/// `quality` preset's mapping onto the first chips of the mesh ([`crate::mtkahypar::map`]),
/// refined afterwards like the other starts. Larger nets go without: on the 25^3 grid (15,625 blocks,
/// 128 chips) the mapping alone took 20 s.
#[cfg(feature = "mtkahypar")]
fn mtk_map(
    g: &BlockGraph,
    n_chips: u32,
    min_chips: u32,
    width: u32,
    cap: u32,
    seed: u64,
) -> Result<Option<Vec<u32>>, AllocError> {
    use crate::mtkahypar::{map, MtkPreset};
    if g.n() > SMALL {
        return Ok(None);
    }
    map(g, n_chips, min_chips, width, cap, MtkPreset::Quality, seed).map(Some)
}

/// Without the feature `mtkahypar`: no Mt-KaHyPar mapping.
#[cfg(not(feature = "mtkahypar"))]
fn mtk_map(
    _g: &BlockGraph,
    _n_chips: u32,
    _min_chips: u32,
    _width: u32,
    _cap: u32,
    _seed: u64,
) -> Result<Option<Vec<u32>>, AllocError> {
    Ok(None)
}

/// Without the feature `mtkahypar`: no Mt-KaHyPar start.
#[cfg(not(feature = "mtkahypar"))]
fn mtk_start(
    _g: &BlockGraph,
    _nets: Option<&Nets>,
    _n_blocks: usize,
    _caps: &[u32],
    _seed: u64,
) -> Result<Option<Vec<u32>>, AllocError> {
    Ok(None)
}

/// The exact objective of a partition in spikes per timestep: the traffic between blocks on different
/// chips (unicast), or the multicast cut.
/// `edges` are the network's on-chip edges ([`on_chip_edges`]), computed once by the caller.
fn objective(
    net: &Network,
    g: &BlockGraph,
    part: &[u32],
    edges: &[(u32, u32, f64)],
    nets: Option<&Nets>,
) -> f64 {
    match nets {
        Some(nets) => {
            let mut chip = vec![None; net.n_blocks()];
            for (v, b) in g.blocks.iter().enumerate() {
                chip[b.idx()] = Some(ChipId(part[v]));
            }
            nets.cost(|b| chip[b.idx()])
        }
        None => edge_cost(edges, part, Metric::Cut),
    }
}

/// The spikes on `edges` (the network's on-chip edges, as [`on_chip_edges`] gives them) times the
/// metric's distance between their ends' chips, exactly in spikes: the inter-chip spikes with
/// [`Metric::Cut`], the hop-spikes with [`Metric::Mesh`].
fn edge_cost(edges: &[(u32, u32, f64)], chip: &[u32], metric: Metric) -> f64 {
    edges
        .iter()
        .map(|&(s, d, w)| w * metric.dist(chip[s as usize], chip[d as usize]) as f64)
        .sum()
}

impl Allocator for Portfolio {
    /// `portfolio+hops` under `--objective hops`, as `compare` names that candidate (and METIS with FM
    /// is `metis+fm`), so that placements and reports say which ran.
    fn name(&self) -> &'static str {
        match self.objective {
            Objective::Hops => "portfolio+hops",
            _ => "portfolio",
        }
    }

    fn allocate(
        &self,
        net: &Network,
        topo: &Topology,
        ctx: &mut Ctx,
    ) -> Result<Placement, AllocError> {
        let k = chips_to_use(net, topo, ctx)?.max(1);
        let caps = vec![topo.cores_per_chip(); k as usize];
        let deadline = ctx.deadline;
        let expired = move || deadline.is_some_and(|d| std::time::Instant::now() >= d);
        let multicast = ctx.traffic == TrafficModel::Multicast;
        let nets = multicast.then(|| ctx.nets(net));

        // The METIS start: its first tries are exactly those of `metis --refine fm` with this seed
        // (under `--effort full` with more V-cycles above `metis::FEWER_VCYCLES_NET` blocks, so each
        // no higher). Full: on the 98k net (seed 1) 630,372 inter-chip spikes in 75 s with them,
        // 631,980 in 70 s with `FEWER_VCYCLES`.
        let metis = Metis {
            tries: metis_tries(net.n_on_chip()),
            refine: Some(self.fm),
            large_vcycles: match self.effort {
                Effort::Full => VCYCLES,
                Effort::Default => metis::FEWER_VCYCLES,
            },
        };
        let (seed, spread) = (ctx.seed, ctx.spread);
        let mut metis_ctx = Ctx::new(ctx.seed, ctx.rules);
        metis_ctx.traffic = ctx.traffic;
        metis_ctx.packed_nets = ctx.packed_nets.clone();
        metis_ctx.deadline = ctx.deadline;
        metis_ctx.spread = ctx.spread;
        // With the feature `mtkahypar`, Mt-KaHyPar partitions a block graph of its own while METIS's
        // tries run; without it, the tries' block graph is the portfolio's (a second one took CPU from
        // the tries' refinement: about 0.6 of 15.6 CPU seconds on 98,000 blocks, median of three runs).
        let (metis_parts, (own_g, mtk)) = rayon::join(
            || metis.parts_tries(net, topo, &mut metis_ctx),
            || {
                if !cfg!(feature = "mtkahypar") {
                    return (None, Ok(None));
                }
                let g = BlockGraph::new(net, &Adjacency::new(net));
                let mtk = mtk_start(&g, nets.as_deref(), net.n_blocks(), &caps, seed);
                (Some(g), mtk)
            },
        );
        let (metis_g, tries, _) = metis_parts?;
        let g = own_g.unwrap_or(metis_g);
        // Empty without the feature `mtkahypar`; else Mt-KaHyPar's partition, one more start.
        let mtk = mtk?;
        let as_metis_fm = Metis::default().tries as usize;
        let metis_fm = best_try(tries.iter().take(as_metis_fm).map(|t| (t.0, &t.1)));
        let metis_best = best_try(tries.iter().map(|t| (t.0, &t.1)));
        let (Some(metis_fm), Some(metis_best)) = (metis_fm, metis_best) else {
            // No on-chip block: nothing to choose.
            return Ok(place_parts(
                net,
                topo,
                &ctx.rules,
                &g,
                &[],
                k,
                self.name(),
                ctx.seed,
            ));
        };
        let greedy = GreedyInterchip::assign(net, fill_per_chip(net, topo, ctx, k));
        let h = nets
            .as_ref()
            .map(|nets| HyperGraph::new(&g, nets, net.n_blocks()));

        let seed = ctx.seed;
        // Refining the second and third best METIS tries as well found nothing lower on `gen layered
        // --blocks 3910` and took 1.6x the time: one METIS start.
        // GreedyInterchip's chips are refined only when they start close to METIS's (within
        // `GREEDY_START`): refined from further behind they never won on the nets measured (gen
        // layered, gen random, the 3-D grid: 1.09-2.2x METIS's cut before refinement), and refining
        // them was two thirds of the time on `gen random --blocks 3900`.
        let greedy_cut = g.cut(&greedy) as f64;
        let metis_cut = g.cut(metis_best) as f64;
        let mut starts = vec![metis_best];
        let greedy_refined = greedy_cut <= GREEDY_START * metis_cut;
        if greedy_refined {
            starts.push(&greedy);
        }
        starts.extend(mtk.as_ref());
        // Unicast, almost no free core: more METIS tries as starts (see `TIGHT_STARTS`; up to `SMALL`
        // blocks, under `--objective hops` as well, whose start is `interchip`'s chips) and
        // `Portfolio::recut`.
        let tight_unicast = h.is_none() && tight(g.n(), &caps);
        if tight_unicast && g.n() <= SMALL {
            let mut order: Vec<usize> = (0..tries.len()).collect();
            // Stable: ties keep the tries' order.
            order.sort_by_key(|&i| tries[i].0);
            let best = order.first().copied();
            starts.extend(
                order
                    .iter()
                    .filter(|&&i| Some(i) != best)
                    .take(TIGHT_STARTS)
                    .map(|&i| &tries[i].1),
            );
        }
        // Each start refined in turns (then on the multicast cut, under multicast) and, under multicast,
        // on the multicast cut alone as well, in parallel: the unicast turns can take a start away from
        // a low multicast cut (measured on the dense ensemble array, 17 full chips: GreedyInterchip's
        // chips carry 5,530 multicast spikes, refined by the turns then the multicast refiners 6,208, by
        // the multicast refiners alone 5,322).
        let (refined, multicast_only): (Vec<Vec<u32>>, Vec<Option<Vec<u32>>>) = starts
            .par_iter()
            .enumerate()
            .map(|(i, start)| {
                // Each start's own seed for the V-cycles' matchings, derived from the caller's.
                let seed = seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                // `--spread` uses every chip: refinement may have emptied one (seen on Mt-KaHyPar's start).
                let fill = |part: &mut Vec<u32>| {
                    if spread {
                        fm::fill_empty(&g, part, caps.len());
                    }
                };
                rayon::join(
                    || {
                        let mut part = start.to_vec();
                        self.refine(&g, h.as_ref(), &mut part, &caps, seed, &expired);
                        fill(&mut part);
                        part
                    },
                    || {
                        // Only under the full schedule (see `full_schedule`): it doubles the
                        // multicast refinement's time (`gen random --blocks 16000`: four runs of 13-32 s).
                        let h = h
                            .as_ref()
                            .filter(|_| full_schedule(&g, start, caps.len()))?;
                        let mut part = start.to_vec();
                        self.refine_multicast(&g, h, &mut part, &caps, seed, true, &expired);
                        fill(&mut part);
                        Some(part)
                    },
                )
            })
            .unzip();
        // Refined candidates first, so that a tie keeps the refined partition; then the unrefined starts,
        // which guarantee the floor: `metis --refine fm`'s partition and `greedy-interchip`'s (and
        // `mtkahypar`'s: under multicast the unicast refiners can raise its multicast cut).
        let candidates: Vec<&Vec<u32>> = refined
            .iter()
            .chain(multicast_only.iter().flatten())
            .chain([metis_fm, &greedy])
            .chain(mtk.as_ref())
            .collect();
        // Under multicast `nets` is set and the objective is the multicast cut; else the edges decide.
        let (_, edges) = on_chip_edges(net);
        let mut best: Option<(f64, usize)> = None;
        for (i, part) in candidates.iter().enumerate() {
            let cost = objective(net, &g, part, &edges, nets.as_deref());
            if best.is_none_or(|(b, _)| cost < b) {
                best = Some((cost, i));
            }
        }
        let part = candidates[best.map_or(0, |b| b.1)];
        let placed = place_parts(net, topo, &ctx.rules, &g, part, k, self.name(), ctx.seed);
        if multicast {
            // The hop refinement keeps the unicast cut, not the multicast one (and `--objective hops`
            // has no multicast form: the CLI refuses it).
            return Ok(placed);
        }
        // With the chips on the mesh, blocks move nearer the chips they talk to where that costs no
        // inter-chip traffic (see `hops`); kept only if the exact figure did not rise through rounding.
        let n_usable = ctx.rules.chips.min(topo.n_chips());
        let mut chip = chips_of(&g, &placed);
        let before = objective(net, &g, &chip, &edges, None);
        // Only the chips the mapping used: a block moved to a free chip would raise the chip count.
        let mut used = vec![0; n_usable as usize];
        for &c in &chip {
            used[c as usize] = topo.cores_per_chip();
        }
        let width = topo.chips().x;
        let stats = hops::refine(&g, &mut chip, &used, width);
        // Then flows between mesh neighbours, the cut first and the hops second, and the moves again;
        // not above `LARGE` blocks (see `CUT_HOP_FLOWS`).
        if g.n() <= LARGE {
            for cfg in &self.flows(g.n() <= SMALL) {
                flow::refine_hops(&g, &mut chip, &used, width, CUT_HOP_FLOWS, cfg, &expired);
            }
            hops::refine(&g, &mut chip, &used, width);
        }
        let kept = hops::hop_cost(&g, &chip, width) < stats.hops_before
            && objective(net, &g, &chip, &edges, None) <= before;
        if !kept {
            chip = chips_of(&g, &placed);
        }
        // Almost no free core: one more candidate, the cut refined again from the hop refinement's
        // placement (see `Portfolio::recut`), kept where it has less inter-chip traffic, or as little
        // and fewer hops; `--objective hops` keeps it as a candidate, so that its hops are never above
        // the default's.
        // Up to `LARGE` blocks where few pairs of chips exchange traffic (see `RECUT_HOPS`).
        let recut = (tight_unicast && full_schedule(&g, &chip, caps.len()))
            .then(|| self.recut(net, topo, ctx, &g, &chip, &used, &edges, &expired))
            .filter(|alt| {
                cut_hops(net, &g, alt, &edges, width).below(&cut_hops(net, &g, &chip, &edges, width))
                    // `--spread` uses every chip: the hop runs may have emptied one.
                    && (!spread || chips_used(alt) == chips_used(&chip))
            });
        if let (Objective::Interchip, Some(alt)) = (self.objective, &recut) {
            return Ok(place_parts_on_chips(
                net,
                topo,
                &g,
                alt,
                n_usable,
                self.name(),
                ctx.seed,
            ));
        }
        if self.objective == Objective::Hops {
            let mut others = Vec::new();
            if greedy_refined {
                let placed = place_parts(net, topo, &ctx.rules, &g, &greedy, k, self.name(), seed);
                others.push(chips_of(&g, &placed));
            }
            let per_chip = topo.cores_per_chip();
            others.extend(mtk_map(&g, n_usable, k, width, per_chip, seed)?);
            let hops = self.least_hops(net, topo, ctx, &g, chip, others, recut, &edges, &expired);
            return Ok(hops);
        }
        if !kept {
            return Ok(placed);
        }
        Ok(place_parts_on_chips(
            net,
            topo,
            &g,
            &chip,
            n_usable,
            self.name(),
            ctx.seed,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tight_means_at_most_one_percent_free() {
        // The dense ensemble array: 2,176 blocks on 17 chips of 128, zero slack.
        assert!(tight(2_176, &[128; 17]));
        // 1% of 3,900 free: tight; the layered net's 60 free cores of 3,968 (1.5%): not.
        assert!(tight(3_900, &[3_939]));
        assert!(!tight(3_908, &[128; 31]));
        // More blocks than cores (a caller's error elsewhere): nothing free.
        assert!(tight(10, &[4, 4]));
    }

    #[test]
    fn full_effort_changes_the_schedule_above_large_only() {
        let by = |effort| Portfolio {
            effort,
            ..Portfolio::default()
        };
        let (default, full) = (by(Effort::Default), by(Effort::Full));
        for n in [10, SMALL, SMALL + 1, LARGE] {
            for heavy in [false, true] {
                let d = default.turns_for(n, heavy, CUT_ANNEAL);
                assert_eq!(full.turns_for(n, heavy, CUT_ANNEAL), d, "{n} blocks");
            }
        }
        // Up to `SMALL` every region and every turn; above, fewer unless heavy (regions) or full.
        assert_eq!(default.turns_for(SMALL, false, 3_000), (4, true, 3_000));
        assert_eq!(default.turns_for(LARGE, false, 3_000), (2, false, 300));
        assert_eq!(default.turns_for(LARGE, true, 3_000), (2, true, 300));
        assert_eq!(default.turns_for(LARGE + 1, false, 3_000), (1, false, 10));
        assert_eq!(
            default.turns_for(LARGE + 1, true, 3_000),
            (LARGE_TURNS_FEW_PAIRS, true, 10)
        );
        assert_eq!(
            full.turns_for(LARGE + 1, false, 3_000),
            (FULL_TURNS, true, 10)
        );
        assert_eq!(full.turns_for(97_983, false, 0), (FULL_TURNS, true, 0));
    }

    #[test]
    fn efforts_by_name() {
        for (i, name) in EFFORTS.iter().enumerate() {
            let effort = Effort::from_name(name).unwrap();
            assert_eq!((effort as usize, effort.name()), (i, *name));
        }
        let err = Effort::from_name("fast").unwrap_err();
        assert!(
            err.contains("\"fast\"") && err.contains("known: default, full"),
            "{err}"
        );
    }
}
