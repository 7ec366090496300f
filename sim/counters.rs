//! The named counters a run reports: JSON `totals` keys, `expect:` names and summary rows.
//!
//! One enum, one list, so a counter added here is at once expectable, printed and in JSON.
//! The names are a contract with users' scripts: only ever add.

/// Where a counter is counted (README §3.1): per consumer group, per service, or only for
/// the whole run. Group and service counters are summed into the run's totals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Total,
    Group,
    Service,
}

impl Scope {
    pub fn name(self) -> &'static str {
        match self {
            Scope::Total => "total",
            Scope::Group => "group",
            Scope::Service => "service",
        }
    }
}

macro_rules! counters {
    ($($variant:ident => $name:literal, $scope:ident: $doc:literal,)*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
        pub enum Counter { $($variant,)* }

        impl Counter {
            pub const ALL: &'static [Counter] = &[$(Counter::$variant,)*];

            pub fn name(self) -> &'static str {
                match self { $(Counter::$variant => $name,)* }
            }

            pub fn scope(self) -> Scope {
                match self { $(Counter::$variant => Scope::$scope,)* }
            }

            /// One sentence for README and `--help` readers.
            pub fn doc(self) -> &'static str {
                match self { $(Counter::$variant => $doc,)* }
            }
        }
    };
}

counters! {
    Produced => "produced", Total: "records handed to a producer's send() (including service publishes)",
    Acked => "acked", Total: "sends the producer saw acknowledged",
    Appended => "appended", Total: "records appended to partition logs (a retried send may append twice)",
    Delivered => "delivered", Group: "records returned by a consumer poll",
    Processed => "processed", Group: "records a consumer finished handling (effect applied or skipped as a duplicate)",
    DuplicateDeliveries => "duplicate_deliveries", Group: "deliveries of a partition+offset the group had already delivered",
    DuplicateEffects => "duplicate_effects", Group: "effects applied again for an eventId the group had already applied",
    Lost => "lost", Group: "records the group will never process: a commit moved past them before they were processed",
    KeyOrderViolations => "key_order_violations", Group: "records first processed after a later-produced record of the same key from the same producer to the same topic",
    SkippedOffsets => "skipped_offsets", Group: "offsets a member jumped over within a partition",
    Rebalances => "rebalances", Group: "completed rebalances (new generations)",
    IdleMembers => "idle_members", Group: "members left without partitions, summed over generations (a member idle through three rebalances counts three)",
    DuplicatesAbsorbed => "duplicates_absorbed", Group: "redeliveries an idempotent consumer recognised and skipped",
    OrdersCommitted => "orders_committed", Service: "orders committed in a service's database",
    CommittedWithoutEvent => "committed_without_event", Service: "committed orders whose event is not in the log when the run ends: it never reached it, or a truncation took it out",
    PublishedDuplicates => "published_duplicates", Service: "extra copies of an eventId in the log",
    OrdersNotApplied => "orders_not_applied", Service: "published orders whose effect some group subscribed to the topic never applied",
    OrdersAppliedTwice => "orders_applied_twice", Service: "committed orders whose effect some group applied more than once",
    SendFailed => "send_failed", Total: "sends a producer, service or relay gave up on (retries or delivery.timeout.ms)",
    UnackedLost => "unacked_lost", Total: "acks=0 sends whose only request was dropped before it reached the log, or refused by its partition's leader (the producer never learns)",
    SkippedByReset => "skipped_by_reset", Group: "records the group never processed because an offset reset moved its position past them",
    UnprocessedAtEnd => "unprocessed_at_end", Group: "records still in the log and unprocessed when the run ended, with nothing past them: lag, not loss",
    RecordsInLog => "records_in_log", Group: "records appended to the group's partitions and not truncated away, including those retention deleted (= records_processed + skipped_by_reset + skipped_by_retention + skipped_by_seek + compacted + lost + unprocessed_at_end)",
    RecordsProcessed => "records_processed", Group: "records (partition offsets) the group processed at least once",
    CommandsRefused => "commands_refused", Service: "commands that reached a service while it was down: no order was placed",
    InFlightAtEnd => "in_flight_at_end", Total: "sends still unfinished when the run ended whose record had not reached the log: in their producer client (waiting to be sent, or for an answer), or an acks=0 request still on its way to the brokers",
    AckedLost => "acked_lost", Total: "acknowledged records that a new leader did not have: gone from the log (acks=1 before the followers copied them, or an unclean election)",
    RejectedNotEnoughReplicas => "rejected_not_enough_replicas", Total: "records an acks=all write offered while the ISR was smaller than min.insync.replicas: refused with NotEnoughReplicas, nothing appended (the client retries)",
    PartitionOfflineMs => "partition_offline_ms", Total: "milliseconds partitions spent without a live leader (from the leader's crash until another is elected or it returns, or with no replica able to lead), summed over partitions",
    LogDuplicates => "log_duplicates", Total: "extra copies of an eventId in the partition logs, from any producer, service or relay (each copy after the first counts once)",
    LogReorders => "log_reorders", Total: "records appended to a partition after a record of the same key that their producer or service sent later (first copies only)",
    KeySplits => "key_splits", Total: "keys whose records are in two partitions of one topic, because their senders' partitioners place them differently (once per key and topic)",
    Compacted => "compacted", Group: "records the group never processed because the log cleaner removed them first (cleanup.policy=compact): a later record of the same key superseded each, or it was a tombstone past delete.retention.ms; not lost: the key's latest value is still in the log",
    SkippedByRetention => "skipped_by_retention", Group: "records the group never processed because retention deleted them first (retention.ms or retention.bytes); a member whose position was below the new log start offset got OFFSET_OUT_OF_RANGE and reset per auto.offset.reset",
    PollTimeouts => "poll_timeouts", Group: "times a member left the group because handling one poll's records took longer than max.poll.interval.ms (each one a rebalance, and the records it had are redelivered to their next owner)",
    NoOffsetErrors => "no_offset_errors", Group: "partitions a member found with no committed offset (or its position out of range) under auto.offset.reset=none: poll() threw and the member stopped consuming; their records stay unprocessed (unprocessed_at_end)",
    RebalancePauseMs => "rebalance_pause_ms", Group: "partition-milliseconds members spent not consuming partitions they owned because of a rebalance (eager: every owned partition, from the revocation before the join to the assignment; cooperative: only the moved ones, from their revocation to the next assignment), summed over members",
    PartitionsMoved => "partitions_moved", Group: "partitions handed to a different member than the one that last owned them, summed over generations",
    SkippedBySeek => "skipped_by_seek", Group: "records the group never processed because a seek (a seek fault: to the end, an offset or a timestamp) moved a member's position forward past them",
}

