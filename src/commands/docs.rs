//! Argument metadata behind `COMMAND DOCS`.
//!
//! Every entry of the command table carries a compact usage string written in Redis's documentation syntax
//! (`key value [NX | XX] [GET] [EX seconds | PX milliseconds | KEEPTTL]`). [`parse_usage`] turns that string into
//! a tree of [`ArgDoc`]s shaped like the `arguments` section of Redis's own command JSON files, and
//! [`args_reply`] / [`docs_reply`] render the tree as the maps Redis 7.0 sends for `COMMAND DOCS` (which
//! `redis-cli` uses for its argument hints).
//!
//! # Usage-string syntax
//!
//! - Words are separated by whitespace; `[`, `]`, `<`, `>` and `|` are always tokens of their own, and a word
//!   ending in `...` is the word followed by `...`.
//! - A word with no lowercase letter (`NX`, `KEEPTTL`, `*`, `=`) is a *token*; any other word is an *argument*.
//! - `[...]` is an optional group, `<...>` a required group. A group may be named with a `name=` prefix right after
//!   the bracket: `[condition=NX | XX]`, `<filter=ip:port | [ID client-id]>`. The name is a run of letters,
//!   digits, `-` and `_`.
//! - `a | b | c` is a oneof whose children are the alternatives. A `|` normally separates whole sequences within its
//!   group (`[EX seconds | PX milliseconds | KEEPTTL]` has three alternatives), except that a chain of single words
//!   joined by `|` binds tightly (`OVERFLOW WRAP | SAT | FAIL`, `key BEFORE | AFTER pivot`,
//!   `source destination LEFT | RIGHT LEFT | RIGHT`) unless it looks like a token-argument pair:
//!   - loose when the chain's first word is an argument that follows a token, possibly after other argument
//!     words (`EX seconds | PX milliseconds`, `SET encoding offset value | INCRBY ...`);
//!   - loose when the chain opens its group and its last word is a token followed by an argument
//!     (`[KEEPTTL | EX seconds]`).
//!
//!   Use `<...>` whenever the default reading is not the intended one.
//! - Repetition: `x [x ...]`, `x ...` and `[x ...]` give one argument `x` flagged `multiple`; `x` may be several
//!   items (`key value [key value ...]`), which become one block named `data`. A repeated unit that starts with a
//!   token (`[GET pattern [GET pattern ...]]`) is also flagged `multiple_token`. A group whose alternatives end with
//!   a copy of the whole group followed by `...` (the `BITFIELD` form) is a `multiple` oneof.
//! - A token directly followed by arguments takes them: one argument gets the token (`EX seconds` is the argument
//!   `seconds` with token `EX`; `OVERFLOW WRAP | SAT | FAIL` is a oneof with token `OVERFLOW`), several become a
//!   block named after the token (`AUTH username password` is the block `auth`). The token takes the following
//!   required items up to the next token; when the token opens its group or alternative it also takes optional
//!   items (`[TO host port [FORCE]]`). A token with nothing to take is a pure token named after itself, lowercased
//!   (`""` is named `empty-string`).
//! - A group holding exactly one item is that item (flagged `optional` for `[...]`); a group of several items is a
//!   block.
//! - Argument types: a `:type` suffix sets the type explicitly (`timeout:double`, `count:integer`, `name:string`,
//!   `name:key`, `name:pattern`, `name:unix-time`). Otherwise `key`, `key1`, `key2`, `source`, `destination` and
//!   `newkey` are keys; `pattern` is a pattern; names starting with `unix-time` are unix times; `seconds`,
//!   `milliseconds`, `count`, `offset`, `start`, `end`, `index`, `numkeys`, `db`, `destination-db`, `timeout`,
//!   `increment` and `cursor` are integers; everything else is a string.
//! - Key arguments are numbered for `key_spec_index` in document order (depth first, parents before children):
//!   0 for the first key argument, then 1, 2, ... for each further key argument in the tree. A repeated key
//!   (`key [key ...]`) is one argument and so one index.
//! - Group names, unless given with `name=`: a oneof or block that takes a token is named after the token;
//!   a repeated block is `data`; a oneof of tokens matching one of Redis's well-known sets gets Redis's name
//!   (`NX | XX` and `NX | XX | GT | LT` are `condition`, `GT | LT` `comparison`, any set of two or more with one of
//!   `EX`, `PX`, `EXAT`, `PXAT` `expiration`, `ASYNC | SYNC` `flush-type`, `BYTE | BIT` and `M | KM | FT | MI` `unit`, `ASC | DESC` `order`,
//!   `BEFORE | AFTER` and `LEFT | RIGHT` `where`, `BYSCORE | BYLEX` `sortby`, `NOSAVE | SAVE` `save-selector`,
//!   `ON | OFF` `status`, `MAXLEN | MINID` `strategy`, `= | ~` `operator`, `WRITE | ALL` `mode`,
//!   `FLUSH | APPEND | REPLACE` `policy`); anything else joins its first four children with `_`, each child
//!   standing for itself by its token (lowercased) when it has one and is not a pure token, else by its name
//!   (`[AUTH password | AUTH2 username password]` is `auth_auth2`).
//! - Parsing never fails: stray closing brackets are ignored, unclosed groups end with the string, empty groups and
//!   empty alternatives vanish, and brackets nested deeper than 32 levels are ignored (their contents stay).

use crate::protocol::Reply;

/// Deepest group nesting that is honoured; brackets beyond it are ignored (their contents are kept).
const MAX_DEPTH: usize = 32;

/// How many children's names an unnamed group's derived name joins.
const DERIVED_NAME_PARTS: usize = 4;

/// The type of one documented argument, as `COMMAND DOCS` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArgKind {
    /// A key name (`key`); carries a `key_spec_index`.
    Key,
    /// Any string.
    String,
    /// An integer.
    Integer,
    /// A floating-point number.
    Double,
    /// A glob-style pattern.
    Pattern,
    /// A Unix timestamp.
    UnixTime,
    /// A literal token with no value of its own (`NX`).
    PureToken,
    /// Exactly one of the child arguments.
    OneOf,
    /// All of the child arguments, in order.
    Block,
}

impl ArgKind {
    /// The name `COMMAND DOCS` uses for this type (`"pure-token"`, `"unix-time"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ArgKind::Key => "key",
            ArgKind::String => "string",
            ArgKind::Integer => "integer",
            ArgKind::Double => "double",
            ArgKind::Pattern => "pattern",
            ArgKind::UnixTime => "unix-time",
            ArgKind::PureToken => "pure-token",
            ArgKind::OneOf => "oneof",
            ArgKind::Block => "block",
        }
    }

    /// Whether arguments of this type hold child arguments.
    pub fn is_container(self) -> bool {
        matches!(self, ArgKind::OneOf | ArgKind::Block)
    }
}

