//! The group coordinator of one consumer group: membership, liveness, eager rebalances,
//! generations, assignment by Kafka's own assignors, and committed offsets.
//!
//! Inputs: `JoinGroup`, `LeaveGroup`, `Heartbeat` and `OffsetCommit` messages; the
//! `InitialDelayDone` and `SessionExpired` timers; the brokers going down and coming back
//! (`on_brokers`: it acts on nothing while they are down). Outputs: `RejoinRequired` (the
//! answer to a heartbeat during a rebalance), `SyncGroupResponse` and
//! `OffsetCommitResponse` messages, and trace records.
//! JoinGroup carries each member's owned partitions and generation, which go to the
//! assignor (`Subscription.ownedPartitions` / `generationId`); under `cooperative-sticky`
//! the partitions that change owner are withheld for one rebalance (the `Withheld` record).
//! Classic protocol (`GroupCoordinator`, `GroupMetadata` in Kafka 3.x): a
//! rebalance starts when a member joins, leaves, or has been silent for
//! `session.timeout.ms`; the others learn of it from the answer to their next heartbeat
//! (REBALANCE_IN_PROGRESS), and every member in the group's view must rejoin before the
//! new generation is computed. Commits from a stale generation are refused. The committed
//! offsets kept here are the run's one source of truth for them.

use crate::assignor::{rebalance, Rebalance, Strategy, Subscription};
use crate::engine::Time;
use crate::model::io::{Endpoint, MemberRef, Msg, Out, SyncGroup, Timer};
use crate::model::log::Offset;
use crate::scenario::Assignor;
use crate::trace::{ActorId, Kind, PartId, RebalanceReason, Share};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Empty,
    /// group.initial.rebalance.delay.ms: a new group waits for more members.
    InitialDelay,
    PreparingRebalance,
    Stable,
}

/// A member as the coordinator sees it: one incarnation of a member slot.
#[derive(Clone, Debug)]
struct Seen {
    member: MemberRef,
    /// The member's index in its group: its member.id is `<group>-<index+1>`.
    index: u32,
    actor: ActorId,
    joined: bool,
    /// When the coordinator last heard from this incarnation (a heartbeat, a JoinGroup or
    /// a commit): its session ends `session.timeout.ms` after that.
    last_heard: Time,
    /// Its latest JoinGroup's `ownedPartitions` and `generationId`, which the assignor reads.
    owned: Vec<PartId>,
    owned_generation: Option<u32>,
    /// The latest generation's share.
    share_from: usize,
    share_len: usize,
}

/// A topic the group subscribes to: its name, first PartId and partition count.
#[derive(Clone, Debug)]
pub struct GroupTopic {
    pub name: String,
    pub first: PartId,
    pub partitions: u32,
}

pub struct Coordinator {
    group: u16,
    name: String,
    state: State,
    generation: u32,
    view: Vec<Seen>,
    /// Committed offset per PartId (None: never committed).
    committed: Vec<Option<Offset>>,
    topics: Vec<GroupTopic>,
    assignor: Assignor,
    initial_delay_ms: u64,
    session_timeout_ms: u64,
    /// Static membership: each member's `group.instance.id` is its name (KIP-345).
    static_members: bool,
    /// Member `i`'s topics, for the members with a subscription of their own.
    subscriptions: Vec<Vec<String>>,
    /// Every other member's topics (empty: all of `topics`).
    default_topics: Vec<String>,
    /// The latest generation's shares, concatenated; `Seen::share_*` index into it.
    shares: Vec<PartId>,
    /// Every broker is down (`kafka_outage`): the coordinator lives on a broker, so it
    /// acts on nothing until they are back.
    brokers_down: bool,
    /// Timers that came due while the brokers were down, in the order they fell due.
    deferred: Vec<(u64, Timer)>,
}

