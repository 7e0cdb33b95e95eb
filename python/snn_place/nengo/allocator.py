"""``SnnPlace``: a nengo-loihi allocator that places a built model with snn-place's Rust core."""

import warnings

from nengo_loihi.hardware.allocators import (
    Allocator,
    core_compartment_cfgs,
    core_stdp_pre_cfgs,
    core_vth_cfgs,
)
from nengo_loihi.hardware.nxsdk_objects import Board

import snn_place
from snn_place.errors import BadInputError, DoesNotFitError, SnnPlaceError

from .export import block_ids, block_rates_from_ensemble_rates, export_model


class BinaryNotFoundError(SnnPlaceError, FileNotFoundError):
    """Kept so that code catching it still imports: snn-place no longer runs a binary, so nothing raises
    it."""


# The command-line options `extra_args` may give, as keyword arguments of `snn_place.place`: the name and
# how to read the value (None: a flag without a value).
_ARGS = {
    "--refine": ("refine", str),
    "--objective": ("objective", str),
    "--time-limit": ("time_limit", float),
    "--window": ("window", int),
    "--solver": ("solver", str),
    "--traffic": ("traffic", str),
    "--pack": ("pack", None),
    "--spread": ("spread", None),
    "--effort": ("effort", str),
}


def options_from_args(args):
    """``snn_place.place`` keyword arguments from command-line arguments, e.g. ``("--refine", "fm")``
    gives ``{"refine": ["fm"]}``, for code written for the binary's ``extra_args``."""
    opts, i, args = {}, 0, [str(a) for a in args]
    while i < len(args):
        flag, value = args[i], None
        if "=" in flag:
            flag, value = flag.split("=", 1)
        if flag not in _ARGS:
            known = ", ".join(sorted(_ARGS))
            raise BadInputError(f"extra_args: {flag!r} is not an option SnnPlace passes on ({known})")
        name, kind = _ARGS[flag]
        if kind is None:
            opts[name] = True
            i += 1
            continue
        if value is None:
            if i + 1 >= len(args):
                raise BadInputError(f"extra_args: {flag} needs a value")
            value, i = args[i + 1], i + 2
        else:
            i += 1
        if name == "refine":
            opts.setdefault("refine", []).extend(v for v in value.split(",") if v)
        else:
            try:
                opts[name] = kind(value)
            except ValueError:
                raise BadInputError(f"extra_args: {flag} {value!r} is not a {kind.__name__}") from None
    return opts


