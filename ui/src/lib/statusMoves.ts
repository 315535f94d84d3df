// Which status moves a staff member may make: mirrors deskside-core `Status::may_move`, so
// the menu offers only what the server will accept (the server still decides).
import type { Role } from "../bindings/Role";
import type { Status } from "../bindings/Status";

export function staffMayMove(from: Status, to: Status, role: Role | null): boolean {
  const supervisor = role === "supervisor" || role === "admin";
  if (from === to) return false;
  const active = from === "new" || from === "open" || from === "pending_user";
  if (from === "new" && to === "open") return true;
  if ((from === "new" || from === "open") && to === "pending_user") return true;
  if (from === "pending_user" && to === "open") return true;
  if (active && to === "resolved") return true;
  if (from === "resolved" && (to === "open" || to === "closed")) return true;
  if ((active && to === "closed") || (from === "closed" && to === "open")) return supervisor;
  return false;
}
