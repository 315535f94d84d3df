import { ShieldAlert, ShieldCheck, UserCheck, Users } from "lucide-react";

import { Badge } from "../../../components/Badge";
import { APPROVAL_LABEL, RISK_TONE, actionStateLabel, actionStateTone } from "../../../lib/labels";

export function RiskBadge({ risk }: { risk: string }) {
  return (
    <Badge tone={RISK_TONE[risk] ?? "neutral"} icon={risk === "high" ? ShieldAlert : ShieldCheck}>
      {risk.charAt(0).toUpperCase() + risk.slice(1)} risk
    </Badge>
  );
}

export function ApprovalBadge({ approval }: { approval: string }) {
  if (approval === "none") return <Badge>Runs right away</Badge>;
  return (
    <Badge tone="accent" icon={approval === "second_agent" ? Users : UserCheck}>
      {APPROVAL_LABEL[approval] ?? approval}
    </Badge>
  );
}

export function ActionStateBadge({ state }: { state: string }) {
  return (
    <Badge tone={actionStateTone(state)} dot>
      {actionStateLabel(state)}
    </Badge>
  );
}
