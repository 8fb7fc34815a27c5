//! Geospatial commands: GEOADD, GEODIST, GEOHASH, GEOPOS, GEOSEARCH, GEOSEARCHSTORE, GEORADIUS and
//! GEORADIUSBYMEMBER (and their `_RO` forms), on sorted sets whose scores are 52-bit geohashes.
//!
//! The arithmetic is `util::geohash`, which follows Redis's step by step; searches scan the same cells in the same
//! order as Redis, so even unsorted results come back in Redis's order. GEOADD is ZADD with computed scores
//! (`zadd` events, replicated as sent).

use super::args::{float, int, is, text};
use super::ctx::Ctx;
use super::flags::*;
use super::zset::{add_scored, store_result, AddFlags};
use super::{spec, CommandSpec, Keys};
use crate::error::{self, CmdError, CmdResult};
use crate::protocol::Reply;
use crate::store::event::Event;
use crate::store::types::{ScoreBound, ZSetValue};
use crate::store::Value;
use crate::util::geohash::{self, Search, Shape};
use crate::util::num::parse_f64;
use bytes::Bytes;

const NO_MEMBER: CmdError = CmdError::fixed("ERR could not decode requested zset member");

/// A longitude, latitude pair, checked against the range geohashes cover.
fn lon_lat(args: &[Bytes]) -> CmdResult<[f64; 2]> {
    let (x, y) = (float(&args[0])?, float(&args[1])?);
    if !(geohash::LONG_MIN..=geohash::LONG_MAX).contains(&x) || !(geohash::LAT_MIN..=geohash::LAT_MAX).contains(&y) {
        return Err(CmdError::err(format!("invalid longitude,latitude pair {x:.6},{y:.6}")));
    }
    Ok([x, y])
}

/// Meters per unit.
fn unit(a: &[u8]) -> CmdResult<f64> {
    if is(a, "m") {
        Ok(1.0)
    } else if is(a, "km") {
        Ok(1000.0)
    } else if is(a, "ft") {
        Ok(0.3048)
    } else if is(a, "mi") {
        Ok(1609.34)
    } else {
        Err(CmdError::fixed("ERR unsupported unit provided. please use M, KM, FT, MI"))
    }
}

/// `radius unit`: the radius and the unit's size in meters.
fn radius(args: &[Bytes]) -> CmdResult<(f64, f64)> {
    let r = parse_f64(&args[0]).ok_or(CmdError::fixed("ERR need numeric radius"))?;
    if r < 0.0 {
        return Err(CmdError::fixed("ERR radius cannot be negative"));
    }
    Ok((r, unit(&args[1])?))
}

/// `width height unit`.
fn rect(args: &[Bytes]) -> CmdResult<(Shape, f64)> {
    let width = parse_f64(&args[0]).ok_or(CmdError::fixed("ERR need numeric width"))?;
    let height = parse_f64(&args[1]).ok_or(CmdError::fixed("ERR need numeric height"))?;
    if height < 0.0 || width < 0.0 {
        return Err(CmdError::fixed("ERR height or width cannot be negative"));
    }
    Ok((Shape::Box { width, height }, unit(&args[2])?))
}

/// The stored position of `member`.
fn position(z: &ZSetValue, member: &[u8]) -> Option<[f64; 2]> {
    z.score(member).map(geohash::decode_score)
}

/// A coordinate reply: a bulk string in RESP2, a double with Redis's digits in RESP3.
fn coordinate(v: f64) -> Reply {
    Reply::DoubleText(geohash::format_coordinate(v))
}

fn distance_reply(d: f64) -> Reply {
    Reply::Bulk(Bytes::from(geohash::format_distance(d)))
}

