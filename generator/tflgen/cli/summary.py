"""Rich tables for what a command did. Only the CLI prints."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from tflgen.accuracy import format_db
from tflgen.console import Reporter
from tflgen.delegates import EdgeTpuReport, GpuReport, XnnpackReport
from tflgen.metadata import ModelMetadata, TensorMetadata
from tflgen.pipeline import AppResult, ConvertResult, MetadataResult
from tflgen.report import keep_accuracy_rows
from tflgen.tflite_info import ModelInfo, TensorInfo
from tflgen.verify import Verification


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    return str(n)


def _tensor(t: TensorInfo) -> str:
    return f"{t.name or '?'} {list(t.shape)} {t.describe_type()}"


def _output(t: TensorInfo, info: ModelInfo) -> str:
    return _tensor(t) + (f" ← {t.producer}:{t.producer_output}" if t.producer in info.custom_ops else "")


def _ops(pairs: tuple[tuple[str, int], ...], limit: int = 8) -> str:
    shown = ", ".join(f"{op}×{n}" for op, n in pairs[:limit])
    return shown + (f", +{len(pairs) - limit} more types" if len(pairs) > limit else "")


def print_candidates(result: ConvertResult, reporter: Reporter) -> None:
    table = Table(title=f"--quantize auto, --max-drop {result.options.max_drop}", title_justify="left")
    for column in ("recipe", "size", "size / limit", "agreement", "drop", "within budget", "output SQNR", "median latency", "speed vs float32", "chosen"):
        table.add_column(column)
    for c in result.candidates:
        v = c.verification
        if v is None:
            table.add_row(c.recipe, f"failed: {c.failure}", "", "", "", "", "", "", "", "")
            continue
        latency = ", ".join(f"{run.median_ms:.2f} ms @{run.threads}" for run in v.latency)
        slower = " [yellow](slower than float32)[/yellow]" if c.slower_than_float32 else ""
        speed = "" if c.speed_vs_float32 is None else f"{c.speed_vs_float32:.2f}x{slower}"
        table.add_row(c.recipe, _size(v.size_bytes), f"{v.size_ratio:.3f}", f"{v.agreement:.4f}", f"{v.drop:.4f}",
                      "yes" if v.within_budget else "no", format_db(v.quantization.to_json()["sqnr_db"]) if v.quantization else "n/a",
                      latency, speed, "[bold green]✓[/bold green]" if c.chosen else "")
    reporter.out.print(table)
    if result.choice:
        reporter.out.print(f"Choice: {result.choice}")


def print_kept_accuracy(result: ConvertResult, reporter: Reporter) -> None:
    """--keep-accuracy: the lever that met it, the search, and what it costs against plain int8."""
    kept = result.kept_accuracy
    table = Table(title=f"--keep-accuracy {kept.target}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for name, value in keep_accuracy_rows(kept.to_json()):
        table.add_row(name, value)
    reporter.out.print(table)


def print_conversion(result: ConvertResult, reporter: Reporter) -> None:
    if result.candidates:
        print_candidates(result, reporter)
    if result.kept_accuracy is not None:
        print_kept_accuracy(result, reporter)
    if result.conversion is None:
        if result.kept_accuracy is not None:
            kept = result.kept_accuracy
            reporter.out.print(f"Even fitted ranges with {kept.exhausted} miss --keep-accuracy {kept.target}; nothing was written. "
                               "int8 can't hold this accuracy here: try --quantize float16, or --quantize auto to compare the recipes.")
        else:
            reporter.out.print(f"No recipe is within --max-drop {result.options.max_drop}; nothing was written.")
        return
    source, conversion, request = result.source, result.conversion, result.request
    info = conversion.info
    table = Table(title=f"Converted {source.path} → {result.options.output}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("source", f"{source.kind.value}, loaded with {source.loader}")
    recipe = request.recipe.value + (f", {request.io_type.value} IO" if request.recipe.value == "int8" else "")
    if request.integer_only:
        recipe += ", integer-only ops (Edge TPU)"
    table.add_row("recipe", recipe)
    if conversion.info.folded_normalization is not None:
        table.add_row("normalization", f"{conversion.info.folded_normalization.describe()}, folded into the model: the uint8 input takes "
                      "raw pixels (exact input grid)")
    elif result.normalization is not None:
        table.add_row("normalization", result.normalization.describe())
    elif request.recipe.value == "int8":
        table.add_row("normalization", "none: the input takes raw pixels")
    if result.calibration_origin:
        table.add_row("calibration", result.calibration_origin)
    ratio = info.size_bytes / source.size_bytes if source.size_bytes else float("nan")
    table.add_row("size", f"{_size(source.size_bytes)} → {_size(info.size_bytes)} ({ratio:.2f}×)")
    table.add_row("parameters", f"{source.parameter_count:,}")
    table.add_row("weights", ", ".join(f"{dtype} {_size(n)}" for dtype, n in info.weight_bytes) or "none")
    for t in info.inputs:
        table.add_row("input", _tensor(t))
    for t in info.outputs:
        table.add_row("output", _output(t, info))
    table.add_row("ops", f"{info.op_count}: {_ops(info.op_counts)}")
    if info.integer_activations:
        table.add_row("ops in float", _ops(info.float_ops) if info.float_ops else "none")
        if info.int16_ops:
            table.add_row("int16 activations", f"{_ops(info.int16_ops)} (16x8 kernels, outside XNNPACK)")
    if info.custom_ops:
        table.add_row("custom ops", ", ".join(info.custom_ops))
    for note in conversion.notes:
        table.add_row("note", note)
    reporter.out.print(table)


def _floats(values: tuple[float, ...] | None) -> str:
    return ",".join(f"{v:.6g}" for v in values) if values else "-"


def _tensor_metadata(t: TensorMetadata) -> str:
    parts = [t.name, t.content or "no content"]
    if t.color_space:
        parts.append(t.color_space.lower())
    if t.mean is not None:
        parts.append(f"mean {_floats(t.mean)} std {_floats(t.std)}")
    if t.stats_min is not None or t.stats_max is not None:
        parts.append(f"range {_floats(t.stats_min)}..{_floats(t.stats_max)}")
    if t.box_index is not None:
        parts.append(f"box {t.box_type} {t.coordinate_type} index {list(t.box_index)}")
    parts += [f"{f.name} ({f.type})" for f in t.files]
    return ", ".join(parts)


def add_metadata_rows(table: Table, metadata: ModelMetadata) -> None:
    table.add_row("metadata", f"{metadata.name} — {metadata.description} (min parser {metadata.min_parser_version})")
    for t in metadata.inputs:
        table.add_row("  input", _tensor_metadata(t))
    for t in metadata.outputs:
        table.add_row("  output", _tensor_metadata(t))
    for name, members in metadata.output_groups:
        table.add_row("  group", f"{name}: {', '.join(members)}")
    if metadata.packed_files:
        table.add_row("  files", ", ".join(metadata.packed_files))


def print_metadata_result(output: object, result: MetadataResult, reporter: Reporter) -> None:
    spec = result.spec
    table = Table(title=f"Metadata written to {output}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("task", spec.task.value + (" (replaced existing metadata)" if result.replaced else ""))
    table.add_row("input", f"{spec.input.width}x{spec.input.height} {spec.input.color.value} {spec.input.dtype}, "
                  + (spec.input.normalization.describe() if spec.input.normalization else "raw pixels"))
    for o in spec.outputs:
        table.add_row("output", f"#{o.index} {o.role.value} {list(o.shape)} {o.dtype}")
    table.add_row("labels",
        f"{len(spec.class_labels())} for {spec.num_classes} classes" + (f" (offset {spec.label_offset})" if spec.label_offset else "")
        if spec.labels else "none")
    add_metadata_rows(table, result.metadata)
    table.add_row("size", f"{_size(result.size_bytes)}")
    reporter.out.print(table)


def add_report_rows(table: Table, name: str, lines: list[str], flagged: bool = False) -> None:
    """One row per line of a delegate report; a flagged report (e.g. XNNPACK split) is shown in yellow."""
    for i, line in enumerate(lines):
        table.add_row(name if i == 0 else "", f"[yellow]{escape(line)}[/yellow]" if flagged else escape(line))


def print_model_info(path: str, info: ModelInfo, reporter: Reporter, metadata: ModelMetadata | None = None,
                     xnnpack: XnnpackReport | str | None = None, gpu: GpuReport | None = None,
                     edgetpu: EdgeTpuReport | None = None) -> None:
    table = Table(title=path, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("size", f"{_size(info.size_bytes)} ({info.size_bytes:,} bytes)")
    for t in info.inputs:
        table.add_row("input", _tensor(t))
    if info.folded_normalization is not None:
        table.add_row("input grid", f"raw pixels: {info.folded_normalization.describe()} folded into the model (tflgen's exact input grid)")
    for t in info.outputs:
        table.add_row("output", _output(t, info))
    table.add_row("parameters", f"{info.parameter_count:,}")
    table.add_row("weights", ", ".join(f"{dtype} {_size(n)}" for dtype, n in info.weight_bytes) or "none")
    table.add_row("ops", f"{info.op_count}: {_ops(info.op_counts, limit=100)}")
    if info.integer_activations:
        table.add_row("ops in float", _ops(info.float_ops, limit=100) if info.float_ops else "none")
        if info.int16_ops:
            table.add_row("int16 activations", _ops(info.int16_ops, limit=100))
    table.add_row("custom ops", ", ".join(info.custom_ops) or "none")
    if metadata is not None:
        add_metadata_rows(table, metadata)
    else:
        table.add_row("metadata", "none (add it with 'tflgen metadata')")
    if isinstance(xnnpack, str):
        add_report_rows(table, "XNNPACK", [f"not measured: {xnnpack}"], flagged=True)
    elif xnnpack is not None:
        add_report_rows(table, "XNNPACK", xnnpack.lines(), flagged=xnnpack.split)
    if gpu is not None:
        add_report_rows(table, "GPU delegate", gpu.lines(), flagged=bool(gpu.issues))
    if edgetpu is not None:
        add_report_rows(table, "Edge TPU", edgetpu.lines(), flagged=edgetpu.first_unsupported is not None)
    reporter.out.print(table)


def print_verification(verification: Verification, report: object, reporter: Reporter) -> None:
    from tflgen.report import summary_rows

    table = Table(title="Verification: source model vs .tflite", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for name, value in summary_rows(verification.to_json()):
        table.add_row(name, value)
    if report is not None:
        table.add_row("report", f"{report}/report.md, report.html, report.json")
    reporter.out.print(table)
    check = verification.quantization
    if check is not None and check.problems:
        reporter.out.print(f"[bold red]Quantization verdict: {check.verdict} ({'; '.join(check.problems)}); see the hint above.[/bold red]")


def print_app(result: AppResult, reporter: Reporter) -> None:
    print_conversion(result.conversion, reporter)
    if result.spec is None:
        return
    spec = result.spec
    task = spec.task.value + (" (raw SSD: decoded + NMS in Kotlin, anchors in processing/src/main/resources)" if spec.ssd else "")
    if result.verification is not None:
        from tflgen.pipeline import REPORT_DIR

        v = result.verification
        reporter.out.print(
            f"Verified against the source on {v.images} images: {v.headline} {v.agreement:.4f} "
            f"(report in {result.out / REPORT_DIR})."
        )
    reporter.out.print(
        f"[bold]Project written to {result.out}[/bold]: {len(result.files)} files, {task}, "
        f"{result.golden_cases} golden case(s) in processing/src/test/resources/golden.\n"
        f"Next: open {result.out} in Android Studio (File > Open) and press Run; to build from a terminal, "
        f"make the Gradle wrapper once as its README says (see {result.out / 'README.md'})."
    )
