//! The checker: named properties judged online, as trace records arrive, each anomaly with
//! its cause; then the scenario's `expect:` block.
//!
//! `Checker` is a `TraceSink`. For each record it updates the shared history (`facts.rs`),
//! then hands the record to each property, one per file: `tallies.rs` (plain counts),
//! `deliveries.rs` (duplicate deliveries), `skipped.rs` (skipped offsets), `effects.rs`
//! (duplicate effects and the side-effect ledger), `key_order.rs` (per-key order), `accounting.rs`
//! (every record processed, skipped, lost or waiting), `producers.rs` (sends given up or
//! dropped), `services.rs` (orders versus events), `log_duplicates.rs` (an eventId at two
//! offsets of the log) and `log_reorders.rs` (a key's records in the log against send
//! order). It
//! never reads model state: what the timeline shows and what the verdict counts come from
//! the same records. Each property keeps only the state it needs.

mod accounting;
mod deliveries;
mod effects;
pub mod facts;
mod key_order;
mod key_splits;
mod log_duplicates;
mod log_reorders;
mod no_offset;
mod producers;
mod replication;
mod services;
mod skipped;
mod tallies;

use crate::counters::{Counter, Counts, Scope};
use crate::engine::Time;
use crate::model::log::Offset;
use crate::scenario::{Expectation, Scenario, Within};
use crate::trace::{ActorId, EventIx, Kind, PartId, Tables, TraceEvent, TraceSink};
use facts::{Facts, Update};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AnomalyKind {
    DuplicateDelivery,
    DuplicateEffect,
    Lost,
    KeyOrderViolation,
    SkippedOffset,
    CommittedWithoutEvent,
    PublishedDuplicate,
    NotApplied,
    SkippedByReset,
    SendFailed,
    UnackedLost,
    InFlightAtEnd,
    AckedLost,
    LogDuplicate,
    LogReorder,
    KeySplit,
    SkippedByRetention,
    Compacted,
    NoOffset,
    SkippedBySeek,
}

impl AnomalyKind {
    /// The JSON `kind` (README §3.3): the one spelling.
    pub fn name(self) -> &'static str {
        match self {
            AnomalyKind::DuplicateDelivery => "duplicate_delivery",
            AnomalyKind::DuplicateEffect => "duplicate_effect",
            AnomalyKind::Lost => "lost",
            AnomalyKind::KeyOrderViolation => "key_order_violation",
            AnomalyKind::SkippedOffset => "skipped_offset",
            AnomalyKind::CommittedWithoutEvent => "committed_without_event",
            AnomalyKind::PublishedDuplicate => "published_duplicate",
            AnomalyKind::NotApplied => "not_applied",
            AnomalyKind::SkippedByReset => "skipped_by_reset",
            AnomalyKind::SendFailed => "send_failed",
            AnomalyKind::UnackedLost => "unacked_lost",
            AnomalyKind::InFlightAtEnd => "in_flight_at_end",
            AnomalyKind::AckedLost => "acked_lost",
            AnomalyKind::LogDuplicate => "log_duplicate",
            AnomalyKind::LogReorder => "log_reorder",
            AnomalyKind::KeySplit => "key_split",
            AnomalyKind::SkippedByRetention => "skipped_by_retention",
            AnomalyKind::Compacted => "compacted",
            AnomalyKind::NoOffset => "no_offset",
            AnomalyKind::SkippedBySeek => "skipped_by_seek",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Anomaly {
    pub kind: AnomalyKind,
    /// The consumer group or service it belongs to.
    pub scope: String,
    pub at: Time,
    pub part: Option<PartId>,
    pub offset: Option<Offset>,
    pub event: Option<EventIx>,
    pub cause: String,
    /// The causal chain behind `cause`, in time order: each fact the checker used to
    /// build the sentence, with when it happened, ending with the anomaly itself (what the
    /// reader sees). `kafkasim explain` tells it as a story. Empty for an anomaly kept
    /// without one (none today).
    pub chain: Vec<Link>,
}

/// One link of an anomaly's causal chain: something that happened at `at` (ms), as the
/// trace told the checker, in one plain sentence without the time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub at: Time,
    pub text: String,
    /// The anomaly itself, what the reader sees: the chain's last link.
    pub effect: bool,
}

impl Link {
    /// A fact the cause rests on.
    pub fn new(at: Time, text: impl Into<String>) -> Link {
        Link {
            at,
            text: text.into(),
            effect: false,
        }
    }

