//! The `chaos:` section (README §1.11), validated: fault templates that each seed draws
//! for itself, and per-message network chaos (jitter, drops).
//!
//! Only the shape and the meaning live here; the draw that turns a template into concrete
//! faults for one seed is `crate::chaos`, and the per-message draws are the network's
//! (`engine::net`). Every name resolves and every range is checked here, so a draw can
//! never produce a fault that `faults:` would refuse.

use super::raw::{RawChaos, RawChaosFault, RawNames, RawRatio, RawSpan, S};
use super::{
    at, limits, unreachable_point, Client, CrashPoint, MessageKind, Scenario, StoreKind, Target,
    TargetKind, Validator,
};
use crate::diag::Diagnostic;
use serde_saphyr::Spanned;

/// A probability as an integer ratio `num / den`, with `0 <= num <= den` and
/// `1 <= den <= RATIO_DEN_MAX`. Integers, so that every machine draws the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ratio {
    pub num: u64,
    pub den: u64,
}

/// The largest denominator a ratio may have.
pub const RATIO_DEN_MAX: u64 = 1_000_000;

impl Ratio {
    /// As a scenario writes it and `run --resolved` prints it: `"1/4"`, exactly as stored
    /// (never reduced: `2/8` and `1/4` draw differently).
    pub fn spelled(self) -> String {
        format!("{}/{}", self.num, self.den)
    }
}

/// An inclusive range `lo ..= hi` of ms or records; `lo == hi` is one value, drawn
/// without using the random stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub lo: u64,
    pub hi: u64,
}

impl Span {
    /// As a scenario writes it: `500`, or `[100, 900]`.
    pub fn spelled(self) -> String {
        if self.lo == self.hi {
            self.lo.to_string()
        } else {
            format!("[{}, {}]", self.lo, self.hi)
        }
    }
}

/// The `chaos:` section. Empty (the default) when the file has none, or one with nothing
/// in it: then a run draws nothing and is exactly the run without the section.
#[derive(Clone, Debug, Default)]
pub struct ChaosSpec {
    /// In file order; a template's index is its random stream (`rng::CHAOS_FAULT_STREAMS`).
    pub faults: Vec<ChaosFault>,
    pub network: ChaosNetwork,
}

impl ChaosSpec {
    /// Whether the section asks for anything: reports show the draws only then.
    pub fn is_active(&self) -> bool {
        !self.faults.is_empty() || self.network.is_active()
    }
}

/// One chaos fault: with `probability`, a seed draws one concrete fault from it, at a time
/// in `at_ms`.
#[derive(Clone, Debug)]
pub struct ChaosFault {
    pub probability: Ratio,
    pub at_ms: Span,
    pub action: ChaosAction,
}

/// What a chaos fault does when drawn: one of the `faults:` actions, with a list to choose
/// the target from and ranges for its numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChaosAction {
    /// Crash one of `targets` (members, services, relays, brokers): at once when `points`
    /// is empty, else armed at one of `points`, on the `on_record`-th unit of work if set.
    /// With `restart_after_ms`, the target restarts that long after it goes down.
    Crash {
        targets: Vec<Target>,
        points: Vec<CrashPoint>,
        on_record: Option<Span>,
        restart_after_ms: Option<Span>,
    },
    /// A controlled shutdown of one of `brokers` (0-based), restarted after
    /// `restart_after_ms` if set.
    Shutdown {
        brokers: Vec<u32>,
        restart_after_ms: Option<Span>,
    },
    /// One of `brokers` cut off from the other brokers and the controller.
    IsolateBroker { brokers: Vec<u32>, for_ms: Span },
    /// One of `clients` cut off from the brokers (silently, or `refused`).
    Isolate {
        clients: Vec<Client>,
        for_ms: Span,
        refused: bool,
    },
    /// Every broker unreachable.
    KafkaOutage { for_ms: Span },
    /// The external idempotency store of one of `groups` unreachable.
    StoreOutage { groups: Vec<usize>, for_ms: Span },
}

/// `chaos.network`: on every path, each message is late by a draw in `0 ..= jitter_ms`,
/// and each message of a kind in `drop` is lost with its ratio.
#[derive(Clone, Debug, Default)]
pub struct ChaosNetwork {
    pub jitter_ms: u64,
    /// Droppable kinds only (`MessageKind::droppable`), each at most once, in file order.
    pub drop: Vec<(MessageKind, Ratio)>,
}

