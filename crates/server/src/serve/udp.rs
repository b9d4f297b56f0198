//! What the DHCPv4 and DHCPv6 UDP services share in the shell: opening a family's sockets, how
//! many threads read each, and where an engine's [`Output`] goes.

use super::{GroupOutbox, ServeError};
use crate::dhcp4::Output;
use lessor_net::udp::{Family, OpenError, Sockets, V6Options};
use lessor_net::{Outgoing, Transmit};
use std::net::IpAddr;
use std::sync::Arc;

/// Opens a service's sockets. A port another process holds is refused
/// ([`ServeError::Refused`]): two servers answering one link is the fault it prevents.
pub(super) fn open(
    family: Family,
    listen: &[IpAddr],
    interfaces: &[String],
    port: u16,
    v6: &V6Options,
) -> Result<Sockets, ServeError> {
    Sockets::open(family, listen, interfaces, port, v6).map_err(|e| match e {
        OpenError::Held { .. } => ServeError::Refused(format!("{e}; refusing to start")),
        e => ServeError::Sockets(e.to_string()),
    })
}

/// Receive threads per socket: as configured, else half the CPUs available (the kernel's
/// network work, the store writer and other processes need the rest), 1 to 4.
pub(super) fn receive_threads(configured: Option<u16>) -> usize {
    configured.map(usize::from).unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).clamp(1, 4))
    })
}

/// Sends an engine's `output`: a reply for now joins `pending` (sent with the batch); a reply
/// waiting for its bindings leaves through `durable` once they are, those of one group commit
/// together, and never when the commit failed.
pub(super) fn dispatch(output: Output, pending: &mut Vec<Outgoing>, durable: &Arc<GroupOutbox>) {
    match output {
        Output::Nothing => {}
        Output::Now(reply) => pending.push(reply),
        Output::WhenDurable(reply, deferred) => {
            let durable = Arc::clone(durable);
            deferred.on_durable(move |result| {
                if result.is_ok() {
                    durable.send(reply);
                }
            });
        }
    }
}
