//! A consumer group member: the poll loop, the record handler with its named crash points,
//! offset commits (auto and manual), and the idempotency check.
//!
//! Inputs: `RejoinRequired`, `SyncGroupResponse`, `ListOffsetsResponse`, `FetchResponse`
//! and `OffsetCommitResponse` messages; `ProcessDone` and `StoreRetry` timers; `Control`
//! (start, crash, restart, leave). Outputs: JoinGroup, LeaveGroup, Fetch, ListOffsets,
//! OffsetCommit and HeartbeatStopped messages, timers, trace records.
//!
//! The handler's steps for each record, each boundary a crash point:
//! `before-process` → check the processed-id store → apply the effect →
//! `after-effect-before-mark` → mark the id → `after-mark-before-commit` /
//! `after-process-before-commit` → commit (per `processing.commit`) → `after-commit`.
//! Positions advance when a poll returns records, as Kafka's do; auto-commit commits the
//! positions at the start of a later poll once `auto.commit.interval.ms` has elapsed.

use crate::model::armed::Armed;
use crate::model::io::{
    Control, Endpoint, FetchRequest, MemberRef, Msg, Out, SyncGroup, Timer, TimerKey,
};
use crate::model::log::{Offset, Record};
use crate::model::store::{Check, Marked, Store};
use crate::scenario::{CommitMode, CrashPoint, GroupSpec, OffsetReset, StoreUnavailable};
use crate::trace::{ActorId, Kind, PartId};

