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
use crate::model::cluster::BrokerControl;
use crate::model::io::{class, Control, Endpoint, Timer, TimerKey};
use crate::scenario::{Fault, FaultAction, MessageKind, MessageRule, SeekTo, Target};
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
    /// Every broker went down (`up: false`) or came back: the group coordinators, which
    /// live on the brokers, stop and resume.
    Brokers {
        up: bool,
    },
    /// The brokers refuse these clients' connections until `until`: each fails what it
    /// has in flight and fails fast on every attempt meanwhile.
    Refuse {
        endpoints: Vec<Endpoint>,
        until: Time,
    },
    /// A window of a `messages:` fault opens (`on`) or closes (`index`: the fault's).
    Messages {
        index: usize,
        kind: MessageKind,
        rule: MessageRule,
        on: bool,
    },
    /// One broker crashes, shuts down cleanly, or restarts.
    Broker {
        broker: u32,
        control: BrokerControl,
    },
    /// A topic's partition count grows to `partitions`.
    AddPartitions {
        topic: usize,
        partitions: u32,
    },
    /// Every member of `group` seeks (`topic`'s partitions, or just `partition` of it).
    Seek {
        group: usize,
        to: SeekTo,
        topic: Option<usize>,
        partition: Option<u32>,
    },
    /// A client or group learns that `topic` has `partitions` (its metadata refresh).
    LearnPartitions {
        who: crate::scenario::Learner,
        topic: usize,
        partitions: u32,
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
    /// Per outage subject: how many of its windows are open, and when the last of them
    /// ends. Overlapping windows are one outage: it starts with the first and ends with
    /// the last, and the timeline says so.
    open: BTreeMap<Outage, (u32, Time)>,
    /// How many brokers the cluster has, for `isolate_broker`'s link rules.
    brokers: u32,
    /// Restarts waiting for their target to go down (`RestartAfterDown`, from chaos
    /// draws): the target and the ms from its going down to its restart, in the order the
    /// faults fired.
    restarts: Vec<(Target, u64)>,
}

const END: TimerKey = 1 << 32;

