"""snn-place in Python: place spiking neural networks on multi-chip neuromorphic boards.

The Rust core (the ``snn_place`` crate's facade) is compiled into this package, so nothing needs the
``snn-place`` binary. The functions take the command line's options and give its results: the same seed
gives the same placement, byte for byte::

    import snn_place
    net = snn_place.read_net("net.json")                 # a path, or an snn-net/1 dict
    placement, report = snn_place.place(net, "nahuku32", seed=1)
    print(report["chips_used"], report["interchip_spikes"])

Placements, reports, comparison rows and advice are the JSON objects of the command line as dicts
(``snn-placement/1``, ``snn-report/1``, ``snn-advice/1``). Errors are :mod:`snn_place.errors` exceptions
with the command line's message: :class:`BadInputError` (also a ``ValueError``) and
:class:`DoesNotFitError`, both :class:`SnnPlaceError`. Every long call releases the GIL, so other Python
threads run (and place other networks) meanwhile. The nengo-loihi allocator is :mod:`snn_place.nengo`.
"""

import json
import os
import warnings

from . import _native
from ._native import Net, Topology
from .errors import BadInputError, DoesNotFitError, SnnPlaceError, SnnPlaceWarning

__version__ = _native.__version__
DEFAULT_ALLOCATOR = _native.DEFAULT_ALLOCATOR
DEFAULT_TOPOLOGY = _native.DEFAULT_TOPOLOGY

__all__ = [
    "BadInputError",
    "DoesNotFitError",
    "Net",
    "SnnPlaceError",
    "SnnPlaceWarning",
    "Topology",
    "advise",
    "allocators",
    "build_layers",
    "compare",
    "emulate",
    "generate",
    "import_nir",
    "import_keras",
    "place",
    "read_net",
    "refiners",
    "load_topology",
    "topologies",
]


def _is_text(s):
    """A str holding JSON text (an object), rather than a path."""
    return isinstance(s, str) and s.lstrip().startswith("{")


def read_net(source):
    """Read and check a network.

    ``source`` is a path (``str`` or ``os.PathLike``) to an ``snn-net/1`` file (JSON or gzip-compressed
    JSON), an ``snn-net/1`` dict, JSON text (a ``str`` starting with ``{``) or the file's ``bytes``. A
    :class:`Net` is returned as it is. Raises :class:`BadInputError` with the command line's message.
    """
    if isinstance(source, Net):
        return source
    if isinstance(source, dict):
        return _native.read_net_bytes(json.dumps(source).encode())
    if isinstance(source, (bytes, bytearray)):
        return _native.read_net_bytes(bytes(source))
    if _is_text(source):
        return _native.read_net_bytes(source.encode())
    if isinstance(source, (str, os.PathLike)):
        return _native.read_net_file(source)
    raise TypeError(f"a network is a path, a dict or a Net, not {type(source).__name__}")


def load_topology(spec=DEFAULT_TOPOLOGY):
    """A board: a preset name (see :func:`topologies`), a path to an ``snn-topology/1`` file, or an
    ``snn-topology/1`` dict. A :class:`Topology` is returned as it is."""
    if isinstance(spec, Topology):
        return spec
    if isinstance(spec, dict):
        return Topology.from_json(json.dumps(spec))
    if isinstance(spec, (str, os.PathLike)):
        return Topology.load(os.fspath(spec))
    raise TypeError(f"a topology is a preset, a path or a dict, not {type(spec).__name__}")


def _placement_topology(placement, topology):
    """``topology``, or when it is None the preset the placement names (else the default board)."""
    if topology is not None:
        return load_topology(topology)
    named = None
    if isinstance(placement, dict):
        named = placement.get("topology")
    elif isinstance(placement, (str, os.PathLike)) and not _is_text(placement):
        try:
            with open(placement, "rb") as f:
                named = json.load(f).get("topology")
        except (OSError, ValueError, AttributeError):
            pass  # the extension reads it again and says what is wrong
    presets = {name for name, _ in _native.preset_descriptions()}
    return load_topology(named if named in presets else DEFAULT_TOPOLOGY)


def _names(x):
    if x is None:
        return []
    if isinstance(x, str):
        return [s for s in x.split(",") if s]
    return [str(s) for s in x]


