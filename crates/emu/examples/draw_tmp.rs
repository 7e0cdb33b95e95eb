use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Binomial, Distribution};
use std::time::Instant;
fn main() {
    for (n, p) in [(256u64, 0.05), (64, 0.2), (64, 0.01), (1024, 0.2)] {
        let d = Binomial::new(n, p).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let t = Instant::now();
        let mut s = 0u64;
        for _ in 0..4_000_000 { s += d.sample(&mut rng); }
        println!("{n} {p}: {:.1} ns/draw (mean {})", t.elapsed().as_secs_f64() / 4e6 * 1e9, s as f64 / 4e6);
    }
}
