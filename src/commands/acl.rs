//! The ACL container: SETUSER, GETUSER, DELUSER, LIST, USERS, WHOAMI, CAT, LOG, SAVE, LOAD, DRYRUN, GENPASS, HELP.
//!
//! The users, rules and checks themselves live in `crate::engine::acl`; these handlers parse arguments and shape replies.

use super::args::{int, is};
use super::ctx::Ctx;
use super::flags::*;
use super::keyspace::help_reply;
use super::{container, spec, CommandSpec, Keys, Lookup, TABLE};
use crate::engine::acl::{self, categories, Denied};
use crate::error::{self, CmdError, CmdResult};
use crate::protocol::Reply;
use bytes::Bytes;

/// Longest password ACL GENPASS makes, in bits.
const GENPASS_MAX_BITS: i64 = 4096;

fn acl_setuser(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    acl::setuser(ctx.srv, ctx.client, &args[2], &args[3..])?;
    Ok(Reply::OK)
}

fn acl_deluser(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(acl::deluser(ctx.srv, ctx.client, &args[2..])?))
}

/// One selector's fields in ACL GETUSER: commands, keys, channels.
fn selector_fields(s: &acl::user::Selector) -> Vec<(Reply, Reply)> {
    vec![
        (Reply::bulk_static("commands"), Reply::bulk_string(s.describe_commands())),
        (Reply::bulk_static("keys"), Reply::Bulk(Bytes::from(s.describe_keys()))),
        (Reply::bulk_static("channels"), Reply::Bulk(Bytes::from(s.describe_channels()))),
    ]
}

fn acl_getuser(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let Some(u) = ctx.srv.acl.user(&args[2]) else { return Ok(Reply::Nil) };
    let flags = u.flags().into_iter().map(Reply::bulk_static).collect();
    let passwords = u.passwords().iter().map(|p| Reply::bulk(p.as_bytes())).collect();
    let mut fields = vec![
        (Reply::bulk_static("flags"), Reply::Set(flags)),
        (Reply::bulk_static("passwords"), Reply::Array(passwords)),
    ];
    let (root, others) = u.selectors().split_first().map_or((None, &[][..]), |(r, o)| (Some(r), o));
    if let Some(root) = root {
        fields.extend(selector_fields(root));
    }
    let selectors = others.iter().map(|s| Reply::Map(selector_fields(s))).collect();
    fields.push((Reply::bulk_static("selectors"), Reply::Array(selectors)));
    Ok(Reply::Map(fields))
}

fn acl_list(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Array(ctx.srv.acl.users().iter().map(|u| Reply::Bulk(Bytes::from(u.acl_line()))).collect()))
}

fn acl_users(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Array(ctx.srv.acl.users().iter().map(|u| Reply::Bulk(u.name.clone())).collect()))
}

fn acl_whoami(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Bulk(ctx.client.acl.user.name.clone()))
}

fn acl_cat(_ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    match args.len() {
        2 => Ok(Reply::Array(categories::CATEGORIES.iter().map(|c| Reply::bulk_static(c)).collect())),
        3 => {
            let cat = categories::bit(&args[2]).ok_or_else(|| CmdError::acl_unknown_category(&args[2]))?;
            let names = TABLE.commands.iter().filter(|c| c.acl_categories & cat != 0);
            Ok(Reply::Array(names.map(|c| Reply::bulk(c.full_name.as_bytes())).collect()))
        }
        _ => Err(CmdError::subcommand_syntax(&args[1], "acl")),
    }
}

fn acl_log(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let count = match args.len() {
        2 => 10,
        3 if is(&args[2], "RESET") => {
            ctx.srv.acl.log_reset();
            return Ok(Reply::OK);
        }
        3 => int(&args[2])?.max(0),
        _ => return Err(CmdError::subcommand_syntax(&args[1], "acl")),
    };
    let now = crate::util::clock::unix_ms();
    let entries = ctx.srv.acl.log_entries(usize::try_from(count).unwrap_or(usize::MAX));
    Ok(Reply::Array(
        entries
            .into_iter()
            .map(|e| {
                let age = now.saturating_sub(e.ctime_ms) as f64 / 1000.0;
                Reply::Map(vec![
                    (Reply::bulk_static("count"), Reply::Int(e.count as i64)),
                    (Reply::bulk_static("reason"), Reply::bulk_static(e.reason.name())),
                    (Reply::bulk_static("context"), Reply::bulk_static(e.context.name())),
                    (Reply::bulk_static("object"), Reply::Bulk(e.object)),
                    (Reply::bulk_static("username"), Reply::Bulk(e.username)),
                    (Reply::bulk_static("age-seconds"), Reply::Double(age)),
                    (Reply::bulk_static("client-info"), Reply::bulk_string(e.client_info)),
                ])
            })
            .collect(),
    ))
}

fn acl_save(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    let path = acl::aclfile(ctx.srv).ok_or(error::ACL_NO_FILE)?;
    acl::save(ctx.srv, &path).map_err(|_| error::ACL_SAVE_FAILED)?;
    Ok(Reply::OK)
}

fn acl_load(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    let path = acl::aclfile(ctx.srv).ok_or(error::ACL_NO_FILE)?;
    acl::load(ctx.srv, Some(ctx.client), &path).map_err(CmdError::err)?;
    Ok(Reply::OK)
}