fn geoadd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let mut f = AddFlags::default();
    let mut at = 2;
    while at < args.len() {
        let a = &args[at];
        if is(a, "nx") {
            f.nx = true;
        } else if is(a, "xx") {
            f.xx = true;
        } else if is(a, "ch") {
            f.ch = true;
        } else {
            break;
        }
        at += 1;
    }
    let triples = &args[at..];
    if !triples.len().is_multiple_of(3) || (f.xx && f.nx) {
        return Err(error::SYNTAX);
    }
    let mut scored = Vec::with_capacity(triples.len() / 3);
    for t in triples.chunks(3) {
        let [x, y] = lon_lat(&t[..2])?;
        let score = geohash::score_of(x, y).ok_or(error::SYNTAX)?;
        scored.push((score, &t[2]));
    }
    add_scored(ctx, &args[1], f, &scored)
}

fn geodist(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let to_meter = match args.len() {
        5 => unit(&args[4])?,
        n if n > 5 => return Err(error::SYNTAX),
        _ => 1.0,
    };
    let Some(z) = ctx.read_as(&args[1], Value::as_zset)? else { return Ok(Reply::Nil) };
    match (position(z, &args[2]), position(z, &args[3])) {
        (Some([x1, y1]), Some([x2, y2])) => Ok(distance_reply(geohash::distance(x1, y1, x2, y2) / to_meter)),
        _ => Ok(Reply::Nil),
    }
}

fn geohash_cmd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let z = ctx.read_as(&args[1], Value::as_zset)?;
    Ok(Reply::Array(
        args[2..]
            .iter()
            .map(|m| match z.and_then(|z| z.score(m)) {
                Some(s) => Reply::Bulk(Bytes::copy_from_slice(&geohash::standard_hash(s))),
                None => Reply::Nil,
            })
            .collect(),
    ))
}

fn geopos(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let z = ctx.read_as(&args[1], Value::as_zset)?;
    Ok(Reply::Array(
        args[2..]
            .iter()
            .map(|m| match z.and_then(|z| position(z, m)) {
                Some([x, y]) => Reply::Array(vec![coordinate(x), coordinate(y)]),
                None => Reply::NilArray,
            })
            .collect(),
    ))
}

/// How a search command names its centre and shape, and whether it may store.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    /// GEORADIUS key longitude latitude radius unit ...
    Coords,
    /// GEORADIUSBYMEMBER key member radius unit ...
    Member,
    /// GEOSEARCH key FROMMEMBER|FROMLONLAT ... BYRADIUS|BYBOX ...
    Search,
    /// GEOSEARCHSTORE destination source ...
    SearchStore,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    None,
    Asc,
    Desc,
}

/// One match: the member, its distance in meters, its score and position.
struct Point {
    member: Bytes,
    dist: f64,
    score: f64,
    xy: [f64; 2],
}

/// The members inside `search`, visiting Redis's cells in Redis's order; stops after `limit` matches when set.
fn members_within(z: &ZSetValue, search: &Search, limit: usize) -> Vec<Point> {
    let mut out = Vec::new();
    for (min, max) in search.score_ranges() {
        if limit > 0 && out.len() >= limit {
            break;
        }
        let lo = z.rank_of_min(ScoreBound { value: min as f64, exclusive: false });
        let hi = z.rank_past_max(ScoreBound { value: max as f64, exclusive: true });
        if lo >= hi {
            continue;
        }
        for (score, member) in z.range(lo, hi - 1) {
            let xy = geohash::decode_score(score);
            if let Some(dist) = search.contains(xy) {
                out.push(Point { member, dist, score, xy });
                if limit > 0 && out.len() >= limit {
                    break;
                }
            }
        }
    }
    out
}

/// A parsed search and what it found.
struct Found {
    /// `None` when the source key does not exist.
    points: Option<Vec<Point>>,
    store: Option<(Bytes, bool)>,
    conversion: f64,
    withdist: bool,
    withhash: bool,
    withcoord: bool,
}

