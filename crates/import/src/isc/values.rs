//! Values as ISC writes them in `dhcpd.leases`: dates, colon hex, hardware types, `set` values
//! and relay agent (option 82) sub-option values.

use std::net::Ipv4Addr;

use lessor_store::civil::{days_from_civil, days_in_month};

/// A value quoted in a message, cut to 64 bytes.
pub fn clip(s: &str) -> String {
    const MAX: usize = 64;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// Colon-separated hex octets of one or two digits (`1:2:ab`, as ISC writes them); `None` for
/// anything else, including the empty word.
pub fn parse_hex(w: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(w.len() / 3 + 1);
    for p in w.split(':') {
        let v = match p.as_bytes() {
            [a] => hex_digit(*a)?,
            [a, b] => hex_digit(*a)? << 4 | hex_digit(*b)?,
            _ => return None,
        };
        out.push(v);
    }
    Some(out)
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The numbers of `text` separated by `sep`, exactly `N` of them, each of 1 to 6 digits.
fn fields<const N: usize>(text: &str, sep: u8) -> Option<[i64; N]> {
    let mut out = [0i64; N];
    let mut parts = text.as_bytes().split(|&b| b == sep);
    for slot in &mut out {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 6 {
            return None;
        }
        for &d in p {
            if !d.is_ascii_digit() {
                return None;
            }
            *slot = *slot * 10 + i64::from(d - b'0');
        }
    }
    parts.next().is_none().then_some(out)
}

/// `YYYY/MM/DD` and `HH:MM:SS` (UTC) to seconds since the epoch. Second 60 (a leap second) is
/// accepted and reads as the next second.
pub fn civil_to_epoch(date: &str, time: &str) -> Result<u64, String> {
    let (Some([y, mo, dd]), Some([h, mi, se])) = (fields(date, b'/'), fields(time, b':')) else {
        return Err(format!(
            "expected `YYYY/MM/DD HH:MM:SS`, found `{date} {time}`"
        ));
    };
    if y < 1970 || !(1..=12).contains(&mo) || dd < 1 || dd > days_in_month(y, mo) {
        return Err(format!("invalid date `{date}`"));
    }
    if h > 23 || mi > 59 || se > 60 {
        return Err(format!("invalid time of day `{time}`"));
    }
    let secs = days_from_civil(y, mo, dd) * 86_400 + h * 3600 + mi * 60 + se;
    u64::try_from(secs).map_err(|_| format!("date `{date}` before 1970"))
}

/// `epoch N` seconds (`db-time-format local`).
pub fn epoch_seconds(n: &str) -> Option<u64> {
    if n.bytes().all(|b| b.is_ascii_digit()) {
        n.parse().ok()
    } else {
        None
    }
}

/// The ARP hardware type of a `hardware` statement.
pub fn hardware_type(name: &str) -> Option<u8> {
    Some(match name {
        "ethernet" => 1,
        "token-ring" => 6,
        "fddi" => 8,
        "infiniband" => 32,
        _ => return None,
    })
}

/// The value of a `set NAME = VALUE;` statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetValue {
    /// A quoted string, escapes decoded.
    Text(Vec<u8>),
    /// Colon-separated hex octets (`01:02:ab`).
    Hex(Vec<u8>),
    /// `%123`, as ISC writes numeric variables.
    Number(i64),
    /// `true` / `false`.
    Bool(bool),
    /// Anything else, tokens joined by single spaces.
    Other(String),
}

impl SetValue {
    /// A value of one word: boolean, `%N`, colon hex, or other.
    pub fn from_word(w: &str) -> SetValue {
        match w {
            "true" => SetValue::Bool(true),
            "false" => SetValue::Bool(false),
            _ => match w.strip_prefix('%').and_then(|n| n.parse().ok()) {
                Some(n) => SetValue::Number(n),
                None => match parse_hex(w) {
                    Some(b) => SetValue::Hex(b),
                    None => SetValue::Other(w.to_string()),
                },
            },
        }
    }

    /// The octets of a text or hex value.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Self::Text(b) | Self::Hex(b) => Some(b),
            _ => None,
        }
    }
}

/// How ISC prints the value of a relay agent sub-option (its option format letter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentFormat {
    /// Octets: a quoted string when printable, else colon hex (`X`).
    Data,
    /// An IPv4 address in dotted-quad form (`I`).
    Ipv4,
    /// An unsigned 32-bit number in decimal (`L`).
    Uint32,
    /// No value at all (`Z`); ISC does not write empty sub-options, but reads `;` here.
    Empty,
}

/// Prefix of the relay agent option space in option names (`option agent.circuit-id`).
pub const AGENT_SPACE: &str = "agent.";

