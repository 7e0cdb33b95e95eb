//! k-way refinement under hard capacities, Fiduccia-Mattheyses style (Fiduccia and Mattheyses 1982,
//! "A linear-time heuristic for improving network partitions"; the k-way form as in Sanchis 1989 and
//! Karypis and Kumar's METIS k-way refinement), and the repair pass that makes an over-full partition
//! respect its capacities.
//!
//! A pass moves boundary vertices one at a time, best gain first, each vertex at most once per pass, and
//! allows moves with negative gain so that it can climb out of local minima; at the end it rolls back to
//! the best prefix of moves. Capacities hold after every move: a move into a full part is made as a swap
//! with the block of that part that gains most by moving back (when the pair gains), which is how the
//! pass exchanges blocks between full chips when almost no chip has room, as on a tightly packed board. Gains are integers (see [`BlockGraph`]), kept per vertex and
//! recomputed only for the neighbours of a moved vertex, so a pass costs about the sum of the moved
//! vertices' squared degrees, and the cut never rises through rounding.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::partition::BlockGraph;

/// How far a pass looks past its best prefix before it gives up.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FmConfig {
    /// Moves without a new best cut after which a pass stops (at least this many, more on large graphs:
    /// see `FmConfig::patience`).
    pub min_patience: usize,
    /// Passes at most; refinement stops earlier when a pass gains nothing.
    pub max_passes: usize,
}

impl Default for FmConfig {
    fn default() -> FmConfig {
        FmConfig {
            min_patience: 50,
            max_passes: 16,
        }
    }
}

impl FmConfig {
    fn patience(&self, n: usize) -> usize {
        // Measured on `gen layered` and `gen random` nets of 3,900 and 98,000 blocks: looking further
        // than this found no lower cut, and doubled the time.
        self.min_patience.max(n / 1000)
    }
}

/// What a refinement did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FmStats {
    pub passes: usize,
    pub moves_kept: usize,
    pub cut_before: i64,
    pub cut_after: i64,
}

/// Scratch space for the connectivity of one vertex to the parts around it.
struct Conn {
    /// Invariant: zero outside `touched`.
    weight: Vec<i64>,
    touched: Vec<u32>,
}

impl Conn {
    fn new(k: usize) -> Conn {
        Conn {
            weight: vec![0; k],
            touched: Vec::new(),
        }
    }

    /// Fills the weights from `v` to each part it touches.
    fn load(&mut self, g: &BlockGraph, part: &[u32], v: usize) {
        for &p in &self.touched {
            self.weight[p as usize] = 0;
        }
        self.touched.clear();
        for (u, w) in g.neighbors(v) {
            let p = part[u];
            if self.weight[p as usize] == 0 {
                self.touched.push(p);
            }
            self.weight[p as usize] += w;
        }
    }
}

/// The best move of `v` to another part that `allowed` accepts: (gain, part), ties to the lower part id.
fn best_move(
    g: &BlockGraph,
    part: &[u32],
    conn: &mut Conn,
    v: usize,
    allowed: impl Fn(u32) -> bool,
) -> Option<(i64, u32)> {
    conn.load(g, part, v);
    let own = conn.weight[part[v] as usize];
    let mut best: Option<(i64, u32)> = None;
    for &p in &conn.touched {
        if p == part[v] || !allowed(p) {
            continue;
        }
        let gain = conn.weight[p as usize] - own;
        if best.is_none_or(|(bg, bp)| gain > bg || (gain == bg && p < bp)) {
            best = Some((gain, p));
        }
    }
    best
}

/// Refines `part` (k parts, at most `cap[p]` weight in part p) in place to lower the cut, and never
/// raises it. `part` must already respect the capacities, and every prefix of a pass does too: a move
/// into a full part is made as a swap with the block of that part whose move back gains the most.
pub fn refine(
    g: &BlockGraph,
    part: &mut [u32],
    cap: &[u32],
    cfg: &FmConfig,
    expired: &dyn Fn() -> bool,
) -> FmStats {
    refine_with_cut(g, part, cap, g.cut(part), cfg, expired)
}

