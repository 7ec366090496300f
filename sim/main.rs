//! The `kafkasim` command line: run a scenario, check a folder of them, show partitions,
//! show a group's assignment (`assign`), list the embedded lessons, measure the simulator
//! (`bench`). Exit codes: 0 all expectations hold, 1 one fails,
//! 2 the input is unusable (with `FILE:LINE:COL: message` and a snippet).

use clap::{Parser, Subcommand, ValueEnum};
use kafkasim::assignor;
use kafkasim::assignor::flags::{assign_input, AssignFlags, AssignInput};
use kafkasim::partitioner::PartitionerKind;
use kafkasim::{bench, diag, lessons, report, scenario, simulate, simulate_with};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Prints to stdout; a closed pipe (`kafkasim list | head`) ends the output quietly
/// instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = write!(std::io::stdout().lock(), $($arg)*);
    }};
}
macro_rules! sayln {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "kafkasim",
    version,
    about = "A deterministic simulator of Apache Kafka and event-driven architecture, for teaching.",
    after_help = "With no command, runs the embedded lesson 'crash-before-commit'."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run one scenario: a YAML file, or the name of an embedded lesson.
    Run {
        file: String,
        /// Override the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// text: the report; json: the JSON document; mermaid: a sequence diagram of the
        /// run (windows around its anomalies, or its first rows).
        #[arg(long, value_enum, default_value_t = RunFormat::Text)]
        format: RunFormat,
        /// With --format mermaid: draw the first N timeline rows (at most 500).
        #[arg(long, value_name = "N", conflicts_with = "window",
              value_parser = clap::value_parser!(u64).range(1..=report::sequence::MAX_ROWS as u64))]
        events: Option<u64>,
        /// With --format mermaid: draw W rows either side of each anomaly and crash (at most 25).
        #[arg(long, value_name = "W",
              value_parser = clap::value_parser!(u64).range(0..=report::sequence::MAX_WINDOW as u64))]
        window: Option<u64>,
        /// Also stream every trace event to this file as the run goes, one JSON object per
        /// line; `-` streams it to stdout instead of the report.
        #[arg(long, value_name = "FILE.jsonl")]
        trace: Option<PathBuf>,
        /// How much of the timeline to print: auto (all up to 1000 rows), full, or none.
        #[arg(long, value_enum, default_value_t = Timeline::Auto)]
        timeline: Timeline,
        /// Print the scenario with every default filled in (itself a scenario file), and
        /// do not run it.
        #[arg(long)]
        resolved: bool,
    },
    /// Print an embedded lesson's YAML, to copy and change.
    Show { lesson: String },
    /// Run every scenario under the paths; one line each; exit 1 if any fails.
    Check {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Show each key's hash and partition, as a client's partitioner computes them.
    Partition {
        #[arg(long)]
        partitions: u32,
        /// Whose partitioner: the values of a scenario's `partitioner` setting.
        #[arg(long, default_value = "java", value_parser = clap::builder::PossibleValuesParser::new(
            PartitionerKind::ALL.iter().map(|k| k.name())
        ))]
        partitioner: String,
        #[arg(required = true)]
        keys: Vec<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Show how a consumer group's assignor spreads the partitions over its members.
    Assign {
        /// The assignor, as the Java client names it: range, roundrobin, sticky or
        /// cooperative-sticky.
        #[arg(long, value_name = "NAME")]
        strategy: String,
        /// A topic and its partition count, e.g. orders=6; repeat for more topics.
        #[arg(long = "topic", value_name = "T=PARTITIONS", required = true)]
        topics: Vec<String>,
        /// A member and the topics it subscribes to, e.g. c1=orders,payments; repeat for more.
        #[arg(long = "member", value_name = "ID=TOPIC[,TOPIC...]", required = true)]
        members: Vec<String>,
        /// The partitions a member owned before this rebalance, e.g. c1=orders-0,orders-3
        /// (read by the sticky assignors).
        #[arg(long = "owned", value_name = "ID=T-P[,T-P...]")]
        owned: Vec<String>,
        /// The generation a member last joined in (default: none, Kafka's -1; read by the
        /// sticky assignors).
        #[arg(long = "generation", value_name = "ID=N")]
        generations: Vec<String>,
        /// A static member's group.instance.id (read by range and roundrobin).
        #[arg(long = "instance", value_name = "ID=INSTANCE")]
        instances: Vec<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// List the embedded lessons with their titles.
    List,
    /// Print the JSON Schema (draft-07) of the scenario format, for editors.
    Schema,
    /// Draw a scenario's topology (brokers, topics, producers, services, databases, relays,
    /// groups, stores) as Mermaid or Graphviz DOT. Nothing runs.
    Graph {
        /// A YAML file, or the name of an embedded lesson.
        file: String,
        #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
        format: GraphFormat,
    },
    /// Measure the simulator on the reference workload: throughput, memory, a bare-heap baseline.
    Bench {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Run 10k, 100k, 1M and 10M records, each paced (1 ms apart) and all at t=0.
        #[arg(long, conflicts_with = "records")]
        scale: bool,
        /// Records in the one run (without --scale).
        #[arg(
            long,
            default_value_t = bench::DEFAULT_RECORDS,
            value_parser = clap::value_parser!(u64).range(1..=scenario::limits::RECORDS)
        )]
        records: u64,
    },
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum RunFormat {
    Text,
    Json,
    Mermaid,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum GraphFormat {
    Mermaid,
    Dot,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Timeline {
    Auto,
    Full,
    None,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => {
            let code = run(lessons::DEFAULT, None, Output::Text(Timeline::Auto), None);
            sayln!();
            sayln!("Next: `kafkasim list` shows every lesson; `kafkasim run FILE` runs one (a lesson's name or your own YAML file);");
            sayln!("      `kafkasim run FILE --seed N` replays it with another seed; `kafkasim --help` shows the rest.");
            code
        }
        Some(Command::Run {
            file,
            resolved: true,
            ..
        }) => match load(&file).and_then(|(name, text)| {
            scenario::parse(&text).map_err(|p| diag::render(&name, &text, &p))
        }) {
            Ok(sc) => {
                say!("{}", report::resolved(&sc));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprint!("{}", if e.ends_with('\n') { e } else { e + "\n" });
                ExitCode::from(2)
            }
        },
        Some(Command::Run {
            file,
            seed,
            format,
            trace,
            timeline,
            events,
            window,
            ..
        }) => {
            let output = match (format, events, window) {
                (RunFormat::Mermaid, Some(n), _) => {
                    Output::Mermaid(report::sequence::Selection::First(n as usize))
                }
                (RunFormat::Mermaid, None, Some(w)) => {
                    Output::Mermaid(report::sequence::Selection::Windows(w as usize))
                }
                (RunFormat::Mermaid, None, None) => {
                    Output::Mermaid(report::sequence::Selection::Auto)
                }
                (_, Some(_), _) | (_, _, Some(_)) => {
                    eprintln!("--events and --window go with --format mermaid");
                    return ExitCode::from(2);
                }
                (RunFormat::Text, None, None) => Output::Text(timeline),
                (RunFormat::Json, None, None) => Output::Json,
            };
            run(&file, seed, output, trace.as_deref())
        }
        Some(Command::Show { lesson }) => match lessons::find(&lesson) {
            Some(l) => {
                say!("{}", l.source);
                ExitCode::SUCCESS
            }
            None => {
                eprintln!(
                    "{}: no embedded lesson of that name (see `kafkasim list`)",
                    diag::visible(&lesson)
                );
                ExitCode::from(2)
            }
        },
        Some(Command::Check { paths }) => check(&paths),
        Some(Command::Partition {
            partitions,
            partitioner,
            keys,
            format,
        }) => {
            // clap accepted only the names of PartitionerKind::ALL.
            let kind = PartitionerKind::from_name(&partitioner).unwrap_or(PartitionerKind::Java);
            partition(partitions, kind, &keys, format)
        }
        Some(Command::Assign {
            strategy,
            topics,
            members,
            owned,
            generations,
            instances,
            format,
        }) => {
            let flags = AssignFlags {
                strategy,
                topics,
                members,
                owned,
                generations,
                instances,
            };
            match assign_input(&flags) {
                Ok(input) => assign_command(&input, format),
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::from(2)
                }
            }
        }
        Some(Command::List) => {
            for l in lessons::LESSONS {
                let title =
                    scenario::parse(l.source).map_or_else(|_| "(invalid)".to_string(), |s| s.title);
                sayln!("{:<28} {}", l.file.trim_end_matches(".yaml"), title);
            }
            sayln!("\nRun one with `kafkasim run NAME`; the files are in scenarios/.");
            ExitCode::SUCCESS
        }
        Some(Command::Bench {
            format,
            scale,
            records,
        }) => bench_command(format, scale, records),
        Some(Command::Graph { file, format }) => match load_scenario(&file) {
            Ok((_, sc)) => {
                let topology = report::graph::topology(&sc);
                match format {
                    GraphFormat::Mermaid => say!("{}", report::graph::mermaid(&topology)),
                    GraphFormat::Dot => say!("{}", report::graph::dot(&topology)),
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprint!("{}", if e.ends_with('\n') { e } else { e + "\n" });
                ExitCode::from(2)
            }
        },
        Some(Command::Schema) => {
            say!("{}", scenario::schema::json());
            ExitCode::SUCCESS
        }
    }
}

fn bench_command(format: Format, scale: bool, records: u64) -> ExitCode {
    let plan = if scale {
        bench::Plan::Scale
    } else {
        bench::Plan::One {
            records,
            sending: bench::Sending::Paced,
        }
    };
    if cfg!(debug_assertions) {
        eprintln!("warning: a debug build; measure with `cargo run --release -- bench`");
    }
    let mut progress = |f: &bench::Figures| {
        eprintln!(
            "bench: {} {} records: {:.3} s, {} events",
            f.sending.name(),
            f.records,
            f.wall_ms / 1000.0,
            f.events
        );
    };
    let report = match bench::run(plan, &mut progress) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match format {
        Format::Text => say!("{}", bench::text(&report)),
        Format::Json => say!("{}", bench::json(&report)),
    }
    let failed: Vec<String> = report
        .runs
        .iter()
        .filter(|f| !f.pass)
        .map(|f| format!("{} {}", f.sending.name(), f.records))
        .collect();
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "the workload's expectations failed for: {}",
            failed.join(", ")
        );
        ExitCode::from(1)
    }
}

