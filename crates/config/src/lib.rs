//! `lessor-config`: what every Lessor configuration file shares, whichever role reads it (the
//! server's `lessor.toml`, the relay's own file): read the TOML, deserialize it into the role's
//! schema, and name every mistake by file, line, column and key ([`ConfigError`]); durations as
//! operators write them ([`Seconds`]).
//!
//! A role's crate owns its schema and its checks; this crate only turns "which key" into "where".

#![forbid(unsafe_code)]

pub mod duration;
pub mod error;
pub mod locate;
pub mod logs;

pub use duration::Seconds;
pub use error::{ConfigError, ConfigErrors};
pub use locate::{KeyPath, Position, Segment};
pub use logs::{LogFormat, LogLevel};

use serde::de::DeserializeOwned;
use std::path::Path;
use toml_edit::ImDocument;

/// A finding of a role's checks: the key it is about and what is wrong.
pub type Finding = (KeyPath, String);

/// The text of the file at `path`; an unreadable file is one error naming it.
pub fn read(path: &Path) -> Result<String, ConfigErrors> {
    std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: path.display().to_string(),
            position: None,
            key: KeyPath::default(),
            message: format!("cannot read: {e}"),
        }])
    })
}

/// A TOML text being checked: the parsed document, so that any key path can be located in it.
pub struct Source<'a> {
    text: &'a str,
    file: &'a str,
    doc: ImDocument<&'a str>,
}

impl<'a> Source<'a> {
    /// Parses `text` (`file` names it in errors); a syntax error is located where it is.
    pub fn parse(text: &'a str, file: &'a str) -> Result<Source<'a>, ConfigErrors> {
        match ImDocument::parse(text) {
            Ok(doc) => Ok(Source { text, file, doc }),
            Err(e) => {
                let message = e.message().trim().to_owned();
                let offset = e.span().map(|s| s.start);
                Err(ConfigErrors(vec![error_at(
                    text,
                    file,
                    offset,
                    KeyPath::default(),
                    message,
                )]))
            }
        }
    }

    /// The document, to look at what is written (e.g. which top-level tables there are).
    pub fn document(&self) -> &ImDocument<&'a str> {
        &self.doc
    }

    /// Deserializes the text into `T`; the first mistake (unknown key, wrong type, missing key)
    /// is located at the key it is about.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, ConfigErrors> {
        serde_path_to_error::deserialize(toml::Deserializer::new(self.text)).map_err(|e| {
            let key = key_path(e.path());
            let offset = e
                .inner()
                .span()
                .map(|s| s.start)
                .or_else(|| locate::locate(&self.doc, &key));
            ConfigErrors(vec![error_at(
                self.text,
                self.file,
                offset,
                key,
                e.inner().message().to_owned(),
            )])
        })
    }

    /// A finding, located at its key (or at its deepest written ancestor).
    pub fn error(&self, key: KeyPath, message: String) -> ConfigError {
        let offset = locate::locate(&self.doc, &key);
        error_at(self.text, self.file, offset, key, message)
    }

    /// Every finding, located.
    pub fn errors(&self, findings: Vec<Finding>) -> Vec<ConfigError> {
        findings
            .into_iter()
            .map(|(key, message)| self.error(key, message))
            .collect()
    }
}

fn error_at(
    text: &str,
    file: &str,
    offset: Option<usize>,
    key: KeyPath,
    message: String,
) -> ConfigError {
    ConfigError {
        file: file.to_owned(),
        position: offset.map(|o| locate::position(text, o)),
        key,
        message,
    }
}

fn key_path(path: &serde_path_to_error::Path) -> KeyPath {
    use serde_path_to_error::Segment as S;
    KeyPath(
        path.iter()
            .filter_map(|s| match s {
                S::Seq { index } => Some(Segment::Index(*index)),
                S::Map { key } => Some(Segment::Key(key.clone())),
                S::Enum { variant } => Some(Segment::Key(variant.clone())),
                S::Unknown => None,
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct T {
        a: Inner,
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        wait: Seconds,
    }

    #[test]
    fn errors_name_file_line_column_and_key() {
        let text = "[a]\n\nwait = \"3x\"\n";
        let source = Source::parse(text, "f.toml").unwrap();
        let e = source.deserialize::<T>().unwrap_err();
        assert!(e.to_string().starts_with("f.toml:3:8: a.wait: "), "{e}");
        let e = source.error(KeyPath::default().key("a").key("wait"), "no".into());
        assert_eq!(e.to_string(), "f.toml:3:1: a.wait: no");
        let e = Source::parse("[a\n", "g.toml").err().unwrap();
        assert!(e.to_string().starts_with("g.toml:1:3: "), "{e}");
    }
}
