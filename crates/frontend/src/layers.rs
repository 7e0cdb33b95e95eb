//! The `snn-layers/1` layer description ([`LayerSpec`], specified in `docs/layers-format.md`), its
//! checks and shape inference, and its lowering to neuron populations joined by folded linear maps
//! (the input of the splitter in [`crate::split`]).
//!
//! Where neurons sit: at every nonlinearity. A `conv2d`, `depthwise_conv2d`, `dense` or `add` layer with
//! a `relu` activation (their default), and every `relu` layer, holds neurons; a linear layer (any layer
//! with `"activation": "linear"`, and `avg_pool`, `global_avg_pool`, `flatten`, `zero_pad`) has none:
//! its map folds into the connections that reach the next neurons. Inputs are host populations, a layer
//! with `"on_chip": false` is a host population (neurons or not), and every output layer is read by a
//! host probe (a linear output layer *is* the probe).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::FrontendError;

/// The format tag of a layer description.
pub const LAYERS_FORMAT: &str = "snn-layers/1";
/// The firing rate (mean spikes per neuron per timestep) of a layer that gives none, when the description
/// gives no default either.
pub const DEFAULT_RATE: f64 = 0.1;
/// The largest extent a shape may have along one axis, and the most neurons one layer may have, so that
/// a bad file fails with an error instead of exhausting memory.
pub const MAX_AXIS: u64 = 1 << 16;
pub const MAX_LAYER_NEURONS: u64 = 1 << 31;
/// The most neurons (and input values) all layers together may have: 2^27, more than the largest Loihi
/// system, Pohoiki Springs, holds (768 chips x 128 cores x 1,024 compartments = 100,663,296). Splitting
/// takes time in proportion to the neurons, so a description cannot ask for hours of work.
pub const MAX_NETWORK_NEURONS: u64 = 1 << 27;

/// A network as layers: what `snn-place build` reads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerSpec {
    /// Must be `snn-layers/1`.
    pub format: String,
    /// The network's name.
    #[serde(default)]
    pub name: String,
    /// The firing rate of layers that give none (default [`DEFAULT_RATE`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// The layers, each after the layers it takes input from.
    pub layers: Vec<Layer>,
    /// The layers read by host probes; default: every layer no other layer takes input from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Vec<String>>,
}

/// What a layer does.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerKind {
    Input,
    Conv2d,
    DepthwiseConv2d,
    Dense,
    Add,
    AvgPool,
    Flatten,
    GlobalAvgPool,
    ZeroPad,
    Relu,
}

impl LayerKind {
    pub fn name(self) -> &'static str {
        match self {
            LayerKind::Input => "input",
            LayerKind::Conv2d => "conv2d",
            LayerKind::DepthwiseConv2d => "depthwise_conv2d",
            LayerKind::Dense => "dense",
            LayerKind::Add => "add",
            LayerKind::AvgPool => "avg_pool",
            LayerKind::Flatten => "flatten",
            LayerKind::GlobalAvgPool => "global_avg_pool",
            LayerKind::ZeroPad => "zero_pad",
            LayerKind::Relu => "relu",
        }
    }
}

/// `same` or `valid`, as Keras means them (`same` with stride 2 pads the extra row and column at the
/// bottom and right).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Padding {
    Same,
    Valid,
}

/// Whether a layer's outputs go through a rectifier (neurons) or not (folded into the next connection).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    Relu,
    Linear,
}

/// One layer. Which fields apply depends on `type` (see `docs/layers-format.md`); a field that does not
/// apply is an error, so a misspelt or misplaced setting is never silently ignored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: LayerKind,
    /// The layers this one reads; default: the layer before it. `add` takes two or more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Vec<String>>,
    /// `input`: `[height, width, channels]` or `[n]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape: Option<Vec<u64>>,
    /// `conv2d`: output channels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<u64>,
    /// `dense`: output units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<u64>,
    /// `depthwise_conv2d`: output channels per input channel (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth_multiplier: Option<u64>,
    /// `conv2d`, `depthwise_conv2d`: `[height, width]`; `avg_pool`: the pool size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<[u64; 2]>,
    /// Default `[1, 1]` for convolutions, the pool size for `avg_pool`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strides: Option<[u64; 2]>,
    /// Default `valid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub padding: Option<Padding>,
    /// `zero_pad`: `[[top, bottom], [left, right]]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pad: Option<[[u64; 2]; 2]>,
    /// `conv2d`, `depthwise_conv2d`, `dense`, `add`: default `relu`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation: Option<Activation>,
    /// `relu`: the cap (ReLU6 has 6); recorded, it does not change the mapping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_value: Option<f64>,
    /// Mean spikes per neuron per timestep of this layer's neurons (or of an input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// `false`: the layer is computed on the host (one host block).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_chip: Option<bool>,
    /// The shape of the tiles an on-chip layer with neurons is split into, as nengo-loihi's
    /// `BlockShape`: `[rows, cols, channels]` for an image, `[n]` for a vector (default: chosen by the
    /// splitter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_shape: Option<Vec<u64>>,
}

