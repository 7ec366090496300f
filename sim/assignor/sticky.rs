//! Kafka's `AbstractStickyAssignor`, the algorithm behind `StickyAssignor` and
//! `CooperativeStickyAssignor`: previous-ownership validation, the constrained algorithm for
//! equal subscriptions, and a general algorithm for unequal ones. Written from the description
//! in SEMANTICS.md §2.3, not from Kafka's code. The cooperative round (withholding partitions
//! that change owner) is in `assignor.rs`; rack awareness is not modelled.

use super::{java_string_cmp, sorted_topic_indices, Subscription, Transfer};
use std::collections::{BTreeMap, BTreeSet};

/// A partition as (rank of its topic in name order, partition number), so that ordering keys
/// is Kafka's "topic name, then partition" order.
type Key = (usize, u32);

/// Who owned a partition before this rebalance, once the claims are validated.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Previous {
    /// One member, of the highest generation among the claimants.
    One(usize),
    /// Several members of the same (highest) generation: Kafka's
    /// `partitionsWithMultiplePreviousOwners`. Nobody keeps it, and whoever gets it, it
    /// counts as transferring.
    Many(Vec<usize>),
}

/// The validated previous ownership.
struct Claims {
    previous: BTreeMap<Key, Previous>,
    /// Per member, the partitions it keeps a claim on, in the order of its `owned` list.
    kept: Vec<Vec<Key>>,
}

/// The topics in name order and how to find them.
struct Topics<'a> {
    /// Rank -> index into the caller's `topics`.
    order: Vec<usize>,
    /// Rank -> partition count.
    counts: Vec<u32>,
    rank_of: BTreeMap<&'a str, usize>,
}

/// Runs the sticky algorithm. Returns each member's partitions as (index into `topics`,
/// partition) in the order Kafka lists them (kept partitions first, then new ones in the
/// order they were handed out), and the partitions that change owner, in topic-then-partition
/// order.
pub(super) fn assign(
    topics: &[(&str, u32)],
    members: &[Subscription],
) -> (Vec<Vec<(usize, u32)>>, Vec<Transfer>) {
    if members.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let order = sorted_topic_indices(topics);
    let t = Topics {
        counts: order.iter().map(|&i| topics[i].1).collect(),
        rank_of: order
            .iter()
            .enumerate()
            .map(|(r, &i)| (topics[i].0, r))
            .collect(),
        order,
    };
    let subscribed: Vec<BTreeSet<usize>> = members
        .iter()
        .map(|m| {
            m.topics
                .iter()
                .filter_map(|name| t.rank_of.get(name.as_str()).copied())
                .collect()
        })
        .collect();
    let claims = validate(members, &t, &subscribed);
    let equal = all_subscriptions_equal(members);
    let assignment = if equal {
        let all: Vec<Key> = subscribed[0]
            .iter()
            .flat_map(|&r| (0..t.counts[r]).map(move |p| (r, p)))
            .collect();
        constrained(members, &all, &claims)
    } else {
        general(members, &t, &subscribed, &claims)
    };
    let transferring = if equal {
        // The constrained builder's own record, from the validated claims.
        let mut transferring = Vec::new();
        for (to, parts) in assignment.iter().enumerate() {
            for &k in parts {
                let from = match claims.previous.get(&k) {
                    Some(Previous::One(o)) if *o != to => vec![*o],
                    Some(Previous::Many(all)) => all.clone(),
                    _ => continue,
                };
                transferring.push((k, from, to));
            }
        }
        transferring
    } else {
        raw_transfers(members, &t, &assignment)
    };
    let mut transferring = transferring;
    transferring.sort();
    let out = |(r, p): Key| (t.order[r], p);
    let assignment = assignment
        .into_iter()
        .map(|parts| parts.into_iter().map(out).collect())
        .collect();
    let transferring = transferring
        .into_iter()
        .map(|(k, from, to)| {
            let (topic, partition) = out(k);
            Transfer {
                topic,
                partition,
                from,
                to,
            }
        })
        .collect();
    (assignment, transferring)
}

