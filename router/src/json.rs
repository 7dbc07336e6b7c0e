//! The per-request response store: subgraph JSON parsed once into flat arrays, merged
//! by linking, read by the representation builder and the projection.
//!
//! Strings and numbers are spans of the response buffers, kept exactly as the subgraph
//! escaped them (the buffer is checked to be UTF-8 and the string's escapes to be valid
//! when parsed), so writing them out is a copy. Objects and arrays are ranges of shared
//! field and item arrays, so parsing allocates a handful of vectors per request rather
//! than a map per object.
//!
//! Merging an entity result into an object links the result to the object instead of
//! copying it: reading a field looks at the object's own fields, then at what was
//! linked to it. A result shared by a hundred objects is stored once, and data a later
//! fetch adds to it is seen from all of them.

use bytes::Bytes;

pub type NodeId = u32;

/// A byte range of one of the store's buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    buffer: u32,
    start: u32,
    len: u32,
}

#[derive(Clone, Copy, Debug)]
pub enum Node {
    Null,
    Bool(bool),
    /// The number's text.
    Number(Span),
    /// The string's content between the quotes, still escaped.
    String(Span),
    Array {
        start: u32,
        len: u32,
    },
    Object {
        start: u32,
        len: u32,
        links: u32,
    },
}

/// An object's field: its key, a fingerprint of the key, and its value.
#[derive(Clone, Copy, Debug)]
struct Field {
    key: Span,
    fingerprint: u64,
    value: NodeId,
}

/// The key's length and first seven bytes in one word: most lookups are decided by
/// comparing fingerprints, without comparing the keys.
fn fingerprint(key: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    let head = key.len().min(7);
    word[..head].copy_from_slice(&key[..head]);
    word[7] = key.len().min(255) as u8;
    u64::from_le_bytes(word)
}

/// No link: an object nothing was merged into.
const NO_LINK: u32 = u32::MAX;
/// Deeper JSON than this is refused (a hostile subgraph must not overflow the stack).
const MAX_DEPTH: usize = 512;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the body is not UTF-8")]
    Utf8,
    #[error("invalid JSON at byte {0}")]
    Syntax(usize),
    #[error("JSON nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("the body is too large")]
    TooLarge,
}

#[derive(Default)]
pub struct Store {
    buffers: Vec<Bytes>,
    nodes: Vec<Node>,
    items: Vec<NodeId>,
    fields: Vec<Field>,
    /// (linked object, next link) chains, one per object with merged data.
    links: Vec<(NodeId, u32)>,
    scratch_fields: Vec<Field>,
    scratch_items: Vec<NodeId>,
}

impl Store {
    pub fn new() -> Self {
        Store::default()
    }

    fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        (self.nodes.len() - 1) as NodeId
    }

    /// Bytes of JSON parsed so far (a size hint for output buffers).
    pub fn buffered_bytes(&self) -> usize {
        self.buffers.iter().map(Bytes::len).sum()
    }

    /// A new object without fields (the root that root fetches link into).
    pub fn empty_object(&mut self) -> NodeId {
        self.push(Node::Object {
            start: 0,
            len: 0,
            links: NO_LINK,
        })
    }

    pub fn node(&self, id: NodeId) -> Node {
        self.nodes[id as usize]
    }

    pub fn bytes(&self, span: Span) -> &[u8] {
        let buffer = &self.buffers[span.buffer as usize];
        &buffer[span.start as usize..(span.start + span.len) as usize]
    }

    /// The items of an array node (empty for anything else).
    pub fn items(&self, id: NodeId) -> &[NodeId] {
        match self.node(id) {
            Node::Array { start, len } => &self.items[start as usize..(start + len) as usize],
            _ => &[],
        }
    }

    /// Links `extension`'s fields to `object`: they read as the object's own from now
    /// on, after the fields it already had.
    pub fn link(&mut self, object: NodeId, extension: NodeId) {
        let Node::Object { start, len, links } = self.node(object) else {
            return;
        };
        // Append at the end of the chain so earlier fetches keep precedence.
        let new = self.links.len() as u32;
        self.links.push((extension, NO_LINK));
        if links == NO_LINK {
            self.nodes[object as usize] = Node::Object {
                start,
                len,
                links: new,
            };
            return;
        }
        let mut at = links;
        while self.links[at as usize].1 != NO_LINK {
            at = self.links[at as usize].1;
        }
        self.links[at as usize].1 = new;
    }

    /// The value of `key` in `object`: its own field, else one linked to it.
    pub fn get(&self, object: NodeId, key: &str) -> Option<NodeId> {
        self.get_bytes(object, key.as_bytes())
    }

    fn get_bytes(&self, object: NodeId, key: &[u8]) -> Option<NodeId> {
        self.find(object, key, fingerprint(key))
    }

    fn find(&self, object: NodeId, key: &[u8], print: u64) -> Option<NodeId> {
        let Node::Object { start, len, links } = self.node(object) else {
            return None;
        };
        for field in &self.fields[start as usize..(start + len) as usize] {
            if field.fingerprint == print && (key.len() < 8 || self.bytes(field.key) == key) {
                return Some(field.value);
            }
        }
        let mut at = links;
        while at != NO_LINK {
            let (linked, next) = self.links[at as usize];
            if let Some(found) = self.find(linked, key, print) {
                return Some(found);
            }
            at = next;
        }
        None
    }

    /// The string content of a node, if it is a string without escapes (type names,
    /// enum values: GraphQL names never need escaping).
    pub fn plain_str(&self, id: NodeId) -> Option<&str> {
        match self.node(id) {
            Node::String(span) => {
                let bytes = self.bytes(span);
                if bytes.contains(&b'\\') {
                    return None;
                }
                std::str::from_utf8(bytes).ok()
            }
            _ => None,
        }
    }

    /// The object's `__typename`. An object from an `@interfaceObject` subgraph first
    /// carries the interface's name; when a later fetch linked the concrete type, that
    /// one wins (`is_abstract` tells names of interfaces and unions).
    pub fn typename(&self, object: NodeId, is_abstract: &impl Fn(&str) -> bool) -> Option<&str> {
        let own = self
            .get_own(object, "__typename")
            .and_then(|n| self.plain_str(n));
        if let Some(own) = own
            && !is_abstract(own)
        {
            return Some(own);
        }
        let Node::Object { links, .. } = self.node(object) else {
            return own;
        };
        let mut at = links;
        while at != NO_LINK {
            let (linked, next) = self.links[at as usize];
            if let Some(t) = self.typename(linked, is_abstract)
                && !is_abstract(t)
            {
                return Some(t);
            }
            at = next;
        }
        own
    }

    fn get_own(&self, object: NodeId, key: &str) -> Option<NodeId> {
        let Node::Object { start, len, .. } = self.node(object) else {
            return None;
        };
        let print = fingerprint(key.as_bytes());
        self.fields[start as usize..(start + len) as usize]
            .iter()
            .find(|f| f.fingerprint == print && self.bytes(f.key) == key.as_bytes())
            .map(|f| f.value)
    }

    /// Every (key, value) of an object, its own fields then linked ones; a key seen
    /// before is skipped.
    pub fn entries(&self, object: NodeId) -> Vec<(&[u8], NodeId)> {
        let mut out: Vec<(&[u8], NodeId)> = Vec::new();
        self.collect_entries(object, &mut out);
        out
    }

    fn collect_entries<'s>(&'s self, object: NodeId, out: &mut Vec<(&'s [u8], NodeId)>) {
        let Node::Object { start, len, links } = self.node(object) else {
            return;
        };
        for field in &self.fields[start as usize..(start + len) as usize] {
            let key = self.bytes(field.key);
            if !out.iter().any(|(k, _)| *k == key) {
                out.push((key, field.value));
            }
        }
        let mut at = links;
        while at != NO_LINK {
            let (linked, next) = self.links[at as usize];
            self.collect_entries(linked, out);
            at = next;
        }
    }

    /// Writes a node (with what is linked into objects) as JSON.
    pub fn write(&self, id: NodeId, out: &mut Vec<u8>) {
        match self.node(id) {
            Node::Null => out.extend_from_slice(b"null"),
            Node::Bool(true) => out.extend_from_slice(b"true"),
            Node::Bool(false) => out.extend_from_slice(b"false"),
            Node::Number(span) => out.extend_from_slice(self.bytes(span)),
            Node::String(span) => {
                out.push(b'"');
                out.extend_from_slice(self.bytes(span));
                out.push(b'"');
            }
            Node::Array { .. } => {
                out.push(b'[');
                for (i, item) in self.items(id).iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    self.write(*item, out);
                }
                out.push(b']');
            }
            Node::Object { .. } => {
                out.push(b'{');
                for (i, (key, value)) in self.entries(id).into_iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.push(b'"');
                    out.extend_from_slice(key);
                    out.extend_from_slice(b"\":");
                    self.write(value, out);
                }
                out.push(b'}');
            }
        }
    }

    /// The node as a `serde_json_bytes` value (for errors; not on the hot path).
    pub fn to_value(&self, id: NodeId) -> serde_json_bytes::Value {
        let mut text = Vec::new();
        self.write(id, &mut text);
        serde_json::from_slice(&text).unwrap_or(serde_json_bytes::Value::Null)
    }

    /// Parses a JSON document into the store; returns its root node.
    pub fn parse(&mut self, bytes: Bytes) -> Result<NodeId, ParseError> {
        if bytes.len() > u32::MAX as usize {
            return Err(ParseError::TooLarge);
        }
        if std::str::from_utf8(&bytes).is_err() {
            return Err(ParseError::Utf8);
        }
        let buffer = self.buffers.len() as u32;
        self.buffers.push(bytes);
        let bytes = self.buffers[buffer as usize].clone();
        let mut parser = Parser {
            bytes: &bytes,
            at: 0,
            buffer,
        };
        parser.skip_whitespace();
        let root = parser.value(self, 0)?;
        parser.skip_whitespace();
        if parser.at != bytes.len() {
            return Err(ParseError::Syntax(parser.at));
        }
        Ok(root)
    }

    /// Stores a key that needed unescaping, as a buffer of its own.
    fn owned_span(&mut self, text: String) -> Span {
        let buffer = self.buffers.len() as u32;
        let len = text.len() as u32;
        self.buffers.push(Bytes::from(text));
        Span {
            buffer,
            start: 0,
            len,
        }
    }
}

