//! `kafkasim report`: the HTML page of every lesson builds, says what the text report
//! says, is the same bytes twice, loads nothing from outside, shows scenario strings only
//! escaped, stays bounded on long runs, and the command's exit codes match `run`'s.

use kafkasim::report::html::{ANOMALIES_EMBEDDED, ROWS_EMBEDDED, TRACE_KEPT};
use kafkasim::{report, scenario, simulate_with};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn lessons() -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(root().join("scenarios"))
        .expect("scenarios/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 30, "the lessons are present");
    files
}

/// The page of a scenario's text with its own seed.
fn page_of(text: &str) -> (String, kafkasim::check::Verdict) {
    let sc = scenario::parse(text).unwrap_or_else(|e| panic!("does not load: {e:?}"));
    let mut capture = report::Capture::new();
    let (run, verdict) = simulate_with(&sc, sc.seed, &mut capture);
    let reproduce = format!("kafkasim run {} --seed {}", sc.name, sc.seed);
    let opts = report::HtmlOptions {
        reproduce: &reproduce,
    };
    let html = report::html(&sc, sc.seed, &run, &verdict, &capture, &opts).expect("renders");
    (html, verdict)
}

/// The JSON document the page embeds, parsed back.
fn data(html: &str) -> Value {
    let open = r#"<script type="application/json" id="kafkasim-data">"#;
    let start = html.find(open).expect("the page embeds its data") + open.len();
    let len = html[start..]
        .find("</script>")
        .expect("the data element ends");
    serde_json::from_str(&html[start..start + len]).expect("the embedded data is JSON")
}

/// The text timeline's rows of a scenario: (t, actor, verb, detail).
fn text_rows(text: &str) -> Vec<(u64, String, String, String)> {
    let sc = scenario::parse(text).expect("loads");
    let mut rows = report::Timeline::new(None);
    let (run, _) = simulate_with(&sc, sc.seed, &mut rows);
    report::rows(&sc, &run.tables, rows.events())
        .into_iter()
        .map(|(t, a, v, d)| (t.ms(), a, v.to_string(), d))
        .collect()
}

