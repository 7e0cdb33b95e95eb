//! The multicast traffic model ([`TrafficModel::Multicast`](snn_hardware::TrafficModel)) as a hypergraph,
//! and a local search that lowers its cut.
//!
//! When a router replicates a spike at the destination chip, a source block sends one message per other
//! chip its destinations sit on. `snn-report/1`'s `multicast_spikes` is therefore a hypergraph cut (the
//! connectivity, or (lambda - 1), metric of Catalyurek and Aykanat 1999, "Hypergraph-partitioning-based
//! decomposition for parallel sparse-matrix vector multiplication", IEEE TPDS 10(7)), with one net per
//! source block whose pins are its destinations: the net costs, per chip other than its source's, the
//! largest `spikes` to a pin there. [`Nets`] (in the placement crate, which computes the report's figure
//! with it) is that hypergraph over a network's blocks (or, after core packing, over its packed cores,
//! still with one net per original source block, so the cost stays exact); [`HyperGraph`] is the same
//! over a [`BlockGraph`]'s vertices with integer weights, and
//! [`refine`] improves a partition of it by moves and swaps with exact gains.
//!
//! METIS partitions graphs, not hypergraphs: under multicast it partitions the unicast graph (whose cut is
//! an upper bound of the multicast cut) and [`refine`] then works on the real objective.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use snn_placement::Nets;

use crate::hops::{schedule, MoveSet, Proposal, SWAP_DRAWS};
use crate::partition::BlockGraph;

/// [`Nets`] over a [`BlockGraph`]'s vertices, with the graph's integer weight scale (each pin weighs at
/// least 1, as each edge does), and each vertex's incident nets.
#[derive(Clone, Debug, PartialEq)]
pub struct HyperGraph {
    src: Vec<u32>,
    xpins: Vec<usize>,
    pins: Vec<u32>,
    w: Vec<i64>,
    /// Nets vertex `v` is the source or a pin of: `inc[xinc[v]..xinc[v + 1]]`, ascending, distinct.
    xinc: Vec<usize>,
    inc: Vec<u32>,
}

impl HyperGraph {
    /// `nets` over the blocks of the network `g` was built from.
    pub fn new(g: &BlockGraph, nets: &Nets, n_blocks: usize) -> HyperGraph {
        let mut local = vec![u32::MAX; n_blocks];
        for (v, b) in g.blocks.iter().enumerate() {
            local[b.idx()] = v as u32;
        }
        let w = nets
            .spikes
            .iter()
            .map(|&s| ((s * g.scale).round() as i64).max(1))
            .collect();
        let src: Vec<u32> = nets.src.iter().map(|b| local[b.idx()]).collect();
        let pins: Vec<u32> = nets.pins.iter().map(|b| local[b.idx()]).collect();
        HyperGraph::with_nets(g.n(), src, nets.xpins.clone(), pins, w)
    }

    /// The nets (`src`, pins `pins[xpins[i]..xpins[i + 1]]` weighing `w`) over `n` vertices, with each
    /// vertex's incident nets.
    fn with_nets(
        n: usize,
        src: Vec<u32>,
        xpins: Vec<usize>,
        pins: Vec<u32>,
        w: Vec<i64>,
    ) -> HyperGraph {
        let mut lists: Vec<Vec<u32>> = vec![Vec::new(); n];
        for (net, &s) in src.iter().enumerate() {
            lists[s as usize].push(net as u32);
            for &p in &pins[xpins[net]..xpins[net + 1]] {
                lists[p as usize].push(net as u32);
            }
        }
        let mut xinc = Vec::with_capacity(n + 1);
        let mut inc = Vec::new();
        xinc.push(0);
        for mut l in lists {
            l.sort_unstable();
            l.dedup();
            inc.extend(l);
            xinc.push(inc.len());
        }
        HyperGraph {
            src,
            xpins,
            pins,
            w,
            xinc,
            inc,
        }
    }