impl Coordinator {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        group: u16,
        name: String,
        topics: Vec<GroupTopic>,
        partitions: usize,
        assignor: Assignor,
        initial_delay_ms: u64,
        session_timeout_ms: u64,
        static_members: bool,
    ) -> Coordinator {
        Coordinator {
            group,
            name,
            state: State::Empty,
            generation: 0,
            view: Vec::new(),
            committed: vec![None; partitions],
            topics,
            assignor,
            initial_delay_ms,
            session_timeout_ms,
            static_members,
            subscriptions: Vec::new(),
            default_topics: Vec::new(),
            shares: Vec::new(),
            brokers_down: false,
            deferred: Vec::new(),
        }
    }

    /// Each member's subscription by its index (`subscriptions[i]` for member `i`, the
    /// rest `default`), as its JoinGroup would carry it (`Subscription.topics`). Without a
    /// call every member subscribes to every topic of the group.
    pub fn set_subscriptions(&mut self, default: Vec<String>, per_member: Vec<Vec<String>>) {
        self.default_topics = default;
        self.subscriptions = per_member;
    }

    /// The topics member `index` subscribes to.
    fn subscription(&self, index: u32) -> Vec<String> {
        match self.subscriptions.get(index as usize) {
            Some(topics) => topics.clone(),
            None if !self.default_topics.is_empty() => self.default_topics.clone(),
            None => self.topics.iter().map(|t| t.name.clone()).collect(),
        }
    }

    /// Every broker went down or came back (a `kafka_outage`). The coordinator is one of
    /// them (SEMANTICS.md §9: with no broker reachable no JoinGroup, SyncGroup or
    /// OffsetCommit completes): while they are down it acts on nothing, and the timers
    /// that fell due meanwhile (the initial delay's end, a session expiry) fire once they
    /// are back, after the members' requests the outage held.
    pub fn on_brokers(&mut self, up: bool, out: &mut Out) {
        self.brokers_down = !up;
        if up {
            for (key, timer) in std::mem::take(&mut self.deferred) {
                out.set_timer_at(key, out.now, timer);
            }
        }
    }

    /// The group's metadata refresh (`metadata.max.age.ms`) found that topic `first` (its
    /// first partition) has `partitions` partitions. A stable group rebalances so the new
    /// ones are assigned (its leader sees the subscribed topics' metadata change and
    /// rejoins, `ConsumerCoordinator.rejoinNeededOrPending`); a rebalance under way assigns
    /// them when it completes; an empty group just knows.
    pub fn on_partitions(&mut self, first: PartId, partitions: u32, out: &mut Out) {
        let Some(t) = self.topics.iter_mut().find(|t| t.first == first) else {
            return;
        };
        if partitions <= t.partitions {
            return;
        }
        t.partitions = partitions;
        if self.state == State::Stable {
            if let Some(leader) = self.view.first().map(|s| s.actor) {
                self.state = State::PreparingRebalance;
                self.start(RebalanceReason::PartitionsAdded, leader, out);
                self.maybe_complete(out);
            }
        }
    }

    /// Committed offsets by PartId, as they stand.
    pub fn committed(&self) -> &[Option<Offset>] {
        &self.committed
    }

    pub fn state(&self) -> State {
        self.state
    }

    fn find(&self, member: MemberRef) -> Option<usize> {
        self.view.iter().position(|s| s.member == member)
    }

    pub fn on_message(&mut self, msg: Msg, out: &mut Out) {
        debug_assert!(
            !self.brokers_down,
            "the network holds members' requests to the coordinator in an outage"
        );
        if let Msg::JoinGroup { member, .. }
        | Msg::Heartbeat { member }
        | Msg::OffsetCommit { member, .. } = msg
        {
            if let Some(i) = self.find(member) {
                self.view[i].last_heard = out.now;
            }
        }
        match msg {
            Msg::JoinGroup {
                member,
                index,
                actor,
                owned,
                generation,
            } => self.on_join(member, index, actor, (owned, generation), out),
            Msg::LeaveGroup { member } => self.on_leave(member, RebalanceReason::Leave, out),
            Msg::Heartbeat { member } => self.on_heartbeat(member, out),
            Msg::OffsetCommit {
                member,
                actor,
                generation,
                part,
                offset,
                sync,
            } => {
                let accepted = self.on_commit(member, generation, part, offset, out);
                if !accepted {
                    out.trace(Kind::CommitRejected {
                        actor,
                        part,
                        offset,
                    });
                }
                if sync {
                    out.send(
                        Endpoint::Member(member.slot),
                        Msg::OffsetCommitResponse { member, accepted },
                    );
                }
            }
            other => unreachable!("the coordinator got {other:?}"),
        }
    }

    pub fn on_timer(&mut self, timer: Timer, out: &mut Out) {
        if self.brokers_down {
            let key = match timer {
                Timer::SessionExpired { member } => session_key(member),
                _ => INITIAL_DELAY,
            };
            self.deferred.push((key, timer));
            return;
        }
        match timer {
            Timer::InitialDelayDone { generation } => {
                if self.state == State::InitialDelay && generation == self.generation {
                    self.state = State::PreparingRebalance;
                    self.maybe_complete(out);
                }
            }
            Timer::SessionExpired { member } => self.on_session_timer(member, out),
            other => unreachable!("the coordinator sets no {other:?} timer"),
        }
    }

    /// A heartbeat: the session goes on (`on_message` noted it). During a rebalance the
    /// answer is REBALANCE_IN_PROGRESS for a member that has not rejoined yet; a member the
    /// group no longer knows (expired, or left) is told UNKNOWN_MEMBER_ID, which also
    /// makes it rejoin. Otherwise nothing is sent back (README, Simplifications).
    fn on_heartbeat(&mut self, member: MemberRef, out: &mut Out) {
        let (rejoin, unknown) = match self.find(member) {
            Some(i) => (
                self.state == State::PreparingRebalance && !self.view[i].joined,
                false,
            ),
            None => (true, true),
        };
        if rejoin {
            out.send(
                Endpoint::Member(member.slot),
                Msg::RejoinRequired { member, unknown },
            );
        }
    }

    /// The session timer of `member` fired: it is expired if nothing was heard from it for
    /// `session.timeout.ms`; otherwise the timer moves to when that would be. One timer
    /// per member, moved once a session rather than once a heartbeat.
    fn on_session_timer(&mut self, member: MemberRef, out: &mut Out) {
        let Some(i) = self.find(member) else { return };
        let ends = self.view[i].last_heard.after(self.session_timeout_ms);
        if ends > out.now {
            out.set_timer_at(session_key(member), ends, Timer::SessionExpired { member });
            return;
        }
        self.on_leave(member, RebalanceReason::SessionExpired, out);
    }

    /// A JoinGroup. `claim` is its `ownedPartitions` and `generationId`.
    fn on_join(
        &mut self,
        member: MemberRef,
        index: u32,
        actor: ActorId,
        claim: (Vec<PartId>, Option<u32>),
        out: &mut Out,
    ) {
        out.trace(Kind::JoinGroup { actor });
        // A known group.instance.id: a restarted static member, or one back after a poll
        // timeout within its session.
        if self.static_members {
            if let Some(i) = self.view.iter().position(|s| s.index == index) {
                (self.view[i].owned, self.view[i].owned_generation) = claim;
                return self.static_rejoin(i, member, out);
            }
        }
        match self.find(member) {
            Some(i) => {
                self.view[i].joined = true;
                (self.view[i].owned, self.view[i].owned_generation) = claim;
            }
            None => {
                self.view.push(Seen {
                    member,
                    index,
                    actor,
                    joined: true,
                    last_heard: out.now,
                    owned: claim.0,
                    owned_generation: claim.1,
                    share_from: 0,
                    share_len: 0,
                });
                out.set_timer(
                    session_key(member),
                    self.session_timeout_ms,
                    Timer::SessionExpired { member },
                );
            }
        }
        match self.state {
            State::Empty => {
                self.state = State::InitialDelay;
                self.start(RebalanceReason::Join, actor, out);
                out.set_timer(
                    INITIAL_DELAY,
                    self.initial_delay_ms,
                    Timer::InitialDelayDone {
                        generation: self.generation,
                    },
                );
            }
            State::Stable => {
                self.start(RebalanceReason::Join, actor, out);
                self.state = State::PreparingRebalance;
                self.maybe_complete(out);
            }
            State::PreparingRebalance => self.maybe_complete(out),
            State::InitialDelay => {}
        }
    }

    /// A static member joined under the instance id of view entry `i`, as a new incarnation
    /// or the same one (`GroupMetadataManager` replaces the member id of a known `group.instance.id`):
    /// it takes that entry's place, session and share. In a stable group it gets the current
    /// generation's share at once, with no rebalance; during one it counts as rejoined.
    fn static_rejoin(&mut self, i: usize, member: MemberRef, out: &mut Out) {
        out.cancel_timer(session_key(self.view[i].member));
        let s = &mut self.view[i];
        s.member = member;
        s.last_heard = out.now;
        out.set_timer(
            session_key(member),
            self.session_timeout_ms,
            Timer::SessionExpired { member },
        );
        if self.state != State::Stable {
            s.joined = true;
            return self.maybe_complete(out);
        }
        out.trace(Kind::StaticRejoin {
            group: self.group,
            actor: s.actor,
            generation: self.generation,
        });
        let share = &self.shares[s.share_from..s.share_from + s.share_len];
        let assignment = share.iter().map(|&p| (p, self.committed[p.ix()])).collect();
        out.send(
            Endpoint::Member(member.slot),
            Msg::SyncGroupResponse(Box::new(SyncGroup {
                member,
                generation: self.generation,
                assignment,
            })),
        );
    }

    /// A rebalance starts. The members learn of it from the answers to their heartbeats.
    fn start(&mut self, reason: RebalanceReason, cause: ActorId, out: &mut Out) {
        out.trace(Kind::RebalanceStart {
            group: self.group,
            reason,
            cause,
        });
    }

    fn on_leave(&mut self, member: MemberRef, reason: RebalanceReason, out: &mut Out) {
        let Some(i) = self.find(member) else {
            return;
        };
        let gone = self.view.remove(i);
        out.cancel_timer(session_key(member));
        if reason == RebalanceReason::SessionExpired {
            out.trace(Kind::SessionExpired { actor: gone.actor });
        }
        if self.view.is_empty() {
            // Kafka (GroupMetadata.initNextGeneration): the last member gone, the rebalance
            // completes at once into an empty generation and the group is Empty.
            if self.state == State::Stable {
                self.start(reason, gone.actor, out);
            }
            if self.state == State::InitialDelay {
                // Kafka 4.0 (GroupMetadataManager ~4633-4654): the join phase completes
                // with no members and the delay timer is cancelled; a later join into the
                // Empty group starts a fresh delay.
                out.cancel_timer(INITIAL_DELAY);
            }
            if matches!(
                self.state,
                State::Stable | State::PreparingRebalance | State::InitialDelay
            ) {
                self.generation += 1;
                self.shares.clear();
                let assignment = out.new_assignment(Vec::new());
                out.trace(Kind::Generation {
                    group: self.group,
                    generation: self.generation,
                    assignment,
                });
            }
            self.state = State::Empty;
            return;
        }
        match self.state {
            State::Stable => {
                self.state = State::PreparingRebalance;
                self.start(reason, gone.actor, out);
                self.maybe_complete(out);
            }
            State::PreparingRebalance => self.maybe_complete(out),
            State::InitialDelay | State::Empty => {}
        }
    }

    /// Once every member in the view has rejoined: assign, bump the generation, answer.
    fn maybe_complete(&mut self, out: &mut Out) {
        if self.state != State::PreparingRebalance || self.view.iter().any(|s| !s.joined) {
            return;
        }
        self.generation += 1;
        self.state = State::Stable;
        let topic_list: Vec<(&str, u32)> = self
            .topics
            .iter()
            .map(|t| (t.name.as_str(), t.partitions))
            .collect();
        let subs: Vec<Subscription> = self
            .view
            .iter()
            .map(|s| Subscription {
                // member.id: the member's name, so the assignor's order is the names' order.
                member_id: format!("{}-{}", self.name, s.index + 1),
                // A static member's group.instance.id is its name too.
                group_instance_id: self
                    .static_members
                    .then(|| format!("{}-{}", self.name, s.index + 1)),
                topics: self.subscription(s.index),
                // Range and roundrobin read neither; the sticky assignors keep what they can.
                owned: s
                    .owned
                    .iter()
                    .filter_map(|&p| self.topic_partition(p))
                    .collect(),
                generation: s.owned_generation.map(|g| g as i32),
            })
            .collect();
        let rebalance = rebalance(strategy(self.assignor), &topic_list, &subs);
        let withheld = self.withheld_table(&rebalance);
        let result = rebalance.assignment;
        self.shares.clear();
        let mut table = Vec::with_capacity(self.view.len());
        let mut order = Vec::with_capacity(self.view.len());
        for (s, parts) in self.view.iter_mut().zip(result) {
            order.push(s.index);
            s.joined = false;
            s.share_from = self.shares.len();
            self.shares
                .extend(parts.into_iter().map(|(t, p)| self.topics[t].first.plus(p)));
            s.share_len = self.shares.len() - s.share_from;
            table.push(Share {
                actor: s.actor,
                parts: self.shares[s.share_from..].to_vec(),
            });
        }
        // The table lists members by member.id, as the assignor ordered them, whatever the
        // order they joined in.
        let mut rows: Vec<(String, Share)> = order
            .into_iter()
            .zip(table)
            .map(|(index, share)| (format!("{}-{}", self.name, index + 1), share))
            .collect();
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        let assignment = out.new_assignment(rows.into_iter().map(|(_, s)| s).collect());
        out.trace(Kind::Generation {
            group: self.group,
            generation: self.generation,
            assignment,
        });
        if !withheld.is_empty() {
            let assignment = out.new_assignment(withheld);
            out.trace(Kind::Withheld {
                group: self.group,
                generation: self.generation,
                assignment,
            });
        }
        for s in &self.view {
            let share = &self.shares[s.share_from..s.share_from + s.share_len];
            let assignment = share.iter().map(|&p| (p, self.committed[p.ix()])).collect();
            out.send(
                Endpoint::Member(s.member.slot),
                Msg::SyncGroupResponse(Box::new(SyncGroup {
                    member: s.member,
                    generation: self.generation,
                    assignment,
                })),
            );
        }
    }

    /// The (topic name, partition) of one of the group's partitions, as a `Subscription`
    /// names it; `None` for a partition of a topic the group does not subscribe to.
    fn topic_partition(&self, part: PartId) -> Option<(String, u32)> {
        self.topics.iter().find_map(|t| {
            let p = part.0.checked_sub(t.first.0)?;
            (p < t.partitions).then(|| (t.name.clone(), p))
        })
    }

    /// The partitions a cooperative rebalance withholds (`CooperativeStickyAssignor
    /// .adjustAssignment`), as shares of their future owners, in member.id order: each
    /// reaches its new owner in the next rebalance, once its old owner has revoked it.
    fn withheld_table(&self, rebalance: &Rebalance) -> Vec<Share> {
        let mut rows: Vec<(u32, Share)> = Vec::new();
        for t in rebalance.withheld() {
            let to = &self.view[t.to];
            let part = self.topics[t.topic].first.plus(t.partition);
            match rows.iter_mut().find(|(index, _)| *index == to.index) {
                Some((_, share)) => share.parts.push(part),
                None => rows.push((
                    to.index,
                    Share {
                        actor: to.actor,
                        parts: vec![part],
                    },
                )),
            }
        }
        rows.sort_by_key(|(index, _)| format!("{}-{}", self.name, index + 1));
        rows.into_iter().map(|(_, share)| share).collect()
    }

    /// OffsetCommit: accepted only from a member of the current generation.
    fn on_commit(
        &mut self,
        member: MemberRef,
        generation: u32,
        part: PartId,
        offset: Offset,
        out: &mut Out,
    ) -> bool {
        match self.find(member).map(|i| self.view[i].actor) {
            Some(actor) if generation == self.generation => {
                self.committed[part.ix()] = Some(offset);
                out.trace(Kind::Committed {
                    group: self.group,
                    part,
                    offset,
                    actor,
                });
                true
            }
            _ => false,
        }
    }
}

