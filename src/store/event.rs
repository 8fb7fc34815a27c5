//! The vocabulary of keyspace changes: the notification classes (`notify-keyspace-events`) and the typed
//! [`Event`] each change reports, with its name and class. It lives in the store because the change path produces
//! these events; the engine publishes them and the config registry parses the setting, and neither has to import
//! the other for it.

pub const KEYSPACE: u32 = 1 << 0; // K
pub const KEYEVENT: u32 = 1 << 1; // E
pub const GENERIC: u32 = 1 << 2; // g
pub const STRING: u32 = 1 << 3; // $
pub const LIST: u32 = 1 << 4; // l
pub const SET: u32 = 1 << 5; // s
pub const HASH: u32 = 1 << 6; // h
pub const ZSET: u32 = 1 << 7; // z
pub const EXPIRED: u32 = 1 << 8; // x
pub const EVICTED: u32 = 1 << 9; // e
pub const STREAM: u32 = 1 << 10; // t
pub const KEY_MISS: u32 = 1 << 11; // m
pub const MODULE: u32 = 1 << 12; // d
pub const NEW: u32 = 1 << 13; // n
/// `A`: every class except m and n.
pub const ALL: u32 = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// Parses a `notify-keyspace-events` value.
///
/// # Errors
/// Redis's text for an unknown class character.
pub fn parse_flags(s: &str) -> Result<u32, String> {
    let mut f = 0;
    for c in s.chars() {
        f |= match c {
            'A' => ALL,
            'g' => GENERIC,
            '$' => STRING,
            'l' => LIST,
            's' => SET,
            'h' => HASH,
            'z' => ZSET,
            'x' => EXPIRED,
            'e' => EVICTED,
            'K' => KEYSPACE,
            'E' => KEYEVENT,
            't' => STREAM,
            'm' => KEY_MISS,
            'd' => MODULE,
            'n' => NEW,
            _ => return Err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into()),
        };
    }
    Ok(f)
}

/// The canonical text CONFIG GET shows for `flags`.
pub fn flags_to_string(flags: u32) -> String {
    let mut s = String::new();
    if flags & ALL == ALL {
        s.push('A');
    } else {
        for (bit, c) in [
            (GENERIC, 'g'),
            (STRING, '$'),
            (LIST, 'l'),
            (SET, 's'),
            (HASH, 'h'),
            (ZSET, 'z'),
            (EXPIRED, 'x'),
            (EVICTED, 'e'),
            (STREAM, 't'),
            (MODULE, 'd'),
        ] {
            if flags & bit != 0 {
                s.push(c);
            }
        }
    }
    for (bit, c) in [(KEYSPACE, 'K'), (KEYEVENT, 'E'), (KEY_MISS, 'm'), (NEW, 'n')] {
        if flags & bit != 0 {
            s.push(c);
        }
    }
    s
}

/// A keyspace event: what a change did to a key, as Redis names it in its notifications. The change path carries
/// this value rather than the name, so the class each event is published under comes from [`EVENTS`] and not
/// from the spelling of its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Event {
    Del,
    RenameFrom,
    RenameTo,
    MoveFrom,
    MoveTo,
    CopyTo,
    Restore,
    Expire,
    Persist,
    Set,
    Setrange,
    Incrby,
    Incrbyfloat,
    Append,
    Setbit,
    Pfadd,
    Lpush,
    Rpush,
    Linsert,
    Lset,
    Lpop,
    Rpop,
    Ltrim,
    Lrem,
    Sadd,
    Srem,
    Spop,
    Sinterstore,
    Sunionstore,
    Sdiffstore,
    Hset,
    Hdel,
    Hincrby,
    Hincrbyfloat,
    Zadd,
    Zincr,
    Zrem,
    Zremrangebyscore,
    Zremrangebyrank,
    Zremrangebylex,
    Zpopmin,
    Zpopmax,
    Zinterstore,
    Zunionstore,
    Zdiffstore,
    Zrangestore,
    Georadiusstore,
    Geosearchstore,
    Sortstore,
    Xadd,
    Xtrim,
    Xdel,
    Xsetid,
    XgroupCreate,
    XgroupSetid,
    XgroupDestroy,
    XgroupCreateconsumer,
    XgroupDelconsumer,
    Expired,
    Evicted,
    CtrCreate,
    CtrIncr,
    CtrAdd,
    CtrUnique,
    CtrAllow,
    TopkReserve,
    TopkAdd,
    CmsInit,
    CmsIncrby,
    CmsMerge,
    ExpCreate,
    ExpUpdate,
    ExpStatus,
    ExpAssign,
    ExpTrack,
}

