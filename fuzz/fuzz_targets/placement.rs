//! `snn-placement/1` reader against a fixed small network (`fixtures/ff3.json`) and board
//! (`fixtures/tiny-board.json`): any bytes give a placement or an error; a placement that reads is then
//! validated (with and without packing), which must also return, not panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use snn_graph::Network;
use snn_hardware::Topology;
use snn_placement::{read_placement, Rules};

fn fixed() -> &'static (Network, Topology) {
    static FIXED: OnceLock<(Network, Topology)> = OnceLock::new();
    FIXED.get_or_init(|| {
        let net = snn_graph::read_net(&include_bytes!("../../fixtures/ff3.json")[..]).unwrap();
        let topo =
            snn_hardware::read_topology(&include_bytes!("../../fixtures/tiny-board.json")[..])
                .unwrap();
        (net, topo)
    })
}

fuzz_target!(|data: &[u8]| {
    let (net, topo) = fixed();
    if let Ok(p) = read_placement(data, net) {
        for packing in [false, true] {
            let rules = Rules {
                chips: topo.n_chips(),
                packing,
            };
            let _ = p.validate(net, topo, &rules);
        }
    }
});
