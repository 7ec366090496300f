//! Checks more than one test binary runs against a finished simulation.

use kafkasim::check::{AnomalyKind, Verdict};
use kafkasim::trace::{EventIx, Kind, TraceEvent};
use std::collections::BTreeSet;

/// The events the trace shows were sent (a `send` record) and never appended, each with
/// whether an anomaly that says how (a give-up, an acks=0 drop, in flight at the end, an
/// order never published) names it.
pub fn missing_events(events: &[TraceEvent], v: &Verdict) -> Vec<(EventIx, bool)> {
    let (mut sent, mut appended) = (BTreeSet::new(), BTreeSet::new());
    for e in events {
        match e.kind {
            Kind::Send { event, .. } => {
                sent.insert(event);
            }
            Kind::Append { event, .. } => {
                appended.insert(event);
            }
            _ => {}
        }
    }
    let named: BTreeSet<EventIx> = v
        .anomalies
        .iter()
        .filter(|a| {
            matches!(
                a.kind,
                AnomalyKind::SendFailed
                    | AnomalyKind::UnackedLost
                    | AnomalyKind::InFlightAtEnd
                    | AnomalyKind::CommittedWithoutEvent
            )
        })
        .filter_map(|a| a.event)
        .collect();
    sent.difference(&appended)
        .map(|&e| (e, named.contains(&e)))
        .collect()
}