/// One documented argument of a command, possibly with children (for [`ArgKind::OneOf`] and [`ArgKind::Block`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDoc {
    /// The argument's name (`"key"`, `"seconds"`, `"condition"`).
    pub name: String,
    /// The argument's type.
    pub kind: ArgKind,
    /// The literal token that introduces the argument (`EX` for `EX seconds`), if any.
    pub token: Option<String>,
    /// The argument may be left out.
    pub optional: bool,
    /// The argument may be repeated.
    pub multiple: bool,
    /// When repeated, the token is repeated too (`GET pattern GET pattern`).
    pub multiple_token: bool,
    /// For keys: the index of the key spec that describes this argument.
    pub key_spec_index: Option<usize>,
    /// The children of a oneof or block; empty otherwise.
    pub args: Vec<ArgDoc>,
}

impl ArgDoc {
    /// A leaf argument with no token and no flags.
    fn leaf(name: impl Into<String>, kind: ArgKind) -> ArgDoc {
        ArgDoc {
            name: name.into(),
            kind,
            token: None,
            optional: false,
            multiple: false,
            multiple_token: false,
            key_spec_index: None,
            args: Vec::new(),
        }
    }

    /// A oneof or block holding `args`.
    fn container(name: impl Into<String>, kind: ArgKind, args: Vec<ArgDoc>) -> ArgDoc {
        ArgDoc { args, ..ArgDoc::leaf(name, kind) }
    }
}

/// Parses a usage string (see the module docs for the syntax) into argument docs.
///
/// Never panics and never fails: malformed input gives a best-effort tree.
pub fn parse_usage(usage: &str) -> Vec<ArgDoc> {
    let mut parser = Parser { toks: tokenize(usage), pos: 0, skipped_opens: 0 };
    let raw = parser.level(0, false);
    let mut docs: Vec<ArgDoc> = level(&raw, false).into_iter().map(|p| p.doc).collect();
    assign_key_specs(&mut docs, &mut 0);
    docs
}

/// Renders argument docs as the `arguments` array of Redis 7.0's `COMMAND DOCS`.
///
/// Each argument is a map with, in order: `name`, `type`, `key_spec_index` (when set), `token` (when set), `flags`
/// (a set of the status strings `optional`, `multiple`, `multiple_token`; only when any applies) and `arguments`
/// (oneof and block only).
pub fn args_reply(args: &[ArgDoc]) -> Reply {
    Reply::Array(args.iter().map(arg_reply).collect())
}

/// Builds one command's `COMMAND DOCS` map in Redis 7.0's key order: `summary`, `since`, `group`, `complexity`
/// (left out when empty), `arguments` (left out when `args` is empty) and `subcommands` (left out when empty; a map
/// from each subcommand's full name, `container|sub`, to its own docs map as built by this function).
///
/// `doc_flags`, `deprecated_since`, `replaced_by` and `history` are never sent.
pub fn docs_reply(
    summary: &str,
    since: &str,
    group: &str,
    complexity: &str,
    notes: Option<&super::docs_history::Notes>,
    args: &[ArgDoc],
    subcommands: Vec<(String, Reply)>,
) -> Reply {
    let mut map = Vec::with_capacity(6);
    map.push((Reply::bulk_static("summary"), Reply::bulk(summary)));
    map.push((Reply::bulk_static("since"), Reply::bulk(since)));
    map.push((Reply::bulk_static("group"), Reply::bulk(group)));
    if !complexity.is_empty() {
        map.push((Reply::bulk_static("complexity"), Reply::bulk(complexity)));
    }
    if let Some(n) = notes {
        if !n.doc_flags.is_empty() {
            map.push((
                Reply::bulk_static("doc_flags"),
                Reply::Set(n.doc_flags.iter().map(|f| Reply::Simple(f)).collect()),
            ));
        }
        if !n.deprecated_since.is_empty() {
            map.push((Reply::bulk_static("deprecated_since"), Reply::bulk(n.deprecated_since)));
        }
        if !n.replaced_by.is_empty() {
            map.push((Reply::bulk_static("replaced_by"), Reply::bulk(n.replaced_by)));
        }
        if !n.history.is_empty() {
            let entries = n.history.iter().map(|(v, what)| Reply::Array(vec![Reply::bulk(v), Reply::bulk(what)]));
            map.push((Reply::bulk_static("history"), Reply::Array(entries.collect())));
        }
    }
    if !args.is_empty() {
        map.push((Reply::bulk_static("arguments"), args_reply(args)));
    }
    if !subcommands.is_empty() {
        let subs = subcommands.into_iter().map(|(name, docs)| (Reply::bulk_string(name), docs)).collect();
        map.push((Reply::bulk_static("subcommands"), Reply::Map(subs)));
    }
    Reply::Map(map)
}

/// One argument's `COMMAND DOCS` map.
fn arg_reply(arg: &ArgDoc) -> Reply {
    let mut map = Vec::with_capacity(6);
    map.push((Reply::bulk_static("name"), Reply::bulk(&arg.name)));
    map.push((Reply::bulk_static("type"), Reply::bulk_static(arg.kind.as_str())));
    if let Some(index) = arg.key_spec_index {
        map.push((Reply::bulk_static("key_spec_index"), Reply::Int(i64::try_from(index).unwrap_or(i64::MAX))));
    }
    if let Some(token) = &arg.token {
        map.push((Reply::bulk_static("token"), Reply::bulk(token)));
    }
    let flags: Vec<Reply> =
        [(arg.optional, "optional"), (arg.multiple, "multiple"), (arg.multiple_token, "multiple_token")]
            .into_iter()
            .filter(|&(set, _)| set)
            .map(|(_, name)| Reply::Simple(name))
            .collect();
    if !flags.is_empty() {
        map.push((Reply::bulk_static("flags"), Reply::Set(flags)));
    }
    if arg.kind.is_container() {
        map.push((Reply::bulk_static("arguments"), args_reply(&arg.args)));
    }
    Reply::Map(map)
}

