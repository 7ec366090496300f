//! One seed's chaos: the `chaos.faults` templates of a scenario drawn into concrete
//! faults, the kinds `faults:` already has, so the model runs them as it runs any fault and
//! every drawn fault can be shown (README §1.11).
//!
//! A pure function of the scenario and the seed: each template draws from its own stream
//! (`rng::CHAOS_FAULT_STREAMS | index`), in a fixed order, so editing one template never
//! changes what another draws. What is not here: `chaos.network`'s per-message jitter and
//! drops, drawn by the network as each message is sent (`engine::net`), and how a fault
//! acts (`model::faults`).

use crate::rng::{SimRng, CHAOS_FAULT_STREAMS};
use crate::scenario::{
    ChaosAction, ChaosFault, Client, Fault, FaultAction, Scenario, Span, Target,
};

/// One fault a seed drew from a chaos template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Drawn {
    /// The template it came from: its index in `chaos.faults`.
    pub template: usize,
    pub at_ms: u64,
    /// A `faults:` action: `Crash`, `Shutdown`, `IsolateBroker`, `Isolate`, `KafkaOutage`
    /// or `StoreOutage`.
    pub action: FaultAction,
    /// With a crash or a shutdown: the target restarts this many ms after it goes down.
    pub restart_after_ms: Option<u64>,
}

/// The faults `seed` draws from `sc`'s `chaos.faults`, in time order (templates in file
/// order at the same ms). Empty when the scenario has no chaos faults or no probability
/// came up. The draws of template `i`, from its stream, in this order: the probability
/// (one draw), `at_ms`, the target, the point, `on_record`, `for_ms`, `restart_after_ms`;
/// a field the template does not have, a list of one, or a range of one value draws
/// nothing.
pub fn draw(sc: &Scenario, seed: u64) -> Vec<Drawn> {
    let mut drawn: Vec<Drawn> = sc
        .chaos
        .faults
        .iter()
        .enumerate()
        .filter_map(|(i, t)| draw_one(t, i, seed))
        .collect();
    drawn.sort_by_key(|d| d.at_ms);
    drawn
}

fn draw_one(t: &ChaosFault, template: usize, seed: u64) -> Option<Drawn> {
    let mut rng = SimRng::substream(seed, CHAOS_FAULT_STREAMS | template as u64);
    if !rng.chance(t.probability.num, t.probability.den) {
        return None;
    }
    let at_ms = span(&mut rng, t.at_ms);
    let mut restart_after_ms = None;
    let action = match &t.action {
        ChaosAction::Crash {
            targets,
            points,
            on_record,
            restart_after_ms: restart,
        } => {
            let target = *pick(&mut rng, targets);
            let point = (!points.is_empty()).then(|| *pick(&mut rng, points));
            let on_record = on_record.map(|r| span(&mut rng, r));
            restart_after_ms = restart.map(|r| span(&mut rng, r));
            FaultAction::Crash {
                target,
                point,
                on_record,
            }
        }
        ChaosAction::Shutdown {
            brokers,
            restart_after_ms: restart,
        } => {
            let broker = *pick(&mut rng, brokers);
            restart_after_ms = restart.map(|r| span(&mut rng, r));
            FaultAction::Shutdown(broker)
        }
        ChaosAction::IsolateBroker { brokers, for_ms } => FaultAction::IsolateBroker {
            broker: *pick(&mut rng, brokers),
            for_ms: span(&mut rng, *for_ms),
        },
        ChaosAction::Isolate {
            clients,
            for_ms,
            refused,
        } => FaultAction::Isolate {
            client: *pick(&mut rng, clients),
            for_ms: span(&mut rng, *for_ms),
            refused: *refused,
        },
        ChaosAction::KafkaOutage { for_ms } => FaultAction::KafkaOutage {
            for_ms: span(&mut rng, *for_ms),
        },
        ChaosAction::StoreOutage { groups, for_ms } => FaultAction::StoreOutage {
            group: *pick(&mut rng, groups),
            for_ms: span(&mut rng, *for_ms),
        },
    };
    Some(Drawn {
        template,
        at_ms,
        action,
        restart_after_ms,
    })
}

fn span(rng: &mut SimRng, s: Span) -> u64 {
    rng.between(s.lo, s.hi)
}

/// One of `v` (never empty: validation refuses an empty list), uniformly.
fn pick<'a, T>(rng: &mut SimRng, v: &'a [T]) -> &'a T {
    &v[rng.between(0, v.len() as u64 - 1) as usize]
}

/// The draws as the fault injector's schedule: each drawn fault, preceded at the same ms
/// by a `RestartAfterDown` for its target when it has a `restart_after_ms`.
pub fn faults(drawn: &[Drawn]) -> Vec<Fault> {
    let mut out = Vec::with_capacity(drawn.len() * 2);
    for d in drawn {
        if let (Some(after_ms), Some(target)) = (d.restart_after_ms, down_target(&d.action)) {
            out.push(Fault {
                at_ms: d.at_ms,
                action: FaultAction::RestartAfterDown { target, after_ms },
            });
        }
        out.push(Fault {
            at_ms: d.at_ms,
            action: d.action.clone(),
        });
    }
    out
}

