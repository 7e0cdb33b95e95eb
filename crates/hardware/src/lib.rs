//! Neuromorphic boards: [`Topology`] (chips on a 2D mesh, tiles and cores on each chip, the per-core
//! [`CoreLimits`], the time-model [`CostModel`]), the built-in presets ([`Topology::preset`], [`PRESETS`]),
//! the `snn-topology/1` file format (`shared/spec/topology-format.md`) and dimension-order routing
//! ([`Topology::route`]), the one routing function every crate uses.
//!
//! Invariant: a [`Topology`] that exists has at least one chip, tile and core, positive per-core limits,
//! and at most [`MAX_CHIPS`] chips and [`MAX_CORES_PER_CHIP`] cores per chip, so chip and core ids fit
//! `u32` and every count fits `usize`. This crate does not know about networks or placements.

mod cost;
mod io;
mod loihi2;
mod presets;

use std::fmt;

pub use cost::{CostModel, COST_KEYS, MAX_COST_NS};
pub use io::{load_topology, read_topology, read_topology_file, topology_json, TOPOLOGY_FORMAT};
pub use presets::{DEFAULT_PRESET, PRESETS};

/// How a spike travels to the chips of its destinations, the cost the traffic-aware allocators minimise
/// and the emulator charges.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TrafficModel {
    /// One message per destination core (Loihi 1): inter-chip traffic is the spikes on edges between
    /// chips (`interchip_spikes`).
    #[default]
    Unicast,
    /// One message per destination chip, replicated there (Loihi 2, SpiNNaker): inter-chip traffic is a
    /// hypergraph cut, per source block the chips it reaches (`multicast_spikes`).
    Multicast,
}

/// The names `--traffic` takes, in [`TrafficModel`] order.
pub const TRAFFIC_MODELS: &[&str] = &["unicast", "multicast"];

impl TrafficModel {
    pub fn name(self) -> &'static str {
        match self {
            TrafficModel::Unicast => "unicast",
            TrafficModel::Multicast => "multicast",
        }
    }

    /// The model called `name`, or an error naming the known ones.
    pub fn from_name(name: &str) -> Result<TrafficModel, String> {
        match name {
            "unicast" => Ok(TrafficModel::Unicast),
            "multicast" => Ok(TrafficModel::Multicast),
            _ => Err(format!(
                "unknown traffic model {name:?}; known: {}",
                TRAFFIC_MODELS.join(", ")
            )),
        }
    }
}

/// Which time model the emulator uses for a board.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuntimeModel {
    /// Loihi 1's per-operation model (SANA-FE's constants, Davies et al. 2018): per core the slower of
    /// the neuron chain and the message chain, the busiest link, plus the on-chip network delay, the
    /// barrier and the host phase.
    #[default]
    Loihi,
    /// Loihi 2's max-affine model (Timcheck, Pierro and Shrestha, arXiv 2601.10035): the largest of the
    /// per-core dendrite operations, synaptic operations, synaptic-memory reads and NoC bits, each times
    /// its constant, plus the barrier and the host phase.
    Loihi2,
}

/// The names of the runtime models, in [`RuntimeModel`] order.
pub const RUNTIME_MODELS: &[&str] = &["loihi", "loihi2"];

impl RuntimeModel {
    pub fn name(self) -> &'static str {
        match self {
            RuntimeModel::Loihi => "loihi",
            RuntimeModel::Loihi2 => "loihi2",
        }
    }

    /// The model called `name`, or an error naming the known ones.
    pub fn from_name(name: &str) -> Result<RuntimeModel, String> {
        match name {
            "loihi" => Ok(RuntimeModel::Loihi),
            "loihi2" => Ok(RuntimeModel::Loihi2),
            _ => Err(format!(
                "unknown runtime model {name:?}; known: {}",
                RUNTIME_MODELS.join(", ")
            )),
        }
    }
}

/// A chip's id on its board: `y * chips.x + x`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChipId(pub u32);

/// A core's id on its chip: `tile * cores_per_tile + k`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CoreId(pub u32);

impl ChipId {
    pub fn idx(self) -> usize {
        self.0 as usize
    }
}

impl CoreId {
    pub fn idx(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for ChipId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "chip {}", self.0)
    }
}

