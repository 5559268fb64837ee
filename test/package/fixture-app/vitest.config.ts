import { defineConfig } from "vitest/config"

export default defineConfig({
  // As `orrery init` writes it: the first test Orrery in a test process prepares its database image, a few seconds on a busy machine.
  test: { testTimeout: 30_000, hookTimeout: 30_000 }
})
