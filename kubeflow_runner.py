"""Compiles the pipeline for Kubeflow Pipelines v2 / Vertex AI: a thin runner.

    python kubeflow_runner.py --task lcd --pipeline-root gs://BUCKET/seqgen \
        --image gcr.io/PROJECT/seqgen:1   # any `seqgen compile-kubeflow` option

The work is in tfx_seqgen.pipeline.kubeflow.
"""

import sys

from tfx_seqgen import cli

if __name__ == "__main__":
    sys.exit(cli.main(["compile-kubeflow", *sys.argv[1:]]))
