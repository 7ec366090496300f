//! The JSON Schema of the scenario format (`kafkasim schema`, committed as
//! scenarios/scenario.schema.json) against the loader it describes:
//!
//! - the committed file is exactly what `kafkasim schema` prints, so it never goes stale;
//! - every lesson names it on its first line and is valid under it, as is every regression;
//! - every file in tests/bad/ that the loader refuses for its *shape* (stage one: serde
//!   could not map the YAML onto the scenario's structures) is refused by the schema too.
//!
//! How a bad file is classified is principled, from the loader's own two stages:
//! `yaml` (stage one refuses the text before any shape: syntax, budgets, encoding, size),
//! `shape` (the text is YAML data, and `scenario::read_shape` refuses it) and `meaning`
//! (stage one accepts it, `scenario::parse` refuses it). The split, with what the schema
//! says of each file, is a snapshot (snapshots/schema/bad-files.snap), so it stays visible.

use kafkasim::scenario;
use serde_json::Value;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const SCHEMA_FILE: &str = "scenarios/scenario.schema.json";
const MODELINE: &str = "# yaml-language-server: $schema=scenario.schema.json";

fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(Path::new(ROOT).join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{dir} has yaml files");
    files
}

fn stem(p: &Path) -> String {
    p.file_stem().unwrap().to_string_lossy().into_owned()
}

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(Path::new(ROOT).join(SCHEMA_FILE)).expect("schema file");
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::validator_for(&schema).expect("the schema compiles")
}

/// The schema's objections to `value`, one line each (at most three).
fn objections(v: &jsonschema::Validator, value: &Value) -> Vec<String> {
    v.iter_errors(value)
        .take(3)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn the_committed_schema_is_what_kafkasim_schema_prints() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .arg("schema")
        .output()
        .expect("kafkasim runs");
    assert!(out.status.success());
    let printed = String::from_utf8(out.stdout).expect("UTF-8");
    assert_eq!(printed, scenario::schema::json());
    let committed = std::fs::read_to_string(Path::new(ROOT).join(SCHEMA_FILE)).unwrap();
    assert!(
        committed == printed,
        "{SCHEMA_FILE} is stale: run `cargo run -- schema > {SCHEMA_FILE}`"
    );
}

#[test]
fn the_schema_is_a_valid_draft_07_schema() {
    let schema: Value = serde_json::from_str(&scenario::schema::json()).unwrap();
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    assert!(jsonschema::meta::is_valid(&schema));
    // deny_unknown_fields became additionalProperties: false, at the top and below.
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(
        schema["definitions"]["RawProducerConfig"]["additionalProperties"],
        false
    );
    // The renamed Kafka properties are there under Kafka's names.
    assert!(schema["definitions"]["RawProducerConfig"]["properties"]
        .get("enable.idempotence")
        .is_some());
    let required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(required, ["name", "title", "topics"]);
}

#[test]
fn every_lesson_names_the_schema_on_its_first_line_and_is_valid_under_it() {
    let v = validator();
    for path in yaml_files("scenarios") {
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text.lines().next(),
            Some(MODELINE),
            "{}: the first line names the schema",
            stem(&path)
        );
        let value = scenario::read_value(&text).unwrap_or_else(|e| panic!("{path:?}: {e:?}"));
        let errors = objections(&v, &value);
        assert!(errors.is_empty(), "{}: {}", stem(&path), errors.join("; "));
    }
}

#[test]
fn every_regression_and_verdict_scenario_is_valid_under_the_schema() {
    let v = validator();
    for dir in ["scenarios/regressions", "tests/verdicts"] {
        for path in yaml_files(dir) {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(scenario::parse(&text).is_ok(), "{path:?} loads");
            let value = scenario::read_value(&text).unwrap();
            let errors = objections(&v, &value);
            assert!(errors.is_empty(), "{path:?}: {}", errors.join("; "));
        }
    }
}

/// Where the loader refuses a file: before its shape, for its shape, or for its meaning.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Stage {
    Yaml,
    Shape,
    Meaning,
}

fn classify(bytes: &[u8]) -> (Stage, Option<Value>) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return (Stage::Yaml, None);
    };
    let Ok(value) = scenario::read_value(text) else {
        return (Stage::Yaml, None);
    };
    if scenario::read_shape(text).is_err() {
        return (Stage::Shape, Some(value));
    }
    assert!(
        scenario::parse(text).is_err(),
        "a file in tests/bad/ that the loader accepts"
    );
    (Stage::Meaning, Some(value))
}

