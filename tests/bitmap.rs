//! Bitmap commands: SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD BITFIELD_RO, checked against Redis 7.0's exact
//! replies and error texts.

mod common;
use common::*;
use redis::Value;

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

const BIT_OFFSET: &str = "ERR bit offset is not an integer or out of range";
const BAD_TYPE: &str =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

fn ints(v: &[i64]) -> Value {
    arr(v.iter().map(|&n| i(n)).collect())
}

// ---------------------------------------------------------------------------------------------------------------
// SETBIT / GETBIT
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn setbit_getbit() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SETBIT", "b", "7", "1"], i(0));
    expect(&mut c, &["GET", "b"], b("\x01"));
    expect(&mut c, &["SETBIT", "b", "7", "0"], i(1));
    expect(&mut c, &["SETBIT", "b", "7", "0"], i(0));
    expect(&mut c, &["GET", "b"], b("\x00"));
    // Setting a bit to the value it has changes nothing: no dirty count, and WATCH does not see it.
    let dirty = |c: &mut redis::Connection| -> i64 {
        let info: String = q(c, &["INFO", "persistence"]);
        let line = info.lines().find(|l| l.starts_with("rdb_changes_since_last_save:")).expect("field");
        line["rdb_changes_since_last_save:".len()..].trim().parse().expect("number")
    };
    let mut w = s.conn();
    expect(&mut w, &["WATCH", "b"], OK);
    let before = dirty(&mut c);
    expect(&mut c, &["SETBIT", "b", "7", "0"], i(0));
    expect(&mut c, &["SETBIT", "b", "3", "0"], i(0));
    assert_eq!(dirty(&mut c), before);
    expect(&mut w, &["MULTI"], OK);
    expect(&mut w, &["GET", "b"], redis::Value::SimpleString("QUEUED".into()));
    expect(&mut w, &["EXEC"], arr(vec![b("\x00")]));
    // Growing the value is a change even when the bit is 0.
    expect(&mut c, &["SETBIT", "b", "15", "0"], i(0));
    assert_eq!(dirty(&mut c), before + 1);
    expect(&mut c, &["SETBIT", "b", "0", "1"], i(0));
    expect(&mut c, &["GETBIT", "b", "0"], i(1));
    expect(&mut c, &["GETBIT", "b", "1"], i(0));
    expect(&mut c, &["GETBIT", "b", "7"], i(0));
    expect(&mut c, &["GETBIT", "b", "100"], i(0));
    expect(&mut c, &["GETBIT", "missing", "0"], i(0));
    expect(&mut c, &["GETBIT", "missing", "4294967295"], i(0));
    expect(&mut c, &["EXISTS", "missing"], i(0));
    // Setting a far bit grows the string with zero bytes.
    expect(&mut c, &["SETBIT", "b", "100", "1"], i(0));
    expect(&mut c, &["STRLEN", "b"], i(13));
    expect(&mut c, &["GETBIT", "b", "100"], i(1));
    assert_eq!(valb(&mut c, &[b"GET", b"b"]), bb(b"\x80\0\0\0\0\0\0\0\0\0\0\0\x08"));
    expect(&mut c, &["SETBIT", "grow", "23", "1"], i(0));
    assert_eq!(valb(&mut c, &[b"GET", b"grow"]), bb(b"\0\0\x01"));
    // Clearing a bit past the end still grows the string.
    expect(&mut c, &["SETBIT", "clear", "15", "0"], i(0));
    assert_eq!(valb(&mut c, &[b"GET", b"clear"]), bb(b"\0\0"));
    // Bits of an existing value.
    assert_eq!(valb(&mut c, &[b"SET", b"s", b"\xff\xf0\x00"]), OK);
    expect(&mut c, &["GETBIT", "s", "0"], i(1));
    expect(&mut c, &["GETBIT", "s", "11"], i(1));
    expect(&mut c, &["GETBIT", "s", "12"], i(0));
    expect(&mut c, &["SETBIT", "s", "12", "1"], i(0));
    assert_eq!(valb(&mut c, &[b"GET", b"s"]), bb(b"\xff\xf8\x00"));
    // An integer-encoded string is turned into raw bytes.
    expect(&mut c, &["SET", "numstr", "12"], OK);
    expect(&mut c, &["OBJECT", "ENCODING", "numstr"], b("int"));
    expect(&mut c, &["SETBIT", "numstr", "0", "1"], i(0));
    assert_eq!(valb(&mut c, &[b"GET", b"numstr"]), bb(b"\xb12"));
    expect(&mut c, &["OBJECT", "ENCODING", "numstr"], b("raw"));
    assert_eq!(valb(&mut c, &[b"SETBIT", b"\x00bin", b"3", b"1"]), i(0));
    assert_eq!(valb(&mut c, &[b"GET", b"\x00bin"]), bb(b"\x10"));
    // Largest offset: checked, but not allocated here.
    expect(&mut c, &["GETBIT", "s", "4294967295"], i(0));
}

