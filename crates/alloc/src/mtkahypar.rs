//! `mtkahypar`: Mt-KaHyPar (Gottesbüren, Heuer, Maas, Sanders and Schlag 2024, "Scalable High-Quality
//! Hypergraph Partitioning", ACM Trans. Algorithms 20(1)), the multilevel hypergraph partitioner behind
//! the best cuts issue 14 compares against, as an allocator: the on-chip blocks are split into the chips
//! [`chips_to_use`] gives, at most a chip's cores each, and the parts are mapped onto the mesh as METIS's
//! are ([`place_parts`]). The default allocator (`portfolio`) also uses it as one more start.
//!
//! It sits behind the cargo feature `mtkahypar` (the `mt-kahypar` crate statically links Mt-KaHyPar and
//! builds its vendored TBB and Boost with `cc`: no system packages, but a first build of about 13 minutes
//! on 2 cores). Without the feature, [`by_name`](crate::by_name) refuses the name with an error that
//! names the feature ([`AllocError::NotBuilt`]).
//!
//! What it is given:
//! - **Objective.** Under unicast traffic, the unicast graph ([`BlockGraph`]) as a graph (Mt-KaHyPar's
//!   graph data structures, through its C API: `run_graph`) and the cut objective; under
//!   `--objective hops`, mapped onto the chip mesh ([`map`]). Under multicast, the multicast nets ([`Nets`]) as hyperedges with the connectivity
//!   (lambda - 1) objective, which is the multicast cost exactly when a source sends the same spikes to
//!   every destination. When the pins of a net carry different spikes (the net costs, per other chip,
//!   the *largest* spikes to a pin there), the net is cut into levels: with the pins' spikes sorted
//!   `w1 >= w2 >= ...`, the hyperedge {source} + {pins with spikes >= wj} of weight `wj - w(j+1)` for each
//!   level j, whose connectivity costs add up to the multicast cost exactly. Mt-KaHyPar has no pin
//!   weights, so this is how they are represented; at most [`MAX_LEVELS`] levels per net (more distinct
//!   spike counts round down to the nearest kept level, an underestimate of at most the gap between two
//!   kept levels).
//! - **Capacity.** Mt-KaHyPar's balance constraint is `(1 + epsilon) * ceil(n / k)` blocks per part,
//!   rounded down; epsilon is chosen so that this is exactly a chip's cores. All chips have the same
//!   cores, so one epsilon does what per-part maximum weights
//!   (`mt_kahypar_set_individual_target_block_weights`, which the crate's safe API does not expose) would.
//!   Mt-KaHyPar may still return an overfull part at zero slack: [`fm::repair`] then moves the cheapest
//!   blocks out.
//! - **Weights.** Mt-KaHyPar's weights are 32-bit and it sums them: they are the graph's integer weights
//!   scaled down, as METIS's are, so that the whole objective stays below 2^30.
//! - **Determinism.** Mt-KaHyPar runs on one thread (its TBB pool is initialised with one thread before
//!   its first use) and its calls take a global lock, since its random generator is global
//!   (`mt_kahypar_set_seed`): the rayon thread count never reaches it, and the seed is set before every
//!   call. The `deterministic` preset ignores that seed (it uses its context's seed, which the C API
//!   does not set), so the vertices are also relabelled by a permutation drawn from the seed: every
//!   preset then depends on the seed and only on it. The other presets stop FM and flow searches that
//!   exceed a time limit relative to their own measured running times (FM: at least 5 s; a flow problem:
//!   at least 0.1 s and 8 times the average); on the nets measured here no search comes near them, but a
//!   machine stalled for that long could change the result, as the ILP's time limit does. The
//!   `deterministic` preset has no time limits.

use snn_graph::{Adjacency, Network};
use snn_hardware::{Topology, TrafficModel};
use snn_placement::{Nets, Placement};

use crate::fm;
use crate::mapping::{place_parts, place_parts_on_chips};
use crate::partition::BlockGraph;
use crate::{chips_to_use, AllocError, Allocator, Ctx};

