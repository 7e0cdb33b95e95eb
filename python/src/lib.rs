//! `snn_place._native`: the Python extension module over the `snn_place` facade. Its main types are
//! [`Net`] (a read and checked network) and [`Topo`] (a board); its functions mirror the command line's
//! commands (`place`, `emulate`, `compare`, `advise`, `build`, `import keras`, `gen`, the listings) and
//! take the same options, so the same seed gives the same bytes as `snn-place`.
//!
//! The Python package (`python/snn_place/__init__.py`) wraps these functions: it turns dicts into JSON
//! text on the way in and JSON text into dicts on the way out. Every long call releases the GIL
//! ([`run`]); a Rust error becomes one of the exceptions of `snn_place.errors` with the message the
//! command line prints, and a panic becomes `SnnPlaceError` instead of reaching Python.

use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::anyhow;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use snn_place::emu::EmuOptions;
use snn_place::graph::{read_net, read_net_file, write_net, Network};
use snn_place::hardware::{load_topology, read_topology, topology_json, Topology, TrafficModel};
use snn_place::placement::{read_placement, write_placement, Placement};
use snn_place::{alloc, frontend, report, Options};

pyo3::import_exception!(snn_place.errors, SnnPlaceError);
pyo3::import_exception!(snn_place.errors, BadInputError);
pyo3::import_exception!(snn_place.errors, DoesNotFitError);

/// The command line's exit codes, which pick the exception.
const FAILURE: u8 = 1;
const BAD_INPUT: u8 = 2;
const DOES_NOT_FIT: u8 = 3;

/// An error with the kind the command line would give it (its exit code).
struct Fail {
    code: u8,
    error: anyhow::Error,
}

impl From<Fail> for PyErr {
    fn from(f: Fail) -> PyErr {
        // `{:#}` is the one-line chain the command line prints after "snn-place: error: ".
        let msg = format!("{:#}", f.error);
        match f.code {
            BAD_INPUT => BadInputError::new_err(msg),
            DOES_NOT_FIT => DoesNotFitError::new_err(msg),
            _ => SnnPlaceError::new_err(msg),
        }
    }
}

fn bad(error: impl Into<anyhow::Error>) -> Fail {
    Fail {
        code: BAD_INPUT,
        error: error.into(),
    }
}

/// A failed placement as the command line classifies it: does not fit, a bug (an invalid placement) or
/// bad input; with the network's source as context.
fn place_fail(e: snn_place::Error, net: &Net) -> Fail {
    let code = match &e {
        _ if e.is_infeasible() => DOES_NOT_FIT,
        snn_place::Error::Invalid { .. } => FAILURE,
        _ => BAD_INPUT,
    };
    Fail {
        code,
        error: net.context(anyhow!(e)),
    }
}

/// Runs `f` without the GIL (other Python threads run meanwhile); a panic becomes `SnnPlaceError`.
fn run<T: Send>(py: Python<'_>, f: impl FnOnce() -> Result<T, Fail> + Send) -> PyResult<T> {
    match py.detach(|| catch_unwind(AssertUnwindSafe(f))) {
        Ok(Ok(t)) => Ok(t),
        Ok(Err(fail)) => Err(fail.into()),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".into());
            Err(SnnPlaceError::new_err(format!(
                "internal error (a bug in snn-place; please report it): {what}"
            )))
        }
    }
}

/// A Python progress callback called from Rust worker threads (with the GIL taken for the call), one
/// call at a time, with the count of work done so far: counted and called under one lock, so the counts
/// reach the callback in increasing order and the last call has the total. Its first exception is
/// kept, stops further calls, and is raised when the call returns.
struct Progress {
    callback: Option<Py<PyAny>>,
    state: Mutex<ProgressState>,
}

/// What [`Progress`]'s lock guards.
#[derive(Default)]
struct ProgressState {
    done: u64,
    error: Option<PyErr>,
}

impl Progress {
    fn new(callback: Option<Py<PyAny>>) -> Progress {
        Progress {
            callback,
            state: Mutex::new(ProgressState::default()),
        }
    }

