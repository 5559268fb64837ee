/**
 * Read model `generation-costs`: tokens and images by model, and what they
 * cost, per ebook and per writing project. Fed by `tokens.consumed` and
 * `image.generated` from every saga (the chapter-generation saga's calls are
 * billed to their project), plus the ebook saga's own progress events.
 *
 * Each call is priced with the configured price table as it is applied and
 * summed exactly in SQL `numeric`; amounts are rounded to six places only when
 * read. A rebuild prices the whole log again with the table in force.
 *
 * Routes: `GET /costs` (totals, per model, per ebook, per project) and
 * `GET /costs/{ebookId}`.
 */
import { BigDecimal } from "effect"
import type { FastifyInstance } from "fastify"
import { defineProjection, type DomainRoutesContext, httpError, type Projection, type Queryable, type RecordedEvent } from "orrery"
import { errorSchema, idPattern } from "../shared/http.js"
import { decimal, formatUsd, imageCost, isPriced, type PriceTable, tokenCost, toSqlNumeric, type Usd } from "./pricing.js"

export const usageTable = "costs_usage"
export const ebooksTable = "costs_ebooks"

type Data = Record<string, unknown>

/** Who a call is billed to: its ebook, else its writing project, else its stream. */
const scopeOf = (event: RecordedEvent): readonly [scope: "ebook" | "project" | "other", id: string] => {
  const data = event.data as Data
  if (typeof data.ebookId === "string") return ["ebook", data.ebookId]
  if (typeof data.projectId === "string") return ["project", data.projectId]
  return ["other", event.streamId]
}

export const costsProjection = (table: PriceTable): Projection =>
  defineProjection({
    name: "generation-costs",
    types: ["tokens.consumed", "image.generated", "ebook.generation_started", "ebook.generated", "ebook.generation_failed", "cost.calculated"],
    setup: (s) => `
      create table if not exists ${s}.${usageTable} (
        scope text not null,
        scope_id text not null,
        model text not null,
        calls integer not null default 0,
        prompt_tokens bigint not null default 0,
        completion_tokens bigint not null default 0,
        images integer not null default 0,
        cost_usd numeric not null default 0,
        primary key (scope, scope_id, model)
      );
      create table if not exists ${s}.${ebooksTable} (
        ebook_id text primary key,
        title text,
        pages integer,
        status text not null default 'generating',
        calculated_cost_usd text,
        reason text,
        started_at timestamptz,
        finished_at timestamptz
      );`,
    reset: (s) => `delete from ${s}.${usageTable}; delete from ${s}.${ebooksTable};`,
    apply: async (tx: Queryable, s: string, event: RecordedEvent) => {
      const data = event.data as Data
      switch (event.type) {
        case "tokens.consumed":
        case "image.generated": {
          const [scope, id] = scopeOf(event)
          const model = String(data.model)
          const tokens = event.type === "tokens.consumed"
          const promptTokens = tokens ? Number(data.promptTokens) : 0
          const completionTokens = tokens ? Number(data.completionTokens) : 0
          const cost = tokens ? tokenCost(table, model, promptTokens, completionTokens) : imageCost(table, model)
          await tx.query(
            `insert into ${s}.${usageTable} (scope, scope_id, model, calls, prompt_tokens, completion_tokens, images, cost_usd)
             values ($1, $2, $3, $4, $5, $6, $7, $8::numeric)
             on conflict (scope, scope_id, model) do update set
               calls = ${usageTable}.calls + excluded.calls,
               prompt_tokens = ${usageTable}.prompt_tokens + excluded.prompt_tokens,
               completion_tokens = ${usageTable}.completion_tokens + excluded.completion_tokens,
               images = ${usageTable}.images + excluded.images,
               cost_usd = ${usageTable}.cost_usd + excluded.cost_usd`,
            [scope, id, model, tokens ? 1 : 0, promptTokens, completionTokens, tokens ? 0 : 1, toSqlNumeric(cost)]
          )
          return
        }
        case "ebook.generation_started":
          await tx.query(
            `insert into ${s}.${ebooksTable} (ebook_id, title, pages, status, started_at) values ($1, $2, $3, 'generating', $4)
             on conflict (ebook_id) do update set title = excluded.title, pages = excluded.pages, status = 'generating', started_at = excluded.started_at, finished_at = null, reason = null`,
            [data.ebookId, data.title, data.pages, event.recordedAt]
          )
          return
        case "cost.calculated":
          await tx.query(`update ${s}.${ebooksTable} set calculated_cost_usd = $2 where ebook_id = $1`, [data.ebookId, data.totalCostUsd])
          return
        case "ebook.generated":
          await tx.query(`update ${s}.${ebooksTable} set status = 'generated', calculated_cost_usd = $2, finished_at = $3 where ebook_id = $1`, [data.ebookId, data.totalCostUsd, event.recordedAt])
          return
        case "ebook.generation_failed":
          await tx.query(`update ${s}.${ebooksTable} set status = 'failed', reason = $2, finished_at = $3 where ebook_id = $1`, [data.ebookId, data.reason, event.recordedAt])
          return
      }
    }
  })

