//! `ilp`: an integer linear program of the chip assignment, built with `good_lp` and solved by `microlp`
//! (pure Rust, branch and bound), as an allocator ([`Ilp`]: the exact model for the whole network, with
//! a proven optimum or, at the time limit, the best placement found and the solver's lower bound) and as
//! a refiner ([`IlpRefine`]: large-neighbourhood search, Shaw 1998, "Using constraint programming and
//! local search methods to solve vehicle routing problems", CP'98: a window of blocks on a few chips that
//! exchange much traffic is solved exactly with everything else fixed, and kept when it improves).
//!
//! The model, for the free blocks `V` (all on-chip blocks, or a window) and candidate chips `C`:
//!
//! - `x[v][c]` binary, block `v` on chip `c`; `sum_c x[v][c] = 1` for every `v`;
//! - capacity: `sum_v x[v][c] <= cores_per_chip - (fixed blocks on c)` (one block per core);
//! - `interchip` (spikes on edges whose ends sit on different chips): per edge `{u, v}` and chip `c`, a
//!   difference variable `y[e][c] >= x[u][c] - x[v][c]`, `y >= 0`, cost `w_e * sum_c y[e][c]`. At an
//!   integer point `sum_c y[e][c]` is 1 exactly when the ends differ; in the relaxation it is half the L1
//!   distance of the two rows, never below the single-variable `z_e >= x[u][c] - x[v][c]` form;
//! - `hops` (spikes x chip-mesh hops): per edge a transport linearisation over chip pairs, `f[e][a][b] >=
//!   0` with `sum_b f[e][a][b] = x[u][a]` and `sum_a f[e][a][b] = x[v][b]` (exact at integer points),
//!   cost `w_e * sum hops(a, b) f[e][a][b]`. It has `|E| |C|^2` variables: small windows only;
//! - `max-link` (the busiest directed chip-to-chip link under dimension-order routing): the same `f`,
//!   and `T >= load_l` for every link `l`, where `load_l` sums `w * f[e][a][b]` over the chip pairs whose
//!   route ([`Topology::route`]) uses `l`, plus the fixed blocks' traffic; minimise `T`.
//!
//! Edges to fixed blocks are linear terms, edges between fixed blocks constants. Symmetry: for
//! `interchip`, candidate chips with no fixed block are identical, so the free blocks (in id order) use
//! them in order: block `j` never sits on the `k`-th empty chip for `k > j`, and only when an earlier
//! block sits on the `(k-1)`-th. The incoming placement (relabelled to respect that order) is the warm
//! start, so the solver always has an incumbent and the result is never worse than the start.
//!
//! Backends ([`Backend`]): the model is `good_lp`'s, solved by `microlp` (no system packages) or, in a
//! build with the cargo feature `highs`, by HiGHS: one model, one arm per backend in `solve`.
//! With a time limit that stops the solver, the result depends on the machine's speed.

use std::sync::Arc;
use std::time::Duration;

use good_lp::solvers::microlp::microlp;
use good_lp::{
    variable, Constraint, Expression, ProblemVariables, Solution, SolutionStatus, SolverModel,
    Variable, WithInitialSolution, WithTimeLimit,
};
use snn_graph::{BlockId, Network};
use snn_hardware::{ChipId, Topology, TrafficModel};
use snn_placement::{Nets, Placement, Slot};

use crate::fm::FmConfig;
use crate::mapping::{place_parts, place_parts_on_chips};
use crate::partition::{on_chip_edges, BlockGraph};
use crate::{check_fits, AllocError, Allocator, Ctx, Metis, RefineStats, Refiner};

/// What the ILP minimises.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Objective {
    /// Spikes per timestep on edges between chips.
    #[default]
    Interchip,
    /// Spikes per timestep times chip-mesh hops.
    Hops,
    /// Spikes per timestep on the busiest directed chip-to-chip link.
    MaxLink,
    /// Spikes per timestep between chips under the multicast traffic model (`multicast_spikes`): what
    /// `interchip` becomes with `--traffic multicast`.
    Multicast,
}

/// The objective names `--objective` takes.
pub const OBJECTIVES: &[&str] = &["interchip", "hops", "max-link"];

impl Objective {
    pub fn name(self) -> &'static str {
        match self {
            Objective::Interchip => "interchip",
            Objective::Hops => "hops",
            Objective::MaxLink => "max-link",
            Objective::Multicast => "multicast",
        }
    }

    /// Whether only which blocks share a chip matters, not where the chips are: then the chips are
    /// interchangeable (symmetry breaking, relabelling, mesh mapping afterwards).
    pub fn interchangeable(self) -> bool {
        matches!(self, Objective::Interchip | Objective::Multicast)
    }

    /// The objective `self` becomes under `traffic`: `interchip` turns into `multicast`; `hops` and
    /// `max-link` model one message per edge and have no multicast form (an error naming them).
    pub fn under(self, traffic: TrafficModel) -> Result<Objective, String> {
        match (self, traffic) {
            (Objective::Interchip, TrafficModel::Multicast) => Ok(Objective::Multicast),
            (Objective::Hops | Objective::MaxLink, TrafficModel::Multicast) => Err(format!(
                "--objective {} counts one message per edge; with --traffic multicast use \
                 --objective interchip (it becomes the multicast cut)",
                self.name()
            )),
            _ => Ok(self),
        }
    }

    /// The objective called `name`, or an error listing the known ones.
    pub fn from_name(name: &str) -> Result<Objective, String> {
        match name {
            "interchip" => Ok(Objective::Interchip),
            "hops" => Ok(Objective::Hops),
            "max-link" => Ok(Objective::MaxLink),
            _ => Err(format!(
                "unknown objective {name:?}; known: {}",
                OBJECTIVES.join(", ")
            )),
        }
    }
}

/// The solver behind the model. One model, several backends, as `good_lp` intends.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `microlp`: pure Rust, always built.
    Microlp,
    /// HiGHS: faster on large windows; needs the cargo feature `highs` (it builds HiGHS from source,
    /// which needs cmake and libclang-dev).
    Highs,
}

