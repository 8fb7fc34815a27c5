//! Count-min sketch with RedisBloom's `CMS.*` semantics.
//!
//! Rows hash an item with 32-bit MurmurHash2 seeded by the row number, which is RedisBloom's default ("legacy",
//! `bf-hash-seed` unset) mapping, so the same commands give the same answers as RedisBloom, cell for cell. Cells
//! are 32-bit, RedisBloom's default cell size. An increment or merge that would take a cell past `u32::MAX` (or,
//! for a negative increment, below zero) is refused whole and leaves the sketch untouched, as RedisBloom master
//! does; released 2.x versions saturated the cell instead (see NOTES.md).

use super::topk::murmur2;
use bincode::{Decode, Encode};

/// `CMS.INITBYDIM` width below 1; RedisBloom also answers it for a width that does not parse.
pub const ERR_INVALID_WIDTH: &str = "CMS: invalid width";
/// `CMS.INITBYDIM` depth below 1; RedisBloom also answers it for a depth that does not parse.
pub const ERR_INVALID_DEPTH: &str = "CMS: invalid depth";
/// `CMS.INITBYPROB` error outside (0, 1), or not a number.
pub const ERR_INVALID_OVERESTIMATION: &str = "CMS: invalid overestimation value";
/// `CMS.INITBYPROB` probability outside (0, 1), or not a number.
pub const ERR_INVALID_PROB: &str = "CMS: invalid prob value";
/// Dimensions whose product does not fit a signed 64-bit count, or a computed dimension of 0.
pub const ERR_INVALID_INIT: &str = "CMS: invalid init arguments";
/// The table could not be allocated.
pub const ERR_NO_MEMORY: &str = "CMS: Insufficient memory to create the key";
/// An increment that would take a cell past [`CELL_MAX`] or the total past `i64::MAX` (a per-item reply element).
pub const ERR_OVERFLOW: &str = "CMS: INCRBY overflow";
/// A negative increment larger than a cell or the total (a per-item reply element; RedisBloom master only).
pub const ERR_UNDERFLOW: &str = "CMS: INCRBY underflow";
/// `CMS.MERGE` source whose width or depth differs from the destination's.
pub const ERR_DIMENSIONS: &str = "CMS: width/depth is not equal";
/// `CMS.MERGE` whose weighted sum leaves a cell outside 0..=[`CELL_MAX`] or the total outside 0..=`i64::MAX`.
pub const ERR_MERGE_OVERFLOW: &str = "CMS: MERGE overflow";

// The texts below are the command handlers' own; they live here so that the handlers and the sketch agree.

/// `CMS.INITBYDIM`/`CMS.INITBYPROB` on a key that holds anything, whatever its type.
pub const ERR_KEY_EXISTS: &str = "CMS: key already exists";
/// Any other `CMS.*` command on a missing key (destination or source).
pub const ERR_NO_KEY: &str = "CMS: key does not exist";
/// `CMS.INCRBY` increment that is not a 64-bit integer.
pub const ERR_PARSE_NUMBER: &str = "CMS: Cannot parse number";
/// `CMS.INCRBY` negative increment in released RedisBloom (master accepts it instead).
pub const ERR_NEGATIVE: &str = "CMS: Number cannot be negative";
/// `CMS.INCRBY` increment of `i64::MIN` in RedisBloom master.
pub const ERR_INVALID_INCREMENT: &str = "CMS: invalid increment";
/// `CMS.MERGE` numkeys that is not an integer.
pub const ERR_INVALID_NUMKEYS: &str = "CMS: invalid numkeys";
/// `CMS.MERGE` numkeys below 1.
pub const ERR_NUMKEYS_NOT_POSITIVE: &str = "CMS: Number of keys must be positive";
/// `CMS.MERGE` without `WEIGHTS` whose source count differs from numkeys.
pub const ERR_WRONG_NUM_KEYS: &str = "CMS: wrong number of keys";
/// `CMS.MERGE` with `WEIGHTS` in the wrong place or with the wrong number of weights.
pub const ERR_WRONG_NUM_KEYS_WEIGHTS: &str = "CMS: wrong number of keys/weights";
/// `CMS.MERGE` weight that is not a 64-bit integer.
pub const ERR_INVALID_WEIGHT: &str = "CMS: invalid weight value";

