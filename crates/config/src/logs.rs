//! `log-format` and `log-level`, which every role's section takes (`[server]`, `[relay]`): how
//! its log is written and which events it keeps (docs/configuration.md, "Logs"). The `LESSOR_LOG`
//! environment variable, read by the binary, overrides the level.

use serde::Deserialize;

/// How each log event is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One line per event: `RFC3339 lessor: [warning: |error: ]MESSAGE`.
    #[default]
    Text,
    /// One JSON object per line: timestamp, level, target, message and the event's fields.
    Json,
}

/// The least severe events kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Error,
    Warn,
    #[default]
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    /// The name as written in the file (and in `LESSOR_LOG`'s syntax).
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    #[serde(rename_all = "kebab-case")]
    struct Section {
        #[serde(default)]
        log_format: LogFormat,
        #[serde(default)]
        log_level: LogLevel,
    }

    #[test]
    fn the_names_operators_write_are_read_and_others_refused() {
        let s: Section = toml::from_str("log-format = \"json\"\nlog-level = \"warn\"").unwrap();
        assert_eq!(
            (s.log_format, s.log_level),
            (LogFormat::Json, LogLevel::Warn)
        );
        let s: Section = toml::from_str("").unwrap();
        assert_eq!(
            (s.log_format, s.log_level),
            (LogFormat::Text, LogLevel::Info)
        );
        assert!(toml::from_str::<Section>("log-format = \"xml\"").is_err());
        assert!(toml::from_str::<Section>("log-level = \"loud\"").is_err());
        assert!(toml::from_str::<Section>("log-level = \"INFO\"").is_err());
    }
}