/// The backend names `--solver` takes.
pub const BACKENDS: &[&str] = &["microlp", "highs"];

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Microlp => "microlp",
            Backend::Highs => "highs",
        }
    }

    /// The backend called `name`, or an error listing the known ones; asking for one this build lacks
    /// names the cargo feature that brings it.
    pub fn from_name(name: &str) -> Result<Backend, String> {
        match name {
            "microlp" => Ok(Backend::Microlp),
            "highs" if cfg!(feature = "highs") => Ok(Backend::Highs),
            "highs" => Err(
                "the highs solver is not in this build: rebuild with `cargo build --release --features highs` \
                 (needs cmake and libclang-dev)"
                    .into(),
            ),
            _ => Err(format!(
                "unknown solver {name:?}; known: {}",
                BACKENDS.join(", ")
            )),
        }
    }
}

/// How the ILP allocator and refiner work.
#[derive(Clone, Debug, PartialEq)]
pub struct IlpConfig {
    pub objective: Objective,
    pub backend: Backend,
    /// Blocks per large-neighbourhood window (at least 1).
    pub window: usize,
    /// The most time one window's solve may take, in seconds (the deadline may cut it shorter).
    pub window_time_s: f64,
    /// The whole-network model is built when it has at most this many variables (block-chip, and per
    /// edge one per chip for `interchip` or per chip pair for the others); larger networks are placed by
    /// METIS and improved window by window.
    pub max_exact_vars: usize,
    /// The whole-network solve's time limit in seconds when the context has no deadline.
    pub time_limit_s: f64,
}

/// The time limit, in seconds, when none is given.
pub const DEFAULT_TIME_LIMIT_S: f64 = 10.0;

/// Blocks per window unless `--window` says otherwise: windows of 30 blocks on 2-3 chips solve in well
/// under a second with `microlp` (measured on `gen layered` and `gen random` nets).
pub const DEFAULT_WINDOW: usize = 30;

impl Default for IlpConfig {
    fn default() -> IlpConfig {
        IlpConfig {
            objective: Objective::Interchip,
            backend: Backend::Microlp,
            window: DEFAULT_WINDOW,
            window_time_s: 2.0,
            max_exact_vars: 20_000,
            time_limit_s: DEFAULT_TIME_LIMIT_S,
        }
    }
}

/// How an ILP run ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum IlpStatus {
    /// The whole-network model was solved to proven optimality.
    Optimal,
    /// The time limit stopped the whole-network solve: the best placement found, with a lower bound.
    TimeLimited,
    /// Window-by-window improvement (the refiner, or the allocator on a network too large for the exact
    /// model): no global bound.
    Windows,
}

impl IlpStatus {
    pub fn name(self) -> &'static str {
        match self {
            IlpStatus::Optimal => "optimal",
            IlpStatus::TimeLimited => "time-limited",
            IlpStatus::Windows => "windows",
        }
    }
}

/// What an ILP run reports (the facade prints it and puts it in the report's `ilp` object).
#[derive(Clone, Debug, PartialEq)]
pub struct IlpStats {
    pub objective: Objective,
    pub status: IlpStatus,
    /// The objective of the placement the run started from (the warm start).
    pub start: f64,
    /// The objective of the result.
    pub value: f64,
    /// A proven lower bound on the optimum, when the whole network was modelled.
    pub bound: Option<f64>,
    /// Windows solved, and those that improved the placement.
    pub windows_tried: usize,
    pub windows_improved: usize,
}

impl IlpStats {
    /// The relative gap between the result and the bound, `(value - bound) / value` (0 when both are 0).
    pub fn gap(&self) -> Option<f64> {
        let b = self.bound?;
        if self.value <= 0.0 {
            return Some(0.0);
        }
        Some(((self.value - b) / self.value).max(0.0))
    }
}

/// The traffic between on-chip blocks, as unordered pairs with the spikes each way.
struct Traffic {
    /// On-chip blocks, ascending (the same order as [`BlockGraph`]'s vertices).
    blocks: Vec<BlockId>,
    /// `(u, v, spikes u->v, spikes v->u)` with `u < v` local indices, sorted, merged.
    pairs: Vec<(u32, u32, f64, f64)>,
    /// Pairs incident to each vertex (indices into `pairs`), in compressed sparse rows.
    xadj: Vec<usize>,
    inc: Vec<u32>,
    /// For the multicast objective: the nets, and the same per source (local index) with its pins
    /// (local index, spikes), as the model's terms use them.
    multicast: Option<Arc<Nets>>,
    nets: Vec<(u32, Vec<(u32, f64)>)>,
    /// The local index of each block of the network (`u32::MAX` for host blocks).
    local: Vec<u32>,
}

