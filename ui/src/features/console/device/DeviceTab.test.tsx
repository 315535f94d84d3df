import { screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import type { DevicePanel } from "../../../bindings/DevicePanel";
import { fakeIpc } from "../../../test/fakeIpc";
import { makeAction } from "../../../test/fixtures";
import { renderWithProviders } from "../../../test/render";
import { DeviceTab } from "./DeviceTab";

function panel(snapshotId: number, online = true): DevicePanel {
  const at = new Date().toISOString();
  const info = { id: snapshotId, collectedAt: at, receivedAt: at, sizeBytes: 25_000 };
  const background = { ...info, source: "background" as const, ticketId: null, ticketNumber: null };
  return {
    device: {
      id: "device-1",
      hostname: "ws-042",
      online,
      enrolledAt: at,
      lastSeenAt: at,
      agentVersion: "0.0.0",
      platform: "linux",
      os: "Debian GNU/Linux 12",
      latestSnapshot: background,
    },
    hints: [],
    snapshots: [background],
    sections: [{ id: "system", title: "System", data: { hostname: "ws-042" }, withheldBy: null }],
  };
}

/** The user's own attachment on HD-1042 is the latest, after a background snapshot. */
function attachedByTheUser(): DevicePanel {
  const base = panel(9);
  const at = new Date().toISOString();
  const attached = { id: 9, collectedAt: at, receivedAt: at, sizeBytes: 9_000 };
  const fromTicket = { ...attached, source: "ticket" as const, ticketId: 42, ticketNumber: "HD-1042" };
  return {
    ...base,
    device: { ...base.device, latestSnapshot: fromTicket },
    snapshots: [fromTicket, { ...attached, id: 8, source: "background", ticketId: null, ticketNumber: null }],
    sections: [
      { id: "system", title: "System", data: { available: { hostname: "ws-042" } }, withheldBy: null },
      {
        id: "processes",
        title: "Processes",
        data: { unavailable: { reason: "not shared by the user" } },
        withheldBy: "user",
      },
      {
        id: "logs",
        title: "Logs",
        data: { unavailable: { reason: "not shared: this device's policy keeps it out of uploads" } },
        withheldBy: "policy",
      },
    ],
  };
}

describe("the device tab", () => {
  it("asks the computer for fresh diagnostics and waits until they arrive", async () => {
    fakeIpc.devicePanel.mockResolvedValueOnce(panel(7)).mockResolvedValue(panel(8));
    fakeIpc.requestAction.mockResolvedValueOnce(makeAction({ action: "diagnostics.collect", state: "queued" }));
    const { user } = renderWithProviders(<DeviceTab deviceId="device-1" ticketId={42} />);

    await user.click(await screen.findByRole("button", { name: /Refresh now/ }));
    expect(fakeIpc.requestAction).toHaveBeenCalledWith(42, { action: "diagnostics.collect", params: {} });
    expect(await screen.findByText("Asking the computer…")).toBeInTheDocument();
    // The poll brings snapshot 8: the wait ends.
    await waitFor(() => expect(screen.queryByText("Asking the computer…")).not.toBeInTheDocument(), {
      timeout: 3_000,
    });
  });

  it("says where the diagnostics came from and which sections the user did not share", async () => {
    fakeIpc.devicePanel.mockResolvedValue(attachedByTheUser());
    renderWithProviders(<DeviceTab deviceId="device-1" ticketId={42} />);
    expect(await screen.findByTestId("snapshot-source")).toHaveTextContent("Attached to HD-1042 by the user");
    expect(screen.getByRole("button", { name: /Processes/ })).toHaveTextContent("Not shared by the user");
    expect(screen.getByRole("button", { name: /Logs/ })).toHaveTextContent("the device's policy keeps it private");
    expect(screen.getByRole("button", { name: /System/ })).not.toHaveTextContent(/Not s/);
    // Each stored snapshot names its source in the comparison pickers.
    const from = screen.getByLabelText("From snapshot");
    expect(within(from).getByRole("option", { name: /Sent by the computer in the background/ })).toBeInTheDocument();
    expect(within(from).getByRole("option", { name: /Attached to HD-1042 by the user/ })).toBeInTheDocument();
  });

  it("labels the computer's own snapshots as background ones", async () => {
    fakeIpc.devicePanel.mockResolvedValue(panel(7));
    renderWithProviders(<DeviceTab deviceId="device-1" ticketId={42} />);
    expect(await screen.findByTestId("snapshot-source")).toHaveTextContent("Sent by the computer in the background");
  });

  it("cannot ask an offline computer", async () => {
    fakeIpc.devicePanel.mockResolvedValue(panel(7, false));
    renderWithProviders(<DeviceTab deviceId="device-1" ticketId={42} />);
    expect(await screen.findByRole("button", { name: /Refresh now/ })).toBeDisabled();
  });
});
