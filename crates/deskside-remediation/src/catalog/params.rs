//! Typed, validated action parameters. A `ServiceName` can only be built from text that
//! passed its validator, so an executor holding one never sees `foo; rm -rf /`. Executors
//! also never hand parameters to a shell (see `execute`); validation is the first wall, not
//! the only one.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::{ActionId, ParamType, truncate_for_message};
use crate::validation::ValidationErrors;

pub const SERVICE_NAME_PATTERN: &str = "^[A-Za-z0-9@._-]{1,128}$";
pub const USERNAME_PATTERN: &str = "^[a-z_][a-z0-9_-]{0,31}$";
pub const PRINTER_NAME_PATTERN: &str = "^[A-Za-z0-9_.-]{1,127}$";
/// PID 1 is init: killing it panics the kernel. PID 0 is not a process.
pub const PID_MIN: u32 = 2;
/// Linux's `pid_max` ceiling (2^22).
pub const PID_MAX: u32 = 4_194_304;

/// Shared rules for service and printer names. Beyond the character set: no leading `-`
/// (every tool we call would read it as an option) and at least one letter or digit (so
/// `.` and `..` are not names).
fn check_name(value: &str, max: usize, extra: &[u8]) -> Result<(), String> {
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || (c.is_ascii() && extra.contains(&(*c as u8)))))
    {
        let allowed: String = extra.iter().map(|b| format!(" {}", *b as char)).collect();
        return Err(format!(
            "contains {c:?}; only ASCII letters, digits and{allowed} are allowed"
        ));
    }
    // Checked after the character set, so the length is in bytes == characters.
    if value.len() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if value.starts_with('-') {
        return Err("must not start with '-'".into());
    }
    if !value.bytes().any(|b| b.is_ascii_alphanumeric()) {
        return Err("must contain a letter or digit".into());
    }
    Ok(())
}