#[test]
fn setbit_getbit_errors() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SETBIT", "b", "0", "1"], i(0));
    for bad in ["2", "-1", "abc", "", "10", " 1"] {
        expect_err(&mut c, &["SETBIT", "b", "0", bad], "ERR bit is not an integer or out of range");
    }
    for bad in ["-1", "abc", "4294967296", "1.5", "", "99999999999999999999"] {
        expect_err(&mut c, &["SETBIT", "b", bad, "1"], BIT_OFFSET);
        expect_err(&mut c, &["GETBIT", "b", bad], BIT_OFFSET);
    }
    expect_err(&mut c, &["SETBIT", "b", "0"], &arity("setbit"));
    expect_err(&mut c, &["SETBIT", "b", "0", "1", "2"], &arity("setbit"));
    expect_err(&mut c, &["GETBIT", "b"], &arity("getbit"));
    expect_err(&mut c, &["GETBIT", "b", "0", "1"], &arity("getbit"));
    assert_eq!(valb(&mut c, &[b"GET", b"b"]), bb(b"\x80"));
    // SETBIT keeps the TTL.
    expect(&mut c, &["SET", "t", "v", "EX", "100"], OK);
    expect(&mut c, &["SETBIT", "t", "0", "1"], i(0));
    expect(&mut c, &["TTL", "t"], i(100));
}

#[test]
fn bit_offset_limit_follows_proto_max_bulk_len() {
    let s = TestServer::start_with(&["--proto-max-bulk-len", "1048576"]);
    let mut c = s.conn();
    expect_err(&mut c, &["SETBIT", "b", "8388608", "1"], BIT_OFFSET);
    expect(&mut c, &["EXISTS", "b"], i(0));
    expect(&mut c, &["SETBIT", "b", "8388607", "1"], i(0));
    expect(&mut c, &["STRLEN", "b"], i(1048576));
    expect(&mut c, &["GETBIT", "b", "8388607"], i(1));
    expect_err(&mut c, &["GETBIT", "b", "8388608"], BIT_OFFSET);
    expect_err(&mut c, &["BITFIELD", "b", "GET", "u8", "8388608"], BIT_OFFSET);
    expect(&mut c, &["BITFIELD", "b", "GET", "u8", "8388600"], ints(&[1]));
    expect(&mut c, &["BITCOUNT", "b"], i(1));
    expect(&mut c, &["BITPOS", "b", "1"], i(8388607));
}

#[test]
fn setbit_many_bits() {
    let s = TestServer::start();
    let mut c = s.conn();
    let offsets = [0u64, 1, 9, 63, 64, 1000, 4095, 77777];
    for &o in &offsets {
        expect(&mut c, &["SETBIT", "m", &o.to_string(), "1"], i(0));
    }
    expect(&mut c, &["BITCOUNT", "m"], i(offsets.len() as i64));
    for &o in &offsets {
        expect(&mut c, &["GETBIT", "m", &o.to_string()], i(1));
        expect(&mut c, &["GETBIT", "m", &(o + 2).to_string()], i(0));
    }
    expect(&mut c, &["STRLEN", "m"], i(77777 / 8 + 1));
    expect(&mut c, &["BITPOS", "m", "1", "1"], i(9));
    expect(&mut c, &["BITPOS", "m", "1", "2"], i(63));
    expect(&mut c, &["BITPOS", "m", "0"], i(2));
}

// ---------------------------------------------------------------------------------------------------------------
// BITCOUNT
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn bitcount() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SET", "mykey", "foobar"], OK);
    for (args, want) in [
        (&[][..], 26),
        (&["0", "0"], 4),
        (&["1", "1"], 6),
        (&["1", "1", "BYTE"], 6),
        (&["5", "30", "BIT"], 17),
        (&["0", "-1"], 26),
        (&["-2", "-1"], 7),
        (&["-100", "100"], 26),
        (&["4", "2"], 0),
        (&["100", "200"], 0),
        (&["-1", "-2"], 0),
        (&["0", "-1", "BIT"], 26),
        (&["-8", "-1", "BIT"], 4),
        (&["0", "0", "BIT"], 0),
        (&["1", "1", "BIT"], 1),
        (&["47", "47", "BIT"], 0),
        (&["46", "46", "BIT"], 1),
        (&["48", "100", "BIT"], 0),
        (&["0", "9223372036854775807"], 26),
        (&["-9223372036854775808", "-1"], 26),
        (&["0", "9223372036854775807", "BIT"], 26),
        (&["-9223372036854775808", "-1", "BIT"], 26),
        (&["0", "1", "byte"], 10),
        (&["0", "1", "bit"], 1),
    ] {
        let mut a = vec!["BITCOUNT", "mykey"];
        a.extend_from_slice(args);
        expect(&mut c, &a, i(want));
    }
    expect_err(&mut c, &["BITCOUNT", "mykey", "0", "1", "FOO"], SYNTAX);
    expect_err(&mut c, &["BITCOUNT", "mykey", "0"], SYNTAX);
    expect_err(&mut c, &["BITCOUNT", "mykey", "0", "1", "BYTE", "extra"], SYNTAX);
    expect_err(&mut c, &["BITCOUNT", "mykey", "a", "1"], NOT_INT);
    expect_err(&mut c, &["BITCOUNT", "mykey", "0", "b"], NOT_INT);
    expect_err(&mut c, &["BITCOUNT"], &arity("bitcount"));
    // A missing key counts 0 before its arguments are even looked at.
    expect(&mut c, &["BITCOUNT", "missing"], i(0));
    expect(&mut c, &["BITCOUNT", "missing", "0", "-1"], i(0));
    expect(&mut c, &["BITCOUNT", "missing", "0", "10", "BIT"], i(0));
    expect(&mut c, &["BITCOUNT", "missing", "0"], i(0));
    expect(&mut c, &["SET", "empty", ""], OK);
    expect(&mut c, &["BITCOUNT", "empty"], i(0));
    expect(&mut c, &["BITCOUNT", "empty", "0", "-1"], i(0));
    assert_eq!(valb(&mut c, &[b"SET", b"allones", b"\xff\xff\xff\xff"]), OK);
    expect(&mut c, &["BITCOUNT", "allones"], i(32));
    expect(&mut c, &["BITCOUNT", "allones", "1", "2"], i(16));
    expect(&mut c, &["BITCOUNT", "allones", "3", "10", "BIT"], i(8));
    // Integer-encoded strings count their decimal text.
    expect(&mut c, &["SET", "n", "12345"], OK);
    expect(&mut c, &["BITCOUNT", "n"], i(17));
}

