//! EXP.*: A/B and multivariate experiments held by keys (`experiment::model`), assigned as GrowthBook's SDK
//! assigns (`experiment::growthbook`), with results from `experiment::stats`.
//!
//! Writes that depend on the time (CREATE, UPDATE, the lifecycle commands, TRACK) replicate with the primary's
//! time as a trailing `TS ms`, so a replica and a change-log replay reach the same state; ASSIGN is a function of
//! the state and its arguments and replicates as sent.

use super::args::{float, is};
use super::ctx::Ctx;
use super::flags::*;
use super::keyspace::help_reply;
use super::{spec, CommandSpec, Keys};
use crate::engine::ctx::Ttl;
use crate::error::{CmdError, CmdResult};
use crate::experiment::model::{Action, Assignment, Experiment, Status, Tracked};
use crate::protocol::Reply;
use crate::store::event::Event;
use crate::store::types::ext::{experiment, experiment_mut, ExtValue};
use crate::store::Value;
use bytes::Bytes;
use serde_json::Value as Json;
use std::sync::atomic::Ordering::Relaxed;

/// Status changes (manual and automatic) are published here as JSON.
pub const CHANNEL: &[u8] = b"__strata__:experiments";

fn err(e: String) -> CmdError {
    CmdError::err(e.replace(['\r', '\n'], " "))
}

fn name_of(key: &[u8]) -> String {
    String::from_utf8_lossy(key).into_owned()
}

fn no_such(key: &[u8]) -> CmdError {
    err(format!("no such experiment '{}'", name_of(key)))
}

/// Splits a trailing `TS ms` off the arguments: (the rest, the time to use, whether TS was given).
fn with_ts<'a>(ctx: &Ctx<'_>, args: &'a [Bytes], fixed: usize) -> CmdResult<(&'a [Bytes], u64, bool)> {
    if args.len() == fixed + 2 && is(&args[fixed], "TS") {
        let ts = crate::util::num::parse_i64(&args[fixed + 1])
            .filter(|&t| t >= 0)
            .ok_or_else(|| CmdError::err("TS must be a unix time in milliseconds"))?;
        return Ok((&args[..fixed], ts as u64, true));
    }
    if args.len() != fixed {
        return Err(crate::error::SYNTAX);
    }
    Ok((args, ctx.now_ms, false))
}

/// Replicates the command with its time.
fn emit_timed(ctx: &mut Ctx<'_>, args: &[Bytes], at: u64, given: bool) {
    if given {
        ctx.emit_as_sent();
    } else {
        ctx.emit(super::args::with_timestamp(args, at));
    }
}

fn publish(ctx: &Ctx<'_>, message: Json) {
    if !ctx.client.replaying {
        ctx.srv.pubsub.publish(CHANNEL, message.to_string().as_bytes());
    }
}