    /// The hypergraph over the clusters of `cluster` (vertex `v` in cluster `cluster[v]`, clusters
    /// `0..n_clusters`), as [`BlockGraph::contract`] does for the graph: every net keeps its source's
    /// identity (two sources in one cluster still send their own messages); pins in one cluster become
    /// one pin with the largest weight among them; pins in the source's cluster disappear. For clusters
    /// within parts the multicast cut of every partition is unchanged (a net costs, per part other than
    /// its source's, the largest weight there).
    pub fn contract(&self, cluster: &[u32], n_clusters: usize) -> HyperGraph {
        let mut src = Vec::with_capacity(self.src.len());
        let mut xpins = vec![0];
        let (mut pins, mut w) = (Vec::new(), Vec::new());
        // The position of each cluster among the current net's pins (u32::MAX: none yet).
        let mut at = vec![u32::MAX; n_clusters];
        for n in 0..self.src.len() {
            let s = cluster[self.src[n] as usize];
            let start = pins.len();
            for i in self.xpins[n]..self.xpins[n + 1] {
                let c = cluster[self.pins[i] as usize];
                if c == s {
                    continue;
                }
                match at[c as usize] {
                    u32::MAX => {
                        at[c as usize] = pins.len() as u32;
                        pins.push(c);
                        w.push(self.w[i]);
                    }
                    j => w[j as usize] = w[j as usize].max(self.w[i]),
                }
            }
            for &c in &pins[start..] {
                at[c as usize] = u32::MAX;
            }
            src.push(s);
            xpins.push(pins.len());
        }
        HyperGraph::with_nets(n_clusters, src, xpins, pins, w)
    }

    /// Appends up to [`CO_PINS`] other pins of each net `v` is a pin of: blocks that gain by sharing a
    /// chip with `v` though no edge joins them (they hear the same source).
    fn co_pins(&self, v: usize, out: &mut Vec<usize>) {
        for &n in self.incident(v) {
            let n = n as usize;
            if self.src[n] as usize == v {
                continue;
            }
            let pins = &self.pins[self.xpins[n]..self.xpins[n + 1]];
            out.extend(
                pins.iter()
                    .map(|&p| p as usize)
                    .filter(|&p| p != v)
                    .take(CO_PINS),
            );
        }
    }

    /// The drop in the cut (negative: a rise) if `v` alone moved to each of `targets`, into `gains`, in
    /// one scan of `v`'s nets. `best` is zero-filled scratch of one entry per part (left zero-filled).
    fn move_gains(
        &self,
        part: &[u32],
        v: usize,
        targets: &[u32],
        gains: &mut Vec<i64>,
        best: &mut [i64],
        touched: &mut Vec<u32>,
    ) {
        let from = part[v];
        gains.clear();
        gains.resize(targets.len(), 0);
        for &n in self.incident(v) {
            let n = n as usize;
            let src = self.src[n] as usize;
            // Each part's largest pin weight, v left out; v's own weight and the largest of the others
            // on v's part.
            let (mut wv, mut others_on_from) = (0, 0);
            for i in self.xpins[n]..self.xpins[n + 1] {
                let u = self.pins[i] as usize;
                if u == v {
                    wv = self.w[i];
                    continue;
                }
                let p = part[u];
                if p == from {
                    others_on_from = others_on_from.max(self.w[i]);
                }
                if best[p as usize] == 0 {
                    touched.push(p);
                }
                best[p as usize] = best[p as usize].max(self.w[i]);
            }
            if src == v {
                // The source moves: its pins on `from` start to count, those on the target stop.
                for (g, &t) in gains.iter_mut().zip(targets) {
                    *g += best[t as usize] - best[from as usize];
                }
            } else {
                let home = part[src];
                let leave = if from != home {
                    wv.max(others_on_from) - others_on_from
                } else {
                    0
                };
                for (g, &t) in gains.iter_mut().zip(targets) {
                    let b = best[t as usize];
                    let enter = if t != home { wv.max(b) - b } else { 0 };
                    *g += leave - enter;
                }
            }
            for &p in touched.iter() {
                best[p as usize] = 0;
            }
            touched.clear();
        }
    }

    fn incident(&self, v: usize) -> &[u32] {
        &self.inc[self.xinc[v]..self.xinc[v + 1]]
    }

    /// The integer cost of net `n` under `part`; `best` is zero-filled scratch of one entry per part.
    fn net_cost(&self, n: usize, part: &[u32], best: &mut [i64], touched: &mut Vec<u32>) -> i64 {
        let home = part[self.src[n] as usize];
        for i in self.xpins[n]..self.xpins[n + 1] {
            let p = part[self.pins[i] as usize];
            if p != home {
                if best[p as usize] == 0 {
                    touched.push(p);
                }
                best[p as usize] = best[p as usize].max(self.w[i]);
            }
        }
        let mut sum = 0;
        for &p in touched.iter() {
            sum += best[p as usize];
            best[p as usize] = 0;
        }
        touched.clear();
        sum
    }

