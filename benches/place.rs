//! `alloc/greedy/layered-100k`: read, validate and place a generated 100,000-block network with `greedy`,
//! the foundation's end-to-end path; and each step alone. Run with `cargo bench --bench place`.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use snn_place::frontend::{generate, GenKind, GenOptions};
use snn_place::graph::{read_net_file, write_net};
use snn_place::hardware::Topology;
use snn_place::{place, Options};

fn bench(c: &mut Criterion) {
    let net = generate(&GenOptions {
        kind: GenKind::Layered,
        blocks: 100_000,
        seed: 1,
    })
    .expect("the generator accepts 100k blocks");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("layered-100k.json");
    write_net(&net, std::fs::File::create(&path).expect("create")).expect("write");
    // 100k blocks need 782 chips of 128 cores: Pohoiki Springs (768) is too small, so use a custom board
    // of Loihi chips large enough.
    let topo = Topology::new(
        "bench-board",
        snn_place::hardware::Grid { x: 16, y: 64 },
        snn_place::hardware::Grid { x: 8, y: 4 },
        4,
        snn_place::hardware::CoreLimits::LOIHI,
        Default::default(),
    )
    .expect("a valid board");
    let opts = Options {
        allocator: "greedy".into(),
        ..Options::default()
    };

    let mut g = c.benchmark_group("alloc/greedy");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("layered-100k/read+validate+place", |b| {
        b.iter(|| {
            let net = read_net_file(&path).expect("read");
            place(&net, &topo, &opts).expect("place")
        })
    });
    g.bench_function("layered-100k/read", |b| {
        b.iter(|| read_net_file(&path).expect("read"))
    });
    g.bench_function("layered-100k/place", |b| {
        b.iter(|| place(&net, &topo, &opts).expect("place"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