/// A JSON value as a reply: objects as maps, whole numbers as integers, others as doubles, strings as bulks.
pub fn json_reply(v: &Json) -> Reply {
    match v {
        Json::Null => Reply::Nil,
        Json::Bool(b) => Reply::Int(i64::from(*b)),
        Json::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Reply::Int(i),
            (_, Some(u)) => Reply::Int(u as i64),
            _ => Reply::Double(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Reply::bulk(s.as_bytes()),
        Json::Array(a) => Reply::Array(a.iter().map(json_reply).collect()),
        Json::Object(o) => Reply::Map(o.iter().map(|(k, v)| (Reply::bulk(k.as_bytes()), json_reply(v))).collect()),
    }
}

fn assignment_reply(a: &Assignment) -> Reply {
    let f = |k: &'static str, v: Reply| (Reply::bulk_static(k), v);
    Reply::Map(vec![
        f("inExperiment", Reply::Int(i64::from(a.in_experiment))),
        f("variationId", Reply::Int(a.variation)),
        f("key", Reply::Bulk(a.key.clone())),
        f("value", Reply::Bulk(a.value.clone())),
        f("hashValue", Reply::bulk(a.hash_value.as_bytes())),
        f("reason", Reply::bulk_static(a.reason)),
    ])
}

/// EXP.CREATE name spec-json [TS ms]
fn exp_create(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let (args, now, given) = with_ts(ctx, args, 3)?;
    let key = &args[1];
    if ctx.peek(key).is_some() {
        return Err(err(format!("experiment '{}' already exists", name_of(key))));
    }
    let e = Experiment::create(&name_of(key), &args[2], now).map_err(err)?;
    ctx.set(key, Value::Ext(Box::new(ExtValue::Experiment(Box::new(e)))), Ttl::Clear, Event::ExpCreate);
    ctx.srv.stats.experiments_created.add(1);
    emit_timed(ctx, args, now, given);
    Ok(Reply::OK)
}

/// EXP.UPDATE name spec-json [TS ms]
fn exp_update(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let (args, now, given) = with_ts(ctx, args, 3)?;
    let key = &args[1];
    let e = ctx.write_as(key, experiment_mut)?.ok_or_else(|| no_such(key))?;
    e.update(&args[2], now).map_err(err)?;
    ctx.modified(key, Event::ExpUpdate);
    emit_timed(ctx, args, now, given);
    Ok(Reply::OK)
}

fn describe(e: &Experiment) -> Reply {
    let spec = e.spec();
    let f = |k: &'static str, v: Reply| (Reply::bulk_static(k), v);
    Reply::Map(vec![
        f("name", Reply::bulk(e.name().as_bytes())),
        f("status", Reply::bulk_static(e.status.name())),
        f("spec", Reply::bulk(spec.json.to_string().as_bytes())),
        f("created", Reply::Int(e.created_ms as i64)),
        f("updated", Reply::Int(e.updated_ms as i64)),
        f("started", Reply::Int(e.started_ms as i64)),
        f("ended", Reply::Int(e.ended_ms as i64)),
        f("variations", Reply::Int(spec.variations.len() as i64)),
        f("users", Reply::Array(e.exposures.iter().map(|&n| Reply::Int(n as i64)).collect())),
        f("unenrolled", Reply::Int(e.unenrolled as i64)),
        f("stopReason", Reply::bulk(e.stop_reason.as_bytes())),
    ])
}

/// EXP.GET name: nil when missing.
fn exp_get(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    Ok(ctx.read_as(&args[1], experiment)?.map_or(Reply::Nil, describe))
}

/// EXP.LIST [STATUS s]: the experiments of the selected database, sorted by name. It walks the database's keys
/// (as SCAN TYPE does): O(N) in keys.
fn exp_list(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let want = match args.len() {
        1 => None,
        3 if is(&args[1], "STATUS") => Some(
            Status::parse(&args[2])
                .ok_or_else(|| CmdError::err("STATUS must be one of DRAFT, RUNNING, PAUSED, COMPLETED, ARCHIVED"))?,
        ),
        _ => return Err(crate::error::SYNTAX),
    };
    let db = ctx.db();
    let mut names = Vec::new();
    for s in 0..ctx.srv.keyspace.shard_count() {
        super::keyspace::scan_shard(ctx, db, s, 0, usize::MAX, false, &mut |k, e| {
            if let Some(x) = experiment(&e.value) {
                if want.is_none_or(|w| w == x.status) {
                    names.push(Bytes::copy_from_slice(k));
                }
            }
        });
    }
    names.sort();
    Ok(Reply::Array(names.into_iter().map(Reply::Bulk).collect()))
}

/// EXP.DELETE name: 1 when deleted, 0 when missing.
fn exp_delete(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let key = &args[1];
    if ctx.read_as(key, experiment)?.is_none() {
        return Ok(Reply::Int(0));
    }
    let db = ctx.db();
    ctx.remove_in(db, key, Event::Del);
    Ok(Reply::Int(1))
}

/// EXP.START | PAUSE | RESUME | COMPLETE | ARCHIVE name [TS ms]
fn lifecycle(ctx: &mut Ctx<'_>, args: &[Bytes], action: Action) -> CmdResult<Reply> {
    let (args, now, given) = with_ts(ctx, args, 2)?;
    let key = &args[1];
    let e = ctx.write_as(key, experiment_mut)?.ok_or_else(|| no_such(key))?;
    let from = e.status;
    e.transition(action, now).map_err(err)?;
    let to = e.status;
    ctx.modified(key, Event::ExpStatus);
    emit_timed(ctx, args, now, given);
    publish(
        ctx,
        serde_json::json!({"experiment": name_of(key), "event": "status", "from": from.name(), "to": to.name(),
            "time": now}),
    );
    Ok(Reply::OK)
}

fn exp_start(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    lifecycle(ctx, args, Action::Start)
}

fn exp_pause(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    lifecycle(ctx, args, Action::Pause)
}

fn exp_resume(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    lifecycle(ctx, args, Action::Resume)
}

fn exp_complete(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    lifecycle(ctx, args, Action::Complete)
}

fn exp_archive(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    lifecycle(ctx, args, Action::Archive)
}

/// Assigns each of `users` and reports the change once.
fn assign_users(ctx: &mut Ctx<'_>, key: &[u8], users: &[Bytes], attrs: Option<&Json>) -> CmdResult<Vec<Reply>> {
    let max_users = ctx.srv.hot.experiment_max_users.load(Relaxed);
    let e = ctx.write_as(key, experiment_mut)?.ok_or_else(|| no_such(key))?;
    let mut changed = 0u64;
    let mut out = Vec::with_capacity(users.len());
    for u in users {
        let (a, c) = e.assign(u, attrs, max_users);
        changed += u64::from(c);
        out.push(assignment_reply(&a));
    }
    ctx.srv.stats.experiment_assignments.add(users.len() as u64);
    if changed > 0 {
        ctx.modified(key, Event::ExpAssign);
    }
    Ok(out)
}

/// EXP.ASSIGN name user-id [ATTRS json]
fn exp_assign(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let attrs = match args.len() {
        3 => None,
        5 if is(&args[3], "ATTRS") => match serde_json::from_slice::<Json>(&args[4]) {
            Ok(j @ Json::Object(_)) => Some(j),
            _ => return Err(CmdError::err("ATTRS must be a JSON object")),
        },
        _ => return Err(crate::error::SYNTAX),
    };
    let mut out = assign_users(ctx, &args[1], &args[2..3], attrs.as_ref())?;
    Ok(out.pop().unwrap_or(Reply::Nil))
}

/// EXP.MASSIGN name user-id [user-id ...]: one answer per user (no attributes: targeting sees the id only).
fn exp_massign(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Array(assign_users(ctx, &args[1], &args[2..], None)?))
}

