//! The compressed cold tier: string values nobody has read for `compression-cold-seconds` are compressed against
//! a dictionary sampled from the keyspace's own values, with LZ4 first and zstd for values colder still.
//!
//! Plain per-value compression saves little on small documents because each value starts with an empty window; a
//! dictionary of typical content gives every value a primed window. Two codecs share one dictionary version:
//! - LZ4 (lz4_flex's block API) uses the most recent samples as its window. It decodes a 2 KB value in well under
//!   a microsecond, so it suits values that may still be read.
//! - zstd uses a dictionary trained from many samples (`zstd::dict::from_samples`), which keeps the fragments
//!   that recur across values, and entropy-codes what remains: JSON shrinks to roughly 0.6 of its LZ4 size, at
//!   a few times LZ4's decoding cost. Training takes long enough (tenths of a second) that it runs on a thread of
//!   its own; the cron installs the result on a later tick.
//!
//! `compression-algorithm` picks the policy: `lz4` (LZ4 only), `zstd` (zstd as soon as a value is cold) or
//! `auto` (LZ4 when cold, recompressed with zstd once idle for `compression-zstd-seconds`). Each value keeps
//! whichever form pays: zstd only when it saves an eighth of the LZ4 form, any codec only when it saves an eighth
//! of the original; a value that nothing shrinks is marked incompressible until it changes.
//!
//! Dictionaries are versioned: each compressed value holds an `Arc` to the one it was made with, so old
//! dictionaries live exactly as long as values need them (only their decoding side: the encoding tables of the
//! current version live in the tier), and a new one is built when the data drifts (the recent compression ratio
//! of either codec falls well behind the ratio measured when the dictionary was made). Reads decompress into the
//! reply; a value read again while still warm is stored raw again.

use crate::memory::ColdBuf;
use bytes::Bytes;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use zstd::zstd_safe::{self, CParameter, DParameter, FrameFormat};

/// Largest dictionary LZ4 can use (its window).
pub const DICT_MAX: usize = 64 * 1024;
/// Largest trained zstd dictionary. Training keeps only fragments that recur across samples, so unlike the LZ4
/// window a larger dictionary keeps paying, and it costs nothing per value to decode with.
pub const ZSTD_DICT_MAX: usize = 64 * 1024;
/// zstd level for cold values: each is compressed once and read rarely, so a level above the default's 3 is
/// worth its compression time.
pub const ZSTD_LEVEL: i32 = 9;

/// The codec a value is compressed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Lz4,
    Zstd,
}

impl Codec {
    /// The name OBJECT ENCODING and INFO use.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Lz4 => "lz4",
            Codec::Zstd => "zstd",
        }
    }
}

/// `compression-algorithm`, in the order of its config enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Algorithm {
    /// LZ4 when cold, zstd once idle for `compression-zstd-seconds`.
    #[default]
    Auto,
    Lz4,
    Zstd,
}

impl Algorithm {
    /// Names in config order (index = discriminant).
    pub const NAMES: &'static [&'static str] = &["auto", "lz4", "zstd"];

    /// From the config enum's index; unknown indexes read as the default.
    pub fn from_u8(v: u8) -> Algorithm {
        match v {
            1 => Algorithm::Lz4,
            2 => Algorithm::Zstd,
            _ => Algorithm::Auto,
        }
    }

    /// Seconds of idleness after which a cold value is worth zstd, or `None` when zstd is not used.
    pub fn zstd_after(self, cold_secs: u32, zstd_secs: u32) -> Option<u32> {
        match self {
            Algorithm::Lz4 => None,
            Algorithm::Zstd => Some(cold_secs),
            Algorithm::Auto => Some(zstd_secs.max(cold_secs)),
        }
    }
}

/// One dictionary version: what a value compressed with it needs to be read back.
pub struct Dictionary {
    pub id: u32,
    /// The LZ4 dictionary (recent samples, concatenated).
    pub bytes: Vec<u8>,
    /// The trained zstd dictionary, prepared for decoding once so a read does not digest it again. `None` when
    /// training was not asked for or failed (too few or too uniform samples): zstd values then use no dictionary.
    zstd: Option<zstd_safe::DDict<'static>>,
    zstd_len: usize,
    /// The totals of the tier that built it: values compressed with it count there.
    pub totals: Arc<Totals>,
}

impl std::fmt::Debug for Dictionary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dictionary")
            .field("id", &self.id)
            .field("lz4_bytes", &self.bytes.len())
            .field("zstd_bytes", &self.zstd_len)
            .finish()
    }
}

impl Dictionary {
    /// Size of the trained zstd dictionary (0 without one).
    pub fn zstd_len(&self) -> usize {
        self.zstd_len
    }
}

