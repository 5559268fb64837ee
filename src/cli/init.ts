/**
 * `orrery init <dir>`: writes a new project that depends on Orrery — its
 * package.json, tsconfig, orrery.config.ts, one workflow (an activity and a
 * timer), a test on `orrery/testing`, .gitignore and README. It refuses a
 * directory that is not empty. Only Node's fs: it starts fast.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { basename, dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { BadUsage, complain, say } from "./output.js"
import * as template from "./templates/project.js"

interface OurPackage {
  readonly name: string
  readonly version: string
  readonly devDependencies?: Readonly<Record<string, string>>
}

/** Orrery's own package.json: found upwards from this file (src/cli in the repository, dist/src/cli installed). */
const ourPackage = (): OurPackage => {
  let folder = dirname(fileURLToPath(import.meta.url))
  while (true) {
    const file = join(folder, "package.json")
    if (existsSync(file)) {
      const found = JSON.parse(readFileSync(file, "utf8")) as OurPackage
      if (found.name === "orrery") return found
    }
    const parent = dirname(folder)
    if (parent === folder) throw new Error("cannot find orrery's package.json")
    folder = parent
  }
}

/** A package name npm takes: lower case, no spaces. */
const packageNameOf = (dir: string) => basename(resolve(dir)).toLowerCase().replace(/[^a-z0-9._-]+/g, "-").replace(/^[._-]+/, "") || "orrery-app"

/**
 * Writes the project into `dir` (made if missing; refused if not empty).
 *
 * @example
 * ```ts
 * writeProject("./my-app", {}) // then: cd my-app && npm install && npm start
 * ```
 */
export const writeProject = (dir: string, options: { readonly orrery?: string | undefined }): ReadonlyArray<string> => {
  const target = resolve(dir)
  if (existsSync(target) && readdirSync(target).length > 0) throw new BadUsage({ message: `${dir} is not empty; orrery init writes a new project into an empty or new directory` })
  const ours = ourPackage()
  const dev = ours.devDependencies ?? {}
  const versions: template.ProjectVersions = {
    orrery: options.orrery ?? `^${ours.version}`,
    effect: dev.effect ?? "^4.1.0",
    xstate: dev.xstate ?? "^5.33.3",
    typescript: dev.typescript ?? "^5.9.3",
    vitest: dev.vitest ?? "^4.1.12",
    typesNode: dev["@types/node"] ?? "^20.19.43"
  }
  const files: ReadonlyArray<readonly [string, string]> = [
    ["package.json", template.packageJson(packageNameOf(dir), versions)],
    ["tsconfig.json", template.tsconfig],
    ["vitest.config.ts", template.vitestConfig],
    [".gitignore", template.gitignore],
    ["README.md", template.readme(packageNameOf(dir))],
    ["orrery.config.ts", template.config],
    ["src/signup.ts", template.workflow],
    ["test/signup.test.ts", template.test]
  ]
  for (const [name, text] of files) {
    mkdirSync(dirname(join(target, name)), { recursive: true })
    writeFileSync(join(target, name), text, { flag: "wx" })
  }
  return files.map(([name]) => name)
}

export const init = async (dir: string, options: { readonly orrery?: string | undefined }) => {
  try {
    const written = writeProject(dir, options)
    say(`made ${dir}: ${written.join(", ")}`)
    say(`next: cd ${dir} && npm install && npm start    (and npm test)`)
    process.exit(0)
  } catch (error) {
    complain(error instanceof Error ? error.message : String(error))
    process.exit(error instanceof BadUsage ? 2 : 1)
  }
}
