//! Kafka's classic client-side partition assignors, `RangeAssignor` and `RoundRobinAssignor`, under the eager protocol.
//!
//! The group leader in a real consumer group runs one of these over every member's subscription
//! after each rebalance. Both are deterministic given the member ordering, which is why the
//! ordering rules of `AbstractPartitionAssignor.MemberInfo` are reproduced exactly here (see
//! SEMANTICS.md §2). Rack-aware range assignment is not modelled: it only matters when both
//! consumer and replica racks are known, and the simulator has no racks.

use std::cmp::Ordering;
use std::collections::BTreeSet;

/// One member's `JoinGroup` subscription, as the group leader sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The broker-assigned `member.id`.
    pub member_id: String,
    /// `group.instance.id` for static members; `None` for dynamic ones.
    pub group_instance_id: Option<String>,
    /// Subscribed topic names. Order and duplicates do not matter; names that are not in the
    /// topic metadata are ignored, as Kafka ignores topics it has no metadata for.
    pub topics: Vec<String>,
}

/// Which classic assignor the group uses (`partition.assignment.strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// `RangeAssignor`: each topic is split into contiguous ranges over its subscribers.
    Range,
    /// `RoundRobinAssignor`: all partitions are dealt one by one around the sorted members.
    RoundRobin,
}

impl Strategy {
    /// The protocol name the Java client advertises for this assignor in `JoinGroup`.
    pub fn kafka_name(&self) -> &'static str {
        match self {
            Strategy::Range => "range",
            Strategy::RoundRobin => "roundrobin",
        }
    }
}

/// Assigns the partitions of `topics` to `members` the way Kafka's classic assignor would.
///
/// `topics`: (name, partition count), any order. Returns, for each subscription in the order
/// given, its assigned (topic index into `topics`, partition) pairs, sorted the way Kafka lists
/// them (range: topic by topic in name order; roundrobin: in the order dealt, which is also
/// topic name then partition).
///
/// The result does not depend on the order of `members` or `topics`, because Kafka sorts both
/// before assigning. Topic names are expected to be unique, as in cluster metadata; if one
/// repeats, only its first entry is used. Topics nobody subscribes to are left unassigned.
pub fn assign(
    strategy: Strategy,
    topics: &[(&str, u32)],
    members: &[Subscription],
) -> Vec<Vec<(usize, u32)>> {
    let mut assignment = vec![Vec::new(); members.len()];
    let members_sorted = sorted_member_indices(members);
    let topics_sorted = sorted_topic_indices(topics);
    // A set per member makes "is this member subscribed to that topic" cheap and ignores
    // duplicate names in a subscription, which Kafka's Set-backed subscriptions cannot have.
    let subscribed: Vec<BTreeSet<&str>> = members
        .iter()
        .map(|m| m.topics.iter().map(String::as_str).collect())
        .collect();

    match strategy {
        Strategy::Range => {
            for &t in &topics_sorted {
                let (name, partitions) = topics[t];
                let takers: Vec<usize> = members_sorted
                    .iter()
                    .copied()
                    .filter(|&m| subscribed[m].contains(name))
                    .collect();
                if takers.is_empty() {
                    continue;
                }
                // The first `extra` members in sort order get one partition more, which is why
                // with several equal topics the same members always end up with the surplus.
                let count = takers.len() as u32;
                let per_member = partitions / count;
                let extra = partitions % count;
                let mut next = 0;
                for (position, &m) in (0u32..).zip(&takers) {
                    let len = per_member + u32::from(position < extra);
                    assignment[m].extend((next..next + len).map(|p| (t, p)));
                    next += len;
                }
            }
        }
        Strategy::RoundRobin => {
            // Kafka keeps one circular iterator over the sorted members across all topics, so
            // the dealing position carries over from one topic to the next.
            let mut cursor = 0;
            for &t in &topics_sorted {
                let (name, partitions) = topics[t];
                // Kafka only lists partitions of subscribed topics; without this check the
                // skip loop below would never find a taker.
                if !members_sorted.iter().any(|&m| subscribed[m].contains(name)) {
                    continue;
                }
                for p in 0..partitions {
                    while !subscribed[members_sorted[cursor]].contains(name) {
                        cursor = (cursor + 1) % members_sorted.len();
                    }
                    assignment[members_sorted[cursor]].push((t, p));
                    cursor = (cursor + 1) % members_sorted.len();
                }
            }
        }
    }
    assignment
}