/// Mt-KaHyPar's presets, ranked by quality and time (see the module docs on determinism).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum MtkPreset {
    /// Deterministic coarsening and label propagation, no FM or flows: the fastest, the weakest, and
    /// the same result whatever the machine's load.
    Deterministic,
    /// Multilevel with FM refinement.
    Default,
    /// Default plus flow-based refinement (Mt-KaHyPar-Q-F): what issue 14 measured.
    #[default]
    Quality,
    /// n-level coarsening with flows: the slowest.
    HighestQuality,
    /// Tuned for thousands of parts.
    LargeK,
}

/// The preset names `--mtk-preset` takes, in [`MtkPreset`] order.
pub const MTK_PRESETS: &[&str] = &[
    "deterministic",
    "default",
    "quality",
    "highest-quality",
    "large-k",
];

impl MtkPreset {
    pub fn name(self) -> &'static str {
        match self {
            MtkPreset::Deterministic => "deterministic",
            MtkPreset::Default => "default",
            MtkPreset::Quality => "quality",
            MtkPreset::HighestQuality => "highest-quality",
            MtkPreset::LargeK => "large-k",
        }
    }

    /// The preset called `name`, or an error listing the known ones.
    pub fn from_name(name: &str) -> Result<MtkPreset, String> {
        match name {
            "deterministic" => Ok(MtkPreset::Deterministic),
            "default" => Ok(MtkPreset::Default),
            "quality" => Ok(MtkPreset::Quality),
            "highest-quality" => Ok(MtkPreset::HighestQuality),
            "large-k" => Ok(MtkPreset::LargeK),
            _ => Err(format!(
                "unknown Mt-KaHyPar preset {name:?}; known: {}",
                MTK_PRESETS.join(", ")
            )),
        }
    }
}

/// At most this many levels (hyperedges) per multicast net (see the module docs).
pub const MAX_LEVELS: usize = 4;

/// See the module docs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MtKaHyPar {
    pub preset: MtkPreset,
    /// `--objective hops`: map the blocks onto the board's chip mesh ([`map`]) instead of partitioning
    /// them over the fewest chips and mapping the parts afterwards.
    pub hops: bool,
}

/// Whether this build has Mt-KaHyPar (the cargo feature `mtkahypar`).
pub const BUILT: bool = cfg!(feature = "mtkahypar");

/// The error for a build without the feature.
pub fn not_built() -> AllocError {
    AllocError::NotBuilt {
        name: "mtkahypar",
        feature: "mtkahypar",
    }
}

impl Allocator for MtKaHyPar {
    /// `mtkahypar+hops` under `--objective hops`, as `compare` names that candidate.
    fn name(&self) -> &'static str {
        if self.hops {
            "mtkahypar+hops"
        } else {
            "mtkahypar"
        }
    }

    fn allocate(
        &self,
        net: &Network,
        topo: &Topology,
        ctx: &mut Ctx,
    ) -> Result<Placement, AllocError> {
        let k = chips_to_use(net, topo, ctx)?.max(1);
        let g = BlockGraph::new(net, &Adjacency::new(net));
        // `--objective hops` has no multicast form (the facade refuses it).
        if self.hops && ctx.traffic != TrafficModel::Multicast {
            let n_usable = ctx.rules.chips.min(topo.n_chips());
            let (width, cap) = (topo.chips().x, topo.cores_per_chip());
            let mut chip = map(&g, n_usable, k, width, cap, self.preset, ctx.seed)?;
            // `--spread` (`k` is then every usable chip): a chip the mapping left empty gets a block.
            if ctx.spread {
                fm::fill_empty(&g, &mut chip, (k as usize).min(g.n()));
            }
            return Ok(place_parts_on_chips(
                net,
                topo,
                &g,
                &chip,
                n_usable,
                self.name(),
                ctx.seed,
            ));
        }
        let nets = (ctx.traffic == TrafficModel::Multicast).then(|| ctx.nets(net));
        let caps = vec![topo.cores_per_chip(); k as usize];
        let mut part = partition(
            &g,
            nets.as_deref(),
            net.n_blocks(),
            &caps,
            self.preset,
            ctx.seed,
        )?;
        fm::repair(&g, &mut part, &caps);
        Ok(place_parts(
            net,
            topo,
            &ctx.rules,
            &g,
            &part,
            k,
            self.name(),
            ctx.seed,
        ))
    }
}