impl Traffic {
    /// The traffic of `net`; with `nets`, also its multicast nets (for [`Objective::Multicast`]).
    fn new(net: &Network, multicast: Option<Arc<Nets>>) -> Traffic {
        let (blocks, mut directed) = on_chip_edges(net);
        // A stable sort keeps edge order within a pair, so the sums are the same on every run.
        directed.sort_by_key(|t| (t.0.min(t.1), t.0.max(t.1)));
        let mut pairs: Vec<(u32, u32, f64, f64)> = Vec::new();
        for (s, d, w) in directed {
            let (u, v) = (s.min(d), s.max(d));
            match pairs.last_mut() {
                Some(p) if (p.0, p.1) == (u, v) => {
                    if s == u {
                        p.2 += w;
                    } else {
                        p.3 += w;
                    }
                }
                _ => pairs.push(if s == u {
                    (u, v, w, 0.0)
                } else {
                    (u, v, 0.0, w)
                }),
            }
        }
        let n = blocks.len();
        let mut xadj = vec![0usize; n + 1];
        for p in &pairs {
            xadj[p.0 as usize + 1] += 1;
            xadj[p.1 as usize + 1] += 1;
        }
        for v in 0..n {
            xadj[v + 1] += xadj[v];
        }
        let mut fill = xadj.clone();
        let mut inc = vec![0u32; xadj[n]];
        for (i, p) in pairs.iter().enumerate() {
            for end in [p.0, p.1] {
                inc[fill[end as usize]] = i as u32;
                fill[end as usize] += 1;
            }
        }
        let mut local = vec![u32::MAX; net.n_blocks()];
        for (v, b) in blocks.iter().enumerate() {
            local[b.idx()] = v as u32;
        }
        let nets = multicast.as_deref().map_or_else(Vec::new, |nets| {
            (0..nets.len())
                .map(|i| {
                    let r = nets.xpins[i]..nets.xpins[i + 1];
                    let pins = nets.pins[r.clone()]
                        .iter()
                        .zip(&nets.spikes[r])
                        .map(|(p, &w)| (local[p.idx()], w))
                        .collect();
                    (local[nets.src[i].idx()], pins)
                })
                .collect()
        });
        Traffic {
            blocks,
            pairs,
            xadj,
            inc,
            multicast,
            nets,
            local,
        }
    }

    /// The ILP's traffic for `objective` in `ctx`.
    fn for_objective(net: &Network, objective: Objective, ctx: &Ctx) -> Traffic {
        if objective == Objective::Multicast {
            Traffic::new(net, Some(ctx.nets(net)))
        } else {
            Traffic::new(net, None)
        }
    }

    fn n(&self) -> usize {
        self.blocks.len()
    }

    fn incident(&self, v: usize) -> &[u32] {
        &self.inc[self.xadj[v]..self.xadj[v + 1]]
    }

    /// The objective of the chip assignment `chip` (one chip id per vertex).
    fn cost(&self, topo: &Topology, objective: Objective, chip: &[u32]) -> f64 {
        match objective {
            Objective::Interchip => self
                .pairs
                .iter()
                .filter(|p| chip[p.0 as usize] != chip[p.1 as usize])
                .map(|p| p.2 + p.3)
                .sum(),
            Objective::Hops => self
                .pairs
                .iter()
                .map(|p| {
                    let h = topo.chip_hops(ChipId(chip[p.0 as usize]), ChipId(chip[p.1 as usize]));
                    (p.2 + p.3) * h as f64
                })
                .sum(),
            Objective::MaxLink => {
                let mut load = vec![0.0f64; topo.n_link_slots()];
                for p in &self.pairs {
                    let (a, b) = (ChipId(chip[p.0 as usize]), ChipId(chip[p.1 as usize]));
                    if a != b {
                        for l in topo.route(a, b) {
                            load[l.slot()] += p.2;
                        }
                        for l in topo.route(b, a) {
                            load[l.slot()] += p.3;
                        }
                    }
                }
                load.into_iter().fold(0.0, f64::max)
            }
            Objective::Multicast => {
                let nets = self
                    .multicast
                    .as_ref()
                    .expect("built with nets for multicast");
                nets.cost(|b| {
                    let v = self.local[b.idx()];
                    (v != u32::MAX).then(|| ChipId(chip[v as usize]))
                })
            }
        }
    }
}

/// One solve: which vertices are free, which chips they may take.
struct Window<'a> {
    free: &'a [u32],
    chips: &'a [u32],
}

/// What one solve found.
struct Solved {
    /// The new chip of each free vertex, in `free` order.
    chips: Vec<u32>,
    optimal: bool,
    /// A lower bound on the window's objective (the whole objective, fixed parts included).
    bound: Option<f64>,
}

