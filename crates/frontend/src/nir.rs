//! The NIR importer: a Neuromorphic Intermediate Representation file (the `nir` package on PyPI, 1.0.x:
//! an HDF5 file holding a graph of nodes with their real weights) into a [`Network`].
//!
//! Neuron nodes (`LIF`, `CubaLIF`, `IF`, `LI`, `CubaLI`, `I`, `Threshold`) become populations; every
//! node between them (`Affine`, `Linear`, `Conv1d`, `Conv2d`, `SumPool2d`, `AvgPool2d`, `Flatten`,
//! `Scale`, `Delay`, the `Input` and `Output` of a nested graph) folds into the paths between
//! populations, composed into one sparse matrix per pair of populations from the weights themselves.
//! The top-level `Input` nodes become host blocks, the top-level `Output` nodes host probes; nested
//! `NIRGraph`s are flattened with `outer.inner` ids. Each population is split into contiguous ranges of
//! its neurons (images in (row, column, channel) order, so a block holds every channel of a patch) that
//! each fit one core's [`Limits`]: the fewest ranges
//! found, growing from the compartment bound. Synapses are the non-zero weights into a block (at
//! [`BITS_PER_SYNAPSE`] each), input axons the distinct source neurons with a non-zero weight into it,
//! output axons, per block, its neurons summed over the destination blocks they reach (Loihi's one axon
//! per neuron and destination core, as the layer splitter counts them).
//!
//! Edges carry `spikes` = the source neurons that reach the destination block x their rate, and `synops`
//! = the non-zero weights between them x the rate.

use std::collections::BTreeMap;
use std::path::Path;

use snn_graph::{Block, BlockId, Edge, Network};

use crate::split::{Limits, BITS_PER_SYNAPSE, MAX_BUILD_BLOCKS};
use crate::FrontendError;

/// How to import a NIR file.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct NirOptions {
    /// Mean spikes per neuron per timestep of every population.
    pub rate: f64,
    /// Mean spikes per input value per timestep of every `Input` node.
    pub input_rate: f64,
}

impl Default for NirOptions {
    fn default() -> NirOptions {
        NirOptions {
            rate: crate::DEFAULT_RATE,
            input_rate: crate::DEFAULT_RATE,
        }
    }
}

/// One population of an imported NIR graph.
#[derive(Clone, Debug, PartialEq)]
pub struct NirPopulation {
    /// The node id (`outer.inner` in nested graphs).
    pub node: String,
    /// The node type, e.g. `"LIF"`.
    pub kind: String,
    pub neurons: u64,
    pub blocks: usize,
    /// The non-zero weights into the population.
    pub synapses: u64,
}

/// What [`import_nir`] gives: the network and its populations, by node id.
#[derive(Clone, Debug)]
pub struct NirImport {
    pub network: Network,
    pub populations: Vec<NirPopulation>,
}

/// The most values one NIR file may hold in all its datasets (2^28: 2 GiB as `f64`).
pub const MAX_NIR_VALUES: u64 = 1 << 28;
/// The most synapses (non-zero weights between populations) one import may compose.
pub const MAX_NIR_SYNAPSES: u64 = 1 << 28;
/// How deep NIR graphs may nest.
const MAX_DEPTH: usize = 32;

/// Reads the NIR file at `path` and splits it into blocks that fit `limits`. `name` names the network.
pub fn import_nir(
    path: &Path,
    name: &str,
    limits: &Limits,
    opts: &NirOptions,
) -> Result<NirImport, FrontendError> {
    let tree = h5::read(path).map_err(FrontendError::NirFile)?;
    nir_to_network(&tree, name, limits, opts)
}

/// A NIR file read into memory: groups of groups and datasets.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Group(BTreeMap<String, Value>),
    /// A numeric dataset as `f64`, with its shape (empty for a scalar).
    Num {
        shape: Vec<usize>,
        data: Vec<f64>,
    },
    /// A string dataset (one string for a scalar), with its shape.
    Str {
        shape: Vec<usize>,
        data: Vec<String>,
    },
}

mod h5 {
    //! The HDF5 side: everything read into a [`Value`] tree, so the rest never touches the library.

    use super::{Value, MAX_DEPTH, MAX_NIR_VALUES};
    use hdf5::types::{TypeDescriptor, VarLenAscii, VarLenUnicode};
    use hdf5::{Dataset, Group, LocationType};
    use std::collections::BTreeMap;
    use std::path::Path;

    pub(super) fn read(path: &Path) -> Result<Value, String> {
        // The library's own error stack is printed by default; its message comes back in the error.
        hdf5::silence_errors(true);
        let file = hdf5::File::open(path).map_err(|e| format!("not a readable HDF5 file: {e}"))?;
        let mut budget = Budget {
            values: MAX_NIR_VALUES,
            members: MAX_MEMBERS,
        };
        group(&file, "", 0, &mut budget)
    }

    /// The most groups and datasets read from one file: links may make a group its own member, and a
    /// few such links would otherwise be followed exponentially often (depth is capped too).
    const MAX_MEMBERS: u64 = 1 << 20;

    /// What is left to read.
    struct Budget {
        values: u64,
        members: u64,
    }

    fn group(g: &Group, at: &str, depth: usize, budget: &mut Budget) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err(format!("{at}: groups nest deeper than {MAX_DEPTH}"));
        }
        let mut out = BTreeMap::new();
        let names = g
            .member_names()
            .map_err(|e| format!("{}: cannot list the group: {e}", show(at)))?;
        for name in names {
            let here = format!("{at}/{name}");
            if budget.members == 0 {
                return Err(format!(
                    "{here}: the file has more than {MAX_MEMBERS} groups and datasets, the most read"
                ));
            }
            budget.members -= 1;
            let kind = g
                .loc_type_by_name(&name)
                .map_err(|e| format!("{here}: {e}"))?;
            let v = match kind {
                LocationType::Group => {
                    let sub = g.group(&name).map_err(|e| format!("{here}: {e}"))?;
                    group(&sub, &here, depth + 1, budget)?
                }
                LocationType::Dataset => {
                    let ds = g.dataset(&name).map_err(|e| format!("{here}: {e}"))?;
                    dataset(&ds, &here, budget)?
                }
                _ => continue,
            };
            out.insert(name, v);
        }
        Ok(Value::Group(out))
    }

    fn show(at: &str) -> &str {
        if at.is_empty() {
            "/"
        } else {
            at
        }
    }

    fn dataset(ds: &Dataset, at: &str, budget: &mut Budget) -> Result<Value, String> {
        let shape = ds.shape();
        let n = shape
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d as u64))
            .unwrap_or(u64::MAX);
        if n > budget.values {
            return Err(format!(
                "{at}: the file holds more than {MAX_NIR_VALUES} values, the most read"
            ));
        }
        budget.values -= n;
        let bad = |e: hdf5::Error| format!("{at}: cannot read the dataset: {e}");
        let desc = ds.dtype().and_then(|t| t.to_descriptor()).map_err(bad)?;
        Ok(match desc {
            TypeDescriptor::Float(_) => Value::Num {
                data: ds.read_raw::<f64>().map_err(bad)?,
                shape,
            },
            TypeDescriptor::Integer(_) | TypeDescriptor::Boolean => Value::Num {
                data: ds
                    .read_raw::<i64>()
                    .map_err(bad)?
                    .into_iter()
                    .map(|x| x as f64)
                    .collect(),
                shape,
            },
            TypeDescriptor::Unsigned(_) => Value::Num {
                data: ds
                    .read_raw::<u64>()
                    .map_err(bad)?
                    .into_iter()
                    .map(|x| x as f64)
                    .collect(),
                shape,
            },
            TypeDescriptor::VarLenUnicode => Value::Str {
                data: ds
                    .read_raw::<VarLenUnicode>()
                    .map_err(bad)?
                    .iter()
                    .map(|s| s.as_str().to_string())
                    .collect(),
                shape,
            },
            TypeDescriptor::VarLenAscii => Value::Str {
                data: ds
                    .read_raw::<VarLenAscii>()
                    .map_err(bad)?
                    .iter()
                    .map(|s| s.as_str().to_string())
                    .collect(),
                shape,
            },
            other => return Err(format!("{at}: unsupported HDF5 datatype {other}")),
        })
    }
}

