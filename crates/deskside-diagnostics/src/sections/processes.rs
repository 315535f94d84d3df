//! `processes`: the heaviest processes by CPU and by memory.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};
use sysinfo::{Process, System, Users};

use crate::text::{round1, truncate_chars};

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Processes {
    pub total: usize,
    pub top_by_cpu: Vec<ProcessEntry>,
    pub top_by_memory: Vec<ProcessEntry>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProcessEntry {
    pub pid: u32,
    pub name: String,
    /// Of one core, as `top` shows it: a busy multi-threaded process can exceed 100.
    pub cpu_percent: f32,
    pub memory_bytes: u64,
    pub user: Option<String>,
}

pub(crate) fn build(system: &System, users: &Users, top: usize) -> Processes {
    let processes: Vec<&Process> = system.processes().values().collect();
    let entry = |p: &Process| ProcessEntry {
        pid: p.pid().as_u32(),
        name: truncate_chars(&p.name().to_string_lossy(), 64),
        cpu_percent: round1(p.cpu_usage()),
        memory_bytes: p.memory(),
        user: p
            .user_id()
            .and_then(|uid| users.get_user_by_id(uid))
            .map(|u| u.name().to_owned()),
    };
    let top_by = |key: &dyn Fn(&Process, &Process) -> Ordering, keep: &dyn Fn(&Process) -> bool| {
        let mut sorted: Vec<&Process> = processes.iter().copied().filter(|p| keep(p)).collect();
        // Ties broken by pid so two snapshots of an idle machine list the same processes.
        sorted.sort_by(|a, b| key(b, a).then(a.pid().cmp(&b.pid())));
        sorted.into_iter().take(top).map(entry).collect::<Vec<_>>()
    };
    Processes {
        total: processes.len(),
        // Idle processes are not "top" anything: an idle machine lists none.
        top_by_cpu: top_by(&|a, b| a.cpu_usage().total_cmp(&b.cpu_usage()), &|p| {
            round1(p.cpu_usage()) > 0.0
        }),
        top_by_memory: top_by(&|a, b| a.memory().cmp(&b.memory()), &|p| p.memory() > 0),
    }
}
