"""nengo-loihi 1.1's own resource counts for the two networks snn-place's layer front end is checked
against (crates/frontend/tests and fixtures/nengo/reference-counts.json):

- ``tutorial``: the network of nengo-loihi's "Converting a Keras model to an SNN on Loihi" example
  (input 28x28x1, an off-chip 1x1 conv "to-spikes" with 3 filters, conv0 3x3/2 32 filters with block
  shape (16, 16, 4), conv1 3x3/2 64 filters with (8, 8, 16), dense0 100 units with (50,), dense1 10
  units, linear, read on the host), built as the example builds it, with ``nengo.Convolution``
  transforms (channels_last) and nengo-loihi ``BlockShape``s, without nengo_dl;
- ``resnet``: a 'same'-padded ResNet: input 28x28x3 (host), stem 3x3 32 filters, res1a 3x3 32,
  res1b = relu(conv3x3(res1a) + stem), res2a 3x3/2 64 filters, res2b = relu(conv3x3(res2a) +
  conv1x1/2(res1b)), every layer in blocks of (7, 7, 8) (32 channels) or (7, 7, 4) (64 channels: (7, 7, 8) exceeds the synapse memory of res2b), and
  the output layer probed.

Each on-chip layer's blocks are summed: blocks, compartments, input axons, output axon slots and synapse
bits exactly as ``nengo_loihi.builder.validate.validate_block`` counts them (through
``snn_place.nengo.export_model``). Prints one JSON object {network: {layer: {...}}}.

    target/nengo-venv/bin/python python/examples/reference_counts.py > fixtures/nengo/reference-counts.json
"""
import json
import sys
import warnings

import nengo
import nengo_loihi
import numpy as np

from snn_place.nengo import export_model


def ens(net, n, label, block=None, shape=None, on_chip=True):
    e = nengo.Ensemble(
        n,
        1,
        label=label,
        neuron_type=nengo.SpikingRectifiedLinear(),
        max_rates=nengo.dists.Choice([100]),
        intercepts=nengo.dists.Choice([0]),
    )
    if not on_chip:
        net.config[e].on_chip = False
    if block is not None:
        net.config[e].block_shape = nengo_loihi.BlockShape(block, shape)
    return e


def conv(pre, pre_shape, filters, k, s, padding):
    t = nengo.Convolution(
        filters,
        pre_shape,
        strides=(s, s),
        padding=padding,
        kernel_size=(k, k),
        channels_last=True,
        init=nengo.dists.Uniform(-0.5, 0.5),
    )
    return t, t.output_shape.shape


TUTORIAL_SHAPES = {"conv0": (16, 16, 4), "conv1": (8, 8, 16), "dense0": (50,)}


def tutorial(shapes=TUTORIAL_SHAPES):
    """The Keras example's network; ``shapes``: block shape per on-chip layer."""
    rng = np.random.RandomState(0)
    with nengo.Network(seed=0) as net:
        nengo_loihi.add_params(net)
        inp = nengo.Node(rng.rand(28 * 28))
        t, shape = conv(None, (28, 28, 1), 3, 1, 1, "valid")
        spikes = ens(net, int(np.prod(shape)), "to-spikes", on_chip=False)
        nengo.Connection(inp, spikes.neurons, transform=t)
        t0, s0 = conv(None, shape, 32, 3, 2, "valid")
        conv0 = ens(net, int(np.prod(s0)), "conv0", shapes["conv0"], s0)
        nengo.Connection(spikes.neurons, conv0.neurons, transform=t0)
        t1, s1 = conv(None, s0, 64, 3, 2, "valid")
        conv1 = ens(net, int(np.prod(s1)), "conv1", shapes["conv1"], s1)
        nengo.Connection(conv0.neurons, conv1.neurons, transform=t1)
        dense0 = ens(net, 100, "dense0", shapes["dense0"], (100,))
        nengo.Connection(
            conv1.neurons, dense0.neurons, transform=rng.uniform(-0.1, 0.1, (100, conv1.n_neurons))
        )
        dense1 = nengo.Node(size_in=10, label="dense1")
        nengo.Connection(dense0.neurons, dense1, transform=rng.uniform(-0.1, 0.1, (10, 100)))
        nengo.Probe(dense1)
    return net


RESNET_SHAPES = {
    "stem": (7, 7, 8),
    "res1a": (7, 7, 8),
    "res1b": (7, 7, 8),
    "res2a": (7, 7, 4),
    "res2b": (7, 7, 4),
}


def resnet(shapes=RESNET_SHAPES):
    """The 'same'-padded ResNet; ``shapes``: block shape per on-chip layer."""
    rng = np.random.RandomState(0)
    with nengo.Network(seed=0) as net:
        nengo_loihi.add_params(net)
        inp = nengo.Node(rng.rand(28 * 28 * 3))
        x = ens(net, 28 * 28 * 3, "input", on_chip=False)
        nengo.Connection(inp, x.neurons)

        def layer(label, sources, filters):
            """sources: (pre ensemble, pre shape, kernel, stride) per incoming connection."""
            shape = None
            ts = []
            for pre, pre_shape, k, s in sources:
                t, shape = conv(None, pre_shape, filters, k, s, "same")
                ts.append((pre, t))
            e = ens(net, int(np.prod(shape)), label, shapes[label], shape)
            for pre, t in ts:
                nengo.Connection(pre.neurons, e.neurons, transform=t)
            return e, shape

        stem, s = layer("stem", [(x, (28, 28, 3), 3, 1)], 32)
        res1a, _ = layer("res1a", [(stem, s, 3, 1)], 32)
        res1b, _ = layer("res1b", [(res1a, s, 3, 1), (stem, s, 1, 1)], 32)
        res2a, s2 = layer("res2a", [(res1b, s, 3, 2)], 64)
        res2b, _ = layer("res2b", [(res2a, s2, 3, 1), (res1b, s, 1, 2)], 64)
        nengo.Probe(res2b.neurons)
    return net


def counts(net):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with nengo_loihi.Simulator(net, target="sim", progress_bar=False) as sim:
            exported = export_model(sim.model)
    layers = {}
    for b in exported["blocks"]:
        if b.get("host"):
            continue
        # a split block's label is "<Ensemble 'conv0'>[0:676:1]"
        name = b.get("layer", b["id"]).split("[")[0]
        name = name.split("'")[1] if "'" in name else name
        c = layers.setdefault(
            name,
            {"blocks": 0, "compartments": 0, "in_axons": 0, "out_axons": 0, "synapse_bits": 0},
        )
        c["blocks"] += 1
        for key in ("compartments", "in_axons", "out_axons", "synapse_bits"):
            c[key] += b[key]
    return layers


if __name__ == "__main__":
    which = sys.argv[1:] or ["tutorial", "resnet"]
    nets = {"tutorial": tutorial, "resnet": resnet}
    print(json.dumps({w: counts(nets[w]()) for w in which}, indent=1, sort_keys=True))
