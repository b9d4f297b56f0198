//! The process's log (docs/operator-guide.md, "Logs"): the `tracing` events the server and the
//! relay emit, written to stderr as text (`RFC3339 lessor: [warning: |error: ]MESSAGE`, the shape
//! the log had before it was structured) or as one JSON object per line with the event's fields.
//! `[server]`/`[relay]` `log-format` and `log-level` choose; `LESSOR_LOG` (EnvFilter syntax,
//! e.g. `debug` or `lessor_server=debug`) overrides the level.

use lessor_config::{LogFormat, LogLevel};
use std::fmt;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// The environment variable that overrides `log-level`.
pub const ENV: &str = "LESSOR_LOG";

/// Installs the process's subscriber, writing to stderr. An error names a `LESSOR_LOG` that
/// does not parse.
pub fn init(format: LogFormat, level: LogLevel) -> Result<(), String> {
    let filter = filter(std::env::var(ENV).ok().as_deref(), level)?;
    let registry = tracing_subscriber::registry().with(filter);
    let installed = match format {
        LogFormat::Text => tracing::subscriber::set_global_default(
            registry.with(
                tracing_subscriber::fmt::layer()
                    .event_format(Text { stamped: true })
                    .with_writer(std::io::stderr),
            ),
        ),
        LogFormat::Json => tracing::subscriber::set_global_default(
            registry.with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_span_list(false)
                    .with_timer(Rfc3339)
                    .with_writer(std::io::stderr),
            ),
        ),
    };
    installed.map_err(|e| format!("cannot install the log: {e}"))
}

/// `LESSOR_LOG` when set (and not empty), else `level` for every target.
fn filter(env: Option<&str>, level: LogLevel) -> Result<EnvFilter, String> {
    match env.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => EnvFilter::builder()
            .parse(v)
            .map_err(|e| format!("{ENV}={v:?}: {e}")),
        None => Ok(EnvFilter::new(level.as_str())),
    }
}

/// A subscriber writing the text lines to `writer`, with or without the timestamp and
/// "lessor: " head, at `level` and above (for `lessor demo`, which prints the server it runs).
pub fn text_to<W>(writer: W, stamped: bool, level: LogLevel) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::registry()
        .with(EnvFilter::new(level.as_str()))
        .with(
            tracing_subscriber::fmt::layer()
                .event_format(Text { stamped })
                .with_writer(writer),
        )
}

/// The text line: the operator-facing message only (every event's message says what its fields
/// hold), warnings and errors headed as they always were.
struct Text {
    stamped: bool,
}

impl<S, N> FormatEvent<S, N> for Text
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        if self.stamped {
            Rfc3339.format_time(&mut writer)?;
            writer.write_str(" lessor: ")?;
        }
        writer.write_str(head(*event.metadata().level()))?;
        let mut message = Message(&mut writer, Ok(()));
        event.record(&mut message);
        message.1?;
        writeln!(writer)
    }
}

/// What a text line says before the message at `level`.
fn head(level: Level) -> &'static str {
    match level {
        Level::ERROR => "error: ",
        Level::WARN => "warning: ",
        _ => "",
    }
}

/// Writes an event's `message` field.
struct Message<'a, 'w>(&'a mut Writer<'w>, fmt::Result);

impl Visit for Message<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.1 = self.0.write_str(value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.1 = write!(self.0, "{value:?}");
        }
    }
}

/// The wall clock as the rest of Lessor writes it (RFC 3339, UTC, seconds).
struct Rfc3339;

impl FormatTime for Rfc3339 {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        let now = crate::leases::text::rfc3339(lessor_net::clock::wall_now()).unwrap_or_default();
        w.write_str(&now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    /// What a subscriber wrote.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    #[test]
    fn text_lines_keep_their_shape_and_heads() {
        let out = Captured::default();
        let w = out.clone();
        let sub = text_to(move || w.clone(), false, LogLevel::Info);
        tracing::subscriber::with_default(sub, || {
            tracing::info!(count = 3, "store x: 3 binding(s) loaded");
            tracing::warn!(reason = "r", "leasequery: 1 queries dropped");
            tracing::error!("store: the last changes were not written");
            tracing::debug!("not at info");
        });
        assert_eq!(
            out.text(),
            "store x: 3 binding(s) loaded\nwarning: leasequery: 1 queries dropped\n\
             error: store: the last changes were not written\n"
        );
    }

    #[test]
    fn stamped_lines_start_with_the_time_and_the_name() {
        let out = Captured::default();
        let w = out.clone();
        let sub = text_to(move || w.clone(), true, LogLevel::Warn);
        tracing::subscriber::with_default(sub, || {
            tracing::info!("hidden at warn");
            tracing::warn!("seen");
        });
        let text = out.text();
        let (stamp, rest) = text.split_once(' ').unwrap();
        assert!(stamp.ends_with('Z') && stamp.contains('T'), "{text}");
        assert_eq!(rest, "lessor: warning: seen\n");
    }

    #[test]
    fn lessor_log_overrides_the_level_and_a_bad_one_is_named() {
        let f = filter(Some("debug"), LogLevel::Warn).unwrap();
        assert_eq!(
            f.max_level_hint(),
            Some(tracing::level_filters::LevelFilter::DEBUG)
        );
        let f = filter(Some("  "), LogLevel::Warn).unwrap();
        assert_eq!(
            f.max_level_hint(),
            Some(tracing::level_filters::LevelFilter::WARN)
        );
        let f = filter(None, LogLevel::Error).unwrap();
        assert_eq!(
            f.max_level_hint(),
            Some(tracing::level_filters::LevelFilter::ERROR)
        );
        let e = filter(Some("lessor=nonsense[["), LogLevel::Info).unwrap_err();
        assert!(e.starts_with("LESSOR_LOG="), "{e}");
    }
}
