package com.example.shapes.detection

import android.Manifest
import android.content.Intent
import android.content.pm.PackageManager
import android.graphics.Bitmap
import android.graphics.Color
import android.graphics.Rect
import android.net.Uri
import android.os.Bundle
import android.provider.Settings
import android.text.SpannableStringBuilder
import android.text.Spanned
import android.text.style.ForegroundColorSpan
import android.view.View
import android.widget.SeekBar
import androidx.activity.ComponentActivity
import androidx.activity.SystemBarStyle
import androidx.activity.enableEdgeToEdge
import androidx.activity.result.PickVisualMediaRequest
import androidx.activity.result.contract.ActivityResultContracts
import androidx.activity.viewModels
import androidx.core.content.ContextCompat
import androidx.core.view.ViewCompat
import androidx.core.view.WindowInsetsCompat
import androidx.lifecycle.Lifecycle
import androidx.lifecycle.lifecycleScope
import androidx.lifecycle.repeatOnLifecycle
import androidx.lifecycle.viewmodel.initializer
import androidx.lifecycle.viewmodel.viewModelFactory
import com.example.shapes.detection.camera.CameraController
import com.example.shapes.detection.camera.decodePhoto
import com.example.shapes.detection.camera.toFrame
import com.example.shapes.detection.databinding.ActivityMainBinding
import com.example.shapes.detection.inference.Backend
import com.example.shapes.detection.inference.InferenceSettings
import com.example.shapes.detection.inference.loadModel
import com.example.shapes.detection.processing.ModelSpec
import com.example.shapes.detection.task.modelTask
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import java.util.Locale

/** The one screen: camera or photo, the model's results over it, timing, and the settings panel. */
class MainActivity : ComponentActivity() {
    private lateinit var binding: ActivityMainBinding
    private lateinit var camera: CameraController
    private var cameraStarted = false
    private var cameraDenied = false // the explanation panel shows over the live view only, never over a photo

    private val viewModel: MainViewModel by viewModels {
        viewModelFactory {
            val assets = application.assets
            initializer { MainViewModel({ loadModel(assets) }, modelTask()) }
        }
    }

    private val requestCamera = registerForActivityResult(ActivityResultContracts.RequestPermission()) { granted ->
        if (granted) startCamera() else showPermissionExplanation()
    }

    private val pickPhoto = registerForActivityResult(ActivityResultContracts.PickVisualMedia()) { uri ->
        if (uri != null) openPhoto(uri)
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        // The screen is always dark (camera, black background): light system bar icons.
        enableEdgeToEdge(SystemBarStyle.dark(Color.TRANSPARENT), SystemBarStyle.dark(Color.TRANSPARENT))
        binding = ActivityMainBinding.inflate(layoutInflater)
        setContentView(binding.root)
        keepClearOfSystemBars(binding.panel)
        keepClearOfSystemBars(binding.permissionPanel)
        camera = CameraController(
            context = this,
            lifecycleOwner = this,
            previewView = binding.preview,
            analysisExecutor = viewModel.inferenceExecutor,
            wantsFrames = viewModel::wantsCameraFrames,
            onFrame = viewModel::analyzeCameraFrame,
            onError = viewModel::showNotice,
        )
        setUpControls()
        lifecycleScope.launch {
            repeatOnLifecycle(Lifecycle.State.STARTED) {
                viewModel.state.collect(::render)
            }
        }
        when {
            hasCameraPermission() -> startCamera()
            savedInstanceState == null -> requestCamera.launch(Manifest.permission.CAMERA)
            else -> showPermissionExplanation() // asked already: don't ask again on every rotation
        }
    }

    override fun onDestroy() {
        camera.release()
        super.onDestroy()
    }

    /** Pads [view] by the system bars and display cutout, on top of its own padding (the app draws edge to edge). */
    private fun keepClearOfSystemBars(view: View) {
        val own = Rect(view.paddingLeft, view.paddingTop, view.paddingRight, view.paddingBottom)
        ViewCompat.setOnApplyWindowInsetsListener(view) { padded, insets ->
            val bars = insets.getInsets(WindowInsetsCompat.Type.systemBars() or WindowInsetsCompat.Type.displayCutout())
            padded.setPadding(own.left + bars.left, own.top, own.right + bars.right, own.bottom + bars.bottom)
            insets
        }
    }

    override fun onResume() {
        super.onResume()
        // Back from the system settings with the permission granted there.
        if (!cameraStarted && hasCameraPermission()) startCamera()
    }

    override fun onStop() {
        // In the background: CameraX stops the camera with this lifecycle; free the interpreter and
        // its delegate too (the next frame after onStart opens them again).
        viewModel.release()
        super.onStop()
    }

    private fun hasCameraPermission(): Boolean =
        ContextCompat.checkSelfPermission(this, Manifest.permission.CAMERA) == PackageManager.PERMISSION_GRANTED

    private fun startCamera() {
        cameraDenied = false
        cameraStarted = true
        render(viewModel.state.value)
        camera.start()
    }

    /** Says why the camera is needed; offers to ask again (or the app's settings once the system stops asking) or a photo. */
    private fun showPermissionExplanation() {
        cameraDenied = true
        render(viewModel.state.value)
        binding.grantPermission.setOnClickListener {
            if (shouldShowRequestPermissionRationale(Manifest.permission.CAMERA)) {
                requestCamera.launch(Manifest.permission.CAMERA)
            } else {
                startActivity(Intent(Settings.ACTION_APPLICATION_DETAILS_SETTINGS, Uri.fromParts("package", packageName, null)))
            }
        }
    }