/// What a crash or a shutdown takes down.
fn down_target(a: &FaultAction) -> Option<Target> {
    match *a {
        FaultAction::Crash { target, .. } => Some(target),
        FaultAction::Shutdown(b) => Some(Target::Broker(b)),
        _ => None,
    }
}

/// One drawn fault in words, for the text report: `crash payment-service-2 at
/// after-process-before-commit on its 3rd record; it restarts 800 ms after it goes down`.
pub fn describe(sc: &Scenario, d: &Drawn) -> String {
    let mut s = match &d.action {
        FaultAction::Crash {
            target,
            point,
            on_record,
        } => {
            let mut s = format!("crash {}", sc.target_name(*target));
            match point {
                None => s.push_str(" at once"),
                Some(p) => {
                    s.push_str(" at ");
                    s.push_str(p.name());
                }
            }
            if let Some(n) = on_record {
                s.push_str(&format!(" on its {}", ordinal(*n, unit(*target))));
            }
            s
        }
        FaultAction::Shutdown(b) => format!("shut down broker-{} (controlled)", b + 1),
        FaultAction::IsolateBroker { broker, for_ms } => format!(
            "cut broker-{} off from the other brokers for {for_ms} ms",
            broker + 1
        ),
        FaultAction::Isolate {
            client,
            for_ms,
            refused,
        } => format!(
            "cut {} off from the brokers for {for_ms} ms{}",
            match client {
                Client::Producer(p) => &sc.producers[*p].name,
                Client::Service(s) => &sc.services[*s].name,
            },
            if *refused {
                " (connections refused)"
            } else {
                ""
            }
        ),
        FaultAction::KafkaOutage { for_ms } => format!("Kafka outage for {for_ms} ms"),
        FaultAction::StoreOutage { group, for_ms } => format!(
            "{}'s idempotency store down for {for_ms} ms",
            sc.groups[*group].name
        ),
        other => unreachable!("chaos draws no {other:?}"),
    };
    if let Some(ms) = d.restart_after_ms {
        s.push_str(&format!("; it restarts {ms} ms after it goes down"));
    }
    s
}

/// What `on_record` counts for a target (README §1.7).
fn unit(t: Target) -> &'static str {
    match t {
        Target::Member { .. } => "record",
        Target::Service(_) => "order",
        Target::Relay { .. } => "acknowledged batch",
        Target::Broker(_) => "unit",
    }
}

/// "1st record", "22nd order", "13th acknowledged batch".
fn ordinal(n: u64, unit: &str) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, r) if r != 11 => "st",
        (2, r) if r != 12 => "nd",
        (3, r) if r != 13 => "rd",
        _ => "th",
    };
    format!("{n}{suffix} {unit}")
}

/// The lines the text report prints under its banner for a scenario with a `chaos:`
/// section: what this seed drew (or that it drew nothing), and the network chaos.
pub fn report_lines(sc: &Scenario, seed: u64) -> Vec<String> {
    let mut lines = Vec::new();
    if !sc.chaos.faults.is_empty() {
        let drawn = draw(sc, seed);
        if drawn.is_empty() {
            lines.push(nothing_drawn(sc, seed));
        } else {
            lines.push(format!("chaos: seed {seed} drew"));
            for d in &drawn {
                lines.push(format!("  t={}ms  {}", d.at_ms, describe(sc, d)));
            }
        }
    }
    lines.extend(network_lines(sc));
    lines
}

/// `report_lines`, one sentence each, for the HTML page's notes.
pub fn notes(sc: &Scenario, seed: u64) -> Vec<String> {
    let mut notes = Vec::new();
    if !sc.chaos.faults.is_empty() {
        let drawn = draw(sc, seed);
        if drawn.is_empty() {
            notes.push(nothing_drawn(sc, seed));
        }
        for d in &drawn {
            notes.push(format!(
                "chaos: seed {seed} drew, at t={}ms: {}",
                d.at_ms,
                describe(sc, d)
            ));
        }
    }
    notes.extend(network_lines(sc));
    notes
}

fn nothing_drawn(sc: &Scenario, seed: u64) -> String {
    let n = sc.chaos.faults.len();
    format!(
        "chaos: seed {seed} drew no fault (none of the {n} chaos fault{} came up)",
        if n == 1 { "" } else { "s" }
    )
}