/// Redis's `georadiusGeneric` up to the search: argument checks in its order, then the matches, sorted and cut
/// to COUNT. `z` is the source (`None` when missing).
fn find(z: Option<&ZSetValue>, args: &[Bytes], form: Form, readonly: bool) -> CmdResult<Found> {
    let mut center = None;
    let mut shape = None;
    let base = match form {
        Form::Coords => {
            center = Some(lon_lat(&args[2..4])?);
            let (r, conv) = radius(&args[4..6])?;
            shape = Some((Shape::Radius(r), conv));
            6
        }
        Form::Member => {
            if let Some(z) = z {
                center = Some(position(z, &args[2]).ok_or(NO_MEMBER)?);
                let (r, conv) = radius(&args[3..5])?;
                shape = Some((Shape::Radius(r), conv));
            }
            5
        }
        Form::Search => 2,
        Form::SearchStore => 3,
    };
    let searching = matches!(form, Form::Search | Form::SearchStore);
    let mut store: Option<(Bytes, bool)> = (form == Form::SearchStore).then(|| (args[1].clone(), false));
    let (mut withdist, mut withhash, mut withcoord, mut any) = (false, false, false, false);
    let (mut from_member, mut from_lonlat, mut by_radius, mut by_box) = (false, false, false, false);
    let mut order = Order::None;
    let mut count = 0usize;
    let rest = &args[base..];
    let mut i = 0;
    while i < rest.len() {
        let a = &rest[i];
        let left = rest.len() - i - 1;
        if is(a, "withdist") {
            withdist = true;
        } else if is(a, "withhash") {
            withhash = true;
        } else if is(a, "withcoord") {
            withcoord = true;
        } else if is(a, "any") {
            any = true;
        } else if is(a, "asc") {
            order = Order::Asc;
        } else if is(a, "desc") {
            order = Order::Desc;
        } else if is(a, "count") && left >= 1 {
            let n = int(&rest[i + 1])?;
            if n <= 0 {
                return Err(CmdError::fixed("ERR COUNT must be > 0"));
            }
            count = n as usize;
            i += 1;
        } else if (is(a, "store") || is(a, "storedist")) && left >= 1 && !readonly && !searching {
            store = Some((rest[i + 1].clone(), is(a, "storedist")));
            i += 1;
        } else if is(a, "storedist") && form == Form::SearchStore {
            store = store.map(|(k, _)| (k, true));
        } else if is(a, "frommember") && left >= 1 && searching && !from_lonlat {
            // A missing source is reported only after every argument is checked.
            if let Some(z) = z {
                center = Some(position(z, &rest[i + 1]).ok_or(NO_MEMBER)?);
            }
            from_member = true;
            i += 1;
        } else if is(a, "fromlonlat") && left >= 2 && searching && !from_member {
            center = Some(lon_lat(&rest[i + 1..i + 3])?);
            from_lonlat = true;
            i += 2;
        } else if is(a, "byradius") && left >= 2 && searching && !by_box {
            let (r, conv) = radius(&rest[i + 1..i + 3])?;
            shape = Some((Shape::Radius(r), conv));
            by_radius = true;
            i += 2;
        } else if is(a, "bybox") && left >= 3 && searching && !by_radius {
            shape = Some(rect(&rest[i + 1..i + 4])?);
            by_box = true;
            i += 3;
        } else {
            return Err(error::SYNTAX);
        }
        i += 1;
    }

    if store.is_some() && (withdist || withhash || withcoord) {
        let what = if form == Form::SearchStore { "GEOSEARCHSTORE" } else { "STORE option in GEORADIUS" };
        return Err(CmdError::err(format!("{what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options")));
    }
    let name = || text(&args[0]);
    if searching && !(from_member || from_lonlat) {
        return Err(CmdError::err(format!("exactly one of FROMMEMBER or FROMLONLAT can be specified for {}", name())));
    }
    if searching && !(by_radius || by_box) {
        return Err(CmdError::err(format!("exactly one of BYRADIUS and BYBOX can be specified for {}", name())));
    }
    if any && count == 0 {
        return Err(CmdError::fixed("ERR the ANY argument requires COUNT argument"));
    }
    let conversion = shape.map_or(1.0, |(_, c)| c);
    let mut found = Found { points: None, store, conversion, withdist, withhash, withcoord };
    let (Some(z), Some(center), Some((shape, conversion))) = (z, center, shape) else {
        return Ok(found);
    };
    // COUNT without an order returns the nearest matches, unless ANY asked for the first found.
    if count != 0 && order == Order::None && !any {
        order = Order::Asc;
    }
    let search = Search { center, shape, conversion };
    let mut points = members_within(z, &search, if any { count } else { 0 });
    // Stable sorts keep equal distances in scan order.
    match order {
        Order::Asc => points.sort_by(|a, b| a.dist.total_cmp(&b.dist)),
        Order::Desc => points.sort_by(|a, b| b.dist.total_cmp(&a.dist)),
        Order::None => {}
    }
    if count != 0 {
        points.truncate(count);
    }
    found.points = Some(points);
    Ok(found)
}