class SnnPlace(Allocator):
    """Place a nengo-loihi model with ``snn-place``.

    Use it where nengo-loihi takes an allocator::

        nengo_loihi.Simulator(net, hardware_options={"allocator": SnnPlace("metis")})

    Parameters
    ----------
    allocator : str
        The allocator (``snn_place.allocators()`` lists them).
    topology : str or dict
        A preset, an snn-topology/1 file or dict; ``n_chips`` takes its first chips.
    binary : str, optional
        Ignored: kept so that code written for the binary keeps working.
    seed : int
        The allocator's seed.
    extra_args : sequence of str
        More options in the command line's spelling, e.g. ``("--refine", "fm")`` (``--refine``,
        ``--objective``, ``--time-limit``, ``--window``, ``--solver``, ``--traffic``, ``--pack``,
        ``--spread``, ``--effort``).
    ensemble_rates : dict, optional
        ``{nengo.Ensemble: rates in Hz}``, as for ``GreedyInterchip``; without it every axon
        counts as active, as in nengo-loihi's own estimate.
    block_rates : dict, optional
        ``{LoihiBlock or LoihiInput: spikes per timestep}`` (measured rates); overrides
        ``ensemble_rates`` for the blocks it names.
    chips : "fewest" or "all"
        "fewest" (default): ``n_chips`` is a ceiling, as for ``Greedy`` and ``GreedyInterchip``;
        the model goes on the fewest chips that fit. "all": spread over all ``n_chips`` chips
        (``snn_place.place(chips=n_chips, spread=True)``), as ``PartitionInterchip`` does.
    pack : bool
        snn-place's ``--pack``: several blocks may share a core (their compartments, axons and
        synapse memory summed within one core's limits, at most 16 blocks); the board's cores then
        hold several blocks each, with the compartment, threshold and synapse configurations of
        all of them. Not with ``greedy`` and ``round-robin``.
    **options
        More keyword arguments of ``snn_place.place``, e.g. ``refine=["fm"]``, ``time_limit=30``.

    After a call, ``last_report`` holds snn-place's snn-report/1 and ``last_placement`` its
    snn-placement/1; the board gets them as ``board.snn_place_report`` and
    ``board.snn_place_placement``.
    """

    def __init__(
        self,
        allocator="portfolio",
        topology="nahuku32",
        binary=None,
        seed=0,
        extra_args=(),
        ensemble_rates=None,
        block_rates=None,
        chips="fewest",
        pack=False,
        **options,
    ):
        if chips not in ("fewest", "all"):
            raise ValueError(f"chips must be 'fewest' or 'all', not {chips!r}")
        self.chips = chips
        self.pack = bool(pack)
        super().__init__()
        self.allocator = str(allocator)
        self.topology = topology if isinstance(topology, dict) else str(topology)
        if binary is not None:
            warnings.warn(
                "SnnPlace(binary=...) is ignored: snn-place now runs in-process", DeprecationWarning, 2
            )
        self.binary = binary
        self.seed = int(seed)
        self.extra_args = tuple(str(a) for a in extra_args)
        self.options = {**options_from_args(self.extra_args), **options}
        # What SnnPlace decides itself: packing and spreading are its own parameters (`--spread` is
        # chips="all"); it makes a board, not a placement file or an emulation.
        self.pack = self.pack or bool(self.options.pop("pack", False))
        if self.options.pop("spread", False):
            self.chips = "all"
        fixed = sorted({"out", "emulate"} & set(self.options))
        if fixed:
            raise TypeError(f"SnnPlace does not take {', '.join(fixed)}: it builds a board")
        self.ensemble_rates = ensemble_rates
        self.block_rates = block_rates
        self.last_report = None
        self.last_placement = None

    def __repr__(self):
        pack = ", pack=True" if self.pack else ""
        return f"SnnPlace({self.allocator!r}, topology={self.topology!r}, seed={self.seed}{pack})"

    def _rates(self, model):
        rates = None
        if self.ensemble_rates is not None:
            rates = block_rates_from_ensemble_rates(model, self.ensemble_rates)
        if self.block_rates is not None:
            rates = dict(rates or {})
            rates.update(self.block_rates)
        return rates

    def blocks_to_new_core(self, blocks, chip):
        """Put several blocks on one new core of ``chip`` (a packed core).

        As nengo-loihi's ``block_to_new_core`` does for one block: the core's compartment and
        threshold configurations are computed over all its blocks (identical ones shared), then
        every block's synapses and the STDP configurations are added.
        """
        n = sum(block.compartment.n_compartments for block in blocks)
        if n > 1024:
            raise SnnPlaceError(f"a packed core would hold {n} compartments (limit 1024)")
        core = chip.new_core()
        for block in blocks:
            core.add_block(block)
        cfgs, idxs = core_compartment_cfgs(core)
        for cfg in cfgs:
            core.add_compartment_cfg(cfg)
        core.compartment_cfg_idxs = idxs
        cfgs, idxs = core_vth_cfgs(core)
        for cfg in cfgs:
            core.add_vth_cfg(cfg)
        core.vth_cfg_idxs = idxs
        for block in blocks:
            for synapse in block.synapses:
                core.add_synapse(synapse)
        cfgs, idxs = core_stdp_pre_cfgs(core)
        for cfg in cfgs:
            core.add_stdp_pre_cfg(cfg)
        core.stdp_pre_cfg_idxs = idxs
        core.stdp_pre_cfg_idx = None  # set by nengo-loihi's hardware builder
        core.stdp_cfg_idx = None
        return core

    def place(self, model, n_chips):
        """Place the model with snn-place; return the snn-placement/1 dict."""
        if len(model.blocks) == 0:
            raise SnnPlaceError(
                "the model has no on-chip blocks to place (mark some ensembles as on-chip)"
            )
        net = snn_place.read_net(export_model(model, rates=self._rates(model)))
        topology = snn_place.load_topology(self.topology)
        n_chips = int(n_chips)

        def run(chips, spread=False):
            try:
                return snn_place.place(
                    net,
                    topology,
                    self.allocator,
                    chips=chips,
                    seed=self.seed,
                    pack=self.pack,
                    spread=spread,
                    **self.options,
                )
            except DoesNotFitError as e:
                raise DoesNotFitError(
                    f"the model ({len(model.blocks)} on-chip blocks) does not fit {n_chips} "
                    f"chip(s) of {topology.name}: snn-place says: {e}"
                ) from None

        if self.chips == "all":
            # every one of the n_chips chips, as nengo-loihi's PartitionInterchip does
            # (greedy and round-robin fix the chip order themselves and take no spread)
            fixed_order = self.allocator in ("greedy", "round-robin")
            placement, report = run(n_chips, spread=not fixed_order)
        else:
            # n_chips is a ceiling, as for nengo-loihi's Greedy and GreedyInterchip: place on the
            # fewest chips that fit (chips=N is a ceiling too)
            try:
                placement, report = run(None)
            except DoesNotFitError as whole_topology:
                try:
                    run(n_chips)  # raises DoesNotFitError with snn-place's message for n_chips
                except DoesNotFitError:
                    raise
                except SnnPlaceError:  # e.g. n_chips is more than the topology has
                    raise whole_topology from None
                raise
            used = sorted({e["chip"] for e in placement["placement"] if not e.get("host", False)})
            if len(used) > n_chips:
                run(n_chips)  # raises DoesNotFitError with snn-place's message
                raise DoesNotFitError(
                    f"the model needs {len(used)} chips, more than n_chips={n_chips}"
                )
            if used and used[-1] >= n_chips:
                # keep the chip ids within 0..n_chips: place on exactly that many chips
                placement, report = run(len(used))
        self.last_report = report
        self.last_placement = placement
        return placement

    def __call__(self, model, n_chips):
        placement = self.place(model, n_chips)
        bids, _, _ = block_ids(model)
        where = {}
        for entry in placement["placement"]:
            if not entry.get("host", False):
                where[entry["block"]] = (int(entry["chip"]), int(entry["core"]))
        missing = [b for b in bids if b not in where]
        if missing:
            raise SnnPlaceError(f"snn-place's placement misses blocks: {missing[:5]}")

        # Build the board as nengo-loihi's Greedy does: inputs, one new core per block (in
        # snn-place's chip and core order), probes. nengo-loihi numbers chips and cores densely
        # in creation order, so snn-place's chip ids and core ids keep their order but not
        # their gaps; `board.snn_place_chip_ids[k]` is the snn-place chip id of board chip k.
        board = Board()
        for inp in model.inputs:
            self.input_to_board(inp, board)
        by_chip = {}
        for i, block in enumerate(model.blocks):
            chip_id, core_id = where[bids[i]]
            by_chip.setdefault(chip_id, []).append((core_id, i, block))
        chip_ids = sorted(by_chip)
        for chip_id in chip_ids:
            chip = board.new_chip()
            cores = sorted(by_chip[chip_id], key=lambda c: (c[0], c[1]))
            if not self.pack and len({c[0] for c in cores}) != len(cores):
                raise SnnPlaceError(f"snn-place put two blocks on one core of chip {chip_id}")
            for core_id in sorted({c[0] for c in cores}):
                blocks = [block for c, _, block in cores if c == core_id]
                if len(blocks) == 1:
                    self.block_to_new_core(blocks[0], chip)
                else:
                    self.blocks_to_new_core(blocks, chip)
        board.probes.extend(model.probes)
        board.snn_place_chip_ids = chip_ids
        board.snn_place_report = self.last_report
        board.snn_place_placement = placement
        return board
