//! Mapping a k-way partition of the on-chip blocks onto the board ([`place_parts`]): every part gets a chip
//! of its own, placed so that parts that exchange many spikes sit few chip-to-chip hops apart, and every
//! part's blocks get cores of that chip, placed so that blocks that talk sit on the same or nearby tiles.
//!
//! Stage 1, parts to chips, minimises the hop cost: over pairs of parts, the quotient-graph weight
//! `W(p, q)` (the traffic between their blocks) times the hops between their chips. It starts with
//! recursive bisection mapping (e.g. Pellegrini's Scotch dual recursive bipartitioning: F. Pellegrini,
//! "Static mapping by dual recursive bipartitioning of process and architecture graphs", SHPCC 1994).
//! The usable chips are cut in two along the longer side of their bounding box (both sides are tried
//! for a square box), and the parts into two groups that fit the halves: greedy graph growing from a few
//! start parts, then Fiduccia-Mattheyses passes, keeping the cut with the smallest estimated hop cost
//! (the weight across the cut times the distance between the halves, plus each part's weight to parts
//! outside the job times the distance to where those went). Both halves recurse, breadth first, so every
//! cut sees how far the earlier cuts have placed the other parts. Pairwise swaps of the chips of two
//! parts (moving a part to an empty chip included), each priced incrementally from the two parts'
//! quotient neighbours, then run until no swap lowers the hop cost. Should the identity mapping (part `p`
//! on chip `p`) still be cheaper, it is refined and used instead, so the result is never worse. Then
//! simulated annealing of the parts' chips (moves of a part to another chip, swapping with its part),
//! from a few seeds in parallel, each followed by the swaps again, escapes the swaps' local optimum: the
//! cheapest is kept if it is cheaper (on `gen layered --blocks 3910`, 4 x 8 chips, 13% fewer hop-spikes
//! at the same inter-chip traffic).
//!
//! Stage 2, blocks to cores, orders each part's blocks by a greedy traversal of their traffic (next comes
//! the block with the most traffic to the blocks already ordered) and lays them along a snake
//! (boustrophedon) order of the chip's tiles, so consecutive blocks share a tile or sit on adjacent ones.
//!
//! Everything is deterministic: the annealing's RNG is seeded by the caller's seed, its runs are chosen
//! by (cost, run), no clock, no hash maps; ties break by the lowest id. The hop cost
//! is computed in `BlockGraph`'s integer weights, so every gain is exact.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use snn_graph::Network;
use snn_hardware::{ChipId, CoreId, Topology};
use snn_placement::{Placement, Rules, Slot};

use rayon::prelude::*;

use crate::hops::{self, MoveSet, Proposal};
use crate::partition::BlockGraph;

/// No part (an empty chip) or no local index (a part outside the current sub-problem).
const NONE: u32 = u32::MAX;

/// Boards with at most this many usable chips are refined by trying every chip for every part. Larger
/// boards try only the chips in a window around the weighted median of the part's neighbours, the
/// position that is best for the part alone, which keeps a pass linear in the quotient graph's size.
const FULL_SCAN_CHIPS: u32 = 64;
/// Half the side of that window, in chips.
const WINDOW_RADIUS: i64 = 2;
/// At most this many swap passes. Every applied swap lowers the integer cost, so the passes end anyway;
/// the cap only bounds the time on very large boards.
const MAX_SWAP_PASSES: usize = 64;
/// At most this many Fiduccia-Mattheyses passes per bisection.
const MAX_FM_PASSES: usize = 8;
/// A Fiduccia-Mattheyses pass stops after this many moves without a new best cut: the gains of moves
/// that far past the best prefix rarely come back, and the pass would otherwise move every part.
const FM_PATIENCE: usize = 64;

/// Places a k-way partition of the on-chip blocks on the board and returns the placement.
///
/// `part[v]` is the part of vertex `v` of `g` (`0..k`), and each part holds at most
/// `topo.cores_per_chip()` vertices (one block per core). The usable chips are ids `0..rules.chips`
/// (row-major, so with fewer usable chips than the board has, they need not form a rectangle), and there
/// must be at least `k` of them. Host blocks go to [`Slot::Host`]. Part `p`'s blocks all land on one chip,
/// distinct parts on distinct chips; parts may be empty, and parts without traffic go wherever is left.
///
/// # Panics
///
/// When the caller breaks the contract above (`part` of the wrong length, a part id of `k` or more, a part
/// larger than a chip, or more parts than usable chips): that is a bug in the calling allocator, which
/// must have checked the fit (`check_fits`) and built the partition with these capacities.
#[allow(clippy::too_many_arguments)]
pub fn place_parts(
    net: &Network,
    topo: &Topology,
    rules: &Rules,
    g: &BlockGraph,
    part: &[u32],
    k: u32,
    allocator: &str,
    seed: u64,
) -> Placement {
    let n_usable = rules.chips.min(topo.n_chips());
    assert!(
        k <= n_usable,
        "place_parts: {k} parts but only {n_usable} usable chips"
    );
    assert_eq!(part.len(), g.n(), "place_parts: one part per vertex");
    let members = Members::new(part, k);
    let per_chip = topo.cores_per_chip() as usize;
    for p in 0..k as usize {
        let n = members.of(p).len();
        assert!(
            n <= per_chip,
            "place_parts: part {p} has {n} blocks, a chip has {per_chip} cores"
        );
    }

    let quotient = Quotient::new(g, part, &members);
    let board = Board::new(topo, n_usable);
    let chip_of = map_parts(&board, &quotient, seed);
    place_cores(net, topo, g, part, &members, &chip_of, allocator, seed)
}

/// Like [`place_parts`] without stage 1: part `p` goes to chip `p` (for an allocator that chose the
/// chips itself, e.g. for their positions), and only the cores are assigned. Same contract and panics.
pub fn place_parts_on_chips(
    net: &Network,
    topo: &Topology,
    g: &BlockGraph,
    part: &[u32],
    k: u32,
    allocator: &str,
    seed: u64,
) -> Placement {
    assert_eq!(part.len(), g.n(), "place_parts: one part per vertex");
    let members = Members::new(part, k);
    let per_chip = topo.cores_per_chip() as usize;
    for p in 0..k as usize {
        let n = members.of(p).len();
        assert!(
            n <= per_chip,
            "place_parts: part {p} has {n} blocks, a chip has {per_chip} cores"
        );
    }
    let chip_of: Vec<u32> = (0..k).collect();
    place_cores(net, topo, g, part, &members, &chip_of, allocator, seed)
}

/// Stage 2: each part's blocks onto the cores of its chip `chip_of[p]`, host blocks on the host.
#[allow(clippy::too_many_arguments)]
fn place_cores(
    net: &Network,
    topo: &Topology,
    g: &BlockGraph,
    part: &[u32],
    members: &Members,
    chip_of: &[u32],
    allocator: &str,
    seed: u64,
) -> Placement {
    let cores = snake_cores(topo);
    let mut slots = vec![Slot::Host; net.n_blocks()];
    let mut order = BlockOrder::new(g.n());
    for (p, &chip) in chip_of.iter().enumerate() {
        let chip = ChipId(chip);
        for (&v, &core) in order.traverse(g, part, members.of(p)).iter().zip(&cores) {
            slots[g.blocks[v as usize].idx()] = Slot::Core { chip, core };
        }
    }
    Placement::new(slots, allocator, seed)
}

