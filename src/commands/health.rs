//! HEALTH [component | HISTORY [minutes] | HELP]: the health model of `engine/health.rs` as a map (RESP3) or
//! flat array (RESP2), the same judgement `/ready` gives.

use super::args::{int_or, is};
use super::ctx::Ctx;
use super::flags::*;
use super::keyspace::help_reply;
use super::{spec, CommandSpec, Keys};
use crate::engine::health::{Component, COMPONENTS};
use crate::error::{CmdError, CmdResult};
use crate::protocol::Reply;
use bytes::Bytes;

fn field(name: &'static str, v: Reply) -> (Reply, Reply) {
    (Reply::bulk_static(name), v)
}

fn describe(c: &Component) -> Reply {
    Reply::Map(vec![
        field("status", Reply::Simple(c.level.word())),
        field("value", Reply::bulk_string(c.value.clone())),
        field("threshold", Reply::bulk_string(c.threshold.clone())),
        field("reason", Reply::bulk_string(c.reason.clone())),
    ])
}

fn history(ctx: &Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let bad = CmdError::err("minutes must be a positive integer".to_string());
    let minutes = match args.get(2) {
        None => 60,
        Some(a) if args.len() == 3 => match int_or(a, bad.clone())? {
            n if n > 0 => n as u64,
            _ => return Err(bad),
        },
        Some(_) => return Err(crate::error::SYNTAX),
    };
    let changes = ctx.srv.health.history(minutes);
    Ok(Reply::Array(
        changes
            .into_iter()
            .map(|t| {
                Reply::Map(vec![
                    field("time", Reply::Int(t.at_ms as i64)),
                    field("status", Reply::Simple(t.to.status())),
                    field("previous", Reply::Simple(t.from.status())),
                    field("reasons", Reply::Array(t.reasons.into_iter().map(Reply::bulk_string).collect())),
                ])
            })
            .collect(),
    ))
}

fn health(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    if let Some(a) = args.get(1) {
        if is(a, "HISTORY") {
            return history(ctx, args);
        }
        if is(a, "HELP") && args.len() == 2 {
            return Ok(help_reply(&[
                "HEALTH [<component>]",
                "    Overall status (healthy, degraded, unhealthy) and every component's status, value,",
                "    threshold and reason; or one component's.",
                "    Components: memory, eviction, persistence, replication, event-loop, clients, expiry, loading.",
                "HISTORY [<minutes>]",
                "    Status changes in the last <minutes> (default 60).",
            ]));
        }
        if args.len() > 2 {
            return Err(crate::error::SYNTAX);
        }
    }
    let report = ctx.srv.check_health();
    if let Some(a) = args.get(1) {
        let name = String::from_utf8_lossy(a).to_ascii_lowercase();
        let Some(c) = report.components.iter().find(|c| c.name == name) else {
            return Err(CmdError::err(format!(
                "unknown health component '{}', expected one of: {}",
                crate::error::truncate_lossy(a, 128),
                COMPONENTS.join(", ")
            )));
        };
        return Ok(describe(c));
    }
    Ok(Reply::Map(vec![
        field("status", Reply::Simple(report.level.status())),
        field("since", Reply::Int(report.since_ms as i64)),
        field("checked", Reply::Int(report.checked_ms as i64)),
        field(
            "components",
            Reply::Map(report.components.iter().map(|c| (Reply::bulk_static(c.name), describe(c))).collect()),
        ),
    ]))
}

/// The HEALTH row.
pub static COMMANDS: &[CommandSpec] = &[spec("health", -1, LOADING | STALE, Keys::None, health)
    .doc(
        "server",
        "7.0.0",
        "Returns the server's health: overall status and each component's value, threshold and reason.",
        "[component | HISTORY [minutes] | HELP]",
    )
    .complexity("O(N) where N is the number of connected clients")];
