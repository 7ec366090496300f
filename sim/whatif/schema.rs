//! Which fields a scenario may have where, for a `--set` path to a field the file does not
//! write (a consumer property left at its default, a `config:` map not written at all).
//!
//! The field names are serde's own, read from stage one's structures (`scenario::raw`) by
//! asking each one's derived `Deserialize` which fields it expects, so they cannot drift
//! from what loads. Only which field holds which structure is written here (`Ty::child`);
//! a test checks that every name it uses is a real field.

use crate::scenario::raw::*;
use serde::de::{self, Deserialize, Deserializer, Visitor};

/// What a place in a scenario holds, as far as `--set` needs to know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Shape {
    /// A map with fixed fields (one of stage one's structures).
    Struct(Ty),
    /// A list of such maps, whose elements are chosen by `name` or index.
    SeqOf(Ty),
    /// A map whose keys are free (`expect:`'s counter names).
    FreeMap,
    /// A value `--set` does not look inside unless the file writes it as a map or list.
    Leaf,
}

/// The structures of a scenario file (`scenario::raw`) that have fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ty {
    Scenario,
    Cluster,
    Network,
    BrokerConfig,
    Topic,
    TopicConfig,
    Producer,
    ProducerConfig,
    Send,
    Keys,
    Group,
    ConsumerConfig,
    Processing,
    Idempotency,
    Service,
    Database,
    Relay,
    Fault,
    Run,
    Chaos,
    ChaosFault,
    ChaosNetwork,
}

impl Ty {
    /// Every structure, for tests.
    #[cfg(test)]
    pub const ALL: &'static [Ty] = &[
        Ty::Scenario,
        Ty::Cluster,
        Ty::Network,
        Ty::BrokerConfig,
        Ty::Topic,
        Ty::TopicConfig,
        Ty::Producer,
        Ty::ProducerConfig,
        Ty::Send,
        Ty::Keys,
        Ty::Group,
        Ty::ConsumerConfig,
        Ty::Processing,
        Ty::Idempotency,
        Ty::Service,
        Ty::Database,
        Ty::Relay,
        Ty::Fault,
        Ty::Run,
        Ty::Chaos,
        Ty::ChaosFault,
        Ty::ChaosNetwork,
    ];

    /// The field names the file may write here, as serde reads them.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Ty::Scenario => fields_of::<RawScenario>(),
            Ty::Cluster => fields_of::<RawCluster>(),
            Ty::Network => fields_of::<RawNetwork>(),
            Ty::BrokerConfig => fields_of::<RawBrokerConfig>(),
            Ty::Topic => fields_of::<RawTopic>(),
            Ty::TopicConfig => fields_of::<RawTopicConfig>(),
            Ty::Producer => fields_of::<RawProducer>(),
            Ty::ProducerConfig => fields_of::<RawProducerConfig>(),
            Ty::Send => fields_of::<RawSend>(),
            Ty::Keys => fields_of::<RawKeys>(),
            Ty::Group => fields_of::<RawGroup>(),
            Ty::ConsumerConfig => fields_of::<RawConsumerConfig>(),
            Ty::Processing => fields_of::<RawProcessing>(),
            Ty::Idempotency => fields_of::<RawIdempotency>(),
            Ty::Service => fields_of::<RawService>(),
            Ty::Database => fields_of::<RawDatabase>(),
            Ty::Relay => fields_of::<RawRelay>(),
            Ty::Fault => fields_of::<RawFault>(),
            Ty::Run => fields_of::<RawRun>(),
            Ty::Chaos => fields_of::<RawChaos>(),
            Ty::ChaosFault => fields_of::<RawChaosFault>(),
            Ty::ChaosNetwork => fields_of::<RawChaosNetwork>(),
        }
    }

    /// What the field `field` holds.
    pub fn child(self, field: &str) -> Shape {
        use Shape::*;
        match (self, field) {
            (Ty::Scenario, "cluster") => Struct(Ty::Cluster),
            (Ty::Scenario, "topics") => SeqOf(Ty::Topic),
            (Ty::Scenario, "producers") => SeqOf(Ty::Producer),
            (Ty::Scenario, "consumer_groups") => SeqOf(Ty::Group),
            (Ty::Scenario, "services") => SeqOf(Ty::Service),
            (Ty::Scenario, "faults") => SeqOf(Ty::Fault),
            (Ty::Scenario, "run") => Struct(Ty::Run),
            (Ty::Scenario, "expect") => FreeMap,
            (Ty::Scenario, "chaos") => Struct(Ty::Chaos),
            (Ty::Chaos, "faults") => SeqOf(Ty::ChaosFault),
            (Ty::Chaos, "network") => Struct(Ty::ChaosNetwork),
            (Ty::ChaosNetwork, "drop") => FreeMap,
            (Ty::Cluster, "network") => Struct(Ty::Network),
            (Ty::Cluster, "config") => Struct(Ty::BrokerConfig),
            (Ty::Topic, "config") => Struct(Ty::TopicConfig),
            (Ty::Producer, "config") | (Ty::Service, "producer") => Struct(Ty::ProducerConfig),
            (Ty::Producer, "send") | (Ty::Service, "commands") => Struct(Ty::Send),
            (Ty::Send, "keys") => Struct(Ty::Keys),
            (Ty::Group, "config") => Struct(Ty::ConsumerConfig),
            (Ty::Group, "processing") => Struct(Ty::Processing),
            (Ty::Group, "idempotency") => Struct(Ty::Idempotency),
            (Ty::Service, "database") => Struct(Ty::Database),
            (Ty::Service, "relay") => Struct(Ty::Relay),
            _ => Leaf,
        }
    }
}

/// The fields `T`'s derived `Deserialize` asks for: serde passes them to
/// `deserialize_struct`, which `Catcher` answers with an error carrying them.
fn fields_of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    match T::deserialize(Catcher) {
        Err(Caught(Some(fields))) => fields,
        _ => &[],
    }
}

/// A deserializer that reads nothing: it only catches the field list of a struct.
struct Catcher;

#[derive(Debug)]
struct Caught(Option<&'static [&'static str]>);

impl std::fmt::Display for Caught {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not a struct")
    }
}

impl std::error::Error for Caught {}

impl de::Error for Caught {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Caught(None)
    }
}

impl<'de> Deserializer<'de> for Catcher {
    type Error = Caught;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Caught> {
        Err(Caught(None))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Caught> {
        Err(Caught(Some(fields)))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_structure_has_fields_and_every_child_named_here_is_one_of_them() {
        let mut structured = 0;
        for &ty in Ty::ALL {
            assert!(!ty.fields().is_empty(), "{ty:?} has fields");
            structured += ty
                .fields()
                .iter()
                .filter(|f| ty.child(f) != Shape::Leaf)
                .count();
        }
        // `Ty::child` has 25 pairs holding a structure; a pair whose field name is not a
        // real field (a typo, a renamed field) would not be counted here.
        assert_eq!(structured, 25);
    }

    #[test]
    fn the_field_names_are_serdes_own_with_kafkas_dotted_properties() {
        let consumer = Ty::ConsumerConfig.fields();
        assert!(consumer.contains(&"enable.auto.commit"));
        assert!(consumer.contains(&"auto.offset.reset"));
        assert!(Ty::Group.fields().contains(&"static"));
        assert!(Ty::Scenario.fields().contains(&"consumer_groups"));
    }
}