/// Numbers key arguments depth first, parents before children, starting at `*next`.
fn assign_key_specs(docs: &mut [ArgDoc], next: &mut usize) {
    for doc in docs {
        if doc.kind == ArgKind::Key {
            doc.key_spec_index = Some(*next);
            *next += 1;
        }
        assign_key_specs(&mut doc.args, next);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Tokens and the raw tree
// ---------------------------------------------------------------------------------------------------------------

/// A lexical token of a usage string.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// `[` (optional: true) or `<` (optional: false).
    Open(bool),
    /// `]` or `>`.
    Close,
    /// `|`
    Bar,
    /// `...`
    Ellipsis,
    /// Anything else.
    Word(String),
}

/// Splits a usage string into tokens.
fn tokenize(usage: &str) -> Vec<Tok> {
    let mut toks = Vec::new();
    let mut word = String::new();
    for c in usage.chars() {
        let special = match c {
            '[' => Some(Tok::Open(true)),
            '<' => Some(Tok::Open(false)),
            ']' | '>' => Some(Tok::Close),
            '|' => Some(Tok::Bar),
            _ => None,
        };
        if let Some(tok) = special {
            flush_word(&mut word, &mut toks);
            toks.push(tok);
        } else if c.is_whitespace() {
            flush_word(&mut word, &mut toks);
        } else {
            word.push(c);
        }
    }
    flush_word(&mut word, &mut toks);
    toks
}

/// Emits the word collected so far, splitting a trailing `...` off it.
fn flush_word(word: &mut String, toks: &mut Vec<Tok>) {
    if word.is_empty() {
        return;
    }
    let word = std::mem::take(word);
    let stem = word.trim_end_matches("...");
    if stem.len() == word.len() {
        toks.push(Tok::Word(word));
    } else {
        if !stem.is_empty() {
            toks.push(Tok::Word(stem.to_string()));
        }
        toks.push(Tok::Ellipsis);
    }
}

/// The usage string as written, before any interpretation beyond grouping and tight `|` chains.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Raw {
    /// A token or argument word.
    Word(String),
    /// A tightly bound `a | b | c` chain of single words.
    Choice(Vec<String>),
    /// `[...]` (optional) or `<...>`, with its `name=` if any.
    Group { name: Option<String>, optional: bool, body: Vec<Raw> },
    /// `...`
    Ellipsis,
    /// A loose `|`.
    Bar,
}

/// Builds the raw tree from tokens.
struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    /// Opening brackets ignored for being too deep, whose closing brackets must be ignored too.
    skipped_opens: usize,
}

impl Parser {
    /// Parses items until the end of input or, inside a group, its closing bracket.
    fn level(&mut self, depth: usize, inside_group: bool) -> Vec<Raw> {
        let mut elems = Vec::new();
        while let Some(tok) = self.toks.get(self.pos).cloned() {
            self.pos += 1;
            match tok {
                Tok::Open(optional) => {
                    if depth >= MAX_DEPTH {
                        self.skipped_opens += 1;
                        continue;
                    }
                    let name = self.group_name();
                    let body = self.level(depth + 1, true);
                    elems.push(Raw::Group { name, optional, body });
                }
                Tok::Close => {
                    if self.skipped_opens > 0 {
                        self.skipped_opens -= 1;
                    } else if inside_group {
                        break;
                    }
                    // A stray closer at the top level is ignored.
                }
                Tok::Bar => elems.push(Raw::Bar),
                Tok::Ellipsis => elems.push(Raw::Ellipsis),
                Tok::Word(word) => elems.push(Raw::Word(word)),
            }
        }
        resolve_chains(&elems)
    }

    /// Consumes a `name=` prefix right after an opening bracket, leaving any rest of the word in place.
    fn group_name(&mut self) -> Option<String> {
        let Some(Tok::Word(word)) = self.toks.get(self.pos) else {
            return None;
        };
        let (name, rest) = word.split_once('=')?;
        if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_') {
            return None;
        }
        let name = name.to_string();
        if rest.is_empty() {
            self.pos += 1;
        } else {
            let rest = rest.to_string();
            self.toks[self.pos] = Tok::Word(rest);
        }
        Some(name)
    }
}

/// Whether a word is a token (has no lowercase letter) rather than an argument.
fn is_token(word: &str) -> bool {
    !word.is_empty() && !word.chars().any(char::is_lowercase)
}

/// Replaces each tightly bound chain of single words joined by `|` with a [`Raw::Choice`].
fn resolve_chains(elems: &[Raw]) -> Vec<Raw> {
    let mut out = Vec::with_capacity(elems.len());
    let mut i = 0;
    while i < elems.len() {
        // The maximal run `item | item | ... | item` starting at i.
        let mut end = i;
        if !matches!(elems[i], Raw::Bar) {
            while end + 2 < elems.len() && matches!(elems[end + 1], Raw::Bar) && !matches!(elems[end + 2], Raw::Bar) {
                end += 2;
            }
        }
        if end > i {
            if let Some(words) = tight_chain(elems, i, end) {
                out.push(Raw::Choice(words));
            } else {
                out.extend_from_slice(&elems[i..=end]);
            }
            i = end + 1;
        } else {
            out.push(elems[i].clone());
            i += 1;
        }
    }
    out
}

/// The words of the run `elems[start..=end]` (items at even offsets, bars between) if it binds tightly.
fn tight_chain(elems: &[Raw], start: usize, end: usize) -> Option<Vec<String>> {
    let words = elems[start..=end]
        .iter()
        .step_by(2)
        .map(|e| match e {
            Raw::Word(w) => Some(w.clone()),
            _ => None,
        })
        .collect::<Option<Vec<String>>>()?;
    let (first, last) = (words.first()?, words.last()?);
    // `EX seconds | PX milliseconds`: the first word is an argument of an earlier token.
    if !is_token(first) {
        for before in elems[..start].iter().rev() {
            match before {
                Raw::Word(w) if is_token(w) => return None,
                Raw::Word(_) => {}
                _ => break,
            }
        }
    }
    // `[KEEPTTL | EX seconds]`: the chain opens its group and its last word is a token taking an argument.
    let opens_group = start == 0 || matches!(elems[start - 1], Raw::Bar);
    let last_takes_arg = matches!(elems.get(end + 1), Some(Raw::Word(w)) if !is_token(w));
    if opens_group && is_token(last) && last_takes_arg {
        return None;
    }
    Some(words)
}

// ---------------------------------------------------------------------------------------------------------------
// From the raw tree to argument docs
// ---------------------------------------------------------------------------------------------------------------

/// An argument doc under construction.
struct Piece {
    doc: ArgDoc,
    /// A bare token word that may still take the arguments after it.
    bare: bool,
    /// The name was derived rather than written (a following token may rename it).
    derived: bool,
}

impl Piece {
    fn written(doc: ArgDoc) -> Piece {
        Piece { doc, bare: false, derived: false }
    }

