//! A consumer group member: the poll loop, the record handler with its named crash points,
//! offset commits (auto and manual), and the idempotency check.
//!
//! The handler's steps for each record, each boundary a crash point:
//! `before-process` → check the processed-id store → apply the effect →
//! `after-effect-before-mark` → mark the id → `after-mark-before-commit` /
//! `after-process-before-commit` → commit (per `processing.commit`) → `after-commit`.
//! Positions advance when a poll returns records, as Kafka's do; auto-commit commits the
//! positions at the start of a later poll once `auto.commit.interval.ms` has elapsed.

use crate::engine::{Ctx, Link};
use crate::model::{Armed, Ev};
use crate::scenario::{
    CommitMode, CrashPoint, GroupSpec, OffsetReset, StoreKind, StoreUnavailable,
};
use crate::trace::{ActorId, EventIx, Kind, PartId};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Crashed, or not started yet.
    Down,
    /// Left the group cleanly; never comes back.
    Left,
    Joining,
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

/// The processed-eventId store of a group: Redis-like (external) or a table in the
/// consumer's own database (same-transaction). Shared by all members of the group.
pub struct Store {
    pub kind: StoreKind,
    pub ttl_ms: Option<u64>,
    pub on_unavailable: StoreUnavailable,
    pub down_until: u64,
    processed: BTreeMap<EventIx, u64>,
}

impl Store {
    pub fn new(kind: StoreKind, ttl_ms: Option<u64>, on_unavailable: StoreUnavailable) -> Store {
        Store {
            kind,
            ttl_ms,
            on_unavailable,
            down_until: 0,
            processed: BTreeMap::new(),
        }
    }

    fn seen(&self, event: EventIx, now: u64) -> bool {
        self.processed.get(&event).is_some_and(|&exp| now < exp)
    }

    fn mark(&mut self, event: EventIx, now: u64) -> u64 {
        let expires = self.ttl_ms.map_or(u64::MAX, |t| now.saturating_add(t));
        self.processed.insert(event, expires);
        expires
    }
}

pub struct Member {
    pub slot: u32,
    pub group: u16,
    pub actor: ActorId,
    pub incarnation: u32,
    pub phase: Phase,
    pub link_out: Link,
    pub link_in: Link,
    pub generation: u32,
    pub assignment: Vec<PartId>,
    /// Next offset to fetch, per assigned partition.
    pub positions: Vec<(PartId, u64)>,
    /// The records the last poll returned (filled by the broker side of the fetch).
    pub batch: Vec<(PartId, u64, EventIx)>,
    pub cursor: usize,
    pub rejoin: bool,
    pub last_auto_commit: u64,
    pub armed: Option<Armed>,
    pub fetch_epoch: u32,
    pending_commits: u32,
    seen: bool,
    // Configuration, copied from the group.
    time_ms: u64,
    commit: CommitMode,
    auto_commit: bool,
    auto_commit_interval_ms: u64,
    reset: OffsetReset,
    pub max_poll_records: u64,
}

impl Member {
    pub fn new(ctx: &mut Ctx, slot: u32, group: u16, actor: ActorId, spec: &GroupSpec) -> Member {
        Member {
            slot,
            group,
            actor,
            incarnation: 0,
            phase: Phase::Down,
            link_out: ctx.new_link(),
            link_in: ctx.new_link(),
            generation: 0,
            assignment: Vec::new(),
            positions: Vec::new(),
            batch: Vec::new(),
            cursor: 0,
            rejoin: false,
            last_auto_commit: 0,
            armed: None,
            fetch_epoch: 0,
            pending_commits: 0,
            seen: false,
            time_ms: spec.processing.time_ms,
            commit: spec.processing.commit,
            auto_commit: spec.config.enable_auto_commit,
            auto_commit_interval_ms: spec.config.auto_commit_interval_ms,
            reset: spec.config.auto_offset_reset,
            max_poll_records: spec.config.max_poll_records,
        }
    }

    fn ev_join(&self) -> Ev {
        Ev::JoinArrive {
            slot: self.slot,
            incarnation: self.incarnation,
        }
    }

    /// Start (or restart) this member: a new incarnation joins the group.
    pub fn start(&mut self, ctx: &mut Ctx) {
        self.incarnation += 1;
        self.phase = Phase::Joining;
        self.rejoin = false;
        self.last_auto_commit = ctx.now();
        ctx.send(self.link_out, self.ev_join());
    }