/// The link rules of a Kafka outage: produce requests are dropped; consumers' requests
/// to the brokers and the coordinators wait.
/// The outage a `messages:` window traces as.
fn outage_of(kind: MessageKind, rule: MessageRule) -> Outage {
    Outage::Messages {
        kind,
        delay_ms: match rule {
            MessageRule::Drop => None,
            MessageRule::Delay(ms) => Some(ms),
        },
    }
}

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
    /// The injector of `faults` on a cluster of `brokers` brokers; `isolations` names who
    /// each `isolate` fault (by index) cuts off.
    pub fn new(
        faults: Vec<Fault>,
        isolations: BTreeMap<usize, Isolation>,
        brokers: u32,
    ) -> FaultInjector {
        FaultInjector {
            faults,
            isolations,
            holds: BTreeMap::new(),
            open: BTreeMap::new(),
            brokers,
            restarts: Vec::new(),
        }
    }

    /// `target` went down (a crash, or a broker's crash or shutdown): the first restart
    /// waiting for it is scheduled, `after_ms` from now, as a new `Restart` fault.
    pub fn went_down(&mut self, target: Target, out: &mut crate::model::io::Out) {
        let Some(i) = self.restarts.iter().position(|r| r.0 == target) else {
            return;
        };
        let (_, after_ms) = self.restarts.remove(i);
        let at = out.now.after(after_ms);
        let index = self.faults.len();
        self.faults.push(Fault {
            at_ms: at.ms(),
            action: FaultAction::Restart(target),
        });
        out.set_timer_at(
            index as TimerKey,
            at,
            Timer::Fault {
                index: index as u32,
            },
        );
    }

    /// Whether any fault waits for a target to go down: the driver tells `went_down`
    /// only then.
    pub fn restarts_after_down(&self) -> bool {
        self.faults
            .iter()
            .any(|f| matches!(f.action, FaultAction::RestartAfterDown { .. }))
    }

    /// The link rules between `broker` and every other broker, now that it is cut off
    /// (`cut`) or back: a path crosses the cut when exactly one of its ends is cut off,
    /// and is partitioned both ways; the rest have no rule.
    fn broker_links(&self, broker: u32, cut: bool, cmds: &mut Vec<FaultCommand>) {
        for other in (0..self.brokers).filter(|&x| x != broker) {
            let crosses = cut != self.open.contains_key(&Outage::BrokerCut(other));
            let state = crosses.then_some(LinkState::Partitioned);
            let (a, b) = (Endpoint::Broker(broker), Endpoint::Broker(other));
            for (from, to) in [(a, b), (b, a)] {
                cmds.push(FaultCommand::Link {
                    from: Side::One(from),
                    to: Side::One(to),
                    state,
                });
            }
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
                target: Target::Broker(broker),
                ..
            } => cmds.push(FaultCommand::Broker {
                broker,
                control: BrokerControl::Crash,
            }),
            FaultAction::Restart(Target::Broker(broker)) => cmds.push(FaultCommand::Broker {
                broker,
                control: BrokerControl::Restart,
            }),
            FaultAction::Messages { kind, rule, for_ms } => {
                let until = ends(out, for_ms);
                self.opened(outage_of(kind, rule), until, out);
                cmds.push(FaultCommand::Messages {
                    index: i,
                    kind,
                    rule,
                    on: true,
                });
            }
            FaultAction::IsolateBroker { broker, for_ms } => {
                let until = ends(out, for_ms);
                self.opened(Outage::BrokerCut(broker), until, out);
                if self.open[&Outage::BrokerCut(broker)].0 == 1 {
                    self.broker_links(broker, true, cmds);
                }
                cmds.push(FaultCommand::Broker {
                    broker,
                    control: BrokerControl::Cut,
                });
            }
            FaultAction::Shutdown(broker) => cmds.push(FaultCommand::Broker {
                broker,
                control: BrokerControl::Shutdown,
            }),
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
            FaultAction::AddPartitions { topic, partitions } => {
                cmds.push(FaultCommand::AddPartitions { topic, partitions })
            }
            FaultAction::RestartAfterDown { target, after_ms } => {
                self.restarts.push((target, after_ms))
            }
            FaultAction::LearnPartitions {
                who,
                topic,
                partitions,
            } => cmds.push(FaultCommand::LearnPartitions {
                who,
                topic,
                partitions,
            }),
            FaultAction::Seek {
                group,
                to,
                topic,
                partition,
            } => cmds.push(FaultCommand::Seek {
                group,
                to,
                topic,
                partition,
            }),
            FaultAction::Leave { group, index } => cmds.push(FaultCommand::Control {
                target: Target::Member { group, index },
                control: Control::Leave,
            }),
            FaultAction::CloseInterrupted { group, index } => cmds.push(FaultCommand::Control {
                target: Target::Member { group, index },
                control: Control::CloseInterrupted,
            }),
            FaultAction::Isolate {
                for_ms, refused, ..
            } => {
                let until = ends(out, for_ms);
                let iso = self.isolations[&i].clone();
                let until = self.opened(Outage::Isolated(iso.actor), until, out);
                if refused {
                    cmds.push(FaultCommand::Refuse {
                        endpoints: iso.endpoints.clone(),
                        until,
                    });
                }
                for e in iso.endpoints {
                    for (from, to, state) in isolation_rules(e) {
                        self.hold(from, to, state, cmds);
                    }
                }
            }
            FaultAction::KafkaOutage { for_ms } => {
                let until = ends(out, for_ms);
                self.opened(Outage::Kafka, until, out);
                for (from, to, state) in outage_rules() {
                    self.hold(from, to, state, cmds);
                }
                if self.open.get(&Outage::Kafka).is_some_and(|o| o.0 == 1) {
                    cmds.push(FaultCommand::Brokers { up: false });
                }
            }
            // The relay keeps the window itself (it checks it at each mark), so no end
            // timer: its own trace row says when the window closes.
            FaultAction::MarkFails {
                service,
                index,
                for_ms,
            } => cmds.push(FaultCommand::Control {
                target: Target::Relay { service, index },
                control: Control::MarkFails {
                    until: out.now.after(for_ms),
                },
            }),
            FaultAction::StoreOutage { group, for_ms } => {
                let until = ends(out, for_ms);
                let until = self.opened(Outage::Store(group as u16), until, out);
                cmds.push(FaultCommand::StoreOutage { group, until });
            }
        }
    }

    fn end(&mut self, i: usize, out: &mut crate::model::io::Out, cmds: &mut Vec<FaultCommand>) {
        match self.faults[i].action {
            FaultAction::IsolateBroker { broker, .. } => {
                self.closed(Outage::BrokerCut(broker), out);
                if !self.open.contains_key(&Outage::BrokerCut(broker)) {
                    self.broker_links(broker, false, cmds);
                    cmds.push(FaultCommand::Broker {
                        broker,
                        control: BrokerControl::Heal,
                    });
                }
            }
            FaultAction::Messages { kind, rule, .. } => {
                self.closed(outage_of(kind, rule), out);
                cmds.push(FaultCommand::Messages {
                    index: i,
                    kind,
                    rule,
                    on: false,
                })
            }
            FaultAction::Isolate { .. } => {
                let iso = self.isolations[&i].clone();
                self.closed(Outage::Isolated(iso.actor), out);
                for e in iso.endpoints {
                    for (from, to, _) in isolation_rules(e) {
                        self.release(from, to, cmds);
                    }
                }
            }
            FaultAction::KafkaOutage { .. } => {
                self.closed(Outage::Kafka, out);
                for (from, to, _) in outage_rules() {
                    self.release(from, to, cmds);
                }
                if !self.open.contains_key(&Outage::Kafka) {
                    // After the held requests are released, so theirs arrive first.
                    cmds.push(FaultCommand::Brokers { up: true });
                }
            }
            FaultAction::StoreOutage { group, .. } => self.closed(Outage::Store(group as u16), out),
            _ => unreachable!("only timed faults end"),
        }
    }

    /// A window of `what` opens, to end at `until`: traced with the end of the outage as a
    /// whole (the latest end of its open windows), which is returned.
    fn opened(&mut self, what: Outage, until: Time, out: &mut crate::model::io::Out) -> Time {
        let entry = self.open.entry(what).or_insert((0, until));
        entry.0 += 1;
        entry.1 = entry.1.max(until);
        let until = entry.1;
        out.trace(Kind::OutageStart { what, until });
        until
    }

    /// A window of `what` closes; the outage ends, and is traced as ended, with its last.
    fn closed(&mut self, what: Outage, out: &mut crate::model::io::Out) {
        let Some(entry) = self.open.get_mut(&what) else {
            unreachable!("{what:?} closes a window it never opened");
        };
        entry.0 -= 1;
        if entry.0 == 0 {
            self.open.remove(&what);
            out.trace(Kind::OutageEnd { what });
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::io::{Out, TimerOp};
    use crate::scenario::{Client, CrashPoint};

    type Rule = (Side<Endpoint>, Side<Endpoint>, Option<LinkState>);

    fn fault(at_ms: u64, action: FaultAction) -> Fault {
        Fault { at_ms, action }
    }

    /// The link commands in `cmds`, in order (the coordinators' `Brokers` commands aside).
    fn links(cmds: &[FaultCommand]) -> Vec<Rule> {
        cmds.iter()
            .filter(|c| !matches!(c, FaultCommand::Brokers { .. }))
            .map(|c| match c {
                FaultCommand::Link { from, to, state } => (*from, *to, *state),
                other => panic!("expected only link commands, got {other:?}"),
            })
            .collect()
    }

    /// The `Brokers` commands in `cmds`: `up` of each, in order.
    fn brokers(cmds: &[FaultCommand]) -> Vec<bool> {
        cmds.iter()
            .filter_map(|c| match c {
                FaultCommand::Brokers { up } => Some(*up),
                _ => None,
            })
            .collect()
    }

    /// Fires timer `timer` at `now`; returns the output buffer and the commands.
    fn fire(f: &mut FaultInjector, now: u64, timer: Timer) -> (Out, Vec<FaultCommand>) {
        let mut out = Out::at(Time(now));
        let mut cmds = Vec::new();
        f.on_timer(timer, &mut out, &mut cmds);
        (out, cmds)
    }

    fn isolate_rules(e: Endpoint, state: Option<LinkState>) -> Vec<Rule> {
        vec![
            (Side::One(e), Side::One(Endpoint::Cluster), state),
            (Side::One(Endpoint::Cluster), Side::One(e), state),
        ]
    }

    #[test]
    fn start_sets_one_timer_per_fault_at_its_time() {
        let faults = vec![
            fault(250, FaultAction::Restart(Target::Service(0))),
            fault(100, FaultAction::KafkaOutage { for_ms: 10 }),
        ];
        let mut f = FaultInjector::new(faults, BTreeMap::new(), 1);
        let mut out = Out::at(Time::ZERO);
        f.start(&mut out);
        let set: Vec<(TimerKey, Time, Timer)> = out
            .timers
            .iter()
            .map(|t| match *t {
                TimerOp::Set { key, at, timer } => (key, at, timer),
                other => panic!("start only sets timers, got {other:?}"),
            })
            .collect();
        assert_eq!(
            set,
            vec![
                (0, Time(250), Timer::Fault { index: 0 }),
                (1, Time(100), Timer::Fault { index: 1 }),
            ]
        );
        assert!(out.trace.is_empty());
    }

    #[test]
    fn a_crash_fault_commands_its_target_and_nothing_else() {
        let target = Target::Member { group: 0, index: 1 };
        let faults = vec![fault(
            100,
            FaultAction::Crash {
                target,
                point: Some(CrashPoint::BeforeProcess),
                on_record: Some(3),
            },
        )];
        let mut f = FaultInjector::new(faults, BTreeMap::new(), 1);
        let (out, cmds) = fire(&mut f, 100, Timer::Fault { index: 0 });
        assert_eq!(
            cmds,
            vec![FaultCommand::Control {
                target,
                control: Control::Crash {
                    point: Some(CrashPoint::BeforeProcess),
                    on_record: Some(3)
                }
            }]
        );
        assert!(out.trace.is_empty() && out.timers.is_empty());
    }

    #[test]
    fn a_leave_fault_tells_the_member_to_leave() {
        let faults = vec![fault(100, FaultAction::Leave { group: 1, index: 2 })];
        let mut f = FaultInjector::new(faults, BTreeMap::new(), 1);
        let (_, cmds) = fire(&mut f, 100, Timer::Fault { index: 0 });
        assert_eq!(
            cmds,
            vec![FaultCommand::Control {
                target: Target::Member { group: 1, index: 2 },
                control: Control::Leave
            }]
        );
    }

    #[test]
    fn a_kafka_outage_drops_produce_requests_and_holds_members_until_it_ends() {
        let faults = vec![fault(1_000, FaultAction::KafkaOutage { for_ms: 500 })];
        let mut f = FaultInjector::new(faults, BTreeMap::new(), 1);
        let (out, cmds) = fire(&mut f, 1_000, Timer::Fault { index: 0 });
        assert_eq!(
            out.trace,
            vec![Kind::OutageStart {
                what: Outage::Kafka,
                until: Time(1_500)
            }]
        );
        assert!(matches!(
            out.timers[..],
            [TimerOp::Set {
                at: Time(1_500),
                timer: Timer::FaultEnd { index: 0 },
                ..
            }]
        ));
        let client = Side::Class(class::CLIENT);
        let member = Side::Class(class::MEMBER);
        let cluster = Side::One(Endpoint::Cluster);
        let coordinators = Side::Class(class::COORDINATOR);
        assert_eq!(
            links(&cmds),
            vec![
                (client, cluster, Some(LinkState::Partitioned)),
                (member, cluster, Some(LinkState::Held)),
                (member, coordinators, Some(LinkState::Held)),
            ]
        );
        assert!(
            matches!(cmds.last(), Some(FaultCommand::Brokers { up: false })),
            "the coordinators stop with the brokers"
        );

        let (out, cmds) = fire(&mut f, 1_500, Timer::FaultEnd { index: 0 });
        assert!(
            matches!(cmds.last(), Some(FaultCommand::Brokers { up: true })),
            "the coordinators resume after the held requests are released"
        );
        assert_eq!(
            out.trace,
            vec![Kind::OutageEnd {
                what: Outage::Kafka,
            }]
        );
        assert!(out.timers.is_empty());
        assert_eq!(
            links(&cmds),
            vec![
                (client, cluster, None),
                (member, cluster, None),
                (member, coordinators, None),
            ]
        );
    }

    #[test]
    fn an_isolated_service_is_cut_off_with_its_relays_both_ways() {
        let faults = vec![fault(
            100,
            FaultAction::Isolate {
                client: Client::Service(0),
                for_ms: 300,
                refused: false,
            },
        )];
        let iso = Isolation {
            actor: ActorId(4),
            endpoints: vec![Endpoint::Client(1), Endpoint::Client(2)],
        };
        let mut f = FaultInjector::new(faults, BTreeMap::from([(0, iso)]), 1);
        let (out, cmds) = fire(&mut f, 100, Timer::Fault { index: 0 });
        assert_eq!(
            out.trace,
            vec![Kind::OutageStart {
                what: Outage::Isolated(ActorId(4)),
                until: Time(400)
            }]
        );
        let partitioned = Some(LinkState::Partitioned);
        let mut expected = isolate_rules(Endpoint::Client(1), partitioned);
        expected.extend(isolate_rules(Endpoint::Client(2), partitioned));
        assert_eq!(links(&cmds), expected);

        let (out, cmds) = fire(&mut f, 400, Timer::FaultEnd { index: 0 });
        assert_eq!(
            out.trace,
            vec![Kind::OutageEnd {
                what: Outage::Isolated(ActorId(4)),
            }]
        );
        let mut cleared = isolate_rules(Endpoint::Client(1), None);
        cleared.extend(isolate_rules(Endpoint::Client(2), None));
        assert_eq!(links(&cmds), cleared);
    }

    #[test]
    fn overlapping_isolations_of_one_client_clear_its_rules_only_when_the_second_ends() {
        let isolate = FaultAction::Isolate {
            client: Client::Producer(0),
            for_ms: 1_000,
            refused: false,
        };
        let faults = vec![fault(100, isolate.clone()), fault(600, isolate)];
        let iso = Isolation {
            actor: ActorId(2),
            endpoints: vec![Endpoint::Client(0)],
        };
        let isolations = BTreeMap::from([(0, iso.clone()), (1, iso)]);
        let mut f = FaultInjector::new(faults, isolations, 1);
        let partitioned = Some(LinkState::Partitioned);
        let (_, cmds) = fire(&mut f, 100, Timer::Fault { index: 0 });
        assert_eq!(
            links(&cmds),
            isolate_rules(Endpoint::Client(0), partitioned)
        );
        let (_, cmds) = fire(&mut f, 600, Timer::Fault { index: 1 });
        assert_eq!(
            links(&cmds),
            isolate_rules(Endpoint::Client(0), partitioned)
        );

        let (_, cmds) = fire(&mut f, 1_100, Timer::FaultEnd { index: 0 });
        assert!(
            cmds.is_empty(),
            "the second isolation still holds: {cmds:?}"
        );
        let (_, cmds) = fire(&mut f, 1_600, Timer::FaultEnd { index: 1 });
        assert_eq!(links(&cmds), isolate_rules(Endpoint::Client(0), None));
    }

    #[test]
    fn a_store_outage_is_handed_to_the_driver_with_its_end() {
        let faults = vec![fault(
            200,
            FaultAction::StoreOutage {
                group: 1,
                for_ms: 50,
            },
        )];
        let mut f = FaultInjector::new(faults, BTreeMap::new(), 1);
        let (out, cmds) = fire(&mut f, 200, Timer::Fault { index: 0 });
        assert_eq!(
            cmds,
            vec![FaultCommand::StoreOutage {
                group: 1,
                until: Time(250)
            }]
        );
        assert_eq!(
            out.trace,
            vec![Kind::OutageStart {
                what: Outage::Store(1),
                until: Time(250)
            }]
        );
        let (out, cmds) = fire(&mut f, 250, Timer::FaultEnd { index: 0 });
        assert!(cmds.is_empty());
        assert_eq!(
            out.trace,
            vec![Kind::OutageEnd {
                what: Outage::Store(1),
            }]
        );
    }

    #[test]
    fn overlapping_kafka_outages_are_one_outage_that_ends_with_the_last_window() {
        let faults = vec![
            fault(100, FaultAction::KafkaOutage { for_ms: 200 }),
            fault(150, FaultAction::KafkaOutage { for_ms: 10 }),
        ];
        let mut f = FaultInjector::new(faults, BTreeMap::new(), 1);
        fire(&mut f, 100, Timer::Fault { index: 0 });
        let (out, _) = fire(&mut f, 150, Timer::Fault { index: 1 });
        // The nested window says when the outage as a whole ends.
        assert_eq!(
            out.trace,
            vec![Kind::OutageStart {
                what: Outage::Kafka,
                until: Time(300)
            }]
        );
        let (out, cmds) = fire(&mut f, 160, Timer::FaultEnd { index: 1 });
        assert!(
            out.trace.is_empty(),
            "no 'recovered' while the first window is open"
        );
        assert!(
            links(&cmds).is_empty() && brokers(&cmds).is_empty(),
            "the rules stay, and the brokers stay down, while a window holds them"
        );
        let (out, cmds) = fire(&mut f, 300, Timer::FaultEnd { index: 0 });
        assert_eq!(
            out.trace,
            vec![Kind::OutageEnd {
                what: Outage::Kafka
            }]
        );
        assert_eq!(brokers(&cmds), vec![true], "the brokers come back once");
        assert_eq!(links(&cmds).len(), 3, "every outage rule is cleared");
    }

    #[test]
    fn a_store_outage_inside_another_does_not_shorten_it() {
        let faults = vec![
            fault(
                100,
                FaultAction::StoreOutage {
                    group: 0,
                    for_ms: 200,
                },
            ),
            fault(
                150,
                FaultAction::StoreOutage {
                    group: 0,
                    for_ms: 10,
                },
            ),
        ];
        let mut f = FaultInjector::new(faults, BTreeMap::new(), 1);
        fire(&mut f, 100, Timer::Fault { index: 0 });
        let (_, cmds) = fire(&mut f, 150, Timer::Fault { index: 1 });
        assert_eq!(
            cmds,
            vec![FaultCommand::StoreOutage {
                group: 0,
                until: Time(300)
            }]
        );
        let (out, _) = fire(&mut f, 160, Timer::FaultEnd { index: 1 });
        assert!(
            out.trace.is_empty(),
            "no 'store-up' while the first window is open"
        );
        let (out, _) = fire(&mut f, 300, Timer::FaultEnd { index: 0 });
        assert_eq!(
            out.trace,
            vec![Kind::OutageEnd {
                what: Outage::Store(0)
            }]
        );
    }

    #[test]
    fn cut_off_brokers_reach_each_other_and_nothing_across_the_cut() {
        let cut = |broker| FaultAction::IsolateBroker {
            broker,
            for_ms: 100,
        };
        let faults = vec![fault(10, cut(0)), fault(20, cut(1))];
        let mut f = FaultInjector::new(faults, BTreeMap::new(), 3);
        let pair = |a: u32, b: u32, state| {
            vec![
                (
                    Side::One(Endpoint::Broker(a)),
                    Side::One(Endpoint::Broker(b)),
                    state,
                ),
                (
                    Side::One(Endpoint::Broker(b)),
                    Side::One(Endpoint::Broker(a)),
                    state,
                ),
            ]
        };
        let links_of = |cmds: &[FaultCommand]| -> Vec<Rule> {
            cmds.iter()
                .filter_map(|c| match c {
                    FaultCommand::Link { from, to, state } => Some((*from, *to, *state)),
                    _ => None,
                })
                .collect()
        };
        let p = Some(LinkState::Partitioned);
        let (_, cmds) = fire(&mut f, 10, Timer::Fault { index: 0 });
        assert_eq!(links_of(&cmds), [pair(0, 1, p), pair(0, 2, p)].concat());
        // broker-1 joins broker-0's side: 0-1 heals, 1-2 is cut.
        let (_, cmds) = fire(&mut f, 20, Timer::Fault { index: 1 });
        assert_eq!(links_of(&cmds), [pair(1, 0, None), pair(1, 2, p)].concat());
        // broker-0 comes back: now 0-1 crosses the cut, 0-2 does not.
        let (_, cmds) = fire(&mut f, 110, Timer::FaultEnd { index: 0 });
        assert_eq!(links_of(&cmds), [pair(0, 1, p), pair(0, 2, None)].concat());
        let (_, cmds) = fire(&mut f, 120, Timer::FaultEnd { index: 1 });
        assert_eq!(
            links_of(&cmds),
            [pair(1, 0, None), pair(1, 2, None)].concat()
        );
    }
}