/// Reads a scenario from a path, or, for a lesson's name, from `scenarios/NAME.yaml` when
/// that file exists here (a student's edited copy wins), else from the embedded lessons.
fn load(file: &str) -> Result<(String, String), String> {
    let path = Path::new(file);
    if path.is_dir() {
        return Err(format!(
            "{}: is a directory; `kafkasim check {}` runs every scenario in it",
            diag::visible(file),
            diag::visible(file)
        ));
    }
    if !path.exists() {
        let local = format!("scenarios/{}.yaml", file.trim_end_matches(".yaml"));
        if lessons::find(file).is_some() && Path::new(&local).is_file() {
            return load(&local);
        }
    }
    if path.exists() {
        let bytes = std::fs::read(path)
            .map_err(|e| format!("{}: cannot read: {e}", diag::visible(file)))?;
        if bytes.len() > scenario::limits::FILE_BYTES {
            return Err(format!(
                "{file}:1:1: the file is {} bytes; a scenario may be at most {} bytes",
                bytes.len(),
                scenario::limits::FILE_BYTES
            ));
        }
        let text = String::from_utf8(bytes)
            .map_err(|e| not_utf8(file, e.as_bytes(), e.utf8_error().valid_up_to()))?;
        return Ok((file.to_string(), text));
    }
    match lessons::find(file) {
        Some(l) => Ok((
            l.file.trim_end_matches(".yaml").to_string(),
            l.source.to_string(),
        )),
        None => Err(format!(
            "{}: no such file, and no embedded lesson of that name (see `kafkasim list`)",
            diag::visible(file)
        )),
    }
}

