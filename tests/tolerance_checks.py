"""Checks of the device tolerances tflgen writes into each golden case (golden.device_tolerance) against what
they stand for, on a converted model: LiteRT's float16 conversion within the GPU tolerance of the float32
model, LiteRT's reference kernels within the CPU tolerance of its default ones. Each returns the problems
found ([] when the tolerances hold). Run by test_examples on the examples' conversions (no extra conversion);
the float16 arithmetic check is in test_device_tolerance."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# A GPU tolerance this wide (of the output's magnitude) would let a wrong normalization or dtype through.
TIGHT = 0.02


def float16_problems(spec, float32: bytes, float16: bytes, tensors: Sequence[np.ndarray]) -> list[str]:  # noqa: ANN001 (ModelSpec)
    """The float16 conversion's outputs within the GPU tolerance of the float32 model's, element by element
    (the detection op's sorted outputs only where both found the same detections in the same order)."""
    from tflgen.golden import device_tolerance, run_model
    from tflgen.spec import Role

    problems, compared = [], 0
    for tensor in tensors:
        want, got = run_model(float32, tensor), run_model(float16, tensor)
        classes = spec.output(Role.CLASSES).index if spec.has(Role.CLASSES) else None
        same_order = classes is None or np.array_equal(want[classes], got[classes])
        for output in spec.outputs:
            if output.role in (Role.CLASSES, Role.COUNT) or (output.role in (Role.BOXES, Role.SCORES) and not same_order):
                continue
            tolerance = device_tolerance(output, want[output.index], None, integer_model=False)
            magnitude = max(1.0, float(np.abs(want[output.index]).max()))
            difference = float(np.abs(got[output.index].astype(np.float64) - want[output.index]).max())
            if difference > tolerance.gpu:
                problems.append(f"output {output.index}: float16 off by {difference}, beyond the GPU tolerance {tolerance.gpu}")
            if tolerance.gpu > TIGHT * magnitude:
                problems.append(f"output {output.index}: GPU tolerance {tolerance.gpu} is over {TIGHT:.0%} of the magnitude {magnitude}")
            compared += 1
    if compared < len(tensors):
        problems.append(f"only {compared} outputs compared for {len(tensors)} inputs")
    return problems


def reference_kernel_problems(spec, model: bytes, tensors: Sequence[np.ndarray]) -> list[str]:  # noqa: ANN001 (ModelSpec)
    """A float model on LiteRT's reference kernels (another implementation of every op) within the CPU
    tolerance of its default kernels, for the outputs a device test compares element by element."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    from tflgen.golden import DECIDED_ROLES, device_tolerance, run_model

    problems = []
    for tensor in tensors:
        want = run_model(model, tensor)
        interpreter = Interpreter(model_content=model, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
        interpreter.allocate_tensors()
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], tensor)
        interpreter.invoke()
        got = [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]
        for output in (o for o in spec.outputs if o.role not in DECIDED_ROLES):
            tolerance = device_tolerance(output, want[output.index], None, integer_model=False)
            difference = float(np.abs(got[output.index].astype(np.float64) - want[output.index]).max())
            if difference > tolerance.cpu:
                problems.append(f"output {output.index}: reference kernels off by {difference}, beyond the CPU tolerance {tolerance.cpu}")
    return problems
