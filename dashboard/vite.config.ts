import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// The bundle is built into the CLI package, which ships it: users need no Node.js to run it.
export default defineConfig({
  plugins: [react()],
  base: "./",
  build: {
    outDir: "../cli/intake_cli/web",
    emptyOutDir: true,
    assetsInlineLimit: 0,
  },
  test: {
    environment: "jsdom",
    include: ["test/**/*.test.tsx", "test/**/*.test.ts"],
  },
});
