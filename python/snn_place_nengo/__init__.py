"""The former name of :mod:`snn_place.nengo`, kept so that existing code keeps working:
``from snn_place_nengo import SnnPlace`` is ``from snn_place.nengo import SnnPlace``."""

from snn_place import __version__
from snn_place.nengo import *  # noqa: F401,F403
from snn_place.nengo import __all__