// ---------------------------------------------------------------------------------------------------------------
// BITPOS
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn bitpos() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(valb(&mut c, &[b"SET", b"bp", b"\xff\xf0\x00"]), OK);
    expect(&mut c, &["BITPOS", "bp", "0"], i(12));
    expect(&mut c, &["BITPOS", "bp", "1"], i(0));
    assert_eq!(valb(&mut c, &[b"SET", b"bp2", b"\x00\xff\xf0"]), OK);
    assert_eq!(valb(&mut c, &[b"SET", b"zeros", b"\x00\x00\x00"]), OK);
    assert_eq!(valb(&mut c, &[b"SET", b"ones", b"\xff\xff\xff"]), OK);
    expect(&mut c, &["SET", "empty", ""], OK);
    for (args, want) in [
        (&["bp2", "1", "0"][..], 8),
        (&["bp2", "1", "2"], 16),
        (&["bp2", "1", "2", "-1", "BYTE"], 16),
        (&["bp2", "1", "7", "15", "BIT"], 8),
        (&["bp2", "1", "7", "-3", "BIT"], 8),
        (&["bp2", "0", "8", "-1", "BIT"], 20),
        (&["bp2", "1", "-1"], 16),
        (&["bp2", "1", "-100"], 8),
        (&["bp2", "1", "100"], -1),
        (&["bp2", "0", "100"], -1),
        (&["bp2", "1", "2", "1"], -1),
        (&["bp2", "1", "0", "-1", "bit"], 8),
        (&["bp2", "0", "1", "1", "byte"], -1),
        (&["zeros", "1"], -1),
        (&["zeros", "0"], 0),
        (&["zeros", "1", "0", "-1"], -1),
        (&["zeros", "1", "0", "-1", "BIT"], -1),
        (&["zeros", "0", "5", "-1", "BIT"], 5),
        // No end given: a string of ones has its first clear bit just past the end.
        (&["ones", "0"], 24),
        (&["ones", "0", "0"], 24),
        (&["ones", "0", "1"], 24),
        // With an explicit end, it does not.
        (&["ones", "0", "0", "-1"], -1),
        (&["ones", "0", "0", "-1", "BIT"], -1),
        (&["ones", "1", "1"], 8),
        (&["ones", "0", "2", "-1", "BYTE"], -1),
        (&["ones", "0", "8", "15", "BIT"], -1),
        (&["ones", "1", "9", "15", "BIT"], 9),
        (&["missing", "0"], 0),
        (&["missing", "1"], -1),
        (&["missing", "0", "5"], 0),
        (&["missing", "1", "0", "-1", "BIT"], -1),
        (&["missing", "1", "abc"], -1),
        (&["empty", "0"], -1),
        (&["empty", "1"], -1),
        (&["empty", "0", "0", "-1", "BIT"], -1),
    ] {
        let mut a = vec!["BITPOS"];
        a.extend_from_slice(args);
        expect(&mut c, &a, i(want));
    }
    expect_err(&mut c, &["BITPOS", "bp", "2"], "ERR The bit argument must be 1 or 0.");
    expect_err(&mut c, &["BITPOS", "bp", "-1"], "ERR The bit argument must be 1 or 0.");
    expect_err(&mut c, &["BITPOS", "missing", "2"], "ERR The bit argument must be 1 or 0.");
    expect_err(&mut c, &["BITPOS", "bp", "abc"], NOT_INT);
    expect_err(&mut c, &["BITPOS", "bp", "1", "abc"], NOT_INT);
    expect_err(&mut c, &["BITPOS", "bp", "1", "0", "abc"], NOT_INT);
    expect_err(&mut c, &["BITPOS", "bp", "1", "0", "1", "FOO"], SYNTAX);
    expect_err(&mut c, &["BITPOS", "bp", "1", "0", "1", "BIT", "extra"], SYNTAX);
    expect_err(&mut c, &["BITPOS", "bp"], &arity("bitpos"));
    expect_err(&mut c, &["BITPOS"], &arity("bitpos"));
}