    /// The visible effect: sorted after every cause at the same ms.
    pub fn effect(at: Time, text: impl Into<String>) -> Link {
        Link {
            effect: true,
            ..Link::new(at, text)
        }
    }
}

/// An eventId whose effect a group applied more than once, with every application.
#[derive(Clone, Debug)]
pub struct Reapplied {
    pub event: EventIx,
    pub applications: Vec<(Time, ActorId)>,
}

#[derive(Clone, Debug)]
pub struct GroupVerdict {
    pub name: String,
    pub counts: Counts,
    /// (partition, committed offset) for each of the group's partitions, from the trace.
    pub committed: Vec<(PartId, Option<Offset>)>,
    /// (partition, lag) for each of the group's partitions when the run ended: the log end
    /// offset minus the committed offset (None where the group never committed).
    pub lag: Vec<(PartId, Option<u64>)>,
    /// The side-effect ledger: applications in all, distinct eventIds applied, and the
    /// eventIds applied more than once.
    pub applied: u64,
    pub applied_distinct: u64,
    pub reapplied: Vec<Reapplied>,
}

#[derive(Clone, Debug)]
pub struct ServiceVerdict {
    pub name: String,
    pub counts: Counts,
}

#[derive(Clone, Debug)]
pub struct ExpectationResult {
    pub expectation: Expectation,
    pub actual: u64,
    pub holds: bool,
}

impl ExpectationResult {
    /// `lost expected 0 got 3`: how a failed expectation is reported.
    pub fn describe(&self) -> String {
        format!(
            "{} expected {} got {}",
            self.expectation.name, self.expectation.condition, self.actual
        )
    }
}

#[derive(Clone, Debug)]
pub struct Verdict {
    pub totals: Counts,
    pub groups: Vec<GroupVerdict>,
    pub services: Vec<ServiceVerdict>,
    /// The first `ANOMALIES_KEPT` anomalies by (time, kind).
    pub anomalies: Vec<Anomaly>,
    /// Anomalies past the first `ANOMALIES_KEPT`, counted by kind (the counters count
    /// every one): a run with millions of them keeps bounded memory.
    pub anomalies_left_out: Vec<(AnomalyKind, u64)>,
    pub expectations: Vec<ExpectationResult>,
    pub pass: bool,
}

/// Anomalies a verdict keeps with their cause, the earliest by (time, kind); the rest are
/// counted by kind. 50000 causes are about 30 MB.
pub const ANOMALIES_KEPT: usize = 50_000;

/// What the properties found so far: counts and anomalies, per group, service and run.
pub struct Findings<'s> {
    sc: &'s Scenario,
    pub groups: Vec<Counts>,
    pub services: Vec<Counts>,
    pub totals: Counts,
    anomalies: Vec<Anomaly>,
    left_out: BTreeMap<AnomalyKind, u64>,
    /// Once anomalies have been cut to the earliest `ANOMALIES_KEPT`: the key of the last
    /// one kept. A later one can only be left out.
    cutoff: Option<(Time, AnomalyKind)>,
}

