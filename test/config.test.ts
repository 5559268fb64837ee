import { Effect, Exit, Layer, Redacted, Result } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import {
  type Config,
  databaseLayer,
  defaults,
  loadConfig,
  parseArgs,
  parseTokens,
  settings,
  settingsHelp
} from "../src/config.js"
import { Database } from "../src/log/index.js"

const ok = <A, E>(result: Result.Result<A, E>): A => {
  if (Result.isFailure(result)) throw new Error(`expected success, got ${JSON.stringify(result.failure)}`)
  return result.success
}

/** The one-line message of a refused configuration. */
const refusal = (env: Record<string, string>, flags = {}): string => {
  const result = loadConfig(env, flags)
  if (Result.isSuccess(result)) throw new Error(`expected a refusal, got ${JSON.stringify(result.success)}`)
  expect(result.failure._tag).toBe("ConfigError")
  expect(result.failure.message).not.toContain("\n")
  return result.failure.message
}

const token = "0123456789abcdef-secret"

describe("loadConfig", () => {
  it("has the documented defaults when nothing is set", () => {
    const config = ok(loadConfig({}))
    expect(config).toEqual({
      configFile: undefined,
      url: undefined,
      databaseUrl: undefined,
      databasePooler: "none",
      dataDir: "./.orrery/data",
      host: "127.0.0.1",
      port: 7311,
      tokens: [],
      logLevel: "info"
    } satisfies Config)
    expect(defaults).toEqual({ dataDir: "./.orrery/data", databasePooler: "none", host: "127.0.0.1", port: 7311, logLevel: "info" })
  })

  it("reads every variable from the environment", () => {
    const config = ok(
      loadConfig({
        DATABASE_URL: "postgresql://app:pw@127.0.0.1:5432/orrery",
        ORRERY_DATABASE_POOLER: "Transaction",
        ORRERY_DATA_DIR: "/var/lib/orrery",
        ORRERY_HOST: "::1",
        ORRERY_PORT: "8080",
        ORRERY_TOKENS: `ci:operate:${token}, dash:read:${token}-2,`,
        LOG_LEVEL: "DEBUG"
      })
    )
    expect(config.databaseUrl).toBe("postgresql://app:pw@127.0.0.1:5432/orrery")
    expect(config.databasePooler).toBe("transaction")
    expect(config.dataDir).toBe("/var/lib/orrery")
    expect(config.host).toBe("::1")
    expect(config.port).toBe(8080)
    expect(config.logLevel).toBe("debug")
    expect(config.tokens.map((t) => [t.name, t.role, Redacted.value(t.token)])).toEqual([
      ["ci", "operate", token],
      ["dash", "read", `${token}-2`]
    ])
  })

  it("lets flags override the environment", () => {
    const env = { ORRERY_PORT: "8080", ORRERY_HOST: "localhost", DATABASE_URL: "postgres://127.0.0.1/x", LOG_LEVEL: "warn" }
    const config = ok(loadConfig(env, { port: "9090", host: "0.0.0.0", logLevel: "trace" }))
    expect([config.port, config.host, config.logLevel, config.databaseUrl]).toEqual([9090, "0.0.0.0", "trace", "postgres://127.0.0.1/x"])
  })

  it("treats an empty value as unset, so an empty flag can switch DATABASE_URL off", () => {
    const config = ok(loadConfig({ DATABASE_URL: "postgres://127.0.0.1/x", ORRERY_PORT: "" }, { databaseUrl: "" }))
    expect(config.databaseUrl).toBeUndefined()
    expect(config.port).toBe(7311)
  })

  it("reads only the settings asked for", () => {
    const config = ok(loadConfig({ ORRERY_PORT: "abc", ORRERY_DATA_DIR: "/tmp/x" }, {}, ["dataDir", "logLevel"]))
    expect(config).toEqual({ dataDir: "/tmp/x", logLevel: "info" })
  })

  it("refuses a port that is not a number or out of range, naming the variable", () => {
    expect(refusal({ ORRERY_DATABASE_POOLER: "session" })).toBe(`ORRERY_DATABASE_POOLER must be one of none, transaction, got "session"`)
    expect(refusal({}, { databasePooler: "pgbouncer" })).toBe(`--database-pooler (ORRERY_DATABASE_POOLER) must be one of none, transaction, got "pgbouncer"`)
    expect(refusal({ ORRERY_PORT: "abc" })).toBe(`ORRERY_PORT must be a port number (1-65535), got "abc"`)
    expect(refusal({ ORRERY_PORT: "0" })).toBe(`ORRERY_PORT must be a port number (1-65535), got "0"`)
    expect(refusal({ ORRERY_PORT: "65536" })).toBe(`ORRERY_PORT must be a port number (1-65535), got "65536"`)
    expect(refusal({ ORRERY_PORT: "80.5" })).toBe(`ORRERY_PORT must be a port number (1-65535), got "80.5"`)
    expect(refusal({ ORRERY_PORT: " 80" })).toBe(`ORRERY_PORT must be a port number (1-65535), got " 80"`)
  })

  it("names the flag and its variable when the bad value came from the flag", () => {
    expect(refusal({ ORRERY_PORT: "8080" }, { port: "x" })).toBe(`--port (ORRERY_PORT) must be a port number (1-65535), got "x"`)
  })

  it("refuses a DATABASE_URL that is malformed or not postgres, without showing its password", () => {
    expect(refusal({ DATABASE_URL: "mysql://u:hunter2@127.0.0.1/db" })).toBe(
      `DATABASE_URL must start with postgres:// or postgresql://, got "mysql://u:***@127.0.0.1/db"`
    )
    const malformed = refusal({ DATABASE_URL: "postgres://u:hunter2@127.0.0.1:99999/db" })
    expect(malformed).toBe("DATABASE_URL must be a URL like postgres://user:password@host:5432/db; the value given is not a URL")
    expect(refusal({ DATABASE_URL: "localhost:5432/db" })).toBe(
      `DATABASE_URL must start with postgres:// or postgresql://, got "localhost:5432/db"`
    )
  })

  it("refuses an unknown log level", () => {
    expect(refusal({ LOG_LEVEL: "verbose" })).toBe(
      `LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, got "verbose"`
    )
  })

  it("refuses a host that is neither a name nor an address", () => {
    expect(refusal({ ORRERY_HOST: "http://127.0.0.1" })).toBe(`ORRERY_HOST must be a host name or an IP address, got "http://127.0.0.1"`)
    expect(refusal({ ORRERY_HOST: "bad host" })).toMatch(/^ORRERY_HOST /)
    expect(ok(loadConfig({ ORRERY_HOST: "orrery-1.internal" })).host).toBe("orrery-1.internal")
  })

  it("refuses malformed tokens by position, never echoing a token", () => {
    const cases: Array<[string, string]> = [
      [token, "entry 1 must be name:role:token"],
      [`ci:admin:${token}`, "entry 1 must have the role read or operate"],
      [`ci:${token}:read`, "entry 1 must have the role read or operate"],
      [`ci:read:short`, "entry 1 must have a token of at least 16 printable characters without spaces or commas"],
      [`c i:read:${token}`, "entry 1 must have a name of letters, digits, _ . - (at most 64)"],
      [`a:read:${token}, b:operate:${token}`, "entry 2 repeats the name or the token of an earlier entry"],
      [`a:read:${token}, a:operate:${token}x`, "entry 2 repeats the name or the token of an earlier entry"]
    ]
    for (const [value, reason] of cases) {
      const message = refusal({ ORRERY_TOKENS: value })
      expect(message).toBe(`ORRERY_TOKENS ${reason}`)
      expect(message).not.toContain(token)
    }
  })

  it("keeps token values out of a printed config", () => {
    const config = ok(loadConfig({ ORRERY_TOKENS: `ci:operate:${token}` }))
    expect(JSON.stringify(config)).not.toContain(token)
    expect(String(config.tokens[0]!.token)).not.toContain(token)
    expect(ok(parseTokens(""))).toEqual([])
  })
})

