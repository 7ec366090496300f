//! Per-key order: a record first processed after a later-produced record of the same key,
//! from the same producer to the same topic. That is where Kafka promises order (one
//! producer's sends of a key go to one partition, in send order); records of one key from
//! two producers, or to two topics, have no order to keep. State: per group, key, source
//! and topic, the highest event first processed so far.

use super::{AnomalyKind, Context, Findings, Link, Property};
use crate::check::facts::Update;
use crate::counters::Counter;
use crate::trace::{ActorId, EventIx, Kind, PartId, TraceEvent, NO_KEY};

pub struct KeyOrder {
    /// Per group, per key: (source, topic, highest event first processed so far), one entry
    /// per producer and topic that sent the key (a handful: scanned linearly).
    high: Vec<Vec<Vec<(ActorId, u16, EventIx)>>>,
}

impl KeyOrder {
    pub fn new(groups: usize) -> Self {
        KeyOrder {
            high: vec![Vec::new(); groups],
        }
    }
}

impl Property for KeyOrder {
    fn record(&mut self, cx: &Context, ev: &TraceEvent, u: Update, found: &mut Findings) {
        let (Kind::Effect {
            actor,
            event,
            part: ep,
            offset: eo,
        }
        | Kind::Absorbed {
            actor,
            event,
            part: ep,
            offset: eo,
        }) = ev.kind
        else {
            return;
        };
        if !u.first_processing {
            return;
        }
        let key = cx.t.envelopes[event.ix()].key;
        if key == NO_KEY {
            return;
        }
        let g = cx.t.member_group(actor);
        let env = cx.t.envelopes[event.ix()];
        let highs = &mut self.high[g];
        if highs.len() <= key as usize {
            highs.resize(key as usize + 1, Vec::new());
        }
        let streams = &mut highs[key as usize];
        let high = match streams
            .iter_mut()
            .find(|(src, topic, _)| *src == env.source && *topic == env.topic)
        {
            None => {
                streams.push((env.source, env.topic, event));
                return;
            }
            Some(entry) if event > entry.2 => {
                entry.2 = event;
                return;
            }
            Some(entry) => entry.2,
        };
        found.count_group(g, Counter::KeyOrderViolations, 1);
        // Where the record it processed sits (a later copy, perhaps), against the later
        // event's first place in the log.
        let (hp, ho) = cx.f.first_append[high.ix()];
        let why = if ep == hp && eo > ho {
            format!(
                "the log holds them out of production order ({}@{eo} after {}@{ho}): {}",
                cx.t.part_name(ep),
                cx.t.part_name(hp),
                landed_late(cx, event, high)
            )
        } else if hp == PartId::NONE {
            // An unclean election can truncate a record a consumer had already read.
            format!(
                "{} has since been truncated out of the log",
                cx.t.event_id(high)
            )
        } else if ep != hp {
            "they sit on different partitions".to_string()
        } else {
            "it was redelivered after the later event had been processed".to_string()
        };
        let (id, later, k) = (
            cx.t.event_id(event),
            cx.t.event_id(high),
            &cx.t.keys[key as usize],
        );
        let cause = format!(
            "{id} ({k}) first processed by {} at t={}ms, after {later} of the same key, which was produced later: {why}",
            cx.name(actor),
            ev.at,
        );
        let (first, first_at) = cx.f.groups[g].first_done[high.ix()];
        let mut chain = vec![cx.origin_link(event), cx.origin_link(high)];
        if first != ActorId::NONE {
            chain.push(Link::new(
                first_at,
                format!("{} processed {later} first", cx.name(first)),
            ));
        }
        chain.push(Link::effect(
            ev.at,
            format!(
                "{} processed {id} after {later}, out of order for key {k}: {why}",
                cx.name(actor)
            ),
        ));
        found.group_anomaly(
            AnomalyKind::KeyOrderViolation,
            g,
            ev.at,
            Some(ep),
            Some(eo),
            Some(event),
            (cause, chain),
        );
    }
}

/// Why `event` was appended after `high`, a later-produced event of the same key, from
/// what happened to their sends.
fn landed_late(cx: &Context, event: EventIx, high: EventIx) -> String {
    let relays = |e: EventIx| -> Vec<ActorId> {
        cx.f.publishes
            .get(&e)
            .map_or(Vec::new(), |p| p.iter().map(|&(_, r)| r).collect())
    };
    let (mine, theirs) = (relays(event), relays(high));
    if let (Some(&a), Some(&b)) = (mine.first(), theirs.first()) {
        if a != b {
            return format!(
                "two relays published them side by side ({} and {}), and the later order's landed first",
                cx.name(a),
                cx.name(b)
            );
        }
    }
    if mine.len() > 1 {
        return format!(
            "its outbox row was published again: {}",
            cx.f.why_copies(cx.t, event)
        );
    }
    if cx.f.retried[event.ix()] != 0 {
        return "its send was retried, and the retry landed after the later record".to_string();
    }
    "it was appended after the later record".to_string()
}
