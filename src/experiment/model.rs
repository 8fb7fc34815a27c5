//! An experiment as a key holds it: the spec (GrowthBook's experiment JSON plus Strata's fields), the lifecycle,
//! the sticky assignment table, and per variant and metric the accumulators results are computed from.
//!
//! Storage is constant per variant and metric (users, sums and sums of squares of per-user totals, users with an
//! event) except the assignment table, which keeps each enrolled user's variant and per-metric totals so that a
//! conversion counts once per user and a continuous metric's variance is over users, not events. The table is
//! bounded (`experiment-max-users`): users beyond it are still assigned by hash, but not enrolled, so they are
//! not sticky and their events are not counted (the reply says so).

use super::growthbook as gb;
use super::stats::{self, Moments};
use bincode::de::{BorrowDecoder, Decoder};
use bincode::enc::Encoder;
use bincode::error::{DecodeError, EncodeError};
use bincode::{BorrowDecode, Decode, Encode};
use serde_json::{json, Value as Json};
use std::sync::Arc;

/// Metrics one experiment may have (a user's "has an event" flags are one `u64`).
pub const MAX_METRICS: usize = 64;
/// Variations one experiment may have.
pub const MAX_VARIATIONS: usize = 100;

/// The lifecycle: DRAFT -> RUNNING -> PAUSED <-> RUNNING -> COMPLETED -> ARCHIVED.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub enum Status {
    Draft,
    Running,
    Paused,
    Completed,
    Archived,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Draft => "DRAFT",
            Status::Running => "RUNNING",
            Status::Paused => "PAUSED",
            Status::Completed => "COMPLETED",
            Status::Archived => "ARCHIVED",
        }
    }

    pub fn parse(s: &[u8]) -> Option<Status> {
        [Status::Draft, Status::Running, Status::Paused, Status::Completed, Status::Archived]
            .into_iter()
            .find(|st| st.name().as_bytes().eq_ignore_ascii_case(s))
    }
}

/// A lifecycle command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Start,
    Pause,
    Resume,
    Complete,
    Archive,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Start => "START",
            Action::Pause => "PAUSE",
            Action::Resume => "RESUME",
            Action::Complete => "COMPLETE",
            Action::Archive => "ARCHIVE",
        }
    }
}

/// What a metric measures, which decides how a user's events combine and which test applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// Did the user do it at least once: a proportion, two-proportion z-test.
    Conversion,
    /// How many times (values summed per user), Welch's t-test.
    Count,
    /// Money (values summed per user; refunds may be negative), Welch's t-test.
    Revenue,
    /// Time (values summed per user), Welch's t-test.
    Duration,
}

impl MetricKind {
    pub fn name(self) -> &'static str {
        match self {
            MetricKind::Conversion => "conversion",
            MetricKind::Count => "count",
            MetricKind::Revenue => "revenue",
            MetricKind::Duration => "duration",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub name: String,
    pub kind: MetricKind,
    /// True when a decrease is the improvement (a latency, a churn rate).
    pub lower_is_better: bool,
}

/// A parsed spec. The JSON text is what is stored and shown; this is derived from it.
#[derive(Debug, Clone)]
pub struct Spec {
    pub json: Json,
    pub gb: gb::Experiment,
    pub variations: Vec<Json>,
    /// One per variation, as given (START checks they sum to 1).
    pub weights: Vec<f64>,
    pub keys: Vec<String>,
    /// Each variation's meta key and its value as JSON text, made once: EXP.ASSIGN answers with them.
    pub key_text: Vec<bytes::Bytes>,
    pub value_text: Vec<bytes::Bytes>,
    pub metrics: Vec<Metric>,
    pub primary: Option<usize>,
    pub alpha: f64,
    pub min_sample_size: u64,
    pub auto_stop: bool,
}

fn spec_err(what: impl std::fmt::Display) -> String {
    format!("invalid experiment spec: {what}")
}

fn opt_str(o: &serde_json::Map<String, Json>, k: &str) -> Result<Option<String>, String> {
    match o.get(k) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(spec_err(format!("'{k}' must be a string"))),
    }
}

