/**
 * Where Orrery keeps its tables: the Postgres schema of the log, the engine's
 * tables and the read models. Activities whose services keep state beside the
 * log (stock, seat holds, a read model they consult) put and read theirs there.
 */
import { Context } from "effect"

export class OrrerySchema extends Context.Service<OrrerySchema, { readonly name: string }>()("orrery/OrrerySchema") {}
