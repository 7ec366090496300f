//! The HTML report in a real browser: headless Debian chromium, driven by playwright-core
//! from `tests/browser/check.mjs`, loads two pages from disk and checks what they show,
//! clicks ▶ and an anomaly, and takes a screenshot. When node, chromium or playwright-core
//! is missing, the test says which and passes: `.ci/run` installs them where it can.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Why the browser test cannot run here, if it cannot.
fn missing() -> Option<String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Some(format!(
            "no chromium at {chromium} (apt-get install chromium)"
        ));
    }
    match Command::new("node").arg("--version").output() {
        Ok(o) if o.status.success() => {}
        _ => return Some("no node on PATH".into()),
    }
    let pw = root().join("tests/browser/node_modules/playwright-core/package.json");
    if !pw.exists() {
        return Some("no playwright-core (npm ci --prefix tests/browser)".into());
    }
    None
}

/// Writes the page of `file` with the built binary and checks it in chromium against
/// `expect` (see check.mjs); returns the screenshot's path.
fn check_in_browser(file: &str, name: &str, expect: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-browser");
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join(format!("{name}.html"));
    let out = Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .args(["report", file, "-o"])
        .arg(&page)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)), "{out:?}");
    let expect_path = dir.join(format!("{name}.json"));
    std::fs::write(&expect_path, expect).unwrap();
    let shot = dir.join(format!("{name}.png"));
    let out = Command::new("node")
        .arg(root().join("tests/browser/check.mjs"))
        .arg(&page)
        .arg(&shot)
        .arg(&expect_path)
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{name}:\n{log}");
    assert!(out.status.success(), "{name} failed in chromium:\n{log}");
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "a screenshot"
    );
    shot
}

#[test]
fn the_report_works_in_headless_chromium() {
    if let Some(why) = missing() {
        println!("skipped: the browser test needs node, chromium and playwright-core: {why}");
        return;
    }
    check_in_browser(
        "crash-before-commit",
        "crash-before-commit",
        r#"{"lanes": 3, "verdict": "PASS", "anomalies": true}"#,
    );
    check_in_browser(
        "tests/report/escaping.yaml",
        "escaping",
        r#"{"lanes": 1, "verdict": "FAIL", "anomalies": false,
            "key_text": "<script>alert(1)</script>1",
            "title": "</script><script>alert(\"title\")</script> & 'quotes' <b>bold</b>"}"#,
    );
}
