package com.example.shapes.detection.ui

import android.content.Context
import android.graphics.Canvas
import android.util.AttributeSet
import android.view.View
import com.example.shapes.detection.task.TaskResult

/** Draws the latest result above the camera preview or the photo. */
class OverlayView(context: Context, attrs: AttributeSet?) : View(context, attrs) {
    private val style = OverlayStyle(resources.displayMetrics.density)
    private var result: TaskResult? = null
    private var imageWidth = 0
    private var imageHeight = 0
    private var fill = true

    /**
     * Shows [result] for an image of [imageWidth] x [imageHeight] pixels that the view below shows
     * filling this view ([fill], the camera preview) or fitted inside it (a photo).
     */
    fun show(result: TaskResult?, imageWidth: Int, imageHeight: Int, fill: Boolean) {
        this.result = result
        this.imageWidth = imageWidth
        this.imageHeight = imageHeight
        this.fill = fill
        invalidate()
    }

    override fun onDraw(canvas: Canvas) {
        super.onDraw(canvas)
        val current = result ?: return
        if (imageWidth <= 0 || imageHeight <= 0) return
        current.draw(canvas, ViewTransform(imageWidth, imageHeight, width, height, fill), style)
    }
}