    /// The nets of a flow re-split of parts `a` and `b` ([`crate::flow`]): the part of the multicast cut
    /// that depends on which of `a` and `b` the vertices of `region` go to, as `(weight, nodes)` nets
    /// whose weight is paid when their nodes are not all on one side (the cut-net metric). A vertex of
    /// the region is its index there (`local`), a fixed vertex of `a` the node `s`, of `b` the node `t`.
    ///
    /// A net costs, per part other than its source's, the largest pin weight there. With the source in
    /// `a` or `b`, its cost on `a` and `b` is the largest weight on the side opposite the source, which is
    /// a sum of nested nets: for each distinct pin weight `w_j` (descending, `w_{m+1} = 0`), the source and
    /// the pins of weight at least `w_j`, weighing `w_j - w_{j+1}`. With the source elsewhere, its cost
    /// is the largest weight on `a` plus that on `b`: a constant plus the same nested nets without the
    /// source. Nets left on one node, or holding both `s` and `t`, cost the same on every split: left
    /// out. Only nets with a vertex in the region are listed, each once, in id order.
    pub(crate) fn pair_nets(
        &self,
        part: &[u32],
        region: &[u32],
        local: &dyn Fn(u32) -> Option<u32>,
        (a, b): (u32, u32),
        (s, t): (u32, u32),
    ) -> Vec<(i64, Vec<u32>)> {
        let mut ids: Vec<u32> = region
            .iter()
            .flat_map(|&v| self.incident(v as usize).iter().copied())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let node = |v: u32| local(v).unwrap_or(if part[v as usize] == a { s } else { t });
        let mut out = Vec::new();
        let mut pins: Vec<(i64, u32)> = Vec::new();
        for n in ids {
            let n = n as usize;
            let src = self.src[n];
            pins.clear();
            pins.extend(
                (self.xpins[n]..self.xpins[n + 1])
                    .filter(|&i| matches!(part[self.pins[i] as usize], p if p == a || p == b))
                    .map(|i| (self.w[i], node(self.pins[i]))),
            );
            // Heaviest first; ties by node, so each prefix is one set of nodes.
            pins.sort_unstable_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
            let home = part[src as usize];
            let mut nodes: Vec<u32> = Vec::new();
            if home == a || home == b {
                nodes.push(node(src));
            }
            let mut i = 0;
            while i < pins.len() {
                let w = pins[i].0;
                while i < pins.len() && pins[i].0 == w {
                    nodes.push(pins[i].1);
                    i += 1;
                }
                let below = pins.get(i).map_or(0, |p| p.0);
                let mut set = nodes.clone();
                set.sort_unstable();
                set.dedup();
                let both = set.contains(&s) && set.contains(&t);
                if set.len() >= 2 && !both {
                    out.push((w - below, set));
                }
            }
        }
        out
    }

    /// The multicast cut of `part` in integer units.
    pub fn cut(&self, part: &[u32], k: usize) -> i64 {
        let mut best = vec![0; k];
        let mut touched = Vec::new();
        (0..self.src.len())
            .map(|n| self.net_cost(n, part, &mut best, &mut touched))
            .sum()
    }
}

/// Scratch for gain evaluation: which nets a move touches, and the per-part maxima of one net.
struct Eval {
    best: Vec<i64>,
    touched: Vec<u32>,
    /// Invariant: `stamp[n] == round` exactly for the nets in `nets`.
    stamp: Vec<u32>,
    round: u32,
    nets: Vec<u32>,
    /// The parts of the moved vertices while `gain` evaluates a move (kept to reuse its allocation).
    old: Vec<u32>,
}

impl Eval {
    fn new(h: &HyperGraph, k: usize) -> Eval {
        Eval {
            best: vec![0; k],
            touched: Vec::new(),
            stamp: vec![0; h.src.len()],
            round: 0,
            nets: Vec::new(),
            old: Vec::new(),
        }
    }

    /// Collects the nets incident to the vertices `vs`, each once.
    fn collect(&mut self, h: &HyperGraph, vs: impl Iterator<Item = usize>) {
        self.round = self.round.wrapping_add(1);
        if self.round == 0 {
            self.stamp.iter_mut().for_each(|s| *s = u32::MAX);
            self.round = 1;
        }
        self.nets.clear();
        for v in vs {
            for &n in h.incident(v) {
                if self.stamp[n as usize] != self.round {
                    self.stamp[n as usize] = self.round;
                    self.nets.push(n);
                }
            }
        }
    }