/// [`refine`] for a caller that knows the cut of `part` (the V-cycles carry it through every level):
/// it spares a sweep of every edge.
pub fn refine_with_cut(
    g: &BlockGraph,
    part: &mut [u32],
    cap: &[u32],
    cut_before: i64,
    cfg: &FmConfig,
    expired: &dyn Fn() -> bool,
) -> FmStats {
    let k = cap.len();
    let n = g.n();
    let mut size = g.part_sizes(part, k as u32);
    debug_assert!(size.iter().zip(cap).all(|(s, c)| s <= c));
    debug_assert_eq!(cut_before, g.cut(part));
    let mut stats = FmStats {
        cut_before,
        cut_after: cut_before,
        ..FmStats::default()
    };
    let mut conn = Conn::new(k);
    let (mut members, mut pos) = members_of(part, k);
    // Invariant: `moved[v] == pass` once v moved in the current pass.
    let mut moved = vec![0usize; n];
    // Invariant: a heap entry is current only while its version matches `version[v]`.
    let mut version = vec![0u32; n];
    // Invariant: for a vertex not yet moved in the current pass, the gain of its best move as of now
    // (i64::MIN when it touches no other part); `best_swap_partner` skips candidates by it.
    let mut best_gain = vec![i64::MIN; n];
    // A vertex's best move depends only on its own part and its neighbours': it is computed again at
    // the start of a pass only for the vertices a move of the last pass (kept or rolled back) touched,
    // and a pass, which moves a few hundred vertices, no longer costs a sweep of every edge.
    // Invariant: `start_move[v]` is v's best move now, unless `stale[v]`.
    let mut start_move: Vec<Option<(i64, u32)>> = vec![None; n];
    let mut stale = vec![true; n];
    // Invariant: at least the largest `best_gain` of the members of each part not yet moved in the
    // current pass. No member of a part whose bound is at most a swap's need can be its partner, and
    // the part is not swept: on a board without free cores most moves find no partner (61% of the
    // sweeps on `gen layered --blocks 97983` over 766 chips were skipped so).
    let mut gain_bound = vec![i64::MIN; k];
    let patience = cfg.patience(n);
    for pass in 1..=cfg.max_passes {
        if expired() {
            break;
        }
        stats.passes = pass;
        let mut entries = Vec::new();
        gain_bound.fill(i64::MIN);
        for (v, &ver) in version.iter().enumerate() {
            if stale[v] {
                start_move[v] = best_move(g, part, &mut conn, v, |_| true);
                stale[v] = false;
            }
            let mv = start_move[v];
            best_gain[v] = mv.map_or(i64::MIN, |m| m.0);
            let bound = &mut gain_bound[part[v] as usize];
            *bound = (*bound).max(best_gain[v]);
            if let Some((gain, p)) = mv {
                entries.push((gain, Reverse(v as u32), p, ver));
            }
        }
        // Built in linear time; the entries are distinct (one per vertex), so the order they leave
        // the heap in does not depend on how it was built.
        let mut heap: BinaryHeap<(i64, Reverse<u32>, u32, u32)> = BinaryHeap::from(entries);
        // The moves of this pass, to roll back past the best prefix.
        let mut log: Vec<(u32, u32)> = Vec::new();
        let (mut gain_sum, mut best_sum, mut best_len) = (0i64, 0i64, 0usize);
        // The vertices one step moves (v, and its swap partner if any), kept across steps: a fresh Vec
        // per step was a tenth of the pass's instructions in the allocator.
        let mut step: Vec<(usize, u32)> = Vec::with_capacity(2);
        while let Some((gain, Reverse(v), to, ver)) = heap.pop() {
            let v = v as usize;
            if ver != version[v] || moved[v] == pass {
                continue;
            }
            let from = part[v];
            let w = g.vwgt[v];
            step.clear();
            step.push((v, to));
            let mut step_gain = gain;
            if size[to as usize] + w > cap[to as usize] {
                // `to` is full: swap v with the block of `to` whose move to v's part gains the most once
                // v has moved, if the pair gains anything; else v's best move to a part with room.
                let candidates = Candidates {
                    members: &members[to as usize],
                    moved: &moved,
                    pass,
                    best_gain: &best_gain,
                    need: -gain,
                };
                let partner = (gain_bound[to as usize] > -gain)
                    .then(|| best_swap_partner(g, part, &candidates, v, from, to, &size, cap))
                    .flatten();
                match partner {
                    Some((u, gu)) if gain + gu > 0 => {
                        step.push((u, from));
                        step_gain += gu;
                    }
                    _ => {
                        version[v] += 1;
                        let room = |p: u32| size[p as usize] + w <= cap[p as usize];
                        if let Some((gain, p)) = best_move(g, part, &mut conn, v, room) {
                            heap.push((gain, Reverse(v as u32), p, version[v]));
                        }
                        continue;
                    }
                }
            }
            for &(x, dest) in &step {
                let src = part[x];
                move_vertex(g, part, &mut size, &mut members, &mut pos, x, dest);
                moved[x] = pass;
                log.push((x as u32, src));
            }
            gain_sum += step_gain;
            if gain_sum > best_sum {
                best_sum = gain_sum;
                best_len = log.len();
            }
            if log.len() - best_len > patience || expired() {
                break;
            }
            for &(x, _) in &step {
                for (u, _) in g.neighbors(x) {
                    if moved[u] != pass {
                        version[u] += 1;
                        let mv = best_move(g, part, &mut conn, u, |_| true);
                        best_gain[u] = mv.map_or(i64::MIN, |m| m.0);
                        let bound = &mut gain_bound[part[u] as usize];
                        *bound = (*bound).max(best_gain[u]);
                        if let Some((gain, p)) = mv {
                            heap.push((gain, Reverse(u as u32), p, version[u]));
                        }
                    }
                }
            }
        }
        for &(v, from) in log[best_len..].iter().rev() {
            move_vertex(g, part, &mut size, &mut members, &mut pos, v as usize, from);
        }
        for &(v, _) in &log {
            stale[v as usize] = true;
            for (u, _) in g.neighbors(v as usize) {
                stale[u] = true;
            }
        }
        stats.moves_kept += best_len;
        stats.cut_after -= best_sum;
        if best_sum == 0 {
            break;
        }
    }
    debug_assert_eq!(stats.cut_after, g.cut(part));
    stats
}

