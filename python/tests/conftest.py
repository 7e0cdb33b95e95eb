import os
import subprocess
import sys
import warnings

import pytest

sys.path.insert(0, os.path.dirname(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def fixture(*parts):
    return os.path.join(REPO, "fixtures", *parts)


@pytest.fixture(scope="session")
def cli_binary():
    """The command-line binary, only to compare the package's results with (the package itself never
    runs it): $SNN_PLACE_CLI, else the repository's release build."""
    path = os.environ.get("SNN_PLACE_CLI") or os.path.join(REPO, "target", "release", "snn-place")
    assert os.access(path, os.X_OK), f"no snn-place binary at {path}: run `cargo build --release`"
    return path


@pytest.fixture(scope="session")
def cli(cli_binary):
    """Runs `snn-place ARGS`: (exit code, stdout, stderr)."""

    def run(*args):
        proc = subprocess.run([cli_binary, *map(str, args)], capture_output=True, text=True)
        return proc.returncode, proc.stdout, proc.stderr

    return run


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
