/**
 * Prepared statements on PGlite. PGlite's own `query` parses and plans every
 * call and crosses into WASM six times (parse, describe, bind, describe,
 * execute, sync); the log's append then ran at half a bare insert. Here each
 * statement text is parsed once under a name (with its parameter and row
 * types), and every later call is one message: Bind, Execute, Sync. Measured
 * on the log's append: 2,080 → 6,611 appends/s (bench/log.ts has the figures).
 *
 * The messages are the Postgres frontend protocol (v3), written here because
 * PGlite does not export its serializer; the answers come back parsed by
 * `execProtocol`. Locks are PGlite's own: a call outside a transaction takes
 * the transaction lock and the query lock as `query` does; one inside takes the
 * query lock only (its transaction holds the other).
 */
import type { PGlite } from "@electric-sql/pglite"

/** What a statement takes and answers, learnt once when it is parsed. */
interface Prepared {
  readonly name: string
  readonly parameterTypes: ReadonlyArray<number>
  readonly fields: ReadonlyArray<{ readonly name: string; readonly dataTypeID: number }>
}

interface BackendMessage {
  readonly name: string
  readonly dataTypeIDs?: ReadonlyArray<number>
  readonly fields?: ReadonlyArray<unknown>
}

/** Statements kept per database; the least recently used one is closed beyond this many (list queries vary their text). */
const CAPACITY = 256

/** Errors after which a statement is parsed again: its result type changed, or the server forgot its name. */
const STALE = new Set(["0A000", "26000"])

const encoder = new TextEncoder()

const cString = (text: string): Uint8Array => {
  const bytes = encoder.encode(text)
  const out = new Uint8Array(bytes.length + 1)
  out.set(bytes)
  return out
}

const int16 = (n: number): Uint8Array => {
  const out = new Uint8Array(2)
  new DataView(out.buffer).setInt16(0, n)
  return out
}

const int32 = (n: number): Uint8Array => {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setInt32(0, n)
  return out
}

const join = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0))
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

/** One frontend message: its code, then its length (itself included), then its body. */
const message = (code: string, body: ReadonlyArray<Uint8Array>): Uint8Array =>
  join([encoder.encode(code), int32(4 + body.reduce((sum, part) => sum + part.length, 0)), ...body])

const parseMessage = (name: string, text: string) => message("P", [cString(name), cString(text), int16(0)])
const describeStatement = (name: string) => message("D", [encoder.encode("S"), cString(name)])
const closeStatement = (name: string) => message("C", [encoder.encode("S"), cString(name)])
const executeMessage = message("E", [cString(""), int32(0)])
const syncMessage = message("S", [])

/** Bind to the unnamed portal; every value in text format (null as length -1), every result column in text format. */
const bindMessage = (name: string, values: ReadonlyArray<string | null>) =>
  message("B", [
    cString(""),
    cString(name),
    int16(0),
    int16(values.length),
    ...values.flatMap((value) => {
      if (value === null) return [int32(-1)]
      const bytes = encoder.encode(value)
      return [int32(bytes.length), bytes]
    }),
    int16(0)
  ])

export interface PreparedQueries {
  /** Runs `text` with `params`; `inTransaction` when called from inside a PGlite transaction. */
  readonly query: (text: string, params: ReadonlyArray<unknown>, inTransaction: boolean) => Promise<Array<Record<string, unknown>>>
}

/**
 * A statement cache over one PGlite database.
 *
 * @example
 * const prepared = preparedQueries(pg)
 * const rows = await prepared.query("select $1::integer + 1 as n", [41], false) // [{ n: 42 }]
 */
export const preparedQueries = (pg: PGlite): PreparedQueries => {
  const statements = new Map<string, Prepared>()
  /** Names evicted from the cache, closed with the next message sent. */
  let toClose: Array<string> = []
  let counter = 0

  const send = async (parts: ReadonlyArray<Uint8Array>, inTransaction: boolean) => {
    const closing = toClose.map(closeStatement)
    toClose = []
    const { messages } = await pg.execProtocol(join([...closing, ...parts, syncMessage]), { syncToFs: !inTransaction })
    return messages as unknown as ReadonlyArray<BackendMessage>
  }

  const prepare = async (text: string, inTransaction: boolean): Promise<Prepared> => {
    const name = `orrery_${++counter}`
    const answers = await send([parseMessage(name, text), describeStatement(name)], inTransaction)
    const prepared: Prepared = {
      name,
      parameterTypes: answers.find((answer) => answer.name === "parameterDescription")?.dataTypeIDs ?? [],
      fields: (answers.find((answer) => answer.name === "rowDescription")?.fields ?? []) as Prepared["fields"]
    }
    statements.set(text, prepared)
    if (statements.size > CAPACITY) {
      const [oldest] = statements
      statements.delete(oldest![0])
      toClose.push(oldest![1].name)
    }
    return prepared
  }

  const serialize = (prepared: Prepared, params: ReadonlyArray<unknown>): Array<string | null> =>
    params.map((value, i) => {
      if (value === null || value === undefined) return null
      const serializer = pg.serializers[prepared.parameterTypes[i]!]
      return serializer === undefined ? String(value) : serializer(value)
    })

  const rowsOf = (prepared: Prepared, answers: ReadonlyArray<BackendMessage>): Array<Record<string, unknown>> => {
    const parsers = prepared.fields.map((field) => pg.parsers[field.dataTypeID])
    const rows: Array<Record<string, unknown>> = []
    for (const answer of answers) {
      if (answer.name !== "dataRow") continue
      const row: Record<string, unknown> = {}
      prepared.fields.forEach((field, i) => {
        const value = answer.fields![i] as string | null
        const parser = parsers[i]
        row[field.name] = value === null ? null : parser === undefined ? value : parser(value, field.dataTypeID)
      })
      rows.push(row)
    }
    return rows
  }

  const run = async (text: string, params: ReadonlyArray<unknown>, inTransaction: boolean, retried = false) => {
    let prepared = statements.get(text)
    if (prepared === undefined) {
      prepared = await prepare(text, inTransaction)
    } else {
      // Most recently used last, so that eviction takes the coldest.
      statements.delete(text)
      statements.set(text, prepared)
    }
    try {
      return rowsOf(prepared, await send([bindMessage(prepared.name, serialize(prepared, params)), executeMessage], inTransaction))
    } catch (error) {
      const code = (error as { code?: unknown }).code
      if (typeof code !== "string" || !STALE.has(code)) throw error
      statements.delete(text)
      toClose.push(prepared.name)
      // Inside a transaction the error has aborted it: the caller's retry parses afresh.
      if (retried || inTransaction) throw error
      return run(text, params, inTransaction, true)
    }
  }

  return {
    query: async (text, params, inTransaction) => {
      if (inTransaction) return pg._runExclusiveQuery(() => run(text, params, true))
      await pg._checkReady()
      return pg._runExclusiveTransaction(() => pg._runExclusiveQuery(() => run(text, params, false)))
    }
  }
}