/// A compressed string value. Every one alive is counted in its dictionary's [`Totals`] (made, cloned and
/// dropped), so INFO reads the compressed tier's size without walking the keyspace.
#[derive(Debug)]
pub struct Compressed {
    /// A [`HEAD`]-byte header (codec, settled, original length as u32 LE, the dictionary: one strong count of
    /// an `Arc<Dictionary>` as a raw pointer) and then the compressed bytes. The header lives in the allocation
    /// so the struct is 12 bytes and a `StrValue` holds it in 16 without a box of its own (a 32-byte allocation
    /// per compressed value saved). In the compressed values' own arena (see [`ColdBuf`]).
    data: ColdBuf,
}

/// Bytes of a compressed value's header: codec, settled (an LZ4 value zstd was tried on and did not pay for: the
/// cold cycle leaves it as it is), original length, dictionary pointer.
const HEAD: usize = 6 + DICT_PTR;
const DICT_PTR: usize = std::mem::size_of::<usize>();
const _: () = assert!(std::mem::size_of::<Compressed>() == 12);

#[derive(Debug, Default)]
struct Counts {
    values: AtomicU64,
    stored: AtomicU64,
    saved: AtomicU64,
}

impl Counts {
    fn get(&self) -> (u64, u64, u64) {
        (self.values.load(Relaxed), self.stored.load(Relaxed), self.saved.load(Relaxed))
    }
}

/// Running totals of the compressed values alive, per codec: how many, their compressed bytes, and the bytes
/// they save.
#[derive(Debug, Default)]
pub struct Totals {
    lz4: Counts,
    zstd: Counts,
}

impl Totals {
    fn change(&self, c: &Compressed, add: bool) {
        let k = match c.codec() {
            Codec::Lz4 => &self.lz4,
            Codec::Zstd => &self.zstd,
        };
        let stored = c.stored_len() as u64;
        let saved = (c.len() as u64).saturating_sub(stored);
        if add {
            k.values.fetch_add(1, Relaxed);
            k.stored.fetch_add(stored, Relaxed);
            k.saved.fetch_add(saved, Relaxed);
        } else {
            k.values.fetch_sub(1, Relaxed);
            k.stored.fetch_sub(stored, Relaxed);
            k.saved.fetch_sub(saved, Relaxed);
        }
    }

    /// (values, their compressed bytes, bytes saved) over both codecs, for INFO memory.
    pub fn get(&self) -> (u64, u64, u64) {
        let (a, b) = (self.lz4.get(), self.zstd.get());
        (a.0 + b.0, a.1 + b.1, a.2 + b.2)
    }

    /// The same for one codec.
    pub fn codec(&self, codec: Codec) -> (u64, u64, u64) {
        match codec {
            Codec::Lz4 => self.lz4.get(),
            Codec::Zstd => self.zstd.get(),
        }
    }
}

impl Compressed {
    /// `payload` compressed from `len` bytes with `codec` against `dict`.
    fn build(payload: &[u8], len: u32, dict: Arc<Dictionary>, codec: Codec) -> Compressed {
        // The header takes over `dict`'s strong count; `Drop` gives it back.
        let ptr = (Arc::into_raw(dict) as usize).to_le_bytes();
        Self::counted(ColdBuf::concat(&[&[codec as u8, 0], &len.to_le_bytes(), &ptr, payload]))
    }

    fn counted(data: ColdBuf) -> Compressed {
        let c = Compressed { data };
        c.dict().totals.change(&c, true);
        c
    }

    fn dict_ptr(&self) -> *const Dictionary {
        let mut ptr = [0u8; DICT_PTR];
        ptr.copy_from_slice(&self.data[6..HEAD]);
        usize::from_le_bytes(ptr) as *const Dictionary
    }

    /// The dictionary the value was compressed against.
    fn dict(&self) -> &Dictionary {
        // SAFETY: the header holds a strong count of this `Arc` for as long as the value lives (`build`, `clone`,
        // `drop`), so the dictionary outlives the borrow of `self`.
        unsafe { &*self.dict_ptr() }
    }

    fn payload(&self) -> &[u8] {
        &self.data[HEAD..]
    }

    /// True for an LZ4 value zstd was tried on and did not pay for.
    fn is_settled(&self) -> bool {
        self.data[1] != 0
    }

    fn set_settled(&mut self) {
        self.data[1] = 1;
    }
}

impl Clone for Compressed {
    fn clone(&self) -> Self {
        // SAFETY: the pointer is a live `Arc<Dictionary>` (see `dict`); the copy of the header holds the new count.
        unsafe { Arc::increment_strong_count(self.dict_ptr()) };
        Compressed::counted(self.data.clone())
    }
}

