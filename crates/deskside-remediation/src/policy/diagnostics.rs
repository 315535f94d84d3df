//! `[diagnostics]` of the endpoint policy: which snapshot sections the agent sends on its
//! own (its periodic background uploads and on-request `diagnostics.collect` snapshots).
//! What the user attaches to a ticket themselves is the user's choice, not this one.
//!
//! Without the table, [`DEFAULT_BACKGROUND_SECTIONS`]: what the machine is and how it is
//! set up, never processes or logs, which show what the person at it is doing.

use std::collections::BTreeSet;
use std::ops::Range;

use deskside_diagnostics::SectionName;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::PolicyError;

/// Sent without the user attaching them, unless the policy says otherwise.
pub const DEFAULT_BACKGROUND_SECTIONS: [SectionName; 6] = [
    SectionName::System,
    SectionName::Hardware,
    SectionName::Network,
    SectionName::Services,
    SectionName::Printers,
    SectionName::Software,
];

/// What the policy lets the agent send on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiagnosticsPolicy {
    pub background_sections: BTreeSet<SectionName>,
}

impl Default for DiagnosticsPolicy {
    fn default() -> Self {
        DiagnosticsPolicy {
            background_sections: DEFAULT_BACKGROUND_SECTIONS.into_iter().collect(),
        }
    }
}

impl DiagnosticsPolicy {
    /// Sends nothing: the fallback while no valid policy has been read.
    pub fn nothing() -> Self {
        DiagnosticsPolicy {
            background_sections: BTreeSet::new(),
        }
    }

    /// The sections this policy keeps out of what the agent sends on its own.
    pub fn withheld(&self) -> impl Iterator<Item = SectionName> + '_ {
        SectionName::ALL
            .into_iter()
            .filter(|section| !self.background_sections.contains(section))
    }

    pub(super) fn parse(
        file: Option<DiagnosticsFile>,
        err: &impl Fn(Range<usize>, String, String) -> PolicyError,
    ) -> Result<Self, PolicyError> {
        let Some(DiagnosticsFile {
            background_sections: Some(list),
        }) = file
        else {
            return Ok(DiagnosticsPolicy::default());
        };
        let mut background_sections = BTreeSet::new();
        for (i, item) in list.into_iter().enumerate() {
            // Exact names: a typo must not silently narrow or widen what is sent.
            let section = SectionName::exact(item.get_ref()).ok_or_else(|| {
                err(
                    item.span(),
                    format!("diagnostics.background_sections[{i}]"),
                    format!(
                        "{:?} is not a section (sections: {})",
                        item.get_ref(),
                        SectionName::valid_names()
                    ),
                )
            })?;
            background_sections.insert(section);
        }
        Ok(DiagnosticsPolicy {
            background_sections,
        })
    }
}

/// `[diagnostics]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DiagnosticsFile {
    background_sections: Option<Vec<Spanned<String>>>,
}
