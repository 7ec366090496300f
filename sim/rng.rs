//! The simulator's only source of randomness: `ChaCha8Rng` sub-streams behind our own helpers.
//!
//! Every draw goes through `SimRng`, built only on `next_u64`, so a `rand` upgrade that
//! changes `gen_range` or `StdRng` cannot silently change a trace. Each component gets its own
//! stream (ChaCha's stream id), derived from the one root seed in a fixed order, so adding a
//! draw to one component never shifts another component's draws.

use rand::RngCore;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Fixed stream ids: the order is part of the determinism contract, so only append.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Network latencies.
    Network = 1,
    /// The start of each producer client's kafkajs round-robin counter (kafkajs starts it at
    /// random), one draw per client in build order.
    Producers = 2,
}

/// Sub-stream ids of the producer clients' partitioners: `PARTITIONER_STREAMS | client`
/// (the client's endpoint index). Bit 62 keeps them apart from [`Stream`]'s small ids and
/// from the network's per-path ids, which set bit 63.
pub const PARTITIONER_STREAMS: u64 = 1 << 62;

/// Sub-stream ids of the `chaos.faults` templates: `CHAOS_FAULT_STREAMS | index` (the
/// template's place in the file). One stream per template, so that editing one template
/// (its probability, a range) leaves every other template's draws unchanged. Bit 61 alone
/// keeps them apart from every other id here.
pub const CHAOS_FAULT_STREAMS: u64 = 1 << 61;

/// Set on a network path's stream id (bit 63 and the two endpoints, `Network::stream_id`)
/// to give the path a second stream, for `chaos.network`'s per-message jitter and drops:
/// a scenario with network chaos keeps exactly its latency draws.
pub const CHAOS_PATH_BIT: u64 = 1 << 62;

pub struct SimRng {
    inner: ChaCha8Rng,
}

impl SimRng {
    /// The sub-stream `stream` of the root seed.
    pub fn new(seed: u64, stream: Stream) -> SimRng {
        SimRng::substream(seed, stream as u64)
    }

    /// The sub-stream `stream_id` of the root seed: `ChaCha8Rng::seed_from_u64(seed)` with
    /// its stream set to `stream_id`. Distinct ids give independent sequences of draws.
    /// The small ids belong to [`Stream`]; components that need one stream per thing (the
    /// network, one per path) build their ids with the top bit set so they never collide.
    pub fn substream(seed: u64, stream_id: u64) -> SimRng {
        let mut inner = ChaCha8Rng::seed_from_u64(seed);
        inner.set_stream(stream_id);
        SimRng { inner }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// A uniform draw in `0..n` (`n > 0`), by rejection so that no value is favoured.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0) is a bug in the caller");
        // Reject the top sliver of the u64 range that would bias the modulo.
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let x = self.next_u64();
            if x < zone {
                return x % n;
            }
        }
    }

    /// True with probability `num / den` (`num <= den`, `den > 0`): one `below(den)` draw,
    /// so `0 / d` is never and `d / d` always true, and each call draws the same amount.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }

    /// A uniform draw in `lo..=hi`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        if lo >= hi {
            return lo;
        }
        lo + self.below(hi - lo + 1)
    }

    /// A draw from `u`: the same value `between(u.lo, u.hi)` would give, with the
    /// rejection zone computed once instead of on every draw.
    pub fn sample(&mut self, u: &Uniform) -> u64 {
        if u.n == 0 {
            return u.lo;
        }
        loop {
            let x = self.next_u64();
            if x < u.zone {
                return u.lo + x % u.n;
            }
        }
    }
}

/// A uniform range `lo..=hi` prepared for many draws (`SimRng::sample`).
#[derive(Clone, Copy, Debug)]
pub struct Uniform {
    lo: u64,
    /// `hi - lo + 1`, or 0 when the range holds one value.
    n: u64,
    zone: u64,
}

impl Uniform {
    pub fn new(lo: u64, hi: u64) -> Uniform {
        if lo >= hi {
            return Uniform { lo, n: 0, zone: 0 };
        }
        let n = hi - lo + 1;
        Uniform {
            lo,
            n,
            zone: u64::MAX - (u64::MAX % n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pinning the first draws means a dependency upgrade that changes the generator fails
    /// here first, rather than as a hundred changed snapshots.
    #[test]
    fn the_first_draws_of_a_stream_are_pinned() {
        let mut rng = SimRng::new(42, Stream::Network);
        let draws: Vec<u64> = (0..4).map(|_| rng.below(1000)).collect();
        assert_eq!(draws, PINNED);
    }

    const PINNED: [u64; 4] = [408, 21, 687, 734];

    #[test]
    fn streams_of_one_seed_differ() {
        let mut a = SimRng::new(7, Stream::Network);
        let mut b = SimRng::new(7, Stream::Producers);
        assert_ne!(a.next_u64(), b.next_u64());
    }

    #[test]
    fn sample_gives_exactly_the_draws_of_between() {
        let mut a = SimRng::new(5, Stream::Network);
        let mut b = SimRng::new(5, Stream::Network);
        for (lo, hi) in [(1, 3), (0, 9), (7, 7), (2, 1000)] {
            let u = Uniform::new(lo, hi);
            for _ in 0..200 {
                assert_eq!(a.between(lo, hi), b.sample(&u));
            }
        }
    }

    #[test]
    fn chance_is_never_at_zero_and_always_at_one() {
        let mut rng = SimRng::new(3, Stream::Network);
        assert!((0..1000).all(|_| !rng.chance(0, 7)));
        assert!((0..1000).all(|_| rng.chance(7, 7)));
        let hits = (0..4000).filter(|_| rng.chance(1, 4)).count();
        assert!((800..1200).contains(&hits), "1/4 of 4000 draws, got {hits}");
    }

    #[test]
    fn between_stays_inside_its_bounds() {
        let mut rng = SimRng::new(1, Stream::Network);
        for _ in 0..1000 {
            let x = rng.between(3, 5);
            assert!((3..=5).contains(&x));
        }
        assert_eq!(rng.between(9, 9), 9);
    }
}