impl Drop for Compressed {
    fn drop(&mut self) {
        self.dict().totals.change(self, false);
        // SAFETY: gives back the strong count the header took in `build` or `clone`, once.
        drop(unsafe { Arc::from_raw(self.dict_ptr()) });
    }
}

impl PartialEq for Compressed {
    fn eq(&self, other: &Self) -> bool {
        self.decompress() == other.decompress()
    }
}

impl Compressed {
    /// Length of the original value.
    pub fn len(&self) -> usize {
        u32::from_le_bytes([self.data[2], self.data[3], self.data[4], self.data[5]]) as usize
    }

    /// True for an empty original (never compressed in practice).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes the compressed form occupies, header included.
    pub fn stored_len(&self) -> usize {
        self.data.len()
    }

    /// The dictionary version used.
    pub fn dict_id(&self) -> u32 {
        self.dict().id
    }

    fn settled(mut self) -> Compressed {
        self.set_settled();
        self
    }

    /// The codec used.
    pub fn codec(&self) -> Codec {
        if self.data[0] == Codec::Zstd as u8 {
            Codec::Zstd
        } else {
            Codec::Lz4
        }
    }

    /// The original bytes.
    pub fn decompress(&self) -> Vec<u8> {
        // Our own output always decompresses; should it not, an empty string is answered rather than a panic.
        let len = self.len();
        match self.codec() {
            // The length is only a hint to LZ4: a damaged block can decode to another length without an error.
            Codec::Lz4 => lz4_flex::block::decompress_with_dict(self.payload(), len, &self.dict().bytes)
                .ok()
                .filter(|out| out.len() == len)
                .unwrap_or_default(),
            Codec::Zstd => zstd_decompress(self.payload(), len, self.dict().zstd.as_ref()).unwrap_or_default(),
        }
    }
}

thread_local! {
    /// One decoding context per thread, made on first use: creating one allocates about 100 KB, far more than
    /// decoding a value costs.
    static DCTX: std::cell::RefCell<Option<zstd_safe::DCtx<'static>>> = const { std::cell::RefCell::new(None) };
}

/// Frames are written without the magic number, dictionary id, content size or checksum (the value already
/// records its length and dictionary, and a checksum per value would cost more than the frame): 2 header bytes
/// instead of about 11, which matters for values of a few hundred bytes.
fn zstd_decompress(src: &[u8], len: usize, dict: Option<&zstd_safe::DDict<'static>>) -> Option<Vec<u8>> {
    DCTX.with(|cell| {
        let mut slot = cell.try_borrow_mut().ok()?;
        if slot.is_none() {
            let mut d = zstd_safe::DCtx::try_create()?;
            d.set_parameter(DParameter::Format(FrameFormat::Magicless)).ok()?;
            *slot = Some(d);
        }
        let dctx = slot.as_mut()?;
        // A damaged frame that would grow past `len` fails here for want of room instead of allocating more.
        let mut out = Vec::with_capacity(len);
        let n = match dict {
            Some(d) => dctx.decompress_using_ddict(&mut out, src, d),
            None => dctx.decompress(&mut out, src),
        }
        .ok()?;
        (n == len).then_some(out)
    })
}

fn zstd_compress(value: &[u8], cdict: Option<&zstd_safe::CDict<'static>>) -> Option<Vec<u8>> {
    let mut cctx = zstd_safe::CCtx::try_create()?;
    match cdict {
        Some(c) => cctx.ref_cdict(c).ok()?,
        None => cctx.set_parameter(CParameter::CompressionLevel(ZSTD_LEVEL)).ok()?,
    };
    for p in [
        CParameter::Format(FrameFormat::Magicless),
        CParameter::ContentSizeFlag(false),
        CParameter::ChecksumFlag(false),
        CParameter::DictIdFlag(false),
    ] {
        cctx.set_parameter(p).ok()?;
    }
    let mut out = Vec::with_capacity(zstd_safe::compress_bound(value.len()));
    cctx.compress2(&mut out, value).ok()?;
    Some(out)
}

/// True when `packed` bytes are worth keeping in place of `original` bytes: they save at least an eighth.
fn pays(packed: usize, original: usize) -> bool {
    packed <= original - original / 8
}

/// LZ4-compresses `value`; `None` when that would not save at least an eighth.
pub fn compress(value: &[u8], dict: &Arc<Dictionary>) -> Option<Compressed> {
    if value.len() > u32::MAX as usize {
        return None;
    }
    let out = lz4_flex::block::compress_with_dict(value, &dict.bytes);
    if !pays(out.len(), value.len()) {
        return None;
    }
    Some(Compressed::build(&out, value.len() as u32, dict.clone(), Codec::Lz4))
}