impl fmt::Display for CoreId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "core {}", self.0)
    }
}

/// A 2D grid size.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Grid {
    pub x: u32,
    pub y: u32,
}

impl Grid {
    pub fn count(self) -> u64 {
        self.x as u64 * self.y as u64
    }
}

/// What one core holds. A block, or the blocks sharing a core, must stay within every limit.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CoreLimits {
    pub compartments: u64,
    pub in_axons: u64,
    pub out_axons: u64,
    pub synapse_bits: u64,
    /// How many blocks may share one core when packing is on.
    pub max_blocks: u32,
}

impl CoreLimits {
    /// Loihi's per-core limits: 1,024 compartments, 4,096 input and 4,096 output axons, 16,384 x 64 bits of
    /// synapse memory (nengo-loihi `nengo_loihi/block.py`; Davies et al. 2018, IEEE Micro 38(1)), and 16
    /// blocks per core (a core's 16 threshold and 16 synapse configuration slots, as nengo-loihi's hardware
    /// validation checks).
    pub const LOIHI: CoreLimits = CoreLimits {
        compartments: 1024,
        in_axons: 4096,
        out_axons: 4096,
        synapse_bits: 16_384 * 64,
        max_blocks: 16,
    };
}

/// The compass direction of a chip-to-chip link: east is +x, north is +y.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dir {
    East = 0,
    West = 1,
    North = 2,
    South = 3,
}

/// A directed chip-to-chip link, named by the chip it leaves and its direction.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Link {
    pub from: ChipId,
    pub dir: Dir,
}

impl Link {
    /// A dense index of the link, below [`Topology::n_link_slots`].
    pub fn slot(self) -> usize {
        self.from.idx() * 4 + self.dir as usize
    }

    pub fn from_slot(slot: usize) -> Link {
        let dir = match slot % 4 {
            0 => Dir::East,
            1 => Dir::West,
            2 => Dir::North,
            _ => Dir::South,
        };
        Link {
            from: ChipId((slot / 4) as u32),
            dir,
        }
    }
}

/// The most chips a topology may have (Hala Point, the largest Loihi system, has 1,152).
pub const MAX_CHIPS: u64 = 1 << 20;
/// The most cores one chip may have.
pub const MAX_CORES_PER_CHIP: u64 = 1 << 16;

/// A board: chips on a 2D mesh, each with a mesh of tiles holding cores (see the crate docs).
#[derive(Clone, Debug, PartialEq)]
pub struct Topology {
    pub name: String,
    /// Invariant: both sides >= 1, `chips.count() <= MAX_CHIPS`.
    chips: Grid,
    /// Invariant: both sides >= 1.
    tiles: Grid,
    /// Invariant: >= 1, `tiles.count() * cores_per_tile <= MAX_CORES_PER_CHIP`.
    cores_per_tile: u32,
    /// Invariant: every limit >= 1.
    core: CoreLimits,
    pub cost: CostModel,
    /// How spikes reach other chips on this board: the default of `--traffic` (a flag overrides it).
    pub traffic: TrafficModel,
    /// The emulator's time model for this board.
    pub runtime: RuntimeModel,
}

/// What is wrong with a topology. Each variant names the offending field.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TopologyError {
    #[error("cannot read the file: {0}")]
    Io(#[source] std::io::Error),
    #[error("{0}")]
    Json(String),
    #[error("unknown format {found:?}, expected \"snn-topology/1\"")]
    Format { found: String },
    #[error("missing field \"format\" (expected \"snn-topology/1\")")]
    MissingFormat,
    #[error("field \"{field}\" {problem}")]
    BadField { field: String, problem: String },
    #[error("unknown topology {name:?}: not a preset ({presets}) and no such file")]
    Unknown { name: String, presets: String },
}

