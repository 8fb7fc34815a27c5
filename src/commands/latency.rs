//! LATENCY LATEST/HISTORY/GRAPH/DOCTOR/RESET over `engine/latency_monitor.rs`'s event series, and LATENCY
//! HISTOGRAM over the per-command histograms of INFO latencystats.

use super::ctx::Ctx;
use super::flags::*;
use super::keyspace::help_reply;
use super::{container, spec, CommandSpec, Keys};
use crate::engine::latency_monitor::{doctor, graph};
use crate::error::{CmdError, CmdResult};
use crate::protocol::Reply;
use bytes::Bytes;
use std::sync::atomic::Ordering::Relaxed;

fn now_secs() -> u64 {
    crate::util::clock::unix_ms() / 1000
}

fn latency_latest(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    let events = ctx.srv.latency_monitor.all();
    Ok(Reply::Array(
        events
            .into_iter()
            .map(|(name, s)| {
                let last = s.latest();
                Reply::Array(vec![
                    Reply::bulk_static(name),
                    Reply::Int(last.unix_secs as i64),
                    Reply::Int(last.ms as i64),
                    Reply::Int(s.max_ms as i64),
                ])
            })
            .collect(),
    ))
}

fn latency_history(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let Some(series) = ctx.srv.latency_monitor.get(&args[2]) else { return Ok(Reply::Array(Vec::new())) };
    Ok(Reply::Array(
        series.samples().map(|s| Reply::Array(vec![Reply::Int(s.unix_secs as i64), Reply::Int(s.ms as i64)])).collect(),
    ))
}

fn latency_graph(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let event = String::from_utf8_lossy(&args[2]).into_owned();
    let Some(series) = ctx.srv.latency_monitor.get(&args[2]) else {
        return Err(CmdError::err(format!("No samples available for event '{event}'")));
    };
    Ok(Reply::Verbatim("txt", Bytes::from(graph(&event, &series, now_secs()))))
}

fn latency_doctor(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    let srv = ctx.srv;
    let report = doctor(
        &srv.latency_monitor.all(),
        srv.hot.latency_threshold_ms.load(Relaxed),
        srv.hot.slowlog_slower_than.load(Relaxed),
        now_secs(),
    );
    Ok(Reply::Verbatim("txt", Bytes::from(report)))
}

fn latency_reset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let events: Vec<&[u8]> = args[2..].iter().map(|a| &a[..]).collect();
    Ok(Reply::Int(ctx.srv.latency_monitor.reset(&events) as i64))
}

/// One command's cumulative distribution as Redis 7 replies it: `calls`, then `histogram_usec`, a map from
/// power-of-two microsecond bounds to the number of calls at or under each (only bounds where the count grew).
fn command_cdf(h: &hdrhistogram::Histogram<u64>) -> Reply {
    let mut buckets = Vec::new();
    let mut cumulative = 0u64;
    for v in h.iter_log(1024, 2.0) {
        let before = cumulative;
        cumulative += v.count_since_last_iteration();
        if cumulative > before {
            let micros = h.highest_equivalent(v.value_iterated_to()) / 1000;
            buckets.push((Reply::Int(micros as i64), Reply::Int(cumulative as i64)));
        }
    }
    Reply::Map(vec![
        (Reply::bulk_static("calls"), Reply::Int(h.len() as i64)),
        (Reply::bulk_static("histogram_usec"), Reply::Map(buckets)),
    ])
}

fn latency_histogram(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let srv = ctx.srv;
    let table = srv.table;
    let mut wanted: Vec<&crate::engine::table::Command> = Vec::new();
    if args.len() == 2 {
        wanted.extend(table.commands.iter());
    } else {
        for a in &args[2..] {
            let Some(cmd) = table.by_full_name(a) else { continue };
            wanted.push(cmd);
            wanted.extend(cmd.subs.iter().filter_map(|&i| table.commands.get(i)));
        }
    }
    let mut out = Vec::new();
    for cmd in wanted {
        if let Some(h) = srv.stats_of(cmd).latency() {
            out.push((Reply::bulk_string(cmd.full_name.clone()), command_cdf(&h)));
        }
    }
    Ok(Reply::Map(out))
}

fn latency_help(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    Ok(help_reply(&[
        "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "GRAPH <event>",
        "    Return an ASCII latency graph for the <event> class.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HISTOGRAM [COMMAND ...]",
        "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
        "    If no commands are specified then all histograms are replied.",
    ]))
}

const G: &str = "server";
const A: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

static LATENCY_SUBS: &[CommandSpec] = &[
    spec("doctor", 2, A, Keys::None, latency_doctor)
        .tips(&["nondeterministic_output", "request_policy:all_nodes", "response_policy:special"])
        .doc(G, "2.8.13", "Returns a human-readable latency analysis report.", "")
        .complexity("O(1)"),
    spec("graph", 3, A, Keys::None, latency_graph)
        .tips(&["nondeterministic_output", "request_policy:all_nodes", "response_policy:special"])
        .doc(G, "2.8.13", "Returns a latency graph for an event.", "event")
        .complexity("O(1)"),
    spec("help", 2, LOADING | STALE, Keys::None, latency_help)
        .doc(G, "2.8.13", "Returns helpful text about the different subcommands.", "")
        .complexity("O(1)"),
    spec("histogram", -2, A, Keys::None, latency_histogram)
        .tips(&["nondeterministic_output", "request_policy:all_nodes", "response_policy:special"])
        .doc(
            G,
            "7.0.0",
            "Returns the cumulative distribution of latencies of a subset or all commands.",
            "[command [command ...]]",
        )
        .complexity("O(N) where N is the number of commands with latency information being retrieved."),
    spec("history", 3, A, Keys::None, latency_history)
        .tips(&["nondeterministic_output", "request_policy:all_nodes", "response_policy:special"])
        .doc(G, "2.8.13", "Returns timestamp-latency samples for an event.", "event")
        .complexity("O(1)"),
    spec("latest", 2, A, Keys::None, latency_latest)
        .tips(&["nondeterministic_output", "request_policy:all_nodes", "response_policy:special"])
        .doc(G, "2.8.13", "Returns the latest latency samples for all events.", "")
        .complexity("O(1)"),
    spec("reset", -2, A, Keys::None, latency_reset)
        .tips(&["request_policy:all_nodes", "response_policy:all_succeeded"])
        .doc(G, "2.8.13", "Resets the latency data for one or more events.", "[event [event ...]]")
        .complexity("O(1)"),
];

/// The LATENCY row.
pub static COMMANDS: &[CommandSpec] =
    &[container("latency", LATENCY_SUBS).doc(G, "2.8.13", "A container for latency diagnostics commands.", "")];
