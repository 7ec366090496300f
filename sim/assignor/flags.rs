//! `kafkasim assign`'s flags: parsed and checked into one group's subscriptions, with a
//! one-line error naming the flag and the value for the first problem (the CLI exits 2 with
//! it). No printing here: `main.rs` prints the assignment.

use super::{Strategy, Subscription};
use crate::{diag, scenario};

/// `kafkasim assign`'s flags as given, each a list of `KEY=VALUE` strings.
pub struct AssignFlags {
    pub strategy: String,
    pub topics: Vec<String>,
    pub members: Vec<String>,
    pub owned: Vec<String>,
    pub generations: Vec<String>,
    pub instances: Vec<String>,
}

/// `kafkasim assign`'s input once checked.
pub struct AssignInput {
    pub strategy: Strategy,
    pub topics: Vec<(String, u32)>,
    pub members: Vec<Subscription>,
}

/// A topic, member or instance name may be this long (README, Limits: "Names").
const NAME_CHARS: usize = 64;

/// `--FLAG VALUE: message`, the value made safe to print.
fn flag_error(flag: &str, value: &str, message: &str) -> String {
    format!("--{flag} {}: {message}", diag::one_line(value))
}

/// A decimal number as a person writes it: digits only, no sign, no leading zero (but
/// `0` itself), and small enough for `u64`.
fn number(text: &str) -> Option<u64> {
    let plain = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    plain.then(|| text.parse().ok()).flatten()
}

/// Splits `KEY=VALUE` at the first `=`.
fn key_value<'a>(flag: &str, text: &'a str, shape: &str) -> Result<(&'a str, &'a str), String> {
    text.split_once('=')
        .ok_or_else(|| flag_error(flag, text, &format!("expected {shape}")))
}

/// A member, topic or instance name: 1 to 64 characters, none of them a space, a control
/// character or one that changes how a terminal shows text.
fn check_name(flag: &str, text: &str, name: &str, what: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(flag_error(flag, text, &format!("the {what} is empty")));
    }
    if name.chars().count() > NAME_CHARS {
        return Err(flag_error(
            flag,
            text,
            &format!("a {what} may be at most {NAME_CHARS} characters"),
        ));
    }
    if name
        .chars()
        .any(|c| c.is_whitespace() || !diag::terminal_safe(c))
    {
        return Err(flag_error(
            flag,
            text,
            &format!("a {what} may not contain spaces or control characters"),
        ));
    }
    Ok(())
}

/// Checks `kafkasim assign`'s flags; the first problem is a one-line error naming the flag
/// and the value.
pub fn assign_input(f: &AssignFlags) -> Result<AssignInput, String> {
    let strategy = Strategy::from_kafka_name(&f.strategy).ok_or_else(|| {
        let names: Vec<&str> = Strategy::ALL.iter().map(|s| s.kafka_name()).collect();
        flag_error(
            "strategy",
            &f.strategy,
            &format!("unknown strategy; expected one of {}", names.join(", ")),
        )
    })?;
    let topics = assign_topics(&f.topics)?;
    let mut members: Vec<Subscription> = Vec::new();
    for text in &f.members {
        let (id, list) = key_value("member", text, "ID=TOPIC[,TOPIC...]")?;
        check_name("member", text, id, "member id")?;
        if members.iter().any(|m| m.member_id == id) {
            return Err(flag_error("member", text, "this member is already given"));
        }
        if members.len() as u64 == scenario::limits::MEMBERS {
            return Err(flag_error(
                "member",
                text,
                &format!(
                    "a group may have at most {} members",
                    scenario::limits::MEMBERS
                ),
            ));
        }
        let mut subscribed = Vec::new();
        for topic in list.split(',') {
            if !topics.iter().any(|(t, _)| t == topic) {
                return Err(flag_error(
                    "member",
                    text,
                    &format!(
                        "no topic {:?} (give it with --topic)",
                        diag::one_line(topic)
                    ),
                ));
            }
            subscribed.push(topic.to_owned());
        }
        members.push(Subscription {
            member_id: id.to_owned(),
            group_instance_id: None,
            topics: subscribed,
            owned: Vec::new(),
            generation: None,
        });
    }
    assign_member_details(f, &topics, &mut members)?;
    Ok(AssignInput {
        strategy,
        topics,
        members,
    })
}

