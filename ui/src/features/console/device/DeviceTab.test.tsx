import { screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import type { DevicePanel } from "../../../bindings/DevicePanel";
import { fakeIpc } from "../../../test/fakeIpc";
import { makeAction } from "../../../test/fixtures";
import { renderWithProviders } from "../../../test/render";
import { DeviceTab } from "./DeviceTab";

function panel(snapshotId: number, online = true): DevicePanel {
  const at = new Date().toISOString();
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
      latestSnapshot: { id: snapshotId, collectedAt: at, receivedAt: at, sizeBytes: 25_000 },
    },
    hints: [],
    snapshots: [{ id: snapshotId, collectedAt: at, receivedAt: at, sizeBytes: 25_000 }],
    sections: [{ id: "system", title: "System", data: { hostname: "ws-042" } }],
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

  it("cannot ask an offline computer", async () => {
    fakeIpc.devicePanel.mockResolvedValue(panel(7, false));
    renderWithProviders(<DeviceTab deviceId="device-1" ticketId={42} />);
    expect(await screen.findByRole("button", { name: /Refresh now/ })).toBeDisabled();
  });
});