    fn cost(&mut self, h: &HyperGraph, part: &[u32]) -> i64 {
        let mut sum = 0;
        for i in 0..self.nets.len() {
            let n = self.nets[i] as usize;
            sum += h.net_cost(n, part, &mut self.best, &mut self.touched);
        }
        sum
    }

    /// How much the cut drops when each `(v, to)` of `moves` is made (negative: it rises). `part` is
    /// left as it was.
    fn gain(&mut self, h: &HyperGraph, part: &mut [u32], moves: &[(usize, u32)]) -> i64 {
        self.collect(h, moves.iter().map(|m| m.0));
        let before = self.cost(h, part);
        self.old.clear();
        self.old.extend(moves.iter().map(|&(v, _)| part[v]));
        for &(v, to) in moves {
            part[v] = to;
        }
        let after = self.cost(h, part);
        for (&(v, _), &p) in moves.iter().zip(&self.old) {
            part[v] = p;
        }
        before - after
    }
}

/// The vertices of each part, in a list that supports moving a vertex in O(1).
struct Members {
    lists: Vec<Vec<usize>>,
    /// Invariant: `lists[part[v]][pos[v]] == v`.
    pos: Vec<usize>,
}

impl Members {
    fn new(part: &[u32], k: usize) -> Members {
        let mut lists = vec![Vec::new(); k];
        let mut pos = vec![0; part.len()];
        for (v, &p) in part.iter().enumerate() {
            pos[v] = lists[p as usize].len();
            lists[p as usize].push(v);
        }
        Members { lists, pos }
    }

    fn of(&self, p: u32) -> &[usize] {
        &self.lists[p as usize]
    }

    fn relocate(&mut self, v: usize, from: u32, to: u32) {
        let list = &mut self.lists[from as usize];
        let i = self.pos[v];
        list.swap_remove(i);
        if let Some(&moved) = list.get(i) {
            self.pos[moved] = i;
        }
        self.pos[v] = self.lists[to as usize].len();
        self.lists[to as usize].push(v);
    }
}

/// What [`refine`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HyperStats {
    pub passes: usize,
    pub moves: usize,
    pub cut_before: i64,
    pub cut_after: i64,
}

/// Passes of [`refine`] the allocators run (it usually stops earlier, at a pass without improvement).
pub const HYPER_PASSES: usize = 8;

/// How many other pins of one net [`HyperGraph::co_pins`] offers.
const CO_PINS: usize = 32;

/// How many of a vertex's neighbours in a full part are tried as swap partners.
const SWAP_CANDIDATES: usize = 8;

/// How many full parts (those the vertex gains most by joining) are tried for swaps.
const SWAP_TARGETS: usize = 2;

