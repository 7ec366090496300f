//! Every broken scenario in tests/bad/ must be refused the same way: exit code 2, nothing on
//! stdout, and `FILE:LINE:COL: message` (plus a snippet) on stderr. Never a panic, a hang or
//! a flood of output. The rendered errors are snapshots in snapshots/errors/, one per file,
//! so a change in wording or position is reviewed like any other change.
//!
//! Each file starts with a `#` line saying what is wrong; it becomes the snapshot's
//! description. A new file in tests/bad/ is picked up automatically.

use std::io::Read;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_kafkasim");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A bad file must be refused well within this, even in a debug build.
const TIME_LIMIT: Duration = Duration::from_secs(20);
/// More stderr than this is a flood, not a diagnostic.
const MAX_STDERR_BYTES: usize = 64 * 1024;

struct Outcome {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Runs `kafkasim run <file>` from the crate root, killing it if it outlives `TIME_LIMIT`.
fn run(file: &str) -> Result<Outcome, String> {
    let mut child = Command::new(BIN)
        .args(["run", file])
        .current_dir(ROOT)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {BIN}: {e}"))?;
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > TIME_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("still running after {TIME_LIMIT:?}; killed it"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("cannot wait for {BIN}: {e}")),
        }
    };
    let text = |h: JoinHandle<Vec<u8>>| {
        String::from_utf8_lossy(&h.join().unwrap_or_default()).into_owned()
    };
    Ok(Outcome {
        status,
        stdout: text(out),
        stderr: text(err),
    })
}

/// Reads a pipe to its end on a thread, so a chatty child cannot block on a full pipe.
fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut buf);
        }
        buf
    })
}

/// The sorted `.yaml` files of tests/bad/.
fn bad_files() -> Vec<String> {
    let dir = Path::new(ROOT).join("tests/bad");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    names
}

/// The file's first line without its `# `, or a word on why it has none (empty, blank).
fn description(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    match text.lines().next() {
        Some(first) if first.starts_with('#') => first.trim_start_matches('#').trim().to_string(),
        _ if bytes.is_empty() => "empty file: zero bytes".to_string(),
        _ if text.trim().is_empty() => "blank file: only spaces, tabs and newlines".to_string(),
        _ => "(no comment line)".to_string(),
    }
}

/// `LINE:COL: ` right after the file name, both positive numbers.
fn has_position(rest: &str) -> bool {
    let mut parts = rest.splitn(3, ':');
    let number = |p: Option<&str>| {
        p.is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && s != "0")
    };
    number(parts.next()) && number(parts.next()) && parts.next().is_some_and(|m| m.starts_with(' '))
}

/// Everything wrong with one file's outcome, or an empty list.
fn problems(file: &str, outcome: &Outcome) -> Vec<String> {
    let mut found = Vec::new();
    if outcome.status.code() != Some(2) {
        found.push(format!(
            "exit status {} (expected exit code 2)",
            outcome.status
        ));
    }
    if !outcome.stdout.is_empty() {
        let first = outcome.stdout.lines().next().unwrap_or("");
        found.push(format!(
            "{} bytes on stdout (expected none), starting: {first}",
            outcome.stdout.len()
        ));
    }
    if outcome.stderr.len() > MAX_STDERR_BYTES {
        found.push(format!("{} bytes on stderr", outcome.stderr.len()));
    }
    // Nothing that could drive a terminal: no control character but line breaks and tabs.
    if let Some(c) = outcome
        .stderr
        .chars()
        .find(|&c| c.is_control() && c != '\n' && c != '\t')
    {
        found.push(format!("a raw control character {c:?} on stderr"));
    }
    let prefix = format!("{file}:");
    match outcome.stderr.strip_prefix(&prefix) {
        Some(rest) if has_position(rest) => {}
        _ => {
            let first = outcome.stderr.lines().next().unwrap_or("(nothing)");
            found.push(format!(
                "stderr does not start with `{file}:LINE:COL: `: {first}"
            ));
        }
    }
    found
}