/// The sub-option code and value format of `agent.NAME`: the names ISC dhcpd 4.4 has for option
/// 82 sub-options, and `unknown-N` (what it writes for every other code `N`).
pub fn agent_sub_option(name: &str) -> Option<(u8, AgentFormat)> {
    Some(match name {
        "circuit-id" => (1, AgentFormat::Data),
        "remote-id" => (2, AgentFormat::Data),
        "agent-id" => (3, AgentFormat::Ipv4),
        "DOCSIS-device-class" => (4, AgentFormat::Uint32),
        "link-selection" => (5, AgentFormat::Ipv4),
        // Not an ISC name; hand-written files and earlier Lessor documentation use it.
        "relay-id" => (12, AgentFormat::Data),
        "relay-port" => (19, AgentFormat::Empty),
        _ => {
            let n = name.strip_prefix("unknown-")?;
            if n.is_empty() || n.len() > 3 || !n.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            (n.parse().ok()?, AgentFormat::Data)
        }
    })
}

/// The sub-option carried by a `set` variable that configurations commonly use to keep option
/// 82 values (`set agent-circuit-id = option agent.circuit-id;`).
pub fn agent_set_variable(name: &str) -> Option<u8> {
    Some(match name {
        "agent-circuit-id" | "agent.circuit-id" | "circuit-id" => 1,
        "agent-remote-id" | "agent.remote-id" | "remote-id" => 2,
        "agent-relay-id" | "agent.relay-id" => 12,
        _ => return None,
    })
}

/// The octets of a dotted-quad IPv4 address.
pub fn ipv4_octets(w: &str) -> Option<Vec<u8>> {
    w.parse::<Ipv4Addr>().ok().map(|a| a.octets().to_vec())
}

/// The four network-order octets of a decimal unsigned 32-bit number.
pub fn uint32_octets(w: &str) -> Option<Vec<u8>> {
    if w.is_empty() || !w.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    w.parse::<u32>().ok().map(|n| n.to_be_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex() {
        assert_eq!(
            parse_hex("0:3:0:1:2:0:0:5e:0:53:1").map(|v| v.len()),
            Some(11)
        );
        assert_eq!(parse_hex("ab"), Some(vec![0xab]));
        for bad in ["", ":", "1:", "abc", "0x1", "1::2", "g"] {
            assert_eq!(parse_hex(bad), None, "{bad}");
        }
    }

    #[test]
    fn agent_names() {
        assert_eq!(
            agent_sub_option("unknown-12"),
            Some((12, AgentFormat::Data))
        );
        assert_eq!(agent_sub_option("unknown-0"), Some((0, AgentFormat::Data)));
        assert_eq!(
            agent_sub_option("unknown-255"),
            Some((255, AgentFormat::Data))
        );
        assert_eq!(
            agent_sub_option("link-selection"),
            Some((5, AgentFormat::Ipv4))
        );
        assert_eq!(
            agent_sub_option("DOCSIS-device-class"),
            Some((4, AgentFormat::Uint32))
        );
        for bad in [
            "unknown-256",
            "unknown-",
            "unknown-1a",
            "unknown-0012",
            "bogus",
        ] {
            assert_eq!(agent_sub_option(bad), None, "{bad}");
        }
        assert_eq!(uint32_octets("5"), Some(vec![0, 0, 0, 5]));
        assert_eq!(uint32_octets("4294967296"), None);
        assert_eq!(uint32_octets("-1"), None);
        assert_eq!(ipv4_octets("198.51.100.7"), Some(vec![198, 51, 100, 7]));
        assert_eq!(ipv4_octets("198.51.100"), None);
    }

    #[test]
    fn dates() {
        assert_eq!(civil_to_epoch("2026/11/23", "22:54:04"), Ok(1_795_474_444));
        assert_eq!(civil_to_epoch("1970/01/01", "00:00:00"), Ok(0));
        assert!(civil_to_epoch("2026/11/23/1", "22:54:04").is_err());
        assert!(civil_to_epoch("2026/11/23", "22:54").is_err());
        assert!(civil_to_epoch("2026/04/31", "00:00:00").is_err());
        assert_eq!(epoch_seconds("12"), Some(12));
        assert_eq!(epoch_seconds("+12"), None);
    }

    #[test]
    fn set_words() {
        assert_eq!(SetValue::from_word("%-3"), SetValue::Number(-3));
        assert_eq!(SetValue::from_word("true"), SetValue::Bool(true));
        assert_eq!(SetValue::from_word("1:2"), SetValue::Hex(vec![1, 2]));
        assert_eq!(SetValue::from_word("x"), SetValue::Other("x".into()));
    }
}
