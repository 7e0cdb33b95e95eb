//! `alloc/<allocator>/<net>`: the traffic-aware allocators on generated Nahuku32-sized nets (about 3,900
//! blocks on 31 chips). Quality (inter-chip spikes) is checked in tests and compared with external
//! partitioners by `benches/anchors/run.sh`; this measures time. Run with `cargo bench --bench alloc`.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use snn_place::frontend::{generate, GenKind, GenOptions};
use snn_place::hardware::Topology;
use snn_place::{place, Options};

fn bench(c: &mut Criterion) {
    let topo = Topology::preset("nahuku32").expect("a preset");
    let nets = [
        ("layered-3910", GenKind::Layered, 3910),
        ("random-3900", GenKind::Random, 3900),
    ];
    let allocators: [(&str, &[&str]); 4] = [
        ("greedy-interchip", &[]),
        ("metis", &[]),
        ("metis", &["fm"]),
        ("greedy-interchip", &["fm"]),
    ];
    let mut g = c.benchmark_group("alloc");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    for (label, kind, blocks) in nets {
        let net = generate(&GenOptions {
            kind,
            blocks,
            seed: 1,
        })
        .expect("the generator accepts these sizes");
        for (name, refine) in allocators {
            let opts = Options {
                allocator: name.into(),
                refine: refine.iter().map(|r| r.to_string()).collect(),
                ..Options::default()
            };
            let id = if refine.is_empty() {
                format!("{name}/{label}")
            } else {
                format!("{name}+{}/{label}", refine.join("+"))
            };
            g.bench_function(id, |b| b.iter(|| place(&net, &topo, &opts).expect("fits")));
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
