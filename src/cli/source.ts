/**
 * Where the read-and-act commands (list, show, history, replay, export, send,
 * retry, cancel, doctor) get their answers: one `OrreryClient`, over HTTP or on the
 * database in this process, so that both print through the same code.
 *
 * The choice: `--url` / ORRERY_URL (with ORRERY_TOKEN) → that server's API;
 * else, when the embedded PGlite folder is held by a running `orrery start`
 * whose lock names its URL → through that server (said on stderr); else the
 * database itself, with the project's workflows.
 */
import type { OrreryClient } from "../client/types.js"
import type { Checkup } from "../orrery/checkup.js"
import { describeHolder, lockHolder } from "../log/lock-file.js"
import type { Config } from "../settings.js"
import { type Say } from "./output.js"
import { loadProject } from "./project.js"

export interface Source {
  readonly client: OrreryClient
  /** The workflow types the other side serves (what a replayed machine may invoke as a child). */
  readonly workflowTypes: () => Promise<ReadonlySet<string>>
  /** The installation's checkup, by the server or on the database here. */
  readonly doctor: () => Promise<Checkup>
  /** Lets go of the database (or nothing, over HTTP). */
  readonly close: () => Promise<void>
}

export type SourceConfig = Pick<Config, "url" | "configFile" | "databaseUrl" | "databasePooler" | "dataDir">

const overHttp = async (url: string, token: string | undefined): Promise<Source> => {
  const { createClient } = await import("../client/http.js")
  const client = createClient({ url, ...(token === undefined || token === "" ? {} : { token }) })
  return {
    client,
    workflowTypes: async () => new Set((await client.machines()).map((machine) => machine.type)),
    doctor: () => client.doctor(),
    close: async () => {}
  }
}

const inProcess = async (config: SourceConfig): Promise<Source> => {
  // Orrery's own modules before the project's: loading a TypeScript config registers tsx's hooks, and every
  // module imported after that is resolved through them (measured: a third of `orrery list`'s start-up).
  const [{ ManagedRuntime }, { databaseLayer }, { applicationLayer, neededMigrations }, { makeInProcessClient }, { checkup }] = await Promise.all([
    import("effect"),
    import("../config.js"),
    import("../orrery/application.js"),
    import("../orrery/in-process-client.js"),
    import("../orrery/checkup.js")
  ])
  const project = await loadProject(config.configFile)
  // No worker and no read models: these commands read and record, they do not run anything.
  const runtime = ManagedRuntime.make(applicationLayer({ domains: project.domains, database: databaseLayer(config), worker: false, projections: false }))
  const types = new Set(project.domains.flatMap((domain) => domain.workflows.map((workflow) => workflow.type)))
  return {
    client: makeInProcessClient((effect) => runtime.runPromise(effect)),
    workflowTypes: async () => types,
    doctor: () => runtime.runPromise(checkup(neededMigrations(project.domains))),
    close: () => runtime.dispose()
  }
}

/**
 * Opens the source the settings choose; `note` says on stderr when a running
 * server was found and is used.
 *
 * @example
 * ```ts
 * const source = await openSource({ url: undefined, configFile: undefined, databaseUrl: undefined, dataDir: ".orrery/data" }, process.env, complain)
 * try { console.log((await source.client.list({ limit: 5 })).items.length) } finally { await source.close() }
 * ```
 */
export const openSource = async (config: SourceConfig, env: NodeJS.ProcessEnv, note: Say): Promise<Source> => {
  if (config.url !== undefined) return overHttp(config.url, env.ORRERY_TOKEN)
  if (config.databaseUrl === undefined) {
    const holder = lockHolder(config.dataDir)
    if (holder?.url !== undefined) {
      note(`the data folder ${config.dataDir} is held by ${describeHolder(holder)}: going through its API`)
      return overHttp(holder.url, env.ORRERY_TOKEN)
    }
  }
  return inProcess(config)
}