/// Loads and validates a scenario as `run` does; `Err` is the message for stderr (exit 2).
fn load_scenario(file: &str) -> Result<(String, scenario::Scenario), String> {
    let (name, text) = load(file)?;
    let sc = scenario::parse(&text).map_err(|p| diag::render(&name, &text, &p))?;
    Ok((name, sc))
}

/// Where the first byte that is not UTF-8 sits, with its line shown as best it can be.
fn not_utf8(file: &str, bytes: &[u8], at: usize) -> String {
    let before = &bytes[..at];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&bytes[start..at]).chars().count() + 1;
    let end = bytes[at..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |i| at + i);
    let shown = String::from_utf8_lossy(&bytes[start..end]);
    let gutter = " ".repeat(line.to_string().len());
    format!(
        "{file}:{line}:{column}: byte 0x{:02X} is not UTF-8 (was the file saved as Latin-1?); save it as UTF-8\n{gutter} |\n{line} | {shown}\n{gutter} | {}^",
        bytes[at],
        " ".repeat(column - 1)
    )
}

/// What `run` prints on stdout.
enum Output {
    /// The text report, with this much of the timeline.
    Text(Timeline),
    Json,
    /// A Mermaid sequence diagram of these rows.
    Mermaid(report::sequence::Selection),
}