/// Indices into `members` in `MemberInfo.compareTo` order.
///
/// Static members come first, ordered by `group.instance.id`, so a static member keeps its
/// partitions when it rejoins under a new member id; dynamic members follow, ordered by member
/// id. Two static members cannot share an instance id in a real group (the broker fences one),
/// but ties are still broken by member id and then input position so the result is
/// deterministic for any input.
fn sorted_member_indices(members: &[Subscription]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..members.len()).collect();
    // `sort_by` is stable, so equal members keep their input order.
    order.sort_by(|&a, &b| {
        let (a, b) = (&members[a], &members[b]);
        let by_instance = match (&a.group_instance_id, &b.group_instance_id) {
            (Some(x), Some(y)) => java_string_cmp(x, y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        by_instance.then_with(|| java_string_cmp(&a.member_id, &b.member_id))
    });
    order
}

/// Indices into `topics` sorted by name, keeping only the first entry of a repeated name.
fn sorted_topic_indices(topics: &[(&str, u32)]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..topics.len()).collect();
    // Stable sort by name only: among duplicates the earliest entry stays first, so dedup keeps it.
    order.sort_by(|&a, &b| java_string_cmp(topics[a].0, topics[b].0));
    order.dedup_by(|later, earlier| topics[*later].0 == topics[*earlier].0);
    order
}

/// Java's `String.compareTo`, which compares UTF-16 code units.
///
/// Rust's `str` ordering compares UTF-8 bytes, i.e. code points, and the two disagree when a
/// character above U+FFFF (a surrogate pair in Java) is compared with one in U+E000..=U+FFFF.
/// Comparing the UTF-16 encodings keeps member and topic order identical to Kafka's for every
/// name, without allocating.
fn java_string_cmp(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, instance: Option<&str>, topics: &[&str]) -> Subscription {
        Subscription {
            member_id: id.to_owned(),
            group_instance_id: instance.map(str::to_owned),
            topics: topics.iter().map(|t| (*t).to_owned()).collect(),
        }
    }

    #[test]
    fn kafka_names_match_the_java_protocol_names() {
        assert_eq!(Strategy::Range.kafka_name(), "range");
        assert_eq!(Strategy::RoundRobin.kafka_name(), "roundrobin");
    }

    #[test]
    fn range_gives_the_surplus_to_the_first_members_of_every_topic() {
        // RangeAssignor javadoc example: C0 gets t0p0, t0p1, t1p0, t1p1 and C1 gets t0p2, t1p2.
        let topics = [("t1", 3), ("t0", 3)];
        let members = [
            member("C1", None, &["t0", "t1"]),
            member("C0", None, &["t0", "t1"]),
        ];
        let got = assign(Strategy::Range, &topics, &members);
        assert_eq!(got[1], vec![(1, 0), (1, 1), (0, 0), (0, 1)]);
        assert_eq!(got[0], vec![(1, 2), (0, 2)]);
    }

    #[test]
    fn round_robin_skips_members_not_subscribed_to_the_topic() {
        // RoundRobinAssignor javadoc example with unequal subscriptions.
        let topics = [("t0", 1), ("t1", 2), ("t2", 3)];
        let members = [
            member("C0", None, &["t0"]),
            member("C1", None, &["t0", "t1"]),
            member("C2", None, &["t0", "t1", "t2"]),
        ];
        let got = assign(Strategy::RoundRobin, &topics, &members);
        assert_eq!(got[0], vec![(0, 0)]);
        assert_eq!(got[1], vec![(1, 0)]);
        assert_eq!(got[2], vec![(1, 1), (2, 0), (2, 1), (2, 2)]);
    }

    #[test]
    fn static_members_sort_before_dynamic_ones_by_instance_id() {
        let members = [
            member("a", None, &[]),
            member("b", Some("i2"), &[]),
            member("c", Some("i1"), &[]),
        ];
        assert_eq!(sorted_member_indices(&members), vec![2, 1, 0]);
    }

    #[test]
    fn unknown_and_unsubscribed_topics_are_ignored() {
        let topics = [("orphan", 4), ("t", 2)];
        let members = [member("m", None, &["t", "missing", "t"])];
        for strategy in [Strategy::Range, Strategy::RoundRobin] {
            assert_eq!(
                assign(strategy, &topics, &members),
                vec![vec![(1, 0), (1, 1)]],
                "{strategy:?}"
            );
        }
    }

    #[test]
    fn no_members_means_no_assignment() {
        assert!(assign(Strategy::RoundRobin, &[("t", 3)], &[]).is_empty());
    }

    #[test]
    fn java_string_order_differs_from_rust_order_above_the_bmp() {
        // U+10000 is a surrogate pair (0xD800 ...) in UTF-16, so Java sorts it before U+FFFD.
        assert_eq!(java_string_cmp("\u{10000}", "\u{FFFD}"), Ordering::Less);
        assert_eq!("\u{10000}".cmp("\u{FFFD}"), Ordering::Greater);
    }
}