/// The vertices of each part, in compressed sparse rows.
struct Members {
    /// Invariant: `start.len() == k + 1`, non-decreasing, `start[k] == verts.len()`.
    start: Vec<usize>,
    /// Invariant: each part's vertices ascending.
    verts: Vec<u32>,
}

impl Members {
    fn new(part: &[u32], k: u32) -> Members {
        let mut start = vec![0usize; k as usize + 1];
        for &p in part {
            assert!(p < k, "place_parts: part id {p} is not below k = {k}");
            start[p as usize + 1] += 1;
        }
        for p in 0..k as usize {
            start[p + 1] += start[p];
        }
        let mut fill = start.clone();
        let mut verts = vec![0u32; part.len()];
        for (v, &p) in part.iter().enumerate() {
            verts[fill[p as usize]] = v as u32;
            fill[p as usize] += 1;
        }
        Members { start, verts }
    }

    fn of(&self, p: usize) -> &[u32] {
        &self.verts[self.start[p]..self.start[p + 1]]
    }
}

/// The quotient graph of the partition: one vertex per part, and between two parts the total weight of
/// `g`'s edges between their blocks, `W(p, q)`.
struct Quotient {
    /// Invariant: `xadj.len() == k + 1`, non-decreasing.
    xadj: Vec<usize>,
    /// Each row sorted, no self-loops, symmetric (`q` in `p`'s row exactly when `p` is in `q`'s).
    adj: Vec<u32>,
    /// Invariant: every weight >= 1; all of them sum to at most `MAX_TOTAL_WEIGHT`, so a weight times a
    /// (doubled) mesh distance below `2^22` fits `i64`, and so does any total of such products.
    w: Vec<i64>,
    /// Each part's total weight to the other parts.
    degree: Vec<i64>,
}

impl Quotient {
    fn new(g: &BlockGraph, part: &[u32], members: &Members) -> Quotient {
        let k = members.start.len() - 1;
        let mut xadj = Vec::with_capacity(k + 1);
        let (mut adj, mut w) = (Vec::new(), Vec::new());
        let mut degree = vec![0i64; k];
        // A dense accumulator with the list of touched entries: each row costs its own size, and sorting
        // the touched parts (not iterating a hash map) fixes the row's order.
        let mut acc = vec![0i64; k];
        let mut touched: Vec<u32> = Vec::new();
        xadj.push(0);
        for (p, deg) in degree.iter_mut().enumerate() {
            for &v in members.of(p) {
                for (u, weight) in g.neighbors(v as usize) {
                    let q = part[u] as usize;
                    if q != p {
                        if acc[q] == 0 {
                            touched.push(q as u32);
                        }
                        acc[q] += weight;
                    }
                }
            }
            touched.sort_unstable();
            for &q in &touched {
                adj.push(q);
                w.push(acc[q as usize]);
                *deg += acc[q as usize];
                acc[q as usize] = 0;
            }
            touched.clear();
            xadj.push(adj.len());
        }
        Quotient {
            xadj,
            adj,
            w,
            degree,
        }
    }

    fn n(&self) -> usize {
        self.degree.len()
    }

    fn neighbors(&self, p: usize) -> impl Iterator<Item = (usize, i64)> + '_ {
        let r = self.xadj[p]..self.xadj[p + 1];
        self.adj[r.clone()]
            .iter()
            .zip(&self.w[r])
            .map(|(&q, &w)| (q as usize, w))
    }
}

/// The usable chips' mesh coordinates, read once from the topology.
struct Board {
    /// `(x, y)` of chip `c`, for `c` in `0..n_usable`.
    xy: Vec<(i64, i64)>,
    /// The mesh's width and height in chips.
    width: i64,
    height: i64,
}

/// A point of the chip mesh in doubled coordinates, so that the centre of any box of chips is a point.
type Point = (i64, i64);

/// Which coordinate a cut of the chips sorts by.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Axis {
    X,
    Y,
}

impl Board {
    fn new(topo: &Topology, n_usable: u32) -> Board {
        let xy = (0..n_usable)
            .map(|c| {
                let (x, y) = topo.chip_xy(ChipId(c));
                (x as i64, y as i64)
            })
            .collect();
        Board {
            xy,
            width: topo.chips().x as i64,
            height: topo.chips().y as i64,
        }
    }

    fn n_chips(&self) -> u32 {
        self.xy.len() as u32
    }

    /// Chip-to-chip hops: the Manhattan distance on the mesh, as `Topology::chip_hops` counts them.
    fn hops(&self, a: u32, b: u32) -> i64 {
        let (ax, ay) = self.xy[a as usize];
        let (bx, by) = self.xy[b as usize];
        (ax - bx).abs() + (ay - by).abs()
    }

    fn point(&self, c: u32) -> Point {
        let (x, y) = self.xy[c as usize];
        (2 * x, 2 * y)
    }

    /// The centre of the bounding box of `chips` (not empty).
    fn centre(&self, chips: &[u32]) -> Point {
        let (mut x0, mut y0, mut x1, mut y1) = (i64::MAX, i64::MAX, i64::MIN, i64::MIN);
        for &c in chips {
            let (x, y) = self.xy[c as usize];
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
        }
        (x0 + x1, y0 + y1)
    }

    /// The axes worth cutting `chips` along: the longer side of their bounding box, and for a square box
    /// both sides (x first), since then either cut keeps the halves compact and the parts' traffic
    /// decides. Any other box is only cut across its longer side, as Scotch cuts its meshes: the
    /// centre-distance estimate favours the cut with the closer centres, which on a 3x4 box is the
    /// lengthwise cut into uneven, interleaved halves, worse for every later cut.
    fn axes(&self, chips: &[u32]) -> Vec<Axis> {
        let (x0, y0, x1, y1) = chips.iter().fold(
            (i64::MAX, i64::MAX, i64::MIN, i64::MIN),
            |(x0, y0, x1, y1), &c| {
                let (x, y) = self.xy[c as usize];
                (x0.min(x), y0.min(y), x1.max(x), y1.max(y))
            },
        );
        let (ex, ey) = (x1 - x0 + 1, y1 - y0 + 1);
        let (first, second) = if ey > ex {
            (Axis::Y, Axis::X)
        } else {
            (Axis::X, Axis::Y)
        };
        let (long, short) = (ex.max(ey), ex.min(ey));
        if short >= 2 && long == short {
            vec![first, second]
        } else {
            vec![first]
        }
    }

    /// Cuts `chips` (at least two) in two by count along `axis`: the first half, the ceiling of half of
    /// them, has the lower coordinates (ties by the other coordinate, then by id).
    fn split(&self, chips: &[u32], axis: Axis) -> [Vec<u32>; 2] {
        let mut sorted = chips.to_vec();
        sorted.sort_unstable_by_key(|&c| {
            let (x, y) = self.xy[c as usize];
            match axis {
                Axis::X => (x, y, c),
                Axis::Y => (y, x, c),
            }
        });
        let second = sorted.split_off(chips.len() - chips.len() / 2);
        [sorted, second]
    }