// ---------------------------------------------------------------------------------------------------------------
// BITOP
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn bitop() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SET", "k1", "foobar"], OK);
    expect(&mut c, &["SET", "k2", "abcdef"], OK);
    expect(&mut c, &["BITOP", "AND", "dest", "k1", "k2"], i(6));
    expect(&mut c, &["GET", "dest"], b("`bc`ab"));
    expect(&mut c, &["BITOP", "OR", "dest", "k1", "k2"], i(6));
    expect(&mut c, &["GET", "dest"], b("goofev"));
    expect(&mut c, &["BITOP", "XOR", "dest", "k1", "k2"], i(6));
    assert_eq!(valb(&mut c, &[b"GET", b"dest"]), bb(b"\x07\x0d\x0c\x06\x04\x14"));
    expect(&mut c, &["BITOP", "NOT", "dest", "k1"], i(6));
    assert_eq!(valb(&mut c, &[b"GET", b"dest"]), bb(b"\x99\x90\x90\x9d\x9e\x8d"));
    expect(&mut c, &["BITOP", "and", "dest", "k1", "k2"], i(6));
    expect(&mut c, &["BITOP", "AnD", "dest", "k1"], i(6));
    expect(&mut c, &["GET", "dest"], b("foobar"));
    // Shorter inputs are zero-padded.
    assert_eq!(valb(&mut c, &[b"SET", b"short", b"\xff"]), OK);
    expect(&mut c, &["BITOP", "AND", "dest", "k1", "short"], i(6));
    assert_eq!(valb(&mut c, &[b"GET", b"dest"]), bb(b"f\0\0\0\0\0"));
    expect(&mut c, &["BITOP", "OR", "dest", "k1", "short"], i(6));
    assert_eq!(valb(&mut c, &[b"GET", b"dest"]), bb(b"\xffoobar"));
    expect(&mut c, &["BITOP", "XOR", "dest", "short", "k1"], i(6));
    assert_eq!(valb(&mut c, &[b"GET", b"dest"]), bb(b"\x99oobar"));
    // Missing keys are empty strings.
    expect(&mut c, &["BITOP", "AND", "dest", "k1", "missing"], i(6));
    assert_eq!(valb(&mut c, &[b"GET", b"dest"]), bb(b"\0\0\0\0\0\0"));
    expect(&mut c, &["BITOP", "OR", "dest", "missing", "k1"], i(6));
    expect(&mut c, &["GET", "dest"], b("foobar"));
    // An empty result deletes the destination.
    expect(&mut c, &["BITOP", "AND", "dest", "missing", "missing2"], i(0));
    expect(&mut c, &["EXISTS", "dest"], i(0));
    expect(&mut c, &["SET", "dest", "preexisting"], OK);
    expect(&mut c, &["BITOP", "OR", "dest", "missing"], i(0));
    expect(&mut c, &["EXISTS", "dest"], i(0));
    expect(&mut c, &["SET", "dest", "preexisting"], OK);
    expect(&mut c, &["BITOP", "NOT", "dest", "missing"], i(0));
    expect(&mut c, &["EXISTS", "dest"], i(0));
    expect(&mut c, &["SET", "empty", ""], OK);
    expect(&mut c, &["BITOP", "NOT", "empty-not", "empty"], i(0));
    expect(&mut c, &["EXISTS", "empty-not"], i(0));
    // Destination can be a source.
    expect(&mut c, &["BITOP", "XOR", "k1", "k1", "k2"], i(6));
    assert_eq!(valb(&mut c, &[b"GET", b"k1"]), bb(b"\x07\x0d\x0c\x06\x04\x14"));
    expect(&mut c, &["SET", "k1", "foobar"], OK);
    expect(&mut c, &["BITOP", "AND", "self", "k1", "k1", "k1"], i(6));
    expect(&mut c, &["GET", "self"], b("foobar"));
    // Integer-encoded sources use their text.
    expect(&mut c, &["SET", "n", "12"], OK);
    expect(&mut c, &["BITOP", "OR", "dest", "n"], i(2));
    expect(&mut c, &["GET", "dest"], b("12"));
    // BITOP replaces the destination, dropping its TTL.
    expect(&mut c, &["SET", "t", "v", "EX", "100"], OK);
    expect(&mut c, &["BITOP", "NOT", "t", "k1"], i(6));
    expect(&mut c, &["TTL", "t"], i(-1));
    // Errors.
    expect_err(&mut c, &["BITOP", "NOT", "dest", "k1", "k2"], "ERR BITOP NOT must be called with a single source key.");
    expect_err(&mut c, &["BITOP", "NOT", "dest"], &arity("bitop"));
    expect_err(&mut c, &["BITOP", "FOO", "dest", "k1"], SYNTAX);
    expect_err(&mut c, &["BITOP", "AND", "dest"], &arity("bitop"));
    expect_err(&mut c, &["BITOP", "AND"], &arity("bitop"));
    expect_err(&mut c, &["BITOP"], &arity("bitop"));
}

type BinOp = fn(u8, u8) -> u8;

#[test]
fn bitop_long_strings() {
    let s = TestServer::start();
    let mut c = s.conn();
    // Lengths that exercise word-at-a-time paths plus a tail.
    let a: Vec<u8> = (0..1037u32).map(|n| (n * 7 + 3) as u8).collect();
    let bv: Vec<u8> = (0..613u32).map(|n| (n * 13 + 1) as u8).collect();
    assert_eq!(valb(&mut c, &[b"SET", b"a", &a]), OK);
    assert_eq!(valb(&mut c, &[b"SET", b"b", &bv]), OK);
    let at = |v: &Vec<u8>, n: usize| v.get(n).copied().unwrap_or(0);
    let ops: [(&str, BinOp); 3] = [("AND", |x, y| x & y), ("OR", |x, y| x | y), ("XOR", |x, y| x ^ y)];
    for (op, f) in ops {
        expect(&mut c, &["BITOP", op, "d", "a", "b"], i(1037));
        let want: Vec<u8> = (0..1037).map(|n| f(at(&a, n), at(&bv, n))).collect();
        assert_eq!(valb(&mut c, &[b"GET", b"d"]), bb(&want), "{op}");
    }
    expect(&mut c, &["BITOP", "NOT", "d", "a"], i(1037));
    let want: Vec<u8> = a.iter().map(|x| !x).collect();
    assert_eq!(valb(&mut c, &[b"GET", b"d"]), bb(&want));
    let ones: i64 = a.iter().map(|x| x.count_ones() as i64).sum();
    expect(&mut c, &["BITCOUNT", "a"], i(ones));
}