    /// Counts `n` more units of work done and calls `f` with the callback and the count so far.
    fn advance(&self, n: u64, f: impl FnOnce(Python<'_>, &Py<PyAny>, u64) -> PyResult<Py<PyAny>>) {
        let Some(callback) = &self.callback else {
            return;
        };
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.error.is_some() {
            return;
        }
        state.done += n;
        let done = state.done;
        Python::attach(|py| {
            if let Err(e) = f(py, callback, done) {
                state.error = Some(e);
            }
        });
    }

    /// The result, or the callback's exception.
    fn finish<T>(self, result: PyResult<T>) -> PyResult<T> {
        let state = self.state.into_inner().unwrap_or_else(|e| e.into_inner());
        match state.error {
            Some(e) => Err(e),
            None => result,
        }
    }
}

/// A network, read and checked (`snn-net/1`).
#[pyclass(frozen, name = "Net", module = "snn_place")]
struct Net {
    net: Arc<Network>,
    /// The file it was read from, which error messages name first as the command line's do.
    source: Option<String>,
}

impl Net {
    fn new(net: Network, source: Option<String>) -> Net {
        Net {
            net: Arc::new(net),
            source,
        }
    }

    fn context(&self, e: anyhow::Error) -> anyhow::Error {
        match &self.source {
            Some(s) => e.context(s.clone()),
            None => e,
        }
    }
}

#[pymethods]
impl Net {
    /// The network's name.
    #[getter]
    fn name(&self) -> &str {
        &self.net.name
    }

    /// Blocks, host blocks included.
    #[getter]
    fn n_blocks(&self) -> usize {
        self.net.n_blocks()
    }

    /// Blocks that go on chip.
    #[getter]
    fn n_on_chip(&self) -> usize {
        self.net.n_on_chip()
    }

    #[getter]
    fn n_edges(&self) -> usize {
        self.net.edges().len()
    }

    /// The file the network was read from, if any.
    #[getter]
    fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }

    /// The network as `snn-net/1` JSON text, the bytes `snn-place gen`/`build` write.
    fn to_json(&self, py: Python<'_>) -> PyResult<String> {
        let net = self.net.clone();
        run(py, move || {
            let mut out = Vec::new();
            write_net(&net, &mut out).map_err(bad)?;
            String::from_utf8(out).map_err(bad)
        })
    }

    /// Writes the network to `path` (gzip-compressed when it ends in `.gz`) through a temporary file
    /// renamed into place, as the command line's `-o` does.
    fn write(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let net = self.net.clone();
        run(py, move || {
            write_atomic(&path, |w| snn_place::write_net_to(&path, &net, w))
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "Net({:?}: {} blocks ({} on chip), {} edges)",
            self.net.name,
            self.net.n_blocks(),
            self.net.n_on_chip(),
            self.net.edges().len()
        )
    }
}

/// A board: a preset or an `snn-topology/1` file or object.
#[pyclass(frozen, name = "Topology", module = "snn_place")]
struct Topo {
    topo: Arc<Topology>,
}

#[pymethods]
impl Topo {
    /// A preset name or an `snn-topology/1` file, as `--topology` takes it.
    #[staticmethod]
    fn load(spec: &str) -> PyResult<Topo> {
        let topo = load_topology(spec).map_err(|e| {
            // The file's name comes first when it is a file, as on the command line.
            let error = if Topology::preset(spec).is_none() && Path::new(spec).exists() {
                anyhow!(e).context(spec.to_string())
            } else {
                anyhow!(e)
            };
            PyErr::from(bad(error))
        })?;
        Ok(Topo {
            topo: Arc::new(topo),
        })
    }

    /// An `snn-topology/1` object as JSON text.
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Topo> {
        let topo = read_topology(text.as_bytes()).map_err(|e| PyErr::from(bad(e)))?;
        Ok(Topo {
            topo: Arc::new(topo),
        })
    }

    #[getter]
    fn name(&self) -> &str {
        &self.topo.name
    }

    #[getter]
    fn n_chips(&self) -> u32 {
        self.topo.n_chips()
    }

    #[getter]
    fn cores_per_chip(&self) -> u32 {
        self.topo.cores_per_chip()
    }

    /// The board as an `snn-topology/1` object in JSON text (`snn-place topologies --json` gives the
    /// presets so).
    fn to_json(&self) -> String {
        topology_json(&self.topo).to_string()
    }

    fn __repr__(&self) -> String {
        format!(
            "Topology({:?}: {} chips x {} cores)",
            self.topo.name,
            self.topo.n_chips(),
            self.topo.cores_per_chip()
        )
    }
}

/// Writes `path` atomically, as the command line does (see [`snn_place::write_atomic`]).
fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), Fail> {
    snn_place::write_atomic(path, &|_, _| {}, write).map_err(|e| Fail {
        code: FAILURE,
        error: anyhow!(e).context(format!("cannot write {}", path.display())),
    })
}

