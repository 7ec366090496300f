//! `--set PATH=VALUE`: find the value a path names in the scenario's YAML text and replace
//! exactly its bytes (or add the key where the file does not write it), so every other
//! line and column of the file stays as the student wrote it and a diagnostic about the
//! edited scenario still points at the right place.
//!
//! A path is dot-separated. In a list, an element is chosen by its `name` or by a 0-based
//! index; a key that itself contains dots (`enable.auto.commit`, a topic `order.placed`)
//! is matched greedily: the longest key, written there or allowed there, that the rest of
//! the path starts with. Nothing here judges the result: the edited text is loaded again
//! by `scenario::parse`, with every check a file gets.

use super::schema::{Shape, Ty};
use super::tree::{self, Kind, Node};
use crate::diag::{self, Diagnostic};

/// What one `--set` changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The `--set` argument as typed (made safe to print).
    pub arg: String,
    /// The path, as typed.
    pub path: String,
    /// The value the file wrote there, as written (collections on one line), or None when
    /// the file did not write it.
    pub before: Option<String>,
    /// When the file did not write it: the value kafkasim fills in, as `run --resolved`
    /// writes it, if there is one.
    pub default: Option<String>,
    /// The value written there now.
    pub after: String,
    /// Byte range of the edit in the edited text (what was written for this `--set`).
    span: (usize, usize),
}

impl Change {
    /// The old value for a reader: `false`, `(default true)` or `(not set)`.
    pub fn before_text(&self) -> String {
        match (&self.before, &self.default) {
            (Some(b), _) => b.clone(),
            (None, Some(d)) => format!("(default {d})"),
            (None, None) => "(not set)".to_string(),
        }
    }
}

/// The scenario text with every `--set` applied, and what each one changed.
#[derive(Clone, Debug)]
pub struct Edited {
    pub text: String,
    pub changes: Vec<Change>,
}

/// The most `--set` values one comparison takes (each one parses the edited text again).
pub const SETS: usize = 100;

/// Applies each `PATH=VALUE` of `sets`, in order, to `original` (a scenario file that
/// loaded; `resolved` is its `run --resolved` text, where defaults are looked up). Errors
/// are one line naming the `--set` and the part of it that did not resolve.
pub fn apply(original: &str, resolved: &str, sets: &[String]) -> Result<Edited, String> {
    if sets.len() > SETS {
        return Err(format!(
            "{} --set values; a comparison takes at most {SETS}",
            sets.len()
        ));
    }
    let first = tree::parse(original).map_err(|e| format!("the scenario's YAML: {e}"))?;
    let defaults = tree::parse(resolved).ok();
    let mut text = original.to_string();
    let mut changes: Vec<Change> = Vec::new();
    for arg in sets {
        let shown = clip(&diag::one_line(arg), 200);
        let fail = |msg: String| format!("--set {shown}: {msg}");
        let (path, value) = arg
            .split_once('=')
            .ok_or_else(|| fail("expected PATH=VALUE (no `=` found)".to_string()))?;
        let segs = segments(path).map_err(fail)?;
        let value = value_text(value).map_err(fail)?;
        let root = tree::parse(&text).map_err(|e| fail(format!("the edited YAML: {e}")))?;
        let target = resolve(&root, &segs).map_err(|u| fail(u.message(&segs)))?;
        let before = match resolve(&first, &segs) {
            Ok(Target::Node(n)) => Some(written(original, n)),
            _ => None,
        };
        let default = match (&before, defaults.as_ref().map(|d| resolve(d, &segs))) {
            (None, Some(Ok(Target::Node(n)))) => Some(written(resolved, n)),
            _ => None,
        };
        let (at, removed, insert) = edit(&text, &target, &value);
        text.replace_range(at..at + removed, &insert);
        let delta = insert.len() as isize - removed as isize;
        for c in &mut changes {
            c.span = shifted(c.span, (at, at + removed), delta);
        }
        let lead = insert.len() - insert.trim_start_matches('\n').len();
        let trail = insert.len() - insert.trim_end_matches('\n').len();
        changes.push(Change {
            arg: shown,
            path: diag::one_line(path),
            before,
            default,
            after: value,
            span: (at + lead, (at + insert.len() - trail).max(at + lead)),
        });
    }
    Ok(Edited { text, changes })
}