macro_rules! string_param {
    ($(#[$doc:meta])* $name:ident, $check:path) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Validates `value`; the error is a message for the user, without the field name.
            pub fn parse(value: &str) -> Result<Self, String> {
                $check(value).map(|()| Self(value.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// systemd unit types that are not services. `systemctl restart poweroff.target` powers the
/// machine off, `shutdown.target`, `*.mount` or `*.socket` are no better: a name ending in one
/// of these is never a service, whatever the platform.
pub const NON_SERVICE_UNIT_TYPES: &[&str] = &[
    "target",
    "socket",
    "mount",
    "automount",
    "swap",
    "path",
    "timer",
    "slice",
    "scope",
    "device",
];

fn check_service_name(value: &str) -> Result<(), String> {
    check_name(value, 128, b"@._-")?;
    // Case-insensitive: `POWEROFF.TARGET` must not slip past a list of lowercase suffixes.
    if let Some((_, suffix)) = value.rsplit_once('.')
        && NON_SERVICE_UNIT_TYPES
            .iter()
            .any(|t| t.eq_ignore_ascii_case(suffix))
    {
        return Err(format!(
            "names a .{suffix} unit; only services (`name` or `name.service`) can be restarted"
        ));
    }
    if value.starts_with('@') || value.ends_with('@') || value.contains("@.") {
        return Err("is not a service name (a template needs a name and an instance)".into());
    }
    Ok(())
}

fn check_printer_name(value: &str) -> Result<(), String> {
    check_name(value, 127, b"_.-")
}

fn check_username(value: &str) -> Result<(), String> {
    let Some(first) = value.chars().next() else {
        return Err("must not be empty".into());
    };
    if !(first.is_ascii_lowercase() || first == '_') {
        return Err(format!(
            "must start with a lowercase ASCII letter or '_', not {first:?}"
        ));
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-'))
    {
        return Err(format!(
            "contains {c:?}; only lowercase ASCII letters, digits, _ and - are allowed"
        ));
    }
    if value.len() > 32 {
        return Err("must be at most 32 characters".into());
    }
    if value == "root" {
        return Err("resetting root's password is refused".into());
    }
    Ok(())
}

string_param!(
    /// A service name (systemd unit, init.d script, Windows service or launchd label).
    ServiceName,
    check_service_name
);
string_param!(
    /// A local account name, POSIX-style, never `root`.
    Username,
    check_username
);
string_param!(
    /// A printer (queue) name under CUPS' rules, stricter: no `/`, `#`, spaces or quotes.
    PrinterName,
    check_printer_name
);

impl ServiceName {
    /// A templated unit's instance (`modprobe@dummy.service`, `getty@tty1`): what it does
    /// depends on the template and the instance text, so the server never requests one and
    /// an endpoint runs one only if its policy names it exactly.
    pub fn is_template_instance(&self) -> bool {
        self.0.contains('@')
    }

    /// The name without a `.service` suffix: `cups` and `cups.service` are one service.
    pub fn base(&self) -> &str {
        self.0.strip_suffix(".service").unwrap_or(&self.0)
    }

    /// Whether both name the same service (`cups` = `cups.service`).
    pub fn same_service(&self, other: &ServiceName) -> bool {
        self.base() == other.base()
    }
}

/// A process id in `PID_MIN..=PID_MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Pid(u32);

impl Pid {
    pub fn new(value: u64) -> Result<Self, String> {
        if (u64::from(PID_MIN)..=u64::from(PID_MAX)).contains(&value) {
            Ok(Self(value as u32))
        } else if value == 1 {
            Err("must not be 1 (init)".into())
        } else {
            Err(format!("must be between {PID_MIN} and {PID_MAX}"))
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de> Deserialize<'de> for Pid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Pid::new(u64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// An action with its parameters. On the wire: `{"action": "service.restart", "params":
/// {"name": "cups"}}`; parameterless actions carry `"params": {}` (a missing or null
/// `params` is accepted for them). Parsing collects field-level errors (`params.name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionParams {
    ServiceRestart { name: ServiceName },
    AccountResetPassword { username: Username },
    PrintClearQueue { printer: PrinterName },
    PrintRestartSpooler,
    NetworkFlushDns,
    DiskCleanTemp,
    ProcessKill { pid: Pid },
    DiagnosticsCollect,
}

impl ActionParams {
    pub fn id(&self) -> ActionId {
        match self {
            ActionParams::ServiceRestart { .. } => ActionId::ServiceRestart,
            ActionParams::AccountResetPassword { .. } => ActionId::AccountResetPassword,
            ActionParams::PrintClearQueue { .. } => ActionId::PrintClearQueue,
            ActionParams::PrintRestartSpooler => ActionId::PrintRestartSpooler,
            ActionParams::NetworkFlushDns => ActionId::NetworkFlushDns,
            ActionParams::DiskCleanTemp => ActionId::DiskCleanTemp,
            ActionParams::ProcessKill { .. } => ActionId::ProcessKill,
            ActionParams::DiagnosticsCollect => ActionId::DiagnosticsCollect,
        }
    }

    /// The parameters as a JSON object (empty for parameterless actions).
    pub fn params_json(&self) -> Map<String, Value> {
        let mut map = Map::new();
        match self {
            ActionParams::ServiceRestart { name } => {
                map.insert("name".into(), Value::from(name.as_str()));
            }
            ActionParams::AccountResetPassword { username } => {
                map.insert("username".into(), Value::from(username.as_str()));
            }
            ActionParams::PrintClearQueue { printer } => {
                map.insert("printer".into(), Value::from(printer.as_str()));
            }
            ActionParams::ProcessKill { pid } => {
                map.insert("pid".into(), Value::from(pid.get()));
            }
            ActionParams::PrintRestartSpooler
            | ActionParams::NetworkFlushDns
            | ActionParams::DiskCleanTemp
            | ActionParams::DiagnosticsCollect => {}
        }
        map
    }

    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("action".into(), Value::from(self.id().as_str()));
        map.insert("params".into(), Value::Object(self.params_json()));
        Value::Object(map)
    }

    /// Parses `{"action": …, "params": {…}}`, rejecting unknown actions, unknown, missing or
    /// mistyped parameters and invalid values, with every problem reported by field.
    pub fn from_json(value: &Value) -> Result<Self, ValidationErrors> {
        let Some(obj) = value.as_object() else {
            return Err(ValidationErrors::single("", "must be an object"));
        };
        let mut errors = ValidationErrors::default();
        for key in obj.keys().filter(|k| *k != "action" && *k != "params") {
            errors.add(truncate_for_message(key), "unknown field");
        }
        let action = match obj.get("action") {
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => {
                errors.add("action", "must be a string");
                None
            }
            None => {
                errors.add("action", "is required");
                None
            }
        };
        let parsed = action.map(|a| Self::from_parts(a, obj.get("params")));
        match parsed {
            Some(Ok(params)) if errors.is_empty() => Ok(params),
            Some(Err(more)) => {
                errors.0.extend(more.0);
                Err(errors)
            }
            _ => Err(errors),
        }
    }

    /// Parses a staff member's request (the server's door): [`ActionParams::from_json`] plus
    /// what the server never asks an endpoint to do, whatever its policy says. A templated
    /// unit (`modprobe@dummy.service`) is refused here; an endpoint whose policy names one
    /// exactly would still run it (see `Policy::evaluate`), but no request made here reaches it.
    pub fn from_request(value: &Value) -> Result<Self, ValidationErrors> {
        let action = Self::from_json(value)?;
        if let ActionParams::ServiceRestart { name } = &action
            && name.is_template_instance()
        {
            return Err(ValidationErrors::single(
                "params.name",
                format!(
                    "`{name}` is a templated unit (name@instance); only plain services can be \
                     restarted"
                ),
            ));
        }
        Ok(action)
    }

    /// Parses an action id and its parameter object, as they travel inside an order.
    pub fn from_parts(action: &str, params: Option<&Value>) -> Result<Self, ValidationErrors> {
        let Some(id) = ActionId::parse(action) else {
            return Err(ValidationErrors::single(
                "action",
                format!("unknown action `{}`", truncate_for_message(action)),
            ));
        };
        let empty = Map::new();
        let params = match params {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(map)) => map,
            Some(_) => return Err(ValidationErrors::single("params", "must be an object")),
        };
        let spec = id.entry().params;
        let mut errors = ValidationErrors::default();
        for key in params.keys() {
            if !spec.iter().any(|p| p.name == key) {
                errors.add(
                    format!("params.{}", truncate_for_message(key)),
                    "unknown parameter",
                );
            }
        }
        // Every action has at most one parameter: read it by its spec, check type, validate.
        let mut string_param = None;
        let mut integer_param = None;
        for p in spec {
            let field = format!("params.{}", p.name);
            match (params.get(p.name), p.kind) {
                (None, _) => errors.add(field, "is required"),
                (Some(Value::String(s)), ParamType::String) => string_param = Some((field, s)),
                (Some(_), ParamType::String) => errors.add(field, "must be a string"),
                (Some(v), ParamType::Integer) => match v.as_u64() {
                    Some(n) => integer_param = Some((field, n)),
                    None => errors.add(field, "must be a non-negative integer"),
                },
            }
        }
        let mut check = |r: Result<ActionParams, (String, String)>| match r {
            Ok(p) => Some(p),
            Err((field, message)) => {
                errors.add(field, message);
                None
            }
        };
        let parsed = match id {
            ActionId::PrintRestartSpooler => Some(ActionParams::PrintRestartSpooler),
            ActionId::NetworkFlushDns => Some(ActionParams::NetworkFlushDns),
            ActionId::DiskCleanTemp => Some(ActionParams::DiskCleanTemp),
            ActionId::DiagnosticsCollect => Some(ActionParams::DiagnosticsCollect),
            ActionId::ServiceRestart => string_param.and_then(|(f, s)| {
                check(
                    ServiceName::parse(s)
                        .map(|name| ActionParams::ServiceRestart { name })
                        .map_err(|m| (f, m)),
                )
            }),
            ActionId::AccountResetPassword => string_param.and_then(|(f, s)| {
                check(
                    Username::parse(s)
                        .map(|username| ActionParams::AccountResetPassword { username })
                        .map_err(|m| (f, m)),
                )
            }),
            ActionId::PrintClearQueue => string_param.and_then(|(f, s)| {
                check(
                    PrinterName::parse(s)
                        .map(|printer| ActionParams::PrintClearQueue { printer })
                        .map_err(|m| (f, m)),
                )
            }),
            ActionId::ProcessKill => integer_param.and_then(|(f, n)| {
                check(
                    Pid::new(n)
                        .map(|pid| ActionParams::ProcessKill { pid })
                        .map_err(|m| (f, m)),
                )
            }),
        };
        match parsed {
            Some(p) if errors.is_empty() => Ok(p),
            _ => Err(errors),
        }
    }
}

impl Serialize for ActionParams {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl<'de> Deserialize<'de> for ActionParams {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        Self::from_json(&value).map_err(serde::de::Error::custom)
    }
}
