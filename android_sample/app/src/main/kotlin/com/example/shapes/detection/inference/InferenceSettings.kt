package com.example.shapes.detection.inference

import com.example.shapes.detection.processing.ModelSpec

/** Where the interpreter runs. GPU and NNAPI fall back to the CPU, with a notice, where unavailable. */
enum class Backend { CPU, GPU, NNAPI }

/** What the settings panel controls. Plain Kotlin: no Android types, unit-tested on the JVM. */
data class InferenceSettings(
    /** Results scoring below this are not shown (classification, detection). */
    val scoreThreshold: Float = ModelSpec.SCORE_THRESHOLD,
    /** At most this many classes or boxes are shown. */
    val maxResults: Int = ModelSpec.MAX_RESULTS,
    val backend: Backend = Backend.CPU,
    /** CPU threads of the interpreter. */
    val threads: Int = DEFAULT_THREADS,
) {
    init {
        require(scoreThreshold in 0f..1f) { "score threshold $scoreThreshold is outside 0..1" }
        require(maxResults in 1..MAX_RESULTS_LIMIT) { "max results $maxResults is outside 1..$MAX_RESULTS_LIMIT" }
        require(threads in 1..MAX_THREADS) { "threads $threads is outside 1..$MAX_THREADS" }
    }

    /** Whether going from [previous] to these settings needs a new interpreter (the others apply to the next frame). */
    fun needsNewInterpreter(previous: InferenceSettings): Boolean = backend != previous.backend || threads != previous.threads

    companion object {
        const val MAX_RESULTS_LIMIT = 20
        const val MAX_THREADS = 8
        val DEFAULT_THREADS: Int = Runtime.getRuntime().availableProcessors().coerceIn(1, 4)
    }
}
