//! The resolved scenario: the scenario as the simulator understood it, every default
//! filled in, written back as a scenario file that loads again to the same run.

use crate::scenario::{ClientProfile, Keys, Publish, Scenario};
use std::fmt::Write;

/// `s` as a YAML scalar that loads back as exactly `s`: plain when it is a simple word
/// that YAML cannot read as anything else, double-quoted (with escapes) otherwise.
fn q(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
        );
    if plain {
        return s.to_string();
    }
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\t' => o.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(o, "\\u{:04X}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// The lesson paragraph: a `|` block when that loads back exactly (one final newline,
/// no leading or trailing blanks a block would lose), else a quoted string.
fn lesson_yaml(lesson: &str) -> String {
    let body = lesson.strip_suffix('\n').unwrap_or("");
    let block = !body.is_empty()
        && !body.ends_with('\n')
        && !body.starts_with([' ', '\n'])
        && body
            .lines()
            .all(|l| !l.ends_with([' ', '\t']) && !l.chars().any(|c| c.is_control()));
    if !block {
        return q(lesson);
    }
    let mut o = String::from("|");
    for line in body.lines() {
        o.push_str("\n  ");
        o.push_str(line);
    }
    o
}

/// The scenario as the simulator understood it, every default filled in. It is itself a
/// scenario file: loading it again gives the same run (a test checks every lesson).
pub fn resolved(sc: &Scenario) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "name: {}", q(&sc.name));
    let _ = writeln!(o, "title: {}", q(&sc.title));
    if !sc.lesson.is_empty() {
        let _ = writeln!(o, "lesson: {}", lesson_yaml(&sc.lesson));
    }
    let _ = writeln!(o, "seed: {}", sc.seed);
    let c = &sc.cluster;
    let _ = writeln!(o, "cluster:");
    let _ = writeln!(o, "  brokers: {}", c.brokers);
    let _ = writeln!(
        o,
        "  network: {{ latency_ms: {{ min: {}, max: {} }} }}",
        c.latency_min_ms, c.latency_max_ms
    );
    let _ = writeln!(
        o,
        "  config: {{ group.initial.rebalance.delay.ms: {}, min.insync.replicas: {}, unclean.leader.election.enable: {}, broker.session.timeout.ms: {}, replica.lag.time.max.ms: {}, replica.fetch.wait.max.ms: {}, replica.socket.timeout.ms: {}, replica.fetch.backoff.ms: {}, log.retention.check.interval.ms: {}, log.cleaner.backoff.ms: {} }}",
        c.initial_rebalance_delay_ms,
        c.min_insync_replicas,
        c.unclean_leader_election,
        c.broker_session_timeout_ms,
        c.replica_lag_time_max_ms,
        c.replica_fetch_wait_max_ms,
        c.replica_socket_timeout_ms,
        c.replica_fetch_backoff_ms,
        c.log_retention_check_interval_ms,
        c.log_cleaner_backoff_ms
    );
    let _ = writeln!(o, "topics:");
    for t in &sc.topics {
        let _ = writeln!(
            o,
            "  - {{ name: {}, partitions: {}, replication_factor: {}, config: {{ min.insync.replicas: {}, unclean.leader.election.enable: {}, cleanup.policy: {}, retention.ms: {}, retention.bytes: {}, segment.bytes: {}, segment.ms: {}, delete.retention.ms: {} }} }}",
            q(&t.name),
            t.partitions,
            t.replication_factor,
            t.min_insync_replicas,
            t.unclean_leader_election,
            t.log.cleanup_policy(),
            minus_one(t.log.retention_ms),
            minus_one(t.log.retention_bytes),
            t.log.segment_bytes,
            t.log.segment_ms,
            t.log.delete_retention_ms
        );
    }
    let send = |o: &mut String, label: &str, s: &crate::scenario::SendSpec| {
        let keys = match &s.keys {
            Keys::Null => "null".to_string(),
            Keys::Pattern { pattern, distinct } => {
                format!("{{ pattern: {}, distinct: {distinct} }}", q(pattern))
            }
        };
        let tombstones = s
            .tombstone_every
            .map_or(String::new(), |n| format!(", tombstone_every: {n}"));
        let _ = writeln!(
            o,
            "    {label}: {{ count: {}, every_ms: {}, start_ms: {}, keys: {keys}, event_type: {}{tombstones} }}",
            s.count,
            s.every_ms,
            s.start_ms,
            q(&s.event_type)
        );
    };
    let producer = |o: &mut String, label: &str, p: &crate::scenario::ProducerConfig| {
        // Idempotence that Kafka switched off stays unsaid, so the file loads back the
        // same way (with the same note); a comment says what happened.
        let (idempotence, comment) = match p.idempotence_switched_off {
            Some(why) => (
                String::new(),
                format!("  # enable.idempotence: false, because {why}"),
            ),
            None => (
                format!(", enable.idempotence: {}", p.enable_idempotence),
                String::new(),
            ),
        };
        let _ = writeln!(
            o,
            "    {label}: {{ acks: {}{idempotence}, retries: {}, retry.backoff.ms: {}, request.timeout.ms: {}, delivery.timeout.ms: {}, max.in.flight.requests.per.connection: {}, linger.ms: {}, batch.size: {}, partitioner: {}, metadata.max.age.ms: {} }}{comment}",
            p.acks.kafka_name(),
            p.retries,
            p.retry_backoff_ms,
            p.request_timeout_ms,
            p.delivery_timeout_ms,
            p.max_in_flight,
            p.linger_ms,
            p.batch_size,
            p.partitioner.name(),
            p.metadata_max_age_ms
        );
    };
    if !sc.producers.is_empty() {
        let _ = writeln!(o, "producers:");
    }
    for p in &sc.producers {
        let _ = writeln!(o, "  - name: {}", q(&p.name));
        let _ = writeln!(o, "    topic: {}", q(&sc.topics[p.topic].name));
        producer(&mut o, "config", &p.config);
        send(&mut o, "send", &p.send);
    }
    if !sc.groups.is_empty() {
        let _ = writeln!(o, "consumer_groups:");
    }
    for g in &sc.groups {
        let list = |ts: &[usize]| -> String {
            let names: Vec<String> = ts.iter().map(|&t| q(&sc.topics[t].name)).collect();
            format!("[{}]", names.join(", "))
        };
        let _ = writeln!(o, "  - name: {}", q(&g.name));
        let _ = writeln!(o, "    topics: {}", list(&g.default_topics));
        let _ = writeln!(o, "    members: {}", g.members);
        if !g.subscriptions.is_empty() {
            let subs: Vec<String> = g.subscriptions.iter().map(|s| list(s)).collect();
            let _ = writeln!(o, "    subscriptions: [{}]", subs.join(", "));
        }
        let _ = writeln!(o, "    start_at_ms: {}", g.start_at_ms);
        if g.static_members {
            let _ = writeln!(o, "    static: true");
        }
        let cc = &g.config;
        // Java is the default profile: its groups print as they did before profiles.
        let store = match cc.client {
            ClientProfile::Java => String::new(),
            ClientProfile::Librdkafka => {
                let _ = writeln!(o, "    client: {}", cc.client.name());
                format!(
                    ", enable.auto.offset.store: {}",
                    cc.enable_auto_offset_store
                )
            }
        };
        let _ = writeln!(
            o,
            "    config: {{ enable.auto.commit: {}, auto.commit.interval.ms: {}, auto.offset.reset: {}, partition.assignment.strategy: {}, session.timeout.ms: {}, heartbeat.interval.ms: {}, max.poll.interval.ms: {}, max.poll.records: {}, fetch.max.wait.ms: {}, metadata.max.age.ms: {}{store} }}",
            cc.enable_auto_commit,
            cc.auto_commit_interval_ms,
            cc.auto_offset_reset.name(),
            cc.assignor.name(),
            cc.session_timeout_ms,
            cc.heartbeat_interval_ms,
            cc.max_poll_interval_ms,
            cc.max_poll_records,
            cc.fetch_max_wait_ms,
            cc.metadata_max_age_ms
        );
        let _ = writeln!(
            o,
            "    processing: {{ time_ms: {}, effect: {}, commit: {} }}",
            g.processing.time_ms,
            q(&g.processing.effect),
            g.processing.commit.name()
        );
        if let Some(i) = &g.idempotency {
            // No ttl_ms: marks never expire.
            let ttl = i.ttl_ms.map_or(String::new(), |t| format!(", ttl_ms: {t}"));
            let _ = writeln!(
                o,
                "    idempotency: {{ store: {}{ttl}, on_store_unavailable: {} }}",
                i.store.name(),
                i.on_unavailable.name()
            );
        }
    }
    if !sc.services.is_empty() {
        let _ = writeln!(o, "services:");
    }
    for s in &sc.services {
        let _ = writeln!(o, "  - name: {}", q(&s.name));
        let _ = writeln!(o, "    topic: {}", q(&sc.topics[s.topic].name));
        send(&mut o, "commands", &s.commands);
        let _ = writeln!(o, "    publish: {}", s.publish.name());
        let _ = writeln!(o, "    database: {{ commit_ms: {} }}", s.commit_ms);
        producer(&mut o, "producer", &s.producer);
        if s.publish == Publish::Outbox {
            let _ = writeln!(
                o,
                "    relay: {{ poll_interval_ms: {}, batch_size: {}, count: {}, mark: {} }}",
                s.relay.poll_interval_ms,
                s.relay.batch_size,
                s.relay.count,
                s.relay.mark.name()
            );
        }
    }
    if !sc.faults.is_empty() {
        let _ = writeln!(o, "faults:");
    }
    for f in &sc.faults {
        let _ = writeln!(
            o,
            "  - {{ at_ms: {}, {} }}",
            f.at_ms,
            fault_text(sc, &f.action)
        );
    }
    chaos(&mut o, sc);
    let _ = writeln!(
        o,
        "run: {{ until_ms: {}, max_events: {} }}",
        sc.run.until_ms, sc.run.max_events
    );
    if !sc.expect.is_empty() {
        let items: Vec<String> = sc
            .expect
            .iter()
            .map(|e| format!("{}: \"{}\"", q(&e.name), e.condition))
            .collect();
        let _ = writeln!(o, "expect: {{ {} }}", items.join(", "));
    }
    o
}

