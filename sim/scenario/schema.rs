//! The JSON Schema of the scenario format (`kafkasim schema`), derived with schemars from
//! the stage-one types in `raw.rs`, so it follows their serde attributes (renames,
//! `deny_unknown_fields`, untagged enums, what may be left out) and cannot drift from the
//! loader.
//!
//! Stage one reads enum-like settings (`acks`, `auto.offset.reset`, a crash `point`, …) as
//! plain strings and checks their spelling in stage two; here each gets its list of
//! spellings, taken from the same lists stage two parses with, so an editor can complete
//! and check them. Names get their pattern. What the schema does not say (ranges, names
//! that must refer to something, rules between fields) is left to the loader, which an
//! editor's schema check never replaces; README "Editor support" lists it.

use super::{
    Assignor, ClientProfile, CommitMode, CrashPoint, MarkMode, MessageKind, OffsetReset, Publish,
    StoreKind, StoreUnavailable,
};
use crate::counters::{Counter, Scope};
use crate::partitioner::PartitionerKind;
use schemars::{json_schema, Schema, SchemaGenerator};
use serde_json::{json, Value};

/// The pattern of a name (scenario, topic, producer, group, service, `event_type`,
/// `processing.effect`): 1 to 64 ASCII letters, digits, `.`, `_` and `-`, as stage two checks.
pub const NAME_PATTERN: &str = "^[A-Za-z0-9._-]{1,64}$";

/// `cleanup.policy` spellings stage two accepts (`log_config`): Kafka takes a list, in
/// either order.
pub const CLEANUP_POLICIES: &[&str] = &["delete", "compact", "compact,delete", "delete,compact"];

/// The schema as `kafkasim schema` prints it and `scenarios/scenario.schema.json` holds it:
/// JSON Schema draft-07 (what the YAML extensions of editors implement), pretty-printed,
/// with a final newline. Keys are sorted, so the bytes never change from run to run.
pub fn json() -> String {
    let generator = schemars::generate::SchemaSettings::draft07()
        .with_transform(schemars::transform::RecursiveTransform(integer_bounds))
        .into_generator();
    let mut schema = generator.into_root_schema_for::<super::raw::RawScenario>();
    schema.insert("title".into(), json!("kafkasim scenario"));
    schema.insert(
        "description".into(),
        json!("A kafkasim scenario: brokers, topics, producers, consumer groups, services, faults and expectations. The schema checks the file's shape, names and spellings; `kafkasim run` also checks ranges, references and the rules between fields."),
    );
    // serde_json::to_string_pretty cannot fail on a Value built from JSON.
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// Gives each 64-bit integer its upper bound (schemars states only the lower one), so a
/// number with 25 digits, which a JSON reader holds as a float, is refused as the loader
/// refuses it.
fn integer_bounds(schema: &mut Schema) {
    let (min, max) = match schema.get("format").and_then(Value::as_str) {
        Some("uint64") => (json!(0), json!(u64::MAX)),
        Some("int64") => (json!(i64::MIN), json!(i64::MAX)),
        _ => return,
    };
    schema.insert("minimum".into(), min);
    schema.insert("maximum".into(), max);
}

/// One of `names`, or `null` (left out) when `nullable`.
fn one_of(names: &[&str], nullable: bool) -> Schema {
    let mut values: Vec<Value> = names.iter().map(|n| json!(n)).collect();
    if nullable {
        values.push(Value::Null);
        json_schema!({ "type": ["string", "null"], "enum": values })
    } else {
        json_schema!({ "type": "string", "enum": values })
    }
}

/// A name, or `null` when `nullable`.
fn name_schema(nullable: bool) -> Schema {
    if nullable {
        json_schema!({ "type": ["string", "null"], "pattern": NAME_PATTERN })
    } else {
        json_schema!({ "type": "string", "pattern": NAME_PATTERN })
    }
}

/// A required name.
pub fn name(_: &mut SchemaGenerator) -> Schema {
    name_schema(false)
}

/// A name that may be left out.
pub fn opt_name(_: &mut SchemaGenerator) -> Schema {
    name_schema(true)
}

/// A list of names (a group's `topics`).
pub fn names(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "array", "items": { "type": "string", "pattern": NAME_PATTERN } })
}

/// A group's `subscriptions`: per member, a list of topic names.
pub fn subscriptions(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": ["array", "null"],
        "items": { "type": "array", "items": { "type": "string", "pattern": NAME_PATTERN } }
    })
}

macro_rules! spellings {
    ($($(#[$m:meta])* $fn:ident: $ty:ty, $nullable:expr;)*) => {
        $(
            $(#[$m])*
            pub fn $fn(_: &mut SchemaGenerator) -> Schema {
                let names: Vec<&str> = <$ty>::ALL.iter().map(|v| v.name()).collect();
                one_of(&names, $nullable)
            }
        )*
    };
}

spellings! {
    /// `auto.offset.reset`.
    offset_reset: OffsetReset, true;
    /// A group's `client`.
    client: ClientProfile, true;
    /// `partition.assignment.strategy`.
    assignor: Assignor, true;
    /// `processing.commit`.
    commit: CommitMode, true;
    /// `idempotency.store` (required when `idempotency` is there).
    store: StoreKind, false;
    /// `idempotency.on_store_unavailable`.
    on_store_unavailable: StoreUnavailable, true;
    /// A service's `publish` (required).
    publish: Publish, false;
    /// `relay.mark`.
    mark: MarkMode, true;
    /// A producer's `partitioner`.
    partitioner: PartitionerKind, true;
    /// A crash fault's `point`.
    crash_point: CrashPoint, true;
}

/// A `messages:` fault's kind of message.
pub fn message_kind(_: &mut SchemaGenerator) -> Schema {
    let names: Vec<&str> = MessageKind::ALL.iter().map(|k| k.name()).collect();
    one_of(&names, true)
}

/// `cleanup.policy`.
pub fn cleanup_policy(_: &mut SchemaGenerator) -> Schema {
    one_of(CLEANUP_POLICIES, true)
}

/// `acks`: 0, 1 or all (-1), as a number or a word.
pub fn acks(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "enum": [0, 1, -1, "all", "0", "1", "-1", null] })
}

/// A seek's `to`: `beginning`, `end`, an offset, or `{ timestamp_ms }`.
pub fn seek_to(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "anyOf": [
            { "type": "integer", "minimum": 0 },
            { "type": "string", "enum": ["beginning", "end"] },
            {
                "type": "object",
                "properties": { "timestamp_ms": { "type": "integer", "minimum": 0 } },
                "required": ["timestamp_ms"],
                "additionalProperties": false
            },
            { "type": "null" }
        ]
    })
}