/// The hypergraph Mt-KaHyPar partitions, over the vertices of a [`BlockGraph`]: hyperedge `e`'s pins
/// are `pins[xpins[e]..xpins[e + 1]]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Hyperedges {
    pub xpins: Vec<usize>,
    pub pins: Vec<usize>,
    /// Invariant: every weight >= 1, and the largest objective (each weight times its hyperedge's
    /// pins less one, at most `k - 1`) sums to at most 2^30.
    pub weights: Vec<i32>,
}

/// The largest objective the weights may add up to, in Mt-KaHyPar's 32-bit weights.
const MAX_OBJECTIVE: f64 = (1u64 << 30) as f64;

impl Hyperedges {
    /// The unicast graph: one 2-pin hyperedge per edge of `g`, its weight scaled as METIS's are.
    pub fn unicast(g: &BlockGraph) -> Hyperedges {
        let w = crate::metis::metis_weights(g);
        let mut h = Hyperedges {
            xpins: vec![0],
            ..Hyperedges::default()
        };
        for v in 0..g.n() {
            let r = g.xadj[v]..g.xadj[v + 1];
            for (&u, &w) in g.adj[r.clone()].iter().zip(&w[r]) {
                if u as usize > v {
                    h.pins.extend([v, u as usize]);
                    h.xpins.push(h.pins.len());
                    h.weights.push(w);
                }
            }
        }
        h
    }

    /// The multicast nets over `g`'s vertices (`nets` over the blocks of the network `g` was built
    /// from, `n_blocks` of them), each cut into at most [`MAX_LEVELS`] levels, for `k` parts.
    pub fn multicast(g: &BlockGraph, nets: &Nets, n_blocks: usize, k: usize) -> Hyperedges {
        let mut local = vec![usize::MAX; n_blocks];
        for (v, b) in g.blocks.iter().enumerate() {
            local[b.idx()] = v;
        }
        // (pins incl. the source, weight in the graph's integer units) per level, before scaling.
        let mut levels: Vec<(Vec<usize>, i64)> = Vec::new();
        let mut pins: Vec<(i64, usize)> = Vec::new();
        for n in 0..nets.len() {
            let r = nets.xpins[n]..nets.xpins[n + 1];
            pins.clear();
            pins.extend(
                nets.pins[r.clone()]
                    .iter()
                    .zip(&nets.spikes[r])
                    .map(|(b, &s)| (((s * g.scale).round() as i64).max(1), local[b.idx()])),
            );
            // Heaviest first, ties by vertex: the order fixes the hyperedges, not the run.
            pins.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            let mut distinct: Vec<i64> = pins.iter().map(|p| p.0).collect();
            distinct.dedup();
            // The levels kept: all when few, else evenly spaced ranks, always the lightest (so that
            // every pin is in the last hyperedge) and the heaviest.
            let kept: Vec<i64> = if distinct.len() <= MAX_LEVELS {
                distinct
            } else {
                let last = distinct.len() - 1;
                (0..MAX_LEVELS)
                    .map(|j| distinct[j * last / (MAX_LEVELS - 1)])
                    .collect()
            };
            let src = local[nets.src[n].idx()];
            for (j, &t) in kept.iter().enumerate() {
                let next = kept.get(j + 1).copied().unwrap_or(0);
                let mut e = vec![src];
                e.extend(pins.iter().take_while(|p| p.0 >= t).map(|p| p.1));
                levels.push((e, t - next));
            }
        }
        let most: f64 = levels
            .iter()
            .map(|(e, w)| *w as f64 * (e.len().min(k).max(1) - 1) as f64)
            .sum();
        let factor = if most > MAX_OBJECTIVE {
            MAX_OBJECTIVE / most
        } else {
            1.0
        };
        let mut h = Hyperedges {
            xpins: vec![0],
            ..Hyperedges::default()
        };
        for (e, w) in levels {
            h.pins.extend(e);
            h.xpins.push(h.pins.len());
            h.weights.push(((w as f64 * factor).round() as i32).max(1));
        }
        h
    }
}