const PROCESS_DONE: TimerKey = 1;
const STORE_RETRY: TimerKey = 2;
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
    positions: Vec<(PartId, Offset)>,
    /// The records the last poll returned.
    batch: Vec<Record>,
    cursor: usize,
    rejoin: bool,
    last_auto_commit: crate::engine::Time,
    armed: Option<Armed>,
    /// The id of the latest fetch or ListOffsets request; older answers are ignored.
    request_id: u32,
    pending_commits: u32,
    seen: bool,
    // Configuration, copied from the group.
    time_ms: u64,
    commit: CommitMode,
    auto_commit: bool,
    auto_commit_interval_ms: u64,
    reset: OffsetReset,
    max_poll_records: usize,
    fetch_max_wait_ms: u64,
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
            positions: Vec::new(),
            batch: Vec::new(),
            cursor: 0,
            rejoin: false,
            last_auto_commit: crate::engine::Time::ZERO,
            armed: None,
            request_id: 0,
            pending_commits: 0,
            seen: false,
            time_ms: spec.processing.time_ms,
            commit: spec.processing.commit,
            auto_commit: spec.config.enable_auto_commit,
            auto_commit_interval_ms: spec.config.auto_commit_interval_ms,
            reset: spec.config.auto_offset_reset,
            max_poll_records: usize::try_from(spec.config.max_poll_records).unwrap_or(usize::MAX),
            fetch_max_wait_ms: spec.config.fetch_max_wait_ms,
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

    fn join(&mut self, out: &mut Out) {
        self.phase = Phase::Joining;
        out.send(
            self.coordinator(),
            Msg::JoinGroup {
                member: self.me(),
                index: self.index,
                actor: self.actor,
            },
        );
    }

    /// Start (or restart) this member: a new incarnation joins the group.
    pub fn start(&mut self, out: &mut Out) {
        self.incarnation += 1;
        self.rejoin = false;
        self.last_auto_commit = out.now;
        self.join(out);
    }

    /// A fault: crash now or arm a crash point, restart, or leave cleanly.
    pub fn on_control(&mut self, control: Control, out: &mut Out) {
        match control {
            Control::Crash { point: None, .. } if self.live() => self.crash(None, out),
            Control::Crash {
                point: Some(point),
                on_record,
            } if self.live() => self.armed = Some(Armed::new(point, on_record)),
            Control::Restart if self.phase == Phase::Down => {
                out.trace(Kind::Restart { actor: self.actor });
                self.start(out);
            }
            Control::Leave if self.live() => self.leave(out),
            _ => {}
        }
    }

    pub fn on_message(&mut self, msg: Msg, store: Option<&mut Store>, out: &mut Out) {
        if !self.live() {
            return;
        }
        match msg {
            Msg::RejoinRequired { member } if member == self.me() => self.rejoin_required(out),
            Msg::SyncGroupResponse(sync) if sync.member == self.me() => self.on_sync(*sync, out),
            Msg::ListOffsetsResponse {
                request_id,
                offsets,
            } if self.phase == Phase::Resetting && request_id == self.request_id => {
                for (part, offset) in offsets {
                    out.trace(Kind::OffsetReset {
                        actor: self.actor,
                        part,
                        offset,
                    });
                    if let Some(p) = self.positions.iter_mut().find(|(p, _)| *p == part) {
                        p.1 = offset;
                    }
                }
                self.poll(out);
            }
            Msg::FetchResponse { fetch_id, records }
                if self.phase == Phase::Fetching && fetch_id == self.request_id =>
            {
                self.on_fetch_response(records, store, out)
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
            other => unreachable!("a member sets no {other:?} timer"),
        }
    }

    fn rejoin_required(&mut self, out: &mut Out) {
        if self.phase == Phase::Joining {
            return;
        }
        self.rejoin = true;
        if matches!(self.phase, Phase::Idle | Phase::Fetching) {
            // Not busy with records: rejoin now; a fetch answer still on its way is stale.
            self.batch.clear();
            self.poll(out);
        }
    }

    /// The top of the poll loop: rejoin if asked, auto-commit if due, then fetch.
    fn poll(&mut self, out: &mut Out) {
        self.request_id += 1;
        if self.rejoin {
            self.rejoin = false;
            if self.auto_commit {
                // onJoinPrepare: commit what was consumed before revoking.
                self.commit_positions(true, false, out);
            }
            out.trace(Kind::Revoke { actor: self.actor });
            self.assignment.clear();
            self.positions.clear();
            self.join(out);
            return;
        }
        if self.auto_commit && out.now.since(self.last_auto_commit) >= self.auto_commit_interval_ms
        {
            self.last_auto_commit = out.now;
            self.commit_positions(true, false, out);
        }
        if self.assignment.is_empty() {
            self.phase = Phase::Idle;
            return;
        }
        self.phase = Phase::Fetching;
        // Start at a rotating partition so one busy partition cannot starve the others.
        let n = self.positions.len();
        let first = self.request_id as usize % n;
        let positions = (0..n).map(|k| self.positions[(k + first) % n]).collect();
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

    /// SyncGroup's answer: take the share and resume each partition at its committed
    /// offset; partitions the group never committed ask ListOffsets per auto.offset.reset.
    fn on_sync(&mut self, sync: SyncGroup, out: &mut Out) {
        self.generation = sync.generation;
        self.assignment.clear();
        self.positions.clear();
        let mut unknown = Vec::new();
        for (part, committed) in sync.assignment {
            self.assignment.push(part);
            match committed {
                Some(offset) => {
                    out.trace(Kind::Resume {
                        actor: self.actor,
                        part,
                        offset,
                    });
                    self.positions.push((part, offset));
                }
                None => {
                    unknown.push(part);
                    self.positions.push((part, Offset::ZERO));
                }
            }
        }
        if unknown.is_empty() {
            return self.poll(out);
        }
        self.request_id += 1;
        self.phase = Phase::Resetting;
        out.send(
            Endpoint::Cluster,
            Msg::ListOffsets {
                request_id: self.request_id,
                parts: unknown,
                reset: self.reset,
            },
        );
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
        for r in &records {
            out.trace(Kind::Deliver {
                actor: self.actor,
                part: r.part,
                offset: r.offset,
                event: r.event,
            });
            if let Some(p) = self.positions.iter_mut().find(|(p, _)| *p == r.part) {
                p.1 = r.offset.next();
            }
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
        if !self.armed.is_some_and(|a| a.fires_at(point)) {
            return false;
        }
        self.crash(Some(point), out);
        true
    }

    /// The process dies: nothing more is sent, every timer goes, and its heartbeats stop,
    /// so the coordinator expires its session `session.timeout.ms` later.
    fn crash(&mut self, point: Option<CrashPoint>, out: &mut Out) {
        out.trace(Kind::Crash {
            actor: self.actor,
            point,
        });
        out.cancel_all_timers();
        out.send(
            self.coordinator(),
            Msg::HeartbeatStopped {
                member: self.me(),
                at: out.now,
            },
        );
        self.phase = Phase::Down;
        self.armed = None;
        self.batch.clear();
        self.assignment.clear();
        self.positions.clear();
        self.pending_commits = 0;
    }

    /// Begin handling `batch[cursor]`.
    fn start_record(&mut self, store: Option<&mut Store>, out: &mut Out) {
        if self.cursor >= self.batch.len() {
            return self.end_batch(store, out);
        }
        if let Some(a) = self.armed.as_mut() {
            a.count();
        }
        if self.crash_at(CrashPoint::BeforeProcess, out) {
            return;
        }
        self.phase = Phase::Processing;
        self.check_store(store, out);
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
        if self.crash_at(CrashPoint::AfterProcessBeforeCommit, out) {
            return;
        }
        if self.commit == CommitMode::AfterEachRecord {
            self.pending_commits += 1;
            self.send_commit(part, offset.next(), false, true, out);
            self.phase = Phase::Committing(Then::NextRecord);
            return;
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
        for i in 0..self.positions.len() {
            let (part, offset) = self.positions[i];
            if sync {
                self.pending_commits += 1;
            }
            self.send_commit(part, offset, auto, sync, out);
        }
    }

    fn send_commit(&mut self, part: PartId, offset: Offset, auto: bool, sync: bool, out: &mut Out) {
        out.trace(Kind::CommitSent {
            actor: self.actor,
            part,
            offset,
            auto,
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

    /// close(): commit what was consumed (with auto-commit), then LeaveGroup.
    fn leave(&mut self, out: &mut Out) {
        if self.auto_commit {
            self.commit_positions(true, false, out);
        }
        out.trace(Kind::Leave { actor: self.actor });
        out.cancel_all_timers();
        out.send(self.coordinator(), Msg::LeaveGroup { member: self.me() });
        self.phase = Phase::Left;
        self.assignment.clear();
        self.positions.clear();
        self.batch.clear();
    }
}