impl Layer {
    /// A layer of `kind` with every optional field unset.
    pub fn new(name: impl Into<String>, kind: LayerKind) -> Layer {
        Layer {
            name: name.into(),
            kind,
            inputs: None,
            shape: None,
            filters: None,
            units: None,
            depth_multiplier: None,
            kernel: None,
            strides: None,
            padding: None,
            pad: None,
            activation: None,
            max_value: None,
            rate: None,
            on_chip: None,
            block_shape: None,
        }
    }

    /// True when the layer's outputs pass through neurons.
    pub(crate) fn has_neurons(&self) -> bool {
        match self.kind {
            LayerKind::Relu => true,
            LayerKind::Conv2d | LayerKind::DepthwiseConv2d | LayerKind::Dense | LayerKind::Add => {
                self.activation.unwrap_or(Activation::Relu) == Activation::Relu
            }
            _ => false,
        }
    }
}

/// Parses an `snn-layers/1` document.
pub fn parse_layers(text: &str) -> Result<LayerSpec, FrontendError> {
    // Duplicate keys and over-long strings are caught here, before the typed parse below.
    let value = crate::json::parse_strict(text).map_err(|e| FrontendError::Json(e.to_string()))?;
    match value.get("format").and_then(|f| f.as_str()) {
        Some(LAYERS_FORMAT) => {}
        Some(found) => {
            return Err(FrontendError::Format {
                found: found.to_string(),
            })
        }
        None => return Err(FrontendError::MissingFormat),
    }
    // Parsed again from the text so that errors carry their JSON path and position.
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de)
        .map_err(|e| FrontendError::Json(format!("{}: {}", e.path(), e.inner())))
}

/// A tensor shape: height x width x channels, `flat` when it is a vector (then height = width = 1).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Shape {
    pub h: u64,
    pub w: u64,
    pub c: u64,
    pub flat: bool,
}

impl Shape {
    pub fn neurons(&self) -> u64 {
        self.h * self.w * self.c
    }

    /// The shape as Keras prints it, without the batch axis: `[h, w, c]` or `[n]`.
    pub fn dims(&self) -> Vec<u64> {
        if self.flat {
            vec![self.c]
        } else {
            vec![self.h, self.w, self.c]
        }
    }
}

/// One step of a spatial map along one axis: output index `y` reads input indices
/// `y * s - p .. y * s - p + k` (those inside `0..in_len`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Op1 {
    pub k: usize,
    pub s: usize,
    pub p: usize,
    pub in_len: usize,
    pub out_len: usize,
}

/// How output indices along one spatial axis map to a source population's indices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum DimMap {
    /// A chain of convolution-like steps, source first; weights are shared along the axis.
    Chain(Vec<Op1>),
    /// Every output index reads every source index with its own weights (after a flatten).
    Full,
}

/// How output channels map to a source population's channels.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum ChanMap {
    /// Output channel `c` reads source channel `c / m` alone (identity, depthwise, pooling).
    Div(usize),
    /// Every output channel reads every source channel.
    Full,
}

/// One linear path from a source population to a point: a separable map per axis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Term {
    pub src: usize,
    pub rows: DimMap,
    pub cols: DimMap,
    pub chan: ChanMap,
}

/// What a population is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum PopKind {
    /// On-chip neurons.
    Neurons,
    /// A host population: an input, a probe or an `on_chip: false` layer.
    Host,
}

