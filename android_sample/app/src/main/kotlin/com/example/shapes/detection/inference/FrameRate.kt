package com.example.shapes.detection.inference

/** Frames per second over the last frames (an exponential moving average of the intervals). */
class FrameRate(private val smoothing: Float = 0.2f) {
    private var lastNanos = -1L
    private var meanIntervalNanos = 0f

    /** Frames per second so far; 0 until two frames were seen. */
    var perSecond: Float = 0f
        private set

    /** Records a frame at [nowNanos] (System.nanoTime()) and returns the updated rate. */
    fun tick(nowNanos: Long): Float {
        if (lastNanos >= 0 && nowNanos > lastNanos) {
            val interval = (nowNanos - lastNanos).toFloat()
            meanIntervalNanos = if (meanIntervalNanos == 0f) interval else meanIntervalNanos + smoothing * (interval - meanIntervalNanos)
            perSecond = 1e9f / meanIntervalNanos
        }
        lastNanos = nowNanos
        return perSecond
    }

    fun reset() {
        lastNanos = -1L
        meanIntervalNanos = 0f
        perSecond = 0f
    }
}
