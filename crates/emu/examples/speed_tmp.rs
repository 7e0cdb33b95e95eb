use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use snn_emu::*;
use snn_graph::{Block, BlockId, Edge, Network};
use snn_hardware::{ChipId, CoreId, Topology};
use snn_placement::{Placement, Slot};
use std::time::Instant;

fn main() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let n = 4000u32;
    let mut blocks = Vec::new();
    let mut edges = Vec::new();
    let mut slots = Vec::new();
    for i in 0..n {
        let mut b = Block::new(format!("b{i}"), 256);
        b.rate = 0.05;
        blocks.push(b);
        slots.push(Slot::Core { chip: ChipId(i / 128), core: CoreId(i % 128) });
        for _ in 0..12 {
            let d = (i as i64 + rng.random_range(-200i64..=200)).clamp(0, n as i64 - 1) as u32;
            let mut e = Edge::new(BlockId(i), BlockId(d), 12.8);
            e.synops = Some(12.8 * 25.0);
            edges.push(e);
        }
    }
    let net = Network::new("big", blocks, edges).unwrap();
    let topo = Topology::preset("nahuku32").unwrap();
    let p = Placement::new(slots, "t", 0);
    println!("blocks {} edges {}", net.n_blocks(), net.edges().len());
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let t = Instant::now();
        let e = pool.install(|| emulate(&net, &topo, &p, &EmuOptions { steps: 1000, seed: 1, precompute: false }, None).unwrap());
        let dt = t.elapsed().as_secs_f64();
        println!("threads {threads}: 1000 steps in {dt:.3} s = {:.0} steps/s; mean {:.2} us analytic {:.2} pace {:?} interchip {:.0}", 1000.0 / dt, e.time_per_step_us.mean, e.analytic_time_per_step_us, &e.pace[..2.min(e.pace.len())], e.interchip_messages_per_step);
    }
    // SANA-FE-sized: 8 layers x 1024 neurons, 64 per core: 128 cores on one chip.
    let mut blocks = Vec::new();
    let mut edges = Vec::new();
    for l in 0..8u32 {
        for i in 0..16u32 {
            let mut b = Block::new(format!("l{l}.{i}"), 64);
            b.rate = 0.05;
            blocks.push(b);
            if l < 7 {
                for d in 0..16u32 {
                    let mut e = Edge::new(BlockId(l * 16 + i), BlockId((l + 1) * 16 + d), 3.2 * (1.0 - 0.9f64.powi(64)));
                    e.synops = Some(3.2 * 6.4);
                    edges.push(e);
                }
            }
        }
    }
    let net = Network::new("8layer", blocks, edges).unwrap();
    let topo = Topology::preset("loihi").unwrap();
    let p = Placement::new((0..128).map(|i| Slot::Core { chip: ChipId(0), core: CoreId(i) }).collect(), "t", 0);
    let t = Instant::now();
    let e = emulate(&net, &topo, &p, &EmuOptions { steps: 100_000, seed: 1, precompute: false }, None).unwrap();
    let dt = t.elapsed().as_secs_f64();
    println!("8-layer 128 cores: 100000 steps in {dt:.3} s = {:.2} us/step (SANA-FE 430000 us/step); mean {:.2} us analytic {:.2}", dt / 100_000.0 * 1e6, e.time_per_step_us.mean, e.analytic_time_per_step_us);
}