/// Reads an `snn-net/1` file (JSON or gzip-compressed JSON).
#[pyfunction]
#[pyo3(name = "read_net_file")]
fn read_net_file_(py: Python<'_>, path: PathBuf) -> PyResult<Net> {
    run(py, move || {
        let source = path.display().to_string();
        let net = read_net_file(&path).map_err(|e| bad(anyhow!(e).context(source.clone())))?;
        Ok(Net::new(net, Some(source)))
    })
}

/// Reads an `snn-net/1` network from its bytes (JSON or gzip-compressed JSON).
#[pyfunction]
fn read_net_bytes(py: Python<'_>, data: &Bound<'_, PyBytes>) -> PyResult<Net> {
    let data = data.as_bytes().to_vec();
    run(py, move || {
        Ok(Net::new(
            read_net(&data[..]).map_err(|e| bad(anyhow!(e)))?,
            None,
        ))
    })
}

/// An input file: its bytes, or its path.
#[derive(FromPyObject)]
enum Source {
    Bytes(Vec<u8>),
    Path(PathBuf),
}

impl Source {
    /// The bytes, and the path they were read from (which error messages name first, as the command
    /// line's do).
    fn read(&self) -> Result<(Vec<u8>, Option<String>), Fail> {
        match self {
            Source::Bytes(b) => Ok((b.clone(), None)),
            Source::Path(p) => {
                let shown = p.display().to_string();
                let bytes = std::fs::read(p).map_err(|e| bad(anyhow!(e).context(shown.clone())))?;
                Ok((bytes, Some(shown)))
            }
        }
    }

    /// The text of a layer description or a Keras model, and where it came from.
    fn text(&self) -> Result<(String, Option<String>), Fail> {
        let (bytes, source) = self.read()?;
        let text = String::from_utf8(bytes).map_err(|e| bad(with_source(anyhow!(e), &source)))?;
        Ok((text, source))
    }

    /// Reads a saved placement and matches it to `net`. When it does not match and it names another
    /// network, the error says so first, as the command line's.
    fn placement(&self, net: &Network) -> Result<Placement, Fail> {
        let (bytes, source) = self.read()?;
        read_placement(&bytes[..], net).map_err(|e| {
            let error = match snn_place::placement_names_other_net(&bytes, net) {
                Some(other) => anyhow!(e).context(format!(
                    "{}the placement is for network {other:?}, not {:?}",
                    source
                        .as_ref()
                        .map(|s| format!("{s}: "))
                        .unwrap_or_default(),
                    net.name
                )),
                None => with_source(anyhow!(e), &source),
            };
            bad(error)
        })
    }
}

/// The placement as `snn-placement/1` JSON text: the bytes `--out` writes.
fn placement_text(p: &Placement, net: &Network, topo: &Topology) -> Result<String, Fail> {
    let mut out = Vec::new();
    write_placement(p, net, topo, &mut out).map_err(|e| Fail {
        code: FAILURE,
        error: anyhow!(e),
    })?;
    String::from_utf8(out).map_err(bad)
}

fn to_json(v: &impl serde::Serialize) -> String {
    serde_json::to_string(v).expect("reports serialise")
}

/// The traffic model `name` names; an empty name (Python's `None`) is the topology's own, as the
/// command line's default `--traffic` is.
fn traffic_model(name: &str, topo: &snn_place::Topology) -> Result<TrafficModel, Fail> {
    if name.is_empty() {
        return Ok(topo.traffic);
    }
    TrafficModel::from_name(name).map_err(|e| bad(anyhow!("traffic: {e}")))
}

/// `portfolio`'s effort called `name` (`--effort`).
fn effort_named(name: &str) -> Result<alloc::Effort, Fail> {
    alloc::Effort::from_name(name).map_err(|e| bad(anyhow!("effort: {e}")))
}

fn checked_time_limit(s: Option<f64>) -> Result<Option<f64>, Fail> {
    s.map(|s| snn_place::check_time_limit(s).map_err(|e| bad(anyhow!("time_limit: {e}"))))
        .transpose()
}

