//! Keras 3 import: a `model.to_json()` architecture file (Sequential or Functional) becomes an
//! `snn-layers/1` [`LayerSpec`], then a network through [`crate::build`].
//!
//! Neurons sit where a spiking conversion puts them: at every nonlinearity (a Conv2D, DepthwiseConv2D or
//! Dense with a ReLU activation, a ReLU layer, an Activation layer with `relu` or `relu6`). Linear
//! layers, BatchNormalization (a per-channel affine map) and Add fold into the connections to the next
//! neurons; Dropout is ignored; MaxPooling2D is approximated by average pooling (reported in
//! [`KerasImport::notes`]). A softmax on an output layer is computed on the host from the probed values.
//! Any other layer class is an error naming the layer and its class.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;
use snn_graph::Network;

use crate::layers::{
    infer_shapes, Activation, Layer, LayerKind, LayerSpec, Padding, LAYERS_FORMAT,
};
use crate::{build, FrontendError, Limits};

/// How to import.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct KerasOptions {
    /// Mean spikes per neuron per timestep of every neuron layer.
    pub rate: f64,
    /// Mean spikes per input value per timestep (the input is encoded as spikes on the host).
    pub input_rate: f64,
}

impl Default for KerasOptions {
    fn default() -> KerasOptions {
        KerasOptions {
            rate: crate::layers::DEFAULT_RATE,
            input_rate: crate::layers::DEFAULT_RATE,
        }
    }
}

/// One Keras layer as imported: its name, class and output shape (without the batch axis).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KerasLayer {
    pub name: String,
    pub class: String,
    pub shape: Vec<u64>,
}

/// A Keras model translated to layers.
#[derive(Clone, Debug, PartialEq)]
pub struct KerasImport {
    pub spec: LayerSpec,
    /// Every Keras layer in file order with its output shape.
    pub layers: Vec<KerasLayer>,
    /// Approximations made (MaxPooling2D as average pooling, a host-side softmax), one sentence each.
    pub notes: Vec<String>,
}

/// Reads a Keras architecture file and builds its network, every on-chip block fitting `limits`.
pub fn import_keras(
    json_text: &str,
    limits: &Limits,
    options: &KerasOptions,
) -> Result<Network, FrontendError> {
    let import = keras_to_layers(json_text, options)?;
    build(&import.spec, limits)
}

/// One layer of the file before translation.
struct Raw<'a> {
    name: String,
    class: String,
    config: &'a Value,
    inbound: Vec<String>,
}

fn unsupported(raw: &Raw, what: impl Into<String>) -> FrontendError {
    FrontendError::Unsupported {
        layer: raw.name.clone(),
        class: raw.class.clone(),
        what: what.into(),
    }
}

