//! The fault injector: the scenario's `faults:` schedule as a component.
//!
//! Inputs: its own `Fault` and `FaultEnd` timers. Outputs: `FaultCommand`s for the driver
//! to carry out (a `Control` for a process, new members, a link rule on the network, a
//! store outage) and the outage trace records. Isolation and Kafka outages are link-state
//! rules (turmoil's verbs): isolation partitions a client from the cluster both ways; a
//! Kafka outage drops produce requests (the producer times out and retries) and holds
//! consumers' requests until the brokers are back. What does not live here: what a crash
//! or restart does to a process (each component's `on_control`).

use crate::engine::{LinkState, Side, Time};
use crate::model::io::{class, Control, Endpoint, Timer, TimerKey};
use crate::scenario::{Fault, FaultAction, Target};
use crate::trace::{ActorId, Kind, Outage};
use std::collections::BTreeMap;

/// What a fault asks the driver to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultCommand {
    Control {
        target: Target,
        control: Control,
    },
    Join {
        group: usize,
        members: u32,
    },
    /// Set (`Some`) or clear (`None`) a link rule.
    Link {
        from: Side<Endpoint>,
        to: Side<Endpoint>,
        state: Option<LinkState>,
    },
    StoreOutage {
        group: usize,
        until: Time,
    },
}

/// Who a client-isolation fault cuts off: the actor named in the trace and its endpoints
/// (a service's client and its relays' clients).
#[derive(Clone, Debug)]
pub struct Isolation {
    pub actor: ActorId,
    pub endpoints: Vec<Endpoint>,
}

pub struct FaultInjector {
    faults: Vec<Fault>,
    /// By fault index, for `isolate` faults.
    isolations: BTreeMap<usize, Isolation>,
    /// How many active faults hold each link rule, so overlapping windows end together.
    holds: BTreeMap<(Side<Endpoint>, Side<Endpoint>), u32>,
}

const END: TimerKey = 1 << 32;

/// The link rules of a Kafka outage: produce requests are dropped; consumers' requests
/// to the brokers and the coordinators wait.
fn outage_rules() -> [(Side<Endpoint>, Side<Endpoint>, LinkState); 3] {
    [
        (
            Side::Class(class::CLIENT),
            Side::One(Endpoint::Cluster),
            LinkState::Partitioned,
        ),
        (
            Side::Class(class::MEMBER),
            Side::One(Endpoint::Cluster),
            LinkState::Held,
        ),
        (
            Side::Class(class::MEMBER),
            Side::Class(class::COORDINATOR),
            LinkState::Held,
        ),
    ]
}

fn isolation_rules(e: Endpoint) -> [(Side<Endpoint>, Side<Endpoint>, LinkState); 2] {
    [
        (
            Side::One(e),
            Side::One(Endpoint::Cluster),
            LinkState::Partitioned,
        ),
        (
            Side::One(Endpoint::Cluster),
            Side::One(e),
            LinkState::Partitioned,
        ),
    ]
}

impl FaultInjector {
    pub fn new(faults: Vec<Fault>, isolations: BTreeMap<usize, Isolation>) -> FaultInjector {
        FaultInjector {
            faults,
            isolations,
            holds: BTreeMap::new(),
        }
    }

    pub fn start(&mut self, out: &mut crate::model::io::Out) {
        for (i, f) in self.faults.iter().enumerate() {
            out.set_timer_at(
                i as TimerKey,
                Time(f.at_ms),
                Timer::Fault { index: i as u32 },
            );
        }
    }

    pub fn on_timer(
        &mut self,
        timer: Timer,
        out: &mut crate::model::io::Out,
        cmds: &mut Vec<FaultCommand>,
    ) {
        match timer {
            Timer::Fault { index } => self.fire(index as usize, out, cmds),
            Timer::FaultEnd { index } => self.end(index as usize, out, cmds),
            other => unreachable!("the fault injector sets no {other:?} timer"),
        }
    }

