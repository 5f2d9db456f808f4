"""Runs the pipeline on this machine: a thin runner, as in TFX's templates.

    python local_runner.py --task lcd --config demo   # any `seqgen run` option

The work is in tfx_seqgen.pipeline.local_runs (LocalDagRunner, SQLite MLMD).
"""

import sys

from tfx_seqgen import cli

if __name__ == "__main__":
    sys.exit(cli.main(["run", *sys.argv[1:]]))
