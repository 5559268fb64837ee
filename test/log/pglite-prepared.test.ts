/**
 * The embedded driver's prepared statements (src/log/pglite-prepared.ts): values
 * go in and come back typed as PGlite's own `query` gives them, a statement whose
 * result type changed is parsed again, the cache stays bounded, and transactions
 * keep their isolation.
 */
import { PGlite } from "@electric-sql/pglite"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { Database, layerPglite } from "../../src/log/index.js"
import { preparedQueries } from "../../src/log/pglite-prepared.js"

const withDatabase = <A>(body: (db: Database["Service"]) => Promise<A>) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const db = yield* Database
    return yield* Effect.promise(() => body(db))
  }).pipe(Effect.provide(layerPglite()))))

describe("prepared statements on PGlite", () => {
  it("answers what PGlite's own query answers, for every kind of value", async () => {
    const pg = await PGlite.create({ parsers: { 20: (value: string) => Number(value) } })
    try {
      const prepared = preparedQueries(pg)
      const text = `select $1::text as t, $2::integer as i, $3::bigint as b, $4::jsonb as j, $5::bytea as bytes,
        $6::timestamptz as at, $7::text as nothing, $8::boolean as yes, $9::text[] as list`
      const params = ["a 'quoted' text", 42, 9007199254740991, { nested: [1, "two"] }, new Uint8Array([0, 1, 255]),
        new Date("2026-12-07T01:02:03.004Z"), null, true, ["x", "y,z"]]
      const expected = (await pg.query(text, params)).rows
      expect(await prepared.query(text, params, false)).toEqual(expected)
      // The second call binds to the statement parsed by the first.
      expect(await prepared.query(text, params, false)).toEqual(expected)
      expect((await pg.query<{ n: number }>("select count(*)::integer as n from pg_prepared_statements")).rows[0]!.n).toBe(1)
    } finally {
      await pg.close()
    }
  })

  it("parses a statement again when its table changed under it, and refuses bad SQL with Postgres's error", async () => {
    const pg = await PGlite.create()
    try {
      const prepared = preparedQueries(pg)
      await pg.exec("create table things (id integer)")
      await prepared.query("insert into things values ($1)", [1], false)
      expect(await prepared.query("select * from things", [], false)).toEqual([{ id: 1 }])
      await pg.exec("alter table things add column name text default 'one'")
      expect(await prepared.query("select * from things", [], false)).toEqual([{ id: 1, name: "one" }])
      await expect(prepared.query("select nonsense from", [], false)).rejects.toMatchObject({ code: "42601" })
      await expect(prepared.query("insert into things values ($1)", ["not a number"], false)).rejects.toMatchObject({ code: "22P02" })
      // The connection is usable after the refusals.
      expect(await prepared.query("select count(*)::integer as n from things", [], false)).toEqual([{ n: 1 }])
    } finally {
      await pg.close()
    }
  })

  it("closes the least recently used statements beyond its capacity", async () => {
    const pg = await PGlite.create()
    try {
      const prepared = preparedQueries(pg)
      for (let i = 0; i < 300; i++) {
        expect(await prepared.query(`select ${i}::integer as n, $1::integer as m`, [i], false)).toEqual([{ n: i, m: i }])
      }
      const held = (await pg.query<{ n: number }>("select count(*)::integer as n from pg_prepared_statements")).rows[0]!.n
      expect(held).toBeGreaterThan(200)
      expect(held).toBeLessThanOrEqual(257)
      // An evicted statement is parsed again when it comes back.
      expect(await prepared.query(`select 0::integer as n, $1::integer as m`, [7], false)).toEqual([{ n: 0, m: 7 }])
    } finally {
      await pg.close()
    }
  })

  it("keeps transactions isolated: a call outside waits for the open transaction, a rollback undoes the calls inside", () =>
    withDatabase(async (db) => {
      await db.exec("create table ledger (id integer primary key, note text)")
      const order: Array<string> = []
      let outside: Promise<unknown> | undefined
      await db.transaction(async (tx) => {
        await tx.query("insert into ledger values ($1, $2)", [1, "inside"])
        outside = db.query("insert into ledger values ($1, $2)", [2, "outside"]).then(() => order.push("outside"))
        // Give the outside call every chance to run now, inside this transaction, if it did not wait.
        for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve))
        order.push("transaction")
        throw new Error("roll back")
      }).catch(() => {})
      await outside
      expect(order).toEqual(["transaction", "outside"])
      expect(await db.query("select id, note from ledger order by id")).toEqual([{ id: 2, note: "outside" }])
    }))
})
