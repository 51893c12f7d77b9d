package com.example.shapes.detection.processing

import java.nio.ByteBuffer
import kotlin.math.abs

/**
 * Per output index, how far each element may be from the golden value, in the output's real
 * (dequantized) units. [EXACT] is all zeros: results computed from the golden outputs themselves.
 */
class Tolerances(private val byIndex: FloatArray) {
    val exact: Boolean get() = byIndex.all { it == 0f }

    operator fun get(output: OutputSpec): Float = byIndex[output.index]

    companion object {
        val EXACT: Tolerances get() = Tolerances(FloatArray(ModelSpec.outputs.size))
    }
}

/**
 * Roles whose outputs are already decisions: the detection op's detections sorted by score, and a
 * label map (an argmax inside the model). A near-tie can reorder or flip them, so they are compared
 * as results (the task's checkResults), not element by element.
 */
val DECIDED_ROLES = setOf(Role.BOXES, Role.CLASSES, Role.SCORES, Role.COUNT, Role.LABEL_MAP)

/**
 * Compares [actual] outputs (computed on [backend]) with the case's golden outputs, element by element in real
 * units, each within its tolerance. Returns null when all are within, else a message naming the case, the
 * backend, the output and its worst element.
 */
fun outputMismatch(case: GoldenCase, backend: String, actual: List<ByteBuffer>, tolerances: Tolerances): String? {
    val golden = case.outputs()
    for (output in ModelSpec.outputs.sortedBy { it.index }) {
        if (output.role in DECIDED_ROLES) continue
        val want = output.readFloats(golden[output.index])
        val got = output.readFloats(actual[output.index])
        val tolerance = tolerances[output]
        var worst = -1
        var worstDifference = 0f
        var beyond = 0
        for (i in want.indices) {
            val difference = abs(got[i] - want[i]).let { if (it.isNaN()) Float.POSITIVE_INFINITY else it }
            if (difference > tolerance) beyond++
            if (difference > worstDifference) {
                worst = i
                worstDifference = difference
            }
        }
        if (beyond > 0) {
            return "$case on $backend: output ${output.index} (${output.role}) at ${position(output.shape, worst)} is ${got[worst]}, " +
                "the golden value is ${want[worst]}: off by $worstDifference, beyond the tolerance $tolerance " +
                "($beyond of ${want.size} values beyond it)"
        }
    }
    return null
}

/** Element [index] of a tensor of [shape] as its coordinates, such as [0, 12, 7, 3]. */
fun position(shape: IntArray, index: Int): String {
    val coordinates = IntArray(shape.size)
    var rest = index
    for (axis in shape.indices.reversed()) {
        coordinates[axis] = rest % shape[axis]
        rest /= shape[axis]
    }
    return coordinates.joinToString(", ", "[", "]")
}
