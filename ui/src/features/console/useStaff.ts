import { useQuery } from "@tanstack/react-query";
import { useCallback, useMemo } from "react";

import type { StaffMember } from "../../bindings/StaffMember";
import { queryKeys } from "../../app/queryClient";
import { staffMembers } from "../../ipc";

/** Staff accounts for assignment pickers and for showing names instead of ids. */
export function useStaff() {
  const query = useQuery({ queryKey: queryKeys.staff, queryFn: staffMembers, staleTime: 5 * 60_000 });
  const byId = useMemo(() => new Map((query.data ?? []).map((member) => [member.id, member])), [query.data]);
  const nameOf = useCallback(
    (id: number | null): string => (id === null ? "Unassigned" : (byId.get(id)?.displayName ?? `Agent #${id}`)),
    [byId],
  );
  const active: StaffMember[] = useMemo(() => (query.data ?? []).filter((member) => member.active), [query.data]);
  return { ...query, byId, nameOf, active };
}