describe("parseArgs", () => {
  it("takes --flag value and --flag=value, the last repeat winning", () => {
    const args = ok(parseArgs(["--port", "1", "--host=localhost", "--port=2", "--tokens", "a:read:x=y"]))
    expect(args).toEqual({ flags: { port: "2", host: "localhost", tokens: "a:read:x=y" }, help: false, options: {}, positionals: [] })
  })

  it("takes a command's own options and arguments beside the settings", () => {
    const shape = {
      positionals: ["type", "id?"],
      options: { reason: { flag: "--reason", placeholder: "<text>", help: "why" }, json: { flag: "--json", help: "JSON" } }
    } as const
    expect(ok(parseArgs(["cart", "--reason", "gone", "c1", "--json", "--data-dir=d"], ["dataDir"], shape))).toEqual({
      flags: { dataDir: "d" },
      help: false,
      options: { reason: "gone", json: true },
      positionals: ["cart", "c1"]
    })
    expect(ok(parseArgs(["cart"], [], shape)).positionals).toEqual(["cart"])
    const refused = (argv: Array<string>) => {
      const result = parseArgs(argv, [], shape)
      if (Result.isSuccess(result)) throw new Error("expected a usage error")
      return result.failure.message
    }
    expect(refused([])).toBe("missing <type>")
    expect(refused(["cart", "c1", "c2"])).toBe(`unexpected argument "c2"`)
    expect(refused(["cart", "--json=yes"])).toBe("--json takes no value")
    expect(refused(["cart", "--reason"])).toBe("--reason needs a value")
    expect(ok(parseArgs(["--help"], [], shape)).help).toBe(true)
  })

  it("sees -h and --help", () => {
    expect(ok(parseArgs(["-h"])).help).toBe(true)
    expect(ok(parseArgs(["--data-dir", "d", "--help"]))).toEqual({ flags: { dataDir: "d" }, help: true, options: {}, positionals: [] })
  })

  it("refuses unknown flags, stray arguments, a missing value and flags of another command", () => {
    const message = (argv: Array<string>, keys?: Parameters<typeof parseArgs>[1]) => {
      const result = parseArgs(argv, keys)
      if (Result.isSuccess(result)) throw new Error("expected a usage error")
      return result.failure.message
    }
    expect(message(["--prot", "1"])).toBe("unknown flag --prot")
    expect(message(["now"])).toBe(`unexpected argument "now"`)
    expect(message(["--port"])).toBe("--port needs a value")
    expect(message(["--port", "1"], ["dataDir"])).toBe("unknown flag --port")
  })
})