fn acl_dryrun(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let user = ctx.srv.acl.user(&args[2]).ok_or_else(|| CmdError::acl_no_such_user(&args[2]))?;
    let target = &args[3..];
    let Lookup::Found(cmd) = TABLE.lookup(target) else {
        return Err(CmdError::acl_no_such_command(&args[3]));
    };
    if !cmd.spec.arity_ok(target.len()) {
        return Err(CmdError::arity(&cmd.full_name));
    }
    Ok(match acl::perm::check(&user, cmd, target) {
        Ok(()) => Reply::OK,
        Err(Denied::Command) => Reply::bulk_string(error::acl_dryrun_command(&cmd.full_name)),
        Err(Denied::Key(p)) => Reply::Bulk(Bytes::from(error::acl_dryrun_key(target.get(p).map_or(&[][..], |a| a)))),
        Err(Denied::Channel(p)) => {
            Reply::Bulk(Bytes::from(error::acl_dryrun_channel(target.get(p).map_or(&[][..], |a| a))))
        }
    })
}

fn acl_genpass(_ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    use rand::Rng;
    let bits = match args.len() {
        2 => 256,
        3 => int(&args[2])?,
        _ => return Err(CmdError::subcommand_syntax(&args[1], "acl")),
    };
    if !(1..=GENPASS_MAX_BITS).contains(&bits) {
        return Err(error::ACL_GENPASS_BITS);
    }
    // thread_rng is a cryptographically secure generator, reseeded from the operating system.
    let mut rng = rand::thread_rng();
    let chars = (bits as usize).div_ceil(4);
    let pass: String = (0..chars).map(|_| char::from(b"0123456789abcdef"[rng.gen_range(0..16)])).collect();
    Ok(Reply::bulk_string(pass))
}

fn acl_help(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    Ok(help_reply(&[
        "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CAT [<category>]",
        "    List all commands that belong to <category>, or all command categories",
        "    when no category is specified.",
        "DELUSER <username> [<username> ...]",
        "    Delete a list of users.",
        "DRYRUN <username> <command> [<arg> ...]",
        "    Returns whether the user can execute the given command without executing the command.",
        "GETUSER <username>",
        "    Get the user's details.",
        "GENPASS [<bits>]",
        "    Generate a secure 256-bit user password. The optional `bits` argument can",
        "    be used to specify a different size.",
        "LIST",
        "    Show users details in config file format.",
        "LOAD",
        "    Reload users from the ACL file.",
        "LOG [<count> | RESET]",
        "    Show the ACL log entries.",
        "SAVE",
        "    Save the current config to the ACL file.",
        "SETUSER <username> <attribute> [<attribute> ...]",
        "    Create or modify a user with the specified attributes.",
        "USERS",
        "    List all the registered usernames.",
        "WHOAMI",
        "    Return the current connection username.",
    ]))
}

const G: &str = "server";
const F: u32 = NOSCRIPT | LOADING | STALE;
const ADM: u32 = ADMIN | NOSCRIPT | LOADING | STALE;
const USERS_N: &str = "O(N). Where N is the number of configured users.";

static ACL_SUBS: &[CommandSpec] = &[
    spec("cat", -2, F, Keys::None, acl_cat)
        .doc(G, "6.0.0", "List the ACL categories or the commands inside a category", "[categoryname]")
        .complexity("O(1) since the categories and commands are a fixed set."),
    spec("deluser", -3, ADM, Keys::None, acl_deluser)
        .doc(G, "6.0.0", "Remove the specified ACL users and the associated rules", "username [username ...]")
        .complexity("O(1) amortized time considering the typical user."),
    spec("dryrun", -4, ADM, Keys::None, acl_dryrun)
        .doc(
            G,
            "7.0.0",
            "Returns whether the user can execute the given command without executing the command.",
            "username command [arg [arg ...]]",
        )
        .complexity("O(1)."),
    spec("genpass", -2, F, Keys::None, acl_genpass)
        .doc(G, "6.0.0", "Generate a pseudorandom secure password to use for ACL users", "[bits:integer]")
        .complexity("O(1)"),
    spec("getuser", 3, ADM, Keys::None, acl_getuser)
        .doc(G, "6.0.0", "Get the rules for a specific ACL user", "username")
        .complexity("O(N). Where N is the number of password, command and pattern rules that the user has."),
    spec("help", 2, LOADING | STALE, Keys::None, acl_help)
        .doc(G, "6.0.0", "Show helpful text about the different subcommands", "")
        .complexity("O(1)"),
    spec("list", 2, ADM, Keys::None, acl_list)
        .doc(G, "6.0.0", "List the current ACL rules in ACL config file format", "")
        .complexity(USERS_N),
    spec("load", 2, ADM, Keys::None, acl_load)
        .doc(G, "6.0.0", "Reload the ACLs from the configured ACL file", "")
        .complexity(USERS_N),
    spec("log", -2, ADM, Keys::None, acl_log)
        .doc(G, "6.0.0", "List latest events denied because of ACLs in place", "[operation=count:integer | RESET]")
        .complexity("O(N) with N being the number of entries shown."),
    spec("save", 2, ADM, Keys::None, acl_save)
        .doc(G, "6.0.0", "Save the current ACL rules in the configured ACL file", "")
        .complexity(USERS_N),
    spec("setuser", -3, ADM, Keys::None, acl_setuser)
        .doc(G, "6.0.0", "Modify or create the rules for a specific ACL user", "username [rule [rule ...]]")
        .complexity("O(N). Where N is the number of rules provided."),
    spec("users", 2, ADM, Keys::None, acl_users)
        .doc(G, "6.0.0", "List the username of all the configured ACL rules", "")
        .complexity(USERS_N),
    spec("whoami", 2, F, Keys::None, acl_whoami)
        .doc(G, "6.0.0", "Return the name of the user associated to the current connection", "")
        .complexity("O(1)"),
];

/// The ACL family's rows.
pub static COMMANDS: &[CommandSpec] = &[container("acl", ACL_SUBS)
    .doc(G, "6.0.0", "A container for Access List Control commands ", "")
    .complexity("Depends on subcommand.")];
