//! Keyed-record partitioning as the real clients do it: the partitioners kafkasim models
//! ([`PartitionerKind`]), their hashes (Java's `Utils.murmur2` and `Utils.toPositive`,
//! librdkafka's `rd_crc32`, kafkajs's legacy murmur2) and the key → partition formula of each.
//!
//! Everything here is a pure function over bytes, so the simulator places a keyed record on the
//! same partition that the named client would. What happens to a null key (round robin,
//! sticky, random) needs state and randomness and lives in `model/partitioning.rs`.
//! See SEMANTICS.md §1 for the sources.

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

/// The partitioners kafkasim models, named as a scenario's `partitioner:` setting spells them.
///
/// Each is a real client's partitioner with that client's defaults:
/// - `java`: the Java producer (3.3+) with no `partitioner.class`: `BuiltInPartitioner`
///   (murmur2 for keys, KIP-794 uniform sticky for null keys).
/// - `librdkafka-consistent-random`: librdkafka's default `partitioner=consistent_random`
///   (`rd_kafka_msg_partitioner_consistent_random`: CRC-32 of the key, random for an empty or
///   null key).
/// - `librdkafka-murmur2-random`: librdkafka's `partitioner=murmur2_random` (Java's murmur2
///   for keys, an empty key included; random for a null key).
/// - `kafkajs`: kafkajs 2.x `Partitioners.DefaultPartitioner` (Java's murmur2 for keys, round
///   robin for null keys).
/// - `kafkajs-legacy`: kafkajs `Partitioners.LegacyPartitioner`, the 1.x default (a murmur2 that
///   is not Java's, see [`kafkajs_legacy_murmur2`]; round robin for null keys).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartitionerKind {
    Java,
    LibrdkafkaConsistentRandom,
    LibrdkafkaMurmur2Random,
    Kafkajs,
    KafkajsLegacy,
}

impl PartitionerKind {
    /// Every partitioner, in the order the README lists them; the first is the default.
    pub const ALL: &'static [PartitionerKind] = &[
        PartitionerKind::Java,
        PartitionerKind::LibrdkafkaConsistentRandom,
        PartitionerKind::LibrdkafkaMurmur2Random,
        PartitionerKind::Kafkajs,
        PartitionerKind::KafkajsLegacy,
    ];

    /// The value as a scenario file and `kafkasim partition --partitioner` spell it.
    pub fn name(self) -> &'static str {
        match self {
            PartitionerKind::Java => "java",
            PartitionerKind::LibrdkafkaConsistentRandom => "librdkafka-consistent-random",
            PartitionerKind::LibrdkafkaMurmur2Random => "librdkafka-murmur2-random",
            PartitionerKind::Kafkajs => "kafkajs",
            PartitionerKind::KafkajsLegacy => "kafkajs-legacy",
        }
    }

    /// The partitioner spelled `name`, if kafkasim models it.
    pub fn from_name(name: &str) -> Option<PartitionerKind> {
        PartitionerKind::ALL
            .iter()
            .copied()
            .find(|k| k.name() == name)
    }

    /// The name of the hash this partitioner applies to keys.
    pub fn hash_name(self) -> &'static str {
        match self {
            PartitionerKind::LibrdkafkaConsistentRandom => "crc32",
            PartitionerKind::KafkajsLegacy => "legacy-murmur2",
            _ => "murmur2",
        }
    }

    /// The hash of `key` as the client computes it, as a signed 64-bit number so that every
    /// hash fits: Java's and kafkajs's murmur2 are signed 32-bit `int`s, librdkafka's CRC-32 an
    /// unsigned 32-bit one.
    pub fn hash(self, key: &[u8]) -> i64 {
        match self {
            PartitionerKind::LibrdkafkaConsistentRandom => i64::from(crc32(key)),
            PartitionerKind::KafkajsLegacy => i64::from(kafkajs_legacy_murmur2(key)),
            _ => i64::from(murmur2(key)),
        }
    }

    /// The partition of a record with (serialized) key `key` among `partitions`, or `None`
    /// when this client treats the key like a null key (librdkafka's `consistent_random`
    /// sends an empty key to a random partition, `rdkafka_msg.c`: `if (keylen == 0)`).
    /// Every other partitioner hashes an empty key as it hashes any other.
    ///
    /// `partitions` counts all partitions of the topic, as every one of these clients does
    /// for keyed records. It must be at least 1 (scenario validation guarantees it).
    pub fn partition_for_key(self, key: &[u8], partitions: u32) -> Option<u32> {
        debug_assert!(partitions > 0, "a topic must have at least one partition");
        self.key_hash(key).map(|h| h % partitions)
    }

    /// The number this client takes modulo the partition count to place `key`, or None
    /// when it treats the key like a null key. Every modelled client places a key at
    /// `key_hash % partitions`, so a client that learns of more partitions places the same
    /// key anew from the same number.
    pub fn key_hash(self, key: &[u8]) -> Option<u32> {
        match self {
            PartitionerKind::LibrdkafkaConsistentRandom => {
                // rd_kafka_msg_partitioner_consistent: an unsigned modulo of the CRC.
                (!key.is_empty()).then(|| crc32(key))
            }
            // kafkajs's partitioner.js: `toPositive(murmur2(key)) % numPartitions`, the
            // same formula as Java's, over the legacy hash.
            PartitionerKind::KafkajsLegacy => Some(to_positive(kafkajs_legacy_murmur2(key)) as u32),
            // to_positive never returns a negative number, so the cast keeps the value.
            _ => Some(to_positive(murmur2(key)) as u32),
        }
    }

    /// How this client places a record with a null key, in a few words (for `kafkasim
    /// partition` and the README).
    pub fn null_keys(self) -> &'static str {
        match self {
            PartitionerKind::Java => "sticky: one random partition per batch (KIP-794)",
            PartitionerKind::LibrdkafkaConsistentRandom
            | PartitionerKind::LibrdkafkaMurmur2Random => {
                "random, sticky for sticky.partitioning.linger.ms (10 ms)"
            }
            PartitionerKind::Kafkajs | PartitionerKind::KafkajsLegacy => {
                "round robin from a random start"
            }
        }
    }
}