impl Topology {
    /// Checks and builds a topology.
    pub fn new(
        name: impl Into<String>,
        chips: Grid,
        tiles: Grid,
        cores_per_tile: u32,
        core: CoreLimits,
        cost: CostModel,
    ) -> Result<Topology, TopologyError> {
        let bad = |field: &str, problem: String| {
            Err(TopologyError::BadField {
                field: field.to_string(),
                problem,
            })
        };
        for (field, g) in [("chips", chips), ("tiles", tiles)] {
            if g.x == 0 || g.y == 0 {
                return bad(field, format!("must be at least 1x1, got {}x{}", g.x, g.y));
            }
        }
        if chips.count() > MAX_CHIPS {
            return bad(
                "chips",
                format!(
                    "has {} chips ({}x{}); at most {MAX_CHIPS} are supported",
                    chips.count(),
                    chips.x,
                    chips.y
                ),
            );
        }
        if cores_per_tile == 0 {
            return bad("cores_per_tile", "must be at least 1, got 0".into());
        }
        let per_chip = tiles.count() * cores_per_tile as u64;
        if per_chip > MAX_CORES_PER_CHIP {
            return bad(
                "tiles",
                format!(
                    "gives {per_chip} cores per chip; at most {MAX_CORES_PER_CHIP} are supported"
                ),
            );
        }
        for (field, v) in [
            ("core.compartments", core.compartments),
            ("core.in_axons", core.in_axons),
            ("core.out_axons", core.out_axons),
            ("core.synapse_bits", core.synapse_bits),
            ("core.max_blocks", core.max_blocks as u64),
        ] {
            if v == 0 {
                return bad(field, "must be at least 1, got 0".into());
            }
        }
        cost.check()?;
        Ok(Topology {
            name: name.into(),
            chips,
            tiles,
            cores_per_tile,
            core,
            cost,
            traffic: TrafficModel::Unicast,
            runtime: RuntimeModel::Loihi,
        })
    }

    /// A preset by name (see [`PRESETS`]).
    pub fn preset(name: &str) -> Option<Topology> {
        presets::build(name)
    }

    pub fn chips(&self) -> Grid {
        self.chips
    }

    pub fn tiles(&self) -> Grid {
        self.tiles
    }

    pub fn cores_per_tile(&self) -> u32 {
        self.cores_per_tile
    }

    pub fn core_limits(&self) -> &CoreLimits {
        &self.core
    }

    pub fn n_chips(&self) -> u32 {
        self.chips.count() as u32
    }

    pub fn cores_per_chip(&self) -> u32 {
        (self.tiles.count() * self.cores_per_tile as u64) as u32
    }

    pub fn n_cores(&self) -> u64 {
        self.n_chips() as u64 * self.cores_per_chip() as u64
    }

    /// The chip's (x, y) on the board.
    pub fn chip_xy(&self, c: ChipId) -> (u32, u32) {
        (c.0 % self.chips.x, c.0 / self.chips.x)
    }

    pub fn chip_at(&self, x: u32, y: u32) -> ChipId {
        ChipId(y * self.chips.x + x)
    }

    /// Chip-to-chip hops between two chips (Manhattan distance on the mesh).
    pub fn chip_hops(&self, a: ChipId, b: ChipId) -> u32 {
        let (ax, ay) = self.chip_xy(a);
        let (bx, by) = self.chip_xy(b);
        ax.abs_diff(bx) + ay.abs_diff(by)
    }

    /// The number of link slots: [`Link::slot`] is below it.
    pub fn n_link_slots(&self) -> usize {
        self.n_chips() as usize * 4
    }

    /// The chip a link leads to.
    pub fn link_target(&self, l: Link) -> ChipId {
        let (x, y) = self.chip_xy(l.from);
        match l.dir {
            Dir::East => self.chip_at(x + 1, y),
            Dir::West => self.chip_at(x - 1, y),
            Dir::North => self.chip_at(x, y + 1),
            Dir::South => self.chip_at(x, y - 1),
        }
    }

    /// Dimension-order routing: the links a message from chip `a` to chip `b` crosses, first along x,
    /// then along y (Davies et al. 2018: Loihi's mesh routes dimension-order, on tiles and between chips).
    pub fn route(&self, a: ChipId, b: ChipId) -> Route {
        let (x, y) = self.chip_xy(a);
        let (tx, ty) = self.chip_xy(b);
        Route {
            x,
            y,
            tx,
            ty,
            width: self.chips.x,
        }
    }

    /// The tile (x, y) of a core on its chip.
    pub fn tile_xy(&self, core: CoreId) -> (u32, u32) {
        let tile = core.0 / self.cores_per_tile;
        (tile % self.tiles.x, tile / self.tiles.x)
    }
}

