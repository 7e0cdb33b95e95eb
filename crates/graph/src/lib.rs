//! The network: [`Network`] of [`Block`]s (groups of compartments that sit on one core) joined by
//! directed spike-traffic [`Edge`]s, read from and written to the `snn-net/1` format
//! (`shared/spec/net-format.md`, see [`io`]), and the compact [`Adjacency`] that allocators share.
//!
//! Invariant: a [`Network`] that exists is valid: unique block names, edges that name existing blocks,
//! every number finite and non-negative, every block with at least one compartment. The only ways to
//! make one are [`Network::new`] and the readers in [`io`], which both check.
//!
//! This crate knows nothing about hardware: whether a block fits a core is the placement crate's rule.

mod adjacency;
pub mod io;

use std::collections::HashMap;
use std::fmt;

pub use adjacency::{Adjacency, Neighbor};
pub use io::{read_net, read_net_file, write_net, write_net_gz};

/// The index of a block in its [`Network`] (its position in the file).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlockId(pub u32);

impl BlockId {
    pub fn idx(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for BlockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// One block: what one core (or the host) must hold.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    /// The block's unique name (`id` in the file).
    pub name: String,
    /// The layer or population the block came from, for reports.
    pub layer: Option<String>,
    /// Invariant: at least 1.
    pub compartments: u64,
    pub in_axons: u64,
    pub out_axons: u64,
    pub synapse_bits: u64,
    /// Mean spikes per compartment per timestep. Invariant: finite and >= 0.
    pub rate: f64,
    /// True: the block lives off-chip (inputs, probes, off-chip layers).
    pub host: bool,
}

impl Block {
    /// An on-chip block with `compartments` compartments and every other field at its default.
    pub fn new(name: impl Into<String>, compartments: u64) -> Block {
        Block {
            name: name.into(),
            layer: None,
            compartments,
            in_axons: 0,
            out_axons: 0,
            synapse_bits: 0,
            rate: 0.0,
            host: false,
        }
    }

    /// The same block, kept on the host.
    pub fn on_host(mut self) -> Block {
        self.host = true;
        self
    }
}

/// Spike traffic from one block to another.
#[derive(Clone, Debug, PartialEq)]
pub struct Edge {
    pub src: BlockId,
    pub dst: BlockId,
    /// Mean spike messages per timestep. Invariant: finite and >= 0.
    pub spikes: f64,
    /// Mean synaptic events per timestep, when the file gives them. Invariant: finite and >= 0.
    pub synops: Option<f64>,
}

impl Edge {
    pub fn new(src: BlockId, dst: BlockId, spikes: f64) -> Edge {
        Edge {
            src,
            dst,
            spikes,
            synops: None,
        }
    }

    /// Synaptic events per timestep: the file's figure, else one per message (the spec's default when the
    /// destination's synapses per axon are unknown, which `snn-net/1` does not record).
    pub fn synops(&self) -> f64 {
        self.synops.unwrap_or(self.spikes)
    }
}

/// What is wrong with a network. Each variant names the offending item.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GraphError {
    #[error("cannot read the file: {0}")]
    Io(#[source] std::io::Error),
    #[error("{0}")]
    Json(String),
    #[error("unknown format {found:?}, expected \"snn-net/1\"")]
    Format { found: String },
    #[error("missing field \"format\" (expected \"snn-net/1\")")]
    MissingFormat,
    #[error("block {name:?} appears twice (blocks[{first}] and blocks[{second}])")]
    DuplicateBlock {
        name: String,
        first: usize,
        second: usize,
    },
    #[error("blocks[{index}] ({name:?}): field \"{field}\" {problem}")]
    BadBlockField {
        index: usize,
        name: String,
        field: &'static str,
        problem: String,
    },
    #[error("edges[{index}] ({src:?} -> {dst:?}): field \"{field}\" {problem}")]
    BadEdgeField {
        index: usize,
        src: String,
        dst: String,
        field: &'static str,
        problem: String,
    },
    #[error("edges[{index}]: field \"{field}\" names unknown block {name:?}")]
    UnknownBlock {
        index: usize,
        field: &'static str,
        name: String,
    },
    #[error("the network has {n} blocks; at most {max} are supported")]
    TooManyBlocks { n: usize, max: usize },
    /// A block's `id` or `layer` that is too long or holds a control character (see [`id_problem`]).
    #[error("blocks[{index}]: field \"{field}\" {problem}")]
    BadId {
        index: usize,
        field: &'static str,
        problem: String,
    },
    /// An edge's `src` or `dst` longer than any id may be (it names no block).
    #[error("edges[{index}]: field \"{field}\" names no block: it is {len} bytes long, and ids are at most {MAX_ID_LEN}")]
    EdgeIdTooLong {
        index: usize,
        field: &'static str,
        len: usize,
    },
    #[error(
        "field \"name\" (the network's) is {len} bytes long; at most {MAX_ID_LEN} are supported"
    )]
    NameTooLong { len: usize },
}

