//! `auto.offset.reset=none` errors: a member with a partition to reset (no committed offset,
//! or a position out of range) gets an exception from `poll()` instead of a position
//! (`NoOffsetForPartitionException`, `OffsetOutOfRangeException`; `ConsumerConfig`'s
//! `auto.offset.reset` doc: "throw exception to the consumer"), and stops consuming. Each
//! is counted and named; the partition's records stay unprocessed, which the accounting
//! counts as `unprocessed_at_end`. No state of its own.

use super::{AnomalyKind, Context, Findings, Link, Property};
use crate::check::facts::Update;
use crate::counters::Counter;
use crate::trace::{Kind, TraceEvent};

pub struct NoOffsetErrors;

impl Property for NoOffsetErrors {
    fn record(&mut self, cx: &Context, ev: &TraceEvent, _: Update, found: &mut Findings) {
        let Kind::NoOffset {
            actor,
            part,
            out_of_range,
        } = ev.kind
        else {
            return;
        };
        let g = cx.t.member_group(actor);
        found.count_group(g, Counter::NoOffsetErrors, 1);
        let pn = cx.t.part_name(part);
        let m = cx.name(actor);
        let why = match out_of_range {
            None => format!(
                "{m} had no committed offset for {pn} and auto.offset.reset=none, so poll() threw NoOffsetForPartitionException at t={}ms",
                ev.at
            ),
            Some(at) => format!(
                "{m}'s position {at} in {pn} was out of range (OFFSET_OUT_OF_RANGE) and auto.offset.reset=none, so poll() threw OffsetOutOfRangeException at t={}ms",
                ev.at
            ),
        };
        let cause = format!(
            "{why}; {m} stopped consuming (closed and left the group), and nobody reads {pn} until a committed offset or a seek gives it a position (each of its records is counted under what happens to it next)"
        );
        let chain = vec![Link::effect(ev.at, why.clone())];
        found.group_anomaly(
            AnomalyKind::NoOffset,
            g,
            ev.at,
            Some(part),
            None,
            None,
            (cause, chain),
        );
    }
}