/// Each event's name and class, indexed by its discriminant; the classes are those Redis 7.0 passes to
/// `notifyKeyspaceEvent` for the same name.
const EVENTS: [(&str, u32); 75] = [
    ("del", GENERIC),                  // Del
    ("rename_from", GENERIC),          // RenameFrom
    ("rename_to", GENERIC),            // RenameTo
    ("move_from", GENERIC),            // MoveFrom
    ("move_to", GENERIC),              // MoveTo
    ("copy_to", GENERIC),              // CopyTo
    ("restore", GENERIC),              // Restore
    ("expire", GENERIC),               // Expire
    ("persist", GENERIC),              // Persist
    ("set", STRING),                   // Set
    ("setrange", STRING),              // Setrange
    ("incrby", STRING),                // Incrby
    ("incrbyfloat", STRING),           // Incrbyfloat
    ("append", STRING),                // Append
    ("setbit", STRING),                // Setbit
    ("pfadd", STRING),                 // Pfadd
    ("lpush", LIST),                   // Lpush
    ("rpush", LIST),                   // Rpush
    ("linsert", LIST),                 // Linsert
    ("lset", LIST),                    // Lset
    ("lpop", LIST),                    // Lpop
    ("rpop", LIST),                    // Rpop
    ("ltrim", LIST),                   // Ltrim
    ("lrem", LIST),                    // Lrem
    ("sadd", SET),                     // Sadd
    ("srem", SET),                     // Srem
    ("spop", SET),                     // Spop
    ("sinterstore", SET),              // Sinterstore
    ("sunionstore", SET),              // Sunionstore
    ("sdiffstore", SET),               // Sdiffstore
    ("hset", HASH),                    // Hset
    ("hdel", HASH),                    // Hdel
    ("hincrby", HASH),                 // Hincrby
    ("hincrbyfloat", HASH),            // Hincrbyfloat
    ("zadd", ZSET),                    // Zadd
    ("zincr", ZSET),                   // Zincr
    ("zrem", ZSET),                    // Zrem
    ("zremrangebyscore", ZSET),        // Zremrangebyscore
    ("zremrangebyrank", ZSET),         // Zremrangebyrank
    ("zremrangebylex", ZSET),          // Zremrangebylex
    ("zpopmin", ZSET),                 // Zpopmin
    ("zpopmax", ZSET),                 // Zpopmax
    ("zinterstore", ZSET),             // Zinterstore
    ("zunionstore", ZSET),             // Zunionstore
    ("zdiffstore", ZSET),              // Zdiffstore
    ("zrangestore", ZSET),             // Zrangestore
    ("georadiusstore", ZSET),          // Georadiusstore
    ("geosearchstore", ZSET),          // Geosearchstore
    ("sortstore", LIST),               // Sortstore
    ("xadd", STREAM),                  // Xadd
    ("xtrim", STREAM),                 // Xtrim
    ("xdel", STREAM),                  // Xdel
    ("xsetid", STREAM),                // Xsetid
    ("xgroup-create", STREAM),         // XgroupCreate
    ("xgroup-setid", STREAM),          // XgroupSetid
    ("xgroup-destroy", STREAM),        // XgroupDestroy
    ("xgroup-createconsumer", STREAM), // XgroupCreateconsumer
    ("xgroup-delconsumer", STREAM),    // XgroupDelconsumer
    ("expired", EXPIRED),              // Expired
    ("evicted", EVICTED),              // Evicted
    // Strata's own types report as modules' types do (class d).
    ("ctr.create", MODULE),   // CtrCreate
    ("ctr.incr", MODULE),     // CtrIncr
    ("ctr.add", MODULE),      // CtrAdd
    ("ctr.unique", MODULE),   // CtrUnique
    ("ctr.allow", MODULE),    // CtrAllow
    ("topk.reserve", MODULE), // TopkReserve
    ("topk.add", MODULE),     // TopkAdd
    ("cms.init", MODULE),     // CmsInit
    ("cms.incrby", MODULE),   // CmsIncrby
    ("cms.merge", MODULE),    // CmsMerge
    ("exp.create", MODULE),   // ExpCreate
    ("exp.update", MODULE),   // ExpUpdate
    ("exp.status", MODULE),   // ExpStatus
    ("exp.assign", MODULE),   // ExpAssign
    ("exp.track", MODULE),    // ExpTrack
];

