//! Byte strings stored in place: the per-key cost of the key table.
//!
//! A `Bytes` is 32 bytes plus a separate allocation (and a second one, its shared header, the first time it is
//! cloned). Most keys and many string values are a few dozen bytes or less, so the table keeps them inside the
//! slot: [`Key`] holds up to [`Key::INLINE`] bytes in its own 24 bytes and only longer keys in a heap buffer of
//! exactly their length; [`Inline`] is the fixed-capacity buffer both use, and what small string values are
//! stored in (`StrValue::Inline`); [`HeapBytes`] holds longer string values in 12 bytes. Written here rather than
//! taken from a crate because the crates that inline (smallvec, compact_str, smol_str) are either 32 bytes for
//! this capacity or UTF-8 only, and thin boxed slices (thin-vec and friends) put the length (and a capacity) in
//! the allocation: 8 to 16 bytes more per value, a size class up for values near the top of theirs.

use bytes::Bytes;
use std::fmt;
use std::ops::Deref;

/// Up to `N` bytes (N < 256) held in place.
#[derive(Clone, Copy)]
pub struct Inline<const N: usize> {
    len: u8,
    data: [u8; N],
}

impl<const N: usize> Inline<N> {
    /// `b` in place, or `None` when it is longer than `N`.
    #[inline]
    pub fn new(b: &[u8]) -> Option<Self> {
        if b.len() > N {
            return None;
        }
        let mut data = [0u8; N];
        data[..b.len()].copy_from_slice(b);
        Some(Inline { len: b.len() as u8, data })
    }

    /// The bytes held.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        &self.data[..self.len as usize]
    }
}

impl<const N: usize> Deref for Inline<N> {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl<const N: usize> PartialEq for Inline<N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<const N: usize> fmt::Debug for Inline<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&Bytes::copy_from_slice(self), f)
    }
}

/// A key (or set member, hash field) as the key table stores it: 24 bytes, no allocation up to
/// [`Key::INLINE`] bytes.
#[derive(Clone)]
pub enum Key {
    Inline(Inline<22>),
    Heap(Box<[u8]>),
}

const _: () = assert!(std::mem::size_of::<Key>() == 24);

impl Key {
    /// Longest key held without an allocation.
    pub const INLINE: usize = 22;

    /// A copy of `b`.
    #[inline]
    pub fn new(b: &[u8]) -> Key {
        match Inline::new(b) {
            Some(i) => Key::Inline(i),
            None => Key::Heap(b.into()),
        }
    }

    /// The key as `Bytes` (a copy: replies and change records outlive the slot).
    pub fn to_bytes(&self) -> Bytes {
        Bytes::copy_from_slice(self)
    }

    /// Heap bytes held beyond the 24 in the slot.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Key::Inline(_) => 0,
            Key::Heap(b) => b.len(),
        }
    }
}

impl Deref for Key {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        match self {
            Key::Inline(i) => i.as_slice(),
            Key::Heap(b) => b,
        }
    }
}

impl From<&[u8]> for Key {
    fn from(b: &[u8]) -> Key {
        Key::new(b)
    }
}

impl From<&str> for Key {
    fn from(s: &str) -> Key {
        Key::new(s.as_bytes())
    }
}

impl From<Bytes> for Key {
    fn from(b: Bytes) -> Key {
        Key::new(&b)
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self[..] == other[..]
    }
}

impl Eq for Key {}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Key) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Key) -> std::cmp::Ordering {
        self[..].cmp(&other[..])
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&Bytes::copy_from_slice(self), f)
    }
}

/// Owned bytes behind a thin handle: a pointer and a `u32` length, 12 bytes aligned to 4, so an enum that holds
/// it beside a one-byte tag (`StrValue`) is 16 bytes where a `Box<[u8]>` (16 bytes aligned to 8) makes it 24.
/// The allocation is a `Box<[u8]>`'s: built from one and turned back into one without a copy.
#[repr(C, packed(4))]
pub struct HeapBytes {
    ptr: std::ptr::NonNull<u8>,
    len: u32,
}