fn opt_num(o: &serde_json::Map<String, Json>, k: &str) -> Result<Option<f64>, String> {
    match o.get(k) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Number(n)) => n.as_f64().map(Some).ok_or_else(|| spec_err(format!("'{k}' must be a number"))),
        Some(_) => Err(spec_err(format!("'{k}' must be a number"))),
    }
}

impl Spec {
    /// Parses and checks a spec; `name` is the experiment's (the default seed, as GrowthBook's key).
    pub fn parse(name: &str, text: &[u8]) -> Result<Spec, String> {
        let mut json: Json = serde_json::from_slice(text).map_err(|e| spec_err(format!("not JSON ({e})")))?;
        let Json::Object(o) = &mut json else { return Err(spec_err("must be a JSON object")) };
        // GrowthBook's experiment key is the name unless the spec says otherwise.
        o.entry("key").or_insert_with(|| Json::String(name.to_string()));
        let o = o.clone();
        let variations = match o.get("variations") {
            Some(Json::Array(v)) if !v.is_empty() => v.clone(),
            Some(Json::Array(_)) => return Err(spec_err("'variations' must not be empty")),
            _ => return Err(spec_err("'variations' must be an array")),
        };
        if variations.len() > MAX_VARIATIONS {
            return Err(spec_err(format!("at most {MAX_VARIATIONS} variations")));
        }
        let n = variations.len();
        let weights = match o.get("weights") {
            None | Some(Json::Null) => gb::equal_weights(n as i64),
            Some(Json::Array(w)) => {
                let w: Option<Vec<f64>> = w.iter().map(Json::as_f64).collect();
                let w = w.ok_or_else(|| spec_err("'weights' must be numbers"))?;
                if w.len() != n {
                    return Err(spec_err("'weights' must have one weight per variation"));
                }
                if w.iter().any(|x| !x.is_finite() || *x < 0.0) {
                    return Err(spec_err("weights must be 0 or more"));
                }
                w
            }
            Some(_) => return Err(spec_err("'weights' must be an array")),
        };
        if let Some(c) = opt_num(&o, "coverage")? {
            if !(0.0..=1.0).contains(&c) {
                return Err(spec_err("'coverage' must be between 0 and 1"));
            }
        }
        if let Some(v) = opt_num(&o, "hashVersion")? {
            if v != 1.0 && v != 2.0 {
                return Err(spec_err("'hashVersion' must be 1 or 2"));
            }
        }
        for k in ["hashAttribute", "seed", "description", "hypothesis", "primaryMetric"] {
            opt_str(&o, k)?;
        }
        let keys: Vec<String> = match o.get("meta") {
            None | Some(Json::Null) => (0..n).map(|i| i.to_string()).collect(),
            Some(Json::Array(m)) if m.len() == n => m
                .iter()
                .enumerate()
                .map(|(i, e)| e.get("key").and_then(Json::as_str).map_or_else(|| i.to_string(), str::to_string))
                .collect(),
            Some(_) => return Err(spec_err("'meta' must be an array with one entry per variation")),
        };
        let mut metrics = Vec::new();
        match o.get("metrics") {
            None | Some(Json::Null) => {}
            Some(Json::Array(ms)) => {
                for m in ms {
                    let name =
                        m.get("name").and_then(Json::as_str).ok_or_else(|| spec_err("a metric needs a 'name'"))?;
                    if metrics.iter().any(|x: &Metric| x.name == name) {
                        return Err(spec_err(format!("metric '{name}' appears twice")));
                    }
                    let kind = match m.get("type").and_then(Json::as_str).unwrap_or("conversion") {
                        "conversion" => MetricKind::Conversion,
                        "count" => MetricKind::Count,
                        "revenue" => MetricKind::Revenue,
                        "duration" => MetricKind::Duration,
                        other => {
                            return Err(spec_err(format!(
                                "metric type '{other}' is not one of conversion, count, revenue, duration"
                            )))
                        }
                    };
                    let lower_is_better = match m.get("goal").and_then(Json::as_str).unwrap_or("increase") {
                        "increase" => false,
                        "decrease" => true,
                        other => return Err(spec_err(format!("metric goal '{other}' is not increase or decrease"))),
                    };
                    metrics.push(Metric { name: name.to_string(), kind, lower_is_better });
                }
            }
            Some(_) => return Err(spec_err("'metrics' must be an array")),
        }
        if metrics.len() > MAX_METRICS {
            return Err(spec_err(format!("at most {MAX_METRICS} metrics")));
        }
        let primary = match opt_str(&o, "primaryMetric")? {
            None => (!metrics.is_empty()).then_some(0),
            Some(p) => Some(
                metrics
                    .iter()
                    .position(|m| m.name == p)
                    .ok_or_else(|| spec_err(format!("primaryMetric '{p}' is not among the metrics")))?,
            ),
        };
        let alpha = opt_num(&o, "alpha")?.unwrap_or(0.05);
        if !(alpha > 0.0 && alpha < 1.0) {
            return Err(spec_err("'alpha' must be between 0 and 1"));
        }
        let min_sample_size = match opt_num(&o, "minSampleSize")? {
            None => 100,
            Some(v) if v >= 0.0 && v.fract() == 0.0 => v as u64,
            Some(_) => return Err(spec_err("'minSampleSize' must be a whole number")),
        };
        let auto_stop = match o.get("autoStop") {
            None | Some(Json::Null) => false,
            Some(Json::Bool(b)) => *b,
            Some(_) => return Err(spec_err("'autoStop' must be true or false")),
        };
        let gb = gb::Experiment::from_json(&Json::Object(o)).map_err(spec_err)?;
        let key_text = keys.iter().map(|k| bytes::Bytes::from(k.clone())).collect();
        let value_text = variations.iter().map(|v| bytes::Bytes::from(v.to_string())).collect();
        Ok(Spec {
            json,
            gb,
            variations,
            weights,
            keys,
            key_text,
            value_text,
            metrics,
            primary,
            alpha,
            min_sample_size,
            auto_stop,
        })
    }
}