/// Translates a Keras 3 `model.to_json()` file into an `snn-layers/1` description.
pub fn keras_to_layers(
    json_text: &str,
    options: &KerasOptions,
) -> Result<KerasImport, FrontendError> {
    let root =
        crate::json::parse_strict(json_text).map_err(|e| FrontendError::Json(e.to_string()))?;
    let model_class = root
        .get("class_name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let config = root.get("config").unwrap_or(&Value::Null);
    let model_name = config
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("keras")
        .to_string();
    let sequential = match model_class.as_str() {
        "Sequential" => true,
        "Functional" | "Model" => false,
        other => {
            return Err(FrontendError::UnsupportedModel {
                class: other.to_string(),
            })
        }
    };
    let Some(list) = config.get("layers").and_then(Value::as_array) else {
        return Err(FrontendError::Json(
            "a Keras model needs a \"config\" object with a \"layers\" array".into(),
        ));
    };
    let mut raws: Vec<Raw> = Vec::with_capacity(list.len() + 1);
    let mut outputs: Vec<String> = Vec::new();
    // Synthesised for a Sequential model whose input shape is given on the model or its first layer.
    let first_cfg = list
        .first()
        .and_then(|l| l.get("config"))
        .unwrap_or(&Value::Null);
    let synthetic_input = first_cfg
        .get("batch_shape")
        .or_else(|| first_cfg.get("batch_input_shape"))
        .or_else(|| config.get("build_input_shape"))
        .filter(|v| !v.is_null())
        .map(|s| serde_json::json!({ "name": "input", "batch_shape": s }));
    for (i, l) in list.iter().enumerate() {
        let class = l
            .get("class_name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let cfg = l.get("config").unwrap_or(&Value::Null);
        let name = cfg
            .get("name")
            .or_else(|| l.get("name"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| FrontendError::Json(format!("layers[{i}] ({class}) has no name")))?;
        let inbound = if sequential {
            match raws.last() {
                Some(prev) => vec![prev.name.clone()],
                None => Vec::new(),
            }
        } else {
            let nodes = l
                .get("inbound_nodes")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            if nodes.len() > 1 {
                return Err(FrontendError::Unsupported {
                    layer: name,
                    class,
                    what: format!("a layer called {} times (shared layers)", nodes.len()),
                });
            }
            let mut found = Vec::new();
            if let Some(node) = nodes.first() {
                histories(node, &mut found);
            }
            found
        };
        if sequential && i == 0 && class != "InputLayer" {
            match &synthetic_input {
                Some(input) => {
                    raws.push(Raw {
                        name: "input".into(),
                        class: "InputLayer".into(),
                        config: input,
                        inbound: Vec::new(),
                    });
                }
                None => {
                    return Err(FrontendError::MissingInput { layer: name });
                }
            }
            raws.push(Raw {
                name,
                class,
                config: cfg,
                inbound: vec!["input".into()],
            });
            continue;
        }
        raws.push(Raw {
            name,
            class,
            config: cfg,
            inbound,
        });
    }
    if raws.is_empty() {
        return Err(FrontendError::NoInput);
    }
    if sequential {
        outputs.push(raws.last().expect("not empty").name.clone());
    } else {
        let out = config.get("output_layers").unwrap_or(&Value::Null);
        let mut v = Vec::new();
        layer_refs(out, &mut v);
        outputs = v;
    }
    // Unique names, known inputs, and an order in which every layer comes after its inputs.
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, r) in raws.iter().enumerate() {
        if index.insert(r.name.as_str(), i).is_some() {
            return Err(FrontendError::DuplicateLayer {
                layer: r.name.clone(),
            });
        }
    }
    let mut preds: Vec<Vec<usize>> = Vec::with_capacity(raws.len());
    for r in &raws {
        let mut p = Vec::new();
        for inb in &r.inbound {
            match index.get(inb.as_str()) {
                Some(&i) => p.push(i),
                None => {
                    return Err(FrontendError::UnknownInput {
                        layer: r.name.clone(),
                        input: inb.clone(),
                    })
                }
            }
        }
        if p.is_empty() && r.class != "InputLayer" {
            return Err(FrontendError::MissingInput {
                layer: r.name.clone(),
            });
        }
        preds.push(p);
    }
    if !raws.iter().any(|r| r.class == "InputLayer") {
        return Err(FrontendError::NoInput);
    }
    for o in &outputs {
        if !index.contains_key(o.as_str()) {
            return Err(FrontendError::UnknownInput {
                layer: "(output_layers)".into(),
                input: o.clone(),
            });
        }
    }
    let order = topo_order(&raws, &preds)?;
    let output_set: BTreeSet<&str> = outputs.iter().map(String::as_str).collect();

    // Translate in that order. `alias` maps a Keras layer to the spec layer holding its value.
    let mut alias: HashMap<String, String> = HashMap::new();
    let mut layers: Vec<Layer> = Vec::new();
    let mut notes = Vec::new();
    for &i in &order {
        let r = &raws[i];
        let ins: Vec<String> = preds[i]
            .iter()
            .map(|&p| alias[&raws[p].name].clone())
            .collect();
        let is_output = output_set.contains(r.name.as_str());
        let mut l = Layer::new(r.name.clone(), LayerKind::Relu);
        l.inputs = Some(ins.clone());
        let cfg = r.config;
        match r.class.as_str() {
            "InputLayer" => {
                let shape = cfg
                    .get("batch_shape")
                    .or_else(|| cfg.get("batch_input_shape"))
                    .and_then(Value::as_array)
                    .ok_or_else(|| unsupported(r, "an input without \"batch_shape\""))?;
                let dims: Option<Vec<u64>> = shape.iter().skip(1).map(Value::as_u64).collect();
                let dims = dims.ok_or_else(|| {
                    unsupported(r, "an input shape with unknown (null) dimensions")
                })?;
                l.kind = LayerKind::Input;
                l.inputs = None;
                l.shape = Some(dims);
                l.rate = Some(options.input_rate);
            }
            "Conv2D" | "DepthwiseConv2D" => {
                check_conv(r)?;
                l.kind = if r.class == "Conv2D" {
                    LayerKind::Conv2d
                } else {
                    LayerKind::DepthwiseConv2d
                };
                if r.class == "Conv2D" {
                    l.filters = Some(uint(r, "filters")?);
                } else {
                    l.depth_multiplier = Some(
                        cfg.get("depth_multiplier")
                            .and_then(Value::as_u64)
                            .unwrap_or(1),
                    );
                }
                l.kernel = Some(pair(r, "kernel_size")?);
                l.strides = Some(pair(r, "strides")?);
                l.padding = Some(padding(r)?);
                l.activation = Some(activation(r, is_output, &mut notes)?);
            }
            "Dense" => {
                l.kind = LayerKind::Dense;
                l.units = Some(uint(r, "units")?);
                l.activation = Some(activation(r, is_output, &mut notes)?);
            }
            "Add" => {
                l.kind = LayerKind::Add;
                l.activation = Some(Activation::Linear);
            }
            "BatchNormalization" | "Dropout" => {
                single_input(r, &ins)?;
                alias.insert(r.name.clone(), ins[0].clone());
                continue;
            }
            "Activation" => {
                if activation(r, is_output, &mut notes)? == Activation::Linear {
                    single_input(r, &ins)?;
                    alias.insert(r.name.clone(), ins[0].clone());
                    continue;
                }
            }
            "ReLU" => {
                let slope = cfg
                    .get("negative_slope")
                    .and_then(Value::as_f64)
                    .unwrap_or(0.0);
                if slope != 0.0 {
                    return Err(unsupported(
                        r,
                        format!("a leaky ReLU (negative_slope {slope})"),
                    ));
                }
                l.max_value = cfg.get("max_value").and_then(Value::as_f64);
            }
            "AveragePooling2D" | "MaxPooling2D" => {
                check_format(r)?;
                l.kind = LayerKind::AvgPool;
                let pool = pair(r, "pool_size")?;
                l.kernel = Some(pool);
                l.strides = Some(if cfg.get("strides").is_none_or(Value::is_null) {
                    pool
                } else {
                    pair(r, "strides")?
                });
                l.padding = Some(padding(r)?);
                if r.class == "MaxPooling2D" {
                    notes.push(format!(
                        "layer {:?} (MaxPooling2D) is approximated by average pooling",
                        r.name
                    ));
                }
            }
            "Flatten" => l.kind = LayerKind::Flatten,
            "GlobalAveragePooling2D" => {
                check_format(r)?;
                if cfg.get("keepdims").and_then(Value::as_bool) == Some(true) {
                    return Err(unsupported(r, "keepdims=True"));
                }
                l.kind = LayerKind::GlobalAvgPool;
            }
            "ZeroPadding2D" => {
                check_format(r)?;
                l.kind = LayerKind::ZeroPad;
                l.pad = Some(zero_padding(r)?);
            }
            other => {
                return Err(FrontendError::UnknownClass {
                    layer: r.name.clone(),
                    class: other.to_string(),
                })
            }
        }
        if !matches!(l.kind, LayerKind::Input) {
            let n_in = ins.len();
            let ok = if l.kind == LayerKind::Add {
                n_in >= 2
            } else {
                n_in == 1
            };
            if !ok {
                return Err(FrontendError::Shape {
                    layer: r.name.clone(),
                    problem: format!("a {} layer cannot take {n_in} inputs", r.class),
                });
            }
            if l.has_neurons() {
                l.rate = Some(options.rate);
            }
        }
        alias.insert(r.name.clone(), r.name.clone());
        layers.push(l);
    }
    let spec = LayerSpec {
        format: LAYERS_FORMAT.to_string(),
        name: model_name,
        rate: None,
        layers,
        outputs: Some(
            outputs
                .iter()
                .map(|o| alias[o].clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
        ),
    };
    let shapes: HashMap<String, Vec<u64>> = infer_shapes(&spec)?
        .into_iter()
        .map(|(n, s)| (n, s.dims()))
        .collect();
    let layers = raws
        .iter()
        .map(|r| KerasLayer {
            name: r.name.clone(),
            class: r.class.clone(),
            shape: shapes[&alias[&r.name]].clone(),
        })
        .collect();
    Ok(KerasImport {
        spec,
        layers,
        notes,
    })
}

/// Every `keras_history` layer name under `v`, in order.
fn histories(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(h) = m.get("keras_history").and_then(Value::as_array) {
                if let Some(name) = h.first().and_then(Value::as_str) {
                    out.push(name.to_string());
                }
                return;
            }
            for x in m.values() {
                histories(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| histories(x, out)),
        _ => {}
    }
}

/// The layer names of `output_layers`: `["fc", 0, 0]` or `[["fc", 0, 0], ...]`.
fn layer_refs(v: &Value, out: &mut Vec<String>) {
    if let Some(a) = v.as_array() {
        match a.first() {
            Some(Value::String(s)) => out.push(s.clone()),
            _ => a.iter().for_each(|x| layer_refs(x, out)),
        }
    }
}

/// Kahn's algorithm, taking ready layers in file order; a layer left over is on a cycle.
fn topo_order(raws: &[Raw], preds: &[Vec<usize>]) -> Result<Vec<usize>, FrontendError> {
    let n = raws.len();
    let mut indeg: Vec<usize> = preds.iter().map(Vec::len).collect();
    let mut succs = vec![Vec::new(); n];
    for (i, p) in preds.iter().enumerate() {
        for &j in p {
            succs[j].push(i);
        }
    }
    let mut ready: BTreeSet<usize> = (0..n).filter(|&i| indeg[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &s in &succs[i] {
            indeg[s] -= 1;
            if indeg[s] == 0 {
                ready.insert(s);
            }
        }
    }
    if order.len() < n {
        let stuck = (0..n).find(|&i| indeg[i] > 0).expect("some layer is left");
        return Err(FrontendError::Cycle {
            layer: raws[stuck].name.clone(),
        });
    }
    Ok(order)
}

fn single_input(r: &Raw, ins: &[String]) -> Result<(), FrontendError> {
    if ins.len() == 1 {
        Ok(())
    } else {
        Err(FrontendError::Shape {
            layer: r.name.clone(),
            problem: format!("a {} layer cannot take {} inputs", r.class, ins.len()),
        })
    }
}

fn uint(r: &Raw, field: &str) -> Result<u64, FrontendError> {
    r.config
        .get(field)
        .and_then(Value::as_u64)
        .ok_or_else(|| unsupported(r, format!("a missing or non-integer \"{field}\"")))
}

/// An integer pair, given as `[a, b]` or as one integer.
fn pair(r: &Raw, field: &str) -> Result<[u64; 2], FrontendError> {
    let v = r.config.get(field).unwrap_or(&Value::Null);
    if let Some(x) = v.as_u64() {
        return Ok([x, x]);
    }
    match v
        .as_array()
        .map(|a| a.iter().map(Value::as_u64).collect::<Vec<_>>())
    {
        Some(a) if a.len() == 2 && a.iter().all(Option::is_some) => {
            Ok([a[0].expect("checked"), a[1].expect("checked")])
        }
        _ => Err(unsupported(
            r,
            format!("\"{field}\" that is not two integers: {v}"),
        )),
    }
}

fn padding(r: &Raw) -> Result<Padding, FrontendError> {
    match r.config.get("padding").and_then(Value::as_str) {
        Some("same") => Ok(Padding::Same),
        Some("valid") | None => Ok(Padding::Valid),
        Some(other) => Err(unsupported(r, format!("padding {other:?}"))),
    }
}

fn check_format(r: &Raw) -> Result<(), FrontendError> {
    match r.config.get("data_format").and_then(Value::as_str) {
        None | Some("channels_last") => Ok(()),
        Some(other) => Err(unsupported(r, format!("data_format {other:?}"))),
    }
}

fn check_conv(r: &Raw) -> Result<(), FrontendError> {
    check_format(r)?;
    if let Some(d) = r.config.get("dilation_rate").filter(|v| !v.is_null()) {
        if pair(r, "dilation_rate")? != [1, 1] {
            return Err(unsupported(r, format!("dilation_rate {d}")));
        }
    }
    if let Some(g) = r.config.get("groups").and_then(Value::as_u64) {
        if g != 1 {
            return Err(unsupported(r, format!("groups {g}")));
        }
    }
    Ok(())
}

/// The activation of a Conv2D, DepthwiseConv2D, Dense or Activation layer.
fn activation(
    r: &Raw,
    is_output: bool,
    notes: &mut Vec<String>,
) -> Result<Activation, FrontendError> {
    let a = r
        .config
        .get("activation")
        .and_then(Value::as_str)
        .unwrap_or("linear");
    match a {
        "relu" | "relu6" => Ok(Activation::Relu),
        "linear" => Ok(Activation::Linear),
        "softmax" if is_output => {
            notes.push(format!(
                "the softmax of output layer {:?} is computed on the host from the probed values",
                r.name
            ));
            Ok(Activation::Linear)
        }
        other => Err(unsupported(r, format!("activation {other:?}"))),
    }
}

/// ZeroPadding2D's `padding`: an integer, `[rows, cols]`, or `[[top, bottom], [left, right]]`.
fn zero_padding(r: &Raw) -> Result<[[u64; 2]; 2], FrontendError> {
    let v = r.config.get("padding").unwrap_or(&Value::Null);
    let bad = || unsupported(r, format!("padding {v}"));
    if let Some(x) = v.as_u64() {
        return Ok([[x, x], [x, x]]);
    }
    let a = v.as_array().filter(|a| a.len() == 2).ok_or_else(bad)?;
    let side = |x: &Value| -> Option<[u64; 2]> {
        if let Some(n) = x.as_u64() {
            return Some([n, n]);
        }
        let p = x.as_array().filter(|p| p.len() == 2)?;
        Some([p[0].as_u64()?, p[1].as_u64()?])
    };
    Ok([side(&a[0]).ok_or_else(bad)?, side(&a[1]).ok_or_else(bad)?])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(class: &str, cfg: &str) -> String {
        format!(r#"{{"class_name": "{class}", "config": {cfg}}}"#)
    }

    /// Imports a Sequential model of `layers` and returns its blocks as (name, layer, compartments), or
    /// the error.
    fn check(
        layers: &[String],
        build_input_shape: &str,
        expect: Result<&[(&str, &str, u64)], &str>,
    ) {
        let text = format!(
            r#"{{"class_name": "Sequential", "config": {{"name": "m", "layers": [{}],
                 "build_input_shape": {build_input_shape}}}}}"#,
            layers.join(",")
        );
        let got = import_keras(&text, &Limits::LOIHI, &KerasOptions::default());
        match (got, expect) {
            (Ok(net), Ok(want)) => {
                let blocks: Vec<_> = net
                    .blocks()
                    .iter()
                    .map(|b| (b.name.as_str(), b.layer.as_deref().unwrap(), b.compartments))
                    .collect();
                assert_eq!(blocks, want);
            }
            (Err(e), Err(want)) => assert_eq!(e.to_string(), want),
            (got, want) => panic!("{got:?} vs {want:?}"),
        }
    }

    #[test]
    fn neurons_sit_at_nonlinearities() {
        // Conv (linear) -> BN -> ReLU: the ReLU holds the neurons; Dropout is ignored; the linear Dense
        // output is the probe. The input shape comes from the model's build_input_shape.
        check(
            &[
                layer(
                    "Conv2D",
                    r#"{"name": "c", "filters": 2, "kernel_size": [3, 3], "strides": [1, 1], "padding": "same", "activation": "linear"}"#,
                ),
                layer("BatchNormalization", r#"{"name": "bn"}"#),
                layer("ReLU", r#"{"name": "r", "max_value": 6.0}"#),
                layer("Dropout", r#"{"name": "drop", "rate": 0.5}"#),
                layer("Flatten", r#"{"name": "f"}"#),
                layer(
                    "Dense",
                    r#"{"name": "d", "units": 3, "activation": "linear"}"#,
                ),
            ],
            "[null, 4, 4, 1]",
            Ok(&[("input", "input", 16), ("r.0", "r", 32), ("d", "d", 3)]),
        );
    }

    #[test]
    fn unsupported_settings_name_the_layer() {
        check(
            &[
                layer(
                    "Dense",
                    r#"{"name": "d", "units": 3, "activation": "softmax"}"#,
                ),
                layer("Dense", r#"{"name": "e", "units": 3}"#),
            ],
            "[null, 4]",
            Err("layer \"d\" (Dense): unsupported activation \"softmax\""),
        );
        check(
            &[layer("ReLU", r#"{"name": "r", "negative_slope": 0.1}"#)],
            "[null, 4]",
            Err("layer \"r\" (ReLU): unsupported a leaky ReLU (negative_slope 0.1)"),
        );
        check(
            &[layer(
                "Conv2D",
                r#"{"name": "c", "filters": 2, "kernel_size": 3, "dilation_rate": [2, 2]}"#,
            )],
            "[null, 8, 8, 1]",
            Err("layer \"c\" (Conv2D): unsupported dilation_rate [2,2]"),
        );
        check(
            &[layer("Dense", r#"{"name": "d", "units": 3}"#)],
            "null",
            Err("layer \"d\" has no input layer"),
        );
    }

    #[test]
    fn duplicate_keys_long_strings_and_deep_nesting_are_errors() {
        check(
            &[layer("Dense", r#"{"name": "d", "units": 3, "units": 4}"#)],
            "[null, 4]",
            Err("duplicate key \"units\" in an object at line 1 column 131"),
        );
        check(
            &[layer(
                "Dense",
                &format!(r#"{{"name": "{}", "units": 3}}"#, "d".repeat(2000)),
            )],
            "[null, 4]",
            Err("a string of 2000 bytes; strings are at most 1024 bytes at line 1 column 2109"),
        );
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        check(
            &[deep],
            "[null, 4]",
            Err("recursion limit exceeded at line 1 column 189"),
        );
    }
}
