# The pipeline image for Kubeflow Pipelines and Vertex AI Pipelines: the
# official TFX 1.16 image plus this package, so every step's container can
# import what the compiled pipeline names by module path (our components'
# executors, the Trainer's run_fn, Transform's preprocessing_fn).
#
#   docker build -t gcr.io/PROJECT/seqgen:1 . && docker push gcr.io/PROJECT/seqgen:1
#   .venv/bin/seqgen compile-kubeflow --task lcd --pipeline-root gs://BUCKET/seqgen \
#       --image gcr.io/PROJECT/seqgen:1
FROM tensorflow/tfx:1.16.0

WORKDIR /src/tfx-seqgen
COPY requirements/lock.txt requirements/lock.txt
COPY setup.py README.md ./
COPY tfx_seqgen tfx_seqgen
COPY components components
COPY models models
COPY pipeline pipeline
COPY serving serving
COPY tasks tasks

# Install the package (not editable), holding every dependency to the
# versions our tests ran with; the image already has most of them. Compiled
# to bytecode here, once: otherwise every step's container compiles what uv
# installed again when it first imports it (benchmarks/import_time.py).
RUN python -m pip install --no-cache-dir uv==0.13.9 \
 && uv pip install --system --no-cache --compile-bytecode --constraint requirements/lock.txt . \
 && cd / \
 && python -c "import tfx_seqgen.components.pusher, tfx_seqgen.tasks.lcd.component, tfx_seqgen.tasks.art.component, tfx_seqgen.tasks.trainer_module, tfx_seqgen.tasks.lcd.preprocessing, tfx_seqgen.tasks.art.preprocessing"

WORKDIR /
