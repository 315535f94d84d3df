//! `deskside-agent diagnose [--json] [--section NAME]…`: a one-shot snapshot to stdout.

mod summary;

use std::io::Write;

use anyhow::Context;
use deskside_diagnostics::{
    CollectorOptions, FindingRules, NetworkChecks, SectionName, SnapshotRequest,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the snapshot as JSON (compact, as it is uploaded) instead of a summary.
    #[arg(long)]
    json: bool,
    /// Only read this section; repeat for more. Sections: system, hardware, network,
    /// processes, services, printers, software, logs.
    #[arg(long = "section", value_name = "NAME", value_parser = parse_section)]
    sections: Vec<SectionName>,
    /// The Deskside server whose reachability to check.
    #[arg(long, value_name = "URL", env = "DESKSIDE_SERVER")]
    server: Option<String>,
    /// The name to resolve for the DNS check (default: the server's host).
    #[arg(long, value_name = "NAME")]
    dns_name: Option<String>,
    /// Skip the gateway, DNS and server reachability checks.
    #[arg(long)]
    no_network_checks: bool,
}

fn parse_section(name: &str) -> Result<SectionName, String> {
    name.parse()
        .map_err(|e: deskside_diagnostics::UnknownSection| e.to_string())
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let options = CollectorOptions {
        network: NetworkChecks {
            enabled: !args.no_network_checks,
            dns_name: args.dns_name,
            server_url: args.server,
            ..NetworkChecks::default()
        },
        ..CollectorOptions::default()
    };
    let snapshot = deskside_diagnostics::collect(options, &SnapshotRequest::only(args.sections));
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer(&mut out, &snapshot).context("writing the snapshot")?;
        writeln!(out)?;
    } else {
        // Without a server to ask, our own clock is the only reference: no skew finding.
        let findings = deskside_diagnostics::findings(&snapshot, &FindingRules::default(), None);
        write!(out, "{}", summary::render(&snapshot, &findings))?;
    }
    out.flush()?;
    Ok(())
}