impl ChaosNetwork {
    /// Whether any message draws anything: a jitter, or a drop ratio for some kind.
    pub fn is_active(&self) -> bool {
        self.jitter_ms > 0 || !self.drop.is_empty()
    }

    /// The drop ratio of `kind`, if it has one.
    pub fn drop_ratio(&self, kind: MessageKind) -> Option<Ratio> {
        self.drop.iter().find(|d| d.0 == kind).map(|d| d.1)
    }
}

/// The largest `chaos.network.jitter_ms`: the largest latency `cluster.network` allows.
pub const JITTER_MS_MAX: u64 = 60_000;

/// The action fields of a chaos fault, in the order messages list them.
const ACTIONS: &str = "crash, shutdown, isolate_broker, isolate, kafka_outage, store_outage";

impl Validator {
    /// The `chaos:` section, against the scenario validated so far (names, `run.until_ms`,
    /// the members each group can have).
    pub(super) fn chaos(&mut self, sc: &Scenario, raw: Option<&RawChaos>) -> ChaosSpec {
        let Some(raw) = raw else {
            return ChaosSpec::default();
        };
        let mut spec = ChaosSpec::default();
        if raw.faults.len() as u64 > limits::CHAOS_FAULTS {
            bad!(
                self,
                raw.faults[limits::CHAOS_FAULTS as usize].at_ms,
                "chaos has {} faults; at most {} are allowed",
                raw.faults.len(),
                limits::CHAOS_FAULTS
            );
        }
        for f in raw.faults.iter().take(limits::CHAOS_FAULTS as usize) {
            if let Some(fault) = self.chaos_fault(sc, f) {
                spec.faults.push(fault);
            }
        }
        if let Some(n) = &raw.network {
            if let Some(j) = &n.jitter_ms {
                spec.network.jitter_ms = self.range(j, 0, JITTER_MS_MAX, "jitter_ms");
            }
            for (name, ratio) in n.drop.iter().flat_map(|d| d.0.iter()) {
                let ratio = self.ratio(ratio);
                let Some(kind) = self.droppable_kind(name) else {
                    continue;
                };
                if spec.network.drop.iter().any(|d| d.0 == kind) {
                    bad!(self, name, "{} has a drop ratio already", kind.name());
                    continue;
                }
                if let Some(ratio) = ratio {
                    spec.network.drop.push((kind, ratio));
                }
            }
        }
        spec
    }

    /// A key of `chaos.network.drop`: a kind of message that a run may lose.
    fn droppable_kind(&mut self, s: &S<String>) -> Option<MessageKind> {
        let droppable: Vec<&str> = MessageKind::ALL
            .iter()
            .filter(|k| k.droppable())
            .map(|k| k.name())
            .collect();
        match MessageKind::ALL.iter().find(|k| k.name() == s.value) {
            Some(k) if k.droppable() => Some(*k),
            Some(_) => {
                bad!(
                    self,
                    s,
                    "only {} can be dropped (a consumer's requests have no timeout here, so a lost one would stall it for good); jitter_ms delays every kind",
                    and_list(&droppable)
                );
                None
            }
            None => {
                bad!(
                    self,
                    s,
                    "expected a kind of message to drop ({}), got {:?}",
                    and_list(&droppable),
                    s.value
                );
                None
            }
        }
    }

    /// A probability: `N/D` with `0 <= N <= D` and `1 <= D <= 1000000`, or `0` or `1`.
    pub(super) fn ratio(&mut self, s: &S<RawRatio>) -> Option<Ratio> {
        let parsed = match &s.value {
            RawRatio::Int(0) => Ok(Ratio { num: 0, den: 1 }),
            RawRatio::Int(1) => Ok(Ratio { num: 1, den: 1 }),
            RawRatio::Int(n) => Err(format!("{n}")),
            RawRatio::Decimal(x) => Err(format!("{x}")),
            RawRatio::Text(t) => parse_ratio(t).ok_or_else(|| format!("{t:?}")),
        };
        match parsed {
            Ok(r) if r.den == 0 => {
                bad!(
                    self,
                    s,
                    "a ratio's denominator must be at least 1, got {}",
                    r.spelled()
                );
                None
            }
            Ok(r) if r.den > RATIO_DEN_MAX => {
                bad!(
                    self,
                    s,
                    "a ratio's denominator may be at most {RATIO_DEN_MAX}, got {}",
                    r.spelled()
                );
                None
            }
            Ok(r) if r.num > r.den => {
                bad!(
                    self,
                    s,
                    "a probability is at most 1, got {} (the numerator is larger than the denominator)",
                    r.spelled()
                );
                None
            }
            Ok(r) => Some(r),
            Err(got) => {
                bad!(
                    self,
                    s,
                    "expected a probability as an integer ratio N/D such as 1/4, or 0 or 1, got {got}: kafkasim draws with integer ratios so that every machine gets the same runs"
                );
                None
            }
        }
    }

