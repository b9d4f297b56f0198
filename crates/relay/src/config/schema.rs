//! The relay's file as written: kebab-case keys, unknown keys refused, every default here once
//! (and in docs/configuration.md).

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
    pub dhcp6: Option<Dhcp6>,
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