/// A population of neurons (or host values) with the linear paths that feed it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Pop {
    /// The prefix of its blocks' names.
    pub name: String,
    /// The layer its blocks report.
    pub layer: String,
    pub shape: Shape,
    pub rate: f64,
    pub kind: PopKind,
    pub terms: Vec<Term>,
    /// The tile shape the layer asks for (`block_shape`), as rows, cols, channels (`[n]` is `[1, 1, n]`),
    /// as given: an entry larger than the layer's extent is clamped when the layer is split.
    pub block_shape: Option<[usize; 3]>,
}

/// The lowered network: populations in topological order.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Lowered {
    pub name: String,
    pub pops: Vec<Pop>,
    /// Every layer's output shape, in file order.
    pub shapes: Vec<(String, Shape)>,
}

/// A layer's output: the sum of linear paths from populations, with its shape.
#[derive(Clone, Debug)]
struct Expr {
    terms: Vec<Term>,
    shape: Shape,
}

fn identity(src: usize) -> Term {
    Term {
        src,
        rows: DimMap::Chain(Vec::new()),
        cols: DimMap::Chain(Vec::new()),
        chan: ChanMap::Div(1),
    }
}

/// Checks `spec` and computes every layer's output shape.
pub fn infer_shapes(spec: &LayerSpec) -> Result<Vec<(String, Shape)>, FrontendError> {
    Ok(lower(spec)?.shapes)
}

