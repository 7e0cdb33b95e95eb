"""The exceptions of ``snn_place``: one base class, with the command line's kinds of failure.

Every exception carries the message ``snn-place`` prints after ``snn-place: error:`` and the exit code it
would exit with (``exit_code``).
"""


class SnnPlaceError(RuntimeError):
    """snn-place could not do what was asked (exit code 1: an output not written, or a bug)."""

    exit_code = 1


class BadInputError(SnnPlaceError, ValueError):
    """Bad input or options: a malformed file, an unknown name, a block too big for any core (exit
    code 2)."""

    exit_code = 2


class DoesNotFitError(SnnPlaceError):
    """The network does not fit the topology, or the chips it may use (exit code 3)."""

    exit_code = 3


class SnnPlaceWarning(UserWarning):
    """A note on an approximation, e.g. an import's MaxPooling2D placed as average pooling."""
