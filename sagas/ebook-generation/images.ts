/**
 * `ImageGenerator`: covers and illustrations. The deterministic default names an
 * image by the hash of its prompt (no pixels are drawn); `[images-down]` in the
 * prompt makes it fail as an unavailable service would.
 */
import { Context, Effect, Layer, Schema } from "effect"
import { createHash } from "node:crypto"

export interface ImageRequest {
  readonly kind: "cover" | "illustration"
  readonly prompt: string
  /** Stable across retries: names the request. */
  readonly requestKey: string
}

export interface GeneratedImage {
  readonly imageId: string
  readonly url: string
  readonly model: string
  readonly requestId: string
  readonly width: number
  readonly height: number
}

export class ImageGenerationFailed extends Schema.TaggedError<ImageGenerationFailed>()("ImageGenerationFailed", {
  message: Schema.String
}) {}

export interface ImageGeneratorShape {
  readonly model: string
  readonly generate: (request: ImageRequest) => Effect.Effect<GeneratedImage, ImageGenerationFailed>
}

export const deterministicIllustrator = "deterministic-illustrator"

const hex = (text: string) => createHash("sha256").update(text, "utf8").digest("hex")

export const makeDeterministicImageGenerator = (): ImageGeneratorShape => ({
  model: deterministicIllustrator,
  generate: (request) =>
    Effect.suspend(() => {
      if (/\[images-down\]/i.test(request.prompt)) {
        return Effect.fail(new ImageGenerationFailed({ message: "the deterministic illustrator is down for this prompt ([images-down])" }))
      }
      const imageId = `img_${hex(`${request.kind}|${request.prompt}`).slice(0, 24)}`
      const [width, height] = request.kind === "cover" ? [1024, 1536] : [1024, 1024]
      return Effect.succeed({
        imageId,
        url: `orrery-image://${imageId}.png`,
        model: deterministicIllustrator,
        requestId: `det_img_${hex(request.requestKey).slice(0, 20)}`,
        width,
        height
      })
    })
})

export class ImageGenerator extends Context.Service<ImageGenerator, ImageGeneratorShape>()("orrery/sagas/ebook-generation/ImageGenerator") {
  static readonly deterministic = Layer.sync(ImageGenerator, makeDeterministicImageGenerator)
}