/// librdkafka's `rd_crc32` (`src/rdcrc32.c`): CRC-32/ISO-HDLC, the CRC of zlib and
/// Ethernet: polynomial 0x04C11DB7 bit-reflected (0xEDB88320), initial value and final XOR
/// 0xFFFFFFFF. Written bit by bit from that definition (SEMANTICS.md §1.5); keys are
/// hashed once per distinct key, so a lookup table would buy nothing.
pub fn crc32(data: &[u8]) -> u32 {
    const POLY_REFLECTED: u32 = 0xedb8_8320;
    let mut crc = 0xffff_ffff_u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            // Shift one bit out; where it was a 1, divide by the polynomial (XOR).
            let low_bit_set = crc & 1 == 1;
            crc >>= 1;
            if low_bit_set {
                crc ^= POLY_REFLECTED;
            }
        }
    }
    !crc
}

/// ECMAScript's `ToInt32`: a JavaScript number, which is here always a whole number, taken
/// modulo 2^32 into the signed 32-bit range. Bitwise operators apply it to their operands.
fn js_to_int32(x: f64) -> i32 {
    // Every value reaching here is below 2^64 in magnitude, so i128 holds it exactly.
    (x as i128).rem_euclid(1 << 32) as u32 as i32
}

/// kafkajs's `LegacyPartitioner` hash (`src/producer/partitioners/legacy/murmur2.js`): Java's
/// murmur2 transcribed into JavaScript, which gives different numbers for two reasons that
/// this function reproduces on purpose:
/// - `k *= m` and `h *= m` multiply JavaScript numbers (IEEE doubles), not 32-bit ints, so a
///   product beyond 2^53 is rounded before the next `^` or `>>>` wraps it to 32 bits;
/// - the block loop runs while `i < length / 4` with a fractional bound, so a key whose length
///   is not a multiple of 4 also mixes a last, zero-padded block (bytes past the end read as
///   `undefined`, and `undefined & 0xff` is 0) before the tail bytes are mixed in again.
///
/// A block's bytes are summed (`+`), the top one after a signed `<< 24`. Checked against
/// kafkajs's `legacy/murmur2.spec.js` ("0" → 272173970, where Java gives 971027396).
pub fn kafkajs_legacy_murmur2(data: &[u8]) -> i32 {
    let m = f64::from(M);
    let byte = |i: usize| data.get(i).map_or(0, |&b| i32::from(b));
    let len = data.len();
    // `SEED ^ length`: both operands through ToInt32.
    let mut h = f64::from(js_to_int32(f64::from(SEED)) ^ (len as i32));
    for i in 0..len.div_ceil(4) {
        let i4 = i * 4;
        let mut k = f64::from(byte(i4))
            + f64::from(byte(i4 + 1) << 8)
            + f64::from(byte(i4 + 2) << 16)
            + f64::from(byte(i4 + 3).wrapping_shl(24));
        k *= m;
        // `k ^= k >>> R`: `>>>` takes ToUint32, `^` takes ToInt32 of both sides.
        k = f64::from(js_to_int32(k) ^ ((js_to_int32(k) as u32 >> R) as i32));
        k *= m;
        h *= m;
        h = f64::from(js_to_int32(h) ^ js_to_int32(k));
    }
    let base = len & !3;
    let tail = len % 4;
    if tail == 3 {
        h = f64::from(js_to_int32(h) ^ (byte(base + 2) << 16));
    }
    if tail >= 2 {
        h = f64::from(js_to_int32(h) ^ (byte(base + 1) << 8));
    }
    if tail >= 1 {
        h = f64::from(js_to_int32(h) ^ byte(base));
        h *= m;
    }
    let mix = |h: f64, shift: u32| js_to_int32(h) ^ ((js_to_int32(h) as u32 >> shift) as i32);
    h = f64::from(mix(h, 13));
    h *= m;
    mix(h, 15)
}

