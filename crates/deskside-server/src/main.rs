//! `deskside-server`: serve the API, and the few administrative acts that must work before
//! anyone can sign in (first admin, enrollment tokens, audit verification, demo data).

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use deskside_core::{Role, Tier};
use deskside_server::audit::AuditEntry;
use deskside_server::clock::SystemClock;
use deskside_server::http::admin::validate_new_staff;
use deskside_server::http::auth::issue_enrollment_token;
use deskside_server::http::client_addr::{IpCidr, TrustedProxies};
use deskside_server::secrets::{HashCost, hash_password};
use deskside_server::storage::{NewStaffUser, SqliteStorage};
use deskside_server::{Server, ServerConfig, demo, open_state};

#[derive(Parser)]
#[command(name = "deskside-server", version, about = "Deskside help desk server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct DataDir {
    /// Folder holding the database.
    #[arg(long, env = "DESKSIDE_DATA_DIR")]
    data_dir: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API.
    Serve {
        #[arg(long, env = "DESKSIDE_LISTEN", default_value = "127.0.0.1:7300")]
        listen: SocketAddr,
        #[command(flatten)]
        data: DataDir,
        #[command(flatten)]
        edge: EdgeArgs,
        /// Largest the database's write-ahead log may grow, in MiB, before writes pause for
        /// a checkpoint that empties it.
        #[arg(long, env = "DESKSIDE_WAL_LIMIT_MB", default_value_t = 64,
              value_parser = clap::value_parser!(u64).range(1..=65536))]
        wal_limit_mb: u64,
    },
    /// Manage staff accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Device enrollment tokens.
    EnrollToken {
        #[command(subcommand)]
        command: EnrollTokenCommand,
    },
    /// The tamper-evident audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Demo data for trying Deskside out and for benchmarks.
    Demo {
        #[command(subcommand)]
        command: DemoCommand,
    },
}

/// The network edge: reverse proxies and the limits on connections still sending a request.
#[derive(clap::Args)]
struct EdgeArgs {
    /// A reverse proxy (address or network, e.g. 10.0.0.0/8) whose X-Forwarded-For names
    /// the client; repeat for several. Without one the header is ignored.
    #[arg(
        long = "trusted-proxy",
        value_name = "CIDR_OR_IP",
        env = "DESKSIDE_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    trusted_proxies: Vec<IpCidr>,
    /// Seconds a new connection may take to send its request head.
    #[arg(long, value_name = "SECS", env = "DESKSIDE_HEADER_READ_TIMEOUT",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    header_read_timeout: Option<u64>,
    /// Seconds a kept-alive connection may wait for its next request.
    #[arg(long, value_name = "SECS", env = "DESKSIDE_IDLE_TIMEOUT",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    idle_timeout: Option<u64>,
    /// Connections still sending their request head from one address.
    #[arg(long, value_name = "N", env = "DESKSIDE_MAX_WAITING_PER_ADDRESS",
          value_parser = clap::value_parser!(u64).range(1..))]
    max_waiting_per_address: Option<u64>,
    /// Connections still sending their request head, in total.
    #[arg(long, value_name = "N", env = "DESKSIDE_MAX_WAITING",
          value_parser = clap::value_parser!(u64).range(1..))]
    max_waiting: Option<u64>,
    /// File descriptors kept free of connections (for the database, logs, new accepts).
    #[arg(long, value_name = "N", env = "DESKSIDE_FD_RESERVE")]
    fd_reserve: Option<u64>,
}

impl EdgeArgs {
    fn apply(self, config: &mut ServerConfig) {
        let limits = &mut config.connections;
        let secs = std::time::Duration::from_secs;
        let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        limits.header_read_timeout = self
            .header_read_timeout
            .map_or(limits.header_read_timeout, secs);
        limits.idle_timeout = self.idle_timeout.map_or(limits.idle_timeout, secs);
        limits.max_waiting_per_address = self
            .max_waiting_per_address
            .map_or(limits.max_waiting_per_address, count);
        limits.max_waiting = self.max_waiting.map_or(limits.max_waiting, count);
        limits.fd_reserve = self.fd_reserve.unwrap_or(limits.fd_reserve);
        config.trusted_proxies = TrustedProxies(self.trusted_proxies);
    }
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a staff account; the password is read from standard input.
    Add {
        #[command(flatten)]
        data: DataDir,
        #[arg(long)]
        username: String,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long, value_enum)]
        role: RoleArg,
        #[arg(long, value_enum)]
        tier: Option<TierArg>,
        /// Read the password from standard input (required: never on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
