//! Refinement of the chip assignment on the hops objective, after the mapping onto the chip mesh: spikes
//! cross chip-to-chip links hop by hop, so with the partition mapped, moving a block to a chip nearer
//! the chips it talks to lowers the spikes x hops (the report's `hop_spikes`) even where the inter-chip
//! spikes stay the same. Moves (to a chip with a free core) and swaps (between two full chips) are made
//! when they lower the hop cost and do not raise the inter-chip traffic above where it started, so the
//! inter-chip figure is never given back. Gains are exact in the [`BlockGraph`]'s integer weights; hops
//! are mesh distances (x then y: dimension-order routing's hop count). Deterministic: vertices in id
//! order, ties to the lower chip.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::fm::{members_of, move_vertex, FmConfig};
use crate::partition::BlockGraph;

/// Passes over all vertices at most.
const PASSES: usize = 8;

/// [`refine`] stops after a pass that lowered the hops by less than one part in this many. Measured on
/// `gen layered --blocks 97983` (766 chips, 32 x 24; about 0.2 s a pass on a quiet machine): the first
/// pass gained 0.19%, the second 0.07%, the next four 0.009% together (0.8 s): it now stops after the
/// third.
const PASS_GAIN: i64 = 2_000;

/// Members of a full chip an annealing swap draws at most to find one that fits (here and in
/// [`crate::hyper::anneal`]): at the coarse levels
/// of a full board only clusters of equal weight can swap. Measured on `gen layered --blocks 3910` on a
/// 4 x 8 mesh: one draw 19,192 hop-spikes, eight 18,850.
pub(crate) const SWAP_DRAWS: usize = 8;

/// The mean degree of a coarse level up to which annealing makes its full count of proposals (see
/// `vcycles`): about that of `gen layered`'s coarse levels, where the count was tuned.
const ANNEAL_DEGREE: f64 = 24.0;

/// What a hop refinement did: the hop cost and the cut before and after, in integer weights.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HopStats {
    pub hops_before: i64,
    pub hops_after: i64,
    pub cut_before: i64,
    pub cut_after: i64,
}

/// Chips on an `x`-wide mesh, ids `y * x + x`: the hops between two of them.
fn dist(width: u32, a: u32, b: u32) -> i64 {
    let (ax, ay) = ((a % width) as i64, (a / width) as i64);
    let (bx, by) = ((b % width) as i64, (b / width) as i64);
    (ax - bx).abs() + (ay - by).abs()
}

/// What a chip assignment costs per edge, for [`fm`], [`anneal`] and [`vcycles`]: the hops between the
/// ends' chips on the mesh (`--objective hops`), or 1 for any two chips (the inter-chip cut).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Chips `y * width + x` on a mesh `width` chips wide.
    Mesh { width: u32 },
    /// Every chip one step from every other.
    Cut,
}

impl Metric {
    /// The cost of an edge of weight 1 between chips `a` and `b`.
    pub fn dist(self, a: u32, b: u32) -> i64 {
        match self {
            Metric::Mesh { width } => dist(width, a, b),
            Metric::Cut => i64::from(a != b),
        }
    }

    /// The total cost of `chip`: every edge's weight times [`Metric::dist`].
    pub fn cost(self, g: &BlockGraph, chip: &[u32]) -> i64 {
        match self {
            Metric::Mesh { width } => hop_cost(g, chip, width),
            Metric::Cut => g.cut(chip),
        }
    }

    /// The mesh neighbour of chip `from` in direction `dir` (0 west, 1 east, 2 south, 3 north) among
    /// chips `0..k`, if any; none without a mesh.
    fn step(self, from: u32, dir: u32, k: u32) -> Option<u32> {
        let Metric::Mesh { width } = self else {
            return None;
        };
        let (x, y, height) = (from % width, from / width, k.div_ceil(width));
        let to = match dir {
            0 if x > 0 => from - 1,
            1 if x + 1 < width => from + 1,
            2 if y > 0 => from - width,
            3 if y + 1 < height => from + width,
            _ => return None,
        };
        (to < k).then_some(to)
    }
}

