package com.example.shapes.detection.ui

import android.graphics.Bitmap
import android.graphics.Canvas
import android.graphics.Color
import android.graphics.Paint
import android.graphics.RectF

/** How results are drawn: one set of paints, sized for the screen's density. */
class OverlayStyle(density: Float) {
    private val boxPaint = Paint(Paint.ANTI_ALIAS_FLAG).apply {
        style = Paint.Style.STROKE
        strokeWidth = 3f * density
    }
    private val captionBackground = Paint().apply { style = Paint.Style.FILL }
    private val captionText = Paint(Paint.ANTI_ALIAS_FLAG).apply {
        color = Color.WHITE
        textSize = 14f * density
    }
    private val padding = 4f * density

    // The mask is at the model's resolution: scale it without smoothing so class borders stay sharp.
    private val maskPaint = Paint().apply { isFilterBitmap = false }

    fun drawBox(canvas: Canvas, left: Float, top: Float, right: Float, bottom: Float, color: Int, caption: String) {
        boxPaint.color = color
        canvas.drawRect(left, top, right, bottom, boxPaint)
        val textWidth = captionText.measureText(caption)
        val textHeight = captionText.textSize
        // Above the box, or inside it when the box touches the top edge.
        val captionTop = if (top - textHeight - 2 * padding >= 0f) top - textHeight - 2 * padding else top
        captionBackground.color = color
        canvas.drawRect(left, captionTop, left + textWidth + 2 * padding, captionTop + textHeight + 2 * padding, captionBackground)
        canvas.drawText(caption, left + padding, captionTop + padding + textHeight - captionText.descent(), captionText)
    }

    fun drawMask(canvas: Canvas, mask: Bitmap, target: RectF) {
        canvas.drawBitmap(mask, null, target, maskPaint)
    }
}