/// The most a cell holds.
pub const CELL_MAX: u64 = u32::MAX as u64;
/// Bytes per cell, which RedisBloom master reports as `cell size` in `CMS.INFO`.
pub const CELL_SIZE: u64 = 4;

/// The total is replied as a RESP integer and RedisBloom computes its headroom against `INT64_MAX`.
const COUNT_MAX: u64 = i64::MAX as u64;

/// A count-min sketch: `depth` rows of `width` 32-bit counters and the sum of all increments.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Cms {
    width: u64,
    depth: u64,
    /// RedisBloom's `counter`: the increments' sum, or after a merge the sources' weighted sum.
    count: u64,
    /// Row after row.
    table: Vec<u32>,
}

/// One source of [`Cms::merge_sources`]: the destination itself (`CMS.MERGE a 2 a b` is legal), or another sketch.
#[derive(Debug, Clone, Copy)]
pub enum MergeSource<'a> {
    Dest,
    Other(&'a Cms),
}

impl Cms {
    /// `CMS.INITBYDIM`. The handler answers [`ERR_INVALID_WIDTH`]/[`ERR_INVALID_DEPTH`] itself for arguments
    /// that do not parse as `i64` or are negative; 0 is refused here with the same texts.
    pub fn new_by_dim(width: u64, depth: u64) -> Result<Cms, &'static str> {
        if width < 1 {
            return Err(ERR_INVALID_WIDTH);
        }
        if depth < 1 {
            return Err(ERR_INVALID_DEPTH);
        }
        Cms::with_dims(width, depth)
    }

    /// `CMS.INITBYPROB`: dimensions from [`dims_from_prob`]. The handler answers the same texts for arguments
    /// that do not parse as doubles.
    pub fn new_by_prob(error: f64, probability: f64) -> Result<Cms, &'static str> {
        // Written so that NaN fails too: RedisModule_StringToDouble refuses "nan" before RedisBloom compares.
        if !(error > 0.0 && error < 1.0) {
            return Err(ERR_INVALID_OVERESTIMATION);
        }
        if !(probability > 0.0 && probability < 1.0) {
            return Err(ERR_INVALID_PROB);
        }
        let (width, depth) = dims_from_prob(error, probability);
        Cms::with_dims(width, depth)
    }

    fn with_dims(width: u64, depth: u64) -> Result<Cms, &'static str> {
        if width < 1 || depth < 1 || width > COUNT_MAX / depth {
            return Err(ERR_INVALID_INIT);
        }
        let cells = usize::try_from(width * depth).map_err(|_| ERR_NO_MEMORY)?;
        // RedisBloom answers a failed allocation with an error rather than dying; a plain vec! would abort.
        let mut table = Vec::new();
        table.try_reserve_exact(cells).map_err(|_| ERR_NO_MEMORY)?;
        table.resize(cells, 0);
        Ok(Cms { width, depth, count: 0, table })
    }

    pub fn width(&self) -> u64 {
        self.width
    }

    pub fn depth(&self) -> u64 {
        self.depth
    }

    /// `CMS.INFO`'s `count`.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Adds `value` (negative to take away) to the item's cell in every row and returns the new estimate, the
    /// smallest of those cells. Refused whole, sketch untouched, with [`ERR_OVERFLOW`] when a cell would pass
    /// [`CELL_MAX`] or the total `i64::MAX`, and with [`ERR_UNDERFLOW`] when a cell or the total would go below 0.
    /// An increment of 0 changes nothing and returns the estimate.
    pub fn incr_by(&mut self, item: &[u8], value: i64) -> Result<u64, &'static str> {
        let magnitude = value.unsigned_abs();
        let total = if value >= 0 {
            self.count.checked_add(magnitude).filter(|&t| t <= COUNT_MAX).ok_or(ERR_OVERFLOW)?
        } else {
            self.count.checked_sub(magnitude).ok_or(ERR_UNDERFLOW)?
        };
        let mut estimate = u64::MAX;
        for row in 0..self.depth {
            let at = self.cell_index(item, row);
            let Some(cell) = self.table.get_mut(at) else { continue };
            let current = u64::from(*cell);
            let updated = if value >= 0 { current.checked_add(magnitude) } else { current.checked_sub(magnitude) };
            match updated.and_then(|u| u32::try_from(u).ok()) {
                Some(u) => {
                    *cell = u;
                    estimate = estimate.min(u64::from(u));
                }
                None => {
                    // Applying row by row and undoing on failure keeps the common path to one hash per row.
                    self.undo_rows(item, row, value, magnitude);
                    return Err(if value >= 0 { ERR_OVERFLOW } else { ERR_UNDERFLOW });
                }
            }
        }
        self.count = total;
        Ok(if estimate == u64::MAX { 0 } else { estimate })
    }

    /// Takes back an increment from rows `0..rows`, where it was applied, so it fits the cells by construction.
    fn undo_rows(&mut self, item: &[u8], rows: u64, value: i64, magnitude: u64) {
        let magnitude = u32::try_from(magnitude).unwrap_or(u32::MAX);
        for row in 0..rows {
            let at = self.cell_index(item, row);
            if let Some(cell) = self.table.get_mut(at) {
                *cell = if value >= 0 { cell.wrapping_sub(magnitude) } else { cell.wrapping_add(magnitude) };
            }
        }
    }

    /// `CMS.QUERY`: the smallest of the item's cells, never below the item's true count.
    pub fn query(&self, item: &[u8]) -> u64 {
        (0..self.depth)
            .map(|row| self.table.get(self.cell_index(item, row)).map_or(0, |&c| u64::from(c)))
            .min()
            .unwrap_or(0)
    }

    /// `CMS.MERGE` from other sketches: see [`Cms::merge_sources`].
    pub fn merge(&mut self, sources: &[(&Cms, i64)]) -> Result<(), &'static str> {
        let sources: Vec<(MergeSource<'_>, i64)> = sources.iter().map(|&(c, w)| (MergeSource::Other(c), w)).collect();
        self.merge_sources(&sources)
    }

    /// `CMS.MERGE`: replaces every cell with the weighted sum of the sources' cells and the total with the
    /// weighted sum of their totals. The destination's own contents count only if it is listed as a source.
    /// Nothing changes on error: [`ERR_DIMENSIONS`] for a source of other dimensions, [`ERR_MERGE_OVERFLOW`] when
    /// a sum leaves 0..=[`CELL_MAX`] (cells) or 0..=`i64::MAX` (total), or an intermediate sum leaves `i64`.
    pub fn merge_sources(&mut self, sources: &[(MergeSource<'_>, i64)]) -> Result<(), &'static str> {
        for (source, _) in sources {
            if let MergeSource::Other(c) = source {
                if c.width != self.width || c.depth != self.depth {
                    return Err(ERR_DIMENSIONS);
                }
            }
        }
        // Checked in full before anything is written, so a failed merge leaves the destination as it was.
        for at in 0..self.table.len() {
            self.merged_cell(sources, at).ok_or(ERR_MERGE_OVERFLOW)?;
        }
        let mut total: i64 = 0;
        for (source, weight) in sources {
            let count = match source {
                MergeSource::Dest => self.count,
                MergeSource::Other(c) => c.count,
            };
            let product = i64::try_from(i128::from(count) * i128::from(*weight)).map_err(|_| ERR_MERGE_OVERFLOW)?;
            total = total.checked_add(product).ok_or(ERR_MERGE_OVERFLOW)?;
        }
        let total = u64::try_from(total).map_err(|_| ERR_MERGE_OVERFLOW)?;
        // Each cell depends only on the same cell of the sources, so the destination can be one of them.
        for at in 0..self.table.len() {
            if let Some(value) = self.merged_cell(sources, at) {
                self.table[at] = value;
            }
        }
        self.count = total;
        Ok(())
    }

    /// One cell of a merge, summed in source order with every step checked as RedisBloom's checkOverflow does.
    fn merged_cell(&self, sources: &[(MergeSource<'_>, i64)], at: usize) -> Option<u32> {
        let mut sum: i64 = 0;
        for (source, weight) in sources {
            let table = match source {
                MergeSource::Dest => &self.table,
                MergeSource::Other(c) => &c.table,
            };
            let cell = i64::from(table.get(at).copied().unwrap_or(0));
            sum = sum.checked_add(cell.checked_mul(*weight)?)?;
        }
        u32::try_from(sum).ok()
    }

    /// Heap bytes the sketch owns (the table), for MEMORY USAGE; the caller adds the value's own size.
    pub fn memory_bytes(&self) -> usize {
        self.table.capacity() * std::mem::size_of::<u32>()
    }

    /// Whether a decoded sketch holds the invariants the arithmetic relies on; a snapshot or RESTORE payload that
    /// fails it must be refused (the methods never panic on one, but their answers would be meaningless).
    pub fn is_consistent(&self) -> bool {
        self.width >= 1
            && self.depth >= 1
            && self.width <= COUNT_MAX / self.depth
            && u64::try_from(self.table.len()).is_ok_and(|len| len == self.width * self.depth)
            && self.count <= COUNT_MAX
    }

    fn cell_index(&self, item: &[u8], row: u64) -> usize {
        // RedisBloom passes its size_t row number to MurmurHash2's uint32_t seed.
        let hash = murmur2(item, row as u32);
        // Below width * depth, the table's length, so it fits usize. The checked and wrapping forms only matter
        // for a corrupt sketch (which is_consistent refuses): it must answer nonsense rather than panic.
        let column = u64::from(hash).checked_rem(self.width).unwrap_or(0);
        row.wrapping_mul(self.width).wrapping_add(column) as usize
    }
}

/// RedisBloom's `CMS_DimFromProb`: width = ceil(2 / error), depth = ceil(log10(probability) / log10(0.5)).
///
/// RedisBloom computes the depth with `log10f`, in single precision. The depth here is the same quantity computed
/// exactly, ceil(-log2(p)) with `p` the probability rounded to `f32`, so that it does not depend on the platform's
/// libm: a replica that replays `CMS.INITBYPROB` must get the dimensions its primary got. It agrees with glibc's
/// `log10f` everywhere except for probabilities within a few float ulps below a power of two (17 of 20 million
/// sampled values, each one row deeper here). Rounding to `f32` first keeps RedisBloom's answer for probabilities
/// that round to 1.0 (depth 0, which [`Cms::new_by_prob`] refuses with [`ERR_INVALID_INIT`]).
pub fn dims_from_prob(error: f64, probability: f64) -> (u64, u64) {
    // `as` saturates, so an absurdly small error gives a width the size check refuses instead of a wrapped one.
    let width = (2.0 / error).ceil() as u64;
    let p = probability as f32;
    let mut depth = 0;
    let mut bound = 1.0f32;
    // Halving a float is exact, so this is the smallest d with 2^-d <= p; the cap covers p rounding to 0.
    while bound > p && depth < 160 {
        bound *= 0.5;
        depth += 1;
    }
    (width, depth)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    use crate::util::test_streams::{Rng, Zipf};

    fn item(rank: usize) -> Vec<u8> {
        format!("item:{rank}").into_bytes()
    }

    #[test]
    fn init_validation_and_texts() {
        assert_eq!(Cms::new_by_dim(0, 5), Err("CMS: invalid width"));
        assert_eq!(Cms::new_by_dim(100, 0), Err("CMS: invalid depth"));
        assert_eq!(Cms::new_by_dim(0, 0), Err("CMS: invalid width"));
        // RedisBloom's test_validation: 2^33 x 2^33 does not fit a signed 64-bit product.
        assert_eq!(Cms::new_by_dim(8_589_934_592, 8_589_934_592), Err("CMS: invalid init arguments"));
        // Fits the product check but not memory.
        assert_eq!(Cms::new_by_dim(1 << 31, 1 << 31), Err("CMS: Insufficient memory to create the key"));

        for (e, p, want) in [
            (0.0, 0.5, ERR_INVALID_OVERESTIMATION),
            (1.0, 0.5, ERR_INVALID_OVERESTIMATION),
            (f64::NAN, 0.5, ERR_INVALID_OVERESTIMATION),
            (1000.0, 0.1, ERR_INVALID_OVERESTIMATION),
            (0.1, 0.0, ERR_INVALID_PROB),
            (0.1, 1.0, ERR_INVALID_PROB),
            (0.1, f64::NAN, ERR_INVALID_PROB),
            // RedisBloom's test_validation: a probability that rounds to 1.0f gives depth 0.
            (0.9, 0.9999999999999999, ERR_INVALID_INIT),
            // ... and an error so small the width does not fit.
            (0.0000000000000000001, 0.9, ERR_INVALID_INIT),
        ] {
            assert_eq!(Cms::new_by_prob(e, p), Err(want), "error {e} prob {p}");
        }
    }

    #[test]
    fn dims_from_prob_as_redisbloom() {
        // RedisBloom's test_simple: CMS.INITBYPROB cms2 0.001 0.01 -> width 2000, depth 7.
        assert_eq!(dims_from_prob(0.001, 0.01), (2000, 7));
        // Values glibc's log10f gives, from the C program in NOTES.md.
        for (e, p, want) in [
            (0.1, 0.1, (20, 4)),
            (0.01, 0.01, (200, 7)),
            (0.001, 0.001, (2000, 10)),
            (0.05, 0.05, (40, 5)),
            (0.002, 0.002, (1000, 9)),
            (0.9, 0.9, (3, 1)),
            (0.5, 0.5, (4, 1)),
            (0.25, 0.25, (8, 2)),
            (0.1, 0.0625, (20, 4)),
        ] {
            assert_eq!(dims_from_prob(e, p), want, "error {e} prob {p}");
        }
        let cms = Cms::new_by_prob(0.001, 0.01).unwrap();
        assert_eq!((cms.width(), cms.depth(), cms.count()), (2000, 7, 0));
    }

    #[test]
    fn documented_examples() {
        // CMS.INITBYDIM test 2000 5; CMS.INCRBY test foo 10 bar 42 -> [10, 42] (redis.io cms.incrby).
        let mut cms = Cms::new_by_dim(2000, 5).unwrap();
        assert_eq!(cms.incr_by(b"foo", 10), Ok(10));
        assert_eq!(cms.incr_by(b"bar", 42), Ok(42));
        assert_eq!([cms.query(b"foo"), cms.query(b"bar"), cms.query(b"baz")], [10, 42, 0]);
        assert_eq!(cms.count(), 52);

        // RedisBloom's test_smallset: even 2 x 2 keeps foo and bar apart.
        let mut cms = Cms::new_by_dim(2, 2).unwrap();
        assert_eq!([cms.incr_by(b"foo", 10), cms.incr_by(b"bar", 42)], [Ok(10), Ok(42)]);
        assert_eq!([cms.query(b"foo"), cms.query(b"bar")], [10, 42]);
        assert_eq!((cms.width(), cms.depth(), cms.count()), (2, 2, 52));
        assert_eq!([cms.incr_by(b"foo", 0), cms.incr_by(b"bar", 0)], [Ok(10), Ok(42)]);

        // RedisBloom's test_incrby_query.
        let mut cms = Cms::new_by_dim(1000, 5).unwrap();
        cms.incr_by(b"bar", 5).unwrap();
        cms.incr_by(b"baz", 42).unwrap();
        assert_eq!([cms.query(b"foo"), cms.query(b"bar"), cms.query(b"baz")], [0, 5, 42]);
    }

    /// RedisBloom's test_overflow, element for element: with the same hash the same items collide (b and c share
    /// their cells in both rows of a 5 x 2 sketch), so the estimates are RedisBloom's own.
    #[test]
    fn overflow_as_redisbloom_master() {
        let large: i64 = 1024 * 1024 * 1024 * 2 - 1;
        let mut cms = Cms::new_by_dim(5, 2).unwrap();
        let round = |cms: &mut Cms| -> Vec<Result<u64, &'static str>> {
            [(&b"a"[..], large), (b"b", 10), (b"c", 7), (b"d", 5)].iter().map(|&(i, v)| cms.incr_by(i, v)).collect()
        };
        let query = |cms: &Cms| -> Vec<u64> { [b"a", b"b", b"c", b"d"].iter().map(|i| cms.query(&i[..])).collect() };
        let l = large as u64;
        assert_eq!(round(&mut cms), [Ok(l), Ok(10), Ok(17), Ok(5)]);
        assert_eq!(query(&cms), [l, 17, 17, 5]);
        assert_eq!(round(&mut cms), [Ok(l * 2), Ok(27), Ok(34), Ok(10)]);
        assert_eq!(query(&cms), [l * 2, 34, 34, 10]);
        assert_eq!(round(&mut cms), [Err("CMS: INCRBY overflow"), Ok(44), Ok(51), Ok(15)]);
        // The refused increment left a untouched and did not count.
        assert_eq!(query(&cms), [l * 2, 51, 51, 15]);
        assert_eq!(cms.count(), 2 * (l + 22) + 22);

        // A cell may reach CELL_MAX exactly.
        let mut cms = Cms::new_by_dim(10, 3).unwrap();
        assert_eq!(cms.incr_by(b"x", u32::MAX as i64), Ok(CELL_MAX));
        assert_eq!(cms.incr_by(b"x", 1), Err(ERR_OVERFLOW));
        assert_eq!(cms.query(b"x"), CELL_MAX);
        assert!(cms.is_consistent());

        // The total is capped at i64::MAX even where no single cell would overflow.
        let mut cms = Cms::new_by_dim(1000, 1).unwrap();
        cms.count = COUNT_MAX - 1;
        assert_eq!(cms.incr_by(b"y", 2), Err(ERR_OVERFLOW));
        assert_eq!(cms.incr_by(b"y", 1), Ok(1));
    }

    #[test]
    fn negative_increments_and_underflow() {
        // RedisBloom master's test_errors: a negative increment underflows an empty sketch.
        let mut cms = Cms::new_by_dim(2000, 10).unwrap();
        assert_eq!(cms.incr_by(b"item", -1), Err("CMS: INCRBY underflow"));
        assert_eq!(cms.incr_by(b"item", i64::MIN), Err(ERR_UNDERFLOW));
        assert_eq!(cms.incr_by(b"item", 5), Ok(5));
        assert_eq!(cms.incr_by(b"other", 3), Ok(3));
        assert_eq!(cms.incr_by(b"item", -2), Ok(3));
        assert_eq!(cms.incr_by(b"item", -4), Err(ERR_UNDERFLOW));
        assert_eq!((cms.query(b"item"), cms.query(b"other"), cms.count()), (3, 3, 6));
    }

    #[test]
    fn merge_as_redisbloom() {
        // test_merge: empty, then non-empty, then mismatched dimensions.
        let a = Cms::new_by_dim(20, 5).unwrap();
        let b = Cms::new_by_dim(20, 5).unwrap();
        let mut dest = Cms::new_by_dim(20, 5).unwrap();
        dest.merge(&[(&a, 1), (&b, 1)]).unwrap();
        assert_eq!(dest.count(), 0);
        let (mut a, mut b) = (a, b);
        a.incr_by(b"a", 21).unwrap();
        b.incr_by(b"a", 21).unwrap();
        dest.merge(&[(&a, 1), (&b, 1)]).unwrap();
        assert_eq!((dest.query(b"a"), dest.count()), (42, 42));
        let large = Cms::new_by_dim(2000, 10).unwrap();
        assert_eq!(dest.merge(&[(&b, 1), (&large, 1)]), Err("CMS: width/depth is not equal"));
        assert_eq!(dest.query(b"a"), 42);

        // test_merge_success: merge, then take one sketch back out with weight -1, then fail doing it twice.
        let mk = || Cms::new_by_dim(1000, 5).unwrap();
        let (mut c1, mut c2, mut c3) = (mk(), mk(), mk());
        for i in 0..100 {
            c1.incr_by(format!("foo{i}").as_bytes(), 1).unwrap();
            c2.incr_by(format!("bar{i}").as_bytes(), 1).unwrap();
            c3.incr_by(format!("baz{i}").as_bytes(), 1).unwrap();
        }
        let mut c5 = mk();
        c5.merge(&[(&c1, 1), (&c2, 1), (&c3, 1)]).unwrap();
        let mut c6 = mk();
        c6.merge(&[(&c5, 1), (&c3, -1)]).unwrap();
        assert_eq!(c6.count(), 200);
        for i in 0..100 {
            assert_eq!(c6.query(format!("foo{i}").as_bytes()), 1);
            assert_eq!(c6.query(format!("bar{i}").as_bytes()), 1);
            assert_eq!(c6.query(format!("baz{i}").as_bytes()), 0);
        }
        let mut again = mk();
        again.merge(&[(&c3, -1), (&c5, 1)]).unwrap();
        assert_eq!(again, c6);
        // CMS.MERGE cms6 2 cms6 cms3 WEIGHTS 1 -1: the destination is a source.
        let before = c6.clone();
        assert_eq!(
            c6.merge_sources(&[(MergeSource::Dest, 1), (MergeSource::Other(&c3), -1)]),
            Err("CMS: MERGE overflow")
        );
        assert_eq!(c6, before);
        // CMS.MERGE cms1 2 cms1 cms2 WEIGHTS 1 -1 (test_merge_success_large's shape) empties cms1.
        let mut d1 = c1.clone();
        d1.merge_sources(&[(MergeSource::Dest, 1), (MergeSource::Other(&c1), -1)]).unwrap();
        assert_eq!((d1.count(), d1.query(b"foo1")), (0, 0));

        // Weight overflow of an intermediate product.
        let mut big = mk();
        big.incr_by(b"x", 10).unwrap();
        assert_eq!(dest_of(&big).merge(&[(&big, i64::MAX)]), Err(ERR_MERGE_OVERFLOW));
        // A cell above CELL_MAX.
        assert_eq!(dest_of(&big).merge(&[(&big, 1 << 30)]), Err(ERR_MERGE_OVERFLOW));
        assert_eq!(dest_of(&big).merge(&[(&big, 3)]).map(|_| ()), Ok(()));
    }

    fn dest_of(c: &Cms) -> Cms {
        Cms::new_by_dim(c.width(), c.depth()).unwrap()
    }

    /// Estimates never fall below the truth, and overshoot error * total for at most a `probability` share of
    /// items, on a Zipf(1.0) stream of 100,000 events.
    #[test]
    fn zipf_error_bounds() {
        let zipf = Zipf::new(20_000, 1.0);
        let mut rng = Rng(0x00c0_ffee);
        let events: Vec<usize> = (0..100_000).map(|_| zipf.sample(&mut rng)).collect();
        let mut truth: HashMap<usize, u64> = HashMap::new();
        for &e in &events {
            *truth.entry(e).or_default() += 1;
        }
        for (error, probability) in [(0.001, 0.01), (0.01, 0.05), (0.0005, 0.001)] {
            let mut cms = Cms::new_by_prob(error, probability).unwrap();
            for &e in &events {
                cms.incr_by(&item(e), 1).unwrap();
            }
            assert_eq!(cms.count(), events.len() as u64);
            let bound = error * events.len() as f64;
            let (mut over, mut max_over, mut sum_over) = (0usize, 0u64, 0u64);
            for (&rank, &count) in &truth {
                let estimate = cms.query(&item(rank));
                assert!(estimate >= count, "rank {rank}: estimate {estimate} below true count {count}");
                let excess = estimate - count;
                max_over = max_over.max(excess);
                sum_over += excess;
                if excess as f64 > bound {
                    over += 1;
                }
            }
            let share = over as f64 / truth.len() as f64;
            println!(
                "CMS error={error} prob={probability} ({}x{}): {} distinct items, bound error*N={bound}, \
                 max overestimate {max_over}, mean {:.3}, share over bound {share:.5} ({over})",
                cms.width(),
                cms.depth(),
                truth.len(),
                sum_over as f64 / truth.len() as f64,
            );
            assert!(share <= probability, "share {share} over bound exceeds {probability}");
        }
    }

    #[test]
    fn bincode_round_trip() {
        let mut cms = Cms::new_by_dim(300, 4).unwrap();
        for i in 0..1000u32 {
            cms.incr_by(&i.to_le_bytes(), i64::from(i % 7)).unwrap();
        }
        let cfg = bincode::config::standard();
        let bytes = bincode::encode_to_vec(&cms, cfg).unwrap();
        let (back, used): (Cms, usize) = bincode::decode_from_slice(&bytes, cfg).unwrap();
        assert_eq!(used, bytes.len());
        assert_eq!(back, cms);
        assert!(back.is_consistent());
        assert_eq!(back.query(&5u32.to_le_bytes()), cms.query(&5u32.to_le_bytes()));

        let mut broken = cms.clone();
        broken.table.pop();
        assert!(!broken.is_consistent());
        // A sketch that fails the check still answers without panicking.
        let _ = broken.query(b"anything");
        let _ = broken.incr_by(b"anything", 1);
    }

    #[test]
    fn memory_bytes_counts_the_table() {
        let cms = Cms::new_by_dim(2000, 5).unwrap();
        assert_eq!(cms.memory_bytes(), 2000 * 5 * 4);
    }
}
