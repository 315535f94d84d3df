import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ChevronRight, EyeOff, GitCompare, Laptop, MonitorOff, RefreshCw } from "lucide-react";
import { useEffect, useId, useState } from "react";

import type { SnapshotInfo } from "../../../bindings/SnapshotInfo";
import type { SnapshotSection } from "../../../bindings/SnapshotSection";
import { queryKeys } from "../../../app/queryClient";
import { Badge } from "../../../components/Badge";
import { Button } from "../../../components/Button";
import { Callout } from "../../../components/Callout";
import { cx } from "../../../components/cx";
import { EmptyState } from "../../../components/EmptyState";
import { ErrorState } from "../../../components/ErrorState";
import { Field } from "../../../components/Field";
import { Select } from "../../../components/Input";
import { Skeleton, SkeletonLines } from "../../../components/Skeleton";
import { formatDateTime, timeAgo } from "../../../lib/format";
import { HINT_TONE, snapshotSourceLabel, WITHHELD_LABEL } from "../../../lib/labels";
import { useNow } from "../../../lib/useNow";
import { deviceDiff, devicePanel, requestAction } from "../../../ipc";
import { errorMessage } from "../../../lib/errors";
import styles from "./DeviceTab.module.css";
import { JsonValue, type Json } from "./JsonTable";
import { SnapshotDiffView } from "./SnapshotDiffView";

function SectionPanel({ section, initiallyOpen }: { section: SnapshotSection; initiallyOpen: boolean }) {
  const [open, setOpen] = useState(initiallyOpen);
  const bodyId = useId();
  return (
    <div className={styles.panel}>
      <button
        type="button"
        className={styles.panelToggle}
        aria-expanded={open}
        aria-controls={bodyId}
        onClick={() => setOpen((value) => !value)}
      >
        <ChevronRight className={styles.chevron} aria-hidden />
        {section.title}
        {section.withheldBy && (
          <Badge tone={section.withheldBy === "user" ? "info" : "neutral"} icon={EyeOff} className={styles.withheld}>
            {WITHHELD_LABEL[section.withheldBy]}
          </Badge>
        )}
      </button>
      {open && (
        <div id={bodyId} className={styles.panelBody}>
          <JsonValue value={section.data as Json} name={section.id} />
        </div>
      )}
    </div>
  );
}

function Compare({ deviceId, snapshots }: { deviceId: string; snapshots: SnapshotInfo[] }) {
  // Snapshots come newest first: compare the previous one with the latest by default.
  const [from, setFrom] = useState<number | null>(snapshots[1]?.id ?? null);
  const [to, setTo] = useState<number | null>(snapshots[0]?.id ?? null);
  const [asked, setAsked] = useState<{ from: number; to: number } | null>(null);
  useEffect(() => {
    setFrom(snapshots[1]?.id ?? null);
    setTo(snapshots[0]?.id ?? null);
  }, [snapshots]);
  const diff = useQuery({
    queryKey: asked ? queryKeys.deviceDiff(deviceId, asked.from, asked.to) : ["device-diff", "idle"],
    queryFn: () => deviceDiff(deviceId, asked!.from, asked!.to),
    enabled: asked !== null,
    staleTime: Number.POSITIVE_INFINITY,
  });

  if (snapshots.length < 2) {
    return (
      <p className={styles.facts}>
        Only one snapshot is stored so far. Once the computer reports again, you can compare what changed.
      </p>
    );
  }
  const option = (snapshot: SnapshotInfo, index: number) => (
    <option key={snapshot.id} value={snapshot.id}>
      {formatDateTime(snapshot.collectedAt)}
      {index === 0 ? " (latest)" : ""} · {snapshotSourceLabel(snapshot)}
    </option>
  );
  return (
    <section className={styles.compare} aria-label="Compare snapshots">
      <div className={styles.compareRow}>
        <Field label="From snapshot">
          <Select value={from ?? ""} onChange={(event) => setFrom(Number(event.target.value))}>
            {snapshots.map(option)}
          </Select>
        </Field>
        <Field label="To snapshot">
          <Select value={to ?? ""} onChange={(event) => setTo(Number(event.target.value))}>
            {snapshots.map(option)}
          </Select>
        </Field>
        <Button
          icon={GitCompare}
          disabled={from === null || to === null || from === to}
          loading={diff.isFetching}
          onClick={() => from !== null && to !== null && setAsked({ from, to })}
        >
          Compare
        </Button>
      </div>
      {diff.isError && <ErrorState compact title="The comparison failed" error={diff.error} onRetry={() => void diff.refetch()} />}
      {diff.isSuccess && <SnapshotDiffView diff={diff.data} />}
    </section>
  );
}

/** How long "Refresh now" waits for the computer to send a fresh snapshot. */
const LIVE_REFRESH_TIMEOUT_MS = 60_000;

