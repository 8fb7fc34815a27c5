//! Pub/sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, the sharded SSUBSCRIBE,
//! SUNSUBSCRIBE, SPUBLISH, and PUBSUB. Delivery and the
//! subscriber registry live in `server::pubsub`.

use super::ctx::Ctx;
use super::flags::*;
use super::keyspace::help_reply;
use super::{container, spec, CommandSpec, Keys};
use crate::engine::client::Session;
use crate::engine::pubsub::Space;
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
    client.info.ssubs.store(client.shard_channels.len(), Ordering::Relaxed);
}

/// The client's set of names in `space`.
fn names_of(client: &mut Session, space: Space) -> &mut std::collections::HashSet<Bytes> {
    match space {
        Space::Channel => &mut client.channels,
        Space::Pattern => &mut client.patterns,
        Space::Shard => &mut client.shard_channels,
    }
}

/// The count a (un)subscribe confirmation carries: shard channels count apart, as in Redis 7.0.
fn count_for(client: &Session, space: Space) -> usize {
    match space {
        Space::Shard => client.shard_channels.len(),
        _ => client.channels.len() + client.patterns.len(),
    }
}

fn subscribe_generic(ctx: &mut Ctx<'_>, args: &[Bytes], space: Space) -> CmdResult<Reply> {
    let kind = match space {
        Space::Channel => "subscribe",
        Space::Pattern => "psubscribe",
        Space::Shard => "ssubscribe",
    };
    if ctx.caller != super::ctx::Caller::Client {
        return Err(CmdError::err(format!("{} isn't allowed for a DENY BLOCKING client", kind.to_ascii_uppercase())));
    }
    let info = ctx.client.info.clone();
    let mut out = Vec::with_capacity(args.len() - 1);
    for ch in &args[1..] {
        let ch = Bytes::copy_from_slice(ch);
        if names_of(ctx.client, space).insert(ch.clone()) {
            ctx.srv.pubsub.subscribe(&info, &ch, space);
        }
        out.push(confirm(kind, Some(ch), count_for(ctx.client, space)));
    }
    sync_counts(ctx.client);
    Ok(Reply::Sequence(out))
}

fn unsubscribe_generic(ctx: &mut Ctx<'_>, args: &[Bytes], space: Space) -> CmdResult<Reply> {
    let kind = match space {
        Space::Channel => "unsubscribe",
        Space::Pattern => "punsubscribe",
        Space::Shard => "sunsubscribe",
    };
    let names: Vec<Bytes> = if args.len() > 1 {
        args[1..].iter().map(|a| Bytes::copy_from_slice(a)).collect()
    } else {
        names_of(ctx.client, space).iter().cloned().collect()
    };
    if names.is_empty() {
        return Ok(Reply::Sequence(vec![confirm(kind, None, count_for(ctx.client, space))]));
    }
    let id = ctx.client.info.id;
    let mut out = Vec::with_capacity(names.len());
    for ch in names {
        if names_of(ctx.client, space).remove(&ch) {
            ctx.srv.pubsub.unsubscribe(id, &ch, space);
        }
        out.push(confirm(kind, Some(ch), count_for(ctx.client, space)));
    }
    sync_counts(ctx.client);
    Ok(Reply::Sequence(out))
}

/// Drops every subscription of a closing client.
pub fn unsubscribe_all(srv: &Server, client: &mut Session) {
    let id = client.info.id;
    for space in [Space::Channel, Space::Pattern, Space::Shard] {
        for ch in names_of(client, space).drain().collect::<Vec<_>>() {
            srv.pubsub.unsubscribe(id, &ch, space);
        }
    }
}

fn subscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    subscribe_generic(ctx, args, Space::Channel)
}
fn psubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    subscribe_generic(ctx, args, Space::Pattern)
}
fn ssubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    subscribe_generic(ctx, args, Space::Shard)
}
fn unsubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    unsubscribe_generic(ctx, args, Space::Channel)
}
fn punsubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    unsubscribe_generic(ctx, args, Space::Pattern)
}
fn sunsubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    unsubscribe_generic(ctx, args, Space::Shard)
}

fn publish(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(ctx.srv.pubsub.publish(&args[1], &args[2]) as i64))
}

fn spublish(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(ctx.srv.pubsub.spublish(&args[1], &args[2]) as i64))
}

fn names_reply(ctx: &Ctx<'_>, args: &[Bytes], space: Space) -> Reply {
    let names = ctx.srv.pubsub.channel_names(space, args.get(2).map(|p| &p[..]));
    Reply::Array(names.into_iter().map(Reply::Bulk).collect())
}

