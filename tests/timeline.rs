//! The terminal timeline (README "The terminal timeline" and "Breakpoints"): filters, folded
//! rows, `--until` and `--resume`, colour. Through the library where a property is checked
//! over every lesson, and through the built binary for the command line's own behaviour
//! (flags, exit codes, colour detection); its outputs for a few lessons are snapshots in
//! snapshots/timeline/.

use kafkasim::check::{AnomalyKind, Verdict};
use kafkasim::counters::Counter;
use kafkasim::model::RunResult;
use kafkasim::report::terminal::{self, Moment, Screen, View};
use kafkasim::report::{self, Paint, TextOptions, Timeline};
use kafkasim::scenario::{self, Scenario};
use kafkasim::{engine::Time, simulate_with};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_kafkasim");

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn lessons() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("scenarios"))
        .expect("scenarios/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.push(root().join("tests/timeline/retry-storm.yaml"));
    files.sort();
    files
}

/// One run, kept for rendering with many views.
struct Run {
    sc: Scenario,
    result: RunResult,
    verdict: Verdict,
    kept: Timeline,
}

fn run_file(path: &Path, keep: Option<usize>) -> Run {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let sc = scenario::parse(&text).unwrap_or_else(|e| panic!("{path:?}: {e:?}"));
    let mut kept = Timeline::new(keep);
    let (result, verdict) = simulate_with(&sc, sc.seed, &mut kept);
    Run {
        sc,
        result,
        verdict,
        kept,
    }
}

fn render(run: &Run, view: &View, limit: Option<usize>) -> Result<Screen, String> {
    let opts = TextOptions {
        reproduce: "kafkasim run FILE",
        timeline_limit: limit,
    };
    let input = terminal::Input {
        sc: &run.sc,
        seed: run.sc.seed,
        run: &run.result,
        verdict: &run.verdict,
        kept: &run.kept,
        opts: &opts,
    };
    terminal::render(&input, view, Paint::PLAIN)
}

/// The timeline rows of a piece of report text: lines that open with the time column (8
/// characters, right-aligned, `▶` marking an `--around` moment) and two spaces.
fn row_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| {
            let c: Vec<char> = l.chars().collect();
            c.len() > 10
                && c[..8]
                    .iter()
                    .all(|&c| c == ' ' || c == '▶' || c.is_ascii_digit())
                && c[7].is_ascii_digit()
                && c[8] == ' '
                && c[9] == ' '
        })
        .map(str::to_string)
        .collect()
}

