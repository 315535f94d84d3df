import "@testing-library/jest-dom/vitest";

import { cleanup } from "@testing-library/react";
import { afterEach, beforeEach, vi } from "vitest";

import { resetTemporaryPasswordsForTests } from "../features/my-tickets/temporaryPasswords";
import { resetFakeIpc } from "./fakeIpc";

// The IPC module is the only seam between the UI and the Rust side: every test talks to
// the fake backend in ./fakeIpc.ts instead. IpcError stays real.
vi.mock("../ipc", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../ipc")>();
  const { fakeIpc } = await import("./fakeIpc");
  return { ...actual, ...fakeIpc };
});

// jsdom lacks layout. The queue's virtualiser measures its scroll container: give every
// element a window-sized box so rows render.
Object.defineProperty(HTMLElement.prototype, "clientHeight", { configurable: true, get: () => 800 });
Object.defineProperty(HTMLElement.prototype, "clientWidth", { configurable: true, get: () => 1200 });
Element.prototype.scrollIntoView = function scrollIntoView() {};
Element.prototype.scrollTo = function scrollTo() {} as typeof Element.prototype.scrollTo;
// Radix primitives use pointer capture and ResizeObserver.
Element.prototype.hasPointerCapture = () => false;
Element.prototype.releasePointerCapture = () => undefined;
globalThis.ResizeObserver ??= class {
  observe() {}
  unobserve() {}
  disconnect() {}
} as unknown as typeof ResizeObserver;
window.matchMedia ??= ((query: string) => ({
  matches: false,
  media: query,
  onchange: null,
  addEventListener: () => undefined,
  removeEventListener: () => undefined,
  addListener: () => undefined,
  removeListener: () => undefined,
  dispatchEvent: () => false,
})) as typeof window.matchMedia;

beforeEach(() => {
  resetFakeIpc();
  resetTemporaryPasswordsForTests();
  localStorage.clear();
});

afterEach(() => {
  cleanup();
});
