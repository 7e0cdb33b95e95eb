"""SANA-FE's own energy for the emulator's feed-forward energy check (crates/emu, test
`energy_agrees_with_sana_fe`): two layers of 1024 LIF neurons on SANA-FE's Loihi architecture, PER_CORE
neurons per core (layer 1 on the first cores, layer 2 right after), each pair connected with probability
0.1 (seed 0), every neuron driven by a bias to fire every 6th step.

    python3 -m venv /tmp/sanafe && /tmp/sanafe/bin/pip install sanafe==2.2.9 numpy
    /tmp/sanafe/bin/python benches/sanafe/energy.py 1024    # and 64
"""
import sys
import numpy as np
import sanafe

per_core = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
steps = 1000
arch = sanafe.load_loihi()
net = sanafe.Network()
attrs = {"threshold": 1.0, "bias": 0.2, "leak_decay": 1.0, "reset": 0.0}
l1 = net.create_neuron_group("l1", 1024, model_attributes=attrs, soma_hw_name="loihi_lif", default_synapse_hw_name="loihi_dense_synapse")
l2 = net.create_neuron_group("l2", 1024, model_attributes=attrs, soma_hw_name="loihi_lif", default_synapse_hw_name="loihi_dense_synapse")
rng = np.random.default_rng(0)
n_syn = 0
for i in range(1024):
    for j in np.nonzero(rng.random(1024) < 0.1)[0]:
        l1[i].connect_to_neuron(l2[int(j)], {"weight": 0.0})
        n_syn += 1
for i in range(1024):
    l1[i].map_to_core(arch.tiles[(i // per_core) // 4].cores[(i // per_core) % 4])
n1 = 1024 // per_core
for i in range(1024):
    c = n1 + i // per_core
    l2[i].map_to_core(arch.tiles[c // 4].cores[c % 4])
chip = sanafe.SpikingChip(arch)
chip.load(net)
res = chip.sim(steps, timing_model="simple")
print({k: v for k, v in res.items() if not isinstance(v, (list, dict))})
print("synapses", n_syn)
print("energy per step uJ", res["energy"]["total"] / steps * 1e6 if isinstance(res.get("energy"), dict) else res.get("energy") / steps * 1e6)
print(res.get("energy"))