/// How many rows a printed line stands for: N for a folded `×N` line, else 1.
fn rows_told(line: &str) -> usize {
    let Some(at) = line.rfind(" ×") else {
        return 1;
    };
    let n: String = line[at + " ×".len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let rest = &line[at + " ×".len() + n.len()..];
    if rest.is_empty() || rest.starts_with(" (t=") {
        n.parse().expect("a count after ×")
    } else {
        1
    }
}

fn unfolded() -> View {
    View {
        fold: false,
        ..View::default()
    }
}

#[test]
fn until_and_resume_together_show_every_row_of_the_run_once() {
    let moments = [
        Moment::FirstDuplicate,
        Moment::FirstLoss,
        Moment::FirstAnomaly,
        Moment::Rebalance,
        Moment::At(Time(0)),
        Moment::At(Time(2000)),
    ];
    let mut stops = 0;
    for path in lessons() {
        let run = run_file(&path, None);
        let whole = render(&run, &unfolded(), None).unwrap();
        assert!(whole.stop.is_none());
        let all = row_lines(&whole.whole());
        let folded = row_lines(&render(&run, &View::default(), None).unwrap().whole());
        assert_eq!(
            folded.iter().map(|l| rows_told(l)).sum::<usize>(),
            all.len(),
            "{path:?}: the folded lines count every row"
        );
        for m in moments {
            for fold in [false, true] {
                let view = View {
                    until: Some(m),
                    fold,
                    ..View::default()
                };
                let screen = render(&run, &view, None).unwrap();
                let Some(stop) = &screen.stop else {
                    assert!(screen.head.contains("nothing to stop at"), "{path:?} {m:?}");
                    // What `--until rebalance` says of rows not kept rests on this: a
                    // second generation means a rebalance after the first.
                    if m == Moment::Rebalance {
                        assert!(
                            run.verdict
                                .groups
                                .iter()
                                .all(|g| g.counts.get(Counter::Rebalances) <= 1),
                            "{path:?}"
                        );
                    }
                    continue;
                };
                stops += 1;
                assert!(stop.line.starts_with("⏸ stopped at t="), "{}", stop.line);
                // Rendered with every row (`--timeline full`): the reveal keeps every row
                // too, and repeats --no-fold.
                let flags = if fold { "" } else { " --no-fold" };
                assert_eq!(
                    stop.reveal,
                    format!(
                        "kafkasim run FILE --timeline full{flags} --until {} --resume",
                        m.spelled()
                    )
                );
                let before = row_lines(&screen.head);
                let after = row_lines(&screen.rest.concat());
                if fold {
                    let told: usize = before.iter().chain(&after).map(|l| rows_told(l)).sum();
                    assert_eq!(told, all.len(), "{path:?} {m:?}: folded rows at the seam");
                } else {
                    let joined: Vec<String> = before.into_iter().chain(after).collect();
                    assert_eq!(
                        joined, all,
                        "{path:?} {m:?}: rows lost or repeated at the seam"
                    );
                }
                // Nothing of the verdict before the breakpoint.
                for hidden in ["Summary", "Anomalies (", "Verdict:", "Run ended"] {
                    assert!(!screen.stopped(Paint::PLAIN).contains(hidden), "{hidden}");
                    assert!(screen.resumed().contains(hidden), "{hidden}");
                }
            }
        }
    }
    assert!(stops > 100, "most lessons have most moments: {stops}");
}

#[test]
fn a_moment_past_the_kept_rows_is_said_to_be_past_them_never_absent() {
    // The sink keeps 20 of crash-before-commit's 87 rows: its first duplicate (t=9015),
    // loss-free run aside, lies past them.
    let run = run_file(&root().join("scenarios/crash-before-commit.yaml"), Some(20));
    let first = run
        .verdict
        .anomalies
        .iter()
        .filter(|a| a.kind == AnomalyKind::DuplicateDelivery)
        .map(|a| a.at.ms())
        .min()
        .unwrap();
    for m in [Moment::FirstDuplicate, Moment::FirstAnomaly] {
        let view = View {
            until: Some(m),
            ..View::default()
        };
        let screen = render(&run, &view, Some(1000)).unwrap();
        assert!(screen.stop.is_none(), "no kept row to stop at");
        let head = &screen.head;
        assert!(
            head.contains(&format!("happens at t={first}ms"))
                && head.contains("past the first 20 rows of 87 this run keeps"),
            "{head}"
        );
        assert!(
            head.contains(&format!(
                "--timeline full looks at every row: kafkasim run FILE --timeline full --until {}",
                m.spelled()
            )),
            "{head}"
        );
        assert!(
            !head.contains("in this run, so"),
            "never 'it did not happen': {head}"
        );
        // --around says the same.
        let view = View {
            around: Some(m),
            ..View::default()
        };
        let head = render(&run, &view, Some(1000)).unwrap().head;
        assert!(
            head.contains("past the first 20 rows of 87 this run keeps"),
            "{head}"
        );
    }
    // The group rebalances after the crash, past the kept rows; a loss never happens, as
    // the verdict (which sees every record) says.
    let view = View {
        until: Some(Moment::Rebalance),
        ..View::default()
    };
    let head = render(&run, &view, Some(1000)).unwrap().head;
    assert!(
        head.contains("payment-service rebalances after its first generation")
            && head.contains("past the first 20 rows"),
        "{head}"
    );
    let view = View {
        until: Some(Moment::FirstLoss),
        ..View::default()
    };
    let head = render(&run, &view, Some(1000)).unwrap().head;
    assert!(
        head.contains("--until first-loss: no record is lost in this run"),
        "{head}"
    );
}

#[test]
fn a_time_past_the_kept_rows_says_which_rows_neither_part_shows() {
    let run = run_file(&root().join("scenarios/crash-before-commit.yaml"), Some(20));
    let kept = row_lines(&render(&run, &unfolded(), None).unwrap().whole());
    assert_eq!(kept.len(), 20);
    let last_kept: u64 = kept[19].split_whitespace().next().unwrap().parse().unwrap();
    let view = View {
        until: Some(Moment::At(Time(5000))),
        ..unfolded()
    };
    let screen = render(&run, &view, Some(1000)).unwrap();
    let stop = screen.stop.as_ref().expect("a time in the run stops");
    assert!(
        stop.line.contains(&format!(
            "⏸ stopped at t=5000ms, but this run keeps only its first 20 rows of 87, which end at t={last_kept}ms"
        )) && stop
            .line
            .contains("kafkasim run FILE --timeline full --no-fold --until 5000ms shows them"),
        "{}",
        stop.line
    );
    assert_eq!(
        stop.reveal,
        "kafkasim run FILE --no-fold --until 5000ms --resume"
    );
    let resumed = screen.resumed();
    assert!(
        resumed.contains(&format!(
            "The 20 rows this run keeps (of 87) all come before it, the last at t={last_kept}ms"
        )),
        "{resumed}"
    );
    assert!(resumed.contains("… 67 more rows"), "{resumed}");
    // Together the two parts still show every kept row once, at any time.
    for at in [0, 50, last_kept, 5000] {
        let view = View {
            until: Some(Moment::At(Time(at))),
            ..unfolded()
        };
        let screen = render(&run, &view, Some(1000)).unwrap();
        let joined: Vec<String> = row_lines(&screen.head)
            .into_iter()
            .chain(row_lines(&screen.rest.concat()))
            .collect();
        assert_eq!(joined, kept, "t={at}");
        // A cut inside the kept rows: the resume counts the rows not kept after them.
        if at < last_kept {
            assert!(screen.rest_note.contains("… 67 more rows"), "t={at}");
            assert!(!screen.stop.unwrap().line.contains("keeps only"), "t={at}");
        }
    }
}

#[test]
fn a_time_at_the_end_of_the_run_stops_there() {
    let run = run_file(&root().join("scenarios/crash-before-commit.yaml"), None);
    let end = run.result.end_ms.ms();
    let at = |ms: u64| {
        let view = View {
            until: Some(Moment::At(Time(ms))),
            ..View::default()
        };
        render(&run, &view, None).unwrap()
    };
    let screen = at(end);
    let stop = screen
        .stop
        .as_ref()
        .expect("the end of the run is in the run");
    assert_eq!(stop.line, format!("⏸ stopped at t={end}ms.\n"));
    assert!(screen.rest.is_empty(), "nothing comes after the end");
    let screen = at(end + 1);
    assert!(screen.stop.is_none());
    assert!(screen.head.contains(&format!(
        "the run ended at t={end}ms, before t={}ms",
        end + 1
    )));
    // A run that ends at t=0 stops at t=0.
    let sc =
        scenario::parse("name: empty\ntitle: Nothing\ntopics: [ { name: t, partitions: 1 } ]\n")
            .unwrap();
    let mut kept = Timeline::new(None);
    let (result, verdict) = simulate_with(&sc, sc.seed, &mut kept);
    assert_eq!(result.end_ms.ms(), 0);
    let empty = Run {
        sc,
        result,
        verdict,
        kept,
    };
    let view = View {
        until: Some(Moment::At(Time(0))),
        ..View::default()
    };
    let screen = render(&empty, &view, None).unwrap();
    assert_eq!(screen.stop.unwrap().line, "⏸ stopped at t=0ms.\n");
    assert!(!screen.head.contains("before t=0ms"), "{}", screen.head);
}

#[test]
fn the_reveal_repeats_the_flags_that_change_what_is_shown() {
    let run = run_file(&root().join("scenarios/crash-before-commit.yaml"), None);
    let view = View {
        key: Some("order-2".into()),
        fold: false,
        until: Some(Moment::FirstDuplicate),
        ..View::default()
    };
    let reveal = |limit| render(&run, &view, limit).unwrap().stop.unwrap().reveal;
    assert_eq!(
        reveal(Some(1000)),
        "kafkasim run FILE --key order-2 --no-fold --until first-duplicate --resume"
    );
    assert_eq!(
        reveal(None),
        "kafkasim run FILE --timeline full --key order-2 --no-fold --until first-duplicate --resume",
        "--timeline full shows every row: the reveal must too"
    );
}

#[test]
fn actor_words_are_offered_only_where_a_row_has_them() {
    // crash-before-commit has no row whose actor is kafka, controller or network.
    let run = run_file(&root().join("scenarios/crash-before-commit.yaml"), None);
    let e = render(
        &run,
        &View {
            actor: Some("kafka".into()),
            ..View::default()
        },
        None,
    )
    .unwrap_err();
    assert!(
        e.contains("no row of this run has the actor 'kafka'"),
        "{e}"
    );
    let e = render(
        &run,
        &View {
            actor: Some("kafk".into()),
            ..View::default()
        },
        None,
    )
    .unwrap_err();
    assert!(!e.contains("kafka") && !e.contains("controller"), "{e}");
    // acks1-leader-crash has them: --actor kafka selects exactly those rows.
    let run = run_file(&root().join("scenarios/acks1-leader-crash.yaml"), None);
    let all = row_lines(&render(&run, &unfolded(), None).unwrap().whole());
    let kafka: Vec<&String> = all
        .iter()
        .filter(|l| l.split_whitespace().nth(1) == Some("kafka"))
        .collect();
    assert!(!kafka.is_empty());
    let rows = row_lines(
        &render(
            &run,
            &View {
                actor: Some("kafka".into()),
                ..unfolded()
            },
            None,
        )
        .unwrap()
        .whole(),
    );
    assert_eq!(rows.iter().collect::<Vec<_>>(), kafka);
    let e = render(
        &run,
        &View {
            actor: Some("kafk".into()),
            ..View::default()
        },
        None,
    )
    .unwrap_err();
    assert!(e.contains("did you mean 'kafka'?"), "{e}");
}

#[test]
fn the_side_effect_ledger_lists_the_first_eventids_and_counts_the_rest() {
    // 200 records processed, then the group seeks back to the beginning: each of the 200
    // eventIds is applied twice.
    let text = r#"
name: replay
title: A replay
topics: [ { name: t, partitions: 2 } ]
producers:
  - { name: p, topic: t, send: { count: 200, every_ms: 1 } }
consumer_groups:
  - name: g
    topics: [t]
    members: 1
    config: { enable.auto.commit: false, auto.offset.reset: earliest }
    processing: { time_ms: 0 }
faults:
  - { at_ms: 5000, seek: g, to: beginning }
run: { until_ms: 8000 }
"#;
    let sc = scenario::parse(text).unwrap();
    let mut kept = Timeline::new(Some(0));
    let (result, verdict) = simulate_with(&sc, sc.seed, &mut kept);
    assert_eq!(verdict.groups[0].reapplied.len(), 200);
    let opts = TextOptions {
        reproduce: "r",
        timeline_limit: Some(0),
    };
    let out = report::text(&sc, sc.seed, &result, &verdict, &kept, &opts);
    let ledger: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("  process "))
        .collect();
    assert_eq!(ledger.len(), report::LEDGER_SHOWN, "{out}");
    assert!(
        out.contains("  … 150 more eventIds applied more than once: each repeat is a duplicate_effect anomaly"),
        "{out}"
    );
    // The JSON report has every one of them, as duplicate_effect anomalies.
    let json: serde_json::Value =
        serde_json::from_str(&report::json(&sc, sc.seed, &result, &verdict)).unwrap();
    let effects = json["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "duplicate_effect")
        .count();
    assert_eq!(effects, 200);
}

#[test]
fn a_breakpoint_stops_on_the_row_where_its_anomaly_happens() {
    let run = run_file(&root().join("scenarios/crash-before-commit.yaml"), None);
    let view = View {
        until: Some(Moment::FirstDuplicate),
        ..View::default()
    };
    let screen = render(&run, &view, None).unwrap();
    let first = run
        .verdict
        .anomalies
        .iter()
        .filter(|a| a.kind == AnomalyKind::DuplicateDelivery)
        .map(|a| a.at)
        .min()
        .unwrap();
    let last = row_lines(&screen.head).pop().unwrap();
    assert!(
        last.trim_start().starts_with(&format!("{}  ", first.ms())),
        "{last}"
    );
    assert!(
        last.contains(" poll "),
        "a duplicate delivery is a poll row: {last}"
    );
    assert!(screen
        .stop
        .unwrap()
        .line
        .contains("duplicate_delivery in payment-service"));
    // A time: every row at or before it, none after.
    let view = View {
        until: Some(Moment::At(Time(111))),
        ..View::default()
    };
    let screen = render(&run, &view, None).unwrap();
    let times = |ls: Vec<String>| -> Vec<u64> {
        ls.iter()
            .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
            .collect()
    };
    assert!(times(row_lines(&screen.head)).iter().all(|&t| t <= 111));
    assert!(times(row_lines(&screen.rest.concat()))
        .iter()
        .all(|&t| t > 111));
    assert!(screen.head.contains("111  payment-service-1      CRASH"));
}

#[test]
fn first_loss_is_the_commit_that_moved_past_a_record_never_processed() {
    let run = run_file(
        &root().join("scenarios/commit-before-processing.yaml"),
        None,
    );
    let view = View {
        until: Some(Moment::FirstLoss),
        ..View::default()
    };
    let screen = render(&run, &view, None).unwrap();
    let last = row_lines(&screen.head).pop().unwrap();
    assert!(last.contains(" commit ") && last.contains("→ 8"), "{last}");
    assert!(screen
        .stop
        .unwrap()
        .line
        .contains("the first loss — lost in fraud-check"));
    // A lesson that loses nothing says so and shows the whole run.
    let run = run_file(&root().join("scenarios/crash-before-commit.yaml"), None);
    let screen = render(&run, &view, None).unwrap();
    assert!(screen.stop.is_none());
    assert!(screen
        .head
        .contains("--until first-loss: no record is lost in this run"));
    assert!(screen.whole().contains("Verdict: PASS"));
}

#[test]
fn rows_that_carry_an_anomaly_never_fold() {
    // The acks=0 sensor's dropped requests are unacked_lost; the shop's are retried.
    let run = run_file(&root().join("scenarios/every-record-accounted.yaml"), None);
    let text = render(&run, &View::default(), None).unwrap().whole();
    let rows = row_lines(&text);
    let unacked: Vec<String> = run
        .verdict
        .anomalies
        .iter()
        .filter(|a| a.kind == AnomalyKind::UnackedLost)
        .map(|a| format!("e-{}", a.event.unwrap().0 + 1))
        .collect();
    assert!(unacked.len() >= 3, "{unacked:?}");
    for e in &unacked {
        let own = format!("produce request {e} → ");
        assert!(
            rows.iter()
                .any(|l| l.contains(" sensor ") && l.contains(&own) && rows_told(l) == 1),
            "{e}'s dropped row stands alone"
        );
    }
    assert!(
        rows.iter()
            .any(|l| l.contains(" shop ") && l.contains("produce requests") && rows_told(l) > 1),
        "the shop's dropped rows do fold"
    );
}

#[test]
fn a_retry_storm_folds_into_a_few_rows_and_keeps_every_send() {
    let run = run_file(&root().join("tests/timeline/retry-storm.yaml"), None);
    let full = row_lines(&render(&run, &unfolded(), None).unwrap().whole());
    let folded = row_lines(&render(&run, &View::default(), None).unwrap().whole());
    let count = |rows: &[String], verb: &str| {
        rows.iter()
            .filter(|l| l.split_whitespace().nth(2) == Some(verb))
            .count()
    };
    assert!(count(&full, "retry") + count(&full, "dropped") > 120);
    assert!(
        count(&folded, "retry") + count(&folded, "dropped") <= 6,
        "{folded:#?}"
    );
    assert_eq!(
        count(&folded, "send"),
        count(&full, "send"),
        "sends never fold"
    );
    assert_eq!(count(&folded, "send"), 40);
}

#[test]
fn unchanged_commits_fold_and_a_changed_one_starts_a_new_row() {
    let run = run_file(&root().join("scenarios/auto-commit.yaml"), None);
    let rows = row_lines(&render(&run, &View::default(), None).unwrap().whole());
    let commits: Vec<&String> = rows.iter().filter(|l| l.contains(" commit ")).collect();
    assert!(commits
        .iter()
        .any(|l| l.ends_with("p0 → 24 by analytics-2 ×7 (t=8009..14009ms)")));
    // Every commit line is a distinct (partition, offset, member) within a generation.
    let p0: Vec<&&String> = commits.iter().filter(|l| l.contains(" p0 → ")).collect();
    assert!(
        p0.len() >= 2 && p0.windows(2).all(|w| w[0] != w[1]),
        "{p0:#?}"
    );
}

#[test]
fn filters_show_only_the_rows_they_name_and_all_of_them() {
    let run = run_file(&root().join("scenarios/crash-before-commit.yaml"), None);
    let all = row_lines(&render(&run, &unfolded(), None).unwrap().whole());
    let shown = |view: View| {
        let screen = render(&run, &view, None).unwrap();
        (row_lines(&screen.whole()), screen.head)
    };
    // --key: sends, appends, acks, polls and effects of order-2's records only.
    let (rows, head) = shown(View {
        key: Some("order-2".into()),
        ..unfolded()
    });
    let ids: Vec<String> = all
        .iter()
        .filter(|l| l.contains("key=order-2"))
        .map(|l| l.split_whitespace().nth(3).unwrap().to_string())
        .collect();
    assert!(ids.len() >= 3, "{ids:?}");
    assert!(head.contains(&format!(
        "showing {} of {} rows: --key order-2",
        rows.len(),
        all.len()
    )));
    for l in &rows {
        let names_one = l
            .split(|c: char| !(c.is_alphanumeric() || c == '-'))
            .any(|token| ids.iter().any(|e| e == token));
        assert!(names_one || l.contains("records)"), "{l}");
    }
    for l in all
        .iter()
        .filter(|l| l.contains("key=order-2") || l.contains("charge order-2 "))
    {
        assert!(rows.contains(l), "missing: {l}");
    }
    // --actor with a group's name: the coordinator's rows and its members'.
    let (rows, _) = shown(View {
        actor: Some("payment-service".into()),
        ..unfolded()
    });
    let mine = |l: &String| {
        let actor = l.split_whitespace().nth(1).unwrap();
        actor == "payment-service" || actor.starts_with("payment-service-")
    };
    assert!(rows.iter().all(mine));
    assert_eq!(
        rows,
        all.iter().filter(|l| mine(l)).cloned().collect::<Vec<_>>()
    );
    // --partition, spelt as the rows spell it or as a number.
    let (p1, _) = shown(View {
        partition: Some("p1".into()),
        ..unfolded()
    });
    let (one, _) = shown(View {
        partition: Some("1".into()),
        ..unfolded()
    });
    assert_eq!(p1, one);
    assert!(!p1.is_empty());
    for l in &p1 {
        assert!(
            l.contains("p1@")
                || l.contains("p1 ")
                || l.contains("p1,")
                || l.contains("p1]")
                || l.ends_with("p1"),
            "{l}"
        );
    }
    // Filters combine.
    let (both, _) = shown(View {
        partition: Some("p1".into()),
        actor: Some("payment-service-1".into()),
        ..unfolded()
    });
    assert!(
        !both.is_empty()
            && both
                .iter()
                .all(|l| p1.contains(l) && l.contains(" payment-service-1 "))
    );
}

#[test]
fn around_shows_the_context_on_each_side_of_the_moment_and_marks_it() {
    let run = run_file(&root().join("scenarios/crash-before-commit.yaml"), None);
    let view = View {
        around: Some(Moment::FirstDuplicate),
        context: 3,
        ..unfolded()
    };
    let rows = row_lines(&render(&run, &view, None).unwrap().whole());
    assert_eq!(rows.len(), 7, "{rows:#?}");
    assert!(rows[3].starts_with('▶') && rows[3].contains("9015  payment-service-1      poll"));
    assert_eq!(rows.iter().filter(|l| l.starts_with('▶')).count(), 1);
}

#[test]
fn a_filter_naming_nothing_in_the_run_is_refused_with_a_suggestion() {
    let run = run_file(&root().join("scenarios/crash-before-commit.yaml"), None);
    let refused = |view: View| render(&run, &view, None).unwrap_err();
    let e = refused(View {
        key: Some("ordr-2".into()),
        ..View::default()
    });
    assert!(
        e.contains("'ordr-2'") && e.contains("did you mean 'order-2'?"),
        "{e}"
    );
    let e = refused(View {
        partition: Some("p7".into()),
        ..View::default()
    });
    assert!(
        e.contains("no partition 'p7'") && e.contains("p0, p1, p2"),
        "{e}"
    );
    let e = refused(View {
        actor: Some("\u{1b}]0;pwned\u{7}".into()),
        ..View::default()
    });
    assert!(
        !e.chars().any(|c| c.is_control()),
        "no control character echoed: {e:?}"
    );
}

#[test]
fn filters_say_when_the_run_has_more_rows_than_were_kept() {
    let run = run_file(&root().join("scenarios/crash-before-commit.yaml"), Some(20));
    let view = View {
        key: Some("order-2".into()),
        ..View::default()
    };
    let head = render(&run, &view, Some(1000)).unwrap().head;
    assert!(
        head.contains("(only the first 20 rows of 87 were kept"),
        "{head}"
    );
    // Without a filter the rows past the kept ones are counted, as they always were.
    let text = render(&run, &View::default(), Some(1000)).unwrap().whole();
    assert!(text.contains("… 67 more rows"), "{text}");
}

#[test]
fn colour_and_plain_text_are_the_same_characters() {
    for path in lessons() {
        let run = run_file(&path, None);
        for view in [
            View::default(),
            View {
                until: Some(Moment::FirstAnomaly),
                ..View::default()
            },
        ] {
            let opts = TextOptions {
                reproduce: "r",
                timeline_limit: None,
            };
            let input = terminal::Input {
                sc: &run.sc,
                seed: run.sc.seed,
                run: &run.result,
                verdict: &run.verdict,
                kept: &run.kept,
                opts: &opts,
            };
            let plain = terminal::render(&input, &view, Paint::PLAIN).unwrap();
            let ansi = terminal::render(&input, &view, Paint::ANSI).unwrap();
            assert!(!plain.whole().contains('\u{1b}'));
            assert!(ansi.whole().contains("\u{1b}["), "{path:?}");
            let strip = |s: &str| anstream::adapter::strip_str(s).to_string();
            assert_eq!(strip(&ansi.whole()), plain.whole(), "{path:?}");
            assert_eq!(
                strip(&ansi.stopped(Paint::ANSI)),
                plain.stopped(Paint::PLAIN),
                "{path:?}"
            );
            assert_eq!(strip(&ansi.resumed()), plain.resumed(), "{path:?}");
        }
        // The library's plain report is the default view.
        let opts = TextOptions {
            reproduce: "r",
            timeline_limit: None,
        };
        let input = terminal::Input {
            sc: &run.sc,
            seed: run.sc.seed,
            run: &run.result,
            verdict: &run.verdict,
            kept: &run.kept,
            opts: &opts,
        };
        assert_eq!(
            report::text(
                &run.sc,
                run.sc.seed,
                &run.result,
                &run.verdict,
                &run.kept,
                &opts
            ),
            terminal::render(&input, &View::default(), Paint::PLAIN)
                .unwrap()
                .whole()
        );
    }
}

// The command line.

fn kafkasim(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(root())
        .stdin(Stdio::null())
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"))
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("UTF-8")
}

fn snapshot(name: &str, args: &[&str]) {
    let out = kafkasim(args, &[]);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    let description = format!("kafkasim {}", args.join(" "));
    insta::with_settings!({
        snapshot_path => "../snapshots/timeline",
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => description,
    }, {
        insta::assert_snapshot!(name, stdout(&out));
    });
}

#[test]
fn outputs_of_the_terminal_timeline_match_their_snapshots() {
    snapshot(
        "until-first-duplicate",
        &["run", "crash-before-commit", "--until", "first-duplicate"],
    );
    snapshot(
        "until-first-duplicate-resume",
        &[
            "run",
            "crash-before-commit",
            "--until",
            "first-duplicate",
            "--resume",
        ],
    );
    snapshot(
        "until-first-loss",
        &["run", "dual-write-loses-events", "--until", "first-loss"],
    );
    snapshot(
        "until-rebalance-key",
        &[
            "run",
            "consumer-group-scaling",
            "--until",
            "rebalance",
            "--key",
            "order-1",
        ],
    );
    snapshot(
        "around-first-duplicate",
        &[
            "run",
            "auto-commit",
            "--around",
            "first-duplicate",
            "--context",
            "6",
        ],
    );
    snapshot(
        "partition-and-actor",
        &[
            "run",
            "auto-commit",
            "--partition",
            "p1",
            "--actor",
            "analytics-2",
        ],
    );
    snapshot(
        "retry-storm-folded",
        &["run", "tests/timeline/retry-storm.yaml"],
    );
}

#[test]
fn colour_goes_to_a_terminal_or_on_request_and_never_into_a_pipe() {
    let args = ["run", "crash-before-commit"];
    let piped = stdout(&kafkasim(&args, &[]));
    assert!(!piped.contains('\u{1b}'), "auto, piped: no escape");
    let always = stdout(&kafkasim(
        &[&args[..], &["--color", "always"]].concat(),
        &[],
    ));
    assert!(
        always.contains("\u{1b}[31m") || always.contains("\u{1b}[33m"),
        "anomalies in colour"
    );
    assert!(
        always.contains("\u{1b}[1m\u{1b}[32mPASS"),
        "the verdict in green"
    );
    assert_eq!(anstream::adapter::strip_str(&always).to_string(), piped);
    let never = stdout(&kafkasim(&[&args[..], &["--color", "never"]].concat(), &[]));
    assert_eq!(never, piped);
    let forced = stdout(&kafkasim(&args, &[("CLICOLOR_FORCE", "1")]));
    assert!(forced.contains('\u{1b}'), "CLICOLOR_FORCE colours a pipe");
    let no_color = stdout(&kafkasim(
        &args,
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")],
    ));
    assert!(!no_color.contains('\u{1b}'), "NO_COLOR wins");
}

#[test]
fn a_breakpoint_exits_0_and_holds_back_the_verdict_and_its_exit_code() {
    // This copy of a lesson expects no duplicates, so its run fails.
    let dir = std::env::temp_dir().join(format!("kafkasim-timeline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("fails.yaml");
    let lesson =
        std::fs::read_to_string(root().join("scenarios/crash-before-commit.yaml")).unwrap();
    let expect_at = lesson
        .find("\nexpect:")
        .expect("the lesson has an expect: block");
    std::fs::write(
        &file,
        format!(
            "{}\nexpect: {{ duplicate_deliveries: 0 }}\n",
            &lesson[..expect_at]
        ),
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let whole = kafkasim(&["run", file], &[]);
    assert_eq!(whole.status.code(), Some(1));
    let stopped = kafkasim(&["run", file, "--until", "first-duplicate"], &[]);
    assert_eq!(stopped.status.code(), Some(0), "{}", stderr(&stopped));
    assert_eq!(stderr(&stopped), "", "stderr would give the answer away");
    let text = stdout(&stopped);
    assert!(!text.contains("Verdict") && !text.contains("Anomalies ("));
    assert!(text.contains(&format!(
        "reveal it with: kafkasim run {file} --seed 42 --until first-duplicate --resume"
    )));
    let resumed = kafkasim(
        &["run", file, "--until", "first-duplicate", "--resume"],
        &[],
    );
    assert_eq!(resumed.status.code(), Some(1));
    assert!(stdout(&resumed).contains("Verdict: FAIL"));
    assert!(stderr(&resumed).starts_with("expectations failed; reproduce with:"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn flags_that_cannot_apply_are_usage_errors() {
    let cases: &[(&[&str], &str)] = &[
        (&["--until", "soon"], "expected first-duplicate, first-loss"),
        (&["--around", "12 ms"], "expected first-duplicate"),
        (&["--resume"], "--until"),
        (&["--context", "3"], "--around"),
        (
            &["--until", "rebalance", "--around", "5ms"],
            "cannot be used with",
        ),
        (&["--key", "order-2", "--format", "json"], "--format json"),
        (&["--until", "first-loss", "--trace", "-"], "--trace -"),
        (&["--no-fold", "--timeline", "none"], "--timeline none"),
        (&["--key", "ordr-2"], "did you mean 'order-2'?"),
        (
            &["--actor", "payment"],
            "nothing in this run is called 'payment'",
        ),
        (&["--partition", "orders-9"], "no partition 'orders-9'"),
    ];
    for (flags, says) in cases {
        let out = kafkasim(&[&["run", "crash-before-commit"][..], flags].concat(), &[]);
        assert_eq!(out.status.code(), Some(2), "{flags:?}");
        assert!(stderr(&out).contains(says), "{flags:?}: {}", stderr(&out));
        assert_eq!(stdout(&out), "", "{flags:?}: no report");
    }
}
