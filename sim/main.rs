//! The `kafkasim` command line: run a scenario, check a folder of them, write a run's HTML
//! page (`report`), show partitions, show a group's assignment (`assign`), list the
//! embedded lessons, measure the simulator (`bench`), run a scenario on many seeds
//! (`sweep`, `check --seeds`). Exit codes: 0 all expectations hold, 1 one fails,
//! 2 the input is unusable (with `FILE:LINE:COL: message` and a snippet); `sweep` also 3,
//! a bug in kafkasim (a run panicked, or two runs of one seed differed).

use clap::{Parser, Subcommand, ValueEnum};
use kafkasim::assignor;
use kafkasim::assignor::flags::{assign_input, AssignFlags, AssignInput};
use kafkasim::partitioner::PartitionerKind;
use kafkasim::{
    bench, diag, golden, lessons, report, scenario, simulate, simulate_with, sweep, whatif,
};
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Prints to stdout; a closed pipe (`kafkasim list | head`) ends the output quietly
/// instead of panicking, and any other write error (a full disk, `> /dev/full`) is noted
/// for `main` to report with exit 2.
macro_rules! say {
    ($($arg:tt)*) => {{
        noted(write!(std::io::stdout().lock(), $($arg)*));
    }};
}
macro_rules! sayln {
    ($($arg:tt)*) => {{
        noted(writeln!(std::io::stdout().lock(), $($arg)*));
    }};
}

