import os
import sys
import warnings

import pytest

sys.path.insert(0, os.path.dirname(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="session", autouse=True)
def snn_place_binary():
    """$SNN_PLACE, else the repository's release binary."""
    if not os.environ.get("SNN_PLACE"):
        os.environ["SNN_PLACE"] = os.path.join(REPO, "target", "release", "snn-place")
    assert os.access(os.environ["SNN_PLACE"], os.X_OK), (
        f"no snn-place binary at {os.environ['SNN_PLACE']}: run `cargo build --release`"
    )
    return os.environ["SNN_PLACE"]


def _build(net):
    import nengo_loihi

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return nengo_loihi.Simulator(net, target="sim", progress_bar=False).model


@pytest.fixture(scope="session")
def ea_model():
    from nets import ea_net

    return _build(ea_net())


@pytest.fixture(scope="session")
def conv_model():
    from nets import conv_net

    return _build(conv_net())


@pytest.fixture(scope="session")
def loop_model():
    from nets import loop_net

    return _build(loop_net())
