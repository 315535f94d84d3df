import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import { IpcError } from "../../ipc";
import { fakeIpc } from "../../test/fakeIpc";
import { AGENT, TEST_THEME, makeDetail, makeStatus, makeTicket } from "../../test/fixtures";
import { renderWithProviders } from "../../test/render";
import { ConsoleScreen } from "./ConsoleScreen";

function signedIn() {
  fakeIpc.appStatus.mockResolvedValue(makeStatus({ staff: AGENT }));
}

const rows = () => screen.getAllByTestId("queue-row");
const selectedNumber = () => rows().find((row) => row.getAttribute("aria-selected") === "true")?.dataset.ticketNumber;

describe("Console sign-in", () => {
  it.each([
    ["unauthorized", "That username and password don't match"],
    ["rate_limited", "Too many sign-in attempts. Wait a minute"],
    ["offline", "The help desk server can't be reached, so you can't sign in right now"],
  ])("explains a %s failure in words", async (code, words) => {
    fakeIpc.signIn.mockRejectedValueOnce(new IpcError({ code, message: "server words", fields: [] }));
    const { user } = renderWithProviders(<ConsoleScreen theme={TEST_THEME} />, { screen: "console" });
    await user.type(await screen.findByLabelText("Username"), "alex");
    await user.type(screen.getByLabelText("Password"), "wrong");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(words);
    expect(fakeIpc.signIn).toHaveBeenCalledWith("alex", "wrong");
    expect(screen.getByLabelText("Password")).toHaveValue("");
  });

  it("asks for both fields before trying", async () => {
    const { user } = renderWithProviders(<ConsoleScreen theme={TEST_THEME} />);
    await user.click(await screen.findByRole("button", { name: "Sign in" }));
    expect(await screen.findByText("Enter your username.")).toBeInTheDocument();
    expect(screen.getByText("Enter your password.")).toBeInTheDocument();
    expect(fakeIpc.signIn).not.toHaveBeenCalled();
  });
});

describe("Console queue", () => {
  it("renders every page and moves with j / k, opening with Enter", async () => {
    signedIn();
    const first = [1, 2, 3].map((id) => makeTicket({ id, number: 2000 + id, title: `First page ${id}` }));
    const second = [4, 5].map((id) => makeTicket({ id, number: 2000 + id, title: `Second page ${id}` }));
    fakeIpc.queue.mockImplementation(async (query) =>
      query.cursor === "page-2"
        ? { items: second, nextCursor: null, fromCache: false }
        : { items: first, nextCursor: "page-2", fromCache: false },
    );
    fakeIpc.ticketDetail.mockImplementation(async (id) => makeDetail(first.find((ticket) => ticket.id === id)!));
    const { user } = renderWithProviders(<ConsoleScreen theme={TEST_THEME} />);

    await waitFor(() => expect(rows()).toHaveLength(5));
    expect(rows().map((row) => row.dataset.ticketNumber)).toEqual(["2001", "2002", "2003", "2004", "2005"]);
    // "All open" first: new tickets are unassigned and must show up without a click.
    expect(fakeIpc.queue).toHaveBeenCalledWith(
      expect.objectContaining({ status: ["new", "open", "pending_user"], assignee: null, cursor: null }),
    );
    expect(fakeIpc.queue).toHaveBeenCalledWith(expect.objectContaining({ cursor: "page-2" }));
    expect(screen.getByText("5 tickets")).toBeInTheDocument();

    await user.keyboard("j");
    expect(selectedNumber()).toBe("2001");
    await user.keyboard("jj");
    expect(selectedNumber()).toBe("2003");
    await user.keyboard("k");
    expect(selectedNumber()).toBe("2002");
    await user.keyboard("{Enter}");
    await waitFor(() => expect(fakeIpc.ticketDetail).toHaveBeenCalledWith(2));
    expect(await screen.findByRole("heading", { name: "First page 2" })).toBeInTheDocument();
  });

  it("acts on the open ticket with single keys, never carrying a command to the next ticket", async () => {
    signedIn();
    const tickets = [1, 2].map((id) => makeTicket({ id, number: 4000 + id, title: `Ticket ${id}` }));
    fakeIpc.queue.mockResolvedValue({ items: tickets, nextCursor: null, fromCache: false });
    fakeIpc.ticketDetail.mockImplementation(async (id) => makeDetail(tickets.find((ticket) => ticket.id === id)!));
    const { user } = renderWithProviders(<ConsoleScreen theme={TEST_THEME} />);
    await waitFor(() => expect(rows()).toHaveLength(2));

    await user.keyboard("j{Enter}");
    await screen.findByRole("heading", { name: "Ticket 1" });
    await user.keyboard("n");
    await waitFor(() => expect(screen.getByLabelText("Message")).toHaveFocus());
    expect(screen.getByRole("button", { name: "Internal note" })).toHaveAttribute("aria-pressed", "true");
    await user.keyboard("{Escape}");

    await user.keyboard("e");
    expect(await screen.findByRole("dialog", { name: "Escalate to L2" })).toBeInTheDocument();
    await user.keyboard("{Escape}");
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());

    await user.keyboard("j{Enter}");
    await screen.findByRole("heading", { name: "Ticket 2" });
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
  });

  it("ignores shortcuts while typing in the search box", async () => {
    signedIn();
    fakeIpc.queue.mockResolvedValue({ items: [makeTicket({ id: 1, number: 3001 })], nextCursor: null, fromCache: false });
    const { user } = renderWithProviders(<ConsoleScreen theme={TEST_THEME} />);
    await waitFor(() => expect(rows()).toHaveLength(1));
    await user.type(screen.getByRole("searchbox", { name: "Search tickets" }), "jk");
    expect(selectedNumber()).toBeUndefined();
    await waitFor(() => expect(fakeIpc.queue).toHaveBeenCalledWith(expect.objectContaining({ q: "jk" })));
  });

  it("says when it shows cached tickets offline", async () => {
    signedIn();
    fakeIpc.queue.mockResolvedValue({ items: [makeTicket({ id: 1 })], nextCursor: null, fromCache: true });
    renderWithProviders(<ConsoleScreen theme={TEST_THEME} />);
    expect(await screen.findByText(/Offline — showing cached tickets/)).toBeInTheDocument();
  });

  it("switches views from the sidebar and from the command palette", async () => {
    signedIn();
    const { user } = renderWithProviders(<ConsoleScreen theme={TEST_THEME} />);
    await user.click(await screen.findByRole("button", { name: "L2 queue" }));
    await waitFor(() =>
      expect(fakeIpc.queue).toHaveBeenLastCalledWith(expect.objectContaining({ tier: ["L2"], assignee: null })),
    );
    expect(localStorage.getItem("deskside.console.lastView")).toBe("l2");

    fireEvent.keyDown(window, { key: "k", ctrlKey: true });
    const palette = await screen.findByRole("dialog");
    await user.type(within(palette).getByRole("combobox", { name: "Search commands" }), "breaching");
    await user.keyboard("{Enter}");
    await waitFor(() =>
      expect(fakeIpc.queue).toHaveBeenLastCalledWith(expect.objectContaining({ slaState: ["at_risk", "breached"] })),
    );
  });

  it("shows the shortcuts with ?", async () => {
    signedIn();
    const { user } = renderWithProviders(<ConsoleScreen theme={TEST_THEME} />);
    await screen.findByRole("grid", { name: "Ticket queue" });
    await user.keyboard("?");
    expect(await screen.findByRole("dialog", { name: "Keyboard shortcuts" })).toHaveTextContent("Escalate to the next tier");
  });
});
