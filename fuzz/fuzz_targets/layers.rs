//! `snn-layers/1`: any text gives a layer description or an error; a description that parses is built
//! (split into blocks for Loihi's cores), which gives a network or an error, never a panic.
//!
//! The library caps a network at `MAX_NETWORK_NEURONS` (2^27), and splitting takes time in proportion to
//! the neurons (seconds near the cap). So that the fuzzer explores the logic instead of timing out on such
//! legitimate but large descriptions, descriptions of more than 2^22 neurons in all are only parsed and
//! shape-checked here, not split.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snn_frontend::{build, infer_shapes, parse_layers, Limits};

/// The most neurons a description may have to be split here.
const FUZZ_NEURONS: u64 = 1 << 22;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(spec) = parse_layers(text) {
        let Ok(shapes) = infer_shapes(&spec) else {
            return;
        };
        let neurons: u64 = shapes.iter().map(|(_, s)| s.neurons()).sum();
        if neurons <= FUZZ_NEURONS {
            let _ = build(&spec, &Limits::LOIHI);
        }
    }
});
