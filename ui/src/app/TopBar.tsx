import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Headset, Inbox, LifeBuoy, Lock, LogOut, Moon, Settings, Sun } from "lucide-react";
import { useState } from "react";

import { Button, IconButton } from "../components/Button";
import { Tooltip } from "../components/Tooltip";
import { initials } from "../lib/format";
import { signOut } from "../ipc";
import { LogoMark } from "./LogoMark";
import { useNavigation, type Screen } from "./navigation";
import { queryKeys } from "./queryClient";
import { SettingsDialog } from "./SettingsDialog";
import styles from "./TopBar.module.css";
import type { useTheme } from "./theme";
import { useAppStatus } from "./useAppStatus";

export function TopBar({ theme }: { theme: ReturnType<typeof useTheme> }) {
  const { screen, go } = useNavigation();
  const status = useAppStatus();
  const staff = status.data?.staff ?? null;
  const [settingsOpen, setSettingsOpen] = useState(false);
  const queryClient = useQueryClient();
  const signOutMutation = useMutation({
    mutationFn: signOut,
    onSuccess: (next) => {
      queryClient.setQueryData(queryKeys.appStatus, next);
      // Nothing an agent saw may linger after signing out.
      queryClient.removeQueries({ queryKey: queryKeys.queue });
      queryClient.removeQueries({ queryKey: ["ticket"] });
      queryClient.removeQueries({ queryKey: queryKeys.approvals });
    },
  });

  const navButton = (target: Screen, label: string, icon: typeof LifeBuoy) => {
    const Icon = icon;
    return (
      <button
        type="button"
        className={styles.navButton}
        aria-current={screen === target ? "page" : undefined}
        onClick={() => go(target)}
      >
        <Icon aria-hidden />
        {label}
      </button>
    );
  };

  return (
    <header className={styles.bar}>
      <div className={styles.brand}>
        <LogoMark />
        <span>Deskside</span>
      </div>
      <nav className={styles.nav} aria-label="Main">
        {navButton("get-help", "Get help", LifeBuoy)}
        {navButton("my-tickets", "My tickets", Inbox)}
        <span className={styles.divider} aria-hidden />
        <Tooltip content={staff ? `Signed in as ${staff.displayName}` : "Agent sign-in — for help desk staff"}>
          <button
            type="button"
            className={styles.navButton}
            aria-current={screen === "console" ? "page" : undefined}
            onClick={() => go("console")}
          >
            <Headset aria-hidden />
            Console
            {!staff && <Lock className={styles.lock} aria-hidden />}
          </button>
        </Tooltip>
      </nav>
      <div className={styles.spacer} />
      <div className={styles.tools}>
        {staff && (
          <>
            <Tooltip content={`${staff.username} · ${staff.role}${staff.tier ? ` · ${staff.tier}` : ""}`}>
              <span className={styles.account} tabIndex={0} aria-label={`Signed in as ${staff.displayName}`}>
                <span className={styles.avatar} aria-hidden>
                  {initials(staff.displayName)}
                </span>
                <span aria-hidden>{staff.displayName}</span>
              </span>
            </Tooltip>
            <Button
              variant="ghost"
              size="sm"
              icon={LogOut}
              loading={signOutMutation.isPending}
              onClick={() => signOutMutation.mutate()}
            >
              Sign out
            </Button>
            <span className={styles.toolsDivider} aria-hidden />
          </>
        )}
        <IconButton
          icon={theme.resolved === "dark" ? Sun : Moon}
          label={theme.resolved === "dark" ? "Switch to light theme" : "Switch to dark theme"}
          onClick={theme.toggle}
        />
        <IconButton icon={Settings} label="Settings" onClick={() => setSettingsOpen(true)} />
      </div>
      <SettingsDialog open={settingsOpen} onOpenChange={setSettingsOpen} theme={theme} />
    </header>
  );
}
