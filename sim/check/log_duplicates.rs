//! Copies in the log: an eventId appended at a second offset (a producer retry without
//! idempotence, a relay that published its row again). A fact of the log, whoever reads
//! it; `duplicate_effects` is what a consumer made of the copies, and
//! `published_duplicates` counts the same copies per service when the run ends. Like
//! Jepsen's `:duplicate` (one value at more than one offset). State: none of its own: the
//! per-event append count is in the shared history (`Facts::appends`). Judged on each
//! `append` record.

use super::{Anomaly, AnomalyKind, Context, Findings, Link, Property};
use crate::check::facts::Update;
use crate::counters::Counter;
use crate::trace::{Kind, TraceEvent};

pub struct LogDuplicates;

impl Property for LogDuplicates {
    fn record(&mut self, cx: &Context, ev: &TraceEvent, _: Update, found: &mut Findings) {
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
        let copies = cx.f.appends[event.ix()];
        if copies < 2 {
            return;
        }
        // Only an extra copy reaches here: the string work is for anomalies, not the
        // hot path, and only for those the verdict keeps.
        found.totals.bump(Counter::LogDuplicates);
        if !found.will_keep(ev.at, AnomalyKind::LogDuplicate) {
            return;
        }
        let (fp, fo) = cx.f.first_append[event.ix()];
        let cause = format!(
            "{} ({}) was appended again at {}@{offset} by {}, copy {copies} of it in the log (the first is at {}@{fo}): {}",
            cx.t.event_id(event),
            cx.t.key_of(event).unwrap_or("no key"),
            cx.t.part_name(part),
            cx.name(sender),
            cx.t.part_name(fp),
            cx.f.why_copy(cx.t, event, part, offset)
        );
        found.push(Anomaly {
            kind: AnomalyKind::LogDuplicate,
            scope: cx.name(cx.t.envelopes[event.ix()].source).to_string(),
            at: ev.at,
            part: Some(part),
            offset: Some(offset),
            event: Some(event),
            chain: vec![
                cx.origin_link(event),
                Link::effect(
                    ev.at,
                    format!(
                        "{} appended {} again at {}@{offset}: {}",
                        cx.name(sender),
                        cx.t.event_id(event),
                        cx.t.part_name(part),
                        cx.f.why_copy(cx.t, event, part, offset)
                    ),
                ),
            ],
            cause,
        });
    }
}