/// Lowers the multicast cut of `part` (one part per vertex of `g`, part sizes within `cap`) by local
/// search: passes over the vertices in a seeded random order, each moved to the neighbouring part (of
/// its graph neighbours and of the blocks that hear the same sources) where the cut drops most, or,
/// when the parts it gains most by joining are full, swapped with a block there (v's neighbours first)
/// when the pair gains. Every gain is exact: move gains from one scan of the vertex's nets, swap gains
/// by re-evaluating the nets of both. Stops after `max_passes`, a pass without
/// improvement, or when `expired`. Never raises the cut; capacities hold after every step.
pub fn refine(
    g: &BlockGraph,
    h: &HyperGraph,
    part: &mut [u32],
    cap: &[u32],
    seed: u64,
    max_passes: usize,
    expired: &dyn Fn() -> bool,
) -> HyperStats {
    let k = cap.len();
    let mut sizes = g.part_sizes(part, k as u32);
    let mut eval = Eval::new(h, k);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let before = h.cut(part, k);
    let mut stats = HyperStats {
        cut_before: before,
        cut_after: before,
        ..HyperStats::default()
    };
    let mut order: Vec<usize> = (0..g.n()).collect();
    let mut targets: Vec<u32> = Vec::new();
    let mut near: Vec<usize> = Vec::new();
    let mut members = Members::new(part, k);
    let (mut gains, mut scratch, mut touched) = (Vec::new(), vec![0i64; k], Vec::new());
    for _ in 0..max_passes {
        stats.passes += 1;
        order.shuffle(&mut rng);
        let mut gained = 0;
        for &v in &order {
            if expired() {
                break;
            }
            let from = part[v];
            near.clear();
            near.extend(g.neighbors(v).map(|(u, _)| u));
            h.co_pins(v, &mut near);
            targets.clear();
            targets.extend(near.iter().map(|&u| part[u]).filter(|&p| p != from));
            targets.sort_unstable();
            targets.dedup();
            // Best step: (gain, v's target, swap partner). Moves into parts with room first, from
            // one scan of v's nets.
            h.move_gains(part, v, &targets, &mut gains, &mut scratch, &mut touched);
            let wv = g.vwgt[v];
            let mut best: (i64, u32, Option<usize>) = (0, from, None);
            let mut full: Vec<(i64, u32)> = Vec::new();
            for (&to, &gain) in targets.iter().zip(&gains) {
                if sizes[to as usize] + wv <= cap[to as usize] {
                    if gain > best.0 {
                        best = (gain, to, None);
                    }
                } else if gain > 0 {
                    full.push((gain, to));
                }
            }
            // Then swaps into the full parts v would gain most by joining, each gain exact.
            full.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            for &(_, to) in full.iter().take(SWAP_TARGETS) {
                // v's neighbours there first, then the part's other members in list order.
                let mut partners: Vec<usize> =
                    near.iter().copied().filter(|&u| part[u] == to).collect();
                partners.sort_unstable();
                partners.dedup();
                partners.truncate(SWAP_CANDIDATES);
                for &u in members.of(to) {
                    if partners.len() >= SWAP_CANDIDATES {
                        break;
                    }
                    if !partners.contains(&u) {
                        partners.push(u);
                    }
                }
                partners.retain(|&u| {
                    let wu = g.vwgt[u];
                    sizes[to as usize] - wu + wv <= cap[to as usize]
                        && sizes[from as usize] - wv + wu <= cap[from as usize]
                });
                for u in partners {
                    let gain = eval.gain(h, part, &[(v, to), (u, from)]);
                    if gain > best.0 {
                        best = (gain, to, Some(u));
                    }
                }
            }
            if best.0 > 0 {
                let (gain, to, partner) = best;
                part[v] = to;
                members.relocate(v, from, to);
                sizes[from as usize] -= g.vwgt[v];
                sizes[to as usize] += g.vwgt[v];
                if let Some(u) = partner {
                    part[u] = from;
                    members.relocate(u, to, from);
                    sizes[to as usize] -= g.vwgt[u];
                    sizes[from as usize] += g.vwgt[u];
                }
                gained += gain;
                stats.moves += 1;
            }
        }
        stats.cut_after -= gained;
        if gained == 0 || expired() {
            break;
        }
    }
    debug_assert_eq!(stats.cut_after, h.cut(part, k));
    stats
}

/// [`anneal`]'s starting temperature as a share of the mean uphill delta of a sample of proposals.
/// Measured on the 25^3 grid (123 chips; `portfolio`'s V-cycles allowed there for the measurement),
/// six V-cycles: 0.003 gave 12,582 multicast spikes, 0.01 12,549, 0.03 12,540, 0.1 12,591 (the start:
/// 12,656).
const ANNEAL_T0: f64 = 0.03;

/// [`anneal`]'s moves: a vertex to the part of a random graph neighbour or co-pin (a block that hears
/// the same source); into a full part as a swap with one of its members that fits both parts.
struct CutMoves<'a> {
    g: &'a BlockGraph,
    h: &'a HyperGraph,
    cap: &'a [u32],
    size: Vec<u32>,
    members: Members,
    eval: Eval,
    co: Vec<usize>,
}