/// The emulator's options, as the command line's `--steps`, `--seed`, `--precompute`,
/// `--steps-per-inference` and `--traffic` give them.
#[derive(Clone, Copy)]
struct Emu {
    steps: u32,
    seed: u64,
    precompute: bool,
    steps_per_inference: Option<u32>,
}

impl Emu {
    fn options(self, traffic: TrafficModel) -> EmuOptions {
        EmuOptions {
            steps: self.steps,
            seed: self.seed,
            precompute: self.precompute,
            traffic,
            steps_per_inference: self.steps_per_inference,
        }
    }
}

/// Emulates with a progress callback `progress(steps_done, steps_total)`.
fn emulate_with(
    net: &Network,
    topo: &Topology,
    placement: &Placement,
    opts: &EmuOptions,
    report: &mut snn_place::Report,
    progress: &Progress,
) -> Result<(), Fail> {
    let total = opts.steps as u64;
    let tick = |n: u64| progress.advance(n, |py, cb, done| cb.call1(py, (done, total)));
    let tick: Option<&(dyn Fn(u64) + Sync)> = match progress.callback {
        Some(_) => Some(&tick),
        None => None,
    };
    snn_place::emulate(net, topo, placement, opts, report, tick).map_err(|e| bad(anyhow!(e)))?;
    Ok(())
}

/// `snn-place [options] NET`: places the network; returns the placement and the report as JSON text.
#[pyfunction]
#[pyo3(signature = (net, topology, allocator, refine, chips, seed, objective, time_limit, window,
    solver, pack, spread, traffic, effort, emulate, steps, precompute, steps_per_inference, out, progress))]
#[allow(clippy::too_many_arguments)]
fn place(
    py: Python<'_>,
    net: &Net,
    topology: &Topo,
    allocator: String,
    refine: Vec<String>,
    chips: Option<u32>,
    seed: u64,
    objective: &str,
    time_limit: Option<f64>,
    window: usize,
    solver: &str,
    pack: bool,
    spread: bool,
    traffic: &str,
    effort: &str,
    emulate: bool,
    steps: u32,
    precompute: bool,
    steps_per_inference: Option<u32>,
    out: Option<PathBuf>,
    progress: Option<Py<PyAny>>,
) -> PyResult<(String, String)> {
    let progress = Progress::new(progress);
    let objective = objective.to_string();
    let solver = solver.to_string();
    let traffic = traffic.to_string();
    let effort = effort.to_string();
    let emu = Emu {
        steps,
        seed,
        precompute,
        steps_per_inference,
    };
    let (n, t) = (net.net.clone(), topology.topo.clone());
    let result = run(py, || {
        let objective =
            alloc::Objective::from_name(&objective).map_err(|e| bad(anyhow!("objective: {e}")))?;
        let solver =
            alloc::ilp::Backend::from_name(&solver).map_err(|e| bad(anyhow!("solver: {e}")))?;
        let traffic = traffic_model(&traffic, &t)?;
        let effort = effort_named(&effort)?;
        let time_limit = checked_time_limit(time_limit)?;
        let emu_opts = emu.options(traffic);
        // A host loop makes precompute impossible: say so before placing (and writing `out`).
        if emulate {
            snn_place::check_precompute(&n, &emu_opts).map_err(|e| place_fail(e, net))?;
        }
        let names = std::iter::once(&allocator).chain(&refine);
        let opts = Options {
            allocator: allocator.clone(),
            refine: refine.clone(),
            seed,
            chips,
            deadline: snn_place::deadline(time_limit, names.map(String::as_str)),
            objective,
            window,
            solver,
            pack,
            traffic,
            spread,
            // Mt-KaHyPar's preset (the `mtkahypar` allocator, a cargo feature): its default here.
            mtk_preset: alloc::MtkPreset::default(),
            effort,
        };
        let placed = if allocator == "auto" {
            let copts = snn_place::CompareOptions {
                candidates: Vec::new(),
                place: opts,
                emu: emu_opts,
                pack: false,
            };
            snn_place::place_auto(&n, &t, &copts).map(|(p, r, _)| (p, r))
        } else {
            snn_place::place(&n, &t, &opts)
        };
        let (placement, mut report) = placed.map_err(|e| place_fail(e, net))?;
        if let Some(out) = &out {
            write_atomic(out, |w| write_placement(&placement, &n, &t, w))?;
        }
        if emulate {
            emulate_with(&n, &t, &placement, &emu_opts, &mut report, &progress)?;
        }
        Ok((placement_text(&placement, &n, &t)?, to_json(&report)))
    });
    progress.finish(result)
}