    /// The box of chips a swap refinement tries for a part whose neighbours sit at `nbrs` (chip, weight),
    /// as inclusive `(x0, x1, y0, y1)`: the whole mesh on a small board, else the window around the
    /// neighbours' weighted median (the best position for the part alone, as Manhattan distance is a sum
    /// of one-dimensional distances). Only chips below `n_chips` in it are candidates.
    fn window(&self, nbrs: &mut [(u32, i64)]) -> (i64, i64, i64, i64) {
        if self.n_chips() <= FULL_SCAN_CHIPS {
            return (0, self.width - 1, 0, self.height - 1);
        }
        let total: i64 = nbrs.iter().map(|n| n.1).sum();
        let mut median = |coord: fn(&(i64, i64)) -> i64| {
            nbrs.sort_unstable_by_key(|&(c, _)| (coord(&self.xy[c as usize]), c));
            let mut acc = 0;
            for &(c, w) in nbrs.iter() {
                acc += w;
                if 2 * acc >= total {
                    return coord(&self.xy[c as usize]);
                }
            }
            0
        };
        let (mx, my) = (median(|xy| xy.0), median(|xy| xy.1));
        (
            (mx - WINDOW_RADIUS).max(0),
            (mx + WINDOW_RADIUS).min(self.width - 1),
            (my - WINDOW_RADIUS).max(0),
            (my + WINDOW_RADIUS).min(self.height - 1),
        )
    }
}

/// Stage 1: a chip for every part, by recursive bisection and then swaps. The result is never worse than
/// the identity mapping (part `p` on chip `p`): should that be cheaper, it is refined and used instead.
fn map_parts(board: &Board, q: &Quotient, seed: u64) -> Vec<u32> {
    let mut chip_of = recursive_bisection(board, q);
    let mut cost = swap_refine(board, q, &mut chip_of);
    let identity: Vec<u32> = (0..q.n() as u32).collect();
    if hop_cost(board, q, &identity) < cost {
        chip_of = identity;
        cost = swap_refine(board, q, &mut chip_of);
    }
    // Annealing from the swaps' local optimum, a few seeds in parallel, each ending in swaps again; the
    // cheapest kept (ties to the earlier), and only if cheaper than the swaps alone.
    let annealed: Vec<(i64, Vec<u32>)> = (0..MAP_ANNEAL_TRIES)
        .into_par_iter()
        .map(|t| {
            let mut c = chip_of.clone();
            let seed = seed ^ (t + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            anneal_map(board, q, &mut c, seed, MAP_ANNEAL_T0[t as usize % 2]);
            (swap_refine(board, q, &mut c), c)
        })
        .collect();
    for (c, map) in annealed {
        if c < cost {
            (cost, chip_of) = (c, map);
        }
    }
    chip_of
}

/// Independent annealing runs of the parts' chips in [`map_parts`], each with [`MAP_ANNEAL_PER_PAIR`]
/// proposals per pair of a part with traffic and a usable chip, but at most [`MAP_ANNEAL_WORK`] quotient
/// edges walked (a proposal walks the part's and its swap partner's), starting at [`MAP_ANNEAL_T0`] of
/// the mean uphill delta. Measured (seed 1, 2 threads; hop-spikes of `metis` / of the default after its
/// hop refinement, before -> after the annealing; inter-chip spikes unchanged): `gen layered --blocks
/// 3910` on a 4 x 8 mesh 24,603 -> 21,318 / 24,057 -> 19,951 (Mt-KaHyPar's Steiner-tree mapping:
/// 19,867); `gen random --blocks 3900` 32,459 -> 32,318 / 30,780 -> 30,619; the 25^3 grid (123 chips, 16
/// x 8) 35,836 / 35,236 -> 33,796; `gen layered --blocks 97983` (766 chips, 32 x 24) 1,477,512 ->
/// 1,191,139 / 1,247,276 -> 1,140,292, for 0.2-1.3 s more. The annealing is noisy: on the layered net
/// 1,000 proposals per pair gave 21,965 / 20,778, 4,000 (4M) 21,318 / 19,951; on the 98k net 4M
/// proposals 1,144,669 / 1,125,312 (1.4 s more), 1M 1.46M; starting at 0.2 or 1.0 of the mean uphill
/// delta 1.24M and 1.19M there. The runs alternate between two starting temperatures: from 0.5, one of
/// the 98k net's four runs (and, for a partition found there by other refinement, all four) ended no
/// lower than the swaps; from 0.15 every run gains there, but `gen layered --blocks 16000` (125 chips)
/// got 182,943 hop-spikes against 178,601. Runs 0 and 2 from 0.5, 1 and 3 from 0.15: the default's
/// placements the same on the nets of 4,000 and 16,000 blocks but for `gen random --blocks 16000`
/// (267,396 -> 267,280), and the 98k net's 1,140,393 -> 1,132,734; `--objective hops`, which starts
/// from the default's mapped chips, 29,646 -> 29,334 on the 25^3 grid and 25,371 -> 25,419 on `gen
/// random --blocks 3900`.
const MAP_ANNEAL_TRIES: u64 = 4;
const MAP_ANNEAL_PER_PAIR: usize = 2_000;
const MAP_ANNEAL_T0: [f64; 2] = [0.5, 0.15];
const MAP_ANNEAL_WORK: usize = 100_000_000;

/// Simulated annealing of the parts' chips ([`hops::schedule`]), starting at `t0` of the mean uphill
/// delta: a proposal moves a part to another chip,
/// swapping it with that chip's part if any: on a small board any chip, on a large one mostly a chip
/// next to one of its quotient neighbours'. Never leaves `chip_of` costlier.
fn anneal_map(board: &Board, q: &Quotient, chip_of: &mut [u32], seed: u64, t0: f64) {
    let active = (0..q.n()).filter(|&p| q.degree[p] > 0).count();
    if active < 2 || board.n_chips() < 2 {
        return;
    }
    let mut at = vec![NONE; board.n_chips() as usize];
    for (p, &c) in chip_of.iter().enumerate() {
        at[c as usize] = p as u32;
    }
    let mut set = ChipMoves { board, q, at };
    // A proposal walks the quotient neighbours of the part and of its swap partner: dense quotient
    // graphs (nets without locality) get fewer proposals for the same work.
    let walk = 1 + 2 * q.adj.len() / active;
    let moves =
        (MAP_ANNEAL_PER_PAIR * active * board.n_chips() as usize).min(MAP_ANNEAL_WORK / walk);
    let before = hop_cost(board, q, chip_of);
    let after = hops::schedule(&mut set, chip_of, before, t0, moves, seed, &|| false);
    debug_assert_eq!(after, hop_cost(board, q, chip_of));
}

/// [`anneal_map`]'s moves; `at` is the part on each chip ([`NONE`] for an empty chip).
struct ChipMoves<'a> {
    board: &'a Board,
    q: &'a Quotient,
    at: Vec<u32>,
}