/// Builds an LZ4-only dictionary from sample values: their concatenation, most recent last (LZ4 favours near
/// matches), capped at [`DICT_MAX`].
pub fn build_dictionary(id: u32, samples: &[Bytes]) -> Dictionary {
    let mut bytes = Vec::with_capacity(DICT_MAX);
    for s in samples.iter().rev() {
        if bytes.len() + s.len() > DICT_MAX {
            break;
        }
        bytes.extend_from_slice(s);
    }
    Dictionary { id, bytes, zstd: None, zstd_len: 0, totals: Arc::default() }
}

/// The compressing side of the current dictionary version. Only the tier holds it: values keep the
/// [`Dictionary`] (decoding side) alone, so a superseded version does not keep its encoding tables alive.
pub struct Encoder {
    pub dict: Arc<Dictionary>,
    /// The trained zstd dictionary prepared for compression at [`ZSTD_LEVEL`].
    zstd: Option<zstd_safe::CDict<'static>>,
    /// zstd training was asked for when this version was built (whether or not it produced a dictionary).
    zstd_trained: bool,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder").field("dict", &self.dict).field("zstd_trained", &self.zstd_trained).finish()
    }
}

impl Encoder {
    /// Builds a dictionary version from sample values: the LZ4 dictionary always, and a trained zstd dictionary
    /// when `zstd` is set (the slow part). `totals` is where values made with it are counted.
    pub fn train(id: u32, samples: &[Bytes], zstd: bool, totals: Arc<Totals>) -> Encoder {
        let mut dict = Dictionary { totals, ..build_dictionary(id, samples) };
        let mut cdict = None;
        if zstd {
            let trained = zstd::dict::from_samples(samples, ZSTD_DICT_MAX).ok();
            let prepared = trained
                .as_ref()
                .and_then(|t| Some((zstd_safe::CDict::try_create(t, ZSTD_LEVEL)?, zstd_safe::DDict::try_create(t)?)));
            if let (Some(t), Some((c, d))) = (trained.as_ref(), prepared) {
                dict.zstd = Some(d);
                dict.zstd_len = t.len();
                cdict = Some(c);
            }
        }
        Encoder { dict: Arc::new(dict), zstd: cdict, zstd_trained: zstd }
    }

    /// LZ4-compresses `value`; `None` when that does not pay.
    pub fn lz4(&self, value: &[u8]) -> Option<Compressed> {
        compress(value, &self.dict)
    }

    /// zstd-compresses `value` with the trained dictionary (or none, when training found nothing); `None` when
    /// that does not pay.
    pub fn zstd(&self, value: &[u8]) -> Option<Compressed> {
        if value.len() > u32::MAX as usize {
            return None;
        }
        let out = zstd_compress(value, self.zstd.as_ref())?;
        if !pays(out.len(), value.len()) {
            return None;
        }
        Some(Compressed::build(&out, value.len() as u32, self.dict.clone(), Codec::Zstd))
    }

    /// The smaller of the zstd form and `lz4` (the LZ4 form, if it paid): zstd only when it saves an eighth over
    /// LZ4, since it is slower to read. An LZ4 value chosen here is settled: the cycle does not try zstd again.
    pub fn best(&self, value: &[u8], lz4: Option<Compressed>) -> Option<Compressed> {
        let z = self.zstd(value);
        match (z, lz4) {
            (Some(z), Some(l)) if !pays(z.stored_len(), l.stored_len()) => Some(l.settled()),
            (Some(z), _) => Some(z),
            (None, l) => l.map(Compressed::settled),
        }
    }