/// The spec as stored: its JSON text, and the parsed form rebuilt from it when a snapshot is read.
#[derive(Debug, Clone)]
pub struct StoredSpec {
    pub name: String,
    pub spec: Arc<Spec>,
}

impl PartialEq for StoredSpec {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.spec.json == other.spec.json
    }
}

impl Encode for StoredSpec {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        self.name.encode(e)?;
        self.spec.json.to_string().encode(e)
    }
}

impl<C> Decode<C> for StoredSpec {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        let name = String::decode(d)?;
        let text = String::decode(d)?;
        let spec = Spec::parse(&name, text.as_bytes()).map_err(DecodeError::OtherString)?;
        Ok(StoredSpec { name, spec: Arc::new(spec) })
    }
}

impl<'de, C> BorrowDecode<'de, C> for StoredSpec {
    fn borrow_decode<D: BorrowDecoder<'de, Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        <StoredSpec as Decode<C>>::decode(d)
    }
}

/// Per variant and metric: sums over the variant's users of their totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Encode, Decode)]
pub struct Accum {
    pub sum: f64,
    pub sum_sq: f64,
    /// Users with at least one event.
    pub active: u64,
}

/// An enrolled user: the sticky variant and a total per metric.
#[derive(Debug, Clone, PartialEq, Encode, Decode)]
pub struct User {
    pub variant: u16,
    /// Metrics with at least one event, one bit each.
    pub seen: u64,
    pub totals: Vec<f64>,
}

/// The enrolled users. Encoded sorted by id, so the same table always has the same bytes (DEBUG DIGEST compares
/// a replica's, or a replayed log's, value with the primary's).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserTable {
    pub map: hashbrown::HashMap<Vec<u8>, User>,
}

impl Encode for UserTable {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        let mut entries: Vec<(&Vec<u8>, &User)> = self.map.iter().collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        (entries.len() as u64).encode(e)?;
        for (k, u) in entries {
            k.encode(e)?;
            u.encode(e)?;
        }
        Ok(())
    }
}

impl<C> Decode<C> for UserTable {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        let n = u64::decode(d)?;
        let mut map = hashbrown::HashMap::new();
        for _ in 0..n {
            let k = Vec::<u8>::decode(d)?;
            let u = User::decode(d)?;
            map.insert(k, u);
        }
        Ok(UserTable { map })
    }
}