/// The links of one dimension-order route, in the order a message crosses them.
#[derive(Clone, Debug)]
pub struct Route {
    x: u32,
    y: u32,
    tx: u32,
    ty: u32,
    width: u32,
}

impl Iterator for Route {
    type Item = Link;

    fn next(&mut self) -> Option<Link> {
        let from = ChipId(self.y * self.width + self.x);
        let dir = if self.x < self.tx {
            self.x += 1;
            Dir::East
        } else if self.x > self.tx {
            self.x -= 1;
            Dir::West
        } else if self.y < self.ty {
            self.y += 1;
            Dir::North
        } else if self.y > self.ty {
            self.y -= 1;
            Dir::South
        } else {
            return None;
        };
        Some(Link { from, dir })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = (self.x.abs_diff(self.tx) + self.y.abs_diff(self.ty)) as usize;
        (n, Some(n))
    }
}

impl ExactSizeIterator for Route {}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(topo: &Topology, a: u32, b: u32, expect: &[(u32, Dir)]) {
        let got: Vec<(u32, Dir)> = topo
            .route(ChipId(a), ChipId(b))
            .map(|l| (l.from.0, l.dir))
            .collect();
        assert_eq!(got, expect);
        assert_eq!(topo.chip_hops(ChipId(a), ChipId(b)) as usize, got.len());
        // Each link leads to where the next one starts, and the last one reaches b.
        let mut at = ChipId(a);
        for l in topo.route(ChipId(a), ChipId(b)) {
            assert_eq!(l.from, at);
            at = topo.link_target(l);
        }
        assert_eq!(at, ChipId(b));
    }

    #[test]
    fn traffic_model_names_round_trip() {
        for name in TRAFFIC_MODELS {
            assert_eq!(TrafficModel::from_name(name).unwrap().name(), *name);
        }
        assert_eq!(
            TrafficModel::from_name("broadcast").unwrap_err(),
            "unknown traffic model \"broadcast\"; known: unicast, multicast"
        );
    }

    #[test]
    fn routes_x_first_then_y() {
        let t = Topology::preset("nahuku32").unwrap();
        assert_eq!((t.chips().x, t.chips().y), (4, 8));
        // Chip 1 is (1, 0); chip 14 is (2, 3).
        check(
            &t,
            1,
            14,
            &[
                (1, Dir::East),
                (2, Dir::North),
                (6, Dir::North),
                (10, Dir::North),
            ],
        );
        check(
            &t,
            14,
            1,
            &[
                (14, Dir::West),
                (13, Dir::South),
                (9, Dir::South),
                (5, Dir::South),
            ],
        );
        check(&t, 5, 5, &[]);
    }

    #[test]
    fn link_slots_round_trip() {
        for slot in 0..64 {
            assert_eq!(Link::from_slot(slot).slot(), slot);
        }
    }

    #[test]
    fn tiles_and_cores() {
        let t = Topology::preset("loihi").unwrap();
        assert_eq!(t.cores_per_chip(), 128);
        assert_eq!(t.tile_xy(CoreId(0)), (0, 0));
        assert_eq!(t.tile_xy(CoreId(5)), (1, 0));
        assert_eq!(t.tile_xy(CoreId(127)), (7, 3));
    }

    #[test]
    fn rejects_empty_and_absurd_boards() {
        let new = |chips: Grid, tiles: Grid, cpt| {
            Topology::new(
                "t",
                chips,
                tiles,
                cpt,
                CoreLimits::LOIHI,
                CostModel::default(),
            )
            .map(|_| ())
            .map_err(|e| e.to_string())
        };
        let g = |x, y| Grid { x, y };
        assert_eq!(new(g(2, 2), g(1, 1), 1), Ok(()));
        assert_eq!(
            new(g(0, 0), g(1, 1), 1),
            Err("field \"chips\" must be at least 1x1, got 0x0".into())
        );
        assert_eq!(
            new(g(100_000, 10_000), g(1, 1), 1),
            Err("field \"chips\" has 1000000000 chips (100000x10000); at most 1048576 are supported".into())
        );
        assert_eq!(
            new(g(1, 1), g(1, 1), 0),
            Err("field \"cores_per_tile\" must be at least 1, got 0".into())
        );
    }
}
