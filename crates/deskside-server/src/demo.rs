//! Demo data: a small desk with agents on every tier and tickets in every state, written
//! through the same domain rules as real traffic, plus fast bulk generation for benchmarks.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use deskside_core::sla::SlaSettings;
use deskside_core::ticket::{NewTicket, Requester, Ticket, TicketCommand, TicketDecision, decide};
use deskside_core::{Actor, ActorKind, Category, Impact, Role, Status, Tier, Urgency, UserKind};

use crate::AppState;
use crate::audit::AuditEntry;
use crate::secrets::hash_password;
use crate::storage::{NewStaffUser, SqliteStorage, StaffUser, StorageError};

pub const DEMO_PASSWORD: &str = "deskside-demo";

/// (username, display name, role, tier)
const DEMO_STAFF: &[(&str, &str, Role, Option<Tier>)] = &[
    ("admin", "Ada Admin", Role::Admin, None),
    ("sam", "Sam Supervisor", Role::Supervisor, None),
    ("alice", "Alice Meyer", Role::Agent, Some(Tier::L1)),
    ("bob", "Bob Novak", Role::Agent, Some(Tier::L2)),
    ("carol", "Carol Haddad", Role::Agent, Some(Tier::L3)),
];

/// Creates the demo staff (skipping any that exist) and, on an empty desk, demo tickets.
pub async fn seed(state: &AppState) -> anyhow::Result<Vec<StaffUser>> {
    let staff = seed_staff(state).await?;
    let empty = state
        .storage
        .list_tickets(crate::storage::TicketQuery {
            limit: 1,
            ..Default::default()
        })
        .await?
        .items
        .is_empty();
    if empty {
        seed_tickets(state, &staff, state.clock.now()).await?;
    }
    Ok(staff)
}

/// Creates the demo staff, skipping any that exist.
pub async fn seed_staff(state: &AppState) -> anyhow::Result<Vec<StaffUser>> {
    let now = state.clock.now();
    for (username, display_name, role, tier) in DEMO_STAFF {
        let user = NewStaffUser {
            username: (*username).into(),
            display_name: (*display_name).into(),
            role: *role,
            tier: *tier,
            password_hash: hash_password(DEMO_PASSWORD, state.password_cost),
        };
        let audit = AuditEntry {
            actor: "cli".into(),
            action: "user.create".into(),
            subject: format!("user:{username}"),
            details: serde_json::json!({ "role": role, "tier": tier, "demo": true }),
        };
        match state.storage.create_staff(user, None, audit, now).await {
            Ok(_) | Err(StorageError::Conflict(_)) => {}
            Err(other) => return Err(other.into()),
        }
    }
    Ok(state.storage.list_staff().await?)
}

fn actor_for(staff: &[StaffUser], username: &str) -> Actor {
    let user = staff
        .iter()
        .find(|u| u.username == username)
        .expect("demo staff exist");
    Actor {
        kind: ActorKind::Staff {
            user_id: user.id,
            role: user.role,
            tier: user.tier,
        },
        display_name: user.display_name.clone(),
    }
}

