//! The simulation engine: virtual time (`Time`), the event queue (`Queue`) and the network
//! (`Network`), each generic over what flows through it, plus the model's current driver
//! (`Ctx`, `Link`, in `legacy`).
//!
//! Not here: what an event or a message means. Kafka semantics live in `model`; the engine
//! only orders, delays, holds and drops opaque payloads, deterministically.

mod legacy;
pub mod net;
pub mod queue;
pub mod time;

pub use legacy::{Ctx, Link};
pub use net::{Address, Delivery, LinkState, Network, PathId, Side};
pub use queue::{EntryId, Queue};
pub use time::Time;
