"""tfx-seqgen: Contextual RNN sequence generation for TFX pipelines.

Everything installs under this one namespace, so it never collides with the
`models/` and `pipeline/` packages of the TFX project it plugs into. The
repository keeps the folders the project is known by; setup.py maps them:

    tfx_seqgen.components  <- components/  (the data ExampleGens, the atomic Pusher)
    tfx_seqgen.models      <- models/      (Keras layers and models, Trainer and Transform code)
    tfx_seqgen.pipeline    <- pipeline/    (create_pipeline, configs, evaluation, local runs)
    tfx_seqgen.serving     <- serving/     (the model server, its client, `seqgen serve`)
    tfx_seqgen.cli         <- tfx_seqgen/cli.py (the `seqgen` command)
"""

__version__ = "0.1.0"
