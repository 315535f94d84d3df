//! Can the machine reach its gateway, resolve names and reach the Deskside server?
//!
//! No ICMP (it needs privileges): the gateway gets a TCP connection attempt, where a refusal
//! proves it is alive as well as an acceptance, with the ARP cache as the fallback on Linux;
//! the server gets a TCP connection to its URL's port.

use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::{Check, Reachability};
use crate::snapshot::Probe;

/// Which reachability checks to run. Tests turn them off so they do not depend on the
/// network.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkChecks {
    pub enabled: bool,
    /// The name to resolve; defaults to the server's host when a server is set.
    pub dns_name: Option<String>,
    /// The Deskside server, e.g. `https://desk.example.org`.
    pub server_url: Option<String>,
    pub timeout: Duration,
}

impl Default for NetworkChecks {
    fn default() -> Self {
        NetworkChecks {
            enabled: true,
            dns_name: None,
            server_url: None,
            timeout: Duration::from_secs(1),
        }
    }
}

impl NetworkChecks {
    pub fn disabled() -> Self {
        NetworkChecks {
            enabled: false,
            ..NetworkChecks::default()
        }
    }
}

/// The port most home and office gateways answer on (DNS forwarding), or refuse promptly.
const GATEWAY_PORT: u16 = 53;

pub(super) fn check(options: &NetworkChecks, gateway: Option<IpAddr>) -> Reachability {
    if !options.enabled {
        let skipped = || Probe::unavailable("not checked: network checks are turned off");
        return Reachability {
            gateway: skipped(),
            dns: skipped(),
            server: skipped(),
        };
    }
    let server = options.server_url.as_deref().map(parse_server_url);
    let dns_name = options.dns_name.clone().or_else(|| match &server {
        Some(Ok((host, _))) if host.parse::<IpAddr>().is_err() => Some(host.clone()),
        _ => None,
    });
    let timeout = options.timeout;
    // The three checks wait on different things; run them side by side.
    thread::scope(|scope| {
        let gateway = scope.spawn(move || match gateway {
            Some(ip) => Probe::Available(check_gateway(ip, timeout)),
            None => Probe::unavailable("no default gateway"),
        });
        let dns = scope.spawn(move || match dns_name {
            Some(name) => Probe::Available(check_dns(&name, timeout)),
            None => Probe::unavailable("not checked: no name to resolve configured"),
        });
        let server = match server {
            None => Probe::unavailable("not checked: no server configured"),
            Some(Err(reason)) => Probe::unavailable(reason),
            Some(Ok((host, port))) => Probe::Available(check_server(&host, port, timeout)),
        };
        Reachability {
            gateway: gateway
                .join()
                .unwrap_or_else(|_| Probe::unavailable("gateway check panicked")),
            dns: dns
                .join()
                .unwrap_or_else(|_| Probe::unavailable("DNS check panicked")),
            server,
        }
    })
}

fn check_gateway(ip: IpAddr, timeout: Duration) -> Check {
    let started = Instant::now();
    let target = ip.to_string();
    let outcome = TcpStream::connect_timeout(&SocketAddr::new(ip, GATEWAY_PORT), timeout);
    let latency = Some(millis(started.elapsed()));
    match outcome {
        Ok(_) => Check::reached(
            target,
            latency,
            Some(format!("tcp/{GATEWAY_PORT} accepted")),
        ),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            Check::reached(target, latency, Some(format!("tcp/{GATEWAY_PORT} refused")))
        }
        Err(e) if answered_arp(ip) => Check::reached(target, None, Some(format!("arp (tcp: {e})"))),
        Err(e) => Check::failed(target, e.to_string()),
    }
}

/// The connection attempt made the kernel ask for the gateway's MAC address; an answer
/// (flag 0x2, complete) means it is there but filters TCP.
#[cfg(target_os = "linux")]
fn answered_arp(ip: IpAddr) -> bool {
    let Ok(table) = std::fs::read_to_string("/proc/net/arp") else {
        return false;
    };
    let ip = ip.to_string();
    table.lines().skip(1).any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        fields.first() == Some(&ip.as_str())
            && fields
                .get(2)
                .and_then(|f| u32::from_str_radix(f.trim_start_matches("0x"), 16).ok())
                .is_some_and(|flags| flags & 0x2 != 0)
    })
}

#[cfg(not(target_os = "linux"))]
fn answered_arp(_ip: IpAddr) -> bool {
    false
}

fn check_dns(name: &str, timeout: Duration) -> Check {
    let started = Instant::now();
    match resolve(name, 0, timeout) {
        Ok(addresses) => {
            let mut check = Check::reached(name.to_owned(), Some(millis(started.elapsed())), None);
            check.addresses = addresses
                .iter()
                .take(4)
                .map(|a| a.ip().to_string())
                .collect();
            check
        }
        Err(reason) => Check::failed(name.to_owned(), reason),
    }
}