struct DemoTicket {
    title: &'static str,
    description: &'static str,
    category: Category,
    impact: Impact,
    urgency: Urgency,
    requester: (&'static str, UserKind),
    hours_ago: i64,
    /// Steps after creation: (who, command, hours after creation).
    steps: Vec<(&'static str, TicketCommand, i64)>,
}

fn reply(body: &str) -> TicketCommand {
    TicketCommand::Reply { body: body.into() }
}

fn status(to: Status) -> TicketCommand {
    TicketCommand::ChangeStatus { to }
}

fn demo_tickets() -> Vec<DemoTicket> {
    use Category::*;
    use Impact::*;
    use Urgency::*;
    vec![
        DemoTicket {
            title: "Nobody on floor 2 can print",
            description: "The big Kyocera next to the kitchen shows 'offline' for everyone since this morning. Jobs pile up in the queue.",
            category: Printer, impact: Team, urgency: Blocked,
            requester: ("Dana Schulz", UserKind::InternalStaff), hours_ago: 3,
            steps: vec![],
        },
        DemoTicket {
            title: "VPN drops every few minutes",
            description: "Working from home; the VPN disconnects with 'timeout' roughly every 5 minutes, Teams calls freeze.",
            category: Network, impact: OneUser, urgency: Degraded,
            requester: ("Marco Rossi", UserKind::InternalStaff), hours_ago: 26,
            steps: vec![("alice", reply("Hi Marco, which Wi-Fi are you on? Could you try a cable for a day?"), 1),
                        ("alice", status(Status::PendingUser), 1)],
        },
        DemoTicket {
            title: "Locked out after password change",
            description: "Changed my password on the laptop, now Outlook and the file share keep asking and then lock me out.",
            category: AccountPassword, impact: OneUser, urgency: Blocked,
            requester: ("Priya Natarajan", UserKind::InternalStaff), hours_ago: 5,
            steps: vec![("alice", TicketCommand::Assign { assignee_id: None }, 0),
                        ("alice", reply("Unlocking your account now; please sign out and in once."), 1),
                        ("alice", status(Status::Resolved), 1)],
        },
        DemoTicket {
            title: "Accounting software crashes on month-end report",
            description: "DATEV closes without a message when I export the month-end report. Started after the update on Monday.",
            category: Software, impact: Team, urgency: Degraded,
            requester: ("Jonas Weber", UserKind::InternalStaff), hours_ago: 50,
            steps: vec![("alice", TicketCommand::Note { body: "Reproduced on two machines; not a local profile issue.".into() }, 2),
                        ("alice", TicketCommand::Escalate { reason: "Crash reproducible after vendor update; needs L2 to check the update and logs.".into() }, 3),
                        ("bob", reply("We can reproduce it and are in touch with the vendor."), 5)],
        },
        DemoTicket {
            title: "Whole office: no internet",
            description: "Nothing loads, neither Wi-Fi nor cable. Phones (VoIP) are down too.",
            category: Network, impact: WholeOffice, urgency: Blocked,
            requester: ("Reception", UserKind::InternalStaff), hours_ago: 72,
            steps: vec![("bob", reply("ISP confirmed an outage; we switched to the LTE backup line."), 0),
                        ("bob", status(Status::Resolved), 2),
                        ("sam", status(Status::Closed), 30)],
        },
        DemoTicket {
            title: "Laptop fan very loud, gets hot",
            description: "My ThinkPad is loud all the time and the palm rest is hot, even with only e-mail open.",
            category: Hardware, impact: OneUser, urgency: CanWork,
            requester: ("Lena Fischer", UserKind::InternalStaff), hours_ago: 8,
            steps: vec![],
        },
        DemoTicket {
            title: "Shared mailbox 'invoices' not visible",
            description: "Since yesterday the invoices@ shared mailbox is gone from my Outlook.",
            category: Email, impact: OneUser, urgency: Degraded,
            requester: ("Tom Becker", UserKind::BusinessCustomer), hours_ago: 30,
            steps: vec![("alice", reply("Re-added your permission; Outlook needs a restart to show it."), 4)],
        },
        DemoTicket {
            title: "Request: second monitor for new hire",
            description: "Our new colleague starts next Monday and needs a second monitor and a docking station.",
            category: Hardware, impact: OneUser, urgency: CanWork,
            requester: ("Hannah König", UserKind::InternalStaff), hours_ago: 120,
            steps: vec![("alice", reply("Ordered; arriving Thursday."), 6)],
        },
        DemoTicket {
            title: "Database server disk almost full",
            description: "Monitoring mail says the data volume of the ERP database server is at 93 %.",
            category: Hardware, impact: WholeOffice, urgency: Degraded,
            requester: ("Monitoring", UserKind::InternalStaff), hours_ago: 20,
            steps: vec![("alice", TicketCommand::Escalate { reason: "Server storage: L2 owns the ERP host.".into() }, 0),
                        ("bob", TicketCommand::Escalate { reason: "Needs a storage extension on the SAN: L3.".into() }, 2)],
        },
        DemoTicket {
            title: "Scanner sends e-mails to wrong address",
            description: "Scan-to-mail on the ground floor copier sends to my old address.",
            category: Printer, impact: OneUser, urgency: CanWork,
            requester: ("Felix Braun", UserKind::PrivateCustomer), hours_ago: 240,
            steps: vec![("alice", reply("Updated the address book entry on the copier."), 3),
                        ("alice", status(Status::Resolved), 3)],
        },
    ]
}

async fn seed_tickets(
    state: &AppState,
    staff: &[StaffUser],
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let sla = state.sla();
    for demo in demo_tickets() {
        let created = now - Duration::hours(demo.hours_ago);
        let requester = Actor {
            kind: ActorKind::System,
            display_name: demo.requester.0.to_owned(),
        };
        let new = NewTicket {
            title: demo.title.into(),
            description: demo.description.into(),
            category: demo.category,
            impact: demo.impact,
            urgency: demo.urgency,
            requester: Requester {
                name: demo.requester.0.into(),
                email: None,
                user_kind: demo.requester.1,
                username: None,
            },
            device_id: None,
            tags: Vec::new(),
        };
        let rules = sla.clone();
        let written = state
            .storage
            .create_ticket(
                requester,
                None,
                Box::new(move |id, number| Ticket::open(new, id, number, &rules, created)),
                sla.clone(),
                None,
                created,
            )
            .await?;
        let crate::storage::Written::Fresh(ticket) = written else {
            continue;
        };
        for (who, command, hours_after) in demo.steps {
            let actor = actor_for(staff, who);
            let command = match command {
                // "Assign" in the table means: to whoever acts.
                TicketCommand::Assign { .. } => TicketCommand::Assign {
                    assignee_id: actor.staff_user_id(),
                },
                other => other,
            };
            let at = (created + Duration::hours(hours_after)).min(now);
            let rules = sla.clone();
            let deciding = actor.clone();
            state
                .storage
                .update_ticket(
                    ticket.id,
                    None,
                    actor,
                    None,
                    Box::new(move |t| decide(t, &deciding, command, &rules, at)),
                    sla.clone(),
                    None,
                    at,
                )
                .await?;
        }
    }
    Ok(())
}

const PROBLEMS: &[(&str, Category)] = &[
    ("Printer jams on every job", Category::Printer),
    ("Printer offline for the team", Category::Printer),
    ("VPN timeout when working from home", Category::Network),
    ("Wi-Fi keeps dropping in meeting room", Category::Network),
    (
        "Password expired, cannot sign in",
        Category::AccountPassword,
    ),
    (
        "Account locked after failed logins",
        Category::AccountPassword,
    ),
    ("Outlook does not sync the calendar", Category::Email),
    ("Mails to customers bounce", Category::Email),
    ("Excel crashes when opening macros", Category::Software),
    ("ERP client very slow since update", Category::Software),
    ("Laptop battery drains in an hour", Category::Hardware),
    ("Docking station monitor stays black", Category::Hardware),
    ("Phone headset not recognised", Category::Other),
];
const PLACES: &[&str] = &[
    "floor 1",
    "floor 2",
    "floor 3",
    "reception",
    "warehouse",
    "accounting",
    "sales",
    "the lab",
];
const PEOPLE: &[&str] = &[
    "Dana Schulz",
    "Marco Rossi",
    "Priya Natarajan",
    "Jonas Weber",
    "Lena Fischer",
    "Tom Becker",
    "Hannah König",
    "Felix Braun",
    "Aylin Demir",
    "Noah Wagner",
];

/// Writes `count` generated tickets straight into storage, in transactions of 10,000:
/// realistic text for the search index, statuses across the board, creation times spread
/// over the past year. Returns how long it took.
pub async fn bulk_tickets(
    storage: &SqliteStorage,
    sla: Arc<SlaSettings>,
    count: u64,
    now: DateTime<Utc>,
) -> anyhow::Result<std::time::Duration> {
    let started = std::time::Instant::now();
    let mut next_id = storage.next_ticket_id().await?;
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    let mut remaining = count;
    while remaining > 0 {
        let batch = remaining.min(10_000);
        let mut decisions = Vec::with_capacity(batch as usize);
        for _ in 0..batch {
            decisions.push(generated_ticket(next_id, &mut seed, &sla, now)?);
            next_id += 1;
        }
        storage
            .import_tickets(decisions, Actor::system(), sla.clone(), now)
            .await?;
        remaining -= batch;
    }
    storage.checkpoint()?;
    Ok(started.elapsed())
}

/// xorshift64*: deterministic, dependency-free variety for generated data.
fn next_random(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

fn pick<'a, T>(items: &'a [T], state: &mut u64) -> &'a T {
    &items[(next_random(state) % items.len() as u64) as usize]
}

fn generated_ticket(
    id: i64,
    seed: &mut u64,
    sla: &SlaSettings,
    now: DateTime<Utc>,
) -> anyhow::Result<TicketDecision> {
    let (problem, category) = *pick(PROBLEMS, seed);
    let place = pick(PLACES, seed);
    let person = pick(PEOPLE, seed);
    let created = now - Duration::minutes((next_random(seed) % (365 * 24 * 60)) as i64);
    let new = NewTicket {
        title: format!("{problem} ({place})"),
        description: format!(
            "{person} reports: {problem} in {place}. Started around {}; restarting did not help.",
            created.format("%H:%M")
        ),
        category,
        impact: *pick(Impact::ALL, seed),
        urgency: *pick(Urgency::ALL, seed),
        requester: Requester {
            name: (*person).into(),
            email: None,
            user_kind: *pick(UserKind::ALL, seed),
            username: None,
        },
        device_id: None,
        tags: Vec::new(),
    };
    let mut decision = Ticket::open(new, id, crate::storage::number_for(id), sla, created)?;
    // Older tickets are mostly done; recent ones still in the queue.
    let age_days = (now - created).num_days();
    let path: &[Status] = match (age_days, next_random(seed) % 10) {
        (0..=6, 0..=3) => &[],
        (0..=6, 4..=7) => &[Status::Open],
        (0..=6, _) => &[Status::PendingUser],
        (_, 0) => &[Status::Open],
        (_, 1..=3) => &[Status::Resolved],
        _ => &[Status::Resolved, Status::Closed],
    };
    let agent = Actor {
        kind: ActorKind::Staff {
            user_id: 0,
            role: Role::Supervisor,
            tier: None,
        },
        display_name: "Desk".into(),
    };
    let mut steps: Vec<(Actor, TicketCommand, DateTime<Utc>)> = path
        .iter()
        .enumerate()
        .map(|(step, to)| {
            let at = created + Duration::hours(step as i64 + 1);
            (agent.clone(), TicketCommand::ChangeStatus { to: *to }, at)
        })
        .collect();
    // Bring SLA alerts up to date as the sweep would have, so a server started on this data
    // does not spend its first minutes writing a year of overdue alerts.
    steps.push((Actor::system(), TicketCommand::SlaSweep, now));
    for (actor, command, at) in steps {
        let next = decide(&decision.ticket, &actor, command, sla, at)?;
        decision.events.extend(next.events);
        decision.ticket = next.ticket;
    }
    Ok(decision)
}
