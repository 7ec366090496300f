//! Golden files for `kafkasim check PATH... --golden DIR [--update]`: each scenario's text
//! report and JSON verdict, exactly as `kafkasim run FILE` and `run FILE --format json`
//! print them, kept in files a team commits, and a readable unified diff when a run no
//! longer matches them.
//!
//! Nothing here runs anything but the ordinary run of a scenario, and nothing changes a
//! verdict: the golden comparison is one more check beside the scenario's `expect:` block.
//! What does not live here: finding the files and printing the lines (`main.rs`).

use crate::check::Verdict;
use crate::diag;
use crate::report;
use crate::scenario::Scenario;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use similar::{Algorithm, ChangeTag, TextDiff};
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// Timeline rows in the golden text: `run`'s default (`--timeline auto`).
pub const TIMELINE_ROWS: usize = 1000;
/// Lines of context around each change in a diff.
pub const CONTEXT: usize = 3;
/// Diff lines printed per file; the rest are counted.
pub const DIFF_LINES_SHOWN: usize = 80;
/// Lines that differ (after the common start and end) beyond which two files are not
/// diffed line by line, which could take long, but shown from their first difference.
pub const DIFF_LINES_MAX: usize = 5000;

/// A scenario's two golden outputs, and its verdict.
pub struct Outputs {
    /// What `kafkasim run FILE` prints.
    pub text: String,
    /// What `kafkasim run FILE --format json` prints.
    pub json: String,
    pub verdict: Verdict,
}

/// Runs `sc` once with its own seed and writes both outputs as `run` would for `file`, the
/// path as the user typed it (the text report's reproduce line names it).
pub fn outputs(file: &str, sc: &Scenario) -> Outputs {
    let seed = sc.seed;
    let reproduce = format!("kafkasim run {file} --seed {seed}");
    let mut rows = report::Timeline::new(Some(TIMELINE_ROWS));
    let (result, verdict) = crate::simulate_with(sc, seed, &mut rows);
    let opts = report::TextOptions {
        reproduce: &reproduce,
        timeline_limit: Some(TIMELINE_ROWS),
    };
    Outputs {
        text: report::text(sc, seed, &result, &verdict, &rows, &opts),
        json: report::json(sc, seed, &result, &verdict),
        verdict,
    }
}

/// What `check --golden` has to say about one scenario.
pub struct Checked {
    /// Its line (`PASS  …` or `FAIL  …`), any note line, and any diffs.
    pub text: String,
    /// Every expectation holds and, without `--update`, both golden files match.
    pub pass: bool,
    /// Golden files written or rewritten (`--update`).
    pub written: usize,
    /// Golden files `--update` found already equal.
    pub unchanged: usize,
}

/// Compares `out` with the golden files `DIR/NAME.txt` and `DIR/NAME.json`, or with
/// `update` writes those that are missing or differ. `file` is the scenario's path as
/// shown. Errors: a golden file that cannot be read or written.
pub fn check_one(
    file: &str,
    out: &Outputs,
    (dir, name): (&Path, &Path),
    update: bool,
) -> Result<Checked, String> {
    let mut problems: Vec<String> = out
        .verdict
        .expectations
        .iter()
        .filter(|e| !e.holds)
        .map(|e| e.describe())
        .collect();
    let mut c = Checked {
        text: String::new(),
        pass: true,
        written: 0,
        unchanged: 0,
    };
    let (mut notes, mut missing, mut differ, mut diffs) =
        (Vec::new(), Vec::new(), Vec::new(), String::new());
    for (ext, actual, is_json) in [("txt", &out.text, false), ("json", &out.json, true)] {
        let path = self::file(dir, name, ext);
        let shown = diag::visible(&path.display().to_string());
        let old = read(&path, actual.len())
            .map_err(|e| format!("{shown}: cannot read the golden file: {e}"))?;
        let same = old.as_deref() == Some(actual.as_bytes());
        match (update, old) {
            (true, _) if same => {
                c.unchanged += 1;
                notes.push(format!("{shown} unchanged"));
            }
            (true, old) => {
                let parent = path.parent().unwrap_or(Path::new("."));
                std::fs::create_dir_all(parent)
                    .and_then(|()| std::fs::write(&path, actual))
                    .map_err(|e| format!("{shown}: cannot write the golden file: {e}"))?;
                c.written += 1;
                let what = if old.is_some() { "updated" } else { "written" };
                notes.push(format!("{shown} {what}"));
            }
            (false, None) => missing.push(shown),
            (false, Some(_)) if same => {}
            (false, Some(old)) => {
                let json_flag = if is_json { " --format json" } else { "" };
                let this_run = format!("kafkasim run {file}{json_flag}");
                diffs.push_str(&diff(&old, actual, (&shown, &this_run), is_json, "    "));
                differ.push(shown);
            }
        }
    }
    if !missing.is_empty() {
        let (files, them) = if missing.len() == 1 {
            ("file", "it")
        } else {
            ("files", "them")
        };
        problems.push(format!(
            "golden {files} missing: {} (--update writes {them})",
            missing.join(", ")
        ));
    }
    if !differ.is_empty() {
        problems.push(format!("output differs from {}", differ.join(", ")));
    }
    let expectations = out.verdict.expectations.len();
    let note = if update {
        notes.join(", ")
    } else {
        "golden files match".to_string()
    };
    c.pass = problems.is_empty();
    let file = diag::visible(file);
    if c.pass {
        let _ = writeln!(
            c.text,
            "PASS  {file}  ({expectations} expectations; {note})"
        );
    } else {
        let _ = writeln!(c.text, "FAIL  {file}  {}", problems.join("; "));
        if update {
            let _ = writeln!(c.text, "      ({note})");
        }
    }
    c.text.push_str(&diffs);
    Ok(c)
}

