from tflgen.cli import run

run()
