import { screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import { fakeIpc } from "../../test/fakeIpc";
import {
  makeConsentRequest,
  makeConversation,
  makeEntry,
  makeRequesterAction,
  makeTicket,
} from "../../test/fixtures";
import { renderWithProviders } from "../../test/render";
import { MyTicketsScreen } from "./MyTicketsScreen";

describe("My tickets", () => {
  it("shows the agents' public replies, the person's own messages and status changes", async () => {
    const ticket = makeTicket({ id: 1, number: 1042, title: "Printer jams", status: "pending_user" });
    fakeIpc.myTickets.mockResolvedValue([ticket]);
    fakeIpc.myTicket.mockResolvedValue(
      makeConversation(ticket, {
        timeline: [
          makeEntry({ type: "created" }, { actor: { kind: "requester", name: "Maria Muster", userId: null } }),
          makeEntry({ type: "public_reply", body: "Can you try turning it off and on?" }),
          makeEntry(
            { type: "public_reply", body: "Still jams." },
            { actor: { kind: "requester", name: "Maria Muster", userId: null } },
          ),
          makeEntry({ type: "status_changed", from: "open", to: "pending_user" }),
        ],
      }),
    );
    renderWithProviders(<MyTicketsScreen />, { screen: "my-tickets" });

    const conversation = await screen.findByRole("list", { name: "Conversation" });
    const items = within(conversation).getAllByTestId("timeline-item");
    expect(items.map((item) => item.dataset.kind)).toEqual(["created", "public_reply", "public_reply", "status_changed"]);
    expect(items[1]).toHaveTextContent("Alex Agent");
    expect(items[1]).toHaveTextContent("Help desk");
    expect(items[1]).toHaveTextContent("Can you try turning it off and on?");
    expect(items[2]).toHaveTextContent("You");
    expect(items[3]).toHaveTextContent("The help desk is waiting for your reply");
    expect(screen.getByRole("heading", { name: "Printer jams" })).toBeInTheDocument();
    expect(screen.getAllByText("HD-1042").length).toBeGreaterThan(0);
  });

  it("asks for consent before the help desk runs something, and sends the answer", async () => {
    const ticket = makeTicket({ id: 2, number: 1043 });
    fakeIpc.myTickets.mockResolvedValue([ticket]);
    fakeIpc.myTicket.mockResolvedValue(
      makeConversation(ticket, {
        consentRequests: [makeConsentRequest({ requestId: "req-9", account: "maria", mayConsent: true })],
      }),
    );
    fakeIpc.answerConsent.mockResolvedValueOnce(makeRequesterAction({ id: "req-9", state: "queued" }));
    const { user } = renderWithProviders(<MyTicketsScreen />);

    const card = await screen.findByRole("region", { name: "Permission request" });
    expect(card).toHaveTextContent("The help desk wants to run: Reset the password of your account maria");
    expect(card).toHaveTextContent("Nothing happens unless you allow it.");
    await user.click(within(card).getByRole("button", { name: "Allow" }));
    await waitFor(() => expect(fakeIpc.answerConsent).toHaveBeenCalledWith("req-9", true));
  });

  it("sends a reply and reopens a resolved ticket", async () => {
    const ticket = makeTicket({ id: 3, status: "resolved" });
    fakeIpc.myTickets.mockResolvedValue([ticket]);
    fakeIpc.myTicket.mockResolvedValue(makeConversation(ticket));
    fakeIpc.replyToMyTicket.mockResolvedValue(makeConversation(ticket));
    fakeIpc.reopenMyTicket.mockResolvedValue(makeConversation({ ...ticket, status: "open" }));
    const { user } = renderWithProviders(<MyTicketsScreen />);

    await user.type(await screen.findByLabelText("Your reply"), "It works now, thanks!");
    await user.click(screen.getByRole("button", { name: "Send reply" }));
    await waitFor(() => expect(fakeIpc.replyToMyTicket).toHaveBeenCalledWith(3, "It works now, thanks!"));

    await user.click(screen.getByRole("button", { name: "Reopen" }));
    await waitFor(() => expect(fakeIpc.reopenMyTicket).toHaveBeenCalledWith(3));
    expect(await screen.findByText("In progress")).toBeInTheDocument();
  });

  it("lists unsent tickets first, with the reason and a way to discard", async () => {
    fakeIpc.myTickets.mockResolvedValue([makeTicket({ id: 4, title: "Old one" })]);
    fakeIpc.myTicket.mockResolvedValue(makeConversation(makeTicket({ id: 4 })));
    fakeIpc.outboxEntries.mockResolvedValue([
      { id: 11, title: "Wifi drops", category: "network", delivery: "waiting", createdAt: new Date().toISOString(), attempts: 2, lastError: null },
      {
        id: 12,
        title: "Mail is stuck",
        category: "email",
        delivery: "failed",
        createdAt: new Date().toISOString(),
        attempts: 1,
        lastError: { code: "validation_failed", message: "title must not be empty", fields: [] },
      },
    ]);
    const { user } = renderWithProviders(<MyTicketsScreen />);
    expect(await screen.findByText("Waiting to send")).toBeInTheDocument();
    expect(screen.getByText("Couldn't send: Title must not be empty.")).toBeInTheDocument();
    const list = screen.getByRole("region", { name: "My tickets" });
    const text = list.textContent ?? "";
    expect(text.indexOf("Mail is stuck")).toBeLessThan(text.indexOf("Wifi drops"));
    expect(text.indexOf("Wifi drops")).toBeLessThan(text.indexOf("Old one"));

    await user.click(screen.getAllByRole("button", { name: "Discard" })[0]!);
    await waitFor(() => expect(fakeIpc.discardOutboxEntry).toHaveBeenCalledWith(12));
  });

  it("invites a first ticket when there are none", async () => {
    renderWithProviders(<MyTicketsScreen />);
    expect(await screen.findByText("No tickets yet")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Get help" })).toBeInTheDocument();
  });

  it("shows a temporary password once, hidden until asked", async () => {
    fakeIpc.takeTemporaryPasswords.mockResolvedValueOnce([
      { orderId: "order-1", account: "maria", password: "Tmp-9fQ2-xy", createdAt: new Date().toISOString() },
    ]);
    const { user, unmount } = renderWithProviders(<MyTicketsScreen />);

    const dialog = await screen.findByRole("dialog");
    expect(dialog).toHaveTextContent("Your temporary password for maria");
    expect(dialog).toHaveTextContent("won't be shown again");
    expect(dialog).toHaveTextContent("choose a new password the next time you sign in");
    expect(dialog).not.toHaveTextContent("Tmp-9fQ2-xy");
    await user.click(within(dialog).getByRole("button", { name: "Show" }));
    expect(dialog).toHaveTextContent("Tmp-9fQ2-xy");
    await user.click(within(dialog).getByRole("button", { name: "I've noted it" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());

    // Coming back: the backend has nothing more to hand out, so nothing is shown.
    unmount();
    renderWithProviders(<MyTicketsScreen />);
    await waitFor(() => expect(fakeIpc.takeTemporaryPasswords).toHaveBeenCalledTimes(2));
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(screen.queryByText("Tmp-9fQ2-xy")).not.toBeInTheDocument();
  });
});