impl MoveSet for CutMoves<'_> {
    fn propose(&mut self, part: &mut [u32], rng: &mut ChaCha8Rng) -> Option<Proposal> {
        use rand::Rng;
        let (g, h, cap, size) = (self.g, self.h, self.cap, &self.size);
        let v = rng.random_range(0..g.n());
        let from = part[v];
        let deg = g.xadj[v + 1] - g.xadj[v];
        let to = if deg > 0 && rng.random_bool(0.5) {
            part[g.adj[g.xadj[v] + rng.random_range(0..deg)] as usize]
        } else {
            self.co.clear();
            h.co_pins(v, &mut self.co);
            if self.co.is_empty() {
                return None;
            }
            part[self.co[rng.random_range(0..self.co.len())]]
        };
        if to == from || cap[to as usize] == 0 {
            return None;
        }
        let w = g.vwgt[v];
        if size[to as usize] + w <= cap[to as usize] {
            return Some((-self.eval.gain(h, part, &[(v, to)]), v, to, None));
        }
        let list = self.members.of(to);
        let fits = |u: usize| {
            let wu = g.vwgt[u];
            size[to as usize] + w - wu <= cap[to as usize]
                && size[from as usize] + wu - w <= cap[from as usize]
        };
        let u = (0..SWAP_DRAWS)
            .map(|_| list[rng.random_range(0..list.len())])
            .find(|&u| fits(u))?;
        Some((
            -self.eval.gain(h, part, &[(v, to), (u, from)]),
            v,
            to,
            Some(u),
        ))
    }

    fn relocate(&mut self, part: &mut [u32], v: usize, to: u32) {
        let from = part[v];
        self.members.relocate(v, from, to);
        part[v] = to;
        self.size[from as usize] -= self.g.vwgt[v];
        self.size[to as usize] += self.g.vwgt[v];
    }
}