impl Findings<'_> {
    /// Adds an anomaly. Past twice `ANOMALIES_KEPT`, the latest by (time, kind) are
    /// dropped and counted, so memory stays bounded whatever a run finds; the ones kept
    /// are the same as sorting everything and keeping the first `ANOMALIES_KEPT`.
    pub fn push(&mut self, mut a: Anomaly) {
        // A chain reads from the first cause to the effect: in time order, and at one ms
        // in the order the property found them.
        a.chain.sort_by_key(|l| (l.at, l.effect));
        // A fact two parts of a cause both rest on (a crash) is told once.
        let mut i = 0;
        while i < a.chain.len() {
            if a.chain[..i].contains(&a.chain[i]) {
                a.chain.remove(i);
            } else {
                i += 1;
            }
        }
        self.anomalies.push(a);
        if self.anomalies.len() >= 2 * ANOMALIES_KEPT {
            self.keep_earliest();
        }
    }

    fn keep_earliest(&mut self) {
        self.anomalies.sort_by_key(|a| (a.at, a.kind));
        for a in self
            .anomalies
            .drain(ANOMALIES_KEPT.min(self.anomalies.len())..)
        {
            *self.left_out.entry(a.kind).or_default() += 1;
        }
        if self.anomalies.len() == ANOMALIES_KEPT {
            self.cutoff = self.anomalies.last().map(|a| (a.at, a.kind));
        }
    }

    /// Whether an anomaly of `kind` at `at` would be kept: if not, it is counted as left
    /// out now, and the caller need not build its cause (millions of them cost seconds).
    pub fn will_keep(&mut self, at: Time, kind: AnomalyKind) -> bool {
        match self.cutoff {
            Some(c) if (at, kind) >= c => {
                *self.left_out.entry(kind).or_default() += 1;
                false
            }
            _ => true,
        }
    }

    /// Counts `n` of `c` for group `g` (group counters) or the run (total counters).
    pub fn count_group(&mut self, g: usize, c: Counter, n: u64) {
        debug_assert_eq!(c.scope(), Scope::Group);
        self.groups[g].add(c, n);
    }

    #[allow(clippy::too_many_arguments)]
    pub fn group_anomaly(
        &mut self,
        kind: AnomalyKind,
        g: usize,
        at: Time,
        part: Option<PartId>,
        offset: Option<Offset>,
        event: Option<EventIx>,
        (cause, chain): (String, Vec<Link>),
    ) {
        self.push(Anomaly {
            kind,
            scope: self.sc.groups[g].name.clone(),
            at,
            part,
            offset,
            event,
            cause,
            chain,
        });
    }
}

/// A property: consumes each record after the history is updated, and may add findings
/// when the run ends.
trait Property {
    fn record(&mut self, _: &Context, _: &TraceEvent, _: Update, _: &mut Findings) {}
    fn finish(&mut self, _: &Context, _: Time, _: &mut Findings) {}
}

/// What every property may read: the scenario, the names, the history.
pub struct Context<'a> {
    pub sc: &'a Scenario,
    pub t: &'a Tables,
    pub f: &'a Facts,
}