def place(
    net,
    topology=DEFAULT_TOPOLOGY,
    allocator=None,
    *,
    refine=(),
    chips=None,
    seed=0,
    objective="interchip",
    time_limit=None,
    window=_native.DEFAULT_WINDOW,
    solver="microlp",
    pack=False,
    spread=False,
    traffic=None,
    effort="default",
    emulate=False,
    steps=1000,
    precompute=False,
    steps_per_inference=None,
    out=None,
    progress=None,
):
    """Place ``net`` on ``topology``: ``snn-place [options] NET`` in Python.

    Parameters are the command line's options: ``allocator`` (default ``"portfolio"``;
    :func:`allocators` lists them; ``"auto"`` emulates every candidate and keeps the fastest), ``refine``
    (e.g. ``["fm"]``), ``chips`` (use chips ``0..chips``), ``seed``, ``objective``, ``time_limit``
    (seconds; the ILP gets 10 s by default), ``window``, ``solver``, ``pack``, ``spread`` (use every
    one of the usable chips, as nengo-loihi's ``PartitionInterchip``), ``traffic`` (``"unicast"`` or
    ``"multicast"``; ``None``: the topology's own, as the command line's default), ``effort``
    (``"default"`` or ``"full"``: how far ``portfolio`` refines nets above 32,000 blocks). With ``emulate=True`` the placement is also emulated
    (``steps``, ``precompute``, ``steps_per_inference``) and the report carries the ``emulation``
    object; ``progress(steps_done, steps_total)`` is then called as it runs. ``out`` writes the
    placement file as ``--out`` does.

    Returns ``(placement, report)``: the ``snn-placement/1`` and ``snn-report/1`` dicts. Raises
    :class:`DoesNotFitError` when the network does not fit, :class:`BadInputError` for bad options.
    """
    placement, report = _native.place(
        read_net(net),
        load_topology(topology),
        DEFAULT_ALLOCATOR if allocator is None else str(allocator),
        _names(refine),
        chips,
        seed,
        objective,
        time_limit,
        window,
        solver,
        pack,
        spread,
        traffic or "",
        effort,
        emulate,
        steps,
        precompute,
        steps_per_inference,
        None if out is None else os.fspath(out),
        progress,
    )
    return json.loads(placement), json.loads(report)


def emulate(
    net,
    placement,
    topology=None,
    *,
    steps=1000,
    seed=0,
    precompute=False,
    steps_per_inference=None,
    traffic=None,
    progress=None,
):
    """Emulate a placement for ``steps`` timesteps: ``snn-place emulate NET --placement P --json``.

    ``placement`` is an ``snn-placement/1`` dict (as :func:`place` returns) or a path to one;
    ``topology`` defaults to the board the placement names when that is a preset. Returns
    the ``snn-report/1`` dict with ``time_per_step_us``, ``energy_per_step_uj`` and the ``emulation``
    object. ``progress(steps_done, steps_total)`` is called as it runs.
    """
    report = _native.emulate(
        read_net(net),
        _placement_topology(placement, topology),
        _source(placement, "a placement"),
        steps,
        seed,
        precompute,
        steps_per_inference,
        traffic or "",
        progress,
    )
    return json.loads(report)


def compare(
    net,
    topology=DEFAULT_TOPOLOGY,
    allocators=None,
    *,
    chips=None,
    seed=0,
    time_limit=None,
    steps=1000,
    precompute=False,
    steps_per_inference=None,
    traffic=None,
    pack=False,
    effort="default",
    timing=True,
    html=False,
    progress=None,
):
    """Place with several allocators, emulate each placement and rank them: ``snn-place compare``.

    ``allocators`` is a list of candidates (an allocator, ``"metis+fm"``, ``"metis+pack"``) or
    ``"all"``; by default every allocator but the ILP, and ``metis+fm``. Returns the rows, fastest first,
    as ``--format json`` prints them (``snn-report/1`` dicts with ``rank``, ``best``,
    ``ratio_to_best``; a failed candidate's row has ``status`` and ``error``). ``timing=False`` leaves
    out the allocator seconds, as ``--no-timing``. With ``html=True`` returns ``(rows, html)``, the
    self-contained HTML report as a string. ``progress(candidate, done, total)`` is called as each
    candidate finishes (from worker threads). ``effort`` is the ``portfolio`` rows' (as ``place``'s).
    """
    rows, page = _native.compare(
        read_net(net),
        load_topology(topology),
        _names(allocators),
        chips,
        seed,
        time_limit,
        steps,
        precompute,
        steps_per_inference,
        traffic or "",
        pack,
        effort,
        timing,
        html,
        progress,
    )
    rows = json.loads(rows)
    return (rows, page) if html else rows


