//! Kafka's classic client-side partition assignors: `RangeAssignor`, `RoundRobinAssignor`,
//! `StickyAssignor` and `CooperativeStickyAssignor` (the last two in `assignor/sticky.rs`).
//!
//! The group leader in a real consumer group runs one of these over every member's subscription
//! after each rebalance. All are deterministic given the member ordering, which is why the
//! ordering rules of `AbstractPartitionAssignor.MemberInfo` are reproduced exactly here, and the
//! sticky assignors' Java `HashMap` order too (see SEMANTICS.md §2). Rack-aware assignment is
//! not modelled: it only matters when both consumer and replica racks are known, and the
//! simulator has no racks. What is not here: the group protocol that carries owned partitions
//! and generations between rebalances (the coordinator in `model/coordinator.rs`).

use std::cmp::Ordering;
use std::collections::BTreeSet;

pub mod flags;
mod sticky;

/// One member's `JoinGroup` subscription, as the group leader sees it
/// (`ConsumerPartitionAssignor.Subscription`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The broker-assigned `member.id`.
    pub member_id: String,
    /// `group.instance.id` for static members; `None` for dynamic ones.
    pub group_instance_id: Option<String>,
    /// Subscribed topic names. Order and duplicates do not matter; names that are not in the
    /// topic metadata are ignored, as Kafka ignores topics it has no metadata for.
    pub topics: Vec<String>,
    /// `ownedPartitions`: (topic name, partition) pairs the member held before this
    /// rebalance. Only the sticky assignors read it; range and roundrobin ignore it.
    pub owned: Vec<(String, u32)>,
    /// The generation the member last joined in; `None` means it has none (Kafka's -1).
    /// Only the sticky assignors read it.
    pub generation: Option<i32>,
}

/// Which classic assignor the group uses (`partition.assignment.strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// `RangeAssignor`: each topic is split into contiguous ranges over its subscribers.
    Range,
    /// `RoundRobinAssignor`: all partitions are dealt one by one around the sorted members.
    RoundRobin,
    /// `StickyAssignor`: balanced first, then as few moves as possible; eager protocol.
    Sticky,
    /// `CooperativeStickyAssignor`: the sticky assignment, but a partition that changes owner
    /// is withheld for one rebalance while its old owner revokes it.
    CooperativeSticky,
}

/// How members give up partitions (`ConsumerPartitionAssignor.RebalanceProtocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebalanceProtocol {
    /// Every member revokes everything before it rejoins.
    Eager,
    /// Members keep what they own; only partitions that move are revoked, and a moved
    /// partition reaches its new owner one rebalance later.
    Cooperative,
}

impl Strategy {
    /// Every strategy, in the order `kafkasim assign --help` lists them.
    pub const ALL: [Strategy; 4] = [
        Strategy::Range,
        Strategy::RoundRobin,
        Strategy::Sticky,
        Strategy::CooperativeSticky,
    ];

    /// The protocol name the Java client advertises for this assignor in `JoinGroup`.
    pub fn kafka_name(&self) -> &'static str {
        match self {
            Strategy::Range => "range",
            Strategy::RoundRobin => "roundrobin",
            Strategy::Sticky => "sticky",
            Strategy::CooperativeSticky => "cooperative-sticky",
        }
    }

    /// The strategy a client advertises as `name`, if kafkasim has it.
    pub fn from_kafka_name(name: &str) -> Option<Strategy> {
        Strategy::ALL.into_iter().find(|s| s.kafka_name() == name)
    }

    /// The Kafka class this strategy follows.
    pub fn kafka_class(&self) -> &'static str {
        match self {
            Strategy::Range => "org.apache.kafka.clients.consumer.RangeAssignor",
            Strategy::RoundRobin => "org.apache.kafka.clients.consumer.RoundRobinAssignor",
            Strategy::Sticky => "org.apache.kafka.clients.consumer.StickyAssignor",
            Strategy::CooperativeSticky => {
                "org.apache.kafka.clients.consumer.CooperativeStickyAssignor"
            }
        }
    }

    /// The protocol the assignor is used with: cooperative only for `cooperative-sticky`
    /// (which also supports eager, as a fallback Kafka uses while upgrading a group).
    pub fn rebalance_protocol(&self) -> RebalanceProtocol {
        match self {
            Strategy::CooperativeSticky => RebalanceProtocol::Cooperative,
            _ => RebalanceProtocol::Eager,
        }
    }
}

