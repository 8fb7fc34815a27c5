//! Deterministic JSON documents with the variety of real data (names, numbers and flags drawn from a seeded
//! xorshift), so the compression tests and benchmarks all measure the same kind of value. Repetitive documents
//! would flatter every codec; these leave LZ4 and zstd the room real data leaves them.

const WORDS: &[&str] = &[
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima",
    "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango", "uniform", "victor",
];

/// Document number `seed`: an id, a user and order items, at least `min_len` bytes long (and at least one item).
pub fn document(seed: usize, min_len: usize) -> String {
    let mut x = (seed as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x as usize
    };
    let mut out = format!(r#"{{"id":{seed},"user":"{}","orders":["#, WORDS[next() % WORDS.len()]);
    loop {
        let (a, b, n) = (next() % WORDS.len(), next() % WORDS.len(), next() % 100_000);
        out += &format!(
            r#"{{"name":"{} {}","qty":{},"price":{}.{:02},"shipped":{}}}"#,
            WORDS[a],
            WORDS[b],
            n % 9,
            n,
            n % 97,
            n % 3 == 0
        );
        if out.len() + 2 >= min_len {
            break;
        }
        out.push(',');
    }
    out += "]}";
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn documents_are_deterministic_distinct_and_long_enough() {
        assert_eq!(super::document(7, 500), super::document(7, 500));
        assert_ne!(super::document(7, 500), super::document(8, 500));
        for len in [1, 100, 2000] {
            let d = super::document(3, len);
            assert!(d.len() >= len && d.ends_with("]}"), "{d}");
        }
    }
}