fn search_generic(ctx: &mut Ctx<'_>, args: &[Bytes], form: Form, readonly: bool) -> CmdResult<Reply> {
    let src = if form == Form::SearchStore { &args[2] } else { &args[1] };
    let z = ctx.read_as(src, Value::as_zset)?;
    let f = find(z, args, form, readonly)?;
    let conversion = f.conversion;
    if let Some((dest, storedist)) = f.store {
        let Some(points) = f.points else {
            // No source: the destination is deleted.
            ctx.remove(&dest);
            return Ok(Reply::Int(0));
        };
        let items = points.into_iter().map(|p| (if storedist { p.dist / conversion } else { p.score }, p.member));
        let event =
            if form == Form::Coords || form == Form::Member { Event::Georadiusstore } else { Event::Geosearchstore };
        return store_result(ctx, &dest, items.collect(), event);
    }
    let extras = f.withdist || f.withhash || f.withcoord;
    Ok(Reply::Array(
        f.points
            .unwrap_or_default()
            .into_iter()
            .map(|p| {
                if !extras {
                    return Reply::Bulk(p.member);
                }
                let mut item = vec![Reply::Bulk(p.member)];
                if f.withdist {
                    item.push(distance_reply(p.dist / conversion));
                }
                if f.withhash {
                    item.push(Reply::Int(p.score as i64));
                }
                if f.withcoord {
                    item.push(Reply::Array(vec![coordinate(p.xy[0]), coordinate(p.xy[1])]));
                }
                Reply::Array(item)
            })
            .collect(),
    ))
}

fn georadius(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    search_generic(ctx, args, Form::Coords, false)
}

fn georadius_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    search_generic(ctx, args, Form::Coords, true)
}

fn georadiusbymember(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    search_generic(ctx, args, Form::Member, false)
}

fn georadiusbymember_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    search_generic(ctx, args, Form::Member, true)
}

fn geosearch(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    search_generic(ctx, args, Form::Search, true)
}

fn geosearchstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    search_generic(ctx, args, Form::SearchStore, false)
}

/// The destination of GEORADIUS / GEORADIUSBYMEMBER: the argument after the last STORE or STOREDIST from the
/// fifth argument on (Redis's `georadiusGetKeys`).
fn georadius_store_key(args: &[Bytes]) -> Option<usize> {
    let mut found = None;
    let mut i = 5;
    while i < args.len() {
        if (is(&args[i], "store") || is(&args[i], "storedist")) && i + 1 < args.len() {
            found = Some(i + 1);
            i += 1;
        }
        i += 1;
    }
    found
}

const G: &str = "geo";

/// Where the keys of GEORADIUS and GEORADIUSBYMEMBER are: the source, and a destination after STORE/STOREDIST
/// among the options (which start at argument 6 and 5).
const RADIUS_KEYS: Keys = Keys::Store { first: 1, find: georadius_store_key, words: &["STORE", "STOREDIST"], from: 6 };
const RADIUS_BY_MEMBER_KEYS: Keys =
    Keys::Store { first: 1, find: georadius_store_key, words: &["STORE", "STOREDIST"], from: 5 };