impl Event {
    /// Every event, in discriminant order.
    pub const EVERY: [Event; 75] = [
        Event::Del,
        Event::RenameFrom,
        Event::RenameTo,
        Event::MoveFrom,
        Event::MoveTo,
        Event::CopyTo,
        Event::Restore,
        Event::Expire,
        Event::Persist,
        Event::Set,
        Event::Setrange,
        Event::Incrby,
        Event::Incrbyfloat,
        Event::Append,
        Event::Setbit,
        Event::Pfadd,
        Event::Lpush,
        Event::Rpush,
        Event::Linsert,
        Event::Lset,
        Event::Lpop,
        Event::Rpop,
        Event::Ltrim,
        Event::Lrem,
        Event::Sadd,
        Event::Srem,
        Event::Spop,
        Event::Sinterstore,
        Event::Sunionstore,
        Event::Sdiffstore,
        Event::Hset,
        Event::Hdel,
        Event::Hincrby,
        Event::Hincrbyfloat,
        Event::Zadd,
        Event::Zincr,
        Event::Zrem,
        Event::Zremrangebyscore,
        Event::Zremrangebyrank,
        Event::Zremrangebylex,
        Event::Zpopmin,
        Event::Zpopmax,
        Event::Zinterstore,
        Event::Zunionstore,
        Event::Zdiffstore,
        Event::Zrangestore,
        Event::Georadiusstore,
        Event::Geosearchstore,
        Event::Sortstore,
        Event::Xadd,
        Event::Xtrim,
        Event::Xdel,
        Event::Xsetid,
        Event::XgroupCreate,
        Event::XgroupSetid,
        Event::XgroupDestroy,
        Event::XgroupCreateconsumer,
        Event::XgroupDelconsumer,
        Event::Expired,
        Event::Evicted,
        Event::CtrCreate,
        Event::CtrIncr,
        Event::CtrAdd,
        Event::CtrUnique,
        Event::CtrAllow,
        Event::TopkReserve,
        Event::TopkAdd,
        Event::CmsInit,
        Event::CmsIncrby,
        Event::CmsMerge,
        Event::ExpCreate,
        Event::ExpUpdate,
        Event::ExpStatus,
        Event::ExpAssign,
        Event::ExpTrack,
    ];

    /// The name published on `__keyevent@<db>__:<name>` and as the `__keyspace@` message.
    #[inline]
    pub fn name(self) -> &'static str {
        EVENTS[self as usize].0
    }

    /// The `notify-keyspace-events` class that enables this event.
    #[inline]
    pub fn class(self) -> u32 {
        EVENTS[self as usize].1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_round_trip_and_classes() {
        assert_eq!(flags_to_string(parse_flags("KEA").unwrap()), "AKE");
        assert_eq!(flags_to_string(parse_flags("Kx$").unwrap()), "$xK");
        assert!(parse_flags("Q").is_err());
        assert_eq!(Event::Rpush.class(), LIST);
        assert_eq!(Event::RenameTo.class(), GENERIC);
        assert_eq!(Event::Restore.class(), GENERIC);
        assert_eq!(Event::Srem.class(), SET);
        assert_eq!(Event::Set.class(), STRING);
        assert_eq!(Event::Setbit.class(), STRING);
        assert_eq!(Event::Expired.class(), EXPIRED);
        assert_eq!(Event::Evicted.name(), "evicted");
        assert_eq!(Event::Xadd.class(), STREAM);
        assert_eq!(Event::XgroupCreateconsumer.name(), "xgroup-createconsumer");
    }

    /// The table is indexed by discriminant: each row must be its variant's, whose name is the variant's in snake
    /// case.
    #[test]
    fn event_table_rows_match_variants() {
        for (i, e) in Event::EVERY.iter().enumerate() {
            assert_eq!(*e as usize, i);
            let mut snake = String::new();
            for (j, c) in format!("{e:?}").chars().enumerate() {
                if c.is_ascii_uppercase() && j > 0 {
                    snake.push('_');
                }
                snake.push(c.to_ascii_lowercase());
            }
            // Strata's own types name their events with a dot after the family (ctr.incr), as module types do.
            let dotted = ["ctr_", "topk_", "cms_", "exp_"]
                .iter()
                .find_map(|p| snake.strip_prefix(p).map(|r| format!("{}.{r}", &p[..p.len() - 1])));
            // Redis names the XGROUP subcommands' events with a dash (xgroup-create).
            let dashed = snake.strip_prefix("xgroup_").map(|r| format!("xgroup-{r}"));
            assert_eq!(e.name(), dotted.or(dashed).unwrap_or(snake));
        }
    }
}