/// EXP.ASSIGNMENTS name user-id: the user's sticky assignment, nil when not enrolled.
fn exp_assignments(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let e = ctx.read_as(&args[1], experiment)?.ok_or_else(|| no_such(&args[1]))?;
    Ok(e.assignment(&args[2]).map_or(Reply::Nil, |a| assignment_reply(&a)))
}

/// EXP.TRACK name user-id metric value [TS ms]: 1 when counted, 0 when not (the user is not enrolled, a
/// conversion already counted, the experiment is not running).
fn exp_track(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let (args, now, given) = with_ts(ctx, args, 5)?;
    let key = &args[1];
    let value = float(&args[4])?;
    if !value.is_finite() {
        return Err(crate::error::NOT_FLOAT);
    }
    let e = ctx.write_as(key, experiment_mut)?.ok_or_else(|| no_such(key))?;
    let m = e.metric(&args[3]).ok_or_else(|| {
        err(format!("experiment '{}' has no metric '{}'", name_of(key), String::from_utf8_lossy(&args[3])))
    })?;
    let tracked = e.track(&args[2], m, value);
    let stopped = if tracked == Tracked::Recorded { e.auto_stop(now) } else { None };
    if tracked != Tracked::Recorded {
        return Ok(Reply::Int(0));
    }
    ctx.srv.stats.experiment_events.add(1);
    ctx.modified(key, Event::ExpTrack);
    emit_timed(ctx, args, now, given);
    if let Some(reason) = stopped {
        ctx.srv.stats.experiment_auto_stops.add(1);
        publish(
            ctx,
            serde_json::json!({"experiment": name_of(key), "event": "auto-stopped", "from": "RUNNING",
                "to": "COMPLETED", "time": now, "reason": reason}),
        );
    }
    Ok(Reply::Int(1))
}

/// EXP.RESULTS name [ALPHA a]
fn exp_results(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let alpha = match args.len() {
        2 => None,
        4 if is(&args[2], "ALPHA") => {
            let a = float(&args[3])?;
            if !(a > 0.0 && a < 1.0) {
                return Err(CmdError::err("ALPHA must be between 0 and 1"));
            }
            Some(a)
        }
        _ => return Err(crate::error::SYNTAX),
    };
    let e = ctx.read_as(&args[1], experiment)?.ok_or_else(|| no_such(&args[1]))?;
    Ok(json_reply(&e.results(alpha.unwrap_or(e.spec().alpha))))
}

