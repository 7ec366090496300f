//! A consumer group member: the poll loop, the record handler with its named crash points,
//! offset commits (auto and manual), and the idempotency check.
//!
//! Inputs: `RejoinRequired`, `SyncGroupResponse`, `ListOffsetsResponse`, `FetchResponse`
//! and `OffsetCommitResponse` messages; `ProcessDone`, `StoreRetry`, `AutoCommit` and
//! `Heartbeat` timers; `Control` (start, crash, restart, a graceful leave, an interrupted
//! close, a seek: `KafkaConsumer.seek`, `seekToBeginning`, `seekToEnd`, `offsetsForTimes`).
//! Outputs: JoinGroup, LeaveGroup, Heartbeat, Fetch, ListOffsets and OffsetCommit messages,
//! timers, trace records.
//!
//! Rebalances follow `ConsumerCoordinator.onJoinPrepare` / `onJoinComplete` for the
//! group's protocol. Eager (range, roundrobin, sticky): before joining, the member commits
//! (auto-commit) and revokes everything, and consumes nothing until its assignment
//! arrives. Cooperative (cooperative-sticky): it keeps consuming what it owns while the
//! rebalance runs; when the assignment arrives it revokes only what it lost (auto-committing
//! those first) and, having revoked something, rejoins at once (`requestRejoin`) so the
//! next rebalance hands those partitions to their new owners. A member the coordinator no
//! longer knows (UNKNOWN_MEMBER_ID) or that left after a poll timeout has no generation:
//! it loses everything (`onPartitionsLost`) under either protocol.
//!
//! Heartbeats come from their own timer, every `heartbeat.interval.ms` while the process
//! lives, whatever the poll loop is doing: Kafka's `AbstractCoordinator.HeartbeatThread`.
//!
//! The handler's steps for each record, each boundary a crash point:
//! `before-process` → check the processed-id store → apply the effect →
//! `after-effect-before-mark` → mark the id → `after-mark-before-commit` /
//! `after-process-before-commit` → commit (per `processing.commit`) → `after-commit`.
//! Positions advance when a poll returns records, as Kafka's do; auto-commit commits the
//! positions when Kafka's auto-commit timer (`ConsumerCoordinator.nextAutoCommitTimer`,
//! restarted by every completed join) has expired: at the start of a poll, or while the
//! member waits in `poll()` for a fetch the broker holds.
//!
//! A group with `client: librdkafka` commits differently, as librdkafka does: each record's
//! offset + 1 is stored when the record is handed to the application
//! (`enable.auto.offset.store`, `rd_kafka_offset_store`; with it off, the handler stores it
//! after processing, as `rd_kafka_offsets_store` is meant to be used), and a background
//! timer commits the stored offsets every `auto.commit.interval.ms`, whatever the poll loop
//! is doing (`rd_kafka_cgrp_offset_commit_tmr_cb`).

use crate::model::armed::Crashes;
use crate::model::io::{
    Control, Endpoint, FetchRequest, MemberRef, Msg, OffsetSpec, Out, SyncGroup, Timer, TimerKey,
};
use crate::model::log::{Offset, Record};
use crate::model::store::{Check, Marked, Store};
use crate::scenario::{
    ClientProfile, CommitMode, CrashPoint, GroupSpec, OffsetReset, SeekTo, StoreUnavailable,
};
use crate::trace::{ActorId, Kind, PartId};
use std::collections::{BTreeMap, BTreeSet};

const PROCESS_DONE: TimerKey = 1;
const STORE_RETRY: TimerKey = 2;
const AUTO_COMMIT: TimerKey = 3;
const HEARTBEAT: TimerKey = 4;
const POLL_TIMEOUT: TimerKey = 5;
/// A record waiting on an unreachable store is checked again after this long.
pub const STORE_RETRY_MS: u64 = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Crashed, or not started yet.
    Down,
    /// Left the group cleanly; never comes back.
    Left,
    Joining,
    /// Waiting for ListOffsets to say where partitions without a commit start.
    Resetting,
    /// In the group with nothing assigned, or waiting out a rebalance.
    Idle,
    Fetching,
    /// Handling `batch[cursor]`.
    Processing,
    /// Waiting for sync commit answers, then doing `Then`.
    Committing(Then),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Then {
    StartRecords,
    NextRecord,
    Poll,
}

pub struct Member {
    slot: u32,
    group: u16,
    /// The member's index in its group: member.id `<group>-<index+1>`.
    index: u32,
    pub actor: ActorId,
    incarnation: u32,
    phase: Phase,
    generation: u32,
    assignment: Vec<PartId>,
    /// Next offset to fetch, per assigned partition.
    positions: PartOffsets,
    /// Partitions whose position waits for ListOffsets (`auto.offset.reset`): they have
    /// no valid position yet, so nothing of theirs is committed
    /// (`SubscriptionState.allConsumed` skips them).
    resetting: Vec<PartId>,
    /// The records the last poll returned.
    batch: Vec<Record>,
    cursor: usize,
    rejoin: bool,
    /// The reset under way is for positions past the log end (`OFFSET_OUT_OF_RANGE`).
    reset_out_of_range: bool,
    /// A graceful shutdown was asked for (`wakeup()`): the member closes at the top of its
    /// next poll, once the batch in hand is finished.
    closing: bool,
    /// When the next auto-commit is due: Kafka's `nextAutoCommitTimer`
    /// (`ConsumerCoordinator`), started with the consumer and restarted when a join
    /// completes (`onJoinComplete` → `nextAutoCommitTimer.updateAndReset`).
    next_auto_commit: crate::engine::Time,
    crashes: Crashes,
    /// When `poll()` was last called: `max.poll.interval.ms` counts from here (Kafka's
    /// `Heartbeat.pollTimer`, reset by every poll).
    last_poll: crate::engine::Time,
    /// It left the group because a poll's records outlasted `max.poll.interval.ms`: it has
    /// no generation, so its commits fail (CommitFailedException), and its next poll
    /// rejoins.
    left_group: bool,
    /// The group rebalances cooperatively (`cooperative-sticky`).
    cooperative: bool,
    /// Cooperative: its JoinGroup is out and the assignment has not been taken yet; it
    /// keeps consuming what it owns meanwhile.
    join_pending: bool,
    /// An assignment that arrived while the handler held records: Kafka completes a join
    /// inside `poll()`, so it is taken at the top of the next poll.
    pending_sync: Option<SyncGroup>,
    /// Partitions stopped for a rebalance, and since when: the `paused` row and
    /// `rebalance_pause_ms` when the next assignment arrives.
    paused: Option<(crate::engine::Time, u32)>,
    /// The coordinator answered UNKNOWN_MEMBER_ID: its generation is reset and what it
    /// owns is lost at the rejoin.
    unknown: bool,
    /// The `POLL_TIMEOUT` timer is set.
    poll_timer_armed: bool,
    /// The id of the latest fetch or ListOffsets request; older answers are ignored.
    request_id: u32,
    pending_commits: u32,
    seen: bool,
    // Configuration, copied from the group.
    time_ms: u64,
    commit: CommitMode,
    auto_commit: bool,
    auto_commit_interval_ms: u64,
    heartbeat_interval_ms: u64,
    max_poll_interval_ms: u64,
    /// Static membership (`group.instance.id`, KIP-345): it never sends LeaveGroup.
    static_member: bool,
    reset: OffsetReset,
    max_poll_records: usize,
    fetch_max_wait_ms: u64,
    /// `client: librdkafka`: auto-commit commits the offset store on a background timer.
    librdkafka: bool,
    /// librdkafka's `enable.auto.offset.store`: store when a record is handed over.
    auto_offset_store: bool,
    /// librdkafka's offset store: the next offset to (auto-)commit, per assigned partition
    /// that has one (`rktp_stored_offset`).
    stored: PartOffsets,
    /// Per partition, the highest offset this member committed since its assignment (by
    /// the background timer or by a manual commit): the timer commits a stored offset only
    /// past it, as librdkafka skips a stored offset that is not newer than the committed
    /// one (`rd_kafka_cgrp_assigned_offsets_commit`), so commits never go backwards.
    stored_sent: PartOffsets,
    /// Seeks asked for (a `seek` fault) and not yet carried out: the application's poll
    /// loop calls `seek` before its next `poll()`, never while it handles records
    /// (`KafkaConsumer` is not safe for use from another thread).
    seeks: Vec<(PartId, SeekTo)>,
    /// Seeks waiting for their ListOffsets answer, with the position each started from.
    seeking: Vec<(PartId, SeekTo, Offset)>,
}

impl Member {
    pub fn new(slot: u32, group: u16, index: u32, actor: ActorId, spec: &GroupSpec) -> Member {
        Member {
            slot,
            group,
            index,
            actor,
            incarnation: 0,
            phase: Phase::Down,
            generation: 0,
            assignment: Vec::new(),
            positions: PartOffsets::default(),
            resetting: Vec::new(),
            batch: Vec::new(),
            cursor: 0,
            rejoin: false,
            reset_out_of_range: false,
            closing: false,
            next_auto_commit: crate::engine::Time::ZERO,
            crashes: Crashes::default(),
            last_poll: crate::engine::Time::ZERO,
            left_group: false,
            poll_timer_armed: false,
            cooperative: spec.config.assignor == crate::scenario::Assignor::CooperativeSticky,
            join_pending: false,
            pending_sync: None,
            paused: None,
            unknown: false,
            request_id: 0,
            pending_commits: 0,
            seen: false,
            time_ms: spec.processing.time_ms,
            commit: spec.processing.commit,
            auto_commit: spec.config.enable_auto_commit,
            auto_commit_interval_ms: spec.config.auto_commit_interval_ms,
            heartbeat_interval_ms: spec.config.heartbeat_interval_ms,
            max_poll_interval_ms: spec.config.max_poll_interval_ms,
            static_member: spec.static_members,
            reset: spec.config.auto_offset_reset,
            max_poll_records: usize::try_from(spec.config.max_poll_records).unwrap_or(usize::MAX),
            fetch_max_wait_ms: spec.config.fetch_max_wait_ms,
            librdkafka: spec.config.client == ClientProfile::Librdkafka,
            auto_offset_store: spec.config.enable_auto_offset_store,
            stored: PartOffsets::default(),
            stored_sent: PartOffsets::default(),
            seeks: Vec::new(),
            seeking: Vec::new(),
        }
    }