/// The `expect:` block: a counter (the run's total) or `OWNER.COUNTER` for a group's or a
/// service's count, each with a count or a condition (`">= 1"`, `"< 3"`).
pub fn expect(generator: &mut SchemaGenerator) -> Schema {
    generator.definitions_mut().insert(
        "Condition".into(),
        json!({
            "description": "A count (the counter must equal it) or a condition: \">= 1\", \"< 3\", \"!= 0\", …",
            "anyOf": [
                { "type": "integer", "minimum": 0 },
                { "type": "string", "pattern": "^\\s*(>=|<=|==|!=|>|<)?\\s*\\+?[0-9]+\\s*$" }
            ]
        }),
    );
    let reference = format!(
        "#{}/Condition",
        generator.settings().definitions_path.trim_end_matches('/')
    );
    // In draft-07 a `$ref` hides its siblings, so each counter's description sits beside
    // an `allOf` holding the reference.
    let condition = |doc: &str| json!({ "description": doc, "allOf": [{ "$ref": reference }] });
    let totals: serde_json::Map<String, Value> = Counter::ALL
        .iter()
        .map(|c| (c.name().to_string(), condition(c.doc())))
        .collect();
    let scoped: Vec<&str> = Counter::ALL
        .iter()
        .filter(|c| c.scope() != Scope::Total)
        .map(|c| c.name())
        .collect();
    let owner = NAME_PATTERN.trim_start_matches('^').trim_end_matches('$');
    let pattern = format!("^{owner}\\.({})$", scoped.join("|"));
    json_schema!({
        "description": "Pass/fail conditions: COUNTER: CONDITION for the run's total, GROUP.COUNTER or SERVICE.COUNTER for one group's or service's count.",
        "type": ["object", "null"],
        "properties": totals,
        "patternProperties": {
            pattern: condition("A group's or a service's count: GROUP.COUNTER or SERVICE.COUNTER.")
        },
        "additionalProperties": false
    })
}

/// A chaos fault's `probability`: an integer ratio `N/D` (as text, with N at most D), or
/// `0` or `1`.
pub fn ratio(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "A probability as an integer ratio N/D (1/4, 3/10), or 0 or 1.",
        "anyOf": [
            { "type": "integer", "enum": [0, 1] },
            { "type": "string", "pattern": "^\\s*[0-9]+\\s*/\\s*[0-9]+\\s*$" },
            { "type": "null" }
        ]
    })
}

/// A number of ms or records, or an inclusive range `[lo, hi]` to draw from.
fn span_schema(nullable: bool) -> Schema {
    let mut any = vec![
        json!({ "type": "integer", "minimum": 0 }),
        json!({
            "type": "array",
            "items": { "type": "integer", "minimum": 0 },
            "minItems": 2,
            "maxItems": 2
        }),
    ];
    if nullable {
        any.push(json!({ "type": "null" }));
    }
    json_schema!({
        "description": "A whole number, or a range [lo, hi] that each seed draws from.",
        "anyOf": any
    })
}

/// A chaos fault's `at_ms` (required).
pub fn span(_: &mut SchemaGenerator) -> Schema {
    span_schema(false)
}

/// A chaos fault's `on_record`, `for_ms`, `restart_after_ms`.
pub fn opt_span(_: &mut SchemaGenerator) -> Schema {
    span_schema(true)
}

/// A chaos fault's target: a name or a list of names to draw one from.
pub fn opt_names(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "anyOf": [
            { "type": "string", "pattern": NAME_PATTERN },
            { "type": "array", "items": { "type": "string", "pattern": NAME_PATTERN }, "minItems": 1 },
            { "type": "null" }
        ]
    })
}

/// A chaos crash's `point`: a crash point or a list of them to draw one from.
pub fn crash_points(_: &mut SchemaGenerator) -> Schema {
    let names: Vec<&str> = CrashPoint::ALL.iter().map(|p| p.name()).collect();
    json_schema!({
        "anyOf": [
            { "type": "string", "enum": names },
            { "type": "array", "items": { "type": "string", "enum": names }, "minItems": 1 },
            { "type": "null" }
        ]
    })
}

/// `chaos.network.drop`: a ratio per kind of message that can be lost.
pub fn drop_ratios(generator: &mut SchemaGenerator) -> Schema {
    let properties: serde_json::Map<String, Value> = MessageKind::ALL
        .iter()
        .filter(|k| k.droppable())
        .map(|k| (k.name().to_string(), ratio(generator).to_value()))
        .collect();
    json_schema!({
        "description": "Per kind of message, the ratio of its messages the network loses.",
        "type": ["object", "null"],
        "properties": properties,
        "additionalProperties": false
    })
}
