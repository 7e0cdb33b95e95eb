//! Reading and writing `snn-topology/1` (`shared/spec/topology-format.md`).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde::Deserialize;

use crate::{CoreLimits, CostModel, Grid, Topology, TopologyError, COST_KEYS, PRESETS};

/// The format tag of a topology file.
pub const TOPOLOGY_FORMAT: &str = "snn-topology/1";

#[derive(Deserialize)]
struct RawTopology {
    format: Option<String>,
    name: Option<String>,
    chips: RawGrid,
    tiles: RawGrid,
    cores_per_tile: u64,
    core: RawCore,
    #[serde(default, deserialize_with = "unique_keys")]
    cost: BTreeMap<String, f64>,
}

/// The `cost` object: a key given twice is an error naming it (serde_json would keep the last silently).
fn unique_keys<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, f64>, D::Error> {
    struct Unique;
    impl<'de> serde::de::Visitor<'de> for Unique {
        type Value = BTreeMap<String, f64>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object of cost constants")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut m: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some((key, v)) = m.next_entry::<String, f64>()? {
                if out.contains_key(&key) {
                    return Err(serde::de::Error::custom(format!("duplicate key {key:?}")));
                }
                out.insert(key, v);
            }
            Ok(out)
        }
    }
    d.deserialize_map(Unique)
}

#[derive(Deserialize)]
struct RawGrid {
    x: u64,
    y: u64,
}

#[derive(Deserialize)]
struct RawCore {
    compartments: u64,
    in_axons: u64,
    out_axons: u64,
    synapse_bits: u64,
    max_blocks: Option<u64>,
}

/// Reads a topology file.
pub fn read_topology_file(path: &Path) -> Result<Topology, TopologyError> {
    let file = std::fs::File::open(path).map_err(TopologyError::Io)?;
    read_topology(file)
}

/// A preset by name, else a topology file at that path.
pub fn load_topology(spec: &str) -> Result<Topology, TopologyError> {
    if let Some(t) = Topology::preset(spec) {
        return Ok(t);
    }
    let path = Path::new(spec);
    if !path.exists() {
        return Err(TopologyError::Unknown {
            name: spec.to_string(),
            presets: PRESETS.iter().map(|p| p.0).collect::<Vec<_>>().join(", "),
        });
    }
    read_topology_file(path)
}

/// Reads a topology from JSON text. Unknown fields are ignored, except in `cost`, where an unknown key is
/// an error (a misspelt override would otherwise be silently dropped).
pub fn read_topology(reader: impl Read) -> Result<Topology, TopologyError> {
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(reader));
    let raw: RawTopology = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string().replace(".?", "");
        let inner = e.into_inner();
        match path.as_str() {
            "." | "?" | "" => TopologyError::Json(inner.to_string()),
            _ => TopologyError::Json(format!("{path}: {inner}")),
        }
    })?;
    de.end()
        .map_err(|e| TopologyError::Json(format!("after the topology object: {e}")))?;
    match raw.format.as_deref() {
        Some(TOPOLOGY_FORMAT) => {}
        Some(other) => {
            return Err(TopologyError::Format {
                found: other.to_string(),
            })
        }
        None => return Err(TopologyError::MissingFormat),
    }
    let small = |field: &str, v: u64| {
        u32::try_from(v).map_err(|_| TopologyError::BadField {
            field: field.to_string(),
            problem: format!("is too large ({v})"),
        })
    };
    let grid = |field: &str, g: &RawGrid| -> Result<Grid, TopologyError> {
        Ok(Grid {
            x: small(&format!("{field}.x"), g.x)?,
            y: small(&format!("{field}.y"), g.y)?,
        })
    };
    let mut cost = CostModel::default();
    for (key, &v) in &raw.cost {
        if !cost.set(key, v) {
            return Err(TopologyError::BadField {
                field: format!("cost.{key}"),
                problem: format!("is not a cost constant (known: {})", COST_KEYS.join(", ")),
            });
        }
    }
    let core = CoreLimits {
        compartments: raw.core.compartments,
        in_axons: raw.core.in_axons,
        out_axons: raw.core.out_axons,
        synapse_bits: raw.core.synapse_bits,
        max_blocks: small(
            "core.max_blocks",
            raw.core
                .max_blocks
                .unwrap_or(CoreLimits::LOIHI.max_blocks as u64),
        )?,
    };
    Topology::new(
        raw.name.unwrap_or_else(|| "custom".into()),
        grid("chips", &raw.chips)?,
        grid("tiles", &raw.tiles)?,
        small("cores_per_tile", raw.cores_per_tile)?,
        core,
        cost,
    )
}

