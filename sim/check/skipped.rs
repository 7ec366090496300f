//! Skipped offsets: a member's deliveries on a partition jump forward within one
//! assignment. State: the last delivered offset per (member, partition) since the member
//! last resumed, reset, sought or revoked it (a seek's jump is `skipped_by_seek`'s).

use super::{AnomalyKind, Context, Findings, Link, Property};
use crate::check::facts::Update;
use crate::counters::Counter;
use crate::model::log::Offset;
use crate::trace::{ActorId, Kind, PartId, TraceEvent};
use std::collections::BTreeMap;

#[derive(Default)]
pub struct SkippedOffsets {
    cursor: BTreeMap<(ActorId, PartId), Offset>,
}

impl Property for SkippedOffsets {
    fn record(&mut self, cx: &Context, ev: &TraceEvent, _: Update, found: &mut Findings) {
        match ev.kind {
            Kind::OffsetReset { actor, part, .. }
            | Kind::Resume { actor, part, .. }
            | Kind::Seek { actor, part, .. } => {
                self.cursor.remove(&(actor, part));
            }
            Kind::Revoke { actor, .. } => self.cursor.retain(|(a, _), _| *a != actor),
            Kind::Deliver {
                actor,
                part,
                offset,
                ..
            } => {
                let Some(last) = self.cursor.insert((actor, part), offset) else {
                    return;
                };
                // Offsets the log cleaner removed are gaps in the log, not skips.
                let holes = cx.f.compacted_between(part, last, offset, ev.at);
                if offset.since(last.next()) > holes {
                    let g = cx.t.member_group(actor);
                    let skipped = offset.since(last.next()) - holes;
                    found.count_group(g, Counter::SkippedOffsets, skipped);
                    let pn = cx.t.part_name(part);
                    let cause = format!(
                        "{} jumped from {pn}@{last} to {pn}@{offset} within one assignment",
                        cx.name(actor)
                    );
                    let chain = vec![Link::effect(
                        ev.at,
                        format!(
                            "{} was delivered {pn}@{offset} right after {pn}@{last}: {skipped} offsets skipped within one assignment",
                            cx.name(actor)
                        ),
                    )];
                    found.group_anomaly(
                        AnomalyKind::SkippedOffset,
                        g,
                        ev.at,
                        Some(part),
                        Some(offset),
                        None,
                        (cause, chain),
                    );
                }
            }
            _ => {}
        }
    }
}
