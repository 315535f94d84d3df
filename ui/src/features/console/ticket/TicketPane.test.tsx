import { screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import type { TicketDetail } from "../../../bindings/TicketDetail";
import { queryKeys } from "../../../app/queryClient";
import { IpcError } from "../../../ipc";
import { fakeIpc } from "../../../test/fakeIpc";
import { AGENT, makeAction, makeDetail, makeEntry, makeStatus, makeTicket } from "../../../test/fixtures";
import { renderWithProviders } from "../../../test/render";
import { TicketPane } from "./TicketPane";

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const ticket = makeTicket({ id: 1, number: 1042, title: "Printer jams", version: 3 });
const withConversation = makeDetail(ticket, {
  timeline: [
    makeEntry({ type: "created" }, { actor: { kind: "requester", name: "Maria Muster", userId: null } }),
    makeEntry({ type: "public_reply", body: "We're on it." }),
    makeEntry({ type: "internal_note", body: "Toner looks empty, ordered a new one." }),
  ],
});

function renderPane(detail: TicketDetail = withConversation) {
  fakeIpc.appStatus.mockResolvedValue(makeStatus({ staff: AGENT }));
  fakeIpc.ticketDetail.mockResolvedValue(detail);
  return renderWithProviders(<TicketPane ticketId={detail.ticket.id} me={AGENT} command={null} />, { screen: "console" });
}

describe("Ticket view", () => {
  it("keeps internal notes unmistakably apart from public replies", async () => {
    renderPane();
    const timeline = await screen.findByRole("list", { name: "Timeline" });
    const reply = within(timeline).getByRole("listitem", { name: "Reply by Alex Agent" });
    const note = within(timeline).getByRole("listitem", { name: "Internal note by Alex Agent" });
    expect(reply).toHaveAttribute("data-kind", "public_reply");
    expect(reply).toHaveTextContent("Public reply");
    expect(reply).not.toHaveTextContent("Internal note");
    expect(note).toHaveAttribute("data-kind", "internal_note");
    expect(note).toHaveTextContent("Internal note");
    expect(note).toHaveClass("note");
    expect(reply).not.toHaveClass("note");
  });

  it("sends a note optimistically and keeps it once the server agrees", async () => {
    const answer = deferred<TicketDetail>();
    fakeIpc.changeTicket.mockReturnValueOnce(answer.promise);
    const { user } = renderPane();

    await user.click(await screen.findByRole("button", { name: "Internal note" }));
    expect(screen.getByRole("button", { name: "Internal note" })).toHaveAttribute("aria-pressed", "true");
    await user.type(screen.getByLabelText("Message"), "Called the vendor.");
    await user.click(screen.getByRole("button", { name: "Add note" }));

    expect(fakeIpc.changeTicket).toHaveBeenCalledWith(1, 3, { kind: "note", body: "Called the vendor." });
    const timeline = screen.getByRole("list", { name: "Timeline" });
    const pending = await within(timeline).findByText("Called the vendor.");
    expect(pending.closest("li")).toHaveTextContent("Sending…");

    const saved = makeDetail(
      { ...ticket, version: 4 },
      { timeline: [...withConversation.timeline, makeEntry({ type: "internal_note", body: "Called the vendor." })] },
    );
    answer.resolve(saved);
    await waitFor(() =>
      expect(within(timeline).getByText("Called the vendor.").closest("li")).not.toHaveTextContent("Sending…"),
    );
    expect(screen.getByLabelText("Message")).toHaveValue("");
  });

  it("replies with the Reply toggle and its own button", async () => {
    fakeIpc.changeTicket.mockResolvedValueOnce(withConversation);
    const { user } = renderPane();
    expect(await screen.findByRole("button", { name: "Reply" })).toHaveAttribute("aria-pressed", "true");
    await user.type(screen.getByLabelText("Message"), "Please try again now.");
    await user.click(screen.getByRole("button", { name: "Send reply" }));
    await waitFor(() =>
      expect(fakeIpc.changeTicket).toHaveBeenCalledWith(1, 3, { kind: "reply", body: "Please try again now." }),
    );
  });

  it("on a conflict, says so, shows the latest version and keeps what was typed", async () => {
    const latest = makeDetail({ ...ticket, version: 4, title: "Printer jams (floor 2)" });
    fakeIpc.changeTicket.mockRejectedValueOnce(
      new IpcError({ code: "conflict", message: "version 3 is stale", fields: [] }),
    );
    const { user, queryClient } = renderPane();
    await user.type(await screen.findByLabelText("Message"), "On my way.");
    fakeIpc.ticketDetail.mockResolvedValue(latest);
    await user.click(screen.getByRole("button", { name: "Send reply" }));

    expect(await screen.findByRole("alert")).toHaveTextContent(
      "Someone else changed this ticket — here is the latest version",
    );
    expect(await screen.findByRole("heading", { name: "Printer jams (floor 2)" })).toBeInTheDocument();
    expect(queryClient.getQueryData<TicketDetail>(queryKeys.ticket(1))?.ticket.version).toBe(4);
    expect(screen.getByLabelText("Message")).toHaveValue("On my way.");
    expect(screen.queryByText("Sending…")).not.toBeInTheDocument();
  });

  it("rolls back an optimistic status change the server refuses", async () => {
    fakeIpc.changeTicket.mockRejectedValueOnce(
      new IpcError({ code: "forbidden", message: "you may not move a ticket from open to closed", fields: [] }),
    );
    const { user } = renderPane();
    await user.click(await screen.findByRole("button", { name: "Status" }));
    await user.click(await screen.findByRole("menuitem", { name: "Resolved" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("You don't have permission to do that.");
    const header = screen.getByRole("banner");
    expect(within(header).getByText("Open")).toBeInTheDocument();
  });

  it("escalates only with a reason", async () => {
    fakeIpc.changeTicket.mockResolvedValueOnce(makeDetail({ ...ticket, tier: "L2", version: 4 }));
    const { user } = renderPane();
    await user.click(await screen.findByRole("button", { name: "Escalate" }));
    const dialog = await screen.findByRole("dialog", { name: "Escalate to L2" });
    await user.click(within(dialog).getByRole("button", { name: "Escalate to L2" }));
    expect(within(dialog).getByText("Say why — the next person relies on it.")).toBeInTheDocument();
    expect(fakeIpc.changeTicket).not.toHaveBeenCalled();
    await user.type(within(dialog).getByLabelText("Reason"), "Needs domain admin rights.");
    await user.click(within(dialog).getByRole("button", { name: "Escalate to L2" }));
    await waitFor(() =>
      expect(fakeIpc.changeTicket).toHaveBeenCalledWith(1, 3, { kind: "escalate", reason: "Needs domain admin rights." }),
    );
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
  });

  it("assigns to me from the Assign menu", async () => {
    fakeIpc.changeTicket.mockResolvedValueOnce(makeDetail({ ...ticket, assigneeId: AGENT.userId, version: 4 }));
    const { user } = renderPane();
    await user.click(await screen.findByRole("button", { name: "Assign" }));
    await user.click(await screen.findByRole("menuitem", { name: /Assign to me/ }));
    await waitFor(() => expect(fakeIpc.changeTicket).toHaveBeenCalledWith(1, 3, { kind: "assign", assigneeId: 7 }));
  });

  it("explains a missing device on the Device tab", async () => {
    const { user } = renderPane(makeDetail({ ...ticket, deviceId: null }));
    await user.click(await screen.findByRole("tab", { name: "Device" }));
    expect(
      await screen.findByText(/This ticket wasn't filed from an enrolled computer, so there are no diagnostics\./),
    ).toBeInTheDocument();
  });

  it("requests a catalog action with its parameters and lists the ticket's actions", async () => {
    fakeIpc.actionCatalog.mockResolvedValue([
      {
        id: "service.restart",
        title: "Restart a service",
        description: "Restarts one system service by name.",
        risk: "medium",
        platforms: ["linux"],
        approval: "none",
        verification: "The service is running again.",
        params: [
          {
            name: "name",
            type: "string",
            description: "Service name, e.g. cups",
            pattern: "[A-Za-z0-9@._-]+",
            maxLength: 64,
            minimum: null,
            maximum: null,
          },
        ],
      },
    ]);
    fakeIpc.requestAction.mockResolvedValueOnce(makeAction({ action: "service.restart", state: "queued" }));
    const { user } = renderPane(
      makeDetail(ticket, { actions: [makeAction({ id: "a-1", action: "process.kill", state: "awaiting_approval" })] }),
    );
    await user.click(await screen.findByRole("tab", { name: "Actions" }));
    expect(await screen.findByText("Waiting for a second agent")).toBeInTheDocument();

    await user.click(await screen.findByRole("button", { name: "Restart a service" }));
    await user.type(screen.getByLabelText("name"), "cups; rm -rf /");
    await user.click(screen.getByRole("button", { name: "Request action" }));
    expect(await screen.findByText(/That value isn't allowed here/)).toBeInTheDocument();
    expect(fakeIpc.requestAction).not.toHaveBeenCalled();

    await user.clear(screen.getByLabelText("name"));
    await user.type(screen.getByLabelText("name"), "cups");
    await user.click(screen.getByRole("button", { name: "Request action" }));
    await waitFor(() =>
      expect(fakeIpc.requestAction).toHaveBeenCalledWith(1, { action: "service.restart", params: { name: "cups" } }),
    );
    expect(await screen.findByText("Queued.")).toBeInTheDocument();
  });
});