def advise(
    net,
    placement=None,
    topology=None,
    allocator=None,
    *,
    seed=0,
    steps=1000,
    precompute=False,
    steps_per_inference=None,
    traffic=None,
):
    """What to change to shorten the timestep: ``snn-place advise NET [--placement P] --json``.

    Emulates ``net`` as placed (``placement``: a dict or a path; without it, placed with
    ``allocator``) and with each remedy applied; returns the ``snn-advice/1`` dict, remedies ranked by
    the time per step they save. ``topology`` defaults to the board the placement names when that is a
    preset, else Nahuku32.
    """
    advice = _native.advise(
        read_net(net),
        _placement_topology(placement, topology),
        None if placement is None else _source(placement, "a placement"),
        DEFAULT_ALLOCATOR if allocator is None else str(allocator),
        seed,
        steps,
        precompute,
        steps_per_inference,
        traffic or "",
    )
    return json.loads(advice)


def _source(source, what):
    """An input for the extension: its bytes (from a dict or JSON text), or its path."""
    if isinstance(source, dict):
        return json.dumps(source).encode()
    if isinstance(source, (bytes, bytearray)):
        return bytes(source)
    if _is_text(source):
        return source.encode()
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    raise TypeError(f"{what} is a path, a dict or JSON text, not {type(source).__name__}")


def build_layers(layers, topology=DEFAULT_TOPOLOGY, *, axons="population"):
    """A network from an ``snn-layers/1`` layer description (a path, a dict or JSON text), every layer
    split into blocks that fit one core of ``topology``: ``snn-place build``. ``axons`` is how a block's
    axons and synapse memory are counted: ``"population"`` (nengo-loihi 1.1's) or ``"discrete"``.
    Returns a :class:`Net`."""
    layers = _source(layers, "a layer description")
    return _native.build_layers(layers, load_topology(topology), axons)


def import_keras(
    model,
    topology=DEFAULT_TOPOLOGY,
    *,
    rate=_native.DEFAULT_RATE,
    input_rate=_native.DEFAULT_RATE,
    axons="population",
):
    """A Keras 3 model as a network: ``snn-place import keras``. ``model`` is ``model.to_json()``'s
    text, its dict, or a path to the file. ``rate`` and ``input_rate`` are the mean spikes per neuron
    and per input value per timestep; ``axons`` as for :func:`build_layers`. Approximations are
    reported as :class:`SnnPlaceWarning`.
    Returns a :class:`Net`."""
    model = _source(model, "a Keras model")
    net, notes, source = _native.import_keras(model, load_topology(topology), rate, input_rate, axons)
    for note in notes:
        warnings.warn(f"{source + ': ' if source else ''}{note}", SnnPlaceWarning, stacklevel=2)
    return net


def import_nir(path, topology=DEFAULT_TOPOLOGY, *, rate=_native.DEFAULT_RATE, input_rate=_native.DEFAULT_RATE):
    """A NIR file (the Neuromorphic Intermediate Representation that snnTorch, Norse, Sinabs, Rockpool,
    Spyx and lava-dl export) as a network: ``snn-place import nir``. ``path`` is the HDF5 file's path;
    each population is split into blocks that fit one core of ``topology``; ``rate`` and ``input_rate``
    as for :func:`import_keras`. Returns ``(net, populations)``, ``populations`` a list of dicts with
    ``node``, ``kind``, ``neurons``, ``blocks`` and ``synapses``."""
    net, pops = _native.import_nir(os.fspath(path), load_topology(topology), rate, input_rate)
    keys = ("node", "kind", "neurons", "blocks", "synapses")
    return net, [dict(zip(keys, p)) for p in pops]


def generate(kind, blocks, seed=0):
    """A seeded generated network: ``snn-place gen layered|random --blocks N --seed S``."""
    return _native.generate(str(kind), int(blocks), int(seed))


def topologies():
    """The board presets as ``snn-topology/1`` dicts (``snn-place topologies --json``), each with its
    ``description``."""
    presets = json.loads(_native.topologies_json())
    for t, (_, description) in zip(presets, _native.preset_descriptions()):
        t["description"] = description
    return presets


def allocators():
    """The allocators: ``[{"name", "description", "default"}]``, as ``snn-place allocators`` lists
    them."""
    return [
        {"name": n, "description": d, "default": n == DEFAULT_ALLOCATOR}
        for n, d in _native.allocator_list()
    ]


def refiners():
    """The refiners ``refine=`` takes: ``[{"name", "description"}]``."""
    return [{"name": n, "description": d} for n, d in _native.refiner_list()]