/// The most parts a path may have, and its most bytes: far more than any place in a
/// scenario needs, and few enough that matching dotted keys stays quick.
pub const PATH_PARTS: usize = 64;
pub const PATH_BYTES: usize = 1000;

/// A path's parts: dot-separated, none empty.
fn segments(path: &str) -> Result<Vec<String>, String> {
    if path.len() > PATH_BYTES || path.split('.').count() > PATH_PARTS {
        return Err(format!(
            "the path is longer than any in a scenario (at most {PATH_PARTS} parts and {PATH_BYTES} bytes)"
        ));
    }
    let segs: Vec<String> = path.split('.').map(str::to_string).collect();
    if path.is_empty() || segs.iter().any(|s| s.is_empty()) {
        return Err(format!(
            "the path `{}` has an empty part; write it as parts joined by dots, e.g. consumer_groups.payment-service.config.enable.auto.commit",
            diag::one_line(path)
        ));
    }
    Ok(segs)
}

/// The YAML to write for VALUE: a one-line scalar or flow list/map as written; one that
/// would read differently inside a flow map (`a,b`) double-quoted; and anything that is
/// not one such YAML value (`>= 1`, `[a`) as a double-quoted string.
fn value_text(value: &str) -> Result<String, String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(
            "the VALUE is empty; write null, \"\" for an empty string, or a value".to_string(),
        );
    }
    if v.contains(['\n', '\r']) {
        return Err("the VALUE has a line break; a VALUE is one line of YAML".to_string());
    }
    let quoted = || serde_json::to_string(v).unwrap_or_else(|_| format!("{v:?}"));
    match tree::parse(v) {
        Ok(node) if node.start == 0 && node.end == v.len() && plain_yaml(&node) => {
            let flow_indicator = v.contains([',', '[', ']', '{', '}']);
            match &node.kind {
                Kind::Scalar { .. } if flow_indicator && !v.starts_with(['"', '\'']) => {
                    Ok(quoted())
                }
                _ => Ok(v.to_string()),
            }
        }
        _ => Ok(quoted()),
    }
}

/// A VALUE that can be written anywhere: no block scalar (whose `|` would take the lines
/// after it) and no alias (whose anchor is not in the file).
fn plain_yaml(n: &Node) -> bool {
    match &n.kind {
        Kind::Scalar { block, .. } => !block,
        Kind::Alias => false,
        Kind::Seq { items } => items.iter().all(plain_yaml),
        Kind::Map { entries, flow_open } => {
            flow_open.is_some() && entries.iter().all(|(k, v)| plain_yaml(k) && plain_yaml(v))
        }
    }
}

