import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef } from "react";

import { useNavigation } from "../../app/navigation";
import { queryKeys } from "../../app/queryClient";
import { ticketNumber } from "../../lib/format";
import { myTicket, myTickets, notifyDesktop } from "../../ipc";

/**
 * A desktop notification when an agent replies to one of this person's tickets. Watches
 * the ticket list (cheap, from the local cache); only a ticket that changed is opened to
 * see whether the change was a reply from the help desk.
 */
export function useReplyNotifications() {
  const queryClient = useQueryClient();
  const { screen } = useNavigation();
  const screenRef = useRef(screen);
  screenRef.current = screen;
  const tickets = useQuery({ queryKey: queryKeys.myTickets, queryFn: myTickets, refetchInterval: 30_000 });
  const seen = useRef<Map<number, string> | null>(null);

  useEffect(() => {
    if (!tickets.data) return;
    const previous = seen.current;
    seen.current = new Map(tickets.data.map((ticket) => [ticket.id, ticket.updatedAt]));
    // The first list is the baseline: nothing in it is news.
    if (!previous) return;
    for (const ticket of tickets.data) {
      const before = previous.get(ticket.id);
      if (before === undefined || ticket.updatedAt <= before) continue;
      void queryClient
        .fetchQuery({ queryKey: queryKeys.myTicket(ticket.id), queryFn: () => myTicket(ticket.id) })
        .then((conversation) => {
          const reply = [...conversation.timeline]
            .reverse()
            .find((entry) => entry.event.type === "public_reply" && entry.actor.kind === "staff" && entry.at > before);
          if (!reply || reply.event.type !== "public_reply") return;
          // Someone already reading "My tickets" sees it arrive.
          if (document.hasFocus() && screenRef.current === "my-tickets") return;
          const body = reply.event.body.length > 140 ? `${reply.event.body.slice(0, 139)}…` : reply.event.body;
          void notifyDesktop(`${reply.actor.name} replied on ${ticketNumber(ticket.number)}`, body);
        })
        .catch(() => undefined);
    }
  }, [tickets.data, queryClient]);
}
