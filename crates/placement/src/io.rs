//! Reading and writing `snn-placement/1` (`shared/spec/report-format.md`).

use std::io::{BufWriter, Read, Write};
use std::path::Path;

use serde::Deserialize;
use snn_graph::Network;
use snn_hardware::{ChipId, CoreId, Topology};

use crate::{Placement, PlacementError, Slot};

/// The format tag of a placement file.
pub const PLACEMENT_FORMAT: &str = "snn-placement/1";

#[derive(Deserialize)]
struct RawPlacement {
    format: Option<String>,
    #[serde(default)]
    allocator: Option<String>,
    #[serde(default)]
    seed: Option<u64>,
    placement: Vec<RawEntry>,
}

#[derive(Deserialize)]
struct RawEntry {
    block: String,
    chip: Option<u64>,
    core: Option<u64>,
    #[serde(default)]
    host: bool,
}

fn file_error(msg: String) -> PlacementError {
    PlacementError::File(msg)
}

/// Reads a placement file and matches it to `net`: every block of the network must appear exactly once.
/// Whether the placement respects the topology is [`Placement::validate`]'s question.
pub fn read_placement_file(path: &Path, net: &Network) -> Result<Placement, PlacementError> {
    let file =
        std::fs::File::open(path).map_err(|e| file_error(format!("cannot read the file: {e}")))?;
    read_placement(file, net)
}

/// Reads a placement from JSON text and matches it to `net`.
pub fn read_placement(reader: impl Read, net: &Network) -> Result<Placement, PlacementError> {
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(reader));
    let raw: RawPlacement = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string().replace(".?", "");
        let inner = e.into_inner();
        match path.as_str() {
            "." | "?" | "" => file_error(inner.to_string()),
            _ => file_error(format!("{path}: {inner}")),
        }
    })?;
    de.end()
        .map_err(|e| file_error(format!("after the placement object: {e}")))?;
    match raw.format.as_deref() {
        Some(PLACEMENT_FORMAT) => {}
        Some(other) => {
            return Err(file_error(format!(
                "unknown format {other:?}, expected \"{PLACEMENT_FORMAT}\""
            )))
        }
        None => {
            return Err(file_error(format!(
                "missing field \"format\" (expected \"{PLACEMENT_FORMAT}\")"
            )))
        }
    }
    let mut slots: Vec<Option<Slot>> = vec![None; net.n_blocks()];
    for (i, entry) in raw.placement.iter().enumerate() {
        let b = net.find(&entry.block).ok_or_else(|| {
            file_error(format!(
                "placement[{i}]: block {} is not in the network",
                snn_graph::clip(&entry.block)
            ))
        })?;
        let slot = match (entry.host, entry.chip, entry.core) {
            (true, None, None) => Slot::Host,
            (false, Some(chip), Some(core)) => {
                let id = |field: &str, v: u64| {
                    u32::try_from(v).map_err(|_| {
                        file_error(format!(
                            "placement[{i}] (block {:?}): {field} {v} is too large",
                            entry.block
                        ))
                    })
                };
                Slot::Core {
                    chip: ChipId(id("chip", chip)?),
                    core: CoreId(id("core", core)?),
                }
            }
            _ => {
                return Err(file_error(format!(
                "placement[{i}] (block {:?}): give either \"chip\" and \"core\", or \"host\": true",
                entry.block
            )))
            }
        };
        if slots[b.idx()].replace(slot).is_some() {
            return Err(file_error(format!(
                "placement[{i}]: block {:?} is placed twice",
                entry.block
            )));
        }
    }
    let mut out = Vec::with_capacity(slots.len());
    for (b, s) in net.block_ids().zip(slots) {
        out.push(s.ok_or_else(|| {
            file_error(format!(
                "block {:?} is not placed (every block of the network must appear once)",
                net.block(b).name
            ))
        })?);
    }
    Ok(Placement::new(
        out,
        raw.allocator.unwrap_or_else(|| "file".into()),
        raw.seed.unwrap_or(0),
    ))
}