// -- reading ------------------------------------------------------------------------------

export interface ModelCost {
  readonly model: string
  readonly calls: number
  readonly promptTokens: number
  readonly completionTokens: number
  readonly images: number
  readonly costUsd: Usd
  /** False when the price table does not name the model (priced by its default entry). */
  readonly priced: boolean
}

interface UsageRow {
  readonly scope: string
  readonly scope_id: string
  readonly model: string
  readonly calls: number
  readonly prompt_tokens: number
  readonly completion_tokens: number
  readonly images: number
  readonly cost_usd: string
}

const usd = (numeric: string | null | undefined) => formatUsd(numeric === null || numeric === undefined ? BigDecimal.fromBigInt(0n) : decimal(numeric))

const modelCost = (table: PriceTable, row: Omit<UsageRow, "scope" | "scope_id">): ModelCost => ({
  model: row.model,
  calls: Number(row.calls),
  promptTokens: Number(row.prompt_tokens),
  completionTokens: Number(row.completion_tokens),
  images: Number(row.images),
  costUsd: usd(row.cost_usd),
  priced: isPriced(table, row.model)
})

const totals = (rows: ReadonlyArray<ModelCost>, exact: string | null) => ({
  totalCostUsd: usd(exact),
  calls: rows.reduce((sum, row) => sum + row.calls, 0),
  promptTokens: rows.reduce((sum, row) => sum + row.promptTokens, 0),
  completionTokens: rows.reduce((sum, row) => sum + row.completionTokens, 0),
  images: rows.reduce((sum, row) => sum + row.images, 0)
})

export const readEbookCost = async (db: Queryable, schema: string, table: PriceTable, ebookId: string) => {
  const [ebook] = await db.query<{ title: string | null; pages: number | null; status: string; calculated_cost_usd: string | null; reason: string | null; started_at: Date | string | null; finished_at: Date | string | null }>(
    `select title, pages, status, calculated_cost_usd, reason, started_at, finished_at from ${schema}.${ebooksTable} where ebook_id = $1`,
    [ebookId]
  )
  const rows = await db.query<UsageRow>(
    `select model, calls, prompt_tokens, completion_tokens, images, cost_usd::text as cost_usd from ${schema}.${usageTable}
      where scope = 'ebook' and scope_id = $1 order by model`,
    [ebookId]
  )
  if (ebook === undefined && rows.length === 0) return undefined
  const [sum] = await db.query<{ total: string | null }>(`select sum(cost_usd)::text as total from ${schema}.${usageTable} where scope = 'ebook' and scope_id = $1`, [ebookId])
  const byModel = rows.map((row) => modelCost(table, row))
  return {
    ebookId,
    title: ebook?.title ?? null,
    pages: ebook?.pages ?? null,
    status: ebook?.status ?? "unknown",
    ...totals(byModel, sum?.total ?? null),
    calculatedCostUsd: ebook?.calculated_cost_usd ?? null,
    reason: ebook?.reason ?? null,
    startedAt: ebook?.started_at === null || ebook?.started_at === undefined ? null : new Date(ebook.started_at).toISOString(),
    finishedAt: ebook?.finished_at === null || ebook?.finished_at === undefined ? null : new Date(ebook.finished_at).toISOString(),
    byModel
  }
}

