//! Durations as operators write them: "30s", "5m", "1h", "52m30s", "1d", or whole seconds.

use core::fmt;
use serde::de::{self, Deserializer, Visitor};

/// A span of time in whole seconds, the resolution of every DHCP timer (RFC 2132 §9.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Seconds(pub u32);

impl Seconds {
    /// As a [`std::time::Duration`].
    pub fn duration(self) -> std::time::Duration {
        std::time::Duration::from_secs(u64::from(self.0))
    }

    /// Parses "1h30m"-style text: one or more `<number><unit>` groups, units d, h, m, s.
    pub fn parse(text: &str) -> Result<Seconds, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("empty duration".into());
        }
        let mut total: u64 = 0;
        let mut number: Option<u64> = None;
        for c in text.chars() {
            if let Some(d) = c.to_digit(10) {
                let n = number
                    .unwrap_or(0)
                    .checked_mul(10)
                    .and_then(|n| n.checked_add(d.into()));
                number = Some(n.ok_or_else(|| format!("duration {text:?} is too long"))?);
                continue;
            }
            let unit: u64 = match c {
                'd' => 86_400,
                'h' => 3_600,
                'm' => 60,
                's' => 1,
                _ => {
                    return Err(format!(
                        "duration {text:?}: unknown unit {c:?} (use d, h, m, s)"
                    ))
                }
            };
            let n = number
                .take()
                .ok_or_else(|| format!("duration {text:?}: unit {c:?} without a number"))?;
            total = n
                .checked_mul(unit)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(|| format!("duration {text:?} is too long"))?;
        }
        if number.is_some() {
            return Err(format!(
                "duration {text:?}: a number needs a unit (d, h, m, s), e.g. \"30s\""
            ));
        }
        u32::try_from(total)
            .map(Seconds)
            .map_err(|_| format!("duration {text:?} exceeds the 32-bit seconds DHCP can carry"))
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        if rest == 0 {
            return f.write_str("0s");
        }
        for (unit, len) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
            if rest >= len {
                write!(f, "{}{unit}", rest / len)?;
                rest %= len;
            }
        }
        Ok(())
    }
}

impl<'de> serde::Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Seconds;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"30s\", \"1h\" or \"52m30s\", or whole seconds")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Seconds, E> {
                Seconds::parse(v).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Seconds, E> {
                u32::try_from(v)
                    .map(Seconds)
                    .map_err(|_| E::custom(format!("{v} seconds is out of range")))
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_add_up() {
        assert_eq!(Seconds::parse("30s"), Ok(Seconds(30)));
        assert_eq!(Seconds::parse("52m30s"), Ok(Seconds(3150)));
        assert_eq!(Seconds::parse("1d2h"), Ok(Seconds(93_600)));
    }

    #[test]
    fn refuses_what_is_not_a_duration() {
        assert!(Seconds::parse("").is_err());
        assert!(Seconds::parse("30").is_err());
        assert!(Seconds::parse("h").is_err());
        assert!(Seconds::parse("3x").is_err());
        assert!(Seconds::parse("99999999999999999999999s").is_err());
        assert!(Seconds::parse("50000d").is_err());
    }

    #[test]
    fn display_is_parseable() {
        for s in [0, 1, 59, 60, 3150, 86_400, 93_661] {
            assert_eq!(Seconds::parse(&Seconds(s).to_string()), Ok(Seconds(s)));
        }
    }
}