// ---------------------------------------------------------------------------------------------------------------
// BITFIELD
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn bitfield_get_set_incrby() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["BITFIELD", "bf", "SET", "i8", "0", "100"], ints(&[0]));
    expect(&mut c, &["BITFIELD", "bf", "GET", "i8", "0"], ints(&[100]));
    expect(&mut c, &["GET", "bf"], b("d"));
    expect(
        &mut c,
        &["BITFIELD", "bf", "SET", "u8", "0", "255", "GET", "u8", "0", "GET", "i8", "0"],
        ints(&[100, 255, -1]),
    );
    expect(&mut c, &["BITFIELD", "bf", "INCRBY", "u8", "0", "1"], ints(&[0]));
    expect(&mut c, &["BITFIELD", "bf", "INCRBY", "i8", "0", "-1"], ints(&[-1]));
    expect(&mut c, &["BITFIELD", "bf", "GET", "u4", "0", "GET", "u4", "4", "GET", "i4", "0"], ints(&[15, 15, -1]));
    expect(&mut c, &["BITFIELD", "bf", "SET", "u1", "7", "0", "GET", "u8", "0"], ints(&[1, 254]));
    expect(&mut c, &["BITFIELD", "bf", "GET", "u8", "1000"], ints(&[0]));
    expect(&mut c, &["BITFIELD", "bf", "GET", "i64", "0"], ints(&[-144115188075855872]));
    expect(&mut c, &["BITFIELD", "bf", "GET", "u63", "0"], ints(&[9151314442816847872]));
    expect(&mut c, &["BITFIELD", "bf", "GET", "u8", "4294967288"], ints(&[0]));
    // Type names are lower case only.
    expect_err(&mut c, &["BITFIELD", "bf", "GET", "I8", "0"], BAD_TYPE);
    expect(&mut c, &["bitfield", "bf", "get", "u8", "0", "incrby", "u8", "0", "2"], ints(&[254, 0]));
    expect(&mut c, &["BITFIELD", "bf"], arr(vec![]));
    expect(&mut c, &["STRLEN", "bf"], i(1));
    // Reading a missing key does not create it.
    expect(&mut c, &["BITFIELD", "missing", "GET", "u8", "0"], ints(&[0]));
    expect(&mut c, &["EXISTS", "missing"], i(0));
    expect(&mut c, &["BITFIELD", "missing", "GET", "u8", "0", "GET", "i16", "3"], ints(&[0, 0]));
    // Writing grows the string to hold the field.
    expect(&mut c, &["BITFIELD", "grow", "SET", "u4", "20", "15"], ints(&[0]));
    assert_eq!(valb(&mut c, &[b"GET", b"grow"]), bb(b"\0\0\x0f"));
    // Unaligned multi-byte fields.
    expect(
        &mut c,
        &["BITFIELD", "un", "SET", "i16", "5", "-1000", "GET", "i16", "5", "GET", "u16", "5"],
        ints(&[0, -1000, 64536]),
    );
    expect(&mut c, &["BITFIELD", "un2", "SET", "u32", "3", "4000000000", "GET", "u32", "3"], ints(&[0, 4000000000]));
    expect(&mut c, &["BITFIELD", "un3", "SET", "i64", "1", "-2", "GET", "i64", "1"], ints(&[0, -2]));
}

#[test]
fn bitfield_hash_offsets() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(
        &mut c,
        &["BITFIELD", "new-bf", "SET", "u8", "#1", "200", "GET", "u8", "#1", "GET", "u8", "8"],
        ints(&[0, 200, 200]),
    );
    assert_eq!(valb(&mut c, &[b"GET", b"new-bf"]), bb(b"\x00\xc8"));
    expect(
        &mut c,
        &["BITFIELD", "new-bf", "GET", "u4", "#0", "GET", "u4", "#1", "GET", "u4", "#2", "GET", "u4", "#3"],
        ints(&[0, 0, 12, 8]),
    );
    expect(
        &mut c,
        &["BITFIELD", "new-bf", "SET", "i16", "#2", "-1000", "GET", "i16", "#2", "GET", "u16", "#2"],
        ints(&[0, -1000, 64536]),
    );
    expect(&mut c, &["STRLEN", "new-bf"], i(6));
    expect(&mut c, &["BITFIELD", "new-bf", "GET", "u8", "#536870911"], ints(&[0]));
    expect(&mut c, &["BITFIELD", "new-bf", "GET", "i64", "#67108863"], ints(&[0]));
    for bad in ["#-1", "#abc", "#", "#536870912", "# 1"] {
        expect_err(&mut c, &["BITFIELD", "new-bf", "GET", "u8", bad], BIT_OFFSET);
    }
    expect_err(&mut c, &["BITFIELD", "new-bf", "GET", "i64", "#67108864"], BIT_OFFSET);
}

