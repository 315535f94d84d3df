import {
  HelpCircle,
  KeyRound,
  Mail,
  Monitor,
  Package,
  Printer,
  Wifi,
  type LucideIcon,
} from "lucide-react";

import type { Category } from "../bindings/Category";

export const CATEGORY_ICON: Record<Category, LucideIcon> = {
  hardware: Monitor,
  printer: Printer,
  network: Wifi,
  account_password: KeyRound,
  software: Package,
  email: Mail,
  other: HelpCircle,
};