/// Writes `p` as `snn-placement/1`, one entry per line in block order, with the tool's version.
pub fn write_placement(
    p: &Placement,
    net: &Network,
    topo: &Topology,
    writer: impl Write,
) -> std::io::Result<()> {
    let mut w = BufWriter::new(writer);
    let s = |v: &str| serde_json::to_string(v).expect("strings serialise");
    writeln!(
        w,
        "{{\"format\": \"{PLACEMENT_FORMAT}\", \"network\": {}, \"topology\": {}, \"allocator\": {}, \
         \"seed\": {}, \"version\": \"{}\",",
        s(&net.name),
        s(&topo.name),
        s(&p.allocator),
        p.seed,
        env!("CARGO_PKG_VERSION")
    )?;
    writeln!(w, "\"placement\": [")?;
    let n = p.slots().len();
    for (i, (b, slot)) in net.blocks().iter().zip(p.slots()).enumerate() {
        let sep = if i + 1 < n { "," } else { "" };
        match slot {
            Slot::Host => writeln!(w, "  {{\"block\": {}, \"host\": true}}{sep}", s(&b.name))?,
            Slot::Core { chip, core } => writeln!(
                w,
                "  {{\"block\": {}, \"chip\": {}, \"core\": {}}}{sep}",
                s(&b.name),
                chip.0,
                core.0
            )?,
        }
    }
    writeln!(w, "]}}")?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use snn_graph::Block;

    fn net() -> Network {
        Network::new(
            "n",
            vec![Block::new("in", 2).on_host(), Block::new("a\"q", 3)],
            vec![],
        )
        .unwrap()
    }

    fn check(text: &str, expect: &str) {
        match read_placement(text.as_bytes(), &net()) {
            Ok(p) => assert_eq!(
                format!("{:?} {} {}", p.slots(), p.allocator, p.seed),
                expect
            ),
            Err(e) => assert_eq!(e.to_string(), expect),
        }
    }

    #[test]
    fn writes_and_reads_back() {
        let p = Placement::new(
            vec![
                Slot::Host,
                Slot::Core {
                    chip: ChipId(3),
                    core: CoreId(17),
                },
            ],
            "greedy",
            7,
        );
        let topo = Topology::preset("nahuku32").unwrap();
        let mut out = Vec::new();
        write_placement(&p, &net(), &topo, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            format!(
                "{{\"format\": \"snn-placement/1\", \"network\": \"n\", \"topology\": \"nahuku32\", \
                 \"allocator\": \"greedy\", \"seed\": 7, \"version\": \"{}\",\n\"placement\": [\n  \
                 {{\"block\": \"in\", \"host\": true}},\n  {{\"block\": \"a\\\"q\", \"chip\": 3, \"core\": 17}}\n]}}\n",
                env!("CARGO_PKG_VERSION")
            )
        );
        assert_eq!(read_placement(text.as_bytes(), &net()).unwrap(), p);
    }

    #[test]
    fn rejects_files_that_do_not_match_the_network() {
        let head = r#"{"format": "snn-placement/1", "placement": ["#;
        check(
            &format!(
                r#"{head}{{"block": "in", "host": true}}, {{"block": "a\"q", "chip": 0, "core": 1}}]}}"#
            ),
            "[Host, Core { chip: ChipId(0), core: CoreId(1) }] file 0",
        );
        check(
            &format!(r#"{head}{{"block": "in", "host": true}}]}}"#),
            "block \"a\\\"q\" is not placed (every block of the network must appear once)",
        );
        check(
            &format!(
                r#"{head}{{"block": "in", "host": true}}, {{"block": "in", "host": true}}]}}"#
            ),
            "placement[1]: block \"in\" is placed twice",
        );
        check(
            &format!(r#"{head}{{"block": "zz", "host": true}}]}}"#),
            "placement[0]: block \"zz\" is not in the network",
        );
        check(
            &format!(
                r#"{head}{{"block": "{}", "host": true}}]}}"#,
                "q".repeat(100_000)
            ),
            &format!(
                "placement[0]: block {:?}... (100000 bytes) is not in the network",
                "q".repeat(64)
            ),
        );
        check(
            &format!(r#"{head}{{"block": "in", "host": true, "host": false}}]}}"#),
            "placement[0]: duplicate field `host` at line 1 column 81",
        );
        check(
            &format!(r#"{head}{{"block": "in", "chip": 1}}]}}"#),
            "placement[0] (block \"in\"): give either \"chip\" and \"core\", or \"host\": true",
        );
        check(
            &format!(r#"{head}{{"block": "in", "chip": 99999999999, "core": 0}}]}}"#),
            "placement[0] (block \"in\"): chip 99999999999 is too large",
        );
        check(
            r#"{"format": "snn-report/1", "placement": []}"#,
            "unknown format \"snn-report/1\", expected \"snn-placement/1\"",
        );
        check(
            "7",
            "invalid type: integer `7`, expected struct RawPlacement at line 1 column 1",
        );
    }
}