impl<'de, C> BorrowDecode<'de, C> for UserTable {
    fn borrow_decode<D: BorrowDecoder<'de, Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        <UserTable as Decode<C>>::decode(d)
    }
}

/// The experiment held by a key.
#[derive(Debug, Clone, PartialEq, Encode, Decode)]
pub struct Experiment {
    pub spec: StoredSpec,
    pub status: Status,
    pub created_ms: u64,
    pub updated_ms: u64,
    pub started_ms: u64,
    pub ended_ms: u64,
    pub users: UserTable,
    /// Enrolled users per variation.
    pub exposures: Vec<u64>,
    /// `[metric][variation]`.
    pub acc: Vec<Vec<Accum>>,
    /// `[metric][variation]`: the running minimum of the always-valid p-value against the control.
    pub seq_p: Vec<Vec<f64>>,
    /// Assignments made while the table was full (not enrolled).
    pub unenrolled: u64,
    /// Why the experiment completed itself (auto-stop), empty otherwise.
    pub stop_reason: String,
}

/// One user's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    pub in_experiment: bool,
    pub variation: i64,
    /// The shown variation's meta key and value (JSON text); the control's when not in the experiment.
    pub key: bytes::Bytes,
    pub value: bytes::Bytes,
    pub hash_value: String,
    pub reason: &'static str,
}

/// What EXP.TRACK did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tracked {
    Recorded,
    /// The user is not enrolled (never assigned, not in the experiment, or beyond the table's bound).
    NotEnrolled,
    /// A conversion already counted for this user.
    Duplicate,
    /// The experiment is not running or paused.
    NotRunning,
}

fn num(x: f64) -> String {
    format!("{x}")
}

impl Experiment {
    /// A new DRAFT experiment.
    pub fn create(name: &str, spec: &[u8], now: u64) -> Result<Experiment, String> {
        let spec = Spec::parse(name, spec)?;
        let (v, m) = (spec.variations.len(), spec.metrics.len());
        Ok(Experiment {
            spec: StoredSpec { name: name.to_string(), spec: Arc::new(spec) },
            status: Status::Draft,
            created_ms: now,
            updated_ms: now,
            started_ms: 0,
            ended_ms: 0,
            users: UserTable::default(),
            exposures: vec![0; v],
            acc: vec![vec![Accum::default(); v]; m],
            seq_p: vec![vec![1.0; v]; m],
            unenrolled: 0,
            stop_reason: String::new(),
        })
    }