/// Simulated annealing of the multicast cut of `part` (at most `cap[p]` weight in part `p`), `moves`
/// proposals in all, on the schedule of [`crate::hops::anneal`] ([`schedule`]) from `ANNEAL_T0` of the
/// mean uphill delta; the best state is kept, so the cut never rises. Gains are exact (`Eval::gain`).
/// Deterministic for a seed. Returns the cut before and after. Meant for the coarse levels of V-cycles
/// (see `portfolio`), where a proposal moves a cluster.
pub fn anneal(
    g: &BlockGraph,
    h: &HyperGraph,
    part: &mut [u32],
    cap: &[u32],
    moves: usize,
    seed: u64,
    expired: &dyn Fn() -> bool,
) -> (i64, i64) {
    let n = g.n();
    let k = cap.len();
    let before = h.cut(part, k);
    if n < 2 || k < 2 || moves == 0 {
        return (before, before);
    }
    let mut set = CutMoves {
        g,
        h,
        cap,
        size: g.part_sizes(part, k as u32),
        members: Members::new(part, k),
        eval: Eval::new(h, k),
        co: Vec::new(),
    };
    let best = schedule(&mut set, part, before, ANNEAL_T0, moves, seed, expired);
    debug_assert_eq!(best, h.cut(part, k));
    (before, best)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use snn_graph::{Adjacency, Block, BlockId, Edge, Network};

    /// A network of `n` one-compartment blocks (those in `host` on the host) with `edges` (src, dst,
    /// spikes).
    pub(crate) fn net(n: u32, edges: &[(u32, u32, f64)], host: &[u32]) -> Network {
        let blocks = (0..n)
            .map(|b| {
                let block = Block::new(format!("b{b}"), 1);
                if host.contains(&b) {
                    block.on_host()
                } else {
                    block
                }
            })
            .collect();
        let edges = edges
            .iter()
            .map(|&(s, d, w)| Edge::new(BlockId(s), BlockId(d), w))
            .collect();
        Network::new("t", blocks, edges).unwrap()
    }

    /// A source on a chip of its own sends to two blocks on two other chips: gathering them on one chip
    /// halves its multicast traffic (the unicast cut stays the same), though no edge joins them.
    #[test]
    fn refine_gathers_the_destinations_of_a_source() {
        let n = net(3, &[(0, 1, 1.0), (0, 2, 1.0)], &[]);
        let g = BlockGraph::new(&n, &Adjacency::new(&n));
        let h = HyperGraph::new(&g, &Nets::new(&n), n.n_blocks());
        let mut part = vec![0, 1, 2];
        let cap = [1, 2, 2];
        let stats = refine(&g, &h, &mut part, &cap, 1, 10, &|| false);
        let one = g.scale as i64;
        assert_eq!((stats.cut_before, stats.cut_after), (2 * one, one));
        assert_eq!(h.cut(&part, 3), one);
        assert_eq!(part[0], 0);
        assert_eq!(part[1], part[2]);
        assert!(g.part_sizes(&part, 3).iter().zip(cap).all(|(s, c)| *s <= c));
    }

    /// Random nets with uneven spikes over `n` blocks: (network, graph, hypergraph).
    pub(crate) fn random_hyper(rng: &mut ChaCha8Rng, n: u32) -> (Network, BlockGraph, HyperGraph) {
        use rand::Rng;
        let edges: Vec<(u32, u32, f64)> = (0..rng.random_range(1..4 * n))
            .map(|_| {
                (
                    rng.random_range(0..n),
                    rng.random_range(0..n),
                    rng.random_range(1..5) as f64 * 0.5,
                )
            })
            .filter(|&(s, d, _)| s != d)
            .collect();
        let network = net(n, &edges, &[]);
        let g = BlockGraph::new(&network, &Adjacency::new(&network));
        let h = HyperGraph::new(&g, &Nets::new(&network), network.n_blocks());
        (network, g, h)
    }

    /// Contracting clusters within parts keeps the multicast cut of the partition, and of every
    /// partition of the clusters (projected back onto the blocks).
    #[test]
    fn contraction_within_parts_keeps_the_multicast_cut() {
        use rand::Rng;
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for case in 0..200 {
            let n = rng.random_range(2..16u32);
            let k = rng.random_range(1..4u32);
            let (_, _, h) = random_hyper(&mut rng, n);
            let part: Vec<u32> = (0..n).map(|_| rng.random_range(0..k)).collect();
            // Clusters: each block joins the cluster of an earlier block of its part, or opens one.
            let mut cluster = vec![0u32; n as usize];
            let mut n_clusters = 0;
            for v in 0..n as usize {
                let earlier: Vec<usize> = (0..v).filter(|&u| part[u] == part[v]).collect();
                cluster[v] = if !earlier.is_empty() && rng.random_bool(0.5) {
                    cluster[earlier[rng.random_range(0..earlier.len())]]
                } else {
                    n_clusters += 1;
                    n_clusters - 1
                };
            }
            let coarse = h.contract(&cluster, n_clusters as usize);
            let mut coarse_part = vec![0; n_clusters as usize];
            for v in 0..n as usize {
                coarse_part[cluster[v] as usize] = part[v];
            }
            assert_eq!(
                coarse.cut(&coarse_part, k as usize),
                h.cut(&part, k as usize),
                "case {case}"
            );
            let other: Vec<u32> = (0..n_clusters).map(|_| rng.random_range(0..k)).collect();
            let projected: Vec<u32> = cluster.iter().map(|&c| other[c as usize]).collect();
            assert_eq!(
                coarse.cut(&other, k as usize),
                h.cut(&projected, k as usize),
                "case {case}"
            );
        }
    }

    /// Annealing never raises the multicast cut, returns it exactly, keeps the capacities (at zero slack
    /// too, where only swaps move) and gives the same result for the same seed.
    #[test]
    fn anneal_never_raises_the_cut_and_is_deterministic() {
        use rand::Rng;
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let mut lowered = 0;
        for case in 0..100 {
            let k = rng.random_range(2..5u32);
            let per = rng.random_range(1..6u32);
            let n = k * per;
            let (_, g, h) = random_hyper(&mut rng, n);
            let cap = vec![per + rng.random_range(0..2u32); k as usize];
            let start: Vec<u32> = (0..n).map(|v| v % k).collect();
            let mut part = start.clone();
            let (before, after) =
                anneal(&g, &h, &mut part, &cap, 200 * n as usize, case, &|| false);
            assert_eq!(before, h.cut(&start, k as usize), "case {case}");
            assert_eq!(after, h.cut(&part, k as usize), "case {case}");
            assert!(after <= before, "case {case}");
            let sizes = g.part_sizes(&part, k);
            assert!(
                sizes.iter().zip(&cap).all(|(s, c)| s <= c),
                "case {case}: {sizes:?}"
            );
            let mut again = start.clone();
            anneal(&g, &h, &mut again, &cap, 200 * n as usize, case, &|| false);
            assert_eq!(again, part, "case {case}");
            lowered += usize::from(after < before);
        }
        assert!(
            lowered > 30,
            "annealing lowered the cut in only {lowered} cases"
        );
    }

    proptest::proptest! {
        /// Over any two splits of parts 0 and 1, the nets of a re-split change by exactly as much as the
        /// multicast cut: vertices of the region free, the others of parts 0 and 1 fixed as terminals,
        /// part 2 untouched; uneven spikes, so pins of one net weigh differently.
        #[test]
        fn pair_nets_price_splits_exactly(
            edges in proptest::collection::vec((0u32..10, 0u32..10, 1u8..6), 1..40),
            part in proptest::collection::vec(0u32..3, 10),
            free in proptest::collection::vec(proptest::bool::ANY, 10),
            sides in proptest::collection::vec(proptest::collection::vec(proptest::bool::ANY, 10), 2),
        ) {
            let edges: Vec<(u32, u32, f64)> =
                edges.iter().map(|&(s, d, w)| (s, d, w as f64 * 0.5)).collect();
            let n = net(10, &edges, &[]);
            let g = BlockGraph::new(&n, &Adjacency::new(&n));
            let h = HyperGraph::new(&g, &Nets::new(&n), n.n_blocks());
            let region: Vec<u32> = (0..10u32).filter(|&v| part[v as usize] < 2 && free[v as usize]).collect();
            let local = |v: u32| region.iter().position(|&r| r == v).map(|i| i as u32);
            let (s, t) = (region.len() as u32, region.len() as u32 + 1);
            let nets = h.pair_nets(&part, &region, &local, (0, 1), (s, t));
            let price = |side: &[bool]| -> (i64, i64) {
                let mut p = part.clone();
                for &v in &region {
                    p[v as usize] = if side[v as usize] { 0 } else { 1 };
                }
                let node_side = |x: u32| if x == s { true } else if x == t { false } else { side[region[x as usize] as usize] };
                let split: i64 = nets
                    .iter()
                    .filter(|(_, nodes)| nodes.iter().any(|&x| node_side(x) != node_side(nodes[0])))
                    .map(|(w, _)| w)
                    .sum();
                (h.cut(&p, 3), split)
            };
            let (cut0, nets0) = price(&sides[0]);
            let (cut1, nets1) = price(&sides[1]);
            proptest::prop_assert_eq!(cut1 - cut0, nets1 - nets0);
            proptest::prop_assert!(nets.iter().all(|(w, nodes)| *w > 0 && nodes.len() >= 2));
        }

        /// The one-scan move gains equal the difference of two full evaluations, for every vertex and
        /// every part, on random nets with parallel edges and uneven spikes.
        #[test]
        fn move_gains_are_exact(
            edges in proptest::collection::vec((0u32..12, 0u32..12, 0u8..6), 1..40),
            part in proptest::collection::vec(0u32..4, 12),
        ) {
            let edges: Vec<(u32, u32, f64)> =
                edges.iter().map(|&(s, d, w)| (s, d, w as f64 * 0.5)).collect();
            let n = net(12, &edges, &[]);
            let g = BlockGraph::new(&n, &Adjacency::new(&n));
            let h = HyperGraph::new(&g, &Nets::new(&n), n.n_blocks());
            let mut part = part;
            let targets: Vec<u32> = (0..4).collect();
            let (mut gains, mut best, mut touched) = (Vec::new(), vec![0; 4], Vec::new());
            let mut eval = Eval::new(&h, 4);
            for v in 0..12 {
                h.move_gains(&part, v, &targets, &mut gains, &mut best, &mut touched);
                for &t in &targets {
                    let exact = eval.gain(&h, &mut part, &[(v, t)]);
                    proptest::prop_assert_eq!(gains[t as usize], exact, "v {} to {}", v, t);
                }
                proptest::prop_assert!(best.iter().all(|&b| b == 0));
            }
        }
    }

    /// Two full chips: a swap is the only way to gather the destinations.
    #[test]
    fn refine_swaps_between_full_parts() {
        // 0 sends to 1 and 2; 3 sends to 4 and 5. Start: {0, 3}, {1, 4}, {2, 5}, chips of 2.
        let n = net(
            6,
            &[(0, 1, 1.0), (0, 2, 1.0), (3, 4, 1.0), (3, 5, 1.0)],
            &[],
        );
        let g = BlockGraph::new(&n, &Adjacency::new(&n));
        let h = HyperGraph::new(&g, &Nets::new(&n), n.n_blocks());
        let mut part = vec![0, 1, 2, 0, 1, 2];
        let stats = refine(&g, &h, &mut part, &[2, 2, 2], 3, 10, &|| false);
        let one = g.scale as i64;
        assert_eq!((stats.cut_before, stats.cut_after), (4 * one, 2 * one));
        assert_eq!(g.part_sizes(&part, 3), [2, 2, 2]);
    }
}