/// Mt-KaHyPar's partition of `g`'s vertices into `caps.len()` parts of at most `caps[0]` vertices
/// (all capacities equal), minimising the unicast cut or, with `nets`, the multicast cut (see the module
/// docs). Parts may come back over capacity: the caller repairs them ([`fm::repair`]).
pub fn partition(
    g: &BlockGraph,
    nets: Option<&Nets>,
    n_blocks: usize,
    caps: &[u32],
    preset: MtkPreset,
    seed: u64,
) -> Result<Vec<u32>, AllocError> {
    let n = g.n();
    // Mt-KaHyPar, as METIS, wants fewer parts than vertices: the extra chips stay empty.
    let k = caps.len().min(n);
    if k <= 1 {
        return Ok(vec![0; n]);
    }
    let h = match nets {
        Some(nets) => Hyperedges::multicast(g, nets, n_blocks, k),
        None => Hyperedges::unicast(g),
    };
    if h.weights.is_empty() {
        // No traffic between on-chip blocks: any partition that fits is optimal, and an even one fits
        // (the caller checked that `k` chips hold the blocks).
        return Ok((0..n).map(|v| (v * k / n) as u32).collect());
    }
    let cap = caps.iter().copied().min().unwrap_or(0);
    let mut part = run(g, &h, k as u32, cap, preset, seed, nets.is_some(), None)?;
    fm::fill_empty(g, &mut part, k);
    Ok(part)
}

/// Mt-KaHyPar's mapping of `g`'s vertices onto the first chips of a mesh `width` chips wide (chip
/// `y * width + x`), at most `cap` vertices per chip: its Steiner-tree objective, which for the unicast
/// graph's edges is each edge's weight times the hops between its ends' chips (unit edges
/// between mesh neighbours: dimension-order routing's hops are the mesh distance), the report's
/// `hop_spikes`. The vertices may use every chip of the target graph, as `benches/anchors/steiner.py`'s
/// mapping does: chips `0..n_chips` in row-major order (always connected, as Mt-KaHyPar requires), but
/// no more than one per [`MIN_PER_CHIP`] vertices and no fewer than `min_chips` (the fewest that hold
/// them). Capacity is repaired ([`fm::repair`]) where Mt-KaHyPar leaves a chip over.
pub fn map(
    g: &BlockGraph,
    n_chips: u32,
    min_chips: u32,
    width: u32,
    cap: u32,
    preset: MtkPreset,
    seed: u64,
) -> Result<Vec<u32>, AllocError> {
    let n = g.n();
    // Never more chips than vertices (Mt-KaHyPar wants fewer parts than vertices, as METIS does).
    let k = (n_chips as usize)
        .min(n / MIN_PER_CHIP)
        .max(min_chips as usize)
        .min(n);
    if k <= 1 {
        return Ok(vec![0; n]);
    }
    let h = Hyperedges::unicast(g);
    if h.weights.is_empty() {
        // No traffic between on-chip blocks: no hops either; the chips in order, full.
        return Ok((0..n).map(|v| (v / cap.max(1) as usize) as u32).collect());
    }
    let mut chip = run(
        g,
        &h,
        k as u32,
        cap,
        preset,
        seed,
        false,
        Some(width.max(1)),
    )?;
    fm::repair(g, &mut chip, &vec![cap; k]);
    Ok(chip)
}

/// `message` without the terminal colour codes (`ESC [ ... m`) Mt-KaHyPar puts in its errors.
pub fn plain(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // Skip to the end of the escape sequence: its final letter.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out.trim().to_string()
}

/// The fewest vertices per chip of [`map`]'s target graph. Mt-KaHyPar 1.5.1's initial mapping takes a
/// path of its own when its partition leaves a chip empty (`initial_mapping.cpp`, `repairEmptyBlocks`),
/// which it did with as many chips as vertices (`fixtures/conv-residual.json`, 6 blocks, on 6 chips of
/// a larger board): with its debug assertions on, an assertion there aborted the process. With tens of
/// vertices per chip its balanced initial partitions leave none empty.
pub const MIN_PER_CHIP: usize = 32;

/// The edges between mesh neighbours among chips `0..k` of a mesh `width` chips wide.
pub fn mesh_edges(k: u32, width: u32) -> Vec<(usize, usize)> {
    let mut edges = Vec::new();
    for c in 0..k {
        if (c + 1) % width != 0 && c + 1 < k {
            edges.push((c as usize, c as usize + 1));
        }
        if c + width < k {
            edges.push((c as usize, (c + width) as usize));
        }
    }
    edges
}

