//! Run parameters of `lessor perf sarr`.

use std::net::{Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use lessor_wire::v6::{Duid, MAX_TRANSACTION_ID};

/// Which identity associations each client asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IaKinds {
    /// One IA_NA (a non-temporary address).
    Na,
    /// One IA_PD (a delegated prefix).
    Pd,
    /// One IA_NA and one IA_PD in the same exchange.
    Both,
}

impl IaKinds {
    /// Whether an IA_NA is asked for.
    pub fn na(self) -> bool {
        matches!(self, IaKinds::Na | IaKinds::Both)
    }

    /// Whether an IA_PD is asked for.
    pub fn pd(self) -> bool {
        matches!(self, IaKinds::Pd | IaKinds::Both)
    }

    /// `na`, `pd` or `both`, as the command line writes it.
    pub fn name(self) -> &'static str {
        match self {
            IaKinds::Na => "na",
            IaKinds::Pd => "pd",
            IaKinds::Both => "both",
        }
    }
}

/// What the simulated relay adds to every RELAY-FORW besides link- and peer-address.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RelayOptions {
    /// OPTION_INTERFACE_ID (18), the same for every client.
    pub interface_id: Option<Vec<u8>>,
    /// OPTION_REMOTE_ID (37) with this enterprise number; the remote-id is the client's MAC.
    pub remote_id_enterprise: Option<u32>,
    /// OPTION_RELAY_ID (53): the relay's DUID.
    pub relay_id: Option<Duid>,
    /// Add OPTION_RELAY_SOURCE_PORT (135, RFC 8357) so the server answers the socket's port
    /// instead of 547. The run adds it by itself when the socket is not bound to port 547.
    pub source_port: bool,
}

/// Everything one SARR run needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where RELAY-FORW go (the server's port 547 normally).
    pub server: SocketAddr,
    /// Local address of the one UDP socket (the relay's address: the server answers it).
    pub bind: SocketAddr,
    /// link-address of every RELAY-FORW: selects the server's link (subnet).
    pub link_address: Ipv6Addr,
    /// IA_NA, IA_PD or both per client.
    pub ia: IaKinds,
    /// Clients in the whole run; each does one SARR.
    pub clients: u32,
    /// Reuse this many identities (DUID, MAC, IAID) in turn, as perfdhcp's `-R`; `None`: every
    /// client its own.
    pub distinct_clients: Option<u32>,
    /// Most clients with an exchange outstanding at once.
    pub in_flight: u32,
    /// New clients per second (open loop); `None`: as fast as `in_flight` allows.
    pub rate: Option<u32>,
    /// How long new clients are started; exchanges still outstanding then run to their end.
    pub duration: Duration,
    /// Wait for the answer to one transmission.
    pub timeout: Duration,
    /// Retransmissions before a message counts as dropped.
    pub retries: u32,
    /// What the relay adds.
    pub relay: RelayOptions,
    /// Seed of the MACs, DUIDs and transaction-ids.
    pub seed: u64,
    /// Where to write `DUID ADDRESS-OR-PREFIX...` for every REPLY, as they arrive.
    pub bound_out: Option<PathBuf>,
}

impl Config {
    /// A configuration with the CLI defaults for everything but the server and link-address.
    pub fn new(server: SocketAddr, link_address: Ipv6Addr) -> Config {
        Config {
            server,
            bind: SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
            link_address,
            ia: IaKinds::Na,
            clients: 1000,
            distinct_clients: None,
            in_flight: 256,
            rate: None,
            duration: Duration::from_secs(60),
            timeout: Duration::from_secs(1),
            retries: 2,
            relay: RelayOptions::default(),
            seed: 0,
            bound_out: None,
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
        if self.distinct_clients == Some(0) {
            return Err("--distinct-clients must be at least 1".into());
        }
        if self.rate == Some(0) {
            return Err("--rate must be at least 1".into());
        }
        // Two transaction-ids per client (SOLICIT, REQUEST) in the 24-bit space.
        let most = (MAX_TRANSACTION_ID >> 1) + 1;
        if self.clients > most {
            return Err(format!(
                "--clients is at most {most} (two 24-bit transaction-ids each)"
            ));
        }
        if self
            .relay
            .interface_id
            .as_ref()
            .is_some_and(|i| i.is_empty())
        {
            return Err("--interface-id must not be empty".into());
        }
        if self.link_address.is_multicast() {
            return Err("--link-address must not be multicast".into());
        }
        if !self.server.is_ipv6() {
            return Err("--server must be an IPv6 address (DHCPv6)".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        let server: SocketAddr = "[::1]:547".parse().unwrap();
        let c = Config::new(server, "2001:db8:1::1".parse().unwrap());
        assert_eq!(c.validate(), Ok(()));
        let mut bad = c.clone();
        bad.in_flight = 0;
        assert!(bad.validate().is_err());
        let mut bad = c.clone();
        bad.timeout = Duration::ZERO;
        assert!(bad.validate().is_err());
        let mut bad = c.clone();
        bad.distinct_clients = Some(0);
        assert!(bad.validate().is_err());
        let mut bad = c.clone();
        bad.rate = Some(0);
        assert!(bad.validate().is_err());
        let mut ok = c.clone();
        ok.clients = 1 << 23;
        assert_eq!(ok.validate(), Ok(()));
        let mut bad = c.clone();
        bad.clients = (1 << 23) + 1;
        assert!(bad.validate().is_err());
        let mut bad = c.clone();
        bad.relay.interface_id = Some(Vec::new());
        assert!(bad.validate().is_err());
        let mut bad = c.clone();
        bad.link_address = "ff02::1:2".parse().unwrap();
        assert!(bad.validate().is_err());
        let mut bad = c;
        bad.server = "127.0.0.1:547".parse().unwrap();
        assert!(bad.validate().is_err());
        assert!(IaKinds::Both.na() && IaKinds::Both.pd());
        assert!(IaKinds::Na.na() && !IaKinds::Na.pd());
        assert!(!IaKinds::Pd.na() && IaKinds::Pd.pd());
    }
}