/// The assignor a scenario's `partition.assignment.strategy` names.
fn strategy(assignor: Assignor) -> Strategy {
    match assignor {
        Assignor::Range => Strategy::Range,
        Assignor::RoundRobin => Strategy::RoundRobin,
        Assignor::Sticky => Strategy::Sticky,
        Assignor::CooperativeSticky => Strategy::CooperativeSticky,
    }
}

/// The timer key of the initial rebalance delay; session timers use `session_key`.
const INITIAL_DELAY: u64 = u64::MAX;

/// The session timer of one incarnation of a member slot. A restarted member can sit in
/// the view beside its crashed predecessor, and each has its own session to run out.
fn session_key(member: MemberRef) -> u64 {
    u64::from(member.slot) | (u64::from(member.incarnation) << 32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Time;
    use crate::model::io::{TimerKey, TimerOp};
    use std::collections::BTreeMap;

    const DELAY_MS: u64 = 3_000;
    const SESSION_MS: u64 = 10_000;

    /// Group 0, "g", subscribed to one topic of four partitions (PartIds 0..4), range
    /// assignor.
    fn coordinator() -> Coordinator {
        let topic = GroupTopic {
            name: "orders".to_owned(),
            first: PartId(0),
            partitions: 4,
        };
        Coordinator::new(
            0,
            "g".to_owned(),
            vec![topic],
            4,
            Assignor::Range,
            DELAY_MS,
            SESSION_MS,
            false,
        )
    }

    fn member(slot: u32, incarnation: u32) -> MemberRef {
        MemberRef { slot, incarnation }
    }

    /// Member slot `s` is `g-<s+1>` with actor `100 + s`.
    fn actor(slot: u32) -> ActorId {
        ActorId(100 + slot)
    }

    fn join(m: MemberRef) -> Msg {
        Msg::JoinGroup {
            member: m,
            index: m.slot,
            actor: actor(m.slot),
            owned: Vec::new(),
            generation: None,
        }
    }

    fn commit(m: MemberRef, generation: u32, part: PartId, offset: u64, sync: bool) -> Msg {
        Msg::OffsetCommit {
            member: m,
            actor: actor(m.slot),
            generation,
            part,
            offset: Offset(offset),
            sync,
        }
    }

    /// The SyncGroupResponses in `out`, by destination.
    fn syncs(out: &Out) -> Vec<(Endpoint, SyncGroup)> {
        out.sends
            .iter()
            .filter_map(|(to, m)| match m {
                Msg::SyncGroupResponse(s) => Some((*to, (**s).clone())),
                _ => None,
            })
            .collect()
    }

    fn none(parts: &[PartId]) -> Vec<(PartId, Option<Offset>)> {
        parts.iter().map(|&p| (p, None)).collect()
    }

    /// A group whose first member (slot 0) got generation 1 after the initial delay.
    fn stable_with_one() -> Coordinator {
        let mut c = coordinator();
        c.on_message(join(member(0, 1)), &mut Out::at(Time(0)));
        let mut out = Out::at(Time(DELAY_MS));
        c.on_timer(Timer::InitialDelayDone { generation: 0 }, &mut out);
        assert_eq!(c.state(), State::Stable);
        c
    }

    /// A group with members in slots 0 and 1 at generation 2.
    fn stable_with_two() -> Coordinator {
        let mut c = stable_with_one();
        c.on_message(join(member(1, 1)), &mut Out::at(Time(4_000)));
        c.on_message(join(member(0, 1)), &mut Out::at(Time(4_010)));
        assert_eq!(c.state(), State::Stable);
        c
    }

    /// The driver's timer table for one component: setting a key moves it.
    fn apply(table: &mut BTreeMap<TimerKey, (Time, Timer)>, out: &Out) {
        for op in &out.timers {
            match *op {
                TimerOp::Set { key, at, timer } => {
                    table.insert(key, (at, timer));
                }
                TimerOp::Cancel { key } => {
                    table.remove(&key);
                }
                TimerOp::CancelAll => table.clear(),
            }
        }
    }

    #[test]
    fn a_first_join_waits_out_the_initial_rebalance_delay() {
        let mut c = coordinator();
        let mut out = Out::at(Time(10));
        c.on_message(join(member(0, 1)), &mut out);
        assert_eq!(
            out.trace,
            vec![
                Kind::JoinGroup {
                    actor: ActorId(100)
                },
                Kind::RebalanceStart {
                    group: 0,
                    reason: RebalanceReason::Join,
                    cause: ActorId(100)
                }
            ]
        );
        assert!(matches!(
            out.timers[..],
            [
                TimerOp::Set {
                    at: Time(10_010),
                    timer: Timer::SessionExpired { .. },
                    ..
                },
                TimerOp::Set {
                    at: Time(3_010),
                    timer: Timer::InitialDelayDone { generation: 0 },
                    ..
                }
            ]
        ));
        assert!(out.sends.is_empty(), "no answer before the delay ends");
        assert_eq!(c.state(), State::InitialDelay);
    }

    #[test]
    fn the_end_of_the_initial_delay_completes_generation_one_with_the_whole_topic() {
        let mut c = coordinator();
        c.on_message(join(member(0, 1)), &mut Out::at(Time(10)));
        let mut out = Out::at(Time(3_010));
        c.on_timer(Timer::InitialDelayDone { generation: 0 }, &mut out);
        assert_eq!(c.state(), State::Stable);
        assert_eq!(
            out.trace,
            vec![Kind::Generation {
                group: 0,
                generation: 1,
                assignment: 0
            }]
        );
        assert_eq!(out.new_assignments.len(), 1);
        assert_eq!(out.new_assignments[0][0].actor, ActorId(100));
        assert_eq!(
            out.new_assignments[0][0].parts,
            [0, 1, 2, 3].map(PartId).to_vec()
        );
        let syncs = syncs(&out);
        assert_eq!(syncs.len(), 1);
        let (to, sync) = &syncs[0];
        assert_eq!(*to, Endpoint::Member(0));
        assert_eq!(sync.member, member(0, 1));
        assert_eq!(sync.generation, 1);
        assert_eq!(
            sync.assignment,
            none(&[PartId(0), PartId(1), PartId(2), PartId(3)])
        );
    }

    #[test]
    fn a_stale_initial_delay_timer_completes_nothing() {
        let mut c = stable_with_one();
        let mut out = Out::at(Time(9_000));
        c.on_timer(Timer::InitialDelayDone { generation: 0 }, &mut out);
        assert!(out.sends.is_empty() && out.trace.is_empty());
        assert_eq!(c.state(), State::Stable);
    }

    #[test]
    fn a_join_to_a_stable_group_makes_the_others_rejoin_before_the_next_generation() {
        let mut c = stable_with_one();
        let mut out = Out::at(Time(4_000));
        c.on_message(join(member(1, 1)), &mut out);
        assert_eq!(
            out.trace,
            vec![
                Kind::JoinGroup {
                    actor: ActorId(101)
                },
                Kind::RebalanceStart {
                    group: 0,
                    reason: RebalanceReason::Join,
                    cause: ActorId(101)
                }
            ]
        );
        assert!(
            out.sends.is_empty(),
            "the others learn of it from their heartbeats"
        );
        assert_eq!(c.state(), State::PreparingRebalance);
        let mut out = Out::at(Time(4_005));
        c.on_message(
            Msg::Heartbeat {
                member: member(0, 1),
            },
            &mut out,
        );
        assert!(matches!(
            &out.sends[..],
            [(Endpoint::Member(0), Msg::RejoinRequired { member: m, unknown: false })] if *m == member(0, 1)
        ));

        let mut out = Out::at(Time(4_010));
        c.on_message(join(member(0, 1)), &mut out);
        assert_eq!(c.state(), State::Stable);
        assert!(out.trace.contains(&Kind::Generation {
            group: 0,
            generation: 2,
            assignment: 0
        }));
        let syncs = syncs(&out);
        assert_eq!(syncs.len(), 2);
        for (to, sync) in &syncs {
            assert_eq!(sync.generation, 2);
            // Range: g-1 takes the first half, g-2 the second.
            let expected = match to {
                Endpoint::Member(0) => none(&[0, 1].map(PartId)),
                Endpoint::Member(1) => none(&[2, 3].map(PartId)),
                other => panic!("a SyncGroupResponse to {other:?}"),
            };
            assert_eq!(sync.assignment, expected, "to {to:?}");
        }
    }

    #[test]
    fn a_rebalance_hands_each_member_the_committed_offsets_of_its_share() {
        let mut c = stable_with_one();
        c.on_message(
            commit(member(0, 1), 1, PartId(2), 7, false),
            &mut Out::at(Time(3_500)),
        );
        c.on_message(join(member(1, 1)), &mut Out::at(Time(4_000)));
        let mut out = Out::at(Time(4_010));
        c.on_message(join(member(0, 1)), &mut out);
        let to_second = syncs(&out)
            .into_iter()
            .find(|(to, _)| *to == Endpoint::Member(1))
            .expect("the second member gets its share")
            .1;
        assert_eq!(
            to_second.assignment,
            vec![(PartId(2), Some(Offset(7))), (PartId(3), None)]
        );
    }

    #[test]
    fn a_commit_from_the_current_generation_is_stored_and_answered() {
        let mut c = stable_with_one();
        let mut out = Out::at(Time(3_500));
        c.on_message(commit(member(0, 1), 1, PartId(1), 5, true), &mut out);
        assert_eq!(
            out.trace,
            vec![Kind::Committed {
                group: 0,
                part: PartId(1),
                offset: Offset(5),
                actor: ActorId(100)
            }]
        );
        assert!(matches!(
            &out.sends[..],
            [(Endpoint::Member(0), Msg::OffsetCommitResponse { member: m, accepted: true })]
                if *m == member(0, 1)
        ));
        assert_eq!(c.committed(), &[None, Some(Offset(5)), None, None]);
    }

    #[test]
    fn an_auto_commit_is_stored_without_an_answer() {
        let mut c = stable_with_one();
        let mut out = Out::at(Time(3_500));
        c.on_message(commit(member(0, 1), 1, PartId(0), 3, false), &mut out);
        assert!(out.sends.is_empty());
        assert_eq!(c.committed()[0], Some(Offset(3)));
    }

    #[test]
    fn a_commit_from_a_stale_generation_is_refused() {
        let mut c = stable_with_two();
        let mut out = Out::at(Time(5_000));
        c.on_message(commit(member(0, 1), 1, PartId(0), 9, true), &mut out);
        assert_eq!(
            out.trace,
            vec![Kind::CommitRejected {
                actor: ActorId(100),
                part: PartId(0),
                offset: Offset(9)
            }]
        );
        assert!(matches!(
            &out.sends[..],
            [(
                Endpoint::Member(0),
                Msg::OffsetCommitResponse {
                    accepted: false,
                    ..
                }
            )]
        ));
        assert_eq!(c.committed(), &[None; 4]);
    }

    #[test]
    fn a_commit_from_an_unknown_member_is_refused() {
        let mut c = stable_with_one();
        // A previous incarnation of the member, and a slot the group never saw.
        for stranger in [member(0, 0), member(7, 1)] {
            let mut out = Out::at(Time(5_000));
            c.on_message(commit(stranger, 1, PartId(3), 4, true), &mut out);
            assert_eq!(
                out.trace,
                vec![Kind::CommitRejected {
                    actor: actor(stranger.slot),
                    part: PartId(3),
                    offset: Offset(4)
                }]
            );
            assert!(matches!(
                &out.sends[..],
                [(Endpoint::Member(s), Msg::OffsetCommitResponse { accepted: false, .. })]
                    if *s == stranger.slot
            ));
        }
        assert_eq!(c.committed(), &[None; 4]);
    }

    #[test]
    fn a_member_that_heartbeats_keeps_its_session_and_a_silent_one_expires() {
        let mut c = stable_with_two();
        let mut timers = BTreeMap::new();
        // stable_with_two's joins set the session timers; replay them into the table.
        for (key, m, at) in [
            (session_key(member(0, 1)), member(0, 1), 0),
            (session_key(member(1, 1)), member(1, 1), 4_000),
        ] {
            timers.insert(
                key,
                (Time(at + SESSION_MS), Timer::SessionExpired { member: m }),
            );
        }
        // Slot 0 heartbeats every 3 s from 4 010; slot 1 went silent after its join at 4 000.
        let (trace, sends) =
            run_with_heartbeats(&mut c, &mut timers, 4_010, 16_010, &[member(0, 1)]);
        assert_eq!(
            trace,
            vec![
                Kind::SessionExpired {
                    actor: ActorId(101)
                },
                Kind::RebalanceStart {
                    group: 0,
                    reason: RebalanceReason::SessionExpired,
                    cause: ActorId(101)
                }
            ]
        );
        // Slot 1 expires exactly session.timeout.ms after it was last heard of (4 000 +
        // 10 000), and slot 0 learns of the rebalance from its next heartbeat's answer.
        assert_eq!(sends, vec![(Time(16_010), member(0, 1))], "{sends:?}");
        assert!(
            timers.values().any(|&(at, t)| at == Time(17_010)
                && t == Timer::SessionExpired {
                    member: member(0, 1)
                }),
            "slot 0's timer fired at 10 000 and moved a session past its heartbeat at 7 010: {timers:?}"
        );
    }

    #[test]
    fn a_heartbeat_gets_an_answer_only_when_the_member_must_rejoin() {
        let mut c = stable_with_one();
        let mut out = Out::at(Time(4_000));
        c.on_message(
            Msg::Heartbeat {
                member: member(0, 1),
            },
            &mut out,
        );
        assert!(
            out.sends.is_empty() && out.trace.is_empty(),
            "a stable group says nothing"
        );
        // A member the group does not know (expired, or a stranger): UNKNOWN_MEMBER_ID.
        let mut out = Out::at(Time(4_000));
        c.on_message(
            Msg::Heartbeat {
                member: member(3, 1),
            },
            &mut out,
        );
        assert!(matches!(
            &out.sends[..],
            [(Endpoint::Member(3), Msg::RejoinRequired { member: m, unknown: true })] if *m == member(3, 1)
        ));
        // During a rebalance: REBALANCE_IN_PROGRESS to those who have not rejoined yet.
        c.on_message(join(member(1, 1)), &mut Out::at(Time(5_000)));
        for (m, answered) in [(member(0, 1), true), (member(1, 1), false)] {
            let mut out = Out::at(Time(5_500));
            c.on_message(Msg::Heartbeat { member: m }, &mut out);
            assert_eq!(!out.sends.is_empty(), answered, "{m:?}");
        }
    }

    #[test]
    fn an_expired_session_removes_the_member_and_rebalances_the_rest() {
        let mut c = stable_with_two();
        c.on_message(
            Msg::Heartbeat {
                member: member(0, 1),
            },
            &mut Out::at(Time(13_000)),
        );
        let mut out = Out::at(Time(15_000));
        c.on_timer(
            Timer::SessionExpired {
                member: member(1, 1),
            },
            &mut out,
        );
        assert_eq!(
            out.trace,
            vec![
                Kind::SessionExpired {
                    actor: ActorId(101)
                },
                Kind::RebalanceStart {
                    group: 0,
                    reason: RebalanceReason::SessionExpired,
                    cause: ActorId(101)
                }
            ]
        );
        assert!(
            out.sends.is_empty(),
            "the others hear of it from their heartbeats"
        );
        assert_eq!(c.state(), State::PreparingRebalance);

        let mut out = Out::at(Time(15_010));
        c.on_message(join(member(0, 1)), &mut out);
        let syncs = syncs(&out);
        assert_eq!(syncs.len(), 1, "the expired member gets nothing");
        assert_eq!(syncs[0].0, Endpoint::Member(0));
        assert_eq!(syncs[0].1.generation, 3);
        assert_eq!(
            syncs[0].1.assignment,
            none(&[PartId(0), PartId(1), PartId(2), PartId(3)])
        );
    }

    #[test]
    fn a_session_timer_that_fires_early_moves_to_a_session_after_the_last_heartbeat() {
        let mut c = stable_with_two();
        c.on_message(
            Msg::Heartbeat {
                member: member(1, 1),
            },
            &mut Out::at(Time(12_000)),
        );
        let mut out = Out::at(Time(14_000));
        c.on_timer(
            Timer::SessionExpired {
                member: member(1, 1),
            },
            &mut out,
        );
        assert!(out.trace.is_empty());
        assert!(matches!(
            out.timers[..],
            [TimerOp::Set { at: Time(22_000), timer: Timer::SessionExpired { member: m }, .. }] if m == member(1, 1)
        ));
    }

    #[test]
    fn a_member_that_left_is_not_expired_later() {
        let mut c = stable_with_two();
        c.on_message(
            Msg::LeaveGroup {
                member: member(1, 1),
            },
            &mut Out::at(Time(5_010)),
        );
        let mut out = Out::at(Time(15_000));
        c.on_timer(
            Timer::SessionExpired {
                member: member(1, 1),
            },
            &mut out,
        );
        assert!(out.trace.is_empty() && out.sends.is_empty());
    }

    #[test]
    fn the_last_member_leaving_ends_in_an_empty_generation_and_a_new_join_waits_again() {
        let mut c = stable_with_one();
        let mut out = Out::at(Time(5_000));
        c.on_message(
            Msg::LeaveGroup {
                member: member(0, 1),
            },
            &mut out,
        );
        assert_eq!(c.state(), State::Empty);
        assert!(out.sends.is_empty(), "nobody is left to rejoin");
        // Kafka completes the rebalance at once into an empty generation 2.
        assert!(
            matches!(
                out.trace[..],
                [
                    Kind::RebalanceStart { .. },
                    Kind::Generation { generation: 2, .. }
                ]
            ),
            "{:?}",
            out.trace
        );
        assert!(
            matches!(out.timers[..], [TimerOp::Cancel { .. }]),
            "its session timer goes"
        );

        let mut out = Out::at(Time(6_000));
        c.on_message(join(member(1, 1)), &mut out);
        assert_eq!(c.state(), State::InitialDelay);
        assert!(matches!(
            out.timers[..],
            [
                TimerOp::Set { .. },
                TimerOp::Set {
                    at: Time(9_000),
                    timer: Timer::InitialDelayDone { generation: 2 },
                    ..
                }
            ]
        ));
        let mut out = Out::at(Time(9_000));
        c.on_timer(Timer::InitialDelayDone { generation: 2 }, &mut out);
        let syncs = syncs(&out);
        assert_eq!(syncs.len(), 1);
        assert_eq!(syncs[0].0, Endpoint::Member(1));
        assert_eq!(syncs[0].1.generation, 3);
    }

    /// Runs the table's timers and a heartbeat from each of `beating` every 3 s from
    /// `from`, in time order, up to `until`. Returns the trace, and who was told to rejoin
    /// when.
    fn run_with_heartbeats(
        c: &mut Coordinator,
        table: &mut BTreeMap<TimerKey, (Time, Timer)>,
        from: u64,
        until: u64,
        beating: &[MemberRef],
    ) -> (Vec<Kind>, Vec<(Time, MemberRef)>) {
        let (mut trace, mut told) = (Vec::new(), Vec::new());
        let mut beat = from + 3_000;
        loop {
            let timer = table
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(&k, &v)| (k, v));
            let mut out = match timer {
                Some((key, (at, timer))) if at.0 < beat && at.0 <= until => {
                    table.remove(&key);
                    let mut out = Out::at(at);
                    c.on_timer(timer, &mut out);
                    out
                }
                _ if beat <= until => {
                    let mut out = Out::at(Time(beat));
                    for &m in beating {
                        c.on_message(Msg::Heartbeat { member: m }, &mut out);
                    }
                    beat += 3_000;
                    out
                }
                _ => return (trace, told),
            };
            apply(table, &out);
            trace.append(&mut out.trace);
            for (_, m) in &out.sends {
                if let Msg::RejoinRequired { member, .. } = m {
                    told.push((out.now, *member));
                }
            }
        }
    }

    #[test]
    fn a_crashed_incarnation_still_expires_when_its_successor_crashes_too() {
        // Slot 0's incarnation 1 goes silent at 5 000 (a crash), incarnation 2 joins at
        // 6 000 and goes silent at once. Both are in the group's view; both must expire,
        // each a session after it was last heard of, while slot 1 heartbeats.
        let mut c = stable_with_two();
        let mut timers = BTreeMap::new();
        for (m, at) in [(member(0, 1), 0), (member(1, 1), 4_000)] {
            timers.insert(
                session_key(m),
                (Time(at + SESSION_MS), Timer::SessionExpired { member: m }),
            );
        }
        let mut out = Out::at(Time(6_000));
        c.on_message(join(member(0, 2)), &mut out);
        apply(&mut timers, &out);
        c.on_message(join(member(1, 1)), &mut Out::at(Time(6_010)));
        let (trace, told) =
            run_with_heartbeats(&mut c, &mut timers, 6_010, 20_000, &[member(1, 1)]);
        let expired: Vec<Kind> = trace
            .iter()
            .filter(|k| matches!(k, Kind::SessionExpired { .. }))
            .copied()
            .collect();
        assert_eq!(
            expired,
            vec![
                Kind::SessionExpired {
                    actor: ActorId(100)
                };
                2
            ],
            "{trace:?}"
        );
        // Incarnation 1 (heard at 4 010) expires at 14 010 and generation 3 forms with
        // incarnation 2 and slot 1; incarnation 2 (heard at 6 000) expires at 16 000, and
        // slot 1's heartbeat at 18 010 is told to rejoin.
        assert_eq!(told, vec![(Time(18_010), member(1, 1))]);
        let mut out = Out::at(Time(18_020));
        c.on_message(join(member(1, 1)), &mut out);
        assert_eq!(c.state(), State::Stable, "the rebalance completes");
        assert_eq!(syncs(&out).len(), 1);
        assert_eq!(syncs(&out)[0].1.generation, 4);
    }

    #[test]
    fn a_crashed_incarnation_still_expires_when_its_successor_leaves() {
        // Slot 0's incarnation 1 goes silent, incarnation 2 joins and leaves cleanly before
        // the first session ran out: incarnation 1 must still expire.
        let mut c = stable_with_two();
        let mut timers = BTreeMap::new();
        for (m, at) in [(member(0, 1), 0), (member(1, 1), 4_000)] {
            timers.insert(
                session_key(m),
                (Time(at + SESSION_MS), Timer::SessionExpired { member: m }),
            );
        }
        let mut out = Out::at(Time(6_000));
        c.on_message(join(member(0, 2)), &mut out);
        apply(&mut timers, &out);
        c.on_message(join(member(1, 1)), &mut Out::at(Time(6_010)));
        let mut out = Out::at(Time(7_000));
        c.on_message(
            Msg::LeaveGroup {
                member: member(0, 2),
            },
            &mut out,
        );
        apply(&mut timers, &out);
        let (trace, _) = run_with_heartbeats(&mut c, &mut timers, 6_010, 15_000, &[member(1, 1)]);
        assert!(
            trace.contains(&Kind::SessionExpired {
                actor: ActorId(100)
            }),
            "{trace:?}"
        );
        assert_eq!(c.state(), State::Stable, "the rebalance completes");
    }

    #[test]
    fn a_restarted_static_member_gets_its_share_back_with_no_rebalance() {
        let topic = GroupTopic {
            name: "orders".to_owned(),
            first: PartId(0),
            partitions: 4,
        };
        let mut c = Coordinator::new(
            0,
            "g".to_owned(),
            vec![topic],
            4,
            Assignor::Range,
            DELAY_MS,
            SESSION_MS,
            true,
        );
        c.on_message(join(member(0, 1)), &mut Out::at(Time(0)));
        c.on_message(join(member(1, 1)), &mut Out::at(Time(1)));
        c.on_timer(
            Timer::InitialDelayDone { generation: 0 },
            &mut Out::at(Time(DELAY_MS)),
        );
        c.on_message(
            commit(member(1, 1), 1, PartId(2), 7, false),
            &mut Out::at(Time(3_500)),
        );
        // Slot 1 crashed; its next incarnation joins under the same group.instance.id.
        let mut out = Out::at(Time(5_000));
        c.on_message(join(member(1, 2)), &mut out);
        assert_eq!(c.state(), State::Stable, "no rebalance");
        assert_eq!(
            out.trace,
            vec![
                Kind::JoinGroup {
                    actor: ActorId(101)
                },
                Kind::StaticRejoin {
                    group: 0,
                    actor: ActorId(101),
                    generation: 1
                }
            ]
        );
        let syncs = syncs(&out);
        assert_eq!(syncs.len(), 1);
        assert_eq!(syncs[0].1.member, member(1, 2));
        assert_eq!(syncs[0].1.generation, 1);
        assert_eq!(
            syncs[0].1.assignment,
            vec![(PartId(2), Some(Offset(7))), (PartId(3), None)]
        );
        // The old session timer goes; the new incarnation's starts now.
        assert!(matches!(
            out.timers[..],
            [TimerOp::Cancel { key }, TimerOp::Set { at: Time(15_000), .. }] if key == session_key(member(1, 1))
        ));
        // The old incarnation's commits are refused; the new one's are stored.
        let mut out = Out::at(Time(5_100));
        c.on_message(commit(member(1, 1), 1, PartId(2), 8, true), &mut out);
        assert!(matches!(out.trace[..], [Kind::CommitRejected { .. }]));
        c.on_message(
            commit(member(1, 2), 1, PartId(2), 9, true),
            &mut Out::at(Time(5_200)),
        );
        assert_eq!(c.committed()[2], Some(Offset(9)));
    }

    /// A two-member cooperative-sticky group on four partitions, slot 0 holding [0, 1] and
    /// slot 1 holding [2, 3] in generation 1; slot 2 joins and both rejoin with what they own.
    #[test]
    fn cooperative_sticky_reads_owned_partitions_and_withholds_what_moves() {
        let topic = GroupTopic {
            name: "orders".to_owned(),
            first: PartId(0),
            partitions: 4,
        };
        let mut c = Coordinator::new(
            0,
            "g".to_owned(),
            vec![topic],
            4,
            Assignor::CooperativeSticky,
            DELAY_MS,
            SESSION_MS,
            false,
        );
        c.on_message(join(member(0, 1)), &mut Out::at(Time(0)));
        c.on_message(join(member(1, 1)), &mut Out::at(Time(1)));
        let mut out = Out::at(Time(DELAY_MS));
        c.on_timer(Timer::InitialDelayDone { generation: 0 }, &mut out);
        let first: Vec<Vec<PartId>> = syncs(&out)
            .iter()
            .map(|(_, s)| s.assignment.iter().map(|a| a.0).collect())
            .collect();
        assert_eq!(
            first,
            vec![vec![PartId(0), PartId(2)], vec![PartId(1), PartId(3)]]
        );
        c.on_message(join(member(2, 1)), &mut Out::at(Time(4_000)));
        let rejoin = |m: MemberRef, owned: &[u32]| Msg::JoinGroup {
            member: m,
            index: m.slot,
            actor: actor(m.slot),
            owned: owned.iter().map(|&p| PartId(p)).collect(),
            generation: Some(1),
        };
        c.on_message(rejoin(member(0, 1), &[0, 2]), &mut Out::at(Time(4_010)));
        let mut out = Out::at(Time(4_020));
        c.on_message(rejoin(member(1, 1), &[1, 3]), &mut out);
        // Quotas of 1 and 2: g-1 keeps both (Kafka's HashMap order puts it first), g-2 keeps
        // one, and its other, p3, is withheld from g-3 for one rebalance.
        let second: Vec<(Endpoint, Vec<PartId>)> = syncs(&out)
            .iter()
            .map(|(to, s)| (*to, s.assignment.iter().map(|a| a.0).collect()))
            .collect();
        assert_eq!(
            second,
            vec![
                (Endpoint::Member(0), vec![PartId(0), PartId(2)]),
                (Endpoint::Member(1), vec![PartId(1)]),
                (Endpoint::Member(2), vec![]),
            ]
        );
        assert!(out
            .trace
            .iter()
            .any(|k| matches!(k, Kind::Withheld { generation: 2, .. })));
        assert_eq!(
            out.new_assignments.last().unwrap(),
            &vec![Share {
                actor: actor(2),
                parts: vec![PartId(3)]
            }]
        );
    }
}
