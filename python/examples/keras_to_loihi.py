"""Build nengo-loihi's keras-to-loihi tutorial network with nengo-loihi 1.1 and export it.

The tutorial (nengo-loihi ``docs/examples/keras-to-loihi.ipynb``) converts a Keras model with NengoDL's
``Converter``; the converted network is plain nengo with ``Convolution`` and ``Dense`` transforms between
ensembles' neurons, which is what this script builds directly (NengoDL is not needed to build or place
it): a 28x28x1 input node; ``to-spikes``, a 1x1 convolution with 3 filters, run off-chip as the tutorial
sets it (``on_chip = False``); ``conv0`` (32 filters, 3x3, stride 2) and ``conv1`` (64 filters, 3x3,
stride 2) with the tutorial's block shapes (16, 16, 4) and (8, 8, 16); ``dense0`` (100 neurons, block
shape (50,)); and ``dense1``, the 10-unit linear output, a node on the host. 14 cores, as nengo-loihi
builds it. Every ensemble fires at ``--rate-hz`` (default 100 Hz, 0.1 spikes per step).

    python keras_to_loihi.py fixtures/nengo/keras-to-loihi.net.json
"""

import argparse
import json

import nengo
import nengo_loihi
import numpy as np

from snn_place.nengo import block_rates_from_ensemble_rates, export_model


def build_network():
    neuron = nengo_loihi.neurons.LoihiSpikingRectifiedLinear()
    with nengo.Network(seed=0) as net:
        nengo_loihi.add_params(net)
        inp = nengo.Node(np.zeros(28 * 28), label="input")

        def layer(n, label):
            return nengo.Ensemble(
                n, 1, neuron_type=neuron, gain=nengo.dists.Choice([1.0]),
                bias=nengo.dists.Choice([0.0]), label=label,
            )

        to_spikes = layer(28 * 28 * 3, "to-spikes")
        conv0 = layer(13 * 13 * 32, "conv0")
        conv1 = layer(6 * 6 * 64, "conv1")
        dense0 = layer(100, "dense0")
        dense1 = nengo.Node(size_in=10, label="dense1")

        nengo.Connection(
            inp, to_spikes.neurons, synapse=None,
            transform=nengo.Convolution(3, (28, 28, 1), kernel_size=(1, 1)),
        )
        nengo.Connection(
            to_spikes.neurons, conv0.neurons, synapse=0.005,
            transform=nengo.Convolution(32, (28, 28, 3), kernel_size=(3, 3), strides=(2, 2)),
        )
        nengo.Connection(
            conv0.neurons, conv1.neurons, synapse=0.005,
            transform=nengo.Convolution(64, (13, 13, 32), kernel_size=(3, 3), strides=(2, 2)),
        )
        nengo.Connection(
            conv1.neurons, dense0.neurons, synapse=0.005,
            transform=nengo.Dense((100, 6 * 6 * 64), init=nengo.dists.Uniform(-0.01, 0.01)),
        )
        nengo.Connection(
            dense0.neurons, dense1, synapse=0.005,
            transform=nengo.Dense((10, 100), init=nengo.dists.Uniform(-0.1, 0.1)),
        )
        nengo.Probe(dense1)

        net.config[to_spikes].on_chip = False
        net.config[conv0].block_shape = nengo_loihi.BlockShape((16, 16, 4), (13, 13, 32))
        net.config[conv1].block_shape = nengo_loihi.BlockShape((8, 8, 16), (6, 6, 64))
        net.config[dense0].block_shape = nengo_loihi.BlockShape((50,), (100,))
    return net, [to_spikes, conv0, conv1, dense0]


def export(rate_hz=100.0):
    """The tutorial network built by nengo-loihi and exported as an snn-net/1 dict."""
    net, ensembles = build_network()
    with nengo_loihi.Simulator(net, target="sim", progress_bar=False) as sim:
        rates = block_rates_from_ensemble_rates(
            sim.model, {e: np.full(e.n_neurons, rate_hz) for e in ensembles}
        )
        # The host-side input (the off-chip to-spikes layer's spikes) fires at the same rate.
        for inp in sim.model.inputs:
            rates.setdefault(inp, rate_hz * sim.model.dt)
        return export_model(sim.model, rates=rates, name="keras-to-loihi"), sim


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="where to write the snn-net/1 file")
    parser.add_argument("--rate-hz", type=float, default=100.0)
    args = parser.parse_args()
    data, sim = export(args.rate_hz)
    with open(args.out, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write("\n")
    on_chip = len(sim.model.blocks)
    print(f"{args.out}: {on_chip} on-chip blocks, {len(data['blocks'])} blocks, {len(data['edges'])} edges")


if __name__ == "__main__":
    main()
