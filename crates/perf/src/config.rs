//! Run parameters of `lessor perf dora` and the small parsers the CLI uses for them.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// Default relay-id (sub-option 12): the ASCII text `lessor-perf`.
pub const DEFAULT_RELAY_ID: &[u8] = b"lessor-perf";

/// Everything one DORA run needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where DISCOVER/REQUEST/RELEASE go.
    pub server: SocketAddr,
    /// The relay agent address written into every message.
    pub giaddr: Ipv4Addr,
    /// Local address the single UDP socket binds (replies come to giaddr:relay-port).
    pub bind: SocketAddr,
    /// Clients in the whole run.
    pub clients: u32,
    /// Clients with an exchange outstanding at once (closed loop).
    pub in_flight: u32,
    /// Upper bound on the run's length.
    pub duration: Duration,
    /// Wait for the answer to one transmission.
    pub timeout: Duration,
    /// Retransmissions before a message counts as dropped.
    pub retries: u32,
    /// Relay-id sub-option (12) value.
    pub relay_id: Vec<u8>,
    /// Link-selection sub-option (5, RFC 3527): the subnet to allocate from when giaddr is not
    /// on the clients' link.
    pub link_selection: Option<Ipv4Addr>,
    /// Send DHCPRELEASE after each ACK.
    pub release: bool,
    /// Send a client identifier (option 61: type 1 and the MAC) in every message.
    pub client_id: bool,
    /// Seed of the MACs and xids.
    pub seed: u64,
    /// Where to write `ADDRESS MAC` for every ACK, as they arrive.
    pub acked_out: Option<PathBuf>,
}

impl Config {
    /// A configuration with the CLI defaults for everything but the server and giaddr.
    pub fn new(server: SocketAddr, giaddr: Ipv4Addr) -> Config {
        Config {
            server,
            giaddr,
            bind: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
            clients: 1000,
            in_flight: 64,
            duration: Duration::from_secs(60),
            timeout: Duration::from_secs(1),
            retries: 2,
            relay_id: DEFAULT_RELAY_ID.to_vec(),
            link_selection: None,
            release: false,
            client_id: false,
            seed: 0,
            acked_out: None,
        }
    }

    /// Rejects values the run cannot work with.
    pub fn validate(&self) -> Result<(), String> {
        if self.in_flight == 0 {
            return Err("--in-flight must be at least 1".into());
        }
        if self.timeout.is_zero() {
            return Err("--timeout must be more than zero".into());
        }
        if self.relay_id.len() > 255 {
            return Err("--relay-id is longer than 255 octets".into());
        }
        if self.giaddr.is_unspecified() {
            return Err("--giaddr must be an address (replies are sent to it)".into());
        }
        Ok(())
    }
}

/// Parses a duration such as `30s`, `500ms`, `2m`, `1h`, `1m30s`; a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!("{text:?}: expected a number before {rest:?}"));
        }
        let (num, tail) = rest.split_at(digits);
        let n: u64 = num
            .parse()
            .map_err(|_| format!("{text:?}: number too large"))?;
        let unit_len = tail.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, tail) = tail.split_at(unit_len);
        let part = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            "" => return Err(format!("{text:?}: missing unit after {num} (ms, s, m, h)")),
            u => return Err(format!("{text:?}: unknown unit {u:?} (ms, s, m, h)")),
        };
        total = total.saturating_add(part);
        rest = tail;
    }
    Ok(total)
}

/// Parses hex octets: `0a0b0c`, `0a:0b:0c`, `0a-0b`, `0a 0b`, optionally `0x`-prefixed.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    lessor_wire::hex::parse(text).map_err(|e| format!("{text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration(" 1s500ms "), Ok(Duration::from_millis(1500)));
        for bad in ["", "s", "10x", "1.5s", "10 s", "-1s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hex() {
        assert_eq!(parse_hex("0a0B"), Ok(vec![10, 11]));
        assert_eq!(parse_hex("0a:0b:ff"), Ok(vec![10, 11, 255]));
        assert_eq!(parse_hex("0x0102"), Ok(vec![1, 2]));
        assert!(parse_hex("").is_err(), "an empty relay-id is refused");
        assert!(parse_hex("abc").is_err());
        assert!(parse_hex("zz").is_err());
    }

    #[test]
    fn validation() {
        let server: SocketAddr = "127.0.0.1:6767".parse().unwrap();
        let c = Config::new(server, Ipv4Addr::LOCALHOST);
        assert_eq!(c.validate(), Ok(()));
        let mut bad = c.clone();
        bad.in_flight = 0;
        assert!(bad.validate().is_err());
        let mut bad = c.clone();
        bad.timeout = Duration::ZERO;
        assert!(bad.validate().is_err());
        let mut bad = c.clone();
        bad.giaddr = Ipv4Addr::UNSPECIFIED;
        assert!(bad.validate().is_err());
        let mut bad = c;
        bad.relay_id = vec![0; 256];
        assert!(bad.validate().is_err());
    }
}