    fn derived(doc: ArgDoc) -> Piece {
        Piece { doc, bare: false, derived: true }
    }
}

/// Converts one level (a group's body or the whole string): a oneof if it has loose bars, else a sequence.
fn level(elems: &[Raw], in_group: bool) -> Vec<Piece> {
    let (elems, repeated) = strip_level_repeat(elems);
    let alts: Vec<&[Raw]> = elems.split(|e| matches!(e, Raw::Bar)).filter(|alt| !alt.is_empty()).collect();
    let pieces = if alts.len() >= 2 {
        let mut children: Vec<Piece> = alts.iter().filter_map(|alt| single_piece(convert_seq(alt, true))).collect();
        if children.len() <= 1 {
            children
        } else {
            let docs: Vec<ArgDoc> = children.drain(..).map(|p| p.doc).collect();
            let name = derive_name(ArgKind::OneOf, &docs);
            vec![Piece::derived(ArgDoc::container(name, ArgKind::OneOf, docs))]
        }
    } else {
        convert_seq(alts.first().copied().unwrap_or_default(), in_group)
    };
    if repeated {
        repeat_unit(pieces).into_iter().collect()
    } else {
        pieces
    }
}

/// Detects the `BITFIELD` form: a level with bars whose last item is `[<the whole level> ...]`.
fn strip_level_repeat(elems: &[Raw]) -> (&[Raw], bool) {
    if let Some((Raw::Group { optional: true, body, .. }, rest)) = elems.split_last() {
        if rest.iter().any(|e| matches!(e, Raw::Bar))
            && body.len() == rest.len() + 1
            && matches!(body.last(), Some(Raw::Ellipsis))
            && body[..rest.len()] == *rest
        {
            return (rest, true);
        }
    }
    (elems, false)
}

/// Several pieces as one: nothing, the only piece, or a block of them.
fn single_piece(mut pieces: Vec<Piece>) -> Option<Piece> {
    match pieces.len() {
        0 => None,
        1 => pieces.pop(),
        _ => {
            let docs: Vec<ArgDoc> = pieces.into_iter().map(|p| p.doc).collect();
            let name = derive_name(ArgKind::Block, &docs);
            Some(Piece::derived(ArgDoc::container(name, ArgKind::Block, docs)))
        }
    }
}

/// The pieces of a repeated unit as one `multiple` argument (a block named `data` when there are several).
fn repeat_unit(mut pieces: Vec<Piece>) -> Option<Piece> {
    let mut piece = match pieces.len() {
        0 => return None,
        1 => pieces.pop()?,
        _ => {
            let docs: Vec<ArgDoc> = pieces.into_iter().map(|p| p.doc).collect();
            Piece::derived(ArgDoc::container("data", ArgKind::Block, docs))
        }
    };
    piece.doc.multiple = true;
    piece.doc.multiple_token = piece.doc.token.is_some();
    piece.bare = false;
    Some(piece)
}

/// Converts a sequence of items (no loose bars) into argument docs, folding repetitions and attaching tokens.
fn convert_seq(items: &[Raw], in_group: bool) -> Vec<Piece> {
    let mut pieces = Vec::with_capacity(items.len());
    let mut i = 0;
    while i < items.len() {
        if let Some(unit) = repeat_len(items, i) {
            pieces.extend(repeat_unit(convert_seq(&items[i..i + unit], true)));
            i += unit + 1;
            continue;
        }
        match &items[i] {
            Raw::Word(word) => pieces.push(Piece { doc: word_doc(word), bare: is_token(word), derived: false }),
            Raw::Choice(words) => {
                let docs: Vec<ArgDoc> = words.iter().map(|w| word_doc(w)).collect();
                let name = derive_name(ArgKind::OneOf, &docs);
                pieces.push(Piece::derived(ArgDoc::container(name, ArgKind::OneOf, docs)));
            }
            Raw::Group { name, optional, body } => pieces.extend(convert_group(name.as_deref(), *optional, body)),
            Raw::Ellipsis => {
                if let Some(last) = pieces.last_mut() {
                    last.doc.multiple = true;
                    last.bare = false;
                }
            }
            Raw::Bar => {}
        }
        i += 1;
    }
    attach_tokens(pieces, in_group)
}

/// The length of the unit starting at `start` if it is followed by `[<unit> ...]`.
fn repeat_len(items: &[Raw], start: usize) -> Option<usize> {
    (start + 1..items.len()).find_map(|j| match &items[j] {
        Raw::Group { optional: true, body, .. } => {
            let unit = j - start;
            let matches =
                body.len() == unit + 1 && matches!(body[unit], Raw::Ellipsis) && body[..unit] == items[start..j];
            matches.then_some(unit)
        }
        _ => None,
    })
}

/// Converts a bracketed group into (at most) one piece.
fn convert_group(name: Option<&str>, optional: bool, body: &[Raw]) -> Option<Piece> {
    let mut piece = single_piece(level(body, true))?;
    if let Some(name) = name {
        piece.doc.name = name.to_string();
        piece.derived = false;
    }
    if optional {
        piece.doc.optional = true;
    }
    piece.bare = false;
    Some(piece)
}

/// Lets each bare token take the arguments that follow it (see the module docs).
fn attach_tokens(pieces: Vec<Piece>, in_group: bool) -> Vec<Piece> {
    let mut out = Vec::with_capacity(pieces.len());
    let mut iter = pieces.into_iter().peekable();
    let mut first = true;
    while let Some(piece) = iter.next() {
        let opens_group = first && in_group;
        first = false;
        if !piece.bare {
            out.push(piece);
            continue;
        }
        let mut taken = Vec::new();
        while let Some(next) = iter.next_if(|n| !n.bare && (opens_group || !n.doc.optional)) {
            taken.push(next);
        }
        let ArgDoc { name: token_name, token, .. } = piece.doc.clone();
        match taken.pop() {
            None => out.push(piece),
            Some(mut only) if taken.is_empty() && only.doc.token.is_none() && !only.doc.optional => {
                only.doc.token = token;
                if only.derived {
                    only.doc.name = token_name;
                    only.derived = false;
                }
                out.push(only);
            }
            Some(last) => {
                taken.push(last);
                let docs = taken.into_iter().map(|p| p.doc).collect();
                let mut block = ArgDoc::container(token_name, ArgKind::Block, docs);
                block.token = token;
                out.push(Piece::written(block));
            }
        }
    }
    out
}