/// What changes owner when the general builder ran, which records none
/// (`partitionsTransferringOwnership` is null there): as
/// `CooperativeStickyAssignor.computePartitionsTransferringOwnership` works it out from the
/// members' owned partitions as they sent them, a partition some member is given without
/// having listed it, while a member that listed it is not given it. Its `from` is every
/// such member, in input order.
fn raw_transfers(
    members: &[Subscription],
    t: &Topics,
    assignment: &[Vec<Key>],
) -> Vec<(Key, Vec<usize>, usize)> {
    let owned: Vec<BTreeSet<Key>> = members
        .iter()
        .map(|m| {
            m.owned
                .iter()
                .filter_map(|(topic, p)| Some((*t.rank_of.get(topic.as_str())?, *p)))
                .collect()
        })
        .collect();
    let given: Vec<BTreeSet<Key>> = assignment
        .iter()
        .map(|parts| parts.iter().copied().collect())
        .collect();
    let mut out = Vec::new();
    for (to, parts) in assignment.iter().enumerate() {
        for &k in parts {
            if owned[to].contains(&k) {
                continue;
            }
            let from: Vec<usize> = (0..members.len())
                .filter(|&m| owned[m].contains(&k) && !given[m].contains(&k))
                .collect();
            if !from.is_empty() {
                out.push((k, from, to));
            }
        }
    }
    out
}

/// Kafka's `allSubscriptionsEqual`: the same set of topic names, as subscribed (topics
/// missing from the metadata count too).
fn all_subscriptions_equal(members: &[Subscription]) -> bool {
    fn set(m: &Subscription) -> BTreeSet<&str> {
        m.topics.iter().map(String::as_str).collect()
    }
    let first = set(&members[0]);
    members[1..].iter().all(|m| set(m) == first)
}

/// Previous-ownership validation (SEMANTICS §2.3). A claim counts only if its topic exists,
/// the partition number is below the topic's count, and the member still subscribes to the
/// topic. Among the valid claims on a partition the highest generation wins (no generation
/// counts as -1); if two or more members share that generation, the partition is unowned and
/// remembered as having several previous owners.
///
/// Kafka resolves claims member by member in hash order, so with three or more claimants its
/// outcome can depend on that order; this resolution looks at all claims at once (the highest
/// generation decides, a tie at the highest makes it unowned), which agrees with Kafka
/// whenever the highest generation is claimed once or only two members claim.
fn validate(members: &[Subscription], t: &Topics, subscribed: &[BTreeSet<usize>]) -> Claims {
    let valid = |m: usize| {
        let mut seen = BTreeSet::new();
        members[m]
            .owned
            .iter()
            .filter_map(|(topic, p)| {
                let r = *t.rank_of.get(topic.as_str())?;
                (*p < t.counts[r] && subscribed[m].contains(&r)).then_some((r, *p))
            })
            .filter(|k| seen.insert(*k))
            .collect::<Vec<Key>>()
    };
    let owned: Vec<Vec<Key>> = (0..members.len()).map(valid).collect();
    let mut best: BTreeMap<Key, (i32, Vec<usize>)> = BTreeMap::new();
    for (m, parts) in owned.iter().enumerate() {
        let generation = members[m].generation.unwrap_or(-1);
        for &k in parts {
            let e = best.entry(k).or_insert((generation, Vec::new()));
            if generation > e.0 {
                *e = (generation, vec![m]);
            } else if generation == e.0 {
                e.1.push(m);
            }
        }
    }
    let previous: BTreeMap<Key, Previous> = best
        .into_iter()
        .map(|(k, (_, who))| match who.as_slice() {
            [one] => (k, Previous::One(*one)),
            _ => (k, Previous::Many(who)),
        })
        .collect();
    let kept = owned
        .into_iter()
        .enumerate()
        .map(|(m, parts)| {
            parts
                .into_iter()
                .filter(|k| previous.get(k) == Some(&Previous::One(m)))
                .collect()
        })
        .collect();
    Claims { previous, kept }
}

