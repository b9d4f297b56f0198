//! Run parameters of `lessor perf dora`.

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
    /// Times a client starts over after a DHCPNAK (0: a DHCPNAK ends its exchange).
    pub nak_restarts: u32,
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
    /// Clients on the link of the server or relay (no giaddr, no option 82, broadcast answers
    /// to port 68) instead of behind a simulated relay.
    pub on_link: bool,
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
            nak_restarts: 0,
            relay_id: DEFAULT_RELAY_ID.to_vec(),
            link_selection: None,
            release: false,
            client_id: false,
            seed: 0,
            acked_out: None,
            on_link: false,
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
        if self.giaddr.is_unspecified() && !self.on_link {
            return Err("--giaddr must be an address (replies are sent to it)".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut on_link = bad.clone();
        on_link.on_link = true;
        assert_eq!(
            on_link.validate(),
            Ok(()),
            "clients on the link need no giaddr"
        );
        let mut bad = c;
        bad.relay_id = vec![0; 256];
        assert!(bad.validate().is_err());
    }
}