impl MoveSet for ChipMoves<'_> {
    fn propose(
        &mut self,
        chip_of: &mut [u32],
        rng: &mut rand_chacha::ChaCha8Rng,
    ) -> Option<Proposal> {
        use rand::Rng;
        let (board, q) = (self.board, self.q);
        let n_chips = board.n_chips();
        let p = rng.random_range(0..q.n());
        let (lo, hi) = (q.xadj[p], q.xadj[p + 1]);
        if lo == hi {
            return None;
        }
        let b = if n_chips <= FULL_SCAN_CHIPS || rng.random_bool(0.25) {
            rng.random_range(0..n_chips)
        } else {
            let r = q.adj[rng.random_range(lo..hi)] as usize;
            let (x, y) = board.xy[chip_of[r] as usize];
            let (x, y) = (x + rng.random_range(-1..=1), y + rng.random_range(-1..=1));
            if x < 0 || y < 0 || x >= board.width || y >= board.height {
                return None;
            }
            u32::try_from(y * board.width + x)
                .ok()
                .filter(|&b| b < n_chips)?
        };
        let a = chip_of[p];
        if a == b {
            return None;
        }
        let other = self.at[b as usize];
        let mut delta = move_delta(board, q, chip_of, p, a, b, other);
        if other != NONE {
            delta += move_delta(board, q, chip_of, other as usize, b, a, p as u32);
        }
        Some((delta, p, b, (other != NONE).then_some(other as usize)))
    }

    fn relocate(&mut self, chip_of: &mut [u32], p: usize, to: u32) {
        let from = chip_of[p];
        if self.at[from as usize] == p as u32 {
            self.at[from as usize] = NONE;
        }
        self.at[to as usize] = p as u32;
        chip_of[p] = to;
    }
}

/// The objective: over pairs of parts, `W(p, q)` times the hops between their chips.
fn hop_cost(board: &Board, q: &Quotient, chip_of: &[u32]) -> i64 {
    let mut cost = 0;
    for (p, &a) in chip_of.iter().enumerate() {
        for (r, w) in q.neighbors(p) {
            if r > p {
                cost += w * board.hops(a, chip_of[r]);
            }
        }
    }
    cost
}

/// One sub-problem of the recursive bisection: these parts go to these chips.
struct Job {
    /// Invariant: at least as many chips as parts.
    chips: Vec<u32>,
    parts: Vec<u32>,
}

/// The recursive bisection mapping (see the module docs). Jobs run breadth first, so when a job is cut,
/// every other part's domain (its `centre`) is as fine as this job's or finer.
fn recursive_bisection(board: &Board, q: &Quotient) -> Vec<u32> {
    let k = q.n();
    let mut chip_of = vec![NONE; k];
    let all: Vec<u32> = (0..board.n_chips()).collect();
    // Invariant: the centre of the chips the part's current job holds (its domain), doubled.
    let mut centre = vec![board.centre(&all); k];
    // Invariant: NONE except, during a cut, for the job's own parts, which hold their local index.
    let mut local = vec![NONE; k];
    let mut queue = VecDeque::from([Job {
        chips: all,
        parts: (0..k as u32).collect(),
    }]);
    while let Some(job) = queue.pop_front() {
        match job.parts[..] {
            [] => continue,
            [p] => {
                let c = best_single_chip(board, q, &centre, p as usize, &job.chips);
                chip_of[p as usize] = c;
                centre[p as usize] = board.point(c);
                continue;
            }
            _ => {}
        }
        for (i, &p) in job.parts.iter().enumerate() {
            local[p as usize] = i as u32;
        }
        let sub = Sub::new(q, &job.parts, &local);
        let m = job.parts.len();
        // Besides the part that most wants a side, growing also starts from both ends of a
        // pseudo-diameter of the job's quotient graph (George and Liu's pseudo-peripheral nodes, as
        // METIS's and Scotch's graph growing use): grown from the middle, a group tends to a blob whose
        // border refinement cannot straighten, while a grid-like graph is best cut straight across.
        let heaviest = (0..m)
            .max_by_key(|&i| (sub.degree[i], Reverse(i)))
            .expect("a job being cut has parts");
        let end = sub.farthest(heaviest);
        let peripheral = [end, sub.farthest(end)];
        let mut best: Option<(i64, [Vec<u32>; 2], Vec<u8>)> = None;
        for axis in board.axes(&job.chips) {
            let halves = board.split(&job.chips, axis);
            let centres = [board.centre(&halves[0]), board.centre(&halves[1])];
            // The cost of a part in each half from its traffic to parts outside this job, which sit
            // (as far as is known yet) at the centres of their domains.
            let ext: Vec<[i64; 2]> = job
                .parts
                .iter()
                .map(|&p| {
                    let mut e = [0i64; 2];
                    for (r, w) in q.neighbors(p as usize) {
                        if local[r] == NONE {
                            e[0] += w * dist(centres[0], centre[r]);
                            e[1] += w * dist(centres[1], centre[r]);
                        }
                    }
                    e
                })
                .collect();
            let bisection = Bisection {
                sub: &sub,
                ext: &ext,
                d: dist(centres[0], centres[1]),
                lo: m.saturating_sub(halves[1].len()),
                hi: m.min(halves[0].len()),
            };
            // Fill the first half as far as it goes, or the second: with few parts for many chips, one
            // compact group is cheaper than two spread ones, and the traffic to outside says which side.
            for (into, target) in [(0u8, bisection.hi), (1u8, m - bisection.lo)] {
                let mut seeds = vec![bisection.first(into)];
                for s in peripheral {
                    if !seeds.contains(&s) {
                        seeds.push(s);
                    }
                }
                for seed in seeds {
                    let mut side = bisection.grow(into, target, seed);
                    bisection.refine(&mut side);
                    let cost = bisection.cost(&side);
                    let better = match &best {
                        None => true,
                        Some(b) => cost < b.0,
                    };
                    if better {
                        best = Some((cost, halves.clone(), side));
                    }
                }
            }
        }
        for &p in &job.parts {
            local[p as usize] = NONE;
        }
        let (_, halves, side) = best.expect("at least one axis is tried");
        for (h, chips) in halves.into_iter().enumerate() {
            let parts: Vec<u32> = job
                .parts
                .iter()
                .zip(&side)
                .filter(|&(_, &s)| s as usize == h)
                .map(|(&p, _)| p)
                .collect();
            let c = board.centre(&chips);
            for &p in &parts {
                centre[p as usize] = c;
            }
            queue.push_back(Job { chips, parts });
        }
    }
    chip_of
}

/// The Manhattan distance between two points (doubled, like them).
fn dist(a: Point, b: Point) -> i64 {
    (a.0 - b.0).abs() + (a.1 - b.1).abs()
}

/// The chip of `chips` nearest (by traffic times distance) to where `p`'s neighbours are; ties by id.
fn best_single_chip(board: &Board, q: &Quotient, centre: &[Point], p: usize, chips: &[u32]) -> u32 {
    let mut best = (i64::MAX, NONE);
    for &c in chips {
        let at = board.point(c);
        let cost: i64 = q.neighbors(p).map(|(r, w)| w * dist(at, centre[r])).sum();
        best = best.min((cost, c));
    }
    best.1
}

/// The quotient graph restricted to one job's parts, with local indices.
struct Sub {
    xadj: Vec<usize>,
    adj: Vec<u32>,
    w: Vec<i64>,
    /// Each part's total quotient weight (inside and outside the job), for choosing the first part.
    degree: Vec<i64>,
}

