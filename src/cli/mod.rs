//! The command line's rooms: one module per command, `output` for everything that reaches the terminal
//! or the file system, and here the pieces every command shares (exit codes, `Failure`, loading the
//! network and the topology, argument parsers).

pub(crate) mod advise;
pub(crate) mod build;
pub(crate) mod compare;
pub(crate) mod emulate;
pub(crate) mod gen;
pub(crate) mod import;
pub(crate) mod listings;
pub(crate) mod output;
pub(crate) mod place;

use std::path::Path;

use anyhow::anyhow;
use snn_place::alloc::ilp::{Backend, Objective};
use snn_place::graph::{read_net_file, Network};
use snn_place::hardware::{load_topology, Topology, TrafficModel};
use snn_place::placement::{read_placement_file, Placement};

/// Exit codes, as README.md documents them.
pub(crate) mod exit {
    /// The output could not be written, or a bug.
    pub(crate) const FAILURE: u8 = 1;
    /// Bad input or usage: a malformed file, an unknown name, a block too big for any core.
    pub(crate) const BAD_INPUT: u8 = 2;
    /// The network does not fit the topology (or the chips `--chips` allows).
    pub(crate) const DOES_NOT_FIT: u8 = 3;
    /// Interrupted by Ctrl-C (SIGINT), SIGTERM or SIGHUP: 128 + SIGINT, as shells report it.
    pub(crate) const INTERRUPTED: i32 = 130;
}

/// An error with the exit code it deserves.
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) error: anyhow::Error,
}

pub(crate) fn fail(code: u8) -> impl FnOnce(anyhow::Error) -> Failure {
    move |error| Failure { code, error }
}

pub(crate) fn display(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "<stdin>".into()
    } else {
        path.display().to_string()
    }
}

pub(crate) fn load_net(path: &Path) -> Result<Network, Failure> {
    read_net_file(path)
        .map_err(|e| anyhow!(e).context(display(path)))
        .map_err(fail(exit::BAD_INPUT))
}

pub(crate) fn load_topo(spec: &str) -> Result<Topology, Failure> {
    load_topology(spec)
        .map_err(|e| {
            if Topology::preset(spec).is_none() && Path::new(spec).exists() {
                anyhow!(e).context(spec.to_string())
            } else {
                anyhow!(e)
            }
        })
        .map_err(fail(exit::BAD_INPUT))
}

/// `--solver`: a backend this build has.
pub(crate) fn parse_solver(s: &str) -> Result<Backend, String> {
    Backend::from_name(s)
}

/// `--objective`: a name from the ILP's list.
pub(crate) fn parse_objective(s: &str) -> Result<Objective, String> {
    Objective::from_name(s)
}

pub(crate) fn parse_traffic(s: &str) -> Result<TrafficModel, String> {
    TrafficModel::from_name(s)
}

/// `--time-limit`: seconds, more than 0 and at most a day.
pub(crate) fn parse_time_limit(s: &str) -> Result<f64, String> {
    let x: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    snn_place::check_time_limit(x)
        .map_err(|_| format!("must be more than 0 and at most 86400 seconds (a day), got {s}"))
}

/// `--window`: at least one block.
pub(crate) fn parse_window(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1 block, got 0".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{s:?} is not a number of blocks")),
    }
}

/// Reads a placement for `net`. When it does not match, and the file names another network, the error
/// says so first: the usual mistake is a placement saved for another network.
pub(crate) fn load_placement(path: &Path, net: &Network) -> Result<Placement, Failure> {
    read_placement_file(path, net).map_err(|e| {
        let other = std::fs::read(path)
            .ok()
            .and_then(|bytes| snn_place::placement_names_other_net(&bytes, net));
        let error = match other {
            Some(name) => anyhow!(e).context(format!(
                "{}: the placement is for network {name:?}, not {:?}",
                display(path),
                net.name
            )),
            None => anyhow!(e).context(display(path)),
        };
        Failure {
            code: exit::BAD_INPUT,
            error,
        }
    })
}
