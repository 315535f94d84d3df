import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { render } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import type { AppStatus } from "../bindings/AppStatus";
import { fakeIpc } from "../test/fakeIpc";
import { AGENT, makeStatus } from "../test/fixtures";
import { testQueryClient } from "../test/render";
import { App } from "./App";

function renderApp() {
  const user = userEvent.setup();
  render(<App queryClient={testQueryClient()} />);
  return { user };
}

describe("App shell", () => {
  it("shows the connection, last sync and outbox in the status bar", async () => {
    fakeIpc.appStatus.mockResolvedValue(makeStatus({ connection: "offline", outboxWaiting: 1, outboxFailed: 0 }));
    renderApp();
    const bar = await screen.findByTestId("status-bar");
    await waitFor(() => expect(bar).toHaveAttribute("data-connection", "offline"));
    expect(bar).toHaveTextContent("Offline");
    expect(bar).toHaveTextContent("Last synced 2 min ago");
    expect(bar).toHaveTextContent("1 ticket waiting to send");
  });

  it("follows status pushed by the backend", async () => {
    let push: ((status: AppStatus) => void) | undefined;
    fakeIpc.onStatusChanged.mockImplementation(async (handler) => {
      push = handler;
      return () => undefined;
    });
    fakeIpc.appStatus.mockResolvedValue(makeStatus({ connection: "offline", outboxWaiting: 2 }));
    renderApp();
    const bar = await screen.findByTestId("status-bar");
    await waitFor(() => expect(bar).toHaveTextContent("2 tickets waiting to send"));
    await waitFor(() => expect(push).toBeDefined());
    act(() => push!(makeStatus({ connection: "online", outboxWaiting: 0 })));
    await waitFor(() => expect(bar).toHaveAttribute("data-connection", "online"));
    expect(bar).not.toHaveTextContent("waiting to send");
  });

  it("moves between the three screens", async () => {
    const { user } = renderApp();
    const nav = screen.getByRole("navigation", { name: "Main" });
    expect(within(nav).getByRole("button", { name: "Get help" })).toHaveAttribute("aria-current", "page");
    expect(await screen.findByRole("heading", { name: /what's wrong\?/ })).toBeInTheDocument();

    await user.click(within(nav).getByRole("button", { name: "My tickets" }));
    expect(await screen.findByRole("heading", { name: "My tickets" })).toBeInTheDocument();

    await user.click(within(nav).getByRole("button", { name: "Console" }));
    expect(await screen.findByRole("heading", { name: "Agent sign-in" })).toBeInTheDocument();
    expect(screen.getByLabelText("Username")).toBeInTheDocument();
  });

  it("signs an agent out from the top bar", async () => {
    fakeIpc.appStatus.mockResolvedValue(makeStatus({ staff: AGENT }));
    fakeIpc.signOut.mockImplementation(async () => {
      fakeIpc.appStatus.mockResolvedValue(makeStatus({ staff: null }));
      return makeStatus({ staff: null });
    });
    const { user } = renderApp();
    await user.click(await screen.findByRole("button", { name: "Sign out" }));
    await waitFor(() => expect(fakeIpc.signOut).toHaveBeenCalled());
    await waitFor(() => expect(screen.queryByRole("button", { name: "Sign out" })).not.toBeInTheDocument());
  });

  it("remembers a manual theme choice", async () => {
    const { user } = renderApp();
    await user.click(screen.getByRole("button", { name: "Switch to dark theme" }));
    expect(document.documentElement.dataset.theme).toBe("dark");
    expect(localStorage.getItem("deskside.theme")).toBe("dark");
    await user.click(screen.getByRole("button", { name: "Switch to light theme" }));
    expect(document.documentElement.dataset.theme).toBe("light");
  });

  it("explains why the server address can't be changed when it is locked", async () => {
    fakeIpc.appStatus.mockResolvedValue(makeStatus({ serverUrlLocked: true }));
    const { user } = renderApp();
    await screen.findByText("https://helpdesk.example.com");
    await user.click(screen.getByRole("button", { name: "Settings" }));
    const dialog = await screen.findByRole("dialog", { name: "Settings" });
    expect(within(dialog).getByLabelText("Server address")).toBeDisabled();
    expect(dialog).toHaveTextContent("Set by your IT department");
  });
});