    pub fn spec(&self) -> &Spec {
        &self.spec.spec
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// Invariants a decoded value must hold.
    pub fn is_consistent(&self) -> bool {
        let (v, m) = (self.spec().variations.len(), self.spec().metrics.len());
        self.exposures.len() == v
            && self.acc.len() == m
            && self.acc.iter().all(|a| a.len() == v)
            && self.seq_p.len() == m
            && self.seq_p.iter().all(|a| a.len() == v)
            && self.users.map.values().all(|u| (u.variant as usize) < v && u.totals.len() == m)
    }

    /// Heap bytes, for MEMORY USAGE and accounting.
    pub fn memory(&self) -> usize {
        let m = self.spec().metrics.len();
        let per_user = 48 + 8 * m;
        let users: usize = self.users.map.keys().map(|k| k.capacity() + per_user).sum();
        users + self.spec().json.to_string().len() * 3 + self.acc.len() * self.exposures.len() * 40 + 256
    }

    /// Replaces the spec, as far as the lifecycle allows: anything in DRAFT; while RUNNING or PAUSED, not the
    /// variations, hashing, seed, namespace or existing metrics (assignments and accumulators depend on them);
    /// once COMPLETED or ARCHIVED only `description` and `hypothesis`.
    pub fn update(&mut self, text: &[u8], now: u64) -> Result<(), String> {
        let new = Spec::parse(self.name(), text)?;
        let old = self.spec();
        let name = self.name().to_string();
        let refuse = |field: &str| format!("experiment '{name}' is {}; cannot change '{field}'", self.status.name());
        match self.status {
            Status::Draft => {}
            Status::Running | Status::Paused => {
                for f in ["variations", "hashAttribute", "hashVersion", "seed", "namespace", "key"] {
                    if old.json.get(f) != new.json.get(f) {
                        return Err(refuse(f));
                    }
                }
                if new.metrics.len() < old.metrics.len() || old.metrics.iter().zip(&new.metrics).any(|(a, b)| a != b) {
                    return Err(refuse("metrics"));
                }
            }
            Status::Completed | Status::Archived => {
                let strip = |j: &Json| {
                    let mut j = j.clone();
                    if let Some(o) = j.as_object_mut() {
                        o.remove("description");
                        o.remove("hypothesis");
                    }
                    j
                };
                if strip(&old.json) != strip(&new.json) {
                    return Err(format!(
                        "experiment '{name}' is {}; only 'description' and 'hypothesis' can change",
                        self.status.name()
                    ));
                }
            }
        }
        let v = new.variations.len();
        if self.status == Status::Draft {
            self.exposures = vec![0; v];
            self.acc = vec![vec![Accum::default(); v]; new.metrics.len()];
            self.seq_p = vec![vec![1.0; v]; new.metrics.len()];
            self.users.map.clear();
        } else {
            for _ in self.acc.len()..new.metrics.len() {
                self.acc.push(vec![Accum::default(); v]);
                self.seq_p.push(vec![1.0; v]);
            }
            for u in self.users.map.values_mut() {
                u.totals.resize(new.metrics.len(), 0.0);
            }
        }
        self.spec.spec = Arc::new(new);
        self.updated_ms = now;
        Ok(())
    }

    /// Applies a lifecycle command.
    pub fn transition(&mut self, action: Action, now: u64) -> Result<(), String> {
        use Status::*;
        let next = match (action, self.status) {
            (Action::Start, Draft) => Running,
            (Action::Pause, Running) => Paused,
            (Action::Resume, Paused) => Running,
            (Action::Complete, Running | Paused) => Completed,
            (Action::Archive, Completed) => Archived,
            (a, s) => return Err(format!("experiment '{}' is {}; cannot {}", self.name(), s.name(), a.name())),
        };
        if action == Action::Start {
            let spec = self.spec();
            if spec.variations.len() < 2 {
                return Err(format!("experiment '{}' needs at least two variations to start", self.name()));
            }
            let total: f64 = spec.weights.iter().sum();
            if (total - 1.0).abs() > 1e-6 {
                return Err(format!(
                    "experiment '{}' has weights summing to {}; they must sum to 1 (100%) to start",
                    self.name(),
                    num(total)
                ));
            }
            self.started_ms = now;
        }
        if next == Completed {
            self.ended_ms = now;
        }
        self.status = next;
        self.updated_ms = now;
        Ok(())
    }

    fn hash_value(&self, user: &str) -> String {
        let spec = &self.spec().gb;
        gb::hash(&spec.seed, user, spec.hash_version).map_or_else(String::new, num)
    }

    fn answer(&self, variation: i64, in_experiment: bool, hash_value: String, reason: &'static str) -> Assignment {
        let spec = self.spec();
        let shown = variation.max(0) as usize;
        Assignment {
            in_experiment,
            variation,
            key: spec.key_text.get(shown).cloned().unwrap_or_default(),
            value: spec.value_text.get(shown).cloned().unwrap_or_default(),
            hash_value,
            reason,
        }
    }

    /// The stored assignment of `user`, if enrolled.
    pub fn assignment(&self, user: &[u8]) -> Option<Assignment> {
        let u = self.users.map.get(user)?;
        let id = String::from_utf8_lossy(user);
        Some(self.answer(u.variant as i64, true, self.hash_value(&id), "sticky"))
    }

    /// Assigns `user` (the hash attribute's value) with `attributes` for targeting; enrolls a new assignee while
    /// the table has room. Returns the answer and whether anything changed.
    pub fn assign(&mut self, user: &[u8], attributes: Option<&Json>, max_users: usize) -> (Assignment, bool) {
        if matches!(self.status, Status::Running | Status::Paused) {
            if let Some(a) = self.assignment(user) {
                return (a, false);
            }
        }
        let id = String::from_utf8_lossy(user).into_owned();
        if self.status != Status::Running {
            return (self.answer(-1, false, self.hash_value(&id), "not-running"), false);
        }
        let mut attrs = match attributes {
            Some(Json::Object(o)) => o.clone(),
            _ => serde_json::Map::new(),
        };
        attrs.insert(self.spec().gb.hash_attribute.clone(), Json::String(id.clone()));
        let ctx = gb::Context { attributes: Json::Object(attrs), ..gb::Context::default() };
        let r = gb::run(&self.spec().gb, &ctx);
        if !r.in_experiment {
            let reason = match r.reason {
                "namespace" => "namespace",
                "coverage" => "coverage",
                "not-running" => "not-running",
                _ => "not-targeted",
            };
            return (self.answer(-1, false, self.hash_value(&id), reason), false);
        }
        let variation = r.variation_id;
        let answer = self.answer(variation, true, self.hash_value(&id), "assigned");
        if self.users.map.len() >= max_users {
            self.unenrolled += 1;
            return (answer, true);
        }
        let m = self.spec().metrics.len();
        self.users.map.insert(user.to_vec(), User { variant: variation as u16, seen: 0, totals: vec![0.0; m] });
        self.exposures[variation as usize] += 1;
        (answer, true)
    }

    /// The index of metric `name`.
    pub fn metric(&self, name: &[u8]) -> Option<usize> {
        self.spec().metrics.iter().position(|m| m.name.as_bytes() == name)
    }

    /// Records `value` of metric `m` for `user`.
    pub fn track(&mut self, user: &[u8], m: usize, value: f64) -> Tracked {
        if !matches!(self.status, Status::Running | Status::Paused) {
            return Tracked::NotRunning;
        }
        let kind = self.spec().metrics[m].kind;
        let Some(u) = self.users.map.get_mut(user) else { return Tracked::NotEnrolled };
        let v = u.variant as usize;
        let bit = 1u64 << m;
        let acc = &mut self.acc[m][v];
        let before = u.totals[m];
        let after = match kind {
            MetricKind::Conversion if u.seen & bit != 0 => return Tracked::Duplicate,
            MetricKind::Conversion => 1.0,
            _ => before + value,
        };
        u.totals[m] = after;
        acc.sum += after - before;
        acc.sum_sq += after * after - before * before;
        if u.seen & bit == 0 {
            u.seen |= bit;
            acc.active += 1;
        }
        self.update_sequential(m);
        Tracked::Recorded
    }

    fn moments(&self, m: usize, v: usize) -> Moments {
        let a = &self.acc[m][v];
        Moments { n: self.exposures[v] as f64, sum: a.sum, sum_sq: a.sum_sq }
    }

    /// Folds the current always-valid p-value of metric `m` into each treatment's running minimum.
    fn update_sequential(&mut self, m: usize) {
        let control = self.moments(m, 0);
        if control.n < 2.0 {
            return;
        }
        for v in 1..self.exposures.len() {
            let t = self.moments(m, v);
            if t.n < 2.0 {
                continue;
            }
            // The mixture's scale from both arms' pooled variance: a control that never converts (variance 0)
            // must not leave the test without a scale.
            let pooled = Moments { n: control.n + t.n, sum: control.sum + t.sum, sum_sq: control.sum_sq + t.sum_sq };
            let p = stats::sequential_p_value(&control, &t, stats::default_tau2(&pooled));
            self.seq_p[m][v] = self.seq_p[m][v].min(p);
        }
    }

    /// With auto-stop on: completes the experiment once every variation has the minimum sample and the primary
    /// metric is conclusive for some treatment under the always-valid p-value. Returns the reason when it did.
    pub fn auto_stop(&mut self, now: u64) -> Option<String> {
        let spec = self.spec();
        if !spec.auto_stop || self.status != Status::Running {
            return None;
        }
        let p = spec.primary?;
        if self.exposures.iter().any(|&n| n < spec.min_sample_size) {
            return None;
        }
        let (alpha, metric) = (spec.alpha, spec.metrics[p].name.clone());
        let (v, best) =
            self.seq_p[p].iter().enumerate().skip(1).min_by(|a, b| a.1.total_cmp(b.1)).map(|(v, p)| (v, *p))?;
        if best >= alpha {
            return None;
        }
        let key = spec.keys.get(v).cloned().unwrap_or_default();
        self.status = Status::Completed;
        self.ended_ms = now;
        self.updated_ms = now;
        self.stop_reason = format!(
            "primary metric '{metric}' conclusive for variation {v} ('{key}'): sequential p-value {} < alpha {}",
            num(best),
            num(alpha)
        );
        Some(self.stop_reason.clone())
    }

    /// EXP.RESULTS as JSON-like data: per metric, per variation, against the control.
    pub fn results(&self, alpha: f64) -> Json {
        let spec = self.spec();
        let weights = spec.weights.clone();
        let observed: Vec<f64> = self.exposures.iter().map(|&n| n as f64).collect();
        let total: f64 = observed.iter().sum();
        let (chi2, srm_p) = if total > 0.0 { stats::srm(&observed, &weights) } else { (0.0, 1.0) };
        let variants: Vec<Json> = (0..self.exposures.len())
            .map(|v| json!({"variation": v, "key": spec.keys[v], "users": self.exposures[v], "weight": weights[v]}))
            .collect();
        let mut metrics = serde_json::Map::new();
        for (m, def) in spec.metrics.iter().enumerate() {
            let control = self.moments(m, 0);
            let comparisons: Vec<Option<stats::Comparison>> = (1..self.exposures.len())
                .map(|v| {
                    let t = self.moments(m, v);
                    match def.kind {
                        MetricKind::Conversion => stats::conversion_test(&control, &t, alpha),
                        _ => stats::welch_test(&control, &t, alpha),
                    }
                })
                .collect();
            let ps: Vec<f64> = comparisons.iter().map(|c| c.as_ref().map_or(1.0, |c| c.p_value)).collect();
            let adjusted = stats::holm(&ps);
            let mut rows = Vec::new();
            for v in 0..self.exposures.len() {
                let mo = self.moments(m, v);
                let a = &self.acc[m][v];
                let mut row = json!({
                    "variation": v,
                    "key": spec.keys[v],
                    "users": self.exposures[v],
                    "active": a.active,
                    "sum": a.sum,
                    "mean": mo.mean(),
                    "variance": mo.variance(),
                });
                if v > 0 {
                    let o = row.as_object_mut();
                    if let (Some(o), Some(c)) = (o, comparisons[v - 1].as_ref()) {
                        let beat = if def.lower_is_better { 1.0 - c.chance_to_beat } else { c.chance_to_beat };
                        o.insert("lift".into(), json!(c.lift));
                        o.insert("ciLow".into(), json!(c.ci.0));
                        o.insert("ciHigh".into(), json!(c.ci.1));
                        o.insert("diff".into(), json!(c.abs_diff));
                        o.insert("diffCiLow".into(), json!(c.abs_ci.0));
                        o.insert("diffCiHigh".into(), json!(c.abs_ci.1));
                        o.insert("statistic".into(), json!(c.statistic));
                        if let Some(df) = c.df {
                            o.insert("df".into(), json!(df));
                        }
                        o.insert("pValue".into(), json!(c.p_value));
                        o.insert("pValueAdjusted".into(), json!(adjusted[v - 1]));
                        o.insert("significant".into(), json!(adjusted[v - 1] < alpha));
                        o.insert("chanceToBeatControl".into(), json!(beat));
                        o.insert("sequentialPValue".into(), json!(self.seq_p[m][v]));
                    }
                }
                rows.push(row);
            }
            metrics.insert(
                def.name.clone(),
                json!({"type": def.kind.name(), "goal": if def.lower_is_better { "decrease" } else { "increase" },
                    "variations": rows}),
            );
        }
        json!({
            "experiment": self.name(),
            "status": self.status.name(),
            "alpha": alpha,
            "users": total,
            "unenrolled": self.unenrolled,
            "srm": {"chi2": chi2, "pValue": srm_p, "mismatch": srm_p < 0.001},
            "variations": variants,
            "metrics": metrics,
            "stopReason": self.stop_reason,
        })
    }
}
