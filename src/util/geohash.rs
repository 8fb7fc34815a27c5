//! Redis's geohash arithmetic (`geohash.c`, `geohash_helper.c`), reproduced step for step so that scores,
//! coordinates, distances and the boxes a search visits are the same as Redis 7.0's, bit for bit.
//!
//! A position is a 52-bit interleaved hash (26 steps of latitude and longitude) stored as a sorted-set score.
//! Latitudes are limited to the Web Mercator range (±85.05112878), as in Redis; the standard geohash strings
//! (GEOHASH) are computed by re-encoding the decoded position against the usual ±90 range.

pub const STEP_MAX: u8 = 26;
pub const LAT_MIN: f64 = -85.05112878;
pub const LAT_MAX: f64 = 85.05112878;
pub const LONG_MIN: f64 = -180.0;
pub const LONG_MAX: f64 = 180.0;

/// Earth's quadratic mean radius for WGS-84, as Redis uses it.
const EARTH_RADIUS_IN_METERS: f64 = 6372797.560856;
const MERCATOR_MAX: f64 = 20037726.37;
const D_R: f64 = std::f64::consts::PI / 180.0;

#[inline]
fn deg_rad(ang: f64) -> f64 {
    ang * D_R
}

#[inline]
fn rad_deg(ang: f64) -> f64 {
    ang / D_R
}

/// An interleaved hash of `step` bits per coordinate. `bits == 0 && step == 0` marks a box left out of a search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Hash {
    pub bits: u64,
    pub step: u8,
}

impl Hash {
    fn is_zero(self) -> bool {
        self.bits == 0 && self.step == 0
    }
}

#[derive(Debug, Clone, Copy)]
struct Range {
    min: f64,
    max: f64,
}

/// The cell a hash stands for.
#[derive(Debug, Clone, Copy)]
pub struct Area {
    lat_min: f64,
    lat_max: f64,
    long_min: f64,
    long_max: f64,
}

const WGS84_LONG: Range = Range { min: LONG_MIN, max: LONG_MAX };
const WGS84_LAT: Range = Range { min: LAT_MIN, max: LAT_MAX };

/// Spreads the 32 bits of `v` to the even bit positions.
fn spread(v: u32) -> u64 {
    let mut x = v as u64;
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    (x | (x << 1)) & 0x5555_5555_5555_5555
}

/// Gathers the even bits of `x` into 32 bits.
fn squash(x: u64) -> u64 {
    let mut x = x & 0x5555_5555_5555_5555;
    x = (x | (x >> 1)) & 0x3333_3333_3333_3333;
    x = (x | (x >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x >> 4)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x >> 8)) & 0x0000_FFFF_0000_FFFF;
    (x | (x >> 16)) & 0x0000_0000_FFFF_FFFF
}

/// Latitude bits at even positions, longitude bits at odd ones (Redis's `interleave64(lat, long)`).
fn interleave(lat: u32, long: u32) -> u64 {
    spread(lat) | (spread(long) << 1)
}

/// The inverse of [`interleave`]: latitude in the low 32 bits, longitude in the high.
fn deinterleave(bits: u64) -> u64 {
    squash(bits) | (squash(bits >> 1) << 32)
}

/// C's conversion of a non-negative double to `uint32_t`, which is what Redis does with the cell offsets.
fn to_u32(v: f64) -> u32 {
    (v as u64) as u32
}

fn encode(long_range: Range, lat_range: Range, longitude: f64, latitude: f64, step: u8) -> Option<Hash> {
    if step > 32 || step == 0 {
        return None;
    }
    if !(LONG_MIN..=LONG_MAX).contains(&longitude) || !(LAT_MIN..=LAT_MAX).contains(&latitude) {
        return None;
    }
    if latitude < lat_range.min || latitude > lat_range.max || longitude < long_range.min || longitude > long_range.max
    {
        return None;
    }
    let scale = (1u64 << step) as f64;
    let lat_offset = (latitude - lat_range.min) / (lat_range.max - lat_range.min) * scale;
    let long_offset = (longitude - long_range.min) / (long_range.max - long_range.min) * scale;
    Some(Hash { bits: interleave(to_u32(lat_offset), to_u32(long_offset)), step })
}