/// The vertices of each of the `k` parts of `part`, and each vertex's position in its part's list:
/// `members[p][pos[v]] == v` for v in part p, the invariant [`move_vertex`] keeps.
pub(crate) fn members_of(part: &[u32], k: usize) -> (Vec<Vec<u32>>, Vec<u32>) {
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); k];
    let mut pos = vec![0u32; part.len()];
    for (v, &p) in part.iter().enumerate() {
        pos[v] = members[p as usize].len() as u32;
        members[p as usize].push(v as u32);
    }
    (members, pos)
}

/// Moves `v` to part `to`, keeping sizes and member lists ([`members_of`]).
pub(crate) fn move_vertex(
    g: &BlockGraph,
    part: &mut [u32],
    size: &mut [u32],
    members: &mut [Vec<u32>],
    pos: &mut [u32],
    v: usize,
    to: u32,
) {
    let from = part[v] as usize;
    let i = pos[v] as usize;
    members[from].swap_remove(i);
    if let Some(&moved_in) = members[from].get(i) {
        pos[moved_in as usize] = i as u32;
    }
    pos[v] = members[to as usize].len() as u32;
    members[to as usize].push(v as u32);
    size[from] -= g.vwgt[v];
    size[to as usize] += g.vwgt[v];
    part[v] = to;
}

/// The swap partners `best_swap_partner` looks at: the members of the full part not yet moved this pass
/// whose swap can pay, that is whose gain can exceed `need`.
struct Candidates<'a> {
    members: &'a [u32],
    moved: &'a [usize],
    pass: usize,
    /// Invariant: current for every member not moved this pass (see `refine`).
    best_gain: &'a [i64],
    need: i64,
}