export const readCosts = async (db: Queryable, schema: string, table: PriceTable, limit: number) => {
  const byModelRows = await db.query<Omit<UsageRow, "scope" | "scope_id">>(
    `select model, sum(calls)::bigint as calls, sum(prompt_tokens)::bigint as prompt_tokens, sum(completion_tokens)::bigint as completion_tokens,
            sum(images)::bigint as images, sum(cost_usd)::text as cost_usd
       from ${schema}.${usageTable} group by model order by model`
  )
  const [sum] = await db.query<{ total: string | null }>(`select sum(cost_usd)::text as total from ${schema}.${usageTable}`)
  const scopes = await db.query<UsageRow>(
    `select scope, scope_id, '' as model, sum(calls)::bigint as calls, sum(prompt_tokens)::bigint as prompt_tokens,
            sum(completion_tokens)::bigint as completion_tokens, sum(images)::bigint as images, sum(cost_usd)::text as cost_usd
       from ${schema}.${usageTable} where scope in ('ebook', 'project') group by scope, scope_id order by scope, scope_id`
  )
  const ebooks = await db.query<{ ebook_id: string; title: string | null; status: string; calculated_cost_usd: string | null }>(
    `select ebook_id, title, status, calculated_cost_usd from ${schema}.${ebooksTable} order by ebook_id`
  )
  const byModel = byModelRows.map((row) => modelCost(table, row))
  const scopeTotals = (row: UsageRow) => ({
    totalCostUsd: usd(row.cost_usd),
    calls: Number(row.calls),
    promptTokens: Number(row.prompt_tokens),
    completionTokens: Number(row.completion_tokens),
    images: Number(row.images)
  })
  const ebookIds = [...new Set([...ebooks.map((e) => e.ebook_id), ...scopes.filter((row) => row.scope === "ebook").map((row) => row.scope_id)])].sort()
  const ebookList = ebookIds.slice(0, limit).map((ebookId) => {
    const info = ebooks.find((e) => e.ebook_id === ebookId)
    const used = scopes.find((row) => row.scope === "ebook" && row.scope_id === ebookId)
    return {
      ebookId,
      title: info?.title ?? null,
      status: info?.status ?? "unknown",
      calculatedCostUsd: info?.calculated_cost_usd ?? null,
      ...(used === undefined ? { totalCostUsd: usd(null), calls: 0, promptTokens: 0, completionTokens: 0, images: 0 } : scopeTotals(used))
    }
  })
  const projects = scopes.filter((row) => row.scope === "project").slice(0, limit).map((row) => ({ projectId: row.scope_id, ...scopeTotals(row) }))
  return {
    currency: "USD" as const,
    ...totals(byModel, sum?.total ?? null),
    byModel,
    ebooks: ebookList,
    ebooksTotal: ebookIds.length,
    projects,
    projectsTotal: scopes.filter((row) => row.scope === "project").length
  }
}

// -- routes --------------------------------------------------------------------------------

const money = { type: "string", pattern: "^-?\\d+\\.\\d{6}$" } as const
const nullable = (type: string) => ({ type: [type, "null"] })
const counts = {
  calls: { type: "integer" },
  promptTokens: { type: "integer" },
  completionTokens: { type: "integer" },
  images: { type: "integer" }
} as const
const modelSchema = {
  type: "object",
  properties: { model: { type: "string" }, ...counts, costUsd: money, priced: { type: "boolean" } }
} as const

export const costRoutes = (table: PriceTable) => async (app: FastifyInstance, context: DomainRoutesContext) => {
  app.get(
    "/costs",
    {
      schema: {
        tags: ["back office"],
        summary: "Generation costs: totals, per model, per ebook and per writing project",
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: { limit: { type: "integer", minimum: 1, maximum: 1000, default: 100 } }
        },
        response: {
          200: {
            type: "object",
            properties: {
              currency: { type: "string" },
              totalCostUsd: money,
              ...counts,
              byModel: { type: "array", items: modelSchema },
              ebooks: {
                type: "array",
                items: {
                  type: "object",
                  properties: { ebookId: { type: "string" }, title: nullable("string"), status: { type: "string" }, calculatedCostUsd: nullable("string"), totalCostUsd: money, ...counts }
                }
              },
              ebooksTotal: { type: "integer" },
              projects: {
                type: "array",
                items: { type: "object", properties: { projectId: { type: "string" }, totalCostUsd: money, ...counts } }
              },
              projectsTotal: { type: "integer" }
            }
          },
          400: errorSchema
        }
      }
    },
    async (request) => {
      const { limit } = request.query as { limit: number }
      return readCosts(context.db, context.schema, table, limit)
    }
  )

  app.get(
    "/costs/:ebookId",
    {
      schema: {
        tags: ["back office"],
        summary: "What one ebook cost, per model",
        params: { type: "object", required: ["ebookId"], properties: { ebookId: { type: "string", pattern: idPattern } } },
        response: {
          200: {
            type: "object",
            properties: {
              ebookId: { type: "string" },
              title: nullable("string"),
              pages: nullable("integer"),
              status: { type: "string" },
              totalCostUsd: money,
              ...counts,
              calculatedCostUsd: nullable("string"),
              reason: nullable("string"),
              startedAt: nullable("string"),
              finishedAt: nullable("string"),
              byModel: { type: "array", items: modelSchema }
            }
          },
          400: errorSchema,
          404: errorSchema
        }
      }
    },
    async (request) => {
      const { ebookId } = request.params as { ebookId: string }
      const cost = await readEbookCost(context.db, context.schema, table, ebookId)
      if (cost === undefined) throw httpError(404, "NotFound", `no ebook ${ebookId} in the generation costs`)
      return cost
    }
  )
}