fn exp_help(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    Ok(help_reply(&[
        "EXP.<subcommand> name ... Experiments (docs/EXTENSIONS.md):",
        "EXP.CREATE name spec-json | EXP.UPDATE name spec-json | EXP.GET name | EXP.LIST [STATUS s] | EXP.DELETE name",
        "EXP.START | EXP.PAUSE | EXP.RESUME | EXP.COMPLETE | EXP.ARCHIVE name",
        "EXP.ASSIGN name user-id [ATTRS json] | EXP.MASSIGN name user-id [user-id ...] | EXP.ASSIGNMENTS name user-id",
        "EXP.TRACK name user-id metric value | EXP.RESULTS name [ALPHA a]",
    ]))
}

const G: &str = "module";
const W: u32 = WRITE | DENYOOM;

pub static COMMANDS: &[CommandSpec] = &[
    spec("exp.create", -3, W, Keys::one(1), exp_create).rewritten().doc(G, "1.0.0", "Creates an experiment (DRAFT) from a GrowthBook-shaped JSON spec.", "name spec [TS unix-time-milliseconds]").complexity("O(1)"),
    spec("exp.update", -3, W, Keys::one(1), exp_update).rewritten().doc(G, "1.0.0", "Replaces an experiment's spec as far as its lifecycle allows.", "name spec [TS unix-time-milliseconds]").complexity("O(N) with N the enrolled users when metrics are added"),
    spec("exp.get", 2, READONLY, Keys::one(1), exp_get).doc(G, "1.0.0", "Returns an experiment's spec, status, times and users per variation.", "name").complexity("O(1)"),
    spec("exp.list", -1, READONLY | ITERATES, Keys::None, exp_list).doc(G, "1.0.0", "Lists the experiments of the database, optionally by status.", "[STATUS status:oneof(DRAFT|RUNNING|PAUSED|COMPLETED|ARCHIVED)]").complexity("O(N) with N the keys of the database"),
    spec("exp.delete", 2, WRITE, Keys::one(1), exp_delete).doc(G, "1.0.0", "Deletes an experiment.", "name").complexity("O(N) with N the enrolled users"),
    spec("exp.start", -2, WRITE, Keys::one(1), exp_start).rewritten().doc(G, "1.0.0", "Starts a DRAFT experiment.", "name [TS unix-time-milliseconds]").complexity("O(1)"),
    spec("exp.pause", -2, WRITE, Keys::one(1), exp_pause).rewritten().doc(G, "1.0.0", "Pauses a running experiment: no new users are enrolled.", "name [TS unix-time-milliseconds]").complexity("O(1)"),
    spec("exp.resume", -2, WRITE, Keys::one(1), exp_resume).rewritten().doc(G, "1.0.0", "Resumes a paused experiment.", "name [TS unix-time-milliseconds]").complexity("O(1)"),
    spec("exp.complete", -2, WRITE, Keys::one(1), exp_complete).rewritten().doc(G, "1.0.0", "Completes a running or paused experiment.", "name [TS unix-time-milliseconds]").complexity("O(1)"),
    spec("exp.archive", -2, WRITE, Keys::one(1), exp_archive).rewritten().doc(G, "1.0.0", "Archives a completed experiment.", "name [TS unix-time-milliseconds]").complexity("O(1)"),
    spec("exp.assign", -3, W | FAST, Keys::one(1), exp_assign).doc(G, "1.0.0", "Assigns a user to a variation (sticky once enrolled).", "name user-id [ATTRS json]").complexity("O(1) for an enrolled user; O(C) with C the size of the targeting condition otherwise"),
    spec("exp.massign", -3, W, Keys::one(1), exp_massign).doc(G, "1.0.0", "Assigns several users at once.", "name user-id [user-id ...]").complexity("O(N) with N the users"),
    spec("exp.assignments", 3, READONLY | FAST, Keys::one(1), exp_assignments).doc(G, "1.0.0", "Returns a user's sticky assignment.", "name user-id").complexity("O(1)"),
    spec("exp.track", -5, W | FAST, Keys::one(1), exp_track).rewritten().doc(G, "1.0.0", "Records a metric outcome for an enrolled user.", "name user-id metric value [TS unix-time-milliseconds]").complexity("O(V) with V the variations"),
    spec("exp.results", -2, READONLY, Keys::one(1), exp_results).doc(G, "1.0.0", "Returns per variation and metric: users, means, lift with a confidence interval, p-values (Holm-adjusted and always-valid), chance to beat control, and a sample ratio mismatch check.", "name [ALPHA alpha]").complexity("O(V*M) with V the variations and M the metrics"),
    spec("exp.help", 1, LOADING | STALE, Keys::None, exp_help).doc(G, "1.0.0", "Returns helpful text about the EXP commands.", "").complexity("O(1)"),
];
