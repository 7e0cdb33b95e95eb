//! Front ends that build a [`snn_graph::Network`]. So far: seeded generators for tests and benchmarks,
//! [`generate`] with [`GenOptions`] (a [`GenKind`], an exact block count and a seed), failing with a
//! [`GenError`]. Layer specs and Keras import are to come.
//!
//! Invariant: the same [`GenOptions`] give the same network, byte for byte through
//! [`snn_graph::write_net`], and every generated block fits one Loihi core. Depends only on the graph
//! crate (never on hardware, placement or allocators).

mod gen;

pub use gen::{generate, GenError, GenKind, GenOptions, MAX_GEN_BLOCKS, MIN_GEN_BLOCKS};
