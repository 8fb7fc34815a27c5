//! Pub/sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, PUBSUB. Delivery and the
//! subscriber registry live in `server::pubsub`.

use super::ctx::Ctx;
use super::flags::*;
use super::keyspace::help_reply;
use super::{container, spec, CommandSpec, Keys};
use crate::engine::client::Session;
use crate::engine::state::Server;
use crate::error::{CmdError, CmdResult};
use crate::protocol::Reply;
use bytes::Bytes;
use std::sync::atomic::Ordering;

fn confirm(kind: &'static str, channel: Option<Bytes>, count: usize) -> Reply {
    Reply::Push(vec![Reply::bulk_static(kind), channel.map_or(Reply::Nil, Reply::Bulk), Reply::Int(count as i64)])
}

fn sync_counts(client: &Session) {
    client.info.subs.store(client.channels.len(), Ordering::Relaxed);
    client.info.psubs.store(client.patterns.len(), Ordering::Relaxed);
}

fn subscribe_generic(ctx: &mut Ctx<'_>, args: &[Bytes], pattern: bool) -> CmdResult<Reply> {
    if ctx.caller != super::ctx::Caller::Client {
        let name = if pattern { "PSUBSCRIBE" } else { "SUBSCRIBE" };
        return Err(CmdError::err(format!("{name} isn't allowed for a DENY BLOCKING client")));
    }
    let info = ctx.client.info.clone();
    let mut out = Vec::with_capacity(args.len() - 1);
    for ch in &args[1..] {
        let ch = Bytes::copy_from_slice(ch);
        let set = if pattern { &mut ctx.client.patterns } else { &mut ctx.client.channels };
        if set.insert(ch.clone()) {
            ctx.srv.pubsub.subscribe(&info, &ch, pattern);
        }
        out.push(confirm(if pattern { "psubscribe" } else { "subscribe" }, Some(ch), ctx.client.subscriptions()));
    }
    sync_counts(ctx.client);
    Ok(Reply::Sequence(out))
}

fn unsubscribe_generic(ctx: &mut Ctx<'_>, args: &[Bytes], pattern: bool) -> CmdResult<Reply> {
    let kind = if pattern { "punsubscribe" } else { "unsubscribe" };
    let names: Vec<Bytes> = if args.len() > 1 {
        args[1..].iter().map(|a| Bytes::copy_from_slice(a)).collect()
    } else if pattern {
        ctx.client.patterns.iter().cloned().collect()
    } else {
        ctx.client.channels.iter().cloned().collect()
    };
    if names.is_empty() {
        return Ok(Reply::Sequence(vec![confirm(kind, None, ctx.client.subscriptions())]));
    }
    let id = ctx.client.info.id;
    let mut out = Vec::with_capacity(names.len());
    for ch in names {
        let set = if pattern { &mut ctx.client.patterns } else { &mut ctx.client.channels };
        if set.remove(&ch) {
            ctx.srv.pubsub.unsubscribe(id, &ch, pattern);
        }
        out.push(confirm(kind, Some(ch), ctx.client.subscriptions()));
    }
    sync_counts(ctx.client);
    Ok(Reply::Sequence(out))
}

/// Drops every subscription of a closing client.
pub fn unsubscribe_all(srv: &Server, client: &mut Session) {
    let id = client.info.id;
    for ch in client.channels.drain() {
        srv.pubsub.unsubscribe(id, &ch, false);
    }
    for p in client.patterns.drain() {
        srv.pubsub.unsubscribe(id, &p, true);
    }
}

fn subscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    subscribe_generic(ctx, args, false)
}
fn psubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    subscribe_generic(ctx, args, true)
}
fn unsubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    unsubscribe_generic(ctx, args, false)
}
fn punsubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    unsubscribe_generic(ctx, args, true)
}

fn publish(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(ctx.srv.pubsub.publish(&args[1], &args[2]) as i64))
}

fn pubsub_channels(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let names = ctx.srv.pubsub.channel_names(args.get(2).map(|p| &p[..]));
    Ok(Reply::Array(names.into_iter().map(Reply::Bulk).collect()))
}

fn pubsub_numsub(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    // A flat array in both protocols, as Redis sends it.
    let items = args[2..].iter().flat_map(|c| [Reply::Bulk(c.clone()), Reply::Int(ctx.srv.pubsub.numsub(c) as i64)]);
    Ok(Reply::Array(items.collect()))
}

fn pubsub_numpat(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(ctx.srv.pubsub.numpat() as i64))
}

fn pubsub_help(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    Ok(help_reply(&[
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
    ]))
}

const G: &str = "pubsub";
const PS: u32 = PUBSUB | NOSCRIPT | LOADING | STALE;

static PUBSUB_SUBS: &[CommandSpec] = &[
    spec("channels", -2, PS, Keys::None, pubsub_channels).doc(G, "2.8.0", "Returns the active channels.", "[pattern]").complexity("O(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)"),
    spec("numsub", -2, PS, Keys::None, pubsub_numsub).doc(G, "2.8.0", "Returns a count of subscribers to channels.", "[channel [channel ...]]").complexity("O(N) for the NUMSUB subcommand, where N is the number of requested channels"),
    spec("numpat", 2, PS, Keys::None, pubsub_numpat).doc(G, "2.8.0", "Returns a count of unique pattern subscriptions.", "").complexity("O(1)"),
    spec("help", 2, LOADING | STALE, Keys::None, pubsub_help).doc(G, "6.2.0", "Returns helpful text about the different subcommands.", "").complexity("O(1)"),
];

/// The pub/sub family's rows.
pub static COMMANDS: &[CommandSpec] = &[
    spec("subscribe", -2, PS | SUBSCRIBER_OK, Keys::None, subscribe).doc(G, "2.0.0", "Listens for messages published to channels.", "channel [channel ...]").complexity("O(N) where N is the number of channels to subscribe to."),
    spec("unsubscribe", -1, PS | SUBSCRIBER_OK, Keys::None, unsubscribe).doc(G, "2.0.0", "Stops listening to messages posted to channels.", "[channel [channel ...]]").complexity("O(N) where N is the number of channels to unsubscribe."),
    spec("psubscribe", -2, PS | SUBSCRIBER_OK, Keys::None, psubscribe).doc(G, "2.0.0", "Listens for messages published to channels that match one or more patterns.", "pattern [pattern ...]").complexity("O(N) where N is the number of patterns to subscribe to."),
    spec("punsubscribe", -1, PS | SUBSCRIBER_OK, Keys::None, punsubscribe).doc(G, "2.0.0", "Stops listening to messages published to channels that match one or more patterns.", "[pattern [pattern ...]]").complexity("O(N) where N is the number of patterns to unsubscribe."),
    spec("publish", 3, PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE, Keys::None, publish).doc(G, "2.0.0", "Posts a message to a channel.", "channel message").complexity("O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client)."),
    container("pubsub", PUBSUB_SUBS).doc(G, "2.8.0", "A container for Pub/Sub commands.", ""),
];
