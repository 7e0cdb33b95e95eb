//! The constants of the time and energy model. Each has its source, or says it is an assumption or a fit
//! and to what; the topology file's `cost` object overrides any of them by name. The emulator decides how
//! they combine; this module only holds and checks them.

use crate::TopologyError;

macro_rules! cost_model {
    ($( $(#[doc = $doc:literal])* $field:ident: $default:expr, )*) => {
        /// The cost-model constants: times in nanoseconds (`_ns`), energies in picojoules (`_pj`). Defaults
        /// are Loihi's; see each field for its source.
        #[derive(Clone, Debug, PartialEq)]
        pub struct CostModel {
            $( $(#[doc = $doc])* pub $field: f64, )*
        }

        impl Default for CostModel {
            fn default() -> CostModel {
                CostModel { $( $field: $default, )* }
            }
        }

        /// Every key of the `cost` object, in a fixed order.
        pub const COST_KEYS: &[&str] = &[$( stringify!($field), )*];

        impl CostModel {
            /// The constant named `key`.
            pub fn get(&self, key: &str) -> Option<f64> {
                match key {
                    $( stringify!($field) => Some(self.$field), )*
                    _ => None,
                }
            }

            /// Sets the constant named `key`; `false` when there is no such key.
            pub fn set(&mut self, key: &str, value: f64) -> bool {
                match key {
                    $( stringify!($field) => { self.$field = value; true } )*
                    _ => false,
                }
            }
        }
    };
}

cost_model! {
    /// Reading one compartment's state per timestep (SANA-FE's Loihi model, from Davies et al. 2018 and
    /// SPICE runs).
    compartment_access_ns: 6.0,
    /// Updating one compartment per timestep (SANA-FE's Loihi model).
    compartment_update_ns: 3.7,
    /// Each spike a compartment fires (SANA-FE's Loihi model).
    spike_fire_ns: 30.0,
    /// Each spike message a core sends (SANA-FE's Loihi model).
    message_send_ns: 5.1,
    /// Each spike message a core receives (SANA-FE's Loihi model).
    message_receive_ns: 16.0,
    /// Each synaptic event (SANA-FE's Loihi model; Davies et al. 2018 Table 2 gives at most 3.5 ns
    /// pre-silicon).
    synop_ns: 3.8,
    /// One east-west hop between tiles on a chip (Davies et al. 2018, Table 2).
    tile_hop_ew_ns: 4.1,
    /// One north-south hop between tiles on a chip (Davies et al. 2018, Table 2).
    tile_hop_ns_ns: 6.5,
    /// The end-of-step barrier on one chip with 1 tile in use: SANA-FE's Loihi timing model, by tiles in
    /// use, as issue 5 quotes it. Davies et al. 2018 Table 2 gives 113-465 ns (1-32 tiles) for the barrier
    /// alone, so these figures also cover a step's other fixed overhead.
    barrier_1_tile_ns: 600.0,
    /// The one-chip barrier with 2 or 3 tiles in use (SANA-FE's Loihi model, as above).
    barrier_2_3_tiles_ns: 1000.0,
    /// The one-chip barrier with 4 to 28 tiles in use (SANA-FE's Loihi model, as above).
    barrier_4_28_tiles_ns: 1400.0,
    /// The one-chip barrier with 29 or more tiles in use (SANA-FE's Loihi model, as above).
    barrier_29_tiles_ns: 1800.0,
    /// The multi-chip barrier is `barrier_chips_ns + barrier_chip_hop_ns * d`, where `d` is the mesh
    /// diameter (largest chip-to-chip hop count) of the chips in use, and never less than the one-chip
    /// barrier of the chip with the most tiles in use. This is its base: the 29+-tile one-chip barrier, on
    /// the assumption that every chip finishes its own barrier before the chips synchronise.
    barrier_chips_ns: 1800.0,
    /// The multi-chip barrier's cost per hop of the used chips' mesh diameter, fitted by least squares
    /// (with the base fixed at `barrier_chips_ns`) to Frady et al. 2020 (Pohoiki Springs): 14.3 us across a
    /// 256-chip column (4x64 chips, diameter 66 hops) and 16.2 us across 768 chips (12x64, diameter 74):
    /// `(66 * 12_500 + 74 * 14_400) / (66^2 + 74^2) = 192.3` ns. The fit gives 14.49 us (+1.3%) and
    /// 16.03 us (-1.1%); a free intercept would be negative.
    barrier_chip_hop_ns: 192.3,
    /// Serialising one spike message onto one chip-to-chip link. Assumption (no figure is published):
    /// calibrated so that a 32-chip workload reproduces Frady et al. 2020's 5.8 us unthrottled timestep on a
    /// Nahuku32 board. The workload (a test in the emulator crate): every one of the 4,096 cores holds a
    /// block of 64 compartments at a 2% rate (1.28 spikes per step), each block sending to the blocks on
    /// the next 8 cores of its chip and to the block on the same core of each neighbouring chip, so each
    /// chip-to-chip link carries 164 messages per step on average and the busiest about 191 with
    /// per-step draws. The emulated step is then the multi-chip barrier (diameter 10: 3.72 us) + the
    /// busiest link (191 x 10 + 96 = 2.0 us, above the busiest core's 1.26 us) + 0.04 us of tile routes
    /// = 5.78 us.
    link_message_ns: 10.0,
    /// A spike message's latency per chip-to-chip hop. Assumption (no figure is published): half the
    /// fitted barrier cost per hop of diameter (`barrier_chip_hop_ns`), since the barrier crosses each hop
    /// twice (its token goes out and comes back).
    link_hop_ns: 96.0,
    /// Each spike message between the host and the chips, either way, through the host channel.
    /// Assumption (no per-spike figure is published): the embedded x86 cores that relay host spikes
    /// handle about ten million per second.
    host_message_ns: 100.0,
    /// The host's management phase, paid in every step in which the host exchanges anything with the
    /// chips (per-step probe reads, inputs that are not precomputed, a host in the loop): NxSDK's
    /// "host/management" time. Fitted to nengo-loihi pull request 26 (2018), which measured about 8 ms per
    /// step with host and chip exchanging data every step and about 1.5 ms when every 10 steps: with
    /// `t(k) = a + b / k` for an exchange every `k` steps, `a + b = 8` and `a + b / 10 = 1.5` give
    /// `a = 0.778` ms per step (this constant) and `b = 7.222` ms per exchange (`host_round_trip_ns`).
    host_latency_ns: 778_000.0,
    /// One round trip between the host and the chips, paid every step when the host is in the loop or
    /// inputs are not precomputed (nengo-loihi then runs one step at a time). Fitted to nengo-loihi pull
    /// request 26 (2018): `b = (8 - 1.5) x 10 / 9 = 7.222` ms per exchange, see `host_latency_ns`. nengo-loihi
    /// pull request 256 (2019: a socket instead of RPC, larger packets, host and chip running at once) made
    /// the channel faster but published no figure, so this is the 2018 channel: an upper estimate.
    host_round_trip_ns: 7_222_000.0,
    /// Reading one probed value (a compartment of an on-chip block that sends to the host) every step.
    /// Fitted: nengo-loihi's keras-to-loihi tutorial network (built by nengo-loihi 1.1 and exported by
    /// `python/examples/keras_to_loihi.py` to `fixtures/nengo/keras-to-loihi.net.json`, every ensemble at
    /// 100 Hz, run with `--precompute` as nengo-loihi runs it) reads 100 values per step (its `dense0`
    /// layer, which feeds the off-chip output layer); users measure about 1 ms per step for it with NxSDK's
    /// `timePerTimestep`, so `(1000 - 778 - 74) / 100 = 1.48` us, rounded to 1.5 us, where 74 us is the
    /// rest of its emulated step (spiking 71.6, barrier 1.4, 10 host messages 1.0). The fit moves with the
    /// assumed rates: at 50 Hz the rest is about 37 us and the fit 1.85 us.
    probe_value_ns: 1_500.0,
    /// Energy of reading one compartment's state per timestep (SANA-FE's Loihi architecture file
    /// `arch/loihi.yaml`, `energy_access_neuron`, from Davies et al. 2018 and SPICE runs).
    compartment_access_pj: 51.2,
    /// Energy of updating one compartment per timestep (SANA-FE `energy_update_neuron`).
    compartment_update_pj: 21.6,
    /// Energy of each spike a compartment fires (SANA-FE `energy_spike_out`).
    spike_fire_pj: 69.3,
    /// Energy of each spike message a core sends (SANA-FE `axon_out` `energy_message_out`).
    message_send_pj: 111.0,
    /// Energy of each spike message a core receives (SANA-FE `axon_in` `energy_message_in`: 0).
    message_receive_pj: 0.0,
    /// Energy of each synaptic event (SANA-FE `loihi_dense_synapse` `energy_process_spike`; Davies et al.
    /// 2018 Table 2 gives at least 23.6 pJ).
    synop_pj: 35.5,
    /// Energy of one east-west tile hop of a spike message (SANA-FE `energy_east_hop`; Davies et al. 2018
    /// Table 2: 3.0 pJ).
    tile_hop_ew_pj: 3.0,
    /// Energy of one north-south tile hop (SANA-FE `energy_north_hop`; Davies et al. 2018 Table 2 gives
    /// 4.0 pJ).
    tile_hop_ns_pj: 4.2,
    /// Energy of one spike message crossing one chip-to-chip link. Assumption (no figure is published for
    /// Loihi's chip-to-chip interface): a 32-bit message at about 10 pJ per bit, a usual figure for
    /// board-level signalling.
    link_message_pj: 320.0,
    /// Energy of one spike message through the host channel, either way. Assumption: `host_message_ns`
    /// (100 ns) on an embedded x86 core drawing about 50 mW.
    host_message_pj: 5_000.0,
}
/// The largest cost constant: one second (or a millijoule for an energy). No operation the model counts
/// takes that long, and the cap keeps every time the emulator sums finite (a figure of 1e300 ns would
/// otherwise make the report say `inf`).
pub const MAX_COST_NS: f64 = 1e9;

impl CostModel {
    /// Every constant must be a finite number in 0..=[`MAX_COST_NS`]. [`Topology::new`](crate::Topology::new) checks this;
    /// code that changes [`Topology::cost`](crate::Topology::cost) afterwards can check again.
    pub fn check(&self) -> Result<(), TopologyError> {
        for key in COST_KEYS {
            let v = self.get(key).unwrap_or(0.0);
            if !(0.0..=MAX_COST_NS).contains(&v) {
                let unit = if key.ends_with("_pj") {
                    "pJ (a millijoule)"
                } else {
                    "ns (a second)"
                };
                return Err(TopologyError::BadField {
                    field: format!("cost.{key}"),
                    // {:e} keeps a huge figure short: 1e300, not 301 digits.
                    problem: if v.abs() < 1e15 {
                        format!("must be a finite number >= 0 and at most 1e9 {unit}, got {v}")
                    } else {
                        format!("must be a finite number >= 0 and at most 1e9 {unit}, got {v:e}")
                    },
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_reads_and_writes() {
        let mut c = CostModel::default();
        for (i, key) in COST_KEYS.iter().enumerate() {
            assert!(c.set(key, i as f64));
            assert_eq!(c.get(key), Some(i as f64));
        }
        assert!(!c.set("nope", 1.0));
        assert_eq!(c.get("nope"), None);
    }

    #[test]
    fn rejects_negative_and_non_finite() {
        let mut c = CostModel::default();
        assert!(c.check().is_ok());
        c.synop_ns = -1.0;
        assert_eq!(
            c.check().unwrap_err().to_string(),
            "field \"cost.synop_ns\" must be a finite number >= 0 and at most 1e9 ns (a second), got -1"
        );
        c.synop_ns = f64::NAN;
        assert!(c.check().is_err());
        c.synop_ns = 3.8;
        c.synop_pj = 2e9;
        assert_eq!(
            c.check().unwrap_err().to_string(),
            "field \"cost.synop_pj\" must be a finite number >= 0 and at most 1e9 pJ (a millijoule), \
             got 2000000000"
        );
    }
}
