"""The former name of :mod:`snn_place.nengo`, kept so that existing code keeps working:
``from snn_place_nengo import SnnPlace`` is ``from snn_place.nengo import SnnPlace``, and the
submodules (``snn_place_nengo.export``, ``.allocator``, ``.advise``) are snn_place.nengo's."""

import sys

from snn_place import __version__
from snn_place.nengo import *  # noqa: F401,F403
from snn_place.nengo import __all__, allocator, export  # noqa: F401

# `import snn_place_nengo.export` finds the same module objects as `import snn_place.nengo.export`.
for _name in ("advise", "allocator", "export"):
    sys.modules[f"{__name__}.{_name}"] = sys.modules[f"snn_place.nengo.{_name}"]
del _name
