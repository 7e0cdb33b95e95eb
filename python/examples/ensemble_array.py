"""Exports a nengo ensemble-array model, as nengo-loihi builds it, to an snn-net/1 file.

Two arrays of N ensembles (100 neurons each) in a chain, fed from a host node, each ensemble of the
second array also fed by its neighbour, and a probe on every second ensemble of the second array.
nengo-loihi makes one block per ensemble, decode blocks of 20 compartments for the decoded
connections, and small on-chip blocks for the probes: many small blocks, the case core packing is for.

    python python/examples/ensemble_array.py 128 fixtures/nengo/ensemble-array-128.net.json.gz

(needs nengo 4.1.0, nengo-loihi 1.1.0 and this repository's python/ package installed).
"""
import gzip
import json
import sys
import warnings

import nengo
import nengo_loihi
import numpy as np

from snn_place.nengo import export_model


def ensemble_array(n_ens, n_neurons=100):
    with nengo.Network(seed=0) as net:
        u = nengo.Node(np.linspace(-0.5, 0.5, n_ens))
        a = nengo.networks.EnsembleArray(n_neurons, n_ens)
        b = nengo.networks.EnsembleArray(n_neurons, n_ens)
        nengo.Connection(u, a.input)
        nengo.Connection(a.output, b.input, transform=0.8)
        nengo.Connection(a.output[:-1], b.input[1:], transform=0.3)
        for i in range(0, n_ens, 2):
            nengo.Probe(b.ea_ensembles[i], synapse=0.01)
    return net


def export_to(network, name, out):
    """Builds `network` with nengo-loihi and writes it as snn-net/1 to `out` (gzip when it ends in .gz)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = nengo_loihi.Simulator(network, target="sim", progress_bar=False).model
    net = export_model(model, name=name)
    text = json.dumps(net, sort_keys=True).encode()
    if out.endswith(".gz"):
        # mtime=0: the same model gives the same bytes
        with open(out, "wb") as f, gzip.GzipFile(fileobj=f, mode="wb", mtime=0) as z:
            z.write(text)
    else:
        with open(out, "wb") as f:
            f.write(text)


def main():
    n_ens, out = int(sys.argv[1]), sys.argv[2]
    export_to(ensemble_array(n_ens), f"ensemble-array-{n_ens}", out)


if __name__ == "__main__":
    main()
