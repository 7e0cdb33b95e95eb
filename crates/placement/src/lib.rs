//! A [`Placement`] says where each block of a network sits: a core of a chip ([`Slot::Core`]) or the host
//! ([`Slot::Host`]). This crate holds the one validator ([`Placement::validate`], with [`Rules`]), the
//! capacity rule it shares with the allocators' early checks ([`check_blocks_fit`], [`core_overflow`]),
//! the `snn-placement/1` file format ([`io`]), the traffic figures ([`Metrics`], with the multicast
//! hypergraph [`Nets`]) and the `snn-report/1`
//! object ([`Report`]).
//!
//! Invariant: capacity rules live here and nowhere else. Depends on the graph and hardware crates only.

pub mod io;
mod metrics;
mod nets;
mod report;

use snn_graph::{Block, BlockId, Network};
use snn_hardware::{ChipId, CoreId, CoreLimits, Topology};

pub use io::{read_placement, read_placement_file, write_placement};
pub use metrics::Metrics;
pub use nets::Nets;
pub use report::{Report, REPORT_FORMAT};

/// Where one block sits.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Slot {
    Host,
    Core { chip: ChipId, core: CoreId },
}

impl Slot {
    pub fn chip(self) -> Option<ChipId> {
        match self {
            Slot::Host => None,
            Slot::Core { chip, .. } => Some(chip),
        }
    }
}

/// Where every block of one network sits, and what made the decision.
#[derive(Clone, Debug, PartialEq)]
pub struct Placement {
    /// Indexed by [`BlockId`]. [`Placement::validate`] checks that there is one slot per block.
    slots: Vec<Slot>,
    /// The allocator (or pipeline) that made the placement, as reports name it.
    pub allocator: String,
    pub seed: u64,
}

/// What the validator enforces beyond the topology itself.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Rules {
    /// Chips that may be used: ids `0..chips` (nengo-loihi's `n_chips`).
    pub chips: u32,
    /// Whether several blocks may share a core (up to the topology's `max_blocks`).
    pub packing: bool,
}

impl Rules {
    /// Every chip of the topology, one block per core.
    pub fn for_topology(topo: &Topology) -> Rules {
        Rules {
            chips: topo.n_chips(),
            packing: false,
        }
    }
}

/// A placement that breaks a rule, or a placement file that does not match its network.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlacementError {
    #[error("the placement has {slots} entries for a network of {blocks} blocks")]
    WrongLength { blocks: usize, slots: usize },
    #[error("block {block:?} is a host block but is placed on chip {chip}, core {core}")]
    HostBlockOnChip { block: String, chip: u32, core: u32 },
    #[error("block {block:?} is an on-chip block but is placed on the host")]
    OnChipBlockOnHost { block: String },
    #[error("block {block:?} is placed on chip {chip}, but only chips 0..{n_chips} may be used")]
    NoSuchChip {
        block: String,
        chip: u32,
        n_chips: u32,
    },
    #[error("block {block:?} is placed on core {core} of chip {chip}, but a chip has cores 0..{cores_per_chip}")]
    NoSuchCore {
        block: String,
        chip: u32,
        core: u32,
        cores_per_chip: u32,
    },
    #[error(
        "block {block:?} does not fit one core: {field} {needed} exceeds the core limit {limit}"
    )]
    BlockTooBig {
        block: String,
        field: &'static str,
        needed: u64,
        limit: u64,
    },
    #[error(
        "chip {chip}, core {core} is over its {field} limit: {needed} > {limit} (blocks {blocks})"
    )]
    CoreOverflow {
        chip: u32,
        core: u32,
        field: &'static str,
        needed: u64,
        limit: u64,
        blocks: String,
    },
    #[error("chip {chip}, core {core} holds {n} blocks ({blocks}); {why}")]
    CoreShared {
        chip: u32,
        core: u32,
        n: usize,
        blocks: String,
        why: String,
    },
    #[error("{0}")]
    File(String),
}

impl Placement {
    /// A placement from one slot per block, in block order.
    pub fn new(slots: Vec<Slot>, allocator: impl Into<String>, seed: u64) -> Placement {
        Placement {
            slots,
            allocator: allocator.into(),
            seed,
        }
    }

    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    pub fn slot(&self, b: BlockId) -> Slot {
        self.slots[b.idx()]
    }

