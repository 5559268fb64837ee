/**
 * Where generated text lives: content-addressed (sha-256), so that machine
 * contexts and events carry a hash and a word count, never the text itself.
 * Two implementations: in memory (the default, and tests) and a folder of files
 * (`ORRERY_CONTENT_DIR`), which survives restarts.
 */
import { Context, Effect, Layer, Schema } from "effect"
import { createHash } from "node:crypto"
import { mkdir, readFile, rename, writeFile } from "node:fs/promises"
import { join } from "node:path"

export class ContentNotFound extends Schema.TaggedError<ContentNotFound>()("ContentNotFound", {
  contentHash: Schema.String
}) {
  override get message() {
    return `no stored content with hash ${this.contentHash}`
  }
}

export class ContentStoreFailed extends Schema.TaggedError<ContentStoreFailed>()("ContentStoreFailed", {
  message: Schema.String
}) {}

export interface ContentStoreShape {
  /** Stores the text (idempotent) and returns its hash, `sha256:<hex>`. */
  readonly put: (text: string) => Effect.Effect<string, ContentStoreFailed>
  readonly get: (contentHash: string) => Effect.Effect<string, ContentNotFound | ContentStoreFailed>
}

export const contentHashOf = (text: string) => `sha256:${createHash("sha256").update(text, "utf8").digest("hex")}`

const hashPattern = /^sha256:[0-9a-f]{64}$/

export const makeMemoryContentStore = (): ContentStoreShape => {
  const texts = new Map<string, string>()
  return {
    put: (text) =>
      Effect.sync(() => {
        const hash = contentHashOf(text)
        texts.set(hash, text)
        return hash
      }),
    get: (contentHash) =>
      Effect.suspend(() => {
        const text = texts.get(contentHash)
        return text === undefined ? Effect.fail(new ContentNotFound({ contentHash })) : Effect.succeed(text)
      })
  }
}

export const makeFileContentStore = (directory: string): ContentStoreShape => {
  const fileOf = (hash: string) => join(directory, `${hash.slice("sha256:".length)}.txt`)
  return {
    put: (text) =>
      Effect.tryPromise({
        try: async () => {
          const hash = contentHashOf(text)
          await mkdir(directory, { recursive: true })
          const temporary = `${fileOf(hash)}.${process.pid}.tmp`
          await writeFile(temporary, text, "utf8")
          await rename(temporary, fileOf(hash))
          return hash
        },
        catch: (error) => new ContentStoreFailed({ message: `cannot write to ${directory}: ${String(error)}` })
      }),
    get: (contentHash) =>
      hashPattern.test(contentHash)
        ? Effect.tryPromise({
            try: () => readFile(fileOf(contentHash), "utf8"),
            catch: (error) =>
              (error as { code?: string }).code === "ENOENT"
                ? new ContentNotFound({ contentHash })
                : new ContentStoreFailed({ message: `cannot read from ${directory}: ${String(error)}` })
          })
        : Effect.fail(new ContentNotFound({ contentHash }))
  }
}

export class ContentStore extends Context.Service<ContentStore, ContentStoreShape>()("orrery/sagas/shared/ContentStore") {
  static readonly memory = Layer.sync(ContentStore, makeMemoryContentStore)
  static readonly files = (directory: string) => Layer.sync(ContentStore, () => makeFileContentStore(directory))
  /** The folder when one is configured, else memory. */
  static readonly fromConfig = (directory: string | undefined) =>
    directory === undefined ? ContentStore.memory : ContentStore.files(directory)
}
