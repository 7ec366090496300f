//! `kafkasim check PATH... --golden DIR [--update]` end to end, in temporary folders: the
//! golden files are exactly what `run` prints, a changed scenario fails with a diff that
//! names the changed lines, a missing golden file fails, `--update` writes and reports, and
//! the exit codes are those of README "Command line and exit codes".

use std::path::Path;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_kafkasim");

fn kafkasim(cwd: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"))
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

/// A folder `sc/` holding two lessons, one of them in a subfolder.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let lessons = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    std::fs::create_dir_all(dir.path().join("sc/orders")).unwrap();
    std::fs::copy(
        lessons.join("auto-commit.yaml"),
        dir.path().join("sc/auto-commit.yaml"),
    )
    .unwrap();
    std::fs::copy(
        lessons.join("crash-before-commit.yaml"),
        dir.path().join("sc/orders/crash.yaml"),
    )
    .unwrap();
    dir
}

const CHECK: &[&str] = &["check", "sc", "--golden", "golden"];
const UPDATE: &[&str] = &["check", "sc", "--golden", "golden", "--update"];

#[test]
fn update_writes_what_run_prints_and_then_check_passes() {
    let p = project();
    let out = kafkasim(p.path(), UPDATE);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(
        stdout(&out),
        "PASS  sc/auto-commit.yaml  (3 expectations; golden/auto-commit.txt written, golden/auto-commit.json written)\n\
         PASS  sc/orders/crash.yaml  (4 expectations; golden/orders/crash.txt written, golden/orders/crash.json written)\n\
         2 passed, 0 failed; golden files: 4 written, 0 unchanged\n"
    );
    // The golden files are byte for byte what `run` prints for the same path.
    let run = kafkasim(p.path(), &["run", "sc/orders/crash.yaml"]);
    let golden = std::fs::read(p.path().join("golden/orders/crash.txt")).unwrap();
    assert_eq!(run.stdout, golden);
    assert!(stdout(&run).contains("reproduce: kafkasim run sc/orders/crash.yaml --seed 42"));
    let json = kafkasim(
        p.path(),
        &["run", "sc/orders/crash.yaml", "--format", "json"],
    );
    assert_eq!(
        json.stdout,
        std::fs::read(p.path().join("golden/orders/crash.json")).unwrap()
    );

    let out = kafkasim(p.path(), CHECK);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stdout(&out),
        "PASS  sc/auto-commit.yaml  (3 expectations; golden files match)\n\
         PASS  sc/orders/crash.yaml  (4 expectations; golden files match)\n\
         2 passed, 0 failed\n"
    );
    let again = kafkasim(p.path(), UPDATE);
    assert!(
        stdout(&again).ends_with("golden files: 0 written, 4 unchanged\n"),
        "{}",
        stdout(&again)
    );
}

#[test]
fn a_changed_scenario_fails_with_a_diff_naming_the_changed_lines() {
    let p = project();
    assert_eq!(kafkasim(p.path(), UPDATE).status.code(), Some(0));
    let file = p.path().join("sc/auto-commit.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("count: 40,", "count: 41,")).unwrap();
    let out = kafkasim(p.path(), CHECK);
    assert_eq!(out.status.code(), Some(1));
    let o = stdout(&out);
    assert!(
        o.starts_with("FAIL  sc/auto-commit.yaml  output differs from golden/auto-commit.txt, golden/auto-commit.json\n    --- golden/auto-commit.txt\n    +++ kafkasim run sc/auto-commit.yaml\n    @@ -176,12 +176,15 @@\n"),
        "{o}"
    );
    // The 41st record's three rows are new, the summary's counts changed.
    assert!(
        o.contains("\n    +    4000  web                    send         e-41 key=user-1 → p0\n"),
        "{o}"
    );
    assert!(o.contains("\n    -  produced                       40\n    -  acked                          40\n"), "{o}");
    assert!(
        o.contains("\n    +  produced                       41\n"),
        "{o}"
    );
    // The JSON verdict is compared one value per line: the changed counter is one line.
    assert!(
        o.contains("    --- golden/auto-commit.json (one JSON value per line)\n"),
        "{o}"
    );
    assert!(
        o.contains("\n    -totals.produced: 40\n    -totals.acked: 40\n"),
        "{o}"
    );
    assert!(o.contains("\n    +totals.produced: 41\n"), "{o}");
    assert!(o.contains("PASS  sc/orders/crash.yaml"), "{o}");
    assert!(o.ends_with("1 passed, 1 failed\n"), "{o}");
    // --update accepts the new output and says which files changed.
    let out = kafkasim(p.path(), UPDATE);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).contains("PASS  sc/auto-commit.yaml  (3 expectations; golden/auto-commit.txt updated, golden/auto-commit.json updated)\n"),
        "{}",
        stdout(&out)
    );
    assert_eq!(kafkasim(p.path(), CHECK).status.code(), Some(0));
}

