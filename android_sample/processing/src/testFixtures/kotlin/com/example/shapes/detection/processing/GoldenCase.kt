package com.example.shapes.detection.processing

import java.nio.ByteBuffer
import java.nio.ByteOrder

/** Where the golden files are read: the test classpath on the JVM, the test APK's assets on a device. */
fun interface GoldenFiles {
    /** The bytes of [path] (such as `golden/cases.txt`), or null when there is no such file. */
    fun read(path: String): ByteArray?

    companion object {
        /** processing/src/test/resources, on the JVM test classpath. */
        val CLASSPATH = GoldenFiles { path -> GoldenCase::class.java.classLoader.getResourceAsStream(path)?.use { it.readBytes() } }
    }
}

/** Which of tensors.json's tolerances applies to outputs computed on a device. */
enum class GoldenBackend(val key: String) { CPU("cpu"), GPU("gpu") }

/**
 * One golden case, written by tflgen into the test resources `golden/<name>/`: the source image,
 * the input tensor the Python reference computed, the raw outputs LiteRT gave for it, and the
 * reference's final results. Shared by the JVM tests and the app's instrumented test.
 */
class GoldenCase(val name: String, private val files: GoldenFiles = GoldenFiles.CLASSPATH) {
    val tensors: Json by lazy { Json.parse(text("tensors.json")) }
    val expected: Json by lazy { Json.parse(text("expected.json")) }

    /** The expected input tensor, in native byte order like the preprocessor's buffer. */
    fun input(): ByteBuffer = tensor(tensors["input"])

    /** The raw outputs LiteRT gave, by output index, as the direct native-order buffers the interpreter fills. */
    fun outputs(): List<ByteBuffer> {
        val entries = tensors["outputs"].items
        check(entries.map { it["index"].int() } == entries.indices.toList()) { "$name: outputs are not numbered 0 until ${entries.size}" }
        return entries.map(::tensor)
    }

    /**
     * How far each output computed on [backend] may be from the golden one, per element, in real units (tflgen
     * derives them from the kernels' measured spread and, for a GPU, float16 arithmetic), or null when the goldens
     * give none for [backend] (a GPU running an integer model: see the README).
     */
    fun tolerances(backend: GoldenBackend): Tolerances? {
        val entries = tensors["outputs"].items.map { it["tolerance"] }
        if (entries.any { !it.has(backend.key) }) return null
        return Tolerances(FloatArray(entries.size) { entries[it][backend.key].float() })
    }

    /** Where the model saw the image: its size recorded in expected.json, fitted by ModelSpec's resize mode. */
    fun placement(): Placement {
        val image = expected["image"]
        val input = ModelSpec.input
        return Placement.of(input.resize, image["width"].int(), image["height"].int(), input.width, input.height)
    }

    /** The case as failure messages name it: with the backend whose outputs are checked, if any. */
    fun on(backend: String?): String = if (backend == null) name else "$name on $backend"

    fun bytes(file: String): ByteArray = files.read("$ROOT/$name/$file") ?: error("$name: $file is missing")

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
        target.rewindAsBuffer()
        return target
    }

    override fun toString() = name

    companion object {
        const val ROOT = "golden"

        /** The cases listed in golden/cases.txt (none when it is missing). */
        fun all(files: GoldenFiles = GoldenFiles.CLASSPATH): List<GoldenCase> =
            files.read("$ROOT/cases.txt")?.toString(Charsets.UTF_8)?.lines()?.filter { it.isNotBlank() }?.map { GoldenCase(it, files) }.orEmpty()
    }
}