/// A partition that changes owner in this rebalance (an entry of Kafka's
/// `partitionsTransferringOwnership`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// Index into the `topics` given to [`rebalance`].
    pub topic: usize,
    /// The partition number within that topic.
    pub partition: u32,
    /// Indices into the members of its previous owner: one member, or several when members
    /// of the same generation all claimed it (then none of them keeps it). In input order.
    pub from: Vec<usize>,
    /// Index into the members of its new owner.
    pub to: usize,
}

/// The outcome of one rebalance: what the group leader sends back in `SyncGroup`
/// (`ConsumerPartitionAssignor.GroupAssignment`), plus the sticky assignors' record of what
/// moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rebalance {
    /// The strategy's protocol.
    pub protocol: RebalanceProtocol,
    /// For each member in input order, the (topic index, partition) pairs it is given in this
    /// rebalance, in Kafka's list order. Under the cooperative protocol the `transferring`
    /// partitions are not in it.
    pub assignment: Vec<Vec<(usize, u32)>>,
    /// The partitions that change owner, in topic-name-then-partition order. Only the sticky
    /// assignors compute it (as Kafka's `AbstractStickyAssignor` does); empty for range and
    /// roundrobin. Under the eager protocol each is in its new owner's `assignment`.
    pub transferring: Vec<Transfer>,
}

impl Rebalance {
    /// The partitions nobody gets in this rebalance: the transferring ones under the
    /// cooperative protocol (`CooperativeStickyAssignor.adjustAssignment`), none under eager.
    /// Their old owners revoke them and rejoin, and the next rebalance hands them out.
    pub fn withheld(&self) -> &[Transfer] {
        match self.protocol {
            RebalanceProtocol::Cooperative => &self.transferring,
            RebalanceProtocol::Eager => &[],
        }
    }

    /// The assignment the group is heading for: `assignment` plus each withheld partition
    /// appended to its new owner's list. Equal to `assignment` under the eager protocol.
    pub fn target(&self) -> Vec<Vec<(usize, u32)>> {
        let mut target = self.assignment.clone();
        for t in self.withheld() {
            target[t.to].push((t.topic, t.partition));
        }
        target
    }
}