/// The hop cost of a chip assignment: every edge's weight times the hops between its ends' chips.
pub fn hop_cost(g: &BlockGraph, chip: &[u32], width: u32) -> i64 {
    let mut cost = 0;
    for v in 0..g.n() {
        for (u, w) in g.neighbors(v) {
            if u > v {
                cost += w * dist(width, chip[v], chip[u]);
            }
        }
    }
    cost
}

/// Refines `chip` (the chip of each vertex on a mesh `width` chips wide, at most `cap[c]` weight on chip
/// c) in place: see the module docs.
pub fn refine(g: &BlockGraph, chip: &mut [u32], cap: &[u32], width: u32) -> HopStats {
    let n = g.n();
    let mut size = g.part_sizes(chip, cap.len() as u32);
    let hops_before = hop_cost(g, chip, width);
    let cut_before = g.cut(chip);
    let (mut hops, mut cut) = (hops_before, cut_before);
    // Each chip's mesh coordinates, once: the divisions dominated the pricing on large nets.
    let xy: Vec<(i64, i64)> = (0..cap.len() as u32)
        .map(|c| (i64::from(c % width), i64::from(c / width)))
        .collect();
    let hops_between = |a: u32, b: u32| {
        let ((ax, ay), (bx, by)) = (xy[a as usize], xy[b as usize]);
        (ax - bx).abs() + (ay - by).abs()
    };
    // The change in (hops, cut) if v moved to chip `to`, with `skip` (a swap partner) left out.
    let delta = |chip: &[u32], v: usize, to: u32, skip: usize| -> (i64, i64) {
        let from = chip[v];
        let (mut dh, mut dc) = (0, 0);
        for (u, w) in g.neighbors(v) {
            if u == skip {
                continue;
            }
            dh += w * (hops_between(to, chip[u]) - hops_between(from, chip[u]));
            dc += w * (i64::from(chip[u] != to) - i64::from(chip[u] != from));
        }
        (dh, dc)
    };
    let mut targets: Vec<u32> = Vec::new();
    for _ in 0..PASSES {
        let pass_start = hops;
        let mut improved = false;
        for v in 0..n {
            let from = chip[v];
            // A block whose partners all sit on its own chip has no move that lowers the hops (every
            // edge would lengthen) and no swap partner: most blocks, on a large net.
            if g.neighbors(v).all(|(u, _)| chip[u] == from) {
                continue;
            }
            // Candidate chips: those v's neighbours sit on, and the mesh neighbours of v's own chip
            // (a step towards far partners, which keeps the edges crossing but shortens them).
            let (fx, fy) = (from % width, from / width);
            let mesh = [
                (fx > 0).then(|| from - 1),
                (fx + 1 < width).then(|| from + 1),
                (fy > 0).then(|| from - width),
                Some(from + width),
            ];
            targets.clear();
            targets.extend(
                g.neighbors(v)
                    .map(|(u, _)| chip[u])
                    .chain(mesh.into_iter().flatten())
                    .filter(|&c| c != from && (c as usize) < cap.len()),
            );
            targets.sort_unstable();
            targets.dedup();
            let mut best: Option<(i64, i64, u32, Option<usize>)> = None;
            for &to in &targets {
                let w = g.vwgt[v];
                if size[to as usize] + w <= cap[to as usize] {
                    let (dh, dc) = delta(chip, v, to, usize::MAX);
                    if dh < 0
                        && cut + dc <= cut_before
                        && best.is_none_or(|b| (dh, dc) < (b.0, b.1))
                    {
                        best = Some((dh, dc, to, None));
                    }
                    continue;
                }
                // `to` is full: swap with the neighbour of v on `to` that gains most by coming over.
                for (u, _) in g.neighbors(v) {
                    if chip[u] != to || g.vwgt[u] != w {
                        continue;
                    }
                    let (dhv, dcv) = delta(chip, v, to, u);
                    let (dhu, dcu) = delta(chip, u, from, v);
                    // The edge u-v crosses between `from` and `to` before and after the swap: left out.
                    let (dh, dc) = (dhv + dhu, dcv + dcu);
                    if dh < 0
                        && cut + dc <= cut_before
                        && best.is_none_or(|b| (dh, dc) < (b.0, b.1))
                    {
                        best = Some((dh, dc, to, Some(u)));
                    }
                }
            }
            let Some((dh, dc, to, partner)) = best else {
                continue;
            };
            match partner {
                None => {
                    size[from as usize] -= g.vwgt[v];
                    size[to as usize] += g.vwgt[v];
                    chip[v] = to;
                }
                Some(u) => {
                    chip[v] = to;
                    chip[u] = from;
                }
            }
            hops += dh;
            cut += dc;
            improved = true;
        }
        // A pass that gained less than [`PASS_GAIN`] of the hops ends the refinement.
        if !improved || (pass_start - hops) * PASS_GAIN < pass_start {
            break;
        }
    }
    debug_assert_eq!(hops, hop_cost(g, chip, width));
    debug_assert_eq!(cut, g.cut(chip));
    HopStats {
        hops_before,
        hops_after: hops,
        cut_before,
        cut_after: cut,
    }
}