/// One node of the flattened graph.
#[derive(Clone, Debug)]
struct Node {
    /// `outer.inner` for nested graphs.
    id: String,
    /// The NIR type, e.g. `"Conv2d"`.
    kind: String,
    op: Op,
    /// The shapes the node takes and gives, once known.
    input: Option<Vec<usize>>,
    output: Option<Vec<usize>>,
}

#[derive(Clone, Debug)]
enum Op {
    /// A top-level `Input`: a host block.
    Source,
    /// A top-level `Output`: a host probe.
    Sink,
    /// A neuron population.
    Neurons,
    /// Passes values through: `Delay`, `Flatten`, a nested graph's `Input` and `Output`.
    Identity,
    /// `y = W x` with `W` as rows x cols, row-major (`Affine`'s bias does not change connectivity).
    Dense {
        rows: usize,
        cols: usize,
        w: Vec<f64>,
    },
    Scale(Vec<f64>),
    /// `Conv1d` (one spatial axis, `h` = 1) or `Conv2d`, channels-first.
    Conv(Conv),
    /// `SumPool2d` (factor 1) or `AvgPool2d` (factor 1 / kernel area).
    Pool {
        k: [usize; 2],
        s: [usize; 2],
        p: [usize; 2],
        factor: f64,
    },
}

#[derive(Clone, Debug)]
struct Conv {
    /// Weight shape: out channels, in channels per group, kernel height, kernel width.
    co: usize,
    cig: usize,
    k: [usize; 2],
    s: [usize; 2],
    p: [usize; 2],
    d: [usize; 2],
    groups: usize,
    w: Vec<f64>,
}

const NEURONS: &[&str] = &["LIF", "CubaLIF", "IF", "LI", "CubaLI", "I", "Threshold"];

/// The flattened graph: nodes and edges by index.
struct Flat {
    nodes: Vec<Node>,
    edges: Vec<(usize, usize)>,
}

fn node_err(node: &str, problem: impl Into<String>) -> FrontendError {
    FrontendError::NirNode {
        node: node.to_string(),
        problem: problem.into(),
    }
}

fn group<'a>(v: &'a Value, node: &str) -> Result<&'a BTreeMap<String, Value>, FrontendError> {
    match v {
        Value::Group(g) => Ok(g),
        _ => Err(node_err(node, "is a dataset, expected a group")),
    }
}

fn string<'a>(
    g: &'a BTreeMap<String, Value>,
    key: &str,
    node: &str,
) -> Result<&'a str, FrontendError> {
    match g.get(key) {
        Some(Value::Str { data, .. }) if data.len() == 1 => Ok(&data[0]),
        Some(_) => Err(node_err(node, format!("field \"{key}\" is not a string"))),
        None => Err(node_err(node, format!("missing field \"{key}\""))),
    }
}

fn num<'a>(
    g: &'a BTreeMap<String, Value>,
    key: &str,
    node: &str,
) -> Result<(&'a [usize], &'a [f64]), FrontendError> {
    match g.get(key) {
        Some(Value::Num { shape, data }) => {
            if let Some(x) = data.iter().find(|x| !x.is_finite()) {
                return Err(node_err(node, format!("field \"{key}\" holds {x}")));
            }
            Ok((shape, data))
        }
        Some(_) => Err(node_err(node, format!("field \"{key}\" is not numeric"))),
        None => Err(node_err(node, format!("missing field \"{key}\""))),
    }
}

/// A shape or size field: non-negative integers below 2^32.
fn ints(g: &BTreeMap<String, Value>, key: &str, node: &str) -> Result<Vec<usize>, FrontendError> {
    let (_, data) = num(g, key, node)?;
    data.iter()
        .map(|&x| {
            if x >= 0.0 && x.fract() == 0.0 && x < (1u64 << 32) as f64 {
                Ok(x as usize)
            } else {
                Err(node_err(
                    node,
                    format!("field \"{key}\" must hold non-negative integers, got {x}"),
                ))
            }
        })
        .collect()
}

/// An integer pair field that may be given as one number (`stride=1`) or per axis.
fn pair(
    g: &BTreeMap<String, Value>,
    key: &str,
    node: &str,
    axes: usize,
    default: usize,
) -> Result<[usize; 2], FrontendError> {
    if !g.contains_key(key) {
        return Ok([default; 2]);
    }
    let v = ints(g, key, node)?;
    match (axes, v.len()) {
        (1, 1) => Ok([default.min(1), v[0]]),
        (2, 1) => Ok([v[0], v[0]]),
        (2, 2) => Ok([v[0], v[1]]),
        _ => Err(node_err(
            node,
            format!("field \"{key}\" has {} values for {axes} axes", v.len()),
        )),
    }
}

fn size(shape: &[usize]) -> u64 {
    shape
        .iter()
        .try_fold(1u64, |a, &d| a.checked_mul(d as u64))
        .unwrap_or(u64::MAX)
}

