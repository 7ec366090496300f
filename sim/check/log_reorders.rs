//! Per-key order in the log: a record appended after a record of the same key that its
//! source sent later. Judged per partition log, on each event's first copy (later copies
//! are `log_duplicates`), against send order: the order a producer called `send()`, or for
//! a service the order its orders committed (eventIds number both). Only one source's
//! records of a key to one partition are compared, as Kafka promises order only there.
//! Like Jepsen's `:int-nonmonotonic-send`, a fact of the log; `key_order_violations` is
//! what a consumer made of it. State: per key, one entry per (source, partition) that sent
//! it (a handful, scanned linearly): the highest event appended so far, where, and by whom.

use super::{Anomaly, AnomalyKind, Context, Findings, Link, Property};
use crate::check::facts::{Update, RETRIED_CLOSED, RETRIED_OTHER, RETRIED_TIMEOUT};
use crate::counters::Counter;
use crate::model::log::Offset;
use crate::trace::{Actor, ActorId, EventIx, Kind, PartId, TraceEvent, NO_KEY};

/// One source's highest record of a key in one partition so far.
#[derive(Clone, Copy, Debug)]
struct High {
    source: ActorId,
    part: PartId,
    event: EventIx,
    offset: Offset,
    sender: ActorId,
}

#[derive(Default)]
pub struct LogReorders {
    /// Per key index.
    high: Vec<Vec<High>>,
}

impl LogReorders {
    /// A new leader's shorter log: records from `to` on are gone from `part`. Each key's
    /// highest record there, if it was among them, becomes the highest that is left (the
    /// shared history's log is already truncated).
    fn truncated(&mut self, cx: &Context, part: PartId, to: Offset) {
        let log = &cx.f.logs[part.ix()];
        for streams in &mut self.high {
            streams.retain_mut(|h| {
                if h.part != part || h.offset < to {
                    return true;
                }
                let key = cx.t.envelopes[h.event.ix()].key;
                let found = log.iter().enumerate().rev().find(|(_, e)| {
                    let env = cx.t.envelopes[e.ix()];
                    env.key == key && env.source == h.source
                });
                match found {
                    Some((o, &e)) => {
                        h.event = e;
                        h.offset = Offset(o as u64);
                        true
                    }
                    None => false,
                }
            });
        }
    }
}

impl Property for LogReorders {
    fn record(&mut self, cx: &Context, ev: &TraceEvent, _: Update, found: &mut Findings) {
        if let Kind::LogTruncated { part, to } = ev.kind {
            return self.truncated(cx, part, to);
        }
        let Kind::Append {
            sender,
            event,
            part,
            offset,
            ..
        } = ev.kind
        else {
            return;
        };
        let env = cx.t.envelopes[event.ix()];
        if env.key == NO_KEY || cx.f.appends[event.ix()] != 1 {
            return;
        }
        let key = env.key as usize;
        if self.high.len() <= key {
            self.high.resize(key + 1, Vec::new());
        }
        let streams = &mut self.high[key];
        let now = High {
            source: env.source,
            part,
            event,
            offset,
            sender,
        };
        let high = match streams
            .iter_mut()
            .find(|h| h.source == env.source && h.part == part)
        {
            None => return streams.push(now),
            Some(h) if event > h.event => return *h = now,
            Some(h) => *h,
        };
        found.totals.bump(Counter::LogReorders);
        let sent = match cx.t.actors[env.source.ix()].0 {
            Actor::Service(_) => "committed",
            _ => "sent",
        };
        let cause = format!(
            "{} ({}), {sent} by {} before {}, was appended at {}@{offset} after {} at {}@{}: {}",
            cx.t.event_id(event),
            cx.t.key_of(event).unwrap_or("no key"),
            cx.name(env.source),
            cx.t.event_id(high.event),
            cx.t.part_name(part),
            cx.t.event_id(high.event),
            cx.t.part_name(high.part),
            high.offset,
            why(cx, event, sender, high)
        );
        found.push(Anomaly {
            kind: AnomalyKind::LogReorder,
            scope: cx.name(env.source).to_string(),
            at: ev.at,
            part: Some(part),
            offset: Some(offset),
            event: Some(event),
            chain: vec![
                cx.origin_link(event),
                cx.origin_link(high.event),
                Link::effect(ev.at, cause.clone()),
            ],
            cause,
        });
    }
}

/// Why `event` landed after the later `high`, from what happened to its sends.
fn why(cx: &Context, event: EventIx, sender: ActorId, high: High) -> String {
    let (id, later) = (cx.t.event_id(event), cx.t.event_id(high.event));
    if cx.f.publishes.get(&event).is_some_and(|p| p.len() > 1) {
        return format!(
            "its outbox row was published again after {later} was: {}",
            cx.f.why_copies(cx.t, event)
        );
    }
    let retried = cx.f.retried[event.ix()];
    if retried != 0 {
        let how = match retried {
            RETRIED_TIMEOUT => "timed out without an answer",
            RETRIED_CLOSED => {
                "was failed when another request on its connection timed out and the client closed the connection"
            }
            RETRIED_OTHER => "got an error answer",
            _ => "failed more than once",
        };
        return format!(
            "the attempt that sent {id} first {how}, and its retry landed after {later}, which was sent later and got through first"
        );
    }
    if sender != high.sender {
        return format!(
            "{} put {id} in the log and {} put {later} there: two clients, whose requests Kafka does not order",
            cx.name(sender),
            cx.name(high.sender)
        );
    }
    format!("{id} was sent first, but its request reached the broker after {later}'s")
}
