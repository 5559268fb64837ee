/** A domain that registers its own routes on the server, as machines/ and sagas/ folders do. */
import { Layer } from "effect"
import type { Domain } from "../../src/domain.js"
import { Engine } from "../../src/engine/index.js"

export const thingsDomain: Domain = {
  name: "things",
  workflows: [],
  projections: [],
  services: Layer.empty as Layer.Layer<any, never, never>,
  routes: async (app, { db, schema, run }) => {
    // Reads through the engine: its typed failures come out as the API's statuses.
    app.get<{ Params: { id: string } }>("/things/:id", async (request) => run(Engine.use((engine) => engine.get("flaky", request.params.id))))
    // Reads the database the domain's read models live in.
    app.get("/things", async () => {
      const [row] = await db.query<{ n: number }>(`select count(*)::int as n from ${schema}.instances`)
      return { instances: row!.n }
    })
    // A bug: must come out as a 500 with an error id, never as a stack.
    app.post("/things/boom", async () => {
      throw new Error("kaboom in /srv/app/things.ts")
    })
  }
}