/// The hop gain of moving `v` to chip `to` (hops saved; negative when it costs), with `v`'s neighbour
/// `moved` (if any) counted as already sitting on its new chip: the gain of a swap partner once `v` has
/// moved.
fn hop_gain(
    g: &BlockGraph,
    chip: &[u32],
    metric: Metric,
    v: usize,
    to: u32,
    moved: Option<(usize, u32)>,
) -> i64 {
    let from = chip[v];
    let at = |u: usize| match moved {
        Some((m, at)) if m == u => at,
        _ => chip[u],
    };
    // `Metric::dist` unrolled, the mover's coordinates computed once (this is the annealing's inner
    // loop: a quarter of the default's time on `gen layered --blocks 16000`).
    match metric {
        // dist(from, c) - dist(to, c) = [c == to] - [c == from].
        Metric::Cut => g
            .neighbors(v)
            .map(|(u, w)| {
                let c = at(u);
                w * (i64::from(c == to) - i64::from(c == from))
            })
            .sum(),
        Metric::Mesh { width } => {
            let xy = |c: u32| ((c % width) as i64, (c / width) as i64);
            let ((fx, fy), (tx, ty)) = (xy(from), xy(to));
            g.neighbors(v)
                .map(|(u, w)| {
                    let (cx, cy) = xy(at(u));
                    w * ((fx - cx).abs() + (fy - cy).abs() - (tx - cx).abs() - (ty - cy).abs())
                })
                .sum()
        }
    }
}

/// The chips a move of `v` may aim at: those its neighbours sit on and the mesh neighbours of its own
/// (a step towards far partners, which shortens the edges that keep crossing), usable ones only
/// (`cap > 0`), ascending, without v's own chip.
fn targets(
    g: &BlockGraph,
    chip: &[u32],
    cap: &[u32],
    metric: Metric,
    v: usize,
    out: &mut Vec<u32>,
) {
    let from = chip[v];
    out.clear();
    out.extend(g.neighbors(v).map(|(u, _)| chip[u]));
    out.extend((0..4).filter_map(|dir| metric.step(from, dir, cap.len() as u32)));
    out.retain(|&c| c != from && cap.get(c as usize).is_some_and(|&k| k > 0));
    out.sort_unstable();
    out.dedup();
}

/// The best move of `v` among its [`targets`] that `allowed` accepts: (gain, chip), ties to the lower
/// chip.
fn best_hop_move(
    g: &BlockGraph,
    chip: &[u32],
    cap: &[u32],
    metric: Metric,
    v: usize,
    scratch: &mut Vec<u32>,
    allowed: impl Fn(u32) -> bool,
) -> Option<(i64, u32)> {
    targets(g, chip, cap, metric, v, scratch);
    let mut best: Option<(i64, u32)> = None;
    for &to in scratch.iter() {
        if !allowed(to) {
            continue;
        }
        let gain = hop_gain(g, chip, metric, v, to, None);
        if best.is_none_or(|(bg, _)| gain > bg) {
            best = Some((gain, to));
        }
    }
    best
}