/// `snn-place emulate NET --placement P`: returns the report (with its `emulation` object) as JSON text.
#[pyfunction]
#[pyo3(signature = (net, topology, placement, steps, seed, precompute, steps_per_inference, traffic,
    progress))]
#[allow(clippy::too_many_arguments)]
fn emulate(
    py: Python<'_>,
    net: &Net,
    topology: &Topo,
    placement: Source,
    steps: u32,
    seed: u64,
    precompute: bool,
    steps_per_inference: Option<u32>,
    traffic: &str,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    let progress = Progress::new(progress);
    let traffic = traffic.to_string();
    let emu = Emu {
        steps,
        seed,
        precompute,
        steps_per_inference,
    };
    let (n, t) = (net.net.clone(), topology.topo.clone());
    let result = run(py, || {
        let traffic = traffic_model(&traffic, &t)?;
        let placement = placement.placement(&n)?;
        // The placement must fit this topology before any figure is computed from it.
        let mut report = snn_place::saved_placement_report(&n, &t, &placement, traffic)
            .map_err(|e| bad(anyhow!(e)))?;
        emulate_with(
            &n,
            &t,
            &placement,
            &emu.options(traffic),
            &mut report,
            &progress,
        )?;
        Ok(to_json(&report))
    });
    progress.finish(result)
}

/// `snn-place compare NET --format json`: the ranked rows as JSON text, and the HTML report when asked.
#[pyfunction]
#[pyo3(signature = (net, topology, allocators, chips, seed, time_limit, steps, precompute,
    steps_per_inference, traffic, pack, effort, timing, html, progress))]
#[allow(clippy::too_many_arguments)]
fn compare(
    py: Python<'_>,
    net: &Net,
    topology: &Topo,
    allocators: Vec<String>,
    chips: Option<u32>,
    seed: u64,
    time_limit: Option<f64>,
    steps: u32,
    precompute: bool,
    steps_per_inference: Option<u32>,
    traffic: &str,
    pack: bool,
    effort: &str,
    timing: bool,
    html: bool,
    progress: Option<Py<PyAny>>,
) -> PyResult<(String, Option<String>)> {
    let progress = Progress::new(progress);
    let traffic = traffic.to_string();
    let effort = effort.to_string();
    let emu = Emu {
        steps,
        seed,
        precompute,
        steps_per_inference,
    };
    let (n, t) = (net.net.clone(), topology.topo.clone());
    let result = run(py, || {
        let traffic = traffic_model(&traffic, &t)?;
        let effort = effort_named(&effort)?;
        let time_limit = checked_time_limit(time_limit)?;
        let candidates = snn_place::candidates(&allocators).map_err(|e| bad(anyhow!(e)))?;
        let deadline = snn_place::deadline(time_limit, candidates.iter().map(String::as_str));
        let opts = snn_place::CompareOptions {
            candidates,
            place: Options {
                seed,
                chips,
                deadline,
                traffic,
                effort,
                ..Options::default()
            },
            emu: emu.options(traffic),
            pack,
        };
        let total = snn_place::compare_candidates(&opts)
            .map_err(|e| place_fail(e, net))?
            .len();
        let tick =
            |name: &str| progress.advance(1, |py, cb, done| cb.call1(py, (name, done, total)));
        let tick: Option<&(dyn Fn(&str) + Sync)> = match progress.callback {
            Some(_) => Some(&tick),
            None => None,
        };
        let rows = snn_place::compare(&n, &t, &opts, tick).map_err(|e| place_fail(e, net))?;
        if let Some(infeasible) = snn_place::none_placed(&rows) {
            let why: Vec<String> = rows
                .iter()
                .map(|r| match &r.outcome {
                    report::Outcome::Failed(e) => format!("{}: {e}", r.allocator),
                    report::Outcome::Placed(_) => String::new(),
                })
                .collect();
            let name = net.source.clone().unwrap_or_else(|| n.name.clone());
            return Err(Fail {
                code: if infeasible { DOES_NOT_FIT } else { BAD_INPUT },
                error: anyhow!("no allocator placed {name} ({})", why.join("; ")),
            });
        }
        let style = report::Style { timing };
        let page = html.then(|| report::html(&rows, &n, &t, style));
        Ok((to_json(&report::json(&rows, &n, &t, seed, style)), page))
    });
    progress.finish(result)
}