pub static COMMANDS: &[CommandSpec] = &[
    spec("geoadd", -5, WRITE | DENYOOM, Keys::one(1), geoadd)
        .key_flags(&["RW", "update"])
        .doc(G, "3.2.0", "Adds one or more members to a geospatial index. The key is created if it doesn't exist.", "key [condition=NX | XX] [CH] longitude:double latitude:double member [longitude:double latitude:double member ...]")
        .complexity("O(log(N)) for each item added, where N is the number of elements in the sorted set."),
    spec("geodist", -4, READONLY, Keys::one(1), geodist)
        .doc(G, "3.2.0", "Returns the distance between two members of a geospatial index.", "key member1 member2 [unit=M | KM | FT | MI]")
        .complexity("O(log(N))"),
    spec("geohash", -2, READONLY, Keys::one(1), geohash_cmd)
        .doc(G, "3.2.0", "Returns members from a geospatial index as geohash strings.", "key [member [member ...]]")
        .complexity("O(log(N)) for each member requested, where N is the number of elements in the sorted set."),
    spec("geopos", -2, READONLY, Keys::one(1), geopos)
        .doc(G, "3.2.0", "Returns the longitude and latitude of members from a geospatial index.", "key [member [member ...]]")
        .complexity("O(N) where N is the number of members requested."),
    spec("georadius", -6, WRITE | DENYOOM, RADIUS_KEYS, georadius)
        .doc(G, "3.2.0", "Queries a geospatial index for members within a distance from a coordinate, optionally stores the result.", "key longitude:double latitude:double radius:double unit=M | KM | FT | MI [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [order=ASC | DESC] [STORE key | STOREDIST key]")
        .complexity("O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index."),
    spec("georadius_ro", -6, READONLY, Keys::one(1), georadius_ro)
        .doc(G, "3.2.10", "Returns members from a geospatial index that are within a distance from a coordinate.", "key longitude:double latitude:double radius:double unit=M | KM | FT | MI [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [order=ASC | DESC]")
        .complexity("O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index."),
    spec("georadiusbymember", -5, WRITE | DENYOOM, RADIUS_BY_MEMBER_KEYS, georadiusbymember)
        .doc(G, "3.2.0", "Queries a geospatial index for members within a distance from a member, optionally stores the result.", "key member radius:double unit=M | KM | FT | MI [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [order=ASC | DESC] [STORE key | STOREDIST key]")
        .complexity("O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index."),
    spec("georadiusbymember_ro", -5, READONLY, Keys::one(1), georadiusbymember_ro)
        .doc(G, "3.2.10", "Returns members from a geospatial index that are within a distance from a member.", "key member radius:double unit=M | KM | FT | MI [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [order=ASC | DESC]")
        .complexity("O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index."),
    spec("geosearch", -7, READONLY, Keys::one(1), geosearch)
        .doc(G, "6.2.0", "Queries a geospatial index for members inside an area of a box or a circle.", "key from=FROMMEMBER member | FROMLONLAT longitude:double latitude:double by=BYRADIUS radius:double unit=M | KM | FT | MI | BYBOX width:double height:double unit=M | KM | FT | MI [order=ASC | DESC] [COUNT count [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH]")
        .complexity("O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape"),
    spec("geosearchstore", -8, WRITE | DENYOOM, Keys::range(1, 2, 1), geosearchstore)
        .key_flags_each(&[&["OW", "update"], &["RO", "access"]])
        .doc(G, "6.2.0", "Queries a geospatial index for members inside an area of a box or a circle, optionally stores the result.", "destination source from=FROMMEMBER member | FROMLONLAT longitude:double latitude:double by=BYRADIUS radius:double unit=M | KM | FT | MI | BYBOX width:double height:double unit=M | KM | FT | MI [order=ASC | DESC] [COUNT count [ANY]] [STOREDIST]")
        .complexity("O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<Bytes> {
        s.split(' ').map(|w| Bytes::copy_from_slice(w.as_bytes())).collect()
    }

    #[test]
    fn store_key_follows_redis() {
        assert_eq!(georadius_store_key(&argv("georadius k 0 0 1 m")), None);
        assert_eq!(georadius_store_key(&argv("georadius k 0 0 1 m store d")), Some(7));
        assert_eq!(georadius_store_key(&argv("georadius k 0 0 1 m store a storedist b")), Some(9));
        assert_eq!(georadius_store_key(&argv("georadiusbymember k m 1 km store d")), Some(6));
        assert_eq!(georadius_store_key(&argv("georadius k 0 0 1 m store")), None);
    }
}