fn check_server(host: &str, port: u16, timeout: Duration) -> Check {
    let target = format!("{host}:{port}");
    let started = Instant::now();
    let addresses = match resolve(host, port, timeout) {
        Ok(addresses) => addresses,
        Err(reason) => return Check::failed(target, reason),
    };
    let mut last_error = String::from("no address");
    for address in addresses.iter().take(2) {
        let left = timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            last_error = format!("no answer within {} ms", timeout.as_millis());
            break;
        }
        match TcpStream::connect_timeout(address, left) {
            Ok(_) => {
                return Check::reached(target, Some(millis(started.elapsed())), None);
            }
            Err(e) => last_error = format!("{address}: {e}"),
        }
    }
    Check::failed(target, last_error)
}

/// The system resolver has no timeout of its own that we control, so it runs on its own
/// thread; one that outlives the deadline is left to finish and its answer dropped.
fn resolve(host: &str, port: u16, timeout: Duration) -> Result<Vec<SocketAddr>, String> {
    let (sender, receiver) = mpsc::channel();
    let query = (host.to_owned(), port);
    thread::spawn(move || {
        let result = query
            .to_socket_addrs()
            .map(Iterator::collect::<Vec<_>>)
            .map_err(|e| e.to_string());
        let _ = sender.send(result);
    });
    match receiver.recv_timeout(timeout) {
        Ok(Ok(addresses)) if addresses.is_empty() => Err("no addresses".to_owned()),
        Ok(Ok(addresses)) => Ok(addresses),
        Ok(Err(error)) => Err(error),
        Err(_) => Err(format!("no answer within {} ms", timeout.as_millis())),
    }
}

/// `https://host[:port][/path]` → host and port; only http and https make sense here.
pub(crate) fn parse_server_url(url: &str) -> Result<(String, u16), String> {
    let invalid = || format!("not checked: server URL {url:?} is not http(s)://host[:port]");
    let (scheme, rest) = url.split_once("://").ok_or_else(invalid)?;
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" => 80,
        "https" => 443,
        _ => return Err(invalid()),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        // IPv6 literal: [::1]:8443
        let (host, after) = bracketed.split_once(']').ok_or_else(invalid)?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => p.parse().map_err(|_| invalid())?,
        None => default_port,
    };
    if host.is_empty() {
        return Err(invalid());
    }
    Ok((host.to_owned(), port))
}

fn millis(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 10_000.0).round() / 10.0
}

impl Check {
    fn reached(target: String, latency_ms: Option<f64>, detail: Option<String>) -> Self {
        Check {
            target,
            ok: true,
            latency_ms,
            detail,
            addresses: Vec::new(),
        }
    }

    fn failed(target: String, reason: String) -> Self {
        Check {
            target,
            ok: false,
            latency_ms: None,
            detail: Some(reason),
            addresses: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn server_urls_give_host_and_port() {
        let ok = |url: &str| parse_server_url(url).unwrap();
        assert_eq!(
            ok("https://desk.example.org"),
            ("desk.example.org".into(), 443)
        );
        assert_eq!(
            ok("http://desk.example.org:8080/api?x=1"),
            ("desk.example.org".into(), 8080)
        );
        assert_eq!(ok("https://user@[::1]:8443/"), ("::1".into(), 8443));
        assert!(parse_server_url("ftp://x").is_err());
        assert!(parse_server_url("desk.example.org").is_err());
        assert!(parse_server_url("https://:443").is_err());
    }

    #[test]
    fn turned_off_checks_say_so() {
        let result = check(
            &NetworkChecks::disabled(),
            Some("127.0.0.1".parse().unwrap()),
        );
        for probe in [&result.gateway, &result.dns, &result.server] {
            assert!(probe.reason().unwrap().contains("turned off"));
        }
    }

    #[test]
    fn a_listening_server_is_reachable_and_a_closed_port_is_not() {
        // Loopback only: no dependency on the machine's network.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let options = NetworkChecks {
            server_url: Some(format!("http://127.0.0.1:{port}")),
            ..NetworkChecks::default()
        };
        let result = check(&options, None);
        assert!(result.server.as_available().unwrap().ok, "{result:?}");
        assert_eq!(result.gateway.reason(), Some("no default gateway"));
        assert!(result.dns.reason().unwrap().contains("no name"));

        drop(listener);
        let result = check(&options, None);
        assert!(!result.server.as_available().unwrap().ok, "{result:?}");
    }

    #[test]
    fn a_gateway_that_refuses_is_alive() {
        // Nothing listens on 127.0.0.1:53 here, so the connection is refused at once.
        let got = check_gateway("127.0.0.1".parse().unwrap(), Duration::from_secs(1));
        assert!(got.ok, "{got:?}");
    }

    #[test]
    fn localhost_resolves_without_the_network() {
        let got = check_dns("localhost", Duration::from_secs(2));
        assert!(got.ok && !got.addresses.is_empty(), "{got:?}");
    }
}