#[test]
fn bitfield_overflow() {
    let s = TestServer::start();
    let mut c = s.conn();
    let cases: Vec<(&[&str], Value)> = vec![
        (&["SET", "u8", "0", "250"], ints(&[0])),
        (&["INCRBY", "u8", "0", "10"], ints(&[4])),
        (&["OVERFLOW", "WRAP", "INCRBY", "u8", "0", "10"], ints(&[14])),
        (&["OVERFLOW", "SAT", "INCRBY", "u8", "0", "200"], ints(&[214])),
        (&["OVERFLOW", "SAT", "INCRBY", "u8", "0", "100"], ints(&[255])),
        (&["OVERFLOW", "SAT", "INCRBY", "u8", "0", "-300"], ints(&[0])),
        (&["OVERFLOW", "FAIL", "INCRBY", "u8", "0", "-1"], arr(vec![NIL])),
        (&["OVERFLOW", "FAIL", "INCRBY", "u8", "0", "300", "GET", "u8", "0"], arr(vec![NIL, i(0)])),
        (
            &["OVERFLOW", "FAIL", "INCRBY", "u8", "0", "1", "OVERFLOW", "WRAP", "INCRBY", "u8", "8", "-1"],
            ints(&[1, 255]),
        ),
        (&["SET", "i8", "0", "127"], ints(&[1])),
        (&["INCRBY", "i8", "0", "1"], ints(&[-128])),
        (&["OVERFLOW", "SAT", "INCRBY", "i8", "0", "100"], ints(&[-28])),
        (&["OVERFLOW", "SAT", "INCRBY", "i8", "0", "-300"], ints(&[-128])),
        (&["OVERFLOW", "FAIL", "INCRBY", "i8", "0", "-1"], arr(vec![NIL])),
        (&["OVERFLOW", "FAIL", "SET", "i8", "0", "200"], arr(vec![NIL])),
        (&["OVERFLOW", "SAT", "SET", "i8", "0", "200"], ints(&[-128])),
        (&["OVERFLOW", "SAT", "SET", "u8", "0", "-5"], ints(&[127])),
        (&["OVERFLOW", "WRAP", "SET", "i8", "0", "200"], ints(&[-1])),
        (&["GET", "i8", "0", "GET", "u8", "0"], ints(&[-56, 200])),
        (&["OVERFLOW", "wrap", "INCRBY", "u2", "100", "1"], ints(&[1])),
        (
            &[
                "OVERFLOW", "sat", "INCRBY", "u2", "102", "1", "INCRBY", "u2", "102", "1", "INCRBY", "u2", "102", "1",
                "INCRBY", "u2", "102", "1",
            ],
            ints(&[1, 2, 3, 3]),
        ),
        (
            &["OVERFLOW", "fail", "INCRBY", "i2", "104", "1", "INCRBY", "i2", "104", "1", "INCRBY", "i2", "104", "1"],
            arr(vec![i(1), NIL, NIL]),
        ),
        (&["SET", "i64", "0", "-9223372036854775808", "GET", "i64", "0"], ints(&[-3963449147062747136, i64::MIN])),
        (&["INCRBY", "i64", "0", "-1"], ints(&[i64::MAX])),
        (&["OVERFLOW", "SAT", "INCRBY", "i64", "0", "-1"], ints(&[i64::MAX - 1])),
        (
            &[
                "OVERFLOW",
                "SAT",
                "INCRBY",
                "i64",
                "0",
                "9223372036854775807",
                "INCRBY",
                "i64",
                "0",
                "9223372036854775807",
            ],
            ints(&[i64::MAX, i64::MAX]),
        ),
        (&["SET", "u63", "0", "9223372036854775807", "INCRBY", "u63", "0", "1"], ints(&[4611686018427387903, 0])),
    ];
    for (args, want) in cases {
        let mut a = vec!["BITFIELD", "ov"];
        a.extend_from_slice(args);
        expect(&mut c, &a, want);
    }
    // A failed write changes nothing.
    expect(&mut c, &["SET", "f", "x"], OK);
    expect(&mut c, &["BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "1000"], arr(vec![NIL]));
    expect(&mut c, &["GET", "f"], b("x"));
    expect_err(
        &mut c,
        &["BITFIELD", "ov", "OVERFLOW", "FOO", "INCRBY", "u8", "0", "1"],
        "ERR Invalid OVERFLOW type specified",
    );
    expect_err(&mut c, &["BITFIELD", "ov", "OVERFLOW"], SYNTAX);
    expect(&mut c, &["BITFIELD", "ov", "OVERFLOW", "SAT"], arr(vec![]));
}

#[test]
fn bitfield_errors() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SET", "bf", "d"], OK);
    for bad in ["u64", "i65", "i0", "u0", "x8", "8", "", "u", "i-1"] {
        expect_err(&mut c, &["BITFIELD", "bf", "GET", bad, "0"], BAD_TYPE);
        expect_err(&mut c, &["BITFIELD", "bf", "SET", bad, "0", "1"], BAD_TYPE);
    }
    for bad in ["-1", "abc", "4294967296", "1.5"] {
        expect_err(&mut c, &["BITFIELD", "bf", "GET", "u8", bad], BIT_OFFSET);
        expect_err(&mut c, &["BITFIELD", "bf", "INCRBY", "u8", bad, "1"], BIT_OFFSET);
    }
    expect_err(&mut c, &["BITFIELD", "bf", "GET", "u8"], SYNTAX);
    expect_err(&mut c, &["BITFIELD", "bf", "SET", "u8", "0"], SYNTAX);
    expect_err(&mut c, &["BITFIELD", "bf", "INCRBY", "u8", "0"], SYNTAX);
    expect_err(&mut c, &["BITFIELD", "bf", "SET", "u8", "0", "abc"], NOT_INT);
    expect_err(&mut c, &["BITFIELD", "bf", "INCRBY", "u8", "0", "abc"], NOT_INT);
    expect_err(&mut c, &["BITFIELD", "bf", "FOO"], SYNTAX);
    expect_err(&mut c, &["BITFIELD", "bf", "GET"], SYNTAX);
    expect_err(&mut c, &["BITFIELD"], &arity("bitfield"));
    // A bad operation anywhere rejects the whole command: nothing is written.
    expect_err(&mut c, &["BITFIELD", "bf", "SET", "u8", "0", "1", "GET", "u64", "0"], BAD_TYPE);
    expect_err(&mut c, &["BITFIELD", "nf", "SET", "u8", "0", "1", "FOO"], SYNTAX);
    expect(&mut c, &["GET", "bf"], b("d"));
    expect(&mut c, &["EXISTS", "nf"], i(0));
}

#[test]
fn bitfield_ro() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(valb(&mut c, &[b"SET", b"ro", b"\x01\x02\x03"]), OK);
    expect(&mut c, &["BITFIELD_RO", "ro", "GET", "u8", "0", "GET", "u8", "8", "GET", "u16", "#1"], ints(&[1, 2, 768]));
    expect(&mut c, &["BITFIELD_RO", "ro", "GET", "i8", "#2"], ints(&[3]));
    expect(&mut c, &["BITFIELD_RO", "ro"], arr(vec![]));
    expect(&mut c, &["BITFIELD_RO", "missing", "GET", "u8", "0"], ints(&[0]));
    expect(&mut c, &["EXISTS", "missing"], i(0));
    let ro_only = "ERR BITFIELD_RO only supports the GET subcommand";
    expect_err(&mut c, &["BITFIELD_RO", "ro", "SET", "u8", "0", "1"], ro_only);
    expect_err(&mut c, &["BITFIELD_RO", "ro", "INCRBY", "u8", "0", "1"], ro_only);
    // OVERFLOW is accepted (it only affects writes).
    expect(&mut c, &["BITFIELD_RO", "ro", "OVERFLOW", "SAT", "GET", "u8", "0"], ints(&[1]));
    expect_err(
        &mut c,
        &["BITFIELD_RO", "ro", "OVERFLOW", "FOO", "GET", "u8", "0"],
        "ERR Invalid OVERFLOW type specified",
    );
    expect_err(&mut c, &["BITFIELD_RO", "ro", "GET", "u64", "0"], BAD_TYPE);
    expect_err(&mut c, &["BITFIELD_RO", "ro", "GET", "u8"], SYNTAX);
    expect_err(&mut c, &["BITFIELD_RO"], &arity("bitfield_ro"));
    assert_eq!(valb(&mut c, &[b"GET", b"ro"]), bb(b"\x01\x02\x03"));
}

