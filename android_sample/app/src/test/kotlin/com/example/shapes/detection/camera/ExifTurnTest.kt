package com.example.shapes.detection.camera

import org.junit.Assert.assertEquals
import org.junit.Test

class ExifTurnTest {
    /** Where the stored image's point ([x], [y]) (0..1, y down) is once [turn] is applied. */
    private fun place(turn: ImageTurn, x: Double, y: Double): Pair<Double, Double> {
        var px = x
        var py = y
        repeat(turn.degrees / 90) { val nx = 1 - py; py = px; px = nx } // a quarter turn clockwise
        if (turn.mirrored) px = 1 - px
        return px to py
    }

    /**
     * The Exif table, as where the stored image's first pixel and the end of its first row land:
     * orientation to (first pixel, end of the first row), as (x, y) corners of the upright picture.
     */
    private val exif = mapOf(
        1 to ((0.0 to 0.0) to (1.0 to 0.0)),
        2 to ((1.0 to 0.0) to (0.0 to 0.0)),
        3 to ((1.0 to 1.0) to (0.0 to 1.0)),
        4 to ((0.0 to 1.0) to (1.0 to 1.0)),
        5 to ((0.0 to 0.0) to (0.0 to 1.0)),
        6 to ((1.0 to 0.0) to (1.0 to 1.0)),
        7 to ((1.0 to 1.0) to (1.0 to 0.0)),
        8 to ((0.0 to 1.0) to (0.0 to 0.0)),
    )

    @Test
    fun everyOrientationPutsTheFirstRowWhereExifSays() {
        for ((orientation, corners) in exif) {
            val turn = exifTurn(orientation)
            assertEquals("first pixel, orientation $orientation", corners.first, place(turn, 0.0, 0.0))
            assertEquals("end of the first row, orientation $orientation", corners.second, place(turn, 1.0, 0.0))
        }
    }

    @Test
    fun unknownOrientationsLeaveThePhotoAsItIs() {
        assertEquals(ImageTurn.NONE, exifTurn(0))
        assertEquals(ImageTurn.NONE, exifTurn(9))
    }
}