    /// Moves a block. The caller validates the result.
    pub fn set(&mut self, b: BlockId, s: Slot) {
        self.slots[b.idx()] = s;
    }

    /// The one validator: each block placed exactly once (one slot per block), host blocks on the host,
    /// on-chip blocks on an existing core of a usable chip, and no core over any per-core limit or over the
    /// number of blocks it may hold. The first broken rule is returned, in block order, then core order.
    pub fn validate(
        &self,
        net: &Network,
        topo: &Topology,
        rules: &Rules,
    ) -> Result<(), PlacementError> {
        if self.slots.len() != net.n_blocks() {
            return Err(PlacementError::WrongLength {
                blocks: net.n_blocks(),
                slots: self.slots.len(),
            });
        }
        let n_chips = rules.chips.min(topo.n_chips());
        let cores_per_chip = topo.cores_per_chip();
        let mut used: Vec<(ChipId, CoreId, BlockId)> = Vec::with_capacity(net.n_on_chip());
        for (b, (block, &slot)) in net.block_ids().zip(net.blocks().iter().zip(&self.slots)) {
            match (block.host, slot) {
                (true, Slot::Host) => {}
                (true, Slot::Core { chip, core }) => {
                    return Err(PlacementError::HostBlockOnChip {
                        block: block.name.clone(),
                        chip: chip.0,
                        core: core.0,
                    })
                }
                (false, Slot::Host) => {
                    return Err(PlacementError::OnChipBlockOnHost {
                        block: block.name.clone(),
                    })
                }
                (false, Slot::Core { chip, core }) => {
                    if chip.0 >= n_chips {
                        return Err(PlacementError::NoSuchChip {
                            block: block.name.clone(),
                            chip: chip.0,
                            n_chips,
                        });
                    }
                    if core.0 >= cores_per_chip {
                        return Err(PlacementError::NoSuchCore {
                            block: block.name.clone(),
                            chip: chip.0,
                            core: core.0,
                            cores_per_chip,
                        });
                    }
                    used.push((chip, core, b));
                }
            }
        }
        used.sort_unstable();
        let limits = topo.core_limits();
        for group in used.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
            let (chip, core) = (group[0].0, group[0].1);
            let names = || {
                let mut s: Vec<&str> = group
                    .iter()
                    .take(4)
                    .map(|g| net.block(g.2).name.as_str())
                    .collect();
                if group.len() > 4 {
                    s.push("...");
                }
                s.join(", ")
            };
            let max = if rules.packing {
                limits.max_blocks as usize
            } else {
                1
            };
            if group.len() > max {
                return Err(PlacementError::CoreShared {
                    chip: chip.0,
                    core: core.0,
                    n: group.len(),
                    blocks: names(),
                    why: if rules.packing {
                        format!("at most {max} may share a core (core.max_blocks)")
                    } else {
                        "without packing a core holds one block".into()
                    },
                });
            }
            if let Some((field, needed, limit)) =
                core_overflow(group.iter().map(|g| net.block(g.2)), limits)
            {
                return Err(if group.len() == 1 {
                    PlacementError::BlockTooBig {
                        block: net.block(group[0].2).name.clone(),
                        field,
                        needed,
                        limit,
                    }
                } else {
                    PlacementError::CoreOverflow {
                        chip: chip.0,
                        core: core.0,
                        field,
                        needed,
                        limit,
                        blocks: names(),
                    }
                });
            }
        }
        Ok(())
    }
}

/// The capacity rule: the first per-core limit that `blocks`, summed, exceed, as (field, needed, limit).
pub fn core_overflow<'a>(
    blocks: impl IntoIterator<Item = &'a Block>,
    limits: &CoreLimits,
) -> Option<(&'static str, u64, u64)> {
    let mut sum = [0u64; 4];
    for b in blocks {
        for (s, v) in sum
            .iter_mut()
            .zip([b.compartments, b.in_axons, b.out_axons, b.synapse_bits])
        {
            *s = s.saturating_add(v);
        }
    }
    let fields = [
        ("compartments", limits.compartments),
        ("in_axons", limits.in_axons),
        ("out_axons", limits.out_axons),
        ("synapse_bits", limits.synapse_bits),
    ];
    fields
        .iter()
        .zip(sum)
        .find(|((_, limit), needed)| needed > limit)
        .map(|(&(field, limit), needed)| (field, needed, limit))
}

