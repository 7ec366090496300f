//! Keyed-record partitioning exactly as the Java client does it: `Utils.murmur2`, `Utils.toPositive` and `partitionForKey`.
//!
//! Everything here is a pure function over bytes, so the simulator places a keyed record on the
//! same partition that a real Kafka producer (or kafkajs 2.x, or librdkafka's `murmur2`
//! partitioner) would. See SEMANTICS.md §1.1–1.2 for the sources.

/// Seed used by Kafka's `Utils.murmur2`; any other seed gives different partitions than Kafka.
const SEED: u32 = 0x9747_b28c;
/// MurmurHash2's multiplication constant.
const M: u32 = 0x5bd1_e995;
/// MurmurHash2's shift amount.
const R: u32 = 24;

/// Kafka's `Utils.murmur2`: 32-bit MurmurHash2 of `data`, returned as the signed `int` Java returns.
///
/// The arithmetic is done on `u32` with wrapping multiplication because Java's `int` overflows
/// silently and its `>>>` is an unsigned shift; a logical shift on `u32` is exactly that. Blocks
/// are read little-endian, and the 1–3 tail bytes are mixed in with the same fallthrough as the
/// Java `switch`, so keys whose length is not a multiple of four hash identically too.
pub fn murmur2(data: &[u8]) -> i32 {
    // Java arrays are at most i32::MAX long, so truncating the length to 32 bits never changes
    // the result for any key Kafka itself could hash.
    let mut h = SEED ^ (data.len() as u32);

    let mut blocks = data.chunks_exact(4);
    for block in &mut blocks {
        let mut k = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }

    // The Java `switch (length % 4)` falls through from case 3 to case 1, and only case 1
    // multiplies, so the multiplication happens once whenever there is any tail at all.
    let tail = blocks.remainder();
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if let Some(&first) = tail.first() {
        h ^= u32::from(first);
        h = h.wrapping_mul(M);
    }

    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    // Reinterpret the bits as Java's signed int; this is a bit cast, not a numeric conversion.
    h as i32
}

/// Kafka's `Utils.toPositive`: clears the sign bit.
///
/// This is deliberately not `abs`: `abs(i32::MIN)` overflows, and for every other negative
/// number clearing the sign bit gives a different value than negating it (for example
/// `to_positive(-973932308) == 1173551340`), which would send keys to different partitions
/// than Kafka does.
pub fn to_positive(x: i32) -> i32 {
    x & 0x7fff_ffff
}

/// Kafka's `BuiltInPartitioner.partitionForKey`: `toPositive(murmur2(key)) % partitions`.
///
/// `key` is the serialized key (UTF-8 for string keys). An empty key is still hashed, as the
/// Java client does; only a null key takes the sticky path, and that is the caller's business.
/// `partitions` counts all partitions of the topic, not only the available ones, because that
/// is what Kafka counts.
///
/// # Panics
///
/// Panics (division by zero) if `partitions` is 0. Callers validate topic metadata before
/// producing, so a topic with no partitions never reaches here; the debug assertion only makes
/// the message clearer in tests.
pub fn partition_for_key(key: &[u8], partitions: u32) -> u32 {
    debug_assert!(partitions > 0, "a topic must have at least one partition");
    // to_positive never returns a negative number, so this cast keeps the value unchanged.
    to_positive(murmur2(key)) as u32 % partitions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_kafka_utils_test() {
        // Values asserted in Kafka's UtilsTest#testMurmur2 and librdkafka's unittest_murmur2;
        // together they cover tail lengths 0, 1, 2 and 3.
        let cases: [(&str, i32); 6] = [
            ("21", -973_932_308),
            ("foobar", -790_332_482),
            ("abc", 479_470_107),
            ("kafka", -798_503_068),
            ("1234", -1_614_185_708),
            ("", 275_646_681),
        ];
        for (key, expected) in cases {
            assert_eq!(murmur2(key.as_bytes()), expected, "murmur2({key:?})");
        }
    }

    #[test]
    fn to_positive_clears_the_sign_bit_rather_than_negating() {
        assert_eq!(to_positive(-973_932_308), 1_173_551_340);
        assert_eq!(to_positive(i32::MIN), 0);
        assert_eq!(to_positive(479_470_107), 479_470_107);
        assert_eq!(to_positive(-1), i32::MAX);
    }

    #[test]
    fn partition_for_key_uses_the_positive_hash_modulo_partition_count() {
        assert_eq!(partition_for_key(b"21", 3), 0);
        assert_eq!(partition_for_key(b"21", 100), 40);
        assert_eq!(partition_for_key(b"foobar", 16), 14);
        assert_eq!(partition_for_key(b"", 12), 9);
        assert_eq!(partition_for_key(b"any", 1), 0);
    }
}
