//! The text report's colours, in one place: which tone each part of the report takes, and
//! the anstyle `Style` of each tone.
//!
//! The report is written once, with `Paint::ANSI` or `Paint::PLAIN`. Plain paints every
//! tone with an empty style, whose escapes render as nothing, so the plain text is the
//! styled text with its escapes taken out, byte for byte (a test holds it to that). The
//! binary always writes `Paint::ANSI` through anstream, which strips the escapes unless
//! stdout is a terminal that wants colour (`--color`, `NO_COLOR`, `CLICOLOR_FORCE`).
//! Nothing here decides what a row says; only how it looks.

use anstyle::{AnsiColor, Style};

/// What a piece of text is, for its colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// Section headings: "Timeline", "Summary", "Anomalies (N)", "Verdict".
    Heading,
    /// A row that carries a loss or a duplicate effect, and those anomaly kinds: red.
    Loss,
    /// A row that carries any other anomaly, and those anomaly kinds: yellow.
    Anomaly,
    /// Crashes, restarts, outages and other injected faults: magenta.
    Fault,
    /// Group membership: joins, rebalances, generations, revocations: cyan.
    Rebalance,
    /// Routine traffic (sends, appends, acks, commits, high watermarks): dim.
    Routine,
    /// A verdict that holds, an expectation met: green.
    Pass,
    /// A verdict that fails, an expectation missed: bold red.
    Fail,
    /// The breakpoint line and the stepping prompt: bold.
    Stop,
    /// Everything else: no style.
    Plain,
}

/// Whether the report's text carries ANSI styles. `Paint::PLAIN` gives exactly the
/// characters of `Paint::ANSI` without the escapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paint(bool);

impl Paint {
    /// No escapes: for snapshots, files and library callers.
    pub const PLAIN: Paint = Paint(false);
    /// ANSI escapes around each styled piece: for anstream to pass on or strip.
    pub const ANSI: Paint = Paint(true);

    /// The style of `tone` (empty when plain).
    pub fn style(self, tone: Tone) -> Style {
        if !self.0 {
            return Style::new();
        }
        let fg = |c: AnsiColor| Style::new().fg_color(Some(c.into()));
        match tone {
            Tone::Heading => Style::new().bold(),
            Tone::Loss => fg(AnsiColor::Red),
            Tone::Anomaly => fg(AnsiColor::Yellow),
            Tone::Fault => fg(AnsiColor::Magenta),
            Tone::Rebalance => fg(AnsiColor::Cyan),
            Tone::Routine => Style::new().dimmed(),
            Tone::Pass => fg(AnsiColor::Green).bold(),
            Tone::Fail => fg(AnsiColor::Red).bold(),
            Tone::Stop => Style::new().bold(),
            Tone::Plain => Style::new(),
        }
    }

    /// `text` in `tone`: the style's escape, the text, the reset (both empty when plain or
    /// when the tone has no style). `text` should hold no line break, so a pager that
    /// shows a line alone still shows its colour.
    pub fn paint(self, tone: Tone, text: &str) -> String {
        let style = self.style(tone);
        format!("{}{text}{}", style.render(), style.render_reset())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paint_adds_nothing_and_ansi_paint_wraps_in_escapes() {
        for tone in [
            Tone::Heading,
            Tone::Loss,
            Tone::Routine,
            Tone::Pass,
            Tone::Plain,
        ] {
            assert_eq!(Paint::PLAIN.paint(tone, "p0@3"), "p0@3");
        }
        let red = Paint::ANSI.paint(Tone::Loss, "lost");
        assert!(red.starts_with('\u{1b}') && red.contains("lost") && red.ends_with('m'));
        assert_eq!(anstream::adapter::strip_str(&red).to_string(), "lost");
        // A tone with no style costs no escapes, even in colour.
        assert_eq!(Paint::ANSI.paint(Tone::Plain, "x"), "x");
    }
}
