//! Who may agree to an action, decided once here for the server (which request state to
//! wait in, whose consent counts) and the endpoint (whether a signed order's approval is
//! enough).
//!
//! The rule: an action that changes a local account (`account.reset_password`) can be agreed
//! to only by that account's own user. The catalog's `user_consent` therefore holds only
//! when the ticket's requester *is* the target account (names compared exactly, as the
//! operating system does); for any other account, or a ticket without a local requester,
//! the action needs a second agent's approval instead. Actions that concern no account keep
//! the catalog's approval as it is.

use serde::{Deserialize, Serialize};

use super::{ActionParams, ApprovalPolicy, Username};

/// How a signed order was approved: part of what the server signs (see `order`), so the
/// endpoint can check it came from someone entitled to agree.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(
    tag = "by",
    rename_all = "snake_case",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum Approval {
    /// The catalog asks for no approval: the requesting agent's request stands.
    NotRequired,
    /// A second agent (equal or higher tier, or a supervisor) approved.
    SecondAgent,
    /// The device's user signed in as `account` consented.
    UserConsent { account: String },
}

impl ActionParams {
    /// The local account this action changes, if it changes one.
    pub fn account(&self) -> Option<&Username> {
        match self {
            ActionParams::AccountResetPassword { username } => Some(username),
            _ => None,
        }
    }

    /// The approval this action needs on a ticket whose requester is the local account
    /// `requester` (`None`: nobody signed in on the device filed it). See the module rule.
    pub fn required_approval(&self, requester: Option<&str>) -> ApprovalPolicy {
        let catalog = self.id().entry().approval;
        match (catalog, self.account()) {
            (ApprovalPolicy::UserConsent, Some(account)) if requester != Some(account.as_str()) => {
                ApprovalPolicy::SecondAgent
            }
            _ => catalog,
        }
    }

    /// Whether the local account `account` may consent to this action.
    pub fn may_consent(&self, account: &str) -> bool {
        self.required_approval(Some(account)) == ApprovalPolicy::UserConsent
    }

    /// The endpoint's check of a signed order's approval: an action on a local account runs
    /// only when that account's user consented or a second agent approved. `Err` says why
    /// not. Other actions are not checked here (the server applies the catalog).
    pub fn check_approval(&self, approval: Option<&Approval>) -> Result<(), String> {
        let Some(account) = self.account() else {
            return Ok(());
        };
        match approval {
            Some(Approval::SecondAgent) => Ok(()),
            Some(Approval::UserConsent {
                account: consenting,
            }) if consenting == account.as_str() => Ok(()),
            Some(Approval::UserConsent {
                account: consenting,
            }) => Err(format!(
                "the user {} consented, but the action changes the account {}; only its own \
                 user or a second agent can approve that",
                super::truncate_for_message(consenting),
                account.as_str()
            )),
            Some(Approval::NotRequired) | None => Err(format!(
                "the order does not say that the user of {} or a second agent approved it",
                account.as_str()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Pid, ServiceName};

    fn reset(account: &str) -> ActionParams {
        ActionParams::AccountResetPassword {
            username: Username::parse(account).unwrap(),
        }
    }

    #[test]
    fn only_the_accounts_own_user_can_consent_to_a_change_of_it() {
        let action = reset("dsk_u2");
        assert_eq!(
            action.required_approval(Some("dsk_u2")),
            ApprovalPolicy::UserConsent
        );
        for requester in [Some("dsk_u1"), Some("DSK_U2"), Some("dsk_u2 "), None] {
            assert_eq!(
                action.required_approval(requester),
                ApprovalPolicy::SecondAgent,
                "{requester:?}"
            );
        }
        assert!(action.may_consent("dsk_u2"));
        assert!(!action.may_consent("dsk_u1"));
        assert!(!action.may_consent("DSK_U2"));
    }

    #[test]
    fn actions_on_no_account_keep_the_catalogs_approval() {
        let kill = ActionParams::ProcessKill {
            pid: Pid::new(4242).unwrap(),
        };
        let restart = ActionParams::ServiceRestart {
            name: ServiceName::parse("cups").unwrap(),
        };
        for requester in [Some("dsk_u1"), None] {
            assert_eq!(
                kill.required_approval(requester),
                ApprovalPolicy::SecondAgent
            );
            assert_eq!(restart.required_approval(requester), ApprovalPolicy::None);
        }
        assert_eq!(kill.check_approval(None), Ok(()));
        assert_eq!(restart.check_approval(Some(&Approval::NotRequired)), Ok(()));
    }

    #[test]
    fn the_endpoint_accepts_an_account_change_only_from_its_user_or_a_second_agent() {
        let action = reset("dsk_u2");
        let consent = |account: &str| Approval::UserConsent {
            account: account.to_owned(),
        };
        assert_eq!(action.check_approval(Some(&consent("dsk_u2"))), Ok(()));
        assert_eq!(action.check_approval(Some(&Approval::SecondAgent)), Ok(()));
        for refused in [
            Some(consent("dsk_u1")),
            Some(consent("DSK_U2")),
            Some(Approval::NotRequired),
            None,
        ] {
            let error = action.check_approval(refused.as_ref()).unwrap_err();
            assert!(error.contains("dsk_u2"), "{error}");
        }
    }

    #[test]
    fn the_wire_form_names_who_approved() {
        let json = serde_json::to_value(Approval::UserConsent {
            account: "dsk_u1".into(),
        })
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"by": "user_consent", "account": "dsk_u1"})
        );
        assert_eq!(
            serde_json::to_value(Approval::SecondAgent).unwrap(),
            serde_json::json!({"by": "second_agent"})
        );
        assert!(serde_json::from_value::<Approval>(serde_json::json!({"by": "anyone"})).is_err());
    }
}
