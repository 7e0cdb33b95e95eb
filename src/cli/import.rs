//! `import`: a model from another framework (a Keras 3 `model.to_json()` file) as a network.

use std::path::PathBuf;

use anyhow::anyhow;
use clap::Args;
use snn_place::frontend::{build_with, keras_to_layers, KerasOptions};

use super::build::{frontend_limits, read_text, FrontendOut};
use super::output::write_network;
use super::{display, exit, fail, Failure};

#[derive(Args)]
pub(crate) struct ImportArgs {
    /// The source format; `keras` reads a Keras 3 `model.to_json()` architecture file.
    #[arg(value_name = "FORMAT", value_parser = ["keras"])]
    pub(crate) format: String,
    /// The model file, or - for standard input.
    #[arg(value_name = "MODEL")]
    pub(crate) model: PathBuf,
    /// Mean spikes per neuron per timestep of every neuron layer, e.g. --rate 0.05.
    #[arg(long, value_name = "R", default_value_t = snn_place::frontend::DEFAULT_RATE)]
    pub(crate) rate: f64,
    /// Mean spikes per input value per timestep, e.g. --input-rate 0.2.
    #[arg(long, value_name = "R", default_value_t = snn_place::frontend::DEFAULT_RATE)]
    pub(crate) input_rate: f64,
    #[command(flatten)]
    pub(crate) out: FrontendOut,
}

pub(crate) fn run_import(args: &ImportArgs) -> Result<(), Failure> {
    let limits = frontend_limits(&args.out.topology)?;
    let text = read_text(&args.model)?;
    let opts = KerasOptions {
        rate: args.rate,
        input_rate: args.input_rate,
    };
    let (net, notes) = keras_to_layers(&text, &opts)
        .and_then(|import| {
            let net = build_with(&import.spec, &limits, args.out.axon_model())?;
            Ok((net, import.notes))
        })
        .map_err(|e| anyhow!(e).context(display(&args.model)))
        .map_err(fail(exit::BAD_INPUT))?;
    // Approximations are worth a line only once they are in a network.
    for note in &notes {
        eprintln!("snn-place: note: {}: {note}", display(&args.model));
    }
    write_network(&net, &args.out.out)
}