/// `ConstrainedAssignmentBuilder` (SEMANTICS §2.3): every member subscribes to `all`, the
/// partitions in topic-then-partition order.
fn constrained(members: &[Subscription], all: &[Key], claims: &Claims) -> Vec<Vec<Key>> {
    let n = members.len();
    let total = all.len();
    let min_quota = total / n;
    let max_quota = total.div_ceil(n);
    let expected_over = total % n;
    let mut over = 0;
    let mut assignment: Vec<Vec<Key>> = vec![Vec::new(); n];
    let mut under = Vec::new();
    let mut exactly_min = Vec::new();
    // Step 1: keep owned partitions, visiting members in Java HashMap order of their ids,
    // which decides who keeps maxQuota when more members own that many than there are slots.
    let ids: Vec<&str> = members.iter().map(|m| m.member_id.as_str()).collect();
    for m in java_hash_order(&ids) {
        let mut owned = claims.kept[m].clone();
        owned.sort_by_key(|&(r, p)| (p, r));
        let keep = if owned.len() < min_quota {
            under.push(m);
            owned.len()
        } else if owned.len() >= max_quota && over < expected_over {
            over += 1;
            max_quota
        } else {
            if over < expected_over {
                exactly_min.push(m);
            }
            min_quota
        };
        owned.truncate(keep);
        assignment[m] = owned;
    }
    // Step 2: deal the rest round-robin over the members under minQuota, then one each to the
    // members at exactly minQuota, both lists in member-id order.
    let kept: BTreeSet<Key> = assignment.iter().flatten().copied().collect();
    let by_id = |a: &usize, b: &usize| java_string_cmp(ids[*a], ids[*b]).then(a.cmp(b));
    under.sort_by(by_id);
    exactly_min.sort_by(by_id);
    let mut exactly_min: std::collections::VecDeque<usize> = exactly_min.into();
    let mut cursor = 0;
    for &k in all.iter().filter(|k| !kept.contains(k)) {
        if under.is_empty() {
            // Cannot run dry: if k members kept maxQuota, the under-filled members end at
            // minQuota and expectedOver - k partitions remain. If k < expectedOver, every
            // member that kept minQuota was listed (a slot was still free when it was
            // visited), and so was every under-filled one: n - k >= expectedOver - k.
            let m = exactly_min
                .pop_front()
                .expect("a member at minQuota takes every partition left over");
            assignment[m].push(k);
            continue;
        }
        if cursor >= under.len() {
            cursor = 0;
        }
        let m = under[cursor];
        assignment[m].push(k);
        if assignment[m].len() == min_quota {
            under.remove(cursor);
            exactly_min.push_back(m);
        } else {
            cursor += 1;
        }
    }
    assignment
}

/// The general algorithm for unequal subscriptions (after `GeneralAssignmentBuilder`, as
/// SEMANTICS §2.3 describes it; its exact tie-breaks are not reproduced):
/// 1. every valid claim is kept;
/// 2. the unassigned partitions, topics with the fewest subscribers first (then by name, then
///    partition), each go to the least-loaded subscribed member (ties: member id);
/// 3. balancing passes, first over the newly assigned partitions, then over all: a partition
///    moves to the least-loaded member subscribed to its topic when its owner holds at least
///    two more. Every move lowers the sum of squared counts, so the passes end, and at the end
///    no partition can move to a member holding two fewer: Kafka's balance goal.
fn general(
    members: &[Subscription],
    t: &Topics,
    subscribed: &[BTreeSet<usize>],
    claims: &Claims,
) -> Vec<Vec<Key>> {
    let n = members.len();
    let mut id_rank = vec![0; n];
    let mut by_id: Vec<usize> = (0..n).collect();
    by_id.sort_by(|&a, &b| java_string_cmp(&members[a].member_id, &members[b].member_id));
    for (rank, &m) in by_id.iter().enumerate() {
        id_rank[m] = rank;
    }
    let potential: Vec<Vec<usize>> = (0..t.counts.len())
        .map(|r| (0..n).filter(|&m| subscribed[m].contains(&r)).collect())
        .collect();
    let mut ranks: Vec<usize> = (0..t.counts.len())
        .filter(|&r| !potential[r].is_empty())
        .collect();
    ranks.sort_by_key(|&r| (potential[r].len(), r));
    let all: Vec<Key> = ranks
        .iter()
        .flat_map(|&r| (0..t.counts[r]).map(move |p| (r, p)))
        .collect();

    let mut assignment = claims.kept.clone();
    let mut owner: BTreeMap<Key, usize> = BTreeMap::new();
    for (m, parts) in assignment.iter().enumerate() {
        owner.extend(parts.iter().map(|&k| (k, m)));
    }
    let least_loaded = |assignment: &[Vec<Key>], r: usize| -> usize {
        *potential[r]
            .iter()
            .min_by_key(|&&m| (assignment[m].len(), id_rank[m]))
            .expect("only topics with a subscriber are listed")
    };
    let fresh: Vec<Key> = all
        .iter()
        .copied()
        .filter(|k| !owner.contains_key(k))
        .collect();
    for &k in &fresh {
        let m = least_loaded(&assignment, k.0);
        assignment[m].push(k);
        owner.insert(k, m);
    }
    for pass in [&fresh, &all] {
        loop {
            let mut moved = false;
            for &k in pass.iter() {
                let from = owner[&k];
                let to = least_loaded(&assignment, k.0);
                if assignment[from].len() > assignment[to].len() + 1 {
                    assignment[from].retain(|&x| x != k);
                    assignment[to].push(k);
                    owner.insert(k, to);
                    moved = true;
                }
            }
            if !moved {
                break;
            }
        }
    }
    assignment
}