/// The largest number of blocks a network may have (block ids are 32-bit).
pub const MAX_BLOCKS: usize = u32::MAX as usize;

/// The longest block id (and `layer` and network name), in bytes: ids are names for people and reports,
/// and a cap keeps one record from holding megabytes that every error and report would repeat.
pub const MAX_ID_LEN: usize = 4096;

/// The largest `spikes`, `synops` or `rate` a network may hold: 2^53, as for the integer fields. Sums and
/// products of a network's figures then stay finite (f64 reaches 1.8e308), so no report says `inf`.
pub const MAX_NUMBER: f64 = 9_007_199_254_740_992.0;

/// `name` for an error message: whole when short, else its first 64 characters and its length, so that an
/// error stays one readable line whatever a file holds.
pub fn clip(name: &str) -> String {
    const KEEP: usize = 64;
    match name.char_indices().nth(KEEP) {
        None => format!("{name:?}"),
        Some((end, _)) => format!("{:?}... ({} bytes)", &name[..end], name.len()),
    }
}

/// Why `id` cannot name a block or layer (too long, or holding a control character), or `None` when it can.
pub fn id_problem(id: &str) -> Option<String> {
    if id.len() > MAX_ID_LEN {
        return Some(format!(
            "is {} bytes long; at most {MAX_ID_LEN} are supported",
            id.len()
        ));
    }
    // Control characters would break the one-line-per-block tables and terminals that show ids.
    id.chars().find(|c| c.is_control()).map(|c| {
        format!(
            "{} contains the control character U+{:04X}; names must be printable",
            clip(id),
            c as u32
        )
    })
}

/// A valid spiking network (see the crate docs for its invariant).
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    pub name: String,
    blocks: Vec<Block>,
    edges: Vec<Edge>,
    by_name: HashMap<String, BlockId>,
}

impl Network {
    /// Checks and builds a network. Errors name the first offending block or edge.
    pub fn new(
        name: impl Into<String>,
        blocks: Vec<Block>,
        edges: Vec<Edge>,
    ) -> Result<Network, GraphError> {
        let name = name.into();
        if name.len() > MAX_ID_LEN {
            return Err(GraphError::NameTooLong { len: name.len() });
        }
        if blocks.len() > MAX_BLOCKS {
            return Err(GraphError::TooManyBlocks {
                n: blocks.len(),
                max: MAX_BLOCKS,
            });
        }
        let mut by_name = HashMap::with_capacity(blocks.len());
        for (index, b) in blocks.iter().enumerate() {
            check_block(index, b)?;
            if let Some(first) = by_name.insert(b.name.clone(), BlockId(index as u32)) {
                return Err(GraphError::DuplicateBlock {
                    name: b.name.clone(),
                    first: first.idx(),
                    second: index,
                });
            }
        }
        for (index, e) in edges.iter().enumerate() {
            for (field, id) in [("src", e.src), ("dst", e.dst)] {
                if id.idx() >= blocks.len() {
                    return Err(GraphError::UnknownBlock {
                        index,
                        field,
                        name: id.to_string(),
                    });
                }
            }
            let bad = |field, problem: String| GraphError::BadEdgeField {
                index,
                src: blocks[e.src.idx()].name.clone(),
                dst: blocks[e.dst.idx()].name.clone(),
                field,
                problem,
            };
            if let Some(problem) = non_negative_problem(e.spikes) {
                return Err(bad("spikes", problem));
            }
            if let Some(problem) = e.synops.and_then(non_negative_problem) {
                return Err(bad("synops", problem));
            }
        }
        Ok(Network {
            name,
            blocks,
            edges,
            by_name,
        })
    }

    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    pub fn edges(&self) -> &[Edge] {
        &self.edges
    }

    pub fn n_blocks(&self) -> usize {
        self.blocks.len()
    }

    pub fn block(&self, id: BlockId) -> &Block {
        &self.blocks[id.idx()]
    }

    /// All block ids in file order.
    pub fn block_ids(&self) -> impl ExactSizeIterator<Item = BlockId> {
        (0..self.blocks.len() as u32).map(BlockId)
    }

    /// The id of the block named `name`.
    pub fn find(&self, name: &str) -> Option<BlockId> {
        self.by_name.get(name).copied()
    }

    /// Blocks that must sit on a chip, in file order.
    pub fn on_chip_blocks(&self) -> impl Iterator<Item = BlockId> + '_ {
        self.block_ids().filter(|&b| !self.block(b).host)
    }

    pub fn n_on_chip(&self) -> usize {
        self.blocks.iter().filter(|b| !b.host).count()
    }
}

