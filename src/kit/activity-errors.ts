/**
 * Reading an activity's failure inside a machine. The engine hands an
 * `onError` transition the activity's typed error as plain data
 * (`{ _tag, message, ...fields }`); these helpers turn it into a tag to branch
 * on or a reason to record, the same way in every domain.
 */

/** The error's `_tag`, if it has one. */
export const errorTag = (error: unknown): string | undefined => {
  const tag = (error as { _tag?: unknown } | null)?._tag
  return typeof tag === "string" ? tag : undefined
}

/** The error's message, else its tag, else "failed". */
export const errorMessage = (error: unknown): string => {
  const e = error as { message?: unknown; _tag?: unknown } | null
  return typeof e?.message === "string" ? e.message : typeof e?._tag === "string" ? e._tag : "failed"
}

/** `Tag: message` (or just the tag, "Error" when there is none). */
export const describeError = (error: unknown): string => {
  const e = (error ?? {}) as { _tag?: unknown; message?: unknown }
  const tag = typeof e._tag === "string" ? e._tag : "Error"
  return typeof e.message === "string" && e.message !== "" ? `${tag}: ${e.message}` : tag
}
