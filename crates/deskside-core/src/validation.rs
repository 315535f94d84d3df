//! Field-level validation errors, shared by the domain and the HTTP edge so that a user sees
//! the same message whichever layer caught the problem.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One problem with one input field. `field` is the camelCase JSON path (`requester.name`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Every problem found in one input, collected rather than stopping at the first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_owned(),
            message: message.into(),
        });
    }

    /// Checks a required text: trimmed non-empty and at most `max_chars` characters.
    pub fn require_text(&mut self, field: &str, value: &str, max_chars: usize) {
        if value.trim().is_empty() {
            self.add(field, "must not be empty");
        } else {
            self.limit_text(field, value, max_chars);
        }
    }

    /// Checks an optional text's length.
    pub fn limit_text(&mut self, field: &str, value: &str, max_chars: usize) {
        if value.chars().count() > max_chars {
            self.add(field, format!("must be at most {max_chars} characters"));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_result(self) -> Result<(), ValidationErrors> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }
}
