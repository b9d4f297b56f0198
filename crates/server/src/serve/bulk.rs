//! The bulk leasequery listeners a config names: DHCPv4 (`[leasequery4.bulk]`) and DHCPv6
//! (`[leasequery6.bulk]`).

use super::ServeError;
use crate::bulk4::{self, Params};
use crate::bulk6;
use crate::config::Config;
use crate::leasequery4::access::AllowList;
use lessor_store::Store;
use lessor_wire::v6::Duid;
use std::net::SocketAddr;
use std::sync::Arc;

/// Starts the DHCPv4 bulk leasequery listener when `[leasequery4.bulk]` names addresses.
pub(super) fn start4(
    config: &Config,
    store: &Arc<Store>,
) -> Result<Option<(bulk4::Running, bulk4::Reload)>, ServeError> {
    let Some(lq) = config.leasequery4.as_ref() else {
        return Ok(None);
    };
    let (Some(bulk), Some(params)) = (
        lq.bulk.as_ref(),
        Params::from_config(config, lq.server_identifier),
    ) else {
        return Ok(None);
    };
    if bulk.listen.is_empty() {
        tracing::info!("leasequery4.bulk: no listen address: bulk leasequery is not served");
        return Ok(None);
    }
    let addrs: Vec<SocketAddr> = bulk
        .listen
        .iter()
        .map(|a| SocketAddr::new(*a, bulk.port))
        .collect();
    let settings = bulk4::Settings {
        params,
        allow: AllowList::new(lq.requesters.clone()),
        max_connections: usize::try_from(bulk.max_connections).unwrap_or(usize::MAX),
        max_per_requester: usize::try_from(bulk.max_connections_per_requester)
            .unwrap_or(usize::MAX),
    };
    let running = bulk4::start_reloadable(settings, &addrs, Arc::clone(store))
        .map_err(|e| ServeError::Sockets(format!("bulk leasequery: {e}")))?;
    for a in running.0.local_addrs() {
        tracing::info!(listen = %a, "bulk leasequery: listening on tcp {a}");
    }
    Ok(Some(running))
}

/// Applies a reloaded `config` to the running DHCPv4 bulk listener: requesters and the
/// parameters of the connections accepted from now on (its listen addresses and connection
/// limits unchanged: checked before). A config whose `[leasequery4]` lost its bulk settings
/// leaves the running ones.
pub(super) fn reconfigure4(reload: &bulk4::Reload, config: &Config) {
    let Some(lq) = config.leasequery4.as_ref() else {
        return;
    };
    if let Some(params) = Params::from_config(config, lq.server_identifier) {
        reload.apply(params, AllowList::new(lq.requesters.clone()));
    }
}

/// As [`reconfigure4`], for DHCPv6 bulk leasequery.
pub(super) fn reconfigure6(reload: &bulk6::Reload, config: &Config, duid: Option<&[u8]>) {
    let (Some(lq), Some(server_id)) = (
        config.leasequery6.as_ref(),
        duid.and_then(|d| Duid::parse(d).ok()),
    ) else {
        return;
    };
    if let Some(params) = bulk6::Params::from_config(config, server_id) {
        reload.apply(params, lq.requesters.clone());
    }
}

/// Starts the DHCPv6 bulk leasequery listener when `[leasequery6.bulk]` names addresses and the
/// server DUID is known.
pub(super) fn start6(
    config: &Config,
    duid: Option<&[u8]>,
    store: &Arc<Store>,
) -> Result<Option<(bulk6::Running, bulk6::Reload)>, ServeError> {
    let Some(lq) = config.leasequery6.as_ref() else {
        return Ok(None);
    };
    let Some(bulk) = lq.bulk.as_ref() else {
        return Ok(None);
    };
    if bulk.listen.is_empty() {
        tracing::info!("leasequery6.bulk: no listen address: DHCPv6 bulk leasequery is not served");
        return Ok(None);
    }
    let Some(server_id) = duid.and_then(|d| Duid::parse(d).ok()) else {
        tracing::warn!("leasequery6.bulk: no server DUID: DHCPv6 bulk leasequery is not served");
        return Ok(None);
    };
    let Some(params) = bulk6::Params::from_config(config, server_id) else {
        return Ok(None);
    };
    let addrs: Vec<SocketAddr> = bulk
        .listen
        .iter()
        .map(|a| SocketAddr::new(*a, bulk.port))
        .collect();
    let settings = bulk6::Settings {
        params,
        requesters: lq.requesters.clone(),
        max_connections: usize::try_from(bulk.max_connections).unwrap_or(usize::MAX),
        max_per_requester: usize::try_from(bulk.max_connections_per_requester)
            .unwrap_or(usize::MAX),
    };
    let running = bulk6::start_reloadable(settings, &addrs, Arc::clone(store))
        .map_err(|e| ServeError::Sockets(format!("DHCPv6 bulk leasequery: {e}")))?;
    for a in running.0.local_addrs() {
        tracing::info!(listen = %a, "DHCPv6 bulk leasequery: listening on tcp {a}");
    }
    Ok(Some(running))
}
