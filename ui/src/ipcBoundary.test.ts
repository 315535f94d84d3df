// Architecture invariant: `ipc.ts` is the only module that talks to Tauri, so every call to
// the Rust side is typed by the generated bindings and fails as an IpcError.
import { describe, expect, it } from "vitest";

const sources = import.meta.glob<string>(["./**/*.ts", "./**/*.tsx", "!./bindings/**"], {
  query: "?raw",
  import: "default",
  eager: true,
});

describe("the ipc boundary", () => {
  it("finds the sources it checks", () => {
    expect(Object.keys(sources)).toContain("./ipc.ts");
    expect(Object.keys(sources).length).toBeGreaterThan(20);
  });

  it("lets only ipc.ts import Tauri's JavaScript API", () => {
    const offenders = Object.entries(sources)
      .filter(([path]) => path !== "./ipc.ts" && path !== "./ipcBoundary.test.ts")
      .filter(([, text]) => /from\s+["']@tauri-apps\//.test(text) || /import\(["']@tauri-apps\//.test(text))
      .map(([path]) => path);
    expect(offenders).toEqual([]);
  });
});
