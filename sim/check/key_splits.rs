//! Keys split across partitions: one key's records in two partitions of one topic, because
//! their senders place keys differently (`partitioner`: Java's murmur2 and librdkafka's
//! crc32 disagree). Kafka orders a key's records only within one partition, so between
//! the two there is no order at all. A fact of the log, judged at each append of a keyed
//! record: counted once per key and topic, when its second partition appears. State: per
//! key, the (topic, partition, sender) of its first record in each topic (a handful).

use super::{Anomaly, AnomalyKind, Context, Findings, Property};
use crate::check::facts::Update;
use crate::counters::Counter;
use crate::trace::{ActorId, Kind, PartId, TraceEvent, NO_KEY};

#[derive(Default)]
pub struct KeySplits {
    /// Per key index: (topic, first partition, its sender, already reported split).
    seen: Vec<Vec<(u16, PartId, ActorId, bool)>>,
}

impl Property for KeySplits {
    fn record(&mut self, cx: &Context, ev: &TraceEvent, _: Update, found: &mut Findings) {
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
            None => return self.seen[k].push((topic, part, sender, false)),
            Some(e) if e.1 == part || e.3 => return,
            Some(e) => e,
        };
        entry.3 = true;
        let (first_part, first_sender) = (entry.1, entry.2);
        found.totals.bump(Counter::KeySplits);
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
            cause,
        });
    }
}