/// The doc for a single word: a pure token, or an argument typed by its `:type` suffix or its name.
fn word_doc(word: &str) -> ArgDoc {
    if is_token(word) {
        let name = if word == "\"\"" { "empty-string".to_string() } else { word.to_lowercase() };
        let mut doc = ArgDoc::leaf(name, ArgKind::PureToken);
        doc.token = Some(word.to_string());
        return doc;
    }
    if let Some((name, suffix)) = word.rsplit_once(':') {
        let kind = match suffix {
            "integer" | "int" => Some(ArgKind::Integer),
            "double" => Some(ArgKind::Double),
            "string" => Some(ArgKind::String),
            "key" => Some(ArgKind::Key),
            "pattern" => Some(ArgKind::Pattern),
            "unix-time" => Some(ArgKind::UnixTime),
            _ => None,
        };
        if let (Some(kind), false) = (kind, name.is_empty()) {
            return ArgDoc::leaf(name, kind);
        }
    }
    ArgDoc::leaf(word, infer_kind(word))
}

/// The type an argument gets from its name alone.
fn infer_kind(name: &str) -> ArgKind {
    match name {
        "key" | "key1" | "key2" | "source" | "destination" | "newkey" => ArgKind::Key,
        "pattern" => ArgKind::Pattern,
        "seconds" | "milliseconds" | "count" | "offset" | "start" | "end" | "index" | "numkeys" | "db"
        | "destination-db" | "timeout" | "increment" | "cursor" => ArgKind::Integer,
        _ if name.starts_with("unix-time") => ArgKind::UnixTime,
        _ => ArgKind::String,
    }
}

/// A name for an unnamed oneof or block (see the module docs).
fn derive_name(kind: ArgKind, children: &[ArgDoc]) -> String {
    if kind == ArgKind::OneOf {
        let tokens: Option<Vec<String>> = children.iter().map(|c| c.token.as_ref().map(|t| t.to_uppercase())).collect();
        if let Some(name) = tokens.and_then(well_known_oneof) {
            return name.to_string();
        }
    }
    let parts: Vec<String> = children
        .iter()
        .take(DERIVED_NAME_PARTS)
        .map(|c| match &c.token {
            Some(token) if c.kind != ArgKind::PureToken => token.to_lowercase(),
            _ => c.name.clone(),
        })
        .collect();
    if parts.is_empty() {
        "arguments".to_string()
    } else {
        parts.join("_")
    }
}

