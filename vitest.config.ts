import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"
import LongestFirst from "./test/support/longest-first.js"

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url))

export default defineConfig({
  resolve: {
    // Tests and the shipped domains import the package by its name, as a user does: here that is the sources.
    alias: [
      { find: /^orrery$/, replacement: source("./src/index.ts") },
      { find: /^orrery\/(client|testing|fastify)$/, replacement: source("./src/$1.ts") }
    ]
  },
  test: {
    include: ["test/**/*.test.ts"],
    // The package's build, once: the tests that run the `orrery` command run it as installed.
    globalSetup: ["./test/support/build.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: more forks than that only queue behind each other and Postgres.
    maxWorkers: 2,
    sequence: { sequencer: LongestFirst }
  }
})