#[cfg(not(feature = "mtkahypar"))]
#[allow(clippy::too_many_arguments)]
fn run(
    _g: &BlockGraph,
    _h: &Hyperedges,
    _k: u32,
    _cap: u32,
    _preset: MtkPreset,
    _seed: u64,
    _km1: bool,
    _mesh: Option<u32>,
) -> Result<Vec<u32>, AllocError> {
    Err(not_built())
}

/// Serialises calls into Mt-KaHyPar (see the module docs).
#[cfg(feature = "mtkahypar")]
static MTK_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Mt-KaHyPar on `h` over `g`'s vertices: a partition into `k` parts or, with `mesh` (its width), a
/// mapping onto chips `0..k` of that mesh ([`mesh_edges`]).
#[cfg(feature = "mtkahypar")]
#[allow(clippy::too_many_arguments)]
fn run(
    g: &BlockGraph,
    h: &Hyperedges,
    k: u32,
    cap: u32,
    preset: MtkPreset,
    seed: u64,
    km1: bool,
    mesh: Option<u32>,
) -> Result<Vec<u32>, AllocError> {
    use mt_kahypar as mtk;
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    let n = g.n();
    // Vertex v is Mt-KaHyPar's vertex label[v].
    let mut label: Vec<usize> = (0..n).collect();
    label.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let pins: Vec<usize> = h.pins.iter().map(|&v| label[v]).collect();
    let mut vwgt = vec![0i32; n];
    for (v, &w) in g.vwgt.iter().enumerate() {
        vwgt[label[v]] = w as i32;
    }
    // Mt-KaHyPar's part limit is floor((1 + epsilon) * ceil(total / k)): half a block above `cap`
    // makes it `cap` whatever the rounding.
    let total: u64 = g.vwgt.iter().map(|&w| w as u64).sum();
    let perfect = total.div_ceil(k as u64).max(1);
    let epsilon = ((cap as f64 + 0.5) / perfect as f64 - 1.0).max(0.0);
    let backend = |e: mtk::Error| AllocError::Backend {
        name: "mtkahypar",
        message: plain(&e.to_string()),
    };
    let raw = {
        // A poisoned lock only means another call panicked; Mt-KaHyPar is reseeded below.
        let _guard = MTK_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        // One thread (see the module docs); only the first call in the process initialises.
        mtk::initialize(1, false);
        let preset = match preset {
            MtkPreset::Deterministic => mtk::Preset::Deterministic,
            MtkPreset::Default => mtk::Preset::Default,
            MtkPreset::Quality => mtk::Preset::Quality,
            MtkPreset::HighestQuality => mtk::Preset::HighestQuality,
            MtkPreset::LargeK => mtk::Preset::LargeK,
        };
        // Mt-KaHyPar's generator takes an int.
        let seed = (seed & 0x7fff_ffff) as usize;
        // The unicast graph as a graph; the multicast nets as a hypergraph (connectivity objective).
        if !km1 {
            run_graph(preset, k, epsilon, seed, &pins, &h.weights, &vwgt, mesh).map_err(|m| {
                AllocError::Backend {
                    name: "mtkahypar",
                    message: m,
                }
            })?
        } else {
            let ctx = mtk::Context::builder()
                .preset(preset)
                .k(k as i32)
                .epsilon(epsilon)
                .objective(mtk::Objective::Km1)
                .seed(seed)
                .verbose(false)
                .build()
                .map_err(backend)?;
            let hg = mtk::Hypergraph::from_adjacency(
                &ctx,
                n,
                &h.xpins,
                &pins,
                Some(&h.weights),
                Some(&vwgt),
            )
            .map_err(backend)?;
            let phg = hg.partition().map_err(backend)?;
            phg.extract_partition()
        }
    };
    let mut part = vec![0u32; n];
    for v in 0..n {
        let p = raw[label[v]];
        if p < 0 || p as u32 >= k {
            return Err(AllocError::Backend {
                name: "mtkahypar",
                message: format!("vertex {v} in part {p} of {k}"),
            });
        }
        part[v] = p as u32;
    }
    Ok(part)
}