    fn fire(&mut self, i: usize, out: &mut crate::model::io::Out, cmds: &mut Vec<FaultCommand>) {
        let action = self.faults[i].action.clone();
        let ends = |out: &mut crate::model::io::Out, for_ms: u64| {
            let until = out.now.after(for_ms);
            out.set_timer_at(
                END + i as TimerKey,
                until,
                Timer::FaultEnd { index: i as u32 },
            );
            until
        };
        match action {
            FaultAction::Crash {
                target,
                point,
                on_record,
            } => cmds.push(FaultCommand::Control {
                target,
                control: Control::Crash { point, on_record },
            }),
            FaultAction::Restart(target) => cmds.push(FaultCommand::Control {
                target,
                control: Control::Restart,
            }),
            FaultAction::Join { group, members } => {
                cmds.push(FaultCommand::Join { group, members })
            }
            FaultAction::Leave { group, index } => cmds.push(FaultCommand::Control {
                target: Target::Member { group, index },
                control: Control::Leave,
            }),
            FaultAction::Isolate { for_ms, .. } => {
                let until = ends(out, for_ms);
                let iso = self.isolations[&i].clone();
                out.trace(Kind::OutageStart {
                    what: Outage::Isolated,
                    actor: iso.actor,
                    until,
                });
                for e in iso.endpoints {
                    for (from, to, state) in isolation_rules(e) {
                        self.hold(from, to, state, cmds);
                    }
                }
            }
            FaultAction::KafkaOutage { for_ms } => {
                let until = ends(out, for_ms);
                out.trace(Kind::OutageStart {
                    what: Outage::Kafka,
                    actor: u32::MAX,
                    until,
                });
                for (from, to, state) in outage_rules() {
                    self.hold(from, to, state, cmds);
                }
            }
            FaultAction::StoreOutage { group, for_ms } => {
                let until = ends(out, for_ms);
                out.trace(Kind::OutageStart {
                    what: Outage::Store,
                    actor: group as u32,
                    until,
                });
                cmds.push(FaultCommand::StoreOutage { group, until });
            }
        }
    }

    fn end(&mut self, i: usize, out: &mut crate::model::io::Out, cmds: &mut Vec<FaultCommand>) {
        match self.faults[i].action {
            FaultAction::Isolate { .. } => {
                let iso = self.isolations[&i].clone();
                out.trace(Kind::OutageEnd {
                    what: Outage::Isolated,
                    actor: iso.actor,
                });
                for e in iso.endpoints {
                    for (from, to, _) in isolation_rules(e) {
                        self.release(from, to, cmds);
                    }
                }
            }
            FaultAction::KafkaOutage { .. } => {
                out.trace(Kind::OutageEnd {
                    what: Outage::Kafka,
                    actor: u32::MAX,
                });
                for (from, to, _) in outage_rules() {
                    self.release(from, to, cmds);
                }
            }
            FaultAction::StoreOutage { group, .. } => out.trace(Kind::OutageEnd {
                what: Outage::Store,
                actor: group as u32,
            }),
            _ => unreachable!("only timed faults end"),
        }
    }

    fn hold(
        &mut self,
        from: Side<Endpoint>,
        to: Side<Endpoint>,
        state: LinkState,
        cmds: &mut Vec<FaultCommand>,
    ) {
        *self.holds.entry((from, to)).or_default() += 1;
        cmds.push(FaultCommand::Link {
            from,
            to,
            state: Some(state),
        });
    }

    fn release(&mut self, from: Side<Endpoint>, to: Side<Endpoint>, cmds: &mut Vec<FaultCommand>) {
        let n = self.holds.entry((from, to)).or_default();
        *n = n.saturating_sub(1);
        if *n == 0 {
            self.holds.remove(&(from, to));
            cmds.push(FaultCommand::Link {
                from,
                to,
                state: None,
            });
        }
    }
}
