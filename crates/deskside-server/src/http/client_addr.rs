//! Which address a request comes from: the TCP peer, or, when that peer is a reverse proxy
//! the admin trusts, the client it names in `X-Forwarded-For`. Login throttling and audit
//! lines key on this address.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::error::ApiError;

/// An address or a network: `10.0.0.0/8`, `fd00::/8`, or a bare address (`192.0.2.7`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpCidr {
    network: IpAddr,
    prefix: u8,
}

impl IpCidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, canonical(ip)) {
            (IpAddr::V4(network), IpAddr::V4(ip)) => {
                prefix_matches(&network.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(network), IpAddr::V6(ip)) => {
                prefix_matches(&network.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

fn prefix_matches(network: &[u8], ip: &[u8], prefix: u8) -> bool {
    let full = usize::from(prefix / 8);
    let rest = prefix % 8;
    if network[..full] != ip[..full] {
        return false;
    }
    rest == 0 || {
        let mask = 0xffu8 << (8 - rest);
        network[full] & mask == ip[full] & mask
    }
}

/// What one client controls, for counting it: an IPv4 address, or an IPv6 /64 (one
/// subscriber's network; otherwise one host could present a fresh address every time).
pub fn client_scope(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let mut octets = v6.octets();
            octets[8..].fill(0);
            IpAddr::V6(octets.into())
        }
    }
}

/// An IPv4 client seen through an IPv6 socket (`::ffff:192.0.2.7`) is that IPv4 address.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

impl FromStr for IpCidr {
    type Err = String;

    fn from_str(text: &str) -> Result<IpCidr, String> {
        let text = text.trim();
        let invalid = || format!("'{text}' is not an IP address or a network like 10.0.0.0/8");
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network = canonical(address.parse::<IpAddr>().map_err(|_| invalid())?);
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= bits)
                .ok_or_else(invalid)?,
            None => bits,
        };
        Ok(IpCidr { network, prefix })
    }
}

/// The reverse proxies whose `X-Forwarded-For` is believed (`--trusted-proxy`). Empty: the
/// header is ignored and every request is keyed on its TCP peer.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Vec<IpCidr>);

impl TrustedProxies {
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(ip))
    }

    /// The client behind `peer`. Each proxy appends the address it received the request
    /// from, so the right-most entry not itself a trusted proxy is the first hop nobody we
    /// trust vouches beyond; anything to its left the client may have written itself. An
    /// entry that is not an address ends the walk at the trusted hop that wrote it.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .collect();
        let mut nearest = peer;
        for hop in hops.iter().rev() {
            match hop.parse::<IpAddr>() {
                Ok(ip) if self.trusts(canonical(ip)) => nearest = canonical(ip),
                Ok(ip) => return canonical(ip),
                Err(_) => return nearest,
            }
        }
        nearest
    }
}

/// The address a request comes from, as [`TrustedProxies::client_ip`] decides.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let ConnectInfo(peer) = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .copied()
            .ok_or_else(|| ApiError::internal("no peer address on the request"))?;
        let ip = match parts.extensions.get::<Arc<TrustedProxies>>() {
            Some(trusted) => trusted.client_ip(peer.ip(), &parts.headers),
            None => canonical(peer.ip()),
        };
        Ok(ClientIp(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted(list: &[&str]) -> TrustedProxies {
        TrustedProxies(list.iter().map(|c| c.parse().unwrap()).collect())
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn networks_parse_and_match_by_prefix() {
        let net: IpCidr = "10.1.0.0/16".parse().unwrap();
        assert!(net.contains(ip("10.1.255.3")));
        assert!(!net.contains(ip("10.2.0.1")));
        assert!(net.contains(ip("::ffff:10.1.0.9")), "v4-mapped is v4");
        let odd: IpCidr = "192.168.0.128/25".parse().unwrap();
        assert!(odd.contains(ip("192.168.0.200")));
        assert!(!odd.contains(ip("192.168.0.127")));
        let host: IpCidr = "fd00::1".parse().unwrap();
        assert!(host.contains(ip("fd00::1")) && !host.contains(ip("fd00::2")));
        let all: IpCidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.5")) && !all.contains(ip("::1")));
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "host.example",
            "1.2.3.4/x",
        ] {
            assert!(bad.parse::<IpCidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let proxies = trusted(&["127.0.0.1", "10.0.0.0/8"]);
        let headers = forwarded(&["198.51.100.1, 203.0.113.9, 10.0.0.5"]);
        // From an untrusted peer the header is the client's own claim.
        assert_eq!(
            trusted(&[]).client_ip(ip("127.0.0.1"), &headers),
            ip("127.0.0.1")
        );
        assert_eq!(
            proxies.client_ip(ip("192.0.2.1"), &headers),
            ip("192.0.2.1")
        );
        // Right-most untrusted hop; the left-most entry is whatever the client claimed.
        assert_eq!(
            proxies.client_ip(ip("127.0.0.1"), &headers),
            ip("203.0.113.9")
        );
        // Several header lines are one list, in order.
        let split = forwarded(&["198.51.100.1", "203.0.113.9"]);
        assert_eq!(proxies.client_ip(ip("10.9.9.9"), &split), ip("203.0.113.9"));
        // No header, only proxies, or garbage: the nearest trusted hop.
        assert_eq!(
            proxies.client_ip(ip("127.0.0.1"), &HeaderMap::new()),
            ip("127.0.0.1")
        );
        assert_eq!(
            proxies.client_ip(ip("127.0.0.1"), &forwarded(&["10.0.0.7"])),
            ip("10.0.0.7")
        );
        assert_eq!(
            proxies.client_ip(
                ip("127.0.0.1"),
                &forwarded(&["203.0.113.9, junk, 10.0.0.7"])
            ),
            ip("10.0.0.7")
        );
    }
}