/// `chaos.network` in words, one line for jitter and one for drops.
fn network_lines(sc: &Scenario) -> Vec<String> {
    let n = &sc.chaos.network;
    let mut lines = Vec::new();
    if n.jitter_ms > 0 {
        lines.push(format!(
            "chaos: network jitter: every message up to {} ms late",
            n.jitter_ms
        ));
    }
    if !n.drop.is_empty() {
        let drops: Vec<String> = n
            .drop
            .iter()
            .map(|(kind, r)| format!("{} of {}", r.spelled(), kind.name()))
            .collect();
        lines.push(format!("chaos: network drops: {}", drops.join(", ")));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse;

    fn scenario(chaos: &str) -> Scenario {
        let text = format!(
            r#"
name: t
title: t
topics: [{{ name: orders, partitions: 2 }}]
producers: [{{ name: shop, topic: orders, send: {{ count: 20, every_ms: 10 }} }}]
consumer_groups:
  - {{ name: pay, topics: [orders], members: 2, config: {{ enable.auto.commit: false }}, processing: {{ commit: after-each-record }} }}
run: {{ until_ms: 5000 }}
chaos:
{chaos}
"#
        );
        parse(&text).unwrap_or_else(|e| panic!("{e:?}"))
    }

    const CRASH: &str = "  faults:\n    - { probability: PROB, at_ms: [10, 900], crash: [pay-1, pay-2], point: [before-process, after-process-before-commit], on_record: [1, 4], restart_after_ms: [100, 200] }";

    fn crash(prob: &str) -> Scenario {
        scenario(&CRASH.replace("PROB", prob))
    }

    #[test]
    fn the_same_seed_draws_the_same_faults() {
        let sc = crash("1/2");
        for seed in 0..50 {
            assert_eq!(draw(&sc, seed), draw(&sc, seed));
        }
        let differ = (0..50)
            .filter(|&s| draw(&sc, s) != draw(&sc, s + 1))
            .count();
        assert!(differ > 25, "seeds draw differently ({differ} of 50 pairs)");
    }

    #[test]
    fn probability_zero_never_draws_and_one_always_does() {
        let never = crash("0");
        let always = crash("1");
        for seed in 0..200 {
            assert!(draw(&never, seed).is_empty());
            let d = draw(&always, seed);
            assert_eq!(d.len(), 1);
            let FaultAction::Crash {
                point: Some(_),
                on_record: Some(n),
                ..
            } = d[0].action
            else {
                panic!("a crash at a point: {:?}", d[0]);
            };
            assert!((10..=900).contains(&d[0].at_ms));
            assert!((1..=4).contains(&n));
            assert!(d[0]
                .restart_after_ms
                .is_some_and(|r| (100..=200).contains(&r)));
        }
    }

    /// A fixed set of seeds, so not flaky: 1/4 of 2000 is 500, and a binomial's standard
    /// deviation there is about 19; the bound is more than five of them.
    #[test]
    fn a_quarter_probability_strikes_about_a_quarter_of_the_seeds() {
        let sc = crash("1/4");
        let hits = (0..2000).filter(|&s| !draw(&sc, s).is_empty()).count();
        assert!((400..=600).contains(&hits), "{hits} of 2000");
    }

    #[test]
    fn every_choice_of_target_and_point_comes_up() {
        let sc = crash("1");
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..200 {
            if let FaultAction::Crash { target, point, .. } = draw(&sc, seed)[0].action {
                seen.insert((format!("{target:?}"), point.map(|p| p.name())));
            }
        }
        assert_eq!(seen.len(), 4, "2 targets x 2 points: {seen:?}");
    }

    #[test]
    fn editing_one_template_leaves_the_others_draws_alone() {
        let two = |p: &str| {
            scenario(&format!(
                "  faults:\n    - {{ probability: {p}, at_ms: [0, 4000], kafka_outage: true, for_ms: [10, 500] }}\n    - {{ probability: 1/2, at_ms: [0, 4000], crash: pay-2 }}"
            ))
        };
        let (a, b) = (two("1/3"), two("7/8"));
        for seed in 0..100 {
            let second = |sc: &Scenario| -> Vec<Drawn> {
                draw(sc, seed)
                    .into_iter()
                    .filter(|d| d.template == 1)
                    .collect()
            };
            assert_eq!(second(&a), second(&b));
        }
    }

    #[test]
    fn a_restart_is_scheduled_as_a_restart_after_down_before_its_crash() {
        let sc = crash("1");
        let d = draw(&sc, 7);
        let f = faults(&d);
        assert_eq!(f.len(), 2);
        assert!(matches!(
            f[0].action,
            FaultAction::RestartAfterDown { after_ms, .. } if Some(after_ms) == d[0].restart_after_ms
        ));
        assert_eq!(f[1].action, d[0].action);
        assert_eq!((f[0].at_ms, f[1].at_ms), (d[0].at_ms, d[0].at_ms));
    }

    #[test]
    fn the_report_names_each_draw_in_words() {
        let sc = crash("1");
        let lines = report_lines(&sc, 3);
        assert_eq!(lines[0], "chaos: seed 3 drew");
        assert!(lines[1].contains("crash pay-"), "{lines:?}");
        assert!(lines[1].contains(" on its "), "{lines:?}");
        assert!(lines[1].ends_with("ms after it goes down"), "{lines:?}");
        let none = crash("0");
        assert_eq!(
            report_lines(&none, 3),
            vec!["chaos: seed 3 drew no fault (none of the 1 chaos fault came up)"]
        );
        assert_eq!(ordinal(11, "record"), "11th record");
        assert_eq!(ordinal(22, "order"), "22nd order");
    }
}