    /// The top of the poll loop: rejoin if asked, auto-commit if due, then fetch.
    pub fn poll(&mut self, ctx: &mut Ctx) {
        if self.rejoin {
            self.rejoin = false;
            if self.auto_commit {
                // onJoinPrepare: commit what was consumed before revoking.
                self.commit_positions(ctx, true, false);
            }
            ctx.trace(Kind::Revoke { actor: self.actor });
            self.assignment.clear();
            self.positions.clear();
            self.phase = Phase::Joining;
            ctx.send(self.link_out, self.ev_join());
            return;
        }
        if self.auto_commit && ctx.now() - self.last_auto_commit >= self.auto_commit_interval_ms {
            self.last_auto_commit = ctx.now();
            self.commit_positions(ctx, true, false);
        }
        if self.assignment.is_empty() {
            self.phase = Phase::Idle;
            return;
        }
        self.phase = Phase::Fetching;
        self.fetch_epoch += 1;
        ctx.send(
            self.link_out,
            Ev::FetchArrive {
                slot: self.slot,
                incarnation: self.incarnation,
                epoch: self.fetch_epoch,
            },
        );
    }

    /// SyncGroup's answer: take the share and resume each partition at its committed
    /// offset, or per auto.offset.reset when the group never committed one.
    pub fn on_sync(
        &mut self,
        ctx: &mut Ctx,
        generation: u32,
        share: &[PartId],
        committed: &[Option<u64>],
        end_offsets: impl Fn(PartId) -> u64,
    ) {
        self.generation = generation;
        self.assignment.clear();
        self.assignment.extend_from_slice(share);
        self.positions.clear();
        for &part in share {
            let offset = match committed[part as usize] {
                Some(o) => {
                    ctx.trace(Kind::Resume {
                        actor: self.actor,
                        part,
                        offset: o,
                    });
                    o
                }
                None => {
                    let o = match self.reset {
                        OffsetReset::Earliest => 0,
                        OffsetReset::Latest => end_offsets(part),
                    };
                    ctx.trace(Kind::OffsetReset {
                        actor: self.actor,
                        part,
                        offset: o,
                    });
                    o
                }
            };
            self.positions.push((part, offset));
        }
        self.poll(ctx);
    }

    /// The poll returned `batch`: positions advance, then the handler starts.
    pub fn on_fetch_reply(&mut self, ctx: &mut Ctx) -> bool {
        if self.batch.is_empty() {
            self.poll(ctx);
            return false;
        }
        for &(part, offset, event) in &self.batch {
            ctx.trace(Kind::Deliver {
                actor: self.actor,
                part,
                offset,
                event,
            });
            if let Some(p) = self.positions.iter_mut().find(|(p, _)| *p == part) {
                p.1 = offset + 1;
            }
        }
        self.cursor = 0;
        if self.commit == CommitMode::BeforeProcessing {
            self.commit_positions(ctx, false, true);
            self.phase = Phase::Committing(Then::StartRecords);
            return false;
        }
        self.start_record(ctx)
    }

    /// True when the member crashed at a point (the driver then expires its session).
    fn crash_at(&mut self, ctx: &mut Ctx, point: CrashPoint) -> bool {
        if !self.armed.is_some_and(|a| a.fires_at(point)) {
            return false;
        }
        self.crash(ctx, Some(point));
        true
    }

    pub fn crash(&mut self, ctx: &mut Ctx, point: Option<CrashPoint>) {
        ctx.trace(Kind::Crash {
            actor: self.actor,
            point,
        });
        self.phase = Phase::Down;
        self.armed = None;
        self.batch.clear();
        self.assignment.clear();
        self.positions.clear();
        self.pending_commits = 0;
    }

    /// Begin handling `batch[cursor]`. Returns true if the member crashed.
    pub fn start_record(&mut self, ctx: &mut Ctx) -> bool {
        if self.cursor >= self.batch.len() {
            return self.end_batch(ctx);
        }
        if let Some(a) = self.armed.as_mut() {
            a.count();
        }
        if self.crash_at(ctx, CrashPoint::BeforeProcess) {
            return true;
        }
        self.phase = Phase::Processing;
        ctx.timer(
            0,
            Ev::CheckStore {
                slot: self.slot,
                incarnation: self.incarnation,
            },
        );
        false
    }

    /// Step one of the handler: ask the processed-id store whether this eventId is done.
    pub fn check_store(&mut self, ctx: &mut Ctx, store: Option<&Store>) {
        let (_, _, event) = self.batch[self.cursor];
        self.seen = false;
        if let Some(store) = store {
            if store.kind == StoreKind::External && ctx.now() < store.down_until {
                ctx.trace(Kind::StoreUnavailable {
                    actor: self.actor,
                    event,
                });
                if store.on_unavailable == StoreUnavailable::Retry {
                    ctx.timer(
                        100,
                        Ev::CheckStore {
                            slot: self.slot,
                            incarnation: self.incarnation,
                        },
                    );
                    return;
                }
            } else {
                self.seen = store.seen(event, ctx.now());
            }
        }
        ctx.timer(
            self.time_ms,
            Ev::ProcessDone {
                slot: self.slot,
                incarnation: self.incarnation,
            },
        );
    }