    /// A number or an inclusive range `[lo, hi]`, each end within `lo_min ..= hi_max`.
    fn span(&mut self, s: &S<RawSpan>, lo_min: u64, hi_max: u64, what: &str) -> Option<Span> {
        let (lo, hi) = match &s.value {
            RawSpan::Fixed(v) => (*v, *v),
            RawSpan::Range(v) if v.len() == 2 => (v[0], v[1]),
            RawSpan::Range(v) => {
                bad!(
                    self,
                    s,
                    "expected {what} as one number or a range [lo, hi] of two, got a list of {}{}",
                    v.len(),
                    if v.len() >= 16 { " or more" } else { "" }
                );
                return None;
            }
        };
        if lo > hi {
            bad!(
                self,
                s,
                "expected a range [lo, hi] with lo at most hi, got [{lo}, {hi}]"
            );
            return None;
        }
        if lo < lo_min || hi > hi_max {
            bad!(
                self,
                s,
                "expected {what} between {lo_min} and {hi_max}, got {}",
                Span { lo, hi }.spelled()
            );
            return None;
        }
        Some(Span { lo, hi })
    }

    /// The names a field lists, each with its span (a single name has the field's).
    fn names(&mut self, s: &S<RawNames>) -> Vec<S<String>> {
        let names = match &s.value {
            RawNames::One(n) => vec![S(Spanned::new(n.clone(), s.referenced, s.defined))],
            RawNames::Many(v) => v.iter().take(limits::CHAOS_CHOICES).cloned().collect(),
        };
        if let RawNames::Many(v) = &s.value {
            if v.is_empty() {
                bad!(
                    self,
                    s,
                    "expected a name or a list of at least one name, got []"
                );
            }
            if v.len() > limits::CHAOS_CHOICES {
                bad!(
                    self,
                    s,
                    "a chaos fault may choose among at most {} names, got {}",
                    limits::CHAOS_CHOICES,
                    v.len()
                );
            }
        }
        names
    }

    fn chaos_fault(&mut self, sc: &Scenario, f: &RawChaosFault) -> Option<ChaosFault> {
        let probability = match &f.probability {
            Some(p) => self.ratio(p),
            None => Some(Ratio { num: 1, den: 1 }),
        };
        let at_ms = self.span(&f.at_ms, 0, limits::TIME_MS, "at_ms");
        if let Some(w) = at_ms {
            // A fault that never happens would silently leave out the lesson's point.
            if w.hi > sc.run.until_ms {
                bad!(
                    self,
                    f.at_ms,
                    "this chaos fault may fall at t={}ms, after the run ends (run.until_ms is {}): keep at_ms within the run",
                    w.hi,
                    sc.run.until_ms
                );
            }
        }
        let actions = [
            f.crash.is_some(),
            f.shutdown.is_some(),
            f.isolate_broker.is_some(),
            f.isolate.is_some(),
            f.kafka_outage.is_some(),
            f.store_outage.is_some(),
        ];
        if actions.iter().filter(|a| **a).count() != 1 {
            bad!(
                self,
                f.at_ms,
                "expected exactly one of {ACTIONS} in this chaos fault"
            );
            return None;
        }
        let action = self.chaos_action(sc, f);
        self.chaos_fields(f);
        Some(ChaosFault {
            probability: probability?,
            at_ms: at_ms?,
            action: action?,
        })
    }

