//! The group coordinator of one consumer group: membership, eager rebalances, generations,
//! assignment by Kafka's own assignors, and committed offsets.
//!
//! Inputs: `JoinGroup`, `LeaveGroup`, `HeartbeatStopped` and `OffsetCommit` messages; the
//! `InitialDelayDone` and `SessionExpired` timers. Outputs: `RejoinRequired`,
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
                        u64::from(member.slot),
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
                    u64::MAX,
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
        out.cancel_timer(u64::from(member.slot));
        if reason == RebalanceReason::SessionExpired {
            out.trace(Kind::SessionExpired { actor: gone.actor });
        }
        if self.view.is_empty() {
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
            })
            .collect();
        let strategy = match self.assignor {
            Assignor::Range => Strategy::Range,
            Assignor::RoundRobin => Strategy::RoundRobin,
        };
        let result = assign(strategy, &topic_list, &subs);
        self.shares.clear();
        let mut table = Vec::with_capacity(self.view.len());
        for (s, parts) in self.view.iter_mut().zip(result) {
            s.joined = false;
            s.share_from = self.shares.len();
            self.shares
                .extend(parts.into_iter().map(|(t, p)| self.topics[t].first + p));
            s.share_len = self.shares.len() - s.share_from;
            table.push(Share {
                actor: s.actor,
                parts: self.shares[s.share_from..].to_vec(),
            });
        }
        let assignment = out.new_assignment(table);
        out.trace(Kind::Generation {
            group: self.group,
            generation: self.generation,
            assignment,
        });
        for s in &self.view {
            let share = &self.shares[s.share_from..s.share_from + s.share_len];
            let assignment = share
                .iter()
                .map(|&p| (p, self.committed[p as usize]))
                .collect();
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
                self.committed[part as usize] = Some(offset);
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