/// The WGS-84 hash of a position at `step` bits per coordinate; `None` outside the supported range.
pub fn encode_wgs84(longitude: f64, latitude: f64, step: u8) -> Option<Hash> {
    encode(WGS84_LONG, WGS84_LAT, longitude, latitude, step)
}

fn decode(long_range: Range, lat_range: Range, hash: Hash) -> Area {
    let sep = deinterleave(hash.bits);
    let lat_scale = lat_range.max - lat_range.min;
    let long_scale = long_range.max - long_range.min;
    let ilato = sep as u32;
    let ilono = (sep >> 32) as u32;
    let cells = (1u64 << hash.step) as f64;
    Area {
        lat_min: lat_range.min + (ilato as f64 / cells) * lat_scale,
        lat_max: lat_range.min + (ilato.wrapping_add(1) as f64 / cells) * lat_scale,
        long_min: long_range.min + (ilono as f64 / cells) * long_scale,
        long_max: long_range.min + (ilono.wrapping_add(1) as f64 / cells) * long_scale,
    }
}

/// The score a position is stored under: its 26-step hash aligned to 52 bits.
pub fn score_of(longitude: f64, latitude: f64) -> Option<f64> {
    encode_wgs84(longitude, latitude, STEP_MAX).map(|h| align52(h) as f64)
}

fn align52(h: Hash) -> u64 {
    h.bits << (52 - h.step as u32 * 2)
}

/// C's `(uint64_t)score`, as Redis converts a score back to hash bits (truncation; negative values wrap).
fn score_bits(score: f64) -> u64 {
    if score < 0.0 {
        (score as i64) as u64
    } else {
        score as u64
    }
}

