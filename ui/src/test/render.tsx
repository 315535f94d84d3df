import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, type RenderResult } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { ReactElement } from "react";

import { NavigationProvider, type Screen } from "../app/navigation";
import { TooltipProvider } from "../components/Tooltip";

export function testQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: { queries: { retry: false, gcTime: Number.POSITIVE_INFINITY }, mutations: { retry: false } },
  });
}

/** Renders with the providers the app's screens expect. */
export function renderWithProviders(
  ui: ReactElement,
  { queryClient = testQueryClient(), screen = "get-help" as Screen } = {},
): RenderResult & { user: ReturnType<typeof userEvent.setup>; queryClient: QueryClient } {
  const user = userEvent.setup();
  const result = render(
    <QueryClientProvider client={queryClient}>
      <TooltipProvider delayDuration={0}>
        <NavigationProvider initial={screen}>{ui}</NavigationProvider>
      </TooltipProvider>
    </QueryClientProvider>,
  );
  return { ...result, user, queryClient };
}
