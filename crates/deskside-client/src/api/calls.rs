//! The rest of the API the desktop app uses: conversation, ticket changes, devices and
//! remediation. Answers are decoded straight into the app's view types where the shapes
//! agree, so there is one Rust definition per shape on this side of the wire.

use reqwest::Method;
use serde::Serialize;
use serde_json::{Value, json};

use deskside_core::{Priority, Status, Ticket};

use super::{ApiError, Client, json, send};
use crate::views::{
    ActionRequestView, CatalogAction, DeviceSummary, RequesterActionView, SnapshotInfo,
    StaffMember, TimelineEntry,
};

/// `GET /auth/me`, as far as the desktop needs it.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Me {
    #[serde(rename = "staff")]
    Staff { user: StaffMember },
    #[serde(rename = "requester", rename_all = "camelCase")]
    Requester {
        username: String,
        display_name: String,
    },
}

/// `GET /devices/{id}`: the device with its latest findings.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceDetail {
    #[serde(flatten)]
    pub device: DeviceSummary,
    pub findings: Vec<deskside_diagnostics::Finding>,
}

impl Client {
    pub async fn me(&self) -> Result<Me, ApiError> {
        self.get_json("/auth/me", &[]).await
    }

    /// Ends the staff session on the server (the token stops working everywhere).
    pub async fn logout(&self) -> Result<(), ApiError> {
        let request = self.authed(Method::POST, &self.url("/auth/logout", &[]))?;
        send(request).await.map(drop)
    }

    pub async fn timeline(&self, ticket_id: i64) -> Result<Vec<TimelineEntry>, ApiError> {
        self.get_json(&format!("/tickets/{ticket_id}/timeline"), &[])
            .await
    }

    /// A public reply (agents) or the requester's own message.
    pub async fn reply(&self, ticket_id: i64, body: &str) -> Result<Ticket, ApiError> {
        self.post_json(
            &format!("/tickets/{ticket_id}/replies"),
            &json!({ "body": body }),
        )
        .await
    }

    /// An internal note: staff only, never shown to the requester.
    pub async fn note(&self, ticket_id: i64, body: &str) -> Result<Ticket, ApiError> {
        self.post_json(
            &format!("/tickets/{ticket_id}/notes"),
            &json!({ "body": body }),
        )
        .await
    }

    pub async fn assign(
        &self,
        ticket_id: i64,
        assignee_id: Option<i64>,
        version: Option<i64>,
    ) -> Result<Ticket, ApiError> {
        self.post_json(
            &format!("/tickets/{ticket_id}/assign"),
            &json!({ "assigneeId": assignee_id, "version": version }),
        )
        .await
    }

    pub async fn escalate(
        &self,
        ticket_id: i64,
        reason: &str,
        version: Option<i64>,
    ) -> Result<Ticket, ApiError> {
        self.post_json(
            &format!("/tickets/{ticket_id}/escalate"),
            &json!({ "reason": reason, "version": version }),
        )
        .await
    }

    pub async fn change_status(
        &self,
        ticket_id: i64,
        status: Status,
        version: Option<i64>,
    ) -> Result<Ticket, ApiError> {
        self.post_json(
            &format!("/tickets/{ticket_id}/status"),
            &json!({ "status": status, "version": version }),
        )
        .await
    }

    pub async fn override_priority(
        &self,
        ticket_id: i64,
        priority: Option<Priority>,
        reason: &str,
        version: Option<i64>,
    ) -> Result<Ticket, ApiError> {
        self.post_json(
            &format!("/tickets/{ticket_id}/priority"),
            &json!({ "priority": priority, "reason": reason, "version": version }),
        )
        .await
    }

    /// Attaches a file to a ticket. With `idempotency_key`, a retried upload is stored once.
    pub async fn add_attachment(
        &self,
        ticket_id: i64,
        file_name: &str,
        content_type: &str,
        bytes: Vec<u8>,
        idempotency_key: Option<&str>,
    ) -> Result<Value, ApiError> {
        let query = [("fileName", file_name.to_owned())];
        let mut request = self
            .authed(
                Method::POST,
                &self.url(&format!("/tickets/{ticket_id}/attachments"), &query),
            )?
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(bytes);
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        json(send(request).await?).await
    }