/// Kafka's KIP-794 adaptive choice (`BuiltInPartitioner.updatePartitionLoadStats` and
/// `nextPartition`): the index of the partition to stick to next, given each partition's
/// queue size (batches waiting in the accumulator) and a uniform draw `draw(total)` in
/// `0..total`.
///
/// Queue sizes become frequencies `(max + 1) - size`, so shorter queues are likelier; their
/// running sum is the cumulative frequency table, and the pick is the first entry greater
/// than the draw. When every queue has the same size (or there are fewer than 2 partitions)
/// Kafka keeps no load stats and draws uniformly: `draw(partitions)`.
pub fn adaptive_pick(queue_sizes: &[u32], draw: impl FnOnce(u64) -> u64) -> usize {
    let cft = cumulative_frequencies(queue_sizes);
    match cft.last() {
        Some(&total) if queue_sizes.len() >= 2 && !all_equal(queue_sizes) => {
            let r = draw(total);
            cft.iter().position(|&c| c > r).unwrap_or(cft.len() - 1)
        }
        _ => draw(queue_sizes.len().max(1) as u64) as usize,
    }
}

/// `BuiltInPartitioner`'s cumulative frequency table for these queue sizes (see
/// [`adaptive_pick`]); the javadoc's example: sizes `[0, 3, 1]` give `[4, 5, 8]`.
pub fn cumulative_frequencies(queue_sizes: &[u32]) -> Vec<u64> {
    let max = queue_sizes.iter().copied().max().unwrap_or(0);
    let mut sum = 0u64;
    queue_sizes
        .iter()
        .map(|&q| {
            sum += u64::from(max + 1 - q);
            sum
        })
        .collect()
}

fn all_equal(values: &[u32]) -> bool {
    values.windows(2).all(|w| w[0] == w[1])
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

    #[test]
    fn crc32_is_the_zlib_crc() {
        // The CRC-32 check value of the catalogue of parametrised CRCs, and an empty input.
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn the_legacy_kafkajs_hash_differs_from_java_on_a_one_byte_key() {
        assert_eq!(kafkajs_legacy_murmur2(b"0"), 272_173_970);
        assert_eq!(murmur2(b"0"), 971_027_396);
    }

    #[test]
    fn consistent_random_sends_an_empty_key_the_null_key_way_and_java_hashes_it() {
        assert_eq!(
            PartitionerKind::LibrdkafkaConsistentRandom.partition_for_key(b"", 17),
            None
        );
        assert_eq!(PartitionerKind::Java.partition_for_key(b"", 17), Some(11));
        assert_eq!(
            PartitionerKind::LibrdkafkaMurmur2Random.partition_for_key(b"", 17),
            Some(11)
        );
    }

    #[test]
    fn every_name_reads_back() {
        for &k in PartitionerKind::ALL {
            assert_eq!(PartitionerKind::from_name(k.name()), Some(k));
        }
        assert_eq!(PartitionerKind::from_name("consistent_random"), None);
    }

    #[test]
    fn adaptive_pick_follows_the_cumulative_frequency_table() {
        assert_eq!(cumulative_frequencies(&[0, 3, 1]), vec![4, 5, 8]);
        // Draws 0..=3 pick p0, 4 picks p1, 5..=7 pick p2 (the javadoc's example).
        let picks: Vec<usize> = (0..8).map(|r| adaptive_pick(&[0, 3, 1], |_| r)).collect();
        assert_eq!(picks, vec![0, 0, 0, 0, 1, 2, 2, 2]);
        // Equal queues: a uniform draw over the partitions, not over the table.
        assert_eq!(adaptive_pick(&[2, 2, 2], |n| n - 1), 2);
    }
}
