//! The relay's file as written: kebab-case keys, unknown keys refused, every default here once
//! (and in docs/configuration.md).

use lessor_config::Seconds;
use serde::Deserialize;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct File {
    pub relay: Option<Relay>,
}

/// `[relay]`: either family or both.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Relay {
    /// Where the generated relay-id is kept.
    #[serde(default = "default_state_dir")]
    pub state_dir: PathBuf,
    /// A configured relay-id (DUID, hex), so that a replacement box takes over the old one's
    /// bindings.
    pub relay_id: Option<String>,
    /// Default: `control.sock` in `state-dir`.
    pub control_socket: Option<PathBuf>,
    pub dhcp4: Option<Dhcp4>,
    pub recovery: Option<Recovery>,
    pub dhcp6: Option<Dhcp6>,
    /// Whether receive threads poll their sockets for a while after a dense batch (default
    /// no: a relay sharing a small machine with its server would take the server's CPU).
    #[serde(default)]
    pub receive_spin: bool,
    /// How the log is written: "text" (default) or "json".
    #[serde(default)]
    pub log_format: lessor_config::LogFormat,
    /// The least severe events logged (default "info"); `LESSOR_LOG` overrides it.
    #[serde(default)]
    pub log_level: lessor_config::LogLevel,
}

fn default_state_dir() -> PathBuf {
    PathBuf::from("var/relay")
}

/// `[relay.dhcp4]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Dhcp4 {
    /// "192.0.2.1" or "192.0.2.1:67".
    #[serde(default)]
    pub servers: Vec<String>,
    #[serde(default = "default_max_hops")]
    pub max_hops: u8,
    #[serde(default = "default_port")]
    pub port: u16,
    /// Remote-id template for every interface that names none.
    pub remote_id: Option<String>,
    #[serde(default)]
    pub interface: Vec<Interface>,
}

/// RFC 1542 §4.1.1's default.
fn default_max_hops() -> u8 {
    4
}

fn default_port() -> u16 {
    67
}

/// `[[relay.dhcp4.interface]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Interface {
    pub name: String,
    pub circuit_id: Option<String>,
    pub remote_id: Option<String>,
    pub giaddr: Option<Ipv4Addr>,
    #[serde(default)]
    pub trusted: bool,
}

/// `[relay.recovery]`: the table rebuilt at start by bulk leasequery, and on demand by UDP
/// leasequery.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Recovery {
    /// Whether the relay asks the servers at start.
    #[serde(default = "yes")]
    pub at_start: bool,
    /// The longest start-up waits for recovery before the relay declares itself ready.
    #[serde(default = "default_ready_after")]
    pub ready_after: Seconds,
    /// The DHCPv4 servers' bulk listeners: "192.0.2.1" (on `bulk-port`) or "192.0.2.1:6767".
    /// Default: every `[relay.dhcp4]` server's address on `bulk-port`.
    pub servers4: Option<Vec<String>>,
    /// The DHCPv6 servers' bulk listeners: "2001:db8::1" (TCP 547) or "[2001:db8::1]:5470".
    /// Default: every unicast `[relay.dhcp6]` server's address on TCP 547.
    pub servers6: Option<Vec<String>>,
    #[serde(default = "default_bulk_port")]
    pub bulk_port: u16,
    /// "rfc6926" or "draft".
    #[serde(default = "default_dialect")]
    pub dialect: String,
    #[serde(default = "default_conn_timeout")]
    pub conn_timeout: Seconds,
    #[serde(default = "default_data_timeout")]
    pub data_timeout: Seconds,
    #[serde(default = "default_first_retry")]
    pub first_retry: Seconds,
    #[serde(default = "default_max_retry")]
    pub max_retry: Seconds,
    /// Whether an address the table does not know is asked about by UDP leasequery.
    #[serde(default = "yes")]
    pub on_demand: bool,
    /// How long a control request waits for the answer of an on-demand leasequery.
    #[serde(default = "default_lookup_wait")]
    pub lookup_wait: Seconds,
}

fn yes() -> bool {
    true
}

fn default_ready_after() -> Seconds {
    Seconds(10)
}

/// The bulk draft §5 / RFC 6926 §5: the DHCP server port, over TCP.
fn default_bulk_port() -> u16 {
    67
}

fn default_dialect() -> String {
    "rfc6926".into()
}

/// BULK_LQ_CONN_TIMEOUT and BULK_LQ_DATA_TIMEOUT (draft §10: 30 s).
fn default_conn_timeout() -> Seconds {
    Seconds(30)
}

fn default_data_timeout() -> Seconds {
    Seconds(30)
}

fn default_first_retry() -> Seconds {
    Seconds(1)
}

/// BULK_LQ_MAX_RETRY (draft §10: 60 s).
fn default_max_retry() -> Seconds {
    Seconds(60)
}

fn default_lookup_wait() -> Seconds {
    Seconds(5)
}

impl Default for Recovery {
    fn default() -> Recovery {
        Recovery {
            at_start: true,
            ready_after: default_ready_after(),
            servers4: None,
            servers6: None,
            bulk_port: default_bulk_port(),
            dialect: default_dialect(),
            conn_timeout: default_conn_timeout(),
            data_timeout: default_data_timeout(),
            first_retry: default_first_retry(),
            max_retry: default_max_retry(),
            on_demand: true,
            lookup_wait: default_lookup_wait(),
        }
    }
}

/// `[relay.dhcp6]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Dhcp6 {
    /// "2001:db8::1", "[2001:db8::1]:547", or a multicast group / link-local address with its
    /// upstream interface: "ff05::1:3%eth0".
    #[serde(default)]
    pub servers: Vec<String>,
    /// Where the relay listens (clients' multicast and the servers' RELAY-REPLs).
    #[serde(default = "default_port6")]
    pub port: u16,
    /// Remote-Id (option 37) template for every interface that names none.
    pub remote_id: Option<String>,
    /// The vendor's enterprise number of every Remote-Id (RFC 4649 §3).
    pub enterprise_number: Option<u32>,
    #[serde(default)]
    pub interface: Vec<Interface6>,
}

/// RFC 8415 §7.2.
fn default_port6() -> u16 {
    547
}

/// `[[relay.dhcp6.interface]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Interface6 {
    pub name: String,
    pub interface_id: Option<String>,
    pub link_address: Option<Ipv6Addr>,
    pub remote_id: Option<String>,
}
