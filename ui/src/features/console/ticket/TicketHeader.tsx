import { ArrowUpRight, ChevronDown, CircleDot, Flag, UserMinus, UserRound, UserRoundCheck } from "lucide-react";

import type { StaffProfile } from "../../../bindings/StaffProfile";
import type { Status } from "../../../bindings/Status";
import type { Ticket } from "../../../bindings/Ticket";
import type { TicketChange } from "../../../bindings/TicketChange";
import { Badge } from "../../../components/Badge";
import { Button } from "../../../components/Button";
import { Menu, MenuItem, MenuLabel, MenuSeparator } from "../../../components/Menu";
import { ticketNumber } from "../../../lib/format";
import { STATUSES, STATUS_LABEL, statusTone } from "../../../lib/labels";
import { staffMayMove } from "../../../lib/statusMoves";
import { PriorityBadge } from "../queue/PriorityBadge";
import { SlaBadge } from "../queue/SlaBadge";
import { useStaff } from "../useStaff";
import styles from "./TicketHeader.module.css";

export function TicketHeader({
  ticket,
  me,
  now,
  change,
  assignOpen,
  onAssignOpenChange,
  onEscalate,
  onPriority,
}: {
  ticket: Ticket;
  me: StaffProfile | null;
  now: Date;
  change: (change: TicketChange) => void;
  assignOpen: boolean;
  onAssignOpenChange: (open: boolean) => void;
  onEscalate: () => void;
  onPriority: () => void;
}) {
  const staff = useStaff();
  const active = ticket.status === "new" || ticket.status === "open" || ticket.status === "pending_user";
  const setStatus = (status: Status) => change({ kind: "status", status });

  return (
    <header className={styles.header}>
      <div className={styles.top}>
        <div className={styles.titleBlock}>
          <span className={styles.number}>{ticketNumber(ticket.number)}</span>
          <h2 className={styles.title} title={ticket.title}>
            {ticket.title}
          </h2>
        </div>
        <div className={styles.actions}>
          <Menu
            label="Assign"
            align="end"
            open={assignOpen}
            onOpenChange={onAssignOpenChange}
            trigger={
              <Button size="sm" icon={UserRoundCheck} disabled={!active} trailing={<ChevronDown size={13} aria-hidden />}>
                Assign
              </Button>
            }
          >
            {me && (
              <MenuItem
                icon={UserRound}
                checked={ticket.assigneeId === me.userId}
                onSelect={() => change({ kind: "assign", assigneeId: me.userId })}
                hint="Me"
              >
                Assign to me
              </MenuItem>
            )}
            <MenuItem
              icon={UserMinus}
              disabled={ticket.assigneeId === null}
              onSelect={() => change({ kind: "assign", assigneeId: null })}
            >
              Unassign
            </MenuItem>
            <MenuSeparator />
            <MenuLabel>{staff.isPending ? "Loading agents…" : "Agents"}</MenuLabel>
            {staff.active
              .filter((member) => member.id !== me?.userId)
              .map((member) => (
                <MenuItem
                  key={member.id}
                  checked={ticket.assigneeId === member.id}
                  onSelect={() => change({ kind: "assign", assigneeId: member.id })}
                  hint={member.tier ?? member.role}
                >
                  {member.displayName}
                </MenuItem>
              ))}
          </Menu>
          <Button size="sm" icon={ArrowUpRight} onClick={onEscalate} disabled={!active}>
            Escalate
          </Button>
          <Menu
            label="Status"
            align="end"
            trigger={
              <Button size="sm" icon={CircleDot} trailing={<ChevronDown size={13} aria-hidden />}>
                Status
              </Button>
            }
          >
            {STATUSES.map((status) => {
              const allowed = staffMayMove(ticket.status, status, me?.role ?? null);
              return (
                <MenuItem
                  key={status}
                  checked={ticket.status === status}
                  disabled={!allowed && ticket.status !== status}
                  onSelect={() => allowed && setStatus(status)}
                  hint={!allowed && ticket.status !== status ? "Not from here" : undefined}
                >
                  {STATUS_LABEL[status]}
                </MenuItem>
              );
            })}
          </Menu>
          <Button size="sm" icon={Flag} onClick={onPriority}>
            Priority
          </Button>
        </div>
      </div>
      <div className={styles.badges}>
        <PriorityBadge priority={ticket.priority} />
        <Badge tone={statusTone(ticket.status)} dot>
          {STATUS_LABEL[ticket.status]}
        </Badge>
        <Badge shape="square">{ticket.tier}</Badge>
        <SlaBadge sla={ticket.sla} status={ticket.status} now={now} />
        <span className={styles.sep} aria-hidden>
          ·
        </span>
        <span>{ticket.requester.name}</span>
        <span className={styles.sep} aria-hidden>
          ·
        </span>
        <span>{ticket.assigneeId === null ? "Unassigned" : `Assigned to ${staff.nameOf(ticket.assigneeId)}`}</span>
      </div>
    </header>
  );
}
