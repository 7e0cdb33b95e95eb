//! Keras import: any text gives layers or an error; layers that translate are built for Loihi's cores,
//! which gives a network or an error, never a panic. As in the `layers` target, models of more than 2^22
//! neurons in all are translated and shape-checked but not split (splitting time grows with the neurons).
#![no_main]

use libfuzzer_sys::fuzz_target;
use snn_frontend::{build, infer_shapes, keras_to_layers, KerasOptions, Limits};

/// The most neurons a model may have to be split here.
const FUZZ_NEURONS: u64 = 1 << 22;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(import) = keras_to_layers(text, &KerasOptions::default()) {
        let Ok(shapes) = infer_shapes(&import.spec) else {
            return;
        };
        let neurons: u64 = shapes.iter().map(|(_, s)| s.neurons()).sum();
        if neurons <= FUZZ_NEURONS {
            let _ = build(&import.spec, &Limits::LOIHI);
        }
    }
});