/// Set when writing to stdout failed other than by a closed pipe: the output is
/// incomplete, so the command must not exit as if it had succeeded.
static STDOUT_FAILED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Notes a failed write to stdout (a closed pipe is a reader that stopped: not a failure).
fn noted(r: std::io::Result<()>) {
    if r.is_err_and(|e| e.kind() != std::io::ErrorKind::BrokenPipe) {
        STDOUT_FAILED.store(true, std::sync::atomic::Ordering::Relaxed);
    }
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
        /// Colour: auto (on a terminal, unless NO_COLOR is set), always, or never.
        #[arg(long, value_enum, default_value_t = ColorWhen::Auto)]
        color: ColorWhen,
        /// Timeline: only rows of records with this key (the summary stays whole).
        #[arg(long, value_name = "KEY")]
        key: Option<String>,
        /// Timeline: only rows about this partition: p0, 0 (partition 0 of every topic) or
        /// topic-0.
        #[arg(long, value_name = "P")]
        partition: Option<String>,
        /// Timeline: only rows of this actor; a group also selects its members, a service
        /// its relays.
        #[arg(long, value_name = "NAME")]
        actor: Option<String>,
        /// Timeline: only the rows around first-duplicate, first-loss, first-anomaly,
        /// rebalance or a time such as 1500ms.
        #[arg(long, value_name = "WHEN", value_parser = report::terminal::Moment::parse, conflicts_with = "until")]
        around: Option<report::terminal::Moment>,
        /// Rows shown on each side of --around.
        #[arg(long, value_name = "N", default_value_t = report::terminal::DEFAULT_CONTEXT, requires = "around")]
        context: usize,
        /// Show every row of the timeline: do not fold repeated rows into one (×N).
        #[arg(long)]
        no_fold: bool,
        /// Stop the timeline at first-duplicate, first-loss, first-anomaly, rebalance or a
        /// time such as 1500ms, and hold back what happens next (predict, then reveal).
        #[arg(long, value_name = "WHEN", value_parser = report::terminal::Moment::parse)]
        until: Option<report::terminal::Moment>,
        /// With --until: print from the breakpoint on, then the summary and the verdict.
        #[arg(long, requires = "until")]
        resume: bool,
    },
    /// Tell each anomaly as a short causal story, from its first cause to what you see.
    Explain {
        file: String,
        /// Override the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Tell every anomaly the verdict kept, not only the first 20.
        #[arg(long)]
        all: bool,
    },
    /// Write one self-contained HTML page of a run: topology, partition lanes, ownership,
    /// timeline with anomalies and their causes, summary and verdict, with a time slider.
    Report {
        /// A YAML file, or the name of an embedded lesson (as for `run`).
        file: String,
        /// Where to write the page; `-` writes it to stdout.
        #[arg(
            short = 'o',
            long = "output",
            value_name = "PATH",
            default_value = "report.html"
        )]
        output: PathBuf,
        /// Override the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Print an embedded lesson's YAML, to copy and change.
    Show { lesson: String },
    /// Run every scenario under the paths; one line each; exit 1 if any fails.
    Check {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Also compare each scenario's text report and JSON verdict with its golden files
        /// in this folder (DIR/NAME.txt and DIR/NAME.json) and show a diff where they differ.
        #[arg(long, value_name = "DIR")]
        golden: Option<PathBuf>,
        /// Write (or overwrite) the golden files instead of comparing with them.
        #[arg(long, requires = "golden")]
        update: bool,
        /// Require each scenario's expect: block to hold on every seed of this range: A..B
        /// runs the seeds A to B-1 (0..100 is 100 seeds), A..=B runs A to B.
        #[arg(long, value_name = "A..B", conflicts_with = "golden")]
        seeds: Option<String>,
        /// With --seeds: threads to run the seeds on (default: the machine's cores).
        #[arg(long, value_name = "N", requires = "seeds",
              value_parser = clap::value_parser!(u64).range(1..=sweep::MAX_JOBS as u64))]
        jobs: Option<u64>,
    },
    /// Run one scenario on many seeds, in-process, and summarise the outcomes: how many
    /// seeds showed each anomaly, each counter's min, median and max, the failing seeds.
    Sweep {
        /// A YAML file, or the name of an embedded lesson (as for `run`).
        #[arg(required_unless_present = "merge")]
        file: Option<String>,
        /// The seeds: A..B runs A to B-1 (0..1000 is 1000 seeds), A..=B runs A to B; at
        /// most 10000000.
        #[arg(long, value_name = "A..B", required_unless_present = "merge")]
        seeds: Option<String>,
        /// Threads to run the seeds on (default: the machine's cores, at most one a seed).
        /// The summary is the same whatever it is.
        #[arg(long, value_name = "N",
              value_parser = clap::value_parser!(u64).range(1..=sweep::MAX_JOBS as u64))]
        jobs: Option<u64>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Run one shard of the seeds: those whose remainder divided by N is K (0 <= K < N).
        /// Shards' JSON summaries merge with --merge.
        #[arg(long, value_name = "K/N")]
        shard: Option<String>,
        /// Also run a sample of the seeds twice more each and compare their traces record
        /// by record (a determinism self-check; exit 3 if two runs differ).
        #[arg(long)]
        verify: bool,
        /// With --verify: how many seeds to re-run, spread evenly over the sweep's.
        #[arg(long, value_name = "M", requires = "verify", default_value_t = 16,
              value_parser = clap::value_parser!(u64).range(1..=10_000))]
        sample: u64,
        /// Merge the JSON summaries of a sweep's shards (`--shard K/N --format json`) into
        /// the summary of them all.
        #[arg(long, value_name = "SUMMARY.json", num_args = 1..,
              conflicts_with_all = ["file", "seeds", "shard", "verify", "jobs"])]
        merge: Vec<PathBuf>,
    },
    /// What if: run a scenario as written and with settings changed, on the same seed, and
    /// compare verdicts, counters and timelines.
    Diff {
        /// A YAML file, or the name of an embedded lesson.
        file: String,
        /// A setting to change: a dot-separated path and a YAML value, e.g.
        /// consumer_groups.payment-service.config.enable.auto.commit=true; repeat for more.
        #[arg(long = "set", value_name = "PATH=VALUE", required = true)]
        sets: Vec<String>,
        /// Run both with this seed instead of the scenario's.
        #[arg(long)]
        seed: Option<u64>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
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
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

/// `--color`: whether the text report is coloured.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum ColorWhen {
    /// Colour on a terminal, unless NO_COLOR is set; CLICOLOR_FORCE=1 forces it (anstream
    /// decides, from NO_COLOR, CLICOLOR, CLICOLOR_FORCE and TERM).
    Auto,
    Always,
    Never,
}

impl ColorWhen {
    fn choice(self) -> anstream::ColorChoice {
        match self {
            ColorWhen::Auto => anstream::ColorChoice::Auto,
            ColorWhen::Always => anstream::ColorChoice::Always,
            ColorWhen::Never => anstream::ColorChoice::Never,
        }
    }
}

/// How `run` presents the text report: colour, the timeline's filters and folding, and a
/// breakpoint.
struct Presentation {
    color: ColorWhen,
    view: report::terminal::View,
    resume: bool,
}