fn run(file: &str, seed: Option<u64>, output: Output, trace: Option<&Path>) -> ExitCode {
    let (name, text) = match load(file) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let sc = match scenario::parse(&text) {
        Ok(sc) => sc,
        Err(problems) => {
            eprint!("{}", diag::render(&name, &text, &problems));
            return ExitCode::from(2);
        }
    };
    let seed = seed.unwrap_or(sc.seed);
    let reproduce = format!("kafkasim run {name} --seed {seed}");
    let limit = match output {
        Output::Text(Timeline::Auto) => Some(1000),
        Output::Text(Timeline::Full) => None,
        _ => Some(0),
    };
    let to_stdout = trace.is_some_and(|p| p.as_os_str() == "-");
    let writer: Option<Box<dyn Write>> = match trace {
        None => None,
        Some(_) if to_stdout => Some(Box::new(std::io::BufWriter::new(std::io::stdout()))),
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => Some(Box::new(std::io::BufWriter::new(f))),
            Err(e) => {
                eprintln!("{}: cannot write the trace: {e}", path.display());
                return ExitCode::from(2);
            }
        },
    };
    // Only the text report needs timeline rows, and only a diagram its recording (both
    // bounded); nothing keeps the whole trace.
    let keep = if matches!(output, Output::Text(_)) && !to_stdout {
        limit
    } else {
        Some(0)
    };
    let mut rows = report::Timeline::new(keep);
    let mut recording = report::sequence::Recording::default();
    let diagram = matches!(output, Output::Mermaid(_)) && !to_stdout;
    let (result, verdict, trace_result) = match writer {
        None if diagram => {
            let (r, v) = simulate_with(&sc, seed, &mut recording);
            (r, v, Ok(()))
        }
        None => {
            // Nothing to keep (JSON, or no timeline): the checker alone sees the records.
            let (r, v) = if keep == Some(0) {
                simulate(&sc, seed)
            } else {
                simulate_with(&sc, seed, &mut rows)
            };
            (r, v, Ok(()))
        }
        Some(w) => {
            let mut jsonl = report::Jsonl::new(&sc, w);
            let sinks = kafkasim::trace::Pair(&mut rows, &mut jsonl);
            let (r, v) = if diagram {
                simulate_with(&sc, seed, kafkasim::trace::Pair(sinks, &mut recording))
            } else {
                simulate_with(&sc, seed, sinks)
            };
            (r, v, jsonl.finish())
        }
    };
    if to_stdout {
        let pass = if verdict.pass { "pass" } else { "fail" };
        eprintln!("seed {seed} · verdict {pass} · reproduce: {reproduce}");
    } else {
        match output {
            Output::Text(_) => say!(
                "{}",
                report::text(
                    &sc,
                    seed,
                    &result,
                    &verdict,
                    &rows,
                    &report::TextOptions {
                        reproduce: &reproduce,
                        timeline_limit: limit,
                    }
                )
            ),
            Output::Json => say!("{}", report::json(&sc, seed, &result, &verdict)),
            Output::Mermaid(selection) => say!(
                "{}",
                report::sequence::mermaid(
                    &sc, seed, &result, &verdict, &recording, selection, &reproduce
                )
            ),
        }
    }
    // A reader that stopped early (`--trace - | head`) is not an error, as for every
    // other output on stdout.
    let trace_result = trace_result.or_else(|e| match e.kind() {
        std::io::ErrorKind::BrokenPipe if to_stdout => Ok(()),
        _ => Err(e),
    });
    if let Err(e) = trace_result {
        let shown = trace.map_or(String::new(), |p| p.display().to_string());
        eprintln!("{shown}: cannot write the trace: {e}");
        return ExitCode::from(2);
    }
    // The report is complete on stdout before the closing line goes to stderr, so the two
    // never run together when both go to one place.
    let _ = std::io::stdout().flush();
    if verdict.pass {
        ExitCode::SUCCESS
    } else {
        eprintln!("expectations failed; reproduce with: {reproduce}");
        ExitCode::from(1)
    }
}