#[test]
fn a_missing_golden_file_fails_and_names_it() {
    let p = project();
    assert_eq!(kafkasim(p.path(), UPDATE).status.code(), Some(0));
    std::fs::remove_file(p.path().join("golden/orders/crash.json")).unwrap();
    let out = kafkasim(p.path(), CHECK);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains(
            "FAIL  sc/orders/crash.yaml  golden file missing: golden/orders/crash.json (--update writes it)\n"
        ),
        "{}",
        stdout(&out)
    );
}

#[test]
fn failing_expectations_still_fail_with_update_and_their_output_is_written() {
    let p = project();
    let file = p.path().join("sc/auto-commit.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("lost: 0 }", "lost: 1 }")).unwrap();
    let out = kafkasim(p.path(), UPDATE);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).starts_with("FAIL  sc/auto-commit.yaml  lost expected 1 got 0\n      (golden/auto-commit.txt written, golden/auto-commit.json written)\n"),
        "{}",
        stdout(&out)
    );
    assert!(p.path().join("golden/auto-commit.txt").is_file());
    // Without --update the golden files match, and the expectation still fails.
    let out = kafkasim(p.path(), CHECK);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).starts_with("FAIL  sc/auto-commit.yaml  lost expected 1 got 0\n"));
}

#[test]
fn an_invalid_scenario_is_an_error_line_and_writes_nothing() {
    let p = project();
    std::fs::write(p.path().join("sc/bad.yaml"), "name: bad\ntitle: x\n").unwrap();
    let out = kafkasim(p.path(), UPDATE);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("ERROR sc/bad.yaml:1:1: the scenario has no `topics:` line"),
        "{}",
        stdout(&out)
    );
    assert!(!p.path().join("golden/bad.txt").exists());
}

#[test]
fn golden_files_depend_only_on_the_path_typed_not_the_folder_run_from() {
    let (a, b) = (project(), project());
    assert_eq!(kafkasim(a.path(), UPDATE).status.code(), Some(0));
    assert_eq!(kafkasim(b.path(), UPDATE).status.code(), Some(0));
    for f in ["auto-commit.txt", "auto-commit.json", "orders/crash.txt"] {
        let read = |d: &tempfile::TempDir| std::fs::read(d.path().join("golden").join(f)).unwrap();
        assert_eq!(read(&a), read(&b), "{f}");
    }
    // A file given directly is named by its file name.
    let out = kafkasim(
        a.path(),
        &[
            "check",
            "sc/orders/crash.yaml",
            "--golden",
            "direct",
            "--update",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(a.path().join("direct/crash.txt").is_file());
}

#[test]
fn two_files_sharing_a_golden_name_and_update_without_golden_are_usage_errors() {
    let p = project();
    std::fs::copy(
        p.path().join("sc/auto-commit.yaml"),
        p.path().join("sc/orders/auto-commit.yaml"),
    )
    .unwrap();
    let out = kafkasim(
        p.path(),
        &[
            "check",
            "sc/auto-commit.yaml",
            "sc/orders/auto-commit.yaml",
            "--golden",
            "golden",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("would share the golden files"));
    let out = kafkasim(p.path(), &["check", "sc", "--update"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--golden"));
}

/// A folder with symlinks back up the tree (`self -> .`, `sub/up -> ..`) is walked once:
/// `check` used to follow them without end. Each scenario is checked once.
#[cfg(unix)]
#[test]
fn check_walks_a_folder_with_symlink_loops_once() {
    let dir = project();
    let sc = dir.path().join("sc");
    std::os::unix::fs::symlink(".", sc.join("self")).unwrap();
    std::os::unix::fs::symlink("..", sc.join("orders/up")).unwrap();
    let out = kafkasim(dir.path(), &["check", "sc"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = stdout(&out);
    assert_eq!(
        text.lines().filter(|l| l.starts_with("PASS")).count(),
        2,
        "{text}"
    );
    assert!(text.ends_with("2 passed, 0 failed\n"), "{text}");
}
