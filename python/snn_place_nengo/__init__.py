"""A nengo-loihi allocator backed by snn-place: ``allocator=SnnPlace("metis")``."""

from .allocator import (
    BinaryNotFoundError,
    DoesNotFitError,
    SnnPlace,
    SnnPlaceError,
    find_binary,
)
from .advise import advise
from .export import block_ids, block_rates_from_ensemble_rates, export_model, host_loop_paths

__all__ = [
    "BinaryNotFoundError",
    "advise",
    "DoesNotFitError",
    "SnnPlace",
    "SnnPlaceError",
    "block_ids",
    "block_rates_from_ensemble_rates",
    "export_model",
    "find_binary",
    "host_loop_paths",
]
__version__ = "0.1.0"
