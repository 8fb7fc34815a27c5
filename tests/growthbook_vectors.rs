//! GrowthBook's cross-SDK test vectors (tests/data/growthbook-cases.json, spec 0.8.0, MIT) run against
//! `experiment::growthbook`: every case of `hash`, `getBucketRange`, `chooseVariation`, `inNamespace`,
//! `getEqualWeights`, `evalCondition` and `run`, except the `run` cases listed in `SKIPPED_RUN` (URL targeting,
//! query-string overrides and feature-flag prerequisites are not ported).

use serde_json::Value;
use strata::experiment::growthbook::{
    bucket_ranges, choose_variation, equal_weights, eval_condition, hash, in_namespace, reason, run, Context,
    Experiment,
};

const CASES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/growthbook-cases.json");

/// `run` cases not evaluated, and why. Exactly these are skipped: a case missing from here fails, so a
/// regression cannot hide as a skip.
const SKIPPED_RUN: &[(&str, &str)] = &[
    ("querystring force", "query-string override (context url) is not ported"),
    ("querystring force with inactive", "query-string override (context url) is not ported"),
    ("Prerequisite condition passes", "parentConditions evaluate feature flags, which are not ported"),
    ("Prerequisite condition fails", "parentConditions evaluate feature flags, which are not ported"),
];

fn cases() -> Value {
    let text = std::fs::read_to_string(CASES).expect("read growthbook-cases.json");
    serde_json::from_str(&text).expect("parse growthbook-cases.json")
}

