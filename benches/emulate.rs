//! `emu/<net>/<steps>`: the emulator's speed. Run with `cargo bench --bench emulate`.
//!
//! - `emu/nahuku32-layered-4000/1000-steps`: a generated conv-like net of 4,000 blocks (about 37,000
//!   edges) placed by `metis` on Nahuku32, 1,000 timesteps.
//! - `emu/loihi-8x1024/100-steps`: the size of SANA-FE's 8-layer case: 8 layers of 1,024 neurons, 64
//!   per core (128 cores, one Loihi chip), each neuron connected to each next-layer neuron with
//!   probability 0.1, 5% rate; 100 timesteps (SANA-FE needs about 43 s for these on this machine).

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use snn_place::emu::{emulate, EmuOptions};
use snn_place::frontend::{generate, GenKind, GenOptions};
use snn_place::graph::{Block, BlockId, Edge, Network};
use snn_place::hardware::Topology;
use snn_place::{place, Options};

/// 8 layers x 16 blocks of 64 compartments; every block feeds every block of the next layer.
fn eight_layers() -> Network {
    let (layers, per_layer, size, rate, p) = (8u32, 16u32, 64u64, 0.05, 0.1f64);
    let mut blocks = Vec::new();
    for l in 0..layers {
        for i in 0..per_layer {
            let mut b = Block::new(format!("l{l}.{i}"), size);
            b.rate = rate;
            b.in_axons = if l == 0 { 0 } else { (per_layer as u64) * size };
            blocks.push(b);
        }
    }
    // A firing source sends one message to a destination core when it has at least one synapse there.
    let reach = 1.0 - (1.0 - p).powi(size as i32);
    let spikes = size as f64 * rate * reach;
    let synops = size as f64 * rate * size as f64 * p;
    let mut edges = Vec::new();
    for l in 0..layers - 1 {
        for i in 0..per_layer {
            for j in 0..per_layer {
                let mut e = Edge::new(
                    BlockId(l * per_layer + i),
                    BlockId((l + 1) * per_layer + j),
                    spikes,
                );
                e.synops = Some(synops);
                edges.push(e);
            }
        }
    }
    Network::new("eight-layers", blocks, edges).expect("a valid net")
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("emu");
    g.sample_size(10).measurement_time(Duration::from_secs(10));

    let topo = Topology::preset("nahuku32").expect("a preset");
    let net = generate(&GenOptions {
        kind: GenKind::Layered,
        blocks: 4000,
        seed: 1,
    })
    .expect("generated");
    let (placement, _) = place(&net, &topo, &Options::default()).expect("fits");
    let opts = EmuOptions {
        steps: 1000,
        seed: 1,
        precompute: false,
        ..EmuOptions::default()
    };
    g.bench_function("nahuku32-layered-4000/1000-steps", |b| {
        b.iter(|| emulate(&net, &topo, &placement, &opts, None).expect("emulates"))
    });

    let loihi = Topology::preset("loihi").expect("a preset");
    let net = eight_layers();
    let opts = Options {
        allocator: "greedy".into(),
        ..Options::default()
    };
    let (placement, _) = place(&net, &loihi, &opts).expect("fits");
    let opts = EmuOptions {
        steps: 100,
        seed: 1,
        precompute: false,
        ..EmuOptions::default()
    };
    g.bench_function("loihi-8x1024/100-steps", |b| {
        b.iter(|| emulate(&net, &loihi, &placement, &opts, None).expect("emulates"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