/// The member `u` of chip `to` (not yet moved in this pass) whose move to `v`'s chip gains the most
/// once `v` sits on `to`, among those whose swap with `v` keeps both chips within capacity: (gain, u),
/// ties to the lower id.
#[allow(clippy::too_many_arguments)]
fn best_partner(
    g: &BlockGraph,
    chip: &[u32],
    members: &[u32],
    moved: &[usize],
    pass: usize,
    size: &[u32],
    cap: &[u32],
    metric: Metric,
    v: usize,
    to: u32,
) -> Option<(i64, usize)> {
    let (from, w) = (chip[v], g.vwgt[v]);
    let mut partner: Option<(i64, usize)> = None;
    for &u in members {
        let u = u as usize;
        if moved[u] == pass
            || size[to as usize] + w - g.vwgt[u] > cap[to as usize]
            || size[from as usize] - w + g.vwgt[u] > cap[from as usize]
        {
            continue;
        }
        let gu = hop_gain(g, chip, metric, u, from, Some((v, to)));
        if partner.is_none_or(|(bg, bu)| gu > bg || (gu == bg && u < bu)) {
            partner = Some((gu, u));
        }
    }
    partner
}

/// k-way Fiduccia-Mattheyses refinement of `chip` on the hop cost itself (spikes x mesh hops, the
/// Steiner-tree objective of Mt-KaHyPar's `map` for two-pin nets), where the inter-chip cut may rise:
/// what `--objective hops` minimises. As [`crate::fm::refine`] for the cut: a pass moves boundary
/// vertices best gain first, each at most once, through moves that lose too, and rolls back to its best
/// prefix; a move into a full chip is made as a swap with the member of that chip whose move back gains
/// most, when the pair gains. Targets are the chips a vertex's neighbours sit on and its chip's mesh
/// neighbours; chips with `cap[c] == 0` are never used. Never raises the hop cost; gains are exact in
/// integer weights. Returns the hop cost before and after.
pub fn fm(
    g: &BlockGraph,
    chip: &mut [u32],
    cap: &[u32],
    metric: Metric,
    cfg: &FmConfig,
    expired: &dyn Fn() -> bool,
) -> (i64, i64) {
    let n = g.n();
    let k = cap.len();
    let mut size = g.part_sizes(chip, k as u32);
    let before = metric.cost(g, chip);
    let mut hops = before;
    let (mut members, mut pos) = members_of(chip, k);
    let mut moved = vec![0usize; n];
    let mut version = vec![0u32; n];
    let mut scratch = Vec::new();
    let patience = cfg.min_patience.max(n / 1000);
    let boundary = |chip: &[u32], v: usize| g.neighbors(v).any(|(u, _)| chip[u] != chip[v]);
    for pass in 1..=cfg.max_passes {
        if expired() {
            break;
        }
        let mut heap: BinaryHeap<(i64, Reverse<u32>, u32, u32)> = BinaryHeap::new();
        for (v, &ver) in version.iter().enumerate() {
            if !boundary(chip, v) {
                continue;
            }
            if let Some((gain, to)) = best_hop_move(g, chip, cap, metric, v, &mut scratch, |_| true)
            {
                heap.push((gain, Reverse(v as u32), to, ver));
            }
        }
        let mut log: Vec<(u32, u32)> = Vec::new();
        let (mut sum, mut best_sum, mut best_len) = (0i64, 0i64, 0usize);
        while let Some((gain, Reverse(v), to, ver)) = heap.pop() {
            let v = v as usize;
            if ver != version[v] || moved[v] == pass {
                continue;
            }
            let from = chip[v];
            let w = g.vwgt[v];
            let mut step = vec![(v, to)];
            let mut step_gain = gain;
            if size[to as usize] + w > cap[to as usize] {
                // `to` is full: a swap with the member whose move to `from` gains most once v sits
                // there, if the pair gains; else the same with v's other targets, best first, and a
                // target with room ends the search (v goes back on the heap with that move).
                targets(g, chip, cap, metric, v, &mut scratch);
                let mut order: Vec<(i64, u32)> = scratch
                    .iter()
                    .map(|&t| (hop_gain(g, chip, metric, v, t, None), t))
                    .collect();
                order.sort_by_key(|&(gain, t)| (Reverse(gain), t));
                let mut found = None;
                for (gain_t, t) in order {
                    if gain_t <= 0 && found.is_none() && size[t as usize] + w > cap[t as usize] {
                        // A swap needs the partner to gain more than v loses: rarely; stop here.
                        break;
                    }
                    if size[t as usize] + w <= cap[t as usize] {
                        version[v] += 1;
                        heap.push((gain_t, Reverse(v as u32), t, version[v]));
                        break;
                    }
                    let partner = best_partner(
                        g,
                        chip,
                        &members[t as usize],
                        &moved,
                        pass,
                        &size,
                        cap,
                        metric,
                        v,
                        t,
                    );
                    if let Some((gu, u)) = partner.filter(|&(gu, _)| gain_t + gu > 0) {
                        found = Some((t, gain_t + gu, u));
                        break;
                    }
                }
                let Some((t, pair_gain, u)) = found else {
                    version[v] += 1;
                    continue;
                };
                step = vec![(v, t), (u, from)];
                step_gain = pair_gain;
            }
            for &(x, dest) in &step {
                log.push((x as u32, chip[x]));
                move_vertex(g, chip, &mut size, &mut members, &mut pos, x, dest);
                moved[x] = pass;
            }
            sum += step_gain;
            if sum > best_sum {
                best_sum = sum;
                best_len = log.len();
            }
            if log.len() - best_len > patience || expired() {
                break;
            }
            for &(x, _) in &step {
                for (u, _) in g.neighbors(x) {
                    if moved[u] == pass {
                        continue;
                    }
                    version[u] += 1;
                    if !boundary(chip, u) {
                        continue;
                    }
                    let mv = best_hop_move(g, chip, cap, metric, u, &mut scratch, |_| true);
                    if let Some((gain, to)) = mv {
                        heap.push((gain, Reverse(u as u32), to, version[u]));
                    }
                }
            }
        }
        for &(v, from) in log[best_len..].iter().rev() {
            move_vertex(g, chip, &mut size, &mut members, &mut pos, v as usize, from);
        }
        hops -= best_sum;
        if best_sum == 0 {
            break;
        }
    }
    debug_assert_eq!(hops, metric.cost(g, chip));
    (before, hops)
}

