import { screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import { fakeIpc } from "../../test/fakeIpc";
import { makeConsentRequest, makeRequesterAction } from "../../test/fixtures";
import { renderWithProviders } from "../../test/render";
import { ConsentCard } from "./ConsentCard";

describe("Consent card", () => {
  it("names the account a password reset is for, and lets its own user allow it", async () => {
    fakeIpc.answerConsent.mockResolvedValueOnce(makeRequesterAction({ id: "req-1", state: "queued" }));
    const { user } = renderWithProviders(
      <ConsentCard request={makeConsentRequest({ requestId: "req-1", account: "dsk_u1", mayConsent: true })} ticketId={5} />,
    );

    const card = screen.getByRole("region", { name: "Permission request" });
    expect(card).toHaveTextContent("The help desk wants to run: Reset the password of your account dsk_u1");
    expect(card).not.toHaveTextContent("Reset your account's password");
    expect(card).toHaveTextContent("Nothing happens unless you allow it.");
    await user.click(within(card).getByRole("button", { name: "Allow" }));
    await waitFor(() => expect(fakeIpc.answerConsent).toHaveBeenCalledWith("req-1", true));
  });

  it("for someone else's account, says whose it is and offers no Allow", async () => {
    fakeIpc.answerConsent.mockResolvedValueOnce(makeRequesterAction({ id: "req-2", state: "denied" }));
    const { user } = renderWithProviders(
      <ConsentCard request={makeConsentRequest({ requestId: "req-2", account: "dsk_u2", mayConsent: false })} ticketId={5} />,
    );

    const card = screen.getByRole("region", { name: "Permission request" });
    expect(card).toHaveTextContent("The help desk wants to run: Reset the password of account dsk_u2");
    expect(card).not.toHaveTextContent("your account");
    expect(card).toHaveTextContent("Only the user of account dsk_u2 can agree to this");
    expect(within(card).queryByRole("button", { name: "Allow" })).not.toBeInTheDocument();
    await user.click(within(card).getByRole("button", { name: "Decline" }));
    await waitFor(() => expect(fakeIpc.answerConsent).toHaveBeenCalledWith("req-2", false));
  });

  it("keeps the plain title for actions on no account", () => {
    renderWithProviders(
      <ConsentCard
        request={makeConsentRequest({ action: "print.clear_queue", account: null, mayConsent: true })}
        ticketId={5}
      />,
    );
    expect(screen.getByRole("heading")).toHaveTextContent("The help desk wants to run: Clear a print queue");
    expect(screen.getByRole("button", { name: "Allow" })).toBeInTheDocument();
  });
});