/// Mt-KaHyPar on a graph (`pins`: its edges as pairs of vertices, `weights` theirs, `vwgt` the
/// vertices'), under the caller's lock: the part of each vertex, of a partition into `k` parts (cut
/// objective) or, with `mesh` (its width), of a mapping onto chips `0..k` of that mesh. Through
/// Mt-KaHyPar's C API, since the `mt-kahypar` crate builds every input as a hypergraph: Mt-KaHyPar's
/// graph data structures and refiners are its faster ones for 2-pin edges (and those of its Python
/// `create_graph`, which `benches/anchors` measures), and on a hypergraph Mt-KaHyPar 1.5 maps onto at
/// most 64 chips; on a graph onto any number (the Steiner tree of a 2-pin edge is a shortest path,
/// precomputed for every pair of chips).
#[cfg(feature = "mtkahypar")]
#[allow(clippy::too_many_arguments)]
fn run_graph(
    preset: mt_kahypar::Preset,
    k: u32,
    epsilon: f64,
    seed: usize,
    pins: &[usize],
    weights: &[i32],
    vwgt: &[i32],
    mesh: Option<u32>,
) -> Result<Vec<i32>, String> {
    use mt_kahypar::sys;
    use std::ptr;

    // Owners of what the C API allocates, freed in reverse order of creation (Rust drops locals so).
    struct Context(*mut sys::mt_kahypar_context_t);
    impl Drop for Context {
        fn drop(&mut self) {
            // SAFETY: created by mt_kahypar_context_from_preset, not null, freed once.
            unsafe { sys::mt_kahypar_free_context(self.0) }
        }
    }
    struct Graph(sys::mt_kahypar_hypergraph_t);
    impl Drop for Graph {
        fn drop(&mut self) {
            // SAFETY: created by mt_kahypar_create_graph, not null, freed once.
            unsafe { sys::mt_kahypar_free_hypergraph(self.0) }
        }
    }
    struct Target(*mut sys::mt_kahypar_target_graph_t);
    impl Drop for Target {
        fn drop(&mut self) {
            // SAFETY: created by mt_kahypar_create_target_graph, not null, freed once.
            unsafe { sys::mt_kahypar_free_target_graph(self.0) }
        }
    }
    struct Parted(sys::mt_kahypar_partitioned_hypergraph_t);
    impl Drop for Parted {
        fn drop(&mut self) {
            // SAFETY: returned by mt_kahypar_partition or mt_kahypar_map, not null, freed once and
            // before its graph.
            unsafe { sys::mt_kahypar_free_partitioned_hypergraph(self.0) }
        }
    }
    fn no_error() -> sys::mt_kahypar_error_t {
        sys::mt_kahypar_error_t {
            msg: ptr::null(),
            msg_len: 0,
            status: sys::mt_kahypar_status_t::SUCCESS,
        }
    }
    fn message(err: &mut sys::mt_kahypar_error_t, what: &str) -> String {
        if err.msg.is_null() {
            return format!("{what} failed");
        }
        // SAFETY: a non-null message is a NUL-terminated string the library allocated; freed once.
        unsafe {
            let m = std::ffi::CStr::from_ptr(err.msg)
                .to_string_lossy()
                .into_owned();
            sys::mt_kahypar_free_error_content(err);
            format!("{what}: {}", plain(&m))
        }
    }

    let n = vwgt.len();
    let mut err = no_error();
    // SAFETY: every pointer passed points into a live slice of the length the call is told (`pins`
    // and `mesh` hold two vertices per edge, `weights` one weight per edge, `vwgt` one per vertex, as
    // the callers build them); the library copies its inputs; each object is checked for null before
    // use and freed by its owner above.
    unsafe {
        let ctx = Context(sys::mt_kahypar_context_from_preset(preset.into()));
        if ctx.0.is_null() {
            return Err("mt_kahypar_context_from_preset returned no context".into());
        }
        sys::mt_kahypar_set_partitioning_parameters(
            ctx.0,
            k as i32,
            epsilon,
            mt_kahypar::Objective::Cut.into(),
        );
        sys::mt_kahypar_set_seed(seed);
        let graph = Graph(sys::mt_kahypar_create_graph(
            ctx.0,
            n as _,
            (pins.len() / 2) as _,
            pins.as_ptr() as _,
            weights.as_ptr(),
            vwgt.as_ptr(),
            &mut err,
        ));
        if graph.0.hypergraph.is_null() {
            return Err(message(&mut err, "mt_kahypar_create_graph"));
        }
        let Some(width) = mesh else {
            let parted = Parted(sys::mt_kahypar_partition(graph.0, ctx.0, &mut err));
            if parted.0.partitioned_hg.is_null() {
                return Err(message(&mut err, "mt_kahypar_partition"));
            }
            let mut part = vec![0; n];
            sys::mt_kahypar_get_partition(parted.0, part.as_mut_ptr());
            return Ok(part);
        };
        let mesh: Vec<usize> = mesh_edges(k, width)
            .into_iter()
            .flat_map(|(a, b)| [a, b])
            .collect();
        let target = Target(sys::mt_kahypar_create_target_graph(
            ctx.0,
            k as _,
            (mesh.len() / 2) as _,
            mesh.as_ptr() as _,
            ptr::null(),
            &mut err,
        ));
        if target.0.is_null() {
            return Err(message(&mut err, "mt_kahypar_create_target_graph"));
        }
        let mapped = Parted(sys::mt_kahypar_map(graph.0, target.0, ctx.0, &mut err));
        if mapped.0.partitioned_hg.is_null() {
            return Err(message(&mut err, "mt_kahypar_map"));
        }
        let mut part = vec![0; n];
        sys::mt_kahypar_get_partition(mapped.0, part.as_mut_ptr());
        Ok(part)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use snn_graph::{Block, BlockId, Edge};

    fn net(edges: &[(u32, u32, f64)], n: u32) -> Network {
        let blocks = (0..n).map(|b| Block::new(format!("b{b}"), 1)).collect();
        let edges = edges
            .iter()
            .map(|&(s, d, w)| Edge::new(BlockId(s), BlockId(d), w))
            .collect();
        Network::new("t", blocks, edges).unwrap()
    }

    #[test]
    fn errors_lose_their_colour_codes() {
        assert_eq!(
            plain("\u{1b}[1;91m[Unsupported Operation] \u{1b}[0m Large k is not supported."),
            "[Unsupported Operation]  Large k is not supported."
        );
        assert_eq!(plain("no codes"), "no codes");
    }

    #[test]
    fn mesh_edges_join_row_and_column_neighbours() {
        // Five chips of a mesh three wide: 0 1 2 over 3 4.
        assert_eq!(mesh_edges(5, 3), [(0, 1), (0, 3), (1, 2), (1, 4), (3, 4)]);
        assert_eq!(mesh_edges(3, 1), [(0, 1), (1, 2)]);
    }

    /// `groups` cliques of [`MIN_PER_CHIP`] vertices (edges of 10 spikes), clique i joined to clique
    /// i + 1 by one edge of 1 spike.
    #[cfg(feature = "mtkahypar")]
    fn chain_of_cliques(groups: u32) -> Network {
        let size = MIN_PER_CHIP as u32;
        let mut edges = Vec::new();
        for c in 0..groups {
            for i in 0..size {
                for j in i + 1..size {
                    edges.push((c * size + i, c * size + j, 10.0));
                }
            }
            if c + 1 < groups {
                edges.push((c * size, (c + 1) * size, 1.0));
            }
        }
        net(&edges, groups * size)
    }

    #[cfg(feature = "mtkahypar")]
    #[test]
    fn maps_a_chain_of_cliques_in_order_along_a_row() {
        // Four cliques onto four chips in a row that hold one each: the optimum keeps every clique
        // whole and puts neighbours in the chain on neighbouring chips, 3 hop-spikes in all.
        let net = chain_of_cliques(4);
        let g = BlockGraph::new(&net, &Adjacency::new(&net));
        let chip = map(&g, 4, 1, 4, MIN_PER_CHIP as u32, MtkPreset::Quality, 1).unwrap();
        let ideal: Vec<u32> = (0..g.n()).map(|v| (v / MIN_PER_CHIP) as u32).collect();
        assert_eq!(
            crate::hops::hop_cost(&g, &chip, 4),
            crate::hops::hop_cost(&g, &ideal, 4)
        );
    }

    #[cfg(feature = "mtkahypar")]
    #[test]
    fn maps_onto_more_than_64_chips() {
        // Mt-KaHyPar 1.5.1 refuses a hypergraph's Steiner-tree mapping onto more than 64 chips; as a
        // graph it maps onto 65 (13 x 5), every chip within its cores, every clique whole.
        let net = chain_of_cliques(65);
        let g = BlockGraph::new(&net, &Adjacency::new(&net));
        let cap = MIN_PER_CHIP as u32;
        let chip = map(&g, 65, 17, 13, cap, MtkPreset::Default, 2).unwrap();
        assert!(g.part_sizes(&chip, 65).iter().all(|&s| s <= cap));
        let cut_cliques = (0..g.n())
            .filter(|&v| chip[v] != chip[v - v % MIN_PER_CHIP])
            .count();
        assert_eq!(cut_cliques, 0);
    }

    #[test]
    fn presets_round_trip() {
        for name in MTK_PRESETS {
            assert_eq!(MtkPreset::from_name(name).unwrap().name(), *name);
        }
        assert!(MtkPreset::from_name("fast")
            .unwrap_err()
            .contains("known: deterministic, default"));
    }

    #[test]
    fn unicast_hyperedges_are_the_edges_once() {
        let net = net(&[(0, 1, 2.0), (1, 0, 1.0), (1, 2, 0.5)], 3);
        let g = BlockGraph::new(&net, &Adjacency::new(&net));
        let h = Hyperedges::unicast(&g);
        assert_eq!(h.xpins, [0, 2, 4]);
        assert_eq!(h.pins, [0, 1, 1, 2]);
        assert_eq!(h.weights, [3_000_000, 500_000]);
    }

    #[test]
    fn multicast_levels_add_up_to_the_largest_spikes() {
        // Block 0 sends 3 spikes to 1, 1 to 2 and 3: two levels, {0, 1} of weight 2 and {0, 1, 2, 3}
        // of weight 1. With 1 alone on another chip the net costs 3 = 2 + 1; with 2 alone, 1.
        let net = net(&[(0, 1, 3.0), (0, 2, 1.0), (0, 3, 1.0)], 4);
        let g = BlockGraph::new(&net, &Adjacency::new(&net));
        let h = Hyperedges::multicast(&g, &Nets::new(&net), 4, 2);
        assert_eq!(h.xpins, [0, 2, 6]);
        assert_eq!(h.pins, [0, 1, 0, 1, 2, 3]);
        assert_eq!(h.weights, [2_000_000, 1_000_000]);
    }

    #[test]
    fn multicast_keeps_at_most_max_levels() {
        let edges: Vec<(u32, u32, f64)> = (1..10).map(|d| (0, d, d as f64)).collect();
        let net = net(&edges, 10);
        let g = BlockGraph::new(&net, &Adjacency::new(&net));
        let h = Hyperedges::multicast(&g, &Nets::new(&net), 10, 4);
        assert_eq!(h.weights.len(), MAX_LEVELS);
        // The last level holds the source and every pin.
        assert_eq!(h.xpins[MAX_LEVELS] - h.xpins[MAX_LEVELS - 1], 10);
    }

    #[cfg(not(feature = "mtkahypar"))]
    #[test]
    fn without_the_feature_it_names_the_feature() {
        let net = net(&[(0, 1, 1.0), (2, 3, 1.0)], 4);
        let g = BlockGraph::new(&net, &Adjacency::new(&net));
        let e = partition(&g, None, 4, &[2, 2], MtkPreset::Quality, 1).unwrap_err();
        assert!(e.to_string().contains("--features mtkahypar"), "{e}");
    }

    #[cfg(feature = "mtkahypar")]
    #[test]
    fn finds_the_obvious_cut_at_zero_slack() {
        // Two 4-cliques joined by one light edge, on 2 chips of 4 cores.
        let mut edges = Vec::new();
        for c in 0..2u32 {
            for i in 0..4 {
                for j in i + 1..4 {
                    edges.push((c * 4 + i, c * 4 + j, 10.0));
                }
            }
        }
        edges.push((0, 4, 0.1));
        let net = net(&edges, 8);
        let g = BlockGraph::new(&net, &Adjacency::new(&net));
        for preset in [MtkPreset::Deterministic, MtkPreset::Quality] {
            for nets in [None, Some(Nets::new(&net))] {
                let part = partition(&g, nets.as_ref(), 8, &[4, 4], preset, 3).unwrap();
                assert_eq!(g.part_sizes(&part, 2), [4, 4], "{preset:?}");
                assert_eq!(g.cut(&part), 100_000, "{preset:?}");
            }
        }
    }
}