// SAFETY: a HeapBytes owns its allocation exclusively, as the Box<[u8]> it was made from does.
unsafe impl Send for HeapBytes {}
// SAFETY: shared access only reads, as for Box<[u8]>.
unsafe impl Sync for HeapBytes {}

impl HeapBytes {
    /// Takes `b` over, or gives it back when it is longer than a `u32` can say.
    pub fn from_box(b: Box<[u8]>) -> Result<HeapBytes, Box<[u8]>> {
        let Ok(len) = u32::try_from(b.len()) else { return Err(b) };
        let raw = Box::into_raw(b);
        // SAFETY: `Box::into_raw` never returns null.
        let ptr = unsafe { std::ptr::NonNull::new_unchecked(raw.cast::<u8>()) };
        Ok(HeapBytes { ptr, len })
    }

    /// The allocation as the `Box<[u8]>` it was made from.
    pub fn into_box(self) -> Box<[u8]> {
        let me = std::mem::ManuallyDrop::new(self);
        let (ptr, len) = (me.ptr, me.len);
        // SAFETY: `ptr`/`len` came from `Box::into_raw` of a boxed slice of that length; `me` is not dropped, so
        // the allocation has exactly one owner again.
        unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr.as_ptr(), len as usize)) }
    }
}

impl Deref for HeapBytes {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        let (ptr, len) = (self.ptr, self.len);
        // SAFETY: `ptr` owns `len` initialised bytes (a boxed slice's, dangling when empty).
        unsafe { std::slice::from_raw_parts(ptr.as_ptr(), len as usize) }
    }
}

impl Drop for HeapBytes {
    fn drop(&mut self) {
        let (ptr, len) = (self.ptr, self.len);
        // SAFETY: as in `into_box`; `drop` runs once.
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr.as_ptr(), len as usize)) });
    }
}

impl Clone for HeapBytes {
    fn clone(&self) -> HeapBytes {
        let len = self.len;
        let ptr = Box::into_raw(Box::<[u8]>::from(&**self));
        // SAFETY: as in `from_box`; the copy has this one's length, which fits a u32.
        HeapBytes { ptr: unsafe { std::ptr::NonNull::new_unchecked(ptr.cast::<u8>()) }, len }
    }
}

impl PartialEq for HeapBytes {
    fn eq(&self, other: &HeapBytes) -> bool {
        self[..] == other[..]
    }
}

impl fmt::Debug for HeapBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&Bytes::copy_from_slice(self), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_stay_in_place_and_long_ones_are_copied_whole() {
        for len in [0, 1, 21, 22, 23, 100] {
            let b: Vec<u8> = (0..len as u8).collect();
            let k = Key::new(&b);
            assert_eq!(&k[..], &b[..]);
            assert_eq!(matches!(k, Key::Inline(_)), len <= Key::INLINE, "{len}");
            assert_eq!(k.heap_bytes(), if len <= Key::INLINE { 0 } else { len });
            assert_eq!(k.to_bytes(), Bytes::from(b.clone()));
            assert_eq!(k.clone(), k);
        }
        assert!(Inline::<4>::new(b"12345").is_none());
        assert_eq!(&Inline::<4>::new(b"1234").unwrap()[..], b"1234");
        assert!(Key::from("a") < Key::from("b"));
    }

    #[test]
    fn heap_bytes_hold_a_boxed_slice_in_twelve_bytes() {
        assert_eq!(std::mem::size_of::<HeapBytes>(), 12);
        for len in [0usize, 1, 15, 100, 5000] {
            let b: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let h = HeapBytes::from_box(b.clone().into_boxed_slice()).unwrap();
            assert_eq!(&h[..], &b[..]);
            let c = h.clone();
            assert_eq!(c, h);
            drop(h);
            assert_eq!(&c[..], &b[..]);
            assert_eq!(&*c.into_box(), &b[..]);
        }
    }
}
