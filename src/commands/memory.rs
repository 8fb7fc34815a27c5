//! MEMORY USAGE / STATS / DOCTOR / PURGE / MALLOC-STATS. Figures come from the allocator (`memory.rs`) and from
//! per-value estimates rounded to the allocator's size classes.

use super::args::{int, is};
use super::ctx::Ctx;
use super::flags::*;
use super::keyspace::help_reply;
use super::{container, spec, CommandSpec, Keys};
use crate::error::{self, CmdResult};
use crate::memory::size_class;
use crate::protocol::Reply;
use crate::store::compact::Key;
use crate::store::dict::Slot;
use crate::store::{Entry, StrValue, Value};
use bytes::Bytes;
use std::sync::atomic::Ordering;

/// Bytes one key costs: its share of the table (`table_share`: the slab and index capacity over the keys in
/// the shard), the key's allocation and the value's.
pub fn key_cost(key: &[u8], e: &Entry, table_share: usize) -> usize {
    let slot = table_share.max(std::mem::size_of::<Option<Slot<Entry>>>());
    let key_bytes = if key.len() <= Key::INLINE { 0 } else { size_class(key.len()) };
    let value = match &e.value {
        Value::Str(StrValue::Int(_) | StrValue::Inline(_)) => 0,
        Value::Str(StrValue::Bytes(b)) => size_class(b.len()),
        Value::Str(StrValue::Raw(v)) => size_class(std::mem::size_of::<Vec<u8>>()) + size_class(v.capacity()),
        Value::Str(StrValue::Compressed(c)) => size_class(c.stored_len()),
        Value::Hash(h) => size_class(std::mem::size_of_val(&**h)) + h.heap_bytes(),
        Value::List(l) => 64 + l.iter().map(|x| size_class(x.len()) + 32).sum::<usize>(),
        Value::Set(s) => size_class(std::mem::size_of_val(&**s)) + s.heap_bytes(),
        Value::ZSet(z) => size_class(std::mem::size_of_val(&**z)) + z.heap_bytes(),
        Value::Stream(st) => st.heap_bytes(),
        Value::Ext(x) => x.heap_bytes(),
    };
    slot + key_bytes + value
}

fn memory_usage(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let mut j = 3;
    while j < args.len() {
        if is(&args[j], "SAMPLES") && j + 1 < args.len() {
            int(&args[j + 1])?;
            j += 2;
        } else {
            return Err(error::SYNTAX);
        }
    }
    let key = args[2].clone();
    let db = ctx.db();
    let shard = ctx.srv.keyspace.shard_of(crate::store::hash_key(&key));
    let (share, expiry_share) = ctx.with_shard(db, shard, |sh, _| {
        let d = &sh.data;
        (d.dict.overhead_bytes() / d.dict.len().max(1), d.expiry_overhead_bytes() / d.volatile_len().max(1))
    });
    // A key with a TTL also pays its share of the expiry side tables.
    let volatile = ctx.expire_of(&key).is_some_and(|at| at != 0);
    let share = share + if volatile { expiry_share } else { 0 };
    Ok(ctx.peek(&key).map_or(Reply::Nil, |e| Reply::Int(key_cost(&key, e, share) as i64)))
}

fn memory_stats(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    let srv = ctx.srv;
    let used = srv.refresh_used_memory();
    let peak = srv.note_memory_peak(used);
    let startup = srv.startup_memory;
    let clients = srv.clients.memory() as u64;
    let overhead = startup + clients;
    let mut keys = 0usize;
    let mut pairs = vec![
        (Reply::bulk_static("peak.allocated"), Reply::Int(peak as i64)),
        (Reply::bulk_static("total.allocated"), Reply::Int(used as i64)),
        (Reply::bulk_static("startup.allocated"), Reply::Int(startup as i64)),
        (Reply::bulk_static("replication.backlog"), Reply::Int(0)),
        (Reply::bulk_static("clients.slaves"), Reply::Int(0)),
        (Reply::bulk_static("clients.normal"), Reply::Int(clients as i64)),
        (Reply::bulk_static("cluster.links"), Reply::Int(0)),
        (Reply::bulk_static("aof.buffer"), Reply::Int(0)),
        (
            Reply::bulk_static("lua.caches"),
            Reply::Int(srv.scripts.usage.script_cache_bytes.load(Ordering::Relaxed) as i64),
        ),
        (Reply::bulk_static("functions.caches"), Reply::Int(srv.scripts.libraries.read().memory_bytes() as i64)),
    ];
    for db in 0..srv.keyspace.db_count() {
        let (k, _) = srv.keyspace.db_sizes(db);
        if k == 0 {
            continue;
        }
        keys += k;
        // The tables' own allocations (slots with their inline keys, index; expiry side tables), shard by shard.
        let (mut main, mut expires) = (0, 0);
        for shard in 0..srv.keyspace.shard_count() {
            let (m, e) =
                ctx.with_shard(db, shard, |sh, _| (sh.data.dict.overhead_bytes(), sh.data.expiry_overhead_bytes()));
            main += m;
            expires += e;
        }
        pairs.push((
            Reply::bulk_string(format!("db.{db}")),
            Reply::Map(vec![
                (Reply::bulk_static("overhead.hashtable.main"), Reply::Int(main as i64)),
                (Reply::bulk_static("overhead.hashtable.expires"), Reply::Int(expires as i64)),
            ]),
        ));
    }
    let dataset = used.saturating_sub(overhead);
    let (active, resident) = crate::memory::allocator_pages();
    let rss = crate::memory::rss_bytes();
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    pairs.extend([
        (Reply::bulk_static("overhead.total"), Reply::Int(overhead as i64)),
        (Reply::bulk_static("keys.count"), Reply::Int(keys as i64)),
        (Reply::bulk_static("keys.bytes-per-key"), Reply::Int(if keys == 0 { 0 } else { (used / keys as u64) as i64 })),
        (Reply::bulk_static("dataset.bytes"), Reply::Int(dataset as i64)),
        (Reply::bulk_static("dataset.percentage"), Reply::Double(ratio(dataset, used) * 100.0)),
        (Reply::bulk_static("peak.percentage"), Reply::Double(ratio(used, peak) * 100.0)),
        (Reply::bulk_static("allocator.allocated"), Reply::Int(used as i64)),
        (Reply::bulk_static("allocator.active"), Reply::Int(active as i64)),
        (Reply::bulk_static("allocator.resident"), Reply::Int(resident as i64)),
        (Reply::bulk_static("allocator-fragmentation.ratio"), Reply::Double(ratio(active, used))),
        (Reply::bulk_static("allocator-fragmentation.bytes"), Reply::Int(active.saturating_sub(used) as i64)),
        (Reply::bulk_static("allocator.rss-ratio"), Reply::Double(ratio(resident, active))),
        (Reply::bulk_static("allocator.rss-bytes"), Reply::Int(resident.saturating_sub(active) as i64)),
        (Reply::bulk_static("rss-overhead.ratio"), Reply::Double(ratio(rss, resident))),
        (Reply::bulk_static("rss-overhead.bytes"), Reply::Int(rss as i64 - resident as i64)),
        (Reply::bulk_static("fragmentation"), Reply::Double(ratio(rss, used))),
        (Reply::bulk_static("fragmentation.bytes"), Reply::Int(rss as i64 - used as i64)),
    ]);
    Ok(Reply::Map(pairs))
}

