//! BACKUP: CREATE [FULL|INCREMENTAL], LIST, INFO, VERIFY, RESTORE [AT unix-ms], DELETE, STATUS. The work is
//! `engine/backup.rs`'s; the files are `persist/backup.rs`'s.

use super::args::is;
use super::ctx::Ctx;
use super::flags::*;
use super::keyspace::help_reply;
use super::{container, spec, CommandSpec, Keys};
use crate::error::{self, CmdError, CmdResult};
use crate::persist::backup::{Kind, Manifest};
use crate::protocol::Reply;
use bytes::Bytes;
use std::sync::atomic::Ordering::Relaxed;

fn id_arg(args: &[Bytes]) -> String {
    String::from_utf8_lossy(&args[2]).into_owned()
}

fn failed(e: String) -> CmdError {
    CmdError::err(e.replace(['\r', '\n'], " "))
}

fn text(s: &str) -> Reply {
    Reply::Bulk(Bytes::copy_from_slice(s.as_bytes()))
}

fn field(name: &'static str, v: Reply) -> (Reply, Reply) {
    (Reply::Simple(name), v)
}

fn describe(m: &Manifest) -> Reply {
    Reply::Map(vec![
        field("id", text(&m.id)),
        field("type", Reply::Simple(m.kind.name())),
        field("parent", m.parent.as_deref().map_or(Reply::Nil, text)),
        field("created", Reply::Int(m.created_ms as i64)),
        field("keys", Reply::Int(m.keys as i64)),
        field("bytes", Reply::Int(m.bytes as i64)),
        field("checksum", text(&m.checksum)),
        field("start-offset", Reply::Int(m.start_offset as i64)),
        field("end-offset", Reply::Int(m.end_offset as i64)),
        field("last-write-time", Reply::Int(m.last_ms as i64)),
        field("status", Reply::Simple("complete")),
    ])
}

fn backup_create(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let kind = match args.get(2) {
        None => Kind::Full,
        Some(a) if args.len() == 3 && is(a, "FULL") => Kind::Full,
        Some(a) if args.len() == 3 && is(a, "INCREMENTAL") => Kind::Incremental,
        Some(_) => return Err(error::SYNTAX),
    };
    let m = ctx.srv.backup_create(kind).map_err(failed)?;
    ctx.srv.apply_backup_retention();
    Ok(text(&m.id))
}

fn backup_list(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    let all = ctx.srv.backup_store().and_then(|s| s.list()).map_err(failed)?;
    Ok(Reply::Array(all.iter().map(|m| text(&m.id)).collect()))
}

fn backup_info(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let m = ctx.srv.backup_store().and_then(|s| s.manifest(&id_arg(args))).map_err(failed)?;
    Ok(describe(&m))
}

fn backup_verify(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    ctx.srv.backup_verify(&id_arg(args)).map_err(failed)?;
    Ok(Reply::OK)
}

fn backup_restore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let at = match args.get(3) {
        None => None,
        Some(a) if args.len() == 5 && is(a, "AT") => {
            let t = crate::util::num::parse_i64(&args[4]).filter(|&t| t >= 0).ok_or(error::NOT_INTEGER)?;
            Some(t as u64)
        }
        Some(_) => return Err(error::SYNTAX),
    };
    ctx.srv.backup_restore(&id_arg(args), at).map_err(failed)?;
    Ok(Reply::OK)
}

fn backup_delete(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    ctx.srv.backup_store().and_then(|s| s.delete(&id_arg(args))).map_err(failed)?;
    Ok(Reply::OK)
}

fn backup_status(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    let store = ctx.srv.backup_store().map_err(failed)?;
    let count = store.list().map(|l| l.len() as i64).unwrap_or(-1);
    let b = &ctx.srv.backups;
    Ok(Reply::Map(vec![
        field("storage", text(&store.location())),
        field("backups", Reply::Int(count)),
        field("in-progress", Reply::Int(i64::from(b.running.load(Relaxed)))),
        field("successes", Reply::Int(b.successes.load(Relaxed) as i64)),
        field("failures", Reply::Int(b.failures.load(Relaxed) as i64)),
        field("last-success-time", Reply::Int(b.last_success_ms.load(Relaxed) as i64)),
        field("last-error", text(&b.last_error.lock())),
    ]))
}

fn backup_help(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    Ok(help_reply(&[
        "BACKUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CREATE [FULL|INCREMENTAL]",
        "    Take a backup (INCREMENTAL: the change log's writes since the newest backup); returns its id.",
        "LIST",
        "    Ids of the complete backups, oldest first.",
        "INFO <id>",
        "    Type, parent, creation time, keys, bytes, checksum and offsets of a backup.",
        "VERIFY <id>",
        "    Re-read every block and checksum of the backup and the backups it depends on.",
        "RESTORE <id> [AT <unix-time-milliseconds>]",
        "    Replace the dataset with the backup's, or with the dataset at that moment.",
        "DELETE <id>",
        "    Delete a backup no other backup depends on.",
        "STATUS",
        "    Successes, failures, the last success time and the last error.",
    ]))
}

const G: &str = "server";
const B: u32 = ADMIN | NOSCRIPT | NO_MULTI;

static BACKUP_SUBS: &[CommandSpec] = &[
    spec("create", -2, B, Keys::None, backup_create)
        .doc(G, "7.0.0", "Takes a full or incremental backup.", "[FULL|INCREMENTAL]")
        .complexity("O(N) where N is the number of keys (FULL) or of writes since the last backup (INCREMENTAL)"),
    spec("delete", 3, B, Keys::None, backup_delete)
        .doc(G, "7.0.0", "Deletes a backup no other backup depends on.", "id")
        .complexity("O(1)"),
    spec("help", 2, LOADING | STALE, Keys::None, backup_help)
        .doc(G, "7.0.0", "Returns helpful text about the different subcommands.", "")
        .complexity("O(1)"),
    spec("info", 3, B, Keys::None, backup_info).doc(G, "7.0.0", "Describes a backup.", "id").complexity("O(1)"),
    spec("list", 2, B, Keys::None, backup_list)
        .doc(G, "7.0.0", "Lists the complete backups.", "")
        .complexity("O(N) where N is the number of backups"),
    spec("restore", -3, B, Keys::None, backup_restore)
        .doc(G, "7.0.0", "Restores a backup, or the dataset at a moment after it.", "id [AT unix-time-milliseconds]")
        .complexity("O(N) where N is the number of keys and writes restored"),
    spec("status", 2, B, Keys::None, backup_status)
        .doc(G, "7.0.0", "Shows backup successes, failures and the last error.", "")
        .complexity("O(N) where N is the number of backups"),
    spec("verify", 3, B, Keys::None, backup_verify)
        .doc(G, "7.0.0", "Verifies every block and checksum of a backup's chain.", "id")
        .complexity("O(N) where N is the size of the backup's chain"),
];

/// The BACKUP row.
pub static COMMANDS: &[CommandSpec] =
    &[container("backup", BACKUP_SUBS).doc(G, "7.0.0", "A container for backup commands.", "")];