// ---------------------------------------------------------------------------------------------------------------
// Reply encodings in RESP2 and RESP3
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn bitmap_replies_in_resp2_and_resp3() {
    let s = TestServer::start();
    for proto in [2u8, 3] {
        let mut r = Resp::new(&s, proto);
        let nil = if proto == 2 { "$-1\r\n" } else { "_\r\n" };
        let k = format!("k{proto}");
        assert_eq!(r.cmd(&["SETBIT", &k, "1", "1"]), ":0\r\n");
        assert_eq!(r.cmd(&["GETBIT", &k, "1"]), ":1\r\n");
        assert_eq!(r.cmd(&["BITCOUNT", &k]), ":1\r\n");
        assert_eq!(r.cmd(&["BITPOS", &k, "1"]), ":1\r\n");
        assert_eq!(r.cmd(&["BITOP", "NOT", "d", &k]), ":1\r\n");
        assert_eq!(r.cmd(&["BITFIELD", &k]), "*0\r\n");
        assert_eq!(
            r.cmd(&["BITFIELD", &k, "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "5", "GET", "u8", "0"]),
            format!("*2\r\n{nil}:64\r\n"),
            "RESP{proto}"
        );
        assert_eq!(r.cmd(&["BITFIELD_RO", &k, "GET", "i8", "0"]), "*1\r\n:64\r\n");
        assert_eq!(r.cmd(&["BITPOS", &k, "2"]), "-ERR The bit argument must be 1 or 0.\r\n");
    }
}

#[test]
fn bitmap_commands_in_resp3_client() {
    let s = TestServer::start();
    let mut c = s.conn3();
    expect(&mut c, &["SETBIT", "k", "7", "1"], i(0));
    expect(
        &mut c,
        &["BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "255", "GET", "u8", "0"],
        arr(vec![NIL, i(1)]),
    );
    expect(&mut c, &["BITFIELD_RO", "k", "GET", "u8", "0"], ints(&[1]));
    expect(&mut c, &["BITCOUNT", "k", "0", "-1", "BIT"], i(1));
}

// ---------------------------------------------------------------------------------------------------------------
// Randomised checks against a reference model
// ---------------------------------------------------------------------------------------------------------------

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
}

fn bit_at(v: &[u8], n: i64) -> bool {
    v[(n / 8) as usize] & (0x80 >> (n % 8)) != 0
}

/// Redis 7.0's range normalisation for BITCOUNT / BITPOS over `total` units.
fn norm(start: i64, end: i64, total: i64) -> (i64, i64) {
    let (mut s, mut e) = (if start < 0 { total + start } else { start }, if end < 0 { total + end } else { end });
    s = s.max(0);
    e = e.max(0);
    if e >= total {
        e = total - 1;
    }
    (s, e)
}

/// BITCOUNT key start end [unit] as Redis 7.0 computes it.
fn bitcount_model(v: &[u8], start: i64, end: i64, bit_unit: bool) -> i64 {
    if start < 0 && end < 0 && start > end {
        return 0;
    }
    let total = if bit_unit { v.len() as i64 * 8 } else { v.len() as i64 };
    let (s, e) = norm(start, end, total);
    if s > e {
        return 0;
    }
    let (bs, be) = if bit_unit { (s, e) } else { (s * 8, e * 8 + 7) };
    (bs..=be).filter(|&n| bit_at(v, n)).count() as i64
}

/// BITPOS key bit start [end [unit]] as Redis 7.0 computes it.
fn bitpos_model(v: &[u8], bit: bool, start: i64, end: Option<i64>, bit_unit: bool) -> i64 {
    let bytes = v.len() as i64;
    let total = if bit_unit { bytes * 8 } else { bytes };
    let (s, e) = norm(start, end.unwrap_or(total - 1), total);
    if s > e {
        return -1;
    }
    let (bs, be) = if bit_unit { (s, e) } else { (s * 8, e * 8 + 7) };
    if let Some(p) = (bs..=be).find(|&n| bit_at(v, n) == bit) {
        return p;
    }
    if bit || end.is_some() {
        -1
    } else {
        be + 1
    }
}

#[test]
fn bitcount_and_bitpos_match_reference_model() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut rng = Rng(0xdead_beef);
    for round in 0..12 {
        let len = 1 + rng.below(24) as usize;
        // Mostly-zero, mostly-one and mixed bytes, so both searches have work to do.
        let v: Vec<u8> =
            (0..len).map(|_| [0x00, 0xff, 0x80, 0x01, 0x10, 0xf7, rng.next() as u8][rng.below(7) as usize]).collect();
        let key = format!("bm:{round}");
        assert_eq!(valb(&mut c, &[b"SET", key.as_bytes(), &v]), OK);
        let mut p = redis::pipe();
        let mut want = Vec::new();
        for _ in 0..60 {
            let bit_unit = rng.below(2) == 0;
            let lim = if bit_unit { 8 * len as i64 + 10 } else { len as i64 + 3 };
            let (a, z) = (rng.range(-lim, lim), rng.range(-lim, lim));
            let unit = if bit_unit { "BIT" } else { "BYTE" };
            p.cmd("BITCOUNT").arg(&key).arg(a).arg(z).arg(unit);
            want.push((format!("BITCOUNT {a} {z} {unit}"), bitcount_model(&v, a, z, bit_unit)));
            let bit = rng.below(2) == 1;
            p.cmd("BITPOS").arg(&key).arg(u8::from(bit)).arg(a).arg(z).arg(unit);
            want.push((
                format!("BITPOS {} {a} {z} {unit}", u8::from(bit)),
                bitpos_model(&v, bit, a, Some(z), bit_unit),
            ));
            p.cmd("BITPOS").arg(&key).arg(u8::from(bit)).arg(a);
            want.push((format!("BITPOS {} {a}", u8::from(bit)), bitpos_model(&v, bit, a, None, false)));
        }
        let got: Vec<i64> = p.query(&mut c).expect("pipeline");
        for ((what, w), g) in want.into_iter().zip(got) {
            assert_eq!(g, w, "{what} on {v:02x?}");
        }
    }
}

#[test]
fn bitfield_matches_reference_model() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut rng = Rng(4242);
    let mut model = vec![0u8; 16];
    assert_eq!(valb(&mut c, &[b"SET", b"bfm", &model]), OK);
    for _ in 0..300 {
        let signed = rng.below(2) == 0;
        let bits = 1 + rng.below(if signed { 64 } else { 63 }) as u32;
        let off = rng.below(128 - u64::from(bits) + 1) as i64;
        let ty = format!("{}{bits}", if signed { "i" } else { "u" });
        // Reads the field from the model (big-endian bit order, like Redis).
        let mut raw: u64 = 0;
        for n in 0..i64::from(bits) {
            raw = (raw << 1) | u64::from(bit_at(&model, off + n));
        }
        let want =
            if signed && bits < 64 && raw >> (bits - 1) == 1 { (raw | (u64::MAX << bits)) as i64 } else { raw as i64 };
        let value = rng.next() as i64 >> rng.below(64);
        let got: Vec<i64> = redis::cmd("BITFIELD")
            .arg("bfm")
            .arg("GET")
            .arg(&ty)
            .arg(off)
            .arg("SET")
            .arg(&ty)
            .arg(off)
            .arg(value)
            .query(&mut c)
            .expect("BITFIELD");
        assert_eq!(got, vec![want, want], "{ty} at {off}");
        // WRAP semantics: the low `bits` bits of the value are stored.
        for n in 0..i64::from(bits) {
            let on = (value as u64 >> (i64::from(bits) - 1 - n)) & 1 == 1;
            let (byte, mask) = (((off + n) / 8) as usize, 0x80u8 >> ((off + n) % 8));
            if on {
                model[byte] |= mask;
            } else {
                model[byte] &= !mask;
            }
        }
    }
    assert_eq!(valb(&mut c, &[b"GET", b"bfm"]), bb(&model));
}