fn memory_doctor(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    let used = ctx.srv.refresh_used_memory();
    let rss = crate::memory::rss_bytes();
    let peak = ctx.srv.memory_peak.load(Ordering::Relaxed);
    let mut issues = Vec::new();
    if used < 5 * 1024 * 1024 {
        return Ok(Reply::bulk_static("Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting."));
    }
    if peak > used + used / 2 {
        issues.push(" * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.".to_string());
    }
    if rss > used + used / 2 && rss > used + 10 * 1024 * 1024 {
        issues.push(format!(" * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the Redis process is much larger than the sum of the logical allocations Redis performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc. Note: The currently used allocator is \"{}\".", crate::memory::ALLOCATOR));
    }
    if issues.is_empty() {
        return Ok(Reply::bulk_static(
            "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.",
        ));
    }
    Ok(Reply::bulk_string(format!(
        "Sam, I detected a few issues in this Redis instance memory implants:\n\n{}\n\nI'm here to keep you safe, Sam. I want to help you.\n",
        issues.join("\n\n")
    )))
}

fn memory_purge(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    crate::memory::purge();
    Ok(Reply::OK)
}

fn memory_malloc_stats(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    let used = ctx.srv.refresh_used_memory();
    let (active, resident) = crate::memory::allocator_pages();
    Ok(Reply::bulk_string(format!(
        "___ Begin jemalloc statistics ___\nAllocated: {used}, active: {active}, resident: {resident}\n--- End jemalloc statistics ---\n"
    )))
}

fn memory_help(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    Ok(help_reply(&[
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
    ]))
}

const G: &str = "server";

static MEMORY_SUBS: &[CommandSpec] = &[
    spec("usage", -3, READONLY, Keys::one(2), memory_usage)
        .key_flags(&["RO"])
        .doc(G, "4.0.0", "Estimates the memory usage of a key.", "key [SAMPLES count]")
        .complexity("O(N) where N is the number of samples."),
    spec("stats", 2, VISITS_ALL, Keys::None, memory_stats)
        .tips(&["nondeterministic_output", "request_policy:all_shards", "response_policy:special"])
        .doc(G, "4.0.0", "Returns details about memory usage.", "")
        .complexity("O(1)"),
    spec("doctor", 2, 0, Keys::None, memory_doctor)
        .tips(&["nondeterministic_output", "request_policy:all_shards", "response_policy:special"])
        .doc(G, "4.0.0", "Outputs a memory problems report.", "")
        .complexity("O(1)"),
    spec("purge", 2, 0, Keys::None, memory_purge)
        .tips(&["request_policy:all_shards", "response_policy:all_succeeded"])
        .doc(G, "4.0.0", "Asks the allocator to release memory.", "")
        .complexity("Depends on how much memory is allocated, could be slow"),
    spec("malloc-stats", 2, 0, Keys::None, memory_malloc_stats)
        .tips(&["nondeterministic_output", "request_policy:all_shards", "response_policy:special"])
        .doc(G, "4.0.0", "Returns the allocator statistics.", "")
        .complexity("Depends on how much memory is allocated, could be slow"),
    spec("help", 2, LOADING | STALE, Keys::None, memory_help)
        .doc(G, "4.0.0", "Returns helpful text about the different subcommands.", "")
        .complexity("O(1)"),
];

/// The memory family's rows.
pub static COMMANDS: &[CommandSpec] =
    &[container("memory", MEMORY_SUBS).doc(G, "4.0.0", "A container for memory diagnostics commands.", "")];