/// Checks `spec`, infers shapes and places neurons: the populations and the linear paths between them.
pub(crate) fn lower(spec: &LayerSpec) -> Result<Lowered, FrontendError> {
    if spec.format != LAYERS_FORMAT {
        return Err(FrontendError::Format {
            found: spec.format.clone(),
        });
    }
    let default_rate = spec.rate.unwrap_or(DEFAULT_RATE);
    check_rate("(default)", default_rate)?;
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    let mut used = vec![false; spec.layers.len()];
    let mut exprs: Vec<Expr> = Vec::with_capacity(spec.layers.len());
    let mut pops: Vec<Pop> = Vec::new();
    let mut shapes = Vec::with_capacity(spec.layers.len());
    if !spec.layers.iter().any(|l| l.kind == LayerKind::Input) {
        return Err(FrontendError::NoInput);
    }
    let mut total_neurons = 0u64;
    for (idx, layer) in spec.layers.iter().enumerate() {
        let name = layer.name.as_str();
        // parse_layers caps every string; a spec built in code is checked here.
        if name.len() > crate::MAX_NAME_LEN {
            return Err(FrontendError::BadField {
                layer: name.chars().take(64).collect::<String>() + "...",
                field: "name",
                problem: format!(
                    "is {} bytes long; at most {} are supported",
                    name.len(),
                    crate::MAX_NAME_LEN
                ),
            });
        }
        if by_name.contains_key(name) {
            return Err(FrontendError::DuplicateLayer {
                layer: name.to_string(),
            });
        }
        check_fields(layer)?;
        let rate = layer.rate.unwrap_or(default_rate);
        check_rate(name, rate)?;
        // The inputs, resolved to earlier layers.
        let input_names: Vec<String> = match (&layer.inputs, layer.kind) {
            (_, LayerKind::Input) => Vec::new(),
            (Some(v), _) => v.clone(),
            (None, _) if idx > 0 => vec![spec.layers[idx - 1].name.clone()],
            (None, _) => {
                return Err(FrontendError::MissingInput {
                    layer: name.to_string(),
                })
            }
        };
        let mut ins = Vec::with_capacity(input_names.len());
        for input in &input_names {
            match by_name.get(input.as_str()) {
                Some(&i) => {
                    used[i] = true;
                    ins.push(i)
                }
                None => {
                    return Err(FrontendError::UnknownInput {
                        layer: name.to_string(),
                        input: input.clone(),
                    })
                }
            }
        }
        let want_inputs = match layer.kind {
            LayerKind::Input => 0,
            LayerKind::Add => usize::MAX,
            _ => 1,
        };
        if want_inputs == 1 && ins.len() != 1 || want_inputs == usize::MAX && ins.len() < 2 {
            return Err(FrontendError::Shape {
                layer: name.to_string(),
                problem: format!(
                    "a {} layer takes {} input{}, got {}",
                    layer.kind.name(),
                    if want_inputs == 1 {
                        "one"
                    } else {
                        "two or more"
                    },
                    if want_inputs == 1 { "" } else { "s" },
                    ins.len()
                ),
            });
        }
        let expr = if layer.kind == LayerKind::Input {
            let shape = input_shape(layer)?;
            pops.push(Pop {
                name: name.to_string(),
                layer: name.to_string(),
                shape,
                rate,
                kind: PopKind::Host,
                terms: Vec::new(),
                block_shape: None,
            });
            Expr {
                terms: vec![identity(pops.len() - 1)],
                shape,
            }
        } else {
            let pre = apply(layer, &ins.iter().map(|&i| &exprs[i]).collect::<Vec<_>>())?;
            check_size(name, &pre.shape)?;
            let host = layer.on_chip == Some(false);
            let block_shape = check_block_shape(layer, &pre.shape, host)?;
            if layer.has_neurons() || host {
                pops.push(Pop {
                    name: name.to_string(),
                    layer: name.to_string(),
                    shape: pre.shape,
                    rate,
                    kind: if host {
                        PopKind::Host
                    } else {
                        PopKind::Neurons
                    },
                    terms: pre.terms,
                    block_shape,
                });
                Expr {
                    terms: vec![identity(pops.len() - 1)],
                    shape: pre.shape,
                }
            } else {
                pre
            }
        };
        // Each layer's shape is capped, so the sum cannot overflow before it passes the cap.
        total_neurons += expr.shape.neurons();
        if total_neurons > MAX_NETWORK_NEURONS {
            return Err(FrontendError::TooManyNeurons {
                layer: name.to_string(),
                total: total_neurons,
                max: MAX_NETWORK_NEURONS,
            });
        }
        shapes.push((name.to_string(), expr.shape));
        by_name.insert(name, idx);
        exprs.push(expr);
    }
    // Probes read the outputs.
    let outputs: Vec<usize> = match &spec.outputs {
        Some(names) => {
            let mut v = Vec::new();
            for n in names {
                match by_name.get(n.as_str()) {
                    Some(&i) => v.push(i),
                    None => {
                        return Err(FrontendError::UnknownInput {
                            layer: "(outputs)".into(),
                            input: n.clone(),
                        })
                    }
                }
            }
            v
        }
        None => (0..spec.layers.len()).filter(|&i| !used[i]).collect(),
    };
    for i in outputs {
        let layer = &spec.layers[i];
        let expr = &exprs[i];
        let own_pop = pops
            .iter()
            .position(|p| p.name == layer.name)
            .filter(|_| layer.has_neurons() || layer.on_chip == Some(false));
        if own_pop.is_some_and(|p| pops[p].kind == PopKind::Host) {
            // An input or host layer is read on the host already.
            continue;
        }
        let name = if own_pop.is_some() {
            format!("{}.probe", layer.name)
        } else {
            layer.name.clone()
        };
        pops.push(Pop {
            layer: if own_pop.is_some() {
                "probe".into()
            } else {
                layer.name.clone()
            },
            name,
            shape: expr.shape,
            rate: 0.0,
            kind: PopKind::Host,
            terms: expr.terms.clone(),
            block_shape: None,
        });
    }
    Ok(Lowered {
        name: spec.name.clone(),
        pops,
        shapes,
    })
}