fn check_block(index: usize, b: &Block) -> Result<(), GraphError> {
    let layer = b
        .layer
        .as_deref()
        .and_then(id_problem)
        .map(|p| ("layer", p));
    if let Some((field, problem)) = id_problem(&b.name).map(|p| ("id", p)).or(layer) {
        return Err(GraphError::BadId {
            index,
            field,
            problem,
        });
    }
    let bad = |field, problem: String| GraphError::BadBlockField {
        index,
        name: b.name.clone(),
        field,
        problem,
    };
    if b.compartments == 0 {
        return Err(bad("compartments", "must be at least 1, got 0".into()));
    }
    if let Some(problem) = non_negative_problem(b.rate) {
        return Err(bad("rate", problem));
    }
    Ok(())
}

/// `x` for an error message: as written when short, in exponent form when huge (1e300, not 301 digits).
pub(crate) fn show(x: f64) -> String {
    if x.abs() < 1e15 {
        x.to_string()
    } else {
        format!("{x:e}")
    }
}

/// Why `x` is not a finite number in 0..=[`MAX_NUMBER`], or `None` when it is one.
fn non_negative_problem(x: f64) -> Option<String> {
    if !x.is_finite() {
        Some(format!("must be a finite number, got {x}"))
    } else if x < 0.0 {
        Some(format!("must be >= 0, got {}", show(x)))
    } else if x > MAX_NUMBER {
        Some(format!("is too large ({}; at most 2^53)", show(x)))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(blocks: Vec<Block>, edges: Vec<Edge>, expect: &str) {
        match Network::new("t", blocks, edges) {
            Ok(net) => assert_eq!("ok", expect, "{net:?}"),
            Err(e) => assert_eq!(e.to_string(), expect),
        }
    }

    #[test]
    fn accepts_a_valid_network() {
        check(
            vec![Block::new("a", 10), Block::new("b", 1).on_host()],
            vec![Edge::new(BlockId(0), BlockId(1), 2.5)],
            "ok",
        );
    }

    #[test]
    fn names_the_offending_item() {
        check(
            vec![Block::new("a", 0)],
            vec![],
            "blocks[0] (\"a\"): field \"compartments\" must be at least 1, got 0",
        );
        check(
            vec![Block::new("a", 1), Block::new("a", 2)],
            vec![],
            "block \"a\" appears twice (blocks[0] and blocks[1])",
        );
        check(
            vec![Block::new("a", 1)],
            vec![Edge::new(BlockId(0), BlockId(0), -1.0)],
            "edges[0] (\"a\" -> \"a\"): field \"spikes\" must be >= 0, got -1",
        );
        check(
            vec![Block::new("a", 1)],
            vec![Edge::new(BlockId(0), BlockId(0), f64::NAN)],
            "edges[0] (\"a\" -> \"a\"): field \"spikes\" must be a finite number, got NaN",
        );
        check(
            vec![Block::new("a", 1)],
            vec![Edge::new(BlockId(0), BlockId(3), 1.0)],
            "edges[0]: field \"dst\" names unknown block \"#3\"",
        );
        check(
            vec![Block::new("a\tb", 1)],
            vec![],
            "blocks[0]: field \"id\" \"a\\tb\" contains the control character U+0009; names must be printable",
        );
        let mut b = Block::new("l", 1);
        b.layer = Some("y".repeat(MAX_ID_LEN + 1));
        check(
            vec![b],
            vec![],
            "blocks[0]: field \"layer\" is 4097 bytes long; at most 4096 are supported",
        );
        match Network::new("n".repeat(MAX_ID_LEN + 1), vec![], vec![]) {
            Err(e) => assert_eq!(
                e.to_string(),
                "field \"name\" (the network's) is 4097 bytes long; at most 4096 are supported"
            ),
            Ok(_) => panic!("a 4097-byte name was accepted"),
        }
        let mut b = Block::new("r", 1);
        b.rate = 1e20;
        check(
            vec![b],
            vec![],
            "blocks[0] (\"r\"): field \"rate\" is too large (1e20; at most 2^53)",
        );
        let mut b = Block::new("r", 1);
        b.rate = f64::INFINITY;
        check(
            vec![b],
            vec![],
            "blocks[0] (\"r\"): field \"rate\" must be a finite number, got inf",
        );
    }

    #[test]
    fn clips_long_names_in_messages() {
        assert_eq!(clip("ab"), "\"ab\"");
        let long = "z".repeat(100);
        assert_eq!(clip(&long), format!("{:?}... (100 bytes)", "z".repeat(64)));
    }

    #[test]
    fn finds_blocks_by_name_and_lists_on_chip_ones() {
        let net = Network::new(
            "t",
            vec![
                Block::new("in", 4).on_host(),
                Block::new("a", 1),
                Block::new("b", 1),
            ],
            vec![],
        )
        .unwrap();
        assert_eq!(net.find("b"), Some(BlockId(2)));
        assert_eq!(net.find("zz"), None);
        assert_eq!(
            net.on_chip_blocks().collect::<Vec<_>>(),
            [BlockId(1), BlockId(2)]
        );
        assert_eq!(net.n_on_chip(), 2);
    }
}