/// Reads one leaf node.
fn leaf(id: &str, g: &BTreeMap<String, Value>, top: bool) -> Result<Node, FrontendError> {
    let kind = string(g, "type", id)?.to_string();
    let node = |op, input: Option<Vec<usize>>, output: Option<Vec<usize>>| Node {
        id: id.to_string(),
        kind: kind.clone(),
        op,
        input,
        output,
    };
    let io_shape = |key: &str| -> Result<Option<Vec<usize>>, FrontendError> {
        // nir 1.0 writes `shape`; older files `input_type`/`output_type` groups or arrays.
        for k in ["shape", key] {
            match g.get(k) {
                Some(Value::Num { .. }) => return Ok(Some(ints(g, k, id)?)),
                Some(Value::Group(t)) => {
                    if let Some((key0, Value::Num { .. })) = t.iter().next() {
                        return Ok(Some(ints(t, key0, id)?));
                    }
                }
                _ => {}
            }
        }
        Ok(None)
    };
    Ok(match kind.as_str() {
        "Input" => {
            let s = io_shape("input_type")?
                .ok_or_else(|| node_err(id, "missing field \"shape\""))?;
            let op = if top { Op::Source } else { Op::Identity };
            node(op, Some(s.clone()), Some(s))
        }
        "Output" => {
            let s = io_shape("output_type")?
                .ok_or_else(|| node_err(id, "missing field \"shape\""))?;
            let op = if top { Op::Sink } else { Op::Identity };
            node(op, Some(s.clone()), Some(s))
        }
        "Affine" | "Linear" => {
            let (shape, w) = num(g, "weight", id)?;
            let (rows, cols) = match *shape {
                [r, c] => (r, c),
                [c] => (1, c),
                _ => {
                    return Err(node_err(
                        id,
                        format!("weight has shape {shape:?}, expected (out, in)"),
                    ))
                }
            };
            let op = Op::Dense {
                rows,
                cols,
                w: w.to_vec(),
            };
            node(op, Some(vec![cols]), Some(vec![rows]))
        }
        "Scale" => {
            let (shape, s) = num(g, "scale", id)?;
            let shape = if shape.is_empty() { vec![1] } else { shape.to_vec() };
            node(Op::Scale(s.to_vec()), Some(shape.clone()), Some(shape))
        }
        "Delay" => {
            let shape = num(g, "delay", id)?.0.to_vec();
            let known = (!shape.is_empty()).then_some(shape);
            node(Op::Identity, known.clone(), known)
        }
        "Flatten" => {
            let input = io_shape("input_type")?;
            let output = input.as_ref().map(|s| vec![size(s) as usize]);
            node(Op::Identity, input, output)
        }
        "Conv1d" | "Conv2d" => {
            let axes = if kind == "Conv1d" { 1 } else { 2 };
            let (shape, w) = num(g, "weight", id)?;
            if shape.len() != axes + 2 {
                return Err(node_err(
                    id,
                    format!("weight has {} axes, expected {}", shape.len(), axes + 2),
                ));
            }
            let k = if axes == 1 { [1, shape[2]] } else { [shape[2], shape[3]] };
            let groups = if g.contains_key("groups") {
                *ints(g, "groups", id)?.first().unwrap_or(&1)
            } else {
                1
            };
            let (s, d) = (pair(g, "stride", id, axes, 1)?, pair(g, "dilation", id, axes, 1)?);
            if s.contains(&0) || d.contains(&0) || groups == 0 {
                return Err(node_err(id, "stride, dilation and groups must be at least 1"));
            }
            let in_hw: Vec<usize> = ints(g, "input_shape", id)?;
            let (h, w_in) = match (axes, in_hw.as_slice()) {
                (1, [l]) => (1, *l),
                (2, [h, w]) => (*h, *w),
                _ => {
                    return Err(node_err(
                        id,
                        format!("input_shape {in_hw:?} does not have {axes} axes"),
                    ))
                }
            };
            let p = match g.get("padding") {
                Some(Value::Str { data, .. }) if data.len() == 1 && data[0] == "valid" => [0, 0],
                Some(Value::Str { data, .. }) if data.len() == 1 && data[0] == "same" => {
                    [(d[0] * (k[0] - 1)) / 2, (d[1] * (k[1] - 1)) / 2]
                }
                Some(Value::Str { data, .. }) => {
                    return Err(node_err(id, format!("unsupported padding {data:?}")))
                }
                _ => pair(g, "padding", id, axes, 0)?,
            };
            let conv = Conv {
                co: shape[0],
                cig: shape[1],
                k,
                s,
                p,
                d,
                groups,
                w: w.to_vec(),
            };
            if conv.co == 0 || conv.cig == 0 {
                return Err(node_err(id, format!("weight has shape {shape:?}: no channels")));
            }
            if !conv.co.is_multiple_of(groups) {
                return Err(node_err(
                    id,
                    format!("{} output channels do not divide into {groups} groups", conv.co),
                ));
            }
            let out_len = |n: usize, a: usize| -> Result<usize, FrontendError> {
                let span = d[a] * (k[a].max(1) - 1) + 1;
                (n + 2 * p[a])
                    .checked_sub(span)
                    .map(|x| x / s[a] + 1)
                    .ok_or_else(|| {
                        node_err(id, format!("the kernel ({span}) is larger than the padded input ({})", n + 2 * p[a]))
                    })
            };
            let (oh, ow) = (out_len(h, 0)?, out_len(w_in, 1)?);
            let ci = conv.cig * groups;
            let (input, output) = if axes == 1 {
                (vec![ci, w_in], vec![conv.co, ow])
            } else {
                (vec![ci, h, w_in], vec![conv.co, oh, ow])
            };
            node(Op::Conv(conv), Some(input), Some(output))
        }
        "SumPool2d" | "AvgPool2d" => {
            let k = pair(g, "kernel_size", id, 2, 1)?;
            let s = pair(g, "stride", id, 2, 1)?;
            let p = pair(g, "padding", id, 2, 0)?;
            if k.contains(&0) || s.contains(&0) {
                return Err(node_err(id, "kernel_size and stride must be at least 1"));
            }
            let factor = if kind == "AvgPool2d" {
                1.0 / (k[0] * k[1]) as f64
            } else {
                1.0
            };
            node(Op::Pool { k, s, p, factor }, None, None)
        }
        k if NEURONS.contains(&k) => {
            // The shape of the first array parameter; scalar parameters leave it to the neighbours.
            let shape = g
                .iter()
                .filter(|(key, _)| key.as_str() != "type")
                .find_map(|(_, v)| match v {
                    Value::Num { shape, .. } if !shape.is_empty() => Some(shape.clone()),
                    _ => None,
                });
            node(Op::Neurons, shape.clone(), shape)
        }
        _ => {
            return Err(node_err(
                id,
                format!(
                    "unsupported node type {kind:?} (supported: Input, Output, Affine, Linear, Conv1d, \
                     Conv2d, SumPool2d, AvgPool2d, Flatten, Scale, Delay, {}, NIRGraph)",
                    NEURONS.join(", ")
                ),
            ))
        }
    })
}

/// A nested graph's `Input` or `Output` nodes: (local id, flat index).
type Ends = Vec<(String, usize)>;

/// Flattens the graph in `g` (a `NIRGraph` group) into `flat`, prefixing ids with `prefix`. Returns the
/// indices of its `Input` and `Output` nodes by local id, for edges into and out of it.
fn flatten(
    g: &BTreeMap<String, Value>,
    prefix: &str,
    depth: usize,
    flat: &mut Flat,
) -> Result<(Ends, Ends), FrontendError> {
    let here = if prefix.is_empty() {
        "the root graph"
    } else {
        prefix
    };
    if depth > MAX_DEPTH {
        return Err(node_err(
            here,
            format!("graphs nest deeper than {MAX_DEPTH}"),
        ));
    }
    let nodes = match g.get("nodes") {
        Some(Value::Group(n)) => n,
        _ => return Err(node_err(here, "missing group \"nodes\"")),
    };
    let full = |local: &str| {
        if prefix.is_empty() {
            local.to_string()
        } else {
            format!("{prefix}.{local}")
        }
    };
    // Per local id: where edges into it go and where edges out of it come from (a nested graph's
    // Inputs and Outputs).
    let mut ends: BTreeMap<String, (Ends, Ends)> = BTreeMap::new();
    let (mut inputs, mut outputs) = (Vec::new(), Vec::new());
    for (local, v) in nodes {
        let id = full(local);
        let ng = group(v, &id)?;
        if string(ng, "type", &id)? == "NIRGraph" {
            let (i, o) = flatten(ng, &id, depth + 1, flat)?;
            ends.insert(local.clone(), (i, o));
            continue;
        }
        let node = leaf(&id, ng, prefix.is_empty())?;
        let idx = flat.nodes.len();
        match node.kind.as_str() {
            "Input" => inputs.push((local.clone(), idx)),
            "Output" => outputs.push((local.clone(), idx)),
            _ => {}
        }
        flat.nodes.push(node);
        ends.insert(
            local.clone(),
            (vec![(local.clone(), idx)], vec![(local.clone(), idx)]),
        );
    }
    let edges: Vec<String> = match g.get("edges") {
        Some(Value::Str { shape, data })
            if data.is_empty() || (shape.len() == 2 && shape[1] == 2) =>
        {
            data.clone()
        }
        // h5py writes an empty edge list as a float array.
        Some(Value::Num { data, .. }) if data.is_empty() => Vec::new(),
        None => Vec::new(),
        _ => {
            return Err(node_err(
                here,
                "field \"edges\" is not a list of (source, target) ids",
            ))
        }
    };
    // An end named `sub` (a whole nested graph, with one Input or Output) or `sub.x` (one of them).
    let resolve = |name: &str, into: bool| -> Result<usize, FrontendError> {
        let pick = |list: &Vec<(String, usize)>, sub: &str, part: Option<&str>| {
            match part {
                Some(p) => list.iter().find(|(l, _)| l == p).map(|x| x.1),
                None if list.len() == 1 => Some(list[0].1),
                None => None,
            }
            .ok_or_else(|| {
                let what = if into { "Input" } else { "Output" };
                node_err(
                    &full(sub),
                    format!(
                        "edge end {:?}: the nested graph has {} {what} nodes; name one as \"{sub}.<id>\"",
                        full(name),
                        list.len()
                    ),
                )
            })
        };
        if let Some((into_list, out_list)) = ends.get(name) {
            return pick(if into { into_list } else { out_list }, name, None);
        }
        if let Some((sub, part)) = name.split_once('.') {
            if let Some((into_list, out_list)) = ends.get(sub) {
                return pick(if into { into_list } else { out_list }, sub, Some(part));
            }
        }
        Err(node_err(
            &full(name),
            format!(
                "an edge names node {:?}, which the graph does not have",
                full(name)
            ),
        ))
    };
    for pair in edges.chunks(2) {
        let src = resolve(&pair[0], false)?;
        let dst = resolve(&pair[1], true)?;
        flat.edges.push((src, dst));
    }
    Ok((inputs, outputs))
}

