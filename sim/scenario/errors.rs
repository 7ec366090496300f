//! Stage one's errors in words a student can act on: serde-saphyr's messages turned into
//! one line each, located where the problem is (a tab, a missing top-level field), with a
//! "did you mean" for a misspelt field and a plain statement for a real Kafka setting
//! kafkasim does not model. What does not live here: stage two's checks (`mod.rs`).

use crate::diag::Diagnostic;

/// Turns serde-saphyr's error into our one-line message, in words a student can act on.
pub(super) fn yaml_diagnostic(e: &serde_saphyr::Error, source: &str) -> Diagnostic {
    let (line, column) = e
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((1, 1));
    let text = e.without_snippet().to_string();
    let first = text.lines().next().unwrap_or("");
    let mut msg = first.strip_prefix("error: ").unwrap_or(first).to_string();
    let prefix = format!("line {line} column {column}: ");
    if let Some(rest) = msg.strip_prefix(&prefix) {
        msg = rest.to_string();
    }
    // The parser repeats the position at the end; ours is already at the front.
    if let Some(i) = msg.find(" at line ") {
        msg.truncate(i);
    }
    let token = token_at(source, line, column);
    if msg == "invalid u64" || msg.starts_with("invalid u64") {
        msg = if token.starts_with('-') {
            format!("expected a whole number (0 or more), got `{token}`: it cannot be negative")
        } else if token.len() > 1
            && token.starts_with('0')
            && token.chars().all(|c| c.is_ascii_digit())
        {
            format!(
                "the number `{token}` has a leading zero (YAML 1.1 would read it as octal): write `{}`",
                match token.trim_start_matches('0') {
                    "" => "0",
                    digits => digits,
                }
            )
        } else if !token.is_empty() && token.chars().all(|c| c.is_ascii_digit()) {
            format!("the number `{token}` is too large")
        } else {
            format!("expected a whole number (0 or more), got `{token}`")
        };
    } else if msg.starts_with("recursion limit exceeded") {
        // The parser's own guard against deep nesting, met before our depth budget.
        msg = budget_message("Depth");
    } else if let Some(rest) = msg.strip_prefix("budget breached: ") {
        msg = budget_message(rest);
    } else if msg.starts_with("unexpected end of input") && only_comments(source) {
        return Diagnostic::new(1, 1, EMPTY_FILE);
    }
    let friendly = [
        (
            "data did not match any variant of untagged enum RawScalar",
            "expected a number or a word",
        ),
        (
            "data did not match any variant of untagged enum RawLatency",
            "expected a latency in ms (`2`) or a range (`{ min: 1, max: 3 }`)",
        ),
        (
            "data did not match any variant of untagged enum RawSeekTo",
            "expected beginning, end, an offset (`40`) or a timestamp (`{ timestamp_ms: 5000 }`)",
        ),
        (
            ", set DuplicateKeyPolicy in Options if acceptable",
            " (each key may appear once)",
        ),
        (
            "expected mapping start",
            "expected a map of fields (`name: …`) here",
        ),
        ("expected string scalar", "expected text here"),
        (
            "tabs disallowed within this context (block indentation)",
            "YAML does not allow tabs for indentation; use spaces",
        ),
    ];
    for (from, to) in friendly {
        msg = msg.replace(from, to);
    }
    if let Some(better) = unknown_field_message(&msg) {
        msg = better;
    }
    // A tab in indentation is noticed while the parser is still on the line before:
    // point at the tab itself.
    if msg.contains("found a tab") || msg.contains("tabs disallowed") {
        let tab = source
            .lines()
            .enumerate()
            .skip(line.saturating_sub(1) as usize)
            .find_map(|(i, l)| {
                let indent: String = l.chars().take_while(|c| c.is_whitespace()).collect();
                indent
                    .chars()
                    .position(|c| c == '\t')
                    .map(|col| (i as u64 + 1, col as u64 + 1))
            });
        if let Some((tab_line, tab_column)) = tab {
            return Diagnostic::new(
                tab_line,
                tab_column,
                "YAML does not allow tabs for indentation; use spaces",
            );
        }
    }
    // A list or a map where one value belongs.
    if msg == "expected text here"
        || msg.starts_with("invalid type: sequence")
        || msg.starts_with("invalid type: map")
    {
        if token.starts_with('[') || msg.starts_with("invalid type: sequence") {
            msg = "expected a single value (a number or a word) here, not a list".to_string();
        } else if token.starts_with('{') || msg.starts_with("invalid type: map") {
            msg = "expected a single value (a number or a word) here, not a map".to_string();
        }
    }
    // `lost: >= 1`: YAML reads `>` and `<` as the start of something else.
    if token.starts_with('>') || token.starts_with('<') {
        let rest: String = source
            .lines()
            .nth(line.saturating_sub(1) as usize)
            .unwrap_or("")
            .chars()
            .skip(column.saturating_sub(1) as usize)
            .take_while(|c| !matches!(c, ',' | '}' | '#'))
            .take(40)
            .collect();
        msg = format!(
            "a comparison must be quoted: write \"{}\" (YAML reads a bare `{}` as something else)",
            rest.trim(),
            &token[..1]
        );
    }
    // A required top-level field: point at the top of the file, not where the parser
    // noticed it was missing.
    if let Some(field) = msg
        .strip_prefix("missing field `")
        .and_then(|r| r.strip_suffix('`'))
    {
        let top_level = matches!(field, "name" | "title" | "topics")
            && !source.lines().any(|l| l.starts_with(&format!("{field}:")));
        if top_level {
            return Diagnostic::new(
                1,
                1,
                format!("the scenario has no `{field}:` line; every scenario needs `name`, `title` and `topics`"),
            );
        }
    }
    Diagnostic::new(line, column, msg)
}

