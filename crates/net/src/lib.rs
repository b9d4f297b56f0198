//! `lessor-net`: the sockets of Lessor, for the server and (later) the relay agent. It moves
//! octets and knows nothing of what they mean: the protocol engines that decide what to answer
//! live in other crates and are handed what arrives here.
//!
//! - [`udp`]: DHCP datagrams for both families. Sockets bound to a listen address or to an
//!   interface (SO_BINDTODEVICE; DHCPv6 joins its multicast groups there), threads reading them in
//!   batches (recvmmsg) with each datagram's destination address and interface (pktinfo), and a
//!   sender that delivers each [`Outgoing`] where its [`Destination`] says (sendmmsg per socket;
//!   limited broadcast; unicast to a DHCPv4 client without an address through a neighbour
//!   entry; multicast out of one interface).
//! - [`tcp`]: a listener that gives each accepted connection a thread running a sans-IO
//!   [`tcp::StreamEngine`] (bulk leasequery today), with an allow-list, connection slots,
//!   deadlines and a clean shutdown.
//! - [`clock`]: the one place the clocks are read ([`Now`]: wall-clock seconds for lease
//!   arithmetic, monotonic milliseconds for timers).
//! - [`Interface`]: interface names, indexes and addresses.
//! - [`panic`]: the message of a panic caught in a thread of this crate.
//! - [`process`]: the server's file creation mask, and the switch from root to a configured user
//!   keeping the capabilities its sockets need.
//!
//! The only unsafe code is in `sys` (the SIOCSARP ioctl, setpriority(2), capget(2)/capset(2),
//! which neither nix nor socket2 wraps).

#![deny(unsafe_code)]

pub mod clock;
mod datagram;
mod interface;
pub mod panic;
pub mod process;
mod sys;
pub mod tcp;
pub mod udp;

pub use clock::{Clock, Now};
pub use datagram::{Destination, Outgoing, Received, Transmit};
pub use interface::Interface;
pub use sys::set_thread_nice;