#[test]
fn every_bad_scenario_exits_2_with_file_line_col_and_a_snapshot_of_its_message() {
    let files = bad_files();
    assert!(!files.is_empty(), "tests/bad/ holds no .yaml files");
    let mut failures = Vec::new();
    for name in &files {
        let file = format!("tests/bad/{name}");
        let stem = name.trim_end_matches(".yaml").to_string();
        let outcome = match run(&file) {
            Ok(o) => o,
            Err(e) => {
                failures.push(format!("{file}: {e}"));
                continue;
            }
        };
        let found = problems(&file, &outcome);
        if !found.is_empty() {
            failures.extend(found.into_iter().map(|p| format!("{file}: {p}")));
            continue;
        }
        let description = description(&Path::new(ROOT).join(&file));
        let stderr = outcome.stderr;
        let snapshot = std::panic::catch_unwind(|| {
            insta::with_settings!({
                snapshot_path => "../snapshots/errors",
                prepend_module_to_snapshot => false,
                omit_expression => true,
                description => description,
            }, {
                insta::assert_snapshot!(stem.as_str(), stderr);
            });
        });
        if snapshot.is_err() {
            failures.push(format!(
                "{file}: its message differs from snapshots/errors/{stem}.snap"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} bad scenarios were not refused as expected, or their message changed:\n  {}",
        failures.len(),
        files.len(),
        failures.join("\n  ")
    );
}

#[test]
fn a_missing_file_exits_2_with_a_one_line_message() {
    let file = "tests/bad/does-not-exist.yaml";
    let outcome = run(file).unwrap_or_else(|e| panic!("{file}: {e}"));
    assert_eq!(
        outcome.status.code(),
        Some(2),
        "exit status {}",
        outcome.status
    );
    assert_eq!(outcome.stdout, "");
    assert!(
        outcome.stderr.starts_with(&format!("{file}: ")),
        "stderr: {}",
        outcome.stderr
    );
    assert_eq!(
        outcome.stderr.lines().count(),
        1,
        "stderr: {}",
        outcome.stderr
    );
}

/// Each YAML budget names itself: a plain file with too many nodes is not told it repeats
/// anchors and aliases (it has none).
#[test]
fn the_node_budget_is_named_as_such() {
    let topics = vec!["t"; 50_001].join(",");
    let text = format!(
        "name: n\ntitle: t\ntopics: [ {{ name: t }} ]\nconsumer_groups:\n  - {{ name: g, topics: [{topics}] }}\n"
    );
    let errors = kafkasim::scenario::parse(&text).expect_err("over the node budget");
    let message = format!("{errors:?}");
    assert!(message.contains("more than 50000 YAML nodes"), "{message}");
    assert!(!message.contains("anchors"), "{message}");
}

/// A file name or a flag value holding control characters is never echoed raw, by any
/// command: the reproduce lines of `run`, `explain` and `report`, `check`'s PASS lines and
/// clap's usage errors show each such character as `�`.
#[test]
fn control_bytes_in_file_names_and_flag_values_never_reach_the_terminal() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("control-names");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let lesson = Path::new(ROOT).join("scenarios/crash-before-commit.yaml");
    let file = dir.join("a\u{1b}[2Jb\u{7}.yaml");
    std::fs::copy(&lesson, &file).unwrap();
    let f = file.to_str().unwrap();
    let d = dir.to_str().unwrap();
    let html = dir.join("r.html");
    let runs: Vec<Vec<&str>> = vec![
        vec!["run", f],
        vec!["run", f, "--color", "always"],
        vec!["explain", f],
        vec!["report", f, "-o", html.to_str().unwrap()],
        vec!["check", d],
        vec!["run", f, "--until", "first-\u{1b}]0;X\u{7}"],
        vec!["run", "\u{1b}[31mred"],
    ];
    for args in runs {
        let out = Command::new(BIN)
            .args(&args)
            .current_dir(ROOT)
            .output()
            .unwrap();
        // `--color always` may colour the report with the crate's own styles: strip those
        // (ESC [ … m) and look for any other control byte.
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        let mut rest = text.as_str();
        while let Some(i) = rest.find('\u{1b}') {
            let after = &rest[i + 1..];
            let sgr = after.starts_with('[')
                && after[1..].find('m').is_some_and(|m| {
                    after[1..1 + m]
                        .chars()
                        .all(|c| c.is_ascii_digit() || c == ';')
                });
            assert!(sgr, "{args:?}: a raw escape reached the output: {text:?}");
            rest = after;
        }
        assert!(!text.contains('\u{7}'), "{args:?}: a raw BEL: {text:?}");
        assert!(
            out.status.code().is_some_and(|c| c <= 2),
            "{args:?}: {out:?}"
        );
    }
}

/// Output that cannot be written is not a success: stdout on a full disk exits 2 with a
/// message (a closed pipe stays quiet, as `head` expects), and a report or trace that would
/// overwrite the scenario being run is refused before anything is written.
#[test]
fn unwritable_output_and_overwriting_the_scenario_exit_2() {
    if Path::new("/dev/full").exists() {
        for args in [&["schema"][..], &["list"], &["run", "crash-before-commit"]] {
            let out = Command::new(BIN)
                .args(args)
                .stdout(std::fs::File::create("/dev/full").unwrap())
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(2), "{args:?}");
            assert!(String::from_utf8_lossy(&out.stderr).contains("cannot write to stdout"));
        }
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("overwrite");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("s.yaml");
    std::fs::copy(Path::new(ROOT).join("scenarios/auto-commit.yaml"), &file).unwrap();
    let before = std::fs::read(&file).unwrap();
    let f = file.to_str().unwrap();
    for args in [vec!["report", f, "-o", f], vec!["run", f, "--trace", f]] {
        let out = Command::new(BIN).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("would overwrite it"));
        assert_eq!(
            std::fs::read(&file).unwrap(),
            before,
            "{args:?}: the scenario is intact"
        );
    }
}