    /// The staff directory, for assignment.
    pub async fn staff_members(&self) -> Result<Vec<StaffMember>, ApiError> {
        self.get_json("/agents", &[]).await
    }

    pub async fn device(&self, device_id: &str) -> Result<DeviceDetail, ApiError> {
        self.get_json(&format!("/devices/{device_id}"), &[]).await
    }

    /// Stored snapshots of a device, newest first.
    pub async fn device_snapshots(&self, device_id: &str) -> Result<Vec<SnapshotInfo>, ApiError> {
        self.get_json(&format!("/devices/{device_id}/snapshots"), &[])
            .await
    }

    /// One stored snapshot document, as the agent sent it.
    pub async fn device_snapshot(&self, device_id: &str, id: i64) -> Result<Value, ApiError> {
        self.get_json(&format!("/devices/{device_id}/snapshots/{id}"), &[])
            .await
    }

    pub async fn device_diff(
        &self,
        device_id: &str,
        from: i64,
        to: i64,
    ) -> Result<Value, ApiError> {
        let query = [("from", from.to_string()), ("to", to.to_string())];
        self.get_json(&format!("/devices/{device_id}/diff"), &query)
            .await
    }

    pub async fn action_catalog(&self) -> Result<Vec<CatalogAction>, ApiError> {
        self.get_json("/actions/catalog", &[]).await
    }

    pub async fn ticket_actions(&self, ticket_id: i64) -> Result<Vec<ActionRequestView>, ApiError> {
        self.get_json(&format!("/tickets/{ticket_id}/actions"), &[])
            .await
    }

    /// Asks for a catalog action on the ticket's device; it waits for approval or consent
    /// as the catalog says.
    pub async fn request_action(
        &self,
        ticket_id: i64,
        action: &str,
        params: &Value,
    ) -> Result<ActionRequestView, ApiError> {
        self.post_json(
            &format!("/tickets/{ticket_id}/actions"),
            &json!({ "action": action, "params": params }),
        )
        .await
    }

    /// Requests waiting for a second agent.
    pub async fn approvals_inbox(&self) -> Result<Vec<ActionRequestView>, ApiError> {
        self.get_json(
            "/action-requests",
            &[("state", "awaiting_approval".to_owned())],
        )
        .await
    }

    pub async fn approve_action(&self, request_id: &str) -> Result<ActionRequestView, ApiError> {
        self.post_json(
            &format!("/action-requests/{request_id}/approve"),
            &json!({}),
        )
        .await
    }

    pub async fn deny_action(
        &self,
        request_id: &str,
        reason: &str,
    ) -> Result<ActionRequestView, ApiError> {
        self.post_json(
            &format!("/action-requests/{request_id}/deny"),
            &json!({ "reason": reason }),
        )
        .await
    }

    /// The requests on one of the requester's own tickets, as the server shows them to
    /// the requester.
    pub async fn my_ticket_actions(
        &self,
        ticket_id: i64,
    ) -> Result<Vec<RequesterActionView>, ApiError> {
        self.get_json(&format!("/tickets/{ticket_id}/actions"), &[])
            .await
    }

    /// The device's user answers a consent request on their own ticket.
    pub async fn consent(
        &self,
        request_id: &str,
        granted: bool,
    ) -> Result<RequesterActionView, ApiError> {
        self.post_json(
            &format!("/action-requests/{request_id}/consent"),
            &json!({ "granted": granted }),
        )
        .await
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&'static str, String)],
    ) -> Result<T, ApiError> {
        let request = self.authed(Method::GET, &self.url(path, query))?;
        json(send(request).await?).await
    }

    async fn post_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, ApiError> {
        let request = self.authed(Method::POST, &self.url(path, &[]))?.json(body);
        json(send(request).await?).await
    }
}