/// V-cycles ([`crate::multilevel::vcycles_by`]) on the hop cost: coarsening within chips keeps the hop
/// cost; at every coarse level [`anneal`] (`anneal_moves` proposals per vertex) moves whole clusters
/// of blocks across the mesh, which reshapes the chips' regions of the network to fit the mesh (the
/// finest level's single-block moves cannot: measured on `gen layered --blocks 3910` on a 4 x 8 mesh,
/// FM alone at every level lowered the hops by 2%, annealing at the coarse levels by 21%), then [`fm`]
/// at every level. Coarsening matches blocks with a common neighbour too where heavy edges find almost
/// nothing ([`crate::multilevel`]'s two-hop matching: on the dense ensemble array every block talks
/// only to other chips, and without it there was no coarse level and no gain at all). Never raises the
/// hop cost. Returns it before and after.
#[allow(clippy::too_many_arguments)]
pub fn vcycles(
    g: &BlockGraph,
    chip: &mut [u32],
    cap: &[u32],
    metric: Metric,
    cycles: usize,
    seed: u64,
    anneal_moves: usize,
    cfg: &FmConfig,
    expired: &(dyn Fn() -> bool + Sync),
) -> (i64, i64) {
    let finest = g.n();
    crate::multilevel::vcycles_by(
        g,
        chip,
        cap,
        cycles,
        seed,
        true,
        &|g, chip| metric.cost(g, chip),
        &mut |graph, chip, _| {
            if graph.n() < finest {
                // Each level's annealing draws its own stream, derived from the seed and the level's size.
                let seed = seed ^ (graph.n() as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93);
                // A proposal costs about a vertex's degree, which grows with coarsening on nets without
                // locality (`gen random`: 72 edges per cluster at 422 clusters, against 18 on `gen
                // layered`): fewer proposals above `ANNEAL_DEGREE` keep the time per level in check.
                let degree = graph.adj.len() as f64 / graph.n() as f64;
                let share = (ANNEAL_DEGREE / degree).min(1.0);
                let moves = (anneal_moves as f64 * graph.n() as f64 * share) as usize;
                anneal(graph, chip, cap, metric, moves, seed, expired);
            }
            fm(graph, chip, cap, metric, cfg, expired);
        },
        expired,
    )
}