/// Builds the model of `w` with the rest of `chip` fixed, warm-started from `chip`, and solves it within
/// `limit`. `Ok(None)`: the solver gave no usable solution (keep the start).
fn solve(
    t: &Traffic,
    topo: &Topology,
    objective: Objective,
    backend: Backend,
    chip: &[u32],
    w: &Window,
    limit: Option<Duration>,
) -> Result<Option<Solved>, AllocError> {
    let n = t.n();
    let k = w.chips.len();
    // Invariant: `pos[v]` is v's index in `w.free`, or usize::MAX for a fixed vertex.
    let mut pos = vec![usize::MAX; n];
    for (i, &v) in w.free.iter().enumerate() {
        pos[v as usize] = i;
    }
    let chip_idx = |c: u32| w.chips.iter().position(|&d| d == c);
    let per_chip = topo.cores_per_chip() as i64;
    let mut cap = vec![per_chip; k];
    for v in 0..n {
        if pos[v] == usize::MAX {
            if let Some(i) = chip_idx(chip[v]) {
                cap[i] -= 1;
            }
        }
    }
    // The warm start, with the empty candidate chips relabelled in order of their first free block.
    let empty: Vec<usize> = (0..k)
        .filter(|&i| objective.interchangeable() && cap[i] == per_chip)
        .collect();
    let mut start: Vec<usize> = w
        .free
        .iter()
        .map(|&v| chip_idx(chip[v as usize]).expect("window blocks sit on window chips"))
        .collect();
    let mut relabel: Vec<Option<usize>> = vec![None; k];
    let mut next = 0;
    for s in start.iter_mut() {
        if empty.contains(s) {
            let to = *relabel[*s].get_or_insert_with(|| {
                next += 1;
                empty[next - 1]
            });
            *s = to;
        }
    }

    let mut vars = ProblemVariables::new();
    let mut hint: Vec<(Variable, f64)> = Vec::new();
    let mut cons: Vec<Constraint> = Vec::new();
    let mut obj = Expression::default();
    let mut constant = 0.0;
    // x[i][c]: None where symmetry breaking rules the pair out.
    let x: Vec<Vec<Option<Variable>>> = (0..w.free.len())
        .map(|j| {
            (0..k)
                .map(|c| {
                    let rank = empty.iter().position(|&e| e == c);
                    if rank.is_some_and(|r| r > j) {
                        return None;
                    }
                    let var = vars.add(variable().binary());
                    hint.push((var, if start[j] == c { 1.0 } else { 0.0 }));
                    Some(var)
                })
                .collect()
        })
        .collect();
    let xe =
        |i: usize, c: usize| -> Expression { x[i][c].map(Expression::from).unwrap_or_default() };
    for row in &x {
        let sum: Expression = row.iter().flatten().map(|&v| Expression::from(v)).sum();
        cons.push(sum.eq(1.0));
    }
    for (c, &cap_c) in cap.iter().enumerate() {
        let sum: Expression = (0..w.free.len()).map(|i| xe(i, c)).sum();
        cons.push(sum.leq(cap_c as f64));
    }
    for r in 1..empty.len() {
        let (prev, this) = (empty[r - 1], empty[r]);
        for (j, row) in x.iter().enumerate().skip(r) {
            if let Some(v) = row[this] {
                let earlier: Expression = (0..j).map(|i| xe(i, prev)).sum();
                cons.push(Expression::from(v).leq(earlier));
            }
        }
    }

    // Link loads for max-link: slot -> expression, in slot order.
    let mut load: std::collections::BTreeMap<usize, Expression> = Default::default();
    let mut add_load = |a: u32, b: u32, coef: f64, e: Expression| {
        if a != b && coef != 0.0 {
            for l in topo.route(ChipId(a), ChipId(b)) {
                load.entry(l.slot()).or_default().add_mul(coef, e.clone());
            }
        }
    };
    let hops = |a: u32, b: u32| topo.chip_hops(ChipId(a), ChipId(b)) as f64;
    // Every pair touching a free vertex once (from its lower free end), and for max-link the fixed
    // pairs as constant loads.
    for &(u, v, wuv, wvu) in &t.pairs {
        let (pu, pv) = (pos[u as usize], pos[v as usize]);
        let (cu, cv) = (chip[u as usize], chip[v as usize]);
        let we = wuv + wvu;
        match (pu != usize::MAX, pv != usize::MAX) {
            (false, false) => {
                if objective == Objective::MaxLink {
                    add_load(cu, cv, wuv, Expression::from(1.0));
                    add_load(cv, cu, wvu, Expression::from(1.0));
                }
            }
            (true, false) | (false, true) => {
                let (i, fixed) = if pu != usize::MAX { (pu, cv) } else { (pv, cu) };
                // Spikes from the free block to the fixed one and back.
                let (out, back) = if pu != usize::MAX {
                    (wuv, wvu)
                } else {
                    (wvu, wuv)
                };
                match objective {
                    Objective::Multicast => {}
                    Objective::Interchip => {
                        constant += we;
                        if let Some(c) = chip_idx(fixed) {
                            obj.add_mul(-we, xe(i, c));
                        }
                    }
                    Objective::Hops => {
                        for (c, &a) in w.chips.iter().enumerate() {
                            obj.add_mul(we * hops(a, fixed), xe(i, c));
                        }
                    }
                    Objective::MaxLink => {
                        for (c, &a) in w.chips.iter().enumerate() {
                            add_load(a, fixed, out, xe(i, c));
                            add_load(fixed, a, back, xe(i, c));
                        }
                    }
                }
            }
            (true, true) => match objective {
                Objective::Multicast => {}
                Objective::Interchip => {
                    for c in 0..k {
                        let y = vars.add(variable().min(0.0));
                        let su = start[pu] == c;
                        let sv = start[pv] == c;
                        hint.push((y, if su && !sv { 1.0 } else { 0.0 }));
                        cons.push(Expression::from(y).geq(xe(pu, c) - xe(pv, c)));
                        obj.add_mul(we, y);
                    }
                }
                Objective::Hops | Objective::MaxLink => {
                    let f: Vec<Vec<Variable>> = (0..k)
                        .map(|a| {
                            (0..k)
                                .map(|b| {
                                    let var = vars.add(variable().min(0.0));
                                    let on = start[pu] == a && start[pv] == b;
                                    hint.push((var, if on { 1.0 } else { 0.0 }));
                                    var
                                })
                                .collect()
                        })
                        .collect();
                    for a in 0..k {
                        let row: Expression = f[a].iter().map(|&v| Expression::from(v)).sum();
                        cons.push(row.eq(xe(pu, a)));
                        let col: Expression = f.iter().map(|r| Expression::from(r[a])).sum();
                        cons.push(col.eq(xe(pv, a)));
                    }
                    for (a, &ca) in w.chips.iter().enumerate() {
                        for (b, &cb) in w.chips.iter().enumerate() {
                            if objective == Objective::Hops {
                                obj.add_mul(we * hops(ca, cb), f[a][b]);
                            } else {
                                add_load(ca, cb, wuv, Expression::from(f[a][b]));
                                add_load(cb, ca, wvu, Expression::from(f[a][b]));
                            }
                        }
                    }
                }
            },
        }
    }
    if objective == Objective::Multicast {
        multicast_terms(
            t,
            chip,
            w,
            &pos,
            &start,
            &x,
            &mut vars,
            &mut hint,
            &mut cons,
            &mut obj,
            &mut constant,
        );
    }
    if objective == Objective::MaxLink {
        let top = vars.add(variable().min(0.0));
        let start_chip: Vec<u32> = (0..n)
            .map(|v| match pos[v] {
                usize::MAX => chip[v],
                i => w.chips[start[i]],
            })
            .collect();
        hint.push((top, t.cost(topo, objective, &start_chip)));
        for (_, e) in std::mem::take(&mut load) {
            cons.push(Expression::from(top).geq(e));
        }
        obj.add_mul(1.0, top);
    }

    let limit_s = limit.map(|l| l.as_secs_f64());
    // Each free block goes to the chip whose variable is largest in the solution.
    let read = |value: &dyn Fn(Variable) -> f64| -> Vec<u32> {
        x.iter()
            .map(|row| {
                let best = row
                    .iter()
                    .enumerate()
                    .filter_map(|(c, v)| v.map(|v| (c, value(v))))
                    .fold(
                        (0, f64::MIN),
                        |b, (c, val)| if val > b.1 { (c, val) } else { b },
                    );
                w.chips[best.0]
            })
            .collect()
    };
    // `microlp` asserts that integer variables come back integral; a failed assertion there is a solver
    // bug, which must not take the caller down with it: the start is kept instead.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || match backend {
        Backend::Microlp => {
            let Some(sol) = run(vars.minimise(obj).using(microlp), cons, hint, limit_s)? else {
                return Ok(None);
            };
            let optimal = matches!(sol.status(), SolutionStatus::Optimal);
            let chips = read(&|v| sol.value(v));
            let bound = sol.into_inner().stats().best_bound;
            Ok(Some((chips, optimal, bound)))
        }
        Backend::Highs => solve_highs(vars, obj, cons, hint, limit_s, &read),
    }));
    match outcome {
        Ok(Ok(Some((chips, optimal, bound)))) => Ok(Some(Solved {
            chips,
            optimal,
            bound: bound.map(|b| b + constant),
        })),
        Ok(Ok(None)) | Err(_) => Ok(None),
        Ok(Err(e)) => Err(e),
    }
}