    pub fn group(&self) -> u16 {
        self.group
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    fn me(&self) -> MemberRef {
        MemberRef {
            slot: self.slot,
            incarnation: self.incarnation,
        }
    }

    fn coordinator(&self) -> Endpoint {
        Endpoint::Coordinator(self.group)
    }

    fn live(&self) -> bool {
        !matches!(self.phase, Phase::Down | Phase::Left)
    }

    /// Sends JoinGroup with `owned` (`Subscription.ownedPartitions`) and the member's
    /// generation (none if it never had one or it was reset).
    fn send_join(&mut self, owned: Vec<PartId>, out: &mut Out) {
        out.send(
            self.coordinator(),
            Msg::JoinGroup {
                member: self.me(),
                index: self.index,
                actor: self.actor,
                owned,
                generation: (self.generation > 0).then_some(self.generation),
            },
        );
    }

    /// An eager join: nothing is consumed until the assignment arrives.
    fn join(&mut self, owned: Vec<PartId>, out: &mut Out) {
        self.phase = Phase::Joining;
        self.send_join(owned, out);
    }

    /// Start (or restart) this member: a new incarnation joins the group.
    pub fn start(&mut self, out: &mut Out) {
        self.incarnation += 1;
        self.generation = 0;
        self.join_pending = false;
        self.pending_sync = None;
        self.paused = None;
        self.unknown = false;
        self.rejoin = false;
        self.closing = false;
        self.left_group = false;
        self.poll_timer_armed = false;
        self.seeks.clear();
        self.seeking.clear();
        self.last_poll = out.now;
        self.next_auto_commit = out.now.after(self.auto_commit_interval_ms);
        out.set_timer(HEARTBEAT, self.heartbeat_interval_ms, Timer::Heartbeat);
        if self.librdkafka && self.auto_commit {
            // librdkafka's commit timer runs from the consumer's start, every interval.
            out.set_timer(AUTO_COMMIT, self.auto_commit_interval_ms, Timer::AutoCommit);
        }
        self.join(Vec::new(), out);
    }

    /// The heartbeat thread's beat: tell the coordinator this incarnation lives. Like
    /// Kafka's thread, it first checks the poll timer: a member whose handler has held one
    /// poll's records for `max.poll.interval.ms` leaves the group instead. When that
    /// moment falls before the next beat, a one-off timer catches it on time.
    fn heartbeat(&mut self, out: &mut Out) {
        if self.busy() {
            let deadline = self.last_poll.after(self.max_poll_interval_ms);
            if out.now >= deadline {
                return self.poll_timeout(out);
            }
            if deadline < out.now.after(self.heartbeat_interval_ms) && !self.poll_timer_armed {
                self.poll_timer_armed = true;
                out.set_timer_at(POLL_TIMEOUT, deadline, Timer::PollTimeout);
            }
        }
        out.send(self.coordinator(), Msg::Heartbeat { member: self.me() });
        out.set_timer(HEARTBEAT, self.heartbeat_interval_ms, Timer::Heartbeat);
    }

    /// The handler holds records from a poll (handling them, or awaiting their commit).
    fn busy(&self) -> bool {
        matches!(self.phase, Phase::Processing | Phase::Committing(_))
    }

    fn on_poll_timer(&mut self, out: &mut Out) {
        self.poll_timer_armed = false;
        if self.busy() && out.now >= self.last_poll.after(self.max_poll_interval_ms) {
            self.poll_timeout(out);
        }
    }

    /// `max.poll.interval.ms` passed since the last poll: leave the group proactively
    /// (`AbstractCoordinator.maybeLeaveGroup`) and stop heartbeating. The handler is not
    /// interrupted: it finishes the records in hand, its commits fail, and its next poll
    /// rejoins as a new member.
    fn poll_timeout(&mut self, out: &mut Out) {
        out.trace(Kind::PollTimeout {
            actor: self.actor,
            since: self.last_poll,
        });
        self.left_group = true;
        // The generation is cleared: a join under way, or one that completed while the
        // handler held records, is void (Kafka discards its SyncGroup answer and the next
        // poll rejoins as a new member).
        self.join_pending = false;
        self.pending_sync = None;
        out.cancel_timer(HEARTBEAT);
        // A static member only stops heartbeating: its session runs out instead.
        if !self.static_member {
            out.send(self.coordinator(), Msg::LeaveGroup { member: self.me() });
        }
    }

    /// A fault: crash now or arm a crash point, restart, or leave cleanly.
    pub fn on_control(&mut self, control: Control, out: &mut Out) {
        match control {
            Control::Crash { point: None, .. } if self.live() => self.crash(None, out),
            Control::Crash {
                point: Some(point),
                on_record,
            } if self.live() => {
                self.crashes.arm_traced(self.actor, point, on_record, out);
            }
            Control::Restart if self.phase == Phase::Down => {
                out.trace(Kind::Restart { actor: self.actor });
                self.start(out);
            }
            Control::Leave if self.live() => self.wakeup(out),
            Control::Seek { to, parts } if self.live() => self.seek(to, parts, out),
            Control::CloseInterrupted if self.live() => {
                let unhandled = self.unhandled();
                out.trace(Kind::CloseInterrupted {
                    actor: self.actor,
                    unhandled,
                });
                self.close(out);
            }
            _ => {}
        }
    }

    pub fn on_message(&mut self, msg: Msg, store: Option<&mut Store>, out: &mut Out) {
        if !self.live() {
            return;
        }
        match msg {
            Msg::RejoinRequired { member, unknown } if member == self.me() => {
                self.rejoin_required(unknown, out)
            }
            // A member that left after a poll timeout throws away the answer to the join it
            // made before: its generation is gone.
            Msg::SyncGroupResponse(sync) if sync.member == self.me() && !self.left_group => {
                if matches!(self.phase, Phase::Idle | Phase::Fetching | Phase::Joining) {
                    // Not busy with records: take it now; a fetch answer on its way is stale.
                    if self.phase == Phase::Fetching {
                        self.request_id += 1;
                    }
                    self.on_sync(*sync, out)
                } else {
                    self.pending_sync = Some(*sync);
                }
            }
            Msg::ListOffsetsResponse {
                request_id,
                offsets,
            } if self.phase == Phase::Resetting
                && request_id == self.request_id
                && !self.seeking.is_empty() =>
            {
                self.on_seek_offsets(offsets, out)
            }
            Msg::ListOffsetsResponse {
                request_id,
                offsets,
            } if self.phase == Phase::Resetting && request_id == self.request_id => {
                self.resetting.clear();
                let out_of_range = std::mem::take(&mut self.reset_out_of_range);
                for (part, offset) in offsets {
                    let position = self.positions.get(part);
                    out.trace(Kind::OffsetReset {
                        actor: self.actor,
                        part,
                        offset,
                        out_of_range: position.filter(|_| out_of_range),
                    });
                    self.positions.set(part, offset);
                }
                self.poll(out);
            }
            Msg::FetchResponse {
                fetch_id,
                records,
                out_of_range,
            } if self.phase == Phase::Fetching && fetch_id == self.request_id => {
                if out_of_range.is_empty() {
                    self.on_fetch_response(records, store, out)
                } else {
                    // Fetcher: OFFSET_OUT_OF_RANGE resets those partitions per
                    // auto.offset.reset; the records of the others are fetched again.
                    self.reset_out_of_range = true;
                    self.reset_positions(out_of_range, out);
                }
            }
            Msg::OffsetCommitResponse { member, .. } if member == self.me() => {
                self.on_commit_response(store, out)
            }
            // Answers to an older incarnation, fetch or request.
            _ => {}
        }
    }

    pub fn on_timer(&mut self, timer: Timer, store: Option<&mut Store>, out: &mut Out) {
        if !self.live() {
            return;
        }
        match timer {
            Timer::StoreRetry => self.check_store(store, out),
            Timer::ProcessDone => self.on_process_done(store, out),
            Timer::AutoCommit => self.on_auto_commit_timer(out),
            Timer::Heartbeat => self.heartbeat(out),
            Timer::PollTimeout => self.on_poll_timer(out),
            other => unreachable!("a member sets no {other:?} timer"),
        }
    }

    /// The answer to a heartbeat: rejoin. `unknown` (UNKNOWN_MEMBER_ID): the coordinator
    /// dropped this member, so its generation is reset (`AbstractCoordinator
    /// .resetGenerationOnResponseError`) and its partitions are lost at the rejoin.
    fn rejoin_required(&mut self, unknown: bool, out: &mut Out) {
        if unknown {
            self.unknown = true;
            self.join_pending = false;
            self.pending_sync = None;
        }
        if self.phase == Phase::Joining || self.join_pending {
            return;
        }
        self.rejoin = true;
        if matches!(self.phase, Phase::Idle | Phase::Fetching) {
            // Not busy with records: rejoin now; a fetch answer still on its way is stale.
            self.batch.clear();
            self.poll(out);
        }
    }

    /// The top of the poll loop: close if asked, rejoin if asked, auto-commit if due, then
    /// fetch.
    fn poll(&mut self, out: &mut Out) {
        self.request_id += 1;
        self.last_poll = out.now;
        if self.poll_timer_armed {
            self.poll_timer_armed = false;
            out.cancel_timer(POLL_TIMEOUT);
        }
        if self.closing {
            out.trace(Kind::Leave { actor: self.actor });
            return self.close(out);
        }
        if let Some(sync) = self.pending_sync.take() {
            // A join completed while the handler held records (cooperative): take it now.
            return self.on_sync(sync, out);
        }
        if (self.rejoin || self.left_group || self.unknown) && self.join_prepare(out) {
            return;
        }
        if !self.seeks.is_empty() && self.apply_seeks(out) {
            return;
        }
        self.maybe_auto_commit(out);
        if self.assignment.is_empty() {
            self.phase = Phase::Idle;
            return;
        }
        self.phase = Phase::Fetching;
        if self.auto_commit && !self.librdkafka {
            // poll(timeout) wakes for the coordinator's work while the broker holds the
            // fetch: ConsumerCoordinator.timeToNextPoll includes the auto-commit timer.
            out.set_timer_at(AUTO_COMMIT, self.next_auto_commit, Timer::AutoCommit);
        }
        // Start at a rotating partition so one busy partition cannot starve the others.
        let n = self.positions.len();
        let first = self.request_id as usize % n;
        let positions = (0..n).map(|k| self.positions.at((k + first) % n)).collect();
        out.send(
            Endpoint::Cluster,
            Msg::Fetch(Box::new(FetchRequest {
                fetch_id: self.request_id,
                positions,
                max_records: self.max_poll_records,
                max_wait_ms: self.fetch_max_wait_ms,
            })),
        );
    }

    /// `ConsumerCoordinator.onJoinPrepare`, then JoinGroup. Auto-commit first (it fails if
    /// the member left the group or was dropped: it has no generation). Eager, or with no
    /// generation: every owned partition is revoked (or lost) and the member waits for its
    /// assignment; returns true. Cooperative with a generation: it keeps everything and
    /// goes on consuming while the rebalance runs; returns false.
    fn join_prepare(&mut self, out: &mut Out) -> bool {
        self.rejoin = false;
        let reset = self.left_group || std::mem::take(&mut self.unknown);
        if reset {
            self.generation = 0;
        }
        if self.auto_commit {
            // onJoinPrepare: commit what was consumed before revoking (it fails if the
            // member left the group: it has no generation). librdkafka commits its stored
            // offsets, and its background timer keeps running.
            self.auto_commit_consumed(out);
        }
        if self.left_group {
            // Back in the loop after a poll timeout: it rejoins as a new member (a new
            // member id; a static member keeps its instance id), so no answer meant for the
            // member it was can reach it; heartbeats resume with the join.
            self.left_group = false;
            self.incarnation += 1;
            out.set_timer(HEARTBEAT, self.heartbeat_interval_ms, Timer::Heartbeat);
        }
        if self.cooperative && !reset {
            self.join_pending = true;
            self.send_join(self.assignment.clone(), out);
            return false;
        }
        out.trace(Kind::Revoke {
            actor: self.actor,
            partitions: self.assignment.len() as u32,
        });
        let owned = std::mem::take(&mut self.assignment);
        self.positions.clear();
        // Revoked partitions lose their positions, and so any seek not yet carried out.
        self.seeks.clear();
        // A lost partition (no generation) is not a rebalance pause: it was already
        // someone else's.
        self.paused = (!reset && !owned.is_empty()).then_some((out.now, owned.len() as u32));
        // StickyAssignor carries what was just revoked in its user data.
        self.join(if reset { Vec::new() } else { owned }, out);
        true
    }

    /// `ConsumerCoordinator.maybeAutoCommitOffsetsAsync`: once the auto-commit timer has
    /// expired, commit every position and restart the timer.
    fn maybe_auto_commit(&mut self, out: &mut Out) {
        // librdkafka commits from its background timer, never from a poll.
        if self.auto_commit && !self.librdkafka && out.now >= self.next_auto_commit {
            self.next_auto_commit = out.now.after(self.auto_commit_interval_ms);
            self.commit_positions(true, false, out);
        }
    }

    /// The auto-commit timer expired while the member waits in `poll()` for its fetch:
    /// Kafka's poll loop runs `maybeAutoCommitOffsetsAsync` on time, and the fetch stays
    /// parked at the broker.
    fn on_auto_commit_timer(&mut self, out: &mut Out) {
        if self.librdkafka {
            self.commit_stored(out);
            out.set_timer(AUTO_COMMIT, self.auto_commit_interval_ms, Timer::AutoCommit);
            return;
        }
        if self.phase != Phase::Fetching {
            return;
        }
        self.maybe_auto_commit(out);
        out.set_timer_at(AUTO_COMMIT, self.next_auto_commit, Timer::AutoCommit);
    }

    /// What auto-commit commits when the member revokes or closes: the positions (Java's
    /// `subscriptions.allConsumed()`), or librdkafka's stored offsets.
    fn auto_commit_consumed(&mut self, out: &mut Out) {
        if self.librdkafka {
            return self.commit_stored(out);
        }
        out.cancel_timer(AUTO_COMMIT);
        self.commit_positions(true, false, out);
    }

    /// librdkafka's auto-commit (`rd_kafka_cgrp_offset_commit_tmr_cb` →
    /// `rd_kafka_cgrp_assigned_offsets_commit`): every stored offset of an assigned
    /// partition that differs from the one last committed, asynchronously. It may be past
    /// a record the application is still processing: the store took it when the record
    /// was handed over.
    fn commit_stored(&mut self, out: &mut Out) {
        let assigned: BTreeSet<PartId> = self.assignment.iter().copied().collect();
        for i in 0..self.stored.len() {
            let (part, offset) = self.stored.at(i);
            let committed = self.stored_sent.get(part).is_some_and(|o| o >= offset);
            if !assigned.contains(&part) || committed {
                continue;
            }
            self.send_commit(part, offset, true, false, true, out);
        }
    }

    /// librdkafka's `rd_kafka_offset_store`: the next offset to commit for `part`.
    fn store_offset(&mut self, part: PartId, offset: Offset) {
        if !self.stored.set(part, offset) {
            self.stored.push(part, offset);
        }
    }

    /// SyncGroup's answer: take the share and resume each partition at its committed
    /// offset; partitions the group never committed ask ListOffsets per auto.offset.reset.
    /// `ConsumerCoordinator.onJoinComplete`. Eager: everything was revoked at the join.
    /// Cooperative: the partitions it keeps go on at their positions; those it lost are
    /// revoked now (auto-committed first), and then it rejoins at once.
    fn on_sync(&mut self, sync: SyncGroup, out: &mut Out) {
        self.join_pending = false;
        self.generation = sync.generation;
        // A new assignment starts with an empty offset store (librdkafka clears a
        // partition's stored offset when it is assigned).
        self.stored.clear();
        self.stored_sent.clear();
        // ConsumerCoordinator.onJoinComplete: the auto-commit interval starts again.
        self.next_auto_commit = out.now.after(self.auto_commit_interval_ms);
        if let Some((since, partitions)) = self.paused.take() {
            out.trace(Kind::Paused {
                actor: self.actor,
                partitions,
                since,
                ms: out.now.since(since),
            });
        }
        if !self.cooperative {
            // Eager: everything was revoked at the join (a static member's restart too).
            self.assignment.clear();
            self.positions.clear();
        }
        let assigned: BTreeSet<PartId> = sync.assignment.iter().map(|&(p, _)| p).collect();
        let revoked: Vec<PartId> = (self.assignment.iter())
            .filter(|p| !assigned.contains(p))
            .copied()
            .collect();
        if !revoked.is_empty() {
            self.revoke_moved(&revoked, out);
        }
        let mut unknown = Vec::new();
        let mut owned: BTreeSet<PartId> = self.assignment.iter().copied().collect();
        for (part, committed) in sync.assignment {
            if !owned.insert(part) {
                continue;
            }
            self.assignment.push(part);
            match committed {
                Some(offset) => {
                    out.trace(Kind::Resume {
                        actor: self.actor,
                        part,
                        offset,
                    });
                    self.positions.push(part, offset);
                }
                None => {
                    unknown.push(part);
                    self.positions.push(part, Offset::ZERO);
                }
            }
        }
        let share = vec![crate::trace::Share {
            actor: self.actor,
            parts: self.assignment.clone(),
        }];
        let assignment = out.new_assignment(share);
        out.trace(Kind::Assigned {
            actor: self.actor,
            generation: self.generation,
            assignment,
        });
        if unknown.is_empty() {
            return self.poll(out);
        }
        self.reset_positions(unknown, out);
    }

    /// Cooperative: `owned − assigned` goes. Auto-commit commits their positions first
    /// (nothing of theirs is in hand: a join completes inside `poll()`), then they are
    /// revoked, and the member asks to rejoin (`requestRejoin`) so that the next rebalance
    /// hands them to their new owners; their pause runs until then.
    fn revoke_moved(&mut self, revoked_parts: &[PartId], out: &mut Out) {
        let revoked: BTreeSet<PartId> = revoked_parts.iter().copied().collect();
        let resetting: BTreeSet<PartId> = self.resetting.iter().copied().collect();
        if self.auto_commit {
            // librdkafka commits what it stored for them; Java their positions.
            let commits: Vec<(PartId, Offset)> = if self.librdkafka {
                self.stored
                    .iter()
                    .filter(|(p, _)| revoked.contains(p))
                    .copied()
                    .collect()
            } else {
                self.positions
                    .iter()
                    .filter(|(p, _)| revoked.contains(p) && !resetting.contains(p))
                    .copied()
                    .collect()
            };
            for (part, offset) in commits {
                self.send_commit(part, offset, true, false, self.librdkafka, out);
            }
        }
        let share = vec![crate::trace::Share {
            actor: self.actor,
            parts: revoked_parts.to_vec(),
        }];
        let assignment = out.new_assignment(share);
        out.trace(Kind::RevokeMoved {
            actor: self.actor,
            assignment,
        });
        self.assignment.retain(|p| !revoked.contains(p));
        self.positions.retain(|p| !revoked.contains(&p));
        self.seeks.retain(|(p, _)| !revoked.contains(p));
        self.paused = Some((out.now, revoked_parts.len() as u32));
        self.rejoin = true;
    }

    /// Asks the brokers where `parts` start per auto.offset.reset (ListOffsets); the
    /// member fetches again once they answer.
    fn reset_positions(&mut self, parts: Vec<PartId>, out: &mut Out) {
        self.resetting = parts.clone();
        self.request_id += 1;
        self.phase = Phase::Resetting;
        if self.reset == OffsetReset::None {
            return self.no_offset(parts, out);
        }
        let spec = OffsetSpec::of_reset(self.reset);
        out.send(
            Endpoint::Cluster,
            Msg::ListOffsets {
                request_id: self.request_id,
                parts: parts.into_iter().map(|p| (p, spec)).collect(),
            },
        );
    }

    /// A `seek` fault: remember a seek of each assigned partition among `parts` (every
    /// assigned one if None), to be carried out at the top of the next poll, as an
    /// application's poll loop calls `seek` before `poll()`. A member waiting for a fetch
    /// polls again at once (the fetch answer is stale: Kafka's fetcher drops data for a
    /// partition whose position moved); one handling records finishes them first. A member
    /// with nothing assigned (not yet, or during an eager rebalance) does nothing.
    fn seek(&mut self, to: SeekTo, parts: Option<(PartId, u32)>, out: &mut Out) {
        let within = |p: PartId| parts.is_none_or(|(first, n)| p.0 >= first.0 && p.0 - first.0 < n);
        let mut any = false;
        for &part in self.assignment.iter().filter(|&&p| within(p)) {
            self.seeks.retain(|(p, _)| *p != part);
            self.seeks.push((part, to));
            any = true;
        }
        if any && matches!(self.phase, Phase::Idle | Phase::Fetching) {
            self.poll(out);
        }
    }

    /// The seeks asked for, at the top of a poll. `seek(offset)` (`KafkaConsumer.seek`)
    /// sets the position at once, with no round trip: if it is out of range, the next
    /// fetch says so (OFFSET_OUT_OF_RANGE) and `auto.offset.reset` decides. The others ask
    /// the brokers first (`seekToBeginning` and `seekToEnd` leave the partition awaiting a
    /// reset, which the poll resolves with ListOffsets; `offsetsForTimes` is a ListOffsets
    /// with a timestamp), so they have no position meanwhile and auto-commit skips them.
    /// Returns true when a ListOffsets went out: the poll goes on once it is answered.
    fn apply_seeks(&mut self, out: &mut Out) -> bool {
        let mut ask = Vec::new();
        for (part, to) in std::mem::take(&mut self.seeks) {
            let Some(from) = self.positions.get(part) else {
                continue;
            };
            let spec = match to {
                SeekTo::Offset(o) => {
                    self.positions.set(part, Offset(o));
                    out.trace(Kind::Seek {
                        actor: self.actor,
                        part,
                        from,
                        offset: Offset(o),
                        to,
                    });
                    continue;
                }
                SeekTo::Beginning => OffsetSpec::Earliest,
                SeekTo::End => OffsetSpec::Latest,
                SeekTo::Timestamp(ts) => OffsetSpec::ForTimestamp(ts),
            };
            ask.push((part, spec));
            self.seeking.push((part, to, from));
        }
        if ask.is_empty() {
            return false;
        }
        self.resetting = ask.iter().map(|&(p, _)| p).collect();
        self.request_id += 1;
        self.phase = Phase::Resetting;
        self.maybe_auto_commit(out);
        out.send(
            Endpoint::Cluster,
            Msg::ListOffsets {
                request_id: self.request_id,
                parts: ask,
            },
        );
        true
    }

    /// The ListOffsets answer for the seeks under way: each partition's position moves to
    /// the offset found, and the poll goes on.
    fn on_seek_offsets(&mut self, offsets: Vec<(PartId, Offset)>, out: &mut Out) {
        self.resetting.clear();
        for (part, to, from) in std::mem::take(&mut self.seeking) {
            let Some(&(_, offset)) = offsets.iter().find(|(p, _)| *p == part) else {
                continue;
            };
            if self.positions.set(part, offset) {
                out.trace(Kind::Seek {
                    actor: self.actor,
                    part,
                    from,
                    offset,
                    to,
                });
            }
        }
        self.poll(out);
    }

    /// `auto.offset.reset=none`: `poll()` throws instead of resetting `parts`
    /// (`SubscriptionState.resetInitialOffset` → `NoOffsetForPartitionException`; for a
    /// position out of range, `OffsetOutOfRangeException`). The application's poll loop
    /// ends and it closes the consumer (`try { … } finally { consumer.close(); }`): what
    /// auto-commit has for the other partitions is committed, then LeaveGroup. The
    /// partitions to reset have no valid position, so nothing of theirs is committed.
    fn no_offset(&mut self, parts: Vec<PartId>, out: &mut Out) {
        let out_of_range = std::mem::take(&mut self.reset_out_of_range);
        for part in parts {
            let position = self.positions.get(part);
            out.trace(Kind::NoOffset {
                actor: self.actor,
                part,
                out_of_range: position.filter(|_| out_of_range),
            });
        }
        self.close(out);
    }

    /// The poll returned records: positions advance, then the handler starts.
    fn on_fetch_response(
        &mut self,
        records: Vec<Record>,
        store: Option<&mut Store>,
        out: &mut Out,
    ) {
        if records.is_empty() {
            return self.poll(out);
        }
        if self.auto_commit && !self.librdkafka {
            // The handler runs now: no auto-commit until its next poll.
            out.cancel_timer(AUTO_COMMIT);
        }
        for r in &records {
            out.trace(Kind::Deliver {
                actor: self.actor,
                part: r.part,
                offset: r.offset,
                event: r.event,
            });
            self.positions.set(r.part, r.offset.next());
        }
        self.batch = records;
        self.cursor = 0;
        if self.commit == CommitMode::BeforeProcessing {
            return self.commit_then(Then::StartRecords, store, out);
        }
        self.start_record(store, out);
    }

    /// True when the armed crash fires at `point` (the member is then down).
    fn crash_at(&mut self, point: CrashPoint, out: &mut Out) -> bool {
        if !self.crashes.fires_at(point) {
            return false;
        }
        self.crash(Some(point), out);
        true
    }

    /// The process dies: nothing more is sent, every timer goes (the heartbeat's too), so
    /// the coordinator expires its session `session.timeout.ms` after its last heartbeat.
    fn crash(&mut self, point: Option<CrashPoint>, out: &mut Out) {
        out.trace(Kind::Crash {
            actor: self.actor,
            point,
        });
        out.cancel_all_timers();
        self.phase = Phase::Down;
        self.crashes.clear();
        self.batch.clear();
        self.assignment.clear();
        self.positions.clear();
        self.stored.clear();
        self.stored_sent.clear();
        self.seeks.clear();
        self.seeking.clear();
        self.pending_commits = 0;
    }

    /// Begin handling `batch[cursor]`.
    fn start_record(&mut self, store: Option<&mut Store>, out: &mut Out) {
        if self.cursor >= self.batch.len() {
            return self.end_batch(store, out);
        }
        self.crashes.count();
        if self.librdkafka {
            self.hand_over(out);
        }
        if self.crash_at(CrashPoint::BeforeProcess, out) {
            return;
        }
        self.phase = Phase::Processing;
        self.check_store(store, out);
    }

    /// librdkafka hands the application one message per `rd_kafka_consumer_poll()` call:
    /// that call restarts the `max.poll.interval.ms` timer, and with
    /// `enable.auto.offset.store` it stores the message's offset + 1 at once, before the
    /// application has done anything with it.
    fn hand_over(&mut self, out: &mut Out) {
        self.last_poll = out.now;
        if self.poll_timer_armed {
            self.poll_timer_armed = false;
            out.cancel_timer(POLL_TIMEOUT);
        }
        if self.auto_offset_store {
            let r = self.batch[self.cursor];
            self.store_offset(r.part, r.offset.next());
        }
    }

    /// Step one of the handler: ask the processed-id store whether this eventId is done.
    fn check_store(&mut self, store: Option<&mut Store>, out: &mut Out) {
        let event = self.batch[self.cursor].event;
        self.seen = false;
        if let Some(store) = store {
            match store.check(event, out.now) {
                Check::Unavailable => {
                    out.trace(Kind::StoreUnavailable {
                        actor: self.actor,
                        event,
                    });
                    if store.on_unavailable == StoreUnavailable::Retry {
                        out.set_timer(STORE_RETRY, STORE_RETRY_MS, Timer::StoreRetry);
                        return;
                    }
                }
                Check::Seen => self.seen = true,
                Check::NotSeen => {}
            }
        }
        let r = self.batch[self.cursor];
        out.trace(Kind::ProcessStart {
            actor: self.actor,
            part: r.part,
            offset: r.offset,
            event: r.event,
        });
        out.set_timer(PROCESS_DONE, self.time_ms, Timer::ProcessDone);
    }

    /// The handler finished its work on the record: apply or skip, mark, maybe commit.
    fn on_process_done(&mut self, mut store: Option<&mut Store>, out: &mut Out) {
        let Record {
            part,
            offset,
            event,
        } = self.batch[self.cursor];
        let actor = self.actor;
        if self.seen {
            out.trace(Kind::Absorbed {
                actor,
                part,
                offset,
                event,
            });
        } else {
            out.trace(Kind::Effect {
                actor,
                part,
                offset,
                event,
            });
            if let Some(store) = store.as_deref_mut() {
                let external = store.kind == crate::scenario::StoreKind::External;
                // A same-transaction mark commits with the effect: no crash point between.
                if external && self.crash_at(CrashPoint::AfterEffectBeforeMark, out) {
                    return;
                }
                match store.mark(event, out.now) {
                    Marked::Until(expires_at) => out.trace(Kind::Mark {
                        actor,
                        event,
                        expires_at,
                    }),
                    // The mark cannot be written: the id stays unmarked.
                    Marked::Unavailable => out.trace(Kind::StoreUnavailable { actor, event }),
                }
                if external && self.crash_at(CrashPoint::AfterMarkBeforeCommit, out) {
                    return;
                }
            }
        }
        if self.librdkafka && !self.auto_offset_store {
            // enable.auto.offset.store=false: the application stores the offset once it
            // has processed the record (rd_kafka_offsets_store).
            self.store_offset(part, offset.next());
        }
        if self.crash_at(CrashPoint::AfterProcessBeforeCommit, out) {
            return;
        }
        if self.commit == CommitMode::AfterEachRecord {
            self.phase = Phase::Committing(Then::NextRecord);
            if self.send_commit(part, offset.next(), false, true, false, out) {
                self.pending_commits += 1;
                return;
            }
            // commitSync threw CommitFailedException: the loop goes on.
            return self.after_commits(store, out);
        }
        self.cursor += 1;
        self.start_record(store, out);
    }

    fn end_batch(&mut self, store: Option<&mut Store>, out: &mut Out) {
        self.batch.clear();
        self.cursor = 0;
        if self.commit == CommitMode::AfterBatch {
            return self.commit_then(Then::Poll, store, out);
        }
        self.poll(out);
    }

    /// A synchronous commit of every position, then `then` once every answer is in.
    fn commit_then(&mut self, then: Then, store: Option<&mut Store>, out: &mut Out) {
        self.phase = Phase::Committing(then);
        self.commit_positions(false, true, out);
        if self.pending_commits == 0 {
            // Nothing to commit: the loop goes on at once.
            self.after_commits(store, out);
        }
    }

    fn commit_positions(&mut self, auto: bool, sync: bool, out: &mut Out) {
        let resetting: BTreeSet<PartId> = match self.phase {
            Phase::Resetting => self.resetting.iter().copied().collect(),
            _ => BTreeSet::new(),
        };
        for i in 0..self.positions.len() {
            let (part, offset) = self.positions.at(i);
            if resetting.contains(&part) {
                continue;
            }
            if self.send_commit(part, offset, auto, sync, false, out) && sync {
                self.pending_commits += 1;
            }
        }
    }

    /// Sends one commit; false if the client failed it at once (the member left the group,
    /// so it has no generation: `CommitFailedException`, without a request).
    fn send_commit(
        &mut self,
        part: PartId,
        offset: Offset,
        auto: bool,
        sync: bool,
        stored: bool,
        out: &mut Out,
    ) -> bool {
        if self.left_group {
            out.trace(Kind::CommitFailed {
                actor: self.actor,
                part,
                offset,
                auto,
            });
            return false;
        }
        out.trace(Kind::CommitSent {
            actor: self.actor,
            part,
            offset,
            auto,
            stored,
        });
        out.send(
            self.coordinator(),
            Msg::OffsetCommit {
                member: self.me(),
                actor: self.actor,
                generation: self.generation,
                part,
                offset,
                sync,
            },
        );
        if self.librdkafka {
            match self.stored_sent.get(part) {
                Some(o) => {
                    self.stored_sent.set(part, o.max(offset));
                }
                None => self.stored_sent.push(part, offset),
            }
        }
        true
    }

    /// A sync commit's answer (accepted or refused: the handler goes on either way, as
    /// Kafka's poll loop does after a CommitFailedException is logged).
    fn on_commit_response(&mut self, store: Option<&mut Store>, out: &mut Out) {
        self.pending_commits = self.pending_commits.saturating_sub(1);
        if self.pending_commits == 0 && matches!(self.phase, Phase::Committing(_)) {
            self.after_commits(store, out);
        }
    }

    fn after_commits(&mut self, store: Option<&mut Store>, out: &mut Out) {
        let Phase::Committing(then) = self.phase else {
            unreachable!("after_commits runs in the Committing phase");
        };
        if self.crash_at(CrashPoint::AfterCommit, out) {
            return;
        }
        match then {
            Then::StartRecords => self.start_record(store, out),
            Then::NextRecord => {
                self.cursor += 1;
                self.start_record(store, out)
            }
            Then::Poll => self.poll(out),
        }
    }

    /// A graceful shutdown: `wakeup()` from another thread. It interrupts only a blocking
    /// call: a member waiting for a fetch, a join or a ListOffsets answer closes at once;
    /// one handling a batch (or awaiting its synchronous commit) finishes the batch, with
    /// its commits, and closes at the top of its next poll.
    fn wakeup(&mut self, out: &mut Out) {
        self.closing = true;
        if matches!(
            self.phase,
            Phase::Joining | Phase::Resetting | Phase::Idle | Phase::Fetching
        ) {
            self.poll(out);
        }
    }

    /// Records of the batch in hand that the handler has not finished: the one it is in
    /// the middle of and every one after it.
    fn unhandled(&self) -> u32 {
        let done = match self.phase {
            // The record at the cursor is handled; its commit is what is awaited.
            Phase::Committing(Then::NextRecord) => self.cursor + 1,
            _ => self.cursor,
        };
        self.batch.len().saturating_sub(done) as u32
    }

    /// close(): commit what was consumed (with auto-commit; `maybeAutoCommitOffsetsSync`),
    /// then LeaveGroup. The commits go first on the FIFO path to the coordinator, so they
    /// are stored before the member leaves, as Kafka's synchronous commit is.
    fn close(&mut self, out: &mut Out) {
        if self.auto_commit {
            self.auto_commit_consumed(out);
        }
        out.cancel_all_timers();
        // A static member sends no LeaveGroup (KIP-345): its partitions wait for its
        // session to run out, or for it to come back.
        if !self.static_member {
            out.send(self.coordinator(), Msg::LeaveGroup { member: self.me() });
        }
        self.phase = Phase::Left;
        self.assignment.clear();
        self.positions.clear();
        self.batch.clear();
        self.seeks.clear();
        self.seeking.clear();
    }
}

/// An offset per partition, in the order the partitions were added (a fetch rotates through
/// the positions in that order; commits go out in it), with an index by partition. A
/// member can be assigned thousands of partitions: each record it is handed moves one
/// position, which a scan would find in O(partitions) (a member of 10000 partitions spent
/// half a run's time there); the index finds it in O(log partitions).
#[derive(Clone, Debug, Default)]
struct PartOffsets {
    order: Vec<(PartId, Offset)>,
    index: BTreeMap<PartId, usize>,
}

impl PartOffsets {
    fn len(&self) -> usize {
        self.order.len()
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The `i`-th partition added and its offset.
    fn at(&self, i: usize) -> (PartId, Offset) {
        self.order[i]
    }

    fn get(&self, part: PartId) -> Option<Offset> {
        self.index.get(&part).map(|&i| self.order[i].1)
    }

    /// Sets `part`'s offset if it has one; false if it has none.
    fn set(&mut self, part: PartId, offset: Offset) -> bool {
        match self.index.get(&part) {
            Some(&i) => {
                self.order[i].1 = offset;
                true
            }
            None => false,
        }
    }

    /// Adds `part`, which has no offset yet, last.
    fn push(&mut self, part: PartId, offset: Offset) {
        let old = self.index.insert(part, self.order.len());
        debug_assert!(old.is_none(), "{part:?} added twice");
        self.order.push((part, offset));
    }

    fn clear(&mut self) {
        self.order.clear();
        self.index.clear();
    }

    /// Keeps the partitions `keep` accepts, in their order.
    fn retain(&mut self, keep: impl Fn(PartId) -> bool) {
        self.order.retain(|&(p, _)| keep(p));
        self.index = (self.order.iter().enumerate())
            .map(|(i, &(p, _))| (p, i))
            .collect();
    }

    fn iter(&self) -> impl Iterator<Item = &(PartId, Offset)> {
        self.order.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Time;
    use crate::model::io::TimerOp;
    use crate::scenario::{ConsumerConfig, Processing, StoreKind};
    use crate::trace::EventIx;

    const SLOT: u32 = 3;
    const ACTOR: ActorId = ActorId(7);
    const TIME_MS: u64 = 5;

    /// Group 0, one member, no auto-commit, 5 ms per record.
    fn spec(commit: CommitMode) -> GroupSpec {
        GroupSpec {
            name: "g".to_owned(),
            topics: vec![0],
            default_topics: vec![0],
            subscriptions: Vec::new(),
            members: 1,
            start_at_ms: 0,
            config: ConsumerConfig {
                enable_auto_commit: false,
                ..ConsumerConfig::default()
            },
            processing: Processing {
                time_ms: TIME_MS,
                effect: "apply".to_owned(),
                commit,
            },
            idempotency: None,
            static_members: false,
        }
    }

    /// The first incarnation of the member in slot 3.
    fn me() -> MemberRef {
        MemberRef {
            slot: SLOT,
            incarnation: 1,
        }
    }

    fn started(commit: CommitMode) -> Member {
        let mut m = Member::new(SLOT, 0, 0, ACTOR, &spec(commit));
        m.start(&mut Out::at(Time(0)));
        m
    }

    fn sync(generation: u32, assignment: Vec<(PartId, Option<Offset>)>) -> Msg {
        Msg::SyncGroupResponse(Box::new(SyncGroup {
            member: me(),
            generation,
            assignment,
        }))
    }

    /// This member's share of the partitions `parts`.
    fn share(parts: &[u32]) -> crate::trace::Share {
        crate::trace::Share {
            actor: ACTOR,
            parts: parts.iter().map(|&p| PartId(p)).collect(),
        }
    }

    fn record(offset: u64, event: u32) -> Record {
        Record {
            part: PartId(0),
            offset: Offset(offset),
            event: EventIx(event),
        }
    }

    /// The fetch requests in `out`.
    fn fetches(out: &Out) -> Vec<FetchRequest> {
        out.sends
            .iter()
            .filter_map(|(to, m)| match m {
                Msg::Fetch(f) => {
                    assert_eq!(*to, Endpoint::Cluster);
                    Some((**f).clone())
                }
                _ => None,
            })
            .collect()
    }

    /// A member of generation 1 owning partition 0, committed at offset 4, that sent its
    /// first fetch; returns it and that fetch's id.
    fn fetching(commit: CommitMode) -> (Member, u32) {
        let mut m = started(commit);
        let mut out = Out::at(Time(10));
        m.on_message(sync(1, vec![(PartId(0), Some(Offset(4)))]), None, &mut out);
        let f = fetches(&out);
        assert_eq!(f.len(), 1);
        (m, f[0].fetch_id)
    }

    /// `fetching`, then a poll that returned `records` at t=100.
    fn processing(commit: CommitMode, records: Vec<Record>) -> Member {
        let (mut m, fetch_id) = fetching(commit);
        let mut out = Out::at(Time(100));
        m.on_message(
            Msg::FetchResponse {
                fetch_id,
                records,
                out_of_range: Vec::new(),
            },
            None,
            &mut out,
        );
        assert_eq!(m.phase(), Phase::Processing);
        m
    }

    fn process_done_set(out: &Out) -> bool {
        out.timers.iter().any(|t| {
            matches!(
                t,
                TimerOp::Set {
                    key: PROCESS_DONE,
                    timer: Timer::ProcessDone,
                    ..
                }
            )
        })
    }

    #[test]
    fn a_started_member_asks_to_join_its_group() {
        let mut m = Member::new(SLOT, 0, 2, ACTOR, &spec(CommitMode::None));
        let mut out = Out::at(Time(0));
        m.start(&mut out);
        assert!(matches!(
            &out.sends[..],
            [(
                Endpoint::Coordinator(0),
                Msg::JoinGroup {
                    member,
                    index: 2,
                    actor: ACTOR,
                    owned,
                    generation: None,
                }
            )] if *member == me() && owned.is_empty()
        ));
        assert_eq!(m.phase(), Phase::Joining);
    }

    #[test]
    fn a_committed_offset_resumes_the_partition_and_fetches_from_it() {
        let mut m = started(CommitMode::None);
        let mut out = Out::at(Time(10));
        m.on_message(sync(1, vec![(PartId(0), Some(Offset(4)))]), None, &mut out);
        assert_eq!(
            out.trace,
            vec![
                Kind::Resume {
                    actor: ACTOR,
                    part: PartId(0),
                    offset: Offset(4)
                },
                Kind::Assigned {
                    actor: ACTOR,
                    generation: 1,
                    assignment: 0
                }
            ]
        );
        assert_eq!(out.new_assignments, vec![vec![share(&[0])]]);
        let f = fetches(&out);
        assert_eq!(out.sends.len(), 1);
        assert_eq!(f[0].positions, vec![(PartId(0), Offset(4))]);
        assert_eq!(f[0].max_records, 500);
        assert_eq!(f[0].max_wait_ms, 500);
        assert_eq!(m.phase(), Phase::Fetching);
    }

    #[test]
    fn without_a_committed_offset_it_asks_list_offsets_and_fetches_from_the_answer() {
        let mut m = started(CommitMode::None);
        let mut out = Out::at(Time(10));
        m.on_message(sync(1, vec![(PartId(0), None)]), None, &mut out);
        assert!(matches!(
            out.trace[..],
            [Kind::Assigned { generation: 1, .. }]
        ));
        let request_id = match &out.sends[..] {
            [(Endpoint::Cluster, Msg::ListOffsets { request_id, parts })]
                if parts[..] == [(PartId(0), OffsetSpec::Latest)] =>
            {
                *request_id
            }
            other => panic!("expected one ListOffsets, got {other:?}"),
        };
        assert_eq!(m.phase(), Phase::Resetting);

        let mut out = Out::at(Time(20));
        m.on_message(
            Msg::ListOffsetsResponse {
                request_id,
                offsets: vec![(PartId(0), Offset(9))],
            },
            None,
            &mut out,
        );
        assert_eq!(
            out.trace,
            vec![Kind::OffsetReset {
                actor: ACTOR,
                part: PartId(0),
                offset: Offset(9),
                out_of_range: None
            }]
        );
        assert_eq!(fetches(&out)[0].positions, vec![(PartId(0), Offset(9))]);
        assert_eq!(m.phase(), Phase::Fetching);
    }

    #[test]
    fn a_fetch_answer_delivers_every_record_and_starts_handling_the_first() {
        let (mut m, fetch_id) = fetching(CommitMode::None);
        let mut out = Out::at(Time(100));
        let records = vec![record(4, 10), record(5, 11)];
        m.on_message(
            Msg::FetchResponse {
                fetch_id,
                records,
                out_of_range: Vec::new(),
            },
            None,
            &mut out,
        );
        assert_eq!(
            out.trace,
            vec![
                Kind::Deliver {
                    actor: ACTOR,
                    part: PartId(0),
                    offset: Offset(4),
                    event: EventIx(10)
                },
                Kind::Deliver {
                    actor: ACTOR,
                    part: PartId(0),
                    offset: Offset(5),
                    event: EventIx(11)
                },
                Kind::ProcessStart {
                    actor: ACTOR,
                    part: PartId(0),
                    offset: Offset(4),
                    event: EventIx(10)
                },
            ]
        );
        assert!(matches!(
            out.timers[..],
            [TimerOp::Set {
                key: PROCESS_DONE,
                at: Time(105),
                timer: Timer::ProcessDone
            }]
        ));
        assert!(out.sends.is_empty());
    }

    #[test]
    fn an_empty_fetch_answer_polls_again() {
        let (mut m, fetch_id) = fetching(CommitMode::None);
        let mut out = Out::at(Time(510));
        m.on_message(
            Msg::FetchResponse {
                fetch_id,
                records: Vec::new(),
                out_of_range: Vec::new(),
            },
            None,
            &mut out,
        );
        let f = fetches(&out);
        assert_eq!(f.len(), 1);
        assert_ne!(f[0].fetch_id, fetch_id);
        assert_eq!(f[0].positions, vec![(PartId(0), Offset(4))]);
    }

    #[test]
    fn after_each_record_a_handled_record_is_committed_at_the_next_offset() {
        let mut m = processing(
            CommitMode::AfterEachRecord,
            vec![record(4, 10), record(5, 11)],
        );
        let mut out = Out::at(Time(105));
        m.on_timer(Timer::ProcessDone, None, &mut out);
        assert_eq!(
            out.trace,
            vec![
                Kind::Effect {
                    actor: ACTOR,
                    part: PartId(0),
                    offset: Offset(4),
                    event: EventIx(10)
                },
                Kind::CommitSent {
                    actor: ACTOR,
                    part: PartId(0),
                    offset: Offset(5),
                    auto: false,
                    stored: false
                },
            ]
        );
        assert!(matches!(
            &out.sends[..],
            [(
                Endpoint::Coordinator(0),
                Msg::OffsetCommit {
                    member,
                    actor: ACTOR,
                    generation: 1,
                    part: PartId(0),
                    offset: Offset(5),
                    sync: true
                }
            )] if *member == me()
        ));
        assert!(
            !process_done_set(&out),
            "the next record waits for the answer"
        );
        assert_eq!(m.phase(), Phase::Committing(Then::NextRecord));

        let mut out = Out::at(Time(110));
        m.on_message(
            Msg::OffsetCommitResponse {
                member: me(),
                accepted: true,
            },
            None,
            &mut out,
        );
        assert!(process_done_set(&out), "the answer starts the next record");
        assert_eq!(m.phase(), Phase::Processing);
    }

    #[test]
    fn a_crash_armed_after_process_before_commit_fires_there_and_commits_nothing() {
        let mut m = processing(CommitMode::AfterEachRecord, vec![record(4, 10)]);
        let mut out = Out::at(Time(101));
        m.on_control(
            Control::Crash {
                point: Some(CrashPoint::AfterProcessBeforeCommit),
                on_record: None,
            },
            &mut out,
        );
        assert_eq!(
            out.trace,
            vec![Kind::CrashArmed {
                actor: ACTOR,
                point: CrashPoint::AfterProcessBeforeCommit,
                on_record: None
            }],
            "arming is visible"
        );
        assert!(out.sends.is_empty() && out.timers.is_empty());

        let mut out = Out::at(Time(105));
        m.on_timer(Timer::ProcessDone, None, &mut out);
        assert_eq!(
            out.trace,
            vec![
                Kind::Effect {
                    actor: ACTOR,
                    part: PartId(0),
                    offset: Offset(4),
                    event: EventIx(10)
                },
                Kind::Crash {
                    actor: ACTOR,
                    point: Some(CrashPoint::AfterProcessBeforeCommit)
                },
            ]
        );
        assert!(matches!(out.timers[..], [TimerOp::CancelAll]));
        assert!(
            out.sends.is_empty(),
            "a crash says nothing: its heartbeats just stop"
        );
        assert_eq!(m.phase(), Phase::Down);
    }

    #[test]
    fn a_crashed_member_ignores_messages_and_restarts_as_a_new_incarnation() {
        let (mut m, fetch_id) = fetching(CommitMode::None);
        m.on_control(
            Control::Crash {
                point: None,
                on_record: None,
            },
            &mut Out::at(Time(50)),
        );
        let mut out = Out::at(Time(60));
        m.on_message(
            Msg::FetchResponse {
                fetch_id,
                records: vec![record(4, 10)],
                out_of_range: Vec::new(),
            },
            None,
            &mut out,
        );
        assert!(out.trace.is_empty() && out.sends.is_empty() && out.timers.is_empty());

        let mut out = Out::at(Time(70));
        m.on_control(Control::Restart, &mut out);
        assert_eq!(out.trace, vec![Kind::Restart { actor: ACTOR }]);
        assert!(matches!(
            &out.sends[..],
            [(
                Endpoint::Coordinator(0),
                Msg::JoinGroup {
                    member: MemberRef {
                        slot: SLOT,
                        incarnation: 2
                    },
                    ..
                }
            )]
        ));
    }

    #[test]
    fn a_fetch_answer_from_before_a_rejoin_is_ignored() {
        let (mut m, old_fetch) = fetching(CommitMode::None);
        let mut out = Out::at(Time(50));
        m.on_message(
            Msg::RejoinRequired {
                member: me(),
                unknown: false,
            },
            None,
            &mut out,
        );
        assert_eq!(
            out.trace,
            vec![Kind::Revoke {
                actor: ACTOR,
                partitions: 1
            }]
        );
        let mut out = Out::at(Time(60));
        m.on_message(sync(2, vec![(PartId(0), Some(Offset(4)))]), None, &mut out);
        let new_fetch = fetches(&out)[0].fetch_id;
        assert_ne!(new_fetch, old_fetch);

        // The first fetch's answer arrives late: nothing is delivered or handled.
        let mut out = Out::at(Time(70));
        m.on_message(
            Msg::FetchResponse {
                fetch_id: old_fetch,
                records: vec![record(4, 10)],
                out_of_range: Vec::new(),
            },
            None,
            &mut out,
        );
        assert!(out.trace.is_empty() && out.sends.is_empty() && out.timers.is_empty());
        assert_eq!(m.phase(), Phase::Fetching);

        let mut out = Out::at(Time(80));
        m.on_message(
            Msg::FetchResponse {
                fetch_id: new_fetch,
                records: vec![record(4, 10)],
                out_of_range: Vec::new(),
            },
            None,
            &mut out,
        );
        assert_eq!(
            out.trace.len(),
            2,
            "the current fetch's answer is delivered, and its record started"
        );
        assert!(process_done_set(&out));
    }

    #[test]
    fn a_record_the_store_has_seen_is_absorbed_and_the_next_is_applied_and_marked() {
        let mut store = Store::new(StoreKind::External, None, StoreUnavailable::Retry);
        store.mark(EventIx(10), Time(0));
        let (mut m, fetch_id) = fetching(CommitMode::None);
        let mut out = Out::at(Time(100));
        m.on_message(
            Msg::FetchResponse {
                fetch_id,
                records: vec![record(4, 10), record(5, 11)],
                out_of_range: Vec::new(),
            },
            Some(&mut store),
            &mut out,
        );
        assert!(process_done_set(&out));

        let mut out = Out::at(Time(105));
        m.on_timer(Timer::ProcessDone, Some(&mut store), &mut out);
        assert_eq!(
            out.trace,
            vec![
                Kind::Absorbed {
                    actor: ACTOR,
                    part: PartId(0),
                    offset: Offset(4),
                    event: EventIx(10)
                },
                Kind::ProcessStart {
                    actor: ACTOR,
                    part: PartId(0),
                    offset: Offset(5),
                    event: EventIx(11)
                }
            ]
        );
        assert!(process_done_set(&out), "the second record starts");

        let mut out = Out::at(Time(110));
        m.on_timer(Timer::ProcessDone, Some(&mut store), &mut out);
        assert_eq!(
            out.trace,
            vec![
                Kind::Effect {
                    actor: ACTOR,
                    part: PartId(0),
                    offset: Offset(5),
                    event: EventIx(11)
                },
                Kind::Mark {
                    actor: ACTOR,
                    event: EventIx(11),
                    expires_at: None
                },
            ]
        );
        assert_eq!(store.check(EventIx(11), Time(110)), Check::Seen);
        // The batch is done: the next poll starts after the two records.
        assert_eq!(fetches(&out)[0].positions, vec![(PartId(0), Offset(6))]);
    }

    #[test]
    fn an_unavailable_store_makes_the_record_wait_and_retry() {
        let mut store = Store::new(StoreKind::External, None, StoreUnavailable::Retry);
        store.outage(Time(150));
        let (mut m, fetch_id) = fetching(CommitMode::None);
        let mut out = Out::at(Time(100));
        m.on_message(
            Msg::FetchResponse {
                fetch_id,
                records: vec![record(4, 10)],
                out_of_range: Vec::new(),
            },
            Some(&mut store),
            &mut out,
        );
        assert!(out.trace.contains(&Kind::StoreUnavailable {
            actor: ACTOR,
            event: EventIx(10)
        }));
        assert!(matches!(
            out.timers[..],
            [TimerOp::Set {
                key: STORE_RETRY,
                at: Time(200),
                timer: Timer::StoreRetry
            }]
        ));
        let mut out = Out::at(Time(200));
        m.on_timer(Timer::StoreRetry, Some(&mut store), &mut out);
        assert!(process_done_set(&out), "the store answers now");
    }

    #[test]
    fn rejoin_required_while_idle_revokes_and_rejoins() {
        let mut m = started(CommitMode::None);
        let mut out = Out::at(Time(10));
        m.on_message(sync(1, Vec::new()), None, &mut out);
        assert!(out.sends.is_empty());
        assert_eq!(m.phase(), Phase::Idle);

        // Addressed to an earlier incarnation: not for this member.
        let mut out = Out::at(Time(20));
        let earlier = MemberRef {
            slot: SLOT,
            incarnation: 0,
        };
        m.on_message(
            Msg::RejoinRequired {
                member: earlier,
                unknown: false,
            },
            None,
            &mut out,
        );
        assert!(out.trace.is_empty() && out.sends.is_empty());

        let mut out = Out::at(Time(30));
        m.on_message(
            Msg::RejoinRequired {
                member: me(),
                unknown: false,
            },
            None,
            &mut out,
        );
        assert_eq!(
            out.trace,
            vec![Kind::Revoke {
                actor: ACTOR,
                partitions: 0
            }]
        );
        assert!(matches!(
            &out.sends[..],
            [(Endpoint::Coordinator(0), Msg::JoinGroup { member, .. })] if *member == me()
        ));
        assert_eq!(m.phase(), Phase::Joining);
    }

    #[test]
    fn rejoin_required_while_handling_a_batch_waits_for_the_batch_to_end() {
        let mut m = processing(CommitMode::None, vec![record(4, 10)]);
        let mut out = Out::at(Time(101));
        m.on_message(
            Msg::RejoinRequired {
                member: me(),
                unknown: false,
            },
            None,
            &mut out,
        );
        assert!(out.trace.is_empty() && out.sends.is_empty());
        assert_eq!(m.phase(), Phase::Processing);

        let mut out = Out::at(Time(105));
        m.on_timer(Timer::ProcessDone, None, &mut out);
        assert_eq!(
            out.trace,
            vec![
                Kind::Effect {
                    actor: ACTOR,
                    part: PartId(0),
                    offset: Offset(4),
                    event: EventIx(10)
                },
                Kind::Revoke {
                    actor: ACTOR,
                    partitions: 1
                },
            ]
        );
        assert!(matches!(
            &out.sends[..],
            [(Endpoint::Coordinator(0), Msg::JoinGroup { .. })]
        ));
    }

    #[test]
    fn with_auto_commit_a_rejoin_commits_the_positions_before_revoking() {
        let mut spec = spec(CommitMode::None);
        spec.config.enable_auto_commit = true;
        let mut m = Member::new(SLOT, 0, 0, ACTOR, &spec);
        m.start(&mut Out::at(Time(0)));
        m.on_message(
            sync(1, vec![(PartId(0), Some(Offset(4)))]),
            None,
            &mut Out::at(Time(10)),
        );
        let mut out = Out::at(Time(20));
        m.on_message(
            Msg::RejoinRequired {
                member: me(),
                unknown: false,
            },
            None,
            &mut out,
        );
        assert_eq!(
            out.trace,
            vec![
                Kind::CommitSent {
                    actor: ACTOR,
                    part: PartId(0),
                    offset: Offset(4),
                    auto: true,
                    stored: false
                },
                Kind::Revoke {
                    actor: ACTOR,
                    partitions: 1
                },
            ]
        );
        assert!(matches!(
            &out.sends[..],
            [
                (
                    Endpoint::Coordinator(0),
                    Msg::OffsetCommit {
                        offset: Offset(4),
                        sync: false,
                        ..
                    }
                ),
                (Endpoint::Coordinator(0), Msg::JoinGroup { .. }),
            ]
        ));
    }

    #[test]
    fn a_member_heartbeats_every_interval_even_while_it_handles_records() {
        let mut out = Out::at(Time(0));
        let mut m = Member::new(SLOT, 0, 0, ACTOR, &spec(CommitMode::None));
        m.start(&mut out);
        assert!(out.timers.iter().any(|t| matches!(
            t,
            TimerOp::Set {
                key: HEARTBEAT,
                at: Time(3_000),
                timer: Timer::Heartbeat
            }
        )));
        let mut m = processing(CommitMode::None, vec![record(4, 10)]);
        assert_eq!(m.phase(), Phase::Processing);
        let mut out = Out::at(Time(3_000));
        m.on_timer(Timer::Heartbeat, None, &mut out);
        assert!(matches!(
            &out.sends[..],
            [(Endpoint::Coordinator(0), Msg::Heartbeat { member })] if *member == me()
        ));
        assert!(matches!(
            out.timers[..],
            [TimerOp::Set {
                key: HEARTBEAT,
                at: Time(6_000),
                timer: Timer::Heartbeat
            }]
        ));
        assert_eq!(m.phase(), Phase::Processing, "the handler goes on");
    }

    #[test]
    fn a_member_past_max_poll_interval_leaves_its_commits_fail_and_its_next_poll_rejoins() {
        let mut spec = spec(CommitMode::AfterEachRecord);
        spec.config.max_poll_interval_ms = 4_000;
        let mut m = Member::new(SLOT, 0, 0, ACTOR, &spec);
        m.start(&mut Out::at(Time(0)));
        let mut out = Out::at(Time(10));
        m.on_message(sync(1, vec![(PartId(0), Some(Offset(4)))]), None, &mut out);
        let fetch_id = fetches(&out)[0].fetch_id;
        m.on_message(
            Msg::FetchResponse {
                fetch_id,
                records: vec![record(4, 10), record(5, 11)],
                out_of_range: Vec::new(),
            },
            None,
            &mut Out::at(Time(100)),
        );
        // The test holds the first record's ProcessDone back, as a slow handler would: it
        // is still in it at the first heartbeat, whose check finds the deadline (the poll
        // at 10, plus 4000) before the next beat.
        let mut out = Out::at(Time(3_000));
        m.on_timer(Timer::Heartbeat, None, &mut out);
        assert!(out.timers.iter().any(|t| matches!(
            t,
            TimerOp::Set {
                key: POLL_TIMEOUT,
                at: Time(4_010),
                timer: Timer::PollTimeout
            }
        )));
        let mut out = Out::at(Time(4_010));
        m.on_timer(Timer::PollTimeout, None, &mut out);
        assert_eq!(
            out.trace,
            vec![Kind::PollTimeout {
                actor: ACTOR,
                since: Time(10)
            }]
        );
        assert!(matches!(
            &out.sends[..],
            [(Endpoint::Coordinator(0), Msg::LeaveGroup { member })] if *member == me()
        ));
        assert!(matches!(
            out.timers[..],
            [TimerOp::Cancel { key: HEARTBEAT }]
        ));
        assert_eq!(
            m.phase(),
            Phase::Processing,
            "the handler is not interrupted"
        );

        // The record finishes; commitSync fails at once, without a request, and the loop
        // goes on to the next record.
        let mut out = Out::at(Time(4_020));
        m.on_timer(Timer::ProcessDone, None, &mut out);
        assert!(out.trace.contains(&Kind::CommitFailed {
            actor: ACTOR,
            part: PartId(0),
            offset: Offset(5),
            auto: false
        }));
        assert!(out.sends.is_empty(), "no commit request: {:?}", out.sends);
        assert!(process_done_set(&out));

        // The batch ends; the next poll rejoins, with its heartbeats.
        let mut out = Out::at(Time(4_030));
        m.on_timer(Timer::ProcessDone, None, &mut out);
        assert!(out.trace.contains(&Kind::Revoke {
            actor: ACTOR,
            partitions: 1
        }));
        assert!(matches!(
            &out.sends[..],
            [(Endpoint::Coordinator(0), Msg::JoinGroup { .. })]
        ));
        assert!(out
            .timers
            .iter()
            .any(|t| matches!(t, TimerOp::Set { key: HEARTBEAT, .. })));
        assert_eq!(m.phase(), Phase::Joining);
    }

    #[test]
    fn a_cooperative_member_keeps_fetching_while_it_rejoins_and_revokes_only_what_moves() {
        let mut spec = spec(CommitMode::None);
        spec.config.enable_auto_commit = true;
        spec.config.assignor = crate::scenario::Assignor::CooperativeSticky;
        let mut m = Member::new(SLOT, 0, 0, ACTOR, &spec);
        m.start(&mut Out::at(Time(0)));
        let owned = vec![(PartId(0), Some(Offset(4))), (PartId(1), Some(Offset(9)))];
        m.on_message(sync(1, owned), None, &mut Out::at(Time(10)));
        // REBALANCE_IN_PROGRESS: it auto-commits, joins with what it owns, and fetches on.
        let mut out = Out::at(Time(100));
        m.on_message(
            Msg::RejoinRequired {
                member: me(),
                unknown: false,
            },
            None,
            &mut out,
        );
        assert!(out.trace.iter().all(|k| !matches!(k, Kind::Revoke { .. })));
        assert!(out.sends.iter().any(|(_, msg)| matches!(
            msg,
            Msg::JoinGroup { owned, generation: Some(1), .. } if owned == &vec![PartId(0), PartId(1)]
        )));
        assert_eq!(fetches(&out).len(), 1, "it keeps consuming");
        assert_eq!(m.phase(), Phase::Fetching);
        // The assignment keeps p0 and moves p1: p1 is committed, revoked, and it rejoins.
        let mut out = Out::at(Time(200));
        m.on_message(sync(2, vec![(PartId(0), Some(Offset(4)))]), None, &mut out);
        let committed: Vec<(PartId, Offset)> = (out.trace.iter())
            .filter_map(|k| match *k {
                Kind::CommitSent { part, offset, .. } => Some((part, offset)),
                _ => None,
            })
            .collect();
        // p1 before its revocation; then the rejoin's onJoinPrepare commits what it kept.
        assert_eq!(
            committed,
            vec![(PartId(1), Offset(9)), (PartId(0), Offset(4))]
        );
        assert!(matches!(out.trace[1], Kind::RevokeMoved { .. }));
        assert_eq!(out.new_assignments[0], vec![share(&[1])]);
        assert!(out.sends.iter().any(|(_, msg)| matches!(
            msg,
            Msg::JoinGroup { owned, generation: Some(2), .. } if owned == &vec![PartId(0)]
        )));
        assert_eq!(fetches(&out)[0].positions, vec![(PartId(0), Offset(4))]);
        // The next assignment ends p1's pause: 1 partition for 300 ms.
        let mut out = Out::at(Time(500));
        m.on_message(sync(3, vec![(PartId(0), Some(Offset(4)))]), None, &mut out);
        assert_eq!(
            out.trace[0],
            Kind::Paused {
                actor: ACTOR,
                partitions: 1,
                since: Time(200),
                ms: 300
            }
        );
    }

    #[test]
    fn an_eager_member_pauses_everything_it_owned_from_its_revocation_to_its_assignment() {
        let (mut m, _) = fetching(CommitMode::None);
        m.on_message(
            Msg::RejoinRequired {
                member: me(),
                unknown: false,
            },
            None,
            &mut Out::at(Time(100)),
        );
        let mut out = Out::at(Time(350));
        m.on_message(sync(2, vec![(PartId(0), Some(Offset(4)))]), None, &mut out);
        assert_eq!(
            out.trace[0],
            Kind::Paused {
                actor: ACTOR,
                partitions: 1,
                since: Time(100),
                ms: 250
            }
        );
    }

    #[test]
    fn with_auto_offset_reset_none_a_partition_without_a_commit_stops_the_member() {
        let mut spec = spec(CommitMode::None);
        spec.config.auto_offset_reset = OffsetReset::None;
        spec.config.enable_auto_commit = true;
        let mut m = Member::new(SLOT, 0, 0, ACTOR, &spec);
        m.start(&mut Out::at(Time(0)));
        let mut out = Out::at(Time(10));
        let assignment = vec![(PartId(0), Some(Offset(4))), (PartId(1), None)];
        m.on_message(sync(1, assignment), None, &mut out);
        assert!(out.trace.contains(&Kind::NoOffset {
            actor: ACTOR,
            part: PartId(1),
            out_of_range: None
        }));
        // No ListOffsets and no fetch: the exception ended the loop and close() ran. It
        // commits the partition that has a position, not the one without.
        let commits: Vec<(PartId, Offset)> = out
            .sends
            .iter()
            .filter_map(|(_, m)| match m {
                Msg::OffsetCommit { part, offset, .. } => Some((*part, *offset)),
                _ => None,
            })
            .collect();
        assert_eq!(commits, vec![(PartId(0), Offset(4))]);
        assert!(out
            .sends
            .iter()
            .all(|(_, m)| !matches!(m, Msg::ListOffsets { .. } | Msg::Fetch(_))));
        assert!(matches!(
            out.sends.last(),
            Some((_, Msg::LeaveGroup { .. }))
        ));
        assert_eq!(m.phase(), Phase::Left);
    }

    #[test]
    fn with_auto_offset_reset_none_a_position_out_of_range_stops_the_member_too() {
        let mut spec = spec(CommitMode::None);
        spec.config.auto_offset_reset = OffsetReset::None;
        let mut m = Member::new(SLOT, 0, 0, ACTOR, &spec);
        m.start(&mut Out::at(Time(0)));
        let mut out = Out::at(Time(10));
        m.on_message(sync(1, vec![(PartId(0), Some(Offset(4)))]), None, &mut out);
        let fetch_id = fetches(&out)[0].fetch_id;
        let mut out = Out::at(Time(20));
        let answer = Msg::FetchResponse {
            fetch_id,
            records: Vec::new(),
            out_of_range: vec![PartId(0)],
        };
        m.on_message(answer, None, &mut out);
        assert_eq!(
            out.trace,
            vec![Kind::NoOffset {
                actor: ACTOR,
                part: PartId(0),
                out_of_range: Some(Offset(4))
            }]
        );
        assert_eq!(m.phase(), Phase::Left);
    }

    /// librdkafka's offset store and background auto-commit.
    mod offset_store {
        use super::*;

        /// A `client: librdkafka` member with auto-commit on (every 5000 ms), committed at
        /// offset 4, handed records 4 and 5 by a poll at t=100: it is handling record 4.
        fn librdkafka(auto_offset_store: bool) -> Member {
            let mut spec = spec(CommitMode::None);
            spec.config.client = ClientProfile::Librdkafka;
            spec.config.enable_auto_commit = true;
            spec.config.enable_auto_offset_store = auto_offset_store;
            let mut m = Member::new(SLOT, 0, 0, ACTOR, &spec);
            let mut out = Out::at(Time(0));
            m.start(&mut out);
            assert!(out.timers.iter().any(|t| matches!(
                t,
                TimerOp::Set {
                    key: AUTO_COMMIT,
                    at: Time(5000),
                    timer: Timer::AutoCommit
                }
            )));
            let mut out = Out::at(Time(10));
            m.on_message(sync(1, vec![(PartId(0), Some(Offset(4)))]), None, &mut out);
            let fetch_id = fetches(&out)[0].fetch_id;
            let mut out = Out::at(Time(100));
            let records = vec![record(4, 10), record(5, 11)];
            m.on_message(
                Msg::FetchResponse {
                    fetch_id,
                    records,
                    out_of_range: Vec::new(),
                },
                None,
                &mut out,
            );
            assert_eq!(m.phase(), Phase::Processing);
            m
        }

        /// The offsets of the commits in `out`, with whether each was of a stored offset.
        fn commits(out: &Out) -> Vec<(u64, bool)> {
            out.trace
                .iter()
                .filter_map(|k| match *k {
                    Kind::CommitSent { offset, stored, .. } => Some((offset.value(), stored)),
                    _ => None,
                })
                .collect()
        }

        #[test]
        fn the_background_commit_commits_the_offset_stored_when_the_record_was_handed_over() {
            let mut m = librdkafka(true);
            let mut out = Out::at(Time(5000));
            m.on_timer(Timer::AutoCommit, None, &mut out);
            // Record 4 is still being handled, yet offset 5 (past it) is committed.
            assert_eq!(m.phase(), Phase::Processing);
            assert_eq!(commits(&out), vec![(5, true)]);
            assert!(out
                .sends
                .iter()
                .any(|(to, msg)| *to == Endpoint::Coordinator(0)
                    && matches!(
                        msg,
                        Msg::OffsetCommit {
                            offset: Offset(5),
                            sync: false,
                            ..
                        }
                    )));
            assert!(out.timers.iter().any(|t| matches!(
                t,
                TimerOp::Set {
                    key: AUTO_COMMIT,
                    at: Time(10000),
                    ..
                }
            )));
            // Nothing new stored: the next tick commits nothing.
            let mut out = Out::at(Time(10000));
            m.on_timer(Timer::AutoCommit, None, &mut out);
            assert_eq!(commits(&out), vec![]);
        }

        #[test]
        fn without_the_auto_store_the_offset_is_stored_only_after_processing() {
            let mut m = librdkafka(false);
            let mut out = Out::at(Time(2000));
            m.on_timer(Timer::AutoCommit, None, &mut out);
            assert_eq!(commits(&out), vec![], "record 4 is not processed yet");
            let mut out = Out::at(Time(2100));
            m.on_timer(Timer::ProcessDone, None, &mut out);
            assert_eq!(commits(&out), vec![], "storing is not committing");
            let mut out = Out::at(Time(5000));
            m.on_timer(Timer::AutoCommit, None, &mut out);
            assert_eq!(commits(&out), vec![(5, true)]);
        }

        #[test]
        fn java_auto_commit_never_commits_while_the_handler_holds_records() {
            let mut spec = spec(CommitMode::None);
            spec.config.enable_auto_commit = true;
            let mut m = Member::new(SLOT, 0, 0, ACTOR, &spec);
            m.start(&mut Out::at(Time(0)));
            let mut out = Out::at(Time(10));
            m.on_message(sync(1, vec![(PartId(0), Some(Offset(4)))]), None, &mut out);
            let fetch_id = fetches(&out)[0].fetch_id;
            let mut out = Out::at(Time(100));
            let records = vec![record(4, 10)];
            let fetch = Msg::FetchResponse {
                fetch_id,
                records,
                out_of_range: Vec::new(),
            };
            m.on_message(fetch, None, &mut out);
            let mut out = Out::at(Time(6000));
            m.on_timer(Timer::AutoCommit, None, &mut out);
            assert_eq!(commits(&out), vec![]);
            assert_eq!(m.phase(), Phase::Processing);
        }

        #[test]
        fn a_crash_empties_the_offset_store() {
            let mut m = librdkafka(true);
            m.on_control(
                Control::Crash {
                    point: None,
                    on_record: None,
                },
                &mut Out::at(Time(200)),
            );
            assert!(m.stored.is_empty());
            assert_eq!(m.phase(), Phase::Down);
        }
    }

    /// The ListOffsets requests in `out`.
    fn list_offsets(out: &Out) -> Vec<(u32, Vec<(PartId, OffsetSpec)>)> {
        out.sends
            .iter()
            .filter_map(|(_, m)| match m {
                Msg::ListOffsets { request_id, parts } => Some((*request_id, parts.clone())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_seek_to_an_offset_while_waiting_for_a_fetch_fetches_again_from_it_at_once() {
        let (mut m, old) = fetching(CommitMode::AfterBatch);
        let mut out = Out::at(Time(50));
        let seek = Control::Seek {
            to: SeekTo::Offset(1),
            parts: None,
        };
        m.on_control(seek, &mut out);
        assert_eq!(
            out.trace,
            vec![Kind::Seek {
                actor: ACTOR,
                part: PartId(0),
                from: Offset(4),
                offset: Offset(1),
                to: SeekTo::Offset(1),
            }]
        );
        let f = fetches(&out);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].positions, vec![(PartId(0), Offset(1))]);
        assert!(f[0].fetch_id != old, "the old fetch's answer is stale");
        // The stale answer is ignored.
        let mut out = Out::at(Time(60));
        m.on_message(
            Msg::FetchResponse {
                fetch_id: old,
                records: vec![record(4, 4)],
                out_of_range: Vec::new(),
            },
            None,
            &mut out,
        );
        assert!(out.trace.is_empty());
        assert_eq!(m.phase(), Phase::Fetching);
    }

    #[test]
    fn a_seek_to_a_timestamp_waits_for_the_batch_in_hand_then_asks_list_offsets() {
        let mut m = processing(CommitMode::AfterBatch, vec![record(4, 4), record(5, 5)]);
        let mut out = Out::at(Time(101));
        let seek = Control::Seek {
            to: SeekTo::Timestamp(30),
            parts: Some((PartId(0), 1)),
        };
        m.on_control(seek, &mut out);
        assert!(
            out.sends.is_empty() && out.trace.is_empty(),
            "handling records"
        );
        // Both records handled; the batch's commit, then the poll carries out the seek.
        let mut out = Out::at(Time(105));
        m.on_timer(Timer::ProcessDone, None, &mut out);
        let mut out = Out::at(Time(110));
        m.on_timer(Timer::ProcessDone, None, &mut out);
        let mut out = Out::at(Time(112));
        m.on_message(
            Msg::OffsetCommitResponse {
                member: me(),
                accepted: true,
            },
            None,
            &mut out,
        );
        let asked = list_offsets(&out);
        assert_eq!(asked.len(), 1);
        assert_eq!(asked[0].1, vec![(PartId(0), OffsetSpec::ForTimestamp(30))]);
        assert!(fetches(&out).is_empty(), "no fetch before the answer");
        assert_eq!(m.phase(), Phase::Resetting);

        let mut out = Out::at(Time(115));
        m.on_message(
            Msg::ListOffsetsResponse {
                request_id: asked[0].0,
                offsets: vec![(PartId(0), Offset(2))],
            },
            None,
            &mut out,
        );
        assert_eq!(
            out.trace,
            vec![Kind::Seek {
                actor: ACTOR,
                part: PartId(0),
                from: Offset(6),
                offset: Offset(2),
                to: SeekTo::Timestamp(30),
            }]
        );
        assert_eq!(fetches(&out)[0].positions, vec![(PartId(0), Offset(2))]);
    }

    #[test]
    fn a_member_with_nothing_assigned_ignores_a_seek() {
        let mut m = started(CommitMode::AfterBatch);
        let mut out = Out::at(Time(5));
        let seek = Control::Seek {
            to: SeekTo::Beginning,
            parts: None,
        };
        m.on_control(seek, &mut out);
        assert!(out.sends.is_empty() && out.trace.is_empty());
        // Its assignment, later, starts where the group's commit says, not at a seek.
        let mut out = Out::at(Time(10));
        m.on_message(sync(1, vec![(PartId(0), Some(Offset(4)))]), None, &mut out);
        assert_eq!(fetches(&out)[0].positions, vec![(PartId(0), Offset(4))]);
        assert!(!out.trace.iter().any(|k| matches!(k, Kind::Seek { .. })));
    }

    #[test]
    fn a_seek_outside_the_partitions_named_does_nothing() {
        let (mut m, _) = fetching(CommitMode::AfterBatch);
        let mut out = Out::at(Time(50));
        let seek = Control::Seek {
            to: SeekTo::End,
            parts: Some((PartId(1), 2)),
        };
        m.on_control(seek, &mut out);
        assert!(out.sends.is_empty() && out.trace.is_empty());
    }
}
