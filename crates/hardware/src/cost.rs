//! The constants of the time model. Each has its source; the topology file's `cost` object overrides any
//! of them by name. The emulator decides how they combine; this module only holds and checks them.

use crate::TopologyError;

macro_rules! cost_model {
    ($( $(#[doc = $doc:literal])* $field:ident: $default:expr, )*) => {
        /// The time-model constants, in nanoseconds. Defaults are Loihi's; see each field for its source.
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
}

impl CostModel {
    /// Every constant must be a finite number >= 0.
    pub(crate) fn check(&self) -> Result<(), TopologyError> {
        for key in COST_KEYS {
            let v = self.get(key).unwrap_or(0.0);
            if !v.is_finite() || v < 0.0 {
                return Err(TopologyError::BadField {
                    field: format!("cost.{key}"),
                    problem: format!("must be a finite number >= 0, got {v}"),
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
            "field \"cost.synop_ns\" must be a finite number >= 0, got -1"
        );
        c.synop_ns = f64::NAN;
        assert!(c.check().is_err());
    }
}
