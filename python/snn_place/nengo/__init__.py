"""snn-place for nengo-loihi users: an allocator, ``allocator=SnnPlace("metis")``, the model export
(``export_model(sim.model)`` gives an ``snn-net/1`` dict) and ``advise(sim.model)``.

Needs nengo-loihi: ``pip install "./python[nengo]"``. Placement runs in this process, in snn-place's Rust
core; no binary is needed.
"""

try:
    import nengo_loihi  # noqa: F401
except ImportError as e:
    raise ImportError(
        'snn_place.nengo needs nengo-loihi: pip install "./python[nengo]" (the core, snn_place, does not)'
    ) from e

from snn_place.errors import BadInputError, DoesNotFitError, SnnPlaceError

from .advise import advise
from .allocator import BinaryNotFoundError, SnnPlace, options_from_args
from .export import block_ids, block_rates_from_ensemble_rates, export_model, host_loop_paths

__all__ = [
    "BadInputError",
    "BinaryNotFoundError",
    "DoesNotFitError",
    "SnnPlace",
    "SnnPlaceError",
    "advise",
    "block_ids",
    "block_rates_from_ensemble_rates",
    "export_model",
    "host_loop_paths",
    "options_from_args",
]