/// Each file's golden name, without extension: its path relative to the PATH argument (a
/// folder) it was found under, or, for a file given directly, its file name. Errors when
/// two files would share one name.
pub fn names(paths: &[PathBuf], files: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out: Vec<PathBuf> = Vec::with_capacity(files.len());
    for f in files {
        let file_name = || {
            f.file_name()
                .map(PathBuf::from)
                .unwrap_or_else(|| f.clone())
        };
        let rel = if paths.contains(f) {
            file_name()
        } else {
            paths
                .iter()
                .filter(|p| p.is_dir())
                .find_map(|p| f.strip_prefix(p).ok())
                .filter(|r| !r.as_os_str().is_empty())
                .map_or_else(file_name, Path::to_path_buf)
        };
        let stem = match rel.extension().and_then(|e| e.to_str()) {
            Some("yaml" | "yml") => rel.with_extension(""),
            _ => rel,
        };
        if let Some(k) = out.iter().position(|o| *o == stem) {
            if files[k] != *f {
                let stem = diag::visible(&stem.display().to_string());
                // Two files of one folder differ only in `.yaml` and `.yml`: a common
                // folder does not help; a rename does.
                let advice = if files[k].parent() == f.parent() {
                    "rename one of them"
                } else {
                    "check their common folder instead"
                };
                return Err(format!(
                    "{} and {} would share the golden files {stem}.txt and {stem}.json; {advice}",
                    diag::visible(&files[k].display().to_string()),
                    diag::visible(&f.display().to_string()),
                ));
            }
        }
        out.push(stem);
    }
    Ok(out)
}

/// `DIR/NAME.EXT`, keeping any dots in NAME (`v1.2` stays `v1.2.txt`).
pub fn file(dir: &Path, name: &Path, ext: &str) -> PathBuf {
    let mut s = dir.join(name).into_os_string();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

/// A golden file's content, or None when it does not exist. A file much larger than the
/// output it is compared with is not read: it cannot match, and need not fill memory.
pub fn read(path: &Path, output_len: usize) -> std::io::Result<Option<Vec<u8>>> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let cap = (output_len as u64)
        .saturating_mul(4)
        .saturating_add(1 << 20);
    if meta.len() > cap {
        let note = format!(
            "(a file of {} bytes, too large to be this output of {output_len} bytes)\n",
            meta.len()
        );
        return Ok(Some(note.into_bytes()));
    }
    std::fs::read(path).map(Some)
}

/// A unified diff from `expected` (the golden file) to `actual` (this run), with
/// `CONTEXT` lines around each change, at most `DIFF_LINES_SHOWN` lines, each indented by
/// `indent`. JSON is compared one value per line (`json_lines`), so a changed counter is
/// one line, not the whole document.
pub fn diff(
    expected: &[u8],
    actual: &str,
    labels: (&str, &str),
    is_json: bool,
    indent: &str,
) -> String {
    let expected = String::from_utf8_lossy(expected);
    let flat = |s: &str| if is_json { json_lines(s) } else { None };
    let (old, new, note) = match (flat(&expected), flat(actual)) {
        (Some(o), Some(n)) => (o, n, " (one JSON value per line)"),
        _ => (lines(&expected), lines(actual), ""),
    };
    let mut out = String::new();
    let _ = writeln!(out, "{indent}--- {}{note}", diag::visible(labels.0));
    let _ = writeln!(out, "{indent}+++ {}{note}", diag::visible(labels.1));
    let old: Vec<&str> = old.iter().map(String::as_str).collect();
    let new: Vec<&str> = new.iter().map(String::as_str).collect();
    let mut shown = 0;
    let mut more = 0;
    let mut emit = |out: &mut String, line: String| {
        if shown < DIFF_LINES_SHOWN {
            let _ = writeln!(out, "{indent}{}", diag::visible(&line));
            shown += 1;
        } else {
            more += 1;
        }
    };
    let head = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let tail = old[head..]
        .iter()
        .rev()
        .zip(new[head..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    if old.len() - head - tail > DIFF_LINES_MAX || new.len() - head - tail > DIFF_LINES_MAX {
        emit(
            &mut out,
            format!(
                "@@ the files differ from line {} on: {} and {} lines, too many to diff line by line; the first of them: @@",
                head + 1,
                old.len() - head - tail,
                new.len() - head - tail
            ),
        );
        for l in &old[head..(head + CONTEXT).min(old.len() - tail)] {
            emit(&mut out, format!("-{l}"));
        }
        for l in &new[head..(head + CONTEXT).min(new.len() - tail)] {
            emit(&mut out, format!("+{l}"));
        }
    } else {
        let d = TextDiff::configure()
            .algorithm(Algorithm::Myers)
            .diff_slices(&old, &new);
        for group in d.grouped_ops(CONTEXT) {
            emit(
                &mut out,
                similar::udiff::UnifiedHunkHeader::new(&group).to_string(),
            );
            for op in &group {
                for c in d.iter_changes(op) {
                    let sign = match c.tag() {
                        ChangeTag::Equal => ' ',
                        ChangeTag::Delete => '-',
                        ChangeTag::Insert => '+',
                    };
                    emit(&mut out, format!("{sign}{}", c.value()));
                }
            }
        }
    }
    if more > 0 {
        let _ = writeln!(out, "{indent}… {more} more lines of diff");
    }
    out
}

fn lines(s: &str) -> Vec<String> {
    s.lines().map(str::to_string).collect()
}

/// A JSON document as one line per value, in document order: `totals.lost: 0`,
/// `expectations[2].actual: 3`. None if it is not JSON.
pub fn json_lines(json: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut de = serde_json::Deserializer::from_str(json);
    Flat {
        path: String::new(),
        out: &mut out,
    }
    .deserialize(&mut de)
    .ok()?;
    de.end().ok()?;
    Some(out)
}

/// Reads one JSON value, writing `path: value` lines for its scalars.
struct Flat<'a> {
    path: String,
    out: &'a mut Vec<String>,
}

impl Flat<'_> {
    fn leaf(self, v: impl std::fmt::Display) {
        let path = if self.path.is_empty() {
            "."
        } else {
            &self.path
        };
        self.out.push(format!("{path}: {v}"));
    }
}

