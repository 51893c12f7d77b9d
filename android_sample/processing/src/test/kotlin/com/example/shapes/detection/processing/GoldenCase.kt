package com.example.shapes.detection.processing

import java.io.ByteArrayInputStream
import java.nio.ByteBuffer
import java.nio.ByteOrder
import javax.imageio.ImageIO

/** Pixels as the app gets them from a Bitmap: ARGB, row after row. */
class ArgbImage(val width: Int, val height: Int, val pixels: IntArray)

/**
 * One golden case, written by tflgen into the test resources `golden/<name>/`: the source image,
 * the input tensor the Python reference computed, the raw outputs LiteRT gave for it, and the
 * reference's final results.
 */
class GoldenCase(val name: String) {
    val tensors: Json by lazy { Json.parse(text("tensors.json")) }
    val expected: Json by lazy { Json.parse(text("expected.json")) }

    /** javax.imageio decodes the PNG on the JVM; on a device the same pixels come from a Bitmap. */
    fun image(): ArgbImage {
        val image = ImageIO.read(ByteArrayInputStream(bytes("image.png"))) ?: error("$name: image.png is not a readable PNG")
        val pixels = image.getRGB(0, 0, image.width, image.height, null, 0, image.width)
        return ArgbImage(image.width, image.height, pixels)
    }

    /** The expected input tensor, in native byte order like the preprocessor's buffer. */
    fun input(): ByteBuffer = tensor(tensors["input"])

    /** The raw outputs LiteRT gave, by output index, as the direct native-order buffers the interpreter fills. */
    fun outputs(): List<ByteBuffer> {
        val entries = tensors["outputs"].items
        check(entries.map { it["index"].int() } == entries.indices.toList()) { "$name: outputs are not numbered 0 until ${entries.size}" }
        return entries.map(::tensor)
    }

    fun bytes(file: String): ByteArray = resource("$ROOT/$name/$file") ?: error("$name: $file is missing")

    private fun text(file: String) = bytes(file).toString(Charsets.UTF_8)

    /** A tensor file (little-endian) copied element by element into a native-order direct buffer. */
    private fun tensor(entry: Json): ByteBuffer {
        val type = TensorType.valueOf(entry["dtype"].string().uppercase())
        val source = ByteBuffer.wrap(bytes(entry["file"].string())).order(ByteOrder.LITTLE_ENDIAN)
        val target = ByteBuffer.allocateDirect(source.capacity()).order(ByteOrder.nativeOrder())
        when (type.bytes) {
            1 -> target.put(source)
            4 -> target.asIntBuffer().put(source.asIntBuffer())
            8 -> target.asLongBuffer().put(source.asLongBuffer())
        }
        return target.rewind()
    }

    override fun toString() = name

    companion object {
        const val ROOT = "golden"

        /** The cases listed in golden/cases.txt (none when it is missing). */
        fun all(): List<GoldenCase> =
            resource("$ROOT/cases.txt")?.toString(Charsets.UTF_8)?.lines()?.filter { it.isNotBlank() }?.map(::GoldenCase).orEmpty()

        private fun resource(path: String): ByteArray? =
            GoldenCase::class.java.classLoader.getResourceAsStream(path)?.use { it.readBytes() }
    }
}
