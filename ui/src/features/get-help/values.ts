import type { Category } from "../../bindings/Category";
import type { ContactPreference } from "../../bindings/ContactPreference";
import type { Impact } from "../../bindings/Impact";
import type { TicketDraft } from "../../bindings/TicketDraft";
import type { Urgency } from "../../bindings/Urgency";

export const MAX_TITLE_CHARS = 200;
export const MAX_DESCRIPTION_CHARS = 20_000;

export interface GetHelpValues {
  category: Category | null;
  title: string;
  description: string;
  urgency: Urgency;
  impact: Impact;
  contactPreference: ContactPreference;
  contactDetail: string;
}

export const EMPTY_VALUES: GetHelpValues = {
  category: null,
  title: "",
  description: "",
  urgency: "can_work",
  impact: "one_user",
  contactPreference: "app",
  contactDetail: "",
};

/** The form fields the server may name in a `validation_failed` answer. */
export const FORM_FIELDS = [
  "category",
  "title",
  "description",
  "urgency",
  "impact",
  "contactPreference",
  "contactDetail",
] as const satisfies readonly (keyof GetHelpValues)[];

export function toTicketDraft(
  values: GetHelpValues,
  includedSections: string[],
  screenshotId: string | null,
): TicketDraft {
  return {
    // Not sure which box it fits is fine: the help desk re-files it.
    category: values.category ?? "other",
    title: values.title.trim(),
    description: values.description,
    urgency: values.urgency,
    impact: values.impact,
    contactPreference: values.contactPreference,
    contactDetail: values.contactPreference === "app" ? null : values.contactDetail.trim() || null,
    includedSections,
    screenshotId,
  };
}