impl Default for Presentation {
    fn default() -> Presentation {
        Presentation {
            color: ColorWhen::Auto,
            view: report::terminal::View::default(),
            resume: false,
        }
    }
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
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let code = command(cli);
    noted(std::io::stdout().flush());
    if STDOUT_FAILED.load(std::sync::atomic::Ordering::Relaxed) {
        eprintln!("cannot write to stdout (is the disk full?): the output is incomplete");
        return ExitCode::from(2);
    }
    code
}

/// Carries out one command line; the exit code, unless stdout failed (`main`).
fn command(cli: Cli) -> ExitCode {
    match cli.command {
        None => {
            let code = run(
                lessons::DEFAULT,
                None,
                Output::Text(Timeline::Auto),
                None,
                &Presentation::default(),
            );
            sayln!();
            sayln!("Next: `kafkasim list` shows every lesson; `kafkasim run FILE` runs one (a lesson's name or your own YAML file);");
            sayln!("      `kafkasim run FILE --seed N` replays it with another seed; `kafkasim report FILE` writes it as one");
            sayln!(
                "      HTML page to step through (report.html); `kafkasim --help` shows the rest."
            );
            code
        }
        Some(Command::Run {
            file,
            resolved: true,
            ..
        }) => match load_scenario(&file) {
            Ok((_, sc)) => {
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
            events,
            window,
            trace,
            timeline,
            color,
            key,
            partition,
            actor,
            around,
            context,
            no_fold,
            until,
            resume,
            resolved: false,
        }) => {
            let shown = Presentation {
                color,
                view: report::terminal::View {
                    key,
                    partition,
                    actor,
                    around,
                    context,
                    fold: !no_fold,
                    until,
                },
                resume,
            };
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
            let to_stdout = trace.as_deref().is_some_and(|p| p.as_os_str() == "-");
            if let Some(e) = presentation_error(&shown, &output, to_stdout) {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
            run(&file, seed, output, trace.as_deref(), &shown)
        }
        Some(Command::Explain {
            file,
            seed,
            format,
            all,
        }) => explain(&file, seed, format, all),
        Some(Command::Report { file, output, seed }) => report_command(&file, &output, seed),
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
        Some(Command::Check {
            paths,
            golden: None,
            seeds: None,
            ..
        }) => check(&paths),
        Some(Command::Check {
            paths,
            seeds: Some(seeds),
            jobs,
            ..
        }) => check_seeds(&paths, &seeds, jobs),
        Some(Command::Check {
            paths,
            golden: Some(dir),
            update,
            ..
        }) => check_golden(&paths, &dir, update),
        Some(Command::Sweep {
            file,
            seeds,
            jobs,
            format,
            shard,
            verify,
            sample,
            merge,
        }) => {
            if merge.is_empty() {
                let verify = verify.then_some(sample);
                let flags = SweepFlags {
                    file: file.unwrap_or_default(),
                    seeds: seeds.unwrap_or_default(),
                    jobs,
                    shard,
                    verify,
                };
                sweep_command(&flags, format)
            } else {
                merge_command(&merge, format)
            }
        }
        Some(Command::Diff {
            file,
            sets,
            seed,
            format,
        }) => diff(&file, &sets, seed, format),
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

/// A command line clap could not take: its message with every character that could drive
/// the terminal shown as `�` (clap echoes the value it refused), on stderr, with clap's
/// exit code (2); `--help` and `--version` print as clap prints them.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion)
        || matches!(
            e.kind(),
            ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        )
    {
        e.exit();
    }
    let text = e.render().to_string();
    let shown: Vec<String> = text.lines().map(diag::visible).collect();
    eprintln!("{}", shown.join("\n"));
    ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2))
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
        // The name is printed (reproduce lines, diagnostics): never a raw control byte.
        return Ok((diag::visible(file), text));
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

/// Whether writing `output` would overwrite the scenario file `input` (the same file by
/// its canonical path): `report -o s.yaml` or `--trace s.yaml` for `s.yaml` itself.
fn writes_over(output: &Path, input: &str) -> bool {
    match (std::fs::canonicalize(output), std::fs::canonicalize(input)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// `load_scenario`, with its diagnostics printed on stderr and exit code 2 on failure: how
/// every command that runs one scenario starts.
fn scenario_or_exit(file: &str) -> Result<(String, scenario::Scenario), ExitCode> {
    load_scenario(file).map_err(|e| {
        eprint!("{}", if e.ends_with('\n') { e } else { e + "\n" });
        ExitCode::from(2)
    })
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

/// Flags that shape the text timeline, given where they change nothing: a usage error.
fn presentation_error(shown: &Presentation, output: &Output, to_stdout: bool) -> Option<String> {
    let v = &shown.view;
    let named = [
        (v.key.is_some(), "--key"),
        (v.partition.is_some(), "--partition"),
        (v.actor.is_some(), "--actor"),
        (v.around.is_some(), "--around"),
        (v.until.is_some(), "--until"),
        (!v.fold, "--no-fold"),
    ];
    let flag = named.iter().find(|f| f.0).map(|f| f.1)?;
    if let Output::Json | Output::Mermaid(_) = output {
        let format = if let Output::Json = output {
            "json"
        } else {
            "mermaid"
        };
        Some(format!(
            "{flag} shapes the text timeline; it cannot be used with --format {format}"
        ))
    } else if to_stdout {
        Some(format!(
            "{flag} shapes the text timeline; it cannot be used with --trace - (which prints no report)"
        ))
    } else if let Output::Text(Timeline::None) = output {
        Some(format!(
            "{flag} shapes the text timeline; it cannot be used with --timeline none"
        ))
    } else {
        None
    }
}

/// What `run` prints on stdout.
enum Output {
    /// The text report, with this much of the timeline.
    Text(Timeline),
    Json,
    /// A Mermaid sequence diagram of these rows.
    Mermaid(report::sequence::Selection),
}

fn run(
    file: &str,
    seed: Option<u64>,
    output: Output,
    trace: Option<&Path>,
    shown: &Presentation,
) -> ExitCode {
    let (name, sc) = match scenario_or_exit(file) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let seed = seed.unwrap_or(sc.seed);
    let reproduce = format!("kafkasim run {name} --seed {seed}");
    let limit = match output {
        Output::Text(Timeline::Auto) => Some(report::terminal::SHOW_ROWS),
        Output::Text(Timeline::Full) => None,
        _ => Some(0),
    };
    // The sink keeps more rows than are shown, so that folding, filters and breakpoints
    // have rows to work with; still a bounded number (`KEEP_ROWS`).
    let keep_rows = match output {
        Output::Text(Timeline::Auto) => Some(report::terminal::KEEP_ROWS),
        Output::Text(Timeline::Full) => None,
        _ => Some(0),
    };
    let to_stdout = trace.is_some_and(|p| p.as_os_str() == "-");
    let writer: Option<Box<dyn Write>> = match trace {
        None => None,
        Some(_) if to_stdout => Some(Box::new(std::io::BufWriter::new(std::io::stdout()))),
        Some(path) if writes_over(path, file) => {
            eprintln!(
                "{}: is the scenario being run; the trace would overwrite it (choose another --trace file)",
                diag::visible(&path.display().to_string())
            );
            return ExitCode::from(2);
        }
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
        keep_rows
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
    let mut held_back = false;
    if to_stdout {
        let pass = if verdict.pass { "pass" } else { "fail" };
        eprintln!("seed {seed} · verdict {pass} · reproduce: {reproduce}");
    } else {
        match output {
            Output::Text(_) => {
                let opts = report::TextOptions {
                    reproduce: &reproduce,
                    timeline_limit: limit,
                };
                let input = report::terminal::Input {
                    sc: &sc,
                    seed,
                    run: &result,
                    verdict: &verdict,
                    kept: &rows,
                    opts: &opts,
                };
                match show_text(&input, shown) {
                    Ok(Shown::Whole) => {}
                    Ok(Shown::HeldBack) => held_back = true,
                    Err(e) => {
                        eprintln!("{e}");
                        return ExitCode::from(2);
                    }
                }
            }
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
    noted(std::io::stdout().flush());
    // A breakpoint holds the verdict back, and its exit code with it: the rest is revealed
    // on request.
    if verdict.pass || held_back {
        ExitCode::SUCCESS
    } else {
        eprintln!("expectations failed; reproduce with: {reproduce}");
        ExitCode::from(1)
    }
}

/// `kafkasim explain`: the run's anomalies as stories; exit code as `run`'s.
fn explain(file: &str, seed: Option<u64>, format: Format, all: bool) -> ExitCode {
    let (name, sc) = match scenario_or_exit(file) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let seed = seed.unwrap_or(sc.seed);
    let reproduce = format!("kafkasim explain {name} --seed {seed}");
    let (result, verdict) = simulate(&sc, seed);
    match format {
        Format::Text => say!(
            "{}",
            report::explain_text(
                &sc,
                seed,
                &result.tables,
                &verdict,
                &report::ExplainOptions {
                    reproduce: &reproduce,
                    limit: (!all).then_some(report::STORIES_SHOWN),
                }
            )
        ),
        Format::Json => say!(
            "{}",
            report::explain_json(&sc, seed, &result.tables, &verdict)
        ),
    }
    noted(std::io::stdout().flush());
    if verdict.pass {
        ExitCode::SUCCESS
    } else {
        eprintln!("expectations failed; reproduce with: {reproduce}");
        ExitCode::from(1)
    }
}

/// Whether the text report was printed whole, or held back at a breakpoint.
enum Shown {
    Whole,
    HeldBack,
}

/// Prints the text report as `shown` asks: whole, up to a breakpoint, from it on, or up
/// to it and then row by row when a reader sits at a terminal. Styles go through anstream,
/// which strips them unless stdout is a terminal that wants colour (or `--color always`).
/// An error is a filter naming nothing in this run (exit 2).
fn show_text(input: &report::terminal::Input, shown: &Presentation) -> Result<Shown, String> {
    use std::io::IsTerminal;
    let screen = report::terminal::render(input, &shown.view, report::Paint::ANSI)?;
    let mut out = anstream::AutoStream::new(std::io::stdout().lock(), shown.color.choice());
    let Some(stop) = &screen.stop else {
        noted(out.write_all(screen.whole().as_bytes()));
        return Ok(Shown::Whole);
    };
    if shown.resume {
        noted(out.write_all(screen.resumed().as_bytes()));
        return Ok(Shown::Whole);
    }
    let stepping = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    if !stepping {
        noted(out.write_all(screen.stopped(report::Paint::ANSI).as_bytes()));
        return Ok(Shown::HeldBack);
    }
    noted(out.write_all(screen.head.as_bytes()));
    noted(out.write_all(stop.line.as_bytes()));
    let stepped = report::terminal::step(
        &screen.rest,
        &mut std::io::stdin().lock(),
        &mut out,
        report::Paint::ANSI,
    );
    match stepped {
        Ok(report::terminal::Stepped::Finished) => {
            noted(out.write_all(screen.rest_note.as_bytes()));
            noted(out.write_all(screen.tail.as_bytes()));
            Ok(Shown::Whole)
        }
        Ok(report::terminal::Stepped::Quit) | Err(_) => {
            let _ = writeln!(
                out,
                "{}",
                report::Paint::ANSI
                    .paint(report::Tone::Stop, &format!("  The rest: {}", stop.reveal))
            );
            Ok(Shown::HeldBack)
        }
    }
}

/// `kafkasim report`: runs the scenario as `run` does, with a sink that keeps the trace
/// the page needs, and writes the page. Exit codes as `run`'s; an output that cannot be
/// written is 2.
fn report_command(file: &str, output: &Path, seed: Option<u64>) -> ExitCode {
    let (name, sc) = match scenario_or_exit(file) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let seed = seed.unwrap_or(sc.seed);
    let reproduce = format!("kafkasim run {name} --seed {seed}");
    let to_stdout = output.as_os_str() == "-";
    let shown = diag::visible(&output.display().to_string());
    if writes_over(output, file) {
        eprintln!(
            "{shown}: is the scenario being run; the report would overwrite it (choose another -o)"
        );
        return ExitCode::from(2);
    }
    // Created before the run, so a path that cannot be written is found at once.
    let mut out: Box<dyn Write> = if to_stdout {
        Box::new(std::io::stdout().lock())
    } else {
        match std::fs::File::create(output) {
            Ok(f) => Box::new(std::io::BufWriter::new(f)),
            Err(e) => {
                eprintln!("{shown}: cannot write the report: {e}");
                return ExitCode::from(2);
            }
        }
    };
    let mut capture = report::Capture::new();
    let (result, verdict) = simulate_with(&sc, seed, &mut capture);
    let opts = report::HtmlOptions {
        reproduce: &reproduce,
    };
    let page = match report::html(&sc, seed, &result, &verdict, &capture, &opts) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let written = out.write_all(page.as_bytes()).and_then(|()| out.flush());
    match written {
        Ok(()) => {}
        // A reader that stopped early (`-o - | head`) is not an error.
        Err(e) if to_stdout && e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => {
            eprintln!("{shown}: cannot write the report: {e}");
            return ExitCode::from(2);
        }
    }
    let pass = if verdict.pass { "pass" } else { "fail" };
    let line = format!("seed {seed} · verdict {pass} · reproduce: {reproduce}");
    if to_stdout {
        eprintln!("{line}");
    } else {
        sayln!("wrote {shown} · {line}");
    }
    if verdict.pass {
        ExitCode::SUCCESS
    } else {
        eprintln!("expectations failed; reproduce with: {reproduce}");
        ExitCode::from(1)
    }
}

/// A scenario file as `check` takes it: its name as printed (control characters as `�`),
/// and the validated scenario or the one line `check` prints for it (`FILE:LINE:COL:
/// message`, the first problem).
fn check_load(f: &Path) -> (String, Result<scenario::Scenario, String>) {
    let path = f.display().to_string();
    let name = diag::visible(&path);
    let loaded = load(&path).and_then(|(_, text)| {
        scenario::parse(&text).map_err(|p| {
            let first = diag::render(&name, &text, &p[..1]);
            first.lines().next().unwrap_or("").to_string()
        })
    });
    (name, loaded)
}

fn scenario_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut stack = vec![p.clone()];
            // Each folder once, by its canonical path: a symlink back up the tree (`self ->
            // .`) would otherwise be walked without end.
            let mut seen = std::collections::BTreeSet::new();
            while let Some(dir) = stack.pop() {
                let real = std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone());
                if !seen.insert(real) {
                    continue;
                }
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
        let (name, loaded) = check_load(f);
        let line = match loaded {
            Err(e) => {
                failed += 1;
                format!("ERROR {e}")
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

/// `kafkasim check PATH... --golden DIR [--update]`: `check`, plus each scenario's text
/// report and JSON verdict compared with (or, with `update`, written to) its golden files.
fn check_golden(paths: &[PathBuf], dir: &Path, update: bool) -> ExitCode {
    let files = scenario_files(paths);
    let names = match golden::names(paths, &files) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
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
    let (mut failed, mut written, mut unchanged) = (0, 0, 0);
    for (f, golden_name) in files.iter().zip(&names) {
        let (name, loaded) = check_load(f);
        let sc = match loaded {
            Ok(sc) => sc,
            Err(e) => {
                failed += 1;
                sayln!("ERROR {e}");
                continue;
            }
        };
        let out = golden::outputs(&name, &sc);
        match golden::check_one(&name, &out, (dir, golden_name), update) {
            Ok(r) => {
                failed += usize::from(!r.pass);
                written += r.written;
                unchanged += r.unchanged;
                say!("{}", r.text);
            }
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        }
    }
    let golden_summary = if update {
        format!("; golden files: {written} written, {unchanged} unchanged")
    } else {
        String::new()
    };
    sayln!(
        "{} passed, {} failed{golden_summary}",
        files.len() - failed,
        failed
    );
    if failed == 0 && !files.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `kafkasim diff FILE --set PATH=VALUE...`: the scenario as written ("before") and with
/// every `--set` applied ("after"), each run once on the same seed, compared.
fn diff(file: &str, sets: &[String], seed: Option<u64>, format: Format) -> ExitCode {
    let (name, text) = match load(file) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let before = match scenario::parse(&text) {
        Ok(sc) => sc,
        Err(problems) => {
            eprint!("{}", diag::render(&name, &text, &problems));
            return ExitCode::from(2);
        }
    };
    let edited = match whatif::apply(&text, &report::resolved(&before), sets) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let after = match scenario::parse(&edited.text) {
        Ok(sc) => sc,
        Err(problems) => {
            eprint!("{}", whatif::render_problems(&name, &edited, &problems));
            return ExitCode::from(2);
        }
    };
    // `--seed` overrides the file's seed in both runs, so a `--set seed=…` would be
    // shown as a change and then ignored: refuse the pair rather than say what did not run.
    if seed.is_some() && before.seed != after.seed {
        eprintln!(
            "--seed and a --set of `seed` contradict each other: --seed runs both scenarios on one seed; drop one of them"
        );
        return ExitCode::from(2);
    }
    let (seed_before, seed_after) = (seed.unwrap_or(before.seed), seed.unwrap_or(after.seed));
    let mut reproduce = format!("kafkasim diff {}", shell_word(&name));
    for s in sets {
        let _ = write!(reproduce, " --set {}", shell_word(s));
    }
    // A `--set seed=…` gives the runs two seeds; `--seed` would make them one again.
    if seed_before == seed_after {
        let _ = write!(reproduce, " --seed {seed_before}");
    }
    let w = whatif::WhatIf {
        name: &before.name,
        reproduce: &reproduce,
        changes: &edited.changes,
        before: whatif::run(&before, seed_before),
        after: whatif::run(&after, seed_after),
    };
    match format {
        Format::Text => say!("{}", whatif::text(&w)),
        Format::Json => say!("{}", whatif::json(&w)),
    }
    ExitCode::SUCCESS
}

/// `s` as one shell word, single-quoted when it holds anything but plain characters, and
/// with anything unsafe on a terminal shown as U+FFFD.
fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./=:,@%+-".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", diag::one_line(&s.replace('\'', r"'\''")))
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

/// `kafkasim sweep FILE --seeds A..B …`'s flags, as given.
struct SweepFlags {
    file: String,
    seeds: String,
    jobs: Option<u64>,
    shard: Option<String>,
    /// `--verify`, with its sample size.
    verify: Option<u64>,
}

/// Threads for `seeds` seeds: `--jobs`, else the machine's cores; never more than the seeds.
fn jobs_for(jobs: Option<u64>, seeds: u64) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let jobs = jobs.map_or(cores, |j| j as usize);
    jobs.min(seeds.max(1) as usize).clamp(1, sweep::MAX_JOBS)
}

/// A progress bar on stderr when stderr is a terminal; otherwise one that draws nothing.
/// It only shows progress: nothing it does reaches stdout or a summary.
fn progress_bar(seeds: u64) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(seeds);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{elapsed_precise} [{bar:40}] {human_pos}/{human_len} seeds, {eta} left",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// A panic in a seed's run is reported with its seed (`sweep::run_seed` catches it), so
/// the default hook's message would only repeat it, once per seed: keep sweep threads quiet.
fn quiet_sweep_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_sweep = std::thread::current()
            .name()
            .is_some_and(|n| n.starts_with(sweep::THREAD_NAME));
        if !in_sweep {
            default(info);
        }
    }));
}

/// Loads FILE as `run` does, keeping its text (the sweep's summary names it by hash).
fn load_with_text(file: &str) -> Result<(String, String, scenario::Scenario), String> {
    let (name, text) = load(file)?;
    let sc = scenario::parse(&text).map_err(|p| diag::render(&name, &text, &p))?;
    Ok((name, text, sc))
}

/// Prints a usage or input error and gives exit code 2.
fn unusable(e: &str) -> ExitCode {
    eprint!(
        "{}",
        if e.ends_with('\n') {
            e.to_string()
        } else {
            format!("{e}\n")
        }
    );
    ExitCode::from(2)
}

/// `kafkasim sweep FILE --seeds A..B [--jobs N] [--shard K/N] [--verify [--sample M]]`.
/// Exit codes: 0 every seed passed, 1 some seed failed an expectation, 2 unusable input,
/// 3 a run panicked or two runs of one seed differed (a bug in kafkasim).
fn sweep_command(flags: &SweepFlags, format: Format) -> ExitCode {
    let range = match sweep::SeedRange::parse(&flags.seeds) {
        Ok(r) => r,
        Err(e) => return unusable(&e),
    };
    let shard = match flags.shard.as_deref().map(sweep::Shard::parse).transpose() {
        Ok(s) => s,
        Err(e) => return unusable(&e),
    };
    let (name, text, sc) = match load_with_text(&flags.file) {
        Ok(x) => x,
        Err(e) => return unusable(&e),
    };
    let seeds = sweep::Seeds::of(range, shard);
    let jobs = jobs_for(flags.jobs, seeds.len());
    quiet_sweep_panics();
    let bar = progress_bar(seeds.len());
    let tally = sweep::run(&sc, seeds, jobs, &|n| bar.inc(n));
    bar.finish_and_clear();
    let summary = sweep::summary::Summary::new(&sc, &text, &shell_word(&name), range, shard, tally);
    let checks = flags
        .verify
        .map(|m| sweep::verify::verify(&sc, &seeds.sample(m), jobs));
    match format {
        Format::Text => {
            let mut out = sweep::summary::text(&summary);
            if let Some(c) = &checks {
                out.push_str(&sweep::summary::verify_text(c));
            }
            say!("{out}");
        }
        Format::Json => say!("{}", sweep::summary::json(&summary, checks.as_deref())),
    }
    let _ = std::io::stdout().flush();
    let differ = checks.iter().flatten().find(|c| !c.identical());
    if let Some(c) = differ {
        eprintln!(
            "bug: two runs of seed {} differ: kafkasim is not deterministic here; please report it with: kafkasim sweep {} --seeds {}..={} --verify --sample 1",
            c.seed,
            shell_word(&name),
            c.seed,
            c.seed
        );
        return ExitCode::from(3);
    }
    sweep_exit(&summary)
}

/// The exit code of a summary, with the reason on stderr.
fn sweep_exit(summary: &sweep::summary::Summary) -> ExitCode {
    let code = summary.exit_code();
    let t = &summary.tally;
    if code == 3 {
        eprintln!(
            "bug: kafkasim panicked on {} of {} seeds; the failing seeds' commands reproduce it",
            t.panicked, t.seeds
        );
    } else if code == 1 {
        eprintln!(
            "expectations failed on {} of {} seeds; the first: {}",
            t.failed,
            t.seeds,
            t.first_failing
                .first()
                .map_or(String::new(), |f| summary.seed_command(f.seed))
        );
    }
    ExitCode::from(code)
}

/// Bytes a summary file to merge may have.
const SUMMARY_BYTES: u64 = 1 << 30;

/// `kafkasim sweep --merge A.json B.json …`: the shards' summaries merged into one, printed
/// as text or JSON; exit code as the merged sweep's.
fn merge_command(files: &[PathBuf], format: Format) -> ExitCode {
    let mut parts = Vec::new();
    for f in files {
        let name = diag::visible(&f.display().to_string());
        let size = std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
        if size > SUMMARY_BYTES {
            return unusable(&format!(
                "{name}: {size} bytes; a sweep summary to merge may be at most {SUMMARY_BYTES}"
            ));
        }
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => return unusable(&format!("{name}: cannot read: {e}")),
        };
        match sweep::summary::from_json(&name, &text) {
            Ok(s) => parts.push((name, s)),
            Err(e) => return unusable(&e),
        }
    }
    let summary = match sweep::summary::merge(parts) {
        Ok(s) => s,
        Err(e) => return unusable(&e),
    };
    match format {
        Format::Text => say!("{}", sweep::summary::text(&summary)),
        Format::Json => say!("{}", sweep::summary::json(&summary, None)),
    }
    let _ = std::io::stdout().flush();
    sweep_exit(&summary)
}

/// `kafkasim check PATH... --seeds A..B`: each scenario's expect: block on every seed of the
/// range; one line a file. Exit codes as `check`'s.
fn check_seeds(paths: &[PathBuf], seeds: &str, jobs: Option<u64>) -> ExitCode {
    let range = match sweep::SeedRange::parse(seeds) {
        Ok(r) => r,
        Err(e) => return unusable(&e),
    };
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
    quiet_sweep_panics();
    let all = sweep::Seeds::of(range, None);
    let jobs = jobs_for(jobs, all.len());
    let mut failed = 0;
    for f in &files {
        let (name, loaded) = check_load(f);
        let sc = match loaded {
            Ok(sc) => sc,
            Err(e) => {
                failed += 1;
                sayln!("ERROR {e}");
                continue;
            }
        };
        let bar = progress_bar(all.len());
        let tally = sweep::run(&sc, all, jobs, &|n| bar.inc(n));
        bar.finish_and_clear();
        let shown = diag::visible(&name);
        if tally.failed == 0 {
            sayln!(
                "PASS  {shown}  ({} expectations on {} seeds {range})",
                sc.expect.len(),
                tally.seeds
            );
            continue;
        }
        failed += 1;
        let mut line = format!(
            "FAIL  {shown}  on {} of {} seeds {range}",
            tally.failed, tally.seeds
        );
        if let Some(first) = tally.first_failing.first() {
            let _ = write!(
                line,
                "; seed {}: {}; reproduce: kafkasim run {} --seed {}",
                first.seed,
                first.failed.join("; "),
                shell_word(&name),
                first.seed
            );
        }
        let more: Vec<String> = tally.first_failing[1..]
            .iter()
            .map(|f| f.seed.to_string())
            .collect();
        if !more.is_empty() {
            let ellipsis = if tally.failed > tally.first_failing.len() as u64 {
                ", …"
            } else {
                ""
            };
            let _ = write!(line, "; also seeds {}{ellipsis}", more.join(", "));
        }
        sayln!("{line}");
    }
    sayln!("{} passed, {} failed", files.len() - failed, failed);
    if failed == 0 && !files.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
