//! Front ends that build a [`snn_graph::Network`]:
//!
//! - [`build`]: an `snn-layers/1` layer description ([`LayerSpec`], read by [`parse_layers`];
//!   `docs/layers-format.md`) split into blocks that each fit one core of the caller's [`Limits`], with
//!   the spike traffic between them;
//! - [`import_keras`]: a Keras 3 `model.to_json()` file ([`keras_to_layers`] gives the layers, each
//!   Keras layer's shape and the approximations made) through the same splitter;
//! - [`generate`]: seeded generators for tests and benchmarks ([`GenOptions`], [`GenKind`]).
//!
//! Errors are [`FrontendError`] (layer specs and Keras files) and [`GenError`] (generators); each names
//! the offending layer, its class or field, and the numbers involved. Bad input never panics.
//!
//! Invariant: the same input gives the same network, byte for byte through [`snn_graph::write_net`],
//! and every on-chip block [`build`] or [`import_keras`] makes fits the [`Limits`] it was given.
//! Depends only on the graph crate (never on hardware, placement or allocators): the caller passes the
//! topology's per-core limits as [`Limits`].

mod gen;
mod json;
mod keras;
mod layers;
mod loihi;
mod split;

pub use gen::{generate, GenError, GenKind, GenOptions, MAX_GEN_BLOCKS, MIN_GEN_BLOCKS};
pub use json::MAX_NAME_LEN;
pub use keras::{import_keras, keras_to_layers, KerasImport, KerasLayer, KerasOptions};
pub use layers::{
    infer_shapes, parse_layers, Activation, Layer, LayerKind, LayerSpec, Padding, Shape,
    DEFAULT_RATE, LAYERS_FORMAT, MAX_AXIS, MAX_LAYER_NEURONS, MAX_NETWORK_NEURONS,
};
pub use loihi::{bits_per_axon, index_bits, AxonModel, INDEX_BITS_MAP, POP32_SLOTS, WEIGHT_BITS};
pub use split::{build, build_with, Limits, BITS_PER_SYNAPSE, MAX_BUILD_BLOCKS};

use snn_graph::GraphError;

/// Why a layer description or a Keras file gave no network. Each variant names the offending layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrontendError {
    #[error("{0}")]
    Json(String),
    #[error("unknown format {found:?}, expected \"snn-layers/1\"")]
    Format { found: String },
    #[error("missing field \"format\" (expected \"snn-layers/1\")")]
    MissingFormat,
    #[error("the model has no input layer")]
    NoInput,
    #[error("layer {layer:?} has no input layer")]
    MissingInput { layer: String },
    #[error("layer {layer:?} takes input from {input:?}, which is not a layer before it")]
    UnknownInput { layer: String, input: String },
    #[error("layer {layer:?} appears twice")]
    DuplicateLayer { layer: String },
    #[error("layer {layer:?}: field \"{field}\" {problem}")]
    BadField {
        layer: String,
        field: &'static str,
        problem: String,
    },
    #[error("layer {layer:?}: the shape does not compute: {problem}")]
    Shape { layer: String, problem: String },
    #[error(
        "layer {layer:?}: the kernel's {axis} {kernel} is larger than the 'valid' input's {axis} {input}"
    )]
    KernelTooLarge {
        layer: String,
        axis: String,
        kernel: u64,
        input: u64,
    },
    #[error("layer {layer:?}: unsupported layer class {class:?}")]
    UnknownClass { layer: String, class: String },
    #[error("layer {layer:?} ({class}): unsupported {what}")]
    Unsupported {
        layer: String,
        class: String,
        what: String,
    },
    #[error("unsupported model class {class:?}, expected \"Sequential\" or \"Functional\"")]
    UnsupportedModel { class: String },
    #[error("the functional graph has a cycle through layer {layer:?}")]
    Cycle { layer: String },
    #[error(
        "layer {layer:?} cannot be split to fit one core: a block of one neuron needs {needed} {field}, the core limit is {limit}"
    )]
    DoesNotFit {
        layer: String,
        field: &'static str,
        needed: u64,
        limit: u64,
    },
    #[error(
        "layer {layer:?} cannot be split to fit one core: each of its neurons reads {needed} source neurons \
         through a dense connection, one discrete input axon each, more than the core limit {limit} \
         (nengo-loihi fails here too; snn-place does not split the fan-in through relay blocks because relay \
         neurons would rectify negative partial sums and add a timestep of delay, changing what the \
         network computes: reduce the fan-in, e.g. with pooling before the dense layer)"
    )]
    DenseFanIn {
        layer: String,
        needed: u64,
        limit: u64,
    },
    #[error(
        "layer {layer:?}: block_shape {shape:?} does not fit one core: block {block:?} needs {needed} {field}, \
         the core limit is {limit}"
    )]
    BlockShapeDoesNotFit {
        layer: String,
        shape: Vec<u64>,
        block: String,
        field: &'static str,
        needed: u64,
        limit: u64,
    },
    #[error("layer {layer:?} brings the network to {total} neurons; at most {max} are supported")]
    TooManyNeurons { layer: String, total: u64, max: u64 },
    #[error("the network would have {blocks} blocks; at most {max} are supported")]
    TooManyBlocks { blocks: usize, max: usize },
    /// The splitter built a network the graph crate rejects (e.g. two layers whose block names clash).
    #[error("the built network is invalid: {0}")]
    Invalid(#[source] GraphError),
}