impl Sub {
    fn new(q: &Quotient, parts: &[u32], local: &[u32]) -> Sub {
        let mut xadj = Vec::with_capacity(parts.len() + 1);
        let (mut adj, mut w) = (Vec::new(), Vec::new());
        xadj.push(0);
        for &p in parts {
            for (r, weight) in q.neighbors(p as usize) {
                if local[r] != NONE {
                    adj.push(local[r]);
                    w.push(weight);
                }
            }
            xadj.push(adj.len());
        }
        let degree = parts.iter().map(|&p| q.degree[p as usize]).collect();
        Sub {
            xadj,
            adj,
            w,
            degree,
        }
    }

    fn n(&self) -> usize {
        self.degree.len()
    }

    /// The part a breadth-first search from `start` reaches last (in its connected component; neighbours in
    /// index order, so the result is deterministic).
    fn farthest(&self, start: usize) -> usize {
        let mut seen = vec![false; self.n()];
        let mut queue = VecDeque::from([start]);
        seen[start] = true;
        let mut last = start;
        while let Some(i) = queue.pop_front() {
            last = i;
            for (j, _) in self.neighbors(i) {
                if !seen[j] {
                    seen[j] = true;
                    queue.push_back(j);
                }
            }
        }
        last
    }

    fn neighbors(&self, i: usize) -> impl Iterator<Item = (usize, i64)> + '_ {
        let r = self.xadj[i]..self.xadj[i + 1];
        self.adj[r.clone()]
            .iter()
            .zip(&self.w[r])
            .map(|(&j, &w)| (j as usize, w))
    }
}

/// One cut of a job's parts into side 0 and side 1 (the two chip halves), with its estimated cost:
/// every part's `ext[i][side]` plus `d` times the weight between the sides.
struct Bisection<'a> {
    sub: &'a Sub,
    ext: &'a [[i64; 2]],
    /// The distance between the centres of the two halves, doubled.
    d: i64,
    /// Invariant: `lo <= hi`; a cut is feasible when side 0 holds `lo..=hi` parts (so that each side
    /// fits its half).
    lo: usize,
    hi: usize,
}

impl Bisection<'_> {
    fn cost(&self, side: &[u8]) -> i64 {
        let mut cost = 0;
        for (i, &s) in side.iter().enumerate() {
            cost += self.ext[i][s as usize];
            for (j, w) in self.sub.neighbors(i) {
                if j > i && side[j] != s {
                    cost += self.d * w;
                }
            }
        }
        cost
    }

    /// How much the cost drops when part `i` changes side.
    fn gain(&self, side: &[u8], i: usize) -> i64 {
        let s = side[i];
        let mut g = self.ext[i][s as usize] - self.ext[i][1 - s as usize];
        for (j, w) in self.sub.neighbors(i) {
            g += if side[j] == s {
                -self.d * w
            } else {
                self.d * w
            };
        }
        g
    }

    /// The part that most prefers side `into` from its outside traffic (ties: the heaviest, then the
    /// lowest index): where growing starts when the outside pulls one way.
    fn first(&self, into: u8) -> usize {
        let from = 1 - into;
        (0..self.sub.n())
            .max_by_key(|&i| {
                let pref = self.ext[i][from as usize] - self.ext[i][into as usize];
                (pref, self.sub.degree[i], Reverse(i))
            })
            .expect("a job being cut has parts")
    }

    /// Greedy graph growing (Karypis and Kumar, SIAM J. Sci. Comput. 20(1), 1998): all parts start on
    /// the other side; `first` moves to side `into` first, then each time the part with the largest gain
    /// (ties: the lowest index), until `target` parts are there.
    fn grow(&self, into: u8, target: usize, first: usize) -> Vec<u8> {
        let m = self.sub.n();
        let from = 1 - into;
        let mut side = vec![from; m];
        if target == 0 {
            return side;
        }
        let mut gain: Vec<i64> = (0..m).map(|i| self.gain(&side, i)).collect();
        let mut heap: BinaryHeap<(i64, Reverse<usize>)> = (0..m)
            .filter(|&i| i != first)
            .map(|i| (gain[i], Reverse(i)))
            .collect();
        let mut next = Some(first);
        for _ in 0..target {
            // Invariant: every part still on side `from` has an entry with its current gain in the heap,
            // and target <= m, so a valid entry is always left; stale entries are skipped.
            let i = next.take().unwrap_or_else(|| loop {
                let (g, Reverse(i)) = heap.pop().expect("enough parts are left to move");
                if side[i] == from && g == gain[i] {
                    break i;
                }
            });
            side[i] = into;
            for (j, w) in self.sub.neighbors(i) {
                if side[j] == from {
                    gain[j] += 2 * self.d * w;
                    heap.push((gain[j], Reverse(j)));
                }
            }
        }
        side
    }

    /// Fiduccia-Mattheyses passes (Fiduccia and Mattheyses, DAC 1982) over a feasible cut: each pass
    /// moves every part at most once, always the best move that keeps side 0 within one of `lo..=hi`
    /// (so that exact sizes still allow a swap as two moves), then rolls back to the best feasible prefix.
    /// The cost never rises.
    fn refine(&self, side: &mut [u8]) {
        let m = self.sub.n();
        let mut n0 = side.iter().filter(|&&s| s == 0).count();
        for _ in 0..MAX_FM_PASSES {
            let mut gain: Vec<i64> = (0..m).map(|i| self.gain(side, i)).collect();
            let mut locked = vec![false; m];
            let mut heaps: [BinaryHeap<(i64, Reverse<usize>)>; 2] =
                [BinaryHeap::new(), BinaryHeap::new()];
            for (i, &s) in side.iter().enumerate() {
                heaps[s as usize].push((gain[i], Reverse(i)));
            }
            let mut moves: Vec<usize> = Vec::new();
            let (mut total, mut best, mut best_len) = (0i64, 0i64, 0usize);
            loop {
                // Side 0 may give a part unless it is short; side 1 may unless side 0 is over.
                let allowed = [n0 >= self.lo.max(1), n0 <= self.hi && n0 < m];
                let mut pick: Option<(i64, Reverse<usize>)> = None;
                for (s, heap) in heaps.iter_mut().enumerate() {
                    if !allowed[s] {
                        continue;
                    }
                    while let Some(&(g, Reverse(i))) = heap.peek() {
                        if !locked[i] && side[i] as usize == s && g == gain[i] {
                            break;
                        }
                        heap.pop();
                    }
                    if let Some(&top) = heap.peek() {
                        pick = pick.max(Some(top));
                    }
                }
                let Some((g, Reverse(i))) = pick else { break };
                heaps[side[i] as usize].pop();
                let s = 1 - side[i];
                side[i] = s;
                if s == 0 {
                    n0 += 1;
                } else {
                    n0 -= 1;
                }
                locked[i] = true;
                total += g;
                moves.push(i);
                for (j, w) in self.sub.neighbors(i) {
                    if !locked[j] {
                        gain[j] += if side[j] == s {
                            -2 * self.d * w
                        } else {
                            2 * self.d * w
                        };
                        heaps[side[j] as usize].push((gain[j], Reverse(j)));
                    }
                }
                if (self.lo..=self.hi).contains(&n0) && total > best {
                    (best, best_len) = (total, moves.len());
                }
                if moves.len() - best_len > FM_PATIENCE {
                    break;
                }
            }
            for &i in moves[best_len..].iter().rev() {
                side[i] = 1 - side[i];
                if side[i] == 0 {
                    n0 += 1;
                } else {
                    n0 -= 1;
                }
            }
            if best <= 0 {
                break;
            }
        }
    }
}

