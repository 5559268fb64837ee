/**
 * The suite's global set-up: builds the package once (`npm run build`, as
 * `prepack` does), so that every test running the `orrery` command runs what
 * a user installs — dist/src/cli/main.js under plain Node — and none pays for
 * compiling the sources in its own process (through tsx, a second or more of
 * each command's start).
 */
import { execFile } from "node:child_process"
import { promisify } from "node:util"
import { root } from "./cli-process.js"

export default async function build() {
  try {
    await promisify(execFile)("npm", ["run", "build", "--silent"], { cwd: root, maxBuffer: 16 * 1024 * 1024 })
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string }
    throw new Error(`npm run build failed before the tests: ${failed.message}\n${failed.stdout ?? ""}${failed.stderr ?? ""}`)
  }
}
