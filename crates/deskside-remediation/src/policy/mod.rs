//! The endpoint's local policy: an admin-owned TOML file saying which catalog actions this
//! machine accepts, for which parameters, and which need the local user's consent. It is the
//! last word: a signed order the policy refuses never runs, so a compromised server can at
//! most do what each endpoint's administrator allowed. See `default-policy.toml` for the
//! format, documented in place.

mod diagnostics;
#[cfg(test)]
mod tests;
mod trust;
mod users;
mod watcher;

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read as _;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::catalog::{ActionId, ActionParams, PrinterName, ServiceName, Username};

pub use diagnostics::{DEFAULT_BACKGROUND_SECTIONS, DiagnosticsPolicy};
pub use users::{SystemUserDirectory, UserDirectory};
pub use watcher::{PolicyEvent, PolicyHandle, PolicyWatcher};

/// The default policy's text: low-risk actions allowed, password reset with the user's
/// consent, everything else refused. Also a commented template for administrators.
pub const DEFAULT_POLICY_TOML: &str = include_str!("default-policy.toml");

/// A parsed, checked policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    pub admin_groups: Vec<String>,
    pub actions: BTreeMap<ActionId, ActionRule>,
    pub diagnostics: DiagnosticsPolicy,
}

/// What the policy says about one accepted action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionRule {
    pub require_consent: bool,
    /// `service.restart`: only these services (`None`: any service that is not a templated
    /// unit; `name` and `name.service` are the same service).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub services: Option<Vec<ServiceName>>,
    /// `print.clear_queue`: only these printers (`None`: any).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub printers: Option<Vec<PrinterName>>,
    /// `account.reset_password`: these accounts, administrators included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub users: Option<Vec<Username>>,
    /// `account.reset_password`: also any account that is not an administrator.
    pub allow_non_admin: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyDecision {
    Allowed { consent_required: bool },
    Denied { reason: String },
}

/// A policy file problem, located as precisely as the file allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PolicyError {
    pub path: Option<PathBuf>,
    /// 1-based.
    pub line: Option<usize>,
    /// 1-based, in characters.
    pub column: Option<usize>,
    /// The TOML path of the offending field (`actions."service.restart".services[1]`).
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{}", p.display())?,
            None => f.write_str("policy")?,
        }
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        f.write_str(": ")?;
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy::parse(DEFAULT_POLICY_TOML).expect("the built-in default policy parses (tested)")
    }
}

impl Policy {
    /// Accepts nothing and sends no diagnostics of its own: what an endpoint falls back to when
    /// it has no valid policy at all.
    pub fn deny_all() -> Self {
        Policy {
            admin_groups: default_admin_groups(),
            actions: BTreeMap::new(),
            diagnostics: DiagnosticsPolicy::nothing(),
        }
    }

    /// Reads and parses the policy file at `path`, if nobody but root and the agent's own
    /// account can change it or the directories above it (see [`trust`]).
    pub fn load(path: &Path) -> Result<Self, PolicyError> {
        let unreadable = |message: String| PolicyError {
            path: Some(path.to_owned()),
            line: None,
            column: None,
            field: None,
            message,
        };
        let mut text = String::new();
        trust::open_trusted(path)
            .map_err(unreadable)?
            .read_to_string(&mut text)
            .map_err(|e| unreadable(format!("cannot read: {e}")))?;
        Policy::parse(&text).map_err(|e| PolicyError {
            path: Some(path.to_owned()),
            ..e
        })
    }

