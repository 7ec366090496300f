//! The simulation engine: virtual time (`Time`), the event queue (`Queue`) and the network
//! (`Network`), each generic over what flows through it.
//!
//! Not here: what an event or a message means. Kafka semantics live in `model`, and the
//! driver that owns these pieces is `model::world`; the engine only orders, delays, holds
//! and drops opaque payloads, deterministically. Invariant: nothing here imports `model`.

pub mod net;
pub mod queue;
pub mod time;

pub use net::{Address, Delivery, LinkState, Network, PathId, Side};
pub use queue::{EntryId, Queue};
pub use time::Time;