/// The block `u` of part `to` (not yet moved this pass) whose move to `from` gains the most once `v` has
/// moved from `from` to `to`, and that gain, among the swaps that keep both parts within capacity and
/// gain more than `candidates.need`; ties go to the lower id. A partner's gain is at most the gain of its
/// own best move (its edges into `from` count towards that move, and the edge to v turns against it), so
/// members whose best move gains `need` or less are skipped without sweeping their neighbours: the
/// partner found, and whether the swap pays, are those of the full search. On tightly packed boards
/// nearly every move is into a full part and most find no partner; that sweep was about 70% of the
/// refinement's time.
#[allow(clippy::too_many_arguments)]
fn best_swap_partner(
    g: &BlockGraph,
    part: &[u32],
    candidates: &Candidates,
    v: usize,
    from: u32,
    to: u32,
    size: &[u32],
    cap: &[u32],
) -> Option<(usize, i64)> {
    let wv = g.vwgt[v];
    let mut best: Option<(i64, usize)> = None;
    for &u in candidates.members {
        let u = u as usize;
        let wu = g.vwgt[u];
        // A member whose best move gains no more than the best partner so far cannot beat it. Tested
        // first: it turns away nearly every member with one read.
        let bar = best.map_or(candidates.need, |(bg, _)| bg.max(candidates.need));
        if candidates.best_gain[u] < bar
            || (candidates.best_gain[u] == bar && bar == candidates.need)
            || candidates.moved[u] == candidates.pass
            || size[to as usize] + wv - wu > cap[to as usize]
            || size[from as usize] - wv + wu > cap[from as usize]
        {
            continue;
        }
        // u's weights to `from`, to `to`, and to v, in one sweep of its neighbours.
        let (mut to_from, mut to_to, mut uv) = (0i64, 0i64, 0i64);
        for (x, w) in g.neighbors(u) {
            if x == v {
                uv += w;
            }
            if part[x] == from {
                to_from += w;
            } else if part[x] == to {
                to_to += w;
            }
        }
        if to_from == 0 {
            continue;
        }
        // Once v sits in `to`, the edge u-v no longer pulls u towards `from` but holds it in `to`.
        let gain = to_from - to_to - 2 * uv;
        if best.is_none_or(|(bg, bu)| gain > bg || (gain == bg && u < bu)) {
            best = Some((gain, u));
        }
    }
    best.map(|(gain, u)| (u, gain))
}

/// Makes `part` respect the capacities: while a part is over its capacity, moves out the vertex whose
/// move costs the least cut (to a part with room that it talks to, else to the part with the most room),
/// ties to the lower vertex id. Needs the total capacity to hold every vertex (all of weight 1, as at the
/// finest level; a heavier vertex that fits nowhere stays put).
pub fn repair(g: &BlockGraph, part: &mut [u32], cap: &[u32]) {
    let k = cap.len();
    let mut size = g.part_sizes(part, k as u32);
    let mut conn = Conn::new(k);
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); k];
    for (v, &p) in part.iter().enumerate() {
        members[p as usize].push(v as u32);
    }
    for p in 0..k {
        while size[p] > cap[p] {
            // The other part with the most room (ties to the lower id), found once per move rather than
            // once per vertex: a vertex that can go there at all goes there. On a board of thousands of
            // chips, nearly all full, that scan of every part per vertex was most of METIS's time.
            let most_room = (0..k as u32)
                .filter(|&q| q as usize != p && size[q as usize] <= cap[q as usize])
                .max_by_key(|&q| (cap[q as usize] - size[q as usize], Reverse(q)));
            let mut best: Option<(i64, u32, u32)> = None;
            for &v in &members[p] {
                let v_us = v as usize;
                if part[v_us] != p as u32 {
                    continue;
                }
                let w = g.vwgt[v_us];
                let room = |q: u32| size[q as usize] + w <= cap[q as usize];
                let mv = match best_move(g, part, &mut conn, v_us, room) {
                    Some(mv) => mv,
                    // No part with room that v talks to: the part with the most room, at the cost of
                    // all of v's traffic inside p (best_move loaded it into `conn`).
                    None => match most_room.filter(|&q| room(q)) {
                        Some(q) => (-conn.weight[p], q),
                        None => continue,
                    },
                };
                if best.is_none_or(|(bg, bv, _)| mv.0 > bg || (mv.0 == bg && v < bv)) {
                    best = Some((mv.0, v, mv.1));
                }
            }
            let Some((_, v, to)) = best else { break };
            let w = g.vwgt[v as usize];
            part[v as usize] = to;
            size[p] -= w;
            size[to as usize] += w;
            members[to as usize].push(v);
        }
        members[p].retain(|&v| part[v as usize] == p as u32);
    }
}