    /// Parses policy text. Unknown keys, unknown actions, lists on the wrong action and
    /// invalid names in lists are all errors: a typo must not silently widen or narrow what
    /// the endpoint accepts.
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let file: PolicyFile = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map(|s| line_col(text, s.start)).unzip();
            PolicyError {
                path: None,
                line,
                column,
                field: None,
                message: e.message().trim().to_owned(),
            }
        })?;
        let err = |span: Range<usize>, field: String, message: String| {
            let (line, column) = line_col(text, span.start);
            PolicyError {
                path: None,
                line: Some(line),
                column: Some(column),
                field: Some(field),
                message,
            }
        };
        if *file.version.get_ref() != 1 {
            return Err(err(
                file.version.span(),
                "version".into(),
                format!(
                    "unsupported version {}; this agent reads version 1",
                    file.version.get_ref()
                ),
            ));
        }
        let admin_groups = match file.admin_groups {
            None => default_admin_groups(),
            Some(groups) => {
                let mut out = Vec::new();
                for (i, g) in groups.into_iter().enumerate() {
                    let ok = !g.get_ref().is_empty()
                        && g.get_ref().len() <= 64
                        && g.get_ref()
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
                    if !ok {
                        return Err(err(
                            g.span(),
                            format!("admin_groups[{i}]"),
                            format!("{:?} is not a group name", g.get_ref()),
                        ));
                    }
                    out.push(g.into_inner());
                }
                out
            }
        };
        let mut actions = BTreeMap::new();
        for (name, rule) in file.actions {
            let span = rule.span();
            let Some(id) = ActionId::parse(&name) else {
                let known: Vec<&str> = ActionId::ALL.iter().map(|a| a.as_str()).collect();
                return Err(err(
                    span,
                    format!("actions.\"{name}\""),
                    format!("unknown action; known actions: {}", known.join(", ")),
                ));
            };
            let rule = rule.into_inner();
            let base = format!("actions.\"{name}\"");
            let only_for = |list: &Option<Spanned<Vec<Spanned<String>>>>,
                            key: &str,
                            owner: ActionId|
             -> Result<(), PolicyError> {
                match list {
                    Some(l) if id != owner => Err(err(
                        l.span(),
                        format!("{base}.{key}"),
                        format!("`{key}` only applies to {owner}"),
                    )),
                    _ => Ok(()),
                }
            };
            only_for(&rule.services, "services", ActionId::ServiceRestart)?;
            only_for(&rule.printers, "printers", ActionId::PrintClearQueue)?;
            only_for(&rule.users, "users", ActionId::AccountResetPassword)?;
            if let Some(flag) = &rule.allow_non_admin
                && id != ActionId::AccountResetPassword
            {
                return Err(err(
                    flag.span(),
                    format!("{base}.allow_non_admin"),
                    format!(
                        "`allow_non_admin` only applies to {}",
                        ActionId::AccountResetPassword
                    ),
                ));
            }
            let services = parse_list(rule.services, &base, "services", ServiceName::parse, &err)?;
            let printers = parse_list(rule.printers, &base, "printers", PrinterName::parse, &err)?;
            let users = parse_list(rule.users, &base, "users", Username::parse, &err)?;
            // With an explicit list, only the list, unless non-admins are allowed explicitly.
            let allow_non_admin = match rule.allow_non_admin {
                Some(flag) => flag.into_inner(),
                None => users.is_none(),
            };
            actions.insert(
                id,
                ActionRule {
                    require_consent: rule.require_consent,
                    services,
                    printers,
                    users,
                    allow_non_admin,
                },
            );
        }
        let diagnostics = DiagnosticsPolicy::parse(file.diagnostics, &err)?;
        Ok(Policy {
            admin_groups,
            actions,
            diagnostics,
        })
    }

    /// Whether this endpoint accepts `action`, and with or without the user's consent.
    pub fn evaluate(&self, action: &ActionParams, users: &dyn UserDirectory) -> PolicyDecision {
        let deny = |reason: String| PolicyDecision::Denied { reason };
        let Some(rule) = self.actions.get(&action.id()) else {
            return deny("the action is not enabled in the local policy".into());
        };
        match action {
            ActionParams::ServiceRestart { name } => {
                // A templated unit only by its exact name: neither "any service" nor the
                // template's other instances cover it.
                if name.is_template_instance() {
                    let named = rule
                        .services
                        .as_ref()
                        .is_some_and(|list| list.iter().any(|s| s == name));
                    if !named {
                        return deny(format!(
                            "`{name}` is a templated unit and the policy's services do not \
                             name it exactly"
                        ));
                    }
                } else if let Some(list) = &rule.services
                    && !list.iter().any(|s| s.same_service(name))
                {
                    return deny(format!("service `{name}` is not in the policy's services"));
                }
            }
            ActionParams::PrintClearQueue { printer } => {
                if let Some(list) = &rule.printers
                    && !list.contains(printer)
                {
                    return deny(format!(
                        "printer `{printer}` is not in the policy's printers"
                    ));
                }
            }
            ActionParams::AccountResetPassword { username } => {
                let listed = rule.users.as_ref().is_some_and(|l| l.contains(username));
                if !listed {
                    if !rule.allow_non_admin {
                        return deny(format!("account `{username}` is not in the policy's users"));
                    }
                    match users.is_admin(username.as_str(), &self.admin_groups) {
                        Ok(false) => {}
                        Ok(true) => {
                            return deny(format!(
                                "account `{username}` is an administrator and not listed by name"
                            ));
                        }
                        // Unknown counts as admin: fail closed.
                        Err(e) => {
                            return deny(format!(
                                "cannot tell whether `{username}` is an administrator: {e}"
                            ));
                        }
                    }
                }
            }
            ActionParams::PrintRestartSpooler
            | ActionParams::NetworkFlushDns
            | ActionParams::DiskCleanTemp
            | ActionParams::ProcessKill { .. }
            | ActionParams::DiagnosticsCollect => {}
        }
        PolicyDecision::Allowed {
            consent_required: rule.require_consent,
        }
    }
}

fn default_admin_groups() -> Vec<String> {
    ["root", "sudo", "wheel", "admin"]
        .map(String::from)
        .to_vec()
}

fn parse_list<T>(
    list: Option<Spanned<Vec<Spanned<String>>>>,
    base: &str,
    key: &str,
    parse: impl Fn(&str) -> Result<T, String>,
    err: &impl Fn(Range<usize>, String, String) -> PolicyError,
) -> Result<Option<Vec<T>>, PolicyError> {
    let Some(list) = list else { return Ok(None) };
    let mut out = Vec::new();
    for (i, item) in list.into_inner().into_iter().enumerate() {
        match parse(item.get_ref()) {
            Ok(v) => out.push(v),
            Err(message) => {
                return Err(err(
                    item.span(),
                    format!("{base}.{key}[{i}]"),
                    format!("{:?}: {message}", item.get_ref()),
                ));
            }
        }
    }
    Ok(Some(out))
}

/// 1-based line and character column of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    version: Spanned<u32>,
    admin_groups: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    actions: BTreeMap<String, Spanned<RuleFile>>,
    diagnostics: Option<diagnostics::DiagnosticsFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    require_consent: bool,
    services: Option<Spanned<Vec<Spanned<String>>>>,
    printers: Option<Spanned<Vec<Spanned<String>>>>,
    users: Option<Spanned<Vec<Spanned<String>>>>,
    allow_non_admin: Option<Spanned<bool>>,
}
