//! The group coordinator of one consumer group: membership, eager rebalances, generations,
//! assignment by Kafka's own assignors, and committed offsets.
//!
//! Classic protocol, eager: a rebalance starts when a member joins, leaves, or is expired
//! after `session.timeout.ms`; every member in the group's view must rejoin before the new
//! generation is computed, so a crashed member that never rejoins stalls the group until its
//! session expires. Commits from a stale generation are refused, as Kafka refuses them.

use crate::assignor::{assign, Strategy, Subscription};
use crate::engine::Ctx;
use crate::model::Ev;
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
pub struct Seen {
    pub slot: u32,
    pub incarnation: u32,
    pub actor: ActorId,
    pub joined: bool,
}

pub struct Coordinator {
    pub group: u16,
    pub state: State,
    pub generation: u32,
    pub view: Vec<Seen>,
    /// Committed offset per PartId (None: never committed).
    pub committed: Vec<Option<u64>>,
    /// The group's topics as (name, first PartId, partition count).
    pub topics: Vec<(String, PartId, u32)>,
    pub assignor: Assignor,
    pub initial_delay_ms: u64,
    /// The latest generation's shares, by slot.
    pub shares: Vec<(u32, Vec<PartId>)>,
    /// Answers to members, which the driver sends over each member's link.
    pub out: Vec<Reply>,
}

/// What the coordinator tells a member.
#[derive(Clone, Copy, Debug)]
pub enum Reply {
    /// A rebalance is under way: rejoin at your next poll.
    Rejoin { slot: u32, incarnation: u32 },
    /// SyncGroup's answer: the new generation (the share is in `shares`).
    Sync {
        slot: u32,
        incarnation: u32,
        generation: u32,
    },
}

impl Coordinator {
    fn find(&self, slot: u32, incarnation: u32) -> Option<usize> {
        self.view
            .iter()
            .position(|s| s.slot == slot && s.incarnation == incarnation)
    }

    pub fn on_join(&mut self, ctx: &mut Ctx, slot: u32, incarnation: u32, actor: ActorId) {
        ctx.trace(Kind::JoinGroup { actor });
        match self.find(slot, incarnation) {
            Some(i) => self.view[i].joined = true,
            None => self.view.push(Seen {
                slot,
                incarnation,
                actor,
                joined: true,
            }),
        }
        match self.state {
            State::Empty => {
                self.state = State::InitialDelay;
                self.start(ctx, RebalanceReason::Join, actor);
                ctx.timer(
                    self.initial_delay_ms,
                    Ev::InitialDelayDone {
                        group: self.group,
                        generation: self.generation,
                    },
                );
            }
            State::Stable => {
                self.start(ctx, RebalanceReason::Join, actor);
                self.state = State::PreparingRebalance;
                self.maybe_complete(ctx);
            }
            State::PreparingRebalance => self.maybe_complete(ctx),
            State::InitialDelay => {}
        }
    }

    pub fn on_initial_delay_done(&mut self, ctx: &mut Ctx, generation: u32) {
        if self.state == State::InitialDelay && generation == self.generation {
            self.state = State::PreparingRebalance;
            self.maybe_complete(ctx);
        }
    }

    /// Tells every member of the current view to rejoin (Kafka does it through heartbeats).
    fn start(&mut self, ctx: &mut Ctx, reason: RebalanceReason, cause: ActorId) {
        ctx.trace(Kind::RebalanceStart {
            group: self.group,
            reason,
            cause,
        });
        for s in &self.view {
            if !s.joined {
                self.out.push(Reply::Rejoin {
                    slot: s.slot,
                    incarnation: s.incarnation,
                });
            }
        }
    }

    pub fn on_leave(
        &mut self,
        ctx: &mut Ctx,
        slot: u32,
        incarnation: u32,
        reason: RebalanceReason,
    ) {
        let Some(i) = self.find(slot, incarnation) else {
            return;
        };
        let gone = self.view.remove(i);
        if reason == RebalanceReason::SessionExpired {
            ctx.trace(Kind::SessionExpired { actor: gone.actor });
        }
        self.shares.retain(|(s, _)| *s != slot);
        if self.view.is_empty() {
            self.state = State::Empty;
            return;
        }
        match self.state {
            State::Stable => {
                self.state = State::PreparingRebalance;
                self.start(ctx, reason, gone.actor);
                self.maybe_complete(ctx);
            }
            State::PreparingRebalance => self.maybe_complete(ctx),
            State::InitialDelay | State::Empty => {}
        }
    }

    /// Once every member in the view has rejoined: assign, bump the generation, answer.
    fn maybe_complete(&mut self, ctx: &mut Ctx) {
        if self.state != State::PreparingRebalance || self.view.iter().any(|s| !s.joined) {
            return;
        }
        self.generation += 1;
        self.state = State::Stable;
        let topic_list: Vec<(&str, u32)> = self
            .topics
            .iter()
            .map(|(n, _, c)| (n.as_str(), *c))
            .collect();
        let subs: Vec<Subscription> = self
            .view
            .iter()
            .map(|s| Subscription {
                // member.id: the member's name, so the assignor's order is the names' order.
                member_id: ctx.trace.actor_name(s.actor).to_string(),
                group_instance_id: None,
                topics: self.topics.iter().map(|t| t.0.clone()).collect(),
            })
            .collect();
        let strategy = match self.assignor {
            Assignor::Range => Strategy::Range,
            Assignor::RoundRobin => Strategy::RoundRobin,
        };
        let result = assign(strategy, &topic_list, &subs);
        self.shares.clear();
        let mut shares = Vec::new();
        for (s, parts) in self.view.iter_mut().zip(result) {
            s.joined = false;
            let parts: Vec<PartId> = parts
                .into_iter()
                .map(|(t, p)| self.topics[t].1 + p)
                .collect();
            shares.push(Share {
                actor: s.actor,
                parts: parts.clone(),
            });
            self.shares.push((s.slot, parts));
        }
        let assignment = ctx.trace.assignments.len() as u32;
        ctx.trace.assignments.push(shares);
        ctx.trace(Kind::Generation {
            group: self.group,
            generation: self.generation,
            assignment,
        });
        for s in &self.view {
            self.out.push(Reply::Sync {
                slot: s.slot,
                incarnation: s.incarnation,
                generation: self.generation,
            });
        }
    }

    pub fn share_of(&self, slot: u32) -> &[PartId] {
        self.shares
            .iter()
            .find(|(s, _)| *s == slot)
            .map_or(&[], |(_, p)| p.as_slice())
    }

    /// OffsetCommit: accepted only from a member of the current generation.
    pub fn on_commit(&mut self, ctx: &mut Ctx, c: CommitRequest) -> bool {
        let member = self.find(c.slot, c.incarnation).is_some();
        if member && c.generation == self.generation {
            self.committed[c.part as usize] = Some(c.offset);
            ctx.trace(Kind::Committed {
                group: self.group,
                part: c.part,
                offset: c.offset,
                actor: c.actor,
            });
            true
        } else {
            ctx.trace(Kind::CommitRejected {
                actor: c.actor,
                part: c.part,
                offset: c.offset,
            });
            false
        }
    }
}

/// An OffsetCommit request as it reaches the coordinator.
#[derive(Clone, Copy, Debug)]
pub struct CommitRequest {
    pub slot: u32,
    pub incarnation: u32,
    pub generation: u32,
    pub part: PartId,
    pub offset: u64,
    pub actor: ActorId,
}
