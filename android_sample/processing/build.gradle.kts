// Pure Kotlin on the JVM: no Android dependency, so its golden tests run with `./gradlew :processing:test`.
import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    alias(libs.plugins.kotlin.jvm)
    // src/testFixtures: the golden-case reader and comparisons, used by this module's tests and the app's instrumented test.
    `java-test-fixtures`
}

java {
    sourceCompatibility = JavaVersion.VERSION_17
    targetCompatibility = JavaVersion.VERSION_17
}

kotlin {
    compilerOptions {
        jvmTarget.set(JvmTarget.JVM_17)
    }
}

dependencies {
    testImplementation(libs.junit)
    testFixturesImplementation(libs.junit)
}

// `./gradlew :processing:benchmark` times pre- and post-processing per frame (not part of `test`).
tasks.register<JavaExec>("benchmark") {
    group = "verification"
    description = "Times preprocessing and post-processing of one camera frame."
    classpath = sourceSets["test"].runtimeClasspath
    mainClass.set("com.example.shapes.detection.processing.Benchmark") // DetectionBenchmark.kt etc. say @file:JvmName("Benchmark")
}
