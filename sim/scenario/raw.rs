//! Stage one of loading a scenario: the file's shape, exactly as written, with source spans.
//!
//! Plain serde with `deny_unknown_fields`, so a typo is an error with a line and a caret.
//! No meaning is checked here (that is `validate`), and no defaults are applied beyond
//! "absent"; every `Option` is resolved to Kafka's default in stage two, in one place.

use super::schema as sch;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

/// A value with where it was written (`value`, `referenced`, `defined`, through `Deref`).
///
/// A newtype over serde-saphyr's `Spanned` rather than an alias, only so that it can
/// implement `JsonSchema` (a foreign trait cannot be implemented for a foreign type): its
/// schema is `T`'s, as its serde form is `T`'s.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct S<T>(pub Spanned<T>);

impl<T: JsonSchema> JsonSchema for S<T> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        generator.subschema_for::<T>()
    }
}

impl<T> std::ops::Deref for S<T> {
    type Target = Spanned<T>;
    fn deref(&self) -> &Spanned<T> {
        &self.0
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    #[schemars(schema_with = "sch::name")]
    pub name: S<String>,
    pub title: S<String>,
    #[serde(default)]
    pub lesson: Option<S<String>>,
    #[serde(default)]
    pub seed: Option<S<u64>>,
    #[serde(default)]
    pub cluster: Option<RawCluster>,
    pub topics: S<Vec<RawTopic>>,
    #[serde(default)]
    pub producers: Vec<RawProducer>,
    #[serde(default)]
    pub consumer_groups: Vec<RawGroup>,
    #[serde(default)]
    pub services: Vec<RawService>,
    #[serde(default)]
    pub faults: Vec<RawFault>,
    #[serde(default)]
    pub run: Option<RawRun>,
    #[serde(default)]
    #[schemars(schema_with = "sch::expect")]
    pub expect: Option<RawExpect>,
    /// Faults drawn anew from each seed (README §1.11).
    #[serde(default)]
    pub chaos: Option<RawChaos>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCluster {
    #[serde(default)]
    pub brokers: Option<S<u64>>,
    #[serde(default)]
    pub network: Option<RawNetwork>,
    #[serde(default)]
    pub config: Option<RawBrokerConfig>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    pub latency_ms: S<RawLatency>,
}

/// `latency_ms: 2` or `latency_ms: { min: 1, max: 3 }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawLatency {
    Fixed(u64),
    Range(RawRange),
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRange {
    pub min: u64,
    pub max: u64,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBrokerConfig {
    #[serde(rename = "group.initial.rebalance.delay.ms", default)]
    pub group_initial_rebalance_delay_ms: Option<S<u64>>,
    #[serde(rename = "min.insync.replicas", default)]
    pub min_insync_replicas: Option<S<u64>>,
    #[serde(rename = "unclean.leader.election.enable", default)]
    pub unclean_leader_election_enable: Option<S<bool>>,
    #[serde(rename = "broker.session.timeout.ms", default)]
    pub broker_session_timeout_ms: Option<S<u64>>,
    #[serde(rename = "replica.lag.time.max.ms", default)]
    pub replica_lag_time_max_ms: Option<S<u64>>,
    #[serde(rename = "replica.fetch.wait.max.ms", default)]
    pub replica_fetch_wait_max_ms: Option<S<u64>>,
    #[serde(rename = "replica.socket.timeout.ms", default)]
    pub replica_socket_timeout_ms: Option<S<u64>>,
    #[serde(rename = "replica.fetch.backoff.ms", default)]
    pub replica_fetch_backoff_ms: Option<S<u64>>,
    #[serde(rename = "log.retention.check.interval.ms", default)]
    pub log_retention_check_interval_ms: Option<S<u64>>,
    #[serde(rename = "log.cleaner.backoff.ms", default)]
    pub log_cleaner_backoff_ms: Option<S<u64>>,
}

/// A topic's own configuration, overriding the brokers' defaults.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTopicConfig {
    #[serde(rename = "min.insync.replicas", default)]
    pub min_insync_replicas: Option<S<u64>>,
    #[serde(rename = "unclean.leader.election.enable", default)]
    pub unclean_leader_election_enable: Option<S<bool>>,
    /// -1 (no limit) or a number of ms.
    #[serde(rename = "retention.ms", default)]
    pub retention_ms: Option<S<i64>>,
    /// -1 (no limit) or a number of bytes.
    #[serde(rename = "retention.bytes", default)]
    pub retention_bytes: Option<S<i64>>,
    #[serde(rename = "segment.bytes", default)]
    pub segment_bytes: Option<S<u64>>,
    #[serde(rename = "segment.ms", default)]
    pub segment_ms: Option<S<u64>>,
    /// `delete`, `compact`, or `compact,delete`.
    #[serde(rename = "cleanup.policy", default)]
    #[schemars(schema_with = "sch::cleanup_policy")]
    pub cleanup_policy: Option<S<String>>,
    #[serde(rename = "delete.retention.ms", default)]
    pub delete_retention_ms: Option<S<u64>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTopic {
    #[schemars(schema_with = "sch::name")]
    pub name: S<String>,
    #[serde(default)]
    pub partitions: Option<S<u64>>,
    #[serde(default)]
    pub replication_factor: Option<S<u64>>,
    #[serde(default)]
    pub config: Option<RawTopicConfig>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawProducer {
    #[schemars(schema_with = "sch::name")]
    pub name: S<String>,
    #[schemars(schema_with = "sch::name")]
    pub topic: S<String>,
    #[serde(default)]
    pub config: Option<RawProducerConfig>,
    pub send: RawSend,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawProducerConfig {
    #[serde(default)]
    #[schemars(schema_with = "sch::acks")]
    pub acks: Option<S<RawScalar>>,
    #[serde(rename = "enable.idempotence", default)]
    pub enable_idempotence: Option<S<bool>>,
    #[serde(default)]
    pub retries: Option<S<u64>>,
    #[serde(rename = "retry.backoff.ms", default)]
    pub retry_backoff_ms: Option<S<u64>>,
    #[serde(rename = "request.timeout.ms", default)]
    pub request_timeout_ms: Option<S<u64>>,
    #[serde(rename = "delivery.timeout.ms", default)]
    pub delivery_timeout_ms: Option<S<u64>>,
    #[serde(rename = "max.in.flight.requests.per.connection", default)]
    pub max_in_flight_requests_per_connection: Option<S<u64>>,
    #[serde(rename = "linger.ms", default)]
    pub linger_ms: Option<S<u64>>,
    #[serde(rename = "batch.size", default)]
    pub batch_size: Option<S<u64>>,
    #[serde(default)]
    #[schemars(schema_with = "sch::partitioner")]
    pub partitioner: Option<S<String>>,
    #[serde(rename = "metadata.max.age.ms", default)]
    pub metadata_max_age_ms: Option<S<u64>>,
}

/// A YAML scalar that Kafka lets be a number or a word (`acks: all`, `acks: 1`).
#[derive(Debug, Deserialize, Clone, JsonSchema)]
#[serde(untagged)]
pub enum RawScalar {
    Int(i64),
    Text(String),
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSend {
    pub count: S<u64>,
    #[serde(default)]
    pub every_ms: Option<S<u64>>,
    #[serde(default)]
    pub start_ms: Option<S<u64>>,
    /// Absent or `null`: null keys, spread round-robin as kafkajs does.
    #[serde(default)]
    pub keys: Option<RawKeys>,
    #[serde(default)]
    #[schemars(schema_with = "sch::opt_name")]
    pub event_type: Option<S<String>>,
    /// Every N-th send is a tombstone (a null value).
    #[serde(default)]
    pub tombstone_every: Option<S<u64>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawKeys {
    pub pattern: S<String>,
    #[serde(default)]
    pub distinct: Option<S<u64>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGroup {
    #[schemars(schema_with = "sch::name")]
    pub name: S<String>,
    #[schemars(schema_with = "sch::names")]
    pub topics: Vec<S<String>>,
    #[serde(default)]
    pub members: Option<S<u64>>,
    #[serde(default)]
    pub start_at_ms: Option<S<u64>>,
    #[serde(default)]
    pub config: Option<RawConsumerConfig>,
    #[serde(default)]
    pub processing: Option<RawProcessing>,
    #[serde(default)]
    pub idempotency: Option<RawIdempotency>,
    /// Static membership: each member's `group.instance.id` is its name.
    #[serde(rename = "static", default)]
    pub static_members: Option<S<bool>>,
    /// The client library the members run: `java` (default) or `librdkafka`.
    #[serde(default)]
    #[schemars(schema_with = "sch::client")]
    pub client: Option<S<String>>,
    /// Per member, in member order: the topics it subscribes to (members past the list
    /// subscribe to `topics`).
    #[serde(default)]
    #[schemars(schema_with = "sch::subscriptions")]
    pub subscriptions: Option<S<Vec<Vec<S<String>>>>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawConsumerConfig {
    #[serde(rename = "enable.auto.commit", default)]
    pub enable_auto_commit: Option<S<bool>>,
    #[serde(rename = "auto.commit.interval.ms", default)]
    pub auto_commit_interval_ms: Option<S<u64>>,
    #[serde(rename = "auto.offset.reset", default)]
    #[schemars(schema_with = "sch::offset_reset")]
    pub auto_offset_reset: Option<S<String>>,
    #[serde(rename = "partition.assignment.strategy", default)]
    #[schemars(schema_with = "sch::assignor")]
    pub partition_assignment_strategy: Option<S<String>>,
    #[serde(rename = "session.timeout.ms", default)]
    pub session_timeout_ms: Option<S<u64>>,
    #[serde(rename = "heartbeat.interval.ms", default)]
    pub heartbeat_interval_ms: Option<S<u64>>,
    #[serde(rename = "max.poll.interval.ms", default)]
    pub max_poll_interval_ms: Option<S<u64>>,
    #[serde(rename = "max.poll.records", default)]
    pub max_poll_records: Option<S<u64>>,
    #[serde(rename = "fetch.max.wait.ms", default)]
    pub fetch_max_wait_ms: Option<S<u64>>,
    #[serde(rename = "metadata.max.age.ms", default)]
    pub metadata_max_age_ms: Option<S<u64>>,
    /// librdkafka only: store a message's offset + 1 when it is handed to the application.
    #[serde(rename = "enable.auto.offset.store", default)]
    pub enable_auto_offset_store: Option<S<bool>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawProcessing {
    #[serde(default)]
    pub time_ms: Option<S<u64>>,
    #[serde(default)]
    #[schemars(schema_with = "sch::opt_name")]
    pub effect: Option<S<String>>,
    #[serde(default)]
    #[schemars(schema_with = "sch::commit")]
    pub commit: Option<S<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawIdempotency {
    #[schemars(schema_with = "sch::store")]
    pub store: S<String>,
    #[serde(default)]
    pub ttl_ms: Option<S<u64>>,
    #[serde(default)]
    #[schemars(schema_with = "sch::on_store_unavailable")]
    pub on_store_unavailable: Option<S<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    #[schemars(schema_with = "sch::name")]
    pub name: S<String>,
    #[schemars(schema_with = "sch::name")]
    pub topic: S<String>,
    pub commands: RawSend,
    #[schemars(schema_with = "sch::publish")]
    pub publish: S<String>,
    #[serde(default)]
    pub database: Option<RawDatabase>,
    #[serde(default)]
    pub producer: Option<RawProducerConfig>,
    #[serde(default)]
    pub relay: Option<RawRelay>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDatabase {
    #[serde(default)]
    pub commit_ms: Option<S<u64>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRelay {
    #[serde(default)]
    pub poll_interval_ms: Option<S<u64>>,
    #[serde(default)]
    pub batch_size: Option<S<u64>>,
    #[serde(default)]
    pub count: Option<S<u64>>,
    #[serde(default)]
    #[schemars(schema_with = "sch::mark")]
    pub mark: Option<S<String>>,
}

/// One scheduled fault. Exactly one action field (`crash`, `restart`, `join`, `leave`,
/// `close_interrupted`, `isolate`, `kafka_outage`, `store_outage`, `mark_fails`) must be present; stage
/// two checks that.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFault {
    pub at_ms: S<u64>,
    #[serde(default)]
    pub crash: Option<S<String>>,
    #[serde(default)]
    #[schemars(schema_with = "sch::crash_point")]
    pub point: Option<S<String>>,
    #[serde(default)]
    pub on_record: Option<S<u64>>,
    #[serde(default)]
    pub restart: Option<S<String>>,
    #[serde(default)]
    pub join: Option<S<String>>,
    /// `add_partitions: TOPIC` with `partitions: N`, the topic's new partition count.
    #[serde(default)]
    pub add_partitions: Option<S<String>>,
    #[serde(default)]
    pub partitions: Option<S<u64>>,
    #[serde(default)]
    pub members: Option<S<u64>>,
    #[serde(default)]
    pub leave: Option<S<String>>,
    #[serde(default)]
    pub close_interrupted: Option<S<String>>,
    #[serde(default)]
    pub shutdown: Option<S<String>>,
    /// `broker-N`, cut off from the other brokers and the controller for `for_ms`.
    #[serde(default)]
    pub isolate_broker: Option<S<String>>,
    #[serde(default)]
    pub isolate: Option<S<String>>,
    /// With `isolate`: the brokers refuse the client's connections (it fails fast)
    /// instead of dropping its requests silently.
    #[serde(default)]
    pub refused: Option<S<bool>>,
    #[serde(default)]
    pub kafka_outage: Option<S<bool>>,
    #[serde(default)]
    pub store_outage: Option<S<String>>,
    #[serde(default)]
    pub mark_fails: Option<S<String>>,
    /// A kind of message (`produce`, `fetch_response`, …) to `drop` or delay
    /// (`delay_ms`) for `for_ms`.
    #[serde(default)]
    #[schemars(schema_with = "sch::message_kind")]
    pub messages: Option<S<String>>,
    #[serde(default)]
    pub drop: Option<S<bool>>,
    #[serde(default)]
    pub delay_ms: Option<S<u64>>,
    #[serde(default)]
    pub for_ms: Option<S<u64>>,
    /// `seek: GROUP` with `to:` and optionally `topic:` and `partition:`.
    #[serde(default)]
    pub seek: Option<S<String>>,
    #[serde(default)]
    #[schemars(schema_with = "sch::seek_to")]
    pub to: Option<S<RawSeekTo>>,
    #[serde(default)]
    #[schemars(schema_with = "sch::opt_name")]
    pub topic: Option<S<String>>,
    #[serde(default)]
    pub partition: Option<S<u64>>,
}

/// `to: beginning`, `to: end`, `to: 40` or `to: { timestamp_ms: 5000 }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawSeekTo {
    Offset(u64),
    Word(String),
    Timestamp(RawTimestamp),
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTimestamp {
    pub timestamp_ms: u64,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRun {
    #[serde(default)]
    pub until_ms: Option<S<u64>>,
    #[serde(default)]
    pub max_events: Option<S<u64>>,
}

/// Expectations as written: `counter: condition` pairs, in file order, each with its span.
/// A map visitor rather than a struct, so the counter names live in one place
/// (`Counter`) and an unknown one is reported by stage two with its line.
#[derive(Debug, Default)]
pub struct RawExpect(pub Vec<(S<String>, S<RawScalar>)>);

impl<'de> Deserialize<'de> for RawExpect {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Pairs;
        impl<'de> serde::de::Visitor<'de> for Pairs {
            type Value = RawExpect;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of counter: condition")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<RawExpect, A::Error> {
                let mut pairs = Vec::new();
                while let Some(key) = m.next_key::<S<String>>()? {
                    pairs.push((key, m.next_value()?));
                }
                Ok(RawExpect(pairs))
            }
        }
        d.deserialize_map(Pairs)
    }
}

/// `chaos:`: faults that each seed draws for itself, and per-message network chaos.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawChaos {
    #[serde(default)]
    pub faults: Vec<RawChaosFault>,
    #[serde(default)]
    pub network: Option<RawChaosNetwork>,
}

/// One chaos fault: a fault whose numbers may be ranges (`[lo, hi]`) and whose names may
/// be lists, which a seed draws with `probability`. Exactly one action field (`crash`,
/// `shutdown`, `isolate_broker`, `isolate`, `kafka_outage`, `store_outage`); stage two
/// checks that.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawChaosFault {
    /// `N/D`, `0` or `1` (default 1).
    #[serde(default)]
    #[schemars(schema_with = "sch::ratio")]
    pub probability: Option<S<RawRatio>>,
    #[schemars(schema_with = "sch::span")]
    pub at_ms: S<RawSpan>,
    #[serde(default)]
    #[schemars(schema_with = "sch::opt_names")]
    pub crash: Option<S<RawNames>>,
    #[serde(default)]
    #[schemars(schema_with = "sch::crash_points")]
    pub point: Option<S<RawNames>>,
    #[serde(default)]
    #[schemars(schema_with = "sch::opt_span")]
    pub on_record: Option<S<RawSpan>>,
    /// With `crash` or `shutdown`: restart the target this long after it goes down.
    #[serde(default)]
    #[schemars(schema_with = "sch::opt_span")]
    pub restart_after_ms: Option<S<RawSpan>>,
    #[serde(default)]
    #[schemars(schema_with = "sch::opt_names")]
    pub shutdown: Option<S<RawNames>>,
    #[serde(default)]
    #[schemars(schema_with = "sch::opt_names")]
    pub isolate_broker: Option<S<RawNames>>,
    #[serde(default)]
    #[schemars(schema_with = "sch::opt_names")]
    pub isolate: Option<S<RawNames>>,
    #[serde(default)]
    pub refused: Option<S<bool>>,
    #[serde(default)]
    pub kafka_outage: Option<S<bool>>,
    #[serde(default)]
    #[schemars(schema_with = "sch::opt_names")]
    pub store_outage: Option<S<RawNames>>,
    #[serde(default)]
    #[schemars(schema_with = "sch::opt_span")]
    pub for_ms: Option<S<RawSpan>>,
}

/// `chaos.network`: per-message chaos on every path.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawChaosNetwork {
    /// Extra latency per message, drawn in `0 ..= jitter_ms`.
    #[serde(default)]
    pub jitter_ms: Option<S<u64>>,
    /// Per message kind, the ratio of its messages lost: `{ produce: 1/100 }`.
    #[serde(default)]
    #[schemars(schema_with = "sch::drop_ratios")]
    pub drop: Option<RawPairs<RawRatio>>,
}

/// A probability as written: `1/4` (text), `0` or `1`, or a decimal, which stage two
/// refuses with the reason (integer ratios draw the same everywhere).
#[derive(Debug, Clone)]
pub enum RawRatio {
    Int(i64),
    Text(String),
    Decimal(f64),
}

impl<'de> Deserialize<'de> for RawRatio {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Ratio;
        impl serde::de::Visitor<'_> for Ratio {
            type Value = RawRatio;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a probability: a ratio N/D such as 1/4, or 0 or 1")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<RawRatio, E> {
                Ok(RawRatio::Int(i64::try_from(v).unwrap_or(i64::MAX)))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<RawRatio, E> {
                Ok(RawRatio::Int(v))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<RawRatio, E> {
                Ok(RawRatio::Decimal(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawRatio, E> {
                Ok(RawRatio::Text(v.to_string()))
            }
        }
        d.deserialize_any(Ratio)
    }
}

/// A number (`500`) or an inclusive range written `[lo, hi]`, as written; stage two checks
/// that a range has two numbers in order.
#[derive(Debug, Clone)]
pub enum RawSpan {
    Fixed(u64),
    Range(Vec<u64>),
}

impl<'de> Deserialize<'de> for RawSpan {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Span;
        impl<'de> serde::de::Visitor<'de> for Span {
            type Value = RawSpan;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a whole number or a range [lo, hi]")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<RawSpan, E> {
                Ok(RawSpan::Fixed(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<RawSpan, E> {
                u64::try_from(v).map(RawSpan::Fixed).map_err(|_| {
                    E::custom(format!(
                        "expected a whole number (0 or more) or a range [lo, hi], got {v}"
                    ))
                })
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<RawSpan, A::Error> {
                let mut values = Vec::new();
                // Two belong here; a few more are read only to say how many there were.
                while let Some(v) = seq.next_element::<u64>()? {
                    if values.len() < 16 {
                        values.push(v);
                    }
                }
                Ok(RawSpan::Range(values))
            }
        }
        d.deserialize_any(Span)
    }
}

/// One name (`payments-1`) or a list of names (`[payments-1, payments-2]`). Each name in a
/// list keeps its own span; a single name has the span of the field's value.
#[derive(Debug)]
pub enum RawNames {
    One(String),
    Many(Vec<S<String>>),
}

impl<'de> Deserialize<'de> for RawNames {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Names;
        impl<'de> serde::de::Visitor<'de> for Names {
            type Value = RawNames;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a name or a list of names")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawNames, E> {
                Ok(RawNames::One(v.to_string()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<RawNames, A::Error> {
                let mut names = Vec::new();
                while let Some(n) = seq.next_element::<S<String>>()? {
                    names.push(n);
                }
                Ok(RawNames::Many(names))
            }
        }
        d.deserialize_any(Names)
    }
}

/// `key: value` pairs in file order, each with its span (`chaos.network.drop`): the keys
/// are checked in stage two, so an unknown one is reported with its line and the reason.
#[derive(Debug, Default)]
pub struct RawPairs<V>(pub Vec<(S<String>, S<V>)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for RawPairs<V> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Pairs<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Pairs<V> {
            type Value = RawPairs<V>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of key: value")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<RawPairs<V>, A::Error> {
                let mut pairs = Vec::new();
                while let Some(key) = m.next_key::<S<String>>()? {
                    pairs.push((key, m.next_value()?));
                }
                Ok(RawPairs(pairs))
            }
        }
        d.deserialize_map(Pairs(std::marker::PhantomData))
    }
}