/// Simulated annealing of `chip` on the hop cost (as VPR places FPGA blocks on a grid: Betz and Rose
/// 1997, "VPR: A new packing, placement and routing tool for FPGA research"), `moves` proposals in all.
/// A proposal takes a vertex and a chip one of its neighbours sits on, or a mesh neighbour of its own,
/// and moves it there if the chip has room, else swaps it with a random member of that chip of the same
/// weight; uphill proposals pass with probability exp(-delta / T). T starts at a fraction of the mean
/// uphill delta (the start is already a good partition, not a random one) and falls geometrically to
/// nearly zero. The best state met at the end of a temperature step is kept, so the hop cost never
/// rises. Deterministic for a seed. Returns the hop cost before and after.
pub fn anneal(
    g: &BlockGraph,
    chip: &mut [u32],
    cap: &[u32],
    metric: Metric,
    moves: usize,
    seed: u64,
    expired: &dyn Fn() -> bool,
) -> (i64, i64) {
    let n = g.n();
    let k = cap.len();
    let before = metric.cost(g, chip);
    if n < 2 || k < 2 || moves == 0 {
        return (before, before);
    }
    let (members, pos) = members_of(chip, k);
    let mut state = HopMoves {
        g,
        cap,
        metric,
        size: g.part_sizes(chip, k as u32),
        members,
        pos,
    };
    // The starting temperature: a fifth of the mean uphill delta of a sample of proposals.
    let best = schedule(&mut state, chip, before, 0.2, moves, seed, expired);
    debug_assert_eq!(best, metric.cost(g, chip));
    (before, best)
}

/// A proposal of an annealing move set: (rise in cost, vertex, target part, swap partner moving the
/// other way).
pub(crate) type Proposal = (i64, usize, u32, Option<usize>);

/// What [`schedule`] anneals: random proposals with their exact rise in cost, and moving a vertex.
pub(crate) trait MoveSet {
    fn propose(&mut self, part: &mut [u32], rng: &mut rand_chacha::ChaCha8Rng) -> Option<Proposal>;
    /// Moves `v` to part `to`, keeping sizes and member lists.
    fn relocate(&mut self, part: &mut [u32], v: usize, to: u32);
}

/// The annealing schedule shared by [`anneal`] and [`crate::hyper::anneal`]: T starts at `t0_share` of
/// the mean uphill delta of 1,000 sampled proposals and falls geometrically over 100 steps to 1e-4 of
/// that, `moves` proposals in all; uphill ones pass with probability exp(-delta / T); the best state met
/// at the end of a step is kept (`part` is left there). Its random stream is seeded by `seed`. Returns
/// its cost, from `before`, the cost of `part` on entry.
pub(crate) fn schedule(
    set: &mut dyn MoveSet,
    part: &mut [u32],
    before: i64,
    t0_share: f64,
    moves: usize,
    seed: u64,
    expired: &dyn Fn() -> bool,
) -> i64 {
    use rand::{Rng, SeedableRng};
    let rng = &mut rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let (mut up, mut n_up) = (0.0f64, 0usize);
    for _ in 0..1000 {
        if let Some((delta, ..)) = set.propose(part, rng).filter(|p| p.0 > 0) {
            up += delta as f64;
            n_up += 1;
        }
    }
    if n_up == 0 {
        return before;
    }
    let steps = 100;
    let mut t = t0_share * up / n_up as f64;
    let alpha = (1e-4f64).powf(1.0 / steps as f64);
    let mut cost = before;
    let (mut best, mut best_part) = (before, part.to_vec());
    for _ in 0..steps {
        if expired() {
            break;
        }
        for _ in 0..moves / steps {
            let Some((delta, v, to, partner)) = set.propose(part, rng) else {
                continue;
            };
            if delta > 0 && rng.random::<f64>() >= (-(delta as f64) / t).exp() {
                continue;
            }
            let from = part[v];
            set.relocate(part, v, to);
            if let Some(u) = partner {
                set.relocate(part, u, from);
            }
            cost += delta;
        }
        if cost < best {
            best = cost;
            best_part.copy_from_slice(part);
        }
        t *= alpha;
    }
    part.copy_from_slice(&best_part);
    best
}

/// [`anneal`]'s moves: a vertex to a chip one of its neighbours sits on, or (on a mesh) a chip next to
/// its own; into a full chip as a swap with a member that fits both.
struct HopMoves<'a> {
    g: &'a BlockGraph,
    cap: &'a [u32],
    metric: Metric,
    size: Vec<u32>,
    members: Vec<Vec<u32>>,
    pos: Vec<u32>,
}

