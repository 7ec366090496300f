//! Per-key order: a record first processed after a later-produced record of the same key.
//! State: per group and key, the highest event first processed so far.

use super::{AnomalyKind, Context, Findings, Property};
use crate::check::facts::Update;
use crate::counters::Counter;
use crate::trace::{EventIx, Kind, TraceEvent, NO_KEY};

pub struct KeyOrder {
    /// Per group, per key: the highest event index first processed so far.
    high: Vec<Vec<EventIx>>,
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
        let (Kind::Effect { actor, event, .. } | Kind::Absorbed { actor, event, .. }) = ev.kind
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
        let highs = &mut self.high[g];
        if highs.len() <= key as usize {
            highs.resize(key as usize + 1, EventIx::NONE);
        }
        let high = highs[key as usize];
        if high == EventIx::NONE || event > high {
            highs[key as usize] = event;
            return;
        }
        found.count_group(g, Counter::KeyOrderViolations, 1);
        let (ep, eo) = cx.f.first_append[event.ix()];
        let (hp, ho) = cx.f.first_append[high.ix()];
        let why = if ep == hp && eo > ho {
            format!(
                "the log holds them out of production order ({}@{eo} after {}@{ho}): a retried or republished send landed later",
                cx.t.part_name(ep),
                cx.t.part_name(hp)
            )
        } else if ep != hp {
            "they sit on different partitions".to_string()
        } else {
            "it was redelivered after the later event had been processed".to_string()
        };
        let cause = format!(
            "{} ({}) first processed by {} at t={}ms, after {} of the same key, which was produced later: {why}",
            cx.t.event_id(event),
            cx.t.keys[key as usize],
            cx.name(actor),
            ev.at,
            cx.t.event_id(high)
        );
        found.group_anomaly(
            AnomalyKind::KeyOrderViolation,
            g,
            ev.at,
            Some(ep),
            Some(eo),
            Some(event),
            cause,
        );
    }
}
