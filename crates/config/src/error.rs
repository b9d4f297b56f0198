//! A config mistake, named by file, line, column and key.

use crate::locate::{KeyPath, Position};
use core::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    /// Where in the file; `None` only when the file could not be read at all.
    pub position: Option<Position>,
    /// The key the mistake is about; empty for syntax errors.
    pub key: KeyPath,
    pub message: String,
}

impl ConfigError {
    /// `FILE:LINE:COLUMN: KEY` (what is known of it).
    pub fn location(&self) -> String {
        let mut out = self.file.clone();
        if let Some(p) = self.position {
            out.push_str(&format!(":{}:{}", p.line, p.column));
        }
        if !self.key.0.is_empty() {
            out.push_str(&format!(": {}", self.key));
        }
        out
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location(), self.message)
    }
}

/// Every mistake found in one file (validation does not stop at the first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}