fn numsub_reply(ctx: &Ctx<'_>, args: &[Bytes], space: Space) -> Reply {
    // A flat array in both protocols, as Redis sends it.
    let ps = &ctx.srv.pubsub;
    Reply::Array(
        args[2..].iter().flat_map(|c| [Reply::Bulk(c.clone()), Reply::Int(ps.numsub(space, c) as i64)]).collect(),
    )
}

fn pubsub_channels(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    Ok(names_reply(ctx, args, Space::Channel))
}

fn pubsub_shardchannels(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    Ok(names_reply(ctx, args, Space::Shard))
}

fn pubsub_numsub(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    Ok(numsub_reply(ctx, args, Space::Channel))
}

fn pubsub_shardnumsub(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    Ok(numsub_reply(ctx, args, Space::Shard))
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
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
    ]))
}

const G: &str = "pubsub";
const PS: u32 = PUBSUB | NOSCRIPT | LOADING | STALE;

static PUBSUB_SUBS: &[CommandSpec] = &[
    spec("channels", -2, PS, Keys::None, pubsub_channels).doc(G, "2.8.0", "Returns the active channels.", "[pattern]").complexity("O(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)"),
    spec("numsub", -2, PS, Keys::None, pubsub_numsub).doc(G, "2.8.0", "Returns a count of subscribers to channels.", "[channel [channel ...]]").complexity("O(N) for the NUMSUB subcommand, where N is the number of requested channels"),
    spec("numpat", 2, PS, Keys::None, pubsub_numpat).doc(G, "2.8.0", "Returns a count of unique pattern subscriptions.", "").complexity("O(1)"),
    spec("shardchannels", -2, PS, Keys::None, pubsub_shardchannels).doc(G, "7.0.0", "Returns the active shard channels.", "[pattern]").complexity("O(N) where N is the number of active shard channels, and assuming constant time pattern matching (relatively short shard channels)."),
    spec("shardnumsub", -2, PS, Keys::None, pubsub_shardnumsub).doc(G, "7.0.0", "Returns the count of subscribers of shard channels.", "[shardchannel [shardchannel ...]]").complexity("O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels"),
    spec("help", 2, LOADING | STALE, Keys::None, pubsub_help).doc(G, "6.2.0", "Returns helpful text about the different subcommands.", "").complexity("O(1)"),
];

/// The pub/sub family's rows.
pub static COMMANDS: &[CommandSpec] = &[
    spec("subscribe", -2, PS | SUBSCRIBER_OK, Keys::None, subscribe).doc(G, "2.0.0", "Listens for messages published to channels.", "channel [channel ...]").complexity("O(N) where N is the number of channels to subscribe to."),
    spec("unsubscribe", -1, PS | SUBSCRIBER_OK, Keys::None, unsubscribe).doc(G, "2.0.0", "Stops listening to messages posted to channels.", "[channel [channel ...]]").complexity("O(N) where N is the number of channels to unsubscribe."),
    spec("psubscribe", -2, PS | SUBSCRIBER_OK, Keys::None, psubscribe).doc(G, "2.0.0", "Listens for messages published to channels that match one or more patterns.", "pattern [pattern ...]").complexity("O(N) where N is the number of patterns to subscribe to."),
    spec("punsubscribe", -1, PS | SUBSCRIBER_OK, Keys::None, punsubscribe).doc(G, "2.0.0", "Stops listening to messages published to channels that match one or more patterns.", "[pattern [pattern ...]]").complexity("O(N) where N is the number of patterns to unsubscribe."),
    spec("publish", 3, PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE, Keys::None, publish).doc(G, "2.0.0", "Posts a message to a channel.", "channel message").complexity("O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client)."),
    // Shard channels name no keys here: Redis declares them as not-key key specs for cluster routing only.
    spec("ssubscribe", -2, PS | SUBSCRIBER_OK, Keys::None, ssubscribe).channels(Keys::range(1, -1, 1)).doc(G, "7.0.0", "Listens for messages published to shard channels.", "shardchannel [shardchannel ...]").complexity("O(N) where N is the number of shard channels to subscribe to."),
    spec("sunsubscribe", -1, PS | SUBSCRIBER_OK, Keys::None, sunsubscribe).channels(Keys::range(1, -1, 1)).doc(G, "7.0.0", "Stops listening to messages posted to shard channels.", "[shardchannel [shardchannel ...]]").complexity("O(N) where N is the number of shard channels to unsubscribe."),
    spec("spublish", 3, PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE, Keys::None, spublish).channels(Keys::one(1)).doc(G, "7.0.0", "Post a message to a shard channel", "shardchannel message").complexity("O(N) where N is the number of clients subscribed to the receiving shard channel."),
    container("pubsub", PUBSUB_SUBS).doc(G, "2.8.0", "A container for Pub/Sub commands.", ""),
];
