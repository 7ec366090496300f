//! Lost records: acknowledged records at or after the group's starting offset that the
//! group never processed, judged when the run ends from the history (the log as the
//! Append records built it, the group's resets, commits and processing). No state of
//! its own.

use super::{AnomalyKind, Context, Findings, Property};
use crate::counters::Counter;
use crate::engine::Time;
use crate::model::log::Offset;
use crate::scenario::OffsetReset;
use crate::trace::{EventIx, PartId};

pub struct Lost;

impl Property for Lost {
    fn finish(&mut self, cx: &Context, end: Time, found: &mut Findings) {
        for (g, spec) in cx.sc.groups.iter().enumerate() {
            let earliest = spec.config.auto_offset_reset == OffsetReset::Earliest;
            for &topic in &spec.topics {
                let parts =
                    cx.t.partitions
                        .iter()
                        .enumerate()
                        .filter(|(_, &(t, _))| t as usize == topic)
                        .map(|(p, _)| PartId(p as u32));
                for part in parts {
                    let start = match cx.f.groups[g].start[part.ix()] {
                        Some(s) => s,
                        None if earliest => Offset::ZERO,
                        None => continue,
                    };
                    let log = &cx.f.logs[part.ix()];
                    for (o, &event) in log.iter().enumerate().skip(start.value() as usize) {
                        let offset = Offset(o as u64);
                        if cx.f.acked[event.ix()] && !cx.f.processed(g, part, offset) {
                            found.count_group(g, Counter::Lost, 1);
                            let cause = cause(cx, g, part, offset, event, end);
                            found.group_anomaly(
                                AnomalyKind::Lost,
                                g,
                                end,
                                Some(part),
                                Some(offset),
                                Some(event),
                                cause,
                            );
                        }
                    }
                }
            }
        }
    }
}

fn cause(
    cx: &Context,
    g: usize,
    part: PartId,
    offset: Offset,
    event: EventIx,
    end: Time,
) -> String {
    let pn = cx.t.part_name(part);
    let head = format!(
        "{pn}@{offset} ({}) was acknowledged but {} never processed it",
        cx.t.event_id(event),
        cx.sc.groups[g].name
    );
    let past = cx.f.groups[g].commits[part.ix()]
        .iter()
        .find(|(_, c, _)| *c > offset);
    match past {
        Some(&(t, c, a)) => {
            let crash = match cx.f.fates[a.ix()].crash {
                Some((ct, p)) if ct >= t => format!(
                    "; {} then crashed at t={ct}ms{}",
                    cx.name(a),
                    p.map_or(String::new(), |p| format!(" at {}", p.name()))
                ),
                _ => String::new(),
            };
            format!(
                "{head}: {} committed offset {c} at t={t}ms, past it, before processing it{crash}",
                cx.name(a)
            )
        }
        None => format!("{head}: it was still unprocessed when the run ended at t={end}ms"),
    }
}
