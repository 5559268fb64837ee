/**
 * The story memory: facts per project (characters and their attributes,
 * places, events), as a read model built from `memory.updated`. Each chapter's
 * facts replace that chapter's earlier ones, so a regenerated chapter leaves no
 * stale facts behind.
 *
 * `StoryMemory` is how activities read it. The default reads the read model's
 * table on the engine's database; tests may swap in a fixed memory.
 */
import { Context, Effect, Layer, Schema } from "effect"
import type { FastifyInstance } from "fastify"
import { Database, defineProjection, type DomainRoutesContext, OrrerySchema, type Queryable, type RecordedEvent } from "orrery"
import { errorSchema, idPattern } from "../shared/http.js"
import type { Fact } from "../shared/writing.js"

export const factsTable = "writing_story_facts"

export interface StoredFact extends Fact {
  readonly chapterIndex: number
}

export class StoryMemoryUnavailable extends Schema.TaggedError<StoryMemoryUnavailable>()("StoryMemoryUnavailable", {
  message: Schema.String
}) {}

export interface StoryMemoryShape {
  /**
   * The facts of a project as known before `beforeChapter` (all of them if
   * undefined): the latest value of each (kind, subject, attribute).
   */
  readonly factsOf: (projectId: string, beforeChapter?: number) => Effect.Effect<ReadonlyArray<StoredFact>, StoryMemoryUnavailable, Database | OrrerySchema>
}

export class StoryMemory extends Context.Service<StoryMemory, StoryMemoryShape>()("orrery/sagas/chapter-generation/StoryMemory") {
  /** The `story-memory` read model, in Orrery's schema (activities run beside the read models). */
  static readonly readModel = Layer.succeed(StoryMemory, {
    factsOf: (projectId, beforeChapter) =>
      Effect.gen(function*() {
        const db = yield* Database
        const { name: schema } = yield* OrrerySchema
        return yield* Effect.tryPromise({
          try: () => readFacts(db, schema, projectId, beforeChapter),
          catch: (error) => new StoryMemoryUnavailable({ message: `cannot read the story memory: ${error instanceof Error ? error.message : String(error)}` })
        })
      })
  })

  /** A fixed memory (tests). */
  static readonly fixed = (facts: Readonly<Record<string, ReadonlyArray<StoredFact>>>) =>
    Layer.succeed(StoryMemory, {
      factsOf: (projectId, beforeChapter) =>
        Effect.succeed(latest((facts[projectId] ?? []).filter((fact) => beforeChapter === undefined || fact.chapterIndex < beforeChapter)))
    })
}

const keyOf = (fact: Fact) => `${fact.kind}\u0000${fact.subject}\u0000${fact.attribute ?? ""}`

/** The latest fact per (kind, subject, attribute), in order of first mention. */
const latest = (facts: ReadonlyArray<StoredFact>): ReadonlyArray<StoredFact> => {
  const byKey = new Map<string, StoredFact>()
  // A Map keeps a key's first insertion place when its value is replaced.
  for (const fact of [...facts].sort((a, b) => a.chapterIndex - b.chapterIndex)) byKey.set(keyOf(fact), fact)
  return [...byKey.values()]
}

export const readFacts = async (db: Queryable, schema: string, projectId: string, beforeChapter?: number): Promise<ReadonlyArray<StoredFact>> => {
  const rows = await db.query<{ chapter_index: number; kind: Fact["kind"]; subject: string; attribute: string | null; value: string | null }>(
    `select chapter_index, kind, subject, attribute, value from ${schema}.${factsTable}
      where project_id = $1 and ($2::integer is null or chapter_index < $2::integer)
      order by chapter_index, position`,
    [projectId, beforeChapter ?? null]
  )
  return latest(
    rows.map((row) => ({
      chapterIndex: Number(row.chapter_index),
      kind: row.kind,
      subject: row.subject,
      ...(row.attribute === null ? {} : { attribute: row.attribute }),
      ...(row.value === null ? {} : { value: row.value })
    }))
  )
}

/** True when the chapter's facts are new to the memory or change it. */
export const countUpdates = (known: ReadonlyArray<Fact>, facts: ReadonlyArray<Fact>): number => {
  const values = new Map(known.map((fact) => [keyOf(fact), fact.value ?? ""]))
  return facts.filter((fact) => values.get(keyOf(fact)) !== (fact.value ?? "")).length
}

export const storyMemoryProjection = defineProjection({
  name: "story-memory",
  types: ["memory.updated"],
  setup: (s) => `
    create table if not exists ${s}.${factsTable} (
      project_id text not null,
      chapter_index integer not null,
      position integer not null,
      kind text not null,
      subject text not null,
      attribute text,
      value text,
      recorded_at timestamptz not null,
      primary key (project_id, chapter_index, position)
    );`,
  reset: (s) => `delete from ${s}.${factsTable};`,
  apply: async (tx: Queryable, s: string, event: RecordedEvent) => {
    const data = event.data as { projectId: string; chapterIndex: number; facts: ReadonlyArray<Fact> }
    await tx.query(`delete from ${s}.${factsTable} where project_id = $1 and chapter_index = $2`, [data.projectId, data.chapterIndex])
    if (data.facts.length === 0) return
    await tx.query(
      `insert into ${s}.${factsTable} (project_id, chapter_index, position, kind, subject, attribute, value, recorded_at)
       select $1, $2, f.position, f.kind, f.subject, f.attribute, f.value, $4
         from jsonb_to_recordset($3::text::jsonb) as f(position integer, kind text, subject text, attribute text, value text)`,
      [
        data.projectId,
        data.chapterIndex,
        JSON.stringify(data.facts.map((fact, position) => ({ position, kind: fact.kind, subject: fact.subject, attribute: fact.attribute ?? null, value: fact.value ?? null }))),
        event.recordedAt
      ]
    )
  }
})

const nullable = (type: string) => ({ type: [type, "null"] })

/** `GET /projects/{projectId}/memory`: what the story memory knows of a project. */
export const storyMemoryRoutes = async (app: FastifyInstance, context: DomainRoutesContext) => {
  app.get(
    "/projects/:projectId/memory",
    {
      schema: {
        tags: ["writing"],
        summary: "The story memory of a writing project: characters, places, events",
        params: { type: "object", required: ["projectId"], properties: { projectId: { type: "string", pattern: idPattern } } },
        response: {
          200: {
            type: "object",
            properties: {
              projectId: { type: "string" },
              characters: { type: "integer" },
              locations: { type: "integer" },
              events: { type: "integer" },
              facts: {
                type: "array",
                items: {
                  type: "object",
                  properties: {
                    chapterIndex: { type: "integer" },
                    kind: { type: "string" },
                    subject: { type: "string" },
                    attribute: nullable("string"),
                    value: nullable("string")
                  }
                }
              }
            }
          },
          400: errorSchema
        }
      }
    },
    async (request) => {
      const { projectId } = request.params as { projectId: string }
      const facts = await readFacts(context.db, context.schema, projectId)
      const count = (kind: Fact["kind"]) => new Set(facts.filter((fact) => fact.kind === kind).map((fact) => fact.subject)).size
      return {
        projectId,
        characters: count("character"),
        locations: count("location"),
        events: count("event"),
        facts: facts.map((fact) => ({ chapterIndex: fact.chapterIndex, kind: fact.kind, subject: fact.subject, attribute: fact.attribute ?? null, value: fact.value ?? null }))
      }
    }
  )
}
