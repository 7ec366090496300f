//! The group coordinator of one consumer group: membership, eager rebalances, generations,
//! assignment by Kafka's own assignors, and committed offsets.
//!
//! Inputs: `JoinGroup`, `LeaveGroup`, `HeartbeatStopped` and `OffsetCommit` messages; the
//! `InitialDelayDone` and `SessionExpired` timers; the brokers going down and coming back
//! (`on_brokers`: it acts on nothing while they are down). Outputs: `RejoinRequired`,
//! `SyncGroupResponse` and `OffsetCommitResponse` messages, and trace records.
//! Classic protocol, eager (`GroupCoordinator`, `GroupMetadata` in Kafka 3.x): a
//! rebalance starts when a member joins, leaves, or is expired `session.timeout.ms` after
//! its last heartbeat; every member in the group's view must rejoin before the new
//! generation is computed. Commits from a stale generation are refused. The committed
//! offsets kept here are the run's one source of truth for them.

use crate::assignor::{assign, Strategy, Subscription};
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
#[derive(Clone, Copy, Debug)]
struct Seen {
    member: MemberRef,
    /// The member's index in its group: its member.id is `<group>-<index+1>`.
    index: u32,
    actor: ActorId,
    joined: bool,
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
            shares: Vec::new(),
            brokers_down: false,
            deferred: Vec::new(),
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
        match msg {
            Msg::JoinGroup {
                member,
                index,
                actor,
            } => self.on_join(member, index, actor, out),
            Msg::LeaveGroup { member } => self.on_leave(member, RebalanceReason::Leave, out),
            Msg::HeartbeatStopped { member, at } => {
                if self.find(member).is_some() {
                    let expires = at.after(self.session_timeout_ms).max(out.now);
                    out.set_timer_at(
                        session_key(member),
                        expires,
                        Timer::SessionExpired { member },
                    );
                }
            }
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
            Timer::SessionExpired { member } => {
                self.on_leave(member, RebalanceReason::SessionExpired, out)
            }
            other => unreachable!("the coordinator sets no {other:?} timer"),
        }
    }

    fn on_join(&mut self, member: MemberRef, index: u32, actor: ActorId, out: &mut Out) {
        out.trace(Kind::JoinGroup { actor });
        match self.find(member) {
            Some(i) => self.view[i].joined = true,
            None => self.view.push(Seen {
                member,
                index,
                actor,
                joined: true,
                share_from: 0,
                share_len: 0,
            }),
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

    /// Tells every member of the current view to rejoin (Kafka does it through heartbeats).
    fn start(&mut self, reason: RebalanceReason, cause: ActorId, out: &mut Out) {
        out.trace(Kind::RebalanceStart {
            group: self.group,
            reason,
            cause,
        });
        for s in &self.view {
            if !s.joined {
                out.send(
                    Endpoint::Member(s.member.slot),
                    Msg::RejoinRequired { member: s.member },
                );
            }
        }
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
                group_instance_id: None,
                topics: self.topics.iter().map(|t| t.name.clone()).collect(),
                // Range and roundrobin, the only assignors a scenario can name, read neither.
                owned: Vec::new(),
                generation: None,
            })
            .collect();
        let strategy = match self.assignor {
            Assignor::Range => Strategy::Range,
            Assignor::RoundRobin => Strategy::RoundRobin,
        };
        let result = assign(strategy, &topic_list, &subs);
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

    /// Fires the table's timers in time order until none is left; returns their traces.
    fn run_timers(c: &mut Coordinator, table: &mut BTreeMap<TimerKey, (Time, Timer)>) -> Vec<Kind> {
        let mut trace = Vec::new();
        while let Some((&key, &(at, timer))) = table.iter().min_by_key(|(_, (at, _))| *at) {
            table.remove(&key);
            let mut out = Out::at(at);
            c.on_timer(timer, &mut out);
            apply(table, &out);
            trace.append(&mut out.trace);
        }
        trace
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
            [TimerOp::Set {
                at: Time(3_010),
                timer: Timer::InitialDelayDone { generation: 0 },
                ..
            }]
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
        assert!(matches!(
            &out.sends[..],
            [(Endpoint::Member(0), Msg::RejoinRequired { member: m })] if *m == member(0, 1)
        ));
        assert_eq!(c.state(), State::PreparingRebalance);

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
    fn a_stopped_heartbeat_sets_the_session_timer_a_session_timeout_after_it_stopped() {
        let mut c = stable_with_one();
        let mut out = Out::at(Time(4_020));
        c.on_message(
            Msg::HeartbeatStopped {
                member: member(0, 1),
                at: Time(4_000),
            },
            &mut out,
        );
        assert!(matches!(
            out.timers[..],
            [TimerOp::Set {
                at: Time(14_000),
                timer: Timer::SessionExpired { member: m },
                ..
            }] if m == member(0, 1)
        ));
        assert!(out.sends.is_empty() && out.trace.is_empty());
        // Heard of only after its session would have ended: it expires at once.
        let mut out = Out::at(Time(20_000));
        c.on_message(
            Msg::HeartbeatStopped {
                member: member(0, 1),
                at: Time(4_000),
            },
            &mut out,
        );
        assert!(matches!(
            out.timers[..],
            [TimerOp::Set {
                at: Time(20_000),
                ..
            }]
        ));
    }

    #[test]
    fn a_stopped_heartbeat_of_a_member_not_in_the_group_sets_no_timer() {
        let mut c = stable_with_one();
        let mut out = Out::at(Time(4_020));
        c.on_message(
            Msg::HeartbeatStopped {
                member: member(3, 1),
                at: Time(4_000),
            },
            &mut out,
        );
        assert!(out.timers.is_empty());
    }

    #[test]
    fn an_expired_session_removes_the_member_and_rebalances_the_rest() {
        let mut c = stable_with_two();
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
        assert!(matches!(
            &out.sends[..],
            [(Endpoint::Member(0), Msg::RejoinRequired { member: m })] if *m == member(0, 1)
        ));
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
    fn a_member_that_left_is_not_expired_later() {
        let mut c = stable_with_two();
        c.on_message(
            Msg::HeartbeatStopped {
                member: member(1, 1),
                at: Time(5_000),
            },
            &mut Out::at(Time(5_000)),
        );
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
            [TimerOp::Set {
                at: Time(9_000),
                timer: Timer::InitialDelayDone { generation: 2 },
                ..
            }]
        ));
        let mut out = Out::at(Time(9_000));
        c.on_timer(Timer::InitialDelayDone { generation: 2 }, &mut out);
        let syncs = syncs(&out);
        assert_eq!(syncs.len(), 1);
        assert_eq!(syncs[0].0, Endpoint::Member(1));
        assert_eq!(syncs[0].1.generation, 3);
    }

    #[test]
    fn a_crashed_incarnation_still_expires_when_its_successor_crashes_too() {
        // Slot 0 crashes (incarnation 1), restarts (incarnation 2) and crashes again before
        // the first session ran out. Both incarnations are in the group's view; both must
        // expire, and then the rebalance completes with the member in slot 1.
        let mut c = stable_with_two();
        let mut timers = BTreeMap::new();
        let mut out = Out::at(Time(5_000));
        c.on_message(
            Msg::HeartbeatStopped {
                member: member(0, 1),
                at: Time(5_000),
            },
            &mut out,
        );
        apply(&mut timers, &out);
        let mut out = Out::at(Time(6_000));
        c.on_message(join(member(0, 2)), &mut out);
        apply(&mut timers, &out);
        let mut out = Out::at(Time(6_010));
        c.on_message(join(member(1, 1)), &mut out);
        apply(&mut timers, &out);
        let mut out = Out::at(Time(7_000));
        c.on_message(
            Msg::HeartbeatStopped {
                member: member(0, 2),
                at: Time(7_000),
            },
            &mut out,
        );
        apply(&mut timers, &out);
        assert!(
            timers.values().any(|&(at, t)| at == Time(15_000)
                && t == Timer::SessionExpired {
                    member: member(0, 1)
                }),
            "incarnation 1 still expires at 15000: {timers:?}"
        );
        let trace = run_timers(&mut c, &mut timers);
        let expired = trace
            .iter()
            .filter(|k| matches!(k, Kind::SessionExpired { .. }))
            .count();
        assert_eq!(expired, 2, "both incarnations expire: {trace:?}");
        // The last expiry asked slot 1 to rejoin; then it is the whole group.
        let mut out = Out::at(Time(20_000));
        c.on_message(join(member(1, 1)), &mut out);
        assert_eq!(c.state(), State::Stable, "the rebalance completes");
        assert_eq!(syncs(&out).len(), 1);
    }

    #[test]
    fn a_crashed_incarnation_still_expires_when_its_successor_leaves() {
        // Slot 0 crashes (incarnation 1), restarts (incarnation 2) and leaves cleanly before
        // the first session ran out: incarnation 1 must still expire.
        let mut c = stable_with_two();
        let mut timers = BTreeMap::new();
        let mut out = Out::at(Time(5_000));
        c.on_message(
            Msg::HeartbeatStopped {
                member: member(0, 1),
                at: Time(5_000),
            },
            &mut out,
        );
        apply(&mut timers, &out);
        let mut out = Out::at(Time(6_000));
        c.on_message(join(member(0, 2)), &mut out);
        apply(&mut timers, &out);
        let mut out = Out::at(Time(6_010));
        c.on_message(join(member(1, 1)), &mut out);
        apply(&mut timers, &out);
        let mut out = Out::at(Time(7_000));
        c.on_message(
            Msg::LeaveGroup {
                member: member(0, 2),
            },
            &mut out,
        );
        apply(&mut timers, &out);
        assert!(
            timers.values().any(|&(_, t)| t
                == Timer::SessionExpired {
                    member: member(0, 1)
                }),
            "incarnation 1 still has its session timer: {timers:?}"
        );
        run_timers(&mut c, &mut timers);
        assert_eq!(c.state(), State::Stable, "the rebalance completes");
    }
}