/// Runs `strategy` over `members`: the assignment handed out in this rebalance and the
/// partitions that change owner.
///
/// Follows `RangeAssignor.assign`, `RoundRobinAssignor.assign`,
/// `AbstractStickyAssignor.assignPartitions` (both sticky assignors) and, for
/// `cooperative-sticky`, `CooperativeStickyAssignor.adjustAssignment`. Shape: `assignment`
/// has one list per member, in the order of `members`, of (index into `topics`, partition).
///
/// `topics`: (name, partition count), any order; names are expected to be unique, as in
/// cluster metadata (a repeated name uses its first entry). Member ids are expected to be
/// unique, as the coordinator makes them. Range and roundrobin do not depend on the order of
/// `members`; the sticky ones use it only to order member ids that share a Java `HashMap`
/// bucket (see `sticky::java_hash_order`).
pub fn rebalance(
    strategy: Strategy,
    topics: &[(&str, u32)],
    members: &[Subscription],
) -> Rebalance {
    let protocol = strategy.rebalance_protocol();
    match strategy {
        Strategy::Range | Strategy::RoundRobin => Rebalance {
            protocol,
            assignment: assign_classic(strategy, topics, members),
            transferring: Vec::new(),
        },
        Strategy::Sticky | Strategy::CooperativeSticky => {
            let (mut assignment, transferring) = sticky::assign(topics, members);
            if protocol == RebalanceProtocol::Cooperative {
                for t in &transferring {
                    assignment[t.to].retain(|&x| x != (t.topic, t.partition));
                }
            }
            Rebalance {
                protocol,
                assignment,
                transferring,
            }
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
///
/// For the sticky strategies this is [`rebalance`]'s `assignment`: what members get in this
/// rebalance (for `cooperative-sticky`, without the partitions still being revoked), in
/// Kafka's list order (kept partitions first).
pub fn assign(
    strategy: Strategy,
    topics: &[(&str, u32)],
    members: &[Subscription],
) -> Vec<Vec<(usize, u32)>> {
    rebalance(strategy, topics, members).assignment
}

/// Range and roundrobin, which read neither `owned` nor `generation`.
fn assign_classic(
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
        Strategy::Sticky | Strategy::CooperativeSticky => {
            unreachable!("rebalance sends the sticky strategies to sticky::assign")
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
            owned: Vec::new(),
            generation: None,
        }
    }

    #[test]
    fn kafka_names_match_the_java_protocol_names() {
        assert_eq!(Strategy::Range.kafka_name(), "range");
        assert_eq!(Strategy::RoundRobin.kafka_name(), "roundrobin");
        assert_eq!(Strategy::Sticky.kafka_name(), "sticky");
        assert_eq!(
            Strategy::CooperativeSticky.kafka_name(),
            "cooperative-sticky"
        );
        for s in Strategy::ALL {
            assert_eq!(Strategy::from_kafka_name(s.kafka_name()), Some(s));
        }
        assert_eq!(Strategy::from_kafka_name("Range"), None);
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
    fn cooperative_sticky_withholds_a_moving_partition_for_one_rebalance() {
        // testAddRemoveConsumerOneTopic, step 2: consumer2 joins a group where consumer1 owns
        // all three partitions; topic-2 moves, so round 1 gives it to nobody.
        let mut c1 = member("consumer1", None, &["topic"]);
        c1.owned = (0..3).map(|p| ("topic".to_owned(), p)).collect();
        c1.generation = Some(1);
        let c2 = member("consumer2", None, &["topic"]);
        let members = [c1, c2];
        let eager = rebalance(Strategy::Sticky, &[("topic", 3)], &members);
        assert_eq!(eager.assignment, vec![vec![(0, 0), (0, 1)], vec![(0, 2)]]);
        assert!(eager.withheld().is_empty());
        let coop = rebalance(Strategy::CooperativeSticky, &[("topic", 3)], &members);
        assert_eq!(coop.assignment, vec![vec![(0, 0), (0, 1)], vec![]]);
        let moving = Transfer {
            topic: 0,
            partition: 2,
            from: vec![0],
            to: 1,
        };
        assert_eq!(coop.withheld(), std::slice::from_ref(&moving));
        assert_eq!(eager.transferring, vec![moving]);
        assert_eq!(coop.target(), eager.assignment);
        assert_eq!(
            Strategy::CooperativeSticky.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        );
        assert_eq!(
            Strategy::Sticky.rebalance_protocol(),
            RebalanceProtocol::Eager
        );
    }

    #[test]
    fn no_members_means_no_assignment() {
        for strategy in Strategy::ALL {
            assert!(
                assign(strategy, &[("t", 3)], &[]).is_empty(),
                "{strategy:?}"
            );
        }
    }

    #[test]
    fn java_string_order_differs_from_rust_order_above_the_bmp() {
        // U+10000 is a surrogate pair (0xD800 ...) in UTF-16, so Java sorts it before U+FFFD.
        assert_eq!(java_string_cmp("\u{10000}", "\u{FFFD}"), Ordering::Less);
        assert_eq!("\u{10000}".cmp("\u{FFFD}"), Ordering::Greater);
    }
}
