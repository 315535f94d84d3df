//! DNS servers and the default gateway, as the OS is configured (not whether they work).

use std::time::Duration;

#[cfg(windows)]
use crate::command;
use crate::snapshot::Probe;

#[cfg(unix)]
pub(super) fn dns_servers(_timeout: Duration) -> Probe<Vec<String>> {
    let read = |path: &str| std::fs::read_to_string(path).map(|text| parse_resolv_conf(&text));
    match read("/etc/resolv.conf") {
        // systemd-resolved points resolv.conf at its local stub; the servers it really
        // asks are in its own copy.
        Ok(servers) if servers.iter().all(|s| s == "127.0.0.53") && !servers.is_empty() => {
            Probe::Available(read("/run/systemd/resolve/resolv.conf").unwrap_or(servers))
        }
        Ok(servers) => Probe::Available(servers),
        Err(err) => Probe::unavailable(format!("/etc/resolv.conf: {err}")),
    }
}

#[cfg(windows)]
pub(super) fn dns_servers(timeout: Duration) -> Probe<Vec<String>> {
    let script = "Get-DnsClientServerAddress | Select-Object -ExpandProperty ServerAddresses";
    let args = ["-NoProfile", "-NonInteractive", "-Command", script];
    match command::run("powershell", &args, timeout.max(Duration::from_secs(5))) {
        Ok(out) if out.status.success() => {
            let mut servers: Vec<String> = Vec::new();
            for line in out.stdout.lines().map(str::trim).filter(|l| !l.is_empty()) {
                if !servers.iter().any(|s| s == line) {
                    servers.push(line.to_owned());
                }
            }
            Probe::Available(servers)
        }
        Ok(out) => Probe::unavailable(format!(
            "Get-DnsClientServerAddress failed: {}",
            out.first_error_line()
        )),
        Err(err) => Probe::unavailable(err.reason()),
    }
}

#[cfg(not(any(unix, windows)))]
pub(super) fn dns_servers(_timeout: Duration) -> Probe<Vec<String>> {
    Probe::unavailable("DNS servers are not read on this platform")
}

#[cfg(target_os = "linux")]
pub(super) fn default_gateway(_timeout: Duration) -> Probe<Option<String>> {
    match std::fs::read_to_string("/proc/net/route") {
        Ok(text) => Probe::Available(parse_proc_net_route(&text)),
        Err(err) => Probe::unavailable(format!("/proc/net/route: {err}")),
    }
}

#[cfg(target_os = "macos")]
pub(super) fn default_gateway(timeout: Duration) -> Probe<Option<String>> {
    match crate::command::run("route", &["-n", "get", "default"], timeout) {
        Ok(out) if out.status.success() => Probe::Available(parse_route_get(&out.stdout)),
        // "route: writing to routing socket: not in table": no default route.
        Ok(out) if out.stderr.contains("not in table") => Probe::Available(None),
        Ok(out) => Probe::unavailable(format!("route get failed: {}", out.first_error_line())),
        Err(err) => Probe::unavailable(err.reason()),
    }
}

#[cfg(windows)]
pub(super) fn default_gateway(timeout: Duration) -> Probe<Option<String>> {
    // The filter also prints an IPv6 table, whose rows have a different shape and are
    // skipped by the parser.
    match command::run("route", &["print", "0.0.0.0"], timeout) {
        Ok(out) if out.status.success() => Probe::Available(parse_route_print(&out.stdout)),
        Ok(out) => Probe::unavailable(format!("route print failed: {}", out.first_error_line())),
        Err(err) => Probe::unavailable(err.reason()),
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
pub(super) fn default_gateway(_timeout: Duration) -> Probe<Option<String>> {
    Probe::unavailable("the default gateway is not read on this platform")
}

#[cfg(any(unix, test))]
pub(super) fn parse_resolv_conf(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next()? == "nameserver").then(|| words.next().map(str::to_owned))?
        })
        .collect()
}

/// `/proc/net/route`: hexadecimal, little-endian IPv4 fields; the default route has
/// destination 0 and the gateway flag. The lowest metric wins, as in the kernel.
#[cfg(any(target_os = "linux", test))]
pub(super) fn parse_proc_net_route(text: &str) -> Option<String> {
    const RTF_UP: u32 = 0x1;
    const RTF_GATEWAY: u32 = 0x2;
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let hex = |i: usize| u32::from_str_radix(fields.get(i)?, 16).ok();
            let (destination, gateway, flags) = (hex(1)?, hex(2)?, hex(3)?);
            let metric: u32 = fields.get(6)?.parse().ok()?;
            let default =
                destination == 0 && flags & (RTF_UP | RTF_GATEWAY) == RTF_UP | RTF_GATEWAY;
            default.then(|| (metric, std::net::Ipv4Addr::from(gateway.to_le_bytes())))
        })
        .min()
        .map(|(_, gateway)| gateway.to_string())
}

/// `route -n get default`: `    gateway: 192.168.1.1`.
#[cfg(any(target_os = "macos", test))]
pub(super) fn parse_route_get(text: &str) -> Option<String> {
    text.lines()
        .find_map(|line| line.trim().strip_prefix("gateway:"))
        .map(|gateway| gateway.trim().to_owned())
}

/// `route print 0.0.0.0`: IPv4 rows `0.0.0.0  0.0.0.0  192.168.1.1  192.168.1.23  25`
/// (gateway `On-link` for routes without one); the lowest metric wins.
#[cfg(any(windows, test))]
pub(super) fn parse_route_print(text: &str) -> Option<String> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [destination, mask, gateway, _interface, metric] = fields[..] else {
                return None;
            };
            let gateway: std::net::IpAddr = gateway.parse().ok()?;
            (destination == "0.0.0.0" && mask == "0.0.0.0")
                .then(|| (metric.parse::<u32>().unwrap_or(u32::MAX), gateway))
        })
        .min()
        .map(|(_, gateway)| gateway.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_nameservers() {
        let text = "# generated\nsearch corp.example\nnameserver 10.0.0.2\nnameserver  fe80::1%eth0\noptions edns0\n";
        assert_eq!(parse_resolv_conf(text), ["10.0.0.2", "fe80::1%eth0"]);
    }

    #[test]
    fn proc_net_route_default_gateway_with_lowest_metric() {
        // The first two rows were read on this machine.
        let text = "\
Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
wlan0\t00000000\t0101A8C0\t0003\t0\t0\t50\t00000000\t0\t0\t0
";
        assert_eq!(parse_proc_net_route(text).as_deref(), Some("192.168.1.1"));
        let no_default = "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\n\
                          eth0\t000200C0\t00000000\t0001\t0\t0\t0\n";
        assert_eq!(parse_proc_net_route(no_default), None);
    }

    #[test]
    fn macos_route_get_gateway() {
        let text = "   route to: default\ndestination: default\n       mask: default\n    gateway: 192.168.1.254\n  interface: en0\n";
        assert_eq!(parse_route_get(text).as_deref(), Some("192.168.1.254"));
    }

    #[test]
    fn windows_route_print_gateway() {
        let text = "\
IPv4 Route Table
===========================================================================
Active Routes:
Network Destination        Netmask          Gateway       Interface  Metric
          0.0.0.0          0.0.0.0      192.168.1.1    192.168.1.23     35
          0.0.0.0          0.0.0.0         10.8.0.1        10.8.0.6     25
===========================================================================
Persistent Routes:
  None
";
        assert_eq!(parse_route_print(text).as_deref(), Some("10.8.0.1"));
    }
}
