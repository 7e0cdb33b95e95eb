//! `topologies` and `allocators`: the listings.

use snn_place::hardware::{topology_json, Topology, DEFAULT_PRESET, PRESETS};
use snn_place::DEFAULT_ALLOCATOR;

use super::output::print;
use super::Failure;

pub(crate) fn list_topologies(json: bool) -> Result<(), Failure> {
    let topos: Vec<Topology> = PRESETS
        .iter()
        .map(|p| Topology::preset(p.0).expect("listed presets exist"))
        .collect();
    if json {
        let all: Vec<_> = topos.iter().map(topology_json).collect();
        return print(&(serde_json::to_string_pretty(&all).expect("JSON values serialise") + "\n"));
    }
    let mut s = format!(
        "{:<16} {:>6} {:>6} {:>8}  {}\n",
        "preset", "chips", "grid", "cores", "description"
    );
    for (t, p) in topos.iter().zip(PRESETS) {
        let grid = format!("{}x{}", t.chips().x, t.chips().y);
        let default = if t.name == DEFAULT_PRESET {
            " (default)"
        } else {
            ""
        };
        s += &format!(
            "{:<16} {:>6} {:>6} {:>8}  {}{default}\n",
            t.name,
            t.n_chips(),
            grid,
            t.n_cores(),
            p.2
        );
    }
    let t = &topos[0];
    let c = t.core_limits();
    s += &format!(
        "Every preset's chip: {} cores on a {}x{} tile mesh; each core: {} compartments, {} input axons, \
         {} output axons, {} synapse bits.\n",
        t.cores_per_chip(),
        t.tiles().x,
        t.tiles().y,
        c.compartments,
        c.in_axons,
        c.out_axons,
        c.synapse_bits
    );
    print(&s)
}

pub(crate) fn list_allocators() -> Result<(), Failure> {
    let mut s = String::from("Allocators (--allocator NAME):\n");
    for (name, what) in snn_place::alloc::ALLOCATORS {
        let default = if *name == DEFAULT_ALLOCATOR {
            " (default)"
        } else {
            ""
        };
        s += &format!("  {name:<18} {what}{default}\n");
    }
    s += "Refiners (--refine NAME, after any allocator):\n";
    for (name, what) in snn_place::alloc::REFINERS {
        s += &format!("  {name:<18} {what}\n");
    }
    print(&s)
}