/// The multicast objective's terms (see the module docs): per net and per chip `c` other than the
/// source's, `z >= spikes_p * (x[p][c] - x[s][c])` for each pin `p`, cost `z`; fixed blocks turn their
/// `x` into constants, and a chip no free block can take adds its largest fixed pin as a constant.
#[allow(clippy::too_many_arguments)]
fn multicast_terms(
    t: &Traffic,
    chip: &[u32],
    w: &Window,
    pos: &[usize],
    start: &[usize],
    x: &[Vec<Option<Variable>>],
    vars: &mut ProblemVariables,
    hint: &mut Vec<(Variable, f64)>,
    cons: &mut Vec<Constraint>,
    obj: &mut Expression,
    constant: &mut f64,
) {
    // x[v][c] as a constant or an expression, and its value at the warm start.
    let on = |v: u32, c: u32| -> (Option<Expression>, f64) {
        let v = v as usize;
        if pos[v] == usize::MAX {
            return (None, if chip[v] == c { 1.0 } else { 0.0 });
        }
        match w.chips.iter().position(|&d| d == c) {
            Some(ci) => {
                let e = x[pos[v]][ci].map(Expression::from);
                let at_start = if start[pos[v]] == ci { 1.0 } else { 0.0 };
                match e {
                    Some(e) => (Some(e), at_start),
                    None => (None, 0.0),
                }
            }
            None => (None, 0.0),
        }
    };
    for (s, pins) in &t.nets {
        let mut chips: Vec<u32> = w.chips.to_vec();
        chips.extend(pins.iter().map(|&(p, _)| chip[p as usize]));
        chips.sort_unstable();
        chips.dedup();
        for &c in &chips {
            let (xs, xs0) = on(*s, c);
            if xs.is_none() && xs0 == 1.0 {
                continue; // The source sits on c: nothing to send there.
            }
            let mut terms: Vec<(Option<Expression>, f64, f64)> = Vec::new();
            for &(p, wp) in pins {
                let (xp, xp0) = on(p, c);
                if xp.is_some() || xp0 == 1.0 {
                    terms.push((xp, xp0, wp));
                }
            }
            if terms.is_empty() {
                continue;
            }
            if xs.is_none() && terms.iter().all(|t| t.0.is_none()) {
                *constant += terms.iter().map(|t| t.2).fold(0.0, f64::max);
                continue;
            }
            let z = vars.add(variable().min(0.0));
            let mut z0: f64 = 0.0;
            for (xp, xp0, wp) in terms {
                let a = xp.unwrap_or_else(|| Expression::from(xp0));
                let b = xs.clone().unwrap_or_else(|| Expression::from(xs0));
                z0 = z0.max(wp * (xp0 - xs0));
                cons.push(Expression::from(z).geq((a - b) * wp));
            }
            hint.push((z, z0));
            obj.add_mul(1.0, z);
        }
    }
}

/// What a backend returns: the chip of each free block, whether it proved optimality, and its lower
/// bound when it reports one.
type Outcome = Result<Option<(Vec<u32>, bool, Option<f64>)>, AllocError>;

/// Reads the chip of each free block from a solution's variable values.
type ReadChips<'a> = &'a dyn Fn(&dyn Fn(Variable) -> f64) -> Vec<u32>;

/// Solves `model` with either backend from the warm start `hint` within the time limit: a solution,
/// `None` when the solver gave up without one (the start is kept), or an error when it says the model is
/// infeasible (impossible: the start satisfies it).
fn run<M>(
    model: M,
    cons: Vec<Constraint>,
    hint: Vec<(Variable, f64)>,
    limit_s: Option<f64>,
) -> Result<Option<M::Solution>, AllocError>
where
    M: SolverModel<Error = good_lp::ResolutionError> + WithInitialSolution + WithTimeLimit,
{
    let mut model = model.with_all(cons).with_initial_solution(hint);
    if let Some(s) = limit_s {
        model = model.with_time_limit(s);
    }
    match model.solve() {
        Ok(sol) => Ok(Some(sol)),
        Err(good_lp::ResolutionError::Infeasible) => Err(AllocError::Backend {
            name: "ilp",
            message: "the model is infeasible (a bug: the start satisfies it)".into(),
        }),
        Err(_) => Ok(None),
    }
}

#[cfg(feature = "highs")]
fn solve_highs(
    vars: ProblemVariables,
    obj: Expression,
    cons: Vec<Constraint>,
    hint: Vec<(Variable, f64)>,
    limit_s: Option<f64>,
    read: ReadChips,
) -> Outcome {
    let model = vars.minimise(obj).using(good_lp::solvers::highs::highs);
    let Some(sol) = run(model, cons, hint, limit_s)? else {
        return Ok(None);
    };
    let optimal = matches!(sol.status(), SolutionStatus::Optimal);
    // good_lp does not expose HiGHS's MIP dual bound: the gap is reported only when proven optimal.
    let bound = None;
    Ok(Some((read(&|v| sol.value(v)), optimal, bound)))
}

