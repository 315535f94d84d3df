import { QueryClientProvider, type QueryClient } from "@tanstack/react-query";
import { lazy, Suspense, useState } from "react";

import { TooltipProvider } from "../components/Tooltip";
import { Spinner } from "../components/Spinner";
import { GetHelpScreen } from "../features/get-help/GetHelpScreen";
import { MyTicketsScreen } from "../features/my-tickets/MyTicketsScreen";
import styles from "./App.module.css";
import { NavigationProvider, useNavigation, type Screen } from "./navigation";
import { createQueryClient } from "./queryClient";
import { StatusBar } from "./StatusBar";
import { TopBar } from "./TopBar";
import { useTheme } from "./theme";
import { useStatusEvents } from "./useAppStatus";

// Most people only ever use "Get help": the console's code loads when first opened.
const ConsoleScreen = lazy(() =>
  import("../features/console/ConsoleScreen").then((module) => ({ default: module.ConsoleScreen })),
);

function Shell() {
  const theme = useTheme();
  const { screen } = useNavigation();
  useStatusEvents();
  return (
    <div className={styles.shell}>
      <TopBar theme={theme} />
      <main className={styles.main}>
        {screen === "get-help" && <GetHelpScreen />}
        {screen === "my-tickets" && <MyTicketsScreen />}
        {screen === "console" && (
          <Suspense
            fallback={
              <div className={styles.loading}>
                <Spinner size={20} label="Opening the console" />
              </div>
            }
          >
            <ConsoleScreen theme={theme} />
          </Suspense>
        )}
      </main>
      <StatusBar />
    </div>
  );
}

export function App({ queryClient, initialScreen }: { queryClient?: QueryClient; initialScreen?: Screen }) {
  const [client] = useState(() => queryClient ?? createQueryClient());
  return (
    <QueryClientProvider client={client}>
      <TooltipProvider delayDuration={400}>
        <NavigationProvider initial={initialScreen}>
          <Shell />
        </NavigationProvider>
      </TooltipProvider>
    </QueryClientProvider>
  );
}