/// Where a path leads.
enum Target<'a> {
    /// A value the file writes: replace it.
    Node(&'a Node),
    /// A key the map does not write (`keys[0]`), maybe with maps under it that are not
    /// written either (`keys[1..]`): add it.
    Insert { map: &'a Node, keys: Vec<String> },
}

/// Why a path did not resolve: after `at` parts resolved, part `at` (maybe with the parts
/// after it, for a dotted key) did not.
struct Unresolved {
    at: usize,
    why: Why,
}

enum Why {
    /// Not a key of this map, nor a field allowed here.
    NoField { candidates: Vec<String> },
    /// No element of this list has that name, and it is not an index.
    NoElement { names: Vec<String>, len: usize },
    /// The path goes on past a single value.
    Scalar,
    /// The path goes through an alias.
    Alias,
    /// A list (or a list's element) the file does not write: `--set` edits, it does not
    /// add list elements.
    AbsentList,
}

impl Unresolved {
    /// One line: what did not resolve, where, and the closest name.
    fn message(&self, segs: &[String]) -> String {
        let within = if self.at == 0 {
            "the top level".to_string()
        } else {
            format!("`{}`", diag::one_line(&segs[..self.at].join(".")))
        };
        let rest = &segs[self.at..];
        // The part that did not resolve: as many parts as the closest name matches (a
        // dotted property), else one.
        let named = |candidates: &[String]| match suggestion(rest, candidates) {
            Some((part, best)) => (part, format!("; did you mean `{best}`?")),
            None => (diag::one_line(&rest[0]), String::new()),
        };
        match &self.why {
            Why::NoField { candidates } => {
                let (part, hint) = named(candidates);
                format!("`{part}` is not a field of {within}{hint}")
            }
            Why::NoElement { names, len } => {
                let (part, hint) = named(names);
                let listed = if names.is_empty() {
                    String::new()
                } else {
                    let shown: Vec<String> =
                        names.iter().take(12).map(|n| diag::one_line(n)).collect();
                    format!(" (its names: {})", shown.join(", "))
                };
                format!(
                    "{within} has no element named `{part}`, and it is not an index below {len}{listed}{hint}"
                )
            }
            Why::Scalar => format!(
                "{within} is a single value; `{}` cannot be inside it",
                diag::one_line(&rest[0])
            ),
            Why::Alias => {
                format!("{within} is an alias (`*…`); set the value where its anchor is")
            }
            Why::AbsentList => format!(
                "the file has no list {within}; --set changes what a list holds, it does not add elements"
            ),
        }
    }
}

/// The candidate closest to some leading parts of `rest` (Jaro-Winkler ≥ 0.8, as for a
/// misspelt field in a file): (those parts, the candidate).
fn suggestion(rest: &[String], candidates: &[String]) -> Option<(String, String)> {
    let prefixes: Vec<String> = (1..=rest.len()).map(|j| rest[..j].join(".")).collect();
    candidates
        .iter()
        .flat_map(|c| {
            prefixes
                .iter()
                .map(move |p| (strsim::jaro_winkler(p, c), p, c))
        })
        .filter(|(score, _, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.2.cmp(a.2)))
        .map(|(_, p, c)| (diag::one_line(p), diag::one_line(c)))
}

/// Follows `segs` from the top of the file.
fn resolve<'a>(root: &'a Node, segs: &[String]) -> Result<Target<'a>, Unresolved> {
    let mut node = root;
    let mut shape = Shape::Struct(Ty::Scenario);
    let mut i = 0;
    while i < segs.len() {
        let (j, next, next_shape) = match &node.kind {
            Kind::Map { entries, .. } => match step_map(entries, shape, segs, i) {
                Ok(Some(found)) => found,
                Ok(None) => return absent(node, shape, segs, i),
                Err(why) => return Err(Unresolved { at: i, why }),
            },
            Kind::Seq { items } => {
                let (j, item) =
                    step_seq(items, segs, i).map_err(|why| Unresolved { at: i, why })?;
                let elem = match shape {
                    Shape::SeqOf(ty) => Shape::Struct(ty),
                    _ => Shape::Leaf,
                };
                (j, item, elem)
            }
            Kind::Scalar { .. } => {
                return Err(Unresolved {
                    at: i,
                    why: Why::Scalar,
                })
            }
            Kind::Alias => {
                return Err(Unresolved {
                    at: i,
                    why: Why::Alias,
                })
            }
        };
        node = next;
        shape = next_shape;
        i = j;
    }
    Ok(Target::Node(node))
}

/// In a map: the longest key written here (or allowed here, when that is longer) that the
/// path goes on with. `Ok(None)`: the longest is allowed but not written.
fn step_map<'a>(
    entries: &'a [(Node, Node)],
    shape: Shape,
    segs: &[String],
    i: usize,
) -> Result<Option<(usize, &'a Node, Shape)>, Why> {
    for j in (i + 1..=segs.len()).rev() {
        let key = segs[i..j].join(".");
        if let Some((_, v)) = entries.iter().find(|(k, _)| k.scalar() == Some(&key)) {
            let child = match shape {
                Shape::Struct(ty) => ty.child(&key),
                _ => Shape::Leaf,
            };
            return Ok(Some((j, v, child)));
        }
        let allowed = match shape {
            Shape::Struct(ty) => ty.fields().contains(&key.as_str()),
            // Any key may be added to a free map: the whole rest of the path is one.
            Shape::FreeMap => j == segs.len(),
            _ => false,
        };
        if allowed {
            return Ok(None);
        }
    }
    let mut candidates: Vec<String> = entries
        .iter()
        .filter_map(|(k, _)| k.scalar().map(str::to_string))
        .collect();
    if let Shape::Struct(ty) = shape {
        candidates.extend(ty.fields().iter().map(|f| f.to_string()));
    }
    Err(Why::NoField { candidates })
}