/// Checks a layer's `block_shape` against its output shape: the rank (`[rows, cols, channels]` for an
/// image, `[n]` for a vector), no zero, and no more neurons per tile than the layer has. An entry
/// larger than the layer along one axis is clamped to it, as nengo-loihi's `split_block` does, so that
/// nengo-loihi's own block shapes keep working (its Keras example puts `(8, 8, 16)` on a 6x6x64 layer).
fn check_block_shape(
    layer: &Layer,
    shape: &Shape,
    host: bool,
) -> Result<Option<[usize; 3]>, FrontendError> {
    let Some(dims) = &layer.block_shape else {
        return Ok(None);
    };
    let bad = |problem: String| FrontendError::BadField {
        layer: layer.name.clone(),
        field: "block_shape",
        problem,
    };
    if host || !layer.has_neurons() {
        return Err(bad(format!(
            "applies only to an on-chip layer with neurons; {:?} {}",
            layer.name,
            if host {
                "is computed on the host"
            } else {
                "has none (a linear layer folds into the next connection)"
            }
        )));
    }
    let want = if shape.flat { 1 } else { 3 };
    if dims.len() != want {
        return Err(bad(format!(
            "must have {want} number{} ({}) for the layer's output shape {:?}, got {}",
            if want == 1 { "" } else { "s" },
            if shape.flat {
                "[n]"
            } else {
                "[rows, cols, channels]"
            },
            shape.dims(),
            dims.len()
        )));
    }
    if dims.contains(&0) {
        return Err(bad(format!(
            "must be at least 1 along every axis, got {dims:?}"
        )));
    }
    let full = shape.dims();
    let tile = dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d));
    if tile.is_none_or(|t| t > shape.neurons()) {
        let tile = tile.map_or_else(|| format!("more than {}", u64::MAX), |t| t.to_string());
        return Err(bad(format!(
            "{dims:?} ({tile} neurons) is larger than the layer's output shape {full:?} ({} neurons)",
            shape.neurons()
        )));
    }
    // Each entry is at most the layer's neurons (checked above), so it fits a usize; the splitter
    // clamps it to the layer's extent.
    Ok(Some(match dims[..] {
        [n] => [1, 1, n as usize],
        [h, w, c] => [h as usize, w as usize, c as usize],
        _ => unreachable!("the rank was checked"),
    }))
}

fn check_rate(layer: &str, rate: f64) -> Result<(), FrontendError> {
    if rate.is_finite() && rate >= 0.0 {
        Ok(())
    } else {
        Err(FrontendError::BadField {
            layer: layer.to_string(),
            field: "rate",
            problem: format!("must be a finite number >= 0, got {rate}"),
        })
    }
}

fn check_size(layer: &str, s: &Shape) -> Result<(), FrontendError> {
    for (axis, v) in [("height", s.h), ("width", s.w), ("channels", s.c)] {
        if v == 0 {
            return Err(FrontendError::Shape {
                layer: layer.to_string(),
                problem: format!("the output {axis} is 0"),
            });
        }
        if v > MAX_AXIS {
            return Err(FrontendError::Shape {
                layer: layer.to_string(),
                problem: format!("the output {axis} {v} exceeds the supported {MAX_AXIS}"),
            });
        }
    }
    if s.neurons() > MAX_LAYER_NEURONS {
        return Err(FrontendError::Shape {
            layer: layer.to_string(),
            problem: format!(
                "{} neurons exceed the supported {MAX_LAYER_NEURONS} per layer",
                s.neurons()
            ),
        });
    }
    Ok(())
}