describe("settingsHelp", () => {
  it("lists every flag with its variable", () => {
    const help = settingsHelp()
    for (const setting of Object.values(settings)) {
      expect(help).toMatch(new RegExp(`${setting.flag} \\S+ +${setting.env} `))
    }
    expect(help).toContain("-h, --help")
  })
})

describe("databaseLayer", () => {
  it("opens PGlite in ORRERY_DATA_DIR when DATABASE_URL is unset", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "orrery-config-"))
    try {
      const db = ok(loadConfig({ ORRERY_DATA_DIR: path.join(dataDir, "data") }, {}, ["databaseUrl", "dataDir"]))
      const [driver, location, answer] = await Effect.runPromise(
        Effect.gen(function*() {
          const database = yield* Database
          const rows = yield* Effect.promise(() => database.query<{ answer: number }>("select 41 + 1 as answer"))
          return [database.driver, database.location, rows[0]?.answer] as const
        }).pipe(Effect.provide(databaseLayer(db)))
      )
      expect([driver, location, answer]).toEqual(["pglite", path.join(dataDir, "data"), 42])
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true })
    }
  })

  it("uses Postgres at DATABASE_URL when set, failing with a masked one-line StoreUnavailable", async () => {
    const db = ok(loadConfig({ DATABASE_URL: "postgres://u:secret@127.0.0.1:1/x" }, {}, ["databaseUrl", "dataDir"]))
    const exit = await Effect.runPromiseExit(Layer.build(databaseLayer(db)).pipe(Effect.scoped))
    expect(Exit.isFailure(exit)).toBe(true)
    const error = Exit.isFailure(exit) ? exit.cause.reasons.find((reason) => reason._tag === "Fail")?.error : undefined
    expect(error?._tag).toBe("StoreUnavailable")
    expect(error?.message).toMatch(/^cannot reach Postgres at postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/x: /)
    expect(error?.message).not.toContain("secret")
  })
})
