package com.example.shapes.detection.inference

import android.content.res.AssetManager
import com.example.shapes.detection.processing.ModelSpec
import java.io.FileInputStream
import java.nio.ByteBuffer
import java.nio.channels.FileChannel

/**
 * The model, memory-mapped from the APK: the build stores `.tflite` files uncompressed
 * (`noCompress`), so the interpreter reads it in place without a copy.
 */
fun loadModel(assets: AssetManager, name: String = ModelSpec.MODEL_FILE): ByteBuffer =
    assets.openFd(name).use { descriptor ->
        FileInputStream(descriptor.fileDescriptor).use { stream ->
            stream.channel.map(FileChannel.MapMode.READ_ONLY, descriptor.startOffset, descriptor.declaredLength)
        }
    }
