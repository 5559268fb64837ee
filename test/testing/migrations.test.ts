/**
 * A project's own tables, as a user declares them: `migrations` in
 * `defineConfig` / `defineDomain`, applied once each in Orrery's schema before
 * the services are built, which then reach them through `Database` and
 * `OrrerySchema` from "orrery".
 */
import { Context, Effect, Layer, Schema } from "effect"
import { setup } from "xstate"
import { describe, expect, it } from "vitest"
import { activityLogic, Database, defineActivity, defineDomain, defineWorkflow, type Migration, OrrerySchema } from "orrery"
import { createTestOrrery } from "orrery/testing"

const notesTable: Migration = {
  component: "notes",
  version: 1,
  name: "notes by key",
  sql: (s) => `create table ${s}.notes (key text primary key, text text not null, written integer not null default 1);`
}

class Notes extends Context.Service<Notes, { readonly write: (key: string, text: string) => Effect.Effect<number> }>()("test/Notes") {
  /** Writes once per key: a second write under the key counts, and changes nothing else. */
  static readonly layer = Layer.effect(
    Notes,
    Effect.gen(function*() {
      const db = yield* Database
      const { name: s } = yield* OrrerySchema
      return {
        write: (key, text) =>
          Effect.promise(async () => {
            const [row] = await db.query<{ written: number }>(
              `insert into ${s}.notes (key, text) values ($1, $2) on conflict (key) do update set written = ${s}.notes.written + 1 returning written`,
              [key, text]
            )
            return row!.written
          })
      }
    })
  )
}

const noteWorkflow = defineWorkflow({
  type: "note",
  version: 1,
  kind: "saga",
  machine: setup({
    types: {} as { context: { text: string }; input: { text: string } },
    actors: { write: activityLogic<{ text: string }, number>() }
  }).createMachine({
    context: ({ input }) => ({ text: input.text }),
    initial: "writing",
    states: {
      writing: { invoke: { id: "write", src: "write", input: ({ context }) => ({ text: context.text }), onDone: "done" } },
      done: { type: "final" }
    }
  }),
  events: { input: Schema.Struct({ text: Schema.String }), accepts: {}, emits: [] },
  activities: { write: defineActivity({ run: (input: { text: string }, run) => Notes.use((notes) => notes.write(run.idempotencyKey, input.text)) }) }
})

describe("a project's migrations", () => {
  it("are applied before its services are built, once even when two domains share one", async () => {
    const t = await createTestOrrery({
      workflows: [noteWorkflow],
      services: Notes.layer,
      migrations: [notesTable],
      domains: [defineDomain("other", { workflows: [], migrations: [notesTable] })]
    })
    try {
      const note = await t.client.start("note", { text: "hello" }, { id: "n1" })
      await t.time.settle()
      expect((await note.get()).status).toBe("done")
      const rows = await t.run(Effect.gen(function*() {
        const db = yield* Database
        return yield* Effect.promise(() => db.query(`select text, written from orrery.notes`))
      }))
      expect(rows).toEqual([{ text: "hello", written: 1 }])
      const applied = await t.run(Database.use((db) => Effect.promise(() => db.query(`select component, version from orrery.migrations where component = 'notes'`))))
      expect(applied).toEqual([{ component: "notes", version: 1 }])
    } finally {
      await t.close()
    }
  })

  it("may not use Orrery's own components, nor declare one version twice with different SQL", async () => {
    const mine = (migration: Migration) => createTestOrrery({ workflows: [], migrations: [migration] })
    await expect(mine({ ...notesTable, component: "engine" })).rejects.toThrow(/the migration component "engine" is Orrery's own/)
    await expect(
      createTestOrrery({ workflows: [], migrations: [notesTable], domains: [defineDomain("other", { workflows: [], migrations: [{ ...notesTable, sql: () => "select 1" }] })] })
    ).rejects.toThrow(/both declare notes version 1, with different SQL/)
  })
})