    fn chaos_action(&mut self, sc: &Scenario, f: &RawChaosFault) -> Option<ChaosAction> {
        // A bad range is reported; the rest of the fault is still checked.
        let restart_after_ms = f
            .restart_after_ms
            .as_ref()
            .and_then(|r| self.span(r, 0, limits::TIME_MS, "restart_after_ms"));
        if let Some(c) = &f.crash {
            return self.chaos_crash(sc, f, c, restart_after_ms);
        }
        if let Some(b) = &f.shutdown {
            return Some(ChaosAction::Shutdown {
                brokers: self.brokers(sc, b, "shutdown")?,
                restart_after_ms,
            });
        }
        if let Some(k) = &f.kafka_outage {
            if !k.value {
                bad!(self, k, "expected kafka_outage: true");
            }
            return Some(ChaosAction::KafkaOutage {
                for_ms: self.chaos_duration(f)?,
            });
        }
        let for_ms = self.chaos_duration(f);
        if let Some(b) = &f.isolate_broker {
            return Some(ChaosAction::IsolateBroker {
                brokers: self.brokers(sc, b, "isolate_broker")?,
                for_ms: for_ms?,
            });
        }
        if let Some(i) = &f.isolate {
            let mut clients = Vec::new();
            for n in self.names(i) {
                if let Some(p) = sc.producers.iter().position(|p| p.name == n.value) {
                    clients.push(Client::Producer(p));
                } else if let Some(s) = sc.services.iter().position(|s| s.name == n.value) {
                    clients.push(Client::Service(s));
                } else {
                    bad!(
                        self,
                        n,
                        "unknown producer or service {:?} to isolate",
                        n.value
                    );
                }
            }
            return Some(ChaosAction::Isolate {
                clients: nonempty(clients)?,
                for_ms: for_ms?,
                refused: f.refused.as_ref().is_some_and(|r| r.value),
            });
        }
        let s = f.store_outage.as_ref().expect("one action is present");
        let mut groups = Vec::new();
        for n in self.names(s) {
            let Some(g) = self.group_ref(sc, &n) else {
                continue;
            };
            if sc.groups[g].idempotency.as_ref().map(|i| i.store) != Some(StoreKind::External) {
                bad!(
                    self,
                    n,
                    "group {:?} has no external idempotency store to take down",
                    n.value
                );
                continue;
            }
            groups.push(g);
        }
        Some(ChaosAction::StoreOutage {
            groups: nonempty(groups)?,
            for_ms: for_ms?,
        })
    }

    /// `crash:` with its `point`, `on_record` and `restart_after_ms`: every point must be
    /// one every listed target can reach.
    fn chaos_crash(
        &mut self,
        sc: &Scenario,
        f: &RawChaosFault,
        c: &S<RawNames>,
        restart_after_ms: Option<Span>,
    ) -> Option<ChaosAction> {
        let names = self.names(c);
        let mut targets = Vec::new();
        for n in &names {
            if let Some(t) = self.target(sc, n) {
                targets.push((t, n));
            }
        }
        let mut points = Vec::new();
        let written = f.point.as_ref().map(|p| self.names(p)).unwrap_or_default();
        for p in written {
            let Some(point) = CrashPoint::from_name(&p.value) else {
                let all: Vec<&str> = CrashPoint::ALL.iter().map(|p| p.name()).collect();
                bad!(
                    self,
                    p,
                    "expected a crash point ({}), got {:?}",
                    all.join(", "),
                    p.value
                );
                continue;
            };
            for &(target, n) in &targets {
                self.reachable(sc, target, &n.value, point, &p);
            }
            points.push(point);
        }
        let on_record = match &f.on_record {
            Some(n) => Some(self.span(n, 1, limits::RECORDS, "on_record")?),
            None => None,
        };
        if on_record.is_some() && f.point.is_none() {
            bad!(self, c, "on_record needs a crash point to count records at");
        }
        if f.point.is_some() && points.is_empty() {
            return None;
        }
        Some(ChaosAction::Crash {
            targets: nonempty(targets.into_iter().map(|t| t.0).collect())?,
            points,
            on_record,
            restart_after_ms,
        })
    }

