// What both peer scripts measure the same way: CPU of this process and of every
// Postgres process on the machine, and the loopback-only guard on the database URL.
// CPU is what makes figures comparable on a shared two-core box: rates move with
// whatever else runs, CPU per unit of work much less so.
import { execSync } from "node:child_process"
import { readFileSync, readdirSync } from "node:fs"

/** Throws unless `url` names a loopback host: these scripts load a database hard and must never aim at another. */
export const requireLoopback = (url) => {
  const host = new URL(url).hostname
  if (!/^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(host)) {
    throw new Error(`refusing non-loopback database host ${host}`)
  }
}

const TICK_MICROS = 1e6 / Number(execSync("getconf CLK_TCK").toString().trim())

/**
 * CPU (µs) used so far by every process named `postgres`: /proc/<pid>/stat fields 14
 * and 15 (utime, stime) are in clock ticks; the text after the last ") " skips the
 * comm field, which may itself contain spaces.
 */
export const postgresCpuMicros = () => {
  let ticks = 0
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() !== "postgres") continue
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8")
      const fields = stat.slice(stat.lastIndexOf(") ") + 2).split(" ")
      // After the comm, field 3 (state) is index 0, so utime (14) is 11 and stime (15) is 12.
      ticks += Number(fields[11]) + Number(fields[12])
    } catch {
      // The process ended between readdir and read: its CPU is lost either way.
    }
  }
  return ticks * TICK_MICROS
}

/** CPU (µs) used so far by this process, user and system. */
export const clientCpuMicros = () => {
  const { user, system } = process.cpuUsage()
  return user + system
}
