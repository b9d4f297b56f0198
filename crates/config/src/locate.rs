//! Finds where a key path (`dhcp4.subnet[0].pools[1]`) stands in the TOML text, so that every
//! config error can name file, line and column.

use core::fmt;
use toml_edit::{ImDocument, Item, Table, Value};

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// A key path from the top of the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPath(pub Vec<Segment>);

impl KeyPath {
    pub fn key(&self, key: &str) -> KeyPath {
        let mut path = self.clone();
        path.0.push(Segment::Key(key.to_owned()));
        path
    }

    pub fn index(&self, index: usize) -> KeyPath {
        let mut path = self.clone();
        path.0.push(Segment::Index(index));
        path
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(k) if i == 0 => write!(f, "{k}")?,
                Segment::Key(k) => write!(f, ".{k}")?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// Line and column of a byte offset in `text`.
pub fn position(text: &str, offset: usize) -> Position {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Position { line, column }
}

enum Node<'a> {
    Item(&'a Item),
    Value(&'a Value),
    Table(&'a Table),
}

/// The byte offset where `path` is written in the document: the key itself for a key, the
/// element for an index. A path that is not written resolves to its deepest written ancestor
/// (a missing key is reported where its table is).
pub fn locate(doc: &ImDocument<&str>, path: &KeyPath) -> Option<usize> {
    let mut node = Node::Table(doc.as_table());
    let mut best = None;
    for segment in &path.0 {
        let (next, key_span) = match (&node, segment) {
            (Node::Table(t), Segment::Key(k)) => (
                t.get(k).map(Node::Item),
                t.key(k).and_then(|key| key.span()),
            ),
            (Node::Item(item), Segment::Key(k)) => match item.as_table_like() {
                Some(t) => (
                    t.get(k).map(Node::Item),
                    t.key(k).and_then(|key| key.span()),
                ),
                None => (None, None),
            },
            (Node::Value(Value::InlineTable(t)), Segment::Key(k)) => (
                t.get(k).map(Node::Value),
                t.key(k).and_then(|key| key.span()),
            ),
            (Node::Item(Item::ArrayOfTables(a)), Segment::Index(i)) => {
                (a.get(*i).map(Node::Table), None)
            }
            (Node::Item(Item::Value(Value::Array(a))), Segment::Index(i))
            | (Node::Value(Value::Array(a)), Segment::Index(i)) => {
                (a.get(*i).map(Node::Value), None)
            }
            _ => (None, None),
        };
        let Some(next) = next else { break };
        let node_span = match &next {
            Node::Item(item) => item.span(),
            Node::Value(value) => value.span(),
            Node::Table(table) => table.span(),
        };
        best = key_span.or(node_span).map(|s| s.start).or(best);
        node = next;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_of(text: &str, path: KeyPath) -> usize {
        let doc = ImDocument::parse(text).unwrap();
        position(text, locate(&doc, &path).unwrap()).line
    }

    #[test]
    fn finds_nested_keys_arrays_and_inline_tables() {
        let text = "[server]\nidentifier = \"192.0.2.1\"\n\n[[dhcp4.subnet]]\nprefix = \"198.51.100.0/24\"\npools = [\n  \"a\",\n  \"b\",\n]\nreservations = [\n  { mac = \"x\", address = \"198.51.100.9\" },\n]\n";
        let root = KeyPath::default();
        assert_eq!(line_of(text, root.key("server").key("identifier")), 2);
        let subnet = root.key("dhcp4").key("subnet").index(0);
        assert_eq!(line_of(text, subnet.key("prefix")), 5);
        assert_eq!(line_of(text, subnet.key("pools").index(1)), 8);
        assert_eq!(
            line_of(text, subnet.key("reservations").index(0).key("address")),
            11
        );
        // A key that is not written falls back to where its parent is.
        assert_eq!(line_of(text, subnet.key("exclude")), 4);
    }

    #[test]
    fn displays_paths_as_written() {
        let p = KeyPath::default()
            .key("dhcp4")
            .key("subnet")
            .index(0)
            .key("pools")
            .index(1);
        assert_eq!(p.to_string(), "dhcp4.subnet[0].pools[1]");
    }
}