/// The topology as `snn-topology/1` JSON (every cost constant written out), for `snn-place topologies`.
pub fn topology_json(t: &Topology) -> serde_json::Value {
    let cost: serde_json::Map<String, serde_json::Value> = COST_KEYS
        .iter()
        .map(|k| (k.to_string(), t.cost.get(k).unwrap_or(0.0).into()))
        .collect();
    let c = t.core_limits();
    serde_json::json!({
        "format": TOPOLOGY_FORMAT,
        "name": t.name,
        "chips": {"x": t.chips().x, "y": t.chips().y},
        "tiles": {"x": t.tiles().x, "y": t.tiles().y},
        "cores_per_tile": t.cores_per_tile(),
        "core": {
            "compartments": c.compartments, "in_axons": c.in_axons, "out_axons": c.out_axons,
            "synapse_bits": c.synapse_bits, "max_blocks": c.max_blocks,
        },
        "cost": cost,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expect: &str) {
        match read_topology(text.as_bytes()) {
            Ok(t) => assert_eq!(
                format!(
                    "{} {}x{} chips, {} cores/chip",
                    t.name,
                    t.chips().x,
                    t.chips().y,
                    t.cores_per_chip()
                ),
                expect
            ),
            Err(e) => assert_eq!(e.to_string(), expect),
        }
    }

    const TINY: &str = r#"{"format": "snn-topology/1", "name": "tiny", "chips": {"x": 2, "y": 2},
        "tiles": {"x": 2, "y": 1}, "cores_per_tile": 2,
        "core": {"compartments": 64, "in_axons": 256, "out_axons": 256, "synapse_bits": 65536},
        "cost": {"synop_ns": 4.5}}"#;

    #[test]
    fn reads_a_custom_board() {
        check(TINY, "tiny 2x2 chips, 4 cores/chip");
        let t = read_topology(TINY.as_bytes()).unwrap();
        assert_eq!(t.cost.synop_ns, 4.5);
        assert_eq!(t.core_limits().max_blocks, 16);
    }

    #[test]
    fn presets_round_trip_through_json() {
        for p in PRESETS {
            let t = Topology::preset(p.0).unwrap();
            let text = topology_json(&t).to_string();
            assert_eq!(read_topology(text.as_bytes()).unwrap(), t);
        }
    }

    #[test]
    fn rejects_bad_boards_naming_the_field() {
        check(
            &TINY.replace(r#""x": 2, "y": 2"#, r#""x": 0, "y": 0"#),
            "field \"chips\" must be at least 1x1, got 0x0",
        );
        check(
            &TINY.replace(r#""x": 2, "y": 2"#, r#""x": 1000000000, "y": 1"#),
            "field \"chips\" has 1000000000 chips (1000000000x1); at most 1048576 are supported",
        );
        check(
            &TINY.replace("synop_ns", "synops_ns"),
            "field \"cost.synops_ns\" is not a cost constant (known: compartment_access_ns, \
             compartment_update_ns, spike_fire_ns, message_send_ns, message_receive_ns, synop_ns, \
             tile_hop_ew_ns, tile_hop_ns_ns, barrier_1_tile_ns, barrier_2_3_tiles_ns, \
             barrier_4_28_tiles_ns, barrier_29_tiles_ns, barrier_chips_ns, barrier_chip_hop_ns, \
             link_message_ns, link_hop_ns, host_message_ns, host_latency_ns, host_round_trip_ns, \
             probe_value_ns, compartment_access_pj, compartment_update_pj, spike_fire_pj, \
             message_send_pj, message_receive_pj, synop_pj, tile_hop_ew_pj, tile_hop_ns_pj, \
             link_message_pj, host_message_pj)",
        );
        check(
            &TINY.replace(r#""synop_ns": 4.5"#, r#""synop_ns": 4.5, "synop_ns": 5"#),
            "cost: duplicate key \"synop_ns\" at line 4 column 48",
        );
        check(
            &TINY.replace(r#""x": 2, "y": 2"#, r#""x": 2, "y": 2, "x": 3"#),
            "chips: duplicate field `x` at line 1 column 75",
        );
        check(
            &TINY.replace("4.5", "1e300"),
            "field \"cost.synop_ns\" must be a finite number >= 0 and at most 1e9 ns (a second), got 1e300",
        );
        check(
            &TINY.replace("4.5", "-4.5"),
            "field \"cost.synop_ns\" must be a finite number >= 0 and at most 1e9 ns (a second), got -4.5",
        );
        check(
            &TINY.replace("snn-topology/1", "snn-net/1"),
            "unknown format \"snn-net/1\", expected \"snn-topology/1\"",
        );
        check(
            &TINY.replace(r#""compartments": 64"#, r#""compartments": 0"#),
            "field \"core.compartments\" must be at least 1, got 0",
        );
        check(
            &TINY.replace(r#""cores_per_tile": 2"#, r#""cores_per_tile": -2"#),
            "cores_per_tile: invalid value: integer `-2`, expected u64 at line 2 column 56",
        );
        check("", "EOF while parsing a value at line 1 column 0");
    }

    #[test]
    fn unknown_names_list_the_presets() {
        assert_eq!(
            load_topology("no-such-board").unwrap_err().to_string(),
            "unknown topology \"no-such-board\": not a preset (loihi, kapoho-bay, nahuku8, nahuku32, \
             pohoiki-beach, pohoiki-springs) and no such file"
        );
    }
}