#[test]
fn every_file_refused_for_its_shape_is_refused_by_the_schema_too() {
    let v = validator();
    let mut table = String::new();
    let mut missed = Vec::new();
    let mut count = [0; 3];
    for path in yaml_files("tests/bad") {
        let bytes = std::fs::read(&path).unwrap();
        let (stage, value) = classify(&bytes);
        count[stage as usize] += 1;
        let schema = match &value {
            None => "(not YAML data: no schema check)".to_string(),
            // Where, not the validator's wording, which is not ours to keep stable.
            Some(value) => match v.iter_errors(value).next() {
                Some(e) => format!("refused at {:?}", e.instance_path().to_string()),
                None => "accepted".to_string(),
            },
        };
        if stage == Stage::Shape && schema == "accepted" {
            missed.push(stem(&path));
        }
        let stage = format!("{stage:?}").to_lowercase();
        table.push_str(&format!("{:<48} {stage:<8} {schema}\n", stem(&path)));
    }
    println!("{table}");
    assert!(
        missed.is_empty(),
        "refused by the loader for their shape but accepted by the schema: {missed:?}"
    );
    // All three kinds are represented, so the test cannot pass by classifying everything
    // as one of them.
    assert!(
        count.iter().all(|&n| n > 0),
        "yaml, shape, meaning: {count:?}"
    );
    insta::with_settings!({
        snapshot_path => "../snapshots/schema",
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => "Each file in tests/bad/: where the loader refuses it (yaml: before its shape; shape: stage one; meaning: stage two) and what the JSON Schema says",
    }, {
        insta::assert_snapshot!("bad-files", table);
    });
}

/// A lesson with one setting changed: the schema must refuse each change that the loader
/// refuses for its shape or spelling, so an editor flags it as the student types.
#[test]
fn the_schema_refuses_misspelt_settings_and_unknown_fields_in_a_lesson() {
    let v = validator();
    let text = std::fs::read_to_string(Path::new(ROOT).join("scenarios/end-to-end.yaml")).unwrap();
    let base = scenario::read_value(&text).unwrap();
    assert!(v.is_valid(&base));
    let edits: &[(&str, Value)] = &[
        ("/topics/0/partitions", Value::from("three")),
        ("/topics/0/partitionz", Value::from(3)),
        ("/services/0/publish", Value::from("outbox-relay")),
        ("/consumer_groups/0/idempotency/store", Value::from("redis")),
        (
            "/consumer_groups/0/processing/commit",
            Value::from("after-batches"),
        ),
        ("/consumer_groups/0/name", Value::from("pay ment")),
        ("/faults/0/point", Value::from("after-process")),
        ("/expect/lost", Value::from("about 0")),
        ("/expect/nonsense", Value::from(0)),
        ("/expect/payment.produced", Value::from(0)),
        ("/run/until_ms", Value::from(-5)),
    ];
    for (pointer, value) in edits {
        let mut doc = base.clone();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let slot = doc
            .pointer_mut(parent)
            .unwrap_or_else(|| panic!("{parent} exists in end-to-end"));
        slot.as_object_mut()
            .unwrap()
            .insert(key.to_string(), value.clone());
        assert!(
            !v.is_valid(&doc),
            "the schema accepts {pointer} = {value} in end-to-end"
        );
    }
}

/// The other direction, for the spellings the schema lists: each value it offers an editor
/// is one the loader takes, so completing from the schema never produces a refused file.
/// (JSON is YAML, so an edited lesson goes back to the loader as JSON text.) `publish`
/// is left out: `dual-write` with the lesson's relay is a rule between fields, and the
/// lessons use both spellings.
#[test]
fn every_spelling_the_schema_offers_is_one_the_loader_accepts() {
    let schema: Value = serde_json::from_str(&scenario::schema::json()).unwrap();
    let defs = &schema["definitions"];
    let text = std::fs::read_to_string(Path::new(ROOT).join("scenarios/end-to-end.yaml")).unwrap();
    let base = scenario::read_value(&text).unwrap();
    let cases = [
        ("RawTopicConfig", "cleanup.policy", "/topics/0", "config"),
        ("RawProducerConfig", "acks", "/services/0", "producer"),
        (
            "RawProducerConfig",
            "partitioner",
            "/services/0",
            "producer",
        ),
        (
            "RawConsumerConfig",
            "auto.offset.reset",
            "/consumer_groups/0",
            "config",
        ),
        (
            "RawConsumerConfig",
            "partition.assignment.strategy",
            "/consumer_groups/0",
            "config",
        ),
        (
            "RawProcessing",
            "commit",
            "/consumer_groups/0",
            "processing",
        ),
        (
            "RawIdempotency",
            "store",
            "/consumer_groups/0",
            "idempotency",
        ),
        ("RawRelay", "mark", "/services/0", "relay"),
    ];
    let mut checked = 0;
    for (def, field, owner, slot) in cases {
        let values = defs[def]["properties"][field]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{def}.{field} lists its spellings"));
        for value in values.iter().filter(|v| !v.is_null()) {
            let mut doc = base.clone();
            let owner = doc.pointer_mut(owner).unwrap();
            let target = match owner {
                Value::Array(items) => &mut items[0],
                Value::Object(map) => map
                    .entry(slot.to_string())
                    .or_insert_with(|| Value::Object(Default::default())),
                _ => unreachable!(),
            };
            target
                .as_object_mut()
                .unwrap()
                .insert(field.to_string(), value.clone());
            let json = serde_json::to_string(&doc).unwrap();
            if let Err(e) = scenario::parse(&json) {
                panic!("{def}.{field} = {value}: the loader refuses it: {e:?}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 25, "{checked} spellings checked");
}