/// Gives each empty part of `0..k` one vertex: the one whose move cuts the least weight to its own part,
/// from a part of two or more, ties to the lower vertex. Under `--spread` every usable chip holds a
/// block, but when the parts have room to spare Mt-KaHyPar, and refinement, may empty one (measured on the
/// 2,176-block ensemble array over 32 chips: 31 used). Never makes a part overfull.
pub fn fill_empty(g: &BlockGraph, part: &mut [u32], k: usize) {
    let mut size = vec![0usize; k];
    for &p in part.iter() {
        size[p as usize] += 1;
    }
    for q in 0..k {
        if size[q] > 0 {
            continue;
        }
        let mut best: Option<(i64, usize)> = None;
        for v in 0..g.n() {
            if size[part[v] as usize] < 2 {
                continue;
            }
            let inside: i64 = g
                .neighbors(v)
                .filter(|&(u, _)| part[u] == part[v])
                .map(|(_, w)| w)
                .sum();
            if best.is_none_or(|(b, _)| inside < b) {
                best = Some((inside, v));
            }
        }
        let Some((_, v)) = best else { return };
        size[part[v] as usize] -= 1;
        part[v] = q as u32;
        size[q] += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::partition::test_graph as graph;

    #[test]
    fn empty_parts_get_the_loosest_vertex() {
        // 0-1 heavy, 1-2 light, all on part 0 of 3: 2 moves first (it loses only the light edge), then
        // 0 (a tie with 1, to the lower id).
        let g = graph(3, &[(0, 1, 5.0), (1, 2, 1.0)]);
        let mut part = vec![0, 0, 0];
        fill_empty(&g, &mut part, 3);
        assert_eq!(part, [2, 0, 1]);
    }

    fn check_refine(g: &BlockGraph, start: &[u32], cap: &[u32], expect_cut: i64) -> Vec<u32> {
        let mut part = start.to_vec();
        let stats = refine(g, &mut part, cap, &FmConfig::default(), &|| false);
        assert_eq!(stats.cut_after, g.cut(&part));
        assert_eq!(stats.cut_after, expect_cut, "{part:?}");
        assert!(stats.cut_after <= stats.cut_before);
        let sizes = g.part_sizes(&part, cap.len() as u32);
        assert!(sizes.iter().zip(cap).all(|(s, c)| s <= c), "{sizes:?}");
        part
    }

    /// Two triangles joined by one light edge, started with one vertex of each on the wrong side.
    fn two_triangles() -> BlockGraph {
        graph(
            6,
            &[
                (0, 1, 5.0),
                (1, 2, 5.0),
                (0, 2, 5.0),
                (3, 4, 5.0),
                (4, 5, 5.0),
                (3, 5, 5.0),
                (2, 3, 1.0),
            ],
        )
    }

    #[test]
    fn finds_the_clusters_with_room_to_move() {
        let g = two_triangles();
        let part = check_refine(&g, &[0, 0, 1, 1, 1, 1], &[4, 4], 1_000_000);
        assert_eq!(part, [0, 0, 0, 1, 1, 1]);
    }

    #[test]
    fn swaps_between_full_parts() {
        // Both parts are full: only a swap (a move into a full part, then one out of it) helps.
        let g = two_triangles();
        let part = check_refine(&g, &[0, 0, 1, 0, 1, 1], &[3, 3], 1_000_000);
        assert_eq!(part, [0, 0, 0, 1, 1, 1]);
    }

    #[test]
    fn never_raises_the_cut() {
        // Already optimal: nothing to gain, nothing changes.
        let g = two_triangles();
        check_refine(&g, &[0, 0, 0, 1, 1, 1], &[3, 3], 1_000_000);
        // A lone edge with both ends forced apart by capacity 1.
        let g = graph(2, &[(0, 1, 2.0)]);
        check_refine(&g, &[0, 1], &[1, 1], 2_000_000);
    }

    #[test]
    fn repair_moves_the_cheapest_blocks_out() {
        // Part 0 holds all six with capacity 3: the light edge is the cheapest to cut.
        let g = two_triangles();
        let mut part = vec![0; 6];
        repair(&g, &mut part, &[3, 3]);
        assert_eq!(g.part_sizes(&part, 2), [3, 3]);
        // The first block out goes anywhere; the next follow it: one triangle moves whole.
        assert_eq!(part, [1, 1, 1, 0, 0, 0]);
        assert_eq!(g.cut(&part), 1_000_000);
    }

    #[test]
    fn repair_uses_the_roomiest_part_for_isolated_blocks() {
        let g = graph(4, &[]);
        let mut part = vec![0, 0, 0, 0];
        repair(&g, &mut part, &[1, 1, 2]);
        assert_eq!(g.part_sizes(&part, 3), [1, 1, 2]);
    }
}