impl<'de> DeserializeSeed<'de> for Flat<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Flat<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.leaf(v);
        Ok(())
    }
    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.leaf(v);
        Ok(())
    }
    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.leaf(v);
        Ok(())
    }
    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        self.leaf(v);
        Ok(())
    }
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        let quoted = serde_json::to_string(v).unwrap_or_default();
        self.leaf(quoted);
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.leaf("null");
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        loop {
            let path = format!("{}[{i}]", self.path);
            let seed = Flat {
                path,
                out: &mut *self.out,
            };
            if seq.next_element_seed(seed)?.is_none() {
                break;
            }
            i += 1;
        }
        if i == 0 {
            self.leaf("[]");
        }
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut any = false;
        while let Some(key) = map.next_key::<String>()? {
            any = true;
            let path = if self.path.is_empty() {
                key
            } else {
                format!("{}.{key}", self.path)
            };
            map.next_value_seed(Flat {
                path,
                out: &mut *self.out,
            })?;
        }
        if !any {
            self.leaf("{}");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_flattened_one_value_per_line_in_document_order() {
        let lines = json_lines(r#"{"b":1,"a":[true,{"x":"q\""}],"e":{},"n":null}"#).unwrap();
        assert_eq!(
            lines,
            vec![
                "b: 1",
                "a[0]: true",
                "a[1].x: \"q\\\"\"",
                "e: {}",
                "n: null"
            ]
        );
        assert!(json_lines("{\"a\":").is_none());
        assert!(json_lines("{} {}").is_none());
    }

    #[test]
    fn a_diff_shows_the_changed_line_with_context_and_line_numbers() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let new = "a\nb\nc\nd\nE\nf\ng\nh\n";
        let d = diff(old.as_bytes(), new, ("golden/x.txt", "this run"), false, "");
        assert_eq!(
            d,
            "--- golden/x.txt\n+++ this run\n@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n"
        );
    }

    #[test]
    fn a_json_diff_names_the_value_that_changed() {
        let d = diff(
            br#"{"totals":{"lost":0,"acked":3}}"#,
            r#"{"totals":{"lost":2,"acked":3}}"#,
            ("g.json", "run"),
            true,
            "  ",
        );
        assert!(d.contains("  -totals.lost: 0\n  +totals.lost: 2\n"), "{d}");
    }

    #[test]
    fn golden_names_keep_subfolders_and_refuse_a_clash() {
        let dir = std::env::temp_dir();
        let paths = vec![dir.clone(), PathBuf::from("x/crash.yml")];
        let files = vec![dir.join("orders/crash.yaml"), PathBuf::from("x/crash.yml")];
        assert_eq!(
            names(&paths, &files).unwrap(),
            vec![PathBuf::from("orders/crash"), PathBuf::from("crash")]
        );
        let files = vec![PathBuf::from("a/crash.yaml"), PathBuf::from("b/crash.yaml")];
        let err = names(&files, &files).unwrap_err();
        assert!(
            err.contains("would share the golden files crash.txt"),
            "{err}"
        );
        assert_eq!(
            file(Path::new("g"), Path::new("v1.2"), "txt"),
            PathBuf::from("g/v1.2.txt")
        );
    }
}
