//! Reading and writing `snn-net/1` (`shared/spec/net-format.md`).
//!
//! Reading streams from a reader (a file, standard input, or a gzip stream, recognised by its magic bytes),
//! so the JSON text is never held in memory whole. Errors carry the JSON path of the offending value
//! (`blocks[3].rate`) or the block or edge they are about.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;

use serde::Deserialize;

use crate::{id_problem, show, Block, BlockId, Edge, GraphError, Network, MAX_ID_LEN};

/// The format tag of a network file.
pub const NET_FORMAT: &str = "snn-net/1";

#[derive(Deserialize)]
struct RawNet {
    format: Option<String>,
    #[serde(default)]
    name: Option<String>,
    blocks: Vec<RawBlock>,
    #[serde(default)]
    edges: Vec<RawEdge>,
}

#[derive(Deserialize)]
struct RawBlock {
    id: String,
    #[serde(default)]
    layer: Option<String>,
    #[serde(default)]
    host: Option<bool>,
    compartments: Option<f64>,
    #[serde(default)]
    in_axons: Option<f64>,
    #[serde(default)]
    out_axons: Option<f64>,
    #[serde(default)]
    synapse_bits: Option<f64>,
    #[serde(default)]
    rate: Option<f64>,
}

#[derive(Deserialize)]
struct RawEdge {
    src: String,
    dst: String,
    spikes: Option<f64>,
    #[serde(default)]
    synops: Option<f64>,
}

/// Reads a network from `path`; `-` is standard input. Gzip input (`.json.gz`) is recognised by content.
pub fn read_net_file(path: &Path) -> Result<Network, GraphError> {
    if path.as_os_str() == "-" {
        return read_net(std::io::stdin().lock());
    }
    let file = File::open(path).map_err(GraphError::Io)?;
    read_net(file)
}

/// Reads a network from any reader, plain JSON or gzip-compressed JSON.
pub fn read_net(reader: impl Read) -> Result<Network, GraphError> {
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    let head = reader.fill_buf().map_err(|e| io_error(&e))?;
    if head.is_empty() {
        return Err(GraphError::Json("the input is empty".into()));
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        let gz = BufReader::with_capacity(1 << 16, flate2::bufread::MultiGzDecoder::new(reader));
        parse(gz)
    } else {
        parse(reader)
    }
}

fn io_error(e: &std::io::Error) -> GraphError {
    GraphError::Json(format!("cannot read the input: {e}"))
}

fn parse(reader: impl Read) -> Result<Network, GraphError> {
    let mut de = serde_json::Deserializer::from_reader(reader);
    let raw: RawNet = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string().replace(".?", "");
        let inner = e.into_inner();
        let what = if inner.is_io() {
            format!("cannot read the input: {inner}")
        } else {
            inner.to_string()
        };
        if path == "." || path == "?" || path.is_empty() {
            GraphError::Json(what)
        } else {
            GraphError::Json(format!("{path}: {what}"))
        }
    })?;
    de.end()
        .map_err(|e| GraphError::Json(format!("after the network object: {e}")))?;
    from_raw(raw)
}

