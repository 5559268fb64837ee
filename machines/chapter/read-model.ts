/**
 * Read model `chapters`: every chapter of every writing project with its status.
 * Fed by the `chapter` aggregate's events and by the `chapter-generation`
 * saga's (by type name: domains meet through events). Status: `draft` while a
 * saga writes it, `needs_attention`, `pending_review`, `approved`, `rejected`.
 */
import type { FastifyInstance } from "fastify"
import { defineProjection, type DomainRoutesContext, type Queryable, type RecordedEvent } from "orrery"
import { errorSchema, idPattern } from "../../sagas/shared/http.js"

export const chaptersTable = "writing_chapters"

type Data = Record<string, unknown>

/** The columns an event sets; null leaves a column as it was. */
const changesOf = (event: RecordedEvent): Record<string, unknown> | undefined => {
  const data = event.data as Data
  switch (event.type) {
    case "chapter.generation_started":
      return { status: "draft", stage: "generating", attempt: data.attempt, round: data.round, generation: event.streamId, reason: null }
    case "chapter.generated":
      return { stage: "validating", attempt: data.attempt, word_count: data.wordCount, content_hash: data.contentHash }
    case "coherence.validated":
      return { stage: data.blocking === true || Number(data.score) < 7 ? "regenerating" : "extracting", score: data.score, issues_count: data.issuesCount }
    case "facts.extracted":
      return { stage: "updating_memory" }
    case "memory.updated":
      return { stage: "submitting" }
    case "chapter.needs_attention":
      return { status: "needs_attention", stage: "needs_attention", reason: data.reason }
    case "chapter.submitted":
      return { status: "pending_review", stage: "review", chapter: event.streamId, word_count: data.wordCount, content_hash: data.contentHash, score: data.score ?? null, submissions: data.submission }
    case "chapter.approved":
      return { status: "approved", stage: "done", summary: data.summary }
    case "chapter.rejected":
      return { status: "rejected", stage: "rejected", feedback: data.feedback, rejections: "+1" }
    default:
      return undefined
  }
}

const columns = ["status", "stage", "attempt", "round", "generation", "chapter", "word_count", "content_hash", "score", "issues_count", "submissions", "rejections", "summary", "feedback", "reason"] as const

export const chaptersProjection = defineProjection({
  name: "chapters",
  types: [
    "chapter.generation_started",
    "chapter.generated",
    "coherence.validated",
    "facts.extracted",
    "memory.updated",
    "chapter.needs_attention",
    "chapter.submitted",
    "chapter.approved",
    "chapter.rejected"
  ],
  setup: (s) => `
    create table if not exists ${s}.${chaptersTable} (
      project_id text not null,
      chapter_index integer not null,
      status text not null default 'draft',
      stage text,
      attempt integer,
      round integer,
      generation text,
      chapter text,
      word_count integer,
      content_hash text,
      score numeric,
      issues_count integer,
      submissions integer not null default 0,
      rejections integer not null default 0,
      summary text,
      feedback text,
      reason text,
      updated_at timestamptz not null,
      primary key (project_id, chapter_index)
    );`,
  reset: (s) => `delete from ${s}.${chaptersTable};`,
  apply: async (tx: Queryable, s: string, event: RecordedEvent) => {
    const data = event.data as Data
    const changes = changesOf(event)
    if (changes === undefined || typeof data.projectId !== "string" || typeof data.chapterIndex !== "number") return
    await tx.query(
      `insert into ${s}.${chaptersTable} (project_id, chapter_index, updated_at) values ($1, $2, $3) on conflict do nothing`,
      [data.projectId, data.chapterIndex, event.recordedAt]
    )
    const sets: Array<string> = []
    const params: Array<unknown> = [data.projectId, data.chapterIndex, event.recordedAt]
    for (const column of columns) {
      if (!(column in changes)) continue
      const value = changes[column]
      if (value === "+1") {
        sets.push(`${column} = ${column} + 1`)
      } else {
        params.push(value === undefined ? null : value)
        sets.push(`${column} = $${params.length}`)
      }
    }
    await tx.query(
      `update ${s}.${chaptersTable} set ${[...sets, "updated_at = $3"].join(", ")} where project_id = $1 and chapter_index = $2`,
      params
    )
  }
})