impl Counter {
    /// What becomes of each record in a group's partitions, one counter each: every record
    /// in the log ends in exactly one, so for every group `records_in_log` is their sum
    /// (README §3.2, the identity).
    pub const RECORD_FATES: [Counter; 7] = [
        Counter::RecordsProcessed,
        Counter::SkippedByReset,
        Counter::SkippedByRetention,
        Counter::SkippedBySeek,
        Counter::Compacted,
        Counter::Lost,
        Counter::UnprocessedAtEnd,
    ];
}

/// A value for every counter, indexed by `Counter`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counts([u64; Counter::ALL.len()]);

impl Default for Counts {
    fn default() -> Self {
        Counts([0; Counter::ALL.len()])
    }
}

impl Counts {
    pub fn get(&self, c: Counter) -> u64 {
        self.0[c as usize]
    }
    pub fn add(&mut self, c: Counter, n: u64) {
        self.0[c as usize] += n;
    }
    pub fn set(&mut self, c: Counter, n: u64) {
        self.0[c as usize] = n;
    }
    pub fn bump(&mut self, c: Counter) {
        self.add(c, 1);
    }
}

impl Counter {
    pub fn from_name(name: &str) -> Option<Counter> {
        Counter::ALL.iter().copied().find(|c| c.name() == name)
    }
}
