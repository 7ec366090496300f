//! User-facing diagnostics for scenario files: `FILE:LINE:COL: message` and a source snippet.
//!
//! Both stages of loading report through here (YAML syntax and shape from serde-saphyr, then
//! meaning from our own validation), so every error a student sees has the same form.
//! Nothing here panics on any input: lines and columns past the end are clamped.

use std::fmt::Write;

/// One problem in a scenario file, at a 1-based line and column (0 when unknown).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub line: u64,
    pub column: u64,
    pub message: String,
}

impl Diagnostic {
    pub fn new(line: u64, column: u64, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            line,
            column,
            message: message.into(),
        }
    }
}

/// Renders diagnostics against the file's text, in line order.
/// Whether `c` is safe to print on a terminal: no control character (which could move
/// the cursor, clear the screen or set the window title), no line or paragraph separator,
/// and nothing that draws nothing: Unicode's default-ignorable code points
/// (`Default_Ignorable_Code_Point` in DerivedCoreProperties.txt: zero-width marks and
/// joiners, bidirectional controls and overrides, the soft hyphen, variation selectors,
/// tags, invisible operators), which could make text read as something it is not, and
/// the interlinear annotation marks. Tabs are allowed where a caller allows them.
pub fn terminal_safe(c: char) -> bool {
    !(c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'..='\u{1160}'
                | '\u{17B4}'..='\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFFB}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        ))
}

/// `s` with every character that is not `terminal_safe` (tabs kept) shown as U+FFFD, one
/// for one, so columns still line up.
pub fn visible(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c == '\t' || terminal_safe(c) {
                c
            } else {
                '\u{FFFD}'
            }
        })
        .collect()
}

/// `s` for a one-line message: every character that is not `terminal_safe`, and every
/// whitespace other than a plain space (tabs, no-break and ideographic spaces, line
/// breaks), shown as U+FFFD.
pub fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c == ' ' || (terminal_safe(c) && !c.is_whitespace()) {
                c
            } else {
                '\u{FFFD}'
            }
        })
        .collect()
}

pub fn render(file: &str, source: &str, diagnostics: &[Diagnostic]) -> String {
    let mut sorted: Vec<&Diagnostic> = diagnostics.iter().collect();
    sorted.sort_by_key(|d| (d.line, d.column));
    let mut out = String::new();
    for d in sorted {
        render_one(&mut out, file, source, d);
    }
    out
}

fn render_one(out: &mut String, file: &str, source: &str, d: &Diagnostic) {
    let line = d.line.max(1);
    let column = d.column.max(1);
    let _ = writeln!(
        out,
        "{}:{line}:{column}: {}",
        visible(file),
        visible(&d.message)
    );
    let Some(text) = source.lines().nth((line - 1) as usize) else {
        return;
    };
    // A long line (a minified file, a pasted blob) is shown as a window of 120 characters
    // around the column, with `…` where it is cut, so the caret points at the right place.
    const WIDTH: usize = 120;
    let chars: Vec<char> = text.chars().collect();
    let col = (column as usize - 1).min(chars.len());
    let start = if chars.len() <= WIDTH {
        0
    } else {
        col.saturating_sub(WIDTH / 2).min(chars.len() - WIDTH)
    };
    let end = (start + WIDTH).min(chars.len());
    let mut window = String::new();
    if start > 0 {
        window.push('…');
    }
    window.extend(&chars[start..end]);
    if end < chars.len() {
        window.push('…');
    }
    let shown = visible(&window);
    let gutter = line.to_string().len();
    let _ = writeln!(out, "{:gutter$} |", "");
    let _ = writeln!(out, "{line} | {shown}");
    let caret_at = col - start + usize::from(start > 0);
    let pad: String = shown
        .chars()
        .take(caret_at)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let _ = writeln!(out, "{:gutter$} | {pad}^", "");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every invisible character the probe found printed raw (default-ignorable code
    /// points beyond the zero-width marks and overrides) is unsafe; visible text, emoji
    /// without a selector and accented letters are safe.
    #[test]
    fn default_ignorable_code_points_are_not_terminal_safe() {
        for c in [
            '\u{061C}',
            '\u{2060}',
            '\u{2064}',
            '\u{206A}',
            '\u{206F}',
            '\u{00AD}',
            '\u{034F}',
            '\u{180E}',
            '\u{FE00}',
            '\u{FE0F}',
            '\u{FFF9}',
            '\u{FFFB}',
            '\u{E0001}',
            '\u{E007F}',
            '\u{1D173}',
            '\u{200B}',
            '\u{202E}',
            '\u{2066}',
            '\u{FEFF}',
            '\u{1B}',
        ] {
            assert!(!terminal_safe(c), "U+{:04X}", c as u32);
        }
        for c in ['a', 'é', '日', '❤', '€', ' ', '-'] {
            assert!(terminal_safe(c), "{c}");
        }
        assert_eq!(visible("a\u{2062}b"), "a\u{FFFD}b");
    }

    #[test]
    fn a_long_line_is_shown_around_the_column_with_the_caret_under_it() {
        let src = format!("{}BAD{}\n", "x".repeat(300), "y".repeat(300));
        let out = render("f.yaml", &src, &[Diagnostic::new(1, 301, "here")]);
        let lines: Vec<&str> = out.lines().collect();
        let snippet = lines[2].trim_start_matches("1 | ");
        let caret = lines[3].trim_start_matches("  | ");
        assert!(
            snippet.starts_with('…') && snippet.ends_with('…'),
            "{snippet}"
        );
        let at = caret.chars().count() - 1;
        assert_eq!(
            snippet.chars().nth(at),
            Some('B'),
            "the caret is under the column"
        );
    }

    #[test]
    fn a_diagnostic_points_a_caret_at_its_column() {
        let src = "name: x\ncount: -5\n";
        let out = render(
            "f.yaml",
            src,
            &[Diagnostic::new(2, 8, "expected a count, got -5")],
        );
        assert_eq!(
            out,
            "f.yaml:2:8: expected a count, got -5\n  |\n2 | count: -5\n  |        ^\n"
        );
    }

    #[test]
    fn positions_past_the_end_do_not_panic() {
        let out = render("f.yaml", "", &[Diagnostic::new(99, 999, "empty")]);
        assert_eq!(out, "f.yaml:99:999: empty\n");
    }
}
