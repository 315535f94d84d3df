// The half-written "Get help" form survives switching to another screen and back: people
// check "My tickets" mid-sentence. Kept in memory only; nothing is written to disk.
import type { ScreenshotPreview } from "../../bindings/ScreenshotPreview";
import type { GetHelpValues } from "./values";

interface Draft {
  values: GetHelpValues;
  screenshot: ScreenshotPreview | null;
  sections: Record<string, boolean>;
}

let saved: Draft | null = null;

export function loadDraft(): Draft | null {
  return saved;
}

export function saveDraft(draft: Draft): void {
  saved = draft;
}

export function clearDraft(): void {
  saved = null;
}