fn from_raw(raw: RawNet) -> Result<Network, GraphError> {
    match raw.format.as_deref() {
        Some(NET_FORMAT) => {}
        Some(other) => {
            return Err(GraphError::Format {
                found: other.to_string(),
            })
        }
        None => return Err(GraphError::MissingFormat),
    }
    let mut blocks = Vec::with_capacity(raw.blocks.len());
    for (index, b) in raw.blocks.into_iter().enumerate() {
        // Checked first, so that no later error repeats an id of megabytes.
        if let Some(problem) = id_problem(&b.id) {
            return Err(GraphError::BadId {
                index,
                field: "id",
                problem,
            });
        }
        let int = |field: &'static str, v: Option<f64>| integer(index, &b.id, field, v);
        let compartments =
            int("compartments", b.compartments)?.ok_or_else(|| GraphError::BadBlockField {
                index,
                name: b.id.clone(),
                field: "compartments",
                problem: "is required".into(),
            })?;
        blocks.push(Block {
            compartments,
            in_axons: int("in_axons", b.in_axons)?.unwrap_or(0),
            out_axons: int("out_axons", b.out_axons)?.unwrap_or(0),
            synapse_bits: int("synapse_bits", b.synapse_bits)?.unwrap_or(0),
            rate: b.rate.unwrap_or(0.0),
            host: b.host.unwrap_or(false),
            layer: b.layer,
            name: b.id,
        });
    }
    // Network::new checks names again; resolving edges needs the index first.
    let mut index = std::collections::HashMap::with_capacity(blocks.len());
    for (i, b) in blocks.iter().enumerate() {
        if let Some(first) = index.insert(b.name.as_str(), BlockId(i as u32)) {
            return Err(GraphError::DuplicateBlock {
                name: b.name.clone(),
                first: first.idx(),
                second: i,
            });
        }
    }
    let mut edges = Vec::with_capacity(raw.edges.len());
    for (i, e) in raw.edges.iter().enumerate() {
        let resolve = |field, name: &str| {
            if name.len() > MAX_ID_LEN {
                return Err(GraphError::EdgeIdTooLong {
                    index: i,
                    field,
                    len: name.len(),
                });
            }
            index
                .get(name)
                .copied()
                .ok_or_else(|| GraphError::UnknownBlock {
                    index: i,
                    field,
                    name: name.to_string(),
                })
        };
        let (src, dst) = (resolve("src", &e.src)?, resolve("dst", &e.dst)?);
        let spikes = e.spikes.ok_or_else(|| GraphError::BadEdgeField {
            index: i,
            src: e.src.clone(),
            dst: e.dst.clone(),
            field: "spikes",
            problem: "is required".into(),
        })?;
        edges.push(Edge {
            src,
            dst,
            spikes,
            synops: e.synops,
        });
    }
    drop(index);
    Network::new(raw.name.unwrap_or_default(), blocks, edges)
}

/// An integer field: absent is `None`; present must be a whole number >= 0.
fn integer(
    index: usize,
    name: &str,
    field: &'static str,
    v: Option<f64>,
) -> Result<Option<u64>, GraphError> {
    let Some(x) = v else { return Ok(None) };
    // 2^53: above it f64 no longer holds every integer, and no core limit comes near it.
    const MAX_EXACT: f64 = 9_007_199_254_740_992.0;
    let problem = if x < 0.0 {
        format!("must be >= 0, got {}", show(x))
    } else if x.fract() != 0.0 {
        format!("must be a whole number, got {x}")
    } else if x > MAX_EXACT {
        format!("is too large ({}; at most 2^53)", show(x))
    } else {
        return Ok(Some(x as u64));
    };
    Err(GraphError::BadBlockField {
        index,
        name: name.to_string(),
        field,
        problem,
    })
}

/// Writes `net` as `snn-net/1`: one block or edge per line, fields in a fixed order, so that the same
/// network always gives the same bytes.
pub fn write_net(net: &Network, writer: impl Write) -> std::io::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 16, writer);
    write!(w, "{{\"format\": \"{NET_FORMAT}\", \"name\": ")?;
    serde_json::to_writer(&mut w, &net.name)?;
    writeln!(w, ",\n\"blocks\": [")?;
    let n = net.blocks().len();
    for (i, b) in net.blocks().iter().enumerate() {
        // Keys in sorted order, optional ones only when they differ from the default.
        write!(w, "  {{\"compartments\":{}", b.compartments)?;
        if b.host {
            write!(w, ",\"host\":true")?;
        }
        write!(w, ",\"id\":")?;
        serde_json::to_writer(&mut w, &b.name)?;
        if b.in_axons > 0 {
            write!(w, ",\"in_axons\":{}", b.in_axons)?;
        }
        if let Some(layer) = &b.layer {
            write!(w, ",\"layer\":")?;
            serde_json::to_writer(&mut w, layer)?;
        }
        if b.out_axons > 0 {
            write!(w, ",\"out_axons\":{}", b.out_axons)?;
        }
        if b.rate > 0.0 {
            write!(w, ",\"rate\":")?;
            number(&mut w, b.rate)?;
        }
        if b.synapse_bits > 0 {
            write!(w, ",\"synapse_bits\":{}", b.synapse_bits)?;
        }
        writeln!(w, "}}{}", if i + 1 < n { "," } else { "" })?;
    }
    writeln!(w, "],\n\"edges\": [")?;
    let m = net.edges().len();
    for (i, e) in net.edges().iter().enumerate() {
        write!(w, "  {{\"dst\":")?;
        serde_json::to_writer(&mut w, &net.block(e.dst).name)?;
        write!(w, ",\"spikes\":")?;
        number(&mut w, e.spikes)?;
        write!(w, ",\"src\":")?;
        serde_json::to_writer(&mut w, &net.block(e.src).name)?;
        if let Some(synops) = e.synops {
            write!(w, ",\"synops\":")?;
            number(&mut w, synops)?;
        }
        writeln!(w, "}}{}", if i + 1 < m { "," } else { "" })?;
    }
    writeln!(w, "]}}")?;
    w.flush()
}