export function DeviceTab({ deviceId, ticketId }: { deviceId: string | null; ticketId: number }) {
  const now = useNow(30_000);
  const queryClient = useQueryClient();
  // Set while waiting for a snapshot newer than this one (0: none before).
  const [awaitingAfter, setAwaitingAfter] = useState<{ snapshotId: number; since: number } | null>(null);
  const panel = useQuery({
    queryKey: deviceId ? queryKeys.device(deviceId) : ["device", "none"],
    queryFn: () => devicePanel(deviceId!),
    enabled: deviceId !== null,
    // Poll while a live refresh is on its way; otherwise a slow background refresh.
    refetchInterval: awaitingAfter ? 1_000 : 60_000,
  });
  // A live refresh is the catalog's "Collect diagnostics" run on the computer right now.
  const liveRefresh = useMutation({
    mutationFn: () => requestAction(ticketId, { action: "diagnostics.collect", params: {} }),
    onSuccess: () => {
      setAwaitingAfter({ snapshotId: panel.data?.device.latestSnapshot?.id ?? 0, since: Date.now() });
      void queryClient.invalidateQueries({ queryKey: queryKeys.ticket(ticketId) });
    },
  });
  const latestId = panel.data?.device.latestSnapshot?.id ?? 0;
  useEffect(() => {
    if (!awaitingAfter) return;
    if (latestId > awaitingAfter.snapshotId || Date.now() - awaitingAfter.since > LIVE_REFRESH_TIMEOUT_MS) {
      setAwaitingAfter(null);
    }
  }, [awaitingAfter, latestId, panel.dataUpdatedAt]);

  if (!deviceId) {
    return (
      <EmptyState icon={MonitorOff} title="No device on this ticket">
        This ticket wasn't filed from an enrolled computer, so there are no diagnostics. Ask the requester to use
        Get help on their computer next time.
      </EmptyState>
    );
  }
  if (panel.isPending) {
    return (
      <div className={styles.content} aria-busy="true" aria-label="Loading the device">
        <Skeleton width={240} height={20} />
        <Skeleton width={360} height={12} />
        <SkeletonLines lines={4} />
      </div>
    );
  }
  if (panel.isError) {
    return <ErrorState title="The device couldn't be loaded" error={panel.error} onRetry={() => void panel.refetch()} />;
  }

  const { device, hints, sections, snapshots } = panel.data;
  return (
    <div className={styles.scroll}>
      <div className={styles.content}>
        <div className={styles.deviceHeader}>
          <div className={styles.deviceIcon}>
            <Laptop aria-hidden />
          </div>
          <div className={styles.deviceText}>
            <h3 className={styles.hostname}>
              {device.hostname}
              <span className={cx(styles.dot, device.online && styles.online)} aria-hidden />
            </h3>
            <div className={styles.facts}>
              <span>
                {device.online
                  ? "Online now"
                  : device.lastSeenAt
                    ? `Offline · last seen ${timeAgo(device.lastSeenAt, now)}`
                    : "Offline · never seen"}
              </span>
              {device.os && <span>{device.os}</span>}
              {device.agentVersion && <span>Agent {device.agentVersion}</span>}
              {device.latestSnapshot && (
                <span title={formatDateTime(device.latestSnapshot.collectedAt)}>
                  Diagnostics from {timeAgo(device.latestSnapshot.collectedAt, now)}
                </span>
              )}
            </div>
          </div>
          <Button
            icon={RefreshCw}
            loading={liveRefresh.isPending || awaitingAfter !== null}
            disabled={!device.online}
            title={device.online ? "Ask the computer for fresh diagnostics now" : "The computer is offline"}
            onClick={() => liveRefresh.mutate()}
          >
            Refresh now
          </Button>
        </div>
        {awaitingAfter && (
          <Callout tone="info" role="status" title="Asking the computer…">
            Fresh diagnostics appear here as soon as it answers (usually within a few seconds).
          </Callout>
        )}
        {liveRefresh.isError && (
          <Callout tone="danger" role="alert" title="Couldn't ask the computer">
            {errorMessage(liveRefresh.error)}
          </Callout>
        )}

        {hints.length > 0 && (
          <section className={styles.hints} aria-label="Findings">
            <h4 className={styles.sectionTitle}>Findings</h4>
            {hints.map((hint) => (
              <Callout key={hint.id} tone={HINT_TONE[hint.severity]} title={hint.title}>
                {hint.detail}
                {hint.suggestedAction && <> Suggested action: {hint.suggestedAction}.</>}
              </Callout>
            ))}
          </section>
        )}

        <section aria-label="Diagnostics">
          <h4 className={styles.sectionTitle}>Latest diagnostics</h4>
          {device.latestSnapshot && (
            <p className={styles.source} data-testid="snapshot-source">
              {snapshotSourceLabel(device.latestSnapshot)}
            </p>
          )}
          {sections.length === 0 ? (
            <p className={styles.facts}>This computer hasn't sent diagnostics yet.</p>
          ) : (
            <div className={styles.panels}>
              {sections.map((section, index) => (
                <SectionPanel key={section.id} section={section} initiallyOpen={index === 0} />
              ))}
            </div>
          )}
        </section>

        <section>
          <h4 className={styles.sectionTitle}>What changed</h4>
          <Compare deviceId={deviceId} snapshots={snapshots} />
        </section>
      </div>
    </div>
  );
}