/// In a list: the element whose `name` is the longest the path goes on with, or the one
/// at a 0-based index.
fn step_seq<'a>(items: &'a [Node], segs: &[String], i: usize) -> Result<(usize, &'a Node), Why> {
    let names: Vec<Option<&str>> = items
        .iter()
        .map(|n| n.get("name").and_then(Node::scalar))
        .collect();
    for j in (i + 1..=segs.len()).rev() {
        let want = segs[i..j].join(".");
        if let Some(k) = names.iter().position(|n| *n == Some(want.as_str())) {
            return Ok((j, &items[k]));
        }
    }
    let index = segs[i]
        .parse::<usize>()
        .ok()
        .filter(|_| segs[i].bytes().all(|b| b.is_ascii_digit()));
    match index.and_then(|k| items.get(k)) {
        Some(item) => Ok((i + 1, item)),
        None => Err(Why::NoElement {
            names: names.into_iter().flatten().map(str::to_string).collect(),
            len: items.len(),
        }),
    }
}

/// A key `map` does not write at part `i`: the keys to add, each the longest field allowed
/// at its level (or the whole rest, in a free map).
fn absent<'a>(
    map: &'a Node,
    mut shape: Shape,
    segs: &[String],
    mut i: usize,
) -> Result<Target<'a>, Unresolved> {
    let mut keys = Vec::new();
    while i < segs.len() {
        let (j, child) = match shape {
            Shape::Struct(ty) => {
                let found = (i + 1..=segs.len())
                    .rev()
                    .find(|&j| ty.fields().contains(&segs[i..j].join(".").as_str()));
                let Some(j) = found else {
                    let candidates = ty.fields().iter().map(|f| f.to_string()).collect();
                    return Err(Unresolved {
                        at: i,
                        why: Why::NoField { candidates },
                    });
                };
                (j, ty.child(&segs[i..j].join(".")))
            }
            Shape::FreeMap => (segs.len(), Shape::Leaf),
            Shape::SeqOf(_) => {
                return Err(Unresolved {
                    at: i,
                    why: Why::AbsentList,
                })
            }
            Shape::Leaf => {
                return Err(Unresolved {
                    at: i,
                    why: Why::Scalar,
                })
            }
        };
        keys.push(segs[i..j].join("."));
        shape = child;
        i = j;
    }
    // A list the file does not write may still be set whole: VALUE is the list.
    Ok(Target::Insert { map, keys })
}

/// The bytes to replace for a target: (offset, length removed, text inserted).
fn edit(text: &str, target: &Target, value: &str) -> (usize, usize, String) {
    match target {
        Target::Node(n) => replace(text, n, value),
        Target::Insert { map, keys } => insert(text, map, keys, value),
    }
}

fn replace(text: &str, n: &Node, value: &str) -> (usize, usize, String) {
    match &n.kind {
        // A `|` or `>` block: from its indicator to its end, keeping the final line break.
        Kind::Scalar { block: true, .. } => {
            let from = text[..n.start].rfind(['|', '>']).unwrap_or(n.start);
            let newline = if text[..n.end].ends_with('\n') {
                "\n"
            } else {
                ""
            };
            (from, n.end - from, format!("{value}{newline}"))
        }
        // `key:` with nothing after it: write the value after the colon.
        Kind::Scalar { value: v, .. } if v.is_empty() && n.start == n.end => {
            let colon = text[..n.start].rfind(':').map_or(n.start, |c| c + 1);
            (colon, 0, format!(" {value}"))
        }
        _ => (n.start, n.end - n.start, value.to_string()),
    }
}

/// Adds `keys[0]: { keys[1]: { … VALUE } }` to `map`: inside a flow map after its last
/// entry; in a block map as a line of its own after the map's last line, at its indent.
fn insert(text: &str, map: &Node, keys: &[String], value: &str) -> (usize, usize, String) {
    let mut entry = value.to_string();
    for k in keys.iter().skip(1).rev() {
        entry = format!("{{ {}: {entry} }}", key_text(k));
    }
    let entry = format!("{}: {entry}", key_text(&keys[0]));
    let Kind::Map { entries, flow_open } = &map.kind else {
        unreachable!("only a map is inserted into")
    };
    match (flow_open, entries.last()) {
        (Some(_), Some((_, last))) => (last.end, 0, format!(", {entry}")),
        (Some(open), None) => (*open, 0, format!(" {entry} ")),
        (None, _) => {
            let indent = " ".repeat(map.col);
            let end = map.end.min(text.len());
            if end > 0 && text.as_bytes()[end - 1] == b'\n' {
                (end, 0, format!("{indent}{entry}\n"))
            } else {
                // After anything else on the map's last line (a comment).
                let eol = text[end..].find('\n').map_or(text.len(), |k| end + k);
                (eol, 0, format!("\n{indent}{entry}"))
            }
        }
    }
}