    /// The handler finished its work on the record: apply or skip, mark, maybe commit.
    /// Returns true if the member crashed.
    pub fn on_process_done(&mut self, ctx: &mut Ctx, store: Option<&mut Store>) -> bool {
        let (part, offset, event) = self.batch[self.cursor];
        let actor = self.actor;
        if self.seen {
            ctx.trace(Kind::Absorbed {
                actor,
                part,
                offset,
                event,
            });
        } else {
            ctx.trace(Kind::Effect {
                actor,
                part,
                offset,
                event,
            });
            if let Some(store) = store {
                if store.kind == StoreKind::External {
                    if self.crash_at(ctx, CrashPoint::AfterEffectBeforeMark) {
                        return true;
                    }
                    if ctx.now() < store.down_until {
                        // The mark cannot be written: the id stays unmarked.
                        ctx.trace(Kind::StoreUnavailable { actor, event });
                    } else {
                        let expires_at = store.mark(event, ctx.now());
                        ctx.trace(Kind::Mark {
                            actor,
                            event,
                            expires_at,
                        });
                    }
                    if self.crash_at(ctx, CrashPoint::AfterMarkBeforeCommit) {
                        return true;
                    }
                } else {
                    // Same database transaction as the effect: atomic, no crash between.
                    let expires_at = store.mark(event, ctx.now());
                    ctx.trace(Kind::Mark {
                        actor,
                        event,
                        expires_at,
                    });
                }
            }
        }
        if self.crash_at(ctx, CrashPoint::AfterProcessBeforeCommit) {
            return true;
        }
        if self.commit == CommitMode::AfterEachRecord {
            self.send_commit(ctx, part, offset + 1, false, true);
            self.phase = Phase::Committing(Then::NextRecord);
            return false;
        }
        self.cursor += 1;
        self.start_record(ctx)
    }

    fn end_batch(&mut self, ctx: &mut Ctx) -> bool {
        self.batch.clear();
        self.cursor = 0;
        if self.commit == CommitMode::AfterBatch {
            self.commit_positions(ctx, false, true);
            self.phase = Phase::Committing(Then::Poll);
            return false;
        }
        self.poll(ctx);
        false
    }

    fn commit_positions(&mut self, ctx: &mut Ctx, auto: bool, sync: bool) {
        for i in 0..self.positions.len() {
            let (part, offset) = self.positions[i];
            self.send_commit(ctx, part, offset, auto, sync);
        }
        if sync && self.positions.is_empty() {
            // Nothing to commit: answer ourselves so the loop goes on.
            self.pending_commits += 1;
            ctx.timer(
                0,
                Ev::CommitReply {
                    slot: self.slot,
                    incarnation: self.incarnation,
                    sync: true,
                },
            );
        }
    }

    fn send_commit(&mut self, ctx: &mut Ctx, part: PartId, offset: u64, auto: bool, sync: bool) {
        ctx.trace(Kind::CommitSent {
            actor: self.actor,
            part,
            offset,
            auto,
        });
        if sync {
            self.pending_commits += 1;
        }
        ctx.send(
            self.link_out,
            Ev::CommitArrive {
                slot: self.slot,
                incarnation: self.incarnation,
                generation: self.generation,
                part,
                offset,
                sync,
            },
        );
    }

    /// A sync commit's answer. When the last one is in, the handler goes on.
    pub fn on_commit_reply(&mut self, ctx: &mut Ctx) -> bool {
        self.pending_commits = self.pending_commits.saturating_sub(1);
        let Phase::Committing(then) = self.phase else {
            return false;
        };
        if self.pending_commits > 0 {
            return false;
        }
        if self.crash_at(ctx, CrashPoint::AfterCommit) {
            return true;
        }
        match then {
            Then::StartRecords => self.start_record(ctx),
            Then::NextRecord => {
                self.cursor += 1;
                self.start_record(ctx)
            }
            Then::Poll => {
                self.poll(ctx);
                false
            }
        }
    }

    /// close(): commit what was consumed (with auto-commit), then LeaveGroup.
    pub fn leave(&mut self, ctx: &mut Ctx) {
        if self.auto_commit {
            self.commit_positions(ctx, true, false);
        }
        ctx.trace(Kind::Leave { actor: self.actor });
        ctx.send(
            self.link_out,
            Ev::LeaveArrive {
                slot: self.slot,
                incarnation: self.incarnation,
            },
        );
        self.phase = Phase::Left;
        self.assignment.clear();
        self.positions.clear();
        self.batch.clear();
    }
}
