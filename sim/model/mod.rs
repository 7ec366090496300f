//! The model: Kafka and the applications around it, as sans-IO components, and the driver
//! that wires them.
//!
//! Every component is a state machine that takes `(now, input)` and writes what it wants
//! done into an `Out` (`io.rs`): messages, timers to set or cancel, trace records. None of
//! them reads a clock, touches the queue or calls another component, and none draws a
//! random number except from a sub-stream of the seed that the driver hands it (only the
//! producer client's partitioner has one, `partitioning.rs`). `world.rs` is the single driver. Component files: `cluster.rs` (brokers and
//! partition logs, `log.rs`), `coordinator.rs`, `member.rs` with `store.rs`,
//! `producer.rs` (the client) with its partitioner `partitioning.rs` and `producer_app.rs`, `service.rs` (and its database),
//! `relay.rs`, `faults.rs` (the fault injector); `armed.rs` is the crash trigger the
//! processes share.

pub mod armed;
pub mod cluster;
pub mod coordinator;
pub mod faults;
pub mod io;
pub mod log;
pub mod member;
pub mod partitioning;
pub mod producer;
pub mod producer_app;
pub mod relay;
pub mod service;
pub mod store;
pub mod world;

pub use world::{Outcome, RunResult, World};