/// A key as YAML: plain when it is a simple name, double-quoted otherwise.
fn key_text(k: &str) -> String {
    let simple = k
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && k.starts_with(|c: char| c.is_ascii_alphanumeric());
    if simple {
        k.to_string()
    } else {
        serde_json::to_string(k).unwrap_or_else(|_| format!("{k:?}"))
    }
}

/// A written value for a reader: a scalar as written (quotes kept), a collection's text
/// on one line, at most 60 characters.
fn written(text: &str, n: &Node) -> String {
    let raw = match &n.kind {
        Kind::Scalar {
            value, block: true, ..
        } => serde_json::to_string(value).unwrap_or_default(),
        _ => text.get(n.start..n.end).unwrap_or("").to_string(),
    };
    let one: Vec<&str> = raw.split_whitespace().collect();
    clip(&diag::one_line(&one.join(" ")), 60)
}

/// `s` cut to at most `n` characters, the last of them `…` when cut.
pub(super) fn clip(s: &str, n: usize) -> String {
    if s.chars().count() > n {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    } else {
        s.to_string()
    }
}

/// A byte range after an edit replaced `edited` with text `delta` bytes longer.
fn shifted(span: (usize, usize), edited: (usize, usize), delta: isize) -> (usize, usize) {
    let move_by = |x: usize| (x as isize + delta).max(0) as usize;
    if span.0 >= edited.1 {
        (move_by(span.0), move_by(span.1))
    } else if span.1 <= edited.0 {
        span
    } else {
        // Overlapping edits (the same path set twice): the later one's bytes cover it.
        (span.0.min(edited.0), move_by(span.1.max(edited.1)))
    }
}

