"""The test networks: an ensemble array and a small conv net with 'same' padding."""
import nengo, nengo_loihi, numpy as np

def ea_net(n_ens=80, n_neurons=20, dims=1):
    with nengo.Network(seed=0) as net:
        u = nengo.Node(np.linspace(-0.5, 0.5, n_ens))
        a = nengo.networks.EnsembleArray(n_neurons, n_ens, ens_dimensions=dims)
        b = nengo.networks.EnsembleArray(n_neurons, n_ens, ens_dimensions=dims)
        nengo.Connection(u, a.input)
        nengo.Connection(a.output, b.input, transform=0.8)
        nengo.Connection(a.output[:-1], b.input[1:], transform=0.3)  # neighbours talk too
        nengo.Probe(b.output, synapse=0.01)
    return net

def conv_net(size=32, filters=8, layers=3, block=(4, 4, 8)):
    with nengo.Network(seed=0) as net:
        nengo_loihi.add_params(net)
        inp = nengo.Node(np.random.RandomState(0).rand(size * size))
        ens0 = nengo.Ensemble(size * size, 1, neuron_type=nengo.SpikingRectifiedLinear(),
                              max_rates=nengo.dists.Choice([100]), intercepts=nengo.dists.Choice([0]))
        net.config[ens0].on_chip = False
        nengo.Connection(inp, ens0.neurons)
        prev, prev_shape = ens0, (size, size, 1)
        for k in range(layers):
            conv = nengo.Convolution(filters, prev_shape, strides=(1, 1), padding="same",
                                     kernel_size=(3, 3), channels_last=True,
                                     init=nengo.dists.Uniform(-0.5, 0.5))
            ens = nengo.Ensemble(conv.output_shape.size, 1, neuron_type=nengo.SpikingRectifiedLinear(),
                                 max_rates=nengo.dists.Choice([100]), intercepts=nengo.dists.Choice([0]))
            net.config[ens].block_shape = nengo_loihi.BlockShape(block, conv.output_shape.shape)
            nengo.Connection(prev.neurons, ens.neurons, transform=conv)
            prev, prev_shape = ens, conv.output_shape.shape
        nengo.Probe(prev.neurons)
    return net

def loop_net():
    """A host ensemble between two on-chip ensembles: the host is in the loop."""
    with nengo.Network(seed=0) as net:
        nengo_loihi.add_params(net)
        stim = nengo.Node([0.5], label="stim")
        a = nengo.Ensemble(50, 1, label="a")
        h = nengo.Ensemble(40, 1, label="offchip")
        b = nengo.Ensemble(50, 1, label="b")
        nengo.Connection(stim, a)
        nengo.Connection(a, h)
        nengo.Connection(h, b)
        nengo.Probe(b)
        net.config[h].on_chip = False
    return net