#[test]
fn every_lessons_page_builds_and_its_timeline_says_what_the_text_timeline_says() {
    for path in lessons() {
        let text = std::fs::read_to_string(&path).unwrap();
        let (html, verdict) = page_of(&text);
        let d = data(&html);
        let name = path.display();
        assert!(html.starts_with("<!DOCTYPE html>"), "{name}");
        let badge = if verdict.pass {
            "Verdict: PASS"
        } else {
            "Verdict: FAIL"
        };
        assert!(html.contains(badge), "{name}: no {badge}");
        let rows: Vec<(u64, String, String, String)> = d["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["t"].as_u64().unwrap(),
                    r["actor"].as_str().unwrap().to_string(),
                    r["verb"].as_str().unwrap().to_string(),
                    r["detail"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            rows,
            text_rows(&text),
            "{name}: the rows differ from the text timeline"
        );
        // Every anomaly of a lesson is listed with its cause and points at a row.
        let anomalies = d["anomalies"].as_array().unwrap();
        assert_eq!(anomalies.len(), verdict.anomalies.len(), "{name}");
        for (a, v) in anomalies.iter().zip(&verdict.anomalies) {
            assert_eq!(a["cause"].as_str().unwrap(), v.cause, "{name}");
            // Its causal chain, link for link, the effect last, as `explain` tells it.
            let chain = a["chain"].as_array().unwrap();
            assert_eq!(chain.len(), v.chain.len(), "{name}");
            for (l, vl) in chain.iter().zip(&v.chain) {
                assert_eq!(l["t"].as_u64().unwrap(), vl.at.ms(), "{name}");
                assert_eq!(l["text"].as_str().unwrap(), vl.text, "{name}");
                assert_eq!(l["effect"].as_bool().unwrap(), vl.effect, "{name}");
            }
            let row = a["row"]
                .as_u64()
                .unwrap_or_else(|| panic!("{name}: {a} has no row"));
            assert!(d["rows"][row as usize]["anomalies"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| d["anomalies"][i.as_u64().unwrap() as usize] == *a));
        }
        assert_eq!(d["verdict"]["pass"].as_bool(), Some(verdict.pass), "{name}");
    }
}

#[test]
fn every_lessons_page_is_the_same_bytes_twice() {
    for path in lessons() {
        let text = std::fs::read_to_string(&path).unwrap();
        let (a, _) = page_of(&text);
        let (b, _) = page_of(&text);
        assert_eq!(
            a,
            b,
            "{}: the page differs between two runs",
            path.display()
        );
    }
}

#[test]
fn a_run_where_nothing_happens_still_makes_a_page() {
    let (html, verdict) =
        page_of("name: empty\ntitle: Nothing\ntopics: [ { name: t, partitions: 2 } ]\n");
    assert!(verdict.pass);
    let d = data(&html);
    assert_eq!(d["rows"].as_array().unwrap().len(), 0);
    assert_eq!(d["lanes"].as_array().unwrap().len(), 2);
    assert!(html.contains("Verdict: PASS"));
}

#[test]
fn no_page_loads_anything_from_outside() {
    for path in lessons() {
        let (html, _) = page_of(&std::fs::read_to_string(&path).unwrap());
        let lower = html.to_lowercase();
        for bad in [
            "http://", "https://", "src=", "href=", "url(", "@import", "//cdn",
        ] {
            assert!(!lower.contains(bad), "{}: contains {bad}", path.display());
        }
        // The policy forbids any load the page might still attempt.
        assert!(html.contains("default-src 'none'"));
    }
}

#[test]
fn scenario_strings_appear_only_escaped() {
    let text = std::fs::read_to_string(root().join("tests/report/escaping.yaml")).unwrap();
    let (html, verdict) = page_of(&text);
    assert!(!verdict.pass, "the fixture's expectation fails on purpose");
    for raw in [
        "<script>alert(1)</script>",
        "alert(1)</script>",
        "</script><script>",
        "<img src=x",
        "<b>bold</b>",
        "'quotes'",
        "alert(\"title\")",
    ] {
        assert!(!html.contains(raw), "{raw} appears unescaped");
    }
    // Exactly two script elements, the data and the page's own script, and one closing
    // tag each: nothing from the scenario ended one early or opened another.
    assert_eq!(html.matches("<script").count(), 2);
    assert_eq!(html.matches("</script>").count(), 2);
    // The escaped text is all there, and the data gives back the exact strings.
    assert!(html.contains("&lt;b&gt;bold&lt;&#x2f;b&gt;"));
    let d = data(&html);
    let title = "</script><script>alert(\"title\")</script> & 'quotes' <b>bold</b>";
    assert_eq!(d["scenario"]["title"], title);
    assert_eq!(d["keys"][0], "<script>alert(1)</script>1");
    assert_eq!(d["keys"][1], "<script>alert(1)</script>2");
    assert!(d["rows"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["detail"] == "e-1 key=<script>alert(1)</script>1 → p0"));
    assert_eq!(d["scenario"]["lesson"].as_array().unwrap().len(), 2);
}

/// crash-before-commit with `count` records 1 ms apart and the crash at `crash_ms`: six
/// rows or so a record, and duplicates after the crash.
fn long_run(count: u64, crash_ms: u64) -> String {
    format!(
        r#"
name: long
title: A long run
topics: [ {{ name: orders, partitions: 2 }} ]
producers:
  - {{ name: shop, topic: orders, send: {{ count: {count}, every_ms: 1, keys: {{ pattern: "k-{{n}}", distinct: 5 }} }} }}
consumer_groups:
  - name: billing
    topics: [orders]
    members: 2
    config: {{ enable.auto.commit: false, session.timeout.ms: 6000 }}
    processing: {{ time_ms: 0, effect: charge, commit: after-each-record }}
faults:
  - {{ at_ms: {crash_ms}, crash: billing-1, point: after-process-before-commit }}
run: {{ until_ms: {until} }}
expect: {{ duplicate_deliveries: ">= 1" }}
"#,
        until = count + 20_000
    )
}

#[test]
fn a_long_run_embeds_the_first_rows_and_the_rows_its_anomalies_point_at() {
    let text = long_run(6_000, 5_000);
    let (html, verdict) = page_of(&text);
    assert!(verdict.pass);
    let d = data(&html);
    let rows = d["rows"].as_array().unwrap();
    let limits = &d["limits"];
    let total = limits["rows_total"].as_u64().unwrap() as usize;
    assert!(total > ROWS_EMBEDDED, "the run has {total} rows");
    let anomalies = d["anomalies"].as_array().unwrap();
    assert!(rows.len() <= ROWS_EMBEDDED + anomalies.len());
    assert_eq!(
        limits["rows_left_out"].as_u64().unwrap() as usize,
        total - rows.len()
    );
    // The duplicates come after the first ROWS_EMBEDDED rows, and are still there, after
    // a gap that says how many rows were left out.
    let late = anomalies
        .iter()
        .map(|a| a["row"].as_u64().expect("every anomaly has its row") as usize)
        .filter(|&r| r >= ROWS_EMBEDDED)
        .count();
    assert!(late > 0, "an anomaly past the first rows");
    let gaps: u64 = rows.iter().map(|r| r["gap_before"].as_u64().unwrap()).sum();
    let at_end = limits["rows_left_out_at_end"].as_u64().unwrap();
    assert_eq!((gaps + at_end) as usize, total - rows.len());
    assert!(html.contains(r#"<p class="limits" id="limits">"#));
    assert!(anomalies.len() <= ANOMALIES_EMBEDDED);
}

#[test]
fn a_run_past_the_trace_bound_keeps_the_first_records_and_says_how_many_it_left_out() {
    let text = long_run(40_000, 100);
    let sc = scenario::parse(&text).unwrap();
    let mut capture = report::Capture::new();
    let _ = simulate_with(&sc, sc.seed, &mut capture);
    assert_eq!(capture.events().len(), TRACE_KEPT);
    assert!(capture.left_out() > 0);
    let (html, _) = page_of(&text);
    let d = data(&html);
    assert_eq!(
        d["limits"]["trace_left_out"].as_u64(),
        Some(capture.left_out())
    );
    assert!(html.contains("later ones (the summary and the verdict count them all)"));
}

#[test]
fn a_page_of_part_of_a_run_counts_every_row_and_marks_what_lies_past_it() {
    // 60000 records and a crash at t=58000: the first TRACE_KEPT records end long before
    // the crash (at about t=45000), so every duplicate lies past the rows the page holds.
    let text = long_run(60_000, 58_000);
    let sc = scenario::parse(&text).unwrap();
    let mut rows = report::Timeline::new(Some(0));
    let _ = simulate_with(&sc, sc.seed, &mut rows);
    let (html, verdict) = page_of(&text);
    assert!(verdict.pass, "the run has its duplicates");
    let d = data(&html);
    let limits = &d["limits"];
    // Every row of the run, as the text timeline counts them; not only the captured ones.
    assert_eq!(limits["rows_total"].as_u64(), Some(rows.rows() as u64));
    let embedded = d["rows"].as_array().unwrap().len() as u64;
    assert_eq!(
        limits["rows_left_out"].as_u64(),
        Some(rows.rows() as u64 - embedded)
    );
    assert!(html.contains(&format!(
        "leaving out {} of the run's {} rows",
        rows.rows() as u64 - embedded,
        rows.rows()
    )));
    // Every duplicate is past the rows held, says so, and has no row to go to; an
    // anomaly judged at the end sits on the row that appended its record, as always.
    let span = limits["span_end_ms"].as_u64().unwrap();
    let anomalies = d["anomalies"].as_array().unwrap();
    let mut past = 0;
    for a in anomalies {
        if a["kind"].as_str().unwrap().starts_with("duplicate_") {
            assert_eq!(a["row"], Value::Null, "{a}");
        }
        let has_row = a["row"] != Value::Null;
        assert_eq!(a["past"], Value::Bool(!has_row), "{a}");
        if !has_row {
            assert!(a["t"].as_u64().unwrap() >= span, "{a}");
            past += 1;
        }
    }
    assert!(past > 0);
    assert_eq!(limits["anomalies_past"].as_u64(), Some(past));
    assert!(html.contains(&format!(
        "{past} of the anomalies listed happen past the rows it holds"
    )));
    // Who consumed what: over the span the page holds, not "the whole run".
    assert!(span < 58_000, "{span}");
    assert_eq!(limits["whole"], Value::Bool(false));
    assert!(
        html.contains(&format!(
            "who consumes it, over the rows this page holds (t=0 to {span} ms of {} ms)",
            d["run"]["end_ms"]
        )),
        "the ownership band names its span"
    );
    assert!(!html.contains("who consumes it, over the whole run"));
}

#[test]
fn a_lessons_page_holds_the_whole_run_and_says_so() {
    let text = std::fs::read_to_string(root().join("scenarios/crash-before-commit.yaml")).unwrap();
    let (html, _) = page_of(&text);
    let d = data(&html);
    assert_eq!(d["limits"]["whole"], Value::Bool(true));
    assert!(html.contains("who consumes it, over the whole run"));
    assert!(d["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["past"] == Value::Bool(false)));
    assert!(!html.contains(r#"<p class="limits" id="limits">"#));
}

#[test]
fn a_very_long_title_is_cut_and_wraps_in_the_header() {
    let title = "x".repeat(100_000);
    let (html, _) = page_of(&format!(
        "name: long\ntitle: {title}\ntopics: [ {{ name: t, partitions: 1 }} ]\n"
    ));
    let h1 = &html[html.find("<h1>").unwrap() + 4..html.find("</h1>").unwrap()];
    assert_eq!(h1.chars().count(), report::html::TITLE_SHOWN, "{h1}");
    assert!(h1.ends_with('…'));
    let tab = &html[html.find("<title>").unwrap()..html.find("</title>").unwrap()];
    assert!(tab.chars().count() < report::html::TITLE_SHOWN + 40);
    assert!(html.contains("header h1, header .sub { overflow-wrap: anywhere; }"));
    // The data keeps the title whole.
    assert_eq!(
        data(&html)["scenario"]["title"].as_str(),
        Some(title.as_str())
    );
}

fn kafkasim(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the binary runs")
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_command_writes_report_html_and_exits_0_when_the_expectations_hold() {
    let dir = scratch("report-pass");
    let out = kafkasim(&["report", "crash-before-commit"], &dir);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout,
        "wrote report.html · seed 42 · verdict pass · reproduce: kafkasim run crash-before-commit --seed 42\n"
    );
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("Verdict: PASS"));
    // --seed changes the run and says so.
    let out = kafkasim(
        &[
            "report",
            "crash-before-commit",
            "--seed",
            "9",
            "-o",
            "x.html",
        ],
        &dir,
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .contains("seed 9 · verdict pass · reproduce: kafkasim run crash-before-commit --seed 9"));
    assert!(std::fs::read_to_string(dir.join("x.html"))
        .unwrap()
        .contains("\"seed\": 9"));
}

#[test]
fn the_command_still_writes_the_page_and_exits_1_when_an_expectation_fails() {
    let dir = scratch("report-fail");
    let file = root().join("tests/report/escaping.yaml");
    let out = kafkasim(&["report", file.to_str().unwrap(), "-o", "page.html"], &dir);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("expectations failed; reproduce with: kafkasim run"));
    let html = std::fs::read_to_string(dir.join("page.html")).unwrap();
    assert!(html.contains("Verdict: FAIL"));
}

#[test]
fn dash_writes_the_page_to_stdout_and_the_line_to_stderr() {
    let dir = scratch("report-stdout");
    let out = kafkasim(&["report", "idempotent-consumer", "-o", "-"], &dir);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .starts_with("<!DOCTYPE html>"));
    assert!(String::from_utf8(out.stderr).unwrap().starts_with("seed "));
    assert!(!dir.join("report.html").exists());
}

#[test]
fn unusable_input_or_output_exits_2_without_a_page() {
    let dir = scratch("report-bad");
    let out = kafkasim(&["report", "no-such-lesson"], &dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("no such file"));
    std::fs::write(dir.join("bad.yaml"), "name: x\ntitle: t\ntopics: 3\n").unwrap();
    let out = kafkasim(&["report", "bad.yaml"], &dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .starts_with("bad.yaml:"));
    assert!(!dir.join("report.html").exists(), "no page for a bad file");
    let out = kafkasim(
        &["report", "crash-before-commit", "-o", "missing/dir/r.html"],
        &dir,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("missing/dir/r.html: cannot write the report"));
}