/// Whether any byte of `word` is `"`, `\\` or below 0x20 (SWAR: each test leaves the
/// high bit set in the bytes that match).
fn needs_attention(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let quote = has_zero(word ^ (ONES * b'"' as u64));
    let backslash = has_zero(word ^ (ONES * b'\\' as u64));
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
    (quote | backslash | control) != 0
}

struct Parser<'b> {
    bytes: &'b [u8],
    at: usize,
    buffer: u32,
}

impl Parser<'_> {
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    fn error(&self) -> ParseError {
        ParseError::Syntax(self.at)
    }

    fn span(&self, start: usize, end: usize) -> Span {
        Span {
            buffer: self.buffer,
            start: start as u32,
            len: (end - start) as u32,
        }
    }

    fn expect(&mut self, literal: &[u8]) -> Result<(), ParseError> {
        if self.bytes[self.at..].starts_with(literal) {
            self.at += literal.len();
            Ok(())
        } else {
            Err(self.error())
        }
    }

    fn value(&mut self, store: &mut Store, depth: usize) -> Result<NodeId, ParseError> {
        if depth > MAX_DEPTH {
            return Err(ParseError::TooDeep);
        }
        match self.bytes.get(self.at) {
            Some(b'{') => self.object(store, depth),
            Some(b'[') => self.array(store, depth),
            Some(b'"') => {
                let span = self.string()?;
                Ok(store.push(Node::String(span)))
            }
            Some(b't') => {
                self.expect(b"true")?;
                Ok(store.push(Node::Bool(true)))
            }
            Some(b'f') => {
                self.expect(b"false")?;
                Ok(store.push(Node::Bool(false)))
            }
            Some(b'n') => {
                self.expect(b"null")?;
                Ok(store.push(Node::Null))
            }
            Some(b'-' | b'0'..=b'9') => {
                let span = self.number()?;
                Ok(store.push(Node::Number(span)))
            }
            _ => Err(self.error()),
        }
    }

    /// A string's content span (between the quotes), with its escapes checked.
    fn string(&mut self) -> Result<Span, ParseError> {
        self.at += 1; // the opening quote
        let start = self.at;
        loop {
            // Skip eight bytes at a time while none is a quote, a backslash or a
            // control byte (which JSON strings may not contain raw).
            while let Some(chunk) = self.bytes.get(self.at..self.at + 8) {
                let word = u64::from_le_bytes([
                    chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7],
                ]);
                if needs_attention(word) {
                    break;
                }
                self.at += 8;
            }
            let Some(&byte) = self.bytes.get(self.at) else {
                return Err(self.error());
            };
            match byte {
                b'"' => {
                    let span = self.span(start, self.at);
                    self.at += 1;
                    return Ok(span);
                }
                b'\\' => match self.bytes.get(self.at + 1) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.at += 2,
                    Some(b'u') => {
                        let hex = self
                            .bytes
                            .get(self.at + 2..self.at + 6)
                            .ok_or(self.error())?;
                        if !hex.iter().all(u8::is_ascii_hexdigit) {
                            return Err(self.error());
                        }
                        self.at += 6;
                    }
                    _ => return Err(self.error()),
                },
                0..=0x1f => return Err(self.error()),
                _ => self.at += 1,
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while let Some(b'0'..=b'9') = self.bytes.get(self.at) {
            self.at += 1;
        }
        self.at - start
    }

    fn number(&mut self) -> Result<Span, ParseError> {
        let start = self.at;
        if self.bytes.get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        match self.bytes.get(self.at) {
            Some(b'0') => self.at += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.error()),
        }
        if self.bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return Err(self.error());
            }
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.at) {
            self.at += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.at) {
                self.at += 1;
            }
            if self.digits() == 0 {
                return Err(self.error());
            }
        }
        Ok(self.span(start, self.at))
    }

    fn array(&mut self, store: &mut Store, depth: usize) -> Result<NodeId, ParseError> {
        self.at += 1;
        let base = store.scratch_items.len();
        self.skip_whitespace();
        if self.bytes.get(self.at) == Some(&b']') {
            self.at += 1;
        } else {
            loop {
                self.skip_whitespace();
                let item = self.value(store, depth + 1)?;
                store.scratch_items.push(item);
                self.skip_whitespace();
                match self.bytes.get(self.at) {
                    Some(b',') => self.at += 1,
                    Some(b']') => {
                        self.at += 1;
                        break;
                    }
                    _ => return Err(self.error()),
                }
            }
        }
        // Nested arrays finished first, so this array's items are the scratch tail.
        let start = store.items.len() as u32;
        let len = (store.scratch_items.len() - base) as u32;
        store.items.extend_from_slice(&store.scratch_items[base..]);
        store.scratch_items.truncate(base);
        Ok(store.push(Node::Array { start, len }))
    }

    fn object(&mut self, store: &mut Store, depth: usize) -> Result<NodeId, ParseError> {
        self.at += 1;
        let base = store.scratch_fields.len();
        self.skip_whitespace();
        if self.bytes.get(self.at) == Some(&b'}') {
            self.at += 1;
        } else {
            loop {
                self.skip_whitespace();
                if self.bytes.get(self.at) != Some(&b'"') {
                    return Err(self.error());
                }
                let mut key = self.string()?;
                if self.bytes[key.start as usize..(key.start + key.len) as usize].contains(&b'\\') {
                    // Rare: keys are compared as bytes, so store this one unescaped.
                    let quoted =
                        &self.bytes[key.start as usize - 1..(key.start + key.len) as usize + 1];
                    let text: String = serde_json::from_slice(quoted).map_err(|_| self.error())?;
                    key = store.owned_span(text);
                }
                self.skip_whitespace();
                if self.bytes.get(self.at) != Some(&b':') {
                    return Err(self.error());
                }
                self.at += 1;
                self.skip_whitespace();
                let value = self.value(store, depth + 1)?;
                let print = fingerprint(store.bytes(key));
                store.scratch_fields.push(Field {
                    key,
                    fingerprint: print,
                    value,
                });
                self.skip_whitespace();
                match self.bytes.get(self.at) {
                    Some(b',') => self.at += 1,
                    Some(b'}') => {
                        self.at += 1;
                        break;
                    }
                    _ => return Err(self.error()),
                }
            }
        }
        let start = store.fields.len() as u32;
        let len = (store.scratch_fields.len() - base) as u32;
        store
            .fields
            .extend_from_slice(&store.scratch_fields[base..]);
        store.scratch_fields.truncate(base);
        Ok(store.push(Node::Object {
            start,
            len,
            links: NO_LINK,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(text: &str) -> String {
        let mut store = Store::new();
        let root = store.parse(Bytes::from(text.to_string())).unwrap();
        let mut out = Vec::new();
        store.write(root, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn parses_and_writes_every_kind_compactly() {
        assert_eq!(
            roundtrip(
                r#" { "a" : [1, -2.5e3, true, false, null, "x\"y\u00e9", {}, []] , "b":{"c":"d"} } "#
            ),
            r#"{"a":[1,-2.5e3,true,false,null,"x\"y\u00e9",{},[]],"b":{"c":"d"}}"#
        );
        assert_eq!(roundtrip("0"), "0");
        assert_eq!(roundtrip(r#""é""#), r#""é""#);
        // Long strings go through the eight-bytes-at-a-time path.
        let long = format!(r#""{}\n{}\"""#, "x".repeat(37), "y".repeat(19));
        assert_eq!(roundtrip(&long), long);
    }

    #[test]
    fn rejects_invalid_json() {
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\"}",
            "01",
            "1.",
            "-",
            "tru",
            "\"\\x\"",
            "\"a\nb\"",
            "{} x",
            "[1 2]",
            "{\"a\":1,}",
            "\"\\u12g4\"",
            "\"abcdefghij\u{1}k\"",
        ] {
            let mut store = Store::new();
            assert!(
                store.parse(Bytes::from(bad.to_string())).is_err(),
                "{bad:?}"
            );
        }
        let mut store = Store::new();
        assert_eq!(
            store.parse(Bytes::from_static(&[b'"', 0xff, b'"'])),
            Err(ParseError::Utf8)
        );
        let deep = "[".repeat(600) + &"]".repeat(600);
        assert_eq!(
            Store::new().parse(Bytes::from(deep)),
            Err(ParseError::TooDeep)
        );
    }

    #[test]
    fn links_read_as_own_fields_after_them() {
        let mut store = Store::new();
        let target = store
            .parse(Bytes::from_static(br#"{"__typename":"Book","id":1}"#))
            .unwrap();
        let entity = store
            .parse(Bytes::from_static(
                br#"{"__typename":"Media","id":9,"rating":5}"#,
            ))
            .unwrap();
        store.link(target, entity);
        let value = |id: Option<NodeId>| {
            let mut out = Vec::new();
            store.write(id.unwrap(), &mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(value(store.get(target, "rating")), "5");
        assert_eq!(value(store.get(target, "id")), "1", "own fields win");
        assert!(store.get(target, "nope").is_none());
        let is_abstract = |t: &str| t == "Media";
        assert_eq!(store.typename(target, &is_abstract), Some("Book"));
        assert_eq!(
            value(Some(target)),
            r#"{"__typename":"Book","id":1,"rating":5}"#
        );
    }

    #[test]
    fn a_concrete_typename_from_a_link_replaces_an_interface_name() {
        let mut store = Store::new();
        let target = store
            .parse(Bytes::from_static(br#"{"__typename":"Media","id":1}"#))
            .unwrap();
        let entity = store
            .parse(Bytes::from_static(br#"{"__typename":"Book","title":"t"}"#))
            .unwrap();
        store.link(target, entity);
        assert_eq!(
            store.typename(target, &|t: &str| t == "Media"),
            Some("Book")
        );
    }

    #[test]
    fn escaped_keys_are_stored_unescaped() {
        let mut store = Store::new();
        let root = store.parse(Bytes::from_static(br#"{"\u0061":1}"#)).unwrap();
        assert!(store.get(root, "a").is_some());
    }
}