/// The centre of the cell a score names, as `[longitude, latitude]` clamped to the supported range.
pub fn decode_score(score: f64) -> [f64; 2] {
    let area = decode(WGS84_LONG, WGS84_LAT, Hash { bits: score_bits(score), step: STEP_MAX });
    let long = ((area.long_min + area.long_max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let lat = ((area.lat_min + area.lat_max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    [long, lat]
}

/// The 11-character standard geohash of the position stored under `score` (GEOHASH).
pub fn standard_hash(score: f64) -> [u8; 11] {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let [long, lat] = decode_score(score);
    let bits = encode(WGS84_LONG, Range { min: -90.0, max: 90.0 }, long, lat, STEP_MAX).map_or(0, |h| h.bits);
    let mut out = [b'0'; 11];
    // 52 bits make ten characters; Redis pads the eleventh with the zero digit.
    for (i, c) in out.iter_mut().take(10).enumerate() {
        *c = ALPHABET[((bits >> (52 - (i + 1) * 5)) & 0x1f) as usize];
    }
    out
}

/// Distance in meters along a meridian.
fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS_IN_METERS * (deg_rad(lat2) - deg_rad(lat1)).abs()
}

/// Great-circle distance in meters (haversine), as Redis computes it.
pub fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let lon1r = deg_rad(lon1);
    let lon2r = deg_rad(lon2);
    let v = ((lon2r - lon1r) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let lat1r = deg_rad(lat1);
    let lat2r = deg_rad(lat2);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_IN_METERS * a.sqrt().asin()
}

/// The area a search covers, in meters.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    Radius(f64),
    Box { width: f64, height: f64 },
}

/// A search: its centre, its shape in the request's unit, and the unit's size in meters.
#[derive(Debug, Clone, Copy)]
pub struct Search {
    pub center: [f64; 2],
    pub shape: Shape,
    pub conversion: f64,
}

impl Search {
    /// The distance in meters from the centre to a point, when the point lies inside the shape.
    pub fn contains(&self, point: [f64; 2]) -> Option<f64> {
        let [x1, y1] = self.center;
        let [x2, y2] = point;
        match self.shape {
            Shape::Radius(r) => {
                let d = distance(x1, y1, x2, y2);
                (d <= r * self.conversion).then_some(d)
            }
            Shape::Box { width, height } => {
                // Latitude distance is cheaper, so it is checked first.
                if lat_distance(y2, y1) > height * self.conversion / 2.0 {
                    return None;
                }
                if distance(x2, y2, x1, y2) > width * self.conversion / 2.0 {
                    return None;
                }
                Some(distance(x1, y1, x2, y2))
            }
        }
    }

    /// `[min_lon, min_lat, max_lon, max_lat]` around the shape.
    fn bounding_box(&self) -> [f64; 4] {
        let [longitude, latitude] = self.center;
        let (height, width) = match self.shape {
            Shape::Radius(r) => (r * self.conversion, r * self.conversion),
            Shape::Box { width, height } => (self.conversion * height / 2.0, self.conversion * width / 2.0),
        };
        let lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS);
        let long_delta_top = rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude + lat_delta).cos());
        let long_delta_bottom = rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude - lat_delta).cos());
        // The hemispheres bulge in opposite directions, so each takes its own edge as the widest.
        let delta = if latitude < 0.0 { long_delta_bottom } else { long_delta_top };
        [longitude - delta, latitude - lat_delta, longitude + delta, latitude + lat_delta]
    }

    /// The score ranges `[min, max)` to scan, in Redis's order: the centre's cell, then north, south, east, west,
    /// north-east, north-west, south-east, south-west, without the cells that cannot hold a match and without
    /// a cell equal to the one scanned just before it.
    pub fn score_ranges(&self) -> Vec<(u64, u64)> {
        let bounds = self.bounding_box();
        let [min_lon, min_lat, max_lon, max_lat] = bounds;
        let radius_meters = match self.shape {
            Shape::Radius(r) => r,
            Shape::Box { width, height } => ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt(),
        } * self.conversion;
        let [longitude, latitude] = self.center;
        let mut steps = estimate_steps(radius_meters, latitude);
        let around = |steps: u8| {
            let hash = encode_wgs84(longitude, latitude, steps).unwrap_or_default();
            (hash, neighbours(hash), decode(WGS84_LONG, WGS84_LAT, hash))
        };
        let (mut hash, mut n, mut area) = around(steps);

        // Near the edge of the centre's cell the estimated step may leave part of the shape outside the nine
        // cells; one step coarser covers it.
        let edge = |h: Hash| decode(WGS84_LONG, WGS84_LAT, h);
        let decrease = edge(n.north).lat_max < max_lat
            || edge(n.south).lat_min > min_lat
            || edge(n.east).long_max < max_lon
            || edge(n.west).long_min > min_lon;
        if steps > 1 && decrease {
            steps -= 1;
            (hash, n, area) = around(steps);
        }

        if steps >= 2 {
            let zero = Hash::default();
            if area.lat_min < min_lat {
                (n.south, n.south_west, n.south_east) = (zero, zero, zero);
            }
            if area.lat_max > max_lat {
                (n.north, n.north_east, n.north_west) = (zero, zero, zero);
            }
            if area.long_min < min_lon {
                (n.west, n.south_west, n.north_west) = (zero, zero, zero);
            }
            if area.long_max > max_lon {
                (n.east, n.south_east, n.north_east) = (zero, zero, zero);
            }
        }

        let cells = [hash, n.north, n.south, n.east, n.west, n.north_east, n.north_west, n.south_east, n.south_west];
        let mut out = Vec::with_capacity(cells.len());
        // Redis compares with the last cell scanned only once one has been scanned after the centre (its index
        // starts at 0 and doubles as "none yet").
        let mut last_processed = 0usize;
        for (i, cell) in cells.iter().enumerate() {
            if cell.is_zero() {
                continue;
            }
            if last_processed != 0 && *cell == cells[last_processed] {
                continue;
            }
            let min = align52(*cell);
            let max = align52(Hash { bits: cell.bits + 1, step: cell.step });
            out.push((min, max));
            last_processed = i;
        }
        out
    }
}