impl Context<'_> {
    pub fn name(&self, a: ActorId) -> &str {
        self.t.actor_name(a)
    }

    /// The commit that set group `g`'s committed offset of `part` as it stood at `at`, as
    /// a link: when it was stored, the offset and the committer. None: no commit yet.
    pub fn commit_link(&self, g: usize, part: PartId, at: Time) -> Option<Link> {
        let &(t, c, a, stored) = self.f.groups[g]
            .commits
            .get(part.ix())?
            .iter()
            .rev()
            .find(|c| c.0 <= at)?;
        let how = if stored {
            " (librdkafka's auto-commit of its stored offset)"
        } else {
            ""
        };
        Some(Link::new(
            t,
            format!(
                "{} committed offset {c} for {}{how}: the group's committed offset there",
                self.name(a),
                self.t.part_name(part)
            ),
        ))
    }

    /// Where an event began, as a link: its producer's `send()`, or its service's database
    /// commit (the envelope's `occurredAt`).
    pub fn origin_link(&self, e: EventIx) -> Link {
        let env = &self.t.envelopes[e.ix()];
        let key = self
            .t
            .key_of(e)
            .map_or("a null key".to_string(), |k| format!("key {k}"));
        let did = match self.t.actors[env.source.ix()].0 {
            crate::trace::Actor::Service(_) => "committed",
            _ => "sent",
        };
        Link::new(
            env.occurred_at,
            format!(
                "{} {did} {} ({key})",
                self.name(env.source),
                self.t.event_id(e)
            ),
        )
    }

    /// The first outage that cut `actor` off from the brokers at some moment of
    /// `from..=to`: every broker down, or an isolation of the actor (a relay is cut off
    /// with its service). As a link at the outage's start, and a clause for a cause
    /// sentence ("order-service was cut off from the brokers (isolate) from t=303ms to
    /// t=5303ms").
    pub fn cut_off(&self, actor: ActorId, from: Time, to: Time) -> Option<(Link, String)> {
        let client = match self.t.actors[actor.ix()].0 {
            crate::trace::Actor::Relay { service, .. } => self
                .t
                .actors
                .iter()
                .position(|(a, _)| *a == crate::trace::Actor::Service(service))
                .map_or(actor, |i| ActorId(i as u32)),
            _ => actor,
        };
        let &(start, end, what) = self.f.outages.iter().find(|&&(start, end, what)| {
            start <= to
                && end.is_none_or(|e| e >= from)
                && match what {
                    crate::trace::Outage::Kafka => true,
                    crate::trace::Outage::Isolated(a) => a == client,
                    _ => false,
                }
        })?;
        let how = match what {
            crate::trace::Outage::Kafka => {
                "every broker was unreachable (kafka_outage)".to_string()
            }
            _ => format!(
                "{} was cut off from the brokers (isolate)",
                self.name(client)
            ),
        };
        let until = end.map_or("to the end of the run".to_string(), |e| {
            format!("to t={e}ms")
        });
        Some((
            Link::new(
                start,
                format!("{how}, until {}", until.trim_start_matches("to ")),
            ),
            format!("{how} from t={start}ms {until}"),
        ))
    }

    /// A crash as a link: "X crashed at after-process-before-commit".
    pub fn crash_link(&self, a: ActorId, c: &facts::Crash) -> Link {
        let point = c
            .point
            .map_or(String::new(), |p| format!(" at {}", p.name()));
        let during = c.during.map_or(String::new(), |(p, o, _)| {
            format!(", in the middle of {}@{o}", self.t.part_name(p))
        });
        Link::new(c.at, format!("{} crashed{point}{during}", self.name(a)))
    }
}

/// The online checker: a trace sink that judges as the run goes.
pub struct Checker<'s> {
    sc: &'s Scenario,
    facts: Facts,
    findings: Findings<'s>,
    props: Properties,
}

/// Every property, each with its own state.
struct Properties {
    tallies: tallies::Tallies,
    deliveries: deliveries::DuplicateDeliveries,
    skipped: skipped::SkippedOffsets,
    no_offset: no_offset::NoOffsetErrors,
    effects: effects::DuplicateEffects,
    key_order: key_order::KeyOrder,
    accounting: accounting::Accounting,
    producers: producers::Producers,
    services: services::Services,
    replication: replication::Replication,
    /// Some topic has more than one replica: acks and appends go to `replication` too.
    replicated: bool,
    log_duplicates: log_duplicates::LogDuplicates,
    log_reorders: log_reorders::LogReorders,
    key_splits: key_splits::KeySplits,
}