/// Swap refinement of stage 1: for each part in id order, the swap of its chip with another chip (and
/// that chip's part, if any) that lowers the hop cost most, in passes until no swap helps. Returns the
/// final cost.
///
/// A pass looks only at parts whose neighbourhood changed (they or a quotient neighbour moved) since
/// they were last looked at; when such a pass changes nothing, one pass over every part confirms that
/// no swap helps (a swap's price also depends on the other part's neighbours), or carries on.
fn swap_refine(board: &Board, q: &Quotient, chip_of: &mut [u32]) -> i64 {
    let k = q.n();
    let mut at = vec![NONE; board.n_chips() as usize];
    for (p, &c) in chip_of.iter().enumerate() {
        at[c as usize] = p as u32;
    }
    let mut dirty = vec![true; k];
    // Invariant: 0 except, while part `p` is priced, at its quotient neighbours: W(p, r).
    let mut w_to = vec![0i64; k];
    let mut nbrs: Vec<(u32, i64)> = Vec::new();
    let (mut fx, mut fy): (Vec<i64>, Vec<i64>) = (Vec::new(), Vec::new());
    let mut all = false;
    for _ in 0..MAX_SWAP_PASSES {
        // The first pass, with every part dirty, looks at every part as well.
        let looks_at_all = all || dirty.iter().all(|&d| d);
        let mut improved = false;
        for p in 0..k {
            // A part without traffic gains nothing by moving; it still moves when another part swaps
            // with it.
            if q.degree[p] == 0 || !(all || dirty[p]) {
                continue;
            }
            dirty[p] = false;
            let a = chip_of[p];
            nbrs.clear();
            nbrs.extend(q.neighbors(p).map(|(r, w)| (chip_of[r], w)));
            let (x0, x1, y0, y1) = board.window(&mut nbrs);
            // What p's edges would cost with p at column x, or row y: the two sum to its cost on the
            // chip (x, y), so pricing a whole window takes one walk over the neighbours per column and
            // per row instead of one per chip.
            fx.clear();
            fy.clear();
            fx.extend((x0..=x1).map(|x| {
                nbrs.iter()
                    .map(|&(c, w)| w * (x - board.xy[c as usize].0).abs())
                    .sum::<i64>()
            }));
            fy.extend((y0..=y1).map(|y| {
                nbrs.iter()
                    .map(|&(c, w)| w * (y - board.xy[c as usize].1).abs())
                    .sum::<i64>()
            }));
            let now: i64 = nbrs.iter().map(|&(c, w)| w * board.hops(a, c)).sum();
            for (r, w) in q.neighbors(p) {
                w_to[r] = w;
            }
            let mut best = (0i64, NONE);
            for y in y0..=y1 {
                for x in x0..=x1 {
                    let b = y * board.width + x;
                    if b >= board.n_chips() as i64 || b as u32 == a {
                        continue;
                    }
                    let b = b as u32;
                    let other = at[b as usize];
                    let mut delta = fx[(x - x0) as usize] + fy[(y - y0) as usize] - now;
                    if other != NONE {
                        // The sums above move p's edge to `other` too, but a swap keeps that distance.
                        let (o, w_po, h) = (other as usize, w_to[other as usize], board.hops(a, b));
                        delta += w_po * h;
                        // Moving `other` by h hops lowers each of its other edges by at most h hops:
                        // when even that cannot beat the best swap so far, skip pricing it exactly.
                        if delta - (q.degree[o] - w_po) * h >= best.0 {
                            continue;
                        }
                        delta += move_delta(board, q, chip_of, o, b, a, p as u32);
                    }
                    // Strictly better only, so ties keep the lowest chip id (chips go in id order).
                    if delta < best.0 {
                        best = (delta, b);
                    }
                }
            }
            for (r, _) in q.neighbors(p) {
                w_to[r] = 0;
            }
            if best.1 != NONE {
                let b = best.1;
                let other = at[b as usize];
                chip_of[p] = b;
                at[b as usize] = p as u32;
                at[a as usize] = other;
                for (r, _) in q.neighbors(p) {
                    dirty[r] = true;
                }
                if other != NONE {
                    chip_of[other as usize] = a;
                    dirty[other as usize] = true;
                    for (r, _) in q.neighbors(other as usize) {
                        dirty[r] = true;
                    }
                }
                improved = true;
            }
        }
        if !improved && looks_at_all {
            break;
        }
        all = !improved;
    }
    hop_cost(board, q, chip_of)
}

/// The change of the hop cost of part `p`'s edges when it moves from chip `from` to chip `to`, leaving
/// out its edge to `skip` (its swap partner, whose distance to it a swap does not change).
fn move_delta(
    board: &Board,
    q: &Quotient,
    chip_of: &[u32],
    p: usize,
    from: u32,
    to: u32,
    skip: u32,
) -> i64 {
    let mut delta = 0;
    for (r, w) in q.neighbors(p) {
        if r as u32 != skip {
            let c = chip_of[r];
            delta += w * (board.hops(to, c) - board.hops(from, c));
        }
    }
    delta
}

/// Every core of a chip in snake (boustrophedon) order of the tiles: row 0 of tiles left to right, row 1
/// right to left, and so on, all of a tile's cores together, so consecutive cores share a tile or sit on
/// adjacent tiles. Core ids are `tile * cores_per_tile + k` with tile id `ty * tiles.x + tx`.
fn snake_cores(topo: &Topology) -> Vec<CoreId> {
    let tiles = topo.tiles();
    let per_tile = topo.cores_per_tile();
    let mut cores = Vec::with_capacity(topo.cores_per_chip() as usize);
    for ty in 0..tiles.y {
        for i in 0..tiles.x {
            let tx = if ty % 2 == 0 { i } else { tiles.x - 1 - i };
            let tile = ty * tiles.x + tx;
            cores.extend((0..per_tile).map(|k| CoreId(tile * per_tile + k)));
        }
    }
    cores
}

/// Stage 2's ordering of one part's blocks, with scratch space shared by all parts.
struct BlockOrder {
    /// Each vertex's traffic to the vertices already ordered in its part. Invariant: 0 between parts.
    conn: Vec<i64>,
    done: Vec<bool>,
}

impl BlockOrder {
    fn new(n: usize) -> BlockOrder {
        BlockOrder {
            conn: vec![0; n],
            done: vec![false; n],
        }
    }