/// Gives every node its input and output shapes, from the nodes that know theirs (inputs, weights,
/// neuron parameters) along the edges, and checks that every edge joins equal sizes.
fn infer_shapes(flat: &mut Flat) -> Result<(), FrontendError> {
    let n = flat.nodes.len();
    for _round in 0..=n {
        let mut changed = false;
        for &(a, b) in &flat.edges {
            if let (Some(out), None) = (flat.nodes[a].output.clone(), flat.nodes[b].input.as_ref())
            {
                let node = &mut flat.nodes[b];
                node.input = Some(out.clone());
                if node.output.is_none() {
                    node.output = match &node.op {
                        Op::Pool { k, s, p, .. } => Some(pool_shape(&node.id, &out, *k, *s, *p)?),
                        Op::Identity | Op::Neurons | Op::Sink | Op::Scale(_) => Some(out),
                        _ => None,
                    };
                }
                changed = true;
            }
            if let (None, Some(inp)) = (flat.nodes[a].output.as_ref(), flat.nodes[b].input.clone())
            {
                let node = &mut flat.nodes[a];
                if matches!(node.op, Op::Identity | Op::Neurons) {
                    node.output = Some(inp.clone());
                    if node.input.is_none() {
                        node.input = Some(inp);
                    }
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    for node in &flat.nodes {
        if node.input.is_none() || node.output.is_none() {
            return Err(node_err(
                &node.id,
                "its shape cannot be inferred: no edge joins it to a node of known shape",
            ));
        }
    }
    for &(a, b) in &flat.edges {
        let (na, nb) = (&flat.nodes[a], &flat.nodes[b]);
        let (out, inp) = (na.output.as_ref().unwrap(), nb.input.as_ref().unwrap());
        if size(out) != size(inp) {
            return Err(node_err(
                &nb.id,
                format!(
                    "takes shape {inp:?} ({} values) but node {:?} gives {out:?} ({} values)",
                    size(inp),
                    na.id,
                    size(out)
                ),
            ));
        }
        // Convolutions and pooling read a channels-first image: its axes must match, not only its size.
        if matches!(nb.op, Op::Conv(_) | Op::Pool { .. }) && out.len() == inp.len() && out != inp {
            return Err(node_err(
                &nb.id,
                format!("takes shape {inp:?} but node {:?} gives {out:?}", na.id),
            ));
        }
    }
    for node in &flat.nodes {
        let (i, o) = (node.input.as_ref().unwrap(), node.output.as_ref().unwrap());
        let bad = match &node.op {
            Op::Scale(s) => s.len() as u64 != size(i) && s.len() != 1,
            Op::Neurons | Op::Identity | Op::Source | Op::Sink => size(i) != size(o),
            _ => false,
        };
        if bad {
            return Err(node_err(
                &node.id,
                format!("its parameters give shape {o:?} but its input has shape {i:?}"),
            ));
        }
        if size(o) == 0 || size(o) > MAX_NIR_VALUES {
            return Err(node_err(
                &node.id,
                format!(
                    "has {} values; between 1 and {MAX_NIR_VALUES} are supported",
                    size(o)
                ),
            ));
        }
    }
    Ok(())
}

fn pool_shape(
    id: &str,
    input: &[usize],
    k: [usize; 2],
    s: [usize; 2],
    p: [usize; 2],
) -> Result<Vec<usize>, FrontendError> {
    let [c, h, w] = input else {
        return Err(node_err(
            id,
            format!("takes shape {input:?}; pooling needs (channels, height, width)"),
        ));
    };
    let len = |n: usize, a: usize| {
        (n + 2 * p[a])
            .checked_sub(k[a])
            .map(|x| x / s[a] + 1)
            .ok_or_else(|| {
                node_err(
                    id,
                    format!("the kernel {k:?} is larger than the input {input:?}"),
                )
            })
    };
    Ok(vec![*c, len(*h, 0)?, len(*w, 1)?])
}

/// A sparse vector: (index, value), sorted by index, no zeros.
type Sparse = Vec<(u32, f64)>;

/// Applies a linear node to a sparse vector.
fn apply(node: &Node, cols: &Option<Vec<Sparse>>, x: &Sparse, out: &mut BTreeMap<u32, f64>) {
    let input = node.input.as_deref().unwrap_or(&[]);
    match &node.op {
        Op::Identity | Op::Source | Op::Sink | Op::Neurons => {
            for &(i, v) in x {
                *out.entry(i).or_default() += v;
            }
        }
        Op::Scale(s) => {
            for &(i, v) in x {
                let f = if s.len() == 1 { s[0] } else { s[i as usize] };
                *out.entry(i).or_default() += v * f;
            }
        }
        Op::Dense { .. } => {
            let cols = cols.as_ref().expect("dense nodes have columns");
            for &(i, v) in x {
                for &(j, w) in &cols[i as usize] {
                    *out.entry(j).or_default() += v * w;
                }
            }
        }
        Op::Conv(c) => {
            let (h, w) = if input.len() == 2 {
                (1, input[1])
            } else {
                (input[1], input[2])
            };
            let o = node.output.as_deref().unwrap_or(&[]);
            let (oh, ow) = if o.len() == 2 {
                (1, o[1])
            } else {
                (o[1], o[2])
            };
            let cog = c.co / c.groups;
            for &(i, v) in x {
                let i = i as usize;
                let (ci, y, xx) = (i / (h * w), (i / w) % h, i % w);
                let (grp, cl) = (ci / c.cig, ci % c.cig);
                for co in grp * cog..(grp + 1) * cog {
                    for ky in 0..c.k[0] {
                        let ty = y + c.p[0];
                        let Some(ty) = ty.checked_sub(ky * c.d[0]) else {
                            continue;
                        };
                        if ty % c.s[0] != 0 || ty / c.s[0] >= oh {
                            continue;
                        }
                        for kx in 0..c.k[1] {
                            let tx = xx + c.p[1];
                            let Some(tx) = tx.checked_sub(kx * c.d[1]) else {
                                continue;
                            };
                            if tx % c.s[1] != 0 || tx / c.s[1] >= ow {
                                continue;
                            }
                            let wt = c.w[((co * c.cig + cl) * c.k[0] + ky) * c.k[1] + kx];
                            if wt != 0.0 {
                                let j = (co * oh + ty / c.s[0]) * ow + tx / c.s[1];
                                *out.entry(j as u32).or_default() += v * wt;
                            }
                        }
                    }
                }
            }
        }
        Op::Pool { k, s, p, factor } => {
            let (h, w) = (input[1], input[2]);
            let o = node.output.as_deref().unwrap_or(&[]);
            let (oh, ow) = (o[1], o[2]);
            for &(i, v) in x {
                let i = i as usize;
                let (ci, y, xx) = (i / (h * w), (i / w) % h, i % w);
                for ky in 0..k[0] {
                    let Some(ty) = (y + p[0]).checked_sub(ky) else {
                        continue;
                    };
                    if ty % s[0] != 0 || ty / s[0] >= oh {
                        continue;
                    }
                    for kx in 0..k[1] {
                        let Some(tx) = (xx + p[1]).checked_sub(kx) else {
                            continue;
                        };
                        if tx % s[1] != 0 || tx / s[1] >= ow {
                            continue;
                        }
                        let j = (ci * oh + ty / s[0]) * ow + tx / s[1];
                        *out.entry(j as u32).or_default() += v * factor;
                    }
                }
            }
        }
    }
}

/// Whether a node is a population or host end (where paths start and stop), not a linear map.
fn is_end(op: &Op) -> bool {
    matches!(op, Op::Source | Op::Sink | Op::Neurons)
}

/// A source neuron and the target neurons its composed non-zero weights reach, ascending.
type Row = (u32, Vec<u32>);

/// Connectivity from one end node to another: per source neuron, its sparse row.
struct Conn {
    src: usize,
    dst: usize,
    rows: Vec<Row>,
}

/// Composes, for every pair of end nodes, the sparse matrix of the linear paths between them.
fn compose(flat: &Flat) -> Result<Vec<Conn>, FrontendError> {
    let n = flat.nodes.len();
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in &flat.edges {
        succ[a].push(b);
    }
    // Topological order of the linear nodes (edges between two of them); a cycle among them has no
    // neuron to break it.
    let mut indeg = vec![0usize; n];
    for &(a, b) in &flat.edges {
        if !is_end(&flat.nodes[a].op) && !is_end(&flat.nodes[b].op) {
            indeg[b] += 1;
        }
    }
    let mut order = Vec::new();
    let mut ready: Vec<usize> = (0..n)
        .filter(|&i| !is_end(&flat.nodes[i].op) && indeg[i] == 0)
        .rev()
        .collect();
    while let Some(i) = ready.pop() {
        order.push(i);
        for &b in succ[i].iter().rev() {
            if !is_end(&flat.nodes[b].op) {
                indeg[b] -= 1;
                if indeg[b] == 0 {
                    ready.push(b);
                }
            }
        }
    }
    let linear = (0..n).filter(|&i| !is_end(&flat.nodes[i].op)).count();
    if order.len() < linear {
        let stuck = (0..n)
            .find(|&i| !is_end(&flat.nodes[i].op) && indeg[i] > 0)
            .expect("a node left over");
        return Err(node_err(
            &flat.nodes[stuck].id,
            "is on a cycle without a neuron node (a linear loop has no timestep to break it)",
        ));
    }
    let mut rank = vec![usize::MAX; n];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = r;
    }
    // Dense weights by input column, zeros dropped.
    let cols: Vec<Option<Vec<Sparse>>> = flat
        .nodes
        .iter()
        .map(|node| match &node.op {
            Op::Dense { rows, cols, w } => {
                let mut c: Vec<Sparse> = vec![Vec::new(); *cols];
                for r in 0..*rows {
                    for (i, col) in c.iter_mut().enumerate() {
                        let x = w[r * *cols + i];
                        if x != 0.0 {
                            col.push((r as u32, x));
                        }
                    }
                }
                Some(c)
            }
            _ => None,
        })
        .collect();

    let mut conns: BTreeMap<(usize, usize), Vec<Row>> = BTreeMap::new();
    let mut total: u64 = 0;
    for src in (0..n).filter(|&i| matches!(flat.nodes[i].op, Op::Source | Op::Neurons)) {
        let len = size(flat.nodes[src].output.as_ref().unwrap()) as u32;
        for i in 0..len {
            // Values arriving at each linear node (by topological rank) and at each end node.
            let mut pending: BTreeMap<usize, BTreeMap<u32, f64>> = BTreeMap::new();
            let mut arrived: BTreeMap<usize, BTreeMap<u32, f64>> = BTreeMap::new();
            let unit: Sparse = vec![(i, 1.0)];
            let send = |to: usize,
                        x: &Sparse,
                        pending: &mut BTreeMap<usize, BTreeMap<u32, f64>>,
                        arrived: &mut BTreeMap<usize, BTreeMap<u32, f64>>| {
                let node = &flat.nodes[to];
                let slot = if is_end(&node.op) {
                    arrived.entry(to).or_default()
                } else {
                    pending.entry(rank[to]).or_default()
                };
                for &(j, v) in x {
                    *slot.entry(j).or_default() += v;
                }
            };
            for &b in &succ[src] {
                send(b, &unit, &mut pending, &mut arrived);
            }
            while let Some((r, x)) = pending.pop_first() {
                let node_idx = order[r];
                let x: Sparse = x.into_iter().filter(|&(_, v)| v != 0.0).collect();
                let mut out = BTreeMap::new();
                apply(&flat.nodes[node_idx], &cols[node_idx], &x, &mut out);
                let y: Sparse = out.into_iter().filter(|&(_, v)| v != 0.0).collect();
                if y.is_empty() {
                    continue;
                }
                for &b in &succ[node_idx] {
                    send(b, &y, &mut pending, &mut arrived);
                }
            }
            for (dst, x) in arrived {
                let targets: Vec<u32> = x
                    .into_iter()
                    .filter(|&(_, v)| v != 0.0)
                    .map(|(j, _)| j)
                    .collect();
                if targets.is_empty() {
                    continue;
                }
                total += targets.len() as u64;
                if total > MAX_NIR_SYNAPSES {
                    return Err(node_err(
                        &flat.nodes[dst].id,
                        format!("the network has more than {MAX_NIR_SYNAPSES} synapses, the most imported"),
                    ));
                }
                conns.entry((src, dst)).or_default().push((i, targets));
            }
        }
    }
    Ok(conns
        .into_iter()
        .map(|((src, dst), rows)| Conn { src, dst, rows })
        .collect())
}

/// Per block of a population split into `k` contiguous ranges: (in_axons, synapses).
fn block_loads(n: u64, k: u64, conns: &[&Conn]) -> Vec<(u64, u64)> {
    let chunk = n.div_ceil(k);
    let mut loads = vec![(0u64, 0u64); k as usize];
    for c in conns {
        for (_, targets) in &c.rows {
            let mut last = u64::MAX;
            for &j in targets {
                let b = j as u64 / chunk;
                loads[b as usize].1 += 1;
                if b != last {
                    loads[b as usize].0 += 1;
                    last = b;
                }
            }
        }
    }
    loads
}

/// Turns the flattened graph and its composed connectivity into blocks and edges.
fn nir_to_network(
    tree: &Value,
    name: &str,
    limits: &Limits,
    opts: &NirOptions,
) -> Result<NirImport, FrontendError> {
    for (field, r) in [("rate", opts.rate), ("input_rate", opts.input_rate)] {
        if !(r.is_finite() && r >= 0.0) {
            return Err(FrontendError::NirFile(format!(
                "option \"{field}\" must be a finite number >= 0, got {r}"
            )));
        }
    }
    let root = group(tree, "/")?;
    let top = match root.get("node") {
        Some(v @ Value::Group(_)) => group(v, "/node")?,
        _ => {
            return Err(FrontendError::NirFile(
                "no group \"node\": not a NIR file".into(),
            ))
        }
    };
    if string(top, "type", "the root graph")? != "NIRGraph" {
        return Err(FrontendError::NirFile(
            "the root node is not a NIRGraph".into(),
        ));
    }
    let mut flat = Flat {
        nodes: Vec::new(),
        edges: Vec::new(),
    };
    flatten(top, "", 0, &mut flat)?;
    infer_shapes(&mut flat)?;
    let mut conns = compose(&flat)?;
    // Blocks are ranges of neurons in (position, channel) order: a block of an image holds every channel
    // of a patch, as the layer splitter's tiles do, so it reads a small receptive field.
    let orders: Vec<Option<(usize, usize)>> = flat
        .nodes
        .iter()
        .map(|node| match (&node.op, node.output.as_deref()) {
            (Op::Neurons, Some([c, rest @ ..])) if !rest.is_empty() => {
                Some((*c, rest.iter().product()))
            }
            _ => None,
        })
        .collect();
    let rank = |node: usize, j: u32| match orders[node] {
        Some((c, positions)) => {
            let j = j as usize;
            ((j % positions) * c + j / positions) as u32
        }
        None => j,
    };
    for c in &mut conns {
        for (i, targets) in &mut c.rows {
            *i = rank(c.src, *i);
            for j in targets.iter_mut() {
                *j = rank(c.dst, *j);
            }
            targets.sort_unstable();
        }
        c.rows.sort_by_key(|r| r.0);
    }

    let n = flat.nodes.len();
    let neurons = |i: usize| size(flat.nodes[i].output.as_ref().unwrap());
    // Blocks per end node; populations start at the compartment bound and grow until they fit.
    let mut k = vec![1u64; n];
    let incoming: Vec<Vec<&Conn>> = (0..n)
        .map(|i| conns.iter().filter(|c| c.dst == i).collect())
        .collect();
    let pops: Vec<usize> = (0..n)
        .filter(|&i| matches!(flat.nodes[i].op, Op::Neurons))
        .collect();
    let total_blocks = |k: &[u64]| pops.iter().map(|&p| k[p]).sum::<u64>();
    for &p in &pops {
        k[p] = neurons(p).div_ceil(limits.compartments).max(1);
    }
    // One more block than now, or as many as the worst load over its limit suggests.
    let grow = |p: usize, k: &mut [u64], ratio: f64| {
        k[p] = (k[p] + 1)
            .max((k[p] as f64 * ratio).floor() as u64)
            .min(neurons(p));
    };
    loop {
        if total_blocks(&k) > MAX_BUILD_BLOCKS as u64 {
            return Err(FrontendError::TooManyBlocks {
                blocks: total_blocks(&k) as usize,
                max: MAX_BUILD_BLOCKS,
            });
        }
        // Input axons and synapses depend on the population's own split only.
        for &p in &pops {
            loop {
                let loads = block_loads(neurons(p), k[p], &incoming[p]);
                let worst_in = loads.iter().map(|l| l.0).max().unwrap_or(0);
                let worst_syn = loads
                    .iter()
                    .map(|l| l.1 * BITS_PER_SYNAPSE)
                    .max()
                    .unwrap_or(0);
                if worst_in <= limits.in_axons && worst_syn <= limits.synapse_bits {
                    break;
                }
                if k[p] >= neurons(p) {
                    let (field, needed, limit) = if worst_in > limits.in_axons {
                        ("in_axons", worst_in, limits.in_axons)
                    } else {
                        ("synapse_bits", worst_syn, limits.synapse_bits)
                    };
                    return Err(FrontendError::DoesNotFit {
                        layer: flat.nodes[p].id.clone(),
                        field,
                        needed,
                        limit,
                    });
                }
                let ratio = (worst_in as f64 / limits.in_axons as f64)
                    .max(worst_syn as f64 / limits.synapse_bits as f64);
                grow(p, &mut k, ratio);
            }
        }
        // Output axons depend on the destinations' splits too: grow the sources over the limit and
        // check everything again.
        let out = out_axons(&flat, &conns, &k, &neurons);
        let mut over = false;
        for &p in &pops {
            let worst = out[p].iter().copied().max().unwrap_or(0);
            if worst > limits.out_axons {
                if k[p] >= neurons(p) {
                    return Err(FrontendError::DoesNotFit {
                        layer: flat.nodes[p].id.clone(),
                        field: "out_axons",
                        needed: worst,
                        limit: limits.out_axons,
                    });
                }
                grow(p, &mut k, worst as f64 / limits.out_axons as f64);
                over = true;
            }
        }
        if !over {
            break;
        }
    }
    assemble(&flat, &conns, &k, name, opts)
}

/// Per end node, per block: output axons.
fn out_axons(
    flat: &Flat,
    conns: &[Conn],
    k: &[u64],
    neurons: &dyn Fn(usize) -> u64,
) -> Vec<Vec<u64>> {
    let mut out: Vec<Vec<u64>> = (0..flat.nodes.len())
        .map(|i| vec![0; k[i] as usize])
        .collect();
    for c in conns {
        let (src_chunk, dst_chunk) = (
            neurons(c.src).div_ceil(k[c.src]),
            neurons(c.dst).div_ceil(k[c.dst]),
        );
        for (i, targets) in &c.rows {
            let mut blocks: Vec<u64> = targets.iter().map(|&j| j as u64 / dst_chunk).collect();
            blocks.dedup();
            out[c.src][(*i as u64 / src_chunk) as usize] += blocks.len() as u64;
        }
    }
    out
}

fn assemble(
    flat: &Flat,
    conns: &[Conn],
    k: &[u64],
    name: &str,
    opts: &NirOptions,
) -> Result<NirImport, FrontendError> {
    let n = flat.nodes.len();
    let neurons = |i: usize| size(flat.nodes[i].output.as_ref().unwrap());
    let out = out_axons(flat, conns, k, &neurons);
    let mut first = vec![0u32; n];
    let mut blocks: Vec<Block> = Vec::new();
    let mut pops = Vec::new();
    // Synapses and input axons per block, from the composed rows.
    for (i, node) in flat.nodes.iter().enumerate() {
        if !is_end(&node.op) {
            continue;
        }
        first[i] = blocks.len() as u32;
        let len = neurons(i);
        match node.op {
            Op::Source | Op::Sink => {
                let mut b = Block::new(node.id.clone(), len).on_host();
                b.layer = Some(node.id.clone());
                if matches!(node.op, Op::Source) {
                    b.rate = opts.input_rate;
                }
                blocks.push(b);
            }
            _ => {
                let incoming: Vec<&Conn> = conns.iter().filter(|c| c.dst == i).collect();
                let loads = block_loads(len, k[i], &incoming);
                let chunk = len.div_ceil(k[i]);
                for (b, (in_axons, syn)) in loads.iter().enumerate() {
                    let lo = b as u64 * chunk;
                    let mut block = Block::new(format!("{}.{b}", node.id), chunk.min(len - lo));
                    block.layer = Some(node.id.clone());
                    block.in_axons = *in_axons;
                    block.out_axons = out[i][b];
                    block.synapse_bits = syn * BITS_PER_SYNAPSE;
                    block.rate = opts.rate;
                    blocks.push(block);
                }
                pops.push(NirPopulation {
                    node: node.id.clone(),
                    kind: node.kind.clone(),
                    neurons: len,
                    blocks: k[i] as usize,
                    synapses: loads.iter().map(|l| l.1).sum(),
                });
            }
        }
    }
    // Edges: per (source block, destination block), the source neurons that reach it and the synapses.
    let mut pairs: BTreeMap<(u32, u32), (u64, u64)> = BTreeMap::new();
    for c in conns {
        let block_of = |node: usize, j: u32| -> u32 {
            match flat.nodes[node].op {
                Op::Neurons => first[node] + (j as u64 / neurons(node).div_ceil(k[node])) as u32,
                _ => first[node],
            }
        };
        for (i, targets) in &c.rows {
            let a = block_of(c.src, *i);
            let mut per: BTreeMap<u32, u64> = BTreeMap::new();
            for &j in targets {
                *per.entry(block_of(c.dst, j)).or_default() += 1;
            }
            for (b, syn) in per {
                let e = pairs.entry((a, b)).or_default();
                e.0 += 1;
                e.1 += syn;
            }
        }
    }
    let mut edges = Vec::with_capacity(pairs.len());
    for ((a, b), (src_neurons, syn)) in pairs {
        let rate = blocks[a as usize].rate;
        let mut e = Edge::new(BlockId(a), BlockId(b), src_neurons as f64 * rate);
        e.synops = Some(syn as f64 * rate);
        edges.push(e);
    }
    let network = Network::new(name, blocks, edges).map_err(FrontendError::Invalid)?;
    Ok(NirImport {
        network,
        populations: pops,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/nir")
            .join(name)
    }

    const LOIHI2: Limits = Limits {
        compartments: 8192,
        in_axons: 8192,
        out_axons: 8192,
        synapse_bits: 1 << 20,
    };

    /// A dataset of the file, by its path.
    fn dataset<'a>(tree: &'a Value, path: &str) -> (&'a [usize], &'a [f64]) {
        let mut v = tree;
        for part in path.split('/') {
            v = match v {
                Value::Group(g) => &g[part],
                _ => panic!("{path}"),
            };
        }
        match v {
            Value::Num { shape, data } => (shape, data),
            _ => panic!("{path} is not numeric"),
        }
    }

    fn nnz(tree: &Value, path: &str) -> u64 {
        dataset(tree, path).1.iter().filter(|&&w| w != 0.0).count() as u64
    }

    /// Non-zero taps of a conv by gathering: per output and kernel tap, the input it reads (when in the
    /// image) counted once per non-zero weight, times `per_input` (inputs pooled into each read value).
    fn conv_nnz(
        tree: &Value,
        node: &str,
        h: usize,
        w: usize,
        pad: usize,
        stride: usize,
        per_input: u64,
    ) -> u64 {
        let (shape, wt) = dataset(tree, &format!("node/nodes/{node}/weight"));
        let (co, ci, kh, kw) = (shape[0], shape[1], shape[2], shape[3]);
        let (oh, ow) = (
            (h + 2 * pad - kh) / stride + 1,
            (w + 2 * pad - kw) / stride + 1,
        );
        let mut n = 0;
        for o in 0..co {
            for y in 0..oh {
                for x in 0..ow {
                    for c in 0..ci {
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let (iy, ix) = (
                                    (y * stride + ky) as i64 - pad as i64,
                                    (x * stride + kx) as i64 - pad as i64,
                                );
                                let inside =
                                    iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w;
                                if inside && wt[((o * ci + c) * kh + ky) * kw + kx] != 0.0 {
                                    n += per_input;
                                }
                            }
                        }
                    }
                }
            }
        }
        n
    }

    /// Imports a fixture on `limits` and checks the counts every import must satisfy: on-chip compartments
    /// are the neuron nodes' sizes, each population's blocks sum to its size, every block fits, and the
    /// synapses are the expected non-zero weights. Returns the import and the file's tree.
    fn check(
        name: &str,
        limits: &Limits,
        synapses: &dyn Fn(&Value) -> Vec<(&'static str, u64)>,
    ) -> NirImport {
        let tree = h5::read(&fixture(name)).unwrap();
        let import = nir_to_network(&tree, name, limits, &NirOptions::default()).unwrap();
        let net = &import.network;
        let on_chip: u64 = net
            .blocks()
            .iter()
            .filter(|b| !b.host)
            .map(|b| b.compartments)
            .sum();
        let sizes: u64 = import.populations.iter().map(|p| p.neurons).sum();
        assert_eq!(on_chip, sizes);
        for p in &import.populations {
            let blocks: Vec<&Block> = net
                .blocks()
                .iter()
                .filter(|b| b.layer.as_deref() == Some(&p.node))
                .collect();
            assert_eq!(blocks.len(), p.blocks, "{}", p.node);
            assert_eq!(
                blocks.iter().map(|b| b.compartments).sum::<u64>(),
                p.neurons
            );
            assert!(blocks.iter().all(|b| b.name.starts_with(&p.node)));
            let bits: u64 = blocks.iter().map(|b| b.synapse_bits).sum();
            assert_eq!(bits, p.synapses * BITS_PER_SYNAPSE);
        }
        for b in net.blocks().iter().filter(|b| !b.host) {
            assert!(b.compartments <= limits.compartments, "{}", b.name);
            assert!(b.in_axons <= limits.in_axons, "{}", b.name);
            assert!(b.out_axons <= limits.out_axons, "{}", b.name);
            assert!(b.synapse_bits <= limits.synapse_bits, "{}", b.name);
        }
        let got: Vec<(&str, u64)> = import
            .populations
            .iter()
            .map(|p| (p.node.as_str(), p.synapses))
            .collect();
        assert_eq!(got, synapses(&tree));
        import
    }

    fn summary(import: &NirImport) -> String {
        import
            .populations
            .iter()
            .map(|p| {
                format!(
                    "{} {} {}x{} {}",
                    p.node, p.kind, p.neurons, p.blocks, p.synapses
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    #[test]
    fn mlp_hidden_layer_needs_several_cores() {
        let syn = |t: &Value| {
            vec![
                ("li2", nnz(t, "node/nodes/fc2/weight")),
                ("lif1", nnz(t, "node/nodes/fc1/weight")),
            ]
        };
        let i = check("mlp.nir", &LOIHI2, &syn);
        assert_eq!(summary(&i), "li2 LI 10x1 10000, lif1 LIF 2000x2 157204");
        let i = check("mlp.nir", &Limits::LOIHI, &syn);
        assert_eq!(summary(&i), "li2 LI 10x1 10000, lif1 LIF 2000x2 157204");
    }

    #[test]
    fn recurrent_graph_is_flattened_and_sparse() {
        let syn = |t: &Value| {
            vec![
                ("readout", nnz(t, "node/nodes/w_out/weight")),
                (
                    "rsnn.lif",
                    nnz(t, "node/nodes/w_in/weight") + nnz(t, "node/nodes/rsnn/nodes/w_rec/weight"),
                ),
            ]
        };
        let i = check("rsnn.nir", &LOIHI2, &syn);
        assert_eq!(
            summary(&i),
            "readout LIF 10x1 10000, rsnn.lif CubaLIF 1000x1 40130"
        );
    }

    #[test]
    fn conv_net_counts_kernel_taps() {
        let syn = |t: &Value| {
            vec![
                ("lif1", conv_nnz(t, "conv1", 34, 34, 1, 1, 1)),
                ("lif2", conv_nnz(t, "conv2", 17, 17, 1, 2, 4)),
                ("lif3", nnz(t, "node/nodes/fc/weight")),
            ]
        };
        let i = check("conv.nir", &LOIHI2, &syn);
        assert_eq!(
            summary(&i),
            "lif1 LIF 18496x4 320000, lif2 LIF 2592x12 1280000, lif3 LIF 10x1 25920"
        );
        let i = check("conv.nir", &Limits::LOIHI, &syn);
        assert_eq!(
            summary(&i),
            "lif1 LIF 18496x19 320000, lif2 LIF 2592x12 1280000, lif3 LIF 10x1 25920"
        );
    }

    // In-memory NIR trees, as the HDF5 reader gives them.
    fn arr(shape: &[usize], data: &[f64]) -> Value {
        Value::Num {
            shape: shape.to_vec(),
            data: data.to_vec(),
        }
    }

    fn text(s: &str) -> Value {
        Value::Str {
            shape: vec![],
            data: vec![s.to_string()],
        }
    }

    fn node(kind: &str, fields: &[(&str, Value)]) -> Value {
        let mut g: BTreeMap<String, Value> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        g.insert("type".into(), text(kind));
        Value::Group(g)
    }

    fn graph(nodes: &[(&str, Value)], edges: &[(&str, &str)]) -> Value {
        let nodes = nodes
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let data = edges
            .iter()
            .flat_map(|(a, b)| [a.to_string(), b.to_string()])
            .collect();
        let mut g = BTreeMap::new();
        g.insert("type".into(), text("NIRGraph"));
        g.insert("nodes".into(), Value::Group(nodes));
        g.insert(
            "edges".into(),
            Value::Str {
                shape: vec![edges.len(), 2],
                data,
            },
        );
        Value::Group(g)
    }

    fn input(shape: &[f64]) -> Value {
        node("Input", &[("shape", arr(&[shape.len()], shape))])
    }

    fn lif(n: usize) -> Value {
        node("LIF", &[("tau", arr(&[n], &vec![0.01; n]))])
    }

    fn linear(rows: usize, cols: usize, w: &[f64]) -> Value {
        node("Linear", &[("weight", arr(&[rows, cols], w))])
    }

    /// Imports a root graph on `limits`: the populations and every block with its counts, or the error.
    fn run(root: Value, limits: &Limits) -> String {
        let file = Value::Group([("node".to_string(), root)].into_iter().collect());
        match nir_to_network(&file, "t", limits, &NirOptions::default()) {
            Ok(i) => {
                let blocks: Vec<String> = i
                    .network
                    .blocks()
                    .iter()
                    .filter(|b| !b.host)
                    .map(|b| {
                        format!(
                            "{} c{} in{} out{} syn{}",
                            b.name,
                            b.compartments,
                            b.in_axons,
                            b.out_axons,
                            b.synapse_bits / BITS_PER_SYNAPSE
                        )
                    })
                    .collect();
                let edges: Vec<String> = i
                    .network
                    .edges()
                    .iter()
                    .map(|e| {
                        let n = |b: BlockId| i.network.block(b).name.clone();
                        format!("{}->{} {}/{}", n(e.src), n(e.dst), e.spikes, e.synops())
                    })
                    .collect();
                format!("{} | {}", blocks.join(", "), edges.join(", "))
            }
            Err(e) => e.to_string(),
        }
    }

    const ROOMY: Limits = Limits {
        compartments: 1000,
        in_axons: 1000,
        out_axons: 1000,
        synapse_bits: 1 << 20,
    };

    #[test]
    fn zero_and_cancelling_weights_are_not_synapses() {
        // Two paths from the input to the LIF: [[1, 0], [0, 0]] + [[-1, 0], [0, 2]] = [[0, 0], [0, 2]]:
        // one synapse, from input 1 to neuron 1.
        let g = graph(
            &[
                ("in", input(&[2.0])),
                ("a", linear(2, 2, &[1.0, 0.0, 0.0, 0.0])),
                ("b", linear(2, 2, &[-1.0, 0.0, 0.0, 2.0])),
                ("lif", lif(2)),
            ],
            &[("in", "a"), ("in", "b"), ("a", "lif"), ("b", "lif")],
        );
        assert_eq!(run(g, &ROOMY), "lif.0 c2 in1 out0 syn1 | in->lif.0 0.1/0.1");
    }

    #[test]
    fn recurrent_connections_count_their_sparsity() {
        // A 4-neuron LIF with a diagonal recurrent matrix: 4 synapses, not 16; the edge is a self-loop.
        let mut eye = vec![0.0; 16];
        for i in 0..4 {
            eye[i * 4 + i] = 0.5;
        }
        let g = graph(
            &[
                ("in", input(&[4.0])),
                ("w", linear(4, 4, &eye)),
                ("lif", lif(4)),
            ],
            &[("in", "lif"), ("lif", "w"), ("w", "lif")],
        );
        assert_eq!(
            run(g, &ROOMY),
            "lif.0 c4 in8 out4 syn8 | in->lif.0 0.4/0.4, lif.0->lif.0 0.4/0.4"
        );
    }

    #[test]
    fn conv1d_avgpool_flatten_scale_and_delay_fold_into_paths() {
        // Input (1 channel x 5) -> Conv1d (2 channels, kernel 3, padding 1): 13 taps per channel inside the
        // input -> LIF (2 x 5). Then Flatten -> Scale with one zero -> Delay -> Linear (1 x 10, all ones)
        // -> LIF of 1: 9 synapses (the zeroed neuron has none).
        let conv = node(
            "Conv1d",
            &[
                ("weight", arr(&[2, 1, 3], &[1.0; 6])),
                ("input_shape", arr(&[], &[5.0])),
                ("padding", arr(&[1], &[1.0])),
                ("stride", arr(&[1], &[1.0])),
            ],
        );
        let mut scale = vec![1.0; 10];
        scale[3] = 0.0;
        let g = graph(
            &[
                ("in", input(&[1.0, 5.0])),
                ("conv", conv),
                ("lif1", node("LIF", &[("tau", arr(&[2, 5], &[0.01; 10]))])),
                (
                    "flat",
                    node("Flatten", &[("input_type", arr(&[2], &[2.0, 5.0]))]),
                ),
                ("scale", node("Scale", &[("scale", arr(&[10], &scale))])),
                ("delay", node("Delay", &[("delay", arr(&[10], &[1.0; 10]))])),
                ("fc", linear(1, 10, &[1.0; 10])),
                ("lif2", node("IF", &[("r", arr(&[], &[1.0]))])),
            ],
            &[
                ("in", "conv"),
                ("conv", "lif1"),
                ("lif1", "flat"),
                ("flat", "scale"),
                ("scale", "delay"),
                ("delay", "fc"),
                ("fc", "lif2"),
            ],
        );
        assert_eq!(
            run(g, &ROOMY),
            "lif1.0 c10 in5 out9 syn26, lif2.0 c1 in9 out0 syn9 | in->lif1.0 0.5/2.6, \
             lif1.0->lif2.0 0.9/0.9"
        );
        // Average pooling over a conv2d: 2x2 windows of a 1 x 4 x 4 LIF reach one of 4 neurons each.
        let g = graph(
            &[
                ("in", input(&[1.0, 4.0, 4.0])),
                (
                    "lif1",
                    node("LIF", &[("tau", arr(&[1, 4, 4], &[0.01; 16]))]),
                ),
                (
                    "pool",
                    node(
                        "AvgPool2d",
                        &[
                            ("kernel_size", arr(&[2], &[2.0, 2.0])),
                            ("stride", arr(&[2], &[2.0, 2.0])),
                            ("padding", arr(&[2], &[0.0, 0.0])),
                        ],
                    ),
                ),
                ("lif2", node("LIF", &[("tau", arr(&[], &[0.01]))])),
            ],
            &[("in", "lif1"), ("lif1", "pool"), ("pool", "lif2")],
        );
        assert_eq!(
            run(g, &ROOMY),
            "lif1.0 c16 in16 out16 syn16, lif2.0 c4 in16 out0 syn16 | in->lif1.0 1.6/1.6, \
             lif1.0->lif2.0 1.6/1.6"
        );
    }

    #[test]
    fn populations_split_until_every_block_fits() {
        // 8 neurons with 4 synapses each, at most 6 synapses a core: one neuron per block.
        let g = || {
            graph(
                &[
                    ("in", input(&[4.0])),
                    ("w", linear(8, 4, &[1.0; 32])),
                    ("lif", lif(8)),
                ],
                &[("in", "w"), ("w", "lif")],
            )
        };
        let tight = Limits {
            synapse_bits: 6 * BITS_PER_SYNAPSE,
            ..ROOMY
        };
        let got = run(g(), &tight);
        assert!(got.starts_with("lif.0 c1 in4 out0 syn4, lif.1 c1"), "{got}");
        assert_eq!(got.matches("c1 in4").count(), 8, "{got}");
        // A single neuron that needs more than a core: the error names the node and the limit.
        let tiny = Limits {
            synapse_bits: 3 * BITS_PER_SYNAPSE,
            ..ROOMY
        };
        assert_eq!(
            run(g(), &tiny),
            "layer \"lif\" cannot be split to fit one core: a block of one neuron needs 32 synapse_bits, \
             the core limit is 24"
        );
        // Output axons: 4 inputs... a LIF of 4 feeding 8 blocks of one neuron each reaches 8 blocks per
        // neuron; with at most 16 output axons a core, it splits in two.
        let g = graph(
            &[
                ("in", input(&[4.0])),
                ("lif0", lif(4)),
                ("w", linear(8, 4, &[1.0; 32])),
                ("lif", lif(8)),
            ],
            &[("in", "lif0"), ("lif0", "w"), ("w", "lif")],
        );
        let out = Limits {
            out_axons: 16,
            ..tight
        };
        let got = run(g, &out);
        assert!(got.contains("lif0.0 c2 in2 out16"), "{got}");
        assert!(got.contains("lif0.1 c2 in2 out16"), "{got}");
    }

    #[test]
    fn nested_graphs_flatten_with_dotted_ids() {
        let inner = graph(
            &[
                ("input", input(&[3.0])),
                ("lif", lif(3)),
                ("output", node("Output", &[("shape", arr(&[1], &[3.0]))])),
            ],
            &[("input", "lif"), ("lif", "output")],
        );
        let outer = |edge_in: &'static str| {
            graph(
                &[
                    ("in", input(&[3.0])),
                    ("sub", inner.clone()),
                    ("out", node("Output", &[("shape", arr(&[1], &[3.0]))])),
                ],
                &[("in", edge_in), ("sub", "out")],
            )
        };
        let want =
            "sub.lif.0 c3 in3 out3 syn3 | in->sub.lif.0 0.30000000000000004/0.30000000000000004, \
                    sub.lif.0->out 0.30000000000000004/0.30000000000000004";
        assert_eq!(run(outer("sub"), &ROOMY), want);
        assert_eq!(run(outer("sub.input"), &ROOMY), want);
        assert_eq!(
            run(outer("sub.nope"), &ROOMY),
            "NIR node \"sub\": edge end \"sub.nope\": the nested graph has 1 Input nodes; name one as \
             \"sub.<id>\""
        );
        assert_eq!(
            run(outer("nope"), &ROOMY),
            "NIR node \"nope\": an edge names node \"nope\", which the graph does not have"
        );
    }

    #[test]
    fn shapes_must_be_known_and_agree() {
        // A neuron with only scalar parameters and no neighbour of known shape.
        let g = graph(
            &[
                ("in", input(&[2.0])),
                ("lif", node("LIF", &[("tau", arr(&[], &[0.01]))])),
            ],
            &[],
        );
        assert_eq!(
            run(g, &ROOMY),
            "NIR node \"lif\": its shape cannot be inferred: no edge joins it to a node of known shape"
        );
        let g = graph(&[("in", input(&[2.0])), ("lif", lif(3))], &[("in", "lif")]);
        assert_eq!(
            run(g, &ROOMY),
            "NIR node \"lif\": takes shape [3] (3 values) but node \"in\" gives [2] (2 values)"
        );
        let g = graph(
            &[("in", input(&[2.0])), ("x", node("Conv3d", &[]))],
            &[("in", "x")],
        );
        assert!(run(g, &ROOMY).starts_with("NIR node \"x\": unsupported node type \"Conv3d\""));
        let g = node("LIF", &[]);
        assert_eq!(run(g, &ROOMY), "the root node is not a NIRGraph");
    }

    #[test]
    fn deep_nesting_and_bad_options_are_errors() {
        let mut g = graph(&[("in", input(&[1.0])), ("lif", lif(1))], &[("in", "lif")]);
        for _ in 0..40 {
            g = graph(&[("g", g)], &[]);
        }
        let got = run(g, &ROOMY);
        assert!(got.ends_with("graphs nest deeper than 32"), "{got}");
        let file = Value::Group(
            [("node".to_string(), graph(&[("in", input(&[1.0]))], &[]))]
                .into_iter()
                .collect(),
        );
        let opts = NirOptions {
            rate: f64::NAN,
            ..NirOptions::default()
        };
        assert_eq!(
            nir_to_network(&file, "t", &ROOMY, &opts)
                .unwrap_err()
                .to_string(),
            "option \"rate\" must be a finite number >= 0, got NaN"
        );
    }
}
