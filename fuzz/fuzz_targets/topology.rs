//! `snn-topology/1` reader: any bytes give a topology or an error; a topology that reads round-trips
//! through `topology_json`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(topo) = snn_hardware::read_topology(data) {
        let text = snn_hardware::topology_json(&topo).to_string();
        let again = snn_hardware::read_topology(text.as_bytes()).expect("topology_json reads back");
        assert_eq!(
            again, topo,
            "topology_json -> read round trip changed the topology"
        );
    }
});