/// Rejects fields that do not apply to the layer's type and missing required ones.
fn check_fields(l: &Layer) -> Result<(), FrontendError> {
    use LayerKind::*;
    let present: [(&'static str, bool, &[LayerKind]); 10] = [
        ("shape", l.shape.is_some(), &[Input]),
        ("filters", l.filters.is_some(), &[Conv2d]),
        ("units", l.units.is_some(), &[Dense]),
        (
            "depth_multiplier",
            l.depth_multiplier.is_some(),
            &[DepthwiseConv2d],
        ),
        (
            "kernel",
            l.kernel.is_some(),
            &[Conv2d, DepthwiseConv2d, AvgPool],
        ),
        (
            "strides",
            l.strides.is_some(),
            &[Conv2d, DepthwiseConv2d, AvgPool],
        ),
        (
            "padding",
            l.padding.is_some(),
            &[Conv2d, DepthwiseConv2d, AvgPool],
        ),
        ("pad", l.pad.is_some(), &[ZeroPad]),
        (
            "activation",
            l.activation.is_some(),
            &[Conv2d, DepthwiseConv2d, Dense, Add],
        ),
        ("max_value", l.max_value.is_some(), &[Relu]),
    ];
    for (field, is_set, kinds) in present {
        if is_set && !kinds.contains(&l.kind) {
            return Err(FrontendError::BadField {
                layer: l.name.clone(),
                field,
                problem: format!("does not apply to a {} layer", l.kind.name()),
            });
        }
    }
    if l.kind == Input && l.inputs.is_some() {
        return Err(FrontendError::BadField {
            layer: l.name.clone(),
            field: "inputs",
            problem: "does not apply to an input layer".into(),
        });
    }
    let required: &[(&'static str, bool)] = match l.kind {
        Input => &[("shape", l.shape.is_some())],
        Conv2d => &[
            ("filters", l.filters.is_some()),
            ("kernel", l.kernel.is_some()),
        ],
        DepthwiseConv2d | AvgPool => &[("kernel", l.kernel.is_some())],
        Dense => &[("units", l.units.is_some())],
        ZeroPad => &[("pad", l.pad.is_some())],
        _ => &[],
    };
    for &(field, ok) in required {
        if !ok {
            return Err(FrontendError::BadField {
                layer: l.name.clone(),
                field,
                problem: format!("is required for a {} layer", l.kind.name()),
            });
        }
    }
    let positive = [
        ("filters", l.filters),
        ("units", l.units),
        ("depth_multiplier", l.depth_multiplier),
        ("kernel", l.kernel.map(|k| k[0].min(k[1]))),
        ("strides", l.strides.map(|k| k[0].min(k[1]))),
    ];
    for (field, v) in positive {
        if v == Some(0) {
            return Err(FrontendError::BadField {
                layer: l.name.clone(),
                field,
                problem: "must be at least 1, got 0".into(),
            });
        }
    }
    for (field, v) in [
        ("filters", l.filters),
        ("units", l.units),
        ("depth_multiplier", l.depth_multiplier),
        ("kernel", l.kernel.map(|k| k[0].max(k[1]))),
        ("strides", l.strides.map(|k| k[0].max(k[1]))),
        (
            "pad",
            l.pad
                .map(|p| p[0][0].max(p[0][1]).max(p[1][0]).max(p[1][1])),
        ),
    ] {
        if v.is_some_and(|v| v > MAX_AXIS) {
            return Err(FrontendError::BadField {
                layer: l.name.clone(),
                field,
                problem: format!("exceeds the supported {MAX_AXIS}"),
            });
        }
    }
    Ok(())
}

fn input_shape(l: &Layer) -> Result<Shape, FrontendError> {
    let dims = l.shape.as_deref().unwrap_or(&[]);
    let shape = match *dims {
        [h, w, c] => Shape {
            h,
            w,
            c,
            flat: false,
        },
        [n] => Shape {
            h: 1,
            w: 1,
            c: n,
            flat: true,
        },
        _ => {
            return Err(FrontendError::BadField {
                layer: l.name.clone(),
                field: "shape",
                problem: format!(
                    "must be [height, width, channels] or [n], got {} numbers",
                    dims.len()
                ),
            })
        }
    };
    check_size(&l.name, &shape)?;
    Ok(shape)
}

/// The output length and the padding before, along one axis, of a window `k` with stride `s`.
fn window(
    layer: &str,
    axis: &str,
    len: u64,
    k: u64,
    s: u64,
    padding: Padding,
) -> Result<(u64, u64), FrontendError> {
    match padding {
        Padding::Valid => {
            if k > len {
                return Err(FrontendError::KernelTooLarge {
                    layer: layer.to_string(),
                    axis: axis.to_string(),
                    kernel: k,
                    input: len,
                });
            }
            Ok(((len - k) / s + 1, 0))
        }
        Padding::Same => {
            let out = len.div_ceil(s);
            let total = ((out - 1) * s + k).saturating_sub(len);
            // Keras (like TensorFlow) puts the odd row or column of padding at the bottom and right.
            Ok((out, total / 2))
        }
    }
}

fn push_op(map: &mut DimMap, op: Op1) {
    if let DimMap::Chain(ops) = map {
        ops.push(op);
    }
}

/// Applies a linear layer to its inputs' expressions: the pre-activation expression.
fn apply(l: &Layer, ins: &[&Expr]) -> Result<Expr, FrontendError> {
    let name = l.name.as_str();
    let x = ins[0];
    let s = x.shape;
    let spatial = |what: &str| -> Result<(), FrontendError> {
        if s.flat {
            Err(FrontendError::Shape {
                layer: name.to_string(),
                problem: format!(
                    "{what} needs a height x width x channels input, got a vector of {}",
                    s.c
                ),
            })
        } else {
            Ok(())
        }
    };
    let mut terms = x.terms.clone();
    let shape = match l.kind {
        LayerKind::Input => unreachable!("inputs are handled by the caller"),
        LayerKind::Conv2d | LayerKind::DepthwiseConv2d | LayerKind::AvgPool => {
            spatial(l.kind.name())?;
            let k = l.kernel.expect("checked");
            let st = l.strides.unwrap_or(if l.kind == LayerKind::AvgPool {
                k
            } else {
                [1, 1]
            });
            let pad = l.padding.unwrap_or(Padding::Valid);
            let (oh, pt) = window(name, "height", s.h, k[0], st[0], pad)?;
            let (ow, pl) = window(name, "width", s.w, k[1], st[1], pad)?;
            let (c, chan) = match l.kind {
                LayerKind::Conv2d => (l.filters.expect("checked"), None),
                LayerKind::DepthwiseConv2d => {
                    let m = l.depth_multiplier.unwrap_or(1);
                    (s.c * m, Some(m as usize))
                }
                _ => (s.c, Some(1)),
            };
            for t in &mut terms {
                push_op(&mut t.rows, op(k[0], st[0], pt, s.h, oh));
                push_op(&mut t.cols, op(k[1], st[1], pl, s.w, ow));
                t.chan = match (chan, t.chan) {
                    (None, _) | (_, ChanMap::Full) => ChanMap::Full,
                    (Some(m), ChanMap::Div(d)) => ChanMap::Div(d.saturating_mul(m)),
                };
            }
            Shape {
                h: oh,
                w: ow,
                c,
                flat: false,
            }
        }
        LayerKind::ZeroPad => {
            spatial("zero_pad")?;
            let p = l.pad.expect("checked");
            let (oh, ow) = (s.h + p[0][0] + p[0][1], s.w + p[1][0] + p[1][1]);
            for t in &mut terms {
                // Padding by p is a 1-wide window shifted by -p: output y reads input y - p.
                push_op(&mut t.rows, shift(p[0][0], s.h, oh));
                push_op(&mut t.cols, shift(p[1][0], s.w, ow));
            }
            Shape { h: oh, w: ow, ..s }
        }
        LayerKind::GlobalAvgPool => {
            spatial("global_avg_pool")?;
            for t in &mut terms {
                push_op(&mut t.rows, op(s.h, s.h, 0, s.h, 1));
                push_op(&mut t.cols, op(s.w, s.w, 0, s.w, 1));
            }
            Shape {
                h: 1,
                w: 1,
                c: s.c,
                flat: true,
            }
        }
        LayerKind::Flatten => {
            for t in &mut terms {
                t.rows = DimMap::Full;
                t.cols = DimMap::Full;
                t.chan = ChanMap::Full;
            }
            Shape {
                h: 1,
                w: 1,
                c: s.neurons(),
                flat: true,
            }
        }
        LayerKind::Dense => {
            // Keras applies a Dense layer to the last axis: on a vector it is all-to-all, on an image a
            // 1x1 convolution.
            for t in &mut terms {
                t.chan = ChanMap::Full;
            }
            Shape {
                c: l.units.expect("checked"),
                ..s
            }
        }
        LayerKind::Add => {
            for other in &ins[1..] {
                if other.shape.dims() != s.dims() {
                    return Err(FrontendError::Shape {
                        layer: name.to_string(),
                        problem: format!(
                            "cannot add inputs of shapes {:?} and {:?}",
                            s.dims(),
                            other.shape.dims()
                        ),
                    });
                }
                terms.extend(other.terms.iter().cloned());
            }
            s
        }
        LayerKind::Relu => s,
    };
    Ok(Expr { terms, shape })
}

fn op(k: u64, s: u64, p: u64, in_len: u64, out_len: u64) -> Op1 {
    Op1 {
        k: k as usize,
        s: s as usize,
        p: p as usize,
        in_len: in_len as usize,
        out_len: out_len as usize,
    }
}

fn shift(before: u64, in_len: u64, out_len: u64) -> Op1 {
    op(1, 1, before, in_len, out_len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expect: &str) {
        match parse_layers(text).and_then(|s| infer_shapes(&s)) {
            Ok(shapes) => {
                let got: Vec<String> = shapes
                    .iter()
                    .map(|(n, s)| format!("{n} {:?}", s.dims()))
                    .collect();
                assert_eq!(got.join(", "), expect);
            }
            Err(e) => assert_eq!(e.to_string(), expect),
        }
    }

    #[test]
    fn shapes_follow_keras() {
        check(
            r#"{"format": "snn-layers/1", "layers": [
                {"name": "in", "type": "input", "shape": [7, 8, 3]},
                {"name": "p", "type": "zero_pad", "pad": [[1, 0], [0, 2]]},
                {"name": "c", "type": "conv2d", "filters": 5, "kernel": [3, 3], "strides": [2, 2], "padding": "same"},
                {"name": "d", "type": "depthwise_conv2d", "kernel": [2, 2], "depth_multiplier": 2},
                {"name": "a", "type": "avg_pool", "kernel": [2, 2], "padding": "same"},
                {"name": "g", "type": "global_avg_pool"},
                {"name": "o", "type": "dense", "units": 4}]}"#,
            "in [7, 8, 3], p [8, 10, 3], c [4, 5, 5], d [3, 4, 10], a [2, 2, 10], g [10], o [4]",
        );
    }

    #[test]
    fn malformed_descriptions_are_errors() {
        check(
            r#"{"layers": []}"#,
            "missing field \"format\" (expected \"snn-layers/1\")",
        );
        check(
            r#"{"format": "snn-layers/2", "layers": []}"#,
            "unknown format \"snn-layers/2\", expected \"snn-layers/1\"",
        );
        check(
            r#"{"format": "snn-layers/1", "layers": [{"name": "in", "type": "input", "shape": [4], "stride": 2}]}"#,
            "layers[0].stride: unknown field `stride`, expected one of `name`, `type`, `inputs`, `shape`, `filters`, `units`, \
             `depth_multiplier`, `kernel`, `strides`, `padding`, `pad`, `activation`, `max_value`, `rate`, \
             `on_chip`, `block_shape` at line 1 column 92",
        );
        check(
            r#"{"format": "snn-layers/1", "layers": [{"name": "in", "type": "input", "shape": [4]},
                {"name": "in", "type": "relu"}]}"#,
            "layer \"in\" appears twice",
        );
        check(
            r#"{"format": "snn-layers/1", "layers": [{"name": "in", "type": "input", "shape": [4], "rate": -1}]}"#,
            "layer \"in\": field \"rate\" must be a finite number >= 0, got -1",
        );
        check(
            r#"{"format": "snn-layers/1", "layers": [{"name": "in", "type": "input", "shape": [4, 0, 1]}]}"#,
            "layer \"in\": the shape does not compute: the output width is 0",
        );
    }

    #[test]
    fn the_network_neurons_are_capped() {
        // 2^26 input values, then a same-padded convolution of as many neurons: 2^27 in all, the cap.
        let spec = |filters: u64| {
            format!(
                r#"{{"format": "snn-layers/1", "layers": [{{"name": "in", "type": "input", "shape": [8192, 8192, 1]}},
                {{"name": "c", "type": "conv2d", "filters": {filters}, "kernel": [3, 3], "padding": "same"}}]}}"#
            )
        };
        check(&spec(1), "in [8192, 8192, 1], c [8192, 8192, 1]");
        check(
            &spec(2),
            "layer \"c\" brings the network to 201326592 neurons; at most 134217728 are supported",
        );
    }

    #[test]
    fn duplicate_keys_and_long_names_are_errors() {
        check(
            r#"{"format": "snn-layers/1", "layers": [{"name": "in", "type": "input", "shape": [4], "shape": [5]}]}"#,
            "duplicate key \"shape\" in an object at line 1 column 91",
        );
        let long = "n".repeat(crate::MAX_NAME_LEN + 1);
        check(
            &format!(
                r#"{{"format": "snn-layers/1", "layers": [{{"name": "{long}", "type": "input", "shape": [4]}}]}}"#
            ),
            "a string of 1025 bytes; strings are at most 1024 bytes at line 1 column 1074",
        );
        // A spec made in code, not parsed, is checked by the lowering.
        let spec = LayerSpec {
            format: LAYERS_FORMAT.into(),
            name: String::new(),
            rate: None,
            layers: vec![Layer {
                shape: Some(vec![4]),
                ..Layer::new(long.clone(), LayerKind::Input)
            }],
            outputs: None,
        };
        assert_eq!(
            infer_shapes(&spec).unwrap_err().to_string(),
            format!(
                "layer \"{}...\": field \"name\" is 1025 bytes long; at most 1024 are supported",
                "n".repeat(64)
            )
        );
    }
}