impl MoveSet for HopMoves<'_> {
    fn propose(&mut self, chip: &mut [u32], rng: &mut rand_chacha::ChaCha8Rng) -> Option<Proposal> {
        use rand::Rng;
        let (g, cap, metric, size) = (self.g, self.cap, self.metric, &self.size);
        let k = cap.len();
        let v = rng.random_range(0..g.n());
        let from = chip[v];
        let deg = g.xadj[v + 1] - g.xadj[v];
        let to = if deg > 0 && (metric == Metric::Cut || rng.random_bool(0.5)) {
            chip[g.adj[g.xadj[v] + rng.random_range(0..deg)] as usize]
        } else {
            metric.step(from, rng.random_range(0..4), k as u32)?
        };
        if to == from || to as usize >= k || cap[to as usize] == 0 {
            return None;
        }
        let w = g.vwgt[v];
        if size[to as usize] + w <= cap[to as usize] {
            return Some((-hop_gain(g, chip, metric, v, to, None), v, to, None));
        }
        // A random member of `to` whose swap fits both chips: a few draws, as at the coarse levels
        // of a full board only clusters of equal weight can swap.
        let list = &self.members[to as usize];
        let fits = |u: usize| {
            let wu = g.vwgt[u];
            size[to as usize] + w - wu <= cap[to as usize]
                && size[from as usize] + wu - w <= cap[from as usize]
        };
        let u = (0..SWAP_DRAWS)
            .map(|_| list[rng.random_range(0..list.len())] as usize)
            .find(|&u| fits(u))?;
        let gain = hop_gain(g, chip, metric, v, to, None)
            + hop_gain(g, chip, metric, u, from, Some((v, to)));
        Some((-gain, v, to, Some(u)))
    }

    fn relocate(&mut self, chip: &mut [u32], v: usize, to: u32) {
        let (size, members, pos) = (&mut self.size, &mut self.members, &mut self.pos);
        move_vertex(self.g, chip, size, members, pos, v, to);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::partition::{random_edges, test_graph as graph};

    #[test]
    fn moves_a_block_next_to_its_partner_without_raising_the_cut() {
        // Chips 0, 1, 2 in a row. Block 0 on chip 0 talks to block 1 on chip 2 (2 hops); chip 1 has room.
        // Moving 0 to chip 1 keeps the cut (the edge still crosses) and saves a hop.
        let g = graph(3, &[(0, 1, 1.0), (1, 2, 5.0)]);
        let mut chip = vec![0, 2, 2];
        let stats = refine(&g, &mut chip, &[2, 2, 2], 3);
        assert_eq!(chip, [1, 2, 2]);
        assert_eq!(stats.hops_before, 2_000_000);
        assert_eq!(stats.hops_after, 1_000_000);
        assert_eq!(stats.cut_after, stats.cut_before);
    }

    #[test]
    fn counts_exactly_and_never_raises_hops_or_cut() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        for case in 0..100 {
            let (width, height) = (rng.random_range(1..4u32), rng.random_range(1..4u32));
            let k = width * height;
            let per = rng.random_range(1..5u32);
            let n = (k * per) as usize
                - rng
                    .random_range(0..2usize)
                    .min(k as usize * per as usize - 1);
            let edges = random_edges(&mut rng, n);
            let g = graph(n, &edges);
            let mut chip: Vec<u32> = (0..n as u32).map(|v| v % k).collect();
            let stats = refine(&g, &mut chip, &vec![per; k as usize], width);
            assert_eq!(stats.hops_after, hop_cost(&g, &chip, width), "case {case}");
            assert_eq!(stats.cut_after, g.cut(&chip), "case {case}");
            assert!(stats.hops_after <= stats.hops_before, "case {case}");
            assert!(stats.cut_after <= stats.cut_before, "case {case}");
            let sizes = g.part_sizes(&chip, k);
            assert!(sizes.iter().all(|&s| s <= per), "case {case}: {sizes:?}");
        }
    }

    /// Random graphs on random meshes with chips of `per` cores, some closed (capacity 0), each vertex
    /// on an open chip: (graph, chips, capacities, width).
    fn random_case(rng: &mut rand_chacha::ChaCha8Rng) -> (BlockGraph, Vec<u32>, Vec<u32>, u32) {
        use rand::Rng;
        let (width, height) = (rng.random_range(1..4u32), rng.random_range(1..4u32));
        let k = (width * height) as usize;
        let per = rng.random_range(1..6u32);
        let mut cap = vec![per; k];
        // Close a chip now and then, as `--objective hops` does with the chips the mapping left free.
        if k > 1 && rng.random_bool(0.5) {
            cap[rng.random_range(0..k)] = 0;
        }
        let open: Vec<u32> = (0..k as u32).filter(|&c| cap[c as usize] > 0).collect();
        let room = open.len() * per as usize;
        let n = room - rng.random_range(0..=room.min(2)).min(room - 1);
        let edges = random_edges(rng, n);
        let chip = (0..n).map(|v| open[v % open.len()]).collect();
        (graph(n, &edges), chip, cap, width)
    }

    fn check_valid(g: &BlockGraph, chip: &[u32], cap: &[u32], case: usize) {
        let sizes = g.part_sizes(chip, cap.len() as u32);
        assert!(
            sizes.iter().zip(cap).all(|(s, c)| s <= c),
            "case {case}: {sizes:?} over {cap:?}"
        );
    }

    #[test]
    fn fm_anneal_and_vcycles_count_exactly_never_raise_the_cost_and_respect_capacity() {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let cfg = FmConfig::default();
        for case in 0..150 {
            let (g, start, cap, width) = random_case(&mut rng);
            for metric in [Metric::Mesh { width }, Metric::Cut] {
                let before = metric.cost(&g, &start);
                let mut chip = start.clone();
                let (b, a) = fm(&g, &mut chip, &cap, metric, &cfg, &|| false);
                assert_eq!((b, a), (before, metric.cost(&g, &chip)), "case {case}");
                assert!(a <= b, "case {case} {metric:?}");
                check_valid(&g, &chip, &cap, case);

                let moves = 50 * g.n();
                let mut annealed = start.clone();
                let (b, a) = anneal(&g, &mut annealed, &cap, metric, moves, case as u64, &|| {
                    false
                });
                assert_eq!((b, a), (before, metric.cost(&g, &annealed)), "case {case}");
                assert!(a <= b, "case {case} {metric:?}");
                check_valid(&g, &annealed, &cap, case);
                let mut again = start.clone();
                anneal(&g, &mut again, &cap, metric, moves, case as u64, &|| false);
                assert_eq!(again, annealed, "case {case}: annealing is deterministic");

                let mut cycled = start.clone();
                let (b, a) = vcycles(&g, &mut cycled, &cap, metric, 2, 1, 50, &cfg, &|| false);
                assert_eq!((b, a), (before, metric.cost(&g, &cycled)), "case {case}");
                assert!(a <= b, "case {case} {metric:?}");
                check_valid(&g, &cycled, &cap, case);
            }
        }
    }

    #[test]
    fn fm_swaps_between_full_chips_and_may_raise_the_cut() {
        // Chips 0, 1, 2 in a row, one core each, all full. Block 0 (chip 0) talks to block 2 (chip 2)
        // with weight 5; block 1 (chip 1) talks to nobody. Swapping 0 and 1 saves 5 hops.
        let g = graph(3, &[(0, 2, 5.0)]);
        let mut chip = vec![0, 1, 2];
        let mesh = |width| Metric::Mesh { width };
        let (before, after) = fm(
            &g,
            &mut chip,
            &[1, 1, 1],
            mesh(3),
            &FmConfig::default(),
            &|| false,
        );
        assert_eq!((before, after), (10_000_000, 5_000_000));
        assert_eq!(chip, [1, 0, 2]);
        // Two pairs on a 1 x 4 row, chips of 2: {0,1} talk heavily, {2,3} too, and 1-2 lightly. From
        // {0,2} {1,3} on chips 0 and 3 (3 hops each way) the hop objective puts the pairs side by side.
        let g = graph(4, &[(0, 1, 9.0), (2, 3, 9.0), (1, 2, 1.0)]);
        let mut chip = vec![0, 3, 0, 3];
        let (before, after) = fm(
            &g,
            &mut chip,
            &[2, 2, 2, 2],
            mesh(4),
            &FmConfig::default(),
            &|| false,
        );
        assert!(after < before);
        assert_eq!(after, hop_cost(&g, &chip, 4));
    }
}
