//! DHCPv6 leasequery (RFC 5007) pieces shared by the UDP responder and bulk leasequery over TCP
//! (RFC 5460, [`crate::bulk6`]).

pub mod client_data;