enum EnrollTokenCommand {
    /// Print a new one-time device enrollment token.
    Create {
        #[command(flatten)]
        data: DataDir,
        /// Lifetime like 30m, 24h or 7d.
        #[arg(long, default_value = "24h", value_parser = parse_lifetime)]
        expires_in: chrono::Duration,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the hash chain; exits non-zero and names the first broken link if any.
    Verify {
        #[command(flatten)]
        data: DataDir,
    },
}

#[derive(Subcommand)]
enum DemoCommand {
    /// Create demo staff (password `deskside-demo`) and demo tickets.
    Seed {
        #[command(flatten)]
        data: DataDir,
        /// Also generate this many tickets in bulk (benchmarks).
        #[arg(long, default_value_t = 0)]
        bulk_tickets: u64,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Agent,
    Supervisor,
    Admin,
}

#[derive(Clone, Copy, ValueEnum)]
enum TierArg {
    #[value(name = "L1")]
    L1,
    #[value(name = "L2")]
    L2,
    #[value(name = "L3")]
    L3,
}

fn parse_lifetime(text: &str) -> Result<chrono::Duration, String> {
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not like 30m, 24h or 7d"))?;
    let duration = match unit {
        "m" => chrono::Duration::minutes(n),
        "h" => chrono::Duration::hours(n),
        "d" => chrono::Duration::days(n),
        _ => return Err(format!("'{text}' is not like 30m, 24h or 7d")),
    };
    if n <= 0 || duration > chrono::Duration::days(30) {
        return Err("the lifetime must be between 1 minute and 30 days".into());
    }
    Ok(duration)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DESKSIDE_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve {
            listen,
            data,
            edge,
            wal_limit_mb,
        } => {
            let mut config = ServerConfig::new(listen, data.data_dir);
            edge.apply(&mut config);
            config.wal_limit_bytes = wal_limit_mb * 1024 * 1024;
            let server = Server::start(config).await?;
            println!("listening on {}", server.url());
            let state = server.state.clone();
            tokio::select! {
                () = server.wait() => {}
                _ = tokio::signal::ctrl_c() => eprintln!("stopping"),
            }
            // The head as it is at shutdown, so what was written last is covered too.
            deskside_server::audit_checkpoints::checkpoint_logged(&state).await;
        }
        Command::User {
            command:
                UserCommand::Add {
                    data,
                    username,
                    display_name,
                    role,
                    tier,
                    password_stdin: _,
                },
        } => {
            let role = match role {
                RoleArg::Agent => Role::Agent,
                RoleArg::Supervisor => Role::Supervisor,
                RoleArg::Admin => Role::Admin,
            };
            let tier = tier.map(|t| match t {
                TierArg::L1 => Tier::L1,
                TierArg::L2 => Tier::L2,
                TierArg::L3 => Tier::L3,
            });
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .context("reading the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']);
            let display_name = display_name.unwrap_or_else(|| username.clone());
            if let Err(errors) = validate_new_staff(&username, &display_name, role, tier, password)
            {
                for error in errors.0 {
                    eprintln!("{}: {}", error.field, error.message);
                }
                bail!("the account was not created");
            }
            let state = open_state(&data.data_dir, Arc::new(SystemClock), HashCost::Strong).await?;
            let audit = AuditEntry {
                actor: "cli".into(),
                action: "user.create".into(),
                subject: format!("user:{username}"),
                details: serde_json::json!({ "role": role, "tier": tier }),
            };
            let user = NewStaffUser {
                username,
                display_name,
                role,
                tier,
                password_hash: hash_password(password, HashCost::Strong),
            };
            let created = state
                .storage
                .create_staff(user, None, audit, chrono::Utc::now())
                .await?
                .into_value()?;
            println!(
                "created {} ({}) with id {}",
                created.username, created.role, created.id
            );
        }
        Command::EnrollToken {
            command: EnrollTokenCommand::Create { data, expires_in },
        } => {
            let state = open_state(&data.data_dir, Arc::new(SystemClock), HashCost::Strong).await?;
            let (token, expires_at) = issue_enrollment_token(&state, expires_in, "cli".into())
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            eprintln!("one-time enrollment token, valid until {expires_at}:");
            println!("{token}");
        }
        Command::Audit {
            command: AuditCommand::Verify { data },
        } => {
            let state = open_state(&data.data_dir, Arc::new(SystemClock), HashCost::Strong).await?;
            let report = state
                .storage
                .verify_audit(&state.order_signer.verifying_key())
                .await?;
            match report.first_broken {
                None => {
                    println!("audit log intact: {} rows verified", report.rows_checked);
                    if let Some(checkpoint) = &report.checkpoint {
                        println!(
                            "the newest signed checkpoint ({}) covers {} rows; rows written \
                             after it cannot be checked for deletion",
                            checkpoint.at, checkpoint.rows
                        );
                    }
                }
                Some(broken) => {
                    println!(
                        "audit log BROKEN at row {}: {} ({} rows checked)",
                        broken.id, broken.reason, report.rows_checked
                    );
                    std::process::exit(1);
                }
            }
        }
        Command::Demo {
            command: DemoCommand::Seed { data, bulk_tickets },
        } => {
            let state = open_state(&data.data_dir, Arc::new(SystemClock), HashCost::Strong).await?;
            demo::seed(&state).await?;
            if bulk_tickets > 0 {
                // Bulk import bypasses the API; it needs the concrete store.
                drop(state);
                let storage = SqliteStorage::open(&data.data_dir)?;
                let sla = Arc::new(deskside_server::default_sla_settings());
                let took =
                    demo::bulk_tickets(&storage, sla, bulk_tickets, chrono::Utc::now()).await?;
                println!(
                    "generated {bulk_tickets} tickets in {:.1} s",
                    took.as_secs_f64()
                );
            }
            println!("demo data ready; staff password: {}", demo::DEMO_PASSWORD);
        }
    }
    Ok(())
}
