//! `build`: a network from an snn-layers/1 layer description; also the text reading and core limits that
//! `import` shares.

use std::io;
use std::path::{Path, PathBuf};

use anyhow::anyhow;
use clap::Args;
use snn_place::frontend::{build_with, parse_layers, AxonModel, Limits};
use snn_place::hardware::DEFAULT_PRESET;

use super::output::write_network;
use super::{display, exit, fail, load_topo, Failure};

#[derive(Args)]
pub(crate) struct BuildArgs {
    /// The layer description (snn-layers/1 JSON), or - for standard input.
    #[arg(value_name = "LAYERS")]
    pub(crate) layers: PathBuf,
    #[command(flatten)]
    pub(crate) out: FrontendOut,
}

/// Where `build` and `import` write, and whose core limits the blocks must fit.
#[derive(Args)]
pub(crate) struct FrontendOut {
    /// Where to write the network (.json, or .json.gz to compress; - or omitted: standard output).
    #[arg(short, long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// Take the per-core limits from this preset or snn-topology/1 file, e.g. --topology loihi.
    #[arg(short, long, value_name = "PRESET|FILE", default_value = DEFAULT_PRESET)]
    pub(crate) topology: String,
    /// How blocks' axons and synapse memory are counted: population (nengo-loihi 1.1's: pop32 axons
    /// for convolutions) or discrete (one axon per source neuron, snn-place's earlier model).
    #[arg(long, value_name = "MODEL", default_value = "population", value_parser = ["population", "discrete"])]
    pub(crate) axons: String,
}

impl FrontendOut {
    /// `--axons`: clap has checked the name.
    pub(crate) fn axon_model(&self) -> AxonModel {
        AxonModel::from_name(&self.axons).unwrap_or_default()
    }
}

/// The largest layer description or Keras file read: they are read whole (the largest Keras fixture,
/// ResNet-50, is 256 KB), so a cap keeps a wrong file from filling memory.
pub(crate) const MAX_TEXT_BYTES: u64 = 64 << 20;

/// Reads a text file of at most [`MAX_TEXT_BYTES`], or standard input for `-`.
pub(crate) fn read_text(path: &Path) -> Result<String, Failure> {
    let too_big =
        || anyhow!("the file is larger than {MAX_TEXT_BYTES} bytes (64 MiB), the most read");
    // One byte past the cap tells a file at the cap from a bigger one.
    let read = |r: &mut dyn io::Read| {
        let mut s = String::new();
        io::Read::read_to_string(&mut io::Read::take(r, MAX_TEXT_BYTES + 1), &mut s).map(|_| s)
    };
    let text = if path.as_os_str() == "-" {
        read(&mut io::stdin())
    } else {
        match std::fs::metadata(path) {
            // A regular file says its size: no need to read 64 MiB to refuse it.
            Ok(m) if m.is_file() && m.len() > MAX_TEXT_BYTES => {
                return Err(Failure {
                    code: exit::BAD_INPUT,
                    error: too_big().context(display(path)),
                })
            }
            _ => std::fs::File::open(path).and_then(|mut f| read(&mut f)),
        }
    };
    let text = text
        .map_err(|e| anyhow!(e).context(display(path)))
        .map_err(fail(exit::BAD_INPUT))?;
    if text.len() as u64 > MAX_TEXT_BYTES {
        return Err(Failure {
            code: exit::BAD_INPUT,
            error: too_big().context(display(path)),
        });
    }
    Ok(text)
}

/// The per-core limits of `--topology`, as the frontend takes them.
pub(crate) fn frontend_limits(spec: &str) -> Result<Limits, Failure> {
    Ok(snn_place::frontend_limits(&load_topo(spec)?))
}

pub(crate) fn run_build(args: &BuildArgs) -> Result<(), Failure> {
    let limits = frontend_limits(&args.out.topology)?;
    let text = read_text(&args.layers)?;
    let net = parse_layers(&text)
        .and_then(|spec| build_with(&spec, &limits, args.out.axon_model()))
        .map_err(|e| anyhow!(e).context(display(&args.layers)))
        .map_err(fail(exit::BAD_INPUT))?;
    write_network(&net, &args.out.out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `read_text` on a file of `len` bytes (sparse: nothing is written): the text's length or the error.
    fn check(len: u64, expect: &str) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.json");
        std::fs::File::create(&path).unwrap().set_len(len).unwrap();
        let got = match read_text(&path) {
            Ok(text) => text.len().to_string(),
            Err(f) => format!("{} {:#}", f.code, f.error),
        };
        assert_eq!(got.replace(&*dir.path().to_string_lossy(), "DIR"), expect);
    }

    #[test]
    fn text_inputs_are_capped_at_64_mib() {
        check(3, "3");
        check(
            MAX_TEXT_BYTES + 1,
            "2 DIR/model.json: the file is larger than 67108864 bytes (64 MiB), the most read",
        );
    }
}
