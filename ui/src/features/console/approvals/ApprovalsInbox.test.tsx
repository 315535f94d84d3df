import { screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";

import { fakeIpc } from "../../../test/fakeIpc";
import { makeAction } from "../../../test/fixtures";
import { renderWithProviders } from "../../../test/render";
import { ApprovalsInbox } from "./ApprovalsInbox";

describe("Approvals inbox", () => {
  it("approves a waiting request", async () => {
    fakeIpc.approvalsInbox.mockResolvedValue([makeAction({ id: "req-1", action: "process.kill", params: { pid: 4242 } })]);
    fakeIpc.decideAction.mockResolvedValueOnce(makeAction({ id: "req-1", state: "queued" }));
    const { user } = renderWithProviders(<ApprovalsInbox onOpenTicket={vi.fn()} />);
    const request = await screen.findByTestId("action-request");
    expect(request).toHaveTextContent("End a process");
    expect(request).toHaveTextContent("4242");
    expect(request).toHaveTextContent("Sam Second (L2)");
    await user.click(within(request).getByRole("button", { name: "Approve" }));
    await waitFor(() => expect(fakeIpc.decideAction).toHaveBeenCalledWith("req-1", true, null));
  });

  it("denies only with a reason", async () => {
    fakeIpc.approvalsInbox.mockResolvedValue([makeAction({ id: "req-2" })]);
    fakeIpc.decideAction.mockResolvedValueOnce(makeAction({ id: "req-2", state: "denied" }));
    const { user } = renderWithProviders(<ApprovalsInbox onOpenTicket={vi.fn()} />);
    await user.click(within(await screen.findByTestId("action-request")).getByRole("button", { name: "Deny" }));
    const dialog = await screen.findByRole("dialog");
    await user.click(within(dialog).getByRole("button", { name: "Deny" }));
    expect(within(dialog).getByText(/Say why/)).toBeInTheDocument();
    expect(fakeIpc.decideAction).not.toHaveBeenCalled();
    await user.type(within(dialog).getByLabelText("Reason"), "Use service.restart instead.");
    await user.click(within(dialog).getByRole("button", { name: "Deny" }));
    await waitFor(() => expect(fakeIpc.decideAction).toHaveBeenCalledWith("req-2", false, "Use service.restart instead."));
  });

  it("says when nothing is waiting", async () => {
    renderWithProviders(<ApprovalsInbox onOpenTicket={vi.fn()} />);
    expect(await screen.findByText("Nothing waiting for you")).toBeInTheDocument();
  });
});