/// The edited scenario's problems, each saying which `--set` wrote its line, or, on a line
/// none wrote, that it follows from the --set values; rendered against the edited text.
pub fn render_problems(file: &str, edited: &Edited, problems: &[Diagnostic]) -> String {
    // Counted on bytes: a span's last byte may sit inside a multi-byte character.
    let line_of = |byte: usize| {
        edited.text.as_bytes()[..byte.min(edited.text.len())]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    };
    let lines: Vec<(usize, usize)> = edited
        .changes
        .iter()
        .map(|c| (line_of(c.span.0), line_of(c.span.1.max(c.span.0 + 1) - 1)))
        .collect();
    let all: Vec<String> = edited
        .changes
        .iter()
        .map(|c| format!("--set {}", c.arg))
        .collect();
    let tagged: Vec<Diagnostic> = problems
        .iter()
        .map(|p| {
            let line = p.line as usize;
            let by = edited
                .changes
                .iter()
                .zip(&lines)
                .rev()
                .find(|(_, (a, b))| (*a..=*b).contains(&line));
            let note = match by {
                Some((c, _)) => format!("written by --set {}", c.arg),
                None => format!("after {}", all.join(", ")),
            };
            Diagnostic::new(p.line, p.column, format!("{} ({note})", p.message))
        })
        .collect();
    format!(
        "the scenario with the --set values applied does not load (lines are those of the edited text):\n{}",
        diag::render(file, &edited.text, &tagged)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "name: s\ntopics:\n  - { name: order.placed, partitions: 3 }\nconsumer_groups:\n  - name: pay\n    topics: [order.placed]\n    config: { enable.auto.commit: false }   # at-least-once\n  - name: ship\n    topics: [order.placed]\nrun: { until_ms: 100 }\n";

    fn set(sets: &[&str]) -> Result<Edited, String> {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        apply(
            FILE,
            "consumer_groups:\n  - name: pay\n    config: { auto.offset.reset: latest }\n",
            &sets,
        )
    }

    #[test]
    fn a_written_value_is_replaced_in_place_and_nothing_else_moves() {
        let e = set(&["consumer_groups.pay.config.enable.auto.commit=true"]).unwrap();
        assert_eq!(
            e.text,
            FILE.replace("enable.auto.commit: false", "enable.auto.commit: true")
        );
        assert_eq!(e.changes[0].before.as_deref(), Some("false"));
        assert_eq!(e.changes[0].after, "true");
    }

    #[test]
    fn an_absent_dotted_property_is_added_to_the_flow_map_with_its_default_shown() {
        let e = set(&["consumer_groups.0.config.auto.offset.reset=earliest"]).unwrap();
        assert!(e
            .text
            .contains("{ enable.auto.commit: false, auto.offset.reset: earliest }"));
        assert_eq!(e.changes[0].before_text(), "(default latest)");
    }

    #[test]
    fn an_absent_map_is_added_as_a_line_of_its_own_at_the_maps_indent() {
        let e = set(&["consumer_groups.ship.config.max.poll.records=5"]).unwrap();
        assert!(
            e.text
                .contains("    topics: [order.placed]\n    config: { max.poll.records: 5 }\nrun:"),
            "{}",
            e.text
        );
        assert_eq!(e.changes[0].before_text(), "(not set)");
    }

    #[test]
    fn a_name_with_dots_and_an_index_both_choose_an_element() {
        let e = set(&[
            "topics.order.placed.partitions=6",
            "consumer_groups.1.topics=[a, b]",
        ])
        .unwrap();
        assert!(e.text.contains("{ name: order.placed, partitions: 6 }"));
        assert!(e.text.contains("  - name: ship\n    topics: [a, b]\n"));
    }

    #[test]
    fn an_unknown_part_is_named_with_the_closest_field() {
        let err = set(&["consumer_groups.pay.config.enable.auto.comit=true"]).unwrap_err();
        assert_eq!(
            err,
            "--set consumer_groups.pay.config.enable.auto.comit=true: `enable.auto.comit` is not a field of `consumer_groups.pay.config`; did you mean `enable.auto.commit`?"
        );
        let err = set(&["consumer_groups.payy.members=2"]).unwrap_err();
        assert!(err.contains("has no element named `payy`"), "{err}");
        assert!(err.contains("did you mean `pay`?"), "{err}");
        let err = set(&["run.until_ms.x=1"]).unwrap_err();
        assert!(err.contains("`run.until_ms` is a single value"), "{err}");
    }

    #[test]
    fn block_maps_get_a_line_at_their_indent_after_any_comment_and_blocks_are_replaced_whole() {
        let file = "name: s\nlesson: |\n  two\n  lines\ntopics:\n  - name: orders   # the topic\n    partitions: 2\nconsumer_groups:\n  - name: g\n    processing:\n      time_ms: 2   # slow\nrun: { until_ms: 10 }\n";
        let sets = [
            "consumer_groups.g.processing.commit=after-batch",
            "consumer_groups.g.config.enable.auto.commit=false",
            "lesson=short",
            "topics.orders.config.retention.ms=100",
        ]
        .map(String::from);
        let e = apply(file, "", &sets).unwrap();
        assert_eq!(
            e.text,
            "name: s\nlesson: short\ntopics:\n  - name: orders   # the topic\n    partitions: 2\n    config: { retention.ms: 100 }\nconsumer_groups:\n  - name: g\n    processing:\n      time_ms: 2   # slow\n      commit: after-batch\n    config: { enable.auto.commit: false }\nrun: { until_ms: 10 }\n"
        );
        // Each change knows its bytes in the final text, after the edits that followed it.
        let at = |k: usize| &e.text[e.changes[k].span.0..e.changes[k].span.1];
        assert_eq!(at(0), "      commit: after-batch");
        assert_eq!(at(1), "    config: { enable.auto.commit: false }");
        assert_eq!(at(2), "short");
        assert_eq!(at(3), "    config: { retention.ms: 100 }");
    }

    #[test]
    fn a_value_that_is_not_one_yaml_value_is_written_as_a_string() {
        assert_eq!(value_text(">= 1").unwrap(), "\">= 1\"");
        assert_eq!(value_text("a,b").unwrap(), "\"a,b\"");
        assert_eq!(value_text("[a, b]").unwrap(), "[a, b]");
        assert_eq!(value_text("|").unwrap(), "\"|\"");
        assert_eq!(value_text("'x'").unwrap(), "'x'");
        assert!(value_text("").is_err());
    }
}
