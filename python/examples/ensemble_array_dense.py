"""Exports a nengo model that fills Loihi chips exactly, as nengo-loihi builds it, to an snn-net/1 file.

Three EnsembleArrays of N ensembles (100 neurons each) in a chain, fed from a host node, joined by
dense N x N transforms, and a probe on every ensemble of the last array. nengo-loihi makes one block
per ensemble and one decode block per (source ensemble, destination ensemble) pair of each dense
connection: 3 N + 2 N^2 + N blocks on chip. N = 32 gives 2,176 = 17 x 128: every core of 17 chips,
zero slack, where no block can move without another moving back. Each ensemble sends 100 spikes per
step to each of its N decode blocks, which send 2 to their destination: clusters of N + 1 blocks that
do not divide evenly into chips of 128 cores.

    python python/examples/ensemble_array_dense.py 32 fixtures/nengo/ensemble-array-dense-32.net.json.gz

(needs nengo 4.1.0, nengo-loihi 1.1.0 and this repository's python/ package installed).
"""
import sys

import nengo
import numpy as np

from ensemble_array import export_to  # this folder's script: builds with nengo-loihi, writes the file


def dense_arrays(n_ens, n_neurons=100):
    rng = np.random.RandomState(0)
    with nengo.Network(seed=0) as net:
        u = nengo.Node(np.linspace(-0.5, 0.5, n_ens))
        arrays = [nengo.networks.EnsembleArray(n_neurons, n_ens) for _ in range(3)]
        nengo.Connection(u, arrays[0].input)
        for a, b in zip(arrays, arrays[1:]):
            # no weight near zero: nengo-loihi finds no weight exponent for one
            signs = rng.choice([-1, 1], (n_ens, n_ens))
            nengo.Connection(
                a.output, b.input, transform=signs * rng.uniform(0.1, 0.3, (n_ens, n_ens))
            )
        for ens in arrays[-1].ea_ensembles:
            nengo.Probe(ens, synapse=0.01)
    return net


def main():
    n_ens, out = int(sys.argv[1]), sys.argv[2]
    export_to(dense_arrays(n_ens), f"ensemble-array-dense-{n_ens}", out)


if __name__ == "__main__":
    main()
