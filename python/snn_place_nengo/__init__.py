"""A nengo-loihi allocator backed by snn-place: ``allocator=SnnPlace("metis")``."""

from .allocator import (
    BinaryNotFoundError,
    DoesNotFitError,
    SnnPlace,
    SnnPlaceError,
    find_binary,
)
from .export import block_ids, block_rates_from_ensemble_rates, export_model

__all__ = [
    "BinaryNotFoundError",
    "DoesNotFitError",
    "SnnPlace",
    "SnnPlaceError",
    "block_ids",
    "block_rates_from_ensemble_rates",
    "export_model",
    "find_binary",
]
__version__ = "0.1.0"
