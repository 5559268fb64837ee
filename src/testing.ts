/**
 * # orrery/testing
 *
 * Test your own workflows on the real engine, with time you control:
 *
 * ```ts
 * import { createTestOrrery } from "orrery/testing"
 *
 * const t = await createTestOrrery({ workflows: [signupWorkflow], services: FakeMailer.layer })
 * const signup = await t.client.start("signup", { email: "a@example.com" })
 * await t.time.advance("24h")       // fires every timer due by then, in order, without waiting
 * expect((await signup.get()).state).toBe("expired")
 * await t.close()
 * ```
 *
 * Each test Orrery has its own in-memory database; activities run their real
 * Effect programs with the services you give (fakes, usually), and timers,
 * retries and backoffs follow the test's clock.
 *
 * @module
 */
export {
  createTestOrrery,
  SettleTimeout,
  type CreateTestOrreryOptions,
  type PendingTask,
  type TestOrrery,
  type TestTime
} from "./testing/test-orrery.js"
export { makeJumpingClock, type JumpingClock } from "./testing/test-clock.js"