impl Properties {
    /// Each property in turn, statically dispatched: this runs for every record.
    /// Routed by kind to the properties that read it: this runs for every record.
    fn record(&mut self, cx: &Context, ev: &TraceEvent, u: Update, found: &mut Findings) {
        self.tallies.record(cx, ev, u, found);
        match ev.kind {
            Kind::SendFailed { .. } => self.producers.record(cx, ev, u, found),
            Kind::MetadataRefresh { .. } | Kind::PartitionsAdded { .. } => {
                self.key_splits.record(cx, ev, u, found)
            }
            Kind::OutageStart { .. } | Kind::OutageEnd { .. } => {
                self.producers.record(cx, ev, u, found);
                self.replication.record(cx, ev, u, found);
            }
            Kind::Append { .. } => {
                self.log_duplicates.record(cx, ev, u, found);
                self.log_reorders.record(cx, ev, u, found);
                self.key_splits.record(cx, ev, u, found);
                if self.replicated {
                    self.replication.record(cx, ev, u, found);
                }
                // Only while a give-up waits to see whether its record lands anyway.
                if self.producers.watching() {
                    self.producers.record(cx, ev, u, found)
                }
            }
            Kind::Ack { .. } if self.replicated => self.replication.record(cx, ev, u, found),
            Kind::Send { .. } if self.producers.watching() => {
                self.producers.record(cx, ev, u, found)
            }
            Kind::LogTruncated { .. } => {
                self.replication.record(cx, ev, u, found);
                self.log_reorders.record(cx, ev, u, found);
                self.deliveries.record(cx, ev, u, found);
            }
            Kind::Rejected { .. } => {
                self.replication.record(cx, ev, u, found);
                self.producers.record(cx, ev, u, found);
                self.services.record(cx, ev, u, found);
            }
            Kind::LeaderChange { .. } | Kind::BrokerDown { .. } | Kind::BrokerUp { .. } => {
                self.replication.record(cx, ev, u, found)
            }
            Kind::RequestDropped { .. } => {
                self.producers.record(cx, ev, u, found);
                self.services.record(cx, ev, u, found);
            }
            Kind::Deliver { .. } => {
                self.deliveries.record(cx, ev, u, found);
                self.skipped.record(cx, ev, u, found);
            }
            Kind::OffsetReset { .. }
            | Kind::Resume { .. }
            | Kind::Revoke { .. }
            | Kind::Seek { .. } => self.skipped.record(cx, ev, u, found),
            Kind::NoOffset { .. } => self.no_offset.record(cx, ev, u, found),
            Kind::Effect { .. } => {
                self.effects.record(cx, ev, u, found);
                self.key_order.record(cx, ev, u, found);
            }
            Kind::Absorbed { .. } => self.key_order.record(cx, ev, u, found),
            Kind::Mark { .. } | Kind::StoreUnavailable { .. } => {
                self.effects.record(cx, ev, u, found)
            }
            Kind::DbCommit { .. } | Kind::RelayMark { .. } => {
                self.services.record(cx, ev, u, found)
            }
            _ => {}
        }
    }

    fn all(&mut self) -> [&mut dyn Property; 13] {
        [
            &mut self.tallies,
            &mut self.deliveries,
            &mut self.skipped,
            &mut self.no_offset,
            &mut self.effects,
            &mut self.key_order,
            &mut self.accounting,
            &mut self.producers,
            &mut self.services,
            &mut self.replication,
            &mut self.log_duplicates,
            &mut self.log_reorders,
            &mut self.key_splits,
        ]
    }
}

