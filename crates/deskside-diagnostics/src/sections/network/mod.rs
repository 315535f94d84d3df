//! `network`: interfaces and their traffic, DNS servers, the default gateway, and whether
//! the gateway, name resolution and the Deskside server can be reached.

mod config;
mod reachability;

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sysinfo::Networks;

use crate::snapshot::Probe;

pub use reachability::NetworkChecks;

const MAX_INTERFACES: usize = 32;
const MAX_ADDRESSES: usize = 8;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Network {
    pub interfaces: Vec<Interface>,
    pub dns_servers: Probe<Vec<String>>,
    /// `Available(None)`: the machine has no default route.
    pub default_gateway: Probe<Option<String>>,
    pub reachability: Reachability,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Interface {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// `address/prefix`.
    pub addresses: Vec<String>,
    /// Since the interface came up.
    pub rx_bytes: u64,
    pub tx_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Reachability {
    pub gateway: Probe<Check>,
    pub dns: Probe<Check>,
    pub server: Probe<Check>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Check {
    /// What was tried: `192.168.1.1`, `example.org`, `desk.example.org:443`.
    pub target: String,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// How the target answered (`tcp/53 refused`, `arp`), or why it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// For name resolution: the first few addresses.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
}

/// The part of the section that waits on files, commands and the network; it runs on
/// its own thread while the collector samples the CPU.
pub(crate) struct NetworkConfig {
    dns_servers: Probe<Vec<String>>,
    default_gateway: Probe<Option<String>>,
    reachability: Reachability,
}

pub(crate) fn read_config(checks: &NetworkChecks, timeout: Duration) -> NetworkConfig {
    let default_gateway = config::default_gateway(timeout);
    let gateway_ip = default_gateway
        .as_available()
        .and_then(|g| g.as_deref())
        .and_then(|g| g.parse::<IpAddr>().ok());
    NetworkConfig {
        dns_servers: config::dns_servers(timeout),
        reachability: reachability::check(checks, gateway_ip),
        default_gateway,
    }
}

/// Adds the interfaces, read from sysinfo state the collector keeps warm.
pub(crate) fn assemble(networks: &Networks, config: NetworkConfig) -> Network {
    Network {
        interfaces: interfaces(networks),
        dns_servers: config.dns_servers,
        default_gateway: config.default_gateway,
        reachability: config.reachability,
    }
}

fn interfaces(networks: &Networks) -> Vec<Interface> {
    let mut list: Vec<Interface> = networks
        .iter()
        .filter(|(_, data)| {
            // The loopback interface tells nothing about the machine's network.
            let addresses = data.ip_networks();
            addresses.is_empty() || !addresses.iter().all(|n| n.addr.is_loopback())
        })
        .map(|(name, data)| {
            let mac = data.mac_address();
            let mut addresses: Vec<String> =
                data.ip_networks().iter().map(ToString::to_string).collect();
            // Sorted so that two snapshots of an unchanged interface compare equal.
            addresses.sort();
            addresses.truncate(MAX_ADDRESSES);
            Interface {
                name: name.to_string_lossy().into_owned(),
                mac: (!mac.is_unspecified()).then(|| mac.to_string()),
                addresses,
                rx_bytes: data.total_received(),
                tx_bytes: data.total_transmitted(),
            }
        })
        .collect();
    list.sort_by(|a, b| a.name.cmp(&b.name));
    list.truncate(MAX_INTERFACES);
    list
}
