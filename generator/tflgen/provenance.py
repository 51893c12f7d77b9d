"""Where each version of the generated Android build comes from.

The Android build can't run on tflgen's own machines (no Google Maven), so every pin stands on
evidence instead: (a) the release note or docs page that says the version exists and what it needs,
(b) a public project that builds with it (or the closest one found, said as such), and (c) the
artifact's tracker searched for open build failures with the pinned AGP and Gradle. Checked on
2026-12-01 against stored public copies. The generated README shows this table; a test checks that
every catalog entry, the wrapper's Gradle and every workflow action has a row for the very version
pinned, so a bump without a new check fails.
"""

from __future__ import annotations

from dataclasses import dataclass

CHECKED = "on 2026-12-01"
GRADLE_VERSION = "9.6.0"
GRADLE_MINIMUM = "9.5.0"  # what AGP 9.3 needs to configure the build
# gradle-9.6.0-bin.zip: Gradle's own release checksums and AOSP androidx's gradle-wrapper.properties agree.
GRADLE_SHA256 = "bbaeb2fef8710818cf0e261201dab964c572f92b942812df0c3620d62a529a01"
LITERT_SUPPORT_ISSUE = "https://github.com/google-ai-edge/LiteRT/issues/6965"


@dataclass(frozen=True)
class Provenance:
    key: str  # the catalog's [versions] key, "gradle", or the workflow action
    version: str
    docs: str
    builds_with: str
    tracker: str