fn scenario_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut stack = vec![p.clone()];
            while let Some(dir) = stack.pop() {
                let Ok(entries) = std::fs::read_dir(&dir) else {
                    continue;
                };
                for e in entries.flatten() {
                    let path = e.path();
                    if path.is_dir() {
                        stack.push(path);
                    } else if path.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                        out.push(path);
                    }
                }
            }
        } else {
            out.push(p.clone());
        }
    }
    out.sort();
    out
}

fn check(paths: &[PathBuf]) -> ExitCode {
    let files = scenario_files(paths);
    if files.is_empty() {
        let shown: Vec<String> = paths
            .iter()
            .map(|p| diag::visible(&p.display().to_string()))
            .collect();
        eprintln!(
            "no scenario files (*.yaml, *.yml) found under {}",
            shown.join(", ")
        );
    }
    let mut failed = 0;
    for f in &files {
        let name = f.display().to_string();
        let line = match load(&name) {
            Err(e) => {
                failed += 1;
                format!("ERROR {e}")
            }
            Ok((_, text)) => match scenario::parse(&text) {
                Err(problems) => {
                    failed += 1;
                    let first = diag::render(&name, &text, &problems[..1]);
                    format!("ERROR {}", first.lines().next().unwrap_or(""))
                }
                Ok(sc) => {
                    let (_, v) = simulate(&sc, sc.seed);
                    let missed: Vec<String> = v
                        .expectations
                        .iter()
                        .filter(|e| !e.holds)
                        .map(|e| e.describe())
                        .collect();
                    if missed.is_empty() {
                        format!("PASS  {name}  ({} expectations)", v.expectations.len())
                    } else {
                        failed += 1;
                        format!("FAIL  {name}  {}", missed.join("; "))
                    }
                }
            },
        };
        sayln!("{line}");
    }
    sayln!("{} passed, {} failed", files.len() - failed, failed);
    if failed == 0 && !files.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `kafkasim partition`: each key's hash and partition under `kind`. For the default
/// (`java`) the columns and JSON keys are `murmur2` and `partition`, as they always were;
/// another hash names its own column (`crc32`, `legacy-murmur2`), and a key the client sends
/// the null-key way (librdkafka's `consistent_random` with an empty key) shows `random`.
fn partition(partitions: u32, kind: PartitionerKind, keys: &[String], format: Format) -> ExitCode {
    if partitions == 0 {
        eprintln!("--partitions must be at least 1");
        return ExitCode::from(2);
    }
    let rows: Vec<(&str, i64, Option<u32>)> = keys
        .iter()
        .map(|k| {
            let key = k.as_bytes();
            (
                k.as_str(),
                kind.hash(key),
                kind.partition_for_key(key, partitions),
            )
        })
        .collect();
    let hash = kind.hash_name();
    match format {
        Format::Text => {
            // 12 wide as always for murmur2; wider only for a longer hash name.
            let w = 12.max(hash.len());
            sayln!("{:<24} {hash:>w$} {:>10}", "key", "partition");
            for (k, h, p) in rows {
                let p = p.map_or("random".to_string(), |p| p.to_string());
                sayln!("{:<24} {h:>w$} {p:>10}", diag::visible(k));
            }
            let formula = match kind {
                PartitionerKind::LibrdkafkaConsistentRandom => format!(
                    "crc32(utf8(key)) % {partitions}, as librdkafka's consistent_random computes it; an empty key goes to a random partition"
                ),
                PartitionerKind::KafkajsLegacy => format!(
                    "toPositive(legacy-murmur2(utf8(key))) % {partitions}, as kafkajs's LegacyPartitioner computes it"
                ),
                _ => format!(
                    "toPositive(murmur2(utf8(key))) % {partitions}, as Kafka's producer computes it"
                ),
            };
            sayln!("\npartition = {formula}");
            sayln!(
                "partitioner: {}; null keys: {}",
                kind.name(),
                kind.null_keys()
            );
        }
        Format::Json => {
            let mut j = kafkasim::json::Json::new();
            j.open_array();
            for (k, h, p) in rows {
                j.open_object();
                j.field_str("key", k);
                // murmur2 is a signed 32-bit value; JSON numbers carry the sign.
                j.key(hash);
                j.raw_i64(h);
                j.key("partition");
                j.opt_num(p.map(u64::from));
                j.field_str("partitioner", kind.name());
                j.close_object();
            }
            j.close_array();
            sayln!("{}", j.finish());
        }
    }
    ExitCode::SUCCESS
}

/// `kafkasim assign`: each member's partitions, sorted by member id; for cooperative-sticky,
/// the partitions withheld until the next rebalance (text only: the JSON is exactly the map
/// from member id to its partitions).
fn assign_command(input: &AssignInput, format: Format) -> ExitCode {
    let topic_refs: Vec<(&str, u32)> = input.topics.iter().map(|(t, n)| (t.as_str(), *n)).collect();
    let result = assignor::rebalance(input.strategy, &topic_refs, &input.members);
    // Topic by name, then partition by number, whatever order the assignor listed them in.
    let mut by_member: std::collections::BTreeMap<&str, Vec<String>> =
        std::collections::BTreeMap::new();
    for (m, parts) in input.members.iter().zip(&result.assignment) {
        let mut parts: Vec<(&str, u32)> = parts
            .iter()
            .map(|&(t, p)| (input.topics[t].0.as_str(), p))
            .collect();
        parts.sort();
        let names = parts.iter().map(|(t, p)| format!("{t}-{p}")).collect();
        by_member.insert(m.member_id.as_str(), names);
    }
    match format {
        Format::Json => match serde_json::to_string_pretty(&by_member) {
            Ok(j) => sayln!("{j}"),
            Err(e) => {
                eprintln!("cannot write the JSON: {e}");
                return ExitCode::from(2);
            }
        },
        Format::Text => {
            for (id, parts) in &by_member {
                if parts.is_empty() {
                    sayln!("{id}: (none)");
                } else {
                    sayln!("{id}: {}", parts.join(", "));
                }
            }
            if input.strategy.rebalance_protocol() == assignor::RebalanceProtocol::Cooperative {
                let withheld: Vec<String> = result
                    .withheld()
                    .iter()
                    .map(|t| {
                        let mut from: Vec<&str> = t
                            .from
                            .iter()
                            .map(|&m| input.members[m].member_id.as_str())
                            .collect();
                        from.sort();
                        // "a", "a and b", "a, b and c": the owners that all claimed it.
                        let last = from.pop().unwrap_or("");
                        let from = if from.is_empty() {
                            last.to_owned()
                        } else {
                            format!("{} and {last}", from.join(", "))
                        };
                        format!(
                            "{}-{} (from {from}, for {})",
                            input.topics[t.topic].0, t.partition, input.members[t.to].member_id
                        )
                    })
                    .collect();
                let list = if withheld.is_empty() {
                    "none".to_owned()
                } else {
                    withheld.join("; ")
                };
                sayln!("withheld until the next rebalance, while their owners revoke them: {list}");
            }
        }
    }
    ExitCode::SUCCESS
}