/// The coarsest step whose cells still cover `range_meters` around `lat`.
fn estimate_steps(range_meters: f64, lat: f64) -> u8 {
    if range_meters == 0.0 {
        return 26;
    }
    let mut range = range_meters;
    let mut step: i32 = 1;
    while range < MERCATOR_MAX {
        range *= 2.0;
        step += 1;
    }
    step -= 2;
    // Cells narrow towards the poles.
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

#[derive(Debug, Clone, Copy)]
struct Neighbours {
    north: Hash,
    south: Hash,
    east: Hash,
    west: Hash,
    north_east: Hash,
    north_west: Hash,
    south_east: Hash,
    south_west: Hash,
}

const ODD_BITS: u64 = 0xaaaa_aaaa_aaaa_aaaa;
const EVEN_BITS: u64 = 0x5555_5555_5555_5555;

/// Moves a hash one cell along the coordinate whose bits `axis` selects (odd bits: longitude, east for `d > 0`;
/// even bits: latitude, north for `d > 0`), wrapping at the edges.
fn step_along(h: Hash, axis: u64, d: i8) -> Hash {
    if d == 0 {
        return h;
    }
    let shift = 64 - h.step as u32 * 2;
    let mut moving = h.bits & axis;
    let fixed = h.bits & !axis;
    // Filling the other coordinate's bits with ones makes the carry or borrow ripple across them.
    let zz = !axis >> shift;
    if d > 0 {
        moving = moving.wrapping_add(zz + 1);
    } else {
        moving |= zz;
        moving = moving.wrapping_sub(zz + 1);
    }
    moving &= axis >> shift;
    Hash { bits: moving | fixed, step: h.step }
}

fn neighbours(h: Hash) -> Neighbours {
    let at = |dx: i8, dy: i8| step_along(step_along(h, ODD_BITS, dx), EVEN_BITS, dy);
    Neighbours {
        east: at(1, 0),
        west: at(-1, 0),
        south: at(0, -1),
        north: at(0, 1),
        north_west: at(-1, 1),
        south_west: at(-1, -1),
        north_east: at(1, 1),
        south_east: at(1, -1),
    }
}

/// A coordinate as Redis prints one (`%.17Lf` with trailing zeros removed): GEOPOS and WITHCOORD.
pub fn format_coordinate(v: f64) -> String {
    let mut s = format!("{v:.17}");
    if s.contains('.') {
        let trimmed = s.trim_end_matches('0').trim_end_matches('.').len();
        s.truncate(trimmed);
    }
    if s == "-0" {
        s = "0".to_string();
    }
    s
}

/// A distance as Redis prints one (`%.4f`): GEODIST and WITHDIST.
pub fn format_distance(v: f64) -> String {
    format!("{v:.4}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_match_redis() {
        // GEOADD Sicily 13.361389 38.115556 "Palermo" 15.087269 37.502669 "Catania" (Redis's documented example).
        assert_eq!(score_of(13.361389, 38.115556), Some(3479099956230698.0));
        assert_eq!(score_of(15.087269, 37.502669), Some(3479447370796909.0));
        assert_eq!(score_of(181.0, 0.0), None);
        assert_eq!(score_of(0.0, 85.06), None);
    }

    #[test]
    fn positions_and_hashes_match_redis() {
        let [x, y] = decode_score(3479099956230698.0);
        assert_eq!(format_coordinate(x), "13.36138933897018433");
        assert_eq!(format_coordinate(y), "38.11555639549629859");
        assert_eq!(&standard_hash(3479099956230698.0), b"sqc8b49rny0");
        assert_eq!(&standard_hash(3479447370796909.0), b"sqdtr74hyu0");
    }

    #[test]
    fn distances_match_redis() {
        let [x1, y1] = decode_score(3479099956230698.0);
        let [x2, y2] = decode_score(3479447370796909.0);
        assert_eq!(format_distance(distance(x1, y1, x2, y2)), "166274.1516");
        assert_eq!(format_distance(distance(x1, y1, x2, y2) / 1000.0), "166.2742");
    }

    #[test]
    fn interleave_round_trips() {
        for (a, b) in [(0u32, 0u32), (1, 2), (0xffff_ffff, 0), (0x1234_5678, 0x9abc_def0)] {
            let d = deinterleave(interleave(a, b));
            assert_eq!((d as u32, (d >> 32) as u32), (a, b));
        }
    }

    #[test]
    fn coordinates_print_like_long_double_human() {
        assert_eq!(format_coordinate(15.0), "15");
        assert_eq!(format_coordinate(-0.0), "0");
        assert_eq!(format_coordinate(0.5), "0.5");
    }
}