/// Redis's name for a oneof over a well-known set of tokens.
fn well_known_oneof(mut tokens: Vec<String>) -> Option<&'static str> {
    tokens.sort();
    tokens.dedup();
    if tokens.len() >= 2 && tokens.iter().any(|t| matches!(t.as_str(), "EX" | "PX" | "EXAT" | "PXAT")) {
        return Some("expiration");
    }
    let tokens: Vec<&str> = tokens.iter().map(String::as_str).collect();
    Some(match tokens.as_slice() {
        ["NX", "XX"] | ["GT", "LT", "NX", "XX"] => "condition",
        ["GT", "LT"] => "comparison",
        ["ASYNC", "SYNC"] => "flush-type",
        ["BIT", "BYTE"] | ["FT", "KM", "M", "MI"] => "unit",
        ["ASC", "DESC"] => "order",
        ["AFTER", "BEFORE"] | ["LEFT", "RIGHT"] => "where",
        ["BYLEX", "BYSCORE"] => "sortby",
        ["NOSAVE", "SAVE"] => "save-selector",
        ["OFF", "ON"] => "status",
        ["MAXLEN", "MINID"] => "strategy",
        ["=", "~"] => "operator",
        ["ALL", "WRITE"] => "mode",
        ["APPEND", "FLUSH", "REPLACE"] => "policy",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shorthand for asserting one node: name, kind, token, and flags as a string of `o`, `m`, `t`.
    #[track_caller]
    fn check(doc: &ArgDoc, name: &str, kind: ArgKind, token: Option<&str>, flags: &str) {
        assert_eq!(doc.name, name, "name of {doc:?}");
        assert_eq!(doc.kind, kind, "kind of {name}");
        assert_eq!(doc.token.as_deref(), token, "token of {name}");
        assert_eq!(doc.optional, flags.contains('o'), "optional flag of {name}");
        assert_eq!(doc.multiple, flags.contains('m'), "multiple flag of {name}");
        assert_eq!(doc.multiple_token, flags.contains('t'), "multiple_token flag of {name}");
        if !kind.is_container() {
            assert!(doc.args.is_empty(), "{name} is a leaf");
        }
    }

    fn pure(doc: &ArgDoc, token: &str, flags: &str) {
        check(doc, &token.to_lowercase(), ArgKind::PureToken, Some(token), flags);
    }

    #[test]
    fn get_and_del() {
        let get = parse_usage("key");
        assert_eq!(get.len(), 1);
        check(&get[0], "key", ArgKind::Key, None, "");
        assert_eq!(get[0].key_spec_index, Some(0));

        let del = parse_usage("key [key ...]");
        assert_eq!(del.len(), 1);
        check(&del[0], "key", ArgKind::Key, None, "m");
        assert_eq!(del[0].key_spec_index, Some(0));

        assert_eq!(parse_usage("key ..."), del);
        assert_eq!(parse_usage("key..."), del);
    }

    #[test]
    fn set() {
        let args = parse_usage(
            "key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds | \
             PXAT unix-time-milliseconds | KEEPTTL]",
        );
        assert_eq!(args.len(), 5);
        check(&args[0], "key", ArgKind::Key, None, "");
        assert_eq!(args[0].key_spec_index, Some(0));
        check(&args[1], "value", ArgKind::String, None, "");
        assert_eq!(args[1].key_spec_index, None);
        check(&args[2], "condition", ArgKind::OneOf, None, "o");
        pure(&args[2].args[0], "NX", "");
        pure(&args[2].args[1], "XX", "");
        pure(&args[3], "GET", "o");
        let exp = &args[4];
        check(exp, "expiration", ArgKind::OneOf, None, "o");
        assert_eq!(exp.args.len(), 5);
        check(&exp.args[0], "seconds", ArgKind::Integer, Some("EX"), "");
        check(&exp.args[1], "milliseconds", ArgKind::Integer, Some("PX"), "");
        check(&exp.args[2], "unix-time-seconds", ArgKind::UnixTime, Some("EXAT"), "");
        check(&exp.args[3], "unix-time-milliseconds", ArgKind::UnixTime, Some("PXAT"), "");
        pure(&exp.args[4], "KEEPTTL", "");
    }

    #[test]
    fn mset_and_config_set() {
        let args = parse_usage("key value [key value ...]");
        assert_eq!(args.len(), 1);
        check(&args[0], "data", ArgKind::Block, None, "m");
        assert_eq!(args[0].args.len(), 2);
        check(&args[0].args[0], "key", ArgKind::Key, None, "");
        assert_eq!(args[0].args[0].key_spec_index, Some(0));
        check(&args[0].args[1], "value", ArgKind::String, None, "");

        let args = parse_usage("parameter value [parameter value ...]");
        assert_eq!(args.len(), 1);
        check(&args[0], "data", ArgKind::Block, None, "m");
        check(&args[0].args[0], "parameter", ArgKind::String, None, "");

        let args = parse_usage("[key value [key value ...]]");
        assert_eq!(args.len(), 1);
        check(&args[0], "data", ArgKind::Block, None, "om");
    }

    #[test]
    fn scan() {
        let args = parse_usage("cursor [MATCH pattern] [COUNT count] [TYPE type]");
        assert_eq!(args.len(), 4);
        check(&args[0], "cursor", ArgKind::Integer, None, "");
        check(&args[1], "pattern", ArgKind::Pattern, Some("MATCH"), "o");
        check(&args[2], "count", ArgKind::Integer, Some("COUNT"), "o");
        check(&args[3], "type", ArgKind::String, Some("TYPE"), "o");
    }

    #[test]
    fn bitfield() {
        let args = parse_usage(
            "key [GET encoding offset | [OVERFLOW WRAP | SAT | FAIL] SET encoding offset value | \
             INCRBY encoding offset increment [GET encoding offset | [OVERFLOW WRAP | SAT | FAIL] \
             SET encoding offset value | INCRBY encoding offset increment ...]]",
        );
        assert_eq!(args.len(), 2);
        check(&args[0], "key", ArgKind::Key, None, "");
        let op = &args[1];
        assert_eq!(op.kind, ArgKind::OneOf);
        assert!(op.optional && op.multiple && !op.multiple_token);
        assert_eq!(op.args.len(), 3);

        let get = &op.args[0];
        check(get, "get", ArgKind::Block, Some("GET"), "");
        check(&get.args[0], "encoding", ArgKind::String, None, "");
        check(&get.args[1], "offset", ArgKind::Integer, None, "");

        let write = &op.args[1];
        check(write, "overflow_set", ArgKind::Block, None, "");
        assert_eq!(write.args.len(), 2);
        let overflow = &write.args[0];
        check(overflow, "overflow", ArgKind::OneOf, Some("OVERFLOW"), "o");
        assert_eq!(overflow.args.len(), 3);
        pure(&overflow.args[0], "WRAP", "");
        pure(&overflow.args[1], "SAT", "");
        pure(&overflow.args[2], "FAIL", "");
        let set = &write.args[1];
        check(set, "set", ArgKind::Block, Some("SET"), "");
        let names: Vec<&str> = set.args.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["encoding", "offset", "value"]);

        let incrby = &op.args[2];
        check(incrby, "incrby", ArgKind::Block, Some("INCRBY"), "");
        assert_eq!(incrby.args.len(), 3);
        check(&incrby.args[2], "increment", ArgKind::Integer, None, "");
    }

    #[test]
    fn client_kill() {
        let args = parse_usage(
            "ip:port | [ID client-id] [TYPE NORMAL | MASTER | SLAVE | REPLICA | PUBSUB] [USER username] \
             [ADDR ip:port] [LADDR ip:port] [SKIPME YES | NO]",
        );
        assert_eq!(args.len(), 1);
        let filter = &args[0];
        assert_eq!(filter.kind, ArgKind::OneOf);
        assert!(!filter.optional);
        assert_eq!(filter.args.len(), 2);
        check(&filter.args[0], "ip:port", ArgKind::String, None, "");
        let new = &filter.args[1];
        assert_eq!(new.kind, ArgKind::Block);
        assert_eq!(new.args.len(), 6);
        check(&new.args[0], "client-id", ArgKind::String, Some("ID"), "o");
        let ty = &new.args[1];
        check(ty, "type", ArgKind::OneOf, Some("TYPE"), "o");
        let types: Vec<&str> = ty.args.iter().map(|a| a.token.as_deref().unwrap_or("")).collect();
        assert_eq!(types, ["NORMAL", "MASTER", "SLAVE", "REPLICA", "PUBSUB"]);
        assert!(ty.args.iter().all(|a| a.kind == ArgKind::PureToken));
        check(&new.args[2], "username", ArgKind::String, Some("USER"), "o");
        check(&new.args[3], "ip:port", ArgKind::String, Some("ADDR"), "o");
        check(&new.args[4], "ip:port", ArgKind::String, Some("LADDR"), "o");
        let skipme = &new.args[5];
        check(skipme, "skipme", ArgKind::OneOf, Some("SKIPME"), "o");
        pure(&skipme.args[0], "YES", "");
        pure(&skipme.args[1], "NO", "");

        // The same with the top-level alternation named through a required group.
        let named = parse_usage("<filter=ip:port | [ID client-id:integer]>");
        assert_eq!(named.len(), 1);
        check(&named[0], "filter", ArgKind::OneOf, None, "");
        check(&named[0].args[1], "client-id", ArgKind::Integer, Some("ID"), "o");
    }

    #[test]
    fn expire_lcs_zadd_shutdown() {
        let args = parse_usage("key seconds [NX | XX | GT | LT]");
        check(&args[1], "seconds", ArgKind::Integer, None, "");
        check(&args[2], "condition", ArgKind::OneOf, None, "o");
        assert_eq!(args[2].args.len(), 4);

        let args = parse_usage("key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]");
        assert_eq!(args.len(), 6);
        check(&args[0], "key1", ArgKind::Key, None, "");
        check(&args[1], "key2", ArgKind::Key, None, "");
        assert_eq!((args[0].key_spec_index, args[1].key_spec_index), (Some(0), Some(1)));
        pure(&args[2], "LEN", "o");
        check(&args[4], "min-match-len", ArgKind::String, Some("MINMATCHLEN"), "o");

        let args = parse_usage("key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]");
        assert_eq!(args.len(), 6);
        check(&args[1], "condition", ArgKind::OneOf, None, "o");
        check(&args[2], "comparison", ArgKind::OneOf, None, "o");
        pure(&args[3], "CH", "o");
        pure(&args[4], "INCR", "o");
        check(&args[5], "data", ArgKind::Block, None, "m");
        let names: Vec<&str> = args[5].args.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["score", "member"]);

        let args = parse_usage("[NOSAVE | SAVE] [NOW] [FORCE] [ABORT]");
        assert_eq!(args.len(), 4);
        check(&args[0], "save-selector", ArgKind::OneOf, None, "o");
        pure(&args[1], "NOW", "o");
        pure(&args[3], "ABORT", "o");
    }

    #[test]
    fn hello() {
        let args = parse_usage("[protover [AUTH username password] [SETNAME clientname]]");
        assert_eq!(args.len(), 1);
        let block = &args[0];
        assert_eq!(block.kind, ArgKind::Block);
        assert!(block.optional && !block.multiple);
        assert_eq!(block.args.len(), 3);
        check(&block.args[0], "protover", ArgKind::String, None, "");
        let auth = &block.args[1];
        check(auth, "auth", ArgKind::Block, Some("AUTH"), "o");
        check(&auth.args[0], "username", ArgKind::String, None, "");
        check(&auth.args[1], "password", ArgKind::String, None, "");
        check(&block.args[2], "clientname", ArgKind::String, Some("SETNAME"), "o");

        let named = parse_usage("[arguments=protover:integer [AUTH username password]]");
        check(&named[0], "arguments", ArgKind::Block, None, "o");
        check(&named[0].args[0], "protover", ArgKind::Integer, None, "");
    }

    #[test]
    fn annotations_and_key_specs() {
        let args = parse_usage("key [key ...] timeout:double");
        check(&args[0], "key", ArgKind::Key, None, "m");
        check(&args[1], "timeout", ArgKind::Double, None, "");

        let args = parse_usage("timeout");
        check(&args[0], "timeout", ArgKind::Integer, None, "");

        let args = parse_usage("src:key dst:key n:integer s:string p:pattern t:unix-time ip:port");
        let kinds: Vec<ArgKind> = args.iter().map(|a| a.kind).collect();
        let expected =
            [ArgKind::Key, ArgKind::Key, ArgKind::Integer, ArgKind::String, ArgKind::Pattern, ArgKind::UnixTime];
        assert_eq!(kinds[..6], expected);
        assert_eq!(kinds[6], ArgKind::String);
        assert_eq!(args[1].key_spec_index, Some(1));
        assert_eq!(args[6].name, "ip:port");

        let args = parse_usage("destination numkeys key [key ...] [WEIGHTS weight [weight ...]]");
        assert_eq!(args[0].key_spec_index, Some(0));
        check(&args[1], "numkeys", ArgKind::Integer, None, "");
        assert_eq!(args[2].key_spec_index, Some(1));
        check(&args[3], "weight", ArgKind::String, Some("WEIGHTS"), "om");
    }

    #[test]
    fn named_groups() {
        let args = parse_usage("[cond=NX | XX] [expiry= EX seconds | KEEPTTL] [target=TO host port [FORCE]]");
        assert_eq!(args.len(), 3);
        check(&args[0], "cond", ArgKind::OneOf, None, "o");
        check(&args[1], "expiry", ArgKind::OneOf, None, "o");
        check(&args[1].args[0], "seconds", ArgKind::Integer, Some("EX"), "");
        pure(&args[1].args[1], "KEEPTTL", "");
        let target = &args[2];
        check(target, "target", ArgKind::Block, Some("TO"), "o");
        let names: Vec<&str> = target.args.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["host", "port", "force"]);
        assert!(target.args[2].optional);
        // `=` alone is a token, not a name.
        let args = parse_usage("[= | ~]");
        check(&args[0], "operator", ArgKind::OneOf, None, "o");
    }

    #[test]
    fn tight_and_loose_bars() {
        // LINSERT: the bar binds tightly.
        let args = parse_usage("key BEFORE | AFTER pivot element");
        assert_eq!(args.len(), 4);
        check(&args[1], "where", ArgKind::OneOf, None, "");
        check(&args[2], "pivot", ArgKind::String, None, "");

        // LMOVE: two separate choices.
        let args = parse_usage("source destination LEFT | RIGHT LEFT | RIGHT");
        assert_eq!(args.len(), 4);
        assert_eq!((args[0].key_spec_index, args[1].key_spec_index), (Some(0), Some(1)));
        check(&args[2], "where", ArgKind::OneOf, None, "");
        check(&args[3], "where", ArgKind::OneOf, None, "");

        // LMPOP: a choice in the middle of the top level.
        let args = parse_usage("numkeys key [key ...] LEFT | RIGHT [COUNT count]");
        assert_eq!(args.len(), 4);
        check(&args[2], "where", ArgKind::OneOf, None, "");
        check(&args[3], "count", ArgKind::Integer, Some("COUNT"), "o");

        // CLIENT TRACKING.
        let args = parse_usage("ON | OFF [REDIRECT client-id] [BCAST]");
        assert_eq!(args.len(), 3);
        check(&args[0], "status", ArgKind::OneOf, None, "");

        // XADD-like trimming and id selection.
        let args =
            parse_usage("key [MAXLEN | MINID [= | ~] threshold [LIMIT count]] * | id field value [field value ...]");
        assert_eq!(args.len(), 4);
        let trim = &args[1];
        assert_eq!(trim.kind, ArgKind::Block);
        assert!(trim.optional);
        check(&trim.args[0], "strategy", ArgKind::OneOf, None, "");
        check(&trim.args[1], "operator", ArgKind::OneOf, None, "o");
        check(&trim.args[2], "threshold", ArgKind::String, None, "");
        check(&trim.args[3], "count", ArgKind::Integer, Some("LIMIT"), "o");
        assert_eq!(args[2].kind, ArgKind::OneOf);
        pure(&args[2].args[0], "*", "");
        check(&args[2].args[1], "id", ArgKind::String, None, "");
        check(&args[3], "data", ArgKind::Block, None, "m");

        // Token-argument alternatives stay loose, whichever side the lone token is on.
        for usage in ["[EX seconds | KEEPTTL]", "[KEEPTTL | EX seconds]"] {
            let args = parse_usage(usage);
            assert_eq!(args.len(), 1, "{usage}");
            check(&args[0], "expiration", ArgKind::OneOf, None, "o");
            assert!(args[0].args.iter().any(|a| a.name == "seconds" && a.token.as_deref() == Some("EX")));
        }

        // `<...>` forces grouping.
        let args = parse_usage("slot <IMPORTING node-id | MIGRATING node-id | STABLE>");
        assert_eq!(args.len(), 2);
        check(&args[1], "importing_migrating_stable", ArgKind::OneOf, None, "");
        check(&args[1].args[0], "node-id", ArgKind::String, Some("IMPORTING"), "");
    }

    #[test]
    fn token_blocks_and_multiple_token() {
        let args = parse_usage("[COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id ...]");
        assert_eq!(args.len(), 3);
        let streams = &args[2];
        check(streams, "streams", ArgKind::Block, Some("STREAMS"), "");
        check(&streams.args[0], "key", ArgKind::Key, None, "m");
        check(&streams.args[1], "id", ArgKind::String, None, "m");

        let args = parse_usage("GROUP group consumer [NOACK] STREAMS key [key ...] id [id ...]");
        assert_eq!(args.len(), 3);
        check(&args[0], "group", ArgKind::Block, Some("GROUP"), "");
        pure(&args[1], "NOACK", "o");

        let args = parse_usage("key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC | DESC]");
        assert_eq!(args.len(), 5);
        check(&args[2], "limit", ArgKind::Block, Some("LIMIT"), "o");
        check(&args[3], "pattern", ArgKind::Pattern, Some("GET"), "omt");
        check(&args[4], "order", ArgKind::OneOf, None, "o");

        let args = parse_usage("[KEYS key [key ...]]");
        check(&args[0], "key", ArgKind::Key, Some("KEYS"), "om");

        let args = parse_usage("[AUTH password | AUTH2 username password]");
        let auth = &args[0];
        check(auth, "auth_auth2", ArgKind::OneOf, None, "o");
        check(&auth.args[0], "password", ArgKind::String, Some("AUTH"), "");
        check(&auth.args[1], "auth2", ArgKind::Block, Some("AUTH2"), "");

        let args = parse_usage("[AGGREGATE SUM | MIN | MAX]");
        check(&args[0], "aggregate", ArgKind::OneOf, Some("AGGREGATE"), "o");

        let args = parse_usage("host port key | \"\" destination-db");
        check(&args[2], "key_empty-string", ArgKind::OneOf, None, "");
        check(&args[2].args[1], "empty-string", ArgKind::PureToken, Some("\"\""), "");
    }

    #[test]
    fn args_reply_shape() {
        let args = parse_usage("key [NX | XX] [GET pattern [GET pattern ...]]");
        let b = Reply::bulk_static;
        let expected = Reply::Array(vec![
            Reply::Map(vec![(b("name"), b("key")), (b("type"), b("key")), (b("key_spec_index"), Reply::Int(0))]),
            Reply::Map(vec![
                (b("name"), b("condition")),
                (b("type"), b("oneof")),
                (b("flags"), Reply::Set(vec![Reply::Simple("optional")])),
                (
                    b("arguments"),
                    Reply::Array(vec![
                        Reply::Map(vec![(b("name"), b("nx")), (b("type"), b("pure-token")), (b("token"), b("NX"))]),
                        Reply::Map(vec![(b("name"), b("xx")), (b("type"), b("pure-token")), (b("token"), b("XX"))]),
                    ]),
                ),
            ]),
            Reply::Map(vec![
                (b("name"), b("pattern")),
                (b("type"), b("pattern")),
                (b("token"), b("GET")),
                (
                    b("flags"),
                    Reply::Set(vec![
                        Reply::Simple("optional"),
                        Reply::Simple("multiple"),
                        Reply::Simple("multiple_token"),
                    ]),
                ),
            ]),
        ]);
        assert_eq!(args_reply(&args), expected);
        assert_eq!(args_reply(&[]), Reply::Array(vec![]));
    }

    #[test]
    fn docs_reply_shape() {
        let b = Reply::bulk_static;
        let get = docs_reply("Get the value of a key", "1.0.0", "string", "O(1)", None, &parse_usage("key"), vec![]);
        let Reply::Map(entries) = &get else { panic!("not a map: {get:?}") };
        let keys: Vec<&Reply> = entries.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, [&b("summary"), &b("since"), &b("group"), &b("complexity"), &b("arguments")]);
        assert_eq!(entries[0].1, b("Get the value of a key"));
        assert_eq!(entries[2].1, b("string"));

        let sub = docs_reply("Set a parameter", "2.0.0", "server", "", None, &parse_usage("parameter value"), vec![]);
        let config = docs_reply(
            "A container",
            "2.0.0",
            "server",
            "Depends on subcommand.",
            None,
            &[],
            vec![("config|set".to_string(), sub.clone())],
        );
        let Reply::Map(entries) = &config else { panic!("not a map") };
        let keys: Vec<&Reply> = entries.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, [&b("summary"), &b("since"), &b("group"), &b("complexity"), &b("subcommands")]);
        assert_eq!(entries[4].1, Reply::Map(vec![(b("config|set"), sub.clone())]));
        let Reply::Map(sub_entries) = &sub else { panic!("not a map") };
        assert!(sub_entries.iter().all(|(k, _)| *k != b("complexity")));
    }

    /// Checks the invariants every parsed tree must satisfy.
    fn check_tree(docs: &[ArgDoc], next_key: &mut usize) {
        for doc in docs {
            assert!(!doc.name.is_empty(), "empty name in {doc:?}");
            if doc.kind == ArgKind::Key {
                assert_eq!(doc.key_spec_index, Some(*next_key));
                *next_key += 1;
            } else {
                assert_eq!(doc.key_spec_index, None);
            }
            if doc.kind == ArgKind::PureToken {
                assert!(doc.token.is_some());
            }
            if !doc.kind.is_container() {
                assert!(doc.args.is_empty());
            }
            if doc.multiple_token {
                assert!(doc.multiple && doc.token.is_some());
            }
            check_tree(&doc.args, next_key);
        }
    }

    #[test]
    fn fuzz_never_panics() {
        const PARTS: &[&str] = &[
            "[",
            "]",
            "<",
            ">",
            "|",
            " ",
            " ",
            " ",
            "...",
            ".",
            "=",
            ":",
            "key",
            "KEY",
            "value",
            "EX",
            "seconds",
            "NX",
            "a=",
            "x:double",
            ":key",
            "\"\"",
            "é",
            "Ω",
            "\t",
            "[x ...]",
            "[key value ...]",
            "NX|XX",
            "*",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = next() % 40;
            let usage: String = (0..len).map(|_| PARTS[(next() % PARTS.len() as u64) as usize]).collect();
            let docs = parse_usage(&usage);
            check_tree(&docs, &mut 0);
            let _ = args_reply(&docs);
        }
        for usage in [
            "[".repeat(10_000),
            "]".repeat(10_000),
            "<[".repeat(5_000) + "key" + &"]>".repeat(5_000),
            "a | ".repeat(2_000),
            "| | | ... ... [ ] < > = :".to_string(),
            "[x=] [=] [x=y=z] [-=A]".to_string(),
            String::new(),
        ] {
            let docs = parse_usage(&usage);
            check_tree(&docs, &mut 0);
            let _ = args_reply(&docs);
        }
    }
}
