package com.example.shapes.detection.inference

/**
 * Where the next frame may run after failures, so that a failing engine is not closed and reopened
 * on every frame: a GPU or NNAPI engine that fails falls back to the CPU once; an engine that fails
 * on the CPU stops inference until the user changes a setting ([reset]). Plain Kotlin, unit-tested.
 */
class EngineHealth {
    private var cpuOnly = false

    /** Why inference stopped, or null while it may run. */
    var stopped: String? = null
        private set

    /** The backend to open for [asked], or null when inference has stopped. */
    fun backendFor(asked: Backend): Backend? = when {
        stopped != null -> null
        cpuOnly -> Backend.CPU
        else -> asked
    }

    /** Records that the engine on [backend] failed for [reason]; returns the notice to show. */
    fun failed(backend: Backend, reason: String): String =
        if (backend == Backend.CPU) {
            stopped = reason
            "Inference stopped: $reason. Choose another backend or thread count to try again."
        } else {
            cpuOnly = true
            "$backend failed ($reason): running on the CPU"
        }

    /** The settings changed: try the asked backend again. */
    fun reset() {
        cpuOnly = false
        stopped = null
    }
}