/// Checks before allocating that every on-chip block fits one core on its own; names the first that does not.
pub fn check_blocks_fit(net: &Network, topo: &Topology) -> Result<(), PlacementError> {
    for b in net.blocks().iter().filter(|b| !b.host) {
        if let Some((field, needed, limit)) = core_overflow([b], topo.core_limits()) {
            return Err(PlacementError::BlockTooBig {
                block: b.name.clone(),
                field,
                needed,
                limit,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use snn_graph::Block;

    fn net() -> Network {
        let mut big = Block::new("big", 600);
        big.in_axons = 3000;
        Network::new(
            "t",
            vec![Block::new("in", 8).on_host(), Block::new("a", 600), big],
            vec![],
        )
        .unwrap()
    }

    fn core(chip: u32, core: u32) -> Slot {
        Slot::Core {
            chip: ChipId(chip),
            core: CoreId(core),
        }
    }

    fn check(slots: Vec<Slot>, rules: Rules, expect: &str) {
        let topo = Topology::preset("kapoho-bay").unwrap();
        let got = Placement::new(slots, "test", 0).validate(&net(), &topo, &rules);
        match got {
            Ok(()) => assert_eq!("ok", expect),
            Err(e) => assert_eq!(e.to_string(), expect),
        }
    }

    const ALL: Rules = Rules {
        chips: 2,
        packing: false,
    };
    const PACK: Rules = Rules {
        chips: 2,
        packing: true,
    };

    #[test]
    fn accepts_a_valid_placement() {
        check(vec![Slot::Host, core(0, 0), core(1, 127)], ALL, "ok");
    }

    #[test]
    fn names_what_breaks_each_rule() {
        check(
            vec![Slot::Host, core(0, 0)],
            ALL,
            "the placement has 2 entries for a network of 3 blocks",
        );
        check(
            vec![core(0, 1), core(0, 0), core(1, 0)],
            ALL,
            "block \"in\" is a host block but is placed on chip 0, core 1",
        );
        check(
            vec![Slot::Host, Slot::Host, core(1, 0)],
            ALL,
            "block \"a\" is an on-chip block but is placed on the host",
        );
        check(
            vec![Slot::Host, core(0, 0), core(1, 0)],
            Rules {
                chips: 1,
                packing: false,
            },
            "block \"big\" is placed on chip 1, but only chips 0..1 may be used",
        );
        check(
            vec![Slot::Host, core(0, 0), core(2, 0)],
            ALL,
            "block \"big\" is placed on chip 2, but only chips 0..2 may be used",
        );
        check(
            vec![Slot::Host, core(0, 128), core(1, 0)],
            ALL,
            "block \"a\" is placed on core 128 of chip 0, but a chip has cores 0..128",
        );
        check(
            vec![Slot::Host, core(0, 3), core(0, 3)],
            ALL,
            "chip 0, core 3 holds 2 blocks (a, big); without packing a core holds one block",
        );
        check(
            vec![Slot::Host, core(0, 3), core(0, 3)],
            PACK,
            "chip 0, core 3 is over its compartments limit: 1200 > 1024 (blocks a, big)",
        );
    }

    #[test]
    fn a_block_alone_over_a_limit_is_named() {
        let mut huge = Block::new("huge", 10);
        huge.synapse_bits = 2_000_000;
        let net = Network::new("t", vec![huge], vec![]).unwrap();
        let topo = Topology::preset("loihi").unwrap();
        let want = "block \"huge\" does not fit one core: synapse_bits 2000000 exceeds the core limit 1048576";
        assert_eq!(check_blocks_fit(&net, &topo).unwrap_err().to_string(), want);
        let p = Placement::new(vec![core(0, 0)], "t", 0);
        let err = p.validate(&net, &topo, &Rules::for_topology(&topo));
        assert_eq!(err.unwrap_err().to_string(), want);
    }
}
