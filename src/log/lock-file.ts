/**
 * `<dataDir>.lock`: which process holds an embedded PGlite folder, and where
 * that process serves the HTTP API, so that the CLI can go through it instead
 * of opening the folder. The file holds JSON, `{"pid":123,"url":"http://…"}`;
 * the older form, the pid alone, still reads. Only Node's fs here: the CLI
 * reads it before it loads anything else.
 */
import * as fs from "node:fs"
import * as path from "node:path"

export interface LockHolder {
  readonly pid: number
  /** The HTTP API of the holder, when it serves one (`orrery start`). */
  readonly url?: string
}

export const lockPath = (dataDir: string) => `${path.resolve(dataDir)}.lock`

/** The lock's contents: JSON `{pid, url?}`, or (as older versions wrote it) the pid alone; undefined when unreadable. */
export const parseLock = (text: string): LockHolder | undefined => {
  const trimmed = text.trim()
  if (/^\d+$/.test(trimmed)) return { pid: Number(trimmed) }
  try {
    const value = JSON.parse(trimmed) as { pid?: unknown; url?: unknown }
    if (typeof value.pid !== "number" || !Number.isInteger(value.pid) || value.pid <= 0) return undefined
    return typeof value.url === "string" ? { pid: value.pid, url: value.url } : { pid: value.pid }
  } catch {
    return undefined
  }
}

export const formatLock = (holder: LockHolder) => JSON.stringify(holder)

export const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** The live process (other than this one) holding `dataDir`, or undefined when the folder is free. */
export const lockHolder = (dataDir: string): LockHolder | undefined => {
  let text: string
  try {
    text = fs.readFileSync(lockPath(dataDir), "utf8")
  } catch {
    return undefined
  }
  const holder = parseLock(text)
  return holder !== undefined && holder.pid !== process.pid && isAlive(holder.pid) ? holder : undefined
}

/** "process 123" or "process 123 (serving http://…)": how refusals name a holder. */
export const describeHolder = (holder: LockHolder) => `process ${holder.pid}${holder.url === undefined ? "" : ` (serving ${holder.url})`}`

/** Records in this process's lock where it serves the HTTP API; false when the lock is not this process's. */
export const announceUrl = (dataDir: string, url: string): boolean => {
  const file = lockPath(dataDir)
  try {
    if (parseLock(fs.readFileSync(file, "utf8"))?.pid !== process.pid) return false
    // Written aside and renamed over: a reader never sees half a file.
    const aside = `${file}.${process.pid}.tmp`
    fs.writeFileSync(aside, formatLock({ pid: process.pid, url }))
    fs.renameSync(aside, file)
    return true
  } catch {
    return false
  }
}