    /// Whether this version can make zstd values as the policy means them (trained, or tried to).
    pub fn has_zstd(&self) -> bool {
        self.zstd_trained
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(i: usize) -> Vec<u8> {
        format!(
            r#"{{"id":{i},"user":{{"name":"user-{i}","email":"user{i}@example.com","plan":"premium"}},"items":[{{"sku":"A-{}","qty":{}}}],"status":"active","created_at":"2026-11-{:02}T10:00:00Z"}}"#,
            i * 7 % 1000,
            i % 5,
            i % 28 + 1
        )
        .into_bytes()
    }

    #[test]
    fn dictionary_compression_round_trips_and_beats_plain_lz4() {
        let samples: Vec<Bytes> = (0..200).map(|i| Bytes::from(doc(i))).collect();
        let dict = Arc::new(build_dictionary(1, &samples));
        let v = doc(5000);
        let c = compress(&v, &dict).expect("compressible");
        assert_eq!(c.decompress(), v);
        let plain = lz4_flex::block::compress(&v);
        assert!(c.stored_len() < plain.len(), "{} vs {}", c.stored_len(), plain.len());
    }

    #[test]
    fn incompressible_values_are_refused() {
        let dict = Arc::new(build_dictionary(1, &[]));
        let mut x: u64 = 99;
        let random: Vec<u8> = (0..1000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        assert!(compress(&random, &dict).is_none());
        let enc = Encoder::train(1, &[], true, Arc::default());
        assert!(enc.zstd(&random).is_none());
    }

    /// Documents with less repetition than `doc`, closer to real data: words and numbers drawn at random.
    fn varied(i: usize) -> Vec<u8> {
        crate::util::sample::document(i, 550).into_bytes()
    }

    fn trained(n: usize) -> Encoder {
        let samples: Vec<Bytes> = (0..n).map(|i| Bytes::from(varied(i))).collect();
        Encoder::train(1, &samples, true, Arc::default())
    }

    #[test]
    fn zstd_with_a_trained_dictionary_round_trips_and_beats_lz4() {
        let enc = trained(1000);
        assert!(enc.dict.zstd_len() > 0, "training produced a dictionary");
        for i in [5000, 5001, 77_777] {
            let v = varied(i);
            let z = enc.zstd(&v).expect("compressible");
            assert_eq!(z.codec(), Codec::Zstd);
            assert_eq!(z.decompress(), v);
            let l = enc.lz4(&v).expect("compressible");
            assert!(z.stored_len() < l.stored_len(), "{} vs {}", z.stored_len(), l.stored_len());
        }
        let (values, stored, _) = enc.dict.totals.codec(Codec::Zstd);
        assert_eq!(values, 0, "the values above were dropped");
        assert_eq!(stored, 0);
    }

    #[test]
    fn zstd_without_a_trained_dictionary_still_round_trips() {
        // Too few samples to train from: zstd values use no dictionary.
        let enc = trained(3);
        assert_eq!(enc.dict.zstd_len(), 0);
        let v = varied(1).repeat(4);
        let z = enc.zstd(&v).expect("compressible");
        assert_eq!(z.decompress(), v);
        assert_eq!(z.clone().decompress(), v);
    }

    #[test]
    fn damaged_data_reads_as_empty_instead_of_panicking() {
        let enc = trained(1000);
        let v = varied(42);
        for c in [enc.zstd(&v).expect("compressible"), enc.lz4(&v).expect("compressible")] {
            let mut bad = c.clone();
            let mut data = bad.data.to_vec();
            for (i, b) in data.iter_mut().enumerate().skip(HEAD) {
                *b ^= (i as u8).wrapping_mul(37) | 1;
            }
            bad.data = ColdBuf::from(&data[..]);
            let out = bad.decompress();
            assert!(out.is_empty() || out.len() == v.len());
            bad.data = ColdBuf::from(&c.data[..HEAD + (c.data.len() - HEAD) / 2]);
            assert!(bad.decompress().is_empty());
        }
    }

    #[test]
    fn the_smaller_codec_is_kept_and_lz4_is_settled() {
        let enc = trained(1000);
        let v = varied(9);
        let best = enc.best(&v, enc.lz4(&v)).expect("compressible");
        assert_eq!(best.codec(), Codec::Zstd);
        // The templated documents are mostly long matches against LZ4's window of recent samples: there zstd
        // often does not save an eighth over LZ4, and LZ4 is kept and not tried again.
        let samples: Vec<Bytes> = (0..1000).map(|i| Bytes::from(doc(i))).collect();
        let enc = Encoder::train(1, &samples, true, Arc::default());
        let mut kept_lz4 = 0;
        for i in 5000..5050 {
            let v = doc(i);
            let (z, l) = (enc.zstd(&v).expect("compressible"), enc.lz4(&v).expect("compressible"));
            let best = enc.best(&v, enc.lz4(&v)).expect("compressible");
            let want = if pays(z.stored_len(), l.stored_len()) { Codec::Zstd } else { Codec::Lz4 };
            assert_eq!(best.codec(), want);
            assert_eq!(best.is_settled(), want == Codec::Lz4);
            assert_eq!(best.decompress(), v);
            kept_lz4 += usize::from(want == Codec::Lz4);
        }
        assert!(kept_lz4 > 0, "some templated documents stay LZ4");
    }

    #[test]
    fn policies_decide_when_zstd_applies() {
        assert_eq!(Algorithm::Lz4.zstd_after(1, 300), None);
        assert_eq!(Algorithm::Zstd.zstd_after(1, 300), Some(1));
        assert_eq!(Algorithm::Auto.zstd_after(1, 300), Some(300));
        assert_eq!(Algorithm::Auto.zstd_after(600, 300), Some(600));
        assert_eq!(Algorithm::from_u8(2), Algorithm::Zstd);
        assert_eq!(Algorithm::NAMES[Algorithm::Lz4 as usize], "lz4");
    }
}

/// Settings for one pass of the cold cycle.
#[derive(Debug, Clone, Copy)]
pub struct ColdParams {
    pub min_size: usize,
    pub cold_secs: u32,
    /// Idle seconds after which a value is compressed (or recompressed) with zstd; `None`: LZ4 only. See
    /// [`Algorithm::zstd_after`].
    pub zstd_after: Option<u32>,
    pub lru_now: u32,
    pub deadline: std::time::Instant,
    /// Bytes left below `maxmemory` (`None`: no limit). Sampling and training allocate, and eviction cannot free
    /// that memory, so near the limit they shrink or wait rather than make eviction empty the keyspace.
    pub headroom: Option<u64>,
}

impl ColdParams {
    /// zstd is wanted and there is room below `maxmemory` to train its dictionary.
    fn may_train_zstd(&self) -> bool {
        self.zstd_after.is_some() && self.headroom.is_none_or(|h| h >= TRAIN_HEADROOM)
    }
}

/// Values sampled to build an LZ4-only dictionary (only the most recent 64 KB of them are used).
const SAMPLES: usize = 256;
/// Values sampled when a zstd dictionary is trained too: the trainer wants on the order of a hundred times the
/// dictionary's size in samples to tell recurring fragments from chance ones.
const ZSTD_SAMPLES: usize = 2048;
/// Samples are copies (a shared reference would keep an evicted or overwritten value's memory allocated while
/// training runs, and eviction would then empty the keyspace chasing memory that cannot come back): each at
/// most this long...
const SAMPLE_MAX: usize = 4096;
/// ...and all of them together at most this much, and at most an eighth of the room left below `maxmemory`.
const SAMPLE_BUDGET: usize = 4 << 20;
/// A zstd dictionary is trained only with at least this much room below `maxmemory`: the trainer's own tables
/// take several times its samples, on a thread eviction cannot reclaim from (until then LZ4 serves alone).
const TRAIN_HEADROOM: u64 = 64 << 20;
/// Slots examined per shard per pass (the cycle's bounded work).
const SLOTS_PER_PASS: usize = 1024;
/// Slots examined between two looks at the clock: a zstd compression takes tens of microseconds.
const DEADLINE_STRIDE: u32 = 64;
/// Compressions per window when watching for drift.
const DRIFT_WINDOW: u64 = 20_000;

/// One codec's drift watch.
#[derive(Debug, Default, Clone, Copy)]
struct Window {
    bytes_in: u64,
    bytes_out: u64,
    count: u64,
    /// The ratio of the first full window after the one skipped.
    base: Option<f64>,
    /// The first window after a rebuild (which includes the sampled values themselves, so compresses
    /// unrealistically well) was skipped.
    warmed: bool,
}

/// A background training's state.
#[derive(Debug, Default)]
enum Training {
    #[default]
    Idle,
    Running,
    Done(Encoder),
}

/// State of the compressed tier: the current dictionary, the sweep position and the drift watch.
#[derive(Debug, Default)]
pub struct Tier {
    /// The compressed values alive, whichever dictionary they use.
    pub totals: Arc<Totals>,
    current: parking_lot::RwLock<Option<Arc<Encoder>>>,
    next_id: AtomicU32,
    cursors: parking_lot::Mutex<Vec<u32>>,
    /// Drift watch per codec (LZ4, zstd).
    windows: parking_lot::Mutex<[Window; 2]>,
    /// Shared with the training thread, which leaves its result here for the cron to install.
    training: Arc<parking_lot::Mutex<Training>>,
    /// Bytes a running training holds (its samples and the trainer's copy of them): allocated, but nothing
    /// eviction could take back, so not counted against `maxmemory` (INFO's mem_not_counted_for_evict).
    training_bytes: Arc<AtomicU64>,
}

impl Tier {
    /// The current dictionary's version (0 before the first).
    pub fn dict_id(&self) -> u32 {
        self.current.read().as_ref().map_or(0, |e| e.dict.id)
    }

    /// Size of the current version's trained zstd dictionary (0 without one).
    pub fn zstd_dict_len(&self) -> usize {
        self.current.read().as_ref().map_or(0, |e| e.dict.zstd_len())
    }

    /// Bytes held by a training in progress (see `training_bytes`).
    pub fn training_bytes(&self) -> u64 {
        self.training_bytes.load(Relaxed)
    }

    /// True while a dictionary is being trained in the background.
    pub fn training(&self) -> bool {
        matches!(*self.training.lock(), Training::Running)
    }

    fn install(&self, enc: Encoder) {
        *self.current.write() = Some(Arc::new(enc));
        *self.windows.lock() = Default::default();
    }

    /// Samples values and builds a new dictionary version: at once for LZ4 alone, on a thread of its own when a
    /// zstd dictionary must be trained (the next passes install it).
    fn build(&self, ks: &super::Keyspace, p: &ColdParams) {
        use rand::Rng;
        let zstd = p.may_train_zstd();
        let budget = p.headroom.map_or(SAMPLE_BUDGET, |h| SAMPLE_BUDGET.min((h / 8) as usize));
        if zstd && !matches!(*self.training.lock(), Training::Idle) {
            return;
        }
        let mut rng = rand::thread_rng();
        // Sample from the shards that hold keys (most databases are usually empty), compressed values included:
        // they are the data too.
        let occupied: Vec<usize> = (0..ks.total_shards()).filter(|&g| !ks.lock_gid(g).data.dict.is_empty()).collect();
        if occupied.is_empty() {
            return;
        }
        let want = if zstd { ZSTD_SAMPLES } else { SAMPLES };
        let mut samples = Vec::new();
        let mut budget = budget;
        for _ in 0..want * 4 {
            if samples.len() >= want || budget == 0 {
                break;
            }
            let shard = ks.lock_gid(occupied[rng.gen_range(0..occupied.len())]);
            let Some(idx) = shard.data.dict.random_slot(&mut rng) else { continue };
            if let Some(super::Entry { value: super::Value::Str(s), .. }) = shard.data.entry(idx) {
                if !matches!(s, super::StrValue::Int(_)) && s.len() >= p.min_size {
                    // The stored bytes, not a copy: a sample takes only the first SAMPLE_MAX of a value that may
                    // be megabytes long, under the shard lock.
                    let b = s.bytes();
                    let take = b.len().min(SAMPLE_MAX).min(budget);
                    budget -= take;
                    samples.push(Bytes::copy_from_slice(&b[..take]));
                }
            }
        }
        if samples.len() < 8 {
            return;
        }
        let id = self.next_id.fetch_add(1, Relaxed) + 1;
        let totals = self.totals.clone();
        if !zstd {
            self.install(Encoder::train(id, &samples, false, totals));
            return;
        }
        *self.training.lock() = Training::Running;
        let slot = self.training.clone();
        let held = self.training_bytes.clone();
        // The samples, and the trainer's contiguous copy of them.
        held.store(2 * samples.iter().map(|s| s.len() as u64).sum::<u64>(), Relaxed);
        let spawned = std::thread::Builder::new().name("strata-dict".into()).spawn(move || {
            let enc = Encoder::train(id, &samples, true, totals);
            drop(samples);
            *slot.lock() = Training::Done(enc);
            held.store(0, Relaxed);
        });
        if let Err(e) = spawned {
            tracing::warn!("cannot start the dictionary training thread: {e}");
            *self.training.lock() = Training::Idle;
            self.training_bytes.store(0, Relaxed);
        }
    }

    /// Notes a compression for the drift watch; drops the dictionary when recent data compresses much worse than
    /// the data it was built from, so the next pass builds a fresh one.
    fn note(&self, codec: Codec, original: usize, compressed: usize) {
        let mut ws = self.windows.lock();
        let w = &mut ws[codec as usize];
        w.bytes_in += original as u64;
        w.bytes_out += compressed as u64;
        w.count += 1;
        if w.count < DRIFT_WINDOW {
            return;
        }
        let ratio = w.bytes_out as f64 / w.bytes_in.max(1) as f64;
        let fresh = |base, warmed| Window { base, warmed, ..Window::default() };
        match (w.warmed, w.base) {
            (false, _) => *w = fresh(None, true),
            (true, None) => *w = fresh(Some(ratio), true),
            (true, Some(base)) if ratio > base * 1.25 => {
                *ws = Default::default();
                drop(ws);
                *self.current.write() = None;
            }
            (true, Some(base)) => *w = fresh(Some(base), true),
        }
    }

    /// Compresses a value being written, when every value counts as cold (`compression-cold-seconds 0`), so it
    /// never occupies its raw size at all; with zstd when `zstd` and the dictionary has it. `None` when there is
    /// no dictionary yet or it does not pay.
    pub fn compress_on_write(&self, value: &[u8], zstd: bool) -> Option<Compressed> {
        let enc = self.current.read().clone()?;
        let lz4 = enc.lz4(value);
        let c = if zstd && enc.has_zstd() { enc.best(value, lz4) } else { lz4 }?;
        self.note(c.codec(), value.len(), c.stored_len());
        Some(c)
    }

    /// Compresses a value that was cold when its snapshot was saved, as the snapshot loads, so the tier comes back
    /// as it was instead of the whole keyspace raw until the cycle gets through it (twice the memory for a while,
    /// and evictions under `maxmemory`). Until the tier has a dictionary the values are kept as samples (copies,
    /// within the usual budget); with enough of them an LZ4 version is built on the spot (zstd is trained later by
    /// the cycle, as after any build). `None`: kept raw (no dictionary yet, or compression does not pay).
    pub fn compress_loaded(&self, value: &[u8], samples: &mut Vec<Bytes>) -> Option<Compressed> {
        if self.current.read().is_none() {
            let used: usize = samples.iter().map(|s| s.len()).sum();
            let take = value.len().min(SAMPLE_MAX).min(SAMPLE_BUDGET.saturating_sub(used));
            if take > 0 {
                samples.push(Bytes::copy_from_slice(&value[..take]));
            }
            if samples.len() >= SAMPLES || take == 0 {
                let id = self.next_id.fetch_add(1, Relaxed) + 1;
                self.install(Encoder::train(id, samples, false, self.totals.clone()));
                samples.clear();
            }
            return None;
        }
        self.compress_on_write(value, false)
    }

    /// One bounded pass: compresses cold, large-enough string values shard by shard until the deadline, and
    /// recompresses with zstd the LZ4 values idle past `zstd_after`. Returns the number of values compressed.
    pub fn cycle(&self, ks: &super::Keyspace, p: ColdParams) -> usize {
        {
            let mut t = self.training.lock();
            if matches!(*t, Training::Done(_)) {
                if let Training::Done(enc) = std::mem::take(&mut *t) {
                    drop(t);
                    self.install(enc);
                }
            }
        }
        let current = self.current.read().clone();
        // A version built for LZ4 alone is replaced once zstd is wanted (and there is room to train it); it keeps
        // serving LZ4 meanwhile.
        let enc = match current {
            Some(enc) if !p.may_train_zstd() || enc.has_zstd() => enc,
            Some(enc) => {
                self.build(ks, &p);
                enc
            }
            None => {
                self.build(ks, &p);
                return 0;
            }
        };
        let zstd_after = p.zstd_after.filter(|_| enc.has_zstd());
        let total = ks.total_shards();
        let mut cursors = self.cursors.lock();
        if cursors.len() != total {
            *cursors = vec![0; total];
        }
        let mut done = 0;
        'shards: for gid in 0..total {
            if std::time::Instant::now() >= p.deadline {
                break;
            }
            let mut shard = ks.lock_gid(gid);
            let end = shard.data.dict.slot_count() as u32;
            let mut i = cursors[gid].min(end);
            let stop = (i as usize + SLOTS_PER_PASS).min(end as usize) as u32;
            while i < stop {
                if i.is_multiple_of(DEADLINE_STRIDE) && std::time::Instant::now() >= p.deadline {
                    cursors[gid] = i;
                    break 'shards;
                }
                if let Some(e) = shard.data.entry_mut(i) {
                    if self.visit(&enc, e, &p, zstd_after) {
                        done += 1;
                    }
                }
                i += 1;
            }
            cursors[gid] = if i >= end { 0 } else { i };
        }
        done
    }

    /// Compresses one entry if it is due; true when it was (re)compressed.
    fn visit(&self, enc: &Encoder, e: &mut super::Entry, p: &ColdParams, zstd_after: Option<u32>) -> bool {
        use super::{StrValue, Value};
        let idle = p.lru_now.saturating_sub(e.access);
        if idle < p.cold_secs {
            return false;
        }
        let zstd_due = zstd_after.is_some_and(|z| idle >= z);
        let Value::Str(s) = &mut e.value else { return false };
        let made = match s {
            StrValue::Bytes(_) | StrValue::Raw(_) => {
                let b = s.buf().unwrap_or_default();
                if b.len() < p.min_size || e.flags & super::Entry::INCOMPRESSIBLE != 0 {
                    return false;
                }
                // A value LZ4 cannot shrink may still pay with zstd (entropy coding helps text LZ4 finds no
                // repeats in); it is cold already, so it is tried at once rather than waiting for `zstd_after`.
                let lz4 = enc.lz4(b);
                let c = if zstd_due || (lz4.is_none() && zstd_after.is_some()) { enc.best(b, lz4) } else { lz4 };
                if c.is_none() {
                    e.flags |= super::Entry::INCOMPRESSIBLE;
                }
                c
            }
            StrValue::Compressed(c) if zstd_due && c.codec() == Codec::Lz4 && !c.is_settled() => {
                let raw = c.decompress();
                match enc.zstd(&raw) {
                    Some(z) if pays(z.stored_len(), c.stored_len()) => Some(z),
                    _ => {
                        c.set_settled();
                        None
                    }
                }
            }
            _ => None,
        };
        let Some(c) = made else { return false };
        self.note(c.codec(), c.len(), c.stored_len());
        *s = StrValue::Compressed(c);
        true
    }
}
