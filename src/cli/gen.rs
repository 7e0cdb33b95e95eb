//! `gen`: a seeded generated network.

use std::path::PathBuf;

use anyhow::anyhow;
use clap::Args;
use snn_place::frontend::{generate, GenKind, GenOptions};

use super::output::write_network;
use super::{exit, Failure};

#[derive(Args)]
pub(crate) struct GenArgs {
    /// `layered` (conv-net-like layers of spatial tiles with residual skips, host input and probes) or
    /// `random` (power-law degrees).
    #[arg(value_name = "KIND")]
    pub(crate) kind: GenKind,
    /// How many blocks, host blocks included, e.g. --blocks 100000.
    #[arg(long, value_name = "N")]
    pub(crate) blocks: usize,
    /// The generator's seed; the same seed gives the same file, e.g. --seed 1.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub(crate) seed: u64,
    /// Where to write the network (.json, or .json.gz to compress; - or omitted: standard output).
    #[arg(short, long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
}

pub(crate) fn gen(args: &GenArgs) -> Result<(), Failure> {
    let opts = GenOptions {
        kind: args.kind,
        blocks: args.blocks,
        seed: args.seed,
    };
    let net = generate(&opts).map_err(|e| Failure {
        code: exit::BAD_INPUT,
        error: anyhow!(e),
    })?;
    write_network(&net, &args.out)
}