    private fun setUpControls() {
        binding.modelName.text = getString(R.string.model_summary, ModelSpec.task.name.lowercase(Locale.ROOT), ModelSpec.input.width, ModelSpec.input.height, ModelSpec.input.type.name.lowercase(Locale.ROOT))
        binding.cameraButton.setOnClickListener { viewModel.showCamera() }
        binding.photoButton.setOnClickListener {
            pickPhoto.launch(PickVisualMediaRequest(ActivityResultContracts.PickVisualMedia.ImageOnly))
        }
        binding.settingsButton.setOnClickListener {
            binding.settingsPanel.visibility = if (binding.settingsPanel.visibility == View.VISIBLE) View.GONE else View.VISIBLE
        }
        val settings = viewModel.state.value.settings
        binding.threshold.max = PERCENT
        binding.threshold.progress = (settings.scoreThreshold * PERCENT).toInt()
        binding.maxResults.max = InferenceSettings.MAX_RESULTS_LIMIT - 1
        binding.maxResults.progress = settings.maxResults - 1
        binding.threads.max = InferenceSettings.MAX_THREADS - 1
        binding.threads.progress = settings.threads - 1
        binding.backend.check(backendButton(settings.backend))
        val onSeek = object : SeekBar.OnSeekBarChangeListener {
            override fun onProgressChanged(seekBar: SeekBar, progress: Int, fromUser: Boolean) {
                // A new thread count means a new interpreter: applied when the finger lifts, not on every step.
                if (fromUser && seekBar !== binding.threads) applySettings()
                if (seekBar === binding.threads) binding.threadsLabel.text = getString(R.string.setting_threads, progress + 1)
            }

            override fun onStartTrackingTouch(seekBar: SeekBar) = Unit

            override fun onStopTrackingTouch(seekBar: SeekBar) {
                if (seekBar === binding.threads) applySettings()
            }
        }
        binding.threshold.setOnSeekBarChangeListener(onSeek)
        binding.maxResults.setOnSeekBarChangeListener(onSeek)
        binding.threads.setOnSeekBarChangeListener(onSeek)
        binding.backend.setOnCheckedChangeListener { _, _ -> applySettings() }
    }

    private fun applySettings() {
        viewModel.updateSettings(
            InferenceSettings(
                scoreThreshold = binding.threshold.progress.toFloat() / PERCENT,
                maxResults = binding.maxResults.progress + 1,
                backend = when (binding.backend.checkedRadioButtonId) {
                    R.id.backend_gpu -> Backend.GPU
                    R.id.backend_nnapi -> Backend.NNAPI
                    else -> Backend.CPU
                },
                threads = binding.threads.progress + 1,
            ),
        )
    }

    private fun backendButton(backend: Backend): Int = when (backend) {
        Backend.CPU -> R.id.backend_cpu
        Backend.GPU -> R.id.backend_gpu
        Backend.NNAPI -> R.id.backend_nnapi
    }

    private fun openPhoto(uri: Uri) {
        lifecycleScope.launch {
            val bitmap: Bitmap = try {
                withContext(Dispatchers.IO) { decodePhoto(contentResolver, uri) }
            } catch (e: Exception) {
                viewModel.showNotice(getString(R.string.photo_unreadable, e.message ?: e.javaClass.simpleName))
                return@launch
            }
            val frame = withContext(Dispatchers.Default) { bitmap.toFrame() }
            viewModel.showPhoto(bitmap, frame)
        }
    }

    private fun render(state: UiState) {
        val live = state.source == ImageSource.CAMERA
        binding.preview.visibility = if (live) View.VISIBLE else View.INVISIBLE
        binding.permissionPanel.visibility = if (live && cameraDenied) View.VISIBLE else View.GONE
        binding.photo.visibility = if (live) View.GONE else View.VISIBLE
        if (binding.photo.tag !== state.photo) { // set once per photo, and again after a rotation
            binding.photo.setImageBitmap(state.photo)
            binding.photo.tag = state.photo
        }
        binding.overlay.show(state.result, state.imageWidth, state.imageHeight, fill = live)
        binding.timing.text = if (state.result == null) "" else if (live) {
            getString(R.string.timing_camera, state.inferenceMillis, state.framesPerSecond, state.backendInUse.name)
        } else {
            getString(R.string.timing_photo, state.inferenceMillis, state.backendInUse.name)
        }
        binding.results.text = resultText(state)
        renderNotice(state.notice)
        val settings = state.settings
        binding.thresholdLabel.text = getString(R.string.setting_threshold, settings.scoreThreshold)
        binding.maxResultsLabel.text = getString(R.string.setting_max_results, settings.maxResults)
        if (!binding.threads.isPressed) binding.threadsLabel.text = getString(R.string.setting_threads, settings.threads)
    }

    /** One row per result, each led by a square in its box or mask colour. */
    private fun resultText(state: UiState): CharSequence {
        val lines = state.result?.lines ?: return ""
        if (lines.isEmpty()) return getString(R.string.no_results)
        val text = SpannableStringBuilder()
        for ((i, line) in lines.withIndex()) {
            if (i > 0) text.append('\n')
            if (line.color != 0) {
                val start = text.length
                text.append("\u25A0 ")
                text.setSpan(ForegroundColorSpan(line.color or OPAQUE), start, start + 1, Spanned.SPAN_EXCLUSIVE_EXCLUSIVE)
            }
            text.append(line.text)
        }
        return text
    }

    private fun renderNotice(notice: String?) {
        binding.notice.text = notice ?: ""
        binding.notice.visibility = if (notice == null) View.GONE else View.VISIBLE
    }

    private companion object {
        const val PERCENT = 100
        const val OPAQUE = 0xFF shl 24
    }
}
