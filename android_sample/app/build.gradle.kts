// The Android app. AGP 9 compiles its Kotlin itself (built-in Kotlin): no Kotlin plugin here.
plugins {
    alias(libs.plugins.android.application)
}

android {
    namespace = "com.example.shapes.detection"
    compileSdk = 36

    defaultConfig {
        applicationId = "com.example.shapes.detection"
        minSdk = 26
        targetSdk = 36
        versionCode = 1
        versionName = "1.0"
        // Runs app/src/androidTest (the golden cases on the device's LiteRT): `gradle connectedDebugAndroidTest`.
        testInstrumentationRunner = "androidx.test.runner.AndroidJUnitRunner"
    }

    buildFeatures {
        viewBinding = true
    }

    sourceSets {
        // The model stays where Android Studio's "New > Other > TensorFlow Lite Model" puts it; packaged as an asset.
        getByName("main") {
            assets.directories.add("src/main/ml")
        }
        // The golden cases (processing's test resources) are the instrumented test's assets, in the test APK.
        getByName("androidTest") {
            assets.directories.add("../processing/src/test/resources")
        }
    }

    androidResources {
        // Kept uncompressed so the interpreter can memory-map the model straight from the APK.
        noCompress += "tflite"
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

dependencies {
    implementation(project(":processing"))
    implementation(libs.androidx.core.ktx)
    implementation(libs.androidx.activity.ktx)
    implementation(libs.androidx.lifecycle.viewmodel.ktx)
    implementation(libs.androidx.lifecycle.runtime.ktx)
    implementation(libs.camera.core)
    implementation(libs.camera.camera2)
    implementation(libs.camera.lifecycle)
    implementation(libs.camera.view)
    implementation(libs.kotlinx.coroutines.android)
    implementation(libs.litert)
    implementation(libs.litert.gpu)
    implementation(libs.litert.gpu.api)

    testImplementation(libs.junit)
    // The golden-case reader and comparisons, shared with processing's JVM tests (its test fixtures).
    androidTestImplementation(testFixtures(project(":processing")))
    androidTestImplementation(libs.androidx.test.runner)
    androidTestImplementation(libs.androidx.test.ext.junit)
}