/// `--topic T=PARTITIONS`, within the scenario limits.
fn assign_topics(given: &[String]) -> Result<Vec<(String, u32)>, String> {
    let mut topics: Vec<(String, u32)> = Vec::new();
    let mut total = 0u64;
    for text in given {
        let (name, count) = key_value("topic", text, "TOPIC=PARTITIONS")?;
        check_name("topic", text, name, "topic name")?;
        if topics.iter().any(|(t, _)| t == name) {
            return Err(flag_error("topic", text, "this topic is already given"));
        }
        if topics.len() == scenario::limits::NAMES {
            return Err(flag_error(
                "topic",
                text,
                &format!("at most {} topics", scenario::limits::NAMES),
            ));
        }
        let max = scenario::limits::PARTITIONS;
        let count: u32 = match number(count) {
            Some(n) if (1..=max).contains(&n) => n as u32,
            _ => {
                return Err(flag_error(
                    "topic",
                    text,
                    &format!("expected a partition count from 1 to {max}"),
                ))
            }
        };
        total += u64::from(count);
        if total > scenario::limits::PARTITIONS_TOTAL {
            return Err(flag_error(
                "topic",
                text,
                &format!(
                    "at most {} partitions over all topics",
                    scenario::limits::PARTITIONS_TOTAL
                ),
            ));
        }
        topics.push((name.to_owned(), count));
    }
    Ok(topics)
}

/// `--owned`, `--generation` and `--instance`, each naming a member given with `--member`.
fn assign_member_details(
    f: &AssignFlags,
    topics: &[(String, u32)],
    members: &mut [Subscription],
) -> Result<(), String> {
    let ids: Vec<String> = members.iter().map(|m| m.member_id.clone()).collect();
    let find = |flag: &str, text: &str, id: &str| -> Result<usize, String> {
        ids.iter()
            .position(|m| m == id)
            .ok_or_else(|| flag_error(flag, text, "no such member (give it with --member)"))
    };
    let mut seen = std::collections::BTreeSet::new();
    for text in &f.owned {
        let (id, list) = key_value("owned", text, "ID=TOPIC-PARTITION[,TOPIC-PARTITION...]")?;
        let m = find("owned", text, id)?;
        if !seen.insert(m) {
            return Err(flag_error(
                "owned",
                text,
                "this member's --owned is already given",
            ));
        }
        for part in list.split(',') {
            let parsed = part
                .rsplit_once('-')
                .and_then(|(t, p)| Some((t, number(p)?)));
            let Some((topic, p)) = parsed else {
                return Err(flag_error(
                    "owned",
                    text,
                    &format!("expected TOPIC-PARTITION, got {:?}", diag::one_line(part)),
                ));
            };
            let Some((_, count)) = topics.iter().find(|(t, _)| t == topic) else {
                return Err(flag_error(
                    "owned",
                    text,
                    &format!(
                        "no topic {:?} (give it with --topic)",
                        diag::one_line(topic)
                    ),
                ));
            };
            if p >= u64::from(*count) {
                return Err(flag_error(
                    "owned",
                    text,
                    &format!(
                        "partition {p} is out of range: {} has partitions 0 to {}",
                        diag::one_line(topic),
                        count - 1
                    ),
                ));
            }
            members[m].owned.push((topic.to_owned(), p as u32));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for text in &f.generations {
        let (id, n) = key_value("generation", text, "ID=N")?;
        let m = find("generation", text, id)?;
        if !seen.insert(m) {
            return Err(flag_error(
                "generation",
                text,
                "this member's generation is already given",
            ));
        }
        let parsed = match n.strip_prefix('-') {
            Some("1") => Some(-1),
            Some(_) => None,
            None => number(n).and_then(|g| i32::try_from(g).ok()),
        };
        members[m].generation = match parsed {
            Some(-1) => None,
            Some(g) => Some(g),
            _ => {
                return Err(flag_error(
                    "generation",
                    text,
                    &format!("expected a generation from -1 (none) to {}", i32::MAX),
                ))
            }
        };
    }
    for text in &f.instances {
        let (id, instance) = key_value("instance", text, "ID=INSTANCE")?;
        let m = find("instance", text, id)?;
        check_name("instance", text, instance, "group.instance.id")?;
        if members[m].group_instance_id.is_some() {
            return Err(flag_error(
                "instance",
                text,
                "this member's instance is already given",
            ));
        }
        if members
            .iter()
            .any(|x| x.group_instance_id.as_deref() == Some(instance))
        {
            return Err(flag_error(
                "instance",
                text,
                "another member already has this group.instance.id",
            ));
        }
        members[m].group_instance_id = Some(instance.to_owned());
    }
    Ok(())
}