#[cfg(not(feature = "highs"))]
fn solve_highs(
    _vars: ProblemVariables,
    _obj: Expression,
    _cons: Vec<Constraint>,
    _hint: Vec<(Variable, f64)>,
    _limit_s: Option<f64>,
    _read: ReadChips,
) -> Outcome {
    // `Backend::from_name` refuses "highs" in this build; this arm is reached only through the API.
    Err(AllocError::Backend {
        name: "ilp",
        message: "the highs solver is not in this build: rebuild with `--features highs`".into(),
    })
}

/// The chip of every on-chip block of `p`, in `Traffic` order.
fn chips_of(t: &Traffic, p: &Placement) -> Vec<u32> {
    t.blocks
        .iter()
        .map(|&b| match p.slot(b) {
            Slot::Core { chip, .. } => chip.0,
            Slot::Host => unreachable!("Traffic holds on-chip blocks only"),
        })
        .collect()
}

/// Whether every candidate chip keeps within its cores.
fn fits(topo: &Topology, chip: &[u32], n_chips: u32) -> bool {
    let mut used = vec![0u32; n_chips as usize];
    for &c in chip {
        match used.get_mut(c as usize) {
            Some(u) => *u += 1,
            None => return false,
        }
    }
    used.iter().all(|&u| u <= topo.cores_per_chip())
}

/// The placement of chip assignment `chip`: for `interchip`, remapped onto the mesh by [`place_parts`]
/// (which does not change which blocks share a chip, and lowers the hops); otherwise on exactly those
/// chips, cores assigned along the tiles.
fn to_placement(
    net: &Network,
    topo: &Topology,
    ctx: &Ctx,
    objective: Objective,
    chip: &[u32],
    name: &str,
) -> Placement {
    let g = BlockGraph::new(net, &snn_graph::Adjacency::new(net));
    let k = ctx.rules.chips.min(topo.n_chips());
    if objective.interchangeable() {
        place_parts(net, topo, &ctx.rules, &g, chip, k, name, ctx.seed)
    } else {
        place_parts_on_chips(net, topo, &g, chip, k, name, ctx.seed)
    }
}

/// See the module docs: the whole-network model, warm-started from METIS with FM refinement.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ilp {
    pub config: IlpConfig,
}

impl Allocator for Ilp {
    fn name(&self) -> &'static str {
        "ilp"
    }

    fn allocate(
        &self,
        net: &Network,
        topo: &Topology,
        ctx: &mut Ctx,
    ) -> Result<Placement, AllocError> {
        check_fits(net, topo, &ctx.rules)?;
        let metis = Metis {
            refine: Some(FmConfig::default()),
            ..Metis::default()
        };
        let mut p = metis.allocate(net, topo, ctx)?;
        p.allocator = self.name().to_string();
        let t = Traffic::for_objective(net, self.config.objective, ctx);
        let n_usable = ctx.rules.chips.min(topo.n_chips());
        // With `interchip`, chips are interchangeable and n blocks never need more than n of them.
        let k = if self.config.objective.interchangeable() {
            n_usable.min(t.n().max(1) as u32)
        } else {
            n_usable
        };
        let mut chip = chips_of(&t, &p);
        if self.config.objective.interchangeable() {
            // Chip labels do not matter to `interchip`: number the chips in order of first use.
            let mut label = vec![u32::MAX; n_usable as usize];
            let mut next = 0;
            for c in chip.iter_mut() {
                if label[*c as usize] == u32::MAX {
                    label[*c as usize] = next;
                    next += 1;
                }
                *c = label[*c as usize];
            }
        }
        let start = t.cost(topo, self.config.objective, &chip);
        let per_edge = match self.config.objective {
            Objective::Interchip | Objective::Multicast => k as usize,
            Objective::Hops | Objective::MaxLink => (k as usize).pow(2),
        };
        if t.n() * k as usize + t.pairs.len() * per_edge > self.config.max_exact_vars {
            let refiner = IlpRefine {
                config: self.config.clone(),
            };
            refiner.refine(net, topo, &mut p, ctx)?;
            if let Some(s) = ctx.ilp.as_mut() {
                s.start = start;
            }
            p.allocator = self.name().to_string();
            return Ok(p);
        }
        let chips: Vec<u32> = (0..k).collect();
        let free: Vec<u32> = (0..t.n() as u32).collect();
        let window = Window {
            free: &free,
            chips: &chips,
        };
        let solved = solve(
            &t,
            topo,
            self.config.objective,
            self.config.backend,
            &chip,
            &window,
            Some(ctx.remaining().unwrap_or_else(|| {
                Duration::from_secs_f64(self.config.time_limit_s.clamp(0.0, 1e6))
            })),
        )?;
        let mut stats = IlpStats {
            objective: self.config.objective,
            status: IlpStatus::TimeLimited,
            start,
            value: start,
            bound: None,
            windows_tried: 1,
            windows_improved: 0,
        };
        if let Some(s) = solved {
            let value = t.cost(topo, self.config.objective, &s.chips);
            stats.bound = s.bound.map(|b| b.min(value));
            if s.optimal {
                stats.status = IlpStatus::Optimal;
                stats.bound = Some(value.min(start));
            }
            if value < start && fits(topo, &s.chips, n_usable) {
                stats.value = value;
                stats.windows_improved = 1;
                p = to_placement(net, topo, ctx, self.config.objective, &s.chips, self.name());
            }
        }
        ctx.ilp = Some(stats);
        Ok(p)
    }
}

/// See the module docs: large-neighbourhood search over windows of boundary blocks.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IlpRefine {
    pub config: IlpConfig,
}

