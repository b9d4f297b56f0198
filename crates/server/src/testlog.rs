//! Tests' view of the log: a `tracing` layer keeping every event (level, message, fields), for
//! `tracing::subscriber::with_default` on the thread under test. Shared with the integration
//! tests (`#[path]`).

use std::fmt;
use std::sync::{Arc, Mutex};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// One event as it was emitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    pub level: Level,
    pub message: String,
    /// The other fields, `Display`ed or `Debug`ged as tracing hands them.
    pub fields: Vec<(String, String)>,
}

impl Said {
    /// The field `name`, if the event has it.
    #[allow(dead_code)]
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl fmt::Display for Said {
    /// As `lessor serve`'s text log writes it after "lessor: ".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head = match self.level {
            Level::ERROR => "error: ",
            Level::WARN => "warning: ",
            _ => "",
        };
        write!(f, "{head}{}", self.message)
    }
}

/// The events captured so far (clones share them).
#[derive(Debug, Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<Said>>>);

#[allow(dead_code)]
impl Captured {
    /// A subscriber that keeps every event, every level, in `self`.
    pub fn subscriber(&self) -> impl Subscriber + Send + Sync {
        tracing_subscriber::registry().with(self.clone())
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<Said> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Every event so far as its text line, one per line.
    pub fn text(&self) -> String {
        let lines: Vec<String> = self.events().iter().map(Said::to_string).collect();
        lines.join("\n")
    }

    /// Forgets what was captured.
    pub fn clear(&self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

impl<S: Subscriber> Layer<S> for Captured {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(Said {
            level: *event.metadata().level(),
            message: fields.message,
            fields: fields.others,
        });
    }
}

#[derive(Default)]
struct Fields {
    message: String,
    others: Vec<(String, String)>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.message = value.to_owned(),
            name => self.others.push((name.to_owned(), value.to_owned())),
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            "message" => self.message = format!("{value:?}"),
            name => self.others.push((name.to_owned(), format!("{value:?}"))),
        }
    }
}