export interface ChapterRow {
  readonly chapterIndex: number
  readonly status: string
  readonly stage: string | null
  readonly attempt: number | null
  readonly round: number | null
  readonly generation: string | null
  readonly chapter: string | null
  readonly wordCount: number | null
  readonly contentHash: string | null
  readonly score: number | null
  readonly issuesCount: number | null
  readonly submissions: number
  readonly rejections: number
  readonly summary: string | null
  readonly feedback: string | null
  readonly reason: string | null
  readonly updatedAt: string
}

export const chaptersOf = async (db: Queryable, schema: string, projectId: string): Promise<ReadonlyArray<ChapterRow>> => {
  const rows = await db.query<Record<string, unknown>>(
    `select chapter_index, status, stage, attempt, round, generation, chapter, word_count, content_hash, score::text as score,
            issues_count, submissions, rejections, summary, feedback, reason, updated_at
       from ${schema}.${chaptersTable} where project_id = $1 order by chapter_index`,
    [projectId]
  )
  return rows.map((row) => ({
    chapterIndex: Number(row.chapter_index),
    status: String(row.status),
    stage: (row.stage as string | null) ?? null,
    attempt: row.attempt === null ? null : Number(row.attempt),
    round: row.round === null ? null : Number(row.round),
    generation: (row.generation as string | null) ?? null,
    chapter: (row.chapter as string | null) ?? null,
    wordCount: row.word_count === null ? null : Number(row.word_count),
    contentHash: (row.content_hash as string | null) ?? null,
    score: row.score === null ? null : Number(row.score),
    issuesCount: row.issues_count === null ? null : Number(row.issues_count),
    submissions: Number(row.submissions),
    rejections: Number(row.rejections),
    summary: (row.summary as string | null) ?? null,
    feedback: (row.feedback as string | null) ?? null,
    reason: (row.reason as string | null) ?? null,
    updatedAt: new Date(row.updated_at as string | Date).toISOString()
  }))
}

const nullable = (type: string) => ({ type: [type, "null"] })

const chapterSchema = {
  type: "object",
  properties: {
    chapterIndex: { type: "integer" },
    status: { type: "string", enum: ["draft", "needs_attention", "pending_review", "approved", "rejected"] },
    stage: nullable("string"),
    attempt: nullable("integer"),
    round: nullable("integer"),
    generation: nullable("string"),
    chapter: nullable("string"),
    wordCount: nullable("integer"),
    contentHash: nullable("string"),
    score: nullable("number"),
    issuesCount: nullable("integer"),
    submissions: { type: "integer" },
    rejections: { type: "integer" },
    summary: nullable("string"),
    feedback: nullable("string"),
    reason: nullable("string"),
    updatedAt: { type: "string" }
  }
} as const

/** `GET /projects/{projectId}/chapters`: the project's chapters in order (an unknown project has none). */
export const chapterRoutes = async (app: FastifyInstance, context: DomainRoutesContext) => {
  app.get(
    "/projects/:projectId/chapters",
    {
      schema: {
        tags: ["writing"],
        summary: "Chapters of a writing project, with their status",
        params: { type: "object", required: ["projectId"], properties: { projectId: { type: "string", pattern: idPattern } } },
        response: {
          200: { type: "object", properties: { projectId: { type: "string" }, chapters: { type: "array", items: chapterSchema } } },
          400: errorSchema
        }
      }
    },
    async (request) => {
      const { projectId } = request.params as { projectId: string }
      return { projectId, chapters: await chaptersOf(context.db, context.schema, projectId) }
    }
  )
}