/// The chips that exchange the most traffic with each other, heaviest pairs first: `(a, b)` with the
/// traffic (for `hops`, times the hops) between them.
fn chip_pairs(t: &Traffic, topo: &Topology, objective: Objective, chip: &[u32]) -> Vec<(u32, u32)> {
    let mut w: std::collections::BTreeMap<(u32, u32), f64> = Default::default();
    for p in &t.pairs {
        let (a, b) = (chip[p.0 as usize], chip[p.1 as usize]);
        if a != b {
            let h = match objective {
                Objective::Hops => topo.chip_hops(ChipId(a), ChipId(b)) as f64,
                _ => 1.0,
            };
            *w.entry((a.min(b), a.max(b))).or_default() += (p.2 + p.3) * h;
        }
    }
    let mut pairs: Vec<((u32, u32), f64)> = w.into_iter().collect();
    pairs.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
    pairs.into_iter().map(|p| p.0).collect()
}

/// The window for chips `chips`: their blocks with the most traffic to the other window chips (the
/// boundary), then their neighbours on those chips, at most `size` blocks, ascending.
fn pick_window(t: &Traffic, chip: &[u32], chips: &[u32], size: usize) -> Vec<u32> {
    let mut score: Vec<(f64, u32)> = Vec::new();
    for v in 0..t.n() {
        if !chips.contains(&chip[v]) {
            continue;
        }
        let mut s = 0.0;
        for &pi in t.incident(v) {
            let p = t.pairs[pi as usize];
            let u = if p.0 as usize == v { p.1 } else { p.0 };
            let cu = chip[u as usize];
            if cu != chip[v] && chips.contains(&cu) {
                s += p.2 + p.3;
            }
        }
        if s > 0.0 {
            score.push((s, v as u32));
        }
    }
    score.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut window: Vec<u32> = score.iter().take(size).map(|s| s.1).collect();
    // Fill up with neighbours (on the window's chips) of the blocks chosen so far, breadth first.
    let mut i = 0;
    while window.len() < size && i < window.len() {
        let v = window[i] as usize;
        for &pi in t.incident(v) {
            let p = t.pairs[pi as usize];
            let u = if p.0 as usize == v { p.1 } else { p.0 };
            if window.len() < size && chips.contains(&chip[u as usize]) && !window.contains(&u) {
                window.push(u);
            }
        }
        i += 1;
    }
    window.sort_unstable();
    window
}