/// `snn-place advise NET [--placement P] --json`: the `snn-advice/1` object as JSON text.
#[pyfunction]
#[pyo3(signature = (net, topology, placement, allocator, seed, steps, precompute,
    steps_per_inference, traffic))]
#[allow(clippy::too_many_arguments)]
fn advise(
    py: Python<'_>,
    net: &Net,
    topology: &Topo,
    placement: Option<Source>,
    allocator: String,
    seed: u64,
    steps: u32,
    precompute: bool,
    steps_per_inference: Option<u32>,
    traffic: &str,
) -> PyResult<String> {
    let traffic = traffic.to_string();
    let emu = Emu {
        steps,
        seed,
        precompute,
        steps_per_inference,
    };
    let (n, t) = (net.net.clone(), topology.topo.clone());
    run(py, || {
        let traffic = traffic_model(&traffic, &t)?;
        let placement = match &placement {
            Some(source) => {
                let p = source.placement(&n)?;
                let rules = snn_place::Rules {
                    chips: t.n_chips(),
                    packing: true,
                };
                p.validate(&n, &t, &rules).map_err(|e| bad(anyhow!(e)))?;
                Some(p)
            }
            None => None,
        };
        let opts = snn_place::AdviseOptions {
            emu: emu.options(traffic),
            place: Options {
                allocator,
                seed,
                traffic,
                ..Options::default()
            },
        };
        let advice =
            snn_place::advise(&n, &t, placement.as_ref(), &opts).map_err(|e| place_fail(e, net))?;
        Ok(to_json(&snn_place::advice_json(&advice, &n, &t, &opts)))
    })
}

/// `snn-place build LAYERS`: a network from an `snn-layers/1` description (its JSON text or its path),
/// its blocks split to fit the topology's cores.
#[pyfunction]
#[pyo3(signature = (layers, topology, axons))]
fn build_layers(py: Python<'_>, layers: Source, topology: &Topo, axons: &str) -> PyResult<Net> {
    let t = topology.topo.clone();
    let axons = axon_model(axons)?;
    run(py, move || {
        let (text, source) = layers.text()?;
        let limits = snn_place::frontend_limits(&t);
        let net = frontend::parse_layers(&text)
            .and_then(|spec| frontend::build_with(&spec, &limits, axons))
            .map_err(|e| bad(with_source(anyhow!(e), &source)))?;
        Ok(Net::new(net, None))
    })
}

/// `snn-place import keras MODEL`: a Keras 3 `model.to_json()` (its text or its path) as a network, the
/// notes on what was approximated, and the file it came from.
#[pyfunction]
#[pyo3(signature = (model, topology, rate, input_rate, axons))]
fn import_keras(
    py: Python<'_>,
    model: Source,
    topology: &Topo,
    rate: f64,
    input_rate: f64,
    axons: &str,
) -> PyResult<(Net, Vec<String>, Option<String>)> {
    let t = topology.topo.clone();
    let axons = axon_model(axons)?;
    run(py, move || {
        let (text, source) = model.text()?;
        let limits = snn_place::frontend_limits(&t);
        let opts = frontend::KerasOptions { rate, input_rate };
        let (net, notes) = frontend::keras_to_layers(&text, &opts)
            .and_then(|import| {
                let net = frontend::build_with(&import.spec, &limits, axons)?;
                Ok((net, import.notes))
            })
            .map_err(|e| bad(with_source(anyhow!(e), &source)))?;
        Ok((Net::new(net, None), notes, source))
    })
}

/// One population of a NIR import: (node id, node type, neurons, blocks, synapses).
type NirPopulation = (String, String, u64, usize, u64);

/// `snn-place import nir MODEL.nir`: a NIR file (HDF5, read from its path) as a network, and its
/// populations as the command line prints them.
#[pyfunction]
#[pyo3(signature = (path, topology, rate, input_rate))]
fn import_nir(
    py: Python<'_>,
    path: PathBuf,
    topology: &Topo,
    rate: f64,
    input_rate: f64,
) -> PyResult<(Net, Vec<NirPopulation>)> {
    let t = topology.topo.clone();
    run(py, move || {
        let opts = frontend::NirOptions { rate, input_rate };
        let import = snn_place::import_nir(&path, &t, &opts)
            .map_err(|e| bad(anyhow!(e).context(path.display().to_string())))?;
        let populations = import
            .populations
            .into_iter()
            .map(|p| (p.node, p.kind, p.neurons, p.blocks, p.synapses))
            .collect();
        Ok((Net::new(import.network, None), populations))
    })
}

