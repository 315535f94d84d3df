import { screen, waitFor, within } from "@testing-library/react";
import { beforeEach, describe, expect, it } from "vitest";

import { IpcError } from "../../ipc";
import { fakeIpc } from "../../test/fakeIpc";
import { makeDiagnostics, makeTicket } from "../../test/fixtures";
import { renderWithProviders } from "../../test/render";
import { clearDraft } from "./draftStore";
import { GetHelpScreen } from "./GetHelpScreen";

async function fillIn(user: ReturnType<typeof renderWithProviders>["user"], title = "Printer jams") {
  await user.click(screen.getByRole("button", { name: "Printer" }));
  await user.type(screen.getByLabelText("Title"), title);
  await user.type(screen.getByLabelText("Describe it"), "Every page since this morning.");
}

describe("Get help", () => {
  beforeEach(() => clearDraft());

  it("offers every category as a named button", () => {
    renderWithProviders(<GetHelpScreen />);
    for (const name of ["Computer", "Printer", "Network", "Account or password", "Software", "Email", "Other"]) {
      expect(screen.getByRole("button", { name })).toBeInTheDocument();
    }
  });

  it("asks for a title before sending anything", async () => {
    const { user } = renderWithProviders(<GetHelpScreen />);
    await user.click(screen.getByRole("button", { name: "Send" }));
    expect(await screen.findByText("Give your problem a short title.")).toBeInTheDocument();
    expect(screen.getByLabelText("Title")).toHaveAttribute("aria-invalid", "true");
    expect(fakeIpc.submitTicket).not.toHaveBeenCalled();
  });

  it("refuses a title over 200 characters", async () => {
    const { user } = renderWithProviders(<GetHelpScreen />);
    await user.click(screen.getByLabelText("Title"));
    await user.paste("x".repeat(201));
    await user.click(screen.getByRole("button", { name: "Send" }));
    expect(await screen.findByText(/Keep the title to 200 characters or fewer/)).toBeInTheDocument();
    expect(fakeIpc.submitTicket).not.toHaveBeenCalled();
  });

  it("shows the server's field errors under the matching fields", async () => {
    fakeIpc.submitTicket.mockRejectedValueOnce(
      new IpcError({
        code: "validation_failed",
        message: "invalid input",
        fields: [
          { field: "title", message: "must not be only punctuation" },
          { field: "description", message: "is too long" },
        ],
      }),
    );
    const { user } = renderWithProviders(<GetHelpScreen />);
    await fillIn(user, "???");
    await user.click(screen.getByRole("button", { name: "Send" }));
    expect(await screen.findByText("Must not be only punctuation.")).toBeInTheDocument();
    expect(screen.getByText("Is too long.")).toBeInTheDocument();
    expect(screen.getByLabelText("Describe it")).toHaveAttribute("aria-invalid", "true");
  });

  it("confirms with the ticket number once the help desk has it", async () => {
    fakeIpc.submitTicket.mockResolvedValueOnce({
      outboxId: 4,
      delivery: "sent",
      ticket: makeTicket({ id: 42, number: 1042, title: "Printer jams" }),
    });
    const { user } = renderWithProviders(<GetHelpScreen />);
    await fillIn(user);
    await user.click(screen.getByRole("button", { name: "Send" }));
    const confirmation = await screen.findByTestId("submit-confirmation");
    expect(confirmation).toHaveTextContent("HD-1042");
    expect(within(confirmation).getByRole("button", { name: "Open in My tickets" })).toBeInTheDocument();
    expect(fakeIpc.submitTicket).toHaveBeenCalledWith(
      expect.objectContaining({
        category: "printer",
        title: "Printer jams",
        description: "Every page since this morning.",
        urgency: "can_work",
        impact: "one_user",
        contactPreference: "app",
        contactDetail: null,
        screenshotId: null,
      }),
    );
  });

  it("says the ticket waits in the outbox when the help desk is out of reach", async () => {
    fakeIpc.submitTicket.mockResolvedValueOnce({ outboxId: 5, delivery: "waiting", ticket: null });
    const { user } = renderWithProviders(<GetHelpScreen />);
    await fillIn(user);
    await user.click(screen.getByRole("radio", { name: "I can't work" }));
    await user.click(screen.getByRole("radio", { name: "My team" }));
    await user.click(screen.getByRole("button", { name: "Send" }));
    const waiting = await screen.findByTestId("submit-waiting");
    expect(waiting).toHaveTextContent("Saved — waiting to send");
    expect(waiting).toHaveTextContent("sent automatically when the help desk is reachable");
    expect(fakeIpc.submitTicket).toHaveBeenCalledWith(expect.objectContaining({ urgency: "blocked", impact: "team" }));
  });

  it("explains a refusal with the outbox entry's reason", async () => {
    fakeIpc.submitTicket.mockResolvedValueOnce({ outboxId: 9, delivery: "failed", ticket: null });
    fakeIpc.outboxEntries.mockResolvedValueOnce([
      {
        id: 9,
        title: "Printer jams",
        category: "printer",
        delivery: "failed",
        createdAt: new Date().toISOString(),
        attempts: 1,
        lastError: { code: "forbidden", message: "this device is not enrolled", fields: [] },
      },
    ]);
    const { user } = renderWithProviders(<GetHelpScreen />);
    await fillIn(user);
    await user.click(screen.getByRole("button", { name: "Send" }));
    expect(await screen.findByText(/didn't accept this ticket\. This device is not enrolled\./)).toBeInTheDocument();
  });

  it("shows findings and attaches only the sections left switched on", async () => {
    fakeIpc.submitTicket.mockResolvedValueOnce({ outboxId: 6, delivery: "waiting", ticket: null });
    const { user } = renderWithProviders(<GetHelpScreen />);
    expect(await screen.findByText("Disk / is 97 % full")).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: /What we'll attach/ }));
    const system = screen.getByRole("switch", { name: "System" });
    const logs = screen.getByRole("switch", { name: "Recent errors" });
    const printers = screen.getByRole("switch", { name: "Printers" });
    expect(system).toBeChecked();
    expect(logs).not.toBeChecked();
    expect(printers).toBeDisabled();
    expect(screen.getByText("Not available: CUPS is not installed")).toBeInTheDocument();

    await user.click(system);
    await user.click(logs);
    await fillIn(user);
    await user.click(screen.getByRole("button", { name: "Send" }));
    await screen.findByTestId("submit-waiting");
    expect(fakeIpc.submitTicket.mock.calls[0]?.[0].includedSections).toEqual(["hardware", "logs"]);
  });

  it("starts the switches as the person left them last time", async () => {
    const remembered = makeDiagnostics({ rememberedChoices: true });
    // Last time: hardware off, the recent errors on.
    remembered.sections = remembered.sections.map((section) =>
      section.id === "hardware"
        ? { ...section, includedByDefault: false }
        : section.id === "logs"
          ? { ...section, includedByDefault: true }
          : section,
    );
    fakeIpc.collectDiagnostics.mockResolvedValue(remembered);
    fakeIpc.submitTicket.mockResolvedValueOnce({ outboxId: 8, delivery: "waiting", ticket: null });
    const { user } = renderWithProviders(<GetHelpScreen />);
    await screen.findByText("Disk / is 97 % full");

    await user.click(screen.getByRole("button", { name: /What we'll attach/ }));
    expect(screen.getByRole("switch", { name: "Hardware" })).not.toBeChecked();
    expect(screen.getByRole("switch", { name: "Recent errors" })).toBeChecked();
    expect(screen.getByRole("switch", { name: "System" })).toBeChecked();
    expect(screen.getByTestId("sharing-note")).toHaveTextContent("Set as you left them last time");

    await fillIn(user);
    await user.click(screen.getByRole("button", { name: "Send" }));
    await screen.findByTestId("submit-waiting");
    expect(fakeIpc.submitTicket.mock.calls[0]?.[0].includedSections).toEqual(["system", "logs"]);
  });

  it("says a first choice is remembered", async () => {
    const { user } = renderWithProviders(<GetHelpScreen />);
    await screen.findByText("Disk / is 97 % full");
    await user.click(screen.getByRole("button", { name: /What we'll attach/ }));
    expect(screen.getByTestId("sharing-note")).toHaveTextContent("it stays off next time");
  });

  it("attaches a screenshot only if the person keeps it", async () => {
    fakeIpc.submitTicket.mockResolvedValue({ outboxId: 7, delivery: "waiting", ticket: null });
    const { user } = renderWithProviders(<GetHelpScreen />);
    await user.click(screen.getByRole("button", { name: "Add screenshot" }));
    expect(await screen.findByAltText(/Preview of the screenshot/)).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Remove" }));
    expect(fakeIpc.discardScreenshot).toHaveBeenCalledWith("shot-1");
    expect(screen.getByRole("button", { name: "Add screenshot" })).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Add screenshot" }));
    await screen.findByAltText(/Preview of the screenshot/);
    await fillIn(user);
    await user.click(screen.getByRole("button", { name: "Send" }));
    await waitFor(() => expect(fakeIpc.submitTicket).toHaveBeenCalled());
    expect(fakeIpc.submitTicket.mock.calls[0]?.[0].screenshotId).toBe("shot-1");
  });

  it("asks for the email address when the person wants replies by email", async () => {
    const { user } = renderWithProviders(<GetHelpScreen />);
    await fillIn(user);
    await user.selectOptions(screen.getByLabelText("How should we reach you?"), "email");
    await user.click(screen.getByRole("button", { name: "Send" }));
    expect(await screen.findByText("Enter the email address we should write to.")).toBeInTheDocument();
    await user.type(screen.getByLabelText("Email address"), "maria@example.com");
    await user.click(screen.getByRole("button", { name: "Send" }));
    await waitFor(() =>
      expect(fakeIpc.submitTicket).toHaveBeenCalledWith(
        expect.objectContaining({ contactPreference: "email", contactDetail: "maria@example.com" }),
      ),
    );
  });
});