/// The `chaos:` section, every default filled in; nothing when it asks for nothing.
fn chaos(o: &mut String, sc: &Scenario) {
    let c = &sc.chaos;
    if !c.is_active() {
        return;
    }
    let _ = writeln!(o, "chaos:");
    if !c.faults.is_empty() {
        let _ = writeln!(o, "  faults:");
    }
    for f in &c.faults {
        let _ = writeln!(
            o,
            "    - {{ probability: \"{}\", at_ms: {}, {} }}",
            f.probability.spelled(),
            f.at_ms.spelled(),
            chaos_action(sc, &f.action)
        );
    }
    let n = &c.network;
    if n.is_active() {
        let drops: Vec<String> = n
            .drop
            .iter()
            .map(|(k, r)| format!("{}: \"{}\"", k.name(), r.spelled()))
            .collect();
        let _ = writeln!(
            o,
            "  network: {{ jitter_ms: {}, drop: {{ {} }} }}",
            n.jitter_ms,
            drops.join(", ")
        );
    }
}

/// `[a, b]`, or `a` alone when it is the only one.
fn list(names: Vec<String>) -> String {
    match names.as_slice() {
        [one] => one.clone(),
        _ => format!("[{}]", names.join(", ")),
    }
}

fn chaos_action(sc: &Scenario, a: &crate::scenario::ChaosAction) -> String {
    use crate::scenario::{ChaosAction, Client, Span};
    let brokers = |b: &[u32]| list(b.iter().map(|b| format!("broker-{}", b + 1)).collect());
    let restart = |r: &Option<Span>| {
        r.map_or(String::new(), |r| {
            format!(", restart_after_ms: {}", r.spelled())
        })
    };
    match a {
        ChaosAction::Crash {
            targets,
            points,
            on_record,
            restart_after_ms,
        } => {
            let mut s = format!(
                "crash: {}",
                list(targets.iter().map(|t| q(&sc.target_name(*t))).collect())
            );
            if !points.is_empty() {
                let _ = write!(
                    s,
                    ", point: {}",
                    list(points.iter().map(|p| p.name().to_string()).collect())
                );
            }
            if let Some(n) = on_record {
                let _ = write!(s, ", on_record: {}", n.spelled());
            }
            s + &restart(restart_after_ms)
        }
        ChaosAction::Shutdown {
            brokers: b,
            restart_after_ms,
        } => format!("shutdown: {}{}", brokers(b), restart(restart_after_ms)),
        ChaosAction::IsolateBroker { brokers: b, for_ms } => {
            format!(
                "isolate_broker: {}, for_ms: {}",
                brokers(b),
                for_ms.spelled()
            )
        }
        ChaosAction::Isolate {
            clients,
            for_ms,
            refused,
        } => format!(
            "isolate: {}, for_ms: {}{}",
            list(
                clients
                    .iter()
                    .map(|c| match c {
                        Client::Producer(p) => q(&sc.producers[*p].name),
                        Client::Service(s) => q(&sc.services[*s].name),
                    })
                    .collect()
            ),
            for_ms.spelled(),
            if *refused { ", refused: true" } else { "" }
        ),
        ChaosAction::KafkaOutage { for_ms } => {
            format!("kafka_outage: true, for_ms: {}", for_ms.spelled())
        }
        ChaosAction::StoreOutage { groups, for_ms } => format!(
            "store_outage: {}, for_ms: {}",
            list(groups.iter().map(|g| q(&sc.groups[*g].name)).collect()),
            for_ms.spelled()
        ),
    }
}

