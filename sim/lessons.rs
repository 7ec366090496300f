//! The lessons in `scenarios/`, compiled into the binary so `kafkasim` runs with no files.
//!
//! The list is explicit (a test checks it matches the folder), and its order is the
//! teaching order that `kafkasim list` prints.

pub struct Lesson {
    /// The file name under `scenarios/`.
    pub file: &'static str,
    pub source: &'static str,
}

macro_rules! lessons {
    ($($file:literal),* $(,)?) => {
        pub const LESSONS: &[Lesson] = &[
            $(Lesson { file: $file, source: include_str!(concat!("../scenarios/", $file)) },)*
        ];
    };
}

lessons![
    "keys-and-partitions.yaml",
    "null-keys-sticky-or-round-robin.yaml",
    "producer-retries.yaml",
    "two-clients-two-partitioners.yaml",
    "lost-ack-duplicate.yaml",
    "acks1-leader-crash.yaml",
    "acks-all-survives.yaml",
    "min-insync-blocks.yaml",
    "acks0-broker-down.yaml",
    "unclean-election.yaml",
    "zombie-leader.yaml",
    "consumer-group-scaling.yaml",
    "eager-vs-cooperative.yaml",
    "sticky-vs-range.yaml",
    "kafka-vs-queue.yaml",
    "replay-earliest-or-latest.yaml",
    "adding-partitions-moves-keys.yaml",
    "crash-before-commit.yaml",
    "commit-before-processing.yaml",
    "chaos-crash-point.yaml",
    "every-record-accounted.yaml",
    "retention-outruns-consumer.yaml",
    "compaction-rebuilds-state.yaml",
    "auto-commit.yaml",
    "java-vs-librdkafka-commit.yaml",
    "scale-in-shutdown.yaml",
    "max-poll-interval-exceeded.yaml",
    "static-membership-restart.yaml",
    "idempotent-consumer.yaml",
    "ttl-too-short.yaml",
    "replay-by-seek.yaml",
    "effect-and-mark-not-atomic.yaml",
    "dual-write-loses-events.yaml",
    "outbox-survives-outage.yaml",
    "relay-marks-without-waiting.yaml",
    "relay-crash-duplicates.yaml",
    "relay-mark-fails.yaml",
    "end-to-end.yaml",
];

/// The lesson `kafkasim` runs when given no arguments.
pub const DEFAULT: &str = "crash-before-commit.yaml";

pub fn find(name: &str) -> Option<&'static Lesson> {
    let stem = name.trim_end_matches(".yaml");
    LESSONS
        .iter()
        .find(|l| l.file.trim_end_matches(".yaml") == stem)
}
