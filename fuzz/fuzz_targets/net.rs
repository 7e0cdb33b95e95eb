//! `snn-net/1` reader: any bytes (plain JSON or gzip) give a network or an error, never a panic; a network
//! that reads writes back to bytes that read as the same network.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(net) = snn_graph::read_net(data) {
        let mut out = Vec::new();
        snn_graph::write_net(&net, &mut out).expect("writing to memory succeeds");
        let again = snn_graph::read_net(&out[..]).expect("what write_net writes reads back");
        assert_eq!(again, net, "write -> read round trip changed the network");
    }
});
