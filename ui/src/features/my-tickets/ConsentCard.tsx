import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Check, ShieldQuestion, X } from "lucide-react";

import type { ConsentRequest } from "../../bindings/ConsentRequest";
import { queryKeys } from "../../app/queryClient";
import { Button } from "../../components/Button";
import { actionExplanation, consentTitle } from "../../lib/actions";
import { errorMessage } from "../../lib/errors";
import { timeAgo } from "../../lib/format";
import { answerConsent } from "../../ipc";
import styles from "./ConsentCard.module.css";

/**
 * The help desk asks before changing anything on this person's computer. A change to a
 * local account can be allowed only by that account's own user (the server says so in
 * `mayConsent`): for someone else's account the card explains and offers no Allow.
 */
export function ConsentCard({ request, ticketId }: { request: ConsentRequest; ticketId: number }) {
  const queryClient = useQueryClient();
  const answer = useMutation({
    mutationFn: (granted: boolean) => answerConsent(request.requestId, granted),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: queryKeys.myTicket(ticketId) }),
  });
  const explanation = request.mayConsent ? actionExplanation(request.action) : null;
  return (
    <section className={styles.card} aria-label="Permission request">
      <div className={styles.top}>
        <ShieldQuestion className={styles.icon} aria-hidden />
        <div className={styles.text}>
          <h3 className={styles.title}>
            The help desk wants to run: {consentTitle(request.action, request.account, request.mayConsent)}
          </h3>
          {explanation && <p className={styles.explanation}>{explanation}</p>}
          {request.mayConsent ? (
            <p className={styles.meta}>Asked {timeAgo(request.requestedAt)}. Nothing happens unless you allow it.</p>
          ) : (
            <p className={styles.meta}>
              Asked {timeAgo(request.requestedAt)}. Only the user of
              {request.account ? ` account ${request.account}` : " that account"} can agree to this, so it
              isn't yours to allow. You can decline it.
            </p>
          )}
        </div>
      </div>
      {answer.isError && (
        <div className={styles.error} role="alert">
          Your answer wasn't sent. {errorMessage(answer.error)}
        </div>
      )}
      <div className={styles.actions}>
        <Button icon={X} disabled={answer.isPending} onClick={() => answer.mutate(false)}>
          Decline
        </Button>
        {request.mayConsent && (
          <Button
            variant="primary"
            icon={Check}
            loading={answer.isPending && answer.variables === true}
            disabled={answer.isPending}
            onClick={() => answer.mutate(true)}
          >
            Allow
          </Button>
        )}
      </div>
    </section>
  );
}