PROVENANCE: tuple[Provenance, ...] = (
    Provenance(
        "gradle", GRADLE_VERSION, "https://github.com/gradle/gradle-distributions/releases/tag/v9.6.0",
        "android/camera-samples (gradle-wrapper.properties, 2026-07-14, with AGP 9.2.1)",
        "no open Android build failure with Gradle 9.6 found",
    ),
    Provenance(
        "agp", "9.3.1", "https://developer.android.com/build/releases/agp-9-3-0-release-notes (needs Gradle >= 9.5.0, JDK 17)",
        "closest named: android/camera-samples on AGP 9.2.1 + Gradle 9.6.0 (2026-07-14)",
        "the one AGP 9 failure for this set is litert-support's duplicate namespace (LiteRT#6965, open): "
        "litert-support is not in the default build",
    ),
    Provenance(
        "kotlin", "2.4.20", "https://kotlinlang.org/docs/releases.html; Kotlin 2.4 needs AGP >= 8.5.2 "
        "(https://developer.android.com/build/kotlin-support)",
        "closest named: android/camera-samples on Kotlin 2.4.0 + AGP 9.2.1 (2026-07-14)",
        "nothing open for 2.4.20 with AGP 9 built-in Kotlin (flutter/flutter#192167, closed: built-in Kotlin's default KGP)",
    ),
    Provenance(
        "coreKtx", "1.18.0", "https://developer.android.com/jetpack/androidx/releases/core (1.18: compileSdk 36; 1.19 needs 37)",
        "google-ai-edge/litert-samples efficientdet kotlin_npu (2026-07-29, AGP 9.2.0, compileSdk 36)",
        "nothing open; 1.18.0's AAR metadata asks compileSdk 36 and AGP 8.9.1",
    ),
    Provenance(
        "activity", "1.13.0", "https://developer.android.com/jetpack/androidx/releases/activity",
        "google-ai-edge/litert-samples efficientdet kotlin_npu (2026-07-29)",
        "nothing open for compileSdk 36 / AGP 9",
    ),
    Provenance(
        "lifecycle", "2.10.0", "https://developer.android.com/jetpack/androidx/releases/lifecycle",
        "android/nowinandroid (androidxLifecycle 2.10.0, AGP 9.0.0, compileSdk 36, 2026-03-23)",
        "nothing open",
    ),
    Provenance(
        "camerax", "1.6.2", "https://developer.android.com/jetpack/androidx/releases/camera",
        "android/camera-samples on 1.6.1 (2026-07-14); 1.6.2 is its fix release",
        "1.6.1 breaks javac on generated Java (concurrent-futures runtime-only; flutter/flutter#190505, #183515): "
        "fixed in 1.6.2, pinned here",
    ),
    Provenance(
        "coroutines", "1.10.2", "https://github.com/Kotlin/kotlinx.coroutines/releases",
        "google-ai-edge/litert-samples image_segmentation kotlin_npu (2026-07-29)",
        "nothing open with AGP 9",
    ),
    Provenance(
        "litert", "1.4.2", "https://ai.google.dev/edge/litert/android/gpu",
        "google-ai-edge/litert-samples gemma3 cpu_gpu (litert-gpu 1.4.2, AGP 8.13.1, 2026-07-29); no named AGP 9 build found",
        "LiteRT#6965 and tensorflow#109508 (open): litert-support + litert-support-api share a namespace, fatal on AGP 9, so "
        "only litert, litert-gpu and litert-gpu-api are used (distinct namespaces); litert-gpu-api is required (LiteRT#6972)",
    ),
    Provenance(
        "junit", "4.13.2", "https://junit.org/junit4/",
        "android/nowinandroid and android/camera-samples",
        "not applicable (JVM unit tests only)",
    ),
    Provenance(
        "androidxTestRunner", "1.7.0", "https://developer.android.com/jetpack/androidx/releases/test (1.7.0 stable, "
        "minSdk 21; the 1.8.0 alphas raise it to 23)",
        "CVasilakis/luncher (AGP 9.4.1, Kotlin 2.4.20, runner 1.7.0, with testFixtures of a kotlin-jvm module in androidTest); "
        "ribbons/TaskerRsync (AGP 9.2.1, Gradle 9.6.0, 2026-06-30)",
        "nothing open with AGP 9 (bitfireAT/davx5-ose#2083, 'Unable to instantiate instrumentation' on AGP 9: closed)",
    ),
    Provenance(
        "androidxTestExtJunit", "1.3.0", "https://developer.android.com/jetpack/androidx/releases/test",
        "CVasilakis/luncher (AGP 9.4.1) and ribbons/TaskerRsync (AGP 9.2.1), both with runner 1.7.0",
        "nothing open with AGP 9",
    ),
    Provenance(
        "actions/checkout", "v6", "https://github.com/actions/checkout/releases",
        "Casecommons/pg_search #573 (2026)",
        "nothing open for ubuntu-latest",
    ),
    Provenance(
        "actions/setup-java", "v5", "https://github.com/actions/setup-java",
        "android/nowinandroid .github/workflows/Build.yaml (2026-03-23)",
        "nothing open for temurin 17",
    ),
    Provenance(
        "gradle/actions/setup-gradle", "v6", "https://github.com/gradle/actions/releases",
        "scip-code/scip-java ci.yaml #966 (2026-07-02, with gradle-version)",
        "v6's default cache needs accepting new terms: the workflow asks for the open-source `basic` cache",
    ),
    Provenance(
        "reactivecircus/android-emulator-runner", "v2", "https://github.com/ReactiveCircus/android-emulator-runner "
        "(v2 = v2.37.0, 2026-03-14; README: KVM udev rule for Linux runners)",
        "android/nowinandroid .github/workflows/Build.yaml (api-level 26 and 34, x86_64, ubuntu-latest)",
        "nothing open for ubuntu-latest in the action's tracker; a runner image that closed /dev/kvm made it fall back to "
        "-accel off (EranBoudjnah/CleanArchitectureForAndroid#655): the workflow's KVM step is the fix",
    ),
)

# The --model-binding project: Android Studio's model classes compile against these.
BINDING_PROVENANCE = Provenance(
    "litert-support", "1.4.2", LITERT_SUPPORT_ISSUE,
    "google-ai-edge/litert-samples (litert with support, AGP 8.9.1 to 8.13.2)",
    "LiteRT#6965 (open): fatal under AGP 9 unless android.uniquePackageNames=false, a workaround confirmed for other "
    "libraries with the same namespace clash but not yet on the LiteRT threads",
)


def provenance_of(key: str) -> Provenance:
    return next(p for p in PROVENANCE if p.key == key)