    /// Reports why `target` (named `name`) can never crash at `point`, if it cannot.
    fn reachable(
        &mut self,
        sc: &Scenario,
        target: Target,
        name: &str,
        point: CrashPoint,
        p: &S<String>,
    ) {
        let kind = match target {
            Target::Member { group, .. } => {
                if let Some(why) = unreachable_point(&sc.groups[group], point) {
                    bad!(self, p, "{name} can never crash at {}: {why}", point.name());
                    return;
                }
                TargetKind::Member
            }
            Target::Service(_) => TargetKind::Service,
            Target::Relay { .. } => TargetKind::Relay,
            Target::Broker(_) => {
                bad!(
                    self,
                    p,
                    "{name:?} is a broker: brokers crash at once and have no crash points"
                );
                return;
            }
        };
        if point.target_kind() != kind {
            bad!(
                self,
                p,
                "{name:?} cannot crash at {}: that point belongs to a {}",
                point.name(),
                match point.target_kind() {
                    TargetKind::Member => "consumer member",
                    TargetKind::Service => "service",
                    TargetKind::Relay => "relay",
                }
            );
        }
    }

    /// Brokers named by `shutdown` or `isolate_broker`, 0-based.
    fn brokers(&mut self, sc: &Scenario, s: &S<RawNames>, action: &str) -> Option<Vec<u32>> {
        let mut brokers = Vec::new();
        for n in self.names(s) {
            match self.target(sc, &n) {
                Some(Target::Broker(b)) => brokers.push(b),
                Some(_) => bad!(
                    self,
                    n,
                    "{action} applies to brokers (broker-1 …), got {:?}",
                    n.value
                ),
                None => {}
            }
        }
        nonempty(brokers)
    }

    fn chaos_duration(&mut self, f: &RawChaosFault) -> Option<Span> {
        match &f.for_ms {
            Some(d) => self.span(d, 1, limits::TIME_MS, "for_ms"),
            None => {
                bad!(
                    self,
                    f.at_ms,
                    "this chaos fault needs for_ms: how long it lasts (a number or a range [lo, hi])"
                );
                None
            }
        }
    }

    /// Fields that belong to another action are mistakes worth naming.
    fn chaos_fields(&mut self, f: &RawChaosFault) {
        let crash = f.crash.is_some();
        if !crash {
            if let Some(p) = &f.point {
                bad!(self, p, "point only applies to crash");
            }
            if let Some(n) = &f.on_record {
                bad!(self, n, "on_record only applies to crash");
            }
        }
        if !crash && f.shutdown.is_none() {
            if let Some(r) = &f.restart_after_ms {
                bad!(
                    self,
                    r,
                    "restart_after_ms only applies to crash and shutdown"
                );
            }
        }
        if f.isolate.is_none() {
            if let Some(r) = &f.refused {
                bad!(self, r, "refused only applies to isolate");
            }
        }
        let timed = f.isolate_broker.is_some()
            || f.isolate.is_some()
            || f.kafka_outage.is_some()
            || f.store_outage.is_some();
        if !timed {
            if let Some(d) = &f.for_ms {
                bad!(
                    self,
                    d,
                    "for_ms only applies to isolate, isolate_broker, kafka_outage and store_outage"
                );
            }
        }
    }
}

/// `N/D` with optional spaces around each number; None if it is not two whole numbers.
fn parse_ratio(t: &str) -> Option<Ratio> {
    let (n, d) = t.split_once('/')?;
    let (n, d) = (n.trim(), d.trim());
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(n) || !digits(d) {
        return None;
    }
    // Too many digits to be a valid ratio either way: report it as out of range.
    let num = n.parse().unwrap_or(u64::MAX);
    let den = d.parse().unwrap_or(u64::MAX);
    Some(Ratio { num, den })
}

/// `a, b and c`.
fn and_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// None for an empty list: its problem was reported where each name was refused.
fn nonempty<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_parse_as_written_and_never_reduce() {
        assert_eq!(parse_ratio("1/4"), Some(Ratio { num: 1, den: 4 }));
        assert_eq!(parse_ratio(" 2 / 8 "), Some(Ratio { num: 2, den: 8 }));
        assert_eq!(parse_ratio("0.25"), None);
        assert_eq!(parse_ratio("1/"), None);
        assert_eq!(parse_ratio("-1/4"), None);
        assert_eq!(Ratio { num: 2, den: 8 }.spelled(), "2/8");
    }

    #[test]
    fn spans_spell_one_value_as_a_number() {
        assert_eq!(Span { lo: 5, hi: 5 }.spelled(), "5");
        assert_eq!(Span { lo: 1, hi: 9 }.spelled(), "[1, 9]");
    }
}