/// A fault's action as `faults:` spells it, without `at_ms`: `crash: payments-1, point: …`.
pub(crate) fn fault_text(sc: &Scenario, a: &crate::scenario::FaultAction) -> String {
    use crate::scenario::{Client, FaultAction};
    match a {
        FaultAction::Crash {
            target,
            point,
            on_record,
        } => {
            let mut s = format!("crash: {}", sc.target_name(*target));
            if let Some(p) = point {
                let _ = write!(s, ", point: {}", p.name());
            }
            if let Some(n) = on_record {
                let _ = write!(s, ", on_record: {n}");
            }
            s
        }
        FaultAction::Restart(t) => format!("restart: {}", sc.target_name(*t)),
        FaultAction::Join { group, members } => {
            format!("join: {}, members: {members}", sc.groups[*group].name)
        }
        FaultAction::AddPartitions { topic, partitions } => format!(
            "add_partitions: {}, partitions: {partitions}",
            q(&sc.topics[*topic].name)
        ),
        FaultAction::LearnPartitions { .. } | FaultAction::RestartAfterDown { .. } => {
            unreachable!("derived by the driver or a chaos draw, never in a scenario's faults")
        }
        FaultAction::Seek {
            group,
            to,
            topic,
            partition,
        } => {
            let mut s = format!("seek: {}, to: {}", sc.groups[*group].name, to.spelled());
            if let Some(t) = topic {
                let _ = write!(s, ", topic: {}", q(&sc.topics[*t].name));
            }
            if let Some(p) = partition {
                let _ = write!(s, ", partition: {p}");
            }
            s
        }
        FaultAction::Leave { group, index } => format!("leave: {}", sc.member_name(*group, *index)),
        FaultAction::CloseInterrupted { group, index } => {
            format!("close_interrupted: {}", sc.member_name(*group, *index))
        }
        FaultAction::Isolate {
            client,
            for_ms,
            refused,
        } => format!(
            "isolate: {}, for_ms: {for_ms}{}",
            match client {
                Client::Producer(p) => &sc.producers[*p].name,
                Client::Service(s) => &sc.services[*s].name,
            },
            if *refused { ", refused: true" } else { "" }
        ),
        FaultAction::KafkaOutage { for_ms } => format!("kafka_outage: true, for_ms: {for_ms}"),
        FaultAction::Shutdown(b) => format!("shutdown: broker-{}", b + 1),
        FaultAction::IsolateBroker { broker, for_ms } => {
            format!("isolate_broker: broker-{}, for_ms: {for_ms}", broker + 1)
        }
        FaultAction::Messages { kind, rule, for_ms } => match rule {
            crate::scenario::MessageRule::Drop => {
                format!("messages: {}, drop: true, for_ms: {for_ms}", kind.name())
            }
            crate::scenario::MessageRule::Delay(ms) => {
                format!(
                    "messages: {}, delay_ms: {ms}, for_ms: {for_ms}",
                    kind.name()
                )
            }
        },
        FaultAction::StoreOutage { group, for_ms } => {
            format!("store_outage: {}, for_ms: {for_ms}", sc.groups[*group].name)
        }
        FaultAction::MarkFails {
            service,
            index,
            for_ms,
        } => format!(
            "mark_fails: {}, for_ms: {for_ms}",
            sc.relay_name(*service, *index)
        ),
    }
}

/// A `long` setting where -1 means "no limit".
fn minus_one(v: Option<u64>) -> String {
    v.map_or("-1".to_string(), |v| v.to_string())
}