impl Refiner for IlpRefine {
    fn name(&self) -> &'static str {
        "ilp"
    }

    fn refine(
        &self,
        net: &Network,
        topo: &Topology,
        placement: &mut Placement,
        ctx: &mut Ctx,
    ) -> Result<RefineStats, AllocError> {
        let objective = self.config.objective;
        let t = Traffic::for_objective(net, objective, ctx);
        let mut chip = chips_of(&t, placement);
        let start = t.cost(topo, objective, &chip);
        let mut value = start;
        let (mut tried, mut improved) = (0, 0);
        let mut size = self.config.window.max(1);
        // A window never needs more than the blocks of its two chips.
        let largest = 2 * topo.cores_per_chip() as usize;
        // Each round tries every chip pair that exchanges traffic, heaviest first. A round without an
        // improvement doubles the window while the deadline leaves time (larger neighbourhoods escape
        // what smaller ones cannot), and ends the search without a deadline or at the largest window.
        'rounds: loop {
            let mut any = false;
            for (a, b) in chip_pairs(&t, topo, objective, &chip) {
                if ctx.expired() {
                    break 'rounds;
                }
                let chips = [a, b];
                let free = pick_window(&t, &chip, &chips, size);
                if free.is_empty() {
                    continue;
                }
                let limit = Duration::from_secs_f64(self.config.window_time_s.max(0.0));
                let limit = ctx.remaining().map_or(limit, |r| r.min(limit));
                tried += 1;
                let window = Window {
                    free: &free,
                    chips: &chips,
                };
                let Some(s) = solve(
                    &t,
                    topo,
                    objective,
                    self.config.backend,
                    &chip,
                    &window,
                    Some(limit),
                )?
                else {
                    continue;
                };
                let mut next = chip.clone();
                for (&v, &c) in free.iter().zip(&s.chips) {
                    next[v as usize] = c;
                }
                let cost = t.cost(topo, objective, &next);
                if cost < value - 1e-9 * (1.0 + value.abs())
                    && fits(topo, &next, ctx.rules.chips.min(topo.n_chips()))
                {
                    chip = next;
                    value = cost;
                    improved += 1;
                    any = true;
                }
            }
            if !any {
                if ctx.deadline.is_none() || size >= largest {
                    break;
                }
                size = (size * 2).min(largest);
            }
        }
        let name = format!("{}+{}", placement.allocator, self.name());
        if improved > 0 {
            *placement = to_placement(net, topo, ctx, objective, &chip, &name);
        } else {
            placement.allocator = name;
        }
        ctx.ilp = Some(IlpStats {
            objective,
            status: IlpStatus::Windows,
            start,
            value,
            bound: None,
            windows_tried: tried,
            windows_improved: improved,
        });
        Ok(RefineStats {
            before: start,
            after: value,
            rounds: tried,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use snn_graph::{Block, Edge};
    use snn_hardware::{CoreLimits, CostModel, Grid};
    use snn_placement::Rules;

    fn board(cx: u32, cy: u32, cores: u32) -> Topology {
        Topology::new(
            "board",
            Grid { x: cx, y: cy },
            Grid { x: cores, y: 1 },
            1,
            CoreLimits::LOIHI,
            CostModel::default(),
        )
        .unwrap()
    }

    /// The best objective over every assignment of the blocks to the usable chips within capacity.
    fn brute_force(net: &Network, topo: &Topology, objective: Objective, k: u32) -> f64 {
        let t = Traffic::new(net, Some(Arc::new(Nets::new(net))));
        let n = t.n();
        let mut chip = vec![0u32; n];
        let mut best = f64::INFINITY;
        loop {
            if fits(topo, &chip, k) {
                best = best.min(t.cost(topo, objective, &chip));
            }
            // The next assignment in base k.
            let mut i = 0;
            while i < n && chip[i] == k - 1 {
                chip[i] = 0;
                i += 1;
            }
            if i == n {
                return best;
            }
            chip[i] += 1;
        }
    }

    fn random_net(n: usize, edges: &[(usize, usize, u8)]) -> Network {
        let blocks = (0..n).map(|i| Block::new(format!("b{i}"), 10)).collect();
        let edges = edges
            .iter()
            .map(|&(s, d, w)| Edge::new(BlockId((s % n) as u32), BlockId((d % n) as u32), w as f64))
            .collect();
        Network::new("rand", blocks, edges).unwrap()
    }

    /// Runs the exact allocator and checks it against the brute force.
    fn check(net: &Network, topo: &Topology, objective: Objective) -> Result<(), TestCaseError> {
        let rules = Rules::for_topology(topo);
        let mut ctx = Ctx::new(1, rules);
        if objective == Objective::Multicast {
            ctx.traffic = TrafficModel::Multicast;
        }
        let ilp = Ilp {
            config: IlpConfig {
                objective,
                ..IlpConfig::default()
            },
        };
        let p = match ilp.allocate(net, topo, &mut ctx) {
            Ok(p) => p,
            Err(AllocError::Infeasible { .. }) => return Ok(()),
            Err(e) => return Err(TestCaseError::fail(e.to_string())),
        };
        p.validate(net, topo, &rules)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let stats = ctx.ilp.clone().expect("the ILP reports");
        prop_assert_eq!(stats.status, IlpStatus::Optimal);
        let t = Traffic::new(net, Some(Arc::new(Nets::new(net))));
        let got = t.cost(topo, objective, &chips_of(&t, &p));
        let best = brute_force(net, topo, objective, topo.n_chips());
        prop_assert!(
            (got - best).abs() < 1e-6,
            "{:?}: ILP {} vs brute force {}",
            objective,
            got,
            best
        );
        prop_assert!((stats.value - best).abs() < 1e-6);
        if objective == Objective::Multicast {
            let m = snn_placement::Metrics::compute(net, topo, &p);
            prop_assert!((m.multicast_spikes - got).abs() < 1e-6);
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(40))]

        #[test]
        fn agrees_with_brute_force(
            n in 2usize..=8,
            edges in prop::collection::vec((0usize..8, 0usize..8, 0u8..10), 1..16),
            wide in any::<bool>(),
            slack in 0u32..3,
        ) {
            let net = random_net(n, &edges);
            // 2 chips in a row, or 3 in a row (so hops and links differ between pairs), with just enough
            // cores or a few more, so that capacity binds.
            let chips = if wide { 3 } else { 2 };
            let topo = board(chips, 1, (n as u32).div_ceil(chips) + slack);
            for objective in [Objective::Interchip, Objective::Hops, Objective::MaxLink, Objective::Multicast] {
                check(&net, &topo, objective)?;
            }
        }
    }

    #[test]
    fn windows_never_make_it_worse_and_keep_capacity() {
        let edges: Vec<(usize, usize, u8)> = (0..60)
            .map(|i| (i * 7 % 23, i * 11 % 23, (i % 9) as u8))
            .collect();
        let net = random_net(23, &edges);
        let topo = board(2, 2, 7);
        let rules = Rules::for_topology(&topo);
        for objective in [
            Objective::Interchip,
            Objective::Hops,
            Objective::MaxLink,
            Objective::Multicast,
        ] {
            let mut ctx = Ctx::new(3, rules);
            if objective == Objective::Multicast {
                ctx.traffic = TrafficModel::Multicast;
            }
            let mut p = crate::RoundRobin.allocate(&net, &topo, &mut ctx).unwrap();
            let refiner = IlpRefine {
                config: IlpConfig {
                    objective,
                    window: 8,
                    ..IlpConfig::default()
                },
            };
            let s = refiner.refine(&net, &topo, &mut p, &mut ctx).unwrap();
            p.validate(&net, &topo, &rules).unwrap();
            assert!(
                s.after <= s.before,
                "{objective:?}: {} -> {}",
                s.before,
                s.after
            );
            assert!(
                s.after < s.before,
                "{objective:?}: round-robin leaves room to improve"
            );
            let t = Traffic::new(&net, Some(Arc::new(Nets::new(&net))));
            let got = t.cost(&topo, objective, &chips_of(&t, &p));
            assert!(
                got <= s.after + 1e-9,
                "{objective:?}: the placement costs {got}, not {}",
                s.after
            );
        }
    }

    #[test]
    fn too_large_for_the_exact_model_falls_back_to_windows() {
        let edges: Vec<(usize, usize, u8)> = (0..60)
            .map(|i| (i * 7 % 23, i * 11 % 23, (i % 9) as u8))
            .collect();
        let net = random_net(23, &edges);
        let topo = board(2, 2, 7);
        let rules = Rules::for_topology(&topo);
        let ilp = Ilp {
            config: IlpConfig {
                max_exact_vars: 0,
                ..IlpConfig::default()
            },
        };
        let mut ctx = Ctx::new(1, rules);
        let p = ilp.allocate(&net, &topo, &mut ctx).unwrap();
        p.validate(&net, &topo, &rules).unwrap();
        assert_eq!(p.allocator, "ilp");
        let stats = ctx.ilp.unwrap();
        assert_eq!((stats.status, stats.bound), (IlpStatus::Windows, None));
        assert!(stats.value <= stats.start);
    }

    #[test]
    fn objective_names_round_trip() {
        for name in OBJECTIVES {
            assert_eq!(Objective::from_name(name).unwrap().name(), *name);
        }
        assert_eq!(
            Objective::from_name("cut").unwrap_err(),
            "unknown objective \"cut\"; known: interchip, hops, max-link"
        );
    }
}