impl<'s> Checker<'s> {
    pub fn new(sc: &'s Scenario) -> Checker<'s> {
        let groups = sc.groups.len();
        Checker {
            sc,
            facts: Facts::new(
                groups,
                sc.topics.iter().map(|t| t.max_partitions as usize).sum(),
            ),
            findings: Findings {
                sc,
                groups: vec![Counts::default(); groups],
                services: vec![Counts::default(); sc.services.len()],
                totals: Counts::default(),
                anomalies: Vec::new(),
                left_out: BTreeMap::new(),
                cutoff: None,
            },
            props: Properties {
                tallies: tallies::Tallies::default(),
                deliveries: deliveries::DuplicateDeliveries::new(groups),
                skipped: skipped::SkippedOffsets::default(),
                no_offset: no_offset::NoOffsetErrors,
                effects: effects::DuplicateEffects::new(groups),
                key_order: key_order::KeyOrder::new(groups),
                accounting: accounting::Accounting,
                producers: producers::Producers::default(),
                services: services::Services::new(sc.services.len()),
                replication: replication::Replication::default(),
                replicated: sc.topics.iter().any(|t| t.replication_factor > 1),
                log_duplicates: log_duplicates::LogDuplicates,
                log_reorders: log_reorders::LogReorders::default(),
                key_splits: key_splits::KeySplits::default(),
            },
        }
    }

    /// Committed offsets per group and PartId, as the trace's `committed` records left
    /// them: the driver asserts the coordinators agree.
    pub fn committed(&self) -> Vec<Vec<Option<Offset>>> {
        self.facts
            .groups
            .iter()
            .map(|g| g.committed.clone())
            .collect()
    }

    /// The verdict, once the run has ended at `end`.
    pub fn finish(mut self, t: &Tables, end: Time) -> Verdict {
        let facts = self.facts;
        let mut findings = self.findings;
        let sc = self.sc;
        let cx = Context { sc, t, f: &facts };
        for p in self.props.all() {
            p.finish(&cx, end, &mut findings);
        }
        for counts in findings.groups.iter().chain(&findings.services) {
            for &c in Counter::ALL {
                if c.scope() != Scope::Total {
                    findings.totals.add(c, counts.get(c));
                }
            }
        }
        let groups = sc
            .groups
            .iter()
            .enumerate()
            .map(|(g, spec)| {
                let committed: Vec<(PartId, Option<Offset>)> = (0..t.partitions.len())
                    .filter(|&p| spec.topics.contains(&(t.partitions[p].0 as usize)))
                    .map(|p| {
                        let p = PartId(p as u32);
                        (p, facts.groups[g].committed.get(p.ix()).copied().flatten())
                    })
                    .collect();
                let lag = committed
                    .iter()
                    .map(|&(p, c)| {
                        let end = Offset(facts.logs[p.ix()].len() as u64);
                        (p, c.map(|c| end.since(c)))
                    })
                    .collect();
                let (applied, applied_distinct, reapplied) = self.props.effects.ledger(g, &facts);
                GroupVerdict {
                    name: spec.name.clone(),
                    counts: findings.groups[g].clone(),
                    committed,
                    lag,
                    applied,
                    applied_distinct,
                    reapplied,
                }
            })
            .collect();
        let services = sc
            .services
            .iter()
            .enumerate()
            .map(|(s, spec)| ServiceVerdict {
                name: spec.name.clone(),
                counts: findings.services[s].clone(),
            })
            .collect();
        let expectations: Vec<ExpectationResult> = sc
            .expect
            .iter()
            .map(|e| {
                let actual = match e.within {
                    Within::Run => findings.totals.get(e.counter),
                    Within::Group(g) => findings.groups[g].get(e.counter),
                    Within::Service(s) => findings.services[s].get(e.counter),
                };
                ExpectationResult {
                    expectation: e.clone(),
                    actual,
                    holds: e.condition.holds(actual),
                }
            })
            .collect();
        let pass = expectations.iter().all(|e| e.holds);
        findings.keep_earliest();
        Verdict {
            totals: findings.totals,
            groups,
            services,
            anomalies: findings.anomalies,
            anomalies_left_out: findings.left_out.into_iter().collect(),
            expectations,
            pass,
        }
    }
}

impl TraceSink for Checker<'_> {
    fn record(&mut self, t: &Tables, ev: &TraceEvent) {
        let update = self.facts.update(t, ev);
        let cx = Context {
            sc: self.sc,
            t,
            f: &self.facts,
        };
        self.props.record(&cx, ev, update, &mut self.findings);
    }
}