/// A finite number in its shortest round-trip form; whole numbers without a fraction (`2`, not `2.0`).
fn number(w: &mut impl Write, x: f64) -> std::io::Result<()> {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        write!(w, "{}", x as i64)
    } else {
        serde_json::to_writer(w, &x).map_err(std::io::Error::from)
    }
}

/// Writes `net` as gzip-compressed `snn-net/1` (for `.json.gz` files).
pub fn write_net_gz(net: &Network, writer: impl Write) -> std::io::Result<()> {
    let mut gz = flate2::write::GzEncoder::new(writer, flate2::Compression::default());
    write_net(net, &mut gz)?;
    gz.finish()?.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expect: &str) {
        match read_net(text.as_bytes()) {
            Ok(net) => {
                let mut out = Vec::new();
                write_net(&net, &mut out).unwrap();
                assert_eq!(String::from_utf8(out).unwrap(), expect)
            }
            Err(e) => assert_eq!(e.to_string(), expect),
        }
    }

    const SMALL: &str = r#"{"format": "snn-net/1", "name": "s", "blocks": [
        {"id": "in", "host": true, "compartments": 4, "extra": [1, 2]},
        {"id": "a", "layer": "l0", "compartments": 10, "in_axons": 4, "rate": 0.5}],
        "edges": [{"src": "in", "dst": "a", "spikes": 2, "synops": 8.5}]}"#;

    #[test]
    fn reads_and_writes_back() {
        check(
            SMALL,
            r#"{"format": "snn-net/1", "name": "s",
"blocks": [
  {"compartments":4,"host":true,"id":"in"},
  {"compartments":10,"id":"a","in_axons":4,"layer":"l0","rate":0.5}
],
"edges": [
  {"dst":"a","spikes":2,"src":"in","synops":8.5}
]}
"#,
        );
    }

    #[test]
    fn round_trips_through_gzip() {
        let net = read_net(SMALL.as_bytes()).unwrap();
        let mut bytes = Vec::new();
        write_net_gz(&net, &mut bytes).unwrap();
        assert_eq!(read_net(&bytes[..]).unwrap(), net);
    }

    #[test]
    fn rejects_bad_files_naming_the_item() {
        check("", "the input is empty");
        check("{", "EOF while parsing an object at line 1 column 1");
        check(
            r#"{"format": "snn-net/2", "blocks": []}"#,
            "unknown format \"snn-net/2\", expected \"snn-net/1\"",
        );
        check(
            r#"{"blocks": []}"#,
            "missing field \"format\" (expected \"snn-net/1\")",
        );
        check(
            r#"{"format": "snn-net/1", "blocks": [{"id": "a", "compartments": -3}]}"#,
            "blocks[0] (\"a\"): field \"compartments\" must be >= 0, got -3",
        );
        check(
            r#"{"format": "snn-net/1", "blocks": [{"id": "a", "compartments": 2.5}]}"#,
            "blocks[0] (\"a\"): field \"compartments\" must be a whole number, got 2.5",
        );
        check(
            r#"{"format": "snn-net/1", "blocks": [{"id": "a"}]}"#,
            "blocks[0] (\"a\"): field \"compartments\" is required",
        );
        check(
            r#"{"format": "snn-net/1", "blocks": [{"id": "a", "compartments": 1, "rate": 1e400}]}"#,
            "blocks[0].rate: number out of range at line 1 column 80",
        );
        check(
            r#"{"format": "snn-net/1", "blocks": [{"id": "a", "compartments": "x"}]}"#,
            "blocks[0].compartments: invalid type: string \"x\", expected f64 at line 1 column 66",
        );
        check(
            r#"{"format": "snn-net/1", "blocks": [{"id": "a", "compartments": 1}],
                "edges": [{"src": "a", "dst": "b", "spikes": 1}]}"#,
            "edges[0]: field \"dst\" names unknown block \"b\"",
        );
        check(
            r#"{"format": "snn-net/1", "blocks": [{"id": "a", "compartments": 1}],
                "edges": [{"src": "a", "dst": "a"}]}"#,
            "edges[0] (\"a\" -> \"a\"): field \"spikes\" is required",
        );
        check(
            r#"{"format": "snn-net/1", "blocks": [{"id": "a", "compartments": 1},
                {"id": "a", "compartments": 1}]}"#,
            "block \"a\" appears twice (blocks[0] and blocks[1])",
        );
        check(
            r#"{"format": "snn-net/1", "blocks": []} x"#,
            "after the network object: trailing characters at line 1 column 39",
        );
    }

    #[test]
    fn caps_ids_and_numbers_naming_the_limit() {
        let long = "x".repeat(crate::MAX_ID_LEN + 1);
        check(
            &format!(
                r#"{{"format": "snn-net/1", "blocks": [{{"id": "{long}", "compartments": 1}}]}}"#
            ),
            "blocks[0]: field \"id\" is 4097 bytes long; at most 4096 are supported",
        );
        check(
            &format!(
                r#"{{"format": "snn-net/1", "blocks": [{{"id": "a", "compartments": 1}}],
                "edges": [{{"src": "a", "dst": "{long}", "spikes": 1}}]}}"#
            ),
            "edges[0]: field \"dst\" names no block: it is 4097 bytes long, and ids are at most 4096",
        );
        check(
            r#"{"format": "snn-net/1", "blocks": [{"id": "a\u0000\n", "compartments": 1}]}"#,
            "blocks[0]: field \"id\" \"a\\0\\n\" contains the control character U+0000; names must be printable",
        );
        check(
            r#"{"format": "snn-net/1", "blocks": [{"id": "a", "compartments": 1},
                {"id": "b", "compartments": 1}],
                "edges": [{"src": "a", "dst": "b", "spikes": 1e300}]}"#,
            "edges[0] (\"a\" -> \"b\"): field \"spikes\" is too large (1e300; at most 2^53)",
        );
        // Duplicated keys in an object are an error naming the key, not last-wins.
        check(
            r#"{"format": "snn-net/1", "blocks": [{"id": "a", "compartments": 1, "id": "b"}]}"#,
            "blocks[0]: duplicate field `id` at line 1 column 71",
        );
    }

    #[test]
    fn self_loops_and_parallel_edges_are_kept() {
        let net = read_net(
            r#"{"format": "snn-net/1", "blocks": [{"id": "a", "compartments": 1},
                {"id": "b", "compartments": 1}],
                "edges": [{"src": "a", "dst": "a", "spikes": 1}, {"src": "a", "dst": "b", "spikes": 2},
                {"src": "a", "dst": "b", "spikes": 3}]}"#
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(net.edges().len(), 3);
    }

    #[test]
    fn deep_nesting_is_defined_behaviour_not_a_crash() {
        let nest = |at: &str| {
            let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
            let text = format!("{{\"format\": \"snn-net/1\", \"blocks\": [], {at}: {deep}}}");
            read_net(text.as_bytes()).map(|net| net.n_blocks())
        };
        // An unknown field is skipped whatever it holds; a known one must have its type.
        assert_eq!(nest("\"x\"").unwrap(), 0);
        let err = nest("\"edges\"").unwrap_err().to_string();
        assert!(
            err.starts_with("edges[0][0]: invalid type: sequence"),
            "{err}"
        );
    }
}
