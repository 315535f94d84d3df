import { createContext, useContext, useMemo, useState, type ReactNode } from "react";

export type Screen = "get-help" | "my-tickets" | "console";

interface Navigation {
  screen: Screen;
  go: (screen: Screen) => void;
  /** Opens one ticket in "My tickets" (after submitting, from a notification). */
  openMyTicket: (ticketId: number) => void;
  /** The ticket "My tickets" should show first, if one was asked for. */
  requestedMyTicket: number | null;
  clearRequestedMyTicket: () => void;
}

const NavigationContext = createContext<Navigation | null>(null);

/** The app has three screens and no URLs to speak of: plain state is enough. */
export function NavigationProvider({ children, initial = "get-help" }: { children: ReactNode; initial?: Screen }) {
  const [screen, setScreen] = useState<Screen>(initial);
  const [requestedMyTicket, setRequestedMyTicket] = useState<number | null>(null);
  const value = useMemo<Navigation>(
    () => ({
      screen,
      go: setScreen,
      openMyTicket: (ticketId) => {
        setRequestedMyTicket(ticketId);
        setScreen("my-tickets");
      },
      requestedMyTicket,
      clearRequestedMyTicket: () => setRequestedMyTicket(null),
    }),
    [screen, requestedMyTicket],
  );
  return <NavigationContext.Provider value={value}>{children}</NavigationContext.Provider>;
}

export function useNavigation(): Navigation {
  const navigation = useContext(NavigationContext);
  if (!navigation) throw new Error("useNavigation outside NavigationProvider");
  return navigation;
}