fn section(all: &Value, name: &str, expected_len: usize) -> Vec<Value> {
    let s = all[name].as_array().unwrap_or_else(|| panic!("section {name} missing")).clone();
    assert_eq!(s.len(), expected_len, "section {name} has {} cases, expected {expected_len}", s.len());
    s
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn pairs(v: &Value) -> Vec<(f64, f64)> {
    v.as_array().expect("ranges").iter().map(|r| (f(&r[0]), f(&r[1]))).collect()
}

fn report(section: &str, total: usize, failures: &[String]) {
    eprintln!("{section}: {} of {total} passed", total - failures.len());
    assert!(failures.is_empty(), "{section}: {} failed:\n{}", failures.len(), failures.join("\n"));
}

/// Bucket ranges are only JavaScript's if weights and coverage are read from JSON as JavaScript reads them:
/// correctly rounded, which `serde_json` does with its `float_roundtrip` feature.
#[test]
fn json_numbers_parse_as_javascript() {
    for text in ["0.36712383142708804", "0.40904869206987465", "0.09075224402863445", "0.1", "2.2250738585072014e-308"]
    {
        let parsed: f64 = serde_json::from_str(text).expect("a JSON number");
        assert_eq!(
            parsed.to_bits(),
            text.parse::<f64>().expect("a number").to_bits(),
            "serde_json misreads {text}: enable its \"float_roundtrip\" feature"
        );
    }
}

#[test]
fn hash_vectors() {
    let s = section(&cases(), "hash", 15);
    let mut failures = Vec::new();
    for c in &s {
        let got = hash(c[0].as_str().unwrap(), c[1].as_str().unwrap(), c[2].as_u64().unwrap() as u32);
        let want = c[3].as_f64();
        if got != want {
            failures.push(format!("{c}: got {got:?}"));
        }
    }
    report("hash", s.len(), &failures);
}

#[test]
fn bucket_range_vectors() {
    let s = section(&cases(), "getBucketRange", 13);
    let mut failures = Vec::new();
    for c in &s {
        let args = &c[1];
        let weights: Option<Vec<f64>> = args[2].as_array().map(|w| w.iter().map(f).collect());
        let got = bucket_ranges(args[0].as_u64().unwrap() as usize, f(&args[1]), weights.as_deref());
        let want = pairs(&c[2]);
        // The vectors are rounded (JavaScript gives 0.04000000000000001 where they say 0.04); the exact floats
        // are pinned by the module's unit tests.
        let close = got.len() == want.len()
            && got.iter().zip(&want).all(|(a, b)| (a.0 - b.0).abs() < 1e-9 && (a.1 - b.1).abs() < 1e-9);
        if !close {
            failures.push(format!("{}: got {got:?}", c[0]));
        }
    }
    report("getBucketRange", s.len(), &failures);
}

#[test]
fn choose_variation_vectors() {
    let s = section(&cases(), "chooseVariation", 13);
    let mut failures = Vec::new();
    for c in &s {
        let got = choose_variation(f(&c[1]), &pairs(&c[2]));
        if got != c[3].as_i64().unwrap() {
            failures.push(format!("{}: got {got}", c[0]));
        }
    }
    report("chooseVariation", s.len(), &failures);
}

#[test]
fn in_namespace_vectors() {
    let s = section(&cases(), "inNamespace", 16);
    let mut failures = Vec::new();
    for c in &s {
        let ns = &c[2];
        let got = in_namespace(c[1].as_str().unwrap(), (ns[0].as_str().unwrap(), f(&ns[1]), f(&ns[2])));
        if got != c[3].as_bool().unwrap() {
            failures.push(format!("{}: got {got}", c[0]));
        }
    }
    report("inNamespace", s.len(), &failures);
}

#[test]
fn equal_weights_vectors() {
    let s = section(&cases(), "getEqualWeights", 6);
    let mut failures = Vec::new();
    for c in &s {
        let got = equal_weights(c[0].as_i64().unwrap());
        let want: Vec<f64> = c[1].as_array().unwrap().iter().map(f).collect();
        // The vectors round to 8 decimals (0.33333333).
        if got.len() != want.len() || got.iter().zip(&want).any(|(a, b)| (a - b).abs() > 1e-8) {
            failures.push(format!("{}: got {got:?}", c[0]));
        }
    }
    report("getEqualWeights", s.len(), &failures);
}

#[test]
fn eval_condition_vectors() {
    let s = section(&cases(), "evalCondition", 248);
    let mut failures = Vec::new();
    for c in &s {
        let groups = c.get(4).cloned().unwrap_or(Value::Null);
        let got = eval_condition(&c[2], &c[1], &groups);
        if got != c[3].as_bool().unwrap() {
            failures.push(format!("{}: got {got}", c[0]));
        }
    }
    report("evalCondition", s.len(), &failures);
}

/// The reason `run` gives for some cases (the vectors only pin value, inExperiment and hashUsed).
const RUN_REASONS: &[(&str, &str)] = &[
    ("default weights - 1", reason::ASSIGNED),
    ("coverage - 1", reason::COVERAGE),
    ("empty id", reason::NO_HASH_VALUE),
    ("null id", reason::NO_HASH_VALUE),
    ("missing attributes", reason::NO_HASH_VALUE),
    ("single variation", reason::NOT_RUNNING),
    ("negative forced variation", reason::FORCED),
    ("evaluates conditions - fail", reason::NOT_TARGETED),
    ("globally disabled", reason::NOT_RUNNING),
    ("skip inactive experiments", reason::NOT_RUNNING),
    ("coverage take precendence over forced", reason::COVERAGE),
    ("Force variation from context", reason::FORCED),
    ("Skips experiments in QA mode", reason::QA_MODE),
    ("Works in QA mode if forced in experiment", reason::FORCED),
    ("Experiment namespace - fail", reason::NAMESPACE),
    ("Filtered, excluded", reason::NOT_TARGETED),
    ("Ranges, partial coverage", reason::COVERAGE),
    ("SavedGroups correctly pulled from context for experiment", reason::ASSIGNED),
];

#[test]
fn run_vectors() {
    let s = section(&cases(), "run", 73);
    let mut failures = Vec::new();
    let mut skipped = Vec::new();
    let mut checked_reasons = 0;
    for c in &s {
        let name = c[0].as_str().unwrap();
        let (ctx_json, exp_json) = (&c[1], &c[2]);
        if SKIPPED_RUN.iter().any(|(n, _)| *n == name) {
            skipped.push(name);
            continue;
        }
        // Anything needing what is not ported must be in SKIPPED_RUN, never evaluated as if it were absent.
        for k in ["url", "features"] {
            assert!(ctx_json.get(k).is_none(), "{name}: context has '{k}' but is not in SKIPPED_RUN");
        }
        let exp = match Experiment::from_json(exp_json) {
            Ok(e) => e,
            Err(e) => {
                failures.push(format!("{name}: experiment refused: {e}"));
                continue;
            }
        };
        let ctx = Context::from_json(ctx_json).unwrap_or_else(|e| panic!("{name}: context refused: {e}"));
        let r = run(&exp, &ctx);
        let (value, in_exp, hash_used) = (&c[3], c[4].as_bool().unwrap(), c[5].as_bool().unwrap());
        if r.value != *value || r.in_experiment != in_exp || r.hash_used != hash_used {
            failures.push(format!(
                "{name}: got [{}, {}, {}], want [{value}, {in_exp}, {hash_used}] ({})",
                r.value, r.in_experiment, r.hash_used, r.reason
            ));
        }
        // variation_id is -1 out of the experiment, where the SDK reports 0.
        assert_eq!(r.variation_id < 0, !r.in_experiment, "{name}");
        assert_eq!(r.sdk_variation_id(), r.variation_id.max(0), "{name}");
        assert_eq!(r.bucket.is_some(), r.hash_used, "{name}");
        if let Some((_, want)) = RUN_REASONS.iter().find(|(n, _)| *n == name) {
            checked_reasons += 1;
            if r.reason != *want {
                failures.push(format!("{name}: reason {}, want {want}", r.reason));
            }
        }
    }
    assert_eq!(checked_reasons, RUN_REASONS.len(), "a case named in RUN_REASONS is missing");
    assert_eq!(
        skipped.len(),
        SKIPPED_RUN.len(),
        "skipped {skipped:?}, but SKIPPED_RUN lists {} cases",
        SKIPPED_RUN.len()
    );
    // The prerequisite cases are skipped because such an experiment is refused, not silently mis-evaluated.
    for c in &s {
        if c[2].get("parentConditions").is_some() {
            assert!(Experiment::from_json(&c[2]).is_err(), "{}", c[0]);
        }
    }
    report(&format!("run ({} skipped)", skipped.len()), s.len() - skipped.len(), &failures);
}
