//! A scenario file's YAML as a tree of nodes with their byte spans, read from the same
//! parser serde-saphyr uses (`granit_parser`), so that `--set` can find a value where it
//! is written and replace exactly those bytes. What does not live here: what a path means
//! (`set.rs`) and which fields a scenario may have (`schema.rs`).

use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, Span, StructureStyle};

/// Nesting a tree may have. A scenario that loaded is at most 32 deep (its YAML budget);
/// a `--set` VALUE is parsed here too, and a deeper one is refused rather than recursed into.
const DEPTH: usize = 64;

/// One YAML node: where it is written and what it holds.
#[derive(Debug)]
pub(super) struct Node {
    /// Byte offset of its first character (for a block collection, its first entry).
    pub start: usize,
    /// Byte offset just past its last character (for a block collection, the end of its
    /// last entry's value; a block scalar's includes its final line break).
    pub end: usize,
    /// 0-based column of `start`, in characters.
    pub col: usize,
    pub kind: Kind,
}

#[derive(Debug)]
pub(super) enum Kind {
    Scalar {
        value: String,
        /// A `|` or `>` block scalar, whose indicator is written before `start`.
        block: bool,
    },
    Seq {
        items: Vec<Node>,
    },
    Map {
        entries: Vec<(Node, Node)>,
        /// A flow mapping `{ … }`: the byte just past its `{`. None for a block mapping.
        flow_open: Option<usize>,
    },
    /// `*name`: the value is written elsewhere.
    Alias,
}

impl Node {
    /// The value of a mapping's key `key`, if written.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            Kind::Map { entries, .. } => entries.iter().find(|(k, _)| k.scalar() == Some(key)),
            _ => None,
        }
        .map(|(_, v)| v)
    }

    /// A scalar's value.
    pub fn scalar(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }
}

/// The one document of `text` as a tree. Errors are the parser's, in one line.
pub(super) fn parse(text: &str) -> Result<Node, String> {
    let mut events = Parser::new_from_str(text).filter_map(|e| match e {
        // Comments and anchor names are presentation, not nodes.
        Ok((Event::Comment(..) | Event::Anchor(..), _)) => None,
        other => Some(other.map_err(|e| e.to_string())),
    });
    let mut root = None;
    while let Some(e) = events.next() {
        let (event, span) = e?;
        match event {
            Event::StreamStart | Event::DocumentStart(..) | Event::DocumentEnd => {}
            Event::StreamEnd => break,
            _ if root.is_some() => return Err("more than one YAML document".to_string()),
            event => root = Some(node(event, span, &mut events, 0)?),
        }
    }
    root.ok_or_else(|| "no YAML value".to_string())
}

/// A node from its first event; collections read their entries from `events`.
fn node<'a>(
    event: Event<'a>,
    span: Span,
    events: &mut (impl Iterator<Item = Result<(Event<'a>, Span), String>> + ?Sized),
    depth: usize,
) -> Result<Node, String> {
    if depth > DEPTH {
        return Err(format!("nested more than {DEPTH} levels deep"));
    }
    let start = byte(&span.start)?;
    let col = span.start.col();
    let kind = match event {
        Event::Scalar(value, style, ..) => Kind::Scalar {
            value: value.into_owned(),
            block: matches!(style, ScalarStyle::Literal | ScalarStyle::Folded),
        },
        Event::Alias(_) | Event::UnresolvedAlias(_) => Kind::Alias,
        Event::SequenceStart(style, ..) => {
            let (items, end) = children(events, depth)?;
            let end = flow_end(style, end, items.last())?;
            return Ok(Node {
                start,
                end,
                col,
                kind: Kind::Seq { items },
            });
        }
        Event::MappingStart(style, ..) => {
            let (flat, end) = children(events, depth)?;
            let end = flow_end(style, end, flat.last())?;
            let flow_open = match style {
                StructureStyle::Flow => Some(byte(&span.end)?),
                StructureStyle::Block => None,
            };
            let mut entries = Vec::with_capacity(flat.len() / 2);
            let mut it = flat.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                entries.push((k, v));
            }
            return Ok(Node {
                start,
                end,
                col,
                kind: Kind::Map { entries, flow_open },
            });
        }
        other => return Err(format!("unexpected YAML event {other:?}")),
    };
    Ok(Node {
        start,
        end: byte(&span.end)?,
        col,
        kind,
    })
}

/// The nodes of a collection up to its end event, and that event's span.
fn children<'a>(
    events: &mut (impl Iterator<Item = Result<(Event<'a>, Span), String>> + ?Sized),
    depth: usize,
) -> Result<(Vec<Node>, Span), String> {
    let mut out = Vec::new();
    while let Some(e) = events.next() {
        let (event, span) = e?;
        match event {
            Event::SequenceEnd | Event::MappingEnd => return Ok((out, span)),
            event => out.push(node(event, span, events, depth + 1)?),
        }
    }
    Err("the YAML ends inside a list or map".to_string())
}

/// Where a collection ends: a flow one at its closing bracket; a block one where its last
/// value ends (its end event sits at the next token, maybe lines further on).
fn flow_end(style: StructureStyle, end: Span, last: Option<&Node>) -> Result<usize, String> {
    match (style, last) {
        (StructureStyle::Flow, _) => byte(&end.end),
        (StructureStyle::Block, Some(last)) => Ok(last.end),
        (StructureStyle::Block, None) => byte(&end.start),
    }
}

fn byte(m: &serde_saphyr::granit_parser::Marker) -> Result<usize, String> {
    m.byte_offset()
        .ok_or_else(|| "the YAML parser gave no byte offset".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_cover_what_is_written_in_block_and_flow_style() {
        let text = "a: 1\nb:\n  - { name: x, c: [1, 2] }  # note\n  - name: y\n    d: |\n      t\ne: \"q\"\n";
        let root = parse(text).unwrap();
        let slice = |n: &Node| &text[n.start..n.end];
        assert_eq!(slice(root.get("a").unwrap()), "1");
        let Kind::Seq { items } = &root.get("b").unwrap().kind else {
            panic!("b is a list")
        };
        assert_eq!(slice(&items[0]), "{ name: x, c: [1, 2] }");
        assert_eq!(slice(items[0].get("c").unwrap()), "[1, 2]");
        assert_eq!(slice(&items[1]), "name: y\n    d: |\n      t\n");
        assert_eq!(items[1].col, 4);
        assert_eq!(slice(root.get("e").unwrap()), "\"q\"");
        assert_eq!(root.get("e").unwrap().scalar(), Some("q"));
    }

    #[test]
    fn a_deeply_nested_value_is_refused_not_recursed_into() {
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        let err = parse(&deep).unwrap_err();
        assert!(err.contains("nested") || err.contains("depth"), "{err}");
    }
}