/// Kafka properties a student may reasonably write that kafkasim does not model yet, with
/// what it does instead: they are real, so they must not read like typos.
const UNMODELLED: &[(&str, &str)] = &[
    ("group.protocol", "only the classic protocol is modelled (eager, or cooperative with `partition.assignment.strategy: cooperative-sticky`); KIP-848's consumer protocol is not"),
    ("buffer.memory", "the producer's buffer is not limited, so send() never blocks"),
    ("max.block.ms", "send() never blocks"),
    ("compression.type", "records have no size, so compression changes nothing"),
    ("transactional.id", "there are no transactions"),
    ("isolation.level", "there are no transactions, so every consumer reads all appended records"),
    ("client.id", "a client is named by its scenario name"),
    ("partitioner.class", "custom partitioners are not modelled; `partitioner` picks a client's own (java, librdkafka-consistent-random, librdkafka-murmur2-random, kafkajs, kafkajs-legacy)"),
    ("fetch.min.bytes", "records have no size; a fetch answers as soon as one record is there"),
    ("max.partition.fetch.bytes", "records have no size; max.poll.records bounds a fetch"),
];

/// Kafka properties kafkasim models, written where they do not belong (or spelt as the
/// scenario does not spell them), with where they go.
#[rustfmt::skip]
const ELSEWHERE: &[(&str, &str)] = &[
    ("group.instance.id", "write `static: true` on the group: each member's group.instance.id is then its name"),
    ("min.insync.replicas", "it is a broker or topic setting: write it under cluster.config or a topic's config"),
    ("replication.factor", "a topic's replica count is its `replication_factor:` field"),
    ("unclean.leader.election.enable", "it is a broker or topic setting: write it under cluster.config or a topic's config"),
    ("retention.ms", "it is a topic setting: write it under a topic's config"),
    ("retention.bytes", "it is a topic setting: write it under a topic's config"),
    ("cleanup.policy", "it is a topic setting: write it under a topic's config"),
    ("segment.bytes", "it is a topic setting: write it under a topic's config"),
    ("segment.ms", "it is a topic setting: write it under a topic's config"),
];

/// For serde's "unknown field `x`, expected one of a, b": name a real Kafka property as
/// such, or suggest the closest expected field.
fn unknown_field_message(msg: &str) -> Option<String> {
    let rest = msg.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    if let Some((_, instead)) = UNMODELLED.iter().find(|(p, _)| *p == field) {
        return Some(format!(
            "`{field}` is a real Kafka setting that kafkasim does not model yet: {instead} (README, Simplifications)"
        ));
    }
    if let Some((_, there)) = ELSEWHERE.iter().find(|(p, _)| *p == field) {
        return Some(format!(
            "`{field}` is a real Kafka setting, but not here: {there}"
        ));
    }
    let expected: Vec<&str> = rest
        .strip_prefix(", expected one of ")
        .or_else(|| rest.strip_prefix(", expected "))?
        .split(", ")
        .map(|s| s.trim_matches('`'))
        .collect();
    let best = expected
        .iter()
        .map(|e| (strsim::jaro_winkler(field, e), *e))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))?;
    Some(format!("{msg}; did you mean `{}`?", best.1))
}

pub(super) const EMPTY_FILE: &str =
    "the file is empty; a scenario needs at least `name`, `title` and `topics`";

fn only_comments(source: &str) -> bool {
    source
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
}

/// The scalar a 1-based position points at, for messages that quote what was written.
fn token_at(source: &str, line: u64, column: u64) -> String {
    let Some(text) = source.lines().nth(line.saturating_sub(1) as usize) else {
        return String::new();
    };
    text.chars()
        .skip(column.saturating_sub(1) as usize)
        .take_while(|c| !matches!(c, ',' | '}' | ']' | '#') && !c.is_whitespace())
        .take(40)
        .collect()
}

fn budget_message(what: &str) -> String {
    let kind = what.split([' ', '{']).next().unwrap_or("");
    match kind {
        "Nodes" => "the file has more than 50000 YAML nodes (values, lists and maps, with every alias expanded), more than a scenario may hold".to_string(),
        "Events" => "the file has more than 200000 YAML parser events, more than a scenario may hold".to_string(),
        "Aliases" | "Anchors" | "RecordedAnchorEvents" | "RecordedAnchorBytes" => {
            "the file expands to more YAML than a scenario may hold (anchors and aliases repeated too often)".to_string()
        }
        "Depth" => "the file is nested more than 32 levels deep".to_string(),
        "Documents" => {
            "a scenario file holds one YAML document; remove the second `---` and what follows".to_string()
        }
        "TotalScalarBytes" => "the file holds more than 1 MiB of text values".to_string(),
        _ => "the file is larger or more repetitive than a scenario may be".to_string(),
    }
}