/// `--axons`: how the front end counts a block's axons and synapse memory.
fn axon_model(name: &str) -> PyResult<frontend::AxonModel> {
    frontend::AxonModel::from_name(name).ok_or_else(|| {
        BadInputError::new_err(format!(
            "axons: unknown model {name:?}; known: population, discrete"
        ))
    })
}

fn with_source(e: anyhow::Error, source: &Option<String>) -> anyhow::Error {
    match source {
        Some(s) => e.context(s.clone()),
        None => e,
    }
}

/// `snn-place gen KIND --blocks N --seed S`: a seeded generated network.
#[pyfunction]
#[pyo3(signature = (kind, blocks, seed))]
fn generate(py: Python<'_>, kind: String, blocks: usize, seed: u64) -> PyResult<Net> {
    run(py, move || {
        let kind: frontend::GenKind = kind
            .parse()
            .map_err(|e: frontend::GenError| bad(anyhow!(e)))?;
        let opts = frontend::GenOptions { kind, blocks, seed };
        let net = frontend::generate(&opts).map_err(|e| bad(anyhow!(e)))?;
        Ok(Net::new(net, None))
    })
}

/// The presets as `snn-place topologies --json` prints them: one JSON array of `snn-topology/1` objects.
#[pyfunction]
fn topologies_json() -> String {
    let all: Vec<serde_json::Value> = snn_place::hardware::PRESETS
        .iter()
        .map(|p| topology_json(&Topology::preset(p.0).expect("listed presets exist")))
        .collect();
    to_json(&all)
}

/// The preset names with their one-line descriptions.
#[pyfunction]
fn preset_descriptions() -> Vec<(&'static str, &'static str)> {
    snn_place::hardware::PRESETS
        .iter()
        .map(|p| (p.0, p.2))
        .collect()
}

/// The allocators (name, trade-off), as `snn-place allocators` lists them.
#[pyfunction]
fn allocator_list() -> Vec<(&'static str, &'static str)> {
    alloc::ALLOCATORS.to_vec()
}

/// The refiners (name, trade-off).
#[pyfunction]
fn refiner_list() -> Vec<(&'static str, &'static str)> {
    alloc::REFINERS.to_vec()
}

/// Panics inside [`run`], as a bug in the core would: the tests check that Python gets `SnnPlaceError`
/// and the interpreter lives on.
#[pyfunction]
fn _panic(py: Python<'_>, message: String) -> PyResult<()> {
    run(py, move || -> Result<(), Fail> { panic!("{message}") })
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Net>()?;
    m.add_class::<Topo>()?;
    m.add_function(wrap_pyfunction!(read_net_file_, m)?)?;
    m.add_function(wrap_pyfunction!(read_net_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(place, m)?)?;
    m.add_function(wrap_pyfunction!(emulate, m)?)?;
    m.add_function(wrap_pyfunction!(compare, m)?)?;
    m.add_function(wrap_pyfunction!(advise, m)?)?;
    m.add_function(wrap_pyfunction!(build_layers, m)?)?;
    m.add_function(wrap_pyfunction!(import_keras, m)?)?;
    m.add_function(wrap_pyfunction!(import_nir, m)?)?;
    m.add_function(wrap_pyfunction!(generate, m)?)?;
    m.add_function(wrap_pyfunction!(topologies_json, m)?)?;
    m.add_function(wrap_pyfunction!(preset_descriptions, m)?)?;
    m.add_function(wrap_pyfunction!(allocator_list, m)?)?;
    m.add_function(wrap_pyfunction!(refiner_list, m)?)?;
    m.add_function(wrap_pyfunction!(_panic, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("DEFAULT_ALLOCATOR", snn_place::DEFAULT_ALLOCATOR)?;
    m.add("DEFAULT_TOPOLOGY", snn_place::hardware::DEFAULT_PRESET)?;
    m.add("DEFAULT_WINDOW", alloc::ilp::DEFAULT_WINDOW)?;
    m.add("DEFAULT_RATE", frontend::DEFAULT_RATE)?;
    Ok(())
}
