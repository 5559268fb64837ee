/**
 * A project's TypeScript for the built command, without a loader hook: the
 * config (or a file of machines) and the project files it imports, bundled by
 * esbuild into one ES module, written for the moment of its import where Node
 * resolves packages as it would for the config (its folder's
 * node_modules/.cache/orrery, else beside it).
 *
 * Why not tsx's hooks, as under `tsx` in this repository: once registered,
 * every module Node loads afterwards is resolved and loaded through a hook
 * thread, and each project file is compiled on its own. A command spent most
 * of its start there (a config of six domains: 0.6–0.9 s, bundled: 0.07 s).
 *
 * What stays as it was:
 * - packages are left to Node, resolved from the config's folder as before,
 *   so `effect` and `xstate` are the instances the command itself runs;
 * - `orrery` and its entry points (`orrery/testing`, …) are this very package,
 *   whatever the project's node_modules hold: one set of workflows, Layers and
 *   error classes;
 * - each file's `import.meta.url` (and `dirname`, `filename`, and a CommonJS
 *   file's `__dirname`, `__filename`) is its own, not the bundle's: an
 *   inspector page's module is found beside the file that names it;
 * - `require` works in a file written as CommonJS;
 * - errors point into the TypeScript (an inline source map).
 */
import { randomBytes } from "node:crypto"
import { existsSync } from "node:fs"
import { mkdir, readFile, rm, writeFile } from "node:fs/promises"
import { basename, dirname, extname, join } from "node:path"
import { pathToFileURL } from "node:url"

/** esbuild's loader for a project file, by its extension. */
const loaders: Record<string, "ts" | "tsx" | "js" | "jsx"> = {
  ".ts": "ts", ".mts": "ts", ".cts": "ts", ".tsx": "tsx", ".js": "js", ".mjs": "js", ".cjs": "js", ".jsx": "jsx"
}

/** A file's own place, where its source asks for it (a property named so, `x.__dirname`, is left alone). */
const ownPlace = (source: string, file: string) =>
  source
    .replace(/\bimport\.meta\.url\b/g, JSON.stringify(pathToFileURL(file).href))
    .replace(/\bimport\.meta\.dirname\b/g, JSON.stringify(dirname(file)))
    .replace(/\bimport\.meta\.filename\b/g, JSON.stringify(file))
    .replace(/(?<![.\w$])__dirname(?![\w$])/g, JSON.stringify(dirname(file)))
    .replace(/(?<![.\w$])__filename(?![\w$])/g, JSON.stringify(file))

/**
 * The module's text, to be written at `outfile`: `file` and the project files it imports in one ES
 * module, packages external, `orrery` imports pointing at this package's own entry points. Throws
 * esbuild's error (file, line, column and what is wrong) when the TypeScript does not compile.
 *
 * @example
 * const text = await bundle("/project/orrery.config.ts", "/project/.orrery.config.ts.1234-ab12cd34.mjs")
 */
export const bundle = async (file: string, outfile: string): Promise<string> => {
  const { build } = await import("esbuild")
  const result = await build({
    entryPoints: [file],
    // Not written by esbuild: the place its source map's paths are relative to.
    outfile,
    bundle: true,
    write: false,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    sourcemap: "inline",
    logLevel: "silent",
    plugins: [{
      name: "orrery-project",
      setup: (build) => {
        build.onResolve({ filter: /^orrery(\/.*)?$/ }, (args) => ({ path: import.meta.resolve(args.path), external: true }))
        build.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, async (args) => ({
          contents: ownPlace(await readFile(args.path, "utf8"), args.path),
          loader: loaders[extname(args.path)] ?? "js"
        }))
      }
    }]
  })
  const text = result.outputFiles[0]!.text
  // esbuild calls `require` for a CommonJS file's own `require(...)`; an ES module has none of its own.
  return text.includes("__require(")
    ? `import { createRequire as __orreryRequire } from "node:module";\nconst require = __orreryRequire(${JSON.stringify(pathToFileURL(file).href)});\n${text}`
    : text
}

/**
 * Where the module is written so that Node resolves its packages as it would the file's own: in the
 * folder's node_modules/.cache/orrery when it has a node_modules (Node looks in the same node_modules
 * folders from there, and file watchers leave node_modules alone), else beside the file.
 */
const folderFor = async (file: string) => {
  const modules = join(dirname(file), "node_modules")
  if (!existsSync(modules)) return dirname(file)
  const cache = join(modules, ".cache", "orrery")
  await mkdir(cache, { recursive: true })
  return cache
}

/**
 * Imports `file` bundled: the module is written where its packages resolve as the file's own would,
 * imported, and removed. Answers undefined when the folder cannot be written (a read-only image): the
 * caller then loads the file another way.
 *
 * @example
 * const namespace = await importBundled("/project/orrery.config.ts")
 */
export const importBundled = async (file: string): Promise<Record<string, unknown> | undefined> => {
  let written: string
  try {
    written = join(await folderFor(file), `.${basename(file)}.${process.pid}-${randomBytes(4).toString("hex")}.mjs`)
    await writeFile(written, await bundle(file, written), { flag: "wx" })
  } catch (error) {
    const code = (error as { code?: unknown }).code
    if (code === "EACCES" || code === "EROFS" || code === "EPERM") return undefined
    throw error
  }
  // Stack traces through the project's code name its TypeScript files and lines, as they did under tsx.
  process.setSourceMapsEnabled(true)
  try {
    return (await import(pathToFileURL(written).href)) as Record<string, unknown>
  } finally {
    await rm(written, { force: true })
  }
}