    /// The vertices `verts` of one part in greedy traversal order: start from the one with the most
    /// traffic inside the part, then repeatedly take the one with the most traffic to those already taken
    /// (ties by the lowest index); when none is joined to them, start again from the heaviest left.
    fn traverse(&mut self, g: &BlockGraph, part: &[u32], verts: &[u32]) -> Vec<u32> {
        let Some(&first) = verts.first() else {
            return Vec::new();
        };
        let p = part[first as usize];
        let mut by_weight: Vec<(Reverse<i64>, u32)> = verts
            .iter()
            .map(|&v| {
                let inside: i64 = g
                    .neighbors(v as usize)
                    .filter(|&(u, _)| part[u] == p)
                    .map(|(_, w)| w)
                    .sum();
                (Reverse(inside), v)
            })
            .collect();
        by_weight.sort_unstable();
        let mut starts = by_weight.iter().map(|&(_, v)| v);
        let mut heap: BinaryHeap<(i64, Reverse<u32>)> = BinaryHeap::new();
        let mut order = Vec::with_capacity(verts.len());
        while order.len() < verts.len() {
            let mut next = None;
            while let Some((c, Reverse(v))) = heap.pop() {
                if !self.done[v as usize] && c == self.conn[v as usize] {
                    next = Some(v);
                    break;
                }
            }
            // Invariant: fewer vertices are ordered than the part has, so an unordered start is left.
            let v = next.unwrap_or_else(|| {
                starts
                    .find(|&v| !self.done[v as usize])
                    .expect("an unordered vertex is left")
            });
            self.done[v as usize] = true;
            order.push(v);
            for (u, w) in g.neighbors(v as usize) {
                if part[u] == p && !self.done[u] {
                    self.conn[u] += w;
                    heap.push((self.conn[u], Reverse(u as u32)));
                }
            }
        }
        for &v in verts {
            self.conn[v as usize] = 0;
        }
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use snn_graph::{Adjacency, Block, BlockId, Edge};
    use snn_hardware::{CoreLimits, CostModel, Grid};
    use snn_placement::Metrics;

    /// `n` on-chip blocks (one compartment each) and `host` host blocks after them, with `edges` as
    /// (src, dst, spikes).
    fn net(n: usize, host: usize, edges: &[(u32, u32, f64)]) -> Network {
        let blocks = (0..n + host)
            .map(|i| {
                let b = Block::new(format!("b{i}"), 1);
                if i < n {
                    b
                } else {
                    b.on_host()
                }
            })
            .collect();
        let edges = edges
            .iter()
            .map(|&(s, d, w)| Edge::new(BlockId(s), BlockId(d), w))
            .collect();
        Network::new("t", blocks, edges).unwrap()
    }

    /// Maps the partition twice (the two placements must be equal), validates the placement, checks that
    /// host blocks are on the host, each part on one usable chip and distinct parts on distinct chips,
    /// and returns the placement with its metrics.
    fn check(
        net: &Network,
        topo: &Topology,
        rules: Rules,
        part: &[u32],
        k: u32,
    ) -> (Placement, Metrics) {
        let g = BlockGraph::new(net, &Adjacency::new(net));
        let p = place_parts(net, topo, &rules, &g, part, k, "mapping", 7);
        let again = place_parts(net, topo, &rules, &g, part, k, "mapping", 7);
        assert_eq!(p, again, "not deterministic");
        p.validate(net, topo, &rules).unwrap();
        assert_eq!((p.allocator.as_str(), p.seed), ("mapping", 7));
        for (b, block) in net.block_ids().zip(net.blocks()) {
            assert_eq!(block.host, p.slot(b) == Slot::Host, "{}", block.name);
        }
        let mut chip_of: Vec<Option<ChipId>> = vec![None; k as usize];
        for (v, &b) in g.blocks.iter().enumerate() {
            let c = p.slot(b).chip().unwrap();
            assert!(c.0 < rules.chips, "{c} is not usable");
            let known = chip_of[part[v] as usize].get_or_insert(c);
            assert_eq!(*known, c, "part {} is split over two chips", part[v]);
        }
        let mut used: Vec<ChipId> = chip_of.into_iter().flatten().collect();
        let n_used = used.len();
        used.sort_unstable();
        used.dedup();
        assert_eq!(used.len(), n_used, "two parts share a chip");
        let m = Metrics::compute(net, topo, &p);
        (p, m)
    }

    fn all_chips(topo: &Topology) -> Rules {
        Rules::for_topology(topo)
    }

    #[test]
    fn a_chain_of_parts_lands_on_neighbouring_chips() {
        // Eight parts of three blocks, light traffic inside each, heavy traffic from the last block of
        // part i to the first of part i + 1, and a host input feeding block 0. Row-major order (the
        // identity) would put parts 3 and 4 at opposite ends of the board's first two rows.
        let mut edges = vec![(24, 0, 3.0)];
        for i in 0..8u32 {
            edges.extend([(3 * i, 3 * i + 1, 1.0), (3 * i + 1, 3 * i + 2, 1.0)]);
            if i < 7 {
                edges.push((3 * i + 2, 3 * i + 3, 50.0));
            }
        }
        let net = net(24, 1, &edges);
        let part: Vec<u32> = (0..24).map(|v| v / 3).collect();
        let topo = Topology::preset("nahuku32").unwrap();
        let (_, m) = check(&net, &topo, all_chips(&topo), &part, 8);
        assert_eq!(m.interchip_spikes, 7.0 * 50.0);
        assert_eq!(m.hop_spikes, m.interchip_spikes);
        assert_eq!(m.chips_used, 8);
    }

    #[test]
    fn a_grid_of_parts_maps_onto_the_mesh_with_one_hop_per_edge() {
        // A w x h grid of cells, two blocks each (blocks 2c and 2c + 1 of cell c = y * w + x), with
        // traffic between 4-neighbour cells; cell c is part (13 c + 5) mod (w h), so part ids say nothing
        // about where a cell is. The board is exactly w x h chips.
        for (w, h, board) in [(4u32, 8u32, "nahuku32"), (8, 8, "pohoiki-beach")] {
            let n = w * h;
            let mut edges = Vec::new();
            for c in 0..n {
                edges.push((2 * c, 2 * c + 1, 5.0));
                if c % w < w - 1 {
                    edges.push((2 * c + 1, 2 * (c + 1), 10.0));
                }
                if c + w < n {
                    edges.push((2 * c, 2 * (c + w), 10.0));
                }
            }
            let net = net(2 * n as usize, 0, &edges);
            let part: Vec<u32> = (0..2 * n).map(|v| (13 * (v / 2) + 5) % n).collect();
            let topo = Topology::preset(board).unwrap();
            let (_, m) = check(&net, &topo, all_chips(&topo), &part, n);
            let cut_edges = (w - 1) * h + w * (h - 1);
            assert_eq!(m.interchip_spikes, cut_edges as f64 * 10.0, "{board}");
            assert_eq!(m.hop_spikes, m.interchip_spikes, "{board}");
        }
    }

    #[test]
    fn only_the_usable_chips_are_used() {
        // Ten usable chips of nahuku32 (4x8) are its first two rows and half of the third: not a
        // rectangle. A ring of parts, all of them or fewer than the chips.
        let topo = Topology::preset("nahuku32").unwrap();
        let rules = Rules {
            chips: 10,
            packing: false,
        };
        for k in [10u32, 7] {
            let n = 2 * k;
            let edges: Vec<(u32, u32, f64)> = (0..n).map(|v| (v, (v + 1) % n, 4.0)).collect();
            let net = net(n as usize, 0, &edges);
            let part: Vec<u32> = (0..n).map(|v| v / 2).collect();
            let (_, m) = check(&net, &topo, rules, &part, k);
            assert_eq!(m.chips_used, k as usize);
        }
        // No on-chip blocks at all: everything stays on the host.
        let net = net(0, 2, &[(0, 1, 1.0)]);
        let (p, _) = check(&net, &topo, rules, &[], 0);
        assert_eq!(p.slots(), [Slot::Host, Slot::Host]);
    }

    #[test]
    fn blocks_that_talk_share_a_tile() {
        // One part of 20 blocks on one Loihi chip: a light chain through all of them and heavy traffic
        // between blocks 4 and 15, far apart in id order.
        let mut edges: Vec<(u32, u32, f64)> = (0..19).map(|v| (v, v + 1, 1.0)).collect();
        edges.push((4, 15, 100.0));
        let net = net(20, 0, &edges);
        let topo = Topology::preset("loihi").unwrap();
        let (p, _) = check(&net, &topo, all_chips(&topo), &[0; 20], 1);
        let tile = |b: u32| match p.slot(BlockId(b)) {
            Slot::Core { core, .. } => topo.tile_xy(core),
            Slot::Host => unreachable!("on-chip blocks are on cores"),
        };
        assert_eq!(tile(4), tile(15));
        // The snake order never jumps: blocks taken one after the other are on the same or adjacent
        // tiles, so a chain neighbour of the heavy pair is at most a tile away.
        let (x4, y4) = tile(4);
        let (x5, y5) = tile(5);
        assert!(x4.abs_diff(x5) + y4.abs_diff(y5) <= 1);
    }

    #[test]
    fn snake_order_visits_every_core_once_moving_one_tile_at_a_time() {
        let topo = Topology::new(
            "t",
            Grid { x: 2, y: 2 },
            Grid { x: 3, y: 3 },
            2,
            CoreLimits::LOIHI,
            CostModel::default(),
        )
        .unwrap();
        let cores = snake_cores(&topo);
        let mut sorted: Vec<u32> = cores.iter().map(|c| c.0).collect();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..18).collect::<Vec<u32>>());
        for pair in cores.windows(2) {
            let ((ax, ay), (bx, by)) = (topo.tile_xy(pair[0]), topo.tile_xy(pair[1]));
            assert!(ax.abs_diff(bx) + ay.abs_diff(by) <= 1, "{pair:?}");
        }
    }

    /// A random board (up to 4x4 chips of four cores), usable chips, k parts, and a network whose
    /// on-chip blocks are spread over the parts (at most four each, some parts empty), with integer
    /// traffic so that the integer objective and the metrics agree exactly.
    fn arb_case() -> impl Strategy<Value = (Topology, u32, Network, Vec<u32>, u32)> {
        (1u32..5, 1u32..5)
            .prop_flat_map(|(cx, cy)| (Just((cx, cy)), 1..=cx * cy))
            .prop_flat_map(|(dims, usable)| (Just((dims, usable)), 1..=usable))
            .prop_flat_map(|((dims, usable), k)| {
                (
                    Just((dims, usable, k)),
                    prop::collection::vec(any::<prop::sample::Index>(), 0..=4 * k as usize),
                    prop::collection::vec(
                        (
                            any::<prop::sample::Index>(),
                            any::<prop::sample::Index>(),
                            1u32..20,
                        ),
                        0..80,
                    ),
                )
            })
            .prop_map(|(((cx, cy), usable, k), picks, edges)| {
                let topo = Topology::new(
                    "prop",
                    Grid { x: cx, y: cy },
                    Grid { x: 2, y: 1 },
                    2,
                    CoreLimits::LOIHI,
                    CostModel::default(),
                )
                .unwrap();
                let per_chip = topo.cores_per_chip();
                let mut size = vec![0u32; k as usize];
                let part: Vec<u32> = picks
                    .iter()
                    .map(|ix| {
                        let mut p = ix.index(k as usize);
                        while size[p] == per_chip {
                            p = (p + 1) % k as usize;
                        }
                        size[p] += 1;
                        p as u32
                    })
                    .collect();
                // One host block after the on-chip ones, which edges may touch too.
                let n = part.len() + 1;
                let edges: Vec<(u32, u32, f64)> = edges
                    .iter()
                    .map(|(s, d, w)| (s.index(n) as u32, d.index(n) as u32, *w as f64))
                    .collect();
                (topo, usable, net(n - 1, 1, &edges), part, k)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn never_worse_than_the_identity_mapping((topo, usable, net, part, k) in arb_case()) {
            let rules = Rules { chips: usable, packing: false };
            let (_, m) = check(&net, &topo, rules, &part, k);
            // Part p on chip p, its blocks on the chip's first cores.
            let mut next_core = vec![0u32; k as usize];
            let slots = net
                .blocks()
                .iter()
                .enumerate()
                .map(|(v, b)| {
                    if b.host {
                        return Slot::Host;
                    }
                    let p = part[v] as usize;
                    next_core[p] += 1;
                    Slot::Core { chip: ChipId(p as u32), core: CoreId(next_core[p] - 1) }
                })
                .collect();
            let identity = Placement::new(slots, "identity", 0);
            identity.validate(&net, &topo, &rules).unwrap();
            let base = Metrics::compute(&net, &topo, &identity);
            prop_assert!(m.hop_spikes <= base.hop_spikes, "{} > {}", m.hop_spikes, base.hop_spikes);
        }

        #[test]
        fn annealing_never_raises_the_hop_cost_and_repeats_for_a_seed(
            (topo, usable, net, part, k) in arb_case(),
            seed in 0u64..4,
            t0 in 0usize..2,
        ) {
            let g = BlockGraph::new(&net, &Adjacency::new(&net));
            let q = Quotient::new(&g, &part, &Members::new(&part, k));
            let board = Board::new(&topo, usable);
            let start = recursive_bisection(&board, &q);
            let t0 = MAP_ANNEAL_T0[t0];
            let mut annealed = start.clone();
            anneal_map(&board, &q, &mut annealed, seed, t0);
            prop_assert!(hop_cost(&board, &q, &annealed) <= hop_cost(&board, &q, &start));
            // Still one chip per part, every chip usable, no chip shared.
            let mut seen = vec![false; usable as usize];
            for &c in &annealed {
                prop_assert!(c < usable && !seen[c as usize], "chip {c} in {annealed:?}");
                seen[c as usize] = true;
            }
            let mut again = start.clone();
            anneal_map(&board, &q, &mut again, seed, t0);
            prop_assert_eq!(&again, &annealed);
        }

        #[test]
        fn no_swap_of_two_chips_lowers_the_hop_cost((topo, usable, net, part, k) in arb_case()) {
            // Boards this small are refined by trying every chip, so the parts' chips must be a local
            // optimum: exchanging what any two chips hold (a part or nothing) never helps.
            let g = BlockGraph::new(&net, &Adjacency::new(&net));
            let q = Quotient::new(&g, &part, &Members::new(&part, k));
            let board = Board::new(&topo, usable);
            let chip_of = map_parts(&board, &q, 1);
            let cost = hop_cost(&board, &q, &chip_of);
            for a in 0..usable {
                for b in a + 1..usable {
                    let swapped: Vec<u32> = chip_of
                        .iter()
                        .map(|&c| if c == a { b } else if c == b { a } else { c })
                        .collect();
                    prop_assert!(hop_cost(&board, &q, &swapped) >= cost, "swapping chips {a} and {b}");
                }
            }
        }
    }
}