/// The iteration order of a `java.util.HashMap<String, _>` (Java 8+) filled with `ids` in the
/// order given, with the default initial capacity: indices into `ids`.
///
/// What is emulated: `String.hashCode` over UTF-16 code units; the spread `h ^ (h >>> 16)`;
/// the bucket `spread & (capacity - 1)`; capacity 16, doubled when the size passes 0.75 of
/// it, and also doubled (instead of turning the bucket into a tree) when a bucket reaches 9
/// entries while the capacity is below 64. Iteration walks buckets in index order, and within
/// a bucket keeps insertion order (a resize splits a bucket without reordering it).
///
/// Limits: a bucket of 9 or more ids at capacity 64 or more becomes a tree in Java, whose
/// iteration order is not emulated (it moves the tree's root first). A repeated id is a new
/// entry here, where Java would replace the first. Kafka fills its map from the group's
/// member list, whose order kafkasim does not know; the order of `ids` stands in for it, and
/// only matters between ids that share a bucket.
pub(super) fn java_hash_order(ids: &[&str]) -> Vec<usize> {
    let spread: Vec<u32> = ids
        .iter()
        .map(|id| {
            let h = id
                .encode_utf16()
                .fold(0u32, |h, c| h.wrapping_mul(31).wrapping_add(u32::from(c)));
            h ^ (h >> 16)
        })
        .collect();
    let mut capacity: usize = 16;
    for size in 1..=spread.len() {
        let newest = spread[size - 1];
        let mask = capacity as u32 - 1;
        let in_bucket = spread[..size]
            .iter()
            .filter(|&&h| h & mask == newest & mask)
            .count();
        if in_bucket >= 9 && capacity < 64 {
            capacity *= 2;
        }
        if size > capacity / 4 * 3 {
            capacity *= 2;
        }
    }
    let mask = capacity as u32 - 1;
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_by_key(|&i| spread[i] & mask);
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hash_order_of_consumer_ids_is_reverse_for_one_to_three() {
        // SEMANTICS §2.3: Kafka iterates consumer1..3 as consumer3, consumer2, consumer1.
        assert_eq!(
            java_hash_order(&["consumer1", "consumer2", "consumer3"]),
            vec![2, 1, 0]
        );
    }

    #[test]
    fn java_hash_order_grows_the_table_past_twelve_entries() {
        // "a".."m": hashCode 97..109. At capacity 16, buckets are h & 15 (a=1 .. o=15,
        // p=0), so the 13th entry forces 32 buckets, where they sort by code.
        let ids: Vec<String> = (b'a'..=b'm').map(|c| (c as char).to_string()).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        assert_eq!(java_hash_order(&refs), (0..13).collect::<Vec<_>>());
        // 12 entries stay at 16 buckets, where "p" (112 & 15 = 0) comes first.
        let mut twelve: Vec<&str> = refs[..11].to_vec();
        twelve.push("p");
        assert_eq!(java_hash_order(&twelve)[0], 11);
    }

    #[test]
    fn same_bucket_keeps_insertion_order() {
        // "Aa" and "BB" have the same String.hashCode (2112).
        assert_eq!(java_hash_order(&["BB", "Aa"]), vec![0, 1]);
        assert_eq!(java_hash_order(&["Aa", "BB"]), vec![0, 1]);
    }
}
