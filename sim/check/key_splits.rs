//! Keys split across partitions: one key's records in two partitions of one topic, because
//! their senders place keys differently (`partitioner`: Java's murmur2 and librdkafka's
//! crc32 disagree), or because a sender learned of new partitions (`add_partitions`, then
//! its metadata refresh: `hash % partitions` changed). Kafka orders a key's records only
//! within one partition, so between the two there is no order at all. A fact of the log,
//! judged at each append of a keyed record: counted once per key and topic, when its
//! second partition appears. State: per key, the (topic, partition, sender, time) of its
//! first record in each topic (a handful); per sender, its metadata refreshes; per topic,
//! when partitions were added.

use super::{Anomaly, AnomalyKind, Context, Findings, Link, Property};
use crate::check::facts::Update;
use crate::counters::Counter;
use crate::engine::Time;
use crate::trace::{ActorId, Kind, PartId, TraceEvent, NO_KEY};

/// A key's first record in one topic: (topic, partition, its sender, when, already
/// reported split).
type FirstSeen = (u16, PartId, ActorId, Time, bool);

#[derive(Default)]
pub struct KeySplits {
    /// Per key index: its first record in each topic.
    seen: Vec<Vec<FirstSeen>>,
    /// Per sender: (when, partitions) of each metadata refresh that changed its count.
    refreshed: Vec<(ActorId, Time, u32)>,
    /// Per topic: (when, partitions) of each `add_partitions`.
    added: Vec<(u16, Time, u32)>,
}

impl KeySplits {
    /// How many partitions of `topic` `sender` knew at `at`.
    fn known(&self, cx: &Context, sender: ActorId, topic: u16, at: Time) -> u32 {
        self.refreshed
            .iter()
            .rev()
            .find(|r| r.0 == sender && r.1 <= at)
            .map(|r| r.2)
            .unwrap_or(cx.sc.topics[topic as usize].partitions)
    }
}

impl Property for KeySplits {
    fn record(&mut self, cx: &Context, ev: &TraceEvent, _: Update, found: &mut Findings) {
        match ev.kind {
            Kind::MetadataRefresh {
                actor, partitions, ..
            } => return self.refreshed.push((actor, ev.at, partitions)),
            Kind::PartitionsAdded { topic, partitions } => {
                return self.added.push((topic, ev.at, partitions))
            }
            _ => {}
        }
        let Kind::Append {
            sender,
            event,
            part,
            ..
        } = ev.kind
        else {
            return;
        };
        let key = cx.t.envelopes[event.ix()].key;
        if key == NO_KEY {
            return;
        }
        let topic = cx.t.partitions[part.ix()].0;
        let k = key as usize;
        if self.seen.len() <= k {
            self.seen.resize(k + 1, Vec::new());
        }
        let entry = match self.seen[k].iter_mut().find(|s| s.0 == topic) {
            None => return self.seen[k].push((topic, part, sender, ev.at, false)),
            Some(e) if e.1 == part || e.4 => return,
            Some(e) => e,
        };
        entry.4 = true;
        let (first_part, first_sender, first_at) = (entry.1, entry.2, entry.3);
        found.totals.bump(Counter::KeySplits);
        let (known_then, known_now) = (
            self.known(cx, first_sender, topic, first_at),
            self.known(cx, sender, topic, ev.at),
        );
        if known_then != known_now {
            // The count the senders hashed against changed: partitions were added.
            let refresh = self
                .refreshed
                .iter()
                .rev()
                .find(|r| r.0 == sender && r.1 <= ev.at && r.2 == known_now);
            let added = self
                .added
                .iter()
                .rev()
                .find(|a| a.0 == topic && a.2 == known_now);
            let how = match (refresh, added) {
                (Some(r), Some(a)) => format!(
                    "after partitions were added at t={}ms, {}'s metadata refresh at t={}ms showed {known_now}",
                    a.1,
                    cx.name(sender),
                    r.1
                ),
                _ => format!("once {} knew of {known_now}", cx.name(sender)),
            };
            let cause = format!(
                "key {} is in {} and {} of topic {}: {} put it in {} while it knew {known_then} partitions (hash % {known_then}), and {} put it in {} {how} (hash % {known_now}); Kafka orders a key's records only within one partition, so across the two there is no order, and a consumer may read the newer records before the older",
                cx.t.keys[k],
                cx.t.part_name(first_part),
                cx.t.part_name(part),
                cx.t.topic_names[topic as usize],
                cx.name(first_sender),
                cx.t.part_name(first_part),
                cx.name(sender),
                cx.t.part_name(part),
            );
            found.push(Anomaly {
                kind: AnomalyKind::KeySplit,
                scope: cx.t.topic_names[topic as usize].clone(),
                at: ev.at,
                part: Some(part),
                offset: None,
                event: Some(event),
                chain: vec![cx.origin_link(event), Link::effect(ev.at, cause.clone())],
                cause,
            });
            return;
        }
        let placement = |a: ActorId| {
            let config = match cx.t.actors[a.ix()].0 {
                crate::trace::Actor::Producer(p) => &cx.sc.producers[p as usize].config,
                crate::trace::Actor::Service(s) | crate::trace::Actor::Relay { service: s, .. } => {
                    &cx.sc.services[s as usize].producer
                }
                crate::trace::Actor::Member { .. } => unreachable!("members do not produce"),
            };
            format!(
                "{} (partitioner: {})",
                cx.name(a),
                config.partitioner.name()
            )
        };
        let cause = format!(
            "key {} is in {} and {} of topic {}: {} put it in {}, {} in {}; Kafka orders a key's records only within one partition, so across the two there is no order",
            cx.t.keys[k],
            cx.t.part_name(first_part),
            cx.t.part_name(part),
            cx.t.topic_names[topic as usize],
            placement(first_sender),
            cx.t.part_name(first_part),
            placement(sender),
            cx.t.part_name(part)
        );
        found.push(Anomaly {
            kind: AnomalyKind::KeySplit,
            scope: cx.t.topic_names[topic as usize].clone(),
            at: ev.at,
            part: Some(part),
            offset: None,
            event: Some(event),
            chain: vec![cx.origin_link(event), Link::effect(ev.at, cause.clone())],
            cause,
        });
    }
}
